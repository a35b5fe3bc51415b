/*
 * admin_server.h - a tiny HTTP/1.1 server for operators and tests.
 *
 * Serves GET requests from a fixed table of paths on the agent's libev loop:
 * /debug/store (local-only admin port), and later /metrics, /healthz,
 * /readyz. One request per connection, bounded request size, responses
 * written without blocking. Not a general web server: just enough HTTP for
 * curl, Prometheus and kubelet probes.
 */
#ifndef SPOKE_ADMIN_SERVER_H
#define SPOKE_ADMIN_SERVER_H

#include <stddef.h>

#include <ev.h>

struct admin_response {
    int status;               /* default 200 */
    const char *content_type; /* default "text/plain; charset=utf-8" */
    char *body;               /* malloc'd by the handler; freed by the server */
    size_t len;
};

/* query is the part after '?' ("" when none). */
typedef void (*admin_handler_fn)(void *ud, const char *query, struct admin_response *resp);

struct admin_route {
    const char *path;
    admin_handler_fn fn;
    void *ud;
};

struct admin_server;

/* listen is "HOST:PORT" (IPv4, or [IPv6]:PORT); port 0 picks a free one.
 * routes must stay valid while the server runs. NULL + err on failure. */
struct admin_server *admin_server_start(struct ev_loop *loop, const char *listen,
                                        const struct admin_route *routes, size_t nroutes, char *err,
                                        size_t errlen);
int admin_server_port(const struct admin_server *s);
/* Closes the listener and every open connection. */
void admin_server_stop(struct admin_server *s);

#endif
