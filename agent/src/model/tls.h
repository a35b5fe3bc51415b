/*
 * tls.h - TLS bindings from the spec.tls of the Ingresses we serve: which
 * certificate (Secret) answers which SNI host.
 *
 * Each spec.tls entry binds each of its hosts (or "" when it lists none:
 * the default certificate) to the Secret secretName in the Ingress's
 * namespace (or to the default certificate when secretName is empty).
 * A Secret that is missing or has no tls.crt / tls.key is reported; the
 * binding stays, flagged, so the certificate code keeps serving the last
 * good certificate or the default one. Two Ingresses binding one host to
 * different Secrets: the oldest Ingress wins (then namespace/name), the
 * other is reported.
 */
#ifndef SPOKE_MODEL_TLS_H
#define SPOKE_MODEL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model/build.h"

struct tls_candidate {
    const char *host, *secret, *ingress, *created;
    size_t seq;
    bool secret_ok;
};

struct tls_candidates {
    struct tls_candidate *items;
    size_t n;
};

/* Adds the spec.tls entries of one Ingress (ingress_key "ns/name",
 * created its creationTimestamp, comparable as a string). */
void tls_collect(struct build *b, struct tls_candidates *c, const json_t *ingress,
                 const char *ingress_key, const char *created);

/* Resolves conflicts into b->m->tls (sorted by host) and frees c. */
void tls_resolve(struct build *b, struct tls_candidates *c);

/* Whether a route on host (as in model_route.host) has a TLS binding: the
 * same host, or a wildcard binding covering it. "" never has. */
bool tls_covers(const struct routing_model *m, const char *host);

#endif
