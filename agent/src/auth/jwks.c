/*
 * jwks.c - see jwks.h.
 *
 * JWK members become EVP_PKEYs through OSSL_PARAM_BLD + EVP_PKEY_fromdata
 * and are then checked with EVP_PKEY_public_check (an EC point must be on
 * its curve). PEM goes block by block through PEM_read_bio so that each
 * block's type can be told apart and named in errors. OpenSSL errors left on
 * this thread's queue are cleared before returning.
 */
#include "auth/jwks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/base64.h"

#define RSA_MIN_BITS  2048
#define RSA_MAX_BITS  16384
#define JWKS_MAX_SEEN 256 /* members looked at, usable or skipped */

struct jwk_set {
    size_t n;
    struct jwk keys[JWKS_MAX_KEYS];
};

/* s (n bytes) for an error message: printable ASCII, at most 64 bytes. */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 64 && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    dst[o] = '\0';
}

static unsigned hmac_mask(size_t len)
{
    unsigned m = 0;
    if (len >= 32)
        m |= JWT_ALG_BIT(JWT_ALG_HS256);
    if (len >= 48)
        m |= JWT_ALG_BIT(JWT_ALG_HS384);
    if (len >= 64)
        m |= JWT_ALG_BIT(JWT_ALG_HS512);
    return m;
}

/* Fills key's type and algorithms from pkey, which it takes. Returns 0, or
 * -1 with a reason in why. */
static int adopt_pkey(struct jwk *key, EVP_PKEY *pkey, const char **why)
{
    int rc = -1;
    EVP_PKEY_CTX *ctx = NULL;
    int id = EVP_PKEY_get_base_id(pkey);
    if (id == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            *why = "RSA key size outside 2048..16384 bits";
            goto out;
        }
        key->type = JWK_RSA;
        key->alg_mask = JWT_ALGS_RSA;
    } else if (id == EVP_PKEY_EC) {
        char group[64];
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &glen) != 1) {
            *why = "EC key without a named curve";
            goto out;
        }
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            key->type = JWK_EC_P256;
            key->alg_mask = JWT_ALG_BIT(JWT_ALG_ES256);
        } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            key->type = JWK_EC_P384;
            key->alg_mask = JWT_ALG_BIT(JWT_ALG_ES384);
        } else {
            *why = "unsupported EC curve (P-256 and P-384 are)";
            goto out;
        }
    } else {
        *why = "unsupported key type (RSA and EC are)";
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
        *why = "public key fails validation";
        goto out;
    }
    key->pkey = pkey;
    pkey = NULL;
    rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_pkey(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = pkey_fromdata("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *ec_pkey(const char *group, const unsigned char *point, size_t len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len))
        pkey = pkey_fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Decodes member name of k (a base64url string) into buf. Returns 0, or -1
 * when missing, not a string, not canonical base64url or too long. */
static int b64_member(const json_t *k, const char *name, unsigned char *buf, size_t cap,
                      size_t *len)
{
    const json_t *v = json_object_get(k, name);
    if (!json_is_string(v))
        return -1;
    return b64url_decode(json_string_value(v), json_string_length(v), buf, cap, len);
}

/* Fills key from JWK member k. Returns 0 (usable), 1 (skipped: not for
 * verifying signatures, or a kind spoke does not verify), or -1 with a
 * reason in why. */
static int parse_member(struct jwk *key, const json_t *k, const char **why)
{
    const json_t *v;
    if (!json_is_object(k)) {
        *why = "not a JSON object";
        return -1;
    }
    const char *kty = json_string_value(json_object_get(k, "kty"));
    if (!kty) {
        *why = "no \"kty\" string";
        return -1;
    }
    if ((v = json_object_get(k, "kid")) != NULL &&
        (!json_is_string(v) || json_string_length(v) > JWKS_MAX_KID)) {
        *why = "\"kid\" is not a string of at most 256 bytes";
        return -1;
    }
    if ((v = json_object_get(k, "use")) != NULL) {
        if (!json_is_string(v)) {
            *why = "\"use\" is not a string";
            return -1;
        }
        if (strcmp(json_string_value(v), "sig") != 0)
            return 1;
    }
    if ((v = json_object_get(k, "key_ops")) != NULL) {
        if (!json_is_array(v)) {
            *why = "\"key_ops\" is not an array";
            return -1;
        }
        int verify = 0;
        size_t i;
        const json_t *op;
        json_array_foreach(v, i, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
                verify = 1;
        }
        if (!verify)
            return 1;
    }
    int has_alg = 0;
    enum jwt_alg alg = JWT_ALG_RS256;
    if ((v = json_object_get(k, "alg")) != NULL) {
        if (!json_is_string(v)) {
            *why = "\"alg\" is not a string";
            return -1;
        }
        if (jwa_from_name(json_string_value(v), &alg) != 0)
            return 1; /* an algorithm spoke does not verify, e.g. RSA-OAEP */
        has_alg = 1;
    }

    if (strcmp(kty, "RSA") == 0) {
        unsigned char n[RSA_MAX_BITS / 8 + 1], e[8];
        size_t nlen = 0, elen = 0;
        if (b64_member(k, "n", n, sizeof(n), &nlen) != 0 ||
            b64_member(k, "e", e, sizeof(e), &elen) != 0 || nlen == 0 || elen == 0) {
            *why = "RSA key needs base64url \"n\" and \"e\"";
            return -1;
        }
        EVP_PKEY *pkey = rsa_pkey(n, nlen, e, elen);
        if (!pkey) {
            *why = "RSA key rejected by OpenSSL";
            return -1;
        }
        if (adopt_pkey(key, pkey, why) != 0)
            return -1;
    } else if (strcmp(kty, "EC") == 0) {
        const char *crv = json_string_value(json_object_get(k, "crv"));
        size_t clen;
        const char *group;
        if (!crv) {
            *why = "EC key without a \"crv\" string";
            return -1;
        }
        if (strcmp(crv, "P-256") == 0) {
            clen = 32;
            group = "P-256";
        } else if (strcmp(crv, "P-384") == 0) {
            clen = 48;
            group = "P-384";
        } else {
            return 1; /* P-521, secp256k1, ... */
        }
        unsigned char point[1 + 2 * 48];
        size_t xl = 0, yl = 0;
        point[0] = 0x04; /* uncompressed */
        if (b64_member(k, "x", point + 1, clen, &xl) != 0 ||
            b64_member(k, "y", point + 1 + clen, clen, &yl) != 0 || xl != clen || yl != clen) {
            *why = "EC key needs base64url \"x\" and \"y\" of the curve's size";
            return -1;
        }
        EVP_PKEY *pkey = ec_pkey(group, point, 1 + 2 * clen);
        if (!pkey) {
            *why = "EC key rejected by OpenSSL (point not on the curve?)";
            return -1;
        }
        if (adopt_pkey(key, pkey, why) != 0)
            return -1;
    } else if (strcmp(kty, "oct") == 0) {
        unsigned char buf[JWKS_MAX_SECRET];
        size_t len = 0;
        if (b64_member(k, "k", buf, sizeof(buf), &len) != 0) {
            *why = "oct key needs a base64url \"k\" of at most 4096 bytes";
            return -1;
        }
        if (len < JWKS_MIN_HMAC) {
            OPENSSL_cleanse(buf, sizeof(buf));
            *why = "oct key shorter than 32 bytes (RFC 7518 section 3.2)";
            return -1;
        }
        key->secret = malloc(len);
        if (!key->secret) {
            *why = "out of memory";
            return -1;
        }
        memcpy(key->secret, buf, len);
        OPENSSL_cleanse(buf, sizeof(buf));
        key->secret_len = len;
        key->type = JWK_OCT;
        key->alg_mask = hmac_mask(len);
    } else {
        return 1; /* OKP and whatever comes next */
    }

    if (has_alg) {
        if (!(key->alg_mask & JWT_ALG_BIT(alg))) {
            *why = key->type == JWK_OCT ? "\"alg\" needs a longer oct key"
                                        : "\"alg\" does not fit the key type";
            return -1;
        }
        key->alg_mask = JWT_ALG_BIT(alg);
    }
    if ((v = json_object_get(k, "kid")) != NULL) {
        key->kid = strdup(json_string_value(v));
        if (!key->kid) {
            *why = "out of memory";
            return -1;
        }
    }
    return 0;
}

static void clear_key(struct jwk *key)
{
    free(key->kid);
    EVP_PKEY_free(key->pkey);
    if (key->secret)
        OPENSSL_cleanse(key->secret, key->secret_len);
    free(key->secret);
    memset(key, 0, sizeof(*key));
}

void jwks_free(struct jwk_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        clear_key(&set->keys[i]);
    free(set);
}

size_t jwks_count(const struct jwk_set *set)
{
    return set ? set->n : 0;
}

const struct jwk *jwks_key(const struct jwk_set *set, size_t i)
{
    return set && i < set->n ? &set->keys[i] : NULL;
}

/* Adds member k (index idx) to set. Returns 0, or -1 with err set. */
static int add_member(struct jwk_set *set, const json_t *k, size_t idx, size_t *skipped, char *err,
                      size_t errlen)
{
    const char *why = "invalid";
    struct jwk key;
    memset(&key, 0, sizeof(key));
    int rc = parse_member(&key, k, &why);
    if (rc == 1) {
        clear_key(&key);
        (*skipped)++;
        return 0;
    }
    if (rc == 0 && set->n == JWKS_MAX_KEYS) {
        why = "more than 64 usable keys";
        rc = -1;
    }
    if (rc != 0) {
        const json_t *kid = json_is_object(k) ? json_object_get(k, "kid") : NULL;
        if (json_is_string(kid)) {
            char shown[72];
            show(shown, sizeof(shown), json_string_value(kid), json_string_length(kid));
            snprintf(err, errlen, "JWKS key %zu (kid \"%s\"): %s", idx, shown, why);
        } else
            snprintf(err, errlen, "JWKS key %zu: %s", idx, why);
        clear_key(&key);
        return -1;
    }
    set->keys[set->n++] = key;
    return 0;
}

struct jwk_set *jwks_parse_json(const char *json, size_t len, char *err, size_t errlen)
{
    if (!json || len > JWKS_MAX_INPUT) {
        snprintf(err, errlen, "JWKS missing or larger than %d bytes", JWKS_MAX_INPUT);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "JWKS is not valid JSON: %s (line %d)", je.text, je.line);
        return NULL;
    }
    struct jwk_set *set = calloc(1, sizeof(*set));
    size_t skipped = 0;
    const json_t *keys = json_object_get(root, "keys");
    if (!set) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "JWKS is not a JSON object");
        goto fail;
    }
    if (keys) {
        if (!json_is_array(keys)) {
            snprintf(err, errlen, "JWKS \"keys\" is not an array");
            goto fail;
        }
        if (json_array_size(keys) > JWKS_MAX_SEEN) {
            snprintf(err, errlen, "JWKS has more than %d keys", JWKS_MAX_SEEN);
            goto fail;
        }
        size_t i;
        const json_t *k;
        json_array_foreach(keys, i, k)
        {
            if (add_member(set, k, i, &skipped, err, errlen) != 0)
                goto fail;
        }
    } else if (json_object_get(root, "kty")) {
        if (add_member(set, root, 0, &skipped, err, errlen) != 0)
            goto fail;
    } else {
        snprintf(err, errlen, "JSON has neither \"keys\" (a JWKS) nor \"kty\" (a JWK)");
        goto fail;
    }
    if (set->n == 0) {
        snprintf(err, errlen, "JWKS has no usable signature key (%zu skipped)", skipped);
        goto fail;
    }
    json_decref(root);
    ERR_clear_error();
    return set;
fail:
    json_decref(root);
    jwks_free(set);
    ERR_clear_error();
    return NULL;
}

/* The public key of one PEM block, or NULL with a reason in why. */
static EVP_PKEY *pem_block_key(const char *name, const unsigned char *data, long len,
                               const char **why)
{
    const unsigned char *p = data;
    EVP_PKEY *pkey = NULL;
    if (strcmp(name, "PUBLIC KEY") == 0) {
        pkey = d2i_PUBKEY(NULL, &p, len);
    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    } else if (strcmp(name, "CERTIFICATE") == 0) {
        X509 *x = d2i_X509(NULL, &p, len);
        if (x)
            pkey = X509_get_pubkey(x);
        X509_free(x);
    } else if (strstr(name, "PRIVATE KEY")) {
        *why = "is a private key; give public keys only";
        return NULL;
    } else {
        *why = "is of an unsupported type (PUBLIC KEY, RSA PUBLIC KEY and CERTIFICATE are)";
        return NULL;
    }
    if (pkey && p != data + len) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    if (!pkey)
        *why = "does not decode";
    return pkey;
}

struct jwk_set *jwks_parse_pem(const char *pem, size_t len, char *err, size_t errlen)
{
    if (!pem || len > JWKS_MAX_INPUT) {
        snprintf(err, errlen, "PEM input missing or larger than %d bytes", JWKS_MAX_INPUT);
        return NULL;
    }
    struct jwk_set *set = calloc(1, sizeof(*set));
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!set || !bio) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ERR_clear_error();
    for (size_t block = 1;; block++) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break; /* no further block */
            snprintf(err, errlen, "PEM block %zu is malformed", block);
            goto fail;
        }
        const char *why = NULL;
        EVP_PKEY *pkey = pem_block_key(name, data, dlen, &why);
        char shown[40];
        show(shown, sizeof(shown), name, strlen(name));
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        struct jwk key;
        memset(&key, 0, sizeof(key));
        if (!pkey) {
            snprintf(err, errlen, "PEM block %zu (%s) %s", block, shown, why);
            goto fail;
        }
        if (adopt_pkey(&key, pkey, &why) != 0) {
            snprintf(err, errlen, "PEM block %zu (%s): %s", block, shown, why);
            goto fail;
        }
        if (set->n == JWKS_MAX_KEYS) {
            clear_key(&key);
            snprintf(err, errlen, "more than %d PEM keys", JWKS_MAX_KEYS);
            goto fail;
        }
        set->keys[set->n++] = key;
    }
    if (set->n == 0) {
        snprintf(err, errlen, "no PEM public key found");
        goto fail;
    }
    BIO_free(bio);
    ERR_clear_error();
    return set;
fail:
    BIO_free(bio);
    jwks_free(set);
    ERR_clear_error();
    return NULL;
}

struct jwk_set *jwks_parse(const char *data, size_t len, char *err, size_t errlen)
{
    size_t i = 0;
    while (data && i < len &&
           (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (data && i < len && data[i] == '{')
        return jwks_parse_json(data, len, err, errlen);
    return jwks_parse_pem(data, len, err, errlen);
}

struct jwk_set *jwks_from_hmac_secret(const unsigned char *secret, size_t len, char *err,
                                      size_t errlen)
{
    if (!secret || len < JWKS_MIN_HMAC || len > JWKS_MAX_SECRET) {
        snprintf(err, errlen,
                 "HMAC secret of %zu bytes: needs %d to %d (RFC 7518 section 3.2: at least the "
                 "digest size)",
                 secret ? len : 0, JWKS_MIN_HMAC, JWKS_MAX_SECRET);
        return NULL;
    }
    struct jwk_set *set = calloc(1, sizeof(*set));
    unsigned char *copy = malloc(len);
    if (!set || !copy) {
        free(set);
        free(copy);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(copy, secret, len);
    set->keys[0].type = JWK_OCT;
    set->keys[0].secret = copy;
    set->keys[0].secret_len = len;
    set->keys[0].alg_mask = hmac_mask(len);
    set->n = 1;
    return set;
}
