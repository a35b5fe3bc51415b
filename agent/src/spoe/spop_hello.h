/*
 * spop_hello.h - the HELLO handshake (SPOE.txt 3.2.4, 3.2.5): decoding
 * HAPROXY-HELLO, negotiating version / max-frame-size / capabilities, and
 * encoding AGENT-HELLO. The HAProxy-side counterparts (encode HAPROXY-HELLO,
 * decode AGENT-HELLO) are here too, for test clients and benchmarks.
 */
#ifndef SPOKE_SPOP_HELLO_H
#define SPOKE_SPOP_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_frame.h"
#include "spoe/spop_status.h"

/* The one SPOP version this codec speaks (HAProxy 1.8 .. 3.x all use 2.0). */
#define SPOP_VERSION       "2.0"
#define SPOP_VERSION_MAJOR 2
#define SPOP_VERSION_MINOR 0

/* Capabilities (SPOE.txt 3.2.1); unknown names are ignored. */
#define SPOP_CAP_PIPELINING    0x1u
#define SPOP_CAP_ASYNC         0x2u
#define SPOP_CAP_FRAGMENTATION 0x4u
/* Longest spop_capabilities_format() output, NUL included. */
#define SPOP_CAPABILITIES_MAX 32

/* Parses a comma-separated capability list, ignoring spaces and tabs around
 * names ("pipelining , async"). Returns SPOP_CAP_* bits. */
unsigned spop_capabilities_parse(const uint8_t *s, size_t len);

/* Writes "pipelining,async,fragmentation" (the bits set, in that order) and a
 * NUL into buf. Returns the length, or 0 with buf[0] = 0 when cap < needed. */
size_t spop_capabilities_format(unsigned caps, char *buf, size_t cap);

/* True when the comma-separated "Major.Minor" list s announces a version of
 * major `major` with minor >= `minor` (a major version announced means all its
 * earlier minors are supported). Spaces are ignored; malformed entries are
 * skipped. */
bool spop_versions_accept(const uint8_t *s, size_t len, unsigned major, unsigned minor);

struct spop_haproxy_hello {
    const uint8_t *versions; /* "supported-versions", raw */
    size_t versions_len;
    uint32_t max_frame_size;
    unsigned capabilities;    /* SPOP_CAP_* */
    bool healthcheck;         /* true: answer AGENT-HELLO, then close */
    const uint8_t *engine_id; /* NULL when absent */
    size_t engine_id_len;
};

/* Decodes a HAPROXY-HELLO frame. Errors, checked in this order:
 *   not a HAPROXY-HELLO, or stream/frame id not 0  SPOP_STATUS_INVALID
 *   FIN unset (a HELLO cannot be fragmented)       SPOP_STATUS_FRAG_NOT_SUPPORTED
 *   malformed KV-LIST, "healthcheck" not a BOOL or
 *   "engine-id" not a STRING                       SPOP_STATUS_INVALID
 *   no "supported-versions"                        SPOP_STATUS_NO_VERSION
 *   ... not a STRING                               SPOP_STATUS_INVALID
 *   no "max-frame-size"                            SPOP_STATUS_NO_FRAME_SIZE
 *   ... not an integer in [0, UINT32_MAX]          SPOP_STATUS_INVALID
 *   no "capabilities"                              SPOP_STATUS_NO_CAPABILITIES
 *   ... not a STRING                               SPOP_STATUS_INVALID
 * Unknown items are skipped; a repeated item keeps its last value. Strings
 * point into the frame. Values are judged by spop_hello_negotiate(). */
enum spop_status spop_haproxy_hello_decode(const struct spop_frame *f,
                                           struct spop_haproxy_hello *h);

/* What this agent can do. */
struct spop_agent_limits {
    uint32_t max_frame_size; /* >= SPOP_MIN_FRAME_SIZE */
    unsigned capabilities;   /* SPOP_CAP_* this agent implements */
};

struct spop_agent_hello {
    const char *version; /* SPOP_VERSION after negotiation */
    size_t version_len;
    uint32_t max_frame_size;
    unsigned capabilities;
};

/* The agent's answer to h:
 *   version        SPOP_VERSION, or SPOP_STATUS_BAD_VERSION when HAProxy
 *                  announces no 2.x version;
 *   max-frame-size min(ours, HAProxy's), or SPOP_STATUS_BAD_FRAME_SIZE when
 *                  either is below SPOP_MIN_FRAME_SIZE;
 *   capabilities   pipelining and async (symmetric) only when both sides have
 *                  them; fragmentation (asymmetric: "I can receive fragmented
 *                  frames") whenever ours has it, as SPOE.txt 3.2.1 says. */
enum spop_status spop_hello_negotiate(const struct spop_haproxy_hello *h,
                                      const struct spop_agent_limits *ours,
                                      struct spop_agent_hello *out);

/* Writes a whole AGENT-HELLO frame (length prefix included). */
enum spop_status spop_agent_hello_encode(struct spop_writer *w, const struct spop_agent_hello *a);

/* HAProxy side, for test clients: writes a whole HAPROXY-HELLO frame (with
 * "healthcheck" only when set, "engine-id" only when not NULL). */
enum spop_status spop_haproxy_hello_encode(struct spop_writer *w,
                                           const struct spop_haproxy_hello *h);

/* HAProxy side, for test clients: decodes an AGENT-HELLO with the checks
 * HAProxy makes (one version, 2.x, else SPOP_STATUS_BAD_VERSION; max-frame-size
 * >= SPOP_MIN_FRAME_SIZE, else SPOP_STATUS_BAD_FRAME_SIZE; otherwise the same
 * status codes as spop_haproxy_hello_decode()). The caller still checks that
 * max_frame_size is not above the one it announced. version points into the
 * frame and is not NUL-terminated. */
enum spop_status spop_agent_hello_decode(const struct spop_frame *f, struct spop_agent_hello *a);

#endif
