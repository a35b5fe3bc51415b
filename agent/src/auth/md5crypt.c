/*
 * md5crypt.c - see md5crypt.h.
 *
 * The algorithm: an "alternate" digest of password+salt+password, a first
 * digest of password+magic+salt mixed with the alternate one and the bits of
 * the password length, then 1000 rounds that re-mix password, salt and the
 * previous digest, and finally a custom base64 of the 16 bytes in a fixed
 * byte order.
 */
#include "auth/md5crypt.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static char *to64(char *s, unsigned long v, int n)
{
    while (n-- > 0) {
        *s++ = itoa64[v & 0x3f];
        v >>= 6;
    }
    return s;
}

static int md5_init(EVP_MD_CTX *c, const EVP_MD *md)
{
    return EVP_DigestInit_ex(c, md, NULL) == 1 ? 0 : -1;
}

static int md5_add(EVP_MD_CTX *c, const void *p, size_t n)
{
    return EVP_DigestUpdate(c, p, n) == 1 ? 0 : -1;
}

static int md5_final(EVP_MD_CTX *c, unsigned char out[16])
{
    unsigned int n = 0;
    return EVP_DigestFinal_ex(c, out, &n) == 1 && n == 16 ? 0 : -1;
}

int md5crypt(const char *magic, const char *password, size_t pwlen, const char *salt,
             size_t saltlen, char out[MD5CRYPT_OUT_MAX])
{
    size_t mlen = strlen(magic);
    if (mlen > 6)
        return -1;
    if (saltlen > MD5CRYPT_SALT_MAX)
        saltlen = MD5CRYPT_SALT_MAX;
    int rc = -1;
    unsigned char fin[16];
    EVP_MD *md = EVP_MD_fetch(NULL, "MD5", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx)
        goto out;

    /* Alternate sum: password, salt, password. */
    if (md5_init(ctx, md) || md5_add(ctx, password, pwlen) || md5_add(ctx, salt, saltlen) ||
        md5_add(ctx, password, pwlen) || md5_final(ctx, fin))
        goto out;

    if (md5_init(ctx, md) || md5_add(ctx, password, pwlen) || md5_add(ctx, magic, mlen) ||
        md5_add(ctx, salt, saltlen))
        goto out;
    for (size_t pl = pwlen; pl > 0; pl -= pl > 16 ? 16 : pl)
        if (md5_add(ctx, fin, pl > 16 ? 16 : pl))
            goto out;
    /* The bits of the length pick a zero byte or the first password byte. */
    for (size_t i = pwlen; i; i >>= 1) {
        static const unsigned char zero = 0;
        if (md5_add(ctx, (i & 1) ? (const void *)&zero : (const void *)password, 1))
            goto out;
    }
    if (md5_final(ctx, fin))
        goto out;

    for (int i = 0; i < 1000; i++) {
        if (md5_init(ctx, md))
            goto out;
        if ((i & 1) ? md5_add(ctx, password, pwlen) : md5_add(ctx, fin, 16))
            goto out;
        if ((i % 3) && md5_add(ctx, salt, saltlen))
            goto out;
        if ((i % 7) && md5_add(ctx, password, pwlen))
            goto out;
        if ((i & 1) ? md5_add(ctx, fin, 16) : md5_add(ctx, password, pwlen))
            goto out;
        if (md5_final(ctx, fin))
            goto out;
    }

    char *p = out;
    memcpy(p, magic, mlen);
    p += mlen;
    memcpy(p, salt, saltlen);
    p += saltlen;
    *p++ = '$';
    p = to64(p, (unsigned long)fin[0] << 16 | (unsigned long)fin[6] << 8 | fin[12], 4);
    p = to64(p, (unsigned long)fin[1] << 16 | (unsigned long)fin[7] << 8 | fin[13], 4);
    p = to64(p, (unsigned long)fin[2] << 16 | (unsigned long)fin[8] << 8 | fin[14], 4);
    p = to64(p, (unsigned long)fin[3] << 16 | (unsigned long)fin[9] << 8 | fin[15], 4);
    p = to64(p, (unsigned long)fin[4] << 16 | (unsigned long)fin[10] << 8 | fin[5], 4);
    p = to64(p, fin[11], 2);
    *p = '\0';
    rc = 0;
out:
    OPENSSL_cleanse(fin, sizeof(fin));
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return rc;
}
