/* Three real tricache nodes replicating through Raft on loopback. */
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

#define ELECTION_DEADLINE_MS 10000

/* One set-up per cluster configuration the tests need. */
#define CLUSTER_SETUP(name, toml)                                                                                    \
    static int name(void **state)                                                                                     \
    {                                                                                                                 \
        *state = h_cluster_start(3, toml);                                                                            \
        return 0;                                                                                                     \
    }
CLUSTER_SETUP(start3_lease, "read_consistency = \"lease\"")
CLUSTER_SETUP(start3_local, "read_consistency = \"local\"")
CLUSTER_SETUP(start3_small_snapshots, "snapshot_threshold = 64")
CLUSTER_SETUP(start3_cluster_mode, "cluster_mode = true")
CLUSTER_SETUP(start3_prefer_c, "preferred_primary_zones = \"zone-c\"")
CLUSTER_SETUP(start3_idle, "cluster_mode = true")

CLUSTER_SETUP(start3, NULL)

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

static char *cli(tcluster *c, int i, const char *a, const char *b, const char *d)
{
    return h_cli(&c->nodes[i], a, b, d, (char *)NULL);
}


static void test_writes_reach_every_replica(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    char cmd[96];
    /* writes and reads interleaved on one connection: each read must see
     * the write before it, whatever read_consistency is */
    for (int i = 0; i < 500; i++) {
        snprintf(cmd, sizeof cmd, "SET key:%d value:%d\r\nGET key:%d\r\n", i, i, i);
        h_sends(fd, cmd);
    }
    for (int i = 0; i < 500; i++) {
        char *r = h_reply(fd);
        assert_string_equal(r, "+OK\r\n");
        free(r);
        r = h_reply(fd);
        char want[64];
        snprintf(want, sizeof want, "value:%d", i);
        assert_non_null(strstr(r, want));
        free(r);
    }
    h_close(fd);
    char *d = h_converged_digest(c);
    assert_string_not_equal(d, "0000000000000000000000000000000000000000");
    free(d);
    for (int i = 0; i < 3; i++) {
        char *v = cli(c, i, "GET", "key:123", NULL);
        assert_string_equal(v, "value:123"); /* replicas serve reads */
        free(v);
        char *n = cli(c, i, "DBSIZE", NULL, NULL);
        assert_string_equal(n, "500");
        free(n);
    }
}

static void test_replicas_refuse_writes(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_settled(c, ELECTION_DEADLINE_MS); /* a replica that knows no primary says TRYAGAIN */
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    char *out = cli(c, r, "SET", "x", "1");
    assert_string_equal(out, "READONLY You can't write against a read only replica.");
    free(out);
    out = cli(c, r, "ROLE", NULL, NULL);
    assert_memory_equal(out, "slave\n", 6);
    free(out);
    out = cli(c, p, "ROLE", NULL, NULL);
    assert_memory_equal(out, "master\n", 7);
    free(out);
}

/* Writes key:<i> on whichever node is primary until `total` writes were
 * acknowledged, killing the primary with SIGKILL (or freezing it with
 * SIGSTOP) after `fault_at`. Returns the node that was faulted. */
static int write_through_fault(tcluster *c, int total, int fault_at, int sig, int *acked)
{
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS), faulted = -1;
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    long long deadline = h_ms() + 60000;
    int i = 0;
    while (i < total) {
        assert_true(h_ms() < deadline);
        if (i == fault_at && faulted < 0) {
            faulted = p;
            h_node_signal(c, p, sig);
            if (sig == SIGSTOP) c->nodes[p].pid = -c->nodes[p].pid; /* not "running" for the primary search */
        }
        char cmd[96];
        snprintf(cmd, sizeof cmd, "SET key:%d v%d\r\n", i, i);
        char *r = NULL;
        if (fd >= 0) {
            h_sends(fd, cmd);
            r = faulted == p ? NULL : h_reply(fd);
        }
        if (r && strcmp(r, "+OK\r\n") == 0) {
            acked[i++] = 1;
        } else {
            /* lost connection, or an error (READONLY, TRYAGAIN): find the
             * primary again and retry the same key */
            if (fd >= 0) h_close(fd);
            p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
            assert_true(p >= 0);
            fd = h_connect(c->nodes[p].port);
        }
        free(r);
    }
    if (fd >= 0) h_close(fd);
    return faulted;
}

static void expect_all_acked(tcluster *c, int node, const int *acked, int total)
{
    int fd = h_connect(c->nodes[node].port);
    char cmd[64], want[64];
    for (int i = 0; i < total; i++) {
        if (!acked[i]) continue;
        snprintf(cmd, sizeof cmd, "GET key:%d\r\n", i);
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        /* compare the value after the "$<len>" line */
        char *nl = strchr(r, '\n');
        assert_non_null(nl);
        snprintf(want, sizeof want, "v%d\r\n", i);
        if (strcmp(nl + 1, want) != 0) fail_msg("acknowledged write key:%d lost: got %s", i, r);
        free(r);
    }
    h_close(fd);
}

static void test_kill_primary_loses_no_acknowledged_write(void **state)
{
    tcluster *c = *state;
    enum { TOTAL = 600 };
    int acked[TOTAL] = {0};
    int dead = write_through_fault(c, TOTAL, 200, SIGKILL, acked);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0 && p != dead);
    expect_all_acked(c, p, acked, TOTAL);
    /* the old primary comes back as a replica and catches up */
    h_node_restart(c, dead);
    free(h_converged_digest(c));
    expect_all_acked(c, dead, acked, TOTAL);
}

static void test_frozen_primary_steps_down(void **state)
{
    tcluster *c = *state;
    enum { TOTAL = 300 };
    int acked[TOTAL] = {0};
    int frozen = write_through_fault(c, TOTAL, 100, SIGSTOP, acked);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0 && p != frozen);
    c->nodes[frozen].pid = -c->nodes[frozen].pid;
    h_node_signal(c, frozen, SIGCONT);
    /* it learns of the new term and answers as a replica */
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    for (;;) {
        char *role = h_info_field(c, frozen, "replication", "role");
        int slave = strcmp(role, "slave") == 0;
        free(role);
        if (slave) break;
        assert_true(h_ms() < deadline);
        usleep(20000);
    }
    char *out = cli(c, frozen, "SET", "late", "1");
    assert_string_equal(out, "READONLY You can't write against a read only replica.");
    free(out);
    free(h_converged_digest(c));
    expect_all_acked(c, frozen, acked, TOTAL);
}

static void test_restarted_replica_catches_up(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    int fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 2000; i++) h_sends(fd, "INCR counter\r\n");
    for (int i = 0; i < 2000; i++) free(h_reply(fd));
    h_close(fd);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char *v = cli(c, r, "GET", "counter", NULL);
    assert_string_equal(v, "2000");
    free(v);
}

/* A replica that missed more than the log keeps catches up from a snapshot
 * (taken by a forked child on the primary). */
static void test_replica_catches_up_from_snapshot(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    int fd = h_connect(c->nodes[p].port);
    char cmd[64];
    for (int i = 0; i < 400; i++) { /* one at a time: one log entry each */
        snprintf(cmd, sizeof cmd, "SET snap:%d %d\r\n", i, i);
        h_sends(fd, cmd);
        char *reply = h_reply(fd);
        assert_string_equal(reply, "+OK\r\n");
        free(reply);
    }
    h_close(fd);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char path[400];
    snprintf(path, sizeof path, "%s/node-%d.log", c->dir, r + 1);
    int st;
    char *log = h_run(&st, "cat", path, (char *)NULL);
    assert_non_null(strstr(log, "restored a Raft snapshot"));
    free(log);
    char *v = cli(c, r, "GET", "snap:399", NULL);
    assert_string_equal(v, "399");
    free(v);
}

static void test_expiry_is_replicated(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *out = cli(c, p, "DEBUG", "POPULATE", "300");
    assert_string_equal(out, "OK");
    free(out);
    int fd = h_connect(c->nodes[p].port);
    char cmd[64];
    for (int i = 0; i < 300; i++) {
        snprintf(cmd, sizeof cmd, "PEXPIRE key:%d 100\r\n", i);
        h_sends(fd, cmd);
    }
    for (int i = 0; i < 300; i++) free(h_reply(fd));
    h_close(fd);
    /* no client touches the keys again: the primary's deletes must reach
     * every node */
    long long deadline = h_ms() + 15000;
    for (int i = 0; i < 3; i++) {
        for (;;) {
            char *n = cli(c, i, "DBSIZE", NULL, NULL);
            int empty = strcmp(n, "0") == 0;
            free(n);
            if (empty) break;
            assert_true(h_ms() < deadline);
            usleep(20000);
        }
    }
}

/* Debian's interpreter, where Debian's python3-redis is installed (a
 * python3 earlier on PATH may be another installation without it). */
/* redis-py's Sentinel client finds the primary through SENTINEL commands
 * on any node, and finds the new one after the old one is killed. */
static void test_sentinel_client_follows_failover(void **state)
{
    tcluster *c = *state;
    assert_true(h_cluster_primary(c, ELECTION_DEADLINE_MS) >= 0);
    const char *script = getenv("TC_SENTINEL_SCRIPT");
    assert_non_null(script);
    char p1[16], p2[16], p3[16];
    snprintf(p1, sizeof p1, "%d", c->nodes[0].port);
    snprintf(p2, sizeof p2, "%d", c->nodes[1].port);
    snprintf(p3, sizeof p3, "%d", c->nodes[2].port);
    int st;
    char *out = h_run(&st, "/usr/bin/python3", script, "phase1", p1, p2, p3, (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int old_port = atoi(out);
    free(out);
    int old = -1;
    for (int i = 0; i < 3; i++)
        if (c->nodes[i].port == old_port) old = i;
    assert_true(old >= 0);
    h_node_signal(c, old, SIGKILL);
    out = h_run(&st, "/usr/bin/python3", script, "phase2", p1, p2, p3, (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_not_equal(atoi(out), old_port);
    free(out);
}

static void test_failover_command_moves_the_primary(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int target = (p + 2) % 3;
    /* Jedis and Lettuce learn of a failover from +switch-master; subscribe
     * on a replica once it knows the current primary */
    int watcher = (p + 1) % 3;
    char pport[16];
    snprintf(pport, sizeof pport, "%d", c->nodes[p].port);
    long long known_by = h_ms() + ELECTION_DEADLINE_MS;
    for (;;) {
        char *mp = h_info_field(c, watcher, "replication", "master_port");
        int knows = strcmp(mp, pport) == 0;
        free(mp);
        if (knows) break;
        assert_true(h_ms() < known_by);
        usleep(20000);
    }
    int sub = h_connect(c->nodes[watcher].port);
    h_sends(sub, "SUBSCRIBE +switch-master\r\n");
    free(h_reply(sub));
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[target].port);
    char *out = h_cli(&c->nodes[p], "FAILOVER", "TO", "127.0.0.1", port, (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    while (h_cluster_primary(c, ELECTION_DEADLINE_MS) != target) assert_true(h_ms() < deadline);
    out = h_cli(&c->nodes[target], "SET", "after-failover", "1", (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    char *msg = h_reply(sub);
    char want[128];
    snprintf(want, sizeof want, "test 127.0.0.1 %d 127.0.0.1 %d\r\n", c->nodes[p].port, c->nodes[target].port);
    assert_non_null(strstr(msg, "+switch-master"));
    assert_non_null(strstr(msg, want));
    free(msg);
    h_close(sub);
    out = h_cli(&c->nodes[p], "FAILOVER", (char *)NULL);
    assert_string_equal(out, "ERR FAILOVER is not valid when server is a replica.");
    free(out);
}

/* cluster_mode: cluster-aware clients see one shard and follow -MOVED. */
static void test_cluster_mode_redirects(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    char want[64];
    snprintf(want, sizeof want, "MOVED 12182 127.0.0.1:%d", c->nodes[p].port);
    char *out = cli(c, r, "SET", "foo", "bar");
    assert_string_equal(out, want);
    free(out);
    out = cli(c, r, "GET", "foo", NULL); /* no READONLY: reads go to the primary too */
    assert_string_equal(out, want);
    free(out);
    /* redis-cli -c follows the redirect */
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[r].port);
    int st;
    out = h_run(&st, "redis-cli", "-c", "-p", port, "SET", "foo", "bar", (char *)NULL);
    assert_string_equal(out, "OK\n");
    free(out);
    out = cli(c, p, "GET", "foo", NULL);
    assert_string_equal(out, "bar");
    free(out);
    /* every node describes the same shard, primary first */
    for (int i = 0; i < 3; i++) {
        out = cli(c, i, "CLUSTER", "SLOTS", NULL);
        snprintf(want, sizeof want, "0\n16383\n127.0.0.1\n%d\n", c->nodes[p].port);
        assert_memory_equal(out, want, strlen(want));
        free(out);
    }
}

/* The end of every node's log, for a failure about who leads. */
static void print_log_tails(tcluster *c)
{
    for (int i = 0; i < c->n; i++) {
        char *l = h_node_log(c, i);
        size_t len = strlen(l);
        fprintf(stderr, "---- node %d's log, last lines\n%s\n", i + 1, len > 3000 ? l + len - 3000 : l);
        free(l);
    }
}

static void wait_for_primary(tcluster *c, int want)
{
    long long deadline = h_ms() + 20000;
    while (h_cluster_primary(c, ELECTION_DEADLINE_MS) != want) {
        if (h_ms() >= deadline) {
            print_log_tails(c);
            fail_msg("node %d never became the primary", want + 1);
        }
        usleep(50000);
    }
}

/* Leadership settles in zone-c (node 3), leaves it when node 3 dies and
 * comes back once node 3 has caught up again. */
static void test_preferred_zone_gets_the_primary_back(void **state)
{
    tcluster *c = *state;
    wait_for_primary(c, 2);
    h_node_signal(c, 2, SIGKILL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p == 0 || p == 1);
    char *out = cli(c, p, "SET", "while-away", "1");
    assert_string_equal(out, "OK");
    free(out);
    h_node_restart(c, 2);
    wait_for_primary(c, 2);
    out = cli(c, 2, "GET", "while-away", NULL);
    assert_string_equal(out, "1");
    free(out);
}

static int count_lines(const char *s, const char *word);

/* A primary outside the preferred zone does not hand leadership to a node
 * of that zone that stopped answering: node 3 (zone-c) is frozen while the
 * log is idle, so it still holds the whole log, and a transfer to it would
 * run out after an election timeout, to be tried again and again (11 times
 * in 6 s, each holding writes for 330 ms, before the fix). Once it answers
 * again the primary goes back to it. */
static void test_preferred_zone_not_sent_to_a_frozen_node(void **state)
{
    tcluster *c = *state;
    wait_for_primary(c, 2);
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[0].port);
    char *out = h_cli(&c->nodes[2], "FAILOVER", "TO", "127.0.0.1", port, (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    wait_for_primary(c, 0);
    out = cli(c, 0, "SET", "before-freeze", "1");
    assert_string_equal(out, "OK");
    free(out);
    h_wait_applied(c, h_info_ll(c, 0, "replication", "raft_commit_index"), ELECTION_DEADLINE_MS);
    /* node 1 may have moved the primary to node 3 once already, at start */
    char *log = h_node_log(c, 0);
    int moves = count_lines(log, "moving the primary to node 3");
    free(log);
    h_node_signal(c, 2, SIGSTOP);
    /* past the 3 s the primary settles before moving (leadership.c), with
     * margin: no move toward the frozen node may be logged */
    long long until = h_ms() + 5000;
    while (h_ms() < until) {
        log = h_node_log(c, 0);
        int now = count_lines(log, "moving the primary to node 3");
        free(log);
        if (now != moves) {
            print_log_tails(c);
            fail_msg("node 1 moved the primary to node 3, frozen");
        }
        usleep(100000);
    }
    int primary = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    if (primary != 0) {
        print_log_tails(c);
        fail_msg("node %d is the primary, not node 1", primary + 1);
    }
    h_node_signal(c, 2, SIGCONT);
    wait_for_primary(c, 2);
    out = cli(c, 2, "GET", "before-freeze", NULL);
    assert_string_equal(out, "1");
    free(out);
}

static int start3_plus_joiner(void **state)
{
    *state = h_cluster_start_joining(4, 1, NULL);
    return 0;
}

static int count_lines(const char *s, const char *word)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, word)); p += strlen(word)) n++;
    return n;
}

/* A fourth node joins as a voter (caught up first), then an original node
 * is removed; the cluster keeps committing throughout. */
static void test_members_add_and_remove(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *out = cli(c, p, "MEMBERS", "LIST", NULL);
    assert_int_equal(count_lines(out, "voter"), 3);
    free(out);
    int fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 300; i++) h_sends(fd, "INCR before-join\r\n");
    for (int i = 0; i < 300; i++) free(h_reply(fd));
    h_close(fd);

    h_node_restart(c, 3); /* node 4 starts empty and waits to be added */
    out = cli(c, p, "MEMBERS", "ADD", "4");
    assert_string_equal(out, "OK");
    free(out);
    out = cli(c, p, "MEMBERS", "LIST", NULL);
    assert_int_equal(count_lines(out, "voter"), 4);
    free(out);
    char *v = NULL;
    long long deadline = h_ms() + 15000;
    for (;;) { /* it caught up, and serves reads as a replica */
        free(v);
        v = cli(c, 3, "GET", "before-join", NULL);
        if (strcmp(v, "300") == 0 || h_ms() > deadline) break;
        usleep(20000);
    }
    assert_string_equal(v, "300");
    free(v);

    int victim = (p + 1) % 3;
    char id[8];
    snprintf(id, sizeof id, "%d", victim + 1);
    out = cli(c, p, "MEMBERS", "REMOVE", id);
    assert_string_equal(out, "OK");
    free(out);
    h_node_signal(c, victim, SIGKILL);
    out = cli(c, p, "MEMBERS", "LIST", NULL);
    assert_int_equal(count_lines(out, "voter"), 3);
    free(out);
    out = cli(c, p, "SET", "after-remove", "1");
    assert_string_equal(out, "OK");
    free(out);
    out = cli(c, p, "MEMBERS", "ADD", "99");
    assert_non_null(strstr(out, "ERR no [[node]] with id 99 in "));
    free(out);
}

#define T(name) cmocka_unit_test_setup_teardown(name, start3, stop3)

/* A founding node whose disk was lost must not start empty under its old
 * id (its fresh log would never match the primary's): it refuses, and says
 * how to rejoin as a new member. */
static void test_node_that_lost_its_data_refuses_to_start(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    free(cli(c, p, "SET", "k", "v"));
    free(h_converged_digest(c));
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/data/node-%d", c->dir, r + 1);
    int st;
    free(h_run(&st, "rm", "-rf", dir, (char *)NULL));
    char id[8];
    snprintf(id, sizeof id, "%d", r + 1);
    char *out = h_run_tricache(&st, "--config", c->config, "--node", id, (char *)NULL);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "lost its data"));
    assert_non_null(strstr(out, "members replace"));
    free(out);
}

/* A bulk import (redis-cli --pipe of 1,000,000 SETs of 100 bytes, as fast as
 * the node reads them) must not cost the primary its leadership: the node
 * stops reading a writer while 1 MiB of entries is uncommitted, so the work
 * of one loop pass stays far below the election timeout. Every SET is
 * acknowledged and the term does not change. */
static void test_bulk_import_keeps_the_primary(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *term = h_info_field(c, p, "replication", "raft_term");
    char path[400];
    snprintf(path, sizeof path, "%s/import.resp", c->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char value[101];
    for (int i = 0; i < 1000000; i++) {
        for (int k = 0; k < 100; k++) value[k] = (char)('a' + (i * 7 + k * 13) % 26);
        value[100] = '\0';
        char key[32];
        int klen = snprintf(key, sizeof key, "import:%d", i);
        fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n", klen, key, value);
    }
    fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d --pipe < %s 2>&1 | tail -n 1", c->nodes[p].port, path);
    FILE *out = popen(cmd, "r");
    assert_non_null(out);
    char line[256] = "";
    if (!fgets(line, sizeof line, out)) line[0] = '\0';
    assert_int_equal(pclose(out), 0);
    assert_non_null(strstr(line, "errors: 0, replies: 1000000"));
    char *after = h_info_field(c, p, "replication", "raft_term");
    assert_string_equal(after, term);
    free(after);
    free(term);
    char *n = cli(c, p, "DBSIZE", NULL, NULL);
    assert_string_equal(n, "1000000");
    free(n);
}

static void expect_reply(int fd, const char *want)
{
    char *r = h_reply(fd);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

/* WAIT / WAITAOF count the replicas whose logs hold the connection's last
 * write (Raft's match index), waiting for them up to the timeout. */
static void test_wait_counts_replicas(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    h_sends(fd, "WAIT 2 0\r\nSET w 1\r\nWAIT 2 5000\r\nWAITAOF 1 2 5000\r\nWAIT 0 0\r\n");
    expect_reply(fd, ":2\r\n"); /* nothing written yet: nothing to wait for */
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, ":2\r\n");
    expect_reply(fd, "*2\r\n:1\r\n:2\r\n");
    expect_reply(fd, ":2\r\n");
    h_sends(fd, "WAIT x 0\r\nWAIT 1 -1\r\n");
    expect_reply(fd, "-ERR value is not an integer or out of range\r\n");
    expect_reply(fd, "-ERR timeout is negative\r\n");
    int r = (p + 1) % 3;
    int rfd = h_connect(c->nodes[r].port);
    h_sends(rfd, "WAIT 1 0\r\n");
    char *out = h_reply(rfd);
    assert_non_null(out);
    assert_memory_equal(out, "-ERR WAIT cannot be used with replica instances.", 48);
    free(out);
    h_close(rfd);
    /* a frozen replica holds nothing new: WAIT 2 answers 1 when its time is up */
    h_node_signal(c, r, SIGSTOP);
    h_sends(fd, "SET w 2\r\nWAIT 2 300\r\n");
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, ":1\r\n");
    h_node_signal(c, r, SIGCONT);
    h_sends(fd, "WAIT 2 10000\r\n");
    expect_reply(fd, ":2\r\n"); /* it catches up */
    h_close(fd);
}

/* Whether node i's CLUSTER NODES line for the node with client port
 * `port` carries the fail flag. */
static int nodes_says_fail(tcluster *c, int i, int port)
{
    char *out = h_cli(&c->nodes[i], "CLUSTER", "NODES", (char *)NULL);
    char needle[32];
    snprintf(needle, sizeof needle, " 127.0.0.1:%d@", port);
    char *at = strstr(out, needle);
    char *end = at ? strchr(at, '\n') : NULL;
    if (end) *end = '\0';
    int fail = at && strstr(at, "fail") != NULL;
    free(out);
    return fail;
}

/* An idle primary logs nothing: no entry, no barrier, for three times
 * replica_max_staleness (1 s), while the replicas keep answering reads (the
 * primary's heartbeats keep them fresh) and their links stay up; a
 * replica killed meanwhile is marked failed by the primary from its
 * silence alone, the live one not. (Before, the primary logged a barrier
 * every quarter of replica_max_staleness to keep the replicas fresh.) */
static void test_idle_primary_logs_nothing(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    free(cli(c, p, "SET", "idle", "1"));
    free(h_converged_digest(c));
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    while (h_info_ll(c, p, "replication", "raft_cluster_formed") != 1) {
        if (h_ms() > deadline) fail_msg("the cluster never said it formed");
        usleep(50 * 1000);
    }
    long long commit = h_info_ll(c, p, "replication", "raft_commit_index");
    int fd[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        if (i == p) continue;
        fd[i] = h_connect(c->nodes[i].port);
        h_sends(fd[i], "READONLY\r\n");
        expect_reply(fd[i], "+OK\r\n");
    }
    long long end = h_ms() + 3000;
    int rounds = 0;
    while (h_ms() < end) {
        for (int i = 0; i < 3; i++) {
            if (i == p) continue;
            h_sends(fd[i], "GET idle\r\n");
            char *r = h_reply(fd[i]);
            if (!r || strcmp(r, "$1\r\n1\r\n") != 0)
                fail_msg("replica %d after %d idle rounds: %s", i + 1, rounds, r ? r : "(closed)");
            free(r);
        }
        rounds++;
        usleep(50 * 1000);
    }
    for (int i = 0; i < 3; i++) {
        if (i == p) continue;
        h_close(fd[i]);
        char *link = h_info_field(c, i, "replication", "master_link_status");
        assert_string_equal(link, "up");
        free(link);
    }
    long long after = h_info_ll(c, p, "replication", "raft_commit_index");
    print_message("commit index %lld before and %lld after 3 s idle (%d rounds of replica reads)\n", commit, after,
                  rounds);
    assert_int_equal(after, commit);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    deadline = h_ms() + ELECTION_DEADLINE_MS;
    while (!nodes_says_fail(c, p, c->nodes[r].port)) {
        if (h_ms() > deadline) fail_msg("the primary never marked the killed replica failed");
        usleep(50 * 1000);
    }
    /* the live replica, silent in the log as long, answers heartbeats: up */
    int other = 3 - p - r;
    assert_false(nodes_says_fail(c, p, c->nodes[other].port));
    /* INFO replication lists the connected replicas only, as Redis does
     * (the dead one's lag no longer grows on an idle log) */
    assert_int_equal(h_info_ll(c, p, "replication", "connected_slaves"), 1);
    char *info = h_cli(&c->nodes[p], "INFO", "replication", (char *)NULL);
    char port[32];
    snprintf(port, sizeof port, "port=%d,", c->nodes[other].port);
    assert_non_null(strstr(info, port));
    snprintf(port, sizeof port, "port=%d,", c->nodes[r].port);
    assert_null(strstr(info, port));
    free(info);
    /* and SENTINEL replicas flags it down, so Sentinel clients leave it
     * out of replica reads */
    char *sent = h_cli(&c->nodes[p], "SENTINEL", "replicas", "test", (char *)NULL);
    snprintf(port, sizeof port, "127.0.0.1:%d\n", c->nodes[r].port);
    const char *dead = strstr(sent, port);
    snprintf(port, sizeof port, "127.0.0.1:%d\n", c->nodes[other].port);
    const char *live = strstr(sent, port);
    assert_non_null(dead);
    assert_non_null(live);
    const char *dead_flags = strstr(dead, "flags\n"), *live_flags = strstr(live, "flags\n");
    assert_non_null(dead_flags);
    assert_non_null(live_flags);
    assert_int_equal(strncmp(dead_flags, "flags\nslave,s_down\n", 19), 0);
    assert_int_equal(strncmp(live_flags, "flags\nslave\n", 12), 0);
    free(sent);
    /* ROLE likewise: master, offset, then the one connected replica */
    char *role = h_cli(&c->nodes[p], "ROLE", (char *)NULL);
    snprintf(port, sizeof port, "\n%d\n", c->nodes[other].port);
    assert_non_null(strstr(role, port));
    snprintf(port, sizeof port, "\n%d\n", c->nodes[r].port);
    assert_null(strstr(role, port));
    free(role);
    assert_int_equal(h_info_ll(c, p, "replication", "raft_commit_index"), commit);
}

/* Lease reads wait out a leadership transfer: its target may be elected at
 * once (votes go to it however recently the replicas heard from this
 * primary), so no read on the primary is answered from the lease while one
 * runs, nor from a lease that a write submitted before it gave. The target
 * is frozen, so the transfer runs until libraft gives it up (an election
 * timeout): the read is answered only after that, once a barrier sent
 * after it has committed. (Before, the lease of the write just before
 * answered it at once.) */
static void test_lease_reads_wait_out_a_transfer(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int t = (p + 1) % 3;
    h_node_signal(c, t, SIGSTOP);
    int fd = h_connect(c->nodes[p].port);
    /* a write committed with the live replica gives a lease, which serves
     * the read after it */
    h_sends(fd, "SET k v\r\nGET k\r\n");
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, "$1\r\nv\r\n");
    char failover[80];
    snprintf(failover, sizeof failover, "SET k w\r\nFAILOVER TO 127.0.0.1 %d\r\nGET k\r\n", c->nodes[t].port);
    h_sends(fd, failover);
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, "$1\r\nw\r\n");
    char *log = h_node_log(c, p);
    if (!strstr(log, "leadership transfer finished"))
        fail_msg("node %d answered a lease read while its leadership transfer ran", p + 1);
    free(log);
    h_close(fd);
    h_node_signal(c, t, SIGCONT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_writes_reach_every_replica),
        cmocka_unit_test_setup_teardown(test_writes_reach_every_replica, start3_lease, stop3),
        cmocka_unit_test_setup_teardown(test_writes_reach_every_replica, start3_local, stop3),
        T(test_replicas_refuse_writes),
        T(test_kill_primary_loses_no_acknowledged_write),
        T(test_frozen_primary_steps_down),
        T(test_restarted_replica_catches_up),
        cmocka_unit_test_setup_teardown(test_replica_catches_up_from_snapshot, start3_small_snapshots, stop3),
        T(test_expiry_is_replicated),
        T(test_sentinel_client_follows_failover),
        T(test_failover_command_moves_the_primary),
        cmocka_unit_test_setup_teardown(test_cluster_mode_redirects, start3_cluster_mode, stop3),
        cmocka_unit_test_setup_teardown(test_preferred_zone_gets_the_primary_back, start3_prefer_c, stop3),
        cmocka_unit_test_setup_teardown(test_preferred_zone_not_sent_to_a_frozen_node, start3_prefer_c, stop3),
        cmocka_unit_test_setup_teardown(test_idle_primary_logs_nothing, start3_idle, stop3),
        cmocka_unit_test_setup_teardown(test_lease_reads_wait_out_a_transfer, start3_lease, stop3),
        cmocka_unit_test_setup_teardown(test_members_add_and_remove, start3_plus_joiner, stop3),
        T(test_node_that_lost_its_data_refuses_to_start),
        T(test_bulk_import_keeps_the_primary),
        T(test_wait_counts_replicas),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
