/*
 * master_cli.h - reloads an HAProxy that someone else started (attached
 * mode), through its master CLI: HAProxy in master-worker mode with
 * "-W -S PATH" listens on the unix socket PATH, and its "reload" command
 * re-executes the master with the same arguments, so it reads the
 * haproxy.cfg the agent rendered again; old workers finish their
 * connections (hitless), as with SIGUSR2 in managed mode.
 */
#ifndef SPOKE_HAPROXY_MASTER_CLI_H
#define SPOKE_HAPROXY_MASTER_CLI_H

#include <stddef.h>

/* Checks cfg with haproxy_bin -c, then sends "reload" to the master CLI at
 * socket_path. Blocks for at most a few seconds (a local socket). Returns 0,
 * or -1 with err set; on failure the running HAProxy is left as it was. */
int master_cli_reload(const char *socket_path, const char *haproxy_bin, const char *cfg, char *err,
                      size_t errlen);

#endif
