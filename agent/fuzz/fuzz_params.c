/*
 * fuzz_params.c - libFuzzer target for params_parse() on JSON text (an
 * IngressParameters spec as the API server would send it, schema or not).
 *
 * Besides "no crash, no leak, no sanitizer report", it checks what the
 * agent relies on: every problem names a field under "spec"; the parsed
 * parameters survive the round trip through params_to_spec() unchanged and
 * without problems (the state directory stores them that way); and the
 * haproxy.cfg text they render has no control byte and no line that does
 * not start with four blanks or '#' (a value can never start a new
 * directive or section).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy/params_render.h"
#include "model/params.h"

static void check_problem(void *ud, const char *field, const char *message)
{
    (void)ud;
    if (strncmp(field, "spec", 4) != 0 || !message[0])
        abort();
}

static void check_rendered(const struct ingress_params *p)
{
    static const char *const names[] = {
        "GLOBAL_PARAMS",      "LOG_LEVEL",         "TLS_MIN_VERSION",        "TIMEOUT_CONNECT",
        "TIMEOUT_CLIENT",     "TIMEOUT_SERVER",    "TIMEOUT_HTTP_REQUEST",   "TIMEOUT_KEEP_ALIVE",
        "ACCESS_LOG",         "BIND_OPTIONS",      "FRONTEND_PARAMS",        "SPOE_FAIL_OPEN",
        "SPOE_TIMEOUT_HELLO", "SPOE_TIMEOUT_IDLE", "SPOE_TIMEOUT_PROCESSING"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct strbuf b = STRBUF_INIT;
        if (params_render_placeholder(&b, names[i], strlen(names[i]), p) < 0)
            abort();
        for (size_t j = 0; j < b.len; j++) {
            unsigned char c = (unsigned char)b.data[j];
            if ((c < 0x20 && c != '\n') || c > 0x7e)
                abort();
            if (c == '\n' && j + 1 < b.len && strncmp(b.data + j + 1, "    ", 4) != 0)
                abort();
        }
        /* Whole-line placeholders start their lines with four blanks. */
        if (b.len && b.data[b.len - 1] == '\n' && strncmp(b.data, "    ", 4) != 0)
            abort();
        strbuf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *spec = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &e);
    if (!spec)
        return 0;
    struct ingress_params p, again;
    params_parse(spec, "fuzz", NULL, &p, check_problem, NULL);
    json_decref(spec);
    json_t *out = params_to_spec(&p);
    if (params_parse(out, "fuzz", NULL, &again, check_problem, NULL) != 0 ||
        !params_equal(&p, &again))
        abort();
    json_decref(out);
    check_rendered(&p);
    return 0;
}
