/* node/keyspace.c: table growth and shrink, expiry, SCAN, digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"

static tc_entry *find(tc_keyspace *ks, const char *k, int64_t now) { return tc_ks_find(ks, k, strlen(k), now); }
static tc_entry *set(tc_keyspace *ks, const char *k, const char *v, int64_t exp)
{
    return tc_ks_set(ks, k, strlen(k), v, strlen(v), exp);
}

static void test_set_find_replace_delete(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    assert_null(find(&ks, "a", 0));
    assert_non_null(set(&ks, "a", "1", 0));
    tc_entry *e = find(&ks, "a", 0);
    assert_non_null(e);
    assert_int_equal(e->vlen, 1);
    assert_memory_equal(tc_entry_val(e), "1", 1);
    assert_non_null(set(&ks, "a", "two", 0));
    assert_int_equal(tc_ks_size(&ks), 1);
    assert_memory_equal(tc_entry_val(find(&ks, "a", 0)), "two", 3);
    assert_int_equal(tc_ks_delete(&ks, "a", 1), 1);
    assert_int_equal(tc_ks_delete(&ks, "a", 1), 0);
    assert_int_equal(tc_ks_size(&ks), 0);
    /* binary keys and the empty key */
    assert_non_null(tc_ks_set(&ks, "\0x\0", 3, "v", 1, 0));
    assert_non_null(tc_ks_set(&ks, "", 0, "empty", 5, 0));
    assert_non_null(tc_ks_find(&ks, "\0x\0", 3, 0));
    assert_null(tc_ks_find(&ks, "\0x", 2, 0));
    assert_non_null(tc_ks_find(&ks, "", 0, 0));
    tc_ks_free(&ks);
}

static void test_grow_and_shrink_keep_every_key(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 3, 4);
    char k[32];
    const int n = 50000;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        assert_non_null(set(&ks, k, k, 0));
        /* every earlier key stays findable in the middle of rehashing */
        if (i % 997 == 0)
            for (int j = 0; j <= i; j += 101) {
                snprintf(k, sizeof k, "key:%d", j);
                assert_non_null(find(&ks, k, 0));
            }
    }
    assert_int_equal(tc_ks_size(&ks), n);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        tc_entry *e = find(&ks, k, 0);
        assert_non_null(e);
        assert_int_equal(e->vlen, strlen(k));
    }
    for (int i = 0; i < n - 10; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        assert_int_equal(tc_ks_delete(&ks, k, strlen(k)), 1);
    }
    while (tc_ks_rehash_step(&ks, 1000)) {
    }
    assert_int_equal(tc_ks_size(&ks), 10);
    assert_true(ks.size[0] <= 64); /* it shrank */
    for (int i = n - 10; i < n; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        assert_non_null(find(&ks, k, 0));
    }
    tc_ks_free(&ks);
}

static void test_resize_value_keeps_links(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 5, 6);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        set(&ks, k, "x", i % 2 ? 5000 : 0);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        tc_entry *e = find(&ks, k, 0);
        e = tc_ks_resize(&ks, e, 4096);
        assert_non_null(e);
        memset(tc_entry_val(e), 'y', 4096);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        tc_entry *e = find(&ks, k, 0);
        assert_non_null(e);
        assert_int_equal(e->vlen, 4096);
        assert_int_equal(e->expire_at, i % 2 ? 5000 : 0);
    }
    /* the volatile set points at the moved entries: expiring them works */
    assert_int_equal(tc_ks_volatile_count(&ks), 500);
    size_t gone = 0;
    while (tc_ks_volatile_count(&ks) > 0) gone += tc_ks_expire_cycle(&ks, 6000, 1000);
    assert_int_equal(gone, 500);
    assert_int_equal(tc_ks_size(&ks), 500);
    tc_ks_free(&ks);
}

static void test_lazy_expiry(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 7, 8);
    set(&ks, "t", "v", 1000);
    assert_non_null(find(&ks, "t", 999));
    assert_null(find(&ks, "t", 1000)); /* the deadline itself is already expired */
    assert_int_equal(tc_ks_size(&ks), 0);
    assert_int_equal(ks.expired_keys, 1);
    /* replica mode hides but keeps the key */
    ks.lazy_delete = 0;
    set(&ks, "t", "v", 1000);
    assert_null(find(&ks, "t", 2000));
    assert_int_equal(tc_ks_size(&ks), 1);
    assert_null(tc_ks_random(&ks, 2000));
    tc_ks_free(&ks);
}

static void test_set_expire_and_persist(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 9, 10);
    tc_entry *e = set(&ks, "a", "v", 0);
    tc_ks_set_expire(&ks, e, 500);
    assert_int_equal(tc_ks_volatile_count(&ks), 1);
    tc_ks_set_expire(&ks, e, 700);
    assert_int_equal(tc_ks_volatile_count(&ks), 1);
    tc_ks_set_expire(&ks, e, 0);
    assert_int_equal(tc_ks_volatile_count(&ks), 0);
    assert_non_null(find(&ks, "a", 10000));
    /* overwriting a volatile key with a persistent one drops its deadline */
    set(&ks, "b", "v", 100);
    set(&ks, "b", "w", 0);
    assert_int_equal(tc_ks_volatile_count(&ks), 0);
    tc_ks_free(&ks);
}

static void test_active_expiry_reaps_everything_expired(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 11, 12);
    char k[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        set(&ks, k, "v", i < 9000 ? 100 : 0);
    }
    size_t total = 0;
    for (int round = 0; round < 10000 && tc_ks_volatile_count(&ks) > 0; round++)
        total += tc_ks_expire_cycle(&ks, 200, 400);
    assert_int_equal(total, 9000);
    assert_int_equal(tc_ks_size(&ks), 1000);
    /* nothing expired: one small sample and stop */
    assert_int_equal(tc_ks_expire_cycle(&ks, 200, 400), 0);
    tc_ks_free(&ks);
}

typedef struct seen {
    unsigned char *hit;
    size_t n;
} seen;

static void mark(void *ud, tc_entry *e)
{
    seen *s = ud;
    int i = atoi(e->data + 1);
    s->hit[i] = 1;
    s->n++;
}

static void test_scan_reports_every_key_across_resizes(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 13, 14);
    char k[32];
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%d", i);
        set(&ks, k, "v", 0);
    }
    seen s = {calloc(2 * n, 1), 0};
    uint64_t cur = 0;
    int steps = 0;
    do {
        cur = tc_ks_scan(&ks, cur, mark, &s);
        /* grow the table in the middle of the scan */
        if (++steps == 50)
            for (int i = n; i < 2 * n; i++) {
                snprintf(k, sizeof k, "k%d", i);
                set(&ks, k, "v", 0);
            }
    } while (cur != 0);
    for (int i = 0; i < n; i++) assert_true(s.hit[i]);
    free(s.hit);
    tc_ks_free(&ks);
}

static void test_random_returns_live_keys(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 15, 16);
    assert_null(tc_ks_random(&ks, 0));
    set(&ks, "only", "v", 0);
    for (int i = 0; i < 10; i++) assert_memory_equal(tc_ks_random(&ks, 0)->data, "only", 4);
    tc_ks_free(&ks);
}

static void test_digest_is_order_independent_and_sensitive(void **state)
{
    (void)state;
    tc_keyspace a, b;
    unsigned char da[20], db[20], zero[20] = {0};
    tc_ks_init(&a, 1, 1);
    tc_ks_init(&b, 99, 42); /* different seed: different bucket order */
    tc_ks_digest(&a, 0, da);
    assert_memory_equal(da, zero, 20);
    char k[32];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k%d", i);
        set(&a, k, "v", i == 7 ? 50000 : 0);
    }
    for (int i = 299; i >= 0; i--) {
        snprintf(k, sizeof k, "k%d", i);
        set(&b, k, "v", i == 7 ? 50000 : 0);
    }
    tc_ks_digest(&a, 0, da);
    tc_ks_digest(&b, 0, db);
    assert_memory_equal(da, db, 20);
    set(&b, "k7", "v", 50001); /* only the deadline differs */
    tc_ks_digest(&b, 0, db);
    assert_memory_not_equal(da, db, 20);
    set(&b, "k7", "v", 50000);
    set(&b, "k8", "w", 0); /* only a value differs */
    tc_ks_digest(&b, 0, db);
    assert_memory_not_equal(da, db, 20);
    tc_ks_free(&a);
    tc_ks_free(&b);
}

static void test_flush_keeps_counters(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    set(&ks, "a", "v", 10);
    assert_null(find(&ks, "a", 20));
    set(&ks, "b", "v", 10);
    tc_ks_flush(&ks);
    assert_int_equal(tc_ks_size(&ks), 0);
    assert_int_equal(tc_ks_volatile_count(&ks), 0);
    assert_int_equal(ks.expired_keys, 1);
    set(&ks, "c", "v", 0);
    assert_non_null(find(&ks, "c", 0));
    tc_ks_free(&ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_find_replace_delete),
        cmocka_unit_test(test_grow_and_shrink_keep_every_key),
        cmocka_unit_test(test_resize_value_keeps_links),
        cmocka_unit_test(test_lazy_expiry),
        cmocka_unit_test(test_set_expire_and_persist),
        cmocka_unit_test(test_active_expiry_reaps_everything_expired),
        cmocka_unit_test(test_scan_reports_every_key_across_resizes),
        cmocka_unit_test(test_random_returns_live_keys),
        cmocka_unit_test(test_digest_is_order_independent_and_sensitive),
        cmocka_unit_test(test_flush_keeps_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
