/*
 * annotations.h - the spoke.dev/ annotations of an Ingress, parsed and
 * checked. They apply to every route of that Ingress.
 *
 *   spoke.dev/ssl-redirect        "true" | "false": HTTP -> HTTPS with 308.
 *                                 Unset: on for hosts that have TLS.
 *   spoke.dev/rewrite-target      a path: the part of the request path the
 *                                 route matched is replaced by it.
 *   spoke.dev/app-root            a path other than "/": a request for "/"
 *                                 is redirected there (302).
 *   spoke.dev/permanent-redirect  an http:// or https:// URL: 301 there.
 *   spoke.dev/timeout-server      HAProxy time: digits and an optional unit
 *                                 ms (default), s, m or h; 1ms to 24h.
 *   spoke.dev/backend-protocol    http | h2 | https
 *   spoke.dev/load-balance        roundrobin | leastconn | source | random
 *   spoke.dev/affinity            cookie | none
 * The last three choose the backend profile (model.h).
 *
 * A value that is invalid is reported and that annotation keeps its
 * default; the others still apply. Values are whitelisted (paths as in
 * names.h, URLs as RFC 3986 characters, no '|' or space) and bounded, since
 * they end up in HAProxy map values.
 */
#ifndef SPOKE_MODEL_ANNOTATIONS_H
#define SPOKE_MODEL_ANNOTATIONS_H

#include <stdbool.h>

#include <jansson.h>

#include "model/model.h"

#define ANNOTATION_SSL_REDIRECT       "spoke.dev/ssl-redirect"
#define ANNOTATION_REWRITE_TARGET     "spoke.dev/rewrite-target"
#define ANNOTATION_APP_ROOT           "spoke.dev/app-root"
#define ANNOTATION_PERMANENT_REDIRECT "spoke.dev/permanent-redirect"
#define ANNOTATION_TIMEOUT_SERVER     "spoke.dev/timeout-server"
#define ANNOTATION_BACKEND_PROTOCOL   "spoke.dev/backend-protocol"
#define ANNOTATION_LOAD_BALANCE       "spoke.dev/load-balance"
#define ANNOTATION_AFFINITY           "spoke.dev/affinity"

#define ANNOTATION_PATH_MAX       512
#define ANNOTATION_URL_MAX        1024
#define ANNOTATION_TIMEOUT_MAX_MS (24u * 3600u * 1000u)

struct ingress_annotations {
    int ssl_redirect;               /* -1: unset, 0: false, 1: true */
    const char *rewrite_target;     /* borrowed from the Ingress; NULL: unset */
    const char *app_root;           /* borrowed; NULL: unset */
    const char *permanent_redirect; /* borrowed; NULL: unset */
    unsigned timeout_server_ms;     /* 0: unset */
    bool needs_spoe;                /* an auth or source-range annotation: ask the SPOE responder */
    struct model_profile profile;
};

/* Called for each invalid value: why is an English phrase; value is the raw
 * (untrusted) value. */
typedef void (*annotation_report_fn)(void *ud, const char *annotation, const char *value,
                                     const char *why);

/* Fills out from ingress's annotations; report may be NULL. */
void ingress_annotations_parse(const json_t *ingress, struct ingress_annotations *out,
                               annotation_report_fn report, void *ud);

/* The value checks, each 0 when valid, -1 when not. */
/* True when the Ingress has an annotation that only the SPOE responder can
 * decide on (spoke.dev/auth-*, whitelist-source-range,
 * denylist-source-range): its routes are flagged 'x' in the routes map and
 * fail closed without an answer (docs/auth.md). */
bool annotations_need_spoe(const json_t *ingress);

int annotation_parse_bool(const char *v, bool *out);
int annotation_parse_timeout(const char *v, unsigned *ms);
int annotation_check_path(const char *v);
int annotation_check_url(const char *v);

#endif
