/*
 * spoe_internal.h - what spoe_server.c, spoe_conn.c and spoe_decide.c share
 * and nobody else sees: workers, connections, snapshots, deferred decisions,
 * counters.
 *
 * Threads: every field of a worker and of its connections belongs to the
 * worker's thread, except the counters (written by that thread, read by any
 * with relaxed atomics) and the inbox (a mutex). A deferred decision is
 * split the same way: its reply belongs to the completer until it is handed
 * to the inbox; its connection links belong to the worker.
 */
#ifndef SPOKE_SPOE_INTERNAL_H
#define SPOKE_SPOE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "spoe/spoe_decide.h"
#include "spoe/spoe_server.h"
#include "spoe/spop_codec.h"

/* ---- snapshots: reference counted, released by the last holder ---------- */

struct spoe_snap {
    void *ptr;
    void (*release)(void *);
    atomic_uint refs;
};

void spoe_snap_hold(struct spoe_snap *s);
void spoe_snap_drop(struct spoe_snap *s);

/* ---- replies ---------------------------------------------------------------- */

struct spoe_reply_var {
    uint8_t action; /* enum spop_action_type */
    uint8_t scope;
    uint16_t name_off, name_len; /* in arena */
    uint32_t val_off;            /* in arena, for STRING and BINARY */
    struct spop_value value;     /* bytes.ptr unused: see val_off */
};

struct spoe_conn;

struct spoe_reply {
    unsigned nvars;
    size_t used;
    bool failed;
    /* set by the server around a decision call; NULL for a deferred reply */
    struct spoe_conn *conn;
    uint64_t stream_id, frame_id;
    uint64_t started_ns;
    struct spoe_async *deferred;
    struct spoe_reply_var vars[SPOE_REPLY_MAX_VARS];
    uint8_t arena[SPOE_REPLY_MAX_BYTES];
};

void spoe_reply_reset(struct spoe_reply *r);

/* Writes the whole ACK for r into w. A spoiled reply, or one that does not
 * fit, becomes an ACK without actions; *spoiled tells. */
enum spop_status spoe_reply_encode_ack(const struct spoe_reply *r, uint64_t stream_id,
                                       uint64_t frame_id, struct spop_writer *w, bool *spoiled);

/* First message of a decoded NOTIFY; false when it has none. */
bool spoe_request_init(struct spoe_request *req, const struct spop_notify *n);

/* ---- counters (one set per worker) ---------------------------------------- */

struct spoe_counters {
    atomic_uint_fast64_t connections, connections_open, frames_in, frames_out, notify, errors,
        slow_readers, idle_timeouts, decisions, decision_ns, pending;
    atomic_uint_fast64_t decision_buckets[SPOE_LATENCY_BUCKETS + 1];
};

/* Only the owning worker writes: a plain load + store is enough. */
static inline void spoe_ctr_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void spoe_ctr_sub(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - n,
                          memory_order_relaxed);
}

uint64_t spoe_now_ns(void);

/* ---- deferred decisions ------------------------------------------------------ */

/* What other threads hand a worker: completed decisions and accepted
 * sockets. Reference counted: the worker and every deferred decision hold
 * one, so a decision completed after the server stopped still finds it
 * (closed) and frees itself. */
struct spoe_inbox {
    pthread_mutex_t lock;
    struct spoe_async *head, *tail; /* completed, in completion order */
    int *fds;                       /* accepted by another worker for this one */
    size_t nfds, fdcap;
    bool closed;
    struct ev_loop *loop;
    ev_async *wake;
    atomic_uint refs;
};

void spoe_inbox_drop(struct spoe_inbox *in);

struct spoe_async {
    struct spoe_reply reply; /* the completer's until spoe_async_complete() */
    struct spoe_inbox *inbox;
    struct spoe_snap *snap;
    struct spoe_async *inext; /* inbox list, under its lock */
    /* worker thread only */
    struct spoe_conn *conn; /* NULL once the connection is gone */
    struct spoe_async *cprev, *cnext;
    uint64_t stream_id, frame_id, started_ns;
};

void spoe_async_free(struct spoe_async *a);

/* ---- workers and the server ------------------------------------------------ */

struct spoe_worker {
    struct spoe_server *srv;
    unsigned index;
    pthread_t thread;
    bool thread_started;
    struct ev_loop *loop;
    ev_io accept_w;
    ev_timer accept_retry; /* after EMFILE: accepting again later */
    ev_async wake;         /* stop, new snapshot, completed decisions */
    ev_timer stop_timer;
    bool stopping;
    struct spoe_inbox *inbox;
    struct spoe_conn *conns;
    unsigned nconns;
    struct spoe_snap *snap; /* the worker's reference to the current snapshot */
    uint64_t snap_gen;
    uint8_t *scratch; /* one frame: SPOP_FRAME_LEN_SIZE + max_frame_size */
    size_t scratch_cap;
    struct spoe_reply reply;       /* for the decision being made */
    ev_tstamp last_warn;           /* rate limit of repeated warnings */
    _Alignas(64) atomic_uint load; /* connections given to this worker, not closed yet */
    _Alignas(64) struct spoe_counters ctr;
};

struct spoe_server {
    struct spoe_server_config cfg;
    int listen_fd;
    bool is_unix;
    char unix_path[108];
    int port;
    struct spoe_worker **workers;
    unsigned nworkers;
    pthread_mutex_t snap_lock;
    struct spoe_snap *snap;
    atomic_uint_fast64_t snap_gen;
    atomic_bool stopping;
    atomic_uint open_conns;
};

/* The worker's snapshot, refreshed if a newer one was published. */
struct spoe_snap *spoe_worker_snapshot(struct spoe_worker *w);

/* ---- connections (spoe_conn.c) --------------------------------------------- */

/* Takes an accepted socket, already counted in w->load and the server's
 * open_conns (both given back when it closes, or here on failure). */
void spoe_conn_accept(struct spoe_worker *w, int fd);

/* A completed deferred decision, on the worker thread: ACK it (if its
 * connection is still there) and free it. */
void spoe_conn_deferred_done(struct spoe_worker *w, struct spoe_async *a);

/* Starts the end of every connection of w: AGENT-DISCONNECT status 0. */
void spoe_conn_stop_all(struct spoe_worker *w);

/* Closes at once, no frame sent. */
void spoe_conn_destroy(struct spoe_conn *c);

/* Links a new deferred decision to the connection of the reply being made. */
void spoe_conn_add_deferred(struct spoe_conn *c, struct spoe_async *a);

struct spoe_worker *spoe_conn_worker(const struct spoe_conn *c);

#endif
