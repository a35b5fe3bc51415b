/*
 * objects.c - see objects.h. Each kind is a sorted array of references;
 * lookups are binary searches.
 */
#include "model/objects.h"

#include <stdlib.h>
#include <string.h>

static int cmp_ref(const struct object_ref *a, const struct object_ref *b)
{
    int c = strcmp(a->ns, b->ns);
    if (c == 0)
        c = strcmp(a->group, b->group);
    if (c == 0)
        c = strcmp(a->name, b->name);
    return c;
}

static int cmp_ref_qsort(const void *a, const void *b)
{
    return cmp_ref(a, b);
}

static void list_build(struct object_list *l, json_t *arr, bool slices)
{
    l->items = NULL;
    l->n = 0;
    size_t n = json_array_size(arr);
    if (n == 0)
        return;
    l->items = calloc(n, sizeof(*l->items));
    if (!l->items)
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_array_get(arr, i);
        const char *name = json_path_str(obj, "metadata.name");
        if (!name)
            continue;
        const char *group = NULL;
        if (slices)
            group = json_string_value(
                json_object_get(json_path(obj, "metadata.labels"), "kubernetes.io/service-name"));
        struct object_ref *r = &l->items[l->n++];
        r->ns = json_obj_ns(obj);
        r->name = name;
        r->group = group ? group : "";
        r->obj = obj;
    }
    qsort(l->items, l->n, sizeof(*l->items), cmp_ref_qsort);
}

void object_index_build(struct object_index *ix, json_t *ingress_classes, json_t *ingresses,
                        json_t *services, json_t *endpoint_slices, json_t *secrets)
{
    list_build(&ix->ingress_classes, ingress_classes, false);
    list_build(&ix->ingresses, ingresses, false);
    list_build(&ix->services, services, false);
    list_build(&ix->endpoint_slices, endpoint_slices, true);
    list_build(&ix->secrets, secrets, false);
}

void object_index_free(struct object_index *ix)
{
    free(ix->ingress_classes.items);
    free(ix->ingresses.items);
    free(ix->services.items);
    free(ix->endpoint_slices.items);
    free(ix->secrets.items);
    memset(ix, 0, sizeof(*ix));
}

/* First index whose ref is >= key. */
static size_t lower_bound(const struct object_list *l, const struct object_ref *key)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_ref(&l->items[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

json_t *object_list_get(const struct object_list *l, const char *ns, const char *name)
{
    struct object_ref key = {ns ? ns : "", name, "", NULL};
    size_t i = lower_bound(l, &key);
    if (i < l->n && cmp_ref(&l->items[i], &key) == 0)
        return l->items[i].obj;
    return NULL;
}

size_t object_index_slices(const struct object_index *ix, const char *ns, const char *service,
                           size_t *first)
{
    const struct object_list *l = &ix->endpoint_slices;
    struct object_ref key = {ns, "", service, NULL};
    size_t i = lower_bound(l, &key), n = 0;
    *first = i;
    while (i + n < l->n && strcmp(l->items[i + n].ns, ns) == 0 &&
           strcmp(l->items[i + n].group, service) == 0)
        n++;
    return n;
}
