/* test_leader.c - leader election against a scripted Lease endpoint with optimistic
 * concurrency (409 on a stale resourceVersion): create when absent, renew, take over an
 * expired lease, leave a live one alone, 409 races, step down after the renew deadline or
 * when another replica holds the lease, release, and two electors on one lease. */
#include <stdlib.h>
#include <time.h>

#include "fake_kube_api.h"
#include "kube/leader.h"
#include "test.h"

#define LEASE_PATH  "/apis/coordination.k8s.io/v1/namespaces/ns/leases/lock"
#define LEASES_PATH "/apis/coordination.k8s.io/v1/namespaces/ns/leases"

struct api {
    struct fake_kube k; /* the API server and the client */
    json_t *lease;      /* what the server holds, or NULL */
    long rv;
    /* knobs */
    int fail_status;     /* answer everything with this (0 = behave) */
    bool hang;           /* answer nothing */
    bool race_next_put;  /* before the next PUT lands, "other" renews the lease */
    const char *renewer; /* a holder that renews the lease every 0.3 s */
    ev_timer renew_timer;
    /* what it saw */
    int gets, posts, puts, conflicts;
    json_t *last_put; /* body of the last PUT */
};

struct elector {
    struct leader *l;
    int started, stopped, released;
    char holders[8][64];
    int n_holders;
    double started_at, stopped_at;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_started(void *ud)
{
    struct elector *e = ud;
    e->started++;
    e->started_at = now_s();
}

static void on_stopped(void *ud)
{
    struct elector *e = ud;
    e->stopped++;
    e->stopped_at = now_s();
}

static void on_new_leader(void *ud, const char *id)
{
    struct elector *e = ud;
    if (e->n_holders < 8)
        snprintf(e->holders[e->n_holders++], sizeof(e->holders[0]), "%s", id);
}

static void on_released(void *ud)
{
    ((struct elector *)ud)->released++;
}

static const char *lease_str(const json_t *lease, const char *key)
{
    return json_string_value(json_object_get(json_object_get(lease, "spec"), key));
}

static long lease_int(const json_t *lease, const char *key)
{
    return (long)json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

static void bump_rv(struct api *a)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%ld", ++a->rv);
    json_object_set_new(json_object_get(a->lease, "metadata"), "resourceVersion", json_string(rv));
}

/* "other" (or the renewer) writes the lease: a new record, a new resourceVersion. */
static void other_writes(struct api *a, const char *holder)
{
    json_t *spec = json_object_get(a->lease, "spec");
    char t[40];
    snprintf(t, sizeof(t), "2026-01-01T00:00:%02ld.000000Z", a->rv % 60);
    json_object_set_new(spec, "holderIdentity", json_string(holder));
    json_object_set_new(spec, "renewTime", json_string(t));
    bump_rv(a);
}

static void put_lease(struct api *a, const char *holder, long duration)
{
    json_decref(a->lease);
    a->lease =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:I}}", "apiVersion",
                  "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "lock",
                  "namespace", "ns", "spec", "holderIdentity", holder, "leaseDurationSeconds",
                  (json_int_t)duration, "acquireTime", "2026-01-01T00:00:00.000000Z", "renewTime",
                  "2026-01-01T00:00:00.000000Z", "leaseTransitions", (json_int_t)0);
    bump_rv(a);
}

static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    struct api *a = ud;
    if (fake_kube_fault(c, a->hang, a->fail_status))
        return;
    bool one = strcmp(req->target, LEASE_PATH) == 0;
    if (strcmp(req->method, "GET") == 0 && one) {
        a->gets++;
        if (a->lease)
            fake_respond_json(c, 200, a->lease);
        else
            fake_respond_status(c, 404, "NotFound");
    } else if (strcmp(req->method, "POST") == 0 && strcmp(req->target, LEASES_PATH) == 0) {
        a->posts++;
        if (a->lease) {
            fake_respond_status(c, 409, "AlreadyExists");
            return;
        }
        a->lease = json_loads(req->body, 0, NULL);
        bump_rv(a);
        fake_respond_json(c, 201, a->lease);
    } else if (strcmp(req->method, "PUT") == 0 && one) {
        a->puts++;
        json_t *body = json_loads(req->body, 0, NULL);
        json_decref(a->last_put);
        a->last_put = json_incref(body);
        if (a->race_next_put) {
            a->race_next_put = false;
            other_writes(a, "other");
        }
        const char *rv = json_string_value(
            json_object_get(json_object_get(body, "metadata"), "resourceVersion"));
        const char *have = json_string_value(
            json_object_get(json_object_get(a->lease, "metadata"), "resourceVersion"));
        if (!a->lease || !rv || !have || strcmp(rv, have) != 0) {
            a->conflicts++;
            json_decref(body);
            fake_respond_status(c, 409, "Conflict");
            return;
        }
        json_decref(a->lease);
        a->lease = body;
        bump_rv(a);
        fake_respond_json(c, 200, a->lease);
    } else {
        fake_respond_status(c, 404, "NotFound");
    }
}

static void renew_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct api *a = w->data;
    if (a->renewer && a->lease)
        other_writes(a, a->renewer);
}

static void setup(struct api *a)
{
    memset(a, 0, sizeof(*a));
    CHECK(fake_kube_start(&a->k, handler, NULL, a) == 0);
    ev_timer_init(&a->renew_timer, renew_cb, 0.3, 0.3);
    a->renew_timer.data = a;
    ev_timer_start(a->k.loop, &a->renew_timer);
}

static void teardown(struct api *a)
{
    ev_timer_stop(a->k.loop, &a->renew_timer);
    fake_kube_stop(&a->k);
    json_decref(a->lease);
    json_decref(a->last_put);
}

/* lease 3 s, renew deadline 1 s, retry 0.1 s: quick, and well inside the ratios. */
static void elector_start(struct api *a, struct elector *e, const char *id)
{
    memset(e, 0, sizeof(*e));
    const struct leader_config cfg = {
        .namespace = "ns",
        .name = "lock",
        .identity = id,
        .lease_duration = 3,
        .renew_deadline = 1,
        .retry_period = 0.1,
        .cb = {on_started, on_stopped, on_new_leader, e},
    };
    e->l = leader_new(a->k.loop, a->k.http, &cfg);
    CHECK(e->l != NULL);
    if (e->l)
        leader_start(e->l);
}

static bool micro_time_ok(const char *t)
{
    /* 2026-01-01T00:00:00.000000Z */
    return t && strlen(t) == 27 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[26] == 'Z';
}

static void test_create_when_absent(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    CHECK_INT_EQ(e.started, 1);
    CHECK(leader_is_leader(e.l));
    CHECK_STR_EQ(leader_holder(e.l), "me");
    CHECK_INT_EQ(a.posts, 1);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "me");
    CHECK_INT_EQ(lease_int(a.lease, "leaseDurationSeconds"), 3);
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 0);
    CHECK(micro_time_ok(lease_str(a.lease, "acquireTime")));
    CHECK(micro_time_ok(lease_str(a.lease, "renewTime")));
    CHECK_INT_EQ(e.n_holders, 1);
    CHECK_STR_EQ(e.holders[0], "me");
    json_t *dbg = leader_debug_json(e.l);
    CHECK(json_is_true(json_object_get(dbg, "leader")));
    CHECK_STR_EQ(json_string_value(json_object_get(dbg, "holder")), "me");
    CHECK_STR_EQ(json_string_value(json_object_get(dbg, "lease")), "ns/lock");
    json_decref(dbg);
    leader_free(e.l);
    teardown(&a);
}

static void test_renew(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    char acquired[40];
    snprintf(acquired, sizeof(acquired), "%s", lease_str(a.lease, "acquireTime"));
    int gets = a.gets;
    RUN_UNTIL(a.k.loop, a.puts >= 5, 5);
    CHECK(a.puts >= 5);
    CHECK_INT_EQ(a.gets, gets); /* renewals go straight to PUT */
    CHECK_INT_EQ(a.conflicts, 0);
    CHECK(leader_is_leader(e.l));
    CHECK_INT_EQ(e.started, 1);
    CHECK_INT_EQ(e.stopped, 0);
    CHECK_STR_EQ(lease_str(a.lease, "acquireTime"), acquired);
    CHECK(micro_time_ok(lease_str(a.lease, "renewTime")));
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 0);
    leader_free(e.l);
    teardown(&a);
}

static void test_take_over_expired_lease(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    put_lease(&a, "other", 1); /* nobody renews it */
    double t0 = now_s();
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.n_holders >= 1, 5);
    CHECK_INT_EQ(e.started, 0); /* first seen now: valid for 1 s by our clock */
    RUN_UNTIL(a.k.loop, e.started, 5);
    CHECK_INT_EQ(e.started, 1);
    CHECK(e.started_at - t0 >= 0.9);
    CHECK(e.started_at - t0 < 2.0);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "me");
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 1);
    CHECK_INT_EQ(lease_int(a.lease, "leaseDurationSeconds"), 3);
    CHECK_INT_EQ(e.n_holders, 2);
    CHECK_STR_EQ(e.holders[0], "other");
    CHECK_STR_EQ(e.holders[1], "me");
    leader_free(e.l);
    teardown(&a);
}

static void test_live_lease_is_left_alone(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    put_lease(&a, "other", 1);
    a.renewer = "other"; /* renews every 0.3 s, well inside 1 s */
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, false, 1.6);
    CHECK_INT_EQ(e.started, 0);
    CHECK(!leader_is_leader(e.l));
    CHECK_STR_EQ(leader_holder(e.l), "other");
    CHECK_INT_EQ(a.puts, 0);
    CHECK(a.gets >= 8);
    /* The other replica dies: the lease is ours about 1 s after its last renewal. */
    a.renewer = NULL;
    double t0 = now_s();
    RUN_UNTIL(a.k.loop, e.started, 5);
    CHECK_INT_EQ(e.started, 1);
    CHECK(e.started_at - t0 < 1.6);
    leader_free(e.l);
    teardown(&a);
}

static void test_conflict_means_lost_race(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    put_lease(&a, "other", 1);
    a.race_next_put = true; /* "other" renews just before our takeover lands */
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, a.conflicts >= 1, 5);
    CHECK_INT_EQ(a.conflicts, 1);
    CHECK_INT_EQ(e.started, 0);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "other");
    /* The record changed under us: a fresh second of waiting before the next takeover. */
    double t0 = now_s();
    int puts = a.puts;
    RUN_UNTIL(a.k.loop, e.started, 5);
    CHECK_INT_EQ(e.started, 1);
    CHECK(e.started_at - t0 >= 0.8);
    CHECK_INT_EQ(a.puts, puts + 1);
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 1);
    leader_free(e.l);
    teardown(&a);
}

static void test_two_electors_one_leader(void)
{
    struct api a;
    struct elector e1, e2;
    setup(&a);
    elector_start(&a, &e1, "one");
    elector_start(&a, &e2, "two");
    RUN_UNTIL(a.k.loop, e1.started || e2.started, 5);
    RUN_UNTIL(a.k.loop, false, 0.6);
    CHECK_INT_EQ(e1.started + e2.started, 1);
    CHECK(leader_is_leader(e1.l) != leader_is_leader(e2.l));
    const char *winner = leader_is_leader(e1.l) ? "one" : "two";
    CHECK_STR_EQ(leader_holder(e1.l), winner);
    CHECK_STR_EQ(leader_holder(e2.l), winner);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), winner);
    leader_free(e1.l);
    leader_free(e2.l);
    teardown(&a);
}

static void test_step_down_after_renew_deadline(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    a.fail_status = 500;
    double t0 = now_s();
    RUN_UNTIL(a.k.loop, e.stopped, 5);
    CHECK_INT_EQ(e.stopped, 1);
    CHECK(e.stopped_at - t0 >= 0.8); /* renew deadline 1 s after the last success */
    CHECK(e.stopped_at - t0 < 1.5);
    CHECK(!leader_is_leader(e.l));
    /* The API server comes back, the lease is still ours: leading again. */
    a.fail_status = 0; // cppcheck-suppress redundantAssignment ; the handler reads it
    RUN_UNTIL(a.k.loop, e.started == 2, 5);
    CHECK_INT_EQ(e.started, 2);
    leader_free(e.l);
    teardown(&a);
}

static void test_step_down_when_requests_hang(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    a.hang = true;
    double t0 = now_s();
    RUN_UNTIL(a.k.loop, e.stopped, 5);
    CHECK_INT_EQ(e.stopped, 1);
    CHECK(e.stopped_at - t0 < 1.5);
    leader_free(e.l);
    teardown(&a);
}

static void test_step_down_when_lease_is_taken(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    other_writes(&a, "thief"); /* our next renewal is stale: 409, GET, a live foreign lease */
    RUN_UNTIL(a.k.loop, e.stopped, 5);
    CHECK_INT_EQ(e.stopped, 1);
    CHECK(a.conflicts >= 1);
    CHECK_STR_EQ(leader_holder(e.l), "thief");
    CHECK_STR_EQ(e.holders[e.n_holders - 1], "thief");
    leader_free(e.l);
    teardown(&a);
}

static void test_release(void)
{
    struct api a;
    struct elector e, e2;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    leader_release(e.l, on_released, &e);
    CHECK_INT_EQ(e.stopped, 1); /* at once */
    CHECK(!leader_is_leader(e.l));
    RUN_UNTIL(a.k.loop, e.released, 5);
    CHECK_INT_EQ(e.released, 1);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "");
    CHECK_INT_EQ(lease_int(a.lease, "leaseDurationSeconds"), 1);
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 0);
    /* Stopped: no more requests; a second release just reports done. */
    int n = a.gets + a.puts + a.posts;
    RUN_UNTIL(a.k.loop, false, 0.3);
    CHECK_INT_EQ(a.gets + a.puts + a.posts, n);
    leader_release(e.l, on_released, &e);
    CHECK_INT_EQ(e.released, 2);
    /* Another replica takes the released lease at its first try. */
    double t0 = now_s();
    elector_start(&a, &e2, "next");
    RUN_UNTIL(a.k.loop, e2.started, 5);
    CHECK_INT_EQ(e2.started, 1);
    CHECK(e2.started_at - t0 < 0.5);
    CHECK_INT_EQ(lease_int(a.lease, "leaseTransitions"), 1);
    CHECK_INT_EQ(e.stopped, 1);
    CHECK_INT_EQ(e.started, 1);
    leader_free(e.l);
    leader_free(e2.l);
    teardown(&a);
}

static void test_release_after_cancelled_renewal(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.started, 5);
    /* A renewal landed that we never heard about: our resourceVersion is stale. */
    bump_rv(&a);
    leader_release(e.l, on_released, &e);
    RUN_UNTIL(a.k.loop, e.released, 5);
    CHECK_INT_EQ(e.released, 1);
    CHECK_INT_EQ(a.conflicts, 1);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "");
    leader_free(e.l);
    teardown(&a);
}

static void test_release_when_not_leading(void)
{
    struct api a;
    struct elector e;
    setup(&a);
    put_lease(&a, "other", 15);
    elector_start(&a, &e, "me");
    RUN_UNTIL(a.k.loop, e.n_holders >= 1, 5);
    leader_release(e.l, on_released, &e);
    CHECK_INT_EQ(e.released, 1); /* nothing to release: done at once */
    CHECK_INT_EQ(e.stopped, 0);
    RUN_UNTIL(a.k.loop, false, 0.3);
    CHECK_INT_EQ(a.puts, 0);
    CHECK_STR_EQ(lease_str(a.lease, "holderIdentity"), "other");
    leader_free(e.l);
    teardown(&a);
}

static void test_config_validation(void)
{
    struct api a;
    setup(&a);
    struct leader_config cfg = {.namespace = "ns", .name = "lock", .identity = "me"};
    struct leader *l = leader_new(a.k.loop, a.k.http, &cfg);
    CHECK(l != NULL); /* defaults 15/10/2 */
    leader_free(l);
    cfg.lease_duration = 4; /* derived: 2.67 / 0.53 */
    l = leader_new(a.k.loop, a.k.http, &cfg);
    CHECK(l != NULL);
    leader_free(l);
    cfg.renew_deadline = 5; /* >= lease */
    CHECK(leader_new(a.k.loop, a.k.http, &cfg) == NULL);
    cfg.renew_deadline = 0;
    cfg.identity = "";
    CHECK(leader_new(a.k.loop, a.k.http, &cfg) == NULL);
    char id[128];
    leader_default_identity(id, sizeof(id));
    CHECK(strchr(id, '_') != NULL);
    teardown(&a);
}

TEST_MAIN(TEST_CASE(test_create_when_absent), TEST_CASE(test_renew),
          TEST_CASE(test_take_over_expired_lease), TEST_CASE(test_live_lease_is_left_alone),
          TEST_CASE(test_conflict_means_lost_race), TEST_CASE(test_two_electors_one_leader),
          TEST_CASE(test_step_down_after_renew_deadline),
          TEST_CASE(test_step_down_when_requests_hang),
          TEST_CASE(test_step_down_when_lease_is_taken), TEST_CASE(test_release),
          TEST_CASE(test_release_after_cancelled_renewal), TEST_CASE(test_release_when_not_leading),
          TEST_CASE(test_config_validation))
