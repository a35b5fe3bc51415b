/*
 * pools.c - see pools.h. Slots are found by linear scans: a few hundred
 * backends per profile are the expected scale, and the scans happen once per
 * reconcile, not per request.
 */
#include "haproxy/pools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haproxy/atomic_file.h"
#include "haproxy/config_render.h"
#include "util/xalloc.h"

struct profile {
    char *name;
    unsigned size;
    char **owner; /* size entries, NULL = free */
    char **names; /* size entries: the HAProxy backend names */
};

struct pools {
    unsigned initial;
    struct profile *profiles;
    size_t n;
};

void pools_set_initial_size(struct pools *p, unsigned initial_size)
{
    p->initial = initial_size ? initial_size : 1;
}

struct pools *pools_new(unsigned initial_size)
{
    struct pools *p = xcalloc(1, sizeof(*p));
    p->initial = initial_size ? initial_size : 1;
    return p;
}

static void profile_free(struct profile *pr)
{
    for (unsigned j = 0; j < pr->size; j++) {
        free(pr->owner[j]);
        free(pr->names[j]);
    }
    free(pr->owner);
    free(pr->names);
    free(pr->name);
}

void pools_free(struct pools *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        profile_free(&p->profiles[i]);
    free(p->profiles);
    free(p);
}

static struct profile *find_profile(const struct pools *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->profiles[i].name, name) == 0)
            return &p->profiles[i];
    return NULL;
}

static void resize(struct profile *pr, unsigned size)
{
    pr->owner = realloc(pr->owner, size * sizeof(char *));
    pr->names = realloc(pr->names, size * sizeof(char *));
    if (!pr->owner || !pr->names)
        abort();
    for (unsigned j = pr->size; j < size; j++) {
        char buf[256];
        pool_backend_name(pr->name, j + 1, buf, sizeof(buf));
        pr->owner[j] = NULL;
        pr->names[j] = xstrdup(buf);
    }
    pr->size = size;
}

static struct profile *add_profile(struct pools *p, const char *name, unsigned size)
{
    p->profiles = realloc(p->profiles, (p->n + 1) * sizeof(*p->profiles));
    if (!p->profiles)
        abort();
    struct profile *pr = &p->profiles[p->n++];
    *pr = (struct profile){.name = xstrdup(name)};
    resize(pr, size);
    return pr;
}

void pools_add_profile(struct pools *p, const char *profile)
{
    if (!find_profile(p, profile))
        add_profile(p, profile, p->initial);
}

const char *pools_lookup(const struct pools *p, const char *backend_id)
{
    for (size_t i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->profiles[i].size; j++)
            if (p->profiles[i].owner[j] && strcmp(p->profiles[i].owner[j], backend_id) == 0)
                return p->profiles[i].names[j];
    return NULL;
}

const char *pools_assign(struct pools *p, const char *profile, const char *backend_id)
{
    const char *have = pools_lookup(p, backend_id);
    if (have)
        return have;
    struct profile *pr = find_profile(p, profile);
    if (!pr)
        return NULL;
    for (unsigned j = 0; j < pr->size; j++) {
        if (!pr->owner[j]) {
            pr->owner[j] = xstrdup(backend_id);
            return pr->names[j];
        }
    }
    return NULL;
}

void pools_release(struct pools *p, const char *backend_id)
{
    for (size_t i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->profiles[i].size; j++)
            if (p->profiles[i].owner[j] && strcmp(p->profiles[i].owner[j], backend_id) == 0) {
                free(p->profiles[i].owner[j]);
                p->profiles[i].owner[j] = NULL;
            }
}

void pools_grow(struct pools *p, const char *profile)
{
    struct profile *pr = find_profile(p, profile);
    if (!pr)
        add_profile(p, profile, p->initial);
    else
        resize(pr, pr->size * 2);
}

size_t pools_n_profiles(const struct pools *p)
{
    return p->n;
}

const char *pools_profile(const struct pools *p, size_t i)
{
    return p->profiles[i].name;
}

unsigned pools_size(const struct pools *p, size_t i)
{
    return p->profiles[i].size;
}

const char *pools_slot_owner(const struct pools *p, size_t i, unsigned j)
{
    return p->profiles[i].owner[j];
}

void pools_slot_name(const struct pools *p, size_t i, unsigned j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", p->profiles[i].names[j]);
}

int pools_save(const struct pools *p, const char *path)
{
    json_t *profiles = json_array();
    for (size_t i = 0; i < p->n; i++) {
        json_t *slots = json_object();
        for (unsigned j = 0; j < p->profiles[i].size; j++)
            if (p->profiles[i].owner[j])
                json_object_set_new(slots, p->profiles[i].names[j],
                                    json_string(p->profiles[i].owner[j]));
        json_array_append_new(profiles,
                              json_pack("{s:s, s:i, s:o}", "name", p->profiles[i].name, "size",
                                        (int)p->profiles[i].size, "slots", slots));
    }
    json_t *doc = json_pack("{s:o}", "profiles", profiles);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(doc);
    if (!text)
        return -1;
    int rc = atomic_file_write(path, text, strlen(text), 0644);
    free(text);
    return rc;
}

int pools_load(struct pools *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    json_error_t je;
    json_t *doc = json_loadf(f, 0, &je);
    fclose(f);
    json_t *profiles = json_object_get(doc, "profiles");
    if (!json_is_array(profiles)) {
        snprintf(err, errlen, "%s: not a pool assignment file (%s)", path,
                 doc ? "no profiles" : je.text);
        json_decref(doc);
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(profiles, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        json_int_t size = json_integer_value(json_object_get(item, "size"));
        if (!name || size < 1 || size > 65536)
            continue;
        struct profile *pr = find_profile(p, name);
        if (!pr)
            pr = add_profile(p, name, (unsigned)size);
        else if (pr->size < size)
            resize(pr, (unsigned)size);
        const char *slot;
        json_t *owner;
        json_object_foreach(json_object_get(item, "slots"), slot, owner)
        {
            for (unsigned j = 0; j < pr->size; j++)
                if (strcmp(pr->names[j], slot) == 0 && json_is_string(owner)) {
                    free(pr->owner[j]);
                    pr->owner[j] = xstrdup(json_string_value(owner));
                }
        }
    }
    json_decref(doc);
    return 0;
}
