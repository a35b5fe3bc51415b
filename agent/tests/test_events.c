/* test_events.c - the Event recorder against a scripted events endpoint: the
 * created Event's fields, repeats folded into a PATCH of count, coalescing
 * while a request is in flight, the 10-minute window, a 404 on PATCH creating
 * the Event again, the per-object rate limit, message sanitising, cluster-
 * scoped and invalid objects, and freeing with requests in flight. */
#include <jansson.h>
#include <stdlib.h>

#include "fake_kube_api.h"
#include "kube/events.h"
#include "test.h"

#define EVENTS_PATH "/api/v1/namespaces/ns/events"

struct api {
    struct fake_kube k; /* the API server and the client */
    json_t *events;     /* name -> Event, what the server holds */
    bool hang;          /* answer nothing */
    int fail_status;    /* answer everything with this (0 = behave) */
    int posts, patches, not_found;
    time_t now; /* the recorder's clock */
};

static time_t fake_now(void *ud)
{
    return ((struct api *)ud)->now;
}

static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    struct api *a = ud;
    if (fake_kube_fault(c, a->hang, a->fail_status))
        return;
    size_t plen = strlen(EVENTS_PATH);
    if (strcmp(req->method, "POST") == 0 && strcmp(req->target, EVENTS_PATH) == 0) {
        a->posts++;
        json_t *ev = json_loads(req->body, 0, NULL);
        const char *name =
            json_string_value(json_object_get(json_object_get(ev, "metadata"), "name"));
        if (!ev || !name) {
            json_decref(ev);
            fake_respond_status(c, 400, "BadRequest");
            return;
        }
        if (json_object_get(a->events, name)) {
            json_decref(ev);
            fake_respond_status(c, 409, "AlreadyExists");
            return;
        }
        json_object_set(a->events, name, ev);
        fake_respond_json(c, 201, ev);
        json_decref(ev);
    } else if (strcmp(req->method, "PATCH") == 0 && strncmp(req->target, EVENTS_PATH, plen) == 0 &&
               req->target[plen] == '/') {
        a->patches++;
        json_t *ev = json_object_get(a->events, req->target + plen + 1);
        json_t *patch = json_loads(req->body, 0, NULL);
        if (!ev) {
            a->not_found++;
            json_decref(patch);
            fake_respond_status(c, 404, "NotFound");
            return;
        }
        json_object_update(ev, patch);
        json_decref(patch);
        fake_respond_json(c, 200, ev);
    } else {
        fake_respond_status(c, 404, "NotFound");
    }
}

static void setup(struct api *a)
{
    memset(a, 0, sizeof(*a));
    CHECK(fake_kube_start(&a->k, handler, NULL, a) == 0);
    a->events = json_object();
    a->now = 1767225600; /* 2026-01-01T00:00:00Z */
}

static void teardown(struct api *a)
{
    fake_kube_stop(&a->k);
    json_decref(a->events);
}

/* The handler reads it (cppcheck does not see through the callback). */
static void fail_with(struct api *a, int status)
{
    a->fail_status = status;
}

static struct event_recorder *recorder(struct api *a)
{
    struct event_recorder *r = event_recorder_new(a->k.http, "spoke", "node-1");
    event_recorder_set_clock(r, fake_now, a);
    return r;
}

static void invalid(struct event_recorder *r, const char *name, const char *message)
{
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", name, "uid-1", "Warning",
                 "InvalidAnnotation", message);
}

static const struct fake_request *last_req(struct api *a)
{
    return a->k.srv.nreqs ? a->k.srv.reqs[a->k.srv.nreqs - 1] : NULL;
}

static const char *str_at(const json_t *o, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(o, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

/* The only Event the server holds (borrowed), or NULL. */
static json_t *only_event(struct api *a)
{
    if (json_object_size(a->events) != 1)
        return NULL;
    void *it = json_object_iter(a->events);
    return json_object_iter_value(it);
}

static void test_create_fields(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    invalid(r, "web", "spoke.dev/load-balance: must be roundrobin, leastconn, source or random");
    RUN_UNTIL(a.k.loop, a.posts == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 1);
    const struct fake_request *req = last_req(&a);
    char ct[64];
    CHECK(req && fake_header(req, "Content-Type", ct, sizeof(ct)) &&
          strcmp(ct, "application/json") == 0);
    json_t *ev = only_event(&a);
    CHECK(ev != NULL);
    CHECK_STR_EQ(str_at(ev, "apiVersion", NULL), "v1");
    CHECK_STR_EQ(str_at(ev, "kind", NULL), "Event");
    CHECK_STR_EQ(str_at(ev, "metadata", "namespace"), "ns");
    const char *name = str_at(ev, "metadata", "name");
    CHECK(name && strlen(name) == strlen("web.") + 16 && strncmp(name, "web.", 4) == 0);
    CHECK(name && strspn(name + 4, "0123456789abcdef") == 16);
    CHECK_STR_EQ(str_at(ev, "involvedObject", "kind"), "Ingress");
    CHECK_STR_EQ(str_at(ev, "involvedObject", "apiVersion"), "networking.k8s.io/v1");
    CHECK_STR_EQ(str_at(ev, "involvedObject", "namespace"), "ns");
    CHECK_STR_EQ(str_at(ev, "involvedObject", "name"), "web");
    CHECK_STR_EQ(str_at(ev, "involvedObject", "uid"), "uid-1");
    CHECK_STR_EQ(str_at(ev, "reason", NULL), "InvalidAnnotation");
    CHECK_STR_EQ(str_at(ev, "message", NULL),
                 "spoke.dev/load-balance: must be roundrobin, leastconn, source or random");
    CHECK_STR_EQ(str_at(ev, "type", NULL), "Warning");
    CHECK_STR_EQ(str_at(ev, "source", "component"), "spoke");
    CHECK_STR_EQ(str_at(ev, "source", "host"), "node-1");
    CHECK_STR_EQ(str_at(ev, "reportingComponent", NULL), "spoke");
    CHECK_STR_EQ(str_at(ev, "reportingInstance", NULL), "node-1");
    CHECK_STR_EQ(str_at(ev, "firstTimestamp", NULL), "2026-01-01T00:00:00Z");
    CHECK_STR_EQ(str_at(ev, "lastTimestamp", NULL), "2026-01-01T00:00:00Z");
    CHECK_INT_EQ(json_integer_value(json_object_get(ev, "count")), 1);

    /* no uid: none sent; a Normal event keeps its type */
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", "other", NULL, "Normal", "Sync", "ok");
    RUN_UNTIL(a.k.loop, a.posts == 2 && kube_http_active(a.k.http) == 0, 5);
    json_t *posted = json_loads(last_req(&a)->body, 0, NULL);
    CHECK(json_object_get(json_object_get(posted, "involvedObject"), "uid") == NULL);
    CHECK_STR_EQ(str_at(posted, "type", NULL), "Normal");
    json_decref(posted);

    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.created, 2);
    CHECK_INT_EQ(st.failed, 0);
    event_recorder_free(r);
    teardown(&a);
}

static void test_dedupe_patch(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    invalid(r, "web", "bad value");
    RUN_UNTIL(a.k.loop, a.posts == 1 && kube_http_active(a.k.http) == 0, 5);
    char name[300];
    snprintf(name, sizeof(name), "%s", str_at(only_event(&a), "metadata", "name"));

    a.now += 30;
    invalid(r, "web", "bad value");
    RUN_UNTIL(a.k.loop, a.patches == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 1);
    CHECK_INT_EQ(a.patches, 1);
    const struct fake_request *req = last_req(&a);
    char ct[64], path[400];
    snprintf(path, sizeof(path), EVENTS_PATH "/%s", name);
    CHECK_STR_EQ(req->method, "PATCH");
    CHECK_STR_EQ(req->target, path);
    CHECK_STR_EQ(fake_header(req, "Content-Type", ct, sizeof(ct)), "application/merge-patch+json");
    json_t *patch = json_loads(req->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(patch, "count")), 2);
    CHECK_STR_EQ(str_at(patch, "lastTimestamp", NULL), "2026-01-01T00:00:30Z");
    CHECK(json_object_get(patch, "message") == NULL);
    json_decref(patch);
    json_t *ev = only_event(&a);
    CHECK_INT_EQ(json_integer_value(json_object_get(ev, "count")), 2);
    CHECK_STR_EQ(str_at(ev, "firstTimestamp", NULL), "2026-01-01T00:00:00Z");

    /* another message, type or object is another Event */
    invalid(r, "web", "another bad value");
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", "web", "uid-1", "Normal",
                 "InvalidAnnotation", "bad value");
    invalid(r, "web2", "bad value");
    RUN_UNTIL(a.k.loop, a.posts == 4 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 4);
    CHECK_INT_EQ(a.patches, 1);

    /* three repeats while a request is in flight: one POST, then one PATCH of 3 */
    invalid(r, "coalesce", "x");
    invalid(r, "coalesce", "x");
    invalid(r, "coalesce", "x");
    RUN_UNTIL(a.k.loop, a.patches == 2 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 5);
    CHECK_INT_EQ(a.patches, 2);
    patch = json_loads(last_req(&a)->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(patch, "count")), 3);
    json_decref(patch);

    /* more than 10 minutes after the last occurrence: a new Event */
    a.now += 601;
    invalid(r, "web", "bad value");
    RUN_UNTIL(a.k.loop, a.posts == 6 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 6);
    CHECK_INT_EQ(a.patches, 2);
    json_t *posted = json_loads(last_req(&a)->body, 0, NULL);
    CHECK(strcmp(str_at(posted, "metadata", "name"), name) != 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(posted, "count")), 1);
    json_decref(posted);

    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.created, 6);
    CHECK_INT_EQ(st.patched, 2);
    CHECK_INT_EQ(st.recorded, 9);
    event_recorder_free(r);
    teardown(&a);
}

static void test_patch_404_recreates(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    invalid(r, "web", "missing Service ns/backend");
    RUN_UNTIL(a.k.loop, a.posts == 1 && kube_http_active(a.k.http) == 0, 5);
    char name[300];
    snprintf(name, sizeof(name), "%s", str_at(only_event(&a), "metadata", "name"));
    json_object_clear(a.events); /* garbage-collected */

    a.now += 60;
    invalid(r, "web", "missing Service ns/backend");
    RUN_UNTIL(a.k.loop, a.posts == 2 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.not_found, 1);
    CHECK_INT_EQ(a.posts, 2);
    json_t *ev = only_event(&a);
    CHECK(ev != NULL);
    CHECK_STR_EQ(str_at(ev, "metadata", "name"), name);
    CHECK_INT_EQ(json_integer_value(json_object_get(ev, "count")), 2);
    CHECK_STR_EQ(str_at(ev, "lastTimestamp", NULL), "2026-01-01T00:01:00Z");
    CHECK_STR_EQ(str_at(ev, "message", NULL), "missing Service ns/backend");

    /* and the next repeat patches the new one */
    invalid(r, "web", "missing Service ns/backend");
    RUN_UNTIL(a.k.loop, a.patches == 2 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(only_event(&a), "count")), 3);

    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.created, 2);
    CHECK_INT_EQ(st.patched, 1);
    CHECK_INT_EQ(st.failed, 0);
    event_recorder_free(r);
    teardown(&a);
}

static void test_rate_limit(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    char msg[64];
    for (int i = 0; i < 15; i++) {
        snprintf(msg, sizeof(msg), "problem %d", i);
        invalid(r, "web", msg);
    }
    RUN_UNTIL(a.k.loop, a.posts == 10 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 10);
    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.dropped, 5);

    /* another object has its own budget */
    invalid(r, "web2", "problem 0");
    RUN_UNTIL(a.k.loop, a.posts == 11 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 11);

    /* a repeat beyond the limit is counted and goes out with the next patch */
    invalid(r, "web", "problem 0");
    ev_run(a.k.loop, EVRUN_NOWAIT);
    CHECK_INT_EQ(a.patches, 0);
    a.now += 6; /* one token */
    invalid(r, "web", "problem 0");
    RUN_UNTIL(a.k.loop, a.patches == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.patches, 1);
    json_t *patch = json_loads(last_req(&a)->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(patch, "count")), 3);
    json_decref(patch);

    /* a minute later the bucket is full again */
    a.now += 60;
    for (int i = 20; i < 35; i++) {
        snprintf(msg, sizeof(msg), "problem %d", i);
        invalid(r, "web", msg);
    }
    RUN_UNTIL(a.k.loop, a.posts == 21 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 21);
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.dropped, 10);
    event_recorder_free(r);
    teardown(&a);
}

static void test_sanitize(void)
{
    char out[EVENT_MESSAGE_MAX + 1];
    event_sanitize_message("line1\nline2\r\tend", out);
    CHECK_STR_EQ(out, "line1 line2  end");
    event_sanitize_message("bad \xff\xfe utf8 \xc3\x28 overlong \xc0\xaf cut \xe2\x82", out);
    CHECK_STR_EQ(out, "bad ?? utf8 ?( overlong ?? cut ??");
    event_sanitize_message("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out);
    CHECK_STR_EQ(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    event_sanitize_message("surrogate \xed\xa0\x80 c1 \xc2\x85 del \x7f", out);
    CHECK_STR_EQ(out, "surrogate ??? c1   del  ");
    event_sanitize_message(NULL, out);
    CHECK_STR_EQ(out, "");

    /* exactly the limit fits; one more is cut with "..." */
    char big[5000];
    memset(big, 'a', EVENT_MESSAGE_MAX);
    big[EVENT_MESSAGE_MAX] = '\0';
    event_sanitize_message(big, out);
    CHECK_INT_EQ(strlen(out), EVENT_MESSAGE_MAX);
    CHECK(strchr(out, '.') == NULL);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    event_sanitize_message(big, out);
    CHECK_INT_EQ(strlen(out), EVENT_MESSAGE_MAX);
    CHECK(strcmp(out + EVENT_MESSAGE_MAX - 3, "...") == 0);
    /* multi-byte characters are never split */
    size_t n = 0;
    big[n++] = 'x';
    while (n + 3 < sizeof(big) - 1) {
        memcpy(big + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    big[n] = '\0';
    event_sanitize_message(big, out);
    size_t len = strlen(out);
    CHECK(len <= EVENT_MESSAGE_MAX);
    CHECK(strcmp(out + len - 3, "...") == 0);
    CHECK_INT_EQ((len - 3 - 1) % 3, 0);
    json_t *s = json_string(out); /* valid UTF-8 */
    CHECK(s != NULL);
    json_decref(s);

    /* and through the wire */
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    memset(big, 'b', sizeof(big) - 1);
    big[0] = '\n';
    big[1] = '\xff';
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", "web", "uid-1", "Bogus",
                 "Invalid Annotation\n!", big);
    RUN_UNTIL(a.k.loop, a.posts == 1 && kube_http_active(a.k.http) == 0, 5);
    json_t *ev = only_event(&a);
    CHECK(ev != NULL);
    const char *m = str_at(ev, "message", NULL);
    CHECK(m && strlen(m) == EVENT_MESSAGE_MAX && strncmp(m, " ?bbb", 5) == 0);
    CHECK_STR_EQ(str_at(ev, "reason", NULL), "InvalidAnnotation");
    CHECK_STR_EQ(str_at(ev, "type", NULL), "Warning");
    /* the same truncated message is the same Event */
    a.now += 1;
    big[4000] = 'c';
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", "web", "uid-1", "Warning",
                 "InvalidAnnotation", big);
    RUN_UNTIL(a.k.loop, a.patches == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 1);
    CHECK_INT_EQ(a.patches, 1);
    event_recorder_free(r);
    teardown(&a);
}

static void test_odd_objects(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    /* an invalid namespace never reaches a URL */
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns/../x", "web", NULL, "Warning", "X", "m");
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", "", NULL, "Warning", "X", "m");
    event_record(r, "Ingress", "networking.k8s.io/v1", "ns", NULL, NULL, "Warning", "X", "m");
    CHECK_INT_EQ(kube_http_active(a.k.http), 0);
    /* a cluster-scoped object: the Event lives in "default" */
    event_record(r, "IngressClass", "networking.k8s.io/v1", NULL, "Spoke_Class", NULL, "Warning",
                 "InvalidParameters", "m");
    RUN_UNTIL(a.k.loop, a.k.srv.nreqs == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_STR_EQ(last_req(&a)->target, "/api/v1/namespaces/default/events");
    json_t *posted = json_loads(last_req(&a)->body, 0, NULL);
    CHECK_STR_EQ(str_at(posted, "metadata", "namespace"), "default");
    CHECK_STR_EQ(str_at(posted, "involvedObject", "namespace"), "");
    CHECK_STR_EQ(str_at(posted, "involvedObject", "name"), "Spoke_Class");
    const char *name = str_at(posted, "metadata", "name");
    CHECK(name && strncmp(name, "spoke-class.", 12) == 0);
    json_decref(posted);
    event_recorder_free(r);
    teardown(&a);
}

static void test_server_errors(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    /* a failed create is forgotten: the next occurrence creates it */
    fail_with(&a, 500);
    invalid(r, "web", "m");
    RUN_UNTIL(a.k.loop, a.k.srv.nreqs == 1 && kube_http_active(a.k.http) == 0, 5);
    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.failed, 1);
    CHECK_INT_EQ(st.created, 0);
    fail_with(&a, 0);
    invalid(r, "web", "m");
    RUN_UNTIL(a.k.loop, a.posts == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(only_event(&a), "count")), 1);

    /* a failed patch keeps the count: the next occurrence patches it */
    fail_with(&a, 500);
    invalid(r, "web", "m");
    RUN_UNTIL(a.k.loop, a.k.srv.nreqs == 3 && kube_http_active(a.k.http) == 0, 5);
    CHECK_STR_EQ(last_req(&a)->method, "PATCH");
    fail_with(&a, 0);
    invalid(r, "web", "m");
    RUN_UNTIL(a.k.loop, a.patches == 1 && kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.posts, 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(only_event(&a), "count")), 3);
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.failed, 2);
    CHECK_INT_EQ(st.patched, 1);
    event_recorder_free(r);
    teardown(&a);
}

/* 4096 recent Events at most: the oldest is forgotten (a repeat creates it
 * again); at most 128 requests in flight. */
static void test_bounds(void)
{
    struct api a;
    setup(&a);
    struct event_recorder *r = recorder(&a);
    char name[32];
    for (int batch = 0; batch < 42; batch++) {
        for (int i = 0; i < 100; i++) {
            snprintf(name, sizeof(name), "ing-%d", batch * 100 + i);
            invalid(r, name, "m");
        }
        RUN_UNTIL(a.k.loop, kube_http_active(a.k.http) == 0, 10);
    }
    CHECK_INT_EQ(a.posts, 4200);
    invalid(r, "ing-4199", "m"); /* recent: patched */
    invalid(r, "ing-0", "m");    /* forgotten: created again */
    RUN_UNTIL(a.k.loop, kube_http_active(a.k.http) == 0, 5);
    CHECK_INT_EQ(a.patches, 1);
    CHECK_INT_EQ(a.posts, 4201);

    a.hang = true;
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "other-%d", i);
        invalid(r, name, "m");
    }
    CHECK_INT_EQ(kube_http_active(a.k.http), 128);
    struct event_recorder_stats st;
    event_recorder_stats(r, &st);
    CHECK_INT_EQ(st.dropped, 72);
    event_recorder_free(r);
    teardown(&a);
}

static void test_free_in_flight(void)
{
    struct api a;
    setup(&a);
    a.hang = true;
    struct event_recorder *r = recorder(&a);
    invalid(r, "web", "one");
    invalid(r, "web", "two");
    invalid(r, "web", "two");
    invalid(r, "web2", "three");
    RUN_UNTIL(a.k.loop, a.k.srv.nreqs == 3, 5);
    CHECK_INT_EQ(a.k.srv.nreqs, 3);
    CHECK_INT_EQ(kube_http_active(a.k.http), 3);
    event_recorder_free(r);
    CHECK_INT_EQ(kube_http_active(a.k.http), 0);
    ev_run(a.k.loop, EVRUN_NOWAIT);
    teardown(&a);
}

TEST_MAIN(TEST_CASE(test_create_fields), TEST_CASE(test_dedupe_patch),
          TEST_CASE(test_patch_404_recreates), TEST_CASE(test_rate_limit), TEST_CASE(test_sanitize),
          TEST_CASE(test_odd_objects), TEST_CASE(test_server_errors), TEST_CASE(test_bounds),
          TEST_CASE(test_free_in_flight))
