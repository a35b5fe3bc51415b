/*
 * spop_frame.h - SPOP frame framing (SPOE.txt 3.2):
 *
 *   <FRAME-LENGTH:4 bytes big-endian> <FRAME>
 *   FRAME    : <FRAME-TYPE:1 byte> <FLAGS:4 bytes big-endian> <STREAM-ID:varint>
 *              <FRAME-ID:varint> <FRAME-PAYLOAD>
 *
 * FRAME-LENGTH counts FRAME only; the negotiated max-frame-size bounds it.
 * spop_frame_peek() tells a reader how many bytes the next frame needs,
 * spop_frame_decode() splits a complete FRAME into header and payload, and
 * spop_frame_begin()/spop_frame_end() bracket the encoding of one frame.
 */
#ifndef SPOKE_SPOP_FRAME_H
#define SPOKE_SPOP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_status.h"

#define SPOP_FRAME_LEN_SIZE         4     /* the FRAME-LENGTH prefix */
#define SPOP_FRAME_HEADER_MIN       7     /* type + flags + two 1-byte varints */
#define SPOP_MIN_FRAME_SIZE         256   /* smallest max-frame-size a peer may announce */
#define SPOP_DEFAULT_MAX_FRAME_SIZE 16380 /* HAProxy's default: tune.bufsize - 4 */

#define SPOP_FLAG_FIN   0x00000001u /* final (or only) fragment of a payload */
#define SPOP_FLAG_ABORT 0x00000002u /* abort a fragmented payload; FIN must be set too */

enum spop_frame_type {
    SPOP_FRAME_UNSET = 0, /* second and later fragments of a payload */
    SPOP_FRAME_HAPROXY_HELLO = 1,
    SPOP_FRAME_HAPROXY_DISCONNECT = 2,
    SPOP_FRAME_NOTIFY = 3,
    SPOP_FRAME_AGENT_HELLO = 101,
    SPOP_FRAME_AGENT_DISCONNECT = 102,
    SPOP_FRAME_ACK = 103,
};

/* A decoded frame header; payload points into the decoded buffer. `type`
 * is the raw byte: unknown types decode fine (SPOE.txt lets a peer skip them). */
struct spop_frame {
    uint8_t type;
    uint32_t flags;
    uint64_t stream_id;
    uint64_t frame_id;
    const uint8_t *payload;
    size_t payload_len;
};

/* "haproxy-hello", "notify", "ack", ...; "unknown" for other types. */
const char *spop_frame_type_name(unsigned type);

/* Looks at the start of a receive buffer. On SPOP_STATUS_NORMAL, *need is the
 * number of bytes (prefix included) the next frame occupies, or
 * SPOP_FRAME_LEN_SIZE while the prefix itself is incomplete; the frame is
 * complete once len >= *need, and starts at buf + SPOP_FRAME_LEN_SIZE.
 * Errors: SPOP_STATUS_TOO_BIG when FRAME-LENGTH exceeds max_frame_size,
 * SPOP_STATUS_INVALID when it is below SPOP_FRAME_HEADER_MIN. */
enum spop_status spop_frame_peek(const uint8_t *buf, size_t len, uint32_t max_frame_size,
                                 size_t *need);

/* Decodes the header of a complete FRAME (without the length prefix).
 * SPOP_STATUS_INVALID when it is truncated, a varint is malformed, or ABORT
 * is set without FIN. */
enum spop_status spop_frame_decode(const uint8_t *frame, size_t len, struct spop_frame *f);

/* Starts a frame: writes a placeholder length and the header. Returns the
 * offset to give spop_frame_end(). */
size_t spop_frame_begin(struct spop_writer *w, uint8_t type, uint32_t flags, uint64_t stream_id,
                        uint64_t frame_id);

/* Finishes the frame started at `mark` by patching its length. Returns
 * SPOP_STATUS_TOO_BIG when anything did not fit in the writer: size a writer
 * SPOP_FRAME_LEN_SIZE + max-frame-size bytes to enforce the negotiated limit. */
enum spop_status spop_frame_end(struct spop_writer *w, size_t mark);

#endif
