/*
 * build.h - private to agent/src/model/: what the files that build a
 * routing model share while building it (routes.c, backends.c, tls.c).
 *
 * Strings live in the model's arena; arrays grow with MODEL_VEC_PUSH;
 * problems are collected with build_problem and sorted at the end.
 * Allocation failure aborts (util/strbuf.h does the same).
 */
#ifndef SPOKE_MODEL_BUILD_H
#define SPOKE_MODEL_BUILD_H

#include <stddef.h>
#include <string.h>

#include "model/model.h"
#include "model/objects.h"

/* A string -> index table (open addressing), for finding backends by id
 * while building. */
struct build_strmap {
    const char **keys;
    size_t *values;
    size_t cap, count;
};

struct build {
    struct routing_model *m;
    const struct object_index *ix;
    struct build_strmap backends; /* id -> index in m->backends */
};

/* Aborting allocation helpers. */
void *model_xcalloc(size_t n, size_t size);
void *model_xrealloc(void *p, size_t n, size_t size);

/* Room for one more element in arr (holding n): capacity doubles at powers
 * of two, so it needs no field of its own. */
void *model_vec_grow(void *arr, size_t n, size_t elem);
/* Appends a zeroed element to arr (n elements) and returns a pointer to it. */
#define MODEL_VEC_PUSH(arr, n)                                                                     \
    ((arr) = model_vec_grow((arr), (n), sizeof(*(arr))), memset(&(arr)[(n)], 0, sizeof(*(arr))),   \
     &(arr)[(n)++])

/* Copies into the model's arena; NULL stays NULL. */
const char *model_strdup(struct routing_model *m, const char *s);
const char *model_strndup(struct routing_model *m, const char *s, size_t n);
const char *model_printf(struct routing_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An untrusted value made fit for a message: printable ASCII only (others
 * become '?'), at most 64 bytes then "...". out needs 72 bytes. */
#define MODEL_QUOTE_SIZE 72
const char *model_quote(const char *s, char *out);

void build_problem(struct build *b, const char *kind, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The string table. */
void build_strmap_init(struct build_strmap *t);
void build_strmap_free(struct build_strmap *t);
/* Index of key, or (size_t)-1. */
size_t build_strmap_get(const struct build_strmap *t, const char *key);
/* key must outlive the table (an arena string). */
void build_strmap_put(struct build_strmap *t, const char *key, size_t value);

#endif
