/*
 * spop_notify.h - NOTIFY frames (SPOE.txt 3.2.6): a LIST-OF-MESSAGES, each
 *
 *   <MESSAGE-NAME:LENGTH+BYTES> <NB-ARGS:1 byte> <KV-LIST of NB-ARGS items>
 *
 * spop_notify_decode() validates the whole list once; the iterators then walk
 * it without copying (names and values point into the frame). The encoders
 * are for test clients and benchmarks playing HAProxy.
 */
#ifndef SPOKE_SPOP_NOTIFY_H
#define SPOKE_SPOP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop_buf.h"
#include "spoe/spop_data.h"
#include "spoe/spop_frame.h"
#include "spoe/spop_status.h"

struct spop_notify {
    uint64_t stream_id; /* to repeat in the ACK */
    uint64_t frame_id;
    const uint8_t *messages; /* the LIST-OF-MESSAGES */
    size_t messages_len;
    unsigned nb_messages;
};

/* Decodes and validates a NOTIFY frame (or a payload reassembled by
 * spop_reasm_feed()). SPOP_STATUS_INVALID when the type is not NOTIFY or any
 * message is malformed; SPOP_STATUS_FRAG_NOT_SUPPORTED when FIN is unset
 * (feed fragments to the reassembler first). An empty list is valid. */
enum spop_status spop_notify_decode(const struct spop_frame *f, struct spop_notify *n);

struct spop_message {
    const uint8_t *name;
    size_t name_len;
    unsigned nb_args;
    struct spop_kv_iter args; /* yields exactly nb_args items; arg names may be empty */
    const uint8_t *args_buf;  /* the arguments' bytes, to restart an iteration */
    size_t args_len;
};

struct spop_message_iter {
    struct spop_reader r;
    enum spop_status status; /* SPOP_STATUS_INVALID after a malformed message */
};

void spop_message_iter_init(struct spop_message_iter *it, const struct spop_notify *n);

/* The next message: true with *m set, false at the end or on error. */
bool spop_message_next(struct spop_message_iter *it, struct spop_message *m);

/* A fresh iterator over m's arguments (m->args may have been consumed). */
void spop_message_args(const struct spop_message *m, struct spop_kv_iter *it);

/* The first argument of m named `name`; false when there is none. */
bool spop_message_find_arg(const struct spop_message *m, const char *name, struct spop_value *out);

/* Encoding (HAProxy side): spop_frame_begin(w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN,
 * sid, fid), then per message spop_notify_add_message() followed by exactly
 * nb_args spop_kv_encode(), then spop_frame_end(). */
void spop_notify_add_message(struct spop_writer *w, const char *name, uint8_t nb_args);

#endif
