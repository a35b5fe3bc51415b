/*
 * agent.c - wires the parts together on one libev loop: the kubeconfig, the
 * API client, the cache of watched objects, the admin server, and the
 * signals that stop it all. Everything allocated here is freed on the way
 * out, so LeakSanitizer and valgrind see a clean exit.
 */
#include "agent.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>

#include "admin/admin_server.h"
#include "admin/debug_store.h"
#include "admin/metrics.h"
#include "kube/cache.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/leader.h"
#include "router.h"
#include "util/log.h"

struct agent {
    struct ev_loop *loop;
    const struct options *opts;
    struct kube_config cfg;
    struct kube_http *http;
    struct kube_cache *cache;
    struct admin_server *admin;
    struct router *router; /* NULL with --watch-only */
    struct metrics *metrics;
    struct admin_server *metrics_server; /* --metrics-listen */
    ev_signal sigterm, sigint;
    struct leader *leader; /* NULL without leader election */
    char identity[320];
    ev_timer release_timer; /* bounds the wait for the Lease release on SIGTERM */
    ev_timer drain_timer;   /* --shutdown-drain-seconds */
    int stopping;
    bool released, drained; /* the loop stops when both are true */
};

static void on_cache_change(void *ud, unsigned long events)
{
    struct agent *a = ud;
    log_info("agent", "cache changed (%lu events): %zu ingresses, %zu services, %zu endpointslices",
             events, store_count(kube_cache_store(a->cache, &KUBE_INGRESSES)),
             store_count(kube_cache_store(a->cache, &KUBE_SERVICES)),
             store_count(kube_cache_store(a->cache, &KUBE_ENDPOINTSLICES)));
    if (a->router)
        router_update(a->router);
}

/* The loop stops once the Lease is given up and the drain is over. */
static void maybe_stop(struct agent *a)
{
    if (a->released && a->drained)
        ev_break(a->loop, EVBREAK_ALL);
}

static void on_released(void *ud)
{
    struct agent *a = ud;
    ev_timer_stop(a->loop, &a->release_timer);
    a->released = true;
    maybe_stop(a);
}

static void on_release_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    on_released(w->data);
}

static void on_drained(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent *a = w->data;
    log_info("agent", "drain over: stopping");
    a->drained = true;
    maybe_stop(a);
}

/* SIGTERM/SIGINT: /readyz fails at once, so the Service (and the load
 * balancers behind it) stop sending new connections here, while HAProxy
 * keeps serving for --shutdown-drain-seconds; a leader gives its Lease up
 * meanwhile (so another replica takes over at once). Then the loop stops
 * and HAProxy finishes in-flight requests (router_free). A second signal
 * stops at once. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct agent *a = w->data;
    const char *name = w->signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (a->stopping) {
        log_info("agent", "received %s again: stopping now", name);
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    a->stopping = 1;
    if (a->metrics)
        metrics_set_shutting_down(a->metrics);
    int drain = a->router ? a->opts->shutdown_drain_seconds : 0;
    if (drain > 0)
        log_info("agent",
                 "received %s: not ready any more, serving %d s more while this Pod is "
                 "removed from its Service",
                 name, drain);
    else
        log_info("agent", "received %s, stopping", name);
    a->drained = drain == 0;
    if (drain > 0) {
        ev_timer_init(&a->drain_timer, on_drained, (double)drain, 0.);
        a->drain_timer.data = a;
        ev_timer_start(loop, &a->drain_timer);
    }
    a->released = !a->leader;
    if (a->leader) {
        ev_timer_init(&a->release_timer, on_release_timeout, 6., 0.);
        a->release_timer.data = a;
        ev_timer_start(loop, &a->release_timer);
        leader_release(a->leader, on_released, a);
    }
    maybe_stop(a);
}

static void on_started_leading(void *ud)
{
    struct agent *a = ud;
    if (a->router)
        router_update(a->router);
}

static int load_config(const struct options *opts, struct kube_config *cfg)
{
    char err[512];
    int rc;
    if (opts->context && !opts->kubeconfig) {
        log_error("agent", "--context needs --kubeconfig");
        return -1;
    }
    if (opts->context)
        rc = kube_config_from_file(opts->kubeconfig, opts->context, cfg, err, sizeof(err));
    else
        rc = kube_config_load(opts->kubeconfig, cfg, err, sizeof(err));
    if (rc < 0) {
        log_error("agent", "cannot load Kubernetes client configuration: %s", err);
        return -1;
    }
    log_info("agent", "API server %s (from %s)", cfg->server,
             cfg->source ? cfg->source : "kubeconfig");
    return 0;
}

static const struct admin_route *admin_routes(struct agent *a, size_t *n)
{
    static struct admin_route routes[6];
    size_t i = 0;
    routes[i++] = (struct admin_route){"/metrics", metrics_handler, a->metrics};
    routes[i++] = (struct admin_route){"/healthz", metrics_healthz_handler, a->metrics};
    routes[i++] = (struct admin_route){"/readyz", metrics_readyz_handler, a->metrics};
    routes[i++] = (struct admin_route){"/debug/store", debug_store_handler, a->cache};
    if (a->router)
        routes[i++] = (struct admin_route){"/debug/routing", router_debug_handler, a->router};
    if (a->leader)
        routes[i++] = (struct admin_route){"/debug/leader", leader_debug_handler, a->leader};
    *n = i;
    return routes;
}

static int agent_start(struct agent *a, const struct options *opts)
{
    a->opts = opts;
    if (load_config(opts, &a->cfg) < 0)
        return -1;
    a->http = kube_http_new(a->loop, &a->cfg);
    if (!a->http)
        return -1;
    a->cache = kube_cache_new(a->loop, a->http, opts->watch_namespace, opts->debounce_seconds,
                              on_cache_change, a);
    if (!a->cache)
        return -1;
    /* A NodePort --publish-service is reached on its Pods' Nodes. */
    if (opts->publish_service && !opts->watch_only &&
        kube_cache_add(a->cache, &KUBE_NODES, NULL) < 0)
        return -1;
    /* The agent's own namespace: its Lease, cluster-scoped parameters and
     * their error pages (the namespaced Role of the manifests). */
    const char *own_ns = opts->own_namespace                       ? opts->own_namespace
                         : a->cfg.namespace && a->cfg.namespace[0] ? a->cfg.namespace
                                                                   : "default";
    if (opts->leader_elect) {
        leader_default_identity(a->identity, sizeof(a->identity));
        const char *ns = opts->election_namespace ? opts->election_namespace : own_ns;
        const struct leader_config lc = {
            .namespace = ns,
            .name = opts->election_id,
            .identity = a->identity,
            .lease_duration = opts->lease_duration_seconds,
            .cb = {.on_started_leading = on_started_leading, .ud = a},
        };
        if (!(a->leader = leader_new(a->loop, a->http, &lc)))
            return -1;
    }
    if (!opts->watch_only && !(a->router = router_new(a->loop, opts, a->cache, a->http)))
        return -1;
    if (a->router) {
        router_set_leader(a->router, a->leader);
        router_set_namespace(a->router, own_ns);
        /* IngressParameters errorPages: ConfigMaps of the agent's namespace. */
        if (kube_cache_add(a->cache, &KUBE_CONFIGMAPS, own_ns) < 0)
            return -1;
    }
    struct metrics_sources src = {.cache = a->cache};
    if (a->router)
        router_metrics_sources(a->router, &src);
    a->metrics = metrics_new(&src);
    if (a->router)
        router_set_metrics(a->router, a->metrics);
    if (opts->metrics_listen) {
        /* Only the metrics and the probes: safe to expose on the Pod IP. */
        static struct admin_route probes[3];
        char err[256];
        size_t n;
        const struct admin_route *all = admin_routes(a, &n);
        memcpy(probes, all, sizeof(probes));
        a->metrics_server =
            admin_server_start(a->loop, opts->metrics_listen, probes, 3, err, sizeof(err));
        if (!a->metrics_server) {
            log_error("agent", "metrics server: %s", err);
            return -1;
        }
        log_info("agent", "metrics on %s (port %d)", opts->metrics_listen,
                 admin_server_port(a->metrics_server));
    }
    if (opts->admin_listen) {
        char err[256];
        size_t n;
        const struct admin_route *routes = admin_routes(a, &n);
        a->admin = admin_server_start(a->loop, opts->admin_listen, routes, n, err, sizeof(err));
        if (!a->admin) {
            log_error("agent", "admin server: %s", err);
            return -1;
        }
        log_info("agent", "admin server on %s (port %d)", opts->admin_listen,
                 admin_server_port(a->admin));
    }
    log_info("agent", "watching %s",
             opts->watch_namespace ? opts->watch_namespace : "all namespaces");
    kube_cache_start(a->cache);
    if (a->leader)
        leader_start(a->leader);
    return 0;
}

static void agent_stop(struct agent *a)
{
    admin_server_stop(a->admin);
    admin_server_stop(a->metrics_server);
    router_free(a->router);
    metrics_free(a->metrics);
    leader_free(a->leader);
    ev_timer_stop(a->loop, &a->release_timer);
    ev_timer_stop(a->loop, &a->drain_timer);
    kube_cache_free(a->cache);
    kube_http_free(a->http);
    kube_config_free(&a->cfg);
}

int agent_run(const struct options *opts)
{
    log_set_level(opts->log_level);
    log_set_format(opts->log_format);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("agent", "curl_global_init failed");
        return 1;
    }
    struct agent a = {.loop = ev_default_loop(EVFLAG_AUTO)};
    ev_signal_init(&a.sigterm, on_signal, SIGTERM);
    ev_signal_init(&a.sigint, on_signal, SIGINT);
    a.sigterm.data = a.sigint.data = &a;
    ev_signal_start(a.loop, &a.sigterm);
    ev_signal_start(a.loop, &a.sigint);

    int status = 1;
    if (agent_start(&a, opts) == 0) {
        ev_run(a.loop, 0);
        status = 0;
    }
    agent_stop(&a);
    ev_signal_stop(a.loop, &a.sigterm);
    ev_signal_stop(a.loop, &a.sigint);
    ev_loop_destroy(a.loop);
    curl_global_cleanup();
    log_info("agent", "stopped");
    return status;
}
