/*
 * dns_cache.h - host names resolved off the loop, for ExternalName Services.
 *
 * HAProxy 2.6 gives dynamic servers no DNS resolution ("init-addr none",
 * management.txt "add server"), so the agent resolves an ExternalName itself
 * and adds its addresses as servers. getaddrinfo() blocks, so each lookup
 * runs on a short-lived thread; the result comes back to the loop through an
 * ev_async, and on_change runs when a name's addresses changed (the caller
 * then rebuilds and pushes the routing). An answer is kept for `ttl`
 * seconds; after that the next lookup refreshes it (the old addresses are
 * served meanwhile).
 */
#ifndef SPOKE_DNS_CACHE_H
#define SPOKE_DNS_CACHE_H

#include <stddef.h>

#include <ev.h>

#define DNS_ADDR_MAX 64 /* an IPv6 address in text, with room */

struct dns_cache;

struct dns_cache *dns_cache_new(struct ev_loop *loop, double ttl, void (*on_change)(void *ud),
                                void *ud);
/* Threads still resolving finish on their own; their answers are dropped. */
void dns_cache_free(struct dns_cache *c);

/* Copies up to max known addresses of name (sorted, numeric) into addrs and
 * returns how many; 0 while the first lookup runs or when the name does not
 * resolve. Starts a lookup when the answer is missing or older than ttl. */
size_t dns_cache_lookup(struct dns_cache *c, const char *name, char (*addrs)[DNS_ADDR_MAX],
                        size_t max);

#endif
