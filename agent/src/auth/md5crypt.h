/*
 * md5crypt.h - the MD5-based crypt schemes of htpasswd files: Apache's
 * "$apr1$" and the original FreeBSD "$1$" (they differ only in the magic).
 *
 * libxcrypt (Debian's libcrypt) has no $apr1$, so both are implemented here
 * over OpenSSL's MD5, following Poul-Henning Kamp's md5crypt as Apache's
 * apr_md5.c does. Pure; safe on any thread.
 */
#ifndef SPOKE_AUTH_MD5CRYPT_H
#define SPOKE_AUTH_MD5CRYPT_H

#include <stddef.h>

#define MD5CRYPT_SALT_MAX 8
/* "$apr1$" + 8 salt + "$" + 22 hash + NUL */
#define MD5CRYPT_OUT_MAX 40

/* Hashes password (pwlen bytes) with magic ("$apr1$" or "$1$") and salt
 * (at most MD5CRYPT_SALT_MAX bytes are used) into out, NUL-terminated, as
 * "MAGIC SALT $ HASH". Returns 0, or -1 if OpenSSL fails or magic is long. */
int md5crypt(const char *magic, const char *password, size_t pwlen, const char *salt,
             size_t saltlen, char out[MD5CRYPT_OUT_MAX]);

#endif
