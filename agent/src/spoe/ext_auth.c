/* ext_auth.c - external auth decisions (ext_auth.h): builds the call from a
 * "spoke-request" message on an SPOE worker, defers the reply, and answers
 * it on the auth client's thread; positive answers go through the cache. */
#include "spoe/ext_auth.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "spoe/auth_cache.h"
#include "spoe/auth_client.h"
#include "spoe/auth_stats.h"
#include "spoe/hdrs_bin.h"
#include "spoe/policy.h"
#include "spoe/policy_internal.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/printable.h"

#define N_FIXED       5     /* X-Original-URL ... X-Forwarded-For */
#define FWD_VALUE_MAX 16384 /* a forwarded request header value */
#define URI_MAX       16384
#define WARN_EVERY    10.0 /* seconds between two warnings about failed calls */

struct ext_auth {
    struct auth_client *client;
    struct auth_cache *cache;
    _Atomic double last_warn;
};

/* One deferred decision, from submission to completion. */
struct pending {
    struct ext_auth *ea;
    struct spoe_async *a;
    const struct ext_auth_conf *conf; /* held by the deferred reply's snapshot */
    struct auth_counter *counter;     /* the Ingress's (auth_stats.h), or NULL */
    uint8_t key[AUTH_CACHE_KEY_SIZE];
};

struct ext_auth *ext_auth_new(char *err, size_t errlen)
{
    struct auth_client *client =
        auth_client_new(EXT_AUTH_MAX_ACTIVE, EXT_AUTH_MAX_QUEUED, err, errlen);
    if (!client)
        return NULL;
    struct ext_auth *ea = xcalloc(1, sizeof(*ea));
    ea->client = client;
    ea->cache = auth_cache_new(EXT_AUTH_CACHE_ENTRIES, EXT_AUTH_CACHE_BYTES);
    return ea;
}

void ext_auth_free(struct ext_auth *ea)
{
    if (!ea)
        return;
    auth_client_free(ea->client);
    auth_cache_free(ea->cache);
    free(ea);
}

unsigned ext_auth_pending(struct ext_auth *ea)
{
    return ea ? auth_client_pending(ea->client) : 0;
}

size_t ext_auth_cached(struct ext_auth *ea)
{
    return ea ? auth_cache_count(ea->cache) : 0;
}

/* ---- replies ------------------------------------------------------------------ */

static void deny(struct spoe_reply *r, int status, const char *www, size_t wlen)
{
    spoe_reply_set_str(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_VERDICT, "deny");
    spoe_reply_set_int(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_STATUS, status);
    if (www)
        spoe_reply_set_strn(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_WWW_AUTH, www, wlen);
}

/* allow, and every configured header: values[i] (n_values of them) or "". */
static void allow(struct spoe_reply *r, const struct ext_auth_conf *conf, const char *const *values,
                  const size_t *lens)
{
    spoe_reply_set_str(r, SPOP_SCOPE_TRANSACTION, POLICY_VAR_VERDICT, "allow");
    for (size_t i = 0; i < conf->n_response; i++)
        spoe_reply_set_strn(r, SPOP_SCOPE_TRANSACTION, auth_header_slots[conf->response[i]].var,
                            values[i] ? values[i] : "", values[i] ? lens[i] : 0);
}

/* A cached blob: the values joined by '\n' (they hold no control byte). */
static void allow_cached(struct spoe_reply *r, const struct ext_auth_conf *conf, const char *blob)
{
    const char *values[AUTH_HEADER_LIST_MAX] = {0};
    size_t lens[AUTH_HEADER_LIST_MAX] = {0};
    const char *p = blob;
    for (size_t i = 0; i < conf->n_response; i++) {
        const char *nl = strchr(p, '\n');
        values[i] = p;
        lens[i] = nl ? (size_t)(nl - p) : strlen(p);
        p = nl ? nl + 1 : p + lens[i];
    }
    allow(r, conf, values, lens);
}

static void warn_limited(struct ext_auth *ea, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn_limited(struct ext_auth *ea, const char *fmt, ...)
{
    double now = auth_client_now(), last = atomic_load(&ea->last_warn);
    if (last != 0 && now - last < WARN_EVERY)
        return;
    if (!atomic_compare_exchange_strong(&ea->last_warn, &last, now))
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printable_sanitize(msg);
    log_warn("ext-auth", "%s (further failures for %.0f s not logged)", msg, WARN_EVERY);
}

/* ---- the answer (auth client thread) ----------------------------------------- */

static void on_answer(void *ud, const struct auth_result *res)
{
    struct pending *p = ud;
    const struct ext_auth_conf *conf = p->conf;
    struct spoe_reply *r = spoe_async_reply(p->a);
    const struct auth_value *www = &res->values[conf->n_response];
    bool allowed = false;
    if (res->status >= 200 && res->status < 300) {
        const char *values[AUTH_HEADER_LIST_MAX] = {0};
        size_t lens[AUTH_HEADER_LIST_MAX] = {0};
        bool ok = true;
        for (size_t i = 0; i < conf->n_response && ok; i++) {
            const struct auth_value *v = &res->values[i];
            if (!v->present)
                continue;
            ok = v->len == strlen(v->s) && auth_header_value_ok(v->s, v->len);
            values[i] = v->s;
            lens[i] = v->len;
        }
        if (!ok) {
            warn_limited(p->ea,
                         "external auth %s: a header of its answer is not printable or "
                         "longer than %d bytes: denied (503)",
                         conf->url, AUTH_HEADER_VALUE_MAX);
            deny(r, 503, NULL, 0);
        } else {
            allow(r, conf, values, lens);
            allowed = true;
            if (conf->cache_ttl > 0) {
                struct strbuf b = STRBUF_INIT;
                for (size_t i = 0; i < conf->n_response; i++) {
                    if (i)
                        strbuf_append(&b, "\n", 1);
                    if (values[i])
                        strbuf_append(&b, values[i], lens[i]);
                }
                auth_cache_put(p->ea->cache, p->key, auth_client_now(), b.data, b.len);
                strbuf_free(&b);
            }
        }
    } else if (res->status == 401) {
        bool pass = www->present && www->len == strlen(www->s) && www->len > 0 &&
                    www->len <= EXT_AUTH_WWW_AUTH_MAX && auth_header_value_ok(www->s, www->len);
        deny(r, 401, pass ? www->s : NULL, pass ? www->len : 0);
    } else if (res->status == 403) {
        deny(r, 403, NULL, 0);
    } else {
        if (res->err)
            warn_limited(p->ea, "external auth %s: %s: denied (503)", conf->url, res->err);
        else
            warn_limited(p->ea, "external auth %s answered %ld: denied (503)", conf->url,
                         res->status);
        deny(r, 503, NULL, 0);
    }
    auth_counter_count(p->counter, allowed);
    spoe_async_complete(p->a);
    free(p);
}

/* ---- the call (SPOE worker) ----------------------------------------------------- */

/* Appends s (n bytes) with every byte outside 0x21..0x7e percent-encoded. */
static void append_uri_part(struct strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch > 0x20 && ch < 0x7f) {
            strbuf_append(b, (const char *)&ch, 1);
        } else {
            char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            strbuf_append(b, esc, 3);
        }
    }
}

/* A header value fit for a line of the call: no NUL, CR or LF. */
static bool line_safe(const uint8_t *v, size_t n)
{
    return n > 0 && n <= FWD_VALUE_MAX && !memchr(v, '\0', n) && !memchr(v, '\r', n) &&
           !memchr(v, '\n', n);
}

/* The request's header `name`, when fit for a line. */
static bool req_header(const struct spoe_request *req, const char *name, const uint8_t **v,
                       size_t *n)
{
    const uint8_t *hdrs;
    size_t len;
    return spoe_request_arg_bin(req, "hdrs", &hdrs, &len) &&
           hdrs_find(hdrs, len, name, v, n) == 1 && line_safe(*v, *n);
}

static char *line(const char *name, const void *value, size_t n)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_printf(&b, "%s: ", name);
    strbuf_append(&b, value, n);
    return strbuf_take(&b);
}

/* The call's header lines (freed by the caller); false when the request
 * cannot be described (then nothing is allocated). */
static bool build_lines(const struct ext_auth_conf *conf, const struct spoe_request *req,
                        char **lines, size_t *n)
{
    const char *method = "GET", *path = "/", *query = NULL;
    size_t mlen = 3, plen = 1, qlen = 0;
    const uint8_t *host = (const uint8_t *)"";
    size_t hlen = 0;
    if (spoe_request_arg_str(req, "method", &method, &mlen) &&
        (mlen == 0 || mlen > 32 || !auth_header_name_ok(method, mlen)))
        return false;
    if (!spoe_request_arg_str(req, "opath", &path, &plen) &&
        !spoe_request_arg_str(req, "path", &path, &plen)) {
        path = "/";
        plen = 1;
    }
    if (plen > URI_MAX || !spoe_request_arg_str(req, "query", &query, &qlen))
        query = NULL, qlen = 0;
    if (qlen > URI_MAX)
        return false;
    if (!req_header(req, "host", &host, &hlen) || hlen > 1024)
        host = (const uint8_t *)"", hlen = 0;
    struct spop_value ssl;
    bool https = spoe_request_arg(req, "ssl", &ssl) && ssl.type == SPOP_TYPE_BOOL && ssl.u.boolean;
    const char *scheme = https ? "https" : "http";

    struct strbuf u = STRBUF_INIT;
    strbuf_printf(&u, "%s://", scheme);
    append_uri_part(&u, (const char *)host, hlen);
    append_uri_part(&u, path, plen);
    if (query) {
        strbuf_append(&u, "?", 1);
        append_uri_part(&u, query, qlen);
    }
    size_t k = 0;
    lines[k++] = line("X-Original-URL", u.data, u.len);
    strbuf_free(&u);
    lines[k++] = line("X-Original-Method", method, mlen);
    append_uri_part(&u, (const char *)host, hlen);
    lines[k++] = line("X-Forwarded-Host", u.data ? u.data : "", u.len);
    strbuf_free(&u);
    lines[k++] = line("X-Forwarded-Proto", scheme, strlen(scheme));
    int family;
    uint8_t addr[16];
    char ip[INET6_ADDRSTRLEN] = "";
    if (spoe_request_arg_ip(req, "src", &family, addr))
        inet_ntop(family, addr, ip, sizeof(ip));
    lines[k++] = line("X-Forwarded-For", ip, strlen(ip));
    for (size_t i = 0; i < conf->n_request; i++) {
        const uint8_t *v;
        size_t vl;
        if (req_header(req, conf->request[i], &v, &vl))
            lines[k++] = line(conf->request[i], v, vl);
    }
    *n = k;
    return true;
}

/* SHA-256 of the route, the settings and the call's lines. */
static void cache_key(const struct ext_auth_conf *conf, const char *route, size_t route_len,
                      char *const *lines, size_t n, uint8_t key[AUTH_CACHE_KEY_SIZE])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        abort();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
#define FEED(p, len)                                                                               \
    do {                                                                                           \
        uint64_t l_ = (uint64_t)(len);                                                             \
        EVP_DigestUpdate(ctx, &l_, sizeof(l_));                                                    \
        EVP_DigestUpdate(ctx, (p), (size_t)l_);                                                    \
    } while (0)
    FEED(route, route_len);
    FEED(conf->url, strlen(conf->url));
    FEED(&conf->method, sizeof(conf->method));
    FEED(conf->response, conf->n_response * sizeof(conf->response[0]));
    for (size_t i = 0; i < n; i++)
        FEED(lines[i], strlen(lines[i]));
#undef FEED
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, key, &len);
    EVP_MD_CTX_free(ctx);
}

void ext_auth_decide(struct ext_auth *ea, const struct ext_auth_conf *conf,
                     struct auth_counter *counter, const char *route, size_t route_len,
                     const struct spoe_request *req, struct spoe_reply *reply)
{
    char *lines[N_FIXED + AUTH_HEADER_LIST_MAX];
    size_t n = 0;
    if (!ea || !build_lines(conf, req, lines, &n)) {
        deny(reply, 503, NULL, 0);
        auth_counter_count(counter, false);
        return;
    }
    struct pending *p = xcalloc(1, sizeof(*p));
    p->ea = ea;
    p->conf = conf;
    p->counter = counter;
    cache_key(conf, route, route_len, lines, n, p->key);
    char *blob;
    size_t blen;
    if (conf->cache_ttl > 0 &&
        auth_cache_get(ea->cache, p->key, auth_client_now(), conf->cache_ttl, &blob, &blen)) {
        allow_cached(reply, conf, blob);
        auth_counter_count(counter, true);
        free(blob);
        goto out;
    }
    p->a = spoe_reply_defer(reply);
    if (!p->a) {
        deny(reply, 503, NULL, 0);
        auth_counter_count(counter, false);
        goto out;
    }
    const char *capture[AUTH_HEADER_LIST_MAX + 1];
    for (size_t i = 0; i < conf->n_response; i++)
        capture[i] = auth_header_slots[conf->response[i]].name;
    capture[conf->n_response] = "WWW-Authenticate";
    struct auth_call call = {
        .url = conf->url,
        .method = ext_auth_method_name(conf->method),
        .headers = (const char *const *)lines,
        .n_headers = n,
        .capture = capture,
        .n_capture = conf->n_response + 1,
        .deadline = auth_client_now() + conf->timeout_ms / 1000.,
    };
    if (auth_client_submit(ea->client, &call, on_answer, p)) {
        p = NULL; /* on_answer's now */
    } else {
        warn_limited(ea, "external auth %s: too many calls waiting: denied (503)", conf->url);
        deny(spoe_async_reply(p->a), 503, NULL, 0);
        auth_counter_count(counter, false);
        spoe_async_complete(p->a);
    }
out:
    free(p);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}
