/* ingress_status.c - see ingress_status.h. */
#include "kube/ingress_status.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_path.h"
#include "util/log.h"

/* One PATCH in flight per Ingress key; later differences wait for the next
 * update, which compares with the store again. */
struct inflight {
    struct inflight *next, **pprev;
    char *key;
    struct kube_req *req;
};

struct ingress_status {
    struct kube_http *http;
    json_t *addresses; /* from --publish-address, or NULL */
    char *service_ns, *service_name;
    char **was_served;
    size_t n_was_served;
    struct inflight *inflight; /* list */
    unsigned long patches;
};

static json_t *parse_addresses(const char *list)
{
    json_t *arr = json_array();
    char *copy = strdup(list);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        unsigned char buf[16];
        int ip = inet_pton(AF_INET, tok, buf) == 1 || inet_pton(AF_INET6, tok, buf) == 1;
        json_array_append_new(arr, json_pack("{s:s}", ip ? "ip" : "hostname", tok));
    }
    free(copy);
    return arr;
}

struct ingress_status *ingress_status_new(struct kube_http *http, const char *publish_address,
                                          const char *publish_service)
{
    struct ingress_status *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->http = http;
    if (publish_address)
        s->addresses = parse_addresses(publish_address);
    if (publish_service) {
        const char *slash = strchr(publish_service, '/');
        if (slash) {
            s->service_ns = strndup(publish_service, (size_t)(slash - publish_service));
            s->service_name = strdup(slash + 1);
        }
    }
    return s;
}

static void drop_inflight(struct inflight *f)
{
    *f->pprev = f->next;
    if (f->next)
        f->next->pprev = f->pprev;
    free(f->key);
    free(f);
}

void ingress_status_free(struct ingress_status *s)
{
    if (!s)
        return;
    while (s->inflight) {
        kube_req_cancel(s->inflight->req);
        drop_inflight(s->inflight);
    }
    for (size_t i = 0; i < s->n_was_served; i++)
        free(s->was_served[i]);
    free(s->was_served);
    json_decref(s->addresses);
    free(s->service_ns);
    free(s->service_name);
    free(s);
}

/* Appends {"ip": A} for each string A of a JSON array. */
static void append_ips(json_t *out, const json_t *ips)
{
    size_t i;
    json_t *e;
    json_array_foreach(ips, i, e)
    {
        if (json_is_string(e))
            json_array_append_new(out, json_pack("{s:s}", "ip", json_string_value(e)));
    }
}

/* The address a NodePort is reached on: the Node's ExternalIP, else its
 * InternalIP; NULL when it has neither. */
static const char *node_address(const json_t *node)
{
    static const char *const prefer[] = {"ExternalIP", "InternalIP"};
    const json_t *addrs = json_path(node, "status.addresses");
    for (size_t p = 0; p < 2; p++) {
        size_t i;
        const json_t *a;
        json_array_foreach(addrs, i, a)
        {
            const char *type = json_string_value(json_object_get(a, "type"));
            const char *addr = json_string_value(json_object_get(a, "address"));
            if (type && addr && strcmp(type, prefer[p]) == 0)
                return addr;
        }
    }
    return NULL;
}

struct node_walk {
    const char *ns, *service;
    struct store *nodes;
    json_t *seen; /* address -> true, sorted output */
};

/* For each ready endpoint of the Service's EndpointSlices, its Node. */
static int visit_slice(void *ud, json_t *slice)
{
    struct node_walk *w = ud;
    const char *svc = json_string_value(
        json_object_get(json_path(slice, "metadata.labels"), "kubernetes.io/service-name"));
    if (!svc || strcmp(json_obj_ns(slice), w->ns) != 0 || strcmp(svc, w->service) != 0)
        return 0;
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
    {
        const char *node = json_string_value(json_object_get(ep, "nodeName"));
        if (!node || json_is_false(json_path(ep, "conditions.ready")))
            continue;
        const char *addr = node_address(store_get(w->nodes, NULL, node));
        if (addr)
            json_object_set_new(w->seen, addr, json_true());
    }
    return 0;
}

/* A NodePort Service is reached on the nodes that run its Pods, as
 * ingress-nginx reports it: their addresses, sorted. */
static json_t *node_port_addresses(const struct ingress_status *s,
                                   const struct ingress_status_stores *st)
{
    json_t *out = json_array();
    if (!st->endpoint_slices || !st->nodes)
        return out;
    struct node_walk w = {s->service_ns, s->service_name, st->nodes, json_object()};
    store_foreach(st->endpoint_slices, visit_slice, &w);
    const char *addr;
    json_t *v;
    json_object_foreach(w.seen, addr, v)
    {
        json_array_append_new(out, json_pack("{s:s}", "ip", addr));
    }
    json_decref(w.seen);
    return out;
}

static int by_ip(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "ip"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "ip"));
    return strcmp(x ? x : "", y ? y : "");
}

/* Sorts an array of {"ip": ...} objects (json_object_foreach is unordered). */
static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **items = calloc(n + 1, sizeof(*items));
    if (!items)
        abort();
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof(*items), by_ip);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, items[i]);
    free(items);
    json_decref(arr);
    return out;
}

json_t *ingress_status_wanted(const struct ingress_status *s,
                              const struct ingress_status_stores *st)
{
    if (s->addresses)
        return json_incref(s->addresses);
    if (!s->service_name)
        return NULL;
    json_t *svc = st->services ? store_get(st->services, s->service_ns, s->service_name) : NULL;
    if (!svc)
        return json_array();
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_path(svc, "status.loadBalancer.ingress"), i, e)
    {
        json_t *o = json_object();
        const char *ip = json_string_value(json_object_get(e, "ip"));
        const char *host = json_string_value(json_object_get(e, "hostname"));
        if (ip)
            json_object_set_new(o, "ip", json_string(ip));
        if (host)
            json_object_set_new(o, "hostname", json_string(host));
        json_array_append_new(out, o);
    }
    if (json_array_size(out) == 0)
        append_ips(out, json_path(svc, "spec.externalIPs"));
    const char *type = json_path_str(svc, "spec.type");
    if (json_array_size(out) == 0 && type && strcmp(type, "NodePort") == 0) {
        json_decref(out);
        out = sorted(node_port_addresses(s, st));
    }
    return out;
}

static int is_inflight(const struct ingress_status *s, const char *key)
{
    for (const struct inflight *f = s->inflight; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return 1;
    return 0;
}

static void patch_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)len;
    struct inflight *f = ud;
    if (status >= 200 && status < 300)
        log_info("status", "Ingress %s: status.loadBalancer updated", f->key);
    else
        log_warn("status", "Ingress %s: status update failed (%ld): %.200s", f->key, status,
                 err ? err : body);
    drop_inflight(f);
}

static void send_patch(struct ingress_status *s, const char *key, json_t *wanted)
{
    if (is_inflight(s, key))
        return;
    const char *slash = strchr(key, '/');
    if (!slash)
        return;
    char path[1024];
    snprintf(path, sizeof(path), "/apis/networking.k8s.io/v1/namespaces/%.*s/ingresses/%s/status",
             (int)(slash - key), key, slash + 1);
    json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "loadBalancer", "ingress", wanted);
    char *body = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    struct inflight *f = calloc(1, sizeof(*f));
    if (!f || !(f->key = strdup(key)))
        abort();
    f->req = kube_http_request(s->http, "PATCH", path, "application/merge-patch+json", body, 30,
                               patch_done, f);
    free(body);
    if (!f->req) {
        free(f->key);
        free(f);
        return;
    }
    f->next = s->inflight;
    if (f->next)
        f->next->pprev = &f->next;
    f->pprev = &s->inflight;
    s->inflight = f;
    s->patches++;
}

/* Patches key's status if it differs from wanted. */
static void reconcile_one(struct ingress_status *s, struct store *ingresses, const char *key,
                          json_t *wanted)
{
    const char *slash = strchr(key, '/');
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - key) : 0, key);
    json_t *ing = store_get(ingresses, ns, slash ? slash + 1 : key);
    if (!ing)
        return;
    json_t *have = json_path(ing, "status.loadBalancer.ingress");
    int same = json_array_size(wanted) == 0 ? json_array_size(have) == 0 : json_equal(have, wanted);
    if (!same)
        send_patch(s, key, wanted);
}

static int in_list(const char *const *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

void ingress_status_update(struct ingress_status *s, const char *const *served, size_t n_served,
                           const struct ingress_status_stores *st)
{
    struct store *ingresses = st->ingresses;
    json_t *wanted = ingress_status_wanted(s, st);
    if (!wanted)
        return;
    for (size_t i = 0; i < n_served; i++)
        reconcile_one(s, ingresses, served[i], wanted);
    json_t *empty = json_array();
    for (size_t i = 0; i < s->n_was_served; i++)
        if (!in_list(served, n_served, s->was_served[i]))
            reconcile_one(s, ingresses, s->was_served[i], empty);
    json_decref(empty);
    json_decref(wanted);
    for (size_t i = 0; i < s->n_was_served; i++)
        free(s->was_served[i]);
    free(s->was_served);
    s->was_served = calloc(n_served + 1, sizeof(char *));
    if (!s->was_served)
        abort();
    for (size_t i = 0; i < n_served; i++)
        s->was_served[i] = strdup(served[i]);
    s->n_was_served = n_served;
}

unsigned long ingress_status_patches(const struct ingress_status *s)
{
    return s->patches;
}
