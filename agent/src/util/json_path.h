/*
 * json_path.h - reading fields of Kubernetes objects held as jansson trees:
 * by a dotted path, annotations, namespace and name.
 */
#ifndef SPOKE_UTIL_JSON_PATH_H
#define SPOKE_UTIL_JSON_PATH_H

#include <jansson.h>

/* JSON helpers. path is dot-separated object keys ("spec.ingressClassName");
 * keys that contain dots (annotations) need json_object_get. NULL when any
 * step is missing or of the wrong type. */
json_t *json_path(const json_t *root, const char *path);
const char *json_path_str(const json_t *root, const char *path);
/* An annotation's string value, or NULL. */
const char *json_annotation(const json_t *obj, const char *key);
/* metadata.namespace ("" when absent) and metadata.name ("" when absent). */
const char *json_obj_ns(const json_t *obj);
const char *json_obj_name(const json_t *obj);

#endif
