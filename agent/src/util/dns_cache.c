/* dns_cache.c - see dns_cache.h. */
#include "util/dns_cache.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"

#define MAX_ADDRS 16

struct entry {
    char *name;
    char addrs[MAX_ADDRS][DNS_ADDR_MAX];
    size_t n;
    ev_tstamp resolved_at; /* 0: never */
    bool pending;
};

/* What the loop and the lookup threads share; it outlives the cache until
 * the last thread is done (refs). */
struct shared {
    pthread_mutex_t lock;
    int refs;
    bool closed;
    struct ev_loop *loop;
    ev_async wake;
    struct answer *answers; /* finished lookups, for the loop */
};

struct answer {
    struct answer *next;
    struct shared *shared;
    char *name;
    char addrs[MAX_ADDRS][DNS_ADDR_MAX];
    size_t n;
    int error; /* getaddrinfo's */
};

struct dns_cache {
    struct ev_loop *loop;
    double ttl;
    void (*on_change)(void *ud);
    void *ud;
    struct shared *shared;
    struct entry *entries;
    size_t n_entries;
};

static void shared_unref(struct shared *s)
{
    pthread_mutex_lock(&s->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last)
        return;
    while (s->answers) {
        struct answer *a = s->answers;
        s->answers = a->next;
        free(a->name);
        free(a);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int cmp_addr(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void *resolve(void *arg)
{
    struct answer *a = arg;
    struct shared *s = a->shared;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    a->error = getaddrinfo(a->name, NULL, &hints, &res);
    for (struct addrinfo *ai = res; ai && a->n < MAX_ADDRS; ai = ai->ai_next) {
        char buf[DNS_ADDR_MAX];
        const void *src = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (!inet_ntop(ai->ai_family, src, buf, sizeof(buf)))
            continue;
        bool dup = false;
        for (size_t i = 0; i < a->n; i++)
            dup = dup || strcmp(a->addrs[i], buf) == 0;
        if (!dup)
            memcpy(a->addrs[a->n++], buf, sizeof(buf));
    }
    if (res)
        freeaddrinfo(res);
    qsort(a->addrs, a->n, DNS_ADDR_MAX, cmp_addr);
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        free(a->name);
        free(a);
    } else {
        a->next = s->answers;
        s->answers = a;
        ev_async_send(s->loop, &s->wake);
    }
    pthread_mutex_unlock(&s->lock);
    shared_unref(s);
    return NULL;
}

static struct entry *find(struct dns_cache *c, const char *name)
{
    for (size_t i = 0; i < c->n_entries; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return &c->entries[i];
    return NULL;
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct dns_cache *c = w->data;
    pthread_mutex_lock(&c->shared->lock);
    struct answer *list = c->shared->answers;
    c->shared->answers = NULL;
    pthread_mutex_unlock(&c->shared->lock);
    bool changed = false;
    while (list) {
        struct answer *a = list;
        list = a->next;
        struct entry *e = find(c, a->name);
        if (e) {
            e->pending = false;
            e->resolved_at = ev_now(c->loop);
            if (a->error)
                log_warn("dns", "%s: %s", a->name, gai_strerror(a->error));
            if (e->n != a->n || memcmp(e->addrs, a->addrs, sizeof(e->addrs)) != 0) {
                memcpy(e->addrs, a->addrs, sizeof(e->addrs));
                e->n = a->n;
                changed = true;
                log_info("dns", "%s: %zu address%s", a->name, a->n, a->n == 1 ? "" : "es");
            }
        }
        free(a->name);
        free(a);
    }
    if (changed && c->on_change)
        c->on_change(c->ud);
}

struct dns_cache *dns_cache_new(struct ev_loop *loop, double ttl, void (*on_change)(void *ud),
                                void *ud)
{
    struct dns_cache *c = calloc(1, sizeof(*c));
    struct shared *s = calloc(1, sizeof(*s));
    if (!c || !s)
        abort();
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 1;
    s->loop = loop;
    ev_async_init(&s->wake, on_wake);
    s->wake.data = c;
    ev_async_start(loop, &s->wake);
    *c =
        (struct dns_cache){.loop = loop, .ttl = ttl, .on_change = on_change, .ud = ud, .shared = s};
    return c;
}

void dns_cache_free(struct dns_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->shared->lock);
    c->shared->closed = true;
    pthread_mutex_unlock(&c->shared->lock);
    ev_async_stop(c->loop, &c->shared->wake);
    shared_unref(c->shared);
    for (size_t i = 0; i < c->n_entries; i++)
        free(c->entries[i].name);
    free(c->entries);
    free(c);
}

static void start_lookup(struct dns_cache *c, struct entry *e)
{
    struct answer *a = calloc(1, sizeof(*a));
    if (!a || !(a->name = strdup(e->name)))
        abort();
    a->shared = c->shared;
    pthread_mutex_lock(&c->shared->lock);
    c->shared->refs++;
    pthread_mutex_unlock(&c->shared->lock);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, resolve, a) != 0) {
        log_warn("dns", "%s: cannot start a lookup thread", e->name);
        free(a->name);
        free(a);
        shared_unref(c->shared);
    } else {
        e->pending = true;
    }
    pthread_attr_destroy(&attr);
}

size_t dns_cache_lookup(struct dns_cache *c, const char *name, char (*addrs)[DNS_ADDR_MAX],
                        size_t max)
{
    struct entry *e = find(c, name);
    if (!e) {
        c->entries = realloc(c->entries, (c->n_entries + 1) * sizeof(*c->entries));
        if (!c->entries)
            abort();
        e = &c->entries[c->n_entries++];
        memset(e, 0, sizeof(*e));
        if (!(e->name = strdup(name)))
            abort();
    }
    if (!e->pending && (!e->resolved_at || ev_now(c->loop) - e->resolved_at > c->ttl))
        start_lookup(c, e);
    size_t n = e->n < max ? e->n : max;
    memcpy(addrs, e->addrs, n * DNS_ADDR_MAX);
    return n;
}
