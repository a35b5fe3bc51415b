/* json_path.c - see json_path.h. */
#include "util/json_path.h"

#include <string.h>

json_t *json_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    char key[128];
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key) || !json_is_object(cur))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        path += n + (dot != NULL);
    }
    return (json_t *)cur;
}

const char *json_path_str(const json_t *root, const char *path)
{
    return json_string_value(json_path(root, path));
}

const char *json_annotation(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

const char *json_obj_ns(const json_t *obj)
{
    const char *s = json_path_str(obj, "metadata.namespace");
    return s ? s : "";
}

const char *json_obj_name(const json_t *obj)
{
    const char *s = json_path_str(obj, "metadata.name");
    return s ? s : "";
}
