/*
 * agent.h - the agent's lifetime: connect, watch, serve, stop cleanly.
 */
#ifndef SPOKE_AGENT_H
#define SPOKE_AGENT_H

#include "options.h"

/* Runs until SIGTERM/SIGINT. Returns the process exit status. */
int agent_run(const struct options *opts);

#endif
