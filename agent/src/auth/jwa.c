/*
 * jwa.c - see jwa.h. One const table.
 */
#include "auth/jwa.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    enum jwa_family family;
    const char *digest;
    size_t digest_len;
} algs[JWT_ALG_COUNT] = {
    [JWT_ALG_RS256] = {"RS256", JWA_RSA_PKCS1, "SHA256", 32},
    [JWT_ALG_RS384] = {"RS384", JWA_RSA_PKCS1, "SHA384", 48},
    [JWT_ALG_RS512] = {"RS512", JWA_RSA_PKCS1, "SHA512", 64},
    [JWT_ALG_PS256] = {"PS256", JWA_RSA_PSS, "SHA256", 32},
    [JWT_ALG_PS384] = {"PS384", JWA_RSA_PSS, "SHA384", 48},
    [JWT_ALG_PS512] = {"PS512", JWA_RSA_PSS, "SHA512", 64},
    [JWT_ALG_ES256] = {"ES256", JWA_ECDSA, "SHA256", 32},
    [JWT_ALG_ES384] = {"ES384", JWA_ECDSA, "SHA384", 48},
    [JWT_ALG_HS256] = {"HS256", JWA_HMAC, "SHA256", 32},
    [JWT_ALG_HS384] = {"HS384", JWA_HMAC, "SHA384", 48},
    [JWT_ALG_HS512] = {"HS512", JWA_HMAC, "SHA512", 64},
};

int jwa_from_name(const char *name, enum jwt_alg *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < JWT_ALG_COUNT; i++) {
        if (strcmp(name, algs[i].name) == 0) {
            *out = (enum jwt_alg)i;
            return 0;
        }
    }
    return -1;
}

const char *jwa_name(enum jwt_alg alg)
{
    return (unsigned)alg < JWT_ALG_COUNT ? algs[alg].name : "?";
}

enum jwa_family jwa_family(enum jwt_alg alg)
{
    return algs[alg].family;
}

const char *jwa_digest(enum jwt_alg alg)
{
    return algs[alg].digest;
}

size_t jwa_digest_len(enum jwt_alg alg)
{
    return algs[alg].digest_len;
}

size_t jwa_ec_coord_len(enum jwt_alg alg)
{
    return alg == JWT_ALG_ES256 ? 32 : alg == JWT_ALG_ES384 ? 48 : 0;
}

int jwa_parse_list(const char *list, unsigned *mask, char *err, size_t errlen)
{
    unsigned m = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > 0) {
            char name[8];
            enum jwt_alg a;
            if (n >= sizeof(name)) {
                snprintf(err, errlen, "unsupported JWT algorithm \"%.*s\"", n > 32 ? 32 : (int)n,
                         s);
                return -1;
            }
            memcpy(name, s, n);
            name[n] = '\0';
            if (jwa_from_name(name, &a) != 0) {
                snprintf(err, errlen, "unsupported JWT algorithm \"%s\"", name);
                return -1;
            }
            m |= JWT_ALG_BIT(a);
        }
        p = end ? end + 1 : p + strlen(p);
    }
    if (m == 0) {
        snprintf(err, errlen, "empty JWT algorithm list");
        return -1;
    }
    *mask = m;
    return 0;
}
