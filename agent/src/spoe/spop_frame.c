/* spop_frame.c - frame length prefix and header encode/decode; see spop_frame.h. */
#include "spoe/spop_frame.h"

const char *spop_frame_type_name(unsigned type)
{
    switch (type) {
    case SPOP_FRAME_UNSET:
        return "unset";
    case SPOP_FRAME_HAPROXY_HELLO:
        return "haproxy-hello";
    case SPOP_FRAME_HAPROXY_DISCONNECT:
        return "haproxy-disconnect";
    case SPOP_FRAME_NOTIFY:
        return "notify";
    case SPOP_FRAME_AGENT_HELLO:
        return "agent-hello";
    case SPOP_FRAME_AGENT_DISCONNECT:
        return "agent-disconnect";
    case SPOP_FRAME_ACK:
        return "ack";
    default:
        return "unknown";
    }
}

enum spop_status spop_frame_peek(const uint8_t *buf, size_t len, uint32_t max_frame_size,
                                 size_t *need)
{
    if (buf == NULL || len < SPOP_FRAME_LEN_SIZE) {
        *need = SPOP_FRAME_LEN_SIZE;
        return SPOP_STATUS_NORMAL;
    }
    uint32_t flen = spop_load_u32be(buf);
    if (flen > max_frame_size)
        return SPOP_STATUS_TOO_BIG;
    if (flen < SPOP_FRAME_HEADER_MIN)
        return SPOP_STATUS_INVALID;
    *need = (size_t)SPOP_FRAME_LEN_SIZE + flen;
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_frame_decode(const uint8_t *frame, size_t len, struct spop_frame *f)
{
    struct spop_reader r;
    spop_reader_init(&r, frame, len);
    if (!spop_read_u8(&r, &f->type) || !spop_read_u32be(&r, &f->flags) ||
        !spop_read_varint(&r, &f->stream_id) || !spop_read_varint(&r, &f->frame_id))
        return SPOP_STATUS_INVALID;
    if ((f->flags & SPOP_FLAG_ABORT) && !(f->flags & SPOP_FLAG_FIN))
        return SPOP_STATUS_INVALID;
    f->payload = r.pos;
    f->payload_len = spop_reader_left(&r);
    return SPOP_STATUS_NORMAL;
}

size_t spop_frame_begin(struct spop_writer *w, uint8_t type, uint32_t flags, uint64_t stream_id,
                        uint64_t frame_id)
{
    size_t mark = w->len;
    spop_write_u32be(w, 0);
    spop_write_u8(w, type);
    spop_write_u32be(w, flags);
    spop_write_varint(w, stream_id);
    spop_write_varint(w, frame_id);
    return mark;
}

enum spop_status spop_frame_end(struct spop_writer *w, size_t mark)
{
    if (w->overflow || mark > w->len || w->len - mark < SPOP_FRAME_LEN_SIZE)
        return SPOP_STATUS_TOO_BIG;
    size_t flen = w->len - mark - SPOP_FRAME_LEN_SIZE;
    if (flen > UINT32_MAX)
        return SPOP_STATUS_TOO_BIG;
    spop_store_u32be(w->buf + mark, (uint32_t)flen);
    return SPOP_STATUS_NORMAL;
}
