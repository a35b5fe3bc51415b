/*
 * store.c - see store.h.
 *
 * A chained hash table of entries keyed "namespace/name" (FNV-1a, doubled
 * when the load passes 1), so upsert, get and delete are O(1) at any size.
 * store_foreach wants ascending key order: the entries are sorted on demand
 * and that order is cached until the set of keys changes (an update only
 * swaps an entry's object, so it keeps the order). store_replace marks every
 * key it sees with a fresh generation number and then deletes the unmarked
 * ones, in key order, so a re-list is O(n) plus sorting what went away.
 *
 * Handlers must not modify the store they are called from, and a
 * store_foreach callback must not modify the store it visits.
 */
#include "kube/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define MIN_BUCKETS 16

struct entry {
    struct entry *next; /* hash chain */
    uint64_t hash;
    uint64_t seen; /* generation of the last store_replace that listed it */
    json_t *obj;   /* our reference */
    size_t klen;
    char key[]; /* "namespace/name" or "name", NUL-terminated */
};

/* The sorted view for store_foreach, kept behind a pointer so that a const
 * store can still fill it in. */
struct order {
    struct entry **v;
    size_t n, cap;
    bool valid;
};

struct store {
    char *kind;
    struct store_handlers h;
    struct entry **buckets;
    size_t nbuckets, count;
    uint64_t gen;
    struct order *order;
};

/* The parts of an object's key; ns is NULL for cluster-scoped objects. */
struct key_parts {
    const char *ns, *name;
    size_t nslen, namelen;
    uint64_t hash;
};

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static bool make_parts(const char *ns, const char *name, struct key_parts *k)
{
    if (!name || !*name)
        return false;
    k->ns = ns && *ns ? ns : NULL;
    k->nslen = k->ns ? strlen(k->ns) : 0;
    k->name = name;
    k->namelen = strlen(name);
    uint64_t h = FNV_OFFSET;
    if (k->ns) {
        h = fnv(h, k->ns, k->nslen);
        h = fnv(h, "/", 1);
    }
    k->hash = fnv(h, k->name, k->namelen);
    return true;
}

static json_t *metadata_field(json_t *obj, const char *field)
{
    return json_object_get(json_object_get(obj, "metadata"), field);
}

static bool object_parts(json_t *obj, struct key_parts *k)
{
    return make_parts(json_string_value(metadata_field(obj, "namespace")),
                      json_string_value(metadata_field(obj, "name")), k);
}

static size_t parts_len(const struct key_parts *k)
{
    return k->ns ? k->nslen + 1 + k->namelen : k->namelen;
}

static bool entry_matches(const struct entry *e, const struct key_parts *k)
{
    if (e->hash != k->hash || e->klen != parts_len(k))
        return false;
    if (!k->ns)
        return memcmp(e->key, k->name, k->namelen) == 0;
    return memcmp(e->key, k->ns, k->nslen) == 0 && e->key[k->nslen] == '/' &&
           memcmp(e->key + k->nslen + 1, k->name, k->namelen) == 0;
}

/* The link that points at the matching entry (or at the chain's NULL end). */
static struct entry **find_link(const struct store *s, const struct key_parts *k)
{
    struct entry **link = &s->buckets[k->hash & (s->nbuckets - 1)];
    while (*link && !entry_matches(*link, k))
        link = &(*link)->next;
    return link;
}

static const char *resource_version(json_t *obj)
{
    return json_string_value(metadata_field(obj, "resourceVersion"));
}

/* Whether new_obj is the version already stored: same resourceVersion, or,
 * for objects that carry none, the same content. */
static bool same_version(json_t *old_obj, json_t *new_obj)
{
    if (old_obj == new_obj)
        return true;
    const char *a = resource_version(old_obj), *b = resource_version(new_obj);
    if (a && b)
        return strcmp(a, b) == 0;
    if (!a && !b)
        return json_equal(old_obj, new_obj) != 0;
    return false;
}

struct store *store_new(const char *kind, const struct store_handlers *handlers)
{
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->kind = strdup(kind ? kind : "object");
    s->order = calloc(1, sizeof(*s->order));
    s->nbuckets = MIN_BUCKETS;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (!s->kind || !s->order || !s->buckets) {
        store_free(s);
        return NULL;
    }
    if (handlers)
        s->h = *handlers;
    return s;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e) {
            struct entry *next = e->next;
            json_decref(e->obj);
            free(e);
            e = next;
        }
    }
    free(s->buckets);
    if (s->order)
        free(s->order->v);
    free(s->order);
    free(s->kind);
    free(s);
}

const char *store_kind(const struct store *s)
{
    return s->kind;
}

size_t store_count(const struct store *s)
{
    return s->count;
}

static void grow(struct store *s)
{
    size_t nb = s->nbuckets * 2;
    struct entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e) {
            struct entry *next = e->next;
            struct entry **head = &b[e->hash & (nb - 1)];
            e->next = *head;
            *head = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

/* Add a new entry at *link (the end of its chain). */
static struct entry *insert(struct store *s, struct entry **link, const struct key_parts *k,
                            json_t *obj)
{
    size_t klen = parts_len(k);
    struct entry *e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        return NULL;
    e->next = NULL;
    e->hash = k->hash;
    e->seen = s->gen;
    e->obj = json_incref(obj);
    e->klen = klen;
    if (k->ns) {
        memcpy(e->key, k->ns, k->nslen);
        e->key[k->nslen] = '/';
        memcpy(e->key + k->nslen + 1, k->name, k->namelen);
    } else {
        memcpy(e->key, k->name, k->namelen);
    }
    e->key[klen] = '\0';
    *link = e;
    s->count++;
    s->order->valid = false;
    if (s->count > s->nbuckets)
        grow(s);
    return e;
}

/* Upsert with the key already worked out. Returns the number of events fired
 * (0 or 1), or -1 when out of memory. */
static int upsert_parts(struct store *s, json_t *obj, const struct key_parts *k)
{
    struct entry **link = find_link(s, k);
    struct entry *e = *link;
    if (!e) {
        e = insert(s, link, k, obj);
        if (!e) {
            log_error("store", "%s: out of memory adding an object", s->kind);
            return -1;
        }
        if (s->h.on_add)
            s->h.on_add(s->h.ud, e->obj);
        return 1;
    }
    e->seen = s->gen;
    if (same_version(e->obj, obj))
        return 0;
    json_t *old_obj = e->obj;
    e->obj = json_incref(obj);
    if (s->h.on_update)
        s->h.on_update(s->h.ud, old_obj, obj);
    json_decref(old_obj);
    return 1;
}

int store_upsert(struct store *s, json_t *obj)
{
    struct key_parts k;
    if (!object_parts(obj, &k))
        return -1;
    return upsert_parts(s, obj, &k) < 0 ? -1 : 0;
}

/* Unlink the entry at *link; the caller fires on_delete and frees it. */
static struct entry *unlink_entry(struct store *s, struct entry **link)
{
    struct entry *e = *link;
    *link = e->next;
    e->next = NULL;
    s->count--;
    s->order->valid = false;
    return e;
}

static void fire_delete_and_free(struct store *s, struct entry *e)
{
    if (s->h.on_delete)
        s->h.on_delete(s->h.ud, e->obj);
    json_decref(e->obj);
    free(e);
}

void store_delete(struct store *s, json_t *obj)
{
    struct key_parts k;
    if (!object_parts(obj, &k))
        return;
    struct entry **link = find_link(s, &k);
    if (*link)
        fire_delete_and_free(s, unlink_entry(s, link));
}

static int cmp_entries(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    return strcmp(x->key, y->key);
}

size_t store_replace(struct store *s, json_t *items)
{
    if (!json_is_array(items)) {
        log_error("store", "%s: re-list without an items array, store left as it was", s->kind);
        return 0;
    }
    s->gen++;
    size_t events = 0, skipped = 0, i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        struct key_parts k;
        if (!object_parts(item, &k)) {
            skipped++;
            continue;
        }
        if (upsert_parts(s, item, &k) > 0)
            events++;
    }
    if (skipped)
        log_warn("store", "%s: re-list had %zu item(s) without metadata.name", s->kind, skipped);

    /* Everything not marked with this generation is gone. */
    size_t ngone = 0;
    for (size_t b = 0; b < s->nbuckets; b++)
        for (const struct entry *e = s->buckets[b]; e; e = e->next)
            ngone += e->seen != s->gen;
    if (!ngone)
        return events;
    struct entry **gone = malloc(ngone * sizeof(*gone));
    size_t n = 0;
    for (size_t b = 0; b < s->nbuckets; b++) {
        struct entry **link = &s->buckets[b];
        while (*link) {
            if ((*link)->seen == s->gen) {
                link = &(*link)->next;
                continue;
            }
            struct entry *e = unlink_entry(s, link);
            if (gone)
                gone[n++] = e;
            else /* no memory to sort: delete in table order */
                fire_delete_and_free(s, e);
            events++;
        }
    }
    if (gone) {
        qsort(gone, n, sizeof(*gone), cmp_entries);
        for (size_t j = 0; j < n; j++)
            fire_delete_and_free(s, gone[j]);
        free(gone);
    }
    return events;
}

json_t *store_get(const struct store *s, const char *ns, const char *name)
{
    struct key_parts k;
    if (!make_parts(ns, name, &k))
        return NULL;
    struct entry *e = *find_link(s, &k);
    return e ? e->obj : NULL;
}

int store_foreach(const struct store *s, store_visit_fn fn, void *ud)
{
    struct order *o = s->order;
    if (!o->valid) {
        if (o->cap < s->count) {
            struct entry **v = realloc(o->v, s->count * sizeof(*v));
            if (!v) {
                log_error("store", "%s: out of memory sorting %zu objects", s->kind, s->count);
                return -1;
            }
            o->v = v;
            o->cap = s->count;
        }
        o->n = 0;
        for (size_t b = 0; b < s->nbuckets; b++)
            for (struct entry *e = s->buckets[b]; e; e = e->next)
                o->v[o->n++] = e;
        if (o->n > 1)
            qsort(o->v, o->n, sizeof(*o->v), cmp_entries);
        o->valid = true;
    }
    for (size_t i = 0; i < o->n; i++) {
        int rc = fn(ud, o->v[i]->obj);
        if (rc)
            return rc;
    }
    return 0;
}

const char *store_key(json_t *obj, char *buf, size_t len)
{
    struct key_parts k;
    if (!buf || !object_parts(obj, &k) || parts_len(&k) >= len)
        return NULL;
    if (k.ns) {
        memcpy(buf, k.ns, k.nslen);
        buf[k.nslen] = '/';
        memcpy(buf + k.nslen + 1, k.name, k.namelen);
    } else {
        memcpy(buf, k.name, k.namelen);
    }
    buf[parts_len(&k)] = '\0';
    return buf;
}
