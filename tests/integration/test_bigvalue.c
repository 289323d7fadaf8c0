/* Big values on three real nodes (issue 18): a SET of 100 MB of random
 * bytes is replicated with the default timeouts without a change of term
 * (its log entry travels as pieces, raft/log_pieces.h), every node ends
 * with the same digest and returns the same bytes, and other clients are
 * answered meanwhile; a value over replicated_write_max_bytes is refused
 * with the clear error and written nowhere; big arguments of other
 * commands (APPEND, HSET, a transaction) go the same way; a primary killed
 * in the middle of a big write leaves no partial value anywhere and the
 * cluster converges.
 *
 * TC_BIGVALUE_MB="100" (the default) sets the sizes of the first test, and
 * TC_BV_EXTRA adds settings to the nodes' cluster.toml: sizes over the
 * default limit (128 MB) need TC_BV_EXTRA='replicated_write_max_bytes =
 * "512mb"' (README "Big string values" says what 500 MB showed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The loose bound the issue asks for: every other client's reply, on the
 * primary and on a replica, while a big value is written and read. Loose:
 * every node stops for its apply of a big SET (an overwritten value is
 * freed; the new one is already in its key's block, raft/fsm.c
 * plan_big_set), and a linearizable read on the primary waits for
 * a log write, which queues behind the snapshots the three nodes take of
 * the value on the one disk they share (0.45 s seen at 100 MB; at 500 MB,
 * which needs a raised limit, up to 5 s). A node that stops answering
 * shows as a failed read, not as a slow one. */
#define OTHER_CLIENT_BOUND_MS 5000
/* Writing 500 MB to three logs on two shared cores takes tens of seconds
 * under load; the bound only catches a write that never ends. */
#define BIG_REPLY_DEADLINE_MS 240000

static int start3(void **state)
{
    *state = h_cluster_start(3, getenv("TC_BV_EXTRA"));
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

/* Random bytes (xorshift64*, seeded): cheap to make by the hundred MB. */
static char *random_bytes(size_t len, uint64_t seed)
{
    char *p = malloc(len);
    assert_non_null(p);
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1DULL;
        memcpy(p + i, &v, len - i < 8 ? len - i : 8);
    }
    return p;
}

/* Sends one command whose last argument is big (the others are short). */
static void send_with_big_arg(int fd, const char *const *args, int nargs, const char *big, size_t big_len)
{
    char head[512];
    int n = snprintf(head, sizeof head, "*%d\r\n", nargs + 1);
    for (int i = 0; i < nargs; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "$%zu\r\n%s\r\n", strlen(args[i]), args[i]);
    n += snprintf(head + n, sizeof head - (size_t)n, "$%zu\r\n", big_len);
    h_send(fd, head, (size_t)n);
    h_send(fd, big, big_len);
    h_send(fd, "\r\n", 2);
}

/* The next reply, waiting up to BIG_REPLY_DEADLINE_MS for its first byte
 * (the harness's own deadline then covers reading it). */
static char *slow_reply(int fd)
{
    long long deadline = h_ms() + BIG_REPLY_DEADLINE_MS;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r > 0) return h_reply(fd);
        if (r < 0 && errno != EINTR) fail_msg("poll: %s", strerror(errno));
        if (h_ms() > deadline) fail_msg("no reply within %d ms", BIG_REPLY_DEADLINE_MS);
    }
}

/* GET key on node i returns exactly value. */
static void assert_get_equals(tcluster *c, int i, const char *key, const char *value, size_t len)
{
    int fd = h_connect(c->nodes[i].port);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "GET %s\r\n", key);
    /* a replica busy with the big apply or the snapshot after it may
     * refuse reads for a while (replica_max_staleness): clients retry */
    long long deadline = h_ms() + BIG_REPLY_DEADLINE_MS;
    char *r;
    for (;;) {
        h_sends(fd, cmd);
        r = slow_reply(fd);
        assert_non_null(r);
        if (strncmp(r, "-TRYAGAIN", 9) != 0 || h_ms() > deadline) break;
        free(r);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char head[32];
    int hn = snprintf(head, sizeof head, "$%zu\r\n", len);
    if (strncmp(r, head, (size_t)hn) != 0) fail_msg("node %d: GET %s answered %.60s", i + 1, key, r);
    assert_memory_equal(r + hn, value, len);
    assert_memory_equal(r + hn + len, "\r\n", 2);
    free(r);
    h_close(fd);
}

static void dump_logs(tcluster *c)
{
    for (int i = 0; i < c->n; i++) {
        char *log = h_node_log(c, i);
        size_t len = strlen(log);
        print_message("---- node %d log (tail) ----\n%s\n", i + 1, len > 6000 ? log + len - 6000 : log);
        free(log);
    }
}

/* Polls every node until key holds len bytes: the write was answered at a
 * majority, and the last node may still be receiving its pieces. */
static void wait_strlen_everywhere(tcluster *c, const char *key, size_t len)
{
    char want[32];
    snprintf(want, sizeof want, "%zu", len);
    for (int i = 0; i < c->n; i++) {
        if (!c->nodes[i].pid) continue;
        long long deadline = h_ms() + BIG_REPLY_DEADLINE_MS;
        for (;;) {
            char *got = h_cli(&c->nodes[i], "STRLEN", key, (char *)NULL);
            int ok = strcmp(got, want) == 0;
            free(got);
            if (ok) break;
            if (h_ms() > deadline) {
                dump_logs(c);
                fail_msg("node %d never held the %zu bytes of %s", i + 1, len, key);
            }
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* A child that GETs a small key on one node in a loop and reports the
 * slowest answer (µs) when told to stop. */
typedef struct probe {
    pid_t pid;
    int stop_fd, result_fd;
} probe;

static probe probe_start(int port)
{
    int stop[2], result[2];
    assert_int_equal(pipe(stop), 0);
    assert_int_equal(pipe(result), 0);
    probe pr = {fork(), stop[1], result[0]};
    assert_true(pr.pid >= 0);
    if (pr.pid == 0) {
        close(stop[1]);
        close(result[0]);
        /* plain sockets: a harness failure here would run the remaining
         * tests in this child */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) _exit(2);
        long long worst = 0;
        struct pollfd pf = {.fd = stop[0], .events = POLLIN};
        while (poll(&pf, 1, 5) == 0) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            if (write(fd, "GET probe\r\n", 11) != 11) _exit(3);
            /* one reply: "$5\r\nsmall\r\n", or an error line (-TRYAGAIN) */
            char got[256];
            size_t n = 0;
            for (;;) {
                ssize_t k = read(fd, got + n, sizeof got - 1 - n);
                if (k <= 0) _exit(4);
                n += (size_t)k;
                got[n] = 0;
                if (got[0] == '$' ? n >= 11 : strstr(got, "\r\n") != NULL) break;
                if (n == sizeof got - 1) _exit(5);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            long long us = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
            if (us > worst) worst = us;
        }
        dprintf(result[1], "%lld\n", worst);
        _exit(0);
    }
    close(stop[0]);
    close(result[1]);
    return pr;
}

static long long probe_stop(probe *pr)
{
    /* a byte, not EOF: a probe forked later holds this pipe's write end too */
    assert_int_equal(write(pr->stop_fd, "x", 1), 1);
    close(pr->stop_fd);
    char buf[32] = "";
    ssize_t n = read(pr->result_fd, buf, sizeof buf - 1);
    close(pr->result_fd);
    int status;
    assert_int_equal(waitpid(pr->pid, &status, 0), pr->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(n > 0);
    return atoll(buf);
}

/* Every node still in the term it had before. */
static void assert_terms(tcluster *c, char **terms)
{
    for (int i = 0; i < c->n; i++) {
        char *now = h_info_field(c, i, "replication", "raft_term");
        if (strcmp(now, terms[i]) != 0) {
            dump_logs(c);
            fail_msg("node %d moved from term %s to %s: an election happened", i + 1, terms[i], now);
        }
        free(now);
    }
}

static void test_big_values_keep_the_primary(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int r = (p + 1) % c->n; /* a replica */
    free(h_cli(&c->nodes[p], "SET", "probe", "small", (char *)NULL));
    free(h_converged_digest(c));
    char *terms[3];
    for (int i = 0; i < c->n; i++) terms[i] = h_info_field(c, i, "replication", "raft_term");
    const char *sizes = getenv("TC_BIGVALUE_MB");
    if (!sizes || !*sizes) sizes = "100";
    char list[128];
    snprintf(list, sizeof list, "%s", sizes);
    long long applied_before = h_info_ll(c, r, "replication", "raft_big_entries_applied");
    int rounds = 0;
    for (char *save = NULL, *tok = strtok_r(list, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        size_t mb = (size_t)atoll(tok);
        assert_true(mb > 0 && mb <= 512);
        size_t len = mb << 20;
        char key[32];
        snprintf(key, sizeof key, "big%zu", mb);
        char *value = random_bytes(len, 0x9E3779B97F4A7C15ULL * mb);

        probe on_primary = probe_start(c->nodes[p].port), on_replica = probe_start(c->nodes[r].port);
        int fd = h_connect(c->nodes[p].port);
        long long t0 = h_ms();
        const char *set[] = {"SET", key};
        send_with_big_arg(fd, set, 2, value, len);
        char *ok = slow_reply(fd);
        long long t_set = h_ms() - t0;
        if (strcmp(ok, "+OK\r\n") != 0) {
            dump_logs(c);
            fail_msg("SET of %zu MB answered %s", mb, ok);
        }
        free(ok);
        h_close(fd);
        /* read back where the write went, then on each replica once every
         * node applied it (the write was answered at a majority) */
        t0 = h_ms();
        assert_get_equals(c, p, key, value, len);
        long long t_get = h_ms() - t0;
        wait_strlen_everywhere(c, key, len);
        char *d = h_converged_digest(c);
        free(d);
        for (int i = 0; i < c->n; i++)
            if (i != p) assert_get_equals(c, i, key, value, len);
        long long worst_p = probe_stop(&on_primary), worst_r = probe_stop(&on_replica);
        assert_terms(c, terms);
        /* the longest each node's Raft loop was held since it started:
         * a follower held past the election timeout is how an election
         * would come (printed, not asserted: a diagnosis for a failure) */
        print_message("BIGVALUE %zu MB: SET %lld ms, GET %lld ms, slowest other GET: primary %lld ms, replica %lld "
                      "ms; RSS of the nodes: %lld %lld %lld MB; Raft loop held at most %lld %lld %lld ms; snapshot "
                      "images discarded %lld %lld %lld\n",
                      mb, t_set, t_get, worst_p / 1000, worst_r / 1000,
                      h_info_ll(c, 0, "memory", "used_memory_rss") >> 20, h_info_ll(c, 1, "memory", "used_memory_rss") >> 20,
                      h_info_ll(c, 2, "memory", "used_memory_rss") >> 20,
                      h_info_ll(c, 0, "replication", "raft_thread_loop_delay_max_ms"),
                      h_info_ll(c, 1, "replication", "raft_thread_loop_delay_max_ms"),
                      h_info_ll(c, 2, "replication", "raft_thread_loop_delay_max_ms"),
                      h_info_ll(c, 0, "replication", "raft_snapshot_images_discarded"),
                      h_info_ll(c, 1, "replication", "raft_snapshot_images_discarded"),
                      h_info_ll(c, 2, "replication", "raft_snapshot_images_discarded"));
        if (worst_p / 1000 >= OTHER_CLIENT_BOUND_MS || worst_r / 1000 >= OTHER_CLIENT_BOUND_MS)
            fail_msg("%zu MB: another client waited %lld ms on the primary, %lld ms on a replica (bound %d ms)", mb,
                     worst_p / 1000, worst_r / 1000, OTHER_CLIENT_BOUND_MS);
        free(value);
        /* the next size writes into the memory this one leaves */
        free(h_cli(&c->nodes[p], "DEL", key, (char *)NULL));
        rounds++;
    }
    /* the values really went through the log as pieces, on every node */
    assert_int_equal(h_info_ll(c, r, "replication", "raft_big_entries_applied") - applied_before, rounds);
    /* ... and each value was put together from its pieces straight into
     * its key's block, on every node (raft/fsm.c plan_big_set): no copy */
    for (int i = 0; i < 3; i++) assert_int_equal(h_info_ll(c, i, "memory", "mem_big_values_in_place"), rounds);
    /* ... and their buffers (the reassembled entry, the stored value) were
     * advised into huge pages by common/big_alloc.c on every node */
    for (int i = 0; i < 3; i++) assert_true(h_info_ll(c, i, "memory", "mem_huge_page_advised_bytes") >= (64 << 20));
    /* ... and on the primary the query's buffer, freed once the write was
     * logged, held the pieces put back together, and the log entry's the
     * stored value (common/big_keep.c, big_buffer_keep) */
    assert_true(h_info_ll(c, p, "memory", "mem_big_buffers_reused") >= 2);
    /* ... and the log segments prepared while their pieces streamed in were
     * only reserved, not written full of zeros first (raft/segment_fill.c) */
    for (int i = 0; i < 3; i++) assert_true(h_info_ll(c, i, "replication", "raft_log_segments_unfilled") >= 1);
    /* One more than the limit (SET k v counts 3 + |k| + |v|): refused at
     * the door with the clear error, nothing written, the connection goes
     * on (test_write_limit.c covers every kind of write at a small limit). */
    long long limit = 0;
    char *got = h_cli(&c->nodes[p], "CONFIG", "GET", "replicated-write-max-bytes", (char *)NULL);
    const char *nl = strrchr(got, '\n');
    limit = atoll(nl ? nl + 1 : got);
    free(got);
    assert_true(limit > 0);
    if (limit <= (512LL << 20) - 5) {
        size_t len = (size_t)limit - 4; /* "SET" + "over" + len = limit + 3 */
        char *value = random_bytes(len, 5);
        int fd = h_connect(c->nodes[p].port);
        const char *set[] = {"SET", "over"};
        send_with_big_arg(fd, set, 2, value, len);
        char *rep = slow_reply(fd);
        char want[128];
        snprintf(want, sizeof want, "-ERR value too large to replicate: %lld bytes, limit %lld\r\n", limit + 3, limit);
        assert_string_equal(rep, want);
        free(rep);
        h_sends(fd, "PING\r\n");
        rep = h_reply(fd);
        assert_string_equal(rep, "+PONG\r\n");
        free(rep);
        h_close(fd);
        free(value);
        free(h_converged_digest(c));
        for (int i = 0; i < c->n; i++) {
            char *e = h_cli(&c->nodes[i], "EXISTS", "over", (char *)NULL);
            assert_string_equal(e, "0");
            free(e);
        }
    }
    /* The pieces the snapshot after the last value kept in the log are let
     * go on every node (raft/log_budget.c, RUN_KEEP_MS: 10 s after that
     * snapshot). Before, an idle cluster kept them in memory until
     * snapshot_bytes more had been written. */
    long long deadline = h_ms() + 30000;
    for (int i = 0; i < c->n; i++) {
        for (;;) {
            long long kept = h_info_ll(c, i, "replication", "raft_big_runs_kept");
            long long released = h_info_ll(c, i, "replication", "raft_big_runs_released");
            long long log_mem = h_info_ll(c, i, "replication", "raft_log_memory");
            if (!kept && released >= 1 && log_mem < (32LL << 20)) break;
            if (h_ms() > deadline)
                fail_msg("node %d still holds the big run in its log: kept %lld, released %lld, raft_log_memory %lld",
                         i + 1, kept, released, log_mem);
            usleep(100000);
        }
    }
    for (int i = 0; i < c->n; i++) free(terms[i]);
}

/* Big arguments of other commands take the same path: an APPEND that makes
 * a value big, a hash field, a transaction of two big SETs. */
static void test_big_arguments_of_other_commands(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    char *terms[3];
    for (int i = 0; i < c->n; i++) terms[i] = h_info_field(c, i, "replication", "raft_term");
    size_t len = 24u << 20;
    char *a = random_bytes(len, 11), *b = random_bytes(len, 12);
    int fd = h_connect(c->nodes[p].port);
    free(h_cli(&c->nodes[p], "SET", "grow", "head:", (char *)NULL));
    const char *append[] = {"APPEND", "grow"};
    send_with_big_arg(fd, append, 2, a, len);
    char *rep = slow_reply(fd);
    char want[64];
    snprintf(want, sizeof want, ":%zu\r\n", len + 5);
    assert_string_equal(rep, want);
    free(rep);
    const char *hset[] = {"HSET", "h", "f"};
    send_with_big_arg(fd, hset, 3, b, len);
    rep = slow_reply(fd);
    assert_string_equal(rep, ":1\r\n");
    free(rep);
    h_sends(fd, "MULTI\r\n");
    free(h_reply(fd));
    const char *set1[] = {"SET", "m1"}, *set2[] = {"SET", "m2"};
    send_with_big_arg(fd, set1, 2, a, len);
    free(h_reply(fd));
    send_with_big_arg(fd, set2, 2, b, len);
    free(h_reply(fd));
    h_sends(fd, "EXEC\r\n");
    rep = slow_reply(fd);
    assert_string_equal(rep, "*2\r\n+OK\r\n+OK\r\n");
    free(rep);
    h_close(fd);
    wait_strlen_everywhere(c, "m2", len);
    free(h_converged_digest(c));
    for (int i = 0; i < c->n; i++) {
        assert_get_equals(c, i, "m1", a, len);
        assert_get_equals(c, i, "m2", b, len);
        char *l = h_cli(&c->nodes[i], "STRLEN", "grow", (char *)NULL);
        snprintf(want, sizeof want, "%zu", len + 5);
        assert_string_equal(l, want);
        free(l);
    }
    assert_terms(c, terms);
    for (int i = 0; i < c->n; i++) free(terms[i]);
    free(a);
    free(b);
}

/* kill -9 of the primary while a big SET's pieces stream: the value is
 * nowhere (or, had its last piece made it into the log, whole everywhere),
 * the cluster elects a primary and converges, the next big write works,
 * and the killed node rejoins with the same digest. */
static void test_primary_killed_mid_big_write(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int r = (p + 1) % c->n;
    free(h_converged_digest(c));
    size_t len = 120u << 20; /* under the default limit (128 MB) */
    char *value = random_bytes(len, 77);
    long long commit0 = h_info_ll(c, r, "replication", "raft_commit_index");
    int fd = h_connect(c->nodes[p].port);
    const char *set[] = {"SET", "doomed"};
    send_with_big_arg(fd, set, 2, value, len);
    /* some pieces committed on the replica, the run not finished */
    long long deadline = h_ms() + 60000;
    while (h_info_ll(c, r, "replication", "raft_commit_index") < commit0 + 20) {
        if (h_ms() > deadline) fail_msg("the big write's pieces never reached the replica");
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long long killed_at_commit = h_info_ll(c, r, "replication", "raft_commit_index");
    h_node_signal(c, p, SIGKILL);
    h_close(fd);
    int np = h_cluster_primary(c, 20000);
    assert_true(np >= 0 && np != p);
    /* a command entry after the run: every node drops what it holds of it */
    free(h_cli(&c->nodes[np], "SET", "after", "1", (char *)NULL));
    char *d = h_converged_digest(c);
    int whole = 0;
    for (int i = 0; i < c->n; i++) {
        if (i == p) continue;
        char *e = h_cli(&c->nodes[i], "STRLEN", "doomed", (char *)NULL);
        long long l = atoll(e);
        free(e);
        /* nothing, or the whole value: never a part of it */
        if (l != 0 && (size_t)l != len) fail_msg("node %d holds %lld bytes of a %zu-byte value", i + 1, l, len);
        if (l) whole = 1;
    }
    if (whole) {
        for (int i = 0; i < c->n; i++)
            if (i != p) assert_get_equals(c, i, "doomed", value, len);
    } else {
        long long dropped = 0;
        for (int i = 0; i < c->n; i++)
            if (i != p) dropped += h_info_ll(c, i, "replication", "raft_big_entries_dropped");
        print_message("BIGVALUE kill: primary killed at replica commit index %lld (start %lld); value dropped by "
                      "%lld node(s)\n",
                      killed_at_commit, commit0, dropped);
    }
    long long capped = 0;
    for (int i = 0; i < c->n; i++)
        if (i != p) capped += h_info_ll(c, i, "replication", "raft_appends_capped");
    print_message("BIGVALUE kill: AppendEntries capped at the new primary's catch-up: %lld\n", capped);
    /* the new primary's own big write goes through */
    size_t len2 = 40u << 20;
    char *v2 = random_bytes(len2, 78);
    fd = h_connect(c->nodes[np].port);
    const char *set2[] = {"SET", "after-failover"};
    send_with_big_arg(fd, set2, 2, v2, len2);
    char *ok = slow_reply(fd);
    assert_string_equal(ok, "+OK\r\n");
    free(ok);
    h_close(fd);
    /* the killed node comes back and catches up to the same state */
    h_node_restart(c, p);
    free(d);
    wait_strlen_everywhere(c, "after-failover", len2);
    d = h_converged_digest(c);
    free(d);
    assert_get_equals(c, p, "after-failover", v2, len2);
    free(v2);
    free(value);
}

/* A replica that missed a whole big run catches it up from a new primary
 * that has only it for a majority: the primary killed after the write, the
 * replica stopped (SIGSTOP) while the run went in. libraft puts every entry
 * the replica lacks (up to 256, here 120 MB of pieces) into one
 * AppendEntries; the replica took that in one pass of its Raft loop that
 * outlasted an election timeout, and the new primary, answered by nobody,
 * stepped down (CI: the next write after a failover in the middle of a
 * big write got -TRYAGAIN). Capped messages (raft/peer_sends.c) keep it
 * the primary: it is elected at the old term + 1 (pre-vote: the stale
 * replica never raises the term) and still in that term once the replica
 * holds the value. */
static void test_replica_catching_up_a_big_run_keeps_the_new_primary(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int a = (p + 1) % c->n, b = (p + 2) % c->n;
    free(h_converged_digest(c));
    long long term = h_info_ll(c, p, "replication", "raft_term");
    size_t len = 120u << 20;
    char *value = random_bytes(len, 79);
    h_node_signal(c, b, SIGSTOP);
    int fd = h_connect(c->nodes[p].port);
    const char *set[] = {"SET", "caught-up"};
    send_with_big_arg(fd, set, 2, value, len);
    char *ok = slow_reply(fd);
    h_close(fd);
    if (strcmp(ok, "+OK\r\n") != 0) {
        h_node_signal(c, b, SIGCONT);
        fail_msg("the big SET with one replica stopped answered %.80s", ok);
    }
    free(ok);
    /* the value is on p and a only; b has none of its pieces */
    h_node_signal(c, p, SIGKILL);
    h_node_signal(c, b, SIGCONT);
    long long resumed = h_ms();
    int np = h_cluster_primary(c, 60000);
    if (np != a) {
        dump_logs(c);
        fail_msg("node %d, which held the whole run, did not become the primary (primary: %d)", a + 1, np + 1);
    }
    wait_strlen_everywhere(c, "caught-up", len);
    long long caught_ms = h_ms() - resumed;
    long long now = h_info_ll(c, a, "replication", "raft_term");
    if (now != term + 1) {
        dump_logs(c);
        fail_msg("the new primary is in term %lld, elected in %lld: it lost its leadership while node %d caught up",
                 now, term + 1, b + 1);
    }
    print_message("BIGVALUE catch-up: node %d took 120 MB from the new primary in %lld ms (AppendEntries "
                  "capped: %lld); term %lld -> %lld\n",
                  b + 1, caught_ms, h_info_ll(c, a, "replication", "raft_appends_capped"), term, now);
    assert_get_equals(c, b, "caught-up", value, len);
    /* the old primary comes back to the same state */
    h_node_restart(c, p);
    wait_strlen_everywhere(c, "caught-up", len);
    free(h_converged_digest(c));
    free(value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_values_keep_the_primary, start3, stop3),
        cmocka_unit_test_setup_teardown(test_big_arguments_of_other_commands, start3, stop3),
        cmocka_unit_test_setup_teardown(test_primary_killed_mid_big_write, start3, stop3),
        cmocka_unit_test_setup_teardown(test_replica_catching_up_a_big_run_keeps_the_new_primary, start3, stop3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
