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

struct reconciler_stats {
    unsigned long passes;      /* completed passes */
    unsigned long failed;      /* passes that hit an error (retried) */
    unsigned long commands;    /* runtime API commands sent */
    unsigned long map_commits; /* routes map versions committed */
    unsigned long reloads;     /* reloads, all for pool growth */
    unsigned long unplaced;    /* backends without a slot in the last pass */
    bool synced;               /* the last model was fully applied */
};

/* render: ports, state dir, bind address (its pools/servers fields are
 * filled here). pool_size: slots per profile to start with. Loads
 * STATE_DIR/pools.json. */
struct reconciler *reconciler_new(struct ev_loop *loop, struct runtime_api *api,
                                  const struct haproxy_render_params *render, unsigned pool_size,
                                  char *err, size_t errlen);
/* How HAProxy is reloaded (hitless) when a pool grows: the supervisor's
 * SIGUSR2 in managed mode, the master CLI in attached mode. Without one,
 * pools do not grow. Returns 0 or -1 with err set. */
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

/* Applies m (the reconciler takes ownership). */
void reconciler_apply(struct reconciler *r, struct routing_model *m);
/* HAProxy was (re)started: read its state again and push everything. */
void reconciler_resync(struct reconciler *r);

const struct reconciler_stats *reconciler_stats(const struct reconciler *r);

#endif
