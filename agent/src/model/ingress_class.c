/* ingress_class.c - see ingress_class.h. */
#include "model/ingress_class.h"

#include <string.h>

#include "model/objects.h"

bool ingress_class_is_ours(const json_t *ingress_class)
{
    const char *c = json_path_str(ingress_class, "spec.controller");
    return c && strcmp(c, SPOKE_CONTROLLER_NAME) == 0;
}

bool ingress_class_is_default(const json_t *ingress_class)
{
    const char *v = json_annotation(ingress_class, INGRESS_CLASS_DEFAULT_ANNO);
    return v && strcmp(v, "true") == 0;
}

enum ingress_class_selection ingress_class_select(const json_t *ingress, const char *class_name,
                                                  const json_t *our_class)
{
    if (!class_name || !*class_name)
        return INGRESS_CLASS_NOT_OURS;
    if (our_class && !ingress_class_is_ours(our_class))
        return INGRESS_CLASS_NOT_OURS;
    const char *field = json_path_str(ingress, "spec.ingressClassName");
    if (field && *field)
        return strcmp(field, class_name) == 0 ? INGRESS_CLASS_BY_FIELD : INGRESS_CLASS_NOT_OURS;
    const char *anno = json_annotation(ingress, INGRESS_CLASS_ANNOTATION);
    if (anno && *anno)
        return strcmp(anno, class_name) == 0 ? INGRESS_CLASS_BY_ANNOTATION : INGRESS_CLASS_NOT_OURS;
    if (our_class && ingress_class_is_default(our_class))
        return INGRESS_CLASS_BY_DEFAULT;
    return INGRESS_CLASS_NOT_OURS;
}
