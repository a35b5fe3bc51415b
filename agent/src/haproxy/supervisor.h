/*
 * supervisor.h - runs HAProxy as a child of the agent (--manage-haproxy).
 *
 * HAProxy runs in master-worker mode in the foreground (-W -db): a reload is
 * SIGUSR2 to the master, which starts new workers with the new configuration
 * and lets the old ones finish their connections (hitless). When the master
 * exits unexpectedly it is started again, after a backoff that grows while
 * it keeps dying. Needs the libev default loop (child watchers).
 *
 * The master's pid goes to the cfg path with ".pid" for ".cfg". When the
 * agent starts and that master still runs the same configuration (the agent
 * was killed or crashed, HAProxy was not), it is adopted instead of started
 * again: HAProxy keeps serving through an agent restart, with no reload.
 */
#ifndef SPOKE_HAPROXY_SUPERVISOR_H
#define SPOKE_HAPROXY_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

struct haproxy_supervisor;

/* Called after every (re)start of HAProxy, so the caller can push the
 * routing again (the state files already hold it; this is belt and braces). */
typedef void (*haproxy_started_fn)(void *ud, unsigned restarts);

/* Checks the configuration (haproxy -c) and starts HAProxy. Returns NULL
 * with err set when the check or the start fails. */
struct haproxy_supervisor *haproxy_supervisor_start(struct ev_loop *loop, const char *haproxy_bin,
                                                    const char *cfg_path,
                                                    haproxy_started_fn on_start, void *ud,
                                                    char *err, size_t errlen);

/* Runs bin -c -q -f cfg: 0 when HAProxy accepts the configuration, else -1
 * with err set (HAProxy's own messages go to the agent's stderr). */
int haproxy_check_config(const char *bin, const char *cfg, char *err, size_t errlen);

/* Hitless reload (the configuration is checked first). Returns 0 or -1 with
 * err set; HAProxy keeps running the old configuration on failure. */
int haproxy_supervisor_reload(struct haproxy_supervisor *s, char *err, size_t errlen);

/* Soft stop: HAProxy stops listening and finishes in-flight requests for up
 * to grace seconds, then is killed. Blocks until it is gone; frees s. */
void haproxy_supervisor_stop(struct haproxy_supervisor *s, double grace);

pid_t haproxy_supervisor_pid(const struct haproxy_supervisor *s);
unsigned haproxy_supervisor_restarts(const struct haproxy_supervisor *s);

#endif
