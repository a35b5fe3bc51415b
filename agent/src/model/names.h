/*
 * names.h - validation and normalization of the names and paths an Ingress
 * carries: hosts, paths, Service and port names. Everything here is a
 * whitelist, because these strings become HAProxy map keys and backend
 * names (DESIGN.md "Untrusted input").
 *
 * Hosts: lowercased, then an RFC 1123 subdomain (labels [a-z0-9-], 1..63
 * bytes, not starting or ending with '-'; at most 253 bytes), or "*." and
 * such a subdomain (a wildcard matching exactly one more label).
 *
 * Paths (Kubernetes validation of networking.k8s.io/v1, plus a whitelist):
 *  - must start with '/', at most NAMES_PATH_MAX bytes;
 *  - only RFC 3986 path characters: ALPHA DIGIT - . _ ~ ! $ & ' ( ) * + , ;
 *    = : @ / and %XX escapes (so no space, '#', '?', '|', '\', quotes,
 *    control or non-ASCII bytes);
 *  - not "//", "/./", "/../", "%2f" / "%2F", nor ending in "/." or "/..";
 *  - ImplementationSpecific is matched as Prefix, and it is where other
 *    controllers take regular expressions: one with a regex metacharacter
 *    (^ $ * + ? ( ) [ ] { } | \) is refused rather than taken literally;
 *    an empty ImplementationSpecific path means "/".
 * Normalized: a Prefix (or ImplementationSpecific) path loses its trailing
 * '/', except "/" itself: "/foo/" and "/foo" match the same requests.
 */
#ifndef SPOKE_MODEL_NAMES_H
#define SPOKE_MODEL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

#define NAMES_HOST_MAX 253
#define NAMES_PATH_MAX 2048

/* host into out (NAMES_HOST_MAX + 1 bytes), lowercased. Returns NULL when
 * valid (and sets *wildcard), else why not (an English phrase). */
const char *names_host_normalize(const char *host, char *out, bool *wildcard);

/* path (NULL or "" allowed for ImplementationSpecific only) into out
 * (NAMES_PATH_MAX + 1 bytes), normalized for type. NULL when valid, else why. */
const char *names_path_normalize(const char *path, enum model_path_type type, char *out);

/* An RFC 1123 subdomain, already lowercase. */
bool names_is_dns_subdomain(const char *s);
/* An RFC 1123 label (namespaces). */
bool names_is_dns_label(const char *s);
/* An RFC 1035 label (Service names: starts with a letter). */
bool names_is_dns1035_label(const char *s);
/* An IANA service name (port names): 1..15 of [a-z0-9-], a letter, no "--",
 * not starting or ending with '-'. */
bool names_is_port_name(const char *s);
/* Only RFC 3986 path characters and valid %XX escapes (see above). */
bool names_is_uri_path_text(const char *s);

#endif
