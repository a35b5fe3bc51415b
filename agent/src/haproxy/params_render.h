/*
 * params_render.h - the haproxy.cfg and spoe.cfg text of IngressParameters
 * (model/params.h): the placeholders of haproxy/haproxy.cfg.in and
 * haproxy/spoe.cfg.in that the parameters decide. Values were checked by
 * params_parse(); what goes into a quoted word here is quoted again anyway,
 * so no value can end a word, a line or a section.
 */
#ifndef SPOKE_HAPROXY_PARAMS_RENDER_H
#define SPOKE_HAPROXY_PARAMS_RENDER_H

#include <stddef.h>

#include "model/params.h"
#include "util/strbuf.h"

/* Appends the text of placeholder name[0..n) for p (NULL = the defaults).
 * Returns -1 when the name is not one of the parameters' placeholders. */
int params_render_placeholder(struct strbuf *out, const char *name, size_t n,
                              const struct ingress_params *p);

/* s as one haproxy.cfg word in single quotes (HAProxy takes everything in
 * them literally; a ' itself is written '\''). */
void params_render_quoted(struct strbuf *out, const char *s);

#endif
