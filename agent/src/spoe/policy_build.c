/* policy_build.c - compiles the per-route auth policies of policy.h from the
 * Ingresses' spoke.dev/ annotations and the Secrets they name (control
 * thread). Every problem makes the Ingress's routes DENY-ALL 503. */
#include "model/annotations.h"
#include "spoe/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/apikey.h"
#include "auth/base64.h"
#include "auth/cidr.h"
#include "auth/htpasswd.h"
#include "auth/jwks.h"
#include "spoe/canary_decide.h"
#include "spoe/auth_cache.h"
#include "spoe/auth_headers.h"
#include "spoe/auth_stats.h"
#include "spoe/ext_auth_conf.h"
#include "spoe/policy_internal.h"
#include "util/xalloc.h"
#include "util/printable.h"

#define MSG_MAX   512
#define QUOTE_MAX 64

static const char *const all_annotations[] = {
    POLICY_ANN_AUTH_TYPE,
    POLICY_ANN_AUTH_SECRET,
    POLICY_ANN_AUTH_REALM,
    POLICY_ANN_JWKS_SECRET,
    POLICY_ANN_JWT_HMAC_SECRET,
    POLICY_ANN_JWT_ISSUER,
    POLICY_ANN_JWT_AUDIENCE,
    POLICY_ANN_JWT_LEEWAY,
    POLICY_ANN_APIKEY_HEADER,
    POLICY_ANN_WHITELIST,
    POLICY_ANN_DENYLIST,
    POLICY_ANN_JWT_CLAIMS_HDRS,
    EXT_AUTH_ANN_URL,
    EXT_AUTH_ANN_METHOD,
    EXT_AUTH_ANN_REQUEST_HEADERS,
    EXT_AUTH_ANN_RESPONSE_HEADERS,
    EXT_AUTH_ANN_CACHE_TTL,
    EXT_AUTH_ANN_TIMEOUT,
};
#define N_ANNOTATIONS (sizeof(all_annotations) / sizeof(all_annotations[0]))

/* A spoke.dev/ annotation that asks for the SPOE (annotations_need_spoe)
 * but that this version does not implement: the route must not fail open. */
static const char *unsupported_annotation(json_t *annotations)
{
    const char *key;
    json_t *value;
    json_object_foreach(annotations, key, value)
    {
        if (strncmp(key, "spoke.dev/", 10) != 0)
            continue;
        bool known = false;
        for (size_t i = 0; i < N_ANNOTATIONS; i++)
            known = known || strcmp(key, all_annotations[i]) == 0;
        if (!known &&
            (strncmp(key, "spoke.dev/auth-", 15) == 0 || strstr(key, "source-range") != NULL))
            return key;
    }
    return NULL;
}

/* ---- allocation (aborting, like the model) -------------------------------- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *p = xcalloc((size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- compiling one Ingress ---------------------------------------------------- */

struct compile {
    struct ing_policy *p;
    const char *ns; /* the Ingress's namespace */
    json_t *ann;    /* its annotations (object or NULL) */
    struct store *secrets;
    policy_report_fn report;
    void *ud;
};

/* An untrusted value made fit for a message: printable ASCII, bounded. */
static const char *quote(const char *s, char out[QUOTE_MAX + 4])
{
    return printable_quote(s, PRINTABLE_CSTR, QUOTE_MAX, out);
}

/* Marks the policy DENY-ALL and reports why (first problem decides; every
 * problem is reported). Returns -1 for the callers' convenience. */
static int fail(struct compile *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct compile *c, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printable_sanitize(msg);
    c->p->deny_all = true;
    c->p->active = true;
    if (c->report)
        c->report(c->ud, c->p->ingress, msg);
    return -1;
}

/* An annotation's value: 1 with *out set, 0 when absent, -1 when not a
 * string (reported). */
static int annotation(struct compile *c, const char *key, const char **out)
{
    json_t *v = c->ann ? json_object_get(c->ann, key) : NULL;
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        fail(c, "%s: the value must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_dns_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '.')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
    }
    return true;
}

/* The Secret an annotation names ("name" or "ns/name", same namespace as
 * the Ingress only); NULL after reporting. */
static json_t *secret_ref(struct compile *c, const char *key, const char *ref)
{
    char q[QUOTE_MAX + 4];
    const char *slash = strchr(ref, '/');
    const char *name = ref;
    if (slash) {
        size_t nslen = (size_t)(slash - ref);
        if (nslen != strlen(c->ns) || memcmp(ref, c->ns, nslen) != 0) {
            fail(c,
                 "%s: Secret \"%s\" is in another namespace; only Secrets of namespace %s "
                 "may be used",
                 key, quote(ref, q), c->ns);
            return NULL;
        }
        name = slash + 1;
    }
    if (!is_dns_subdomain(name, strlen(name))) {
        fail(c, "%s: \"%s\" is not a valid Secret name", key, quote(ref, q));
        return NULL;
    }
    json_t *s = c->secrets ? store_get(c->secrets, c->ns, name) : NULL;
    if (!s) {
        fail(c, "%s: Secret %s/%s not found", key, c->ns, name);
        return NULL;
    }
    return s;
}

/* One data value of a Secret, base64-decoded into a fresh buffer (NUL
 * added, not counted). 1 found, 0 absent, -1 invalid (reported). */
static int secret_value(struct compile *c, json_t *secret, const char *sname, const char *item,
                        unsigned char **out, size_t *len)
{
    json_t *data = json_object_get(secret, "data");
    json_t *v = json_is_object(data) ? json_object_get(data, item) : NULL;
    *out = NULL;
    *len = 0;
    if (!v)
        return 0;
    const char *b64 = json_string_value(v);
    if (!b64) {
        fail(c, "Secret %s/%s: data item \"%s\" is not a string", c->ns, sname, item);
        return -1;
    }
    size_t n = strlen(b64);
    if (n > 4 * 1024 * 1024) {
        fail(c, "Secret %s/%s: data item \"%s\" is too large", c->ns, sname, item);
        return -1;
    }
    size_t cap = B64_DECODED_MAX(n) + 1;
    unsigned char *buf = xcalloc(cap, 1);
    if (b64std_decode(b64, n, buf, cap, len) != 0) {
        free(buf);
        fail(c, "Secret %s/%s: data item \"%s\" is not valid base64", c->ns, sname, item);
        return -1;
    }
    buf[*len] = '\0';
    *out = buf;
    return 1;
}

static void free_secret_value(unsigned char *p, size_t len)
{
    if (p) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

static const char *secret_name(json_t *secret)
{
    const char *n = json_string_value(json_object_get(json_object_get(secret, "metadata"), "name"));
    return n ? n : "";
}

static int compile_basic(struct compile *c, json_t *secret)
{
    const char *sname = secret_name(secret);
    unsigned char *text;
    size_t len;
    int r = secret_value(c, secret, sname, "auth", &text, &len);
    if (r == 0)
        return fail(c, "Secret %s/%s has no \"auth\" key (an htpasswd file)", c->ns, sname);
    if (r < 0)
        return -1;
    char err[256] = "";
    c->p->htpasswd = htpasswd_parse((const char *)text, len, err, sizeof(err));
    free_secret_value(text, len);
    if (!c->p->htpasswd)
        return fail(c, "Secret %s/%s: auth: %s", c->ns, sname, err);
    c->p->verified = auth_cache_new(POLICY_BASIC_CACHE_ENTRIES, POLICY_BASIC_CACHE_ENTRIES * 256);
    return 0;
}

static int compile_apikey(struct compile *c, json_t *secret)
{
    const char *sname = secret_name(secret);
    json_t *data = json_object_get(secret, "data");
    size_t n = json_is_object(data) ? json_object_size(data) : 0;
    if (n == 0)
        return fail(c, "Secret %s/%s holds no API keys", c->ns, sname);
    if (n > APIKEY_MAX_KEYS)
        return fail(c, "Secret %s/%s holds too many API keys", c->ns, sname);
    struct apikey_item *items = xcalloc(n, sizeof(*items));
    unsigned char **bufs = xcalloc(n, sizeof(*bufs));
    size_t k = 0;
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(data, key, v)
    {
        size_t len;
        if (secret_value(c, secret, sname, key, &bufs[k], &len) < 0) {
            rc = -1;
            break;
        }
        items[k].name = key;
        items[k].value = (const char *)bufs[k];
        items[k].len = len;
        k++;
    }
    if (rc == 0) {
        char err[256] = "";
        c->p->apikeys = apikey_set_build(items, k, err, sizeof(err));
        if (!c->p->apikeys)
            rc = fail(c, "Secret %s/%s: %s", c->ns, sname, err);
    }
    for (size_t i = 0; i < k; i++)
        free_secret_value(bufs[i], items[i].len);
    free(bufs);
    free(items);
    return rc;
}

static int compile_jwks(struct compile *c, json_t *secret)
{
    const char *sname = secret_name(secret);
    static const char *const preferred[] = {"jwks.json", "keys.pem"};
    const char *item = NULL;
    json_t *data = json_object_get(secret, "data");
    for (size_t i = 0; i < 2 && !item; i++)
        if (json_is_object(data) && json_object_get(data, preferred[i]))
            item = preferred[i];
    if (!item && json_is_object(data) && json_object_size(data) == 1)
        item = json_object_iter_key(json_object_iter(data));
    if (!item)
        return fail(c, "Secret %s/%s has no \"jwks.json\" or \"keys.pem\" key", c->ns, sname);
    unsigned char *text;
    size_t len;
    if (secret_value(c, secret, sname, item, &text, &len) <= 0)
        return -1;
    char err[256] = "";
    if (strcmp(item, "jwks.json") == 0)
        c->p->keys = jwks_parse_json((const char *)text, len, err, sizeof(err));
    else if (strcmp(item, "keys.pem") == 0)
        c->p->keys = jwks_parse_pem((const char *)text, len, err, sizeof(err));
    else
        c->p->keys = jwks_parse((const char *)text, len, err, sizeof(err));
    free_secret_value(text, len);
    if (!c->p->keys)
        return fail(c, "Secret %s/%s: %s: %s", c->ns, sname, item, err);
    return 0;
}

static int compile_hmac(struct compile *c, json_t *secret)
{
    const char *sname = secret_name(secret);
    unsigned char *raw;
    size_t len;
    int r = secret_value(c, secret, sname, "secret", &raw, &len);
    if (r == 0)
        return fail(c, "Secret %s/%s has no \"secret\" key", c->ns, sname);
    if (r < 0)
        return -1;
    char err[256] = "";
    c->p->keys = jwks_from_hmac_secret(raw, len, err, sizeof(err));
    free_secret_value(raw, len);
    if (!c->p->keys)
        return fail(c, "Secret %s/%s: secret: %s", c->ns, sname, err);
    return 0;
}

static int compile_cidr(struct compile *c, const char *key, struct cidr_set **out)
{
    const char *v;
    int r = annotation(c, key, &v);
    if (r <= 0)
        return r;
    char err[256] = "";
    *out = cidr_set_parse(v, strlen(v), err, sizeof(err));
    if (!*out)
        return fail(c, "%s: %s", key, err);
    return 0;
}

static int compile_realm(struct compile *c)
{
    const char *realm;
    int r = annotation(c, POLICY_ANN_AUTH_REALM, &realm);
    if (r < 0)
        return -1;
    if (!realm || !*realm)
        realm = POLICY_DEFAULT_REALM;
    if (strlen(realm) > POLICY_REALM_MAX || !printable_ascii(realm) || strchr(realm, '"') ||
        strchr(realm, '\\')) {
        char q[QUOTE_MAX + 4];
        return fail(c,
                    "%s: \"%s\" is not a valid realm (printable ASCII without '\"' or '\\', at "
                    "most %d bytes)",
                    POLICY_ANN_AUTH_REALM, quote(realm, q), POLICY_REALM_MAX);
    }
    struct ing_policy *p = c->p;
    p->www_basic = xprintf("Basic realm=\"%s\"", realm);
    p->www_bearer = xprintf("Bearer realm=\"%s\"", realm);
    p->www_bearer_invalid = xprintf("Bearer realm=\"%s\", error=\"invalid_token\"", realm);
    return 0;
}

/* Annotations that only make sense with one auth type. */
struct scoped {
    const char *key;
    enum policy_auth_type type;
};
static const struct scoped scoped_annotations[] = {
    {POLICY_ANN_AUTH_SECRET, POLICY_AUTH_BASIC}, /* or apikey: checked below */
    {POLICY_ANN_AUTH_REALM, POLICY_AUTH_BASIC},  /* or jwt */
    {POLICY_ANN_JWKS_SECRET, POLICY_AUTH_JWT},     {POLICY_ANN_JWT_HMAC_SECRET, POLICY_AUTH_JWT},
    {POLICY_ANN_JWT_ISSUER, POLICY_AUTH_JWT},      {POLICY_ANN_JWT_AUDIENCE, POLICY_AUTH_JWT},
    {POLICY_ANN_JWT_LEEWAY, POLICY_AUTH_JWT},      {POLICY_ANN_APIKEY_HEADER, POLICY_AUTH_APIKEY},
    {POLICY_ANN_JWT_CLAIMS_HDRS, POLICY_AUTH_JWT},
};

/* External auth's own annotations (spoke.dev/auth-url and its settings). */
static const char *const external_annotations[] = {
    EXT_AUTH_ANN_METHOD,    EXT_AUTH_ANN_REQUEST_HEADERS, EXT_AUTH_ANN_RESPONSE_HEADERS,
    EXT_AUTH_ANN_CACHE_TTL, EXT_AUTH_ANN_TIMEOUT,
};
#define N_EXTERNAL (sizeof(external_annotations) / sizeof(external_annotations[0]))

static int compile_external(struct compile *c, const char *url)
{
    struct ext_auth_annotations in = {.url = url};
    if (annotation(c, EXT_AUTH_ANN_METHOD, &in.method) < 0 ||
        annotation(c, EXT_AUTH_ANN_REQUEST_HEADERS, &in.request_headers) < 0 ||
        annotation(c, EXT_AUTH_ANN_RESPONSE_HEADERS, &in.response_headers) < 0 ||
        annotation(c, EXT_AUTH_ANN_CACHE_TTL, &in.cache_ttl) < 0 ||
        annotation(c, EXT_AUTH_ANN_TIMEOUT, &in.timeout) < 0)
        return -1;
    char err[MSG_MAX];
    c->p->ext = xcalloc(1, sizeof(*c->p->ext));
    if (ext_auth_conf_parse(&in, c->p->ext, err, sizeof(err)) < 0)
        return fail(c, "%s", err);
    return 0;
}

static int compile_claims_to_headers(struct compile *c)
{
    const char *v;
    int r = annotation(c, POLICY_ANN_JWT_CLAIMS_HDRS, &v);
    if (r <= 0)
        return r;
    char err[MSG_MAX];
    c->p->claims = xcalloc(1, sizeof(*c->p->claims));
    if (auth_claim_map_parse(v, c->p->claims, err, sizeof(err)) < 0)
        return fail(c, "%s: %s", POLICY_ANN_JWT_CLAIMS_HDRS, err);
    return 0;
}

static bool scoped_fits(const struct scoped *s, enum policy_auth_type t)
{
    if (s->type == t)
        return true;
    if (strcmp(s->key, POLICY_ANN_AUTH_SECRET) == 0)
        return t == POLICY_AUTH_APIKEY;
    if (strcmp(s->key, POLICY_ANN_AUTH_REALM) == 0)
        return t == POLICY_AUTH_JWT;
    return false;
}

static int compile_jwt_claims(struct compile *c)
{
    char q[QUOTE_MAX + 4];
    struct ing_policy *p = c->p;
    const char *iss, *aud, *leeway;
    if (annotation(c, POLICY_ANN_JWT_ISSUER, &iss) < 0 ||
        annotation(c, POLICY_ANN_JWT_AUDIENCE, &aud) < 0 ||
        annotation(c, POLICY_ANN_JWT_LEEWAY, &leeway) < 0)
        return -1;
    if (iss) {
        if (!*iss || strlen(iss) > 1024 || !printable_ascii(iss))
            return fail(c, "%s: \"%s\" is not a valid issuer", POLICY_ANN_JWT_ISSUER,
                        quote(iss, q));
        p->issuer = xstrndup(iss, strlen(iss));
    }
    if (aud) {
        if (strlen(aud) > 4096 || !printable_ascii(aud))
            return fail(c, "%s: \"%s\" is not a valid audience list", POLICY_ANN_JWT_AUDIENCE,
                        quote(aud, q));
        p->audiences = xcalloc(POLICY_MAX_AUDIENCES, sizeof(*p->audiences));
        for (const char *s = aud; *s;) {
            const char *e = strchr(s, ',');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            const char *b = s;
            size_t m = n;
            while (m && (*b == ' ' || *b == '\t'))
                b++, m--;
            while (m && (b[m - 1] == ' ' || b[m - 1] == '\t'))
                m--;
            if (m) {
                if (p->n_audiences == POLICY_MAX_AUDIENCES)
                    return fail(c, "%s: more than %d audiences", POLICY_ANN_JWT_AUDIENCE,
                                POLICY_MAX_AUDIENCES);
                p->audiences[p->n_audiences++] = xstrndup(b, m);
            }
            s += n + (e != NULL);
        }
        if (p->n_audiences == 0)
            return fail(c, "%s: no audience given", POLICY_ANN_JWT_AUDIENCE);
    }
    if (leeway) {
        long v = 0;
        size_t n = strlen(leeway);
        bool ok = n > 0 && n <= 3;
        for (size_t i = 0; ok && i < n; i++) {
            ok = leeway[i] >= '0' && leeway[i] <= '9';
            v = v * 10 + (leeway[i] - '0');
        }
        if (!ok || v > POLICY_MAX_LEEWAY)
            return fail(c, "%s: \"%s\" is not a number of seconds from 0 to %d",
                        POLICY_ANN_JWT_LEEWAY, quote(leeway, q), POLICY_MAX_LEEWAY);
        p->leeway = v;
    }
    return 0;
}

static int compile_auth(struct compile *c)
{
    char q[QUOTE_MAX + 4];
    struct ing_policy *p = c->p;
    const char *type;
    const char *url;
    if (annotation(c, POLICY_ANN_AUTH_TYPE, &type) < 0 || annotation(c, EXT_AUTH_ANN_URL, &url) < 0)
        return -1;
    if (url) {
        /* Its own mechanism: nothing of auth-type applies. */
        if (type)
            return fail(c, "%s and %s exclude each other: use one of them", EXT_AUTH_ANN_URL,
                        POLICY_ANN_AUTH_TYPE);
        for (size_t i = 0; i < sizeof(scoped_annotations) / sizeof(scoped_annotations[0]); i++)
            if (c->ann && json_object_get(c->ann, scoped_annotations[i].key))
                return fail(c, "%s does not apply to %s", scoped_annotations[i].key,
                            EXT_AUTH_ANN_URL);
        p->type = POLICY_AUTH_EXTERNAL;
        return compile_external(c, url);
    }
    for (size_t i = 0; i < N_EXTERNAL; i++)
        if (c->ann && json_object_get(c->ann, external_annotations[i]))
            return fail(c, "%s is set but %s is not", external_annotations[i], EXT_AUTH_ANN_URL);
    if (!type) {
        for (size_t i = 0; i < sizeof(scoped_annotations) / sizeof(scoped_annotations[0]); i++)
            if (c->ann && json_object_get(c->ann, scoped_annotations[i].key))
                return fail(c, "%s is set but %s is not: refusing to guess",
                            scoped_annotations[i].key, POLICY_ANN_AUTH_TYPE);
        return 0;
    }
    if (strcmp(type, "basic") == 0)
        p->type = POLICY_AUTH_BASIC;
    else if (strcmp(type, "jwt") == 0)
        p->type = POLICY_AUTH_JWT;
    else if (strcmp(type, "apikey") == 0)
        p->type = POLICY_AUTH_APIKEY;
    else
        return fail(c, "%s: \"%s\" is not one of basic, jwt, apikey", POLICY_ANN_AUTH_TYPE,
                    quote(type, q));
    for (size_t i = 0; i < sizeof(scoped_annotations) / sizeof(scoped_annotations[0]); i++)
        if (c->ann && json_object_get(c->ann, scoped_annotations[i].key) &&
            !scoped_fits(&scoped_annotations[i], p->type))
            return fail(c, "%s does not apply to %s \"%s\"", scoped_annotations[i].key,
                        POLICY_ANN_AUTH_TYPE, type);
    if (p->type != POLICY_AUTH_APIKEY && compile_realm(c) < 0)
        return -1;

    const char *ref;
    if (p->type == POLICY_AUTH_BASIC || p->type == POLICY_AUTH_APIKEY) {
        if (annotation(c, POLICY_ANN_AUTH_SECRET, &ref) < 0)
            return -1;
        if (!ref)
            return fail(c, "%s \"%s\" needs %s", POLICY_ANN_AUTH_TYPE, type,
                        POLICY_ANN_AUTH_SECRET);
        if (p->type == POLICY_AUTH_APIKEY) {
            const char *hdr;
            if (annotation(c, POLICY_ANN_APIKEY_HEADER, &hdr) < 0)
                return -1;
            if (!hdr)
                hdr = POLICY_DEFAULT_APIKEY_HDR;
            size_t n = strlen(hdr);
            bool ok = n > 0 && n <= 64;
            for (size_t i = 0; ok && i < n; i++)
                ok = is_tchar(hdr[i]);
            if (!ok)
                return fail(c, "%s: \"%s\" is not a valid header name", POLICY_ANN_APIKEY_HEADER,
                            quote(hdr, q));
            p->apikey_header = xstrndup(hdr, n);
        }
        json_t *secret = secret_ref(c, POLICY_ANN_AUTH_SECRET, ref);
        if (!secret)
            return -1;
        return p->type == POLICY_AUTH_BASIC ? compile_basic(c, secret) : compile_apikey(c, secret);
    }

    /* jwt */
    const char *jwks, *hmac;
    if (annotation(c, POLICY_ANN_JWKS_SECRET, &jwks) < 0 ||
        annotation(c, POLICY_ANN_JWT_HMAC_SECRET, &hmac) < 0)
        return -1;
    if (!jwks == !hmac)
        return fail(c, "%s \"jwt\" needs exactly one of %s and %s", POLICY_ANN_AUTH_TYPE,
                    POLICY_ANN_JWKS_SECRET, POLICY_ANN_JWT_HMAC_SECRET);
    if (compile_jwt_claims(c) < 0 || compile_claims_to_headers(c) < 0)
        return -1;
    json_t *secret = secret_ref(c, jwks ? POLICY_ANN_JWKS_SECRET : POLICY_ANN_JWT_HMAC_SECRET,
                                jwks ? jwks : hmac);
    if (!secret)
        return -1;
    return jwks ? compile_jwks(c, secret) : compile_hmac(c, secret);
}

static void ing_policy_clear(struct ing_policy *p)
{
    cidr_set_free(p->allow);
    cidr_set_free(p->deny);
    htpasswd_free(p->htpasswd);
    auth_cache_free(p->verified);
    jwks_free(p->keys);
    apikey_set_free(p->apikeys);
    for (size_t i = 0; i < p->n_audiences; i++)
        free(p->audiences[i]);
    free(p->audiences);
    free(p->issuer);
    free(p->apikey_header);
    free(p->claims);
    free(p->ext);
    free(p->www_basic);
    free(p->www_bearer);
    free(p->www_bearer_invalid);
    free(p->ingress);
    memset(p, 0, sizeof(*p));
}

/* Compiles the policy of Ingress key ("ns/name") into p. */
static void compile_ingress(struct ing_policy *p, const char *key, struct store *ingresses,
                            struct store *secrets, policy_report_fn report, void *ud)
{
    p->ingress = xstrndup(key, strlen(key));
    const char *slash = strchr(key, '/');
    char *ns = slash ? xstrndup(key, (size_t)(slash - key)) : xstrndup("", 0);
    const char *name = slash ? slash + 1 : key;
    struct compile c = {.p = p, .ns = ns, .secrets = secrets, .report = report, .ud = ud};
    json_t *ing = ingresses ? store_get(ingresses, ns, name) : NULL;
    if (!ing) {
        fail(&c, "Ingress not found while building its auth policy");
        free(ns);
        return;
    }
    c.ann = json_object_get(json_object_get(ing, "metadata"), "annotations");
    if (!json_is_object(c.ann))
        c.ann = NULL;
    p->active = annotations_need_spoe(ing);
    const char *unsupported = c.ann ? unsupported_annotation(c.ann) : NULL;
    if (unsupported) {
        fail(&c, "annotation %.100s is not supported by this version; its routes are denied (503)",
             unsupported);
    } else if (p->active) {
        int r = compile_cidr(&c, POLICY_ANN_DENYLIST, &p->deny);
        if (r >= 0)
            r = compile_cidr(&c, POLICY_ANN_WHITELIST, &p->allow);
        if (r >= 0)
            compile_auth(&c);
    }
    if (p->deny_all) {
        /* Nothing of a broken policy is ever consulted: free it now. */
        char *keep = p->ingress;
        p->ingress = NULL;
        ing_policy_clear(p);
        p->ingress = keep;
        p->deny_all = true;
        p->active = true;
    }
    free(ns);
}

/* ---- the set ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_route(const void *a, const void *b)
{
    return strcmp(((const struct route_entry *)a)->id, ((const struct route_entry *)b)->id);
}

struct policy_set *policy_set_build(const struct routing_model *m, struct store *ingresses,
                                    struct store *secrets, time_t now, policy_report_fn report,
                                    void *ud)
{
    struct policy_set *set = xcalloc(1, sizeof(*set));
    set->built_at = now;
    set->canary = canary_set_build(m);
    size_t nr = m ? m->n_routes + (m->default_route != NULL) : 0;
    if (nr == 0)
        return set;
    const struct model_route **routes = xcalloc(nr, sizeof(*routes));
    for (size_t i = 0; i < m->n_routes; i++)
        routes[i] = &m->routes[i];
    if (m->default_route)
        routes[nr - 1] = m->default_route;

    /* The distinct Ingresses, each compiled once. */
    const char **names = xcalloc(nr, sizeof(*names));
    size_t nn = 0;
    for (size_t i = 0; i < nr; i++)
        if (routes[i]->ingress && routes[i]->ingress[0])
            names[nn++] = routes[i]->ingress;
    qsort(names, nn, sizeof(*names), cmp_str);
    size_t nu = 0;
    for (size_t i = 0; i < nn; i++)
        if (nu == 0 || strcmp(names[nu - 1], names[i]) != 0)
            names[nu++] = names[i];
    set->policies = xcalloc(nu, sizeof(*set->policies));
    set->n_policies = nu;
    for (size_t i = 0; i < nu; i++)
        compile_ingress(&set->policies[i], names[i], ingresses, secrets, report, ud);

    set->routes = xcalloc(nr, sizeof(*set->routes));
    for (size_t i = 0; i < nr; i++) {
        struct route_entry *e = &set->routes[set->n_routes++];
        snprintf(e->id, sizeof(e->id), "%s", routes[i]->id);
        e->policy = NULL;
        if (routes[i]->ingress && routes[i]->ingress[0]) {
            const char *key = routes[i]->ingress;
            const char **hit = bsearch(&key, names, nu, sizeof(*names), cmp_str);
            const struct ing_policy *p = &set->policies[hit - names];
            e->policy = (p->active || p->deny_all) ? p : NULL;
        }
    }
    qsort(set->routes, set->n_routes, sizeof(*set->routes), cmp_route);
    free(names);
    free(routes);
    return set;
}

void policy_set_release(void *ptr)
{
    struct policy_set *set = ptr;
    if (!set)
        return;
    for (size_t i = 0; i < set->n_policies; i++)
        ing_policy_clear(&set->policies[i]);
    free(set->policies);
    free(set->routes);
    canary_set_free(set->canary);
    free(set);
}

void policy_set_use_ext_auth(struct policy_set *set, struct ext_auth *ea)
{
    set->ext_auth = ea;
}

void policy_set_use_auth_stats(struct policy_set *set, struct auth_stats *stats)
{
    for (size_t i = 0; i < set->n_policies; i++)
        if (set->policies[i].active)
            set->policies[i].counter = auth_stats_counter(stats, set->policies[i].ingress);
}

size_t policy_set_count(const struct policy_set *set)
{
    return set ? set->n_routes : 0;
}

time_t policy_set_built_at(const struct policy_set *set)
{
    return set ? set->built_at : 0;
}

const struct route_entry *policy_find_route(const struct policy_set *set, const char *id,
                                            size_t len)
{
    return model_route_id_find(set->routes, set->n_routes, sizeof(*set->routes),
                               offsetof(struct route_entry, id), id, len);
}

int policy_set_route(const struct policy_set *set, const char *route_id, bool *deny_all)
{
    const struct route_entry *e = set ? policy_find_route(set, route_id, strlen(route_id)) : NULL;
    if (deny_all)
        *deny_all = e && e->policy && e->policy->deny_all;
    if (!e)
        return -1;
    return e->policy ? (int)e->policy->type : POLICY_AUTH_NONE;
}
