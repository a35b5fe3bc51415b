/*
 * resources.h - the API resources the agent watches and how to address them.
 */
#ifndef SPOKE_RESOURCES_H
#define SPOKE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

struct kube_resource {
    const char *group; /* "" for core */
    const char *version;
    const char *plural;
    const char *kind;
    bool namespaced;
};

extern const struct kube_resource KUBE_INGRESSES;
extern const struct kube_resource KUBE_INGRESSCLASSES;
extern const struct kube_resource KUBE_SERVICES;
extern const struct kube_resource KUBE_ENDPOINTSLICES;
extern const struct kube_resource KUBE_SECRETS;
extern const struct kube_resource KUBE_INGRESSPARAMETERS;
extern const struct kube_resource KUBE_NODES; /* only with a --publish-service */
/* In the agent's own namespace only: IngressParameters spec.errorPages. */
extern const struct kube_resource KUBE_CONFIGMAPS;

/* "/api/v1" or "/apis/GROUP/VERSION" + ["/namespaces/NS"] + "/PLURAL"
 * (namespace NULL or "" = all namespaces, or the kind is cluster-scoped).
 * Returns the length written, or -1 when buf is too small. */
int kube_resource_path(const struct kube_resource *r, const char *ns, char *buf, size_t len);

#endif
