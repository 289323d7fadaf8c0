/* Unit tests for active expiry (node/expire.c) and its sample over a
 * keyspace's keys with deadlines (tc_ks_expire_sample, node/keyspace.c):
 * the cursor's walk, deleting or reporting, the end of a pass, the sink's
 * refusal, the time budget (on a clock the test moves), effort's
 * parameters and the INFO figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "expire.h"
#include "keyspace.h"

/* n keys "k0".."k<n-1>"; key i gets deadline deadline(i). */
static void fill(tc_keyspace *ks, int n, int64_t (*deadline)(int))
{
    char k[32];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_non_null(tc_ks_set(ks, k, strlen(k), "v", 1, deadline(i)));
    }
}

static int64_t every_tenth_at_500(int i) { return i % 10 == 0 ? 500 : 5000; }
static int64_t all_at_500(int i) { (void)i; return 500; }
static int64_t none_before_5000(int i) { (void)i; return 5000; }

/* A sink that takes up to cap keys and counts them per database. */
typedef struct test_sink {
    size_t taken, cap;
    size_t per_db[4];
    int idle;
    char last[32];
} test_sink;

static int sink_take(void *ud, int db, const char *key, size_t klen)
{
    test_sink *t = ud;
    if (t->taken == t->cap) return -1;
    t->taken++;
    t->per_db[db]++;
    snprintf(t->last, sizeof t->last, "%.*s", (int)klen, key);
    return 0;
}

static int sink_idle(void *ud) { return ((test_sink *)ud)->idle; }

static int take_all(void *ud, const char *key, size_t klen)
{
    (void)key;
    (void)klen;
    (*(size_t *)ud)++;
    return 0;
}

/* A clock that moves `step` microseconds each time it is read. */
typedef struct test_clock {
    uint64_t now, step;
} test_clock;

static uint64_t clock_read(void *ud)
{
    test_clock *c = ud;
    uint64_t t = c->now;
    c->now += c->step;
    return t;
}

/* Deleting: the key that fills a deleted slot is looked at too, so one
 * walk over the keys frees every expired one, and the count is right. */
static void test_sample_deletes_in_place(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    fill(&ks, 1000, every_tenth_at_500);
    size_t total_sampled = 0, total_expired = 0, sampled, expired;
    while (total_sampled < 1000) {
        assert_int_equal(tc_ks_expire_sample(&ks, 1000, 20, 1, NULL, NULL, &sampled, &expired), TC_KS_SAMPLE_DONE);
        total_sampled += sampled;
        total_expired += expired;
    }
    assert_int_equal(total_expired, 100);
    assert_int_equal(tc_ks_size(&ks), 900);
    assert_int_equal(tc_ks_volatile_count(&ks), 900);
    assert_int_equal(ks.expired_keys, 100);
    /* nothing left to find */
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 900, 1, NULL, NULL, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(sampled, 900);
    assert_int_equal(expired, 0);
    tc_ks_free(&ks);
}

/* Reporting: the walk moves past reported keys (nothing is deleted), stops
 * at the end of a pass unless it may start over, and then finds them again
 * (they are still there: a replicated primary waits for their delete). */
static void test_sample_reports_and_stops_at_pass_end(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    fill(&ks, 100, every_tenth_at_500);
    size_t found = 0, sampled, expired;
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 60, 0, take_all, &found, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(sampled, 60);
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 60, 0, take_all, &found, &sampled, &expired),
                     TC_KS_SAMPLE_PASS_END);
    assert_int_equal(sampled, 40);
    assert_int_equal(found, 10);
    assert_int_equal(tc_ks_size(&ks), 100); /* reported, not deleted */
    /* still at the end: no wrap, nothing looked at */
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 60, 0, take_all, &found, &sampled, &expired),
                     TC_KS_SAMPLE_PASS_END);
    assert_int_equal(sampled, 0);
    /* allowed to wrap: a new pass finds them again */
    found = 0;
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 100, 1, take_all, &found, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(found, 10);
    assert_int_equal(expired, 10);
    tc_ks_free(&ks);
}

static int refuse(void *ud, const char *key, size_t klen)
{
    (void)ud;
    (void)key;
    (void)klen;
    return -1;
}

/* A refusing sink stops the sample on the key, which is met again first. */
static void test_sample_refused_key_comes_first_next_time(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    fill(&ks, 30, all_at_500);
    size_t sampled, expired, found = 0;
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 10, 0, refuse, NULL, &sampled, &expired), TC_KS_SAMPLE_REFUSED);
    assert_int_equal(sampled, 0);
    assert_int_equal(expired, 0);
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 30, 0, take_all, &found, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(found, 30);
    tc_ks_free(&ks);
}

/* An empty keyspace, and keys not yet expired. */
static void test_sample_edges(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    size_t sampled = 9, expired = 9;
    assert_int_equal(tc_ks_expire_sample(&ks, 1000, 20, 1, NULL, NULL, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(sampled, 0);
    assert_int_equal(expired, 0);
    fill(&ks, 5, none_before_5000);
    assert_int_equal(tc_ks_expire_sample(&ks, 4999, 20, 1, NULL, NULL, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(sampled, 20); /* wrapped around five keys */
    assert_int_equal(expired, 0);
    assert_int_equal(tc_ks_size(&ks), 5);
    /* the deadline itself counts as expired, as everywhere else */
    assert_int_equal(tc_ks_expire_sample(&ks, 5000, 20, 1, NULL, NULL, &sampled, &expired), TC_KS_SAMPLE_DONE);
    assert_int_equal(expired, 5);
    assert_int_equal(tc_ks_size(&ks), 0);
    tc_ks_free(&ks);
}

static void test_params_follow_redis(void **state)
{
    (void)state;
    tc_expire_params p;
    tc_expire_params_for(1, &p);
    assert_int_equal(p.keys_per_loop, 20);
    assert_int_equal(p.fast_duration_us, 1000);
    assert_int_equal(p.slow_time_perc, 25);
    assert_int_equal(p.acceptable_stale, 10);
    tc_expire_params_for(10, &p);
    assert_int_equal(p.keys_per_loop, 65);
    assert_int_equal(p.fast_duration_us, 3250);
    assert_int_equal(p.slow_time_perc, 43);
    assert_int_equal(p.acceptable_stale, 1);
}

static tc_expire_run slow_run(test_clock *clk, int64_t now_ms, const tc_expire_sink *sink)
{
    tc_expire_run run = {.type = TC_EXPIRE_SLOW, .effort = 1, .hz = 10, .now_ms = now_ms, .clock = clock_read,
                         .clock_ud = clk, .sink = sink};
    return run;
}

/* Many expired keys and time to spare: one slow cycle frees them all in
 * every database; with few expired it stops after a sample or so. */
static void test_cycle_frees_every_database(void **state)
{
    (void)state;
    tc_keyspace dbs[3];
    for (int i = 0; i < 3; i++) tc_ks_init(&dbs[i], 1, 2);
    fill(&dbs[0], 2000, all_at_500);
    fill(&dbs[2], 300, all_at_500);
    tc_expire_state st = {0};
    test_clock clk = {1000000, 1};
    tc_expire_run run = slow_run(&clk, 1000, NULL);
    assert_int_equal(tc_expire_cycle(&st, dbs, 3, &run), 2300);
    assert_int_equal(tc_ks_size(&dbs[0]) + tc_ks_size(&dbs[2]), 0);
    assert_int_equal(dbs[0].expired_keys + dbs[2].expired_keys, 2300);
    assert_false(st.timelimit_exit);
    assert_int_equal(st.time_cap_reached, 0);
    assert_true(st.stale_perc > 0.04); /* one cycle of all-expired samples moves the average by 5% */
    /* live keys: the walk stops after one sample */
    fill(&dbs[1], 1000, none_before_5000);
    assert_int_equal(tc_expire_cycle(&st, dbs, 3, &run), 0);
    assert_int_equal(tc_ks_size(&dbs[1]), 1000);
    for (int i = 0; i < 3; i++) tc_ks_free(&dbs[i]);
}

/* The time budget: a slow cycle at hz 10 has 25 ms; on a clock moving
 * 1 ms per read it stops, counts the cap, and the next cycle resumes in
 * the database it stopped in, so every key is reached. */
static void test_cycle_time_cap_and_resume(void **state)
{
    (void)state;
    tc_keyspace dbs[2];
    for (int i = 0; i < 2; i++) tc_ks_init(&dbs[i], 1, 2);
    fill(&dbs[0], 1000, all_at_500);
    fill(&dbs[1], 1000, all_at_500);
    tc_expire_state st = {0};
    test_clock clk = {1000000, 1000};
    tc_expire_run run = slow_run(&clk, 1000, NULL);
    size_t first = tc_expire_cycle(&st, dbs, 2, &run);
    assert_true(first > 0 && first < 2000);
    assert_true(st.timelimit_exit);
    assert_int_equal(st.time_cap_reached, 1);
    assert_true(st.cycle_us >= 25000);
    size_t total = first, cycles = 1;
    while (tc_ks_size(&dbs[0]) + tc_ks_size(&dbs[1]) > 0 && cycles < 1000) {
        total += tc_expire_cycle(&st, dbs, 2, &run);
        cycles++;
    }
    assert_int_equal(total, 2000);
    assert_true(st.time_cap_reached >= 2);
    /* a fast cycle is due after a capped one, and not twice in a row */
    st.timelimit_exit = 1;
    assert_true(tc_expire_fast_due(&st, 1, clk.now));
    fill(&dbs[0], 10, all_at_500);
    run.type = TC_EXPIRE_FAST;
    clk.step = 1;
    tc_expire_cycle(&st, dbs, 2, &run);
    assert_int_equal(tc_ks_size(&dbs[0]), 0);
    assert_false(tc_expire_fast_due(&st, 1, clk.now));
    /* later, due again only while stale keys are still many */
    assert_int_equal(tc_expire_fast_due(&st, 1, clk.now + 2000), st.stale_perc * 100 >= 10);
    for (int i = 0; i < 2; i++) tc_ks_free(&dbs[i]);
}

/* With a sink: keys are reported with their database, a full sink ends the
 * cycle (sink_full, no time cap), and while it is not idle the walk does not
 * start over and report the same keys twice. */
static void test_cycle_with_sink(void **state)
{
    (void)state;
    tc_keyspace dbs[2];
    for (int i = 0; i < 2; i++) tc_ks_init(&dbs[i], 1, 2);
    fill(&dbs[0], 500, all_at_500);
    fill(&dbs[1], 100, all_at_500);
    test_sink t = {.cap = 300, .idle = 0};
    tc_expire_sink sink = {sink_take, sink_idle, &t};
    tc_expire_state st = {0};
    test_clock clk = {1000000, 1};
    tc_expire_run run = slow_run(&clk, 1000, &sink);
    assert_int_equal(tc_expire_cycle(&st, dbs, 2, &run), 300);
    assert_true(st.sink_full);
    assert_false(st.timelimit_exit);
    assert_int_equal(st.next_db, 0);
    assert_int_equal(tc_ks_size(&dbs[0]), 500); /* nothing deleted here */
    /* room again, still not idle: the rest of the pass, then database 1 */
    t.cap = 100000;
    assert_int_equal(tc_expire_cycle(&st, dbs, 2, &run), 300);
    assert_int_equal(t.per_db[0], 500);
    assert_int_equal(t.per_db[1], 100);
    assert_false(st.sink_full);
    /* not idle: no key is reported twice */
    assert_int_equal(tc_expire_cycle(&st, dbs, 2, &run), 0);
    /* idle (the deletes were applied elsewhere; here the keys remain): a new pass */
    t.idle = 1;
    assert_true(tc_expire_cycle(&st, dbs, 2, &run) > 0);
    for (int i = 0; i < 2; i++) tc_ks_free(&dbs[i]);
}

/* Deletes done elsewhere (a primary applying its expiry entries) are paid
 * from the next slow budgets: a 30 ms charge skips one slow cycle of 25 ms
 * (a time cap) and shortens the next to 20 ms; a fast cycle forgives it. */
static void test_charge_comes_out_of_the_budget(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    fill(&ks, 1000, all_at_500);
    tc_expire_state st = {0};
    tc_expire_charge(&st, 30000);
    assert_int_equal(st.cycle_us, 30000);
    test_clock clk = {1000000, 1000}; /* 1 ms per read */
    tc_expire_run run = slow_run(&clk, 1000, NULL);
    assert_int_equal(tc_expire_cycle(&st, &ks, 1, &run), 0);
    assert_int_equal(tc_ks_size(&ks), 1000);
    assert_int_equal(st.time_cap_reached, 1);
    assert_true(st.timelimit_exit);
    assert_int_equal(st.debt_us, 5000);
    /* 20 ms left on a clock of 1 ms per sample: about 20 samples of 20 */
    size_t freed = tc_expire_cycle(&st, &ks, 1, &run);
    assert_true(freed >= 15 * 20 && freed <= 22 * 20);
    assert_int_equal(st.debt_us, 0);
    assert_int_equal(st.time_cap_reached, 2);
    /* a fast cycle forgives what is charged */
    tc_expire_charge(&st, 50000);
    run.type = TC_EXPIRE_FAST;
    st.last_fast_start_us = 0;
    clk.step = 1;
    assert_true(tc_expire_cycle(&st, &ks, 1, &run) > 0);
    assert_int_equal(st.debt_us, 0);
    tc_ks_free(&ks);
}

/* With no key left to look at, the stale average decays (and stays a
 * number), so fast cycles stop being wanted; their wait is counted from the
 * last one's start. */
static void test_stale_average_decays_without_keys(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_expire_state st = {.stale_perc = 0.5};
    test_clock clk = {1000000, 1};
    tc_expire_run run = slow_run(&clk, 1000, NULL);
    assert_true(tc_expire_fast_wait(&st, 1, clk.now) == 0);
    for (int i = 0; i < 40; i++) tc_expire_cycle(&st, &ks, 1, &run);
    assert_true(st.stale_perc == st.stale_perc); /* not NaN */
    assert_true(st.stale_perc < 0.1);
    assert_true(tc_expire_fast_wait(&st, 1, clk.now) == TC_EXPIRE_NO_FAST);
    /* after a capped cycle: the next fast one 2 ms after the last one began */
    st.timelimit_exit = 1;
    st.last_fast_start_us = 5000000;
    assert_int_equal(tc_expire_fast_wait(&st, 1, 5000500), 1500);
    assert_int_equal(tc_expire_fast_wait(&st, 1, 5002000), 0);
    tc_ks_free(&ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_deletes_in_place),
        cmocka_unit_test(test_sample_reports_and_stops_at_pass_end),
        cmocka_unit_test(test_sample_refused_key_comes_first_next_time),
        cmocka_unit_test(test_sample_edges),
        cmocka_unit_test(test_params_follow_redis),
        cmocka_unit_test(test_cycle_frees_every_database),
        cmocka_unit_test(test_cycle_time_cap_and_resume),
        cmocka_unit_test(test_cycle_with_sink),
        cmocka_unit_test(test_charge_comes_out_of_the_budget),
        cmocka_unit_test(test_stale_average_decays_without_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
