/* params_status.c - see params_status.h. */
#include "kube/params_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

struct params_status {
    struct kube_http *http;
    struct kube_req *inflight;
    char key[600];
    unsigned long patches;
};

void params_status_time(long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The condition of type in current's conditions, or NULL. */
static const json_t *find_condition(const json_t *current, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(current, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static json_t *condition(const json_t *current, const char *type, bool status, const char *reason,
                         const char *message, long long generation, const char *now)
{
    const char *st = status ? "True" : "False";
    const json_t *old = find_condition(current, type);
    const char *since = json_string_value(json_object_get(old, "lastTransitionTime"));
    const char *old_st = json_string_value(json_object_get(old, "status"));
    if (!since || !old_st || strcmp(old_st, st) != 0)
        since = now;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type, "status", st, "reason", reason,
                     "message", message, "lastTransitionTime", since, "observedGeneration",
                     (json_int_t)generation);
}

json_t *params_status_build(const json_t *current, const struct params_status_report *rep,
                            const char *now)
{
    bool accepted = !rep->problems || !rep->problems[0];
    json_t *conds = json_array();
    json_array_append_new(conds, condition(current, "Accepted", accepted,
                                           accepted ? "Valid" : "InvalidValues",
                                           accepted ? "every value is honoured" : rep->problems,
                                           rep->generation, now));
    json_array_append_new(conds, condition(current, "Applied", rep->applied, rep->applied_reason,
                                           rep->applied_message ? rep->applied_message : "",
                                           rep->generation, now));
    json_t *st = json_pack("{s:I, s:o}", "observedGeneration", (json_int_t)rep->generation,
                           "conditions", conds);
    if (rep->method)
        json_object_set_new(st, "lastApplied",
                            json_pack("{s:s, s:s}", "time", rep->time, "method", rep->method));
    else if (json_is_object(json_object_get(current, "lastApplied")))
        json_object_set(st, "lastApplied", json_object_get(current, "lastApplied"));
    return st;
}

struct params_status *params_status_new(struct kube_http *http)
{
    struct params_status *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->http = http;
    return s;
}

void params_status_free(struct params_status *s)
{
    if (!s)
        return;
    if (s->inflight)
        kube_req_cancel(s->inflight);
    free(s);
}

static void patch_done(void *ud, long status, const char *body, size_t len, const char *err)
{
    (void)len;
    struct params_status *s = ud;
    s->inflight = NULL;
    if (status >= 200 && status < 300)
        log_info("status", "IngressParameters %s: status updated", s->key);
    else
        log_warn("status", "IngressParameters %s: status update failed (%ld): %.200s", s->key,
                 status, err ? err : body);
}

void params_status_write(struct params_status *s, const json_t *obj,
                         const struct params_status_report *rep)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!ns || !name || s->inflight)
        return;
    char now[32];
    params_status_time((long)time(NULL), now, sizeof(now));
    const json_t *current = json_object_get(obj, "status");
    json_t *want = params_status_build(current, rep, now);
    if (json_equal(want, (json_t *)current)) {
        json_decref(want);
        return;
    }
    char path[1024];
    snprintf(path, sizeof(path),
             "/apis/spoke.dev/v1alpha1/namespaces/%s/ingressparameters/%s/status", ns, name);
    snprintf(s->key, sizeof(s->key), "%s/%s", ns, name);
    json_t *patch = json_pack("{s:o}", "status", want);
    char *body = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    s->inflight = kube_http_request(s->http, "PATCH", path, "application/merge-patch+json", body,
                                    30, patch_done, s);
    free(body);
    if (s->inflight)
        s->patches++;
}

unsigned long params_status_patches(const struct params_status *s)
{
    return s->patches;
}
