/* spop_notify.c - NOTIFY decode, message iteration and encode; see spop_notify.h. */
#include "spoe/spop_notify.h"

#include <string.h>

/* Reads one message header and skips its arguments. */
static enum spop_status read_message(struct spop_reader *r, struct spop_message *m)
{
    struct spop_reader save = *r;
    uint8_t nb_args;
    if (!spop_read_name(r, &m->name, &m->name_len) || !spop_read_u8(r, &nb_args)) {
        *r = save;
        return SPOP_STATUS_INVALID;
    }
    const uint8_t *args = r->pos;
    if (spop_kv_skip(r, nb_args) != SPOP_STATUS_NORMAL) {
        *r = save;
        return SPOP_STATUS_INVALID;
    }
    m->nb_args = nb_args;
    m->args_buf = args;
    m->args_len = (size_t)(r->pos - args);
    spop_message_args(m, &m->args);
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_notify_decode(const struct spop_frame *f, struct spop_notify *n)
{
    if (f->type != SPOP_FRAME_NOTIFY)
        return SPOP_STATUS_INVALID;
    if (!(f->flags & SPOP_FLAG_FIN))
        return SPOP_STATUS_FRAG_NOT_SUPPORTED;
    struct spop_reader r;
    struct spop_message m;
    unsigned count = 0;
    spop_reader_init(&r, f->payload, f->payload_len);
    while (spop_reader_left(&r) > 0) {
        if (read_message(&r, &m) != SPOP_STATUS_NORMAL)
            return SPOP_STATUS_INVALID;
        count++;
    }
    n->stream_id = f->stream_id;
    n->frame_id = f->frame_id;
    n->messages = f->payload;
    n->messages_len = f->payload_len;
    n->nb_messages = count;
    return SPOP_STATUS_NORMAL;
}

void spop_message_iter_init(struct spop_message_iter *it, const struct spop_notify *n)
{
    spop_reader_init(&it->r, n->messages, n->messages_len);
    it->status = SPOP_STATUS_NORMAL;
}

bool spop_message_next(struct spop_message_iter *it, struct spop_message *m)
{
    if (it->status != SPOP_STATUS_NORMAL || spop_reader_left(&it->r) == 0)
        return false;
    it->status = read_message(&it->r, m);
    return it->status == SPOP_STATUS_NORMAL;
}

void spop_message_args(const struct spop_message *m, struct spop_kv_iter *it)
{
    spop_reader_init(&it->r, m->args_buf, m->args_len);
    it->left = m->nb_args;
    it->status = SPOP_STATUS_NORMAL;
}

bool spop_message_find_arg(const struct spop_message *m, const char *name, struct spop_value *out)
{
    struct spop_kv_iter it;
    spop_message_args(m, &it);
    struct spop_kv kv;
    while (spop_kv_next(&it, &kv)) {
        if (spop_bytes_eq(kv.name, kv.name_len, name)) {
            *out = kv.value;
            return true;
        }
    }
    return false;
}

void spop_notify_add_message(struct spop_writer *w, const char *name, uint8_t nb_args)
{
    spop_write_name(w, name, strlen(name));
    spop_write_u8(w, nb_args);
}
