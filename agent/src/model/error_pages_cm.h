/*
 * error_pages_cm.h - the custom error pages of an IngressParameters'
 * spec.errorPages: a ConfigMap whose data keys are HTTP status codes and
 * whose values are HTML bodies (haproxy/error_pages.h serves them).
 */
#ifndef SPOKE_MODEL_ERROR_PAGES_CM_H
#define SPOKE_MODEL_ERROR_PAGES_CM_H

#include <jansson.h>

#include "haproxy/error_pages.h"

/* Called once per problem: message is English, printable, bounded. */
typedef void (*error_pages_report_fn)(void *ud, const char *message);

/* Fills out from the ConfigMap's data (out->html point into cm: valid while
 * it is). A key that is not one of error_page_codes, or a body that
 * error_page_check refuses, is reported and leaves spoke's page for that
 * code: one bad page never takes the others down. Returns the number of
 * custom pages. */
int error_pages_from_configmap(const json_t *cm, struct error_pages *out,
                               error_pages_report_fn report, void *ud);

#endif
