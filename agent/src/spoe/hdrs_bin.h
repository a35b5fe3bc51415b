/*
 * hdrs_bin.h - reading HAProxy's binary header list (req.hdrs_bin, the
 * "hdrs" argument of the spoke-request message): name/value pairs, each a
 * varint length then the bytes, ended by two empty strings. Pure functions
 * over untrusted bytes: every length is checked against the buffer.
 */
#ifndef SPOKE_SPOE_HDRS_BIN_H
#define SPOKE_SPOE_HDRS_BIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HDRS_BIN_MAX_HEADERS 1024 /* pairs read at most */

struct hdrs_iter {
    const uint8_t *p, *end;
    unsigned n;
};

void hdrs_iter_init(struct hdrs_iter *it, const uint8_t *buf, size_t len);

/* The next pair: 1 (name and value set), 0 at the end marker or the end of
 * the buffer, -1 when malformed or over HDRS_BIN_MAX_HEADERS. */
int hdrs_iter_next(struct hdrs_iter *it, const uint8_t **name, size_t *nlen, const uint8_t **value,
                   size_t *vlen);

/* Header names compare case-insensitively (ASCII). */
bool hdrs_name_eq(const uint8_t *p, size_t n, const char *name);

/* The first header `name`, its value trimmed of blanks (space, tab): 1
 * found, 0 absent, -1 malformed before it. */
int hdrs_find(const uint8_t *buf, size_t len, const char *name, const uint8_t **value,
              size_t *vlen);

#endif
