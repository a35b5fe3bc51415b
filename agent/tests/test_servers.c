/*
 * test_servers.c - parsing "show servers state" (a dump captured from
 * HAProxy 2.6) and the add/set/del commands between two server lists.
 */
#include <stdlib.h>
#include <string.h>

#include "haproxy/servers.h"
#include "test.h"

static const char dump_2_6[] =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
    "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"
    "3 pool_rr_1 1 ep-127.0.1.1-8080 127.0.1.1 0 1 3 3 0 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0\n"
    "3 pool_rr_1 2 ep-__1-8080 ::1 2 8 1 1 0 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0\n";

struct collected {
    struct server_spec s[4];
    char be[4][32];
    int n;
};

static void collect(void *ud, const char *backend, const struct server_spec *srv)
{
    struct collected *c = ud;
    if (c->n < 4) {
        c->s[c->n] = *srv;
        snprintf(c->be[c->n], sizeof(c->be[0]), "%s", backend);
        c->n++;
    }
}

static void test_parse_dump(void)
{
    struct collected c = {0};
    CHECK_INT_EQ(servers_state_parse(dump_2_6, collect, &c), 2);
    CHECK_INT_EQ(c.n, 2);
    CHECK_STR_EQ(c.be[0], "pool_rr_1");
    CHECK_STR_EQ(c.s[0].name, "ep-127.0.1.1-8080");
    CHECK_STR_EQ(c.s[0].addr, "127.0.1.1");
    CHECK_INT_EQ(c.s[0].port, 8080);
    CHECK_INT_EQ(c.s[0].weight, 3);
    CHECK(c.s[0].maint && !c.s[0].drain);
    CHECK_STR_EQ(c.s[1].addr, "::1");
    CHECK(!c.s[1].maint && c.s[1].drain);
}

static void test_parse_rejects_other_answers(void)
{
    struct collected c = {0};
    CHECK_INT_EQ(servers_state_parse("Unknown command.\n", collect, &c), -1);
    CHECK_INT_EQ(servers_state_parse("1\n# be_id be_name\n1 x\n", collect, &c), -1);
    CHECK_INT_EQ(c.n, 0);
}

static void test_spec_names(void)
{
    struct server_spec s;
    CHECK_INT_EQ(server_spec_init(&s, "127.0.1.7", 8080, 1, false), 0);
    CHECK_STR_EQ(s.name, "ep-127.0.1.7-8080");
    CHECK_INT_EQ(server_spec_init(&s, "fd00::1", 80, 0, true), 0);
    CHECK_STR_EQ(s.name, "ep-fd00__1-80");
    CHECK_INT_EQ(s.weight, 1);
    CHECK_INT_EQ(server_spec_init(&s, "pod.example.com", 80, 1, false), -1);
    CHECK_INT_EQ(server_spec_init(&s, "127.0.0.1;x", 80, 1, false), -1);
    CHECK_INT_EQ(server_spec_init(&s, "127.0.0.1", 0, 1, false), -1);
    CHECK_INT_EQ(server_spec_init(&s, "127.0.0.1", 65536, 1, false), -1);
}

static void test_diff(void)
{
    struct server_spec have[3], want[3];
    server_spec_init(&have[0], "127.0.1.1", 8080, 1, false);
    server_spec_init(&have[1], "127.0.1.2", 8080, 1, false);
    server_spec_init(&have[2], "127.0.1.3", 8080, 1, false);
    have[2].maint = true; /* added by a command that did not complete */
    server_spec_init(&want[0], "127.0.1.2", 8080, 1, true); /* terminating */
    server_spec_init(&want[1], "127.0.1.3", 8080, 1, false);
    server_spec_init(&want[2], "fd00::4", 8080, 2, false);
    struct strbuf cmds = STRBUF_INIT;
    size_t n = servers_diff("pool_rr_0001", "http-roundrobin", have, 3, want, 3, &cmds);
    CHECK_STR_EQ(cmds.data, "set server pool_rr_0001/ep-127.0.1.1-8080 state maint\n"
                            "del server pool_rr_0001/ep-127.0.1.1-8080\n"
                            "set server pool_rr_0001/ep-127.0.1.2-8080 state drain\n"
                            "set server pool_rr_0001/ep-127.0.1.3-8080 state ready\n"
                            "add server pool_rr_0001/ep-fd00__4-8080 [fd00::4]:8080 weight 2\n"
                            "set server pool_rr_0001/ep-fd00__4-8080 state ready\n");
    CHECK_INT_EQ(n, 6);
    strbuf_reset(&cmds);
    CHECK_INT_EQ(servers_diff("b", "h2-roundrobin-cookie", NULL, 0, want + 1, 1, &cmds), 3);
    CHECK_STR_EQ(cmds.data, "add server b/ep-127.0.1.3-8080 127.0.1.3:8080 weight 1 proto h2\n"
                            "set server b/ep-127.0.1.3-8080 state ready\n"
                            "enable dynamic-cookie backend b\n");
    strbuf_reset(&cmds);
    CHECK_INT_EQ(servers_diff("b", NULL, want, 3, want, 3, &cmds), 0);
    strbuf_free(&cmds);
}

TEST_MAIN(TEST_CASE(test_parse_dump), TEST_CASE(test_parse_rejects_other_answers),
          TEST_CASE(test_spec_names), TEST_CASE(test_diff))
