/* The same commands sent to redis-server and to tricache must get the same
 * bytes back: Redis 7 is the reference for replies and error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

typedef struct pair {
    tnode *tricache;
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} pair;

static int start_both(void **state)
{
    pair *p = calloc(1, sizeof *p);
    p->tricache = h_start(NULL);
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int stop_both(void **state)
{
    pair *p = *state;
    h_stop(p->tricache);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

/* Inline commands, one per line: each reply must be byte-identical. */
static const char *const script[] = {
    "SET k v", "GET k", "GET missing", "SET k v NX", "SET k w XX GET", "SET k v EX 0", "SET k v PX -1",
    "SET k v EX 10 PX 10", "SET k v EX notanumber", "SET k v KEEPTTL EX 5", "SET k", "SETNX k x", "SETNX new x",
    "SETEX k 100 v", "TTL k", "PSETEX k 0 v", "MSET a 1 b 2", "MSET a 1 b", "MGET a b nope", "MSETNX a 1 c 3",
    "GETSET a 10", "GETDEL a", "GETDEL a", "GETEX b EX 100", "TTL b", "GETEX b PERSIST", "TTL b", "GETEX b KEEPTTL",
    "INCR n", "INCRBY n 10", "DECR n", "DECRBY n 3", "INCRBY n x", "SET big 9223372036854775807", "INCR big",
    "DECRBY n -9223372036854775808", "SET f 10.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -5", "INCRBYFLOAT f abc",
    "INCRBYFLOAT f 1e400", "APPEND s hello", "APPEND s \" world\"", "STRLEN s", "STRLEN nope", "GETRANGE s 0 4",
    "GETRANGE s -5 -1", "GETRANGE s 5 3", "GETRANGE s 0 100", "GETRANGE nope 0 -1", "SETRANGE s 6 W",
    "SETRANGE s -1 x", "SETRANGE pad 3 ab", "GET pad", "SETRANGE empty 5 \"\"", "EXISTS empty",
    "DEL s pad nope", "EXISTS k k nope", "TOUCH k nope", "TYPE k", "TYPE nope", "RENAME nope x", "RENAME k k2",
    "RENAMENX k2 b", "RENAMENX k2 k3", "EXPIRE k3 100", "TTL k3", "PTTL nope", "EXPIRE k3 100 NX",
    "EXPIRE k3 200 GT", "TTL k3", "EXPIRE k3 50 LT", "TTL k3", "EXPIRE k3 1 NX XX", "EXPIRE k3 1 GT LT",
    "EXPIRE k3 1 BOGUS", "EXPIRE k3 abc", "PERSIST k3", "PERSIST k3", "TTL k3", "EXPIRETIME k3",
    "PEXPIRETIME nope", "EXPIREAT k3 100", "EXISTS k3", "KEYS nomatch*", "SCAN 0 COUNT 0", "SCAN abc",
    "SCAN 0 BOGUS x", "DBSIZE", "SELECT 0", "ECHO hi", "PING", "PING hello", "PING a b", "GET", "NOSUCHCMD a b",
    "FLUSHALL BOGUS", "CLIENT SETNAME \"a b\"", "CLIENT GETNAME", "CLIENT SETNAME app", "CLIENT GETNAME",
    "CLIENT BOGUS", "HELLO 4", "HELLO abc", "AUTH x", "CONFIG SET nosuch 1", "CONFIG GET maxclients",
    "CONFIG SET maxclients abc", "FLUSHALL", "DBSIZE", "RANDOMKEY", "SET \"quoted key\" 'single quoted'",
    "GET \"quoted key\"", "SET k v IFEQ", "INCRBYFLOAT nf 3.0e3", "SET a \"x\\x41y\"", "GET a", "TIME x", "SETRANGE s 536870912 x", "SET x 1.0", "INCR x", "GETRANGE x a b", "SET x 1",
    "RENAME x x", "RENAMENX x x", "SET x 1 GET EX 0", "EXPIRE x 9223372036854775807", "PEXPIRE x -9223372036854775808",
    "GETEX x PX 0", "GETEX x EX 1 EX 2", "MGET x", "SET x 1", "GETEX x PX 0", "GETEX x EX abc", "GETEX x EX 1 EX 2", "TTL x", "SELECT x", "ECHO", "EXISTS", "TYPE a b", "PUBLISH ch msg", "PUBLISH ch",
};

/* Sends every line of the script to both and counts differing replies. */
static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\r\n", script[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", script[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

/* Switches both connections to RESP3. Only HELLO's own reply is not
 * compared: it names the server, its version and the connection's id. */
static void hello3(int t, int r)
{
    h_sends(t, "HELLO 3\r\n");
    h_sends(r, "HELLO 3\r\n");
    char *a = h_reply(t), *b = h_reply(r);
    assert_true(a && b && a[0] == '%' && b[0] == '%');
    free(a);
    free(b);
}

/* Runs the script on fresh connections in protocol 2 or 3. */
static void compare_in(int tricache_port, int redis_port, int resp)
{
    int t = h_connect(tricache_port), r = h_connect(redis_port);
    if (resp == 3) hello3(t, r);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

/* A client that switches protocol with HELLO while its writes are in
 * flight: each reply comes in the protocol in force when its command was
 * parsed, as with Redis. One send, so the writes before HELLO are still in
 * the log (on a cluster primary) when HELLO is read. */
static void compare_hello_switch(int tricache_port, int redis_port)
{
    static const char *const pipeline[] = {
        "GETDEL nokey\r\nSET k v\r\nSET k w NX\r\nHELLO 3\r\nSET k w NX\r\nGETDEL nokey\r\nGETDEL k\r\n",
        "SET k v NX\r\nGETDEL nokey\r\nHELLO 2\r\nGETDEL nokey\r\nSET k v NX\r\nGET k\r\n",
    };
    static const size_t replies[] = {7, 6}, hello_at[] = {3, 2};
    int t = h_connect(tricache_port), r = h_connect(redis_port);
    size_t mismatches = 0;
    for (size_t i = 0; i < 2; i++) {
        h_sends(t, pipeline[i]);
        h_sends(r, pipeline[i]);
        for (size_t j = 0; j < replies[i]; j++) {
            char *a = h_reply(t), *b = h_reply(r);
            assert_non_null(a);
            assert_non_null(b);
            /* HELLO's own reply names the server: not compared */
            if (j != hello_at[i] && strcmp(a, b) != 0) {
                print_error("pipeline %zu reply %zu\n  tricache: %s  redis:    %s", i, j, a, b);
                mismatches++;
            }
            free(a);
            free(b);
        }
    }
    assert_int_equal(mismatches, 0);
    h_close(t);
    h_close(r);
}

static void test_hello_between_pipelined_writes(void **state)
{
    pair *p = *state;
    compare_hello_switch(p->tricache->port, p->redis_port);
}

static void test_replies_match_redis(void **state)
{
    pair *p = *state;
    compare_in(p->tricache->port, p->redis_port, 2);
}

/* The same in RESP3 (nulls, maps for CONFIG GET), byte for byte as well. */
static void test_resp3_replies_match_redis(void **state)
{
    pair *p = *state;
    compare_in(p->tricache->port, p->redis_port, 3);
}

/* ---- the primary of a three-node cluster ----------------------------------
 * There every write goes through the Raft log and its reply is produced
 * when the entry is applied (replication/apply.c), and reads on the primary
 * wait for a barrier: the same script must still answer exactly as Redis,
 * in both protocols. No command of the script needs an exception: those
 * that would differ for reasons of replication (ROLE, INFO replication,
 * REPLICAOF, FAILOVER) are not in it. */

typedef struct cluster_pair {
    tcluster *cluster;
    int primary_port;
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} cluster_pair;

static int start_cluster_and_redis(void **state)
{
    cluster_pair *p = calloc(1, sizeof *p);
    p->cluster = h_cluster_start(3, NULL);
    int i = h_cluster_primary(p->cluster, 10000);
    if (i < 0) {
        h_cluster_stop(p->cluster);
        free(p);
        return -1;
    }
    p->primary_port = p->cluster->nodes[i].port;
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int stop_cluster_and_redis(void **state)
{
    cluster_pair *p = *state;
    if (!p) return 0; /* the set-up failed */
    h_cluster_stop(p->cluster);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

/* Both tests share the cluster: each starts from empty data sets. */
static void flush_both(cluster_pair *p)
{
    int ports[2] = {p->primary_port, p->redis_port};
    for (int i = 0; i < 2; i++) {
        int fd = h_connect(ports[i]);
        h_sends(fd, "FLUSHALL\r\n");
        char *a = h_reply(fd);
        assert_string_equal(a, "+OK\r\n");
        free(a);
        h_close(fd);
    }
}

static void test_cluster_primary_matches_redis(void **state)
{
    cluster_pair *p = *state;
    flush_both(p);
    compare_in(p->primary_port, p->redis_port, 2);
}

static void test_cluster_primary_resp3_matches_redis(void **state)
{
    cluster_pair *p = *state;
    flush_both(p);
    compare_in(p->primary_port, p->redis_port, 3);
}

static void test_cluster_primary_hello_between_pipelined_writes(void **state)
{
    cluster_pair *p = *state;
    flush_both(p);
    compare_hello_switch(p->primary_port, p->redis_port);
}

int main(void)
{
    const struct CMUnitTest node_tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_resp3_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_hello_between_pipelined_writes, start_both, stop_both),
    };
    const struct CMUnitTest cluster_tests[] = {
        cmocka_unit_test(test_cluster_primary_matches_redis),
        cmocka_unit_test(test_cluster_primary_resp3_matches_redis),
        cmocka_unit_test(test_cluster_primary_hello_between_pipelined_writes),
    };
    int failed = cmocka_run_group_tests_name("single node", node_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("cluster primary", cluster_tests, start_cluster_and_redis,
                                          stop_cluster_and_redis);
    return failed;
}
