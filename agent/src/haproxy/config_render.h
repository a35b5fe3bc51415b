/*
 * config_render.h - turns haproxy/haproxy.cfg.in into the haproxy.cfg of the
 * state directory, and lays out the files that configuration reads.
 *
 * The template is compiled into the agent (haproxy_cfg_template, generated
 * from haproxy/haproxy.cfg.in by the Makefile) so the binary is all a
 * deployment needs. Placeholders are @NAME@; an unknown one is an error, so
 * a typo in the template never reaches HAProxy.
 */
#ifndef SPOKE_HAPROXY_CONFIG_RENDER_H
#define SPOKE_HAPROXY_CONFIG_RENDER_H

#include <stddef.h>

#include "util/strbuf.h"

extern const char haproxy_cfg_template[];
extern const char spoe_cfg_template[]; /* haproxy/spoe.cfg.in */

struct pools;
struct error_pages;
struct ingress_params;

/* Appends the "server" lines of a pool backend (what the runtime API last
 * set), so that a restarted or reloaded HAProxy starts with them. */
typedef void (*render_servers_fn)(void *ud, const char *backend, const char *profile,
                                  struct strbuf *out);

struct haproxy_render_params {
    const char *state_dir; /* absolute path */
    const char *bind_addr; /* "" or "*" = all addresses */
    int http_port, https_port;
    const char *spoe_addr;       /* the SPOE responder, in HAProxy's syntax */
    const char *haproxy_metrics; /* HOST:PORT of HAProxy's /metrics; NULL = none */
    const struct pools *pools;   /* pools.h: the backends to declare */
    render_servers_fn servers;   /* may be NULL: no servers */
    void *servers_ud;
    const struct error_pages *error_pages; /* custom bodies; NULL = spoke's pages */
    /* IngressParameters (params_render.h); NULL = the defaults. The ports
     * above are already the effective ones (parameters over flags). */
    const struct ingress_params *params;
};

/* The name of pool backend number i (1-based) of a profile into buf. */
void pool_backend_name(const char *profile, unsigned i, char *buf, size_t len);

/* Renders the template; returns a malloc'd string, or NULL with err set. */
char *haproxy_config_render(const char *tmpl, const struct haproxy_render_params *p, char *err,
                            size_t errlen);

/* Creates state_dir/{maps,certs}, empty map files and crt-list when
 * missing (existing ones are kept: they hold the last routing), a
 * self-signed default certificate when certs/default.pem is missing, the
 * error pages (errors/CODE.http, error_pages.h), and writes haproxy.cfg and
 * spoe.cfg atomically. Returns 0 or -1 with err set. */
int haproxy_state_prepare(const struct haproxy_render_params *p, char *err, size_t errlen);

#endif
