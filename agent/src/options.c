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
    "  --debounce-ms N           wait N ms after a change before reconciling (default 100)\n"
    "\n"
    "Operations:\n"
    "  --admin-listen ADDR       local admin HTTP server, HOST:PORT (default 127.0.0.1:10255);\n"
    "                            GET /debug/store dumps the object cache (Secret values\n"
    "                            redacted); 'off' disables it\n"
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
    OPT_ADMIN_LISTEN,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,
    OPT_VERSION,
};

static const struct option long_options[] = {
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"watch-namespace", required_argument, NULL, OPT_WATCH_NAMESPACE},
    {"debounce-ms", required_argument, NULL, OPT_DEBOUNCE_MS},
    {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
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

enum options_result options_parse(int argc, char **argv, struct options *opts, FILE *out,
                                  FILE *err)
{
    *opts = (struct options){
        .admin_listen = "127.0.0.1:10255",
        .debounce_seconds = 0.1,
        .log_level = LOG_INFO,
        .log_format = LOG_FORMAT_TEXT,
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
    return OPTIONS_RUN;
}
