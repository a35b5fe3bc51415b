/* params_sync.c - see params_sync.h. */
#include "params_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/params_status.h"
#include "model/objects.h"
#include "model/params_ref.h"
#include "util/log.h"
#include "util/strbuf.h"

#define PROBLEMS_TEXT_MAX 4000

struct params_sync {
    struct reconciler *rec;
    struct params_status *status;
    char own_ns[256];
    char *flag_default_cert;
    unsigned flag_pool_size, running_workers;
    struct store *store; /* IngressParameters, for status writes */
    bool write_status;

    char key[600]; /* "ns/name" of the object followed; "" = none */
    char ref_problem[256];
    bool requested; /* reconciler_set_params called for key */
    long long req_gen;
    struct ingress_params req;
    char *req_problems;

    bool have_result; /* how req_gen (or an earlier one) was applied */
    long long res_gen;
    enum reconciler_params_method res_method;
    char *res_problems;
    char res_detail[600];
    char res_time[32];

    struct ingress_params current;
};

struct params_sync *params_sync_new(struct reconciler *rec, struct kube_http *http,
                                    const char *flag_default_cert, unsigned flag_pool_size,
                                    unsigned running_workers)
{
    struct params_sync *ps = calloc(1, sizeof(*ps));
    if (!ps)
        abort();
    ps->rec = rec;
    ps->status = params_status_new(http);
    ps->flag_default_cert = flag_default_cert ? strdup(flag_default_cert) : NULL;
    ps->flag_pool_size = flag_pool_size;
    ps->running_workers = running_workers;
    ps->current = *reconciler_params(rec);
    return ps;
}

void params_sync_free(struct params_sync *ps)
{
    if (!ps)
        return;
    params_status_free(ps->status);
    free(ps->flag_default_cert);
    free(ps->req_problems);
    free(ps->res_problems);
    free(ps);
}

const char *params_sync_object(const struct params_sync *ps)
{
    return ps->key;
}

void params_sync_set_namespace(struct params_sync *ps, const char *ns)
{
    snprintf(ps->own_ns, sizeof(ps->own_ns), "%s", ns ? ns : "");
}

static void collect(void *ud, const char *field, const char *message)
{
    struct strbuf *b = ud;
    if (b->len > PROBLEMS_TEXT_MAX)
        return;
    strbuf_printf(b, "%s%s: %s", b->len ? "; " : "", field, message);
}

static const char *method_name(enum reconciler_params_method m)
{
    switch (m) {
    case RECONCILER_PARAMS_RUNTIME:
        return "RuntimeAPI";
    case RECONCILER_PARAMS_RELOAD:
        return "Reload";
    case RECONCILER_PARAMS_NONE:
        return "None";
    case RECONCILER_PARAMS_PENDING:
        return "ReloadPending";
    case RECONCILER_PARAMS_FAILED:
        return "Rejected";
    }
    return "None";
}

static void write_status(struct params_sync *ps)
{
    if (!ps->write_status || !ps->have_result || !ps->key[0] || !ps->store)
        return;
    const char *slash = strchr(ps->key, '/');
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - ps->key), ps->key);
    json_t *obj = store_get(ps->store, ns, slash + 1);
    if (!obj)
        return;
    bool applied = ps->res_method == RECONCILER_PARAMS_RUNTIME ||
                   ps->res_method == RECONCILER_PARAMS_RELOAD ||
                   ps->res_method == RECONCILER_PARAMS_NONE;
    struct params_status_report rep = {
        .generation = ps->res_gen,
        .problems = ps->res_problems ? ps->res_problems : "",
        .applied = applied,
        .applied_reason = method_name(ps->res_method),
        .applied_message = ps->res_detail,
        .method = applied ? method_name(ps->res_method) : NULL,
        .time = ps->res_time,
    };
    params_status_write(ps->status, obj, &rep);
}

static void on_applied(void *ud, long long tag, enum reconciler_params_method m, const char *detail)
{
    struct params_sync *ps = ud;
    if (!ps->requested || tag != ps->req_gen)
        return; /* an older request; the newer one reports */
    ps->have_result = true;
    ps->res_gen = tag;
    ps->res_method = m;
    free(ps->res_problems);
    ps->res_problems = strdup(ps->req_problems ? ps->req_problems : "");
    snprintf(ps->res_detail, sizeof(ps->res_detail), "%s", detail ? detail : "");
    if (ps->req.spoe.workers && ps->req.spoe.workers != ps->running_workers)
        snprintf(ps->res_detail + strlen(ps->res_detail),
                 sizeof(ps->res_detail) - strlen(ps->res_detail),
                 "%sspoe.workers %u takes effect when the agent restarts (%u now)",
                 ps->res_detail[0] ? "; " : "", ps->req.spoe.workers, ps->running_workers);
    params_status_time((long)time(NULL), ps->res_time, sizeof(ps->res_time));
    log_info("params", "IngressParameters %s generation %lld: %s%s%s", ps->key[0] ? ps->key : "-",
             tag, method_name(m), ps->res_detail[0] ? ": " : "", ps->res_detail);
    write_status(ps);
}

const struct ingress_params *params_sync_update(struct params_sync *ps, struct store *classes,
                                                struct store *params, const char *class_name,
                                                bool write)
{
    json_t *obj;
    char key[600], problem[256];
    enum params_ref_result res = params_ref_find(classes, params, class_name, ps->own_ns, &obj, key,
                                                 sizeof(key), problem, sizeof(problem));
    ps->store = params;
    ps->write_status = write;
    if (strcmp(problem, ps->ref_problem) != 0) {
        if (problem[0])
            log_warn("params", "IngressClass %s: %s; the default parameters apply", class_name,
                     problem);
        snprintf(ps->ref_problem, sizeof(ps->ref_problem), "%s", problem);
    }
    if (strcmp(key, ps->key) != 0) {
        if (res == PARAMS_REF_MISSING)
            log_warn("params", "IngressParameters %s does not exist; the default parameters apply",
                     key);
        else if (res == PARAMS_REF_FOUND)
            log_info("params", "following IngressParameters %s", key);
        snprintf(ps->key, sizeof(ps->key), "%s", key);
        ps->requested = ps->have_result = false;
    }
    const json_t *spec = res == PARAMS_REF_FOUND ? json_object_get(obj, "spec") : NULL;
    const json_t *gen = json_path(obj, "metadata.generation");
    long long generation = json_is_integer(gen) ? json_integer_value(gen) : 0;
    const char *slash = strchr(key, '/');
    char ns[256];
    snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - key) : 0, key);

    struct strbuf problems = STRBUF_INIT;
    struct ingress_params p;
    params_parse(spec, ns, reconciler_params(ps->rec), &p, collect, &problems);
    const char *ptext = problems.data ? problems.data : "";
    if (!ps->requested || generation != ps->req_gen || !params_equal(&p, &ps->req) ||
        strcmp(ptext, ps->req_problems ? ps->req_problems : "") != 0) {
        if (ptext[0])
            log_warn("params", "IngressParameters %s: %s; those fields keep their running value",
                     key, ptext);
        ps->requested = true;
        ps->req_gen = generation;
        ps->req = p;
        free(ps->req_problems);
        ps->req_problems = strdup(ptext);
        reconciler_set_params(ps->rec, &p, generation, on_applied, ps);
    }
    strbuf_free(&problems);
    ps->current = p;
    reconciler_set_default_cert(ps->rec, p.default_cert[0] ? ps->current.default_cert
                                                           : ps->flag_default_cert);
    reconciler_set_pool_size(ps->rec, p.pool_size ? p.pool_size : ps->flag_pool_size);
    write_status(ps);
    return &ps->current;
}
