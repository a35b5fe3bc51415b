/* test_auth_htpasswd.c - htpasswd parsing and verification: published
 * vectors, hashes made at test time by `openssl passwd` and `mkpasswd`,
 * format errors that name the line, unknown users, and many threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/htpasswd.h"
#include "auth/md5crypt.h"
#include "test.h"

#define SCRATCH_PREFIX "htpw"
#include "scratch.h"

/* Hashes password with a command reading it from a file (so any byte but a
 * newline is fine): fmt has one %s for the file name. */
static void hash_with(const char *fmt, const char *password, char *out, size_t cap)
{
    const char *file = scratch_path("pw");
    char cmd[800];
    FILE *f = fopen(file, "w");
    if (!f) {
        out[0] = '\0';
        return;
    }
    fprintf(f, "%s\n", password);
    fclose(f);
    snprintf(cmd, sizeof(cmd), fmt, file);
    run_line(out, cap, cmd);
    unlink(file);
}

static struct htpasswd *parse(const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return htpasswd_parse(text, strlen(text), err, errlen);
}

static int verify(const struct htpasswd *t, const char *user, const char *pw)
{
    return htpasswd_verify(t, user, strlen(user), pw, strlen(pw));
}

static void test_published_vectors(void)
{
    /* Apache's documentation, Drepper's sha-crypt spec, PHP's
     * password_verify example, Openwall's crypt_blowfish tests. */
    const char *file = "apr1:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n"
                       "sha1:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n"
                       "s512:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
                       "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEd"
                       "FCoEOfaS35inz1\n"
                       "s256:$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5\n"
                       "b2y:$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a\n"
                       "b2a:$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
                       "md5:$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1\n";
    char err[256];
    struct htpasswd *t = parse(file, err, sizeof(err));
    CHECK(t != NULL);
    if (!t) {
        printf("# %s\n", err);
        return;
    }
    CHECK_INT_EQ(htpasswd_count(t), 7);
    CHECK(verify(t, "apr1", "myPassword"));
    CHECK(!verify(t, "apr1", "mypassword"));
    CHECK(verify(t, "sha1", "myPassword"));
    CHECK(!verify(t, "sha1", "myPassword "));
    CHECK(verify(t, "s512", "Hello world!"));
    CHECK(!verify(t, "s512", "Hello world"));
    CHECK(verify(t, "s256", "Hello world!"));
    CHECK(verify(t, "b2y", "rasmuslerdorf"));
    CHECK(!verify(t, "b2y", "rasmuslerdorF"));
    CHECK(verify(t, "b2a", "U*U"));
    CHECK(verify(t, "md5", "Hello world!"));
    CHECK(!verify(t, "md5", "myPassword"));
    /* A right password for another user's hash is still wrong. */
    CHECK(!verify(t, "s256", "myPassword"));
    CHECK_INT_EQ(htpasswd_user_scheme(t, "apr1", 4), HTPASSWD_APR1);
    CHECK_INT_EQ(htpasswd_user_scheme(t, "sha1", 4), HTPASSWD_SHA1);
    CHECK_INT_EQ(htpasswd_user_scheme(t, "b2y", 3), HTPASSWD_BCRYPT);
    CHECK_INT_EQ(htpasswd_user_scheme(t, "md5", 3), HTPASSWD_MD5_CRYPT);
    CHECK_INT_EQ(htpasswd_user_scheme(t, "nobody", 6), -1);
    htpasswd_free(t);
}

static void test_md5crypt_matches_openssl(void)
{
    static const char *const pws[] = {
        "", "a", "0123456789abcdef", "0123456789abcdefg", "p@ss w0rd!$%^&*()", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
        char want[128], got[MD5CRYPT_OUT_MAX];
        hash_with("openssl passwd -apr1 -salt 'Ab.9/xYz' -in %s", pws[i], want, sizeof(want));
        CHECK(md5crypt("$apr1$", pws[i], strlen(pws[i]), "Ab.9/xYz", 8, got) == 0);
        CHECK_STR_EQ(got, want);
        hash_with("openssl passwd -1 -salt 'q1' -in %s", pws[i], want, sizeof(want));
        CHECK(md5crypt("$1$", pws[i], strlen(pws[i]), "q1", 2, got) == 0);
        CHECK_STR_EQ(got, want);
    }
}

static void test_generated_hashes(void)
{
    static const char *const pws[] = {"s3cret", "correct horse battery staple",
                                      "with:colon#and$dollar",
                                      "\xc3\xbcnic\xc3\xb6"
                                      "de",
                                      "0123456789012345678901234567890123456789012345678901234567"
                                      "89012345678901234567890123456789"};
    static const struct {
        const char *user, *cmd;
        int scheme;
    } gens[] = {
        {"u6", "openssl passwd -6 -in %s", HTPASSWD_SHA512_CRYPT},
        {"u5", "openssl passwd -5 -in %s", HTPASSWD_SHA256_CRYPT},
        {"uapr1", "openssl passwd -apr1 -in %s", HTPASSWD_APR1},
        {"u1", "openssl passwd -1 -in %s", HTPASSWD_MD5_CRYPT},
        {"ub", "mkpasswd -m bcrypt -R 5 -s < %s", HTPASSWD_BCRYPT},
        {"uba", "mkpasswd -m bcrypt-a -R 5 -s < %s", HTPASSWD_BCRYPT},
        {"u6r", "mkpasswd -m sha512crypt -R 6000 -s < %s", HTPASSWD_SHA512_CRYPT},
    };
    const size_t ngens = sizeof(gens) / sizeof(gens[0]);
    for (size_t p = 0; p < sizeof(pws) / sizeof(pws[0]); p++) {
        char file[4096] = "# generated at test time\r\n\r\n";
        for (size_t g = 0; g < ngens; g++) {
            char h[256];
            hash_with(gens[g].cmd, pws[p], h, sizeof(h));
            CHECK(h[0] == '$');
            size_t n = strlen(file);
            snprintf(file + n, sizeof(file) - n, "%s:%s\r\n", gens[g].user, h);
        }
        char err[256];
        struct htpasswd *t = parse(file, err, sizeof(err));
        CHECK(t != NULL);
        if (!t) {
            printf("# %s\n", err);
            continue;
        }
        CHECK_INT_EQ(htpasswd_count(t), ngens);
        for (size_t g = 0; g < ngens; g++) {
            CHECK_INT_EQ(htpasswd_user_scheme(t, gens[g].user, strlen(gens[g].user)),
                         gens[g].scheme);
            CHECK(verify(t, gens[g].user, pws[p]));
            CHECK(!verify(t, gens[g].user, "wrong"));
            CHECK(!verify(t, gens[g].user, ""));
        }
        CHECK(!verify(t, "nobody", pws[p]));
        htpasswd_free(t);
    }
}

static void test_sha1_from_openssl(void)
{
    char h[128], file[256], err[256];
    hash_with("printf %%s \"$(cat %s)\" | openssl sha1 -binary | openssl base64", "hunter2", h,
              sizeof(h));
    snprintf(file, sizeof(file), "bob:{SHA}%s\n", h);
    struct htpasswd *t = parse(file, err, sizeof(err));
    CHECK(t != NULL);
    CHECK(verify(t, "bob", "hunter2"));
    CHECK(!verify(t, "bob", "hunter3"));
    htpasswd_free(t);
}

static void test_layout(void)
{
    char err[256];
    const char *file = "  # a comment\n"
                       "\n"
                       "   \t\r\n"
                       "alice:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=   \r\n"
                       "\tbob:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=:the comment nginx allows\n"
                       "# carol:plain\n"
                       "J\xc3\xbcrgen Smith:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=";
    struct htpasswd *t = parse(file, err, sizeof(err));
    CHECK(t != NULL);
    CHECK_INT_EQ(htpasswd_count(t), 3);
    CHECK(verify(t, "alice", "myPassword"));
    CHECK(verify(t, "bob", "myPassword"));
    CHECK(verify(t, "J\xc3\xbcrgen Smith", "myPassword"));
    CHECK(!verify(t, "carol", "plain"));
    CHECK(!verify(t, "Alice", "myPassword"));
    CHECK(!verify(t, "alice ", "myPassword"));
    htpasswd_free(t);

    t = parse("", err, sizeof(err));
    CHECK(t != NULL);
    CHECK_INT_EQ(htpasswd_count(t), 0);
    CHECK(!verify(t, "", ""));
    htpasswd_free(t);
}

/* err must contain want. */
static void expect_error(const char *file, size_t len, const char *want)
{
    char err[512] = "";
    struct htpasswd *t = htpasswd_parse(file, len, err, sizeof(err));
    CHECK(t == NULL);
    if (!strstr(err, want)) {
        printf("#   error \"%s\" lacks \"%s\"\n", err, want);
        test_failures_in_current++;
    }
    htpasswd_free(t);
}

#define EXPECT_ERROR(file, want) expect_error(file, strlen(file), want)

static void test_errors_name_the_line(void)
{
    const char *ok = "a:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n";
    char buf[512];
    snprintf(buf, sizeof(buf), "%s# c\nbob:plaintext\n", ok);
    EXPECT_ERROR(buf, "line 3: unsupported hash format for user \"bob\"");
    EXPECT_ERROR("des:rqXexS6ZhobKA\n", "line 1: unsupported hash format");
    EXPECT_ERROR("y:$y$j9T$abc$def\n", "line 1: unsupported hash format for user \"y\"");
    EXPECT_ERROR("n:$2y$10$tooshort\n", "line 1: malformed bcrypt hash for user \"n\"");
    EXPECT_ERROR("n:$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n",
                 "unsupported hash format");
    EXPECT_ERROR("n:$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n",
                 "malformed bcrypt");
    EXPECT_ERROR("\n\nn:$2a$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n",
                 "line 3: bcrypt cost 15 for user \"n\" is above 14");
    EXPECT_ERROR("r:$6$rounds=9999999$salt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI"
                 "68u4OTLiBFdcbYEdFCoEOfaS35inz1\n",
                 "rounds 9999999");
    EXPECT_ERROR("r:$6$saltstring$tooshort\n", "malformed sha-crypt hash");
    EXPECT_ERROR(
        "r:$5$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBF"
        "dcbYEdFCoEOfaS35inz1\n",
        "malformed sha-crypt hash");
    EXPECT_ERROR(
        "r:$6$$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoE"
        "OfaS35inz1\n",
        "malformed sha-crypt");
    EXPECT_ERROR("m:$apr1$toolongsalt$HqJZimcKQFAMYayBlzkrA/\n", "malformed md5-crypt");
    EXPECT_ERROR("m:$apr1$r31.....$HqJZimcKQFAMYayBlzkr\n", "malformed md5-crypt");
    EXPECT_ERROR("s:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE\n", "line 1: malformed {SHA} hash");
    EXPECT_ERROR("s:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNF=\n", "malformed {SHA}"); /* not canonical */
    EXPECT_ERROR("s:{SHA}AAAA\n", "malformed {SHA}");
    EXPECT_ERROR("just-a-name\n", "line 1: expected user:hash");
    EXPECT_ERROR(":{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n", "line 1: empty user name");
    EXPECT_ERROR("e:\n", "line 1: empty hash for user \"e\"");
    EXPECT_ERROR("c\x01tl:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n", "control character");
    snprintf(buf, sizeof(buf), "%s\n%s", ok, ok);
    EXPECT_ERROR(buf, "line 3: duplicate user \"a\" (first on line 1)");

    char nul[] = "a:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\nb\0:x\n";
    expect_error(nul, sizeof(nul) - 1, "line 2: NUL byte");

    char *line = malloc(HTPASSWD_MAX_LINE + 64);
    memset(line, 'x', HTPASSWD_MAX_LINE + 10);
    strcpy(line + HTPASSWD_MAX_LINE + 10, ":y\n");
    expect_error(line, strlen(line), "line 1: longer than 1024 bytes");
    memset(line, 'u', HTPASSWD_MAX_USER + 1);
    strcpy(line + HTPASSWD_MAX_USER + 1, ":{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n");
    expect_error(line, strlen(line), "longer than 255 bytes");
    free(line);

    size_t cap = (HTPASSWD_MAX_USERS + 1) * 48;
    char *many = malloc(cap);
    size_t len = 0;
    for (int i = 0; i <= HTPASSWD_MAX_USERS; i++)
        len +=
            (size_t)snprintf(many + len, cap - len, "u%d:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n", i);
    expect_error(many, len, "more than 10000 users");
    /* Exactly the maximum is fine, and every user is found. */
    char err[256];
    size_t upto = (size_t)(strstr(many, "u10000:") - many);
    struct htpasswd *t = htpasswd_parse(many, upto, err, sizeof(err));
    CHECK(t != NULL);
    CHECK_INT_EQ(htpasswd_count(t), HTPASSWD_MAX_USERS);
    CHECK(verify(t, "u9999", "myPassword"));
    CHECK(verify(t, "u0", "myPassword"));
    htpasswd_free(t);
    free(many);

    char *big = calloc(1, HTPASSWD_MAX_FILE + 2);
    memset(big, '\n', HTPASSWD_MAX_FILE + 1);
    expect_error(big, HTPASSWD_MAX_FILE + 1, "larger than");
    free(big);
}

static void test_hostile_input(void)
{
    char err[256];
    struct htpasswd *t = parse("bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n", err, sizeof(err));
    CHECK(t != NULL);
    CHECK(!htpasswd_verify(NULL, "bob", 3, "myPassword", 10));
    CHECK(!htpasswd_verify(t, NULL, 0, "myPassword", 10));
    CHECK(!htpasswd_verify(t, "bob", 3, NULL, 0));
    /* A NUL inside the password must not truncate it into a match. */
    CHECK(!htpasswd_verify(t, "bob", 3, "myPassword\0junk", 15));
    CHECK(!htpasswd_verify(t, "bob\0", 4, "myPassword", 10));
    CHECK(htpasswd_verify(t, "bob", 3, "myPassword", 10));
    char *huge = malloc(HTPASSWD_MAX_PASSWORD + 2);
    memset(huge, 'a', HTPASSWD_MAX_PASSWORD + 1);
    CHECK(!htpasswd_verify(t, "bob", 3, huge, HTPASSWD_MAX_PASSWORD + 1));
    CHECK(!htpasswd_verify(t, huge, HTPASSWD_MAX_PASSWORD + 1, "x", 1));
    CHECK(!htpasswd_verify(t, "bob", 3, huge, HTPASSWD_MAX_PASSWORD));
    free(huge);
    htpasswd_free(t);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_unknown_user_costs_a_hash(void)
{
    char h[256], file[512], err[256];
    hash_with("mkpasswd -m bcrypt -R 9 -s < %s", "pw", h, sizeof(h));
    snprintf(file, sizeof(file), "real:%s\n", h);
    struct htpasswd *t = parse(file, err, sizeof(err));
    CHECK(t != NULL);
    if (!t)
        return;
    double t0 = now_s();
    for (int i = 0; i < 3; i++)
        CHECK(!verify(t, "real", "wrong"));
    double known = now_s() - t0;
    t0 = now_s();
    for (int i = 0; i < 3; i++)
        CHECK(!verify(t, "ghost", "pw"));
    double unknown = now_s() - t0;
    printf("# bcrypt cost 9: known user %.1f ms, unknown user %.1f ms per check\n",
           known * 1000 / 3, unknown * 1000 / 3);
    /* Same work either way; a generous bound keeps this stable on busy CI. */
    CHECK(unknown > known * 0.4);
    CHECK(verify(t, "real", "pw"));
    htpasswd_free(t);
}

struct worker {
    const struct htpasswd *t;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20; i++) {
        w->failures += !verify(w->t, "s512", "Hello world!");
        w->failures += verify(w->t, "s512", "Hello world?");
        w->failures += !verify(w->t, "apr1", "myPassword");
        w->failures += !verify(w->t, "b2a", "U*U");
        w->failures += verify(w->t, "ghost", "U*U");
        w->failures += !verify(w->t, "sha1", "myPassword");
    }
    return NULL;
}

static void test_threads_share_a_table(void)
{
    const char *file = "apr1:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n"
                       "sha1:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\n"
                       "s512:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
                       "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEd"
                       "FCoEOfaS35inz1\n"
                       "b2a:$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n";
    char err[256];
    struct htpasswd *t = parse(file, err, sizeof(err));
    CHECK(t != NULL);
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){t, 0};
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(w[i].failures, 0);
    }
    htpasswd_free(t);
}

TEST_MAIN(TEST_CASE(test_published_vectors), TEST_CASE(test_md5crypt_matches_openssl),
          TEST_CASE(test_generated_hashes), TEST_CASE(test_sha1_from_openssl),
          TEST_CASE(test_layout), TEST_CASE(test_errors_name_the_line),
          TEST_CASE(test_hostile_input), TEST_CASE(test_unknown_user_costs_a_hash),
          TEST_CASE(test_threads_share_a_table))
