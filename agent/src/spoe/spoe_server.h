/*
 * spoe_server.h - the SPOE agent server: HAProxy connects to it and asks,
 * in NOTIFY frames, what to do with a request; a decision function
 * (spoe_decide.h) answers with variables sent back in ACK frames.
 *
 *   struct spoe_server_config cfg;
 *   spoe_server_config_init(&cfg);
 *   cfg.listen = "127.0.0.1:12345";           // or "[::1]:12345", "unix@/run/spoke.sock"
 *   cfg.decide = my_decide;
 *   struct spoe_server *srv = spoe_server_start(&cfg, err, sizeof(err));
 *   spoe_server_publish(srv, snapshot, snapshot_free);   // whenever routes change
 *   ...
 *   spoe_server_stop(srv);                     // AGENT-DISCONNECT to all, join, free
 *
 * N worker threads each run their own libev loop and own their connections
 * (accepted from one shared listening socket). The protocol follows
 * HAProxy's doc/SPOE.txt: HELLO negotiation (version 2.0, max-frame-size,
 * capabilities pipelining + async, fragmentation when enabled), health-check
 * HELLOs answered then closed, NOTIFY -> decide -> ACK in any order,
 * HAPROXY-DISCONNECT answered with AGENT-DISCONNECT, protocol errors answered
 * with AGENT-DISCONNECT carrying the codec's status, then the socket closed.
 *
 * Snapshots: spoe_server_publish() swaps the current snapshot atomically (any
 * thread). Workers hold a reference while they decide (and deferred decisions
 * until completed); the previous snapshot's release() runs exactly once, on
 * whichever thread drops the last reference.
 */
#ifndef SPOKE_SPOE_SERVER_H
#define SPOKE_SPOE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "spoe/spoe_decide.h"

struct spoe_server_config {
    const char *listen;       /* "HOST:PORT", "[V6]:PORT" or "unix@PATH"; port 0: any */
    unsigned workers;         /* threads, default 2 */
    spoe_decide_fn decide;    /* required */
    uint32_t max_frame_size;  /* ours, default SPOP_DEFAULT_MAX_FRAME_SIZE (16380) */
    double idle_timeout;      /* seconds without a frame before AGENT-DISCONNECT; default 30 */
    double close_timeout;     /* seconds to flush a last frame and see the peer close; 2 */
    size_t max_output;        /* bytes queued for a peer that does not read; 1 MiB */
    size_t max_payload;       /* reassembled fragmented NOTIFY; 0: no fragmentation; 64 KiB */
    unsigned max_pending;     /* deferred decisions per connection before reading pauses; 256 */
    unsigned max_connections; /* open at once, all workers; 4096 */
    int backlog;              /* listen(2) backlog; 128 */
};

void spoe_server_config_init(struct spoe_server_config *cfg);

struct spoe_server;

/* Binds, starts the workers. NULL with a reason in err on failure. A unix
 * socket path left by a dead process is replaced; one in use is not. */
struct spoe_server *spoe_server_start(const struct spoe_server_config *cfg, char *err,
                                      size_t errlen);

/* The TCP port listened on (useful with port 0), or 0 for a unix socket. */
int spoe_server_port(const struct spoe_server *srv);

/* Makes snapshot the current one (NULL allowed: deciders then get NULL).
 * release (may be NULL) is called once no worker or deferred decision uses
 * it any more, possibly on another thread; so publish a new object each
 * time, never the same one twice. Any thread, but not concurrently with
 * spoe_server_stop(). */
void spoe_server_publish(struct spoe_server *srv, void *snapshot, void (*release)(void *));

/* Sends AGENT-DISCONNECT (status 0, "normal") on every connection, waits up
 * to close_timeout for the peers to close, joins the workers, closes the
 * listener (unlinking a unix socket) and frees everything, the current
 * snapshot included. Deferred decisions still out are freed when completed. */
void spoe_server_stop(struct spoe_server *srv);

/* Upper bounds (seconds) of the decision latency buckets; the last bucket
 * (index SPOE_LATENCY_BUCKETS) counts what is above them all. */
#define SPOE_LATENCY_BUCKETS 12
extern const double spoe_latency_bounds[SPOE_LATENCY_BUCKETS];

struct spoe_server_stats {
    uint64_t connections;      /* accepted since start */
    uint64_t connections_open; /* open now */
    uint64_t frames_in;        /* frames received (fragments counted one by one) */
    uint64_t frames_out;       /* frames queued for sending */
    uint64_t notify;           /* NOTIFY payloads decoded */
    uint64_t errors;           /* protocol errors, slow readers, spoiled replies, refusals */
    uint64_t slow_readers;     /* disconnected because max_output was reached */
    uint64_t idle_timeouts;    /* disconnected after idle_timeout */
    uint64_t decisions;        /* ACKs carrying a decision */
    uint64_t decision_ns;      /* sum of their latencies (NOTIFY decoded -> ACK queued) */
    uint64_t decision_buckets[SPOE_LATENCY_BUCKETS + 1]; /* decisions per latency bucket */
    uint64_t pending;                                    /* deferred decisions not completed yet */
};

unsigned spoe_server_workers(const struct spoe_server *srv);
/* Counters of all workers, or of worker i. Read while running, any thread. */
void spoe_server_stats(const struct spoe_server *srv, struct spoe_server_stats *out);
void spoe_server_worker_stats(const struct spoe_server *srv, unsigned i,
                              struct spoe_server_stats *out);

#endif
