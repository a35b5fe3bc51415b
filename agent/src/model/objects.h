/*
 * objects.h - the model's view of its input: the Kubernetes objects of each
 * kind, indexed for lookup by namespace/name, EndpointSlices grouped by the
 * Service they belong to, plus small helpers to read JSON fields.
 *
 * The index borrows the objects (no references taken): they must outlive it.
 */
#ifndef SPOKE_MODEL_OBJECTS_H
#define SPOKE_MODEL_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

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

/* JSON helpers. path is dot-separated object keys ("spec.ingressClassName");
 * keys that contain dots (annotations) need json_object_get. NULL when any
 * step is missing or of the wrong type. */
json_t *json_path(const json_t *root, const char *path);
const char *json_path_str(const json_t *root, const char *path);
/* An annotation's string value, or NULL. */
const char *json_annotation(const json_t *obj, const char *key);
/* metadata.namespace ("" when absent) and metadata.name ("" when absent). */
const char *json_obj_ns(const json_t *obj);
const char *json_obj_name(const json_t *obj);

#endif
