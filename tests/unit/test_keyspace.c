/* node/keyspace.c: table growth and shrink, expiry, SCAN, digest, the key
 * header (type, encoding, access bits), renames, typed values by pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "types/types.h"

static tc_key *find(tc_keyspace *ks, const char *k, int64_t now) { return tc_ks_find(ks, k, strlen(k), now); }
static tc_key *set(tc_keyspace *ks, const char *k, const char *v, int64_t exp)
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
    tc_key *e = find(&ks, "a", 0);
    assert_non_null(e);
    assert_int_equal(e->vlen, 1);
    assert_memory_equal(tc_key_str(e), "1", 1);
    assert_non_null(set(&ks, "a", "two", 0));
    assert_int_equal(tc_ks_size(&ks), 1);
    assert_memory_equal(tc_key_str(find(&ks, "a", 0)), "two", 3);
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
        tc_key *e = find(&ks, k, 0);
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

/* A key created while a rehash is under way lives in the new table even
 * when its old-table bucket has not been moved yet; deleting it must count
 * it out of the new table, or the old table's count runs ahead of its keys
 * (the rehash then ends early, losing keys, or walks past the table). */
static void test_delete_during_rehash_counts_the_right_table(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 5, 6);
    char k[32];
    int live = 0;
    for (int round = 0; round < 200; round++) {
        /* grow until a rehash starts, then churn new keys during it */
        while (ks.rehash_idx < 0) {
            snprintf(k, sizeof k, "base:%d", live++);
            assert_non_null(set(&ks, k, "v", 0));
        }
        for (int i = 0; i < 8 && ks.rehash_idx >= 0; i++) {
            snprintf(k, sizeof k, "tmp:%d:%d", round, i);
            assert_non_null(set(&ks, k, "v", 0));
            assert_int_equal(tc_ks_delete(&ks, k, strlen(k)), 1);
        }
        assert_int_equal(tc_ks_size(&ks), live);
        if (live > 3000) break;
    }
    while (tc_ks_rehash_step(&ks, 1000)) {
    }
    assert_int_equal(tc_ks_size(&ks), live);
    for (int i = 0; i < live; i++) {
        snprintf(k, sizeof k, "base:%d", i);
        assert_non_null(find(&ks, k, 0));
    }
    tc_ks_free(&ks);
}

/* The batched delete an expiry entry's apply uses does what deleting one
 * key after another does: the same keys go (only those whose deadline
 * passed; absent names and keys written again with a later deadline stay),
 * counted once each, while the deletes shrink the table under the batch. */
static void test_delete_expired_batch_matches_one_by_one(void **state)
{
    (void)state;
    tc_keyspace one, batch;
    tc_ks_init(&one, 7, 8);
    tc_ks_init(&batch, 7, 8);
    enum { N = 3000 };
    static char names[N + 200][24];
    const char *keys[N + 200];
    size_t lens[N + 200];
    size_t n = 0, expected = 0;
    for (int i = 0; i < N; i++) {
        snprintf(names[n], sizeof names[n], "k:%d", i);
        /* most expired at 100; every 29th not yet (900); every 31st has no deadline */
        int64_t exp = i % 31 == 0 ? 0 : i % 29 == 0 ? 900 : 100;
        assert_non_null(set(&one, names[n], "v", exp));
        assert_non_null(set(&batch, names[n], "v", exp));
        if (exp == 100) expected++;
        keys[n] = names[n];
        lens[n] = strlen(names[n]);
        n++;
        if (i % 15 == 0 && n < N + 200) { /* a name nobody holds */
            snprintf(names[n], sizeof names[n], "absent:%d", i);
            keys[n] = names[n];
            lens[n] = strlen(names[n]);
            n++;
        }
    }
    size_t deleted = 0;
    for (size_t i = 0; i < n; i++) deleted += (size_t)tc_ks_delete_if_expired(&one, keys[i], lens[i], 500);
    assert_int_equal(deleted, expected);
    /* batches of uneven sizes, so they straddle the prefetch groups */
    deleted = 0;
    for (size_t i = 0; i < n; i += 37)
        deleted += tc_ks_delete_expired_batch(&batch, keys + i, lens + i, n - i < 37 ? n - i : 37, 500);
    assert_int_equal(deleted, expected);
    assert_int_equal(batch.expired_keys, expected);
    assert_int_equal(tc_ks_size(&batch), tc_ks_size(&one));
    assert_int_equal(tc_ks_volatile_count(&batch), tc_ks_volatile_count(&one));
    unsigned char d1[20], d2[20];
    tc_ks_digest(&one, 0, d1);
    tc_ks_digest(&batch, 0, d2);
    assert_memory_equal(d1, d2, 20);
    assert_non_null(find(&batch, "k:29", 0));
    assert_non_null(find(&batch, "k:31", 0));
    assert_null(find(&batch, "k:1", 0));
    /* nothing left to delete: a second pass changes nothing */
    assert_int_equal(tc_ks_delete_expired_batch(&batch, keys, lens, n < 50 ? n : 50, 500), 0);
    assert_int_equal(tc_ks_delete_expired_batch(&batch, keys, lens, 0, 500), 0);
    tc_ks_free(&one);
    tc_ks_free(&batch);
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
        tc_key *e = find(&ks, k, 0);
        e = tc_ks_resize(&ks, e, 4096);
        assert_non_null(e);
        memset(tc_key_str(e), 'y', 4096);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        tc_key *e = find(&ks, k, 0);
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
    tc_key *e = set(&ks, "a", "v", 0);
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

static void mark(void *ud, tc_key *e)
{
    seen *s = ud;
    int i = atoi(tc_key_name(e) + 1);
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

static void count_hits(void *ud, tc_key *e)
{
    seen *s = ud;
    s->hit[atoi(tc_key_name(e) + 1)]++;
    s->n++;
}

static void test_walk_reports_every_key_once_even_while_rehashing(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 17, 18);
    seen s = {calloc(4096, 1), 0};
    tc_ks_walk(&ks, count_hits, &s); /* no table yet */
    assert_int_equal(s.n, 0);
    char k[32];
    int n = 0;
    /* grow until a rehash is under way with keys in both tables */
    while (n < 4096 && !(ks.rehash_idx > 0 && ks.used[0] > 0 && ks.used[1] > 0)) {
        snprintf(k, sizeof k, "k%d", n++);
        set(&ks, k, "v", 0);
    }
    assert_true(ks.rehash_idx > 0 && ks.used[0] > 0 && ks.used[1] > 0);
    tc_ks_walk(&ks, count_hits, &s);
    assert_int_equal(s.n, n);
    for (int i = 0; i < n; i++) assert_int_equal(s.hit[i], 1);
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
    for (int i = 0; i < 10; i++) assert_memory_equal(tc_key_name(tc_ks_random(&ks, 0)), "only", 4);
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

static void test_key_header_layout(void **state)
{
    (void)state;
    /* next, expire_at, klen, vlen, volatile_idx, type:4 encoding:4 lru:24 */
    assert_int_equal(offsetof(tc_key, data), 32);
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_key *k = set(&ks, "k", "v", 0);
    assert_int_equal(k->type, TC_TYPE_STRING);
    assert_int_equal(k->encoding, TC_ENC_INLINE);
    assert_true(tc_key_is_inline(k));
    /* the three fields do not spill into each other */
    k->type = 15;
    k->encoding = 0;
    k->lru = TC_LRU_CLOCK_MAX;
    assert_int_equal(k->type, 15);
    assert_int_equal(k->encoding, 0);
    k->encoding = 15;
    k->lru = 0;
    assert_int_equal(k->type, 15);
    assert_int_equal(k->encoding, 15);
    k->type = TC_TYPE_STRING;
    k->encoding = TC_ENC_INLINE;
    assert_memory_equal(tc_key_name(k), "k", 1);
    assert_memory_equal(tc_key_str(k), "v", 1);
    assert_int_equal(tc_key_name_len(k), 1);
    assert_int_equal(tc_key_str_len(k), 1);
    tc_ks_free(&ks);
}

#define T0 1700000000000LL

static void test_lru_stamped_on_create_and_access(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_lru_clock_update(T0);
    assert_int_equal(tc_lru_clock(), (uint32_t)(T0 / 1000) & TC_LRU_CLOCK_MAX);
    tc_key *k = set(&ks, "k", "v", 0);
    assert_int_equal(k->lru, tc_lru_clock());
    assert_int_equal(tc_key_idle_ms(k), 0);

    tc_lru_clock_update(T0 + 7900); /* the clock ticks in whole seconds */
    assert_int_equal(tc_key_idle_ms(k), 7000);
    assert_ptr_equal(tc_ks_peek(&ks, "k", 1, 0), k); /* looking is not an access */
    assert_int_equal(tc_key_idle_ms(k), 7000);
    assert_ptr_equal(find(&ks, "k", 0), k);
    assert_int_equal(tc_key_idle_ms(k), 0);

    /* a resize keeps the bits; a rename keeps them too (the lookup before it stamps) */
    tc_lru_clock_update(T0 + 20000);
    k = tc_ks_resize(&ks, k, 10);
    assert_int_equal(tc_key_idle_ms(k), 13000); /* stamped at second 7, now 20 */
    k = tc_ks_rename(&ks, k, "k2", 2);
    assert_int_equal(tc_key_idle_ms(k), 13000);
    /* an overwrite is a new key, stamped now */
    k = set(&ks, "k2", "w", 0);
    assert_int_equal(tc_key_idle_ms(k), 0);

    /* the 24-bit clock wraps (every 194 days); idle time allows for it */
    k->lru = TC_LRU_CLOCK_MAX - 1;
    tc_lru_clock_update((int64_t)(TC_LRU_CLOCK_MAX + 1u) * 1000 * 100 + 3000); /* clock = 3 */
    assert_int_equal(tc_lru_clock(), 3);
    assert_int_equal(tc_key_idle_ms(k), 4000);
    tc_lru_clock_update(0);
    tc_ks_free(&ks);
}

static void test_lfu_counts_and_decays(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    ks.lfu = 1;
    tc_lru_clock_update(T0);
    tc_key *k = set(&ks, "k", "v", 0);
    assert_int_equal(k->lru & 0xff, TC_LFU_INIT_VAL);
    assert_int_equal(k->lru >> 8, (uint32_t)(T0 / 60000) & 0xffff);
    assert_int_equal(tc_key_lfu_count(k), TC_LFU_INIT_VAL);
    /* the first accesses above the initial value always count, later ones
     * less and less often (logarithmic), never beyond 255 */
    find(&ks, "k", 0);
    assert_int_equal(tc_key_lfu_count(k), TC_LFU_INIT_VAL + 1);
    for (int i = 0; i < 1000; i++) find(&ks, "k", 0);
    unsigned after_1000 = tc_key_lfu_count(k);
    assert_true(after_1000 > 10 && after_1000 < 40);
    for (int i = 0; i < 100000; i++) find(&ks, "k", 0);
    assert_true(tc_key_lfu_count(k) > after_1000 && tc_key_lfu_count(k) <= 255);
    /* peeking counts nothing */
    unsigned now = tc_key_lfu_count(k);
    tc_ks_peek(&ks, "k", 1, 0);
    assert_int_equal(tc_key_lfu_count(k), now);
    /* one point per idle minute */
    tc_lru_clock_update(T0 + 3 * 60000);
    assert_int_equal(tc_key_lfu_count(k), now - 3);
    tc_lru_clock_update(T0 + 1000LL * 60000);
    assert_int_equal(tc_key_lfu_count(k), 0);
    /* the setting survives a flush and is inherited */
    tc_ks_flush(&ks);
    assert_int_equal(ks.lfu, 1);
    tc_keyspace other;
    ks.lazy_delete = 0;
    tc_ks_init_like(&other, &ks);
    assert_int_equal(other.lfu, 1);
    assert_int_equal(other.lazy_delete, 0);
    assert_int_equal(other.seed[0], ks.seed[0]);
    assert_int_equal(other.seed[1], ks.seed[1]);
    tc_lru_clock_update(0);
    tc_ks_free(&other);
    tc_ks_free(&ks);
}

static void test_rename_moves_the_value(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_key *k = set(&ks, "src", "value", 9000);
    k->encoding = TC_ENC_INLINE_RAW;
    set(&ks, "dst", "old", 0);
    set(&ks, "other", "x", 5000);
    tc_key *n = tc_ks_rename(&ks, k, "dst", 3);
    assert_non_null(n);
    assert_null(find(&ks, "src", 0));
    assert_ptr_equal(find(&ks, "dst", 0), n);
    assert_memory_equal(tc_key_str(n), "value", 5);
    assert_int_equal(n->encoding, TC_ENC_INLINE_RAW);
    assert_int_equal(n->expire_at, 9000);
    assert_int_equal(tc_ks_size(&ks), 2);
    assert_int_equal(tc_ks_volatile_count(&ks), 2);
    /* the deadline still works from the volatile set */
    assert_int_equal(tc_ks_expire_cycle(&ks, 10000, 100), 2);
    assert_int_equal(tc_ks_size(&ks), 0);
    /* onto its own name: nothing to do */
    k = set(&ks, "same", "v", 0);
    assert_ptr_equal(tc_ks_rename(&ks, k, "same", 4), k);
    assert_int_equal(tc_ks_size(&ks), 1);
    /* many renames across table resizes keep every key */
    char a[32], b[32];
    for (int i = 0; i < 500; i++) {
        snprintf(a, sizeof a, "a%d", i);
        set(&ks, a, a, 0);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d", i);
        assert_non_null(tc_ks_rename(&ks, find(&ks, a, 0), b, strlen(b)));
    }
    for (int i = 0; i < 500; i++) {
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d", i);
        assert_null(find(&ks, a, 0));
        tc_key *x = find(&ks, b, 0);
        assert_non_null(x);
        assert_memory_equal(tc_key_str(x), a, strlen(a));
    }
    assert_int_equal(tc_ks_size(&ks), 501);
    tc_ks_free(&ks);
}

/* A value behind a pointer (the layout future types use). No type is
 * registered under 9, so the keyspace frees only the key and the test the
 * value. */
static void test_pointer_values(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    int *value = malloc(sizeof *value);
    *value = 42;
    assert_null(tc_ks_set_pointer(&ks, "p", 1, 9, TC_ENC_INLINE, value, 0)); /* not a pointer encoding */
    assert_null(tc_ks_set_pointer(&ks, "p", 1, 16, TC_ENC_FIRST_POINTER, value, 0));
    tc_key *k = tc_ks_set_pointer(&ks, "p", 1, 9, TC_ENC_FIRST_POINTER + 1, value, 7000);
    assert_non_null(k);
    assert_false(tc_key_is_inline(k));
    assert_int_equal(k->type, 9);
    assert_int_equal(k->encoding, TC_ENC_FIRST_POINTER + 1);
    assert_int_equal(k->vlen, 0);
    assert_ptr_equal(tc_key_value_ptr(k), value);
    assert_int_equal(tc_ks_key_memory(k), 32 + 1 + sizeof(void *));
    assert_string_equal(tc_key_type_name(k), "unknown");
    assert_null(tc_ks_resize(&ks, k, 10)); /* only inline values have a length */
    /* a rename moves the pointer, not the value */
    k = tc_ks_rename(&ks, k, "moved", 5);
    assert_non_null(k);
    assert_ptr_equal(tc_key_value_ptr(k), value);
    assert_int_equal(k->expire_at, 7000);
    assert_int_equal(k->encoding, TC_ENC_FIRST_POINTER + 1);
    unsigned char d[20], zero[20] = {0};
    tc_ks_digest(&ks, 0, d); /* the key's frame without a value part */
    assert_memory_not_equal(d, zero, 20);
    assert_int_equal(*(int *)tc_key_value_ptr(find(&ks, "moved", 0)), 42);
    assert_int_equal(tc_ks_delete(&ks, "moved", 5), 1);
    assert_int_equal(tc_ks_volatile_count(&ks), 0);
    free(value);
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
        cmocka_unit_test(test_walk_reports_every_key_once_even_while_rehashing),
        cmocka_unit_test(test_random_returns_live_keys),
        cmocka_unit_test(test_digest_is_order_independent_and_sensitive),
        cmocka_unit_test(test_flush_keeps_counters),
        cmocka_unit_test(test_key_header_layout),
        cmocka_unit_test(test_lru_stamped_on_create_and_access),
        cmocka_unit_test(test_lfu_counts_and_decays),
        cmocka_unit_test(test_rename_moves_the_value),
        cmocka_unit_test(test_pointer_values),
        cmocka_unit_test(test_delete_during_rehash_counts_the_right_table),
        cmocka_unit_test(test_delete_expired_batch_matches_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
