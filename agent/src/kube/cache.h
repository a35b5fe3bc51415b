/*
 * cache.h - every resource the agent watches: one store + informer each,
 * and one debounced "something changed" signal for all of them.
 *
 * Store handlers only count events and arm a timer; when it fires, the
 * on_change callback runs once for however many events came in. The timer
 * is a rate limit: after a quiet period a change is passed on within a
 * millisecond; during a burst, at most once per debounce interval. Whoever
 * listens reconciles from the stores (level-triggered), never from the
 * events themselves.
 */
#ifndef SPOKE_CACHE_H
#define SPOKE_CACHE_H

#include <stdbool.h>

#include <ev.h>

#include "kube/http.h"
#include "kube/informer.h"
#include "kube/resources.h"
#include "kube/store.h"

struct kube_cache;

/* events: how many store events were coalesced into this call. */
typedef void (*kube_cache_change_fn)(void *ud, unsigned long events);

struct kube_cache *kube_cache_new(struct ev_loop *loop, struct kube_http *http, const char *ns,
                                  double debounce_seconds, kube_cache_change_fn on_change,
                                  void *ud);
/* Also watches res (in namespace ns; NULL = all, ignored for cluster-scoped
 * kinds): for resources only some configurations need, such as Nodes for a
 * NodePort --publish-service. Before kube_cache_start only; -1 when started,
 * full (KUBE_CACHE_MAX_EXTRA) or already watched. */
#define KUBE_CACHE_MAX_EXTRA 4
int kube_cache_add(struct kube_cache *c, const struct kube_resource *res, const char *ns);
void kube_cache_start(struct kube_cache *c);
void kube_cache_free(struct kube_cache *c);

/* True once every informer has applied its first LIST. */
bool kube_cache_synced(const struct kube_cache *c);

/* The watched resources, in a fixed order, for iteration. */
size_t kube_cache_count(const struct kube_cache *c);
const struct informer *kube_cache_informer(const struct kube_cache *c, size_t i);
struct store *kube_cache_store_at(const struct kube_cache *c, size_t i);
/* The store of one resource (NULL if not watched). */
struct store *kube_cache_store(const struct kube_cache *c, const struct kube_resource *res);

#endif
