/*
 * test_map_txn.c - whole-map replacement against a real HAProxy: what
 * requests see after a commit (map_beg longest prefix, map_str), the file on
 * disk, hostile entries refused with nothing touched, HAProxy errors and
 * file errors stopping before the commit, and the time a 10,000-entry
 * replacement takes.
 *
 * Each test starts its own `haproxy -f CFG -db` (haproxy_fixture.h: a child,
 * killed when the test ends or the test process dies) in a private
 * directory, and checks routing with plain HTTP/1.0 requests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "haproxy/atomic_file.h"
#include "haproxy/map_txn.h"
#include "haproxy/runtime_api.h"
#include "haproxy_fixture.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------- */

struct txn_result {
    int done;
    int err;
    char detail[512];
};

static void txn_done_cb(void *user, int err, const char *detail)
{
    struct txn_result *r = user;
    r->done++;
    r->err = err;
    snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

/* Replaces the map and waits for the callback; returns its err, or -1000 if
 * map_txn_replace refused to start (err in r->detail). */
static int replace_and_wait(struct ev_loop *loop, struct runtime_api *api, const char *map,
                            const char *file, const struct map_entry *e, size_t n,
                            struct txn_result *r)
{
    memset(r, 0, sizeof(*r));
    int rc = map_txn_replace(api, map, file, e, n, txn_done_cb, r, r->detail, sizeof(r->detail));
    if (rc)
        return -1000;
    if (!hx_run_until(loop, &r->done, 30))
        return -1001;
    return r->err;
}

static int file_equals_entries(const char *path, const struct map_entry *e, size_t n)
{
    char err[128];
    char *want = map_txn_format(e, n, NULL, err, sizeof(err));
    char *have = hx_read_file(path, NULL);
    int same = want && have && strcmp(want, have) == 0;
    free(want);
    free(have);
    return same;
}

static char *show_map(struct runtime_api *api, const char *map)
{
    char cmd[PATH_MAX + 128], *answer = NULL;
    snprintf(cmd, sizeof(cmd), "show map %s", map);
    if (runtime_api_call_sync(api, cmd, NULL, 0, &answer, NULL) != 0)
        return NULL;
    return answer;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* n entries "/r/I" -> "PREFIX_I", then "/" -> root; strings owned by *store. */
static struct map_entry *numbered_entries(size_t n, const char *prefix, const char *root,
                                          char **store)
{
    struct map_entry *e = calloc(n + 1, sizeof(*e));
    char *s = malloc((n + 1) * 64);
    for (size_t i = 0; i < n; i++) {
        char *k = s + i * 64, *v = k + 24;
        snprintf(k, 24, "/r/%zu", i);
        snprintf(v, 40, "%s_%zu", prefix, i);
        e[i] = (struct map_entry){k, v};
    }
    e[n] = (struct map_entry){"/", root};
    *store = s;
    return e;
}

/* The map frontend of haproxy_fixture.h (routes.map, exact.map), which
 * also loads DIR/ip.map (map_ip). */
struct fixture {
    struct hx h;
    char routes_map[PATH_MAX + 32];
    char exact_map[PATH_MAX + 32];
    char ip_map[PATH_MAX + 32];
    int http_port;
    struct ev_loop *loop;
    struct runtime_api *api;
};

static int setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    if (hx_init(&f->h, "spoke-mt") < 0)
        return -1;
    snprintf(f->routes_map, sizeof(f->routes_map), "%s/routes.map", f->h.dir);
    snprintf(f->exact_map, sizeof(f->exact_map), "%s/exact.map", f->h.dir);
    snprintf(f->ip_map, sizeof(f->ip_map), "%s/ip.map", f->h.dir);
    f->http_port = hx_free_tcp_port();
    const char *ip = "10.0.0.0/8 ten\n";
    if (hx_write_file(f->ip_map, ip, strlen(ip)) < 0 ||
        hx_start_map_frontend(&f->h, f->http_port,
                              "    http-request set-var(txn.net) src,map_ip(@DIR@/ip.map,none)\n",
                              "") < 0)
        return -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->api = hx_client(f->loop, f->h.sock);
    return f->api ? 0 : -1;
}

static void teardown(struct fixture *f)
{
    runtime_api_free(f->api);
    if (f->loop)
        ev_loop_destroy(f->loop);
    hx_stop(&f->h);
}

/* ---- tests -------------------------------------------------------------- */

static void test_replace_5000_entries(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old/page"), "old");
    char *store;
    struct map_entry *e = numbered_entries(5000, "v1", "root1", &store);
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, e, 5001, &r), 0);
    CHECK_STR_EQ(r.detail, "");
    /* requests see the new version at once; the old entry is gone */
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/4999"), "v1_4999");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/0"), "v1_0");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/123/x"), "v1_123"); /* not /r/1 nor /r/12 */
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old/page"), "root1");
    char *shown = show_map(f.api, f.routes_map);
    CHECK_INT_EQ(count_lines(shown), 5001);
    free(shown);
    CHECK(file_equals_entries(f.routes_map, e, 5001));
    free(e);
    free(store);

    /* a second replacement with fewer entries */
    e = numbered_entries(100, "v2", "root2", &store);
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, e, 101, &r), 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/99"), "v2_99");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/4999"), "v2_49"); /* longest left: /r/49 */
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/100"), "v2_10");
    shown = show_map(f.api, f.routes_map);
    CHECK_INT_EQ(count_lines(shown), 101);
    free(shown);
    CHECK(file_equals_entries(f.routes_map, e, 101));
    free(e);
    free(store);
    teardown(&f);
}

static void test_map_beg_returns_the_longest_prefix(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    const struct map_entry short_first[] = {
        {"/a", "short"}, {"/a/b", "mid"}, {"/a/b/c", "long"}, {"/", "root"}};
    const struct map_entry long_first[] = {
        {"/", "root"}, {"/a/b/c", "long"}, {"/a/b", "mid"}, {"/a", "short"}};
    const struct map_entry *orders[] = {short_first, long_first};
    for (int o = 0; o < 2; o++) {
        struct txn_result r;
        CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, orders[o], 4, &r),
                     0);
        CHECK_STR_EQ(hx_http_get(f.http_port, "/a/b/c/d"), "long");
        CHECK_STR_EQ(hx_http_get(f.http_port, "/a/b/c"), "long");
        CHECK_STR_EQ(hx_http_get(f.http_port, "/a/b/x"), "mid");
        CHECK_STR_EQ(hx_http_get(f.http_port, "/a/x"), "short");
        CHECK_STR_EQ(hx_http_get(f.http_port, "/zzz"), "root");
    }
    teardown(&f);
}

static void test_map_str_is_exact(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    const struct map_entry e[] = {{"/exact/one", "1"}, {"/exact/two", "value with spaces"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.exact_map, f.exact_map, e, 2, &r), 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/exact/one"), "1");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/exact/two"), "value with spaces");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/exact/one/more"), "none");
    CHECK(file_equals_entries(f.exact_map, e, 2));
    teardown(&f);
}

/* What the design relies on: entries added to a prepared version match
 * nothing until "commit map" (management.txt 9.3, "prepare map"). */
static void test_prepared_version_is_invisible_until_commit(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char cmd[PATH_MAX + 128], *answer = NULL;
    snprintf(cmd, sizeof(cmd), "prepare map %s", f.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, NULL, 0, &answer, NULL), 0);
    unsigned long ver = 0;
    CHECK(answer && sscanf(answer, "New version created: %lu", &ver) == 1);
    free(answer);
    snprintf(cmd, sizeof(cmd), "add map @%lu %s", ver, f.routes_map);
    const char *payload = "/old new\n/ newroot\n";
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, payload, strlen(payload), &answer, NULL), 0);
    CHECK_STR_EQ(answer, "");
    free(answer);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "old");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/x"), "root");
    snprintf(cmd, sizeof(cmd), "commit map @%lu %s", ver, f.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, NULL, 0, &answer, NULL), 0);
    CHECK_STR_EQ(answer, "");
    free(answer);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "new");
    CHECK_STR_EQ(hx_http_get(f.http_port, "/x"), "newroot");
    teardown(&f);
}

static void test_hostile_entries_refused_and_nothing_touched(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char *map_before = show_map(f.api, f.routes_map);
    char *file_before = hx_read_file(f.routes_map, NULL);
    CHECK(map_before && strstr(map_before, " /old old\n"));
    char *long_key = malloc(5001);
    memset(long_key, 'k', 5000);
    long_key[0] = '/';
    long_key[5000] = '\0';
    struct {
        const char *key, *value, *reason;
    } hostile[] = {
        {"/x\nshow info", "v", "key contains a control character"},
        {"/x", "v\n/y w", "value contains a control character"},
        {"/x\r", "v", "key contains a control character"},
        {"/a b", "v", "key contains a space"},
        {"#/x", "v", "key starts with '#'"},
        {"/x", " v", "value starts or ends with a space"},
        {"/x", "v ", "value starts or ends with a space"},
        {long_key, "v", "key is too long"},
        {"/x", "\xff\xfe", "value is not valid UTF-8"},
        {"/\xc0\xaf", "v", "key is not valid UTF-8"},
        {"/x", "", "value is empty"},
        {"/x", NULL, "value is missing"},
        {"", "v", "key is empty"},
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const struct map_entry e[] = {
            {"/fine", "ok"}, {hostile[i].key, hostile[i].value}, {"/also", "ok"}};
        struct txn_result r = {0};
        char err[256] = "";
        int rc = map_txn_replace(f.api, f.routes_map, f.routes_map, e, 3, txn_done_cb, &r, err,
                                 sizeof(err));
        CHECK_INT_EQ(rc, -EINVAL);
        CHECK(strncmp(err, "map entry 1 (key \"", 18) == 0);
        CHECK(strstr(err, hostile[i].reason) != NULL);
        if (!strstr(err, hostile[i].reason))
            printf("#   entry %zu: %s\n", i, err);
        CHECK(strlen(err) < 200); /* a 5000-byte key is not echoed */
        CHECK_INT_EQ(runtime_api_pending(f.api), 0);
        CHECK_INT_EQ(r.done, 0);
    }
    const struct map_entry ok[] = {{"/fine", "ok"}};
    struct txn_result r = {0};
    char err[64];
    CHECK_INT_EQ(
        map_txn_replace(f.api, "bad map\nname", NULL, ok, 1, txn_done_cb, &r, err, sizeof(err)),
        -EINVAL);
    char *map_after = show_map(f.api, f.routes_map);
    char *file_after = hx_read_file(f.routes_map, NULL);
    CHECK(map_before && map_after && strcmp(map_before, map_after) == 0);
    CHECK(file_before && file_after && strcmp(file_before, file_after) == 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "old");
    free(map_before);
    free(map_after);
    free(file_before);
    free(file_after);
    free(long_key);
    teardown(&f);
}

static void test_haproxy_refusal_stops_before_commit_and_file(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char *file_before = hx_read_file(f.ip_map, NULL);
    /* map_ip: HAProxy parses keys as networks and refuses "not-an-ip" */
    const struct map_entry e[] = {{"192.168.0.0/16", "lan"}, {"not-an-ip", "bad"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.ip_map, f.ip_map, e, 2, &r), -EPROTO);
    CHECK(strncmp(r.detail, "add map: ", 9) == 0);
    char *file_after = hx_read_file(f.ip_map, NULL);
    CHECK(file_before && file_after && strcmp(file_before, file_after) == 0);
    char *shown = show_map(f.api, f.ip_map);
    CHECK(shown && strstr(shown, " 10.0.0.0/8 ten\n") && !strstr(shown, "192.168"));
    free(shown);
    free(file_before);
    free(file_after);

    /* a map HAProxy does not know: prepare fails, no file is created */
    char unknown[PATH_MAX + 32];
    snprintf(unknown, sizeof(unknown), "%s/unknown.map", f.h.dir);
    const struct map_entry one[] = {{"/k", "v"}};
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, unknown, unknown, one, 1, &r), -EPROTO);
    CHECK(strncmp(r.detail, "prepare map: Unknown map", 24) == 0);
    CHECK(access(unknown, F_OK) != 0);
    teardown(&f);
}

static void test_file_write_failure_stops_before_commit(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char missing[PATH_MAX + 32];
    snprintf(missing, sizeof(missing), "%s/no-such-dir/routes.map", f.h.dir);
    const struct map_entry e[] = {{"/old", "new"}, {"/", "newroot"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, missing, e, 2, &r), -ENOENT);
    CHECK(strncmp(r.detail, "writing ", 8) == 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "old"); /* not committed */
    /* the abandoned version does not stop the next transaction */
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, e, 2, &r), 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "new");
    CHECK(file_equals_entries(f.routes_map, e, 2));
    teardown(&f);
}

static void test_empty_replacement_clears_the_map(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, NULL, 0, &r), 0);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/old"), "none");
    char *file = hx_read_file(f.routes_map, NULL);
    CHECK_STR_EQ(file, "");
    free(file);
    teardown(&f);
}

static void test_replace_10000_entries_timed(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char *store;
    struct map_entry *e = numbered_entries(9999, "be", "root", &store);
    struct txn_result r;
    /* connect first so the figure is the transaction alone */
    char *answer = NULL;
    CHECK_INT_EQ(runtime_api_call_sync(f.api, "show info", NULL, 0, &answer, NULL), 0);
    free(answer);
    struct runtime_api_stats before, after;
    runtime_api_get_stats(f.api, &before);
    double t0 = hx_now();
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.routes_map, f.routes_map, e, 10000, &r), 0);
    double took = hx_now() - t0;
    runtime_api_get_stats(f.api, &after);
    unsigned long adds = after.answered - before.answered - 2; /* minus prepare, commit */
    CHECK(adds >= 10000 * 14 / MAP_TXN_CHUNK_BYTES);
    printf("# replaced a 10000-entry map (prepare + %lu add commands + file + commit) "
           "in %.1f ms\n",
           adds, took * 1000);
    CHECK_STR_EQ(hx_http_get(f.http_port, "/r/9998/x"), "be_9998");
    CHECK(file_equals_entries(f.routes_map, e, 10000));
    free(e);
    free(store);
    teardown(&f);
}

static void test_atomic_file_replaces_whole_file(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], other[PATH_MAX + 32];
    CHECK(hx_make_temp_dir(dir, sizeof(dir), "spoke-mt") == 0);
    snprintf(path, sizeof(path), "%s/f.map", dir);
    CHECK_INT_EQ(atomic_file_write(path, "a 1\n", 4, 0600), 0);
    CHECK_INT_EQ(atomic_file_write(path, "b 2\nc 3\n", 8, 0644), 0);
    char *content = hx_read_file(path, NULL);
    CHECK_STR_EQ(content, "b 2\nc 3\n");
    free(content);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    /* a failed write leaves the old file and no temporary file behind */
    snprintf(other, sizeof(other), "%s/missing/f.map", dir);
    CHECK_INT_EQ(atomic_file_write(other, "x", 1, 0644), -ENOENT);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0); /* fails if a temporary file was left */
}

TEST_MAIN(TEST_CASE(test_replace_5000_entries), TEST_CASE(test_map_beg_returns_the_longest_prefix),
          TEST_CASE(test_map_str_is_exact),
          TEST_CASE(test_prepared_version_is_invisible_until_commit),
          TEST_CASE(test_hostile_entries_refused_and_nothing_touched),
          TEST_CASE(test_haproxy_refusal_stops_before_commit_and_file),
          TEST_CASE(test_file_write_failure_stops_before_commit),
          TEST_CASE(test_empty_replacement_clears_the_map),
          TEST_CASE(test_replace_10000_entries_timed),
          TEST_CASE(test_atomic_file_replaces_whole_file))
