/* pem_check.c - see pem_check.h. OpenSSL 3 APIs; no passphrase is ever
 * asked for (encrypted blocks are refused before OpenSSL sees them). */
#include "haproxy/pem_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* HAProxy's OpenSSL at security level 2 refuses weaker keys (ee key too small). */
#define MIN_SECURITY_BITS 112

static void set_msg(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

unsigned char *pem_base64_decode(const char *s, size_t len, size_t max, size_t *out_len)
{
    if (len % 4 != 0 || len / 4 * 3 > max + 2)
        return NULL;
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=')
        pad++;
    if (len >= 2 && s[len - 2] == '=')
        pad++;
    size_t n = len / 4 * 3 - pad;
    if (n > max)
        return NULL;
    unsigned char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == len && k >= 4 - (int)pad)
                v[k] = 0;
            else if ((v[k] = b64_value(c)) < 0)
                goto bad;
        }
        unsigned long w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                          ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        const unsigned char bytes[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                                        (unsigned char)w};
        for (int k = 0; k < 3 && o < n; k++)
            out[o++] = bytes[k];
        /* the padding bits of the last group must be zero (canonical form) */
        if (i + 4 == len && ((pad == 1 && (v[2] & 0x3)) || (pad == 2 && (v[1] & 0xf))))
            goto bad;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
bad:
    free(out);
    return NULL;
}

/* One PEM block read from a text. */
struct block {
    char *name;
    char *header;
    unsigned char *data;
    long len;
};

static void block_free(struct block *b)
{
    OPENSSL_free(b->name);
    OPENSSL_free(b->header);
    OPENSSL_free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Reads the next block: 1, 0 at the end of the text, -1 if malformed. */
static int next_block(BIO *in, struct block *b)
{
    ERR_clear_error();
    if (PEM_read_bio(in, &b->name, &b->header, &b->data, &b->len) == 1)
        return 1;
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE ? 0 : -1;
}

static void format_time(const ASN1_TIME *t, char *buf, size_t size, time_t *as_time_t)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        set_msg(buf, size, "(unreadable date)");
        if (as_time_t)
            *as_time_t = 0;
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (as_time_t)
        *as_time_t = timegm(&tm);
}

/* Parses tls.crt into certs[]; returns the count, or 0 with err set. */
static size_t parse_certs(const char *crt, size_t crt_len, X509 **certs, char *err, size_t errlen)
{
    BIO *in = BIO_new_mem_buf(crt, (int)crt_len);
    size_t n = 0;
    if (!in) {
        set_msg(err, errlen, "out of memory");
        return 0;
    }
    for (;;) {
        struct block b = {0};
        int r = next_block(in, &b);
        if (r == 0)
            break;
        if (r < 0) {
            set_msg(err, errlen, "tls.crt: malformed PEM after %zu certificate(s)", n);
            goto fail;
        }
        if (strcmp(b.name, "CERTIFICATE") != 0) {
            set_msg(err, errlen, "tls.crt: unexpected PEM block \"%.40s\" (only CERTIFICATE)",
                    b.name);
            block_free(&b);
            goto fail;
        }
        if (b.header && b.header[0]) {
            set_msg(err, errlen, "tls.crt: PEM headers are not allowed in a CERTIFICATE block");
            block_free(&b);
            goto fail;
        }
        if (n == PEM_CHECK_MAX_CERTS) {
            set_msg(err, errlen, "tls.crt: more than %d certificates", PEM_CHECK_MAX_CERTS);
            block_free(&b);
            goto fail;
        }
        const unsigned char *p = b.data;
        X509 *x = d2i_X509(NULL, &p, b.len);
        if (!x || p != b.data + b.len) {
            X509_free(x);
            set_msg(err, errlen, "tls.crt: certificate %zu is not a valid X.509 certificate",
                    n + 1);
            block_free(&b);
            goto fail;
        }
        certs[n++] = x;
        block_free(&b);
    }
    if (n == 0) {
        set_msg(err, errlen, "tls.crt: no PEM certificate found");
        goto fail;
    }
    BIO_free(in);
    return n;
fail:
    for (size_t i = 0; i < n; i++)
        X509_free(certs[i]);
    BIO_free(in);
    ERR_clear_error();
    return 0;
}

/* Parses tls.key; returns the key or NULL with err set. */
static EVP_PKEY *parse_key(const char *key, size_t key_len, char *err, size_t errlen)
{
    BIO *in = BIO_new_mem_buf(key, (int)key_len);
    EVP_PKEY *pkey = NULL;
    if (!in) {
        set_msg(err, errlen, "out of memory");
        return NULL;
    }
    for (;;) {
        struct block b = {0};
        int r = next_block(in, &b);
        if (r == 0)
            break;
        if (r < 0) {
            set_msg(err, errlen, "tls.key: malformed PEM");
            goto fail;
        }
        int is_key = strcmp(b.name, "PRIVATE KEY") == 0 || strcmp(b.name, "RSA PRIVATE KEY") == 0 ||
                     strcmp(b.name, "EC PRIVATE KEY") == 0;
        if (strcmp(b.name, "ENCRYPTED PRIVATE KEY") == 0 ||
            (is_key && b.header && strstr(b.header, "ENCRYPTED"))) {
            set_msg(err, errlen, "tls.key: encrypted private keys are not supported");
            block_free(&b);
            goto fail;
        }
        if (strcmp(b.name, "EC PARAMETERS") == 0) {
            block_free(&b);
            continue;
        }
        if (!is_key) {
            set_msg(err, errlen, "tls.key: unexpected PEM block \"%.40s\" (only one private key)",
                    b.name);
            block_free(&b);
            goto fail;
        }
        if (b.header && b.header[0]) {
            set_msg(err, errlen, "tls.key: PEM headers are not allowed");
            block_free(&b);
            goto fail;
        }
        if (pkey) {
            set_msg(err, errlen, "tls.key: more than one private key");
            block_free(&b);
            goto fail;
        }
        const unsigned char *p = b.data;
        pkey = d2i_AutoPrivateKey(NULL, &p, b.len);
        if (!pkey || p != b.data + b.len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
            set_msg(err, errlen, "tls.key: the %s block is not a valid private key", b.name);
            block_free(&b);
            goto fail;
        }
        block_free(&b);
    }
    if (!pkey) {
        set_msg(err, errlen, "tls.key: no PEM private key found");
        goto fail;
    }
    BIO_free(in);
    return pkey;
fail:
    EVP_PKEY_free(pkey);
    BIO_free(in);
    ERR_clear_error();
    return NULL;
}

/* Appends the PEM of certs and key to out; 0 or -1. */
static int encode(X509 *const *certs, size_t n, EVP_PKEY *key, struct pem_check_result *out)
{
    BIO *mem = BIO_new(BIO_s_mem());
    int ok = mem != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = PEM_write_bio_X509(mem, certs[i]) == 1;
    long key_offset = ok ? BIO_pending(mem) : 0;
    ok = ok && PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) == 1;
    char *p = NULL;
    long len = ok ? BIO_get_mem_data(mem, &p) : 0;
    if (ok && len > 0 && (out->pem = malloc((size_t)len + 1)) != NULL) {
        memcpy(out->pem, p, (size_t)len);
        out->pem[len] = '\0';
        out->pem_len = (size_t)len;
        out->key_offset = (size_t)key_offset;
    }
    BIO_free(mem);
    return out->pem ? 0 : -1;
}

static void check_dates(X509 *leaf, time_t now, struct pem_check_result *out)
{
    char date[64];
    format_time(X509_get0_notAfter(leaf), date, sizeof(date), &out->not_after);
    if (X509_cmp_time(X509_get0_notAfter(leaf), &now) < 0) {
        set_msg(out->warning, sizeof(out->warning), "the certificate expired on %s", date);
        return;
    }
    if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0) {
        format_time(X509_get0_notBefore(leaf), date, sizeof(date), NULL);
        set_msg(out->warning, sizeof(out->warning), "the certificate is not valid before %s", date);
    }
}

int pem_check_pair(const char *crt, size_t crt_len, const char *key, size_t key_len, time_t now,
                   struct pem_check_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!crt || crt_len == 0 || !key || key_len == 0) {
        set_msg(out->error, sizeof(out->error), "%s is empty",
                !crt || !crt_len ? "tls.crt" : "tls.key");
        return -1;
    }
    if (crt_len > PEM_CHECK_MAX_CRT_BYTES || key_len > PEM_CHECK_MAX_KEY_BYTES) {
        set_msg(out->error, sizeof(out->error), "%s is larger than %d bytes",
                crt_len > PEM_CHECK_MAX_CRT_BYTES ? "tls.crt" : "tls.key",
                crt_len > PEM_CHECK_MAX_CRT_BYTES ? PEM_CHECK_MAX_CRT_BYTES
                                                  : PEM_CHECK_MAX_KEY_BYTES);
        return -1;
    }
    X509 *certs[PEM_CHECK_MAX_CERTS];
    size_t n = parse_certs(crt, crt_len, certs, out->error, sizeof(out->error));
    if (n == 0)
        return -1;
    EVP_PKEY *pkey = parse_key(key, key_len, out->error, sizeof(out->error));
    int rc = -1;
    if (!pkey)
        goto done;
    if (X509_check_private_key(certs[0], pkey) != 1) {
        size_t other = 0;
        for (size_t i = 1; i < n && !other; i++)
            if (X509_check_private_key(certs[i], pkey) == 1)
                other = i + 1;
        if (other)
            set_msg(out->error, sizeof(out->error),
                    "tls.key belongs to certificate %zu of tls.crt; the server certificate "
                    "must come first",
                    other);
        else
            set_msg(out->error, sizeof(out->error),
                    "tls.key does not match the certificate in tls.crt");
        goto done;
    }
    int bits = EVP_PKEY_get_security_bits(pkey);
    if (bits < MIN_SECURITY_BITS) {
        set_msg(out->error, sizeof(out->error),
                "the key is too weak (%d security bits; at least %d: RSA 2048, EC P-256)", bits,
                MIN_SECURITY_BITS);
        goto done;
    }
    unsigned int dlen = 0;
    X509_NAME_oneline(X509_get_subject_name(certs[0]), out->subject, sizeof(out->subject));
    if (X509_digest(certs[0], EVP_sha1(), out->leaf_sha1, &dlen) != 1 || dlen != 20 ||
        encode(certs, n, pkey, out) < 0) {
        set_msg(out->error, sizeof(out->error), "out of memory");
        goto done;
    }
    out->n_certs = n;
    check_dates(certs[0], now, out);
    for (size_t i = 0; i + 1 < n && !out->warning[0]; i++)
        if (X509_check_issued(certs[i + 1], certs[i]) != X509_V_OK)
            set_msg(out->warning, sizeof(out->warning),
                    "tls.crt certificate %zu did not issue certificate %zu: the chain may be "
                    "out of order",
                    i + 2, i + 1);
    rc = 0;
done:
    for (size_t i = 0; i < n; i++)
        X509_free(certs[i]);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    if (rc < 0) {
        free(out->pem);
        out->pem = NULL;
        out->pem_len = 0;
    }
    return rc;
}

/* data[field] of the Secret, decoded; NULL with err set. */
static unsigned char *secret_field(const json_t *data, const char *field, size_t max, size_t *len,
                                   char *err, size_t errlen)
{
    const json_t *v = json_object_get(data, field);
    if (!v) {
        set_msg(err, errlen, "the Secret has no data[\"%s\"]", field);
        return NULL;
    }
    if (!json_is_string(v)) {
        set_msg(err, errlen, "data[\"%s\"] of the Secret is not a string", field);
        return NULL;
    }
    size_t enc_len = json_string_length(v);
    if (enc_len == 0) {
        set_msg(err, errlen, "data[\"%s\"] of the Secret is empty", field);
        return NULL;
    }
    if (enc_len > (max + 2) / 3 * 4) {
        set_msg(err, errlen, "data[\"%s\"] of the Secret is larger than %zu bytes", field, max);
        return NULL;
    }
    unsigned char *out = pem_base64_decode(json_string_value(v), enc_len, max, len);
    if (!out)
        set_msg(err, errlen, "data[\"%s\"] of the Secret is not valid base64", field);
    return out;
}

int pem_check_secret(const json_t *secret, time_t now, struct pem_check_result *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *data = json_is_object(secret) ? json_object_get(secret, "data") : NULL;
    if (!json_is_object(data)) {
        set_msg(out->error, sizeof(out->error), "the Secret has no data");
        return -1;
    }
    size_t crt_len = 0, key_len = 0;
    char err[sizeof(out->error)] = "";
    unsigned char *crt =
        secret_field(data, "tls.crt", PEM_CHECK_MAX_CRT_BYTES, &crt_len, err, sizeof(err));
    unsigned char *key =
        crt ? secret_field(data, "tls.key", PEM_CHECK_MAX_KEY_BYTES, &key_len, err, sizeof(err))
            : NULL;
    int rc = -1;
    if (crt && key)
        rc = pem_check_pair((const char *)crt, crt_len, (const char *)key, key_len, now, out);
    else
        snprintf(out->error, sizeof(out->error), "%s", err);
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(crt);
    free(key);
    return rc;
}

void pem_check_result_clear(struct pem_check_result *r)
{
    if (r->pem) {
        OPENSSL_cleanse(r->pem, r->pem_len);
        free(r->pem);
    }
    memset(r, 0, sizeof(*r));
}

int pem_leaf_sha1(const char *pem, size_t len, unsigned char out[20])
{
    if (len > 1024 * 1024)
        return -1;
    BIO *in = BIO_new_mem_buf(pem, (int)len);
    X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    unsigned int dlen = 0;
    int rc = x && X509_digest(x, EVP_sha1(), out, &dlen) == 1 && dlen == 20 ? 0 : -1;
    X509_free(x);
    BIO_free(in);
    ERR_clear_error();
    return rc;
}
