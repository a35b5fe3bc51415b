/* test_informer.c - the informer against a scripted local API server: paginated LIST, WATCH
 * events into the store, bookmarks, re-watch, 410 re-list diff, errors with backoff, 404. */
#include <stdlib.h>

#include "fake_kube_api.h"
#include "kube/informer.h"
#include "test.h"

#define ING_PATH "/apis/networking.k8s.io/v1/ingresses"

struct api {
    struct fake_kube k; /* the API server and the client */
    struct store *store;
    struct informer *inf;
    /* what the server answers */
    int list_phase;
    int list_status, list_failures; /* answer the next list_failures LISTs with list_status */
    int watch_status, watch_failures;
    bool expire_continue; /* answer the next page request with 410 */
    /* what it saw */
    struct fake_conn *watch;
    int list_requests, watch_requests;
    char last_list[1024], last_watch[1024];
    double list_times[8];
    /* what the store did */
    int adds, updates, deletes;
    char deleted[8][32];
};

static const char *status_body(int code)
{
    switch (code) {
    case 404:
        return "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404,"
               "\"message\":\"the server could not find the requested resource\"}";
    case 410:
        return "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,"
               "\"message\":\"too old resource version\"}";
    default:
        return "{\"kind\":\"Status\",\"status\":\"Failure\",\"code\":500,"
               "\"message\":\"etcd is on fire\"}";
    }
}

#define ITEM(name, rv)                                                                             \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\",\"resourceVersion\":\"" rv     \
    "\"},\"spec\":{}}"
/* As a real cluster sends objects: with server-side-apply bookkeeping and
 * kubectl's last-applied copy, which the informer drops. */
#define ITEM_APPLIED(name, rv)                                                                     \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\",\"resourceVersion\":\"" rv     \
    "\",\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{}}],\"annotations\":{"           \
    "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\",\"spoke.dev/x\":\"y\"}},"         \
    "\"spec\":{}}"
#define EVENT(type, name, rv)                                                                      \
    "{\"type\":\"" type "\",\"object\":{\"kind\":\"Ingress\",\"apiVersion\":"                      \
    "\"networking.k8s.io/v1\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\","      \
    "\"resourceVersion\":\"" rv "\"},\"spec\":{}}}\n"
#define BOOKMARK(rv)                                                                               \
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Ingress\",\"apiVersion\":"                      \
    "\"networking.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"" rv "\"}}}\n"

static void answer_list(struct api *a, struct fake_conn *c, const char *target)
{
    bool next_page = strstr(target, "continue=") != NULL;
    if (a->list_failures > 0) {
        a->list_failures--;
        fake_respond(c, a->list_status, NULL, status_body(a->list_status));
    } else if (next_page && a->expire_continue) {
        a->expire_continue = false;
        fake_respond(c, 410, NULL, status_body(410));
    } else if (a->list_phase == 1) {
        fake_respond(c, 200, NULL,
                     "{\"kind\":\"IngressList\",\"apiVersion\":\"networking.k8s.io/v1\","
                     "\"metadata\":{\"resourceVersion\":\"40\"},\"items\":[" ITEM(
                         "a", "30") "," ITEM("e", "31") "]}");
    } else if (!next_page) {
        fake_respond(c, 200, NULL,
                     "{\"kind\":\"IngressList\",\"apiVersion\":\"networking.k8s.io/v1\","
                     "\"metadata\":{\"resourceVersion\":\"10\",\"continue\":\"tok/1=\"},"
                     "\"items\":[" ITEM("a", "1") "," ITEM("b", "2") "]}");
    } else {
        fake_respond(
            c, 200, NULL,
            "{\"kind\":\"IngressList\",\"apiVersion\":\"networking.k8s.io/v1\","
            "\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" ITEM_APPLIED("c", "3") "]}");
    }
}

static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    struct api *a = ud;
    if (strstr(req->target, "watch=1")) {
        a->watch_requests++;
        snprintf(a->last_watch, sizeof(a->last_watch), "%s", req->target);
        if (a->watch_failures > 0) {
            a->watch_failures--;
            fake_respond(c, a->watch_status, NULL, status_body(a->watch_status));
            return;
        }
        fake_stream_begin(c, 200);
        a->watch = c;
        return;
    }
    if (a->list_requests < 8) {
        ev_now_update(a->k.loop);
        a->list_times[a->list_requests] = ev_now(a->k.loop);
    }
    a->list_requests++;
    snprintf(a->last_list, sizeof(a->last_list), "%s", req->target);
    answer_list(a, c, req->target);
}

static void on_close(void *ud, const struct fake_conn *c)
{
    struct api *a = ud;
    if (a->watch == c)
        a->watch = NULL;
}

static void on_add(void *ud, json_t *obj)
{
    (void)obj;
    ((struct api *)ud)->adds++;
}

static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
    (void)old_obj;
    (void)new_obj;
    ((struct api *)ud)->updates++;
}

static void on_delete(void *ud, json_t *obj)
{
    struct api *a = ud;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (a->deletes < 8)
        snprintf(a->deleted[a->deletes], sizeof(a->deleted[0]), "%s", name ? name : "?");
    a->deletes++;
}

static void setup_for(struct api *a, const struct kube_resource *res, const char *ns)
{
    memset(a, 0, sizeof(*a));
    CHECK(fake_kube_start(&a->k, handler, on_close, a) == 0);
    const struct store_handlers h = {on_add, on_update, on_delete, a};
    a->store = store_new(res->kind, &h);
    a->inf = informer_new(a->k.loop, a->k.http, res, ns, a->store);
    CHECK(a->store && a->inf);
}

static void setup(struct api *a)
{
    setup_for(a, &KUBE_INGRESSES, NULL);
}

static void teardown(struct api *a)
{
    informer_free(a->inf);
    fake_kube_stop(&a->k);
    store_free(a->store);
}

static const char *rv_of(struct api *a, const char *name)
{
    json_t *o = store_get(a->store, "default", name);
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
}

/* Start and wait for the first LIST + the WATCH after it. */
static void start_synced(struct api *a)
{
    informer_start(a->inf);
    RUN_UNTIL(a->k.loop, informer_synced(a->inf) && a->watch, 5);
    CHECK(informer_synced(a->inf));
    CHECK(a->watch != NULL);
}

static void test_list_pages_then_watch_events(void)
{
    struct api a;
    setup(&a);
    CHECK(!informer_synced(a.inf));
    CHECK_STR_EQ(informer_resource_version(a.inf), "");
    CHECK(informer_resource(a.inf) == &KUBE_INGRESSES);
    start_synced(&a);
    const struct informer_stats *st = informer_stats(a.inf);
    CHECK_INT_EQ(a.list_requests, 2);
    CHECK_STR_EQ(a.last_list, ING_PATH "?limit=500&continue=tok%2F1%3D");
    CHECK_INT_EQ(store_count(a.store), 3);
    CHECK_INT_EQ(a.adds, 3);
    CHECK_STR_EQ(informer_resource_version(a.inf), "10");
    CHECK_INT_EQ(st->lists, 1);
    CHECK_INT_EQ(st->relists, 0);
    CHECK_INT_EQ(st->watches, 1);
    CHECK_INT_EQ(st->errors, 0);
    /* List items get the kind and apiVersion that watch events carry. */
    json_t *c = store_get(a.store, "default", "c");
    CHECK_STR_EQ(json_string_value(json_object_get(c, "kind")), "Ingress");
    CHECK_STR_EQ(json_string_value(json_object_get(c, "apiVersion")), "networking.k8s.io/v1");
    /* Only what the agent reads is kept. */
    json_t *md = json_object_get(c, "metadata");
    CHECK(json_object_get(md, "managedFields") == NULL);
    json_t *ann = json_object_get(md, "annotations");
    CHECK(json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration") == NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(ann, "spoke.dev/x")), "y");
    /* The watch request. */
    const char *want = ING_PATH "?watch=1&allowWatchBookmarks=true&resourceVersion=10&";
    CHECK(strncmp(a.last_watch, want, strlen(want)) == 0);
    const char *ts = strstr(a.last_watch, "&timeoutSeconds=");
    CHECK(ts != NULL);
    if (ts) {
        long t = strtol(ts + 16, NULL, 10);
        CHECK(t >= 300 && t <= 600);
    }
    /* Two events in one piece, one event split over two pieces. */
    fake_stream_send(a.watch, EVENT("ADDED", "d", "11") EVENT("MODIFIED", "a", "12"));
    const char *del = EVENT("DELETED", "b", "13");
    fake_stream_send_n(a.watch, del, 20);
    RUN_UNTIL(a.k.loop, st->watch_events == 2, 5);
    fake_stream_send(a.watch, del + 20);
    RUN_UNTIL(a.k.loop, st->watch_events == 3, 5);
    CHECK_INT_EQ(st->watch_events, 3);
    CHECK_STR_EQ(informer_resource_version(a.inf), "13");
    CHECK_INT_EQ(store_count(a.store), 3);
    CHECK_STR_EQ(rv_of(&a, "a"), "12");
    CHECK_STR_EQ(rv_of(&a, "d"), "11");
    CHECK(store_get(a.store, "default", "b") == NULL);
    CHECK_INT_EQ(a.adds, 4);
    CHECK_INT_EQ(a.updates, 1);
    CHECK_INT_EQ(a.deletes, 1);
    CHECK_INT_EQ(st->errors, 0);
    /* Watch events are trimmed too. */
    fake_stream_send(a.watch, "{\"type\":\"MODIFIED\",\"object\":" ITEM_APPLIED("c", "14") "}\n");
    RUN_UNTIL(a.k.loop, st->watch_events == 4, 5);
    CHECK_STR_EQ(rv_of(&a, "c"), "14");
    md = json_object_get(store_get(a.store, "default", "c"), "metadata");
    CHECK(json_object_get(md, "managedFields") == NULL);
    CHECK(json_object_get(json_object_get(md, "annotations"),
                          "kubectl.kubernetes.io/last-applied-configuration") == NULL);
    teardown(&a);
}

static void test_bookmark_and_stream_end_rewatch(void)
{
    struct api a;
    setup(&a);
    start_synced(&a);
    const struct informer_stats *st = informer_stats(a.inf);
    fake_stream_send(a.watch, BOOKMARK("20"));
    RUN_UNTIL(a.k.loop, strcmp(informer_resource_version(a.inf), "20") == 0, 5);
    CHECK_STR_EQ(informer_resource_version(a.inf), "20");
    CHECK_INT_EQ(st->watch_events, 0);
    CHECK_INT_EQ(store_count(a.store), 3);
    fake_stream_send(a.watch, EVENT("ADDED", "z", "21"));
    RUN_UNTIL(a.k.loop, st->watch_events == 1, 5);
    /* The server ends the stream (its timeoutSeconds): watch again from 21, no LIST. */
    fake_stream_end(a.watch);
    RUN_UNTIL(a.k.loop, a.watch_requests == 2 && a.watch, 5);
    CHECK_INT_EQ(a.watch_requests, 2);
    CHECK(strstr(a.last_watch, "&resourceVersion=21&") != NULL);
    CHECK_INT_EQ(st->watches, 2);
    CHECK_INT_EQ(st->lists, 1);
    CHECK_INT_EQ(a.list_requests, 2);
    CHECK_INT_EQ(st->errors, 0);
    /* Events on the new stream still land. */
    if (a.watch)
        fake_stream_send(a.watch, EVENT("DELETED", "z", "22"));
    RUN_UNTIL(a.k.loop, st->watch_events == 2, 5);
    CHECK_INT_EQ(store_count(a.store), 3);
    CHECK_STR_EQ(informer_resource_version(a.inf), "22");
    teardown(&a);
}

static void test_error_410_event_relists_with_diff(void)
{
    struct api a;
    setup(&a);
    start_synced(&a);
    const struct informer_stats *st = informer_stats(a.inf);
    fake_stream_send(a.watch, EVENT("ADDED", "d", "11"));
    RUN_UNTIL(a.k.loop, st->watch_events == 1, 5);
    CHECK_INT_EQ(store_count(a.store), 4);
    a.deletes = a.adds = a.updates = 0;
    /* Meanwhile on the server: a changed, b, c, d deleted, e created. */
    a.list_phase = 1;
    fake_stream_send(a.watch, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                              "\"v1\",\"status\":\"Failure\",\"message\":\"too old resource "
                              "version: 11 (39)\",\"reason\":\"Expired\",\"code\":410}}\n");
    RUN_UNTIL(a.k.loop, st->lists == 2 && a.watch_requests == 2 && a.watch, 5);
    CHECK_INT_EQ(st->lists, 2);
    CHECK_INT_EQ(st->relists, 1);
    CHECK_INT_EQ(st->errors, 0);
    CHECK_INT_EQ(store_count(a.store), 2);
    CHECK_STR_EQ(rv_of(&a, "a"), "30");
    CHECK_STR_EQ(rv_of(&a, "e"), "31");
    CHECK_INT_EQ(a.adds, 1);
    CHECK_INT_EQ(a.updates, 1);
    CHECK_INT_EQ(a.deletes, 3);
    CHECK_STR_EQ(a.deleted[0], "b");
    CHECK_STR_EQ(a.deleted[1], "c");
    CHECK_STR_EQ(a.deleted[2], "d");
    CHECK_STR_EQ(informer_resource_version(a.inf), "40");
    CHECK(strstr(a.last_watch, "&resourceVersion=40&") != NULL);
    teardown(&a);
}

static void test_watch_http_410_relists(void)
{
    struct api a;
    setup(&a);
    a.watch_status = 410;
    a.watch_failures = 1;
    informer_start(a.inf);
    RUN_UNTIL(a.k.loop, a.watch != NULL, 5);
    const struct informer_stats *st = informer_stats(a.inf);
    CHECK_INT_EQ(a.watch_requests, 2);
    CHECK_INT_EQ(st->lists, 2);
    CHECK_INT_EQ(st->relists, 1);
    CHECK_INT_EQ(st->errors, 0);
    teardown(&a);
}

static void test_expired_continue_restarts_the_list(void)
{
    struct api a;
    setup(&a);
    a.expire_continue = true;
    start_synced(&a);
    const struct informer_stats *st = informer_stats(a.inf);
    CHECK_INT_EQ(a.list_requests, 4); /* page 1, 410, page 1, page 2 */
    CHECK_INT_EQ(st->lists, 1);
    CHECK_INT_EQ(st->errors, 0);
    CHECK_INT_EQ(store_count(a.store), 3);
    CHECK_INT_EQ(a.adds, 3); /* the partial first attempt never reached the store */
    teardown(&a);
}

static void test_http_500_backs_off_then_recovers(void)
{
    struct api a;
    setup(&a);
    a.list_status = 500;
    a.list_failures = 2;
    informer_start(a.inf);
    RUN_UNTIL(a.k.loop, a.list_requests == 1, 5);
    CHECK(!informer_synced(a.inf));
    RUN_UNTIL(a.k.loop, informer_synced(a.inf) && a.watch, 10);
    const struct informer_stats *st = informer_stats(a.inf);
    CHECK(informer_synced(a.inf));
    CHECK_INT_EQ(st->errors, 2);
    CHECK_INT_EQ(a.list_requests, 4);
    /* 0.5 s (+-20 %), then twice that. */
    CHECK(a.list_times[1] - a.list_times[0] > 0.35);
    CHECK(a.list_times[2] - a.list_times[1] > 0.75);
    CHECK_INT_EQ(store_count(a.store), 3);
    /* A failing watch backs off and watches again from the same version: no LIST. */
    a.watch_status = 500;
    a.watch_failures = 1;
    fake_stream_send(a.watch, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                              "\"code\":500,\"message\":\"internal error\"}}\n");
    RUN_UNTIL(a.k.loop, a.watch_requests == 3 && a.watch, 10);
    CHECK_INT_EQ(a.watch_requests, 3);
    CHECK_INT_EQ(st->errors, 4);
    CHECK_INT_EQ(st->lists, 1);
    CHECK(strstr(a.last_watch, "&resourceVersion=10&") != NULL);
    /* A malformed stream is an error too (a bookmark first: this watch works, so the
     * backoff starts again from 0.5 s). */
    if (a.watch)
        fake_stream_send(a.watch, BOOKMARK("10") "{\"type\":\"NOPE\",\"object\":{}}\n");
    RUN_UNTIL(a.k.loop, a.watch_requests == 4 && a.watch, 10);
    CHECK_INT_EQ(st->errors, 5);
    CHECK_INT_EQ(st->lists, 1);
    CHECK_INT_EQ(store_count(a.store), 3);
    teardown(&a);
}

static void test_404_is_synced_and_empty(void)
{
    struct api a;
    setup_for(&a, &KUBE_INGRESSPARAMETERS, NULL);
    json_t *stale = json_loads(ITEM("old", "5"), 0, NULL);
    store_upsert(a.store, stale);
    json_decref(stale);
    a.list_status = 404;
    a.list_failures = 1000;
    informer_start(a.inf);
    RUN_UNTIL(a.k.loop, informer_synced(a.inf), 5);
    CHECK(informer_synced(a.inf));
    CHECK_INT_EQ(store_count(a.store), 0);
    CHECK_INT_EQ(a.deletes, 1);
    CHECK_STR_EQ(a.last_list, "/apis/spoke.dev/v1alpha1/ingressparameters?limit=500");
    const struct informer_stats *st = informer_stats(a.inf);
    CHECK_INT_EQ(st->errors, 0);
    CHECK_INT_EQ(st->watches, 0);
    CHECK_INT_EQ(a.watch_requests, 0);
    teardown(&a);
}

static void test_namespaced_and_cluster_scoped_paths(void)
{
    struct api a;
    setup_for(&a, &KUBE_SERVICES, "team-a");
    informer_start(a.inf);
    RUN_UNTIL(a.k.loop, a.list_requests >= 1, 5);
    CHECK_STR_EQ(a.last_list, "/api/v1/namespaces/team-a/services?limit=500");
    teardown(&a);
    setup_for(&a, &KUBE_INGRESSCLASSES, "team-a");
    informer_start(a.inf);
    RUN_UNTIL(a.k.loop, a.list_requests >= 1, 5);
    CHECK_STR_EQ(a.last_list, "/apis/networking.k8s.io/v1/ingressclasses?limit=500");
    teardown(&a);
}

static void test_resource_paths(void)
{
    char buf[128];
    CHECK_INT_EQ(kube_resource_path(&KUBE_SECRETS, NULL, buf, sizeof(buf)), 15);
    CHECK_STR_EQ(buf, "/api/v1/secrets");
    kube_resource_path(&KUBE_ENDPOINTSLICES, "", buf, sizeof(buf));
    CHECK_STR_EQ(buf, "/apis/discovery.k8s.io/v1/endpointslices");
    kube_resource_path(&KUBE_INGRESSES, "ns1", buf, sizeof(buf));
    CHECK_STR_EQ(buf, "/apis/networking.k8s.io/v1/namespaces/ns1/ingresses");
    kube_resource_path(&KUBE_INGRESSPARAMETERS, "ns1", buf, sizeof(buf));
    CHECK_STR_EQ(buf, "/apis/spoke.dev/v1alpha1/namespaces/ns1/ingressparameters");
    kube_resource_path(&KUBE_INGRESSCLASSES, "ns1", buf, sizeof(buf));
    CHECK_STR_EQ(buf, "/apis/networking.k8s.io/v1/ingressclasses");
    CHECK_INT_EQ(kube_resource_path(&KUBE_SECRETS, NULL, buf, 15), -1);
    CHECK_INT_EQ(kube_resource_path(&KUBE_SECRETS, NULL, buf, 16), 15);
    CHECK(!KUBE_INGRESSCLASSES.namespaced && KUBE_INGRESSES.namespaced);
    CHECK_STR_EQ(KUBE_ENDPOINTSLICES.kind, "EndpointSlice");
    CHECK_STR_EQ(KUBE_INGRESSPARAMETERS.kind, "IngressParameters");
}

TEST_MAIN(TEST_CASE(test_list_pages_then_watch_events),
          TEST_CASE(test_bookmark_and_stream_end_rewatch),
          TEST_CASE(test_error_410_event_relists_with_diff), TEST_CASE(test_watch_http_410_relists),
          TEST_CASE(test_expired_continue_restarts_the_list),
          TEST_CASE(test_http_500_backs_off_then_recovers), TEST_CASE(test_404_is_synced_and_empty),
          TEST_CASE(test_namespaced_and_cluster_scoped_paths), TEST_CASE(test_resource_paths))
