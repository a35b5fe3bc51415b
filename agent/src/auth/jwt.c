/*
 * jwt.c - see jwt.h.
 *
 * JOSE ECDSA signatures are raw r||s (RFC 7518 section 3.4); OpenSSL wants
 * DER, so they are re-encoded here (lengths stay below 128: short form).
 * HMAC tags are compared with CRYPTO_memcmp. The payload is parsed only
 * after its signature checks out.
 */
#include "auth/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "auth/base64.h"

struct jwt_claims {
    json_t *payload;
};

static const char *const reason_text[] = {
    [JWT_OK] = "ok",
    [JWT_ERR_TOO_LARGE] = "token too large",
    [JWT_ERR_MALFORMED] = "malformed token",
    [JWT_ERR_BAD_HEADER] = "bad header",
    [JWT_ERR_ALG_NONE] = "alg none refused",
    [JWT_ERR_ALG_UNSUPPORTED] = "unsupported alg",
    [JWT_ERR_ALG_NOT_ALLOWED] = "alg not allowed",
    [JWT_ERR_CRIT] = "crit header not understood",
    [JWT_ERR_NO_KEY] = "no matching key",
    [JWT_ERR_BAD_SIGNATURE] = "bad signature",
    [JWT_ERR_BAD_PAYLOAD] = "bad payload",
    [JWT_ERR_BAD_CLAIM] = "claim of the wrong type",
    [JWT_ERR_NO_EXP] = "no exp claim",
    [JWT_ERR_EXPIRED] = "expired",
    [JWT_ERR_NOT_YET_VALID] = "not yet valid",
    [JWT_ERR_ISSUER] = "wrong issuer",
    [JWT_ERR_AUDIENCE] = "wrong audience",
    [JWT_ERR_INTERNAL] = "internal error",
};

const char *jwt_reason_str(enum jwt_reason r)
{
    return (unsigned)r < sizeof(reason_text) / sizeof(reason_text[0]) ? reason_text[r] : "?";
}

/* Decodes one base64url part into a new buffer. */
static int decode_part(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
    size_t cap = B64_DECODED_MAX(n);
    *out = malloc(cap); /* at least 3 */
    if (!*out)
        return -1;
    if (b64url_decode(s, n, *out, cap, outlen) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* One DER INTEGER from an unsigned big-endian value; returns its size. */
static size_t der_int(unsigned char *out, const unsigned char *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    size_t pad = (v[0] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(n + pad);
    if (pad)
        out[2] = 0;
    memcpy(out + 2 + pad, v, n);
    return 2 + pad + n;
}

#define DER_SIG_MAX (2 + 2 * (3 + 48))

/* r||s (two coordinates of c bytes) as a DER ECDSA-Sig-Value. */
static size_t raw_to_der(const unsigned char *sig, size_t c, unsigned char out[DER_SIG_MAX])
{
    size_t len = der_int(out + 2, sig, c);
    len += der_int(out + 2 + len, sig + c, c);
    out[0] = 0x30;
    out[1] = (unsigned char)len;
    return 2 + len;
}

static int verify_pkey(const struct jwk *k, enum jwt_alg alg, const unsigned char *msg,
                       size_t msglen, const unsigned char *sig, size_t siglen)
{
    enum jwa_family fam = jwa_family(alg);
    unsigned char der[DER_SIG_MAX];
    if (fam == JWA_ECDSA) {
        size_t c = jwa_ec_coord_len(alg);
        enum jwk_type want = alg == JWT_ALG_ES256 ? JWK_EC_P256 : JWK_EC_P384;
        if (k->type != want || siglen != 2 * c)
            return 0;
        siglen = raw_to_der(sig, c, der);
        sig = der;
    } else if (k->type != JWK_RSA) {
        return 0;
    }
    int ok = 0;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md && EVP_DigestVerifyInit_ex(md, &pctx, jwa_digest(alg), NULL, NULL, k->pkey, NULL) == 1) {
        if (fam != JWA_RSA_PSS ||
            (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0))
            ok = EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

static int verify_hmac(const struct jwk *k, enum jwt_alg alg, const unsigned char *msg,
                       size_t msglen, const unsigned char *sig, size_t siglen)
{
    /* Only an oct key's own secret is ever an HMAC key. */
    if (k->type != JWK_OCT || !k->secret || k->secret_len < jwa_digest_len(alg))
        return 0;
    const EVP_MD *md = alg == JWT_ALG_HS256   ? EVP_sha256()
                       : alg == JWT_ALG_HS384 ? EVP_sha384()
                                              : EVP_sha512();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(md, k->secret, (int)k->secret_len, msg, msglen, mac, &maclen))
        return 0;
    int ok = siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* Tries every key that may verify alg and whose kid fits the token's. */
static enum jwt_reason check_signature(const struct jwk_set *keys, enum jwt_alg alg,
                                       const char *kid, const unsigned char *msg, size_t msglen,
                                       const unsigned char *sig, size_t siglen)
{
    size_t candidates = 0;
    for (size_t i = 0; i < jwks_count(keys); i++) {
        const struct jwk *k = jwks_key(keys, i);
        if (!(k->alg_mask & JWT_ALG_BIT(alg)))
            continue;
        /* kid selects among keys that have one; a kid-less key (PEM, a
         * shared secret) is a candidate for any token. */
        if (kid && k->kid && strcmp(k->kid, kid) != 0)
            continue;
        candidates++;
        int ok = jwa_family(alg) == JWA_HMAC ? verify_hmac(k, alg, msg, msglen, sig, siglen)
                                             : verify_pkey(k, alg, msg, msglen, sig, siglen);
        if (ok)
            return JWT_OK;
    }
    return candidates ? JWT_ERR_BAD_SIGNATURE : JWT_ERR_NO_KEY;
}

/* A NumericDate as a double (exact for any realistic date); -1 on type. */
static int numeric_date(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return -1;
    return 0;
}

static enum jwt_reason check_claims(const json_t *p, const struct jwt_options *opt)
{
    int64_t leeway = opt->leeway < 0                ? 0
                     : opt->leeway > JWT_MAX_LEEWAY ? JWT_MAX_LEEWAY
                                                    : opt->leeway;
    double now = (double)opt->now;
    double t;
    const json_t *v = json_object_get(p, "exp");
    if (v) {
        if (numeric_date(v, &t) != 0)
            return JWT_ERR_BAD_CLAIM;
        /* RFC 7519 4.1.4: the current time must be before exp. */
        if (!(now - (double)leeway < t))
            return JWT_ERR_EXPIRED;
    } else if (opt->require_exp) {
        return JWT_ERR_NO_EXP;
    }
    if ((v = json_object_get(p, "nbf")) != NULL) {
        if (numeric_date(v, &t) != 0)
            return JWT_ERR_BAD_CLAIM;
        if (now + (double)leeway < t)
            return JWT_ERR_NOT_YET_VALID;
    }
    if (opt->issuer) {
        v = json_object_get(p, "iss");
        if (!v)
            return JWT_ERR_ISSUER;
        if (!json_is_string(v))
            return JWT_ERR_BAD_CLAIM;
        if (strcmp(json_string_value(v), opt->issuer) != 0)
            return JWT_ERR_ISSUER;
    }
    if (opt->n_audiences > 0) {
        v = json_object_get(p, "aud");
        if (!v)
            return JWT_ERR_AUDIENCE;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        int match = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *a = json_is_array(v) ? json_array_get(v, i) : v;
            if (!json_is_string(a))
                return JWT_ERR_BAD_CLAIM;
            for (size_t j = 0; j < opt->n_audiences; j++)
                if (opt->audiences[j] && strcmp(json_string_value(a), opt->audiences[j]) == 0)
                    match = 1;
        }
        if (!match)
            return JWT_ERR_AUDIENCE;
    }
    return JWT_OK;
}

static json_t *load_object(const unsigned char *s, size_t n)
{
    json_t *j = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

enum jwt_reason jwt_verify(const char *token, size_t len, const struct jwk_set *keys,
                           const struct jwt_options *opt, struct jwt_claims **claims)
{
    if (claims)
        *claims = NULL;
    if (!keys || !opt)
        return JWT_ERR_INTERNAL;
    if (!token)
        return JWT_ERR_MALFORMED;
    if (len > JWT_MAX_TOKEN)
        return JWT_ERR_TOO_LARGE;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || d1 == token || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return JWT_ERR_MALFORMED;

    enum jwt_reason r;
    unsigned char *hdr = NULL, *pay = NULL, *sig = NULL;
    size_t hlen = 0, plen = 0, slen = 0;
    json_t *header = NULL, *payload = NULL;
    if (decode_part(token, (size_t)(d1 - token), &hdr, &hlen) != 0) {
        r = JWT_ERR_MALFORMED;
        goto out;
    }
    if (!(header = load_object(hdr, hlen))) {
        r = JWT_ERR_BAD_HEADER;
        goto out;
    }
    const json_t *alg_v = json_object_get(header, "alg");
    const json_t *kid_v = json_object_get(header, "kid");
    enum jwt_alg alg;
    if (!json_is_string(alg_v) || (kid_v && !json_is_string(kid_v))) {
        r = JWT_ERR_BAD_HEADER;
        goto out;
    }
    if (strcasecmp(json_string_value(alg_v), "none") == 0) {
        r = JWT_ERR_ALG_NONE;
        goto out;
    }
    if (jwa_from_name(json_string_value(alg_v), &alg) != 0) {
        r = JWT_ERR_ALG_UNSUPPORTED;
        goto out;
    }
    if (!((opt->alg_mask ? opt->alg_mask : JWT_ALGS_ALL) & JWT_ALG_BIT(alg))) {
        r = JWT_ERR_ALG_NOT_ALLOWED;
        goto out;
    }
    if (json_object_get(header, "crit")) {
        r = JWT_ERR_CRIT;
        goto out;
    }
    if (decode_part(d1 + 1, (size_t)(d2 - d1 - 1), &pay, &plen) != 0 ||
        decode_part(d2 + 1, len - (size_t)(d2 + 1 - token), &sig, &slen) != 0) {
        r = JWT_ERR_MALFORMED;
        goto out;
    }
    r = check_signature(keys, alg, kid_v ? json_string_value(kid_v) : NULL,
                        (const unsigned char *)token, (size_t)(d2 - token), sig, slen);
    ERR_clear_error();
    if (r != JWT_OK)
        goto out;
    if (!(payload = load_object(pay, plen))) {
        r = JWT_ERR_BAD_PAYLOAD;
        goto out;
    }
    if ((r = check_claims(payload, opt)) != JWT_OK)
        goto out;
    if (claims) {
        *claims = malloc(sizeof(**claims));
        if (!*claims) {
            r = JWT_ERR_INTERNAL;
            goto out;
        }
        (*claims)->payload = payload;
        payload = NULL;
    }
out:
    json_decref(header);
    json_decref(payload);
    free(hdr);
    free(pay);
    free(sig);
    return r;
}

void jwt_claims_free(struct jwt_claims *c)
{
    if (!c)
        return;
    json_decref(c->payload);
    free(c);
}

/* Member name, or the member at dotted path name when there is none. */
static const json_t *lookup(const json_t *root, const char *name)
{
    const json_t *v = json_object_get(root, name);
    if (v || !strchr(name, '.'))
        return v;
    v = root;
    const char *p = name;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char seg[256];
        if (n == 0 || n >= sizeof(seg) || !json_is_object(v))
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        v = json_object_get(v, seg);
        p += n + (dot ? 1 : 0);
        if (dot && !*p)
            return NULL; /* trailing dot */
    }
    return v;
}

struct out {
    char *buf;
    size_t cap, len;
};

static enum jwt_claim_status put(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return JWT_CLAIM_UNPRINTABLE;
    if (o->len + n >= o->cap)
        return JWT_CLAIM_TOO_LONG;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
    return JWT_CLAIM_OK;
}

/* Compact, ASCII-only JSON of v (objects, nested arrays, reals). */
static enum jwt_claim_status put_json(struct out *o, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return JWT_CLAIM_TOO_LONG;
    enum jwt_claim_status st = put(o, s, strlen(s));
    free(s);
    return st;
}

static enum jwt_claim_status put_scalar(struct out *o, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return put(o, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return put(o, num, strlen(num));
    case JSON_TRUE:
        return put(o, "true", 4);
    case JSON_FALSE:
        return put(o, "false", 5);
    default:
        return put_json(o, v);
    }
}

enum jwt_claim_status jwt_claims_get(const struct jwt_claims *c, const char *name, char *buf,
                                     size_t buflen)
{
    if (buf && buflen)
        buf[0] = '\0';
    if (!c || !name)
        return JWT_CLAIM_MISSING;
    const json_t *v = lookup(c->payload, name);
    if (!v || json_is_null(v))
        return JWT_CLAIM_MISSING;
    if (!buf || buflen == 0)
        return JWT_CLAIM_TOO_LONG;
    struct out o = {buf, buflen, 0};
    enum jwt_claim_status st = JWT_CLAIM_OK;
    if (json_is_object(v)) {
        st = put_json(&o, v);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        int scalars = 1;
        json_array_foreach(v, i, e)
        {
            if (json_is_object(e) || json_is_array(e) || json_is_null(e))
                scalars = 0;
        }
        if (!scalars) {
            st = put_json(&o, v);
        } else {
            json_array_foreach(v, i, e)
            {
                if (st == JWT_CLAIM_OK && i > 0)
                    st = put(&o, ",", 1);
                if (st == JWT_CLAIM_OK)
                    st = put_scalar(&o, e);
            }
        }
    } else {
        st = put_scalar(&o, v);
    }
    if (st != JWT_CLAIM_OK)
        buf[0] = '\0';
    return st;
}
