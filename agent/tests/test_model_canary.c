/* test_model_canary.c - canary Ingresses in the model (model/canary.h,
 * routes.c) and in the routes map (map_render.h): annotation checks, rules
 * joining the main route, the problems reported, flag c and the CANARY
 * field, and the model diff. */
#include <stdlib.h>

#include "model/canary.h"
#include "model/map_render.h"
#include "model/model.h"
#include "model/model_diff.h"
#include "model/routes.h"
#include "json_text.h"
#include "model_checks.h"
#include "test.h"

/* ---- annotations ------------------------------------------------------------ */

struct reports {
    int n;
    char last[512];
};

static void report(void *ud, const char *annotation, const char *value, const char *why)
{
    struct reports *r = ud;
    r->n++;
    snprintf(r->last, sizeof(r->last), "%s=%s: %s", annotation, value, why);
}

/* canary_parse of an Ingress with these annotations (JSON members). */
static enum canary_kind parse(const char *annotations, struct model_canary *c, struct reports *r)
{
    json_t *ing = J("{'metadata': {'annotations': {%s}}}", annotations);
    memset(r, 0, sizeof(*r));
    enum canary_kind k = canary_parse(ing, c, report, r);
    /* The strings are borrowed from the Ingress: keep the checks on values
     * that are string literals or NULL. */
    if (c->header)
        c->header = strcmp(c->header, "X-Canary") == 0 ? "X-Canary" : "?";
    if (c->cookie)
        c->cookie = strcmp(c->cookie, "canary") == 0 ? "canary" : "?";
    if (c->header_value)
        c->header_value = strcmp(c->header_value, "on it") == 0 ? "on it" : "?";
    if (c->header_pattern)
        c->header_pattern = strcmp(c->header_pattern, "^v[0-9]+$") == 0 ? "^v[0-9]+$" : "?";
    json_decref(ing);
    return k;
}

#define C(k) "'spoke.dev/canary" k "'"

static void test_parse(void)
{
    struct model_canary c;
    struct reports r;

    CHECK_INT_EQ(parse("", &c, &r), CANARY_NOT);
    CHECK_INT_EQ(parse(C("") ": 'false', " C("-weight") ": '10'", &c, &r), CANARY_NOT);
    CHECK_INT_EQ(r.n, 0);

    CHECK_INT_EQ(parse(C("") ": 'true'", &c, &r), CANARY_VALID);
    CHECK_INT_EQ(c.weight, 0);
    CHECK_INT_EQ(c.total, 100);
    CHECK(!c.header && !c.cookie && !c.header_value && !c.header_pattern && !c.ingress);

    CHECK_INT_EQ(
        parse(C("") ": 'True', " C("-weight") ": '30', " C("-by-header") ": 'X-Canary', " C(
                  "-by-cookie") ": 'canary', " C("-by-header-value") ": 'on it'",
              &c, &r),
        CANARY_VALID);
    CHECK_INT_EQ(r.n, 0);
    CHECK_INT_EQ(c.weight, 30);
    CHECK_STR_EQ(c.header, "X-Canary");
    CHECK_STR_EQ(c.cookie, "canary");
    CHECK_STR_EQ(c.header_value, "on it");

    CHECK_INT_EQ(parse(C("") ": 'true', " C("-weight") ": '7', " C("-weight-total") ": '7', " C(
                           "-by-header") ": 'X-Canary', " C("-by-header-pattern") ": '^v[0-9]+$'",
                       &c, &r),
                 CANARY_VALID);
    CHECK_INT_EQ(c.weight, 7);
    CHECK_INT_EQ(c.total, 7);
    CHECK_STR_EQ(c.header_pattern, "^v[0-9]+$");
    /* -value wins over -pattern, as with ingress-nginx. */
    CHECK_INT_EQ(parse(C("") ": 'true', " C("-by-header") ": 'X-Canary', " C(
                           "-by-header-value") ": 'on it', " C("-by-header-pattern") ": 'v.*'",
                       &c, &r),
                 CANARY_VALID);
    CHECK(c.header_value && !c.header_pattern);

    /* Anything invalid: the whole canary is, reported, nothing kept. */
    static const char *const bad[] = {
        C("") ": 'yes'",
        C("") ": 'true', " C("-weight") ": '101'",
        C("") ": 'true', " C("-weight") ": '-1'",
        C("") ": 'true', " C("-weight") ": '5%%'",
        C("") ": 'true', " C("-weight") ": ''",
        C("") ": 'true', " C("-weight") ": '60', " C("-weight-total") ": '50'",
        C("") ": 'true', " C("-weight-total") ": '0'",
        C("") ": 'true', " C("-weight-total") ": '1000001'",
        C("") ": 'true', " C("-weight") ": '99999999999999999999'",
        C("") ": 'true', " C("-by-header") ": 'X Canary'",
        C("") ": 'true', " C("-by-header") ": 'X:Canary'",
        C("") ": 'true', " C("-by-header") ": ''",
        C("") ": 'true', " C("-by-cookie") ": 'a=b'",
        C("") ": 'true', " C("-by-cookie") ": 'a;b'",
        C("") ": 'true', " C("-by-header-value") ": 'x'",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-value") ": ' x'",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-value") ": 'a\\u0001b'",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-pattern") ": '('",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-pattern") ": 'a{2,1}'",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-pattern") ": '(a{70}){70}'",
        C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-pattern") ": 'a{99999}'",
        C("") ": 'true', " C("-by-header-pattern") ": 'v'",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT_EQ(parse(bad[i], &c, &r), CANARY_INVALID);
        CHECK(r.n >= 1);
        CHECK(c.weight == 0 && !c.header && !c.cookie && !c.header_pattern);
        if (r.n < 1)
            printf("#   not reported: %s\n", bad[i]);
    }
    /* A long pattern, a long header name. */
    char big[400], ann[600];
    memset(big, 'a', 300);
    big[300] = '\0';
    snprintf(ann, sizeof(ann),
             C("") ": 'true', " C("-by-header") ": 'X', " C("-by-header-pattern") ": '%s'", big);
    CHECK_INT_EQ(parse(ann, &c, &r), CANARY_INVALID);
    big[129] = '\0';
    snprintf(ann, sizeof(ann), C("") ": 'true', " C("-by-header") ": '%s'", big);
    CHECK_INT_EQ(parse(ann, &c, &r), CANARY_INVALID);
    big[128] = '\0';
    snprintf(ann, sizeof(ann), C("") ": 'true', " C("-by-header") ": '%s'", big);
    CHECK_INT_EQ(parse(ann, &c, &r), CANARY_VALID);

    static const char *const good[] = {
        "^(a|b){1,3}[0-9]{2}$",
        "(x{30}){30}",
        "^v[0-9]+(-rc)?$",
        "[]a{]+",
        "[[:digit:]]+x",
        "a{,3}",
        "\\.+",
        "((a+)+)+",
        "a{2}b{3,}c{4,5}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (canary_check_pattern(good[i]) != NULL) {
            printf("#   refused: %s: %s\n", good[i], canary_check_pattern(good[i]));
            CHECK(0);
        }
    static const char *const refused[] = {
        "(x{70}){70}",
        "((x{20}){20}){20}",
        "a++",
        "a*+",
        "a+{2}",
        "a?*",
        "(a)\\1",
        "((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+",
        "a{4097}",
        "a{1,2,3}",
        "(",
        "a)",
        "x{",
        "cs++++++++++++++++++q++++++++++++",
        "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))"
        ")))))))))))))",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (canary_check_pattern(refused[i]) == NULL) {
            printf("#   accepted: %s\n", refused[i]);
            CHECK(0);
        }
}

/* ---- the model ------------------------------------------------------------------- */

struct fixture {
    json_t *classes, *ingresses, *services, *slices;
};

static void fx_init(struct fixture *f)
{
    f->classes = json_array();
    f->ingresses = json_array();
    f->services = json_array();
    f->slices = json_array();
}

static void fx_free(struct fixture *f)
{
    json_decref(f->classes);
    json_decref(f->ingresses);
    json_decref(f->services);
    json_decref(f->slices);
}

static void service(struct fixture *f, const char *name, int n)
{
    json_array_append_new(
        f->services, J("{'metadata': {'namespace': 'ns', 'name': '%s'}, 'spec': {'type': "
                       "'ClusterIP', 'ports': [{'name': 'http', 'port': 80, 'targetPort': 8080}]}}",
                       name));
    json_array_append_new(
        f->slices, J("{'metadata': {'namespace': 'ns', 'name': '%s-x', 'labels': "
                     "{'kubernetes.io/service-name': '%s'}}, 'addressType': 'IPv4',"
                     " 'ports': [{'name': 'http', 'port': 8080, 'protocol': 'TCP'}],"
                     " 'endpoints': [{'addresses': ['10.0.0.%d'], 'conditions': {'ready': true}}]}",
                     name, name, n));
}

/* Ingress ns/name created at day `day` of 2024-01, one rule per path
 * ("TYPE:/path"), all on host to svc. */
static void ingress(struct fixture *f, const char *name, int day, const char *annotations,
                    const char *host, const char *svc, const char *paths)
{
    char rules[4096] = "";
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", paths);
    for (char *save = NULL, *p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(p, ':');
        *colon = '\0';
        size_t n = strlen(rules);
        snprintf(rules + n, sizeof(rules) - n,
                 "%s{'path': '%s', 'pathType': '%s', 'backend': {'service': {'name': '%s', "
                 "'port': {'number': 80}}}}",
                 n ? "," : "", colon + 1, p, svc);
    }
    json_array_append_new(
        f->ingresses,
        J("{'metadata': {'namespace': 'ns', 'name': '%s', 'creationTimestamp': "
          "'2024-01-%02dT00:00:00Z', 'annotations': {%s}}, 'spec': {'ingressClassName': 'spoke', "
          "'rules': [{'host': '%s', 'http': {'paths': [%s]}}]}}",
          name, day, annotations, host, rules));
}

static struct routing_model *build(struct fixture *f)
{
    struct model_objects in = {f->classes, f->ingresses, f->services, f->slices,
                               NULL,       "spoke",      NULL};
    return model_build_objects(&in);
}

#define CANARY_ON C("") ": 'true', " C("-weight") ": '30', " C("-by-header") ": 'X-Canary'"

static void test_canary_joins_main_route(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "web", 1);
    service(&f, "web-canary", 2);
    ingress(&f, "main", 2, "", "a.com", "web", "Prefix:/ Exact:/e Prefix:/only-main");
    /* Older than main: a canary never takes the route over. */
    ingress(&f, "canary", 1, CANARY_ON, "a.com", "web-canary",
            "Prefix:/ ImplementationSpecific:/e Exact:/e Prefix:/nowhere");
    struct routing_model *m = build(&f);
    CHECK_INT_EQ(m->n_routes, 3);
    const struct model_route *r = find_route(m, "a.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && strcmp(r->ingress, "ns/main") == 0 && strcmp(r->backend, "ns_web_80") == 0);
    CHECK(r && r->canary.ingress && strcmp(r->canary.ingress, "ns/canary") == 0);
    CHECK(r && r->canary.backend && strcmp(r->canary.backend, "ns_web-canary_80") == 0);
    CHECK(r && r->canary.weight == 30 && r->canary.total == 100);
    CHECK(r && r->canary.header && strcmp(r->canary.header, "X-Canary") == 0);
    CHECK(r && !r->spoe);
    r = find_route(m, "a.com", "/e", MODEL_PATH_EXACT);
    CHECK(r && r->canary.backend && strcmp(r->canary.backend, "ns_web-canary_80") == 0);
    r = find_route(m, "a.com", "/only-main", MODEL_PATH_PREFIX);
    CHECK(r && !r->canary.ingress);
    /* The Prefix canary rule on /e has no Prefix main route. */
    CHECK(has_problem(m, "ns/canary",
                      "canary for host \"a.com\" path \"/e\" (Prefix): no Ingress serves"));
    CHECK(has_problem(m, "ns/canary", "path \"/nowhere\" (Prefix): no Ingress serves"));
    CHECK(!has_problem(m, "ns/canary", "already served"));
    CHECK(!has_problem(m, "ns/main", "already served"));
    CHECK(model_find_backend(m, "ns_web-canary_80") != NULL);
    CHECK_INT_EQ(m->n_problems, 2);
    CHECK_INT_EQ(m->n_ingresses, 2);

    /* The routes map: flag c and the canary's backend in field 9. */
    struct map_rendered mr;
    char err[256], f9[128], flags[16];
    CHECK_INT_EQ(map_render(m, NULL, NULL, &mr, err, sizeof(err)), 0);
    const struct map_kv *e = map_sim_lookup(&mr, "a.com", "/x");
    CHECK(e != NULL);
    if (e) {
        CHECK(map_value_field(e->value, MAP_FIELD_FLAGS, flags, sizeof(flags)) >= 0);
        CHECK_STR_EQ(flags, "c");
        CHECK(map_value_field(e->value, MAP_FIELD_CANARY, f9, sizeof(f9)) >= 0);
        CHECK_STR_EQ(f9, "ns_web-canary_80");
    }
    e = map_sim_lookup(&mr, "a.com", "/only-main/x");
    CHECK(e != NULL);
    if (e) {
        CHECK(map_value_field(e->value, MAP_FIELD_FLAGS, flags, sizeof(flags)) >= 0);
        CHECK_STR_EQ(flags, "-");
        CHECK_INT_EQ(map_value_field(e->value, MAP_FIELD_CANARY, f9, sizeof(f9)), 0);
    }
    map_rendered_free(&mr);
    done(m);
    fx_free(&f);
}

static void test_canary_problems(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "web", 1);
    service(&f, "c1", 2);
    service(&f, "c2", 3);
    ingress(&f, "main", 1, "", "a.com", "web", "Prefix:/ Prefix:/b Prefix:/c");
    ingress(&f, "first", 2, CANARY_ON, "a.com", "c1", "Prefix:/ Prefix:/");
    ingress(&f, "second", 3, CANARY_ON, "a.com", "c2", "Prefix:/");
    /* Invalid: ignored as a whole, never a second main. */
    ingress(&f, "broken", 4, C("") ": 'true', " C("-weight") ": '200'", "a.com", "c2", "Prefix:/b");
    ingress(&f, "typo", 4, C("") ": 'ture'", "new.com", "c2", "Prefix:/");
    /* A missing Service: reported, the main route serves everything. */
    ingress(&f, "gone", 5, CANARY_ON, "a.com", "no-such", "Prefix:/c");
    /* Canary settings without the canary annotation. */
    ingress(&f, "plain", 6, C("-weight") ": '10'", "p.com", "web", "Prefix:/");
    struct routing_model *m = build(&f);
    const struct model_route *r = find_route(m, "a.com", "/", MODEL_PATH_PREFIX);
    CHECK(r && r->canary.ingress && strcmp(r->canary.ingress, "ns/first") == 0);
    CHECK(has_problem(m, "ns/first", "is listed twice"));
    CHECK(has_problem(m, "ns/second", "already has a canary from Ingress ns/first"));
    CHECK(has_problem(m, "ns/broken", "spoke.dev/canary-weight: \"200\" is invalid"));
    CHECK(has_problem(m, "ns/broken", "the canary is ignored"));
    CHECK(has_problem(m, "ns/typo", "spoke.dev/canary: \"ture\" is invalid"));
    CHECK(has_problem(m, "ns/gone", "no-such"));
    CHECK(has_problem(m, "ns/plain", "ignored without spoke.dev/canary"));
    r = find_route(m, "a.com", "/b", MODEL_PATH_PREFIX);
    CHECK(r && !r->canary.ingress && strcmp(r->ingress, "ns/main") == 0);
    r = find_route(m, "a.com", "/c", MODEL_PATH_PREFIX);
    CHECK(r && !r->canary.ingress && strcmp(r->backend, "ns_web_80") == 0);
    CHECK(find_route(m, "new.com", "/", MODEL_PATH_PREFIX) == NULL);
    CHECK(find_route(m, "p.com", "/", MODEL_PATH_PREFIX) != NULL);
    CHECK_INT_EQ(m->n_routes, 4);
    /* No pool slot for canaries that serve nothing. */
    CHECK(model_find_backend(m, "ns_c2_80") == NULL);
    done(m);
    fx_free(&f);
}

static void test_canary_diff(void)
{
    struct fixture f;
    fx_init(&f);
    service(&f, "web", 1);
    service(&f, "c1", 2);
    ingress(&f, "main", 1, "", "a.com", "web", "Prefix:/");
    struct routing_model *plain = build(&f);
    ingress(&f, "canary", 2, CANARY_ON, "a.com", "c1", "Prefix:/");
    struct routing_model *with = build(&f);
    json_array_remove(f.ingresses, 1);
    ingress(&f, "canary", 2,
            C("") ": 'true', " C("-weight") ": '31', " C("-by-header") ": 'X-Canary'", "a.com",
            "c1", "Prefix:/");
    struct routing_model *heavier = build(&f);
    struct routing_model *again = build(&f);

    struct model_diff d;
    model_diff(plain, with, &d);
    CHECK(d.routes);
    CHECK_INT_EQ(d.n_added, 1);
    model_diff_free(&d);
    model_diff(with, heavier, &d);
    CHECK(d.routes);
    CHECK_INT_EQ(d.n_added, 0);
    model_diff_free(&d);
    CHECK(model_equal(heavier, again));
    CHECK(!model_equal(with, heavier));
    CHECK_STR_EQ(plain->routes[0].id, with->routes[0].id);
    done(plain);
    done(with);
    done(heavier);
    done(again);
    fx_free(&f);
}

TEST_MAIN(TEST_CASE(test_parse), TEST_CASE(test_canary_joins_main_route),
          TEST_CASE(test_canary_problems), TEST_CASE(test_canary_diff))
