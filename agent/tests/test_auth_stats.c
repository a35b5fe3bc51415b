/*
 * test_auth_stats.c - the per-Ingress auth counters behind
 * spoke_auth_decisions_total: one counter per Ingress whatever the number
 * of lookups, listed sorted, and exact under concurrent counting from
 * several threads (as SPOE workers and the external auth thread do).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/auth_stats.h"
#include "test.h"

struct listing {
    char names[8][32];
    uint64_t allowed[8], denied[8];
    int n;
};

static void collect(void *ud, const char *ingress, uint64_t allowed, uint64_t denied)
{
    struct listing *l = ud;
    if (l->n < 8) {
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", ingress);
        l->allowed[l->n] = allowed;
        l->denied[l->n] = denied;
    }
    l->n++;
}

static void test_one_counter_per_ingress_sorted(void)
{
    struct auth_stats *s = auth_stats_new();
    struct auth_counter *b = auth_stats_counter(s, "shop/b");
    struct auth_counter *a = auth_stats_counter(s, "shop/a");
    CHECK(auth_stats_counter(s, "shop/b") == b); /* a new snapshot finds the same one */
    auth_counter_count(a, true);
    auth_counter_count(a, false);
    auth_counter_count(a, false);
    auth_counter_count(b, true);
    auth_counter_count(NULL, true); /* not counted, no crash */
    struct listing l = {0};
    auth_stats_foreach(s, collect, &l);
    CHECK_INT_EQ(l.n, 2);
    CHECK_STR_EQ(l.names[0], "shop/a");
    CHECK_INT_EQ(l.allowed[0], 1);
    CHECK_INT_EQ(l.denied[0], 2);
    CHECK_STR_EQ(l.names[1], "shop/b");
    CHECK_INT_EQ(l.allowed[1], 1);
    CHECK_INT_EQ(l.denied[1], 0);
    auth_stats_free(s);
    auth_stats_free(NULL);
}

#define THREADS    4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
    struct auth_counter *c = arg;
    for (int i = 0; i < PER_THREAD; i++)
        auth_counter_count(c, i % 4 != 0);
    return NULL;
}

static void test_concurrent_counts_are_exact(void)
{
    struct auth_stats *s = auth_stats_new();
    struct auth_counter *c = auth_stats_counter(s, "ns/ing");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK_INT_EQ(pthread_create(&t[i], NULL, hammer, c), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    struct listing l = {0};
    auth_stats_foreach(s, collect, &l);
    CHECK_INT_EQ(l.n, 1);
    CHECK_INT_EQ(l.allowed[0], THREADS * PER_THREAD * 3 / 4);
    CHECK_INT_EQ(l.denied[0], THREADS * PER_THREAD / 4);
    auth_stats_free(s);
}

TEST_MAIN(TEST_CASE(test_one_counter_per_ingress_sorted),
          TEST_CASE(test_concurrent_counts_are_exact))
