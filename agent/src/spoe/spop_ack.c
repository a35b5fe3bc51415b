/* spop_ack.c - ACK encode (set-var / unset-var) and decode; see spop_ack.h. */
#include "spoe/spop_ack.h"

#include <string.h>

const char *spop_scope_name(unsigned scope)
{
    static const char *const names[] = {"proc", "sess", "txn", "req", "res"};
    return scope < sizeof(names) / sizeof(names[0]) ? names[scope] : "unknown";
}

size_t spop_ack_begin(struct spop_writer *w, uint64_t stream_id, uint64_t frame_id)
{
    return spop_frame_begin(w, SPOP_FRAME_ACK, SPOP_FLAG_FIN, stream_id, frame_id);
}

void spop_ack_set_var_n(struct spop_writer *w, enum spop_scope scope, const void *name,
                        size_t name_len, const struct spop_value *v)
{
    spop_write_u8(w, SPOP_ACTION_SET_VAR);
    spop_write_u8(w, 3);
    spop_write_u8(w, (uint8_t)scope);
    spop_write_name(w, name, name_len);
    spop_value_encode(w, v);
}

void spop_ack_set_var(struct spop_writer *w, enum spop_scope scope, const char *name,
                      const struct spop_value *v)
{
    spop_ack_set_var_n(w, scope, name, strlen(name), v);
}

void spop_ack_unset_var(struct spop_writer *w, enum spop_scope scope, const char *name)
{
    spop_write_u8(w, SPOP_ACTION_UNSET_VAR);
    spop_write_u8(w, 2);
    spop_write_u8(w, (uint8_t)scope);
    spop_write_name(w, name, strlen(name));
}

enum spop_status spop_ack_end(struct spop_writer *w, size_t mark)
{
    return spop_frame_end(w, mark);
}

enum spop_status spop_ack_abort_encode(struct spop_writer *w, uint64_t stream_id, uint64_t frame_id)
{
    size_t mark =
        spop_frame_begin(w, SPOP_FRAME_ACK, SPOP_FLAG_FIN | SPOP_FLAG_ABORT, stream_id, frame_id);
    return spop_frame_end(w, mark);
}

enum spop_status spop_ack_decode(const struct spop_frame *f, struct spop_action_iter *it)
{
    if (f->type != SPOP_FRAME_ACK)
        return SPOP_STATUS_INVALID;
    if (!(f->flags & SPOP_FLAG_FIN))
        return SPOP_STATUS_FRAG_NOT_SUPPORTED;
    spop_reader_init(&it->r, f->payload, f->payload_len);
    it->status = SPOP_STATUS_NORMAL;
    return SPOP_STATUS_NORMAL;
}

static bool read_action(struct spop_reader *r, struct spop_action *a)
{
    uint8_t type, nb_args, scope;
    if (!spop_read_u8(r, &type) || !spop_read_u8(r, &nb_args) || !spop_read_u8(r, &scope) ||
        scope > SPOP_SCOPE_RESPONSE || !spop_read_name(r, &a->name, &a->name_len))
        return false;
    a->scope = (enum spop_scope)scope;
    if (type == SPOP_ACTION_SET_VAR && nb_args == 3) {
        a->type = SPOP_ACTION_SET_VAR;
        return spop_value_decode(r, &a->value) == SPOP_STATUS_NORMAL;
    }
    if (type == SPOP_ACTION_UNSET_VAR && nb_args == 2) {
        a->type = SPOP_ACTION_UNSET_VAR;
        a->value = spop_null();
        return true;
    }
    return false;
}

bool spop_action_next(struct spop_action_iter *it, struct spop_action *a)
{
    if (it->status != SPOP_STATUS_NORMAL || spop_reader_left(&it->r) == 0)
        return false;
    if (!read_action(&it->r, a)) {
        it->status = SPOP_STATUS_INVALID;
        return false;
    }
    return true;
}
