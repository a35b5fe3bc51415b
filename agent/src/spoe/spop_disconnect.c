/* spop_disconnect.c - DISCONNECT frames encode/decode; see spop_disconnect.h. */
#include "spoe/spop_disconnect.h"

#include "spoe/spop_data.h"

enum spop_status spop_disconnect_decode(const struct spop_frame *f, struct spop_disconnect *d)
{
    if ((f->type != SPOP_FRAME_HAPROXY_DISCONNECT && f->type != SPOP_FRAME_AGENT_DISCONNECT) ||
        f->stream_id != 0 || f->frame_id != 0)
        return SPOP_STATUS_INVALID;
    if (!(f->flags & SPOP_FLAG_FIN))
        return SPOP_STATUS_FRAG_NOT_SUPPORTED;

    struct spop_disconnect out = {0};
    bool has_code = false, has_message = false;
    struct spop_kv_iter it;
    struct spop_kv kv;
    spop_kv_iter_init(&it, f->payload, f->payload_len);
    while (spop_kv_next(&it, &kv)) {
        if (spop_bytes_eq(kv.name, kv.name_len, "status-code")) {
            if (!spop_value_to_u32(&kv.value, &out.status_code))
                return SPOP_STATUS_INVALID;
            has_code = true;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "message")) {
            if (kv.value.type != SPOP_TYPE_STRING)
                return SPOP_STATUS_INVALID;
            out.message = kv.value.u.bytes.ptr;
            out.message_len = kv.value.u.bytes.len;
            has_message = true;
        }
    }
    if (it.status != SPOP_STATUS_NORMAL)
        return it.status;
    if (!has_code || !has_message)
        return SPOP_STATUS_INVALID;
    *d = out;
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_disconnect_encode(struct spop_writer *w, uint8_t type, uint32_t status_code,
                                        const char *message)
{
    size_t mark = spop_frame_begin(w, type, SPOP_FLAG_FIN, 0, 0);
    struct spop_value v = spop_uint32(status_code);
    spop_kv_encode(w, "status-code", &v);
    v = spop_str(message ? message : spop_status_message(status_code));
    spop_kv_encode(w, "message", &v);
    return spop_frame_end(w, mark);
}
