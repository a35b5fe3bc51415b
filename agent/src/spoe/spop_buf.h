/*
 * spop_buf.h - bounds-checked cursors over byte buffers for the SPOP codec.
 *
 * A reader walks [pos, end) of a caller-owned buffer: every read checks the
 * bytes left first and leaves the reader untouched when it fails. A writer
 * fills buf[0..cap): the first write that does not fit sets `overflow`, and
 * every later write is a no-op, so an encoder can write a whole frame and
 * check once at the end. Nothing here allocates.
 */
#ifndef SPOKE_SPOP_BUF_H
#define SPOKE_SPOP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spop_reader {
    const uint8_t *pos;
    const uint8_t *end;
};

static inline void spop_reader_init(struct spop_reader *r, const uint8_t *buf, size_t len)
{
    r->pos = buf;
    r->end = buf ? buf + len : buf;
}

static inline size_t spop_reader_left(const struct spop_reader *r)
{
    return (size_t)(r->end - r->pos);
}

bool spop_read_u8(struct spop_reader *r, uint8_t *out);
bool spop_read_u32be(struct spop_reader *r, uint32_t *out);
bool spop_read_varint(struct spop_reader *r, uint64_t *out);
/* n raw bytes, returned as a pointer into the buffer. */
bool spop_read_bytes(struct spop_reader *r, size_t n, const uint8_t **out);
/* <LENGTH:varint><BYTES>: names of KV items, messages and variables. */
bool spop_read_name(struct spop_reader *r, const uint8_t **ptr, size_t *len);

struct spop_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static inline void spop_writer_init(struct spop_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->overflow = false;
}

static inline bool spop_writer_ok(const struct spop_writer *w)
{
    return !w->overflow;
}

void spop_write_u8(struct spop_writer *w, uint8_t v);
void spop_write_u32be(struct spop_writer *w, uint32_t v);
void spop_write_varint(struct spop_writer *w, uint64_t v);
void spop_write_bytes(struct spop_writer *w, const void *p, size_t n);
/* <LENGTH:varint><BYTES>, the counterpart of spop_read_name(). */
void spop_write_name(struct spop_writer *w, const void *p, size_t n);

/* Big-endian 32-bit load/store on raw bytes (frame lengths and flags). */
static inline uint32_t spop_load_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void spop_store_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* True when the n bytes at p equal the NUL-terminated literal s. */
bool spop_bytes_eq(const uint8_t *p, size_t n, const char *s);

#endif
