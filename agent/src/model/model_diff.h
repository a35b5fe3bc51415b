/*
 * model_diff.h - what changed between two routing models, so the caller
 * only touches what it must: the routes map when any route changed, the
 * servers of the backends whose endpoints changed, the certificates when
 * TLS bindings changed, Events for new problems, status for the served
 * Ingresses.
 */
#ifndef SPOKE_MODEL_DIFF_H
#define SPOKE_MODEL_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

struct model_diff {
    bool routes;    /* a route or the default route was added, removed or changed */
    bool tls;       /* TLS bindings differ */
    bool defaults;  /* per-Ingress default backends differ */
    bool ingresses; /* the set of served Ingresses differs */
    bool problems;  /* the problem list differs */
    /* Backend ids, borrowed from the models (keep both alive while using
     * them); each list sorted. */
    const char **added; /* in new only */
    size_t n_added;
    const char **removed; /* in old only */
    size_t n_removed;
    const char **changed; /* in both, with other endpoints, port or profile */
    size_t n_changed;
};

/* old may be NULL (an empty model: everything in new is added). Fills d,
 * which model_diff_free releases. */
void model_diff(const struct routing_model *old, const struct routing_model *new_model,
                struct model_diff *d);
void model_diff_free(struct model_diff *d);
bool model_diff_empty(const struct model_diff *d);

/* Field-by-field equality. */
bool model_equal(const struct routing_model *a, const struct routing_model *b);
bool model_route_equal(const struct model_route *a, const struct model_route *b);
bool model_backend_equal(const struct model_backend *a, const struct model_backend *b);

#endif
