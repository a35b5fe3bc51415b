/*
 * htpasswd.h - htpasswd files (the `auth` key of a basic-auth Secret) as an
 * immutable user table, and password checks against it.
 *
 * A file is lines of "user:hash", optionally followed by ":comment" as nginx
 * allows; '#' comment lines and blank lines are skipped; CRLF is accepted;
 * leading and trailing blanks are trimmed. Supported hashes:
 *   $2y$ $2b$ $2a$   bcrypt            (libcrypt, crypt_rn)
 *   $6$  $5$         sha512/256-crypt  (libcrypt, crypt_rn)
 *   $apr1$ $1$       Apache / BSD md5-crypt (md5crypt.c; libxcrypt lacks $apr1$)
 *   {SHA}            base64 of the password's SHA-1
 * Anything else (plain text, DES crypt, unknown schemes) fails the whole
 * file with an error naming the line, as do duplicate users and costs beyond
 * the bounds below (a hostile hash must not pin a worker thread).
 *
 * The table is never modified after htpasswd_parse, so any number of SPOE
 * worker threads may call htpasswd_verify on it at once. Hash outputs are
 * compared with CRYPTO_memcmp, and an unknown user still costs one hash
 * computation, so timing shows neither which users exist nor how much of a
 * hash matched.
 */
#ifndef SPOKE_AUTH_HTPASSWD_H
#define SPOKE_AUTH_HTPASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define HTPASSWD_MAX_FILE        (1024 * 1024) /* a Secret is at most 1 MiB */
#define HTPASSWD_MAX_LINE        1024
#define HTPASSWD_MAX_USERS       10000
#define HTPASSWD_MAX_USER        255
#define HTPASSWD_MAX_PASSWORD    1024
#define HTPASSWD_MAX_BCRYPT_COST 14      /* 2^14 rounds: about a second */
#define HTPASSWD_MAX_SHA_ROUNDS  1000000 /* sha-crypt "rounds=" */

enum htpasswd_scheme {
    HTPASSWD_BCRYPT,
    HTPASSWD_SHA512_CRYPT,
    HTPASSWD_SHA256_CRYPT,
    HTPASSWD_APR1,
    HTPASSWD_MD5_CRYPT,
    HTPASSWD_SHA1,
};

struct htpasswd;

/* Parses len bytes of an htpasswd file. Returns a table (possibly with no
 * users), or NULL with a reason such as "line 3: unsupported hash format for
 * user \"bob\"" in err. */
struct htpasswd *htpasswd_parse(const char *text, size_t len, char *err, size_t errlen);

size_t htpasswd_count(const struct htpasswd *t);

/* The scheme of user's hash; -1 when there is no such user (tests, logs). */
int htpasswd_user_scheme(const struct htpasswd *t, const char *user, size_t ulen);

/* True when user exists and password matches its hash. Any byte string is
 * safe input: NUL bytes or over-long values simply fail. */
bool htpasswd_verify(const struct htpasswd *t, const char *user, size_t ulen, const char *password,
                     size_t pwlen);

void htpasswd_free(struct htpasswd *t);

#endif
