/*
 * test_auth_headers.c - the header slots external auth and JWT claims may
 * set (spoe/auth_headers.h) and their rules in haproxy/haproxy.cfg.in, the
 * annotation lists naming headers and claims, and the external auth
 * annotations (spoe/ext_auth_conf.h).
 */
#include <stdio.h>
#include <string.h>

#include "haproxy/config_render.h"
#include "spoe/auth_headers.h"
#include "spoe/ext_auth_conf.h"
#include "test.h"

/* Every slot: its variable is derived from its name, and haproxy.cfg.in
 * removes the client's header and sets the agent's, on flagged routes. */
static void test_slots_match_haproxy_cfg(void)
{
    CHECK(auth_header_nslots >= 8);
    for (size_t i = 0; i < auth_header_nslots; i++) {
        const struct auth_header_slot *s = &auth_header_slots[i];
        char var[80] = "h_";
        size_t n = 2;
        for (const char *p = s->name; *p && n < sizeof(var) - 1; p++)
            var[n++] = *p == '-' ? '_' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        var[n] = '\0';
        CHECK_STR_EQ(s->var, var);
        char del[200], set[300];
        snprintf(del, sizeof(del),
                 "    http-request del-header %s if flag_x { var(txn.spoke.%s) -m found }\n",
                 s->name, s->var);
        snprintf(set, sizeof(set),
                 "    http-request set-header %s %%[var(txn.spoke.%s)] if flag_x { "
                 "var(txn.spoke.%s) -m len gt 0 }\n",
                 s->name, s->var, s->var);
        CHECK(strstr(haproxy_cfg_template, del) != NULL);
        CHECK(strstr(haproxy_cfg_template, set) != NULL);
        CHECK_INT_EQ(auth_header_slot_find(s->name, strlen(s->name)), (long long)i);
        if (!strstr(haproxy_cfg_template, del))
            printf("# missing: %s", del);
    }
    CHECK_INT_EQ(auth_header_slot_find("x-USER", 6), auth_header_slot_find("X-User", 6));
    CHECK(auth_header_slot_find("X-User", 6) >= 0);
    CHECK_INT_EQ(auth_header_slot_find("X-Use", 5), -1);
    CHECK_INT_EQ(auth_header_slot_find("Host", 4), -1);
    CHECK_INT_EQ(auth_header_slot_find("X-Auth-Subject", 14), -1);
}

static void test_header_lists(void)
{
    char names[AUTH_HEADER_LIST_MAX][AUTH_HEADER_NAME_MAX + 1], err[300];
    size_t n = 99;
    CHECK_INT_EQ(
        auth_header_list_parse(" Authorization ,, Cookie,X-A ", names, &n, err, sizeof(err)), 0);
    CHECK_INT_EQ(n, 3);
    CHECK_STR_EQ(names[0], "Authorization");
    CHECK_STR_EQ(names[1], "Cookie");
    CHECK_STR_EQ(names[2], "X-A");
    CHECK_INT_EQ(auth_header_list_parse("", names, &n, err, sizeof(err)), 0);
    CHECK_INT_EQ(n, 0);
    CHECK_INT_EQ(auth_header_list_parse("A, a", names, &n, err, sizeof(err)), -1);
    CHECK(strstr(err, "twice") != NULL);
    CHECK_INT_EQ(auth_header_list_parse("X Bad", names, &n, err, sizeof(err)), -1);
    CHECK_INT_EQ(auth_header_list_parse("X-A\r\nX-Evil: 1", names, &n, err, sizeof(err)), -1);
    CHECK(strchr(err, '\r') == NULL && strchr(err, '\n') == NULL);
    char many[400] = "";
    for (int i = 0; i <= AUTH_HEADER_LIST_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "H%d,", i);
    CHECK_INT_EQ(auth_header_list_parse(many, names, &n, err, sizeof(err)), -1);
    char longname[100];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    CHECK_INT_EQ(auth_header_list_parse(longname, names, &n, err, sizeof(err)), -1);
    longname[64] = '\0';
    CHECK_INT_EQ(auth_header_list_parse(longname, names, &n, err, sizeof(err)), 0);

    int slots[AUTH_HEADER_LIST_MAX];
    CHECK_INT_EQ(auth_header_slots_parse("x-user, Authorization", slots, &n, err, sizeof(err)), 0);
    CHECK_INT_EQ(n, 2);
    CHECK_STR_EQ(auth_header_slots[slots[0]].name, "X-User");
    CHECK_STR_EQ(auth_header_slots[slots[1]].name, "Authorization");
    CHECK_INT_EQ(auth_header_slots_parse("X-User, Host", slots, &n, err, sizeof(err)), -1);
    CHECK(strstr(err, "Host") != NULL);
}

static void test_claim_map(void)
{
    struct auth_claim_map m;
    char err[300];
    CHECK_INT_EQ(auth_claim_map_parse("sub:X-User, email : X-Email,realm_access.roles:X-Roles", &m,
                                      err, sizeof(err)),
                 0);
    CHECK_INT_EQ(m.n, 3);
    CHECK_STR_EQ(m.claim[0], "sub");
    CHECK_STR_EQ(auth_header_slots[m.slot[0]].name, "X-User");
    CHECK_STR_EQ(m.claim[1], "email");
    CHECK_STR_EQ(auth_header_slots[m.slot[1]].name, "X-Email");
    CHECK_STR_EQ(m.claim[2], "realm_access.roles");
    const char *bad[] = {"",
                         "sub",
                         "sub:",
                         ":X-User",
                         "s b:X-User",
                         "sub:X-Unknown",
                         "sub:X-User,email:x-user",
                         "sub:Host",
                         "sub\n:X-User",
                         "a:X-User,b:X-Email,c:X-Groups,d:X-Roles,e:X-Tenant,f:X-User-Id,g:"
                         "Authorization,h:X-Auth-Request-User,i:X-Auth-Request-Email,j:X-Auth-"
                         "Request-Groups,k:X-Forwarded-User,l:X-Forwarded-Email,m:X-Forwarded-"
                         "Groups,n:X-Auth-Request-Access-Token,o:X-Auth-Request-Preferred-"
                         "Username,p:X-Forwarded-Preferred-Username,q:X-Nope"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_INT_EQ(auth_claim_map_parse(bad[i], &m, err, sizeof(err)), -1);
        CHECK(err[0] != '\0');
        for (const char *s = err; *s; s++)
            CHECK(*s >= 0x20 && *s < 0x7f);
    }
}

static void test_values_and_lines(void)
{
    CHECK(auth_header_value_ok("", 0));
    CHECK(auth_header_value_ok("alice \t x", 9));
    CHECK(!auth_header_value_ok("a\r\nb", 4));
    CHECK(!auth_header_value_ok("a\0b", 3));
    CHECK(!auth_header_value_ok("jos\xc3\xa9", 5));
    CHECK(!auth_header_value_ok("\x7f", 1));
    static char big[AUTH_HEADER_VALUE_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    CHECK(auth_header_value_ok(big, AUTH_HEADER_VALUE_MAX));
    CHECK(!auth_header_value_ok(big, AUTH_HEADER_VALUE_MAX + 1));

    const char *v;
    size_t n;
    const char *l = "x-auth-request-user:  alice  \r\n";
    CHECK(auth_header_line_match(l, strlen(l), "X-Auth-Request-User", &v, &n));
    CHECK_INT_EQ(n, 5);
    CHECK(memcmp(v, "alice", 5) == 0);
    l = "X-Auth-Request-User:\r\n";
    CHECK(auth_header_line_match(l, strlen(l), "X-Auth-Request-User", &v, &n));
    CHECK_INT_EQ(n, 0);
    l = "X-Auth-Request-Users: x\r\n";
    CHECK(!auth_header_line_match(l, strlen(l), "X-Auth-Request-User", &v, &n));
    l = "X-Auth-Request-User x\r\n";
    CHECK(!auth_header_line_match(l, strlen(l), "X-Auth-Request-User", &v, &n));
    CHECK(!auth_header_line_match("X-User", 6, "X-User", &v, &n));
    CHECK(!auth_header_line_match("\r\n", 2, "X-User", &v, &n));
}

static int conf(const char *url, const char *method, const char *req, const char *resp,
                const char *ttl, const char *timeout, struct ext_auth_conf *out, char *err)
{
    struct ext_auth_annotations in = {url, method, req, resp, ttl, timeout};
    err[0] = '\0';
    int rc = ext_auth_conf_parse(&in, out, err, 400);
    for (const char *s = err; *s; s++)
        CHECK(*s >= 0x20 && *s < 0x7f);
    return rc;
}

static void test_ext_auth_conf(void)
{
    struct ext_auth_conf c;
    char err[400];
    CHECK_INT_EQ(conf("http://auth.svc:8080/check?x=1", NULL, NULL, NULL, NULL, NULL, &c, err), 0);
    CHECK_STR_EQ(c.url, "http://auth.svc:8080/check?x=1");
    CHECK_INT_EQ(c.method, EXT_AUTH_GET);
    CHECK_INT_EQ(c.n_request, 2);
    CHECK_STR_EQ(c.request[0], "Authorization");
    CHECK_STR_EQ(c.request[1], "Cookie");
    CHECK_INT_EQ(c.n_response, 0);
    CHECK_INT_EQ(c.cache_ttl, 0);
    CHECK_INT_EQ(c.timeout_ms, EXT_AUTH_DEFAULT_TIMEOUT_MS);

    CHECK_INT_EQ(
        conf("https://[::1]/a", "POST", "X-Token", "X-User,X-Email", "3600", "1500", &c, err), 0);
    CHECK_INT_EQ(c.method, EXT_AUTH_POST);
    CHECK_STR_EQ(ext_auth_method_name(c.method), "POST");
    CHECK_INT_EQ(c.n_request, 1);
    CHECK_INT_EQ(c.n_response, 2);
    CHECK_INT_EQ(c.cache_ttl, 3600);
    CHECK_INT_EQ(c.timeout_ms, 1500);
    CHECK_INT_EQ(conf("http://a/", "HEAD", "", NULL, "0", "1s", &c, err), 0);
    CHECK_INT_EQ(c.method, EXT_AUTH_HEAD);
    CHECK_INT_EQ(c.n_request, 0);
    CHECK_INT_EQ(c.timeout_ms, 1000);

    struct {
        const char *url, *method, *req, *resp, *ttl, *timeout, *why;
    } bad[] = {
        {NULL, NULL, NULL, NULL, NULL, NULL, "required"},
        {"ftp://auth/check", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"auth.svc/check", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://auth/check\r\nX-Evil: 1", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://auth/check page", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://auth/check#frag", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://:80/", NULL, NULL, NULL, NULL, NULL, "auth-url"},
        {"http://a/", "get", NULL, NULL, NULL, NULL, "auth-method"},
        {"http://a/", "PUT", NULL, NULL, NULL, NULL, "auth-method"},
        {"http://a/", NULL, "Host", NULL, NULL, NULL, "auth-request-headers"},
        {"http://a/", NULL, "x-original-url", NULL, NULL, NULL, "auth-request-headers"},
        {"http://a/", NULL, "A B", NULL, NULL, NULL, "auth-request-headers"},
        {"http://a/", NULL, NULL, "X-Custom-Thing", NULL, NULL, "auth-response-headers"},
        {"http://a/", NULL, NULL, NULL, "3601", NULL, "auth-cache-ttl"},
        {"http://a/", NULL, NULL, NULL, "-1", NULL, "auth-cache-ttl"},
        {"http://a/", NULL, NULL, NULL, "", NULL, "auth-cache-ttl"},
        {"http://a/", NULL, NULL, NULL, "99999999999", NULL, "auth-cache-ttl"},
        {"http://a/", NULL, NULL, NULL, NULL, "2s", "auth-timeout"},
        {"http://a/", NULL, NULL, NULL, NULL, "1501", "auth-timeout"},
        {"http://a/", NULL, NULL, NULL, NULL, "0", "auth-timeout"},
        {"http://a/", NULL, NULL, NULL, NULL, "fast", "auth-timeout"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = conf(bad[i].url, bad[i].method, bad[i].req, bad[i].resp, bad[i].ttl,
                      bad[i].timeout, &c, err);
        CHECK_INT_EQ(rc, -1);
        if (rc != -1 || !strstr(err, bad[i].why))
            printf("# case %zu: %s\n", i, err);
        CHECK(strstr(err, bad[i].why) != NULL);
    }
    char longurl[1100] = "http://a/";
    memset(longurl + 9, 'p', 1020);
    longurl[1029] = '\0';
    CHECK_INT_EQ(conf(longurl, NULL, NULL, NULL, NULL, NULL, &c, err), -1);
    longurl[1024] = '\0';
    CHECK_INT_EQ(conf(longurl, NULL, NULL, NULL, NULL, NULL, &c, err), 0);
}

TEST_MAIN(TEST_CASE(test_slots_match_haproxy_cfg), TEST_CASE(test_header_lists),
          TEST_CASE(test_claim_map), TEST_CASE(test_values_and_lines),
          TEST_CASE(test_ext_auth_conf))
