/*
 * test_ext_auth_policy.c - how the auth policies (spoe/policy.h) compile
 * external auth (spoke.dev/auth-url and its settings) and
 * auth-jwt-claims-to-headers: valid settings make an external route, and
 * every invalid or conflicting combination makes the Ingress DENY-ALL 503,
 * reported with a printable message.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kube/store.h"
#include "model/model.h"
#include "spoe/policy.h"
#include "test.h"

static int reports;
static char last[600];

static void report(void *ud, const char *ingress, const char *message)
{
    (void)ud;
    reports++;
    snprintf(last, sizeof(last), "%s: %s", ingress, message);
}

/* The policy of one Ingress "ns/ing" with the annotations kv (pairs,
 * NULL-terminated): its auth type, *deny_all, and the report if any. */
static int compile(const char *const *kv, bool *deny_all)
{
    struct store *ing = store_new("Ingress", NULL);
    json_t *ann = json_object();
    for (; kv[0]; kv += 2)
        json_object_set_new(ann, kv[0], json_string(kv[1]));
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "apiVersion", "networking.k8s.io/v1",
                            "kind", "Ingress", "metadata", "namespace", "ns", "name", "ing",
                            "resourceVersion", "1", "annotations", ann);
    CHECK(store_upsert(ing, obj) == 0);
    json_decref(obj);
    struct model_route route = {.ingress = "ns/ing", .host = "", .path = "/"};
    snprintf(route.id, sizeof(route.id), "r%016x", 1u);
    struct routing_model m = {.routes = &route, .n_routes = 1};
    reports = 0;
    last[0] = '\0';
    struct policy_set *set = policy_set_build(&m, ing, NULL, 1, report, NULL);
    int type = policy_set_route(set, route.id, deny_all);
    policy_set_release(set);
    store_free(ing);
    for (const char *s = last; *s; s++)
        CHECK(*s >= 0x20 && *s < 0x7f);
    return type;
}
#define COMPILE(deny, ...) compile((const char *const[]){__VA_ARGS__, NULL}, deny)

static void test_external(void)
{
    bool deny = true;
    CHECK_INT_EQ(COMPILE(&deny, "spoke.dev/auth-url", "http://auth.ns.svc/check"),
                 POLICY_AUTH_EXTERNAL);
    CHECK(!deny);
    CHECK_INT_EQ(reports, 0);
    CHECK_INT_EQ(COMPILE(&deny, "spoke.dev/auth-url", "https://auth/check", "spoke.dev/auth-method",
                         "POST", "spoke.dev/auth-request-headers", "Authorization, X-Token",
                         "spoke.dev/auth-response-headers", "X-User, X-Email",
                         "spoke.dev/auth-cache-ttl", "30", "spoke.dev/auth-timeout", "800ms",
                         "spoke.dev/whitelist-source-range", "10.0.0.0/8"),
                 POLICY_AUTH_EXTERNAL);
    CHECK(!deny);
    CHECK_INT_EQ(reports, 0);

    struct {
        const char *k1, *v1, *k2, *v2, *why;
    } bad[] = {
        {"spoke.dev/auth-url", "ftp://auth/check", NULL, NULL, "auth-url"},
        {"spoke.dev/auth-url", "http://auth/\ncheck", NULL, NULL, "auth-url"},
        {"spoke.dev/auth-url", "http://auth/", "spoke.dev/auth-type", "basic",
         "exclude each other"},
        {"spoke.dev/auth-url", "http://auth/", "spoke.dev/auth-realm", "x", "does not apply"},
        {"spoke.dev/auth-url", "http://auth/", "spoke.dev/auth-jwt-claims-to-headers", "sub:X-User",
         "does not apply"},
        {"spoke.dev/auth-url", "http://auth/", "spoke.dev/auth-response-headers", "X-Whatever",
         "cannot be set"},
        {"spoke.dev/auth-url", "http://auth/", "spoke.dev/auth-timeout", "3s", "auth-timeout"},
        {"spoke.dev/auth-cache-ttl", "30", NULL, NULL, "auth-url is not"},
        {"spoke.dev/auth-method", "GET", "spoke.dev/auth-type", "basic", "auth-url is not"},
        {"spoke.dev/auth-type", "basic", "spoke.dev/auth-jwt-claims-to-headers", "sub:X-User",
         "does not apply"},
        {"spoke.dev/auth-jwt-claims-to-headers", "sub:X-User", NULL, NULL, "refusing to guess"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        deny = false;
        const char *kv[] = {bad[i].k1, bad[i].v1, bad[i].k2, bad[i].v2, NULL};
        compile(kv, &deny);
        CHECK(deny);
        CHECK(reports >= 1);
        if (!strstr(last, bad[i].why))
            printf("# case %zu: %s\n", i, last);
        CHECK(strstr(last, bad[i].why) != NULL);
    }
}

TEST_MAIN(TEST_CASE(test_external))
