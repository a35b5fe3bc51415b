/*
 * jwa.h - the JSON Web Algorithms (RFC 7518) that spoke verifies, and what
 * each needs: key family, digest, signature shape.
 *
 * "none" is deliberately absent: there is no way to name it here, so no
 * code path can accept an unsigned token.
 */
#ifndef SPOKE_AUTH_JWA_H
#define SPOKE_AUTH_JWA_H

#include <stddef.h>

enum jwt_alg {
    JWT_ALG_RS256,
    JWT_ALG_RS384,
    JWT_ALG_RS512,
    JWT_ALG_PS256,
    JWT_ALG_PS384,
    JWT_ALG_PS512,
    JWT_ALG_ES256,
    JWT_ALG_ES384,
    JWT_ALG_HS256,
    JWT_ALG_HS384,
    JWT_ALG_HS512,
    JWT_ALG_COUNT
};

enum jwa_family { JWA_RSA_PKCS1, JWA_RSA_PSS, JWA_ECDSA, JWA_HMAC };

#define JWT_ALG_BIT(a) (1u << (a))
#define JWT_ALGS_RSA                                                                               \
    (JWT_ALG_BIT(JWT_ALG_RS256) | JWT_ALG_BIT(JWT_ALG_RS384) | JWT_ALG_BIT(JWT_ALG_RS512) |        \
     JWT_ALG_BIT(JWT_ALG_PS256) | JWT_ALG_BIT(JWT_ALG_PS384) | JWT_ALG_BIT(JWT_ALG_PS512))
#define JWT_ALGS_HMAC                                                                              \
    (JWT_ALG_BIT(JWT_ALG_HS256) | JWT_ALG_BIT(JWT_ALG_HS384) | JWT_ALG_BIT(JWT_ALG_HS512))
#define JWT_ALGS_ALL ((1u << JWT_ALG_COUNT) - 1)

/* "RS256" -> JWT_ALG_RS256 (exact, case-sensitive); -1 when unknown. */
int jwa_from_name(const char *name, enum jwt_alg *out);
const char *jwa_name(enum jwt_alg alg);
enum jwa_family jwa_family(enum jwt_alg alg);
/* OpenSSL digest name: "SHA256", "SHA384" or "SHA512". */
const char *jwa_digest(enum jwt_alg alg);
/* Digest size in bytes (32, 48, 64): the HMAC tag size and minimum key. */
size_t jwa_digest_len(enum jwt_alg alg);
/* Bytes of one ECDSA coordinate (32 for ES256, 48 for ES384); 0 otherwise. */
size_t jwa_ec_coord_len(enum jwt_alg alg);

/* Parses a comma-separated list of names ("RS256, ES256") into a mask of
 * JWT_ALG_BIT()s. Returns 0, or -1 naming the bad entry in err. */
int jwa_parse_list(const char *list, unsigned *mask, char *err, size_t errlen);

#endif
