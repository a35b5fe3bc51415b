/*
 * auth_stats.h - how many requests each Ingress's auth allowed and denied,
 * for /metrics (spoke_auth_decisions_total{ingress,verdict}).
 *
 * The counters outlive the policy snapshots (which are rebuilt on every
 * change): policy_set_use_auth_stats() hands each Ingress's counter to its
 * compiled policy on the control thread, and the SPOE workers (and the
 * external auth thread) count into it with atomic adds. A counter is never
 * freed before auth_stats_free, so a decision still running on an old
 * snapshot counts safely.
 */
#ifndef SPOKE_SPOE_AUTH_STATS_H
#define SPOKE_SPOE_AUTH_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct auth_stats;
struct auth_counter;

struct auth_stats *auth_stats_new(void);
void auth_stats_free(struct auth_stats *s);

/* The counter of ingress ("namespace/name"), made on first use. Any thread. */
struct auth_counter *auth_stats_counter(struct auth_stats *s, const char *ingress);

/* One decision (c may be NULL: not counted). Any thread. */
void auth_counter_count(struct auth_counter *c, bool allowed);

/* Calls fn for every counter, sorted by ingress. Any thread. */
void auth_stats_foreach(struct auth_stats *s,
                        void (*fn)(void *ud, const char *ingress, uint64_t allowed,
                                   uint64_t denied),
                        void *ud);

#endif
