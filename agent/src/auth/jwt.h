/*
 * jwt.h - verifying a JWT (RFC 7519) in JWS compact form against a key set,
 * and reading chosen claims of a verified token.
 *
 *   struct jwt_options o = {.now = time(NULL), .leeway = 30, .issuer = "https://idp"};
 *   struct jwt_claims *c = NULL;
 *   enum jwt_reason r = jwt_verify(tok, len, keys, &o, &c);
 *   if (r == JWT_OK) jwt_claims_get(c, "sub", buf, sizeof(buf)); ...
 *   jwt_claims_free(c);
 *
 * The order of checks: size, shape (three base64url parts, canonical, no
 * padding), header JSON (an object, no duplicate names), "alg" ("none" in
 * any spelling is always refused; it must be one of jwa.h and in the
 * caller's allow-list), "crit" (refused: no extension is understood), key
 * choice ("kid", when present, must equal the kid of a key that has one;
 * keys without a kid, as from PEM, fit any token; and the key's own
 * algorithm list must contain "alg", so an RSA or EC key is never used as
 * an HMAC secret),
 * signature, then payload JSON and claims: exp/nbf with leeway against the
 * caller's clock (nothing here reads the time), iss exactly, aud as a string
 * or any element of an array. Header fields that point at keys (jwk, jku,
 * x5u, x5c) are ignored: only the configured set is trusted.
 *
 * Pure and reentrant: a key set may serve many threads at once.
 */
#ifndef SPOKE_AUTH_JWT_H
#define SPOKE_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/jwks.h"

#define JWT_MAX_TOKEN  (16 * 1024)
#define JWT_MAX_LEEWAY (24 * 3600)

enum jwt_reason {
    JWT_OK,
    JWT_ERR_TOO_LARGE,       /* longer than JWT_MAX_TOKEN */
    JWT_ERR_MALFORMED,       /* not three canonical base64url parts */
    JWT_ERR_BAD_HEADER,      /* header not a JSON object, or odd member types */
    JWT_ERR_ALG_NONE,        /* "alg": "none" */
    JWT_ERR_ALG_UNSUPPORTED, /* an algorithm not in jwa.h */
    JWT_ERR_ALG_NOT_ALLOWED, /* supported, but not in the caller's allow-list */
    JWT_ERR_CRIT,            /* a "crit" header: extensions are not understood */
    JWT_ERR_NO_KEY,          /* no key with this kid that verifies this alg */
    JWT_ERR_BAD_SIGNATURE,
    JWT_ERR_BAD_PAYLOAD, /* payload not a JSON object */
    JWT_ERR_BAD_CLAIM,   /* exp/nbf/iss/aud of the wrong JSON type */
    JWT_ERR_NO_EXP,      /* exp required but absent */
    JWT_ERR_EXPIRED,
    JWT_ERR_NOT_YET_VALID,
    JWT_ERR_ISSUER,
    JWT_ERR_AUDIENCE,
    JWT_ERR_INTERNAL, /* out of memory, OpenSSL failure */
};

struct jwt_options {
    int64_t now;                  /* seconds since the epoch, from the caller */
    int64_t leeway;               /* seconds of clock skew forgiven on exp/nbf, 0..JWT_MAX_LEEWAY */
    const char *issuer;           /* exact "iss"; NULL: not checked */
    const char *const *audiences; /* any one must be in "aud"; */
    size_t n_audiences;           /* 0: "aud" not checked */
    unsigned alg_mask;            /* JWT_ALG_BIT()s allowed; 0: all of jwa.h */
    bool require_exp;             /* refuse tokens without "exp" */
};

struct jwt_claims;

/* Verifies token (len bytes, no NUL needed) against keys. On JWT_OK and a
 * non-NULL claims, *claims holds the payload (free with jwt_claims_free);
 * otherwise *claims is NULL. */
enum jwt_reason jwt_verify(const char *token, size_t len, const struct jwk_set *keys,
                           const struct jwt_options *opt, struct jwt_claims **claims);

/* A short lowercase phrase for logs ("expired", "bad signature", ...). */
const char *jwt_reason_str(enum jwt_reason r);

enum jwt_claim_status {
    JWT_CLAIM_OK,
    JWT_CLAIM_MISSING,     /* absent or null */
    JWT_CLAIM_UNPRINTABLE, /* would contain a byte outside 0x20..0x7e */
    JWT_CLAIM_TOO_LONG,    /* does not fit buf */
};

/* Writes claim name of c into buf as header-safe text, NUL-terminated:
 * strings as they are, numbers and booleans as JSON spells them, arrays of
 * scalars joined by ",", objects and nested arrays as compact JSON. name is
 * a top-level member, or when there is none by that name, a dotted path
 * ("realm_access.roles"). Only printable ASCII ever comes out: no CR/LF. */
enum jwt_claim_status jwt_claims_get(const struct jwt_claims *c, const char *name, char *buf,
                                     size_t buflen);

void jwt_claims_free(struct jwt_claims *c);

#endif
