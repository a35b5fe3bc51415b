/*
 * auth_headers.h - the request headers that the SPOE responder may set on
 * the upstream request (external auth's auth-response-headers, JWT's
 * auth-jwt-claims-to-headers), and the parsers of the annotation lists that
 * name headers.
 *
 * HAProxy 2.6 sets a header by a literal name only ("http-request
 * set-header NAME FMT"; a "%[...]" name is sent as those bytes), so each
 * header the agent may set is one of a fixed list of slots, and
 * haproxy/haproxy.cfg.in has two rules per slot, both only for routes
 * flagged "x":
 *
 *   http-request del-header NAME if flag_x { var(txn.spoke.VAR) -m found }
 *   http-request set-header NAME %[var(txn.spoke.VAR)] if flag_x { var(txn.spoke.VAR) -m len gt 0 }
 *
 * The agent sets VAR for every slot a route configures: the value to pass,
 * or "" when there is none, so that a client's own header of that name never
 * reaches the backend (docs/auth.md). VAR is "h_" + the lowercase name with
 * '-' as '_'. agent/tests/test_auth_headers.c checks that haproxy.cfg.in
 * has the rules of every slot.
 */
#ifndef SPOKE_SPOE_AUTH_HEADERS_H
#define SPOKE_SPOE_AUTH_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_HEADER_NAME_MAX  64   /* a header name in an annotation */
#define AUTH_HEADER_LIST_MAX  16   /* names in one list */
#define AUTH_HEADER_VALUE_MAX 4096 /* a value passed to the upstream */
#define AUTH_CLAIM_NAME_MAX   64   /* a claim name (or dotted path) */

struct auth_header_slot {
    const char *name; /* canonical spelling, as sent */
    const char *var;  /* the variable, without HAProxy's "spoke." prefix */
};

extern const struct auth_header_slot auth_header_slots[];
extern const size_t auth_header_nslots;

/* The slot of header name (n bytes, case-insensitive), or -1. */
int auth_header_slot_find(const char *name, size_t n);

/* True when s (n bytes) is an HTTP token (RFC 9110 tchar), 1..64 bytes. */
bool auth_header_name_ok(const char *s, size_t n);

/* A comma-separated list of header names (blanks around names ignored,
 * empty items skipped, at most AUTH_HEADER_LIST_MAX, no duplicates
 * regardless of case): *n names, each copied NUL-terminated into
 * names[i]. -1 with a reason in err when invalid. */
int auth_header_list_parse(const char *s, char names[][AUTH_HEADER_NAME_MAX + 1], size_t *n,
                           char *err, size_t errlen);

/* The same, every name being a slot: slot indexes into slots[]. */
int auth_header_slots_parse(const char *s, int slots[AUTH_HEADER_LIST_MAX], size_t *n, char *err,
                            size_t errlen);

/* "claim:Header,claim:Header": claims are 1..64 bytes of [A-Za-z0-9_.-]
 * (a dotted path reaches into objects, see jwt_claims_get), headers are
 * slots, each at most once; at most AUTH_HEADER_LIST_MAX pairs. */
struct auth_claim_map {
    size_t n;
    char claim[AUTH_HEADER_LIST_MAX][AUTH_CLAIM_NAME_MAX + 1];
    int slot[AUTH_HEADER_LIST_MAX];
};
int auth_claim_map_parse(const char *s, struct auth_claim_map *out, char *err, size_t errlen);

/* A header value fit to pass on: printable ASCII or tab, at most
 * AUTH_HEADER_VALUE_MAX bytes (an empty value is fine). */
bool auth_header_value_ok(const char *s, size_t n);

/* One response header line as curl hands it ("Name: value\r\n", any bytes):
 * true when its name is `name` (case-insensitive), with *val / *vlen the
 * value trimmed of blanks and the line end. */
bool auth_header_line_match(const char *line, size_t len, const char *name, const char **val,
                            size_t *vlen);

#endif
