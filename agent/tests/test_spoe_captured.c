/* test_spoe_captured.c - the SPOP codec against frames captured byte for byte
 * from a real HAProxy 2.6 (HELLO, health-check HELLO, NOTIFY, DISCONNECT): they
 * decode to what the configuration asked for, and the encoders reproduce them
 * exactly. The same bytes seed agent/fuzz/corpus/fuzz_spop_decode/. */
#include <stdint.h>

#include "spoe/spop_codec.h"
#include "test.h"

/* HAPROXY-HELLO of an spoe-agent with "option pipelining" and "option async". */
static const uint8_t real_haproxy_hello[] = {
    0x00, 0x00, 0x00, 0x81, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x73, 0x75, 0x70,
    0x70, 0x6f, 0x72, 0x74, 0x65, 0x64, 0x2d, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x73,
    0x08, 0x03, 0x32, 0x2e, 0x30, 0x0e, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x72, 0x61, 0x6d, 0x65,
    0x2d, 0x73, 0x69, 0x7a, 0x65, 0x03, 0xfc, 0xf0, 0x06, 0x0c, 0x63, 0x61, 0x70, 0x61, 0x62,
    0x69, 0x6c, 0x69, 0x74, 0x69, 0x65, 0x73, 0x08, 0x10, 0x70, 0x69, 0x70, 0x65, 0x6c, 0x69,
    0x6e, 0x69, 0x6e, 0x67, 0x2c, 0x61, 0x73, 0x79, 0x6e, 0x63, 0x09, 0x65, 0x6e, 0x67, 0x69,
    0x6e, 0x65, 0x2d, 0x69, 0x64, 0x08, 0x24, 0x66, 0x38, 0x36, 0x63, 0x63, 0x30, 0x39, 0x30,
    0x2d, 0x62, 0x65, 0x66, 0x32, 0x2d, 0x34, 0x33, 0x65, 0x39, 0x2d, 0x62, 0x38, 0x66, 0x34,
    0x2d, 0x63, 0x65, 0x31, 0x34, 0x66, 0x36, 0x33, 0x31, 0x39, 0x39, 0x62, 0x32,
};

/* HAPROXY-HELLO of "option spop-check" (health check). */
static const uint8_t real_haproxy_hello_healthcheck[] = {
    0x00, 0x00, 0x00, 0x4e, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x73, 0x75,
    0x70, 0x70, 0x6f, 0x72, 0x74, 0x65, 0x64, 0x2d, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f,
    0x6e, 0x73, 0x08, 0x03, 0x32, 0x2e, 0x30, 0x0e, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x72,
    0x61, 0x6d, 0x65, 0x2d, 0x73, 0x69, 0x7a, 0x65, 0x03, 0xfc, 0xf0, 0x06, 0x0c, 0x63,
    0x61, 0x70, 0x61, 0x62, 0x69, 0x6c, 0x69, 0x74, 0x69, 0x65, 0x73, 0x08, 0x00, 0x0b,
    0x68, 0x65, 0x61, 0x6c, 0x74, 0x68, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x11,
};

/* NOTIFY for "GET /api/v1/items?id=42&x=y" (User-Agent: capture, Cookie: a=b) of
 *   spoe-message check-request
 *     args route=str(r1) method=method path=path query=query src=src ip6=ipv6(::1)
 *          n=int(-7) big=int(300000) t=always_true f=always_false
 *          missing=req.hdr(x-missing) hdrs=req.hdrs_bin
 *     event on-frontend-http-request */
static const uint8_t real_notify[] = {
    0x00, 0x00, 0x00, 0xdb, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x0d, 0x63, 0x68, 0x65, 0x63,
    0x6b, 0x2d, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x0c, 0x05, 0x72, 0x6f, 0x75, 0x74, 0x65,
    0x08, 0x02, 0x72, 0x31, 0x06, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x08, 0x03, 0x47, 0x45, 0x54,
    0x04, 0x70, 0x61, 0x74, 0x68, 0x08, 0x0d, 0x2f, 0x61, 0x70, 0x69, 0x2f, 0x76, 0x31, 0x2f, 0x69,
    0x74, 0x65, 0x6d, 0x73, 0x05, 0x71, 0x75, 0x65, 0x72, 0x79, 0x08, 0x09, 0x69, 0x64, 0x3d, 0x34,
    0x32, 0x26, 0x78, 0x3d, 0x79, 0x03, 0x73, 0x72, 0x63, 0x06, 0x7f, 0x00, 0x00, 0x01, 0x03, 0x69,
    0x70, 0x36, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x6e, 0x04, 0xf9, 0xf0, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0x0e,
    0x03, 0x62, 0x69, 0x67, 0x04, 0xf0, 0xaf, 0x91, 0x00, 0x01, 0x74, 0x11, 0x01, 0x66, 0x01, 0x07,
    0x6d, 0x69, 0x73, 0x73, 0x69, 0x6e, 0x67, 0x00, 0x04, 0x68, 0x64, 0x72, 0x73, 0x09, 0x40, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x0f, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x35,
    0x35, 0x30, 0x31, 0x37, 0x06, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x03, 0x2a, 0x2f, 0x2a, 0x0a,
    0x75, 0x73, 0x65, 0x72, 0x2d, 0x61, 0x67, 0x65, 0x6e, 0x74, 0x07, 0x63, 0x61, 0x70, 0x74, 0x75,
    0x72, 0x65, 0x06, 0x63, 0x6f, 0x6f, 0x6b, 0x69, 0x65, 0x03, 0x61, 0x3d, 0x62, 0x00, 0x00,
};

/* HAPROXY-DISCONNECT after an AGENT-HELLO announcing version "9.9". */
static const uint8_t real_haproxy_disconnect[] = {
    0x00, 0x00, 0x00, 0x32, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x0b, 0x73, 0x74,
    0x61, 0x74, 0x75, 0x73, 0x2d, 0x63, 0x6f, 0x64, 0x65, 0x03, 0x08, 0x07, 0x6d, 0x65,
    0x73, 0x73, 0x61, 0x67, 0x65, 0x08, 0x13, 0x75, 0x6e, 0x73, 0x75, 0x70, 0x70, 0x6f,
    0x72, 0x74, 0x65, 0x64, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e,
};

static void frame_of(const uint8_t *buf, size_t len, struct spop_frame *f)
{
    size_t need = 0;
    CHECK_INT_EQ(spop_frame_peek(buf, len, SPOP_DEFAULT_MAX_FRAME_SIZE, &need), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(need, len);
    CHECK_INT_EQ(spop_frame_decode(buf + SPOP_FRAME_LEN_SIZE, len - SPOP_FRAME_LEN_SIZE, f),
                 SPOP_STATUS_NORMAL);
}

static void test_real_hello(void)
{
    struct spop_frame f;
    struct spop_haproxy_hello h;
    frame_of(real_haproxy_hello, sizeof(real_haproxy_hello), &f);
    CHECK_INT_EQ(f.type, SPOP_FRAME_HAPROXY_HELLO);
    CHECK(f.flags == SPOP_FLAG_FIN && f.stream_id == 0 && f.frame_id == 0);
    CHECK_INT_EQ(spop_haproxy_hello_decode(&f, &h), SPOP_STATUS_NORMAL);
    CHECK(spop_bytes_eq(h.versions, h.versions_len, "2.0"));
    CHECK_INT_EQ(h.max_frame_size, 16380);
    CHECK_INT_EQ(h.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC);
    CHECK(!h.healthcheck);
    CHECK_INT_EQ(h.engine_id_len, 36); /* a UUID */

    struct spop_agent_limits ours = {65536, SPOP_CAP_PIPELINING | SPOP_CAP_FRAGMENTATION};
    struct spop_agent_hello a;
    CHECK_INT_EQ(spop_hello_negotiate(&h, &ours, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.max_frame_size, 16380);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_FRAGMENTATION);

    /* our HAPROXY-HELLO encoder writes exactly what HAProxy wrote */
    uint8_t buf[256];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(spop_haproxy_hello_encode(&w, &h), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(real_haproxy_hello));
    CHECK(memcmp(buf, real_haproxy_hello, sizeof(real_haproxy_hello)) == 0);
}

static void test_real_healthcheck_hello(void)
{
    struct spop_frame f;
    struct spop_haproxy_hello h;
    frame_of(real_haproxy_hello_healthcheck, sizeof(real_haproxy_hello_healthcheck), &f);
    CHECK_INT_EQ(spop_haproxy_hello_decode(&f, &h), SPOP_STATUS_NORMAL);
    CHECK(h.healthcheck);
    CHECK_INT_EQ(h.capabilities, 0); /* the check announces "" */
    CHECK(h.engine_id == NULL);
    struct spop_agent_limits ours = {16380, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC};
    struct spop_agent_hello a;
    CHECK_INT_EQ(spop_hello_negotiate(&h, &ours, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.capabilities, 0);

    uint8_t buf[256];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(spop_haproxy_hello_encode(&w, &h), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(real_haproxy_hello_healthcheck));
    CHECK(memcmp(buf, real_haproxy_hello_healthcheck, sizeof(real_haproxy_hello_healthcheck)) == 0);
}

static void check_real_notify(const struct spop_notify *n)
{
    static const uint8_t lo4[4] = {127, 0, 0, 1};
    static const uint8_t lo6[16] = {[15] = 1};
    CHECK(n->stream_id == 0 && n->frame_id == 1);
    CHECK_INT_EQ(n->nb_messages, 1);
    struct spop_message_iter mi;
    struct spop_message m;
    spop_message_iter_init(&mi, n);
    CHECK(spop_message_next(&mi, &m));
    CHECK(spop_bytes_eq(m.name, m.name_len, "check-request"));
    CHECK_INT_EQ(m.nb_args, 12);

    struct spop_value v;
    CHECK(spop_message_find_arg(&m, "route", &v) && spop_value_is_str(&v, "r1"));
    CHECK(spop_message_find_arg(&m, "method", &v) && spop_value_is_str(&v, "GET"));
    CHECK(spop_message_find_arg(&m, "path", &v) && spop_value_is_str(&v, "/api/v1/items"));
    CHECK(spop_message_find_arg(&m, "query", &v) && spop_value_is_str(&v, "id=42&x=y"));
    CHECK(spop_message_find_arg(&m, "src", &v) && v.type == SPOP_TYPE_IPV4 &&
          memcmp(v.u.ipv4, lo4, 4) == 0);
    CHECK(spop_message_find_arg(&m, "ip6", &v) && v.type == SPOP_TYPE_IPV6 &&
          memcmp(v.u.ipv6, lo6, 16) == 0);
    CHECK(spop_message_find_arg(&m, "n", &v) && v.type == SPOP_TYPE_INT64 && v.u.int64 == -7);
    CHECK(spop_message_find_arg(&m, "big", &v) && v.type == SPOP_TYPE_INT64 && v.u.int64 == 300000);
    CHECK(spop_message_find_arg(&m, "t", &v) && v.type == SPOP_TYPE_BOOL && v.u.boolean);
    CHECK(spop_message_find_arg(&m, "f", &v) && v.type == SPOP_TYPE_BOOL && !v.u.boolean);
    CHECK(spop_message_find_arg(&m, "missing", &v) && v.type == SPOP_TYPE_NULL);
    CHECK(spop_message_find_arg(&m, "hdrs", &v) && v.type == SPOP_TYPE_BINARY);
    /* req.hdrs_bin: <name len><name><value len><value>..., ended by two empty strings */
    const uint8_t *p = v.u.bytes.ptr;
    CHECK(v.u.bytes.len == 64 && p[0] == 4 && memcmp(p + 1, "host", 4) == 0);
    CHECK(p[v.u.bytes.len - 2] == 0 && p[v.u.bytes.len - 1] == 0);
    CHECK(!spop_message_next(&mi, &m));
    CHECK_INT_EQ(mi.status, SPOP_STATUS_NORMAL);
}

static void test_real_notify(void)
{
    struct spop_frame f;
    struct spop_notify n;
    frame_of(real_notify, sizeof(real_notify), &f);
    CHECK_INT_EQ(f.type, SPOP_FRAME_NOTIFY);
    CHECK(f.flags == SPOP_FLAG_FIN);
    CHECK_INT_EQ(spop_notify_decode(&f, &n), SPOP_STATUS_NORMAL);
    check_real_notify(&n);

    /* re-encoding every message and argument gives HAProxy's bytes back */
    uint8_t buf[512];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_frame_begin(&w, f.type, f.flags, n.stream_id, n.frame_id);
    struct spop_message_iter mi;
    struct spop_message m;
    struct spop_kv kv;
    for (spop_message_iter_init(&mi, &n); spop_message_next(&mi, &m);) {
        spop_write_name(&w, m.name, m.name_len);
        spop_write_u8(&w, (uint8_t)m.nb_args);
        while (spop_kv_next(&m.args, &kv))
            spop_kv_encode_n(&w, kv.name, kv.name_len, &kv.value);
    }
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(real_notify));
    CHECK(memcmp(buf, real_notify, sizeof(real_notify)) == 0);

    /* every truncation of the real frame is refused with the right status */
    for (size_t cut = 0; cut < sizeof(real_notify); cut++) {
        size_t need = 0;
        enum spop_status st = spop_frame_peek(real_notify, cut, SPOP_DEFAULT_MAX_FRAME_SIZE, &need);
        CHECK(st == SPOP_STATUS_NORMAL && cut < need); /* "wait for more" */
    }
    /* and its announced length beyond a small max-frame-size is too big */
    size_t need;
    CHECK_INT_EQ(spop_frame_peek(real_notify, sizeof(real_notify), 200, &need),
                 SPOP_STATUS_TOO_BIG);
}

static void test_real_notify_fragmented(void)
{
    /* HAProxy 2.6 does not fragment NOTIFY frames any more; cut the real one as
     * SPOE.txt describes and check the reassembled payload decodes the same. */
    struct spop_frame f;
    frame_of(real_notify, sizeof(real_notify), &f);
    for (size_t pieces = 1; pieces <= 8; pieces++) {
        static uint8_t storage[1024];
        struct spop_reasm r;
        struct spop_frame out;
        enum spop_reasm_event ev = SPOP_REASM_PENDING;
        spop_reasm_init(&r, storage, sizeof(storage));
        size_t step = f.payload_len / pieces + 1, off = 0;
        for (size_t i = 0; off < f.payload_len || i == 0; i++) {
            size_t n = f.payload_len - off < step ? f.payload_len - off : step;
            struct spop_frame frag = f;
            frag.type = i == 0 ? SPOP_FRAME_NOTIFY : SPOP_FRAME_UNSET;
            frag.payload = f.payload + off;
            frag.payload_len = n;
            off += n;
            frag.flags = off == f.payload_len && i > 0 ? SPOP_FLAG_FIN : 0;
            CHECK_INT_EQ(spop_reasm_feed(&r, &frag, &out, &ev), SPOP_STATUS_NORMAL);
            if (off == f.payload_len && i == 0) {
                /* one piece: the first fragment without FIN, then an empty last one */
                CHECK_INT_EQ(ev, SPOP_REASM_PENDING);
                frag.type = SPOP_FRAME_UNSET;
                frag.flags = SPOP_FLAG_FIN;
                frag.payload_len = 0;
                CHECK_INT_EQ(spop_reasm_feed(&r, &frag, &out, &ev), SPOP_STATUS_NORMAL);
            }
        }
        CHECK_INT_EQ(ev, SPOP_REASM_FRAME);
        CHECK(out.type == SPOP_FRAME_NOTIFY && out.flags == SPOP_FLAG_FIN);
        CHECK(out.payload_len == f.payload_len &&
              memcmp(out.payload, f.payload, f.payload_len) == 0);
        struct spop_notify n;
        CHECK_INT_EQ(spop_notify_decode(&out, &n), SPOP_STATUS_NORMAL);
        check_real_notify(&n);
    }
}

static void test_real_disconnect(void)
{
    struct spop_frame f;
    struct spop_disconnect d;
    frame_of(real_haproxy_disconnect, sizeof(real_haproxy_disconnect), &f);
    CHECK_INT_EQ(f.type, SPOP_FRAME_HAPROXY_DISCONNECT);
    CHECK_INT_EQ(spop_disconnect_decode(&f, &d), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(d.status_code, SPOP_STATUS_BAD_VERSION);
    CHECK(spop_bytes_eq(d.message, d.message_len, "unsupported version"));
    /* the encoder, playing HAProxy with HAProxy's message, matches byte for byte */
    uint8_t buf[128];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(
        spop_disconnect_encode(&w, SPOP_FRAME_HAPROXY_DISCONNECT, 8, "unsupported version"),
        SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(real_haproxy_disconnect));
    CHECK(memcmp(buf, real_haproxy_disconnect, sizeof(real_haproxy_disconnect)) == 0);
}

static void test_real_frames_back_to_back(void)
{
    /* a receive buffer holding HELLO + NOTIFY + DISCONNECT, split frame by frame */
    uint8_t rx[512];
    size_t len = 0;
    memcpy(rx + len, real_haproxy_hello, sizeof(real_haproxy_hello));
    len += sizeof(real_haproxy_hello);
    memcpy(rx + len, real_notify, sizeof(real_notify));
    len += sizeof(real_notify);
    memcpy(rx + len, real_haproxy_disconnect, sizeof(real_haproxy_disconnect));
    len += sizeof(real_haproxy_disconnect);
    const uint8_t want[] = {SPOP_FRAME_HAPROXY_HELLO, SPOP_FRAME_NOTIFY,
                            SPOP_FRAME_HAPROXY_DISCONNECT};
    size_t off = 0, i = 0, need;
    while (off < len &&
           spop_frame_peek(rx + off, len - off, SPOP_DEFAULT_MAX_FRAME_SIZE, &need) ==
               SPOP_STATUS_NORMAL &&
           need <= len - off) {
        struct spop_frame f;
        CHECK_INT_EQ(
            spop_frame_decode(rx + off + SPOP_FRAME_LEN_SIZE, need - SPOP_FRAME_LEN_SIZE, &f),
            SPOP_STATUS_NORMAL);
        CHECK(i < 3 && f.type == want[i]);
        off += need;
        i++;
    }
    CHECK_INT_EQ(i, 3);
    CHECK_INT_EQ(off, len);
}

TEST_MAIN(TEST_CASE(test_real_hello), TEST_CASE(test_real_healthcheck_hello),
          TEST_CASE(test_real_notify), TEST_CASE(test_real_notify_fragmented),
          TEST_CASE(test_real_disconnect), TEST_CASE(test_real_frames_back_to_back))
