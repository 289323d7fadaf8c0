/* common/big_keep.c: freed big blocks are kept within the limit and the
 * slots and handed out again for requests they fit; small blocks, a zero
 * limit and a forked child keep nothing; trimming frees them; a forked child
 * does not inherit a kept block's pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MIB ((size_t)1 << 20)

static int reset(void **state)
{
    (void)state;
    tc_big_keep_limit(0); /* frees whatever a test kept */
    assert_int_equal(tc_big_kept_bytes(), 0);
    return 0;
}

static void test_nothing_kept_without_a_limit(void **state)
{
    (void)state;
    char *p = malloc(40 * MIB);
    assert_non_null(p);
    tc_big_free(p);
    assert_int_equal(tc_big_kept_bytes(), 0);
    assert_null(tc_big_take(40 * MIB, NULL));
}

static void test_a_freed_block_is_taken_again(void **state)
{
    (void)state;
    tc_big_keep_limit(256 * MIB);
    char *p = tc_big_malloc(40 * MIB);
    assert_non_null(p);
    size_t usable = malloc_usable_size(p);
    memset(p, 1, 40 * MIB);
    tc_big_free(p);
    assert_int_equal(tc_big_kept_bytes(), usable);
    unsigned long long reused = tc_big_reused();
    size_t got = 0;
    char *q = tc_big_take(40 * MIB, &got);
    assert_ptr_equal(q, p);
    assert_int_equal(got, usable);
    assert_int_equal(tc_big_reused(), reused + 1);
    assert_int_equal(tc_big_kept_bytes(), 0);
    memset(q, 2, got); /* usable again, all of it */
    free(q);           /* a kept block is malloc's: free() works */
}

static void test_only_a_close_fit_is_handed_out(void **state)
{
    (void)state;
    tc_big_keep_limit(256 * MIB);
    char *p = malloc(64 * MIB);
    assert_non_null(p);
    tc_big_free(p);
    /* 64 MiB for 40: more than a quarter wasted */
    assert_null(tc_big_take(40 * MIB, NULL));
    /* larger than the block */
    assert_null(tc_big_take(65 * MIB, NULL));
    /* below the size blocks are kept from: never from the pool */
    assert_null(tc_big_take(TC_BIG_ALLOC_MIN - 1, NULL));
    char *q = tc_big_take(60 * MIB, NULL);
    assert_ptr_equal(q, p);
    free(q);
}

static void test_small_blocks_are_freed(void **state)
{
    (void)state;
    tc_big_keep_limit(256 * MIB);
    tc_big_free(malloc(TC_BIG_ALLOC_MIN / 2));
    tc_big_free(NULL);
    assert_int_equal(tc_big_kept_bytes(), 0);
}

static void test_the_limit_and_the_slots_hold(void **state)
{
    (void)state;
    tc_big_keep_limit(100 * MIB);
    char *a = malloc(40 * MIB), *b = malloc(40 * MIB), *c = malloc(40 * MIB);
    assert_true(a && b && c);
    tc_big_free(a);
    tc_big_free(b);
    tc_big_free(c); /* three do not fit: the oldest (a) goes */
    assert_true(tc_big_kept_bytes() <= 100 * MIB);
    assert_true(tc_big_kept_bytes() >= 80 * MIB);
    char *x = tc_big_take(40 * MIB, NULL), *y = tc_big_take(40 * MIB, NULL);
    assert_true((x == b && y == c) || (x == c && y == b));
    assert_null(tc_big_take(40 * MIB, NULL));
    free(x);
    free(y);

    /* a block larger than the limit is not kept at all */
    char *big = malloc(120 * MIB);
    assert_non_null(big);
    tc_big_free(big);
    assert_int_equal(tc_big_kept_bytes(), 0);

    tc_big_keep_limit(1024 * MIB);
    for (int i = 0; i < TC_BIG_KEEP_SLOTS + 3; i++) tc_big_free(malloc(TC_BIG_ALLOC_MIN));
    size_t one = tc_big_kept_bytes() / TC_BIG_KEEP_SLOTS;
    assert_true(one >= TC_BIG_ALLOC_MIN);
    int taken = 0;
    void *t;
    while ((t = tc_big_take(TC_BIG_ALLOC_MIN, NULL)) != NULL) {
        free(t);
        taken++;
    }
    assert_int_equal(taken, TC_BIG_KEEP_SLOTS);
}

static void test_trim_frees_old_blocks(void **state)
{
    (void)state;
    tc_big_keep_limit(256 * MIB);
    tc_big_free(malloc(40 * MIB));
    tc_big_trim(TC_BIG_KEEP_MS); /* kept a moment ago: stays */
    assert_true(tc_big_kept_bytes() >= 40 * MIB);
    tc_big_trim(0);
    assert_int_equal(tc_big_kept_bytes(), 0);
    tc_big_free(malloc(40 * MIB));
    tc_big_keep_limit(0); /* turned off: what was kept goes too */
    assert_int_equal(tc_big_kept_bytes(), 0);
}

static void test_a_forked_child_has_no_kept_pages(void **state)
{
    (void)state;
    tc_big_keep_limit(256 * MIB);
    char *p = malloc(40 * MIB);
    assert_non_null(p);
    memset(p, 7, 40 * MIB);
    tc_big_free(p);
    /* a page in the middle of the block, 2 MiB-aligned */
    char *mid = (char *)(((uintptr_t)p + 20 * MIB) & ~(uintptr_t)(2 * MIB - 1));
    int fd = -1;
    pid_t pid = tc_fork_with_pipe(&fd);
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char vec;
        /* not mapped here (mincore: ENOMEM), and the pool is off */
        int unmapped = mincore(mid, 4096, &vec) != 0 && errno == ENOMEM;
        int bypassed = tc_big_take(40 * MIB, NULL) == NULL;
        _exit(unmapped && bypassed ? 0 : 1);
    }
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* in the parent the block is whole and is handed out again */
    char *q = tc_big_take(40 * MIB, NULL);
    assert_ptr_equal(q, p);
    assert_int_equal(q[0], 7);
    assert_int_equal(mid[0], 7);
    assert_int_equal(q[40 * MIB - 1], 7);
    /* used again, it is inherited like any memory */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(mid[0] == 7 ? 0 : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_nothing_kept_without_a_limit, reset),
        cmocka_unit_test_setup(test_a_freed_block_is_taken_again, reset),
        cmocka_unit_test_setup(test_only_a_close_fit_is_handed_out, reset),
        cmocka_unit_test_setup(test_small_blocks_are_freed, reset),
        cmocka_unit_test_setup(test_the_limit_and_the_slots_hold, reset),
        cmocka_unit_test_setup(test_trim_frees_old_blocks, reset),
        cmocka_unit_test_setup(test_a_forked_child_has_no_kept_pages, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
