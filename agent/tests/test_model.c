/* test_model.c - building the routing model from Kubernetes objects: class
 * selection, paths, conflicts, ports, endpoints, defaults, TLS, annotations,
 * determinism, and the diff between two models. */
#include <stdlib.h>

#include "kube/store.h"
#include "model/annotations.h"
#include "model/ingress_class.h"
#include "model/model.h"
#include "model/model_diff.h"
#include "model/names.h"
#include "model/routes.h"
#include "json_text.h"
#include "model_checks.h"
#include "test.h"

struct fixture {
    json_t *classes, *ingresses, *services, *slices, *secrets;
};

static void fx_init(struct fixture *f)
{
    f->classes = json_array();
    f->ingresses = json_array();
    f->services = json_array();
    f->slices = json_array();
    f->secrets = json_array();
}

static void fx_free(struct fixture *f)
{
    json_decref(f->classes);
    json_decref(f->ingresses);
    json_decref(f->services);
    json_decref(f->slices);
    json_decref(f->secrets);
}

static void add(json_t *arr, json_t *obj)
{
    json_array_append_new(arr, obj);
}

static void our_class(struct fixture *f, bool is_default)
{
    add(f->classes,
        J("{'metadata': {'name': 'spoke', 'annotations': {'%s': '%s'}},"
          " 'spec': {'controller': '%s'}}",
          INGRESS_CLASS_DEFAULT_ANNO, is_default ? "true" : "false", SPOKE_CONTROLLER_NAME));
}

/* An Ingress of class spoke; spec is the JSON of everything but the class. */
static void ingress(struct fixture *f, const char *ns, const char *name, const char *created,
                    const char *annotations, const char *spec)
{
    add(f->ingresses, J("{'metadata': {'namespace': '%s', 'name': '%s', 'creationTimestamp': '%s',"
                        " 'annotations': {%s}}, 'spec': {'ingressClassName': 'spoke', %s}}",
                        ns, name, created, annotations ? annotations : "", spec));
}

/* A ClusterIP Service with one port "http" 80 -> targetPort 8080 and a slice
 * with one ready endpoint 10.0.0.N:8080. */
static void service(struct fixture *f, const char *ns, const char *name, int n)
{
    add(f->services, J("{'metadata': {'namespace': '%s', 'name': '%s'}, 'spec': {'type': "
                       "'ClusterIP', 'ports': [{'name': 'http', 'port': 80, 'targetPort': 8080}]}}",
                       ns, name));
    add(f->slices, J("{'metadata': {'namespace': '%s', 'name': '%s-abc', 'labels': "
                     "{'kubernetes.io/service-name': '%s'}}, 'addressType': 'IPv4',"
                     " 'ports': [{'name': 'http', 'port': 8080, 'protocol': 'TCP'}],"
                     " 'endpoints': [{'addresses': ['10.0.0.%d'], 'conditions': {'ready': true}}]}",
                     ns, name, name, n));
}

/* One rule: host (may be "") with one path to svc:80. */
static char *rule(const char *host, const char *path, const char *type, const char *svc)
{
    static char buf[8][512];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, 512,
             "{%s%s%s 'http': {'paths': [{'path': '%s', 'pathType': '%s', 'backend': "
             "{'service': {'name': '%s', 'port': {'number': 80}}}}]}}",
             *host ? "'host': '" : "", host, *host ? "'," : "", path, type, svc);
    return b;
}

static struct routing_model *build(struct fixture *f, const char *default_backend)
{
    struct model_objects in = {f->classes, f->ingresses, f->services,    f->slices,
                               f->secrets, "spoke",      default_backend};
    return model_build_objects(&in);
}

static void test_class_selection_rules(void)
{
    json_t *ours = J("{'metadata': {'name': 'spoke', 'annotations': {'%s': 'true'}}, 'spec': "
                     "{'controller': '%s'}}",
                     INGRESS_CLASS_DEFAULT_ANNO, SPOKE_CONTROLLER_NAME);
    json_t *ours_not_default =
        J("{'metadata': {'name': 'spoke'}, 'spec': {'controller': '%s'}}", SPOKE_CONTROLLER_NAME);
    json_t *theirs = J("{'metadata': {'name': 'spoke', 'annotations': {'%s': 'true'}}, 'spec': "
                       "{'controller': 'k8s.io/ingress-nginx'}}",
                       INGRESS_CLASS_DEFAULT_ANNO);
    json_t *by_field = J("{'spec': {'ingressClassName': 'spoke'}}");
    json_t *other_field = J("{'spec': {'ingressClassName': 'nginx'}}");
    json_t *by_anno = J("{'metadata': {'annotations': {'%s': 'spoke'}}}", INGRESS_CLASS_ANNOTATION);
    json_t *other_anno =
        J("{'metadata': {'annotations': {'%s': 'nginx'}}}", INGRESS_CLASS_ANNOTATION);
    json_t *field_wins = J("{'metadata': {'annotations': {'%s': 'spoke'}}, 'spec': "
                           "{'ingressClassName': 'nginx'}}",
                           INGRESS_CLASS_ANNOTATION);
    json_t *none = J("{'spec': {}}");

    CHECK(ingress_class_is_ours(ours));
    CHECK(!ingress_class_is_ours(theirs));
    CHECK(ingress_class_is_default(ours));
    CHECK(!ingress_class_is_default(ours_not_default));
    CHECK_INT_EQ(ingress_class_select(by_field, "spoke", ours), INGRESS_CLASS_BY_FIELD);
    CHECK_INT_EQ(ingress_class_select(by_field, "spoke", NULL), INGRESS_CLASS_BY_FIELD);
    CHECK_INT_EQ(ingress_class_select(by_field, "spoke", theirs), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(by_field, "other", NULL), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(other_field, "spoke", ours), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(by_anno, "spoke", ours), INGRESS_CLASS_BY_ANNOTATION);
    CHECK_INT_EQ(ingress_class_select(other_anno, "spoke", ours), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(field_wins, "spoke", ours), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(none, "spoke", ours), INGRESS_CLASS_BY_DEFAULT);
    CHECK_INT_EQ(ingress_class_select(none, "spoke", ours_not_default), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(none, "spoke", NULL), INGRESS_CLASS_NOT_OURS);
    CHECK_INT_EQ(ingress_class_select(none, "spoke", theirs), INGRESS_CLASS_NOT_OURS);
    json_t *all[] = {ours,    ours_not_default, theirs,     by_field, other_field,
                     by_anno, other_anno,       field_wins, none};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        json_decref(all[i]);
}

static void test_class_selection_in_build(void)
{
    struct fixture f;
    fx_init(&f);
    our_class(&f, true);
    service(&f, "default", "web", 1);
    ingress(&f, "default", "mine", "2024-01-01T00:00:00Z", NULL,
            "'rules': [{'host': 'a.example.com', 'http': {'paths': [{'path': '/', 'pathType': "
            "'Prefix', 'backend': {'service': {'name': 'web', 'port': {'number': 80}}}}]}}]");
    add(f.ingresses, J("{'metadata': {'namespace': 'default', 'name': 'nginx'}, 'spec': "
                       "{'ingressClassName': 'nginx', 'rules': [%s]}}",
                       rule("b.example.com", "/", "Prefix", "web")));
    add(f.ingresses, J("{'metadata': {'namespace': 'default', 'name': 'legacy', 'annotations': "
                       "{'%s': 'spoke'}}, 'spec': {'rules': [%s]}}",
                       INGRESS_CLASS_ANNOTATION, rule("c.example.com", "/", "Prefix", "web")));
    add(f.ingresses, J("{'metadata': {'namespace': 'default', 'name': 'classless'}, 'spec': "
                       "{'rules': [%s]}}",
                       rule("d.example.com", "/", "Prefix", "web")));
    struct routing_model *m = build(&f, NULL);
    CHECK_INT_EQ(m->n_ingresses, 3);
    CHECK_STR_EQ(m->ingresses[0], "default/classless");
    CHECK_STR_EQ(m->ingresses[1], "default/legacy");
    CHECK_STR_EQ(m->ingresses[2], "default/mine");
    CHECK(find_route(m, "a.example.com", "/", MODEL_PATH_PREFIX) != NULL);
    CHECK(find_route(m, "b.example.com", "/", MODEL_PATH_PREFIX) == NULL);
    CHECK(find_route(m, "c.example.com", "/", MODEL_PATH_PREFIX) != NULL);
    CHECK(find_route(m, "d.example.com", "/", MODEL_PATH_PREFIX) != NULL);
    CHECK_INT_EQ(m->n_problems, 0);
    done(m);

    /* Our class is no longer the default: the class-less Ingress goes. */
    json_array_clear(f.classes);
    our_class(&f, false);
    m = build(&f, NULL);
    CHECK_INT_EQ(m->n_ingresses, 2);
    CHECK(find_route(m, "d.example.com", "/", MODEL_PATH_PREFIX) == NULL);
    done(m);

    /* The class name belongs to another controller: nothing is ours. */
    json_array_clear(f.classes);
    add(f.classes, J("{'metadata': {'name': 'spoke'}, 'spec': {'controller': 'example.com/x'}}"));
    m = build(&f, NULL);
    CHECK_INT_EQ(m->n_ingresses, 0);
    CHECK_INT_EQ(m->n_routes, 0);
    CHECK(has_problem(m, "spoke", "example.com/x"));
    done(m);
    fx_free(&f);
}

static void test_paths_hosts_normalized(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    ingress(&f, "ns", "i", "2024-01-01T00:00:00Z", NULL,
            "'rules': [{'host': 'Foo.Example.COM', 'http': {'paths': ["
            "{'path': '/exact/', 'pathType': 'Exact', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}},"
            "{'path': '/pre/', 'pathType': 'Prefix', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}},"
            "{'pathType': 'ImplementationSpecific', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}}]}},"
            "{'host': '*.Wild.example.com', 'http': {'paths': [{'path': '/', 'pathType': "
            "'Prefix', 'backend': {'service': {'name': 'web', 'port': {'number': 80}}}}]}},"
            "{'http': {'paths': [{'path': '/any', 'pathType': 'Prefix', 'backend': "
            "{'service': {'name': 'web', 'port': {'number': 80}}}}]}}]");
    struct routing_model *m = build(&f, NULL);
    CHECK_INT_EQ(m->n_problems, 0);
    CHECK_INT_EQ(m->n_routes, 5);
    const struct model_route *r = find_route(m, "foo.example.com", "/exact/", MODEL_PATH_EXACT);
    CHECK(r != NULL);
    CHECK(find_route(m, "foo.example.com", "/pre", MODEL_PATH_PREFIX) != NULL);
    r = find_route(m, "foo.example.com", "/", MODEL_PATH_IMPL_SPECIFIC);
    CHECK(r != NULL);
    r = find_route(m, "*.wild.example.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->wildcard);
    r = find_route(m, "", "/any", MODEL_PATH_PREFIX);
    CHECK(r && !r->wildcard && strcmp(r->ingress, "ns/i") == 0);
    CHECK_STR_EQ(r ? r->backend : NULL, "ns_web_80");
    /* Sorted by host, path, type. */
    for (size_t i = 1; i < m->n_routes; i++) {
        int c = strcmp(m->routes[i - 1].host, m->routes[i].host);
        if (c == 0)
            c = strcmp(m->routes[i - 1].path, m->routes[i].path);
        CHECK(c < 0 || (c == 0 && m->routes[i - 1].type < m->routes[i].type));
    }
    done(m);
    fx_free(&f);
}

static void test_names_validation(void)
{
    char out[NAMES_PATH_MAX + 1];
    bool w;
    CHECK(names_host_normalize("a.b.c", out, &w) == NULL && !w);
    CHECK(names_host_normalize("*.B.c", out, &w) == NULL && w && strcmp(out, "*.b.c") == 0);
    CHECK(names_host_normalize("*", out, &w) != NULL);
    CHECK(names_host_normalize("a.*.c", out, &w) != NULL);
    CHECK(names_host_normalize("*foo.com", out, &w) != NULL);
    CHECK(names_host_normalize("exa_mple.com", out, &w) != NULL);
    CHECK(names_host_normalize("-a.com", out, &w) != NULL);
    CHECK(names_host_normalize("a..com", out, &w) != NULL);
    CHECK(names_host_normalize("a.com.", out, &w) != NULL);
    CHECK(names_host_normalize("a.com\n", out, &w) != NULL);
    char long_host[300];
    memset(long_host, 'a', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    CHECK(names_host_normalize(long_host, out, &w) != NULL);

    CHECK(names_path_normalize("/foo/", MODEL_PATH_PREFIX, out) == NULL &&
          strcmp(out, "/foo") == 0);
    CHECK(names_path_normalize("/foo/", MODEL_PATH_EXACT, out) == NULL &&
          strcmp(out, "/foo/") == 0);
    CHECK(names_path_normalize("/", MODEL_PATH_PREFIX, out) == NULL && strcmp(out, "/") == 0);
    CHECK(names_path_normalize("", MODEL_PATH_IMPL_SPECIFIC, out) == NULL && strcmp(out, "/") == 0);
    CHECK(names_path_normalize("/a/b/", MODEL_PATH_IMPL_SPECIFIC, out) == NULL &&
          strcmp(out, "/a/b") == 0);
    CHECK(names_path_normalize("/a%20b;c=d@e:f", MODEL_PATH_EXACT, out) == NULL);
    CHECK(names_path_normalize("/$1(x)*+", MODEL_PATH_PREFIX, out) == NULL);
    CHECK(names_path_normalize("", MODEL_PATH_EXACT, out) != NULL);
    CHECK(names_path_normalize(NULL, MODEL_PATH_PREFIX, out) != NULL);
    const char *bad[] = {"foo",   "/a//b", "/a/./b", "/a/../b",   "/a%2fb", "/a%2Fb", "/a/.",
                         "/a/..", "/a b",  "/a\nb",  "/a|b",      "/a#b",   "/a?b",   "/a\\b",
                         "/a\"b", "/a%zz", "/a%2",   "/\xc3\xa9", "/a[b]",  "/a{1}",  "/a^b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (names_path_normalize(bad[i], MODEL_PATH_PREFIX, out) == NULL)
            printf("#   accepted %s\n", bad[i]);
        CHECK(names_path_normalize(bad[i], MODEL_PATH_PREFIX, out) != NULL);
    }
    CHECK(names_path_normalize("/api(/|$)(.*)", MODEL_PATH_IMPL_SPECIFIC, out) != NULL);
    CHECK(strstr(names_path_normalize("/api/(.*)", MODEL_PATH_IMPL_SPECIFIC, out), "regular"));
    char long_path[NAMES_PATH_MAX + 2];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    CHECK(names_path_normalize(long_path, MODEL_PATH_PREFIX, out) != NULL);

    CHECK(names_is_port_name("http"));
    CHECK(names_is_port_name("h2c-1"));
    CHECK(!names_is_port_name("8080"));
    CHECK(!names_is_port_name("a--b"));
    CHECK(!names_is_port_name("Http"));
    CHECK(!names_is_port_name("abcdefghijklmnop"));
    CHECK(names_is_dns1035_label("web-1"));
    CHECK(!names_is_dns1035_label("1web"));
    CHECK(!names_is_dns1035_label("we.b"));
}

static void test_invalid_rules_are_skipped_and_reported(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    ingress(&f, "ns", "bad", "2024-01-01T00:00:00Z", NULL,
            "'rules': [{'host': 'bad_host.com', 'http': {'paths': [{'path': '/', 'pathType': "
            "'Prefix', 'backend': {'service': {'name': 'web', 'port': {'number': 80}}}}]}},"
            "{'host': 'ok.com', 'http': {'paths': ["
            "{'path': 'nope', 'pathType': 'Prefix', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}},"
            "{'path': '/a b', 'pathType': 'Exact', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}},"
            "{'path': '/x', 'pathType': 'Regex', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}},"
            "{'path': '/good', 'pathType': 'Prefix', 'backend': {'service': {'name': 'web', "
            "'port': {'number': 80}}}}]}}]");
    struct routing_model *m = build(&f, NULL);
    CHECK_INT_EQ(m->n_routes, 1);
    CHECK(find_route(m, "ok.com", "/good", MODEL_PATH_PREFIX) != NULL);
    CHECK(has_problem(m, "ns/bad", "host \"bad_host.com\""));
    CHECK(has_problem(m, "ns/bad", "path \"nope\" must start with '/'"));
    CHECK(has_problem(m, "ns/bad", "path \"/a b\""));
    CHECK(has_problem(m, "ns/bad", "pathType \"Regex\""));
    CHECK_INT_EQ(m->n_problems, 4);
    done(m);
    fx_free(&f);
}

static void test_conflicts(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "a", "one", 1);
    service(&f, "b", "two", 2);
    service(&f, "a", "three", 3);
    /* b/old is older than a/new: it wins although "a" sorts first. */
    add(f.ingresses,
        J("{'metadata': {'namespace': 'a', 'name': 'new', 'creationTimestamp': "
          "'2024-02-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [%s, %s]}}",
          rule("h.com", "/p/", "Prefix", "one"), rule("h.com", "/e", "Exact", "one")));
    add(f.ingresses,
        J("{'metadata': {'namespace': 'b', 'name': 'old', 'creationTimestamp': "
          "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [%s, %s]}}",
          rule("h.com", "/p", "ImplementationSpecific", "two"),
          rule("h.com", "/e", "Prefix", "two")));
    /* Same age: namespace/name decides. */
    add(f.ingresses,
        J("{'metadata': {'namespace': 'a', 'name': 'tie', 'creationTimestamp': "
          "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [%s, %s]}}",
          rule("t.com", "/", "Prefix", "three"), rule("t.com", "/", "Prefix", "one")));
    add(f.ingresses,
        J("{'metadata': {'namespace': 'b', 'name': 'tie', 'creationTimestamp': "
          "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [%s]}}",
          rule("t.com", "/", "Prefix", "two")));
    struct routing_model *m = build(&f, NULL);
    const struct model_route *r = find_route(m, "h.com", "/p", MODEL_PATH_IMPL_SPECIFIC);
    CHECK(r && strcmp(r->ingress, "b/old") == 0 && strcmp(r->backend, "b_two_80") == 0);
    CHECK(find_route(m, "h.com", "/p", MODEL_PATH_PREFIX) == NULL);
    CHECK(has_problem(m, "a/new",
                      "host \"h.com\" path \"/p\" (Prefix) is already served by "
                      "Ingress b/old"));
    /* Exact and Prefix on the same path do not conflict. */
    r = find_route(m, "h.com", "/e", MODEL_PATH_EXACT);
    CHECK(r && strcmp(r->ingress, "a/new") == 0);
    r = find_route(m, "h.com", "/e", MODEL_PATH_PREFIX);
    CHECK(r && strcmp(r->ingress, "b/old") == 0);
    r = find_route(m, "t.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && strcmp(r->ingress, "a/tie") == 0 && strcmp(r->backend, "a_three_80") == 0);
    CHECK(has_problem(m, "a/tie", "is listed twice"));
    CHECK(has_problem(m, "b/tie", "already served by Ingress a/tie"));
    CHECK_INT_EQ(m->n_routes, 4);
    CHECK_INT_EQ(m->n_problems, 3);
    done(m);
    fx_free(&f);
}

static void test_named_ports_and_missing_backends(void)
{
    struct fixture f;
    fx_init(&f);
    add(f.services, J("{'metadata': {'namespace': 'ns', 'name': 'api'}, 'spec': {'ports': ["
                      "{'name': 'dns', 'port': 53, 'protocol': 'UDP'},"
                      "{'name': 'http', 'port': 80, 'targetPort': 'web'},"
                      "{'name': 'admin', 'port': 9000, 'targetPort': 9001}]}}"));
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'api-1', 'labels': "
                    "{'kubernetes.io/service-name': 'api'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'name': 'http', 'port': 8080}, {'name': 'admin', 'port': 9001},"
                    "           {'name': 'dns', 'port': 53, 'protocol': 'UDP'}],"
                    " 'endpoints': [{'addresses': ['10.1.0.2']}, {'addresses': ['10.1.0.1']}]}"));
    add(f.ingresses,
        J("{'metadata': {'namespace': 'ns', 'name': 'i', 'creationTimestamp': "
          "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [{'http': "
          "{'paths': ["
          "{'path': '/byname', 'pathType': 'Prefix', 'backend': {'service': {'name': 'api', "
          "'port': {'name': 'http'}}}},"
          "{'path': '/bynumber', 'pathType': 'Prefix', 'backend': {'service': {'name': 'api', "
          "'port': {'number': 80}}}},"
          "{'path': '/admin', 'pathType': 'Prefix', 'backend': {'service': {'name': 'api', "
          "'port': {'number': 9000}}}},"
          "{'path': '/udp', 'pathType': 'Prefix', 'backend': {'service': {'name': 'api', "
          "'port': {'number': 53}}}},"
          "{'path': '/noport', 'pathType': 'Prefix', 'backend': {'service': {'name': 'api', "
          "'port': {'name': 'grpc'}}}},"
          "{'path': '/nosvc', 'pathType': 'Prefix', 'backend': {'service': {'name': 'gone', "
          "'port': {'number': 80}}}},"
          "{'path': '/res', 'pathType': 'Prefix', 'backend': {'resource': {'kind': 'Bucket', "
          "'name': 'b'}}}]}}]}}"));
    struct routing_model *m = build(&f, NULL);
    const struct model_route *byname = find_route(m, "", "/byname", MODEL_PATH_PREFIX);
    const struct model_route *bynum = find_route(m, "", "/bynumber", MODEL_PATH_PREFIX);
    CHECK(byname && bynum && strcmp(byname->backend, "ns_api_80") == 0 &&
          strcmp(bynum->backend, "ns_api_80") == 0);
    CHECK_INT_EQ(m->n_backends, 2);
    const struct model_backend *b = model_find_backend(m, "ns_api_80");
    CHECK(b && b->service_port == 80 && strcmp(b->port_name, "http") == 0 &&
          strcmp(b->service, "ns/api") == 0);
    CHECK(b && b->n_endpoints == 2);
    if (b && b->n_endpoints == 2) {
        CHECK_STR_EQ(b->endpoints[0].address, "10.1.0.1");
        CHECK_INT_EQ(b->endpoints[0].port, 8080);
        CHECK_STR_EQ(b->endpoints[1].address, "10.1.0.2");
    }
    b = model_find_backend(m, "ns_api_9000");
    CHECK(b && b->n_endpoints == 2 && b->endpoints[0].port == 9001);
    /* Unavailable routes stay (503) and are reported. */
    const char *unavailable[] = {"/udp", "/noport", "/nosvc", "/res"};
    for (size_t i = 0; i < 4; i++) {
        const struct model_route *r = find_route(m, "", unavailable[i], MODEL_PATH_PREFIX);
        CHECK(r && r->backend == NULL);
    }
    CHECK(has_problem(m, "ns/i", "Service ns/api has no port 53"));
    CHECK(has_problem(m, "ns/i", "Service ns/api has no port \"grpc\""));
    CHECK(has_problem(m, "ns/i", "Service ns/gone not found"));
    CHECK(has_problem(m, "ns/i", "resource backends are not supported"));
    CHECK_INT_EQ(m->n_problems, 4);
    done(m);
    fx_free(&f);
}

static void test_endpoint_conditions(void)
{
    struct fixture f;
    fx_init(&f);
    add(f.services, J("{'metadata': {'namespace': 'ns', 'name': 'web'}, 'spec': {'ports': "
                      "[{'port': 80, 'targetPort': 8080}]}}"));
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'web-a', 'labels': "
                    "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'port': 8080}],"
                    " 'endpoints': ["
                    "  {'addresses': ['10.0.0.1'], 'conditions': {'ready': true}},"
                    "  {'addresses': ['10.0.0.2'], 'conditions': {'ready': false}},"
                    "  {'addresses': ['10.0.0.3'], 'conditions': {'ready': false, 'serving': "
                    "true, 'terminating': true}},"
                    "  {'addresses': ['10.0.0.4'], 'conditions': {'ready': false, 'serving': "
                    "false, 'terminating': true}},"
                    "  {'addresses': ['10.0.0.5']},"
                    "  {'addresses': ['not-an-ip']},"
                    "  {'addresses': ['10.0.0.6;drop']}]}"));
    /* The same Pod in a second slice during a transition: kept once, ready. */
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'web-b', 'labels': "
                    "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'port': 8080}],"
                    " 'endpoints': [{'addresses': ['10.0.0.2'], 'conditions': {'ready': true}}]}"));
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'web-v6', 'labels': "
                    "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'IPv6',"
                    " 'ports': [{'port': 8080}],"
                    " 'endpoints': [{'addresses': ['fd00::1']}]}"));
    add(f.slices,
        J("{'metadata': {'namespace': 'ns', 'name': 'web-fqdn', 'labels': "
          "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'FQDN',"
          " 'ports': [{'port': 8080}], 'endpoints': [{'addresses': ['x.example.com']}]}"));
    /* Other Services' slices and a slice with another port name. */
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'webx', 'labels': "
                    "{'kubernetes.io/service-name': 'webx'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'port': 8080}], 'endpoints': [{'addresses': ['10.9.9.9']}]}"));
    add(f.slices, J("{'metadata': {'namespace': 'other', 'name': 'web', 'labels': "
                    "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'port': 8080}], 'endpoints': [{'addresses': ['10.8.8.8']}]}"));
    add(f.slices, J("{'metadata': {'namespace': 'ns', 'name': 'web-named', 'labels': "
                    "{'kubernetes.io/service-name': 'web'}}, 'addressType': 'IPv4',"
                    " 'ports': [{'name': 'metrics', 'port': 9090}],"
                    " 'endpoints': [{'addresses': ['10.7.7.7']}]}"));
    ingress(&f, "ns", "i", "2024-01-01T00:00:00Z", NULL,
            "'defaultBackend': {'service': {'name': 'web', 'port': {'number': 80}}}");
    struct routing_model *m = build(&f, NULL);
    const struct model_backend *b = model_find_backend(m, "ns_web_80");
    CHECK(b != NULL);
    if (!b) {
        done(m);
        fx_free(&f);
        return;
    }
    struct {
        const char *addr;
        enum model_endpoint_state state;
    } want[] = {{"10.0.0.1", MODEL_ENDPOINT_UP},    {"10.0.0.2", MODEL_ENDPOINT_UP},
                {"10.0.0.3", MODEL_ENDPOINT_DRAIN}, {"10.0.0.4", MODEL_ENDPOINT_DOWN},
                {"10.0.0.5", MODEL_ENDPOINT_UP},    {"fd00::1", MODEL_ENDPOINT_UP}};
    CHECK_INT_EQ(b->n_endpoints, 6);
    for (size_t i = 0; i < 6 && i < b->n_endpoints; i++) {
        CHECK_STR_EQ(b->endpoints[i].address, want[i].addr);
        CHECK_INT_EQ(b->endpoints[i].state, want[i].state);
        CHECK_INT_EQ(b->endpoints[i].port, 8080);
    }
    CHECK(b->endpoints[2].serving && b->endpoints[2].terminating && !b->endpoints[2].ready);
    CHECK(b->endpoints[4].ready && b->endpoints[4].serving && !b->endpoints[4].terminating);
    done(m);
    fx_free(&f);
}

static void test_external_name(void)
{
    struct fixture f;
    fx_init(&f);
    add(f.services, J("{'metadata': {'namespace': 'ns', 'name': 'ext'}, 'spec': {'type': "
                      "'ExternalName', 'externalName': 'api.example.org'}}"));
    add(f.services, J("{'metadata': {'namespace': 'ns', 'name': 'extp'}, 'spec': {'type': "
                      "'ExternalName', 'externalName': 'b.example.org', 'ports': [{'name': "
                      "'https', 'port': 443}]}}"));
    add(f.services, J("{'metadata': {'namespace': 'ns', 'name': 'bad'}, 'spec': {'type': "
                      "'ExternalName', 'externalName': 'bad name;'}}"));
    add(f.ingresses,
        J("{'metadata': {'namespace': 'ns', 'name': 'i', 'creationTimestamp': "
          "'2024-01-01T00:00:00Z'}, 'spec': {'ingressClassName': 'spoke', 'rules': [{'http': "
          "{'paths': ["
          "{'path': '/a', 'pathType': 'Prefix', 'backend': {'service': {'name': 'ext', "
          "'port': {'number': 8443}}}},"
          "{'path': '/b', 'pathType': 'Prefix', 'backend': {'service': {'name': 'extp', "
          "'port': {'name': 'https'}}}},"
          "{'path': '/c', 'pathType': 'Prefix', 'backend': {'service': {'name': 'bad', "
          "'port': {'number': 80}}}}]}}]}}"));
    struct routing_model *m = build(&f, NULL);
    const struct model_backend *b = model_find_backend(m, "ns_ext_8443");
    CHECK(b && b->external && b->n_endpoints == 1);
    if (b && b->n_endpoints == 1) {
        CHECK_STR_EQ(b->endpoints[0].address, "api.example.org");
        CHECK_INT_EQ(b->endpoints[0].port, 8443);
        CHECK_INT_EQ(b->endpoints[0].state, MODEL_ENDPOINT_UP);
    }
    b = model_find_backend(m, "ns_extp_443");
    CHECK(b && b->external && b->n_endpoints == 1 && b->endpoints[0].port == 443);
    const struct model_route *r = find_route(m, "", "/c", MODEL_PATH_PREFIX);
    CHECK(r && r->backend == NULL);
    CHECK(has_problem(m, "ns/i", "externalName \"bad name;\" is not a valid DNS name"));
    done(m);
    fx_free(&f);
}

static void test_default_backends(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "one", 1);
    service(&f, "ns", "two", 2);
    service(&f, "ns", "three", 3);
    service(&f, "sys", "fallback", 4);
    /* Two Ingresses without rules: the older sets the default route. */
    ingress(&f, "ns", "catchall-new", "2024-03-01T00:00:00Z", NULL,
            "'defaultBackend': {'service': {'name': 'two', 'port': {'number': 80}}}");
    ingress(&f, "ns", "catchall-old", "2024-01-01T00:00:00Z", NULL,
            "'defaultBackend': {'service': {'name': 'one', 'port': {'number': 80}}}");
    /* An Ingress with rules and a defaultBackend: "/" of its hosts. */
    char spec[2048];
    snprintf(spec, sizeof(spec),
             "'defaultBackend': {'service': {'name': 'three', 'port': {'number': 80}}},"
             " 'rules': [%s, %s, {'host': 'bare.com'}]",
             rule("a.com", "/api", "Prefix", "one"), rule("b.com", "/", "Prefix", "one"));
    ingress(&f, "ns", "site", "2024-01-02T00:00:00Z", NULL, spec);
    struct routing_model *m = build(&f, "sys/fallback:http");
    CHECK(m->default_route != NULL);
    if (m->default_route) {
        CHECK_STR_EQ(m->default_route->backend, "ns_one_80");
        CHECK_STR_EQ(m->default_route->ingress, "ns/catchall-old");
        CHECK(m->default_route->is_default);
    }
    CHECK(has_problem(m, "ns/catchall-new", "Ingress ns/catchall-old (older) sets the default"));
    const struct model_route *r = find_route(m, "a.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->is_default && strcmp(r->backend, "ns_three_80") == 0);
    r = find_route(m, "bare.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->is_default && strcmp(r->backend, "ns_three_80") == 0);
    /* b.com has its own Prefix "/": the rule wins, silently. */
    r = find_route(m, "b.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && !r->is_default && strcmp(r->backend, "ns_one_80") == 0);
    CHECK_INT_EQ(m->n_defaults, 3);
    CHECK_STR_EQ(m->defaults[0].ingress, "ns/catchall-new");
    CHECK_STR_EQ(m->defaults[2].ingress, "ns/site");
    CHECK_STR_EQ(m->defaults[2].backend, "ns_three_80");
    CHECK_INT_EQ(m->n_problems, 1);
    done(m);

    /* Without Ingress defaults, the option is the default route. */
    json_array_remove(f.ingresses, 0);
    json_array_remove(f.ingresses, 0);
    m = build(&f, "sys/fallback:http");
    CHECK(m->default_route && strcmp(m->default_route->backend, "sys_fallback_80") == 0 &&
          strcmp(m->default_route->ingress, "") == 0);
    done(m);
    m = build(&f, "sys/missing:80");
    CHECK(m->default_route && m->default_route->backend == NULL);
    CHECK(has_problem(m, "--default-backend-service", "Service sys/missing not found"));
    done(m);
    m = build(&f, "no-port");
    CHECK(m->default_route == NULL);
    CHECK(has_problem(m, "--default-backend-service", "namespace/name:port"));
    done(m);
    m = build(&f, NULL);
    CHECK(m->default_route == NULL);
    done(m);
    fx_free(&f);
}

static void add_secret(struct fixture *f, const char *ns, const char *name, bool complete)
{
    add(f->secrets, J("{'metadata': {'namespace': '%s', 'name': '%s'}, 'type': "
                      "'kubernetes.io/tls', 'data': {'tls.crt': 'Q1JU'%s}}",
                      ns, name, complete ? ", 'tls.key': 'S0VZ'" : ""));
}

static void test_tls(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    add_secret(&f, "ns", "good", true);
    add_secret(&f, "ns", "wild", true);
    add_secret(&f, "ns", "partial", false);
    add_secret(&f, "other", "elsewhere", true);
    char spec[4096];
    snprintf(spec, sizeof(spec),
             "'tls': [{'hosts': ['Secure.com'], 'secretName': 'good'},"
             "        {'hosts': ['*.wild.com'], 'secretName': 'wild'},"
             "        {'hosts': ['missing.com'], 'secretName': 'nope'},"
             "        {'hosts': ['partial.com'], 'secretName': 'partial'},"
             "        {'hosts': ['default-cert.com']},"
             "        {'secretName': 'elsewhere'}],"
             " 'rules': [%s, %s, %s, %s]",
             rule("secure.com", "/", "Prefix", "web"), rule("a.wild.com", "/", "Prefix", "web"),
             rule("plain.com", "/", "Prefix", "web"), rule("", "/", "Prefix", "web"));
    ingress(&f, "ns", "site", "2024-01-01T00:00:00Z", NULL, spec);
    snprintf(spec, sizeof(spec),
             "'tls': [{'hosts': ['secure.com'], 'secretName': 'wild'},"
             "        {'hosts': ['missing.com'], 'secretName': 'nope'}],"
             " 'rules': [%s, %s]",
             rule("missing.com", "/", "Prefix", "web"), rule("*.wild.com", "/x", "Prefix", "web"));
    ingress(&f, "ns", "later", "2024-02-01T00:00:00Z", "'spoke.dev/ssl-redirect': 'false'", spec);
    struct routing_model *m = build(&f, NULL);
    CHECK_INT_EQ(m->n_tls, 6);
    const struct model_tls *t = model_find_tls(m, "secure.com");
    CHECK(t && strcmp(t->secret, "ns/good") == 0 && t->secret_ok &&
          strcmp(t->ingress, "ns/site") == 0);
    t = model_find_tls(m, "missing.com");
    CHECK(t && strcmp(t->secret, "ns/nope") == 0 && !t->secret_ok);
    t = model_find_tls(m, "partial.com");
    CHECK(t && !t->secret_ok);
    t = model_find_tls(m, "default-cert.com");
    CHECK(t && t->secret == NULL && t->secret_ok);
    t = model_find_tls(m, "");
    CHECK(t && strcmp(t->secret, "ns/elsewhere") == 0 && !t->secret_ok);
    CHECK(has_problem(m, "ns/site", "TLS Secret ns/nope not found"));
    CHECK(has_problem(m, "ns/later", "TLS Secret ns/nope not found"));
    CHECK(has_problem(m, "ns/site", "TLS Secret ns/partial has no tls.crt and tls.key"));
    CHECK(has_problem(m, "ns/site", "TLS Secret ns/elsewhere not found"));
    CHECK(has_problem(m, "ns/later", "TLS host \"secure.com\" already uses Secret ns/good"));
    /* Redirects: TLS hosts by default (a wildcard binding covers one label). */
    const struct model_route *r = find_route(m, "secure.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->ssl_redirect);
    r = find_route(m, "a.wild.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->ssl_redirect);
    r = find_route(m, "plain.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && !r->ssl_redirect);
    r = find_route(m, "", "/", MODEL_PATH_PREFIX);
    CHECK(r && !r->ssl_redirect);
    /* The annotation turns it off. */
    r = find_route(m, "missing.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && !r->ssl_redirect);
    r = find_route(m, "*.wild.com", "/x", MODEL_PATH_PREFIX);
    CHECK(r && !r->ssl_redirect);
    done(m);
    fx_free(&f);
}

/* IngressParameters defaults: loadBalance for Ingresses without a valid
 * annotation, sslRedirect false for TLS hosts without one. */
static void test_class_defaults(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    add_secret(&f, "ns", "good", true);
    char spec[1024];
    snprintf(spec, sizeof(spec),
             "'tls': [{'hosts': ['plain.com'], 'secretName': 'good'}], "
             "'rules': [%s]",
             rule("plain.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "plain", "2024-01-01T00:00:00Z", NULL, spec);
    snprintf(spec, sizeof(spec), "'rules': [%s]", rule("rr.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "rr", "2024-01-01T00:00:00Z", "'spoke.dev/load-balance': 'roundrobin'", spec);
    snprintf(spec, sizeof(spec),
             "'tls': [{'hosts': ['bad.com'], 'secretName': 'good'}], "
             "'rules': [%s]",
             rule("bad.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "bad", "2024-01-01T00:00:00Z",
            "'spoke.dev/load-balance': 'fastest', 'spoke.dev/ssl-redirect': 'true'", spec);
    struct model_objects in = {f.classes, f.ingresses, f.services, f.slices,
                               f.secrets, "spoke",     NULL};
    const struct model_defaults defaults = {MODEL_BALANCE_SOURCE, true};
    struct routing_model *m = model_build_objects_with(&in, &defaults);
    const struct model_route *plain = find_route(m, "plain.com", "/", MODEL_PATH_PREFIX);
    const struct model_route *rr = find_route(m, "rr.com", "/", MODEL_PATH_PREFIX);
    const struct model_route *bad = find_route(m, "bad.com", "/", MODEL_PATH_PREFIX);
    CHECK(plain && rr && bad);
    if (plain && rr && bad) {
        CHECK_STR_EQ(plain->backend, "ns_web_80_http-source");
        CHECK(!plain->ssl_redirect);
        CHECK_STR_EQ(rr->backend, "ns_web_80");
        CHECK_STR_EQ(bad->backend, "ns_web_80_http-source");
        CHECK(bad->ssl_redirect); /* the annotation still wins */
    }
    done(m);
    fx_free(&f);
}

static void test_annotation_values(void)
{
    bool b;
    unsigned ms;
    CHECK(annotation_parse_bool("true", &b) == 0 && b);
    CHECK(annotation_parse_bool("False", &b) == 0 && !b);
    CHECK(annotation_parse_bool("yes", &b) < 0);
    CHECK(annotation_parse_timeout("30s", &ms) == 0 && ms == 30000);
    CHECK(annotation_parse_timeout("250", &ms) == 0 && ms == 250);
    CHECK(annotation_parse_timeout("250ms", &ms) == 0 && ms == 250);
    CHECK(annotation_parse_timeout("5m", &ms) == 0 && ms == 300000);
    CHECK(annotation_parse_timeout("24h", &ms) == 0 && ms == 86400000);
    CHECK(annotation_parse_timeout("25h", &ms) < 0);
    CHECK(annotation_parse_timeout("0", &ms) < 0);
    CHECK(annotation_parse_timeout("", &ms) < 0);
    CHECK(annotation_parse_timeout("-1s", &ms) < 0);
    CHECK(annotation_parse_timeout("1.5s", &ms) < 0);
    CHECK(annotation_parse_timeout("99999999999999999999", &ms) < 0);
    CHECK(annotation_parse_timeout("10 s", &ms) < 0);
    CHECK(annotation_check_path("/app") == 0);
    CHECK(annotation_check_path("app") < 0);
    CHECK(annotation_check_path("/a|b") < 0);
    CHECK(annotation_check_path("/a\nb") < 0);
    CHECK(annotation_check_url("https://example.com/x?y=1#z") == 0);
    CHECK(annotation_check_url("http://example.com") == 0);
    CHECK(annotation_check_url("ftp://example.com") < 0);
    CHECK(annotation_check_url("https://") < 0);
    CHECK(annotation_check_url("https:///path") < 0);
    CHECK(annotation_check_url("https://a.com/x y") < 0);
    CHECK(annotation_check_url("https://a.com/|") < 0);
    CHECK(annotation_check_url("https://a.com/\r\nSet-Cookie: x") < 0);
}

static void test_annotations_on_routes(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    char spec[1024];
    snprintf(spec, sizeof(spec), "'rules': [%s, %s]", rule("a.com", "/", "Prefix", "web"),
             rule("a.com", "/api", "Prefix", "web"));
    ingress(&f, "ns", "good", "2024-01-01T00:00:00Z",
            "'spoke.dev/ssl-redirect': 'true', 'spoke.dev/rewrite-target': '/v2/',"
            " 'spoke.dev/app-root': '/home', 'spoke.dev/permanent-redirect': "
            "'https://new.example.com/', 'spoke.dev/timeout-server': '90s',"
            " 'spoke.dev/backend-protocol': 'H2', 'spoke.dev/load-balance': 'leastconn',"
            " 'spoke.dev/affinity': 'cookie', 'spoke.dev/unknown-to-us': 'x'",
            spec);
    snprintf(spec, sizeof(spec), "'rules': [%s]", rule("b.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "bad", "2024-01-01T00:00:00Z",
            "'spoke.dev/ssl-redirect': 'maybe', 'spoke.dev/rewrite-target': 'v2',"
            " 'spoke.dev/app-root': '/', 'spoke.dev/permanent-redirect': 'javascript:x',"
            " 'spoke.dev/timeout-server': 'forever', 'spoke.dev/backend-protocol': 'grpc',"
            " 'spoke.dev/load-balance': 'fastest', 'spoke.dev/affinity': 'header'",
            spec);
    snprintf(spec, sizeof(spec), "'rules': [%s]", rule("c.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "plain", "2024-01-01T00:00:00Z", NULL, spec);
    struct routing_model *m = build(&f, NULL);
    const struct model_route *root = find_route(m, "a.com", "/", MODEL_PATH_PREFIX);
    const struct model_route *api = find_route(m, "a.com", "/api", MODEL_PATH_PREFIX);
    CHECK(root && api);
    if (root && api) {
        CHECK(root->ssl_redirect && api->ssl_redirect);
        CHECK_STR_EQ(api->rewrite_target, "/v2/");
        CHECK_STR_EQ(root->app_root, "/home");
        CHECK(api->app_root == NULL); /* only "/" can see a request for "/" */
        CHECK_STR_EQ(api->permanent_redirect, "https://new.example.com/");
        CHECK_INT_EQ(api->timeout_server_ms, 90000);
        CHECK_STR_EQ(api->backend, "ns_web_80_h2-leastconn-cookie");
    }
    const struct model_backend *b = model_find_backend(m, "ns_web_80_h2-leastconn-cookie");
    CHECK(b && b->profile.protocol == MODEL_PROTO_H2 &&
          b->profile.balance == MODEL_BALANCE_LEASTCONN && b->profile.cookie_affinity);
    CHECK(b && b->n_endpoints == 1);
    /* Same Service, default profile: another backend. */
    CHECK(model_find_backend(m, "ns_web_80") != NULL);
    CHECK_INT_EQ(m->n_backends, 2);
    const struct model_route *bad = find_route(m, "b.com", "/", MODEL_PATH_PREFIX);
    CHECK(bad && !bad->ssl_redirect && !bad->rewrite_target && !bad->app_root &&
          !bad->permanent_redirect && bad->timeout_server_ms == 0 &&
          strcmp(bad->backend, "ns_web_80") == 0);
    const char *names[] = {"ssl-redirect",       "rewrite-target", "app-root",
                           "permanent-redirect", "timeout-server", "backend-protocol",
                           "load-balance",       "affinity"};
    for (size_t i = 0; i < 8; i++) {
        char text[64];
        snprintf(text, sizeof(text), "annotation spoke.dev/%s:", names[i]);
        CHECK(has_problem(m, "ns/bad", text));
    }
    CHECK_INT_EQ(m->n_problems, 8);
    const struct model_route *plain = find_route(m, "c.com", "/", MODEL_PATH_PREFIX);
    CHECK(plain && !plain->ssl_redirect && !plain->rewrite_target && !plain->timeout_server_ms);
    done(m);
    fx_free(&f);
}

static void test_hostile_values(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "web", 1);
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char spec[8192];
    snprintf(spec, sizeof(spec), "'rules': [%s, %s, %s, %s, %s, %s]",
             rule("evil.com", "/a\\nshow map", "Prefix", "web"),
             rule("evil.com\\n", "/", "Prefix", "web"), rule("evil.com", "/a;b", "Exact", "web"),
             rule("evil.com", "/\\u00ff", "Prefix", "web"),
             rule("evil.com", "/ok", "Prefix", "web"), rule("evil.com", "/x", "Prefix", "web;rm"));
    ingress(&f, "ns", "evil", "2024-01-01T00:00:00Z",
            "'spoke.dev/rewrite-target': '/a\\nb', 'spoke.dev/permanent-redirect': 'https://x/ |'",
            spec);
    snprintf(spec, sizeof(spec),
             "'rules': [{'host': '%s', 'http': {'paths': [{'path': '/', "
             "'pathType': 'Prefix', 'backend': {'service': {'name': 'web', 'port': {'number': "
             "80}}}}]}}]",
             big);
    ingress(&f, "ns", "big", "2024-01-01T00:00:00Z", NULL, spec);
    struct routing_model *m = build(&f, NULL);
    CHECK(find_route(m, "evil.com", "/ok", MODEL_PATH_PREFIX) != NULL);
    CHECK(find_route(m, "evil.com", "/a;b", MODEL_PATH_EXACT) != NULL); /* ';' is a pchar */
    const struct model_route *x = find_route(m, "evil.com", "/x", MODEL_PATH_PREFIX);
    CHECK(x && x->backend == NULL);
    CHECK_INT_EQ(m->n_routes, 3);
    for (size_t i = 0; i < m->n_problems; i++) {
        const unsigned char *p = (const unsigned char *)m->problems[i].message;
        for (; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
        CHECK(strlen(m->problems[i].message) < 512);
    }
    CHECK(has_problem(m, "ns/big", "longer than 253"));
    CHECK(has_problem(m, "ns/evil", "annotation spoke.dev/rewrite-target: \"/a?b\""));
    done(m);
    fx_free(&f);
}

/* The same objects in another order give an equal model; ids do not move
 * when unrelated rules come and go. */
static void test_deterministic_and_stable_ids(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "one", 1);
    service(&f, "ns", "two", 2);
    for (int i = 0; i < 6; i++) {
        char name[16], spec[2048];
        snprintf(name, sizeof(name), "i%d", i);
        snprintf(spec, sizeof(spec), "'rules': [%s, %s]",
                 rule(i % 2 ? "a.com" : "", i % 3 ? "/x" : "/y", i % 2 ? "Exact" : "Prefix",
                      i % 2 ? "one" : "two"),
                 rule("b.com", name, "Prefix", "one"));
        /* name is not a valid path: a problem, which must be deterministic too */
        ingress(&f, "ns", name, i < 3 ? "2024-01-01T00:00:00Z" : "2023-01-01T00:00:00Z", NULL,
                spec);
    }
    struct routing_model *a = build(&f, NULL);
    /* Reverse every array. */
    json_t *lists[] = {f.ingresses, f.services, f.slices};
    for (size_t l = 0; l < 3; l++) {
        json_t *rev = json_array();
        for (size_t i = json_array_size(lists[l]); i > 0; i--)
            json_array_append(rev, json_array_get(lists[l], i - 1));
        json_array_clear(lists[l]);
        json_array_extend(lists[l], rev);
        json_decref(rev);
    }
    struct routing_model *b = build(&f, NULL);
    CHECK(model_equal(a, b));
    CHECK(a->n_routes > 0 && a->n_problems > 0);
    for (size_t i = 0; i < a->n_routes; i++) {
        CHECK_INT_EQ(strlen(a->routes[i].id), MODEL_ROUTE_ID_SIZE - 1);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(a->routes[i].id, a->routes[j].id) != 0);
    }
    /* Remove an Ingress: the routes that remain keep their ids. */
    const struct model_route *before = find_route(a, "a.com", "/x", MODEL_PATH_EXACT);
    json_array_remove(f.ingresses, 0);
    struct routing_model *c = build(&f, NULL);
    const struct model_route *after = find_route(c, "a.com", "/x", MODEL_PATH_EXACT);
    CHECK(before && after && strcmp(before->id, after->id) == 0);
    model_free(a);
    model_free(b);
    model_free(c);
    fx_free(&f);
}

static void test_store_input_equals_objects(void)
{
    struct fixture f;
    fx_init(&f);
    our_class(&f, true);
    service(&f, "ns", "web", 1);
    add_secret(&f, "ns", "tls", true);
    char spec[1024];
    snprintf(spec, sizeof(spec),
             "'tls': [{'hosts': ['a.com'], 'secretName': 'tls'}], 'rules': [%s]",
             rule("a.com", "/", "Prefix", "web"));
    ingress(&f, "ns", "i", "2024-01-01T00:00:00Z", NULL, spec);
    struct store *stores[5];
    json_t *arrays[5] = {f.classes, f.ingresses, f.services, f.slices, f.secrets};
    const char *kinds[5] = {"IngressClass", "Ingress", "Service", "EndpointSlice", "Secret"};
    for (int i = 0; i < 5; i++) {
        stores[i] = store_new(kinds[i], NULL);
        size_t k;
        json_t *obj;
        json_array_foreach(arrays[i], k, obj) CHECK(store_upsert(stores[i], obj) == 0);
    }
    struct model_input in = {stores[0], stores[1], stores[2],  stores[3],
                             stores[4], NULL,      "ns/web:80"};
    struct routing_model *a = model_build(&in);
    struct routing_model *b = build(&f, "ns/web:80");
    CHECK(model_equal(a, b));
    CHECK_INT_EQ(a->n_routes, 1);
    CHECK_INT_EQ(a->n_tls, 1);
    CHECK(a->default_route != NULL);
    model_free(a);
    model_free(b);
    for (int i = 0; i < 5; i++)
        store_free(stores[i]);
    struct model_input empty = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    a = model_build(&empty);
    CHECK(a->n_routes == 0 && a->default_route == NULL && a->n_problems == 0);
    model_free(a);
    fx_free(&f);
}

static void test_diff(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "ns", "one", 1);
    service(&f, "ns", "two", 2);
    char spec[1024];
    snprintf(spec, sizeof(spec), "'rules': [%s]", rule("a.com", "/", "Prefix", "one"));
    ingress(&f, "ns", "i", "2024-01-01T00:00:00Z", NULL, spec);
    struct routing_model *m1 = build(&f, NULL);
    struct model_diff d;
    model_diff(NULL, m1, &d);
    CHECK(d.routes && d.ingresses && d.n_added == 1 && d.n_removed == 0);
    CHECK_STR_EQ(d.added[0], "ns_one_80");
    model_diff_free(&d);

    /* An endpoint becomes not ready: only that backend changed. */
    json_t *ep = json_array_get(json_object_get(json_array_get(f.slices, 0), "endpoints"), 0);
    json_object_set_new(json_object_get(ep, "conditions"), "ready", json_false());
    struct routing_model *m2 = build(&f, NULL);
    model_diff(m1, m2, &d);
    CHECK(!d.routes && !d.tls && !d.ingresses && !d.problems && d.n_added == 0 &&
          d.n_removed == 0 && d.n_changed == 1);
    CHECK(d.n_changed == 1 && strcmp(d.changed[0], "ns_one_80") == 0);
    model_diff_free(&d);

    /* The rule moves to Service two. */
    json_array_clear(f.ingresses);
    snprintf(spec, sizeof(spec), "'tls': [{'hosts': ['a.com']}], 'rules': [%s]",
             rule("a.com", "/", "Prefix", "two"));
    ingress(&f, "ns", "i", "2024-01-01T00:00:00Z", NULL, spec);
    struct routing_model *m3 = build(&f, NULL);
    model_diff(m2, m3, &d);
    CHECK(d.routes && d.tls && !d.ingresses && d.n_added == 1 && d.n_removed == 1 &&
          d.n_changed == 0);
    CHECK(d.n_added == 1 && strcmp(d.added[0], "ns_two_80") == 0);
    CHECK(d.n_removed == 1 && strcmp(d.removed[0], "ns_one_80") == 0);
    CHECK(!model_diff_empty(&d));
    model_diff_free(&d);
    CHECK(m2->routes[0].id[0] && strcmp(m2->routes[0].id, m3->routes[0].id) == 0);

    struct routing_model *m4 = build(&f, NULL);
    model_diff(m3, m4, &d);
    CHECK(model_diff_empty(&d));
    model_diff_free(&d);
    CHECK(model_equal(m3, m4));
    CHECK(!model_equal(m1, m4));
    model_free(m1);
    model_free(m2);
    model_free(m3);
    model_free(m4);
    fx_free(&f);
}

TEST_MAIN(TEST_CASE(test_class_selection_rules), TEST_CASE(test_class_selection_in_build),
          TEST_CASE(test_paths_hosts_normalized), TEST_CASE(test_names_validation),
          TEST_CASE(test_invalid_rules_are_skipped_and_reported), TEST_CASE(test_conflicts),
          TEST_CASE(test_named_ports_and_missing_backends), TEST_CASE(test_endpoint_conditions),
          TEST_CASE(test_external_name), TEST_CASE(test_default_backends), TEST_CASE(test_tls),
          TEST_CASE(test_annotation_values), TEST_CASE(test_annotations_on_routes),
          TEST_CASE(test_hostile_values), TEST_CASE(test_deterministic_and_stable_ids),
          TEST_CASE(test_store_input_equals_objects), TEST_CASE(test_diff),
          TEST_CASE(test_class_defaults))
