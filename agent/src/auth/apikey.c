/*
 * apikey.c - see apikey.h.
 */
#include "auth/apikey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define DIGEST_LEN 32

struct apikey_set {
    size_t n;
    unsigned char (*digest)[DIGEST_LEN];
    char **name;
};

static int sha256(const void *p, size_t n, unsigned char out[DIGEST_LEN])
{
    unsigned int len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == DIGEST_LEN ? 0 : -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void apikey_set_free(struct apikey_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        free(set->name[i]);
    free(set->name);
    free(set->digest);
    free(set);
}

/* The digest of one item's value. Returns 0, or -1 with a reason in why. */
static int item_digest(const struct apikey_item *it, unsigned char out[DIGEST_LEN],
                       const char **why)
{
    const char *v = it->value;
    size_t n = it->len;
    if (!v) {
        *why = "no value";
        return -1;
    }
    while (n > 0 && is_blank(*v)) {
        v++;
        n--;
    }
    while (n > 0 && is_blank(v[n - 1]))
        n--;
    if (n == 0) {
        *why = "empty key";
        return -1;
    }
    if (n > APIKEY_MAX_LEN) {
        *why = "key longer than 4096 bytes";
        return -1;
    }
    if (n >= 7 && memcmp(v, "sha256:", 7) == 0) {
        if (n != 7 + 2 * DIGEST_LEN) {
            *why = "\"sha256:\" must be followed by 64 hex digits";
            return -1;
        }
        for (size_t i = 0; i < DIGEST_LEN; i++) {
            int hi = hexval(v[7 + 2 * i]), lo = hexval(v[8 + 2 * i]);
            if (hi < 0 || lo < 0) {
                *why = "\"sha256:\" must be followed by 64 hex digits";
                return -1;
            }
            out[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    if (memchr(v, '\0', n)) {
        *why = "NUL byte in key";
        return -1;
    }
    if (sha256(v, n, out) != 0) {
        *why = "SHA-256 failed";
        return -1;
    }
    return 0;
}

struct apikey_set *apikey_set_build(const struct apikey_item *items, size_t n, char *err,
                                    size_t errlen)
{
    if (n == 0 || !items) {
        snprintf(err, errlen, "no API keys");
        return NULL;
    }
    if (n > APIKEY_MAX_KEYS) {
        snprintf(err, errlen, "more than %d API keys", APIKEY_MAX_KEYS);
        return NULL;
    }
    struct apikey_set *set = calloc(1, sizeof(*set));
    if (!set || !(set->digest = calloc(n, sizeof(*set->digest))) ||
        !(set->name = calloc(n, sizeof(*set->name)))) {
        snprintf(err, errlen, "out of memory");
        apikey_set_free(set);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        const char *name = items[i].name ? items[i].name : "";
        if (item_digest(&items[i], set->digest[i], &why) != 0) {
            snprintf(err, errlen, "API key \"%.64s\" (item %zu): %s", name, i, why);
            apikey_set_free(set);
            return NULL;
        }
        set->name[i] = strdup(name);
        set->n = i + 1;
        if (!set->name[i]) {
            snprintf(err, errlen, "out of memory");
            apikey_set_free(set);
            return NULL;
        }
    }
    return set;
}

size_t apikey_set_count(const struct apikey_set *set)
{
    return set ? set->n : 0;
}

bool apikey_verify(const struct apikey_set *set, const char *key, size_t len, const char **name)
{
    if (name)
        *name = NULL;
    if (!set || set->n == 0 || !key || len == 0 || len > APIKEY_MAX_LEN)
        return false;
    unsigned char d[DIGEST_LEN];
    if (sha256(key, len, d) != 0)
        return false;
    /* Branch-free over the whole set: found is all ones after a match. */
    size_t found = 0, which = 0;
    for (size_t i = 0; i < set->n; i++) {
        size_t diff = (size_t)(unsigned)CRYPTO_memcmp(d, set->digest[i], DIGEST_LEN);
        size_t eq = ((diff | (0 - diff)) >> (sizeof(size_t) * 8 - 1)) - 1; /* ~0 iff diff == 0 */
        which = (which & ~eq) | (i & eq);
        found |= eq;
    }
    OPENSSL_cleanse(d, sizeof(d));
    if (found && name)
        *name = set->name[which];
    return found != 0;
}
