/*
 * profiles.h - what a pool profile name (model_profile_name(): PROTOCOL-
 * BALANCE[-cookie], e.g. "http-roundrobin", "h2-leastconn-cookie") means in
 * HAProxy: the backend lines of its pool backends and the options each of
 * their servers gets.
 */
#ifndef SPOKE_HAPROXY_PROFILES_H
#define SPOKE_HAPROXY_PROFILES_H

#include "util/strbuf.h"

#define PROFILE_DEFAULT "http-roundrobin"

/* Appends the backend lines (unindented, '\n'-terminated). Returns -1 for a
 * name that is not a valid profile. */
int profile_backend_lines(const char *profile, struct strbuf *out);

/* Appends the "add server"/"server" options of the profile's servers (may
 * append nothing). Returns -1 for an invalid profile. */
int profile_server_options(const char *profile, struct strbuf *out);

/* True for a profile with cookie affinity: after "add server", HAProxy 2.6
 * computes a dynamic server's cookie only on "enable dynamic-cookie backend". */
int profile_has_cookie(const char *profile);

#endif
