/* resources.c - the API resources the agent watches and their URL paths (see resources.h). */
#include "kube/resources.h"

#include <stdio.h>

const struct kube_resource KUBE_INGRESSES = {"networking.k8s.io", "v1", "ingresses", "Ingress",
                                             true};
const struct kube_resource KUBE_INGRESSCLASSES = {"networking.k8s.io", "v1", "ingressclasses",
                                                  "IngressClass", false};
const struct kube_resource KUBE_SERVICES = {"", "v1", "services", "Service", true};
const struct kube_resource KUBE_ENDPOINTSLICES = {"discovery.k8s.io", "v1", "endpointslices",
                                                  "EndpointSlice", true};
const struct kube_resource KUBE_SECRETS = {"", "v1", "secrets", "Secret", true};
const struct kube_resource KUBE_INGRESSPARAMETERS = {"spoke.dev", "v1alpha1", "ingressparameters",
                                                     "IngressParameters", true};

int kube_resource_path(const struct kube_resource *r, const char *ns, char *buf, size_t len)
{
    const bool core = !r->group || !r->group[0];
    const bool in_ns = r->namespaced && ns && ns[0];
    int n = snprintf(buf, len, "%s%s/%s%s%s/%s", core ? "/api" : "/apis/", core ? "" : r->group,
                     r->version, in_ns ? "/namespaces/" : "", in_ns ? ns : "", r->plural);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return n;
}
const struct kube_resource KUBE_NODES = {"", "v1", "nodes", "Node", false};
const struct kube_resource KUBE_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", true};
