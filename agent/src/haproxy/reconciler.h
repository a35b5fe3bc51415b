/*
 * reconciler.h - makes a running HAProxy serve a routing model, through the
 * runtime API only (no reload unless a pool runs out).
 *
 * One pass, started by reconciler_apply() and run step by step on the loop:
 *   1. read the servers HAProxy has ("show servers state"; at start and
 *      after a reconnect or a restart, so HAProxy is the source of truth);
 *   2. give every model backend a pool slot (pools.h); an exhausted profile
 *      grows, haproxy.cfg is rendered again and HAProxy reloaded (managed
 *      mode, or attached with a master CLI socket; else the routes of those
 *      backends answer 503 and the log says why);
 *   3. add / set / delete servers so each slot has the backend's endpoints;
 *      then the TLS certificates of the model's Secrets (certs.h);
 *   4. replace the routes map atomically (map_txn.h) when it changed;
 *   5. delete the servers of backends no route uses any more and free their
 *      slots (after the map stopped pointing at them);
 *   6. read the servers again and write haproxy.cfg (with them) and the pool
 *      assignment, so the state directory equals what HAProxy serves.
 * New IngressParameters (reconciler_set_params) are applied first, before
 * step 1 of the next pass: "set maxconn" through the runtime API when that
 * is all that changed (HAProxy refuses a value above the maxconn it
 * started with: then a reload), else haproxy.cfg and spoe.cfg are rendered
 * again and HAProxy reloaded once (reconciler_request_reload).
 * A model that arrives during a pass waits; only the newest is applied next
 * (level-triggered: intermediate models do not matter).
 */
#ifndef SPOKE_HAPROXY_RECONCILER_H
#define SPOKE_HAPROXY_RECONCILER_H

#include <stdbool.h>

#include <ev.h>

#include "haproxy/config_render.h"
#include "haproxy/runtime_api.h"
#include "kube/store.h"
#include "model/model.h"

struct reconciler;

/* Why HAProxy was reloaded (the only changes the runtime API cannot make). */
enum reload_reason {
    RELOAD_POOL_EXHAUSTED, /* a profile's pool grew */
    RELOAD_PARAMETERS,     /* IngressParameters that live in haproxy.cfg */
    RELOAD_ERROR_PAGES,    /* new error page bodies */
    RELOAD_REASONS
};
/* "pool_exhausted", "parameters", "error_pages" (metric labels). */
const char *reload_reason_name(enum reload_reason reason);

struct reconciler_stats {
    unsigned long passes;                     /* completed passes */
    unsigned long failed;                     /* passes that hit an error (retried) */
    unsigned long commands;                   /* runtime API commands sent */
    unsigned long map_commits;                /* routes map versions committed */
    unsigned long reloads;                    /* reloads, all reasons */
    unsigned long reloads_by[RELOAD_REASONS]; /* by reason */
    unsigned long routes;                     /* routes of the last model applied */
    unsigned long unplaced;                   /* backends without a slot in the last pass */
    bool synced;                              /* the last model was fully applied */
};

/* render: ports (the flags'), state dir, bind address (its pools, servers
 * and params fields are filled here). pool_size: slots per profile to start
 * with. Loads STATE_DIR/pools.json and STATE_DIR/params.json (the
 * parameters last applied, so that the first haproxy.cfg is the one HAProxy
 * runs). */
struct reconciler *reconciler_new(struct ev_loop *loop, struct runtime_api *api,
                                  const struct haproxy_render_params *render, unsigned pool_size,
                                  char *err, size_t errlen);
/* How HAProxy is reloaded (hitless; reconciler_request_reload): the
 * supervisor's SIGUSR2 in managed mode, the master CLI in attached mode.
 * Without one, pools do not grow and parameters wait for a reload by
 * someone else. Returns 0 or -1 with err set. */
typedef int (*reconciler_reload_fn)(void *ud, char *err, size_t errlen);
void reconciler_set_reload(struct reconciler *r, reconciler_reload_fn fn, void *ud);
/* Where TLS Secrets are read from (the informer's store). */
void reconciler_set_secrets(struct reconciler *r, struct store *secrets);
/* Resolves an ExternalName: copies up to max numeric addresses of name into
 * addrs and returns how many (util/dns_cache.h). Without a resolver,
 * ExternalName backends get no servers. */
typedef size_t (*reconciler_resolve_fn)(void *ud, const char *name, char (*addrs)[64], size_t max);
void reconciler_set_resolver(struct reconciler *r, reconciler_resolve_fn fn, void *ud);

/* Called at the end of every pass with its duration (metrics). */
void reconciler_set_on_pass(struct reconciler *r, void (*fn)(void *ud, double seconds, bool ok),
                            void *ud);
/* The TLS Secret ("ns/name") served when no SNI filter matches. */
void reconciler_set_default_cert(struct reconciler *r, const char *secret);
void reconciler_free(struct reconciler *r);

/* Renders haproxy.cfg for the current pools (before HAProxy first starts). */
int reconciler_write_config(struct reconciler *r, char *err, size_t errlen);

/* How new parameters reached HAProxy. */
enum reconciler_params_method {
    RECONCILER_PARAMS_NONE,    /* nothing HAProxy runs changed */
    RECONCILER_PARAMS_RUNTIME, /* runtime API, no reload */
    RECONCILER_PARAMS_RELOAD,  /* one hitless reload */
    RECONCILER_PARAMS_PENDING, /* haproxy.cfg written; HAProxy must be reloaded (attached) */
    RECONCILER_PARAMS_FAILED,  /* HAProxy refused them: the previous ones still run */
};
typedef void (*reconciler_params_fn)(void *ud, long long tag, enum reconciler_params_method m,
                                     const char *detail);

/* Slots of a profile declared from now on (existing pools keep theirs). */
void reconciler_set_pool_size(struct reconciler *r, unsigned size);
/* The parameters haproxy.cfg is rendered from (the last applied). */
const struct ingress_params *reconciler_params(const struct reconciler *r);
/* Applies p before the next pass (started by the next reconciler_apply or
 * resync); done(ud, tag, ...) says how, once. A newer call replaces an
 * older one not started yet (whose done then never runs). */
void reconciler_set_params(struct reconciler *r, const struct ingress_params *p, long long tag,
                           reconciler_params_fn done, void *ud);

/* Renders haproxy.cfg and reloads HAProxy hitlessly, counted under reason.
 * Returns 1 when reloaded, 0 when the
 * file is written but nobody can reload (attached mode: the caller says a
 * reload is pending), -1 with err set when the check or the signal failed
 * (HAProxy runs the old configuration). After 1 the runtime API reaches
 * the new worker on its next connection. */
int reconciler_request_reload(struct reconciler *r, enum reload_reason reason, char *err,
                              size_t errlen);

/* The custom error page bodies to serve (NULL, or NULL bodies: spoke's
 * pages); copied. A change is written at the start of the next pass and
 * costs one hitless reload (reason "error pages"). */
struct error_pages;
void reconciler_set_error_pages(struct reconciler *r, const struct error_pages *pages);

/* Applies m (the reconciler takes ownership). */
void reconciler_apply(struct reconciler *r, struct routing_model *m);
/* HAProxy was (re)started: read its state again and push everything. */
void reconciler_resync(struct reconciler *r);

const struct reconciler_stats *reconciler_stats(const struct reconciler *r);
/* The backend pools (slots per profile and who holds them), for metrics. */
const struct pools *reconciler_pools(const struct reconciler *r);

#endif
