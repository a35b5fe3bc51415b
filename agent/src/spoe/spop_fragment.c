/* spop_fragment.c - bounded reassembly of fragmented NOTIFY payloads; see spop_fragment.h. */
#include "spoe/spop_fragment.h"

#include <string.h>

void spop_reasm_init(struct spop_reasm *r, uint8_t *storage, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->buf = storage;
    r->cap = storage ? cap : 0;
}

static void reset(struct spop_reasm *r)
{
    r->active = false;
    r->len = 0;
}

void spop_reasm_abort(struct spop_reasm *r)
{
    if (!r->active)
        return;
    r->dropping = true;
    r->drop_sid = r->stream_id;
    r->drop_fid = r->frame_id;
    reset(r);
}

static bool append(struct spop_reasm *r, const struct spop_frame *in)
{
    if (in->payload_len > r->cap - r->len)
        return false;
    if (in->payload_len > 0)
        memcpy(r->buf + r->len, in->payload, in->payload_len);
    r->len += in->payload_len;
    return true;
}

static void ids_only(struct spop_frame *out, uint8_t type, uint64_t sid, uint64_t fid)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->flags = SPOP_FLAG_FIN;
    out->stream_id = sid;
    out->frame_id = fid;
}

static enum spop_status too_big(struct spop_reasm *r, struct spop_frame *out)
{
    ids_only(out, SPOP_FRAME_NOTIFY, r->stream_id, r->frame_id);
    spop_reasm_abort(r);
    return SPOP_STATUS_TOO_BIG;
}

static enum spop_status start(struct spop_reasm *r, const struct spop_frame *in,
                              struct spop_frame *out, enum spop_reasm_event *ev)
{
    r->dropping = false; /* HAProxy moved on to a new frame */
    if (in->flags & SPOP_FLAG_FIN) {
        *out = *in;
        *ev = SPOP_REASM_FRAME;
        return SPOP_STATUS_NORMAL;
    }
    if (r->cap == 0)
        return SPOP_STATUS_FRAG_NOT_SUPPORTED;
    r->active = true;
    r->stream_id = in->stream_id;
    r->frame_id = in->frame_id;
    r->len = 0;
    if (!append(r, in))
        return too_big(r, out);
    *ev = SPOP_REASM_PENDING;
    return SPOP_STATUS_NORMAL;
}

static enum spop_status next_fragment(struct spop_reasm *r, const struct spop_frame *in,
                                      struct spop_frame *out, enum spop_reasm_event *ev)
{
    if (!r->active) {
        if (r->dropping && in->stream_id == r->drop_sid && in->frame_id == r->drop_fid) {
            if (in->flags & SPOP_FLAG_FIN)
                r->dropping = false;
            *ev = SPOP_REASM_DROPPED;
            return SPOP_STATUS_NORMAL;
        }
        return SPOP_STATUS_FRAME_ID_NOT_FOUND;
    }
    if (in->stream_id != r->stream_id || in->frame_id != r->frame_id) {
        reset(r);
        return SPOP_STATUS_INTERLACED_FRAMES;
    }
    if (in->flags & SPOP_FLAG_ABORT) {
        ids_only(out, SPOP_FRAME_NOTIFY, r->stream_id, r->frame_id);
        out->flags |= SPOP_FLAG_ABORT;
        reset(r);
        *ev = SPOP_REASM_ABORTED;
        return SPOP_STATUS_NORMAL;
    }
    if (!append(r, in))
        return too_big(r, out);
    if (!(in->flags & SPOP_FLAG_FIN)) {
        *ev = SPOP_REASM_PENDING;
        return SPOP_STATUS_NORMAL;
    }
    ids_only(out, SPOP_FRAME_NOTIFY, r->stream_id, r->frame_id);
    out->payload = r->buf;
    out->payload_len = r->len;
    r->active = false; /* the storage stays valid until the next feed */
    *ev = SPOP_REASM_FRAME;
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_reasm_feed(struct spop_reasm *r, const struct spop_frame *in,
                                 struct spop_frame *out, enum spop_reasm_event *ev)
{
    switch (in->type) {
    case SPOP_FRAME_NOTIFY:
        if (r->active) {
            reset(r);
            return SPOP_STATUS_INTERLACED_FRAMES;
        }
        return start(r, in, out, ev);
    case SPOP_FRAME_UNSET:
        return next_fragment(r, in, out, ev);
    default:
        *out = *in;
        *ev = SPOP_REASM_FRAME;
        return SPOP_STATUS_NORMAL;
    }
}
