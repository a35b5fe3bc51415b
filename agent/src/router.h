/*
 * router.h - the routing side of the agent: prepares the state directory,
 * starts HAProxy (--manage-haproxy) or attaches to it, and turns every
 * cache change into a routing model that the reconciler pushes, and the
 * served Ingresses' status. Every 30 s it does so even without a change, so
 * whatever failed (a refused command, a status patch) is tried again.
 */
#ifndef SPOKE_ROUTER_H
#define SPOKE_ROUTER_H

#include <ev.h>

#include "admin/admin_server.h"
#include "admin/metrics.h"
#include "kube/cache.h"
#include "kube/http.h"
#include "options.h"

struct router;

/* NULL (with the reason logged) when HAProxy cannot be set up. */
struct router *router_new(struct ev_loop *loop, const struct options *opts,
                          struct kube_cache *cache, struct kube_http *http);
/* The cache changed (debounced): build a model and apply it. */
void router_update(struct router *r);
/* Stops HAProxy (when managed) and frees everything. */
void router_free(struct router *r);

/* The routing side's counters for /metrics, and where to report reconcile
 * durations (m may be NULL). */
void router_metrics_sources(const struct router *r, struct metrics_sources *src);
void router_set_metrics(struct router *r, struct metrics *m);
/* With leader election, only the leader writes Ingress status (l NULL: always). */
struct leader;
void router_set_leader(struct router *r, struct leader *l);
/* The agent's namespace: IngressParameters of an IngressClass with scope
 * Cluster are read there. */
void router_set_namespace(struct router *r, const char *ns);

/* GET /debug/routing: the reconciler's counters and the last model's routes
 * and problems, as JSON. */
void router_debug_handler(void *ud, const char *query, struct admin_response *resp);

#endif
