/* spop_hello.c - HELLO decode, negotiation and encode; see spop_hello.h. */
#include "spoe/spop_hello.h"

#include <string.h>

#include "spoe/spop_data.h"

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Walks a comma-separated list; next_item() yields each item trimmed of spaces. */
struct list_cursor {
    const uint8_t *pos;
    const uint8_t *end;
};

static bool next_item(struct list_cursor *c, const uint8_t **item, size_t *len)
{
    if (c->pos == NULL || c->pos >= c->end)
        return false;
    const uint8_t *start = c->pos;
    const uint8_t *stop = memchr(start, ',', (size_t)(c->end - start));
    if (stop == NULL)
        stop = c->end;
    c->pos = stop < c->end ? stop + 1 : c->end;
    while (start < stop && is_space(*start))
        start++;
    while (stop > start && is_space(stop[-1]))
        stop--;
    *item = start;
    *len = (size_t)(stop - start);
    return true;
}

unsigned spop_capabilities_parse(const uint8_t *s, size_t len)
{
    struct list_cursor c = {s, s ? s + len : s};
    const uint8_t *item;
    size_t n;
    unsigned caps = 0;
    while (next_item(&c, &item, &n)) {
        if (spop_bytes_eq(item, n, "pipelining"))
            caps |= SPOP_CAP_PIPELINING;
        else if (spop_bytes_eq(item, n, "async"))
            caps |= SPOP_CAP_ASYNC;
        else if (spop_bytes_eq(item, n, "fragmentation"))
            caps |= SPOP_CAP_FRAGMENTATION;
    }
    return caps;
}

size_t spop_capabilities_format(unsigned caps, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SPOP_CAP_PIPELINING, "pipelining"},
                 {SPOP_CAP_ASYNC, "async"},
                 {SPOP_CAP_FRAGMENTATION, "fragmentation"}};
    size_t len = 0;
    if (buf == NULL || cap == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(caps & names[i].bit))
            continue;
        size_t n = strlen(names[i].name);
        if (len + (len > 0) + n + 1 > cap) {
            buf[0] = '\0';
            return 0;
        }
        if (len > 0)
            buf[len++] = ',';
        memcpy(buf + len, names[i].name, n);
        len += n;
        buf[len] = '\0';
    }
    return len;
}

/* Parses decimal digits at *p (at most 9, so no overflow). */
static bool parse_number(const uint8_t **p, const uint8_t *end, unsigned *out)
{
    unsigned v = 0;
    size_t digits = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (++digits > 9)
            return false;
        v = v * 10 + (unsigned)(**p - '0');
        (*p)++;
    }
    *out = v;
    return digits > 0;
}

bool spop_versions_accept(const uint8_t *s, size_t len, unsigned major, unsigned minor)
{
    struct list_cursor c = {s, s ? s + len : s};
    const uint8_t *item;
    size_t n;
    while (next_item(&c, &item, &n)) {
        const uint8_t *p = item, *end = item + n;
        unsigned maj, min;
        if (!parse_number(&p, end, &maj) || p >= end || *p++ != '.' ||
            !parse_number(&p, end, &min) || p != end)
            continue; /* malformed entry */
        if (maj == major && min >= minor)
            return true;
    }
    return false;
}

/* The items both HELLO frames carry. */
struct hello_items {
    bool has_version, has_frame_size, has_caps;
    struct spop_value version, frame_size, caps;
};

static enum spop_status check_header(const struct spop_frame *f, uint8_t type)
{
    if (f->type != type || f->stream_id != 0 || f->frame_id != 0)
        return SPOP_STATUS_INVALID;
    if (!(f->flags & SPOP_FLAG_FIN))
        return SPOP_STATUS_FRAG_NOT_SUPPORTED;
    return SPOP_STATUS_NORMAL;
}

static enum spop_status check_items(const struct hello_items *it, uint32_t *frame_size)
{
    if (!it->has_version)
        return SPOP_STATUS_NO_VERSION;
    if (it->version.type != SPOP_TYPE_STRING)
        return SPOP_STATUS_INVALID;
    if (!it->has_frame_size)
        return SPOP_STATUS_NO_FRAME_SIZE;
    if (!spop_value_to_u32(&it->frame_size, frame_size))
        return SPOP_STATUS_INVALID;
    if (!it->has_caps)
        return SPOP_STATUS_NO_CAPABILITIES;
    if (it->caps.type != SPOP_TYPE_STRING)
        return SPOP_STATUS_INVALID;
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_haproxy_hello_decode(const struct spop_frame *f, struct spop_haproxy_hello *h)
{
    enum spop_status st = check_header(f, SPOP_FRAME_HAPROXY_HELLO);
    if (st != SPOP_STATUS_NORMAL)
        return st;

    struct hello_items items = {0};
    struct spop_haproxy_hello out = {0};
    struct spop_kv_iter it;
    struct spop_kv kv;
    spop_kv_iter_init(&it, f->payload, f->payload_len);
    while (spop_kv_next(&it, &kv)) {
        if (spop_bytes_eq(kv.name, kv.name_len, "supported-versions")) {
            items.has_version = true;
            items.version = kv.value;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "max-frame-size")) {
            items.has_frame_size = true;
            items.frame_size = kv.value;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "capabilities")) {
            items.has_caps = true;
            items.caps = kv.value;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "healthcheck")) {
            if (kv.value.type != SPOP_TYPE_BOOL)
                return SPOP_STATUS_INVALID;
            out.healthcheck = kv.value.u.boolean;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "engine-id")) {
            if (kv.value.type != SPOP_TYPE_STRING)
                return SPOP_STATUS_INVALID;
            out.engine_id = kv.value.u.bytes.ptr;
            out.engine_id_len = kv.value.u.bytes.len;
        }
    }
    if (it.status != SPOP_STATUS_NORMAL)
        return it.status;
    st = check_items(&items, &out.max_frame_size);
    if (st != SPOP_STATUS_NORMAL)
        return st;
    out.versions = items.version.u.bytes.ptr;
    out.versions_len = items.version.u.bytes.len;
    out.capabilities = spop_capabilities_parse(items.caps.u.bytes.ptr, items.caps.u.bytes.len);
    *h = out;
    return SPOP_STATUS_NORMAL;
}

enum spop_status spop_hello_negotiate(const struct spop_haproxy_hello *h,
                                      const struct spop_agent_limits *ours,
                                      struct spop_agent_hello *out)
{
    if (!spop_versions_accept(h->versions, h->versions_len, SPOP_VERSION_MAJOR, SPOP_VERSION_MINOR))
        return SPOP_STATUS_BAD_VERSION;
    if (h->max_frame_size < SPOP_MIN_FRAME_SIZE || ours->max_frame_size < SPOP_MIN_FRAME_SIZE)
        return SPOP_STATUS_BAD_FRAME_SIZE;
    out->version = SPOP_VERSION;
    out->version_len = strlen(SPOP_VERSION);
    out->max_frame_size =
        h->max_frame_size < ours->max_frame_size ? h->max_frame_size : ours->max_frame_size;
    unsigned symmetric = SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC;
    out->capabilities = (ours->capabilities & h->capabilities & symmetric) |
                        (ours->capabilities & SPOP_CAP_FRAGMENTATION);
    return SPOP_STATUS_NORMAL;
}

static void write_caps(struct spop_writer *w, unsigned caps)
{
    char buf[SPOP_CAPABILITIES_MAX];
    size_t n = spop_capabilities_format(caps, buf, sizeof(buf));
    struct spop_value v = spop_strn(buf, n);
    spop_kv_encode(w, "capabilities", &v);
}

enum spop_status spop_agent_hello_encode(struct spop_writer *w, const struct spop_agent_hello *a)
{
    size_t mark = spop_frame_begin(w, SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, 0);
    struct spop_value v = spop_strn(a->version, a->version_len);
    spop_kv_encode(w, "version", &v);
    v = spop_uint32(a->max_frame_size);
    spop_kv_encode(w, "max-frame-size", &v);
    write_caps(w, a->capabilities);
    return spop_frame_end(w, mark);
}

enum spop_status spop_haproxy_hello_encode(struct spop_writer *w,
                                           const struct spop_haproxy_hello *h)
{
    size_t mark = spop_frame_begin(w, SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, 0);
    struct spop_value v = spop_strn(h->versions, h->versions_len);
    spop_kv_encode(w, "supported-versions", &v);
    v = spop_uint32(h->max_frame_size);
    spop_kv_encode(w, "max-frame-size", &v);
    write_caps(w, h->capabilities);
    if (h->healthcheck) {
        v = spop_bool(true);
        spop_kv_encode(w, "healthcheck", &v);
    }
    if (h->engine_id) {
        v = spop_strn(h->engine_id, h->engine_id_len);
        spop_kv_encode(w, "engine-id", &v);
    }
    return spop_frame_end(w, mark);
}

enum spop_status spop_agent_hello_decode(const struct spop_frame *f, struct spop_agent_hello *a)
{
    enum spop_status st = check_header(f, SPOP_FRAME_AGENT_HELLO);
    if (st != SPOP_STATUS_NORMAL)
        return st;

    struct hello_items items = {0};
    struct spop_kv_iter it;
    struct spop_kv kv;
    spop_kv_iter_init(&it, f->payload, f->payload_len);
    while (spop_kv_next(&it, &kv)) {
        if (spop_bytes_eq(kv.name, kv.name_len, "version")) {
            items.has_version = true;
            items.version = kv.value;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "max-frame-size")) {
            items.has_frame_size = true;
            items.frame_size = kv.value;
        } else if (spop_bytes_eq(kv.name, kv.name_len, "capabilities")) {
            items.has_caps = true;
            items.caps = kv.value;
        }
    }
    if (it.status != SPOP_STATUS_NORMAL)
        return it.status;
    struct spop_agent_hello out = {0};
    st = check_items(&items, &out.max_frame_size);
    if (st != SPOP_STATUS_NORMAL)
        return st;
    /* The agent names one version, which must be 2.x. */
    const uint8_t *vp = items.version.u.bytes.ptr;
    size_t vn = items.version.u.bytes.len;
    if (!spop_versions_accept(vp, vn, SPOP_VERSION_MAJOR, 0) || memchr(vp, ',', vn) != NULL)
        return SPOP_STATUS_BAD_VERSION;
    if (out.max_frame_size < SPOP_MIN_FRAME_SIZE)
        return SPOP_STATUS_BAD_FRAME_SIZE;
    out.version = (const char *)vp;
    out.version_len = vn;
    out.capabilities = spop_capabilities_parse(items.caps.u.bytes.ptr, items.caps.u.bytes.len);
    *a = out;
    return SPOP_STATUS_NORMAL;
}
