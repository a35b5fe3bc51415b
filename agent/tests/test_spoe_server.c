/*
 * test_spoe_server.c - the SPOE server (spoe_server.h) against a test client
 * playing HAProxy, with frames built by the codec's own encoders, over TCP
 * (IPv4, IPv6) and unix sockets; then end to end with the real haproxy
 * binary ($HAPROXY_BIN, else "haproxy" from PATH), configured from
 * haproxy/spoe.cfg.in (read relative to the working directory: the
 * repository root, where scripts/run-tests runs).
 *
 * Every wait has a deadline: poll() with a timeout, or a loop checking a
 * condition with a timeout. Nothing sleeps for a fixed time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

#include <arpa/inet.h>
#include <netinet/in.h>

#include "haproxy_fixture.h"
#include "spoe/spoe_server.h"
#include "spoe/spop_codec.h"
#include "test.h"

#define TXN SPOP_SCOPE_TRANSACTION

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls cond until it holds or `seconds` pass, then checks it. */
#define CHECK_WITHIN(seconds, cond)                                                                \
    do {                                                                                           \
        double wait_deadline_ = now_s() + (seconds);                                               \
        while (!(cond) && now_s() < wait_deadline_)                                                \
            poll(NULL, 0, 2);                                                                      \
        CHECK(cond);                                                                               \
    } while (0)

/* ---- snapshots and the decision function ------------------------------- */

struct tsnap {
    int id;
    atomic_int released;
};

static void tsnap_release(void *p)
{
    atomic_fetch_add(&((struct tsnap *)p)->released, 1);
}

static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct spoe_async *a;
    int64_t tag;
} deferred[64];
static int ndeferred;

/*
 * Messages:
 *   route(path, [src], [n]) [+ second(v)]   verdict, path, src, n2, second
 *   async(tag)                              deferred; "early" set before
 *   big(size)                               blob of size 'x'
 *   overflow                                40 variables: too many
 *   unset                                   unset-var txn.gone
 * Every decision sets "snap" to the snapshot's id (-1 without one).
 */
static void test_decide(void *snapshot, const struct spoe_request *req, struct spoe_reply *reply)
{
    struct tsnap *snap = snapshot;
    spoe_reply_set_int(reply, TXN, "snap", snap ? snap->id : -1);
    const char *s;
    size_t len;
    int64_t n;
    if (spoe_request_is(req, "route")) {
        if (!spoe_request_arg_str(req, "path", &s, &len))
            return;
        bool deny = len >= 5 && memcmp(s, "/deny", 5) == 0;
        spoe_reply_set_str(reply, TXN, "verdict", deny ? "deny" : "allow");
        spoe_reply_set_strn(reply, TXN, "path", s, len);
        int family;
        uint8_t addr[16];
        if (spoe_request_arg_ip(req, "src", &family, addr))
            spoe_reply_set_ip(reply, SPOP_SCOPE_SESSION, "src", family, addr);
        if (spoe_request_arg_int(req, "n", &n))
            spoe_reply_set_int(reply, SPOP_SCOPE_REQUEST, "n2", n * 2);
        struct spoe_request second;
        if (spoe_request_select(req, "second", &second) &&
            spoe_request_arg_str(&second, "v", &s, &len))
            spoe_reply_set_strn(reply, TXN, "second", s, len);
    } else if (spoe_request_is(req, "async")) {
        int64_t tag = 0;
        spoe_request_arg_int(req, "tag", &tag);
        spoe_reply_set_int(reply, TXN, "early", tag);
        struct spoe_async *a = spoe_reply_defer(reply);
        if (!a) {
            spoe_reply_set_str(reply, TXN, "verdict", "not-deferred");
            return;
        }
        pthread_mutex_lock(&deferred_lock);
        if (ndeferred < 64) {
            deferred[ndeferred].a = a;
            deferred[ndeferred].tag = tag;
            ndeferred++;
        }
        pthread_mutex_unlock(&deferred_lock);
    } else if (spoe_request_is(req, "big")) {
        char blob[8192];
        if (spoe_request_arg_int(req, "size", &n) && n >= 0 && n <= (int64_t)sizeof(blob)) {
            memset(blob, 'x', (size_t)n);
            spoe_reply_set_strn(reply, TXN, "blob", blob, (size_t)n);
        }
    } else if (spoe_request_is(req, "overflow")) {
        for (int i = 0; i < 40; i++) {
            char name[16];
            snprintf(name, sizeof(name), "v%d", i);
            spoe_reply_set_int(reply, TXN, name, i);
        }
    } else if (spoe_request_is(req, "unset")) {
        spoe_reply_unset(reply, TXN, "gone");
    }
}

/* The deferred decision tagged `tag`, once the server made it. */
static struct spoe_async *take_deferred(int64_t tag)
{
    struct spoe_async *found = NULL;
    double deadline = now_s() + 5;
    while (!found && now_s() < deadline) {
        pthread_mutex_lock(&deferred_lock);
        for (int i = 0; i < ndeferred; i++) {
            if (deferred[i].tag == tag) {
                found = deferred[i].a;
                deferred[i] = deferred[--ndeferred];
                break;
            }
        }
        pthread_mutex_unlock(&deferred_lock);
        if (!found)
            poll(NULL, 0, 2);
    }
    return found;
}

static void complete_with(struct spoe_async *a, const char *verdict)
{
    spoe_reply_set_str(spoe_async_reply(a), TXN, "verdict", verdict);
    spoe_async_complete(a);
}

/* ---- servers ------------------------------------------------------------- */

static void test_config(struct spoe_server_config *cfg, const char *listen)
{
    spoe_server_config_init(cfg);
    cfg->listen = listen;
    cfg->decide = test_decide;
}

static struct spoe_server *start(const struct spoe_server_config *cfg)
{
    char err[256] = "";
    struct spoe_server *srv = spoe_server_start(cfg, err, sizeof(err));
    if (!srv)
        printf("# spoe_server_start: %s\n", err);
    return srv;
}

static struct spoe_server *start_default(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    return start(&cfg);
}

static struct spoe_server_stats stats_of(struct spoe_server *srv)
{
    struct spoe_server_stats st;
    spoe_server_stats(srv, &st);
    return st;
}

/* ---- the test client ---------------------------------------------------------- */

struct client {
    int fd;
    size_t in_len;
    uint8_t in[256 * 1024];
    uint8_t frame[64 * 1024]; /* the last frame read; decoded frames point here */
};

static struct client *client_on(int fd)
{
    if (fd < 0)
        return NULL;
    struct client *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    return c;
}

static void client_close(struct client *c)
{
    if (c) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
    }
}

static int connect_addr(const struct sockaddr *a, socklen_t len, int rcvbuf)
{
    int fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(fd, a, len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static struct client *connect_tcp4(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return client_on(connect_addr((struct sockaddr *)&a, sizeof(a), 0));
}

static struct client *connect_tcp6(int port)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    a.sin6_addr = in6addr_loopback;
    return client_on(connect_addr((struct sockaddr *)&a, sizeof(a), 0));
}

static bool unix_address(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return false;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return true;
}

static struct client *connect_unix(const char *path)
{
    struct sockaddr_un a;
    if (!unix_address(&a, path))
        return NULL;
    return client_on(connect_addr((struct sockaddr *)&a, sizeof(a), 0));
}

static bool send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    double deadline = now_s() + 5;
    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            b += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        int ms = (int)((deadline - now_s()) * 1000);
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (ms <= 0 || poll(&pfd, 1, ms) == 0)
            return false;
    }
    return true;
}

/* 1: a frame in *f (valid until the next read); 0: the server closed;
 * -1: nothing within `seconds`, or garbage. */
static int read_frame(struct client *c, struct spop_frame *f, double seconds)
{
    double deadline = now_s() + seconds;
    for (;;) {
        if (c->in_len >= 4) {
            uint32_t n = spop_load_u32be(c->in);
            if (n > sizeof(c->frame))
                return -1;
            if (c->in_len >= 4 + (size_t)n) {
                memcpy(c->frame, c->in + 4, n);
                memmove(c->in, c->in + 4 + n, c->in_len - 4 - n);
                c->in_len -= 4 + (size_t)n;
                return spop_frame_decode(c->frame, n, f) == SPOP_STATUS_NORMAL ? 1 : -1;
            }
        }
        int ms = (int)((deadline - now_s()) * 1000);
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (ms <= 0)
            return -1;
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t k = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return 0;
        if (k < 0)
            return -1;
        c->in_len += (size_t)k;
    }
}

/* Sends a HAPROXY-HELLO; the decoded AGENT-HELLO in *out. */
static bool hello_ex(struct client *c, const char *versions, uint32_t max_frame, unsigned caps,
                     bool healthcheck, struct spop_agent_hello *out)
{
    uint8_t buf[512];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    struct spop_haproxy_hello h = {.versions = (const uint8_t *)versions,
                                   .versions_len = strlen(versions),
                                   .max_frame_size = max_frame,
                                   .capabilities = caps,
                                   .healthcheck = healthcheck};
    if (!c || spop_haproxy_hello_encode(&w, &h) != SPOP_STATUS_NORMAL ||
        !send_all(c->fd, buf, w.len))
        return false;
    struct spop_frame f;
    if (read_frame(c, &f, 5) != 1 || f.type != SPOP_FRAME_AGENT_HELLO)
        return false;
    return spop_agent_hello_decode(&f, out) == SPOP_STATUS_NORMAL;
}

static bool hello(struct client *c)
{
    struct spop_agent_hello a;
    return hello_ex(c, "2.0", SPOP_DEFAULT_MAX_FRAME_SIZE, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC,
                    false, &a);
}

struct arg {
    const char *name;
    struct spop_value v;
};

/* A NOTIFY with one message; its length, 0 if it did not fit. */
static size_t notify_frame(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid, const char *msg,
                           const struct arg *args, unsigned nargs)
{
    struct spop_writer w;
    spop_writer_init(&w, buf, cap);
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, sid, fid);
    spop_notify_add_message(&w, msg, (uint8_t)nargs);
    for (unsigned i = 0; i < nargs; i++)
        spop_kv_encode(&w, args[i].name, &args[i].v);
    return spop_frame_end(&w, mark) == SPOP_STATUS_NORMAL ? w.len : 0;
}

static bool send_notify(struct client *c, uint64_t sid, uint64_t fid, const char *msg,
                        const struct arg *args, unsigned nargs)
{
    uint8_t buf[1024];
    size_t n = notify_frame(buf, sizeof(buf), sid, fid, msg, args, nargs);
    return n > 0 && send_all(c->fd, buf, n);
}

static bool send_route(struct client *c, uint64_t sid, uint64_t fid, const char *path)
{
    struct arg a = {"path", spop_str(path)};
    return send_notify(c, sid, fid, "route", &a, 1);
}

static bool send_async(struct client *c, uint64_t fid, int64_t tag)
{
    struct arg a = {"tag", spop_int64(tag)};
    return send_notify(c, 1, fid, "async", &a, 1);
}

/* The value of action `name` in an ACK; false when absent. */
static bool ack_var(const struct spop_frame *f, const char *name, struct spop_action *out)
{
    struct spop_action_iter it;
    struct spop_action a;
    if (spop_ack_decode(f, &it) != SPOP_STATUS_NORMAL)
        return false;
    while (spop_action_next(&it, &a)) {
        if (spop_bytes_eq(a.name, a.name_len, name)) {
            *out = a;
            return true;
        }
    }
    return false;
}

static bool ack_str_is(const struct spop_frame *f, const char *name, const char *want)
{
    struct spop_action a;
    return ack_var(f, name, &a) && a.type == SPOP_ACTION_SET_VAR &&
           a.value.type == SPOP_TYPE_STRING && spop_value_is_str(&a.value, want);
}

static int64_t ack_int(const struct spop_frame *f, const char *name)
{
    struct spop_action a;
    if (!ack_var(f, name, &a) || a.value.type != SPOP_TYPE_INT64)
        return INT64_MIN;
    return a.value.u.int64;
}

static int ack_count(const struct spop_frame *f)
{
    struct spop_action_iter it;
    struct spop_action a;
    int n = 0;
    if (spop_ack_decode(f, &it) != SPOP_STATUS_NORMAL)
        return -1;
    while (spop_action_next(&it, &a))
        n++;
    return it.status == SPOP_STATUS_NORMAL ? n : -1;
}

/* The next frame is an AGENT-DISCONNECT with `status`, then the server closes. */
static bool expect_disconnect(struct client *c, uint32_t status)
{
    struct spop_frame f;
    struct spop_disconnect d;
    if (read_frame(c, &f, 5) != 1 || f.type != SPOP_FRAME_AGENT_DISCONNECT ||
        spop_disconnect_decode(&f, &d) != SPOP_STATUS_NORMAL) {
        printf("#   no AGENT-DISCONNECT\n");
        return false;
    }
    if (d.status_code != status) {
        printf("#   AGENT-DISCONNECT status %u, expected %u\n", d.status_code, status);
        return false;
    }
    return read_frame(c, &f, 5) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_hello_negotiation(void)
{
    struct spoe_server *srv = start_default();
    CHECK(srv != NULL);
    if (!srv)
        return;
    int port = spoe_server_port(srv);
    CHECK(port > 0);
    struct spop_agent_hello a;
    struct client *c = connect_tcp4(port);
    CHECK(hello_ex(c, "2.0", 16380, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC, false, &a));
    CHECK(a.version_len == 3 && memcmp(a.version, "2.0", 3) == 0);
    CHECK_INT_EQ(a.max_frame_size, 16380);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC | SPOP_CAP_FRAGMENTATION);
    client_close(c);

    /* theirs smaller; no capabilities from HAProxy: none of the symmetric ones */
    c = connect_tcp4(port);
    CHECK(hello_ex(c, "1.0, 2.1", 1024, 0, false, &a));
    CHECK_INT_EQ(a.max_frame_size, 1024);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_FRAGMENTATION);
    client_close(c);
    spoe_server_stop(srv);

    /* ours smaller, fragmentation off */
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.max_frame_size = 4096;
    cfg.max_payload = 0;
    cfg.workers = 1;
    srv = start(&cfg);
    CHECK(srv != NULL);
    if (!srv)
        return;
    c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello_ex(c, "2.0", 16380, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC, false, &a));
    CHECK_INT_EQ(a.max_frame_size, 4096);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC);
    client_close(c);
    spoe_server_stop(srv);
}

static void test_healthcheck(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    struct spop_agent_hello a;
    CHECK(hello_ex(c, "2.0", 16380, SPOP_CAP_PIPELINING, true, &a));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 0); /* closed, no DISCONNECT (SPOE.txt 3.2.5) */
    client_close(c);
    CHECK_WITHIN(5, stats_of(srv).connections_open == 0);
    CHECK_INT_EQ(stats_of(srv).errors, 0);
    spoe_server_stop(srv);
}

/* One NOTIFY, several messages and types, and its ACK. */
static void exchange_one(struct client *c)
{
    CHECK(hello(c));
    uint8_t buf[1024];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 7, 300);
    spop_notify_add_message(&w, "route", 3);
    struct spop_value v = spop_str("/shop/cart");
    spop_kv_encode(&w, "path", &v);
    const uint8_t ip[4] = {192, 0, 2, 10};
    v = spop_ipv4(ip);
    spop_kv_encode(&w, "src", &v);
    v = spop_uint32(21);
    spop_kv_encode(&w, "n", &v);
    spop_notify_add_message(&w, "second", 1);
    v = spop_str("two");
    spop_kv_encode(&w, "v", &v);
    CHECK(spop_frame_end(&w, mark) == SPOP_STATUS_NORMAL);
    CHECK(send_all(c->fd, buf, w.len));

    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.type, SPOP_FRAME_ACK);
    CHECK_INT_EQ(f.stream_id, 7);
    CHECK_INT_EQ(f.frame_id, 300);
    CHECK_INT_EQ(f.flags, SPOP_FLAG_FIN);
    CHECK(ack_str_is(&f, "verdict", "allow"));
    CHECK(ack_str_is(&f, "path", "/shop/cart"));
    CHECK(ack_str_is(&f, "second", "two"));
    CHECK_INT_EQ(ack_int(&f, "snap"), -1);
    CHECK_INT_EQ(ack_int(&f, "n2"), 42);
    struct spop_action a;
    CHECK(ack_var(&f, "src", &a) && a.scope == SPOP_SCOPE_SESSION &&
          a.value.type == SPOP_TYPE_IPV4 && memcmp(a.value.u.ipv4, ip, 4) == 0);
    CHECK(ack_var(&f, "n2", &a) && a.scope == SPOP_SCOPE_REQUEST);
    CHECK_INT_EQ(ack_count(&f), 6);

    /* unset-var; an empty NOTIFY gets an empty ACK */
    CHECK(send_notify(c, 8, 1, "unset", NULL, 0));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(ack_var(&f, "gone", &a) && a.type == SPOP_ACTION_UNSET_VAR && a.scope == TXN);
    spop_writer_init(&w, buf, sizeof(buf));
    mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 9, 2);
    CHECK(spop_frame_end(&w, mark) == SPOP_STATUS_NORMAL);
    CHECK(send_all(c->fd, buf, w.len));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.stream_id == 9 && f.frame_id == 2);
    CHECK_INT_EQ(ack_count(&f), 0);
}

static void test_notify_tcp(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(c != NULL);
    if (c)
        exchange_one(c);
    client_close(c);
    CHECK_WITHIN(5, stats_of(srv).connections_open == 0);
    struct spoe_server_stats st = stats_of(srv);
    CHECK_INT_EQ(st.connections, 1);
    CHECK_INT_EQ(st.frames_in, 4);
    CHECK_INT_EQ(st.frames_out, 4);
    CHECK_INT_EQ(st.notify, 3);
    CHECK_INT_EQ(st.decisions, 3);
    CHECK(st.decision_ns > 0);
    uint64_t in_buckets = 0;
    for (int b = 0; b <= SPOE_LATENCY_BUCKETS; b++)
        in_buckets += st.decision_buckets[b];
    CHECK_INT_EQ(in_buckets, 3); /* each decision in exactly one latency bucket */
    CHECK_INT_EQ(st.errors, 0);
    spoe_server_stop(srv);
}

static void test_notify_ipv6(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "[::1]:0");
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp6(spoe_server_port(srv));
    CHECK(c != NULL);
    if (c)
        exchange_one(c);
    client_close(c);
    spoe_server_stop(srv);
}

static int make_temp_dir(char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, size, "%s/spoke-spoe-XXXXXX", tmp);
    return mkdtemp(out) ? 0 : -1;
}

static void test_notify_unix(void)
{
    char dir[200], path[260], listen[270];
    CHECK(make_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(path, sizeof(path), "%s/spoe.sock", dir);
    snprintf(listen, sizeof(listen), "unix@%s", path);

    /* a socket file left by a dead process is replaced */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    CHECK(unix_address(&a, path));
    CHECK(bind(stale, (struct sockaddr *)&a, sizeof(a)) == 0);
    close(stale);

    struct spoe_server_config cfg;
    test_config(&cfg, listen);
    struct spoe_server *srv = start(&cfg);
    CHECK(srv != NULL);
    if (srv) {
        CHECK_INT_EQ(spoe_server_port(srv), 0);
        /* one in use is not */
        char err[256] = "";
        CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
        CHECK(strstr(err, "in use") != NULL);
        struct client *c = connect_unix(path);
        CHECK(c != NULL);
        if (c)
            exchange_one(c);
        client_close(c);
        spoe_server_stop(srv);
        CHECK(access(path, F_OK) != 0); /* unlinked */
    }
    rmdir(dir);
}

static void test_start_errors(void)
{
    struct spoe_server_config cfg;
    char err[256];
    test_config(&cfg, "127.0.0.1:notaport");
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "port") != NULL);
    test_config(&cfg, "localhost:0");
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
    test_config(&cfg, "unix@");
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
    test_config(&cfg, "127.0.0.1:0");
    cfg.decide = NULL;
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
    test_config(&cfg, "127.0.0.1:0");
    cfg.workers = 0;
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
    test_config(&cfg, "127.0.0.1:0");
    cfg.max_frame_size = 100;
    CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);

    /* a port in use */
    struct spoe_server *srv = start_default();
    CHECK(srv != NULL);
    if (srv) {
        char addr[64];
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", spoe_server_port(srv));
        test_config(&cfg, addr);
        CHECK(spoe_server_start(&cfg, err, sizeof(err)) == NULL);
        CHECK(strstr(err, addr) != NULL);
        spoe_server_stop(srv);
    }
}

static void test_pipelined_100(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    /* 100 NOTIFYs in one write, as HAProxy pipelines them */
    static uint8_t buf[100 * 64];
    size_t len = 0;
    for (int i = 0; i < 100; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/p/%d", i);
        struct arg a = {"path", spop_str(path)};
        size_t n = notify_frame(buf + len, sizeof(buf) - len, (uint64_t)(1000 + i), (uint64_t)i + 1,
                                "route", &a, 1);
        CHECK(n > 0);
        len += n;
    }
    CHECK(send_all(c->fd, buf, len));
    bool seen[101] = {false};
    int answered = 0;
    struct spop_frame f;
    while (answered < 100 && read_frame(c, &f, 5) == 1) {
        CHECK_INT_EQ(f.type, SPOP_FRAME_ACK);
        uint64_t fid = f.frame_id;
        CHECK(fid >= 1 && fid <= 100 && !seen[fid]);
        if (fid < 1 || fid > 100)
            break;
        seen[fid] = true;
        CHECK_INT_EQ(f.stream_id, 1000 + fid - 1);
        char path[32];
        snprintf(path, sizeof(path), "/p/%d", (int)fid - 1);
        CHECK(ack_str_is(&f, "path", path));
        answered++;
    }
    CHECK_INT_EQ(answered, 100);
    client_close(c);
    spoe_server_stop(srv);
}

/* Accepted connections go to the least busy worker, whoever accepts them. */
static void test_connections_spread(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.workers = 3;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = connect_tcp4(spoe_server_port(srv));
        CHECK(hello(c[i]));
    }
    CHECK_INT_EQ(spoe_server_workers(srv), 3);
    for (unsigned i = 0; i < 3; i++) {
        struct spoe_server_stats st;
        spoe_server_worker_stats(srv, i, &st);
        CHECK_INT_EQ(st.connections_open, 2);
    }
    for (int i = 0; i < 6; i++)
        client_close(c[i]);
    spoe_server_stop(srv);
}

struct completer {
    struct spoe_async *a;
    const char *verdict;
};

static void *complete_thread(void *arg)
{
    struct completer *k = arg;
    complete_with(k->a, k->verdict);
    return NULL;
}

static void test_async_out_of_order(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    CHECK(send_async(c, 1, 101));
    CHECK(send_async(c, 2, 102));
    CHECK(send_async(c, 3, 103));
    CHECK(send_route(c, 1, 4, "/sync"));
    struct spop_frame f;
    /* the synchronous one is answered at once, ahead of the deferred ones */
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 4);
    struct spoe_async *a1 = take_deferred(101), *a2 = take_deferred(102), *a3 = take_deferred(103);
    CHECK(a1 && a2 && a3);
    if (!a1 || !a2 || !a3)
        return;
    CHECK_WITHIN(5, stats_of(srv).pending == 3);
    CHECK_INT_EQ(read_frame(c, &f, 0.05), -1); /* nothing else yet */

    /* completed 3, 1, 2, from other threads and this one: answered so */
    pthread_t t;
    struct completer k = {a3, "third"};
    CHECK(pthread_create(&t, NULL, complete_thread, &k) == 0);
    pthread_join(t, NULL);
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 3);
    CHECK(ack_str_is(&f, "verdict", "third"));
    CHECK_INT_EQ(ack_int(&f, "early"), 103); /* set before deferring: kept */
    complete_with(a1, "first");
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 1);
    CHECK(ack_str_is(&f, "verdict", "first"));
    k.a = a2;
    k.verdict = "second";
    CHECK(pthread_create(&t, NULL, complete_thread, &k) == 0);
    pthread_join(t, NULL);
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 2);
    CHECK(ack_str_is(&f, "verdict", "second"));
    CHECK_INT_EQ(stats_of(srv).pending, 0);
    CHECK_INT_EQ(stats_of(srv).decisions, 4);

    /* a decision completed after its connection closed is dropped */
    CHECK(send_async(c, 5, 105));
    struct spoe_async *a5 = take_deferred(105);
    CHECK(a5 != NULL);
    client_close(c);
    CHECK_WITHIN(5, stats_of(srv).connections_open == 0);
    CHECK_INT_EQ(stats_of(srv).pending, 0);
    if (a5)
        complete_with(a5, "late");
    spoe_server_stop(srv);
}

/* Deferred decisions beyond max_pending pause reading, not the answers. */
static void test_async_backpressure(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.max_pending = 2;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    CHECK(send_async(c, 1, 201));
    CHECK(send_async(c, 2, 202));
    CHECK(send_route(c, 1, 3, "/waits"));
    struct spop_frame f;
    struct spoe_async *a1 = take_deferred(201), *a2 = take_deferred(202);
    CHECK(a1 && a2);
    CHECK_INT_EQ(read_frame(c, &f, 0.1), -1); /* frame 3 waits behind the two */
    if (a1)
        complete_with(a1, "one");
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 1);
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 3);
    CHECK(ack_str_is(&f, "path", "/waits"));
    if (a2)
        complete_with(a2, "two");
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 2);
    client_close(c);
    spoe_server_stop(srv);
}

/* Sends raw bytes on a fresh connection (after a HELLO when asked) and
 * expects AGENT-DISCONNECT with status. */
static bool rejects(struct spoe_server *srv, bool after_hello, const void *bytes, size_t len,
                    uint32_t status)
{
    struct client *c = connect_tcp4(spoe_server_port(srv));
    bool ok = c && (!after_hello || hello(c)) && send_all(c->fd, bytes, len) &&
              expect_disconnect(c, status);
    client_close(c);
    return ok;
}

static size_t raw_frame(uint8_t *buf, size_t cap, uint8_t type, uint32_t flags, uint64_t sid,
                        uint64_t fid, const void *payload, size_t plen)
{
    struct spop_writer w;
    spop_writer_init(&w, buf, cap);
    size_t mark = spop_frame_begin(&w, type, flags, sid, fid);
    spop_write_bytes(&w, payload, plen);
    return spop_frame_end(&w, mark) == SPOP_STATUS_NORMAL ? w.len : 0;
}

static size_t hello_kv(uint8_t *buf, size_t cap, const char *versions, bool with_size,
                       uint32_t size)
{
    struct spop_writer w;
    spop_writer_init(&w, buf, cap);
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, 0);
    struct spop_value v;
    if (versions) {
        v = spop_str(versions);
        spop_kv_encode(&w, "supported-versions", &v);
    }
    if (with_size) {
        v = spop_uint32(size);
        spop_kv_encode(&w, "max-frame-size", &v);
    }
    v = spop_str("pipelining,async");
    spop_kv_encode(&w, "capabilities", &v);
    return spop_frame_end(&w, mark) == SPOP_STATUS_NORMAL ? w.len : 0;
}

static void test_malformed_frames(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    uint8_t buf[512];
    size_t n;
    struct arg path = {"path", spop_str("/")};

    /* NOTIFY before HELLO */
    n = notify_frame(buf, sizeof(buf), 1, 1, "route", &path, 1);
    CHECK(rejects(srv, false, buf, n, SPOP_STATUS_INVALID));
    /* a message whose name runs past the frame */
    const uint8_t bad_msg[] = {20, 'r', 'o'};
    n = raw_frame(buf, sizeof(buf), SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 1, 1, bad_msg,
                  sizeof(bad_msg));
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_INVALID));
    /* a frame shorter than a header */
    const uint8_t tiny[] = {0, 0, 0, 3, 3, 0, 0};
    CHECK(rejects(srv, true, tiny, sizeof(tiny), SPOP_STATUS_INVALID));
    /* ABORT without FIN */
    n = raw_frame(buf, sizeof(buf), SPOP_FRAME_NOTIFY, SPOP_FLAG_ABORT, 1, 1, NULL, 0);
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_INVALID));
    /* HELLO problems: SPOE.txt 3.5 codes */
    n = hello_kv(buf, sizeof(buf), NULL, true, 16380);
    CHECK(rejects(srv, false, buf, n, SPOP_STATUS_NO_VERSION));
    n = hello_kv(buf, sizeof(buf), "2.0", false, 0);
    CHECK(rejects(srv, false, buf, n, SPOP_STATUS_NO_FRAME_SIZE));
    n = hello_kv(buf, sizeof(buf), "1.0", true, 16380);
    CHECK(rejects(srv, false, buf, n, SPOP_STATUS_BAD_VERSION));
    n = hello_kv(buf, sizeof(buf), "2.0", true, 100);
    CHECK(rejects(srv, false, buf, n, SPOP_STATUS_BAD_FRAME_SIZE));
    /* a second HELLO, and frames only an agent sends */
    n = hello_kv(buf, sizeof(buf), "2.0", true, 16380);
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_INVALID));
    n = raw_frame(buf, sizeof(buf), SPOP_FRAME_ACK, SPOP_FLAG_FIN, 1, 1, NULL, 0);
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_INVALID));
    /* a fragment of nothing */
    n = raw_frame(buf, sizeof(buf), SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 1, 1, NULL, 0);
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_FRAME_ID_NOT_FOUND));

    /* an unknown frame type is skipped (SPOE.txt 3.2.2) */
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    n = raw_frame(buf, sizeof(buf), 50, SPOP_FLAG_FIN, 0, 0, "zz", 2);
    CHECK(send_all(c->fd, buf, n));
    CHECK(send_route(c, 3, 3, "/after"));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.frame_id == 3);
    client_close(c);

    CHECK_INT_EQ(stats_of(srv).errors, 11);
    spoe_server_stop(srv);
}

static void test_oversized_frames(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    /* above our max-frame-size before HELLO */
    const uint8_t huge[] = {0, 0, 0x50, 0, 1, 0, 0, 0, 1, 0, 0};
    CHECK(rejects(srv, false, huge, sizeof(huge), SPOP_STATUS_TOO_BIG));
    /* above the negotiated size after it */
    struct client *c = connect_tcp4(spoe_server_port(srv));
    struct spop_agent_hello a;
    CHECK(hello_ex(c, "2.0", 1024, SPOP_CAP_PIPELINING, false, &a));
    CHECK_INT_EQ(a.max_frame_size, 1024);
    const uint8_t big[] = {0, 0, 0x04, 0x01, 3, 0, 0, 0, 1, 1, 1};
    CHECK(send_all(c->fd, big, sizeof(big)));
    CHECK(expect_disconnect(c, SPOP_STATUS_TOO_BIG));
    client_close(c);

    /* an ACK that would not fit the negotiated size goes out without variables */
    c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello_ex(c, "2.0", 256, SPOP_CAP_PIPELINING, false, &a));
    struct arg size = {"size", spop_int64(1000)};
    CHECK(send_notify(c, 1, 1, "big", &size, 1));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.frame_id == 1);
    CHECK_INT_EQ(ack_count(&f), 0);
    client_close(c);
    spoe_server_stop(srv);
}

static void test_reply_bounds(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    struct spop_frame f;
    /* too many variables: none at all (fail closed) */
    CHECK(send_notify(c, 1, 1, "overflow", NULL, 0));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 1);
    CHECK_INT_EQ(ack_count(&f), 0);
    /* a big value within the bounds */
    struct arg size = {"size", spop_int64(8000)};
    CHECK(send_notify(c, 1, 2, "big", &size, 1));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    struct spop_action a;
    CHECK(ack_var(&f, "blob", &a) && a.value.u.bytes.len == 8000);
    /* names + values above SPOE_REPLY_MAX_BYTES */
    size.v = spop_int64(8190);
    CHECK(send_notify(c, 1, 3, "big", &size, 1));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 3);
    CHECK_INT_EQ(ack_count(&f), 0);
    CHECK_INT_EQ(stats_of(srv).errors, 2);
    client_close(c);
    spoe_server_stop(srv);
}

static size_t fragment(uint8_t *buf, size_t cap, uint8_t type, uint32_t flags, uint64_t fid,
                       const uint8_t *payload, size_t plen)
{
    return raw_frame(buf, cap, type, flags, 5, fid, payload, plen);
}

static void test_fragmented_notify(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.max_payload = 1024;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    /* the payload of a NOTIFY, cut in three */
    uint8_t whole[512], buf[512];
    struct arg path = {"path", spop_str("/fragmented/path")};
    size_t n = notify_frame(whole, sizeof(whole), 5, 9, "route", &path, 1);
    const uint8_t *payload = whole + 4 + 7; /* length, type, flags, 1-byte ids */
    size_t plen = n - 4 - 7;
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 9, payload, 5);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, 0, 9, payload + 5, 10);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 9, payload + 15, plen - 15);
    CHECK(send_all(c->fd, buf, n));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.stream_id == 5 && f.frame_id == 9);
    CHECK(ack_str_is(&f, "path", "/fragmented/path"));

    /* above max_payload: ACK with ABORT, later fragments dropped, then on */
    static const uint8_t filler[600];
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 10, filler, 300);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, 0, 10, filler, 300);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, 0, 10, filler, 450);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 10, filler, 10);
    CHECK(send_all(c->fd, buf, n));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.frame_id == 10);
    CHECK_INT_EQ(f.flags, SPOP_FLAG_FIN | SPOP_FLAG_ABORT);
    CHECK(send_route(c, 5, 11, "/next"));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.frame_id == 11 && ack_str_is(&f, "path", "/next"));

    /* HAProxy aborting its own payload: no ACK */
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 12, payload, 5);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_UNSET, SPOP_FLAG_FIN | SPOP_FLAG_ABORT, 12, NULL, 0);
    CHECK(send_all(c->fd, buf, n));
    CHECK(send_route(c, 5, 13, "/after-abort"));
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(f.frame_id, 13);

    /* interlaced payloads */
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 14, payload, 5);
    CHECK(send_all(c->fd, buf, n));
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 15, payload, 5);
    CHECK(send_all(c->fd, buf, n));
    CHECK(expect_disconnect(c, SPOP_STATUS_INTERLACED_FRAMES));
    client_close(c);
    spoe_server_stop(srv);

    /* fragmentation off: not announced, and refused */
    cfg.max_payload = 0;
    srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    n = fragment(buf, sizeof(buf), SPOP_FRAME_NOTIFY, 0, 9, payload, 5);
    CHECK(rejects(srv, true, buf, n, SPOP_STATUS_FRAG_NOT_SUPPORTED));
    spoe_server_stop(srv);
}

static void test_haproxy_disconnect(void)
{
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    uint8_t buf[256];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK(spop_disconnect_encode(&w, SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_STATUS_NORMAL, NULL) ==
          SPOP_STATUS_NORMAL);
    CHECK(rejects(srv, true, buf, w.len, SPOP_STATUS_NORMAL));
    CHECK(rejects(srv, false, buf, w.len, SPOP_STATUS_NORMAL));
    /* a DISCONNECT with an error status is still answered with "normal" */
    spop_writer_init(&w, buf, sizeof(buf));
    spop_disconnect_encode(&w, SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_STATUS_TIMEOUT, NULL);
    CHECK(rejects(srv, true, buf, w.len, SPOP_STATUS_NORMAL));
    /* ACKs already due go out before the DISCONNECT */
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    CHECK(send_route(c, 1, 1, "/last"));
    CHECK(send_all(c->fd, buf, w.len));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && f.frame_id == 1);
    CHECK(expect_disconnect(c, SPOP_STATUS_NORMAL));
    client_close(c);
    CHECK_INT_EQ(stats_of(srv).errors, 0);
    spoe_server_stop(srv);
}

static void test_idle_timeout(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.idle_timeout = 0.3;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    double t0 = now_s();
    CHECK(expect_disconnect(c, SPOP_STATUS_TIMEOUT));
    double waited = now_s() - t0;
    CHECK(waited > 0.25 && waited < 3);
    client_close(c);
    CHECK_INT_EQ(stats_of(srv).idle_timeouts, 1);
    CHECK_INT_EQ(stats_of(srv).errors, 0);

    /* a connection waiting for a deferred decision is not idle */
    c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    CHECK(send_async(c, 1, 301));
    struct spoe_async *a = take_deferred(301);
    CHECK(a != NULL);
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 0.8), -1);
    if (a)
        complete_with(a, "slow");
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.type == SPOP_FRAME_ACK && ack_str_is(&f, "verdict", "slow"));
    CHECK(expect_disconnect(c, SPOP_STATUS_TIMEOUT));
    client_close(c);
    spoe_server_stop(srv);
}

static void test_slow_reader(void)
{
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.max_output = 1; /* raised to its minimum, two frames */
    cfg.workers = 1;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)spoe_server_port(srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct client *c = client_on(connect_addr((struct sockaddr *)&sa, sizeof(sa), 4096));
    CHECK(hello(c));
    /* ask for 8 kB answers and never read them */
    static uint8_t batch[50 * 64];
    size_t len = 0;
    struct arg size = {"size", spop_int64(8000)};
    for (int i = 0; i < 50; i++)
        len += notify_frame(batch + len, sizeof(batch) - len, 1, (uint64_t)i + 1, "big", &size, 1);
    double deadline = now_s() + 20;
    while (stats_of(srv).slow_readers == 0 && now_s() < deadline)
        if (!send_all(c->fd, batch, len))
            break;
    CHECK_WITHIN(5, stats_of(srv).slow_readers == 1);
    CHECK_WITHIN(5, stats_of(srv).connections_open == 0);
    client_close(c);
    spoe_server_stop(srv);
}

struct load {
    int port;
    atomic_bool stop;
    atomic_int answered;
    bool ok;
};

/* Batches of 10 route NOTIFYs until told to stop; the snapshot ids seen
 * never go back. */
static void *load_thread(void *arg)
{
    struct load *l = arg;
    struct client *c = connect_tcp4(l->port);
    l->ok = hello(c);
    int64_t last = -1;
    for (uint64_t fid = 1; l->ok && !atomic_load(&l->stop);) {
        for (int i = 0; i < 10; i++)
            l->ok = l->ok && send_route(c, 1, fid + (uint64_t)i, "/load");
        for (int i = 0; i < 10 && l->ok; i++) {
            struct spop_frame f;
            l->ok = read_frame(c, &f, 5) == 1 && f.type == SPOP_FRAME_ACK;
            int64_t id = l->ok ? ack_int(&f, "snap") : -1;
            l->ok = l->ok && id >= last && id < 40;
            last = id;
            atomic_fetch_add(&l->answered, 1);
        }
        fid += 10;
    }
    client_close(c);
    return NULL;
}

static bool released_once(struct tsnap *snaps, int n)
{
    for (int i = 0; i < n; i++)
        if (atomic_load(&snaps[i].released) != 1)
            return false;
    return true;
}

static void test_snapshot_swap_under_load(void)
{
    static struct tsnap snaps[40];
    for (int i = 0; i < 40; i++) {
        snaps[i].id = i;
        atomic_init(&snaps[i].released, 0);
    }
    struct spoe_server *srv = start_default();
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    spoe_server_publish(srv, &snaps[0], tsnap_release);
    struct load loads[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        loads[i].port = spoe_server_port(srv);
        atomic_init(&loads[i].stop, false);
        atomic_init(&loads[i].answered, 0);
        loads[i].ok = true;
        CHECK(pthread_create(&threads[i], NULL, load_thread, &loads[i]) == 0);
    }
    for (int k = 1; k < 40; k++) {
        int before = atomic_load(&loads[0].answered) + atomic_load(&loads[1].answered);
        CHECK_WITHIN(5, atomic_load(&loads[0].answered) + atomic_load(&loads[1].answered) >=
                            before + 20);
        spoe_server_publish(srv, &snaps[k], tsnap_release);
    }
    for (int i = 0; i < 2; i++) {
        atomic_store(&loads[i].stop, true);
        pthread_join(threads[i], NULL);
        CHECK(loads[i].ok);
    }
    /* every snapshot but the current one released, exactly once */
    CHECK_WITHIN(5, released_once(snaps, 39));
    CHECK_INT_EQ(atomic_load(&snaps[39].released), 0);
    spoe_server_stop(srv);
    for (int i = 0; i < 40; i++)
        CHECK_INT_EQ(atomic_load(&snaps[i].released), 1);
}

static void test_snapshot_held_by_deferred(void)
{
    static struct tsnap a, b;
    a.id = 1;
    b.id = 2;
    atomic_init(&a.released, 0);
    atomic_init(&b.released, 0);
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.workers = 1;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    spoe_server_publish(srv, &a, tsnap_release);
    struct client *c = connect_tcp4(spoe_server_port(srv));
    CHECK(hello(c));
    CHECK(send_async(c, 1, 401));
    struct spoe_async *h = take_deferred(401);
    CHECK(h != NULL);
    CHECK(h && spoe_async_snapshot(h) == &a);
    spoe_server_publish(srv, &b, tsnap_release);
    CHECK(send_route(c, 1, 2, "/b"));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK_INT_EQ(ack_int(&f, "snap"), 2);
    CHECK_INT_EQ(atomic_load(&a.released), 0); /* the deferred decision holds it */
    if (h)
        complete_with(h, "done");
    CHECK_INT_EQ(read_frame(c, &f, 5), 1);
    CHECK(f.frame_id == 1 && ack_int(&f, "snap") == 1);
    CHECK_WITHIN(5, atomic_load(&a.released) == 1);
    client_close(c);
    spoe_server_stop(srv);
    CHECK_INT_EQ(atomic_load(&a.released), 1);
    CHECK_INT_EQ(atomic_load(&b.released), 1);
}

struct stopper {
    struct spoe_server *srv;
    double took;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    double t0 = now_s();
    spoe_server_stop(s->srv);
    s->took = now_s() - t0;
    return NULL;
}

static void test_stop_with_live_connections(void)
{
    static struct tsnap snap;
    snap.id = 7;
    atomic_init(&snap.released, 0);
    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.close_timeout = 0.5;
    struct spoe_server *srv = start(&cfg);
    if (!srv) {
        CHECK(srv != NULL);
        return;
    }
    spoe_server_publish(srv, &snap, tsnap_release);
    struct client *c[5];
    for (int i = 0; i < 5; i++) {
        c[i] = connect_tcp4(spoe_server_port(srv));
        CHECK(hello(c[i]));
    }
    CHECK(send_async(c[0], 1, 501));
    struct spoe_async *pending = take_deferred(501);
    CHECK(pending != NULL);
    CHECK(send_route(c[1], 1, 1, "/x"));
    struct spop_frame f;
    CHECK_INT_EQ(read_frame(c[1], &f, 5), 1);

    /* c[0..3] answer the DISCONNECT by closing; c[4] never does */
    struct stopper s = {srv, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, stop_thread, &s) == 0);
    for (int i = 0; i < 4; i++) {
        CHECK(expect_disconnect(c[i], SPOP_STATUS_NORMAL));
        client_close(c[i]);
    }
    pthread_join(t, NULL);
    CHECK(s.took >= 0.4 && s.took < 3);
    CHECK_INT_EQ(read_frame(c[4], &f, 1), 1);
    CHECK_INT_EQ(f.type, SPOP_FRAME_AGENT_DISCONNECT);
    client_close(c[4]);

    /* the deferred decision still holds the snapshot; completing it after
     * the stop frees both */
    CHECK_INT_EQ(atomic_load(&snap.released), 0);
    if (pending)
        complete_with(pending, "too late");
    CHECK_INT_EQ(atomic_load(&snap.released), 1);
}

/* ---- end to end with HAProxy ---------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 64 * 1024);
    size_t n = buf ? fread(buf, 1, 64 * 1024 - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Appends `line` to out with every "@KEY@" of keys/values replaced. */
static void append_subst(char *out, size_t cap, const char *line, size_t len, const char *const *kv)
{
    size_t o = strlen(out);
    for (size_t i = 0; i < len && o + 1 < cap;) {
        bool replaced = false;
        for (int k = 0; kv[k]; k += 2) {
            size_t kl = strlen(kv[k]);
            if (len - i >= kl && memcmp(line + i, kv[k], kl) == 0) {
                o += (size_t)snprintf(out + o, cap - o, "%s", kv[k + 1]);
                i += kl;
                replaced = true;
                break;
            }
        }
        if (!replaced)
            out[o++] = line[i++];
    }
    if (o >= cap)
        o = cap - 1;
    out[o] = '\0';
}

/* The lines of tmpl starting with prefix ("#>", "#|"), without it and one
 * space, placeholders replaced; or, with prefix NULL, the whole text. */
static void render(char *out, size_t cap, const char *tmpl, const char *prefix,
                   const char *const *kv)
{
    out[0] = '\0';
    if (!prefix) {
        append_subst(out, cap, tmpl, strlen(tmpl), kv);
        return;
    }
    for (const char *p = tmpl; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, prefix, 2) == 0) {
            size_t skip = p[2] == ' ' ? 3 : 2;
            append_subst(out, cap, p + skip, len - skip, kv);
        }
        p += len;
    }
}

/* GET path through HAProxy; the response body in out ("" on failure). */
static void http_get(int port, const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    struct client *c = connect_tcp4(port);
    if (!c)
        return;
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: spoe.test\r\n\r\n", path);
    size_t got = 0;
    if (send_all(c->fd, req, (size_t)n)) {
        double deadline = now_s() + 5;
        for (;;) {
            int ms = (int)((deadline - now_s()) * 1000);
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
                break;
            ssize_t k = recv(c->fd, c->in + got, sizeof(c->in) - 1 - got, 0);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
    }
    c->in[got] = '\0';
    const char *body = strstr((const char *)c->in, "\r\n\r\n");
    snprintf(out, cap, "%s", body ? body + 4 : "");
    client_close(c);
}

/* GETs path until the body has `text` (present) or is an answer without it
 * (!present), for up to 10 s. */
static bool get_until(int port, const char *path, const char *text, bool present, char *body,
                      size_t cap)
{
    double deadline = now_s() + 10;
    for (;;) {
        http_get(port, path, body, cap);
        bool has = strstr(body, text) != NULL;
        if (present ? has : (!has && strstr(body, "verdict=") != NULL))
            return true;
        if (now_s() > deadline)
            return false;
        poll(NULL, 0, 20);
    }
}

static void e2e_decide(void *snapshot, const struct spoe_request *req, struct spoe_reply *reply)
{
    (void)snapshot;
    const char *route, *path;
    size_t route_len, path_len;
    if (!spoe_request_is(req, "spoke-request") ||
        !spoe_request_arg_str(req, "route", &route, &route_len) ||
        !spoe_request_arg_str(req, "path", &path, &path_len) ||
        !spop_bytes_eq((const uint8_t *)route, route_len, "r00000000000000aa"))
        return;
    if (path_len >= 5 && memcmp(path, "/deny", 5) == 0) {
        spoe_reply_set_str(reply, TXN, "verdict", "deny");
        return;
    }
    char v[128];
    int n = snprintf(v, sizeof(v), "allow:%.*s", (int)path_len, path);
    spoe_reply_set_strn(reply, TXN, "verdict", v, (size_t)n < sizeof(v) ? (size_t)n : 0);
}

static pid_t spawn_haproxy(const char *cfg, const char *log)
{
    const char *bin = getenv("HAPROXY_BIN") ? getenv("HAPROXY_BIN") : "haproxy";
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp(bin, bin, "-f", cfg, "-db", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void test_haproxy_end_to_end(void)
{
    char dir[200], spoe_cfg[260], ha_cfg[260], log[260];
    CHECK(make_temp_dir(dir, sizeof(dir)) == 0);
    snprintf(spoe_cfg, sizeof(spoe_cfg), "%s/spoe.cfg", dir);
    snprintf(ha_cfg, sizeof(ha_cfg), "%s/haproxy.cfg", dir);
    snprintf(log, sizeof(log), "%s/haproxy.log", dir);
    char *tmpl = read_text("haproxy/spoe.cfg.in");
    CHECK(tmpl != NULL);
    if (!tmpl) {
        printf("# haproxy/spoe.cfg.in not found: run from the repository root\n");
        rmdir(dir);
        return;
    }

    struct spoe_server_config cfg;
    test_config(&cfg, "127.0.0.1:0");
    cfg.decide = e2e_decide;
    struct spoe_server *srv = start(&cfg);
    CHECK(srv != NULL);
    if (!srv) {
        free(tmpl);
        return;
    }
    int agent_port = spoe_server_port(srv);
    char agent_addr[64];
    snprintf(agent_addr, sizeof(agent_addr), "127.0.0.1:%d", agent_port);
    /* The timeouts are the IngressParameters defaults (params_render.c). */
    const char *kv[] = {"@SPOE_CFG@",
                        spoe_cfg,
                        "@SPOE_ADDR@",
                        agent_addr,
                        "@SPOE_TIMEOUT_HELLO@",
                        "2000ms",
                        "@SPOE_TIMEOUT_IDLE@",
                        "30000ms",
                        "@SPOE_TIMEOUT_PROCESSING@",
                        "1000ms",
                        NULL};

    static char spoe_text[64 * 1024], frontend[4096], backend[4096], ha_text[16 * 1024];
    render(spoe_text, sizeof(spoe_text), tmpl, NULL, kv);
    render(frontend, sizeof(frontend), tmpl, "#>", kv);
    render(backend, sizeof(backend), tmpl, "#|", kv);
    free(tmpl);
    CHECK(strstr(frontend, "filter spoe") != NULL);
    CHECK(strstr(backend, agent_addr) != NULL);
    int http_port = hx_free_tcp_port();
    snprintf(ha_text, sizeof(ha_text),
             "defaults\n"
             "    mode http\n"
             "    timeout connect 2s\n"
             "    timeout client 10s\n"
             "    timeout server 10s\n"
             "frontend fe\n"
             "    bind 127.0.0.1:%d\n"
             "    http-request set-var(txn.route) str(be_x|r00000000000000aa|x)\n"
             "%s"
             "    http-request return status 200 content-type text/plain lf-string "
             "\"verdict=%%[var(txn.spoke.verdict)] error=%%[var(txn.spoke.error)]\"\n"
             "%s",
             http_port, frontend, backend);
    CHECK(write_text(spoe_cfg, spoe_text));
    CHECK(write_text(ha_cfg, ha_text));

    pid_t pid = spawn_haproxy(ha_cfg, log);
    CHECK(pid > 0);
    char body[512] = "";
    /* HAProxy up, its agent checked: the agent's verdict comes back */
    CHECK(get_until(http_port, "/hello", "verdict=allow:/hello", true, body, sizeof(body)));
    printf("# allowed: %s\n", body);
    http_get(http_port, "/deny/me", body, sizeof(body));
    CHECK(strstr(body, "verdict=deny ") != NULL);
    struct spoe_server_stats st = stats_of(srv);
    CHECK(st.notify >= 2 && st.errors == 0);

    /* the agent gone: no verdict (the routing layer denies on that) */
    spoe_server_stop(srv);
    CHECK(get_until(http_port, "/hello", "verdict=allow", false, body, sizeof(body)));
    printf("# agent down: %s\n", body);

    CHECK(strstr(body, "error=") != NULL && strstr(body, "error= ") == NULL &&
          strstr(body, "error=-") == NULL);

    /* back on the same address: served again, HAProxy untouched */
    test_config(&cfg, agent_addr);
    cfg.decide = e2e_decide;
    srv = start(&cfg);
    CHECK(srv != NULL);
    CHECK(get_until(http_port, "/again", "verdict=allow:/again", true, body, sizeof(body)));
    CHECK(pid > 0 && waitpid(pid, NULL, WNOHANG) == 0); /* never restarted */
    spoe_server_stop(srv);

    if (test_failures_in_current) {
        char *text = read_text(log);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
            printf("# haproxy: %s\n", line);
        free(text);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    unlink(spoe_cfg);
    unlink(ha_cfg);
    unlink(log);
    rmdir(dir);
}

TEST_MAIN(TEST_CASE(test_hello_negotiation), TEST_CASE(test_healthcheck),
          TEST_CASE(test_notify_tcp), TEST_CASE(test_notify_ipv6), TEST_CASE(test_notify_unix),
          TEST_CASE(test_start_errors), TEST_CASE(test_pipelined_100),
          TEST_CASE(test_connections_spread), TEST_CASE(test_async_out_of_order),
          TEST_CASE(test_async_backpressure), TEST_CASE(test_malformed_frames),
          TEST_CASE(test_oversized_frames), TEST_CASE(test_reply_bounds),
          TEST_CASE(test_fragmented_notify), TEST_CASE(test_haproxy_disconnect),
          TEST_CASE(test_idle_timeout), TEST_CASE(test_slow_reader),
          TEST_CASE(test_snapshot_swap_under_load), TEST_CASE(test_snapshot_held_by_deferred),
          TEST_CASE(test_stop_with_live_connections), TEST_CASE(test_haproxy_end_to_end))
