/*
 * test_certs.c - Secret validation (pem_check) and certificate sync (certs)
 * against a real HAProxy.
 *
 * Certificates are made at test time with the openssl command. Each HAProxy
 * test starts its own `haproxy` (haproxy_fixture.h) with
 *   bind 127.0.0.1:PORT ssl crt DIR/certs/default.pem crt-list DIR/certs.list
 * as haproxy.cfg.in has it, syncs certificates through the runtime API, and
 * checks with a TLS handshake (OpenSSL, SNI) which certificate HAProxy
 * presents, that the HAProxy process is the same one (no reload), and that
 * the files on disk equal what was pushed (a restart serves the same).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "haproxy/certs.h"
#include "haproxy/pem_check.h"
#include "haproxy/runtime_api.h"
#include "haproxy_fixture.h"
#include "scratch.h"
#include "util/strbuf.h"
#include "test.h"

/* ---- material made with the openssl command ------------------------------ */

/* DIR/NAME.crt and DIR/NAME.key: a self-signed EC certificate for cn. */
static int make_self_signed(const char *dir, const char *name, const char *cn)
{
    return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
              "-keyout '%s/%s.key' -out '%s/%s.crt' -days 30 -subj '/CN=%s' "
              "-addext 'subjectAltName=DNS:%s' 2>/dev/null",
              dir, name, dir, name, cn, cn);
}

static char *read_in(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return hx_read_file(path, len);
}

static char *b64(const char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

/* A Secret object with tls.crt and tls.key taken from files (NULL: absent). */
static json_t *secret_from(const char *dir, const char *crt_file, const char *key_file)
{
    json_t *data = json_object();
    const char *files[2] = {crt_file, key_file};
    const char *fields[2] = {"tls.crt", "tls.key"};
    for (int i = 0; i < 2; i++) {
        if (!files[i])
            continue;
        size_t len = 0;
        char *text = read_in(dir, files[i], &len);
        char *enc = text ? b64(text, len) : NULL;
        json_object_set_new(data, fields[i], json_string(enc ? enc : ""));
        free(text);
        free(enc);
    }
    json_t *secret = json_object();
    json_object_set_new(secret, "type", json_string("kubernetes.io/tls"));
    json_object_set_new(secret, "data", data);
    return secret;
}

/* pem_check of DIR/NAME.crt + DIR/NAME.key; the combined PEM (malloc'd). */
static char *checked_pem(const char *dir, const char *name, size_t *len)
{
    char crt[128], key[128];
    snprintf(crt, sizeof(crt), "%s.crt", name);
    snprintf(key, sizeof(key), "%s.key", name);
    json_t *secret = secret_from(dir, crt, key);
    struct pem_check_result r;
    int rc = pem_check_secret(secret, time(NULL), &r);
    json_decref(secret);
    if (rc < 0) {
        printf("# pem_check %s: %s\n", name, r.error);
        return NULL;
    }
    char *pem = strdup(r.pem);
    *len = r.pem_len;
    pem_check_result_clear(&r);
    return pem;
}

/* ---- pem_check ----------------------------------------------------------- */

struct scratch {
    char dir[PATH_MAX];
};

static int scratch_new(struct scratch *s)
{
    return hx_make_temp_dir(s->dir, sizeof(s->dir), "spoke-pem");
}

static void scratch_free(struct scratch *s)
{
    nftw(s->dir, hx_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int check_files(const struct scratch *s, const char *crt, const char *key, time_t now,
                       struct pem_check_result *r)
{
    json_t *secret = secret_from(s->dir, crt, key);
    int rc = pem_check_secret(secret, now, r);
    json_decref(secret);
    return rc;
}

static void test_base64_decoding_is_strict(void)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: refused */
    } cases[] = {
        {"Zg==", "f"},  {"Zm8=", "fo"},     {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zh==", NULL},
        {"Zm9=", NULL}, {"Z===", NULL},     {"Zg=a", NULL},  {"Zg", NULL},         {"Zm9v\n", NULL},
        {"Zm 9", NULL}, {"Zm9v====", NULL}, {"Z-9v", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 0;
        unsigned char *out = pem_base64_decode(cases[i].in, strlen(cases[i].in), 100, &len);
        if (cases[i].out) {
            CHECK(out != NULL);
            CHECK(out && len == strlen(cases[i].out) && memcmp(out, cases[i].out, len) == 0);
        } else {
            CHECK(out == NULL);
            if (out)
                printf("#   accepted '%s'\n", cases[i].in);
        }
        free(out);
    }
    size_t len = 0;
    unsigned char *out = pem_base64_decode("Zm9vYmFy", 8, 5, &len); /* 6 bytes > 5 */
    CHECK(out == NULL);
    free(out);
}

static void test_valid_pairs_give_cert_chain_key(void)
{
    struct scratch s;
    CHECK(scratch_new(&s) == 0);
    CHECK(make_self_signed(s.dir, "ec", "ec.example.test") == 0);
    struct pem_check_result r;
    CHECK_INT_EQ(check_files(&s, "ec.crt", "ec.key", time(NULL), &r), 0);
    CHECK_STR_EQ(r.error, "");
    CHECK_STR_EQ(r.warning, "");
    CHECK(r.pem && strncmp(r.pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    CHECK(r.pem && strncmp(r.pem + r.key_offset, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    CHECK(r.pem && strstr(r.pem, "\n\n") == NULL && r.pem[r.pem_len - 1] == '\n');
    CHECK(r.pem && strlen(r.pem) == r.pem_len);
    CHECK_INT_EQ(r.n_certs, 1);
    CHECK(strstr(r.subject, "CN=ec.example.test") != NULL);
    CHECK(r.not_after > time(NULL) + 29 * 86400);
    unsigned char sha1[20];
    CHECK(r.pem && pem_leaf_sha1(r.pem, r.pem_len, sha1) == 0);
    CHECK(memcmp(sha1, r.leaf_sha1, 20) == 0);
    pem_check_result_clear(&r);
    CHECK(r.pem == NULL);

    /* RSA, traditional "RSA PRIVATE KEY" */
    CHECK(sh("openssl genrsa -traditional -out '%s/rsa.key' 2048 2>/dev/null && "
             "openssl req -x509 -key '%s/rsa.key' -out '%s/rsa.crt' -days 30 -subj /CN=rsa "
             "2>/dev/null",
             s.dir, s.dir, s.dir) == 0);
    size_t klen = 0;
    char *ktext = read_in(s.dir, "rsa.key", &klen);
    CHECK(ktext && strstr(ktext, "BEGIN RSA PRIVATE KEY"));
    free(ktext);
    CHECK_INT_EQ(check_files(&s, "rsa.crt", "rsa.key", time(NULL), &r), 0);
    CHECK(r.pem &&
          strstr(r.pem + r.key_offset, "-----BEGIN PRIVATE KEY-----") == r.pem + r.key_offset);
    pem_check_result_clear(&r);

    /* EC PARAMETERS + EC PRIVATE KEY, as `openssl ecparam -genkey` writes */
    CHECK(sh("openssl ecparam -genkey -name prime256v1 -out '%s/ecp.key' 2>/dev/null && "
             "openssl req -x509 -key '%s/ecp.key' -out '%s/ecp.crt' -days 30 -subj /CN=ecp "
             "2>/dev/null",
             s.dir, s.dir, s.dir) == 0);
    CHECK_INT_EQ(check_files(&s, "ecp.crt", "ecp.key", time(NULL), &r), 0);
    CHECK(r.pem && strstr(r.pem, "EC PARAMETERS") == NULL);
    pem_check_result_clear(&r);

    /* text around the blocks is dropped */
    size_t clen = 0;
    char *crt = read_in(s.dir, "ec.crt", &clen);
    char with_text[8192];
    snprintf(with_text, sizeof(with_text), "subject=CN = ec.example.test\n\n%s\ntrailing words\n",
             crt ? crt : "");
    size_t eklen = 0;
    char *key = read_in(s.dir, "ec.key", &eklen);
    CHECK_INT_EQ(pem_check_pair(with_text, strlen(with_text), key, eklen, time(NULL), &r), 0);
    CHECK(r.pem && strstr(r.pem, "subject=") == NULL && strstr(r.pem, "trailing") == NULL);
    pem_check_result_clear(&r);
    free(crt);
    free(key);
    scratch_free(&s);
}

static void test_chain_order_and_dates(void)
{
    struct scratch s;
    CHECK(scratch_new(&s) == 0);
    CHECK(sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.crt -days 60 -subj '/CN=Spoke Test CA' "
             "-addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
             "-out leaf.csr -subj /CN=leaf.example.test 2>/dev/null && "
             "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
             "leaf.crt -days 30 2>/dev/null && cat leaf.crt ca.crt > chain.crt && "
             "cat ca.crt leaf.crt > reversed.crt",
             s.dir) == 0);
    struct pem_check_result r;
    CHECK_INT_EQ(check_files(&s, "chain.crt", "leaf.key", time(NULL), &r), 0);
    CHECK_INT_EQ(r.n_certs, 2);
    CHECK_STR_EQ(r.warning, "");
    /* cert, chain, key in that order */
    const char *second = r.pem ? strstr(r.pem + 1, "-----BEGIN CERTIFICATE-----") : NULL;
    CHECK(second && second < r.pem + r.key_offset);
    pem_check_result_clear(&r);

    CHECK_INT_EQ(check_files(&s, "reversed.crt", "leaf.key", time(NULL), &r), -1);
    CHECK(strstr(r.error, "belongs to certificate 2") != NULL);
    CHECK(r.pem == NULL);
    pem_check_result_clear(&r);

    /* expired: accepted with a warning (HAProxy serves it) */
    CHECK_INT_EQ(check_files(&s, "chain.crt", "leaf.key", time(NULL) + 40 * 86400, &r), 0);
    CHECK(strstr(r.warning, "expired on") != NULL);
    CHECK(r.pem != NULL);
    pem_check_result_clear(&r);
    CHECK_INT_EQ(check_files(&s, "chain.crt", "leaf.key", time(NULL) - 86400, &r), 0);
    CHECK(strstr(r.warning, "not valid before") != NULL);
    pem_check_result_clear(&r);
    scratch_free(&s);
}

static void test_bad_secrets_are_refused_with_reasons(void)
{
    struct scratch s;
    CHECK(scratch_new(&s) == 0);
    CHECK(make_self_signed(s.dir, "a", "a.example.test") == 0);
    CHECK(make_self_signed(s.dir, "b", "b.example.test") == 0);
    CHECK(
        sh("cd '%s' && cat a.crt a.key > both.pem && "
           "openssl pkey -in a.key -aes256 -passout pass:secret -out enc.key 2>/dev/null && "
           "openssl genrsa -traditional -out weak.key 1024 2>/dev/null && "
           "openssl req -x509 -key weak.key -out weak.crt -days 30 -subj /CN=weak 2>/dev/null && "
           "cat a.key b.key > two.key && "
           "printf -- '-----BEGIN CERTIFICATE-----\\nnot base64 at all!\\n-----END "
           "CERTIFICATE-----\\n' > junk.crt && "
           "printf -- '-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n' > pub.key "
           "&& printf 'hello\\n' > nopem.crt",
           s.dir) == 0);
    static const struct {
        const char *crt, *key, *want;
    } cases[] = {
        {"a.crt", "b.key", "does not match"},
        {"both.pem", "a.key", "unexpected PEM block \"PRIVATE KEY\""},
        {"a.crt", "enc.key", "encrypted"},
        {"weak.crt", "weak.key", "too weak"},
        {"a.crt", "two.key", "more than one private key"},
        {"junk.crt", "a.key", "malformed PEM"},
        {"a.crt", "pub.key", "unexpected PEM block \"PUBLIC KEY\""},
        {"nopem.crt", "a.key", "no PEM certificate"},
        {"a.crt", "a.crt", "unexpected PEM block \"CERTIFICATE\""},
        {"a.crt", NULL, "no data[\"tls.key\"]"},
        {NULL, "a.key", "no data[\"tls.crt\"]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pem_check_result r;
        CHECK_INT_EQ(check_files(&s, cases[i].crt, cases[i].key, time(NULL), &r), -1);
        CHECK(r.pem == NULL);
        if (!strstr(r.error, cases[i].want)) {
            printf("#   case %zu: '%s' does not say '%s'\n", i, r.error, cases[i].want);
            CHECK(0);
        }
        pem_check_result_clear(&r);
    }

    /* the JSON itself */
    struct pem_check_result r;
    json_t *j = json_pack("{s:s}", "kind", "Secret");
    CHECK_INT_EQ(pem_check_secret(j, time(NULL), &r), -1);
    CHECK_STR_EQ(r.error, "the Secret has no data");
    json_decref(j);
    j = json_pack("{s:{s:i,s:s}}", "data", "tls.crt", 5, "tls.key", "Zg==");
    CHECK_INT_EQ(pem_check_secret(j, time(NULL), &r), -1);
    CHECK(strstr(r.error, "not a string") != NULL);
    json_decref(j);
    j = json_pack("{s:{s:s,s:s}}", "data", "tls.crt", "not-base64", "tls.key", "Zg==");
    CHECK_INT_EQ(pem_check_secret(j, time(NULL), &r), -1);
    CHECK(strstr(r.error, "not valid base64") != NULL);
    json_decref(j);
    j = json_pack("{s:{s:s,s:s}}", "data", "tls.crt", "", "tls.key", "Zg==");
    CHECK_INT_EQ(pem_check_secret(j, time(NULL), &r), -1);
    CHECK(strstr(r.error, "empty") != NULL);
    json_decref(j);
    char *big = malloc(200001);
    memset(big, 'A', 200000);
    big[200000] = '\0';
    j = json_pack("{s:{s:s,s:s}}", "data", "tls.crt", big, "tls.key", "Zg==");
    CHECK_INT_EQ(pem_check_secret(j, time(NULL), &r), -1);
    CHECK(strstr(r.error, "larger than") != NULL);
    json_decref(j);
    free(big);
    CHECK_INT_EQ(pem_check_secret(NULL, time(NULL), &r), -1);
    pem_check_result_clear(&r);
    scratch_free(&s);
}

static void test_file_names(void)
{
    char out[512];
    CHECK_INT_EQ(certs_file_name("/s", "team/web-tls", out, sizeof(out)), 0);
    CHECK_STR_EQ(out, "/s/certs/team_web-tls.pem");
    CHECK_INT_EQ(certs_file_name("/s", "a/b.c.d", out, sizeof(out)), 0);
    CHECK_STR_EQ(out, "/s/certs/a_b.c.d.pem");
    static const char *const bad[] = {"",      "team",  "/name",  "team/",  "Team/x",
                                      "t/a_b", "a/b/c", "t/-a",   "t/a..b", "t/a b",
                                      "t/.a",  "t/a.",  "t/a\nb", "t.x/a",  "t/é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT_EQ(certs_file_name("/s", bad[i], out, sizeof(out)), -EINVAL);
    CHECK_INT_EQ(certs_file_name("/s", NULL, out, sizeof(out)), -EINVAL);

    /* very long names are shortened with a hash; two of them stay apart */
    char a[300] = "ns/", b[300];
    for (int i = 0; i < 4; i++)
        strcat(a, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.");
    memcpy(b, a, sizeof(a));
    strcat(a, "one");
    strcat(b, "two");
    char fa[512], fb[512];
    CHECK_INT_EQ(certs_file_name("/s", a, fa, sizeof(fa)), 0);
    CHECK_INT_EQ(certs_file_name("/s", b, fb, sizeof(fb)), 0);
    CHECK(strcmp(fa, fb) != 0);
    CHECK(strlen(fa) - strlen("/s/certs/") <= 128);
    CHECK(strncmp(fa, "/s/certs/ns_xxx", 15) == 0);
    CHECK_INT_EQ(certs_file_name("/s", "team/web", out, 10), -ENAMETOOLONG);
}

/* ---- TLS client ------------------------------------------------------------- */

struct peer {
    char cn[256];
    char serial[128];
    int chain_len;
};

/* Handshakes with 127.0.0.1:port sending sni (NULL: none); what was served. */
static int tls_peer(int port, const char *sni, struct peer *out)
{
    memset(out, 0, sizeof(*out));
    int rc = -1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    if (!ctx || fd < 0)
        goto done;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        goto done;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || (sni && SSL_set_tlsext_host_name(ssl, sni) != 1) ||
        SSL_connect(ssl) != 1)
        goto done;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        goto done;
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out->cn,
                              sizeof(out->cn));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    out->chain_len = chain ? sk_X509_num(chain) : 0;
    SSL_shutdown(ssl);
    rc = 0;
done:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The serial of a PEM's first certificate, as tls_peer prints it. */
static void pem_serial(const char *pem, char *out, size_t size)
{
    BIO *in = BIO_new_mem_buf(pem, -1);
    X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, size, "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    BIO_free(in);
}

/* ---- an HAProxy with a crt-list --------------------------------------------- */

static const char cfg_text[] = HX_CFG_GLOBAL
    "    ssl-default-bind-options ssl-min-ver TLSv1.2\n" HX_CFG_DEFAULTS "frontend fe\n"
    "    bind 127.0.0.1:@PORT@ ssl crt @DIR@/certs/default.pem crt-list @DIR@/certs.list\n"
    "    http-request return status 200 content-type text/plain string ok\n";

struct fx {
    struct hx h;
    char certs[PATH_MAX + 16];
    char list[PATH_MAX + 16];
    int port;
    struct ev_loop *loop;
    struct runtime_api *api;
    struct certs_state *st;
};

static int fx_start(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    if (hx_init(&f->h, "spoke-certs") < 0)
        return -1;
    snprintf(f->certs, sizeof(f->certs), "%s/certs", f->h.dir);
    snprintf(f->list, sizeof(f->list), "%s/certs.list", f->h.dir);
    f->port = hx_free_tcp_port();
    if (mkdir(f->certs, 0700) < 0 || make_self_signed(f->h.dir, "default", "default.example.test"))
        return -1;
    if (sh("cd '%s' && cat default.crt default.key > certs/default.pem && : > certs.list",
           f->h.dir) != 0)
        return -1;
    char cfg[2048], port[16];
    snprintf(port, sizeof(port), "%d", f->port);
    const char *p = cfg_text;
    size_t o = 0;
    for (; *p && o + 16 < sizeof(cfg);) {
        if (strncmp(p, "@PORT@", 6) == 0) {
            memcpy(cfg + o, port, strlen(port));
            o += strlen(port);
            p += 6;
        } else {
            cfg[o++] = *p++;
        }
    }
    cfg[o] = '\0';
    if (hx_start(&f->h, cfg) < 0)
        return -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->api = hx_client(f->loop, f->h.sock);
    char err[256];
    f->st = certs_state_new(f->api, f->h.dir, err, sizeof(err));
    if (!f->st)
        printf("# certs_state_new: %s\n", err);
    return f->api && f->st ? 0 : -1;
}

static void fx_stop(struct fx *f)
{
    certs_state_free(f->st);
    runtime_api_free(f->api);
    if (f->loop)
        ev_loop_destroy(f->loop);
    hx_stop(&f->h);
}

struct done {
    int called;
    int err;
    char detail[600];
    unsigned added, updated, rehosted, removed, commands;
    bool discovered;
    size_t n_problems;
    char problems[8][400];
};

static void done_cb(void *user, const struct certs_report *r)
{
    struct done *d = user;
    d->called++;
    d->err = r->err;
    snprintf(d->detail, sizeof(d->detail), "%s", r->detail);
    d->added = r->added;
    d->updated = r->updated;
    d->rehosted = r->rehosted;
    d->removed = r->removed;
    d->commands = r->commands;
    d->discovered = r->discovered;
    d->n_problems = r->n_problems;
    for (size_t i = 0; i < r->n_problems && i < 8; i++)
        snprintf(d->problems[i], sizeof(d->problems[i]), "%s: %s", r->problems[i].secret,
                 r->problems[i].message);
}

static int sync_now(struct fx *f, const struct certs_desired *d, struct done *out)
{
    memset(out, 0, sizeof(*out));
    int rc = certs_sync(f->st, d, done_cb, out);
    if (rc < 0)
        return rc;
    CHECK_INT_EQ(out->called, 0); /* never from inside certs_sync */
    if (!hx_run_until(f->loop, &out->called, 20))
        return -ETIMEDOUT;
    if (out->err)
        printf("#   sync: %d %s\n", out->err, out->detail);
    for (size_t i = 0; i < out->n_problems && i < 8; i++)
        printf("#   problem: %s\n", out->problems[i]);
    return out->err;
}

static int sync_with(struct fx *f, const struct certs_entry *e, size_t n, const char *def,
                     size_t def_len, struct done *out)
{
    struct certs_desired d = {e, n, def, def_len};
    return sync_now(f, &d, out);
}

static bool has_problem(const struct done *d, const char *needle)
{
    for (size_t i = 0; i < d->n_problems && i < 8; i++)
        if (strstr(d->problems[i], needle))
            return true;
    return false;
}

/* HAProxy's "Pid"; a second try after a restart (the old connection fails). */
static long haproxy_pid(struct fx *f)
{
    long pid = -1;
    for (int attempt = 0; attempt < 2 && pid < 0; attempt++) {
        char *answer = NULL;
        if (runtime_api_call_sync(f->api, "show info", NULL, 0, &answer, NULL) == 0) {
            const char *p = strstr(answer, "\nPid: ");
            pid = p ? strtol(p + 6, NULL, 10) : -1;
        }
        free(answer);
    }
    return pid;
}

/* The certificate HAProxy presents for sni: its CN and serial. */
static void served(struct fx *f, const char *sni, struct peer *p)
{
    if (tls_peer(f->port, sni, p) < 0)
        printf("#   handshake with SNI %s failed\n", sni ? sni : "(none)");
}

static bool serves(struct fx *f, const char *sni, const char *cn, const char *serial)
{
    struct peer p;
    served(f, sni, &p);
    bool ok = strcmp(p.cn, cn) == 0 && (!serial || strcmp(p.serial, serial) == 0);
    if (!ok)
        printf("#   SNI %s: got CN '%s' serial %s, expected '%s' %s\n", sni, p.cn, p.serial, cn,
               serial ? serial : "");
    return ok;
}

static bool file_equals(const char *path, const char *data, size_t len)
{
    size_t have_len = 0;
    char *have = hx_read_file(path, &have_len);
    bool ok = have && have_len == len && memcmp(have, data, len) == 0;
    if (!ok)
        printf("#   %s differs: '%s'\n", path, have ? have : "(missing)");
    free(have);
    return ok;
}

static bool file_missing(const char *path)
{
    return access(path, F_OK) < 0 && errno == ENOENT;
}

/* Material for one test: certificates by name, as combined PEM. */
struct pems {
    char *a1, *a2, *w, *b;
    size_t a1_len, a2_len, w_len, b_len;
    char a1_serial[128], a2_serial[128], w_serial[128], b_serial[128];
};

static int make_pems(struct fx *f, struct pems *p)
{
    memset(p, 0, sizeof(*p));
    if (make_self_signed(f->h.dir, "a1", "a.example.test") ||
        make_self_signed(f->h.dir, "a2", "a.example.test") ||
        make_self_signed(f->h.dir, "w", "*.w.example.test") ||
        make_self_signed(f->h.dir, "b", "b.example.test"))
        return -1;
    p->a1 = checked_pem(f->h.dir, "a1", &p->a1_len);
    p->a2 = checked_pem(f->h.dir, "a2", &p->a2_len);
    p->w = checked_pem(f->h.dir, "w", &p->w_len);
    p->b = checked_pem(f->h.dir, "b", &p->b_len);
    if (!p->a1 || !p->a2 || !p->w || !p->b)
        return -1;
    pem_serial(p->a1, p->a1_serial, sizeof(p->a1_serial));
    pem_serial(p->a2, p->a2_serial, sizeof(p->a2_serial));
    pem_serial(p->w, p->w_serial, sizeof(p->w_serial));
    pem_serial(p->b, p->b_serial, sizeof(p->b_serial));
    return 0;
}

static void free_pems(struct pems *p)
{
    free(p->a1);
    free(p->a2);
    free(p->w);
    free(p->b);
}

static char *path_in(const struct fx *f, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", f->certs, name);
    return buf;
}

/* ---- certs against HAProxy ----------------------------------------------------- */

static void test_add_renew_wildcard_rehost_remove_without_reload(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    long pid0 = haproxy_pid(&f);
    CHECK_INT_EQ(pid0, f.h.pid);
    CHECK(serves(&f, "a.example.test", "default.example.test", NULL));

    /* add */
    const char *a_hosts[] = {"a.example.test"};
    struct certs_entry e[2] = {{"team/a", p.a1, p.a1_len, a_hosts, 1}};
    size_t n_e = 1;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(r.discovered);
    CHECK_INT_EQ(r.added, 1);
    CHECK_INT_EQ(r.n_problems, 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    CHECK(serves(&f, "other.example.test", "default.example.test", NULL));
    CHECK(serves(&f, NULL, "default.example.test", NULL));
    char path[PATH_MAX + 64], want[PATH_MAX * 3];
    CHECK(file_equals(path_in(&f, "team_a.pem", path, sizeof(path)), p.a1, p.a1_len));
    snprintf(want, sizeof(want), "%s/team_a.pem a.example.test\n", f.certs);
    CHECK(file_equals(f.list, want, strlen(want)));
    CHECK_INT_EQ(certs_state_count(f.st), 1);

    /* nothing changed: one "show info", nothing else */
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(!r.discovered);
    CHECK_INT_EQ(r.commands, 1);
    CHECK_INT_EQ(r.added + r.updated + r.rehosted + r.removed, 0);

    /* renewal: replaced in place */
    e[0].pem = p.a2;
    e[0].pem_len = p.a2_len;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.updated, 1);
    CHECK_INT_EQ(r.added + r.rehosted + r.removed, 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a2_serial));
    CHECK(file_equals(path, p.a2, p.a2_len));
    CHECK(file_equals(f.list, want, strlen(want)));

    /* a wildcard: exactly one more label */
    const char *w_hosts[] = {"*.w.example.test"};
    e[1] = (struct certs_entry){"team/w", p.w, p.w_len, w_hosts, 1};
    n_e = 2;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.added, 1);
    CHECK(serves(&f, "x.w.example.test", "*.w.example.test", p.w_serial));
    CHECK(serves(&f, "y.x.w.example.test", "default.example.test", NULL));
    CHECK(serves(&f, "w.example.test", "default.example.test", NULL));
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a2_serial));

    /* other hosts for a (given unsorted, with a duplicate) */
    const char *a_hosts2[] = {"c.example.test", "a.example.test", "c.example.test"};
    e[0].hosts = a_hosts2;
    e[0].n_hosts = 3;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.rehosted, 1);
    CHECK_INT_EQ(r.added + r.updated + r.removed, 0);
    CHECK(serves(&f, "c.example.test", "a.example.test", p.a2_serial));
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a2_serial));
    const char *a_hosts3[] = {"c.example.test"};
    e[0].hosts = a_hosts3;
    e[0].n_hosts = 1;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.rehosted, 1);
    CHECK(serves(&f, "a.example.test", "default.example.test", NULL));
    CHECK(serves(&f, "c.example.test", "a.example.test", p.a2_serial));
    snprintf(want, sizeof(want), "%s/team_w.pem *.w.example.test\n%s/team_a.pem c.example.test\n",
             f.certs, f.certs);
    CHECK(file_equals(f.list, want, strlen(want)));

    /* removal: back to the default certificate, file gone */
    e[0] = e[1];
    n_e = 1;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.removed, 1);
    CHECK_INT_EQ(r.added + r.updated + r.rehosted, 0);
    CHECK(serves(&f, "c.example.test", "default.example.test", NULL));
    CHECK(serves(&f, "x.w.example.test", "*.w.example.test", p.w_serial));
    CHECK(file_missing(path));
    snprintf(want, sizeof(want), "%s/team_w.pem *.w.example.test\n", f.certs);
    CHECK(file_equals(f.list, want, strlen(want)));
    char *answer = NULL;
    CHECK_INT_EQ(runtime_api_call_sync(f.api, "show ssl cert", NULL, 0, &answer, NULL), 0);
    CHECK(answer && strstr(answer, "team_a.pem") == NULL && strstr(answer, "team_w.pem"));
    free(answer);
    CHECK_INT_EQ(certs_state_count(f.st), 1);

    /* the same HAProxy process all along: nothing was reloaded */
    CHECK_INT_EQ(haproxy_pid(&f), pid0);
    CHECK(kill(f.h.pid, 0) == 0);
    free_pems(&p);
    fx_stop(&f);
}

static void test_invalid_secret_keeps_the_previous_certificate(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    const char *hosts[] = {"a.example.test"};
    struct certs_entry e[2] = {{"team/a", p.a1, p.a1_len, hosts, 1}};
    size_t n_e = 1;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));

    /* the Secret is updated with a key that is not the certificate's */
    json_t *bad = secret_from(f.h.dir, "a2.crt", "b.key");
    struct pem_check_result check;
    CHECK_INT_EQ(pem_check_secret(bad, time(NULL), &check), -1);
    CHECK(strstr(check.error, "does not match") != NULL);
    json_decref(bad);
    pem_check_result_clear(&check);

    /* the caller passes no PEM: the old certificate stays, with new hosts;
     * a Secret that never was valid gets no line */
    const char *hosts2[] = {"a.example.test", "d.example.test"};
    const char *b_hosts[] = {"b.example.test"};
    e[0] = (struct certs_entry){"team/a", NULL, 0, hosts2, 2};
    e[1] = (struct certs_entry){"team/b", NULL, 0, b_hosts, 1};
    n_e = 2;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.removed + r.updated + r.added, 0);
    CHECK_INT_EQ(r.rehosted, 1);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    CHECK(serves(&f, "d.example.test", "a.example.test", p.a1_serial));
    CHECK(serves(&f, "b.example.test", "default.example.test", NULL));
    char path[PATH_MAX + 64];
    CHECK(file_equals(path_in(&f, "team_a.pem", path, sizeof(path)), p.a1, p.a1_len));
    CHECK(file_missing(path_in(&f, "team_b.pem", path, sizeof(path))));

    /* b becomes valid */
    e[1].pem = p.b;
    e[1].pem_len = p.b_len;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.added, 1);
    CHECK(serves(&f, "b.example.test", "b.example.test", p.b_serial));
    free_pems(&p);
    fx_stop(&f);
}

static void test_restart_from_disk_and_agent_restart(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    const char *a_hosts[] = {"a.example.test"};
    const char *w_hosts[] = {"*.w.example.test"};
    struct certs_entry e[2] = {{"team/a", p.a1, p.a1_len, a_hosts, 1},
                               {"team/w", p.w, p.w_len, w_hosts, 1}};
    size_t n_e = 2;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.added, 2);
    /* a renewal and a host change, so CLI-added lines are not the first ones */
    e[0].pem = p.a2;
    e[0].pem_len = p.a2_len;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);

    /* HAProxy dies and starts again from the state directory */
    long pid0 = haproxy_pid(&f);
    hx_kill(&f.h);
    CHECK(hx_run(&f.h) == 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a2_serial));
    CHECK(serves(&f, "x.w.example.test", "*.w.example.test", p.w_serial));
    CHECK(serves(&f, "b.example.test", "default.example.test", NULL));
    long pid1 = haproxy_pid(&f);
    CHECK(pid1 > 0 && pid1 != pid0);

    /* the next sync notices the new process, reads it, and has nothing to do */
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(r.discovered);
    CHECK_INT_EQ(r.added + r.updated + r.rehosted + r.removed, 0);
    /* and changes work on the line numbers HAProxy gave the file's lines */
    const char *a_hosts2[] = {"a2.example.test"};
    e[0].hosts = a_hosts2;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.rehosted, 1);
    CHECK(serves(&f, "a2.example.test", "a.example.test", p.a2_serial));
    CHECK(serves(&f, "a.example.test", "default.example.test", NULL));

    /* the agent restarts: a new state reads HAProxy and changes nothing */
    certs_state_free(f.st);
    char err[256];
    f.st = certs_state_new(f.api, f.h.dir, err, sizeof(err));
    CHECK(f.st != NULL);
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(r.discovered);
    CHECK_INT_EQ(r.added + r.updated + r.rehosted + r.removed, 0);
    CHECK_INT_EQ(certs_state_count(f.st), 2);
    /* then removes what is no longer wanted */
    n_e = 1;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.removed, 1);
    CHECK(serves(&f, "x.w.example.test", "default.example.test", NULL));
    char path[PATH_MAX + 64];
    CHECK(file_missing(path_in(&f, "team_w.pem", path, sizeof(path))));

    /* and once more from disk */
    hx_kill(&f.h);
    CHECK(hx_run(&f.h) == 0);
    CHECK(serves(&f, "a2.example.test", "a.example.test", p.a2_serial));
    CHECK(serves(&f, "x.w.example.test", "default.example.test", NULL));
    free_pems(&p);
    fx_stop(&f);
}

static void test_chain_and_default_certificate(void)
{
    struct fx f;
    CHECK(fx_start(&f) == 0);
    CHECK(sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.crt -days 60 -subj '/CN=Spoke Test CA' "
             "-addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
             "-out leaf.csr -subj /CN=chain.example.test 2>/dev/null && "
             "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
             "leaf.crt -days 30 2>/dev/null && cat leaf.crt ca.crt > chain.crt && cp leaf.key "
             "chain.key",
             f.h.dir) == 0);
    size_t chain_len = 0, def_len = 0;
    char *chain = checked_pem(f.h.dir, "chain", &chain_len);
    CHECK(make_self_signed(f.h.dir, "newdef", "new-default.example.test") == 0);
    char *def = checked_pem(f.h.dir, "newdef", &def_len);
    CHECK(chain && def);
    const char *hosts[] = {"chain.example.test"};
    struct certs_entry e[1] = {{"team/chain", chain, chain_len, hosts, 1}};
    size_t n_e = 1;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, def, def_len, &r), 0);
    CHECK_INT_EQ(r.added, 1);
    CHECK_INT_EQ(r.updated, 1); /* the default, in place */
    struct peer pr;
    served(&f, "chain.example.test", &pr);
    CHECK_STR_EQ(pr.cn, "chain.example.test");
    CHECK_INT_EQ(pr.chain_len, 2);

    /* a certificate and chain of 14 KB with an RSA key: too large for one
     * CLI command together, sent as two (certificate, key) */
    CHECK(sh("cd '%s' && openssl genrsa -out big.key 2048 2>/dev/null && "
             "openssl req -x509 -key big.key -out big.crt -days 30 -subj /CN=big.example.test "
             "2>/dev/null",
             f.h.dir) == 0);
    size_t n = 0;
    char *big_crt = read_in(f.h.dir, "big.crt", &n), *ca = read_in(f.h.dir, "ca.crt", NULL);
    char *big_key = read_in(f.h.dir, "big.key", NULL);
    struct strbuf big = STRBUF_INIT;
    strbuf_puts(&big, big_crt ? big_crt : "");
    int copies = 0;
    while (ca && big.len + strlen(ca) < 14500) {
        strbuf_puts(&big, ca);
        copies++;
    }
    size_t cert_part = big.len;
    strbuf_puts(&big, big_key ? big_key : "");
    CHECK(cert_part < 15000 && big.len > 15 * 1024);
    const char *big_hosts[] = {"big.example.test"};
    struct certs_entry e2[2] = {e[0], {"team/big", big.data, big.len, big_hosts, 1}};
    CHECK_INT_EQ(sync_with(&f, e2, 2, def, def_len, &r), 0);
    CHECK_INT_EQ(r.added, 1);
    served(&f, "big.example.test", &pr);
    CHECK_STR_EQ(pr.cn, "big.example.test");
    CHECK_INT_EQ(pr.chain_len, 1 + copies);
    char big_path[PATH_MAX + 64];
    CHECK(file_equals(path_in(&f, "team_big.pem", big_path, sizeof(big_path)), big.data, big.len));

    CHECK(serves(&f, "unknown.example.test", "new-default.example.test", NULL));
    CHECK(serves(&f, NULL, "new-default.example.test", NULL));
    char path[PATH_MAX + 64];
    CHECK(file_equals(path_in(&f, "default.pem", path, sizeof(path)), def, def_len));
    /* the same again: nothing to do */
    CHECK_INT_EQ(sync_with(&f, e2, 2, def, def_len, &r), 0);
    CHECK_INT_EQ(r.commands, 1);
    /* a restart serves the new default */
    hx_kill(&f.h);
    CHECK(hx_run(&f.h) == 0);
    CHECK(serves(&f, "unknown.example.test", "new-default.example.test", NULL));
    served(&f, "chain.example.test", &pr);
    CHECK_INT_EQ(pr.chain_len, 2);
    served(&f, "big.example.test", &pr);
    CHECK_INT_EQ(pr.chain_len, 1 + copies);
    strbuf_free(&big);
    free(big_crt);
    free(ca);
    free(big_key);
    free(chain);
    free(def);
    fx_stop(&f);
}

static void test_hostile_input_and_conflicts_touch_nothing_else(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    const char *a_hosts[] = {"a.example.test"};
    const char *w_hosts[] = {"*.w.example.test"};
    struct certs_entry e[6] = {{"team/a", p.a1, p.a1_len, a_hosts, 1},
                               {"team/w", p.w, p.w_len, w_hosts, 1}};
    size_t n_e = 2;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);

    /* a's hosts turn hostile: its line stays as it was */
    static const char *const hostile[] = {"a.example.test\nshow info",
                                          "a b",
                                          "x;del ssl cert",
                                          "*.*.example.test",
                                          "A.EXAMPLE.TEST",
                                          "-a.example.test",
                                          "a..example.test",
                                          "\xff\xfe",
                                          ""};
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const char *hosts[] = {"c.example.test", hostile[i]};
        e[0].hosts = hosts;
        e[0].n_hosts = 2;
        CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
        CHECK(has_problem(&r, "team/a: host"));
        CHECK_INT_EQ(r.added + r.updated + r.rehosted + r.removed, 0);
    }
    e[0].hosts = a_hosts;
    e[0].n_hosts = 1;
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    CHECK(serves(&f, "c.example.test", "default.example.test", NULL));

    /* a bad secret name; a host claimed twice (team/a, first by name, keeps
     * it); a chain too large for one CLI command: reported, the rest applied.
     * An exact host beats a wildcard of another certificate. */
    const char *shared[] = {"x.w.example.test", "b.example.test", "a.example.test"};
    size_t huge_len = 0;
    char *huge = malloc(64 * 1024);
    const char *key = strstr(p.b, "-----BEGIN PRIVATE KEY-----");
    size_t cert_len = (size_t)(key - p.b);
    while (huge_len + cert_len < 20000) {
        memcpy(huge + huge_len, p.b, cert_len);
        huge_len += cert_len;
    }
    memcpy(huge + huge_len, key, strlen(key));
    huge_len += strlen(key);
    const char *h_hosts[] = {"huge.example.test"};
    e[2] = (struct certs_entry){"Bad Name/x", p.b, p.b_len, a_hosts, 1};
    e[3] = (struct certs_entry){"team/b", p.b, p.b_len, shared, 3};
    e[4] = (struct certs_entry){"team/huge", huge, huge_len, h_hosts, 1};
    e[5] = (struct certs_entry){"evil\nns/x", p.b, p.b_len, h_hosts, 1};
    n_e = 6;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(has_problem(&r, "Bad Name/x: not a valid"));
    CHECK(has_problem(&r, "evil?ns/x: not a valid"));
    CHECK(has_problem(&r, "team/b: host a.example.test is served by secret team/a"));
    CHECK(has_problem(&r, "team/huge: the certificate and its chain"));
    CHECK(serves(&f, "b.example.test", "b.example.test", p.b_serial));
    CHECK(serves(&f, "x.w.example.test", "b.example.test", p.b_serial));
    CHECK(serves(&f, "y.w.example.test", "*.w.example.test", p.w_serial));
    CHECK(serves(&f, "huge.example.test", "default.example.test", NULL));
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    char path[PATH_MAX + 64];
    CHECK(file_missing(path_in(&f, "team_huge.pem", path, sizeof(path))));
    /* the empty store left for "huge" goes once it is not wanted */
    n_e = 2;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.removed, 2);
    char *answer = NULL;
    CHECK_INT_EQ(runtime_api_call_sync(f.api, "show ssl cert", NULL, 0, &answer, NULL), 0);
    CHECK(answer && !strstr(answer, "team_huge") && !strstr(answer, "team_b"));
    free(answer);
    CHECK(serves(&f, "y.w.example.test", "*.w.example.test", p.w_serial));
    free(huge);
    free_pems(&p);
    fx_stop(&f);
}

static void test_leftovers_are_cleaned_up(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    /* an orphan file and a temporary file of a crashed write; a transaction
     * left open on one of our files */
    char orphan[PATH_MAX + 64], tmp[PATH_MAX + 64], open_tx[PATH_MAX + 64];
    path_in(&f, "team_orphan.pem", orphan, sizeof(orphan));
    path_in(&f, "team_a.pem.tmp.AbC123", tmp, sizeof(tmp));
    path_in(&f, "team_a.pem", open_tx, sizeof(open_tx));
    CHECK(hx_write_file(orphan, p.b, p.b_len) == 0);
    CHECK(hx_write_file(tmp, "x", 1) == 0);
    char cmd[PATH_MAX * 2], *answer = NULL;
    snprintf(cmd, sizeof(cmd), "new ssl cert %s", open_tx);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, NULL, 0, &answer, NULL), 0);
    free(answer);
    snprintf(cmd, sizeof(cmd), "set ssl cert %s", open_tx);
    CHECK_INT_EQ(runtime_api_call_sync(f.api, cmd, p.b, p.b_len, &answer, NULL), 0);
    CHECK(answer && strstr(answer, "Transaction created"));
    free(answer);

    const char *a_hosts[] = {"a.example.test"};
    struct certs_entry e[1] = {{"team/a", p.a1, p.a1_len, a_hosts, 1}};
    size_t n_e = 1;
    struct done r;
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK_INT_EQ(r.n_problems, 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    CHECK(file_missing(orphan));
    CHECK(file_missing(tmp));
    CHECK(file_equals(open_tx, p.a1, p.a1_len));
    CHECK_INT_EQ(runtime_api_call_sync(f.api, "show ssl cert", NULL, 0, &answer, NULL), 0);
    CHECK(answer && !strstr(answer, "# transaction"));
    free(answer);
    free_pems(&p);
    fx_stop(&f);
}

static void test_busy_and_freed_during_a_sync(void)
{
    struct fx f;
    struct pems p;
    CHECK(fx_start(&f) == 0);
    CHECK(make_pems(&f, &p) == 0);
    const char *a_hosts[] = {"a.example.test"};
    struct certs_entry e[1] = {{"team/a", p.a1, p.a1_len, a_hosts, 1}};
    size_t n_e = 1;
    struct done r = {0}, r2 = {0};
    CHECK_INT_EQ(certs_sync(f.st, &(struct certs_desired){e, n_e, NULL, 0}, done_cb, &r), 0);
    CHECK_INT_EQ(certs_sync(f.st, &(struct certs_desired){e, n_e, NULL, 0}, done_cb, &r2), -EBUSY);
    /* freed with commands in flight: no callback, no leak, no crash */
    certs_state_free(f.st);
    f.st = NULL;
    int idle = 0;
    for (int i = 0; i < 200 && !idle; i++) {
        ev_run(f.loop, EVRUN_ONCE);
        idle = runtime_api_pending(f.api) == 0;
    }
    CHECK(idle);
    CHECK_INT_EQ(r.called, 0);
    /* HAProxy is down: the sync reports the failure, the next one recovers */
    char err[256];
    f.st = certs_state_new(f.api, f.h.dir, err, sizeof(err));
    CHECK(certs_state_new(f.api, "relative/dir", err, sizeof(err)) == NULL);
    CHECK(certs_state_new(f.api, "/dir with space", err, sizeof(err)) == NULL);
    hx_kill(&f.h);
    CHECK(sync_with(&f, e, n_e, NULL, 0, &r) < 0);
    CHECK(r.err < 0 && r.detail[0]);
    CHECK(hx_run(&f.h) == 0);
    CHECK_INT_EQ(sync_with(&f, e, n_e, NULL, 0, &r), 0);
    CHECK(serves(&f, "a.example.test", "a.example.test", p.a1_serial));
    free_pems(&p);
    fx_stop(&f);
}

TEST_MAIN(TEST_CASE(test_base64_decoding_is_strict),
          TEST_CASE(test_valid_pairs_give_cert_chain_key), TEST_CASE(test_chain_order_and_dates),
          TEST_CASE(test_bad_secrets_are_refused_with_reasons), TEST_CASE(test_file_names),
          TEST_CASE(test_add_renew_wildcard_rehost_remove_without_reload),
          TEST_CASE(test_invalid_secret_keeps_the_previous_certificate),
          TEST_CASE(test_restart_from_disk_and_agent_restart),
          TEST_CASE(test_chain_and_default_certificate),
          TEST_CASE(test_hostile_input_and_conflicts_touch_nothing_else),
          TEST_CASE(test_leftovers_are_cleaned_up), TEST_CASE(test_busy_and_freed_during_a_sync))
