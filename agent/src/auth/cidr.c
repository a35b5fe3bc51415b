/*
 * cidr.c - see cidr.h.
 *
 * IPv4 ranges are [lo, hi] pairs of uint32, IPv6 ranges pairs of 128-bit
 * numbers (two uint64, high half first); each family's ranges are sorted by
 * lo and merged where they overlap or touch, so a lookup finds the last
 * range starting at or below the address and checks its end.
 */
#include "auth/cidr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct u128 {
    uint64_t hi, lo;
};

struct range4 {
    uint32_t lo, hi;
};

struct range6 {
    struct u128 lo, hi;
};

struct cidr_set {
    size_t n4, n6;
    struct range4 *r4;
    struct range6 *r6;
};

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int u128_cmp(struct u128 a, struct u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static struct u128 u128_from(const unsigned char b[16])
{
    struct u128 v = {0, 0};
    for (int i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | b[i];
        v.lo = v.lo << 8 | b[8 + i];
    }
    return v;
}

/* The netmask of a prefix (0..128) as a u128. */
static struct u128 mask128(unsigned prefix)
{
    struct u128 m;
    m.hi = prefix == 0 ? 0 : prefix >= 64 ? UINT64_MAX : UINT64_MAX << (64 - prefix);
    m.lo = prefix <= 64 ? 0 : prefix == 128 ? UINT64_MAX : UINT64_MAX << (128 - prefix);
    return m;
}

static uint32_t mask32(unsigned prefix)
{
    return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

static int cmp4(const void *a, const void *b)
{
    const struct range4 *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
    const struct range6 *x = a, *y = b;
    return u128_cmp(x->lo, y->lo);
}

/* Sorts and merges r4/r6 in place. */
static void normalize(struct cidr_set *s)
{
    size_t o = 0;
    if (s->n4) {
        qsort(s->r4, s->n4, sizeof(*s->r4), cmp4);
        for (size_t i = 1; i < s->n4; i++) {
            struct range4 *cur = &s->r4[o];
            if (cur->hi == UINT32_MAX || s->r4[i].lo <= cur->hi + 1) {
                if (s->r4[i].hi > cur->hi)
                    cur->hi = s->r4[i].hi;
            } else {
                s->r4[++o] = s->r4[i];
            }
        }
        s->n4 = o + 1;
    }
    o = 0;
    if (s->n6) {
        qsort(s->r6, s->n6, sizeof(*s->r6), cmp6);
        for (size_t i = 1; i < s->n6; i++) {
            struct range6 *cur = &s->r6[o];
            struct u128 next = cur->hi; /* cur->hi + 1, saturating */
            if (++next.lo == 0 && ++next.hi == 0)
                next = cur->hi;
            if (u128_cmp(s->r6[i].lo, next) <= 0) {
                if (u128_cmp(s->r6[i].hi, cur->hi) > 0)
                    cur->hi = s->r6[i].hi;
            } else {
                s->r6[++o] = s->r6[i];
            }
        }
        s->n6 = o + 1;
    }
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1]))
        (*n)--;
}

size_t cidr_parse_addr(const char *s, size_t len, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (!s || len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, ':', len))
        return inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
    return inet_pton(AF_INET, buf, out) == 1 ? 4 : 0;
}

/* Adds one trimmed entry. Returns 0, or -1 with a reason in why. */
static int add_entry(struct cidr_set *s, const char *e, size_t n, const char **why)
{
    const char *slash = memchr(e, '/', n);
    const char *a = e, *p = NULL;
    size_t alen = slash ? (size_t)(slash - e) : n, plen = 0;
    if (slash) {
        p = slash + 1;
        plen = n - alen - 1;
        trim(&a, &alen);
        trim(&p, &plen);
    }
    unsigned char addr[16];
    size_t family = cidr_parse_addr(a, alen, addr);
    if (family == 0) {
        *why = "not an IPv4 or IPv6 address";
        return -1;
    }
    unsigned max = family == 4 ? 32 : 128, prefix = max;
    if (slash) {
        if (plen == 0 || plen > 3) {
            *why = "bad prefix length";
            return -1;
        }
        prefix = 0;
        for (size_t i = 0; i < plen; i++) {
            if (p[i] < '0' || p[i] > '9') {
                *why = "bad prefix length";
                return -1;
            }
            prefix = prefix * 10 + (unsigned)(p[i] - '0');
        }
        if (prefix > max) {
            *why = family == 4 ? "prefix length above 32" : "prefix length above 128";
            return -1;
        }
    }
    if (family == 16 && prefix >= 96 && memcmp(addr, v4mapped, 12) == 0) {
        memmove(addr, addr + 12, 4); /* ::ffff:a.b.c.d/96+n is a.b.c.d/n */
        family = 4;
        prefix -= 96;
    }
    if (family == 4) {
        uint32_t v =
            (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
        uint32_t m = mask32(prefix);
        s->r4[s->n4].lo = v & m;
        s->r4[s->n4].hi = (v & m) | ~m;
        s->n4++;
    } else {
        struct u128 v = u128_from(addr), m = mask128(prefix);
        struct range6 *r = &s->r6[s->n6++];
        r->lo.hi = v.hi & m.hi;
        r->lo.lo = v.lo & m.lo;
        r->hi.hi = r->lo.hi | ~m.hi;
        r->hi.lo = r->lo.lo | ~m.lo;
    }
    return 0;
}

void cidr_set_free(struct cidr_set *set)
{
    if (!set)
        return;
    free(set->r4);
    free(set->r6);
    free(set);
}

struct cidr_set *cidr_set_parse(const char *list, size_t len, char *err, size_t errlen)
{
    if (!list)
        len = 0;
    size_t commas = 0;
    for (size_t i = 0; i < len; i++)
        commas += list[i] == ',';
    if (commas >= CIDR_MAX_ENTRIES) {
        snprintf(err, errlen, "more than %d CIDR entries", CIDR_MAX_ENTRIES);
        return NULL;
    }
    struct cidr_set *s = calloc(1, sizeof(*s));
    if (!s || !(s->r4 = calloc(commas + 1, sizeof(*s->r4))) ||
        !(s->r6 = calloc(commas + 1, sizeof(*s->r6)))) {
        cidr_set_free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t pos = 0;
    while (pos < len) {
        const char *e = list + pos;
        const char *comma = memchr(e, ',', len - pos);
        size_t n = comma ? (size_t)(comma - e) : len - pos;
        pos += n + (comma ? 1 : 0);
        trim(&e, &n);
        if (n == 0)
            continue;
        const char *why = NULL;
        if (n > CIDR_MAX_ENTRY)
            why = "entry too long";
        else if (add_entry(s, e, n, &why) == 0)
            continue;
        char shown[CIDR_MAX_ENTRY + 1];
        size_t k = 0;
        for (; k < n && k < CIDR_MAX_ENTRY; k++)
            shown[k] = (e[k] >= 0x20 && e[k] < 0x7f && e[k] != '"') ? e[k] : '?';
        shown[k] = '\0';
        snprintf(err, errlen, "bad CIDR entry \"%s%s\": %s", shown, n > CIDR_MAX_ENTRY ? "..." : "",
                 why);
        cidr_set_free(s);
        return NULL;
    }
    if (s->n4 + s->n6 == 0) {
        snprintf(err, errlen, "empty CIDR list");
        cidr_set_free(s);
        return NULL;
    }
    normalize(s);
    return s;
}

size_t cidr_set_count(const struct cidr_set *set)
{
    return set ? set->n4 + set->n6 : 0;
}

bool cidr_set_contains(const struct cidr_set *set, const unsigned char *addr, size_t len)
{
    if (!set || !addr)
        return false;
    if (len == 16 && memcmp(addr, v4mapped, 12) == 0) {
        addr += 12;
        len = 4;
    }
    if (len == 4) {
        uint32_t v =
            (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
        size_t lo = 0, hi = set->n4; /* first range with lo > v */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (set->r4[mid].lo <= v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo > 0 && v <= set->r4[lo - 1].hi;
    }
    if (len == 16) {
        struct u128 v = u128_from(addr);
        size_t lo = 0, hi = set->n6;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (u128_cmp(set->r6[mid].lo, v) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo > 0 && u128_cmp(v, set->r6[lo - 1].hi) <= 0;
    }
    return false;
}
