/* No command costs the primary its leadership (issue 19): Raft runs on a
 * thread of its own, so a command thread busy for longer than the election
 * timeout (300 ms here) moves nothing.
 *
 * Three nodes: DEBUG POPULATE of 3,000,000 keys (seconds of apply on every
 * node at once), KEYS * over them, and DEBUG SLEEP 2 on the primary with a
 * write sent meanwhile leave the term unchanged on every node and the same
 * primary; the write is acknowledged after the sleep. DEBUG SLEEP 2 on a
 * replica: writes go on, the replica stays a voter and catches up (same
 * digest), the term stays. A primary whose command thread is stuck longer
 * than apply_stall_timeout hands leadership over, and after the stall
 * serves as a replica. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
#define LOAD_DEADLINE_MS 120000

static char *ask(int port, const char *line)
{
    int fd = h_connect(port);
    h_sends(fd, line);
    h_sends(fd, "\r\n");
    char *r = h_reply(fd);
    h_close(fd);
    assert_non_null(r);
    return r;
}

static void ask_expect(int port, const char *line, const char *want)
{
    char *r = ask(port, line);
    if (strcmp(r, want) != 0) fail_msg("%s: want %s, got %s", line, want, r);
    free(r);
}

static void terms(tcluster *c, long long *t)
{
    for (int i = 0; i < c->n; i++) t[i] = h_info_ll(c, i, "replication", "raft_term");
}

/* Every node still in the term it was in, and p still the primary. */
static void assert_no_election(tcluster *c, const long long *before, int p, const char *after_what)
{
    long long now[5];
    terms(c, now);
    for (int i = 0; i < c->n; i++)
        if (now[i] != before[i])
            fail_msg("after %s: node %d went from term %lld to %lld", after_what, i + 1, before[i], now[i]);
    char *role = h_info_field(c, p, "replication", "role");
    if (strcmp(role, "master") != 0) fail_msg("after %s: node %d is no longer the primary (%s)", after_what, p + 1, role);
    free(role);
}

static void wait_dbsize(tcluster *c, long long want)
{
    char line[64];
    snprintf(line, sizeof line, ":%lld\r\n", want);
    for (int i = 0; i < c->n; i++) {
        long long deadline = h_ms() + LOAD_DEADLINE_MS;
        for (;;) {
            char *r = ask(c->nodes[i].port, "DBSIZE");
            int ok = strcmp(r, line) == 0;
            free(r);
            if (ok) break;
            if (h_ms() > deadline) fail_msg("node %d never reached DBSIZE %lld", i + 1, want);
            free(ask(c->nodes[i].port, "PING")); /* a round trip paces the polling */
        }
    }
}

static void test_slow_commands_keep_the_primary(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    long long before[5];
    terms(c, before);

    /* seconds of apply on every node at once (TC_STALL_KEYS: fewer under
     * ThreadSanitizer, which runs everything several times slower) */
    const char *env = getenv("TC_STALL_KEYS");
    long long nkeys = env && *env ? atoll(env) : 3000000;
    char line[96];
    snprintf(line, sizeof line, "DEBUG POPULATE %lld", nkeys);
    ask_expect(c->nodes[p].port, line, "+OK\r\n");
    wait_dbsize(c, nkeys);
    assert_no_election(c, before, p, line);

    /* KEYS * over all of them: one long command on the primary */
    char *keys = ask(c->nodes[p].port, "KEYS *");
    snprintf(line, sizeof line, "*%lld\r\n", nkeys);
    assert_memory_equal(keys, line, strlen(line));
    free(keys);
    assert_no_election(c, before, p, "KEYS *");

    /* DEBUG SLEEP 2 on the primary, with a write sent meanwhile */
    int sleeper = h_connect(c->nodes[p].port);
    h_sends(sleeper, "DEBUG SLEEP 2\r\n");
    int writer = h_connect(c->nodes[p].port);
    h_sends(writer, "SET during-the-stall yes\r\n");
    char *r = h_reply(sleeper);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = h_reply(writer);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    h_close(sleeper);
    h_close(writer);
    assert_no_election(c, before, p, "DEBUG SLEEP 2 on the primary");
    /* the Raft thread saw the command thread stall */
    assert_true(h_info_ll(c, p, "replication", "command_thread_stalls") >= 1);

    /* DEBUG SLEEP 2 on a replica while the primary takes writes */
    int rep = (p + 1) % 3;
    sleeper = h_connect(c->nodes[rep].port);
    h_sends(sleeper, "DEBUG SLEEP 2\r\n");
    for (int i = 0; i < 50; i++) {
        snprintf(line, sizeof line, "SET while-replica-sleeps:%d %d", i, i);
        ask_expect(c->nodes[p].port, line, "+OK\r\n");
    }
    r = h_reply(sleeper);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    h_close(sleeper);
    free(h_converged_digest(c));
    char *state_r = h_info_field(c, rep, "replication", "raft_state");
    assert_string_equal(state_r, "follower");
    free(state_r);
    assert_no_election(c, before, p, "DEBUG SLEEP 2 on a replica");
    r = ask(c->nodes[rep].port, "GET while-replica-sleeps:49");
    assert_string_equal(r, "$2\r\n49\r\n");
    free(r);
    h_cluster_stop(c);
}

static void test_wedged_primary_hands_over(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "apply_stall_timeout = \"1s\"\n");
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    ask_expect(c->nodes[p].port, "SET before 1", "+OK\r\n");
    /* stuck for far longer than apply_stall_timeout: as good as wedged */
    int sleeper = h_connect(c->nodes[p].port);
    h_sends(sleeper, "DEBUG SLEEP 8\r\n");
    long long deadline = h_ms() + 7000; /* well before the sleep ends */
    int moved = -1;
    while (moved < 0 && h_ms() < deadline) {
        for (int i = 0; i < c->n && moved < 0; i++) {
            if (i == p) continue;
            char *role = h_info_field(c, i, "replication", "role");
            if (strcmp(role, "master") == 0) moved = i;
            free(role);
        }
    }
    if (moved < 0) fail_msg("leadership did not move while node %d's command thread was stuck", p + 1);
    char *r = ask(c->nodes[moved].port, "GET before");
    assert_string_equal(r, "$1\r\n1\r\n");
    free(r);
    r = h_reply(sleeper);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    h_close(sleeper);
    /* back, it serves as a replica of the new primary */
    deadline = h_ms() + ELECTION_DEADLINE_MS;
    for (;;) {
        char *role = h_info_field(c, p, "replication", "role");
        int replica = strcmp(role, "slave") == 0;
        free(role);
        if (replica) break;
        if (h_ms() > deadline) fail_msg("node %d did not become a replica after its stall", p + 1);
    }
    assert_true(h_info_ll(c, p, "replication", "command_thread_wedged_handovers") >= 1);
    char *log = h_node_log(c, p);
    assert_non_null(strstr(log, "the command thread has made no progress"));
    free(log);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_commands_keep_the_primary),
        cmocka_unit_test(test_wedged_primary_hands_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
