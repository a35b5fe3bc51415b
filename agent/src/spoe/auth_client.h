/*
 * auth_client.h - the HTTP calls of external auth, made by one thread of
 * its own: libcurl's multi interface on a libev loop, so that no thread
 * ever waits on the network. Any thread submits a call (copied into a
 * bounded queue under a mutex, the loop woken with ev_async); the call's
 * done callback runs later on the client's thread, exactly once per
 * accepted call.
 *
 *   struct auth_client *c = auth_client_new(256, 1024, err, sizeof(err));
 *   struct auth_call call = {.url = ..., .method = "GET", .headers = lines,
 *                            .n_headers = n, .capture = names, .n_capture = k,
 *                            .deadline = auth_client_now() + 1.0};
 *   if (!auth_client_submit(c, &call, done, ud)) ...;   // full or stopping
 *   auth_client_free(c);   // unfinished calls get done(err "shutting down")
 *
 * A call does not follow redirects, speaks HTTP/1.1 over http or https
 * (the system's CAs), uses no proxy, ignores the answer's body (up to 64
 * KiB read) and gives up at its deadline, time in the queue included.
 */
#ifndef SPOKE_SPOE_AUTH_CLIENT_H
#define SPOKE_SPOE_AUTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct auth_client;

struct auth_call {
    const char *url;
    const char *method;         /* GET, HEAD or POST (an empty body) */
    const char *const *headers; /* "Name: value" lines, no CR/LF */
    size_t n_headers;
    const char *const *capture; /* answer headers to keep, by name */
    size_t n_capture;
    double deadline; /* auth_client_now() seconds */
};

/* One captured header: its first occurrence, trimmed. */
struct auth_value {
    bool present;
    const char *s; /* NUL-terminated (any other bytes as received) */
    size_t len;    /* the whole value's length; s holds at most 8 KiB of it */
};

struct auth_result {
    long status;                     /* 0: no HTTP answer, see err */
    const char *err;                 /* why there is no answer; NULL with one */
    const struct auth_value *values; /* n_capture, in the call's order */
};

typedef void (*auth_done_fn)(void *ud, const struct auth_result *res);

/* Starts the thread. max_active calls run at once, max_queued more wait.
 * NULL with a reason in err on failure. */
struct auth_client *auth_client_new(unsigned max_active, unsigned max_queued, char *err,
                                    size_t errlen);

/* Copies call; false (done never called) when the queue is full or the
 * client is stopping. Any thread. */
bool auth_client_submit(struct auth_client *c, const struct auth_call *call, auth_done_fn done,
                        void *ud);

/* Ends every call not finished with done(status 0, "shutting down"), joins
 * the thread, frees. Not from a done callback. NULL is fine. */
void auth_client_free(struct auth_client *c);

/* CLOCK_MONOTONIC in seconds. */
double auth_client_now(void);

/* Calls submitted and not finished yet (tests, metrics). */
unsigned auth_client_pending(struct auth_client *c);

#endif
