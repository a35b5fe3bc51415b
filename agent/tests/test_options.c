/* test_options.c - the command line: defaults, every flag, clear errors. */
#include <stdlib.h>

#include "options.h"
#include "test.h"

static enum options_result parse(struct options *o, char **argv, char *out, size_t outlen,
                                 char *err, size_t errlen)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    FILE *fo = fmemopen(out, outlen, "w");
    FILE *fe = fmemopen(err, errlen, "w");
    enum options_result r = options_parse(argc, argv, o, fo, fe);
    fclose(fo);
    fclose(fe);
    return r;
}

static void test_defaults(void)
{
    struct options o;
    char out[64] = "", err[64] = "";
    char *argv[] = {"spoke", NULL};
    CHECK_INT_EQ(parse(&o, argv, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK(o.kubeconfig == NULL);
    CHECK(o.watch_namespace == NULL);
    CHECK_STR_EQ(o.admin_listen, "127.0.0.1:10255");
    CHECK(o.debounce_seconds > 0.099 && o.debounce_seconds < 0.101);
    CHECK_INT_EQ(o.log_level, LOG_INFO);
    CHECK_INT_EQ(o.log_format, LOG_FORMAT_TEXT);
    CHECK_STR_EQ(o.state_dir, "/var/lib/spoke");
    CHECK_INT_EQ(o.http_port, 80);
    CHECK_INT_EQ(o.https_port, 443);
    CHECK_STR_EQ(o.ingress_class, "spoke");
    CHECK(!o.manage_haproxy && !o.watch_only && o.haproxy_socket == NULL);
}

static void test_haproxy_flags(void)
{
    struct options o;
    char out[64] = "", err[64] = "";
    char *argv[] = {"spoke",
                    "--state-dir",
                    "/s",
                    "--manage-haproxy",
                    "--haproxy-bin",
                    "/hb",
                    "--haproxy-socket",
                    "/s/a.sock",
                    "--bind-address",
                    "127.0.0.1",
                    "--http-port",
                    "18080",
                    "--https-port",
                    "18443",
                    "--pool-size",
                    "8",
                    "--ingress-class",
                    "edge",
                    "--watch-only",
                    NULL};
    CHECK_INT_EQ(parse(&o, argv, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK_STR_EQ(o.state_dir, "/s");
    CHECK(o.manage_haproxy && o.watch_only);
    CHECK_STR_EQ(o.haproxy_bin, "/hb");
    CHECK_STR_EQ(o.haproxy_socket, "/s/a.sock");
    CHECK_STR_EQ(o.bind_address, "127.0.0.1");
    CHECK_INT_EQ(o.http_port, 18080);
    CHECK_INT_EQ(o.https_port, 18443);
    CHECK_INT_EQ(o.pool_size, 8);
    CHECK_STR_EQ(o.ingress_class, "edge");
}

static void test_every_flag(void)
{
    struct options o;
    char out[64] = "", err[64] = "";
    char *argv[] = {"spoke", "--kubeconfig",      "/k",     "--context",
                    "c",     "--watch-namespace", "team-a", "--debounce-ms",
                    "250",   "--admin-listen",    "off",    "--log-level",
                    "debug", "--log-format",      "json",   NULL};
    CHECK_INT_EQ(parse(&o, argv, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK_STR_EQ(o.kubeconfig, "/k");
    CHECK_STR_EQ(o.context, "c");
    CHECK_STR_EQ(o.watch_namespace, "team-a");
    CHECK(o.debounce_seconds > 0.249 && o.debounce_seconds < 0.251);
    CHECK(o.admin_listen == NULL);
    CHECK_INT_EQ(o.log_level, LOG_DEBUG);
    CHECK_INT_EQ(o.log_format, LOG_FORMAT_JSON);
}

static void test_help_lists_every_flag(void)
{
    struct options o;
    char out[8192] = "", err[64] = "";
    char *argv[] = {"spoke", "--help", NULL};
    CHECK_INT_EQ(parse(&o, argv, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_OK);
    const char *flags[] = {"--kubeconfig",      "--context",
                           "--watch-namespace", "--debounce-ms",
                           "--admin-listen",    "--log-level",
                           "--log-format",      "--help",
                           "--version",         "--state-dir",
                           "--manage-haproxy",  "--haproxy-bin",
                           "--haproxy-socket",  "--haproxy-master-socket",
                           "--bind-address",    "--http-port",
                           "--https-port",      "--pool-size",
                           "--ingress-class",   "--watch-only",
                           "--publish-service", "--publish-address"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        CHECK(strstr(out, flags[i]) != NULL);
}

static void test_errors_are_clear(void)
{
    struct options o;
    char out[64], err[256];
    char *bad_level[] = {"spoke", "--log-level", "loud", NULL};
    CHECK_INT_EQ(parse(&o, bad_level, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--log-level") && strstr(err, "loud"));
    char *bad_ms[] = {"spoke", "--debounce-ms", "-5", NULL};
    CHECK_INT_EQ(parse(&o, bad_ms, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--debounce-ms") != NULL);
    char *unknown[] = {"spoke", "--frobnicate", NULL};
    CHECK_INT_EQ(parse(&o, unknown, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--frobnicate") != NULL);
    char *bad_port[] = {"spoke", "--http-port", "70000", NULL};
    CHECK_INT_EQ(parse(&o, bad_port, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--http-port") && strstr(err, "70000"));
    char *bad_publish[] = {"spoke", "--publish-service", "no-slash", NULL};
    CHECK_INT_EQ(parse(&o, bad_publish, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--publish-service") && strstr(err, "NAMESPACE/NAME"));
    char *master_managed[] = {"spoke", "--manage-haproxy", "--haproxy-master-socket", "/m", NULL};
    CHECK_INT_EQ(parse(&o, master_managed, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--haproxy-master-socket") && strstr(err, "attached"));
    char *master[] = {"spoke", "--haproxy-master-socket", "/m", NULL};
    CHECK_INT_EQ(parse(&o, master, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK_STR_EQ(o.master_socket, "/m");
    char *drain[] = {"spoke", "--shutdown-drain-seconds", "-1", NULL};
    CHECK_INT_EQ(parse(&o, drain, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--shutdown-drain-seconds") != NULL);
    char *grace[] = {"spoke", "--shutdown-drain-seconds", "7", "--shutdown-grace-seconds", "9",
                     NULL};
    CHECK_INT_EQ(parse(&o, grace, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK_INT_EQ(o.shutdown_drain_seconds, 7);
    CHECK_INT_EQ(o.shutdown_grace_seconds, 9);
    char *hm[] = {"spoke", "--haproxy-metrics-listen", "0.0.0.0:9101\nbind", NULL};
    CHECK_INT_EQ(parse(&o, hm, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "--haproxy-metrics-listen") != NULL);
    char *own[] = {"spoke", "--namespace", "edge", NULL};
    CHECK_INT_EQ(parse(&o, own, out, sizeof(out), err, sizeof(err)), OPTIONS_RUN);
    CHECK_STR_EQ(o.own_namespace, "edge");
    char *stray[] = {"spoke", "extra", NULL};
    CHECK_INT_EQ(parse(&o, stray, out, sizeof(out), err, sizeof(err)), OPTIONS_EXIT_ERROR);
    CHECK(strstr(err, "extra") != NULL);
}

TEST_MAIN(TEST_CASE(test_defaults), TEST_CASE(test_every_flag), TEST_CASE(test_haproxy_flags),
          TEST_CASE(test_help_lists_every_flag), TEST_CASE(test_errors_are_clear))
