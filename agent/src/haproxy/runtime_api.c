/*
 * runtime_api.c - see runtime_api.h.
 *
 * The queue is a singly linked list of commands in the order they were
 * queued; `unwritten` points at the first one whose bytes are not all on the
 * socket yet. Answers always belong to the head. The read buffer holds the
 * bytes received and not yet matched to a command, from rstart to rlen.
 */
#include "haproxy/runtime_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/net_addr.h"

#define PROMPT_MAX_LEN 32 /* "> " plus any decoration, see the header */
#define READ_CHUNK     65536
#define DEADLINE_SLACK 0.001 /* timers may fire a hair before a deadline */

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_UP };

struct command {
    struct command *next;
    char *wire; /* the bytes to send, newlines included */
    size_t wire_len;
    size_t written;
    unsigned payload_prompts; /* "+ " prompts HAProxy prints before the answer */
    ev_tstamp deadline;
    runtime_api_cb cb;
    void *user;
    int internal; /* our own "prompt": no callback */
    /* HAProxy 2.6 answers "del server" with "Server deleted.\n> ", without
     * the empty line (cli.c forgets it on that path): accept a prompt right
     * after the first line too. */
    int one_line;
};

struct runtime_api {
    struct ev_loop *loop;
    struct runtime_api_config cfg;
    char *address;
    struct sockaddr_storage addr;
    socklen_t addr_len;

    int fd;
    enum conn_state state;
    ev_io io;
    ev_timer deadline_timer;
    ev_timer connect_timer;
    ev_timer idle_timer;

    struct command *head, *tail, *unwritten;
    size_t n_pending;

    char *rbuf;
    size_t rstart, rlen, rcap;
    size_t scanned;        /* bytes of the head's answer already searched */
    unsigned prompts_seen; /* "+ " already skipped for the head */

    double backoff;
    ev_tstamp next_connect_at;

    int dispatching;
    int free_requested;
    struct runtime_api_stats stats;
};

static void fail_all(struct runtime_api *api, int err, int penalize);
static int after_callbacks(struct runtime_api *api);
static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void deadline_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void connect_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- configuration ---------------------------------------------------- */

void runtime_api_config_defaults(struct runtime_api_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->command_timeout = 10.0;
    cfg->reconnect_min_delay = 0.1;
    cfg->reconnect_max_delay = 5.0;
    cfg->idle_close = 5.0;
    cfg->max_answer = 16u << 20;
    cfg->max_request = 15u << 10;
}

/* HAProxy address syntax: a path (anything with a '/'), "unix@PATH",
 * "ipv4@HOST:PORT", "ipv6@[HOST]:PORT" or plain "HOST:PORT". */
static int parse_address(struct runtime_api *api, const char *s, char *err, size_t errlen)
{
    const char *path = NULL;
    if (strncmp(s, "unix@", 5) == 0)
        path = s + 5;
    else if (strchr(s, '/'))
        path = s;
    if (path) {
        struct sockaddr_un *un = (struct sockaddr_un *)&api->addr;
        if (!*path || strlen(path) >= sizeof(un->sun_path)) {
            snprintf(err, errlen, "invalid unix socket path '%s'", path);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, strlen(path) + 1);
        api->addr_len = sizeof(*un);
        return 0;
    }
    if (strncmp(s, "ipv4@", 5) == 0 || strncmp(s, "ipv6@", 5) == 0)
        s += 5;
    return net_addr_parse(s, &api->addr, &api->addr_len, err, errlen);
}

struct runtime_api *runtime_api_new(struct ev_loop *loop, const struct runtime_api_config *cfg,
                                    char *err, size_t errlen)
{
    if (!cfg->address) {
        snprintf(err, errlen, "no runtime API address");
        return NULL;
    }
    struct runtime_api *api = calloc(1, sizeof(*api));
    if (!api) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    api->loop = loop;
    api->cfg = *cfg;
    api->fd = -1;
    api->address = strdup(cfg->address);
    if (!api->address || parse_address(api, cfg->address, err, errlen) < 0) {
        free(api->address);
        free(api);
        return NULL;
    }
    api->cfg.address = api->address;
    if (api->cfg.command_timeout <= 0)
        api->cfg.command_timeout = 10.0;
    if (api->cfg.reconnect_min_delay <= 0)
        api->cfg.reconnect_min_delay = 0.1;
    if (api->cfg.reconnect_max_delay < api->cfg.reconnect_min_delay)
        api->cfg.reconnect_max_delay = api->cfg.reconnect_min_delay;
    if (!api->cfg.max_answer)
        api->cfg.max_answer = 16u << 20;
    if (!api->cfg.max_request)
        api->cfg.max_request = 15u << 10;
    api->backoff = api->cfg.reconnect_min_delay;
    ev_init(&api->io, io_cb);
    ev_init(&api->deadline_timer, deadline_timer_cb);
    ev_init(&api->connect_timer, connect_timer_cb);
    ev_init(&api->idle_timer, idle_timer_cb);
    api->io.data = api->deadline_timer.data = api->connect_timer.data = api->idle_timer.data = api;
    return api;
}

/* ---- small helpers ---------------------------------------------------- */

static void watch_io(struct runtime_api *api)
{
    if (api->fd < 0)
        return;
    int events = EV_READ;
    if (api->state == CONN_CONNECTING || api->unwritten)
        events |= EV_WRITE;
    if (ev_is_active(&api->io) && (api->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(api->loop, &api->io);
    ev_io_set(&api->io, api->fd, events);
    ev_io_start(api->loop, &api->io);
}

static void arm_deadline(struct runtime_api *api, ev_tstamp deadline)
{
    ev_tstamp now = ev_now(api->loop);
    ev_tstamp delay = deadline > now ? deadline - now : 0;
    if (ev_is_active(&api->deadline_timer)) {
        if (ev_timer_remaining(api->loop, &api->deadline_timer) <= delay)
            return;
        ev_timer_stop(api->loop, &api->deadline_timer);
    }
    ev_timer_set(&api->deadline_timer, delay, 0.);
    ev_timer_start(api->loop, &api->deadline_timer);
}

static void close_connection(struct runtime_api *api)
{
    ev_io_stop(api->loop, &api->io);
    ev_timer_stop(api->loop, &api->idle_timer);
    if (api->fd >= 0)
        close(api->fd);
    api->fd = -1;
    api->state = CONN_DOWN;
    api->rstart = api->rlen = 0;
    api->scanned = 0;
    api->prompts_seen = 0;
}

static void free_command(struct command *c)
{
    free(c->wire);
    free(c);
}

/* Starts the idle countdown when nothing is waiting on an open connection. */
static void update_idle(struct runtime_api *api)
{
    ev_timer_stop(api->loop, &api->idle_timer);
    if (api->state == CONN_UP && !api->head && api->cfg.idle_close > 0) {
        ev_timer_set(&api->idle_timer, api->cfg.idle_close, 0.);
        ev_timer_start(api->loop, &api->idle_timer);
    }
}

/* ---- connecting ------------------------------------------------------- */

static int queue_prompt_command(struct runtime_api *api)
{
    struct command *c = calloc(1, sizeof(*c));
    if (!c || !(c->wire = strdup("prompt\n"))) {
        free(c);
        return -ENOMEM;
    }
    c->wire_len = strlen(c->wire);
    c->internal = 1;
    c->deadline = ev_time() + api->cfg.command_timeout;
    /* It goes first: nothing has been written on a connection not yet open. */
    c->next = api->head;
    api->head = c;
    if (!api->tail)
        api->tail = c;
    api->unwritten = c;
    api->n_pending++;
    arm_deadline(api, c->deadline);
    return 0;
}

static void start_connect(struct runtime_api *api)
{
    if (api->state != CONN_DOWN || !api->head)
        return;
    int err = queue_prompt_command(api);
    if (err < 0) {
        fail_all(api, err, 1);
        return;
    }
    int fd = socket(api->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_all(api, -errno, 1);
        return;
    }
    api->fd = fd;
    api->state = CONN_CONNECTING;
    if (connect(fd, (struct sockaddr *)&api->addr, api->addr_len) < 0 && errno != EINPROGRESS) {
        err = -errno;
        log_warn("haproxy-api", "cannot connect to %s: %s", api->address, strerror(-err));
        fail_all(api, err, 1);
        return;
    }
    /* Writability (checked in io_cb) tells when the connection is made. */
    watch_io(api);
}

static void connect_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct runtime_api *api = w->data;
    start_connect(api);
    after_callbacks(api);
}

/* Connects now, or when the backoff after the last failure has passed.
 * Always from the loop, so callbacks never run inside runtime_api_send. */
static void schedule_connect(struct runtime_api *api)
{
    if (api->state != CONN_DOWN || ev_is_active(&api->connect_timer))
        return;
    ev_tstamp now = ev_now(api->loop);
    ev_tstamp delay = api->next_connect_at > now ? api->next_connect_at - now : 0;
    ev_timer_set(&api->connect_timer, delay, 0.);
    ev_timer_start(api->loop, &api->connect_timer);
}

/* ---- failing ---------------------------------------------------------- */

/* Closes the connection and fails every waiting command: with err, or with
 * -ETIMEDOUT for those whose own deadline has passed when err is
 * -ECONNABORTED, or -ECANCELED once the client is being freed. penalize: the
 * next connection waits for the backoff. Callbacks may queue commands (they
 * start a new queue) or free the client (finished by after_callbacks). */
static void fail_all(struct runtime_api *api, int err, int penalize)
{
    struct command *list = api->head;
    int had_commands = list != NULL;
    api->head = api->tail = api->unwritten = NULL;
    api->n_pending = 0;
    close_connection(api);
    ev_timer_stop(api->loop, &api->deadline_timer);
    if (penalize) {
        api->next_connect_at = ev_now(api->loop) + api->backoff;
        api->backoff *= 2;
        if (api->backoff > api->cfg.reconnect_max_delay)
            api->backoff = api->cfg.reconnect_max_delay;
    }
    if (had_commands && !api->free_requested)
        api->stats.disconnects++;
    ev_tstamp now = ev_now(api->loop) + DEADLINE_SLACK;
    api->dispatching++;
    while (list) {
        struct command *c = list;
        list = c->next;
        if (!c->internal) {
            int e = err == -ECONNABORTED && c->deadline <= now ? -ETIMEDOUT : err;
            api->stats.failed++;
            c->cb(c->user, "", 0, api->free_requested ? -ECANCELED : e);
        }
        free_command(c);
    }
    api->dispatching--;
}

static void deadline_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct runtime_api *api = w->data;
    ev_tstamp now = ev_now(loop) + DEADLINE_SLACK, next = 0;
    int expired = 0;
    for (struct command *c = api->head; c; c = c->next) {
        if (c->deadline <= now)
            expired = 1;
        else if (!next || c->deadline < next)
            next = c->deadline;
    }
    if (expired) {
        log_warn("haproxy-api", "%s: no answer in time, dropping the connection", api->address);
        fail_all(api, -ECONNABORTED, 1);
        after_callbacks(api);
    } else if (next) {
        arm_deadline(api, next);
    }
}

static void idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct runtime_api *api = w->data;
    if (api->state == CONN_UP && !api->head)
        close_connection(api);
}

/* ---- writing ---------------------------------------------------------- */

static void write_pending(struct runtime_api *api)
{
    while (api->unwritten) {
        struct command *c = api->unwritten;
        ssize_t n = send(api->fd, c->wire + c->written, c->wire_len - c->written, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            fail_all(api, errno == EPIPE ? -ECONNRESET : -errno, 1);
            return;
        }
        c->written += (size_t)n;
        if (c->written == c->wire_len)
            api->unwritten = c->next;
    }
    watch_io(api);
}

/* ---- reading and framing ---------------------------------------------- */

static const char *find_bytes(const char *hay, size_t len, const char *needle, size_t nlen)
{
    return nlen <= len ? memmem(hay, len, needle, nlen) : NULL;
}

/* Looks for the end of the head's answer in rbuf[rstart..rlen). Returns 1
 * with the body's offset/length and the bytes to consume, 0 if more bytes
 * are needed, or a negative errno when the stream is not an answer. */
static int frame_answer(struct runtime_api *api, size_t *body_off, size_t *body_len,
                        size_t *consumed)
{
    struct command *c = api->head;

    /* "+ " is printed for every line HAProxy reads in payload mode; they
     * come before any output (scanned == 0) and are consumed at once. */
    while (api->scanned == 0 && api->prompts_seen < c->payload_prompts && api->rstart < api->rlen &&
           api->rbuf[api->rstart] == '+') {
        if (api->rlen - api->rstart < 2)
            return 0;
        if (api->rbuf[api->rstart + 1] != ' ')
            break;
        api->rstart += 2;
        api->prompts_seen++;
    }
    const char *p = api->rbuf + api->rstart;
    size_t avail = api->rlen - api->rstart;
    if (!avail)
        return 0;

    if (c->one_line) {
        const char *nl = memchr(p, '\n', avail);
        if (!nl || (size_t)(nl - p) + 1 >= avail)
            return 0;
        size_t line_end = (size_t)(nl - p) + 1;
        if (p[line_end] != '\n') { /* not the documented "\n\n": the quirk */
            size_t rest = avail - line_end;
            for (size_t i = 0; i < rest && i < PROMPT_MAX_LEN; i++) {
                if (p[line_end + i] == '\n')
                    return -EPROTO;
                if (p[line_end + i] == '>' && i + 1 < rest && p[line_end + i + 1] == ' ') {
                    *body_off = api->rstart;
                    *body_len = line_end - 1;
                    *consumed = line_end + i + 2;
                    return 1;
                }
            }
            return rest >= PROMPT_MAX_LEN ? -EPROTO : 0;
        }
    }

    /* The output ends with an empty line: either the answer starts with
     * "\n", or "\n\n" appears (at most once: HAProxy never prints an empty
     * line inside an output). */
    size_t empty_line_end; /* offset just after the empty line's '\n' */
    if (p[0] == '\n') {
        *body_len = 0;
        empty_line_end = 1;
    } else {
        size_t from = api->scanned > 0 ? api->scanned - 1 : 0;
        const char *nn = find_bytes(p + from, avail - from, "\n\n", 2);
        if (!nn) {
            api->scanned = avail; /* never rescan the body */
            if (avail > api->cfg.max_answer)
                return -EMSGSIZE;
            return 0;
        }
        api->scanned = (size_t)(nn - p);  /* found again from here next time */
        *body_len = (size_t)(nn - p) + 1; /* keep the last line's '\n' */
        empty_line_end = *body_len + 1;
        if (*body_len > api->cfg.max_answer)
            return -EMSGSIZE;
    }

    /* Then the prompt: a few bytes without a newline, ending in "> ". */
    size_t rest = avail - empty_line_end;
    const char *prompt = p + empty_line_end;
    for (size_t i = 0; i < rest && i < PROMPT_MAX_LEN; i++) {
        if (prompt[i] == '\n')
            return -EPROTO;
        if (prompt[i] == '>' && i + 1 < rest && prompt[i + 1] == ' ') {
            *body_off = api->rstart;
            *consumed = empty_line_end + i + 2;
            return 1;
        }
    }
    return rest >= PROMPT_MAX_LEN ? -EPROTO : 0;
}

/* Completes the head with the answer found by frame_answer. */
static void complete_head(struct runtime_api *api, size_t body_off, size_t body_len,
                          size_t consumed)
{
    struct command *c = api->head;
    api->head = c->next;
    if (!api->head)
        api->tail = NULL;
    api->n_pending--;
    char *body = api->rbuf + body_off;
    body[body_len] = '\0'; /* overwrites the empty line's '\n', already consumed */
    api->rstart += consumed;
    api->scanned = 0;
    api->prompts_seen = 0;
    if (c->internal) {
        api->state = CONN_UP;
        api->backoff = api->cfg.reconnect_min_delay;
        api->next_connect_at = 0;
        api->stats.connects++;
        log_debug("haproxy-api", "connected to %s", api->address);
    } else {
        api->stats.answered++;
        c->cb(c->user, body, body_len, 0);
    }
    free_command(c);
}

static int grow_rbuf(struct runtime_api *api)
{
    if (api->rstart > 0) {
        memmove(api->rbuf, api->rbuf + api->rstart, api->rlen - api->rstart);
        api->rlen -= api->rstart;
        api->rstart = 0;
    }
    if (api->rcap - api->rlen >= READ_CHUNK / 4)
        return 0;
    size_t cap = api->rcap ? api->rcap * 2 : READ_CHUNK;
    while (cap - api->rlen < READ_CHUNK / 4)
        cap *= 2;
    char *n = realloc(api->rbuf, cap);
    if (!n)
        return -ENOMEM;
    api->rbuf = n;
    api->rcap = cap;
    return 0;
}

/* Reads what is there and completes every command whose answer is whole. */
static void read_answers(struct runtime_api *api)
{
    int err = grow_rbuf(api);
    if (err < 0) {
        fail_all(api, err, 1);
        return;
    }
    ssize_t n = recv(api->fd, api->rbuf + api->rlen, api->rcap - api->rlen, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        fail_all(api, -errno, 1);
        return;
    }
    if (n == 0) {
        /* Closed by HAProxy: a restart, a crash, or its idle timeout. */
        if (api->head)
            log_warn("haproxy-api", "%s closed the connection with %zu command(s) waiting",
                     api->address, api->n_pending);
        fail_all(api, -ECONNRESET, api->head != NULL);
        return;
    }
    api->rlen += (size_t)n;

    api->dispatching++;
    while (api->rstart < api->rlen && api->fd >= 0 && !api->free_requested) {
        if (!api->head) {
            err = -EPROTO; /* bytes nobody asked for */
            break;
        }
        size_t body_off, body_len, consumed;
        int r = frame_answer(api, &body_off, &body_len, &consumed);
        if (r < 0) {
            err = r;
            break;
        }
        if (r == 0)
            break;
        complete_head(api, body_off, body_len, consumed);
    }
    api->dispatching--;
    if (err < 0 && api->fd >= 0 && !api->free_requested) {
        log_warn("haproxy-api", "%s: %s, dropping the connection", api->address, strerror(-err));
        /* The head gets the precise error; the others lose their connection. */
        struct command *head = api->head;
        if (head && !head->internal) {
            api->head = head->next;
            if (!api->head)
                api->tail = NULL;
            if (api->unwritten == head)
                api->unwritten = head->next;
            api->n_pending--;
            api->stats.failed++;
            api->dispatching++;
            head->cb(head->user, "", 0, err);
            api->dispatching--;
            free_command(head);
        }
        if (!api->free_requested)
            fail_all(api, -ECONNRESET, 1);
    }
}

static void destroy(struct runtime_api *api)
{
    close_connection(api);
    ev_timer_stop(api->loop, &api->deadline_timer);
    ev_timer_stop(api->loop, &api->connect_timer);
    ev_timer_stop(api->loop, &api->idle_timer);
    free(api->rbuf);
    free(api->address);
    free(api);
}

/* Every loop callback ends here once it has run user callbacks: finishes a
 * free they asked for, or reconnects for commands they queued. Returns 1 if
 * the client is gone. */
static int after_callbacks(struct runtime_api *api)
{
    if (api->free_requested) {
        fail_all(api, -ECANCELED, 0);
        destroy(api);
        return 1;
    }
    if (api->fd < 0 && api->head)
        schedule_connect(api);
    update_idle(api);
    return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct runtime_api *api = w->data;
    if (api->state == CONN_CONNECTING && (revents & EV_WRITE)) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(api->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr) {
            log_warn("haproxy-api", "cannot connect to %s: %s", api->address, strerror(soerr));
            fail_all(api, -soerr, 1);
            goto out;
        }
        api->state = CONN_UP; /* interactive once "prompt" is answered */
    }
    if ((revents & EV_READ) && api->fd >= 0)
        read_answers(api);
    if ((revents & EV_WRITE) && api->fd >= 0 && !api->free_requested)
        write_pending(api);
out:
    after_callbacks(api);
}

/* ---- queueing --------------------------------------------------------- */

/* Rejects what would break the one-line-one-answer framing. */
static int check_command_line(const char *cmd)
{
    size_t len = strlen(cmd);
    if (!len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)cmd[i];
        if (ch < 0x20 || ch == 0x7f)
            return -EINVAL;
        if (ch == '\\') {
            if (i + 1 == len)
                return -EINVAL; /* would escape the newline */
            i++;
        } else if (ch == ';') {
            return -EINVAL; /* would start a second command */
        }
    }
    if (len >= 2 && cmd[len - 1] == '<' && cmd[len - 2] == '<')
        return -EINVAL; /* would switch to payload mode */
    size_t word = strcspn(cmd, " ");
    if ((word == 6 && strncmp(cmd, "prompt", 6) == 0) ||
        (word == 4 && strncmp(cmd, "quit", 4) == 0))
        return -EINVAL;
    return 0;
}

static int check_payload(const char *payload, size_t len)
{
    if (len && payload[len - 1] == '\n')
        len--;
    if (len && payload[len - 1] == '\n')
        return -EINVAL; /* ends with an empty line */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)payload[i];
        if (ch == '\n') {
            if (i == 0 || payload[i - 1] == '\n')
                return -EINVAL; /* an empty line would end the payload early */
        } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return -EINVAL;
        }
    }
    return 0;
}

int runtime_api_submit(struct runtime_api *api, const struct runtime_api_request *req,
                       runtime_api_cb cb, void *user)
{
    if (!req->command || !cb || api->free_requested)
        return -EINVAL;
    int err = check_command_line(req->command);
    if (err < 0)
        return err;
    size_t cmd_len = strlen(req->command);
    size_t payload_len = req->payload ? req->payload_len : 0;
    unsigned lines = 0;
    if (req->payload) {
        if ((err = check_payload(req->payload, payload_len)) < 0)
            return err;
        if (payload_len && req->payload[payload_len - 1] == '\n')
            payload_len--;
        for (size_t i = 0; i < payload_len; i++)
            lines += req->payload[i] == '\n';
        lines += payload_len > 0;
    }
    /* "cmd <<\n" payload "\n" "\n", or "cmd\n" */
    size_t wire_len = cmd_len + 1 + (req->payload ? 3 + payload_len + (payload_len > 0) + 1 : 0);
    if (wire_len > api->cfg.max_request)
        return -EMSGSIZE;

    struct command *c = calloc(1, sizeof(*c));
    char *wire = malloc(wire_len + 1);
    if (!c || !wire) {
        free(c);
        free(wire);
        return -ENOMEM;
    }
    size_t n = 0;
    memcpy(wire, req->command, cmd_len);
    n += cmd_len;
    if (req->payload) {
        memcpy(wire + n, " <<\n", 4);
        n += 4;
        if (payload_len) {
            memcpy(wire + n, req->payload, payload_len);
            n += payload_len;
            wire[n++] = '\n';
        }
    }
    wire[n++] = '\n';
    wire[n] = '\0';
    c->wire = wire;
    c->wire_len = n;
    /* One "+ " after the command line and after each payload line. */
    c->payload_prompts = req->payload ? 1 + lines : 0;
    c->one_line = strncmp(req->command, "del server ", 11) == 0;
    c->cb = cb;
    c->user = user;
    double timeout = req->timeout > 0 ? req->timeout : api->cfg.command_timeout;
    /* ev_time, not ev_now: the caller may have blocked since the loop ran */
    c->deadline = ev_time() + timeout;

    if (api->tail)
        api->tail->next = c;
    else
        api->head = c;
    api->tail = c;
    if (!api->unwritten)
        api->unwritten = c;
    api->n_pending++;
    arm_deadline(api, c->deadline);
    ev_timer_stop(api->loop, &api->idle_timer);
    if (api->state == CONN_DOWN)
        schedule_connect(api);
    else
        watch_io(api);
    return 0;
}

int runtime_api_send(struct runtime_api *api, const char *command, runtime_api_cb cb, void *user)
{
    struct runtime_api_request req = {.command = command};
    return runtime_api_submit(api, &req, cb, user);
}

int runtime_api_send_payload(struct runtime_api *api, const char *command, const char *payload,
                             size_t payload_len, runtime_api_cb cb, void *user)
{
    struct runtime_api_request req = {
        .command = command, .payload = payload ? payload : "", .payload_len = payload_len};
    return runtime_api_submit(api, &req, cb, user);
}

/* ---- the rest --------------------------------------------------------- */

size_t runtime_api_pending(const struct runtime_api *api)
{
    size_t n = api->n_pending;
    /* our own "prompt" is not a caller's command */
    if (api->head && api->head->internal)
        n--;
    return n;
}

void runtime_api_disconnect(struct runtime_api *api)
{
    if (api->head) {
        fail_all(api, -ECONNRESET, 0);
        after_callbacks(api);
    } else {
        close_connection(api);
    }
}

int runtime_api_connected(const struct runtime_api *api)
{
    return api->state == CONN_UP && !(api->head && api->head->internal);
}

void runtime_api_get_stats(const struct runtime_api *api, struct runtime_api_stats *out)
{
    *out = api->stats;
}

void runtime_api_free(struct runtime_api *api)
{
    if (!api || api->free_requested)
        return;
    api->free_requested = 1;
    if (api->dispatching)
        return; /* a callback: after_callbacks() finishes the job */
    fail_all(api, -ECANCELED, 0);
    destroy(api);
}

struct sync_call {
    int done;
    int err;
    char *answer;
    size_t len;
};

static void sync_cb(void *user, const char *answer, size_t len, int err)
{
    struct sync_call *s = user;
    s->done = 1;
    s->err = err;
    if (!err) {
        s->answer = malloc(len + 1);
        if (s->answer) {
            memcpy(s->answer, answer, len);
            s->answer[len] = '\0';
            s->len = len;
        } else {
            s->err = -ENOMEM;
        }
    }
}

int runtime_api_call_sync(struct runtime_api *api, const char *command, const char *payload,
                          size_t payload_len, char **answer, size_t *len)
{
    struct sync_call s = {0};
    struct runtime_api_request req = {
        .command = command, .payload = payload, .payload_len = payload_len};
    *answer = NULL;
    if (len)
        *len = 0;
    int err = runtime_api_submit(api, &req, sync_cb, &s);
    if (err < 0)
        return err;
    while (!s.done)
        ev_run(api->loop, EVRUN_ONCE); /* ends: every command has a deadline */
    if (s.err)
        return s.err;
    *answer = s.answer;
    if (len)
        *len = s.len;
    return 0;
}
