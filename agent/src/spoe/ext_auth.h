/*
 * ext_auth.h - external auth decisions (spoke.dev/auth-url): for a request
 * of a route whose Ingress sets auth-url, the SPOE worker defers its reply
 * and hands an HTTP call to the auth client's thread (auth_client.h); the
 * answer completes the reply there. Positive answers are reused from the
 * cache (auth_cache.h) for the route's auth-cache-ttl.
 *
 * The call: the route's method (GET by default) to auth-url, with
 *   X-Original-URL     scheme://host/path?query of the request (path before
 *                      any rewrite-target)
 *   X-Original-Method  the request's method
 *   X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-For (the client address)
 * and the request headers listed in auth-request-headers (their first
 * occurrence). The answer:
 *   2xx                allow; each auth-response-headers header is passed
 *                      to the upstream (auth_headers.h), or removed when the
 *                      answer has none; a value that is not printable ASCII
 *                      or longer than 4 KiB: deny 503
 *   401                deny 401, with the answer's WWW-Authenticate when it
 *                      is printable and at most 1 KiB
 *   403                deny 403
 *   anything else, no answer within auth-timeout, an unreachable service,
 *   a full queue, a stopping agent: deny 503 (fail closed)
 */
#ifndef SPOKE_SPOE_EXT_AUTH_H
#define SPOKE_SPOE_EXT_AUTH_H

#include <stddef.h>

#include "spoe/ext_auth_conf.h"
#include "spoe/spoe_decide.h"

#define EXT_AUTH_MAX_ACTIVE    256  /* calls in flight at once */
#define EXT_AUTH_MAX_QUEUED    1024 /* calls waiting beyond those */
#define EXT_AUTH_CACHE_ENTRIES 8192
#define EXT_AUTH_CACHE_BYTES   (16u << 20)
#define EXT_AUTH_WWW_AUTH_MAX  1024

struct ext_auth;

/* Starts the auth client's thread; NULL with a reason in err. */
struct ext_auth *ext_auth_new(char *err, size_t errlen);

/* Calls not answered yet are denied (503); joins the thread. After the SPOE
 * server has stopped (no decision may start any more). NULL is fine. */
void ext_auth_free(struct ext_auth *ea);

/* Decides req for route (route_len bytes) with conf, which must stay valid
 * until the reply is completed (it belongs to the snapshot, which a
 * deferred reply holds). ea NULL, or a reply that cannot be deferred:
 * deny 503. The reply must not be used afterwards. The verdict is counted
 * in counter (auth_stats.h; NULL: not counted) when it is known. */
struct auth_counter;
void ext_auth_decide(struct ext_auth *ea, const struct ext_auth_conf *conf,
                     struct auth_counter *counter, const char *route, size_t route_len,
                     const struct spoe_request *req, struct spoe_reply *reply);

/* Calls in flight or queued; entries in the cache. */
unsigned ext_auth_pending(struct ext_auth *ea);
size_t ext_auth_cached(struct ext_auth *ea);

#endif
