/* Disks and the log (issue 17): the Raft log bounded by bytes as well as
 * entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static long long info_ll(tcluster *c, int i, const char *section, const char *field)
{
    char *v = h_info_field(c, i, section, field);
    long long x = atoll(v);
    free(v);
    return x;
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
    for (int i = 0; i < writes; i += depth) {
        for (int k = 0; k < depth; k++) {
            int len = snprintf(cmd, sizeof cmd, "*3\r\n$3\r\nSET\r\n$8\r\nkey:%04d\r\n$%zu\r\n", (i + k) % 512,
                               sizeof value);
            h_send(fd, cmd, (size_t)len);
            h_send(fd, value, sizeof value);
            h_sends(fd, "\r\n");
        }
        for (int k = 0; k < depth; k++) {
            char *r = h_reply(fd);
            assert_non_null(r);
            assert_string_equal(r, "+OK\r\n");
            free(r);
        }
    }
    h_close(fd);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/data/node-%d/raft", c->dir, i + 1);
        long long disk = dir_bytes(dir), mem = info_ll(c, i, "memory", "raft_log_memory");
        long long forced = info_ll(c, i, "replication", "raft_snapshots_by_bytes");
        print_message("node %d: log directory %lld KB, raft_log_memory %lld KB, snapshots by bytes %lld\n", i + 1,
                      disk / 1024, mem / 1024, forced);
        assert_true(forced >= 1);
        assert_true(mem < 4 * MB);
        assert_true(disk < 40 * MB);
    }
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_bounded_by_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
