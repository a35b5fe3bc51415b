/* test_model_map_render.c - the routes map rendered from a model: keys,
 * values, backend names, the default entry, and the simulated HAProxy
 * lookup and rewrite on it. */
#include <stdlib.h>

#include "haproxy/cli_escape.h"
#include "model/map_render.h"
#include "model/route_match.h"
#include "model/routes.h"
#include "json_text.h"
#include "test.h"

static const char *path_json(const char *path, const char *type, const char *svc)
{
    static char buf[8][256];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, 256,
             "{'path': '%s', 'pathType': '%s', 'backend': {'service': {'name': '%s', 'port': "
             "{'number': 80}}}}",
             path, type, svc);
    return b;
}

/* The model of the tests below. */
static struct routing_model *sample_model(void)
{
    json_t *services = json_array();
    const char *names[] = {"s1", "s2", "s3", "s4", "s5", "fallback"};
    for (size_t i = 0; i < 6; i++)
        json_array_append_new(services, J("{'metadata': {'namespace': 'ns', 'name': '%s'}, "
                                          "'spec': {'ports': [{'port': 80}]}}",
                                          names[i]));
    json_t *ings = json_array();
    json_array_append_new(
        ings, J("{'metadata': {'namespace': 'ns', 'name': 'site', 'creationTimestamp': "
                "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'tls': "
                "[{'hosts': ['a.com']}], 'rules': ["
                "{'host': 'a.com', 'http': {'paths': [%s, %s, %s]}},"
                "{'host': '*.w.com', 'http': {'paths': [%s]}}]}}",
                path_json("/e", "Exact", "s1"), path_json("/e", "Prefix", "s2"),
                path_json("/", "Prefix", "s3"), path_json("/p/", "ImplementationSpecific", "s4")));
    json_array_append_new(
        ings, J("{'metadata': {'namespace': 'ns', 'name': 'api', 'creationTimestamp': "
                "'2024-01-01T00:00:00Z', 'annotations': {'spoke.dev/rewrite-target': '/v2/', "
                "'spoke.dev/timeout-server': '5s', 'spoke.dev/permanent-redirect': "
                "'https://b.com/x?y=1'}}, 'spec': {'ingressClassName': 'spoke', 'rules': "
                "[{'http': {'paths': [%s, %s]}}]}}",
                path_json("/x", "Prefix", "s5"), path_json("/gone", "Exact", "missing")));
    struct model_objects in = {NULL, ings, services, NULL, NULL, "spoke", "ns/fallback:80"};
    struct routing_model *m = model_build_objects(&in);
    json_decref(services);
    json_decref(ings);
    return m;
}

static const struct model_route *route_at(const struct routing_model *m, const char *host,
                                          const char *path, enum model_path_type t)
{
    for (size_t i = 0; i < m->n_routes; i++)
        if (strcmp(m->routes[i].host, host) == 0 && strcmp(m->routes[i].path, path) == 0 &&
            m->routes[i].type == t)
            return &m->routes[i];
    return NULL;
}

static void test_keys_and_values(void)
{
    struct routing_model *m = sample_model();
    struct map_rendered r;
    char err[256] = "";
    CHECK_INT_EQ(map_render(m, NULL, NULL, &r, err, sizeof(err)), 0);
    static const char *const keys[] = {"=*.w.com/p", "=/gone",      "=/x",
                                       "=a.com/e",   "^*.w.com/p/", "^/x/",
                                       "^a.com/",    "^a.com/e/",   "default"};
    CHECK_INT_EQ(r.n, sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < r.n && i < sizeof(keys) / sizeof(keys[0]); i++)
        CHECK_STR_EQ(r.entries[i].key, keys[i]);

    const struct model_route *exact = route_at(m, "a.com", "/e", MODEL_PATH_EXACT);
    const struct model_route *prefix = route_at(m, "a.com", "/e", MODEL_PATH_PREFIX);
    const struct model_route *x = route_at(m, "", "/x", MODEL_PATH_PREFIX);
    const struct model_route *gone = route_at(m, "", "/gone", MODEL_PATH_EXACT);
    CHECK(exact && prefix && x && gone && m->default_route);
    if (!exact || !prefix || !x || !gone || !m->default_route) {
        map_rendered_free(&r);
        model_free(m);
        return;
    }
    char want[512];
    /* The Exact rule owns "=a.com/e"; the Prefix rule only "^a.com/e/". */
    snprintf(want, sizeof(want), "ns_s1_80|%s|s||||||", exact->id);
    CHECK_STR_EQ(r.entries[3].value, want);
    snprintf(want, sizeof(want), "ns_s2_80|%s|s||||||", prefix->id);
    CHECK_STR_EQ(r.entries[7].value, want);
    snprintf(want, sizeof(want), "ns_s5_80|%s|wrt|5000|1|/v2||https://b.com/x?y=1|", x->id);
    CHECK_STR_EQ(r.entries[2].value, want);
    CHECK_STR_EQ(r.entries[5].value, want);
    snprintf(want, sizeof(want), "spoke_unavailable|%s|wrt|5000|1|/v2||https://b.com/x?y=1|",
             gone->id);
    CHECK_STR_EQ(r.entries[1].value, want);
    snprintf(want, sizeof(want), "ns_fallback_80|%s|-||||||", m->default_route->id);
    CHECK_STR_EQ(r.entries[8].value, want);

    /* Every entry is one HAProxy takes as it is, in a payload or a file. */
    for (size_t i = 0; i < r.n; i++) {
        CHECK_INT_EQ(cli_check_map_key(r.entries[i].key), CLI_ESCAPE_OK);
        CHECK_INT_EQ(cli_check_map_value(r.entries[i].value), CLI_ESCAPE_OK);
        char f[64];
        CHECK(map_value_field(r.entries[i].value, MAP_FIELD_REDIRECT, f, sizeof(f)) >= 0);
        CHECK(map_value_field(r.entries[i].value, MAP_FIELD_CANARY, f, sizeof(f)) >= 0);
        CHECK(map_value_field(r.entries[i].value, MAP_FIELD_CANARY + 1, f, sizeof(f)) < 0);
    }
    map_rendered_free(&r);
    model_free(m);
}

static const char *slot_name(void *ud, const struct model_backend *b)
{
    (void)ud;
    if (strcmp(b->id, "ns_s1_80") == 0)
        return "pool_http-roundrobin_7";
    if (strcmp(b->id, "ns_s2_80") == 0)
        return "bad name";
    return NULL;
}

static const char *slot_name_ok(void *ud, const struct model_backend *b)
{
    return strcmp(b->id, "ns_s2_80") == 0 ? NULL : slot_name(ud, b);
}

static void test_backend_names(void)
{
    struct routing_model *m = sample_model();
    struct map_rendered r;
    char err[256] = "";
    CHECK_INT_EQ(map_render(m, slot_name, NULL, &r, err, sizeof(err)), -1);
    CHECK(strstr(err, "not a valid HAProxy name") != NULL);
    CHECK(r.n == 0 && r.entries == NULL);
    CHECK_INT_EQ(map_render(m, slot_name_ok, NULL, &r, err, sizeof(err)), 0);
    char b[64];
    CHECK(map_value_field(r.entries[3].value, MAP_FIELD_BACKEND, b, sizeof(b)) > 0 &&
          strcmp(b, "pool_http-roundrobin_7") == 0);
    /* No slot yet: 503 until there is one. */
    CHECK(map_value_field(r.entries[7].value, MAP_FIELD_BACKEND, b, sizeof(b)) > 0 &&
          strcmp(b, MAP_BACKEND_UNAVAILABLE) == 0);
    map_rendered_free(&r);
    model_free(m);
}

static void test_lookup_and_rewrite(void)
{
    struct routing_model *m = sample_model();
    struct map_rendered r;
    char err[256];
    CHECK_INT_EQ(map_render(m, NULL, NULL, &r, err, sizeof(err)), 0);
    static const struct {
        const char *host, *path, *key, *rewritten;
    } cases[] = {
        {"a.com", "/e", "=a.com/e", "/e"},          {"A.COM:80", "/e/", "^a.com/e/", "/e/"},
        {"a.com", "/e/f", "^a.com/e/", "/e/f"},     {"a.com", "/ef", "^a.com/", "/ef"},
        {"a.com", "/x/1", "^a.com/", "/x/1"}, /* the host tier wins */
        {"b.com", "/x/1", "^/x/", "/v2/1"},         {"b.com", "/x", "=/x", "/v2"},
        {"b.com", "/xy", "default", "/xy"},         {"q.w.com", "/p", "=*.w.com/p", "/p"},
        {"q.w.com", "/p/q", "^*.w.com/p/", "/p/q"}, {"r.q.w.com", "/p/q", "default", "/p/q"},
        {"w.com", "/p", "default", "/p"},           {NULL, "/gone", "=/gone", "/v2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct map_kv *e = map_sim_lookup(&r, cases[i].host, cases[i].path);
        CHECK(e != NULL);
        if (!e)
            continue;
        if (strcmp(e->key, cases[i].key) != 0)
            printf("#   case %zu: key %s, expected %s\n", i, e->key, cases[i].key);
        CHECK(strcmp(e->key, cases[i].key) == 0);
        char out[256], ref[256];
        CHECK(map_sim_rewrite(e->value, cases[i].path, out, sizeof(out)) > 0);
        CHECK_STR_EQ(out, cases[i].rewritten);
        const struct model_route *rt = route_match(m, cases[i].host, cases[i].path);
        CHECK(rt && route_match_rewrite(rt, cases[i].path, ref, sizeof(ref)) > 0);
        CHECK_STR_EQ(ref, out);
    }
    map_rendered_free(&r);
    model_free(m);
}

static void test_empty_model(void)
{
    struct model_objects in = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    struct routing_model *m = model_build_objects(&in);
    struct map_rendered r;
    char err[64];
    CHECK_INT_EQ(map_render(m, NULL, NULL, &r, err, sizeof(err)), 0);
    CHECK_INT_EQ(r.n, 0);
    CHECK(map_sim_lookup(&r, "a.com", "/") == NULL);
    map_rendered_free(&r);
    model_free(m);
    char f[8];
    CHECK_INT_EQ(map_value_field("a|bb|", 2, f, sizeof(f)), 2);
    CHECK_INT_EQ(map_value_field("a|bb|", 3, f, sizeof(f)), 0);
    CHECK_INT_EQ(map_value_field("a|bb|", 4, f, sizeof(f)), -1);
    CHECK_INT_EQ(map_value_field("a|bb|", 0, f, sizeof(f)), -1);
    CHECK_INT_EQ(map_value_field("abcdefghij", 1, f, sizeof(f)), -1);
}

TEST_MAIN(TEST_CASE(test_keys_and_values), TEST_CASE(test_backend_names),
          TEST_CASE(test_lookup_and_rewrite), TEST_CASE(test_empty_model))
