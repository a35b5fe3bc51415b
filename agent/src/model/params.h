/*
 * params.h - the spec of an IngressParameters object (crds/ingressparameters.yaml)
 * read into a C struct, with every value checked again here: the API server's
 * schema may be missing (an older cluster, a test server) or bypassed, and
 * every value below ends up in haproxy.cfg.
 *
 * Each field is either unset (the CRD default, or the agent's flag where
 * one exists: ports, pool size, SPOE workers), a valid value, or invalid.
 * An invalid field is reported (field path and reason) and keeps the value
 * of `fallback`, the parameters HAProxy runs now, so a bad edit never
 * reaches haproxy.cfg and never changes what runs. Unknown fields are
 * reported too (a typo would otherwise be silently ignored).
 *
 * The struct is plain data with fixed-size strings: params_equal() and the
 * comparisons in params_compare() are field by field.
 */
#ifndef SPOKE_MODEL_PARAMS_H
#define SPOKE_MODEL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model/model.h"

#define PARAMS_CIPHERS_MAX      2048
#define PARAMS_CIPHERSUITES_MAX 1024
#define PARAMS_TRUSTED_MAX      64
#define PARAMS_CIDR_MAX         52 /* INET6_ADDRSTRLEN + "/128" */
#define PARAMS_HEADER_MAX       64
#define PARAMS_LOG_FORMAT_MAX   1024
#define PARAMS_NAME_MAX         253
#define PARAMS_NS_MAX           63
#define PARAMS_MAXCONN_MAX      10000000u
#define PARAMS_THREADS_MAX      64u
#define PARAMS_POOL_SIZE_MAX    4096u
#define PARAMS_HSTS_MAX_AGE_MAX 63072000u
#define PARAMS_SPOE_WORKERS_MAX 64u
#define PARAMS_TIMEOUT_MAX_MS   (24u * 3600u * 1000u)
#define PARAMS_SPOE_IDLE_MAX_MS (5u * 60u * 1000u) /* below the responder's own (router.c) */
#define PARAMS_PROBLEMS_MAX     16

enum params_tls_version { PARAMS_TLS_1_0, PARAMS_TLS_1_1, PARAMS_TLS_1_2, PARAMS_TLS_1_3 };
enum params_log_format { PARAMS_LOG_HTTP, PARAMS_LOG_JSON, PARAMS_LOG_CUSTOM };
enum params_fail_mode { PARAMS_FAIL_DENY, PARAMS_FAIL_ALLOW };

struct ingress_params {
    /* listen */
    int http_port, https_port; /* 0: the agent's --http-port / --https-port */
    bool proxy_protocol;
    /* timeouts, milliseconds */
    unsigned timeout_connect, timeout_client, timeout_server, timeout_http_request,
        timeout_keep_alive;
    unsigned maxconn;           /* 0: HAProxy derives it from the fd limit */
    unsigned threads;           /* 0: HAProxy decides */
    enum model_balance balance; /* for Ingresses without spoke.dev/load-balance */
    unsigned pool_size;         /* 0: the agent's --pool-size */
    struct {
        bool enabled, include_subdomains, preload;
        unsigned max_age;
    } hsts;
    bool ssl_redirect;
    char default_cert[PARAMS_NS_MAX + 1 + PARAMS_NAME_MAX +
                      1]; /* "ns/name"; "" = flag/self-signed */
    enum params_tls_version tls_min;
    char ciphers[PARAMS_CIPHERS_MAX + 1];              /* "" = OpenSSL's defaults */
    char ciphersuites[PARAMS_CIPHERSUITES_MAX + 1];    /* "" = OpenSSL's defaults */
    char trusted[PARAMS_TRUSTED_MAX][PARAMS_CIDR_MAX]; /* canonical "addr/len", sorted */
    size_t n_trusted;
    char real_ip_header[PARAMS_HEADER_MAX + 1];
    struct {
        unsigned hello, idle, processing; /* milliseconds */
        enum params_fail_mode fail_mode;
        unsigned workers; /* 0: the agent's --spoe-workers */
    } spoe;
    struct {
        bool enabled;
        enum params_log_format format;
        char custom[PARAMS_LOG_FORMAT_MAX + 1]; /* printable ASCII, one line */
    } access_log;
    char error_pages[PARAMS_NAME_MAX + 1]; /* ConfigMap name; "" = none */
};

/* Called once per problem: field is a path like "spec.timeouts.server". */
typedef void (*params_report_fn)(void *ud, const char *field, const char *message);

/* Every field unset: the CRD's defaults. */
void params_defaults(struct ingress_params *p);

/* Reads spec (an object, or NULL = every default) of the IngressParameters
 * in namespace ns (for defaultCertificate without a namespace). Invalid
 * fields take fallback's value (NULL = the defaults) and are reported.
 * Returns the number of problems. */
size_t params_parse(const json_t *spec, const char *ns, const struct ingress_params *fallback,
                    struct ingress_params *out, params_report_fn report, void *ud);

/* A spec object (new reference) that params_parse() reads back to p (the
 * state directory keeps the applied parameters in this form). */
json_t *params_to_spec(const struct ingress_params *p);

bool params_equal(const struct ingress_params *a, const struct ingress_params *b);

/* How a change from a to b reaches HAProxy (bits). */
enum {
    PARAMS_CHANGE_RUNTIME = 1, /* maxconn: "set maxconn" (a reload if refused) */
    PARAMS_CHANGE_RELOAD = 2,  /* haproxy.cfg or spoe.cfg text: one hitless reload */
    PARAMS_CHANGE_MODEL = 4,   /* sslRedirect, loadBalance: a new routing model */
    PARAMS_CHANGE_OTHER = 8,   /* default certificate, pool size, SPOE workers */
};
unsigned params_compare(const struct ingress_params *a, const struct ingress_params *b);

/* "TLSv1.2", "http", ... */
const char *params_tls_version_name(enum params_tls_version v);

#endif
