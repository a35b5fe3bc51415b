/*
 * haproxy_fixture.h - run a real HAProxy for one unit test.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. hx_start() writes the test's configuration into a
 * private directory, starts `haproxy -f CFG -db` as a child (killed when the
 * test process dies: PR_SET_PDEATHSIG, and at exit), and waits for its
 * stats socket by polling with a deadline. hx_kill() + hx_run() restart it
 * from the same files, as a crash and a supervisor would.
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <ev.h>

#include "haproxy/runtime_api.h"

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

static inline int hx_unix_connectable(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path))
        return 0;
    memcpy(a.sun_path, path, strlen(path) + 1);
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

#endif
