/* options.c - see options.h. */
#include "options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

static const char usage[] =
    "Usage: spoke [OPTIONS]\n"
    "\n"
    "spoke is a Kubernetes Ingress controller that drives a stock HAProxy through\n"
    "its runtime API, without reloads.\n"
    "\n"
    "Kubernetes API:\n"
    "  --kubeconfig PATH         kubeconfig file (default: $KUBECONFIG, then the in-cluster\n"
    "                            service account, then ~/.kube/config)\n"
    "  --context NAME            kubeconfig context to use (default: current-context)\n"
    "  --watch-namespace NS      watch only this namespace (default: all namespaces)\n"
    "  --namespace NS            the agent's own namespace: its Lease, IngressParameters of\n"
    "                            scope Cluster and their errorPages ConfigMap (default: the\n"
    "                            Pod's, else the kubeconfig context's, else default)\n"
    "  --debounce-ms N           reconcile at most once per N ms during bursts of changes;\n"
    "                            a change after a quiet period applies at once (default 100)\n"
    "\n"
    "HAProxy:\n"
    "  --state-dir DIR           where haproxy.cfg, maps and certificates live\n"
    "                            (default /var/lib/spoke)\n"
    "  --manage-haproxy          start and supervise HAProxy (master-worker) from the agent;\n"
    "                            without it, attach to an HAProxy that runs STATE_DIR/haproxy.cfg\n"
    "  --haproxy-bin PATH        the haproxy binary for --manage-haproxy (default haproxy)\n"
    "  --haproxy-socket ADDR     HAProxy's runtime API (default STATE_DIR/admin.sock)\n"
    "  --haproxy-master-socket PATH\n"
    "                            attached mode: the master CLI of an HAProxy started with\n"
    "                            -W -S PATH, so pool growth can reload it (hitless)\n"
    "  --bind-address ADDR       address HAProxy listens on (default * = all)\n"
    "  --http-port N             HTTP port (default 80)\n"
    "  --https-port N            HTTPS port (default 443)\n"
    "  --pool-size N             backends declared per profile before a reload is needed\n"
    "                            (default 64; grows by doubling when exhausted)\n"
    "  --ingress-class NAME      serve Ingresses of this IngressClass (default spoke)\n"
    "  --default-backend-service NS/NAME[:PORT]\n"
    "                            where requests that match no rule go (port number or\n"
    "                            name; default: the Service's first port); without it: 404\n"
    "  --default-ssl-certificate NS/NAME\n"
    "                            TLS Secret for HTTPS requests no Ingress certificate\n"
    "                            matches (default: a generated self-signed certificate)\n"
    "  --watch-only              watch the API and keep the cache, drive no HAProxy\n"
    "\n"
    "SPOE responder (auth annotations):\n"
    "  --spoe-listen ADDR        where HAProxy asks the agent: HOST:PORT or unix@PATH\n"
    "                            (default unix@STATE_DIR/spoe.sock)\n"
    "  --spoe-workers N          responder threads (default 2)\n"
    "\n"
    "Ingress status:\n"
    "  --publish-service NS/NAME write the load-balancer addresses of this Service into\n"
    "                            status.loadBalancer of the Ingresses served (for a\n"
    "                            NodePort Service: its Pods' Node addresses; watches Nodes)\n"
    "  --publish-address ADDRS   write these addresses instead (comma-separated IPs or\n"
    "                            host names); without either, status is left alone\n"
    "\n"
    "Leader election (all replicas serve; only the leader writes Ingress status):\n"
    "  --leader-elect            take part in leader election (default: on when\n"
    "                            --publish-service or --publish-address is given)\n"
    "  --no-leader-elect         do not (every replica then writes status)\n"
    "  --election-id NAME        the coordination.k8s.io/v1 Lease (default spoke-leader)\n"
    "  --election-namespace NS   its namespace (default: --namespace)\n"
    "  --lease-duration-seconds N\n"
    "                            lease duration (default 15; renew deadline 2/3 of it,\n"
    "                            retry period 2/15)\n"
    "\n"
    "Operations:\n"
    "  --admin-listen ADDR       local admin HTTP server, HOST:PORT (default 127.0.0.1:10255);\n"
    "                            GET /debug/store dumps the object cache (Secret values\n"
    "                            redacted); 'off' disables it\n"
    "  --shutdown-drain-seconds N\n"
    "                            on SIGTERM, fail /readyz and keep serving N seconds while\n"
    "                            the Service and load balancers drop this Pod (default 0)\n"
    "  --shutdown-grace-seconds N\n"
    "                            then let HAProxy finish in-flight requests for up to N\n"
    "                            seconds (--manage-haproxy; default 25); a second signal\n"
    "                            skips the drain\n"
    "  --haproxy-metrics-listen ADDR\n"
    "                            HAProxy's own Prometheus exporter (/metrics), HOST:PORT\n"
    "                            (default: off)\n"
    "  --metrics-listen ADDR     /metrics, /healthz and /readyz only, HOST:PORT (default\n"
    "                            127.0.0.1:10254; 'off' disables it); also on --admin-listen\n"
    "  --log-level LEVEL         debug, info, warn or error (default info)\n"
    "  --log-format FORMAT       text or json (default text)\n"
    "  -h, --help                show this help and exit\n"
    "  --version                 show the version and exit\n"
    "\n"
    "Signals: SIGTERM and SIGINT stop the agent cleanly.\n";

enum {
    OPT_KUBECONFIG = 256,
    OPT_CONTEXT,
    OPT_WATCH_NAMESPACE,
    OPT_DEBOUNCE_MS,
    OPT_HAPROXY_METRICS,
    OPT_NAMESPACE,
    OPT_SHUTDOWN_DRAIN,
    OPT_SHUTDOWN_GRACE,
    OPT_ADMIN_LISTEN,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,
    OPT_VERSION,
    OPT_WATCH_ONLY,
    OPT_STATE_DIR,
    OPT_MANAGE_HAPROXY,
    OPT_HAPROXY_BIN,
    OPT_HAPROXY_SOCKET,
    OPT_HAPROXY_MASTER_SOCKET,
    OPT_BIND_ADDRESS,
    OPT_HTTP_PORT,
    OPT_HTTPS_PORT,
    OPT_INGRESS_CLASS,
    OPT_POOL_SIZE,
    OPT_PUBLISH_SERVICE,
    OPT_PUBLISH_ADDRESS,
    OPT_DEFAULT_BACKEND,
    OPT_DEFAULT_CERT,
    OPT_SPOE_LISTEN,
    OPT_SPOE_WORKERS,
    OPT_METRICS_LISTEN,
    OPT_LEADER_ELECT,
    OPT_NO_LEADER_ELECT,
    OPT_ELECTION_ID,
    OPT_ELECTION_NAMESPACE,
    OPT_LEASE_DURATION,
};

static const struct option long_options[] = {
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"watch-namespace", required_argument, NULL, OPT_WATCH_NAMESPACE},
    {"debounce-ms", required_argument, NULL, OPT_DEBOUNCE_MS},
    {"shutdown-drain-seconds", required_argument, NULL, OPT_SHUTDOWN_DRAIN},
    {"shutdown-grace-seconds", required_argument, NULL, OPT_SHUTDOWN_GRACE},
    {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"watch-only", no_argument, NULL, OPT_WATCH_ONLY},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"manage-haproxy", no_argument, NULL, OPT_MANAGE_HAPROXY},
    {"haproxy-bin", required_argument, NULL, OPT_HAPROXY_BIN},
    {"haproxy-socket", required_argument, NULL, OPT_HAPROXY_SOCKET},
    {"haproxy-master-socket", required_argument, NULL, OPT_HAPROXY_MASTER_SOCKET},
    {"bind-address", required_argument, NULL, OPT_BIND_ADDRESS},
    {"http-port", required_argument, NULL, OPT_HTTP_PORT},
    {"https-port", required_argument, NULL, OPT_HTTPS_PORT},
    {"ingress-class", required_argument, NULL, OPT_INGRESS_CLASS},
    {"pool-size", required_argument, NULL, OPT_POOL_SIZE},
    {"publish-service", required_argument, NULL, OPT_PUBLISH_SERVICE},
    {"publish-address", required_argument, NULL, OPT_PUBLISH_ADDRESS},
    {"default-backend-service", required_argument, NULL, OPT_DEFAULT_BACKEND},
    {"default-ssl-certificate", required_argument, NULL, OPT_DEFAULT_CERT},
    {"spoe-listen", required_argument, NULL, OPT_SPOE_LISTEN},
    {"spoe-workers", required_argument, NULL, OPT_SPOE_WORKERS},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"haproxy-metrics-listen", required_argument, NULL, OPT_HAPROXY_METRICS},
    {"leader-elect", no_argument, NULL, OPT_LEADER_ELECT},
    {"no-leader-elect", no_argument, NULL, OPT_NO_LEADER_ELECT},
    {"election-id", required_argument, NULL, OPT_ELECTION_ID},
    {"election-namespace", required_argument, NULL, OPT_ELECTION_NAMESPACE},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"lease-duration-seconds", required_argument, NULL, OPT_LEASE_DURATION},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_ms(const char *s, double *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 60000)
        return -1;
    *out = (double)v / 1000.0;
    return 0;
}

/* An integer in [min, max]; -1 otherwise. */
static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int int_option(const char *name, const char *arg, int min, int max, int *out, FILE *err)
{
    if (parse_int(arg, min, max, out) == 0)
        return 0;
    fprintf(err, "spoke: --%s: '%s' is not a number from %d to %d\n", name, arg, min, max);
    return -1;
}

enum options_result options_parse(int argc, char **argv, struct options *opts, FILE *out, FILE *err)
{
    *opts = (struct options){
        .admin_listen = "127.0.0.1:10255",
        .metrics_listen = "127.0.0.1:10254",
        .debounce_seconds = 0.1,
        .log_level = LOG_INFO,
        .log_format = LOG_FORMAT_TEXT,
        .state_dir = "/var/lib/spoke",
        .haproxy_bin = "haproxy",
        .bind_address = "*",
        .http_port = 80,
        .https_port = 443,
        .ingress_class = "spoke",
        .pool_size = 64,
        .spoe_workers = 2,
        .leader_elect = -1,
        .election_id = "spoke-leader",
        .lease_duration_seconds = 15,
        .shutdown_grace_seconds = 25,
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_KUBECONFIG:
            opts->kubeconfig = optarg;
            break;
        case OPT_CONTEXT:
            opts->context = optarg;
            break;
        case OPT_WATCH_NAMESPACE:
            opts->watch_namespace = optarg[0] ? optarg : NULL;
            break;
        case OPT_DEBOUNCE_MS:
            if (parse_ms(optarg, &opts->debounce_seconds) < 0) {
                fprintf(err, "spoke: --debounce-ms: '%s' is not a number of ms (0-60000)\n",
                        optarg);
                return OPTIONS_EXIT_ERROR;
            }
            break;
        case OPT_ADMIN_LISTEN:
            opts->admin_listen = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case OPT_LOG_LEVEL:
            if (log_parse_level(optarg, &opts->log_level) < 0) {
                fprintf(err, "spoke: --log-level: '%s' is not debug, info, warn or error\n",
                        optarg);
                return OPTIONS_EXIT_ERROR;
            }
            break;
        case OPT_LOG_FORMAT:
            if (log_parse_format(optarg, &opts->log_format) < 0) {
                fprintf(err, "spoke: --log-format: '%s' is not text or json\n", optarg);
                return OPTIONS_EXIT_ERROR;
            }
            break;
        case OPT_WATCH_ONLY:
            opts->watch_only = 1;
            break;
        case OPT_STATE_DIR:
            opts->state_dir = optarg;
            break;
        case OPT_MANAGE_HAPROXY:
            opts->manage_haproxy = 1;
            break;
        case OPT_HAPROXY_BIN:
            opts->haproxy_bin = optarg;
            break;
        case OPT_HAPROXY_MASTER_SOCKET:
            opts->master_socket = optarg;
            break;
        case OPT_HAPROXY_SOCKET:
            opts->haproxy_socket = optarg;
            break;
        case OPT_BIND_ADDRESS:
            opts->bind_address = optarg;
            break;
        case OPT_HTTP_PORT:
            if (int_option("http-port", optarg, 1, 65535, &opts->http_port, err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_HTTPS_PORT:
            if (int_option("https-port", optarg, 1, 65535, &opts->https_port, err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_INGRESS_CLASS:
            opts->ingress_class = optarg;
            break;
        case OPT_POOL_SIZE:
            if (int_option("pool-size", optarg, 1, 4096, &opts->pool_size, err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_METRICS_LISTEN:
            opts->metrics_listen = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case OPT_SPOE_LISTEN:
            opts->spoe_listen = optarg;
            break;
        case OPT_SPOE_WORKERS:
            if (int_option("spoe-workers", optarg, 1, 64, &opts->spoe_workers, err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_DEFAULT_CERT: {
            const char *slash = strchr(optarg, '/');
            if (!slash || slash == optarg || !slash[1] || strchr(slash + 1, '/')) {
                fprintf(err, "spoke: --default-ssl-certificate: '%s' is not NAMESPACE/NAME\n",
                        optarg);
                return OPTIONS_EXIT_ERROR;
            }
            opts->default_cert = optarg;
            break;
        }
        case OPT_PUBLISH_SERVICE: {
            const char *slash = strchr(optarg, '/');
            if (!slash || slash == optarg || !slash[1] || strchr(slash + 1, '/')) {
                fprintf(err, "spoke: --publish-service: '%s' is not NAMESPACE/NAME\n", optarg);
                return OPTIONS_EXIT_ERROR;
            }
            opts->publish_service = optarg;
            break;
        }
        case OPT_DEFAULT_BACKEND: {
            const char *slash = strchr(optarg, '/');
            if (!slash || slash == optarg || !slash[1] || slash[1] == ':') {
                fprintf(err,
                        "spoke: --default-backend-service: '%s' is not NAMESPACE/NAME[:PORT]\n",
                        optarg);
                return OPTIONS_EXIT_ERROR;
            }
            opts->default_backend = optarg;
            break;
        }
        case OPT_PUBLISH_ADDRESS:
            opts->publish_address = optarg;
            break;
        case OPT_LEADER_ELECT:
            opts->leader_elect = 1;
            break;
        case OPT_NO_LEADER_ELECT:
            opts->leader_elect = 0;
            break;
        case OPT_ELECTION_ID:
            opts->election_id = optarg;
            break;
        case OPT_HAPROXY_METRICS:
            if (!strchr(optarg, ':') || strpbrk(optarg, " \t\r\n#")) {
                fprintf(err, "spoke: --haproxy-metrics-listen: '%s' is not HOST:PORT\n", optarg);
                return OPTIONS_EXIT_ERROR;
            }
            opts->haproxy_metrics = optarg;
            break;
        case OPT_NAMESPACE:
            opts->own_namespace = optarg[0] ? optarg : NULL;
            break;
        case OPT_ELECTION_NAMESPACE:
            opts->election_namespace = optarg;
            break;
        case OPT_SHUTDOWN_DRAIN:
            if (int_option("shutdown-drain-seconds", optarg, 0, 3600, &opts->shutdown_drain_seconds,
                           err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_SHUTDOWN_GRACE:
            if (int_option("shutdown-grace-seconds", optarg, 0, 3600, &opts->shutdown_grace_seconds,
                           err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case OPT_LEASE_DURATION:
            if (int_option("lease-duration-seconds", optarg, 2, 3600, &opts->lease_duration_seconds,
                           err) < 0)
                return OPTIONS_EXIT_ERROR;
            break;
        case 'h':
            fputs(usage, out);
            return OPTIONS_EXIT_OK;
        case OPT_VERSION:
            fprintf(out, "spoke %s\n", SPOKE_VERSION);
            return OPTIONS_EXIT_OK;
        default:
            if (optopt)
                fprintf(err, "spoke: option '%s' needs a value or is unknown\n", argv[optind - 1]);
            else
                fprintf(err, "spoke: unknown option '%s'\n", argv[optind - 1]);
            fputs("Try 'spoke --help'.\n", err);
            return OPTIONS_EXIT_ERROR;
        }
    }
    if (optind < argc) {
        fprintf(err, "spoke: unexpected argument '%s'\nTry 'spoke --help'.\n", argv[optind]);
        return OPTIONS_EXIT_ERROR;
    }
    if (opts->manage_haproxy && opts->master_socket) {
        fputs("spoke: --haproxy-master-socket is for attached mode; with --manage-haproxy the "
              "agent reloads the HAProxy it runs\n",
              err);
        return OPTIONS_EXIT_ERROR;
    }
    if (opts->leader_elect < 0)
        opts->leader_elect = opts->publish_service || opts->publish_address;
    return OPTIONS_RUN;
}
