/*
 * haproxy_fixture.h - run a real HAProxy for one unit test.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. hx_start() writes the test's configuration into a
 * private directory, starts `haproxy -f CFG -db` as a child (killed when the
 * test process dies: PR_SET_PDEATHSIG, and at exit), and waits for its
 * stats socket by polling with a deadline. hx_kill() + hx_run() restart it
 * from the same files, as a crash and a supervisor would.
 *
 * HX_CFG_GLOBAL and HX_CFG_DEFAULTS start a test's configuration (the stats
 * socket where hx_run() looks for it); hx_start_map_frontend() runs the
 * frontend the runtime API and map tests share, answering with map lookups.
 * Around it: hx_run_until() runs a libev loop until a flag is set or a
 * deadline passes, hx_client() makes a runtime API client for the stats
 * socket, and hx_http_get() sends one plain HTTP/1.0 GET to a frontend.
 */
#ifndef SPOKE_TEST_HAPROXY_FIXTURE_H
#define SPOKE_TEST_HAPROXY_FIXTURE_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#include "haproxy/runtime_api.h"

/* The "global" section's first lines (the stats socket at DIR/admin.sock,
 * h->sock) and a "defaults" section (HTTP, 5-10 s timeouts): a test's
 * configuration is HX_CFG_GLOBAL, its own global lines, HX_CFG_DEFAULTS,
 * then its sections. */
#define HX_CFG_GLOBAL                                                                              \
    "global\n"                                                                                     \
    "    stats socket @DIR@/admin.sock mode 600 level admin\n"                                     \
    "    stats timeout 1m\n"
#define HX_CFG_DEFAULTS                                                                            \
    "defaults\n"                                                                                   \
    "    mode http\n"                                                                              \
    "    timeout client 10s\n"                                                                     \
    "    timeout connect 5s\n"                                                                     \
    "    timeout server 10s\n"

struct hx {
    char dir[PATH_MAX]; /* private directory, absolute */
    char cfg[PATH_MAX + 32];
    char sock[PATH_MAX + 32]; /* stats socket: DIR/admin.sock */
    char log[PATH_MAX + 32];  /* HAProxy's stdout and stderr */
    pid_t pid;
};

static inline struct hx **hx_running_slot(void)
{
    static struct hx *running; /* killed at exit if a test bails out */
    return &running;
}

static inline double hx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int hx_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The whole file as a malloc'd NUL-terminated string, or NULL. */
static inline char *hx_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

static inline int hx_free_tcp_port(void)
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

/* A unix socket address for path; -1 if the path is too long for one. */
static inline int hx_unix_address(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return -1;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

static inline int hx_unix_connectable(const char *path)
{
    struct sockaddr_un a;
    if (hx_unix_address(&a, path) < 0)
        return 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static inline void hx_kill(struct hx *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

static inline void hx_kill_running_at_exit(void)
{
    if (*hx_running_slot())
        hx_kill(*hx_running_slot());
}

/* A new private directory under $TMPDIR (or /tmp), as an absolute path. */
static inline int hx_make_temp_dir(char *out, size_t size, const char *prefix)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char templ[PATH_MAX];
    snprintf(templ, sizeof(templ), "%s/%s-XXXXXX", tmp, prefix);
    char abs[PATH_MAX];
    if (!mkdtemp(templ) || !realpath(templ, abs) || strlen(abs) >= size)
        return -1;
    memcpy(out, abs, strlen(abs) + 1);
    return 0;
}

/* Starts haproxy on h->cfg; 0 once its stats socket accepts connections. */
static inline int hx_run(struct hx *h)
{
    static int registered;
    if (!registered++)
        atexit(hx_kill_running_at_exit);
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
    *hx_running_slot() = h;
    double deadline = hx_now() + 10;
    while (hx_now() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            h->pid = 0;
            printf("# haproxy exited at start, see %s\n", h->log);
            return -1;
        }
        if (hx_unix_connectable(h->sock))
            return 0;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL); /* polling the socket, bounded by the deadline */
    }
    hx_kill(h);
    return -1;
}

/* Creates the directory (prefix names it) without starting anything, so the
 * test can lay out its files; "@DIR@" in cfg_text is replaced by it later. */
static inline int hx_init(struct hx *h, const char *prefix)
{
    memset(h, 0, sizeof(*h));
    if (hx_make_temp_dir(h->dir, sizeof(h->dir), prefix) < 0)
        return -1;
    snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", h->dir);
    snprintf(h->sock, sizeof(h->sock), "%s/admin.sock", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/haproxy.log", h->dir);
    return 0;
}

/* Writes cfg_text (with "@DIR@" replaced by h->dir) and starts haproxy. */
static inline int hx_start(struct hx *h, const char *cfg_text)
{
    size_t dl = strlen(h->dir), cap = strlen(cfg_text) * (dl + 1) + 1;
    char *cfg = malloc(cap);
    if (!cfg)
        return -1;
    size_t o = 0;
    for (const char *p = cfg_text; *p;) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            memcpy(cfg + o, h->dir, dl);
            o += dl;
            p += 5;
        } else {
            cfg[o++] = *p++;
        }
    }
    cfg[o] = '\0';
    int rc = hx_write_file(h->cfg, cfg, o);
    free(cfg);
    return rc < 0 ? -1 : hx_run(h);
}

/* hx_init() + hx_start() with a frontend on 127.0.0.1:port that answers
 * every request with a map lookup in its body: DIR/exact.map (map_str) for
 * paths under /exact/, else DIR/routes.map (map_beg), "none" when nothing
 * matches. The maps start as "/ root", "/old old" and "/exact/one 1".
 * frontend_extra lines go first in the frontend (files they name must be
 * written into h->dir between hx_init() and this, so pass an initialised h),
 * sections_extra after it; "" for none. */
static inline int hx_start_map_frontend(struct hx *h, int port, const char *frontend_extra,
                                        const char *sections_extra)
{
    char routes[PATH_MAX + 32], exact[PATH_MAX + 32];
    snprintf(routes, sizeof(routes), "%s/routes.map", h->dir);
    snprintf(exact, sizeof(exact), "%s/exact.map", h->dir);
    const char *routes_text = "/ root\n/old old\n", *exact_text = "/exact/one 1\n";
    if (hx_write_file(routes, routes_text, strlen(routes_text)) < 0 ||
        hx_write_file(exact, exact_text, strlen(exact_text)) < 0)
        return -1;
    char cfg[4096];
    int n = snprintf(cfg, sizeof(cfg),
                     HX_CFG_GLOBAL HX_CFG_DEFAULTS
                     "frontend fe\n"
                     "    bind 127.0.0.1:%d\n"
                     "%s"
                     "    http-request return status 200 content-type text/plain lf-string "
                     "\"%%[path,map_str(@DIR@/exact.map,none)]\" if { path_beg /exact/ }\n"
                     "    http-request return status 200 content-type text/plain lf-string "
                     "\"%%[path,map_beg(@DIR@/routes.map,none)]\"\n"
                     "%s",
                     port, frontend_extra, sections_extra);
    if (n < 0 || (size_t)n >= sizeof(cfg))
        return -1;
    return hx_start(h, cfg);
}

static inline int hx_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Kills haproxy and removes the directory with everything in it. */
static inline void hx_stop(struct hx *h)
{
    hx_kill(h);
    if (*hx_running_slot() == h)
        *hx_running_slot() = NULL;
    if (h->dir[0])
        nftw(h->dir, hx_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void hx_wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* Runs the loop until *flag becomes true or seconds pass; returns *flag. */
static inline int hx_run_until(struct ev_loop *loop, const int *flag, double seconds)
{
    ev_timer deadline;
    ev_timer_init(&deadline, hx_wake_cb, seconds, 0.);
    ev_timer_start(loop, &deadline);
    double end = hx_now() + seconds;
    while (!*flag && hx_now() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &deadline);
    return *flag;
}

/* A runtime API client with short backoffs, for tests. */
static inline struct runtime_api *hx_client(struct ev_loop *loop, const char *address)
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

/* GETs path from an HTTP frontend on 127.0.0.1:port (HTTP/1.0, 5 s socket
 * timeouts); returns the body of a 200 (a static buffer, overwritten by the
 * next call), or "(error)" for anything else. */
static inline const char *hx_http_get(int port, const char *path)
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
                            .sin_port = htons((uint16_t)port),
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
    const char *end_of_head = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200 ", 5) == 0 && end_of_head)
        snprintf(body, sizeof(body), "%s", end_of_head + 4);
    return body;
}

#endif
