/* The door for big writes (issue 18): on three nodes with
 * replicated_write_max_bytes set to 1mb, a write at the limit commits with no change
 * of Raft term; one byte more - a command, a MULTI/EXEC, a script's
 * effects, a SCRIPT LOAD or FUNCTION LOAD body - is refused with
 * "-ERR value too large to replicate: N bytes, limit M", nothing is written
 * on any node and the connection goes on; many clients whose values add up
 * past the limit are all written; and a value far larger than the limit,
 * built by APPENDs, reads back whole while other clients are answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT (1u << 20) /* replicated_write_max_bytes in this test's cluster.toml */
#define PRIMARY_DEADLINE_MS 10000

static tcluster *g_cluster;
static int g_primary;

/* Sends one command, arguments with explicit lengths. */
static void send_cmd(int fd, size_t argc, const char *const *argv, const size_t *lens)
{
    char head[64];
    h_send(fd, head, (size_t)snprintf(head, sizeof head, "*%zu\r\n", argc));
    for (size_t i = 0; i < argc; i++) {
        h_send(fd, head, (size_t)snprintf(head, sizeof head, "$%zu\r\n", lens[i]));
        h_send(fd, argv[i], lens[i]);
        h_send(fd, "\r\n", 2);
    }
}

/* One command and its reply (malloc'd). */
static char *call(int fd, size_t argc, const char *const *argv, const size_t *lens)
{
    send_cmd(fd, argc, argv, lens);
    char *r = h_reply(fd);
    assert_non_null(r);
    return r;
}

/* A command of plain strings and its reply (malloc'd). */
static char *callv(int fd, const char *arg0, ...)
{
    const char *argv[16];
    size_t lens[16], n = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && n < 16; a = va_arg(ap, const char *)) {
        argv[n] = a;
        lens[n++] = strlen(a);
    }
    va_end(ap);
    return call(fd, n, argv, lens);
}

static void expect(int fd, const char *want, const char *arg0, ...)
{
    const char *argv[16];
    size_t lens[16], n = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && n < 16; a = va_arg(ap, const char *)) {
        argv[n] = a;
        lens[n++] = strlen(a);
    }
    va_end(ap);
    char *r = call(fd, n, argv, lens);
    if (strcmp(r, want) != 0) fail_msg("%s: got %.200s, want %s", arg0, r, want);
    free(r);
}

/* A value of len bytes in a pattern that shows a lost or moved piece. */
static char *pattern(size_t len, unsigned salt)
{
    char *v = malloc(len ? len : 1);
    assert_non_null(v);
    for (size_t i = 0; i < len; i++) v[i] = (char)('a' + (i / 7 + salt) % 26);
    return v;
}

static long long term_of(int i)
{
    char *t = h_info_field(g_cluster, i, "replication", "raft_term");
    long long v = atoll(t);
    free(t);
    return v;
}

/* The terms of every node, to compare before and after. */
static void terms(long long out[3])
{
    for (int i = 0; i < 3; i++) out[i] = term_of(i);
}

static void same_terms(const long long before[3], const char *what)
{
    long long after[3];
    terms(after);
    for (int i = 0; i < 3; i++)
        if (after[i] != before[i])
            fail_msg("%s: node %d moved from term %lld to %lld (an election)", what, i + 1, before[i], after[i]);
    assert_int_equal(h_cluster_primary(g_cluster, PRIMARY_DEADLINE_MS), g_primary);
}

/* Every node agrees (same digest), then key is absent on each of them. */
static void absent_everywhere(const char *key)
{
    free(h_converged_digest(g_cluster));
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(g_cluster->nodes[i].port);
        char *r = callv(fd, "EXISTS", key, NULL);
        if (strcmp(r, ":0\r\n") != 0) fail_msg("node %d holds %s after a refused write: %s", i + 1, key, r);
        free(r);
        h_close(fd);
    }
}

/* Every node agrees, and holds key as a string of len bytes. */
static void strlen_everywhere(const char *key, size_t len)
{
    free(h_converged_digest(g_cluster));
    char want[32];
    snprintf(want, sizeof want, ":%zu\r\n", len);
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(g_cluster->nodes[i].port);
        char *r = callv(fd, "STRLEN", key, NULL);
        if (strcmp(r, want) != 0) fail_msg("node %d: STRLEN %s = %s, want %s", i + 1, key, r, want);
        free(r);
        h_close(fd);
    }
}

static char *too_large(uint64_t bytes, uint64_t limit)
{
    char *s = malloc(128);
    assert_non_null(s);
    snprintf(s, 128, "-ERR value too large to replicate: %llu bytes, limit %llu\r\n", (unsigned long long)bytes,
             (unsigned long long)limit);
    return s;
}

static int setup(void **state)
{
    (void)state;
    g_cluster = h_cluster_start(3, "replicated_write_max_bytes = \"1mb\"");
    g_primary = h_cluster_primary(g_cluster, PRIMARY_DEADLINE_MS);
    assert_true(g_primary >= 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_cluster_stop(g_cluster);
    return 0;
}

static void test_set_at_the_limit_and_one_byte_over(void **state)
{
    (void)state;
    int fd = h_connect(g_cluster->nodes[g_primary].port);
    expect(fd, "*2\r\n$26\r\nreplicated-write-max-bytes\r\n$7\r\n1048576\r\n", "CONFIG", "GET",
           "replicated-write-max-bytes", NULL);
    long long before[3];
    terms(before);
    /* SET (3) + key (1) + value: exactly the limit */
    size_t vlen = LIMIT - 4;
    char *v = pattern(vlen, 1);
    const char *set[] = {"SET", "k", v};
    size_t lens[] = {3, 1, vlen};
    char *r = call(fd, 3, set, lens);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    same_terms(before, "SET at the limit");
    strlen_everywhere("k", vlen);

    /* one byte over: refused, nothing anywhere, the connection goes on */
    char *big = pattern(vlen + 1, 2);
    const char *set2[] = {"SET", "k2", big};
    size_t lens2[] = {3, 2, vlen + 1};
    r = call(fd, 3, set2, lens2);
    char *want = too_large(LIMIT + 2, LIMIT);
    assert_string_equal(r, want);
    free(r);
    free(want);
    expect(fd, "+PONG\r\n", "PING", NULL);
    absent_everywhere("k2");
    /* an APPEND that big is refused too, and leaves k as it was */
    const char *app[] = {"APPEND", "k", big};
    size_t lens3[] = {6, 1, vlen + 1};
    r = call(fd, 3, app, lens3);
    want = too_large(6 + 1 + vlen + 1, LIMIT);
    assert_string_equal(r, want);
    free(r);
    free(want);
    strlen_everywhere("k", vlen);

    /* the limit is a live setting: lower, a smaller write is refused */
    expect(fd, "+OK\r\n", "CONFIG", "SET", "replicated-write-max-bytes", "512kb", NULL);
    const char *set3[] = {"SET", "k3", v};
    size_t lens4[] = {3, 2, LIMIT / 2};
    r = call(fd, 3, set3, lens4);
    want = too_large(5 + LIMIT / 2, LIMIT / 2);
    assert_string_equal(r, want);
    free(r);
    free(want);
    expect(fd, "-ERR CONFIG SET failed (possibly related to argument 'replicated-write-max-bytes') - "
               "argument must be between 65536 and 3221225472 inclusive\r\n",
           "CONFIG", "SET", "replicated-write-max-bytes", "1000", NULL);
    expect(fd, "+OK\r\n", "CONFIG", "SET", "replicated-write-max-bytes", "1mb", NULL);
    absent_everywhere("k3");
    same_terms(before, "the refused writes");
    expect(fd, ":1\r\n", "DEL", "k", NULL);
    free(v);
    free(big);
    h_close(fd);
}

static void test_transaction_and_script_over_the_limit(void **state)
{
    (void)state;
    int fd = h_connect(g_cluster->nodes[g_primary].port);
    long long before[3];
    terms(before);
    size_t vlen = LIMIT / 4 * 3; /* each command fits, two together do not */
    char *v = pattern(vlen, 3);
    const char *seta[] = {"SET", "ta", v}, *setb[] = {"SET", "tb", v};
    size_t lens[] = {3, 2, vlen};

    expect(fd, "+OK\r\n", "MULTI", NULL);
    char *r = call(fd, 3, seta, lens);
    assert_string_equal(r, "+QUEUED\r\n");
    free(r);
    r = call(fd, 3, setb, lens);
    assert_string_equal(r, "+QUEUED\r\n");
    free(r);
    r = callv(fd, "EXEC", NULL);
    /* TCEXEC (6) + "2" + per command "3" + its arguments */
    char *want = too_large(6 + 1 + 2 * (1 + 3 + 2 + vlen), LIMIT);
    assert_string_equal(r, want);
    free(r);
    free(want);
    /* the transaction is gone: the connection is out of MULTI */
    expect(fd, "-ERR EXEC without MULTI\r\n", "EXEC", NULL);
    absent_everywhere("ta");
    absent_everywhere("tb");

    /* a script whose two writes add up past the limit */
    const char *body = "redis.call('set', KEYS[1], ARGV[1]) redis.call('set', KEYS[2], ARGV[1]) return 7";
    const char *eval[] = {"EVAL", body, "2", "sa", "sb", v};
    size_t elens[] = {4, strlen(body), 1, 2, 2, vlen};
    r = call(fd, 6, eval, elens);
    assert_true(strncmp(r, "-ERR value too large to replicate: ", 35) == 0);
    assert_non_null(strstr(r, "bytes, limit 1048576\r\n"));
    free(r);
    expect(fd, "+PONG\r\n", "PING", NULL);
    absent_everywhere("sa");
    absent_everywhere("sb");
    /* one such write fits: written, the script's reply given */
    const char *body1 = "redis.call('set', KEYS[1], ARGV[1]) return 7";
    const char *eval1[] = {"EVAL", body1, "1", "sa", v};
    size_t elens1[] = {4, strlen(body1), 1, 2, vlen};
    r = call(fd, 5, eval1, elens1);
    assert_string_equal(r, ":7\r\n");
    free(r);
    strlen_everywhere("sa", vlen);

    /* script and library bodies are logged whole */
    size_t blen = LIMIT + 10;
    char *lua = malloc(blen);
    assert_non_null(lua);
    memset(lua, ' ', blen);
    memcpy(lua, "return 1 --", 11);
    const char *load[] = {"SCRIPT", "LOAD", lua};
    size_t llens[] = {6, 4, blen};
    r = call(fd, 3, load, llens);
    want = too_large(10 + blen, LIMIT);
    assert_string_equal(r, want);
    free(r);
    free(want);
    const char *lib_head = "#!lua name=biglib\nredis.register_function('bigf', function() return 1 end) --";
    memcpy(lua, lib_head, strlen(lib_head));
    const char *fload[] = {"FUNCTION", "LOAD", lua};
    size_t flens[] = {8, 4, blen};
    r = call(fd, 3, fload, flens);
    want = too_large(12 + blen, LIMIT);
    assert_string_equal(r, want);
    free(r);
    free(want);
    expect(fd, "*0\r\n", "FUNCTION", "LIST", NULL);
    same_terms(before, "transactions and scripts");
    expect(fd, ":1\r\n", "DEL", "sa", NULL);
    free(lua);
    free(v);
    h_close(fd);
}

/* Many clients at once, each well under the limit, together far over it:
 * every one is written (the primary starts new entries), with no election.
 * Each client pipelines a small write and a big one, so that a big write
 * often finds an entry already open. */
static void test_many_clients_together_over_the_limit(void **state)
{
    (void)state;
    enum { CLIENTS = 6 };
    long long before[3];
    terms(before);
    size_t small = 100u << 10, vlen = LIMIT - (200u << 10);
    char *v = pattern(vlen, 4);
    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) fds[i] = h_connect(g_cluster->nodes[g_primary].port);
    for (int i = 0; i < CLIENTS; i++) {
        char ks[16], kb[16];
        snprintf(ks, sizeof ks, "small%d", i);
        snprintf(kb, sizeof kb, "big%d", i);
        const char *s1[] = {"SET", ks, v}, *s2[] = {"SET", kb, v};
        size_t l1[] = {3, strlen(ks), small}, l2[] = {3, strlen(kb), vlen};
        send_cmd(fds[i], 3, s1, l1);
        send_cmd(fds[i], 3, s2, l2);
    }
    for (int i = 0; i < CLIENTS; i++)
        for (int k = 0; k < 2; k++) {
            char *r = h_reply(fds[i]);
            assert_non_null(r);
            if (strcmp(r, "+OK\r\n") != 0) fail_msg("client %d, write %d: %.200s", i, k, r);
            free(r);
        }
    for (int i = 0; i < CLIENTS; i++) h_close(fds[i]);
    same_terms(before, "many clients");
    for (int i = 0; i < CLIENTS; i++) {
        char kb[16];
        snprintf(kb, sizeof kb, "big%d", i);
        strlen_everywhere(kb, vlen);
    }
    int fd = h_connect(g_cluster->nodes[g_primary].port);
    for (int i = 0; i < CLIENTS; i++) {
        char ks[16], kb[16];
        snprintf(ks, sizeof ks, "small%d", i);
        snprintf(kb, sizeof kb, "big%d", i);
        expect(fd, ":2\r\n", "DEL", ks, kb, NULL);
    }
    h_close(fd);
    free(v);
}

/* A value 64 times the limit, built by APPENDs that each fit: equal on
 * every node; a reader that does not read its GET for a while holds up
 * nobody, and then gets every byte. */
static void test_big_value_built_by_append(void **state)
{
    (void)state;
    enum { PIECES = 64 };
    size_t piece = LIMIT - 16;
    long long before[3];
    terms(before);
    int fd = h_connect(g_cluster->nodes[g_primary].port);
    for (int i = 0; i < PIECES; i++) {
        char *p = pattern(piece, (unsigned)i);
        const char *app[] = {"APPEND", "huge", p};
        size_t lens[] = {6, 4, piece};
        char *r = call(fd, 3, app, lens);
        char want[32];
        snprintf(want, sizeof want, ":%zu\r\n", piece * (size_t)(i + 1));
        if (strcmp(r, want) != 0) fail_msg("APPEND %d: %.200s", i, r);
        free(r);
        free(p);
    }
    same_terms(before, "APPENDs");
    strlen_everywhere("huge", piece * PIECES);

    /* the slow reader: asks, and does not read yet */
    int slow = h_connect(g_cluster->nodes[g_primary].port);
    int rcv = 64 << 10;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    h_sends(slow, "*2\r\n$3\r\nGET\r\n$4\r\nhuge\r\n");
    /* others are answered meanwhile (the bound is loose: it only catches a
     * node that serves nobody until the big reply is out) */
    int other = h_connect(g_cluster->nodes[g_primary].port);
    for (int i = 0; i < 20; i++) {
        long long t0 = h_ms();
        expect(other, "+OK\r\n", "SET", "small", "x", NULL);
        expect(other, "$1\r\nx\r\n", "GET", "small", NULL);
        long long took = h_ms() - t0;
        if (took > 5000) fail_msg("a small SET and GET took %lld ms beside the big reply", took);
    }
    h_close(other);
    char *r = h_reply(slow);
    assert_non_null(r);
    char head[32];
    int hl = snprintf(head, sizeof head, "$%zu\r\n", piece * PIECES);
    assert_memory_equal(r, head, (size_t)hl);
    for (int i = 0; i < PIECES; i++) {
        char *p = pattern(piece, (unsigned)i);
        if (memcmp(r + hl + (size_t)i * piece, p, piece) != 0) fail_msg("piece %d of the big value differs", i);
        free(p);
    }
    free(r);
    h_close(slow);
    expect(fd, ":1\r\n", "DEL", "huge", NULL);
    same_terms(before, "reading the big value");
    h_close(fd);
}

/* A single node replicates nothing: no limit, up to proto_max_bulk_len. */
static void test_single_node_has_no_limit(void **state)
{
    (void)state;
    tnode *n = h_start(NULL);
    int fd = h_connect(n->port);
    size_t vlen = LIMIT + 1;
    char *v = pattern(vlen, 5);
    const char *set[] = {"SET", "k", v};
    size_t lens[] = {3, 1, vlen};
    char *r = call(fd, 3, set, lens);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    expect(fd, ":1048577\r\n", "STRLEN", "k", NULL);
    free(v);
    h_close(fd);
    h_stop(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_at_the_limit_and_one_byte_over),
        cmocka_unit_test(test_transaction_and_script_over_the_limit),
        cmocka_unit_test(test_many_clients_together_over_the_limit),
        cmocka_unit_test(test_big_value_built_by_append),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    const struct CMUnitTest single[] = {cmocka_unit_test(test_single_node_has_no_limit)};
    return failed + cmocka_run_group_tests(single, NULL, NULL);
}
