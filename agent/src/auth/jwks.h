/*
 * jwks.h - verification keys for JWTs as an immutable key set: from a JWKS
 * document (RFC 7517), from PEM public keys or certificates, or from one
 * shared HMAC secret.
 *
 * Each key carries the algorithms it may verify, fixed at parse time by its
 * type (RSA: RS* and PS*; EC P-256: ES256; EC P-384: ES384; oct: HS* whose
 * digest is no longer than the key, RFC 7518 section 3.2) and narrowed by a
 * JWK's "alg". PEM input only ever yields public keys, so a token can never
 * get a public key's bytes used as an HMAC secret. RSA keys must have 2048
 * to 16384 bits; HMAC secrets at least 32 bytes.
 *
 * A JWKS member that is not for signatures ("use" other than "sig",
 * "key_ops" without "verify") or of a type spoke does not verify (OKP,
 * P-521, an "alg" like RSA-OAEP) is skipped; a malformed key of a supported
 * type fails the whole set, as does a set with no usable key.
 *
 * Sets are never modified after parsing; OpenSSL 3 EVP_PKEYs may be used for
 * verification from many threads at once, so SPOE workers share one set.
 */
#ifndef SPOKE_AUTH_JWKS_H
#define SPOKE_AUTH_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "auth/jwa.h"

#define JWKS_MAX_INPUT  (1024 * 1024)
#define JWKS_MAX_KEYS   64
#define JWKS_MAX_KID    256
#define JWKS_MIN_HMAC   32
#define JWKS_MAX_SECRET 4096

enum jwk_type { JWK_RSA, JWK_EC_P256, JWK_EC_P384, JWK_OCT };

/* One key, read-only once in a set. */
struct jwk {
    enum jwk_type type;
    char *kid;             /* NULL when the key has none */
    unsigned alg_mask;     /* JWT_ALG_BIT()s this key verifies */
    EVP_PKEY *pkey;        /* RSA and EC keys */
    unsigned char *secret; /* oct keys */
    size_t secret_len;
};

struct jwk_set;

/* {"keys":[...]} or a single JWK object. NULL with a reason in err. */
struct jwk_set *jwks_parse_json(const char *json, size_t len, char *err, size_t errlen);
/* One or more PEM blocks: PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE (its
 * public key). Private keys are refused. */
struct jwk_set *jwks_parse_pem(const char *pem, size_t len, char *err, size_t errlen);
/* JSON when the first non-blank byte is '{', PEM otherwise. */
struct jwk_set *jwks_parse(const char *data, size_t len, char *err, size_t errlen);
/* One kid-less oct key from a shared secret (raw bytes). */
struct jwk_set *jwks_from_hmac_secret(const unsigned char *secret, size_t len, char *err,
                                      size_t errlen);

size_t jwks_count(const struct jwk_set *set);
const struct jwk *jwks_key(const struct jwk_set *set, size_t i);
void jwks_free(struct jwk_set *set);

#endif
