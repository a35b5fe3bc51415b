/* test_watch_parser.c - splitting a watch stream: chunking, strings, limits, errors. */
#include <stdint.h>
#include <stdlib.h>

#include "kube/watch_parser.h"
#include "test.h"

#define MAX_EVENTS 16

/* What the callback saw. */
struct seen {
    int n;
    enum watch_event_type types[MAX_EVENTS];
    char *dumps[MAX_EVENTS]; /* each object, compact with sorted keys */
    int stop_after;          /* return 7 from the n-th event when > 0 */
};

static int record(void *ud, enum watch_event_type type, json_t *object)
{
    struct seen *s = ud;
    if (s->n < MAX_EVENTS) {
        s->types[s->n] = type;
        s->dumps[s->n] = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS);
    }
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static void seen_free(struct seen *s)
{
    for (int i = 0; i < s->n && i < MAX_EVENTS; i++)
        free(s->dumps[i]);
    memset(s, 0, sizeof(*s));
}

static int feed_str(struct watch_parser *p, const char *str, struct seen *s)
{
    return watch_parser_feed(p, str, strlen(str), record, s);
}

static const char ONE[] = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Ingress\",\"metadata\":"
                          "{\"name\":\"web\",\"namespace\":\"default\",\"resourceVersion\":\"42\"}"
                          ",\"spec\":{\"rules\":[{\"host\":\"a.example\"}]}}}\n";
static const char ONE_DUMP[] = "{\"kind\":\"Ingress\",\"metadata\":{\"name\":\"web\",\"namespace\":"
                               "\"default\",\"resourceVersion\":\"42\"},\"spec\":{\"rules\":[{"
                               "\"host\":\"a.example\"}]}}";

static void test_one_event(void)
{
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 1 << 20);
    CHECK_INT_EQ(feed_str(&p, ONE, &s), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.types[0], WATCH_ADDED);
    CHECK_STR_EQ(s.dumps[0], ONE_DUMP);
    CHECK_INT_EQ(p.len, 0);
    CHECK_STR_EQ(p.error, "");
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_split_at_every_offset(void)
{
    size_t n = strlen(ONE);
    for (size_t cut = 0; cut <= n; cut++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 1 << 20);
        CHECK_INT_EQ(watch_parser_feed(&p, ONE, cut, record, &s), 0);
        CHECK_INT_EQ(watch_parser_feed(&p, ONE + cut, n - cut, record, &s), 0);
        CHECK_INT_EQ(s.n, 1);
        if (s.n == 1)
            CHECK_STR_EQ(s.dumps[0], ONE_DUMP);
        seen_free(&s);
        watch_parser_free(&p);
    }
    /* And one byte at a time. */
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 1 << 20);
    for (size_t i = 0; i < n; i++)
        CHECK_INT_EQ(watch_parser_feed(&p, ONE + i, 1, record, &s), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.dumps[0], ONE_DUMP);
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_merged_events(void)
{
    const char *stream = "{\"type\":\"ADDED\",\"object\":{\"a\":1}}"
                         "{\"type\":\"MODIFIED\",\"object\":{\"a\":2}}"
                         "{\"type\":\"DELETED\",\"object\":{\"a\":3}}"
                         "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
                         "\"9\"}}}";
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, stream, &s), 0);
    CHECK_INT_EQ(s.n, 4);
    CHECK_INT_EQ(s.types[0], WATCH_ADDED);
    CHECK_INT_EQ(s.types[1], WATCH_MODIFIED);
    CHECK_INT_EQ(s.types[2], WATCH_DELETED);
    CHECK_INT_EQ(s.types[3], WATCH_BOOKMARK);
    CHECK_STR_EQ(s.dumps[1], "{\"a\":2}");
    CHECK_STR_EQ(s.dumps[3], "{\"metadata\":{\"resourceVersion\":\"9\"}}");
    seen_free(&s);
    /* A feed that ends one event and starts the next. */
    CHECK_INT_EQ(feed_str(&p, "{\"type\":\"ADDED\",\"object\":{\"a\":1}}{\"type\":\"ADD", &s), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(feed_str(&p, "ED\",\"object\":{\"b\":2}}", &s), 0);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(s.dumps[1], "{\"b\":2}");
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_strings_with_braces_and_quotes(void)
{
    /* Braces inside strings, escaped quotes, a backslash right before a
     * closing quote, and "\\\"" sequences: none may move the depth. */
    const char *stream = "{\"type\":\"ADDED\",\"object\":{\"a\":\"}}}{\",\"b\":\"x\\\"}\\\"{\","
                         "\"c\":\"\\\\\",\"d\":\"\\\\\\\"}\",\"e\":\"{\\\\}\"}}"
                         "{\"type\":\"DELETED\",\"object\":{\"k\":\"}\"}}";
    size_t n = strlen(stream);
    for (size_t cut = 0; cut <= n; cut++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 4096);
        CHECK_INT_EQ(watch_parser_feed(&p, stream, cut, record, &s), 0);
        CHECK_INT_EQ(watch_parser_feed(&p, stream + cut, n - cut, record, &s), 0);
        CHECK_INT_EQ(s.n, 2);
        if (s.n == 2) {
            CHECK_STR_EQ(s.dumps[0], "{\"a\":\"}}}{\",\"b\":\"x\\\"}\\\"{\",\"c\":\"\\\\\",\"d\":"
                                     "\"\\\\\\\"}\",\"e\":\"{\\\\}\"}");
            CHECK_STR_EQ(s.dumps[1], "{\"k\":\"}\"}");
        }
        seen_free(&s);
        watch_parser_free(&p);
    }
}

static void test_unicode(void)
{
    /* Raw UTF-8 (2, 3 and 4 bytes), \u escapes and a surrogate pair. */
    const char *stream = "{\"type\":\"ADDED\",\"object\":{\"n\":\"caf\xc3\xa9 \xe2\x82\xac "
                         "\xf0\x9f\x98\x80\",\"e\":\"\\u00e9\\u20ac\\ud83d\\ude00\\u007d\"}}";
    size_t n = strlen(stream);
    for (size_t cut = 0; cut <= n; cut++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 4096);
        CHECK_INT_EQ(watch_parser_feed(&p, stream, cut, record, &s), 0);
        CHECK_INT_EQ(watch_parser_feed(&p, stream + cut, n - cut, record, &s), 0);
        CHECK_INT_EQ(s.n, 1);
        if (s.n == 1)
            CHECK_STR_EQ(s.dumps[0], "{\"e\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80}\",\"n\":"
                                     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
        seen_free(&s);
        watch_parser_free(&p);
    }
    /* A \u0000 escape is valid JSON (an annotation may hold one): the event
     * is decoded, never refused, or one hostile object would stop every
     * update (the watch would fail and the re-list too). */
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, "{\"type\":\"ADDED\",\"object\":{\"n\":\"a\\u0000b\"}}", &s), 0);
    CHECK_INT_EQ(s.n, 1);
    seen_free(&s);
    watch_parser_free(&p);
    /* Invalid UTF-8 is malformed JSON. */
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, "{\"type\":\"ADDED\",\"object\":{\"n\":\"\xc3(\"}}", &s), -1);
    CHECK_INT_EQ(s.n, 0);
    CHECK(strstr(p.error, "malformed") != NULL);
    watch_parser_free(&p);
}

static void test_whitespace_between(void)
{
    const char *stream = "\n \r\n\t{\"type\":\"ADDED\",\"object\":{}}\r\n\r\n"
                         "  {\"type\":\"MODIFIED\",\"object\":{}}\t\t{ \"type\" : \"DELETED\" ,\n"
                         " \"object\" : { } }\n\n";
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, stream, &s), 0);
    CHECK_INT_EQ(s.n, 3);
    CHECK_INT_EQ(s.types[2], WATCH_DELETED);
    CHECK_INT_EQ(p.len, 0);
    /* Only whitespace: nothing happens, nothing is buffered. */
    CHECK_INT_EQ(feed_str(&p, "\n\n   \r\n", &s), 0);
    CHECK_INT_EQ(s.n, 3);
    CHECK_INT_EQ(p.len, 0);
    CHECK_INT_EQ(watch_parser_feed(&p, "", 0, record, &s), 0);
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_leading_garbage(void)
{
    const char *bad[] = {"x{\"type\":\"ADDED\",\"object\":{}}",  "[1]", "\"str\"", "}",
                         "{\"type\":\"ADDED\",\"object\":{}} ,", "\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 4096);
        CHECK_INT_EQ(feed_str(&p, bad[i], &s), -1);
        CHECK(strstr(p.error, "between watch events") != NULL);
        seen_free(&s);
        watch_parser_free(&p);
    }
}

static void test_oversized_event(void)
{
    const char *ev = "{\"type\":\"ADDED\",\"object\":{\"a\":1}}";
    size_t n = strlen(ev);
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, n);
    CHECK_INT_EQ(feed_str(&p, ev, &s), 0); /* exactly the limit is fine */
    CHECK_INT_EQ(s.n, 1);
    watch_parser_free(&p);

    watch_parser_init(&p, n - 1);
    CHECK_INT_EQ(feed_str(&p, ev, &s), -1);
    CHECK_INT_EQ(s.n, 1);
    char want[64];
    snprintf(want, sizeof(want), "larger than %zu bytes", n - 1);
    CHECK(strstr(p.error, want) != NULL);
    /* The error sticks until a reset. */
    CHECK_INT_EQ(feed_str(&p, "{}", &s), -1);
    watch_parser_free(&p);

    /* Over the limit across feeds, byte by byte: never buffers more. */
    watch_parser_init(&p, 100);
    int rc = 0;
    CHECK_INT_EQ(feed_str(&p, "{\"type\":\"ADDED\",\"object\":{\"a\":\"", &s), 0);
    for (int i = 0; i < 200 && rc == 0; i++) {
        rc = watch_parser_feed(&p, "x", 1, record, &s);
        CHECK(p.len <= 100);
    }
    CHECK_INT_EQ(rc, -1);
    CHECK(strstr(p.error, "larger than 100 bytes") != NULL);
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_malformed_json(void)
{
    const char *bad[] = {"{\"type\":\"ADDED\",\"object\":{\"a\":}}",
                         "{\"type\":\"ADDED\" \"object\":{}}",
                         "{\"type\":\"ADDED\",\"object\":{]}}", "{'type':'ADDED'}",
                         "{\"type\":\"ADDED\",\"object\":{\"a\":tru}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 4096);
        CHECK_INT_EQ(feed_str(&p, bad[i], &s), -1);
        CHECK_INT_EQ(s.n, 0);
        CHECK(strncmp(p.error, "malformed JSON in watch event", 29) == 0);
        seen_free(&s);
        watch_parser_free(&p);
    }
    /* Nesting deeper than any real object. */
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 1 << 20);
    char deep[5001];
    memset(deep, '{', 5000);
    deep[5000] = '\0';
    CHECK_INT_EQ(feed_str(&p, deep, &s), -1);
    CHECK(strstr(p.error, "nested deeper") != NULL);
    watch_parser_free(&p);
}

static void test_missing_type_or_object(void)
{
    struct {
        const char *ev, *msg;
    } cases[] = {
        {"{\"object\":{}}", "no string \"type\""},
        {"{\"type\":1,\"object\":{}}", "no string \"type\""},
        {"{\"type\":\"ADDED\"}", "ADDED has no \"object\" object"},
        {"{\"type\":\"MODIFIED\",\"object\":[1]}", "MODIFIED has no \"object\" object"},
        {"{\"type\":\"DELETED\",\"object\":null}", "DELETED has no \"object\" object"},
        {"{\"type\":\"added\",\"object\":{}}", "unknown type \"added\""},
        {"{\"type\":\"\",\"object\":{}}", "unknown type \"\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct watch_parser p;
        struct seen s = {0};
        watch_parser_init(&p, 4096);
        CHECK_INT_EQ(feed_str(&p, cases[i].ev, &s), -1);
        CHECK_INT_EQ(s.n, 0);
        if (!strstr(p.error, cases[i].msg))
            printf("#   error was \"%s\", wanted \"%s\"\n", p.error, cases[i].msg);
        CHECK(strstr(p.error, cases[i].msg) != NULL);
        seen_free(&s);
        watch_parser_free(&p);
    }
}

static void test_error_event_with_status(void)
{
    const char *stream =
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
        "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
        "version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}\n";
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, stream, &s), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.types[0], WATCH_ERROR);
    json_t *status = s.n == 1 ? json_loads(s.dumps[0], 0, NULL) : NULL;
    CHECK(status != NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(status, "code")), 410);
    CHECK_STR_EQ(json_string_value(json_object_get(status, "reason")), "Expired");
    json_decref(status);
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_callback_stops(void)
{
    const char *stream = "{\"type\":\"ADDED\",\"object\":{\"a\":1}}"
                         "{\"type\":\"ADDED\",\"object\":{\"a\":2}}"
                         "{\"type\":\"ADDED\",\"object\":{\"a\":3}}";
    struct watch_parser p;
    struct seen s = {0};
    s.stop_after = 2;
    watch_parser_init(&p, 4096);
    CHECK_INT_EQ(feed_str(&p, stream, &s), 7);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(p.error, "");
    seen_free(&s);
    watch_parser_free(&p);
}

static void test_reset(void)
{
    struct watch_parser p;
    struct seen s = {0};
    watch_parser_init(&p, 4096);
    /* A partial event, inside a string after a backslash... */
    CHECK_INT_EQ(feed_str(&p, "{\"type\":\"ADDED\",\"object\":{\"a\":\"{\\", &s), 0);
    CHECK(p.len > 0);
    watch_parser_reset(&p);
    CHECK_INT_EQ(p.len, 0);
    /* ...is forgotten: a new stream parses from scratch. */
    CHECK_INT_EQ(feed_str(&p, ONE, &s), 0);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.dumps[0], ONE_DUMP);
    /* A reset also clears an error. */
    CHECK_INT_EQ(feed_str(&p, "garbage", &s), -1);
    CHECK(p.error[0] != '\0');
    watch_parser_reset(&p);
    CHECK_STR_EQ(p.error, "");
    CHECK_INT_EQ(feed_str(&p, ONE, &s), 0);
    CHECK_INT_EQ(s.n, 2);
    seen_free(&s);
    watch_parser_free(&p);
    /* Free leaves a parser that can be freed again or re-initialised. */
    watch_parser_free(&p);
}

static void test_type_names(void)
{
    CHECK_STR_EQ(watch_event_type_name(WATCH_ADDED), "ADDED");
    CHECK_STR_EQ(watch_event_type_name(WATCH_MODIFIED), "MODIFIED");
    CHECK_STR_EQ(watch_event_type_name(WATCH_DELETED), "DELETED");
    CHECK_STR_EQ(watch_event_type_name(WATCH_BOOKMARK), "BOOKMARK");
    CHECK_STR_EQ(watch_event_type_name(WATCH_ERROR), "ERROR");
    CHECK_STR_EQ(watch_event_type_name((enum watch_event_type)99), "UNKNOWN");
}

/* Deterministic numbers for the chunk sizes. */
static uint32_t next_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

struct counter {
    long n, bad;
};

static int count_in_order(void *ud, enum watch_event_type type, json_t *object)
{
    struct counter *c = ud;
    json_int_t i = json_integer_value(json_object_get(object, "i"));
    const char *name =
        json_string_value(json_object_get(json_object_get(object, "metadata"), "name"));
    char want[32];
    snprintf(want, sizeof(want), "obj-%ld", c->n);
    if (i != c->n || type != (c->n % 3 == 0 ? WATCH_ADDED : WATCH_MODIFIED) || !name ||
        strcmp(name, want) != 0)
        c->bad++;
    c->n++;
    return 0;
}

static void test_ten_thousand_events_random_chunks(void)
{
    enum { N = 10000 };
    size_t cap = (size_t)N * 160, len = 0;
    char *stream = malloc(cap);
    CHECK(stream != NULL);
    if (!stream)
        return;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(stream + len, cap - len,
                                "{\"type\":\"%s\",\"object\":{\"i\":%d,\"metadata\":{\"name\":"
                                "\"obj-%d\"},\"s\":\"}{\\\"\"}}%s",
                                i % 3 == 0 ? "ADDED" : "MODIFIED", i, i, i % 2 ? "\n" : "");
    CHECK(len < cap);
    uint64_t seed = 12345;
    for (int round = 0; round < 3; round++) {
        struct watch_parser p;
        struct counter c = {0, 0};
        watch_parser_init(&p, 4096);
        size_t off = 0;
        int rc = 0;
        while (off < len && rc == 0) {
            /* Mostly small pieces, sometimes many events at once. */
            size_t max = round == 0 ? 8 : round == 1 ? 300 : 20000;
            size_t k = 1 + next_rand(&seed) % max;
            if (k > len - off)
                k = len - off;
            rc = watch_parser_feed(&p, stream + off, k, count_in_order, &c);
            off += k;
        }
        CHECK_INT_EQ(rc, 0);
        CHECK_INT_EQ(c.n, N);
        CHECK_INT_EQ(c.bad, 0);
        CHECK_INT_EQ(p.len, 0);
        watch_parser_free(&p);
    }
    free(stream);
}

static int count_only(void *ud, enum watch_event_type type, json_t *object)
{
    (void)type;
    *(size_t *)ud += json_string_length(json_object_get(object, "big"));
    return 0;
}

static void test_large_event_small_chunks(void)
{
    /* 8 MiB in 4 KiB pieces: linear work, not a rescan per feed. */
    size_t big = (size_t)8 << 20;
    const char *head = "{\"type\":\"ADDED\",\"object\":{\"big\":\"";
    const char *tail = "\"}}";
    size_t hl = strlen(head), tl = strlen(tail), len = hl + big + tl;
    char *ev = malloc(len);
    CHECK(ev != NULL);
    if (!ev)
        return;
    memcpy(ev, head, hl);
    for (size_t i = 0; i < big; i++)
        ev[hl + i] = "ab{}"[i % 4];
    memcpy(ev + hl + big, tail, tl);
    struct watch_parser p;
    size_t got = 0;
    watch_parser_init(&p, (size_t)16 << 20);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += 4096)
        rc = watch_parser_feed(&p, ev + off, len - off < 4096 ? len - off : 4096, count_only, &got);
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(got, big);
    CHECK_INT_EQ(p.len, 0);
    watch_parser_free(&p);
    free(ev);
}

TEST_MAIN(TEST_CASE(test_one_event), TEST_CASE(test_split_at_every_offset),
          TEST_CASE(test_merged_events), TEST_CASE(test_strings_with_braces_and_quotes),
          TEST_CASE(test_unicode), TEST_CASE(test_whitespace_between),
          TEST_CASE(test_leading_garbage), TEST_CASE(test_oversized_event),
          TEST_CASE(test_malformed_json), TEST_CASE(test_missing_type_or_object),
          TEST_CASE(test_error_event_with_status), TEST_CASE(test_callback_stops),
          TEST_CASE(test_reset), TEST_CASE(test_type_names),
          TEST_CASE(test_ten_thousand_events_random_chunks),
          TEST_CASE(test_large_event_small_chunks))
