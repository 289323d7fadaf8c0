/* replication/apply.c: log entries applied to a node, deterministically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apply.h"
#include "fixture.h"
#include "log_entry.h"

static void add(tc_buf *b, size_t argc, ...)
{
    tc_slice v[16];
    va_list ap;
    va_start(ap, argc);
    for (size_t i = 0; i < argc; i++) {
        v[i].p = va_arg(ap, const char *);
        v[i].len = strlen(v[i].p);
    }
    va_end(ap);
    tc_logentry_add(b, argc, v);
}

static const char *reply(const tc_apply_replies *r, size_t i, char *buf)
{
    size_t start = i ? r->ends[i - 1] : 0;
    memcpy(buf, r->replies.data + start, r->ends[i] - start);
    buf[r->ends[i] - start] = '\0';
    return buf;
}

static void test_replies_per_command(void **state)
{
    fx *f = *state;
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000, 7);
    add(&e, 3, "SET", "k", "v");
    add(&e, 2, "INCR", "k");
    add(&e, 2, "INCR", "n");
    add(&e, 4, "SET", "k", "w", "NX");
    assert_int_equal(tc_logentry_end(&e, 4), 0);
    tc_apply_state st = {0};
    tc_apply_replies out = {0};
    char err[128], buf[128];
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, &out, err, sizeof err), 0);
    assert_int_equal(out.n, 4);
    assert_string_equal(reply(&out, 0, buf), "+OK\r\n");
    assert_string_equal(reply(&out, 1, buf), "-ERR value is not an integer or out of range\r\n");
    assert_string_equal(reply(&out, 2, buf), ":1\r\n");
    assert_string_equal(reply(&out, 3, buf), "$-1\r\n");
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.commands, 4);
    tc_apply_replies_free(&out);
    tc_buf_free(&e);
}

static void test_same_entries_same_state(void **state)
{
    fx *a = *state;
    void *second;
    assert_int_equal(fx_setup(&second), 0);
    fx *b = second;
    tc_apply_state sa = {0}, sb = {0};
    char err[128];
    /* relative TTLs resolve against the entry's time on every node, no
     * matter when each node applies it */
    for (int i = 0; i < 50; i++) {
        tc_buf e = {0};
        tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 5000 + i, 7);
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 7);
        add(&e, 5, "SET", key, "v", "EX", "100");
        add(&e, 3, "APPEND", key, "x");
        add(&e, 3, "PEXPIRE", "k3", "50");
        assert_int_equal(tc_logentry_end(&e, 3), 0);
        assert_int_equal(tc_apply_entry(&a->srv, &sa, e.data, e.len, NULL, err, sizeof err), 0);
        assert_int_equal(tc_apply_entry(&b->srv, &sb, e.data, e.len, NULL, err, sizeof err), 0);
        tc_buf_free(&e);
    }
    unsigned char da[20], db[20];
    tc_ks_digest(&a->srv.dbs[0], 0, da);
    tc_ks_digest(&b->srv.dbs[0], 0, db);
    assert_memory_equal(da, db, 20);
    tc_key *k0 = tc_ks_find(&a->srv.dbs[0], "k0", 2, 0);
    assert_non_null(k0);
    assert_int_equal(k0->expire_at, 5049 + 100000); /* last written by entry 49 */
    fx_teardown(&second);
}

static void test_clock_never_goes_back(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[128];
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 10000, 7);
    add(&e, 5, "SET", "a", "v", "PX", "100");
    tc_logentry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    /* a later entry stamped earlier (a new primary's slower clock) */
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 2000, 7);
    add(&e, 5, "SET", "b", "v", "PX", "100");
    tc_logentry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(st.clock_ms, 10000);
    assert_int_equal(tc_ks_find(&f->srv.dbs[0], "b", 1, 0)->expire_at, 10100);
    tc_buf_free(&e);
}

static void test_expire_entries_delete_only_expired(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[128];
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000, 7);
    add(&e, 5, "SET", "old", "v", "PX", "10");
    add(&e, 5, "SET", "fresh", "v", "PX", "10");
    add(&e, 3, "SET", "forever", "v");
    tc_logentry_end(&e, 3);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    /* "fresh" was written again after the primary decided to expire it */
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1005, 7);
    add(&e, 5, "SET", "fresh", "v", "PX", "1000");
    tc_logentry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    tc_logentry_begin(&e, TC_LOGENTRY_EXPIRE, 1010, 7);
    add(&e, 1, "old");
    add(&e, 1, "fresh");
    add(&e, 1, "forever");
    add(&e, 1, "missing");
    tc_logentry_end(&e, 4);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(tc_ks_size(&f->srv.dbs[0]), 2);
    assert_non_null(tc_ks_find(&f->srv.dbs[0], "fresh", 5, 1010));
    assert_non_null(tc_ks_find(&f->srv.dbs[0], "forever", 7, 1010));
    tc_buf_free(&e);
}

static void test_malformed_entry_changes_nothing(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[128];
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000, 7);
    add(&e, 3, "SET", "a", "1");
    add(&e, 3, "SET", "b", "2");
    tc_logentry_end(&e, 2);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len - 1, NULL, err, sizeof err), -1);
    assert_int_equal(tc_ks_size(&f->srv.dbs[0]), 0);
    assert_int_equal(st.entries, 0);
    tc_buf_free(&e);
}

/* Each reply comes out in the protocol its client spoke when it sent the
 * command, RESP2 and RESP3 mixed in one entry. */
static void test_replies_in_each_commands_protocol(void **state)
{
    fx *f = *state;
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000, 7);
    add(&e, 3, "GETSET", "k", "v"); /* RESP3: null */
    add(&e, 3, "GETSET", "m", "v"); /* RESP2: null */
    add(&e, 2, "GETDEL", "k");      /* RESP3: bulk */
    add(&e, 2, "GETDEL", "k");      /* RESP3: null */
    add(&e, 2, "GETDEL", "m");      /* RESP2: bulk */
    add(&e, 2, "GETDEL", "m");      /* no protocol given: RESP2 */
    assert_int_equal(tc_logentry_end(&e, 6), 0);
    static const unsigned char resp[] = {3, 2, 3, 3, 2};
    tc_apply_state st = {0};
    tc_apply_replies out = {.resp = resp, .nresp = sizeof resp};
    char err[128], buf[128];
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, &out, err, sizeof err), 0);
    assert_int_equal(out.n, 6);
    assert_string_equal(reply(&out, 0, buf), "_\r\n");
    assert_string_equal(reply(&out, 1, buf), "$-1\r\n");
    assert_string_equal(reply(&out, 2, buf), "$1\r\nv\r\n");
    assert_string_equal(reply(&out, 3, buf), "_\r\n");
    assert_string_equal(reply(&out, 4, buf), "$1\r\nv\r\n");
    assert_string_equal(reply(&out, 5, buf), "$-1\r\n");
    tc_apply_replies_free(&out);
    tc_buf_free(&e);
}

/* Write commands draw randomness from the node's generator, which applying
 * reseeds from the entry before each command: two nodes, whatever their
 * own seeds, draw the same numbers for the same command. */
static void test_same_entry_same_randomness(void **state)
{
    fx *a = *state;
    void *second;
    assert_int_equal(fx_setup(&second), 0);
    fx *b = second;
    /* the nodes start with different generators (seeded at random) */
    assert_true(a->srv.rng.state != b->srv.rng.state);
    char err[128];
    tc_apply_state sa = {0}, sb = {0};
    uint64_t seq_a[3][8], seq_b[3][8];
    for (int i = 0; i < 3; i++) {
        tc_buf e = {0};
        tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000 + i, 0x5eed0000ull + (uint64_t)i);
        add(&e, 3, "SET", "k", "v");
        add(&e, 2, "INCR", "n");
        assert_int_equal(tc_logentry_end(&e, 2), 0);
        assert_int_equal(tc_apply_entry(&a->srv, &sa, e.data, e.len, NULL, err, sizeof err), 0);
        assert_int_equal(tc_apply_entry(&b->srv, &sb, e.data, e.len, NULL, err, sizeof err), 0);
        /* what the last command's handler saw as ctx->rng, seeded for
         * command 1 of this entry */
        tc_logentry_reader rd;
        assert_int_equal(tc_logentry_open(&rd, e.data, e.len, err, sizeof err), 0);
        assert_true(a->srv.rng.state == tc_logentry_command_seed(rd.seed, 1));
        for (int j = 0; j < 8; j++) {
            seq_a[i][j] = tc_rng_next(&a->srv.rng);
            seq_b[i][j] = tc_rng_next(&b->srv.rng);
        }
        tc_buf_free(&e);
    }
    assert_memory_equal(seq_a, seq_b, sizeof seq_a);
    /* and different entries draw different numbers */
    assert_memory_not_equal(seq_a[0], seq_a[1], sizeof seq_a[0]);
    fx_teardown(&second);
}

/* An entry a version-1 node wrote (no seed) applies with the seed derived
 * from its time, the same on every node. */
static void test_version_1_entry_applies(void **state)
{
    fx *f = *state;
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 4242, 99);
    add(&e, 3, "SET", "old", "entry");
    assert_int_equal(tc_logentry_end(&e, 1), 0);
    memmove(e.data + TC_LOGENTRY_HEADER_V1, e.data + TC_LOGENTRY_HEADER, e.len - TC_LOGENTRY_HEADER);
    e.len -= TC_LOGENTRY_HEADER - TC_LOGENTRY_HEADER_V1;
    e.data[0] = 1;
    tc_apply_state st = {0};
    char err[128];
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(st.clock_ms, 4242);
    assert_string_equal(fx_run(f, "GET", "old", NULL), "$5\r\nentry\r\n");
    assert_true(f->srv.rng.state == tc_logentry_command_seed(tc_logentry_v1_seed(4242), 0));
    tc_buf_free(&e);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_replies_per_command),       T(test_same_entries_same_state),
        T(test_clock_never_goes_back),     T(test_expire_entries_delete_only_expired),
        T(test_malformed_entry_changes_nothing),
        T(test_replies_in_each_commands_protocol), T(test_same_entry_same_randomness),
        T(test_version_1_entry_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
