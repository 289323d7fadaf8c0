/* The member hash table (node/types/dict.h) and the background free thread
 * (node/lazyfree.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "lazyfree.h"
#include "types/dict.h"

static size_t keyname(char *buf, size_t i) { return (size_t)snprintf(buf, 32, "member:%zu", i); }

static void add_n(tc_dict *d, size_t from, size_t to)
{
    char k[32];
    for (size_t i = from; i < to; i++) {
        int added;
        size_t n = keyname(k, i);
        tc_dict_entry *e = tc_dict_add(d, k, n, &added);
        assert_non_null(e);
        assert_int_equal(added, 1);
        if (d->with_values) tc_dict_set_double(e, (double)i);
    }
}

static void test_add_find_delete(void **state)
{
    (void)state;
    tc_dict *d = tc_dict_new(1, 1, 2);
    assert_int_equal(tc_dict_size(d), 0);
    assert_null(tc_dict_find(d, "a", 1));
    assert_int_equal(tc_dict_delete(d, "a", 1, NULL), 0);
    add_n(d, 0, 10000);
    assert_int_equal(tc_dict_size(d), 10000);
    char k[32];
    for (size_t i = 0; i < 10000; i++) {
        size_t n = keyname(k, i);
        tc_dict_entry *e = tc_dict_find(d, k, n);
        assert_non_null(e);
        assert_true(tc_dict_double(e) == (double)i);
        size_t len;
        const char *p = tc_dict_key(e, &len);
        assert_int_equal(len, n);
        assert_memory_equal(p, k, n);
    }
    /* Adding again finds the existing entry and keeps its value. */
    int added;
    size_t n = keyname(k, 7);
    tc_dict_entry *e = tc_dict_add(d, k, n, &added);
    assert_int_equal(added, 0);
    assert_true(tc_dict_double(e) == 7.0);
    /* Binary keys: NUL bytes and the empty key are members like any other. */
    e = tc_dict_add(d, "a\0b", 3, &added);
    assert_int_equal(added, 1);
    assert_null(tc_dict_find(d, "a", 1));
    assert_non_null(tc_dict_find(d, "a\0b", 3));
    e = tc_dict_add(d, "", 0, &added);
    assert_int_equal(added, 1);
    assert_non_null(tc_dict_find(d, "", 0));
    assert_int_equal(tc_dict_delete(d, "", 0, NULL), 1);
    assert_int_equal(tc_dict_delete(d, "a\0b", 3, NULL), 1);
    /* Delete everything: the table shrinks step by step, nothing is lost. */
    for (size_t i = 0; i < 10000; i += 2) {
        n = keyname(k, i);
        assert_int_equal(tc_dict_delete(d, k, n, NULL), 1);
        assert_int_equal(tc_dict_delete(d, k, n, NULL), 0);
    }
    assert_int_equal(tc_dict_size(d), 5000);
    for (size_t i = 0; i < 10000; i++) {
        n = keyname(k, i);
        if (i % 2)
            assert_non_null(tc_dict_find(d, k, n));
        else
            assert_null(tc_dict_find(d, k, n));
    }
    for (size_t i = 1; i < 10000; i += 2) {
        n = keyname(k, i);
        assert_int_equal(tc_dict_delete(d, k, n, NULL), 1);
    }
    assert_int_equal(tc_dict_size(d), 0);
    /* Shrunk back to a small table. */
    for (int i = 0; i < 100; i++) tc_dict_find(d, "x", 1), tc_dict_add(d, "x", 1, &added), tc_dict_delete(d, "x", 1, NULL);
    assert_true(tc_dict_memory(d) < 1024);
    tc_dict_free(d, NULL);
}

/* Pointer values are handed to free_ptr on delete and on free. */
static int freed;
static void count_free(void *p)
{
    freed++;
    free(p);
}

static void test_pointer_values(void **state)
{
    (void)state;
    tc_dict *d = tc_dict_new(1, 3, 4);
    char k[32];
    for (size_t i = 0; i < 100; i++) {
        int added;
        tc_dict_entry *e = tc_dict_add(d, k, keyname(k, i), &added);
        char *v = malloc(16);
        snprintf(v, 16, "v%zu", i);
        tc_dict_set_ptr(e, v);
    }
    tc_dict_entry *e = tc_dict_find(d, k, keyname(k, 42));
    assert_string_equal(tc_dict_ptr(e), "v42");
    freed = 0;
    assert_int_equal(tc_dict_delete(d, k, keyname(k, 42), count_free), 1);
    assert_int_equal(freed, 1);
    tc_dict_free(d, count_free);
    assert_int_equal(freed, 100);
}

/* Iteration reports each member once, also in the middle of a rehash. */
static void test_iteration(void **state)
{
    (void)state;
    tc_dict *d = tc_dict_new(0, 5, 6);
    add_n(d, 0, 1030); /* past 1024: a rehash to 2048 buckets is under way */
    assert_true(d->rehash_idx >= 0);
    char *seen = calloc(1030, 1);
    tc_dict_iter it;
    tc_dict_iter_init(&it, d);
    size_t count = 0;
    for (tc_dict_entry *e; (e = tc_dict_next(&it));) {
        size_t len;
        const char *p = tc_dict_key(e, &len);
        char buf[32];
        memcpy(buf, p, len);
        buf[len] = 0; /* keys are not NUL-terminated */
        size_t i = strtoul(buf + 7, NULL, 10);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        count++;
    }
    assert_int_equal(count, 1030);
    free(seen);
    tc_dict_free(d, NULL);
}

typedef struct scan_state {
    unsigned char *seen;
} scan_state;

static void on_scan(void *ud, const tc_dict_entry *e)
{
    scan_state *s = ud;
    size_t len;
    const char *p = tc_dict_key(e, &len);
    char buf[32];
    memcpy(buf, p, len);
    buf[len] = 0;
    size_t i = strtoul(buf + 7, NULL, 10);
    if (s->seen[i] < 255) s->seen[i]++;
}

/* A scan reports every member present from start to end at least once,
 * while the table grows (adds between steps) and shrinks (deletes). */
static void test_scan_across_resizes(void **state)
{
    (void)state;
    for (int phase = 0; phase < 2; phase++) {
        tc_dict *d = tc_dict_new(0, 7, 8);
        const size_t stable = 1000, total = 20000;
        add_n(d, 0, phase == 0 ? stable : total);
        scan_state s = {calloc(total, 1)};
        uint64_t cur = 0;
        size_t steps = 0, next = stable;
        do {
            cur = tc_dict_scan(d, cur, on_scan, &s);
            steps++;
            char k[32];
            /* Phase 0 grows the table from 1000 to 20000 members while the
             * scan runs; phase 1 deletes down from 20000 to the stable 1000. */
            for (int j = 0; j < 40 && next < total; j++, next++) {
                if (phase == 0) {
                    int added;
                    tc_dict_add(d, k, keyname(k, next), &added);
                } else {
                    assert_int_equal(tc_dict_delete(d, k, keyname(k, next), NULL), 1);
                }
            }
        } while (cur != 0);
        assert_true(steps > 1);
        for (size_t i = 0; i < stable; i++) assert_true(s.seen[i] >= 1);
        free(s.seen);
        tc_dict_free(d, NULL);
    }
    /* Without changes each member is reported exactly once. */
    tc_dict *d = tc_dict_new(0, 9, 10);
    add_n(d, 0, 3000);
    scan_state s = {calloc(3000, 1)};
    uint64_t cur = 0;
    do cur = tc_dict_scan(d, cur, on_scan, &s);
    while (cur != 0);
    for (size_t i = 0; i < 3000; i++) assert_int_equal(s.seen[i], 1);
    free(s.seen);
    tc_dict_free(d, NULL);
    /* An empty dict's scan is complete at once. */
    d = tc_dict_new(0, 9, 10);
    assert_int_equal(tc_dict_scan(d, 0, on_scan, &s), 0);
    tc_dict_free(d, NULL);
}

static uint64_t splitmix(void *ud)
{
    uint64_t *s = ud;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The same seed, members and random input pick the same member however
 * the tables got there: different insertion order, one dict mid-rehash,
 * one that grew and shrank. Every member gets picked now and then. */
static void test_random_is_layout_independent(void **state)
{
    (void)state;
    tc_dict *a = tc_dict_new(0, 11, 12), *b = tc_dict_new(0, 11, 12);
    add_n(a, 0, 1100);
    char k[32];
    for (size_t i = 1100; i-- > 0;) {
        int added;
        tc_dict_add(b, k, keyname(k, i), &added);
    }
    add_n(b, 5000, 9000);
    for (size_t i = 5000; i < 9000; i++) tc_dict_delete(b, k, keyname(k, i), NULL);
    assert_int_equal(tc_dict_size(a), tc_dict_size(b));
    assert_true(a->bits[0] != b->bits[0] || a->rehash_idx != b->rehash_idx);
    uint64_t ra = 99, rb = 99;
    unsigned *hits = calloc(1100, sizeof *hits);
    for (int i = 0; i < 220000; i++) {
        tc_dict_entry *ea = tc_dict_random(a, splitmix, &ra), *eb = tc_dict_random(b, splitmix, &rb);
        size_t la, lb;
        const char *pa = tc_dict_key(ea, &la), *pb = tc_dict_key(eb, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(pa, pb, la);
        char buf[32];
        memcpy(buf, pa, la);
        buf[la] = 0;
        hits[strtoul(buf + 7, NULL, 10)]++;
    }
    /* 200 picks each on average (binomial sd ~14): uniform, not merely
     * every member reachable. */
    for (size_t i = 0; i < 1100; i++) assert_true(hits[i] > 120 && hits[i] < 290);
    assert_int_equal(ra, rb); /* both drew the same number of words */
    free(hits);
    tc_dict_free(a, NULL);
    tc_dict_free(b, NULL);
    tc_dict *e = tc_dict_new(0, 1, 1);
    assert_null(tc_dict_random(e, splitmix, &ra));
    /* One member, two members: k = 0 and 1. */
    int added;
    tc_dict_add(e, "x", 1, &added);
    assert_non_null(tc_dict_random(e, splitmix, &ra));
    tc_dict_add(e, "y", 1, &added);
    int seen_x = 0, seen_y = 0;
    for (int i = 0; i < 200; i++) {
        size_t len;
        const char *p = tc_dict_key(tc_dict_random(e, splitmix, &ra), &len);
        if (*p == 'x') seen_x++; else seen_y++;
    }
    assert_true(seen_x > 50 && seen_y > 50);
    tc_dict_free(e, NULL);
}

/* Another seed hashes differently (so members land elsewhere). */
static void test_seeded_hash(void **state)
{
    (void)state;
    assert_int_not_equal(tc_siphash13(1, 2, "abc", 3), tc_siphash13(1, 3, "abc", 3));
    assert_int_equal(tc_siphash13(1, 2, "abc", 3), tc_siphash13(1, 2, "abc", 3));
    /* Every input bit reaches the output: flipping one bit of a 16-byte
     * input flips about half of the 64 output bits, on average over bits. */
    unsigned char in[16] = "0123456789abcdef";
    uint64_t h = tc_siphash13(5, 6, in, sizeof in);
    unsigned total = 0;
    for (int bit = 0; bit < 128; bit++) {
        in[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        total += (unsigned)__builtin_popcountll(h ^ tc_siphash13(5, 6, in, sizeof in));
        in[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    assert_true(total > 128 * 28 && total < 128 * 36);
}

static void test_memory_accounting(void **state)
{
    (void)state;
    tc_dict *d = tc_dict_new(1, 1, 1);
    size_t empty = tc_dict_memory(d);
    add_n(d, 0, 1000);
    size_t full = tc_dict_memory(d);
    /* At least the keys and value slots, at most a generous bound. */
    assert_true(full - empty >= 1000 * (8 + 8));
    assert_true(full - empty <= 1000 * 64);
    char k[32];
    for (size_t i = 0; i < 1000; i++) tc_dict_delete(d, k, keyname(k, i), NULL);
    for (int i = 0; i < 50; i++) tc_dict_find(d, "x", 1);
    assert_int_equal(d->entry_bytes, 0);
    tc_dict_free(d, NULL);
}

/* ---- lazyfree ---- */

static pthread_t freer;
static void free_dict(void *p)
{
    freer = pthread_self();
    tc_dict_free(p, NULL);
}

static int small_freed;
static void note_free(void *p)
{
    small_freed++;
    free(p);
}

static void test_lazyfree(void **state)
{
    (void)state;
    /* Not started: freed inline. */
    small_freed = 0;
    tc_lazyfree(note_free, malloc(8), 1000);
    assert_int_equal(small_freed, 1);
    assert_int_equal(tc_lazyfree_start(), 0);
    assert_int_equal(tc_lazyfree_start(), 0);
    /* Small: inline even with the thread running. */
    tc_lazyfree(note_free, malloc(8), TC_LAZYFREE_THRESHOLD);
    assert_int_equal(small_freed, 2);
    size_t before = tc_lazyfree_done();
    /* Big: handed over; the call itself is quick whatever the size. */
    tc_dict *big = tc_dict_new(0, 1, 2);
    add_n(big, 0, 300000);
    freer = pthread_self();
    tc_lazyfree(free_dict, big, tc_dict_size(big));
    for (int i = 0; i < 20; i++) {
        tc_dict *d = tc_dict_new(0, 1, 2);
        add_n(d, 0, 100);
        tc_lazyfree(free_dict, d, 100);
    }
    /* Stop frees what is queued and joins: nothing is left behind. */
    tc_lazyfree_stop();
    assert_int_equal(tc_lazyfree_pending(), 0);
    assert_int_equal(tc_lazyfree_done() - before, 21);
    assert_false(pthread_equal(freer, pthread_self())); /* freed by the thread */
    tc_lazyfree_stop(); /* twice is harmless */
    /* After stop: inline again; and it can be started again. */
    tc_lazyfree(note_free, malloc(8), 1000);
    assert_int_equal(small_freed, 3);
    assert_int_equal(tc_lazyfree_start(), 0);
    tc_lazyfree_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_delete),
        cmocka_unit_test(test_pointer_values),
        cmocka_unit_test(test_iteration),
        cmocka_unit_test(test_scan_across_resizes),
        cmocka_unit_test(test_random_is_layout_independent),
        cmocka_unit_test(test_seeded_hash),
        cmocka_unit_test(test_memory_accounting),
        cmocka_unit_test(test_lazyfree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
