/* self_signed.c - see self_signed.h. OpenSSL 3 EVP APIs only. */
#include "haproxy/self_signed.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "haproxy/atomic_file.h"

static X509 *make_cert(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    if (!ok || X509_set_version(x, 2) != 1)
        goto fail;
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    if (X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
        X509_sign(x, key, EVP_sha256()) == 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

int self_signed_write(const char *path, const char *cn, char *err, size_t errlen)
{
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_cert(key, cn) : NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    if (!cert || !mem || PEM_write_bio_X509(mem, cert) != 1 ||
        PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1) {
        snprintf(err, errlen, "cannot generate a self-signed certificate");
        goto out;
    }
    char *data;
    long n = BIO_get_mem_data(mem, &data);
    int wrc = atomic_file_write(path, data, (size_t)n, 0600);
    if (wrc < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-wrc));
        goto out;
    }
    rc = 0;
out:
    BIO_free(mem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}
