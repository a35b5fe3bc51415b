/*
 * apikey.h - API keys from a Secret's data as an immutable set, and a
 * constant-time membership check for a presented key.
 *
 * Each Secret value is one key: either the key itself (surrounding blanks
 * and a trailing newline, as `kubectl create secret --from-file` leaves, are
 * trimmed) or "sha256:" followed by the 64 hex digits of the key's SHA-256,
 * so the Secret need not hold keys in the clear. Only SHA-256 digests are
 * kept either way.
 *
 * apikey_verify hashes the presented key once and compares the digest with
 * every stored one (CRYPTO_memcmp, no early exit), so its time depends on
 * the size of the set only. Sets are never modified after building and may
 * be shared by any number of threads.
 */
#ifndef SPOKE_AUTH_APIKEY_H
#define SPOKE_AUTH_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#define APIKEY_MAX_KEYS 10000
#define APIKEY_MAX_LEN  4096

/* One Secret data item: its name (for errors and apikey_verify's answer)
 * and its decoded value. */
struct apikey_item {
    const char *name;
    const char *value;
    size_t len;
};

struct apikey_set;

/* Builds a set from n items. NULL with a reason naming the item in err
 * (empty value, bad "sha256:" digest, too many or too long keys). */
struct apikey_set *apikey_set_build(const struct apikey_item *items, size_t n, char *err,
                                    size_t errlen);

size_t apikey_set_count(const struct apikey_set *set);

/* True when key (len bytes) is in set; *name (when non-NULL) then points at
 * the matching item's name, valid while the set lives. */
bool apikey_verify(const struct apikey_set *set, const char *key, size_t len, const char **name);

void apikey_set_free(struct apikey_set *set);

#endif
