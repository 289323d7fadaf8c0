/* The B+tree of large sorted sets (node/types/zset_tree.c) against a plain
 * sorted array: random inserts and deletes at random ranks, bounds, rank
 * lookups and iteration both ways, over many seeds and past several levels
 * of splits and merges. Elements are integers cast to pointers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "types/zset_tree.h"

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define E(v) ((zt_elem *)(uintptr_t)(v))
#define V(e) ((uintptr_t)(e))

static int before_value(const zt_elem *e, void *ud) { return V(e) < *(uintptr_t *)ud; }

/* model: sorted array of values (distinct: value*2+1, bounds even) */
static void check(const zt_tree *t, const uintptr_t *m, size_t n)
{
    assert_int_equal(t->count, n);
    for (size_t i = 0; i < n; i += 1 + n / 50) assert_int_equal(V(zt_at(t, i)), m[i]);
    zt_iter it;
    if (n) {
        zt_seek(t, 0, &it);
        for (size_t i = 0; i < n; i++) assert_int_equal(V(zt_next(&it)), m[i]);
        assert_null(zt_next(&it));
        zt_seek(t, n - 1, &it);
        for (size_t i = n; i-- > 0;) assert_int_equal(V(zt_prev(&it)), m[i]);
        assert_null(zt_prev(&it));
    } else {
        assert_null(t->root);
    }
    for (int j = 0; j < 20; j++) {
        uintptr_t b = (next() % 4000) * 2;
        size_t want = 0;
        while (want < n && m[want] < b) want++;
        assert_int_equal(zt_lower(t, before_value, &b), want);
    }
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        rng = seed * 0x9e3779b97f4a7c15ull;
        zt_tree t;
        zt_init(&t);
        uintptr_t *m = malloc(20000 * sizeof *m);
        size_t n = 0;
        size_t target = seed % 4 == 0 ? 6000 : 300 + seed * 37;
        for (int step = 0; step < 9000; step++) {
            int grow = n < target ? next() % 10 < 7 : next() % 10 < 3;
            if (grow || n == 0) {
                uintptr_t v = (next() % 4000) * 2 + 1;
                /* sequential runs too: appends and prepends split unevenly */
                if (seed % 3 == 0) v = (uintptr_t)step * 2 + 1;
                size_t r = 0;
                while (r < n && m[r] < v) r++;
                if (r < n && m[r] == v) continue;
                assert_int_equal(zt_insert_at(&t, r, E(v)), 0);
                memmove(&m[r + 1], &m[r], (n - r) * sizeof *m);
                m[r] = v;
                n++;
            } else {
                size_t r = next() % n;
                assert_int_equal(V(zt_delete_at(&t, r)), m[r]);
                memmove(&m[r], &m[r + 1], (n - r - 1) * sizeof *m);
                n--;
            }
            if (step % 500 == 0) check(&t, m, n);
        }
        check(&t, m, n);
        /* drain from both ends */
        while (n) {
            size_t r = next() % 2 ? 0 : n - 1;
            assert_int_equal(V(zt_delete_at(&t, r)), m[r]);
            memmove(&m[r], &m[r + 1], (n - r - 1) * sizeof *m);
            n--;
        }
        check(&t, m, n);
        assert_int_equal(t.leaves, 0);
        assert_int_equal(t.inners, 0);
        zt_free(&t, NULL);
        free(m);
    }
}

/* Appending in order fills leaves: the node overhead per element stays near
 * one pointer. */
static void test_appends_fill_nodes(void **state)
{
    (void)state;
    zt_tree t;
    zt_init(&t);
    for (uintptr_t i = 0; i < 100000; i++) assert_int_equal(zt_insert_at(&t, t.count, E(i + 1)), 0);
    assert_true(zt_nodes_memory(&t) < 100000 * 9);
    assert_true(t.height >= 2);
    zt_free(&t, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_appends_fill_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
