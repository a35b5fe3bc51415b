/* debug_store.c - see debug_store.h. */
#include "admin/debug_store.h"

#include <stdlib.h>
#include <string.h>

#define REDACTED "<redacted>"

json_t *debug_store_redact_secret(json_t *secret)
{
    json_t *copy = json_deep_copy(secret);
    if (!copy)
        return NULL;
    static const char *const fields[] = {"data", "stringData"};
    for (size_t i = 0; i < 2; i++) {
        json_t *map = json_object_get(copy, fields[i]);
        const char *key;
        json_t *value;
        json_object_foreach(map, key, value)
        {
            json_object_set_new(map, key, json_string(REDACTED));
        }
    }
    json_t *annotations = json_object_get(json_object_get(copy, "metadata"), "annotations");
    if (json_object_get(annotations, "kubectl.kubernetes.io/last-applied-configuration"))
        json_object_set_new(annotations, "kubectl.kubernetes.io/last-applied-configuration",
                            json_string(REDACTED));
    return copy;
}

/* Value of `name` in an a=b&c=d query, copied into buf; NULL when absent. */
static const char *query_param(const char *query, const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = plen - nlen - 1;
            if (vlen >= len)
                vlen = len - 1;
            memcpy(buf, p + nlen + 1, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

struct dump_ctx {
    json_t *objects;
    bool is_secret;
};

static int dump_object(void *ud, json_t *obj)
{
    struct dump_ctx *d = ud;
    json_array_append_new(d->objects,
                          d->is_secret ? debug_store_redact_secret(obj) : json_incref(obj));
    return 0;
}

static json_t *informer_stats_json(const struct informer *inf)
{
    const struct informer_stats *st = informer_stats(inf);
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "lists", (json_int_t)st->lists, "relists",
                     (json_int_t)st->relists, "watches", (json_int_t)st->watches, "watchEvents",
                     (json_int_t)st->watch_events, "errors", (json_int_t)st->errors);
}

void debug_store_handler(void *ud, const char *query, struct admin_response *resp)
{
    const struct kube_cache *cache = ud;
    char kind_buf[64], summary_buf[8], ns_buf[256], name_buf[256];
    const char *only_kind = query_param(query, "kind", kind_buf, sizeof(kind_buf));
    const char *only_ns = query_param(query, "namespace", ns_buf, sizeof(ns_buf));
    const char *only_name = query_param(query, "name", name_buf, sizeof(name_buf));
    bool summary = query_param(query, "summary", summary_buf, sizeof(summary_buf)) != NULL;

    json_t *resources = json_array();
    for (size_t i = 0; i < kube_cache_count(cache); i++) {
        const struct informer *inf = kube_cache_informer(cache, i);
        const struct kube_resource *res = informer_resource(inf);
        struct store *st = kube_cache_store_at(cache, i);
        if (only_kind && strcmp(only_kind, res->kind) != 0)
            continue;
        const char *rv = informer_resource_version(inf);
        json_t *r =
            json_pack("{s:s, s:s, s:b, s:s, s:I, s:o}", "kind", res->kind, "resource", res->plural,
                      "synced", informer_synced(inf), "resourceVersion", rv ? rv : "", "count",
                      (json_int_t)store_count(st), "stats", informer_stats_json(inf));
        if (!summary) {
            struct dump_ctx d = {json_array(), strcmp(res->kind, "Secret") == 0};
            if (only_name) {
                json_t *obj = store_get(st, only_ns, only_name);
                if (obj)
                    dump_object(&d, obj);
            } else {
                store_foreach(st, dump_object, &d);
            }
            json_object_set_new(r, "objects", d.objects);
        }
        json_array_append_new(resources, r);
    }
    json_t *root =
        json_pack("{s:b, s:o}", "synced", kube_cache_synced(cache), "resources", resources);
    resp->body = json_dumps(root, JSON_COMPACT);
    resp->len = resp->body ? strlen(resp->body) : 0;
    resp->content_type = "application/json";
    json_decref(root);
}
