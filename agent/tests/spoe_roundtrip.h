/*
 * spoe_roundtrip.h - one NOTIFY frame through the responder's decision, as
 * the SPOE server does it: decode the frame, run policy_decide on a
 * snapshot, encode the ACK; then walk the ACK's actions.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. Failures are recorded with CHECK (test.h).
 */
#ifndef SPOKE_TEST_SPOE_ROUNDTRIP_H
#define SPOKE_TEST_SPOE_ROUNDTRIP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "spoe/policy.h"
#include "spoe/spoe_internal.h"
#include "spoe/spop_codec.h"
#include "test.h"

/* frame: a whole NOTIFY frame (length prefix included) of w_len bytes for
 * stream 7, frame 3. Returns the length of the ACK written into ack. */
static inline size_t spoe_roundtrip(void *snapshot, const uint8_t *frame, size_t w_len,
                                    uint8_t *ack, size_t ack_size)
{
    struct spop_frame f;
    struct spop_notify n;
    struct spoe_request req;
    CHECK_INT_EQ(spop_frame_decode(frame + SPOP_FRAME_LEN_SIZE, w_len - SPOP_FRAME_LEN_SIZE, &f),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_notify_decode(&f, &n), SPOP_STATUS_NORMAL);
    CHECK(spoe_request_init(&req, &n));
    struct spoe_reply *reply = calloc(1, sizeof(*reply));
    spoe_reply_reset(reply);
    policy_decide(snapshot, &req, reply);
    CHECK(!spoe_reply_failed(reply));
    struct spop_writer aw;
    bool spoiled;
    spop_writer_init(&aw, ack, ack_size);
    CHECK_INT_EQ(spoe_reply_encode_ack(reply, 7, 3, &aw, &spoiled), SPOP_STATUS_NORMAL);
    CHECK(!spoiled);
    free(reply);
    return aw.len;
}

/* The actions of the ACK spoe_roundtrip wrote (len bytes) into *it. */
static inline void spoe_ack_actions(const uint8_t *ack, size_t len, struct spop_action_iter *it)
{
    struct spop_frame af;
    CHECK_INT_EQ(spop_frame_decode(ack + SPOP_FRAME_LEN_SIZE, len - SPOP_FRAME_LEN_SIZE, &af),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_ack_decode(&af, it), SPOP_STATUS_NORMAL);
}

#endif
