/*
 * yaml_json.h - YAML (and therefore JSON) text to a jansson value.
 *
 * Only the first document of a stream is read. Mappings become objects,
 * sequences arrays. Plain (unquoted) scalars are resolved roughly as YAML's
 * core schema does: null/Null/NULL/~/empty -> null; true/false and the YAML
 * 1.1 words yes/no/on/off (in lower, Title or UPPER case) -> booleans;
 * decimal, 0x hex and 0o octal integers -> integers (reals when they do not
 * fit); decimal floats -> reals. .inf and .nan have no JSON form and stay
 * strings. Quoted and block scalars are always strings. The core tags
 * !!str, !!int, !!float, !!bool and !!null are honoured; other tags are
 * ignored. Anchors, aliases and "<<" merge keys work; the nodes and bytes
 * copied by aliases and the nesting depth are bounded so that an alias bomb ("billion
 * laughs") fails quickly instead of exhausting memory. Mapping keys must be
 * scalars and unique.
 */
#ifndef SPOKE_YAML_JSON_H
#define SPOKE_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Deepest nesting of sequences/mappings accepted (aliases included). */
#define YAML_JSON_MAX_DEPTH 256
/* Most nodes, and scalar bytes, that alias expansion may copy into one
 * document. */
#define YAML_JSON_MAX_ALIAS_NODES 100000
#define YAML_JSON_MAX_ALIAS_BYTES (16 << 20)

/* Parse buf[0..len). An empty stream gives a JSON null. Returns a new
 * reference, or NULL with a reason in err that starts with "line L:C: "
 * (1-based) when the problem has a position. */
json_t *yaml_to_json(const char *buf, size_t len, char *err, size_t errlen);

#endif
