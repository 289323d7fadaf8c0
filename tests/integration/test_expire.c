/* Active expiry on real nodes (issue 18): 100,000 keys with a 1.5 s TTL,
 * loaded pipelined into a three-node cluster and into a standalone node,
 * are all reclaimed on every node (DBSIZE) without any access to them,
 * while keys with a long TTL stay; every node counts each expired key once
 * (expired_keys, at apply), the digests agree, and INFO stats has Redis's
 * expiry fields.
 *
 * The loose bound the issue asks for: every expired key gone within 20 s
 * of the last key's deadline (Redis takes about one). Keys go to two
 * databases (0 and 3) so that each database's cursor is exercised. The
 * same bound holds while a client keeps writing (the primary then runs the
 * slow cycle only). */
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

#define KEYS 100000
#define KEYS_DB3 10000   /* of KEYS, these go to database 3 */
#define SURVIVORS 100    /* keys with a one-hour TTL, in database 0 */
#define TTL_MS 1500
#define RECLAIM_BOUND_MS 20000
#define ELECTION_DEADLINE_MS 10000

/* SET exp:from..to-1 v PX ttl_ms in database db, pipelined 1000 at a time;
 * every reply must be +OK. */
static void load(int port, int db, const char *prefix, int from, int to, int ttl_ms)
{
    int fd = h_connect(port);
    char sel[64];
    snprintf(sel, sizeof sel, "SELECT %d\r\n", db);
    h_sends(fd, sel);
    char *r = h_reply(fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    size_t cap = 1000 * 96;
    char *buf = malloc(cap);
    char ttl[24];
    int tlen = snprintf(ttl, sizeof ttl, "%d", ttl_ms);
    for (int i = from; i < to; i += 1000) {
        int m = to - i < 1000 ? to - i : 1000;
        size_t len = 0;
        for (int j = 0; j < m; j++) {
            char key[48];
            int klen = snprintf(key, sizeof key, "%s:%d", prefix, i + j);
            len += (size_t)snprintf(buf + len, cap - len, "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n$2\r\nPX\r\n$%d\r\n%s\r\n",
                                    klen, key, tlen, ttl);
        }
        h_send(fd, buf, len);
        for (int j = 0; j < m; j++) {
            r = h_reply(fd);
            assert_non_null(r);
            if (strcmp(r, "+OK\r\n") != 0) fail_msg("SET %s:%d answered %s", prefix, i + j, r);
            free(r);
        }
    }
    free(buf);
    h_close(fd);
}

/* DBSIZE of database db on port. */
static long long dbsize(int port, int db)
{
    int fd = h_connect(port);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "SELECT %d\r\nDBSIZE\r\n", db);
    h_sends(fd, cmd);
    char *r = h_reply(fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = h_reply(fd);
    assert_non_null(r);
    assert_true(r[0] == ':');
    long long n = atoll(r + 1);
    free(r);
    h_close(fd);
    return n;
}

/* One INFO stats field of the node on port, as a string (malloc'd). */
static char *stats_field(int port, const char *field)
{
    int fd = h_connect(port);
    h_sends(fd, "INFO stats\r\n");
    char *r = h_reply(fd);
    h_close(fd);
    assert_non_null(r);
    char want[80];
    snprintf(want, sizeof want, "\r\n%s:", field);
    char *p = strstr(r, want);
    if (!p) fail_msg("INFO stats has no %s:\n%s", field, r);
    p += strlen(want);
    size_t n = strcspn(p, "\r");
    char *v = strndup(p, n);
    free(r);
    return v;
}

/* Loads the keys through port (the primary, or the standalone node) and
 * returns the time (h_ms) of the last key's deadline. */
static long long load_all(int port)
{
    load(port, 0, "keep", 0, SURVIVORS, 3600 * 1000);
    load(port, 0, "exp", 0, KEYS - KEYS_DB3, TTL_MS);
    load(port, 3, "exp", KEYS - KEYS_DB3, KEYS, TTL_MS);
    return h_ms() + TTL_MS;
}

/* Polls every port until database 0 holds only the survivors and database
 * 3 nothing; fails past the bound. */
static void wait_reclaimed(const int *ports, int n, long long last_deadline)
{
    for (int i = 0; i < n; i++) {
        long long d0, d3;
        for (;;) {
            d0 = dbsize(ports[i], 0);
            d3 = dbsize(ports[i], 3);
            if (d0 == SURVIVORS && d3 == 0) break;
            if (h_ms() > last_deadline + RECLAIM_BOUND_MS)
                fail_msg("node on port %d still holds %lld + %lld keys %d ms after the last deadline", ports[i], d0, d3,
                         RECLAIM_BOUND_MS);
            usleep(50 * 1000);
        }
    }
}

/* The figures INFO stats must show once every key expired. */
static void check_stats(int port)
{
    char *v = stats_field(port, "expired_keys");
    assert_int_equal(atoll(v), KEYS); /* once per key, the survivors never */
    free(v);
    /* Redis's fields, in its format: present and well formed */
    v = stats_field(port, "expired_stale_perc");
    char *end;
    double perc = strtod(v, &end);
    assert_true(end != v && *end == '\0' && perc >= 0 && perc <= 100);
    free(v);
    v = stats_field(port, "expired_time_cap_reached_count");
    assert_true(strspn(v, "0123456789") == strlen(v) && *v);
    free(v);
    v = stats_field(port, "expire_cycle_cpu_milliseconds");
    assert_true(strspn(v, "0123456789") == strlen(v) && *v);
    free(v);
}

static void test_three_nodes_reclaim_every_expired_key(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    long long last_deadline = load_all(c->nodes[p].port);
    int ports[3] = {c->nodes[0].port, c->nodes[1].port, c->nodes[2].port};
    wait_reclaimed(ports, 3, last_deadline);
    /* the survivors are intact and every node holds the same */
    char *r = h_cli(&c->nodes[p], "GET", "keep:7", (char *)NULL);
    assert_string_equal(r, "v");
    free(r);
    char *digest = h_converged_digest(c);
    assert_string_not_equal(digest, "0000000000000000000000000000000000000000");
    free(digest);
    for (int i = 0; i < 3; i++) check_stats(c->nodes[i].port);
    h_cluster_stop(c);
}

/* A primary under a steady write load runs no fast cycle (clients come
 * first), only the slow one: keys must still all go while a client keeps
 * writing, on every node, each counted once. */
#define STORM_KEYS 20000
static void test_reclaimed_while_a_client_keeps_writing(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int port = c->nodes[p].port;
    load(port, 0, "storm", 0, STORM_KEYS, TTL_MS);
    long long last_deadline = h_ms() + TTL_MS;
    int ports[3] = {c->nodes[0].port, c->nodes[1].port, c->nodes[2].port};
    /* the writer: rounds of 100 pipelined SETs into database 1, each
     * answered before the next, from before the first deadline until every
     * node holds none of the expiring keys */
    int fd = h_connect(port);
    h_sends(fd, "SELECT 1\r\n");
    char *r = h_reply(fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    char buf[100 * 64];
    long long rounds = 0, next_poll = 0;
    int node = 0;
    while (node < 3) {
        size_t len = 0;
        for (int j = 0; j < 100; j++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "*3\r\n$3\r\nSET\r\n$8\r\nw:%06d\r\n$1\r\nx\r\n",
                                    (int)((rounds * 100 + j) % 1000000));
        h_send(fd, buf, len);
        for (int j = 0; j < 100; j++) {
            r = h_reply(fd);
            assert_non_null(r);
            assert_string_equal(r, "+OK\r\n");
            free(r);
        }
        rounds++;
        if (h_ms() < next_poll) continue;
        next_poll = h_ms() + 50;
        if (dbsize(ports[node], 0) == 0) {
            node++; /* this one is done: the next */
            continue;
        }
        if (h_ms() > last_deadline + RECLAIM_BOUND_MS)
            fail_msg("node on port %d still holds %lld expiring keys %d ms after the last deadline, under writes",
                     ports[node], dbsize(ports[node], 0), RECLAIM_BOUND_MS);
    }
    h_close(fd);
    assert_true(rounds > 0);
    for (int i = 0; i < 3; i++) {
        char *v = stats_field(ports[i], "expired_keys");
        assert_int_equal(atoll(v), STORM_KEYS);
        free(v);
    }
    char *digest = h_converged_digest(c);
    free(digest);
    h_cluster_stop(c);
}

static void test_standalone_reclaims_every_expired_key(void **state)
{
    (void)state;
    tnode *n = h_start(NULL);
    long long last_deadline = load_all(n->port);
    wait_reclaimed(&n->port, 1, last_deadline);
    check_stats(n->port);
    char *r = h_cli(n, "GET", "keep:99", (char *)NULL);
    assert_string_equal(r, "v");
    free(r);
    assert_int_equal(h_stop(n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_nodes_reclaim_every_expired_key),
        cmocka_unit_test(test_standalone_reclaims_every_expired_key),
        cmocka_unit_test(test_reclaimed_while_a_client_keeps_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
