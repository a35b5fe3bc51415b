/* params_render.c - see params_render.h. */
#include "haproxy/params_render.h"

#include <string.h>

/* HAProxy's httplog fields as one JSON object per line. %{+E} escapes '"'
 * and '\' in what the client sent (URI, host); the rest are numbers or
 * HAProxy's own names. */
static const char json_log_format[] =
    "{\"time\":\"%tr\",\"client\":\"%ci\",\"client_port\":%cp,\"frontend\":\"%ft\","
    "\"backend\":\"%b\",\"server\":\"%s\",\"host\":\"%{+E}[var(txn.host)]\","
    "\"method\":\"%HM\",\"uri\":\"%{+E}HU\",\"version\":\"%HV\",\"status\":%ST,"
    "\"bytes\":%B,\"request_ms\":%TR,\"queue_ms\":%Tw,\"connect_ms\":%Tc,"
    "\"response_ms\":%Tr,\"total_ms\":%Ta,\"termination\":\"%ts\",\"retries\":%rc}";

void params_render_quoted(struct strbuf *out, const char *s)
{
    strbuf_puts(out, "'");
    for (const char *q; (q = strchr(s, '\'')); s = q + 1) {
        strbuf_append(out, s, (size_t)(q - s));
        strbuf_puts(out, "'\\''");
    }
    strbuf_puts(out, s);
    strbuf_puts(out, "'");
}

static void global_lines(struct strbuf *out, const struct ingress_params *p)
{
    if (p->maxconn)
        strbuf_printf(out, "    maxconn %u\n", p->maxconn);
    if (p->threads)
        strbuf_printf(out, "    nbthread %u\n", p->threads);
    /* Both lists were checked against OpenSSL and hold no blank or quote. */
    if (p->ciphers[0])
        strbuf_printf(out, "    ssl-default-bind-ciphers %s\n", p->ciphers);
    if (p->ciphersuites[0])
        strbuf_printf(out, "    ssl-default-bind-ciphersuites %s\n", p->ciphersuites);
}

static void access_log_lines(struct strbuf *out, const struct ingress_params *p)
{
    if (!p->access_log.enabled)
        return;
    switch (p->access_log.format) {
    case PARAMS_LOG_HTTP:
        strbuf_puts(out, "    option httplog\n");
        break;
    case PARAMS_LOG_JSON:
        strbuf_puts(out, "    log-format ");
        params_render_quoted(out, json_log_format);
        strbuf_puts(out, "\n");
        break;
    case PARAMS_LOG_CUSTOM:
        strbuf_puts(out, "    log-format ");
        params_render_quoted(out, p->access_log.custom);
        strbuf_puts(out, "\n");
        break;
    }
}

/* The frontend's first rules: the client address, then HSTS. */
static void frontend_lines(struct strbuf *out, const struct ingress_params *p)
{
    if (p->n_trusted && !p->proxy_protocol) {
        /* The last address of the header that is not a trusted proxy: walk
         * the list from the right while the address found is trusted (at
         * most 5 hops). hdr_ip() fails on a non-address: src stays. */
        struct strbuf acl = STRBUF_INIT;
        for (size_t i = 0; i < p->n_trusted; i++)
            strbuf_printf(&acl, " %s", p->trusted[i]);
        strbuf_printf(out,
                      "    # realIP: the client address behind trusted proxies\n"
                      "    acl from_trusted_proxy src%s\n",
                      acl.data);
        for (int hop = 1; hop <= 5; hop++)
            strbuf_printf(out, "    http-request set-src hdr_ip(%s,-%d) if from_trusted_proxy\n",
                          p->real_ip_header, hop);
        strbuf_free(&acl);
    }
    if (p->hsts.enabled) {
        strbuf_printf(out,
                      "    http-response set-header Strict-Transport-Security "
                      "\"max-age=%u%s%s\" if { ssl_fc }\n",
                      p->hsts.max_age, p->hsts.include_subdomains ? "; includeSubDomains" : "",
                      p->hsts.preload ? "; preload" : "");
    }
}

int params_render_placeholder(struct strbuf *out, const char *name, size_t n,
                              const struct ingress_params *p)
{
    struct ingress_params defaults;
    if (!p) {
        params_defaults(&defaults);
        p = &defaults;
    }
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("GLOBAL_PARAMS"))
        global_lines(out, p);
    else if (IS("LOG_LEVEL"))
        strbuf_puts(out, p->access_log.enabled ? "info" : "notice");
    else if (IS("TLS_MIN_VERSION"))
        strbuf_puts(out, params_tls_version_name(p->tls_min));
    else if (IS("TIMEOUT_CONNECT"))
        strbuf_printf(out, "%ums", p->timeout_connect);
    else if (IS("TIMEOUT_CLIENT"))
        strbuf_printf(out, "%ums", p->timeout_client);
    else if (IS("TIMEOUT_SERVER"))
        strbuf_printf(out, "%ums", p->timeout_server);
    else if (IS("TIMEOUT_HTTP_REQUEST"))
        strbuf_printf(out, "%ums", p->timeout_http_request);
    else if (IS("TIMEOUT_KEEP_ALIVE"))
        strbuf_printf(out, "%ums", p->timeout_keep_alive);
    else if (IS("ACCESS_LOG"))
        access_log_lines(out, p);
    else if (IS("BIND_OPTIONS"))
        strbuf_puts(out, p->proxy_protocol ? " accept-proxy" : "");
    else if (IS("FRONTEND_PARAMS"))
        frontend_lines(out, p);
    else if (IS("SPOE_FAIL_OPEN")) {
        if (p->spoe.fail_mode == PARAMS_FAIL_ALLOW)
            strbuf_puts(out, "    # spoe.failMode allow: no answer from the agent lets the "
                             "request through WITHOUT authentication\n"
                             "    http-request set-var(txn.spoke.verdict) str(allow) if flag_x "
                             "!{ var(txn.spoke.verdict) -m found }\n");
    } else if (IS("SPOE_TIMEOUT_HELLO"))
        strbuf_printf(out, "%ums", p->spoe.hello);
    else if (IS("SPOE_TIMEOUT_IDLE"))
        strbuf_printf(out, "%ums", p->spoe.idle);
    else if (IS("SPOE_TIMEOUT_PROCESSING"))
        strbuf_printf(out, "%ums", p->spoe.processing);
    else
        return -1;
#undef IS
    return 0;
}
