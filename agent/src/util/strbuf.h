/*
 * strbuf.h - a growable NUL-terminated byte buffer for building text.
 *
 * Allocation failure aborts: the agent cannot do anything sensible without
 * memory, and checking every append would hide the logic.
 */
#ifndef SPOKE_STRBUF_H
#define SPOKE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* NUL-terminated once anything was appended */
    size_t len, cap;
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void strbuf_append(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents as a malloc'd string ("" when empty); the buffer is reset. */
char *strbuf_take(struct strbuf *b);
void strbuf_reset(struct strbuf *b); /* keep the memory, length 0 */
void strbuf_free(struct strbuf *b);

#endif
