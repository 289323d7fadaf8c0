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
    tc_entry_add(b, argc, v);
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
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 1000);
    add(&e, 3, "SET", "k", "v");
    add(&e, 2, "INCR", "k");
    add(&e, 2, "INCR", "n");
    add(&e, 4, "SET", "k", "w", "NX");
    assert_int_equal(tc_entry_end(&e, 4), 0);
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
        tc_entry_begin(&e, TC_ENTRY_COMMANDS, 5000 + i);
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 7);
        add(&e, 5, "SET", key, "v", "EX", "100");
        add(&e, 3, "APPEND", key, "x");
        add(&e, 3, "PEXPIRE", "k3", "50");
        assert_int_equal(tc_entry_end(&e, 3), 0);
        assert_int_equal(tc_apply_entry(&a->srv, &sa, e.data, e.len, NULL, err, sizeof err), 0);
        assert_int_equal(tc_apply_entry(&b->srv, &sb, e.data, e.len, NULL, err, sizeof err), 0);
        tc_buf_free(&e);
    }
    unsigned char da[20], db[20];
    tc_ks_digest(&a->srv.ks, 0, da);
    tc_ks_digest(&b->srv.ks, 0, db);
    assert_memory_equal(da, db, 20);
    tc_key *k0 = tc_ks_find(&a->srv.ks, "k0", 2, 0);
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
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 10000);
    add(&e, 5, "SET", "a", "v", "PX", "100");
    tc_entry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    /* a later entry stamped earlier (a new primary's slower clock) */
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 2000);
    add(&e, 5, "SET", "b", "v", "PX", "100");
    tc_entry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(st.clock_ms, 10000);
    assert_int_equal(tc_ks_find(&f->srv.ks, "b", 1, 0)->expire_at, 10100);
    tc_buf_free(&e);
}

static void test_expire_entries_delete_only_expired(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[128];
    tc_buf e = {0};
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 1000);
    add(&e, 5, "SET", "old", "v", "PX", "10");
    add(&e, 5, "SET", "fresh", "v", "PX", "10");
    add(&e, 3, "SET", "forever", "v");
    tc_entry_end(&e, 3);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    /* "fresh" was written again after the primary decided to expire it */
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 1005);
    add(&e, 5, "SET", "fresh", "v", "PX", "1000");
    tc_entry_end(&e, 1);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    tc_entry_begin(&e, TC_ENTRY_EXPIRE, 1010);
    add(&e, 1, "old");
    add(&e, 1, "fresh");
    add(&e, 1, "forever");
    add(&e, 1, "missing");
    tc_entry_end(&e, 4);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(tc_ks_size(&f->srv.ks), 2);
    assert_non_null(tc_ks_find(&f->srv.ks, "fresh", 5, 1010));
    assert_non_null(tc_ks_find(&f->srv.ks, "forever", 7, 1010));
    tc_buf_free(&e);
}

static void test_malformed_entry_changes_nothing(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[128];
    tc_buf e = {0};
    tc_entry_begin(&e, TC_ENTRY_COMMANDS, 1000);
    add(&e, 3, "SET", "a", "1");
    add(&e, 3, "SET", "b", "2");
    tc_entry_end(&e, 2);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len - 1, NULL, err, sizeof err), -1);
    assert_int_equal(tc_ks_size(&f->srv.ks), 0);
    assert_int_equal(st.entries, 0);
    tc_buf_free(&e);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_replies_per_command),       T(test_same_entries_same_state),
        T(test_clock_never_goes_back),     T(test_expire_entries_delete_only_expired),
        T(test_malformed_entry_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
