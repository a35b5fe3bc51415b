/*
 * test_auth_cache.c - external auth's cache of positive answers
 * (spoe/auth_cache.h): hits within the TTL, misses after it or for another
 * key, replacement, eviction of the oldest by count and by bytes, and
 * concurrent use from several threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/auth_cache.h"
#include "test.h"

static void key_of(unsigned n, uint8_t key[AUTH_CACHE_KEY_SIZE])
{
    memset(key, 0, AUTH_CACHE_KEY_SIZE);
    for (int i = 0; i < AUTH_CACHE_KEY_SIZE; i++)
        key[i] = (uint8_t)((n * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)i;
}

static bool get(struct auth_cache *c, unsigned n, double now, unsigned ttl, char *out)
{
    uint8_t key[AUTH_CACHE_KEY_SIZE];
    key_of(n, key);
    char *blob;
    size_t len;
    out[0] = '\0';
    if (!auth_cache_get(c, key, now, ttl, &blob, &len))
        return false;
    CHECK_INT_EQ(strlen(blob), len);
    snprintf(out, 100, "%s", blob);
    free(blob);
    return true;
}

static void put(struct auth_cache *c, unsigned n, double now, const char *blob)
{
    uint8_t key[AUTH_CACHE_KEY_SIZE];
    key_of(n, key);
    auth_cache_put(c, key, now, blob, strlen(blob));
}

static void test_ttl(void)
{
    struct auth_cache *c = auth_cache_new(100, 1 << 20);
    char v[100];
    CHECK(!get(c, 1, 10.0, 5, v));
    put(c, 1, 10.0, "alice\nalice@example.com");
    CHECK(get(c, 1, 10.0, 5, v));
    CHECK_STR_EQ(v, "alice\nalice@example.com");
    CHECK(get(c, 1, 14.9, 5, v));
    CHECK(!get(c, 2, 11.0, 5, v));
    CHECK(!get(c, 1, 15.0, 5, v)); /* expired: dropped */
    CHECK_INT_EQ(auth_cache_count(c), 0);
    CHECK(!get(c, 1, 11.0, 5, v));
    put(c, 1, 20.0, "");
    CHECK(get(c, 1, 20.5, 1, v));
    CHECK_STR_EQ(v, "");
    CHECK(!get(c, 1, 21.0, 1, v)); /* a shorter TTL applies at once */
    put(c, 1, 30.0, "old");
    put(c, 1, 31.0, "new");
    CHECK_INT_EQ(auth_cache_count(c), 1);
    CHECK(get(c, 1, 32.0, 5, v));
    CHECK_STR_EQ(v, "new");
    CHECK(!get(c, 1, 29.0, 5, v)); /* a clock going back is a miss */
    CHECK(!get(c, 1, 40.0, 0, v));
    auth_cache_free(c);
    auth_cache_free(NULL);
}

static void test_bounds(void)
{
    struct auth_cache *c = auth_cache_new(3, 1 << 20);
    char v[100];
    put(c, 1, 1.0, "a");
    put(c, 2, 2.0, "b");
    put(c, 3, 3.0, "c");
    put(c, 4, 4.0, "d");
    CHECK_INT_EQ(auth_cache_count(c), 3);
    CHECK(!get(c, 1, 4.0, 60, v)); /* the oldest went */
    CHECK(get(c, 2, 4.0, 60, v) && get(c, 3, 4.0, 60, v) && get(c, 4, 4.0, 60, v));
    auth_cache_free(c);

    /* By bytes: a big entry pushes the oldest out; one over the limit is
     * not kept at all. */
    c = auth_cache_new(1000, 400);
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    put(c, 1, 1.0, "a");
    put(c, 2, 2.0, "b");
    put(c, 3, 3.0, big);
    CHECK(get(c, 3, 3.0, 60, v));
    CHECK(!get(c, 1, 3.0, 60, v));
    char huge[600];
    memset(huge, 'y', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    put(c, 4, 4.0, huge);
    CHECK(!get(c, 4, 4.0, 60, v));
    CHECK(get(c, 3, 4.0, 60, v));
    auth_cache_free(c);
}

static struct auth_cache *shared;

static void *worker(void *arg)
{
    unsigned base = (unsigned)(size_t)arg * 1000;
    char v[100];
    for (unsigned i = 0; i < 2000; i++) {
        put(shared, base + i % 300, (double)i, "v");
        get(shared, base + (i * 7) % 300, (double)i, 100, v);
    }
    return NULL;
}

static void test_threads(void)
{
    shared = auth_cache_new(256, 1 << 20);
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (size_t i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(auth_cache_count(shared) <= 256);
    CHECK(auth_cache_count(shared) > 0);
    auth_cache_free(shared);
}

TEST_MAIN(TEST_CASE(test_ttl), TEST_CASE(test_bounds), TEST_CASE(test_threads))
