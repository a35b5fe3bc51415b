/* spoe_server.c - the SPOE server's threads: listener, workers (one libev
 * loop each), snapshot publication, deferred decisions, counters, stop. One
 * connection's protocol is in spoe_conn.c; see spoe_server.h. */
#include "spoe/spoe_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "spoe/spoe_internal.h"
#include "util/log.h"
#include "util/net_addr.h"

/* 100 us to 2 s: a decision is answered in microseconds unless it waits for
 * external auth (bounded by HAProxy's "timeout processing"). */
const double spoe_latency_bounds[SPOE_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1, 2};

#define COMPONENT "spoe"

void spoe_server_config_init(struct spoe_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->workers = 2;
    cfg->max_frame_size = SPOP_DEFAULT_MAX_FRAME_SIZE;
    cfg->idle_timeout = 30.0;
    cfg->close_timeout = 2.0;
    cfg->max_output = 1024 * 1024;
    cfg->max_payload = 64 * 1024;
    cfg->max_pending = 256;
    cfg->max_connections = 4096;
    cfg->backlog = 128;
}

uint64_t spoe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- snapshots ------------------------------------------------------------ */

void spoe_snap_hold(struct spoe_snap *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void spoe_snap_drop(struct spoe_snap *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        if (s->release)
            s->release(s->ptr);
        free(s);
    }
}

void spoe_server_publish(struct spoe_server *srv, void *snapshot, void (*release)(void *))
{
    struct spoe_snap *s = NULL;
    if (snapshot) {
        s = calloc(1, sizeof(*s));
        if (!s) {
            /* Keep serving the old snapshot rather than none. */
            log_error(COMPONENT, "out of memory publishing a snapshot");
            if (release)
                release(snapshot);
            return;
        }
        s->ptr = snapshot;
        s->release = release;
        atomic_init(&s->refs, 1); /* the server's reference */
    }
    pthread_mutex_lock(&srv->snap_lock);
    struct spoe_snap *old = srv->snap;
    srv->snap = s;
    atomic_fetch_add_explicit(&srv->snap_gen, 1, memory_order_release);
    pthread_mutex_unlock(&srv->snap_lock);
    spoe_snap_drop(old);
    /* Idle workers drop their reference to the old one now, not at their
     * next request. */
    for (unsigned i = 0; i < srv->nworkers; i++)
        ev_async_send(srv->workers[i]->loop, &srv->workers[i]->wake);
}

struct spoe_snap *spoe_worker_snapshot(struct spoe_worker *w)
{
    struct spoe_server *srv = w->srv;
    if (atomic_load_explicit(&srv->snap_gen, memory_order_acquire) != w->snap_gen) {
        pthread_mutex_lock(&srv->snap_lock);
        struct spoe_snap *s = srv->snap;
        spoe_snap_hold(s);
        w->snap_gen = atomic_load_explicit(&srv->snap_gen, memory_order_relaxed);
        pthread_mutex_unlock(&srv->snap_lock);
        spoe_snap_drop(w->snap);
        w->snap = s;
    }
    return w->snap;
}

/* ---- deferred decisions ----------------------------------------------------- */

void spoe_inbox_drop(struct spoe_inbox *in)
{
    if (in && atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&in->lock);
        free(in);
    }
}

void spoe_async_free(struct spoe_async *a)
{
    spoe_snap_drop(a->snap);
    spoe_inbox_drop(a->inbox);
    free(a);
}

struct spoe_async *spoe_reply_defer(struct spoe_reply *r)
{
    if (!r || !r->conn || r->deferred)
        return NULL;
    struct spoe_worker *w = spoe_conn_worker(r->conn);
    struct spoe_async *a = malloc(sizeof(*a));
    if (!a)
        return NULL;
    memcpy(&a->reply, r, offsetof(struct spoe_reply, arena) + r->used);
    a->reply.conn = NULL; /* a deferred reply cannot be deferred again */
    a->reply.deferred = NULL;
    a->inbox = w->inbox;
    atomic_fetch_add_explicit(&w->inbox->refs, 1, memory_order_relaxed);
    a->snap = w->snap;
    spoe_snap_hold(a->snap);
    a->inext = NULL;
    a->stream_id = r->stream_id;
    a->frame_id = r->frame_id;
    a->started_ns = r->started_ns;
    spoe_conn_add_deferred(r->conn, a);
    r->deferred = a;
    return a;
}

struct spoe_reply *spoe_async_reply(struct spoe_async *a)
{
    return &a->reply;
}

void *spoe_async_snapshot(const struct spoe_async *a)
{
    return a->snap ? a->snap->ptr : NULL;
}

void spoe_async_complete(struct spoe_async *a)
{
    struct spoe_inbox *in = a->inbox;
    pthread_mutex_lock(&in->lock);
    if (in->closed) {
        pthread_mutex_unlock(&in->lock);
        spoe_async_free(a);
        return;
    }
    a->inext = NULL;
    if (in->tail)
        in->tail->inext = a;
    else
        in->head = a;
    in->tail = a;
    ev_async_send(in->loop, in->wake);
    pthread_mutex_unlock(&in->lock);
}

/* A socket that no worker will take. */
static void drop_socket(struct spoe_worker *w, int fd)
{
    close(fd);
    atomic_fetch_sub(&w->load, 1);
    atomic_fetch_sub(&w->srv->open_conns, 1);
}

static void drain_inbox(struct spoe_worker *w)
{
    struct spoe_inbox *in = w->inbox;
    pthread_mutex_lock(&in->lock);
    struct spoe_async *a = in->head;
    in->head = in->tail = NULL;
    int *fds = in->fds;
    size_t nfds = in->nfds;
    in->fds = NULL;
    in->nfds = in->fdcap = 0;
    pthread_mutex_unlock(&in->lock);
    while (a) {
        struct spoe_async *next = a->inext;
        spoe_conn_deferred_done(w, a);
        a = next;
    }
    for (size_t i = 0; i < nfds; i++) {
        if (in->closed)
            drop_socket(w, fds[i]);
        else
            spoe_conn_accept(w, fds[i]);
    }
    free(fds);
}

/* Gives an accepted socket to worker t (another thread). */
static void hand_over(struct spoe_worker *t, int fd)
{
    struct spoe_inbox *in = t->inbox;
    pthread_mutex_lock(&in->lock);
    if (!in->closed && in->nfds == in->fdcap) {
        size_t cap = in->fdcap ? in->fdcap * 2 : 16;
        int *fds = realloc(in->fds, cap * sizeof(int));
        if (fds) {
            in->fds = fds;
            in->fdcap = cap;
        }
    }
    bool taken = !in->closed && in->nfds < in->fdcap;
    if (taken) {
        in->fds[in->nfds++] = fd;
        ev_async_send(in->loop, in->wake);
    }
    pthread_mutex_unlock(&in->lock);
    if (!taken)
        drop_socket(t, fd);
}

/* ---- workers ------------------------------------------------------------------ */

static void stop_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void begin_stop(struct spoe_worker *w)
{
    w->stopping = true;
    ev_io_stop(w->loop, &w->accept_w);
    ev_timer_stop(w->loop, &w->accept_retry);
    spoe_conn_stop_all(w);
    if (w->nconns == 0) {
        ev_break(w->loop, EVBREAK_ALL);
        return;
    }
    /* Each connection has its own close deadline; this is the backstop. */
    ev_timer_init(&w->stop_timer, stop_timer_cb, w->srv->cfg.close_timeout + 1.0, 0.);
    ev_timer_start(w->loop, &w->stop_timer);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    struct spoe_worker *w = a->data;
    (void)spoe_worker_snapshot(w);
    drain_inbox(w);
    if (!w->stopping && atomic_load_explicit(&w->srv->stopping, memory_order_acquire))
        begin_stop(w);
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct spoe_worker *w = t->data;
    ev_io_start(loop, &w->accept_w);
}

/* Every worker watches the one listening socket; whoever wakes first takes
 * the connection (the others get EAGAIN) and gives it to the worker with
 * the fewest connections, itself when tied: otherwise the worker that
 * happens to wake first would end up with most of them. See
 * spoe_server_start() for why not SO_REUSEPORT. */
static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)revents;
    struct spoe_worker *w = io->data;
    struct spoe_server *srv = w->srv;
    int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_warn(COMPONENT, "accept: %s; pausing for 100 ms", strerror(errno));
            ev_io_stop(loop, &w->accept_w);
            ev_timer_set(&w->accept_retry, 0.1, 0.);
            ev_timer_start(loop, &w->accept_retry);
        }
        return; /* EAGAIN (another worker took it), ECONNABORTED, EINTR */
    }
    if (atomic_fetch_add(&srv->open_conns, 1) >= srv->cfg.max_connections) {
        atomic_fetch_sub(&srv->open_conns, 1);
        spoe_ctr_add(&w->ctr.errors, 1);
        log_warn(COMPONENT, "refusing a connection: %u already open", srv->cfg.max_connections);
        close(fd);
        return;
    }
    if (!srv->is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    struct spoe_worker *target = w;
    unsigned least = atomic_load(&w->load);
    for (unsigned i = 0; i < srv->nworkers; i++) {
        unsigned load = atomic_load(&srv->workers[i]->load);
        if (load < least) {
            least = load;
            target = srv->workers[i];
        }
    }
    atomic_fetch_add(&target->load, 1);
    if (target == w)
        spoe_conn_accept(w, fd);
    else
        hand_over(target, fd);
}

static void *worker_main(void *arg)
{
    struct spoe_worker *w = arg;
    ev_run(w->loop, 0);

    while (w->conns)
        spoe_conn_destroy(w->conns);
    /* Completed decisions not seen yet; later ones free themselves. */
    pthread_mutex_lock(&w->inbox->lock);
    w->inbox->closed = true;
    pthread_mutex_unlock(&w->inbox->lock);
    drain_inbox(w);
    return NULL;
}

static void worker_free(struct spoe_worker *w)
{
    if (!w)
        return;
    if (w->inbox) {
        for (size_t i = 0; i < w->inbox->nfds; i++)
            close(w->inbox->fds[i]);
        free(w->inbox->fds);
        w->inbox->fds = NULL;
        w->inbox->nfds = 0;
    }
    if (w->loop) {
        ev_io_stop(w->loop, &w->accept_w);
        ev_timer_stop(w->loop, &w->accept_retry);
        ev_timer_stop(w->loop, &w->stop_timer);
        ev_async_stop(w->loop, &w->wake);
        ev_loop_destroy(w->loop);
    }
    spoe_inbox_drop(w->inbox);
    spoe_snap_drop(w->snap);
    free(w->scratch);
    free(w);
}

static struct spoe_worker *worker_new(struct spoe_server *srv, unsigned index)
{
    struct spoe_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->srv = srv;
    w->index = index;
    atomic_init(&w->load, 0);
    w->scratch_cap = SPOP_FRAME_LEN_SIZE + (size_t)srv->cfg.max_frame_size;
    w->scratch = malloc(w->scratch_cap);
    w->loop = ev_loop_new(EVFLAG_AUTO);
    w->inbox = calloc(1, sizeof(*w->inbox));
    if (w->inbox) {
        pthread_mutex_init(&w->inbox->lock, NULL);
        atomic_init(&w->inbox->refs, 1);
        w->inbox->loop = w->loop;
        w->inbox->wake = &w->wake;
    }
    if (!w->scratch || !w->inbox || !w->loop) {
        worker_free(w);
        return NULL;
    }
    w->snap_gen = (uint64_t)-1; /* take the current snapshot at the first decision */
    ev_io_init(&w->accept_w, accept_cb, srv->listen_fd, EV_READ);
    w->accept_w.data = w;
    ev_timer_init(&w->accept_retry, accept_retry_cb, 0.1, 0.);
    w->accept_retry.data = w;
    ev_timer_init(&w->stop_timer, stop_timer_cb, 1.0, 0.);
    ev_async_init(&w->wake, wake_cb);
    w->wake.data = w;
    ev_async_start(w->loop, &w->wake);
    ev_io_start(w->loop, &w->accept_w);
    return w;
}

/* ---- the listener ------------------------------------------------------------- */

/* True when a is a socket file nobody listens on any more. */
static bool unix_path_is_stale(const struct sockaddr_un *a)
{
    struct stat st;
    if (stat(a->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return false;
    bool refused =
        connect(probe, (const struct sockaddr *)a, sizeof(*a)) < 0 && errno == ECONNREFUSED;
    close(probe);
    return refused;
}

static int listen_unix(struct spoe_server *srv, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof(a.sun_path)) {
        snprintf(err, errlen, "invalid unix socket path '%s'", path);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        bool bound = false;
        if (e == EADDRINUSE && unix_path_is_stale(&a)) {
            /* A socket file left behind by a dead process: replace it. */
            unlink(path);
            bound = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
            e = errno;
        }
        if (!bound) {
            snprintf(err, errlen, "cannot listen on unix@%s: %s", path, strerror(e));
            close(fd);
            return -1;
        }
    }
    if (listen(fd, srv->cfg.backlog) < 0) {
        snprintf(err, errlen, "cannot listen on unix@%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    srv->is_unix = true;
    memcpy(srv->unix_path, path, strlen(path) + 1);
    return fd;
}

static int listen_any(struct spoe_server *srv, const char *addr, char *err, size_t errlen)
{
    if (strncmp(addr, "unix@", 5) == 0)
        return listen_unix(srv, addr + 5, err, errlen);
    int fd = net_listen_tcp(addr, srv->cfg.backlog, err, errlen);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

/* ---- start, stop, counters ---------------------------------------------------- */

static void server_free(struct spoe_server *srv)
{
    for (unsigned i = 0; i < srv->nworkers; i++)
        worker_free(srv->workers[i]);
    free(srv->workers);
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        if (srv->is_unix)
            unlink(srv->unix_path);
    }
    spoe_snap_drop(srv->snap);
    pthread_mutex_destroy(&srv->snap_lock);
    free(srv);
}

static void join_workers(struct spoe_server *srv)
{
    atomic_store_explicit(&srv->stopping, true, memory_order_release);
    for (unsigned i = 0; i < srv->nworkers; i++)
        if (srv->workers[i]->thread_started)
            ev_async_send(srv->workers[i]->loop, &srv->workers[i]->wake);
    for (unsigned i = 0; i < srv->nworkers; i++)
        if (srv->workers[i]->thread_started)
            pthread_join(srv->workers[i]->thread, NULL);
}

/*
 * Why one shared listening socket rather than SO_REUSEPORT: SO_REUSEPORT
 * does not balance unix sockets, and a connection queued on a reuseport
 * socket whose worker is busy waits for that worker, or is reset if that
 * socket closes first. HAProxy opens few, long-lived SPOE connections, so the
 * cost of a shared socket (every worker wakes up for each new connection and
 * all but one get EAGAIN) is paid rarely, and a busy worker naturally
 * accepts less.
 */
struct spoe_server *spoe_server_start(const struct spoe_server_config *cfg, char *err,
                                      size_t errlen)
{
    if (!cfg->listen || !cfg->decide) {
        snprintf(err, errlen, "spoe server: a listen address and a decide function are needed");
        return NULL;
    }
    if (cfg->workers == 0 || cfg->workers > 256 || cfg->max_frame_size < SPOP_MIN_FRAME_SIZE ||
        cfg->max_frame_size > 16 * 1024 * 1024 || !(cfg->idle_timeout > 0) ||
        !(cfg->close_timeout > 0) || cfg->max_pending == 0 || cfg->max_connections == 0) {
        snprintf(err, errlen, "spoe server: invalid settings");
        return NULL;
    }
    struct spoe_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->cfg = *cfg;
    srv->cfg.listen = NULL; /* not kept: the caller's string */
    size_t min_out = 2 * (SPOP_FRAME_LEN_SIZE + (size_t)cfg->max_frame_size);
    if (srv->cfg.max_output < min_out)
        srv->cfg.max_output = min_out;
    if (srv->cfg.backlog <= 0)
        srv->cfg.backlog = 128;
    pthread_mutex_init(&srv->snap_lock, NULL);
    atomic_init(&srv->snap_gen, 0);
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->open_conns, 0);
    srv->listen_fd = listen_any(srv, cfg->listen, err, errlen);
    srv->workers = calloc(cfg->workers, sizeof(*srv->workers));
    if (srv->listen_fd < 0 || !srv->workers) {
        if (srv->listen_fd >= 0)
            snprintf(err, errlen, "out of memory");
        server_free(srv);
        return NULL;
    }
    for (; srv->nworkers < cfg->workers; srv->nworkers++) {
        srv->workers[srv->nworkers] = worker_new(srv, srv->nworkers);
        if (!srv->workers[srv->nworkers]) {
            snprintf(err, errlen, "spoe server: cannot create a worker loop");
            server_free(srv);
            return NULL;
        }
    }
    /* Workers take no signals: the control thread handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < srv->nworkers && rc == 0; i++) {
        rc = pthread_create(&srv->workers[i]->thread, NULL, worker_main, srv->workers[i]);
        srv->workers[i]->thread_started = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "spoe server: pthread_create: %s", strerror(rc));
        join_workers(srv);
        server_free(srv);
        return NULL;
    }
    log_info(COMPONENT, "listening on %s with %u worker%s", cfg->listen, srv->nworkers,
             srv->nworkers == 1 ? "" : "s");
    return srv;
}

int spoe_server_port(const struct spoe_server *srv)
{
    return srv->port;
}

unsigned spoe_server_workers(const struct spoe_server *srv)
{
    return srv->nworkers;
}

void spoe_server_stop(struct spoe_server *srv)
{
    if (!srv)
        return;
    join_workers(srv);
    server_free(srv);
}

static void add_counters(const struct spoe_counters *c, struct spoe_server_stats *out)
{
#define LOAD(f) atomic_load_explicit(&c->f, memory_order_relaxed)
    out->connections += LOAD(connections);
    out->connections_open += LOAD(connections_open);
    out->frames_in += LOAD(frames_in);
    out->frames_out += LOAD(frames_out);
    out->notify += LOAD(notify);
    out->errors += LOAD(errors);
    out->slow_readers += LOAD(slow_readers);
    out->idle_timeouts += LOAD(idle_timeouts);
    out->decisions += LOAD(decisions);
    out->decision_ns += LOAD(decision_ns);
    for (int b = 0; b <= SPOE_LATENCY_BUCKETS; b++)
        out->decision_buckets[b] += LOAD(decision_buckets[b]);
    out->pending += LOAD(pending);
#undef LOAD
}

void spoe_server_worker_stats(const struct spoe_server *srv, unsigned i,
                              struct spoe_server_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (i < srv->nworkers)
        add_counters(&srv->workers[i]->ctr, out);
}

void spoe_server_stats(const struct spoe_server *srv, struct spoe_server_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < srv->nworkers; i++)
        add_counters(&srv->workers[i]->ctr, out);
}
