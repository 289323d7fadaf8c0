/* The latency monitor (node/latency.c): the sample history of an event
 * (one sample a second holding that second's worst, 160 kept, the worst
 * ever), RESET, the histogram's buckets, and LATENCY's replies and errors
 * on a node without networking; DEBUG SLEEP's arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "latency.h"

static void test_same_second_keeps_the_worst(void **state)
{
    (void)state;
    static tc_latency l;
    memset(&l, 0, sizeof l);
    tc_latency_add(&l, TC_LAT_COMMAND, 50, 1000);
    tc_latency_add(&l, TC_LAT_COMMAND, 80, 1000);
    tc_latency_add(&l, TC_LAT_COMMAND, 30, 1000); /* lower: the second's sample stays 80 */
    tc_latency_sample sm[TC_LATENCY_SAMPLES];
    assert_int_equal(tc_latency_history(&l, TC_LAT_COMMAND, sm), 1);
    assert_int_equal(sm[0].time, 1000);
    assert_int_equal(sm[0].ms, 80);

    tc_latency_add(&l, TC_LAT_COMMAND, 20, 1001); /* a new second: a new sample, however small */
    assert_int_equal(tc_latency_history(&l, TC_LAT_COMMAND, sm), 2);
    assert_int_equal(sm[1].time, 1001);
    assert_int_equal(sm[1].ms, 20);
    tc_latency_sample last = tc_latency_last(&l, TC_LAT_COMMAND);
    assert_int_equal(last.time, 1001);
    assert_int_equal(last.ms, 20);
    assert_int_equal(l.ev[TC_LAT_COMMAND].max, 80);
    /* the other events saw nothing */
    assert_int_equal(tc_latency_history(&l, TC_LAT_EVENT_LOOP, sm), 0);
    assert_int_equal(l.ev[TC_LAT_EVENT_LOOP].active, 0);
}

static void test_history_keeps_160(void **state)
{
    (void)state;
    static tc_latency l;
    memset(&l, 0, sizeof l);
    for (int i = 1; i <= 400; i++) tc_latency_add(&l, TC_LAT_RAFT_LOG_WRITE, (uint32_t)(i % 250), 5000 + i);
    tc_latency_sample sm[TC_LATENCY_SAMPLES];
    assert_int_equal(tc_latency_history(&l, TC_LAT_RAFT_LOG_WRITE, sm), TC_LATENCY_SAMPLES);
    /* the newest 160, oldest first */
    for (int j = 0; j < TC_LATENCY_SAMPLES; j++) {
        assert_int_equal(sm[j].time, 5000 + 241 + j);
        assert_int_equal(sm[j].ms, (241 + j) % 250);
    }
    /* the worst ever outlives the samples that carried it */
    assert_int_equal(l.ev[TC_LAT_RAFT_LOG_WRITE].max, 249);
    assert_int_equal(tc_latency_last(&l, TC_LAT_RAFT_LOG_WRITE).time, 5400);
}

static void test_reset(void **state)
{
    (void)state;
    static tc_latency l;
    memset(&l, 0, sizeof l);
    tc_latency_add(&l, TC_LAT_COMMAND, 10, 1);
    tc_latency_add(&l, TC_LAT_EVENT_LOOP, 12, 1);
    assert_int_equal(tc_latency_reset(&l, TC_LAT_COMMAND), 1);
    assert_int_equal(tc_latency_reset(&l, TC_LAT_COMMAND), 0); /* already gone */
    assert_int_equal(tc_latency_reset(&l, -1), 0);
    assert_int_equal(tc_latency_reset(&l, TC_LAT_NEVENTS), 0);
    tc_latency_sample sm[TC_LATENCY_SAMPLES];
    assert_int_equal(tc_latency_history(&l, TC_LAT_COMMAND, sm), 0);
    assert_int_equal(l.ev[TC_LAT_COMMAND].max, 0);
    assert_int_equal(tc_latency_history(&l, TC_LAT_EVENT_LOOP, sm), 1);
    /* a reset event starts again from nothing */
    tc_latency_add(&l, TC_LAT_COMMAND, 7, 2);
    assert_int_equal(tc_latency_history(&l, TC_LAT_COMMAND, sm), 1);
    assert_int_equal(l.ev[TC_LAT_COMMAND].max, 7);
}

static void test_event_names(void **state)
{
    (void)state;
    static const char *const names[] = {"command",      "fast-command",   "expire-cycle", "eviction-cycle",
                                        "eviction-del", "raft-log-write", "event-loop"};
    for (int i = 0; i < TC_LAT_NEVENTS; i++) {
        assert_string_equal(tc_latency_event_name(i), names[i]);
        assert_int_equal(tc_latency_event_find(names[i], strlen(names[i])), i);
    }
    assert_null(tc_latency_event_name(TC_LAT_NEVENTS));
    assert_int_equal(tc_latency_event_find("COMMAND", 7), -1); /* Redis's event names are case-sensitive */
    assert_int_equal(tc_latency_event_find("comman", 6), -1);
    assert_int_equal(tc_latency_event_find("commands", 8), -1);
}

static void test_histogram_steps(void **state)
{
    (void)state;
    /* the labels redis-server 7.0 answers in LATENCY HISTOGRAM */
    static const uint64_t labels[TC_LATENCY_HIST_STEPS] = {1,     2,     4,     8,      16,     33,     66,
                                                           132,   264,   528,   1056,   2113,   4227,   8454,
                                                           16908, 33816, 67633, 135266, 270532, 541065, 1082130};
    for (int i = 0; i < TC_LATENCY_HIST_STEPS; i++) assert_int_equal(tc_latency_hist_step_usec(i), labels[i]);
    assert_int_equal(tc_latency_hist_step(0), 0); /* raised to the smallest value, 1024 ns */
    assert_int_equal(tc_latency_hist_step(1), 0);
    assert_int_equal(tc_latency_hist_step(2), 1);
    assert_int_equal(tc_latency_hist_step(16), 4);   /* 16000 ns: up to 16511 counts as 16384 */
    assert_int_equal(tc_latency_hist_step(17), 5);
    assert_int_equal(tc_latency_hist_step(33), 5);   /* 33000 ns <= 33023 */
    assert_int_equal(tc_latency_hist_step(34), 6);
    assert_int_equal(tc_latency_hist_step(200000), 18); /* DEBUG SLEEP 0.2: 270532, as Redis answered */
    assert_int_equal(tc_latency_hist_step(999999), 20);
    assert_int_equal(tc_latency_hist_step(5000000), 20); /* kept within 1 s */
    assert_int_equal(tc_latency_hist_step(UINT64_MAX), 20);
    tc_latency_hist h;
    memset(&h, 0, sizeof h);
    tc_latency_hist_record(&h, 3);
    tc_latency_hist_record(&h, 3);
    tc_latency_hist_record(&h, 70);
    assert_int_equal(h.count[2], 2);
    assert_int_equal(h.count[7], 1);
}

static void test_latency_command(void **state)
{
    fx *f = *state;
    tc_server *s = &f->srv;
    /* off: nothing is recorded */
    tc_latency_note(s, TC_LAT_COMMAND, 500);
    assert_string_equal(fx_run(f, "LATENCY", "LATEST", NULL), "*0\r\n");

    s->cfg.latency_monitor_threshold = 10;
    tc_latency_note(s, TC_LAT_COMMAND, 9); /* under the threshold */
    assert_string_equal(fx_run(f, "LATENCY", "LATEST", NULL), "*0\r\n");
    tc_latency_note(s, TC_LAT_COMMAND, 10);
    tc_latency_note(s, TC_LAT_RAFT_LOG_WRITE, 40);
    tc_latency_sample c = tc_latency_last(&s->latency, TC_LAT_COMMAND);
    tc_latency_sample w = tc_latency_last(&s->latency, TC_LAT_RAFT_LOG_WRITE);
    char want[256];
    snprintf(want, sizeof want,
             "*2\r\n*4\r\n$7\r\ncommand\r\n:%lld\r\n:10\r\n:10\r\n*4\r\n$14\r\nraft-log-write\r\n:%lld\r\n:40\r\n:40\r\n",
             (long long)c.time, (long long)w.time);
    assert_string_equal(fx_run(f, "LATENCY", "LATEST", NULL), want);
    snprintf(want, sizeof want, "*1\r\n*2\r\n:%lld\r\n:40\r\n", (long long)w.time);
    assert_string_equal(fx_run(f, "LATENCY", "HISTORY", "raft-log-write", NULL), want);
    assert_string_equal(fx_run(f, "LATENCY", "HISTORY", "nosuch", NULL), "*0\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "history", "event-loop", NULL), "*0\r\n");
    /* GRAPH: a report for an event with samples, Redis's error otherwise */
    assert_memory_equal(fx_run(f, "LATENCY", "GRAPH", "command", NULL), "$", 1);
    assert_string_equal(fx_run(f, "LATENCY", "GRAPH", "event-loop", NULL),
                        "-ERR No samples available for event 'event-loop'\r\n");
    /* DOCTOR: a bulk string naming what was seen */
    const char *doc = fx_run(f, "LATENCY", "DOCTOR", NULL);
    assert_memory_equal(doc, "$", 1);
    assert_non_null(strstr(doc, "raft-log-write"));
    /* RESET: events named twice or unknown count once or not at all */
    assert_string_equal(fx_run(f, "LATENCY", "RESET", "command", "nosuch", "command", NULL), ":1\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "HISTORY", "command", NULL), "*0\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "RESET", NULL), ":1\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "RESET", NULL), ":0\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "LATEST", NULL), "*0\r\n");
}

static void test_latency_errors(void **state)
{
    fx *f = *state;
    assert_string_equal(fx_run(f, "LATENCY", NULL), "-ERR wrong number of arguments for 'latency' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "foo", NULL), "-ERR unknown subcommand 'foo'. Try LATENCY HELP.\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "HISTORY", NULL),
                        "-ERR wrong number of arguments for 'latency|history' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "HISTORY", "a", "b", NULL),
                        "-ERR wrong number of arguments for 'latency|history' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "GRAPH", NULL),
                        "-ERR wrong number of arguments for 'latency|graph' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "LATEST", "x", NULL),
                        "-ERR wrong number of arguments for 'latency|latest' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "DOCTOR", "x", NULL),
                        "-ERR wrong number of arguments for 'latency|doctor' command\r\n");
    assert_string_equal(fx_run(f, "LATENCY", "HELP", "x", NULL),
                        "-ERR wrong number of arguments for 'latency|help' command\r\n");
    assert_memory_equal(fx_run(f, "LATENCY", "HELP", NULL), "*17\r\n+LATENCY <subcommand>", 26);
}

static void test_histogram_reply(void **state)
{
    fx *f = *state;
    assert_string_equal(fx_run(f, "LATENCY", "HISTOGRAM", "ping", "nosuch", NULL), "*0\r\n"); /* never run */
    fx_run(f, "PING", NULL);
    fx_run(f, "PING", NULL);
    fx_run(f, "ECHO", "x", NULL);
    /* each command named once, unknown ones left out; RESP2 maps are flat arrays */
    const char *r = fx_run(f, "LATENCY", "HISTOGRAM", "ping", "nosuch", "PING", NULL);
    const char *head = "*2\r\n$4\r\nping\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n*";
    assert_memory_equal(r, head, strlen(head));
    /* the last level's cumulative count is every call */
    size_t len = strlen(r);
    assert_true(len > 6);
    assert_string_equal(r + len - 4, ":2\r\n");
    /* no names: every command that ran (ECHO, PING, and LATENCY itself) */
    r = fx_run(f, "LATENCY", "HISTOGRAM", NULL);
    assert_memory_equal(r, "*6\r\n", 4);
    assert_non_null(strstr(r, "$4\r\necho\r\n"));
    assert_non_null(strstr(r, "$7\r\nlatency\r\n"));
    /* CONFIG RESETSTAT forgets them, as Redis's does */
    fx_run(f, "CONFIG", "RESETSTAT", NULL);
    assert_string_equal(fx_run(f, "LATENCY", "HISTOGRAM", "ping", NULL), "*0\r\n");
}

static void test_debug_sleep(void **state)
{
    fx *f = *state;
    static const char bad[] = "-ERR DEBUG SLEEP <seconds>: seconds must be a number between 0 and 2147483647\r\n";
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "0", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "abc", NULL), bad);
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "-1", NULL), bad);
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "nan", NULL), bad);
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "inf", NULL), bad);
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "1e300", NULL), bad);
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", NULL),
                        "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n");
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "1", "2", NULL),
                        "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n");
    /* a sleep of 20 ms is a command of at least 20 ms: over a 5 ms threshold */
    f->srv.cfg.latency_monitor_threshold = 5;
    assert_string_equal(fx_run(f, "DEBUG", "SLEEP", "0.02", NULL), "+OK\r\n");
    tc_latency_sample c = tc_latency_last(&f->srv.latency, TC_LAT_COMMAND);
    assert_true(c.time > 0);
    assert_true(c.ms >= 20);
    assert_int_equal(f->srv.latency.ev[TC_LAT_FAST_COMMAND].active, 0); /* DEBUG is not a fast command */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_second_keeps_the_worst),
        cmocka_unit_test(test_history_keeps_160),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_histogram_steps),
        cmocka_unit_test_setup_teardown(test_latency_command, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_latency_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_histogram_reply, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_debug_sleep, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
