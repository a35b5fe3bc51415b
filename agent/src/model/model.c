/*
 * model.c - see model.h: freeing a model, lookups, names; and the helpers
 * of build.h (arena, growable arrays, problems, a string table).
 */
#include "model/model.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/build.h"
#include "util/printable.h"

/* The arena: strings are appended to blocks of at least 16 KiB and freed
 * all at once with the model. */
struct arena_block {
    struct arena_block *next;
    size_t used, size;
    char data[];
};

struct model_arena {
    struct arena_block *head;
};

void *model_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

void *model_xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        abort();
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        abort();
    return q;
}

void *model_vec_grow(void *arr, size_t n, size_t elem)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return arr;
    return model_xrealloc(arr, n ? n * 2 : 4, elem);
}

static char *arena_alloc(struct routing_model *m, size_t n)
{
    if (!m->arena)
        m->arena = model_xcalloc(1, sizeof(*m->arena));
    struct arena_block *b = m->arena->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > 16384 ? n : 16384;
        b = malloc(sizeof(*b) + size);
        if (!b)
            abort();
        b->used = 0;
        b->size = size;
        b->next = m->arena->head;
        m->arena->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

const char *model_strndup(struct routing_model *m, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = arena_alloc(m, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

const char *model_strdup(struct routing_model *m, const char *s)
{
    return s ? model_strndup(m, s, strlen(s)) : NULL;
}

const char *model_printf(struct routing_model *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *p = arena_alloc(m, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

const char *model_quote(const char *s, char *out)
{
    return printable_quote(s ? s : "", PRINTABLE_CSTR, 64, out);
}

void build_problem(struct build *b, const char *kind, const char *object, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct model_problem *p = MODEL_VEC_PUSH(b->m->problems, b->m->n_problems);
    p->kind = kind;
    p->object = model_strdup(b->m, object);
    p->message = model_strdup(b->m, msg);
}

/* The string table: FNV-1a, linear probing, at most half full. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void build_strmap_init(struct build_strmap *t)
{
    memset(t, 0, sizeof(*t));
}

void build_strmap_free(struct build_strmap *t)
{
    free(t->keys);
    free(t->values);
    memset(t, 0, sizeof(*t));
}

size_t build_strmap_get(const struct build_strmap *t, const char *key)
{
    if (!t->cap)
        return (size_t)-1;
    for (size_t i = fnv1a(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->keys[i])
            return (size_t)-1;
        if (strcmp(t->keys[i], key) == 0)
            return t->values[i];
    }
}

static void strmap_insert(struct build_strmap *t, const char *key, size_t value)
{
    size_t i = fnv1a(key) & (t->cap - 1);
    while (t->keys[i] && strcmp(t->keys[i], key) != 0)
        i = (i + 1) & (t->cap - 1);
    if (!t->keys[i])
        t->count++;
    t->keys[i] = key;
    t->values[i] = value;
}

void build_strmap_put(struct build_strmap *t, const char *key, size_t value)
{
    if ((t->count + 1) * 2 > t->cap) {
        struct build_strmap old = *t;
        t->cap = old.cap ? old.cap * 2 : 64;
        t->count = 0;
        t->keys = model_xcalloc(t->cap, sizeof(*t->keys));
        t->values = model_xcalloc(t->cap, sizeof(*t->values));
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i])
                strmap_insert(t, old.keys[i], old.values[i]);
        free(old.keys);
        free(old.values);
    }
    strmap_insert(t, key, value);
}

void model_free(struct routing_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_backends; i++)
        free(m->backends[i].endpoints);
    free(m->routes);
    free(m->default_route);
    free(m->backends);
    free(m->tls);
    free(m->defaults);
    free(m->ingresses);
    free(m->problems);
    if (m->arena) {
        struct arena_block *b = m->arena->head;
        while (b) {
            struct arena_block *next = b->next;
            free(b);
            b = next;
        }
        free(m->arena);
    }
    free(m);
}

const void *model_route_id_find(const void *base, size_t n, size_t size, size_t id_offset,
                                const char *id, size_t len)
{
    size_t lo = 0, hi = n;
    if (len >= MODEL_ROUTE_ID_SIZE)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *elem = (const char *)base + mid * size;
        const char *rid = elem + id_offset;
        size_t rlen = strlen(rid);
        int c = memcmp(rid, id, rlen < len ? rlen : len);
        if (c == 0)
            c = rlen < len ? -1 : rlen > len;
        if (c == 0)
            return elem;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct model_backend *model_find_backend(const struct routing_model *m, const char *id)
{
    size_t lo = 0, hi = m->n_backends;
    while (id && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->backends[mid].id, id);
        if (c == 0)
            return &m->backends[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct model_tls *model_find_tls(const struct routing_model *m, const char *host)
{
    size_t lo = 0, hi = m->n_tls;
    while (host && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->tls[mid].host, host);
        if (c == 0)
            return &m->tls[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *model_path_type_name(enum model_path_type t)
{
    switch (t) {
    case MODEL_PATH_EXACT:
        return "Exact";
    case MODEL_PATH_PREFIX:
        return "Prefix";
    case MODEL_PATH_IMPL_SPECIFIC:
        return "ImplementationSpecific";
    }
    return "?";
}

enum model_path_type model_path_match_type(enum model_path_type t)
{
    return t == MODEL_PATH_EXACT ? MODEL_PATH_EXACT : MODEL_PATH_PREFIX;
}

bool model_profile_is_default(const struct model_profile *p)
{
    return p->protocol == MODEL_PROTO_HTTP && p->balance == MODEL_BALANCE_ROUNDROBIN &&
           !p->cookie_affinity;
}

const char *model_profile_name(const struct model_profile *p, char *buf, size_t len)
{
    static const char *const protos[] = {"http", "h2", "https"};
    static const char *const balances[] = {"roundrobin", "leastconn", "source", "random"};
    snprintf(buf, len, "%s-%s%s", protos[p->protocol], balances[p->balance],
             p->cookie_affinity ? "-cookie" : "");
    return buf;
}
