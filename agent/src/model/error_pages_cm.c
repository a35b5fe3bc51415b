/* error_pages_cm.c - see error_pages_cm.h. */
#include "model/error_pages_cm.h"
#include "util/printable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key "400".."599" as a number; -1 otherwise. */
static int status_key(const char *key)
{
    if (strlen(key) != 3)
        return -1;
    for (int i = 0; i < 3; i++)
        if (key[i] < '0' || key[i] > '9')
            return -1;
    return atoi(key);
}

int error_pages_from_configmap(const json_t *cm, struct error_pages *out,
                               error_pages_report_fn report, void *ud)
{
    memset(out, 0, sizeof(*out));
    const json_t *data = json_object_get(cm, "data");
    int n = 0;
    const char *key;
    json_t *v;
    char msg[256];
    json_object_foreach((json_t *)data, key, v)
    {
        int i = error_page_index(status_key(key));
        if (i < 0) {
            snprintf(msg, sizeof(msg),
                     "errorPages: key \"%.16s%s\" is not one of 400, 403, 404, "
                     "408, 429, 500, 502, 503, 504; ignored",
                     key, strlen(key) > 16 ? "..." : "");
            printable_sanitize(msg);
            report(ud, msg);
            continue;
        }
        const char *html = json_string_value(v);
        char why[128];
        if (!html) {
            snprintf(msg, sizeof(msg), "errorPages: %s is not a string; spoke's page is served",
                     key);
            report(ud, msg);
            continue;
        }
        if (error_page_check(html, json_string_length(v), why, sizeof(why)) < 0) {
            snprintf(msg, sizeof(msg), "errorPages: %s: %s; spoke's page is served", key, why);
            report(ud, msg);
            continue;
        }
        out->html[i] = html;
        n++;
    }
    return n;
}
