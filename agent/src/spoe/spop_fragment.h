/*
 * spop_fragment.h - reassembly of fragmented NOTIFY payloads (SPOE.txt 3.2):
 * a NOTIFY frame with FIN unset, then UNSET-type frames with the same stream
 * and frame ids, the last one with FIN set; ABORT (with FIN) cancels.
 *
 * The caller owns the storage, which bounds the total payload; storage of size
 * 0 means "fragmentation not announced" and turns a FIN-less NOTIFY into
 * SPOP_STATUS_FRAG_NOT_SUPPORTED. One payload is assembled at a time per
 * connection: a different frame starting or continuing in between is
 * SPOP_STATUS_INTERLACED_FRAMES.
 */
#ifndef SPOKE_SPOP_FRAGMENT_H
#define SPOKE_SPOP_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_frame.h"
#include "spoe/spop_status.h"

enum spop_reasm_event {
    SPOP_REASM_FRAME,   /* *out is a complete frame: handle it */
    SPOP_REASM_PENDING, /* fragment stored; wait for more */
    SPOP_REASM_ABORTED, /* HAProxy aborted the payload (ids in *out); drop it, no ACK */
    SPOP_REASM_DROPPED, /* a late fragment of a payload we abandoned: ignore it */
};

struct spop_reasm {
    uint8_t *buf; /* caller's storage */
    size_t cap;
    size_t len;
    bool active;   /* a payload is being assembled */
    bool dropping; /* fragments of (drop_sid, drop_fid) are ignored */
    uint64_t stream_id, frame_id;
    uint64_t drop_sid, drop_fid;
};

void spop_reasm_init(struct spop_reasm *r, uint8_t *storage, size_t cap);

/* Feeds one decoded frame:
 *  - types other than NOTIFY and UNSET pass through (SPOP_REASM_FRAME, *out = *in);
 *  - a NOTIFY with FIN passes through, no copy;
 *  - a NOTIFY without FIN starts a payload (SPOP_REASM_PENDING), or fails with
 *    SPOP_STATUS_FRAG_NOT_SUPPORTED (no storage) / SPOP_STATUS_INTERLACED_FRAMES
 *    (another payload is in progress);
 *  - an UNSET frame continues the payload; with FIN it completes it and *out
 *    is a NOTIFY frame whose payload is the storage (valid until the next
 *    feed); with ABORT the payload is discarded (SPOP_REASM_ABORTED). An
 *    UNSET frame for other ids is SPOP_STATUS_INTERLACED_FRAMES, and with no
 *    payload in progress SPOP_STATUS_FRAME_ID_NOT_FOUND.
 * When the payload outgrows the storage: SPOP_STATUS_TOO_BIG, with the ids in
 * *out; the reassembler then drops that payload's remaining fragments, so the
 * caller may either disconnect or answer ACK/ABORT and carry on. Other errors
 * reset the reassembler; the connection is expected to be closed. */
enum spop_status spop_reasm_feed(struct spop_reasm *r, const struct spop_frame *in,
                                 struct spop_frame *out, enum spop_reasm_event *ev);

/* Abandons the payload in progress (the agent answers ACK/ABORT): its later
 * fragments yield SPOP_REASM_DROPPED. */
void spop_reasm_abort(struct spop_reasm *r);

#endif
