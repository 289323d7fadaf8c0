/* Transactions on a three-node cluster: an EXEC's writes are one log entry
 * applied alike everywhere, and a primary killed between queuing and EXEC
 * leaves nothing of the transaction behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 20000

static void expect(int fd, const char *cmd, const char *want)
{
    h_sends(fd, cmd);
    char *a = h_reply(fd);
    assert_non_null(a);
    if (strcmp(a, want) != 0) fprintf(stderr, "%s-> %s (wanted %s)\n", cmd, a, want);
    assert_string_equal(a, want);
    free(a);
}

static void test_exec_is_one_entry_everywhere(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    assert_non_null(c);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    expect(fd, "MULTI\r\n", "+OK\r\n");
    expect(fd, "SET a 1\r\n", "+QUEUED\r\n");
    expect(fd, "INCR a\r\n", "+QUEUED\r\n");
    expect(fd, "LPUSH a x\r\n", "+QUEUED\r\n");
    expect(fd, "SADD s m1 m2 m3\r\n", "+QUEUED\r\n");
    expect(fd, "SPOP s\r\n", "+QUEUED\r\n");
    expect(fd, "GET a\r\n", "+QUEUED\r\n");
    h_sends(fd, "EXEC\r\n");
    char *a = h_reply(fd);
    assert_non_null(a);
    assert_true(strncmp(a, "*6\r\n+OK\r\n:2\r\n-WRONGTYPE", 23) == 0);
    free(a);
    /* a watched key written by another client before EXEC aborts it */
    int other = h_connect(c->nodes[p].port);
    expect(fd, "WATCH a\r\n", "+OK\r\n");
    expect(other, "SET a 7\r\n", "+OK\r\n");
    expect(fd, "MULTI\r\n", "+OK\r\n");
    expect(fd, "SET b 1\r\n", "+QUEUED\r\n");
    expect(fd, "EXEC\r\n", "*-1\r\n");
    /* the race: the other client's write is in the primary's log (maybe
     * not applied yet) when EXEC arrives. EXEC is sent once the log has
     * grown, not before: sent together, the server may read EXEC first,
     * and then EXEC rightly succeeds. */
    expect(fd, "WATCH a\r\n", "+OK\r\n");
    expect(fd, "MULTI\r\n", "+OK\r\n");
    expect(fd, "SET b 2\r\n", "+QUEUED\r\n");
    /* nothing else may grow the log meanwhile: the one-off TCFORMED entry
     * of a new cluster is written first */
    for (long long until = h_ms() + 10000;;) {
        char *formed = h_info_field(c, p, "replication", "raft_cluster_formed");
        int done = strcmp(formed, "1") == 0;
        free(formed);
        if (done) break;
        if (h_ms() > until) fail_msg("the cluster never recorded that it formed");
        usleep(10000);
    }
    char *before = h_info_field(c, p, "replication", "raft_last_index");
    h_sends(other, "SET a 8\r\n");
    long long deadline = h_ms() + 10000;
    for (;;) {
        char *now = h_info_field(c, p, "replication", "raft_last_index");
        int grown = atoll(now) > atoll(before);
        free(now);
        if (grown) break;
        if (h_ms() > deadline) fail_msg("SET a 8 never reached the primary's log");
        usleep(1000);
    }
    free(before);
    h_sends(fd, "EXEC\r\n");
    char *w = h_reply(other);
    assert_string_equal(w, "+OK\r\n");
    free(w);
    a = h_reply(fd);
    assert_string_equal(a, "*-1\r\n");
    free(a);
    expect(fd, "EXISTS b\r\n", ":0\r\n");
    /* a write on a replica inside MULTI: refused, EXEC aborts */
    int rep = h_connect(c->nodes[(p + 1) % 3].port);
    expect(rep, "MULTI\r\n", "+OK\r\n");
    expect(rep, "SET z 1\r\n", "-READONLY You can't write against a read only replica.\r\n");
    expect(rep, "EXEC\r\n", "-EXECABORT Transaction discarded because of previous errors.\r\n");
    char *d = h_converged_digest(c);
    assert_non_null(d);
    free(d);
    h_close(rep);
    h_close(other);
    h_close(fd);
    h_cluster_stop(c);
}

static void test_kill_between_queue_and_exec(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    assert_non_null(c);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    expect(fd, "MULTI\r\n", "+OK\r\n");
    for (int i = 0; i < 5; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SET tx%d v\r\n", i);
        expect(fd, cmd, "+QUEUED\r\n");
    }
    h_node_signal(c, p, SIGKILL);
    h_sends(fd, "EXEC\r\n");
    assert_true(h_closed(fd));
    h_close(fd);
    int q = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(q >= 0 && q != p);
    int nfd = h_connect(c->nodes[q].port);
    expect(nfd, "EXISTS tx0 tx1 tx2 tx3 tx4\r\n", ":0\r\n");
    h_close(nfd);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_is_one_entry_everywhere),
        cmocka_unit_test(test_kill_between_queue_and_exec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
