/* test_metrics.c - the Prometheus text writer (escaping, HELP/TYPE, values, cumulative
 * histogram buckets) and the /metrics, /healthz, /readyz handlers: with no sources, with a
 * real cache against a scripted API server (watch-only), and with a real reconciler, runtime
 * API client and SPOE server that have done nothing yet (routing mode). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "fake_kube_api.h"
#include "haproxy/reconciler.h"
#include "haproxy/runtime_api.h"
#include "kube/cache.h"
#include "spoe/policy.h"
#include "spoe/spoe_server.h"
#include "test.h"

/* ---- a tiny parser of the text format, for checks ---------------------- */

static bool checker_quiet; /* for the checker's own test */

/* Every sample's family has HELP and TYPE lines before it; returns the
 * number of problems (printed). */
static int check_exposition(const char *text)
{
    int problems = 0;
    char typed[256][96], helped[256][96], types[256][16];
    size_t nt = 0, nh = 0;
    if (!text)
        return 1;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol) {
            printf("#   last line without newline\n");
            return problems + 1;
        }
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
        p = eol + 1;
        char name[96], type[16];
        if (sscanf(line, "# TYPE %95s %15s", name, type) == 2 && nt < 256) {
            snprintf(typed[nt], sizeof(typed[0]), "%s", name);
            snprintf(types[nt++], sizeof(types[0]), "%s", type);
            continue;
        }
        if (sscanf(line, "# HELP %95s", name) == 1 && nh < 256) {
            snprintf(helped[nh++], sizeof(helped[0]), "%s", name);
            continue;
        }
        if (line[0] == '#')
            continue;
        size_t n = strcspn(line, "{ ");
        snprintf(name, sizeof(name), "%.*s", (int)n, line);
        bool found_type = false, found_help = false;
        for (size_t i = 0; i < nt; i++) {
            size_t fl = strlen(typed[i]);
            if (strncmp(name, typed[i], fl) != 0)
                continue;
            const char *suffix = name + fl;
            bool hist = strcmp(types[i], "histogram") == 0 || strcmp(types[i], "summary") == 0;
            if (*suffix == '\0' ||
                (hist && (strcmp(suffix, "_bucket") == 0 || strcmp(suffix, "_sum") == 0 ||
                          strcmp(suffix, "_count") == 0))) {
                found_type = true;
                for (size_t j = 0; j < nh; j++)
                    found_help |= strcmp(helped[j], typed[i]) == 0;
            }
        }
        const char *value = strrchr(line, ' ');
        char *end = NULL;
        if (value)
            strtod(value + 1, &end);
        if (!found_type || !found_help || !value || !end || *end) {
            if (!checker_quiet)
                printf("#   bad sample line: %s\n", line);
            problems++;
        }
    }
    return problems;
}

/* The value of the sample line that starts with `prefix` + ' ', or NAN. */
static double value_of(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* ---- the writer ---------------------------------------------------------- */

static void test_escaping(void)
{
    struct strbuf b = STRBUF_INIT;
    prom_escape_label(&b, "a\\b\"c\nd");
    CHECK_STR_EQ(b.data, "a\\\\b\\\"c\\nd");
    strbuf_free(&b);

    const char *labels[] = {"kind", "x\"y", "path", "/a\\b\n", NULL};
    prom_sample(&b, "m", labels, 2);
    CHECK_STR_EQ(b.data, "m{kind=\"x\\\"y\",path=\"/a\\\\b\\n\"} 2\n");
    strbuf_free(&b);

    /* HELP escapes backslash and newline, not double quotes. */
    prom_family(&b, "m_total", "counter", "say \"hi\"\\\nbye");
    CHECK_STR_EQ(b.data, "# HELP m_total say \"hi\"\\\\\\nbye\n# TYPE m_total counter\n");
    strbuf_free(&b);
}

static void test_values(void)
{
    struct strbuf b = STRBUF_INIT;
    prom_sample(&b, "a", NULL, 0);
    prom_sample(&b, "b", NULL, 0.1);
    prom_sample(&b, "c", NULL, -2.5);
    prom_sample(&b, "d", NULL, 1e20);
    prom_sample(&b, "e", NULL, INFINITY);
    prom_sample(&b, "f", NULL, -INFINITY);
    prom_sample(&b, "g", NULL, NAN);
    prom_sample(&b, "h", NULL, 4294967296.0 * 1000);
    prom_sample(&b, "i", NULL, 1.0 / 3);
    CHECK_STR_EQ(b.data, "a 0\nb 0.1\nc -2.5\nd 1e+20\ne +Inf\nf -Inf\ng NaN\nh 4294967296000\n"
                         "i 0.3333333333333333\n");
    CHECK(strtod("0.3333333333333333", NULL) == 1.0 / 3);
    const char *empty[] = {NULL};
    strbuf_free(&b);
    prom_sample(&b, "j", empty, 1);
    CHECK_STR_EQ(b.data, "j 1\n");
    strbuf_free(&b);
}

static void test_histogram(void)
{
    static const double bounds[] = {0.1, 1, 10};
    struct prom_histogram h;
    prom_histogram_init(&h, bounds, 3);
    double obs[] = {0.05, 0.1, 0.5, 5, 50};
    for (size_t i = 0; i < 5; i++)
        prom_histogram_observe(&h, obs[i]);
    struct strbuf b = STRBUF_INIT;
    const char *labels[] = {"route", "a\"b", NULL};
    prom_histogram_write(&b, "lat_seconds", "Latency.", labels, &h);
    CHECK_STR_EQ(b.data, "# HELP lat_seconds Latency.\n"
                         "# TYPE lat_seconds histogram\n"
                         "lat_seconds_bucket{route=\"a\\\"b\",le=\"0.1\"} 2\n"
                         "lat_seconds_bucket{route=\"a\\\"b\",le=\"1\"} 3\n"
                         "lat_seconds_bucket{route=\"a\\\"b\",le=\"10\"} 4\n"
                         "lat_seconds_bucket{route=\"a\\\"b\",le=\"+Inf\"} 5\n"
                         "lat_seconds_sum{route=\"a\\\"b\"} 55.65\n"
                         "lat_seconds_count{route=\"a\\\"b\"} 5\n");
    CHECK_INT_EQ(check_exposition(b.data), 0);
    strbuf_free(&b);

    /* No labels, nothing observed: every bucket 0, le alone. */
    prom_histogram_init(&h, bounds, 1);
    prom_histogram_write(&b, "x", "X.", NULL, &h);
    CHECK_STR_EQ(b.data, "# HELP x X.\n# TYPE x histogram\nx_bucket{le=\"0.1\"} 0\n"
                         "x_bucket{le=\"+Inf\"} 0\nx_sum 0\nx_count 0\n");
    strbuf_free(&b);
}

static void test_checker_catches_missing_type(void)
{
    checker_quiet = true;
    CHECK(check_exposition("# HELP a A.\na 1\n") == 1);
    CHECK(check_exposition("# TYPE a counter\na 1\n") == 1);
    CHECK(check_exposition("# HELP a A.\n# TYPE a gauge\na_sum 1\n") == 1);
    CHECK(check_exposition("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} one\n") == 1);
    CHECK(check_exposition("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n") == 0);
    checker_quiet = false;
}

/* ---- handlers with no sources ------------------------------------------- */

static void test_no_sources(void)
{
    struct metrics *m = metrics_new(NULL);
    struct admin_response r = {0};
    metrics_handler(m, "", &r);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body && r.len == strlen(r.body));
    CHECK(r.body && strstr(r.body, "spoke_build_info{version=\""));
    CHECK(r.body && !strstr(r.body, "spoke_objects"));
    CHECK(r.body && !strstr(r.body, "spoke_reconcile"));
    CHECK(r.body && !strstr(r.body, "spoke_spoe"));
    CHECK_INT_EQ(check_exposition(r.body), 0);
    free(r.body);

    struct admin_response h = {0};
    metrics_healthz_handler(m, "", &h);
    CHECK_INT_EQ(h.status, 200);
    CHECK_STR_EQ(h.body, "ok\n");
    free(h.body);

    struct admin_response y = {0};
    metrics_readyz_handler(m, "", &y);
    CHECK_INT_EQ(y.status, 503);
    CHECK_STR_EQ(y.body, "no Kubernetes cache\n");
    free(y.body);
    /* Observing without a reconciler is harmless (and not written). */
    metrics_observe_reconcile(m, 0.5);
    metrics_observe_reconcile(NULL, 0.5);
    metrics_free(m);
}

/* ---- a real cache against a scripted API server ------------------------- */

#define ITEM(name)                                                                                 \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\",\"resourceVersion\":\"5\"},"   \
    "\"spec\":{}}"

struct api {
    struct fake_kube k; /* the API server and the client */
    struct kube_cache *cache;
    bool answer_lists; /* false: LISTs wait forever */
};

static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    struct api *a = ud;
    if (strstr(req->target, "watch=1") || !a->answer_lists) {
        fake_stream_begin(c, 200); /* held open */
        return;
    }
    if (strstr(req->target, "/ingresses?"))
        fake_respond(c, 200, NULL,
                     "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"10\"},"
                     "\"items\":[" ITEM("a") "," ITEM("b") "]}");
    else
        fake_respond(c, 200, NULL,
                     "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[]}");
}

static void on_change(void *ud, unsigned long events)
{
    (void)ud;
    (void)events;
}

static void api_setup(struct api *a, bool answer_lists)
{
    memset(a, 0, sizeof(*a));
    a->answer_lists = answer_lists;
    CHECK(fake_kube_start(&a->k, handler, NULL, a) == 0);
    a->cache = kube_cache_new(a->k.loop, a->k.http, NULL, 0.01, on_change, a);
    CHECK(a->cache);
    kube_cache_start(a->cache);
}

static void api_teardown(struct api *a)
{
    kube_cache_free(a->cache);
    fake_kube_stop(&a->k);
}

static char *scrape(struct metrics *m)
{
    struct admin_response r = {0};
    metrics_handler(m, "", &r);
    return r.body;
}

static int readyz(struct metrics *m, char *body, size_t len)
{
    struct admin_response r = {0};
    metrics_readyz_handler(m, "", &r);
    snprintf(body, len, "%s", r.body ? r.body : "");
    free(r.body);
    return r.status;
}

static void test_watch_only_before_sync(void)
{
    struct api a;
    api_setup(&a, false);
    struct metrics_sources src = {.cache = a.cache};
    struct metrics *m = metrics_new(&src);
    RUN_UNTIL(a.k.loop, fake_server_open_conns(&a.k.srv) >= kube_cache_count(a.cache), 5);
    char body[256];
    CHECK_INT_EQ(readyz(m, body, sizeof(body)), 503);
    CHECK(strncmp(body, "cache not synced: waiting for the first list of ", 48) == 0);
    CHECK(strchr(body, '\n') == body + strlen(body) - 1);
    char *text = scrape(m);
    CHECK_INT_EQ(check_exposition(text), 0);
    CHECK(value_of(text, "spoke_cache_synced") == 0);
    CHECK(value_of(text, "spoke_objects{kind=\"Ingress\"}") == 0);
    CHECK(!strstr(text, "spoke_reconcile_passes_total"));
    free(text);
    metrics_free(m);
    api_teardown(&a);
}

static void test_watch_only_synced(void)
{
    struct api a;
    api_setup(&a, true);
    struct metrics_sources src = {.cache = a.cache};
    struct metrics *m = metrics_new(&src);
    RUN_UNTIL(a.k.loop, kube_cache_synced(a.cache), 5);
    CHECK(kube_cache_synced(a.cache));
    char body[256];
    CHECK_INT_EQ(readyz(m, body, sizeof(body)), 200);
    CHECK_STR_EQ(body, "ok\n");
    char *text = scrape(m);
    CHECK_INT_EQ(check_exposition(text), 0);
    CHECK(value_of(text, "spoke_cache_synced") == 1);
    CHECK(value_of(text, "spoke_objects{kind=\"Ingress\"}") == 2);
    CHECK(value_of(text, "spoke_objects{kind=\"Service\"}") == 0);
    CHECK(value_of(text, "spoke_relists_total{kind=\"Ingress\"}") == 0);
    CHECK(value_of(text, "spoke_api_errors_total{kind=\"Ingress\"}") == 0);
    CHECK(value_of(text, "spoke_watch_restarts_total{kind=\"Ingress\"}") == 0);
    CHECK(!isnan(value_of(text, "spoke_watch_events_total{kind=\"Secret\"}")));
    /* One HELP and one TYPE per family. */
    const char *first = strstr(text, "# TYPE spoke_objects ");
    CHECK(first && !strstr(first + 1, "# TYPE spoke_objects "));
    free(text);
    metrics_free(m);
    api_teardown(&a);
}

/* ---- routing mode: real parts that have done nothing yet ----------------- */

static void test_routing_mode(void)
{
    struct api a;
    api_setup(&a, true);
    char dir[512], sock[600], err[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/metrics-XXXXXX", base && *base ? base : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(sock, sizeof(sock), "%s/none.sock", dir);
    struct runtime_api_config rc;
    runtime_api_config_defaults(&rc);
    rc.address = sock;
    struct runtime_api *api = runtime_api_new(a.k.loop, &rc, err, sizeof(err));
    CHECK(api != NULL);
    struct haproxy_render_params params = {
        .state_dir = dir, .bind_addr = "127.0.0.1", .http_port = 1, .https_port = 2};
    struct reconciler *rec = reconciler_new(a.k.loop, api, &params, 4, err, sizeof(err));
    CHECK(rec != NULL);
    struct spoe_server_config sc;
    spoe_server_config_init(&sc);
    sc.listen = "127.0.0.1:0";
    sc.workers = 1;
    sc.decide = policy_decide;
    struct spoe_server *spoe = spoe_server_start(&sc, err, sizeof(err));
    CHECK(spoe != NULL);
    if (!api || !rec || !spoe)
        goto out;

    struct metrics_sources src = {.cache = a.cache, .rec = rec, .api = api, .spoe = spoe};
    struct metrics *m = metrics_new(&src);
    RUN_UNTIL(a.k.loop, kube_cache_synced(a.cache), 5);
    char body[256];
    CHECK_INT_EQ(readyz(m, body, sizeof(body)), 503);
    CHECK_STR_EQ(body, "routing not pushed into HAProxy yet: no reconcile pass completed\n");

    metrics_observe_reconcile(m, 0.003);
    metrics_observe_reconcile(m, 0.02);
    metrics_observe_reconcile(m, 100);
    char *text = scrape(m);
    CHECK_INT_EQ(check_exposition(text), 0);
    CHECK(value_of(text, "spoke_reconcile_passes_total") == 0);
    CHECK(value_of(text, "spoke_reconcile_failures_total") == 0);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_bucket{le=\"0.001\"}") == 0);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_bucket{le=\"0.005\"}") == 1);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_bucket{le=\"0.025\"}") == 2);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_bucket{le=\"30\"}") == 2);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_bucket{le=\"+Inf\"}") == 3);
    CHECK(value_of(text, "spoke_reconcile_duration_seconds_count") == 3);
    CHECK(fabs(value_of(text, "spoke_reconcile_duration_seconds_sum") - 100.023) < 1e-9);
    CHECK(value_of(text, "spoke_haproxy_reloads_total{reason=\"pool_exhausted\"}") == 0);
    CHECK(value_of(text, "spoke_haproxy_runtime_commands_total") == 0);
    CHECK(value_of(text, "spoke_haproxy_runtime_errors_total") == 0);
    CHECK(value_of(text, "spoke_routes_map_commits_total") == 0);
    CHECK(value_of(text, "spoke_backends_unplaced") == 0);
    CHECK(value_of(text, "spoke_routes") == 0);
    CHECK(value_of(text, "spoke_haproxy_reloads_total{reason=\"error_pages\"}") == 0);
    CHECK(value_of(text, "spoke_backend_slots{profile=\"http-roundrobin\",state=\"used\"}") == 0);
    CHECK(value_of(text, "spoke_backend_slots{profile=\"http-roundrobin\",state=\"free\"}") == 4);
    CHECK(value_of(text, "spoke_spoe_connections") == 0);
    CHECK(value_of(text, "spoke_spoe_frames_total{direction=\"in\"}") == 0);
    CHECK(value_of(text, "spoke_spoe_frames_total{direction=\"out\"}") == 0);
    CHECK(value_of(text, "spoke_spoe_decisions_total") == 0);
    CHECK(value_of(text, "spoke_spoe_decision_seconds_sum") == 0);
    CHECK(value_of(text, "spoke_spoe_decision_seconds_count") == 0);
    CHECK(value_of(text, "spoke_objects{kind=\"Ingress\"}") == 2);
    free(text);

    /* Without the reconciler (watch-only) the same cache is ready. */
    struct metrics_sources watch_only = {.cache = a.cache};
    metrics_set_sources(m, &watch_only);
    CHECK_INT_EQ(readyz(m, body, sizeof(body)), 200);
    metrics_free(m);
out:
    spoe_server_stop(spoe);
    runtime_api_free(api);
    reconciler_free(rec);
    api_teardown(&a);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

TEST_MAIN(TEST_CASE(test_escaping), TEST_CASE(test_values), TEST_CASE(test_histogram),
          TEST_CASE(test_checker_catches_missing_type), TEST_CASE(test_no_sources),
          TEST_CASE(test_watch_only_before_sync), TEST_CASE(test_watch_only_synced),
          TEST_CASE(test_routing_mode))
