/*
 * bench_spoe.c - how many NOTIFY frames per second the SPOE server answers,
 * per worker thread, with a trivial decision function.
 *
 * It starts a server in-process (W workers on 127.0.0.1, or on a unix
 * socket with -u), then one client thread plays HAProxy on K connections,
 * each keeping D NOTIFY frames in flight (pipelining), with messages shaped
 * like haproxy/spoe.cfg.in's (route, method, path, query, src, headers).
 * It prints frames/s overall and per worker, and the mean decision latency.
 *
 *   bench_spoe [-w WORKERS] [-c CONNECTIONS] [-d DEPTH] [-t SECONDS] [-u]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "spoe/spoe_server.h"
#include "spoe/spop_codec.h"
#include "util/log.h"

#define RING 64 /* distinct frame ids per connection */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a cheap route decision looks like: read two arguments, set two vars. */
static void trivial_decide(void *snapshot, const struct spoe_request *req, struct spoe_reply *reply)
{
    (void)snapshot;
    const char *route, *path;
    size_t route_len, path_len;
    if (!spoe_request_arg_str(req, "route", &route, &route_len) ||
        !spoe_request_arg_str(req, "path", &path, &path_len))
        return;
    spoe_reply_set_str(reply, SPOP_SCOPE_TRANSACTION, "verdict", "allow");
    spoe_reply_set_str(reply, SPOP_SCOPE_TRANSACTION, "backend", "pool_http-roundrobin_0001");
}

struct conn {
    int fd;
    uint8_t in[64 * 1024];
    size_t in_len;
    unsigned inflight;
    unsigned next; /* next frame of the ring to send */
};

static uint8_t frames[RING][512];
static size_t frame_len[RING];

static void build_frames(void)
{
    static const uint8_t hdrs[] = "\x04host\x0b"
                                  "example.com"
                                  "\x0auser-agent\x0a"
                                  "curl/8.0.0"
                                  "\x06"
                                  "accept\x03*/*"
                                  "\x00\x00";
    for (int i = 0; i < RING; i++) {
        struct spop_writer w;
        spop_writer_init(&w, frames[i], sizeof(frames[i]));
        size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 1000 + (uint64_t)i,
                                       (uint64_t)i + 1);
        spop_notify_add_message(&w, "spoke-request", 6);
        struct spop_value v = spop_str("r0123456789abcdef");
        spop_kv_encode(&w, "route", &v);
        v = spop_str("GET");
        spop_kv_encode(&w, "method", &v);
        v = spop_str("/api/v1/items/42");
        spop_kv_encode(&w, "path", &v);
        v = spop_str("page=2");
        spop_kv_encode(&w, "query", &v);
        const uint8_t ip[4] = {10, 1, 2, 3};
        v = spop_ipv4(ip);
        spop_kv_encode(&w, "src", &v);
        v = spop_bin(hdrs, sizeof(hdrs) - 1);
        spop_kv_encode(&w, "hdrs", &v);
        if (spop_frame_end(&w, mark) != SPOP_STATUS_NORMAL) {
            fprintf(stderr, "frame too big\n");
            exit(1);
        }
        frame_len[i] = w.len;
    }
}

static int connect_to(const char *unix_path, int port)
{
    int fd;
    if (unix_path) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(unix_path) >= sizeof(a.sun_path))
            return -1;
        memcpy(a.sun_path, unix_path, strlen(unix_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            goto fail;
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            goto fail;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
fail:
    perror("connect");
    if (fd >= 0)
        close(fd);
    return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Blocking HELLO exchange. */
static int hello(struct conn *c)
{
    uint8_t buf[512];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    struct spop_haproxy_hello h = {.versions = (const uint8_t *)"2.0",
                                   .versions_len = 3,
                                   .max_frame_size = SPOP_DEFAULT_MAX_FRAME_SIZE,
                                   .capabilities = SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC};
    if (spop_haproxy_hello_encode(&w, &h) != SPOP_STATUS_NORMAL || write_all(c->fd, buf, w.len))
        return -1;
    size_t got = 0;
    while (got < 4 || got < 4 + (size_t)spop_load_u32be(buf)) {
        ssize_t k = read(c->fd, buf + got, sizeof(buf) - got);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    struct spop_frame f;
    struct spop_agent_hello a;
    if (spop_frame_decode(buf + 4, spop_load_u32be(buf), &f) != SPOP_STATUS_NORMAL ||
        spop_agent_hello_decode(&f, &a) != SPOP_STATUS_NORMAL)
        return -1;
    return 0;
}

/* Sends n more frames from the ring in one write. */
static int send_more(struct conn *c, unsigned n)
{
    static uint8_t out[RING * 512];
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned k = c->next++ % RING;
        memcpy(out + len, frames[k], frame_len[k]);
        len += frame_len[k];
    }
    c->inflight += n;
    return write_all(c->fd, out, len);
}

/* Reads what is there; returns the number of complete ACKs consumed. */
static long read_acks(struct conn *c)
{
    ssize_t k = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (k <= 0)
        return k == 0 || errno != EAGAIN ? -1 : 0;
    c->in_len += (size_t)k;
    size_t off = 0;
    long acks = 0;
    while (c->in_len - off >= 4) {
        size_t n = 4 + (size_t)spop_load_u32be(c->in + off);
        if (c->in_len - off < n)
            break;
        if (c->in[off + 4] != SPOP_FRAME_ACK) {
            fprintf(stderr, "unexpected frame type %u\n", c->in[off + 4]);
            return -1;
        }
        off += n;
        acks++;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    c->inflight -= (unsigned)acks;
    return acks;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_spoe [-w WORKERS] [-c CONNECTIONS] [-d DEPTH (<= %d)] "
            "[-t SECONDS] [-u]\n",
            RING);
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned workers = 1, nconns = 4, depth = 32;
    double seconds = 3;
    int use_unix = 0;
    int opt;
    while ((opt = getopt(argc, argv, "w:c:d:t:u")) != -1) {
        switch (opt) {
        case 'w':
            workers = (unsigned)atoi(optarg);
            break;
        case 'c':
            nconns = (unsigned)atoi(optarg);
            break;
        case 'd':
            depth = (unsigned)atoi(optarg);
            break;
        case 't':
            seconds = atof(optarg);
            break;
        case 'u':
            use_unix = 1;
            break;
        default:
            usage();
        }
    }
    if (workers < 1 || nconns < 1 || depth < 1 || depth > RING || !(seconds > 0))
        usage();
    log_set_level(LOG_WARN);
    build_frames();

    char listen[128], unix_path[108] = "";
    if (use_unix) {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        if (snprintf(unix_path, sizeof(unix_path), "%s/bench_spoe.%d.sock", tmp, (int)getpid()) >=
            (int)sizeof(unix_path)) {
            fprintf(stderr, "TMPDIR too long for a unix socket path\n");
            return 1;
        }
        snprintf(listen, sizeof(listen), "unix@%s", unix_path);
    } else {
        snprintf(listen, sizeof(listen), "127.0.0.1:0");
    }
    struct spoe_server_config cfg;
    spoe_server_config_init(&cfg);
    cfg.listen = listen;
    cfg.workers = workers;
    cfg.decide = trivial_decide;
    char err[256];
    struct spoe_server *srv = spoe_server_start(&cfg, err, sizeof(err));
    if (!srv) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    struct conn *conns = calloc(nconns, sizeof(*conns));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || ep < 0)
        return 1;
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].fd = connect_to(use_unix ? unix_path : NULL, spoe_server_port(srv));
        if (conns[i].fd < 0 || hello(&conns[i]) < 0) {
            fprintf(stderr, "connection %u failed\n", i);
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        if (send_more(&conns[i], depth) < 0)
            return 1;
    }

    /* 0.5 s of warm-up, then the measured interval. */
    double t_start = now_s(), t_measure = t_start + 0.5, t_end = t_measure + seconds;
    struct spoe_server_stats *w0 = calloc(workers, sizeof(*w0));
    long acks = 0;
    int measuring = 0;
    for (;;) {
        double t = now_s();
        if (!measuring && t >= t_measure) {
            measuring = 1;
            acks = 0;
            for (unsigned i = 0; i < workers; i++)
                spoe_server_worker_stats(srv, i, &w0[i]);
            t_measure = t;
        }
        if (t >= t_end)
            break;
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            long got = read_acks(c);
            if (got < 0) {
                fprintf(stderr, "connection lost\n");
                return 1;
            }
            acks += got;
            if (got > 0 && send_more(c, (unsigned)got) < 0)
                return 1;
        }
    }
    double elapsed = now_s() - t_measure;

    printf("spoe bench: %u worker%s, %u connection%s%s, depth %u, %.1f s\n", workers,
           workers == 1 ? "" : "s", nconns, nconns == 1 ? "" : "s", use_unix ? " (unix)" : "",
           depth, elapsed);
    printf("  total      %10.0f NOTIFY/s\n", (double)acks / elapsed);
    for (unsigned i = 0; i < workers; i++) {
        struct spoe_server_stats s;
        spoe_server_worker_stats(srv, i, &s);
        uint64_t d = s.decisions - w0[i].decisions;
        double ns = d ? (double)(s.decision_ns - w0[i].decision_ns) / (double)d : 0;
        printf("  worker %-3u %10.0f NOTIFY/s  %3llu connections  decision %.0f ns (NOTIFY "
               "decoded -> ACK queued)\n",
               i, (double)d / elapsed, (unsigned long long)s.connections_open, ns);
    }
    printf("  per worker %10.0f NOTIFY/s (mean)\n", (double)acks / elapsed / workers);

    for (unsigned i = 0; i < nconns; i++)
        close(conns[i].fd);
    close(ep);
    free(conns);
    free(w0);
    spoe_server_stop(srv);
    return 0;
}
