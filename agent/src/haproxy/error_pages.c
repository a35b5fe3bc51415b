/* error_pages.c - see error_pages.h. */
#include "haproxy/error_pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "haproxy/atomic_file.h"
#include "util/strbuf.h"

const int error_page_codes[ERROR_PAGES_N] = {400, 403, 404, 408, 429, 500, 502, 503, 504};

static const char *const reasons[ERROR_PAGES_N] = {
    "Bad Request",     "Forbidden",           "Not Found",
    "Request Timeout", "Too Many Requests",   "Internal Server Error",
    "Bad Gateway",     "Service Unavailable", "Gateway Timeout",
};

static const char *const explanations[ERROR_PAGES_N] = {
    "The request could not be understood.",
    "The request was refused.",
    "No route for this host and path.",
    "The request took too long to arrive.",
    "Too many requests: try again later.",
    "The proxy failed while handling the request.",
    "The service of this route gave an invalid answer.",
    "The service of this route is not available.",
    "The service of this route did not answer in time.",
};

int error_page_index(int code)
{
    for (int i = 0; i < ERROR_PAGES_N; i++)
        if (error_page_codes[i] == code)
            return i;
    return -1;
}

int error_page_check(const char *html, size_t len, char *why, size_t whylen)
{
    if (len > ERROR_PAGE_BODY_MAX) {
        snprintf(why, whylen, "%zu bytes, more than %d", len, ERROR_PAGE_BODY_MAX);
        return -1;
    }
    if (memchr(html, '\0', len)) {
        snprintf(why, whylen, "contains a NUL byte");
        return -1;
    }
    return 0;
}

char *error_page_render(int code, const char *html, size_t *len)
{
    int i = error_page_index(code);
    if (i < 0)
        return NULL;
    struct strbuf body = STRBUF_INIT;
    if (html)
        strbuf_puts(&body, html);
    else
        strbuf_printf(&body,
                      "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                      "<body><h1>%d %s</h1>\n<p>%s</p>\n<hr><p>spoke</p></body></html>\n",
                      code, reasons[i], code, reasons[i], explanations[i]);
    struct strbuf out = STRBUF_INIT;
    strbuf_printf(&out,
                  "HTTP/1.1 %d %s\r\n"
                  "Content-Type: text/html; charset=utf-8\r\n"
                  "Content-Length: %zu\r\n"
                  "Cache-Control: no-cache\r\n"
                  "Connection: close\r\n"
                  "\r\n",
                  code, reasons[i], body.len);
    strbuf_append(&out, body.data ? body.data : "", body.len);
    strbuf_free(&body);
    *len = out.len;
    return strbuf_take(&out);
}

/* The whole content of path (at most max bytes), malloc'd, NUL-terminated;
 * NULL when it cannot be read or is larger. */
static char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 2);
    *len = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || *len > max) {
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

void error_pages_read(const char *state_dir, char *html[ERROR_PAGES_N])
{
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        html[i] = NULL;
        char path[4096];
        snprintf(path, sizeof(path), "%s/errors/%d.http", state_dir, error_page_codes[i]);
        size_t len, dlen;
        char *have = read_small_file(path, ERROR_PAGE_BODY_MAX + 1024, &len);
        char *dflt = error_page_render(error_page_codes[i], NULL, &dlen);
        const char *body = have ? strstr(have, "\r\n\r\n") : NULL;
        if (body && !(len == dlen && memcmp(have, dflt, len) == 0) &&
            !memchr(body + 4, '\0', len - (size_t)(body + 4 - have)))
            html[i] = strdup(body + 4);
        free(have);
        free(dflt);
    }
}

/* True when path holds exactly data. */
static bool same_content(const char *path, const char *data, size_t len)
{
    size_t have_len;
    char *have = read_small_file(path, len, &have_len);
    bool same = have && have_len == len && memcmp(have, data, len) == 0;
    free(have);
    return same;
}

int error_pages_write(const char *state_dir, const struct error_pages *custom, bool *changed,
                      char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/errors", state_dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (changed)
        *changed = false;
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        size_t len;
        char *text = error_page_render(error_page_codes[i], custom ? custom->html[i] : NULL, &len);
        snprintf(path, sizeof(path), "%s/errors/%d.http", state_dir, error_page_codes[i]);
        int rc = 0;
        if (!same_content(path, text, len)) {
            rc = atomic_file_write(path, text, len, 0644);
            if (rc == 0 && changed)
                *changed = true;
        }
        free(text);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
            return -1;
        }
    }
    return 0;
}
