/* map_render.c - see map_render.h. */
#include "model/map_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/xalloc.h"

static bool backend_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:-", c)))
            return false;
    }
    return true;
}

static char *render_value(const struct model_route *r, const char *backend, const char *canary)
{
    struct strbuf b = STRBUF_INIT;
    char flags[16];
    size_t nf = 0;
    if (r->ssl_redirect)
        flags[nf++] = MAP_FLAG_SSL_REDIRECT;
    if (r->rewrite_target)
        flags[nf++] = MAP_FLAG_REWRITE;
    if (r->app_root)
        flags[nf++] = MAP_FLAG_APP_ROOT;
    if (r->permanent_redirect)
        flags[nf++] = MAP_FLAG_REDIRECT;
    if (r->timeout_server_ms)
        flags[nf++] = MAP_FLAG_TIMEOUT;
    if (r->spoe)
        flags[nf++] = MAP_FLAG_SPOE;
    if (canary)
        flags[nf++] = MAP_FLAG_CANARY;
    if (nf == 0)
        flags[nf++] = '-';
    flags[nf] = '\0';
    strbuf_printf(&b, "%s|%s|%s|", backend, r->id, flags);
    if (r->timeout_server_ms)
        strbuf_printf(&b, "%u", r->timeout_server_ms);
    strbuf_puts(&b, "|");
    if (r->rewrite_target) {
        /* How many path elements ("/x") the route matches: HAProxy strips
         * that many with a regsub (haproxy.cfg.in), as element-wise Prefix
         * matching guarantees the request starts with them. */
        size_t matched = 0;
        for (const char *c = r->path; *c; c++)
            matched += *c == '/';
        if (r->type != MODEL_PATH_EXACT && strcmp(r->path, "/") == 0)
            matched = 0;
        size_t tlen = strlen(r->rewrite_target);
        while (tlen > 0 && r->rewrite_target[tlen - 1] == '/')
            tlen--;
        strbuf_printf(&b, "%zu|%.*s", matched, (int)tlen, r->rewrite_target);
    } else {
        strbuf_puts(&b, "|");
    }
    strbuf_printf(&b, "|%s|%s|%s", r->app_root ? r->app_root : "",
                  r->permanent_redirect ? r->permanent_redirect : "", canary ? canary : "");
    return strbuf_take(&b);
}

static void add_entry(struct map_rendered *out, size_t *cap, char *key, const char *value)
{
    if (out->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        out->entries = realloc(out->entries, *cap * sizeof(*out->entries));
        if (!out->entries)
            abort();
    }
    out->entries[out->n].key = key;
    out->entries[out->n].value = xstrdup(value);
    out->n++;
}

static char *make_key(char marker, const char *host, const char *path, const char *tail)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_printf(&b, "%c%s%s%s", marker, host, path, tail);
    return strbuf_take(&b);
}

static int cmp_entry(const void *pa, const void *pb)
{
    return strcmp(((const struct map_kv *)pa)->key, ((const struct map_kv *)pb)->key);
}

static const char *backend_name(const struct routing_model *m, const char *id,
                                map_backend_name_fn name_fn, void *ud)
{
    const struct model_backend *b = model_find_backend(m, id);
    if (!b)
        return MAP_BACKEND_UNAVAILABLE;
    if (!name_fn)
        return b->id;
    const char *name = name_fn(ud, b);
    return name ? name : MAP_BACKEND_UNAVAILABLE;
}

int map_render(const struct routing_model *m, map_backend_name_fn name_fn, void *ud,
               struct map_rendered *out, char *err, size_t errlen)
{
    size_t cap = 0;
    out->entries = NULL;
    out->n = 0;
    for (size_t i = 0; i <= m->n_routes; i++) {
        const struct model_route *r = i < m->n_routes ? &m->routes[i] : m->default_route;
        if (!r)
            break;
        const char *backend = backend_name(m, r->backend, name_fn, ud);
        const char *canary =
            r->canary.backend ? backend_name(m, r->canary.backend, name_fn, ud) : NULL;
        if (!backend_name_ok(backend) || (canary && !backend_name_ok(canary))) {
            snprintf(err, errlen, "backend name for route %s is not a valid HAProxy name", r->id);
            map_rendered_free(out);
            return -1;
        }
        char *value = render_value(r, backend, canary);
        if (i == m->n_routes) {
            add_entry(out, &cap, xstrdup(MAP_DEFAULT_KEY), value);
        } else if (r->type == MODEL_PATH_EXACT) {
            add_entry(out, &cap, make_key('=', r->host, r->path, ""), value);
        } else {
            bool root = strcmp(r->path, "/") == 0;
            /* Routes are sorted by host, path, type: an Exact rule on the
             * same host and path comes right before, and owns the key. */
            const struct model_route *prev = i > 0 ? &m->routes[i - 1] : NULL;
            bool exact_taken = prev && prev->type == MODEL_PATH_EXACT &&
                               strcmp(prev->host, r->host) == 0 && strcmp(prev->path, r->path) == 0;
            if (!root && !exact_taken)
                add_entry(out, &cap, make_key('=', r->host, r->path, ""), value);
            add_entry(out, &cap, make_key('^', r->host, root ? "/" : r->path, root ? "" : "/"),
                      value);
        }
        free(value);
    }
    if (out->n)
        qsort(out->entries, out->n, sizeof(*out->entries), cmp_entry);
    for (size_t i = 0; i < out->n; i++) {
        const struct map_kv *e = &out->entries[i];
        if ((i > 0 && strcmp(out->entries[i - 1].key, e->key) == 0) ||
            strlen(e->key) > MAP_KEY_MAX || strlen(e->value) > MAP_VALUE_MAX) {
            snprintf(err, errlen, "map entry \"%.64s\" is duplicated or too long", e->key);
            map_rendered_free(out);
            return -1;
        }
    }
    return 0;
}

void map_rendered_free(struct map_rendered *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->entries[i].key);
        free(r->entries[i].value);
    }
    free(r->entries);
    r->entries = NULL;
    r->n = 0;
}

/* map_str: exact match, a binary search over the sorted keys. */
static const struct map_kv *find_exact(const struct map_rendered *r, const char *key, size_t len)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = r->entries[mid].key;
        int c = strncmp(k, key, len);
        if (c == 0 && k[len] != '\0')
            c = 1;
        if (c == 0)
            return &r->entries[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* map_beg: the longest key that is a prefix of key (HAProxy's prefix tree,
 * ebmb_lookup_longest). */
static const struct map_kv *find_longest_prefix(const struct map_rendered *r, const char *key)
{
    for (size_t len = strlen(key); len > 0; len--) {
        const struct map_kv *e = find_exact(r, key, len);
        if (e)
            return e;
    }
    return NULL;
}

static const struct map_kv *lookup(const struct map_rendered *r, char marker, const char *host,
                                   const char *path)
{
    struct strbuf b = STRBUF_INIT;
    strbuf_printf(&b, "%c%s%s", marker, host, path);
    const struct map_kv *e =
        marker == '=' ? find_exact(r, b.data, b.len) : find_longest_prefix(r, b.data);
    strbuf_free(&b);
    return e;
}

/* What haproxy.cfg does (docs/routing.md), step by step. */
const struct map_kv *map_sim_lookup(const struct map_rendered *r, const char *host_header,
                                    const char *path)
{
    const struct map_kv *e = NULL;
    if (!path)
        path = "";
    /* txn.host: req.hdr(host),field(1,:),lower, kept only if it matches
     * ^[a-z0-9][a-z0-9.-]*$ */
    char *host = NULL;
    if (host_header) {
        size_t n = strcspn(host_header, ":");
        host = strndup(host_header, n);
        if (!host)
            abort();
        bool ok = n > 0;
        for (size_t i = 0; i < n; i++) {
            char c = host[i];
            if (c >= 'A' && c <= 'Z')
                host[i] = c = (char)(c - 'A' + 'a');
            bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!alnum && (i == 0 || (c != '.' && c != '-')))
                ok = false;
        }
        if (!ok) {
            free(host);
            host = NULL;
        }
    }
    if (host) {
        e = lookup(r, '=', host, path);
        if (!e)
            e = lookup(r, '^', host, path);
        if (!e) {
            /* txn.whost: regsub(^[^.]*,*) */
            struct strbuf w = STRBUF_INIT;
            strbuf_printf(&w, "*%s", host + strcspn(host, "."));
            e = lookup(r, '=', w.data, path);
            if (!e)
                e = lookup(r, '^', w.data, path);
            strbuf_free(&w);
        }
        free(host);
    }
    if (!e)
        e = lookup(r, '=', "", path);
    if (!e)
        e = lookup(r, '^', "", path);
    if (!e)
        e = find_exact(r, MAP_DEFAULT_KEY, strlen(MAP_DEFAULT_KEY));
    return e;
}

int map_value_field(const char *value, int n, char *out, size_t outlen)
{
    const char *p = value;
    for (int i = 1; i < n; i++) {
        p = strchr(p, '|');
        if (!p)
            return -1;
        p++;
    }
    size_t len = strcspn(p, "|");
    if (n < 1 || len >= outlen)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return (int)len;
}

int map_sim_rewrite(const char *value, const char *path, char *out, size_t outlen)
{
    char flags[16], target[MAP_VALUE_MAX + 1];
    if (map_value_field(value, MAP_FIELD_FLAGS, flags, sizeof(flags)) < 0)
        return -1;
    const char *rest = path;
    target[0] = '\0';
    if (strchr(flags, MAP_FLAG_REWRITE)) {
        char len_text[16];
        if (map_value_field(value, MAP_FIELD_RW_LEN, len_text, sizeof(len_text)) < 0 ||
            map_value_field(value, MAP_FIELD_RW_TARGET, target, sizeof(target)) < 0)
            return -1;
        /* Strip that many path elements, as regsub(^(/[^/]*){N},) does. */
        for (unsigned long k = strtoul(len_text, NULL, 10); k > 0 && *rest == '/'; k--)
            for (rest++; *rest && *rest != '/'; rest++)
                ;
    }
    int n = snprintf(out, outlen, "%s%s", target, rest);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    if (n == 0) {
        if (outlen < 2)
            return -1;
        strcpy(out, "/");
        n = 1;
    }
    return n;
}
