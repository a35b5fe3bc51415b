/*
 * model.h - the routing model: what HAProxy should serve, computed from the
 * Kubernetes objects (routes.h builds it) and read by everything downstream:
 * map_render.h (the routes map), the backend slot code (backends and their
 * endpoints), the certificate code (TLS bindings), the SPOE responder (routes
 * by id) and the status writer (served Ingresses).
 *
 * A model is immutable once built and owns every string it points to. Every
 * array is sorted (see each field), so two models built from the same
 * objects are equal field by field (model_diff.h).
 *
 * Allocation failure aborts, as in util/strbuf.h.
 */
#ifndef SPOKE_MODEL_H
#define SPOKE_MODEL_H

#include <stdbool.h>
#include <stddef.h>

enum model_path_type {
    MODEL_PATH_EXACT,
    MODEL_PATH_PREFIX,
    /* Matched exactly like Prefix here (docs/routing.md); kept apart so the
     * model says what the Ingress wrote. */
    MODEL_PATH_IMPL_SPECIFIC,
};

/* Settings HAProxy can only change by reload: the backend pool a Service
 * lands in (DESIGN.md "Zero reload, honestly"). */
enum model_protocol { MODEL_PROTO_HTTP, MODEL_PROTO_H2, MODEL_PROTO_HTTPS };
enum model_balance {
    MODEL_BALANCE_ROUNDROBIN,
    MODEL_BALANCE_LEASTCONN,
    MODEL_BALANCE_SOURCE,
    MODEL_BALANCE_RANDOM,
};

struct model_profile {
    enum model_protocol protocol; /* spoke.dev/backend-protocol */
    enum model_balance balance;   /* spoke.dev/load-balance */
    bool cookie_affinity;         /* spoke.dev/affinity: cookie */
};

/* A canary alternative of a route: a second Ingress for the same host, path
 * and match type with spoke.dev/canary: "true" (model/canary.h). The SPOE
 * responder picks it per request: header, then cookie, then weight. */
struct model_canary {
    const char *ingress;        /* "namespace/name" of the canary Ingress; NULL: no canary */
    const char *backend;        /* model_backend id (never NULL when ingress is set) */
    unsigned weight, total;     /* weight/total of the other requests; 0 <= weight <= total */
    const char *header;         /* canary-by-header name; NULL: none */
    const char *header_value;   /* exact value; NULL: none */
    const char *header_pattern; /* POSIX ERE (checked, canary.h); NULL: none */
    const char *cookie;         /* canary-by-cookie name; NULL: none */
};

/* "r" + 16 hex digits + NUL. */
#define MODEL_ROUTE_ID_SIZE 18

struct model_route {
    /* Stable across rebuilds: a hash of host, path and match type, so the
     * same rule keeps its id whichever Ingress owns it. */
    char id[MODEL_ROUTE_ID_SIZE];
    const char *host; /* lowercase; "" = any host; "*.example.com" if wildcard */
    bool wildcard;
    const char *path; /* normalized (names.h): Prefix paths without trailing '/' */
    enum model_path_type type;
    const char *backend; /* model_backend id; NULL: unavailable, answers 503 */
    const char *ingress; /* "namespace/name" of the owner; "" for the controller default */
    bool is_default;     /* made from a defaultBackend, not from a rule */
    /* Per-route behaviour from spoke.dev/ annotations (annotations.h). */
    bool ssl_redirect;              /* HTTP -> HTTPS, 308 */
    const char *rewrite_target;     /* NULL: none */
    const char *app_root;           /* NULL: none; only on routes with path "/" */
    const char *permanent_redirect; /* NULL: none */
    unsigned timeout_server_ms;     /* 0: HAProxy's default */
    bool spoe;                      /* ask the SPOE responder (auth annotations) */
    struct model_canary canary;     /* canary.ingress NULL: none */
};

enum model_endpoint_state {
    MODEL_ENDPOINT_UP,    /* ready: receives traffic */
    MODEL_ENDPOINT_DRAIN, /* terminating but still serving: no new traffic */
    MODEL_ENDPOINT_DOWN,  /* neither */
};

struct model_endpoint {
    const char *address; /* IP address; DNS name for ExternalName */
    int port;
    bool ready, serving, terminating; /* EndpointSlice conditions, defaults applied */
    enum model_endpoint_state state;
};

/* One per Service port (and profile) that a route actually references. */
struct model_backend {
    const char *id;        /* "ns_service_port[_profile]", safe as an HAProxy name */
    const char *service;   /* "namespace/name" */
    int service_port;      /* the Service port number */
    const char *port_name; /* that port's name, "" when unnamed */
    struct model_profile profile;
    bool external;                    /* ExternalName: one endpoint, a DNS name */
    struct model_endpoint *endpoints; /* sorted by address, port */
    size_t n_endpoints;
};

/* A certificate to present for SNI host, from an Ingress's spec.tls. */
struct model_tls {
    const char *host;    /* lowercase, maybe "*.x"; "" = no hosts listed (default cert) */
    const char *secret;  /* "namespace/name"; NULL: secretName empty, default cert */
    const char *ingress; /* owner */
    bool secret_ok;      /* the Secret exists and has tls.crt and tls.key */
};

/* An Ingress's spec.defaultBackend (which may be unavailable: backend NULL). */
struct model_ingress_default {
    const char *ingress;
    const char *backend;
};

/* Something that could not be honoured; the rest of the model is unaffected. */
struct model_problem {
    const char *kind;    /* "Ingress", "IngressClass", "Option" */
    const char *object;  /* "namespace/name", class name or option name */
    const char *message; /* English, printable ASCII, bounded */
};

struct model_arena;

struct routing_model {
    struct model_route *routes; /* sorted by host, path, type */
    size_t n_routes;
    struct model_route *default_route; /* no rule matched; NULL: 404 */
    struct model_backend *backends;    /* sorted by id */
    size_t n_backends;
    struct model_tls *tls; /* sorted by host */
    size_t n_tls;
    struct model_ingress_default *defaults; /* sorted by ingress */
    size_t n_defaults;
    const char **ingresses; /* "namespace/name" of every Ingress of our class, sorted */
    size_t n_ingresses;
    struct model_problem *problems; /* sorted by kind, object, message; unique */
    size_t n_problems;
    struct model_arena *arena; /* private: the strings */
};

void model_free(struct routing_model *m);

/* Lookups by binary search; NULL when absent. */
const struct model_backend *model_find_backend(const struct routing_model *m, const char *id);

/* In an array of n elements of size bytes sorted by a route id (a
 * char[MODEL_ROUTE_ID_SIZE] member at id_offset, strcmp order), the one
 * whose id is the len bytes at id (any bytes, as HAProxy sent them), or
 * NULL. */
const void *model_route_id_find(const void *base, size_t n, size_t size, size_t id_offset,
                                const char *id, size_t len);
const struct model_tls *model_find_tls(const struct routing_model *m, const char *host);

/* "Exact", "Prefix", "ImplementationSpecific". */
const char *model_path_type_name(enum model_path_type t);
/* The type a path is matched as: IMPL_SPECIFIC -> PREFIX. */
enum model_path_type model_path_match_type(enum model_path_type t);
/* "http-roundrobin", "h2-leastconn-cookie", ...: names a backend pool. */
const char *model_profile_name(const struct model_profile *p, char *buf, size_t len);
bool model_profile_is_default(const struct model_profile *p);

#endif
