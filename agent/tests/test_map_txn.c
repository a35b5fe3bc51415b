/*
 * test_map_txn.c - whole-map replacement against a real HAProxy: what
 * requests see after a commit (map_beg longest prefix, map_str), the file on
 * disk, hostile entries refused with nothing touched, HAProxy errors and
 * file errors stopping before the commit, and the time a 10,000-entry
 * replacement takes.
 *
 * Each test starts its own `haproxy -f CFG -db` (a child, killed when the
 * test ends or the test process dies: PR_SET_PDEATHSIG) in a mkdtemp
 * directory, and checks routing with plain HTTP/1.0 requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <ev.h>

#include "haproxy/atomic_file.h"
#include "haproxy/map_txn.h"
#include "haproxy/runtime_api.h"
#include "test.h"

/* ---- an HAProxy for one test ------------------------------------------ */

struct haproxy {
    char dir[256];
    char cfg[300];
    char sock[300];
    char routes_map[300];
    char exact_map[300];
    char ip_map[300];
    char log[300];
    int http_port;
    pid_t pid;
};

static struct haproxy *running; /* killed at exit if a test bails out */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A unix socket address for path; -1 if the path is too long for one. */
static int unix_address(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return -1;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

static int unix_connectable(const char *path)
{
    struct sockaddr_un a;
    if (unix_address(&a, path) < 0)
        return 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void haproxy_kill(struct haproxy *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

static void kill_running_at_exit(void)
{
    if (running)
        haproxy_kill(running);
}

/* Starts haproxy on h's config; 0 once its stats socket accepts connections. */
static int haproxy_run(struct haproxy *h)
{
    unlink(h->sock);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("haproxy", "haproxy", "-f", h->cfg, "-db", (char *)NULL);
        _exit(127);
    }
    h->pid = pid;
    running = h;
    double deadline = now_s() + 10;
    while (now_s() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            h->pid = 0;
            printf("# haproxy exited at start, see its log\n");
            return -1;
        }
        if (unix_connectable(h->sock))
            return 0;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL); /* polling the socket, bounded by the deadline */
    }
    haproxy_kill(h);
    return -1;
}

/* A new private directory under $TMPDIR (or /tmp). */
static int make_temp_dir(char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, size, "%s/spoke-mt-XXXXXX", tmp);
    return mkdtemp(out) ? 0 : -1;
}

static int haproxy_start(struct haproxy *h)
{
    memset(h, 0, sizeof(*h));
    if (make_temp_dir(h->dir, sizeof(h->dir)) < 0)
        return -1;
    snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", h->dir);
    snprintf(h->sock, sizeof(h->sock), "%s/admin.sock", h->dir);
    snprintf(h->routes_map, sizeof(h->routes_map), "%s/routes.map", h->dir);
    snprintf(h->exact_map, sizeof(h->exact_map), "%s/exact.map", h->dir);
    snprintf(h->ip_map, sizeof(h->ip_map), "%s/ip.map", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/haproxy.log", h->dir);
    h->http_port = free_tcp_port();
    write_text(h->routes_map, "/ root\n/old old\n");
    write_text(h->exact_map, "/exact/one 1\n");
    write_text(h->ip_map, "10.0.0.0/8 ten\n");
    char cfg[4096];
    snprintf(cfg, sizeof(cfg),
             "global\n"
             "    stats socket %s mode 600 level admin\n"
             "    stats timeout 1m\n"
             "defaults\n"
             "    mode http\n"
             "    timeout client 10s\n"
             "    timeout connect 5s\n"
             "    timeout server 10s\n"
             "frontend fe\n"
             "    bind 127.0.0.1:%d\n"
             "    http-request set-var(txn.net) src,map_ip(%s,none)\n"
             "    http-request return status 200 content-type text/plain lf-string "
             "\"%%[path,map_str(%s,none)]\" if { path_beg /exact/ }\n"
             "    http-request return status 200 content-type text/plain lf-string "
             "\"%%[path,map_beg(%s,none)]\"\n",
             h->sock, h->http_port, h->ip_map, h->exact_map, h->routes_map);
    write_text(h->cfg, cfg);
    static int registered;
    if (!registered++)
        atexit(kill_running_at_exit);
    return haproxy_run(h);
}

static void haproxy_stop(struct haproxy *h)
{
    haproxy_kill(h);
    running = NULL;
    const char *files[] = {h->cfg, h->sock, h->routes_map, h->exact_map, h->ip_map, h->log};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(h->dir);
}

/* ---- loop helpers ------------------------------------------------------ */

static void wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* Runs the loop until *flag becomes true or seconds pass; returns *flag. */
static int run_until(struct ev_loop *loop, const int *flag, double seconds)
{
    ev_timer deadline;
    ev_timer_init(&deadline, wake_cb, seconds, 0.);
    ev_timer_start(loop, &deadline);
    double end = now_s() + seconds;
    while (!*flag && now_s() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &deadline);
    return *flag;
}

static struct runtime_api *client_for(struct ev_loop *loop, const char *address)
{
    struct runtime_api_config cfg;
    runtime_api_config_defaults(&cfg);
    cfg.address = address;
    cfg.reconnect_min_delay = 0.05;
    cfg.reconnect_max_delay = 0.2;
    char err[128];
    struct runtime_api *api = runtime_api_new(loop, &cfg, err, sizeof(err));
    if (!api)
        printf("# runtime_api_new: %s\n", err);
    return api;
}

/* ---- an HTTP/1.0 client -------------------------------------------------- */

/* GETs path from the frontend; returns the body (static buffer) of a 200, or
 * "(error)". */
static const char *http_get(const struct haproxy *h, const char *path)
{
    static char body[4096];
    char resp[8192];
    snprintf(body, sizeof(body), "(error)");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return body;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)h->http_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        char req[1024];
        int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: test\r\n\r\n", path);
        if (write(fd, req, (size_t)n) == n) {
            ssize_t r;
            while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
                got += (size_t)r;
        }
    }
    close(fd);
    resp[got] = '\0';
    const char *start = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200 ", 5) == 0 && start)
        snprintf(body, sizeof(body), "%s", start + 4);
    return body;
}

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
    if (!run_until(loop, &r->done, 30))
        return -1001;
    return r->err;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 65536;
            char *bigger = realloc(buf, cap);
            if (!bigger) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (!n)
            break;
        len += n;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static int file_equals_entries(const char *path, const struct map_entry *e, size_t n)
{
    char err[128];
    char *want = map_txn_format(e, n, NULL, err, sizeof(err));
    char *have = read_file(path);
    int same = want && have && strcmp(want, have) == 0;
    free(want);
    free(have);
    return same;
}

static char *show_map(struct runtime_api *api, const char *map)
{
    char cmd[512], *answer = NULL;
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

struct fixture {
    struct haproxy h;
    struct ev_loop *loop;
    struct runtime_api *api;
};

static int setup(struct fixture *f)
{
    if (haproxy_start(&f->h) < 0)
        return -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->api = client_for(f->loop, f->h.sock);
    return f->api ? 0 : -1;
}

static void teardown(struct fixture *f)
{
    runtime_api_free(f->api);
    ev_loop_destroy(f->loop);
    haproxy_stop(&f->h);
}

/* ---- tests -------------------------------------------------------------- */

static void test_replace_5000_entries(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK_STR_EQ(http_get(&f.h, "/old/page"), "old");
    char *store;
    struct map_entry *e = numbered_entries(5000, "v1", "root1", &store);
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, e, 5001, &r), 0);
    CHECK_STR_EQ(r.detail, "");
    /* requests see the new version at once; the old entry is gone */
    CHECK_STR_EQ(http_get(&f.h, "/r/4999"), "v1_4999");
    CHECK_STR_EQ(http_get(&f.h, "/r/0"), "v1_0");
    CHECK_STR_EQ(http_get(&f.h, "/r/123/x"), "v1_123"); /* not /r/1 nor /r/12 */
    CHECK_STR_EQ(http_get(&f.h, "/old/page"), "root1");
    char *shown = show_map(f.api, f.h.routes_map);
    CHECK_INT_EQ(count_lines(shown), 5001);
    free(shown);
    CHECK(file_equals_entries(f.h.routes_map, e, 5001));
    free(e);
    free(store);

    /* a second replacement with fewer entries */
    e = numbered_entries(100, "v2", "root2", &store);
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, e, 101, &r), 0);
    CHECK_STR_EQ(http_get(&f.h, "/r/99"), "v2_99");
    CHECK_STR_EQ(http_get(&f.h, "/r/4999"), "v2_49"); /* longest left: /r/49 */
    CHECK_STR_EQ(http_get(&f.h, "/r/100"), "v2_10");
    shown = show_map(f.api, f.h.routes_map);
    CHECK_INT_EQ(count_lines(shown), 101);
    free(shown);
    CHECK(file_equals_entries(f.h.routes_map, e, 101));
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
        CHECK_INT_EQ(
            replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, orders[o], 4, &r), 0);
        CHECK_STR_EQ(http_get(&f.h, "/a/b/c/d"), "long");
        CHECK_STR_EQ(http_get(&f.h, "/a/b/c"), "long");
        CHECK_STR_EQ(http_get(&f.h, "/a/b/x"), "mid");
        CHECK_STR_EQ(http_get(&f.h, "/a/x"), "short");
        CHECK_STR_EQ(http_get(&f.h, "/zzz"), "root");
    }
    teardown(&f);
}

static void test_map_str_is_exact(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    const struct map_entry e[] = {{"/exact/one", "1"}, {"/exact/two", "value with spaces"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.exact_map, f.h.exact_map, e, 2, &r), 0);
    CHECK_STR_EQ(http_get(&f.h, "/exact/one"), "1");
    CHECK_STR_EQ(http_get(&f.h, "/exact/two"), "value with spaces");
    CHECK_STR_EQ(http_get(&f.h, "/exact/one/more"), "none");
    CHECK(file_equals_entries(f.h.exact_map, e, 2));
    teardown(&f);
}

/* What the design relies on: entries added to a prepared version match
 * nothing until "commit map" (management.txt 9.3, "prepare map"). */
static void test_prepared_version_is_invisible_until_commit(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char cmd[512], *answer = NULL;
    snprintf(cmd, sizeof(cmd), "prepare map %s", f.h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, NULL, 0, &answer, NULL), 0);
    unsigned long ver = 0;
    CHECK(answer && sscanf(answer, "New version created: %lu", &ver) == 1);
    free(answer);
    snprintf(cmd, sizeof(cmd), "add map @%lu %s", ver, f.h.routes_map);
    const char *payload = "/old new\n/ newroot\n";
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, payload, strlen(payload), &answer, NULL), 0);
    CHECK_STR_EQ(answer, "");
    free(answer);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "old");
    CHECK_STR_EQ(http_get(&f.h, "/x"), "root");
    snprintf(cmd, sizeof(cmd), "commit map @%lu %s", ver, f.h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, NULL, 0, &answer, NULL), 0);
    CHECK_STR_EQ(answer, "");
    free(answer);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "new");
    CHECK_STR_EQ(http_get(&f.h, "/x"), "newroot");
    teardown(&f);
}

static void test_hostile_entries_refused_and_nothing_touched(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    char *map_before = show_map(f.api, f.h.routes_map);
    char *file_before = read_file(f.h.routes_map);
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
        int rc = map_txn_replace(f.api, f.h.routes_map, f.h.routes_map, e, 3, txn_done_cb, &r, err,
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
    char *map_after = show_map(f.api, f.h.routes_map);
    char *file_after = read_file(f.h.routes_map);
    CHECK(map_before && map_after && strcmp(map_before, map_after) == 0);
    CHECK(file_before && file_after && strcmp(file_before, file_after) == 0);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "old");
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
    char *file_before = read_file(f.h.ip_map);
    /* map_ip: HAProxy parses keys as networks and refuses "not-an-ip" */
    const struct map_entry e[] = {{"192.168.0.0/16", "lan"}, {"not-an-ip", "bad"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.ip_map, f.h.ip_map, e, 2, &r), -EPROTO);
    CHECK(strncmp(r.detail, "add map: ", 9) == 0);
    char *file_after = read_file(f.h.ip_map);
    CHECK(file_before && file_after && strcmp(file_before, file_after) == 0);
    char *shown = show_map(f.api, f.h.ip_map);
    CHECK(shown && strstr(shown, " 10.0.0.0/8 ten\n") && !strstr(shown, "192.168"));
    free(shown);
    free(file_before);
    free(file_after);

    /* a map HAProxy does not know: prepare fails, no file is created */
    char unknown[400];
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
    char missing[400];
    snprintf(missing, sizeof(missing), "%s/no-such-dir/routes.map", f.h.dir);
    const struct map_entry e[] = {{"/old", "new"}, {"/", "newroot"}};
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, missing, e, 2, &r), -ENOENT);
    CHECK(strncmp(r.detail, "writing ", 8) == 0);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "old"); /* not committed */
    /* the abandoned version does not stop the next transaction */
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, e, 2, &r), 0);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "new");
    CHECK(file_equals_entries(f.h.routes_map, e, 2));
    teardown(&f);
}

static void test_empty_replacement_clears_the_map(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    struct txn_result r;
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, NULL, 0, &r), 0);
    CHECK_STR_EQ(http_get(&f.h, "/old"), "none");
    char *file = read_file(f.h.routes_map);
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
    double t0 = now_s();
    CHECK_INT_EQ(replace_and_wait(f.loop, f.api, f.h.routes_map, f.h.routes_map, e, 10000, &r), 0);
    double took = now_s() - t0;
    runtime_api_get_stats(f.api, &after);
    unsigned long adds = after.answered - before.answered - 2; /* minus prepare, commit */
    CHECK(adds >= 10000 * 14 / MAP_TXN_CHUNK_BYTES);
    printf("# replaced a 10000-entry map (prepare + %lu add commands + file + commit) "
           "in %.1f ms\n",
           adds, took * 1000);
    CHECK_STR_EQ(http_get(&f.h, "/r/9998/x"), "be_9998");
    CHECK(file_equals_entries(f.h.routes_map, e, 10000));
    free(e);
    free(store);
    teardown(&f);
}

static void test_atomic_file_replaces_whole_file(void)
{
    char dir[200], path[300], other[300];
    CHECK(make_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(path, sizeof(path), "%s/f.map", dir);
    CHECK_INT_EQ(atomic_file_write(path, "a 1\n", 4, 0600), 0);
    CHECK_INT_EQ(atomic_file_write(path, "b 2\nc 3\n", 8, 0644), 0);
    char *content = read_file(path);
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
