/*
 * route_match.h - the reference matcher: where Kubernetes semantics send a
 * request, computed straight from the routes (no maps). Unit tests check it
 * against the Kubernetes documentation; the map tests check that HAProxy's
 * map lookups (map_render.h) agree with it; the e2e suite uses it to predict
 * which backend must answer a real request.
 *
 * Host: the Host header up to its first ':' (the port), compared
 * case-insensitively. It is usable only if it is made of letters, digits,
 * '.' and '-' and starts with a letter or digit; an unusable host (absent,
 * empty, "[::1]", "a/b", "*.x", ...) matches host-less rules only.
 * Precedence between rules, first that has a match wins:
 *   1. rules whose host equals the request's host;
 *   2. the wildcard rule "*.parent" when the request's host is one label
 *      (non-empty, without '.') followed by ".parent";
 *   3. rules without host;
 *   4. the default route; else nothing (404).
 * Within one of those host tiers: an Exact path equal to the request path
 * wins; else the Prefix (or ImplementationSpecific) path with the most
 * elements that is an element-wise prefix of the request path: the path is
 * split on '/', "/foo" matches "/foo", "/foo/" and "/foo/bar", never
 * "/foobar", and "/" matches every path. Paths compare byte for byte (case
 * sensitive, no percent-decoding); a request path that does not start with
 * '/' matches no rule.
 */
#ifndef SPOKE_MODEL_ROUTE_MATCH_H
#define SPOKE_MODEL_ROUTE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/* The route for a request (host_header may be NULL: no Host header); the
 * default route when no rule matches; NULL: 404. */
const struct model_route *route_match(const struct routing_model *m, const char *host_header,
                                      const char *path);

/* The host part of a Host header (before the first ':') and its length;
 * false when it is not usable (see above). */
bool route_match_host(const char *host_header, const char **host, size_t *len);

/* Whether route r's path matches request path (its host is not looked at). */
bool route_path_matches(const struct model_route *r, const char *path);

/* The path the backend receives when r has a rewrite target: the part of
 * path that r matched (its whole path for Exact, its path for Prefix, ""
 * for Prefix "/") is replaced by the target without its trailing '/', and
 * an empty result becomes "/". Prefix "/api" with target "/v2":
 * "/api" -> "/v2", "/api/x" -> "/v2/x"; with target "/": "/api/x" -> "/x".
 * Without a rewrite target, path itself. Returns the length, or -1 when
 * out (outlen bytes) is too small. path must be one that r matches. */
int route_match_rewrite(const struct model_route *r, const char *path, char *out, size_t outlen);

#endif
