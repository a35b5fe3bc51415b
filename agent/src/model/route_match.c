/*
 * route_match.c - see route_match.h. Deliberately naive: a scan of every
 * route with an element-by-element path comparison, written from the
 * Kubernetes rules and not from the map layout, so that the two can be
 * checked against each other.
 */
#include "model/route_match.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool route_match_host(const char *host_header, const char **host, size_t *len)
{
    if (!host_header)
        return false;
    size_t n = strcspn(host_header, ":");
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = host_header[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '-')))
            return false;
    }
    *host = host_header;
    *len = n;
    return true;
}

/* The next element of path at *p, which is at a '/' (or at the end). */
static bool next_element(const char **p, const char **start, size_t *len)
{
    if (**p != '/')
        return false;
    *start = *p + 1;
    *len = strcspn(*start, "/");
    *p = *start + *len;
    return true;
}

/* How many elements a normalized Prefix path has ("/" has none). */
static size_t element_count(const char *path)
{
    size_t n = 0;
    if (strcmp(path, "/") == 0)
        return 0;
    for (; *path; path++)
        n += *path == '/';
    return n;
}

bool route_path_matches(const struct model_route *r, const char *path)
{
    if (!path || path[0] != '/')
        return false;
    if (r->type == MODEL_PATH_EXACT)
        return strcmp(r->path, path) == 0;
    /* Every element of the rule equals the request's element at the same
     * position. The rule path is normalized: no empty element, no
     * trailing '/', "/" has no element at all. */
    const char *rp = strcmp(r->path, "/") == 0 ? "" : r->path, *qp = path;
    const char *rs, *qs;
    size_t rl, ql;
    while (next_element(&rp, &rs, &rl)) {
        if (!next_element(&qp, &qs, &ql) || rl != ql || memcmp(rs, qs, rl) != 0)
            return false;
    }
    return true;
}

/* Host tiers, see route_match.h. */
static bool host_tier_matches(const struct model_route *r, int tier, const char *host, size_t len)
{
    if (tier == 3)
        return r->host[0] == '\0';
    if (r->host[0] == '\0' || host == NULL)
        return false;
    if (tier == 1)
        return !r->wildcard && strlen(r->host) == len && strncasecmp(r->host, host, len) == 0;
    if (!r->wildcard)
        return false;
    const char *suffix = r->host + 1; /* ".parent" */
    size_t slen = strlen(suffix);
    const char *dot = memchr(host, '.', len);
    return dot && dot != host && (size_t)(host + len - dot) == slen &&
           strncasecmp(dot, suffix, slen) == 0;
}

const struct model_route *route_match(const struct routing_model *m, const char *host_header,
                                      const char *path)
{
    const char *host = NULL;
    size_t len = 0;
    if (!route_match_host(host_header, &host, &len))
        host = NULL;
    for (int tier = host ? 1 : 3; tier <= 3; tier++) {
        const struct model_route *best = NULL;
        size_t best_elements = 0;
        for (size_t i = 0; i < m->n_routes; i++) {
            const struct model_route *r = &m->routes[i];
            if (!host_tier_matches(r, tier, host, len) || !route_path_matches(r, path))
                continue;
            if (r->type == MODEL_PATH_EXACT)
                return r;
            size_t n = element_count(r->path);
            if (!best || n > best_elements) {
                best = r;
                best_elements = n;
            }
        }
        if (best)
            return best;
    }
    return m->default_route;
}

int route_match_rewrite(const struct model_route *r, const char *path, char *out, size_t outlen)
{
    const char *rest = path;
    size_t tlen = 0;
    const char *target = "";
    if (r->rewrite_target) {
        size_t matched = strlen(r->path);
        if (r->type != MODEL_PATH_EXACT && strcmp(r->path, "/") == 0)
            matched = 0;
        if (matched > strlen(path))
            matched = strlen(path);
        rest = path + matched;
        target = r->rewrite_target;
        tlen = strlen(target);
        while (tlen > 0 && target[tlen - 1] == '/')
            tlen--;
    }
    int n = snprintf(out, outlen, "%.*s%s", (int)tlen, target, rest);
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
