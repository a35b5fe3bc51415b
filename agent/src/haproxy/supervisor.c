/* supervisor.c - see supervisor.h. */
#include "haproxy/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

extern char **environ;

struct haproxy_supervisor {
    struct ev_loop *loop;
    char *bin, *cfg, *pidfile;
    pid_t pid;
    bool adopted;           /* started by an earlier agent: not our child */
    ev_timer watch_adopted; /* polls an adopted master, which sends no SIGCHLD */
    unsigned restarts;
    double backoff;
    ev_tstamp started_at;
    ev_child child;
    ev_timer restart_timer;
    haproxy_started_fn on_start;
    void *ud;
};

static pid_t spawn(const char *bin, char *const argv[], char *err, size_t errlen)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, bin, NULL, NULL, argv, environ);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", bin, strerror(rc));
        return -1;
    }
    return pid;
}

/* haproxy -c -q -f cfg, synchronously: a broken configuration must be
 * reported before anything is stopped or restarted. */
int haproxy_check_config(const char *bin, const char *cfg, char *err, size_t errlen)
{
    char *argv[] = {(char *)bin, "-c", "-q", "-f", (char *)cfg, NULL};
    pid_t pid = spawn(bin, argv, err, errlen);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "haproxy -c rejected %s (its messages are above)", cfg);
        return -1;
    }
    return 0;
}

static int start_child(struct haproxy_supervisor *s, char *err, size_t errlen)
{
    char *argv[] = {s->bin, "-W", "-db", "-f", s->cfg, "-p", s->pidfile, NULL};
    s->pid = spawn(s->bin, argv, err, errlen);
    if (s->pid < 0)
        return -1;
    s->started_at = ev_now(s->loop);
    s->adopted = false;
    ev_child_set(&s->child, s->pid, 0);
    ev_child_start(s->loop, &s->child);
    log_info("haproxy", "started HAProxy (pid %d) with %s", (int)s->pid, s->cfg);
    if (s->on_start)
        s->on_start(s->ud, s->restarts);
    return 0;
}

static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct haproxy_supervisor *s = w->data;
    char err[256];
    s->restarts++;
    if (start_child(s, err, sizeof(err)) < 0) {
        log_error("haproxy", "%s; retrying in %.1f s", err, s->backoff);
        ev_timer_set(&s->restart_timer, s->backoff, 0);
        ev_timer_start(s->loop, &s->restart_timer);
    }
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)revents;
    struct haproxy_supervisor *s = w->data;
    ev_child_stop(loop, w);
    int st = w->rstatus;
    if (WIFSIGNALED(st))
        log_error("haproxy", "HAProxy (pid %d) was killed by signal %d", (int)s->pid, WTERMSIG(st));
    else
        log_error("haproxy", "HAProxy (pid %d) exited with status %d", (int)s->pid,
                  WEXITSTATUS(st));
    s->pid = -1;
    /* It ran for a while: start again at once; it keeps dying: back off. */
    if (ev_now(loop) - s->started_at > 30)
        s->backoff = 0.1;
    else
        s->backoff = s->backoff * 2 > 10 ? 10 : s->backoff * 2;
    log_info("haproxy", "restarting HAProxy in %.1f s", s->backoff);
    ev_timer_set(&s->restart_timer, s->backoff, 0);
    ev_timer_start(loop, &s->restart_timer);
}

/* The master of an earlier agent's HAProxy, if it still runs this cfg. */
static pid_t running_master(const char *pidfile, const char *cfg)
{
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 1 || kill((pid_t)pid, 0) < 0)
        return 0;
    char path[64], cmdline[8192];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    cmdline[n] = '\0';
    /* argv is NUL-separated: look for the cfg path as one argument. */
    for (char *a = cmdline; a < cmdline + n; a += strlen(a) + 1)
        if (strcmp(a, cfg) == 0)
            return (pid_t)pid;
    return 0;
}

static void on_watch_adopted(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct haproxy_supervisor *s = w->data;
    if (s->pid > 0 && kill(s->pid, 0) == 0)
        return;
    ev_timer_stop(loop, w);
    log_error("haproxy", "adopted HAProxy (pid %d) is gone", (int)s->pid);
    s->pid = -1;
    s->backoff = 0.1;
    ev_timer_set(&s->restart_timer, 0.1, 0);
    ev_timer_start(loop, &s->restart_timer);
}

struct haproxy_supervisor *haproxy_supervisor_start(struct ev_loop *loop, const char *haproxy_bin,
                                                    const char *cfg_path,
                                                    haproxy_started_fn on_start, void *ud,
                                                    char *err, size_t errlen)
{
    if (haproxy_check_config(haproxy_bin, cfg_path, err, errlen) < 0)
        return NULL;
    struct haproxy_supervisor *s = calloc(1, sizeof(*s));
    if (!s || !(s->bin = strdup(haproxy_bin)) || !(s->cfg = strdup(cfg_path))) {
        snprintf(err, errlen, "out of memory");
        if (s) {
            free(s->bin);
            free(s);
        }
        return NULL;
    }
    size_t n = strlen(cfg_path);
    s->pidfile = malloc(n + 5);
    if (!s->pidfile)
        abort();
    memcpy(s->pidfile, cfg_path, n + 1);
    char *dot = strrchr(s->pidfile, '.');
    strcpy(dot && strchr(dot, '/') == NULL ? dot : s->pidfile + n, ".pid");
    s->loop = loop;
    s->on_start = on_start;
    s->ud = ud;
    s->backoff = 0.05;
    ev_child_init(&s->child, on_child, 0, 0);
    s->child.data = s;
    ev_timer_init(&s->restart_timer, on_restart_timer, 0, 0);
    s->restart_timer.data = s;
    ev_timer_init(&s->watch_adopted, on_watch_adopted, 1.0, 1.0);
    s->watch_adopted.data = s;
    pid_t running = running_master(s->pidfile, s->cfg);
    if (running > 0) {
        /* An agent restart: HAProxy kept serving; keep it, no gap, no reload. */
        s->pid = running;
        s->adopted = true;
        s->started_at = ev_now(loop);
        ev_timer_start(loop, &s->watch_adopted);
        log_info("haproxy", "adopted the running HAProxy (pid %d) of %s", (int)running, s->cfg);
        return s;
    }
    if (start_child(s, err, errlen) < 0) {
        free(s->bin);
        free(s->cfg);
        free(s->pidfile);
        free(s);
        return NULL;
    }
    return s;
}

int haproxy_supervisor_reload(struct haproxy_supervisor *s, char *err, size_t errlen)
{
    if (haproxy_check_config(s->bin, s->cfg, err, errlen) < 0)
        return -1;
    if (s->pid <= 0) {
        snprintf(err, errlen, "HAProxy is not running (a restart is scheduled)");
        return -1;
    }
    if (kill(s->pid, SIGUSR2) < 0) {
        snprintf(err, errlen, "cannot signal HAProxy: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Waits for pid up to seconds; 1 when it exited. */
static int wait_exit(pid_t pid, double seconds)
{
    struct timespec step = {0, 20 * 1000 * 1000};
    for (double t = 0; t < seconds; t += 0.02) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) < 0))
            return 1;
        nanosleep(&step, NULL);
    }
    return 0;
}

void haproxy_supervisor_stop(struct haproxy_supervisor *s, double grace)
{
    if (!s)
        return;
    ev_timer_stop(s->loop, &s->restart_timer);
    ev_timer_stop(s->loop, &s->watch_adopted);
    ev_child_stop(s->loop, &s->child);
    if (s->pid > 0) {
        log_info("haproxy", "stopping HAProxy (pid %d), %.0f s to finish requests", (int)s->pid,
                 grace);
        kill(s->pid, SIGUSR1);
        if (!wait_exit(s->pid, grace)) {
            kill(s->pid, SIGTERM);
            if (!wait_exit(s->pid, 2)) {
                kill(s->pid, SIGKILL);
                wait_exit(s->pid, 2);
            }
        }
    }
    unlink(s->pidfile);
    free(s->bin);
    free(s->cfg);
    free(s->pidfile);
    free(s);
}

pid_t haproxy_supervisor_pid(const struct haproxy_supervisor *s)
{
    return s->pid;
}

unsigned haproxy_supervisor_restarts(const struct haproxy_supervisor *s)
{
    return s->restarts;
}
