/*
 * printable.h - untrusted bytes made fit for a log line, an Event or a
 * status message: printable ASCII (0x20..0x7e) only, bounded.
 */
#ifndef SPOKE_UTIL_PRINTABLE_H
#define SPOKE_UTIL_PRINTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* n for a NUL-terminated string. */
#define PRINTABLE_CSTR SIZE_MAX

/* True when every byte of s (NUL-terminated) is printable ASCII. */
bool printable_ascii(const char *s);

/* Replaces every byte of s (NUL-terminated) that is not printable ASCII
 * with '?', in place. */
void printable_sanitize(char *s);

/* Copies at most max bytes of s (n bytes, or PRINTABLE_CSTR) into out with
 * the same replacement, and "..." when s was longer; out has room for
 * max + 4 bytes. Returns out. */
const char *printable_quote(const char *s, size_t n, size_t max, char *out);

#endif
