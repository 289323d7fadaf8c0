/* raft/segment_buffers.c: an aligned block libraft frees is handed out
 * again (the same one, counted) to an aligned request it fits, the smallest
 * that fits first, never to one asking a stricter alignment than it has;
 * the kept bytes and blocks never pass the cap, the smallest going first;
 * blocks larger than half the cap are not kept; once installed,
 * raft_aligned_alloc/raft_aligned_free go through the pool and the other
 * raft_* calls do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <raft.h>
#include <string.h>

#include "segment_buffers.h"

#define MIB ((size_t)1 << 20)

static int reset(void **state)
{
    (void)state;
    tc_segbuf_trim();
    return 0;
}

static void freed_block_reused(void **state)
{
    (void)state;
    unsigned long long before = tc_segbuf_reused();
    char *p = tc_segbuf_alloc(4096, MIB);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 4096, 0);
    memset(p, 'x', MIB);
    tc_segbuf_free(p);
    assert_int_equal(tc_segbuf_kept_bytes(), malloc_usable_size(p));
    /* a smaller request fits in it too */
    assert_ptr_equal(tc_segbuf_alloc(4096, MIB / 2), p);
    assert_int_equal(tc_segbuf_reused(), before + 1);
    assert_int_equal(tc_segbuf_kept_bytes(), 0);
    tc_segbuf_free(p);
}

static void smallest_fit_and_alignment(void **state)
{
    (void)state;
    char *big = tc_segbuf_alloc(4096, 4 * MIB);
    char *small = tc_segbuf_alloc(4096, 2 * MIB);
    assert_non_null(big);
    assert_non_null(small);
    tc_segbuf_free(big);
    tc_segbuf_free(small);
    assert_ptr_equal(tc_segbuf_alloc(4096, MIB), small);
    tc_segbuf_free(small);
    /* nothing kept is large enough: a new block */
    char *huge = tc_segbuf_alloc(4096, 8 * MIB);
    assert_ptr_not_equal(huge, big);
    assert_ptr_not_equal(huge, small);
    tc_segbuf_free(huge);
    /* a stricter alignment than a kept block has is not served from it */
    tc_segbuf_trim();
    char *a = tc_segbuf_alloc(4096, MIB);
    int aligned_1m = (uintptr_t)a % MIB == 0;
    tc_segbuf_free(a);
    char *b = tc_segbuf_alloc(MIB, MIB);
    assert_int_equal((uintptr_t)b % MIB, 0);
    if (!aligned_1m) assert_ptr_not_equal(b, a);
    tc_segbuf_free(b);
}

static void cap_keeps_the_biggest(void **state)
{
    (void)state;
    /* 5 + 6 + 7 + 8 + 9 MiB = 35 MiB: more than the 32 MiB cap */
    char *blocks[5];
    for (int i = 0; i < 5; i++) assert_non_null(blocks[i] = tc_segbuf_alloc(4096, (size_t)(5 + i) * MIB));
    size_t sizes[5];
    for (int i = 0; i < 5; i++) sizes[i] = malloc_usable_size(blocks[i]);
    for (int i = 0; i < 5; i++) {
        tc_segbuf_free(blocks[i]);
        assert_true(tc_segbuf_kept_bytes() <= TC_SEGBUF_CAP);
    }
    /* the 5 MiB one went */
    assert_int_equal(tc_segbuf_kept_bytes(), sizes[1] + sizes[2] + sizes[3] + sizes[4]);
    assert_ptr_equal(tc_segbuf_alloc(4096, 5 * MIB), blocks[1]);
    tc_segbuf_free(blocks[1]);

    /* more blocks than slots: the count stays within them */
    tc_segbuf_trim();
    enum { MANY = TC_SEGBUF_SLOTS + 4 };
    char *many[MANY];
    size_t usable[MANY];
    for (int i = 0; i < MANY; i++) {
        assert_non_null(many[i] = tc_segbuf_alloc(4096, 64 << 10));
        usable[i] = malloc_usable_size(many[i]);
    }
    for (int i = 0; i < MANY; i++) tc_segbuf_free(many[i]);
    /* the sixteen largest are kept (the C library may round some up) */
    for (int i = 0; i < MANY; i++)
        for (int j = i + 1; j < MANY; j++)
            if (usable[j] > usable[i]) {
                size_t t = usable[i];
                usable[i] = usable[j];
                usable[j] = t;
            }
    size_t sum = 0;
    for (int i = 0; i < TC_SEGBUF_SLOTS; i++) sum += usable[i];
    assert_int_equal(tc_segbuf_kept_bytes(), sum);

    /* over half the cap: not kept */
    tc_segbuf_trim();
    tc_segbuf_free(tc_segbuf_alloc(4096, TC_SEGBUF_CAP / 2 + 4096));
    assert_int_equal(tc_segbuf_kept_bytes(), 0);
    tc_segbuf_free(NULL);
}

static void installed_for_aligned_calls_only(void **state)
{
    (void)state;
    tc_segbuf_install();
    tc_segbuf_install(); /* idempotent */
    unsigned long long before = tc_segbuf_reused();
    void *a = raft_aligned_alloc(4096, MIB);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 4096, 0);
    raft_aligned_free(4096, a);
    assert_true(tc_segbuf_kept_bytes() > 0);
    assert_ptr_equal(raft_aligned_alloc(4096, MIB), a);
    assert_int_equal(tc_segbuf_reused(), before + 1);
    raft_aligned_free(4096, a);
    /* raft_malloc and raft_free leave the pool alone */
    unsigned long long kept = tc_segbuf_kept_bytes();
    char *p = raft_malloc(MIB);
    assert_non_null(p);
    assert_ptr_not_equal(p, a);
    p = raft_realloc(p, 2 * MIB);
    assert_non_null(p);
    raft_free(p);
    char *z = raft_calloc(4, 16);
    assert_non_null(z);
    for (int i = 0; i < 64; i++) assert_int_equal(z[i], 0);
    raft_free(z);
    assert_int_equal(tc_segbuf_kept_bytes(), kept);
    raft_heap_set_default();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(freed_block_reused, reset),
        cmocka_unit_test_setup(smallest_fit_and_alignment, reset),
        cmocka_unit_test_setup(cap_keeps_the_biggest, reset),
        cmocka_unit_test_setup(installed_for_aligned_calls_only, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_segbuf_trim();
    return rc;
}
