/*
 * canary.h - the canary annotations of an Ingress, parsed and checked (the
 * model attaches a canary Ingress's rules to the routes of the main Ingress,
 * routes.c; the SPOE responder decides per request, spoe/canary_decide.h).
 *
 *   spoke.dev/canary                  "true": this Ingress is a canary; it
 *                                     creates no route of its own
 *   spoke.dev/canary-weight           0..total (default 0): share of the
 *                                     requests not decided by header or cookie
 *   spoke.dev/canary-weight-total     1..1000000 (default 100)
 *   spoke.dev/canary-by-header        a header name: value "always" -> canary,
 *                                     "never" -> main, else the next rule
 *   spoke.dev/canary-by-header-value  with by-header: this exact value ->
 *                                     canary, any other -> the next rule
 *   spoke.dev/canary-by-header-pattern with by-header: a POSIX extended
 *                                     regular expression matching the value
 *                                     -> canary; ignored when -value is set
 *   spoke.dev/canary-by-cookie        a cookie name: value "always" -> canary,
 *                                     "never" -> main, else the weight
 * Precedence header > cookie > weight, as with ingress-nginx.
 *
 * Any invalid value makes the whole canary invalid: it is reported and
 * ignored (the main route serves every request), never half-applied.
 * Values are whitelisted and bounded: header and cookie names are RFC 9110
 * tokens of at most 128 bytes; the header value printable ASCII without
 * leading or trailing blanks, at most 256 bytes; the pattern at most 256
 * bytes of printable ASCII, compiling with regcomp(REG_EXTENDED|REG_NOSUB),
 * with a bounded compiled size, no stacked quantifiers and no
 * back-references (canary_check_pattern).
 */
#ifndef SPOKE_MODEL_CANARY_H
#define SPOKE_MODEL_CANARY_H

#include <stdbool.h>

#include <jansson.h>

#include "model/model.h"

#define ANNOTATION_CANARY                "spoke.dev/canary"
#define ANNOTATION_CANARY_WEIGHT         "spoke.dev/canary-weight"
#define ANNOTATION_CANARY_WEIGHT_TOTAL   "spoke.dev/canary-weight-total"
#define ANNOTATION_CANARY_HEADER         "spoke.dev/canary-by-header"
#define ANNOTATION_CANARY_HEADER_VALUE   "spoke.dev/canary-by-header-value"
#define ANNOTATION_CANARY_HEADER_PATTERN "spoke.dev/canary-by-header-pattern"
#define ANNOTATION_CANARY_COOKIE         "spoke.dev/canary-by-cookie"

#define CANARY_DEFAULT_TOTAL 100u
#define CANARY_TOTAL_MAX     1000000u
#define CANARY_NAME_MAX      128 /* header and cookie names */
#define CANARY_VALUE_MAX     256 /* header value and pattern */
/* What a pattern may cost in glibc's compiled form (an estimate of its
 * nodes, canary.c): repetitions duplicate what they repeat, so nested ones
 * multiply. */
#define CANARY_PATTERN_COST_MAX 4096u

enum canary_kind {
    CANARY_NOT,     /* no spoke.dev/canary, or "false" */
    CANARY_VALID,   /* a canary with valid settings */
    CANARY_INVALID, /* a canary Ingress whose settings are invalid (reported) */
};

/* Called for each invalid value (value is the raw, untrusted value). */
typedef void (*canary_report_fn)(void *ud, const char *annotation, const char *value,
                                 const char *why);

/* Reads ingress's canary annotations into out (strings borrowed from the
 * Ingress; out->ingress and out->backend are left NULL for the caller).
 * An invalid spoke.dev/canary value (neither "true" nor "false") counts as
 * an invalid canary, so that a typo never turns a canary into a second
 * main Ingress. report may be NULL. */
enum canary_kind canary_parse(const json_t *ingress, struct model_canary *out,
                              canary_report_fn report, void *ud);

/* True when the Ingress has some spoke.dev/canary-* annotation. */
bool canary_has_settings(const json_t *ingress);

/* The checks, NULL when valid, else why not (an English phrase). */
const char *canary_check_token(const char *s);
const char *canary_check_value(const char *s);
const char *canary_check_pattern(const char *s);

#endif
