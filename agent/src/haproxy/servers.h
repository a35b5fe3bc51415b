/*
 * servers.h - the servers (Pod endpoints) of one pool backend: what HAProxy
 * has, what the model wants, and the runtime API commands between the two.
 *
 * Endpoints are dynamic servers (management.txt 9.3: "add server", "set
 * server", "del server"; all work on Debian's 2.6): a new endpoint is
 * added (it starts in maintenance) and enabled; a terminating one is set to
 * drain (no new requests, its connections finish); a gone one is put in
 * maintenance and deleted. HAProxy refuses "del server" while the server
 * still has connections: it then stays in maintenance and the next
 * reconcile tries again.
 */
#ifndef SPOKE_HAPROXY_SERVERS_H
#define SPOKE_HAPROXY_SERVERS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

#define SERVER_NAME_MAX 80
#define SERVER_ADDR_MAX 64

struct server_spec {
    char name[SERVER_NAME_MAX]; /* from the address and port: stable, unique */
    char addr[SERVER_ADDR_MAX]; /* numeric IPv4 or IPv6 */
    int port;
    int weight; /* 1..256 */
    bool drain; /* terminating: serve nothing new */
    bool maint; /* in maintenance (as read from HAProxy) */
};

/* Fills name from addr and port ("ep-127.0.1.1-8080", ':' of IPv6 as '_').
 * Returns -1 when addr is not a numeric address or port is out of range. */
int server_spec_init(struct server_spec *s, const char *addr, int port, int weight, bool drain);

/* One server from "show servers state". */
typedef void (*servers_state_fn)(void *ud, const char *backend, const struct server_spec *srv);

/* Parses the answer of "show servers state" (columns found by the header
 * line, so newer HAProxy versions with more columns work). Returns the
 * number of servers, or -1 if the answer is not a servers state dump. */
int servers_state_parse(const char *answer, servers_state_fn fn, void *ud);

/* Appends to cmds, one per line, the commands that take backend from `have`
 * to `want` (both sorted by name). profile (profiles.h) gives the extra
 * "add server" keywords (e.g. "proto h2"); NULL: none. Returns the number of
 * commands. */
size_t servers_diff(const char *backend, const char *profile, const struct server_spec *have,
                    size_t n_have, const struct server_spec *want, size_t n_want,
                    struct strbuf *cmds);

int server_spec_cmp(const void *a, const void *b); /* by name, for qsort */

/* Appends "NAME ADDR:PORT weight W" and the profile's server options (NULL:
 * none): the same words for "add server BE/..." and for a "server" line of
 * haproxy.cfg. */
void server_spec_write(struct strbuf *out, const struct server_spec *s, const char *profile);

#endif
