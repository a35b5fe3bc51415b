/*
 * routes.h - the entry point of the model: Kubernetes objects in, a
 * routing_model (model.h) out. Pure: no I/O, no clock, no randomness; the
 * same objects always give an equal model.
 *
 * What it does (Kubernetes networking.k8s.io/v1 semantics, DESIGN.md):
 *  - selects the Ingresses of our class (ingress_class.h);
 *  - turns each rule's host and each path into a route (hosts lowercased,
 *    paths normalized, names.h); rules from several Ingresses merge;
 *  - a conflict (same host, same normalized path, same match type, where
 *    ImplementationSpecific counts as Prefix) goes to the oldest Ingress
 *    (creationTimestamp, then namespace/name; within one Ingress the first
 *    rule); the others are reported;
 *  - the backend of a route is the Service port it names (backends.h); a
 *    missing Service or port is reported and the route stays, unavailable:
 *    it answers 503 rather than letting its requests fall through to some
 *    other route;
 *  - spec.defaultBackend: an Ingress with rules gets, for each host of its
 *    rules, an implicit Prefix "/" route to it (when no rule of any Ingress
 *    has Prefix "/" on that host; between Ingresses the oldest wins; for
 *    host-less rules that is a host-less "/", which catches all); an
 *    Ingress without rules sets the default route, taken when no route
 *    matches at all (the oldest such Ingress wins); without one, the
 *    controller's default backend (option); without that, 404;
 *  - TLS bindings (tls.h); a route whose host has a TLS binding redirects
 *    HTTP to HTTPS unless spoke.dev/ssl-redirect says "false";
 *  - annotations (annotations.h) on every route of their Ingress;
 *  - a canary Ingress (canary.h) makes no route: each of its rules joins
 *    the route of the same host, path and match type as its canary (the
 *    oldest canary wins); one without such a route, or with invalid canary
 *    annotations, is reported and serves nothing.
 * Everything that cannot be honoured is a model_problem; it never stops the
 * rest.
 */
#ifndef SPOKE_MODEL_ROUTES_H
#define SPOKE_MODEL_ROUTES_H

#include <jansson.h>

#include "kube/store.h"
#include "model/model.h"

/* From the informers' stores (any store may be NULL: no objects). */
/* Class-wide defaults from IngressParameters (zero: the built-in ones). */
struct model_defaults {
    enum model_balance balance; /* Ingresses without a valid spoke.dev/load-balance */
    bool no_ssl_redirect;       /* sslRedirect false: no implicit HTTP -> HTTPS */
};

struct model_input {
    struct store *ingress_classes, *ingresses, *services, *endpoint_slices, *secrets;
    const char *class_name;      /* NULL: "spoke" */
    const char *default_backend; /* "namespace/name:port" (port number or name), or NULL */
};

/* The same from plain JSON arrays of objects (any may be NULL). */
struct model_objects {
    json_t *ingress_classes, *ingresses, *services, *endpoint_slices, *secrets;
    const char *class_name;
    const char *default_backend;
};

/* Never NULL (allocation failure aborts). Free with model_free. */
struct routing_model *model_build(const struct model_input *in);
struct routing_model *model_build_objects(const struct model_objects *in);
/* The same with class-wide defaults (NULL = the built-in ones). */
struct routing_model *model_build_with(const struct model_input *in,
                                       const struct model_defaults *defaults);
struct routing_model *model_build_objects_with(const struct model_objects *in,
                                               const struct model_defaults *defaults);

#endif
