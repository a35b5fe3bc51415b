/*
 * htpasswd.c - see htpasswd.h.
 *
 * Parsing checks each hash's shape and cost up front, so a verify never
 * meets a format it cannot handle. Lookups scan every entry without
 * stopping at a match; the hash of an unknown user is checked against the
 * first entry's hash, whose cost is typical of the file.
 */
#include "auth/htpasswd.h"

#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/base64.h"
#include "auth/md5crypt.h"

#define SHA1_LEN 20

struct entry {
    char *user; /* NUL-terminated copy; ulen bytes */
    size_t ulen;
    char *hash; /* NUL-terminated copy; hlen bytes */
    size_t hlen;
    enum htpasswd_scheme scheme;
    unsigned char sha1[SHA1_LEN]; /* HTPASSWD_SHA1 only */
    size_t line;
};

struct htpasswd {
    size_t n;
    struct entry *e;
};

static int is_crypt64(unsigned char c)
{
    return (c >= '.' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int all_crypt64(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_crypt64((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Copies s (n bytes) into dst for an error message: printable, short. */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        if (i == 64) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    dst[o] = '\0';
}

/* Digits only, at most 9 of them; -1 otherwise. */
static long parse_small_uint(const char *s, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Shape checks. Each returns 0, or -1 with a reason in why. */
static int check_bcrypt(const char *h, size_t n, const char **why, long *cost)
{
    *why = "malformed bcrypt hash";
    if (n != 60 || h[3] != '$' || h[6] != '$' || !all_crypt64(h + 7, 53))
        return -1;
    *cost = parse_small_uint(h + 4, 2);
    if (*cost < 4 || *cost > 31)
        return -1;
    if (*cost > HTPASSWD_MAX_BCRYPT_COST)
        return -2;
    return 0;
}

static int check_sha_crypt(const char *h, size_t n, size_t digest_chars, const char **why,
                           long *rounds)
{
    *why = "malformed sha-crypt hash";
    size_t i = 3; /* after "$5$" / "$6$" */
    *rounds = 5000;
    if (n > i + 7 && memcmp(h + i, "rounds=", 7) == 0) {
        const char *d = h + i + 7;
        const char *end = memchr(d, '$', n - i - 7);
        if (!end)
            return -1;
        *rounds = parse_small_uint(d, (size_t)(end - d));
        if (*rounds < 0)
            return -1;
        if (*rounds > HTPASSWD_MAX_SHA_ROUNDS)
            return -2;
        i = (size_t)(end - h) + 1;
    }
    const char *dollar = memchr(h + i, '$', n - i);
    if (!dollar)
        return -1;
    size_t salt = (size_t)(dollar - (h + i));
    if (salt < 1 || salt > 16 || !all_crypt64(h + i, salt))
        return -1;
    size_t rest = n - (size_t)(dollar + 1 - h);
    if (rest != digest_chars || !all_crypt64(dollar + 1, rest))
        return -1;
    return 0;
}

static int check_md5crypt(const char *h, size_t n, size_t magic_len, const char **why)
{
    *why = "malformed md5-crypt hash";
    const char *dollar = memchr(h + magic_len, '$', n - magic_len);
    if (!dollar)
        return -1;
    size_t salt = (size_t)(dollar - (h + magic_len));
    if (salt < 1 || salt > MD5CRYPT_SALT_MAX || !all_crypt64(h + magic_len, salt))
        return -1;
    size_t rest = n - (size_t)(dollar + 1 - h);
    if (rest != 22 || !all_crypt64(dollar + 1, rest))
        return -1;
    return 0;
}

/* Classifies and checks hash h (n bytes) into e. Returns 0, or -1 with an
 * error message (line, user) in err. */
static int classify(struct entry *e, const char *h, size_t n, char *err, size_t errlen,
                    const char *shown_user)
{
    const char *why = NULL;
    long num = 0;
    int rc;
#define HAS(prefix) (n >= sizeof(prefix) - 1 && memcmp(h, prefix, sizeof(prefix) - 1) == 0)
    if (HAS("$2y$") || HAS("$2b$") || HAS("$2a$")) {
        e->scheme = HTPASSWD_BCRYPT;
        rc = check_bcrypt(h, n, &why, &num);
        if (rc == -2) {
            snprintf(err, errlen, "line %zu: bcrypt cost %ld for user \"%s\" is above %d", e->line,
                     num, shown_user, HTPASSWD_MAX_BCRYPT_COST);
            return -1;
        }
    } else if (HAS("$6$") || HAS("$5$")) {
        int is512 = h[1] == '6';
        e->scheme = is512 ? HTPASSWD_SHA512_CRYPT : HTPASSWD_SHA256_CRYPT;
        rc = check_sha_crypt(h, n, is512 ? 86 : 43, &why, &num);
        if (rc == -2) {
            snprintf(err, errlen, "line %zu: sha-crypt rounds %ld for user \"%s\" is above %d",
                     e->line, num, shown_user, HTPASSWD_MAX_SHA_ROUNDS);
            return -1;
        }
    } else if (HAS("$apr1$")) {
        e->scheme = HTPASSWD_APR1;
        rc = check_md5crypt(h, n, 6, &why);
    } else if (HAS("$1$")) {
        e->scheme = HTPASSWD_MD5_CRYPT;
        rc = check_md5crypt(h, n, 3, &why);
    } else if (HAS("{SHA}")) {
        size_t got = 0;
        e->scheme = HTPASSWD_SHA1;
        why = "malformed {SHA} hash";
        int decoded = b64std_decode(h + 5, n - 5, e->sha1, sizeof(e->sha1), &got) == 0;
        rc = decoded && got == SHA1_LEN ? 0 : -1;
    } else {
        snprintf(err, errlen,
                 "line %zu: unsupported hash format for user \"%s\" (supported: bcrypt $2y$/$2b$/"
                 "$2a$, sha512-crypt $6$, sha256-crypt $5$, md5 $apr1$/$1$, {SHA})",
                 e->line, shown_user);
        return -1;
    }
#undef HAS
    if (rc != 0) {
        snprintf(err, errlen, "line %zu: %s for user \"%s\"", e->line, why, shown_user);
        return -1;
    }
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int user_cmp(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    size_t n = x->ulen < y->ulen ? x->ulen : y->ulen;
    int c = memcmp(x->user, y->user, n);
    if (c != 0)
        return c;
    if (x->ulen != y->ulen)
        return x->ulen < y->ulen ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Fails on the second line of any user named twice. */
static int check_duplicates(const struct htpasswd *t, char *err, size_t errlen)
{
    if (t->n < 2)
        return 0;
    const struct entry **idx = malloc(t->n * sizeof(*idx));
    if (!idx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < t->n; i++)
        idx[i] = &t->e[i];
    qsort(idx, t->n, sizeof(*idx), user_cmp);
    int rc = 0;
    for (size_t i = 1; i < t->n; i++) {
        if (idx[i]->ulen == idx[i - 1]->ulen &&
            memcmp(idx[i]->user, idx[i - 1]->user, idx[i]->ulen) == 0) {
            char shown[80];
            show(shown, sizeof(shown), idx[i]->user, idx[i]->ulen);
            snprintf(err, errlen, "line %zu: duplicate user \"%s\" (first on line %zu)",
                     idx[i]->line, shown, idx[i - 1]->line);
            rc = -1;
            break;
        }
    }
    free(idx);
    return rc;
}

void htpasswd_free(struct htpasswd *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].user);
        if (t->e[i].hash)
            OPENSSL_cleanse(t->e[i].hash, t->e[i].hlen);
        free(t->e[i].hash);
    }
    OPENSSL_cleanse(t->e, t->n * sizeof(*t->e));
    free(t->e);
    free(t);
}

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Parses one trimmed, non-comment line into a new entry of t. */
static int parse_line(struct htpasswd *t, size_t *cap, const char *s, size_t n, size_t lineno,
                      char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        snprintf(err, errlen, "line %zu: expected user:hash", lineno);
        return -1;
    }
    size_t ulen = (size_t)(colon - s);
    char shown[80];
    show(shown, sizeof(shown), s, ulen);
    if (ulen == 0) {
        snprintf(err, errlen, "line %zu: empty user name", lineno);
        return -1;
    }
    if (ulen > HTPASSWD_MAX_USER) {
        snprintf(err, errlen, "line %zu: user name \"%s\" longer than %d bytes", lineno, shown,
                 HTPASSWD_MAX_USER);
        return -1;
    }
    for (size_t i = 0; i < ulen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "line %zu: control character in user name \"%s\"", lineno, shown);
            return -1;
        }
    }
    const char *h = colon + 1;
    size_t hlen = n - ulen - 1;
    const char *c2 = memchr(h, ':', hlen); /* "user:hash:comment" */
    if (c2)
        hlen = (size_t)(c2 - h);
    while (hlen > 0 && is_blank(h[hlen - 1]))
        hlen--;
    if (hlen == 0) {
        snprintf(err, errlen, "line %zu: empty hash for user \"%s\"", lineno, shown);
        return -1;
    }
    if (t->n == HTPASSWD_MAX_USERS) {
        snprintf(err, errlen, "line %zu: more than %d users", lineno, HTPASSWD_MAX_USERS);
        return -1;
    }
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct entry *ne = realloc(t->e, ncap * sizeof(*ne));
        if (!ne) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->e = ne;
        *cap = ncap;
    }
    struct entry *e = &t->e[t->n];
    memset(e, 0, sizeof(*e));
    e->line = lineno;
    if (classify(e, h, hlen, err, errlen, shown) != 0)
        return -1;
    e->user = dup_bytes(s, ulen);
    e->hash = dup_bytes(h, hlen);
    e->ulen = ulen;
    e->hlen = hlen;
    t->n++; /* counted now so htpasswd_free releases the copies */
    if (!e->user || !e->hash) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct htpasswd *htpasswd_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (!text && len) {
        snprintf(err, errlen, "no input");
        return NULL;
    }
    if (len > HTPASSWD_MAX_FILE) {
        snprintf(err, errlen, "htpasswd file larger than %d bytes", HTPASSWD_MAX_FILE);
        return NULL;
    }
    struct htpasswd *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t cap = 0, lineno = 0, pos = 0;
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > HTPASSWD_MAX_LINE) {
            snprintf(err, errlen, "line %zu: longer than %d bytes", lineno, HTPASSWD_MAX_LINE);
            goto fail;
        }
        if (memchr(s, '\0', n)) {
            snprintf(err, errlen, "line %zu: NUL byte", lineno);
            goto fail;
        }
        while (n > 0 && is_blank(s[n - 1]))
            n--;
        while (n > 0 && is_blank(*s)) {
            s++;
            n--;
        }
        if (n == 0 || *s == '#')
            continue;
        if (parse_line(t, &cap, s, n, lineno, err, errlen) != 0)
            goto fail;
    }
    if (check_duplicates(t, err, errlen) != 0)
        goto fail;
    return t;
fail:
    htpasswd_free(t);
    return NULL;
}

size_t htpasswd_count(const struct htpasswd *t)
{
    return t ? t->n : 0;
}

/* Index of user, or SIZE_MAX; visits every entry whatever it finds. */
static size_t find_user(const struct htpasswd *t, const char *user, size_t ulen)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < t->n; i++) {
        const struct entry *e = &t->e[i];
        if (e->ulen == ulen && CRYPTO_memcmp(e->user, user, ulen) == 0)
            found = i;
    }
    return found;
}

int htpasswd_user_scheme(const struct htpasswd *t, const char *user, size_t ulen)
{
    if (!t || !user)
        return -1;
    size_t i = find_user(t, user, ulen);
    return i == SIZE_MAX ? -1 : (int)t->e[i].scheme;
}

static int same(const char *computed, const struct entry *e)
{
    return computed && strlen(computed) == e->hlen &&
           CRYPTO_memcmp(computed, e->hash, e->hlen) == 0;
}

/* Checks NUL-terminated password pw (pwlen bytes) against e's hash. */
static int check_hash(const struct entry *e, const char *pw, size_t pwlen)
{
    int ok = 0;
    switch (e->scheme) {
    case HTPASSWD_BCRYPT:
    case HTPASSWD_SHA512_CRYPT:
    case HTPASSWD_SHA256_CRYPT: {
        /* About 32 KiB: on the heap, not on a worker thread's stack. */
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        if (!cd)
            return 0;
        ok = same(crypt_rn(pw, e->hash, cd, (int)sizeof(*cd)), e);
        OPENSSL_cleanse(cd, sizeof(*cd));
        free(cd);
        break;
    }
    case HTPASSWD_APR1:
    case HTPASSWD_MD5_CRYPT: {
        const char *magic = e->scheme == HTPASSWD_APR1 ? "$apr1$" : "$1$";
        size_t mlen = strlen(magic);
        const char *salt = e->hash + mlen;
        size_t saltlen = (size_t)(strchr(salt, '$') - salt); /* checked at parse */
        char out[MD5CRYPT_OUT_MAX];
        ok = md5crypt(magic, pw, pwlen, salt, saltlen, out) == 0 && same(out, e);
        OPENSSL_cleanse(out, sizeof(out));
        break;
    }
    case HTPASSWD_SHA1: {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        ok = EVP_Digest(pw, pwlen, md, &mdlen, EVP_sha1(), NULL) == 1 && mdlen == SHA1_LEN &&
             CRYPTO_memcmp(md, e->sha1, SHA1_LEN) == 0;
        OPENSSL_cleanse(md, sizeof(md));
        break;
    }
    }
    return ok;
}

bool htpasswd_verify(const struct htpasswd *t, const char *user, size_t ulen, const char *password,
                     size_t pwlen)
{
    if (!t || t->n == 0 || !user || !password)
        return false;
    /* What the client sent decides these, so returning early tells nothing. */
    if (ulen > HTPASSWD_MAX_USER || pwlen > HTPASSWD_MAX_PASSWORD || memchr(password, 0, pwlen))
        return false;
    size_t i = find_user(t, user, ulen);
    /* An unknown user is checked against the first entry's hash anyway. */
    const struct entry *e = &t->e[i == SIZE_MAX ? 0 : i];
    char pw[HTPASSWD_MAX_PASSWORD + 1];
    memcpy(pw, password, pwlen);
    pw[pwlen] = '\0';
    int ok = check_hash(e, pw, pwlen);
    OPENSSL_cleanse(pw, sizeof(pw));
    return ok && i != SIZE_MAX;
}
