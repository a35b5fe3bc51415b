/* annotations.c - see annotations.h. */
#include "model/annotations.h"

#include <string.h>
#include <strings.h>

#include "model/names.h"
#include "model/objects.h"

int annotation_parse_bool(const char *v, bool *out)
{
    if (strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "false") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

int annotation_parse_timeout(const char *v, unsigned *ms)
{
    unsigned long long n = 0;
    const char *p = v;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (unsigned)(*p - '0');
        if (n > ANNOTATION_TIMEOUT_MAX_MS)
            return -1;
    }
    unsigned long long mult;
    if (*p == '\0' || strcmp(p, "ms") == 0)
        mult = 1;
    else if (strcmp(p, "s") == 0)
        mult = 1000;
    else if (strcmp(p, "m") == 0)
        mult = 60000;
    else if (strcmp(p, "h") == 0)
        mult = 3600000;
    else
        return -1;
    n *= mult;
    if (n == 0 || n > ANNOTATION_TIMEOUT_MAX_MS)
        return -1;
    *ms = (unsigned)n;
    return 0;
}

int annotation_check_path(const char *v)
{
    if (v[0] != '/' || strlen(v) > ANNOTATION_PATH_MAX || !names_is_uri_path_text(v))
        return -1;
    return 0;
}

int annotation_check_url(const char *v)
{
    static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=";
    const char *rest;
    if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    else
        return -1;
    if (strlen(v) > ANNOTATION_URL_MAX || *rest == '\0' || *rest == '/' || *rest == '?' ||
        *rest == '#')
        return -1;
    for (const char *p = v; *p; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr(allowed, c))
            continue;
        if (c == '%' && p[1] && p[2] && strchr("0123456789abcdefABCDEF", p[1]) &&
            strchr("0123456789abcdefABCDEF", p[2])) {
            p += 2;
            continue;
        }
        return -1;
    }
    return 0;
}

static void report_invalid(annotation_report_fn report, void *ud, const char *key, const char *v,
                           const char *why)
{
    if (report)
        report(ud, key, v, why);
}

static int pick(const char *v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v, names[i]) == 0)
            return (int)i;
    return -1;
}

bool annotations_need_spoe(const json_t *ingress)
{
    const json_t *ann = json_object_get(json_object_get(ingress, "metadata"), "annotations");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)ann, key, value)
    {
        if (strncmp(key, "spoke.dev/auth-", 15) == 0 ||
            strcmp(key, "spoke.dev/whitelist-source-range") == 0 ||
            strcmp(key, "spoke.dev/denylist-source-range") == 0)
            return true;
    }
    return false;
}

void ingress_annotations_parse(const json_t *ingress, struct ingress_annotations *out,
                               annotation_report_fn report, void *ud)
{
    memset(out, 0, sizeof(*out));
    out->ssl_redirect = -1;
    out->needs_spoe = annotations_need_spoe(ingress);
    const char *v;
    bool b;

    if ((v = json_annotation(ingress, ANNOTATION_SSL_REDIRECT))) {
        if (annotation_parse_bool(v, &b) == 0)
            out->ssl_redirect = b;
        else
            report_invalid(report, ud, ANNOTATION_SSL_REDIRECT, v, "must be \"true\" or \"false\"");
    }
    if ((v = json_annotation(ingress, ANNOTATION_REWRITE_TARGET))) {
        if (annotation_check_path(v) == 0)
            out->rewrite_target = v;
        else
            report_invalid(report, ud, ANNOTATION_REWRITE_TARGET, v,
                           "must be a URL path starting with '/', at most 512 bytes");
    }
    if ((v = json_annotation(ingress, ANNOTATION_APP_ROOT))) {
        if (annotation_check_path(v) == 0 && strcmp(v, "/") != 0)
            out->app_root = v;
        else
            report_invalid(report, ud, ANNOTATION_APP_ROOT, v,
                           "must be a URL path other than \"/\", at most 512 bytes");
    }
    if ((v = json_annotation(ingress, ANNOTATION_PERMANENT_REDIRECT))) {
        if (annotation_check_url(v) == 0)
            out->permanent_redirect = v;
        else
            report_invalid(report, ud, ANNOTATION_PERMANENT_REDIRECT, v,
                           "must be an http:// or https:// URL, at most 1024 bytes");
    }
    if ((v = json_annotation(ingress, ANNOTATION_TIMEOUT_SERVER))) {
        unsigned ms;
        if (annotation_parse_timeout(v, &ms) == 0)
            out->timeout_server_ms = ms;
        else
            report_invalid(report, ud, ANNOTATION_TIMEOUT_SERVER, v,
                           "must be a duration like 30s, 500ms or 5m, from 1ms to 24h");
    }
    if ((v = json_annotation(ingress, ANNOTATION_BACKEND_PROTOCOL))) {
        static const char *const names[] = {"http", "h2", "https"};
        int i = pick(v, names, 3);
        if (i >= 0)
            out->profile.protocol = (enum model_protocol)i;
        else
            report_invalid(report, ud, ANNOTATION_BACKEND_PROTOCOL, v, "must be http, h2 or https");
    }
    if ((v = json_annotation(ingress, ANNOTATION_LOAD_BALANCE))) {
        static const char *const names[] = {"roundrobin", "leastconn", "source", "random"};
        int i = pick(v, names, 4);
        if (i >= 0)
            out->profile.balance = (enum model_balance)i;
        else
            report_invalid(report, ud, ANNOTATION_LOAD_BALANCE, v,
                           "must be roundrobin, leastconn, source or random");
    }
    if ((v = json_annotation(ingress, ANNOTATION_AFFINITY))) {
        static const char *const names[] = {"none", "cookie"};
        int i = pick(v, names, 2);
        if (i >= 0)
            out->profile.cookie_affinity = i == 1;
        else
            report_invalid(report, ud, ANNOTATION_AFFINITY, v, "must be cookie or none");
    }
}
