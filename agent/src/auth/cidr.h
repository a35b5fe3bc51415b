/*
 * cidr.h - sets of IPv4 and IPv6 ranges (whitelist-source-range,
 * denylist-source-range) and address lookups in them.
 *
 * A list is comma-separated entries "ADDR/PREFIX" or a bare "ADDR" (/32 or
 * /128), blanks allowed around entries and around '/'; host bits under the
 * prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8). Errors name the entry.
 *
 * IPv4 and IPv6 are separate spaces, as in nginx and Go: an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 clients) is
 * looked up as the IPv4 address, and an entry written in mapped form with a
 * prefix of 96 or more is an IPv4 range. So "::/0" holds every IPv6
 * address but no IPv4 one; "0.0.0.0/0, ::/0" holds everything.
 *
 * Ranges are merged and sorted at parse time; a lookup is a binary search.
 * Sets are never modified after parsing and may be shared by threads.
 */
#ifndef SPOKE_AUTH_CIDR_H
#define SPOKE_AUTH_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#define CIDR_MAX_ENTRIES 10000
#define CIDR_MAX_ENTRY   64 /* bytes of one entry, blanks trimmed */

struct cidr_set;

/* Parses len bytes of a list. At least one entry is required (empty items
 * between commas are skipped). NULL with a reason in err. */
struct cidr_set *cidr_set_parse(const char *list, size_t len, char *err, size_t errlen);

/* True when the address (4 bytes IPv4, or 16 bytes IPv6, network order) is
 * in set. Any other length is in no set. */
bool cidr_set_contains(const struct cidr_set *set, const unsigned char *addr, size_t len);

/* Parses a textual address (no prefix, no blanks) into out, as 4 or 16
 * bytes, e.g. from X-Forwarded-For. Returns the length, or 0 if invalid. */
size_t cidr_parse_addr(const char *s, size_t len, unsigned char out[16]);

/* Disjoint ranges after merging (tests, logs). */
size_t cidr_set_count(const struct cidr_set *set);

void cidr_set_free(struct cidr_set *set);

#endif
