/*
 * http.c - kube_http: libcurl's multi interface driven by libev (see http.h).
 *
 * curl says which sockets to watch (socket callback -> one ev_io each) and
 * when to call it back (timer callback -> one ev_timer); both end in
 * curl_multi_socket_action(), after which finished transfers are collected
 * with curl_multi_info_read() and their done callbacks run.
 *
 * Re-entrancy: libcurl forbids adding or removing easy handles from inside
 * its own callbacks, and data callbacks run inside curl's write callback. So
 * while curl runs (h->in_curl), new requests are only queued and cancelled
 * ones only marked; both are settled as soon as curl_multi_socket_action()
 * returns. done callbacks run outside curl, after their request has left the
 * multi handle, so they may start and cancel requests freely.
 *
 * Stream requests: data gets every piece of the body; when the status is
 * 300 or more the first 64 KiB of the body are also kept and handed to done
 * (an error Status), otherwise done gets an empty body.
 */
#include "kube/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/log.h"
#include "version.h"

#define MAX_BODY          ((size_t)256 << 20) /* a whole (non-stream) answer */
#define MAX_ERROR_BODY    ((size_t)64 << 10)  /* error body kept for a stream */
#define CONNECT_TIMEOUT_S 10L

struct kube_req {
    struct kube_http *h;
    struct kube_req *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    kube_http_data_fn data; /* NULL for a whole-answer request */
    kube_http_done_fn done;
    void *ud;
    char *buf; /* body (or a stream's error body) */
    size_t len, cap;
    bool in_multi;  /* added to the multi handle */
    bool cancelled; /* waiting to be removed after curl returns */
    bool finished;  /* its done callback is running */
    bool aborted;   /* the data callback asked to stop */
    bool too_large;
    bool no_memory;
    char errbuf[CURL_ERROR_SIZE];
};

struct kube_sock {
    ev_io io;
    struct kube_http *h;
    struct kube_sock *prev, *next;
};

struct kube_http {
    struct ev_loop *loop;
    struct kube_config *cfg;
    CURLM *multi;
    ev_timer timer;
    struct kube_req *reqs;   /* every request not yet freed */
    struct kube_sock *socks; /* every socket curl asked us to watch */
    int active;
    int in_curl;
    bool settle; /* queued or cancelled requests are waiting */
};

/* ---- requests ---------------------------------------------------------- */

static void req_unlink(struct kube_req *r)
{
    struct kube_http *h = r->h;
    if (r->in_multi) {
        curl_multi_remove_handle(h->multi, r->easy);
        r->in_multi = false;
    }
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void req_free(struct kube_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->buf);
    free(r);
}

static int buf_append(struct kube_req *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct kube_req *r = userdata;
    size_t n = size * nmemb;
    if (r->cancelled)
        return n ? 0 : 1; /* anything but n aborts */
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->data) {
        if (status >= 300 && r->len < MAX_ERROR_BODY) {
            size_t keep = MAX_ERROR_BODY - r->len < n ? MAX_ERROR_BODY - r->len : n;
            if (buf_append(r, ptr, keep) < 0) {
                r->no_memory = true;
                return 0;
            }
        }
        if (n && r->data(r->ud, status, ptr, n) != 0) {
            r->aborted = true;
            return 0;
        }
        return r->cancelled ? 0 : n; /* the data callback may have cancelled it */
    }
    if (r->len + n > MAX_BODY) {
        r->too_large = true;
        return 0;
    }
    if (buf_append(r, ptr, n) < 0) {
        r->no_memory = true;
        return 0;
    }
    return n;
}

/* The transfer is over: take it out of everything, tell the owner, free. */
static void req_finish(struct kube_req *r, CURLcode res)
{
    struct kube_http *h = r->h;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    const char *err = NULL;
    if (r->aborted)
        err = "aborted";
    else if (r->too_large)
        err = "response body too large";
    else if (r->no_memory)
        err = "out of memory";
    else if (res != CURLE_OK)
        err = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
    if (err)
        status = 0;
    const bool stream = r->data != NULL;
    req_unlink(r);
    r->finished = true;
    h->active--;
    const char *body = "";
    size_t len = 0;
    if (r->buf && (!stream || status >= 300)) {
        body = r->buf;
        len = r->len;
    }
    if (r->done)
        r->done(r->ud, status, body, len, err);
    req_free(r);
}

static int req_add(struct kube_req *r)
{
    CURLMcode rc = curl_multi_add_handle(r->h->multi, r->easy);
    if (rc != CURLM_OK) {
        log_error("http", "cannot start request: %s", curl_multi_strerror(rc));
        return -1;
    }
    r->in_multi = true;
    return 0;
}

/* Add the requests queued and free the ones cancelled while curl ran. */
static void settle(struct kube_http *h)
{
    if (!h->settle)
        return;
    h->settle = false;
again:
    for (struct kube_req *r = h->reqs; r; r = r->next) {
        if (r->cancelled) {
            req_unlink(r);
            req_free(r);
            goto again;
        }
        if (!r->in_multi && !r->finished && req_add(r) < 0) {
            /* Its owner was told it started: answer it with the failure. */
            snprintf(r->errbuf, sizeof(r->errbuf), "cannot start request");
            req_finish(r, CURLE_FAILED_INIT);
            goto again;
        }
    }
}

static void collect(struct kube_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode res = m->data.result;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv)
            req_finish((struct kube_req *)(void *)priv, res);
    }
}

static void drive(struct kube_http *h, curl_socket_t fd, int action)
{
    int running = 0;
    h->in_curl++;
    CURLMcode rc = curl_multi_socket_action(h->multi, fd, action, &running);
    h->in_curl--;
    if (rc != CURLM_OK)
        log_warn("http", "curl_multi_socket_action: %s", curl_multi_strerror(rc));
    settle(h);
    collect(h);
}

/* ---- libev <-> curl ---------------------------------------------------- */

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct kube_sock *ks = w->data;
    int action =
        ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    drive(ks->h, w->fd, action);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    drive(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static void sock_free(struct kube_http *h, struct kube_sock *ks)
{
    ev_io_stop(h->loop, &ks->io);
    if (ks->prev)
        ks->prev->next = ks->next;
    else
        h->socks = ks->next;
    if (ks->next)
        ks->next->prev = ks->prev;
    free(ks);
}

static int socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct kube_http *h = userp;
    struct kube_sock *ks = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ks)
            sock_free(h, ks);
        return 0;
    }
    int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!ks) {
        ks = calloc(1, sizeof(*ks));
        if (!ks)
            return -1;
        ks->h = h;
        ks->next = h->socks;
        if (h->socks)
            h->socks->prev = ks;
        h->socks = ks;
        ev_io_init(&ks->io, io_cb, s, events);
        ks->io.data = ks;
        curl_multi_assign(h->multi, s, ks);
    } else {
        ev_io_stop(h->loop, &ks->io);
        ev_io_set(&ks->io, s, events);
    }
    ev_io_start(h->loop, &ks->io);
    return 0;
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct kube_http *h = userp;
    ev_timer_stop(h->loop, &h->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&h->timer, (double)timeout_ms / 1000., 0.);
        ev_timer_start(h->loop, &h->timer);
    }
    return 0;
}

/* ---- public API -------------------------------------------------------- */

struct kube_http *kube_http_new(struct ev_loop *loop, struct kube_config *cfg)
{
    struct kube_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->loop = loop;
    h->cfg = cfg;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    ev_timer_init(&h->timer, timer_cb, 0., 0.);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

/* Not from inside one of the client's own callbacks. */
void kube_http_free(struct kube_http *h)
{
    if (!h)
        return;
    while (h->reqs) {
        struct kube_req *r = h->reqs;
        req_unlink(r);
        req_free(r);
    }
    curl_multi_cleanup(h->multi);
    while (h->socks)
        sock_free(h, h->socks);
    ev_timer_stop(h->loop, &h->timer);
    free(h);
}

int kube_http_active(const struct kube_http *h)
{
    return h->active;
}

/* Header-safe: no CR/LF that would end the header early. */
static bool header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static bool add_header(struct kube_req *r, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return false;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(r->headers, line);
    free(line);
    if (!l)
        return false;
    r->headers = l;
    return true;
}

static bool set_tls(CURL *e, const struct kube_config *cfg)
{
    bool ok = true;
    if (cfg->ca_data) {
        struct curl_blob ca = {cfg->ca_data,
                               cfg->ca_data_len ? cfg->ca_data_len : strlen(cfg->ca_data),
                               CURL_BLOB_COPY};
        /* Trust the cluster's CA only, not the system bundle. */
        ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, (char *)NULL) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_CAPATH, (char *)NULL) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca) == CURLE_OK;
    } else if (cfg->ca_file) {
        ok = ok && curl_easy_setopt(e, CURLOPT_CAPATH, (char *)NULL) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file) == CURLE_OK;
    }
    if (cfg->cert_data) {
        struct curl_blob cert = {cfg->cert_data,
                                 cfg->cert_data_len ? cfg->cert_data_len : strlen(cfg->cert_data),
                                 CURL_BLOB_COPY};
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
    } else if (cfg->cert_file) {
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
    }
    if (cfg->key_data) {
        struct curl_blob key = {cfg->key_data,
                                cfg->key_data_len ? cfg->key_data_len : strlen(cfg->key_data),
                                CURL_BLOB_COPY};
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
    } else if (cfg->key_file) {
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
    }
    if (cfg->insecure_skip_tls_verify) {
        ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
    } else {
        ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    }
    return ok;
}

static bool set_method(struct kube_req *r, const char *method, const char *content_type,
                       const char *body)
{
    CURL *e = r->easy;
    bool ok = true;
    if (!method || strcmp(method, "GET") == 0)
        ok = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    else if (strcmp(method, "HEAD") == 0)
        ok = curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
    else if (strcmp(method, "POST") != 0)
        ok = header_safe(method) && strchr(method, ' ') == NULL &&
             curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    if (ok && (body || (method && strcmp(method, "POST") == 0))) {
        const char *b = body ? body : "";
        ok = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b)) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, b) == CURLE_OK;
        /* curl's default would be application/x-www-form-urlencoded. */
        const char *ct = content_type ? content_type : "application/json";
        ok = ok && header_safe(ct) && add_header(r, "Content-Type", ct);
        /* No "Expect: 100-continue" round trip for large bodies. */
        ok = ok && (r->headers = curl_slist_append(r->headers, "Expect:")) != NULL;
    }
    return ok;
}

static char *make_url(const char *server, const char *path_query)
{
    size_t sl = strlen(server);
    while (sl && server[sl - 1] == '/')
        sl--;
    size_t pl = strlen(path_query);
    char *url = malloc(sl + pl + 1);
    if (!url)
        return NULL;
    memcpy(url, server, sl);
    memcpy(url + sl, path_query, pl + 1);
    return url;
}

static struct kube_req *start(struct kube_http *h, const char *method, const char *path_query,
                              const char *content_type, const char *body, long timeout_s,
                              kube_http_data_fn data, kube_http_done_fn done, void *ud)
{
    if (!h || !path_query || path_query[0] != '/' || !h->cfg || !h->cfg->server)
        return NULL;
    struct kube_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->h = h;
    r->data = data;
    r->done = done;
    r->ud = ud;
    r->easy = curl_easy_init();
    char *url = make_url(h->cfg->server, path_query);
    bool ok = r->easy && url;
    CURL *e = r->easy;
    ok = ok && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
    free(url);
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, "spoke/" SPOKE_VERSION) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L) == CURLE_OK;
    if (data) {
        /* A quiet watch is not a stalled transfer. */
        ok = ok && curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 0L) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 0L) == CURLE_OK;
    }
    ok = ok && set_tls(e, h->cfg);
    ok = ok && add_header(r, "Accept", "application/json");
    const char *token = ok ? kube_config_token(h->cfg) : NULL;
    if (token && token[0]) {
        if (header_safe(token)) {
            size_t n = strlen(token) + sizeof("Bearer ");
            char *v = malloc(n);
            ok = v != NULL;
            if (v) {
                snprintf(v, n, "Bearer %s", token);
                ok = add_header(r, "Authorization", v);
                memset(v, 0, n);
                free(v);
            }
        } else {
            log_warn("http", "bearer token contains a line break; not sending it");
        }
    }
    ok = ok && set_method(r, method, content_type, body);
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
    if (!ok) {
        log_error("http", "cannot set up %s %s", method ? method : "GET", path_query);
        req_free(r);
        return NULL;
    }

    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    if (h->in_curl) {
        h->settle = true; /* added once curl returns */
    } else if (req_add(r) < 0) {
        req_unlink(r);
        req_free(r);
        return NULL;
    }
    h->active++;
    return r;
}

struct kube_req *kube_http_request(struct kube_http *h, const char *method, const char *path_query,
                                   const char *content_type, const char *body, long timeout_s,
                                   kube_http_done_fn done, void *ud)
{
    return start(h, method, path_query, content_type, body, timeout_s, NULL, done, ud);
}

struct kube_req *kube_http_stream(struct kube_http *h, const char *path_query,
                                  kube_http_data_fn data, kube_http_done_fn done, void *ud)
{
    if (!data)
        return NULL;
    return start(h, "GET", path_query, NULL, NULL, 0, data, done, ud);
}

void kube_req_cancel(struct kube_req *r)
{
    if (!r || r->finished || r->cancelled)
        return;
    struct kube_http *h = r->h;
    r->cancelled = true;
    r->done = NULL;
    r->data = NULL;
    h->active--;
    if (h->in_curl) {
        h->settle = true; /* curl may be inside this very transfer */
        return;
    }
    req_unlink(r);
    req_free(r);
}
