/*
 * test_dns_cache.c - names resolved off the loop: the first lookup starts a
 * thread and returns nothing, the answer arrives through the loop and fires
 * on_change, later lookups return it; a name that does not resolve gives no
 * address; freeing with a lookup in flight is safe.
 */
#include <string.h>

#include <ev.h>

#include "test.h"
#include "util/dns_cache.h"

static int changes;

static void on_change(void *ud)
{
    (void)ud;
    changes++;
}

static void wake(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* Runs the loop until *flag or 10 s. */
static void run_until(struct ev_loop *loop, const int *flag, int want)
{
    ev_timer t;
    ev_timer_init(&t, wake, 0.05, 0.05);
    ev_timer_start(loop, &t);
    double end = ev_time() + 10;
    while (*flag < want && ev_time() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
}

static void test_localhost(void)
{
    struct ev_loop *loop = ev_default_loop(0);
    changes = 0;
    struct dns_cache *c = dns_cache_new(loop, 30, on_change, NULL);
    char addrs[4][DNS_ADDR_MAX];
    CHECK_INT_EQ(dns_cache_lookup(c, "localhost", addrs, 4), 0);
    run_until(loop, &changes, 1);
    CHECK_INT_EQ(changes, 1);
    size_t n = dns_cache_lookup(c, "localhost", addrs, 4);
    CHECK(n >= 1);
    int loopback = 0;
    for (size_t i = 0; i < n; i++)
        loopback += strcmp(addrs[i], "127.0.0.1") == 0 || strcmp(addrs[i], "::1") == 0;
    CHECK_INT_EQ(loopback, (int)n);
    dns_cache_free(c);
}

static void test_unresolvable_and_free_in_flight(void)
{
    struct ev_loop *loop = ev_default_loop(0);
    struct dns_cache *c = dns_cache_new(loop, 30, on_change, NULL);
    char addrs[4][DNS_ADDR_MAX];
    CHECK_INT_EQ(dns_cache_lookup(c, "no-such-host.invalid", addrs, 4), 0);
    CHECK_INT_EQ(dns_cache_lookup(c, "localhost", addrs, 4), 0);
    dns_cache_free(c); /* the threads finish on their own */
}

TEST_MAIN(TEST_CASE(test_localhost), TEST_CASE(test_unresolvable_and_free_in_flight))
