/*
 * test_runtime_api.c - the runtime API client against a real HAProxy.
 *
 * Each test starts its own `haproxy -f CFG -db` (haproxy_fixture.h: a child,
 * killed when the test ends or the test process dies) in a private
 * directory, waits for its stats socket by polling with a deadline, and
 * drives it through runtime_api on a libev loop. A few tests use a fake
 * server (a listening unix socket that never answers) instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "haproxy/runtime_api.h"
#include "haproxy_fixture.h"
#include "test.h"

/* ---- an HAProxy for one test ------------------------------------------ */

/* The map frontend of haproxy_fixture.h (routes.map, exact.map) and
 * "pool", an empty backend for dynamic servers. */
struct haproxy {
    struct hx hx;
    char routes_map[PATH_MAX + 32];
    char exact_map[PATH_MAX + 32];
};

static int haproxy_start(struct haproxy *h)
{
    memset(h, 0, sizeof(*h));
    if (hx_init(&h->hx, "spoke-rt") < 0)
        return -1;
    snprintf(h->routes_map, sizeof(h->routes_map), "%s/routes.map", h->hx.dir);
    snprintf(h->exact_map, sizeof(h->exact_map), "%s/exact.map", h->hx.dir);
    return hx_start_map_frontend(&h->hx, hx_free_tcp_port(), "", "backend pool\n");
}

/* ---- tests -------------------------------------------------------------- */

static void test_show_info_and_show_map(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    char *answer = NULL;
    size_t len = 0;
    CHECK_INT_EQ(runtime_api_call_sync(api, "show info", NULL, 0, &answer, &len), 0);
    CHECK(answer && strncmp(answer, "Name: HAProxy\n", 14) == 0);
    CHECK(answer && strstr(answer, "\nVersion: ") != NULL);
    CHECK(answer && len > 0 && answer[len - 1] == '\n' && strstr(answer, "\n\n") == NULL);
    CHECK(answer && strlen(answer) == len);
    CHECK(runtime_api_connected(api));
    free(answer);

    CHECK_INT_EQ(runtime_api_call_sync(api, "show map", NULL, 0, &answer, &len), 0);
    CHECK(answer && strstr(answer, h.routes_map) != NULL);
    CHECK(answer && strstr(answer, h.exact_map) != NULL);
    free(answer);

    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd), "show map %s", h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, NULL, 0, &answer, &len), 0);
    CHECK(answer && strstr(answer, " / root\n") != NULL);
    CHECK(answer && strstr(answer, " /old old\n") != NULL);
    free(answer);

    struct runtime_api_stats st;
    runtime_api_get_stats(api, &st);
    CHECK_INT_EQ(st.connects, 1);
    CHECK_INT_EQ(st.answered, 3);
    CHECK_INT_EQ(st.failed, 0);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

/* 2.6 answers "del server" without the empty line before the prompt; the
 * commands after it must still get their own answers. */
static void test_dynamic_servers_and_del_server_framing(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    const char *steps[][2] = {
        {"add server pool/a 127.0.1.1:8080", "New server registered."},
        {"set server pool/a state maint", ""},
        {"del server pool/a", "Server deleted."},
        {"del server pool/a", "No such server."},
        {"show servers state pool", "1\n# be_id"},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char *answer = NULL;
        CHECK_INT_EQ(runtime_api_call_sync(api, steps[i][0], NULL, 0, &answer, NULL), 0);
        CHECK(answer && strncmp(answer, steps[i][1], strlen(steps[i][1])) == 0);
        if (answer && strncmp(answer, steps[i][1], strlen(steps[i][1])) != 0)
            printf("#   %s -> '%s'\n", steps[i][0], answer);
        free(answer);
    }
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

static void test_empty_and_error_answers_keep_framing(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    char cmd[PATH_MAX + 128], *answer = NULL;
    size_t len = 99;

    snprintf(cmd, sizeof(cmd), "set map %s /old new\\ value", h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, NULL, 0, &answer, &len), 0);
    CHECK_STR_EQ(answer, "");
    CHECK_INT_EQ(len, 0);
    free(answer);

    CHECK_INT_EQ(runtime_api_call_sync(api, "no such command", NULL, 0, &answer, &len), 0);
    CHECK(answer && strstr(answer, "Unknown command") != NULL);
    free(answer);

    snprintf(cmd, sizeof(cmd), "show map %s", h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, NULL, 0, &answer, &len), 0);
    CHECK(answer && strstr(answer, " /old new value\n") != NULL);
    free(answer);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

#define PIPELINED 200

struct pipeline {
    int answered;
    int in_order;
    int correct;
    int all_done;
};

struct pipelined_cmd {
    struct pipeline *p;
    int index;
};

static void pipelined_cb(void *user, const char *answer, size_t len, int err)
{
    struct pipelined_cmd *c = user;
    struct pipeline *p = c->p;
    if (c->index != p->answered)
        p->in_order = 0;
    if (c->index % 2 == 0) {
        /* "add map M /p/N vN" prints nothing */
        if (!err && len == 0)
            p->correct++;
    } else {
        /* "get map M /p/N-1" finds what the previous command added */
        char want[64];
        snprintf(want, sizeof(want), "value=\"v%d\"", c->index - 1);
        if (!err && strstr(answer, want))
            p->correct++;
    }
    if (++p->answered == PIPELINED)
        p->all_done = 1;
}

static void test_200_pipelined_commands_answer_in_order(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    struct pipeline p = {.in_order = 1};
    struct pipelined_cmd cmds[PIPELINED];
    for (int i = 0; i < PIPELINED; i++) {
        char cmd[PATH_MAX + 128];
        if (i % 2 == 0)
            snprintf(cmd, sizeof(cmd), "add map %s /p/%d v%d", h.exact_map, i, i);
        else
            snprintf(cmd, sizeof(cmd), "get map %s /p/%d", h.exact_map, i - 1);
        cmds[i] = (struct pipelined_cmd){&p, i};
        CHECK_INT_EQ(runtime_api_send(api, cmd, pipelined_cb, &cmds[i]), 0);
    }
    /* all queued before the loop runs: nothing can have been answered yet */
    CHECK_INT_EQ(p.answered, 0);
    CHECK_INT_EQ(runtime_api_pending(api), PIPELINED);
    CHECK(hx_run_until(loop, &p.all_done, 10));
    CHECK_INT_EQ(p.answered, PIPELINED);
    CHECK(p.in_order);
    CHECK_INT_EQ(p.correct, PIPELINED);
    CHECK_INT_EQ(runtime_api_pending(api), 0);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

static void test_payload_commands(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    char cmd[PATH_MAX + 128], *answer = NULL;
    size_t len = 99;
    snprintf(cmd, sizeof(cmd), "add map %s", h.exact_map);
    const char *payload = "/exact/k1 v1\n/exact/k2 value with spaces\n/exact/k3 v3";
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, payload, strlen(payload), &answer, &len), 0);
    CHECK_STR_EQ(answer, ""); /* the "+ " payload prompts are not part of it */
    free(answer);

    /* HAProxy refuses a line without a value: its message comes back whole */
    const char *bad = "/exact/lonely";
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, bad, strlen(bad), &answer, &len), 0);
    CHECK(answer && strstr(answer, "Missing value") != NULL);
    CHECK(answer && answer[0] != '+');
    free(answer);

    snprintf(cmd, sizeof(cmd), "show map %s", h.exact_map);
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, NULL, 0, &answer, &len), 0);
    CHECK(answer && strstr(answer, " /exact/k2 value with spaces\n") != NULL);
    CHECK(answer && strstr(answer, " /exact/k3 v3\n") != NULL);
    free(answer);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

static void never_called_cb(void *user, const char *answer, size_t len, int err)
{
    (void)answer;
    (void)len;
    (void)err;
    (*(int *)user)++;
}

static void test_commands_that_would_break_framing_are_refused(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, "/nonexistent/admin.sock");
    int calls = 0;
    static const char *const bad[] = {
        "",     "show info\nshow stat", "show info\r",     "a;b",     "set map m k v\\", "prompt",
        "quit", "add map m <<",         "set map m k v<<", "show\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT_EQ(runtime_api_send(api, bad[i], never_called_cb, &calls), -EINVAL);
    CHECK_INT_EQ(runtime_api_send(api, "set map m a\\;b c\\\\", never_called_cb, &calls), 0);
    static const char *const bad_payloads[] = {"\nk v", "k v\n\nk2 v2", "k v\n\n", "k\rv",
                                               "k\x01v"};
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++)
        CHECK_INT_EQ(runtime_api_send_payload(api, "add map m", bad_payloads[i],
                                              strlen(bad_payloads[i]), never_called_cb, &calls),
                     -EINVAL);
    char *big = malloc(20000);
    memset(big, 'k', 19999);
    big[19999] = '\0';
    CHECK_INT_EQ(
        runtime_api_send_payload(api, "add map m", big, strlen(big), never_called_cb, &calls),
        -EMSGSIZE);
    free(big);
    CHECK_INT_EQ(runtime_api_pending(api), 1);
    CHECK_INT_EQ(calls, 0); /* never called from inside send */
    runtime_api_free(api);  /* the accepted one is cancelled */
    CHECK_INT_EQ(calls, 1);
    ev_loop_destroy(loop);
}

struct outcome {
    int done;
    int err;
    int count;
    int errs[8];
};

static void outcome_cb(void *user, const char *answer, size_t len, int err)
{
    (void)answer;
    (void)len;
    struct outcome *o = user;
    if (o->count < 8)
        o->errs[o->count] = err;
    o->count++;
    o->err = err;
    o->done = 1;
}

/* A unix socket that accepts connections (backlog) and never answers. */
static int silent_server(const char *path)
{
    struct sockaddr_un a;
    if (hx_unix_address(&a, path) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void test_timeout_fails_the_late_command_and_the_rest(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    CHECK(hx_make_temp_dir(dir, sizeof(dir), "spoke-rt") == 0);
    snprintf(path, sizeof(path), "%s/silent.sock", dir);
    int srv = silent_server(path);
    CHECK(srv >= 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, path);
    struct outcome first = {0}, second = {0};
    struct runtime_api_request r1 = {.command = "show info", .timeout = 0.2};
    struct runtime_api_request r2 = {.command = "show info", .timeout = 30};
    CHECK_INT_EQ(runtime_api_submit(api, &r1, outcome_cb, &first), 0);
    CHECK_INT_EQ(runtime_api_submit(api, &r2, outcome_cb, &second), 0);
    double t0 = hx_now();
    CHECK(hx_run_until(loop, &second.done, 5));
    double took = hx_now() - t0;
    CHECK_INT_EQ(first.err, -ETIMEDOUT);
    CHECK_INT_EQ(second.err, -ECONNABORTED);
    CHECK(took >= 0.19 && took < 2);
    CHECK_INT_EQ(first.count, 1);
    CHECK_INT_EQ(second.count, 1);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    close(srv);
    unlink(path);
    rmdir(dir);
}

static void test_connect_failure_fails_commands_then_backs_off(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, "/nonexistent-dir/admin.sock");
    struct outcome a = {0}, b = {0};
    CHECK_INT_EQ(runtime_api_send(api, "show info", outcome_cb, &a), 0);
    CHECK(hx_run_until(loop, &a.done, 3));
    CHECK_INT_EQ(a.err, -ENOENT);
    double t0 = hx_now();
    CHECK_INT_EQ(runtime_api_send(api, "show info", outcome_cb, &b), 0);
    CHECK(hx_run_until(loop, &b.done, 3));
    CHECK_INT_EQ(b.err, -ENOENT);
    CHECK(hx_now() - t0 >= 0.04); /* waited for the backoff (0.05 s) */
    CHECK(!runtime_api_connected(api));
    runtime_api_free(api);
    ev_loop_destroy(loop);
}

static void test_answer_larger_than_limit(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api_config cfg;
    runtime_api_config_defaults(&cfg);
    cfg.address = h.hx.sock;
    cfg.max_answer = 200; /* "show info" is over 1 KiB */
    cfg.reconnect_min_delay = 0.01;
    char err[128], *answer = NULL;
    struct runtime_api *api = runtime_api_new(loop, &cfg, err, sizeof(err));
    CHECK_INT_EQ(runtime_api_call_sync(api, "show info", NULL, 0, &answer, NULL), -EMSGSIZE);
    CHECK(answer == NULL);
    /* the next command gets a fresh connection */
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd), "get map %s /old", h.routes_map);
    CHECK_INT_EQ(runtime_api_call_sync(api, cmd, NULL, 0, &answer, NULL), 0);
    CHECK(answer && strstr(answer, "value=\"old\"") != NULL);
    free(answer);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

#define QUEUED 300

struct kill_run {
    struct haproxy *h;
    int answered;
    int ok;
    int failed;
    int order_kept; /* no success after the first failure */
    int first_err;
    int all_done;
};

static void kill_cb(void *user, const char *answer, size_t len, int err)
{
    (void)answer;
    (void)len;
    struct kill_run *k = user;
    if (!err) {
        if (k->failed)
            k->order_kept = 0;
        k->ok++;
        if (k->ok == 1)
            hx_kill(&k->h->hx); /* SIGKILL with ~300 commands still queued */
    } else {
        if (!k->failed)
            k->first_err = err;
        k->failed++;
    }
    if (++k->answered == QUEUED)
        k->all_done = 1;
}

static void test_haproxy_killed_mid_queue_then_restarted(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api *api = hx_client(loop, h.hx.sock);
    struct kill_run k = {.h = &h, .order_kept = 1};
    for (int i = 0; i < QUEUED; i++)
        CHECK_INT_EQ(runtime_api_send(api, "show info", kill_cb, &k), 0);
    CHECK(hx_run_until(loop, &k.all_done, 10));
    CHECK_INT_EQ(k.answered, QUEUED);
    CHECK(k.ok >= 1);
    CHECK(k.failed >= 1);
    CHECK(k.order_kept);
    CHECK(k.first_err == -ECONNRESET || k.first_err == -EPIPE);
    CHECK_INT_EQ(runtime_api_pending(api), 0);
    printf("# killed after answer 1: %d answered, %d failed\n", k.ok, k.failed);

    /* while HAProxy is down, commands fail fast */
    struct outcome down = {0};
    CHECK_INT_EQ(runtime_api_send(api, "show info", outcome_cb, &down), 0);
    CHECK(hx_run_until(loop, &down.done, 3));
    CHECK_INT_EQ(down.err, -ECONNREFUSED);

    /* restarted: the next command reconnects */
    CHECK(hx_run(&h.hx) == 0);
    char *answer = NULL;
    CHECK_INT_EQ(runtime_api_call_sync(api, "show info", NULL, 0, &answer, NULL), 0);
    CHECK(answer && strncmp(answer, "Name: HAProxy\n", 14) == 0);
    free(answer);
    struct runtime_api_stats st;
    runtime_api_get_stats(api, &st);
    CHECK_INT_EQ(st.connects, 2);
    CHECK(st.disconnects >= 2);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

struct free_in_cb {
    struct runtime_api *api;
    int ok;
    int cancelled;
    int other;
};

static void free_in_cb(void *user, const char *answer, size_t len, int err)
{
    (void)answer;
    (void)len;
    struct free_in_cb *f = user;
    if (!err) {
        f->ok++;
        runtime_api_free(f->api); /* the others are cancelled, nothing else runs */
    } else if (err == -ECANCELED) {
        f->cancelled++;
    } else {
        f->other++;
    }
}

static void test_free_from_a_callback(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct free_in_cb f = {0};
    f.api = hx_client(loop, h.hx.sock);
    for (int i = 0; i < 20; i++)
        CHECK_INT_EQ(runtime_api_send(f.api, "show info", free_in_cb, &f), 0);
    int done = 0;
    /* the loop has nothing left to do once the client is gone */
    ev_timer guard;
    ev_timer_init(&guard, hx_wake_cb, 5, 0.);
    ev_timer_start(loop, &guard);
    double end = hx_now() + 5;
    while (f.ok + f.cancelled + f.other < 20 && hx_now() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    done = f.ok + f.cancelled + f.other;
    CHECK_INT_EQ(done, 20);
    CHECK_INT_EQ(f.ok, 1);
    CHECK_INT_EQ(f.cancelled, 19);
    CHECK_INT_EQ(f.other, 0);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

static void test_idle_connection_closed_then_reopened(void)
{
    struct haproxy h;
    CHECK(haproxy_start(&h) == 0);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api_config cfg;
    runtime_api_config_defaults(&cfg);
    cfg.address = h.hx.sock;
    cfg.idle_close = 0.1;
    char err[128], *answer = NULL;
    struct runtime_api *api = runtime_api_new(loop, &cfg, err, sizeof(err));
    CHECK_INT_EQ(runtime_api_call_sync(api, "show info", NULL, 0, &answer, NULL), 0);
    free(answer);
    CHECK(runtime_api_connected(api));
    ev_timer guard;
    ev_timer_init(&guard, hx_wake_cb, 3, 0.);
    ev_timer_start(loop, &guard);
    double end = hx_now() + 3;
    while (runtime_api_connected(api) && hx_now() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &guard);
    CHECK(!runtime_api_connected(api));
    CHECK_INT_EQ(runtime_api_call_sync(api, "show info", NULL, 0, &answer, NULL), 0);
    free(answer);
    struct runtime_api_stats st;
    runtime_api_get_stats(api, &st);
    CHECK_INT_EQ(st.connects, 2);
    CHECK_INT_EQ(st.disconnects, 0);
    CHECK_INT_EQ(st.failed, 0);
    runtime_api_free(api);
    ev_loop_destroy(loop);
    hx_stop(&h.hx);
}

static void test_tcp_address(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct runtime_api_config cfg;
    runtime_api_config_defaults(&cfg);
    char err[128] = "";
    cfg.address = "127.0.0.1:notaport";
    CHECK(runtime_api_new(loop, &cfg, err, sizeof(err)) == NULL);
    CHECK(err[0] != '\0');
    /* a closed local port: refused, reported through the callback */
    char addr[64];
    snprintf(addr, sizeof(addr), "ipv4@127.0.0.1:%d", hx_free_tcp_port());
    cfg.address = addr;
    struct runtime_api *api = runtime_api_new(loop, &cfg, err, sizeof(err));
    CHECK(api != NULL);
    struct outcome o = {0};
    CHECK_INT_EQ(runtime_api_send(api, "show info", outcome_cb, &o), 0);
    CHECK(hx_run_until(loop, &o.done, 3));
    CHECK_INT_EQ(o.err, -ECONNREFUSED);
    runtime_api_free(api);
    ev_loop_destroy(loop);
}

/* A scripted server on the test's own loop: it accepts one connection,
 * drains what it receives, and writes its script one byte per loop
 * iteration, so the client's reads split answers at every possible place. */
struct scripted_server {
    struct ev_loop *loop;
    int listen_fd, fd;
    const char *script;
    size_t len, sent;
    ev_io accept_w, read_w;
    ev_idle write_w;
};

static void scripted_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct scripted_server *s = w->data;
    char buf[4096];
    ssize_t n = read(s->fd, buf, sizeof(buf));
    if (n <= 0) {
        ev_io_stop(loop, w);
        ev_idle_stop(loop, &s->write_w);
    }
}

static void scripted_write_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct scripted_server *s = w->data;
    if (s->sent < s->len && write(s->fd, s->script + s->sent, 1) == 1)
        s->sent++;
    if (s->sent == s->len)
        ev_idle_stop(loop, w);
}

static void scripted_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct scripted_server *s = w->data;
    s->fd = accept(s->listen_fd, NULL, NULL);
    ev_io_stop(loop, w);
    if (s->fd < 0)
        return;
    ev_io_init(&s->read_w, scripted_read_cb, s->fd, EV_READ);
    s->read_w.data = s;
    ev_io_start(loop, &s->read_w);
    ev_idle_init(&s->write_w, scripted_write_cb);
    s->write_w.data = s;
    ev_idle_start(loop, &s->write_w);
}

static int scripted_server_start(struct scripted_server *s, struct ev_loop *loop, const char *path,
                                 const char *script)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->fd = -1;
    s->script = script;
    s->len = strlen(script);
    s->listen_fd = silent_server(path);
    if (s->listen_fd < 0)
        return -1;
    ev_io_init(&s->accept_w, scripted_accept_cb, s->listen_fd, EV_READ);
    s->accept_w.data = s;
    ev_io_start(loop, &s->accept_w);
    return 0;
}

static void scripted_server_stop(struct scripted_server *s)
{
    ev_io_stop(s->loop, &s->accept_w);
    ev_io_stop(s->loop, &s->read_w);
    ev_idle_stop(s->loop, &s->write_w);
    if (s->fd >= 0)
        close(s->fd);
    close(s->listen_fd);
}

struct answer_log {
    int count;
    int errs[8];
    char answers[8][128];
    int done;
    int expect;
};

static void answer_log_cb(void *user, const char *answer, size_t len, int err)
{
    struct answer_log *l = user;
    if (l->count < 8) {
        l->errs[l->count] = err;
        snprintf(l->answers[l->count], sizeof(l->answers[0]), "%.*s", (int)len, answer);
        if (strlen(answer) != len)
            snprintf(l->answers[l->count], sizeof(l->answers[0]), "(NUL inside)");
    }
    if (++l->count == l->expect)
        l->done = 1;
}

static void test_framing_byte_by_byte(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    CHECK(hx_make_temp_dir(dir, sizeof(dir), "spoke-rt") == 0);
    snprintf(path, sizeof(path), "%s/scripted.sock", dir);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    static const char script[] =
        "\n> "                                   /* prompt */
        "line1\n> not a prompt\n+ neither\n\n> " /* "\n> " inside an output */
        "\n> "                                   /* nothing printed */
        "+ + + done\n\n> "                       /* payload command, 2 lines */
        "x\n\n[12:00:01]> "                      /* a decorated prompt */
        "+ y\n\n> ";                             /* "+ " kept outside payloads */
    struct scripted_server srv;
    CHECK(scripted_server_start(&srv, loop, path, script) == 0);
    struct runtime_api *api = hx_client(loop, path);
    struct answer_log log = {.expect = 5};
    CHECK_INT_EQ(runtime_api_send(api, "c1", answer_log_cb, &log), 0);
    CHECK_INT_EQ(runtime_api_send(api, "c2", answer_log_cb, &log), 0);
    CHECK_INT_EQ(runtime_api_send_payload(api, "c3", "a 1\nb 2\n", 8, answer_log_cb, &log), 0);
    CHECK_INT_EQ(runtime_api_send(api, "c4", answer_log_cb, &log), 0);
    CHECK_INT_EQ(runtime_api_send(api, "c5", answer_log_cb, &log), 0);
    CHECK(hx_run_until(loop, &log.done, 5));
    CHECK_INT_EQ(log.count, 5);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(log.errs[i], 0);
    CHECK_STR_EQ(log.answers[0], "line1\n> not a prompt\n+ neither\n");
    CHECK_STR_EQ(log.answers[1], "");
    CHECK_STR_EQ(log.answers[2], "done\n");
    CHECK_STR_EQ(log.answers[3], "x\n");
    CHECK_STR_EQ(log.answers[4], "+ y\n");
    CHECK(runtime_api_connected(api));
    runtime_api_free(api);
    scripted_server_stop(&srv);
    ev_loop_destroy(loop);
    unlink(path);
    rmdir(dir);
}

static void test_garbage_is_a_protocol_error(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    CHECK(hx_make_temp_dir(dir, sizeof(dir), "spoke-rt") == 0);
    snprintf(path, sizeof(path), "%s/scripted.sock", dir);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    /* after the prompt, an output whose empty line is followed by a line,
     * not by a prompt */
    static const char script[] = "\n> out\n\nnot a prompt\nmore\n\n> ";
    struct scripted_server srv;
    CHECK(scripted_server_start(&srv, loop, path, script) == 0);
    struct runtime_api *api = hx_client(loop, path);
    struct answer_log log = {.expect = 2};
    CHECK_INT_EQ(runtime_api_send(api, "c1", answer_log_cb, &log), 0);
    CHECK_INT_EQ(runtime_api_send(api, "c2", answer_log_cb, &log), 0);
    CHECK(hx_run_until(loop, &log.done, 5));
    CHECK_INT_EQ(log.errs[0], -EPROTO);
    CHECK_INT_EQ(log.errs[1], -ECONNRESET);
    CHECK(!runtime_api_connected(api));
    runtime_api_free(api);
    scripted_server_stop(&srv);
    ev_loop_destroy(loop);
    unlink(path);
    rmdir(dir);
}

TEST_MAIN(TEST_CASE(test_show_info_and_show_map),
          TEST_CASE(test_dynamic_servers_and_del_server_framing),
          TEST_CASE(test_empty_and_error_answers_keep_framing),
          TEST_CASE(test_200_pipelined_commands_answer_in_order), TEST_CASE(test_payload_commands),
          TEST_CASE(test_commands_that_would_break_framing_are_refused),
          TEST_CASE(test_timeout_fails_the_late_command_and_the_rest),
          TEST_CASE(test_connect_failure_fails_commands_then_backs_off),
          TEST_CASE(test_answer_larger_than_limit),
          TEST_CASE(test_haproxy_killed_mid_queue_then_restarted),
          TEST_CASE(test_free_from_a_callback),
          TEST_CASE(test_idle_connection_closed_then_reopened), TEST_CASE(test_tcp_address),
          TEST_CASE(test_framing_byte_by_byte), TEST_CASE(test_garbage_is_a_protocol_error))
