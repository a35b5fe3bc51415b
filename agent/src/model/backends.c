/* backends.c - see backends.h. */
#include "model/backends.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/names.h"
#include "model/objects.h"

const char *backend_ref_from_json(const json_t *backend, const char *ns, struct backend_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    ref->ns = ns;
    const json_t *svc = json_object_get(backend, "service");
    if (!json_is_object(svc))
        return json_object_get(backend, "resource") ? "resource backends are not supported"
                                                    : "backend has no service";
    ref->service = json_string_value(json_object_get(svc, "name"));
    const json_t *port = json_object_get(svc, "port");
    const json_t *number = json_object_get(port, "number");
    const char *name = json_string_value(json_object_get(port, "name"));
    if (!ref->service || !*ref->service)
        return "backend service has no name";
    if (json_is_integer(number)) {
        ref->port_number = (long)json_integer_value(number);
        if (ref->port_number < 1 || ref->port_number > 65535)
            return "backend service port number is not in 1..65535";
    } else if (name && *name) {
        ref->port_name = name;
    } else {
        return "backend service has no port number or name";
    }
    return NULL;
}

const char *backend_ref_parse(const char *text, char *buf, size_t buflen, struct backend_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    if (!text || strlen(text) >= buflen)
        return "must be namespace/name:port";
    strcpy(buf, text);
    char *slash = strchr(buf, '/'), *colon = strrchr(buf, ':');
    if (!slash || !colon || colon < slash || slash == buf || colon == slash + 1 || !colon[1])
        return "must be namespace/name:port";
    *slash = *colon = '\0';
    ref->ns = buf;
    ref->service = slash + 1;
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (*end == '\0') {
        if (n < 1 || n > 65535)
            return "port number is not in 1..65535";
        ref->port_number = n;
    } else {
        ref->port_name = colon + 1;
    }
    if (!names_is_dns_label(ref->ns))
        return "namespace is not a valid name";
    return NULL;
}

static bool is_tcp(const json_t *port)
{
    const char *proto = json_string_value(json_object_get(port, "protocol"));
    return !proto || strcmp(proto, "TCP") == 0;
}

/* The Service port ref points at, or NULL. */
static const json_t *find_service_port(const json_t *svc, const struct backend_ref *ref)
{
    const json_t *ports = json_path(svc, "spec.ports");
    size_t i;
    const json_t *p;
    json_array_foreach(ports, i, p)
    {
        if (!is_tcp(p))
            continue;
        const char *name = json_string_value(json_object_get(p, "name"));
        if (ref->port_name ? (name && strcmp(name, ref->port_name) == 0)
                           : json_integer_value(json_object_get(p, "port")) == ref->port_number)
            return p;
    }
    return NULL;
}

static bool get_bool(const json_t *obj, const char *key, bool dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static enum model_endpoint_state endpoint_state(const struct model_endpoint *e)
{
    if (e->ready)
        return MODEL_ENDPOINT_UP;
    if (e->serving && e->terminating)
        return MODEL_ENDPOINT_DRAIN;
    return MODEL_ENDPOINT_DOWN;
}

static int cmp_endpoint(const void *pa, const void *pb)
{
    const struct model_endpoint *a = pa, *b = pb;
    int c = strcmp(a->address, b->address);
    if (c == 0)
        c = (a->port > b->port) - (a->port < b->port);
    if (c == 0) /* best state first, so the dedup below keeps it */
        c = (int)a->state - (int)b->state;
    return c;
}

static bool valid_ip(const char *type, const char *addr)
{
    unsigned char buf[16];
    int af = strcmp(type, "IPv6") == 0 ? AF_INET6 : AF_INET;
    return inet_pton(af, addr, buf) == 1;
}

/* The endpoints of Service ns/svc for the Service port named port_name. */
static void add_slice_endpoints(struct build *b, struct model_backend *be, const char *ns,
                                const char *svc, const char *port_name)
{
    size_t first, n = object_index_slices(b->ix, ns, svc, &first);
    for (size_t s = first; s < first + n; s++) {
        const json_t *slice = b->ix->endpoint_slices.items[s].obj;
        const char *type = json_string_value(json_object_get(slice, "addressType"));
        if (!type || (strcmp(type, "IPv4") != 0 && strcmp(type, "IPv6") != 0))
            continue;
        long port = 0;
        size_t i;
        const json_t *p, *ep;
        json_array_foreach(json_object_get(slice, "ports"), i, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            if (is_tcp(p) && strcmp(name ? name : "", port_name) == 0) {
                port = (long)json_integer_value(json_object_get(p, "port"));
                break;
            }
        }
        if (port < 1 || port > 65535)
            continue;
        json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
        {
            const char *addr =
                json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
            if (!addr || !valid_ip(type, addr))
                continue;
            const json_t *cond = json_object_get(ep, "conditions");
            struct model_endpoint *e = MODEL_VEC_PUSH(be->endpoints, be->n_endpoints);
            e->address = model_strdup(b->m, addr);
            e->port = (int)port;
            e->ready = get_bool(cond, "ready", true);
            e->serving = get_bool(cond, "serving", e->ready);
            e->terminating = get_bool(cond, "terminating", false);
            e->state = endpoint_state(e);
        }
    }
    if (be->n_endpoints == 0)
        return;
    qsort(be->endpoints, be->n_endpoints, sizeof(*be->endpoints), cmp_endpoint);
    size_t out = 1;
    for (size_t i = 1; i < be->n_endpoints; i++) {
        const struct model_endpoint *prev = &be->endpoints[out - 1], *cur = &be->endpoints[i];
        if (strcmp(prev->address, cur->address) == 0 && prev->port == cur->port)
            continue;
        be->endpoints[out++] = *cur;
    }
    be->n_endpoints = out;
}

const char *backend_resolve(struct build *b, const struct backend_ref *ref, const char *kind,
                            const char *object)
{
    char q[MODEL_QUOTE_SIZE], port_text[96];
    if (ref->port_name)
        snprintf(port_text, sizeof(port_text), "port \"%s\"", model_quote(ref->port_name, q));
    else
        snprintf(port_text, sizeof(port_text), "port %ld", ref->port_number);
    if (!names_is_dns1035_label(ref->service)) {
        build_problem(b, kind, object, "backend Service name \"%s\" is not valid",
                      model_quote(ref->service, q));
        return NULL;
    }
    if (ref->port_name && !names_is_port_name(ref->port_name)) {
        build_problem(b, kind, object, "backend Service %s/%s: %s is not a valid port name",
                      ref->ns, ref->service, port_text);
        return NULL;
    }
    const json_t *svc = object_list_get(&b->ix->services, ref->ns, ref->service);
    if (!svc) {
        build_problem(b, kind, object, "backend Service %s/%s not found", ref->ns, ref->service);
        return NULL;
    }
    const char *type = json_path_str(svc, "spec.type");
    bool external = type && strcmp(type, "ExternalName") == 0;
    const char *external_name = external ? json_path_str(svc, "spec.externalName") : NULL;
    if (external && (!external_name || !names_is_dns_subdomain(external_name))) {
        build_problem(b, kind, object, "Service %s/%s: externalName \"%s\" is not a valid DNS name",
                      ref->ns, ref->service, model_quote(external_name, q));
        return NULL;
    }
    const json_t *sp = find_service_port(svc, ref);
    long number = ref->port_number;
    if (sp)
        number = (long)json_integer_value(json_object_get(sp, "port"));
    if ((!sp && !(external && !ref->port_name)) || number < 1 || number > 65535) {
        build_problem(b, kind, object, "backend Service %s/%s has no %s", ref->ns, ref->service,
                      port_text);
        return NULL;
    }
    const char *port_name = sp ? json_string_value(json_object_get(sp, "name")) : NULL;

    char id[256];
    if (model_profile_is_default(&ref->profile)) {
        snprintf(id, sizeof(id), "%s_%s_%ld", ref->ns, ref->service, number);
    } else {
        char pname[64];
        snprintf(id, sizeof(id), "%s_%s_%ld_%s", ref->ns, ref->service, number,
                 model_profile_name(&ref->profile, pname, sizeof(pname)));
    }
    size_t idx = build_strmap_get(&b->backends, id);
    if (idx != (size_t)-1)
        return b->m->backends[idx].id;

    idx = b->m->n_backends;
    struct model_backend *be = MODEL_VEC_PUSH(b->m->backends, b->m->n_backends);
    be->id = model_strdup(b->m, id);
    be->service = model_printf(b->m, "%s/%s", ref->ns, ref->service);
    be->service_port = (int)number;
    be->port_name = model_strdup(b->m, port_name ? port_name : "");
    be->profile = ref->profile;
    be->external = external;
    if (external) {
        struct model_endpoint *e = MODEL_VEC_PUSH(be->endpoints, be->n_endpoints);
        e->address = model_strdup(b->m, external_name);
        e->port = (int)number;
        e->ready = e->serving = true;
        e->state = MODEL_ENDPOINT_UP;
    } else {
        add_slice_endpoints(b, be, ref->ns, ref->service, be->port_name);
    }
    build_strmap_put(&b->backends, be->id, idx);
    return be->id;
}
