/* Persistence of real nodes: encryption at rest, BGSAVE / SAVE / LASTSAVE,
 * scheduled backups taken on a replica, and TCRESTORE through the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "harness.h"
#include "snapshot.h"

#define DEADLINE_MS 15000
#define MARKER "plaintext-marker-7f3a"

static char *cli(tnode *n, const char *a, const char *b, const char *d)
{
    return h_cli(n, a, b, d, (char *)NULL);
}

static char *make_temp_dir(void)
{
    char *d = strdup("/tmp/tc-persist-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_tree(const char *d)
{
    int st;
    free(h_run(&st, "rm", "-rf", d, (char *)NULL));
}

/* A key folder with one key; returns its path (malloc'd). */
static char *make_keys(void)
{
    char *d = make_temp_dir(), err[512];
    tc_snapshot_keydir kd;
    uint32_t id;
    assert_int_equal(tc_snapshot_keydir_generate(&kd, d, &id, err, sizeof err), 0);
    return d;
}

/* Number of files under dir whose bytes contain needle (grep -r -l -a). */
static int files_containing(const char *dir, const char *needle)
{
    int st;
    char *out = h_run(&st, "grep", "-r", "-l", "-a", "-F", needle, dir, (char *)NULL);
    int n = 0;
    for (char *p = out; p && *p; p++) n += *p == '\n';
    free(out);
    return n;
}


/* Files under the cluster's data directories holding a marked value. */
static int plaintext_files(tcluster *c)
{
    char data[400];
    snprintf(data, sizeof data, "%s/data", c->dir);
    return files_containing(data, MARKER);
}

/* Writes n keys with the marker in their values, one entry each. */
static void write_marked(tnode *primary, int n)
{
    int fd = h_connect(primary->port);
    char cmd[128];
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "SET secret:%d " MARKER "-%d\r\n", i, i);
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        assert_string_equal(r, "+OK\r\n");
        free(r);
    }
    h_close(fd);
}

/* With at_rest_encryption no value appears in plain text anywhere under the
 * data directories (Raft log segments, Raft snapshots); without it, the
 * same grep finds them, so the check can fail. A replica restarted on its
 * data directory decrypts its log and catches up. */
static void test_at_rest_encryption_leaves_no_plaintext(void **state)
{
    (void)state;
    char *keys = make_keys(), extra[600];
    snprintf(extra, sizeof extra, "snapshot_threshold = 64\nkeys_dir = \"%s\"\nat_rest_encryption = true", keys);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    write_marked(&c->nodes[p], 300);
    free(h_converged_digest(c));
    assert_int_equal(plaintext_files(c), 0);

    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char *v = cli(&c->nodes[r], "GET", "secret:299", NULL);
    assert_string_equal(v, MARKER "-299");
    free(v);
    h_cluster_stop(c);

    c = h_cluster_start(3, "snapshot_threshold = 64");
    p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    write_marked(&c->nodes[p], 300);
    free(h_converged_digest(c));
    assert_true(plaintext_files(c) > 0);
    h_cluster_stop(c);
    remove_tree(keys);
    free(keys);
}

/* Key rotation: a new key file is copied in and the nodes restart one at a
 * time. A restarted node that becomes primary seals with the new key; the
 * others find it in keys_dir when they meet it, and everything written
 * before stays readable. */
static void test_key_rotation_with_rolling_restart(void **state)
{
    (void)state;
    char *keys = make_keys(), extra[600], err[512];
    snprintf(extra, sizeof extra, "snapshot_threshold = 64\nkeys_dir = \"%s\"\nat_rest_encryption = true", keys);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    write_marked(&c->nodes[p], 100);
    tc_snapshot_keydir kd;
    uint32_t id;
    assert_int_equal(tc_snapshot_keydir_generate(&kd, keys, &id, err, sizeof err), 0);
    assert_int_equal(id, 2);

    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL); /* reaped, so the restart gets the ports */
    h_node_restart(c, r);
    free(h_converged_digest(c)); /* a transfer only goes to a caught-up node */
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[r].port);
    long long deadline = h_ms() + DEADLINE_MS;
    while (h_cluster_primary(c, DEADLINE_MS) != r) {
        /* a transfer that times out leaves the primary where it was: ask again */
        int q = h_cluster_primary(c, DEADLINE_MS);
        assert_true(q >= 0);
        free(h_cli(&c->nodes[q], "FAILOVER", "TO", "127.0.0.1", port, (char *)NULL));
        assert_true(h_ms() < deadline);
        usleep(200000);
    }
    write_marked(&c->nodes[r], 200); /* sealed with key 2, snapshots too */
    char *digest = h_converged_digest(c);
    char path[400];
    snprintf(path, sizeof path, "%s/node-%d.log", c->dir, p + 1);
    int st;
    char *log = h_run(&st, "cat", path, (char *)NULL);
    assert_non_null(strstr(log, "key id 2 found in keys_dir"));
    free(log);

    /* the rest of the rolling restart: everything reads back */
    for (int i = 0; i < 3; i++) {
        if (i == r) continue;
        h_node_signal(c, i, SIGKILL);
        h_node_restart(c, i);
    }
    char *again = h_converged_digest(c);
    assert_string_equal(digest, again);
    free(digest);
    free(again);
    for (int i = 0; i < 3; i++) {
        char *v = cli(&c->nodes[i], "GET", "secret:99", NULL);
        assert_string_equal(v, MARKER "-99");
        free(v);
    }
    assert_int_equal(plaintext_files(c), 0);
    h_cluster_stop(c);
    remove_tree(keys);
    free(keys);
}

/* Encryption switched on for a running cluster: a rolling restart with
 * at_rest_encryption = true, then enough writes for two snapshots per node;
 * the values written before the switch are still there, and no plaintext
 * is left under the data directories once compaction has run. */
static void test_turn_encryption_on_for_a_running_cluster(void **state)
{
    (void)state;
    char *keys = make_keys(), extra[600];
    snprintf(extra, sizeof extra, "snapshot_threshold = 64\nkeys_dir = \"%s\"", keys);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    write_marked(&c->nodes[p], 50);
    free(h_converged_digest(c));
    assert_true(plaintext_files(c) > 0);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "sed -i 's/^keys_dir = /at_rest_encryption = true\\nkeys_dir = /' '%s'", c->config);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 3; i++) {
        h_node_signal(c, i, SIGKILL);
        h_node_restart(c, i);
        free(h_converged_digest(c));
    }
    p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 600; i++) { /* one entry each: several snapshots and compactions */
        h_sends(fd, "INCR after-switch\r\n");
        free(h_reply(fd));
    }
    h_close(fd);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        char *v = cli(&c->nodes[i], "GET", "secret:49", NULL);
        assert_string_equal(v, MARKER "-49");
        free(v);
    }
    assert_int_equal(plaintext_files(c), 0);
    h_cluster_stop(c);
    remove_tree(keys);
    free(keys);
}

/* A node whose keys_dir lacks the key its log was sealed with refuses to
 * start, saying which key, and changes nothing on disk. */
static void test_missing_key_stops_the_node(void **state)
{
    (void)state;
    char *keys = make_keys(), extra[600];
    snprintf(extra, sizeof extra, "snapshot_threshold = 64\nkeys_dir = \"%s\"\nat_rest_encryption = true", keys);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    write_marked(&c->nodes[p], 200); /* enough for a Raft snapshot on every node */
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) h_node_signal(c, i, SIGKILL);

    /* an empty keys_dir: the node stops before serving */
    char path[400];
    snprintf(path, sizeof path, "%s/key-1.tckey", keys);
    char moved[420];
    snprintf(moved, sizeof moved, "%s.away", path);
    assert_int_equal(rename(path, moved), 0);
    int st;
    char *out = h_run_tricache(&st, "--config", c->config, "--node", "1", (char *)NULL);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "holds no key file"));
    free(out);

    /* encryption off, but the node's Raft snapshot is sealed: it stops at
     * start and names the key it needs */
    char cfg[700];
    snprintf(cfg, sizeof cfg, "sed -i 's/^at_rest_encryption = true/at_rest_encryption = false/' '%s'", c->config);
    assert_int_equal(system(cfg), 0);
    out = h_run_tricache(&st, "--config", c->config, "--node", "1", (char *)NULL);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "key id 1"));
    free(out);
    assert_int_equal(rename(moved, path), 0);
    h_cluster_stop(c);
    remove_tree(keys);
    free(keys);
}

/* The complete backups under a file:// destination, newest last. */
static tc_backup_meta *list_backups(const char *url, size_t *n)
{
    tc_backup_conf conf = {0};
    snprintf(conf.url, sizeof conf.url, "%s", url);
    tc_backup_dest *d;
    char err[TC_BACKUP_ERRLEN];
    assert_int_equal(tc_backup_open(&d, &conf, err, sizeof err), 0);
    tc_backup_meta *m = NULL;
    int rc = tc_backup_list(d, &m, n, err, sizeof err);
    if (rc == TC_BACKUP_ENOTFOUND) *n = 0;
    else assert_int_equal(rc, 0);
    tc_backup_close(d);
    return m;
}

static void wait_bgsave_done(tnode *n)
{
    long long deadline = h_ms() + DEADLINE_MS;
    for (;;) {
        char *v = cli(n, "INFO", "persistence", NULL);
        int running = strstr(v, "rdb_bgsave_in_progress:1") != NULL;
        free(v);
        if (!running) return;
        assert_true(h_ms() < deadline);
        usleep(20000);
    }
}

/* BGSAVE writes a verified, encrypted backup to the destination; LASTSAVE
 * and INFO persistence follow; SAVE answers when its backup is complete;
 * a bad destination is refused with a clear error. */
static void test_bgsave_and_save(void **state)
{
    (void)state;
    char *keys = make_keys(), *dest = make_temp_dir(), extra[900], url[300];
    snprintf(url, sizeof url, "file://%s/b", dest);
    snprintf(extra, sizeof extra, "keys_dir = \"%s\"\n[backup]\ndestination = \"%s\"", keys, url);
    tnode *n = h_start(extra);
    char *v = cli(n, "DEBUG", "POPULATE", "5000");
    free(v);
    v = cli(n, "LASTSAVE", NULL, NULL);
    long long before = atoll(v);
    free(v);
    sleep(1); /* LASTSAVE has a resolution of one second */
    v = cli(n, "BGSAVE", NULL, NULL);
    assert_string_equal(v, "Background saving started");
    free(v);
    wait_bgsave_done(n);
    v = cli(n, "INFO", "persistence", NULL);
    assert_non_null(strstr(v, "rdb_last_bgsave_status:ok"));
    assert_non_null(strstr(v, "backup_last_keys:5000"));
    free(v);
    v = cli(n, "LASTSAVE", NULL, NULL);
    assert_true(atoll(v) > before);
    free(v);

    size_t count;
    tc_backup_meta *m = list_backups(url, &count);
    assert_int_equal(count, 1);
    assert_int_equal(m[0].keys, 5000);
    assert_int_equal(m[0].key_id, 1);
    char snap[600];
    snprintf(snap, sizeof snap, "%s/b/%s.tcsnap", dest, m[0].name);
    tc_snapshot_keydir kd;
    char err[512];
    assert_int_equal(tc_snapshot_keydir_load(&kd, keys, err, sizeof err), 0);
    tc_snapshot_reader_opts ro = {.keyring = tc_snapshot_keydir_lookup, .keyring_ud = &kd};
    tc_snapshot_info info;
    assert_int_equal(tc_snapshot_verify_file(snap, &ro, &info, NULL, err, sizeof err), 0);
    assert_true(info.encrypted);
    free(m);

    v = cli(n, "SAVE", NULL, NULL);
    assert_string_equal(v, "OK");
    free(v);
    m = list_backups(url, &count);
    assert_int_equal(count, 2);
    free(m);

    v = cli(n, "BGSAVE", "TO", "ftp://example.com/x");
    assert_non_null(strstr(v, "ERR backup destination"));
    free(v);
    v = cli(n, "BGSAVE", "NOW", NULL);
    assert_string_equal(v, "ERR syntax error");
    free(v);
    h_stop(n);
    remove_tree(dest);
    remove_tree(keys);
    free(dest);
    free(keys);
}

/* backup.interval on a three-node cluster under writes: the primary hands
 * each backup to a replica, and retention keeps the newest two. */
static void test_scheduled_backups_on_a_replica(void **state)
{
    (void)state;
    char *dest = make_temp_dir(), extra[600], url[300];
    snprintf(url, sizeof url, "file://%s", dest);
    snprintf(extra, sizeof extra, "[backup]\ndestination = \"%s\"\ninterval = \"1s\"\nretain = 2", url);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    char *term_start = h_info_field(c, p, "replication", "raft_term");
    int fd = h_connect(c->nodes[p].port);
    long long deadline = h_ms() + 30000;
    int saves = 0;
    char cmd[64];
    for (int i = 0; saves < 3; i++) {
        snprintf(cmd, sizeof cmd, "SET load:%d %d\r\n", i % 1000, i);
        h_sends(fd, cmd);
        free(h_reply(fd));
        if (i % 200 == 0) {
            saves = 0;
            for (int k = 0; k < 3; k++) {
                char *s = h_info_field(c, k, "persistence", "rdb_saves");
                saves += atoi(s);
                free(s);
            }
            assert_true(h_ms() < deadline);
        }
    }
    h_close(fd);
    /* Which node may take backups depends on who is primary: on a busy
     * machine leadership can move during the test, so the check that the
     * primary took none holds for the term the test started in. */
    char *term_now = h_info_field(c, p, "replication", "raft_term");
    int same_term = strcmp(term_now, term_start) == 0;
    free(term_now);
    free(term_start);
    if (same_term) {
        char *s = h_info_field(c, p, "persistence", "rdb_saves");
        assert_string_equal(s, "0"); /* the primary kept serving */
        free(s);
    } else {
        fprintf(stderr, "note: leadership moved during the test; not checking which node took the backups\n");
    }
    /* retention runs after each scheduled backup */
    deadline = h_ms() + DEADLINE_MS;
    size_t count;
    for (;;) {
        tc_backup_meta *m = list_backups(url, &count);
        int replica_took_all = 1;
        for (size_t i = 0; i < count; i++) replica_took_all &= m[i].node_id != p + 1;
        free(m);
        assert_true(replica_took_all || !same_term);
        if (count == 2) break;
        assert_true(h_ms() < deadline);
        usleep(50000);
    }
    h_cluster_stop(c);
    remove_tree(dest);
    free(dest);
}

/* TCRESTORE stages records on every node through the log and swaps them in
 * at COMMIT: before it nothing changes, after it every replica holds
 * exactly the restored keys; a COMMIT with the wrong count changes nothing. */
static void test_tcrestore_replaces_the_keyspace_everywhere(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    tnode *pn = &c->nodes[p];
    free(cli(pn, "SET", "old", "1"));
    char *v = cli(pn, "TCRESTORE", "BEGIN", "r1");
    assert_string_equal(v, "OK");
    free(v);
    v = h_cli(pn, "TCRESTORE", "LOAD", "r1", "a", "0", "1", "b", "0", "2", "gone", "1", "x", (char *)NULL);
    assert_string_equal(v, "3");
    free(v);
    v = cli(pn, "DBSIZE", NULL, NULL);
    assert_string_equal(v, "1"); /* staged, not live */
    free(v);
    v = cli(pn, "TCRESTORE", "COMMIT", "r1");
    assert_non_null(strstr(v, "wants an id and the number of records sent"));
    free(v);
    v = h_cli(pn, "TCRESTORE", "COMMIT", "r1", "4", (char *)NULL);
    assert_non_null(strstr(v, "staged 3 records but 4 were sent"));
    free(v);
    v = cli(pn, "GET", "old", NULL);
    assert_string_equal(v, "1");
    free(v);

    free(cli(pn, "TCRESTORE", "BEGIN", "r2"));
    free(h_cli(pn, "TCRESTORE", "LOAD", "r2", "a", "0", "1", "b", "0", "2", "gone", "1", "x", (char *)NULL));
    v = h_cli(pn, "TCRESTORE", "COMMIT", "r2", "3", (char *)NULL);
    assert_string_equal(v, "OK");
    free(v);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        v = cli(&c->nodes[i], "DBSIZE", NULL, NULL);
        assert_string_equal(v, "2"); /* a and b; "gone" had expired */
        free(v);
        v = cli(&c->nodes[i], "EXISTS", "old", NULL);
        assert_string_equal(v, "0");
        free(v);
    }
    h_cluster_stop(c);
}

int main(void)
{
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_rest_encryption_leaves_no_plaintext),
        cmocka_unit_test(test_key_rotation_with_rolling_restart),
        cmocka_unit_test(test_turn_encryption_on_for_a_running_cluster),
        cmocka_unit_test(test_missing_key_stops_the_node),
        cmocka_unit_test(test_bgsave_and_save),
        cmocka_unit_test(test_scheduled_backups_on_a_replica),
        cmocka_unit_test(test_tcrestore_replaces_the_keyspace_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
