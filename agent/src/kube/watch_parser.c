/*
 * watch_parser.c - see watch_parser.h.
 *
 * Incoming bytes are scanned once, straight from the caller's buffer, with a
 * small state machine (brace depth, inside-a-string, after-a-backslash) that
 * survives between feeds. An event lying wholly inside one feed is decoded in
 * place; only a partial event is copied into p->buf, so a big event costs one
 * scan and one copy whatever the chunking, and many small events cost no
 * copies at all. Errors are sticky until watch_parser_reset().
 *
 * When the callback returns non-zero, the bytes after that event in the same
 * feed are dropped: the caller is expected to stop reading the stream.
 */
#include "kube/watch_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when watch_parser_init() is given 0. */
#define DEFAULT_MAX_EVENT ((size_t)16 << 20)
/* Deeper nesting is rejected before it can overflow the depth counter; jansson
 * refuses anything deeper than this anyway. */
#define MAX_DEPTH 2048
/* A buffer grown past this by one big event is released after the event. */
#define KEEP_BUF_BYTES ((size_t)1 << 20)

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *watch_event_type_name(enum watch_event_type t)
{
    return (size_t)t < NTYPES ? type_names[t] : "UNKNOWN";
}

void watch_parser_init(struct watch_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof(*p));
    p->max_event = max_event_bytes ? max_event_bytes : DEFAULT_MAX_EVENT;
}

void watch_parser_reset(struct watch_parser *p)
{
    p->len = 0;
    p->scanned = 0;
    p->depth = 0;
    p->in_string = false;
    p->escaped = false;
    p->error[0] = '\0';
}

void watch_parser_free(struct watch_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->cap = 0;
    watch_parser_reset(p);
}

__attribute__((format(printf, 2, 3))) static int fail(struct watch_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
    if (!p->error[0]) /* never leave an error without a message */
        snprintf(p->error, sizeof(p->error), "watch stream error");
    return -1;
}

static int append(struct watch_parser *p, const char *data, size_t n)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        if (cap > p->max_event)
            cap = p->max_event;
        char *nb = realloc(p->buf, cap);
        if (!nb)
            return fail(p, "out of memory buffering a %zu-byte watch event", p->len + n);
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
    p->scanned = p->len;
    return 0;
}

/* Scan s[0..n) from the saved state. Returns 1 with *used = bytes up to and
 * including the brace that closes the event, 0 when s ran out first (state
 * saved for the next feed), -1 on nesting that is too deep. */
static int scan(struct watch_parser *p, const char *s, size_t n, size_t *used)
{
    int depth = p->depth;
    bool in_string = p->in_string, escaped = p->escaped;
    size_t i = 0;
    while (i < n) {
        if (in_string) {
            if (escaped) {
                escaped = false;
                i++;
            }
            /* Skip string content in a tight loop: only '"' and '\\' matter. */
            while (i < n && s[i] != '"' && s[i] != '\\')
                i++;
            if (i == n)
                break;
            if (s[i] == '\\')
                escaped = true;
            else
                in_string = false;
            i++;
            continue;
        }
        char c = s[i++];
        if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            if (++depth > MAX_DEPTH)
                return fail(p, "watch event nested deeper than %d levels", MAX_DEPTH);
        } else if (c == '}') {
            if (--depth == 0) {
                p->depth = 0;
                p->in_string = false;
                p->escaped = false;
                *used = i;
                return 1;
            }
        }
    }
    p->depth = depth;
    p->in_string = in_string;
    p->escaped = escaped;
    *used = n;
    return 0;
}

/* Decode one complete event. Returns the root (to decref) with *type and
 * *object set, or NULL with p->error set. */
static json_t *decode(struct watch_parser *p, const char *ev, size_t len,
                      enum watch_event_type *type, json_t **object)
{
    json_error_t jerr;
    json_t *root = json_loadb(ev, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        fail(p, "malformed JSON in watch event at byte %d: %s", jerr.position, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        fail(p, "watch event is not a JSON object");
        goto bad;
    }
    json_t *jt = json_object_get(root, "type");
    if (!json_is_string(jt)) {
        fail(p, "watch event has no string \"type\"");
        goto bad;
    }
    const char *t = json_string_value(jt);
    size_t i = 0;
    while (i < NTYPES && strcmp(t, type_names[i]) != 0)
        i++;
    if (i == NTYPES) {
        fail(p, "watch event has unknown type \"%.64s\"", t);
        goto bad;
    }
    json_t *obj = json_object_get(root, "object");
    if (!json_is_object(obj)) {
        fail(p, "watch event of type %s has no \"object\" object", type_names[i]);
        goto bad;
    }
    *type = (enum watch_event_type)i;
    *object = obj;
    return root;
bad:
    json_decref(root);
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int watch_parser_feed(struct watch_parser *p, const char *data, size_t n, watch_event_fn fn,
                      void *ud)
{
    if (p->error[0])
        return -1;
    size_t i = 0;
    while (i < n) {
        if (p->depth == 0) {
            /* Between events: whitespace, then an event must start. */
            while (i < n && is_space(data[i]))
                i++;
            if (i == n)
                break;
            if (data[i] != '{') {
                unsigned char c = (unsigned char)data[i];
                if (c >= 0x20 && c < 0x7f)
                    return fail(p, "unexpected '%c' between watch events (expected '{')", c);
                return fail(p, "unexpected byte 0x%02x between watch events (expected '{')", c);
            }
        }
        size_t avail = n - i;
        size_t room = p->max_event - p->len;
        size_t used = 0;
        int r = scan(p, data + i, avail < room ? avail : room, &used);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (avail > room)
                return fail(p, "watch event larger than %zu bytes", p->max_event);
            if (append(p, data + i, avail) < 0)
                return -1;
            break;
        }
        const char *ev = data + i;
        size_t evlen = used;
        if (p->len) {
            if (append(p, data + i, used) < 0)
                return -1;
            ev = p->buf;
            evlen = p->len;
        }
        i += used;
        enum watch_event_type type = WATCH_ADDED;
        json_t *object = NULL;
        json_t *root = decode(p, ev, evlen, &type, &object);
        p->len = 0;
        p->scanned = 0;
        if (p->cap > KEEP_BUF_BYTES) {
            free(p->buf);
            p->buf = NULL;
            p->cap = 0;
        }
        if (!root)
            return -1;
        /* The callback may free p when it returns non-zero: don't touch p then. */
        int rc = fn ? fn(ud, type, object) : 0;
        json_decref(root);
        if (rc)
            return rc;
    }
    return 0;
}
