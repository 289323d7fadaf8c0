/* Scripts on a three-node cluster, replicated by their effects: a script's
 * writes reach every replica as one step (a reader there never sees half
 * of them), a script that reads the clock and random members leaves every
 * node with the same digest, writes made before a script fails stay (as in
 * Redis), loaded scripts survive a kill -9 of the primary, replicas run
 * read-only scripts and refuse writing ones, a 2-second script starts
 * no election, and scripts of many connections that share one entry (a
 * group) stay exact and are never seen half done, a kill -9 included. */
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

static int setup(void **state)
{
    *state = h_cluster_start(3, NULL);
    return h_cluster_primary(*state, ELECTION_DEADLINE_MS) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

#define MAXARGS 16

/* Sends one command as a multibulk (scripts need no quoting). */
static void send_args(int fd, const char *const *a)
{
    size_t n = 0;
    while (n < MAXARGS && a[n]) n++;
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", n);
    h_sends(fd, head);
    for (size_t i = 0; i < n; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(a[i]));
        h_sends(fd, head);
        h_sends(fd, a[i]);
        h_sends(fd, "\r\n");
    }
}

static char *ask(int port, const char *const *a)
{
    int fd = h_connect(port);
    assert_true(fd >= 0);
    send_args(fd, a);
    char *r = h_reply(fd);
    h_close(fd);
    assert_non_null(r);
    return r;
}

static void expect(int port, const char *const *a, const char *want)
{
    char *r = ask(port, a);
    if (strcmp(r, want) != 0) fail_msg("%s %s: want %s, got %s", a[0], a[1] ? a[1] : "", want, r);
    free(r);
}

/* The same, polling until the deadline: what a replica applies later. */
static void expect_soon(int port, const char *const *a, const char *want)
{
    long long deadline = h_ms() + 15000;
    for (;;) {
        char *r = ask(port, a);
        int same = strcmp(r, want) == 0;
        if (!same && h_ms() > deadline) fail_msg("%s %s: want %s, got %s", a[0], a[1] ? a[1] : "", want, r);
        free(r);
        if (same) return;
        usleep(20000); /* between polls */
    }
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* MGET's reply: 1 if its n values are all equal (nil counts as a value),
 * and whether the first is set. */
static int all_equal(const char *m, int n, int *set)
{
    const char *q = strstr(m, "\r\n");
    const char *first = NULL;
    size_t first_len = 0;
    for (int i = 0; i < n; i++) {
        if (!q) return 0;
        q += 2;
        const char *v;
        size_t len;
        if (strncmp(q, "$-1\r\n", 5) == 0) {
            v = "";
            len = (size_t)-1;
            q += 3;
        } else {
            len = (size_t)atol(q + 1);
            v = strstr(q, "\r\n") + 2;
            q = v + len;
        }
        if (i == 0) {
            first = v;
            first_len = len;
            *set = len != (size_t)-1;
        } else if (len != first_len || (len != (size_t)-1 && memcmp(v, first, len) != 0)) {
            return 0;
        }
        if (len != (size_t)-1 && strncmp(q, "\r\n", 2) != 0) return 0;
    }
    return 1;
}

static const char *const INCR10 =
    "for i = 1, 10 do redis.call('incr', KEYS[i]) end return redis.call('get', KEYS[1])";

/* A reader on a replica, MGET of the ten keys while the primary runs the
 * script over and over: every answer holds ten equal values. */
static void test_writes_reach_replicas_as_one_step(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int rep = (p + 1) % 3;
    int w = h_connect(c->nodes[p].port), rd = h_connect(c->nodes[rep].port);
    assert_true(w >= 0 && rd >= 0);
    const char *const script[] = {"EVAL", INCR10, "10", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", NULL};
    const char *const mget[] = {"MGET", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", NULL};
    enum { RUNS = 300 };
    int seen_progress = 0;
    for (int i = 0; i < RUNS; i++) {
        send_args(w, script);
        send_args(rd, mget);
        char *m = h_reply(rd);
        assert_non_null(m);
        if (m[0] == '*') {
            int set = 0;
            if (!all_equal(m, 10, &set)) fail_msg("half a script seen on a replica: %s", m);
            if (set) seen_progress = 1;
        } else {
            assert_memory_equal(m, "-TRYAGAIN", 9); /* a stale replica refuses; nothing else */
        }
        free(m);
        char *r = h_reply(w);
        assert_non_null(r);
        char want[32];
        snprintf(want, sizeof want, "$%d\r\n%d\r\n", i + 1 >= 100 ? (i + 1 >= 1000 ? 4 : 3) : (i + 1 >= 10 ? 2 : 1),
                 i + 1);
        assert_string_equal(r, want);
        free(r);
    }
    assert_true(seen_progress);
    free(h_converged_digest(c));
    expect(c->nodes[rep].port, ARGS("GET", "k9"), "$3\r\n300\r\n");
    h_close(w);
    h_close(rd);
}

/* TIME, SRANDMEMBER, SPOP and HRANDFIELD inside scripts: the effects carry
 * the primary's choices, so every node ends with the same digest. */
static void test_nondeterministic_scripts_leave_equal_digests(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 60; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        send_args(fd, ARGS("SADD", "pool", m));
        free(h_reply(fd));
    }
    static const char *const body =
        "local t = redis.call('TIME') "
        "local m = redis.call('SRANDMEMBER', KEYS[1]) "
        "redis.call('HSET', KEYS[2], m, t[1] .. '.' .. t[2]) "
        "redis.call('SET', KEYS[3], t[2], 'PX', 100000 + math.random(1000)) "
        "local popped = redis.call('SPOP', KEYS[1]) "
        "redis.call('RPUSH', KEYS[4], popped) "
        "return popped";
    for (int i = 0; i < 40; i++) {
        send_args(fd, ARGS("EVAL", body, "4", "pool", "picks", "last", "popped"));
        char *r = h_reply(fd);
        assert_non_null(r);
        assert_int_equal(r[0], '$');
        free(r);
    }
    h_close(fd);
    char *d = h_converged_digest(c);
    free(d);
    expect(c->nodes[(p + 2) % 3].port, ARGS("SCARD", "pool"), ":20\r\n");
}

/* Redis does not roll a failed script back: the writes before the error
 * stay, on every node. */
static void test_failed_script_keeps_earlier_writes(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *r = ask(c->nodes[p].port, ARGS("EVAL", "redis.call('set', KEYS[1], 'before'); error('stop here')", "1", "half"));
    assert_non_null(strstr(r, "-ERR user_script:1: stop here script: "));
    free(r);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect(c->nodes[i].port, ARGS("GET", "half"), "$6\r\nbefore\r\n");
    /* a script that writes nothing is answered at once and logs nothing */
    expect(c->nodes[p].port, ARGS("EVAL", "return redis.call('get', KEYS[1])", "1", "half"), "$6\r\nbefore\r\n");
}

/* The value of field in INFO's commandstats line of cmd ("calls"), -1 if absent. */
static long long cmdstat_of(int port, const char *cmd, const char *field)
{
    char *r = ask(port, ARGS("INFO", "commandstats"));
    char key[64];
    snprintf(key, sizeof key, "cmdstat_%s:", cmd);
    const char *line = strstr(r, key);
    long long v = -1;
    if (line) {
        char f[32];
        snprintf(f, sizeof f, "%s=", field);
        const char *at = strstr(line, f);
        const char *eol = strchr(line, '\r');
        if (at && (!eol || at < eol)) v = atoll(at + strlen(f));
    }
    free(r);
    return v;
}

/* A script's writes are counted in commandstats once per node, where
 * their entry is applied, as a Redis replica counts what it receives (the
 * primary runs each write twice: recorded, then applied). */
static void test_script_writes_counted_once(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    for (int i = 0; i < 3; i++) expect(c->nodes[i].port, ARGS("CONFIG", "RESETSTAT"), "+OK\r\n");
    expect(c->nodes[p].port,
           ARGS("EVAL", "redis.call('hincrby', KEYS[1], 'a', 1) redis.call('hincrby', KEYS[1], 'a', 1) "
                        "return redis.pcall('hincrby', KEYS[1], 'a', 'x')",
                "1", "counted"),
           "-ERR value is not an integer or out of range\r\n");
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) assert_int_equal(cmdstat_of(c->nodes[i].port, "hincrby", "calls"), 3);
    /* the failure is seen where there is a client to answer */
    assert_int_equal(cmdstat_of(c->nodes[p].port, "hincrby", "failed_calls"), 1);
    assert_int_equal(cmdstat_of(c->nodes[p].port, "eval", "calls"), 1);
}

/* Replicas run scripts as reads: EVAL_RO and a reading EVAL answer there,
 * a write inside is refused with -READONLY as a Redis replica does. */
static void test_replicas_run_read_only_scripts(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int rep = (p + 1) % 3;
    expect(c->nodes[p].port, ARGS("SET", "ro", "x"), "+OK\r\n");
    free(h_converged_digest(c));
    expect(c->nodes[rep].port, ARGS("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "ro"), "$1\r\nx\r\n");
    expect(c->nodes[rep].port, ARGS("EVAL", "return redis.call('get', KEYS[1])", "1", "ro"), "$1\r\nx\r\n");
    char *r = ask(c->nodes[rep].port, ARGS("EVAL", "return redis.call('set', KEYS[1], 'y')", "1", "ro"));
    assert_non_null(strstr(r, "-READONLY You can't write against a read only replica. script: "));
    free(r);
    r = ask(c->nodes[p].port, ARGS("EVAL_RO", "return redis.call('set', KEYS[1], 'y')", "1", "ro"));
    assert_non_null(strstr(r, "-ERR Write commands are not allowed from read-only scripts. script: "));
    free(r);
    /* FLUSHALL names no key: a replicated script may not run it */
    r = ask(c->nodes[p].port, ARGS("EVAL", "return redis.call('flushall')", "0"));
    assert_non_null(strstr(r, "cannot run inside a script on a replicated node"));
    free(r);
    /* cluster state the log carries itself: refused too, nothing changed */
    r = ask(c->nodes[p].port, ARGS("EVAL", "return redis.call('config', 'set', 'maxmemory-samples', '9')", "0"));
    assert_non_null(strstr(r, "cannot run inside a script on a replicated node"));
    free(r);
    expect(c->nodes[p].port, ARGS("CONFIG", "GET", "maxmemory-samples"), "*2\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n");
    expect(c->nodes[p].port, ARGS("GET", "ro"), "$1\r\nx\r\n");
}

/* SCRIPT LOAD goes through the log, and so does a new EVAL body: after a
 * kill -9 of the primary, EVALSHA of both works on the new one. */
static void test_evalsha_after_failover(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    static const char *const loaded = "return redis.call('incr', KEYS[1])";
    static const char *const evaled = "redis.call('set', KEYS[1], ARGV[1]); return ARGV[1]";
    char *sha1 = ask(c->nodes[p].port, ARGS("SCRIPT", "LOAD", loaded));
    assert_int_equal(strlen(sha1), 40 + 7);
    expect(c->nodes[p].port, ARGS("EVAL", evaled, "1", "e", "first"), "$5\r\nfirst\r\n");
    char *sha2 = ask(c->nodes[p].port, ARGS("SCRIPT", "LOAD", evaled)); /* already cached: its SHA1 */
    char s1[41], s2[41];
    memcpy(s1, sha1 + 5, 40);
    memcpy(s2, sha2 + 5, 40);
    s1[40] = s2[40] = '\0';
    free(sha1);
    free(sha2);
    free(h_converged_digest(c));
    /* replicas have both (they applied the entries) */
    int rep = (p + 1) % 3;
    expect_soon(c->nodes[rep].port, ARGS("SCRIPT", "EXISTS", s1, s2), "*2\r\n:1\r\n:1\r\n");
    h_node_signal(c, p, SIGKILL);
    int np = -1;
    long long deadline = h_ms() + 30000;
    while (np < 0 || np == p) {
        assert_true(h_ms() < deadline);
        np = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    }
    /* the new primary may still be catching up to its election: retry TRYAGAIN */
    char *r = NULL;
    while (h_ms() < deadline) {
        r = ask(c->nodes[np].port, ARGS("EVALSHA", s1, "1", "counter"));
        if (strncmp(r, "-TRYAGAIN", 9) != 0) break;
        free(r);
        r = NULL;
    }
    assert_non_null(r);
    assert_string_equal(r, ":1\r\n");
    free(r);
    expect(c->nodes[np].port, ARGS("EVALSHA", s2, "1", "e", "second"), "$6\r\nsecond\r\n");
    h_node_restart(c, p);
    free(h_converged_digest(c));
    expect(c->nodes[p].port, ARGS("GET", "e"), "$6\r\nsecond\r\n");
    /* SCRIPT FLUSH is cluster state too */
    expect(c->nodes[np].port, ARGS("SCRIPT", "FLUSH"), "+OK\r\n");
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("SCRIPT", "EXISTS", s1), "*1\r\n:0\r\n");
}

static long long term_of(tcluster *c, int i)
{
    char *v = h_info_field(c, i, "replication", "raft_term");
    long long t = atoll(v);
    free(v);
    return t;
}

/* A script that runs 2 s (it watches TIME) holds the command thread; the
 * Raft thread keeps the heartbeats going and the hook's progress ticks
 * keep the stall watch quiet: no election, the same primary. */
/* The primary and every node's term, read so that they belong together
 * (no election between the reads). */
static int stable_view(tcluster *c, long long *terms)
{
    long long deadline = h_ms() + 20000;
    for (;;) {
        for (int i = 0; i < 3; i++) terms[i] = term_of(c, i);
        int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        int same = p >= 0;
        for (int i = 0; i < 3 && same; i++) same = term_of(c, i) == terms[i] && terms[i] == terms[0];
        if (same) return p;
        assert_true(h_ms() < deadline);
    }
}

static void test_two_second_script_starts_no_election(void **state)
{
    tcluster *c = *state;
    long long before[3];
    int p = stable_view(c, before);
    long long t0 = h_ms();
    char *r = ask(c->nodes[p].port,
                  ARGS("EVAL",
                       "local t0 = redis.call('TIME') local n = 0 "
                       "repeat local t = redis.call('TIME') n = n + 1 "
                       "until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) >= 2000000 "
                       "redis.call('set', KEYS[1], n) return 'done'",
                       "1", "long"));
    assert_string_equal(r, "$4\r\ndone\r\n");
    free(r);
    assert_true(h_ms() - t0 >= 2000);
    for (int i = 0; i < 3; i++)
        if (term_of(c, i) != before[i]) fail_msg("node %d went from term %lld to %lld", i + 1, before[i], term_of(c, i));
    assert_int_equal(h_cluster_primary(c, ELECTION_DEADLINE_MS), p);
    free(h_converged_digest(c));
}

/* Sends cmd on fd until the reply starts with prefix (deadline 10 s). */
static void poll_until(int fd, const char *const *cmd, const char *prefix)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        send_args(fd, cmd);
        char *r = h_reply(fd);
        assert_non_null(r);
        int hit = strncmp(r, prefix, strlen(prefix)) == 0;
        if (!hit && h_ms() > deadline) fail_msg("%s: want %s..., got %s", cmd[0], prefix, r);
        free(r);
        if (hit) return;
        usleep(10000); /* between polls */
    }
}

/* Past busy-reply-threshold other clients get -BUSY while the script runs;
 * SCRIPT KILL stops one that has not written (its caller gets Redis's
 * error), and the cluster neither elects nor loses a beat. A script that
 * wrote answers SCRIPT KILL -UNKILLABLE; SHUTDOWN NOSAVE stops the node,
 * and its writes, never logged, are nowhere. */
static void test_busy_script_kill_and_shutdown_nosave(void **state)
{
    tcluster *c = *state;
    long long before[3];
    int p = stable_view(c, before);
    expect(c->nodes[p].port, ARGS("CONFIG", "SET", "busy-reply-threshold", "200"), "+OK\r\n");
    /* the other client connects while the script runs (as redis-cli
     * SCRIPT KILL from another shell would) */
    int runner = h_connect(c->nodes[p].port);
    send_args(runner, ARGS("EVAL", "local i = 0 while true do i = i + 1 end", "0"));
    int other = h_connect(c->nodes[p].port);
    poll_until(other, ARGS("GET", "x"), "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    send_args(other, ARGS("SCRIPT", "KILL"));
    char *r = h_reply(other);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = h_reply(runner);
    assert_non_null(strstr(r, "-ERR Script killed by user with SCRIPT KILL... script: "));
    free(r);
    expect(c->nodes[p].port, ARGS("PING"), "+PONG\r\n");
    for (int i = 0; i < 3; i++)
        if (term_of(c, i) != before[i]) fail_msg("node %d went from term %lld to %lld", i + 1, before[i], term_of(c, i));
    assert_int_equal(h_cluster_primary(c, ELECTION_DEADLINE_MS), p);

    /* one that wrote: unkillable; SHUTDOWN NOSAVE is the way out */
    send_args(runner, ARGS("EVAL", "redis.call('set', KEYS[1], 'never') while true do end", "1", "unlogged"));
    poll_until(other, ARGS("PING"), "-BUSY");
    send_args(other, ARGS("SCRIPT", "KILL"));
    r = h_reply(other);
    assert_memory_equal(r, "-UNKILLABLE Sorry the script already executed write commands", 60);
    free(r);
    send_args(other, ARGS("SHUTDOWN", "NOSAVE"));
    assert_true(h_node_wait_exit(c, p, 10000) >= 0);
    h_close(runner);
    h_close(other);
    int np = h_cluster_primary(c, 30000);
    assert_true(np >= 0 && np != p);
    expect_soon(c->nodes[np].port, ARGS("EXISTS", "unlogged"), ":0\r\n");
    h_node_restart(c, p);
    free(h_converged_digest(c));
    expect(c->nodes[p].port, ARGS("EXISTS", "unlogged"), ":0\r\n");
}

/* ---- Redis 7 functions ---------------------------------------------------- */

static const char *const LIBRARY =
    "#!lua name=counters\n"
    "redis.register_function('bump10', function(keys)\n"
    "  for i = 1, 10 do redis.call('incr', keys[i]) end\n"
    "  return redis.call('get', keys[1])\n"
    "end)\n"
    "redis.register_function{function_name='peek', flags={'no-writes'}, callback=function(keys)\n"
    "  return redis.call('get', keys[1])\n"
    "end}\n"
    "redis.register_function{function_name='sneaky', flags={'no-writes'}, callback=function(keys)\n"
    "  return redis.call('set', keys[1], 'no')\n"
    "end}\n"
    "redis.register_function{function_name='stalepeek', flags={'no-writes', 'allow-stale'}, callback=function(keys)\n"
    "  return redis.call('get', keys[1])\n"
    "end}\n";

/* Loaded on the primary (through the log): every replica can call the
 * no-writes function (FCALL and FCALL_RO) and refuses the writing one and
 * FUNCTION LOAD with -READONLY; a writing FCALL reaches a replica as one
 * step (a reader there never sees half of its ten increments). */
static void test_functions_on_every_node(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    expect(c->nodes[p].port, ARGS("FUNCTION", "LOAD", LIBRARY), "$8\r\ncounters\r\n");
    expect(c->nodes[p].port, ARGS("FUNCTION", "LOAD", LIBRARY), "-ERR Library 'counters' already exists\r\n");
    expect(c->nodes[p].port, ARGS("SET", "fk0", "start"), "+OK\r\n");
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        if (i == p) continue;
        expect_soon(c->nodes[i].port, ARGS("FCALL_RO", "peek", "1", "fk0"), "$5\r\nstart\r\n");
        expect(c->nodes[i].port, ARGS("FCALL", "peek", "1", "fk0"), "$5\r\nstart\r\n");
        expect(c->nodes[i].port, ARGS("FCALL", "bump10", "1", "fk0"), "-READONLY You can't write against a read only replica.\r\n");
        expect(c->nodes[i].port, ARGS("FCALL_RO", "bump10", "1", "fk0"),
               "-ERR Can not execute a script with write flag using *_ro command.\r\n");
        expect(c->nodes[i].port, ARGS("FUNCTION", "LOAD", "REPLACE", LIBRARY),
               "-READONLY You can't write against a read only replica.\r\n");
        expect(c->nodes[i].port, ARGS("FUNCTION", "FLUSH"), "-READONLY You can't write against a read only replica.\r\n");
        expect(c->nodes[i].port, ARGS("FUNCTION", "DELETE", "counters"),
               "-READONLY You can't write against a read only replica.\r\n");
    }
    /* inside a transaction a library change would reach the primary alone */
    int m = h_connect(c->nodes[p].port);
    send_args(m, ARGS("MULTI"));
    send_args(m, ARGS("FUNCTION", "DELETE", "counters"));
    send_args(m, ARGS("EXEC"));
    const char *const want_multi[] = {"+OK\r\n", "+QUEUED\r\n",
                                      "-EXECABORT Transaction discarded because of: ERR 'function' cannot run in a "
                                      "transaction that writes on a replicated node\r\n"};
    for (int i = 0; i < 3; i++) {
        char *got = h_reply(m);
        assert_string_equal(got, want_multi[i]);
        free(got);
    }
    h_close(m);
    char *r = ask(c->nodes[p].port, ARGS("FCALL", "sneaky", "1", "fk0"));
    assert_non_null(strstr(r, "-ERR Write commands are not allowed from read-only scripts. script: sneaky, on @user_function:"));
    free(r);
    expect(c->nodes[p].port, ARGS("DEL", "fk0"), ":1\r\n");

    int rep = (p + 1) % 3;
    int w = h_connect(c->nodes[p].port), rd = h_connect(c->nodes[rep].port);
    const char *const call[] = {"FCALL", "bump10", "10", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", NULL};
    const char *const mget[] = {"MGET", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", NULL};
    enum { RUNS = 200 };
    int seen_progress = 0;
    for (int i = 0; i < RUNS; i++) {
        send_args(w, call);
        send_args(rd, mget);
        char *m = h_reply(rd);
        assert_non_null(m);
        if (m[0] == '*') {
            int set = 0;
            if (!all_equal(m, 10, &set)) fail_msg("half a function seen on a replica: %s", m);
            if (set) seen_progress = 1;
        } else {
            assert_memory_equal(m, "-TRYAGAIN", 9);
        }
        free(m);
        char *got = h_reply(w);
        char want[32];
        snprintf(want, sizeof want, "$%d\r\n%d\r\n", i + 1 >= 100 ? 3 : (i + 1 >= 10 ? 2 : 1), i + 1);
        assert_string_equal(got, want);
        free(got);
    }
    assert_true(seen_progress);
    h_close(w);
    h_close(rd);
    free(h_converged_digest(c));
    expect(c->nodes[rep].port, ARGS("GET", "f9"), "$3\r\n200\r\n");
}

/* After a kill -9 of the primary the new one calls the library without
 * loading it again; FUNCTION DUMP / RESTORE through the log reaches every
 * node; FUNCTION FLUSH on the primary empties every node. */
static void test_functions_after_failover_restore_and_flush(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    expect(c->nodes[p].port, ARGS("FUNCTION", "LOAD", "REPLACE", LIBRARY), "$8\r\ncounters\r\n");
    free(h_converged_digest(c));
    h_node_signal(c, p, SIGKILL);
    int np = -1;
    long long deadline = h_ms() + 30000;
    while (np < 0 || np == p) {
        assert_true(h_ms() < deadline);
        np = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    }
    char *r = NULL;
    while (h_ms() < deadline) {
        r = ask(c->nodes[np].port, ARGS("FCALL", "bump10", "10", "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"));
        if (strncmp(r, "-TRYAGAIN", 9) != 0) break;
        free(r);
        r = NULL;
    }
    assert_non_null(r);
    assert_string_equal(r, "$1\r\n1\r\n");
    free(r);
    h_node_restart(c, p);
    free(h_converged_digest(c));
    expect(c->nodes[p].port, ARGS("FCALL_RO", "peek", "1", "g9"), "$1\r\n1\r\n");

    /* DUMP, FLUSH, RESTORE: the payload goes through the log */
    char *dump = ask(c->nodes[np].port, ARGS("FUNCTION", "DUMP"));
    assert_int_equal(dump[0], '$');
    size_t len = (size_t)atol(dump + 1);
    char *payload = strstr(dump, "\r\n") + 2;
    expect(c->nodes[np].port, ARGS("FUNCTION", "FLUSH", "SYNC"), "+OK\r\n");
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("FUNCTION", "LIST"), "*0\r\n");
    int fd = h_connect(c->nodes[np].port);
    char head[64];
    snprintf(head, sizeof head, "*3\r\n$8\r\nFUNCTION\r\n$7\r\nRESTORE\r\n$%zu\r\n", len);
    h_sends(fd, head);
    h_send(fd, payload, len);
    h_sends(fd, "\r\n");
    r = h_reply(fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    h_close(fd);
    free(dump);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("FCALL_RO", "peek", "1", "g0"), "$1\r\n1\r\n");
    expect(c->nodes[np].port, ARGS("FUNCTION", "FLUSH"), "+OK\r\n");
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("FCALL_RO", "peek", "1", "g0"), "-ERR Function not found\r\n");
}

/* Libraries are carried in snapshots: a replica that was down while the
 * log was compacted catches up from a snapshot and has the library, and
 * after every node restarts (their logs compacted) it is still there. */
static void test_library_survives_snapshot_and_restart(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "snapshot_threshold = 64");
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;
    h_node_signal(c, r, SIGKILL);
    expect(c->nodes[p].port, ARGS("FUNCTION", "LOAD", LIBRARY), "$8\r\ncounters\r\n");
    int fd = h_connect(c->nodes[p].port);
    for (int i = 0; i < 400; i++) { /* one at a time: one log entry each */
        char key[32];
        snprintf(key, sizeof key, "snap:%d", i);
        send_args(fd, ARGS("SET", key, "v"));
        char *reply = h_reply(fd);
        assert_string_equal(reply, "+OK\r\n");
        free(reply);
    }
    h_close(fd);
    h_node_restart(c, r);
    free(h_converged_digest(c));
    char *log = h_node_log(c, r);
    assert_non_null(strstr(log, "restored a Raft snapshot"));
    free(log);
    expect_soon(c->nodes[r].port, ARGS("FCALL_RO", "peek", "1", "snap:399"), "$1\r\nv\r\n");
    for (int i = 0; i < 3; i++) h_node_signal(c, i, SIGTERM);
    for (int i = 0; i < 3; i++) assert_true(h_node_wait_exit(c, i, 20000) >= 0);
    h_nodes_start(c, 3);
    p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    for (int i = 0; i < 3; i++) {
        expect_soon(c->nodes[i].port, ARGS("FCALL_RO", "peek", "1", "snap:0"), "$1\r\nv\r\n");
        char *list = ask(c->nodes[i].port, ARGS("FUNCTION", "LIST", "WITHCODE"));
        assert_non_null(strstr(list, "redis.register_function('bump10'"));
        free(list);
    }
    /* alone (the two others stopped) a node refuses reads, but a function
     * flagged allow-stale still reads what it applied */
    int alone = (p + 1) % 3;
    for (int i = 0; i < 3; i++)
        if (i != alone) h_node_signal(c, i, SIGKILL);
    long long deadline = h_ms() + 30000;
    for (;;) {
        char *got = ask(c->nodes[alone].port, ARGS("FCALL_RO", "peek", "1", "snap:0"));
        int refused = strncmp(got, "-TRYAGAIN", 9) == 0;
        free(got);
        if (refused) break;
        assert_true(h_ms() < deadline);
        usleep(50000); /* between polls */
    }
    expect(c->nodes[alone].port, ARGS("FCALL_RO", "stalepeek", "1", "snap:0"), "$1\r\nv\r\n");
    expect(c->nodes[alone].port, ARGS("FCALL", "stalepeek", "1", "snap:0"), "$1\r\nv\r\n");
    h_cluster_stop(c);
}

/* ---- groups: scripts routed in one loop pass share one entry -------------
 * Each connection runs INCR_PUSH (the counter's new value appended to the
 * list, so both always move together) in lock-step rounds: every
 * connection sends one, then every reply is read, so the scripts of a round
 * reach the primary together and run back to back in one entry. */
static const char *const INCR_PUSH =
    "local n = redis.call('incr', KEYS[1]) redis.call('rpush', KEYS[2], n) return n";
/* what a script sees of the two: the same number, unless half a script or
 * an unapplied state shows */
static const char *const PEEK = "return {redis.call('get', KEYS[1]) or '0', redis.call('llen', KEYS[2])}";

enum { GROUP_CONNS = 20 };

/* ":n" -> n (-1 for anything else) */
static long long int_reply(const char *r) { return r && r[0] == ':' ? atoll(r + 1) : -1; }

/* *2 of counter ($n) and length (:n): 1 if equal, the value in *v */
static int pair_equal(const char *r, long long *v)
{
    if (!r || strncmp(r, "*2\r\n$", 5) != 0) return 0;
    const char *val = strstr(r + 5, "\r\n");
    if (!val) return 0;
    long long a = atoll(val + 2);
    const char *len = strstr(val + 2, "\r\n");
    if (!len || len[2] != ':') return 0;
    *v = a;
    return atoll(len + 3) == a;
}

/* Many connections' scripts in one entry: every reply distinct (each
 * script saw the one before it), the counter and the list exact and in
 * order, every node equal; readers on the primary (MULTI, a script that
 * only reads, a plain GET between them) and on a replica never see the
 * two apart nor a value that was not applied. */
static void test_grouped_scripts_exact_and_never_half_seen(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int rep = (p + 1) % 3;
    int w[GROUP_CONNS];
    for (int i = 0; i < GROUP_CONNS; i++) assert_true((w[i] = h_connect(c->nodes[p].port)) >= 0);
    int rd = h_connect(c->nodes[p].port), rr = h_connect(c->nodes[rep].port);
    assert_true(rd >= 0 && rr >= 0);
    char *sha_reply = ask(c->nodes[p].port, ARGS("SCRIPT", "LOAD", INCR_PUSH));
    assert_int_equal(strlen(sha_reply), 40 + 7);
    char sha[41];
    memcpy(sha, sha_reply + 5, 40);
    sha[40] = '\0';
    free(sha_reply);
    enum { ROUNDS = 50, TOTAL = ROUNDS * GROUP_CONNS };
    static unsigned char seen[TOTAL + 1];
    memset(seen, 0, sizeof seen);
    long long index_before = h_info_ll(c, p, "replication", "raft_applied_index");
    long long last_read = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < GROUP_CONNS; i++) {
            send_args(w[i], ARGS("EVALSHA", sha, "2", "g:n", "g:list"));
            /* readers among the scripts, on the primary: they close the
             * group they land in and see the applied state */
            if (i == GROUP_CONNS / 2) {
                send_args(rd, ARGS("MULTI"));
                send_args(rd, ARGS("GET", "g:n"));
                send_args(rd, ARGS("LLEN", "g:list"));
                send_args(rd, ARGS("EXEC"));
                send_args(rd, ARGS("EVAL", PEEK, "2", "g:n", "g:list"));
                send_args(rd, ARGS("EVAL_RO", PEEK, "2", "g:n", "g:list"));
            }
        }
        send_args(rr, ARGS("EVAL_RO", PEEK, "2", "g:n", "g:list"));
        for (int k = 0; k < 3; k++) free(h_reply(rd)); /* +OK, +QUEUED x2 */
        for (int k = 0; k < 3; k++) {
            char *r = h_reply(rd);
            long long v = -1;
            if (!pair_equal(r, &v)) fail_msg("round %d: the primary answered %s", round, r ? r : "(closed)");
            /* reads on one connection never go back in time */
            if (v < last_read) fail_msg("round %d: read %lld after %lld", round, v, last_read);
            last_read = v;
            free(r);
        }
        char *r = h_reply(rr);
        long long v;
        if (r && r[0] != '-' && !pair_equal(r, &v)) fail_msg("round %d: a replica answered %s", round, r);
        if (r && r[0] == '-') assert_memory_equal(r, "-TRYAGAIN", 9);
        free(r);
        for (int i = 0; i < GROUP_CONNS; i++) {
            char *a = h_reply(w[i]);
            long long n = int_reply(a);
            if (n < 1 || n > TOTAL || seen[n]) fail_msg("round %d: script answered %s", round, a ? a : "(closed)");
            seen[n] = 1;
            free(a);
        }
    }
    /* the scripts shared entries (one entry each would be TOTAL of them) */
    long long entries = h_info_ll(c, p, "replication", "raft_applied_index") - index_before;
    if (entries >= TOTAL / 2) fail_msg("%d scripts took %lld entries: they were not grouped", TOTAL, entries);
    char want[32];
    snprintf(want, sizeof want, ":%d\r\n", TOTAL);
    expect(c->nodes[p].port, ARGS("LLEN", "g:list"), want);
    snprintf(want, sizeof want, "$%d\r\n%d\r\n", (int)strlen("1000"), TOTAL);
    expect(c->nodes[p].port, ARGS("GET", "g:n"), want);
    /* in order: the j-th element is j, as the scripts ran */
    char *all = ask(c->nodes[p].port, ARGS("LRANGE", "g:list", "0", "-1"));
    const char *q = strstr(all, "\r\n");
    for (int j = 1; j <= TOTAL; j++) {
        assert_non_null(q);
        q = strstr(q + 2, "\r\n"); /* past $len */
        assert_non_null(q);
        if (atoll(q + 2) != j) fail_msg("element %d of the list is %lld", j, atoll(q + 2));
        q = strstr(q + 2, "\r\n");
    }
    free(all);
    free(h_converged_digest(c));
    for (int i = 0; i < GROUP_CONNS; i++) h_close(w[i]);
    h_close(rd);
    h_close(rr);
}

/* kill -9 of the primary while connections' scripts are grouped: after the
 * failover the counter and the list agree (no script half applied), every
 * acknowledged script is in the list, and nothing a reader saw on the old
 * primary is missing (it was never answered from unapplied state). */
static void test_grouped_scripts_through_kill_of_primary(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int w[GROUP_CONNS];
    for (int i = 0; i < GROUP_CONNS; i++) assert_true((w[i] = h_connect(c->nodes[p].port)) >= 0);
    int rd = h_connect(c->nodes[p].port);
    assert_true(rd >= 0);
    enum { KILL_AT = 25 };
    long long acked_max = 0, read_max = 0;
    int open[GROUP_CONNS];
    for (int i = 0; i < GROUP_CONNS; i++) open[i] = 1;
    for (int round = 0; round <= KILL_AT; round++) {
        for (int i = 0; i < GROUP_CONNS; i++)
            if (open[i]) send_args(w[i], ARGS("EVAL", INCR_PUSH, "2", "k:n", "k:list"));
        if (rd >= 0) send_args(rd, ARGS("GET", "k:n"));
        /* the last round's scripts on their way: some answered, some not */
        if (round == KILL_AT) h_node_signal(c, p, SIGKILL);
        if (rd >= 0) {
            char *r = h_reply(rd);
            if (!r) {
                h_close(rd);
                rd = -1;
            } else {
                if (r[0] == '$' && atoll(strstr(r, "\r\n") + 2) > read_max) read_max = atoll(strstr(r, "\r\n") + 2);
                free(r);
            }
        }
        for (int i = 0; i < GROUP_CONNS; i++) {
            if (!open[i]) continue;
            char *a = h_reply(w[i]);
            if (!a) {
                open[i] = 0; /* the primary is gone: that script's outcome is unknown */
                continue;
            }
            long long n = int_reply(a);
            if (n < 0) assert_memory_equal(a, "-TRYAGAIN", 9); /* refused or of unknown outcome */
            if (n > acked_max) acked_max = n;
            free(a);
        }
    }
    assert_true(acked_max > 0);
    for (int i = 0; i < GROUP_CONNS; i++) h_close(w[i]);
    if (rd >= 0) h_close(rd);
    int np = -1;
    long long deadline = h_ms() + 30000;
    while (np < 0 || np == p) {
        assert_true(h_ms() < deadline);
        np = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    }
    /* the new primary answers once it applied its election's entries */
    long long n = -1, len = -2;
    while (h_ms() < deadline) {
        char *r = ask(c->nodes[np].port, ARGS("EVAL_RO", PEEK, "2", "k:n", "k:list"));
        int ok = r[0] == '*';
        if (ok && !pair_equal(r, &n)) fail_msg("a script was half applied: %s", r);
        if (ok) len = n;
        free(r);
        if (ok) break;
        usleep(50000); /* between polls */
    }
    assert_int_equal(n, len);
    if (acked_max > n) fail_msg("script %lld was acknowledged but the new primary has %lld", acked_max, n);
    if (read_max > n) fail_msg("a reader saw %lld on the old primary but only %lld were applied", read_max, n);
    h_node_restart(c, p);
    free(h_converged_digest(c));
}

/* SCRIPT LOAD and SCRIPT FLUSH queued in MULTI on the primary go through
 * the log with the transaction: every node's cache changes, not only the
 * primary's. */
static void test_script_cache_changes_inside_multi_reach_every_node(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    static const char *const body = "return 'in a transaction'";
    int m = h_connect(c->nodes[p].port);
    assert_true(m >= 0);
    expect(c->nodes[p].port, ARGS("SET", "multi:k", "v"), "+OK\r\n");
    send_args(m, ARGS("MULTI"));
    send_args(m, ARGS("SCRIPT", "LOAD", body));
    send_args(m, ARGS("EXEC"));
    for (int k = 0; k < 2; k++) free(h_reply(m)); /* +OK, +QUEUED */
    char *r = h_reply(m);
    assert_non_null(r);
    /* *1 of the SHA1 */
    const char *sha_at = strstr(r, "$40\r\n");
    if (strncmp(r, "*1\r\n", 4) != 0 || !sha_at) fail_msg("EXEC answered %s", r);
    char sha[41];
    memcpy(sha, sha_at + 5, 40);
    sha[40] = '\0';
    free(r);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("SCRIPT", "EXISTS", sha), "*1\r\n:1\r\n");
    send_args(m, ARGS("MULTI"));
    send_args(m, ARGS("SCRIPT", "FLUSH"));
    send_args(m, ARGS("DEL", "multi:k"));
    send_args(m, ARGS("EXEC"));
    for (int k = 0; k < 3; k++) free(h_reply(m));
    r = h_reply(m);
    assert_non_null(r);
    if (strcmp(r, "*2\r\n+OK\r\n:1\r\n") != 0) fail_msg("EXEC answered %s", r);
    free(r);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) expect_soon(c->nodes[i].port, ARGS("SCRIPT", "EXISTS", sha), "*1\r\n:0\r\n");
    h_close(m);
}

/* A transaction holding a writing script, EXEC'd on the primary, runs
 * there like a script: its effects (the script's and the transaction's own
 * writes) are logged as one step and reach every node; a write a
 * recording cannot journal aborts it whole. */
static void test_transaction_with_writing_script(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int m = h_connect(c->nodes[p].port);
    assert_true(m >= 0);
    static const char *const bump = "redis.call('incr', KEYS[1]) return redis.call('get', KEYS[1])";
    send_args(m, ARGS("MULTI"));
    send_args(m, ARGS("SET", "tx:a", "1"));
    send_args(m, ARGS("EVAL", bump, "1", "tx:a"));
    send_args(m, ARGS("RPUSH", "tx:l", "x"));
    send_args(m, ARGS("EXEC"));
    for (int k = 0; k < 4; k++) free(h_reply(m)); /* +OK, +QUEUED x3 */
    char *r = h_reply(m);
    assert_non_null(r);
    if (strcmp(r, "*3\r\n+OK\r\n$1\r\n2\r\n:1\r\n") != 0) fail_msg("EXEC answered %s", r);
    free(r);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        expect_soon(c->nodes[i].port, ARGS("GET", "tx:a"), "$1\r\n2\r\n");
        expect_soon(c->nodes[i].port, ARGS("LLEN", "tx:l"), ":1\r\n");
    }
    send_args(m, ARGS("MULTI"));
    send_args(m, ARGS("EVAL", bump, "1", "tx:a"));
    send_args(m, ARGS("MOVE", "tx:l", "1"));
    send_args(m, ARGS("EXEC"));
    for (int k = 0; k < 3; k++) free(h_reply(m));
    r = h_reply(m);
    assert_non_null(r);
    if (strncmp(r, "-EXECABORT", 10) != 0) fail_msg("EXEC answered %s", r);
    free(r);
    expect(c->nodes[p].port, ARGS("GET", "tx:a"), "$1\r\n2\r\n");
    h_close(m);
}

/* Grouped scripts that ZADD to a sorted set past the packed encoding (its
 * members journaled one by one, not the set copied), some also ZREM from
 * it or update scores (the journal then turns into a copy of the set as it
 * was): every node ends with the same digest and the exact count. */
static void test_grouped_zadds_to_a_big_sorted_set(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    enum { PRELOAD = 300, ROUNDS = 10 };
    int w[GROUP_CONNS];
    for (int i = 0; i < GROUP_CONNS; i++) assert_true((w[i] = h_connect(c->nodes[p].port)) >= 0);
    for (int j = 0; j < PRELOAD; j++) {
        char score[16], member[16];
        snprintf(score, sizeof score, "%d", j);
        snprintf(member, sizeof member, "p%d", j);
        send_args(w[0], ARGS("ZADD", "z:big", score, member));
    }
    for (int j = 0; j < PRELOAD; j++) free(h_reply(w[0]));
    expect(c->nodes[p].port, ARGS("OBJECT", "ENCODING", "z:big"), "$8\r\nskiplist\r\n");
    static const char *const add = "redis.call('zadd', KEYS[1], ARGV[1], ARGV[2]) redis.call('zadd', KEYS[1], 'XX', "
                                   "'INCR', 1, 'p0') return redis.call('zcard', KEYS[1])";
    static const char *const add_rem =
        "redis.call('zadd', KEYS[1], ARGV[1], ARGV[2]) redis.call('zadd', KEYS[1], 'XX', 'INCR', 5, ARGV[4]) "
        "redis.call('zrem', KEYS[1], ARGV[3]) return redis.call('zcard', KEYS[1])";
    int removed = 0, adds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < GROUP_CONNS; i++) {
            char score[16], member[24], victim[16], bumped[16];
            snprintf(score, sizeof score, "%d", 1000 + round * GROUP_CONNS + i);
            snprintf(member, sizeof member, "n%d-%d", round, i);
            snprintf(victim, sizeof victim, "p%d", round * GROUP_CONNS + i);
            snprintf(bumped, sizeof bumped, "p%d", PRELOAD - 1 - i);
            /* odd rounds ZADD only: their members' journal is undone as is */
            if (i % 3 == 2 && round % 2 == 0) {
                send_args(w[i], ARGS("EVAL", add_rem, "1", "z:big", score, member, victim, bumped));
                removed++;
            } else {
                send_args(w[i], ARGS("EVAL", add, "1", "z:big", score, member));
                adds++;
            }
        }
        for (int i = 0; i < GROUP_CONNS; i++) {
            char *a = h_reply(w[i]);
            if (int_reply(a) < PRELOAD) fail_msg("round %d: script answered %s", round, a ? a : "(closed)");
            free(a);
        }
    }
    char want[32];
    snprintf(want, sizeof want, ":%d\r\n", PRELOAD + ROUNDS * GROUP_CONNS - removed);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        expect_soon(c->nodes[i].port, ARGS("ZCARD", "z:big"), want);
        expect(c->nodes[i].port, ARGS("OBJECT", "ENCODING", "z:big"), "$8\r\nskiplist\r\n");
        /* bumped by 5 in each even round by connection 2, p0 by 1 in each other call */
        char score[32];
        snprintf(score, sizeof score, "$3\r\n%d\r\n", PRELOAD - 1 - 2 + 5 * ((ROUNDS + 1) / 2));
        expect(c->nodes[i].port, ARGS("ZSCORE", "z:big", "p297"), score);
        snprintf(score, sizeof score, "$%d\r\n%d\r\n", adds >= 100 ? 3 : 2, adds);
        expect(c->nodes[i].port, ARGS("ZSCORE", "z:big", "p0"), score);
    }
    for (int i = 0; i < GROUP_CONNS; i++) h_close(w[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_reach_replicas_as_one_step),
        cmocka_unit_test(test_nondeterministic_scripts_leave_equal_digests),
        cmocka_unit_test(test_failed_script_keeps_earlier_writes),
        cmocka_unit_test(test_script_writes_counted_once),
        cmocka_unit_test(test_replicas_run_read_only_scripts),
        cmocka_unit_test(test_two_second_script_starts_no_election),
        cmocka_unit_test(test_busy_script_kill_and_shutdown_nosave),
        cmocka_unit_test(test_evalsha_after_failover),
        cmocka_unit_test(test_functions_on_every_node),
        cmocka_unit_test(test_functions_after_failover_restore_and_flush),
        cmocka_unit_test(test_grouped_scripts_exact_and_never_half_seen),
        cmocka_unit_test(test_grouped_scripts_through_kill_of_primary),
        cmocka_unit_test(test_grouped_zadds_to_a_big_sorted_set),
        cmocka_unit_test(test_script_cache_changes_inside_multi_reach_every_node),
        cmocka_unit_test(test_transaction_with_writing_script),
    };
    const struct CMUnitTest own_cluster[] = {
        cmocka_unit_test(test_library_survives_snapshot_and_restart),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + cmocka_run_group_tests_name("own cluster", own_cluster, NULL, NULL);
}
