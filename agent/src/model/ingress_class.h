/*
 * ingress_class.h - which Ingresses this controller serves.
 *
 * An IngressClass is ours when spec.controller is SPOKE_CONTROLLER_NAME.
 * The controller serves one class name (--ingress-class, default "spoke").
 * An Ingress is ours when:
 *   1. spec.ingressClassName is set: it equals the class name;
 *   2. else the legacy annotation kubernetes.io/ingress.class is set: it
 *      equals the class name;
 *   3. else (no class at all): the IngressClass of that name is ours and is
 *      annotated ingressclass.kubernetes.io/is-default-class: "true".
 * If an IngressClass of that name exists but belongs to another controller,
 * nothing is ours (the name is someone else's). If none exists, cases 1 and
 * 2 still select (the class is nobody else's either); case 3 cannot.
 */
#ifndef SPOKE_MODEL_INGRESS_CLASS_H
#define SPOKE_MODEL_INGRESS_CLASS_H

#include <stdbool.h>

#include <jansson.h>

#define SPOKE_CONTROLLER_NAME      "spoke.dev/ingress-controller"
#define INGRESS_CLASS_DEFAULT_NAME "spoke"

#define INGRESS_CLASS_ANNOTATION   "kubernetes.io/ingress.class"
#define INGRESS_CLASS_DEFAULT_ANNO "ingressclass.kubernetes.io/is-default-class"

enum ingress_class_selection {
    INGRESS_CLASS_NOT_OURS = 0,
    INGRESS_CLASS_BY_FIELD,      /* spec.ingressClassName */
    INGRESS_CLASS_BY_ANNOTATION, /* kubernetes.io/ingress.class */
    INGRESS_CLASS_BY_DEFAULT,    /* no class; ours is the default class */
};

/* spec.controller == SPOKE_CONTROLLER_NAME. */
bool ingress_class_is_ours(const json_t *ingress_class);
/* The is-default-class annotation is "true". */
bool ingress_class_is_default(const json_t *ingress_class);

/* our_class: the IngressClass object named class_name, NULL if there is none. */
enum ingress_class_selection ingress_class_select(const json_t *ingress, const char *class_name,
                                                  const json_t *our_class);

#endif
