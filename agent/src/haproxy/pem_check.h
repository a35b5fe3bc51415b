/*
 * pem_check.h - validate the certificate and key of a Kubernetes TLS Secret
 * and turn them into the one PEM file HAProxy loads (certificate, chain,
 * key).
 *
 * Everything in a Secret is untrusted. data["tls.crt"] and data["tls.key"]
 * are base64 (strict: the standard alphabet with padding, as the API server
 * writes it), then PEM:
 *  - tls.crt: 1..PEM_CHECK_MAX_CERTS blocks "CERTIFICATE", the server
 *    certificate first, then its chain. Any other block type is refused.
 *  - tls.key: one "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY"
 *    block (an "EC PARAMETERS" block, as `openssl ecparam -genkey` writes,
 *    is allowed and dropped). Encrypted keys are refused: nothing could
 *    decrypt them.
 *  - the key belongs to the first certificate (X509_check_private_key) and
 *    is strong enough for HAProxy's OpenSSL at security level 2 (112 bits:
 *    RSA >= 2048, EC >= 224).
 * Text outside the blocks (comments, "Bag Attributes") is dropped. The
 * output is re-encoded by OpenSSL, so it holds exactly the parsed objects,
 * '\n' line ends and no empty line: safe as a runtime API payload.
 *
 * An expired or not yet valid certificate is accepted (HAProxy serves it)
 * with a warning, and so is a chain whose order looks wrong.
 */
#ifndef SPOKE_HAPROXY_PEM_CHECK_H
#define SPOKE_HAPROXY_PEM_CHECK_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

/* Bounds on the decoded Secret fields and on the chain length. */
#define PEM_CHECK_MAX_CRT_BYTES (64 * 1024)
#define PEM_CHECK_MAX_KEY_BYTES (16 * 1024)
#define PEM_CHECK_MAX_CERTS     10

struct pem_check_result {
    char *pem;                   /* cert, chain, key; malloc'd, NUL-terminated; NULL on error */
    size_t pem_len;              /* bytes of pem, without the NUL */
    size_t key_offset;           /* pem[key_offset..pem_len) is the key (PKCS#8 PEM) */
    size_t n_certs;              /* certificates, the server's included */
    unsigned char leaf_sha1[20]; /* SHA-1 of the server certificate (DER) */
    time_t not_after;            /* end of validity of the server certificate */
    char subject[256];           /* its subject, one line, for logs */
    char warning[256];           /* "" or why clients may still reject it */
    char error[256];             /* "" or why it was refused */
};

/* Checks a Secret object (the JSON of the Kubernetes API) at time now
 * (time(NULL) normally). Returns 0 with out->pem set, or -1 with out->error
 * set. out is always initialised; free it with pem_check_result_clear(). */
int pem_check_secret(const json_t *secret, time_t now, struct pem_check_result *out);

/* The same on decoded tls.crt and tls.key bytes. */
int pem_check_pair(const char *crt, size_t crt_len, const char *key, size_t key_len, time_t now,
                   struct pem_check_result *out);

void pem_check_result_clear(struct pem_check_result *r);

/* The SHA-1 of the first certificate in a PEM text (what HAProxy's "show ssl
 * cert" prints as "SHA1 FingerPrint"). Returns 0 or -1. */
int pem_leaf_sha1(const char *pem, size_t len, unsigned char out[20]);

/* Strict base64 (RFC 4648 alphabet, padded, no whitespace) into a malloc'd
 * buffer (NUL-terminated for convenience). Returns NULL if s is not base64
 * or decodes to more than max bytes. */
unsigned char *pem_base64_decode(const char *s, size_t len, size_t max, size_t *out_len);

#endif
