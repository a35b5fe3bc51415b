/*
 * routes.c - see routes.h. The build runs in passes over candidates:
 * collect every rule of every Ingress of our class, sort, keep the winner
 * of each (host, path, match type), then add the implicit defaults, the
 * default route, flags and ids, and sort the output.
 */
#include "model/routes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/annotations.h"
#include "model/backends.h"
#include "model/build.h"
#include "model/canary.h"
#include "model/ingress_class.h"
#include "model/names.h"
#include "model/objects.h"
#include "model/tls.h"

/* What we keep of each Ingress we serve. */
struct ingress_info {
    const char *key;     /* "ns/name" */
    const char *created; /* creationTimestamp; "~" (after any date) when absent */
    struct ingress_annotations ann;
    bool has_rules;
    bool has_default;
    const char *default_backend; /* id or NULL */
    enum canary_kind canary;     /* a canary Ingress makes no route of its own */
    struct model_canary canary_settings;
};

struct route_cand {
    const char *host, *path, *backend;
    bool wildcard, is_default;
    enum model_path_type type;
    size_t ing;                    /* index into the ingress_info array */
    const char *created, *ingress; /* of that Ingress, for sorting */
    size_t seq;                    /* order of appearance */
    /* Canary rules: the IngressBackend and namespace, resolved only when
     * the rule finds its main route (no pool slot for an unused canary). */
    const json_t *canary_ref;
    const char *canary_ns;
};

struct build_state {
    struct build b;
    struct ingress_info *ings;
    size_t n_ings;
    struct route_cand *cands; /* from rules */
    size_t n_cands;
    struct route_cand *implicit; /* from defaultBackend, one per host of an Ingress */
    size_t n_implicit;
    struct route_cand *winners;
    size_t n_winners;
    struct route_cand *canaries; /* rules of canary Ingresses */
    size_t n_canaries;
    struct tls_candidates tls;
    struct model_defaults defaults; /* IngressParameters */
};

static void report_annotation(void *ud, const char *annotation, const char *value, const char *why)
{
    struct build_state *st = ud;
    char q[MODEL_QUOTE_SIZE];
    build_problem(&st->b, "Ingress", st->ings[st->n_ings - 1].key,
                  "annotation %s: \"%s\" is invalid (%s); the default is used", annotation,
                  model_quote(value, q), why);
}

static void report_canary(void *ud, const char *annotation, const char *value, const char *why)
{
    struct build_state *st = ud;
    char q[MODEL_QUOTE_SIZE];
    build_problem(&st->b, "Ingress", st->ings[st->n_ings - 1].key,
                  "annotation %s: \"%s\" is invalid (%s); the canary is ignored", annotation,
                  model_quote(value, q), why);
}

static bool parse_path_type(const char *s, enum model_path_type *t)
{
    if (!s)
        return false;
    if (strcmp(s, "Exact") == 0)
        *t = MODEL_PATH_EXACT;
    else if (strcmp(s, "Prefix") == 0)
        *t = MODEL_PATH_PREFIX;
    else if (strcmp(s, "ImplementationSpecific") == 0)
        *t = MODEL_PATH_IMPL_SPECIFIC;
    else
        return false;
    return true;
}

static const char *resolve_json_backend(struct build_state *st, const json_t *backend,
                                        const char *ns, const struct ingress_info *info)
{
    struct backend_ref ref;
    const char *why = backend_ref_from_json(backend, ns, &ref);
    if (why) {
        build_problem(&st->b, "Ingress", info->key, "%s", why);
        return NULL;
    }
    ref.profile = info->ann.profile;
    return backend_resolve(&st->b, &ref, "Ingress", info->key);
}

static void add_cand(struct build_state *st, struct route_cand **arr, size_t *n, size_t *seq,
                     const char *host, bool wildcard, const char *path, enum model_path_type type,
                     const char *backend, bool is_default)
{
    struct route_cand *c = MODEL_VEC_PUSH(*arr, *n);
    size_t ing = st->n_ings - 1;
    c->created = st->ings[ing].created;
    c->ingress = st->ings[ing].key;
    c->host = host;
    c->wildcard = wildcard;
    c->path = path;
    c->type = type;
    c->backend = backend;
    c->ing = ing;
    c->seq = (*seq)++;
    c->is_default = is_default;
}

/* The paths of one rule. */
static void collect_paths(struct build_state *st, const json_t *rule, const char *host,
                          bool wildcard, const char *ns, size_t *seq)
{
    struct routing_model *m = st->b.m;
    struct ingress_info *info = &st->ings[st->n_ings - 1];
    size_t j;
    const json_t *p;
    char q[MODEL_QUOTE_SIZE], q2[MODEL_QUOTE_SIZE];
    json_array_foreach(json_path(rule, "http.paths"), j, p)
    {
        const char *raw_type = json_string_value(json_object_get(p, "pathType"));
        const char *raw_path = json_string_value(json_object_get(p, "path"));
        enum model_path_type type;
        if (!parse_path_type(raw_type, &type)) {
            build_problem(&st->b, "Ingress", info->key,
                          "path \"%s\": pathType \"%s\" is not Exact, Prefix or "
                          "ImplementationSpecific; the path is ignored",
                          model_quote(raw_path, q), model_quote(raw_type, q2));
            continue;
        }
        char norm[NAMES_PATH_MAX + 1];
        const char *why = names_path_normalize(raw_path, type, norm);
        if (why) {
            build_problem(&st->b, "Ingress", info->key, "path \"%s\" %s; the path is ignored",
                          model_quote(raw_path, q), why);
            continue;
        }
        if (info->canary == CANARY_VALID) {
            add_cand(st, &st->canaries, &st->n_canaries, seq, host, wildcard, model_strdup(m, norm),
                     type, NULL, false);
            st->canaries[st->n_canaries - 1].canary_ref = json_object_get(p, "backend");
            st->canaries[st->n_canaries - 1].canary_ns = ns;
            continue;
        }
        const char *backend = resolve_json_backend(st, json_object_get(p, "backend"), ns, info);
        add_cand(st, &st->cands, &st->n_cands, seq, host, wildcard, model_strdup(m, norm), type,
                 backend, false);
    }
}

static void collect_ingress(struct build_state *st, const json_t *ing, size_t *seq)
{
    struct routing_model *m = st->b.m;
    const char *ns = json_obj_ns(ing);
    struct ingress_info *info = MODEL_VEC_PUSH(st->ings, st->n_ings);
    info->key = model_printf(m, "%s/%s", ns, json_obj_name(ing));
    const char *created = json_path_str(ing, "metadata.creationTimestamp");
    info->created = model_strdup(m, created && *created ? created : "~");
    *MODEL_VEC_PUSH(m->ingresses, m->n_ingresses) = info->key;

    ingress_annotations_parse(ing, &info->ann, report_annotation, st);
    /* No valid spoke.dev/load-balance: the class's default (IngressParameters). */
    const char *lb = json_annotation(ing, ANNOTATION_LOAD_BALANCE);
    if (!lb ||
        (info->ann.profile.balance == MODEL_BALANCE_ROUNDROBIN && strcmp(lb, "roundrobin") != 0))
        info->ann.profile.balance = st->defaults.balance;
    info->canary = canary_parse(ing, &info->canary_settings, report_canary, st);
    if (info->canary == CANARY_NOT && canary_has_settings(ing))
        build_problem(&st->b, "Ingress", info->key,
                      "spoke.dev/canary-* annotations are ignored without spoke.dev/canary: "
                      "\"true\"");
    if (info->canary == CANARY_INVALID)
        return; /* reported; serves nothing */
    /* A canary Ingress only lends its rules' backends to the main routes:
     * no certificates, no default backend of its own. */
    if (info->canary == CANARY_NOT)
        tls_collect(&st->b, &st->tls, ing, info->key, info->created);

    const json_t *def = json_path(ing, "spec.defaultBackend");
    if (def && info->canary == CANARY_VALID) {
        build_problem(&st->b, "Ingress", info->key,
                      "spec.defaultBackend of a canary Ingress is ignored");
    } else if (def) {
        info->has_default = true;
        info->default_backend = resolve_json_backend(st, def, ns, info);
        struct model_ingress_default *d = MODEL_VEC_PUSH(m->defaults, m->n_defaults);
        d->ingress = info->key;
        d->backend = info->default_backend;
    }

    const json_t *rules = json_path(ing, "spec.rules");
    info->has_rules = json_array_size(rules) > 0;
    size_t i;
    const json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        const char *raw_host = json_string_value(json_object_get(rule, "host"));
        const char *host = "";
        bool wildcard = false;
        if (raw_host && *raw_host) {
            char norm[NAMES_HOST_MAX + 1];
            const char *why = names_host_normalize(raw_host, norm, &wildcard);
            if (why) {
                char q[MODEL_QUOTE_SIZE];
                build_problem(&st->b, "Ingress", info->key, "host \"%s\" %s; the rule is ignored",
                              model_quote(raw_host, q), why);
                continue;
            }
            host = model_strdup(m, norm);
        }
        collect_paths(st, rule, host, wildcard, ns, seq);
        if (info->has_default)
            add_cand(st, &st->implicit, &st->n_implicit, seq, host, wildcard, "/",
                     MODEL_PATH_PREFIX, info->default_backend, true);
    }
}

/* Candidates sort by route key, then age, then name, then order. */
static int cmp_key(const struct route_cand *a, const struct route_cand *b)
{
    int c = strcmp(a->host, b->host);
    if (c == 0)
        c = strcmp(a->path, b->path);
    if (c == 0)
        c = (int)model_path_match_type(a->type) - (int)model_path_match_type(b->type);
    return c;
}

static int cmp_cand(const void *pa, const void *pb)
{
    const struct route_cand *a = pa, *b = pb;
    int c = cmp_key(a, b);
    if (c == 0)
        c = strcmp(a->created, b->created);
    if (c == 0)
        c = strcmp(a->ingress, b->ingress);
    if (c == 0)
        c = (a->seq > b->seq) - (a->seq < b->seq);
    return c;
}

static int cmp_key_qsort(const void *a, const void *b)
{
    return cmp_key(a, b);
}

static void pick_winners(struct build_state *st)
{
    if (st->n_cands)
        qsort(st->cands, st->n_cands, sizeof(*st->cands), cmp_cand);
    for (size_t i = 0; i < st->n_cands;) {
        const struct route_cand *win = &st->cands[i];
        *MODEL_VEC_PUSH(st->winners, st->n_winners) = *win;
        size_t j = i + 1;
        for (; j < st->n_cands && cmp_key(&st->cands[j], win) == 0; j++) {
            const struct route_cand *lose = &st->cands[j];
            const char *what = model_path_type_name(model_path_match_type(lose->type));
            if (lose->ing == win->ing)
                build_problem(&st->b, "Ingress", st->ings[lose->ing].key,
                              "host \"%s\" path \"%s\" (%s) is listed twice; the first one is "
                              "used",
                              lose->host, lose->path, what);
            else
                build_problem(&st->b, "Ingress", st->ings[lose->ing].key,
                              "host \"%s\" path \"%s\" (%s) is already served by Ingress %s "
                              "(older); this rule is ignored",
                              lose->host, lose->path, what, st->ings[win->ing].key);
        }
        i = j;
    }
}

/* Implicit Prefix "/" routes from the defaultBackend of Ingresses with rules. */
static void pick_implicit(struct build_state *st)
{
    if (st->n_implicit)
        qsort(st->implicit, st->n_implicit, sizeof(*st->implicit), cmp_cand);
    size_t n_explicit = st->n_winners; /* sorted by key */
    for (size_t i = 0; i < st->n_implicit;) {
        const struct route_cand *win = &st->implicit[i];
        size_t j = i + 1;
        while (j < st->n_implicit && cmp_key(&st->implicit[j], win) == 0)
            j++;
        bool taken = n_explicit && bsearch(win, st->winners, n_explicit, sizeof(*st->winners),
                                           cmp_key_qsort) != NULL;
        if (!taken) {
            *MODEL_VEC_PUSH(st->winners, st->n_winners) = *win;
            for (size_t k = i + 1; k < j; k++)
                if (st->implicit[k].ing != win->ing)
                    build_problem(&st->b, "Ingress", st->ings[st->implicit[k].ing].key,
                                  "defaultBackend for host \"%s\" is ignored: Ingress %s (older) "
                                  "sets it",
                                  win->host, st->ings[win->ing].key);
        }
        i = j;
    }
}

/* FNV-1a 64 of host, path and kind ('E' exact, 'P' prefix, 'D' default). */
static void route_id(const char *host, const char *path, char kind, unsigned salt,
                     char out[MODEL_ROUTE_ID_SIZE])
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[2] = {host, path};
    for (int p = 0; p < 2; p++) {
        for (const char *s = parts[p]; *s; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ull;
        }
        h ^= 0xff; /* separator: no byte of a host or path */
        h *= 1099511628211ull;
    }
    h ^= (unsigned char)kind;
    h *= 1099511628211ull;
    for (unsigned s = salt; s; s >>= 8) {
        h ^= s & 0xff;
        h *= 1099511628211ull;
    }
    snprintf(out, MODEL_ROUTE_ID_SIZE, "r%016llx", (unsigned long long)h);
}

static void fill_route(struct build_state *st, struct model_route *r, const struct route_cand *c)
{
    struct routing_model *m = st->b.m;
    const struct ingress_info *info = &st->ings[c->ing];
    r->host = c->host;
    r->wildcard = c->wildcard;
    r->path = c->path;
    r->type = c->type;
    r->backend = c->backend;
    r->ingress = info->key;
    r->is_default = c->is_default;
    r->ssl_redirect = info->ann.ssl_redirect >= 0
                          ? info->ann.ssl_redirect == 1
                          : !st->defaults.no_ssl_redirect && tls_covers(m, c->host);
    r->rewrite_target = model_strdup(m, info->ann.rewrite_target);
    r->app_root = strcmp(c->path, "/") == 0 ? model_strdup(m, info->ann.app_root) : NULL;
    r->permanent_redirect = model_strdup(m, info->ann.permanent_redirect);
    r->timeout_server_ms = info->ann.timeout_server_ms;
    r->spoe = info->ann.needs_spoe;
}

/* The route taken when nothing matches: the oldest Ingress without rules
 * that has a defaultBackend, else the option. */
static void pick_default_route(struct build_state *st, const char *option)
{
    struct routing_model *m = st->b.m;
    const struct ingress_info *best = NULL;
    for (size_t i = 0; i < st->n_ings; i++) {
        const struct ingress_info *in = &st->ings[i];
        if (in->has_rules || !in->has_default)
            continue;
        if (!best || strcmp(in->created, best->created) < 0 ||
            (strcmp(in->created, best->created) == 0 && strcmp(in->key, best->key) < 0))
            best = in;
    }
    for (size_t i = 0; best && i < st->n_ings; i++) {
        const struct ingress_info *in = &st->ings[i];
        if (in != best && !in->has_rules && in->has_default)
            build_problem(&st->b, "Ingress", in->key,
                          "defaultBackend is ignored: Ingress %s (older) sets the default backend",
                          best->key);
    }
    struct route_cand c = {.host = "", .path = "/", .is_default = true, .type = MODEL_PATH_PREFIX};
    if (best) {
        c.backend = best->default_backend;
        c.ing = (size_t)(best - st->ings);
    } else if (option) {
        char buf[512];
        struct backend_ref ref;
        const char *why = backend_ref_parse(option, buf, sizeof(buf), &ref);
        if (why) {
            char q[MODEL_QUOTE_SIZE];
            build_problem(&st->b, "Option", "--default-backend-service", "\"%s\" %s",
                          model_quote(option, q), why);
            return;
        }
        c.backend = backend_resolve(&st->b, &ref, "Option", "--default-backend-service");
    } else {
        return;
    }
    m->default_route = model_xcalloc(1, sizeof(*m->default_route));
    if (best) {
        fill_route(st, m->default_route, &c);
    } else {
        m->default_route->host = "";
        m->default_route->path = "/";
        m->default_route->type = MODEL_PATH_PREFIX;
        m->default_route->backend = c.backend;
        m->default_route->ingress = "";
        m->default_route->is_default = true;
    }
    route_id("", "", 'D', 0, m->default_route->id);
}

static int cmp_route(const void *pa, const void *pb)
{
    const struct model_route *a = pa, *b = pb;
    int c = strcmp(a->host, b->host);
    if (c == 0)
        c = strcmp(a->path, b->path);
    if (c == 0)
        c = (int)a->type - (int)b->type;
    return c;
}

static int cmp_backend(const void *pa, const void *pb)
{
    return strcmp(((const struct model_backend *)pa)->id, ((const struct model_backend *)pb)->id);
}

static int cmp_default(const void *pa, const void *pb)
{
    return strcmp(((const struct model_ingress_default *)pa)->ingress,
                  ((const struct model_ingress_default *)pb)->ingress);
}

static int cmp_str(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int cmp_problem(const void *pa, const void *pb)
{
    const struct model_problem *a = pa, *b = pb;
    int c = strcmp(a->kind, b->kind);
    if (c == 0)
        c = strcmp(a->object, b->object);
    if (c == 0)
        c = strcmp(a->message, b->message);
    return c;
}

/* Routes from the winners, with ids unique even in the (2^-64) case of a
 * hash collision: the later route in key order takes a salt. */
static void make_routes(struct build_state *st)
{
    struct routing_model *m = st->b.m;
    if (st->n_winners)
        qsort(st->winners, st->n_winners, sizeof(*st->winners), cmp_key_qsort);
    struct build_strmap ids;
    build_strmap_init(&ids);
    if (m->default_route)
        build_strmap_put(&ids, m->default_route->id, 0);
    for (size_t i = 0; i < st->n_winners; i++) {
        const struct route_cand *c = &st->winners[i];
        struct model_route *r = MODEL_VEC_PUSH(m->routes, m->n_routes);
        fill_route(st, r, c);
        char kind = model_path_match_type(c->type) == MODEL_PATH_EXACT ? 'E' : 'P';
        unsigned salt = 0;
        do
            route_id(c->host, c->path, kind, salt++, r->id);
        while (build_strmap_get(&ids, r->id) != (size_t)-1);
        build_strmap_put(&ids, model_strdup(m, r->id), i);
    }
    build_strmap_free(&ids);
}

/* Each canary rule joins the route of the same host, path and match type
 * (made by a non-canary Ingress); the oldest canary of a route wins. Runs
 * after make_routes, while m->routes is still in st->winners' order. */
static void attach_canaries(struct build_state *st)
{
    struct routing_model *m = st->b.m;
    if (st->n_canaries)
        qsort(st->canaries, st->n_canaries, sizeof(*st->canaries), cmp_cand);
    for (size_t i = 0; i < st->n_canaries;) {
        const struct route_cand *c = &st->canaries[i];
        const char *what = model_path_type_name(model_path_match_type(c->type));
        const struct ingress_info *info = &st->ings[c->ing];
        const struct route_cand *owner =
            st->n_winners
                ? bsearch(c, st->winners, st->n_winners, sizeof(*st->winners), cmp_key_qsort)
                : NULL;
        size_t j = i + 1;
        for (; j < st->n_canaries && cmp_key(&st->canaries[j], c) == 0; j++) {
            if (st->canaries[j].ing == c->ing)
                build_problem(&st->b, "Ingress", info->key,
                              "host \"%s\" path \"%s\" (%s) is listed twice; the first one is "
                              "used",
                              c->host, c->path, what);
            else
                build_problem(&st->b, "Ingress", st->ings[st->canaries[j].ing].key,
                              "host \"%s\" path \"%s\" (%s) already has a canary from Ingress "
                              "%s (older); this canary rule is ignored",
                              c->host, c->path, what, info->key);
        }
        if (!owner) {
            build_problem(&st->b, "Ingress", info->key,
                          "canary for host \"%s\" path \"%s\" (%s): no Ingress serves this "
                          "host and path; the canary rule is ignored",
                          c->host, c->path, what);
            i = j;
            continue;
        }
        const char *backend = resolve_json_backend(st, c->canary_ref, c->canary_ns, info);
        if (backend) { /* else reported: the main route serves everything */
            struct model_route *r = &m->routes[owner - st->winners];
            r->canary = info->canary_settings;
            r->canary.ingress = info->key;
            r->canary.backend = backend;
            r->canary.header = model_strdup(m, r->canary.header);
            r->canary.header_value = model_strdup(m, r->canary.header_value);
            r->canary.header_pattern = model_strdup(m, r->canary.header_pattern);
            r->canary.cookie = model_strdup(m, r->canary.cookie);
        }
        i = j;
    }
}

static void finish(struct routing_model *m)
{
    if (m->n_routes)
        qsort(m->routes, m->n_routes, sizeof(*m->routes), cmp_route);
    if (m->n_backends)
        qsort(m->backends, m->n_backends, sizeof(*m->backends), cmp_backend);
    if (m->n_defaults)
        qsort(m->defaults, m->n_defaults, sizeof(*m->defaults), cmp_default);
    if (m->n_ingresses)
        qsort(m->ingresses, m->n_ingresses, sizeof(*m->ingresses), cmp_str);
    if (m->n_problems) {
        qsort(m->problems, m->n_problems, sizeof(*m->problems), cmp_problem);
        size_t out = 1;
        for (size_t i = 1; i < m->n_problems; i++)
            if (cmp_problem(&m->problems[out - 1], &m->problems[i]) != 0)
                m->problems[out++] = m->problems[i];
        m->n_problems = out;
    }
}

static struct routing_model *build_from_index(const struct object_index *ix,
                                              const struct model_defaults *defaults,
                                              const char *class_name, const char *option)
{
    struct build_state st;
    memset(&st, 0, sizeof(st));
    st.b.m = model_xcalloc(1, sizeof(*st.b.m));
    st.b.ix = ix;
    build_strmap_init(&st.b.backends);
    if (defaults)
        st.defaults = *defaults;
    if (!class_name || !*class_name)
        class_name = INGRESS_CLASS_DEFAULT_NAME;

    const json_t *our_class = object_list_get(&ix->ingress_classes, NULL, class_name);
    if (our_class && !ingress_class_is_ours(our_class)) {
        char q[MODEL_QUOTE_SIZE];
        build_problem(&st.b, "IngressClass", class_name,
                      "spec.controller is \"%s\", not " SPOKE_CONTROLLER_NAME
                      ": no Ingress of this class is served",
                      model_quote(json_path_str(our_class, "spec.controller"), q));
    }
    size_t seq = 0;
    for (size_t i = 0; i < ix->ingresses.n; i++) {
        const json_t *ing = ix->ingresses.items[i].obj;
        if (ingress_class_select(ing, class_name, our_class) != INGRESS_CLASS_NOT_OURS)
            collect_ingress(&st, ing, &seq);
    }
    tls_resolve(&st.b, &st.tls);
    pick_winners(&st);
    pick_implicit(&st);
    pick_default_route(&st, option);
    make_routes(&st);
    attach_canaries(&st);
    finish(st.b.m);

    free(st.ings);
    free(st.cands);
    free(st.implicit);
    free(st.winners);
    free(st.canaries);
    build_strmap_free(&st.b.backends);
    return st.b.m;
}

struct routing_model *model_build_objects(const struct model_objects *in)
{
    return model_build_objects_with(in, NULL);
}

struct routing_model *model_build_objects_with(const struct model_objects *in,
                                               const struct model_defaults *defaults)
{
    struct object_index ix;
    object_index_build(&ix, in->ingress_classes, in->ingresses, in->services, in->endpoint_slices,
                       in->secrets);
    struct routing_model *m = build_from_index(&ix, defaults, in->class_name, in->default_backend);
    object_index_free(&ix);
    return m;
}

static int append_obj(void *ud, json_t *obj)
{
    json_array_append(ud, obj);
    return 0;
}

static json_t *store_array(const struct store *s)
{
    json_t *arr = json_array();
    if (!arr)
        abort();
    if (s)
        store_foreach(s, append_obj, arr);
    return arr;
}

struct routing_model *model_build(const struct model_input *in)
{
    return model_build_with(in, NULL);
}

struct routing_model *model_build_with(const struct model_input *in,
                                       const struct model_defaults *defaults)
{
    struct model_objects objs = {
        store_array(in->ingress_classes),
        store_array(in->ingresses),
        store_array(in->services),
        store_array(in->endpoint_slices),
        store_array(in->secrets),
        in->class_name,
        in->default_backend,
    };
    struct routing_model *m = model_build_objects_with(&objs, defaults);
    json_decref(objs.ingress_classes);
    json_decref(objs.ingresses);
    json_decref(objs.services);
    json_decref(objs.endpoint_slices);
    json_decref(objs.secrets);
    return m;
}
