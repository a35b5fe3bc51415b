/* test_spoe_fragment.c - reassembly of fragmented NOTIFY payloads: the happy
 * path, HAProxy's ABORT, the agent giving up, and the status of every misuse
 * (fragmentation not announced, interlaced frames, unknown frame-id, too big). */
#include <stdint.h>

#include "spoe/spop_codec.h"
#include "test.h"

static struct spop_frame frag(uint8_t type, uint32_t flags, uint64_t sid, uint64_t fid,
                              const char *payload)
{
    struct spop_frame f = {.type = type,
                           .flags = flags,
                           .stream_id = sid,
                           .frame_id = fid,
                           .payload = (const uint8_t *)payload,
                           .payload_len = strlen(payload)};
    return f;
}

static enum spop_status feed(struct spop_reasm *r, struct spop_frame in, struct spop_frame *out,
                             enum spop_reasm_event *ev)
{
    return spop_reasm_feed(r, &in, out, ev);
}

static void test_unfragmented_pass_through(void)
{
    uint8_t storage[64];
    struct spop_reasm r;
    struct spop_frame in = frag(SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 1, 2, "abc"), out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    CHECK_INT_EQ(spop_reasm_feed(&r, &in, &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
    CHECK(out.payload == in.payload); /* no copy */
    in = frag(SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, 0, "kv");
    CHECK_INT_EQ(spop_reasm_feed(&r, &in, &out, &ev), SPOP_STATUS_NORMAL);
    CHECK(ev == SPOP_REASM_FRAME && out.type == SPOP_FRAME_HAPROXY_HELLO);
    /* without storage (fragmentation not announced) unfragmented frames still pass */
    spop_reasm_init(&r, NULL, 0);
    in = frag(SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN | SPOP_FLAG_ABORT, 1, 2, "abc");
    CHECK_INT_EQ(spop_reasm_feed(&r, &in, &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME); /* ABORT on an unfragmented payload is ignored */
}

static void test_three_fragments(void)
{
    uint8_t storage[64];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 9, 4, "hel"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_PENDING);
    /* a DISCONNECT in between passes through and leaves the payload alone */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, 0, ""), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK(ev == SPOP_REASM_FRAME && out.type == SPOP_FRAME_HAPROXY_DISCONNECT);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, 0, 9, 4, "lo, "), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_PENDING);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 9, 4, "world"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
    CHECK(out.type == SPOP_FRAME_NOTIFY && out.flags == SPOP_FLAG_FIN);
    CHECK(out.stream_id == 9 && out.frame_id == 4);
    CHECK(out.payload == storage && out.payload_len == 12);
    CHECK(memcmp(out.payload, "hello, world", 12) == 0);
    /* the next payload starts afresh */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 9, 5, "x"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 9, 5, "y"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK(ev == SPOP_REASM_FRAME && out.payload_len == 2 && memcmp(out.payload, "xy", 2) == 0);
}

static void test_haproxy_abort(void)
{
    uint8_t storage[64];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "abc"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(
        feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN | SPOP_FLAG_ABORT, 1, 1, ""), &out, &ev),
        SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_ABORTED);
    CHECK(out.stream_id == 1 && out.frame_id == 1 && (out.flags & SPOP_FLAG_ABORT));
    /* nothing is pending any more */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 1, 1, "d"), &out, &ev),
                 SPOP_STATUS_FRAME_ID_NOT_FOUND);
}

static void test_agent_gives_up(void)
{
    uint8_t storage[64];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 3, 3, "abc"), &out, &ev), SPOP_STATUS_NORMAL);
    spop_reasm_abort(&r); /* and the agent sends ACK/ABORT */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, 0, 3, 3, "in flight"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_DROPPED);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 3, 3, "last"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_DROPPED);
    /* after the last fragment, the ids are forgotten */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 3, 3, "again"), &out, &ev),
                 SPOP_STATUS_FRAME_ID_NOT_FOUND);
    spop_reasm_abort(&r); /* nothing in progress: no effect */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 3, 4, "ok"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
}

static void test_not_supported(void)
{
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, NULL, 100); /* no storage, whatever the size says */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "abc"), &out, &ev),
                 SPOP_STATUS_FRAG_NOT_SUPPORTED);
    uint8_t storage[8];
    spop_reasm_init(&r, storage, 0);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, ""), &out, &ev),
                 SPOP_STATUS_FRAG_NOT_SUPPORTED);
}

static void test_interlaced(void)
{
    uint8_t storage[64];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    /* a fragment of another frame */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "a"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, 0, 1, 2, "b"), &out, &ev),
                 SPOP_STATUS_INTERLACED_FRAMES);
    /* another stream */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "a"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 2, 1, "b"), &out, &ev),
                 SPOP_STATUS_INTERLACED_FRAMES);
    /* a new NOTIFY, even complete, while one is pending */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "a"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 5, 5, "b"), &out, &ev),
                 SPOP_STATUS_INTERLACED_FRAMES);
    /* an UNSET frame with nothing pending */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 1, 1, "b"), &out, &ev),
                 SPOP_STATUS_FRAME_ID_NOT_FOUND);
}

static void test_bounded_size(void)
{
    uint8_t storage[8];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev;
    spop_reasm_init(&r, storage, sizeof(storage));
    /* exactly the storage size fits */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, "1234"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 1, 1, "5678"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK(ev == SPOP_REASM_FRAME && out.payload_len == 8);
    /* one byte more is too big; the ids come back for an ACK/ABORT */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 6, 7, "1234"), &out, &ev), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, 0, 6, 7, "56789"), &out, &ev),
                 SPOP_STATUS_TOO_BIG);
    CHECK(out.stream_id == 6 && out.frame_id == 7);
    /* the rest of that payload is dropped, then life goes on */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 6, 7, "x"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_DROPPED);
    /* a first fragment already too big */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 8, 8, "123456789"), &out, &ev),
                 SPOP_STATUS_TOO_BIG);
    CHECK(out.stream_id == 8 && out.frame_id == 8);
    /* a new NOTIFY ends the dropping of the old one */
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 8, 9, "ok"), &out, &ev),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, SPOP_FLAG_FIN, 8, 8, "late"), &out, &ev),
                 SPOP_STATUS_FRAME_ID_NOT_FOUND);
}

static void test_many_small_fragments(void)
{
    static uint8_t storage[SPOP_DEFAULT_MAX_FRAME_SIZE * 4];
    struct spop_reasm r;
    struct spop_frame out;
    enum spop_reasm_event ev = SPOP_REASM_PENDING;
    spop_reasm_init(&r, storage, sizeof(storage));
    CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_NOTIFY, 0, 1, 1, ""), &out, &ev), SPOP_STATUS_NORMAL);
    size_t total = 0;
    for (int i = 0; i < 10000 && ev == SPOP_REASM_PENDING; i++) {
        uint32_t flags = i == 9999 ? SPOP_FLAG_FIN : 0;
        CHECK_INT_EQ(feed(&r, frag(SPOP_FRAME_UNSET, flags, 1, 1, "abcdef"), &out, &ev),
                     SPOP_STATUS_NORMAL);
        total += 6;
    }
    CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
    CHECK_INT_EQ(out.payload_len, total);
    CHECK_INT_EQ(total, 60000);
}

TEST_MAIN(TEST_CASE(test_unfragmented_pass_through), TEST_CASE(test_three_fragments),
          TEST_CASE(test_haproxy_abort), TEST_CASE(test_agent_gives_up),
          TEST_CASE(test_not_supported), TEST_CASE(test_interlaced), TEST_CASE(test_bounded_size),
          TEST_CASE(test_many_small_fragments))
