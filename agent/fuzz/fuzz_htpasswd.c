/*
 * fuzz_htpasswd.c - libFuzzer target for the htpasswd parser.
 *
 * The input's first line is "user:password", the rest an htpasswd file
 * (seeds in agent/fuzz/corpus/fuzz_htpasswd/). The file is parsed; a failure
 * must come with an error naming a line (or the size limit). When it parses
 * and holds only cheap hashes (md5-crypt, apr1, {SHA}), the user and
 * password are checked too; bcrypt and sha-crypt are left out so that their
 * deliberate cost does not slow the fuzzer to a crawl.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/htpasswd.h"

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static int has(const char *s, size_t n, const char *what)
{
    return memmem(s, n, what, strlen(what)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    const char *file = nl ? nl + 1 : in + size;
    size_t flen = size - (size_t)(file - in);
    char err[256] = "";
    struct htpasswd *t = htpasswd_parse(file, flen, err, sizeof(err));
    if (!t) {
        MUST(strncmp(err, "line ", 5) == 0 || strstr(err, "larger than") ||
             strcmp(err, "out of memory") == 0);
        return 0;
    }
    MUST(htpasswd_count(t) <= HTPASSWD_MAX_USERS);
    if (nl && !has(file, flen, "$2") && !has(file, flen, "$5$") && !has(file, flen, "$6$")) {
        const char *colon = memchr(in, ':', (size_t)(nl - in));
        size_t ulen = colon ? (size_t)(colon - in) : (size_t)(nl - in);
        const char *pw = colon ? colon + 1 : nl;
        size_t pwlen = (size_t)(nl - pw);
        int scheme = htpasswd_user_scheme(t, in, ulen);
        MUST(scheme >= -1 && scheme <= HTPASSWD_SHA1);
        int ok = htpasswd_verify(t, in, ulen, pw, pwlen);
        if (scheme == -1)
            MUST(!ok);
    }
    htpasswd_free(t);
    return 0;
}
