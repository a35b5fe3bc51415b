/*
 * params_status.h - writes the status of an IngressParameters object
 * (crds/ingressparameters.yaml): observedGeneration, lastApplied {time,
 * method} and the conditions Accepted and Applied, through a JSON merge
 * patch of its /status subresource. A condition's lastTransitionTime
 * changes only when its status does. Level-triggered: the wanted status is
 * compared with the object's, so calling it again after a failed patch (or
 * on a new leader) retries; one patch is in flight at a time.
 */
#ifndef SPOKE_KUBE_PARAMS_STATUS_H
#define SPOKE_KUBE_PARAMS_STATUS_H

#include <stdbool.h>

#include <jansson.h>

#include "kube/http.h"

struct params_status_report {
    long long generation;        /* the metadata.generation described */
    const char *problems;        /* "" = every value honoured (Accepted True) */
    bool applied;                /* Applied True */
    const char *applied_reason;  /* RuntimeAPI, Reload, None, ReloadPending, Rejected */
    const char *applied_message; /* may be "" */
    const char *method;          /* lastApplied.method, NULL = keep the object's */
    const char *time;            /* lastApplied.time (RFC 3339) with method */
};

/* The status wanted for an object whose status is now current (NULL or an
 * object); now is the RFC 3339 time of a transition. New reference. */
json_t *params_status_build(const json_t *current, const struct params_status_report *rep,
                            const char *now);

struct params_status;
struct params_status *params_status_new(struct kube_http *http);
void params_status_free(struct params_status *s);

/* Patches obj's status when it differs from what rep wants. */
void params_status_write(struct params_status *s, const json_t *obj,
                         const struct params_status_report *rep);

unsigned long params_status_patches(const struct params_status *s);

/* "2024-01-02T03:04:05Z" for t into buf (21 bytes at least). */
void params_status_time(long t, char *buf, size_t len);

#endif
