/* test_http.c - kube_http against a real local HTTP/1.1 server: bodies, headers, statuses,
 * streams, abort, cancel, re-entrant callbacks, concurrency, keep-alive, failures. */
#include <stdlib.h>

#include "fake_kube_api.h"
#include "kube/http.h"
#include "test.h"

struct result {
    int calls;
    long status;
    char *body;
    size_t len;
    bool has_err;
    char err[256];
};

struct ctx {
    struct fake_kube k;     /* the API server and the client */
    struct fake_conn *held; /* the last request left unanswered (/hang, /stream) */
    int held_count;
    int closes;
};

static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    struct ctx *t = ud;
    const char *p = req->target;
    if (strncmp(p, "/hello", 6) == 0) {
        fake_respond(c, 200, "text/plain", "hello world");
    } else if (strncmp(p, "/echo", 5) == 0) {
        fake_respond(c, 200, NULL, "{}");
    } else if (strncmp(p, "/status/", 8) == 0) {
        int code = atoi(p + 8);
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"answer %d\","
                 "\"code\":%d}",
                 code, code);
        fake_respond(c, code, NULL, code == 204 ? NULL : body);
    } else if (strncmp(p, "/n/", 3) == 0) {
        fake_respond(c, 200, "text/plain", p + 3);
    } else if (strncmp(p, "/stream", 7) == 0) {
        fake_stream_begin(c, 200);
        t->held = c;
        t->held_count++;
    } else if (strncmp(p, "/hang", 5) == 0) {
        t->held = c;
        t->held_count++;
    } else if (strncmp(p, "/close", 6) == 0) {
        fake_close(c);
    } else {
        fake_respond(c, 404, NULL, "{\"kind\":\"Status\",\"code\":404}");
    }
}

static void on_close(void *ud, const struct fake_conn *c)
{
    struct ctx *t = ud;
    t->closes++;
    if (t->held == c)
        t->held = NULL;
}

static void setup(struct ctx *t)
{
    memset(t, 0, sizeof(*t));
    CHECK(fake_kube_start(&t->k, handler, on_close, t) == 0);
}

static void teardown(struct ctx *t)
{
    fake_kube_stop(&t->k);
}

static void on_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct result *r = ud;
    r->calls++;
    r->status = status;
    free(r->body);
    r->body = malloc(len + 1);
    memcpy(r->body, body, len + 1); /* body is NUL-terminated */
    r->len = len;
    r->has_err = err != NULL;
    snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void result_free(struct result *r)
{
    free(r->body);
    r->body = NULL;
}

static const struct fake_request *last_request(struct ctx *t)
{
    return t->k.srv.nreqs ? t->k.srv.reqs[t->k.srv.nreqs - 1] : NULL;
}

static void test_get_body_and_headers(void)
{
    struct ctx t;
    setup(&t);
    struct result r = {0};
    CHECK(kube_http_request(t.k.http, "GET", "/hello?x=1&y=2", NULL, NULL, 5, on_done, &r) != NULL);
    CHECK_INT_EQ(kube_http_active(t.k.http), 1);
    RUN_UNTIL(t.k.loop, r.calls > 0, 5);
    CHECK_INT_EQ(r.calls, 1);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(r.body, "hello world");
    CHECK_INT_EQ(r.len, 11);
    CHECK(!r.has_err);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    const struct fake_request *req = last_request(&t);
    CHECK(req != NULL);
    if (req) {
        char v[256];
        CHECK_STR_EQ(req->method, "GET");
        CHECK_STR_EQ(req->target, "/hello?x=1&y=2");
        CHECK_STR_EQ(fake_header(req, "Accept", v, sizeof(v)), "application/json");
        CHECK(fake_header(req, "User-Agent", v, sizeof(v)) && strncmp(v, "spoke/", 6) == 0);
        CHECK(fake_header(req, "Authorization", v, sizeof(v)) == NULL);
    }
    result_free(&r);
    teardown(&t);
}

static void test_methods_bodies_and_content_type(void)
{
    struct ctx t;
    setup(&t);
    struct result r1 = {0}, r2 = {0}, r3 = {0};
    const char *patch = "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}";
    CHECK(kube_http_request(t.k.http, "PATCH", "/echo/1", "application/merge-patch+json", patch, 5,
                            on_done, &r1) != NULL);
    RUN_UNTIL(t.k.loop, r1.calls, 5);
    CHECK(kube_http_request(t.k.http, "POST", "/echo/2", NULL, "{\"a\":1}", 5, on_done, &r2) !=
          NULL);
    RUN_UNTIL(t.k.loop, r2.calls, 5);
    CHECK(kube_http_request(t.k.http, "DELETE", "/echo/3", NULL, NULL, 5, on_done, &r3) != NULL);
    RUN_UNTIL(t.k.loop, r3.calls, 5);
    CHECK_INT_EQ(r1.status, 200);
    CHECK_INT_EQ(r2.status, 200);
    CHECK_INT_EQ(r3.status, 200);
    CHECK_INT_EQ(t.k.srv.nreqs, 3);
    if (t.k.srv.nreqs == 3) {
        char v[256];
        const struct fake_request *a = t.k.srv.reqs[0], *b = t.k.srv.reqs[1], *c = t.k.srv.reqs[2];
        CHECK_STR_EQ(a->method, "PATCH");
        CHECK_STR_EQ(a->body, patch);
        CHECK_INT_EQ(a->body_len, strlen(patch));
        CHECK_STR_EQ(fake_header(a, "Content-Type", v, sizeof(v)), "application/merge-patch+json");
        CHECK(fake_header(a, "Expect", v, sizeof(v)) == NULL);
        CHECK_STR_EQ(b->method, "POST");
        CHECK_STR_EQ(b->body, "{\"a\":1}");
        CHECK_STR_EQ(fake_header(b, "Content-Type", v, sizeof(v)), "application/json");
        CHECK_STR_EQ(c->method, "DELETE");
        CHECK_INT_EQ(c->body_len, 0);
    }
    result_free(&r1);
    result_free(&r2);
    result_free(&r3);
    teardown(&t);
}

static void test_bearer_token_read_per_request(void)
{
    struct ctx t;
    setup(&t);
    char tok1[] = "token-one", tok2[] = "token-two";
    struct result r = {0};
    char v[256];
    t.k.cfg.token = tok1;
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, on_done, &r);
    RUN_UNTIL(t.k.loop, r.calls == 1, 5);
    CHECK_STR_EQ(fake_header(last_request(&t), "Authorization", v, sizeof(v)), "Bearer token-one");
    t.k.cfg.token = tok2; /* a rotated token is used by the next request */
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, on_done, &r);
    RUN_UNTIL(t.k.loop, r.calls == 2, 5);
    CHECK_STR_EQ(fake_header(last_request(&t), "Authorization", v, sizeof(v)), "Bearer token-two");
    t.k.cfg.token = NULL;
    result_free(&r);
    teardown(&t);
}

static void test_status_codes(void)
{
    struct ctx t;
    setup(&t);
    static const int codes[] = {204, 401, 403, 404, 410, 500, 503};
    enum { N = sizeof(codes) / sizeof(codes[0]) };
    struct result r[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/status/%d", codes[i]);
        CHECK(kube_http_request(t.k.http, "GET", path, NULL, NULL, 5, on_done, &r[i]) != NULL);
    }
    int done = 0;
    RUN_UNTIL(t.k.loop,
              (done = r[0].calls + r[1].calls + r[2].calls + r[3].calls + r[4].calls + r[5].calls +
                      r[6].calls) == N,
              5);
    CHECK_INT_EQ(done, N);
    for (int i = 0; i < N; i++) {
        CHECK_INT_EQ(r[i].calls, 1);
        CHECK_INT_EQ(r[i].status, codes[i]);
        CHECK(!r[i].has_err);
        if (codes[i] == 204) {
            CHECK_INT_EQ(r[i].len, 0);
            CHECK_STR_EQ(r[i].body, "");
        } else {
            char want[64];
            snprintf(want, sizeof(want), "answer %d", codes[i]);
            CHECK(r[i].body && strstr(r[i].body, want) != NULL);
        }
        result_free(&r[i]);
    }
    teardown(&t);
}

struct stream_rec {
    int pieces;
    long status;
    char data[4096];
    size_t len;
    int abort_after; /* return non-zero on this piece (0 = never) */
    struct kube_req *self;
    bool cancel_self;
};

static int on_data(void *ud, long status, const char *data, size_t len)
{
    struct stream_rec *s = ud;
    s->pieces++;
    s->status = status;
    if (s->len + len < sizeof(s->data)) {
        memcpy(s->data + s->len, data, len);
        s->len += len;
        s->data[s->len] = '\0';
    }
    if (s->cancel_self)
        kube_req_cancel(s->self);
    return s->abort_after && s->pieces >= s->abort_after;
}

struct stream_test {
    struct stream_rec s;
    struct result r;
};

static void stream_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct stream_test *st = ud;
    on_done(&st->r, status, body, len, err);
}

static int stream_data(void *ud, long status, const char *data, size_t len)
{
    struct stream_test *st = ud;
    return on_data(&st->s, status, data, len);
}

static void test_stream_delivered_in_pieces(void)
{
    struct ctx t;
    setup(&t);
    struct stream_test st = {0};
    CHECK(kube_http_stream(t.k.http, "/stream", stream_data, stream_done, &st) != NULL);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    CHECK(t.held != NULL);
    if (t.held) {
        fake_stream_send(t.held, "{\"type\":\"ADDED\"");
        RUN_UNTIL(t.k.loop, st.s.len == 15, 5);
        CHECK_INT_EQ(st.s.pieces, 1);
        CHECK_INT_EQ(st.s.status, 200);
        fake_stream_send(t.held, ",\"object\":{}}\n");
        RUN_UNTIL(t.k.loop, st.s.len == 29, 5);
        CHECK_INT_EQ(st.s.len, 29);
        CHECK_INT_EQ(st.s.pieces, 2);
        CHECK_STR_EQ(st.s.data, "{\"type\":\"ADDED\",\"object\":{}}\n");
        CHECK_INT_EQ(st.r.calls, 0);
        fake_stream_end(t.held);
    }
    RUN_UNTIL(t.k.loop, st.r.calls, 5);
    CHECK_INT_EQ(st.r.calls, 1);
    CHECK_INT_EQ(st.r.status, 200);
    CHECK(!st.r.has_err);
    CHECK_INT_EQ(st.r.len, 0);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    result_free(&st.r);
    teardown(&t);
}

static void test_stream_error_status_reaches_done(void)
{
    struct ctx t;
    setup(&t);
    struct stream_test st = {0};
    CHECK(kube_http_stream(t.k.http, "/status/403", stream_data, stream_done, &st) != NULL);
    RUN_UNTIL(t.k.loop, st.r.calls, 5);
    CHECK_INT_EQ(st.r.status, 403);
    CHECK(!st.r.has_err);
    CHECK(st.r.body && strstr(st.r.body, "answer 403") != NULL);
    CHECK_INT_EQ(st.s.status, 403);
    result_free(&st.r);
    teardown(&t);
}

static void test_stream_cut_by_server_is_an_error(void)
{
    struct ctx t;
    setup(&t);
    struct stream_test st = {0};
    kube_http_stream(t.k.http, "/stream", stream_data, stream_done, &st);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    if (t.held) {
        fake_stream_send(t.held, "{\"partial\":");
        RUN_UNTIL(t.k.loop, st.s.pieces == 1, 5);
        fake_close(t.held);
    }
    RUN_UNTIL(t.k.loop, st.r.calls, 5);
    CHECK_INT_EQ(st.r.calls, 1);
    CHECK_INT_EQ(st.r.status, 0);
    CHECK(st.r.has_err);
    result_free(&st.r);
    teardown(&t);
}

static void test_abort_from_data_callback(void)
{
    struct ctx t;
    setup(&t);
    struct stream_test st = {0};
    st.s.abort_after = 1;
    kube_http_stream(t.k.http, "/stream", stream_data, stream_done, &st);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    if (t.held)
        fake_stream_send(t.held, "first");
    RUN_UNTIL(t.k.loop, st.r.calls && t.closes, 5);
    CHECK_INT_EQ(st.s.pieces, 1);
    CHECK_INT_EQ(st.r.calls, 1);
    CHECK_INT_EQ(st.r.status, 0);
    CHECK_STR_EQ(st.r.err, "aborted");
    CHECK_INT_EQ(t.closes, 1); /* the connection is dropped */
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    result_free(&st.r);
    teardown(&t);
}

static void test_cancel(void)
{
    struct ctx t;
    setup(&t);
    /* An unanswered request. */
    struct result r = {0};
    struct kube_req *q = kube_http_request(t.k.http, "GET", "/hang", NULL, NULL, 0, on_done, &r);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    CHECK(t.held != NULL);
    kube_req_cancel(q);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    RUN_UNTIL(t.k.loop, t.closes == 1, 5);
    CHECK_INT_EQ(t.closes, 1);
    /* A stream that cancels itself from its own data callback. */
    struct stream_test st = {0};
    st.s.cancel_self = true;
    st.s.self = kube_http_stream(t.k.http, "/stream", stream_data, stream_done, &st);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    if (t.held)
        fake_stream_send(t.held, "x");
    RUN_UNTIL(t.k.loop, t.closes == 2, 5);
    CHECK_INT_EQ(t.closes, 2);
    CHECK_INT_EQ(st.s.pieces, 1);
    /* A request cancelled before it even connected. */
    kube_req_cancel(kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, on_done, &r));
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    /* Let everything settle: no done callback may run. */
    struct result probe = {0};
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, on_done, &probe);
    RUN_UNTIL(t.k.loop, probe.calls, 5);
    CHECK_INT_EQ(probe.calls, 1);
    CHECK_INT_EQ(r.calls, 0);
    CHECK_INT_EQ(st.r.calls, 0);
    result_free(&probe);
    teardown(&t);
}

/* done/data callbacks that start new requests and cancel others. */
struct reentry {
    struct ctx *t;
    struct kube_req *victim;
    struct result chained, victim_result, stream_result;
    int started;
};

static void chain_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)status;
    (void)body;
    (void)len;
    (void)err;
    struct reentry *re = ud;
    kube_req_cancel(re->victim);
    re->victim = NULL;
    re->started++;
    CHECK(kube_http_request(re->t->k.http, "GET", "/n/chained", NULL, NULL, 5, on_done,
                            &re->chained) != NULL);
}

static int chain_data(void *ud, long status, const char *data, size_t len)
{
    (void)status;
    (void)data;
    (void)len;
    struct reentry *re = ud;
    if (re->victim) {
        kube_req_cancel(re->victim);
        re->victim = NULL;
    }
    if (!re->started++)
        CHECK(kube_http_request(re->t->k.http, "GET", "/n/from-data", NULL, NULL, 5, on_done,
                                &re->chained) != NULL);
    return 0;
}

static void reentry_stream_done(void *ud, long status, const char *body, size_t len,
                                const char *err)
{
    struct reentry *re = ud;
    on_done(&re->stream_result, status, body, len, err);
}

static void test_callbacks_start_and_cancel_requests(void)
{
    struct ctx t;
    setup(&t);
    /* From a done callback. */
    struct reentry a = {.t = &t};
    a.victim =
        kube_http_request(t.k.http, "GET", "/hang", NULL, NULL, 0, on_done, &a.victim_result);
    RUN_UNTIL(t.k.loop, t.held != NULL, 5);
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, chain_done, &a);
    RUN_UNTIL(t.k.loop, a.chained.calls, 5);
    CHECK_INT_EQ(a.started, 1);
    CHECK_INT_EQ(a.chained.calls, 1);
    CHECK_STR_EQ(a.chained.body, "chained");
    CHECK_INT_EQ(a.victim_result.calls, 0);
    /* From a data callback (inside curl). */
    struct reentry b = {.t = &t};
    b.victim =
        kube_http_request(t.k.http, "GET", "/hang", NULL, NULL, 0, on_done, &b.victim_result);
    int held_before = t.held_count;
    RUN_UNTIL(t.k.loop, t.held_count == held_before + 1, 5);
    kube_http_stream(t.k.http, "/stream", chain_data, reentry_stream_done, &b);
    RUN_UNTIL(t.k.loop, t.held_count == held_before + 2 && t.held, 5);
    if (t.held)
        fake_stream_send(t.held, "go");
    RUN_UNTIL(t.k.loop, b.chained.calls, 5);
    CHECK_INT_EQ(b.chained.calls, 1);
    CHECK_STR_EQ(b.chained.body, "from-data");
    CHECK_INT_EQ(b.victim_result.calls, 0);
    if (t.held)
        fake_stream_end(t.held);
    RUN_UNTIL(t.k.loop, b.stream_result.calls, 5);
    CHECK_INT_EQ(b.stream_result.status, 200);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    result_free(&a.chained);
    result_free(&b.chained);
    result_free(&b.stream_result);
    teardown(&t);
}

static void test_many_concurrent_requests(void)
{
    struct ctx t;
    setup(&t);
    enum { N = 100 };
    static struct result r[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/n/%d", i);
        CHECK(kube_http_request(t.k.http, "GET", path, NULL, NULL, 10, on_done, &r[i]) != NULL);
    }
    CHECK_INT_EQ(kube_http_active(t.k.http), N);
    RUN_UNTIL(t.k.loop, kube_http_active(t.k.http) == 0, 10);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d", i);
        ok += r[i].calls == 1 && r[i].status == 200 && r[i].body && strcmp(r[i].body, want) == 0;
        result_free(&r[i]);
    }
    CHECK_INT_EQ(ok, N);
    teardown(&t);
}

struct seq {
    struct ctx *t;
    int done;
};

static void seq_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)body;
    (void)len;
    struct seq *s = ud;
    CHECK_INT_EQ(status, 200);
    CHECK(err == NULL);
    if (++s->done < 5)
        kube_http_request(s->t->k.http, "GET", "/hello", NULL, NULL, 5, seq_done, s);
}

static void test_keep_alive_reuses_the_connection(void)
{
    struct ctx t;
    setup(&t);
    struct seq s = {&t, 0};
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, seq_done, &s);
    RUN_UNTIL(t.k.loop, s.done == 5, 5);
    CHECK_INT_EQ(s.done, 5);
    CHECK_INT_EQ(t.k.srv.nreqs, 5);
    CHECK_INT_EQ(t.k.srv.accepted, 1);
    teardown(&t);
}

static void test_connection_refused(void)
{
    struct ctx t;
    setup(&t);
    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    snprintf(t.k.url, sizeof(t.k.url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    struct result r = {0};
    CHECK(kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 5, on_done, &r) != NULL);
    RUN_UNTIL(t.k.loop, r.calls, 5);
    CHECK_INT_EQ(r.calls, 1);
    CHECK_INT_EQ(r.status, 0);
    CHECK(r.has_err && r.err[0]);
    CHECK_STR_EQ(r.body, "");
    /* An empty reply is an error too. */
    fake_server_url(&t.k.srv, t.k.url, sizeof(t.k.url));
    kube_http_request(t.k.http, "GET", "/close", NULL, NULL, 5, on_done, &r);
    RUN_UNTIL(t.k.loop, r.calls == 2, 5);
    CHECK_INT_EQ(r.status, 0);
    CHECK(r.has_err);
    result_free(&r);
    teardown(&t);
}

static void test_timeout(void)
{
    struct ctx t;
    setup(&t);
    struct result r = {0};
    kube_http_request(t.k.http, "GET", "/hang", NULL, NULL, 1, on_done, &r);
    RUN_UNTIL(t.k.loop, r.calls, 5);
    CHECK_INT_EQ(r.calls, 1);
    CHECK_INT_EQ(r.status, 0);
    CHECK(strstr(r.err, "timed out") != NULL);
    result_free(&r);
    teardown(&t);
}

static void test_free_with_requests_in_flight(void)
{
    struct ctx t;
    setup(&t);
    struct result r = {0};
    struct stream_test st = {0};
    kube_http_request(t.k.http, "GET", "/hang", NULL, NULL, 0, on_done, &r);
    kube_http_stream(t.k.http, "/stream", stream_data, stream_done, &st);
    kube_http_request(t.k.http, "GET", "/hello", NULL, NULL, 0, on_done, &r);
    RUN_UNTIL(t.k.loop, t.held_count == 2, 5);
    CHECK_INT_EQ(t.held_count, 2);
    kube_http_free(t.k.http);
    t.k.http = NULL;
    RUN_UNTIL(t.k.loop, fake_server_open_conns(&t.k.srv) == 0, 5);
    CHECK_INT_EQ(fake_server_open_conns(&t.k.srv), 0);
    CHECK_INT_EQ(st.r.calls, 0);
    result_free(&r);
    teardown(&t);
}

static void test_bad_arguments(void)
{
    struct ctx t;
    setup(&t);
    struct result r = {0};
    CHECK(kube_http_request(t.k.http, "GET", "no-slash", NULL, NULL, 5, on_done, &r) == NULL);
    CHECK(kube_http_stream(t.k.http, "/stream", NULL, on_done, &r) == NULL);
    CHECK(kube_http_request(t.k.http, "GE T", "/x", NULL, NULL, 5, on_done, &r) == NULL);
    CHECK_INT_EQ(kube_http_active(t.k.http), 0);
    kube_req_cancel(NULL);
    kube_http_free(NULL);
    teardown(&t);
}

TEST_MAIN(TEST_CASE(test_get_body_and_headers), TEST_CASE(test_methods_bodies_and_content_type),
          TEST_CASE(test_bearer_token_read_per_request), TEST_CASE(test_status_codes),
          TEST_CASE(test_stream_delivered_in_pieces),
          TEST_CASE(test_stream_error_status_reaches_done),
          TEST_CASE(test_stream_cut_by_server_is_an_error),
          TEST_CASE(test_abort_from_data_callback), TEST_CASE(test_cancel),
          TEST_CASE(test_callbacks_start_and_cancel_requests),
          TEST_CASE(test_many_concurrent_requests),
          TEST_CASE(test_keep_alive_reuses_the_connection), TEST_CASE(test_connection_refused),
          TEST_CASE(test_timeout), TEST_CASE(test_free_with_requests_in_flight),
          TEST_CASE(test_bad_arguments))
