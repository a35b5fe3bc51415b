/* spop_buf.c - bounds-checked reader and sticky-overflow writer; see spop_buf.h. */
#include "spoe/spop_buf.h"

#include <string.h>

#include "spoe/spop_varint.h"

bool spop_read_u8(struct spop_reader *r, uint8_t *out)
{
    if (spop_reader_left(r) < 1)
        return false;
    *out = *r->pos++;
    return true;
}

bool spop_read_u32be(struct spop_reader *r, uint32_t *out)
{
    if (spop_reader_left(r) < 4)
        return false;
    *out = spop_load_u32be(r->pos);
    r->pos += 4;
    return true;
}

bool spop_read_varint(struct spop_reader *r, uint64_t *out)
{
    size_t n = spop_varint_decode(r->pos, spop_reader_left(r), out);
    if (n == 0)
        return false;
    r->pos += n;
    return true;
}

bool spop_read_bytes(struct spop_reader *r, size_t n, const uint8_t **out)
{
    if (spop_reader_left(r) < n)
        return false;
    *out = r->pos;
    r->pos += n;
    return true;
}

bool spop_read_name(struct spop_reader *r, const uint8_t **ptr, size_t *len)
{
    struct spop_reader save = *r;
    uint64_t n;
    if (!spop_read_varint(r, &n) || n > spop_reader_left(r)) {
        *r = save;
        return false;
    }
    *ptr = r->pos;
    *len = (size_t)n;
    r->pos += n;
    return true;
}

static bool reserve(struct spop_writer *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return false;
    }
    return true;
}

void spop_write_u8(struct spop_writer *w, uint8_t v)
{
    if (reserve(w, 1))
        w->buf[w->len++] = v;
}

void spop_write_u32be(struct spop_writer *w, uint32_t v)
{
    if (reserve(w, 4)) {
        spop_store_u32be(w->buf + w->len, v);
        w->len += 4;
    }
}

void spop_write_varint(struct spop_writer *w, uint64_t v)
{
    if (reserve(w, spop_varint_len(v)))
        w->len += spop_varint_encode(v, w->buf + w->len, w->cap - w->len);
}

void spop_write_bytes(struct spop_writer *w, const void *p, size_t n)
{
    if (n == 0 || !reserve(w, n))
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void spop_write_name(struct spop_writer *w, const void *p, size_t n)
{
    if (n > w->cap || !reserve(w, spop_varint_len(n) + n)) {
        w->overflow = true;
        return;
    }
    spop_write_varint(w, n);
    spop_write_bytes(w, p, n);
}

bool spop_bytes_eq(const uint8_t *p, size_t n, const char *s)
{
    size_t sl = strlen(s);
    return n == sl && (n == 0 || memcmp(p, s, n) == 0);
}
