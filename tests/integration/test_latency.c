/* The latency monitor and DEBUG SLEEP on real nodes (issues 17 and 19).
 *
 * One node: with latency-monitor-threshold set, DEBUG SLEEP 0.2 shows in
 * LATENCY LATEST and HISTORY as a `command` and an `event-loop` sample of
 * at least 200 ms, taken while the test waited; LATENCY HISTOGRAM counts
 * it; RESET clears the events. Three nodes: DEBUG SLEEP on the primary is
 * local (no replica runs it: it never reaches the log) and its loop stall
 * is recorded there; the threshold is a per-node setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
#define REPLICATION_DEADLINE_MS 15000
/* loose: a 0.2 s sleep must not come out as anything near this */
#define SANE_MS 10000

/* Raw reply of one inline command on a new connection. */
static char *ask(int port, const char *line)
{
    int fd = h_connect(port);
    h_sends(fd, line);
    h_sends(fd, "\r\n");
    char *r = h_reply(fd);
    h_close(fd);
    assert_non_null(r);
    return r;
}

static void ask_expect(int port, const char *line, const char *want)
{
    char *r = ask(port, line);
    if (strcmp(r, want) != 0) fail_msg("%s: want %s, got %s", line, want, r);
    free(r);
}

/* The integer of the ':' line at *p; moves *p past it. */
static long long take_int(const char **p)
{
    if (**p != ':') fail_msg("expected an integer at: %.40s", *p);
    char *end;
    long long v = strtoll(*p + 1, &end, 10);
    if (strncmp(end, "\r\n", 2) != 0) fail_msg("bad integer line at: %.40s", *p);
    *p = end + 2;
    return v;
}

/* LATENCY LATEST's row for event: 1 and its time, latest and worst, or 0. */
static int latest_row(const char *reply, const char *event, long long *time_s, long long *last_ms, long long *max_ms)
{
    char head[64];
    snprintf(head, sizeof head, "*4\r\n$%zu\r\n%s\r\n", strlen(event), event);
    const char *p = strstr(reply, head);
    if (!p) return 0;
    p += strlen(head);
    *time_s = take_int(&p);
    *last_ms = take_int(&p);
    *max_ms = take_int(&p);
    return 1;
}

/* Whether LATENCY HISTORY's reply holds a sample of at least min_ms taken
 * between the unix seconds from and to; fails on a malformed reply. */
static int history_has(const char *reply, long long min_ms, long long from, long long to)
{
    const char *p = reply;
    if (*p != '*') fail_msg("HISTORY is no array: %s", reply);
    long long n = strtoll(p + 1, NULL, 10);
    p = strstr(p, "\r\n") + 2;
    int found = 0;
    for (long long i = 0; i < n; i++) {
        if (strncmp(p, "*2\r\n", 4) != 0) fail_msg("HISTORY sample %lld is no pair: %s", i, reply);
        p += 4;
        long long t = take_int(&p), ms = take_int(&p);
        if (ms < 0 || ms > SANE_MS * 100) fail_msg("HISTORY sample of %lld ms", ms);
        if (ms >= min_ms && ms < SANE_MS && t >= from && t <= to) found = 1;
    }
    if (*p) fail_msg("HISTORY has more than its %lld samples: %s", n, reply);
    return found;
}

static void sleep_and_check(int port, const char *seconds, long long at_least_ms)
{
    long long from = (long long)time(NULL), start = h_ms();
    char line[64];
    snprintf(line, sizeof line, "DEBUG SLEEP %s", seconds);
    ask_expect(port, line, "+OK\r\n");
    if (h_ms() - start < at_least_ms) fail_msg("DEBUG SLEEP %s answered after %lld ms", seconds, h_ms() - start);
    long long to = (long long)time(NULL);

    char *latest = ask(port, "LATENCY LATEST");
    static const char *const events[] = {"command", "event-loop"};
    for (int e = 0; e < 2; e++) {
        long long t = 0, last = 0, max = 0;
        if (!latest_row(latest, events[e], &t, &last, &max)) fail_msg("LATENCY LATEST has no %s: %s", events[e], latest);
        /* later spikes may replace the latest, never lower the worst */
        if (max < at_least_ms || max >= SANE_MS || last > max || t < from)
            fail_msg("LATENCY LATEST %s: time %lld (sleep in %lld..%lld), latest %lld ms, worst %lld ms", events[e], t,
                     from, to, last, max);
        snprintf(line, sizeof line, "LATENCY HISTORY %s", events[e]);
        char *hist = ask(port, line);
        if (!history_has(hist, at_least_ms, from, to))
            fail_msg("LATENCY HISTORY %s has no sample of %lld ms or more between %lld and %lld: %s", events[e],
                     at_least_ms, from, to, hist);
        free(hist);
    }
    free(latest);
}

static void test_one_node(void **state)
{
    (void)state;
    tnode *n = h_start(NULL);
    ask_expect(n->port, "CONFIG GET latency-monitor-threshold",
               "*2\r\n$25\r\nlatency-monitor-threshold\r\n$1\r\n0\r\n");
    /* off: a stall is not recorded */
    ask_expect(n->port, "DEBUG SLEEP 0.05", "+OK\r\n");
    ask_expect(n->port, "LATENCY HISTORY command", "*0\r\n");
    ask_expect(n->port, "DEBUG SLEEP 0", "+OK\r\n");

    ask_expect(n->port, "CONFIG SET latency-monitor-threshold 100", "+OK\r\n");
    ask_expect(n->port, "CONFIG GET latency-monitor-threshold",
               "*2\r\n$25\r\nlatency-monitor-threshold\r\n$3\r\n100\r\n");
    sleep_and_check(n->port, "0.2", 200);

    /* the histogram of DEBUG: every call counted, the sleep in a level of
     * 200 ms or more (Redis's labels: 270532, 541065, 1082130 µs) */
    char *h = ask(n->port, "LATENCY HISTOGRAM debug");
    static const char head[] = "*2\r\n$5\r\ndebug\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n";
    if (strncmp(h, head, strlen(head)) != 0) fail_msg("LATENCY HISTOGRAM debug (3 calls): %s", h);
    if (!strstr(h, ":270532\r\n") && !strstr(h, ":541065\r\n") && !strstr(h, ":1082130\r\n"))
        fail_msg("no level of 200 ms or more in %s", h);
    assert_string_equal(h + strlen(h) - 4, ":3\r\n"); /* cumulative: the last level holds every call */
    free(h);

    char *doc = ask(n->port, "LATENCY DOCTOR");
    assert_int_equal(doc[0], '$');
    assert_non_null(strstr(doc, "event-loop"));
    free(doc);

    /* nothing new can be recorded past this threshold: RESET leaves nothing */
    ask_expect(n->port, "CONFIG SET latency-monitor-threshold 1000000", "+OK\r\n");
    char *r = ask(n->port, "LATENCY RESET");
    assert_int_equal(r[0], ':');
    if (atoll(r + 1) < 2) fail_msg("LATENCY RESET reset %s events, want command and event-loop at least", r);
    free(r);
    ask_expect(n->port, "LATENCY LATEST", "*0\r\n");
    ask_expect(n->port, "LATENCY HISTORY command", "*0\r\n");
    ask_expect(n->port, "LATENCY HISTORY event-loop", "*0\r\n");
    ask_expect(n->port, "LATENCY RESET", ":0\r\n");
    ask_expect(n->port, "LATENCY GRAPH command", "-ERR No samples available for event 'command'\r\n");

    /* bad arguments: an error, and the node still serves */
    ask_expect(n->port, "DEBUG SLEEP x",
               "-ERR DEBUG SLEEP <seconds>: seconds must be a number between 0 and 2147483647\r\n");
    ask_expect(n->port, "LATENCY HISTORY", "-ERR wrong number of arguments for 'latency|history' command\r\n");
    ask_expect(n->port, "PING", "+PONG\r\n");
    assert_int_equal(h_stop(n), 0);
}

static void test_cluster_debug_sleep_is_local(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int port = c->nodes[p].port;
    ask_expect(port, "CONFIG SET latency-monitor-threshold 50", "+OK\r\n");
    /* 0.1 s: well under the election timeout (300 ms), so the primary stays */
    sleep_and_check(port, "0.1", 100);
    ask_expect(port, "SET after-sleep 1", "+OK\r\n");
    for (int i = 0; i < c->n; i++) {
        if (i == p) continue;
        /* the write after the sleep applied here: a logged DEBUG would have been applied before it */
        long long deadline = h_ms() + REPLICATION_DEADLINE_MS;
        for (;;) {
            char *v = ask(c->nodes[i].port, "GET after-sleep");
            int done = strcmp(v, "$1\r\n1\r\n") == 0;
            free(v);
            if (done) break;
            if (h_ms() > deadline) fail_msg("node %d did not apply the write after DEBUG SLEEP", i + 1);
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        char *stats = ask(c->nodes[i].port, "INFO commandstats");
        if (strstr(stats, "cmdstat_debug:")) fail_msg("node %d ran the primary's DEBUG SLEEP: %s", i + 1, stats);
        free(stats);
        /* the threshold is per node, as Redis's */
        ask_expect(c->nodes[i].port, "CONFIG GET latency-monitor-threshold",
                   "*2\r\n$25\r\nlatency-monitor-threshold\r\n$1\r\n0\r\n");
        ask_expect(c->nodes[i].port, "LATENCY LATEST", "*0\r\n");
    }
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node),
        cmocka_unit_test(test_cluster_debug_sleep_is_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
