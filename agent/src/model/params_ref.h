/*
 * params_ref.h - which IngressParameters object the agent's IngressClass
 * names (spec.parameters: apiGroup spoke.dev, kind IngressParameters, and
 * scope Namespace with a namespace, or scope Cluster: then the agent's own
 * namespace, since IngressParameters is a namespaced kind).
 */
#ifndef SPOKE_MODEL_PARAMS_REF_H
#define SPOKE_MODEL_PARAMS_REF_H

#include <stddef.h>

#include <jansson.h>

#include "kube/store.h"

enum params_ref_result {
    PARAMS_REF_NONE,    /* no class of ours, or it names no parameters */
    PARAMS_REF_FOUND,   /* *obj is the object (borrowed from the store) */
    PARAMS_REF_MISSING, /* the named object does not exist (yet) */
    PARAMS_REF_INVALID, /* the reference is not one the agent can follow */
};

/* key gets "ns/name" for FOUND and MISSING; problem a reason for INVALID.
 * own_ns: the agent's namespace (for scope Cluster; NULL = "default"). */
enum params_ref_result params_ref_find(struct store *classes, struct store *params,
                                       const char *class_name, const char *own_ns, json_t **obj,
                                       char *key, size_t keylen, char *problem, size_t plen);

#endif
