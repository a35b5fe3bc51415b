/* policy_decide.c - the per-request half of policy.h: reads one
 * "spoke-request" message (route id, source address, HAProxy's binary
 * header list), applies the route's compiled policy and answers with the
 * verdict variables. Runs on SPOE worker threads; reads the set only. */
#include "spoe/policy.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth/apikey.h"
#include "auth/base64.h"
#include "auth/cidr.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "spoe/canary_decide.h"
#include "spoe/auth_cache.h"
#include "spoe/auth_headers.h"
#include "spoe/auth_stats.h"
#include "spoe/ext_auth.h"
#include "spoe/hdrs_bin.h"
#include "spoe/policy_internal.h"

/* The longest Basic credentials token looked at: the base64 of the longest
 * user, ':' and the longest password htpasswd accepts, rounded up. */
#define BASIC_TOKEN_MAX 2048

/* ---- replies ------------------------------------------------------------------ */

/* Both return whether the request is let through. */
static bool allow(struct spoe_reply *r)
{
    spoe_reply_set_str(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_VERDICT, "allow");
    return true;
}

static bool deny(struct spoe_reply *r, int status, const char *www_auth)
{
    spoe_reply_set_str(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_VERDICT, "deny");
    spoe_reply_set_int(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_STATUS, status);
    if (www_auth)
        spoe_reply_set_str(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_WWW_AUTH, www_auth);
    return false;
}

/* ---- headers ------------------------------------------------------------------ */

/* The header from the request's "hdrs" argument; false when absent, empty,
 * oversized or the list is malformed (all of which mean "no credentials"). */
static bool header(const struct spoe_request *req, const char *name, const uint8_t **val,
                   size_t *vlen)
{
    const uint8_t *hdrs;
    size_t len;
    if (!spoe_request_arg_bin(req, "hdrs", &hdrs, &len))
        return false;
    if (hdrs_find(hdrs, len, name, val, vlen) != 1)
        return false;
    return *vlen > 0 && *vlen <= POLICY_HEADER_MAX;
}

/* "Scheme token" with Scheme case-insensitive, one or more spaces between:
 * the token, or false. */
static bool credentials(const uint8_t *v, size_t n, const char *scheme, const uint8_t **tok,
                        size_t *tlen)
{
    size_t sl = strlen(scheme);
    if (n <= sl || !hdrs_name_eq(v, sl, scheme) || v[sl] != ' ')
        return false;
    size_t i = sl;
    while (i < n && v[i] == ' ')
        i++;
    if (i == n)
        return false;
    *tok = v + i;
    *tlen = n - i;
    return true;
}

/* ---- auth types ----------------------------------------------------------------- */

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool check_basic(const struct ing_policy *p, const struct spoe_request *req)
{
    const uint8_t *v, *tok;
    size_t n, tl;
    if (!header(req, "authorization", &v, &n) || !credentials(v, n, "basic", &tok, &tl) ||
        tl > BASIC_TOKEN_MAX)
        return false;
    /* Credentials verified a moment ago: only their digest is kept. */
    uint8_t key[AUTH_CACHE_KEY_SIZE];
    SHA256(tok, tl, key);
    double now = monotonic_seconds();
    char *blob;
    size_t bl;
    if (p->verified && auth_cache_get(p->verified, key, now, POLICY_BASIC_CACHE_TTL, &blob, &bl)) {
        free(blob);
        return true;
    }
    unsigned char buf[B64_DECODED_MAX(BASIC_TOKEN_MAX)];
    size_t dl;
    if (b64std_decode((const char *)tok, tl, buf, sizeof(buf), &dl) != 0)
        return false;
    bool ok = false;
    const unsigned char *colon = memchr(buf, ':', dl);
    if (colon) {
        size_t ul = (size_t)(colon - buf);
        ok = ul > 0 && htpasswd_verify(p->htpasswd, (const char *)buf, ul, (const char *)colon + 1,
                                       dl - ul - 1);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    if (ok && p->verified)
        auth_cache_put(p->verified, key, now, "", 0);
    return ok;
}

/* auth-jwt-claims-to-headers: each mapped header gets its claim, or ""
 * (removed upstream) when the claim is absent, unprintable or too long. */
static void claims_to_headers(const struct auth_claim_map *map, const struct jwt_claims *claims,
                              struct spoe_reply *reply)
{
    char buf[AUTH_HEADER_VALUE_MAX + 1];
    for (size_t i = 0; map && i < map->n; i++) {
        if (jwt_claims_get(claims, map->claim[i], buf, sizeof(buf)) != JWT_CLAIM_OK)
            buf[0] = '\0';
        spoe_reply_set_str(reply, SPOP_SCOPE_TRANSACTION, auth_header_slots[map->slot[i]].var, buf);
    }
}

/* 0 valid (sub set when printable, claims-to-headers variables set), 1
 * missing, 2 invalid. */
static int check_jwt(const struct ing_policy *p, const struct spoe_request *req,
                     char sub[POLICY_SUB_MAX + 1], struct spoe_reply *reply)
{
    const uint8_t *v, *tok;
    size_t n, tl;
    sub[0] = '\0';
    if (!header(req, "authorization", &v, &n))
        return 1;
    if (!credentials(v, n, "bearer", &tok, &tl))
        return hdrs_name_eq(v, n < 6 ? n : 6, "bearer") ? 2 : 1;
    if (tl > JWT_MAX_TOKEN)
        return 2;
    struct jwt_options o = {
        .now = (int64_t)time(NULL),
        .leeway = p->leeway,
        .issuer = p->issuer,
        .audiences = (const char *const *)p->audiences,
        .n_audiences = p->n_audiences,
    };
    struct jwt_claims *claims = NULL;
    if (jwt_verify((const char *)tok, tl, p->keys, &o, &claims) != JWT_OK)
        return 2;
    if (jwt_claims_get(claims, "sub", sub, POLICY_SUB_MAX + 1) != JWT_CLAIM_OK)
        sub[0] = '\0';
    claims_to_headers(p->claims, claims, reply);
    jwt_claims_free(claims);
    return 0;
}

static bool check_apikey(const struct ing_policy *p, const struct spoe_request *req)
{
    const uint8_t *v;
    size_t n;
    if (!header(req, p->apikey_header, &v, &n) || n > APIKEY_MAX_LEN)
        return false;
    return apikey_verify(p->apikeys, (const char *)v, n, NULL);
}

/* ---- the decision ---------------------------------------------------------------- */

static bool source_ok(const struct ing_policy *p, const struct spoe_request *req)
{
    if (!p->allow && !p->deny)
        return true;
    int family;
    uint8_t addr[16];
    if (!spoe_request_arg_ip(req, "src", &family, addr))
        return false; /* no address: no list can vouch for it */
    size_t len = family == AF_INET ? 4 : 16;
    if (p->deny && cidr_set_contains(p->deny, addr, len))
        return false;
    if (p->allow && !cidr_set_contains(p->allow, addr, len))
        return false;
    return true;
}

/* The verdict of p's auth type (not external) on req: true when allowed. */
static bool check_auth(const struct ing_policy *p, const struct spoe_request *req,
                       struct spoe_reply *reply)
{
    switch (p->type) {
    case POLICY_AUTH_NONE:
        return allow(reply);
    case POLICY_AUTH_BASIC:
        return check_basic(p, req) ? allow(reply) : deny(reply, 401, p->www_basic);
    case POLICY_AUTH_JWT: {
        char sub[POLICY_SUB_MAX + 1];
        int r = check_jwt(p, req, sub, reply);
        if (r != 0)
            return deny(reply, 401, r == 1 ? p->www_bearer : p->www_bearer_invalid);
        if (sub[0])
            spoe_reply_set_str(reply, SPOP_SCOPE_TRANSACTION, POLICY_VAR_SUB, sub);
        return allow(reply);
    }
    case POLICY_AUTH_APIKEY:
        return check_apikey(p, req) ? allow(reply) : deny(reply, 401, NULL);
    default:
        return deny(reply, 503, NULL);
    }
}

bool policy_evaluate(const struct policy_set *set, const struct spoe_request *req,
                     struct spoe_reply *reply)
{
    if (!set || !spoe_request_is(req, POLICY_MESSAGE))
        return false;
    const char *id;
    size_t idlen;
    const struct route_entry *e = NULL;
    if (spoe_request_arg_str(req, "route", &id, &idlen))
        e = policy_find_route(set, id, idlen);
    if (!e) {
        deny(reply, 503, NULL);
        return true;
    }
    const struct ing_policy *p = e->policy;
    if (!p) {
        allow(reply);
        return true;
    }
    bool allowed;
    if (p->deny_all) {
        allowed = deny(reply, 503, NULL);
    } else if (!source_ok(p, req)) {
        allowed = deny(reply, 403, NULL);
    } else if (p->type == POLICY_AUTH_EXTERNAL) {
        /* May defer the reply: nothing may follow; it counts itself. */
        ext_auth_decide(set->ext_auth, p->ext, p->counter, e->id, strlen(e->id), req, reply);
        return true;
    } else {
        allowed = check_auth(p, req, reply);
    }
    auth_counter_count(p->counter, allowed);
    return true;
}

void policy_decide(void *snapshot, const struct spoe_request *req, struct spoe_reply *reply)
{
    /* Canary first: it never waits, and its variable only matters once auth
     * allowed (haproxy.cfg denies before it picks a backend). */
    if (snapshot)
        canary_evaluate(((const struct policy_set *)snapshot)->canary, req, reply);
    policy_evaluate(snapshot, req, reply);
}
