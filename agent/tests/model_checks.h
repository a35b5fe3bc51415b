/*
 * model_checks.h - looking into a routing model in unit tests: a route by
 * host, path and type; whether an object has a problem mentioning a text;
 * and freeing a model while listing its problems when the test failed.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own.
 */
#ifndef SPOKE_TEST_MODEL_CHECKS_H
#define SPOKE_TEST_MODEL_CHECKS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "test.h"

static inline const struct model_route *find_route(const struct routing_model *m, const char *host,
                                                   const char *path, enum model_path_type type)
{
    for (size_t i = 0; i < m->n_routes; i++)
        if (strcmp(m->routes[i].host, host) == 0 && strcmp(m->routes[i].path, path) == 0 &&
            m->routes[i].type == type)
            return &m->routes[i];
    return NULL;
}

/* Whether some problem of object mentions text. */
static inline bool has_problem(const struct routing_model *m, const char *object, const char *text)
{
    for (size_t i = 0; i < m->n_problems; i++)
        if (strcmp(m->problems[i].object, object) == 0 && strstr(m->problems[i].message, text))
            return true;
    return false;
}

/* Frees m, listing its problems first when the test has failed so far. */
static inline void done(struct routing_model *m)
{
    for (size_t i = 0; test_failures_in_current && i < m->n_problems; i++)
        printf("#   problem: %s %s: %s\n", m->problems[i].kind, m->problems[i].object,
               m->problems[i].message);
    model_free(m);
}

#endif
