/*
 * debug_store.h - GET /debug/store: the agent's object cache as JSON.
 *
 *   /debug/store                 every resource with its objects
 *   /debug/store?kind=Ingress    one kind only
 *   /debug/store?summary=1       counts, resourceVersions and informer stats
 *   /debug/store?kind=K&namespace=NS&name=N   one object
 *
 * Secret values (data, stringData, and the last-applied annotation that
 * carries them) are replaced by "<redacted>": the dump is for people and
 * tests, and must never leak credentials.
 */
#ifndef SPOKE_DEBUG_STORE_H
#define SPOKE_DEBUG_STORE_H

#include "admin/admin_server.h"
#include "kube/cache.h"

/* An admin_handler_fn; ud is the struct kube_cache. */
void debug_store_handler(void *ud, const char *query, struct admin_response *resp);

/* A deep copy of a Secret with its values redacted (new reference). */
json_t *debug_store_redact_secret(json_t *secret);

#endif
