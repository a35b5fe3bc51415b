/*
 * config_render.c - renders haproxy.cfg from the built-in template and
 * prepares the state directory (see config_render.h).
 */
#include "haproxy/config_render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "haproxy/atomic_file.h"
#include "haproxy/error_pages.h"
#include "haproxy/params_render.h"
#include "haproxy/pools.h"
#include "haproxy/profiles.h"
#include "haproxy/self_signed.h"
#include "util/strbuf.h"

void pool_backend_name(const char *profile, unsigned i, char *buf, size_t len)
{
    snprintf(buf, len, "pool_%s_%04u", profile, i);
}

static void render_pools(struct strbuf *out, const struct haproxy_render_params *p)
{
    for (size_t i = 0; p->pools && i < pools_n_profiles(p->pools); i++) {
        const char *profile = pools_profile(p->pools, i);
        struct strbuf lines = STRBUF_INIT;
        if (profile_backend_lines(profile, &lines) < 0)
            continue; /* never assigned: pools only holds valid profiles */
        for (unsigned j = 0; j < pools_size(p->pools, i); j++) {
            char name[256];
            pools_slot_name(p->pools, i, j, name, sizeof(name));
            strbuf_printf(out, "backend %s\n", name);
            const char *owner = pools_slot_owner(p->pools, i, j);
            if (owner)
                strbuf_printf(out, "    # serves %s\n", owner);
            for (const char *l = lines.data; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t n = nl ? (size_t)(nl - l) : strlen(l);
                strbuf_printf(out, "    %.*s\n", (int)n, l);
                l = nl ? nl + 1 : l + n;
            }
            if (p->servers)
                p->servers(p->servers_ud, name, profile, out);
            strbuf_append(out, "\n", 1);
        }
        strbuf_free(&lines);
    }
}

/* Appends the value of placeholder name; -1 if it is unknown. */
static int render_placeholder(struct strbuf *out, const char *name, size_t n,
                              const struct haproxy_render_params *p)
{
    char num[32];
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("STATE_DIR")) {
        strbuf_puts(out, p->state_dir);
    } else if (IS("BIND_ADDR")) {
        strbuf_puts(out, strcmp(p->bind_addr, "*") == 0 ? "" : p->bind_addr);
    } else if (IS("HTTP_PORT")) {
        snprintf(num, sizeof(num), "%d", p->http_port);
        strbuf_puts(out, num);
    } else if (IS("HTTPS_PORT")) {
        snprintf(num, sizeof(num), "%d", p->https_port);
        strbuf_puts(out, num);
    } else if (IS("SPOE_ADDR")) {
        strbuf_puts(out, p->spoe_addr ? p->spoe_addr : "127.0.0.1:1");
    } else if (IS("SPOE_CFG")) {
        strbuf_printf(out, "%s/spoe.cfg", p->state_dir);
    } else if (IS("POOLS")) {
        render_pools(out, p);
    } else if (IS("HAPROXY_METRICS")) {
        /* HAProxy's own counters (requests, errors, queues per frontend,
         * backend and server) from its built-in exporter. */
        if (p->haproxy_metrics && p->haproxy_metrics[0])
            strbuf_printf(out,
                          "frontend spoke_haproxy_metrics\n"
                          "    bind %s\n"
                          "    http-request use-service prometheus-exporter if { path /metrics }\n"
                          "    http-request return status 404 default-errorfiles\n\n",
                          p->haproxy_metrics);
    } else {
        return params_render_placeholder(out, name, n, p->params);
    }
#undef IS
    return 0;
}

char *haproxy_config_render(const char *tmpl, const struct haproxy_render_params *p, char *err,
                            size_t errlen)
{
    struct strbuf out = STRBUF_INIT;
    const char *s = tmpl;
    while (*s) {
        const char *at = strchr(s, '@');
        if (!at) {
            strbuf_puts(&out, s);
            break;
        }
        strbuf_append(&out, s, (size_t)(at - s));
        /* A placeholder is @NAME@ with NAME in [A-Z_]; any other '@' (as in
         * "unix@/path") is text. */
        size_t n = strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        if (n == 0 || at[1 + n] != '@') {
            strbuf_append(&out, "@", 1);
            s = at + 1;
            continue;
        }
        if (render_placeholder(&out, at + 1, n, p) < 0) {
            snprintf(err, errlen, "template: unknown placeholder @%.*s@", (int)n, at + 1);
            strbuf_free(&out);
            return NULL;
        }
        s = at + n + 2;
    }
    return strbuf_take(&out);
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
}

/* Creates an empty file unless it exists. */
static int ensure_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    int rc = atomic_file_write(path, "", 0, 0644);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(-rc));
        return -1;
    }
    return 0;
}

int haproxy_state_prepare(const struct haproxy_render_params *p, char *err, size_t errlen)
{
    static const char *const files[] = {"maps/routes.map", "certs.list"};
    char path[4096];
    if (make_dir(p->state_dir, err, errlen) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/maps", p->state_dir);
    if (make_dir(path, err, errlen) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/certs", p->state_dir);
    if (make_dir(path, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", p->state_dir, files[i]);
        if (ensure_file(path, err, errlen) < 0)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/certs/default.pem", p->state_dir);
    struct stat st;
    if (stat(path, &st) != 0 &&
        self_signed_write(path, "spoke default certificate", err, errlen) < 0)
        return -1;
    if (error_pages_write(p->state_dir, p->error_pages, NULL, err, errlen) < 0)
        return -1;

    const char *const templates[] = {spoe_cfg_template, haproxy_cfg_template};
    const char *const outputs[] = {"spoe.cfg", "haproxy.cfg"};
    for (size_t i = 0; i < 2; i++) {
        char *text = haproxy_config_render(templates[i], p, err, errlen);
        if (!text)
            return -1;
        snprintf(path, sizeof(path), "%s/%s", p->state_dir, outputs[i]);
        int rc = atomic_file_write(path, text, strlen(text), 0644);
        free(text);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
            return -1;
        }
    }
    return 0;
}
