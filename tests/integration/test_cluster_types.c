/* Hashes and sets on a three-node cluster: every write command, SPOP
 * included, leaves every node with the same DEBUG DIGEST; a replica that
 * catches up from a Raft snapshot (keyspace image records of hashes and
 * sets) ends equal too and keeps popping the same members afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
    return 0;
}

static int start3_small_snapshots(void **state)
{
    *state = h_cluster_start(3, "snapshot_threshold = 64");
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

/* Sends one command and checks its reply is not an error. */
static void write_ok(int fd, const char *cmd)
{
    char line[512];
    snprintf(line, sizeof line, "%s\r\n", cmd);
    h_sends(fd, line);
    char *r = h_reply(fd);
    assert_non_null(r);
    if (r[0] == '-') print_error("%s -> %s", cmd, r);
    assert_true(r[0] != '-');
    free(r);
}

/* Every write command of both types, on small and converted values. */
static void write_everything(int fd, const char *tag)
{
    char cmd[256];
    for (int i = 0; i < 600; i++) { /* past every threshold: intset 512, pack 128, listpack 512 */
        snprintf(cmd, sizeof cmd, "SADD %s:ints %d", tag, i * 3);
        write_ok(fd, cmd);
        if (i % 3 == 0) {
            snprintf(cmd, sizeof cmd, "SADD %s:strs m%d n%d", tag, i, i);
            write_ok(fd, cmd);
            snprintf(cmd, sizeof cmd, "HSET %s:big f%d v%d g%d w%d x%d y%d", tag, i, i, i, i, i, i);
            write_ok(fd, cmd);
        }
    }
    const char *const tail[] = {
        "HSET %s:h a 1 b 2 c 3", "HSETNX %s:h d 4", "HSETNX %s:h a 9", "HMSET %s:h e 5 f 6", "HDEL %s:h b",
        "HINCRBY %s:h a 10", "HINCRBYFLOAT %s:h c 0.25", "HINCRBY %s:big cnt 7", "HDEL %s:big f0 g0",
        "SADD %s:small 1 2 3 4 5 6 7 8", "SADD %s:words alpha beta gamma delta", "SREM %s:small 8",
        "SPOP %s:small", "SPOP %s:small 2", "SPOP %s:words", "SPOP %s:ints", "SPOP %s:ints 20",
        "SPOP %s:strs", "SPOP %s:strs 30", "SMOVE %s:small %s:words 1", "SMOVE %s:ints %s:moved 3",
        "SINTERSTORE %s:inter %s:ints %s:small", "SUNIONSTORE %s:union %s:strs %s:words",
        "SDIFFSTORE %s:diff %s:ints %s:small", "EXPIRE %s:union 1000", "RENAME %s:diff %s:diff2",
        "DEL %s:inter", "SREM %s:words gamma",
    };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
        snprintf(cmd, sizeof cmd, tail[i], tag, tag, tag);
        write_ok(fd, cmd);
    }
}

static void test_every_write_converges(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    write_everything(fd, "a");
    h_close(fd);
    char *d = h_converged_digest(c);
    assert_string_not_equal(d, "0000000000000000000000000000000000000000");
    free(d);
    /* Replicas answer reads of the replicated values alike. */
    char *card0 = h_cli(&c->nodes[0], "SCARD", "a:ints", (char *)NULL);
    /* 600 - 1 - 20 popped, and 3 if SMOVE found it still there */
    assert_true(strcmp(card0, "579") == 0 || strcmp(card0, "578") == 0);
    for (int i = 0; i < 3; i++) {
        char *v = h_cli(&c->nodes[i], "SCARD", "a:ints", (char *)NULL);
        assert_string_equal(v, card0);
        free(v);
        v = h_cli(&c->nodes[i], "OBJECT", "ENCODING", "a:big", (char *)NULL);
        assert_string_equal(v, "hashtable");
        free(v);
        v = h_cli(&c->nodes[i], "HGET", "a:h", "a", (char *)NULL);
        assert_string_equal(v, "11");
        free(v);
    }
    free(card0);
}

static void test_snapshot_catch_up(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    int fd = h_connect(c->nodes[p].port);
    write_everything(fd, "s"); /* ~1000 log entries: far past snapshot_threshold */
    h_close(fd);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char path[400];
    snprintf(path, sizeof path, "%s/node-%d.log", c->dir, r + 1);
    int st;
    char *log = h_run(&st, "cat", path, (char *)NULL);
    assert_non_null(strstr(log, "restored a Raft snapshot"));
    free(log);
    /* The restored dict-encoded sets pop what the primary pops. */
    fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 20; i++) {
        write_ok(fd, "SPOP s:ints 3");
        write_ok(fd, "SPOP s:strs");
    }
    h_close(fd);
    free(h_converged_digest(c));
}

/* Bits, HyperLogLog and COPY (node/t_bitops.c, t_hll.c, t_copy.c): every
 * write applied on each node leaves the same keyspace, and replicas answer
 * the same counts. */
static void test_bits_hll_copy_converge(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    char cmd[256];
    for (int i = 0; i < 200; i++) {
        snprintf(cmd, sizeof cmd, "SETBIT bm %d 1", i * 7);
        write_ok(fd, cmd);
        snprintf(cmd, sizeof cmd, "PFADD hll%d u%d v%d w%d", i % 2, i, i * 3, i * 5);
        write_ok(fd, cmd);
    }
    const char *const tail[] = {
        "BITFIELD bf SET u8 0 200 INCRBY i5 #2 9 OVERFLOW SAT INCRBY u8 0 100", "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 100",
        "BITOP AND band bm bf", "BITOP NOT bnot bm", "BITOP XOR bx bm bf bnot", "BITOP OR bempty nope",
        "PFMERGE hall hll0 hll1", "COPY bm bm2", "COPY hall hall2", "EXPIRE bm 1000", "COPY bm bm3", "COPY bf bm2 REPLACE",
        "SADD s a b c", "COPY s s2", "SETBIT bm 100000 1",
    };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) write_ok(fd, tail[i]);
    h_close(fd);
    char *d = h_converged_digest(c);
    assert_string_not_equal(d, "0000000000000000000000000000000000000000");
    free(d);
    char *count0 = h_cli(&c->nodes[0], "PFCOUNT", "hall", (char *)NULL);
    for (int i = 0; i < 3; i++) {
        char *v = h_cli(&c->nodes[i], "PFCOUNT", "hall", (char *)NULL);
        assert_string_equal(v, count0);
        free(v);
        v = h_cli(&c->nodes[i], "BITCOUNT", "bm", (char *)NULL);
        assert_string_equal(v, "201");
        free(v);
        v = h_cli(&c->nodes[i], "SCARD", "s2", (char *)NULL);
        assert_string_equal(v, "3");
        free(v);
    }
    long n = strtol(count0, NULL, 10); /* about 600 distinct elements */
    assert_true(n > 550 && n < 650);
    free(count0);
}

/* Sends one command; its reply must start with want. */
static void reply_is(int fd, const char *cmd, const char *want)
{
    char line[512];
    snprintf(line, sizeof line, "%s\r\n", cmd);
    h_sends(fd, line);
    char *r = h_reply(fd);
    assert_non_null(r);
    if (strncmp(r, want, strlen(want)) != 0) fail_msg("%s -> %s, want %s", cmd, r, want);
    free(r);
}

/* proto-max-bulk-len is one node's setting (CONFIG SET), yet a value that
 * would grow past it is refused while the entry is applied, on every node:
 * all of them must decide with the primary's limit, else they diverge. */
static void test_size_limit_is_the_primary_s(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS), rep = (p + 1) % 3;
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port), rfd = h_connect(c->nodes[rep].port);
    /* the primary at 1mb, the replicas at the default 512mb */
    reply_is(fd, "CONFIG SET proto-max-bulk-len 1mb", "+OK");
    reply_is(fd, "SETRANGE k 1048575 x", ":1048576");
    reply_is(fd, "APPEND k y", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    reply_is(fd, "SETBIT b 8388608 1", "-ERR bit offset is not an integer or out of range");
    reply_is(fd, "MULTI", "+OK");
    reply_is(fd, "SET t 1", "+QUEUED");
    reply_is(fd, "SETRANGE t 1048576 x", "+QUEUED");
    h_sends(fd, "EXEC\r\n");
    char *r = h_reply(fd);
    assert_non_null(r);
    if (!strstr(r, "string exceeds maximum allowed size")) fail_msg("EXEC -> %s", r);
    free(r);
    char *d = h_converged_digest(c);
    free(d);
    for (int i = 0; i < 3; i++) {
        char *v = h_cli(&c->nodes[i], "STRLEN", "k", (char *)NULL);
        assert_string_equal(v, "1048576");
        free(v);
        v = h_cli(&c->nodes[i], "EXISTS", "b", (char *)NULL);
        assert_string_equal(v, "0");
        free(v);
        v = h_cli(&c->nodes[i], "STRLEN", "t", (char *)NULL);
        assert_string_equal(v, "1");
        free(v);
    }
    /* now the other way round: a replica at 1mb, the primary at 512mb */
    reply_is(fd, "CONFIG SET proto-max-bulk-len 512mb", "+OK");
    reply_is(rfd, "CONFIG SET proto-max-bulk-len 1mb", "+OK");
    reply_is(fd, "APPEND k y", ":1048577");
    reply_is(fd, "SETBIT b 8388608 1", ":0");
    d = h_converged_digest(c);
    free(d);
    for (int i = 0; i < 3; i++) {
        char *v = h_cli(&c->nodes[i], "STRLEN", "k", (char *)NULL);
        assert_string_equal(v, "1048577");
        free(v);
    }
    /* the limit travels in the log as TCLIMITS; a client may not send it */
    reply_is(fd, "TCLIMITS 5", "-ERR TCLIMITS is written by the primary");
    h_close(fd);
    h_close(rfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_write_converges, start3, stop3),
        cmocka_unit_test_setup_teardown(test_bits_hll_copy_converge, start3, stop3),
        cmocka_unit_test_setup_teardown(test_snapshot_catch_up, start3_small_snapshots, stop3),
        cmocka_unit_test_setup_teardown(test_size_limit_is_the_primary_s, start3, stop3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
