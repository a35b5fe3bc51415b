/*
 * kubeconfig.c - see kubeconfig.h. A kubeconfig is read with yaml_to_json()
 * and walked as JSON: current-context (or the chosen one) -> its cluster and
 * user -> server, CA, client certificate/key, token. Errors name the file
 * and the offending context, cluster or user, so they can be fixed without
 * reading this code.
 */
#include "kube/kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/log.h"
#include "util/yaml_json.h"

#define KUBECONFIG_MAX_BYTES (16u << 20)
#define SMALL_FILE_MAX_BYTES (1u << 20) /* tokens, namespace */

__attribute__((format(printf, 3, 4))) static int set_err(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

__attribute__((format(printf, 1, 2))) static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* The whole of a file, NUL-terminated (so text can be used as a string).
 * NULL with errno set on failure; *mtime (optional) from the opened file. */
static char *read_file(const char *path, size_t max, size_t *len_out, time_t *mtime)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int e = errno;
        if (e == 0 || S_ISDIR(st.st_mode))
            e = EISDIR;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            errno = ENOMEM;
            return NULL;
        }
        if (len + 1 >= cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (len > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    if (mtime)
        *mtime = st.st_mtime;
    return buf;
}

/* s without leading and trailing whitespace, as a new string. */
static char *trim_dup(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Standard base64; whitespace anywhere is skipped and "=" padding is
 * optional. Returns a NUL-terminated buffer, or NULL when the text is not
 * base64 or decodes to nothing (errno EINVAL), or memory ran out. */
static char *b64_decode(const char *in, size_t *out_len)
{
    size_t n = strlen(in);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    size_t len = 0, sextets = 0, pads = 0;
    unsigned long bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (isspace(ch))
            continue;
        if (ch == '=') {
            pads++;
            continue;
        }
        int v = b64_value(ch);
        if (v < 0 || pads > 0)
            goto bad;
        sextets++;
        bits = (bits << 6 | (unsigned long)v) & 0xFFFFFFu;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[len++] = (unsigned char)(bits >> nbits);
        }
    }
    if (sextets == 0 || sextets % 4 == 1 || pads > 2 || (pads > 0 && (sextets + pads) % 4 != 0))
        goto bad;
    out[len] = '\0';
    *out_len = len;
    return (char *)out;
bad:
    free(out);
    errno = EINVAL;
    return NULL;
}

/* ---- kubeconfig files ---- */

struct loader {
    const char *path; /* the kubeconfig */
    char *dir;        /* its directory, or NULL when it has none (relative to cwd) */
    char *err;
    size_t errlen;
};

static char *resolve_path(const struct loader *ld, const char *p)
{
    if (p[0] == '/' || !ld->dir)
        return strdup(p);
    size_t dl = strlen(ld->dir);
    return str_printf("%s%s%s", ld->dir, dl > 0 && ld->dir[dl - 1] == '/' ? "" : "/", p);
}

/* A string member: 0 with *out set (NULL when absent, null or ""), or -1
 * when present with another type. */
static int get_str(const struct loader *ld, const json_t *obj, const char *key, const char *what,
                   const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s: %s must be a string", ld->path,
                       what, key);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

/* The "name" entries of a clusters/contexts/users list, comma separated. */
static void list_names(const json_t *list, char *buf, size_t len)
{
    size_t i, used = 0;
    json_t *e;
    buf[0] = '\0';
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || used >= len)
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
        if (n > 0)
            used += (size_t)n;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

/* Looks up the entry called name in root[list]: 1 with *out its `inner`
 * object (e.g. the "cluster" of the clusters entry "prod"; NULL when the
 * entry has none, which reads like an empty one), 0 when there is no such
 * entry, -1 when the list or an entry is malformed. */
static int find_named(const struct loader *ld, const json_t *root, const char *list,
                      const char *inner, const char *name, json_t **out)
{
    json_t *arr = json_object_get(root, list);
    *out = NULL;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s must be a list", ld->path, list);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (!json_is_object(e) || !n)
            return set_err(ld->err, ld->errlen,
                           "kubeconfig %s: %s entry %zu is not a mapping with a name", ld->path,
                           list, i + 1);
        if (strcmp(n, name) != 0)
            continue;
        json_t *v = json_object_get(e, inner);
        if (v && !json_is_null(v) && !json_is_object(v))
            return set_err(ld->err, ld->errlen,
                           "kubeconfig %s: %s entry \"%s\": %s must be a mapping", ld->path, list,
                           name, inner);
        *out = json_is_object(v) ? v : NULL;
        return 1;
    }
    return 0;
}

/* Fills *data (decoded from data_key) or *file (file_key, resolved against
 * the kubeconfig's directory and checked to be readable). */
static int load_pair(const struct loader *ld, const json_t *obj, const char *what,
                     const char *data_key, const char *file_key, char **data, size_t *data_len,
                     char **file)
{
    const char *d, *f;
    if (get_str(ld, obj, data_key, what, &d) < 0 || get_str(ld, obj, file_key, what, &f) < 0)
        return -1;
    if (d) {
        if (f)
            log_warn("kubeconfig", "%s: %s: both %s and %s are set; using %s", ld->path, what,
                     data_key, file_key, data_key);
        *data = b64_decode(d, data_len);
        if (!*data)
            return set_err(ld->err, ld->errlen, "kubeconfig %s: %s: %s is not valid base64",
                           ld->path, what, data_key);
        return 0;
    }
    if (!f)
        return 0;
    *file = resolve_path(ld, f);
    if (!*file)
        return set_err(ld->err, ld->errlen, "out of memory");
    int fd = open(*file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s: %s %s: %s", ld->path, what,
                       file_key, *file, strerror(errno));
    close(fd);
    return 0;
}

/* Reads cfg->token_file into cfg->token. A file modified in the very second
 * it is read may change again without its (whole-second) mtime changing, so
 * such a read records token_mtime 0 and the next call reads it again. */
static int read_token_file(struct kube_config *cfg)
{
    time_t mtime;
    char *raw = read_file(cfg->token_file, SMALL_FILE_MAX_BYTES, NULL, &mtime);
    if (!raw)
        return -1;
    char *tok = trim_dup(raw);
    free(raw);
    if (!tok || !*tok) {
        free(tok);
        errno = tok ? ENODATA : ENOMEM;
        return -1;
    }
    free(cfg->token);
    cfg->token = tok;
    cfg->token_mtime = mtime < time(NULL) ? mtime : 0;
    return 0;
}

static const char *token_errstr(int e)
{
    return e == ENODATA ? "the file is empty" : strerror(e);
}

static int load_user(const struct loader *ld, const json_t *user, const char *name,
                     struct kube_config *out)
{
    char what[300];
    snprintf(what, sizeof(what), "user \"%s\"", name);
    if (load_pair(ld, user, what, "client-certificate-data", "client-certificate", &out->cert_data,
                  &out->cert_data_len, &out->cert_file) < 0 ||
        load_pair(ld, user, what, "client-key-data", "client-key", &out->key_data,
                  &out->key_data_len, &out->key_file) < 0)
        return -1;
    bool cert = out->cert_data || out->cert_file, key = out->key_data || out->key_file;
    if (cert != key)
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s has a client %s but no client %s",
                       ld->path, what, cert ? "certificate" : "key", cert ? "key" : "certificate");
    const char *token, *token_file;
    if (get_str(ld, user, "token", what, &token) < 0 ||
        get_str(ld, user, "tokenFile", what, &token_file) < 0)
        return -1;
    if (token && !(out->token = strdup(token)))
        return set_err(ld->err, ld->errlen, "out of memory");
    if (token_file) {
        /* As client-go does, the file's token wins over "token". */
        if (!(out->token_file = resolve_path(ld, token_file)))
            return set_err(ld->err, ld->errlen, "out of memory");
        if (read_token_file(out) < 0)
            return set_err(ld->err, ld->errlen, "kubeconfig %s: %s: tokenFile %s: %s", ld->path,
                           what, out->token_file, token_errstr(errno));
    }
    if (!cert && !out->token) {
        static const char *const unsupported[] = {"exec", "auth-provider", "username", "password"};
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
            if (json_object_get(user, unsupported[i]))
                return set_err(ld->err, ld->errlen,
                               "kubeconfig %s: %s authenticates with \"%s\", which is not "
                               "supported; use a token, tokenFile or client certificate",
                               ld->path, what, unsupported[i]);
    }
    return 0;
}

static int load_cluster(const struct loader *ld, const json_t *cluster, const char *name,
                        struct kube_config *out)
{
    char what[300];
    snprintf(what, sizeof(what), "cluster \"%s\"", name);
    const char *server;
    if (get_str(ld, cluster, "server", what, &server) < 0)
        return -1;
    if (!server)
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s has no server", ld->path, what);
    size_t scheme = strncasecmp(server, "https://", 8) == 0  ? 8
                    : strncasecmp(server, "http://", 7) == 0 ? 7
                                                             : 0;
    if (scheme == 0 || server[scheme] == '\0' || server[scheme] == '/')
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s: %s: server \"%s\" is not an http:// or https:// URL",
                       ld->path, what, server);
    if (!(out->server = strdup(server)))
        return set_err(ld->err, ld->errlen, "out of memory");
    size_t n = strlen(out->server);
    while (n > scheme + 1 && out->server[n - 1] == '/')
        out->server[--n] = '\0';
    json_t *insecure = json_object_get(cluster, "insecure-skip-tls-verify");
    if (insecure && !json_is_null(insecure) && !json_is_boolean(insecure))
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s: %s: insecure-skip-tls-verify must be true or false",
                       ld->path, what);
    out->insecure_skip_tls_verify = json_is_true(insecure);
    return load_pair(ld, cluster, what, "certificate-authority-data", "certificate-authority",
                     &out->ca_data, &out->ca_data_len, &out->ca_file);
}

static int load_root(const struct loader *ld, const json_t *root, const char *context,
                     struct kube_config *out)
{
    if (json_is_null(root))
        return set_err(ld->err, ld->errlen, "kubeconfig %s is empty", ld->path);
    if (!json_is_object(root))
        return set_err(ld->err, ld->errlen, "kubeconfig %s: the top level is not a mapping",
                       ld->path);
    const char *name = context;
    if (!name && get_str(ld, root, "current-context", "top level", &name) < 0)
        return -1;
    if (!name)
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s has no current-context and no context was chosen", ld->path);
    json_t *ctx;
    int found = find_named(ld, root, "contexts", "context", name, &ctx);
    if (found < 0)
        return -1;
    if (!found) {
        char names[256];
        list_names(json_object_get(root, "contexts"), names, sizeof(names));
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s: context \"%s\" is not defined (contexts: %s)", ld->path,
                       name, names[0] ? names : "none");
    }
    char what[300];
    snprintf(what, sizeof(what), "context \"%s\"", name);
    const char *cluster_name, *user_name, *ns;
    if (get_str(ld, ctx, "cluster", what, &cluster_name) < 0 ||
        get_str(ld, ctx, "user", what, &user_name) < 0 ||
        get_str(ld, ctx, "namespace", what, &ns) < 0)
        return -1;
    if (!cluster_name)
        return set_err(ld->err, ld->errlen, "kubeconfig %s: %s names no cluster", ld->path, what);
    json_t *cluster, *user = NULL;
    int have_cluster = find_named(ld, root, "clusters", "cluster", cluster_name, &cluster);
    int have_user = user_name ? find_named(ld, root, "users", "user", user_name, &user) : 0;
    if (have_cluster < 0 || have_user < 0)
        return -1;
    if (!have_cluster)
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s: %s refers to cluster \"%s\", which is not defined in "
                       "clusters",
                       ld->path, what, cluster_name);
    if (user_name && !have_user)
        return set_err(ld->err, ld->errlen,
                       "kubeconfig %s: %s refers to user \"%s\", which is not defined in users",
                       ld->path, what, user_name);
    if (load_cluster(ld, cluster, cluster_name, out) < 0 ||
        (have_user && load_user(ld, user, user_name, out) < 0))
        return -1;
    if (ns && !(out->namespace = strdup(ns)))
        return set_err(ld->err, ld->errlen, "out of memory");
    if (!(out->source = str_printf("kubeconfig %s (context %s)", ld->path, name)))
        return set_err(ld->err, ld->errlen, "out of memory");
    return 0;
}

int kube_config_from_file(const char *path, const char *context, struct kube_config *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!path || !*path)
        return set_err(err, errlen, "no kubeconfig path given");
    size_t len;
    char *text = read_file(path, KUBECONFIG_MAX_BYTES, &len, NULL);
    if (!text)
        return set_err(err, errlen, "cannot read kubeconfig %s: %s", path, strerror(errno));
    char yerr[256];
    json_t *root = yaml_to_json(text, len, yerr, sizeof(yerr));
    free(text);
    if (!root)
        return set_err(err, errlen, "kubeconfig %s is not valid YAML: %s", path, yerr);
    struct loader ld = {.path = path, .err = err, .errlen = errlen};
    const char *slash = strrchr(path, '/');
    if (slash)
        ld.dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int rc = (slash && !ld.dir) ? set_err(err, errlen, "out of memory")
                                : load_root(&ld, root, context, out);
    free(ld.dir);
    json_decref(root);
    if (rc < 0)
        kube_config_free(out);
    return rc;
}

/* ---- in-cluster ---- */

int kube_config_in_cluster(const char *sa_dir, struct kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return set_err(err, errlen,
                       "not running in a cluster: KUBERNETES_SERVICE_HOST and "
                       "KUBERNETES_SERVICE_PORT are not both set");
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!isdigit((unsigned char)port[0]) || *end || errno || p < 1 || p > 65535)
        return set_err(err, errlen, "in-cluster: KUBERNETES_SERVICE_PORT \"%s\" is not a port",
                       port);
    if (!sa_dir)
        sa_dir = KUBE_SA_DIR;
    bool v6 = strchr(host, ':') && host[0] != '[';
    out->server = str_printf("https://%s%s%s:%ld", v6 ? "[" : "", host, v6 ? "]" : "", p);
    out->token_file = str_printf("%s/token", sa_dir);
    out->ca_file = str_printf("%s/ca.crt", sa_dir);
    out->source = strdup("in-cluster");
    char *ns_path = str_printf("%s/namespace", sa_dir);
    if (!out->server || !out->token_file || !out->ca_file || !out->source || !ns_path) {
        free(ns_path);
        kube_config_free(out);
        return set_err(err, errlen, "out of memory");
    }
    if (read_token_file(out) < 0) {
        set_err(err, errlen, "in-cluster: cannot read the service account token %s: %s",
                out->token_file, token_errstr(errno));
        kube_config_free(out);
        free(ns_path);
        return -1;
    }
    if (access(out->ca_file, R_OK) < 0) {
        log_warn("kubeconfig", "in-cluster: no CA bundle at %s (%s); using the system's",
                 out->ca_file, strerror(errno));
        free(out->ca_file);
        out->ca_file = NULL;
    }
    char *raw = read_file(ns_path, SMALL_FILE_MAX_BYTES, NULL, NULL);
    free(ns_path);
    if (raw) {
        out->namespace = trim_dup(raw);
        free(raw);
        if (out->namespace && !*out->namespace) {
            free(out->namespace);
            out->namespace = NULL;
        }
    }
    return 0;
}

/* ---- the lookup order ---- */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int kube_config_load(const char *explicit_path, struct kube_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (explicit_path)
        return kube_config_from_file(explicit_path, NULL, out, err, errlen);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        char *list = strdup(env);
        if (!list)
            return set_err(err, errlen, "out of memory");
        char *save = NULL;
        for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            if (file_exists(p)) {
                int rc = kube_config_from_file(p, NULL, out, err, errlen);
                free(list);
                return rc;
            }
        }
        free(list);
        return set_err(err, errlen, "none of the files in $KUBECONFIG (%s) exists", env);
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host)
        return kube_config_in_cluster(NULL, out, err, errlen);
    const char *home = getenv("HOME");
    if (home && *home) {
        char *path = str_printf("%s/.kube/config", home);
        if (!path)
            return set_err(err, errlen, "out of memory");
        int rc = file_exists(path)
                     ? kube_config_from_file(path, NULL, out, err, errlen)
                     : set_err(err, errlen,
                               "no Kubernetes client configuration: no --kubeconfig, $KUBECONFIG "
                               "is unset, not in a cluster (KUBERNETES_SERVICE_HOST is unset) "
                               "and %s does not exist",
                               path);
        free(path);
        return rc;
    }
    return set_err(err, errlen,
                   "no Kubernetes client configuration: no --kubeconfig, $KUBECONFIG is unset, "
                   "not in a cluster (KUBERNETES_SERVICE_HOST is unset) and $HOME is unset");
}

const char *kube_config_token(struct kube_config *cfg)
{
    if (!cfg)
        return NULL;
    if (cfg->token_file) {
        struct stat st;
        /* On any failure keep the token we have: the file may be mid-rotation. */
        if (stat(cfg->token_file, &st) == 0 && (!cfg->token || st.st_mtime != cfg->token_mtime))
            (void)read_token_file(cfg);
    }
    return cfg->token;
}

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_data);
    free(cfg->cert_file);
    free(cfg->cert_data);
    free(cfg->key_file);
    free(cfg->key_data);
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->namespace);
    free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}
