/* ext_auth_conf.c - checks the external auth annotations of an Ingress
 * into a struct ext_auth_conf (see ext_auth_conf.h). Pure; every value is
 * untrusted and bounded before use. */
#include "spoe/ext_auth_conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "model/annotations.h"
#include "util/printable.h"

/* Headers the agent sets itself on the call, or that would confuse it. */
static const char *const reserved[] = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "expect",
    "keep-alive",
    "proxy-connection",
    "trailer",
    "x-original-url",
    "x-original-method",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
};

const char *ext_auth_method_name(enum ext_auth_method m)
{
    return m == EXT_AUTH_HEAD ? "HEAD" : m == EXT_AUTH_POST ? "POST" : "GET";
}

static const char *shown(const char *s, char out[72])
{
    return printable_quote(s, PRINTABLE_CSTR, 64, out);
}

/* The URL: annotation_check_url's characters and length, no fragment, and
 * a host that libcurl's own parser finds. */
static int check_url(const char *url, char *err, size_t errlen)
{
    char q[72];
    if (annotation_check_url(url) != 0 || strchr(url, '#')) {
        snprintf(err, errlen,
                 "%s: \"%s\" is not an http:// or https:// URL (at most %d bytes of RFC 3986 "
                 "characters, no fragment)",
                 EXT_AUTH_ANN_URL, shown(url, q), ANNOTATION_URL_MAX);
        return -1;
    }
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok) {
        snprintf(err, errlen, "%s: \"%s\" has no valid host", EXT_AUTH_ANN_URL, shown(url, q));
        return -1;
    }
    return 0;
}

/* Digits only, at most max. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int ext_auth_conf_parse(const struct ext_auth_annotations *in, struct ext_auth_conf *out, char *err,
                        size_t errlen)
{
    char q[72], why[256];
    memset(out, 0, sizeof(*out));
    if (!in->url) {
        snprintf(err, errlen, "%s is required", EXT_AUTH_ANN_URL);
        return -1;
    }
    if (check_url(in->url, err, errlen) < 0)
        return -1;
    snprintf(out->url, sizeof(out->url), "%s", in->url);

    out->method = EXT_AUTH_GET;
    if (in->method) {
        if (strcmp(in->method, "GET") == 0)
            out->method = EXT_AUTH_GET;
        else if (strcmp(in->method, "HEAD") == 0)
            out->method = EXT_AUTH_HEAD;
        else if (strcmp(in->method, "POST") == 0)
            out->method = EXT_AUTH_POST;
        else {
            snprintf(err, errlen, "%s: \"%s\" is not one of GET, HEAD, POST", EXT_AUTH_ANN_METHOD,
                     shown(in->method, q));
            return -1;
        }
    }

    const char *req = in->request_headers ? in->request_headers : EXT_AUTH_DEFAULT_REQUEST_HEADERS;
    if (auth_header_list_parse(req, out->request, &out->n_request, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", EXT_AUTH_ANN_REQUEST_HEADERS, why);
        return -1;
    }
    for (size_t i = 0; i < out->n_request; i++)
        for (size_t j = 0; j < sizeof(reserved) / sizeof(reserved[0]); j++)
            if (strcasecmp(out->request[i], reserved[j]) == 0) {
                snprintf(err, errlen, "%s: %s is set by spoke itself and cannot be forwarded",
                         EXT_AUTH_ANN_REQUEST_HEADERS, out->request[i]);
                return -1;
            }

    if (in->response_headers && auth_header_slots_parse(in->response_headers, out->response,
                                                        &out->n_response, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", EXT_AUTH_ANN_RESPONSE_HEADERS, why);
        return -1;
    }

    if (in->cache_ttl && parse_uint(in->cache_ttl, EXT_AUTH_MAX_CACHE_TTL, &out->cache_ttl) < 0) {
        snprintf(err, errlen, "%s: \"%s\" is not a number of seconds from 0 to %u",
                 EXT_AUTH_ANN_CACHE_TTL, shown(in->cache_ttl, q), EXT_AUTH_MAX_CACHE_TTL);
        return -1;
    }

    out->timeout_ms = EXT_AUTH_DEFAULT_TIMEOUT_MS;
    if (in->timeout && (annotation_parse_timeout(in->timeout, &out->timeout_ms) < 0 ||
                        out->timeout_ms > EXT_AUTH_MAX_TIMEOUT_MS)) {
        snprintf(err, errlen,
                 "%s: \"%s\" is not a time from 1ms to %ums (digits and ms or s; below the SPOE "
                 "processing timeout)",
                 EXT_AUTH_ANN_TIMEOUT, shown(in->timeout, q), EXT_AUTH_MAX_TIMEOUT_MS);
        return -1;
    }
    return 0;
}
