/* Disks and the log (issue 17): the Raft log bounded by bytes as well as
 * entries; a primary whose disk fills up says so, refuses writes with
 * -MISCONF, hands leadership over, and recovers by itself when space
 * returns. The full disk is a 20 MB tmpfs mounted as node 1's data
 * directory (the test runs as root) and filled with a ballast file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
#define MB (1024LL * 1024)

/* Bytes the files of dir take on its filesystem (du -s, one level: the
 * Raft directory holds only files). */
static long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    long long total = 0;
    struct dirent *e;
    char path[1200];
    struct stat st;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += (long long)st.st_blocks * 512;
    }
    closedir(d);
    return total;
}

/* Overwrites of a small key set: 64 MB of writes over 2 MB of data. With
 * snapshot_bytes = 1mb the log of every node stays a small multiple of
 * that (plus libraft's preallocated 8 MB segments); counting entries only
 * (65536) it would hold all 64 MB. */
static void test_log_bounded_by_bytes(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "snapshot_bytes = \"1mb\"");
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    static char value[4096];
    memset(value, 'v', sizeof value);
    char cmd[4200];
    const int writes = 16384, depth = 64;
    int retries = 0;
    for (int i = 0; i < writes; i += depth) {
        for (int k = 0; k < depth; k++) {
            int len = snprintf(cmd, sizeof cmd, "*3\r\n$3\r\nSET\r\n$8\r\nkey:%04d\r\n$%zu\r\n", (i + k) % 512,
                               sizeof value);
            h_send(fd, cmd, (size_t)len);
            h_send(fd, value, sizeof value);
            h_sends(fd, "\r\n");
        }
        int refused = 0;
        for (int k = 0; k < depth; k++) {
            char *r = h_reply(fd);
            assert_non_null(r);
            if (strcmp(r, "+OK\r\n") != 0) {
                /* a change of primary on a loaded machine: not what this
                 * test is about; write the round again on the new one */
                assert_true(r[0] == '-');
                refused = 1;
            }
            free(r);
        }
        if (refused) {
            assert_true(++retries < 20);
            h_close(fd);
            p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
            assert_true(p >= 0);
            fd = h_connect(c->nodes[p].port);
            i -= depth;
        }
    }
    h_close(fd);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/data/node-%d/raft", c->dir, i + 1);
        /* both memory figures from one INFO: the log moves between two
         * (an idle barrier, a snapshot's trim) */
        char *info = h_cli(&c->nodes[i], "INFO", "memory", (char *)NULL);
        const char *m = strstr(info, "raft_log_memory:"), *u = strstr(info, "mem_not_counted_for_evict:");
        assert_true(m && u);
        long long disk = dir_bytes(dir), mem = atoll(m + strlen("raft_log_memory:"));
        long long not_counted = atoll(u + strlen("mem_not_counted_for_evict:"));
        free(info);
        long long forced = h_info_ll(c, i, "replication", "raft_snapshots_by_bytes");
        print_message("node %d: log directory %lld KB, raft_log_memory %lld KB, snapshots by bytes %lld\n", i + 1,
                      disk / 1024, mem / 1024, forced);
        assert_true(forced >= 1);
        assert_true(mem < 4 * MB);
        /* Redis's name for what eviction does not weigh: the log and the
         * clients' buffers */
        assert_true(not_counted >= mem);
        assert_true(disk < 40 * MB);
    }
    h_cluster_stop(c);
}

static const char *ctl(void)
{
    const char *p = getenv("TRICACHECTL");
    if (!p) fail_msg("TRICACHECTL is not set (run the tests through ctest)");
    return p;
}

typedef struct disk_fixture {
    tcluster *c;
    char mnt[400];     /* node 1's data directory, a tmpfs while mounted */
    int mounted;
} disk_fixture;

/* Node 1 (zone-a, preferred) on its own 20 MB tmpfs, the others on disk. */
static int start_with_small_disk(void **state)
{
    disk_fixture *f = calloc(1, sizeof *f);
    *state = f;
    f->c = h_cluster_create(3, 0, "preferred_primary_zones = \"zone-a\"\nsnapshot_bytes = \"1mb\"");
    char data[300];
    snprintf(data, sizeof data, "%s/data", f->c->dir);
    snprintf(f->mnt, sizeof f->mnt, "%s/node-1", data);
    if (mkdir(data, 0700) != 0 || mkdir(f->mnt, 0700) != 0) return -1;
    if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=20m") != 0) {
        print_message("cannot mount a tmpfs on %s: %s\n", f->mnt, strerror(errno));
        return -1;
    }
    f->mounted = 1;
    return 0; /* the test starts the nodes: a failed start must still reach the teardown that unmounts */
}

/* Also after a failed assertion: nodes stopped, tmpfs unmounted, files
 * removed. */
static int stop_small_disk(void **state)
{
    disk_fixture *f = *state;
    if (!f) return 0;
    if (f->c)
        for (int i = 0; i < f->c->n; i++) h_node_signal(f->c, i, SIGKILL);
    if (f->mounted && umount2(f->mnt, MNT_DETACH) != 0) print_message("umount %s: %s\n", f->mnt, strerror(errno));
    h_cluster_stop(f->c);
    free(f);
    return 0;
}

/* Writes 1 MB blocks to path until the filesystem is full. */
static void fill_with_ballast(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[1 << 20];
    memset(block, 'b', sizeof block);
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0) {
            assert_int_equal(errno, ENOSPC);
            break;
        }
        if (n < (ssize_t)sizeof block) continue; /* the last partial block; the next write fails */
    }
    close(fd);
}

/* SET key value on node i; the reply, timed: no request may hang. */
static char *timed_set(tcluster *c, int i, const char *key, const char *value)
{
    int fd = h_connect(c->nodes[i].port);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "SET %s %s\r\n", key, value);
    long long t0 = h_ms();
    h_sends(fd, cmd);
    char *r = h_reply(fd);
    long long took = h_ms() - t0;
    h_close(fd);
    assert_non_null(r);
    if (took > 5000) fail_msg("SET on node %d took %lld ms (%s)", i + 1, took, r);
    return r;
}

#define MAX_ACKED 4096

/* SET on whichever node is the primary, again on the next one when an
 * election intervenes (a loaded machine), until +OK. */
static void set_on_primary(tcluster *c, const char *key, const char *value)
{
    long long deadline = h_ms() + 20000;
    for (;;) {
        int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        assert_true(p >= 0);
        char *r = timed_set(c, p, key, value);
        int ok = strcmp(r, "+OK\r\n") == 0;
        if (!ok && h_ms() > deadline) fail_msg("SET %s: %s", key, r);
        free(r);
        if (ok) return;
        usleep(50 * 1000);
    }
}

static void wait_node1_primary(tcluster *c)
{
    long long deadline = h_ms() + 20000;
    while (h_cluster_primary(c, ELECTION_DEADLINE_MS) != 0) {
        if (h_ms() > deadline) fail_msg("node 1 never became the primary");
        usleep(50 * 1000);
    }
}

static void test_primary_disk_full(void **state)
{
    disk_fixture *f = *state;
    tcluster *c = f->c;
    h_nodes_start(c, 3);
    static char acked[MAX_ACKED][32];
    int nacked = 0;
    char key[32];
    for (int k = 0; k < 100; k++) {
        snprintf(key, sizeof key, "before:%d", k);
        set_on_primary(c, key, key);
        snprintf(acked[nacked++], sizeof acked[0], "%s", key);
    }
    /* node 1 is the primary (its zone is preferred) when its disk fills */
    wait_node1_primary(c);
    long long deadline;
    char *ok = h_info_field(c, 0, "replication", "raft_log_write_ok");
    assert_string_equal(ok, "1");
    free(ok);
    /* libraft's log segments come from raft/segment_fill.c's posix_fallocate
     * (written full of zeros): the node counts the ones it prepared. */
    assert_true(h_info_ll(c, 0, "replication", "raft_log_segments_filled") >= 1);
    /* ... and the checksum of every batch it logged from raft/log_checksum.c
     * (libraft linked with its own made replaceable): it counts the bytes. */
    assert_true(h_info_ll(c, 0, "replication", "raft_log_checksummed_bytes") >= 1);
    /* ... and its AIO contexts (one from libraft's I/O probe at start-up at
     * least) are destroyed by raft/aio_release.c, off the Raft thread. */
    assert_true(h_info_ll(c, 0, "replication", "raft_log_aio_contexts_released") >= 1);
    assert_int_equal(h_info_ll(c, 0, "replication", "raft_log_aio_release_failures"), 0);
    /* ... and its segment write buffers come from raft/segment_buffers.c's
     * pool: the start-up writes already free and take some again. */
    assert_true(h_info_ll(c, 0, "replication", "raft_log_buffers_reused") >= 1);

    char ballast[500];
    snprintf(ballast, sizeof ballast, "%s/ballast", f->mnt);
    fill_with_ballast(ballast);

    /* Writes go on until leadership has moved: each answered within the
     * bound, +OK (then acknowledged), -MISCONF naming the OS error while
     * node 1 is still the primary, or a redirect once it is not. */
    int misconf = 0, moved = -1;
    deadline = h_ms() + 30000;
    for (int k = 0; moved < 0; k++) {
        if (h_ms() > deadline) fail_msg("leadership never left node 1 (misconf replies: %d)", misconf);
        int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        if (p > 0) {
            moved = p;
            break;
        }
        snprintf(key, sizeof key, "during:%d", k);
        char *r = timed_set(c, 0, key, key);
        if (strcmp(r, "+OK\r\n") == 0 && nacked < MAX_ACKED) snprintf(acked[nacked++], sizeof acked[0], "%s", key);
        else if (strncmp(r, "-MISCONF this node cannot write its log: No space left on device", 64) == 0) misconf++;
        else if (strncmp(r, "-READONLY", 9) != 0 && strncmp(r, "-TRYAGAIN", 9) != 0)
            fail_msg("unexpected reply from node 1 while its disk is full: %s", r);
        free(r);
        usleep(20 * 1000);
    }
    print_message("leadership moved to node %d; node 1 answered -MISCONF %d times\n", moved + 1, misconf);
    assert_true(misconf > 0);

    /* node 1 says why, in INFO and in tricachectl status */
    char *errors = h_info_field(c, 0, "replication", "raft_log_write_errors");
    char *last = h_info_field(c, 0, "replication", "raft_log_last_write_error");
    char *okf = h_info_field(c, 0, "replication", "raft_log_write_ok");
    char *freeb = h_info_field(c, 0, "replication", "raft_data_dir_free_bytes");
    print_message("node 1: errors %s, last error \"%s\", free %s\n", errors, last, freeb);
    assert_true(atoll(errors) > 0);
    assert_non_null(strstr(last, "No space left on device"));
    assert_string_equal(okf, "0");
    assert_true(atoll(freeb) < 1 * MB);
    free(errors), free(last), free(okf), free(freeb);
    int st;
    char *out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    print_message("%s", out);
    assert_non_null(strstr(out, "disk failing: No space left on device"));
    assert_int_not_equal(st, 0);
    free(out);

    /* writes continue on the new primary */
    for (int k = 0; k < 100; k++) {
        snprintf(key, sizeof key, "after:%d", k);
        set_on_primary(c, key, key);
        if (nacked < MAX_ACKED) snprintf(acked[nacked++], sizeof acked[0], "%s", key);
    }

    /* space returns: node 1 recovers by itself and catches up */
    assert_int_equal(unlink(ballast), 0);
    deadline = h_ms() + 20000;
    for (;;) {
        char *w = h_info_field(c, 0, "replication", "raft_log_write_ok");
        char *e = h_info_field(c, 0, "replication", "raft_log_write_errors");
        int healthy = strcmp(w, "1") == 0 && strcmp(e, "0") == 0;
        free(w), free(e);
        if (healthy) break;
        if (h_ms() > deadline) fail_msg("node 1 did not recover after the ballast was removed");
        usleep(50 * 1000);
    }
    out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    assert_null(strstr(out, "disk failing"));
    free(out);
    free(h_converged_digest(c)); /* node 1 holds what the others hold */

    /* nothing acknowledged is lost, on any node (local reads on replicas
     * may refuse while stale: ask the primary, then compare digests above) */
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    char cmd[64];
    for (int k = 0; k < nacked; k++) {
        snprintf(cmd, sizeof cmd, "GET %.31s\r\n", acked[k]);
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        char want[64];
        snprintf(want, sizeof want, "$%zu\r\n%.31s\r\n", strlen(acked[k]), acked[k]);
        if (!r || strcmp(r, want) != 0) fail_msg("acknowledged %s lost: %s", acked[k], r ? r : "(closed)");
        free(r);
    }
    h_close(fd);
    char *r = timed_set(c, p, "final", "1");
    assert_string_equal(r, "+OK\r\n");
    free(r);
}

/* ---- lost and damaged data directories ---------------------------------- */

/* Writes n keys to node i through one connection: pipelined (the router
 * batches them into few log entries), or one at a time (an entry each). */
static void write_keys(tcluster *c, int i, int n, const char *prefix, int pipelined)
{
    int fd = h_connect(c->nodes[i].port);
    char cmd[96];
    for (int k = 0, answered = 0; answered < n;) {
        if (k < n && (pipelined || k == answered)) {
            snprintf(cmd, sizeof cmd, "SET %s:%d %d\r\n", prefix, k, k);
            h_sends(fd, cmd);
            k++;
            continue;
        }
        char *r = h_reply(fd);
        if (!r || strcmp(r, "+OK\r\n") != 0) fail_msg("SET %d: %s", answered, r ? r : "(closed)");
        free(r);
        answered++;
    }
    h_close(fd);
}

static void wait_formed(tcluster *c)
{
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    for (int i = 0; i < c->n; i++) {
        for (;;) {
            char *v = h_info_field(c, i, "replication", "raft_cluster_formed");
            int formed = strcmp(v, "1") == 0;
            free(v);
            if (formed) break;
            if (h_ms() > deadline) fail_msg("node %d never recorded the cluster as formed", i + 1);
            usleep(20 * 1000);
        }
    }
}

/* Starts node i expecting it to refuse; its output. */
static char *start_refused(tcluster *c, int i)
{
    char id[16];
    snprintf(id, sizeof id, "%d", i + 1);
    int st;
    char *out = h_run_tricache(&st, "--config", c->config, "--node", id, (char *)NULL);
    if (st == 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 124)) fail_msg("node %d started:\n%s", i + 1, out);
    return out;
}

/* A founding node restarted on an empty data directory, in a whole-cluster
 * restart, is refused whether or not a primary is reachable: the peers
 * recorded that the cluster had formed with it. Its own record (the Raft
 * directory lost, the rest kept) refuses it without asking anyone. */
static void test_empty_founder_refused(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    write_keys(c, p, 100, "k", 1);
    free(h_converged_digest(c));
    wait_formed(c);
    for (int i = 0; i < 3; i++) h_node_signal(c, i, SIGKILL);

    /* only the Raft directory lost: the node's own record refuses it */
    char dir[400];
    int st;
    snprintf(dir, sizeof dir, "%s/data/node-3/raft", c->dir);
    free(h_run(&st, "rm", "-rf", dir, (char *)NULL));
    char *out = start_refused(c, 2);
    assert_non_null(strstr(out, "records that the cluster had formed"));
    assert_non_null(strstr(out, "members replace 3"));
    free(out);

    /* the whole directory lost; one peer up and no primary anywhere */
    snprintf(dir, sizeof dir, "%s/data/node-3", c->dir);
    free(h_run(&st, "rm", "-rf", dir, (char *)NULL));
    h_node_restart(c, 1);
    out = start_refused(c, 2);
    assert_non_null(strstr(out, "node 2 reports that the cluster has formed"));
    assert_non_null(strstr(out, "members replace 3"));
    free(out);

    /* both peers up with a primary again: still refused, and they serve */
    h_node_restart(c, 0);
    out = start_refused(c, 2);
    assert_non_null(strstr(out, "lost its data"));
    free(out);
    p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p == 0 || p == 1);
    char *n = h_cli(&c->nodes[p], "DBSIZE", (char *)NULL);
    assert_string_equal(n, "100");
    free(n);
    h_cluster_stop(c);
}

/* Flips one byte in the middle of a file. */
static void flip_byte(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    off_t at = st.st_size / 2;
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* The oldest (first = 1) or newest file of dir whose name starts with
 * prefix, not a snapshot's .meta (names sort by index). */
static void pick_file(const char *dir, const char *prefix, int first, char *out, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char best[256] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strstr(e->d_name, ".meta")) continue;
        int cmp = strcmp(e->d_name, best);
        if (!best[0] || (first ? cmp < 0 : cmp > 0)) snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    if (!best[0]) fail_msg("no %s* file in %s", prefix, dir);
    snprintf(out, len, "%s/%s", dir, best);
}

static void stop_cleanly(tcluster *c, int i)
{
    h_node_signal(c, i, SIGTERM); /* libraft closes its open segments */
    assert_true(h_node_wait_exit(c, i, 20000) >= 0);
}

/* Damages file, starts node i: refused, with the hint, the note in the
 * data directory and tricachectl status saying why it is down. */
static void check_refused(tcluster *c, int i, const char *file)
{
    flip_byte(file);
    char *out = start_refused(c, i);
    if (!strstr(out, "is damaged") || !strstr(out, "move the directory aside") || !strstr(out, "members replace"))
        fail_msg("no recovery hint for a damaged %s:\n%s", file, out);
    free(out);
    int st;
    out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    if (!strstr(out, "its last start was refused") || !strstr(out, "is damaged"))
        fail_msg("tricachectl status does not say why node %d is down:\n%s", i + 1, out);
    free(out);
}

/* A flipped bit in a closed segment that is not the last one (libraft
 * 0.22.1 takes a damaged last segment for a torn write: it moves it aside
 * as corrupt-* and the node catches up from the primary), and in the
 * snapshot a node restores at start. */
static void test_damaged_log_or_snapshot_refused(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "snapshot_threshold = 1024");
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3, q = (p + 2) % 3;
    char dir[400], file[700];

    /* two closed segments on replica r: a clean stop closes each */
    write_keys(c, p, 50, "a", 0);
    free(h_converged_digest(c));
    stop_cleanly(c, r);
    h_node_restart(c, r);
    write_keys(c, p, 50, "b", 0);
    free(h_converged_digest(c));
    stop_cleanly(c, r);
    snprintf(dir, sizeof dir, "%s/data/node-%d/raft", c->dir, r + 1);
    pick_file(dir, "0", 1, file, sizeof file);
    check_refused(c, r, file);

    /* a snapshot on replica q (more entries than snapshot_threshold) */
    write_keys(c, p, 1100, "c", 0);
    snprintf(dir, sizeof dir, "%s/data/node-%d/raft", c->dir, q + 1);
    long long deadline = h_ms() + 30000;
    for (;;) { /* the snapshot is taken in the background */
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        int found = 0;
        while ((e = readdir(d))) found |= strstr(e->d_name, ".meta") != NULL;
        closedir(d);
        if (found) break;
        if (h_ms() > deadline) fail_msg("node %d took no snapshot", q + 1);
        usleep(50 * 1000);
    }
    stop_cleanly(c, q);
    pick_file(dir, "snapshot-", 0, file, sizeof file);
    check_refused(c, q, file);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_bounded_by_bytes),
        cmocka_unit_test_setup_teardown(test_primary_disk_full, start_with_small_disk, stop_small_disk),
        cmocka_unit_test(test_empty_founder_refused),
        cmocka_unit_test(test_damaged_log_or_snapshot_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
