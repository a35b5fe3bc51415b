/* auth_headers.c - the header slots the SPOE responder may set on the
 * upstream request and the parsers of annotation lists naming headers (see
 * auth_headers.h). Pure functions over bounded strings. */
#include "spoe/auth_headers.h"
#include "util/printable.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct auth_header_slot auth_header_slots[] = {
    {"Authorization", "h_authorization"},
    {"X-Auth-Request-User", "h_x_auth_request_user"},
    {"X-Auth-Request-Email", "h_x_auth_request_email"},
    {"X-Auth-Request-Groups", "h_x_auth_request_groups"},
    {"X-Auth-Request-Preferred-Username", "h_x_auth_request_preferred_username"},
    {"X-Auth-Request-Access-Token", "h_x_auth_request_access_token"},
    {"X-Forwarded-User", "h_x_forwarded_user"},
    {"X-Forwarded-Email", "h_x_forwarded_email"},
    {"X-Forwarded-Groups", "h_x_forwarded_groups"},
    {"X-Forwarded-Preferred-Username", "h_x_forwarded_preferred_username"},
    {"X-User", "h_x_user"},
    {"X-User-Id", "h_x_user_id"},
    {"X-Email", "h_x_email"},
    {"X-Groups", "h_x_groups"},
    {"X-Roles", "h_x_roles"},
    {"X-Tenant", "h_x_tenant"},
};
const size_t auth_header_nslots = sizeof(auth_header_slots) / sizeof(auth_header_slots[0]);

int auth_header_slot_find(const char *name, size_t n)
{
    for (size_t i = 0; i < auth_header_nslots; i++)
        if (strlen(auth_header_slots[i].name) == n &&
            strncasecmp(auth_header_slots[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

bool auth_header_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > AUTH_HEADER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return false;
    return true;
}

/* An untrusted item made fit for a message: printable, at most 64 bytes. */
static const char *shown(const char *s, size_t n, char out[72])
{
    return printable_quote(s, n, 64, out);
}

/* The next comma-separated item of *s, trimmed of blanks: false at the end. */
static bool next_item(const char **s, const char **item, size_t *n)
{
    while (**s) {
        const char *e = strchr(*s, ',');
        size_t len = e ? (size_t)(e - *s) : strlen(*s);
        const char *b = *s;
        *s += len + (e != NULL);
        while (len && (*b == ' ' || *b == '\t'))
            b++, len--;
        while (len && (b[len - 1] == ' ' || b[len - 1] == '\t'))
            len--;
        if (len) {
            *item = b;
            *n = len;
            return true;
        }
    }
    return false;
}

int auth_header_list_parse(const char *s, char names[][AUTH_HEADER_NAME_MAX + 1], size_t *n,
                           char *err, size_t errlen)
{
    char q[72];
    const char *item;
    size_t len;
    *n = 0;
    while (next_item(&s, &item, &len)) {
        if (!auth_header_name_ok(item, len)) {
            snprintf(err, errlen, "\"%s\" is not a header name", shown(item, len, q));
            return -1;
        }
        if (*n == AUTH_HEADER_LIST_MAX) {
            snprintf(err, errlen, "more than %d header names", AUTH_HEADER_LIST_MAX);
            return -1;
        }
        for (size_t i = 0; i < *n; i++)
            if (strlen(names[i]) == len && strncasecmp(names[i], item, len) == 0) {
                snprintf(err, errlen, "header %s is named twice", shown(item, len, q));
                return -1;
            }
        memcpy(names[*n], item, len);
        names[(*n)++][len] = '\0';
    }
    return 0;
}

static int slot_of(const char *item, size_t len, char *err, size_t errlen)
{
    int slot = auth_header_slot_find(item, len);
    if (slot < 0) {
        char q[72];
        snprintf(err, errlen,
                 "header %s cannot be set on the upstream request (see docs/auth.md for the "
                 "headers HAProxy is configured to set)",
                 shown(item, len, q));
    }
    return slot;
}

int auth_header_slots_parse(const char *s, int slots[AUTH_HEADER_LIST_MAX], size_t *n, char *err,
                            size_t errlen)
{
    char names[AUTH_HEADER_LIST_MAX][AUTH_HEADER_NAME_MAX + 1];
    if (auth_header_list_parse(s, names, n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < *n; i++)
        if ((slots[i] = slot_of(names[i], strlen(names[i]), err, errlen)) < 0)
            return -1;
    return 0;
}

static bool claim_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > AUTH_CLAIM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

int auth_claim_map_parse(const char *s, struct auth_claim_map *out, char *err, size_t errlen)
{
    char q[72];
    const char *item;
    size_t len;
    memset(out, 0, sizeof(*out));
    while (next_item(&s, &item, &len)) {
        const char *colon = memchr(item, ':', len);
        if (!colon) {
            snprintf(err, errlen, "\"%s\" is not claim:Header", shown(item, len, q));
            return -1;
        }
        const char *claim = item, *hdr = colon + 1;
        size_t cl = (size_t)(colon - item), hl = len - cl - 1;
        while (cl && (claim[cl - 1] == ' ' || claim[cl - 1] == '\t'))
            cl--;
        while (hl && (*hdr == ' ' || *hdr == '\t'))
            hdr++, hl--;
        if (!claim_name_ok(claim, cl)) {
            snprintf(err, errlen, "\"%s\" is not a claim name", shown(claim, cl, q));
            return -1;
        }
        if (!auth_header_name_ok(hdr, hl)) {
            snprintf(err, errlen, "\"%s\" is not a header name", shown(hdr, hl, q));
            return -1;
        }
        int slot = slot_of(hdr, hl, err, errlen);
        if (slot < 0)
            return -1;
        if (out->n == AUTH_HEADER_LIST_MAX) {
            snprintf(err, errlen, "more than %d claims", AUTH_HEADER_LIST_MAX);
            return -1;
        }
        for (size_t i = 0; i < out->n; i++)
            if (out->slot[i] == slot) {
                snprintf(err, errlen, "header %s is named twice", auth_header_slots[slot].name);
                return -1;
            }
        memcpy(out->claim[out->n], claim, cl);
        out->claim[out->n][cl] = '\0';
        out->slot[out->n++] = slot;
    }
    if (out->n == 0) {
        snprintf(err, errlen, "no claim:Header pair given");
        return -1;
    }
    return 0;
}

bool auth_header_value_ok(const char *s, size_t n)
{
    if (n > AUTH_HEADER_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] >= 0x7f || s[i] < 0)
            return false;
    return true;
}

bool auth_header_line_match(const char *line, size_t len, const char *name, const char **val,
                            size_t *vlen)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    size_t n = len - nl - 1;
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
        n--;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *val = v;
    *vlen = n;
    return true;
}
