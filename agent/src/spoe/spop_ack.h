/*
 * spop_ack.h - ACK frames (SPOE.txt 3.2.7, 3.4): the agent's answer to a
 * NOTIFY, same stream and frame ids, carrying a LIST-OF-ACTIONS:
 *
 *   set-var   <1> <NB-ARGS=3> <SCOPE:1 byte> <NAME:LENGTH+BYTES> <TYPED-DATA>
 *   unset-var <2> <NB-ARGS=2> <SCOPE:1 byte> <NAME:LENGTH+BYTES>
 *
 * Encode with spop_ack_begin(), any number of spop_ack_set_var() /
 * spop_ack_unset_var(), then spop_ack_end(); size the writer
 * SPOP_FRAME_LEN_SIZE + negotiated max-frame-size. The decoder is for test
 * clients playing HAProxy.
 */
#ifndef SPOKE_SPOP_ACK_H
#define SPOKE_SPOP_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_data.h"
#include "spoe/spop_frame.h"
#include "spoe/spop_status.h"

enum spop_action_type {
    SPOP_ACTION_SET_VAR = 1,
    SPOP_ACTION_UNSET_VAR = 2,
};

enum spop_scope {
    SPOP_SCOPE_PROCESS = 0,
    SPOP_SCOPE_SESSION = 1,
    SPOP_SCOPE_TRANSACTION = 2,
    SPOP_SCOPE_REQUEST = 3,
    SPOP_SCOPE_RESPONSE = 4,
};

/* HAProxy's names for the scopes: "proc", "sess", "txn", "req", "res";
 * "unknown" otherwise. */
const char *spop_scope_name(unsigned scope);

/* Starts an ACK for (stream_id, frame_id); returns the mark for spop_ack_end(). */
size_t spop_ack_begin(struct spop_writer *w, uint64_t stream_id, uint64_t frame_id);

void spop_ack_set_var(struct spop_writer *w, enum spop_scope scope, const char *name,
                      const struct spop_value *v);
void spop_ack_set_var_n(struct spop_writer *w, enum spop_scope scope, const void *name,
                        size_t name_len, const struct spop_value *v);
void spop_ack_unset_var(struct spop_writer *w, enum spop_scope scope, const char *name);

/* Finishes the ACK; SPOP_STATUS_TOO_BIG when it did not fit. */
enum spop_status spop_ack_end(struct spop_writer *w, size_t mark);

/* A whole ACK frame with FIN|ABORT and no actions: the agent gives up on a
 * fragmented NOTIFY (SPOE.txt 3.2.3, "Aborted fragmentation"). */
enum spop_status spop_ack_abort_encode(struct spop_writer *w, uint64_t stream_id,
                                       uint64_t frame_id);

struct spop_action {
    enum spop_action_type type;
    enum spop_scope scope;
    const uint8_t *name;
    size_t name_len;
    struct spop_value value; /* SPOP_TYPE_NULL for unset-var */
};

struct spop_action_iter {
    struct spop_reader r;
    enum spop_status status;
};

/* Checks an ACK frame header (type ACK, else SPOP_STATUS_INVALID; FIN set,
 * else SPOP_STATUS_FRAG_NOT_SUPPORTED) and prepares iteration of its actions. */
enum spop_status spop_ack_decode(const struct spop_frame *f, struct spop_action_iter *it);

/* The next action: true with *a set; false at the end or on error
 * (SPOP_STATUS_INVALID for an unknown action, a wrong NB-ARGS, an unknown
 * scope or a truncated argument). */
bool spop_action_next(struct spop_action_iter *it, struct spop_action *a);

#endif
