/*
 * fuzz_yaml_json.c - libFuzzer target for yaml_to_json().
 *
 * Besides "no crash, no leak, no sanitizer report", it checks two
 * invariants: a failure always comes with an error message, and a success
 * printed as JSON parses back (JSON being YAML) to an equal value - which
 * catches scalars whose type the resolver gets wrong. The round trip is
 * skipped for output libyaml cannot take back for reasons that are not bugs
 * here: escaped surrogate pairs, raw DEL, and keys beyond YAML's 1024-char
 * limit on implicit keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/yaml_json.h"

static int keys_short(const json_t *v)
{
    json_t *e;
    if (json_is_object(v)) {
        const char *k;
        json_object_foreach((json_t *)v, k, e)
        {
            if (strlen(k) > 150 || !keys_short(e))
                return 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, e)
        {
            if (!keys_short(e))
                return 0;
        }
    }
    return 1;
}

/* "\\uD800".."\\uDBFF" in either case (jansson prints upper case). */
static int has_surrogate_escape(const char *s)
{
    for (const char *p = strstr(s, "\\u"); p; p = strstr(p + 2, "\\u"))
        if ((p[2] == 'd' || p[2] == 'D') && p[3] && strchr("89abAB", p[3]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *v = yaml_to_json((const char *)data, size, err, sizeof(err));
    if (!v) {
        if (err[0] == '\0')
            abort(); /* every failure must say why */
        return 0;
    }
    char *out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (out && !strchr(out, 0x7f) && !has_surrogate_escape(out) && keys_short(v)) {
        json_t *again = yaml_to_json(out, strlen(out), err, sizeof(err));
        if (!again || !json_equal(v, again))
            abort(); /* the JSON we printed does not read back the same */
        json_decref(again);
    }
    free(out);
    json_decref(v);
    return 0;
}
