/*
 * kubeconfig.h - where the API server is and how to authenticate to it.
 *
 * Sources, in the order kube_config_load() tries them: an explicit
 * --kubeconfig path, $KUBECONFIG (first existing file of a ':' list), the
 * in-cluster service account (KUBERNETES_SERVICE_HOST/PORT + token + CA),
 * then ~/.kube/config. Relative file paths in a kubeconfig are relative to
 * the kubeconfig's own directory, as kubectl does.
 */
#ifndef SPOKE_KUBECONFIG_H
#define SPOKE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    char *server; /* "https://host:port", no trailing slash */
    char *ca_file;
    char *ca_data; /* PEM bytes (decoded from certificate-authority-data) */
    size_t ca_data_len;
    char *cert_file;
    char *cert_data; /* PEM */
    size_t cert_data_len;
    char *key_file;
    char *key_data; /* PEM */
    size_t key_data_len;
    char *token;      /* current bearer token, or NULL */
    char *token_file; /* re-read by kube_config_token() when it changes */
    time_t token_mtime;
    bool insecure_skip_tls_verify;
    char *namespace; /* the context's namespace, or NULL */
    char *source;    /* where this came from, for logs ("kubeconfig FILE", "in-cluster") */
};

/* Load a kubeconfig file (YAML or JSON). context NULL = current-context.
 * Returns 0, or -1 with a human-readable reason in err. */
int kube_config_from_file(const char *path, const char *context, struct kube_config *out, char *err,
                          size_t errlen);

/* In-cluster config from the environment and sa_dir (NULL = KUBE_SA_DIR). */
int kube_config_in_cluster(const char *sa_dir, struct kube_config *out, char *err, size_t errlen);

/* The whole lookup order described above. */
int kube_config_load(const char *explicit_path, struct kube_config *out, char *err, size_t errlen);

/* The bearer token to send now: re-reads token_file when its mtime changed
 * (service-account tokens rotate). NULL when there is none. */
const char *kube_config_token(struct kube_config *cfg);

void kube_config_free(struct kube_config *cfg);

#endif
