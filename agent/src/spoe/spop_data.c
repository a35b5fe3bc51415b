/* spop_data.c - typed data and KV-LIST encode/decode; see spop_data.h. */
#include "spoe/spop_data.h"

const char *spop_type_name(unsigned type)
{
    static const char *const names[] = {"null",   "bool", "int32", "uint32", "int64",
                                        "uint64", "ipv4", "ipv6",  "string", "binary"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "reserved";
}

static enum spop_status decode_body(struct spop_reader *r, uint8_t tag, struct spop_value *v)
{
    uint64_t n;
    const uint8_t *p;

    v->type = (enum spop_type)(tag & SPOP_TYPE_MASK);
    switch (v->type) {
    case SPOP_TYPE_NULL:
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_BOOL:
        v->u.boolean = (tag & SPOP_DATA_FLAG_TRUE) != 0;
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_INT32:
        if (!spop_read_varint(r, &n))
            return SPOP_STATUS_INVALID;
        if (n <= UINT32_MAX) /* 32-bit two's complement */
            v->u.int32 = (int32_t)(uint32_t)n;
        else if (n >= (uint64_t)INT32_MIN) /* sign-extended negative */
            v->u.int32 = (int32_t)(int64_t)n;
        else
            return SPOP_STATUS_INVALID;
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_UINT32:
        if (!spop_read_varint(r, &n) || n > UINT32_MAX)
            return SPOP_STATUS_INVALID;
        v->u.uint32 = (uint32_t)n;
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_INT64:
        if (!spop_read_varint(r, &n))
            return SPOP_STATUS_INVALID;
        v->u.int64 = (int64_t)n;
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_UINT64:
        if (!spop_read_varint(r, &v->u.uint64))
            return SPOP_STATUS_INVALID;
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_IPV4:
        if (!spop_read_bytes(r, 4, &p))
            return SPOP_STATUS_INVALID;
        memcpy(v->u.ipv4, p, 4);
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_IPV6:
        if (!spop_read_bytes(r, 16, &p))
            return SPOP_STATUS_INVALID;
        memcpy(v->u.ipv6, p, 16);
        return SPOP_STATUS_NORMAL;
    case SPOP_TYPE_STRING:
    case SPOP_TYPE_BINARY:
        if (!spop_read_name(r, &v->u.bytes.ptr, &v->u.bytes.len))
            return SPOP_STATUS_INVALID;
        return SPOP_STATUS_NORMAL;
    }
    return SPOP_STATUS_INVALID; /* reserved types 10..15 */
}

enum spop_status spop_value_decode(struct spop_reader *r, struct spop_value *v)
{
    struct spop_reader save = *r;
    uint8_t tag;
    if (!spop_read_u8(r, &tag))
        return SPOP_STATUS_INVALID;
    enum spop_status st = decode_body(r, tag, v);
    if (st != SPOP_STATUS_NORMAL)
        *r = save;
    return st;
}

void spop_value_encode(struct spop_writer *w, const struct spop_value *v)
{
    switch (v->type) {
    case SPOP_TYPE_NULL:
        spop_write_u8(w, SPOP_TYPE_NULL);
        return;
    case SPOP_TYPE_BOOL:
        spop_write_u8(w, SPOP_TYPE_BOOL | (v->u.boolean ? SPOP_DATA_FLAG_TRUE : 0));
        return;
    case SPOP_TYPE_INT32:
        spop_write_u8(w, SPOP_TYPE_INT32);
        spop_write_varint(w, (uint64_t)(int64_t)v->u.int32);
        return;
    case SPOP_TYPE_UINT32:
        spop_write_u8(w, SPOP_TYPE_UINT32);
        spop_write_varint(w, v->u.uint32);
        return;
    case SPOP_TYPE_INT64:
        spop_write_u8(w, SPOP_TYPE_INT64);
        spop_write_varint(w, (uint64_t)v->u.int64);
        return;
    case SPOP_TYPE_UINT64:
        spop_write_u8(w, SPOP_TYPE_UINT64);
        spop_write_varint(w, v->u.uint64);
        return;
    case SPOP_TYPE_IPV4:
        spop_write_u8(w, SPOP_TYPE_IPV4);
        spop_write_bytes(w, v->u.ipv4, 4);
        return;
    case SPOP_TYPE_IPV6:
        spop_write_u8(w, SPOP_TYPE_IPV6);
        spop_write_bytes(w, v->u.ipv6, 16);
        return;
    case SPOP_TYPE_STRING:
    case SPOP_TYPE_BINARY:
        spop_write_u8(w, (uint8_t)v->type);
        spop_write_name(w, v->u.bytes.ptr, v->u.bytes.len);
        return;
    }
    w->overflow = true; /* not a type: refuse to produce a frame */
}

bool spop_value_to_u32(const struct spop_value *v, uint32_t *out)
{
    int64_t s;
    uint64_t u;
    switch (v->type) {
    case SPOP_TYPE_INT32:
        s = v->u.int32;
        break;
    case SPOP_TYPE_INT64:
        s = v->u.int64;
        break;
    case SPOP_TYPE_UINT32:
        *out = v->u.uint32;
        return true;
    case SPOP_TYPE_UINT64:
        u = v->u.uint64;
        if (u > UINT32_MAX)
            return false;
        *out = (uint32_t)u;
        return true;
    default:
        return false;
    }
    if (s < 0 || s > (int64_t)UINT32_MAX)
        return false;
    *out = (uint32_t)s;
    return true;
}

bool spop_value_is_str(const struct spop_value *v, const char *s)
{
    return (v->type == SPOP_TYPE_STRING || v->type == SPOP_TYPE_BINARY) &&
           spop_bytes_eq(v->u.bytes.ptr, v->u.bytes.len, s);
}

void spop_kv_iter_init(struct spop_kv_iter *it, const uint8_t *buf, size_t len)
{
    spop_reader_init(&it->r, buf, len);
    it->left = SPOP_KV_ALL;
    it->status = SPOP_STATUS_NORMAL;
}

bool spop_kv_next(struct spop_kv_iter *it, struct spop_kv *kv)
{
    if (it->status != SPOP_STATUS_NORMAL || it->left == 0)
        return false;
    if (it->left == SPOP_KV_ALL && spop_reader_left(&it->r) == 0)
        return false;
    if (!spop_read_name(&it->r, &kv->name, &kv->name_len)) {
        it->status = SPOP_STATUS_INVALID;
        return false;
    }
    it->status = spop_value_decode(&it->r, &kv->value);
    if (it->status != SPOP_STATUS_NORMAL)
        return false;
    if (it->left != SPOP_KV_ALL)
        it->left--;
    return true;
}

enum spop_status spop_kv_skip(struct spop_reader *r, uint32_t count)
{
    struct spop_kv_iter it = {.r = *r, .left = count, .status = SPOP_STATUS_NORMAL};
    struct spop_kv kv;
    while (spop_kv_next(&it, &kv))
        ;
    if (it.status == SPOP_STATUS_NORMAL && it.left != 0)
        it.status = SPOP_STATUS_INVALID; /* the buffer ended early */
    if (it.status == SPOP_STATUS_NORMAL)
        *r = it.r;
    return it.status;
}

void spop_kv_encode_n(struct spop_writer *w, const void *name, size_t name_len,
                      const struct spop_value *v)
{
    spop_write_name(w, name, name_len);
    spop_value_encode(w, v);
}

void spop_kv_encode(struct spop_writer *w, const char *name, const struct spop_value *v)
{
    spop_kv_encode_n(w, name, strlen(name), v);
}
