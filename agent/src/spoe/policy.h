/*
 * policy.h - per-route auth policies for the SPOE responder: an immutable
 * snapshot compiled from the Ingresses' spoke.dev/ annotations and the
 * Secrets they name (control thread), and the decision function that
 * applies it to each "spoke-request" message (SPOE worker threads).
 *
 * Annotations (docs/auth.md), all on the Ingress, applying to its routes:
 *   spoke.dev/auth-type               basic | jwt | apikey
 *   spoke.dev/auth-secret             basic: Secret with key "auth" (htpasswd
 *                                     file); apikey: Secret whose every data
 *                                     value is a key (plain or "sha256:HEX").
 *                                     "name" or "ns/name" with ns = the
 *                                     Ingress's namespace (no cross-namespace).
 *   spoke.dev/auth-realm              basic and jwt; default
 *                                     "Authentication Required"; printable
 *                                     ASCII without '"' or '\\', <= 128 bytes
 *   spoke.dev/auth-jwks-secret        jwt: Secret with key "jwks.json" or
 *                                     "keys.pem" (else every data value is
 *                                     parsed as JWKS or PEM)
 *   spoke.dev/auth-jwt-hmac-secret    jwt: Secret with key "secret" (raw bytes)
 *   spoke.dev/auth-jwt-issuer         exact "iss"
 *   spoke.dev/auth-jwt-audience       comma-separated; any one in "aud"
 *   spoke.dev/auth-jwt-leeway         seconds, 0..300 (default 0)
 *   spoke.dev/auth-apikey-header      default "X-API-Key"
 *   spoke.dev/auth-jwt-claims-to-headers  jwt: "claim:Header,..." (headers
 *                                     of auth_headers.h)
 *   spoke.dev/auth-url (and auth-method, auth-request-headers,
 *                       auth-response-headers, auth-cache-ttl, auth-timeout)
 *                                     external auth (ext_auth_conf.h);
 *                                     excludes auth-type
 *   spoke.dev/whitelist-source-range  CIDR list: other sources get 403
 *   spoke.dev/denylist-source-range   CIDR list: these sources get 403
 * An invalid annotation, or a missing or invalid Secret, makes every route
 * of that Ingress DENY-ALL with status 503 (fail closed) and is reported.
 *
 * Decision (policy_decide), in this order: denylist -> 403, whitelist ->
 * 403, then the auth type: missing or wrong credentials -> 401. Variables
 * set (txn scope; HAProxy prefixes "spoke."):
 *   verdict   "allow" | "deny"
 *   status    401 | 403 | 503 (int; only with "deny")
 *   www_auth  the WWW-Authenticate value (only with 401 from basic or jwt)
 *   auth_sub  a verified JWT's "sub" (printable ASCII, <= 256 bytes)
 *   h_*       headers for the upstream request (auth_headers.h): from the
 *             external auth's answer, or JWT claims
 * A route the model has but no auth annotation covers gets "allow" (it was
 * flagged for SPOE for another reason: canary, whose variable "canary" comes
 * from canary_decide.h). An unknown route id gets deny 503;
 * no snapshot (NULL) gets no variables at all, which HAProxy's rules treat
 * as deny.
 *
 * A set is never modified after policy_set_build returns; any number of
 * worker threads may call policy_decide on it at once (the auth primitives
 * are reentrant and their objects are read-only).
 */
#ifndef SPOKE_SPOE_POLICY_H
#define SPOKE_SPOE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "kube/store.h"
#include "model/model.h"
#include "spoe/spoe_decide.h"

#define POLICY_ANN_AUTH_TYPE       "spoke.dev/auth-type"
#define POLICY_ANN_AUTH_SECRET     "spoke.dev/auth-secret"
#define POLICY_ANN_AUTH_REALM      "spoke.dev/auth-realm"
#define POLICY_ANN_JWKS_SECRET     "spoke.dev/auth-jwks-secret"
#define POLICY_ANN_JWT_HMAC_SECRET "spoke.dev/auth-jwt-hmac-secret"
#define POLICY_ANN_JWT_ISSUER      "spoke.dev/auth-jwt-issuer"
#define POLICY_ANN_JWT_AUDIENCE    "spoke.dev/auth-jwt-audience"
#define POLICY_ANN_JWT_LEEWAY      "spoke.dev/auth-jwt-leeway"
#define POLICY_ANN_APIKEY_HEADER   "spoke.dev/auth-apikey-header"
#define POLICY_ANN_JWT_CLAIMS_HDRS "spoke.dev/auth-jwt-claims-to-headers"
#define POLICY_ANN_WHITELIST       "spoke.dev/whitelist-source-range"
#define POLICY_ANN_DENYLIST        "spoke.dev/denylist-source-range"

#define POLICY_DEFAULT_REALM      "Authentication Required"
#define POLICY_DEFAULT_APIKEY_HDR "X-API-Key"
#define POLICY_REALM_MAX          128
#define POLICY_MAX_LEEWAY         300
#define POLICY_SUB_MAX            256
#define POLICY_HEADER_MAX         (64 * 1024) /* one header value we look at */

/* The message and its arguments (haproxy/spoe.cfg.in). */
#define POLICY_MESSAGE "spoke-request"

/* Variable names (without HAProxy's "spoke." prefix). */
#define POLICY_VAR_VERDICT  "verdict"
#define POLICY_VAR_STATUS   "status"
#define POLICY_VAR_WWW_AUTH "www_auth"
#define POLICY_VAR_SUB      "auth_sub"

enum policy_auth_type {
    POLICY_AUTH_NONE,
    POLICY_AUTH_BASIC,
    POLICY_AUTH_JWT,
    POLICY_AUTH_APIKEY,
    POLICY_AUTH_EXTERNAL, /* spoke.dev/auth-url */
};

struct policy_set;

/* Called once per problem: ingress is "namespace/name", message English,
 * printable ASCII, bounded. */
typedef void (*policy_report_fn)(void *ud, const char *ingress, const char *message);

/* Compiles the policies of every route of m (and m->default_route), looking
 * up each route's Ingress in `ingresses` and the Secrets its annotations
 * name in `secrets` (either store may be NULL: no objects). now is the
 * build time (kept for logs, policy_set_built_at). report may be NULL.
 * Never NULL (allocation failure aborts). */
struct policy_set *policy_set_build(const struct routing_model *m, struct store *ingresses,
                                    struct store *secrets, time_t now, policy_report_fn report,
                                    void *ud);

/* The external auth runtime (ext_auth.h) that routes with auth-url use;
 * without one they are denied (503). Before publishing the set. */
struct ext_auth;
void policy_set_use_ext_auth(struct policy_set *set, struct ext_auth *ea);

/* Counts each Ingress's allows and denies into stats (auth_stats.h), from
 * now on: call before publishing the set. */
struct auth_stats;
void policy_set_use_auth_stats(struct policy_set *set, struct auth_stats *stats);

/* Frees a set (NULL is fine); the spoe_server_publish release callback. */
void policy_set_release(void *set);

/* A spoe_decide_fn: snapshot is a struct policy_set * (or NULL). Answers
 * only "spoke-request" messages; others get no variables. */
void policy_decide(void *snapshot, const struct spoe_request *req, struct spoe_reply *reply);

/* The same decision on a set, for a decider that composes several (canary,
 * auth, ...): false when set is NULL or the message is not "spoke-request"
 * (nothing was set). External auth defers the reply (spoe_reply_defer):
 * set every other variable before calling this, and none after. */
bool policy_evaluate(const struct policy_set *set, const struct spoe_request *req,
                     struct spoe_reply *reply);

/* Which routes ask the SPOE is the model's decision (annotations_need_spoe()
 * in model/annotations.h: any spoke.dev/auth-* or source-range annotation);
 * one of those this version does not implement makes the Ingress DENY-ALL
 * 503, never "allow". */

/* Introspection (tests, logs, admin). */
size_t policy_set_count(const struct policy_set *set); /* routes with a policy entry */
time_t policy_set_built_at(const struct policy_set *set);
/* The auth type of route id; -1 when the route is unknown. *deny_all (may
 * be NULL) tells whether the route is DENY-ALL 503 after an error. */
int policy_set_route(const struct policy_set *set, const char *route_id, bool *deny_all);

#endif
