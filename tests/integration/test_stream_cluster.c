/* Streams on a three-node cluster: XADD with `*` (IDs from the log entry's
 * clock), `~` trims, XDEL, XTRIM, XSETID and a script that XADDs with
 * MAXLEN ~ (as BullMQ's do) leave every node with the same DEBUG DIGEST;
 * XREAD BLOCK waiting on a replica (and on the primary) is woken by an
 * XADD on the primary; a replica that catches up from a Raft snapshot, and
 * a cluster restarted from its snapshots, hold the same streams and go on
 * trimming alike. */
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
#define WAIT_DEADLINE_MS 15000

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

/* Sends one command (inline) and returns its reply, which must not be an error. */
static char *run_ok(int fd, const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof line, "%s\r\n", cmd);
    h_sends(fd, line);
    char *r = h_reply(fd);
    assert_non_null(r);
    if (r[0] == '-') print_error("%s -> %s", cmd, r);
    assert_true(r[0] != '-');
    return r;
}

static void write_ok(int fd, const char *cmd) { free(run_ok(fd, cmd)); }

/* BullMQ's event append, as its Lua scripts do it. */
#define EVENT_SCRIPT                                                                                            \
    "EVAL \"return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', 'added', 'jobId', ARGV[1])\" " \
    "1 %s:events %d %d"

/* Every stream write on keys named after tag. */
static void write_streams(int fd, const char *tag, int n)
{
    char cmd[512];
    char *prev = NULL;
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "XADD %s:s MAXLEN ~ 150 * field %d other value-%d", tag, i, i);
        char *id = run_ok(fd, cmd);
        /* IDs grow even when the clock does not move between entries */
        if (prev) assert_true(strcmp(prev, id) != 0);
        free(prev);
        prev = id;
        if (i % 4 == 0) {
            snprintf(cmd, sizeof cmd, EVENT_SCRIPT, tag, i, 40);
            write_ok(fd, cmd);
        }
        if (i % 10 == 0) {
            snprintf(cmd, sizeof cmd, "XADD %s:exact MAXLEN 7 %d-* f %d", tag, i + 1, i);
            write_ok(fd, cmd);
        }
    }
    free(prev);
    const char *const tail[] = {
        "XADD %s:m 1-1 a 1", "XADD %s:m 2-* a 2", "XADD %s:m 2-* a 3", "XADD %s:m * a 4", "XDEL %s:m 2-0 2-1",
        "XTRIM %s:s MAXLEN ~ 120", "XTRIM %s:s MINID ~ 0", "XTRIM %s:exact MINID 30", "XSETID %s:m 99999999999999-0",
        "XADD %s:m NOMKSTREAM * a 5", "XADD %s:none NOMKSTREAM * a 5", "COPY %s:m %s:copy", "RENAME %s:copy %s:renamed",
        "EXPIRE %s:renamed 100000",
    };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
        snprintf(cmd, sizeof cmd, tail[i], tag, tag);
        write_ok(fd, cmd);
    }
}

/* The same answer from every running node. */
static void same_everywhere(tcluster *c, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *first = NULL;
    for (int i = 0; i < c->n; i++) {
        if (!c->nodes[i].pid) continue;
        char *v = h_cli(&c->nodes[i], a1, a2, a3, a4, (char *)NULL);
        if (!first) first = v;
        else {
            assert_string_equal(v, first);
            free(v);
        }
    }
    free(first);
}

static void test_stream_writes_converge(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    write_streams(fd, "a", 400);
    h_close(fd);
    char *d = h_converged_digest(c);
    assert_string_not_equal(d, "0000000000000000000000000000000000000000");
    free(d);
    same_everywhere(c, "XRANGE", "a:s", "-", "+");
    same_everywhere(c, "XINFO", "STREAM", "a:events", "FULL");
    same_everywhere(c, "XREVRANGE", "a:m", "+", "-");
    char *len = h_cli(&c->nodes[p], "XLEN", "a:exact", (char *)NULL);
    assert_string_equal(len, "7");
    free(len);
    char *t = h_cli(&c->nodes[(p + 1) % 3], "TYPE", "a:renamed", (char *)NULL);
    assert_string_equal(t, "stream");
    free(t);
}

/* Waits until node i counts `want` blocked clients. */
static void wait_blocked(tcluster *c, int i, const char *want)
{
    long long until = h_ms() + WAIT_DEADLINE_MS;
    for (;;) {
        char *v = h_info_field(c, i, "clients", "blocked_clients");
        int done = strcmp(v, want) == 0;
        free(v);
        if (done) return;
        assert_true(h_ms() < until);
        int fd = h_connect(c->nodes[i].port); /* a round trip instead of a sleep */
        write_ok(fd, "PING");
        h_close(fd);
    }
}

static void test_xread_block_woken_on_every_node(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int pfd = h_connect(c->nodes[p].port);
    write_ok(pfd, "XADD ev 1-1 event old");
    free(h_converged_digest(c)); /* every node holds ev before the readers look */
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = h_connect(c->nodes[i].port);
        /* two streams; the entry comes on the second; `$` is taken now */
        h_sends(fds[i], "XREAD BLOCK 0 STREAMS other ev $ $\r\n");
        wait_blocked(c, i, "1");
    }
    write_ok(pfd, "XADD ev 2-1 event completed jobId 7");
    for (int i = 0; i < 3; i++) {
        char *r = h_reply(fds[i]);
        assert_non_null(r);
        assert_non_null(strstr(r, "ev\r\n"));
        assert_non_null(strstr(r, "2-1\r\n"));
        assert_null(strstr(r, "1-1\r\n"));
        assert_non_null(strstr(r, "completed"));
        free(r);
    }
    /* a timeout ends a wait on a replica with a nil */
    int r = (p + 1) % 3;
    h_sends(fds[r], "XREAD BLOCK 50 STREAMS ev $\r\n");
    char *nil = h_reply(fds[r]);
    assert_string_equal(nil, "*-1\r\n");
    free(nil);
    for (int i = 0; i < 3; i++) h_close(fds[i]);
    h_close(pfd);
}

static void test_snapshot_catch_up_and_restart(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    int fd = h_connect(c->nodes[p].port);
    write_streams(fd, "s", 300); /* far past snapshot_threshold */
    h_close(fd);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char *log = h_node_log(c, r);
    assert_non_null(strstr(log, "restored a Raft snapshot"));
    free(log);
    /* the loaded chunks trim as the primary's: approximate trims go on alike */
    p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 200; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, EVENT_SCRIPT, "s", i, 30);
        write_ok(fd, cmd);
        write_ok(fd, "XADD s:s MAXLEN ~ 60 * more entries");
    }
    h_close(fd);
    char *before = h_converged_digest(c);
    long long applied = h_info_ll(c, p, "replication", "raft_applied_index"); /* every write above */
    /* every node stopped and started again: the streams come back from
     * each node's snapshot and log */
    for (int i = 0; i < 3; i++) h_node_signal(c, i, SIGKILL);
    for (int i = 0; i < 3; i++) h_node_restart(c, i);
    assert_true(h_cluster_primary(c, ELECTION_DEADLINE_MS) >= 0);
    h_wait_applied(c, applied, 20000);
    char *after = h_converged_digest(c);
    assert_string_equal(after, before);
    free(before);
    free(after);
    same_everywhere(c, "XRANGE", "s:events", "-", "+");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_writes_converge, start3, stop3),
        cmocka_unit_test_setup_teardown(test_xread_block_woken_on_every_node, start3, stop3),
        cmocka_unit_test_setup_teardown(test_snapshot_catch_up_and_restart, start3_small_snapshots, stop3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
