/* Server and connection commands, the command table, glob matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest_child.h"
#include "fixture.h"
#include "glob.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static void test_table_is_sorted_and_consistent(void **state)
{
    (void)state;
    size_t n;
    const tc_cmd *t = tc_cmd_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (i) assert_true(strcmp(t[i - 1].name, t[i].name) < 0);
        assert_ptr_equal(tc_cmd_lookup(t[i].name, strlen(t[i].name)), &t[i]);
        char upper[32];
        size_t len = strlen(t[i].name);
        assert_true(len < sizeof upper);
        for (size_t j = 0; j < len; j++) upper[j] = (char)toupper((unsigned char)t[i].name[j]);
        assert_ptr_equal(tc_cmd_lookup(upper, len), &t[i]);
        assert_true(t[i].arity != 0);
        /* a command either writes, reads keys, or neither; never both */
        assert_false((t[i].flags & TC_CMD_WRITE) && (t[i].flags & TC_CMD_READONLY));
        if (t[i].first_key) assert_true(t[i].key_step > 0);
    }
    assert_non_null(tc_cmd_lookup("GeT", 3));
    assert_null(tc_cmd_lookup("nosuchcommand", 13));
    assert_null(tc_cmd_lookup("", 0));
    assert_null(tc_cmd_lookup("ge", 2));   /* a prefix, */
    assert_null(tc_cmd_lookup("gets", 4)); /* a longer name, */
    assert_null(tc_cmd_lookup("set", 2));  /* the length decides, not a NUL */
    assert_null(tc_cmd_lookup("abcdefghijklmnopqrstuvwxyz", 26));
    assert_true(tc_cmd_lookup("set", 3)->flags & TC_CMD_WRITE);
    assert_true(tc_cmd_lookup("get", 3)->flags & TC_CMD_READONLY);
}

static void test_ping_echo_select_time(void **state)
{
    fx *f = *state;
    EXPECT(f, "+PONG\r\n", "PING");
    EXPECT(f, "$2\r\nhi\r\n", "PING", "hi");
    EXPECT(f, "-ERR wrong number of arguments for 'ping' command\r\n", "PING", "a", "b");
    EXPECT(f, "$3\r\nabc\r\n", "ECHO", "abc");
    EXPECT(f, "+OK\r\n", "SELECT", "0");
    EXPECT(f, "+OK\r\n", "SELECT", "15"); /* databases = 16 by default */
    EXPECT(f, "-ERR DB index is out of range\r\n", "SELECT", "16");
    EXPECT(f, "-ERR DB index is out of range\r\n", "SELECT", "-1");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "SELECT", "x");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "SELECT", "-0");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "SELECT", "+0");
    /* Redis reads the index as an int */
    EXPECT(f, "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n", "SELECT",
           "2147483648");
    EXPECT(f, "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n", "SELECT",
           "-9223372036854775808");
    EXPECT(f, "-ERR DB index is out of range\r\n", "SELECT", "2147483647");
    assert_memory_equal(RUN(f, "TIME"), "*2\r\n$10\r\n", 9);
}

static void test_unknown_command_and_arity(void **state)
{
    fx *f = *state;
    EXPECT(f, "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n", "foo", "a", "b");
    EXPECT(f, "-ERR unknown command 'foo', with args beginning with: \r\n", "foo");
    EXPECT(f, "-ERR wrong number of arguments for 'strlen' command\r\n", "STRLEN", "a", "b");
    EXPECT(f, "-ERR wrong number of arguments for 'del' command\r\n", "DEL");
}

static void test_hello(void **state)
{
    fx *f = *state;
    const char *r = RUN(f, "HELLO", "3");
    assert_memory_equal(r, "%7\r\n$6\r\nserver\r\n", 16);
    assert_int_equal(f->client.resp, 3);
    EXPECT(f, "_\r\n", "GET", "nope");
    r = RUN(f, "HELLO", "2", "SETNAME", "app");
    assert_memory_equal(r, "*14\r\n", 5);
    assert_string_equal(f->client.name, "app");
    EXPECT(f, "-NOPROTO unsupported protocol version\r\n", "HELLO", "4");
    EXPECT(f, "-ERR Protocol version is not an integer or out of range\r\n", "HELLO", "x");
    EXPECT(f, "-ERR Syntax error in HELLO option 'bogus'\r\n", "HELLO", "3", "bogus");
    assert_int_equal(f->client.resp, 2); /* failed HELLO changes nothing */
}

static void test_client_commands(void **state)
{
    fx *f = *state;
    EXPECT(f, ":1\r\n", "CLIENT", "ID");
    EXPECT(f, "$-1\r\n", "CLIENT", "GETNAME");
    EXPECT(f, "+OK\r\n", "CLIENT", "SETNAME", "worker-1");
    EXPECT(f, "$8\r\nworker-1\r\n", "CLIENT", "GETNAME");
    EXPECT(f, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n", "CLIENT", "SETNAME",
           "a b");
    EXPECT(f, "-ERR unknown subcommand 'bogus'. Try CLIENT HELP.\r\n", "CLIENT", "bogus");
    EXPECT(f, "-ERR No such client\r\n", "CLIENT", "KILL", "1.2.3.4:5");
    EXPECT(f, ":0\r\n", "CLIENT", "KILL", "ID", "999");
    EXPECT(f, "-ERR client-id should be greater than 0\r\n", "CLIENT", "KILL", "ID", "x");
}

static void test_config_get_set(void **state)
{
    fx *f = *state;
    EXPECT(f, "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n", "CONFIG", "GET", "hz");
    EXPECT(f, "+OK\r\n", "CONFIG", "SET", "hz", "20", "maxclients", "50");
    EXPECT(f, "*4\r\n$2\r\nhz\r\n$2\r\n20\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n", "CONFIG", "GET", "hz",
           "maxclients", "hz");
    /* all or nothing */
    const char *r = RUN(f, "CONFIG", "SET", "hz", "30", "maxclients", "0");
    assert_memory_equal(r, "-ERR CONFIG SET failed (possibly related to argument 'maxclients')", 66);
    EXPECT(f, "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n", "CONFIG", "GET", "hz");
    EXPECT(f, "-ERR Unknown option or number of arguments for CONFIG SET - 'nope'\r\n", "CONFIG", "SET", "nope",
           "1");
    EXPECT(f, "-ERR wrong number of arguments for 'config|set' command\r\n", "CONFIG", "SET", "hz");
    EXPECT(f, "*0\r\n", "CONFIG", "GET", "nothing-matches-this");
    EXPECT(f, "+OK\r\n", "CONFIG", "RESETSTAT");
}

static void test_command_introspection(void **state)
{
    fx *f = *state;
    size_t n;
    tc_cmd_table(&n);
    char want[32];
    snprintf(want, sizeof want, ":%zu\r\n", n);
    EXPECT(f, want, "COMMAND", "COUNT");
    const char *r = RUN(f, "COMMAND", "INFO", "get", "nosuch");
    assert_memory_equal(r, "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n", 54);
    assert_non_null(strstr(r, "*-1\r\n"));
    r = RUN(f, "COMMAND", "DOCS", "set");
    assert_memory_equal(r, "*2\r\n$3\r\nset\r\n*6\r\n$7\r\nsummary\r\n", 30);
    snprintf(want, sizeof want, "*%zu\r\n", n);
    assert_memory_equal(RUN(f, "COMMAND"), want, strlen(want));
    assert_memory_equal(RUN(f, "COMMAND", "LIST"), want, strlen(want));
}

static void test_info_sections(void **state)
{
    fx *f = *state;
    RUN(f, "SET", "a", "1", "EX", "100");
    RUN(f, "SET", "b", "2");
    const char *r = RUN(f, "INFO");
    const char *sections[] = {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Stats\r\n", "# Replication\r\n",
                              "# Keyspace\r\n"};
    for (size_t i = 0; i < 6; i++) assert_non_null(strstr(r, sections[i]));
    assert_non_null(strstr(r, "db0:keys=2,expires=1,avg_ttl=0\r\n"));
    assert_non_null(strstr(r, "redis_version:"));
    assert_non_null(strstr(r, "used_memory:"));
    r = RUN(f, "INFO", "keyspace");
    assert_null(strstr(r, "# Server"));
    assert_non_null(strstr(r, "# Keyspace"));
    f->client.resp = 3;
    assert_memory_equal(RUN(f, "INFO", "stats"), "=", 1); /* verbatim string in RESP3 */
}

/* Commandstats, errorstats, CPU and cluster as Redis 7 names them, and
 * which sections INFO, INFO default, INFO all and INFO everything show. */
static void test_info_stats_sections(void **state)
{
    fx *f = *state;
    RUN(f, "SET", "a", "1");
    RUN(f, "SET", "b", "2");
    RUN(f, "INCR", "b");
    RUN(f, "GET");                /* rejected: arity */
    RUN(f, "NOSUCHCOMMAND");      /* not a command: errorstats only */
    RUN(f, "INCRBY", "a", "x");   /* runs and fails */
    const char *r = RUN(f, "INFO", "commandstats");
    assert_non_null(strstr(r, "cmdstat_set:calls=2,usec="));
    assert_non_null(strstr(r, "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"));
    assert_non_null(strstr(r, "cmdstat_incrby:calls=1,"));
    assert_non_null(strstr(r, ",rejected_calls=0,failed_calls=1\r\n"));
    assert_null(strstr(r, "cmdstat_nosuchcommand"));
    r = RUN(f, "INFO", "errorstats");
    assert_non_null(strstr(r, "# Errorstats\r\nerrorstat_ERR:count=3\r\n"));
    r = RUN(f, "INFO", "stats");
    assert_non_null(strstr(r, "total_error_replies:3\r\n"));
    r = RUN(f, "INFO", "cpu", "cluster");
    assert_non_null(strstr(r, "# CPU\r\nused_cpu_sys:"));
    assert_non_null(strstr(r, "used_cpu_user_main_thread:"));
    assert_non_null(strstr(r, "# Cluster\r\ncluster_enabled:0\r\n"));
    r = RUN(f, "INFO");
    assert_null(strstr(r, "# Commandstats"));
    assert_non_null(strstr(r, "# Errorstats"));
    assert_non_null(strstr(r, "# Replication\r\n"));
    assert_non_null(strstr(r, "\r\n\r\n# CPU\r\n"));
    r = RUN(f, "INFO", "default");
    assert_null(strstr(r, "# Commandstats"));
    r = RUN(f, "INFO", "everything");
    assert_non_null(strstr(r, "# Commandstats"));
    assert_non_null(strstr(r, "# Keyspace"));
    r = RUN(f, "INFO", "all");
    assert_non_null(strstr(r, "# Commandstats"));
    RUN(f, "CONFIG", "RESETSTAT");
    r = RUN(f, "INFO", "commandstats", "errorstats");
    assert_null(strstr(r, "cmdstat_set"));
    assert_null(strstr(r, "errorstat_ERR"));
}

static void test_debug_digest_populate(void **state)
{
    fx *f = *state;
    EXPECT(f, "+0000000000000000000000000000000000000000\r\n", "DEBUG", "DIGEST");
    EXPECT(f, "+OK\r\n", "DEBUG", "POPULATE", "100", "key", "10");
    EXPECT(f, ":100\r\n", "DBSIZE");
    EXPECT(f, "$10\r\nvalue:7\0\0\0\r\n", "GET", "key:7") ; /* strings compare up to NUL */
    char d1[64];
    snprintf(d1, sizeof d1, "%s", RUN(f, "DEBUG", "DIGEST"));
    assert_int_equal(strlen(d1), 43);
    RUN(f, "SET", "key:7", "changed");
    assert_string_not_equal(RUN(f, "DEBUG", "DIGEST"), d1);
    RUN(f, "DEL", "key:7");
    RUN(f, "DEBUG", "POPULATE", "100", "key", "10"); /* recreates only the missing key */
    assert_string_equal(RUN(f, "DEBUG", "DIGEST"), d1);
    EXPECT(f, "-ERR unknown subcommand or wrong number of arguments for 'nope'. Try DEBUG HELP.\r\n", "DEBUG", "nope");
}

static void test_key_slots(void **state)
{
    (void)state;
    assert_int_equal(tc_key_slot("foo", 3), 12182);          /* Redis: CLUSTER KEYSLOT foo */
    assert_int_equal(tc_key_slot("123456789", 9), 0x31C3);   /* CRC16/XMODEM check value */
    assert_int_equal(tc_key_slot("{user1000}.following", 20), tc_key_slot("{user1000}.followers", 20));
    assert_int_equal(tc_key_slot("{user1000}.following", 20), tc_key_slot("user1000", 8));
    assert_int_equal(tc_key_slot("{}x", 3), tc_key_slot("{}x", 3)); /* empty tag: whole key */
    assert_int_not_equal(tc_key_slot("{}a", 3), tc_key_slot("{}b", 3));
}

static void test_cluster_commands_need_cluster_mode(void **state)
{
    fx *f = *state;
    EXPECT(f, "-ERR This instance has cluster support disabled\r\n", "CLUSTER", "SLOTS");
    EXPECT(f, "-ERR This instance has cluster support disabled\r\n", "READONLY");
    f->srv.cfg.cluster_mode = 1;
    EXPECT(f, ":12182\r\n", "CLUSTER", "KEYSLOT", "foo");
    EXPECT(f, "+OK\r\n", "READONLY");
    assert_true(f->client.cluster_readonly);
    EXPECT(f, "+OK\r\n", "READWRITE");
    assert_false(f->client.cluster_readonly);
    const char *r = RUN(f, "CLUSTER", "SLOTS");
    const char *want = "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n";
    assert_memory_equal(r, want, strlen(want));
}

/* A replication face that only says who the primary is and what this node
 * knows of each peer (see tc_replication_ops.peer_alive). */
typedef struct fake_repl {
    int primary;
    int alive[4]; /* by node id: 1 up, 0 down, -1 cannot tell */
} fake_repl;

static int fake_primary_id(void *ud) { return ((fake_repl *)ud)->primary; }
static int fake_peer_alive(void *ud, int id) { return ((fake_repl *)ud)->alive[id]; }

/* CLUSTER NODES/SLOTS/SHARDS of a node that knows node 2 is down and cannot
 * tell about node 3: on the primary node 2 is "fail" and out of SLOTS; on a
 * replica a silent primary is "fail?" (Redis's PFAIL) and stays listed. */
static void test_cluster_answers_show_failed_nodes(void **state)
{
    fx *f = *state;
    tc_config *cfg = &f->srv.cfg;
    cfg->cluster_mode = 1;
    cfg->nnodes = 3;
    for (int i = 0; i < 3; i++) {
        cfg->nodes[i] = cfg->nodes[0];
        cfg->nodes[i].id = i + 1;
        cfg->nodes[i].client_port = 7001 + i;
        cfg->nodes[i].raft_port = 7101 + i;
    }
    f->srv.self = &cfg->nodes[0];
    char id1[41], id2[41], id3[41], want[1024];
    tc_cluster_node_id(cfg, 1, id1);
    tc_cluster_node_id(cfg, 2, id2);
    tc_cluster_node_id(cfg, 3, id3);
    static const tc_replication_ops ops = {.primary_id = fake_primary_id, .peer_alive = fake_peer_alive};
    fake_repl fr = {.primary = 1, .alive = {0, 1, 0, -1}};
    tc_server_set_replication(&f->srv, &ops, &fr);

    const char *r = RUN(f, "CLUSTER", "NODES");
    snprintf(want, sizeof want,
             "%s 127.0.0.1:7001@7101 myself,master - 0 0 0 connected 0-16383\n"
             "%s 127.0.0.1:7002@7102 slave,fail %s 0 0 0 disconnected\n"
             "%s 127.0.0.1:7003@7103 slave %s 0 0 0 connected\n",
             id1, id2, id1, id3, id1);
    assert_non_null(strstr(r, want));
    snprintf(want, sizeof want,
             "*1\r\n*4\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n%s\r\n"
             "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$40\r\n%s\r\n",
             id1, id3);
    EXPECT(f, want, "CLUSTER", "SLOTS");
    r = RUN(f, "CLUSTER", "SHARDS");
    const char *n2 = strstr(r, ":7002\r\n"), *n3 = strstr(r, ":7003\r\n");
    assert_non_null(n2);
    assert_non_null(n3);
    const char *fail = "$6\r\nhealth\r\n$4\r\nfail\r\n", *online = "$6\r\nhealth\r\n$6\r\nonline\r\n";
    assert_memory_equal(strstr(n2, "$6\r\nhealth\r\n"), fail, strlen(fail));
    assert_memory_equal(strstr(n3, "$6\r\nhealth\r\n"), online, strlen(online));

    /* node 1 as a replica of node 2 that has not heard from it */
    fr = (fake_repl){.primary = 2, .alive = {0, 1, 0, -1}};
    r = RUN(f, "CLUSTER", "NODES");
    snprintf(want, sizeof want,
             "%s 127.0.0.1:7001@7101 myself,slave %s 0 0 0 connected\n"
             "%s 127.0.0.1:7002@7102 master,fail? - 0 0 0 disconnected 0-16383\n"
             "%s 127.0.0.1:7003@7103 slave %s 0 0 0 connected\n",
             id1, id2, id2, id3, id2);
    assert_non_null(strstr(r, want));
    r = RUN(f, "CLUSTER", "SLOTS");
    assert_non_null(strstr(r, "*1\r\n*5\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n"));
    r = RUN(f, "CLUSTER", "SHARDS");
    assert_null(strstr(r, "$4\r\nfail\r\n"));
    tc_server_set_replication(&f->srv, NULL, NULL);
}

static void test_pubsub_mode(void **state)
{
    fx *f = *state;
    EXPECT(f, ":0\r\n", "PUBLISH", "ch", "hello");
    /* one event per argument, a repeated channel included (as Redis) */
    EXPECT(f,
           "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
           "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n",
           "SUBSCRIBE", "a", "b", "a");
    assert_int_equal(f->client.nchannels, 2);
    EXPECT(f,
           "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
           "this context\r\n",
           "GET", "k");
    EXPECT(f, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", "PING");
    EXPECT(f, "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n", "PSUBSCRIBE", "c*");
    EXPECT(f, "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n", "UNSUBSCRIBE", "a");
    EXPECT(f, "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n", "UNSUBSCRIBE");
    EXPECT(f, "*3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:0\r\n", "PUNSUBSCRIBE");
    EXPECT(f, "+PONG\r\n", "PING"); /* out of subscribed mode */
    EXPECT(f, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", "UNSUBSCRIBE");
}

static void test_glob(void **state)
{
    (void)state;
#define G(p, s) tc_glob_match(p, strlen(p), s, strlen(s), 0)
    assert_true(G("*", ""));
    assert_true(G("h?llo", "hello"));
    assert_true(G("h*llo", "heeeello"));
    assert_true(G("h[ae]llo", "hallo"));
    assert_false(G("h[ae]llo", "hillo"));
    assert_true(G("h[^e]llo", "hallo"));
    assert_false(G("h[^e]llo", "hello"));
    assert_true(G("h[a-b]llo", "hbllo"));
    assert_true(G("h\\*llo", "h*llo"));
    assert_false(G("h\\*llo", "hello"));
    assert_true(G("a*b*c", "aXXbYYc"));
    assert_false(G("a*b*c", "aXXbYY"));
    assert_false(G("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_true(tc_glob_match("MAX*", 4, "maxclients", 10, 1));
#undef G
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

/* TCRESTORE: staging is invisible until COMMIT with the right count,
 * a wrong count or ABORT changes nothing, idle staging is dropped. */
static void test_tcrestore(void **state)
{
    fx *f = *state;
    f->now_ms = 1000000;
    assert_string_equal(fx_run(f, "SET", "old", "1", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "STATUS", NULL), "$-1\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "LOAD", "x", "k", "0", "v", NULL), "-ERR no restore x in progress\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "BEGIN", "x", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "LOAD", "x", "k", "0", "v", "t", "2000000", "w", NULL), ":2\r\n");
    /* a bad triple stages nothing of its command */
    assert_non_null(strstr(fx_run(f, "TCRESTORE", "LOAD", "x", "k2", "0", "v", "k3", "-5", "v", NULL),
                           "expire_at_ms of record 2"));
    assert_string_equal(fx_run(f, "TCRESTORE", "STATUS", NULL), "*2\r\n$1\r\nx\r\n:2\r\n");
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":1\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "COMMIT", "x", "2", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":2\r\n");
    assert_string_equal(fx_run(f, "GET", "old", NULL), "$-1\r\n");
    assert_string_equal(fx_run(f, "PTTL", "t", NULL), ":1000000\r\n");

    assert_string_equal(fx_run(f, "TCRESTORE", "BEGIN", "y", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "LOAD", "y", "z", "0", "1", NULL), ":1\r\n");
    assert_string_equal(fx_run(f, "TCRESTORE", "ABORT", "y", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "EXISTS", "z", NULL), ":0\r\n");

    assert_string_equal(fx_run(f, "TCRESTORE", "BEGIN", "z", NULL), "+OK\r\n");
    tc_restore_discard_idle(&f->srv, f->now_ms + TC_RESTORE_IDLE_MS);
    assert_string_equal(fx_run(f, "TCRESTORE", "STATUS", NULL), "*2\r\n$1\r\nz\r\n:0\r\n");
    tc_restore_discard_idle(&f->srv, f->now_ms + TC_RESTORE_IDLE_MS + 1);
    assert_string_equal(fx_run(f, "TCRESTORE", "STATUS", NULL), "$-1\r\n");
    assert_non_null(strstr(fx_run(f, "TCRESTORE", "FOO", "z", NULL), "unknown TCRESTORE subcommand"));
}

/* DEBUG DIGEST goes to a child for many keys, and for few keys holding
 * many elements (one big sorted set hashes as slowly as as many keys). */
static void test_digest_child_threshold(void **state)
{
    fx *f = *state;
    assert_false(tc_digest_wants_child(&f->srv));
    const char *argv[64] = {"ZADD", "z"};
    char buf[62][16];
    for (int i = 0; i < TC_DIGEST_CHILD_KEYS; i += 31) {
        for (int j = 0; j < 31; j++) {
            snprintf(buf[2 * j], sizeof buf[2 * j], "%d", i + j);
            snprintf(buf[2 * j + 1], sizeof buf[2 * j + 1], "m%d", i + j);
            argv[2 + 2 * j] = buf[2 * j];
            argv[3 + 2 * j] = buf[2 * j + 1];
        }
        fx_runv(f, 64, argv, NULL);
        if (i + 31 < TC_DIGEST_CHILD_KEYS) assert_false(tc_digest_wants_child(&f->srv));
    }
    assert_true(tc_digest_wants_child(&f->srv));
    assert_string_equal(fx_run(f, "DEL", "z", NULL), ":1\r\n");
    assert_false(tc_digest_wants_child(&f->srv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_sorted_and_consistent),
        T(test_ping_echo_select_time),
        T(test_unknown_command_and_arity),
        T(test_hello),
        T(test_client_commands),
        T(test_config_get_set),
        T(test_command_introspection),
        T(test_info_sections),
        T(test_info_stats_sections),
        T(test_debug_digest_populate),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_key_slots),
        cmocka_unit_test_setup_teardown(test_tcrestore, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_child_threshold, fx_setup, fx_teardown),
        T(test_pubsub_mode),
        T(test_cluster_commands_need_cluster_mode),
        T(test_cluster_answers_show_failed_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
