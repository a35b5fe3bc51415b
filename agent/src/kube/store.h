/*
 * store.h - the in-memory cache of one kind of Kubernetes object.
 *
 * Objects are jansson values keyed by "namespace/name" ("name" alone for
 * cluster-scoped kinds). Every change goes through store_upsert,
 * store_delete or store_replace, which call the handlers, so listeners see
 * exactly the add/update/delete events that took the store from one state
 * to the next, whether the change came from a watch event or a re-list.
 */
#ifndef SPOKE_STORE_H
#define SPOKE_STORE_H

#include <stddef.h>

#include <jansson.h>

struct store_handlers {
    void (*on_add)(void *ud, json_t *obj);
    void (*on_update)(void *ud, json_t *old_obj, json_t *new_obj);
    void (*on_delete)(void *ud, json_t *obj);
    void *ud;
};

struct store;

/* kind is a label for logs ("Ingress"); handlers may be NULL. */
struct store *store_new(const char *kind, const struct store_handlers *handlers);
void store_free(struct store *s);

const char *store_kind(const struct store *s);
size_t store_count(const struct store *s);

/* Insert or replace obj (the store takes its own reference). Fires on_add,
 * or on_update when metadata.resourceVersion differs from the stored one
 * (an identical resourceVersion is a no-op). Returns -1 when obj has no
 * metadata.name. */
int store_upsert(struct store *s, json_t *obj);

/* Remove the object with obj's namespace/name; fires on_delete with the
 * stored object if there was one. */
void store_delete(struct store *s, json_t *obj);

/* A re-list: make the store equal to `items` (a JSON array), firing on_add
 * for new keys, on_update for changed resourceVersions and on_delete for keys
 * that are gone. Returns the number of events fired. */
size_t store_replace(struct store *s, json_t *items);

/* Borrowed reference or NULL. ns is NULL or "" for cluster-scoped objects. */
json_t *store_get(const struct store *s, const char *ns, const char *name);

/* Visit every object in ascending key order; stop early when fn returns
 * non-zero (and return that value). */
typedef int (*store_visit_fn)(void *ud, json_t *obj);
int store_foreach(const struct store *s, store_visit_fn fn, void *ud);

/* The "namespace/name" key of an object into buf; returns buf or NULL. */
const char *store_key(json_t *obj, char *buf, size_t len);

#endif
