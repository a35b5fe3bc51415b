/* test_route_match.c - the reference matcher against the Kubernetes Ingress
 * documentation: the path matching examples table, host and wildcard
 * precedence, Host header handling, and rewrites. Every case is also looked
 * up in the rendered routes map (map_render.h), which must agree. */
#include <stdlib.h>

#include "model/map_render.h"
#include "model/route_match.h"
#include "model/routes.h"
#include "json_text.h"
#include "test.h"

/* A model from rules written "HOST TYPE PATH" (HOST "-" for none, TYPE E,
 * P or I), one per line, each to its own Service, plus a default backend. */
static struct routing_model *model_from(const char *rules)
{
    json_t *services = json_array(), *paths_by_host = json_object(), *rules_json = json_array();
    char line[512];
    int n = 0;
    for (const char *p = rules; *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        char host[256], type[4], path[256];
        if (sscanf(line, "%255s %3s %255s", host, type, path) != 3)
            continue;
        const char *t = type[0] == 'E'   ? "Exact"
                        : type[0] == 'P' ? "Prefix"
                                         : "ImplementationSpecific";
        json_array_append_new(services, J("{'metadata': {'namespace': 'ns', 'name': 's%d'}, "
                                          "'spec': {'ports': [{'port': 80}]}}",
                                          n));
        json_t *list = json_object_get(paths_by_host, host);
        if (!list) {
            list = json_array();
            json_object_set_new(paths_by_host, host, list);
        }
        json_array_append_new(list, J("{'path': '%s', 'pathType': '%s', 'backend': {'service': "
                                      "{'name': 's%d', 'port': {'number': 80}}}}",
                                      path, t, n));
        n++;
    }
    json_array_append_new(services, J("{'metadata': {'namespace': 'ns', 'name': 'fallback'}, "
                                      "'spec': {'ports': [{'port': 80}]}}"));
    const char *host;
    json_t *list;
    json_object_foreach(paths_by_host, host, list)
    {
        json_t *rule = json_pack("{s:{s:O}}", "http", "paths", list);
        if (strcmp(host, "-") != 0)
            json_object_set_new(rule, "host", json_string(host));
        json_array_append_new(rules_json, rule);
    }
    json_t *ing = J("{'metadata': {'namespace': 'ns', 'name': 'i', 'creationTimestamp': "
                    "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke'}}");
    json_object_set_new(json_object_get(ing, "spec"), "rules", rules_json);
    json_t *ings = json_array();
    json_array_append_new(ings, ing);
    struct model_objects in = {NULL, ings, services, NULL, NULL, "spoke", "ns/fallback:80"};
    struct routing_model *m = model_build_objects(&in);
    for (size_t i = 0; i < m->n_problems; i++)
        printf("#   problem: %s\n", m->problems[i].message);
    json_decref(services);
    json_decref(paths_by_host);
    json_decref(ings);
    return m;
}

/* "TYPE PATH" of the matched route, "default" or "404". */
static const char *describe(const struct model_route *r, const struct routing_model *m, char *buf,
                            size_t len)
{
    if (!r)
        return "404";
    if (r == m->default_route)
        return "default";
    snprintf(buf, len, "%s%s%s %s", *r->host ? r->host : "", *r->host ? " " : "",
             r->type == MODEL_PATH_EXACT    ? "E"
             : r->type == MODEL_PATH_PREFIX ? "P"
                                            : "I",
             r->path);
    return buf;
}

/* Checks that route_match and the map lookup both give want. */
static void expect(const struct routing_model *m, const char *host, const char *path,
                   const char *want, int line)
{
    char buf[600];
    const struct model_route *r = route_match(m, host, path);
    const char *got = describe(r, m, buf, sizeof(buf));
    if (strcmp(got, want) != 0) {
        printf("#   line %d: %s %s -> %s, expected %s\n", line, host ? host : "(no host)", path,
               got, want);
        test_failures_in_current++;
    }
    struct map_rendered maps;
    char err[256];
    if (map_render(m, NULL, NULL, &maps, err, sizeof(err)) != 0) {
        printf("#   map_render: %s\n", err);
        test_failures_in_current++;
        return;
    }
    const struct map_kv *e = map_sim_lookup(&maps, host, path);
    char id[64] = "";
    if (e)
        map_value_field(e->value, MAP_FIELD_ROUTE, id, sizeof(id));
    if (strcmp(id, r ? r->id : "") != 0) {
        printf("#   line %d: %s %s: map gives %s, matcher %s\n", line, host ? host : "(no host)",
               path, e ? e->value : "nothing", r ? r->id : "nothing");
        test_failures_in_current++;
    }
    map_rendered_free(&maps);
}

#define EXPECT(m, host, path, want) expect(m, host, path, want, __LINE__)

/* kubernetes.io/docs/concepts/services-networking/ingress/#examples */
static void test_kubernetes_examples_table(void)
{
    static const struct {
        const char *rules;   /* as model_from takes them */
        const char *request; /* path */
        const char *want;    /* matched "TYPE PATH" or "default" (no match) */
    } rows[] = {
        {"- P /", "/", "P /"},
        {"- P /", "/anything/at/all", "P /"},
        {"- E /foo", "/foo", "E /foo"},
        {"- E /foo", "/bar", "default"},
        {"- E /foo", "/foo/", "default"},
        {"- E /foo/", "/foo", "default"},
        {"- P /foo", "/foo", "P /foo"},
        {"- P /foo", "/foo/", "P /foo"},
        {"- P /foo/", "/foo", "P /foo"},
        {"- P /foo/", "/foo/", "P /foo"},
        {"- P /aaa/bb", "/aaa/bbb", "default"},
        {"- P /aaa/bbb", "/aaa/bbb", "P /aaa/bbb"},
        {"- P /aaa/bbb/", "/aaa/bbb", "P /aaa/bbb"},    /* ignores trailing slash */
        {"- P /aaa/bbb", "/aaa/bbb/", "P /aaa/bbb"},    /* matches trailing slash */
        {"- P /aaa/bbb", "/aaa/bbb/ccc", "P /aaa/bbb"}, /* matches subpath */
        {"- P /aaa/bbb", "/aaa/bbbxyz", "default"},     /* not a string prefix */
        {"- P /\n- P /aaa", "/aaa/ccc", "P /aaa"},      /* matches /aaa prefix */
        {"- P /\n- P /aaa\n- P /aaa/bbb", "/aaa/bbb", "P /aaa/bbb"},
        {"- P /\n- P /aaa\n- P /aaa/bbb", "/ccc", "P /"}, /* matches / prefix */
        {"- P /aaa", "/ccc", "default"},                  /* uses default backend */
        {"- P /foo\n- E /foo", "/foo", "E /foo"},         /* prefers Exact */
        /* More of the same rules. */
        {"- P /foo\n- E /foo", "/foo/", "P /foo"},
        {"- P /foo\n- E /foo/bar", "/foo/bar/", "P /foo"},
        {"- P /foo\n- P /foo/bar", "/foo/bar", "P /foo/bar"},
        {"- P /foo\n- P /foo/bar", "/foo/barbaz", "P /foo"},
        {"- P /foo\n- P /foo/bar", "/foo//bar", "P /foo"},
        {"- E /foo\n- P /", "/FOO", "P /"}, /* paths are case sensitive */
        {"- I /foo", "/foo/x", "I /foo"},   /* ImplementationSpecific: as Prefix */
        {"- I /foo", "/foox", "default"},
        {"- P /a%20b", "/a%20b/c", "P /a%20b"}, /* no percent-decoding */
        {"- P /a%20b", "/a b/c", "default"},
        {"- P /", "*", "default"}, /* not a path */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct routing_model *m = model_from(rows[i].rules);
        expect(m, "example.com", rows[i].request, rows[i].want, (int)i);
        model_free(m);
    }
}

static void test_hosts_and_wildcards(void)
{
    struct routing_model *m = model_from("foo.bar.com P /\n"
                                         "*.foo.com P /\n"
                                         "bar.foo.com E /e\n"
                                         "- P /x\n");
    EXPECT(m, "foo.bar.com", "/anything", "foo.bar.com P /");
    EXPECT(m, "FOO.Bar.COM:8080", "/", "foo.bar.com P /"); /* case, port */
    EXPECT(m, "bar.foo.com", "/", "*.foo.com P /");        /* one label */
    EXPECT(m, "baz.bar.foo.com", "/x", "P /x");            /* two labels: no */
    EXPECT(m, "baz.bar.foo.com", "/", "default");
    EXPECT(m, "foo.com", "/", "default");               /* the bare parent: no */
    EXPECT(m, "bar.foo.com", "/e", "bar.foo.com E /e"); /* exact host first */
    EXPECT(m, "bar.foo.com", "/e/", "*.foo.com P /");   /* then the wildcard */
    EXPECT(m, "other.com", "/x/y", "P /x");
    EXPECT(m, NULL, "/x", "P /x");
    EXPECT(m, "", "/x", "P /x");
    EXPECT(m, ":80", "/x", "P /x");
    /* Unusable Host headers only reach host-less rules. */
    EXPECT(m, "foo.bar.com/x", "/y", "default");
    EXPECT(m, "foo.bar.com/x", "/x", "P /x");
    EXPECT(m, "[::1]:80", "/x", "P /x");
    EXPECT(m, "*.foo.com", "/", "default");
    EXPECT(m, ".foo.com", "/", "default");
    EXPECT(m, "-x.foo.com", "/", "default");
    EXPECT(m, "foo.bar.com.", "/", "default"); /* trailing dot: another name */
    EXPECT(m, "foo.bar.com\n", "/", "default");
    model_free(m);

    /* Rules from several Ingresses for one host merge; hosts are lowercased. */
    m = model_from("A.example.com P /a\n"
                   "a.example.com E /b\n"
                   "*.example.com P /c\n");
    EXPECT(m, "a.example.com", "/a/1", "a.example.com P /a");
    EXPECT(m, "a.example.com", "/b", "a.example.com E /b");
    EXPECT(m, "a.example.com", "/c", "*.example.com P /c");
    EXPECT(m, "b.example.com", "/c/d", "*.example.com P /c");
    EXPECT(m, "b.example.com", "/a", "default");
    model_free(m);

    /* Without a default backend: 404. */
    m = model_from("a.com P /a\n");
    free(m->default_route);
    m->default_route = NULL;
    EXPECT(m, "a.com", "/b", "404");
    EXPECT(m, "a.com", "/a", "a.com P /a");
    model_free(m);
}

static void test_path_matches(void)
{
    struct model_route r = {.host = "", .path = "/foo", .type = MODEL_PATH_PREFIX};
    CHECK(route_path_matches(&r, "/foo"));
    CHECK(route_path_matches(&r, "/foo/"));
    CHECK(route_path_matches(&r, "/foo/bar"));
    CHECK(!route_path_matches(&r, "/foobar"));
    CHECK(!route_path_matches(&r, "/fo"));
    CHECK(!route_path_matches(&r, "foo"));
    CHECK(!route_path_matches(&r, NULL));
    r.path = "/";
    CHECK(route_path_matches(&r, "/"));
    CHECK(route_path_matches(&r, "/x"));
    CHECK(!route_path_matches(&r, ""));
    r.type = MODEL_PATH_EXACT;
    CHECK(route_path_matches(&r, "/"));
    CHECK(!route_path_matches(&r, "/x"));
    const char *host;
    size_t len;
    CHECK(route_match_host("Example.com:443", &host, &len) && len == 11);
    CHECK(!route_match_host("", &host, &len));
    CHECK(!route_match_host("a_b.com", &host, &len));
    CHECK(!route_match_host(NULL, &host, &len));
}

static void test_rewrite(void)
{
    char out[256];
    struct model_route r = {
        .host = "", .path = "/api", .type = MODEL_PATH_PREFIX, .rewrite_target = "/v2"};
    CHECK(route_match_rewrite(&r, "/api", out, sizeof(out)) > 0 && strcmp(out, "/v2") == 0);
    CHECK(route_match_rewrite(&r, "/api/x", out, sizeof(out)) > 0 && strcmp(out, "/v2/x") == 0);
    CHECK(route_match_rewrite(&r, "/api/", out, sizeof(out)) > 0 && strcmp(out, "/v2/") == 0);
    r.rewrite_target = "/";
    CHECK(route_match_rewrite(&r, "/api/x", out, sizeof(out)) > 0 && strcmp(out, "/x") == 0);
    CHECK(route_match_rewrite(&r, "/api", out, sizeof(out)) > 0 && strcmp(out, "/") == 0);
    r.rewrite_target = "/new/";
    CHECK(route_match_rewrite(&r, "/api/x", out, sizeof(out)) > 0 && strcmp(out, "/new/x") == 0);
    r.path = "/";
    CHECK(route_match_rewrite(&r, "/x/y", out, sizeof(out)) > 0 && strcmp(out, "/new/x/y") == 0);
    CHECK(route_match_rewrite(&r, "/", out, sizeof(out)) > 0 && strcmp(out, "/new/") == 0);
    r.type = MODEL_PATH_EXACT;
    r.path = "/exact";
    r.rewrite_target = "/other";
    CHECK(route_match_rewrite(&r, "/exact", out, sizeof(out)) > 0 && strcmp(out, "/other") == 0);
    r.rewrite_target = NULL;
    CHECK(route_match_rewrite(&r, "/exact", out, sizeof(out)) > 0 && strcmp(out, "/exact") == 0);
    CHECK(route_match_rewrite(&r, "/exact", out, 3) == -1);
}

TEST_MAIN(TEST_CASE(test_kubernetes_examples_table), TEST_CASE(test_hosts_and_wildcards),
          TEST_CASE(test_path_matches), TEST_CASE(test_rewrite))
