/*
 * fuzz_ext_auth_conf.c - libFuzzer target for the parsers of external auth
 * and claims-to-headers annotations (spoe/ext_auth_conf.h,
 * spoe/auth_headers.h) and of the auth service's answer header lines.
 *
 * The input is split on NUL bytes into up to eight fields: auth-url,
 * auth-method, auth-request-headers, auth-response-headers, auth-cache-ttl,
 * auth-timeout, auth-jwt-claims-to-headers, and a header line (seeds in
 * agent/fuzz/corpus/fuzz_ext_auth_conf/). Whatever parses must respect the
 * documented bounds; every error message must be printable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/auth_headers.h"
#include "spoe/ext_auth_conf.h"

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void printable(const char *s)
{
    for (; *s; s++)
        MUST(*s >= 0x20 && *s < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *field[8] = {0};
    size_t lens[8] = {0};
    const char *p = buf, *end = buf + size;
    for (int i = 0; i < 8 && p <= end; i++) {
        field[i] = p;
        lens[i] = strlen(p);
        p += lens[i] + 1;
    }
    char err[512];
    struct ext_auth_annotations in = {field[0], field[1], field[2], field[3], field[4], field[5]};
    struct ext_auth_conf conf;
    err[0] = '\0';
    if (in.url && ext_auth_conf_parse(&in, &conf, err, sizeof(err)) == 0) {
        MUST(strncmp(conf.url, "http://", 7) == 0 || strncmp(conf.url, "https://", 8) == 0);
        MUST(!strpbrk(conf.url, " \r\n#"));
        MUST(conf.n_request <= AUTH_HEADER_LIST_MAX && conf.n_response <= AUTH_HEADER_LIST_MAX);
        for (size_t i = 0; i < conf.n_request; i++)
            MUST(auth_header_name_ok(conf.request[i], strlen(conf.request[i])));
        for (size_t i = 0; i < conf.n_response; i++)
            MUST(conf.response[i] >= 0 && (size_t)conf.response[i] < auth_header_nslots);
        MUST(conf.cache_ttl <= EXT_AUTH_MAX_CACHE_TTL);
        MUST(conf.timeout_ms >= 1 && conf.timeout_ms <= EXT_AUTH_MAX_TIMEOUT_MS);
    } else {
        printable(err);
    }
    if (field[6]) {
        struct auth_claim_map m;
        err[0] = '\0';
        if (auth_claim_map_parse(field[6], &m, err, sizeof(err)) == 0) {
            MUST(m.n >= 1 && m.n <= AUTH_HEADER_LIST_MAX);
            for (size_t i = 0; i < m.n; i++) {
                MUST(strlen(m.claim[i]) >= 1 && strlen(m.claim[i]) <= AUTH_CLAIM_NAME_MAX);
                MUST(m.slot[i] >= 0 && (size_t)m.slot[i] < auth_header_nslots);
            }
        } else {
            printable(err);
        }
    }
    if (field[7]) {
        const char *v;
        size_t vl;
        for (size_t i = 0; i < auth_header_nslots; i++)
            if (auth_header_line_match(field[7], lens[7], auth_header_slots[i].name, &v, &vl))
                MUST(v >= field[7] && v + vl <= field[7] + lens[7]);
    }
    free(buf);
    return 0;
}
