/* raft/aio_release.c: the UvOsIoDestroy that replaces libraft's returns at
 * once and the context is destroyed soon after on the release thread (the
 * kernel then no longer knows it); a context the kernel refuses is counted
 * as a failure. Waits poll with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aio_release.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Until nothing is pending, at most 10 s. */
static void wait_released(void)
{
    double deadline = now_s() + 10;
    while (tc_aio_release_pending() > 0) {
        if (now_s() > deadline) fail_msg("AIO contexts still pending after 10 s");
        usleep(1000);
    }
}

static void destroys_off_the_caller(void **state)
{
    (void)state;
    unsigned long long before = tc_aio_released();
    aio_context_t ctx[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) assert_int_equal(syscall(__NR_io_setup, 1, &ctx[i]), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(UvOsIoDestroy(ctx[i]), 0);
    wait_released();
    assert_int_equal(tc_aio_released(), before + 3);
    /* gone from the kernel: a second destroy is refused */
    for (int i = 0; i < 3; i++) {
        errno = 0;
        assert_int_equal(syscall(__NR_io_destroy, ctx[i]), -1);
        assert_int_equal(errno, EINVAL);
    }
}

static void refused_context_counted(void **state)
{
    (void)state;
    unsigned long long failures = tc_aio_release_failures();
    unsigned long long released = tc_aio_released();
    aio_context_t ctx = 0;
    assert_int_equal(syscall(__NR_io_setup, 1, &ctx), 0);
    assert_int_equal(syscall(__NR_io_destroy, ctx), 0);
    /* destroyed already: libraft is not told (it has moved on), INFO is */
    assert_int_equal(UvOsIoDestroy(ctx), 0);
    wait_released();
    assert_int_equal(tc_aio_release_failures(), failures + 1);
    assert_int_equal(tc_aio_released(), released);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(destroys_off_the_caller),
        cmocka_unit_test(refused_context_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
