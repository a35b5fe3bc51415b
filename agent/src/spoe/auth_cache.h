/*
 * auth_cache.h - the positive answers of external auth, kept for the TTL of
 * the route that got them (spoke.dev/auth-cache-ttl), shared by every
 * thread.
 *
 * A key is the SHA-256 of everything that made the answer: the route, the
 * auth settings and every byte sent to the auth service (forwarded
 * credentials included, which is why only their digest is kept). A value is
 * an opaque blob (the header values to pass on). The cache is bounded in
 * entries and bytes; when full, the oldest entries go first. Expired
 * entries are dropped when met.
 *
 *   struct auth_cache *c = auth_cache_new(4096, 16 << 20);
 *   auth_cache_put(c, key, now, blob, len);
 *   if (auth_cache_get(c, key, now, ttl, &blob, &len)) { ...; free(blob); }
 *   auth_cache_free(c);
 */
#ifndef SPOKE_SPOE_AUTH_CACHE_H
#define SPOKE_SPOE_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_CACHE_KEY_SIZE 32

struct auth_cache;

/* Never NULL (allocation failure aborts). max_entries and max_bytes >= 1. */
struct auth_cache *auth_cache_new(size_t max_entries, size_t max_bytes);
void auth_cache_free(struct auth_cache *c);

/* Stores (or replaces) key's blob, stamped now (seconds, any monotonic
 * clock). A blob larger than max_bytes is not kept. */
void auth_cache_put(struct auth_cache *c, const uint8_t key[AUTH_CACHE_KEY_SIZE], double now,
                    const void *blob, size_t len);

/* True when key was stored less than ttl seconds before now: *blob is a
 * fresh copy (free() it; NUL-terminated, not counted in *len). */
bool auth_cache_get(struct auth_cache *c, const uint8_t key[AUTH_CACHE_KEY_SIZE], double now,
                    unsigned ttl, char **blob, size_t *len);

/* Entries held now (tests, metrics). */
size_t auth_cache_count(struct auth_cache *c);

#endif
