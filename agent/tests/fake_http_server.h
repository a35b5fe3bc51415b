/*
 * fake_http_server.h - a tiny scripted HTTP/1.1 server for unit tests.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a binary of
 * its own. The server listens on 127.0.0.1 (ephemeral port) on the test's
 * libev loop, so client and server share one thread and nothing sleeps.
 * Each request (Content-Length bodies only) is recorded and handed to the
 * test's handler, which answers now or later: a whole response, a chunked
 * stream piece by piece, or an abrupt close.
 *
 * RUN_UNTIL(loop, cond, seconds) runs the loop until cond holds or the
 * deadline passes; check cond afterwards.
 */
#ifndef SPOKE_FAKE_HTTP_SERVER_H
#define SPOKE_FAKE_HTTP_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

struct fake_request {
    char method[16];
    char *target;  /* path and query */
    char *headers; /* the header lines, CRLF-separated */
    char *body;    /* NUL-terminated */
    size_t body_len;
};

struct fake_conn;
typedef void (*fake_handler_fn)(void *ud, struct fake_conn *c, const struct fake_request *req);
typedef void (*fake_close_fn)(void *ud, const struct fake_conn *c);

struct fake_server;

struct fake_conn {
    struct fake_server *srv;
    struct fake_conn *next;
    int fd;
    ev_io rio, wio;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    bool busy;              /* a request waits for (the end of) its answer */
    bool close_after_write; /* the client asked for Connection: close */
    bool closed;
    bool processing; /* inside fake__process: it picks up the next request itself */
};

struct fake_server {
    struct ev_loop *loop;
    int fd, port;
    ev_io accept_io;
    struct fake_conn *conns;
    fake_handler_fn handler;
    fake_close_fn on_close; /* may be NULL */
    void *ud;
    struct fake_request **reqs; /* every request received, in order */
    size_t nreqs, cap_reqs;
    unsigned long accepted;
    int depth; /* inside a server callback: closed conns are freed on the way out */
};

static inline void fake__process(struct fake_conn *c);

static inline void fake__free_conn(struct fake_conn *c)
{
    free(c->in);
    free(c->out);
    free(c);
}

static inline void fake__reap(struct fake_server *s)
{
    if (s->depth)
        return;
    for (struct fake_conn **l = &s->conns; *l;) {
        struct fake_conn *c = *l;
        if (c->closed) {
            *l = c->next;
            fake__free_conn(c);
        } else {
            l = &c->next;
        }
    }
}

/* Close a connection now (an abrupt end for a stream). */
static inline void fake_close(struct fake_conn *c)
{
    if (c->closed)
        return;
    struct fake_server *s = c->srv;
    c->closed = true;
    ev_io_stop(s->loop, &c->rio);
    ev_io_stop(s->loop, &c->wio);
    close(c->fd);
    c->fd = -1;
    s->depth++;
    if (s->on_close)
        s->on_close(s->ud, c);
    s->depth--;
    fake__reap(s);
}

static inline void fake__flush(struct fake_conn *c)
{
    while (!c->closed && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->srv->loop, &c->wio);
            return;
        }
        if (n <= 0) {
            fake_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->closed)
        return;
    ev_io_stop(c->srv->loop, &c->wio);
    c->out_off = c->out_len = 0;
    if (c->close_after_write && !c->busy)
        fake_close(c);
}

static inline void fake__write(struct fake_conn *c, const char *data, size_t len)
{
    if (c->closed)
        return;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *nb = realloc(c->out, cap);
        if (!nb)
            abort();
        c->out = nb;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static inline const char *fake__reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 410:
        return "Gone";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* The answer is complete: look at the next request, if any. */
static inline void fake__answered(struct fake_conn *c)
{
    c->busy = false;
    fake__flush(c);
    if (!c->closed && !c->processing) {
        c->srv->depth++;
        fake__process(c);
        c->srv->depth--;
        fake__reap(c->srv);
    }
}

/* A whole response with Content-Length. */
static inline void fake_respond(struct fake_conn *c, int status, const char *content_type,
                                const char *body)
{
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
                     fake__reason(status), content_type ? content_type : "application/json", blen);
    fake__write(c, head, (size_t)n);
    if (blen)
        fake__write(c, body, blen);
    fake__answered(c);
}

/* Start a chunked answer; send pieces with fake_stream_send, end with
 * fake_stream_end (or cut it with fake_close). */
static inline void fake_stream_begin(struct fake_conn *c, int status)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n",
                     status, fake__reason(status));
    fake__write(c, head, (size_t)n);
    fake__flush(c);
}

static inline void fake_stream_send_n(struct fake_conn *c, const char *data, size_t len)
{
    char size[32];
    int n = snprintf(size, sizeof(size), "%zx\r\n", len);
    if (!len)
        return;
    fake__write(c, size, (size_t)n);
    fake__write(c, data, len);
    fake__write(c, "\r\n", 2);
    fake__flush(c);
}

static inline void fake_stream_send(struct fake_conn *c, const char *data)
{
    fake_stream_send_n(c, data, strlen(data));
}

static inline void fake_stream_end(struct fake_conn *c)
{
    fake__write(c, "0\r\n\r\n", 5);
    fake__answered(c);
}

/* The value of header `name` in req (first match) into buf, or NULL. */
static inline const char *fake_header(const struct fake_request *req, const char *name, char *buf,
                                      size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = req->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = ll - (size_t)(v - p);
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        if (!eol)
            break;
        p = eol + 2;
    }
    return NULL;
}

static inline char *fake__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Parse as many complete requests as have arrived, one at a time. */
static inline void fake__process(struct fake_conn *c)
{
    struct fake_server *s = c->srv;
    if (c->processing)
        return;
    c->processing = true;
    while (!c->busy && !c->closed) {
        char *end = c->in_len ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
        if (!end)
            break;
        size_t head_len = (size_t)(end - c->in) + 4;
        char *line_end = memmem(c->in, head_len, "\r\n", 2);
        struct fake_request *r = calloc(1, sizeof(*r));
        if (!r)
            abort();
        char target[4096] = "";
        char *line = fake__strndup(c->in, (size_t)(line_end - c->in));
        if (sscanf(line, "%15s %4095s", r->method, target) != 2) {
            free(line);
            free(r);
            fake_close(c);
            break;
        }
        free(line);
        r->target = strdup(target);
        r->headers = fake__strndup(line_end + 2, head_len - (size_t)(line_end + 2 - c->in));
        char v[64];
        size_t clen = fake_header(r, "Content-Length", v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;
        if (c->in_len < head_len + clen) {
            free(r->target);
            free(r->headers);
            free(r);
            break; /* the body is still coming */
        }
        r->body = fake__strndup(c->in + head_len, clen);
        r->body_len = clen;
        if (fake_header(r, "Connection", v, sizeof(v)) && strcasecmp(v, "close") == 0)
            c->close_after_write = true;
        memmove(c->in, c->in + head_len + clen, c->in_len - head_len - clen);
        c->in_len -= head_len + clen;
        if (s->nreqs == s->cap_reqs) {
            s->cap_reqs = s->cap_reqs ? s->cap_reqs * 2 : 64;
            s->reqs = realloc(s->reqs, s->cap_reqs * sizeof(*s->reqs));
            if (!s->reqs)
                abort();
        }
        s->reqs[s->nreqs++] = r;
        c->busy = true;
        s->handler(s->ud, c, r);
    }
    c->processing = false;
}

static inline void fake__read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fake_conn *c = w->data;
    struct fake_server *s = c->srv;
    s->depth++;
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            char *nb = realloc(c->in, cap);
            if (!nb)
                abort();
            c->in = nb;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            fake_close(c);
            break;
        }
        c->in_len += (size_t)n;
    }
    fake__process(c);
    s->depth--;
    fake__reap(s);
}

static inline void fake__write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fake_conn *c = w->data;
    struct fake_server *s = c->srv;
    s->depth++;
    fake__flush(c);
    s->depth--;
    fake__reap(s);
}

static inline void fake__accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct fake_server *s = w->data;
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1; /* every piece of a stream goes out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct fake_conn *c = calloc(1, sizeof(*c));
        if (!c)
            abort();
        c->srv = s;
        c->fd = fd;
        c->next = s->conns;
        s->conns = c;
        s->accepted++;
        ev_io_init(&c->rio, fake__read_cb, fd, EV_READ);
        ev_io_init(&c->wio, fake__write_cb, fd, EV_WRITE);
        c->rio.data = c->wio.data = c;
        ev_io_start(loop, &c->rio);
    }
}

/* Listen on 127.0.0.1 (port 0 = any). Returns 0 or -1. */
static inline int fake_server_start(struct fake_server *s, struct ev_loop *loop,
                                    fake_handler_fn handler, fake_close_fn on_close, void *ud)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->handler = handler;
    s->on_close = on_close;
    s->ud = ud;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return -1;
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 128) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    ev_io_init(&s->accept_io, fake__accept_cb, s->fd, EV_READ);
    s->accept_io.data = s;
    ev_io_start(loop, &s->accept_io);
    return 0;
}

static inline void fake_server_stop(struct fake_server *s)
{
    ev_io_stop(s->loop, &s->accept_io);
    close(s->fd);
    s->on_close = NULL;
    s->depth++;
    for (struct fake_conn *c = s->conns; c; c = c->next)
        fake_close(c);
    s->depth--;
    fake__reap(s);
    for (size_t i = 0; i < s->nreqs; i++) {
        free(s->reqs[i]->target);
        free(s->reqs[i]->headers);
        free(s->reqs[i]->body);
        free(s->reqs[i]);
    }
    free(s->reqs);
    s->reqs = NULL;
    s->nreqs = 0;
}

/* "http://127.0.0.1:PORT" */
static inline const char *fake_server_url(const struct fake_server *s, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d", s->port);
    return buf;
}

/* How many connections are open now. */
static inline size_t fake_server_open_conns(const struct fake_server *s)
{
    size_t n = 0;
    for (const struct fake_conn *c = s->conns; c; c = c->next)
        n += !c->closed;
    return n;
}

/* ---- running the loop in tests ----------------------------------------- */

struct fake_deadline {
    ev_timer timer;
    bool expired;
};

static inline void fake__deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    ((struct fake_deadline *)w->data)->expired = true;
}

static inline void fake_deadline_start(struct fake_deadline *d, struct ev_loop *loop,
                                       double seconds)
{
    d->expired = false;
    ev_now_update(loop);
    ev_timer_init(&d->timer, fake__deadline_cb, seconds, 0.);
    d->timer.data = d;
    ev_timer_start(loop, &d->timer);
}

#define RUN_UNTIL(loop, cond, seconds)                                                             \
    do {                                                                                           \
        struct fake_deadline run_until_d_;                                                         \
        fake_deadline_start(&run_until_d_, (loop), (seconds));                                     \
        while (!(cond) && !run_until_d_.expired)                                                   \
            ev_run((loop), EVRUN_ONCE);                                                            \
        ev_timer_stop((loop), &run_until_d_.timer);                                                \
    } while (0)

#endif
