/* params_ref.c - see params_ref.h. */
#include "model/params_ref.h"

#include <stdio.h>
#include <string.h>

#include "model/ingress_class.h"
#include "model/objects.h"

/* A namespace or object name the agent can put in a URL path. */
static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 253 && s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.")] == '\0' &&
           s[0] != '.' && s[0] != '-';
}

enum params_ref_result params_ref_find(struct store *classes, struct store *params,
                                       const char *class_name, const char *own_ns, json_t **obj,
                                       char *key, size_t keylen, char *problem, size_t plen)
{
    *obj = NULL;
    key[0] = problem[0] = '\0';
    json_t *cls = classes && class_name ? store_get(classes, "", class_name) : NULL;
    if (!cls || !ingress_class_is_ours(cls))
        return PARAMS_REF_NONE;
    const json_t *ref = json_path(cls, "spec.parameters");
    if (!json_is_object(ref))
        return PARAMS_REF_NONE;
    const char *group = json_path_str(ref, "apiGroup"), *kind = json_path_str(ref, "kind");
    const char *name = json_path_str(ref, "name"), *scope = json_path_str(ref, "scope");
    const char *ns = json_path_str(ref, "namespace");
    if (!group || strcmp(group, "spoke.dev") != 0 || !kind ||
        strcmp(kind, "IngressParameters") != 0) {
        snprintf(problem, plen,
                 "spec.parameters must name apiGroup spoke.dev, kind "
                 "IngressParameters");
        return PARAMS_REF_INVALID;
    }
    if (scope && strcmp(scope, "Namespace") == 0) {
        if (!name_ok(ns)) {
            snprintf(problem, plen, "spec.parameters with scope Namespace needs a namespace");
            return PARAMS_REF_INVALID;
        }
    } else if (!scope || strcmp(scope, "Cluster") == 0) {
        ns = own_ns && *own_ns ? own_ns : "default";
    } else {
        snprintf(problem, plen, "spec.parameters.scope must be Cluster or Namespace");
        return PARAMS_REF_INVALID;
    }
    if (!name_ok(name)) {
        snprintf(problem, plen, "spec.parameters.name is not a valid name");
        return PARAMS_REF_INVALID;
    }
    snprintf(key, keylen, "%s/%s", ns, name);
    *obj = params ? store_get(params, ns, name) : NULL;
    return *obj ? PARAMS_REF_FOUND : PARAMS_REF_MISSING;
}
