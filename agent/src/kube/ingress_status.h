/*
 * ingress_status.h - writes status.loadBalancer.ingress of the Ingresses the
 * agent serves, so `kubectl get ingress` shows where they are reachable.
 *
 * The addresses come from --publish-address (a comma-separated list of IPs
 * and host names) or from the load-balancer status of --publish-service
 * NS/NAME: its status.loadBalancer.ingress, else its spec.externalIPs, else
 * for a NodePort Service the addresses (ExternalIP, else InternalIP) of the
 * Nodes that run its ready endpoints, as ingress-nginx reports them.
 * Each Ingress whose status differs from the wanted one gets a JSON merge
 * patch of its /status subresource; an Ingress the agent stopped serving
 * (class changed) gets its list emptied. Level-triggered: called after every
 * model build, it compares with the store, so a failed patch is retried at
 * the next change or the periodic resync.
 */
#ifndef SPOKE_INGRESS_STATUS_H
#define SPOKE_INGRESS_STATUS_H

#include <stddef.h>

#include <jansson.h>

#include "kube/http.h"
#include "kube/store.h"

struct ingress_status;

/* publish_address or publish_service (or neither: then nothing is written). */
struct ingress_status *ingress_status_new(struct kube_http *http, const char *publish_address,
                                          const char *publish_service);
void ingress_status_free(struct ingress_status *s);

/* What the status is computed from; any store may be NULL (no objects).
 * nodes is only watched with a --publish-service. */
struct ingress_status_stores {
    struct store *ingresses, *services, *endpoint_slices, *nodes;
};

/* served: "namespace/name" of the Ingresses of our class, sorted. */
void ingress_status_update(struct ingress_status *s, const char *const *served, size_t n_served,
                           const struct ingress_status_stores *st);

/* The wanted loadBalancer.ingress array (new reference; NULL when nothing is
 * published), for tests. */
json_t *ingress_status_wanted(const struct ingress_status *s,
                              const struct ingress_status_stores *st);

unsigned long ingress_status_patches(const struct ingress_status *s);

#endif
