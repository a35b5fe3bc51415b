/* leader.c - see leader.h. */
#include "kube/leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

#define RELEASE_TIMEOUT_S 5

enum phase { PH_IDLE, PH_RUNNING, PH_RELEASING, PH_STOPPED };
enum req_kind { RK_GET, RK_CREATE, RK_UPDATE, RK_RENEW, RK_RELEASE, RK_RELEASE_GET };

struct leader {
    struct ev_loop *loop;
    struct kube_http *http;
    char *ns, *name, *identity;
    char *collection_path, *object_path;
    double lease_duration, renew_deadline, retry_period;
    long timeout_s; /* of one request */
    struct leader_callbacks cb;

    enum phase phase;
    bool leading;
    json_t *obj;           /* the last Lease object seen or written, or NULL */
    bool obj_fresh;        /* obj is our own last successful write: renew without a GET */
    json_t *observed_spec; /* the record last observed */
    double observed_time;  /* monotonic time it was first seen */
    char *holder;          /* its holderIdentity, "" when none */
    long transitions;

    struct kube_req *req;
    enum req_kind req_kind;
    json_t *sent_spec; /* the spec of the write in flight */
    int release_retries;
    void (*release_done)(void *ud);
    void *release_ud;
    unsigned fail_streak;

    ev_timer tick;     /* every retry period */
    ev_timer deadline; /* the renew deadline while leading */
};

/* Whole seconds, rounded up (no libm). */
static long ceil_s(double x)
{
    long n = (long)x;
    return (double)n < x ? n + 1 : n;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RFC 3339 with microseconds, as metav1.MicroTime: 2026-01-01T00:00:00.000000Z */
static void micro_time_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static char *lease_path(const char *ns, const char *name)
{
    char *out = NULL;
    if (asprintf(&out, "/apis/coordination.k8s.io/v1/namespaces/%s/leases%s%s", ns, name ? "/" : "",
                 name ? name : "") < 0)
        abort();
    return out;
}

static const char *spec_str(const json_t *spec, const char *key)
{
    const char *s = json_string_value(json_object_get(spec, key));
    return s ? s : "";
}

static long spec_int(const json_t *spec, const char *key)
{
    return (long)json_integer_value(json_object_get(spec, key));
}

struct leader *leader_new(struct ev_loop *loop, struct kube_http *http,
                          const struct leader_config *cfg)
{
    if (!cfg->namespace || !*cfg->namespace || !cfg->name || !*cfg->name || !cfg->identity ||
        !*cfg->identity) {
        log_error("leader", "leader election needs a namespace, a Lease name and an identity");
        return NULL;
    }
    double lease = cfg->lease_duration > 0 ? cfg->lease_duration : 15.;
    double renew = cfg->renew_deadline > 0 ? cfg->renew_deadline : lease * 2. / 3.;
    double retry = cfg->retry_period > 0 ? cfg->retry_period : lease * 2. / 15.;
    if (!(retry < renew && renew < lease)) {
        log_error("leader", "need retry period (%gs) < renew deadline (%gs) < lease duration (%gs)",
                  retry, renew, lease);
        return NULL;
    }
    struct leader *l = calloc(1, sizeof(*l));
    if (!l)
        abort();
    l->loop = loop;
    l->http = http;
    l->ns = xstrdup(cfg->namespace);
    l->name = xstrdup(cfg->name);
    l->identity = xstrdup(cfg->identity);
    l->collection_path = lease_path(l->ns, NULL);
    l->object_path = lease_path(l->ns, l->name);
    l->lease_duration = lease;
    l->renew_deadline = renew;
    l->retry_period = retry;
    l->timeout_s = ceil_s(renew) > 1 ? ceil_s(renew) : 1;
    l->cb = cfg->cb;
    l->holder = xstrdup("");
    ev_timer_init(&l->tick, NULL, 0., retry);
    ev_timer_init(&l->deadline, NULL, 0., renew);
    l->tick.data = l->deadline.data = l;
    return l;
}

/* ---- transitions --------------------------------------------------------- */

static void set_holder(struct leader *l, const char *holder)
{
    if (strcmp(l->holder, holder) == 0)
        return;
    free(l->holder);
    l->holder = xstrdup(holder);
    if (*holder && strcmp(holder, l->identity) != 0)
        log_info("leader", "lease %s/%s: %s is the leader", l->ns, l->name, holder);
    else if (!*holder)
        log_info("leader", "lease %s/%s: released, no leader", l->ns, l->name);
    if (l->cb.on_new_leader)
        l->cb.on_new_leader(l->cb.ud, holder);
}

static void step_down(struct leader *l, const char *why)
{
    if (!l->leading)
        return;
    l->leading = false;
    l->obj_fresh = false;
    ev_timer_stop(l->loop, &l->deadline);
    log_info("leader", "lease %s/%s: stopped leading (%s)", l->ns, l->name, why);
    if (l->cb.on_stopped_leading)
        l->cb.on_stopped_leading(l->cb.ud);
}

static void become_leader(struct leader *l)
{
    if (l->leading)
        return;
    l->leading = true;
    log_info("leader", "lease %s/%s: started leading as %s", l->ns, l->name, l->identity);
    if (l->cb.on_started_leading)
        l->cb.on_started_leading(l->cb.ud);
}

/* Remember obj (a reference is taken) and, when its record changed, when we saw it. */
static void observe(struct leader *l, json_t *obj)
{
    json_decref(l->obj);
    l->obj = json_incref(obj);
    l->obj_fresh = false;
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        json_object_set_new(obj, "spec", json_object());
        spec = json_object_get(obj, "spec");
    }
    if (!l->observed_spec || !json_equal(spec, l->observed_spec)) {
        json_decref(l->observed_spec);
        l->observed_spec = json_deep_copy(spec);
        l->observed_time = mono_now();
    }
    l->transitions = spec_int(spec, "leaseTransitions");
    set_holder(l, spec_str(spec, "holderIdentity"));
}

/* ---- requests ------------------------------------------------------------ */

static void req_done(void *ud, long status, const char *body, size_t len, const char *err);

static void attempt_failed(struct leader *l, const char *what, long status, const char *detail)
{
    l->fail_streak++;
    /* One warning per streak of failures; the repeats at debug level. */
    enum log_level lvl = l->fail_streak == 1 ? LOG_WARN : LOG_DEBUG;
    log_msg(lvl, "leader", "lease %s/%s: %s failed (%ld): %.200s", l->ns, l->name, what, status,
            detail ? detail : "");
}

static void send_req(struct leader *l, enum req_kind kind, const char *method, const char *path,
                     json_t *body, long timeout_s)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    l->req_kind = kind;
    l->req = kube_http_request(l->http, method, path, body ? "application/json" : NULL, text,
                               timeout_s, req_done, l);
    free(text);
    if (!l->req)
        req_done(l, 0, "", 0, "cannot start the request");
}

/* A Lease spec naming holder, based on the observed one. */
static json_t *new_spec(struct leader *l, const char *holder, long duration_s, bool keep_acquire)
{
    char now[40];
    micro_time_now(now, sizeof(now));
    const json_t *old = l->observed_spec;
    long transitions = old ? spec_int(old, "leaseTransitions") : 0;
    json_t *spec = json_object();
    json_object_set_new(spec, "holderIdentity", json_string(holder));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s));
    if (keep_acquire && old && *spec_str(old, "acquireTime")) {
        json_object_set_new(spec, "acquireTime", json_string(spec_str(old, "acquireTime")));
    } else {
        json_object_set_new(spec, "acquireTime", json_string(now));
        if (old && *holder && strcmp(spec_str(old, "holderIdentity"), holder) != 0)
            transitions++;
    }
    json_object_set_new(spec, "renewTime", json_string(now));
    json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
    return spec;
}

/* PUT (or POST when there is no Lease yet) the observed object with spec. */
static void write_lease(struct leader *l, enum req_kind kind, json_t *spec, long timeout_s)
{
    json_decref(l->sent_spec);
    l->sent_spec = spec;
    json_t *body;
    if (kind == RK_CREATE) {
        body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", "coordination.k8s.io/v1",
                         "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns, "spec",
                         spec);
        send_req(l, kind, "POST", l->collection_path, body, timeout_s);
    } else {
        body = json_deep_copy(l->obj);
        json_object_set(body, "spec", spec);
        send_req(l, kind, "PUT", l->object_path, body, timeout_s);
    }
    json_decref(body);
}

static void acquire_or_renew(struct leader *l)
{
    long duration_s = ceil_s(l->lease_duration);
    bool ours = strcmp(l->holder, l->identity) == 0;
    write_lease(l, RK_UPDATE, new_spec(l, l->identity, duration_s, ours), l->timeout_s);
}

/* What to do with the Lease just read. */
static void decide(struct leader *l)
{
    const json_t *spec = l->observed_spec;
    const char *holder = spec_str(spec, "holderIdentity");
    double duration = (double)spec_int(spec, "leaseDurationSeconds");
    if (*holder && strcmp(holder, l->identity) != 0 && l->observed_time + duration > mono_now()) {
        l->fail_streak = 0;
        step_down(l, "another replica holds the lease");
        return; /* held by someone else: try again at the next tick */
    }
    acquire_or_renew(l);
}

static void wrote(struct leader *l, const char *body)
{
    json_t *obj = json_loads(body, 0, NULL);
    if (!json_is_object(json_object_get(obj, "metadata"))) {
        json_decref(obj); /* not a Lease: keep ours, renew through a GET */
        obj = json_deep_copy(l->obj);
        if (!obj)
            obj = json_object();
        json_object_set(obj, "spec", l->sent_spec);
        observe(l, obj);
    } else {
        observe(l, obj);
        l->obj_fresh = true;
    }
    json_decref(obj);
    /* Our own write: the record is what we sent, seen now. */
    l->observed_time = mono_now();
    l->fail_streak = 0;
    become_leader(l);
    ev_timer_again(l->loop, &l->deadline);
}

static void release_finished(struct leader *l)
{
    l->phase = PH_STOPPED;
    void (*done)(void *) = l->release_done;
    l->release_done = NULL;
    if (done)
        done(l->release_ud);
}

static void release_write(struct leader *l)
{
    write_lease(l, RK_RELEASE, new_spec(l, "", 1, false), RELEASE_TIMEOUT_S);
}

static void handle_release(struct leader *l, long status, const char *body, const char *err)
{
    if (l->req_kind == RK_RELEASE_GET) {
        json_t *obj = status == 200 ? json_loads(body, 0, NULL) : NULL;
        if (obj &&
            strcmp(spec_str(json_object_get(obj, "spec"), "holderIdentity"), l->identity) == 0) {
            observe(l, obj);
            json_decref(obj);
            release_write(l);
            return;
        }
        json_decref(obj);
        log_info("leader", "lease %s/%s: no longer ours, nothing to release", l->ns, l->name);
    } else if (status >= 200 && status < 300) {
        log_info("leader", "lease %s/%s: released", l->ns, l->name);
    } else if (status == 409 && l->release_retries++ == 0) {
        /* A renewal we cancelled may have landed: read the new resourceVersion. */
        send_req(l, RK_RELEASE_GET, "GET", l->object_path, NULL, RELEASE_TIMEOUT_S);
        return;
    } else {
        log_warn("leader", "lease %s/%s: release failed (%ld): %.200s; it expires in %gs", l->ns,
                 l->name, status, err ? err : body, l->lease_duration);
    }
    release_finished(l);
}

static void req_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)len;
    struct leader *l = ud;
    l->req = NULL;
    const char *detail = err ? err : body;
    if (l->phase == PH_RELEASING) {
        handle_release(l, status, body, err);
        return;
    }
    switch (l->req_kind) {
    case RK_GET:
        if (status == 200) {
            json_t *obj = json_loads(body, 0, NULL);
            if (!json_is_object(obj)) {
                json_decref(obj);
                attempt_failed(l, "reading the lease", status, "not a JSON object");
                return;
            }
            observe(l, obj);
            json_decref(obj);
            decide(l);
        } else if (status == 404) {
            json_decref(l->obj);
            l->obj = NULL;
            json_decref(l->observed_spec);
            l->observed_spec = NULL;
            write_lease(l, RK_CREATE, new_spec(l, l->identity, ceil_s(l->lease_duration), false),
                        l->timeout_s);
        } else {
            attempt_failed(l, "reading the lease", status, detail);
        }
        return;
    case RK_RENEW:
        if (status >= 200 && status < 300) {
            wrote(l, body);
            return;
        }
        /* Stale or failed: read the lease and try again, as client-go does. */
        log_debug("leader", "lease %s/%s: quick renewal failed (%ld), reading it", l->ns, l->name,
                  status);
        l->obj_fresh = false;
        send_req(l, RK_GET, "GET", l->object_path, NULL, l->timeout_s);
        return;
    case RK_CREATE:
    case RK_UPDATE:
        if (status >= 200 && status < 300) {
            wrote(l, body);
        } else if (status == 409) {
            l->obj_fresh = false;
            log_debug("leader", "lease %s/%s: another replica wrote it first (409), retrying later",
                      l->ns, l->name);
        } else {
            attempt_failed(l,
                           l->req_kind == RK_CREATE ? "creating the lease" : "updating the lease",
                           status, detail);
        }
        return;
    default:
        return;
    }
}

static void attempt(struct leader *l)
{
    if (l->req || l->phase != PH_RUNNING)
        return;
    if (l->leading && l->obj && l->obj_fresh) {
        json_t *spec = new_spec(l, l->identity, ceil_s(l->lease_duration), true);
        write_lease(l, RK_RENEW, spec, l->timeout_s);
    } else {
        send_req(l, RK_GET, "GET", l->object_path, NULL, l->timeout_s);
    }
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    attempt(w->data);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct leader *l = w->data;
    char why[64];
    snprintf(why, sizeof(why), "no renewal for %gs", l->renew_deadline);
    kube_req_cancel(l->req); /* a renewal that late is stale */
    l->req = NULL;
    step_down(l, why);
}

void leader_start(struct leader *l)
{
    if (l->phase != PH_IDLE)
        return;
    l->phase = PH_RUNNING;
    log_info("leader", "lease %s/%s: campaigning as %s (lease %gs, renew deadline %gs, retry %gs)",
             l->ns, l->name, l->identity, l->lease_duration, l->renew_deadline, l->retry_period);
    ev_set_cb(&l->tick, tick_cb);
    ev_set_cb(&l->deadline, deadline_cb);
    ev_timer_set(&l->tick, 0., l->retry_period);
    ev_timer_start(l->loop, &l->tick);
}

void leader_release(struct leader *l, void (*done)(void *ud), void *ud)
{
    if (l->phase == PH_RELEASING) { /* already on its way: the first caller is told */
        if (done)
            done(ud);
        return;
    }
    ev_timer_stop(l->loop, &l->tick);
    kube_req_cancel(l->req);
    l->req = NULL;
    bool was_leading = l->leading;
    step_down(l, "releasing the lease");
    if (!was_leading || !l->obj) {
        l->phase = PH_STOPPED;
        if (done)
            done(ud);
        return;
    }
    l->phase = PH_RELEASING;
    l->release_done = done;
    l->release_ud = ud;
    l->release_retries = 0;
    release_write(l);
}

void leader_free(struct leader *l)
{
    if (!l)
        return;
    kube_req_cancel(l->req);
    ev_timer_stop(l->loop, &l->tick);
    ev_timer_stop(l->loop, &l->deadline);
    json_decref(l->obj);
    json_decref(l->observed_spec);
    json_decref(l->sent_spec);
    free(l->holder);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l->collection_path);
    free(l->object_path);
    free(l);
}

bool leader_is_leader(const struct leader *l)
{
    return l && l->leading;
}

const char *leader_holder(const struct leader *l)
{
    return l->holder;
}

const char *leader_identity(const struct leader *l)
{
    return l->identity;
}

json_t *leader_debug_json(const struct leader *l)
{
    char lease[512];
    snprintf(lease, sizeof(lease), "%s/%s", l->ns, l->name);
    return json_pack("{s:b, s:s, s:s, s:s, s:I}", "leader", l->leading, "holder", l->holder,
                     "identity", l->identity, "lease", lease, "transitions",
                     (json_int_t)l->transitions);
}

void leader_debug_handler(void *ud, const char *query, struct admin_response *resp)
{
    (void)query;
    json_t *doc = leader_debug_json(ud);
    resp->body = json_dumps(doc, JSON_INDENT(1));
    resp->len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "application/json";
    json_decref(doc);
}

void leader_default_identity(char *buf, size_t len)
{
    char host[256] = "";
    const char *pod = getenv("POD_NAME");
    if (pod && *pod)
        snprintf(host, sizeof(host), "%s", pod);
    else if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
        snprintf(host, sizeof(host), "spoke");
    snprintf(buf, len, "%s_%ld", host, (long)getpid());
}
