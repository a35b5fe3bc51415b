/*
 * spoe_decide.h - the interface between the SPOE server and the code that
 * decides (canary, auth, ...): a decision function reads one NOTIFY frame
 * through a spoe_request and answers with set-var / unset-var actions in a
 * spoe_reply, now or later.
 *
 *   static void decide(void *snapshot, const struct spoe_request *req,
 *                      struct spoe_reply *reply)
 *   {
 *       const char *path;
 *       size_t len;
 *       if (!spoe_request_is(req, "spoke-request") ||
 *           !spoe_request_arg_str(req, "path", &path, &len))
 *           return;                                   // empty ACK: vars absent
 *       spoe_reply_set_str(reply, SPOP_SCOPE_TRANSACTION, "verdict", "allow");
 *   }
 *
 * The function runs on the server's worker threads, several at once: it must
 * be thread-safe and must not block (defer instead, see below).
 *
 * Everything a request points to lives in the connection's receive buffer:
 * it is valid only during the call. The snapshot is the immutable object last
 * published with spoe_server_publish() (NULL before the first one); it stays
 * valid during the call, and for a deferred decision until it is completed.
 *
 * Asynchronous decisions (an HTTP call for external auth): inside the call,
 * spoe_reply_defer() turns the reply into a handle; copy what you need from
 * the request, return, and later, from any thread, fill
 * spoe_async_reply(handle) and call spoe_async_complete(handle) exactly once.
 * The ACK is sent then, on the connection the NOTIFY came from (ACKs may go
 * out in any order: the server negotiates pipelining and async). A handle
 * whose connection closed, or whose server stopped, is simply freed by
 * spoe_async_complete().
 *
 * Replies are bounded (SPOE_REPLY_MAX_VARS actions, SPOE_REPLY_MAX_BYTES of
 * names and values). A setter that does not fit, or gets an invalid name,
 * returns false and spoils the whole reply: it is answered with an ACK without
 * actions, so HAProxy sees none of the variables and a route that needs them
 * fails closed.
 */
#ifndef SPOKE_SPOE_DECIDE_H
#define SPOKE_SPOE_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_ack.h"
#include "spoe/spop_data.h"
#include "spoe/spop_notify.h"

#define SPOE_REPLY_MAX_VARS  32
#define SPOE_REPLY_MAX_BYTES 8192 /* variable names + string/binary values */
#define SPOE_VAR_NAME_MAX    64   /* HAProxy names: [A-Za-z0-9._], 1..64 here */

/* One message of a NOTIFY frame. The fields are read-only for deciders. */
struct spoe_request {
    const uint8_t *name; /* the message name, not NUL-terminated */
    size_t name_len;
    uint64_t stream_id, frame_id;
    unsigned index; /* this message's position in the frame */
    unsigned count; /* messages in the frame (>= 1) */
    struct spop_notify notify;
    struct spop_message msg;
};

struct spoe_reply;
struct spoe_async;

typedef void (*spoe_decide_fn)(void *snapshot, const struct spoe_request *req,
                               struct spoe_reply *reply);

/* ---- the request: the first message of the frame ------------------------ */

/* True when this message is named `name`. */
bool spoe_request_is(const struct spoe_request *req, const char *name);

/* Another message of the same frame, by name (the first so named) or by
 * position, into *out. False when there is none. */
bool spoe_request_select(const struct spoe_request *req, const char *name,
                         struct spoe_request *out);
bool spoe_request_at(const struct spoe_request *req, unsigned index, struct spoe_request *out);

/* The first argument named `name`, any type (SPOP_TYPE_NULL when HAProxy had
 * no value for its sample). False when there is no such argument. */
bool spoe_request_arg(const struct spoe_request *req, const char *name, struct spop_value *out);

/* Typed lookups: false when the argument is absent or of another type. */
/* STRING; *s is not NUL-terminated and may contain any byte. */
bool spoe_request_arg_str(const struct spoe_request *req, const char *name, const char **s,
                          size_t *len);
/* BINARY or STRING. */
bool spoe_request_arg_bin(const struct spoe_request *req, const char *name, const uint8_t **p,
                          size_t *len);
/* Any integer type whose value fits an int64_t. */
bool spoe_request_arg_int(const struct spoe_request *req, const char *name, int64_t *out);
/* IPV4 (*family = AF_INET, 4 bytes) or IPV6 (AF_INET6, 16 bytes), network order. */
bool spoe_request_arg_ip(const struct spoe_request *req, const char *name, int *family,
                         uint8_t addr[16]);

/* ---- the reply ------------------------------------------------------------ */

/* set-var of scope.name (the name without HAProxy's var-prefix). The value's
 * bytes are copied. */
bool spoe_reply_set(struct spoe_reply *r, enum spop_scope scope, const char *name,
                    const struct spop_value *v);
bool spoe_reply_set_str(struct spoe_reply *r, enum spop_scope scope, const char *name,
                        const char *s);
bool spoe_reply_set_strn(struct spoe_reply *r, enum spop_scope scope, const char *name,
                         const void *s, size_t len);
bool spoe_reply_set_bin(struct spoe_reply *r, enum spop_scope scope, const char *name,
                        const void *p, size_t len);
bool spoe_reply_set_int(struct spoe_reply *r, enum spop_scope scope, const char *name, int64_t i);
bool spoe_reply_set_bool(struct spoe_reply *r, enum spop_scope scope, const char *name, bool b);
/* family AF_INET (4 bytes) or AF_INET6 (16 bytes). */
bool spoe_reply_set_ip(struct spoe_reply *r, enum spop_scope scope, const char *name, int family,
                       const uint8_t *addr);
/* unset-var of scope.name. */
bool spoe_reply_unset(struct spoe_reply *r, enum spop_scope scope, const char *name);

/* Number of actions so far; true once a setter has failed. */
unsigned spoe_reply_count(const struct spoe_reply *r);
bool spoe_reply_failed(const struct spoe_reply *r);

/* ---- deferred decisions -------------------------------------------------- */

/* Inside the decision call only: the ACK will be sent when the returned
 * handle is completed; actions already set are kept. NULL (answer now) when
 * the reply was already deferred, is itself a deferred reply, or memory ran
 * out. The reply must not be used after this. */
struct spoe_async *spoe_reply_defer(struct spoe_reply *r);

/* The reply to fill before completing (one thread at a time). */
struct spoe_reply *spoe_async_reply(struct spoe_async *a);

/* The snapshot the decision started with, held until completion. */
void *spoe_async_snapshot(const struct spoe_async *a);

/* Sends the ACK (from any thread) and releases the handle: exactly once. */
void spoe_async_complete(struct spoe_async *a);

#endif
