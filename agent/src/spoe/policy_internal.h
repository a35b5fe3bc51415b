/*
 * policy_internal.h - private to policy_build.c and policy_decide.c: the
 * layout of a compiled policy set (policy.h).
 *
 * One ing_policy per Ingress that routes refer to, shared by its routes;
 * route entries sorted by id for binary search. Nothing is modified after
 * policy_set_build returns.
 */
#ifndef SPOKE_SPOE_POLICY_INTERNAL_H
#define SPOKE_SPOE_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/model.h"
#include "spoe/policy.h"

#define POLICY_MAX_AUDIENCES 16
/* Verified basic-auth credentials kept, per Ingress: crypt() (bcrypt,
 * sha512-crypt) costs about a millisecond of CPU per request otherwise. */
#define POLICY_BASIC_CACHE_TTL     60
#define POLICY_BASIC_CACHE_ENTRIES 1024

struct canary_set;
struct auth_claim_map;
struct auth_counter;
struct auth_cache;
struct cidr_set;
struct ext_auth;
struct ext_auth_conf;
struct htpasswd;
struct jwk_set;
struct apikey_set;

struct ing_policy {
    char *ingress; /* "namespace/name" */
    bool active;   /* some policy annotation is present */
    bool deny_all; /* an error: every request gets deny 503 */
    enum policy_auth_type type;
    struct cidr_set *allow, *deny; /* NULL: no list */
    /* WWW-Authenticate values (basic and jwt) */
    char *www_basic, *www_bearer, *www_bearer_invalid;
    struct htpasswd *htpasswd; /* basic */
    /* basic: digests of credentials verified in the last
     * POLICY_BASIC_CACHE_TTL seconds (internally locked: the one part of a
     * set that changes after the build). Dropped with the set, so a new
     * htpasswd Secret never meets old entries. */
    struct auth_cache *verified;
    struct jwk_set *keys; /* jwt */
    char *issuer;         /* NULL: not checked */
    char **audiences;
    size_t n_audiences;
    int64_t leeway;
    struct apikey_set *apikeys; /* apikey */
    char *apikey_header;
    struct auth_claim_map *claims; /* jwt: auth-jwt-claims-to-headers, or NULL */
    struct ext_auth_conf *ext;     /* external (auth-url) */
    struct auth_counter *counter;  /* policy_set_use_auth_stats; NULL: not counted */
};

struct route_entry {
    char id[MODEL_ROUTE_ID_SIZE];
    const struct ing_policy *policy; /* NULL: nothing to enforce, allow */
};

struct policy_set {
    struct route_entry *routes; /* sorted by id */
    size_t n_routes;
    struct ing_policy *policies;
    size_t n_policies;
    time_t built_at;
    struct canary_set *canary; /* the routes' canaries (canary_decide.h) */
    struct ext_auth *ext_auth; /* policy_set_use_ext_auth; NULL: external auth denies */
};

/* The entry of route id (len bytes, any bytes), or NULL. */
const struct route_entry *policy_find_route(const struct policy_set *set, const char *id,
                                            size_t len);

#endif
