/*
 * events.h - Kubernetes Events (core/v1) on the objects the agent reports
 * about, like client-go's event recorder: "InvalidAnnotation on Ingress
 * ns/name" shows up in `kubectl describe ingress`.
 *
 * event_record() never blocks: it POSTs a new Event (or PATCHes an existing
 * one) through the non-blocking client and returns. Repeats are folded:
 * the same (object, type, reason, message) seen again within 10 minutes of
 * its last occurrence bumps count and lastTimestamp of the Event already
 * written (a JSON merge patch) instead of creating another; an Event the API
 * server has garbage-collected meanwhile (404 on the patch) is created again.
 * The recent keys live in a bounded LRU (4096 entries).
 *
 * Writes are rate-limited per object with a token bucket (burst 10, one
 * token every 6 s: 10 per minute). A new Event beyond it is dropped (debug
 * log, counted in stats.dropped); a repeat beyond it is counted locally and
 * its count goes out with the next patch. At most one request per Event is
 * in flight, and at most 128 in all.
 *
 * Messages are made printable (control characters become spaces, invalid
 * UTF-8 becomes '?') and bounded to 1024 bytes; reasons keep [A-Za-z0-9]
 * only. Free the recorder before the kube_http it uses.
 */
#ifndef SPOKE_KUBE_EVENTS_H
#define SPOKE_KUBE_EVENTS_H

#include <time.h>

#include "kube/http.h"

#define EVENT_MESSAGE_MAX 1024 /* bytes, including a trailing "..." when cut */

struct event_recorder;

struct event_recorder_stats {
    unsigned long created;  /* Events created (2xx on POST) */
    unsigned long patched;  /* count updates written (2xx on PATCH) */
    unsigned long dropped;  /* new Events dropped by the rate limit or the in-flight cap */
    unsigned long failed;   /* requests answered with an error */
    unsigned long recorded; /* event_record() calls accepted */
};

/* component: source.component and reportingComponent ("spoke");
 * host: source.host and reportingInstance (the node or Pod name; may be NULL). */
struct event_recorder *event_recorder_new(struct kube_http *http, const char *component,
                                          const char *host);
/* Cancels the requests still in flight. Call before kube_http_free(). */
void event_recorder_free(struct event_recorder *r);

/* Record that something happened to an object. kind "Ingress", api_version
 * "networking.k8s.io/v1", uid may be NULL, type "Warning" or "Normal",
 * reason CamelCase ("InvalidAnnotation"), message free text (untrusted). */
void event_record(struct event_recorder *r, const char *kind, const char *api_version,
                  const char *ns, const char *name, const char *uid, const char *type,
                  const char *reason, const char *message);

void event_recorder_stats(const struct event_recorder *r, struct event_recorder_stats *out);

/* Tests: replace the wall clock (time(NULL)). */
void event_recorder_set_clock(struct event_recorder *r, time_t (*now)(void *ud), void *ud);

/* Tests: the sanitised form of a message, as event_record() would send it.
 * out must hold EVENT_MESSAGE_MAX + 1 bytes. */
void event_sanitize_message(const char *in, char *out);

#endif
