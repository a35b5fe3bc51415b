/*
 * yaml_json.c - see yaml_json.h. Walks libyaml's event stream with an
 * explicit stack (no recursion), so deeply nested input cannot overflow the
 * C stack; anchors are kept as finished jansson values and aliases are deep
 * copies of them, counted against YAML_JSON_MAX_ALIAS_NODES.
 */
#include "util/yaml_json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* How big a node is once aliases are expanded. */
struct extent {
    size_t nodes;  /* scalars and collections */
    size_t height; /* nesting levels, 0 for a scalar */
    size_t bytes;  /* scalar text */
};

struct anchor {
    json_t *value;  /* the finished node */
    char *key;      /* its text when it was a scalar (usable as a mapping key) */
    size_t key_len; /* NULL key: not a scalar */
    struct extent size;
};

struct frame {
    json_t *container; /* array or object */
    char *anchor;      /* to define when the node ends, or NULL */
    char *key;         /* mapping: the key waiting for its value */
    bool have_key;
    bool key_is_merge; /* that key is a plain "<<" */
    yaml_mark_t key_mark;
    json_t *merges; /* mapping: values of "<<" keys, applied at the end */
    struct extent size;
    yaml_mark_t start;
};

struct ctx {
    const char *buf;
    size_t len;
    struct frame *stack;
    size_t depth, stack_cap;
    struct anchor *anchors;
    size_t nanchors, anchors_cap;
    json_t *anchor_index; /* anchor name -> index into anchors (last definition wins) */
    size_t alias_nodes, alias_bytes;
    json_t *root;
    bool done;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail_at(struct ctx *c, yaml_mark_t m,
                                                         const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "line %zu:%zu: ", m.line + 1, m.column + 1);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_oom(struct ctx *c, yaml_mark_t m)
{
    return fail_at(c, m, "out of memory");
}

static char *memdup0(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- scalar resolution ---- */

static bool is_word(const char *s, size_t n, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return true;
    return false;
}

static size_t span(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

#define DIGITS "0123456789"

/* [-+]?[0-9]+ */
static bool is_decimal_int(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t d = span(s + i, n - i, DIGITS);
    return d > 0 && i + d == n;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t d = span(s + i, n - i, DIGITS);
    i += d;
    if (i < n && s[i] == '.') {
        i++;
        size_t f = span(s + i, n - i, DIGITS);
        if (d == 0 && f == 0)
            return false;
        i += f;
    } else if (d == 0) {
        return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = span(s + i, n - i, DIGITS);
        if (e == 0)
            return false;
        i += e;
    }
    return i == n;
}

/* Integer (or, when it does not fit, a real) from a validated literal;
 * NULL when it has no JSON form. */
static json_t *parse_int(const char *s, size_t n)
{
    char *tmp = memdup0(s, n);
    if (!tmp)
        return NULL;
    json_t *v = NULL;
    int base = 10;
    const char *digits = tmp;
    if (n > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'o')) {
        base = tmp[1] == 'x' ? 16 : 8;
        digits = tmp + 2;
    }
    errno = 0;
    char *end;
    if (base == 10) {
        long long ll = strtoll(digits, &end, 10);
        if (errno == 0 && *end == '\0') {
            v = json_integer((json_int_t)ll);
        } else {
            double d = strtod(digits, &end);
            if (*end == '\0' && isfinite(d))
                v = json_real(d);
        }
    } else {
        unsigned long long ull = strtoull(digits, &end, base);
        if (errno == 0 && *end == '\0' && ull <= (unsigned long long)LLONG_MAX)
            v = json_integer((json_int_t)ull);
    }
    free(tmp);
    return v;
}

static json_t *parse_float(const char *s, size_t n)
{
    char *tmp = memdup0(s, n);
    if (!tmp)
        return NULL;
    char *end;
    double d = strtod(tmp, &end);
    json_t *v = (*end == '\0' && isfinite(d)) ? json_real(d) : NULL;
    free(tmp);
    return v;
}

static const char *const null_words[] = {"~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes",
                                         "YES",  "on",   "On",   "ON",  NULL};
static const char *const false_words[] = {"false", "False", "FALSE", "no",  "No",
                                          "NO",    "off",   "Off",   "OFF", NULL};

/* The value of an untagged plain scalar; NULL means "a string". */
static json_t *resolve_plain(const char *s, size_t n)
{
    if (n == 0 || is_word(s, n, null_words))
        return json_null();
    if (is_word(s, n, true_words))
        return json_true();
    if (is_word(s, n, false_words))
        return json_false();
    if (is_decimal_int(s, n))
        return parse_int(s, n);
    if (n > 2 && s[0] == '0' && s[1] == 'x' && span(s + 2, n - 2, DIGITS "abcdefABCDEF") == n - 2)
        return parse_int(s, n);
    if (n > 2 && s[0] == '0' && s[1] == 'o' && span(s + 2, n - 2, "01234567") == n - 2)
        return parse_int(s, n);
    if (is_float(s, n))
        return parse_float(s, n);
    return NULL;
}

enum want { WANT_AUTO, WANT_STR, WANT_NULL, WANT_BOOL, WANT_INT, WANT_FLOAT };

static enum want tag_want(const char *tag, bool plain)
{
    static const struct {
        const char *tag;
        enum want want;
    } core[] = {
        {YAML_STR_TAG, WANT_STR}, {YAML_NULL_TAG, WANT_NULL},   {YAML_BOOL_TAG, WANT_BOOL},
        {YAML_INT_TAG, WANT_INT}, {YAML_FLOAT_TAG, WANT_FLOAT}, {"!", WANT_STR},
    };
    if (tag) {
        for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
            if (strcmp(tag, core[i].tag) == 0)
                return core[i].want;
    }
    return plain ? WANT_AUTO : WANT_STR;
}

static json_t *scalar_value(struct ctx *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    enum want want = tag_want((const char *)ev->data.scalar.tag,
                              ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
    json_t *v = want == WANT_STR ? NULL : resolve_plain(s, n);
    bool ok = true;
    switch (want) {
    case WANT_AUTO:
    case WANT_STR:
        break;
    case WANT_NULL:
        ok = json_is_null(v);
        break;
    case WANT_BOOL:
        ok = json_is_boolean(v);
        break;
    case WANT_INT:
        ok = json_is_integer(v);
        break;
    case WANT_FLOAT:
        if (json_is_integer(v)) {
            json_t *r = json_real((double)json_integer_value(v));
            json_decref(v);
            v = r;
        }
        ok = json_is_real(v);
        break;
    }
    if (!ok) {
        json_decref(v);
        const char *tag = (const char *)ev->data.scalar.tag;
        size_t plen = strlen(YAML_DEFAULT_SCALAR_TAG) - strlen("str");
        bool core = strncmp(tag, YAML_DEFAULT_SCALAR_TAG, plen) == 0;
        fail_at(c, ev->start_mark, "\"%.*s\" is not a valid %s%s", (int)(n > 64 ? 64 : n), s,
                core ? "!!" : "", core ? tag + plen : tag);
        return NULL;
    }
    if (!v) {
        v = json_stringn(s, n);
        if (!v)
            fail_at(c, ev->start_mark, "scalar is not valid UTF-8 or memory ran out");
    }
    return v;
}

/* ---- the tree ---- */

static int define_anchor(struct ctx *c, const char *name, json_t *value, const char *key,
                         size_t key_len, struct extent size, yaml_mark_t m)
{
    if (c->nanchors == c->anchors_cap) {
        size_t cap = c->anchors_cap ? c->anchors_cap * 2 : 16;
        struct anchor *a = realloc(c->anchors, cap * sizeof(*a));
        if (!a)
            return fail_oom(c, m);
        c->anchors = a;
        c->anchors_cap = cap;
    }
    struct anchor *a = &c->anchors[c->nanchors];
    a->key = NULL;
    a->key_len = key_len;
    if (key && !(a->key = memdup0(key, key_len)))
        return fail_oom(c, m);
    if (json_object_set_new(c->anchor_index, name, json_integer((json_int_t)c->nanchors)) < 0) {
        free(a->key);
        return fail_oom(c, m);
    }
    a->value = json_incref(value);
    a->size = size;
    c->nanchors++;
    return 0;
}

/* Adds a finished node (stealing v) to the open container, or makes it the
 * root. key/key_len: the scalar text when the node may serve as a key. */
static int add_node(struct ctx *c, json_t *v, const char *key, size_t key_len, bool is_merge,
                    struct extent size, yaml_mark_t m)
{
    if (c->depth == 0) {
        c->root = v;
        return 0;
    }
    struct frame *f = &c->stack[c->depth - 1];
    f->size.nodes += size.nodes;
    f->size.bytes += size.bytes;
    if (size.height + 1 > f->size.height)
        f->size.height = size.height + 1;
    if (json_is_array(f->container)) {
        if (json_array_append_new(f->container, v) < 0)
            return fail_oom(c, m);
        return 0;
    }
    if (!f->have_key) {
        json_decref(v);
        if (!key)
            return fail_at(c, m, "mapping keys must be scalars");
        if (memchr(key, '\0', key_len))
            return fail_at(c, m, "mapping key contains a NUL character");
        if (!(f->key = memdup0(key, key_len)))
            return fail_oom(c, m);
        f->have_key = true;
        f->key_is_merge = is_merge;
        f->key_mark = m;
        return 0;
    }
    int rc = 0;
    if (f->key_is_merge) {
        bool ok = json_is_object(v) || json_is_array(v);
        for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
            ok = json_is_object(json_array_get(v, i));
        if (!ok) {
            json_decref(v);
            rc = fail_at(c, m, "a \"<<\" merge key needs a mapping or a list of mappings");
        } else if (!f->merges && !(f->merges = json_array())) {
            json_decref(v);
            rc = fail_oom(c, m);
        } else if (json_is_object(v)) {
            rc = json_array_append_new(f->merges, v) < 0 ? fail_oom(c, m) : 0;
        } else {
            rc = json_array_extend(f->merges, v) < 0 ? fail_oom(c, m) : 0;
            json_decref(v);
        }
    } else if (json_object_get(f->container, f->key)) {
        json_decref(v);
        rc = fail_at(c, f->key_mark, "duplicate mapping key \"%s\"", f->key);
    } else if (json_object_set_new(f->container, f->key, v) < 0) {
        rc = fail_at(c, f->key_mark, "mapping key is not valid UTF-8 or memory ran out");
    }
    free(f->key);
    f->key = NULL;
    f->have_key = false;
    return rc;
}

static bool awaiting_key(const struct ctx *c)
{
    if (c->depth == 0)
        return false;
    const struct frame *f = &c->stack[c->depth - 1];
    return json_is_object(f->container) && !f->have_key;
}

static int on_scalar(struct ctx *c, const yaml_event_t *ev)
{
    json_t *v = scalar_value(c, ev);
    if (!v)
        return -1;
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    bool merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
                 n == 2 && memcmp(s, "<<", 2) == 0;
    struct extent size = {.nodes = 1, .height = 0, .bytes = n};
    if (ev->data.scalar.anchor &&
        define_anchor(c, (const char *)ev->data.scalar.anchor, v, s, n, size, ev->start_mark) < 0) {
        json_decref(v);
        return -1;
    }
    return add_node(c, v, s, n, merge, size, ev->start_mark);
}

static int on_start(struct ctx *c, const yaml_event_t *ev, bool mapping)
{
    if (awaiting_key(c))
        return fail_at(c, ev->start_mark, "mapping keys must be scalars");
    if (c->depth >= YAML_JSON_MAX_DEPTH)
        return fail_at(c, ev->start_mark, "nesting deeper than %d levels", YAML_JSON_MAX_DEPTH);
    if (c->depth == c->stack_cap) {
        size_t cap = c->stack_cap ? c->stack_cap * 2 : 16;
        struct frame *s = realloc(c->stack, cap * sizeof(*s));
        if (!s)
            return fail_oom(c, ev->start_mark);
        c->stack = s;
        c->stack_cap = cap;
    }
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    struct frame f = {.container = mapping ? json_object() : json_array(),
                      .size = {.nodes = 1, .height = 1},
                      .start = ev->start_mark};
    if (anchor)
        f.anchor = strdup((const char *)anchor);
    if (!f.container || (anchor && !f.anchor)) {
        json_decref(f.container);
        free(f.anchor);
        return fail_oom(c, ev->start_mark);
    }
    c->stack[c->depth++] = f;
    return 0;
}

static void frame_free(struct frame *f)
{
    json_decref(f->container);
    json_decref(f->merges);
    free(f->anchor);
    free(f->key);
}

static int on_end(struct ctx *c, const yaml_event_t *ev)
{
    if (c->depth == 0)
        return fail_at(c, ev->start_mark, "unbalanced end of collection");
    struct frame f = c->stack[--c->depth];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(f.merges); i++)
        if (json_object_update_missing(f.container, json_array_get(f.merges, i)) < 0)
            rc = fail_oom(c, ev->start_mark);
    if (rc == 0 && f.anchor)
        rc = define_anchor(c, f.anchor, f.container, NULL, 0, f.size, f.start);
    if (rc == 0) {
        rc = add_node(c, f.container, NULL, 0, false, f.size, f.start);
        f.container = NULL;
    }
    frame_free(&f);
    return rc;
}

static int on_alias(struct ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *idx = json_object_get(c->anchor_index, name);
    if (!idx)
        return fail_at(c, ev->start_mark,
                       "alias *%s refers to no anchor defined before it (or to one that "
                       "contains the alias)",
                       name);
    const struct anchor *a = &c->anchors[json_integer_value(idx)];
    if (a->size.nodes > YAML_JSON_MAX_ALIAS_NODES - c->alias_nodes ||
        a->size.bytes > YAML_JSON_MAX_ALIAS_BYTES - c->alias_bytes)
        return fail_at(c, ev->start_mark,
                       "alias *%s would expand the document past %d aliased nodes or %d bytes "
                       "(an alias bomb?)",
                       name, YAML_JSON_MAX_ALIAS_NODES, YAML_JSON_MAX_ALIAS_BYTES);
    if (c->depth + a->size.height > YAML_JSON_MAX_DEPTH)
        return fail_at(c, ev->start_mark, "alias *%s nests deeper than %d levels", name,
                       YAML_JSON_MAX_DEPTH);
    c->alias_nodes += a->size.nodes;
    c->alias_bytes += a->size.bytes;
    json_t *v = json_deep_copy(a->value);
    if (!v)
        return fail_oom(c, ev->start_mark);
    return add_node(c, v, a->key, a->key_len, false, a->size, ev->start_mark);
}

static void parser_error(struct ctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_MEMORY_ERROR) {
        snprintf(c->err, c->errlen, "out of memory");
    } else if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark: count lines. */
        yaml_mark_t m = {0};
        for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
            if (c->buf[i] == '\n') {
                m.line++;
                m.column = 0;
            } else {
                m.column++;
            }
        }
        if (p->problem_value != -1)
            fail_at(c, m, "%s (byte 0x%02X)", problem, (unsigned)p->problem_value & 0xFFu);
        else
            fail_at(c, m, "%s", problem);
    } else if (p->context) {
        fail_at(c, p->problem_mark, "%s (%s at line %zu:%zu)", problem, p->context,
                p->context_mark.line + 1, p->context_mark.column + 1);
    } else {
        fail_at(c, p->problem_mark, "%s", problem);
    }
}

json_t *yaml_to_json(const char *buf, size_t len, char *err, size_t errlen)
{
    char dummy[1];
    struct ctx c = {.buf = buf ? buf : "",
                    .len = buf ? len : 0,
                    .err = err && errlen ? err : dummy,
                    .errlen = err && errlen ? errlen : sizeof(dummy)};
    c.err[0] = '\0';
    yaml_parser_t p;
    if (!(c.anchor_index = json_object()) || !yaml_parser_initialize(&p)) {
        json_decref(c.anchor_index);
        snprintf(c.err, c.errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c.buf, c.len);
    int rc = 0;
    while (rc == 0 && !c.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            parser_error(&c, &p);
            rc = -1;
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT:
            c.done = true;
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&c, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&c, &ev, false);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(&c, &ev, true);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(&c, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&c, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    while (c.depth > 0)
        frame_free(&c.stack[--c.depth]);
    free(c.stack);
    for (size_t i = 0; i < c.nanchors; i++) {
        json_decref(c.anchors[i].value);
        free(c.anchors[i].key);
    }
    free(c.anchors);
    json_decref(c.anchor_index);
    if (rc < 0) {
        json_decref(c.root);
        return NULL;
    }
    return c.root ? c.root : json_null();
}
