/*
 * test_spoe_canary.c - the canary decisions of the SPOE responder
 * (spoe/canary_decide.h, spoe/hdrs_bin.h): HAProxy's binary header list
 * read safely, header > cookie > weight, "always"/"never", exact values
 * and patterns, the weight's distribution with a seeded generator, and the
 * composition with auth in policy_decide through real NOTIFY and ACK frames.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/store.h"
#include "model/model.h"
#include "spoe/canary_decide.h"
#include "spoe/hdrs_bin.h"
#include "spoe/policy.h"
#include "spoe/spoe_internal.h"
#include "spoe/spop_codec.h"
#include "spoe_roundtrip.h"
#include "test.h"

/* ---- header lists ------------------------------------------------------------- */

/* name, value pairs (NULL-terminated) as req.hdrs_bin, into out. */
static size_t hdrs(uint8_t *out, size_t cap, const char *const *kv)
{
    struct spop_writer w;
    spop_writer_init(&w, out, cap);
    for (; kv && kv[0]; kv += 2) {
        spop_write_name(&w, kv[0], strlen(kv[0]));
        spop_write_name(&w, kv[1], strlen(kv[1]));
    }
    spop_write_name(&w, "", 0);
    spop_write_name(&w, "", 0);
    CHECK(spop_writer_ok(&w));
    return w.len;
}

static void test_hdrs_bin(void)
{
    uint8_t buf[256];
    const uint8_t *v;
    size_t vl;
    size_t n = hdrs(buf, sizeof(buf),
                    (const char *const[]){"Host", "a.com", "X-One", " \t1 \t", "x-one", "2", NULL});
    CHECK_INT_EQ(hdrs_find(buf, n, "x-ONE", &v, &vl), 1);
    CHECK(vl == 1 && v[0] == '1');
    CHECK_INT_EQ(hdrs_find(buf, n, "x-two", &v, &vl), 0);
    /* Truncated anywhere: never read past the end. */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        int r = hdrs_find(copy, cut, "x-two", &v, &vl);
        CHECK(r == 0 || r == -1);
        free(copy);
    }
    /* A length past the end. */
    uint8_t bad[] = {5, 'a', 'b'};
    CHECK_INT_EQ(hdrs_find(bad, sizeof(bad), "ab", &v, &vl), -1);
    /* More than HDRS_BIN_MAX_HEADERS pairs. */
    uint8_t many[4 * (HDRS_BIN_MAX_HEADERS + 1) + 2];
    size_t m = 0;
    for (int i = 0; i <= HDRS_BIN_MAX_HEADERS; i++) {
        many[m++] = 1, many[m++] = 'a';
        many[m++] = 1, many[m++] = 'b';
    }
    many[m++] = 0, many[m++] = 0;
    CHECK_INT_EQ(hdrs_find(many, m, "z", &v, &vl), -1);
}

/* ---- decisions ------------------------------------------------------------------ */

/* A model with three routes that have canaries and one that has none. */
struct hand {
    struct routing_model m;
    struct model_route routes[4];
};

static const char *id_of(int i)
{
    static _Thread_local char ids[4][MODEL_ROUTE_ID_SIZE];
    snprintf(ids[i], MODEL_ROUTE_ID_SIZE, "r%016x", i + 1);
    return ids[i];
}

static void hand_model(struct hand *h, unsigned weight, unsigned total)
{
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 4; i++) {
        memcpy(h->routes[i].id, id_of(i), MODEL_ROUTE_ID_SIZE);
        h->routes[i].host = "a.com";
        h->routes[i].path = "/";
        h->routes[i].ingress = "ns/main";
        h->routes[i].backend = "ns_web_80";
    }
    /* 0: header "always"/"never" + cookie + weight */
    struct model_canary c = {.ingress = "ns/canary",
                             .backend = "ns_canary_80",
                             .weight = weight,
                             .total = total,
                             .header = "X-Canary",
                             .cookie = "canary"};
    h->routes[0].canary = c;
    /* 1: header with an exact value */
    c.header_value = "beta users";
    h->routes[1].canary = c;
    /* 2: header with a pattern */
    c.header_value = NULL;
    c.header_pattern = "^v[0-9]+(-rc)?$";
    h->routes[2].canary = c;
    h->m.routes = h->routes;
    h->m.n_routes = 4;
}

static enum canary_choice choose(const struct canary_set *s, int route, uint64_t rnd,
                                 const char *const *kv)
{
    static _Thread_local uint8_t buf[16384]; /* the threads test calls it at once */
    size_t n = hdrs(buf, sizeof(buf), kv);
    return canary_choose(s, id_of(route), strlen(id_of(route)), buf, n, rnd);
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_precedence(void)
{
    struct hand h;
    hand_model(&h, 0, 100); /* weight 0: only header and cookie send to canary */
    struct canary_set *s = canary_set_build(&h.m);
    CHECK_INT_EQ(canary_set_count(s), 3);
    CHECK_INT_EQ(choose(s, 3, 0, NULL), CANARY_NO_ROUTE);
    CHECK_INT_EQ(canary_choose(s, "r1", 2, NULL, 0, 0), CANARY_NO_ROUTE);
    CHECK_INT_EQ(canary_choose(s, "r0000000000000001x", 18, NULL, 0, 0), CANARY_NO_ROUTE);
    CHECK_INT_EQ(canary_choose(NULL, id_of(0), 17, NULL, 0, 0), CANARY_NO_ROUTE);

    CHECK_INT_EQ(choose(s, 0, 0, NULL), CANARY_MAIN);
    CHECK_INT_EQ(canary_choose(s, id_of(0), 17, NULL, 0, 0), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 0, 0, H("x-canary", "always")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("X-CANARY", " always ")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("X-Canary", "Always")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 0, 0, H("X-Canary", "always", "X-Canary", "never")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "canary=always")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "a=1; canary=always; b=2")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "a=1", "cookie", "canary=always")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "xcanary=always; canary2=always")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "Canary=always")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 0, 0, H("Cookie", "canary=")), CANARY_MAIN);
    /* header > cookie: "never" in the header wins over the cookie... */
    CHECK_INT_EQ(choose(s, 0, 0, H("X-Canary", "never", "Cookie", "canary=always")), CANARY_MAIN);
    /* ...and any other header value leaves it to the cookie. */
    CHECK_INT_EQ(choose(s, 0, 0, H("X-Canary", "maybe", "Cookie", "canary=always")), CANARY_TAKE);
    /* cookie > weight */
    struct hand all;
    hand_model(&all, 100, 100);
    struct canary_set *s100 = canary_set_build(&all.m);
    for (uint64_t r = 0; r < 50; r++) {
        CHECK_INT_EQ(choose(s100, 0, r * 7919, NULL), CANARY_TAKE);
        CHECK_INT_EQ(choose(s100, 0, r, H("Cookie", "canary=never")), CANARY_MAIN);
        CHECK_INT_EQ(choose(s100, 0, r, H("X-Canary", "never", "Cookie", "canary=always")),
                     CANARY_MAIN);
        CHECK_INT_EQ(choose(s100, 0, r, H("Cookie", "canary=whatever")), CANARY_TAKE);
    }

    /* An exact value: only that value; "always" is just another value. */
    CHECK_INT_EQ(choose(s, 1, 0, H("X-Canary", "beta users")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 1, 0, H("X-Canary", "beta")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 1, 0, H("X-Canary", "always")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 1, 0, H("X-Canary", "nope", "Cookie", "canary=always")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s100, 1, 0, H("X-Canary", "never")), CANARY_TAKE); /* weight 100 */

    /* A pattern. */
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", "v12")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", "v3-rc")), CANARY_TAKE);
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", "v3-rc2")), CANARY_MAIN);
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", "always")), CANARY_MAIN);
    /* A value longer than CANARY_MATCH_MAX never matches. */
    char *big = malloc(CANARY_MATCH_MAX + 3);
    big[0] = 'v';
    memset(big + 1, '7', CANARY_MATCH_MAX + 1);
    big[CANARY_MATCH_MAX + 2] = '\0';
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", big)), CANARY_MAIN);
    big[CANARY_MATCH_MAX] = '\0';
    CHECK_INT_EQ(choose(s, 2, 0, H("X-Canary", big)), CANARY_TAKE);
    free(big);
    /* Malformed header lists are no headers. */
    uint8_t junk[] = {0x7f, 'x'};
    CHECK_INT_EQ(canary_choose(s, id_of(0), 17, junk, sizeof(junk), 0), CANARY_MAIN);
    canary_set_free(s);
    canary_set_free(s100);
}

/* A seeded xorshift64* as the test's random source. */
static uint64_t next(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* No libm in the link: Newton's method is plenty for a tolerance. */
static double sqrt_approx(double v)
{
    double r = v > 1 ? v : 1;
    for (int i = 0; i < 60; i++)
        r = (r + v / r) / 2;
    return r;
}

static void test_weight(void)
{
    static const struct {
        unsigned weight, total;
    } cases[] = {{0, 100}, {100, 100}, {30, 100}, {1, 3}, {7, 7}, {0, 1}, {500, 1000000}};
    uint64_t x = 0x5eed5eed5eedull;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct hand h;
        hand_model(&h, cases[k].weight, cases[k].total);
        struct canary_set *s = canary_set_build(&h.m);
        const int n = 100000;
        int taken = 0;
        for (int i = 0; i < n; i++)
            taken += choose(s, 0, next(&x), NULL) == CANARY_TAKE;
        double p = (double)cases[k].weight / cases[k].total;
        if (cases[k].weight == 0)
            CHECK_INT_EQ(taken, 0);
        else if (cases[k].weight == cases[k].total)
            CHECK_INT_EQ(taken, n);
        else {
            /* within 5 standard deviations */
            double sd = sqrt_approx(n * p * (1 - p));
            CHECK(taken > n * p - 5 * sd && taken < n * p + 5 * sd);
            if (!(taken > n * p - 5 * sd && taken < n * p + 5 * sd))
                printf("#   %u/%u: %d of %d\n", cases[k].weight, cases[k].total, taken, n);
        }
        canary_set_free(s);
    }
    /* The agent's own generator: roughly uniform too. */
    int low = 0;
    for (int i = 0; i < 100000; i++)
        low += canary_random() % 100 < 30;
    CHECK(low > 28500 && low < 31500);
}

/* ---- threads: one set, many deciders ---------------------------------------------- */

struct worker_arg {
    const struct canary_set *s;
    int taken, wrong;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    for (int i = 0; i < 20000; i++) {
        a->taken += choose(a->s, 0, canary_random(), NULL) == CANARY_TAKE;
        a->wrong += choose(a->s, 2, canary_random(), H("X-Canary", "v9")) != CANARY_TAKE;
        a->wrong += choose(a->s, 2, 0, H("X-Canary", "x9")) != CANARY_MAIN;
    }
    return NULL;
}

static void test_threads(void)
{
    struct hand h;
    hand_model(&h, 0, 100);
    h.routes[0].canary.weight = 50;
    h.routes[2].canary.weight = 0;
    struct canary_set *s = canary_set_build(&h.m);
    pthread_t t[4];
    struct worker_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct worker_arg){.s = s};
        CHECK(pthread_create(&t[i], NULL, worker, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT_EQ(a[i].wrong, 0);
        CHECK(a[i].taken > 9000 && a[i].taken < 11000);
    }
    canary_set_free(s);
}

/* ---- with auth, through frames -------------------------------------------------- */

struct answer {
    char verdict[16];
    long long status, canary;
    int nvars;
};

/* One spoke-request NOTIFY for route with headers kv, decided by
 * policy_decide on set, its ACK decoded into a. */
static void ask(void *set, const char *route, const char *const *kv, struct answer *a)
{
    static uint8_t frame[32768], hb[16384], ack[8192];
    memset(a, 0, sizeof(*a));
    a->canary = -1;
    size_t hlen = hdrs(hb, sizeof(hb), kv);
    struct spop_writer w;
    spop_writer_init(&w, frame, sizeof(frame));
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 7, 3);
    spop_notify_add_message(&w, POLICY_MESSAGE, 3);
    struct spop_value v = spop_str(route);
    spop_kv_encode(&w, "route", &v);
    uint8_t addr[4] = {192, 0, 2, 1};
    v = spop_ipv4(addr);
    spop_kv_encode(&w, "src", &v);
    v = spop_bin(hb, hlen);
    spop_kv_encode(&w, "hdrs", &v);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);

    size_t ack_len = spoe_roundtrip(set, frame, w.len, ack, sizeof(ack));
    struct spop_action_iter it;
    struct spop_action act;
    spoe_ack_actions(ack, ack_len, &it);
    while (spop_action_next(&it, &act)) {
        a->nvars++;
        char name[80];
        snprintf(name, sizeof(name), "%.*s", (int)act.name_len, (const char *)act.name);
        const struct spop_value *val = &act.value;
        long long i = val->type == SPOP_TYPE_INT32 ? val->u.int32 : val->u.int64;
        if (strcmp(name, POLICY_VAR_VERDICT) == 0)
            snprintf(a->verdict, sizeof(a->verdict), "%.*s", (int)val->u.bytes.len,
                     (const char *)val->u.bytes.ptr);
        else if (strcmp(name, POLICY_VAR_STATUS) == 0)
            a->status = i;
        else if (strcmp(name, CANARY_VAR) == 0)
            a->canary = i;
    }
}

static void put_ingress(struct store *s, const char *name, const char *ann_key,
                        const char *ann_value)
{
    json_t *ann = json_object();
    if (ann_key)
        json_object_set_new(ann, ann_key, json_string(ann_value));
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "apiVersion", "networking.k8s.io/v1",
                            "kind", "Ingress", "metadata", "namespace", "ns", "name", name,
                            "resourceVersion", "1", "annotations", ann);
    CHECK(store_upsert(s, obj) == 0);
    json_decref(obj);
}

static void test_with_auth(void)
{
    struct hand h;
    hand_model(&h, 0, 100);
    /* Route 1 is protected (a source range nobody matches), route 0 is not. */
    h.routes[1].ingress = "ns/locked";
    h.routes[1].spoe = true;
    struct store *ing = store_new("Ingress", NULL);
    put_ingress(ing, "main", NULL, NULL);
    put_ingress(ing, "locked", POLICY_ANN_WHITELIST, "10.0.0.0/8");
    struct policy_set *set = policy_set_build(&h.m, ing, NULL, 1, NULL, NULL);
    struct answer a;

    ask(set, id_of(0), H("X-Canary", "always"), &a);
    CHECK_STR_EQ(a.verdict, "allow");
    CHECK_INT_EQ(a.canary, 1);
    ask(set, id_of(0), H("Cookie", "canary=never"), &a);
    CHECK_STR_EQ(a.verdict, "allow");
    CHECK_INT_EQ(a.canary, 0);
    /* A route without canary: no canary variable at all. */
    ask(set, id_of(3), NULL, &a);
    CHECK_STR_EQ(a.verdict, "allow");
    CHECK_INT_EQ(a.canary, -1);
    CHECK_INT_EQ(a.nvars, 1);
    /* Auth still denies; the canary variable does not matter then. */
    ask(set, id_of(1), H("X-Canary", "beta users"), &a);
    CHECK_STR_EQ(a.verdict, "deny");
    CHECK_INT_EQ(a.status, 403);
    /* An unknown route: deny 503 from auth, no canary. */
    ask(set, "r00000000000000ff", H("X-Canary", "always"), &a);
    CHECK_STR_EQ(a.verdict, "deny");
    CHECK_INT_EQ(a.canary, -1);
    /* No snapshot: nothing at all (HAProxy serves main, or denies auth). */
    ask(NULL, id_of(0), H("X-Canary", "always"), &a);
    CHECK_INT_EQ(a.nvars, 0);
    policy_set_release(set);
    store_free(ing);
}

TEST_MAIN(TEST_CASE(test_hdrs_bin), TEST_CASE(test_precedence), TEST_CASE(test_weight),
          TEST_CASE(test_threads), TEST_CASE(test_with_auth))
