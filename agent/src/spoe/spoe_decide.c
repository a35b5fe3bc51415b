/* spoe_decide.c - requests and replies of the decision interface: argument
 * lookups over a decoded NOTIFY, bounded set-var lists and their ACK
 * encoding; see spoe_decide.h. (Deferred decisions live in spoe_server.c.) */
#include "spoe/spoe_decide.h"

#include <string.h>
#include <sys/socket.h>

#include "spoe/spoe_internal.h"

/* ---- requests ----------------------------------------------------------- */

static void request_from(struct spoe_request *req, const struct spop_notify *n,
                         const struct spop_message *m, unsigned index, unsigned count)
{
    req->name = m->name;
    req->name_len = m->name_len;
    req->stream_id = n->stream_id;
    req->frame_id = n->frame_id;
    req->index = index;
    req->count = count;
    req->notify = *n;
    req->msg = *m;
}

bool spoe_request_init(struct spoe_request *req, const struct spop_notify *n)
{
    struct spop_message_iter it;
    struct spop_message m;
    spop_message_iter_init(&it, n);
    if (!spop_message_next(&it, &m))
        return false;
    request_from(req, n, &m, 0, n->nb_messages);
    return true;
}

bool spoe_request_is(const struct spoe_request *req, const char *name)
{
    return spop_bytes_eq(req->name, req->name_len, name);
}

bool spoe_request_at(const struct spoe_request *req, unsigned index, struct spoe_request *out)
{
    struct spop_message_iter it;
    struct spop_message m;
    spop_message_iter_init(&it, &req->notify);
    for (unsigned i = 0; spop_message_next(&it, &m); i++) {
        if (i == index) {
            request_from(out, &req->notify, &m, i, req->count);
            return true;
        }
    }
    return false;
}

bool spoe_request_select(const struct spoe_request *req, const char *name, struct spoe_request *out)
{
    struct spop_message_iter it;
    struct spop_message m;
    spop_message_iter_init(&it, &req->notify);
    for (unsigned i = 0; spop_message_next(&it, &m); i++) {
        if (spop_bytes_eq(m.name, m.name_len, name)) {
            request_from(out, &req->notify, &m, i, req->count);
            return true;
        }
    }
    return false;
}

bool spoe_request_arg(const struct spoe_request *req, const char *name, struct spop_value *out)
{
    return spop_message_find_arg(&req->msg, name, out);
}

bool spoe_request_arg_str(const struct spoe_request *req, const char *name, const char **s,
                          size_t *len)
{
    struct spop_value v;
    if (!spoe_request_arg(req, name, &v) || v.type != SPOP_TYPE_STRING)
        return false;
    *s = v.u.bytes.ptr ? (const char *)v.u.bytes.ptr : "";
    *len = v.u.bytes.len;
    return true;
}

bool spoe_request_arg_bin(const struct spoe_request *req, const char *name, const uint8_t **p,
                          size_t *len)
{
    struct spop_value v;
    if (!spoe_request_arg(req, name, &v) ||
        (v.type != SPOP_TYPE_BINARY && v.type != SPOP_TYPE_STRING))
        return false;
    *p = v.u.bytes.ptr ? v.u.bytes.ptr : (const uint8_t *)"";
    *len = v.u.bytes.len;
    return true;
}

bool spoe_request_arg_int(const struct spoe_request *req, const char *name, int64_t *out)
{
    struct spop_value v;
    if (!spoe_request_arg(req, name, &v))
        return false;
    switch (v.type) {
    case SPOP_TYPE_INT32:
        *out = v.u.int32;
        return true;
    case SPOP_TYPE_UINT32:
        *out = v.u.uint32;
        return true;
    case SPOP_TYPE_INT64:
        *out = v.u.int64;
        return true;
    case SPOP_TYPE_UINT64:
        if (v.u.uint64 > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v.u.uint64;
        return true;
    default:
        return false;
    }
}

bool spoe_request_arg_ip(const struct spoe_request *req, const char *name, int *family,
                         uint8_t addr[16])
{
    struct spop_value v;
    if (!spoe_request_arg(req, name, &v))
        return false;
    if (v.type == SPOP_TYPE_IPV4) {
        *family = AF_INET;
        memcpy(addr, v.u.ipv4, 4);
        return true;
    }
    if (v.type == SPOP_TYPE_IPV6) {
        *family = AF_INET6;
        memcpy(addr, v.u.ipv6, 16);
        return true;
    }
    return false;
}

/* ---- replies ------------------------------------------------------------ */

void spoe_reply_reset(struct spoe_reply *r)
{
    r->nvars = 0;
    r->used = 0;
    r->failed = false;
    r->conn = NULL;
    r->deferred = NULL;
}

unsigned spoe_reply_count(const struct spoe_reply *r)
{
    return r->nvars;
}

bool spoe_reply_failed(const struct spoe_reply *r)
{
    return r->failed;
}

static bool name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SPOE_VAR_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_'))
            return false;
    }
    return true;
}

static bool value_ok(const struct spop_value *v)
{
    switch (v->type) {
    case SPOP_TYPE_NULL:
    case SPOP_TYPE_BOOL:
    case SPOP_TYPE_INT32:
    case SPOP_TYPE_UINT32:
    case SPOP_TYPE_INT64:
    case SPOP_TYPE_UINT64:
    case SPOP_TYPE_IPV4:
    case SPOP_TYPE_IPV6:
        return true;
    case SPOP_TYPE_STRING:
    case SPOP_TYPE_BINARY:
        return v->u.bytes.ptr != NULL || v->u.bytes.len == 0;
    }
    return false;
}

static bool add_action(struct spoe_reply *r, uint8_t action, enum spop_scope scope,
                       const char *name, const struct spop_value *v)
{
    if (r->failed || r->deferred)
        return false;
    size_t name_len = name ? strnlen(name, SPOE_VAR_NAME_MAX + 1) : 0;
    bool has_bytes = v && (v->type == SPOP_TYPE_STRING || v->type == SPOP_TYPE_BINARY);
    size_t val_len = has_bytes ? v->u.bytes.len : 0;
    if ((unsigned)scope > SPOP_SCOPE_RESPONSE || !name_ok(name, name_len) || (v && !value_ok(v)) ||
        r->nvars >= SPOE_REPLY_MAX_VARS || val_len > SPOE_REPLY_MAX_BYTES ||
        name_len + val_len > SPOE_REPLY_MAX_BYTES - r->used) {
        r->failed = true;
        return false;
    }
    struct spoe_reply_var *var = &r->vars[r->nvars++];
    var->action = action;
    var->scope = (uint8_t)scope;
    var->name_off = (uint16_t)r->used;
    var->name_len = (uint16_t)name_len;
    memcpy(r->arena + r->used, name, name_len);
    r->used += name_len;
    var->value = v ? *v : spop_null();
    var->val_off = (uint32_t)r->used;
    if (val_len > 0)
        memcpy(r->arena + r->used, v->u.bytes.ptr, val_len);
    r->used += val_len;
    if (has_bytes)
        var->value.u.bytes.ptr = NULL; /* rebuilt from val_off when encoding */
    return true;
}

bool spoe_reply_set(struct spoe_reply *r, enum spop_scope scope, const char *name,
                    const struct spop_value *v)
{
    if (!v) {
        r->failed = true;
        return false;
    }
    return add_action(r, SPOP_ACTION_SET_VAR, scope, name, v);
}

bool spoe_reply_set_str(struct spoe_reply *r, enum spop_scope scope, const char *name,
                        const char *s)
{
    struct spop_value v = spop_strn(s, s ? strlen(s) : 0);
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_set_strn(struct spoe_reply *r, enum spop_scope scope, const char *name,
                         const void *s, size_t len)
{
    struct spop_value v = spop_strn(s, len);
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_set_bin(struct spoe_reply *r, enum spop_scope scope, const char *name,
                        const void *p, size_t len)
{
    struct spop_value v = spop_bin(p, len);
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_set_int(struct spoe_reply *r, enum spop_scope scope, const char *name, int64_t i)
{
    struct spop_value v = spop_int64(i);
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_set_bool(struct spoe_reply *r, enum spop_scope scope, const char *name, bool b)
{
    struct spop_value v = spop_bool(b);
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_set_ip(struct spoe_reply *r, enum spop_scope scope, const char *name, int family,
                       const uint8_t *addr)
{
    struct spop_value v;
    if (addr && family == AF_INET) {
        v = spop_ipv4(addr);
    } else if (addr && family == AF_INET6) {
        v = spop_ipv6(addr);
    } else {
        r->failed = true;
        return false;
    }
    return spoe_reply_set(r, scope, name, &v);
}

bool spoe_reply_unset(struct spoe_reply *r, enum spop_scope scope, const char *name)
{
    return add_action(r, SPOP_ACTION_UNSET_VAR, scope, name, NULL);
}

enum spop_status spoe_reply_encode_ack(const struct spoe_reply *r, uint64_t stream_id,
                                       uint64_t frame_id, struct spop_writer *w, bool *spoiled)
{
    size_t start = w->len;
    *spoiled = r->failed;
    if (!r->failed) {
        size_t mark = spop_ack_begin(w, stream_id, frame_id);
        for (unsigned i = 0; i < r->nvars; i++) {
            const struct spoe_reply_var *var = &r->vars[i];
            const uint8_t *name = r->arena + var->name_off;
            if (var->action == SPOP_ACTION_UNSET_VAR) {
                spop_write_u8(w, SPOP_ACTION_UNSET_VAR);
                spop_write_u8(w, 2);
                spop_write_u8(w, var->scope);
                spop_write_name(w, name, var->name_len);
                continue;
            }
            struct spop_value v = var->value;
            if (v.type == SPOP_TYPE_STRING || v.type == SPOP_TYPE_BINARY)
                v.u.bytes.ptr = r->arena + var->val_off;
            spop_ack_set_var_n(w, (enum spop_scope)var->scope, name, var->name_len, &v);
        }
        if (spop_ack_end(w, mark) == SPOP_STATUS_NORMAL)
            return SPOP_STATUS_NORMAL;
        *spoiled = true;
    }
    /* Fail closed: no variable at all rather than some of them. */
    w->len = start;
    w->overflow = false;
    size_t mark = spop_ack_begin(w, stream_id, frame_id);
    return spop_ack_end(w, mark);
}
