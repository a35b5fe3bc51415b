/*
 * spop_disconnect.h - HAPROXY-DISCONNECT / AGENT-DISCONNECT frames (SPOE.txt
 * 3.2.8, 3.2.9): a KV-LIST with "status-code" <UINT32> and "message" <STRING>,
 * stream and frame ids 0, never fragmented.
 */
#ifndef SPOKE_SPOP_DISCONNECT_H
#define SPOKE_SPOP_DISCONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_frame.h"
#include "spoe/spop_status.h"

struct spop_disconnect {
    uint32_t status_code;   /* any value: peers may define their own codes */
    const uint8_t *message; /* into the frame, not NUL-terminated */
    size_t message_len;
};

/* Decodes either DISCONNECT frame. SPOP_STATUS_INVALID when the type is
 * neither, the ids are not 0, the KV-LIST is malformed, or "status-code"
 * (any integer type in [0, UINT32_MAX], as HAProxy accepts) or "message" (a
 * STRING) is missing or mistyped; SPOP_STATUS_FRAG_NOT_SUPPORTED when FIN is
 * unset. Unknown items are skipped. */
enum spop_status spop_disconnect_decode(const struct spop_frame *f, struct spop_disconnect *d);

/* Writes a whole DISCONNECT frame of `type` (SPOP_FRAME_AGENT_DISCONNECT, or
 * SPOP_FRAME_HAPROXY_DISCONNECT for test clients). message NULL means
 * spop_status_message(status_code). */
enum spop_status spop_disconnect_encode(struct spop_writer *w, uint8_t type, uint32_t status_code,
                                        const char *message);

#endif
