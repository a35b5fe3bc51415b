/* auth_cache.c - external auth's cache of positive answers (auth_cache.h):
 * a hash table of digests with chaining, and a list in insertion order for
 * eviction, under one mutex. */
#include "spoe/auth_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct entry {
    uint8_t key[AUTH_CACHE_KEY_SIZE];
    double stamp;
    char *blob;
    size_t len;
    struct entry *hnext;         /* bucket chain */
    struct entry *older, *newer; /* insertion order */
};

struct auth_cache {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct entry *oldest, *newest;
    size_t count, bytes, max_entries, max_bytes;
};

struct auth_cache *auth_cache_new(size_t max_entries, size_t max_bytes)
{
    struct auth_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->max_entries = max_entries ? max_entries : 1;
    c->max_bytes = max_bytes ? max_bytes : 1;
    c->nbuckets = 64;
    while (c->nbuckets < c->max_entries && c->nbuckets < ((size_t)1 << 20))
        c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    return c;
}

static size_t bucket_of(const struct auth_cache *c, const uint8_t *key)
{
    size_t h;
    memcpy(&h, key, sizeof(h)); /* the key is a digest: any bytes are uniform */
    return h & (c->nbuckets - 1);
}

static size_t cost(const struct entry *e)
{
    return sizeof(*e) + e->len + 1;
}

static void drop(struct auth_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[bucket_of(c, e->key)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->count--;
    c->bytes -= cost(e);
    free(e->blob);
    free(e);
}

static struct entry *find(struct auth_cache *c, const uint8_t *key)
{
    for (struct entry *e = c->buckets[bucket_of(c, key)]; e; e = e->hnext)
        if (memcmp(e->key, key, AUTH_CACHE_KEY_SIZE) == 0)
            return e;
    return NULL;
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    while (c->oldest)
        drop(c, c->oldest);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void auth_cache_put(struct auth_cache *c, const uint8_t key[AUTH_CACHE_KEY_SIZE], double now,
                    const void *blob, size_t len)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    memcpy(e->key, key, AUTH_CACHE_KEY_SIZE);
    e->stamp = now;
    e->len = len;
    e->blob = xstrndup(blob ? blob : "", len);
    pthread_mutex_lock(&c->lock);
    struct entry *old = find(c, key);
    if (old)
        drop(c, old);
    if (cost(e) > c->max_bytes) {
        pthread_mutex_unlock(&c->lock);
        free(e->blob);
        free(e);
        return;
    }
    while (c->oldest && (c->count >= c->max_entries || c->bytes + cost(e) > c->max_bytes))
        drop(c, c->oldest);
    size_t b = bucket_of(c, key);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->count++;
    c->bytes += cost(e);
    pthread_mutex_unlock(&c->lock);
}

bool auth_cache_get(struct auth_cache *c, const uint8_t key[AUTH_CACHE_KEY_SIZE], double now,
                    unsigned ttl, char **blob, size_t *len)
{
    bool hit = false;
    *blob = NULL;
    *len = 0;
    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, key);
    if (e && (now < e->stamp || now - e->stamp >= (double)ttl)) {
        /* Expired for this TTL; a longer one elsewhere cannot exist, since
         * the key holds the route and its settings. */
        drop(c, e);
        e = NULL;
    }
    if (e) {
        *blob = xstrndup(e->blob, e->len);
        *len = e->len;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

size_t auth_cache_count(struct auth_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
