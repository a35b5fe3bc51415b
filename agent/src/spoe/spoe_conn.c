/*
 * spoe_conn.c - one HAProxy connection of the SPOE server, on its worker's
 * loop: read buffer, frame decoding, HELLO, NOTIFY -> decision -> ACK,
 * DISCONNECT, output buffer, idle and close timers (HAProxy's doc/SPOE.txt,
 * sections cited below).
 *
 * States:
 *   HELLO    waiting for HAPROXY-HELLO (3.2.4)
 *   READY    NOTIFY frames, answered in any order (3.2.1: pipelining, async)
 *   CLOSING  a last frame (AGENT-DISCONNECT or, for a health check,
 *            AGENT-HELLO) is being flushed; input is discarded
 *   LINGER   flushed and write side shut; input is discarded until the peer
 *            closes, so that closing with unread input does not reset the
 *            connection and destroy the last frame before HAProxy reads it
 * CLOSING and LINGER end at close_timeout at the latest.
 *
 * Functions return -1 when the connection must be destroyed (socket error,
 * peer gone, slow reader); only the libev callbacks destroy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spoe/spoe_internal.h"
#include "util/log.h"

#define COMPONENT "spoe"

enum conn_state { CONN_HELLO, CONN_READY, CONN_CLOSING, CONN_LINGER };

struct spoe_conn {
    struct spoe_worker *w;
    struct spoe_conn *prev, *next; /* the worker's connections */
    int fd;
    ev_io rio, wio;
    ev_timer timer; /* idle timeout, or close deadline */
    enum conn_state state;
    bool paused; /* max_pending deferred decisions: input waits */
    uint32_t max_frame;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *obuf;
    size_t opos, olen, ocap;
    struct spop_reasm reasm;
    uint8_t *reasm_buf;
    struct spoe_async *pending; /* deferred decisions not completed */
    unsigned npending;
    ev_tstamp last_rx, deadline;
};

static int conn_process(struct spoe_conn *c);

static const struct spoe_server_config *cfg_of(const struct spoe_conn *c)
{
    return &c->w->srv->cfg;
}

struct spoe_worker *spoe_conn_worker(const struct spoe_conn *c)
{
    return c->w;
}

/* ---- output ------------------------------------------------------------- */

/* Writes what it can; the rest waits for the write watcher. At the end of
 * CLOSING, shuts the write side down and lingers. */
static int conn_flush(struct spoe_conn *c)
{
    while (c->opos < c->olen) {
        ssize_t n = send(c->fd, c->obuf + c->opos, c->olen - c->opos, MSG_NOSIGNAL);
        if (n > 0) {
            c->opos += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->w->loop, &c->wio);
            return 0;
        } else {
            return -1;
        }
    }
    c->opos = c->olen = 0;
    ev_io_stop(c->w->loop, &c->wio);
    if (c->state == CONN_CLOSING) {
        shutdown(c->fd, SHUT_WR);
        c->state = CONN_LINGER;
        ev_io_start(c->w->loop, &c->rio);
    }
    return 0;
}

/* Queues one whole frame. A peer that lets more than max_output pile up is
 * a slow reader: -1. */
static int conn_queue(struct spoe_conn *c, const uint8_t *frame, size_t len)
{
    size_t max = cfg_of(c)->max_output;
    if (c->olen - c->opos + len > max) {
        if (conn_flush(c) < 0)
            return -1;
        if (c->olen - c->opos + len > max) {
            spoe_ctr_add(&c->w->ctr.slow_readers, 1);
            spoe_ctr_add(&c->w->ctr.errors, 1);
            log_warn(COMPONENT,
                     "disconnecting a peer that does not read its answers (%zu bytes "
                     "queued)",
                     c->olen - c->opos);
            return -1;
        }
    }
    if (c->opos > 0 && c->olen + len > c->ocap) {
        memmove(c->obuf, c->obuf + c->opos, c->olen - c->opos);
        c->olen -= c->opos;
        c->opos = 0;
    }
    if (c->olen + len > c->ocap) {
        size_t cap = c->ocap ? c->ocap : 4096;
        while (cap < c->olen + len)
            cap *= 2;
        uint8_t *b = realloc(c->obuf, cap);
        if (!b)
            return -1;
        c->obuf = b;
        c->ocap = cap;
    }
    memcpy(c->obuf + c->olen, frame, len);
    c->olen += len;
    spoe_ctr_add(&c->w->ctr.frames_out, 1);
    return 0;
}

static void scratch_writer(struct spoe_conn *c, struct spop_writer *w)
{
    /* Frames we send never exceed the negotiated size (SPOE.txt 3.2.5). */
    spop_writer_init(w, c->w->scratch, SPOP_FRAME_LEN_SIZE + (size_t)c->max_frame);
}

/* The end of the connection: the last frame, if any, then close (3.2.9:
 * "The agent must close the socket just after sending this frame"). */
static int conn_finish(struct spoe_conn *c, const uint8_t *frame, size_t len)
{
    if (c->state >= CONN_CLOSING)
        return 0;
    c->state = CONN_CLOSING;
    c->paused = false;
    c->rlen = 0;
    if (c->reasm_buf)
        spop_reasm_abort(&c->reasm);
    c->deadline = ev_now(c->w->loop) + cfg_of(c)->close_timeout;
    ev_timer_stop(c->w->loop, &c->timer);
    ev_timer_set(&c->timer, cfg_of(c)->close_timeout, 0.);
    ev_timer_start(c->w->loop, &c->timer);
    ev_io_start(c->w->loop, &c->rio); /* to see the peer close */
    if (frame && conn_queue(c, frame, len) < 0)
        return -1;
    return conn_flush(c);
}

/* AGENT-DISCONNECT with status (3.2.9, codes of 3.5), then close. */
static int conn_disconnect(struct spoe_conn *c, enum spop_status status)
{
    if (c->state >= CONN_CLOSING)
        return 0;
    if (status != SPOP_STATUS_NORMAL && status != SPOP_STATUS_TIMEOUT) {
        spoe_ctr_add(&c->w->ctr.errors, 1);
        log_warn(COMPONENT, "closing an HAProxy connection: %s (status %d)",
                 spop_status_message(status), (int)status);
    }
    struct spop_writer w;
    scratch_writer(c, &w);
    if (spop_disconnect_encode(&w, SPOP_FRAME_AGENT_DISCONNECT, status, NULL) != SPOP_STATUS_NORMAL)
        return -1;
    return conn_finish(c, w.buf, w.len);
}

/* ---- decisions ---------------------------------------------------------- */

static int conn_ack(struct spoe_conn *c, const struct spoe_reply *r, uint64_t sid, uint64_t fid,
                    uint64_t started_ns)
{
    struct spop_writer w;
    bool spoiled;
    scratch_writer(c, &w);
    if (spoe_reply_encode_ack(r, sid, fid, &w, &spoiled) != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, SPOP_STATUS_RESOURCE); /* cannot happen: 256 bytes suffice */
    if (spoiled) {
        spoe_ctr_add(&c->w->ctr.errors, 1);
        ev_tstamp now = ev_now(c->w->loop);
        if (now - c->w->last_warn >= 1.0) { /* a decider's bug: once a second is enough */
            c->w->last_warn = now;
            log_warn(COMPONENT, "a decision did not fit its bounds; answered without variables");
        }
    }
    spoe_ctr_add(&c->w->ctr.decisions, 1);
    uint64_t took = spoe_now_ns() - started_ns;
    spoe_ctr_add(&c->w->ctr.decision_ns, took);
    int b = 0;
    while (b < SPOE_LATENCY_BUCKETS && (double)took / 1e9 > spoe_latency_bounds[b])
        b++;
    spoe_ctr_add(&c->w->ctr.decision_buckets[b], 1);
    return conn_queue(c, w.buf, w.len);
}

static void conn_pause_if_full(struct spoe_conn *c)
{
    if (c->npending >= cfg_of(c)->max_pending && !c->paused) {
        c->paused = true;
        ev_io_stop(c->w->loop, &c->rio);
    }
}

void spoe_conn_add_deferred(struct spoe_conn *c, struct spoe_async *a)
{
    a->conn = c;
    a->cprev = NULL;
    a->cnext = c->pending;
    if (c->pending)
        c->pending->cprev = a;
    c->pending = a;
    c->npending++;
    spoe_ctr_add(&c->w->ctr.pending, 1);
}

static void conn_unlink_deferred(struct spoe_conn *c, struct spoe_async *a)
{
    if (a->cprev)
        a->cprev->cnext = a->cnext;
    else
        c->pending = a->cnext;
    if (a->cnext)
        a->cnext->cprev = a->cprev;
    a->cprev = a->cnext = NULL;
    a->conn = NULL;
    c->npending--;
    spoe_ctr_sub(&c->w->ctr.pending, 1);
}

/* NOTIFY (3.2.6): one decision per frame, answered by an ACK (3.2.7) now or,
 * when deferred, later. */
static int conn_notify(struct spoe_conn *c, const struct spop_frame *f)
{
    struct spop_notify n;
    enum spop_status st = spop_notify_decode(f, &n);
    if (st != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, st);
    struct spoe_worker *w = c->w;
    spoe_ctr_add(&w->ctr.notify, 1);
    struct spoe_reply *r = &w->reply;
    spoe_reply_reset(r);
    r->started_ns = spoe_now_ns();
    struct spoe_request req;
    if (spoe_request_init(&req, &n)) {
        struct spoe_snap *snap = spoe_worker_snapshot(w);
        r->conn = c;
        r->stream_id = n.stream_id;
        r->frame_id = n.frame_id;
        cfg_of(c)->decide(snap ? snap->ptr : NULL, &req, r);
        r->conn = NULL;
        if (r->deferred) {
            conn_pause_if_full(c);
            return 0;
        }
    }
    return conn_ack(c, r, n.stream_id, n.frame_id, r->started_ns);
}

void spoe_conn_deferred_done(struct spoe_worker *w, struct spoe_async *a)
{
    struct spoe_conn *c = a->conn;
    if (!c) { /* its connection is gone */
        spoe_async_free(a);
        return;
    }
    conn_unlink_deferred(c, a);
    int rc = 0;
    if (c->state == CONN_READY)
        rc = conn_ack(c, &a->reply, a->stream_id, a->frame_id, a->started_ns);
    spoe_async_free(a);
    if (rc == 0 && c->paused && c->npending < cfg_of(c)->max_pending) {
        c->paused = false;
        ev_io_start(w->loop, &c->rio);
        rc = conn_process(c);
    }
    if (rc == 0)
        rc = conn_flush(c);
    if (rc < 0)
        spoe_conn_destroy(c);
}

/* ---- frames ------------------------------------------------------------- */

/* HAPROXY-HELLO (3.2.4) -> AGENT-HELLO (3.2.5); a health check is answered
 * and closed without DISCONNECT ("the agent can safely close"). */
static int conn_hello(struct spoe_conn *c, const struct spop_frame *f)
{
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    enum spop_status st = spop_haproxy_hello_decode(f, &h);
    if (st != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, st);
    struct spop_agent_limits ours = {
        .max_frame_size = cfg_of(c)->max_frame_size,
        .capabilities = SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC |
                        (cfg_of(c)->max_payload > 0 ? SPOP_CAP_FRAGMENTATION : 0),
    };
    st = spop_hello_negotiate(&h, &ours, &a);
    if (st != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, st);
    c->max_frame = a.max_frame_size;
    struct spop_writer w;
    scratch_writer(c, &w);
    if (spop_agent_hello_encode(&w, &a) != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, SPOP_STATUS_RESOURCE);
    if (h.healthcheck)
        return conn_finish(c, w.buf, w.len);
    c->state = CONN_READY;
    return conn_queue(c, w.buf, w.len);
}

/* NOTIFY and its fragments (3.2: UNSET frames with the same ids). */
static int conn_payload(struct spoe_conn *c, const struct spop_frame *f)
{
    if (!c->reasm_buf && cfg_of(c)->max_payload > 0 && f->type == SPOP_FRAME_NOTIFY &&
        !(f->flags & SPOP_FLAG_FIN)) {
        /* The first fragmented payload of this connection: storage now. */
        c->reasm_buf = malloc(cfg_of(c)->max_payload);
        if (!c->reasm_buf)
            return conn_disconnect(c, SPOP_STATUS_RESOURCE);
        spop_reasm_init(&c->reasm, c->reasm_buf, cfg_of(c)->max_payload);
    }
    struct spop_frame g;
    enum spop_reasm_event ev;
    enum spop_status st = spop_reasm_feed(&c->reasm, f, &g, &ev);
    if (st == SPOP_STATUS_TOO_BIG) {
        /* Give up on this payload only (3.2.3, "Aborted fragmentation"). */
        spoe_ctr_add(&c->w->ctr.errors, 1);
        log_warn(COMPONENT, "fragmented NOTIFY above %zu bytes: aborted", cfg_of(c)->max_payload);
        struct spop_writer w;
        scratch_writer(c, &w);
        if (spop_ack_abort_encode(&w, g.stream_id, g.frame_id) != SPOP_STATUS_NORMAL)
            return -1;
        return conn_queue(c, w.buf, w.len);
    }
    if (st != SPOP_STATUS_NORMAL)
        return conn_disconnect(c, st);
    return ev == SPOP_REASM_FRAME ? conn_notify(c, &g) : 0;
}

static int conn_frame(struct spoe_conn *c, const struct spop_frame *f)
{
    if (f->type == SPOP_FRAME_HAPROXY_DISCONNECT) {
        /* 3.2.8: answer with AGENT-DISCONNECT, then close. */
        struct spop_disconnect d;
        enum spop_status st = spop_disconnect_decode(f, &d);
        if (st != SPOP_STATUS_NORMAL)
            return conn_disconnect(c, st);
        if (d.status_code != SPOP_STATUS_NORMAL)
            log_debug(COMPONENT, "HAProxy disconnects: %.*s (status %u)", (int)d.message_len,
                      (const char *)d.message, d.status_code);
        return conn_disconnect(c, SPOP_STATUS_NORMAL);
    }
    if (c->state == CONN_HELLO)
        return f->type == SPOP_FRAME_HAPROXY_HELLO ? conn_hello(c, f)
                                                   : conn_disconnect(c, SPOP_STATUS_INVALID);
    switch (f->type) {
    case SPOP_FRAME_NOTIFY:
    case SPOP_FRAME_UNSET:
        return conn_payload(c, f);
    case SPOP_FRAME_HAPROXY_HELLO:
    case SPOP_FRAME_AGENT_HELLO:
    case SPOP_FRAME_AGENT_DISCONNECT:
    case SPOP_FRAME_ACK:
        return conn_disconnect(c, SPOP_STATUS_INVALID);
    default:
        return 0; /* 3.2.2: "Unknown frames may be silently skipped" */
    }
}

/* Handles every complete frame in the read buffer, unless paused. */
static int conn_process(struct spoe_conn *c)
{
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && c->state <= CONN_READY && !c->paused) {
        size_t need;
        enum spop_status st = spop_frame_peek(c->rbuf + off, c->rlen - off, c->max_frame, &need);
        if (st != SPOP_STATUS_NORMAL) {
            rc = conn_disconnect(c, st);
            break;
        }
        if (c->rlen - off < need)
            break;
        struct spop_frame f;
        st = spop_frame_decode(c->rbuf + off + SPOP_FRAME_LEN_SIZE, need - SPOP_FRAME_LEN_SIZE, &f);
        off += need;
        spoe_ctr_add(&c->w->ctr.frames_in, 1);
        rc = st != SPOP_STATUS_NORMAL ? conn_disconnect(c, st) : conn_frame(c, &f);
    }
    if (c->state >= CONN_CLOSING) {
        c->rlen = 0;
    } else if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return rc;
}

/* ---- callbacks ---------------------------------------------------------- */

static void conn_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct spoe_conn *c = io->data;
    uint8_t discard[4096];
    bool draining = c->state >= CONN_CLOSING;
    uint8_t *dst = draining ? discard : c->rbuf + c->rlen;
    size_t room = draining ? sizeof(discard) : c->rcap - c->rlen;
    if (room == 0) { /* cannot happen: a whole frame always fits */
        ev_io_stop(loop, io);
        return;
    }
    ssize_t n = recv(c->fd, dst, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        /* The peer closed (or reset): nothing more can be said to it. */
        spoe_conn_destroy(c);
        return;
    }
    if (draining)
        return;
    c->rlen += (size_t)n;
    c->last_rx = ev_now(c->w->loop);
    if (conn_process(c) < 0 || conn_flush(c) < 0)
        spoe_conn_destroy(c);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct spoe_conn *c = io->data;
    if (conn_flush(c) < 0)
        spoe_conn_destroy(c);
}

/* Idle timeout (no frame for idle_timeout and no decision pending) or the
 * close deadline. The idle timer is lazy: reads only record their time. */
static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct spoe_conn *c = t->data;
    ev_tstamp now = ev_now(loop);
    if (c->state >= CONN_CLOSING) {
        if (now >= c->deadline - 1e-3) {
            spoe_conn_destroy(c);
        } else {
            ev_timer_set(t, c->deadline - now, 0.);
            ev_timer_start(loop, t);
        }
        return;
    }
    double idle = cfg_of(c)->idle_timeout;
    if (c->npending > 0)
        c->last_rx = now; /* waiting for us is not idleness */
    if (now - c->last_rx >= idle - 1e-3) {
        /* SPOE.txt 3.2.3 "Connection closed by agent": DISCONNECT + close();
         * status 2, "a timeout occurred" (3.5). HAProxy's own "timeout idle"
         * should be shorter, so it normally closes first. */
        spoe_ctr_add(&c->w->ctr.idle_timeouts, 1);
        log_debug(COMPONENT, "idle HAProxy connection closed after %.1f s", idle);
        if (conn_disconnect(c, SPOP_STATUS_TIMEOUT) < 0)
            spoe_conn_destroy(c);
        return;
    }
    ev_timer_set(t, idle - (now - c->last_rx), 0.);
    ev_timer_start(loop, t);
}

/* ---- life ---------------------------------------------------------------- */

void spoe_conn_accept(struct spoe_worker *w, int fd)
{
    const struct spoe_server_config *cfg = &w->srv->cfg;
    struct spoe_conn *c = calloc(1, sizeof(*c));
    if (c)
        c->rbuf = malloc(SPOP_FRAME_LEN_SIZE + (size_t)cfg->max_frame_size);
    if (!c || !c->rbuf) {
        free(c);
        close(fd);
        atomic_fetch_sub(&w->srv->open_conns, 1);
        atomic_fetch_sub(&w->load, 1);
        spoe_ctr_add(&w->ctr.errors, 1);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->state = CONN_HELLO;
    c->rcap = SPOP_FRAME_LEN_SIZE + (size_t)cfg->max_frame_size;
    c->max_frame = cfg->max_frame_size;
    spop_reasm_init(&c->reasm, NULL, 0);
    c->last_rx = ev_now(w->loop);
    ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
    ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
    ev_timer_init(&c->timer, conn_timer_cb, cfg->idle_timeout, 0.);
    c->rio.data = c->wio.data = c->timer.data = c;
    ev_io_start(w->loop, &c->rio);
    ev_timer_start(w->loop, &c->timer);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    spoe_ctr_add(&w->ctr.connections, 1);
    spoe_ctr_add(&w->ctr.connections_open, 1);
    if (w->stopping && conn_disconnect(c, SPOP_STATUS_NORMAL) < 0)
        spoe_conn_destroy(c);
}

void spoe_conn_destroy(struct spoe_conn *c)
{
    struct spoe_worker *w = c->w;
    ev_io_stop(w->loop, &c->rio);
    ev_io_stop(w->loop, &c->wio);
    ev_timer_stop(w->loop, &c->timer);
    close(c->fd);
    /* Deferred decisions still out complete into nothing. */
    while (c->pending)
        conn_unlink_deferred(c, c->pending);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    spoe_ctr_sub(&w->ctr.connections_open, 1);
    atomic_fetch_sub(&w->srv->open_conns, 1);
    atomic_fetch_sub(&w->load, 1);
    free(c->rbuf);
    free(c->obuf);
    free(c->reasm_buf);
    free(c);
    if (w->stopping && w->nconns == 0)
        ev_break(w->loop, EVBREAK_ALL);
}

void spoe_conn_stop_all(struct spoe_worker *w)
{
    struct spoe_conn *c = w->conns;
    while (c) {
        struct spoe_conn *next = c->next;
        if (conn_disconnect(c, SPOP_STATUS_NORMAL) < 0)
            spoe_conn_destroy(c);
        c = next;
    }
}
