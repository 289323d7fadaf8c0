/* Numbered databases on real nodes: writes in several databases (MOVE,
 * SWAPDB, COPY DB, SELECT inside MULTI, replicated expiry) end the same on
 * every node, survive a kill -9 of the primary and a restart from a Raft
 * snapshot; blocked clients wait on a key in one database; cluster mode
 * keeps database 0 only; a backup carries each key's database. */
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
#include "snapshot.h"

#define ELECTION_DEADLINE_MS 20000
#define DEADLINE_MS 20000

static void expect(int fd, const char *cmd, const char *want)
{
    h_sends(fd, cmd);
    char *a = h_reply(fd);
    assert_non_null(a);
    if (strcmp(a, want) != 0) fprintf(stderr, "%s-> %s (wanted %s)\n", cmd, a, want);
    assert_string_equal(a, want);
    free(a);
}

/* DBSIZE of database db on a node (redis-cli -n db). A replica that has
 * not heard from the primary for replica_max_staleness refuses reads with
 * -TRYAGAIN, as it should, and a loaded machine can delay an idle
 * primary's barrier that long: such a reply is retried as a client would
 * (the sizes are what this file checks, not freshness). Any other reply
 * that is not a number fails, printed: a CI run once read one as 0 keys
 * here without showing what it was. */
static long db_size(tnode *n, int db)
{
    char d[16];
    snprintf(d, sizeof d, "%d", db);
    long long deadline = h_ms() + DEADLINE_MS;
    for (;;) {
        char *v = h_cli(n, "-n", d, "DBSIZE", NULL);
        char *end;
        long size = strtol(v, &end, 10);
        int number = end != v && !*end, retry = !number && strncmp(v, "TRYAGAIN", 8) == 0 && h_ms() < deadline;
        if (!number) fprintf(stderr, "DBSIZE of db %d on port %d: %s%s\n", db, n->port, v, retry ? " (retrying)" : "");
        free(v);
        if (number) return size;
        assert_true(retry);
        usleep(20000);
    }
}

/* The sizes every database must have after the writes of the first test. */
static const long WANT[16] = {[0] = 1, [1] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [9] = 200, [15] = 2};

static void check_sizes(tcluster *c, int i)
{
    for (int db = 0; db < 16; db++) {
        long got = db_size(&c->nodes[i], db);
        if (got != WANT[db]) fprintf(stderr, "node %d db %d: %ld keys, wanted %ld\n", i + 1, db, got, WANT[db]);
        assert_int_equal(got, WANT[db]);
    }
}

/* Polls until node i has `want` clients blocked on keys. */
static void wait_blocked(tcluster *c, int i, const char *want)
{
    long long deadline = h_ms() + DEADLINE_MS;
    for (;;) {
        char *v = h_info_field(c, i, "clients", "blocked_clients");
        int done = strcmp(v, want) == 0;
        free(v);
        if (done) return;
        assert_true(h_ms() < deadline);
        usleep(10000);
    }
}

static void test_databases_replicated_failover_and_snapshot(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "snapshot_threshold = 64");
    assert_non_null(c);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    expect(fd, "SET a zero\r\n", "+OK\r\n");
    expect(fd, "SELECT 1\r\n", "+OK\r\n");
    expect(fd, "SET a one\r\n", "+OK\r\n");
    expect(fd, "RPUSH l x y\r\n", ":2\r\n");
    expect(fd, "MOVE a 3\r\n", ":1\r\n");
    expect(fd, "MOVE a 3\r\n", ":0\r\n");
    expect(fd, "SELECT 2\r\n", "+OK\r\n");
    expect(fd, "SADD s m1 m2\r\n", ":2\r\n");
    expect(fd, "SWAPDB 2 4\r\n", "+OK\r\n");
    expect(fd, "DBSIZE\r\n", ":0\r\n");
    expect(fd, "SELECT 15\r\n", "+OK\r\n");
    expect(fd, "SET k v\r\n", "+OK\r\n");
    expect(fd, "HSET h f v\r\n", ":1\r\n");
    expect(fd, "COPY k k2 DB 5\r\n", ":1\r\n");
    /* SELECT inside a transaction that writes: the rest runs there, and the
     * client stays there after EXEC */
    expect(fd, "MULTI\r\n", "+OK\r\n");
    expect(fd, "SELECT 6\r\n", "+QUEUED\r\n");
    expect(fd, "SET t 1\r\n", "+QUEUED\r\n");
    expect(fd, "EXEC\r\n", "*2\r\n+OK\r\n+OK\r\n");
    expect(fd, "GET t\r\n", "$1\r\n1\r\n");
    expect(fd, "SELECT 15\r\n", "+OK\r\n");
    expect(fd, "GET t\r\n", "$-1\r\n");
    /* replicated expiry in database 7 */
    expect(fd, "SELECT 7\r\n", "+OK\r\n");
    expect(fd, "SET e v PX 50\r\n", "+OK\r\n");
    for (int i = 0; i < 3; i++) {
        long long deadline = h_ms() + DEADLINE_MS;
        while (db_size(&c->nodes[i], 7) != 0) {
            assert_true(h_ms() < deadline);
            usleep(20000);
        }
    }
    /* enough entries for a Raft snapshot (snapshot_threshold = 64) */
    expect(fd, "SELECT 9\r\n", "+OK\r\n");
    for (int i = 0; i < 200; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SET key:%d %d\r\n", i, i);
        expect(fd, cmd, "+OK\r\n");
    }
    char *before = h_converged_digest(c);
    assert_non_null(before);
    assert_string_not_equal(before, "0000000000000000000000000000000000000000");
    for (int i = 0; i < 3; i++) check_sizes(c, i);
    char *ks = h_info_field(c, (p + 1) % 3, "keyspace", "db15");
    assert_string_equal(ks, "keys=2,expires=0,avg_ttl=0");
    free(ks);
    h_close(fd);

    /* kill -9 the primary: the others hold every database */
    h_node_signal(c, p, SIGKILL);
    int p2 = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p2 >= 0 && p2 != p);
    char *after = h_converged_digest(c);
    assert_string_equal(after, before);
    for (int i = 0; i < 3; i++)
        if (i != p) check_sizes(c, i);
    /* SWAPDB and MOVE through the new primary, applied everywhere */
    fd = h_connect(c->nodes[p2].port);
    expect(fd, "SWAPDB 9 10\r\n", "+OK\r\n");
    expect(fd, "SWAPDB 10 9\r\n", "+OK\r\n");
    expect(fd, "SELECT 3\r\n", "+OK\r\n");
    expect(fd, "MOVE a 1\r\n", ":1\r\n");
    expect(fd, "SELECT 1\r\n", "+OK\r\n");
    expect(fd, "MOVE a 3\r\n", ":1\r\n");
    h_close(fd);

    /* the killed node comes back from its Raft snapshot and the log after it */
    h_node_restart(c, p);
    char *again = h_converged_digest(c);
    assert_string_equal(again, before);
    check_sizes(c, p);
    char *log = h_node_log(c, p);
    assert_non_null(strstr(log, "restored a Raft snapshot"));
    free(log);
    free(again);
    free(after);
    free(before);
    h_cluster_stop(c);
}

/* A client blocked on a list waits on that key in its own database: a push
 * elsewhere leaves it waiting, one in its database serves it, and SWAPDB
 * bringing a list in serves it too. */
static void test_blocking_per_database(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    assert_non_null(c);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int waiter = h_connect(c->nodes[p].port), fd = h_connect(c->nodes[p].port);
    expect(waiter, "SELECT 1\r\n", "+OK\r\n");
    h_sends(waiter, "BLPOP q 0\r\n");
    wait_blocked(c, p, "1");
    /* a push in database 0 is not for it */
    expect(fd, "LPUSH q zero\r\n", ":1\r\n");
    expect(fd, "LLEN q\r\n", ":1\r\n");
    wait_blocked(c, p, "1");
    expect(fd, "SELECT 1\r\n", "+OK\r\n");
    expect(fd, "LPUSH q one\r\n", ":1\r\n");
    char *a = h_reply(waiter);
    assert_string_equal(a, "*2\r\n$1\r\nq\r\n$3\r\none\r\n");
    free(a);
    expect(fd, "SELECT 0\r\n", "+OK\r\n");
    expect(fd, "LLEN q\r\n", ":1\r\n");
    /* SWAPDB brings database 0's list into database 1 */
    h_sends(waiter, "BLPOP q 0\r\n");
    wait_blocked(c, p, "1");
    expect(fd, "SWAPDB 0 1\r\n", "+OK\r\n");
    a = h_reply(waiter);
    assert_string_equal(a, "*2\r\n$1\r\nq\r\n$4\r\nzero\r\n");
    free(a);
    char *d = h_converged_digest(c);
    free(d);
    h_close(waiter);
    h_close(fd);
    h_cluster_stop(c);
}

/* cluster_mode: database 0 only, with Redis Cluster's errors. */
static void test_cluster_mode_database_0_only(void **state)
{
    (void)state;
    tnode *n = h_start("cluster_mode = true");
    int fd = h_connect(n->port);
    expect(fd, "SELECT 0\r\n", "+OK\r\n");
    expect(fd, "SELECT 1\r\n", "-ERR SELECT is not allowed in cluster mode\r\n");
    expect(fd, "SET {a}k v\r\n", "+OK\r\n");
    expect(fd, "MOVE {a}k 1\r\n", "-ERR MOVE is not allowed in cluster mode\r\n");
    expect(fd, "SWAPDB 0 1\r\n", "-ERR SWAPDB is not allowed in cluster mode\r\n");
    expect(fd, "COPY {a}k {a}j DB 1\r\n", "-ERR Copying to another database is not allowed in cluster mode\r\n");
    h_close(fd);
    h_stop(n);
}

static int read_file(void *ud, void *buf, size_t len, size_t *got)
{
    *got = fread(buf, 1, len, (FILE *)ud);
    return ferror((FILE *)ud) ? -1 : 0;
}

/* A backup (BGSAVE to a file:// destination) holds every database's keys,
 * each record naming its database. */
static void test_backup_keeps_databases(void **state)
{
    (void)state;
    char dest[] = "/tmp/tc-dbs-XXXXXX", extra[400], url[300];
    assert_non_null(mkdtemp(dest));
    snprintf(url, sizeof url, "file://%s/b", dest);
    snprintf(extra, sizeof extra, "[backup]\ndestination = \"%s\"", url);
    tnode *n = h_start(extra);
    int fd = h_connect(n->port);
    expect(fd, "SET zero 0\r\n", "+OK\r\n");
    expect(fd, "SELECT 3\r\n", "+OK\r\n");
    expect(fd, "SET three 3\r\n", "+OK\r\n");
    expect(fd, "RPUSH list a b\r\n", ":2\r\n");
    expect(fd, "SELECT 12\r\n", "+OK\r\n");
    expect(fd, "HSET h f v\r\n", ":1\r\n");
    expect(fd, "SAVE\r\n", "+OK\r\n");
    h_close(fd);
    int st;
    char *name = h_run(&st, "sh", "-c", "ls \"$0\"/b/*.tcsnap | head -1 | tr -d '\\n'", dest, (char *)NULL);
    assert_int_equal(st, 0);
    FILE *f = fopen(name, "rb");
    assert_non_null(f);
    tc_snapshot_reader *rd;
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_reader_opts ro = {.name = name};
    assert_int_equal(tc_snapshot_reader_new(&rd, &ro, read_file, f, err, sizeof err), 0);
    long per_db[16] = {0};
    tc_snapshot_record rec;
    int rc;
    while ((rc = tc_snapshot_reader_next(rd, &rec)) == 1) {
        unsigned db = 0;
        if (rec.type & TC_SNAPSHOT_IN_DB) {
            const unsigned char *v = rec.value;
            assert_true(rec.value_len >= 4);
            db = v[0] | v[1] << 8 | v[2] << 16 | (unsigned)v[3] << 24;
            assert_true(db > 0); /* database 0's records have no number */
        }
        assert_true(db < 16);
        per_db[db]++;
    }
    assert_int_equal(rc, 0);
    tc_snapshot_reader_free(rd);
    fclose(f);
    assert_int_equal(per_db[0], 1);
    assert_int_equal(per_db[3], 2);
    assert_int_equal(per_db[12], 1);
    /* what tricachectl backup verify reports: 4 keys in 3 databases */
    tc_snapshot_info info;
    tc_snapshot_stats vst;
    assert_int_equal(tc_snapshot_verify_file(name, &ro, &info, &vst, err, sizeof err), 0);
    assert_int_equal(vst.records, 4);
    assert_int_equal(vst.databases, 3);
    free(name);
    h_stop(n);
    free(h_run(&st, "rm", "-rf", dest, (char *)NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_databases_replicated_failover_and_snapshot),
        cmocka_unit_test(test_blocking_per_database),
        cmocka_unit_test(test_cluster_mode_database_0_only),
        cmocka_unit_test(test_backup_keeps_databases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
