/* tls.c - see tls.h. */
#include "model/tls.h"

#include <stdlib.h>
#include <string.h>

#include "model/names.h"
#include "model/objects.h"

static bool secret_usable(const json_t *secret)
{
    const json_t *data = json_object_get(secret, "data");
    const char *crt = json_string_value(json_object_get(data, "tls.crt"));
    const char *key = json_string_value(json_object_get(data, "tls.key"));
    return crt && *crt && key && *key;
}

static void add(struct build *b, struct tls_candidates *c, const char *host, const char *secret,
                bool ok, const char *ingress_key, const char *created)
{
    struct tls_candidate *t = MODEL_VEC_PUSH(c->items, c->n);
    t->host = model_strdup(b->m, host);
    t->secret = secret;
    t->secret_ok = ok;
    t->ingress = ingress_key;
    t->created = created;
    t->seq = c->n;
}

void tls_collect(struct build *b, struct tls_candidates *c, const json_t *ingress,
                 const char *ingress_key, const char *created)
{
    const char *ns = json_obj_ns(ingress);
    size_t i, j;
    const json_t *entry, *h;
    json_array_foreach(json_path(ingress, "spec.tls"), i, entry)
    {
        const char *name = json_string_value(json_object_get(entry, "secretName"));
        const char *secret = NULL;
        bool ok = true;
        char q[MODEL_QUOTE_SIZE];
        if (name && *name) {
            if (!names_is_dns_subdomain(name)) {
                build_problem(b, "Ingress", ingress_key, "TLS secretName \"%s\" is not valid",
                              model_quote(name, q));
                continue;
            }
            secret = model_printf(b->m, "%s/%s", ns, name);
            const json_t *obj = object_list_get(&b->ix->secrets, ns, name);
            ok = obj && secret_usable(obj);
            if (!obj)
                build_problem(b, "Ingress", ingress_key, "TLS Secret %s not found", secret);
            else if (!ok)
                build_problem(b, "Ingress", ingress_key, "TLS Secret %s has no tls.crt and tls.key",
                              secret);
        }
        const json_t *hosts = json_object_get(entry, "hosts");
        if (json_array_size(hosts) == 0)
            add(b, c, "", secret, ok, ingress_key, created);
        json_array_foreach(hosts, j, h)
        {
            char host[NAMES_HOST_MAX + 1];
            bool wildcard;
            const char *why = names_host_normalize(json_string_value(h), host, &wildcard);
            if (why) {
                build_problem(b, "Ingress", ingress_key, "TLS host \"%s\" %s",
                              model_quote(json_string_value(h), q), why);
                continue;
            }
            add(b, c, host, secret, ok, ingress_key, created);
        }
    }
}

static int cmp_cand(const void *pa, const void *pb)
{
    const struct tls_candidate *a = pa, *b = pb;
    int c = strcmp(a->host, b->host);
    if (c == 0)
        c = strcmp(a->created, b->created);
    if (c == 0)
        c = strcmp(a->ingress, b->ingress);
    if (c == 0)
        c = (a->seq > b->seq) - (a->seq < b->seq);
    return c;
}

static bool same_secret(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void tls_resolve(struct build *b, struct tls_candidates *c)
{
    if (c->n)
        qsort(c->items, c->n, sizeof(*c->items), cmp_cand);
    for (size_t i = 0; i < c->n;) {
        const struct tls_candidate *win = &c->items[i];
        struct model_tls *t = MODEL_VEC_PUSH(b->m->tls, b->m->n_tls);
        t->host = win->host;
        t->secret = win->secret;
        t->ingress = win->ingress;
        t->secret_ok = win->secret_ok;
        size_t j = i + 1;
        for (; j < c->n && strcmp(c->items[j].host, win->host) == 0; j++) {
            const struct tls_candidate *lose = &c->items[j];
            if (!same_secret(lose->secret, win->secret))
                build_problem(b, "Ingress", lose->ingress,
                              "TLS host \"%s\" already uses %s%s from Ingress %s (older); "
                              "%s%s is ignored for it",
                              win->host, win->secret ? "Secret " : "the default certificate",
                              win->secret ? win->secret : "", win->ingress,
                              lose->secret ? "Secret " : "the default certificate",
                              lose->secret ? lose->secret : "");
        }
        i = j;
    }
    free(c->items);
    c->items = NULL;
    c->n = 0;
}

bool tls_covers(const struct routing_model *m, const char *host)
{
    if (!host || !*host)
        return false;
    if (model_find_tls(m, host))
        return true;
    if (host[0] == '*')
        return false;
    const char *dot = strchr(host, '.');
    if (!dot || dot == host)
        return false;
    char wild[NAMES_HOST_MAX + 2];
    if (strlen(dot) + 1 >= sizeof(wild))
        return false;
    wild[0] = '*';
    strcpy(wild + 1, dot);
    return model_find_tls(m, wild) != NULL;
}
