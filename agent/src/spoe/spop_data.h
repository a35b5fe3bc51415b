/*
 * spop_data.h - SPOP typed data (SPOE.txt 3.1) and KV-LISTs.
 *
 * TYPED-DATA is one byte <FLAGS:high 4 bits><TYPE:low 4 bits> then the value:
 * nothing for NULL and BOOL (true is flag bit 0x10), a varint for the four
 * integer types, 4 or 16 raw bytes for IPv4/IPv6, <LENGTH:varint><BYTES> for
 * STRING and BINARY. A KV-LIST is a run of <NAME:LENGTH+BYTES><TYPED-DATA>.
 *
 * Decoded strings and binaries point into the input buffer: a value lives as
 * long as the frame it came from. Nothing here allocates.
 */
#ifndef SPOKE_SPOP_DATA_H
#define SPOKE_SPOP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_status.h"

enum spop_type {
    SPOP_TYPE_NULL = 0,
    SPOP_TYPE_BOOL = 1,
    SPOP_TYPE_INT32 = 2,
    SPOP_TYPE_UINT32 = 3,
    SPOP_TYPE_INT64 = 4,
    SPOP_TYPE_UINT64 = 5,
    SPOP_TYPE_IPV4 = 6,
    SPOP_TYPE_IPV6 = 7,
    SPOP_TYPE_STRING = 8,
    SPOP_TYPE_BINARY = 9,
};

#define SPOP_TYPE_MASK      0x0f
#define SPOP_DATA_FLAG_TRUE 0x10

struct spop_value {
    enum spop_type type;
    union {
        bool boolean;
        int32_t int32;
        uint32_t uint32;
        int64_t int64;
        uint64_t uint64;
        uint8_t ipv4[4];  /* network byte order, as in struct in_addr */
        uint8_t ipv6[16]; /* as in struct in6_addr */
        struct {
            const uint8_t *ptr; /* into the decoded buffer; may be NULL when len is 0 */
            size_t len;
        } bytes; /* STRING and BINARY */
    } u;
};

/* "null", "bool", "int32", ... "binary"; "reserved" for anything else. */
const char *spop_type_name(unsigned type);

/* Decodes one TYPED-DATA. SPOP_STATUS_INVALID (reader untouched) when it is
 * truncated, has a reserved type (10..15), or an integer out of its type's
 * range. INT32 accepts both the sign-extended 64-bit form (what HAProxy and
 * most agents write) and the 32-bit two's complement form. Flags other than
 * BOOL's are ignored, as HAProxy does. */
enum spop_status spop_value_decode(struct spop_reader *r, struct spop_value *v);

/* Encodes one TYPED-DATA (signed integers as sign-extended 64-bit varints). */
void spop_value_encode(struct spop_writer *w, const struct spop_value *v);

/* Any of the four integer types holding a value in [0, UINT32_MAX] (how
 * HAProxy reads max-frame-size and status-code). */
bool spop_value_to_u32(const struct spop_value *v, uint32_t *out);

/* STRING or BINARY equal to the literal s. */
bool spop_value_is_str(const struct spop_value *v, const char *s);

/* Constructors, for encoders and tests. */
static inline struct spop_value spop_null(void)
{
    struct spop_value v = {.type = SPOP_TYPE_NULL};
    return v;
}

static inline struct spop_value spop_bool(bool b)
{
    struct spop_value v = {.type = SPOP_TYPE_BOOL, .u.boolean = b};
    return v;
}

static inline struct spop_value spop_int32(int32_t i)
{
    struct spop_value v = {.type = SPOP_TYPE_INT32, .u.int32 = i};
    return v;
}

static inline struct spop_value spop_uint32(uint32_t i)
{
    struct spop_value v = {.type = SPOP_TYPE_UINT32, .u.uint32 = i};
    return v;
}

static inline struct spop_value spop_int64(int64_t i)
{
    struct spop_value v = {.type = SPOP_TYPE_INT64, .u.int64 = i};
    return v;
}

static inline struct spop_value spop_uint64(uint64_t i)
{
    struct spop_value v = {.type = SPOP_TYPE_UINT64, .u.uint64 = i};
    return v;
}

static inline struct spop_value spop_ipv4(const uint8_t addr[4])
{
    struct spop_value v = {.type = SPOP_TYPE_IPV4};
    memcpy(v.u.ipv4, addr, 4);
    return v;
}

static inline struct spop_value spop_ipv6(const uint8_t addr[16])
{
    struct spop_value v = {.type = SPOP_TYPE_IPV6};
    memcpy(v.u.ipv6, addr, 16);
    return v;
}

static inline struct spop_value spop_strn(const void *p, size_t n)
{
    struct spop_value v = {.type = SPOP_TYPE_STRING};
    v.u.bytes.ptr = (const uint8_t *)p;
    v.u.bytes.len = n;
    return v;
}

static inline struct spop_value spop_str(const char *s)
{
    return spop_strn(s, strlen(s));
}

static inline struct spop_value spop_bin(const void *p, size_t n)
{
    struct spop_value v = {.type = SPOP_TYPE_BINARY};
    v.u.bytes.ptr = (const uint8_t *)p;
    v.u.bytes.len = n;
    return v;
}

/* One KV item; name points into the decoded buffer. */
struct spop_kv {
    const uint8_t *name;
    size_t name_len;
    struct spop_value value;
};

/* Iterates a KV-LIST. `status` is SPOP_STATUS_NORMAL while items remain and
 * after a clean end, SPOP_STATUS_INVALID after a malformed item. */
struct spop_kv_iter {
    struct spop_reader r;
    uint32_t left; /* items still to read; SPOP_KV_ALL: up to the end of the buffer */
    enum spop_status status;
};

#define SPOP_KV_ALL UINT32_MAX

/* A KV-LIST spanning the whole of buf[0..len) (HELLO/DISCONNECT payloads). */
void spop_kv_iter_init(struct spop_kv_iter *it, const uint8_t *buf, size_t len);

/* The next item: true with *kv set, false at the end or on error (see status). */
bool spop_kv_next(struct spop_kv_iter *it, struct spop_kv *kv);

/* Decodes exactly `count` items from r, advancing it past them. */
enum spop_status spop_kv_skip(struct spop_reader *r, uint32_t count);

/* Writes one KV item. */
void spop_kv_encode(struct spop_writer *w, const char *name, const struct spop_value *v);
void spop_kv_encode_n(struct spop_writer *w, const void *name, size_t name_len,
                      const struct spop_value *v);

#endif
