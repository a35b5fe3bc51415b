/*
 * objects.h - the model's view of its input: the Kubernetes objects of each
 * kind, indexed for lookup by namespace/name, EndpointSlices grouped by the
 * Service they belong to (util/json_path.h reads their fields).
 *
 * The index borrows the objects (no references taken): they must outlive it.
 */
#ifndef SPOKE_MODEL_OBJECTS_H
#define SPOKE_MODEL_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/json_path.h"

struct object_ref {
    const char *ns;    /* "" for cluster-scoped objects */
    const char *name;  /* metadata.name */
    const char *group; /* EndpointSlices: the kubernetes.io/service-name label, else "" */
    json_t *obj;
};

/* Sorted by ns, group, name. */
struct object_list {
    struct object_ref *items;
    size_t n;
};

struct object_index {
    struct object_list ingress_classes, ingresses, services, endpoint_slices, secrets;
};

/* Indexes the JSON arrays (any may be NULL: no objects). Objects without
 * metadata.name are ignored. */
void object_index_build(struct object_index *ix, json_t *ingress_classes, json_t *ingresses,
                        json_t *services, json_t *endpoint_slices, json_t *secrets);
void object_index_free(struct object_index *ix);

/* The object ns/name of a list (ns NULL or "" for cluster-scoped), or NULL. */
json_t *object_list_get(const struct object_list *l, const char *ns, const char *name);

/* The EndpointSlices of Service ns/service: *first is set to the first one;
 * returns how many follow contiguously in ix->endpoint_slices.items. */
size_t object_index_slices(const struct object_index *ix, const char *ns, const char *service,
                           size_t *first);

#endif
