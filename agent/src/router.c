/* router.c - see router.h. */
#include "router.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "haproxy/config_render.h"
#include "haproxy/master_cli.h"
#include "haproxy/reconciler.h"
#include "haproxy/runtime_api.h"
#include "haproxy/supervisor.h"
#include "kube/events.h"
#include "kube/ingress_status.h"
#include "kube/leader.h"
#include "spoe/auth_stats.h"
#include "spoe/ext_auth.h"
#include "spoe/policy.h"
#include "spoe/spoe_server.h"
#include "util/dns_cache.h"
#include "model/error_pages_cm.h"
#include "model/routes.h"
#include "params_sync.h"
#include "util/log.h"

struct router {
    struct ev_loop *loop;
    struct kube_cache *cache;
    const struct options *opts;
    char state_dir[4096], socket[4200], cfg_path[4200];
    struct runtime_api *api;
    struct reconciler *rec;
    struct haproxy_supervisor *sup;
    struct ingress_status *status;
    struct spoe_server *spoe;
    struct ext_auth *ext_auth; /* spoke.dev/auth-url calls */
    char spoe_addr[4300];
    char own_ns[256];              /* the agent's namespace (ConfigMaps of errorPages) */
    struct auth_stats *auth_stats; /* allows and denies per Ingress (metrics) */
    ev_timer resync;
    struct metrics *metrics;
    struct leader *leader;
    struct dns_cache *dns; /* ExternalName Services */
    struct event_recorder *events;
    struct params_sync *params; /* IngressParameters */
    unsigned long models;
    size_t last_routes, last_problems;
    char **problems; /* "Kind object: message" of the last model, sorted */
    size_t n_problems;
};

static char *problem_text(const struct model_problem *p)
{
    char *s;
    if (asprintf(&s, "%s %s: %s", p->kind, p->object, p->message) < 0)
        abort();
    return s;
}

static int contains(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static void free_problems(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Problems of one model build: the model's and the auth policies'. */
struct problem_list {
    char **v;
    size_t n, cap;
};

static void add_problem(struct problem_list *l, char *text)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(char *));
        if (!l->v)
            abort();
    }
    l->v[l->n++] = text;
}

static void on_policy_problem(void *ud, const char *ingress, const char *message)
{
    char *s;
    if (asprintf(&s, "Ingress %s: %s", ingress, message) < 0)
        abort();
    add_problem(ud, s);
}

/* A Kubernetes Event for a problem "Ingress NS/NAME: message" (the leader
 * only, when there is an election: replicas would repeat each other). */
static void record_event(struct router *r, const char *text)
{
    if (!r->events || strncmp(text, "Ingress ", 8) != 0 ||
        (r->leader && !leader_is_leader(r->leader)))
        return;
    const char *obj = text + 8, *slash = strchr(obj, '/'), *colon = strstr(obj, ": ");
    if (!slash || !colon || slash > colon)
        return;
    char ns[256], name[256];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - obj), obj);
    snprintf(name, sizeof(name), "%.*s", (int)(colon - slash - 1), slash + 1);
    const char *msg = colon + 2;
    const char *reason = strstr(msg, "annotation")       ? "InvalidAnnotation"
                         : strstr(msg, "Secret")         ? "SecretProblem"
                         : strstr(msg, "Service")        ? "ServiceProblem"
                         : strstr(msg, "already served") ? "Conflict"
                                                         : "InvalidIngress";
    json_t *ing = store_get(kube_cache_store(r->cache, &KUBE_INGRESSES), ns, name);
    const char *uid = json_string_value(json_object_get(json_object_get(ing, "metadata"), "uid"));
    event_record(r->events, "Ingress", "networking.k8s.io/v1", ns, name, uid, "Warning", reason,
                 msg);
}

/* Logs problems that appeared (warn, and an Event) and went away (info),
 * once each. */
static void report_problems(struct router *r, struct problem_list *now)
{
    for (size_t i = 0; i < now->n; i++)
        if (!contains(r->problems, r->n_problems, now->v[i])) {
            log_warn("router", "%s", now->v[i]);
            record_event(r, now->v[i]);
        }
    for (size_t i = 0; i < r->n_problems; i++)
        if (!contains(now->v, now->n, r->problems[i]))
            log_info("router", "resolved: %s", r->problems[i]);
    free_problems(r->problems, r->n_problems);
    r->problems = now->v;
    r->n_problems = now->n;
}

static void on_haproxy_started(void *ud, unsigned restarts)
{
    struct router *r = ud;
    if (restarts > 0 && r->rec) {
        log_info("router", "HAProxy restarted: pushing the routing again");
        reconciler_resync(r->rec);
    }
}

static int absolute_state_dir(const char *dir, char *out, size_t len)
{
    if (dir[0] == '/') {
        snprintf(out, len, "%s", dir);
        return 0;
    }
    char cwd[2048];
    if (!getcwd(cwd, sizeof(cwd)))
        return -1;
    snprintf(out, len, "%s/%s", cwd, dir);
    return 0;
}

static void on_dns_change(void *ud)
{
    router_update(ud);
}

static size_t resolve(void *ud, const char *name, char (*addrs)[64], size_t max)
{
    return dns_cache_lookup(ud, name, addrs, max);
}

static void on_resync(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct router *r = w->data;
    if (kube_cache_synced(r->cache))
        router_update(r);
}

static int reload_managed(void *ud, char *err, size_t errlen)
{
    return haproxy_supervisor_reload(ud, err, errlen);
}

static int reload_attached(void *ud, char *err, size_t errlen)
{
    const struct router *r = ud;
    return master_cli_reload(r->opts->master_socket, r->opts->haproxy_bin, r->cfg_path, err,
                             errlen);
}

struct router *router_new(struct ev_loop *loop, const struct options *opts,
                          struct kube_cache *cache, struct kube_http *http)
{
    struct router *r = calloc(1, sizeof(*r));
    char err[512];
    if (!r)
        abort();
    r->loop = loop;
    r->cache = cache;
    r->opts = opts;
    ev_timer_init(&r->resync, on_resync, 30.0, 30.0);
    r->resync.data = r;
    r->status = ingress_status_new(http, opts->publish_address, opts->publish_service);
    r->events = event_recorder_new(http, "spoke", getenv("POD_NAME"));
    if (absolute_state_dir(opts->state_dir, r->state_dir, sizeof(r->state_dir)) < 0) {
        log_error("router", "cannot resolve --state-dir %s", opts->state_dir);
        goto fail;
    }
    if (mkdir(r->state_dir, 0755) < 0 && errno != EEXIST) {
        log_error("router", "cannot create --state-dir %s: %s", r->state_dir, strerror(errno));
        goto fail;
    }
    snprintf(r->cfg_path, sizeof(r->cfg_path), "%s/haproxy.cfg", r->state_dir);
    if (opts->haproxy_socket)
        snprintf(r->socket, sizeof(r->socket), "%s", opts->haproxy_socket);
    else
        snprintf(r->socket, sizeof(r->socket), "%s/admin.sock", r->state_dir);

    struct runtime_api_config rc;
    runtime_api_config_defaults(&rc);
    rc.address = r->socket;
    r->api = runtime_api_new(loop, &rc, err, sizeof(err));
    if (!r->api) {
        log_error("router", "--haproxy-socket %s: %s", r->socket, err);
        goto fail;
    }
    if (opts->spoe_listen)
        snprintf(r->spoe_addr, sizeof(r->spoe_addr), "%s", opts->spoe_listen);
    else
        snprintf(r->spoe_addr, sizeof(r->spoe_addr), "unix@%s/spoe.sock", r->state_dir);
    struct haproxy_render_params params = {
        .state_dir = r->state_dir,
        .spoe_addr = r->spoe_addr,
        .haproxy_metrics = opts->haproxy_metrics,
        .bind_addr = opts->bind_address,
        .http_port = opts->http_port,
        .https_port = opts->https_port,
    };
    r->rec = reconciler_new(loop, r->api, &params, (unsigned)opts->pool_size, err, sizeof(err));
    if (r->rec) {
        /* The SPOE responder, with the workers of the parameters last
         * applied (params.json), and an idle timeout above the largest
         * spoe.timeouts.idle allowed, so HAProxy always closes first. */
        const struct ingress_params *ip = reconciler_params(r->rec);
        struct spoe_server_config sc;
        spoe_server_config_init(&sc);
        sc.listen = r->spoe_addr;
        sc.workers = ip->spoe.workers ? ip->spoe.workers : (unsigned)opts->spoe_workers;
        sc.idle_timeout = PARAMS_SPOE_IDLE_MAX_MS / 1000.0 + 30;
        sc.decide = policy_decide;
        r->auth_stats = auth_stats_new();
        r->ext_auth = ext_auth_new(err, sizeof(err));
        if (!r->ext_auth) {
            log_error("router", "external auth: %s", err);
            goto fail;
        }
        r->spoe = spoe_server_start(&sc, err, sizeof(err));
        if (!r->spoe) {
            log_error("router", "--spoe-listen %s: %s", r->spoe_addr, err);
            goto fail;
        }
        log_info("router", "SPOE responder on %s (%u workers)", r->spoe_addr, sc.workers);
        r->params = params_sync_new(r->rec, http, opts->default_cert, (unsigned)opts->pool_size,
                                    sc.workers);
        r->dns = dns_cache_new(loop, 30.0, on_dns_change, r);
        reconciler_set_resolver(r->rec, resolve, r->dns);
        reconciler_set_secrets(r->rec, kube_cache_store(cache, &KUBE_SECRETS));
        reconciler_set_default_cert(r->rec,
                                    ip->default_cert[0] ? ip->default_cert : opts->default_cert);
    }
    if (!r->rec || reconciler_write_config(r->rec, err, sizeof(err)) < 0) {
        log_error("router", "state directory %s: %s", r->state_dir, err);
        goto fail;
    }
    log_info("router", "state directory %s, HAProxy runtime API %s", r->state_dir, r->socket);
    if (opts->manage_haproxy) {
        r->sup = haproxy_supervisor_start(loop, opts->haproxy_bin, r->cfg_path, on_haproxy_started,
                                          r, err, sizeof(err));
        if (!r->sup) {
            log_error("router", "%s", err);
            goto fail;
        }
        reconciler_set_reload(r->rec, reload_managed, r->sup);
    } else if (opts->master_socket) {
        reconciler_set_reload(r->rec, reload_attached, r);
        log_info("router", "attached mode: HAProxy must run %s; reloads through its master CLI %s",
                 r->cfg_path, opts->master_socket);
    } else {
        log_info("router",
                 "attached mode: HAProxy must run %s; no --haproxy-master-socket, so pools "
                 "cannot grow",
                 r->cfg_path);
    }
    ev_timer_start(loop, &r->resync);
    return r;
fail:
    router_free(r);
    return NULL;
}

/* --default-backend-service NS/NAME without a port: the Service's first
 * port (80 while the Service does not exist: the model reports it missing). */
static const char *default_backend(struct router *r, char *buf, size_t len)
{
    const char *opt = r->opts->default_backend;
    if (!opt || strchr(opt, ':'))
        return opt;
    const char *slash = strchr(opt, '/');
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - opt), opt);
    json_t *svc = store_get(kube_cache_store(r->cache, &KUBE_SERVICES), ns, slash + 1);
    json_t *port = json_object_get(
        json_array_get(json_object_get(json_object_get(svc, "spec"), "ports"), 0), "port");
    snprintf(buf, len, "%s:%lld", opt, json_is_integer(port) ? json_integer_value(port) : 80);
    return buf;
}

void router_metrics_sources(const struct router *r, struct metrics_sources *src)
{
    src->rec = r->rec;
    src->api = r->api;
    src->spoe = r->spoe;
    src->auth = r->auth_stats;
    src->status = r->status;
    src->problems = &r->n_problems;
}

static void on_pass(void *ud, double seconds, bool ok)
{
    struct router *r = ud;
    (void)ok;
    if (r->metrics)
        metrics_observe_reconcile(r->metrics, seconds);
}

void router_set_leader(struct router *r, struct leader *l)
{
    r->leader = l;
}

void router_set_namespace(struct router *r, const char *ns)
{
    params_sync_set_namespace(r->params, ns);
    snprintf(r->own_ns, sizeof(r->own_ns), "%s", ns && ns[0] ? ns : "default");
}

struct page_problems {
    struct problem_list *list;
    const char *object;
};

static void on_error_page_problem(void *ud, const char *message)
{
    struct page_problems *pp = ud;
    char *s;
    if (asprintf(&s, "IngressParameters %s: %s", pp->object, message) < 0)
        abort();
    add_problem(pp->list, s);
}

/* spec.errorPages: the ConfigMap's bodies to the reconciler (a change costs
 * one reload). The ConfigMap is read in the agent's namespace only (the
 * informer watches no other): parameters elsewhere get spoke's pages and a
 * problem saying so. */
static void update_error_pages(struct router *r, const struct ingress_params *ip,
                               struct problem_list *problems)
{
    struct error_pages pages = {0};
    const char *object = params_sync_object(r->params);
    struct page_problems pp = {problems, object};
    if (ip->error_pages[0]) {
        const char *slash = strchr(object, '/');
        size_t ns_len = slash ? (size_t)(slash - object) : 0;
        json_t *cm =
            store_get(kube_cache_store(r->cache, &KUBE_CONFIGMAPS), r->own_ns, ip->error_pages);
        char msg[600];
        if (ns_len != strlen(r->own_ns) || strncmp(object, r->own_ns, ns_len) != 0) {
            snprintf(msg, sizeof(msg),
                     "errorPages: ConfigMaps are read in the agent's namespace %s only; spoke's "
                     "pages are served",
                     r->own_ns);
            on_error_page_problem(&pp, msg);
        } else if (!cm) {
            snprintf(msg, sizeof(msg),
                     "errorPages: ConfigMap %s/%s not found; spoke's pages are served", r->own_ns,
                     ip->error_pages);
            on_error_page_problem(&pp, msg);
        } else {
            error_pages_from_configmap(cm, &pages, on_error_page_problem, &pp);
        }
    }
    reconciler_set_error_pages(r->rec, &pages);
}

void router_set_metrics(struct router *r, struct metrics *m)
{
    r->metrics = m;
    reconciler_set_on_pass(r->rec, on_pass, r);
}

void router_update(struct router *r)
{
    char default_buf[600];
    const bool leading = !r->leader || leader_is_leader(r->leader);
    const struct ingress_params *ip = params_sync_update(
        r->params, kube_cache_store(r->cache, &KUBE_INGRESSCLASSES),
        kube_cache_store(r->cache, &KUBE_INGRESSPARAMETERS), r->opts->ingress_class, leading);
    struct model_input in = {
        .ingress_classes = kube_cache_store(r->cache, &KUBE_INGRESSCLASSES),
        .ingresses = kube_cache_store(r->cache, &KUBE_INGRESSES),
        .services = kube_cache_store(r->cache, &KUBE_SERVICES),
        .endpoint_slices = kube_cache_store(r->cache, &KUBE_ENDPOINTSLICES),
        .secrets = kube_cache_store(r->cache, &KUBE_SECRETS),
        .class_name = r->opts->ingress_class,
        .default_backend = default_backend(r, default_buf, sizeof(default_buf)),
    };
    const struct model_defaults defaults = {.balance = ip->balance,
                                            .no_ssl_redirect = !ip->ssl_redirect};
    struct routing_model *m = model_build_with(&in, &defaults);
    r->models++;
    if (m->n_routes != r->last_routes || m->n_problems != r->last_problems)
        log_info("router", "model: %zu routes, %zu backends, %zu problems", m->n_routes,
                 m->n_backends, m->n_problems);
    struct problem_list problems = {0};
    for (size_t i = 0; i < m->n_problems; i++)
        add_problem(&problems, problem_text(&m->problems[i]));
    if (r->spoe) {
        struct policy_set *ps =
            policy_set_build(m, in.ingresses, in.secrets, time(NULL), on_policy_problem, &problems);
        policy_set_use_ext_auth(ps, r->ext_auth);
        policy_set_use_auth_stats(ps, r->auth_stats);
        spoe_server_publish(r->spoe, ps, policy_set_release);
    }
    update_error_pages(r, ip, &problems);
    report_problems(r, &problems);
    r->last_routes = m->n_routes;
    r->last_problems = m->n_problems;
    if (leading) {
        const struct ingress_status_stores st = {
            .ingresses = in.ingresses,
            .services = in.services,
            .endpoint_slices = in.endpoint_slices,
            .nodes = kube_cache_store(r->cache, &KUBE_NODES),
        };
        ingress_status_update(r->status, m->ingresses, m->n_ingresses, &st);
    }
    reconciler_apply(r->rec, m);
}

void router_free(struct router *r)
{
    if (!r)
        return;
    ev_timer_stop(r->loop, &r->resync);
    ingress_status_free(r->status);
    params_sync_free(r->params);
    event_recorder_free(r->events);
    /* The API first: its pending callbacks see -ECANCELED and touch nothing. */
    runtime_api_free(r->api);
    reconciler_free(r->rec);
    haproxy_supervisor_stop(r->sup, (double)r->opts->shutdown_grace_seconds);
    spoe_server_stop(r->spoe);
    ext_auth_free(r->ext_auth); /* after the SPOE server: no decision starts now */
    auth_stats_free(r->auth_stats);
    dns_cache_free(r->dns);
    free_problems(r->problems, r->n_problems);
    free(r);
}

void router_debug_handler(void *ud, const char *query, struct admin_response *resp)
{
    (void)query;
    struct router *r = ud;
    const struct reconciler_stats *s = reconciler_stats(r->rec);
    json_t *doc =
        json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "synced", s->synced,
                  "models", (json_int_t)r->models, "passes", (json_int_t)s->passes, "failed",
                  (json_int_t)s->failed, "commands", (json_int_t)s->commands, "map_commits",
                  (json_int_t)s->map_commits, "reloads", (json_int_t)s->reloads, "unplaced",
                  (json_int_t)s->unplaced, "routes", (json_int_t)r->last_routes, "haproxy_pid",
                  r->sup ? (int)haproxy_supervisor_pid(r->sup) : 0);
    resp->body = json_dumps(doc, JSON_INDENT(1));
    resp->len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "application/json";
    json_decref(doc);
}
