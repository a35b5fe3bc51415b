/*
 * backends.h - from an Ingress backend reference to a model_backend: the
 * Service, its port (by number or by name), and the endpoints that serve it.
 *
 * Port resolution, as kube-proxy does it:
 *  - the Ingress names a Service port by number (spec.ports[].port) or by
 *    name (spec.ports[].name); only TCP ports count;
 *  - the endpoints' port is the port of the same name (or the unnamed one)
 *    in each of the Service's EndpointSlices (label kubernetes.io/service-name),
 *    which already carries the resolved targetPort, numeric or named;
 *    a slice without that port contributes nothing.
 * Endpoints: IPv4 and IPv6 slices, the first address of each endpoint;
 * conditions default as the API documents them (ready: true when absent,
 * serving: same as ready, terminating: false); one address:port seen in two
 * slices is kept once with its best state.
 * ExternalName Services: one endpoint, spec.externalName with the port
 * number the Ingress asked for (or the named port's number), flagged external.
 */
#ifndef SPOKE_MODEL_BACKENDS_H
#define SPOKE_MODEL_BACKENDS_H

#include <jansson.h>

#include "model/build.h"
#include "model/model.h"

struct backend_ref {
    const char *ns;        /* namespace of the Ingress (or of the option) */
    const char *service;   /* Service name */
    const char *port_name; /* by name; NULL when by number */
    long port_number;      /* by number; 0 when by name */
    struct model_profile profile;
};

/* Reads an IngressBackend ({"service": {"name", "port": {"number"|"name"}}}).
 * Returns NULL when it could be read, else why not (resource backends are
 * not supported). The strings stay borrowed from backend. */
const char *backend_ref_from_json(const json_t *backend, const char *ns, struct backend_ref *ref);

/* Reads "namespace/name:port" (port a number or a name). NULL or why not. */
const char *backend_ref_parse(const char *text, char *buf, size_t buflen, struct backend_ref *ref);

/* The id of the model backend for ref, adding it to b->m when new; NULL
 * when the Service or the port does not exist, which is reported as a
 * problem of (kind, object). */
const char *backend_resolve(struct build *b, const struct backend_ref *ref, const char *kind,
                            const char *object);

#endif
