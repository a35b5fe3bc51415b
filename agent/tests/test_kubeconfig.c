/* test_kubeconfig.c - kubeconfig loading: every field, -data vs files,
 * relative paths, JSON, context selection, token rotation, in-cluster, the
 * $KUBECONFIG / ~/.kube/config lookup, and clear errors for broken files. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "test.h"

/* ---- scratch directories ---- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;
    if (asprintf(&dir, "%s/test_kubeconfig.XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        free(dir);
        return NULL;
    }
    return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Writes dir/name (creating dir/sub directories one level deep as needed)
 * and returns the path (caller frees). */
static char *put(const char *dir, const char *name, const char *content)
{
    char *path = fmt("%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    return path;
}

static void set_mtime(const char *path, time_t sec)
{
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    if (utimensat(AT_FDCWD, path, ts, 0) < 0)
        perror("utimensat");
}

static bool all_zero(const struct kube_config *c)
{
    static const struct kube_config zero;
    return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* Environment variables the loader reads, saved and restored per test. */
static const char *const env_names[] = {"KUBECONFIG", "HOME", "KUBERNETES_SERVICE_HOST",
                                        "KUBERNETES_SERVICE_PORT"};
static char *saved_env[4];

static void env_save(void)
{
    for (size_t i = 0; i < 4; i++) {
        const char *v = getenv(env_names[i]);
        saved_env[i] = v ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
}

static void env_restore(void)
{
    for (size_t i = 0; i < 4; i++) {
        if (saved_env[i])
            setenv(env_names[i], saved_env[i], 1);
        else
            unsetenv(env_names[i]);
        free(saved_env[i]);
        saved_env[i] = NULL;
    }
}

#define B64_CA   "Q0EtUEVNCg==" /* "CA-PEM\n" */
#define B64_CERT "Q0VSVC1QRU0K" /* "CERT-PEM\n" */
#define B64_KEY  "S0VZLVBFTQo=" /* "KEY-PEM\n" */

/* ---- tests ---- */

static void test_every_field_from_data(void)
{
    char *dir = make_tmpdir();
    char *kc = put(dir, "config",
                   "apiVersion: v1\n"
                   "kind: Config\n"
                   "current-context: dev\n"
                   "clusters:\n"
                   "- name: dev-cluster\n"
                   "  cluster:\n"
                   "    server: https://api.example.com:6443/\n"
                   "    certificate-authority-data: " B64_CA "\n"
                   "    insecure-skip-tls-verify: true\n"
                   "users:\n"
                   "- name: dev-user\n"
                   "  user:\n"
                   "    client-certificate-data: " B64_CERT "\n"
                   "    client-key-data: " B64_KEY "\n"
                   "    token: abc123\n"
                   "contexts:\n"
                   "- name: dev\n"
                   "  context:\n"
                   "    cluster: dev-cluster\n"
                   "    user: dev-user\n"
                   "    namespace: team-a\n"
                   "preferences: {}\n");
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(err, "");
    CHECK_STR_EQ(c.server, "https://api.example.com:6443");
    CHECK_STR_EQ(c.ca_data, "CA-PEM\n");
    CHECK_INT_EQ(c.ca_data_len, 7);
    CHECK(c.ca_file == NULL);
    CHECK_STR_EQ(c.cert_data, "CERT-PEM\n");
    CHECK_INT_EQ(c.cert_data_len, 9);
    CHECK(c.cert_file == NULL);
    CHECK_STR_EQ(c.key_data, "KEY-PEM\n");
    CHECK_INT_EQ(c.key_data_len, 8);
    CHECK(c.key_file == NULL);
    CHECK_STR_EQ(c.token, "abc123");
    CHECK(c.token_file == NULL);
    CHECK_STR_EQ(kube_config_token(&c), "abc123");
    CHECK(c.insecure_skip_tls_verify);
    CHECK_STR_EQ(c.namespace, "team-a");
    char *src = fmt("kubeconfig %s (context dev)", kc);
    CHECK_STR_EQ(c.source, src);
    free(src);
    kube_config_free(&c);
    CHECK(all_zero(&c));
    kube_config_free(&c); /* twice is harmless */
    free(kc);
    rm_tree(dir);
}

static void test_files_relative_to_kubeconfig(void)
{
    char *dir = make_tmpdir();
    free(put(dir, "sub/ca.crt", "CA\n"));
    free(put(dir, "certs/client.crt", "CERT\n"));
    char *key = put(dir, "certs/client.key", "KEY\n");
    free(put(dir, "sub/token", "  tok-from-file\n\n"));
    char *yaml = fmt("current-context: c\n"
                     "clusters: [{name: k, cluster: {server: 'http://10.0.0.1:8080',\n"
                     "  certificate-authority: ca.crt}}]\n"
                     "users: [{name: u, user: {client-certificate: ../certs/client.crt,\n"
                     "  client-key: %s, token: static, tokenFile: token}}]\n"
                     "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                     key);
    char *kc = put(dir, "sub/kubeconfig", yaml);
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(err, "");
    CHECK_STR_EQ(c.server, "http://10.0.0.1:8080");
    char *want = fmt("%s/sub/ca.crt", dir);
    CHECK_STR_EQ(c.ca_file, want);
    free(want);
    want = fmt("%s/sub/../certs/client.crt", dir);
    CHECK_STR_EQ(c.cert_file, want);
    free(want);
    CHECK_STR_EQ(c.key_file, key); /* absolute: untouched */
    want = fmt("%s/sub/token", dir);
    CHECK_STR_EQ(c.token_file, want);
    free(want);
    CHECK_STR_EQ(c.token, "tok-from-file"); /* the file wins over "token", trimmed */
    CHECK(c.ca_data == NULL && c.cert_data == NULL && c.key_data == NULL);
    CHECK(!c.insecure_skip_tls_verify);
    CHECK(c.namespace == NULL);
    kube_config_free(&c);

    /* A kubeconfig named without a directory: paths stay relative to cwd. */
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    char *sub = fmt("%s/sub", dir);
    CHECK(chdir(sub) == 0);
    CHECK_INT_EQ(kube_config_from_file("kubeconfig", NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.ca_file, "ca.crt");
    CHECK_STR_EQ(c.token_file, "token");
    kube_config_free(&c);
    CHECK(fchdir(cwd) == 0);
    close(cwd);
    free(sub);
    free(key);
    free(kc);
    free(yaml);
    rm_tree(dir);
}

static void test_data_wins_over_file_and_base64_forms(void)
{
    char *dir = make_tmpdir();
    free(put(dir, "ca.crt", "FILE\n"));
    /* Wrapped lines, stray spaces, missing padding. */
    char *kc = put(dir, "kc",
                   "current-context: c\n"
                   "clusters:\n"
                   "- name: k\n"
                   "  cluster:\n"
                   "    server: https://h\n"
                   "    certificate-authority: ca.crt\n"
                   "    certificate-authority-data: |\n"
                   "      Q0Et\n"
                   "      UEVN Cg==\n"
                   "users:\n"
                   "- name: u\n"
                   "  user:\n"
                   "    client-certificate-data: \"Q0VSVC1Q\\nRU0K\"\n"
                   "    client-key-data: S0VZLVBFTQo\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(err, "");
    CHECK_STR_EQ(c.ca_data, "CA-PEM\n");
    CHECK(c.ca_file == NULL);
    CHECK_STR_EQ(c.cert_data, "CERT-PEM\n");
    CHECK_STR_EQ(c.key_data, "KEY-PEM\n");
    CHECK_INT_EQ(c.key_data_len, 8);
    CHECK(c.token == NULL && kube_config_token(&c) == NULL);
    kube_config_free(&c);
    free(kc);
    rm_tree(dir);
}

static void test_json_kubeconfig(void)
{
    char *dir = make_tmpdir();
    char *kc = put(dir, "kc.json",
                   "{\n"
                   "\t\"apiVersion\": \"v1\",\n"
                   "\t\"kind\": \"Config\",\n"
                   "\t\"current-context\": \"j\",\n"
                   "\t\"clusters\": [{\"name\": \"jc\", \"cluster\": {\"server\": "
                   "\"https://[::1]:6443/\", \"certificate-authority-data\": \"" B64_CA
                   "\", \"insecure-skip-tls-verify\": false}}],\n"
                   "\t\"users\": [{\"name\": \"ju\", \"user\": {\"token\": \"json-token\"}}],\n"
                   "\t\"contexts\": [{\"name\": \"j\", \"context\": {\"cluster\": \"jc\", "
                   "\"user\": \"ju\", \"namespace\": \"default\"}}]\n"
                   "}\n");
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(err, "");
    CHECK_STR_EQ(c.server, "https://[::1]:6443");
    CHECK_STR_EQ(c.ca_data, "CA-PEM\n");
    CHECK_STR_EQ(c.token, "json-token");
    CHECK_STR_EQ(c.namespace, "default");
    CHECK(!c.insecure_skip_tls_verify);
    kube_config_free(&c);
    free(kc);
    rm_tree(dir);
}

static void test_context_selection(void)
{
    char *dir = make_tmpdir();
    char *kc = put(dir, "kc",
                   "current-context: prod\n"
                   "clusters:\n"
                   "- {name: prod, cluster: {server: https://prod.example}}\n"
                   "- {name: dev, cluster: {server: https://dev.example}}\n"
                   "users:\n"
                   "- {name: admin, user: {token: prod-token}}\n"
                   "- {name: anon}\n"
                   "contexts:\n"
                   "- {name: prod, context: {cluster: prod, user: admin, namespace: "
                   "ops}}\n"
                   "- {name: dev, context: {cluster: dev}}\n"
                   "- {name: dev-anon, context: {cluster: dev, user: anon}}\n");
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://prod.example");
    CHECK_STR_EQ(c.token, "prod-token");
    CHECK_STR_EQ(c.namespace, "ops");
    CHECK(strstr(c.source, "(context prod)") != NULL);
    kube_config_free(&c);

    CHECK_INT_EQ(kube_config_from_file(kc, "dev", &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://dev.example");
    CHECK(c.token == NULL && c.namespace == NULL && c.cert_file == NULL);
    CHECK(strstr(c.source, "(context dev)") != NULL);
    kube_config_free(&c);

    /* A user entry with no "user" body is an anonymous user. */
    CHECK_INT_EQ(kube_config_from_file(kc, "dev-anon", &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://dev.example");
    CHECK(c.token == NULL);
    kube_config_free(&c);

    CHECK_INT_EQ(kube_config_from_file(kc, "staging", &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "context \"staging\" is not defined") != NULL);
    CHECK(strstr(err, "prod, dev, dev-anon") != NULL);
    CHECK(all_zero(&c));
    free(kc);
    rm_tree(dir);
}

static void test_token_file_rotation(void)
{
    char *dir = make_tmpdir();
    char *tok = put(dir, "token", "first\n");
    set_mtime(tok, 1000000000);
    char *kc = put(dir, "kc",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: https://h}}]\n"
                   "users: [{name: u, user: {tokenFile: token}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
    struct kube_config c;
    char err[512] = "";
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.token, "first");
    CHECK_INT_EQ(c.token_mtime, 1000000000);
    CHECK_STR_EQ(kube_config_token(&c), "first");

    /* Rotated: new content, new mtime -> re-read. */
    free(put(dir, "token", "second\n"));
    set_mtime(tok, 1000000100);
    CHECK_STR_EQ(kube_config_token(&c), "second");
    CHECK_INT_EQ(c.token_mtime, 1000000100);

    /* Same mtime -> the file is not read again (that is the point). */
    free(put(dir, "token", "third\n"));
    set_mtime(tok, 1000000100);
    CHECK_STR_EQ(kube_config_token(&c), "second");

    /* Mid-rotation: empty or missing file keeps the last good token. */
    free(put(dir, "token", ""));
    set_mtime(tok, 1000000200);
    CHECK_STR_EQ(kube_config_token(&c), "second");
    unlink(tok);
    CHECK_STR_EQ(kube_config_token(&c), "second");
    free(put(dir, "token", "fourth"));
    set_mtime(tok, 1000000300);
    CHECK_STR_EQ(kube_config_token(&c), "fourth");

    /* A file written "now" may change again within the same second, so it
     * is re-read on every call until its mtime is in the past. */
    free(put(dir, "token", "fifth"));
    set_mtime(tok, time(NULL) + 5);
    CHECK_STR_EQ(kube_config_token(&c), "fifth");
    CHECK_INT_EQ(c.token_mtime, 0);
    free(put(dir, "token", "sixth"));
    set_mtime(tok, time(NULL) + 5);
    CHECK_STR_EQ(kube_config_token(&c), "sixth");

    kube_config_free(&c);
    CHECK(kube_config_token(&c) == NULL);
    CHECK(kube_config_token(NULL) == NULL);
    free(tok);
    free(kc);
    rm_tree(dir);
}

static void test_in_cluster(void)
{
    env_save();
    char *dir = make_tmpdir();
    char *tok = put(dir, "token", "sa-token\n");
    set_mtime(tok, 1000000000);
    free(put(dir, "ca.crt", "CA\n"));
    free(put(dir, "namespace", "team-b\n"));
    struct kube_config c;
    char err[512] = "";

    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "KUBERNETES_SERVICE_HOST") != NULL);
    CHECK(all_zero(&c));

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://10.96.0.1:443");
    CHECK_STR_EQ(c.token, "sa-token");
    char *want = fmt("%s/token", dir);
    CHECK_STR_EQ(c.token_file, want);
    free(want);
    want = fmt("%s/ca.crt", dir);
    CHECK_STR_EQ(c.ca_file, want);
    free(want);
    CHECK_STR_EQ(c.namespace, "team-b");
    CHECK_STR_EQ(c.source, "in-cluster");
    CHECK(c.ca_data == NULL && c.cert_file == NULL && c.key_file == NULL);
    CHECK(!c.insecure_skip_tls_verify);
    /* The service-account token rotates too. */
    free(put(dir, "token", "sa-token-2\n"));
    set_mtime(tok, 1000000060);
    CHECK_STR_EQ(kube_config_token(&c), "sa-token-2");
    kube_config_free(&c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://[fd00:10:96::1]:6443");
    kube_config_free(&c);

    /* No CA or namespace file: still usable. */
    char *ca = fmt("%s/ca.crt", dir), *ns = fmt("%s/namespace", dir);
    unlink(ca);
    unlink(ns);
    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), 0);
    CHECK(c.ca_file == NULL && c.namespace == NULL);
    kube_config_free(&c);
    free(ca);
    free(ns);

    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "KUBERNETES_SERVICE_PORT \"https\"") != NULL);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);

    unlink(tok);
    CHECK_INT_EQ(kube_config_in_cluster(dir, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "service account token") != NULL && strstr(err, dir) != NULL);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(all_zero(&c));
    free(tok);
    rm_tree(dir);
    env_restore();
}

static void test_lookup_order(void)
{
    env_save();
    char *dir = make_tmpdir();
    const char *body = "current-context: c\n"
                       "clusters: [{name: k, cluster: {server: https://%s}}]\n"
                       "contexts: [{name: c, context: {cluster: k}}]\n";
    char *ya = fmt(body, "a.example"), *yb = fmt(body, "b.example"), *yh = fmt(body, "home");
    char *a = put(dir, "a", ya), *b = put(dir, "b", yb);
    struct kube_config c;
    char err[512] = "";

    /* $KUBECONFIG: the first file that exists. */
    char *list = fmt("%s/missing::%s:%s", dir, b, a);
    setenv("KUBECONFIG", list, 1);
    CHECK_INT_EQ(kube_config_load(NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://b.example");
    CHECK(strstr(c.source, b) != NULL);
    kube_config_free(&c);

    /* An explicit path beats everything. */
    CHECK_INT_EQ(kube_config_load(a, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://a.example");
    kube_config_free(&c);

    free(list);
    list = fmt("%s/missing1:%s/missing2", dir, dir);
    setenv("KUBECONFIG", list, 1);
    CHECK_INT_EQ(kube_config_load(NULL, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "$KUBECONFIG") != NULL && strstr(err, "missing2") != NULL);
    unsetenv("KUBECONFIG");

    /* ~/.kube/config as the last resort. */
    setenv("HOME", dir, 1);
    CHECK_INT_EQ(kube_config_load(NULL, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "no Kubernetes client configuration") != NULL);
    CHECK(strstr(err, ".kube/config") != NULL);
    free(put(dir, ".kube/config", yh));
    CHECK_INT_EQ(kube_config_load(NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "https://home");
    kube_config_free(&c);

    /* In-cluster comes before ~/.kube/config. */
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    int rc = kube_config_load(NULL, &c, err, sizeof(err));
    if (access(KUBE_SA_DIR "/token", R_OK) == 0) {
        CHECK_STR_EQ(c.source, "in-cluster"); /* running inside a pod */
    } else {
        CHECK_INT_EQ(rc, -1);
        CHECK(strstr(err, KUBE_SA_DIR "/token") != NULL);
    }
    kube_config_free(&c);

    free(list);
    free(ya);
    free(yb);
    free(yh);
    free(a);
    free(b);
    rm_tree(dir);
    env_restore();
}

/* Loads yaml (as a file) with context and expects an error naming a and b. */
static bool load_fails(const char *yaml, const char *context, const char *a, const char *b)
{
    char *dir = make_tmpdir();
    free(put(dir, "ca.crt", "CA\n"));
    free(put(dir, "empty-token", "\n"));
    char *kc = put(dir, "kc", yaml);
    struct kube_config c;
    char err[512] = "";
    int rc = kube_config_from_file(kc, context, &c, err, sizeof(err));
    bool ok =
        rc == -1 && strstr(err, a) && (!b || strstr(err, b)) && strstr(err, kc) && all_zero(&c);
    if (!ok)
        printf("#   rc %d, error \"%s\" (wanted \"%s\"%s%s)\n", rc, err, a, b ? " and " : "",
               b ? b : "");
    kube_config_free(&c);
    free(kc);
    rm_tree(dir);
    return ok;
}

#define CLUSTERS "clusters: [{name: k, cluster: {server: https://h}}]\n"
#define CTX      "contexts: [{name: c, context: {cluster: k, user: u}}]\ncurrent-context: c\n"

static void test_errors_are_clear(void)
{
    struct kube_config c;
    char err[512] = "";
    char *dir = make_tmpdir();
    char *missing = fmt("%s/missing", dir);
    CHECK_INT_EQ(kube_config_from_file(missing, NULL, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "cannot read kubeconfig") != NULL && strstr(err, missing) != NULL);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(all_zero(&c));
    CHECK_INT_EQ(kube_config_from_file(dir, NULL, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "Is a directory") != NULL);
    free(missing);
    rm_tree(dir);
    CHECK_INT_EQ(kube_config_from_file(NULL, NULL, &c, err, sizeof(err)), -1);

    CHECK(load_fails("apiVersion: v1\nclusters: [\n", NULL, "not valid YAML", "line 3:1"));
    CHECK(load_fails("a: b\n  c: d\n", NULL, "not valid YAML", "line 2:"));
    CHECK(load_fails("", NULL, "is empty", NULL));
    CHECK(load_fails("- just\n- a list\n", NULL, "top level is not a mapping", NULL));
    CHECK(load_fails(CLUSTERS "contexts: [{name: c, context: {cluster: k}}]\n", NULL,
                     "no current-context", NULL));
    CHECK(load_fails(CLUSTERS "contexts: [{name: c, context: {cluster: k}}]\n"
                              "current-context: ''\n",
                     NULL, "no current-context", NULL));
    CHECK(load_fails(CLUSTERS CTX, NULL, "context \"c\" refers to user \"u\"",
                     "not defined in users"));
    CHECK(load_fails(CLUSTERS "current-context: c\n"
                              "contexts: [{name: c, context: {cluster: gone}}]\n",
                     NULL, "context \"c\" refers to cluster \"gone\"", "not defined in clusters"));
    CHECK(load_fails(CLUSTERS "current-context: c\ncontexts: [{name: c, context: {user: u}}]\n",
                     NULL, "context \"c\" names no cluster", NULL));
    CHECK(load_fails(CLUSTERS "current-context: c\ncontexts: [{name: c}]\n", NULL,
                     "names no cluster", NULL));
    CHECK(load_fails(CLUSTERS "contexts: [{name: c, context: {cluster: k}}]\n", "other",
                     "context \"other\" is not defined", "(contexts: c)"));
    CHECK(load_fails(CLUSTERS "current-context: c\n", NULL, "context \"c\" is not defined",
                     "(contexts: none)"));
    CHECK(load_fails("clusters: [{name: k, cluster: {}}]\n" CTX "users: [{name: u}]\n", NULL,
                     "cluster \"k\" has no server", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: ftp://h}}]\n" CTX
                     "users: [{name: u}]\n",
                     NULL, "server \"ftp://h\" is not an http:// or https:// URL", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: https://}}]\n" CTX
                     "users: [{name: u}]\n",
                     NULL, "is not an http:// or https:// URL", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: 6443}}]\n" CTX "users: [{name: u}]\n",
                     NULL, "cluster \"k\": server must be a string", NULL));
    CHECK(load_fails("clusters: {k: {server: https://h}}\n" CTX, NULL, "clusters must be a list",
                     NULL));
    CHECK(load_fails("clusters: [{cluster: {server: https://h}}]\n" CTX, NULL,
                     "clusters entry 1 is not a mapping with a name", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: [1]}]\n" CTX, NULL,
                     "clusters entry \"k\": cluster must be a mapping", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: https://h, "
                     "insecure-skip-tls-verify: 'true'}}]\n" CTX "users: [{name: u}]\n",
                     NULL, "insecure-skip-tls-verify must be true or false", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: https://h, "
                     "certificate-authority-data: 'not*base64'}}]\n" CTX "users: [{name: u}]\n",
                     NULL, "cluster \"k\": certificate-authority-data is not valid base64", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {client-key-data: QUJDR}}]\n", NULL,
                     "user \"u\": client-key-data is not valid base64", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {client-key-data: 'YW===='}}]\n", NULL,
                     "client-key-data is not valid base64", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {client-key-data: \" \\n \"}}]\n", NULL,
                     "client-key-data is not valid base64", NULL));
    CHECK(load_fails("clusters: [{name: k, cluster: {server: https://h, "
                     "certificate-authority: missing-ca.crt}}]\n" CTX "users: [{name: u}]\n",
                     NULL, "certificate-authority", "missing-ca.crt: No such file"));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {client-certificate: ca.crt}}]\n", NULL,
                     "user \"u\" has a client certificate but no client key", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {client-key-data: " B64_KEY "}}]\n",
                     NULL, "has a client key but no client certificate", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {tokenFile: nope}}]\n", NULL,
                     "user \"u\": tokenFile", "nope: No such file"));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {tokenFile: empty-token}}]\n", NULL,
                     "tokenFile", "is empty"));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {token: [x]}}]\n", NULL,
                     "user \"u\": token must be a string", NULL));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {exec: {command: aws}}}]\n", NULL,
                     "user \"u\" authenticates with \"exec\"", "not supported"));
    CHECK(load_fails(CLUSTERS CTX "users: [{name: u, user: {username: a, password: b}}]\n", NULL,
                     "\"username\"", "not supported"));
}

static void test_misc_server_forms(void)
{
    char *dir = make_tmpdir();
    char *kc = put(dir, "kc",
                   "current-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'HTTPS://Host:1///'}}]\n"
                   "users: [{name: u, user: {token: t, exec: {command: x}}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
    struct kube_config c;
    char err[512] = "";
    /* Unsupported auth next to a usable token is ignored. */
    CHECK_INT_EQ(kube_config_from_file(kc, NULL, &c, err, sizeof(err)), 0);
    CHECK_STR_EQ(c.server, "HTTPS://Host:1");
    CHECK_STR_EQ(c.token, "t");
    kube_config_free(&c);
    free(kc);
    rm_tree(dir);
}

TEST_MAIN(TEST_CASE(test_every_field_from_data), TEST_CASE(test_files_relative_to_kubeconfig),
          TEST_CASE(test_data_wins_over_file_and_base64_forms), TEST_CASE(test_json_kubeconfig),
          TEST_CASE(test_context_selection), TEST_CASE(test_token_file_rotation),
          TEST_CASE(test_in_cluster), TEST_CASE(test_lookup_order),
          TEST_CASE(test_errors_are_clear), TEST_CASE(test_misc_server_forms))
