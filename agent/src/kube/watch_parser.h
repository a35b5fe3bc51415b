/*
 * watch_parser.h - splits a Kubernetes watch stream into events.
 *
 * A watch response is a sequence of JSON objects
 *   {"type":"ADDED","object":{...}}\n{"type":"MODIFIED",...}\n
 * that arrive in arbitrary pieces: one object split over many reads, several
 * in one read. The parser finds object boundaries itself (brace depth outside
 * strings), so it needs no newline, and bounds the size of one event.
 */
#ifndef SPOKE_WATCH_PARSER_H
#define SPOKE_WATCH_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum watch_event_type {
    WATCH_ADDED,
    WATCH_MODIFIED,
    WATCH_DELETED,
    WATCH_BOOKMARK,
    WATCH_ERROR,
};

/* Called once per complete event. `object` is borrowed (incref to keep it).
 * Return 0 to go on, non-zero to stop parsing (watch_parser_feed returns it). */
typedef int (*watch_event_fn)(void *ud, enum watch_event_type type, json_t *object);

struct watch_parser {
    char *buf; /* bytes of the event being assembled */
    size_t len, cap;
    size_t max_event; /* larger events are an error */
    size_t scanned;   /* bytes of buf already scanned */
    int depth;
    bool in_string, escaped;
    char error[256];
};

void watch_parser_init(struct watch_parser *p, size_t max_event_bytes);
void watch_parser_reset(struct watch_parser *p); /* forget a partial event */
void watch_parser_free(struct watch_parser *p);

/* Feed bytes. Returns 0 when all were consumed, -1 on malformed or oversized
 * input (reason in p->error; the caller drops the stream), or the non-zero
 * value returned by the callback. */
int watch_parser_feed(struct watch_parser *p, const char *data, size_t n, watch_event_fn fn,
                      void *ud);

const char *watch_event_type_name(enum watch_event_type t);

#endif
