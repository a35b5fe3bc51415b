/*
 * test_spoe_policy.c - the SPOE auth policies (spoe/policy.h): sets built
 * from Ingress and Secret objects in real stores, decisions driven with
 * NOTIFY frames encoded by the SPOP codec and answered through the ACK
 * encoder, for basic (hashes from `openssl passwd`), jwt (tokens signed with
 * the openssl CLI at test time), apikey, source ranges, hostile input and
 * every fail-closed path.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "auth/base64.h"
#include "kube/store.h"
#include "model/model.h"
#include "model/annotations.h"
#include "spoe/auth_cache.h"
#include "spoe/policy.h"
#include "spoe/policy_internal.h"
#include "spoe/spoe_internal.h"
#include "spoe/spop_codec.h"
#include "spoe_roundtrip.h"
#include "test.h"

#define SCRATCH_PREFIX "policy"
#include "scratch.h"

/* ---- Kubernetes objects ----------------------------------------------------------- */

static char *b64std(const void *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static char *b64url(const void *p, size_t n)
{
    char *out = malloc(B64URL_ENCODED_LEN(n) + 1);
    b64url_encode(p, n, out);
    return out;
}

/* Secret ns/name with key/value pairs (raw values), NULL-terminated. */
static void put_secret_kv(struct store *s, const char *ns, const char *name, const char *const *kv)
{
    json_t *data = json_object();
    for (; kv[0]; kv += 2) {
        char *enc = b64std(kv[1], strlen(kv[1]));
        json_object_set_new(data, kv[0], json_string(enc));
        free(enc);
    }
    json_t *obj =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o}", "apiVersion", "v1", "kind", "Secret", "metadata",
                  "namespace", ns, "name", name, "resourceVersion", "1", "data", data);
    CHECK(store_upsert(s, obj) == 0);
    json_decref(obj);
}
#define put_secret(s, ns, name, ...) put_secret_kv(s, ns, name, (const char *const[]){__VA_ARGS__})

/* Ingress ns/name with annotations (key, value pairs, NULL-terminated). */
static void put_ingress_kv(struct store *s, const char *ns, const char *name, const char *const *kv)
{
    json_t *ann = json_object();
    for (; kv[0]; kv += 2)
        json_object_set_new(ann, kv[0], json_string(kv[1]));
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "apiVersion", "networking.k8s.io/v1",
                            "kind", "Ingress", "metadata", "namespace", ns, "name", name,
                            "resourceVersion", "1", "annotations", ann);
    CHECK(store_upsert(s, obj) == 0);
    json_decref(obj);
}
#define put_ingress(s, ns, name, ...)                                                              \
    put_ingress_kv(s, ns, name, (const char *const[]){__VA_ARGS__})

/* A model by hand: route "rN" (ids r0000000000000001...) per Ingress key. */
struct hand_model {
    struct routing_model m;
    struct model_route routes[16];
    struct model_route def;
};

static void hand_model(struct hand_model *hm, const char *const *ingresses, size_t n,
                       const char *default_ingress)
{
    memset(hm, 0, sizeof(*hm));
    for (size_t i = 0; i < n; i++) {
        snprintf(hm->routes[i].id, sizeof(hm->routes[i].id), "r%016zx", i + 1);
        hm->routes[i].ingress = ingresses[i];
        hm->routes[i].host = "";
        hm->routes[i].path = "/";
    }
    hm->m.routes = hm->routes;
    hm->m.n_routes = n;
    if (default_ingress) {
        snprintf(hm->def.id, sizeof(hm->def.id), "r%016x", 0xdefu);
        hm->def.ingress = default_ingress;
        hm->def.host = "";
        hm->def.path = "/";
        hm->def.is_default = true;
        hm->m.default_route = &hm->def;
    }
}

static const char *route_id(size_t i)
{
    static char buf[4][MODEL_ROUTE_ID_SIZE];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, MODEL_ROUTE_ID_SIZE, "r%016zx", i);
    return p;
}

/* Reports collected. */
struct reports {
    int n;
    char last[600];
};

static void report(void *ud, const char *ingress, const char *message)
{
    struct reports *r = ud;
    r->n++;
    snprintf(r->last, sizeof(r->last), "%s: %s", ingress, message);
    for (const char *s = r->last; *s; s++)
        if (*s < 0x20 || *s >= 0x7f)
            r->n += 1000; /* unprintable in a message: flagged */
}

/* ---- requests and answers ----------------------------------------------------------- */

struct hdr {
    const char *name, *value;
    size_t vlen; /* 0: strlen(value) */
};

struct req {
    const char *route;         /* NULL: no such argument */
    size_t route_len;          /* 0: strlen */
    const char *message;       /* NULL: "spoke-request" */
    int family;                /* 0: src is NULL; 4 or 6 */
    uint8_t addr[16];          /* network order */
    const struct hdr *headers; /* terminated by a NULL name */
    const uint8_t *raw_hdrs;   /* instead of headers: these bytes */
    size_t raw_len;
};

struct answer {
    bool any; /* some variable was set */
    int nvars;
    char verdict[16];
    long long status;
    char www[400];
    char sub[400];
};

static size_t encode_hdrs(const struct hdr *h, uint8_t *out, size_t cap)
{
    struct spop_writer w;
    spop_writer_init(&w, out, cap);
    for (; h && h->name; h++) {
        spop_write_name(&w, h->name, strlen(h->name));
        spop_write_name(&w, h->value, h->vlen ? h->vlen : strlen(h->value));
    }
    spop_write_name(&w, "", 0);
    spop_write_name(&w, "", 0);
    CHECK(spop_writer_ok(&w));
    return w.len;
}

static void ask(void *snapshot, const struct req *rq, struct answer *a)
{
    static uint8_t frame[512 * 1024], hdrs[384 * 1024], ack[32 * 1024];
    memset(a, 0, sizeof(*a));
    size_t hlen = rq->raw_hdrs ? rq->raw_len : encode_hdrs(rq->headers, hdrs, sizeof(hdrs));
    const uint8_t *hp = rq->raw_hdrs ? rq->raw_hdrs : hdrs;

    struct spop_writer w;
    spop_writer_init(&w, frame, sizeof(frame));
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 7, 3);
    spop_notify_add_message(&w, rq->message ? rq->message : POLICY_MESSAGE,
                            (uint8_t)(rq->route ? 6 : 5));
    if (rq->route) {
        struct spop_value v =
            spop_strn(rq->route, rq->route_len ? rq->route_len : strlen(rq->route));
        spop_kv_encode(&w, "route", &v);
    }
    struct spop_value v = spop_str("GET");
    spop_kv_encode(&w, "method", &v);
    v = spop_str("/x");
    spop_kv_encode(&w, "path", &v);
    v = spop_null();
    spop_kv_encode(&w, "query", &v);
    v = rq->family == 4 ? spop_ipv4(rq->addr) : rq->family == 6 ? spop_ipv6(rq->addr) : spop_null();
    spop_kv_encode(&w, "src", &v);
    v = spop_bin(hp, hlen);
    spop_kv_encode(&w, "hdrs", &v);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);

    size_t ack_len = spoe_roundtrip(snapshot, frame, w.len, ack, sizeof(ack));
    struct spop_action_iter it;
    struct spop_action act;
    spoe_ack_actions(ack, ack_len, &it);
    while (spop_action_next(&it, &act)) {
        a->any = true;
        a->nvars++;
        CHECK_INT_EQ(act.type, SPOP_ACTION_SET_VAR);
        CHECK_INT_EQ(act.scope, SPOP_SCOPE_TRANSACTION);
        char name[80];
        snprintf(name, sizeof(name), "%.*s", (int)act.name_len, (const char *)act.name);
        const struct spop_value *val = &act.value;
        char *dst = NULL;
        size_t cap = 0;
        if (strcmp(name, POLICY_VAR_VERDICT) == 0)
            dst = a->verdict, cap = sizeof(a->verdict);
        else if (strcmp(name, POLICY_VAR_WWW_AUTH) == 0)
            dst = a->www, cap = sizeof(a->www);
        else if (strcmp(name, POLICY_VAR_SUB) == 0)
            dst = a->sub, cap = sizeof(a->sub);
        else if (strcmp(name, POLICY_VAR_STATUS) == 0) {
            CHECK(val->type == SPOP_TYPE_INT64 || val->type == SPOP_TYPE_INT32 ||
                  val->type == SPOP_TYPE_UINT32 || val->type == SPOP_TYPE_UINT64);
            a->status = val->type == SPOP_TYPE_INT32 ? val->u.int32 : val->u.int64;
        } else {
            printf("# unexpected variable %s\n", name);
            CHECK(0);
        }
        if (dst) {
            CHECK_INT_EQ(val->type, SPOP_TYPE_STRING);
            snprintf(dst, cap, "%.*s", (int)val->u.bytes.len, (const char *)val->u.bytes.ptr);
            CHECK(strlen(dst) == val->u.bytes.len);
        }
    }
    CHECK_INT_EQ(it.status, SPOP_STATUS_NORMAL);
}

/* One request with one header (name NULL: none) from 192.0.2.10. */
static void ask1(void *set, size_t route, const char *hname, const char *hvalue, struct answer *a)
{
    struct hdr h[3] = {{"host", "example.com", 0}, {hname, hvalue, 0}, {NULL, NULL, 0}};
    struct req rq = {.route = route_id(route), .family = 4, .addr = {192, 0, 2, 10}, .headers = h};
    if (!hname)
        h[1].name = NULL;
    ask(set, &rq, a);
}

#define CHECK_ALLOW(a)                                                                             \
    do {                                                                                           \
        CHECK_STR_EQ((a).verdict, "allow");                                                        \
        CHECK_INT_EQ((a).status, 0);                                                               \
        CHECK_STR_EQ((a).www, "");                                                                 \
    } while (0)

#define CHECK_DENY(a, st)                                                                          \
    do {                                                                                           \
        CHECK_STR_EQ((a).verdict, "deny");                                                         \
        CHECK_INT_EQ((a).status, (st));                                                            \
        CHECK_STR_EQ((a).sub, "");                                                                 \
    } while (0)

/* A fixture: fresh stores, a model over up to 16 Ingresses. */
struct fx {
    struct store *ing, *sec;
    struct hand_model hm;
    struct policy_set *set;
    struct reports rep;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->ing = store_new("Ingress", NULL);
    f->sec = store_new("Secret", NULL);
}

static void fx_build(struct fx *f, const char *const *ingresses, size_t n)
{
    hand_model(&f->hm, ingresses, n, NULL);
    policy_set_release(f->set);
    memset(&f->rep, 0, sizeof(f->rep));
    f->set = policy_set_build(&f->hm.m, f->ing, f->sec, 12345, report, &f->rep);
}

static void fx_free(struct fx *f)
{
    policy_set_release(f->set);
    store_free(f->ing);
    store_free(f->sec);
}

/* Credentials remembered by route n's basic auth (policy_internal.h). */
static size_t verified_count(const struct policy_set *set, int n)
{
    const char *id = route_id(n);
    const struct route_entry *e = policy_find_route(set, id, strlen(id));
    return e && e->policy && e->policy->verified ? auth_cache_count(e->policy->verified) : 0;
}

static char *basic_header(const char *user, const char *pass)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "%s:%s", user, pass);
    char *enc = b64std(raw, strlen(raw));
    char *h = malloc(strlen(enc) + 8);
    sprintf(h, "Basic %s", enc);
    free(enc);
    return h;
}

/* ---- tests ------------------------------------------------------------------------- */

/* The model flags the routes (annotations_need_spoe); an auth annotation
 * this version does not implement must deny, never allow. */
static void test_unsupported_auth_annotation_denies(void)
{
    json_t *ing = json_pack("{s:{s:s, s:s, s:{s:s}}}", "metadata", "namespace", "ns", "name", "ext",
                            "annotations", "spoke.dev/auth-url", "http://auth.example/check");
    CHECK(annotations_need_spoe(ing));
    json_t *plain =
        json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "spoke.dev/ssl-redirect", "true");
    CHECK(!annotations_need_spoe(plain));
    json_decref(plain);
    json_decref(ing);
}

static void test_basic(void)
{
    char alice[300], bob[300], file[700];
    run_line(alice, sizeof(alice), "openssl passwd -6 -salt s4ltS4lt 'wonder land'");
    run_line(bob, sizeof(bob), "openssl passwd -apr1 -salt abcdefgh builder");
    CHECK(strncmp(alice, "$6$", 3) == 0 && strncmp(bob, "$apr1$", 6) == 0);
    snprintf(file, sizeof(file), "# users\nalice:%s\nbob:%s\n", alice, bob);

    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "web", "users", "auth", file, NULL);
    put_ingress(f.ing, "web", "a", POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "users",
                NULL);
    put_ingress(f.ing, "web", "b", POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET,
                "web/users", POLICY_ANN_AUTH_REALM, "Staff only", NULL);
    const char *ings[] = {"web/a", "web/b", "web/a"};
    fx_build(&f, ings, 3);
    CHECK_INT_EQ(f.rep.n, 0);
    CHECK_INT_EQ(policy_set_count(f.set), 3);
    CHECK_INT_EQ(policy_set_built_at(f.set), 12345);
    bool broken = true;
    CHECK_INT_EQ(policy_set_route(f.set, route_id(1), &broken), POLICY_AUTH_BASIC);
    CHECK(!broken);

    struct answer a;
    char *good = basic_header("alice", "wonder land");
    ask1(f.set, 1, "Authorization", good, &a);
    CHECK_ALLOW(a);
    CHECK_INT_EQ(a.nvars, 1);
    ask1(f.set, 3, "AUTHORIZATION", good, &a); /* names are case-insensitive */
    CHECK_ALLOW(a);
    char *bobh = basic_header("bob", "builder");
    ask1(f.set, 2, "authorization", bobh, &a);
    CHECK_ALLOW(a);
    /* scheme is case-insensitive, extra spaces allowed */
    char lower[300];
    snprintf(lower, sizeof(lower), "bAsIc   %s", good + 6);
    ask1(f.set, 1, "Authorization", lower, &a);
    CHECK_ALLOW(a);

    /* denials */
    ask1(f.set, 1, NULL, NULL, &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, "Basic realm=\"Authentication Required\"");
    ask1(f.set, 2, NULL, NULL, &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, "Basic realm=\"Staff only\"");
    char *wrong = basic_header("alice", "wonder lan");
    ask1(f.set, 1, "Authorization", wrong, &a);
    CHECK_DENY(a, 401);
    char *nouser = basic_header("mallory", "wonder land");
    ask1(f.set, 1, "Authorization", nouser, &a);
    CHECK_DENY(a, 401);
    char *empty_user = basic_header("", "wonder land");
    ask1(f.set, 1, "Authorization", empty_user, &a);
    CHECK_DENY(a, 401);
    const char *hostile[] = {
        "Basic",
        "Basic ",
        "Basic !!!!",
        "Basic YWxpY2U6d29uZGVyIGxhbmQ",   /* unpadded */
        "Basic YWxpY2U=",                  /* no colon: "alice" */
        "Basic YWxpY2U6d29uZGVyIGxhbmQ=x", /* trailing garbage */
        "Bearer YWxpY2U6d29uZGVyIGxhbmQ=",
        "BasicYWxpY2U6d29uZGVyIGxhbmQ=",
        "Basic\tYWxpY2U6d29uZGVyIGxhbmQ=",
        "Basic YWxpY2U6d29uZGVy\r\nIGxhbmQ=",
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        ask1(f.set, 1, "Authorization", hostile[i], &a);
        CHECK_DENY(a, 401);
    }
    /* a NUL byte inside the credentials */
    {
        const char raw[] = "alice\0:wonder land";
        char *enc = b64std(raw, sizeof(raw) - 1);
        char h[200];
        snprintf(h, sizeof(h), "Basic %s", enc);
        free(enc);
        ask1(f.set, 1, "Authorization", h, &a);
        CHECK_DENY(a, 401);
    }
    /* a huge header, with the right credentials at its start */
    {
        size_t n = 200 * 1024;
        char *big = malloc(n + 1);
        memset(big, 'A', n);
        memcpy(big, good, strlen(good));
        big[n] = '\0';
        ask1(f.set, 1, "Authorization", big, &a);
        CHECK_DENY(a, 401);
        free(big);
    }
    /* duplicate headers: the first wins */
    {
        struct hdr h[] = {{"authorization", wrong, 0}, {"Authorization", good, 0}, {NULL, 0, 0}};
        struct req rq = {.route = route_id(1), .family = 4, .headers = h};
        ask(f.set, &rq, &a);
        CHECK_DENY(a, 401);
        struct hdr h2[] = {{"authorization", good, 0}, {"Authorization", wrong, 0}, {NULL, 0, 0}};
        rq.headers = h2;
        ask(f.set, &rq, &a);
        CHECK_ALLOW(a);
    }
    /* malformed header lists */
    {
        uint8_t buf[64];
        size_t n =
            encode_hdrs((struct hdr[]){{"authorization", good, 0}, {NULL, 0, 0}}, buf, sizeof(buf));
        struct req rq = {.route = route_id(1), .family = 4, .raw_hdrs = buf, .raw_len = n - 2};
        ask(f.set, &rq, &a); /* no end marker: still the same header */
        CHECK_ALLOW(a);
        rq.raw_len = n - 5; /* value truncated */
        ask(f.set, &rq, &a);
        CHECK_DENY(a, 401);
        const uint8_t lies[] = {0xf0, 0xff, 0xff, 0xff, 0x7f, 'a'}; /* a huge length */
        rq.raw_hdrs = lies;
        rq.raw_len = sizeof(lies);
        ask(f.set, &rq, &a);
        CHECK_DENY(a, 401);
        rq.raw_len = 0;
        ask(f.set, &rq, &a);
        CHECK_DENY(a, 401);
    }
    /* Verified credentials are remembered (digest only), per Ingress; a
     * wrong password never is. */
    CHECK(verified_count(f.set, 1) >= 1);
    size_t before = verified_count(f.set, 1);
    ask1(f.set, 1, "Authorization", wrong, &a);
    CHECK_DENY(a, 401);
    CHECK_INT_EQ(verified_count(f.set, 1), before);
    ask1(f.set, 1, "Authorization", good, &a); /* from the cache */
    CHECK_ALLOW(a);
    /* A new htpasswd (alice removed) is a new set: nothing remembered. */
    snprintf(file, sizeof(file), "bob:%s\n", bob);
    json_t *gone = json_pack("{s:{s:s,s:s}}", "metadata", "namespace", "web", "name", "users");
    store_delete(f.sec, gone); /* a changed Secret (the test's objects all have version 1) */
    json_decref(gone);
    put_secret(f.sec, "web", "users", "auth", file, NULL);
    fx_build(&f, ings, 3);
    CHECK_INT_EQ(verified_count(f.set, 1), 0);
    ask1(f.set, 1, "Authorization", good, &a);
    CHECK_DENY(a, 401);
    ask1(f.set, 1, "Authorization", bobh, &a);
    CHECK_ALLOW(a);
    free(good);
    free(bobh);
    free(wrong);
    free(nouser);
    free(empty_user);
    fx_free(&f);
}

/* ---- JWT ------------------------------------------------------------------------------ */

static bool keys_ready;

static void make_keys(void)
{
    if (keys_ready)
        return;
    keys_ready = true;
    sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null",
       scratch_path("rsa.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("rsa.key"), scratch_path("rsa.pub"));
}

/* header.payload signed: alg "RS256" with rsa.key, "HS256" with secret,
 * "none" unsigned. */
static char *token(const char *header_json, const char *payload_json, const char *alg,
                   const void *secret, size_t secret_len)
{
    char *h = b64url(header_json, strlen(header_json));
    char *p = b64url(payload_json, strlen(payload_json));
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, p);
    free(h);
    free(p);
    char *sig = NULL;
    if (strcmp(alg, "none") != 0) {
        spit(scratch_path("input"), input, strlen(input));
        if (strcmp(alg, "RS256") == 0) {
            sh("openssl dgst -sha256 -sign %s -out %s %s", scratch_path("rsa.key"),
               scratch_path("sig"), scratch_path("input"));
        } else {
            char *hex = malloc(2 * secret_len + 1);
            for (size_t i = 0; i < secret_len; i++)
                sprintf(hex + 2 * i, "%02x", ((const unsigned char *)secret)[i]);
            sh("openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary -out %s %s", hex,
               scratch_path("sig"), scratch_path("input"));
            free(hex);
        }
        size_t sl;
        char *raw = slurp(scratch_path("sig"), &sl);
        sig = b64url(raw ? raw : "", raw ? sl : 0);
        free(raw);
    }
    size_t tl = strlen(input) + (sig ? strlen(sig) : 0) + 2;
    char *tok = malloc(tl);
    snprintf(tok, tl, "%s.%s", input, sig ? sig : "");
    free(sig);
    free(input);
    return tok;
}

static char *bearer(const char *tok)
{
    char *h = malloc(strlen(tok) + 8);
    sprintf(h, "Bearer %s", tok);
    return h;
}

static void ask_tok(void *set, size_t route, const char *tok, struct answer *a)
{
    char *h = bearer(tok);
    ask1(set, route, "Authorization", h, a);
    free(h);
}

static void test_jwt_rsa(void)
{
    make_keys();
    size_t pl;
    char *pem = slurp(scratch_path("rsa.pub"), &pl);
    CHECK(pem != NULL);
    if (!pem)
        return;
    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "api", "idp", "keys.pem", pem, NULL);
    put_ingress(f.ing, "api", "j", POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWKS_SECRET, "idp",
                POLICY_ANN_JWT_ISSUER, "https://idp.example", POLICY_ANN_JWT_AUDIENCE,
                " other , api ", POLICY_ANN_AUTH_REALM, "api", NULL);
    put_ingress(f.ing, "api", "k", POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWKS_SECRET, "api/idp",
                POLICY_ANN_JWT_LEEWAY, "60", NULL);
    const char *ings[] = {"api/j", "api/k"};
    fx_build(&f, ings, 2);
    CHECK_INT_EQ(f.rep.n, 0);

    long long now = (long long)time(NULL);
    const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    char payload[600];
    struct answer a;

    snprintf(payload, sizeof(payload),
             "{\"sub\":\"user-42\",\"iss\":\"https://idp.example\",\"aud\":[\"x\",\"api\"],"
             "\"exp\":%lld,\"nbf\":%lld}",
             now + 600, now - 10);
    char *ok = token(hdr, payload, "RS256", NULL, 0);
    ask_tok(f.set, 1, ok, &a);
    CHECK_ALLOW(a);
    CHECK_STR_EQ(a.sub, "user-42");
    ask1(f.set, 1, "authorization", ok, &a); /* no scheme */
    CHECK_DENY(a, 401);

    /* missing: no error code (RFC 6750 3.1) */
    ask1(f.set, 1, NULL, NULL, &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, "Bearer realm=\"api\"");
    ask1(f.set, 2, "Authorization", "Basic YTpi", &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, "Bearer realm=\"Authentication Required\"");

    /* the invalid ones */
    const char *invalid_www = "Bearer realm=\"api\", error=\"invalid_token\"";
    struct {
        const char *what;
        long long exp, nbf;
        const char *iss, *aud;
    } cases[] = {
        {"expired", now - 30, 0, "https://idp.example", "api"},
        {"not yet valid", now + 600, now + 300, "https://idp.example", "api"},
        {"wrong audience", now + 600, 0, "https://idp.example", "web"},
        {"wrong issuer", now + 600, 0, "https://evil.example", "api"},
        {"no issuer", now + 600, 0, NULL, "api"},
        {"no audience", now + 600, 0, "https://idp.example", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char p[600];
        int n = snprintf(p, sizeof(p), "{\"sub\":\"s\",\"exp\":%lld", cases[i].exp);
        if (cases[i].nbf)
            n += snprintf(p + n, sizeof(p) - (size_t)n, ",\"nbf\":%lld", cases[i].nbf);
        if (cases[i].iss)
            n += snprintf(p + n, sizeof(p) - (size_t)n, ",\"iss\":\"%s\"", cases[i].iss);
        if (cases[i].aud)
            n += snprintf(p + n, sizeof(p) - (size_t)n, ",\"aud\":\"%s\"", cases[i].aud);
        snprintf(p + n, sizeof(p) - (size_t)n, "}");
        char *t = token(hdr, p, "RS256", NULL, 0);
        ask_tok(f.set, 1, t, &a);
        printf("# %s\n", cases[i].what);
        CHECK_DENY(a, 401);
        CHECK_STR_EQ(a.www, invalid_www);
        free(t);
    }

    /* leeway: 30 s after exp passes with 60 s of leeway, 90 s does not */
    snprintf(payload, sizeof(payload), "{\"sub\":\"late\",\"exp\":%lld}", now - 30);
    char *late = token(hdr, payload, "RS256", NULL, 0);
    ask_tok(f.set, 2, late, &a);
    CHECK_ALLOW(a);
    CHECK_STR_EQ(a.sub, "late");
    snprintf(payload, sizeof(payload), "{\"sub\":\"later\",\"exp\":%lld}", now - 90);
    char *later = token(hdr, payload, "RS256", NULL, 0);
    ask_tok(f.set, 2, later, &a);
    CHECK_DENY(a, 401);

    /* alg none, unsigned and with a signature */
    snprintf(payload, sizeof(payload), "{\"sub\":\"x\",\"exp\":%lld}", now + 600);
    char *none = token("{\"alg\":\"none\"}", payload, "none", NULL, 0);
    ask_tok(f.set, 2, none, &a);
    CHECK_DENY(a, 401);
    char *none2 = token("{\"alg\":\"nOnE\"}", payload, "none", NULL, 0);
    ask_tok(f.set, 2, none2, &a);
    CHECK_DENY(a, 401);
    /* algorithm confusion: HS256 keyed with the public key's PEM */
    char *confused = token("{\"alg\":\"HS256\"}", payload, "HS256", pem, pl);
    ask_tok(f.set, 2, confused, &a);
    CHECK_DENY(a, 401);
    /* a tampered payload */
    {
        char *t = strdup(ok);
        char *dot = strchr(t, '.');
        dot[2] = dot[2] == 'A' ? 'B' : 'A';
        ask_tok(f.set, 1, t, &a);
        CHECK_DENY(a, 401);
        free(t);
    }
    /* garbage and huge tokens */
    ask_tok(f.set, 1, "a.b.c", &a);
    CHECK_DENY(a, 401);
    ask1(f.set, 1, "Authorization", "Bearer", &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, invalid_www);
    {
        size_t n = 100 * 1024;
        char *big = malloc(n + 1);
        memset(big, 'e', n);
        big[n] = '\0';
        ask_tok(f.set, 1, big, &a);
        CHECK_DENY(a, 401);
        free(big);
    }
    /* a sub that cannot be passed on is dropped, the token still counts */
    snprintf(payload, sizeof(payload), "{\"sub\":\"a\\nb\",\"exp\":%lld}", now + 600);
    char *nl = token(hdr, payload, "RS256", NULL, 0);
    ask_tok(f.set, 2, nl, &a);
    CHECK_ALLOW(a);
    CHECK_STR_EQ(a.sub, "");

    free(ok);
    free(late);
    free(later);
    free(none);
    free(none2);
    free(confused);
    free(nl);
    free(pem);
    fx_free(&f);
}

static void test_jwt_hmac(void)
{
    const char *secret = "0123456789abcdef0123456789abcdef-shared";
    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "api", "hs", "secret", secret, NULL);
    char k[200], jwks[300];
    char *kb = b64url(secret, strlen(secret));
    snprintf(k, sizeof(k), "%s", kb);
    free(kb);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"%s\"}]}", k);
    put_secret(f.sec, "api", "set", "jwks.json", jwks, NULL);
    put_ingress(f.ing, "api", "h", POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWT_HMAC_SECRET, "hs",
                NULL);
    put_ingress(f.ing, "api", "s", POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWKS_SECRET, "set",
                NULL);
    const char *ings[] = {"api/h", "api/s"};
    fx_build(&f, ings, 2);
    CHECK_INT_EQ(f.rep.n, 0);

    long long now = (long long)time(NULL);
    char payload[200];
    snprintf(payload, sizeof(payload), "{\"sub\":\"svc\",\"exp\":%lld}", now + 60);
    char *t = token("{\"alg\":\"HS256\"}", payload, "HS256", secret, strlen(secret));
    char *tk =
        token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload, "HS256", secret, strlen(secret));
    char *bad =
        token("{\"alg\":\"HS256\"}", payload, "HS256", "wrong-secret-wrong-secret-wrong!", 32);
    struct answer a;
    ask_tok(f.set, 1, t, &a);
    CHECK_ALLOW(a);
    CHECK_STR_EQ(a.sub, "svc");
    ask_tok(f.set, 2, tk, &a);
    CHECK_ALLOW(a);
    ask_tok(f.set, 1, bad, &a);
    CHECK_DENY(a, 401);
    ask_tok(f.set, 2, bad, &a);
    CHECK_DENY(a, 401);
    free(t);
    free(tk);
    free(bad);
    fx_free(&f);
}

static void test_apikey(void)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    const char *hashed_key = "hashed-key-value";
    SHA256((const unsigned char *)hashed_key, strlen(hashed_key), d);
    char hashed[80] = "sha256:";
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(hashed + 7 + 2 * i, "%02x", d[i]);

    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "api", "keys", "ci", "plain-key-1\n", "ops", hashed, NULL);
    put_ingress(f.ing, "api", "k", POLICY_ANN_AUTH_TYPE, "apikey", POLICY_ANN_AUTH_SECRET, "keys",
                NULL);
    put_ingress(f.ing, "api", "c", POLICY_ANN_AUTH_TYPE, "apikey", POLICY_ANN_AUTH_SECRET, "keys",
                POLICY_ANN_APIKEY_HEADER, "X-Token", NULL);
    const char *ings[] = {"api/k", "api/c"};
    fx_build(&f, ings, 2);
    CHECK_INT_EQ(f.rep.n, 0);
    struct answer a;
    ask1(f.set, 1, "x-api-key", "plain-key-1", &a);
    CHECK_ALLOW(a);
    ask1(f.set, 1, "X-API-Key", "  hashed-key-value ", &a);
    CHECK_ALLOW(a);
    ask1(f.set, 1, "X-API-Key", "plain-key-2", &a);
    CHECK_DENY(a, 401);
    CHECK_STR_EQ(a.www, "");
    ask1(f.set, 1, "X-API-Key", hashed, &a); /* the digest itself is not a key */
    CHECK_DENY(a, 401);
    ask1(f.set, 1, NULL, NULL, &a);
    CHECK_DENY(a, 401);
    ask1(f.set, 1, "X-API-Key", "", &a);
    CHECK_DENY(a, 401);
    ask1(f.set, 1, "X-Token", "plain-key-1", &a); /* wrong header for this route */
    CHECK_DENY(a, 401);
    ask1(f.set, 2, "x-token", "plain-key-1", &a);
    CHECK_ALLOW(a);
    ask1(f.set, 2, "X-API-Key", "plain-key-1", &a);
    CHECK_DENY(a, 401);
    fx_free(&f);
}

static void ask_src(void *set, size_t route, int family, const char *addr, const struct hdr *h,
                    struct answer *a)
{
    struct req rq = {.route = route_id(route), .family = family, .headers = h};
    if (family)
        CHECK(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, rq.addr) == 1);
    ask(set, &rq, a);
}

static void test_source_ranges(void)
{
    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "n", "keys", "k", "the-key", NULL);
    put_ingress(f.ing, "n", "allow", POLICY_ANN_WHITELIST, "10.0.0.0/8, 2001:db8::/32", NULL);
    put_ingress(f.ing, "n", "deny", POLICY_ANN_DENYLIST, "10.1.0.0/16,2001:db8:bad::/48", NULL);
    put_ingress(f.ing, "n", "both", POLICY_ANN_WHITELIST, "10.0.0.0/8", POLICY_ANN_DENYLIST,
                "10.1.0.0/16", POLICY_ANN_AUTH_TYPE, "apikey", POLICY_ANN_AUTH_SECRET, "keys",
                NULL);
    put_ingress(f.ing, "n", "plain", "spoke.dev/ssl-redirect", "false", NULL);
    const char *ings[] = {"n/allow", "n/deny", "n/both", "n/plain", ""};
    fx_build(&f, ings, 5);
    CHECK_INT_EQ(f.rep.n, 0);
    CHECK_INT_EQ(policy_set_route(f.set, route_id(4), NULL), POLICY_AUTH_NONE);

    struct answer a;
    ask_src(f.set, 1, 4, "10.2.3.4", NULL, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 1, 4, "11.2.3.4", NULL, &a);
    CHECK_DENY(a, 403);
    CHECK_STR_EQ(a.www, "");
    ask_src(f.set, 1, 6, "2001:db8::1", NULL, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 1, 6, "2001:db9::1", NULL, &a);
    CHECK_DENY(a, 403);
    ask_src(f.set, 1, 6, "::ffff:10.9.9.9", NULL, &a); /* mapped: looked up as IPv4 */
    CHECK_ALLOW(a);
    ask_src(f.set, 1, 0, NULL, NULL, &a); /* no address: fail closed */
    CHECK_DENY(a, 403);

    ask_src(f.set, 2, 4, "10.1.2.3", NULL, &a);
    CHECK_DENY(a, 403);
    ask_src(f.set, 2, 4, "10.2.2.3", NULL, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 2, 6, "2001:db8:bad::7", NULL, &a);
    CHECK_DENY(a, 403);
    ask_src(f.set, 2, 6, "2001:db8:900d::7", NULL, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 2, 0, NULL, NULL, &a);
    CHECK_DENY(a, 403);

    /* lists come before credentials */
    struct hdr key[] = {{"x-api-key", "the-key", 0}, {NULL, 0, 0}};
    ask_src(f.set, 3, 4, "10.1.0.1", key, &a);
    CHECK_DENY(a, 403);
    ask_src(f.set, 3, 4, "192.0.2.1", key, &a);
    CHECK_DENY(a, 403);
    ask_src(f.set, 3, 4, "10.3.0.1", key, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 3, 4, "10.3.0.1", NULL, &a);
    CHECK_DENY(a, 401);

    /* no policy annotation, or no Ingress: allowed (flagged for something else) */
    ask_src(f.set, 4, 4, "192.0.2.1", NULL, &a);
    CHECK_ALLOW(a);
    ask_src(f.set, 5, 0, NULL, NULL, &a);
    CHECK_ALLOW(a);
    fx_free(&f);
}

/* Each broken configuration: routes deny 503 and one report names the
 * Ingress and says what is wrong. */
static void test_fail_closed(void)
{
    char hash[300], file[400];
    run_line(hash, sizeof(hash), "openssl passwd -6 -salt s4ltS4lt pw");
    snprintf(file, sizeof(file), "u:%s\n", hash);
    struct {
        const char *ann[12]; /* pairs */
        const char *expect;  /* in the report */
    } cases[] = {
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "missing"}, "not found"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "other/users"},
         "another namespace"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "Bad_Name"}, "not a valid"},
        {{POLICY_ANN_AUTH_TYPE, "basic"}, "needs"},
        {{POLICY_ANN_AUTH_TYPE, "Basic", POLICY_ANN_AUTH_SECRET, "users"}, "not one of"},
        {{POLICY_ANN_AUTH_TYPE, "digest", POLICY_ANN_AUTH_SECRET, "users"}, "not one of"},
        {{POLICY_ANN_AUTH_SECRET, "users"}, "is not"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "nokey"}, "no \"auth\" key"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "plaintext"}, "auth:"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "users", POLICY_ANN_AUTH_REALM,
          "x\"\r\nSet-Cookie: a=b"},
         "not a valid realm"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "users", POLICY_ANN_AUTH_REALM,
          "a\\\""},
         "not a valid realm"},
        {{POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "users", POLICY_ANN_JWT_ISSUER,
          "x"},
         "does not apply"},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWKS_SECRET, "users"}, "web/users: auth: "},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWKS_SECRET, "two"}, "jwks.json"},
        {{POLICY_ANN_AUTH_TYPE, "jwt"}, "exactly one"},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWT_HMAC_SECRET, "short"}, "secret:"},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWT_HMAC_SECRET, "hs", POLICY_ANN_JWT_LEEWAY,
          "301"},
         "0 to 300"},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWT_HMAC_SECRET, "hs", POLICY_ANN_JWT_LEEWAY,
          "-1"},
         "0 to 300"},
        {{POLICY_ANN_AUTH_TYPE, "jwt", POLICY_ANN_JWT_HMAC_SECRET, "hs", POLICY_ANN_JWT_AUDIENCE,
          " , "},
         "no audience"},
        {{POLICY_ANN_AUTH_TYPE, "apikey", POLICY_ANN_AUTH_SECRET, "empty"}, "no API keys"},
        {{POLICY_ANN_AUTH_TYPE, "apikey", POLICY_ANN_AUTH_SECRET, "users", POLICY_ANN_APIKEY_HEADER,
          "X Bad"},
         "not a valid header"},
        {{POLICY_ANN_WHITELIST, "10.0.0.0/33"}, POLICY_ANN_WHITELIST},
        {{POLICY_ANN_DENYLIST, "banana"}, POLICY_ANN_DENYLIST},
        {{POLICY_ANN_WHITELIST, ""}, POLICY_ANN_WHITELIST},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx f;
        fx_init(&f);
        put_secret(f.sec, "web", "users", "auth", file, NULL);
        put_secret(f.sec, "other", "users", "auth", file, NULL);
        put_secret(f.sec, "web", "nokey", "htpasswd", file, NULL);
        put_secret(f.sec, "web", "plaintext", "auth", "u:secret\n", NULL);
        put_secret(f.sec, "web", "short", "secret", "too-short", NULL);
        put_secret(f.sec, "web", "hs", "secret", "0123456789abcdef0123456789abcdef", NULL);
        put_secret(f.sec, "web", "empty", NULL);
        put_secret(f.sec, "web", "two", "a", "x", "b", "y", NULL);
        const char *const *p = cases[i].ann;
        json_t *ann = json_object();
        for (size_t j = 0; j < 12 && p[j]; j += 2)
            json_object_set_new(ann, p[j], json_string(p[j + 1]));
        json_t *obj = json_pack("{s:s,s:{s:s,s:s,s:o}}", "kind", "Ingress", "metadata", "namespace",
                                "web", "name", "bad", "annotations", ann);
        store_upsert(f.ing, obj);
        json_decref(obj);
        const char *ings[] = {"web/bad", "web/bad"};
        fx_build(&f, ings, 2);
        printf("# case %zu: %s\n", i, f.rep.last);
        CHECK(f.rep.n >= 1 && f.rep.n < 1000);
        CHECK(strncmp(f.rep.last, "web/bad: ", 9) == 0);
        CHECK(strstr(f.rep.last, cases[i].expect) != NULL);
        bool broken = false;
        policy_set_route(f.set, route_id(1), &broken);
        CHECK(broken);
        /* even the right credentials from an allowed source get 503 */
        char *good = basic_header("u", "pw");
        struct answer a;
        ask1(f.set, 1, "Authorization", good, &a);
        CHECK_DENY(a, 503);
        CHECK_STR_EQ(a.www, "");
        ask1(f.set, 2, NULL, NULL, &a);
        CHECK_DENY(a, 503);
        free(good);
        fx_free(&f);
    }

    /* a non-string annotation; an Ingress missing from the store */
    struct fx f;
    fx_init(&f);
    json_t *obj = json_pack("{s:{s:s,s:s,s:{s:i}}}", "metadata", "namespace", "web", "name", "num",
                            "annotations", POLICY_ANN_AUTH_TYPE, 5);
    store_upsert(f.ing, obj);
    json_decref(obj);
    const char *ings[] = {"web/num", "web/gone"};
    fx_build(&f, ings, 2);
    CHECK_INT_EQ(f.rep.n, 2);
    struct answer a;
    ask1(f.set, 1, NULL, NULL, &a);
    CHECK_DENY(a, 503);
    ask1(f.set, 2, NULL, NULL, &a);
    CHECK_DENY(a, 503);
    fx_free(&f);
}

static void test_unknown_and_null(void)
{
    struct fx f;
    fx_init(&f);
    put_ingress(f.ing, "n", "i", POLICY_ANN_WHITELIST, "0.0.0.0/0", NULL);
    const char *ings[] = {"n/i"};
    hand_model(&f.hm, ings, 1, "n/i");
    f.set = policy_set_build(&f.hm.m, f.ing, f.sec, 0, report, &f.rep);
    CHECK_INT_EQ(policy_set_count(f.set), 2);
    CHECK_INT_EQ(policy_set_route(f.set, "r0000000000000def", NULL), POLICY_AUTH_NONE);
    CHECK_INT_EQ(policy_set_route(f.set, "nope", NULL), -1);

    struct answer a;
    ask1(f.set, 1, NULL, NULL, &a);
    CHECK_ALLOW(a);
    ask1(f.set, 0xdef, NULL, NULL, &a); /* the default route */
    CHECK_ALLOW(a);
    ask1(f.set, 99, NULL, NULL, &a);
    CHECK_DENY(a, 503);
    struct req rq = {.route = NULL, .family = 4};
    ask(f.set, &rq, &a); /* no route argument */
    CHECK_DENY(a, 503);
    char nul_id[MODEL_ROUTE_ID_SIZE + 4];
    memcpy(nul_id, route_id(1), MODEL_ROUTE_ID_SIZE);
    nul_id[MODEL_ROUTE_ID_SIZE - 1] = 'x';
    rq.route = nul_id;
    rq.route_len = MODEL_ROUTE_ID_SIZE; /* the id plus one byte */
    ask(f.set, &rq, &a);
    CHECK_DENY(a, 503);
    nul_id[5] = '\0'; /* a NUL inside */
    rq.route_len = MODEL_ROUTE_ID_SIZE - 1;
    ask(f.set, &rq, &a);
    CHECK_DENY(a, 503);
    rq.route = "";
    rq.route_len = 0;
    ask(f.set, &rq, &a);
    CHECK_DENY(a, 503);

    /* no snapshot: no variables; another message: no variables */
    ask1(NULL, 1, NULL, NULL, &a);
    CHECK(!a.any);
    struct req other = {.route = route_id(1), .message = "other"};
    ask(f.set, &other, &a);
    CHECK(!a.any);

    /* an empty model, and an empty set */
    policy_set_release(NULL);
    struct policy_set *empty = policy_set_build(NULL, NULL, NULL, 0, NULL, NULL);
    ask1(empty, 1, NULL, NULL, &a);
    CHECK_DENY(a, 503);
    policy_set_release(empty);
    fx_free(&f);
}

/* Many workers on one set at once (ASan/TSan-friendly smoke test). */
struct worker_arg {
    struct policy_set *set;
    const char *good, *bad;
    int allowed, denied;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    for (int i = 0; i < 20; i++) {
        struct hdr h[] = {{"authorization", (i & 1) ? w->bad : w->good, 0}, {NULL, 0, 0}};
        uint8_t buf[512], frame[2048];
        struct spop_writer wr;
        size_t hl = encode_hdrs(h, buf, sizeof(buf));
        spop_writer_init(&wr, frame, sizeof(frame));
        size_t mark = spop_frame_begin(&wr, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 1, (uint64_t)i);
        spop_notify_add_message(&wr, POLICY_MESSAGE, 2);
        struct spop_value v = spop_str(route_id(1));
        spop_kv_encode(&wr, "route", &v);
        v = spop_bin(buf, hl);
        spop_kv_encode(&wr, "hdrs", &v);
        spop_frame_end(&wr, mark);
        struct spop_frame f;
        struct spop_notify n;
        struct spoe_request req;
        if (spop_frame_decode(frame + 4, wr.len - 4, &f) != SPOP_STATUS_NORMAL ||
            spop_notify_decode(&f, &n) != SPOP_STATUS_NORMAL || !spoe_request_init(&req, &n))
            continue;
        struct spoe_reply *r = calloc(1, sizeof(*r));
        spoe_reply_reset(r);
        policy_decide(w->set, &req, r);
        if (r->nvars == 1)
            w->allowed++;
        else if (r->nvars == 3)
            w->denied++;
        free(r);
    }
    return NULL;
}

static void test_threads(void)
{
    char hash[300], file[400];
    run_line(hash, sizeof(hash), "openssl passwd -6 -salt s4ltS4lt pw");
    snprintf(file, sizeof(file), "u:%s\n", hash);
    struct fx f;
    fx_init(&f);
    put_secret(f.sec, "n", "users", "auth", file, NULL);
    put_ingress(f.ing, "n", "i", POLICY_ANN_AUTH_TYPE, "basic", POLICY_ANN_AUTH_SECRET, "users",
                NULL);
    const char *ings[] = {"n/i"};
    fx_build(&f, ings, 1);
    char *good = basic_header("u", "pw"), *bad = basic_header("u", "px");
    struct worker_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct worker_arg){.set = f.set, .good = good, .bad = bad};
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(args[i].allowed, 10);
        CHECK_INT_EQ(args[i].denied, 10);
    }
    free(good);
    free(bad);
    fx_free(&f);
}

TEST_MAIN(TEST_CASE(test_unsupported_auth_annotation_denies), TEST_CASE(test_basic),
          TEST_CASE(test_jwt_rsa), TEST_CASE(test_jwt_hmac), TEST_CASE(test_apikey),
          TEST_CASE(test_source_ranges), TEST_CASE(test_fail_closed),
          TEST_CASE(test_unknown_and_null), TEST_CASE(test_threads))
