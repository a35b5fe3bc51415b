/* test_auth_jwt.c - JWT verification and key sets: keys made and tokens
 * signed at test time with the openssl CLI and with EVP, every algorithm,
 * kid selection, claims, and hostile tokens (alg none, HMAC keyed with the
 * RSA public key, embedded keys, bad base64, truncated signatures, huge
 * tokens, duplicate JSON members, odd types). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth/base64.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "test.h"

#define SCRATCH_PREFIX "jwt"
#include "scratch.h"

#define NOW 1700000000LL

/* Keys made once with the CLI. */
static int keys_ready;

static void make_keys(void)
{
    if (keys_ready)
        return;
    keys_ready = 1;
    sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null",
       scratch_path("rsa.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("rsa.key"), scratch_path("rsa.pub"));
    sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null",
       scratch_path("rsa2.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("rsa2.key"), scratch_path("rsa2.pub"));
    sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out %s 2>/dev/null",
       scratch_path("rsa1024.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("rsa1024.key"),
       scratch_path("rsa1024.pub"));
    sh("openssl rsa -in %s -RSAPublicKey_out -out %s 2>/dev/null", scratch_path("rsa.key"),
       scratch_path("rsa.pkcs1"));
    sh("openssl req -x509 -new -key %s -subj /CN=jwt-test -days 2 -out %s 2>/dev/null",
       scratch_path("rsa.key"), scratch_path("rsa.crt"));
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s",
       scratch_path("ec256.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("ec256.key"), scratch_path("ec256.pub"));
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s",
       scratch_path("ec384.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("ec384.key"), scratch_path("ec384.pub"));
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out %s",
       scratch_path("ec521.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("ec521.key"), scratch_path("ec521.pub"));
    sh("openssl genpkey -algorithm ED25519 -out %s", scratch_path("ed.key"));
    sh("openssl pkey -in %s -pubout -out %s", scratch_path("ed.key"), scratch_path("ed.pub"));
}

static EVP_PKEY *load_private(const char *name)
{
    make_keys();
    FILE *f = fopen(scratch_path(name), "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static struct jwk_set *pem_set(const char *name)
{
    make_keys();
    size_t len = 0;
    char err[256] = "";
    unsigned char *pem = (unsigned char *)slurp(scratch_path(name), &len);
    struct jwk_set *s = pem ? jwks_parse((const char *)pem, len, err, sizeof(err)) : NULL;
    if (!s)
        printf("# %s: %s\n", name, err);
    free(pem);
    return s;
}

/* base64url of a byte string, malloc'd. */
static char *b64(const void *p, size_t n)
{
    char *out = malloc(B64URL_ENCODED_LEN(n) + 1);
    b64url_encode(p, n, out);
    return out;
}

/* A JWK JSON object for a public key file: {"kty":...,"kid":kid,...}. */
static char *jwk_of(const char *pubfile, const char *kid, const char *extra)
{
    make_keys();
    FILE *f = fopen(scratch_path(pubfile), "r");
    EVP_PKEY *k = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    char *out = malloc(4096);
    out[0] = '\0';
    if (!k)
        return out;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
        unsigned char nb[1024], eb[16];
        int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
        char *ns = b64(nb, (size_t)nl), *es = b64(eb, (size_t)el);
        snprintf(out, 4096, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, ns,
                 es, extra);
        free(ns);
        free(es);
        BN_free(n);
        BN_free(e);
    } else {
        unsigned char pt[200];
        size_t pl = 0;
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl);
        size_t c = (pl - 1) / 2;
        char *xs = b64(pt + 1, c), *ys = b64(pt + 1 + c, c);
        snprintf(out, 4096,
                 "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kid,
                 c == 32   ? "P-256"
                 : c == 48 ? "P-384"
                           : "P-521",
                 xs, ys, extra);
        free(xs);
        free(ys);
    }
    EVP_PKEY_free(k);
    return out;
}

/* How a token gets its signature. */
enum how { CLI, EVP, HMAC_INTEST, CLI_HMAC, RAW_SIG };
struct signer {
    enum how how;
    const char *md;      /* "sha256" ... */
    int pss;             /* RSA-PSS with salt = digest length */
    size_t ec;           /* ECDSA coordinate size: output raw r||s */
    const char *keyfile; /* CLI */
    EVP_PKEY *pkey;      /* EVP */
    const void *secret;  /* HMAC */
    size_t secret_len;
    const char *raw_sig; /* RAW_SIG: the third part as given */
};

/* DER ECDSA signature to JOSE r||s. */
static size_t der_to_raw(const unsigned char *der, size_t len, size_t c, unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (!s)
        return 0;
    BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)c);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), out + c, (int)c);
    ECDSA_SIG_free(s);
    return 2 * c;
}

static size_t sign(const struct signer *s, const char *input, unsigned char *sig)
{
    size_t n = strlen(input), siglen = 0;
    unsigned char der[1024];
    size_t derlen = 0;
    if (s->how == CLI || s->how == CLI_HMAC) {
        spit(scratch_path("input"), input, n);
        if (s->how == CLI_HMAC) {
            char hex[300] = "";
            for (size_t i = 0; i < s->secret_len; i++)
                sprintf(hex + 2 * i, "%02x", ((const unsigned char *)s->secret)[i]);
            sh("openssl dgst -%s -mac HMAC -macopt hexkey:%s -binary -out %s %s", s->md, hex,
               scratch_path("sig"), scratch_path("input"));
        } else {
            sh("openssl dgst -%s %s -sign %s -out %s %s", s->md,
               s->pss ? "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" : "",
               scratch_path(s->keyfile), scratch_path("sig"), scratch_path("input"));
        }
        unsigned char *b = (unsigned char *)slurp(scratch_path("sig"), &derlen);
        if (!b)
            return 0;
        memcpy(der, b, derlen < sizeof(der) ? derlen : sizeof(der));
        free(b);
    } else if (s->how == EVP) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        derlen = sizeof(der);
        if (EVP_DigestSignInit_ex(md, &pctx, s->md, NULL, NULL, s->pkey, NULL) != 1 ||
            (s->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
            EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, n) != 1)
            derlen = 0;
        EVP_MD_CTX_free(md);
    } else if (s->how == HMAC_INTEST) {
        unsigned int l = 0;
        HMAC(EVP_get_digestbyname(s->md), s->secret, (int)s->secret_len,
             (const unsigned char *)input, n, der, &l);
        derlen = l;
    }
    if (s->ec)
        return der_to_raw(der, derlen, s->ec, sig);
    memcpy(sig, der, derlen);
    siglen = derlen;
    return siglen;
}

/* header.payload.signature, malloc'd. */
static char *token(const char *header, const char *payload, const struct signer *s)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    size_t cap = strlen(h) + strlen(p) + 2048;
    char *t = malloc(cap);
    snprintf(t, cap, "%s.%s", h, p);
    free(h);
    free(p);
    if (s->how == RAW_SIG) {
        strcat(t, ".");
        strcat(t, s->raw_sig);
        return t;
    }
    unsigned char sig[1024];
    size_t sl = sign(s, t, sig);
    char *ss = b64(sig, sl);
    strcat(t, ".");
    strcat(t, ss);
    free(ss);
    return t;
}

static const char *payload_ok = "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                                "\"aud\":\"spoke\",\"exp\":1700003600,\"nbf\":1699999000}";

static struct jwt_options opts(void)
{
    struct jwt_options o = {.now = NOW, .leeway = 0, .require_exp = true};
    return o;
}

static enum jwt_reason check(const char *tok, const struct jwk_set *set,
                             const struct jwt_options *o)
{
    return jwt_verify(tok, strlen(tok), set, o, NULL);
}

#define EXPECT(tok, set, o, want)                                                                  \
    do {                                                                                           \
        char *t_ = (tok);                                                                          \
        enum jwt_reason r_ = check(t_, (set), (o));                                                \
        if (r_ != (want)) {                                                                        \
            printf("#   %s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__,                 \
                   jwt_reason_str(r_), jwt_reason_str(want));                                      \
            test_failures_in_current++;                                                            \
        }                                                                                          \
        free(t_);                                                                                  \
    } while (0)

static void test_base64url(void)
{
    unsigned char out[16];
    size_t n = 0;
    CHECK(b64url_decode("", 0, out, sizeof(out), &n) == 0 && n == 0);
    CHECK(b64url_decode("QQ", 2, out, sizeof(out), &n) == 0 && n == 1 && out[0] == 'A');
    CHECK(b64url_decode("QR", 2, out, sizeof(out), &n) != 0); /* non-zero spare bits */
    CHECK(b64url_decode("QQ==", 4, out, sizeof(out), &n) != 0);
    CHECK(b64url_decode("Q", 1, out, sizeof(out), &n) != 0);
    CHECK(b64url_decode("-_-_", 4, out, sizeof(out), &n) == 0 && n == 3);
    CHECK(b64url_decode("+/+/", 4, out, sizeof(out), &n) != 0);
    CHECK(b64url_decode("QU JD", 5, out, sizeof(out), &n) != 0);
    CHECK(b64url_decode("QUJDRA", 6, out, 3, &n) != 0); /* short buffer */
    CHECK(b64std_decode("QUJD", 4, out, sizeof(out), &n) == 0 && n == 3);
    CHECK(b64std_decode("QUI=", 4, out, sizeof(out), &n) == 0 && n == 2);
    CHECK(b64std_decode("QQ==", 4, out, sizeof(out), &n) == 0 && n == 1);
    CHECK(b64std_decode("QQ", 2, out, sizeof(out), &n) != 0);
    CHECK(b64std_decode("Q===", 4, out, sizeof(out), &n) != 0);
    CHECK(b64std_decode("Q=QQ", 4, out, sizeof(out), &n) != 0);
    char enc[16];
    CHECK_INT_EQ(b64url_encode((const unsigned char *)"\xfb\xff", 2, enc), 3);
    CHECK_STR_EQ(enc, "-_8");
}

static void test_rsa_algorithms_from_the_cli(void)
{
    struct jwk_set *set = pem_set("rsa.pub");
    CHECK(set && jwks_count(set) == 1);
    struct jwt_options o = opts();
    struct signer rs256 = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    struct signer rs384 = {.how = CLI, .md = "sha384", .keyfile = "rsa.key"};
    struct signer rs512 = {.how = CLI, .md = "sha512", .keyfile = "rsa.key"};
    struct signer ps256 = {.how = CLI, .md = "sha256", .pss = 1, .keyfile = "rsa.key"};
    struct signer ps512 = {.how = CLI, .md = "sha512", .pss = 1, .keyfile = "rsa.key"};
    EXPECT(token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload_ok, &rs256), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS384\"}", payload_ok, &rs384), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS512\"}", payload_ok, &rs512), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"PS256\"}", payload_ok, &ps256), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"PS512\"}", payload_ok, &ps512), set, &o, JWT_OK);
    /* The header names what was used; lying about it fails. */
    EXPECT(token("{\"alg\":\"RS384\"}", payload_ok, &rs256), set, &o, JWT_ERR_BAD_SIGNATURE);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &ps256), set, &o, JWT_ERR_BAD_SIGNATURE);
    EXPECT(token("{\"alg\":\"PS256\"}", payload_ok, &rs256), set, &o, JWT_ERR_BAD_SIGNATURE);
    /* Another key's signature. */
    struct signer other = {.how = CLI, .md = "sha256", .keyfile = "rsa2.key"};
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &other), set, &o, JWT_ERR_BAD_SIGNATURE);
    /* The certificate and PKCS#1 forms of the same key verify too. */
    struct jwk_set *crt = pem_set("rsa.crt"), *pkcs1 = pem_set("rsa.pkcs1");
    CHECK(crt && pkcs1);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs256), crt, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs256), pkcs1, &o, JWT_OK);
    jwks_free(crt);
    jwks_free(pkcs1);
    jwks_free(set);
}

static void test_ecdsa_from_the_cli(void)
{
    struct jwk_set *p256 = pem_set("ec256.pub"), *p384 = pem_set("ec384.pub");
    CHECK(p256 && p384);
    struct jwt_options o = opts();
    struct signer es256 = {.how = CLI, .md = "sha256", .ec = 32, .keyfile = "ec256.key"};
    struct signer es384 = {.how = CLI, .md = "sha384", .ec = 48, .keyfile = "ec384.key"};
    for (int i = 0; i < 5; i++) /* r or s with a high bit or leading zeros now and then */
        EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &es256), p256, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"ES384\"}", payload_ok, &es384), p384, &o, JWT_OK);
    /* Curve and alg must agree. */
    EXPECT(token("{\"alg\":\"ES384\"}", payload_ok, &es256), p256, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &es384), p384, &o, JWT_ERR_NO_KEY);
    /* DER instead of r||s is refused. */
    struct signer der = {.how = CLI, .md = "sha256", .keyfile = "ec256.key"};
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &der), p256, &o, JWT_ERR_BAD_SIGNATURE);
    jwks_free(p256);
    jwks_free(p384);
}

static void test_signed_with_evp(void)
{
    struct jwt_options o = opts();
    EVP_PKEY *ec = load_private("ec256.key"), *rsa = load_private("rsa.key");
    CHECK(ec && rsa);
    struct jwk_set *p256 = pem_set("ec256.pub"), *rs = pem_set("rsa.pub");
    struct signer es = {.how = EVP, .md = "SHA256", .ec = 32, .pkey = ec};
    struct signer ps = {.how = EVP, .md = "SHA256", .pss = 1, .pkey = rsa};
    struct signer ps384 = {.how = EVP, .md = "SHA384", .pss = 1, .pkey = rsa};
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &es), p256, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"PS256\"}", payload_ok, &ps), rs, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"PS384\"}", payload_ok, &ps384), rs, &o, JWT_OK);

    /* A key made in-test, published as a JWKS built from its parameters. */
    EVP_PKEY *fresh = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(fresh != NULL);
    FILE *f = fopen(scratch_path("fresh.pub"), "w");
    PEM_write_PUBKEY(f, fresh);
    fclose(f);
    char *jwk = jwk_of("fresh.pub", "fresh", ",\"use\":\"sig\",\"alg\":\"ES256\"");
    char jwks[4200], err[256];
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk);
    struct jwk_set *set = jwks_parse(jwks, strlen(jwks), err, sizeof(err));
    CHECK(set != NULL);
    struct signer fs = {.how = EVP, .md = "SHA256", .ec = 32, .pkey = fresh};
    EXPECT(token("{\"alg\":\"ES256\",\"kid\":\"fresh\"}", payload_ok, &fs), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &fs), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &es), set, &o, JWT_ERR_BAD_SIGNATURE);
    free(jwk);
    jwks_free(set);
    EVP_PKEY_free(fresh);
    jwks_free(p256);
    jwks_free(rs);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

static const unsigned char secret64[64] =
    "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDE";

static void test_hmac(void)
{
    char err[256];
    struct jwt_options o = opts();
    struct jwk_set *s64 = jwks_from_hmac_secret(secret64, 64, err, sizeof(err));
    struct jwk_set *s32 = jwks_from_hmac_secret(secret64, 32, err, sizeof(err));
    CHECK(s64 && s32);
    CHECK(jwks_from_hmac_secret((const unsigned char *)"secret", 6, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "at least") != NULL);
    struct signer hs256 = {
        .how = HMAC_INTEST, .md = "SHA256", .secret = secret64, .secret_len = 64};
    struct signer hs384 = {
        .how = HMAC_INTEST, .md = "SHA384", .secret = secret64, .secret_len = 64};
    struct signer hs512 = {.how = CLI_HMAC, .md = "sha512", .secret = secret64, .secret_len = 64};
    struct signer cli256 = {.how = CLI_HMAC, .md = "sha256", .secret = secret64, .secret_len = 32};
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &hs256), s64, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"HS384\"}", payload_ok, &hs384), s64, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"HS512\"}", payload_ok, &hs512), s64, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &cli256), s32, &o, JWT_OK);
    /* RFC 7518 3.2: a 32-byte key is too short for HS384/HS512. */
    struct signer hs512_32 = {
        .how = HMAC_INTEST, .md = "SHA512", .secret = secret64, .secret_len = 32};
    EXPECT(token("{\"alg\":\"HS512\"}", payload_ok, &hs512_32), s32, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &cli256), s64, &o, JWT_ERR_BAD_SIGNATURE);
    /* Truncated tag. */
    char *t = token("{\"alg\":\"HS256\"}", payload_ok, &hs256);
    t[strlen(t) - 4] = '\0'; /* 39 characters: 29 bytes, if the spare bits are zero */
    enum jwt_reason r = check(t, s64, &o);
    CHECK(r == JWT_ERR_BAD_SIGNATURE || r == JWT_ERR_MALFORMED);
    t[strlen(t) - 3] = '\0'; /* 36 characters: 27 bytes */
    EXPECT(t, s64, &o, JWT_ERR_BAD_SIGNATURE);
    jwks_free(s64);
    jwks_free(s32);
}

static void test_alg_none_and_unknown(void)
{
    struct jwk_set *set = pem_set("rsa.pub");
    struct jwk_set *hs = jwks_from_hmac_secret(secret64, 64, (char[64]){0}, 64);
    struct jwt_options o = opts();
    struct signer empty = {.how = RAW_SIG, .raw_sig = ""};
    struct signer junk = {.how = RAW_SIG, .raw_sig = "c2lnbmF0dXJl"};
    EXPECT(token("{\"alg\":\"none\"}", payload_ok, &empty), set, &o, JWT_ERR_ALG_NONE);
    EXPECT(token("{\"alg\":\"None\",\"typ\":\"JWT\"}", payload_ok, &empty), set, &o,
           JWT_ERR_ALG_NONE);
    EXPECT(token("{\"alg\":\"NONE\"}", payload_ok, &junk), hs, &o, JWT_ERR_ALG_NONE);
    EXPECT(token("{\"alg\":\"nOnE\"}", payload_ok, &empty), hs, &o, JWT_ERR_ALG_NONE);
    EXPECT(token("{\"alg\":\"HS1\"}", payload_ok, &junk), hs, &o, JWT_ERR_ALG_UNSUPPORTED);
    EXPECT(token("{\"alg\":\"EdDSA\"}", payload_ok, &junk), set, &o, JWT_ERR_ALG_UNSUPPORTED);
    EXPECT(token("{\"alg\":\"rs256\"}", payload_ok, &junk), set, &o, JWT_ERR_ALG_UNSUPPORTED);
    EXPECT(token("{\"alg\":\"\"}", payload_ok, &junk), set, &o, JWT_ERR_ALG_UNSUPPORTED);
    EXPECT(token("{\"typ\":\"JWT\"}", payload_ok, &junk), set, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":256}", payload_ok, &junk), set, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":null}", payload_ok, &junk), set, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":[\"RS256\"]}", payload_ok, &junk), set, &o, JWT_ERR_BAD_HEADER);
    /* An allow-list narrows what the keys could do. */
    struct signer rs256 = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    o.alg_mask = JWT_ALG_BIT(JWT_ALG_ES256) | JWT_ALG_BIT(JWT_ALG_PS256);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs256), set, &o, JWT_ERR_ALG_NOT_ALLOWED);
    o.alg_mask = JWT_ALG_BIT(JWT_ALG_RS256);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs256), set, &o, JWT_OK);
    jwks_free(set);
    jwks_free(hs);
}

static void test_algorithm_confusion(void)
{
    struct jwt_options o = opts();
    make_keys();
    size_t publen = 0;
    unsigned char *pub = (unsigned char *)slurp(scratch_path("rsa.pub"), &publen);
    CHECK(pub != NULL);
    /* The classic attack: HS256 keyed with the public key's PEM text. */
    struct signer forged = {
        .how = HMAC_INTEST, .md = "SHA256", .secret = pub, .secret_len = publen};
    struct signer forged_cli = {.how = CLI_HMAC, .md = "sha256", .secret = pub, .secret_len = 64};
    struct jwk_set *pem = pem_set("rsa.pub");
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &forged), pem, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &forged_cli), pem, &o, JWT_ERR_NO_KEY);
    /* ... and keyed with the DER of the key, or the JWKS's n. */
    unsigned char der[2048];
    unsigned char *dp = der;
    FILE *f = fopen(scratch_path("rsa.pub"), "r");
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    int derlen = i2d_PUBKEY(k, &dp);
    EVP_PKEY_free(k);
    struct signer forged_der = {
        .how = HMAC_INTEST, .md = "SHA256", .secret = der, .secret_len = (size_t)derlen};
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &forged_der), pem, &o, JWT_ERR_NO_KEY);
    char *rsa_jwk = jwk_of("rsa.pub", "r1", "");
    char jwks[4200], err[256];
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", rsa_jwk);
    struct jwk_set *js = jwks_parse(jwks, strlen(jwks), err, sizeof(err));
    CHECK(js != NULL);
    EXPECT(token("{\"alg\":\"HS256\",\"kid\":\"r1\"}", payload_ok, &forged), js, &o,
           JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"HS256\"}", payload_ok, &forged), js, &o, JWT_ERR_NO_KEY);
    /* An HMAC secret's set refuses public-key algorithms. */
    struct jwk_set *hs = jwks_from_hmac_secret(pub, publen, err, sizeof(err));
    CHECK(hs != NULL);
    struct signer rs256 = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs256), hs, &o, JWT_ERR_NO_KEY);
    /* ES256 header over an RSA key. */
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &rs256), pem, &o, JWT_ERR_NO_KEY);
    /* A key embedded in the header is never trusted. */
    EVP_PKEY *mine = load_private("rsa2.key");
    char *mine_jwk = jwk_of("rsa2.pub", "r1", "");
    char hdr[4400];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"jwk\":%s}", mine_jwk);
    struct signer evil = {.how = EVP, .md = "SHA256", .pkey = mine};
    EXPECT(token(hdr, payload_ok, &evil), js, &o, JWT_ERR_BAD_SIGNATURE);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"jku\":\"https://evil.example/jwks\"}");
    EXPECT(token(hdr, payload_ok, &evil), pem, &o, JWT_ERR_BAD_SIGNATURE);
    free(mine_jwk);
    EVP_PKEY_free(mine);
    free(rsa_jwk);
    jwks_free(js);
    jwks_free(hs);
    jwks_free(pem);
    free(pub);
}

static void test_jwks_and_kid(void)
{
    char *r1 = jwk_of("rsa.pub", "r1", ",\"use\":\"sig\"");
    char *r2 = jwk_of("rsa2.pub", "r2", ",\"alg\":\"RS256\"");
    char *e1 = jwk_of("ec256.pub", "e1", ",\"key_ops\":[\"verify\"]");
    char *e5 = jwk_of("ec521.pub", "e5", "");
    char *enc = jwk_of("rsa2.pub", "enc", ",\"use\":\"enc\"");
    char *oaep = jwk_of("rsa2.pub", "oaep", ",\"alg\":\"RSA-OAEP\"");
    char k64[100];
    b64url_encode(secret64, 64, k64);
    char *jwks = malloc(20000);
    snprintf(jwks, 20000,
             "{\"keys\":[%s,%s,%s,%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"%s\"},"
             "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
             "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}",
             r1, r2, e1, e5, enc, oaep, k64);
    char err[256] = "";
    struct jwk_set *set = jwks_parse(jwks, strlen(jwks), err, sizeof(err));
    CHECK(set != NULL);
    if (!set)
        printf("# %s\n", err);
    CHECK_INT_EQ(jwks_count(set), 4); /* r1 r2 e1 h1; P-521, enc, OAEP and OKP skipped */
    struct jwt_options o = opts();
    struct signer rs1 = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    struct signer rs2 = {.how = CLI, .md = "sha256", .keyfile = "rsa2.key"};
    struct signer ps2 = {.how = CLI, .md = "sha256", .pss = 1, .keyfile = "rsa2.key"};
    struct signer es = {.how = CLI, .md = "sha256", .ec = 32, .keyfile = "ec256.key"};
    struct signer hs = {.how = HMAC_INTEST, .md = "SHA512", .secret = secret64, .secret_len = 64};
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload_ok, &rs1), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"r2\"}", payload_ok, &rs2), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs2), set, &o, JWT_OK); /* no kid: try all */
    EXPECT(token("{\"alg\":\"ES256\",\"kid\":\"e1\"}", payload_ok, &es), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"HS512\",\"kid\":\"h1\"}", payload_ok, &hs), set, &o, JWT_OK);
    /* kid names a key, which must then verify. */
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"r2\"}", payload_ok, &rs1), set, &o,
           JWT_ERR_BAD_SIGNATURE);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"nope\"}", payload_ok, &rs1), set, &o,
           JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"\"}", payload_ok, &rs1), set, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"enc\"}", payload_ok, &rs2), set, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"e1\"}", payload_ok, &rs1), set, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"HS512\",\"kid\":\"r1\"}", payload_ok, &hs), set, &o, JWT_ERR_NO_KEY);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":7}", payload_ok, &rs1), set, &o, JWT_ERR_BAD_HEADER);
    /* r2 says alg RS256: PS256 with it is refused. */
    EXPECT(token("{\"alg\":\"PS256\",\"kid\":\"r2\"}", payload_ok, &ps2), set, &o, JWT_ERR_NO_KEY);
    jwks_free(set);

    /* A single JWK is a set of one. */
    set = jwks_parse(r1, strlen(r1), err, sizeof(err));
    CHECK(set && jwks_count(set) == 1);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs1), set, &o, JWT_OK);
    jwks_free(set);
    /* Several PEM keys in one secret. */
    make_keys();
    sh("cat %s %s %s %s > %s", scratch_path("rsa.pub"), scratch_path("ec256.pub"),
       scratch_path("rsa.crt"), scratch_path("ec384.pub"), scratch_path("bundle.pem"));
    set = pem_set("bundle.pem");
    CHECK(set && jwks_count(set) == 4);
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &es), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs1), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\"}", payload_ok, &rs2), set, &o, JWT_ERR_BAD_SIGNATURE);
    /* PEM keys have no kid: a token's kid does not rule them out. */
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"2024-rotation\"}", payload_ok, &rs1), set, &o,
           JWT_OK);
    jwks_free(set);
    /* Keys with and without a kid side by side. */
    char k64b[100];
    b64url_encode(secret64, 64, k64b);
    snprintf(jwks, 20000, "{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"%s\"}]}", r2, k64b);
    set = jwks_parse(jwks, strlen(jwks), err, sizeof(err));
    CHECK(set && jwks_count(set) == 2);
    EXPECT(token("{\"alg\":\"HS512\",\"kid\":\"r2\"}", payload_ok, &hs), set, &o, JWT_OK);
    EXPECT(token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload_ok, &rs2), set, &o, JWT_ERR_NO_KEY);
    jwks_free(set);
    free(r1);
    free(r2);
    free(e1);
    free(e5);
    free(enc);
    free(oaep);
    free(jwks);
}

/* Parsing s must fail with an error containing want. */
static void expect_key_error(const char *s, size_t len, const char *want)
{
    char err[512] = "";
    struct jwk_set *set = jwks_parse(s, len, err, sizeof(err));
    CHECK(set == NULL);
    if (!strstr(err, want)) {
        printf("#   error \"%s\" lacks \"%s\"\n", err, want);
        test_failures_in_current++;
    }
    jwks_free(set);
}

#define KEY_ERROR(s, want) expect_key_error(s, strlen(s), want)

static void test_key_errors(void)
{
    make_keys();
    KEY_ERROR("{\"keys\":", "not valid JSON");
    KEY_ERROR("{\"keys\":{}}", "not an array");
    KEY_ERROR("{\"foo\":1}", "neither");
    KEY_ERROR("{\"keys\":[]}", "no usable");
    KEY_ERROR("{\"keys\":[{\"kty\":\"OKP\"}]}", "no usable signature key (1 skipped)");
    KEY_ERROR("{\"keys\":[1]}", "JWKS key 0: not a JSON object");
    KEY_ERROR("{\"keys\":[{\"kid\":\"a\"}]}", "JWKS key 0 (kid \"a\"): no \"kty\"");
    KEY_ERROR("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"e\":\"AQAB\"}]}", "needs base64url");
    KEY_ERROR("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB=\",\"e\":\"AQAB\"}]}", "needs base64url");
    KEY_ERROR("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", "RSA");
    KEY_ERROR("{\"kty\":\"RSA\",\"kty\":\"EC\"}", "not valid JSON"); /* duplicate member */
    KEY_ERROR("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
              "of the curve's size");
    /* 32 bytes each, but not a point on P-256. */
    KEY_ERROR("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
              "\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\","
              "\"y\":\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI\"}]}",
              "rejected");
    KEY_ERROR("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}]}", "shorter than 32 bytes");
    KEY_ERROR("{\"keys\":[{\"kty\":\"oct\",\"k\":7}]}", "needs a base64url");
    char k32[64], buf[512];
    b64url_encode(secret64, 32, k32);
    snprintf(buf, sizeof(buf), "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS512\",\"k\":\"%s\"}]}",
             k32);
    KEY_ERROR(buf, "needs a longer oct key");
    char *r = jwk_of("rsa.pub", "r", ",\"alg\":\"ES256\"");
    KEY_ERROR(r, "(kid \"r\"): \"alg\" does not fit the key type");
    free(r);
    r = jwk_of("rsa1024.pub", "small", "");
    KEY_ERROR(r, "outside 2048..16384 bits");
    free(r);
    KEY_ERROR("{\"keys\":[{\"kty\":\"RSA\",\"kid\":[1]}]}", "\"kid\" is not a string");
    KEY_ERROR("{\"keys\":[{\"kty\":\"RSA\",\"use\":1}]}", "\"use\" is not a string");

    /* 65 usable keys are too many. */
    char *one = jwk_of("ec256.pub", "k", "");
    size_t cap = 70 * (strlen(one) + 2) + 32;
    char *many = malloc(cap);
    strcpy(many, "{\"keys\":[");
    for (int i = 0; i < 65; i++) {
        strcat(many, one);
        strcat(many, i < 64 ? "," : "]}");
    }
    KEY_ERROR(many, "more than 64 usable keys");
    free(many);
    free(one);

    size_t len = 0;
    char *priv = (char *)slurp(scratch_path("rsa.key"), &len);
    expect_key_error(priv, len, "is a private key");
    free(priv);
    char *small = (char *)slurp(scratch_path("rsa1024.pub"), &len);
    expect_key_error(small, len, "PEM block 1 (PUBLIC KEY): RSA key size outside");
    free(small);
    char *ed = (char *)slurp(scratch_path("ed.pub"), &len);
    expect_key_error(ed, len, "unsupported key type");
    free(ed);
    char *p521 = (char *)slurp(scratch_path("ec521.pub"), &len);
    expect_key_error(p521, len, "unsupported EC curve");
    free(p521);
    KEY_ERROR("", "no PEM public key");
    KEY_ERROR("hello\n", "no PEM public key");
    KEY_ERROR("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "does not decode");
    KEY_ERROR("-----BEGIN PUBLIC KEY-----\nMIIB\n", "malformed");
    KEY_ERROR("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", "unsupported type");
    /* A good key followed by a broken block fails as a whole, naming block 2. */
    char *good = (char *)slurp(scratch_path("ec256.pub"), &len);
    char *two = malloc(len + 200);
    snprintf(two, len + 200, "%s-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
             good);
    KEY_ERROR(two, "PEM block 2");
    free(two);
    free(good);
    char err[128];
    CHECK(jwks_parse_json(NULL, 0, err, sizeof(err)) == NULL);
    CHECK(jwks_parse_pem(NULL, 0, err, sizeof(err)) == NULL);
    CHECK(jwks_from_hmac_secret(NULL, 0, err, sizeof(err)) == NULL);
}

static void test_claims(void)
{
    char err[128];
    struct jwk_set *s = jwks_from_hmac_secret(secret64, 64, err, sizeof(err));
    struct signer hs = {.how = HMAC_INTEST, .md = "SHA256", .secret = secret64, .secret_len = 64};
    const char *h = "{\"alg\":\"HS256\"}";
    struct jwt_options o = opts();
    EXPECT(token(h, payload_ok, &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1699999999}", &hs), s, &o, JWT_ERR_EXPIRED);
    EXPECT(token(h, "{\"exp\":1700000000}", &hs), s, &o, JWT_ERR_EXPIRED); /* now == exp */
    EXPECT(token(h, "{\"exp\":1700000001}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1700000000.5}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1.7e9}", &hs), s, &o, JWT_ERR_EXPIRED);
    EXPECT(token(h, "{\"exp\":-1}", &hs), s, &o, JWT_ERR_EXPIRED);
    EXPECT(token(h, "{\"exp\":1e300}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":9223372036854775807}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":\"1800000000\"}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    EXPECT(token(h, "{\"exp\":true}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    EXPECT(token(h, "{\"exp\":null}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    EXPECT(token(h, "{\"sub\":\"x\"}", &hs), s, &o, JWT_ERR_NO_EXP);
    EXPECT(token(h, "{\"exp\":1800000000,\"nbf\":1700000001}", &hs), s, &o, JWT_ERR_NOT_YET_VALID);
    EXPECT(token(h, "{\"exp\":1800000000,\"nbf\":1700000000}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"nbf\":[1]}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    o.leeway = 60;
    EXPECT(token(h, "{\"exp\":1699999950}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1699999940}", &hs), s, &o, JWT_ERR_EXPIRED);
    EXPECT(token(h, "{\"exp\":1800000000,\"nbf\":1700000060}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"nbf\":1700000061}", &hs), s, &o, JWT_ERR_NOT_YET_VALID);
    o.leeway = -5; /* treated as 0 */
    EXPECT(token(h, "{\"exp\":1700000000}", &hs), s, &o, JWT_ERR_EXPIRED);
    o = opts();
    o.require_exp = false;
    EXPECT(token(h, "{\"sub\":\"x\"}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{}", &hs), s, &o, JWT_OK);

    o = opts();
    o.issuer = "https://idp.example";
    EXPECT(token(h, payload_ok, &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"iss\":\"https://idp.example/\"}", &hs), s, &o,
           JWT_ERR_ISSUER);
    EXPECT(token(h, "{\"exp\":1800000000,\"iss\":\"HTTPS://idp.example\"}", &hs), s, &o,
           JWT_ERR_ISSUER);
    EXPECT(token(h, "{\"exp\":1800000000}", &hs), s, &o, JWT_ERR_ISSUER);
    EXPECT(token(h, "{\"exp\":1800000000,\"iss\":[\"https://idp.example\"]}", &hs), s, &o,
           JWT_ERR_BAD_CLAIM);

    o = opts();
    const char *auds[] = {"spoke", "other"};
    o.audiences = auds;
    o.n_audiences = 2;
    EXPECT(token(h, payload_ok, &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":\"other\"}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":[\"x\",\"spoke\"]}", &hs), s, &o, JWT_OK);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":[\"x\",\"y\"]}", &hs), s, &o, JWT_ERR_AUDIENCE);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":[]}", &hs), s, &o, JWT_ERR_AUDIENCE);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":\"spoke2\"}", &hs), s, &o, JWT_ERR_AUDIENCE);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":\"spok\"}", &hs), s, &o, JWT_ERR_AUDIENCE);
    EXPECT(token(h, "{\"exp\":1800000000}", &hs), s, &o, JWT_ERR_AUDIENCE);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":[\"spoke\",1]}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":{\"spoke\":1}}", &hs), s, &o, JWT_ERR_BAD_CLAIM);
    /* Unconfigured audience: "aud" is not looked at. */
    o.n_audiences = 0;
    EXPECT(token(h, "{\"exp\":1800000000,\"aud\":\"anything\"}", &hs), s, &o, JWT_OK);
    jwks_free(s);
}

static void test_malformed_tokens(void)
{
    char err[128];
    struct jwk_set *s = jwks_from_hmac_secret(secret64, 64, err, sizeof(err));
    struct jwk_set *rs = pem_set("rsa.pub");
    struct jwk_set *ec = pem_set("ec256.pub");
    struct signer hs = {.how = HMAC_INTEST, .md = "SHA256", .secret = secret64, .secret_len = 64};
    struct jwt_options o = opts();
    const char *h = "{\"alg\":\"HS256\"}";
    char *good = token(h, payload_ok, &hs);
    CHECK_INT_EQ(check(good, s, &o), JWT_OK);
    size_t glen = strlen(good);

    CHECK_INT_EQ(check("", s, &o), JWT_ERR_MALFORMED);
    CHECK_INT_EQ(check("..", s, &o), JWT_ERR_MALFORMED);
    CHECK_INT_EQ(check("a.b", s, &o), JWT_ERR_MALFORMED);
    CHECK_INT_EQ(check("abc", s, &o), JWT_ERR_MALFORMED);
    CHECK_INT_EQ(check("a.b.c.d.e", s, &o), JWT_ERR_MALFORMED); /* JWE is not a JWS */
    CHECK_INT_EQ(jwt_verify(NULL, 0, s, &o, NULL), JWT_ERR_MALFORMED);
    CHECK_INT_EQ(jwt_verify(good, glen, NULL, &o, NULL), JWT_ERR_INTERNAL);
    char *t = malloc(glen + 8);
    /* Padding, the standard alphabet, blanks: each one byte changed. */
    snprintf(t, glen + 8, "%s=", good);
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_MALFORMED);
    strcpy(t, good);
    t[3] = '+';
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_MALFORMED);
    strcpy(t, good);
    t[strlen(t) - 1] = '/';
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_MALFORMED);
    strcpy(t, good);
    t[5] = ' ';
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_MALFORMED);
    /* A payload byte flipped (still valid base64url). */
    strcpy(t, good);
    char *p = strchr(t, '.') + 3;
    *p = *p == 'A' ? 'B' : 'A';
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_BAD_SIGNATURE);
    /* A NUL inside the length is just a bad byte. */
    strcpy(t, good);
    t[4] = '\0';
    CHECK_INT_EQ(jwt_verify(t, glen, s, &o, NULL), JWT_ERR_MALFORMED);
    /* Non-canonical last character of the signature (HS256: 43 chars, 2 spare bits). */
    strcpy(t, good);
    char *last = t + glen - 1;
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(alpha, *last) - alpha);
    *last = alpha[v | 1];
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_MALFORMED);
    /* Truncated signatures: by one char (2 mod 4: bits left over or a short tag). */
    for (size_t cut = 1; cut < 12; cut++) {
        strcpy(t, good);
        t[glen - cut] = '\0';
        enum jwt_reason r = check(t, s, &o);
        CHECK(r == JWT_ERR_MALFORMED || r == JWT_ERR_BAD_SIGNATURE);
    }
    strcpy(t, good);
    *(strrchr(t, '.') + 1) = '\0';
    CHECK_INT_EQ(check(t, s, &o), JWT_ERR_BAD_SIGNATURE);
    free(t);

    struct signer rs256 = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    char *rt = token("{\"alg\":\"RS256\"}", payload_ok, &rs256);
    size_t rlen = strlen(rt);
    for (size_t cut = 1; cut <= 8; cut++) {
        enum jwt_reason r = jwt_verify(rt, rlen - cut, rs, &o, NULL);
        CHECK(r == JWT_ERR_MALFORMED || r == JWT_ERR_BAD_SIGNATURE);
    }
    CHECK_INT_EQ(jwt_verify(rt, rlen, rs, &o, NULL), JWT_OK);
    free(rt);
    struct signer es = {.how = CLI, .md = "sha256", .ec = 32, .keyfile = "ec256.key"};
    char *et = token("{\"alg\":\"ES256\"}", payload_ok, &es);
    size_t elen = strlen(et);
    CHECK_INT_EQ(jwt_verify(et, elen - 2, ec, &o, NULL), JWT_ERR_BAD_SIGNATURE); /* 63 bytes */
    CHECK_INT_EQ(jwt_verify(et, elen, ec, &o, NULL), JWT_OK);
    free(et);
    /* r = 0, s = 0 */
    struct signer zero = {.how = RAW_SIG,
                          .raw_sig = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                     "AAAAAAAAAAAAAAAAAAAAAAAAA"};
    EXPECT(token("{\"alg\":\"ES256\"}", payload_ok, &zero), ec, &o, JWT_ERR_BAD_SIGNATURE);

    /* Header and payload JSON. */
    EXPECT(token("{\"alg\":\"HS256\",\"alg\":\"none\"}", payload_ok, &hs), s, &o,
           JWT_ERR_BAD_HEADER);
    EXPECT(token("[\"HS256\"]", payload_ok, &hs), s, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("\"HS256\"", payload_ok, &hs), s, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":\"HS256\"", payload_ok, &hs), s, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":\"HS256\"} {}", payload_ok, &hs), s, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("{\"alg\":\"HS\\u0000256\"}", payload_ok, &hs), s, &o, JWT_ERR_BAD_HEADER);
    EXPECT(token("", payload_ok, &hs), s, &o, JWT_ERR_MALFORMED);
    EXPECT(token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload_ok, &hs), s, &o, JWT_ERR_CRIT);
    EXPECT(token("{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", payload_ok, &hs), s, &o,
           JWT_ERR_CRIT);
    EXPECT(token(h, "{\"exp\":1800000000,\"exp\":1}", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "{\"sub\":\"a\",\"sub\":\"b\",\"exp\":1800000000}", &hs), s, &o,
           JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "[1800000000]", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "1800000000", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "{\"exp\":1800000000,\"x\":\"\\ud800\"}", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);
    EXPECT(token(h, "{\"exp\":1800000000} trailing", &hs), s, &o, JWT_ERR_BAD_PAYLOAD);

    /* Size: JWT_MAX_TOKEN is fine, one more byte is not. */
    size_t pad = JWT_MAX_TOKEN;
    char *payload = malloc(pad);
    size_t plen = (JWT_MAX_TOKEN - 100) / 4 * 3;
    int n = snprintf(payload, pad, "{\"exp\":1800000000,\"pad\":\"");
    memset(payload + n, 'x', plen - (size_t)n - 2);
    strcpy(payload + plen - 2, "\"}");
    char *big = token(h, payload, &hs);
    size_t blen = strlen(big);
    CHECK(blen <= JWT_MAX_TOKEN);
    CHECK_INT_EQ(check(big, s, &o), JWT_OK);
    char *huge = malloc(JWT_MAX_TOKEN + 2);
    memset(huge, 'A', JWT_MAX_TOKEN + 1);
    huge[JWT_MAX_TOKEN + 1] = '\0';
    memcpy(huge, big, blen);
    CHECK_INT_EQ(jwt_verify(huge, JWT_MAX_TOKEN + 1, s, &o, NULL), JWT_ERR_TOO_LARGE);
    CHECK_INT_EQ(jwt_verify(huge, (size_t)1 << 30, s, &o, NULL), JWT_ERR_TOO_LARGE);
    free(huge);
    free(big);
    free(payload);
    free(good);
    jwks_free(s);
    jwks_free(rs);
    jwks_free(ec);
}

static void test_claims_to_headers(void)
{
    char err[128], buf[64];
    struct jwk_set *s = jwks_from_hmac_secret(secret64, 64, err, sizeof(err));
    struct signer hs = {.how = HMAC_INTEST, .md = "SHA256", .secret = secret64, .secret_len = 64};
    const char *payload =
        "{\"exp\":1800000000,\"sub\":\"alice\",\"n\":42,\"neg\":-7,\"r\":1.5,\"ok\":true,"
        "\"no\":false,\"nil\":null,\"groups\":[\"dev\",\"ops\",3,true],\"empty\":\"\","
        "\"obj\":{\"b\":1,\"a\":\"x\\ny\"},\"deep\":[[1],{\"a\":2}],"
        "\"realm_access\":{\"roles\":[\"admin\",\"user\"]},\"https://ex.com/tenant\":\"t1\","
        "\"crlf\":\"a\\r\\nX-Injected: 1\",\"tab\":\"a\\tb\",\"utf8\":\"\\u00e9t\\u00e9\","
        "\"del\":\"a\\u007f\",\"long\":"
        "\"0123456789012345678901234567890123456789012345678901234567890123\"}";
    char *t = token("{\"alg\":\"HS256\"}", payload, &hs);
    struct jwt_options o = opts();
    struct jwt_claims *c = (struct jwt_claims *)1;
    CHECK_INT_EQ(jwt_verify(t, strlen(t), s, &o, &c), JWT_OK);
    CHECK(c != NULL);
    CHECK_INT_EQ(jwt_claims_get(c, "sub", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "alice");
    CHECK_INT_EQ(jwt_claims_get(c, "n", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "42");
    CHECK_INT_EQ(jwt_claims_get(c, "neg", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "-7");
    CHECK_INT_EQ(jwt_claims_get(c, "r", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "1.5");
    CHECK_INT_EQ(jwt_claims_get(c, "ok", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "true");
    CHECK_INT_EQ(jwt_claims_get(c, "no", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "false");
    CHECK_INT_EQ(jwt_claims_get(c, "nil", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    CHECK_INT_EQ(jwt_claims_get(c, "absent", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(jwt_claims_get(c, "groups", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "dev,ops,3,true");
    CHECK_INT_EQ(jwt_claims_get(c, "empty", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(jwt_claims_get(c, "obj", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "{\"b\":1,\"a\":\"x\\ny\"}");
    CHECK_INT_EQ(jwt_claims_get(c, "deep", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "[[1],{\"a\":2}]");
    CHECK_INT_EQ(jwt_claims_get(c, "realm_access.roles", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "admin,user");
    CHECK_INT_EQ(jwt_claims_get(c, "obj.a", buf, sizeof(buf)), JWT_CLAIM_UNPRINTABLE);
    CHECK_INT_EQ(jwt_claims_get(c, "obj.b", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "1");
    CHECK_INT_EQ(jwt_claims_get(c, "realm_access.", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    CHECK_INT_EQ(jwt_claims_get(c, ".realm_access", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    CHECK_INT_EQ(jwt_claims_get(c, "sub.x", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    CHECK_INT_EQ(jwt_claims_get(c, "https://ex.com/tenant", buf, sizeof(buf)), JWT_CLAIM_OK);
    CHECK_STR_EQ(buf, "t1");
    CHECK_INT_EQ(jwt_claims_get(c, "crlf", buf, sizeof(buf)), JWT_CLAIM_UNPRINTABLE);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(jwt_claims_get(c, "tab", buf, sizeof(buf)), JWT_CLAIM_UNPRINTABLE);
    CHECK_INT_EQ(jwt_claims_get(c, "utf8", buf, sizeof(buf)), JWT_CLAIM_UNPRINTABLE);
    CHECK_INT_EQ(jwt_claims_get(c, "del", buf, sizeof(buf)), JWT_CLAIM_UNPRINTABLE);
    CHECK_INT_EQ(jwt_claims_get(c, "long", buf, sizeof(buf)), JWT_CLAIM_TOO_LONG);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(jwt_claims_get(c, "sub", buf, 6), JWT_CLAIM_OK);
    CHECK_INT_EQ(jwt_claims_get(c, "sub", buf, 5), JWT_CLAIM_TOO_LONG);
    CHECK_INT_EQ(jwt_claims_get(c, "sub", NULL, 0), JWT_CLAIM_TOO_LONG);
    CHECK_INT_EQ(jwt_claims_get(NULL, "sub", buf, sizeof(buf)), JWT_CLAIM_MISSING);
    jwt_claims_free(c);
    jwt_claims_free(NULL);
    /* A failed verification leaves no claims behind. */
    o.now = 1900000000;
    c = (struct jwt_claims *)1;
    CHECK_INT_EQ(jwt_verify(t, strlen(t), s, &o, &c), JWT_ERR_EXPIRED);
    CHECK(c == NULL);
    free(t);
    jwks_free(s);
}

static void test_reason_strings_and_alg_lists(void)
{
    for (int r = JWT_OK; r <= JWT_ERR_INTERNAL; r++)
        CHECK(strcmp(jwt_reason_str((enum jwt_reason)r), "?") != 0);
    CHECK_STR_EQ(jwt_reason_str(JWT_ERR_EXPIRED), "expired");
    unsigned m = 0;
    char err[128];
    CHECK(jwa_parse_list(" RS256, ES256 ,HS512", &m, err, sizeof(err)) == 0);
    CHECK_INT_EQ(m, JWT_ALG_BIT(JWT_ALG_RS256) | JWT_ALG_BIT(JWT_ALG_ES256) |
                        JWT_ALG_BIT(JWT_ALG_HS512));
    CHECK(jwa_parse_list("RS256,none", &m, err, sizeof(err)) != 0);
    CHECK(strstr(err, "\"none\"") != NULL);
    CHECK(jwa_parse_list("RS256,VERYLONGNAME", &m, err, sizeof(err)) != 0);
    CHECK(jwa_parse_list(" , ", &m, err, sizeof(err)) != 0);
    CHECK(jwa_parse_list(NULL, &m, err, sizeof(err)) != 0);
    for (int a = 0; a < JWT_ALG_COUNT; a++) {
        enum jwt_alg back;
        CHECK(jwa_from_name(jwa_name((enum jwt_alg)a), &back) == 0 && (int)back == a);
    }
}

struct worker {
    const struct jwk_set *set;
    const char *tokens[3];
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct jwt_options o = opts();
    for (int i = 0; i < 200; i++) {
        for (int k = 0; k < 3; k++) {
            struct jwt_claims *c = NULL;
            char sub[16];
            enum jwt_reason r = jwt_verify(w->tokens[k], strlen(w->tokens[k]), w->set, &o, &c);
            if (r != JWT_OK && i == 0)
                printf("# token %d: %s\n", k, jwt_reason_str(r));
            w->failures += r != JWT_OK;
            w->failures += jwt_claims_get(c, "sub", sub, sizeof(sub)) != JWT_CLAIM_OK;
            jwt_claims_free(c);
        }
    }
    return NULL;
}

static void test_threads_share_a_set(void)
{
    char *r1 = jwk_of("rsa.pub", "r1", ""), *e1 = jwk_of("ec256.pub", "e1", "");
    char k64[100], jwks[10000], err[256];
    b64url_encode(secret64, 64, k64);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s,{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"%s\"}]}",
             r1, e1, k64);
    struct jwk_set *set = jwks_parse(jwks, strlen(jwks), err, sizeof(err));
    CHECK(set != NULL);
    struct signer rs = {.how = CLI, .md = "sha256", .keyfile = "rsa.key"};
    struct signer es = {.how = CLI, .md = "sha256", .ec = 32, .keyfile = "ec256.key"};
    struct signer hs = {.how = HMAC_INTEST, .md = "SHA256", .secret = secret64, .secret_len = 64};
    char *t[3] = {token("{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload_ok, &rs),
                  token("{\"alg\":\"ES256\"}", payload_ok, &es),
                  token("{\"alg\":\"HS256\",\"kid\":\"h\"}", payload_ok, &hs)};
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){set, {t[0], t[1], t[2]}, 0};
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(w[i].failures, 0);
    }
    for (int i = 0; i < 3; i++)
        free(t[i]);
    free(r1);
    free(e1);
    jwks_free(set);
}

TEST_MAIN(TEST_CASE(test_base64url), TEST_CASE(test_rsa_algorithms_from_the_cli),
          TEST_CASE(test_ecdsa_from_the_cli), TEST_CASE(test_signed_with_evp), TEST_CASE(test_hmac),
          TEST_CASE(test_alg_none_and_unknown), TEST_CASE(test_algorithm_confusion),
          TEST_CASE(test_jwks_and_kid), TEST_CASE(test_key_errors), TEST_CASE(test_claims),
          TEST_CASE(test_malformed_tokens), TEST_CASE(test_claims_to_headers),
          TEST_CASE(test_reason_strings_and_alg_lists), TEST_CASE(test_threads_share_a_set))
