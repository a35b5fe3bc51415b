/* events.c - see events.h. */
#include "kube/events.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/log.h"

#define DEDUPE_WINDOW  600 /* seconds since the last occurrence */
#define MAX_EVENTS     4096
#define MAX_OBJECTS    1024 /* rate-limit buckets */
#define BURST          10.0
#define REFILL_SECONDS 6.0 /* one token each: 10 per minute */
#define MAX_INFLIGHT   128
#define REQ_TIMEOUT    30
#define NAME_MAX_LEN   236 /* + "." + 16 hex = 253, a DNS subdomain */
#define FIELD_MAX      253
#define REASON_MAX     128

/* ---- a small LRU map: string key -> node embedded in a bigger struct ---- */

struct lru_node {
    struct lru_node *hnext;       /* hash chain */
    struct lru_node *prev, *next; /* recency, most recent after head */
    uint64_t hash;
    char *key;
};

struct lru {
    struct lru_node **table;
    size_t nbuckets; /* power of two */
    size_t n, cap;
    struct lru_node head; /* sentinel of the recency ring */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void lru_init(struct lru *l, size_t cap)
{
    l->nbuckets = 1;
    while (l->nbuckets < cap * 2)
        l->nbuckets <<= 1;
    l->table = calloc(l->nbuckets, sizeof(*l->table));
    if (!l->table)
        abort();
    l->n = 0;
    l->cap = cap;
    l->head.prev = l->head.next = &l->head;
}

static void ring_unlink(struct lru_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

static void ring_push_front(struct lru *l, struct lru_node *n)
{
    n->prev = &l->head;
    n->next = l->head.next;
    l->head.next->prev = n;
    l->head.next = n;
}

/* The node for key (now the most recent), or NULL. */
static struct lru_node *lru_find(struct lru *l, const char *key)
{
    uint64_t h = hash_str(key);
    for (struct lru_node *n = l->table[h & (l->nbuckets - 1)]; n; n = n->hnext) {
        if (n->hash == h && strcmp(n->key, key) == 0) {
            ring_unlink(n);
            ring_push_front(l, n);
            return n;
        }
    }
    return NULL;
}

/* Takes key (malloc'd). The caller evicts first when l->n == l->cap. */
static void lru_insert(struct lru *l, struct lru_node *n, char *key)
{
    n->key = key;
    n->hash = hash_str(key);
    struct lru_node **b = &l->table[n->hash & (l->nbuckets - 1)];
    n->hnext = *b;
    *b = n;
    ring_push_front(l, n);
    l->n++;
}

/* Unlinks n (the caller frees it and its key). */
static void lru_remove(struct lru *l, struct lru_node *n)
{
    for (struct lru_node **p = &l->table[n->hash & (l->nbuckets - 1)]; *p; p = &(*p)->hnext) {
        if (*p == n) {
            *p = n->hnext;
            break;
        }
    }
    ring_unlink(n);
    l->n--;
}

static struct lru_node *lru_oldest(struct lru *l)
{
    return l->n ? l->head.prev : NULL;
}

/* ---- the recorder -------------------------------------------------------- */

struct ev_entry {
    struct lru_node node; /* first: key = the dedupe key */
    struct event_recorder *r;
    char *obj_key;   /* rate-limit bucket */
    char *ns, *name; /* the Event's */
    json_t *event;   /* the whole object, to create it again after a 404 */
    long count;      /* occurrences so far */
    long sent;       /* count in the request in flight or last written */
    time_t last;     /* last occurrence */
    struct kube_req *req;
    bool is_post; /* what req is */
    bool created; /* a POST succeeded */
    bool dirty;   /* count moved on since the last write */
};

struct obj_bucket {
    struct lru_node node; /* first: key = the object */
    double tokens;
    time_t stamp;
};

struct event_recorder {
    struct kube_http *http;
    char *component, *host;
    struct lru events, objects;
    uint64_t rng;
    int inflight;
    time_t (*now)(void *ud);
    void *now_ud;
    struct event_recorder_stats stats;
};

static time_t wall_clock(void *ud)
{
    (void)ud;
    return time(NULL);
}

static uint64_t next_rand(struct event_recorder *r)
{
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Printable ASCII only, at most max bytes (identifiers from the API server). */
static char *clean_ascii(const char *in, size_t max)
{
    size_t n = in ? strnlen(in, max) : 0;
    char *out = malloc(n + 1);
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[n] = '\0';
    return out;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0; sets *cp. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

void event_sanitize_message(const char *in, char *out)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t len = 0;
    bool cut = false;
    while (*s) {
        uint32_t cp = 0;
        size_t n = utf8_seq(s, &cp);
        const char *piece = (const char *)s;
        size_t plen = n;
        if (n == 0) {
            piece = "?";
            plen = 1;
            n = 1;
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
                   cp == 0x2029) {
            piece = " ";
            plen = 1;
        }
        if (len + plen > EVENT_MESSAGE_MAX) {
            cut = true;
            break;
        }
        memcpy(out + len, piece, plen);
        len += plen;
        s += n;
    }
    if (cut && len > EVENT_MESSAGE_MAX - 3) {
        len = EVENT_MESSAGE_MAX - 3;
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
            len--; /* back to the start of a character */
    }
    if (cut) {
        memcpy(out + len, "...", 3);
        len += 3;
    }
    out[len] = '\0';
}

static void rfc3339(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A DNS label as Kubernetes namespaces are. */
static bool valid_namespace(const char *ns)
{
    size_t n = strlen(ns);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '-'))
            return false;
    return true;
}

struct event_recorder *event_recorder_new(struct kube_http *http, const char *component,
                                          const char *host)
{
    struct event_recorder *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->http = http;
    r->component = clean_ascii(component && *component ? component : "spoke", FIELD_MAX);
    r->host = host && *host ? clean_ascii(host, FIELD_MAX) : NULL;
    lru_init(&r->events, MAX_EVENTS);
    lru_init(&r->objects, MAX_OBJECTS);
    if (getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) != (ssize_t)sizeof(r->rng))
        r->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    r->now = wall_clock;
    return r;
}

static void entry_free(struct event_recorder *r, struct ev_entry *e)
{
    if (e->req) {
        kube_req_cancel(e->req);
        r->inflight--;
    }
    lru_remove(&r->events, &e->node);
    free(e->node.key);
    free(e->obj_key);
    free(e->ns);
    free(e->name);
    json_decref(e->event);
    free(e);
}

void event_recorder_free(struct event_recorder *r)
{
    if (!r)
        return;
    struct lru_node *n;
    while ((n = lru_oldest(&r->events)))
        entry_free(r, (struct ev_entry *)n);
    while ((n = lru_oldest(&r->objects))) {
        lru_remove(&r->objects, n);
        free(n->key);
        free(n);
    }
    free(r->events.table);
    free(r->objects.table);
    free(r->component);
    free(r->host);
    free(r);
}

void event_recorder_set_clock(struct event_recorder *r, time_t (*now)(void *ud), void *ud)
{
    r->now = now ? now : wall_clock;
    r->now_ud = ud;
}

void event_recorder_stats(const struct event_recorder *r, struct event_recorder_stats *out)
{
    *out = r->stats;
}

/* Takes a token from the object's bucket; false when it is empty. */
static bool take_token(struct event_recorder *r, const char *obj_key, time_t now)
{
    struct obj_bucket *b = (struct obj_bucket *)lru_find(&r->objects, obj_key);
    if (!b) {
        if (r->objects.n == r->objects.cap) {
            struct lru_node *old = lru_oldest(&r->objects);
            lru_remove(&r->objects, old);
            free(old->key);
            free(old);
        }
        b = calloc(1, sizeof(*b));
        char *key = strdup(obj_key);
        if (!b || !key)
            abort();
        b->tokens = BURST;
        b->stamp = now;
        lru_insert(&r->objects, &b->node, key);
    }
    if (now > b->stamp) {
        b->tokens += (double)(now - b->stamp) / REFILL_SECONDS;
        if (b->tokens > BURST)
            b->tokens = BURST;
        b->stamp = now;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

static void request_done(void *ud, long status, const char *body, size_t len, const char *err);

static bool send_request(struct ev_entry *e, bool post)
{
    struct event_recorder *r = e->r;
    char path[512], ts[32];
    rfc3339(e->last, ts, sizeof(ts));
    json_object_set_new(e->event, "count", json_integer(e->count));
    json_object_set_new(e->event, "lastTimestamp", json_string(ts));
    json_t *doc;
    if (post) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", e->ns);
        doc = json_incref(e->event);
    } else {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events/%s", e->ns, e->name);
        doc = json_pack("{s:I, s:s}", "count", (json_int_t)e->count, "lastTimestamp", ts);
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return false;
    e->req = kube_http_request(r->http, post ? "POST" : "PATCH", path,
                               post ? "application/json" : "application/merge-patch+json", text,
                               REQ_TIMEOUT, request_done, e);
    free(text);
    if (!e->req)
        return false;
    e->is_post = post;
    e->sent = e->count;
    e->dirty = false;
    r->inflight++;
    return true;
}

/* A repeat whose count has not been written yet: patch it if allowed. */
static void flush(struct ev_entry *e, time_t now)
{
    if (e->req || !e->dirty || !e->created)
        return;
    if (!take_token(e->r, e->obj_key, now)) {
        log_debug("events", "%s/%s: count update deferred (rate limit)", e->ns, e->name);
        return;
    }
    if (!send_request(e, false))
        e->dirty = true;
}

static void request_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)len;
    struct ev_entry *e = ud;
    struct event_recorder *r = e->r;
    const bool was_post = e->is_post;
    e->req = NULL;
    r->inflight--;
    if (status >= 200 && status < 300) {
        if (was_post)
            r->stats.created++;
        else
            r->stats.patched++;
        e->created = true;
        if (e->count != e->sent)
            e->dirty = true;
        flush(e, r->now(r->now_ud));
        return;
    }
    if (!was_post && status == 404) {
        /* garbage-collected meanwhile: create it again, same name and count */
        log_debug("events", "%s/%s: gone, creating it again", e->ns, e->name);
        e->created = false;
        if (!send_request(e, true))
            entry_free(r, e);
        return;
    }
    r->stats.failed++;
    log_warn("events", "Event %s/%s: %s failed (%ld): %.200s", e->ns, e->name,
             was_post ? "create" : "update", status, err ? err : body);
    if (was_post || !e->created)
        entry_free(r, e); /* the next occurrence tries again */
    else
        e->dirty = true; /* the next occurrence patches again */
}

static json_t *build_event(struct event_recorder *r, const char *event_name, const char *ev_ns,
                           const char *kind, const char *api_version, const char *ns,
                           const char *name, const char *uid, const char *type, const char *reason,
                           const char *message, time_t now)
{
    char ts[32];
    rfc3339(now, ts, sizeof(ts));
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "apiVersion", api_version,
                            "namespace", ns, "name", name);
    if (obj && uid && *uid)
        json_object_set_new(obj, "uid", json_string(uid));
    json_t *source = json_pack("{s:s}", "component", r->component);
    if (source && r->host)
        json_object_set_new(source, "host", json_string(r->host));
    json_t *ev =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:o, s:s, s:s, s:I, "
                  "s:s}",
                  "apiVersion", "v1", "kind", "Event", "metadata", "name", event_name, "namespace",
                  ev_ns, "involvedObject", obj, "reason", reason, "message", message, "type", type,
                  "source", source, "firstTimestamp", ts, "lastTimestamp", ts, "count",
                  (json_int_t)1, "reportingComponent", r->component);
    if (ev && r->host)
        json_object_set_new(ev, "reportingInstance", json_string(r->host));
    return ev;
}

void event_record(struct event_recorder *r, const char *kind, const char *api_version,
                  const char *ns, const char *name, const char *uid, const char *type,
                  const char *reason, const char *message)
{
    /* a cluster-scoped object's Events go to "default", as client-go does */
    const char *ev_ns = ns && *ns ? ns : "default";
    if (!r || !kind || !api_version || !name || !*name || !valid_namespace(ev_ns)) {
        log_warn("events", "event on an object without a valid namespace/name dropped");
        return;
    }
    if (!ns)
        ns = "";
    char msg[EVENT_MESSAGE_MAX + 1];
    event_sanitize_message(message, msg);
    char rsn[REASON_MAX + 1];
    size_t rl = 0;
    for (const char *p = reason ? reason : ""; *p && rl < REASON_MAX; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            rsn[rl++] = *p;
    rsn[rl] = '\0';
    if (!rl)
        snprintf(rsn, sizeof(rsn), "Unknown");
    const char *typ = type && strcmp(type, "Normal") == 0 ? "Normal" : "Warning";
    char *k = clean_ascii(kind, FIELD_MAX), *av = clean_ascii(api_version, FIELD_MAX);
    char *nm = clean_ascii(name, FIELD_MAX), *id = uid ? clean_ascii(uid, FIELD_MAX) : NULL;

    size_t olen = strlen(k) + strlen(av) + strlen(ns) + strlen(nm) + (id ? strlen(id) : 0) + 8;
    char *obj_key = malloc(olen);
    size_t klen = olen + strlen(typ) + strlen(rsn) + strlen(msg) + 4;
    char *key = malloc(klen);
    if (!obj_key || !key)
        abort();
    snprintf(obj_key, olen, "%s\x1f%s\x1f%s\x1f%s\x1f%s", k, av, ns, nm, id ? id : "");
    snprintf(key, klen, "%s\x1f%s\x1f%s\x1f%s", obj_key, typ, rsn, msg);
    time_t now = r->now(r->now_ud);
    r->stats.recorded++;

    struct ev_entry *e = (struct ev_entry *)lru_find(&r->events, key);
    if (e && now - e->last <= DEDUPE_WINDOW && (e->created || e->req)) {
        e->count++;
        e->last = now;
        e->dirty = true;
        flush(e, now); /* waits for the request in flight, if any */
        goto out;
    }
    if (e)
        entry_free(r, e); /* too old, or never written: a new Event */
    if (r->inflight >= MAX_INFLIGHT || !take_token(r, obj_key, now)) {
        r->stats.dropped++;
        log_debug("events", "%s %s/%s: event %s dropped (rate limit): %s", k, ns, nm, rsn, msg);
        goto out;
    }
    if (r->events.n == r->events.cap)
        entry_free(r, (struct ev_entry *)lru_oldest(&r->events));

    e = calloc(1, sizeof(*e));
    char event_name[NAME_MAX_LEN + 18];
    int nl = 0;
    for (; nl < NAME_MAX_LEN && nm[nl]; nl++) { /* a DNS subdomain, like the object's */
        char ch = nm[nl];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
            ch = '-';
        event_name[nl] = ch;
    }
    snprintf(event_name + nl, sizeof(event_name) - (size_t)nl, ".%016llx",
             (unsigned long long)next_rand(r));
    if (!e || !(e->ns = strdup(ev_ns)) || !(e->name = strdup(event_name)))
        abort();
    e->r = r;
    e->obj_key = obj_key;
    obj_key = NULL;
    e->count = 1;
    e->last = now;
    e->event = build_event(r, event_name, ev_ns, k, av, ns, nm, id, typ, rsn, msg, now);
    lru_insert(&r->events, &e->node, key);
    key = NULL;
    if (!e->event || !send_request(e, true)) {
        r->stats.failed++;
        log_warn("events", "%s %s/%s: could not send event %s", k, ns, nm, rsn);
        entry_free(r, e);
    }
out:
    free(key);
    free(obj_key);
    free(k);
    free(av);
    free(nm);
    free(id);
}
