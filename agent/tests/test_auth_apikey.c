/* test_auth_apikey.c - API key sets: plain and "sha256:" values, trimming,
 * errors that name the item, matching by name, and hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/apikey.h"
#include "test.h"

/* "sha256:" + hex digest of s, into out (72 bytes). */
static void hashed(const char *s, char out[72], int upper)
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, upper ? "%02X" : "%02x", d[i]);
}

static int verify(const struct apikey_set *s, const char *key, const char **name)
{
    return apikey_verify(s, key, strlen(key), name);
}

static void test_plain_and_hashed(void)
{
    char h1[72], h2[72], err[256];
    hashed("hashed-key-1", h1, 0);
    hashed("hashed-key-2", h2, 1);
    struct apikey_item items[] = {
        {"ci", "plain-key-0123456789", 20},
        {"from-file", "  file-key\r\n", 12},
        {"h1", h1, strlen(h1)},
        {"h2", h2, strlen(h2)},
    };
    struct apikey_set *s = apikey_set_build(items, 4, err, sizeof(err));
    CHECK(s != NULL);
    CHECK_INT_EQ(apikey_set_count(s), 4);
    const char *name = "x";
    CHECK(verify(s, "plain-key-0123456789", &name));
    CHECK_STR_EQ(name, "ci");
    CHECK(verify(s, "file-key", &name));
    CHECK_STR_EQ(name, "from-file");
    CHECK(verify(s, "hashed-key-1", &name));
    CHECK_STR_EQ(name, "h1");
    CHECK(verify(s, "hashed-key-2", NULL));
    /* Not matches: near misses, the stored form itself, case, blanks. */
    CHECK(!verify(s, "plain-key-012345678", &name));
    CHECK(name == NULL);
    CHECK(!verify(s, "plain-key-01234567890", &name));
    CHECK(!verify(s, "PLAIN-KEY-0123456789", &name));
    CHECK(!verify(s, h1, &name));
    CHECK(!verify(s, " file-key", &name));
    CHECK(!verify(s, "file-key\n", &name));
    CHECK(!apikey_verify(s, "plain-key-0123456789\0", 21, &name));
    CHECK(!verify(s, "", &name));
    CHECK(!apikey_verify(s, NULL, 0, &name));
    CHECK(!apikey_verify(NULL, "plain-key-0123456789", 20, &name));
    char *huge = malloc(APIKEY_MAX_LEN + 2);
    memset(huge, 'k', APIKEY_MAX_LEN + 1);
    CHECK(!apikey_verify(s, huge, APIKEY_MAX_LEN + 1, &name));
    free(huge);
    apikey_set_free(s);
}

static void expect_error(const struct apikey_item *items, size_t n, const char *want)
{
    char err[256] = "";
    struct apikey_set *s = apikey_set_build(items, n, err, sizeof(err));
    CHECK(s == NULL);
    if (!strstr(err, want)) {
        printf("#   error \"%s\" lacks \"%s\"\n", err, want);
        test_failures_in_current++;
    }
    apikey_set_free(s);
}

static void test_errors(void)
{
    struct apikey_item ok = {"ok", "key", 3};
    struct apikey_item blank[] = {ok, {"blank", " \n", 2}};
    expect_error(blank, 2, "API key \"blank\" (item 1): empty key");
    struct apikey_item short_hash[] = {{"h", "sha256:abcd", 11}};
    expect_error(short_hash, 1, "\"h\" (item 0): \"sha256:\" must be followed by 64 hex digits");
    char bad[72];
    hashed("x", bad, 0);
    bad[20] = 'g';
    struct apikey_item bad_hex[] = {ok, ok, {"g", bad, strlen(bad)}};
    expect_error(bad_hex, 3, "\"g\" (item 2)");
    struct apikey_item nul[] = {{"nul", "a\0b", 3}};
    expect_error(nul, 1, "NUL byte");
    struct apikey_item none[] = {{"none", NULL, 0}};
    expect_error(none, 1, "no value");
    expect_error(NULL, 0, "no API keys");
    char *big = malloc(APIKEY_MAX_LEN + 1);
    memset(big, 'b', APIKEY_MAX_LEN + 1);
    struct apikey_item long_key[] = {{"big", big, APIKEY_MAX_LEN + 1}};
    expect_error(long_key, 1, "longer than 4096");
    long_key[0].len = APIKEY_MAX_LEN;
    char err[128];
    struct apikey_set *s = apikey_set_build(long_key, 1, err, sizeof(err));
    CHECK(s != NULL);
    CHECK(apikey_verify(s, big, APIKEY_MAX_LEN, NULL));
    apikey_set_free(s);
    free(big);
    struct apikey_item *many = calloc(APIKEY_MAX_KEYS + 1, sizeof(*many));
    for (size_t i = 0; i <= APIKEY_MAX_KEYS; i++)
        many[i] = ok;
    expect_error(many, APIKEY_MAX_KEYS + 1, "more than 10000");
    free(many);
}

static void test_many_keys_every_one_found(void)
{
    enum { N = 500 };
    static char vals[N][80];
    struct apikey_item items[N];
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        char plain[32];
        snprintf(plain, sizeof(plain), "key-%04d", i);
        if (i % 2)
            hashed(plain, vals[i], i % 4 == 1);
        else
            strcpy(vals[i], plain);
        snprintf(names[i], sizeof(names[i]), "n%d", i);
        items[i] = (struct apikey_item){names[i], vals[i], strlen(vals[i])};
    }
    char err[128];
    struct apikey_set *s = apikey_set_build(items, N, err, sizeof(err));
    CHECK(s != NULL);
    for (int i = 0; i < N; i++) {
        char plain[32];
        const char *name = NULL;
        snprintf(plain, sizeof(plain), "key-%04d", i);
        CHECK(verify(s, plain, &name));
        CHECK(name && strcmp(name, names[i]) == 0);
    }
    CHECK(!verify(s, "key-0500", NULL));
    apikey_set_free(s);
}

TEST_MAIN(TEST_CASE(test_plain_and_hashed), TEST_CASE(test_errors),
          TEST_CASE(test_many_keys_every_one_found))
