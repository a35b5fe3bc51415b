/*
 * certs.h - serve TLS certificates by SNI from a running HAProxy through the
 * runtime API (no reload), and keep the state directory's certificate files
 * and crt-list equal to what HAProxy serves.
 *
 * Layout (haproxy.cfg.in: "bind ... ssl crt STATE/certs/default.pem crt-list
 * STATE/certs.list"): one file STATE/certs/NS_NAME.pem per Secret (the
 * server certificate, its chain, the key; mode 0600) and one crt-list line
 * per file, "STATE/certs/NS_NAME.pem host1 *.host2 ...": the hosts are SNI
 * filters (exact, or "*.parent" for exactly one more label, as Ingress
 * wildcards); a line without hosts serves the certificate for the names it
 * carries itself.
 *
 * Runtime API (management.txt 9.3; all checked on Debian's 2.6):
 *   new cert      "new ssl cert F", "set ssl cert F <<" (certificate and
 *                 chain), "set ssl cert F.key <<" (the key), "commit ssl
 *                 cert F"; then "add ssl crt-list LIST <<" the line
 *   renewed cert  the same without "new": replaced in place, for every SNI
 *   other hosts   "add ssl crt-list" of the new line first, then "del ssl
 *                 crt-list LIST F:N" of the old one: both lines name the
 *                 same certificate, so no handshake sees a gap
 *   removed       "del ssl crt-list LIST F:N", "del ssl cert F", unlink F
 * HAProxy 2.6 has one certificate transaction for the whole process, so
 * each certificate's set/commit runs to its end (or "abort ssl cert")
 * before the next starts. The certificate and the key are sent as two
 * payloads so each fits HAProxy's CLI buffer (tune.bufsize, 16384 by
 * default: a payload of about 16000 bytes at most; runtime_api's
 * max_request keeps 15 KiB): chains up to about 15 KiB work with the
 * default bufsize; a larger one is reported and not served.
 * A refused "del ssl cert" answers with an extra empty line on 2.6, which
 * runtime_api takes for a framing error (the connection drops, the sync
 * fails, the next one reads HAProxy again): stores are deleted one at a
 * time, last, and only once no crt-list line names them.
 *
 * On disk: a certificate file is written once HAProxy committed it (HAProxy
 * checked it, so a restart never trips on a file HAProxy would refuse), and
 * before the crt-list line naming it; the crt-list file is written after
 * each change from what HAProxy then lists ("show ssl crt-list"); a file is
 * unlinked only after its line left the crt-list.
 *
 * HAProxy is the source of truth: the first sync, and every sync after
 * HAProxy restarted or reloaded (another "Pid"/"Start_time_sec" in "show
 * info") or after a runtime API failure, first reads what HAProxy serves
 * ("show ssl cert", "show ssl crt-list -n", the SHA-1 of each certificate)
 * and aborts a stale transaction on one of our files. Files under
 * STATE/certs/ named like ours that HAProxy does not serve are removed.
 *
 * A Secret that is missing or invalid (certs_entry.pem NULL) keeps the
 * certificate HAProxy already serves for it, with its new hosts; one that
 * never had a valid certificate gets no crt-list line (its hosts get the
 * default certificate). Only a Secret no longer in the desired set is
 * removed.
 */
#ifndef SPOKE_HAPROXY_CERTS_H
#define SPOKE_HAPROXY_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "haproxy/runtime_api.h"

/* Hosts per crt-list line, and bytes per line (it is one CLI payload). */
#define CERTS_MAX_HOSTS      1000
#define CERTS_MAX_LINE_BYTES 12000

struct certs_state;

/* One Secret's certificate as the routing model wants it. */
struct certs_entry {
    const char *secret;       /* "namespace/name": names the file */
    const char *pem;          /* pem_check_result.pem, or NULL: missing/invalid Secret */
    size_t pem_len;           /* bytes of pem */
    const char *const *hosts; /* SNI hosts, lowercase, exact or "*.parent" */
    size_t n_hosts;           /* 0: the names in the certificate */
};

struct certs_desired {
    const struct certs_entry *entries; /* any order; one secret listed twice is merged */
    size_t n_entries;
    /* The certificate for handshakes no SNI filter matches
     * (--default-ssl-certificate), replacing STATE/certs/default.pem in
     * place; NULL leaves that file and HAProxy's default alone. */
    const char *default_pem;
    size_t default_pem_len;
};

/* Something about one Secret that the caller should report (log, Event). */
struct certs_problem {
    const char *secret; /* "namespace/name"; "" for the default certificate */
    const char *message;
};

struct certs_report {
    /* 0, or a negative errno: the sync stopped early (see detail); the next
     * sync reads HAProxy's state again. -EAGAIN: HAProxy restarted while
     * the sync was being prepared; call again. Problems of single Secrets
     * do not set err. */
    int err;
    const char *detail; /* "" or what failed, with HAProxy's answer */
    unsigned added;     /* certificates newly served */
    unsigned updated;   /* certificates replaced in place (renewals, default) */
    unsigned rehosted;  /* crt-list lines replaced for other hosts */
    unsigned removed;   /* certificates no longer served */
    unsigned commands;  /* runtime API commands sent */
    bool discovered;    /* HAProxy's certificates were read first */
    const struct certs_problem *problems;
    size_t n_problems;
};

/* Called once per certs_sync, from the loop; report and its strings are
 * valid during the call only. The callback may call certs_sync again or
 * free the state. */
typedef void (*certs_done_cb)(void *user, const struct certs_report *report);

/* state_dir is the absolute directory the configuration was rendered with
 * (the names HAProxy knows the files by start with it); it must consist of
 * [A-Za-z0-9/._+-] only, since it appears in crt-list lines, which cannot
 * be escaped. api is shared with the other users of the runtime API, but
 * nothing else may use "ssl cert" transactions. NULL with err on a refused
 * state_dir or no memory. */
struct certs_state *certs_state_new(struct runtime_api *api, const char *state_dir, char *err,
                                    size_t errlen);

/* Frees the state. A sync in progress is abandoned: its commands still get
 * their answers, its callback is not called. */
void certs_state_free(struct certs_state *st);

/* HAProxy was restarted or reloaded: read what it serves at the next sync
 * (detected on its own too, this only makes sure). */
void certs_state_invalidate(struct certs_state *st);

/* Makes HAProxy serve d. Everything needed is copied: d may be freed on
 * return. Returns 0 (cb will be called), -EBUSY while a sync is running (call
 * again from its callback), or -ENOMEM. Entries that are refused (a secret
 * name that is not "namespace/name", a host that is not a DNS name, too many
 * hosts, a host already listed by another secret) are reported as problems
 * and keep what HAProxy serves for them. */
int certs_sync(struct certs_state *st, const struct certs_desired *d, certs_done_cb cb, void *user);

/* The file for secret "namespace/name": STATE/certs/NAMESPACE_NAME.pem, or,
 * for very long names, a shortened name with a hash. Returns 0, -EINVAL if
 * secret is not a valid "namespace/name", or -ENAMETOOLONG if out is too
 * small. */
int certs_file_name(const char *state_dir, const char *secret, char *out, size_t len);

/* Certificates from Secrets HAProxy serves, as last known (tests, metrics). */
size_t certs_state_count(const struct certs_state *st);

#endif
