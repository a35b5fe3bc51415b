/*
 * canary_decide.h - the canary half of the SPOE responder: which requests
 * of a route with a canary (model_route.canary, model/canary.h) go to the
 * canary backend. An immutable set compiled from the model on the control
 * thread (regular expressions compiled once), read by the SPOE worker
 * threads, several at once.
 *
 * Per request, for a route that has a canary, in this order:
 *  1. canary-by-header: the first header of that name (case-insensitive,
 *     blanks trimmed). With -value: equal -> canary; with -pattern: matches
 *     -> canary; with neither: "always" -> canary, "never" -> main. Any
 *     other value, or no such header: next rule.
 *  2. canary-by-cookie: the first cookie of that name (case-sensitive) in
 *     any Cookie header: "always" -> canary, "never" -> main; else next.
 *  3. weight: canary with probability weight/total (0 never, total always).
 * The answer is the variable txn.spoke.canary: 1 (canary) or 0 (main),
 * only for routes that have a canary. The backend itself is in the routes
 * map (field CANARY, map_render.h), so the responder never names one and a
 * snapshot older or newer than the map can only pick main or canary of the
 * route HAProxy found. Without an answer HAProxy serves main.
 */
#ifndef SPOKE_SPOE_CANARY_DECIDE_H
#define SPOKE_SPOE_CANARY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "spoe/spoe_decide.h"

#define CANARY_VAR "canary" /* txn.spoke.canary */
/* Longest header value matched against a pattern; longer never matches. */
#define CANARY_MATCH_MAX 4096

struct canary_set;

/* The canaries of m's routes. Never NULL (allocation failure aborts). */
struct canary_set *canary_set_build(const struct routing_model *m);
void canary_set_free(struct canary_set *set); /* NULL is fine */
size_t canary_set_count(const struct canary_set *set);

enum canary_choice {
    CANARY_NO_ROUTE = -1, /* the route has no canary here */
    CANARY_MAIN = 0,
    CANARY_TAKE = 1,
};

/* The decision for route id (idlen bytes) with HAProxy's binary header list
 * hdrs (may be NULL) and a uniformly random number rnd (for the weight). */
enum canary_choice canary_choose(const struct canary_set *set, const char *id, size_t idlen,
                                 const uint8_t *hdrs, size_t hlen, uint64_t rnd);

/* A random number from a per-thread xorshift64* seeded by getrandom(). */
uint64_t canary_random(void);

/* The decider step: for a "spoke-request" message on a route with a canary,
 * sets txn.spoke.canary; returns whether it did. set may be NULL. */
bool canary_evaluate(const struct canary_set *set, const struct spoe_request *req,
                     struct spoe_reply *reply);

#endif
