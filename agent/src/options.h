/*
 * options.h - the agent's command line: every flag, its default, its help.
 */
#ifndef SPOKE_OPTIONS_H
#define SPOKE_OPTIONS_H

#include <stdio.h>

#include "util/log.h"

struct options {
    const char *kubeconfig;      /* --kubeconfig, else $KUBECONFIG, in-cluster, ~/.kube/config */
    const char *context;         /* --context */
    const char *watch_namespace; /* --watch-namespace; NULL = all */
    const char *admin_listen;    /* --admin-listen */
    const char *metrics_listen;  /* --metrics-listen; NULL = off */
    const char *haproxy_metrics; /* --haproxy-metrics-listen; NULL = off */
    double debounce_seconds;     /* --debounce-ms / 1000 */
    /* HAProxy */
    int watch_only;              /* --watch-only: keep the cache, drive no HAProxy */
    const char *state_dir;       /* --state-dir */
    int manage_haproxy;          /* --manage-haproxy */
    const char *haproxy_bin;     /* --haproxy-bin */
    const char *haproxy_socket;  /* --haproxy-socket; NULL = STATE_DIR/admin.sock */
    const char *master_socket;   /* --haproxy-master-socket (attached mode) */
    const char *bind_address;    /* --bind-address; "*" = all */
    int http_port, https_port;   /* --http-port, --https-port */
    const char *ingress_class;   /* --ingress-class */
    int pool_size;               /* --pool-size: backends declared per profile */
    const char *publish_service; /* --publish-service NS/NAME */
    const char *publish_address; /* --publish-address ADDR[,ADDR...] */
    const char *default_backend; /* --default-backend-service NS/NAME[:PORT] */
    const char *default_cert;    /* --default-ssl-certificate NS/NAME */
    const char *spoe_listen;     /* --spoe-listen; NULL = unix@STATE_DIR/spoe.sock */
    int spoe_workers;            /* --spoe-workers */
    /* Leader election (only the leader writes Ingress status) */
    int leader_elect;        /* --leader-elect / --no-leader-elect; -1 = on with --publish-* */
    const char *election_id; /* --election-id: the Lease name */
    const char *election_namespace; /* --election-namespace; NULL = own_namespace */
    const char *own_namespace;      /* --namespace; NULL = in-cluster's, kubeconfig's, "default" */
    int lease_duration_seconds;     /* --lease-duration-seconds */
    int shutdown_drain_seconds;     /* --shutdown-drain-seconds */
    int shutdown_grace_seconds;     /* --shutdown-grace-seconds */
    enum log_level log_level;
    enum log_format log_format;
};

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_ERROR };

/* Fills opts from argv. Prints --help/--version to out and errors to err. */
enum options_result options_parse(int argc, char **argv, struct options *opts, FILE *out,
                                  FILE *err);

#endif
