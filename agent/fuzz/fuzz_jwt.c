/*
 * fuzz_jwt.c - libFuzzer target for the JWT verifier and key parsers.
 *
 * The first input byte picks what the rest is (seeds in
 * agent/fuzz/corpus/fuzz_jwt/):
 *   0: a token, verified against a fixed key set (RSA, EC P-256, oct);
 *   1: "header.payload" in base64url, which this target signs with the
 *      fixed HMAC key before verifying, so that fuzzed payloads get past
 *      the signature check into claim parsing and claims-to-headers;
 *   2: key material (JWKS JSON or PEM), parsed, then used on a fixed token.
 * Invariants: a verdict is a known reason; claims come back only with
 * JWT_OK; claim text is printable ASCII and NUL-terminated; an HS256 token
 * is never accepted from a set without oct keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64.h"
#include "auth/jwks.h"
#include "auth/jwt.h"

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const char hmac_key[] = "fuzz-hmac-secret-0123456789abcdef";

static const char fixed_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\"1cHvxuqEYHQCsyu6ZEuiOHuVUqcXosDTc1OC"
    "5NjFjr9b4ji3IvvsVrosCHJIf01-iQDlp-HRGpzgdFRfbKgKEgkQqzrejG3OikIJ-g9UOUWPB5RO-oYKV9Sn-4Rfg3U-"
    "QlmKq22wK96kEkmel8g-okDfgp-BTvnWd7dn13BGoUTuWqU1XPYAiMQsPIdEXFso4yZMo9F1sIPhyVDE5mg7nPeTnL2Vf"
    "WSGTMLoQU9WTxnWN3_IYTNgBU0Lo-Xjh8-3GgGpfPRKFo1OzQ7Yhqfpc6ANiZVNqOe4Hty4gSVJRipfGCqENovnwr_k2R"
    "ZX-Zo9gv4JQ9LHN6DAzsKM2ju_OQ\"},"
    "{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\","
    "\"x\":\"iHQeghHCAbqd5cCNbsOuM68LFdvy15BGMgxCFg-4an8\","
    "\"y\":\"Z6UkBh8qOYGWp5zlzNE3bkbYE6FTQdMrRUTmLqwGyJ8\"},"
    "{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"ZnV6ei1obWFjLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm\"}]}";

/* An HS256 token for mode 2's key sets: {"alg":"HS256"}.{"exp":...}. */
static const char fixed_token[] = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE4MDAwMDAwMDB9."
                                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static struct jwk_set *keys;
static const char *const auds[] = {"spoke", "api"};

static const char *const claim_names[] = {
    "sub", "groups", "realm_access.roles", "a.b.c", "exp", "obj", "", "."};

static void check_claims(const struct jwt_claims *c)
{
    for (size_t i = 0; i < sizeof(claim_names) / sizeof(claim_names[0]); i++) {
        char buf[256];
        enum jwt_claim_status st = jwt_claims_get(c, claim_names[i], buf, sizeof(buf));
        MUST(st <= JWT_CLAIM_TOO_LONG);
        size_t n = strnlen(buf, sizeof(buf));
        MUST(n < sizeof(buf));
        if (st != JWT_CLAIM_OK)
            MUST(n == 0);
        for (size_t k = 0; k < n; k++)
            MUST(buf[k] >= 0x20 && buf[k] <= 0x7e);
    }
}

static void verify(const char *tok, size_t len, const struct jwk_set *set, int64_t now)
{
    struct jwt_options o = {.now = now, .leeway = 60, .require_exp = (now & 1) != 0};
    if (now & 2) {
        o.issuer = "https://idp.example";
        o.audiences = auds;
        o.n_audiences = 2;
    }
    struct jwt_claims *c = NULL;
    enum jwt_reason r = jwt_verify(tok, len, set, &o, &c);
    MUST(r <= JWT_ERR_INTERNAL);
    MUST(jwt_reason_str(r) != NULL);
    MUST((r == JWT_OK) == (c != NULL));
    if (c)
        check_claims(c);
    jwt_claims_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!keys) {
        keys = jwks_parse(fixed_jwks, sizeof(fixed_jwks) - 1, err, sizeof(err));
        MUST(keys && jwks_count(keys) == 3);
    }
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        verify(in, len, keys, 1700000000 + (int64_t)(len % 4));
        break;
    case 1: {
        if (len > JWT_MAX_TOKEN)
            return 0;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        MUST(HMAC(EVP_sha256(), hmac_key, (int)strlen(hmac_key), (const unsigned char *)in, len,
                  mac, &maclen));
        char *tok = malloc(len + 1 + B64URL_ENCODED_LEN(maclen) + 1);
        MUST(tok);
        memcpy(tok, in, len);
        tok[len] = '.';
        size_t n = len + 1 + b64url_encode(mac, maclen, tok + len + 1);
        verify(tok, n, keys, 1700000000 + (int64_t)(len % 4));
        free(tok);
        break;
    }
    default: {
        struct jwk_set *set = jwks_parse(in, len, err, sizeof(err));
        if (set) {
            MUST(jwks_count(set) >= 1 && jwks_count(set) <= JWKS_MAX_KEYS);
            int has_oct = 0;
            for (size_t i = 0; i < jwks_count(set); i++) {
                const struct jwk *k = jwks_key(set, i);
                MUST(k->alg_mask != 0);
                MUST((k->type == JWK_OCT) == (k->secret != NULL));
                MUST((k->type == JWK_OCT) == (k->pkey == NULL));
                has_oct |= k->type == JWK_OCT;
            }
            struct jwt_options o = {.now = 1700000000};
            enum jwt_reason r = jwt_verify(fixed_token, sizeof(fixed_token) - 1, set, &o, NULL);
            if (!has_oct)
                MUST(r == JWT_ERR_NO_KEY);
            jwks_free(set);
        } else {
            MUST(err[0] != '\0');
        }
        break;
    }
    }
    return 0;
}
