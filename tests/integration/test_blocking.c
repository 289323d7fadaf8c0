/* Blocking list commands on a three-node cluster (node/blocking.c and the
 * router): a blocked client on the primary is served by another client's
 * push through the log, every node removes the same element, replicas
 * refuse blocking commands, timeouts answer nil, CLIENT UNBLOCK, and a
 * primary deposed by FAILOVER answers its blocked clients -UNBLOCKED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

/* Polls node i's INFO blocked_clients until it reads want. */
static void wait_blocked(tcluster *c, int i, const char *want)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        char *v = h_info_field(c, i, "clients", "blocked_clients");
        int ok = strcmp(v, want) == 0;
        free(v);
        if (ok) return;
        assert_true(h_ms() < deadline);
        usleep(10000);
    }
}

static void expect_reply(int fd, const char *want)
{
    char *r = h_reply(fd);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

/* Once every node has the same digest, each answers a b [d] with want. */
static void expect_everywhere(tcluster *c, const char *a, const char *b, const char *d3, const char *want)
{
    char *d = h_converged_digest(c);
    free(d);
    for (int i = 0; i < c->n; i++) {
        char *out = h_cli(&c->nodes[i], a, b, d3, (char *)NULL);
        assert_string_equal(out, want);
        free(out);
    }
}

static void test_blpop_served_by_push(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port), b = h_connect(c->nodes[p].port);
    h_sends(a, "BLPOP q1 q2 0\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, "RPUSH q2 x y\r\n");
    expect_reply(b, ":2\r\n"); /* the length before the blocked client popped */
    expect_reply(a, "*2\r\n$2\r\nq2\r\n$1\r\nx\r\n");
    wait_blocked(c, p, "0");
    /* the client goes on with its next commands */
    h_sends(a, "LLEN q2\r\n");
    expect_reply(a, ":1\r\n");
    expect_everywhere(c, "LINDEX", "q2", "-1", "y");
    h_close(a);
    h_close(b);
}

/* The sorted sets' blocking pops use the same machinery: a ZADD (or a
 * STORE) serves the waiting client, through the log, alike everywhere. */
static void test_bzpop_served_by_zadd(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port), b = h_connect(c->nodes[p].port);
    h_sends(a, "BZPOPMIN z1 z2 0\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, "ZADD z2 2 m2 1 m1\r\n");
    expect_reply(b, ":2\r\n");
    expect_reply(a, "*3\r\n$2\r\nz2\r\n$2\r\nm1\r\n$1\r\n1\r\n");
    wait_blocked(c, p, "0");
    h_sends(a, "BZMPOP 0 1 z3 MAX COUNT 2\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, "ZUNIONSTORE z3 1 z2\r\n");
    expect_reply(b, ":1\r\n");
    expect_reply(a, "*2\r\n$2\r\nz3\r\n*1\r\n*2\r\n$2\r\nm2\r\n$1\r\n2\r\n");
    expect_everywhere(c, "ZCARD", "z2", NULL, "1");
    expect_everywhere(c, "EXISTS", "z3", NULL, "0");
    h_close(a);
    h_close(b);
}

static void test_blmove_and_order_of_waiters(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port), a2 = h_connect(c->nodes[p].port), b = h_connect(c->nodes[p].port);
    h_sends(a, "BLMOVE src dst LEFT RIGHT 0\r\n");
    wait_blocked(c, p, "1");
    h_sends(a2, "BRPOPLPUSH src dst2 0\r\n");
    wait_blocked(c, p, "2");
    /* one element: the first to block gets it, the second keeps waiting */
    h_sends(b, "LPUSH src first\r\n");
    expect_reply(b, ":1\r\n");
    expect_reply(a, "$5\r\nfirst\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, "LPUSH src second\r\n");
    expect_reply(b, ":1\r\n");
    expect_reply(a2, "$6\r\nsecond\r\n");
    wait_blocked(c, p, "0");
    expect_everywhere(c, "LINDEX", "dst", "-1", "first");
    expect_everywhere(c, "LINDEX", "dst2", "0", "second");
    expect_everywhere(c, "EXISTS", "src", NULL, "0");
    h_close(a);
    h_close(a2);
    h_close(b);
}

static void test_timeouts(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port);
    long long start = h_ms();
    h_sends(a, "BLPOP nothing 0.3\r\n");
    expect_reply(a, "*-1\r\n");
    assert_true(h_ms() - start >= 290);
    h_sends(a, "HELLO 3\r\n");
    free(h_reply(a));
    h_sends(a, "BLMOVE nothing x LEFT LEFT 0.2\r\n");
    expect_reply(a, "_\r\n");
    h_sends(a, "BLMPOP 0.1 2 n1 n2 LEFT COUNT 3\r\n");
    expect_reply(a, "_\r\n");
    wait_blocked(c, p, "0");
    h_close(a);
}

static void test_client_unblock(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port), b = h_connect(c->nodes[p].port);
    h_sends(a, "CLIENT ID\r\n");
    char *id = h_reply(a);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "CLIENT UNBLOCK %.*s ERROR\r\n", (int)strcspn(id + 1, "\r"), id + 1);
    h_sends(a, "BRPOP w 0\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, cmd);
    expect_reply(b, ":1\r\n");
    expect_reply(a, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    h_sends(b, cmd);
    expect_reply(b, ":0\r\n"); /* not blocked any more */
    snprintf(cmd, sizeof cmd, "CLIENT UNBLOCK %.*s\r\n", (int)strcspn(id + 1, "\r"), id + 1);
    h_sends(a, "BRPOP w 0\r\n");
    wait_blocked(c, p, "1");
    h_sends(b, cmd);
    expect_reply(b, ":1\r\n");
    expect_reply(a, "*-1\r\n"); /* TIMEOUT: as if its time ran out */
    free(id);
    h_close(a);
    h_close(b);
}

static void test_replica_refuses_blocking(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[(p + 1) % 3].port);
    h_sends(a, "BLPOP q 0\r\n");
    expect_reply(a, "-READONLY You can't write against a read only replica.\r\n");
    h_close(a);
}

static void test_deposed_primary_unblocks(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int a = h_connect(c->nodes[p].port), a3 = h_connect(c->nodes[p].port);
    h_sends(a, "BLPOP gone 0\r\n");
    h_sends(a3, "HELLO 3\r\nBLMOVE gone x LEFT LEFT 100\r\n");
    free(h_reply(a3));
    wait_blocked(c, p, "2");
    int target = (p + 1) % 3;
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[target].port);
    char *out = h_cli(&c->nodes[p], "FAILOVER", "TO", "127.0.0.1", port, (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    expect_reply(a, "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n");
    expect_reply(a3, "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n");
    wait_blocked(c, p, "0");
    /* the new primary serves blocking commands */
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    while (h_cluster_primary(c, ELECTION_DEADLINE_MS) != target) assert_true(h_ms() < deadline);
    int n = h_connect(c->nodes[target].port), b = h_connect(c->nodes[target].port);
    h_sends(n, "BRPOP again 0\r\n");
    wait_blocked(c, target, "1");
    h_sends(b, "RPUSH again z\r\n");
    expect_reply(b, ":1\r\n");
    expect_reply(n, "*2\r\n$5\r\nagain\r\n$1\r\nz\r\n");
    expect_everywhere(c, "EXISTS", "again", NULL, "0");
    h_close(a);
    h_close(a3);
    h_close(n);
    h_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blpop_served_by_push),
        cmocka_unit_test(test_bzpop_served_by_zadd),
        cmocka_unit_test(test_blmove_and_order_of_waiters),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_client_unblock),
        cmocka_unit_test(test_replica_refuses_blocking),
        cmocka_unit_test(test_deposed_primary_unblocks),
    };
    return cmocka_run_group_tests(tests, start3, stop3);
}
