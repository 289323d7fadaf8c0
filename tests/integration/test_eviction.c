/* maxmemory and eviction on real nodes: one node and three. Every policy
 * keeps memory at the limit while keys keep coming, volatile-* never takes
 * a key without a TTL, noeviction refuses writes with Redis's error and
 * serves reads; CONFIG SET of the settings reaches every node through the
 * log, survives a restart, and a failover while evicting loses no
 * acknowledged write the policy could not evict.
 *
 * A one-node cluster runs without Raft (main/tricache.c): it evicts in
 * place (tc_evict_local); three nodes go through the primary's router and
 * TCEVICT entries (replication/room.c).
 *
 * The stated slack: used_memory may pass maxmemory by at most 10% (the
 * primary evicts before each write on an estimate of what writes in flight
 * add; a hash table doubling its buckets adds at once). */
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

#define ELECTION_DEADLINE_MS 10000
#define LIMIT (8ull * 1024 * 1024)
#define VALUE_LEN 800
#define OOM_REPLY "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

static char *cli(tcluster *c, int i, const char *a, const char *b, const char *d, const char *e)
{
    return h_cli(&c->nodes[i], a, b, d, e, (char *)NULL);
}

/* Raw reply of one command sent on a new connection. */
static char *command(int port, const char *resp)
{
    int fd = h_connect(port);
    h_sends(fd, resp);
    char *r = h_reply(fd);
    h_close(fd);
    return r;
}

/* SET prefix:from .. prefix:from+n-1 (a VALUE_LEN value, EX ttl when ttl >
 * 0), pipelined 200 at a time. Every reply must be +OK or the OOM error;
 * returns how many were +OK, *oom the others. acked (may be NULL) gets 1
 * for each key acknowledged. */
static int fill(int port, const char *prefix, int from, int n, int ttl, int *oom, unsigned char *acked)
{
    static char value[VALUE_LEN + 1];
    memset(value, 'x', VALUE_LEN);
    int fd = h_connect(port), ok = 0;
    if (oom) *oom = 0;
    size_t cap = 200 * (VALUE_LEN + 128);
    char *buf = malloc(cap);
    for (int i = 0; i < n; i += 200) {
        int m = n - i < 200 ? n - i : 200;
        size_t len = 0;
        for (int j = 0; j < m; j++) {
            char key[64], ex[32] = "";
            int klen = snprintf(key, sizeof key, "%s:%d", prefix, from + i + j);
            if (ttl > 0) snprintf(ex, sizeof ex, "%d", ttl);
            if (ttl > 0)
                len += (size_t)snprintf(buf + len, cap - len, "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$%zu\r\n%s\r\n",
                                        klen, key, VALUE_LEN, value, strlen(ex), ex);
            else
                len += (size_t)snprintf(buf + len, cap - len, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", klen, key,
                                        VALUE_LEN, value);
        }
        h_send(fd, buf, len);
        for (int j = 0; j < m; j++) {
            char *r = h_reply(fd);
            if (!r) { /* the node went away (a failover test): the rest is unknown */
                free(buf);
                h_close(fd);
                return ok;
            }
            if (strcmp(r, "+OK\r\n") == 0) {
                ok++;
                if (acked) acked[i + j] = 1;
            } else if (oom && strcmp(r, OOM_REPLY) == 0) {
                (*oom)++;
            } else if (!acked) {
                fail_msg("unexpected reply to SET: %s", r);
            }
            free(r);
        }
    }
    free(buf);
    h_close(fd);
    return ok;
}

/* How many of prefix:i exist for i in 0..n-1 where want[i] (want NULL:
 * all of them), asked with one EXISTS. */
static long long count_existing_of(int port, const char *prefix, int n, const unsigned char *want)
{
    size_t cap = (size_t)n * 48 + 32, len = 0;
    char *buf = malloc(cap);
    int m = 0;
    for (int i = 0; i < n; i++) m += !want || want[i];
    len += (size_t)snprintf(buf, cap, "*%d\r\n$6\r\nEXISTS\r\n", m + 1);
    for (int i = 0; i < n; i++) {
        if (want && !want[i]) continue;
        char key[48];
        int klen = snprintf(key, sizeof key, "%s:%d", prefix, i);
        len += (size_t)snprintf(buf + len, cap - len, "$%d\r\n%s\r\n", klen, key);
    }
    int fd = h_connect(port);
    h_send(fd, buf, len);
    char *r = h_reply(fd);
    h_close(fd);
    free(buf);
    assert_non_null(r);
    assert_int_equal(r[0], ':');
    long long v = atoll(r + 1);
    free(r);
    return v;
}

static long long count_existing(int port, const char *prefix, int n)
{
    return count_existing_of(port, prefix, n, NULL);
}

static void assert_within_limit(tcluster *c, int i)
{
    long long used = h_info_ll(c, i, "memory", "used_memory");
    if ((unsigned long long)used > LIMIT + LIMIT / 10)
        fail_msg("node %d holds used_memory %lld, over maxmemory %llu + 10%%", i + 1, used, LIMIT);
}

static void set_ok(tcluster *c, int i, const char *name, const char *value)
{
    char *r = cli(c, i, "CONFIG", "SET", name, value);
    assert_string_equal(r, "OK");
    free(r);
}

static void test_one_node_every_policy(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(1, NULL);
    assert_int_equal(h_cluster_primary(c, ELECTION_DEADLINE_MS), 0);
    int port = c->nodes[0].port;
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", LIMIT);
    set_ok(c, 0, "maxmemory", limit);
    static const char *const policies[] = {"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                                           "volatile-lfu", "volatile-random", "volatile-ttl"};
    long long evicted = 0;
    for (size_t p = 0; p < sizeof policies / sizeof policies[0]; p++) {
        char *r = cli(c, 0, "FLUSHALL", NULL, NULL, NULL);
        free(r);
        set_ok(c, 0, "maxmemory-policy", policies[p]);
        int vol = strncmp(policies[p], "volatile", 8) == 0;
        /* 1,000 keys without a TTL (under 1 MB), then 40,000 (about four
         * times the limit): with a TTL under volatile-*, without under allkeys-* */
        assert_int_equal(fill(port, "keep", 0, 1000, 0, NULL, NULL), 1000);
        assert_int_equal(fill(port, "fill", 0, 40000, vol ? 100000 : 0, NULL, NULL), 40000);
        assert_within_limit(c, 0);
        long long now = h_info_ll(c, 0, "stats", "evicted_keys");
        if (now <= evicted) fail_msg("%s evicted nothing", policies[p]);
        evicted = now;
        if (vol) assert_int_equal(count_existing(port, "keep", 1000), 1000);
        r = cli(c, 0, "DBSIZE", NULL, NULL, NULL);
        assert_true(atoll(r) < 41000);
        free(r);
    }
    char *r = cli(c, 0, "INFO", "memory", NULL, NULL);
    assert_non_null(strstr(r, "maxmemory_policy:volatile-ttl"));
    free(r);

    /* noeviction: writes refused with Redis's error, nothing changed;
     * reads and deletes work */
    r = cli(c, 0, "FLUSHALL", NULL, NULL, NULL);
    free(r);
    set_ok(c, 0, "maxmemory-policy", "noeviction");
    int oom = 0;
    int ok = fill(port, "fill", 0, 20000, 0, &oom, NULL);
    assert_true(oom > 0);
    assert_int_equal(ok + oom, 20000);
    assert_within_limit(c, 0);
    r = cli(c, 0, "DBSIZE", NULL, NULL, NULL);
    assert_int_equal(atoll(r), ok);
    free(r);
    r = command(port, "GET fill:0\r\n");
    assert_int_equal(strlen(r), 4 + 2 + VALUE_LEN + 2); /* $800\r\n, the value, \r\n */
    free(r);
    /* (a refused SET changed nothing: DBSIZE counts the acknowledged ones
     * only; fill checked each refusal's text byte for byte) */
    r = command(port, "DEL fill:0 fill:1\r\n");
    assert_string_equal(r, ":2\r\n");
    free(r);
    h_cluster_stop(c);
}

static void test_three_nodes_settings_and_eviction(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "snapshot_threshold = 64");
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int rep = (p + 1) % 3;
    /* a replica refuses it as it refuses writes; a bad value is refused
     * by the primary with Redis's error and nothing is logged */
    char *r = command(c->nodes[rep].port, "CONFIG SET maxmemory-policy allkeys-lru\r\n");
    assert_string_equal(r, "-READONLY You can't write against a read only replica.\r\n");
    free(r);
    r = command(c->nodes[p].port, "CONFIG SET maxmemory-policy sometimes\r\n");
    assert_non_null(strstr(r, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following:"));
    free(r);
    r = command(c->nodes[p].port, "CONFIG SET maxmemory 1mb loglevel notice\r\n");
    assert_non_null(strstr(r, "can't mix cluster-wide parameters"));
    free(r);
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", LIMIT);
    r = command(c->nodes[p].port, "CONFIG SET maxmemory 8mb maxmemory-policy allkeys-lru\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    for (int i = 0; i < 3; i++) { /* applied through the log: every node, promptly */
        long long deadline = h_ms() + 10000;
        for (;;) {
            char *v = cli(c, i, "CONFIG", "GET", "maxmemory-policy", NULL);
            int done = strstr(v, "allkeys-lru") != NULL;
            free(v);
            if (done) break;
            if (h_ms() > deadline) fail_msg("node %d never got maxmemory-policy", i + 1);
            usleep(20000);
        }
        char *v = cli(c, i, "CONFIG", "GET", "maxmemory", NULL);
        assert_non_null(strstr(v, limit));
        free(v);
    }
    assert_int_equal(fill(c->nodes[p].port, "fill", 0, 40000, 0, NULL, NULL), 40000);
    free(h_converged_digest(c));
    long long evicted = h_info_ll(c, p, "stats", "evicted_keys");
    assert_true(evicted > 0);
    for (int i = 0; i < 3; i++) {
        assert_within_limit(c, i);
        assert_int_equal(h_info_ll(c, i, "stats", "evicted_keys"), evicted); /* the same keys, everywhere */
        assert_int_equal(h_info_ll(c, i, "memory", "maxmemory"), (long long)LIMIT);
    }
    /* a lower limit with no write coming: the primary evicts down to it
     * on its own (through the log: every node follows) */
    r = command(c->nodes[p].port, "CONFIG SET maxmemory 4mb\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    for (int i = 0; i < 3; i++) {
        long long deadline = h_ms() + 15000;
        while (h_info_ll(c, i, "memory", "used_memory") > (long long)(LIMIT / 2 + LIMIT / 20)) {
            if (h_ms() > deadline) fail_msg("node %d did not come down to the lowered maxmemory", i + 1);
            usleep(20000);
        }
    }
    free(h_converged_digest(c));
    r = command(c->nodes[p].port, "CONFIG SET maxmemory 8mb\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    /* the settings survive a restart of a replica, whose log was
     * compacted into snapshots long after the TCCONFIG entry */
    h_node_signal(c, rep, SIGKILL);
    assert_int_equal(fill(c->nodes[p].port, "more", 0, 2000, 0, NULL, NULL), 2000);
    h_node_restart(c, rep);
    free(h_converged_digest(c));
    r = cli(c, rep, "CONFIG", "GET", "maxmemory-policy", NULL);
    assert_non_null(strstr(r, "allkeys-lru"));
    free(r);
    assert_int_equal(h_info_ll(c, rep, "memory", "maxmemory"), (long long)LIMIT);
    assert_within_limit(c, rep);
    h_cluster_stop(c);
}

/* volatile-lru evicts only keys with a TTL: a failover in the middle of
 * eviction must lose none of the acknowledged keys without one. */
static void test_failover_while_evicting(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *r = command(c->nodes[p].port, "CONFIG SET maxmemory 8mb maxmemory-policy volatile-lru\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    enum { ROUNDS = 60, KEEP = 20 };
    unsigned char acked[ROUNDS * KEEP], scratch[400];
    memset(acked, 0, sizeof acked);
    for (int round = 0; round < ROUNDS; round++) {
        if (round == ROUNDS / 2) h_node_signal(c, p, SIGKILL); /* the primary dies mid-stream */
        int q = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        assert_true(q >= 0);
        fill(c->nodes[q].port, "ttl", round * 400, 400, 100000, NULL, scratch); /* errors allowed meanwhile */
        fill(c->nodes[q].port, "keep", round * KEEP, KEEP, 0, NULL, acked + round * KEEP);
    }
    int q = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(q >= 0);
    assert_true(h_info_ll(c, q, "stats", "evicted_keys") > 0);
    free(h_converged_digest(c));
    int nacked = 0;
    for (int i = 0; i < ROUNDS * KEEP; i++) nacked += acked[i];
    assert_true(nacked > ROUNDS * KEEP / 2);
    for (int n = 0; n < 3; n++) {
        if (!c->nodes[n].pid) continue;
        long long have = count_existing_of(c->nodes[n].port, "keep", ROUNDS * KEEP, acked);
        if (have != nacked) fail_msg("node %d holds %lld of the %d acknowledged keep keys", n + 1, have, nacked);
    }
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node_every_policy),
        cmocka_unit_test(test_three_nodes_settings_and_eviction),
        cmocka_unit_test(test_failover_while_evicting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
