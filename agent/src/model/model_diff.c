/* model_diff.c - see model_diff.h. Both models are sorted, so every list is
 * compared in one merge pass. */
#include "model/model_diff.h"

#include <stdlib.h>
#include <string.h>

#include "model/build.h"

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool canary_equal(const struct model_canary *a, const struct model_canary *b)
{
    return str_eq(a->ingress, b->ingress) && str_eq(a->backend, b->backend) &&
           a->weight == b->weight && a->total == b->total && str_eq(a->header, b->header) &&
           str_eq(a->header_value, b->header_value) &&
           str_eq(a->header_pattern, b->header_pattern) && str_eq(a->cookie, b->cookie);
}

bool model_route_equal(const struct model_route *a, const struct model_route *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a->id, b->id) == 0 && str_eq(a->host, b->host) && a->wildcard == b->wildcard &&
           str_eq(a->path, b->path) && a->type == b->type && str_eq(a->backend, b->backend) &&
           str_eq(a->ingress, b->ingress) && a->is_default == b->is_default &&
           a->ssl_redirect == b->ssl_redirect && str_eq(a->rewrite_target, b->rewrite_target) &&
           str_eq(a->app_root, b->app_root) &&
           str_eq(a->permanent_redirect, b->permanent_redirect) &&
           a->timeout_server_ms == b->timeout_server_ms && a->spoe == b->spoe &&
           canary_equal(&a->canary, &b->canary);
}

static bool profile_equal(const struct model_profile *a, const struct model_profile *b)
{
    return a->protocol == b->protocol && a->balance == b->balance &&
           a->cookie_affinity == b->cookie_affinity;
}

static bool endpoint_equal(const struct model_endpoint *a, const struct model_endpoint *b)
{
    return str_eq(a->address, b->address) && a->port == b->port && a->ready == b->ready &&
           a->serving == b->serving && a->terminating == b->terminating && a->state == b->state;
}

bool model_backend_equal(const struct model_backend *a, const struct model_backend *b)
{
    if (!str_eq(a->id, b->id) || !str_eq(a->service, b->service) ||
        a->service_port != b->service_port || !str_eq(a->port_name, b->port_name) ||
        !profile_equal(&a->profile, &b->profile) || a->external != b->external ||
        a->n_endpoints != b->n_endpoints)
        return false;
    for (size_t i = 0; i < a->n_endpoints; i++)
        if (!endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
            return false;
    return true;
}

static bool tls_equal(const struct model_tls *a, const struct model_tls *b)
{
    return str_eq(a->host, b->host) && str_eq(a->secret, b->secret) &&
           str_eq(a->ingress, b->ingress) && a->secret_ok == b->secret_ok;
}

static bool default_equal(const struct model_ingress_default *a,
                          const struct model_ingress_default *b)
{
    return str_eq(a->ingress, b->ingress) && str_eq(a->backend, b->backend);
}

static bool problem_equal(const struct model_problem *a, const struct model_problem *b)
{
    return str_eq(a->kind, b->kind) && str_eq(a->object, b->object) &&
           str_eq(a->message, b->message);
}

static const struct routing_model empty_model;

static bool routes_equal(const struct routing_model *a, const struct routing_model *b)
{
    if (a->n_routes != b->n_routes || !model_route_equal(a->default_route, b->default_route))
        return false;
    for (size_t i = 0; i < a->n_routes; i++)
        if (!model_route_equal(&a->routes[i], &b->routes[i]))
            return false;
    return true;
}

static bool tls_list_equal(const struct routing_model *a, const struct routing_model *b)
{
    if (a->n_tls != b->n_tls)
        return false;
    for (size_t i = 0; i < a->n_tls; i++)
        if (!tls_equal(&a->tls[i], &b->tls[i]))
            return false;
    return true;
}

static bool defaults_equal(const struct routing_model *a, const struct routing_model *b)
{
    if (a->n_defaults != b->n_defaults)
        return false;
    for (size_t i = 0; i < a->n_defaults; i++)
        if (!default_equal(&a->defaults[i], &b->defaults[i]))
            return false;
    return true;
}

static bool ingresses_equal(const struct routing_model *a, const struct routing_model *b)
{
    if (a->n_ingresses != b->n_ingresses)
        return false;
    for (size_t i = 0; i < a->n_ingresses; i++)
        if (strcmp(a->ingresses[i], b->ingresses[i]) != 0)
            return false;
    return true;
}

static bool problems_equal(const struct routing_model *a, const struct routing_model *b)
{
    if (a->n_problems != b->n_problems)
        return false;
    for (size_t i = 0; i < a->n_problems; i++)
        if (!problem_equal(&a->problems[i], &b->problems[i]))
            return false;
    return true;
}

void model_diff(const struct routing_model *old, const struct routing_model *new_model,
                struct model_diff *d)
{
    const struct routing_model *a = old ? old : &empty_model, *b = new_model;
    memset(d, 0, sizeof(*d));
    d->routes = !routes_equal(a, b);
    d->tls = !tls_list_equal(a, b);
    d->defaults = !defaults_equal(a, b);
    d->ingresses = !ingresses_equal(a, b);
    d->problems = !problems_equal(a, b);
    size_t i = 0, j = 0;
    while (i < a->n_backends || j < b->n_backends) {
        int c = i == a->n_backends   ? 1
                : j == b->n_backends ? -1
                                     : strcmp(a->backends[i].id, b->backends[j].id);
        if (c < 0) {
            *MODEL_VEC_PUSH(d->removed, d->n_removed) = a->backends[i++].id;
        } else if (c > 0) {
            *MODEL_VEC_PUSH(d->added, d->n_added) = b->backends[j++].id;
        } else {
            if (!model_backend_equal(&a->backends[i], &b->backends[j]))
                *MODEL_VEC_PUSH(d->changed, d->n_changed) = b->backends[j].id;
            i++;
            j++;
        }
    }
}

void model_diff_free(struct model_diff *d)
{
    free(d->added);
    free(d->removed);
    free(d->changed);
    memset(d, 0, sizeof(*d));
}

bool model_diff_empty(const struct model_diff *d)
{
    return !d->routes && !d->tls && !d->defaults && !d->ingresses && !d->problems &&
           d->n_added == 0 && d->n_removed == 0 && d->n_changed == 0;
}

bool model_equal(const struct routing_model *a, const struct routing_model *b)
{
    struct model_diff d;
    model_diff(a, b, &d);
    bool same = model_diff_empty(&d);
    model_diff_free(&d);
    return same;
}
