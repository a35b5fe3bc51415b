/* cache.c - see cache.h. */
#include "kube/cache.h"

#include <stdlib.h>

#include "util/log.h"

static const struct kube_resource *const watched[] = {
    &KUBE_INGRESSCLASSES, &KUBE_INGRESSES, &KUBE_SERVICES,
    &KUBE_ENDPOINTSLICES, &KUBE_SECRETS,   &KUBE_INGRESSPARAMETERS,
};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))
#define NMAX     (NWATCHED + KUBE_CACHE_MAX_EXTRA)

struct kube_cache {
    struct ev_loop *loop;
    struct kube_http *http;
    size_t n; /* resources watched: watched[] then those kube_cache_add()ed */
    const struct kube_resource *res[NMAX];
    struct store *stores[NMAX];
    struct informer *informers[NMAX];
    bool started;
    ev_timer debounce;
    double debounce_seconds;
    unsigned long pending_events;
    ev_tstamp last_fire; /* when on_change last ran */
    bool was_synced;
    kube_cache_change_fn on_change;
    void *ud;
};

/* A rate limit rather than a fixed delay: a change after a quiet period is
 * handled almost at once (1 ms, so the events of one read still coalesce);
 * during a burst, on_change runs at most once per debounce interval. */
#define COALESCE_SECONDS 0.001

static void note_change(struct kube_cache *c)
{
    c->pending_events++;
    if (!ev_is_active(&c->debounce)) {
        double wait = c->last_fire + c->debounce_seconds - ev_now(c->loop);
        ev_timer_set(&c->debounce, wait > COALESCE_SECONDS ? wait : COALESCE_SECONDS, 0.);
        ev_timer_start(c->loop, &c->debounce);
    }
}

static void on_add(void *ud, json_t *obj)
{
    (void)obj;
    note_change(ud);
}

static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
    (void)old_obj;
    (void)new_obj;
    note_change(ud);
}

static void on_delete(void *ud, json_t *obj)
{
    (void)obj;
    note_change(ud);
}

static void debounce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct kube_cache *c = w->data;
    bool synced = kube_cache_synced(c);
    if (!synced) {
        /* Wait for every first LIST: a partial view would drop routes. */
        ev_timer_set(&c->debounce, c->debounce_seconds, 0.);
        ev_timer_start(c->loop, &c->debounce);
        return;
    }
    if (!c->was_synced) {
        c->was_synced = true;
        log_info("cache", "all %zu resources synced", c->n);
    }
    unsigned long events = c->pending_events;
    c->pending_events = 0;
    c->last_fire = ev_now(c->loop);
    if (c->on_change)
        c->on_change(c->ud, events);
}

struct kube_cache *kube_cache_new(struct ev_loop *loop, struct kube_http *http, const char *ns,
                                  double debounce_seconds, kube_cache_change_fn on_change, void *ud)
{
    struct kube_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = loop;
    c->http = http;
    c->debounce_seconds = debounce_seconds;
    c->on_change = on_change;
    c->ud = ud;
    ev_timer_init(&c->debounce, debounce_cb, 0., 0.);
    c->debounce.data = c;
    for (size_t i = 0; i < NWATCHED; i++)
        if (kube_cache_add(c, watched[i], ns) < 0) {
            kube_cache_free(c);
            return NULL;
        }
    return c;
}

int kube_cache_add(struct kube_cache *c, const struct kube_resource *res, const char *ns)
{
    if (c->started || c->n == NMAX || kube_cache_store(c, res))
        return -1;
    const struct store_handlers handlers = {on_add, on_update, on_delete, c};
    struct store *st = store_new(res->kind, &handlers);
    struct informer *inf = st ? informer_new(c->loop, c->http, res, ns, st) : NULL;
    if (!inf) {
        if (st)
            store_free(st);
        return -1;
    }
    c->res[c->n] = res;
    c->stores[c->n] = st;
    c->informers[c->n] = inf;
    c->n++;
    return 0;
}

void kube_cache_start(struct kube_cache *c)
{
    c->started = true;
    for (size_t i = 0; i < c->n; i++)
        informer_start(c->informers[i]);
    /* Fire once after the first sync even when every list is empty. */
    note_change(c);
}

void kube_cache_free(struct kube_cache *c)
{
    if (!c)
        return;
    ev_timer_stop(c->loop, &c->debounce);
    for (size_t i = 0; i < c->n; i++) {
        informer_free(c->informers[i]);
        store_free(c->stores[i]);
    }
    free(c);
}

bool kube_cache_synced(const struct kube_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (!informer_synced(c->informers[i]))
            return false;
    return true;
}

size_t kube_cache_count(const struct kube_cache *c)
{
    return c->n;
}

const struct informer *kube_cache_informer(const struct kube_cache *c, size_t i)
{
    return i < c->n ? c->informers[i] : NULL;
}

struct store *kube_cache_store_at(const struct kube_cache *c, size_t i)
{
    return i < c->n ? c->stores[i] : NULL;
}

struct store *kube_cache_store(const struct kube_cache *c, const struct kube_resource *res)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->res[i] == res)
            return c->stores[i];
    return NULL;
}
