/*
 * net_addr.h - "HOST:PORT" / "[V6]:PORT" strings to socket addresses.
 */
#ifndef SPOKE_NET_ADDR_H
#define SPOKE_NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses a numeric address (no DNS). Returns 0, or -1 with a reason in err. */
int net_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *outlen, char *err,
                   size_t errlen);

/* A non-blocking, close-on-exec listening TCP socket with SO_REUSEADDR.
 * Returns the fd, or -1 with a reason in err. */
int net_listen_tcp(const char *s, int backlog, char *err, size_t errlen);

#endif
