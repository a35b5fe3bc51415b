/*
 * informer.c - keeps a store equal to one resource: LIST, then WATCH (see informer.h).
 *
 * At most one request is in flight per informer: a LIST page, a WATCH
 * stream, or none while the retry timer waits. Every path ends in one of
 * start_list(), start_watch() or retry_later(), so the informer can never
 * stall or run two requests at once.
 */
#include "kube/informer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/watch_parser.h"
#include "util/log.h"

#define PAGE_LIMIT        500
#define LIST_TIMEOUT_S    120L
#define BACKOFF_MIN       0.5
#define BACKOFF_MAX       30.0
#define NOT_FOUND_RETRY   30.0
#define MAX_WATCH_EVENT   ((size_t)64 << 20)
#define WATCH_TIMEOUT_MIN 300 /* seconds, randomised per watch like client-go */
#define WATCH_TIMEOUT_MAX 600
#define SHORT_WATCH       1.0 /* a watch ending this fast with no event is suspicious */

enum step { STEP_LIST, STEP_WATCH };
enum watch_outcome { OUTCOME_NONE, OUTCOME_RELIST, OUTCOME_BACKOFF };

struct informer {
    struct ev_loop *loop;
    struct kube_http *http;
    const struct kube_resource *res;
    struct store *store;
    char *ns;
    char *path;  /* the collection, e.g. /apis/networking.k8s.io/v1/ingresses */
    char *label; /* for logs: "ingresses" or "ingresses in team-a" */
    char *api_version;

    struct kube_req *req;
    ev_timer retry;
    enum step next_step; /* what the retry timer starts */
    bool started, synced, not_found_logged;
    double backoff;
    uint64_t rng;

    json_t *items; /* the pages of the LIST in progress */
    char *cont;    /* continue token of its next page */
    char *rv;      /* last resourceVersion seen */

    struct watch_parser parser;
    enum watch_outcome outcome; /* set by an event that ended the stream */
    unsigned long stream_events;
    ev_tstamp watch_started;

    struct informer_stats stats;
};

static void start_list(struct informer *inf);
static void start_watch(struct informer *inf, const char *why);

/* ---- small helpers ----------------------------------------------------- */

static double random_unit(struct informer *inf) /* [0, 1) */
{
    uint64_t x = inf->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    inf->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void set_rv(struct informer *inf, const char *rv)
{
    if (!rv || !rv[0] || (inf->rv && strcmp(inf->rv, rv) == 0))
        return;
    char *copy = strdup(rv);
    if (!copy)
        return;
    free(inf->rv);
    inf->rv = copy;
}

static const char *object_rv(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/* Append s to out percent-encoded (everything but RFC 3986 unreserved). */
static char *append_escaped(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *out++ = (char)*p;
        } else {
            *out++ = '%';
            *out++ = hex[*p >> 4];
            *out++ = hex[*p & 15];
        }
    }
    *out = '\0';
    return out;
}

/* path + prefix + escaped(value) + suffix, malloc'd. */
static char *build_query(const char *path, const char *prefix, const char *value,
                         const char *suffix)
{
    size_t n = strlen(path) + strlen(prefix) + 3 * strlen(value) + strlen(suffix) + 1;
    char *q = malloc(n);
    if (!q)
        return NULL;
    char *end = q + snprintf(q, n, "%s%s", path, prefix);
    end = append_escaped(end, value);
    snprintf(end, n - (size_t)(end - q), "%s", suffix);
    return q;
}

/* The message of a Kubernetes Status body, or the start of whatever it is. */
static const char *status_message(const char *body, size_t len, char *buf, size_t buflen)
{
    json_t *root = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    if (msg) {
        snprintf(buf, buflen, "%s", msg);
    } else {
        size_t n = len < buflen - 1 ? len : buflen - 1;
        for (size_t i = 0; i < n; i++)
            buf[i] = body[i] == '\n' || body[i] == '\r' ? ' ' : body[i];
        buf[n] = '\0';
        if (!n)
            snprintf(buf, buflen, "(no message)");
    }
    json_decref(root);
    return buf;
}

/* ---- timing ------------------------------------------------------------ */

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct informer *inf = w->data;
    if (inf->next_step == STEP_LIST)
        start_list(inf);
    else
        start_watch(inf, "retrying");
}

static void retry_in(struct informer *inf, enum step step, double delay)
{
    inf->next_step = step;
    ev_timer_stop(inf->loop, &inf->retry);
    ev_timer_set(&inf->retry, delay, 0.);
    ev_timer_start(inf->loop, &inf->retry);
}

/* The next backoff delay (with +-20 % jitter); doubles the one after it. */
static double next_backoff(struct informer *inf)
{
    double d = inf->backoff * (0.8 + 0.4 * random_unit(inf));
    inf->backoff = inf->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : inf->backoff * 2;
    return d;
}

static void reset_backoff(struct informer *inf)
{
    inf->backoff = BACKOFF_MIN;
}

/* ---- LIST -------------------------------------------------------------- */

static void list_failed(struct informer *inf, const char *what)
{
    inf->stats.errors++;
    double d = next_backoff(inf);
    log_error("informer", "%s: list failed: %s; retrying in %.1f s", inf->label, what, d);
    json_decref(inf->items);
    inf->items = NULL;
    free(inf->cont);
    inf->cont = NULL;
    retry_in(inf, STEP_LIST, d);
}

static void list_done(void *ud, long status, const char *body, size_t len, const char *err);

static void request_page(struct informer *inf)
{
    char limit[64];
    snprintf(limit, sizeof(limit), "?limit=%d%s", PAGE_LIMIT, inf->cont ? "&continue=" : "");
    char *q = build_query(inf->path, limit, inf->cont ? inf->cont : "", "");
    inf->req =
        q ? kube_http_request(inf->http, "GET", q, NULL, NULL, LIST_TIMEOUT_S, list_done, inf)
          : NULL;
    free(q);
    if (!inf->req)
        list_failed(inf, "cannot start the request");
}

static void start_list(struct informer *inf)
{
    json_decref(inf->items);
    inf->items = json_array();
    free(inf->cont);
    inf->cont = NULL;
    if (!inf->items) {
        list_failed(inf, "out of memory");
        return;
    }
    request_page(inf);
}

static void list_not_found(struct informer *inf)
{
    json_decref(inf->items);
    inf->items = NULL;
    free(inf->cont);
    inf->cont = NULL;
    json_t *empty = json_array();
    size_t changes = store_replace(inf->store, empty);
    json_decref(empty);
    inf->synced = true;
    enum log_level level = inf->not_found_logged ? LOG_DEBUG : LOG_INFO;
    inf->not_found_logged = true;
    log_msg(level, "informer",
            "%s: not found on the server (404, %s/%s not installed?); treating as empty "
            "(%zu changes), retrying every %.0f s",
            inf->label, inf->res->group[0] ? inf->res->group : "core", inf->res->version, changes,
            NOT_FOUND_RETRY);
    retry_in(inf, STEP_LIST, NOT_FOUND_RETRY);
}

/* Items of a LIST carry no kind/apiVersion; give them the watch's shape. */
/* What the agent never reads and a real cluster attaches to every object:
 * server-side-apply bookkeeping and kubectl's copy of the whole applied
 * object. Dropped as objects arrive, they do not cost memory for as long as
 * the object is cached. */
static void trim_object(json_t *item)
{
    json_t *md = json_object_get(item, "metadata");
    json_object_del(md, "managedFields");
    json_object_del(json_object_get(md, "annotations"),
                    "kubectl.kubernetes.io/last-applied-configuration");
}

static void add_type_meta(struct informer *inf, json_t *item)
{
    if (!json_object_get(item, "kind"))
        json_object_set_new(item, "kind", json_string(inf->res->kind));
    if (!json_object_get(item, "apiVersion"))
        json_object_set_new(item, "apiVersion", json_string(inf->api_version));
}

static void list_page_done(struct informer *inf, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
    json_t *items = json_object_get(root, "items");
    json_t *meta = json_object_get(root, "metadata");
    if (!json_is_object(root) || !(json_is_array(items) || json_is_null(items) || !items)) {
        char what[300];
        snprintf(what, sizeof(what), "malformed list response: %s",
                 root ? "no \"items\" array" : jerr.text);
        json_decref(root);
        list_failed(inf, what);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item))
            continue;
        trim_object(item);
        add_type_meta(inf, item);
        json_array_append(inf->items, item);
    }
    const char *cont = json_string_value(json_object_get(meta, "continue"));
    if (cont && cont[0]) {
        char *copy = strdup(cont);
        json_decref(root);
        free(inf->cont);
        inf->cont = copy;
        if (!copy) {
            list_failed(inf, "out of memory");
            return;
        }
        request_page(inf);
        return;
    }
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (!rv || !rv[0]) {
        json_decref(root);
        list_failed(inf, "list response has no metadata.resourceVersion");
        return;
    }
    set_rv(inf, rv);
    json_decref(root);
    free(inf->cont);
    inf->cont = NULL;

    json_t *all = inf->items;
    inf->items = NULL;
    size_t changes = store_replace(inf->store, all);
    size_t count = json_array_size(all);
    json_decref(all);
    inf->synced = true;
    inf->not_found_logged = false;
    inf->stats.lists++;
    if (inf->stats.lists > 1)
        inf->stats.relists++;
    reset_backoff(inf);
    log_info("informer", "%s: listed %zu objects at resourceVersion %s (%zu changes)", inf->label,
             count, inf->rv, changes);
    start_watch(inf, "after list");
}

static void list_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct informer *inf = ud;
    inf->req = NULL;
    char what[512];
    if (err) {
        list_failed(inf, err);
    } else if (status == 200) {
        list_page_done(inf, body, len);
    } else if (status == 410 && inf->cont) {
        log_info("informer", "%s: list continue token expired (410 Gone); listing from the start",
                 inf->label);
        start_list(inf);
    } else if (status == 404) {
        list_not_found(inf);
    } else {
        char msg[400];
        snprintf(what, sizeof(what), "HTTP %ld: %s", status,
                 status_message(body, len, msg, sizeof(msg)));
        list_failed(inf, what);
    }
}

/* ---- WATCH ------------------------------------------------------------- */

static int on_event(void *ud, enum watch_event_type type, json_t *object)
{
    struct informer *inf = ud;
    switch (type) {
    case WATCH_ADDED:
    case WATCH_MODIFIED:
        trim_object(object);
        if (store_upsert(inf->store, object) < 0) {
            log_warn("informer", "%s: ignoring a %s event for an object without a name", inf->label,
                     watch_event_type_name(type));
        } else {
            inf->stats.watch_events++;
        }
        set_rv(inf, object_rv(object));
        break;
    case WATCH_DELETED:
        store_delete(inf->store, object);
        inf->stats.watch_events++;
        set_rv(inf, object_rv(object));
        break;
    case WATCH_BOOKMARK:
        set_rv(inf, object_rv(object));
        break;
    case WATCH_ERROR: {
        json_int_t code = json_integer_value(json_object_get(object, "code"));
        const char *msg = json_string_value(json_object_get(object, "message"));
        if (code == 410) {
            log_info("informer", "%s: resourceVersion %s expired (410 Gone: %s); re-listing",
                     inf->label, inf->rv ? inf->rv : "", msg ? msg : "no message");
            inf->outcome = OUTCOME_RELIST;
        } else {
            inf->stats.errors++;
            log_error("informer", "%s: watch error event %lld: %s", inf->label, (long long)code,
                      msg ? msg : "no message");
            inf->outcome = OUTCOME_BACKOFF;
        }
        return 1;
    }
    }
    if (inf->stream_events++ == 0)
        reset_backoff(inf); /* this watch works */
    return 0;
}

static int watch_data(void *ud, long status, const char *data, size_t len)
{
    struct informer *inf = ud;
    if (status != 200)
        return 0; /* an error Status: watch_done gets it whole */
    int rc = watch_parser_feed(&inf->parser, data, len, on_event, inf);
    if (rc < 0) {
        inf->stats.errors++;
        log_error("informer", "%s: malformed watch stream: %s", inf->label, inf->parser.error);
        inf->outcome = OUTCOME_BACKOFF;
        return 1;
    }
    return rc;
}

static void watch_failed(struct informer *inf, const char *what)
{
    inf->stats.errors++;
    double d = next_backoff(inf);
    log_error("informer", "%s: watch failed: %s; retrying in %.1f s", inf->label, what, d);
    retry_in(inf, STEP_WATCH, d);
}

static void watch_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct informer *inf = ud;
    inf->req = NULL;
    watch_parser_reset(&inf->parser);
    enum watch_outcome outcome = inf->outcome;
    inf->outcome = OUTCOME_NONE;
    double lasted = ev_now(inf->loop) - inf->watch_started;
    char what[512];
    if (outcome == OUTCOME_RELIST) {
        start_list(inf);
    } else if (outcome == OUTCOME_BACKOFF) {
        double d = next_backoff(inf);
        log_info("informer", "%s: watching again in %.1f s", inf->label, d);
        retry_in(inf, STEP_WATCH, d);
    } else if (err) {
        watch_failed(inf, err);
    } else if (status == 200) {
        if (inf->stream_events == 0 && lasted < SHORT_WATCH) {
            double d = next_backoff(inf);
            log_warn("informer", "%s: watch closed after %.1f s without events; retrying in %.1f s",
                     inf->label, lasted, d);
            retry_in(inf, STEP_WATCH, d);
        } else {
            snprintf(what, sizeof(what), "stream ended after %.0f s, %lu events", lasted,
                     inf->stream_events);
            start_watch(inf, what);
        }
    } else if (status == 410) {
        log_info("informer", "%s: resourceVersion %s expired (HTTP 410 Gone); re-listing",
                 inf->label, inf->rv ? inf->rv : "");
        start_list(inf);
    } else {
        char msg[400];
        snprintf(what, sizeof(what), "HTTP %ld: %s", status,
                 status_message(body, len, msg, sizeof(msg)));
        watch_failed(inf, what);
    }
}

static void start_watch(struct informer *inf, const char *why)
{
    long timeout =
        WATCH_TIMEOUT_MIN + (long)(random_unit(inf) * (WATCH_TIMEOUT_MAX - WATCH_TIMEOUT_MIN + 1));
    char suffix[64];
    snprintf(suffix, sizeof(suffix), "&timeoutSeconds=%ld", timeout);
    char *q = build_query(inf->path, "?watch=1&allowWatchBookmarks=true&resourceVersion=",
                          inf->rv ? inf->rv : "", suffix);
    watch_parser_reset(&inf->parser);
    inf->outcome = OUTCOME_NONE;
    inf->stream_events = 0;
    ev_now_update(inf->loop);
    inf->watch_started = ev_now(inf->loop);
    inf->req = q ? kube_http_stream(inf->http, q, watch_data, watch_done, inf) : NULL;
    free(q);
    if (!inf->req) {
        watch_failed(inf, "cannot start the request");
        return;
    }
    inf->stats.watches++;
    log_info("informer", "%s: watching from resourceVersion %s (%s)", inf->label,
             inf->rv ? inf->rv : "", why);
}

/* ---- public API -------------------------------------------------------- */

struct informer *informer_new(struct ev_loop *loop, struct kube_http *http,
                              const struct kube_resource *res, const char *ns, struct store *store)
{
    if (!loop || !http || !res || !store)
        return NULL;
    struct informer *inf = calloc(1, sizeof(*inf));
    if (!inf)
        return NULL;
    inf->loop = loop;
    inf->http = http;
    inf->res = res;
    inf->store = store;
    inf->ns = ns && ns[0] ? strdup(ns) : NULL;
    inf->backoff = BACKOFF_MIN;
    inf->rng =
        (uint64_t)(ev_time() * 1e6) ^ ((uint64_t)(uintptr_t)inf << 16) ^ 0x9E3779B97F4A7C15ULL;
    if (!inf->rng)
        inf->rng = 1;
    watch_parser_init(&inf->parser, MAX_WATCH_EVENT);
    ev_timer_init(&inf->retry, retry_cb, 0., 0.);
    inf->retry.data = inf;

    char path[1024];
    bool scoped = inf->ns && res->namespaced;
    size_t llen = strlen(res->plural) + (scoped ? strlen(inf->ns) + 5 : 0) + 1;
    size_t alen = strlen(res->group) + strlen(res->version) + 2;
    if (kube_resource_path(res, inf->ns, path, sizeof(path)) >= 0)
        inf->path = strdup(path);
    inf->label = malloc(llen);
    inf->api_version = malloc(alen);
    if ((ns && ns[0] && !inf->ns) || !inf->path || !inf->label || !inf->api_version) {
        informer_free(inf);
        return NULL;
    }
    snprintf(inf->label, llen, "%s%s%s", res->plural, scoped ? " in " : "", scoped ? inf->ns : "");
    snprintf(inf->api_version, alen, "%s%s%s", res->group, res->group[0] ? "/" : "", res->version);
    return inf;
}

void informer_start(struct informer *inf)
{
    if (!inf || inf->started)
        return;
    inf->started = true;
    start_list(inf);
}

void informer_free(struct informer *inf)
{
    if (!inf)
        return;
    kube_req_cancel(inf->req);
    ev_timer_stop(inf->loop, &inf->retry);
    watch_parser_free(&inf->parser);
    json_decref(inf->items);
    free(inf->cont);
    free(inf->rv);
    free(inf->ns);
    free(inf->path);
    free(inf->label);
    free(inf->api_version);
    free(inf);
}

bool informer_synced(const struct informer *inf)
{
    return inf && inf->synced;
}

const char *informer_resource_version(const struct informer *inf)
{
    return inf && inf->rv ? inf->rv : "";
}

const struct informer_stats *informer_stats(const struct informer *inf)
{
    return &inf->stats;
}

const struct kube_resource *informer_resource(const struct informer *inf)
{
    return inf->res;
}
