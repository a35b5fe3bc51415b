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

extern const char haproxy_cfg_template[];

/* A pool profile: the backend settings only a reload can change. */
struct pool_profile {
    const char *name;     /* short, [a-z0-9]: "rr" -> backends pool_rr_0001 ... */
    const char *settings; /* backend lines, '\n'-separated, without indentation */
    unsigned count;       /* backends of this profile to declare */
};

struct haproxy_render_params {
    const char *state_dir; /* absolute path */
    const char *bind_addr; /* "" or "*" = all addresses */
    int http_port, https_port;
    int maxconn;
    const struct pool_profile *profiles;
    size_t n_profiles;
};

/* The name of pool backend number i (1-based) of a profile into buf. */
void pool_backend_name(const char *profile, unsigned i, char *buf, size_t len);

/* Renders the template; returns a malloc'd string, or NULL with err set. */
char *haproxy_config_render(const char *tmpl, const struct haproxy_render_params *p, char *err,
                            size_t errlen);

/* Creates state_dir/{maps,certs}, empty map files and crt-list when
 * missing (existing ones are kept: they hold the last routing), a
 * self-signed default certificate when certs/default.pem is missing, and
 * writes haproxy.cfg atomically. Returns 0 or -1 with err set. */
int haproxy_state_prepare(const struct haproxy_render_params *p, char *err, size_t errlen);

#endif
