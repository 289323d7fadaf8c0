/* A primary whose log no majority acknowledges (issue 17): one replica's
 * disk full and the other replica killed, or every node's disk full. No
 * request may hang: writes and linearizable reads are answered
 * -NOREPLICAS (or -MISCONF where the node's own disk is the cause) within
 * write_commit_timeout, reads follow read_consistency and
 * replica_max_staleness, and everything recovers by itself once space
 * returns, with nothing acknowledged lost. Each full disk is a 64 MB tmpfs
 * mounted as the node's data directory (the test runs as root) and filled
 * with a ballast file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
/* "every request answered within a bound": write_commit_timeout (2 s here)
 * plus ample room for a loaded machine */
#define ANSWER_BOUND_MS 15000
#define SETTINGS                                                                                             \
    "preferred_primary_zones = \"zone-a\"\nwrite_commit_timeout = \"2s\"\nsnapshot_bytes = \"1mb\"\n"

typedef struct stall_fixture {
    tcluster *c;
    char mnt[3][400]; /* the nodes' data directories; a tmpfs where mounted[i] */
    int mounted[3];
    char ballast[3][500];
} stall_fixture;

/* Node i's data directory on its own 64 MB tmpfs: room for the log
 * (libraft creates its segments 8 MB at a time) once the ballast goes. */
static int mount_small_disk(stall_fixture *f, int i)
{
    snprintf(f->mnt[i], sizeof f->mnt[i], "%s/data/node-%d", f->c->dir, i + 1);
    snprintf(f->ballast[i], sizeof f->ballast[i], "%s/ballast", f->mnt[i]);
    if (mkdir(f->mnt[i], 0700) != 0) return -1;
    if (mount("tmpfs", f->mnt[i], "tmpfs", 0, "size=64m") != 0) {
        print_message("cannot mount a tmpfs on %s: %s\n", f->mnt[i], strerror(errno));
        return -1;
    }
    f->mounted[i] = 1;
    return 0;
}

/* The cluster is created, not started: a failed start must still reach
 * the teardown that unmounts. */
static int setup(void **state, int first, int last)
{
    stall_fixture *f = calloc(1, sizeof *f);
    *state = f;
    f->c = h_cluster_create(3, 0, SETTINGS);
    char data[300];
    snprintf(data, sizeof data, "%s/data", f->c->dir);
    if (mkdir(data, 0700) != 0) return -1;
    for (int i = first; i <= last; i++)
        if (mount_small_disk(f, i) != 0) return -1;
    return 0;
}

static int setup_node2_small(void **state) { return setup(state, 1, 1); }
static int setup_all_small(void **state) { return setup(state, 0, 2); }

/* Also after a failed assertion: nodes stopped, tmpfs unmounted, files
 * removed. */
static int teardown(void **state)
{
    stall_fixture *f = *state;
    if (!f) return 0;
    if (f->c)
        for (int i = 0; i < f->c->n; i++) h_node_signal(f->c, i, SIGKILL);
    for (int i = 0; i < 3; i++)
        if (f->mounted[i] && umount2(f->mnt[i], MNT_DETACH) != 0)
            print_message("umount %s: %s\n", f->mnt[i], strerror(errno));
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
    }
    close(fd);
}

/* One inline command on node i over a new connection: its reply, which
 * must come within ANSWER_BOUND_MS. */
static char *timed(tcluster *c, int i, const char *line)
{
    int fd = h_connect(c->nodes[i].port);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s\r\n", line);
    long long t0 = h_ms();
    h_sends(fd, cmd);
    char *r = h_reply(fd);
    long long took = h_ms() - t0;
    h_close(fd);
    if (!r) fail_msg("%s on node %d: no answer within %lld ms", line, i + 1, took);
    if (took > ANSWER_BOUND_MS) fail_msg("%s on node %d took %lld ms (%s)", line, i + 1, took, r);
    return r;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int info_is(tcluster *c, int i, const char *field, const char *want)
{
    char *v = h_info_field(c, i, "replication", field);
    int same = strcmp(v, want) == 0;
    free(v);
    return same;
}

static void wait_info(tcluster *c, int i, const char *field, const char *want, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    while (!info_is(c, i, field, want)) {
        if (h_ms() > deadline) fail_msg("node %d: %s never became %s", i + 1, field, want);
        usleep(50 * 1000);
    }
}

#define MAX_ACKED 512
typedef struct acked {
    char keys[MAX_ACKED][32]; /* each holds its own name */
    int n;
} acked;

static void remember(acked *a, const char *key)
{
    assert_true(a->n < MAX_ACKED);
    snprintf(a->keys[a->n++], sizeof a->keys[0], "%s", key);
}

/* Big overwrites of a few keys: libraft writes into segments it
 * preallocated (8 MB each) before the disk filled, so a full disk stops it
 * only once those are used up; 64 KB values get there quickly, while the
 * data stays small (the log is compacted by snapshot_bytes once space
 * returns). Write k goes to key fill:<k % SLOTS>, its value "v<k>" padded. */
#define BIG 65536
#define SLOTS 8
#define MAX_FILLS 4096
enum { FILL_REFUSED, FILL_OK, FILL_UNKNOWN };
typedef struct fills {
    unsigned char outcome[MAX_FILLS];
    int n;
} fills;

static const char *big_value(int k)
{
    static char v[BIG + 1];
    memset(v, 'x', BIG);
    int len = snprintf(v, 32, "v%d", k);
    v[len] = 'x';
    v[BIG] = 0;
    return v;
}

/* Each fill key holds a write that was not refused and that no
 * acknowledged later write to it overwrote (an unknown outcome may have
 * been applied or not); nothing if no such write exists. */
static void check_fills(tcluster *c, int p, const fills *f)
{
    int fd = h_connect(c->nodes[p].port);
    for (int s = 0; s < SLOTS; s++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "GET fill:%d\r\n", s);
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        assert_non_null(r);
        int last_ok = -1, any = 0;
        for (int k = s; k < f->n; k += SLOTS) {
            if (f->outcome[k] == FILL_OK) last_ok = k;
            if (f->outcome[k] != FILL_REFUSED) any = 1;
        }
        int k = -1;
        if (strcmp(r, "$-1\r\n") == 0) {
            if (last_ok >= 0) fail_msg("fill:%d lost its acknowledged write v%d", s, last_ok);
        } else if (sscanf(r, "$65536\r\nv%d", &k) != 1 || k < 0 || k >= f->n || k % SLOTS != s) {
            fail_msg("fill:%d holds something never written: %.40s", s, r);
        } else if (f->outcome[k] == FILL_REFUSED || k < last_ok) {
            fail_msg("fill:%d holds v%d (%s), acknowledged last: v%d", s, k,
                     f->outcome[k] == FILL_REFUSED ? "refused" : "overwritten", last_ok);
        }
        (void)any;
        free(r);
    }
    h_close(fd);
}

/* SET key value over fd (RESP, any length); the reply, within the bound. */
static char *set_on(int fd, const char *key, const char *value)
{
    char head[128];
    int len = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(key), key,
                       strlen(value));
    long long t0 = h_ms();
    h_send(fd, head, (size_t)len);
    h_sends(fd, value);
    h_sends(fd, "\r\n");
    char *r = h_reply(fd);
    long long took = h_ms() - t0;
    if (!r) fail_msg("SET %s: no answer within %lld ms", key, took);
    if (took > ANSWER_BOUND_MS) fail_msg("SET %s took %lld ms (%s)", key, took, r);
    return r;
}

/* SET key key on whichever node is the primary until +OK (an election on
 * a loaded machine may intervene), within deadline_ms. */
static void set_acked(tcluster *c, acked *a, const char *key, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    char line[100];
    snprintf(line, sizeof line, "SET %s %s", key, key);
    for (;;) {
        int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        char *r = p >= 0 ? timed(c, p, line) : NULL;
        int ok = r && strcmp(r, "+OK\r\n") == 0;
        if (!ok && h_ms() > deadline) fail_msg("SET %s never acknowledged: %s", key, r ? r : "(no primary)");
        free(r);
        if (ok) {
            remember(a, key);
            return;
        }
        usleep(100 * 1000);
    }
}

/* Every acknowledged key, read on the primary (linearizable). */
static void check_acked(tcluster *c, const acked *a)
{
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    for (int k = 0; k < a->n; k++) {
        char cmd[64], want[64];
        snprintf(cmd, sizeof cmd, "GET %s\r\n", a->keys[k]);
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(a->keys[k]), a->keys[k]);
        if (!r || strcmp(r, want) != 0) fail_msg("acknowledged %s lost: %s", a->keys[k], r ? r : "(closed)");
        free(r);
    }
    h_close(fd);
}

static void wait_primary(tcluster *c, int want)
{
    long long deadline = h_ms() + 20000;
    while (h_cluster_primary(c, ELECTION_DEADLINE_MS) != want) {
        if (h_ms() > deadline) fail_msg("node %d never became the primary", want + 1);
        usleep(50 * 1000);
    }
}

/* ---- one replica's disk full, the other replica dead ---------------------- */

static void test_replica_full_and_one_dead(void **state)
{
    stall_fixture *f = *state;
    tcluster *c = f->c;
    h_nodes_start(c, 3);
    acked a = {0};
    char key[32];
    for (int k = 0; k < 50; k++) {
        snprintf(key, sizeof key, "before:%d", k);
        set_acked(c, &a, key, 20000);
    }
    wait_primary(c, 0); /* zone-a is preferred */
    free(h_converged_digest(c));

    /* node 2 cannot write, node 3 is gone: node 1 keeps its leadership
     * (node 2 answers its heartbeats) but nothing commits */
    fill_with_ballast(f->ballast[1]);
    h_node_signal(c, 2, SIGKILL);
    wait_info(c, 1, "raft_log_write_ok", "0", 10000);

    /* one client writing: the write in flight when the log stops is
     * answered once the stall is seen (unknown outcome)... */
    static fills fl;
    int other = 0;
    long long deadline = h_ms() + 60000;
    for (int k = 0;; k++) {
        if (h_ms() > deadline) fail_msg("no -NOREPLICAS within 60 s (%d writes)", k);
        assert_true(k < MAX_FILLS);
        snprintf(key, sizeof key, "fill:%d", k % SLOTS);
        int fd = h_connect(c->nodes[0].port);
        long long t0 = h_ms();
        char *r = set_on(fd, key, big_value(k));
        long long took = h_ms() - t0;
        h_close(fd);
        fl.n = k + 1;
        fl.outcome[k] = FILL_UNKNOWN;
        int done = 0;
        if (strcmp(r, "+OK\r\n") == 0) fl.outcome[k] = FILL_OK;
        else if (starts(r, "-NOREPLICAS Not enough good replicas to write; the write may or may not be applied. "
                           "No majority of nodes has acknowledged the log for "))
            done = 1;
        else if (starts(r, "-TRYAGAIN") || starts(r, "-READONLY")) other++; /* an election meanwhile */
        else fail_msg("unexpected reply to a write in flight: %s", r);
        free(r);
        if (done) {
            print_message("the write in flight was answered after %lld ms\n", took);
            break;
        }
    }
    print_message("%d writes before the stall (%d refused by an election)\n", fl.n - 1, other);
    /* ...then new writes are refused at once, and change nothing */
    int fd = h_connect(c->nodes[0].port);
    long long t0 = h_ms();
    char *r = set_on(fd, "fill:0", big_value(fl.n));
    h_close(fd);
    print_message("a new write refused in %lld ms: %s", h_ms() - t0, r);
    if (!starts(r, "-NOREPLICAS Not enough good replicas to write. No majority of nodes has acknowledged the log for "))
        fail_msg("a new write during the stall: %s", r);
    free(r);
    fl.outcome[fl.n++] = FILL_REFUSED;
    /* a transaction that writes is discarded whole, as Redis does */
    fd = h_connect(c->nodes[0].port);
    h_sends(fd, "MULTI\r\nSET fill:1 notvalue\r\nEXEC\r\n");
    const char *want[] = {"+OK\r\n", "+QUEUED\r\n",
                          "-EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write."};
    for (int i = 0; i < 3; i++) {
        r = h_reply(fd);
        if (!r || !starts(r, want[i]))
            fail_msg("MULTI/SET/EXEC during the stall, reply %d: %s", i + 1, r ? r : "(none)");
        free(r);
    }
    h_close(fd);
    /* a linearizable read cannot be confirmed either */
    r = timed(c, 0, "GET before:1");
    if (!starts(r, "-NOREPLICAS Not enough good replicas to answer a linearizable read. No majority of nodes"))
        fail_msg("a linearizable read during the stall: %s", r);
    free(r);
    assert_true(info_is(c, 0, "raft_commit_stalled", "1"));
    char *log = h_node_log(c, 0);
    assert_non_null(strstr(log, "commits stalled: No majority of nodes has acknowledged the log"));
    free(log);

    /* reads that allow staleness keep working: the primary with
     * read_consistency local, the full replica within its staleness bound
     * (refused past it, saying why) */
    r = timed(c, 0, "CONFIG SET read-consistency local");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = timed(c, 0, "GET before:1");
    assert_string_equal(r, "$8\r\nbefore:1\r\n");
    free(r);
    r = timed(c, 0, "CONFIG SET read-consistency linearizable");
    free(r);
    /* node 2 says why once it sees its log writes stuck; it never serves
     * a read past replica_max_staleness meanwhile */
    deadline = h_ms() + 20000;
    for (;;) {
        r = timed(c, 1, "GET before:1");
        int why = starts(r, "-TRYAGAIN this replica cannot write its log (");
        if (!why && !starts(r, "-TRYAGAIN this replica has not heard from the primary for "))
            fail_msg("the full replica answered a read past replica_max_staleness: %s", r);
        free(r);
        if (why) break;
        if (h_ms() > deadline) fail_msg("node 2 never said that it cannot write its log");
        usleep(100 * 1000);
    }
    r = timed(c, 1, "CONFIG SET replica-max-staleness 1h");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = timed(c, 1, "GET before:1");
    assert_string_equal(r, "$8\r\nbefore:1\r\n");
    free(r);

    /* space returns on node 2: the stuck entries commit, the stall clears
     * by itself, writes are acknowledged again */
    assert_int_equal(unlink(f->ballast[1]), 0);
    wait_info(c, 1, "raft_log_write_ok", "1", 20000);
    set_acked(c, &a, "after:0", 30000);
    wait_info(c, 0, "raft_commit_stalled", "0", 10000);
    log = h_node_log(c, 0);
    assert_non_null(strstr(log, "commits resumed"));
    free(log);
    /* the dead node back: everything converges, nothing acknowledged lost */
    h_node_restart(c, 2);
    for (int k = 1; k < 20; k++) {
        snprintf(key, sizeof key, "after:%d", k);
        set_acked(c, &a, key, 20000);
    }
    free(h_converged_digest(c));
    check_acked(c, &a);
    check_fills(c, h_cluster_primary(c, ELECTION_DEADLINE_MS), &fl);
}

/* ---- every node's disk full ------------------------------------------------ */

/* One round of a write and a read on every running node: each answered
 * within the bound, with a value or a clear error. Counts the -MISCONF
 * answers; remembers acknowledged writes. */
static int round_on_every_node(tcluster *c, acked *a, int round)
{
    int misconf = 0;
    for (int i = 0; i < c->n; i++) {
        char key[32], line[100];
        snprintf(key, sizeof key, "full:%d:%d", round, i);
        snprintf(line, sizeof line, "SET %s %s", key, key);
        char *r = timed(c, i, line);
        if (strcmp(r, "+OK\r\n") == 0) remember(a, key);
        else if (starts(r, "-MISCONF this node cannot write its log: ")) misconf++;
        else if (!starts(r, "-NOREPLICAS Not enough good replicas to write") && !starts(r, "-TRYAGAIN") &&
                 !starts(r, "-READONLY"))
            fail_msg("unexpected reply to a write on node %d: %s", i + 1, r);
        free(r);
        r = timed(c, i, "GET before:1");
        if (strcmp(r, "$8\r\nbefore:1\r\n") != 0 &&
            !starts(r, "-NOREPLICAS Not enough good replicas to answer a linearizable read") &&
            !starts(r, "-TRYAGAIN"))
            fail_msg("unexpected reply to a read on node %d: %s", i + 1, r);
        free(r);
    }
    return misconf;
}

static void config_set_all(tcluster *c, const char *name, const char *value)
{
    for (int i = 0; i < c->n; i++) {
        char *r = h_cli(&c->nodes[i], "CONFIG", "SET", name, value, (char *)NULL);
        assert_string_equal(r, "OK");
        free(r);
    }
}

static void test_every_disk_full(void **state)
{
    stall_fixture *f = *state;
    tcluster *c = f->c;
    h_nodes_start(c, 3);
    acked a = {0};
    char key[32];
    for (int k = 0; k < 50; k++) {
        snprintf(key, sizeof key, "before:%d", k);
        set_acked(c, &a, key, 20000);
    }
    wait_primary(c, 0);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) fill_with_ballast(f->ballast[i]);
    for (int i = 0; i < 3; i++) wait_info(c, i, "raft_log_write_ok", "0", 10000);

    /* clear errors from every node, never a hang: the primary names its
     * disk; leadership may move (a primary that cannot write steps aside)
     * but no node can write */
    int misconf = 0;
    long long until = h_ms() + 8000;
    for (int round = 0; h_ms() < until; round++) {
        misconf += round_on_every_node(c, &a, round);
        usleep(100 * 1000);
    }
    print_message("every disk full: %d -MISCONF answers\n", misconf);
    assert_true(misconf > 0);

    /* reads that allow it go on: local reads on whichever node is the
     * primary, replicas with a large enough replica_max_staleness */
    config_set_all(c, "read-consistency", "local");
    config_set_all(c, "replica-max-staleness", "1h");
    for (int i = 0; i < c->n; i++) {
        long long deadline = h_ms() + 10000;
        for (;;) {
            char *r = timed(c, i, "GET before:1");
            int ok = strcmp(r, "$8\r\nbefore:1\r\n") == 0;
            if (!ok && !starts(r, "-TRYAGAIN no primary is elected")) /* between two primaries */
                fail_msg("a stale-allowed read on node %d: %s", i + 1, r);
            free(r);
            if (ok) break;
            if (h_ms() > deadline) fail_msg("node %d never answered a stale-allowed read", i + 1);
            usleep(50 * 1000);
        }
    }
    config_set_all(c, "read-consistency", "linearizable");
    config_set_all(c, "replica-max-staleness", "1s");

    /* space returns everywhere: writes are acknowledged again without a
     * hand, every node converges, nothing acknowledged is lost */
    for (int i = 0; i < 3; i++) assert_int_equal(unlink(f->ballast[i]), 0);
    for (int i = 0; i < 3; i++) wait_info(c, i, "raft_log_write_ok", "1", 20000);
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof key, "after:%d", k);
        set_acked(c, &a, key, 30000);
    }
    free(h_converged_digest(c));
    check_acked(c, &a);
    for (int i = 0; i < 3; i++) assert_true(info_is(c, i, "raft_commit_stalled", "0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replica_full_and_one_dead, setup_node2_small, teardown),
        cmocka_unit_test_setup_teardown(test_every_disk_full, setup_all_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
