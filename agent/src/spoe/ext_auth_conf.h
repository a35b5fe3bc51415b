/*
 * ext_auth_conf.h - the external auth settings of an Ingress, parsed and
 * checked from its annotation values (untrusted strings):
 *
 *   spoke.dev/auth-url               http:// or https:// URL, at most 1024
 *                                    bytes (RFC 3986 characters, no fragment)
 *   spoke.dev/auth-method            GET (default), HEAD or POST (no body)
 *   spoke.dev/auth-request-headers   request headers forwarded to it
 *                                    (default "Authorization, Cookie")
 *   spoke.dev/auth-response-headers  headers of its 2xx answer copied to the
 *                                    upstream request (auth_headers.h slots)
 *   spoke.dev/auth-cache-ttl         seconds a positive answer is reused,
 *                                    0 (default, no cache) to 3600
 *   spoke.dev/auth-timeout           HAProxy time (default 1s), 1ms to
 *                                    1500ms: below the SPOE "timeout
 *                                    processing" of haproxy/spoe.cfg.in
 */
#ifndef SPOKE_SPOE_EXT_AUTH_CONF_H
#define SPOKE_SPOE_EXT_AUTH_CONF_H

#include <stddef.h>

#include "spoe/auth_headers.h"

#define EXT_AUTH_ANN_URL              "spoke.dev/auth-url"
#define EXT_AUTH_ANN_METHOD           "spoke.dev/auth-method"
#define EXT_AUTH_ANN_REQUEST_HEADERS  "spoke.dev/auth-request-headers"
#define EXT_AUTH_ANN_RESPONSE_HEADERS "spoke.dev/auth-response-headers"
#define EXT_AUTH_ANN_CACHE_TTL        "spoke.dev/auth-cache-ttl"
#define EXT_AUTH_ANN_TIMEOUT          "spoke.dev/auth-timeout"

#define EXT_AUTH_DEFAULT_REQUEST_HEADERS "Authorization, Cookie"
#define EXT_AUTH_DEFAULT_TIMEOUT_MS      1000u
#define EXT_AUTH_MAX_TIMEOUT_MS          1500u
#define EXT_AUTH_MAX_CACHE_TTL           3600u

enum ext_auth_method { EXT_AUTH_GET, EXT_AUTH_HEAD, EXT_AUTH_POST };

/* The raw annotation values; NULL when absent. */
struct ext_auth_annotations {
    const char *url, *method, *request_headers, *response_headers, *cache_ttl, *timeout;
};

struct ext_auth_conf {
    char url[1025];
    enum ext_auth_method method;
    size_t n_request; /* request headers forwarded */
    char request[AUTH_HEADER_LIST_MAX][AUTH_HEADER_NAME_MAX + 1];
    size_t n_response; /* slots copied from the answer */
    int response[AUTH_HEADER_LIST_MAX];
    unsigned cache_ttl;  /* seconds, 0: no cache */
    unsigned timeout_ms; /* the whole call, connecting included */
};

/* 0 with *out filled, or -1 with a reason (printable ASCII, naming the
 * annotation) in err. in->url must not be NULL. */
int ext_auth_conf_parse(const struct ext_auth_annotations *in, struct ext_auth_conf *out, char *err,
                        size_t errlen);

/* The method's name ("GET", ...). */
const char *ext_auth_method_name(enum ext_auth_method m);

#endif
