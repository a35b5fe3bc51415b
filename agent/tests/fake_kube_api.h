/*
 * fake_kube_api.h - a scripted Kubernetes API server (fake_http_server.h)
 * and a kube_http client pointed at it, for unit tests of the kube/ code.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. fake_kube_start() makes the loop, starts the server
 * with the test's handler and connects a kube_http client to it;
 * fake_kube_stop() undoes it. fake_respond_json() and fake_respond_status()
 * answer the way the API server does: an object, or a Status with a reason;
 * fake_kube_fault() plays a server that hangs or fails every request.
 */
#ifndef SPOKE_TEST_FAKE_KUBE_API_H
#define SPOKE_TEST_FAKE_KUBE_API_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>

#include "fake_http_server.h"
#include "kube/http.h"

struct fake_kube {
    struct ev_loop *loop;
    struct fake_server srv;
    struct kube_config cfg; /* cfg.server: the server's URL */
    char url[64];
    struct kube_http *http; /* the client under test talks through it */
};

/* 0 once the server listens and the client is made; on_close may be NULL. */
static inline int fake_kube_start(struct fake_kube *k, fake_handler_fn handler,
                                  fake_close_fn on_close, void *ud)
{
    memset(k, 0, sizeof(*k));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    k->loop = ev_loop_new(EVFLAG_AUTO);
    if (fake_server_start(&k->srv, k->loop, handler, on_close, ud) != 0)
        return -1;
    k->cfg.server = (char *)fake_server_url(&k->srv, k->url, sizeof(k->url));
    k->http = kube_http_new(k->loop, &k->cfg);
    return k->http ? 0 : -1;
}

/* Frees the client, then the server and the loop; free what uses the
 * client (informers, caches) before. */
static inline void fake_kube_stop(struct fake_kube *k)
{
    kube_http_free(k->http);
    fake_server_stop(&k->srv);
    ev_loop_destroy(k->loop);
    curl_global_cleanup();
}

/* Answers with obj as compact JSON. */
static inline void fake_respond_json(struct fake_conn *c, int status, const json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    fake_respond(c, status, NULL, text);
    free(text);
}

/* Answers with a Failure Status of code and reason ("NotFound", "Conflict"...). */
static inline void fake_respond_status(struct fake_conn *c, int code, const char *reason)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"%s\",\"code\":%d}", reason,
             code);
    fake_respond(c, code, NULL, body);
}

/* A handler's first step when its test can make the server misbehave: hang
 * answers nothing, fail_status (not 0) answers everything with that Status.
 * true when the request is dealt with. */
static inline bool fake_kube_fault(struct fake_conn *c, bool hang, int fail_status)
{
    if (hang)
        return true;
    if (fail_status) {
        fake_respond_status(c, fail_status, "InternalError");
        return true;
    }
    return false;
}

#endif
