/*
 * leader.h - leader election on a coordination.k8s.io/v1 Lease, as client-go
 * does it, on the agent's libev loop (never blocking).
 *
 * Every retry period a candidate GETs the Lease: absent, it POSTs one naming
 * itself; held by another replica, it waits until the record has not changed
 * for leaseDurationSeconds by the local clock (the remote timestamps are
 * never trusted), then takes it over with a PUT carrying the observed
 * resourceVersion (409: another replica won, try again later). The leader
 * renews with a PUT every retry period and steps down when no renewal has
 * succeeded for the renew deadline, or when it sees another holder.
 * leader_release() (the SIGTERM path) rewrites the Lease with no holder and
 * leaseDurationSeconds 1 so another replica takes over at its next retry.
 *
 * All replicas keep serving traffic; the caller gates leader-only work (the
 * Ingress status writes) on leader_is_leader() or the callbacks.
 */
#ifndef SPOKE_KUBE_LEADER_H
#define SPOKE_KUBE_LEADER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "admin/admin_server.h"
#include "kube/http.h"

struct leader_callbacks {
    void (*on_started_leading)(void *ud);
    void (*on_stopped_leading)(void *ud);
    /* The observed holder changed (ourselves included); "" once released. */
    void (*on_new_leader)(void *ud, const char *identity);
    void *ud;
};

struct leader_config {
    const char *namespace; /* of the Lease */
    const char *name;      /* of the Lease, e.g. "spoke-leader" */
    const char *identity;  /* unique per replica: see leader_default_identity() */
    /* Seconds; 0 = defaults: lease 15, renew deadline 2/3 of the lease (10),
     * retry period 2/15 of the lease (2), the ratios of client-go. Need
     * retry < renew deadline < lease duration. The Lease carries the duration
     * rounded up to whole seconds. */
    double lease_duration, renew_deadline, retry_period;
    struct leader_callbacks cb;
};

struct leader;

/* Copies what it needs from cfg. NULL when cfg is invalid (logged). */
struct leader *leader_new(struct ev_loop *loop, struct kube_http *http,
                          const struct leader_config *cfg);
/* Starts campaigning: the first attempt runs at once (on the loop). */
void leader_start(struct leader *l);

/* Stop campaigning. When leading, on_stopped_leading runs now and the Lease is
 * rewritten without holder (leaseDurationSeconds 1); done(ud) runs when that
 * PUT has finished (at most a few seconds), or before leader_release returns
 * when there is nothing to release. done may be NULL. Later calls do nothing
 * but run done. */
void leader_release(struct leader *l, void (*done)(void *ud), void *ud);

/* Cancels whatever is in flight; no callback runs (a pending release's done
 * neither). Do not call from a leader callback. */
void leader_free(struct leader *l);

bool leader_is_leader(const struct leader *l);
/* The holder last observed ("" when none or not known yet). */
const char *leader_holder(const struct leader *l);
const char *leader_identity(const struct leader *l);

/* {"leader":bool,"holder":"...","identity":"...","lease":"ns/name",
 *  "transitions":N} (new reference). */
json_t *leader_debug_json(const struct leader *l);
/* Admin route for GET /debug/leader; ud is the struct leader. */
void leader_debug_handler(void *ud, const char *query, struct admin_response *resp);

/* "$POD_NAME" or the host name, then "_" and the pid: unique per replica. */
void leader_default_identity(char *buf, size_t len);

#endif
