/* test_spoe_codec.c - the SPOP codec: varints, typed data, KV lists, frame
 * headers, HELLO, DISCONNECT, NOTIFY, ACK, and the status code of each error. */
#include <stdint.h>
#include <stdlib.h>

#include "spoe/spop_codec.h"
#include "test.h"

#define MAX_FRAME SPOP_DEFAULT_MAX_FRAME_SIZE

/* Splits one whole frame (length prefix included) off buf. */
static enum spop_status frame_of(const uint8_t *buf, size_t len, struct spop_frame *f)
{
    size_t need;
    enum spop_status st = spop_frame_peek(buf, len, MAX_FRAME, &need);
    if (st != SPOP_STATUS_NORMAL)
        return st;
    if (len < need)
        return SPOP_STATUS_IO; /* incomplete: the tests below never expect this */
    return spop_frame_decode(buf + SPOP_FRAME_LEN_SIZE, need - SPOP_FRAME_LEN_SIZE, f);
}

/* What an agent answers to a frame: the status of the first failing step. */
static enum spop_status agent_handle(const uint8_t *buf, size_t len)
{
    struct spop_frame f;
    enum spop_status st = frame_of(buf, len, &f);
    if (st != SPOP_STATUS_NORMAL)
        return st;
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    struct spop_agent_limits ours = {MAX_FRAME, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC};
    struct spop_notify n;
    struct spop_disconnect d;
    switch (f.type) {
    case SPOP_FRAME_HAPROXY_HELLO:
        st = spop_haproxy_hello_decode(&f, &h);
        return st != SPOP_STATUS_NORMAL ? st : spop_hello_negotiate(&h, &ours, &a);
    case SPOP_FRAME_NOTIFY:
        return spop_notify_decode(&f, &n);
    case SPOP_FRAME_HAPROXY_DISCONNECT:
        return spop_disconnect_decode(&f, &d);
    case SPOP_FRAME_UNSET:
        return SPOP_STATUS_FRAME_ID_NOT_FOUND; /* no reassembler here */
    default:
        return SPOP_STATUS_INVALID; /* not a frame HAProxy sends */
    }
}

/* ---- varints ---- */

static const struct {
    uint64_t v;
    size_t len;
} varint_cases[] = {
    {0, 1},
    {1, 1},
    {239, 1},
    {240, 2},
    {241, 2},
    {2287, 2},
    {2288, 3},
    {264431, 3},
    {264432, 4},
    {33818863, 4},
    {33818864, 5},
    {UINT32_MAX, 5},
    {4328786159ULL, 5},
    {4328786160ULL, 6},
    {(uint64_t)INT64_MAX, 10},
    {UINT64_MAX - 1, 10},
    {UINT64_MAX, 10},
};

static void test_varint_boundaries(void)
{
    for (size_t i = 0; i < sizeof(varint_cases) / sizeof(varint_cases[0]); i++) {
        uint8_t buf[SPOP_VARINT_MAX_LEN + 2];
        uint64_t v = varint_cases[i].v, got = 12345;
        CHECK_INT_EQ(spop_varint_len(v), varint_cases[i].len);
        CHECK_INT_EQ(spop_varint_encode(v, buf, sizeof(buf)), varint_cases[i].len);
        CHECK_INT_EQ(spop_varint_decode(buf, sizeof(buf), &got), varint_cases[i].len);
        CHECK(got == v);
        /* every truncation fails and leaves the output alone */
        for (size_t cut = 0; cut < varint_cases[i].len; cut++) {
            got = 777;
            CHECK_INT_EQ(spop_varint_decode(buf, cut, &got), 0);
            CHECK(got == 777);
        }
        /* too little room: nothing written */
        uint8_t small[SPOP_VARINT_MAX_LEN];
        memset(small, 0xAA, sizeof(small));
        CHECK_INT_EQ(spop_varint_encode(v, small, varint_cases[i].len - 1), 0);
        CHECK(small[0] == 0xAA);
    }
}

static void test_varint_exact_bytes(void)
{
    uint8_t buf[SPOP_VARINT_MAX_LEN];
    CHECK_INT_EQ(spop_varint_encode(239, buf, sizeof(buf)), 1);
    CHECK(buf[0] == 0xEF);
    CHECK_INT_EQ(spop_varint_encode(240, buf, sizeof(buf)), 2);
    CHECK(buf[0] == 0xF0 && buf[1] == 0x00);
    CHECK_INT_EQ(spop_varint_encode(2287, buf, sizeof(buf)), 2);
    CHECK(buf[0] == 0xFF && buf[1] == 0x7F);
    CHECK_INT_EQ(spop_varint_encode(2288, buf, sizeof(buf)), 3);
    CHECK(buf[0] == 0xF0 && buf[1] == 0x80 && buf[2] == 0x00);
    CHECK_INT_EQ(spop_varint_encode(264431, buf, sizeof(buf)), 3);
    CHECK(buf[0] == 0xFF && buf[1] == 0xFF && buf[2] == 0x7F);
    /* HAProxy's max-frame-size 16380 and int(300000), as captured on the wire */
    CHECK_INT_EQ(spop_varint_encode(16380, buf, sizeof(buf)), 3);
    CHECK(buf[0] == 0xFC && buf[1] == 0xF0 && buf[2] == 0x06);
    CHECK_INT_EQ(spop_varint_encode(300000, buf, sizeof(buf)), 4);
    CHECK(buf[0] == 0xF0 && buf[1] == 0xAF && buf[2] == 0x91 && buf[3] == 0x00);
    /* and int(-7), a sign-extended 64-bit value */
    static const uint8_t minus7[] = {0xF9, 0xF0, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x0E};
    CHECK_INT_EQ(spop_varint_encode((uint64_t)-7, buf, sizeof(buf)), 10);
    CHECK(memcmp(buf, minus7, sizeof(minus7)) == 0);
}

static void test_varint_exhaustive_small(void)
{
    uint8_t buf[SPOP_VARINT_MAX_LEN];
    int bad = 0;
    for (uint64_t v = 0; v < 600000; v++) {
        uint64_t got = 0;
        size_t n = spop_varint_encode(v, buf, sizeof(buf));
        if (n == 0 || spop_varint_decode(buf, n, &got) != n || got != v)
            bad++;
    }
    CHECK_INT_EQ(bad, 0);
}

static void test_varint_rejects_overflow(void)
{
    uint8_t buf[SPOP_VARINT_MAX_LEN + 1];
    uint64_t got = 5;
    size_t n = spop_varint_encode(UINT64_MAX, buf, sizeof(buf));
    CHECK_INT_EQ(n, 10);
    CHECK(buf[9] < 0x7F);
    buf[9]++; /* one more than UINT64_MAX */
    CHECK_INT_EQ(spop_varint_decode(buf, n, &got), 0);
    buf[9] = 0xFF; /* last byte "continues" into an 11th byte */
    buf[10] = 0x00;
    CHECK_INT_EQ(spop_varint_decode(buf, sizeof(buf), &got), 0);
    uint8_t ones[16];
    memset(ones, 0xFF, sizeof(ones));
    CHECK_INT_EQ(spop_varint_decode(ones, sizeof(ones), &got), 0);
    CHECK(got == 5);
    CHECK_INT_EQ(spop_varint_decode(NULL, 0, &got), 0);
}

/* ---- typed data ---- */

static struct spop_value roundtrip(const struct spop_value *in, size_t *len)
{
    uint8_t buf[64];
    struct spop_writer w;
    struct spop_value out;
    struct spop_reader r;
    memset(&out, 0xEE, sizeof(out));
    spop_writer_init(&w, buf, sizeof(buf));
    spop_value_encode(&w, in);
    CHECK(spop_writer_ok(&w));
    *len = w.len;
    spop_reader_init(&r, buf, w.len);
    CHECK_INT_EQ(spop_value_decode(&r, &out), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_reader_left(&r), 0);
    /* strings point into buf, which dies here: tests compare lengths only */
    return out;
}

static void test_value_roundtrip_every_type(void)
{
    static const uint8_t v4[4] = {10, 0, 0, 1};
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    size_t n;
    struct spop_value v;

    v = roundtrip(&(struct spop_value){.type = SPOP_TYPE_NULL}, &n);
    CHECK(v.type == SPOP_TYPE_NULL && n == 1);
    for (int b = 0; b <= 1; b++) {
        struct spop_value in = spop_bool(b);
        v = roundtrip(&in, &n);
        CHECK(v.type == SPOP_TYPE_BOOL && v.u.boolean == (b == 1) && n == 1);
    }
    const int32_t i32s[] = {0, 1, -1, 239, 240, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof(i32s) / sizeof(i32s[0]); i++) {
        struct spop_value in = spop_int32(i32s[i]);
        v = roundtrip(&in, &n);
        CHECK(v.type == SPOP_TYPE_INT32 && v.u.int32 == i32s[i]);
    }
    const uint32_t u32s[] = {0, 239, 240, 2287, 2288, UINT32_MAX};
    for (size_t i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++) {
        struct spop_value in = spop_uint32(u32s[i]);
        v = roundtrip(&in, &n);
        CHECK(v.type == SPOP_TYPE_UINT32 && v.u.uint32 == u32s[i]);
    }
    const int64_t i64s[] = {0, -1, -7, 300000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(i64s) / sizeof(i64s[0]); i++) {
        struct spop_value in = spop_int64(i64s[i]);
        v = roundtrip(&in, &n);
        CHECK(v.type == SPOP_TYPE_INT64 && v.u.int64 == i64s[i]);
    }
    const uint64_t u64s[] = {0, 264431, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
        struct spop_value in = spop_uint64(u64s[i]);
        v = roundtrip(&in, &n);
        CHECK(v.type == SPOP_TYPE_UINT64 && v.u.uint64 == u64s[i]);
    }
    struct spop_value in = spop_ipv4(v4);
    v = roundtrip(&in, &n);
    CHECK(v.type == SPOP_TYPE_IPV4 && memcmp(v.u.ipv4, v4, 4) == 0 && n == 5);
    in = spop_ipv6(v6);
    v = roundtrip(&in, &n);
    CHECK(v.type == SPOP_TYPE_IPV6 && memcmp(v.u.ipv6, v6, 16) == 0 && n == 17);
    in = spop_str("hello");
    v = roundtrip(&in, &n);
    CHECK(v.type == SPOP_TYPE_STRING && v.u.bytes.len == 5 && n == 7);
    in = spop_str("");
    v = roundtrip(&in, &n);
    CHECK(v.type == SPOP_TYPE_STRING && v.u.bytes.len == 0 && n == 2);
    in = spop_bin("\0\1\2", 3);
    v = roundtrip(&in, &n);
    CHECK(v.type == SPOP_TYPE_BINARY && v.u.bytes.len == 3 && n == 5);
}

static void test_value_long_string_in_place(void)
{
    static uint8_t big[70000];
    static uint8_t buf[70016];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    struct spop_value in = spop_bin(big, sizeof(big)), out;
    spop_value_encode(&w, &in);
    CHECK(spop_writer_ok(&w));
    CHECK_INT_EQ(w.len, 1 + spop_varint_len(sizeof(big)) + sizeof(big));
    struct spop_reader r;
    spop_reader_init(&r, buf, w.len);
    CHECK_INT_EQ(spop_value_decode(&r, &out), SPOP_STATUS_NORMAL);
    CHECK(out.type == SPOP_TYPE_BINARY && out.u.bytes.len == sizeof(big));
    CHECK(out.u.bytes.ptr == buf + 1 + spop_varint_len(sizeof(big))); /* no copy */
    CHECK(memcmp(out.u.bytes.ptr, big, sizeof(big)) == 0);
}

static void test_value_exact_bytes(void)
{
    uint8_t buf[32];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    struct spop_value vals[] = {spop_null(), spop_bool(true), spop_bool(false), spop_uint32(16380),
                                spop_str("2.0")};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        spop_value_encode(&w, &vals[i]);
    static const uint8_t want[] = {0x00, 0x11, 0x01, 0x03, 0xFC, 0xF0,
                                   0x06, 0x08, 0x03, '2',  '.',  '0'};
    CHECK_INT_EQ(w.len, sizeof(want));
    CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

static enum spop_status decode_bytes(const uint8_t *p, size_t n, struct spop_value *v)
{
    struct spop_reader r;
    spop_reader_init(&r, p, n);
    enum spop_status st = spop_value_decode(&r, v);
    if (st != SPOP_STATUS_NORMAL)
        CHECK(r.pos == p); /* a failed decode does not move the reader */
    return st;
}

static void test_value_integer_ranges(void)
{
    struct spop_value v;
    uint8_t buf[16];
    /* INT32 in its 32-bit two's complement form */
    buf[0] = SPOP_TYPE_INT32;
    size_t n = spop_varint_encode(0xFFFFFFFFu, buf + 1, sizeof(buf) - 1);
    CHECK_INT_EQ(decode_bytes(buf, n + 1, &v), SPOP_STATUS_NORMAL);
    CHECK(v.u.int32 == -1);
    /* INT32 neither form: 2^33 */
    n = spop_varint_encode(1ULL << 33, buf + 1, sizeof(buf) - 1);
    CHECK_INT_EQ(decode_bytes(buf, n + 1, &v), SPOP_STATUS_INVALID);
    /* INT32 sign-extended below INT32_MIN */
    n = spop_varint_encode((uint64_t)((int64_t)INT32_MIN - 1), buf + 1, sizeof(buf) - 1);
    CHECK_INT_EQ(decode_bytes(buf, n + 1, &v), SPOP_STATUS_INVALID);
    /* UINT32 above UINT32_MAX */
    buf[0] = SPOP_TYPE_UINT32;
    n = spop_varint_encode(1ULL << 32, buf + 1, sizeof(buf) - 1);
    CHECK_INT_EQ(decode_bytes(buf, n + 1, &v), SPOP_STATUS_INVALID);
    /* flags on a non-bool type are ignored, as HAProxy does */
    const uint8_t flagged[] = {0x80 | SPOP_TYPE_UINT32, 5};
    CHECK_INT_EQ(decode_bytes(flagged, sizeof(flagged), &v), SPOP_STATUS_NORMAL);
    CHECK(v.type == SPOP_TYPE_UINT32 && v.u.uint32 == 5);
    /* spop_value_to_u32 */
    uint32_t u;
    struct spop_value t = spop_int64(-1);
    CHECK(!spop_value_to_u32(&t, &u));
    t = spop_int64(256);
    CHECK(spop_value_to_u32(&t, &u) && u == 256);
    t = spop_uint64(1ULL << 32);
    CHECK(!spop_value_to_u32(&t, &u));
    t = spop_int32(7);
    CHECK(spop_value_to_u32(&t, &u) && u == 7);
    t = spop_str("7");
    CHECK(!spop_value_to_u32(&t, &u));
}

static void test_value_truncated_and_reserved(void)
{
    static const uint8_t v6[16] = {0};
    struct spop_value vals[] = {spop_int32(-5),          spop_uint32(70000), spop_int64(INT64_MIN),
                                spop_uint64(UINT64_MAX), spop_ipv4(v6),      spop_ipv6(v6),
                                spop_str("abc"),         spop_bin("xy", 2)};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t buf[32];
        struct spop_writer w;
        struct spop_value v;
        spop_writer_init(&w, buf, sizeof(buf));
        spop_value_encode(&w, &vals[i]);
        for (size_t cut = 0; cut < w.len; cut++)
            CHECK_INT_EQ(decode_bytes(buf, cut, &v), SPOP_STATUS_INVALID);
        CHECK_INT_EQ(decode_bytes(buf, w.len, &v), SPOP_STATUS_NORMAL);
    }
    for (uint8_t t = 10; t <= 15; t++) {
        uint8_t buf[4] = {t, 0, 0, 0};
        struct spop_value v;
        CHECK_INT_EQ(decode_bytes(buf, sizeof(buf), &v), SPOP_STATUS_INVALID);
    }
    /* a string announcing more bytes than there are */
    const uint8_t lying[] = {SPOP_TYPE_STRING, 0xF0, 0x10, 'a'};
    struct spop_value v;
    CHECK_INT_EQ(decode_bytes(lying, sizeof(lying), &v), SPOP_STATUS_INVALID);
    const uint8_t huge[] = {
        SPOP_TYPE_BINARY, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0E};
    CHECK_INT_EQ(decode_bytes(huge, sizeof(huge), &v), SPOP_STATUS_INVALID);
    CHECK_STR_EQ(spop_type_name(SPOP_TYPE_IPV6), "ipv6");
    CHECK_STR_EQ(spop_type_name(12), "reserved");
}

/* ---- KV lists ---- */

static void test_kv_list(void)
{
    uint8_t buf[128];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    struct spop_value a = spop_str("x"), b = spop_uint32(9), c = spop_null();
    spop_kv_encode(&w, "alpha", &a);
    spop_kv_encode(&w, "b", &b);
    spop_kv_encode_n(&w, "", 0, &c);
    CHECK(spop_writer_ok(&w));

    struct spop_kv_iter it;
    struct spop_kv kv;
    int count = 0;
    spop_kv_iter_init(&it, buf, w.len);
    while (spop_kv_next(&it, &kv)) {
        count++;
        if (count == 1)
            CHECK(spop_bytes_eq(kv.name, kv.name_len, "alpha") &&
                  spop_value_is_str(&kv.value, "x"));
        if (count == 2)
            CHECK(spop_bytes_eq(kv.name, kv.name_len, "b") && kv.value.u.uint32 == 9);
        if (count == 3)
            CHECK(kv.name_len == 0 && kv.value.type == SPOP_TYPE_NULL);
    }
    CHECK_INT_EQ(count, 3);
    CHECK_INT_EQ(it.status, SPOP_STATUS_NORMAL);

    /* every truncation that is not an item boundary fails */
    size_t boundaries[] = {0, 9, 13, 15};
    for (size_t cut = 0; cut < w.len; cut++) {
        int is_boundary = 0;
        for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++)
            is_boundary |= boundaries[i] == cut;
        spop_kv_iter_init(&it, buf, cut);
        while (spop_kv_next(&it, &kv))
            ;
        CHECK_INT_EQ(it.status, is_boundary ? SPOP_STATUS_NORMAL : SPOP_STATUS_INVALID);
    }
    /* an empty list, and a NULL buffer */
    spop_kv_iter_init(&it, NULL, 0);
    CHECK(!spop_kv_next(&it, &kv));
    CHECK_INT_EQ(it.status, SPOP_STATUS_NORMAL);
    /* skipping a counted run, and asking for more than there is */
    struct spop_reader r;
    spop_reader_init(&r, buf, w.len);
    CHECK_INT_EQ(spop_kv_skip(&r, 2), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_reader_left(&r), 2);
    spop_reader_init(&r, buf, w.len);
    CHECK_INT_EQ(spop_kv_skip(&r, 4), SPOP_STATUS_INVALID);
    CHECK(r.pos == buf);
}

static void test_writer_overflow_is_sticky(void)
{
    uint8_t buf[8];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    spop_write_bytes(&w, "1234567", 7);
    spop_write_u32be(&w, 1); /* does not fit */
    CHECK(!spop_writer_ok(&w));
    spop_write_u8(&w, 1); /* would fit, but the writer has failed */
    CHECK_INT_EQ(w.len, 7);
    spop_writer_init(&w, buf, sizeof(buf));
    spop_write_name(&w, "x", SIZE_MAX); /* absurd length: no wrap-around */
    CHECK(!spop_writer_ok(&w));
    CHECK_INT_EQ(w.len, 0);
    spop_writer_init(&w, NULL, 100);
    spop_write_u8(&w, 1);
    CHECK(!spop_writer_ok(&w));
}

/* ---- frame header ---- */

static void test_frame_peek(void)
{
    uint8_t buf[8] = {0, 0, 0x3F, 0xFC, 1, 0, 0, 0};
    size_t need = 99;
    CHECK_INT_EQ(spop_frame_peek(buf, 3, MAX_FRAME, &need), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(need, SPOP_FRAME_LEN_SIZE);
    CHECK_INT_EQ(spop_frame_peek(NULL, 0, MAX_FRAME, &need), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(need, SPOP_FRAME_LEN_SIZE);
    CHECK_INT_EQ(spop_frame_peek(buf, 8, MAX_FRAME, &need), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(need, 4 + 16380);
    CHECK_INT_EQ(spop_frame_peek(buf, 8, MAX_FRAME - 1, &need), SPOP_STATUS_TOO_BIG);
    buf[0] = 0x80;
    CHECK_INT_EQ(spop_frame_peek(buf, 8, MAX_FRAME, &need), SPOP_STATUS_TOO_BIG);
    const uint8_t tiny[4] = {0, 0, 0, 6};
    CHECK_INT_EQ(spop_frame_peek(tiny, 4, MAX_FRAME, &need), SPOP_STATUS_INVALID);
    const uint8_t zero[4] = {0, 0, 0, 0};
    CHECK_INT_EQ(spop_frame_peek(zero, 4, MAX_FRAME, &need), SPOP_STATUS_INVALID);
    const uint8_t seven[4] = {0, 0, 0, 7};
    CHECK_INT_EQ(spop_frame_peek(seven, 4, MAX_FRAME, &need), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(need, 11);
}

static void test_frame_header_roundtrip(void)
{
    uint8_t buf[64];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark =
        spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN | 0x80000000u, 264432, UINT64_MAX);
    spop_write_bytes(&w, "pay", 3);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, 4 + 1 + 4 + 4 + 10 + 3);
    CHECK_INT_EQ(spop_load_u32be(buf), w.len - 4);
    CHECK(buf[4] == SPOP_FRAME_NOTIFY && buf[5] == 0x80 && buf[8] == 0x01);

    struct spop_frame f;
    CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(f.type, SPOP_FRAME_NOTIFY);
    CHECK(f.flags == (SPOP_FLAG_FIN | 0x80000000u)); /* reserved bits are kept, not judged */
    CHECK(f.stream_id == 264432 && f.frame_id == UINT64_MAX);
    CHECK(f.payload_len == 3 && memcmp(f.payload, "pay", 3) == 0);
    /* a header cut anywhere is invalid */
    for (size_t cut = 0; cut < 1 + 4 + 4 + 10; cut++)
        CHECK_INT_EQ(spop_frame_decode(buf + 4, cut, &f), SPOP_STATUS_INVALID);
    /* ABORT requires FIN */
    const uint8_t abort_only[] = {SPOP_FRAME_UNSET, 0, 0, 0, 2, 1, 1};
    CHECK_INT_EQ(spop_frame_decode(abort_only, sizeof(abort_only), &f), SPOP_STATUS_INVALID);
    const uint8_t abort_fin[] = {SPOP_FRAME_UNSET, 0, 0, 0, 3, 1, 1};
    CHECK_INT_EQ(spop_frame_decode(abort_fin, sizeof(abort_fin), &f), SPOP_STATUS_NORMAL);
    CHECK(f.payload_len == 0);
    /* unknown types decode (they may be skipped) and have a name */
    const uint8_t odd[] = {42, 0, 0, 0, 1, 0, 0};
    CHECK_INT_EQ(spop_frame_decode(odd, sizeof(odd), &f), SPOP_STATUS_NORMAL);
    CHECK_STR_EQ(spop_frame_type_name(f.type), "unknown");
    CHECK_STR_EQ(spop_frame_type_name(SPOP_FRAME_AGENT_HELLO), "agent-hello");
    /* encoding more than the writer holds */
    spop_writer_init(&w, buf, 12);
    mark = spop_frame_begin(&w, SPOP_FRAME_ACK, SPOP_FLAG_FIN, 1, 1);
    spop_write_bytes(&w, "too much", 8);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_TOO_BIG);
}

/* ---- HELLO ---- */

static size_t make_hello(uint8_t *buf, size_t cap, const char *versions, uint32_t mfs,
                         const char *caps, bool healthcheck)
{
    struct spop_writer w;
    struct spop_haproxy_hello h = {
        .versions = (const uint8_t *)versions,
        .versions_len = strlen(versions),
        .max_frame_size = mfs,
        .capabilities = spop_capabilities_parse((const uint8_t *)caps, strlen(caps)),
        .healthcheck = healthcheck,
        .engine_id = (const uint8_t *)"engine-1",
        .engine_id_len = 8,
    };
    spop_writer_init(&w, buf, cap);
    CHECK_INT_EQ(spop_haproxy_hello_encode(&w, &h), SPOP_STATUS_NORMAL);
    return w.len;
}

static enum spop_status hello_answer(const uint8_t *buf, size_t len, uint32_t our_mfs,
                                     unsigned our_caps, struct spop_haproxy_hello *h,
                                     struct spop_agent_hello *a)
{
    struct spop_frame f;
    struct spop_agent_limits ours = {our_mfs, our_caps};
    enum spop_status st = frame_of(buf, len, &f);
    if (st == SPOP_STATUS_NORMAL)
        st = spop_haproxy_hello_decode(&f, h);
    if (st == SPOP_STATUS_NORMAL)
        st = spop_hello_negotiate(h, &ours, a);
    return st;
}

static void test_hello_handshake(void)
{
    uint8_t buf[256], out[256];
    size_t n = make_hello(buf, sizeof(buf), "2.0", 16380, "pipelining,async", false);
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    CHECK_INT_EQ(hello_answer(buf, n, 16380, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC, &h, &a),
                 SPOP_STATUS_NORMAL);
    CHECK(!h.healthcheck);
    CHECK(spop_bytes_eq(h.engine_id, h.engine_id_len, "engine-1"));
    CHECK(spop_bytes_eq(h.versions, h.versions_len, "2.0"));
    CHECK_INT_EQ(h.max_frame_size, 16380);
    CHECK_INT_EQ(a.max_frame_size, 16380);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC);

    /* the AGENT-HELLO bytes HAProxy 2.6 accepted in the capture */
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x46, 0x65, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 'v',  'e',  'r',
        's',  'i',  'o',  'n',  0x08, 0x03, '2',  '.',  '0',  0x0e, 'm',  'a',  'x',  '-',  'f',
        'r',  'a',  'm',  'e',  '-',  's',  'i',  'z',  'e',  0x03, 0xfc, 0xf0, 0x06, 0x0c, 'c',
        'a',  'p',  'a',  'b',  'i',  'l',  'i',  't',  'i',  'e',  's',  0x08, 0x10, 'p',  'i',
        'p',  'e',  'l',  'i',  'n',  'i',  'n',  'g',  ',',  'a',  's',  'y',  'n',  'c'};
    struct spop_writer w;
    spop_writer_init(&w, out, sizeof(out));
    CHECK_INT_EQ(spop_agent_hello_encode(&w, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(want));
    CHECK(memcmp(out, want, sizeof(want)) == 0);

    /* and it decodes back, as HAProxy would read it */
    struct spop_frame f;
    struct spop_agent_hello back;
    CHECK_INT_EQ(frame_of(out, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &back), SPOP_STATUS_NORMAL);
    CHECK(spop_bytes_eq((const uint8_t *)back.version, back.version_len, "2.0"));
    CHECK_INT_EQ(back.max_frame_size, 16380);
    CHECK_INT_EQ(back.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC);
}

static void test_hello_healthcheck(void)
{
    uint8_t buf[256];
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    size_t n = make_hello(buf, sizeof(buf), "2.0", 16380, "", true);
    CHECK_INT_EQ(hello_answer(buf, n, 16380, 0, &h, &a), SPOP_STATUS_NORMAL);
    CHECK(h.healthcheck);
    CHECK_INT_EQ(h.capabilities, 0);
    /* healthcheck: false is the same as absent */
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, 0);
    struct spop_value v = spop_str("2.0");
    spop_kv_encode(&w, "supported-versions", &v);
    v = spop_uint32(1024);
    spop_kv_encode(&w, "max-frame-size", &v);
    v = spop_str("async");
    spop_kv_encode(&w, "capabilities", &v);
    v = spop_bool(false);
    spop_kv_encode(&w, "healthcheck", &v);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(hello_answer(buf, w.len, 16380, SPOP_CAP_ASYNC, &h, &a), SPOP_STATUS_NORMAL);
    CHECK(!h.healthcheck);
    CHECK(h.engine_id == NULL);
    CHECK_INT_EQ(a.max_frame_size, 1024);
}

static void test_hello_versions(void)
{
    static const struct {
        const char *versions;
        enum spop_status want;
    } cases[] = {
        {"2.0", SPOP_STATUS_NORMAL},         {"2.5, 1.0", SPOP_STATUS_NORMAL},
        {" 3.0 , 2.1 ", SPOP_STATUS_NORMAL}, {"abc,2.0", SPOP_STATUS_NORMAL},
        {"1.0", SPOP_STATUS_BAD_VERSION},    {"1.9,3.0", SPOP_STATUS_BAD_VERSION},
        {"", SPOP_STATUS_BAD_VERSION},       {"2", SPOP_STATUS_BAD_VERSION},
        {"2.0x", SPOP_STATUS_BAD_VERSION},   {"2.", SPOP_STATUS_BAD_VERSION},
        {".0", SPOP_STATUS_BAD_VERSION},     {"20.0", SPOP_STATUS_BAD_VERSION},
        {"2 .0", SPOP_STATUS_BAD_VERSION},   {"99999999999.0", SPOP_STATUS_BAD_VERSION},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[256];
        struct spop_haproxy_hello h;
        struct spop_agent_hello a;
        size_t n = make_hello(buf, sizeof(buf), cases[i].versions, 16380, "", false);
        enum spop_status st = hello_answer(buf, n, 16380, 0, &h, &a);
        if (st != cases[i].want)
            printf("#   versions \"%s\"\n", cases[i].versions);
        CHECK_INT_EQ(st, cases[i].want);
    }
}

static void test_hello_max_frame_size(void)
{
    uint8_t buf[256];
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    size_t n = make_hello(buf, sizeof(buf), "2.0", 255, "", false);
    CHECK_INT_EQ(hello_answer(buf, n, 16380, 0, &h, &a), SPOP_STATUS_BAD_FRAME_SIZE);
    n = make_hello(buf, sizeof(buf), "2.0", 0, "", false);
    CHECK_INT_EQ(hello_answer(buf, n, 16380, 0, &h, &a), SPOP_STATUS_BAD_FRAME_SIZE);
    n = make_hello(buf, sizeof(buf), "2.0", 256, "", false);
    CHECK_INT_EQ(hello_answer(buf, n, 16380, 0, &h, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.max_frame_size, 256);
    n = make_hello(buf, sizeof(buf), "2.0", UINT32_MAX, "", false);
    CHECK_INT_EQ(hello_answer(buf, n, 16380, 0, &h, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.max_frame_size, 16380); /* min(ours, theirs) */
    n = make_hello(buf, sizeof(buf), "2.0", 1000, "", false);
    CHECK_INT_EQ(hello_answer(buf, n, 65536, 0, &h, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.max_frame_size, 1000);
    /* our own limit below the protocol minimum is refused too */
    CHECK_INT_EQ(hello_answer(buf, n, 100, 0, &h, &a), SPOP_STATUS_BAD_FRAME_SIZE);
}

/* A HAPROXY-HELLO with chosen items: NULL name/value pairs are left out. */
static size_t hello_with(uint8_t *buf, size_t cap, uint8_t type, uint32_t flags, uint64_t sid,
                         const struct spop_kv *items, size_t n_items)
{
    struct spop_writer w;
    spop_writer_init(&w, buf, cap);
    size_t mark = spop_frame_begin(&w, type, flags, sid, 0);
    for (size_t i = 0; i < n_items; i++)
        spop_kv_encode_n(&w, items[i].name, items[i].name_len, &items[i].value);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    return w.len;
}

#define KV(n, v)                                                                                   \
    {                                                                                              \
        (const uint8_t *)(n), sizeof(n) - 1, v                                                     \
    }

static void test_hello_errors(void)
{
    uint8_t buf[256];
    struct spop_haproxy_hello h;
    struct spop_agent_hello a;
    const struct spop_kv full[] = {KV("supported-versions", spop_str("2.0")),
                                   KV("max-frame-size", spop_uint32(16380)),
                                   KV("capabilities", spop_str("pipelining")),
                                   KV("x-unknown", spop_ipv6((const uint8_t *)"0123456789abcdef"))};
    size_t n;
#define ANSWER() hello_answer(buf, n, 16380, SPOP_CAP_PIPELINING, &h, &a)
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, full, 4);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NORMAL); /* unknown items are skipped */
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, full + 1, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NO_VERSION);
    const struct spop_kv no_mfs[] = {full[0], full[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, no_mfs, 2);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NO_FRAME_SIZE);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, full, 2);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NO_CAPABILITIES);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, NULL, 0);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NO_VERSION);
    /* FIN unset: a HELLO cannot be fragmented */
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, 0, 0, full, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_FRAG_NOT_SUPPORTED);
    /* stream id must be 0 */
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 7, full, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    /* wrongly typed items */
    const struct spop_kv bad_vsn[] = {KV("supported-versions", spop_uint32(2)), full[1], full[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, bad_vsn, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    const struct spop_kv bad_mfs[] = {full[0], KV("max-frame-size", spop_str("16380")), full[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, bad_mfs, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    const struct spop_kv neg_mfs[] = {full[0], KV("max-frame-size", spop_int64(-1)), full[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, neg_mfs, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    const struct spop_kv i64_mfs[] = {full[0], KV("max-frame-size", spop_int64(4096)), full[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, i64_mfs, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_NORMAL); /* any integer type, as HAProxy reads it */
    CHECK_INT_EQ(a.max_frame_size, 4096);
    const struct spop_kv bad_caps[] = {full[0], full[1], KV("capabilities", spop_bool(true))};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, bad_caps, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    const struct spop_kv bad_hc[] = {full[0], full[1], full[2], KV("healthcheck", spop_str("1"))};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, bad_hc, 4);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    const struct spop_kv bad_eng[] = {full[0], full[1], full[2], KV("engine-id", spop_null())};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, bad_eng, 4);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    /* another frame type given to the HELLO decoder */
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 0, full, 3);
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
    /* a KV-LIST cut in the middle of an item */
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, full, 3);
    buf[n++] = 5; /* a name of 5 bytes that never comes */
    spop_store_u32be(buf, (uint32_t)(n - 4));
    CHECK_INT_EQ(ANSWER(), SPOP_STATUS_INVALID);
#undef ANSWER
}

static void test_capabilities(void)
{
    static const struct {
        const char *s;
        unsigned want;
    } cases[] = {
        {"pipelining,async", SPOP_CAP_PIPELINING | SPOP_CAP_ASYNC},
        {" pipelining , async ,\tfragmentation ", 7},
        {"async", SPOP_CAP_ASYNC},
        {"fragmentation,foo,,", SPOP_CAP_FRAGMENTATION},
        {"", 0},
        {",,,", 0},
        {"pipeliningx,asyn,pipe lining", 0},
        {"PIPELINING", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT_EQ(spop_capabilities_parse((const uint8_t *)cases[i].s, strlen(cases[i].s)),
                     cases[i].want);
    CHECK_INT_EQ(spop_capabilities_parse(NULL, 0), 0);

    char buf[SPOP_CAPABILITIES_MAX];
    CHECK_INT_EQ(spop_capabilities_format(7, buf, sizeof(buf)), 30);
    CHECK_STR_EQ(buf, "pipelining,async,fragmentation");
    CHECK_INT_EQ(spop_capabilities_format(SPOP_CAP_ASYNC | SPOP_CAP_FRAGMENTATION, buf, 64), 19);
    CHECK_STR_EQ(buf, "async,fragmentation");
    CHECK_INT_EQ(spop_capabilities_format(0, buf, sizeof(buf)), 0);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(spop_capabilities_format(7, buf, 30), 0); /* no room for the NUL */
    CHECK_STR_EQ(buf, "");

    /* negotiation: pipelining/async need both sides; fragmentation is ours to announce */
    struct spop_haproxy_hello h = {.versions = (const uint8_t *)"2.0",
                                   .versions_len = 3,
                                   .max_frame_size = 16380,
                                   .capabilities = SPOP_CAP_PIPELINING};
    struct spop_agent_limits ours = {16380, 7};
    struct spop_agent_hello a;
    CHECK_INT_EQ(spop_hello_negotiate(&h, &ours, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_PIPELINING | SPOP_CAP_FRAGMENTATION);
    ours.capabilities = SPOP_CAP_ASYNC;
    h.capabilities = 7;
    CHECK_INT_EQ(spop_hello_negotiate(&h, &ours, &a), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(a.capabilities, SPOP_CAP_ASYNC);
}

static void test_agent_hello_decode_errors(void)
{
    uint8_t buf[256];
    struct spop_frame f;
    struct spop_agent_hello a;
    const struct spop_kv good[] = {KV("version", spop_str("2.0")),
                                   KV("max-frame-size", spop_uint32(300)),
                                   KV("capabilities", spop_str(""))};
    size_t n = hello_with(buf, sizeof(buf), SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, good, 3);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_NORMAL);
    const struct spop_kv old[] = {KV("version", spop_str("1.0")), good[1], good[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, old, 3);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_BAD_VERSION);
    const struct spop_kv two[] = {KV("version", spop_str("2.0,2.1")), good[1], good[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, two, 3);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_BAD_VERSION);
    const struct spop_kv small[] = {good[0], KV("max-frame-size", spop_uint32(255)), good[2]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, small, 3);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_BAD_FRAME_SIZE);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_AGENT_HELLO, SPOP_FLAG_FIN, 0, good, 2);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_NO_CAPABILITIES);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_HELLO, SPOP_FLAG_FIN, 0, good, 3);
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_agent_hello_decode(&f, &a), SPOP_STATUS_INVALID);
}

/* ---- DISCONNECT and status codes ---- */

static const uint32_t all_codes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99};

static void test_status_names(void)
{
    for (size_t i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++) {
        CHECK(spop_status_is_known(all_codes[i]));
        CHECK(strcmp(spop_status_name(all_codes[i]), "unassigned") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(spop_status_name(all_codes[i]), spop_status_name(all_codes[j])) != 0);
            CHECK(strcmp(spop_status_message(all_codes[i]), spop_status_message(all_codes[j])) !=
                  0);
        }
    }
    CHECK_STR_EQ(spop_status_name(SPOP_STATUS_INVALID), "invalid");
    CHECK_STR_EQ(spop_status_message(SPOP_STATUS_BAD_VERSION), "unsupported version");
    CHECK_STR_EQ(spop_status_message(SPOP_STATUS_TOO_BIG), "frame is too big");
    CHECK_STR_EQ(spop_status_name(SPOP_STATUS_UNKNOWN), "unknown");
    CHECK(!spop_status_is_known(14));
    CHECK(!spop_status_is_known(98));
    CHECK(!spop_status_is_known(UINT32_MAX));
    CHECK_STR_EQ(spop_status_name(14), "unassigned");
}

static void test_disconnect_every_status(void)
{
    for (size_t i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++) {
        uint8_t buf[256];
        struct spop_writer w;
        struct spop_frame f;
        struct spop_disconnect d;
        spop_writer_init(&w, buf, sizeof(buf));
        CHECK_INT_EQ(spop_disconnect_encode(&w, SPOP_FRAME_AGENT_DISCONNECT, all_codes[i], NULL),
                     SPOP_STATUS_NORMAL);
        CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
        CHECK_INT_EQ(f.type, SPOP_FRAME_AGENT_DISCONNECT);
        CHECK(f.flags == SPOP_FLAG_FIN && f.stream_id == 0 && f.frame_id == 0);
        CHECK_INT_EQ(spop_disconnect_decode(&f, &d), SPOP_STATUS_NORMAL);
        CHECK_INT_EQ(d.status_code, all_codes[i]);
        CHECK(spop_bytes_eq(d.message, d.message_len, spop_status_message(all_codes[i])));
    }
    /* HAProxy's side with a custom message and a private code */
    uint8_t buf[64];
    struct spop_writer w;
    struct spop_frame f;
    struct spop_disconnect d;
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(spop_disconnect_encode(&w, SPOP_FRAME_HAPROXY_DISCONNECT, 4242, "bye"),
                 SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(agent_handle(buf, w.len), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_disconnect_decode(&f, &d), SPOP_STATUS_NORMAL);
    CHECK(d.status_code == 4242 && spop_bytes_eq(d.message, d.message_len, "bye"));
    /* a message longer than the writer */
    spop_writer_init(&w, buf, 40);
    CHECK_INT_EQ(spop_disconnect_encode(&w, SPOP_FRAME_AGENT_DISCONNECT, 4,
                                        "a message that cannot fit in forty bytes at all"),
                 SPOP_STATUS_TOO_BIG);
}

static void test_disconnect_errors(void)
{
    uint8_t buf[128];
    const struct spop_kv good[] = {KV("status-code", spop_uint32(3)), KV("message", spop_str("m"))};
    struct spop_frame f;
    struct spop_disconnect d;
    size_t n;
#define DECODE() (frame_of(buf, n, &f) ? 999 : spop_disconnect_decode(&f, &d))
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, good, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_NORMAL);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, good, 1);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID); /* no message */
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, good + 1, 1);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID); /* no status-code */
    const struct spop_kv str_code[] = {KV("status-code", spop_str("3")), good[1]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, str_code, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID);
    const struct spop_kv bin_msg[] = {good[0], KV("message", spop_bin("m", 1))};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, bin_msg, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID);
    const struct spop_kv i32_code[] = {KV("status-code", spop_int32(10)), good[1]};
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 0, i32_code, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(d.status_code, 10);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, 0, 0, good, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_FRAG_NOT_SUPPORTED);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_HAPROXY_DISCONNECT, SPOP_FLAG_FIN, 1, good, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID);
    n = hello_with(buf, sizeof(buf), SPOP_FRAME_ACK, SPOP_FLAG_FIN, 0, good, 2);
    CHECK_INT_EQ(DECODE(), SPOP_STATUS_INVALID);
#undef DECODE
}

/* ---- NOTIFY ---- */

static size_t make_notify(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid)
{
    static const uint8_t v4[4] = {192, 168, 1, 2};
    struct spop_writer w;
    spop_writer_init(&w, buf, cap);
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, sid, fid);
    spop_notify_add_message(&w, "route", 3);
    struct spop_value v = spop_str("r-17");
    spop_kv_encode(&w, "id", &v);
    v = spop_str("/api/x");
    spop_kv_encode(&w, "path", &v);
    v = spop_ipv4(v4);
    spop_kv_encode(&w, "src", &v);
    spop_notify_add_message(&w, "empty", 0);
    spop_notify_add_message(&w, "headers", 2);
    v = spop_bin("\x04host\x01x\0\0", 10);
    spop_kv_encode_n(&w, "", 0, &v);
    v = spop_null();
    spop_kv_encode(&w, "cookie", &v);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    return w.len;
}

static void test_notify_messages(void)
{
    uint8_t buf[256];
    size_t n = make_notify(buf, sizeof(buf), 5, 264432);
    struct spop_frame f;
    struct spop_notify nt;
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_notify_decode(&f, &nt), SPOP_STATUS_NORMAL);
    CHECK(nt.stream_id == 5 && nt.frame_id == 264432);
    CHECK_INT_EQ(nt.nb_messages, 3);

    struct spop_message_iter mi;
    struct spop_message m;
    struct spop_kv kv;
    const char *names[] = {"route", "empty", "headers"};
    const unsigned nargs[] = {3, 0, 2};
    unsigned i = 0, total_args = 0;
    for (spop_message_iter_init(&mi, &nt); spop_message_next(&mi, &m); i++) {
        CHECK(i < 3);
        if (i >= 3)
            break;
        CHECK(spop_bytes_eq(m.name, m.name_len, names[i]));
        CHECK_INT_EQ(m.nb_args, nargs[i]);
        unsigned k = 0;
        while (spop_kv_next(&m.args, &kv))
            k++;
        CHECK_INT_EQ(m.args.status, SPOP_STATUS_NORMAL);
        CHECK_INT_EQ(k, nargs[i]);
        total_args += k;
        if (i == 0) {
            struct spop_value v;
            CHECK(spop_message_find_arg(&m, "path", &v) && spop_value_is_str(&v, "/api/x"));
            CHECK(spop_message_find_arg(&m, "src", &v) && v.type == SPOP_TYPE_IPV4 &&
                  v.u.ipv4[0] == 192 && v.u.ipv4[3] == 2);
            CHECK(!spop_message_find_arg(&m, "nope", &v));
        }
    }
    CHECK_INT_EQ(i, 3);
    CHECK_INT_EQ(total_args, 5);
    CHECK_INT_EQ(mi.status, SPOP_STATUS_NORMAL);
    /* a message's args stop at the message: iterating one leaves the next intact */
    spop_message_iter_init(&mi, &nt);
    CHECK(spop_message_next(&mi, &m));
    CHECK(spop_message_next(&mi, &m) && spop_bytes_eq(m.name, m.name_len, "empty"));
    CHECK(!spop_kv_next(&m.args, &kv));
    CHECK_INT_EQ(m.args.status, SPOP_STATUS_NORMAL);
    /* NOTIFY with no message at all */
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_frame_begin(&w, SPOP_FRAME_NOTIFY, SPOP_FLAG_FIN, 1, 1);
    CHECK_INT_EQ(spop_frame_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(spop_notify_decode(&f, &nt), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(nt.nb_messages, 0);
    spop_message_iter_init(&mi, &nt);
    CHECK(!spop_message_next(&mi, &m));
}

static void test_notify_malformed(void)
{
    uint8_t buf[256];
    size_t n = make_notify(buf, sizeof(buf), 1, 2);
    struct spop_frame f, g;
    struct spop_notify nt;
    CHECK_INT_EQ(frame_of(buf, n, &f), SPOP_STATUS_NORMAL);
    /* every cut of the payload fails, except at message boundaries */
    unsigned ok = 0;
    for (size_t cut = 0; cut <= f.payload_len; cut++) {
        g = f;
        g.payload_len = cut;
        enum spop_status st = spop_notify_decode(&g, &nt);
        CHECK(st == SPOP_STATUS_NORMAL || st == SPOP_STATUS_INVALID);
        ok += st == SPOP_STATUS_NORMAL;
    }
    CHECK_INT_EQ(ok, 4); /* 0, 1, 2 and 3 messages */
    /* more args announced than present */
    uint8_t bad[256];
    CHECK(f.payload_len <= sizeof(bad));
    memcpy(bad, f.payload, f.payload_len);
    bad[6] = 200; /* "route" announces 200 args */
    g = f;
    g.payload = bad;
    CHECK_INT_EQ(spop_notify_decode(&g, &nt), SPOP_STATUS_INVALID);
    /* a fragment handed to the decoder directly */
    g = f;
    g.flags = 0;
    CHECK_INT_EQ(spop_notify_decode(&g, &nt), SPOP_STATUS_FRAG_NOT_SUPPORTED);
    g = f;
    g.type = SPOP_FRAME_ACK;
    CHECK_INT_EQ(spop_notify_decode(&g, &nt), SPOP_STATUS_INVALID);
    /* the message iterator reports a bad list it is given directly */
    struct spop_notify forged = {.messages = (const uint8_t *)"\x03", .messages_len = 1};
    struct spop_message_iter mi;
    struct spop_message m;
    spop_message_iter_init(&mi, &forged);
    CHECK(!spop_message_next(&mi, &m));
    CHECK_INT_EQ(mi.status, SPOP_STATUS_INVALID);
}

/* ---- ACK ---- */

static void test_ack_set_var_every_type(void)
{
    static const uint8_t v4[4] = {127, 0, 0, 1};
    static const uint8_t v6[16] = {[15] = 1};
    const struct spop_value vals[] = {
        spop_null(),        spop_bool(true),         spop_int32(INT32_MIN), spop_uint32(UINT32_MAX),
        spop_int64(-7),     spop_uint64(UINT64_MAX), spop_ipv4(v4),         spop_ipv6(v6),
        spop_str("be_api"), spop_bin("\0\xff", 2)};
    const size_t nv = sizeof(vals) / sizeof(vals[0]);
    uint8_t buf[512];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_ack_begin(&w, 77, 264431);
    for (size_t i = 0; i < nv; i++) {
        char name[16];
        snprintf(name, sizeof(name), "v%zu", i);
        spop_ack_set_var(&w, (enum spop_scope)(i % 5), name, &vals[i]);
    }
    spop_ack_unset_var(&w, SPOP_SCOPE_RESPONSE, "gone");
    CHECK_INT_EQ(spop_ack_end(&w, mark), SPOP_STATUS_NORMAL);

    struct spop_frame f;
    struct spop_action_iter it;
    struct spop_action a;
    CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK(f.type == SPOP_FRAME_ACK && f.flags == SPOP_FLAG_FIN);
    CHECK(f.stream_id == 77 && f.frame_id == 264431);
    CHECK_INT_EQ(spop_ack_decode(&f, &it), SPOP_STATUS_NORMAL);
    size_t i = 0;
    while (spop_action_next(&it, &a)) {
        if (i < nv) {
            char name[16];
            snprintf(name, sizeof(name), "v%zu", i);
            CHECK_INT_EQ(a.type, SPOP_ACTION_SET_VAR);
            CHECK_INT_EQ(a.scope, i % 5);
            CHECK(spop_bytes_eq(a.name, a.name_len, name));
            CHECK_INT_EQ(a.value.type, vals[i].type);
            switch (vals[i].type) {
            case SPOP_TYPE_STRING:
            case SPOP_TYPE_BINARY:
                CHECK(a.value.u.bytes.len == vals[i].u.bytes.len &&
                      memcmp(a.value.u.bytes.ptr, vals[i].u.bytes.ptr, vals[i].u.bytes.len) == 0);
                break;
            case SPOP_TYPE_IPV6:
                CHECK(memcmp(a.value.u.ipv6, v6, 16) == 0);
                break;
            case SPOP_TYPE_IPV4:
                CHECK(memcmp(a.value.u.ipv4, v4, 4) == 0);
                break;
            case SPOP_TYPE_BOOL:
                CHECK(a.value.u.boolean);
                break;
            case SPOP_TYPE_INT32:
                CHECK(a.value.u.int32 == INT32_MIN);
                break;
            case SPOP_TYPE_UINT32:
                CHECK(a.value.u.uint32 == UINT32_MAX);
                break;
            case SPOP_TYPE_INT64:
                CHECK(a.value.u.int64 == -7);
                break;
            case SPOP_TYPE_UINT64:
                CHECK(a.value.u.uint64 == UINT64_MAX);
                break;
            case SPOP_TYPE_NULL:
                break;
            }
        } else {
            CHECK_INT_EQ(a.type, SPOP_ACTION_UNSET_VAR);
            CHECK_INT_EQ(a.scope, SPOP_SCOPE_RESPONSE);
            CHECK(spop_bytes_eq(a.name, a.name_len, "gone"));
        }
        i++;
    }
    CHECK_INT_EQ(i, nv + 1);
    CHECK_INT_EQ(it.status, SPOP_STATUS_NORMAL);
    CHECK_STR_EQ(spop_scope_name(SPOP_SCOPE_TRANSACTION), "txn");
    CHECK_STR_EQ(spop_scope_name(9), "unknown");
}

static void test_ack_exact_bytes(void)
{
    /* the ACK HAProxy 2.6 applied in the capture (txn.spoke.verdict = "allow") */
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x19, 0x67, 0x00, 0x00, 0x00, 0x01, 0x00,
                                   0x01, 0x01, 0x03, 0x02, 0x07, 'v',  'e',  'r',  'd',  'i',
                                   'c',  't',  0x08, 0x05, 'a',  'l',  'l',  'o',  'w'};
    uint8_t buf[64];
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_ack_begin(&w, 0, 1);
    struct spop_value v = spop_str("allow");
    spop_ack_set_var(&w, SPOP_SCOPE_TRANSACTION, "verdict", &v);
    CHECK_INT_EQ(spop_ack_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(want));
    CHECK(memcmp(buf, want, sizeof(want)) == 0);
    /* an empty ACK and an ACK/ABORT */
    spop_writer_init(&w, buf, sizeof(buf));
    mark = spop_ack_begin(&w, 3, 4);
    CHECK_INT_EQ(spop_ack_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, 11);
    spop_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(spop_ack_abort_encode(&w, 3, 4), SPOP_STATUS_NORMAL);
    struct spop_frame f;
    CHECK_INT_EQ(frame_of(buf, w.len, &f), SPOP_STATUS_NORMAL);
    CHECK(f.type == SPOP_FRAME_ACK && f.flags == (SPOP_FLAG_FIN | SPOP_FLAG_ABORT));
    CHECK(f.stream_id == 3 && f.frame_id == 4 && f.payload_len == 0);
}

static void test_ack_too_big(void)
{
    /* a writer sized to a 256-byte max-frame-size refuses a bigger ACK */
    uint8_t buf[SPOP_FRAME_LEN_SIZE + SPOP_MIN_FRAME_SIZE];
    char big[300];
    memset(big, 'x', sizeof(big));
    struct spop_writer w;
    spop_writer_init(&w, buf, sizeof(buf));
    size_t mark = spop_ack_begin(&w, 1, 1);
    struct spop_value v = spop_strn(big, 200);
    spop_ack_set_var(&w, SPOP_SCOPE_TRANSACTION, "a", &v);
    CHECK(spop_writer_ok(&w));
    spop_ack_set_var(&w, SPOP_SCOPE_TRANSACTION, "b", &v);
    CHECK(!spop_writer_ok(&w));
    CHECK_INT_EQ(spop_ack_end(&w, mark), SPOP_STATUS_TOO_BIG);
    /* exactly max-frame-size fits */
    spop_writer_init(&w, buf, sizeof(buf));
    mark = spop_ack_begin(&w, 1, 1); /* 7 bytes of header */
    size_t room = SPOP_MIN_FRAME_SIZE - 7 - 3 - 2 - 1 - 2;
    v = spop_strn(big, room);
    spop_ack_set_var(&w, SPOP_SCOPE_TRANSACTION, "a", &v);
    CHECK_INT_EQ(spop_ack_end(&w, mark), SPOP_STATUS_NORMAL);
    CHECK_INT_EQ(w.len, sizeof(buf));
}

static void test_ack_decode_errors(void)
{
    static const struct {
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {{3, 3, 2, 1, 'a', 0}, 6},    /* unknown action type 3 */
        {{1, 2, 2, 1, 'a', 0}, 6},    /* set-var with 2 args */
        {{2, 3, 2, 1, 'a'}, 5},       /* unset-var with 3 args */
        {{1, 3, 5, 1, 'a', 0}, 6},    /* scope 5 */
        {{1, 3, 2, 5, 'a', 0}, 6},    /* name longer than the frame */
        {{1, 3, 2, 1, 'a', 0x0A}, 6}, /* reserved data type */
        {{1, 3, 2, 1, 'a'}, 5},       /* value missing */
        {{1}, 1},                     /* cut after the type */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct spop_frame f = {.type = SPOP_FRAME_ACK,
                               .flags = SPOP_FLAG_FIN,
                               .payload = cases[i].bytes,
                               .payload_len = cases[i].len};
        struct spop_action_iter it;
        struct spop_action a;
        CHECK_INT_EQ(spop_ack_decode(&f, &it), SPOP_STATUS_NORMAL);
        CHECK(!spop_action_next(&it, &a));
        CHECK_INT_EQ(it.status, SPOP_STATUS_INVALID);
    }
    struct spop_frame f = {.type = SPOP_FRAME_NOTIFY, .flags = SPOP_FLAG_FIN};
    struct spop_action_iter it;
    CHECK_INT_EQ(spop_ack_decode(&f, &it), SPOP_STATUS_INVALID);
    f.type = SPOP_FRAME_ACK;
    f.flags = 0;
    CHECK_INT_EQ(spop_ack_decode(&f, &it), SPOP_STATUS_FRAG_NOT_SUPPORTED);
}

/* ---- whole frames an agent might receive ---- */

static void test_garbage_frames(void)
{
    static const struct {
        const char *what;
        uint8_t bytes[32];
        size_t len;
        enum spop_status want;
    } cases[] = {
        {"length 0", {0, 0, 0, 0}, 4, SPOP_STATUS_INVALID},
        {"length 6", {0, 0, 0, 6, 1, 0, 0, 0, 1, 0}, 10, SPOP_STATUS_INVALID},
        {"length 2^31", {0x80, 0, 0, 0, 1}, 5, SPOP_STATUS_TOO_BIG},
        {"length max+1", {0, 0, 0x3F, 0xFD, 1}, 5, SPOP_STATUS_TOO_BIG},
        {"varint stream-id cut", {0, 0, 0, 7, 1, 0, 0, 0, 1, 0xF0, 0x80}, 11, SPOP_STATUS_INVALID},
        {"ABORT without FIN", {0, 0, 0, 7, 3, 0, 0, 0, 2, 1, 1}, 11, SPOP_STATUS_INVALID},
        {"HELLO, no items", {0, 0, 0, 7, 1, 0, 0, 0, 1, 0, 0}, 11, SPOP_STATUS_NO_VERSION},
        {"HELLO, garbage KV",
         {0, 0, 0, 9, 1, 0, 0, 0, 1, 0, 0, 0xFF, 0xFF},
         13,
         SPOP_STATUS_INVALID},
        {"HELLO, ids", {0, 0, 0, 7, 1, 0, 0, 0, 1, 1, 0}, 11, SPOP_STATUS_INVALID},
        {"HELLO fragment", {0, 0, 0, 7, 1, 0, 0, 0, 0, 0, 0}, 11, SPOP_STATUS_FRAG_NOT_SUPPORTED},
        {"NOTIFY fragment", {0, 0, 0, 7, 3, 0, 0, 0, 0, 1, 1}, 11, SPOP_STATUS_FRAG_NOT_SUPPORTED},
        {"NOTIFY garbage", {0, 0, 0, 9, 3, 0, 0, 0, 1, 1, 1, 0x05, 'a'}, 13, SPOP_STATUS_INVALID},
        {"NOTIFY reserved type",
         {0, 0, 0, 12, 3, 0, 0, 0, 1, 1, 1, 1, 'm', 1, 1, 'k', 0x0C},
         16,
         SPOP_STATUS_INVALID},
        {"UNSET out of the blue",
         {0, 0, 0, 7, 0, 0, 0, 0, 1, 1, 1},
         11,
         SPOP_STATUS_FRAME_ID_NOT_FOUND},
        {"DISCONNECT empty", {0, 0, 0, 7, 2, 0, 0, 0, 1, 0, 0}, 11, SPOP_STATUS_INVALID},
        {"agent frame from HAProxy", {0, 0, 0, 7, 103, 0, 0, 0, 1, 0, 0}, 11, SPOP_STATUS_INVALID},
        {"NOTIFY, empty", {0, 0, 0, 7, 3, 0, 0, 0, 1, 1, 1}, 11, SPOP_STATUS_NORMAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum spop_status st = agent_handle(cases[i].bytes, cases[i].len);
        if (st != cases[i].want)
            printf("#   case \"%s\": %s\n", cases[i].what, spop_status_name(st));
        CHECK_INT_EQ(st, cases[i].want);
    }
}

static void test_random_bytes_never_crash(void)
{
    /* cheap in-process fuzzing: deterministic random frames through every decoder */
    uint8_t buf[96];
    uint32_t seed = 12345;
    for (int round = 0; round < 200000; round++) {
        size_t len = 4 + (size_t)(round % 60);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        spop_store_u32be(buf, (uint32_t)(len - 4));
        buf[4] = (uint8_t)(round % 4); /* a type HAProxy sends */
        buf[5] = buf[6] = buf[7] = 0;
        buf[8] = 1;
        enum spop_status st = agent_handle(buf, len);
        CHECK(spop_status_is_known(st));
    }
}

TEST_MAIN(TEST_CASE(test_varint_boundaries), TEST_CASE(test_varint_exact_bytes),
          TEST_CASE(test_varint_exhaustive_small), TEST_CASE(test_varint_rejects_overflow),
          TEST_CASE(test_value_roundtrip_every_type), TEST_CASE(test_value_long_string_in_place),
          TEST_CASE(test_value_exact_bytes), TEST_CASE(test_value_integer_ranges),
          TEST_CASE(test_value_truncated_and_reserved), TEST_CASE(test_kv_list),
          TEST_CASE(test_writer_overflow_is_sticky), TEST_CASE(test_frame_peek),
          TEST_CASE(test_frame_header_roundtrip), TEST_CASE(test_hello_handshake),
          TEST_CASE(test_hello_healthcheck), TEST_CASE(test_hello_versions),
          TEST_CASE(test_hello_max_frame_size), TEST_CASE(test_hello_errors),
          TEST_CASE(test_capabilities), TEST_CASE(test_agent_hello_decode_errors),
          TEST_CASE(test_status_names), TEST_CASE(test_disconnect_every_status),
          TEST_CASE(test_disconnect_errors), TEST_CASE(test_notify_messages),
          TEST_CASE(test_notify_malformed), TEST_CASE(test_ack_set_var_every_type),
          TEST_CASE(test_ack_exact_bytes), TEST_CASE(test_ack_too_big),
          TEST_CASE(test_ack_decode_errors), TEST_CASE(test_garbage_frames),
          TEST_CASE(test_random_bytes_never_crash))
