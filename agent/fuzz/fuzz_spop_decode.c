/*
 * fuzz_spop_decode.c - libFuzzer target for the SPOP decoder. The input is a
 * receive buffer: frames (4-byte length prefix included) back to back, as in
 * the seed corpus agent/fuzz/corpus/fuzz_spop_decode/. Every frame goes
 * through the header decoder and the fragment reassembler, and its payload
 * through every payload decoder (HELLO both ways, DISCONNECT, NOTIFY with full
 * iteration, ACK); values and varints are checked to round-trip.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/spop_codec.h"

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Three reassemblers see the same frames: fragmentation refused, a small
 * bound (so TOO_BIG and dropping happen), and a large bound. */
static uint8_t small_storage[128];
static uint8_t large_storage[4 * SPOP_DEFAULT_MAX_FRAME_SIZE];
static uint8_t out_buf[SPOP_FRAME_LEN_SIZE + SPOP_DEFAULT_MAX_FRAME_SIZE];

static void same_value(const struct spop_value *a, const struct spop_value *b)
{
    MUST(a->type == b->type);
    switch (a->type) {
    case SPOP_TYPE_NULL:
        break;
    case SPOP_TYPE_BOOL:
        MUST(a->u.boolean == b->u.boolean);
        break;
    case SPOP_TYPE_INT32:
        MUST(a->u.int32 == b->u.int32);
        break;
    case SPOP_TYPE_UINT32:
        MUST(a->u.uint32 == b->u.uint32);
        break;
    case SPOP_TYPE_INT64:
        MUST(a->u.int64 == b->u.int64);
        break;
    case SPOP_TYPE_UINT64:
        MUST(a->u.uint64 == b->u.uint64);
        break;
    case SPOP_TYPE_IPV4:
        MUST(memcmp(a->u.ipv4, b->u.ipv4, 4) == 0);
        break;
    case SPOP_TYPE_IPV6:
        MUST(memcmp(a->u.ipv6, b->u.ipv6, 16) == 0);
        break;
    case SPOP_TYPE_STRING:
    case SPOP_TYPE_BINARY:
        MUST(a->u.bytes.len == b->u.bytes.len);
        MUST(a->u.bytes.len == 0 || memcmp(a->u.bytes.ptr, b->u.bytes.ptr, a->u.bytes.len) == 0);
        break;
    }
}

/* A decoded value re-encodes and decodes to the same value. */
static void value_roundtrip(const struct spop_value *v)
{
    struct spop_writer w;
    spop_writer_init(&w, out_buf, sizeof(out_buf));
    spop_value_encode(&w, v);
    if (!spop_writer_ok(&w))
        return; /* a string longer than out_buf */
    struct spop_reader r;
    struct spop_value back;
    spop_reader_init(&r, out_buf, w.len);
    MUST(spop_value_decode(&r, &back) == SPOP_STATUS_NORMAL);
    MUST(spop_reader_left(&r) == 0);
    same_value(v, &back);
}

static void walk_kv(struct spop_kv_iter *it)
{
    struct spop_kv kv;
    while (spop_kv_next(it, &kv)) {
        MUST(kv.name_len == 0 || kv.name != NULL);
        value_roundtrip(&kv.value);
    }
}

static void decode_payload_as_everything(const struct spop_frame *f)
{
    struct spop_frame g = *f;
    g.flags |= SPOP_FLAG_FIN;
    g.flags &= ~SPOP_FLAG_ABORT;
    g.stream_id = 0;
    g.frame_id = 0;

    struct spop_kv_iter kvi;
    spop_kv_iter_init(&kvi, g.payload, g.payload_len);
    walk_kv(&kvi);

    struct spop_haproxy_hello h;
    g.type = SPOP_FRAME_HAPROXY_HELLO;
    if (spop_haproxy_hello_decode(&g, &h) == SPOP_STATUS_NORMAL) {
        struct spop_agent_limits ours = {SPOP_DEFAULT_MAX_FRAME_SIZE, 7};
        struct spop_agent_hello a, back;
        if (spop_hello_negotiate(&h, &ours, &a) == SPOP_STATUS_NORMAL) {
            MUST(a.max_frame_size >= SPOP_MIN_FRAME_SIZE);
            MUST(a.max_frame_size <= h.max_frame_size);
            MUST((a.capabilities & ~(h.capabilities | SPOP_CAP_FRAGMENTATION)) == 0);
            struct spop_writer w;
            struct spop_frame e;
            spop_writer_init(&w, out_buf, sizeof(out_buf));
            MUST(spop_agent_hello_encode(&w, &a) == SPOP_STATUS_NORMAL);
            MUST(spop_frame_decode(out_buf + 4, w.len - 4, &e) == SPOP_STATUS_NORMAL);
            MUST(spop_agent_hello_decode(&e, &back) == SPOP_STATUS_NORMAL);
            MUST(back.max_frame_size == a.max_frame_size && back.capabilities == a.capabilities);
        }
    }
    struct spop_agent_hello ah;
    g.type = SPOP_FRAME_AGENT_HELLO;
    (void)spop_agent_hello_decode(&g, &ah);

    struct spop_disconnect d;
    g.type = SPOP_FRAME_HAPROXY_DISCONNECT;
    if (spop_disconnect_decode(&g, &d) == SPOP_STATUS_NORMAL) {
        (void)spop_status_name(d.status_code);
        MUST(d.message_len <= g.payload_len);
    }

    struct spop_notify n;
    g.type = SPOP_FRAME_NOTIFY;
    if (spop_notify_decode(&g, &n) == SPOP_STATUS_NORMAL) {
        struct spop_message_iter mi;
        struct spop_message m;
        unsigned count = 0;
        for (spop_message_iter_init(&mi, &n); spop_message_next(&mi, &m); count++) {
            walk_kv(&m.args);
            MUST(m.args.status == SPOP_STATUS_NORMAL); /* validated by spop_notify_decode */
            struct spop_value v;
            (void)spop_message_find_arg(&m, "path", &v);
        }
        MUST(mi.status == SPOP_STATUS_NORMAL && count == n.nb_messages);
    }

    struct spop_action_iter ai;
    struct spop_action act;
    g.type = SPOP_FRAME_ACK;
    if (spop_ack_decode(&g, &ai) == SPOP_STATUS_NORMAL)
        while (spop_action_next(&ai, &act))
            value_roundtrip(&act.value);
}

static void check_varint(const uint8_t *data, size_t size)
{
    uint64_t v;
    uint8_t buf[SPOP_VARINT_MAX_LEN];
    size_t n = spop_varint_decode(data, size, &v);
    if (n == 0)
        return;
    /* the encoding is bijective: re-encoding gives the same bytes */
    MUST(spop_varint_encode(v, buf, sizeof(buf)) == n);
    MUST(memcmp(buf, data, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct agent {
    struct spop_reasm reasm;
    bool alive;
};

static void feed(struct agent *ag, const struct spop_frame *f)
{
    struct spop_frame out;
    enum spop_reasm_event ev;
    if (!ag->alive)
        return;
    enum spop_status st = spop_reasm_feed(&ag->reasm, f, &out, &ev);
    if (st == SPOP_STATUS_TOO_BIG)
        return; /* the agent answers ACK/ABORT and goes on */
    if (st != SPOP_STATUS_NORMAL) {
        ag->alive = false; /* the agent would disconnect */
        return;
    }
    if (ev == SPOP_REASM_PENDING && (f->frame_id & 0x0f) == 0x0f)
        spop_reasm_abort(&ag->reasm); /* sometimes, the agent gives up */
    if (ev == SPOP_REASM_FRAME && out.type == SPOP_FRAME_NOTIFY) {
        MUST(out.flags & SPOP_FLAG_FIN);
        MUST(out.payload == f->payload || out.payload == ag->reasm.buf);
        MUST(out.payload_len <= ag->reasm.cap || out.payload == f->payload);
        decode_payload_as_everything(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent agents[3];
    spop_reasm_init(&agents[0].reasm, NULL, 0);
    spop_reasm_init(&agents[1].reasm, small_storage, sizeof(small_storage));
    spop_reasm_init(&agents[2].reasm, large_storage, sizeof(large_storage));
    for (size_t i = 0; i < 3; i++)
        agents[i].alive = true;
    check_varint(data, size);

    size_t off = 0, need;
    while (off < size) {
        const uint8_t *p = data + off;
        size_t left = size - off;
        if (spop_frame_peek(p, left, SPOP_DEFAULT_MAX_FRAME_SIZE, &need) != SPOP_STATUS_NORMAL)
            break;
        if (left < need) {
            /* a truncated last frame: decode what is there anyway, as a frame body */
            struct spop_frame f;
            if (left > SPOP_FRAME_LEN_SIZE &&
                spop_frame_decode(p + SPOP_FRAME_LEN_SIZE, left - SPOP_FRAME_LEN_SIZE, &f) ==
                    SPOP_STATUS_NORMAL)
                decode_payload_as_everything(&f);
            break;
        }
        struct spop_frame f;
        if (spop_frame_decode(p + SPOP_FRAME_LEN_SIZE, need - SPOP_FRAME_LEN_SIZE, &f) !=
            SPOP_STATUS_NORMAL)
            break;
        MUST(f.payload >= p && f.payload + f.payload_len == p + need);
        decode_payload_as_everything(&f);
        for (size_t i = 0; i < 3; i++)
            feed(&agents[i], &f);
        off += need;
    }
    return 0;
}
