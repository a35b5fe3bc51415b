/*
 * fuzz_canary.c - libFuzzer target for the canary's untrusted inputs: the
 * first byte picks what the rest is.
 *   even: HAProxy's binary header list (req.hdrs_bin), decided on by
 *         canary_choose for routes with header/value/pattern/cookie rules;
 *         the answer must be main or canary, and nothing is read out of
 *         bounds (ASan).
 *   odd:  a canary-by-header-pattern annotation value, checked by
 *         canary_check_pattern; a pattern it accepts must compile.
 * Seeds in agent/fuzz/corpus/fuzz_canary/.
 */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/canary.h"
#include "model/model.h"
#include "spoe/canary_decide.h"

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static struct canary_set *set;
static struct model_route routes[3];

static void init(void)
{
    struct routing_model m = {.routes = routes, .n_routes = 3};
    for (int i = 0; i < 3; i++) {
        snprintf(routes[i].id, sizeof(routes[i].id), "r%016x", i + 1);
        routes[i].host = "";
        routes[i].path = "/";
        routes[i].canary = (struct model_canary){.ingress = "ns/c",
                                                 .backend = "b",
                                                 .weight = 50,
                                                 .total = 100,
                                                 .header = "X-Canary",
                                                 .cookie = "canary"};
    }
    routes[1].canary.header_value = "yes please";
    routes[2].canary.header_pattern = "^(v[0-9]+|beta)(-[a-z]+)*$";
    set = canary_set_build(&m);
    MUST(canary_set_count(set) == 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set)
        init();
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        for (int i = 0; i < 3; i++) {
            enum canary_choice c = canary_choose(set, routes[i].id, strlen(routes[i].id), data + 1,
                                                 size - 1, (uint64_t)size * 7919u);
            MUST(c == CANARY_MAIN || c == CANARY_TAKE);
        }
        return 0;
    }
    if (size - 1 > 400)
        return 0;
    char pattern[402];
    memcpy(pattern, data + 1, size - 1);
    pattern[size - 1] = '\0';
    if (canary_check_pattern(pattern) == NULL) {
        regex_t re;
        MUST(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0);
        regexec(&re, "v1-rc", 0, NULL, 0);
        regfree(&re);
    }
    return 0;
}
