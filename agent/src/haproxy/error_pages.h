/*
 * error_pages.h - the HTTP error responses HAProxy itself produces (no
 * route, no ready endpoint, a denied request, timeouts), as errorfiles in
 * STATE_DIR/errors/CODE.http that haproxy.cfg names with "errorfile".
 *
 * spoke's own pages are short HTML documents; an admin can replace the body
 * of any of them (IngressParameters spec.errorPages: a ConfigMap whose keys
 * are status codes). HAProxy reads errorfiles only when it starts, so a
 * changed page takes a (hitless) reload: error_pages_write says whether a
 * file changed.
 */
#ifndef SPOKE_HAPROXY_ERROR_PAGES_H
#define SPOKE_HAPROXY_ERROR_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/* The codes HAProxy can serve from an errorfile that spoke produces. */
#define ERROR_PAGES_N 9
extern const int error_page_codes[ERROR_PAGES_N];

/* A body must fit, with its headers, in one HAProxy buffer (tune.bufsize,
 * 16 KiB, less the space reserved for header rewrites). */
#define ERROR_PAGE_BODY_MAX 8192

/* Replacement bodies (HTML), by index into error_page_codes; NULL = spoke's. */
struct error_pages {
    const char *html[ERROR_PAGES_N];
};

/* The index of code in error_page_codes, or -1. */
int error_page_index(int code);

/* Whether html is acceptable as a body: at most ERROR_PAGE_BODY_MAX bytes,
 * no NUL byte. Returns 0, or -1 with why set. */
int error_page_check(const char *html, size_t len, char *why, size_t whylen);

/* The whole errorfile for code (status line, headers, body) with custom
 * body html (NULL = spoke's page); malloc'd, *len set. NULL if the code is
 * not one of error_page_codes. */
char *error_page_render(int code, const char *html, size_t *len);

/* Writes STATE_DIR/errors/CODE.http for every code, from custom (may be
 * NULL: spoke's pages), creating the directory. A file whose content is
 * unchanged is not rewritten. *changed (may be NULL) tells whether any file
 * was. Returns 0, or -1 with err set. */
int error_pages_write(const char *state_dir, const struct error_pages *custom, bool *changed,
                      char *err, size_t errlen);

/* The custom bodies STATE_DIR/errors holds: html[i] is a malloc'd copy of
 * the body of each file that is not spoke's own page, else NULL. */
void error_pages_read(const char *state_dir, char *html[ERROR_PAGES_N]);

#endif
