/* reconciler.c - see reconciler.h for the steps of a pass. */
#include "haproxy/reconciler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haproxy/atomic_file.h"
#include "haproxy/certs.h"
#include "haproxy/error_pages.h"
#include "haproxy/pem_check.h"
#include "haproxy/map_txn.h"
#include "haproxy/profiles.h"
#include "haproxy/pools.h"
#include "haproxy/servers.h"
#include "model/map_render.h"
#include "model/params.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* A Secret already checked: its PEM is reused while its resourceVersion
 * stays the same, and its problems are logged once. */
struct checked_secret {
    char *key; /* "ns/name" */
    char *rv;
    struct pem_check_result result;
    bool used; /* by the current pass */
};

/* The servers HAProxy has in one backend, sorted by name. */
struct backend_servers {
    char *backend;
    struct server_spec *v;
    size_t n, cap;
};

struct reconciler {
    struct ev_loop *loop;
    struct runtime_api *api;
    reconciler_reload_fn reload; /* NULL: HAProxy cannot be reloaded */
    void *reload_ud;
    struct haproxy_render_params render;
    struct pools *pools;
    char routes_map[4096], cfg_path[4096], pools_path[4096], servers_path[4096];
    char *servers_text;        /* last "show servers state" answer, kept as a file */
    struct certs_state *certs; /* NULL: TLS certificates disabled (see log) */
    struct store *secrets;
    const char *default_cert;       /* "ns/name" or NULL */
    struct checked_secret *checked; /* pem_check results by resourceVersion */
    size_t n_checked;

    struct backend_servers *have;
    size_t n_have;

    struct routing_model *applied; /* last model fully pushed */
    struct routing_model *current; /* the pass in progress */
    struct routing_model *pending; /* newest model not yet started */
    bool busy, need_read, pass_failed;
    unsigned refused; /* commands HAProxy refused in this pass (retried) */
    char *last_map;   /* map file text last committed */
    unsigned waiting; /* commands of the current step not answered yet */
    void (*after_commands)(struct reconciler *r);
    ev_timer retry;
    double backoff;
    ev_tstamp pass_started;
    void (*on_pass)(void *ud, double seconds, bool ok);
    void *on_pass_ud;
    reconciler_resolve_fn resolve;
    void *resolve_ud;
    struct reconciler_stats stats;

    /* IngressParameters: what haproxy.cfg is rendered from, and what waits
     * for the next pass. */
    struct ingress_params params, want_params;
    bool params_pending;
    /* Custom error page bodies: served (render.error_pages points here) and
     * wanted (reconciler_set_error_pages); NULL = spoke's page. */
    char *pages_cur[ERROR_PAGES_N], *pages_want[ERROR_PAGES_N];
    struct error_pages pages;
    bool pages_pending;
    long long params_tag, active_tag; /* active: the request being applied */
    reconciler_params_fn params_done, active_done;
    void *params_ud, *active_ud;
    int flag_http_port, flag_https_port;
    char params_path[4096];

    /* After a reload, a connection made before the new worker is ready
     * still reaches the old one: its pid, and when it was reloaded. */
    long worker_pid, stale_pid;
    ev_tstamp reloaded_at;
};

static void start_pass(struct reconciler *r);
static void step_assign(struct reconciler *r);
static void step_first(struct reconciler *r);

static void clear_have(struct reconciler *r)
{
    for (size_t i = 0; i < r->n_have; i++) {
        free(r->have[i].backend);
        free(r->have[i].v);
    }
    free(r->have);
    r->have = NULL;
    r->n_have = 0;
}

static struct backend_servers *find_have(const struct reconciler *r, const char *backend)
{
    for (size_t i = 0; i < r->n_have; i++)
        if (strcmp(r->have[i].backend, backend) == 0)
            return &r->have[i];
    return NULL;
}

static void on_server_state(void *ud, const char *backend, const struct server_spec *srv)
{
    struct reconciler *r = ud;
    if (strncmp(backend, "pool_", 5) != 0)
        return;
    struct backend_servers *b = find_have(r, backend);
    if (!b) {
        r->have = realloc(r->have, (r->n_have + 1) * sizeof(*r->have));
        if (!r->have)
            abort();
        b = &r->have[r->n_have++];
        *b = (struct backend_servers){.backend = strdup(backend)};
        if (!b->backend)
            abort();
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->v = realloc(b->v, b->cap * sizeof(*b->v));
        if (!b->v)
            abort();
    }
    b->v[b->n++] = *srv;
}

static void sort_have(struct reconciler *r)
{
    for (size_t i = 0; i < r->n_have; i++)
        qsort(r->have[i].v, r->have[i].n, sizeof(struct server_spec), server_spec_cmp);
}

/* --- pass bookkeeping --------------------------------------------------- */

static void finish_pass(struct reconciler *r)
{
    r->busy = false;
    if (r->on_pass)
        r->on_pass(r->on_pass_ud, ev_time() - r->pass_started, !r->pass_failed);
    if (r->pass_failed) {
        r->stats.failed++;
        r->stats.synced = false;
        r->need_read = true;
        /* Retry the same model (unless a newer one is waiting). */
        if (!r->pending)
            r->pending = r->current;
        else
            model_free(r->current);
        r->current = NULL;
        log_warn("reconcile", "pass failed; retrying in %.1f s", r->backoff);
        ev_timer_set(&r->retry, r->backoff, 0);
        ev_timer_start(r->loop, &r->retry);
        r->backoff = r->backoff * 2 > 2 ? 2 : r->backoff * 2;
        return;
    }
    r->backoff = 0.2;
    model_free(r->applied);
    r->applied = r->current;
    r->current = NULL;
    r->stats.passes++;
    r->stats.routes = r->applied->n_routes;
    r->stats.synced = r->pending == NULL && r->stats.unplaced == 0 && r->refused == 0;
    if (r->pending) {
        start_pass(r);
    } else if (r->refused) {
        /* e.g. "del server" of a server that still has connections: try the
         * same model again a little later. */
        r->pending = r->applied;
        r->applied = NULL;
        ev_timer_set(&r->retry, 2.0, 0);
        ev_timer_start(r->loop, &r->retry);
    }
}

static void fail(struct reconciler *r, const char *what, int err)
{
    log_error("reconcile", "%s: %s", what, err ? strerror(-err) : "failed");
    r->pass_failed = true;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct reconciler *r = w->data;
    if (!r->busy && r->pending)
        start_pass(r);
}

/* --- sending a batch of commands ---------------------------------------- */

static bool answer_ok(const char *answer)
{
    return answer[0] == '\0' || strncmp(answer, "New server registered", 21) == 0 ||
           strncmp(answer, "Server deleted", 14) == 0;
}

struct command_ctx {
    struct reconciler *r;
    char *command;
};

static void on_command(void *user, const char *answer, size_t len, int err)
{
    (void)len;
    struct command_ctx *c = user;
    struct reconciler *r = c->r;
    if (err == -ECANCELED) { /* the reconciler is being freed */
        free(c->command);
        free(c);
        return;
    }
    if (err)
        fail(r, c->command, err);
    else if (!answer_ok(answer) && ++r->refused)
        log_warn("reconcile", "HAProxy refused '%s': %.*s", c->command, (int)strcspn(answer, "\n"),
                 answer);
    free(c->command);
    free(c);
    if (--r->waiting == 0)
        r->after_commands(r);
}

/* Sends every line of cmds; then runs next (at once when there is none). */
static void send_commands(struct reconciler *r, const char *cmds,
                          void (*next)(struct reconciler *r))
{
    r->after_commands = next;
    r->waiting = 1; /* held until every command is queued */
    for (const char *l = cmds; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        struct command_ctx *c = malloc(sizeof(*c));
        if (!c || !(c->command = strndup(l, n)))
            abort();
        c->r = r;
        int rc = runtime_api_send(r->api, c->command, on_command, c);
        if (rc < 0) {
            fail(r, c->command, rc);
            free(c->command);
            free(c);
        } else {
            r->waiting++;
            r->stats.commands++;
        }
        l = nl ? nl + 1 : l + n;
    }
    if (--r->waiting == 0)
        next(r);
}

/* --- step 1 and 6: read the servers ------------------------------------- */

static void write_state(struct reconciler *r);

static void on_servers_state(void *user, const char *answer, size_t len, int err)
{
    (void)len;
    struct reconciler *r = user;
    if (err == -ECANCELED)
        return;
    bool refresh = !r->need_read; /* step 6, not step 1 */
    if (err) {
        fail(r, "show servers state", err);
        finish_pass(r);
        return;
    }
    clear_have(r);
    if (servers_state_parse(answer, on_server_state, r) < 0) {
        log_error("reconcile", "unexpected answer to show servers state: %.80s", answer);
        r->pass_failed = true;
        finish_pass(r);
        return;
    }
    sort_have(r);
    free(r->servers_text);
    r->servers_text = strdup(answer);
    r->need_read = false;
    if (refresh) {
        write_state(r);
        finish_pass(r);
    } else {
        step_assign(r);
    }
}

static void read_servers(struct reconciler *r)
{
    int rc = runtime_api_send(r->api, "show servers state", on_servers_state, r);
    if (rc < 0) {
        fail(r, "show servers state", rc);
        finish_pass(r);
    }
}

/* --- step 2: pool slots ------------------------------------------------- */

static void step_servers(struct reconciler *r);

static void step_assign(struct reconciler *r)
{
    const struct routing_model *m = r->current;
    bool grew = false;
    r->stats.unplaced = 0;
    for (size_t i = 0; i < m->n_backends; i++) {
        char profile[64];
        model_profile_name(&m->backends[i].profile, profile, sizeof(profile));
        if (pools_assign(r->pools, profile, m->backends[i].id))
            continue;
        if (r->reload) {
            pools_grow(r->pools, profile);
            grew = true;
            if (pools_assign(r->pools, profile, m->backends[i].id))
                continue;
        }
        r->stats.unplaced++;
        log_error("reconcile",
                  "no free backend of profile %s for %s; its routes answer 503 until HAProxy "
                  "is restarted with %s (or give the agent --haproxy-master-socket to reload it)",
                  profile, m->backends[i].id, r->cfg_path);
    }
    if (grew) {
        char err[512];
        log_warn("reconcile", "backend pools grew");
        if (reconciler_request_reload(r, RELOAD_POOL_EXHAUSTED, err, sizeof(err)) < 0)
            log_error("reconcile", "reload failed: %s", err);
        /* Restart the pass after the backoff (with the new worker's servers
         * when it reloaded). */
        r->pass_failed = true;
        finish_pass(r);
        return;
    }
    step_servers(r);
}

/* Per reason: the metric label, and the words of the log line. */
static const char *const reload_reasons[RELOAD_REASONS][2] = {
    [RELOAD_POOL_EXHAUSTED] = {"pool_exhausted", "pool exhausted"},
    [RELOAD_PARAMETERS] = {"parameters", "parameters"},
    [RELOAD_ERROR_PAGES] = {"error_pages", "error pages"},
};

const char *reload_reason_name(enum reload_reason reason)
{
    return reload_reasons[reason][0];
}

int reconciler_request_reload(struct reconciler *r, enum reload_reason reason, char *err,
                              size_t errlen)
{
    if (reconciler_write_config(r, err, errlen) < 0)
        return -1;
    if (!r->reload) {
        log_warn("reconcile",
                 "%s: HAProxy must reload %s (attached mode without --haproxy-master-socket: "
                 "the agent cannot reload it)",
                 reload_reasons[reason][1], r->cfg_path);
        return 0;
    }
    if (r->reload(r->reload_ud, err, errlen) < 0)
        return -1;
    r->stale_pid = r->worker_pid;
    r->reloaded_at = ev_time();
    r->stats.reloads++;
    r->stats.reloads_by[reason]++;
    log_warn("reconcile", "reloading HAProxy (reload #%lu, reason: %s)", r->stats.reloads,
             reload_reasons[reason][1]);
    /* The new worker starts with the servers written in haproxy.cfg; read
     * them from it (on a new connection: the old one reaches the old
     * worker) before going on. */
    runtime_api_disconnect(r->api);
    if (r->certs)
        certs_state_invalidate(r->certs);
    free(r->last_map);
    r->last_map = NULL;
    r->need_read = true;
    r->backoff = 0.5;
    return 1;
}

/* --- step 0: IngressParameters ------------------------------------------ */

static void set_ports(struct reconciler *r)
{
    r->render.http_port = r->params.http_port ? r->params.http_port : r->flag_http_port;
    r->render.https_port = r->params.https_port ? r->params.https_port : r->flag_https_port;
}

static void params_report(struct reconciler *r, enum reconciler_params_method m, const char *detail)
{
    reconciler_params_fn done = r->active_done;
    r->active_done = NULL;
    if (m != RECONCILER_PARAMS_FAILED) {
        json_t *spec = params_to_spec(&r->params);
        if (json_dump_file(spec, r->params_path, JSON_COMPACT) < 0)
            log_error("reconcile", "cannot write %s", r->params_path);
        json_decref(spec);
    }
    if (done)
        done(r->active_ud, r->active_tag, m, detail);
}

/* New parameters through a reload; the previous ones stay when HAProxy
 * refuses the new configuration. Ends the pass when it reloaded. */
static bool params_reload(struct reconciler *r, const struct ingress_params *old)
{
    char err[512];
    int rc = reconciler_request_reload(r, RELOAD_PARAMETERS, err, sizeof(err));
    if (rc < 0) {
        log_error("reconcile", "new IngressParameters refused, keeping the previous ones: %s", err);
        r->params = *old;
        set_ports(r);
        char err2[512];
        if (reconciler_write_config(r, err2, sizeof(err2)) < 0)
            log_error("reconcile", "state directory: %s", err2);
        params_report(r, RECONCILER_PARAMS_FAILED, err);
        return false;
    }
    params_report(r, rc == 1 ? RECONCILER_PARAMS_RELOAD : RECONCILER_PARAMS_PENDING,
                  rc == 1 ? "" : "haproxy.cfg is written; HAProxy must be reloaded");
    if (rc == 1) {
        r->pass_failed = true; /* restart the pass with the new worker */
        finish_pass(r);
        return true;
    }
    return false;
}

struct maxconn_ctx {
    struct reconciler *r;
    struct ingress_params old;
    unsigned waiting;
    bool refused;
    char answer[160];
};

static void on_maxconn(void *user, const char *answer, size_t len, int err)
{
    (void)len;
    struct maxconn_ctx *c = user;
    struct reconciler *r = c->r;
    if (err == -ECANCELED) {
        if (--c->waiting == 0)
            free(c);
        return;
    }
    if (err || answer[0]) {
        c->refused = true;
        snprintf(c->answer, sizeof(c->answer), "%.*s", (int)strcspn(err ? "" : answer, "\n"),
                 err ? "" : answer);
    }
    if (--c->waiting > 0)
        return;
    struct ingress_params old = c->old;
    bool refused = c->refused;
    if (refused)
        log_info("reconcile", "set maxconn refused (%s): reloading instead", c->answer);
    free(c);
    if (refused) {
        if (params_reload(r, &old))
            return;
    } else {
        char e[512];
        if (reconciler_write_config(r, e, sizeof(e)) < 0)
            log_error("reconcile", "state directory: %s", e);
        log_info("reconcile", "maxconn %u applied through the runtime API", r->params.maxconn);
        params_report(r, RECONCILER_PARAMS_RUNTIME, "");
    }
    step_first(r);
}

/* Returns true when it continues the pass itself. */
static bool step_params(struct reconciler *r)
{
    r->params_pending = false;
    r->active_tag = r->params_tag;
    r->active_done = r->params_done;
    r->active_ud = r->params_ud;
    r->params_done = NULL;
    struct ingress_params old = r->params;
    unsigned changes = params_compare(&old, &r->want_params);
    r->params = r->want_params;
    set_ports(r);
    if (changes & PARAMS_CHANGE_RELOAD) {
        if (params_reload(r, &old))
            return true;
        return false;
    }
    if (changes & PARAMS_CHANGE_RUNTIME) {
        /* management.txt: "set maxconn global" within the maxconn HAProxy
         * started with, and the frontend's own limit with it. */
        struct maxconn_ctx *c = calloc(1, sizeof(*c));
        if (!c)
            abort();
        c->r = r;
        c->old = old;
        char cmd[2][80];
        snprintf(cmd[0], sizeof(cmd[0]), "set maxconn global %u", r->params.maxconn);
        snprintf(cmd[1], sizeof(cmd[1]), "set maxconn frontend spoke_http %u", r->params.maxconn);
        c->waiting = 1;
        for (int i = 0; i < 2; i++) {
            if (runtime_api_send(r->api, cmd[i], on_maxconn, c) == 0) {
                c->waiting++;
                r->stats.commands++;
            } else {
                c->refused = true;
            }
        }
        on_maxconn(c, "", 0, 0); /* drops the hold */
        return true;
    }
    params_report(r, RECONCILER_PARAMS_NONE, "");
    return false;
}

/* --- step 3: servers ---------------------------------------------------- */

#define EXTERNAL_ADDRS_MAX 16

/* The servers a backend should have: its ready (and draining) endpoints, or
 * the resolved addresses of an ExternalName. out has room for
 * n_endpoints + EXTERNAL_ADDRS_MAX. */
static size_t want_servers(const struct reconciler *r, const struct model_backend *b,
                           struct server_spec *out)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_endpoints; i++) {
        const struct model_endpoint *e = &b->endpoints[i];
        if (b->external) {
            char addrs[EXTERNAL_ADDRS_MAX][64];
            size_t k =
                r->resolve ? r->resolve(r->resolve_ud, e->address, addrs, EXTERNAL_ADDRS_MAX) : 0;
            for (size_t j = 0; j < k; j++)
                if (server_spec_init(&out[n], addrs[j], e->port, 1, false) == 0)
                    n++;
            continue;
        }
        if (e->state == MODEL_ENDPOINT_DOWN)
            continue;
        if (server_spec_init(&out[n], e->address, e->port, 1, e->state == MODEL_ENDPOINT_DRAIN) <
            0) {
            log_warn("reconcile", "%s: endpoint %s:%d is not a numeric address, skipped", b->id,
                     e->address, e->port);
            continue;
        }
        n++;
    }
    qsort(out, n, sizeof(*out), server_spec_cmp);
    return n;
}

static void step_map(struct reconciler *r);
static void step_certs(struct reconciler *r);

static void step_servers(struct reconciler *r)
{
    const struct routing_model *m = r->current;
    struct strbuf cmds = STRBUF_INIT;
    for (size_t i = 0; i < m->n_backends; i++) {
        const struct model_backend *b = &m->backends[i];
        const char *slot = pools_lookup(r->pools, b->id);
        if (!slot)
            continue;
        char profile[64];
        model_profile_name(&b->profile, profile, sizeof(profile));
        struct server_spec *want = calloc(b->n_endpoints + EXTERNAL_ADDRS_MAX + 1, sizeof(*want));
        if (!want)
            abort();
        size_t n_want = want_servers(r, b, want);
        const struct backend_servers *h = find_have(r, slot);
        servers_diff(slot, profile, h ? h->v : NULL, h ? h->n : 0, want, n_want, &cmds);
        free(want);
    }
    send_commands(r, cmds.data, step_certs);
    strbuf_free(&cmds);
}

/* --- step 3b: certificates ---------------------------------------------- */

static const struct checked_secret *check_secret(struct reconciler *r, const char *key)
{
    const char *slash = strchr(key, '/');
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - key) : 0, key);
    json_t *secret = r->secrets && slash ? store_get(r->secrets, ns, slash + 1) : NULL;
    const char *rv =
        json_string_value(json_object_get(json_object_get(secret, "metadata"), "resourceVersion"));
    struct checked_secret *c = NULL;
    for (size_t i = 0; i < r->n_checked; i++)
        if (strcmp(r->checked[i].key, key) == 0)
            c = &r->checked[i];
    if (c && ((rv && c->rv && strcmp(rv, c->rv) == 0) || (!rv && !c->rv))) {
        c->used = true;
        return c;
    }
    if (!c) {
        r->checked = realloc(r->checked, (r->n_checked + 1) * sizeof(*r->checked));
        if (!r->checked)
            abort();
        c = &r->checked[r->n_checked++];
        memset(c, 0, sizeof(*c));
        c->key = strdup(key);
    } else {
        pem_check_result_clear(&c->result);
        free(c->rv);
    }
    c->rv = rv ? strdup(rv) : NULL;
    c->used = true;
    if (!secret) {
        memset(&c->result, 0, sizeof(c->result));
        snprintf(c->result.error, sizeof(c->result.error), "the Secret does not exist");
    } else {
        pem_check_secret(secret, time(NULL), &c->result);
    }
    if (c->result.error[0])
        log_warn("tls",
                 "Secret %s: %s; its hosts keep the certificate served before, or the "
                 "default one",
                 key, c->result.error);
    else if (c->result.warning[0])
        log_warn("tls", "Secret %s: %s", key, c->result.warning);
    return c;
}

static void forget_unused_secrets(struct reconciler *r)
{
    for (size_t i = 0; i < r->n_checked;) {
        if (r->checked[i].used) {
            r->checked[i++].used = false;
            continue;
        }
        free(r->checked[i].key);
        free(r->checked[i].rv);
        pem_check_result_clear(&r->checked[i].result);
        r->checked[i] = r->checked[--r->n_checked];
    }
}

static void on_certs_done(void *user, const struct certs_report *rep)
{
    struct reconciler *r = user;
    for (size_t i = 0; i < rep->n_problems; i++)
        log_warn("tls", "%s%s%s", rep->problems[i].secret, rep->problems[i].secret[0] ? ": " : "",
                 rep->problems[i].message);
    if (rep->added || rep->updated || rep->rehosted || rep->removed)
        log_info("tls", "certificates: %u added, %u renewed, %u with new hosts, %u removed",
                 rep->added, rep->updated, rep->rehosted, rep->removed);
    if (rep->err) {
        fail(r, rep->detail && rep->detail[0] ? rep->detail : "certificates", rep->err);
        finish_pass(r);
        return;
    }
    step_map(r);
}

static void step_certs(struct reconciler *r)
{
    const struct routing_model *m = r->current;
    if (!r->certs || r->pass_failed) {
        step_map(r);
        return;
    }
    /* One entry per Secret, with every host that names it. */
    struct certs_entry *entries = calloc(m->n_tls + 1, sizeof(*entries));
    const char **hosts = calloc(m->n_tls + 1, sizeof(*hosts));
    if (!entries || !hosts)
        abort();
    size_t n = 0, nh = 0;
    for (size_t i = 0; i < m->n_tls; i++) {
        const struct model_tls *t = &m->tls[i];
        if (!t->secret || !t->host[0])
            continue;
        size_t e;
        for (e = 0; e < n && strcmp(entries[e].secret, t->secret) != 0; e++)
            ;
        if (e == n) {
            const struct checked_secret *c = check_secret(r, t->secret);
            entries[n] = (struct certs_entry){
                .secret = t->secret, .pem = c->result.pem, .pem_len = c->result.pem_len};
            n++;
        }
    }
    /* Hosts grouped per entry, in one array, entry by entry. */
    for (size_t e = 0; e < n; e++) {
        entries[e].hosts = hosts + nh;
        for (size_t i = 0; i < m->n_tls; i++)
            if (m->tls[i].secret && m->tls[i].host[0] &&
                strcmp(m->tls[i].secret, entries[e].secret) == 0)
                hosts[nh++] = m->tls[i].host;
        entries[e].n_hosts = (size_t)(hosts + nh - entries[e].hosts);
    }
    struct certs_desired d = {.entries = entries, .n_entries = n};
    if (r->default_cert) {
        const struct checked_secret *c = check_secret(r, r->default_cert);
        d.default_pem = c->result.pem;
        d.default_pem_len = c->result.pem_len;
    }
    forget_unused_secrets(r);
    int rc = certs_sync(r->certs, &d, on_certs_done, r);
    free(entries);
    free(hosts);
    if (rc < 0) {
        fail(r, "certificates", rc);
        finish_pass(r);
    }
}

/* --- step 4: the routes map --------------------------------------------- */

static const char *slot_of(void *ud, const struct model_backend *b)
{
    return pools_lookup(ud, b->id);
}

static void step_release(struct reconciler *r);

static void on_map_done(void *user, int err, const char *detail)
{
    struct reconciler *r = user;
    if (err == -ECANCELED)
        return;
    if (err) {
        fail(r, detail, err);
        free(r->last_map);
        r->last_map = NULL;
        finish_pass(r);
        return;
    }
    r->stats.map_commits++;
    step_release(r);
}

static void step_map(struct reconciler *r)
{
    if (r->pass_failed) {
        finish_pass(r);
        return;
    }
    struct map_rendered rendered;
    char err[512];
    if (map_render(r->current, slot_of, r->pools, &rendered, err, sizeof(err)) < 0) {
        log_error("reconcile", "routes map: %s", err);
        r->pass_failed = true;
        finish_pass(r);
        return;
    }
    struct map_entry *entries = calloc(rendered.n + 1, sizeof(*entries));
    if (!entries)
        abort();
    for (size_t i = 0; i < rendered.n; i++)
        entries[i] = (struct map_entry){rendered.entries[i].key, rendered.entries[i].value};
    size_t len;
    char *text = map_txn_format(entries, rendered.n, &len, err, sizeof(err));
    int rc = 0;
    if (!text) {
        log_error("reconcile", "routes map: %s", err);
        rc = -EINVAL;
    } else if (r->last_map && strcmp(text, r->last_map) == 0) {
        free(text);
        text = NULL; /* unchanged: nothing to commit */
    } else {
        free(r->last_map);
        r->last_map = text;
        rc = map_txn_replace(r->api, r->routes_map, r->routes_map, entries, rendered.n, on_map_done,
                             r, err, sizeof(err));
        if (rc < 0)
            log_error("reconcile", "routes map: %s", err);
    }
    bool committing = text != NULL && rc == 0;
    free(entries);
    map_rendered_free(&rendered);
    if (rc < 0) {
        free(r->last_map);
        r->last_map = NULL;
        r->pass_failed = true;
        finish_pass(r);
    } else if (!committing) {
        step_release(r);
    }
}

/* --- step 5: unused slots ----------------------------------------------- */

static void step_refresh(struct reconciler *r);

static void step_release(struct reconciler *r)
{
    const struct routing_model *m = r->current;
    struct strbuf cmds = STRBUF_INIT;
    for (size_t i = 0; i < pools_n_profiles(r->pools); i++) {
        for (unsigned j = 0; j < pools_size(r->pools, i); j++) {
            char slot[256];
            pools_slot_name(r->pools, i, j, slot, sizeof(slot));
            const char *owner = pools_slot_owner(r->pools, i, j);
            if (owner && model_find_backend(m, owner))
                continue;
            const struct backend_servers *h = find_have(r, slot);
            if (h && h->n)
                servers_diff(slot, NULL, h->v, h->n, NULL, 0, &cmds);
            if (owner) {
                log_info("reconcile", "%s no longer serves %s", slot, owner);
                pools_release(r->pools, owner);
            }
        }
    }
    send_commands(r, cmds.data, step_refresh);
    strbuf_free(&cmds);
}

/* --- step 6 ------------------------------------------------------------- */

static void step_refresh(struct reconciler *r)
{
    read_servers(r);
}

static void render_servers(void *ud, const char *backend, const char *profile, struct strbuf *out)
{
    const struct backend_servers *h = find_have(ud, backend);
    for (size_t i = 0; h && i < h->n; i++) {
        const struct server_spec *s = &h->v[i];
        strbuf_puts(out, "    server ");
        server_spec_write(out, s, profile);
        strbuf_puts(out, s->maint ? " disabled\n" : s->drain ? " weight 0\n" : "\n");
    }
}

int reconciler_write_config(struct reconciler *r, char *err, size_t errlen)
{
    r->render.pools = r->pools;
    r->render.servers = render_servers;
    r->render.servers_ud = r;
    if (haproxy_state_prepare(&r->render, err, errlen) < 0)
        return -1;
    if (pools_save(r->pools, r->pools_path) < 0) {
        snprintf(err, errlen, "cannot write %s", r->pools_path);
        return -1;
    }
    if (r->servers_text &&
        atomic_file_write(r->servers_path, r->servers_text, strlen(r->servers_text), 0644) < 0) {
        snprintf(err, errlen, "cannot write %s", r->servers_path);
        return -1;
    }
    return 0;
}

static void write_state(struct reconciler *r)
{
    char err[512];
    if (reconciler_write_config(r, err, sizeof(err)) < 0) {
        log_error("reconcile", "state directory: %s", err);
        r->pass_failed = true;
    }
}

/* --- public ------------------------------------------------------------- */

static void step_first(struct reconciler *r)
{
    if (r->need_read)
        read_servers(r);
    else
        step_assign(r);
}

/* New error page bodies: written, and one reload when a file changed (HAProxy
 * reads errorfiles only when it starts). Returns true when it ended the pass. */
static bool step_error_pages(struct reconciler *r)
{
    r->pages_pending = false;
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        free(r->pages_cur[i]);
        r->pages_cur[i] = r->pages_want[i] ? xstrdup(r->pages_want[i]) : NULL;
        r->pages.html[i] = r->pages_cur[i];
    }
    char err[512];
    bool changed = false;
    if (error_pages_write(r->render.state_dir, &r->pages, &changed, err, sizeof(err)) < 0) {
        log_error("reconcile", "error pages: %s", err);
        return false;
    }
    if (!changed)
        return false;
    int rc = reconciler_request_reload(r, RELOAD_ERROR_PAGES, err, sizeof(err));
    if (rc < 0)
        log_error("reconcile", "error pages: reload failed: %s", err);
    if (rc != 1)
        return false;
    r->pass_failed = true; /* restart the pass with the new worker */
    finish_pass(r);
    return true;
}

static void after_worker_check(struct reconciler *r)
{
    if (r->params_pending && step_params(r))
        return;
    if (r->pages_pending && step_error_pages(r))
        return;
    step_first(r);
}

/* "show info" on a new connection: after a reload, the old worker may
 * still have answered it (the new one was not ready); then connect again
 * a little later (for 10 s at most: a reload HAProxy did not complete
 * leaves the old worker serving). */
static void on_show_info(void *user, const char *answer, size_t len, int err)
{
    (void)len;
    struct reconciler *r = user;
    if (err == -ECANCELED)
        return;
    if (err) {
        fail(r, "show info", err);
        finish_pass(r);
        return;
    }
    const char *p = strstr(answer, "\nPid: ");
    long pid = p ? strtol(p + 7, NULL, 10) : 0;
    if (pid && pid == r->stale_pid && ev_time() - r->reloaded_at < 10) {
        log_info("reconcile", "the runtime API still reaches the old worker (pid %ld)", pid);
        runtime_api_disconnect(r->api);
        r->pass_failed = true;
        r->backoff = 0.1;
        finish_pass(r);
        return;
    }
    r->stale_pid = 0;
    r->worker_pid = pid;
    after_worker_check(r);
}

static void start_pass(struct reconciler *r)
{
    r->busy = true;
    r->pass_failed = false;
    r->refused = 0;
    r->pass_started = ev_time();
    r->current = r->pending;
    r->pending = NULL;
    ev_timer_stop(r->loop, &r->retry);
    if (!r->need_read) {
        after_worker_check(r);
        return;
    }
    int rc = runtime_api_send(r->api, "show info", on_show_info, r);
    if (rc < 0) {
        fail(r, "show info", rc);
        finish_pass(r);
    }
}

void reconciler_apply(struct reconciler *r, struct routing_model *m)
{
    model_free(r->pending);
    r->pending = m;
    r->stats.synced = false;
    /* A new model does not wait for a retry timer: it is applied now, and
     * the pass retries whatever failed before. */
    if (!r->busy)
        start_pass(r);
}

void reconciler_resync(struct reconciler *r)
{
    r->need_read = true;
    if (r->certs)
        certs_state_invalidate(r->certs);
    free(r->last_map);
    r->last_map = NULL;
    if (!r->pending && r->applied) {
        r->pending = r->applied;
        r->applied = NULL;
    }
    if (r->pending && !r->busy) {
        ev_timer_stop(r->loop, &r->retry);
        start_pass(r);
    }
}

/* The servers last read from HAProxy, so haproxy.cfg written before
 * HAProxy (re)starts still has them. */
static void load_servers_file(struct reconciler *r)
{
    FILE *f = fopen(r->servers_path, "r");
    if (!f)
        return;
    struct strbuf b = STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_append(&b, buf, n);
    fclose(f);
    char *text = strbuf_take(&b);
    if (servers_state_parse(text, on_server_state, r) >= 0) {
        sort_have(r);
        r->servers_text = text;
    } else {
        log_warn("reconcile", "%s is not a servers state dump; ignored", r->servers_path);
        clear_have(r);
        free(text);
    }
}

/* The parameters last applied, so haproxy.cfg written before HAProxy
 * (re)starts, or adopted, is the one it runs. */
static void load_params_file(struct reconciler *r)
{
    params_defaults(&r->params);
    json_error_t e;
    json_t *spec = json_load_file(r->params_path, 0, &e);
    if (spec && params_parse(spec, "", NULL, &r->params, NULL, NULL) > 0)
        log_warn("reconcile", "%s has values the agent does not take; they are ignored",
                 r->params_path);
    json_decref(spec);
    set_ports(r);
}

struct reconciler *reconciler_new(struct ev_loop *loop, struct runtime_api *api,
                                  const struct haproxy_render_params *render, unsigned pool_size,
                                  char *err, size_t errlen)
{
    struct reconciler *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->loop = loop;
    r->api = api;
    r->render = *render;
    r->pools = pools_new(pool_size);
    r->need_read = true;
    r->backoff = 0.2;
    snprintf(r->routes_map, sizeof(r->routes_map), "%s/maps/%s", render->state_dir,
             MAP_ROUTES_FILE);
    snprintf(r->cfg_path, sizeof(r->cfg_path), "%s/haproxy.cfg", render->state_dir);
    snprintf(r->pools_path, sizeof(r->pools_path), "%s/pools.json", render->state_dir);
    snprintf(r->servers_path, sizeof(r->servers_path), "%s/servers.state", render->state_dir);
    snprintf(r->params_path, sizeof(r->params_path), "%s/params.json", render->state_dir);
    r->flag_http_port = render->http_port;
    r->flag_https_port = render->https_port;
    r->render.params = &r->params;
    /* The pages HAProxy serves now (it read them when it started): a
     * restarted agent that wants the same ones does not reload. */
    error_pages_read(render->state_dir, r->pages_cur);
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        r->pages.html[i] = r->pages_cur[i];
        r->pages_want[i] = r->pages_cur[i] ? xstrdup(r->pages_cur[i]) : NULL;
    }
    r->render.error_pages = &r->pages;
    if (pools_load(r->pools, r->pools_path, err, errlen) < 0) {
        pools_free(r->pools);
        free(r);
        return NULL;
    }
    pools_add_profile(r->pools, PROFILE_DEFAULT);
    load_servers_file(r);
    load_params_file(r);
    char cerr[256];
    r->certs = certs_state_new(api, render->state_dir, cerr, sizeof(cerr));
    if (!r->certs)
        log_error("tls", "certificates from Secrets are disabled: %s", cerr);
    ev_timer_init(&r->retry, on_retry, 0, 0);
    r->retry.data = r;
    return r;
}

void reconciler_set_reload(struct reconciler *r, reconciler_reload_fn fn, void *ud)
{
    r->reload = fn;
    r->reload_ud = ud;
}

void reconciler_set_secrets(struct reconciler *r, struct store *secrets)
{
    r->secrets = secrets;
}

void reconciler_set_resolver(struct reconciler *r, reconciler_resolve_fn fn, void *ud)
{
    r->resolve = fn;
    r->resolve_ud = ud;
}

void reconciler_set_on_pass(struct reconciler *r, void (*fn)(void *ud, double seconds, bool ok),
                            void *ud)
{
    r->on_pass = fn;
    r->on_pass_ud = ud;
}

void reconciler_set_default_cert(struct reconciler *r, const char *secret)
{
    r->default_cert = secret;
}

void reconciler_free(struct reconciler *r)
{
    if (!r)
        return;
    ev_timer_stop(r->loop, &r->retry);
    certs_state_free(r->certs);
    for (size_t i = 0; i < r->n_checked; i++) {
        free(r->checked[i].key);
        free(r->checked[i].rv);
        pem_check_result_clear(&r->checked[i].result);
    }
    free(r->checked);
    clear_have(r);
    model_free(r->applied);
    model_free(r->current);
    model_free(r->pending);
    pools_free(r->pools);
    free(r->last_map);
    free(r->servers_text);
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        free(r->pages_cur[i]);
        free(r->pages_want[i]);
    }
    free(r);
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

void reconciler_set_error_pages(struct reconciler *r, const struct error_pages *pages)
{
    bool same = true;
    for (int i = 0; i < ERROR_PAGES_N; i++)
        same = same && same_text(r->pages_want[i], pages ? pages->html[i] : NULL);
    if (same)
        return;
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        free(r->pages_want[i]);
        r->pages_want[i] = pages && pages->html[i] ? xstrdup(pages->html[i]) : NULL;
    }
    r->pages_pending = true;
}

void reconciler_set_pool_size(struct reconciler *r, unsigned size)
{
    pools_set_initial_size(r->pools, size);
}

const struct ingress_params *reconciler_params(const struct reconciler *r)
{
    return &r->params;
}

void reconciler_set_params(struct reconciler *r, const struct ingress_params *p, long long tag,
                           reconciler_params_fn done, void *ud)
{
    r->want_params = *p;
    r->params_pending = true;
    r->params_tag = tag;
    r->params_done = done;
    r->params_ud = ud;
}

const struct pools *reconciler_pools(const struct reconciler *r)
{
    return r->pools;
}

const struct reconciler_stats *reconciler_stats(const struct reconciler *r)
{
    return &r->stats;
}
