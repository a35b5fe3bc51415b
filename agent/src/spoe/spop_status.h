/*
 * spop_status.h - SPOP status codes (SPOE.txt section 3.5) with short names
 * and the human-readable messages sent in DISCONNECT frames.
 *
 * Every decoder of the codec returns one of these: SPOP_STATUS_NORMAL on
 * success, otherwise the code an AGENT-DISCONNECT should carry.
 */
#ifndef SPOKE_SPOP_STATUS_H
#define SPOKE_SPOP_STATUS_H

#include <stdbool.h>
#include <stdint.h>

enum spop_status {
    SPOP_STATUS_NORMAL = 0,              /* no error */
    SPOP_STATUS_IO = 1,                  /* I/O error */
    SPOP_STATUS_TIMEOUT = 2,             /* a timeout occurred */
    SPOP_STATUS_TOO_BIG = 3,             /* frame is too big */
    SPOP_STATUS_INVALID = 4,             /* invalid frame received */
    SPOP_STATUS_NO_VERSION = 5,          /* version value not found */
    SPOP_STATUS_NO_FRAME_SIZE = 6,       /* max-frame-size value not found */
    SPOP_STATUS_NO_CAPABILITIES = 7,     /* capabilities value not found */
    SPOP_STATUS_BAD_VERSION = 8,         /* unsupported version */
    SPOP_STATUS_BAD_FRAME_SIZE = 9,      /* max-frame-size too big or too small */
    SPOP_STATUS_FRAG_NOT_SUPPORTED = 10, /* payload fragmentation is not supported */
    SPOP_STATUS_INTERLACED_FRAMES = 11,  /* invalid interlaced frames */
    SPOP_STATUS_FRAME_ID_NOT_FOUND = 12, /* frame-id does not match any referenced frame */
    SPOP_STATUS_RESOURCE = 13,           /* resource allocation error */
    SPOP_STATUS_UNKNOWN = 99,            /* an unknown error occurred */
};

/* True for the codes SPOE.txt assigns (0..13 and 99). */
bool spop_status_is_known(uint32_t code);

/* Short stable name ("normal", "invalid", "bad-version", ...); "unassigned"
 * for a code SPOE.txt does not assign (an agent may define its own). */
const char *spop_status_name(uint32_t code);

/* The description from SPOE.txt ("invalid frame received", ...), suitable as
 * the "message" of a DISCONNECT frame; "unassigned status code" otherwise. */
const char *spop_status_message(uint32_t code);

#endif
