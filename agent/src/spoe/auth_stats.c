/* auth_stats.c - see auth_stats.h. A list sorted by ingress under a mutex
 * (lookups happen once per Ingress per model build, not per request). */
#include "spoe/auth_stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct auth_counter {
    struct auth_counter *next;
    char *ingress;
    atomic_uint_fast64_t allowed, denied;
};

struct auth_stats {
    pthread_mutex_t lock;
    struct auth_counter *head; /* sorted by ingress */
};

struct auth_stats *auth_stats_new(void)
{
    struct auth_stats *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void auth_stats_free(struct auth_stats *s)
{
    if (!s)
        return;
    while (s->head) {
        struct auth_counter *c = s->head;
        s->head = c->next;
        free(c->ingress);
        free(c);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct auth_counter *auth_stats_counter(struct auth_stats *s, const char *ingress)
{
    pthread_mutex_lock(&s->lock);
    struct auth_counter **pp = &s->head;
    while (*pp && strcmp((*pp)->ingress, ingress) < 0)
        pp = &(*pp)->next;
    if (!*pp || strcmp((*pp)->ingress, ingress) != 0) {
        struct auth_counter *c = xcalloc(1, sizeof(*c));
        c->ingress = xstrdup(ingress);
        atomic_init(&c->allowed, 0);
        atomic_init(&c->denied, 0);
        c->next = *pp;
        *pp = c;
    }
    struct auth_counter *found = *pp;
    pthread_mutex_unlock(&s->lock);
    return found;
}

void auth_counter_count(struct auth_counter *c, bool allowed)
{
    if (c)
        atomic_fetch_add_explicit(allowed ? &c->allowed : &c->denied, 1, memory_order_relaxed);
}

void auth_stats_foreach(struct auth_stats *s,
                        void (*fn)(void *ud, const char *ingress, uint64_t allowed,
                                   uint64_t denied),
                        void *ud)
{
    pthread_mutex_lock(&s->lock);
    for (const struct auth_counter *c = s->head; c; c = c->next)
        fn(ud, c->ingress, atomic_load_explicit(&c->allowed, memory_order_relaxed),
           atomic_load_explicit(&c->denied, memory_order_relaxed));
    pthread_mutex_unlock(&s->lock);
}
