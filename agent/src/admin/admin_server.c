/* admin_server.c - see admin_server.h. */
#include "admin/admin_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/net_addr.h"

#define ADMIN_MAX_REQUEST  8192
#define ADMIN_IDLE_SECONDS 10.0

struct admin_conn {
    struct admin_server *server;
    struct admin_conn *next, *prev;
    int fd;
    ev_io io;
    ev_timer idle;
    char req[ADMIN_MAX_REQUEST + 1];
    size_t req_len;
    char *out; /* header + body */
    size_t out_len, out_off;
};

struct admin_server {
    struct ev_loop *loop;
    int fd;
    int port;
    ev_io accept_io;
    const struct admin_route *routes;
    size_t nroutes;
    struct admin_conn *conns;
};

static void conn_close(struct admin_conn *c)
{
    struct admin_server *s = c->server;
    ev_io_stop(s->loop, &c->io);
    ev_timer_stop(s->loop, &c->idle);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->out);
    free(c);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* Builds the whole response in c->out and switches the watcher to writing. */
static void conn_respond(struct admin_conn *c, struct admin_response *r)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\nCache-Control: no-store\r\n\r\n",
                     r->status, status_text(r->status),
                     r->content_type ? r->content_type : "text/plain; charset=utf-8", r->len);
    c->out = malloc((size_t)n + r->len);
    if (!c->out) {
        free(r->body);
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)n);
    if (r->len)
        memcpy(c->out + n, r->body, r->len);
    free(r->body);
    c->out_len = (size_t)n + r->len;
    c->out_off = 0;
    ev_io_stop(c->server->loop, &c->io);
    ev_io_set(&c->io, c->fd, EV_WRITE);
    ev_io_start(c->server->loop, &c->io);
}

static void respond_text(struct admin_conn *c, int status, const char *text)
{
    struct admin_response r = {.status = status, .body = strdup(text), .len = strlen(text)};
    if (!r.body)
        r.len = 0;
    conn_respond(c, &r);
}

static void conn_dispatch(struct admin_conn *c)
{
    char method[8], target[1024];
    if (sscanf(c->req, "%7s %1023s", method, target) != 2) {
        respond_text(c, 400, "bad request\n");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        respond_text(c, 405, "only GET\n");
        return;
    }
    char *query = strchr(target, '?');
    if (query)
        *query++ = '\0';
    for (size_t i = 0; i < c->server->nroutes; i++) {
        const struct admin_route *rt = &c->server->routes[i];
        if (strcmp(rt->path, target) == 0) {
            struct admin_response r = {.status = 200};
            rt->fn(rt->ud, query ? query : "", &r);
            if (strcmp(method, "HEAD") == 0) {
                free(r.body);
                r.body = NULL;
                r.len = 0;
            }
            conn_respond(c, &r);
            return;
        }
    }
    respond_text(c, 404, "not found\n");
}

static void conn_read(struct admin_conn *c)
{
    ssize_t n = read(c->fd, c->req + c->req_len, ADMIN_MAX_REQUEST - c->req_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->req_len += (size_t)n;
    c->req[c->req_len] = '\0';
    if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
        conn_dispatch(c);
    else if (c->req_len == ADMIN_MAX_REQUEST)
        respond_text(c, 413, "request too large\n");
}

static void conn_write(struct admin_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    conn_close(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct admin_conn *c = w->data;
    ev_timer_again(c->server->loop, &c->idle);
    if (revents & EV_READ)
        conn_read(c);
    else if (revents & EV_WRITE)
        conn_write(c);
}

static void conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    conn_close(w->data);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct admin_server *s = w->data;
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct admin_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            return;
        }
        c->server = s;
        c->fd = fd;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(loop, &c->io);
        ev_timer_init(&c->idle, conn_idle_cb, 0., ADMIN_IDLE_SECONDS);
        c->idle.data = c;
        ev_timer_again(loop, &c->idle);
    }
}

struct admin_server *admin_server_start(struct ev_loop *loop, const char *listen,
                                        const struct admin_route *routes, size_t nroutes, char *err,
                                        size_t errlen)
{
    int fd = net_listen_tcp(listen, 64, err, errlen);
    if (fd < 0)
        return NULL;
    struct admin_server *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    s->loop = loop;
    s->fd = fd;
    s->routes = routes;
    s->nroutes = nroutes;
    ev_io_init(&s->accept_io, accept_cb, fd, EV_READ);
    s->accept_io.data = s;
    ev_io_start(loop, &s->accept_io);
    return s;
}

int admin_server_port(const struct admin_server *s)
{
    return s->port;
}

void admin_server_stop(struct admin_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns);
    ev_io_stop(s->loop, &s->accept_io);
    close(s->fd);
    free(s);
}
