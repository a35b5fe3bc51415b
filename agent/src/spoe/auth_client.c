/* auth_client.c - external auth's HTTP calls on a thread of their own
 * (auth_client.h): a mutex-protected queue fed by any thread and an
 * ev_async that wakes the client's libev loop, which drives libcurl's multi
 * interface the way kube/http.c does (ev_io per socket curl names, one
 * ev_timer for curl's timeout). Easy handles are only added or removed
 * outside curl's callbacks. */
#include "spoe/auth_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "spoe/auth_headers.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "version.h"

#define VALUE_KEEP 8192        /* bytes of a captured header value kept */
#define BODY_MAX   (64 * 1024) /* answer body bytes read before hanging up */

struct job {
    struct job *next, *prev; /* queue (next only) or active list */
    struct auth_client *c;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *method;
    char **capture;
    size_t n_capture;
    struct auth_value *values;
    double deadline;
    size_t body;
    bool body_cut; /* we hung up after BODY_MAX bytes of body */
    auth_done_fn done;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
};

struct sock {
    ev_io io;
    struct auth_client *c;
    struct sock *prev, *next;
};

struct auth_client {
    /* shared, under lock */
    pthread_mutex_t lock;
    struct job *qhead, *qtail;
    unsigned queued;  /* waiting in the queue */
    unsigned pending; /* accepted, done not called yet */
    bool stopping;
    /* the client's thread only */
    struct ev_loop *loop;
    ev_async wake;
    ev_timer timer;
    CURLM *multi;
    struct job *active;
    unsigned nactive;
    struct sock *socks;
    pthread_t thread;
    unsigned max_active, max_queued;
};

double auth_client_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- jobs ------------------------------------------------------------------ */

static void job_free(struct job *j)
{
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    for (size_t i = 0; i < j->n_capture; i++) {
        free(j->capture[i]);
        free((char *)j->values[i].s);
    }
    free(j->capture);
    free(j->values);
    free(j->url);
    free(j->method);
    free(j);
}

/* Tells the owner and frees; j is in no list and not in the multi handle. */
static void job_done(struct job *j, long status, const char *err)
{
    struct auth_result res = {.status = err ? 0 : status, .err = err, .values = j->values};
    j->done(j->ud, &res);
    struct auth_client *c = j->c;
    pthread_mutex_lock(&c->lock);
    c->pending--;
    pthread_mutex_unlock(&c->lock);
    job_free(j);
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
    struct job *j = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after a 1xx): forget what came before. */
        for (size_t i = 0; i < j->n_capture; i++) {
            free((char *)j->values[i].s);
            j->values[i] = (struct auth_value){0};
        }
        return n;
    }
    for (size_t i = 0; i < j->n_capture; i++) {
        const char *v;
        size_t vl;
        if (j->values[i].present || !auth_header_line_match(line, n, j->capture[i], &v, &vl))
            continue;
        j->values[i].present = true;
        j->values[i].s = xstrndup(v, vl < VALUE_KEEP ? vl : VALUE_KEEP);
        j->values[i].len = vl;
    }
    return n;
}

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    struct job *j = ud;
    size_t n = size * nmemb;
    j->body += n;
    if (j->body > BODY_MAX) {
        j->body_cut = true;
        return 0; /* anything but n ends the transfer */
    }
    return n;
}

static bool job_setup(struct job *j, double now)
{
    double left = j->deadline - now;
    long ms = left > 0 ? (long)(left * 1000. + 0.999) : 0;
    CURL *e = j->easy = curl_easy_init();
    if (!e || ms <= 0)
        return false;
    bool ok = true;
    ok = ok && curl_easy_setopt(e, CURLOPT_URL, j->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, j) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, "spoke/" SPOKE_VERSION) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERDATA, j) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, j) == CURLE_OK;
    if (strcmp(j->method, "HEAD") == 0) {
        ok = ok && curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
    } else if (strcmp(j->method, "POST") == 0) {
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDS, "") == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L) == CURLE_OK;
    }
    return ok;
}

/* ---- the loop (client thread) ----------------------------------------------- */

static void active_unlink(struct auth_client *c, struct job *j)
{
    curl_multi_remove_handle(c->multi, j->easy);
    if (j->prev)
        j->prev->next = j->next;
    else
        c->active = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    c->nactive--;
}

/* Starts queued jobs while there is room. */
static void pump(struct auth_client *c)
{
    for (;;) {
        pthread_mutex_lock(&c->lock);
        struct job *j = c->nactive < c->max_active && !c->stopping ? c->qhead : NULL;
        if (j) {
            c->qhead = j->next;
            if (!c->qhead)
                c->qtail = NULL;
            c->queued--;
        }
        pthread_mutex_unlock(&c->lock);
        if (!j)
            return;
        j->next = NULL;
        if (!job_setup(j, auth_client_now())) {
            job_done(j, 0, j->easy ? "timed out before it started" : "cannot start the call");
            continue;
        }
        if (curl_multi_add_handle(c->multi, j->easy) != CURLM_OK) {
            job_done(j, 0, "cannot start the call");
            continue;
        }
        j->next = c->active;
        if (c->active)
            c->active->prev = j;
        c->active = j;
        c->nactive++;
    }
}

static void collect(struct auth_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode res = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        struct job *j = (struct job *)(void *)priv;
        long status = 0;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        active_unlink(c, j);
        const char *err = NULL;
        if (res != CURLE_OK && !(j->body_cut && status > 0))
            err = j->errbuf[0] ? j->errbuf : curl_easy_strerror(res);
        job_done(j, status, err);
    }
}

static void drive(struct auth_client *c, curl_socket_t fd, int action)
{
    int running = 0;
    curl_multi_socket_action(c->multi, fd, action, &running);
    collect(c);
    pump(c);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sock *s = w->data;
    int action =
        ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    drive(s->c, w->fd, action);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    drive(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct auth_client *c, struct sock *s)
{
    ev_io_stop(c->loop, &s->io);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static int socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct auth_client *c = userp;
    struct sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_free(c, s);
        return 0;
    }
    int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->c = c;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        ev_io_init(&s->io, io_cb, fd, events);
        s->io.data = s;
        curl_multi_assign(c->multi, fd, s);
    } else {
        ev_io_stop(c->loop, &s->io);
        ev_io_set(&s->io, fd, events);
    }
    ev_io_start(c->loop, &s->io);
    return 0;
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct auth_client *c = userp;
    ev_timer_stop(c->loop, &c->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&c->timer, (double)timeout_ms / 1000., 0.);
        ev_timer_start(c->loop, &c->timer);
    }
    return 0;
}

/* Stopping: every call not finished is answered, then the loop ends. */
static void stop_all(struct auth_client *c)
{
    while (c->active) {
        struct job *j = c->active;
        active_unlink(c, j);
        job_done(j, 0, "shutting down");
    }
    pthread_mutex_lock(&c->lock);
    struct job *q = c->qhead;
    c->qhead = c->qtail = NULL;
    c->queued = 0;
    pthread_mutex_unlock(&c->lock);
    while (q) {
        struct job *next = q->next;
        job_done(q, 0, "shutting down");
        q = next;
    }
    ev_break(c->loop, EVBREAK_ALL);
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct auth_client *c = w->data;
    pthread_mutex_lock(&c->lock);
    bool stopping = c->stopping;
    pthread_mutex_unlock(&c->lock);
    if (stopping)
        stop_all(c);
    else
        pump(c);
}

static void *run(void *arg)
{
    struct auth_client *c = arg;
    ev_run(c->loop, 0);
    return NULL;
}

/* ---- public API -------------------------------------------------------------- */

struct auth_client *auth_client_new(unsigned max_active, unsigned max_queued, char *err,
                                    size_t errlen)
{
    struct auth_client *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->max_active = max_active ? max_active : 1;
    c->max_queued = max_queued;
    c->loop = ev_loop_new(EVFLAG_AUTO);
    c->multi = curl_multi_init();
    if (!c->loop || !c->multi) {
        snprintf(err, errlen, "cannot create the external auth client's loop");
        goto fail;
    }
    ev_async_init(&c->wake, wake_cb);
    c->wake.data = c;
    ev_async_start(c->loop, &c->wake);
    ev_timer_init(&c->timer, timer_cb, 0., 0.);
    c->timer.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        snprintf(err, errlen, "cannot start the external auth thread");
        goto fail;
    }
    return c;
fail:
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->loop)
        ev_loop_destroy(c->loop);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

bool auth_client_submit(struct auth_client *c, const struct auth_call *call, auth_done_fn done,
                        void *ud)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->c = c;
    j->url = xstrdup(call->url);
    j->method = xstrdup(call->method ? call->method : "GET");
    j->deadline = call->deadline;
    j->done = done;
    j->ud = ud;
    bool ok = true;
    for (size_t i = 0; i < call->n_headers && ok; i++) {
        struct curl_slist *l = curl_slist_append(j->headers, call->headers[i]);
        if (l)
            j->headers = l;
        ok = l != NULL && strpbrk(call->headers[i], "\r\n") == NULL;
    }
    j->n_capture = call->n_capture;
    j->capture = xcalloc(call->n_capture, sizeof(*j->capture));
    j->values = xcalloc(call->n_capture, sizeof(*j->values));
    for (size_t i = 0; i < call->n_capture; i++)
        j->capture[i] = xstrdup(call->capture[i]);
    pthread_mutex_lock(&c->lock);
    ok = ok && !c->stopping && c->pending < c->max_active + c->max_queued;
    if (ok) {
        c->pending++;
        c->queued++;
        if (c->qtail)
            c->qtail->next = j;
        else
            c->qhead = j;
        c->qtail = j;
        ev_async_send(c->loop, &c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (!ok)
        job_free(j);
    return ok;
}

void auth_client_free(struct auth_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    ev_async_send(c->loop, &c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    /* The thread answered every call; curl lets go of its sockets now. */
    curl_multi_cleanup(c->multi);
    while (c->socks)
        sock_free(c, c->socks);
    ev_timer_stop(c->loop, &c->timer);
    ev_async_stop(c->loop, &c->wake);
    ev_loop_destroy(c->loop);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

unsigned auth_client_pending(struct auth_client *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned n = c->pending;
    pthread_mutex_unlock(&c->lock);
    return n;
}
