/*
 * json_text.h - Kubernetes objects written inline in unit tests.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. J() parses JSON made from a printf format, with '
 * standing for " so that objects stay readable inside C strings; a test
 * whose JSON does not parse is a broken test, so it aborts.
 */
#ifndef SPOKE_TEST_JSON_TEXT_H
#define SPOKE_TEST_JSON_TEXT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

static inline json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline json_t *J(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    if (!j) {
        printf("# bad test JSON: %s: %s\n", err.text, buf);
        abort();
    }
    return j;
}

#endif
