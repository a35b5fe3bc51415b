/* params.c - reads and checks an IngressParameters spec (see params.h). */
#include "model/params.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "model/annotations.h"
#include "util/printable.h"

struct reader {
    const struct ingress_params *fb; /* fallback for invalid fields */
    params_report_fn report;
    void *ud;
    size_t problems;
};

static void problem(struct reader *rd, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct reader *rd, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rd->problems++;
    if (rd->report)
        rd->report(rd->ud, field, msg);
}

static void join(char *out, size_t len, const char *base, const char *key)
{
    if (snprintf(out, len, "%s.%s", base, key) >= (int)len)
        out[len - 1] = '\0'; /* field paths are short constants */
}

/* Reports keys of obj not in known (NULL-terminated). */
static void check_keys(struct reader *rd, const json_t *obj, const char *base,
                       const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
            ;
        if (!known[i]) {
            char f[128];
            snprintf(f, sizeof(f), "%s.%.60s", base, key);
            problem(rd, f, "unknown field");
        }
    }
}

/* The object at key, NULL when absent or not an object (reported). */
static const json_t *sub_object(struct reader *rd, const json_t *obj, const char *base,
                                const char *key, char *path, size_t pathlen)
{
    join(path, pathlen, base, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        problem(rd, path, "must be an object");
        return NULL;
    }
    return v;
}

/* 1 when key holds a valid integer in [min, max] (*out set), 0 when absent,
 * -1 when invalid (reported). */
static int read_int(struct reader *rd, const json_t *obj, const char *base, const char *key,
                    long long min, long long max, long long *out)
{
    char f[128];
    join(f, sizeof(f), base, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        problem(rd, f, "must be an integer from %lld to %lld", min, max);
        return -1;
    }
    *out = json_integer_value(v);
    return 1;
}

static void read_bool(struct reader *rd, const json_t *obj, const char *base, const char *key,
                      bool *out, bool def, bool fb)
{
    char f[128];
    join(f, sizeof(f), base, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
    } else if (!json_is_boolean(v)) {
        problem(rd, f, "must be true or false");
        *out = fb;
    } else {
        *out = json_is_true(v);
    }
}

/* The string at key: NULL when absent; "" stands for invalid (reported). */
static const char *read_str(struct reader *rd, const json_t *obj, const char *base, const char *key,
                            size_t maxlen)
{
    char f[128];
    join(f, sizeof(f), base, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > maxlen ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        problem(rd, f, "must be a string of 1 to %zu bytes", maxlen);
        return "";
    }
    return json_string_value(v);
}

static void read_timeout(struct reader *rd, const json_t *obj, const char *base, const char *key,
                         unsigned max_ms, unsigned *out, unsigned def, unsigned fb)
{
    char f[128];
    join(f, sizeof(f), base, key);
    const char *s = read_str(rd, obj, base, key, 64);
    unsigned ms;
    if (!s) {
        *out = def;
    } else if (!*s) {
        *out = fb;
    } else if (annotation_parse_timeout(s, &ms) < 0 || ms > max_ms) {
        problem(rd, f, "must be a duration like 5s, 500ms or 2m, from 1ms to %u%s",
                max_ms >= 3600000 ? max_ms / 3600000 : max_ms / 60000,
                max_ms >= 3600000 ? "h" : "m");
        *out = fb;
    } else {
        *out = ms;
    }
}

/* Index of s in names, -1 when absent, -2 when invalid (reported). */
static int read_enum(struct reader *rd, const json_t *obj, const char *base, const char *key,
                     const char *const *names, size_t n)
{
    char f[128];
    join(f, sizeof(f), base, key);
    const char *s = read_str(rd, obj, base, key, 32);
    if (!s)
        return -1;
    for (size_t i = 0; *s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    char list[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", names[i]);
    if (*s)
        problem(rd, f, "must be one of %s", list);
    return -2;
}

static bool only_chars(const char *s, const char *allowed)
{
    return s[strspn(s, allowed)] == '\0';
}

/* A DNS-1123 subdomain (dots allowed) or label, lowercase. */
static bool is_dns_name(const char *s, size_t max, bool dots)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    if (!only_chars(s, dots ? "abcdefghijklmnopqrstuvwxyz0123456789-."
                            : "abcdefghijklmnopqrstuvwxyz0123456789-"))
        return false;
    return s[0] != '-' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.';
}

/* ---- sections ------------------------------------------------------------------------ */

static void read_listen(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"httpPort", "httpsPort", "proxyProtocol", NULL};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "listen", base, sizeof(base));
    long long v;
    if (!o)
        return;
    check_keys(rd, o, base, known);
    int h = read_int(rd, o, base, "httpPort", 1, 65535, &v);
    p->http_port = h > 0 ? (int)v : h < 0 ? rd->fb->http_port : 0;
    h = read_int(rd, o, base, "httpsPort", 1, 65535, &v);
    p->https_port = h > 0 ? (int)v : h < 0 ? rd->fb->https_port : 0;
    if (p->http_port && p->http_port == p->https_port) {
        problem(rd, "spec.listen", "httpPort and httpsPort must differ");
        p->http_port = rd->fb->http_port;
        p->https_port = rd->fb->https_port;
    }
    read_bool(rd, o, base, "proxyProtocol", &p->proxy_protocol, false, rd->fb->proxy_protocol);
}

static void read_timeouts(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"connect",     "client",    "server",
                                        "httpRequest", "keepAlive", NULL};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "timeouts", base, sizeof(base));
    const struct ingress_params *fb = rd->fb;
    if (!o)
        return;
    check_keys(rd, o, base, known);
    read_timeout(rd, o, base, "connect", PARAMS_TIMEOUT_MAX_MS, &p->timeout_connect, 5000,
                 fb->timeout_connect);
    read_timeout(rd, o, base, "client", PARAMS_TIMEOUT_MAX_MS, &p->timeout_client, 60000,
                 fb->timeout_client);
    read_timeout(rd, o, base, "server", PARAMS_TIMEOUT_MAX_MS, &p->timeout_server, 60000,
                 fb->timeout_server);
    read_timeout(rd, o, base, "httpRequest", PARAMS_TIMEOUT_MAX_MS, &p->timeout_http_request, 10000,
                 fb->timeout_http_request);
    read_timeout(rd, o, base, "keepAlive", PARAMS_TIMEOUT_MAX_MS, &p->timeout_keep_alive, 60000,
                 fb->timeout_keep_alive);
}

static void read_scalars(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    long long v;
    int h = read_int(rd, spec, "spec", "maxconn", 1, PARAMS_MAXCONN_MAX, &v);
    p->maxconn = h > 0 ? (unsigned)v : h < 0 ? rd->fb->maxconn : 0;
    h = read_int(rd, spec, "spec", "threads", 1, PARAMS_THREADS_MAX, &v);
    p->threads = h > 0 ? (unsigned)v : h < 0 ? rd->fb->threads : 0;
    static const char *const balances[] = {"roundrobin", "leastconn", "source", "random"};
    int e = read_enum(rd, spec, "spec", "loadBalance", balances, 4);
    p->balance = e >= 0    ? (enum model_balance)e
                 : e == -1 ? MODEL_BALANCE_ROUNDROBIN
                           : rd->fb->balance;
    read_bool(rd, spec, "spec", "sslRedirect", &p->ssl_redirect, true, rd->fb->ssl_redirect);

    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "pools", base, sizeof(base));
    if (o) {
        static const char *const known[] = {"size", NULL};
        check_keys(rd, o, base, known);
        h = read_int(rd, o, base, "size", 1, PARAMS_POOL_SIZE_MAX, &v);
        p->pool_size = h > 0 ? (unsigned)v : h < 0 ? rd->fb->pool_size : 0;
    }
    o = sub_object(rd, spec, "spec", "hsts", base, sizeof(base));
    if (o) {
        static const char *const known[] = {"enabled", "maxAge", "includeSubDomains", "preload",
                                            NULL};
        check_keys(rd, o, base, known);
        read_bool(rd, o, base, "enabled", &p->hsts.enabled, false, rd->fb->hsts.enabled);
        h = read_int(rd, o, base, "maxAge", 0, PARAMS_HSTS_MAX_AGE_MAX, &v);
        p->hsts.max_age = h > 0 ? (unsigned)v : h < 0 ? rd->fb->hsts.max_age : 15552000;
        read_bool(rd, o, base, "includeSubDomains", &p->hsts.include_subdomains, false,
                  rd->fb->hsts.include_subdomains);
        read_bool(rd, o, base, "preload", &p->hsts.preload, false, rd->fb->hsts.preload);
    }
}

static void read_default_cert(struct reader *rd, const json_t *spec, const char *ns,
                              struct ingress_params *p)
{
    static const char *const known[] = {"name", "namespace", NULL};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "defaultCertificate", base, sizeof(base));
    if (!o) {
        if (json_object_get(spec, "defaultCertificate") &&
            !json_is_null(json_object_get(spec, "defaultCertificate")))
            snprintf(p->default_cert, sizeof(p->default_cert), "%s", rd->fb->default_cert);
        return;
    }
    check_keys(rd, o, base, known);
    const char *name = read_str(rd, o, base, "name", PARAMS_NAME_MAX);
    const char *cns = read_str(rd, o, base, "namespace", PARAMS_NS_MAX);
    if (!cns)
        cns = ns && *ns ? ns : "default";
    bool ok = true;
    if (!name) {
        problem(rd, "spec.defaultCertificate.name", "is required");
        ok = false;
    } else if (*name && !is_dns_name(name, PARAMS_NAME_MAX, true)) {
        problem(rd, "spec.defaultCertificate.name", "must be a Secret name (lowercase DNS name)");
        ok = false;
    }
    if (*cns && !is_dns_name(cns, PARAMS_NS_MAX, false)) {
        problem(rd, "spec.defaultCertificate.namespace", "must be a namespace name");
        ok = false;
    }
    if (ok && name && *name && *cns)
        snprintf(p->default_cert, sizeof(p->default_cert), "%s/%s", cns, name);
    else
        snprintf(p->default_cert, sizeof(p->default_cert), "%s", rd->fb->default_cert);
}

/* OpenSSL itself says whether a cipher list means anything, after a check
 * of the characters (nothing that could end a haproxy.cfg word or line). */
static bool cipher_list_ok(const char *s, bool tls13)
{
    if (!only_chars(
            s, tls13 ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:"
                     : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:+!@=.,-"))
        return false;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return false;
    int ok = tls13 ? SSL_CTX_set_ciphersuites(ctx, s) : SSL_CTX_set_cipher_list(ctx, s);
    SSL_CTX_free(ctx);
    return ok == 1;
}

static void read_tls(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"minVersion", "ciphers", "cipherSuites", NULL};
    static const char *const versions[] = {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "tls", base, sizeof(base));
    if (!o)
        return;
    check_keys(rd, o, base, known);
    int e = read_enum(rd, o, base, "minVersion", versions, 4);
    p->tls_min = e >= 0 ? (enum params_tls_version)e : e == -1 ? PARAMS_TLS_1_2 : rd->fb->tls_min;
    const char *s = read_str(rd, o, base, "ciphers", PARAMS_CIPHERS_MAX);
    if (s && *s && !cipher_list_ok(s, false)) {
        problem(rd, "spec.tls.ciphers", "is not an OpenSSL cipher list this image knows");
        s = "";
    }
    snprintf(p->ciphers, sizeof(p->ciphers), "%s", !s ? "" : *s ? s : rd->fb->ciphers);
    s = read_str(rd, o, base, "cipherSuites", PARAMS_CIPHERSUITES_MAX);
    if (s && *s && !cipher_list_ok(s, true)) {
        problem(rd, "spec.tls.cipherSuites",
                "is not a list of TLS 1.3 cipher suites this image knows");
        s = "";
    }
    snprintf(p->ciphersuites, sizeof(p->ciphersuites), "%s",
             !s   ? ""
             : *s ? s
                  : rd->fb->ciphersuites);
}

/* "ADDR/LEN" with a numeric address and a prefix length in range, into
 * canonical text (inet_ntop, host bits kept: HAProxy masks them). */
static bool canonical_cidr(const char *s, char out[PARAMS_CIDR_MAX])
{
    const char *slash = strchr(s, '/');
    char addr[64];
    if (!slash || slash == s || (size_t)(slash - s) >= sizeof(addr))
        return false;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    const char *len = slash + 1;
    if (!*len || strlen(len) > 3 || !only_chars(len, "0123456789") || (len[0] == '0' && len[1]))
        return false;
    int bits = atoi(len);
    unsigned char buf[16];
    char text[INET6_ADDRSTRLEN];
    int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(af, addr, buf) != 1 || bits > (af == AF_INET ? 32 : 128) ||
        !inet_ntop(af, buf, text, sizeof(text)))
        return false;
    return snprintf(out, PARAMS_CIDR_MAX, "%s/%d", text, bits) < PARAMS_CIDR_MAX;
}

static int cmp_cidr(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void read_real_ip(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"trustedProxies", "header", NULL};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "realIP", base, sizeof(base));
    if (!o)
        return;
    check_keys(rd, o, base, known);
    const json_t *list = json_object_get(o, "trustedProxies");
    if (list && !json_is_null(list)) {
        bool bad = false;
        if (!json_is_array(list) || json_array_size(list) > PARAMS_TRUSTED_MAX) {
            problem(rd, "spec.realIP.trustedProxies", "must be a list of at most %u CIDRs",
                    PARAMS_TRUSTED_MAX);
            bad = true;
        }
        size_t i;
        json_t *e;
        p->n_trusted = 0;
        json_array_foreach(bad ? NULL : list, i, e)
        {
            char f[64], c[PARAMS_CIDR_MAX];
            snprintf(f, sizeof(f), "spec.realIP.trustedProxies[%zu]", i);
            if (!json_is_string(e) || json_string_length(e) > 43 ||
                !canonical_cidr(json_string_value(e), c)) {
                problem(rd, f, "must be a CIDR like 10.0.0.0/8 or fd00::/8");
                bad = true;
                break;
            }
            size_t j;
            for (j = 0; j < p->n_trusted && strcmp(p->trusted[j], c) != 0; j++)
                ;
            if (j == p->n_trusted)
                memcpy(p->trusted[p->n_trusted++], c, sizeof(c));
        }
        if (bad) {
            memcpy(p->trusted, rd->fb->trusted, sizeof(p->trusted));
            p->n_trusted = rd->fb->n_trusted;
        }
        qsort(p->trusted, p->n_trusted, sizeof(p->trusted[0]), cmp_cidr);
    }
    const char *h = read_str(rd, o, base, "header", PARAMS_HEADER_MAX);
    if (h && *h &&
        !only_chars(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")) {
        problem(rd, "spec.realIP.header", "must be a header name (letters, digits, '-')");
        h = "";
    }
    snprintf(p->real_ip_header, sizeof(p->real_ip_header), "%s",
             !h   ? "X-Forwarded-For"
             : *h ? h
                  : rd->fb->real_ip_header);
}

static void read_spoe(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"timeouts", "failMode", "workers", NULL};
    static const char *const tknown[] = {"hello", "idle", "processing", NULL};
    static const char *const modes[] = {"deny", "allow"};
    char base[128], tbase[64];
    const json_t *o = sub_object(rd, spec, "spec", "spoe", base, sizeof(base));
    if (!o)
        return;
    check_keys(rd, o, base, known);
    const json_t *t = sub_object(rd, o, base, "timeouts", tbase, sizeof(tbase));
    if (t) {
        check_keys(rd, t, tbase, tknown);
        read_timeout(rd, t, tbase, "hello", PARAMS_TIMEOUT_MAX_MS, &p->spoe.hello, 2000,
                     rd->fb->spoe.hello);
        read_timeout(rd, t, tbase, "idle", PARAMS_SPOE_IDLE_MAX_MS, &p->spoe.idle, 30000,
                     rd->fb->spoe.idle);
        read_timeout(rd, t, tbase, "processing", PARAMS_TIMEOUT_MAX_MS, &p->spoe.processing, 2000,
                     rd->fb->spoe.processing);
    }
    int e = read_enum(rd, o, base, "failMode", modes, 2);
    p->spoe.fail_mode = e >= 0    ? (enum params_fail_mode)e
                        : e == -1 ? PARAMS_FAIL_DENY
                                  : rd->fb->spoe.fail_mode;
    long long v;
    int h = read_int(rd, o, base, "workers", 1, PARAMS_SPOE_WORKERS_MAX, &v);
    p->spoe.workers = h > 0 ? (unsigned)v : h < 0 ? rd->fb->spoe.workers : 0;
}

static void read_access_log(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"enabled", "format", "custom", NULL};
    static const char *const formats[] = {"http", "json", "custom"};
    char base[128];
    const json_t *o = sub_object(rd, spec, "spec", "accessLog", base, sizeof(base));
    if (!o)
        return;
    check_keys(rd, o, base, known);
    read_bool(rd, o, base, "enabled", &p->access_log.enabled, true, rd->fb->access_log.enabled);
    int e = read_enum(rd, o, base, "format", formats, 3);
    const char *custom = read_str(rd, o, base, "custom", PARAMS_LOG_FORMAT_MAX);
    /* Printable ASCII only: no line break, no control byte reaches haproxy.cfg. */
    bool custom_ok = custom && *custom && printable_ascii(custom);
    if (custom && *custom && !custom_ok)
        problem(rd, "spec.accessLog.custom", "must be one line of printable ASCII");
    if (e == PARAMS_LOG_CUSTOM && !custom_ok) {
        if (!custom)
            problem(rd, "spec.accessLog.custom", "is required with format custom");
        p->access_log.format = rd->fb->access_log.format;
        memcpy(p->access_log.custom, rd->fb->access_log.custom, sizeof(p->access_log.custom));
        return;
    }
    p->access_log.format = e >= 0    ? (enum params_log_format)e
                           : e == -1 ? PARAMS_LOG_HTTP
                                     : rd->fb->access_log.format;
    if (p->access_log.format == PARAMS_LOG_CUSTOM && e != PARAMS_LOG_CUSTOM)
        memcpy(p->access_log.custom, rd->fb->access_log.custom, sizeof(p->access_log.custom));
    else if (p->access_log.format == PARAMS_LOG_CUSTOM)
        snprintf(p->access_log.custom, sizeof(p->access_log.custom), "%s", custom);
}

static void read_error_pages(struct reader *rd, const json_t *spec, struct ingress_params *p)
{
    static const char *const known[] = {"configMapRef", NULL};
    static const char *const rknown[] = {"name", NULL};
    char base[128], rbase[64];
    const json_t *o = sub_object(rd, spec, "spec", "errorPages", base, sizeof(base));
    if (!o)
        return;
    check_keys(rd, o, base, known);
    const json_t *ref = sub_object(rd, o, base, "configMapRef", rbase, sizeof(rbase));
    const char *name = ref ? read_str(rd, ref, rbase, "name", PARAMS_NAME_MAX) : NULL;
    if (ref)
        check_keys(rd, ref, rbase, rknown);
    if (!name || !*name || !is_dns_name(name, PARAMS_NAME_MAX, true)) {
        problem(rd, "spec.errorPages.configMapRef.name", "must name a ConfigMap");
        snprintf(p->error_pages, sizeof(p->error_pages), "%s", rd->fb->error_pages);
        return;
    }
    snprintf(p->error_pages, sizeof(p->error_pages), "%s", name);
}

/* ---- public -------------------------------------------------------------------------- */

void params_defaults(struct ingress_params *p)
{
    memset(p, 0, sizeof(*p));
    p->timeout_connect = 5000;
    p->timeout_client = 60000;
    p->timeout_server = 60000;
    p->timeout_http_request = 10000;
    p->timeout_keep_alive = 60000;
    p->balance = MODEL_BALANCE_ROUNDROBIN;
    p->hsts.max_age = 15552000;
    p->ssl_redirect = true;
    p->tls_min = PARAMS_TLS_1_2;
    snprintf(p->real_ip_header, sizeof(p->real_ip_header), "X-Forwarded-For");
    p->spoe.hello = 2000;
    p->spoe.idle = 30000;
    p->spoe.processing = 2000;
    p->spoe.fail_mode = PARAMS_FAIL_DENY;
    p->access_log.enabled = true;
    p->access_log.format = PARAMS_LOG_HTTP;
}

size_t params_parse(const json_t *spec, const char *ns, const struct ingress_params *fallback,
                    struct ingress_params *out, params_report_fn report, void *ud)
{
    static const char *const known[] = {"listen",    "timeouts",    "maxconn",
                                        "threads",   "loadBalance", "pools",
                                        "hsts",      "sslRedirect", "defaultCertificate",
                                        "tls",       "realIP",      "spoe",
                                        "accessLog", "errorPages",  NULL};
    struct ingress_params defaults;
    params_defaults(&defaults);
    struct reader rd = {.fb = fallback ? fallback : &defaults, .report = report, .ud = ud};
    params_defaults(out);
    if (!spec || json_is_null(spec))
        return 0;
    if (!json_is_object(spec)) {
        problem(&rd, "spec", "must be an object");
        *out = *rd.fb;
        return rd.problems;
    }
    check_keys(&rd, spec, "spec", known);
    read_listen(&rd, spec, out);
    read_timeouts(&rd, spec, out);
    read_scalars(&rd, spec, out);
    read_default_cert(&rd, spec, ns, out);
    read_tls(&rd, spec, out);
    read_real_ip(&rd, spec, out);
    read_spoe(&rd, spec, out);
    read_access_log(&rd, spec, out);
    read_error_pages(&rd, spec, out);
    return rd.problems;
}

static json_t *duration(unsigned ms)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%ums", ms);
    return json_string(buf);
}

json_t *params_to_spec(const struct ingress_params *p)
{
    static const char *const balances[] = {"roundrobin", "leastconn", "source", "random"};
    static const char *const formats[] = {"http", "json", "custom"};
    json_t *spec = json_object();
    json_t *listen = json_pack("{s:b}", "proxyProtocol", p->proxy_protocol);
    if (p->http_port)
        json_object_set_new(listen, "httpPort", json_integer(p->http_port));
    if (p->https_port)
        json_object_set_new(listen, "httpsPort", json_integer(p->https_port));
    json_object_set_new(spec, "listen", listen);
    json_object_set_new(
        spec, "timeouts",
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "connect", duration(p->timeout_connect), "client",
                  duration(p->timeout_client), "server", duration(p->timeout_server), "httpRequest",
                  duration(p->timeout_http_request), "keepAlive", duration(p->timeout_keep_alive)));
    if (p->maxconn)
        json_object_set_new(spec, "maxconn", json_integer(p->maxconn));
    if (p->threads)
        json_object_set_new(spec, "threads", json_integer(p->threads));
    json_object_set_new(spec, "loadBalance", json_string(balances[p->balance]));
    json_object_set_new(spec, "pools", json_object());
    if (p->pool_size)
        json_object_set_new(json_object_get(spec, "pools"), "size", json_integer(p->pool_size));
    json_object_set_new(spec, "hsts",
                        json_pack("{s:b, s:I, s:b, s:b}", "enabled", p->hsts.enabled, "maxAge",
                                  (json_int_t)p->hsts.max_age, "includeSubDomains",
                                  p->hsts.include_subdomains, "preload", p->hsts.preload));
    json_object_set_new(spec, "sslRedirect", json_boolean(p->ssl_redirect));
    const char *slash = strchr(p->default_cert, '/');
    if (slash)
        json_object_set_new(spec, "defaultCertificate",
                            json_pack("{s:s, s:s%}", "name", slash + 1, "namespace",
                                      p->default_cert, (size_t)(slash - p->default_cert)));
    json_t *tls = json_pack("{s:s}", "minVersion", params_tls_version_name(p->tls_min));
    if (p->ciphers[0])
        json_object_set_new(tls, "ciphers", json_string(p->ciphers));
    if (p->ciphersuites[0])
        json_object_set_new(tls, "cipherSuites", json_string(p->ciphersuites));
    json_object_set_new(spec, "tls", tls);
    json_t *trusted = json_array();
    for (size_t i = 0; i < p->n_trusted; i++)
        json_array_append_new(trusted, json_string(p->trusted[i]));
    json_object_set_new(
        spec, "realIP",
        json_pack("{s:o, s:s}", "trustedProxies", trusted, "header", p->real_ip_header));
    json_t *spoe =
        json_pack("{s:{s:o, s:o, s:o}, s:s}", "timeouts", "hello", duration(p->spoe.hello), "idle",
                  duration(p->spoe.idle), "processing", duration(p->spoe.processing), "failMode",
                  p->spoe.fail_mode == PARAMS_FAIL_ALLOW ? "allow" : "deny");
    if (p->spoe.workers)
        json_object_set_new(spoe, "workers", json_integer(p->spoe.workers));
    json_object_set_new(spec, "spoe", spoe);
    json_t *log = json_pack("{s:b, s:s}", "enabled", p->access_log.enabled, "format",
                            formats[p->access_log.format]);
    if (p->access_log.custom[0])
        json_object_set_new(log, "custom", json_string(p->access_log.custom));
    json_object_set_new(spec, "accessLog", log);
    if (p->error_pages[0])
        json_object_set_new(spec, "errorPages",
                            json_pack("{s:{s:s}}", "configMapRef", "name", p->error_pages));
    return spec;
}

#define SAME(f)     (a->f == b->f)
#define SAME_STR(f) (strcmp(a->f, b->f) == 0)

/* What only haproxy.cfg / spoe.cfg text can change. */
static bool same_rendered(const struct ingress_params *a, const struct ingress_params *b)
{
    bool trusted = SAME(n_trusted);
    for (size_t i = 0; trusted && i < a->n_trusted; i++)
        trusted = SAME_STR(trusted[i]);
    return trusted && SAME(http_port) && SAME(https_port) && SAME(proxy_protocol) &&
           SAME(timeout_connect) && SAME(timeout_client) && SAME(timeout_server) &&
           SAME(timeout_http_request) && SAME(timeout_keep_alive) && SAME(threads) &&
           SAME(hsts.enabled) && SAME(hsts.max_age) && SAME(hsts.include_subdomains) &&
           SAME(hsts.preload) && SAME(tls_min) && SAME_STR(ciphers) && SAME_STR(ciphersuites) &&
           SAME_STR(real_ip_header) && SAME(spoe.hello) && SAME(spoe.idle) &&
           SAME(spoe.processing) && SAME(spoe.fail_mode) && SAME(access_log.enabled) &&
           SAME(access_log.format) && SAME_STR(access_log.custom);
}

unsigned params_compare(const struct ingress_params *a, const struct ingress_params *b)
{
    unsigned c = 0;
    if (!same_rendered(a, b))
        c |= PARAMS_CHANGE_RELOAD;
    if (!SAME(maxconn))
        c |= a->maxconn && b->maxconn ? PARAMS_CHANGE_RUNTIME : PARAMS_CHANGE_RELOAD;
    if (!SAME(ssl_redirect) || !SAME(balance))
        c |= PARAMS_CHANGE_MODEL;
    if (!SAME_STR(default_cert) || !SAME(pool_size) || !SAME(spoe.workers) ||
        !SAME_STR(error_pages))
        c |= PARAMS_CHANGE_OTHER;
    return c;
}

bool params_equal(const struct ingress_params *a, const struct ingress_params *b)
{
    return params_compare(a, b) == 0;
}

#undef SAME
#undef SAME_STR

const char *params_tls_version_name(enum params_tls_version v)
{
    static const char *const names[] = {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    return names[v];
}
