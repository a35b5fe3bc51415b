/*
 * informer.h - keeps a store equal to one resource on the API server.
 *
 * The client-go pattern: a paginated LIST (limit/continue), store_replace()
 * with the result, then a WATCH from the list's resourceVersion with
 * allowWatchBookmarks. Watch events go into the store, bookmarks only move
 * the resourceVersion. When the stream ends (server timeout, closed
 * connection) it re-watches from the last resourceVersion; on 410 Gone it
 * re-lists and the store computes the difference, so listeners see the
 * right add/update/delete events and nothing stale survives. Errors back off
 * exponentially (0.5 s doubling to 30 s, with jitter). A resource the server
 * does not know (404, e.g. a CRD not installed yet) counts as synced and
 * empty, and is retried slowly.
 */
#ifndef SPOKE_INFORMER_H
#define SPOKE_INFORMER_H

#include <stdbool.h>

#include <ev.h>

#include "kube/http.h"
#include "kube/resources.h"
#include "kube/store.h"

struct informer;

struct informer_stats {
    unsigned long lists;        /* completed LISTs (the first one included) */
    unsigned long relists;      /* LISTs after the first (410, errors) */
    unsigned long watches;      /* WATCH requests started */
    unsigned long watch_events; /* ADDED/MODIFIED/DELETED applied */
    unsigned long errors;       /* failed requests and malformed streams */
};

/* ns NULL = all namespaces. The store must outlive the informer. */
struct informer *informer_new(struct ev_loop *loop, struct kube_http *http,
                              const struct kube_resource *res, const char *ns, struct store *store);
void informer_start(struct informer *inf);
/* Stops watching and frees. */
void informer_free(struct informer *inf);

bool informer_synced(const struct informer *inf); /* first LIST applied */
const char *informer_resource_version(const struct informer *inf);
const struct informer_stats *informer_stats(const struct informer *inf);
const struct kube_resource *informer_resource(const struct informer *inf);

#endif
