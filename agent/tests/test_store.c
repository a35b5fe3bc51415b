/* test_store.c - the object cache: keys, versions, handlers, ordering and re-lists. */
#include <stdlib.h>

#include "kube/store.h"
#include "test.h"

/* Every handler call as one line: "add ns/name@rv", "update ns/name@1->2", ... */
struct events {
    char log[64][160];
    int n, adds, updates, deletes;
    struct store *store; /* when set, handlers also check what the store holds */
    int bad;
};

static const char *describe(json_t *obj, char *buf, size_t len)
{
    char key[64];
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    snprintf(buf, len, "%.63s@%.20s", store_key(obj, key, sizeof(key)) ? key : "?", rv ? rv : "-");
    return buf;
}

static void push(struct events *e, const char *line)
{
    if (e->n < 64)
        snprintf(e->log[e->n], sizeof(e->log[0]), "%s", line);
    e->n++;
}

static json_t *lookup_like(struct store *s, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    return store_get(s, json_string_value(json_object_get(md, "namespace")),
                     json_string_value(json_object_get(md, "name")));
}

static void on_add(void *ud, json_t *obj)
{
    struct events *e = ud;
    char d[96], line[160];
    snprintf(line, sizeof(line), "add %s", describe(obj, d, sizeof(d)));
    push(e, line);
    e->adds++;
    if (e->store && lookup_like(e->store, obj) != obj)
        e->bad++;
}

static void on_update(void *ud, json_t *old_obj, json_t *new_obj)
{
    struct events *e = ud;
    char d[96], line[160];
    const char *old_rv =
        json_string_value(json_object_get(json_object_get(old_obj, "metadata"), "resourceVersion"));
    snprintf(line, sizeof(line), "update %s (was %.20s)", describe(new_obj, d, sizeof(d)),
             old_rv ? old_rv : "-");
    push(e, line);
    e->updates++;
    if (e->store && lookup_like(e->store, new_obj) != new_obj)
        e->bad++;
}

static void on_delete(void *ud, json_t *obj)
{
    struct events *e = ud;
    char d[96], line[160];
    snprintf(line, sizeof(line), "delete %s", describe(obj, d, sizeof(d)));
    push(e, line);
    e->deletes++;
    if (e->store && lookup_like(e->store, obj) != NULL)
        e->bad++;
}

static struct store *new_store(struct events *e)
{
    memset(e, 0, sizeof(*e));
    const struct store_handlers h = {on_add, on_update, on_delete, e};
    struct store *s = store_new("Ingress", &h);
    e->store = s;
    return s;
}

static json_t *obj_new(const char *ns, const char *name, const char *rv)
{
    json_t *md = json_object();
    if (ns)
        json_object_set_new(md, "namespace", json_string(ns));
    if (name)
        json_object_set_new(md, "name", json_string(name));
    if (rv)
        json_object_set_new(md, "resourceVersion", json_string(rv));
    return json_pack("{s:s, s:o}", "kind", "Ingress", "metadata", md);
}

/* Upsert a fresh object and drop our reference: the store keeps its own. */
static int put(struct store *s, const char *ns, const char *name, const char *rv)
{
    json_t *o = obj_new(ns, name, rv);
    int rc = store_upsert(s, o);
    json_decref(o);
    return rc;
}

static void del(struct store *s, const char *ns, const char *name)
{
    json_t *o = obj_new(ns, name, NULL);
    store_delete(s, o);
    json_decref(o);
}

static const char *rv_of(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void test_add_update_noop_delete(void)
{
    struct events e;
    struct store *s = new_store(&e);
    CHECK_STR_EQ(store_kind(s), "Ingress");
    CHECK_INT_EQ(store_count(s), 0);
    CHECK_INT_EQ(put(s, "default", "web", "1"), 0);
    CHECK_INT_EQ(store_count(s), 1);
    CHECK_STR_EQ(rv_of(store_get(s, "default", "web")), "1");
    CHECK_INT_EQ(put(s, "default", "web", "2"), 0);
    CHECK_INT_EQ(put(s, "default", "web", "2"), 0); /* same resourceVersion: nothing */
    CHECK_STR_EQ(rv_of(store_get(s, "default", "web")), "2");
    CHECK_INT_EQ(store_count(s), 1);
    del(s, "default", "web");
    del(s, "default", "web"); /* already gone: nothing */
    del(s, "other", "web");
    CHECK_INT_EQ(store_count(s), 0);
    CHECK(store_get(s, "default", "web") == NULL);
    CHECK_INT_EQ(e.n, 3);
    CHECK_STR_EQ(e.log[0], "add default/web@1");
    CHECK_STR_EQ(e.log[1], "update default/web@2 (was 1)");
    CHECK_STR_EQ(e.log[2], "delete default/web@2");
    CHECK_INT_EQ(e.bad, 0);
    store_free(s);
}

static void test_objects_without_resource_version(void)
{
    struct events e;
    struct store *s = new_store(&e);
    CHECK_INT_EQ(put(s, "ns", "a", NULL), 0);
    CHECK_INT_EQ(put(s, "ns", "a", NULL), 0); /* identical content: nothing */
    json_t *o = obj_new("ns", "a", NULL);
    json_object_set_new(o, "spec", json_pack("{s:i}", "x", 1));
    CHECK_INT_EQ(store_upsert(s, o), 0); /* changed content: an update */
    CHECK_INT_EQ(store_upsert(s, o), 0); /* the same object again: nothing */
    json_decref(o);
    CHECK_INT_EQ(put(s, "ns", "a", "5"), 0); /* gaining a resourceVersion: an update */
    CHECK_INT_EQ(e.adds, 1);
    CHECK_INT_EQ(e.updates, 2);
    store_free(s);
}

static void test_missing_name(void)
{
    struct events e;
    struct store *s = new_store(&e);
    CHECK_INT_EQ(put(s, "default", NULL, "1"), -1);
    CHECK_INT_EQ(put(s, "default", "", "1"), -1);
    json_t *not_obj = json_string("x");
    CHECK_INT_EQ(store_upsert(s, not_obj), -1);
    store_delete(s, not_obj);
    json_decref(not_obj);
    json_t *numeric_name = json_pack("{s:{s:i}}", "metadata", "name", 5);
    CHECK_INT_EQ(store_upsert(s, numeric_name), -1);
    json_decref(numeric_name);
    del(s, "default", NULL);
    CHECK(store_get(s, "default", NULL) == NULL);
    CHECK(store_get(s, "default", "") == NULL);
    CHECK_INT_EQ(store_count(s), 0);
    CHECK_INT_EQ(e.n, 0);
    store_free(s);
}

static void test_cluster_scoped_keys(void)
{
    struct events e;
    struct store *s = new_store(&e);
    CHECK_INT_EQ(put(s, NULL, "nginx", "1"), 0);
    CHECK_INT_EQ(put(s, "", "haproxy", "1"), 0); /* "" is cluster-scoped too */
    CHECK_INT_EQ(put(s, "nginx", "nginx", "1"), 0);
    CHECK_INT_EQ(store_count(s), 3);
    CHECK(store_get(s, NULL, "nginx") != NULL);
    CHECK(store_get(s, "", "nginx") == store_get(s, NULL, "nginx"));
    CHECK(store_get(s, NULL, "haproxy") != NULL);
    CHECK(store_get(s, "nginx", "nginx") != store_get(s, NULL, "nginx"));
    CHECK(store_get(s, "nginx", "haproxy") == NULL);
    CHECK_STR_EQ(e.log[0], "add nginx@1");
    CHECK_STR_EQ(e.log[1], "add haproxy@1");
    CHECK_STR_EQ(e.log[2], "add nginx/nginx@1");
    del(s, NULL, "nginx");
    CHECK(store_get(s, NULL, "nginx") == NULL);
    CHECK(store_get(s, "nginx", "nginx") != NULL);
    store_free(s);
}

static void test_store_key(void)
{
    char buf[32];
    json_t *o = obj_new("default", "web", "1");
    CHECK_STR_EQ(store_key(o, buf, sizeof(buf)), "default/web");
    CHECK(store_key(o, buf, sizeof(buf)) == buf);
    CHECK_STR_EQ(store_key(o, buf, 12), "default/web"); /* exactly fits */
    CHECK(store_key(o, buf, 11) == NULL);               /* no room for the NUL */
    CHECK(store_key(o, NULL, 0) == NULL);
    json_decref(o);
    o = obj_new(NULL, "cluster-wide", NULL);
    CHECK_STR_EQ(store_key(o, buf, sizeof(buf)), "cluster-wide");
    json_decref(o);
    o = obj_new("", "empty-ns", NULL);
    CHECK_STR_EQ(store_key(o, buf, sizeof(buf)), "empty-ns");
    json_decref(o);
    o = obj_new("default", NULL, NULL);
    CHECK(store_key(o, buf, sizeof(buf)) == NULL);
    json_decref(o);
    CHECK(store_key(NULL, buf, sizeof(buf)) == NULL);
}

struct collect {
    char keys[16][64];
    int n, stop_at;
};

static int collect_keys(void *ud, json_t *obj)
{
    struct collect *c = ud;
    if (c->n < 16)
        store_key(obj, c->keys[c->n], sizeof(c->keys[0]));
    c->n++;
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static void test_foreach_order_and_early_stop(void)
{
    struct events e;
    struct store *s = new_store(&e);
    const char *keys[][2] = {{"b", "x"}, {"a", "z"},  {NULL, "c"}, {"a", "b"},
                             {"b", "a"}, {NULL, "a"}, {"a-b", "a"}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put(s, keys[i][0], keys[i][1], "1");
    const char *want[] = {"a", "a-b/a", "a/b", "a/z", "b/a", "b/x", "c"};
    struct collect c = {0};
    CHECK_INT_EQ(store_foreach(s, collect_keys, &c), 0);
    CHECK_INT_EQ(c.n, 7);
    for (int i = 0; i < 7 && i < c.n; i++)
        CHECK_STR_EQ(c.keys[i], want[i]);

    memset(&c, 0, sizeof(c));
    c.stop_at = 3;
    CHECK_INT_EQ(store_foreach(s, collect_keys, &c), 42);
    CHECK_INT_EQ(c.n, 3);
    CHECK_STR_EQ(c.keys[2], "a/b");

    /* The cached order follows adds, deletes and updates. */
    put(s, "a", "c", "1");
    del(s, "b", "a");
    put(s, "a", "z", "2");
    memset(&c, 0, sizeof(c));
    CHECK_INT_EQ(store_foreach(s, collect_keys, &c), 0);
    const char *want2[] = {"a", "a-b/a", "a/b", "a/c", "a/z", "b/x", "c"};
    CHECK_INT_EQ(c.n, 7);
    for (int i = 0; i < 7 && i < c.n; i++)
        CHECK_STR_EQ(c.keys[i], want2[i]);
    CHECK_STR_EQ(rv_of(store_get(s, "a", "z")), "2");

    struct events e2;
    struct store *empty = new_store(&e2);
    memset(&c, 0, sizeof(c));
    CHECK_INT_EQ(store_foreach(empty, collect_keys, &c), 0);
    CHECK_INT_EQ(c.n, 0);
    store_free(empty);
    store_free(s);
}

static json_t *items_of(const char *const (*objs)[3], size_t n)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, obj_new(objs[i][0], objs[i][1], objs[i][2]));
    return items;
}

static void test_replace_diff(void)
{
    struct events e;
    struct store *s = new_store(&e);
    put(s, "ns", "keep", "1");
    put(s, "ns", "change", "1");
    put(s, "ns", "gone-b", "1");
    put(s, "ns", "gone-a", "1");
    put(s, NULL, "gone-cluster", "1");
    memset(e.log, 0, sizeof(e.log));
    e.n = e.adds = e.updates = e.deletes = 0;

    const char *const objs[][3] = {
        {"ns", "new-1", "7"}, {"ns", "keep", "1"}, {"ns", "change", "2"},
        {"ns", "new-2", "8"}, {"ns", NULL, "9"}, /* skipped: no name */
    };
    json_t *items = items_of(objs, 5);
    CHECK_INT_EQ(store_replace(s, items), 6);
    json_decref(items);
    CHECK_INT_EQ(e.adds, 2);
    CHECK_INT_EQ(e.updates, 1);
    CHECK_INT_EQ(e.deletes, 3);
    CHECK_INT_EQ(e.n, 6);
    /* Adds and updates in list order, then deletes in key order. */
    CHECK_STR_EQ(e.log[0], "add ns/new-1@7");
    CHECK_STR_EQ(e.log[1], "update ns/change@2 (was 1)");
    CHECK_STR_EQ(e.log[2], "add ns/new-2@8");
    CHECK_STR_EQ(e.log[3], "delete gone-cluster@1");
    CHECK_STR_EQ(e.log[4], "delete ns/gone-a@1");
    CHECK_STR_EQ(e.log[5], "delete ns/gone-b@1");
    CHECK_INT_EQ(e.bad, 0);
    CHECK_INT_EQ(store_count(s), 4);
    CHECK(store_get(s, "ns", "keep") && store_get(s, "ns", "new-2"));
    CHECK(store_get(s, "ns", "gone-a") == NULL);

    /* The same list again changes nothing. */
    items = items_of(objs, 5);
    CHECK_INT_EQ(store_replace(s, items), 0);
    json_decref(items);
    CHECK_INT_EQ(e.n, 6);

    /* Not an array: the store is left alone. */
    json_t *bogus = json_object();
    CHECK_INT_EQ(store_replace(s, bogus), 0);
    json_decref(bogus);
    CHECK_INT_EQ(store_count(s), 4);

    /* An empty list deletes everything. */
    items = json_array();
    CHECK_INT_EQ(store_replace(s, items), 4);
    json_decref(items);
    CHECK_INT_EQ(store_count(s), 0);
    CHECK_INT_EQ(e.deletes, 7);
    store_free(s);
}

static void test_replace_ten_thousand(void)
{
    enum { N = 10000 };
    struct events e;
    struct store *s = new_store(&e);
    e.store = NULL; /* the per-event store_get checks would only slow this down */
    json_t *items = json_array();
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "obj-%05d", i);
        json_array_append_new(items, obj_new(i % 2 ? "odd" : "even", name, "1"));
    }
    CHECK_INT_EQ(store_replace(s, items), N);
    json_decref(items);
    CHECK_INT_EQ(e.adds, N);
    CHECK_INT_EQ(store_count(s), N);

    /* Second list: drop every 4th, change every 5th, add 1000 new. */
    items = json_array();
    int want_upd = 0, want_del = 0;
    for (int i = 0; i < N; i++) {
        if (i % 4 == 0) {
            want_del++;
            continue;
        }
        snprintf(name, sizeof(name), "obj-%05d", i);
        want_upd += i % 5 == 0;
        json_array_append_new(items, obj_new(i % 2 ? "odd" : "even", name, i % 5 ? "1" : "2"));
    }
    for (int i = N; i < N + 1000; i++) {
        snprintf(name, sizeof(name), "obj-%05d", i);
        json_array_append_new(items, obj_new("new", name, "1"));
    }
    e.adds = e.updates = e.deletes = 0;
    CHECK_INT_EQ(store_replace(s, items), want_upd + want_del + 1000);
    json_decref(items);
    CHECK_INT_EQ(e.adds, 1000);
    CHECK_INT_EQ(e.updates, want_upd);
    CHECK_INT_EQ(e.deletes, want_del);
    CHECK_INT_EQ(store_count(s), N - want_del + 1000);
    CHECK(store_get(s, "even", "obj-00000") == NULL);
    CHECK_STR_EQ(rv_of(store_get(s, "odd", "obj-00005")), "2");
    CHECK_STR_EQ(rv_of(store_get(s, "odd", "obj-00001")), "1");
    CHECK(store_get(s, "new", "obj-10999") != NULL);
    store_free(s);
}

static int check_ascending(void *ud, json_t *obj)
{
    char **prev = ud, key[64];
    if (!store_key(obj, key, sizeof(key)))
        return 1;
    if (*prev && strcmp(*prev, key) >= 0) {
        free(*prev);
        *prev = NULL;
        return 1;
    }
    free(*prev);
    *prev = strdup(key);
    return 0;
}

static void test_thirty_thousand_objects(void)
{
    enum { N = 30000 };
    struct store *s = store_new("Service", NULL); /* no handlers at all */
    char ns[16], name[32];
    for (int i = 0; i < N; i++) {
        /* Inserted in an order unrelated to the key order. */
        int j = (int)(((long)i * 7919) % N);
        snprintf(ns, sizeof(ns), "ns-%d", j % 37);
        snprintf(name, sizeof(name), "svc-%d", j);
        CHECK_INT_EQ(put(s, ns, name, "1"), 0);
    }
    CHECK_INT_EQ(store_count(s), N);
    int missing = 0;
    for (int j = 0; j < N; j++) {
        snprintf(ns, sizeof(ns), "ns-%d", j % 37);
        snprintf(name, sizeof(name), "svc-%d", j);
        missing += store_get(s, ns, name) == NULL;
    }
    CHECK_INT_EQ(missing, 0);
    char *prev = NULL;
    CHECK_INT_EQ(store_foreach(s, check_ascending, &prev), 0);
    free(prev);
    for (int j = 0; j < N; j += 2) {
        snprintf(ns, sizeof(ns), "ns-%d", j % 37);
        snprintf(name, sizeof(name), "svc-%d", j);
        del(s, ns, name);
    }
    CHECK_INT_EQ(store_count(s), N / 2);
    CHECK(store_get(s, "ns-1", "svc-1") != NULL);
    CHECK(store_get(s, "ns-2", "svc-2") == NULL);
    store_free(s);
}

/* on_update must get an old object that is still alive, and the store must
 * hold only the new one once the handler returns. */
struct alive {
    int calls, ok;
    json_t *old_seen;
};

static void check_old_alive(void *ud, json_t *old_obj, json_t *new_obj)
{
    struct alive *a = ud;
    a->calls++;
    json_t *spec = json_object_get(old_obj, "spec");
    if (old_obj->refcount >= 1 && json_is_object(spec) &&
        strcmp(json_string_value(json_object_get(spec, "v")), "old") == 0 &&
        strcmp(rv_of(new_obj), "2") == 0)
        a->ok++;
    a->old_seen = old_obj;
}

static void test_update_handler_sees_old_alive(void)
{
    struct alive a = {0, 0, NULL};
    const struct store_handlers h = {NULL, check_old_alive, NULL, &a};
    struct store *s = store_new("Ingress", &h);
    json_t *o1 = obj_new("ns", "a", "1");
    json_object_set_new(o1, "spec", json_pack("{s:s}", "v", "old"));
    store_upsert(s, o1);
    json_decref(o1); /* the store's reference is now the only one */
    json_t *o2 = obj_new("ns", "a", "2");
    store_upsert(s, o2);
    CHECK_INT_EQ(a.calls, 1);
    CHECK_INT_EQ(a.ok, 1);
    CHECK(store_get(s, "ns", "a") == o2);
    CHECK(o2->refcount == 2); /* ours and the store's */
    json_decref(o2);

    /* The same through store_replace. */
    json_t *o3 = obj_new("ns", "a", "3");
    json_object_set_new(o3, "spec", json_pack("{s:s}", "v", "old"));
    json_t *items = json_pack("[o]", o3);
    store_replace(s, items);
    json_decref(items);
    items = json_pack("[o]", obj_new("ns", "a", "2"));
    store_replace(s, items);
    json_decref(items);
    CHECK_INT_EQ(a.calls, 3);
    CHECK_INT_EQ(a.ok, 2);
    store_free(s);
}

TEST_MAIN(TEST_CASE(test_add_update_noop_delete), TEST_CASE(test_objects_without_resource_version),
          TEST_CASE(test_missing_name), TEST_CASE(test_cluster_scoped_keys),
          TEST_CASE(test_store_key), TEST_CASE(test_foreach_order_and_early_stop),
          TEST_CASE(test_replace_diff), TEST_CASE(test_replace_ten_thousand),
          TEST_CASE(test_thirty_thousand_objects), TEST_CASE(test_update_handler_sees_old_alive))
