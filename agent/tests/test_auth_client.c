/*
 * test_auth_client.c - external auth's HTTP client (spoe/auth_client.h)
 * against a scripted HTTP server on the test's loop, while the client runs
 * on its own thread: answers and captured headers, methods, the request
 * headers sent, a service that never answers (deadline), one that is not
 * there, a full queue, a deadline already past, and stopping with calls
 * in flight (each answered once, "shutting down").
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "fake_http_server.h"
#include "spoe/auth_client.h"
#include "test.h"

/* What a done callback saw (written on the client's thread). */
struct seen {
    atomic_int calls;
    long status;
    char err[256];
    char values[3][128];
    bool present[3];
};

static void on_done(void *ud, const struct auth_result *res)
{
    struct seen *s = ud;
    s->status = res->status;
    snprintf(s->err, sizeof(s->err), "%s", res->err ? res->err : "");
    for (int i = 0; i < 3; i++) {
        s->present[i] = res->values[i].present;
        snprintf(s->values[i], sizeof(s->values[i]), "%s",
                 res->values[i].present ? res->values[i].s : "");
    }
    atomic_fetch_add(&s->calls, 1);
}

/* The server's script: by the request's path. */
static void handler(void *ud, struct fake_conn *c, const struct fake_request *req)
{
    (void)ud;
    (void)req;
    const char *t = req->target;
    if (strcmp(t, "/allow") == 0) {
        const char *a = "HTTP/1.1 200 OK\r\nX-User:  alice \r\nx-user: second\r\n"
                        "X-Email: a@example.com\r\nContent-Length: 2\r\n\r\nok";
        fake__write(c, a, strlen(a));
        fake__answered(c);
    } else if (strcmp(t, "/deny") == 0) {
        const char *a = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\"\r\n"
                        "Content-Length: 0\r\n\r\n";
        fake__write(c, a, strlen(a));
        fake__answered(c);
    } else if (strcmp(t, "/continue") == 0) {
        const char *a = "HTTP/1.1 100 Continue\r\nX-User: early\r\n\r\n"
                        "HTTP/1.1 204 No Content\r\nX-Email: late\r\n\r\n";
        fake__write(c, a, strlen(a));
        fake__answered(c);
    } else if (strcmp(t, "/bigbody") == 0) {
        const char *a = "HTTP/1.1 200 OK\r\nX-User: big\r\nContent-Length: 1000000\r\n\r\n";
        fake__write(c, a, strlen(a));
        static char chunk[100000];
        memset(chunk, 'z', sizeof(chunk));
        for (int i = 0; i < 10; i++)
            fake__write(c, chunk, sizeof(chunk));
        fake__answered(c);
    } else if (strcmp(t, "/never") == 0) {
        /* no answer: the client's deadline ends it */
    } else {
        fake_respond(c, 404, "text/plain", "no\n");
    }
}

static struct ev_loop *loop;
static struct fake_server srv;
static char base[64];
/* Done callbacks run on the client's thread: the test's loop looks at
 * their counters every 10 ms. */
static ev_timer tick;

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer_init(&tick, tick_cb, 0.01, 0.01);
    ev_timer_start(loop, &tick);
    CHECK(fake_server_start(&srv, loop, handler, NULL, NULL) == 0);
    fake_server_url(&srv, base, sizeof(base));
}

static void teardown(void)
{
    fake_server_stop(&srv);
    ev_timer_stop(loop, &tick);
    ev_loop_destroy(loop);
}

static const char *const capture[] = {"X-User", "X-Email", "WWW-Authenticate"};

static void call(struct auth_client *c, const char *path, const char *method, double timeout,
                 struct seen *s, bool expect_accepted)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", base, path);
    const char *const lines[] = {"X-Original-URL: http://app.example.com/p?q=1",
                                 "Authorization: Bearer t"};
    struct auth_call ac = {.url = url,
                           .method = method,
                           .headers = lines,
                           .n_headers = 2,
                           .capture = capture,
                           .n_capture = 3,
                           .deadline = auth_client_now() + timeout};
    CHECK_INT_EQ(auth_client_submit(c, &ac, on_done, s), expect_accepted);
}

#define WAIT_CALLS(s, n) RUN_UNTIL(loop, atomic_load(&(s).calls) >= (n), 10.0)

static void test_answers(void)
{
    setup();
    char err[200];
    struct auth_client *c = auth_client_new(8, 8, err, sizeof(err));
    CHECK(c != NULL);

    struct seen s = {0};
    call(c, "/allow", "GET", 2.0, &s, true);
    WAIT_CALLS(s, 1);
    CHECK_INT_EQ(atomic_load(&s.calls), 1);
    CHECK_INT_EQ(s.status, 200);
    CHECK_STR_EQ(s.err, "");
    CHECK(s.present[0] && s.present[1] && !s.present[2]);
    CHECK_STR_EQ(s.values[0], "alice"); /* the first occurrence, trimmed */
    CHECK_STR_EQ(s.values[1], "a@example.com");
    CHECK(srv.nreqs == 1);
    if (srv.nreqs == 1) {
        char v[200];
        CHECK_STR_EQ(srv.reqs[0]->method, "GET");
        CHECK_STR_EQ(fake_header(srv.reqs[0], "X-Original-URL", v, sizeof(v)),
                     "http://app.example.com/p?q=1");
        CHECK_STR_EQ(fake_header(srv.reqs[0], "Authorization", v, sizeof(v)), "Bearer t");
    }

    struct seen d = {0};
    call(c, "/deny", "HEAD", 2.0, &d, true);
    WAIT_CALLS(d, 1);
    CHECK_INT_EQ(d.status, 401);
    CHECK_STR_EQ(d.values[2], "Bearer realm=\"x\"");
    CHECK(!d.present[0]);
    CHECK(srv.nreqs == 2 && strcmp(srv.reqs[1]->method, "HEAD") == 0);

    struct seen p = {0};
    call(c, "/continue", "POST", 2.0, &p, true);
    WAIT_CALLS(p, 1);
    CHECK_INT_EQ(p.status, 204);
    CHECK(!p.present[0]); /* said in the 100 answer only */
    CHECK_STR_EQ(p.values[1], "late");
    CHECK(srv.nreqs == 3 && strcmp(srv.reqs[2]->method, "POST") == 0);

    struct seen b = {0};
    call(c, "/bigbody", "GET", 5.0, &b, true);
    WAIT_CALLS(b, 1);
    CHECK_INT_EQ(b.status, 200); /* the body is cut after 64 KiB; the answer stands */
    CHECK_STR_EQ(b.err, "");
    CHECK_STR_EQ(b.values[0], "big");

    struct seen n = {0};
    call(c, "/missing", "GET", 2.0, &n, true);
    WAIT_CALLS(n, 1);
    CHECK_INT_EQ(n.status, 404);

    CHECK_INT_EQ(auth_client_pending(c), 0);
    auth_client_free(c);
    CHECK_INT_EQ(atomic_load(&s.calls) + atomic_load(&d.calls) + atomic_load(&p.calls), 3);
    teardown();
}

static void test_failures(void)
{
    setup();
    char err[200];
    struct auth_client *c = auth_client_new(8, 8, err, sizeof(err));

    struct seen t = {0};
    double start = auth_client_now();
    call(c, "/never", "GET", 0.3, &t, true);
    WAIT_CALLS(t, 1);
    double took = auth_client_now() - start;
    CHECK_INT_EQ(t.status, 0);
    CHECK(t.err[0] != '\0');
    CHECK(took >= 0.25 && took < 2.0);
    printf("# deadline 0.3 s: done after %.3f s (%s)\n", took, t.err);

    /* Nobody listens there any more. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    struct seen r = {0};
    struct auth_call ac = {
        .url = url, .capture = capture, .n_capture = 3, .deadline = auth_client_now() + 1.0};
    CHECK(auth_client_submit(c, &ac, on_done, &r));
    WAIT_CALLS(r, 1);
    CHECK_INT_EQ(r.status, 0);
    CHECK(r.err[0] != '\0');

    /* Too late before it starts. */
    struct seen l = {0};
    call(c, "/allow", "GET", -1.0, &l, true);
    WAIT_CALLS(l, 1);
    CHECK_INT_EQ(l.status, 0);
    CHECK_STR_EQ(l.err, "timed out before it started");

    /* A header line that would end early is refused. */
    const char *const evil[] = {"X-A: 1\r\nX-Evil: 2"};
    struct auth_call e = {
        .url = url, .headers = evil, .n_headers = 1, .deadline = auth_client_now() + 1.0};
    CHECK(!auth_client_submit(c, &e, on_done, &l));
    auth_client_free(c);
    CHECK_INT_EQ(atomic_load(&l.calls), 1);
    teardown();
}

static void test_full_queue_and_stop(void)
{
    setup();
    char err[200];
    struct auth_client *c = auth_client_new(1, 2, err, sizeof(err));
    struct seen s[4] = {{0}};
    call(c, "/never", "GET", 30.0, &s[0], true);
    call(c, "/never", "GET", 30.0, &s[1], true);
    call(c, "/never", "GET", 30.0, &s[2], true);
    call(c, "/never", "GET", 30.0, &s[3], false); /* 1 running + 2 waiting */
    CHECK_INT_EQ(auth_client_pending(c), 3);
    RUN_UNTIL(loop, srv.nreqs >= 1, 5.0);
    CHECK_INT_EQ(srv.nreqs, 1); /* one at a time */
    double start = auth_client_now();
    auth_client_free(c);
    CHECK(auth_client_now() - start < 1.0);
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(atomic_load(&s[i].calls), 1);
        CHECK_INT_EQ(s[i].status, 0);
        CHECK_STR_EQ(s[i].err, "shutting down");
    }
    CHECK_INT_EQ(atomic_load(&s[3].calls), 0);
    auth_client_free(NULL);
    teardown();
}

TEST_MAIN(TEST_CASE(test_answers), TEST_CASE(test_failures), TEST_CASE(test_full_queue_and_stop))
