/*
 * test_config_render.c - the HAProxy configuration the agent renders: every
 * placeholder filled, pools declared, state files laid out, and the result
 * accepted by the real haproxy binary (haproxy -c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy/config_render.h"
#include "haproxy/params_render.h"
#include "haproxy/pools.h"
#include "test.h"

static struct pools *test_pools(void)
{
    static struct pools *p;
    if (!p) {
        p = pools_new(3);
        pools_add_profile(p, "http-roundrobin");
        pools_add_profile(p, "h2-leastconn-cookie");
        pools_grow(p, "h2-leastconn-cookie"); /* 6 */
        pools_assign(p, "http-roundrobin", "demo_hello_80");
    }
    return p;
}

static void servers(void *ud, const char *backend, const char *profile, struct strbuf *out)
{
    (void)ud;
    (void)profile;
    if (strcmp(backend, "pool_http-roundrobin_0001") == 0)
        strbuf_puts(out, "    server ep-127.0.1.1-8080 127.0.1.1:8080\n");
}

static struct haproxy_render_params params(const char *dir)
{
    return (struct haproxy_render_params){
        .state_dir = dir,
        .bind_addr = "127.0.0.1",
        .http_port = 18080,
        .https_port = 18443,
        .pools = test_pools(),
        .servers = servers,
    };
}

static void test_placeholders_and_pools(void)
{
    struct haproxy_render_params p = params("/state");
    char err[256];
    char *cfg = haproxy_config_render(haproxy_cfg_template, &p, err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    CHECK(strchr(cfg, '@') == NULL);
    CHECK(strstr(cfg, "bind 127.0.0.1:18080\n") != NULL);
    CHECK(strstr(cfg, "bind 127.0.0.1:18443 ssl crt /state/certs/default.pem") != NULL);
    CHECK(strstr(cfg, "map_beg(/state/maps/routes.map)") != NULL);
    CHECK(strstr(cfg, "backend pool_http-roundrobin_0001\n    # serves demo_hello_80\n"
                      "    balance roundrobin\n") != NULL);
    CHECK(strstr(cfg, "    server ep-127.0.1.1-8080 127.0.1.1:8080\n") != NULL);
    CHECK(strstr(cfg, "backend pool_http-roundrobin_0003\n    balance roundrobin\n") != NULL);
    CHECK(strstr(cfg, "backend pool_http-roundrobin_0004") == NULL);
    CHECK(strstr(cfg, "backend pool_h2-leastconn-cookie_0006\n    balance leastconn\n"
                      "    cookie SPOKEAFFINITY") != NULL);
    free(cfg);
}

static void test_unknown_placeholder_is_an_error(void)
{
    struct haproxy_render_params p = params("/state");
    char err[256] = "";
    CHECK(haproxy_config_render("a @NOPE@ b", &p, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "@NOPE@") != NULL);
    char *plain = haproxy_config_render("unix@/run/x.sock a@b @lower@", &p, err, sizeof(err));
    CHECK_STR_EQ(plain, "unix@/run/x.sock a@b @lower@");
    free(plain);
}

static void test_bind_all_addresses(void)
{
    struct haproxy_render_params p = params("/s");
    p.bind_addr = "*";
    char err[256];
    char *cfg = haproxy_config_render("bind @BIND_ADDR@:@HTTP_PORT@", &p, err, sizeof(err));
    CHECK_STR_EQ(cfg, "bind :18080");
    free(cfg);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_state_dir_and_haproxy_accepts_it(void)
{
    char dir[200];
    snprintf(dir, sizeof(dir), "%s/spoke-cfg-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    struct haproxy_render_params p = params(dir);
    char err[512] = "";
    CHECK_INT_EQ(haproxy_state_prepare(&p, err, sizeof(err)), 0);
    if (err[0])
        printf("# %s\n", err);
    const char *files[] = {"haproxy.cfg", "maps/routes.map", "certs.list", "certs/default.pem"};
    char path[512], cmd[1024];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        CHECK(stat(path, &st) == 0);
    }
    /* Existing maps are kept: they hold the last routing. */
    snprintf(cmd, sizeof(cmd), "echo '^a.example/ pool_rr_0001|r1|' > %s/maps/routes.map", dir);
    CHECK_INT_EQ(run(cmd), 0);
    CHECK_INT_EQ(haproxy_state_prepare(&p, err, sizeof(err)), 0);
    snprintf(cmd, sizeof(cmd), "grep -q pool_rr_0001 %s/maps/routes.map", dir);
    CHECK_INT_EQ(run(cmd), 0);

    snprintf(cmd, sizeof(cmd), "haproxy -c -q -f %s/haproxy.cfg", dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "grep -q prometheus-exporter %s/haproxy.cfg", dir);
    CHECK(run(cmd) != 0); /* off by default */
    /* HAProxy's own exporter, when asked for. */
    p.haproxy_metrics = "127.0.0.1:18404";
    CHECK_INT_EQ(haproxy_state_prepare(&p, err, sizeof(err)), 0);
    snprintf(cmd, sizeof(cmd),
             "grep -q 'bind 127.0.0.1:18404' %s/haproxy.cfg && "
             "grep -q 'use-service prometheus-exporter' %s/haproxy.cfg",
             dir, dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "haproxy -c -q -f %s/haproxy.cfg", dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT_EQ(run(cmd), 0);
}

/* Every IngressParameters field set, the custom log format with both
 * quote kinds, '$' and '#': the text is as expected and haproxy -c takes it. */
static void test_parameters_render_and_haproxy_accepts_them(void)
{
    struct ingress_params ip;
    params_defaults(&ip);
    ip.maxconn = 3000;
    ip.threads = 2;
    ip.proxy_protocol = false;
    ip.timeout_server = 1500;
    ip.hsts.enabled = true;
    ip.hsts.max_age = 600;
    ip.hsts.include_subdomains = true;
    ip.tls_min = PARAMS_TLS_1_3;
    snprintf(ip.ciphers, sizeof(ip.ciphers), "ECDHE+AESGCM");
    snprintf(ip.ciphersuites, sizeof(ip.ciphersuites), "TLS_AES_128_GCM_SHA256");
    snprintf(ip.trusted[0], sizeof(ip.trusted[0]), "10.0.0.0/8");
    snprintf(ip.trusted[1], sizeof(ip.trusted[1]), "fd00::/8");
    ip.n_trusted = 2;
    ip.spoe.fail_mode = PARAMS_FAIL_ALLOW;
    ip.access_log.format = PARAMS_LOG_CUSTOM;
    snprintf(ip.access_log.custom, sizeof(ip.access_log.custom), "%%ci \"%%r\" it's $HOME #x");

    char dir[200];
    snprintf(dir, sizeof(dir), "%s/spoke-cfg-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    struct haproxy_render_params p = params(dir);
    p.params = &ip;
    char err[512] = "";
    char *cfg = haproxy_config_render(haproxy_cfg_template, &p, err, sizeof(err));
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    CHECK(strstr(cfg, "    maxconn 3000\n    nbthread 2\n") != NULL);
    CHECK(strstr(cfg, "ssl-default-bind-options ssl-min-ver TLSv1.3\n") != NULL);
    CHECK(strstr(cfg, "ssl-default-bind-ciphers ECDHE+AESGCM\n") != NULL);
    CHECK(strstr(cfg, "timeout server 1500ms\n") != NULL);
    CHECK(strstr(cfg, "log stderr format short local0 info\n") != NULL);
    CHECK(strstr(cfg, "    log-format '%ci \"%r\" it'\\''s $HOME #x'\n") != NULL);
    CHECK(strstr(cfg, "acl from_trusted_proxy src 10.0.0.0/8 fd00::/8\n") != NULL);
    CHECK(strstr(cfg, "set-src hdr_ip(X-Forwarded-For,-1) if from_trusted_proxy\n") != NULL);
    CHECK(
        strstr(cfg, "Strict-Transport-Security \"max-age=600; includeSubDomains\" if { ssl_fc }") !=
        NULL);
    CHECK(strstr(cfg, "set-var(txn.spoke.verdict) str(allow) if flag_x") != NULL);
    free(cfg);
    CHECK_INT_EQ(haproxy_state_prepare(&p, err, sizeof(err)), 0);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "haproxy -c -q -f %s/haproxy.cfg", dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "grep -q 'timeout processing 2000ms' %s/spoe.cfg", dir);
    CHECK_INT_EQ(run(cmd), 0);
    /* JSON access log and PROXY protocol. */
    ip.access_log.format = PARAMS_LOG_JSON;
    ip.proxy_protocol = true;
    CHECK_INT_EQ(haproxy_state_prepare(&p, err, sizeof(err)), 0);
    snprintf(cmd, sizeof(cmd), "haproxy -c -q -f %s/haproxy.cfg", dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "grep -q 'bind 127.0.0.1:18080 accept-proxy$' %s/haproxy.cfg && "
             "! grep -q from_trusted_proxy %s/haproxy.cfg && grep -q '\"uri\":' %s/haproxy.cfg",
             dir, dir, dir);
    CHECK_INT_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT_EQ(run(cmd), 0);
}

TEST_MAIN(TEST_CASE(test_placeholders_and_pools), TEST_CASE(test_unknown_placeholder_is_an_error),
          TEST_CASE(test_bind_all_addresses), TEST_CASE(test_state_dir_and_haproxy_accepts_it),
          TEST_CASE(test_parameters_render_and_haproxy_accepts_them))
