/*
 * http.h - non-blocking HTTPS requests to the API server.
 *
 * libcurl's multi interface driven by a libev loop: sockets are watched with
 * ev_io, curl's timeout with ev_timer, nothing ever blocks the loop. Requests
 * carry the kubeconfig's TLS settings and the current bearer token.
 */
#ifndef SPOKE_KUBE_HTTP_H
#define SPOKE_KUBE_HTTP_H

#include <stddef.h>

#include <ev.h>

#include "kube/kubeconfig.h"

struct kube_http;
struct kube_req;

/* The whole answer. status is the HTTP status (0 when the transfer failed:
 * then err says why); body is NUL-terminated and freed after the call.
 * After done the request is gone; do not cancel it. */
typedef void (*kube_http_done_fn)(void *ud, long status, const char *body, size_t len,
                                  const char *err);

/* A streamed answer (watch): called with each piece of the body once the
 * status is known. Return non-zero to abort the transfer (done is then
 * called with err "aborted"). */
typedef int (*kube_http_data_fn)(void *ud, long status, const char *data, size_t len);

/* cfg must outlive the client. */
struct kube_http *kube_http_new(struct ev_loop *loop, struct kube_config *cfg);
/* Cancels every request still running (their done callbacks are NOT called). */
void kube_http_free(struct kube_http *h);

/* path_query starts with '/'; body and content_type may be NULL.
 * timeout_s 0 = no overall timeout (watches). */
struct kube_req *kube_http_request(struct kube_http *h, const char *method, const char *path_query,
                                   const char *content_type, const char *body, long timeout_s,
                                   kube_http_done_fn done, void *ud);

struct kube_req *kube_http_stream(struct kube_http *h, const char *path_query,
                                  kube_http_data_fn data, kube_http_done_fn done, void *ud);

/* Stop a request now; its done callback is not called. */
void kube_req_cancel(struct kube_req *r);

/* Number of requests in flight (for tests and metrics). */
int kube_http_active(const struct kube_http *h);

#endif
