/*
 * params_sync.h - the IngressParameters of the agent's class, from the
 * cache to HAProxy and back into the object's status.
 *
 * On every model build (router.c) it finds the object the IngressClass
 * names (model/params_ref.h), reads it (model/params.h: invalid fields keep
 * the running value and are reported), hands a change to the reconciler
 * (live through the runtime API where HAProxy allows it, else one hitless
 * reload), and, on the leader, writes status (kube/params_status.h) once
 * the reconciler says how the generation was applied. No object, or a
 * class naming none: the built-in defaults (the CRD's).
 */
#ifndef SPOKE_PARAMS_SYNC_H
#define SPOKE_PARAMS_SYNC_H

#include <stdbool.h>

#include "haproxy/reconciler.h"
#include "kube/http.h"
#include "kube/store.h"
#include "model/params.h"

struct params_sync;

/* flag_default_cert, flag_pool_size, flag_spoe_workers: the agent's flags,
 * used where the parameters leave a field unset. running_workers: the SPOE
 * responder's threads (fixed once it started). */
struct params_sync *params_sync_new(struct reconciler *rec, struct kube_http *http,
                                    const char *flag_default_cert, unsigned flag_pool_size,
                                    unsigned running_workers);
void params_sync_free(struct params_sync *ps);

/* The agent's namespace, for scope Cluster (NULL: "default"). */
void params_sync_set_namespace(struct params_sync *ps, const char *ns);

/* "namespace/name" of the IngressParameters in use, "" for none. */
const char *params_sync_object(const struct params_sync *ps);

/* Reads the parameters from the stores and passes a change on; writes the
 * status when write_status (the leader). Returns the parameters the model
 * is built with (valid until the next call). */
const struct ingress_params *params_sync_update(struct params_sync *ps, struct store *classes,
                                                struct store *params, const char *class_name,
                                                bool write_status);

#endif
