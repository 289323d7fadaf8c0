/* replication/write_limit.c: the primary's door for writes too big to
 * replicate - the exact refusal, the boundary, no limit on a single node,
 * where batching cuts an entry - and node/multi.c's size of a transaction's
 * logged form, which must equal the form it builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"
#include "fixture.h"
#include "multi.h"
#include "write_limit.h"

static tc_config cluster_of(size_t nnodes, uint64_t limit)
{
    tc_config c;
    tc_config_defaults(&c);
    c.nnodes = nnodes;
    c.replicated_write_max_bytes = limit;
    return c;
}

static void test_default_is_128mb(void **state)
{
    (void)state;
    tc_config c;
    tc_config_defaults(&c);
    assert_int_equal(c.replicated_write_max_bytes, 128u << 20);
}

static void test_counts_every_argument(void **state)
{
    (void)state;
    tc_slice argv[3] = {{"SET", 3}, {"key", 3}, {"0123456789", 10}};
    assert_int_equal(tc_write_limit_bytes(3, argv), 16);
    assert_int_equal(tc_write_limit_bytes(0, NULL), 0);
}

static void test_refuses_past_the_limit_with_the_exact_text(void **state)
{
    (void)state;
    tc_config c = cluster_of(3, 1000);
    tc_buf out = {0};
    tc_reply rep = {&out, 2};
    assert_int_equal(tc_write_limit_refuse(&c, 1000, &rep), 0); /* at the limit: goes */
    assert_int_equal(out.len, 0);
    assert_int_equal(tc_write_limit_refuse(&c, 1001, &rep), 1);
    const char want[] = "-ERR value too large to replicate: 1001 bytes, limit 1000\r\n";
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.data, want, sizeof want - 1);
    tc_buf_free(&out);
}

static void test_a_single_node_has_no_limit(void **state)
{
    (void)state;
    tc_config c = cluster_of(1, 1000);
    tc_buf out = {0};
    tc_reply rep = {&out, 2};
    assert_int_equal(tc_write_limit_of(&c), 0);
    assert_int_equal(tc_write_limit_refuse(&c, UINT64_C(1) << 32, &rep), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(tc_write_limit_cut(&c, 900, 900), 0);
}

static void test_cuts_a_batch_before_it_passes_the_limit(void **state)
{
    (void)state;
    tc_config c = cluster_of(3, 1000);
    assert_int_equal(tc_write_limit_cut(&c, 500, 500), 0);
    assert_int_equal(tc_write_limit_cut(&c, 500, 501), 1);
    assert_int_equal(tc_write_limit_cut(&c, 0, 1000), 0);
}

/* Above 1 MiB a limit no longer sizes batches: entries made of several
 * writes stay within one log piece, a single write may be larger. */
static void test_batches_stay_within_one_piece(void **state)
{
    (void)state;
    tc_config c = cluster_of(3, UINT64_C(512) << 20);
    assert_int_equal(tc_write_limit_cut(&c, 1000, TC_WRITE_BATCH_MAX_BYTES - 1000), 0);
    assert_int_equal(tc_write_limit_cut(&c, 1000, TC_WRITE_BATCH_MAX_BYTES - 999), 1);
    assert_int_equal(tc_write_limit_cut(&c, 0, UINT64_C(100) << 20), 1); /* the caller cuts only a non-empty entry */
}

/* Queues a command in the client's open transaction, as dispatch does. */
static void queue(fx *f, size_t argc, const char *const *args)
{
    tc_slice argv[16];
    for (size_t i = 0; i < argc; i++) argv[i] = (tc_slice){args[i], strlen(args[i])};
    const tc_cmd *cmd = tc_cmd_lookup(args[0], strlen(args[0]));
    assert_non_null(cmd);
    assert_int_equal(tc_multi_queue(&f->client, cmd, argc, argv), 0);
}

static void test_transaction_bytes_match_its_logged_form(void **state)
{
    fx *f = *state;
    assert_string_equal(fx_run(f, "MULTI", NULL), "+OK\r\n");
    static const char *const set[] = {"set", "k", "some value"};
    static const char *const select[] = {"select", "1"};
    static const char *const rpush[] = {"rpush", "list", "a", "bb", "ccc", "dddd", "e", "f", "g", "h", "i", "j"};
    queue(f, 3, set);
    queue(f, 2, select);
    queue(f, 12, rpush); /* a two-digit argument count */
    uint64_t predicted = tc_multi_log_bytes(&f->client);
    int db = 0;
    size_t argc;
    const tc_slice *argv;
    assert_int_equal(tc_multi_log_args(&f->srv, &f->client, f->now_ms, &db, &argc, &argv), 0);
    assert_int_equal(predicted, tc_write_limit_bytes(argc, argv));
    assert_true(predicted > 3 + 1 + 10); /* more than the SET alone */
    tc_multi_reset(&f->client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_128mb),
        cmocka_unit_test(test_counts_every_argument),
        cmocka_unit_test(test_refuses_past_the_limit_with_the_exact_text),
        cmocka_unit_test(test_a_single_node_has_no_limit),
        cmocka_unit_test(test_cuts_a_batch_before_it_passes_the_limit),
        cmocka_unit_test(test_batches_stay_within_one_piece),
        cmocka_unit_test_setup_teardown(test_transaction_bytes_match_its_logged_form, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
