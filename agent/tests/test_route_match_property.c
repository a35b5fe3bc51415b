/* test_route_match_property.c - property test: for many random sets of
 * Ingress rules (hosts, wildcards, Exact / Prefix / ImplementationSpecific
 * paths, conflicts, defaults, rewrites) and random requests, the simulated
 * HAProxy lookup over the rendered routes map (map_render.h) sends each
 * request exactly where the reference matcher (route_match.h) says, with the
 * same rewritten path. Fixed seeds: a failure always reproduces. */
#include <stdint.h>
#include <stdlib.h>

#include "model/map_render.h"
#include "model/route_match.h"
#include "model/routes.h"
#include "test.h"

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t pick(size_t n)
{
    return (size_t)(next() % n);
}

#define PICK(arr) ((arr)[pick(sizeof(arr) / sizeof((arr)[0]))])

static const char *const rule_hosts[] = {"",
                                         "",
                                         "a.example.com",
                                         "b.example.com",
                                         "*.example.com",
                                         "example.com",
                                         "x.a.example.com",
                                         "*.a.example.com",
                                         "A.Example.com",
                                         "*.b.example.com"};
static const char *const request_hosts[] = {
    "a.example.com",  "b.example.com",      "example.com",     "x.a.example.com",
    "c.example.com",  "A.EXAMPLE.COM:8080", "z.a.example.com", "y.x.a.example.com",
    "example.com:80", "q.b.example.com",    "b.example.com.",  "",
    "[::1]:80",       "a.example.com/a",    "*.example.com",   ".example.com",
    "localhost",      "other.org",          "B.example.COM",   "x.a.example.com:1"};
static const char *const rule_elements[] = {"a", "b", "ab", "a.b", "x-y"};
static const char *const request_elements[] = {"a", "b", "ab", "a.b", "x-y", "", "A", "abc", "b"};
static const char *const types[] = {"Exact", "Prefix", "ImplementationSpecific"};
static const char *const rewrites[] = {"/", "/r", "/r/s/"};

static void random_path(char *out, size_t len, bool request)
{
    size_t depth = pick(request ? 5 : 4), n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < depth; i++)
        n += (size_t)snprintf(out + n, len - n, "/%s",
                              request ? PICK(request_elements) : PICK(rule_elements));
    if (depth == 0 || pick(4) == 0)
        snprintf(out + n, len - n, "/");
    if (request && pick(50) == 0)
        snprintf(out, len, "*");
}

static json_t *service(const char *name)
{
    return json_pack("{s:{s:s,s:s},s:{s:[{s:i}]}}", "metadata", "namespace", "ns", "name", name,
                     "spec", "ports", "port", 80);
}

static json_t *backend(void)
{
    char name[32];
    snprintf(name, sizeof(name), "s%zu", pick(5)); /* s4 does not exist: 503 */
    return json_pack("{s:{s:s,s:{s:i}}}", "service", "name", name, "port", "number", 80);
}

static json_t *random_ingress(int i)
{
    char name[16];
    snprintf(name, sizeof(name), "i%d", i);
    json_t *annotations = json_object();
    if (pick(3) == 0)
        json_object_set_new(annotations, "spoke.dev/rewrite-target", json_string(PICK(rewrites)));
    if (pick(5) == 0)
        json_object_set_new(annotations, "spoke.dev/ssl-redirect", json_string("true"));
    json_t *spec = json_pack("{s:s}", "ingressClassName", "spoke");
    if (pick(4) == 0)
        json_object_set_new(spec, "defaultBackend", backend());
    json_t *rules = json_array();
    size_t n_rules = pick(4);
    for (size_t r = 0; r < n_rules; r++) {
        json_t *paths = json_array();
        size_t n_paths = 1 + pick(4);
        for (size_t p = 0; p < n_paths; p++) {
            char path[128];
            random_path(path, sizeof(path), false);
            json_array_append_new(paths, json_pack("{s:s,s:s,s:o}", "path", path, "pathType",
                                                   PICK(types), "backend", backend()));
        }
        json_t *rule = json_pack("{s:{s:o}}", "http", "paths", paths);
        const char *host = PICK(rule_hosts);
        if (*host)
            json_object_set_new(rule, "host", json_string(host));
        json_array_append_new(rules, rule);
    }
    json_object_set_new(spec, "rules", rules);
    return json_pack("{s:{s:s,s:s,s:s,s:o},s:o}", "metadata", "namespace", "ns", "name", name,
                     "creationTimestamp", pick(2) ? "2024-01-01T00:00:00Z" : "2024-01-02T00:00:00Z",
                     "annotations", annotations, "spec", spec);
}

static int check_request(const struct routing_model *m, const struct map_rendered *maps,
                         const char *host, const char *path)
{
    const struct model_route *r = route_match(m, host, path);
    const struct map_kv *e = map_sim_lookup(maps, host, path);
    char id[64] = "", be[256] = "";
    if (e) {
        map_value_field(e->value, MAP_FIELD_ROUTE, id, sizeof(id));
        map_value_field(e->value, MAP_FIELD_BACKEND, be, sizeof(be));
    }
    if ((r == NULL) != (e == NULL) || (r && strcmp(r->id, id) != 0) ||
        (r && strcmp(r->backend ? r->backend : MAP_BACKEND_UNAVAILABLE, be) != 0)) {
        printf("#   %s %s: matcher says %s %s %s, map says %s\n", host ? host : "(none)", path,
               r ? r->host : "-", r ? r->path : "404", r ? model_path_type_name(r->type) : "",
               e ? e->key : "404");
        return 1;
    }
    if (r) {
        char got[512], want[512];
        int a = route_match_rewrite(r, path, want, sizeof(want));
        int b = map_sim_rewrite(e->value, path, got, sizeof(got));
        if (a < 0 || b < 0 || strcmp(got, want) != 0) {
            printf("#   %s %s: rewrite %s, map rewrite %s\n", host ? host : "(none)", path, want,
                   got);
            return 1;
        }
    }
    return 0;
}

static void run(uint64_t seed, int models, int requests_per_model)
{
    rng = seed;
    size_t cases = 0, matched_rule = 0, failures = 0;
    for (int k = 0; k < models && failures < 10; k++) {
        json_t *services = json_array(), *ings = json_array();
        for (int s = 0; s < 4; s++) {
            char name[16];
            snprintf(name, sizeof(name), "s%d", s);
            json_array_append_new(services, service(name));
        }
        size_t n_ings = 1 + pick(5);
        for (size_t i = 0; i < n_ings; i++)
            json_array_append_new(ings, random_ingress((int)i));
        struct model_objects in = {
            NULL, ings, services, NULL, NULL, "spoke", pick(2) ? "ns/s0:80" : NULL};
        struct routing_model *m = model_build_objects(&in);
        struct map_rendered maps;
        char err[256];
        if (map_render(m, NULL, NULL, &maps, err, sizeof(err)) != 0) {
            printf("#   map_render: %s\n", err);
            failures++;
        } else {
            for (int q = 0; q < requests_per_model; q++) {
                char path[128];
                random_path(path, sizeof(path), true);
                const char *host = pick(20) ? PICK(request_hosts) : NULL;
                const struct model_route *r = route_match(m, host, path);
                matched_rule += r && r != m->default_route;
                failures += (size_t)check_request(m, &maps, host, path);
                cases++;
            }
            /* Every route's own path, from a host it can match. */
            for (size_t i = 0; i < m->n_routes; i++) {
                const struct model_route *r = &m->routes[i];
                char host[300];
                snprintf(host, sizeof(host), "%s%s", r->wildcard ? "w" : "",
                         r->wildcard ? r->host + 1 : r->host);
                failures += (size_t)check_request(m, &maps, host, r->path);
                cases++;
            }
            map_rendered_free(&maps);
        }
        model_free(m);
        json_decref(services);
        json_decref(ings);
    }
    printf("# seed %llu: %zu cases, %zu matched a rule, %zu failures\n", (unsigned long long)seed,
           cases, matched_rule, failures);
    CHECK_INT_EQ(failures, 0);
    CHECK(cases >= (size_t)(models * requests_per_model));
    CHECK(matched_rule * 3 > cases); /* the generator exercises the rules */
}

static void test_map_lookup_agrees_with_matcher(void)
{
    run(0x5eed5eedULL, 60, 100);
}

static void test_map_lookup_agrees_with_matcher_dense(void)
{
    /* Fewer models, many requests each: deep overlaps within one map. */
    run(0xc0ffee1234ULL, 10, 600);
}

TEST_MAIN(TEST_CASE(test_map_lookup_agrees_with_matcher),
          TEST_CASE(test_map_lookup_agrees_with_matcher_dense))
