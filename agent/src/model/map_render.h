/*
 * map_render.h - the routing model as the entries of HAProxy's routes map,
 * exactly as docs/routing.md lays them out, and a simulation of the lookups
 * haproxy.cfg does on them (the tests check it against route_match.h).
 *
 * One map file, so that one "commit map" switches every key at once:
 *   "=" HOST PATH     Exact paths, and each Prefix path's own path (unless
 *                     an Exact rule has the same one): looked up with map_str
 *   "^" HOST PATH "/" Prefix paths ("^" HOST "/" for Prefix "/"): looked up
 *                     with map_beg, the longest prefix wins
 *   "default"         the default route, if any
 * HOST is "" for rules without host, the lowercase host, or "*.parent".
 *
 * Value: BACKEND|ROUTE-ID|FLAGS|TIMEOUT|RW-LEN|RW-TARGET|APP-ROOT|REDIRECT|CANARY
 *   BACKEND    HAProxy backend name (from the caller; MAP_BACKEND_UNAVAILABLE
 *              when the route has none, which answers 503)
 *   ROUTE-ID   model_route.id
 *   FLAGS      letters, "-" when none: s = redirect HTTP to HTTPS (308),
 *              w = rewrite the path, a = app-root redirect of "/", r =
 *              permanent redirect, t = server timeout, x = ask the SPOE
 *              responder (auth; denied when it does not answer),
 *              c = the route has a canary (the SPOE responder picks it;
 *              main when it does not answer)
 *   TIMEOUT    server timeout in milliseconds, or empty
 *   RW-LEN     how many leading path elements ("/x") the route matched (the
 *              number of '/' in its path; 0 for Prefix "/"), or empty;
 *              haproxy.cfg.in strips up to 32 of them
 *   RW-TARGET  the rewrite target without trailing '/' (may be empty)
 *   APP-ROOT   the app-root path, or empty
 *   REDIRECT   the permanent-redirect URL, or empty
 *   CANARY     with c: the HAProxy backend of the canary (named like
 *              BACKEND), or empty
 * No field can contain '|': every value is whitelisted (names.h,
 * annotations.h).
 */
#ifndef SPOKE_MODEL_MAP_RENDER_H
#define SPOKE_MODEL_MAP_RENDER_H

#include <stddef.h>

#include "model/model.h"

#define MAP_ROUTES_FILE         "routes.map"
#define MAP_DEFAULT_KEY         "default"
#define MAP_BACKEND_UNAVAILABLE "spoke_unavailable"
/* Same bounds as haproxy/cli_escape.h puts on map keys and values. */
#define MAP_KEY_MAX   4096
#define MAP_VALUE_MAX 3072

#define MAP_FLAG_SSL_REDIRECT 's'
#define MAP_FLAG_REWRITE      'w'
#define MAP_FLAG_APP_ROOT     'a'
#define MAP_FLAG_REDIRECT     'r'
#define MAP_FLAG_TIMEOUT      't'
#define MAP_FLAG_SPOE         'x'
#define MAP_FLAG_CANARY       'c'

/* Value fields, 1-based as HAProxy's field() converter counts them. */
enum map_field {
    MAP_FIELD_BACKEND = 1,
    MAP_FIELD_ROUTE,
    MAP_FIELD_FLAGS,
    MAP_FIELD_TIMEOUT,
    MAP_FIELD_RW_LEN,
    MAP_FIELD_RW_TARGET,
    MAP_FIELD_APP_ROOT,
    MAP_FIELD_REDIRECT,
    MAP_FIELD_CANARY,
};

struct map_kv {
    char *key;
    char *value;
};

/* Entries sorted by key (strcmp), keys unique. */
struct map_rendered {
    struct map_kv *entries;
    size_t n;
};

/* The HAProxy backend that serves model backend b (the slot allocator
 * knows); NULL: none yet, the route answers 503. Only [A-Za-z0-9._:-]. */
typedef const char *(*map_backend_name_fn)(void *ud, const struct model_backend *b);

/* Renders m into out. name_fn NULL: backends are named by their model id.
 * Returns 0, or -1 with a reason in err (a refused backend name). */
int map_render(const struct routing_model *m, map_backend_name_fn name_fn, void *ud,
               struct map_rendered *out, char *err, size_t errlen);
void map_rendered_free(struct map_rendered *r);

/* The entry HAProxy would find for a request, following docs/routing.md;
 * NULL: no entry (404). */
const struct map_kv *map_sim_lookup(const struct map_rendered *r, const char *host_header,
                                    const char *path);

/* Field n (1-based) of a map value, like HAProxy's field(n,|), into out.
 * Returns its length, or -1 when there is no such field or out is too small. */
int map_value_field(const char *value, int n, char *out, size_t outlen);

/* The path HAProxy sends to the backend for a request of path that found
 * value: with flag 'w', the first RW-LEN path elements are replaced by RW-TARGET
 * and "" becomes "/"; otherwise path. Returns the length or -1. */
int map_sim_rewrite(const char *value, const char *path, char *out, size_t outlen);

#endif
