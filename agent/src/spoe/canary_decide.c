/* canary_decide.c - see canary_decide.h. */
#include "spoe/canary_decide.h"

#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "spoe/hdrs_bin.h"
#include "spoe/policy.h"
#include "util/xalloc.h"

struct canary_entry {
    char id[MODEL_ROUTE_ID_SIZE];
    unsigned weight, total;
    char *header;       /* NULL: none */
    char *header_value; /* NULL: none */
    regex_t pattern;
    bool has_pattern;
    char *cookie; /* NULL: none */
};

struct canary_set {
    struct canary_entry *entries; /* sorted by id */
    size_t n;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void entry_clear(struct canary_entry *e)
{
    free(e->header);
    free(e->header_value);
    free(e->cookie);
    if (e->has_pattern)
        regfree(&e->pattern);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct canary_entry *)a)->id, ((const struct canary_entry *)b)->id);
}

struct canary_set *canary_set_build(const struct routing_model *m)
{
    struct canary_set *set = xcalloc(1, sizeof(*set));
    size_t n = 0;
    for (size_t i = 0; m && i < m->n_routes; i++)
        n += m->routes[i].canary.ingress != NULL;
    set->entries = xcalloc(n, sizeof(*set->entries));
    for (size_t i = 0; m && i < m->n_routes; i++) {
        const struct model_route *r = &m->routes[i];
        const struct model_canary *c = &r->canary;
        if (!c->ingress || c->total == 0)
            continue;
        struct canary_entry *e = &set->entries[set->n];
        memset(e, 0, sizeof(*e));
        snprintf(e->id, sizeof(e->id), "%s", r->id);
        e->weight = c->weight;
        e->total = c->total;
        if (c->header_pattern && !c->header_value) {
            /* Checked by the model; should it still fail, the route gets
             * no answer and serves main. */
            if (regcomp(&e->pattern, c->header_pattern, REG_EXTENDED | REG_NOSUB) != 0)
                continue;
            e->has_pattern = true;
        }
        e->header = dup_or_null(c->header);
        e->header_value = dup_or_null(c->header_value);
        e->cookie = dup_or_null(c->cookie);
        set->n++;
    }
    if (set->n)
        qsort(set->entries, set->n, sizeof(*set->entries), cmp_entry);
    return set;
}

void canary_set_free(struct canary_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        entry_clear(&set->entries[i]);
    free(set->entries);
    free(set);
}

size_t canary_set_count(const struct canary_set *set)
{
    return set ? set->n : 0;
}

static const struct canary_entry *find(const struct canary_set *set, const char *id, size_t len)
{
    return model_route_id_find(set->entries, set->n, sizeof(*set->entries),
                               offsetof(struct canary_entry, id), id, len);
}

static bool bytes_eq(const uint8_t *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* The header rule: 1 canary, 0 main, -1 undecided. */
static int by_header(const struct canary_entry *e, const uint8_t *hdrs, size_t hlen)
{
    const uint8_t *v;
    size_t vl;
    if (!e->header || !hdrs || hdrs_find(hdrs, hlen, e->header, &v, &vl) != 1)
        return -1;
    if (e->header_value)
        return bytes_eq(v, vl, e->header_value) ? 1 : -1;
    if (e->has_pattern) {
        char buf[CANARY_MATCH_MAX + 1];
        if (vl > CANARY_MATCH_MAX || memchr(v, '\0', vl))
            return -1;
        memcpy(buf, v, vl);
        buf[vl] = '\0';
        return regexec(&e->pattern, buf, 0, NULL, 0) == 0 ? 1 : -1;
    }
    if (bytes_eq(v, vl, "always"))
        return 1;
    if (bytes_eq(v, vl, "never"))
        return 0;
    return -1;
}

/* The value of cookie `name` in one Cookie header value ("a=1; b=2"). */
static bool cookie_in(const uint8_t *p, size_t n, const char *name, const uint8_t **val,
                      size_t *vlen)
{
    size_t nl = strlen(name), i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ';'))
            i++;
        const uint8_t *pair = p + i;
        size_t len = 0;
        while (i < n && p[i] != ';')
            i++, len++;
        while (len > 0 && (pair[len - 1] == ' ' || pair[len - 1] == '\t'))
            len--;
        if (len > nl && pair[nl] == '=' && memcmp(pair, name, nl) == 0) {
            *val = pair + nl + 1;
            *vlen = len - nl - 1;
            return true;
        }
    }
    return false;
}

/* The cookie rule: 1 canary, 0 main, -1 undecided. */
static int by_cookie(const struct canary_entry *e, const uint8_t *hdrs, size_t hlen)
{
    if (!e->cookie || !hdrs)
        return -1;
    struct hdrs_iter it;
    const uint8_t *n, *v, *cv;
    size_t nl, vl, cvl;
    hdrs_iter_init(&it, hdrs, hlen);
    while (hdrs_iter_next(&it, &n, &nl, &v, &vl) == 1) {
        if (!hdrs_name_eq(n, nl, "cookie") || !cookie_in(v, vl, e->cookie, &cv, &cvl))
            continue;
        if (bytes_eq(cv, cvl, "always"))
            return 1;
        if (bytes_eq(cv, cvl, "never"))
            return 0;
        return -1; /* the first cookie of that name decides */
    }
    return -1;
}

enum canary_choice canary_choose(const struct canary_set *set, const char *id, size_t idlen,
                                 const uint8_t *hdrs, size_t hlen, uint64_t rnd)
{
    const struct canary_entry *e = set ? find(set, id, idlen) : NULL;
    if (!e)
        return CANARY_NO_ROUTE;
    int r = by_header(e, hdrs, hlen);
    if (r < 0)
        r = by_cookie(e, hdrs, hlen);
    if (r < 0)
        r = rnd % e->total < e->weight;
    return r ? CANARY_TAKE : CANARY_MAIN;
}

uint64_t canary_random(void)
{
    static _Thread_local uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
            state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&state;
        if (state == 0)
            state = 0x9e3779b97f4a7c15ull;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

bool canary_evaluate(const struct canary_set *set, const struct spoe_request *req,
                     struct spoe_reply *reply)
{
    const char *id;
    size_t idlen;
    if (!set || set->n == 0 || !spoe_request_is(req, POLICY_MESSAGE) ||
        !spoe_request_arg_str(req, "route", &id, &idlen))
        return false;
    const uint8_t *hdrs = NULL;
    size_t hlen = 0;
    if (!spoe_request_arg_bin(req, "hdrs", &hdrs, &hlen))
        hdrs = NULL;
    enum canary_choice c = canary_choose(set, id, idlen, hdrs, hlen, canary_random());
    if (c == CANARY_NO_ROUTE)
        return false;
    spoe_reply_set_int(reply, SPOP_SCOPE_TRANSACTION, CANARY_VAR, c == CANARY_TAKE);
    return true;
}
