/* test_params.c - IngressParameters specs: defaults, every field, hostile
 * values (each falls back to the running value and is reported), the
 * round trip through params_to_spec(), change classification, and which
 * object an IngressClass names. */
#include <stdlib.h>

#include "kube/params_status.h"
#include "kube/store.h"
#include "model/params.h"
#include "model/params_ref.h"
#include "test.h"

struct problems {
    char text[4096];
    size_t n;
};

static void collect(void *ud, const char *field, const char *message)
{
    struct problems *p = ud;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof(p->text) - len, "%s: %s\n", field, message);
    p->n++;
}

/* Problems as TAP comments. */
static void show(const struct problems *pr)
{
    for (const char *l = pr->text; *l;) {
        const char *nl = strchr(l, '\n');
        printf("#   %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
        l = nl ? nl + 1 : l + strlen(l);
    }
}

static size_t parse_text(const char *json, const struct ingress_params *fb,
                         struct ingress_params *out, struct problems *pr)
{
    json_error_t e;
    json_t *spec = json_loads(json, JSON_ALLOW_NUL, &e);
    if (!spec)
        printf("#   bad test JSON: %s\n", e.text);
    memset(pr, 0, sizeof(*pr));
    size_t n = params_parse(spec, "team", fb, out, collect, pr);
    json_decref(spec);
    return n;
}

static void test_defaults(void)
{
    struct ingress_params p, d;
    struct problems pr;
    params_defaults(&d);
    CHECK_INT_EQ(parse_text("{}", NULL, &p, &pr), 0);
    CHECK(params_equal(&p, &d));
    CHECK_INT_EQ(p.timeout_connect, 5000);
    CHECK_INT_EQ(p.timeout_server, 60000);
    CHECK_INT_EQ(p.spoe.processing, 2000);
    CHECK(p.ssl_redirect && !p.hsts.enabled && p.access_log.enabled);
    CHECK_STR_EQ(p.real_ip_header, "X-Forwarded-For");
    CHECK_INT_EQ(params_parse(NULL, "x", NULL, &p, collect, &pr), 0);
    CHECK(params_equal(&p, &d));
}

static void test_every_field(void)
{
    struct ingress_params p;
    struct problems pr;
    size_t n = parse_text(
        "{\"listen\":{\"httpPort\":8081,\"httpsPort\":8444,\"proxyProtocol\":true},"
        "\"timeouts\":{\"connect\":\"2s\",\"client\":\"1m\",\"server\":\"500ms\","
        "\"httpRequest\":\"3s\",\"keepAlive\":\"1h\"},\"maxconn\":5000,\"threads\":4,"
        "\"loadBalance\":\"leastconn\",\"pools\":{\"size\":16},"
        "\"hsts\":{\"enabled\":true,\"maxAge\":600,\"includeSubDomains\":true,\"preload\":true},"
        "\"sslRedirect\":false,\"defaultCertificate\":{\"name\":\"wild\"},"
        "\"tls\":{\"minVersion\":\"TLSv1.3\",\"ciphers\":\"ECDHE+AESGCM\","
        "\"cipherSuites\":\"TLS_AES_128_GCM_SHA256\"},"
        "\"realIP\":{\"trustedProxies\":[\"10.1.2.3/8\",\"fd00::/8\",\"10.1.2.3/8\"],"
        "\"header\":\"X-Real-IP\"},"
        "\"spoe\":{\"timeouts\":{\"hello\":\"1s\",\"idle\":\"20s\",\"processing\":\"3s\"},"
        "\"failMode\":\"allow\",\"workers\":3},"
        "\"accessLog\":{\"enabled\":true,\"format\":\"custom\",\"custom\":\"%ci %ST \\\"%r\\\"\"},"
        "\"errorPages\":{\"configMapRef\":{\"name\":\"pages\"}}}",
        NULL, &p, &pr);
    CHECK_INT_EQ(n, 0);
    show(&pr);
    CHECK_INT_EQ(p.http_port, 8081);
    CHECK_INT_EQ(p.https_port, 8444);
    CHECK(p.proxy_protocol);
    CHECK_INT_EQ(p.timeout_connect, 2000);
    CHECK_INT_EQ(p.timeout_client, 60000);
    CHECK_INT_EQ(p.timeout_server, 500);
    CHECK_INT_EQ(p.timeout_keep_alive, 3600000);
    CHECK_INT_EQ(p.maxconn, 5000);
    CHECK_INT_EQ(p.threads, 4);
    CHECK_INT_EQ(p.balance, MODEL_BALANCE_LEASTCONN);
    CHECK_INT_EQ(p.pool_size, 16);
    CHECK(p.hsts.enabled && p.hsts.include_subdomains && p.hsts.preload);
    CHECK_INT_EQ(p.hsts.max_age, 600);
    CHECK(!p.ssl_redirect);
    CHECK_STR_EQ(p.default_cert, "team/wild");
    CHECK_INT_EQ(p.tls_min, PARAMS_TLS_1_3);
    CHECK_STR_EQ(p.ciphers, "ECDHE+AESGCM");
    CHECK_STR_EQ(p.ciphersuites, "TLS_AES_128_GCM_SHA256");
    CHECK_INT_EQ(p.n_trusted, 2);
    CHECK_STR_EQ(p.trusted[0], "10.1.2.3/8");
    CHECK_STR_EQ(p.trusted[1], "fd00::/8");
    CHECK_STR_EQ(p.real_ip_header, "X-Real-IP");
    CHECK_INT_EQ(p.spoe.hello, 1000);
    CHECK_INT_EQ(p.spoe.processing, 3000);
    CHECK_INT_EQ(p.spoe.fail_mode, PARAMS_FAIL_ALLOW);
    CHECK_INT_EQ(p.spoe.workers, 3);
    CHECK_INT_EQ(p.access_log.format, PARAMS_LOG_CUSTOM);
    CHECK_STR_EQ(p.access_log.custom, "%ci %ST \"%r\"");
    CHECK_STR_EQ(p.error_pages, "pages");

    /* The round trip the state directory relies on. */
    json_t *spec = params_to_spec(&p);
    struct ingress_params again;
    CHECK_INT_EQ(params_parse(spec, "other", NULL, &again, collect, &pr), 0);
    CHECK(params_equal(&p, &again));
    CHECK_STR_EQ(again.default_cert, "team/wild");
    json_decref(spec);
}

/* Every hostile value is reported with its field and keeps the fallback. */
static void test_hostile_values_keep_the_running_value(void)
{
    struct ingress_params fb, p;
    struct problems pr;
    params_defaults(&fb);
    fb.timeout_server = 120000;
    fb.maxconn = 700;
    snprintf(fb.ciphers, sizeof(fb.ciphers), "ECDHE+CHACHA20");
    size_t n =
        parse_text("{\"timeouts\":{\"server\":\"10s\\n    timeout client 1ms\",\"connect\":\"0s\","
                   "\"client\":\"5 parsecs\",\"keepAlive\":\"99999h\"},"
                   "\"maxconn\":-5,\"threads\":\"4\",\"loadBalance\":\"fastest\","
                   "\"listen\":{\"httpPort\":70000,\"proxyProtocol\":\"yes\"},"
                   "\"hsts\":{\"maxAge\":1e99},"
                   "\"tls\":{\"minVersion\":\"SSLv3\",\"ciphers\":\"ECDHE bad\\nciphers\","
                   "\"cipherSuites\":\"NOT_A_SUITE\"},"
                   "\"realIP\":{\"trustedProxies\":[\"10.0.0.0/33\"],\"header\":\"X-F: y\"},"
                   "\"spoe\":{\"timeouts\":{\"idle\":\"1h\"},\"failMode\":\"open\",\"workers\":0},"
                   "\"accessLog\":{\"format\":\"custom\",\"custom\":\"%ci\\n    option nolog\"},"
                   "\"defaultCertificate\":{\"name\":\"../etc\"},"
                   "\"errorPages\":{\"configMapRef\":{}},"
                   "\"frobnicate\":1}",
                   &fb, &p, &pr);
    show(&pr);
    CHECK(n >= 20);
    CHECK_INT_EQ(p.timeout_server, 120000);
    CHECK_INT_EQ(p.timeout_connect, 5000); /* fallback = the defaults' value */
    CHECK_INT_EQ(p.maxconn, 700);
    CHECK_INT_EQ(p.threads, 0);
    CHECK_INT_EQ(p.balance, MODEL_BALANCE_ROUNDROBIN);
    CHECK_INT_EQ(p.http_port, 0);
    CHECK(!p.proxy_protocol);
    CHECK_INT_EQ(p.hsts.max_age, 15552000);
    CHECK_INT_EQ(p.tls_min, PARAMS_TLS_1_2);
    CHECK_STR_EQ(p.ciphers, "ECDHE+CHACHA20");
    CHECK_STR_EQ(p.ciphersuites, "");
    CHECK_INT_EQ(p.n_trusted, 0);
    CHECK_STR_EQ(p.real_ip_header, "X-Forwarded-For");
    CHECK_INT_EQ(p.spoe.idle, 30000);
    CHECK_INT_EQ(p.spoe.fail_mode, PARAMS_FAIL_DENY);
    CHECK_INT_EQ(p.spoe.workers, 0);
    CHECK_INT_EQ(p.access_log.format, PARAMS_LOG_HTTP);
    CHECK_STR_EQ(p.default_cert, "");
    CHECK_STR_EQ(p.error_pages, "");
    CHECK(strstr(pr.text, "spec.timeouts.server: must be a duration") != NULL);
    CHECK(strstr(pr.text, "spec.maxconn: must be an integer from 1 to 10000000") != NULL);
    CHECK(strstr(pr.text, "spec.loadBalance: must be one of roundrobin") != NULL);
    CHECK(strstr(pr.text, "spec.spoe.failMode: must be one of deny, allow") != NULL);
    CHECK(strstr(pr.text, "spec.realIP.trustedProxies[0]") != NULL);
    CHECK(strstr(pr.text, "spec.accessLog.custom: must be one line") != NULL);
    CHECK(strstr(pr.text, "spec.frobnicate: unknown field") != NULL);
    CHECK(strstr(pr.text, "spec.tls.cipherSuites") != NULL);
    /* No reported text carries the hostile bytes (a newline) onward. */
    CHECK(strstr(pr.text, "option nolog") == NULL);
}

static void test_wrong_shapes(void)
{
    struct ingress_params p, d;
    struct problems pr;
    params_defaults(&d);
    CHECK_INT_EQ(parse_text("[1,2]", NULL, &p, &pr), 1);
    CHECK(params_equal(&p, &d));
    CHECK(parse_text("{\"listen\":3,\"timeouts\":[],\"hsts\":\"on\",\"spoe\":{\"timeouts\":1},"
                     "\"realIP\":{\"trustedProxies\":\"10.0.0.0/8\"}}",
                     NULL, &p, &pr) == 5);
    CHECK(params_equal(&p, &d));
    CHECK_INT_EQ(parse_text("{\"listen\":{\"httpPort\":8000,\"httpsPort\":8000}}", NULL, &p, &pr),
                 1);
    CHECK_INT_EQ(p.http_port, 0);
    CHECK_INT_EQ(parse_text("{\"accessLog\":{\"format\":\"custom\"}}", NULL, &p, &pr), 1);
    CHECK(strstr(pr.text, "required with format custom") != NULL);
    CHECK_INT_EQ(p.access_log.format, PARAMS_LOG_HTTP);
    /* 65 trusted proxies: one too many. */
    char big[8192] = "{\"realIP\":{\"trustedProxies\":[";
    for (int i = 0; i < 65; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"10.0.%d.0/24\"", i ? "," : "",
                 i);
    strcat(big, "]}}");
    CHECK_INT_EQ(parse_text(big, NULL, &p, &pr), 1);
    CHECK_INT_EQ(p.n_trusted, 0);
    /* An embedded NUL in a string is not a shorter string. */
    CHECK_INT_EQ(parse_text("{\"realIP\":{\"header\":\"X-Real\\u0000IP\"}}", NULL, &p, &pr), 1);
    CHECK_STR_EQ(p.real_ip_header, "X-Forwarded-For");
}

static void test_compare(void)
{
    struct ingress_params a, b;
    params_defaults(&a);
    b = a;
    CHECK_INT_EQ(params_compare(&a, &b), 0);
    b.maxconn = 100;
    CHECK_INT_EQ(params_compare(&a, &b), PARAMS_CHANGE_RELOAD); /* from unset */
    a.maxconn = 200;
    CHECK_INT_EQ(params_compare(&a, &b), PARAMS_CHANGE_RUNTIME);
    b = a;
    b.hsts.enabled = true;
    CHECK_INT_EQ(params_compare(&a, &b), PARAMS_CHANGE_RELOAD);
    b = a;
    b.ssl_redirect = false;
    CHECK_INT_EQ(params_compare(&a, &b), PARAMS_CHANGE_MODEL);
    b = a;
    b.spoe.workers = 4;
    CHECK_INT_EQ(params_compare(&a, &b), PARAMS_CHANGE_OTHER);
}

static json_t *obj(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (!o)
        printf("#   bad test JSON: %s\n", e.text);
    return o;
}

static void put(struct store *s, const char *text)
{
    json_t *o = obj(text);
    store_upsert(s, o);
    json_decref(o);
}

static void test_ref(void)
{
    struct store *classes = store_new("IngressClass", NULL);
    struct store *params = store_new("IngressParameters", NULL);
    json_t *o;
    char key[600], problem[200];
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_NONE);
    put(classes, ("{\"metadata\":{\"name\":\"spoke\",\"resourceVersion\":\"1\"},"
                  "\"spec\":{\"controller\":\"spoke.dev/ingress-controller\","
                  "\"parameters\":{\"apiGroup\":\"spoke.dev\",\"kind\":"
                  "\"IngressParameters\",\"name\":\"p\",\"scope\":\"Cluster\"}}}"));
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_MISSING);
    CHECK_STR_EQ(key, "sys/p");
    put(params, ("{\"metadata\":{\"name\":\"p\",\"namespace\":\"sys\","
                 "\"resourceVersion\":\"2\"},\"spec\":{}}"));
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_FOUND);
    CHECK(o != NULL);
    put(classes, ("{\"metadata\":{\"name\":\"spoke\",\"resourceVersion\":\"3\"},"
                  "\"spec\":{\"controller\":\"spoke.dev/ingress-controller\","
                  "\"parameters\":{\"apiGroup\":\"spoke.dev\",\"kind\":"
                  "\"IngressParameters\",\"name\":\"p\",\"scope\":\"Namespace\","
                  "\"namespace\":\"team\"}}}"));
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_MISSING);
    CHECK_STR_EQ(key, "team/p");
    put(classes, ("{\"metadata\":{\"name\":\"spoke\",\"resourceVersion\":\"4\"},"
                  "\"spec\":{\"controller\":\"spoke.dev/ingress-controller\","
                  "\"parameters\":{\"apiGroup\":\"example.com\",\"kind\":\"Foo\","
                  "\"name\":\"p\"}}}"));
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_INVALID);
    CHECK(strstr(problem, "spoke.dev") != NULL);
    put(classes, ("{\"metadata\":{\"name\":\"spoke\",\"resourceVersion\":\"5\"},"
                  "\"spec\":{\"controller\":\"example.com/other\","
                  "\"parameters\":{\"apiGroup\":\"spoke.dev\",\"kind\":"
                  "\"IngressParameters\",\"name\":\"p\"}}}"));
    CHECK_INT_EQ(params_ref_find(classes, params, "spoke", "sys", &o, key, sizeof(key), problem,
                                 sizeof(problem)),
                 PARAMS_REF_NONE);
    store_free(classes);
    store_free(params);
}

static const char *cond_field(const json_t *st, const char *type, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0)
            return json_string_value(json_object_get(c, field));
    }
    return NULL;
}

/* lastTransitionTime moves only when a condition's status does; lastApplied
 * stays when the report has no method. */
static void test_status_transitions(void)
{
    struct params_status_report rep = {.generation = 2,
                                       .problems = "",
                                       .applied = true,
                                       .applied_reason = "RuntimeAPI",
                                       .applied_message = "",
                                       .method = "RuntimeAPI",
                                       .time = "2024-01-01T00:00:00Z"};
    json_t *a = params_status_build(NULL, &rep, "T1");
    CHECK_INT_EQ(json_integer_value(json_object_get(a, "observedGeneration")), 2);
    CHECK_STR_EQ(cond_field(a, "Accepted", "status"), "True");
    CHECK_STR_EQ(cond_field(a, "Accepted", "lastTransitionTime"), "T1");
    CHECK_STR_EQ(cond_field(a, "Applied", "reason"), "RuntimeAPI");
    rep.generation = 3;
    rep.problems = "spec.maxconn: must be an integer from 1 to 10000000";
    rep.method = NULL;
    rep.applied_reason = "None";
    json_t *b = params_status_build(a, &rep, "T2");
    CHECK_STR_EQ(cond_field(b, "Accepted", "status"), "False");
    CHECK_STR_EQ(cond_field(b, "Accepted", "reason"), "InvalidValues");
    CHECK_STR_EQ(cond_field(b, "Accepted", "lastTransitionTime"), "T2");
    CHECK_STR_EQ(cond_field(b, "Accepted", "message"), rep.problems);
    CHECK_STR_EQ(cond_field(b, "Applied", "lastTransitionTime"), "T1"); /* still True */
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(b, "lastApplied"), "method")),
                 "RuntimeAPI");
    rep.applied = false;
    rep.applied_reason = "ReloadPending";
    json_t *c = params_status_build(b, &rep, "T3");
    CHECK_STR_EQ(cond_field(c, "Applied", "status"), "False");
    CHECK_STR_EQ(cond_field(c, "Applied", "lastTransitionTime"), "T3");
    CHECK_STR_EQ(cond_field(c, "Accepted", "lastTransitionTime"), "T2");
    json_t *same = params_status_build(c, &rep, "T4");
    CHECK(json_equal(same, c)); /* nothing to patch */
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(same);
}

TEST_MAIN(TEST_CASE(test_status_transitions), TEST_CASE(test_defaults), TEST_CASE(test_every_field),
          TEST_CASE(test_hostile_values_keep_the_running_value), TEST_CASE(test_wrong_shapes),
          TEST_CASE(test_compare), TEST_CASE(test_ref))
