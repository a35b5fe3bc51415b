/* metrics.c - see metrics.h. */
#include "admin/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy/pools.h"
#include "haproxy/reconciler.h"
#include "haproxy/runtime_api.h"
#include "kube/cache.h"
#include "kube/informer.h"
#include "kube/ingress_status.h"
#include "spoe/auth_stats.h"
#include "spoe/spoe_server.h"
#include "version.h"

/* ---- the text writer ---------------------------------------------------- */

static void buf_char(struct strbuf *b, char c)
{
    strbuf_append(b, &c, 1);
}

/* HELP text escapes backslash and newline; label values also double quote. */
static void escape(struct strbuf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_puts(b, "\\\\");
        else if (*s == '\n')
            strbuf_puts(b, "\\n");
        else if (quote && *s == '"')
            strbuf_puts(b, "\\\"");
        else
            buf_char(b, *s);
    }
}

void prom_escape_label(struct strbuf *b, const char *value)
{
    escape(b, value, true);
}

void prom_family(struct strbuf *b, const char *name, const char *type, const char *help)
{
    strbuf_puts(b, "# HELP ");
    strbuf_puts(b, name);
    buf_char(b, ' ');
    escape(b, help, false);
    strbuf_puts(b, "\n# TYPE ");
    strbuf_puts(b, name);
    buf_char(b, ' ');
    strbuf_puts(b, type);
    buf_char(b, '\n');
}

/* The shortest of %.15g..%.17g that reads back as v; integers as integers. */
static void format_value(char *out, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(out, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (fabs(v) < 9e15 && v == (double)(long long)v) {
        snprintf(out, len, "%lld", (long long)v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* name{labels[,extra_name="extra_value"]} value */
static void sample(struct strbuf *b, const char *name, const char *suffix,
                   const char *const *labels, const char *extra_name, const char *extra_value,
                   double value)
{
    strbuf_puts(b, name);
    if (suffix)
        strbuf_puts(b, suffix);
    bool extra = extra_name && extra_value;
    bool any = (labels && labels[0]) || extra;
    if (any) {
        bool first = true;
        buf_char(b, '{');
        for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
            if (!first)
                buf_char(b, ',');
            first = false;
            strbuf_puts(b, labels[i]);
            strbuf_puts(b, "=\"");
            escape(b, labels[i + 1], true);
            buf_char(b, '"');
        }
        if (extra) {
            if (!first)
                buf_char(b, ',');
            strbuf_puts(b, extra_name);
            strbuf_puts(b, "=\"");
            escape(b, extra_value, true);
            buf_char(b, '"');
        }
        buf_char(b, '}');
    }
    char num[64];
    format_value(num, sizeof(num), value);
    buf_char(b, ' ');
    strbuf_puts(b, num);
    buf_char(b, '\n');
}

void prom_sample(struct strbuf *b, const char *name, const char *const *labels, double value)
{
    sample(b, name, NULL, labels, NULL, NULL, value);
}

void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->n = n > PROM_MAX_BUCKETS ? PROM_MAX_BUCKETS : n;
    memcpy(h->bounds, bounds, h->n * sizeof(double));
}

void prom_histogram_observe(struct prom_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->n && !(value <= h->bounds[i]))
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += value;
}

void prom_histogram_write(struct strbuf *b, const char *name, const char *help,
                          const char *const *labels, const struct prom_histogram *h)
{
    prom_family(b, name, "histogram", help);
    unsigned long long cumulative = 0;
    char le[64];
    for (size_t i = 0; i < h->n; i++) {
        cumulative += h->counts[i];
        format_value(le, sizeof(le), h->bounds[i]);
        sample(b, name, "_bucket", labels, "le", le, (double)cumulative);
    }
    sample(b, name, "_bucket", labels, "le", "+Inf", (double)h->count);
    sample(b, name, "_sum", labels, NULL, NULL, h->sum);
    sample(b, name, "_count", labels, NULL, NULL, (double)h->count);
}

/* ---- the agent's metrics ---------------------------------------------- */

struct metrics {
    struct metrics_sources src;
    struct prom_histogram reconcile;
    bool shutting_down; /* SIGTERM: not ready, so the Service drops this Pod */
};

static const double RECONCILE_BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10,   30};

struct metrics *metrics_new(const struct metrics_sources *src)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    if (src)
        m->src = *src;
    prom_histogram_init(&m->reconcile, RECONCILE_BOUNDS,
                        sizeof(RECONCILE_BOUNDS) / sizeof(RECONCILE_BOUNDS[0]));
    return m;
}

void metrics_set_sources(struct metrics *m, const struct metrics_sources *src)
{
    m->src = *src;
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_observe_reconcile(struct metrics *m, double seconds)
{
    if (m)
        prom_histogram_observe(&m->reconcile, seconds);
}

/* A counter or gauge without labels. */
static void scalar(struct strbuf *b, const char *name, const char *type, const char *help,
                   double value)
{
    prom_family(b, name, type, help);
    prom_sample(b, name, NULL, value);
}

enum informer_field { F_RESTARTS, F_RELISTS, F_EVENTS, F_ERRORS };

static double informer_value(const struct informer_stats *st, enum informer_field f)
{
    switch (f) {
    case F_RESTARTS: /* every WATCH after the first one */
        return st->watches > 0 ? (double)(st->watches - 1) : 0;
    case F_RELISTS:
        return (double)st->relists;
    case F_EVENTS:
        return (double)st->watch_events;
    case F_ERRORS:
        return (double)st->errors;
    }
    return 0;
}

static void write_cache(struct strbuf *b, const struct kube_cache *c)
{
    size_t n = kube_cache_count(c);
    prom_family(b, "spoke_objects", "gauge", "Objects in the agent's cache, per kind.");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = {"kind", informer_resource(kube_cache_informer(c, i))->kind, NULL};
        prom_sample(b, "spoke_objects", labels, (double)store_count(kube_cache_store_at(c, i)));
    }
    static const struct {
        const char *name, *help;
        enum informer_field field;
    } families[] = {
        {"spoke_watch_restarts_total", "WATCH requests started after the first one, per kind.",
         F_RESTARTS},
        {"spoke_relists_total", "LISTs after the first one (410 Gone, errors), per kind.",
         F_RELISTS},
        {"spoke_watch_events_total", "Watch events applied to the cache, per kind.", F_EVENTS},
        {"spoke_api_errors_total", "Failed API server requests and malformed streams, per kind.",
         F_ERRORS},
    };
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        prom_family(b, families[f].name, "counter", families[f].help);
        for (size_t i = 0; i < n; i++) {
            const struct informer *inf = kube_cache_informer(c, i);
            const char *labels[] = {"kind", informer_resource(inf)->kind, NULL};
            prom_sample(b, families[f].name, labels,
                        informer_value(informer_stats(inf), families[f].field));
        }
    }
    scalar(b, "spoke_cache_synced", "gauge", "1 once every watched kind has been listed, else 0.",
           kube_cache_synced(c) ? 1 : 0);
}

/* Pool backends per profile: slots a Service holds, and free ones (a
 * profile that runs out grows with a reload). */
static void write_slots(struct strbuf *b, const struct pools *p)
{
    prom_family(b, "spoke_backend_slots", "gauge",
                "Pool backends declared in haproxy.cfg, by profile and state (used, free).");
    for (size_t i = 0; i < pools_n_profiles(p); i++) {
        unsigned used = 0, n = pools_size(p, i);
        for (unsigned j = 0; j < n; j++)
            used += pools_slot_owner(p, i, j) != NULL;
        const char *u[] = {"profile", pools_profile(p, i), "state", "used", NULL};
        const char *f[] = {"profile", pools_profile(p, i), "state", "free", NULL};
        prom_sample(b, "spoke_backend_slots", u, (double)used);
        prom_sample(b, "spoke_backend_slots", f, (double)(n - used));
    }
}

static void write_reconciler(struct strbuf *b, const struct metrics *m)
{
    const struct reconciler_stats *s = reconciler_stats(m->src.rec);
    scalar(b, "spoke_reconcile_passes_total", "counter",
           "Reconcile passes that pushed a routing model into HAProxy.", (double)s->passes);
    scalar(b, "spoke_reconcile_failures_total", "counter",
           "Reconcile passes that hit an error (they are retried).", (double)s->failed);
    scalar(b, "spoke_reconcile_synced", "gauge",
           "1 when the last routing model is fully applied to HAProxy, else 0.", s->synced ? 1 : 0);
    prom_histogram_write(b, "spoke_reconcile_duration_seconds", "Duration of reconcile passes.",
                         NULL, &m->reconcile);
    prom_family(b, "spoke_haproxy_reloads_total", "counter", "HAProxy reloads, by reason.");
    for (int i = 0; i < RELOAD_REASONS; i++) {
        const char *reason[] = {"reason", reload_reason_name((enum reload_reason)i), NULL};
        prom_sample(b, "spoke_haproxy_reloads_total", reason, (double)s->reloads_by[i]);
    }
    scalar(b, "spoke_routes", "gauge",
           "Routes (host, path) in HAProxy's routes map, from the last model applied.",
           (double)s->routes);
    write_slots(b, reconciler_pools(m->src.rec));
    scalar(b, "spoke_routes_map_commits_total", "counter",
           "Versions of the routes map committed to HAProxy.", (double)s->map_commits);
    scalar(b, "spoke_backends_unplaced", "gauge",
           "Backends without a pool slot in the last reconcile pass.", (double)s->unplaced);
}

static void write_problems(struct strbuf *b, const size_t *problems)
{
    scalar(b, "spoke_ingress_problems", "gauge",
           "Problems that keep part of an Ingress (or an option) from being served, as logged "
           "and reported as Events.",
           (double)*problems);
}

static void write_runtime_api(struct strbuf *b, const struct runtime_api *api)
{
    struct runtime_api_stats s;
    runtime_api_get_stats(api, &s);
    scalar(b, "spoke_haproxy_runtime_commands_total", "counter",
           "HAProxy runtime API commands completed (answered or failed).",
           (double)(s.answered + s.failed));
    scalar(b, "spoke_haproxy_runtime_errors_total", "counter",
           "HAProxy runtime API commands that failed (timeout, connection lost).",
           (double)s.failed);
    scalar(b, "spoke_haproxy_runtime_connects_total", "counter",
           "Connections to the HAProxy runtime API.", (double)s.connects);
}

static void write_spoe(struct strbuf *b, const struct spoe_server *srv)
{
    struct spoe_server_stats s;
    spoe_server_stats(srv, &s);
    scalar(b, "spoke_spoe_connections", "gauge", "SPOE connections from HAProxy open now.",
           (double)s.connections_open);
    scalar(b, "spoke_spoe_connections_accepted_total", "counter", "SPOE connections accepted.",
           (double)s.connections);
    prom_family(b, "spoke_spoe_frames_total", "counter", "SPOE frames, by direction.");
    const char *in[] = {"direction", "in", NULL}, *out[] = {"direction", "out", NULL};
    prom_sample(b, "spoke_spoe_frames_total", in, (double)s.frames_in);
    prom_sample(b, "spoke_spoe_frames_total", out, (double)s.frames_out);
    scalar(b, "spoke_spoe_errors_total", "counter",
           "SPOE protocol errors, slow readers and refused connections.", (double)s.errors);
    scalar(b, "spoke_spoe_decisions_total", "counter", "SPOE decisions answered.",
           (double)s.decisions);
    scalar(b, "spoke_spoe_pending_decisions", "gauge", "SPOE decisions not answered yet.",
           (double)s.pending);
    struct prom_histogram h;
    prom_histogram_init(&h, spoe_latency_bounds, SPOE_LATENCY_BUCKETS);
    for (int i = 0; i <= SPOE_LATENCY_BUCKETS; i++) {
        h.counts[i] = s.decision_buckets[i];
        h.count += s.decision_buckets[i];
    }
    h.sum = (double)s.decision_ns / 1e9;
    prom_histogram_write(b, "spoke_spoe_decision_seconds",
                         "Time from a NOTIFY decoded to its ACK queued (decision latency).", NULL,
                         &h);
}

static void write_auth_counter(void *ud, const char *ingress, uint64_t allowed, uint64_t denied)
{
    const char *a[] = {"ingress", ingress, "verdict", "allow", NULL};
    const char *d[] = {"ingress", ingress, "verdict", "deny", NULL};
    prom_sample(ud, "spoke_auth_decisions_total", a, (double)allowed);
    prom_sample(ud, "spoke_auth_decisions_total", d, (double)denied);
}

static void write_auth(struct strbuf *b, struct auth_stats *s)
{
    prom_family(b, "spoke_auth_decisions_total", "counter",
                "Requests to routes with auth annotations, allowed or denied, per Ingress.");
    auth_stats_foreach(s, write_auth_counter, b);
}

void metrics_write(const struct metrics *m, struct strbuf *b)
{
    const char *version[] = {"version", SPOKE_VERSION, NULL};
    prom_family(b, "spoke_build_info", "gauge", "Always 1; the agent's version as a label.");
    prom_sample(b, "spoke_build_info", version, 1);
    if (m->src.cache)
        write_cache(b, m->src.cache);
    if (m->src.rec)
        write_reconciler(b, m);
    if (m->src.problems)
        write_problems(b, m->src.problems);
    if (m->src.api)
        write_runtime_api(b, m->src.api);
    if (m->src.spoe)
        write_spoe(b, m->src.spoe);
    if (m->src.auth)
        write_auth(b, m->src.auth);
    if (m->src.status)
        scalar(b, "spoke_ingress_status_patches_total", "counter",
               "Ingress status patches sent to the API server.",
               (double)ingress_status_patches(m->src.status));
}

void metrics_set_shutting_down(struct metrics *m)
{
    m->shutting_down = true;
}

bool metrics_ready(const struct metrics *m, char *reason, size_t len)
{
    char dummy[8];
    if (!reason) {
        reason = dummy;
        len = sizeof(dummy);
    }
    if (m->shutting_down) {
        snprintf(reason, len, "shutting down: draining connections");
        return false;
    }
    const struct kube_cache *c = m->src.cache;
    if (!c) {
        snprintf(reason, len, "no Kubernetes cache");
        return false;
    }
    if (!kube_cache_synced(c)) {
        const char *kind = "?";
        for (size_t i = 0; i < kube_cache_count(c); i++) {
            const struct informer *inf = kube_cache_informer(c, i);
            if (!informer_synced(inf)) {
                kind = informer_resource(inf)->kind;
                break;
            }
        }
        snprintf(reason, len, "cache not synced: waiting for the first list of %s", kind);
        return false;
    }
    if (m->src.rec && reconciler_stats(m->src.rec)->passes == 0) {
        snprintf(reason, len, "routing not pushed into HAProxy yet: no reconcile pass completed");
        return false;
    }
    snprintf(reason, len, "ok");
    return true;
}

static void text(struct admin_response *resp, int status, const char *s)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    resp->body = strdup(s);
    if (!resp->body)
        abort();
    resp->len = strlen(resp->body);
}

void metrics_handler(void *ud, const char *query, struct admin_response *resp)
{
    (void)query;
    struct strbuf b = STRBUF_INIT;
    metrics_write(ud, &b);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->body = b.data; /* the server frees it */
    resp->len = b.len;
}

void metrics_healthz_handler(void *ud, const char *query, struct admin_response *resp)
{
    (void)ud;
    (void)query;
    text(resp, 200, "ok\n");
}

void metrics_readyz_handler(void *ud, const char *query, struct admin_response *resp)
{
    (void)query;
    char reason[256];
    bool ready = metrics_ready(ud, reason, sizeof(reason));
    size_t n = strlen(reason);
    if (n + 1 < sizeof(reason)) {
        reason[n] = '\n';
        reason[n + 1] = '\0';
    }
    text(resp, ready ? 200 : 503, reason);
}
