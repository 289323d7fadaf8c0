/* raft/segment_fill.c: the posix_fallocate() libraft calls reserves the
 * space, leaves it reading as zeros, writes the blocks of a log segment
 * ("open-N": no "unwritten" extent left where the filesystem can say so)
 * and only those, and keeps the libc contract (an error number returned,
 * errno untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "segment_fill.h"

static char dir[64], path[96], other[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tc-segfill-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* named as libraft names an open segment */
    snprintf(path, sizeof path, "%s/open-12", dir);
    snprintf(other, sizeof other, "%s/open-12.tmp", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(other);
    rmdir(dir);
    return 0;
}

/* Extents of the file flagged unwritten, or -1 when the filesystem has no
 * FIEMAP (tmpfs): then only the contents are checked. */
static int unwritten_extents(int fd)
{
    struct {
        struct fiemap map;
        struct fiemap_extent ext[64];
    } q;
    memset(&q, 0, sizeof q);
    q.map.fm_length = FIEMAP_MAX_OFFSET;
    q.map.fm_extent_count = 64;
    q.map.fm_flags = FIEMAP_FLAG_SYNC;
    if (ioctl(fd, FS_IOC_FIEMAP, &q.map) != 0) return -1;
    assert_true(q.map.fm_mapped_extents > 0);
    int n = 0;
    for (unsigned i = 0; i < q.map.fm_mapped_extents; i++)
        if (q.ext[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) n++;
    return n;
}

/* fd's len bytes are reserved and read as zeros, but the filesystem (where
 * it says so) still holds them as unwritten: nothing was written ahead. */
static void assert_reserved_only(int fd, off_t len)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, len);
    assert_true((off_t)st.st_blocks * 512 >= len);
    int unwritten = unwritten_extents(fd);
    if (unwritten >= 0) assert_true(unwritten > 0);
    char buf[4096];
    assert_int_equal(pread(fd, buf, sizeof buf, len - (off_t)sizeof buf), (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0);
}

static void reserves_and_writes_zeros(void **state)
{
    (void)state;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned long long before = tc_segment_fill_count();
    const off_t len = (3 << 20) + 4096; /* not a whole number of chunks */
    errno = 1234;
    assert_int_equal(posix_fallocate(fd, 0, len), 0);
    assert_int_equal(errno, 1234);
    assert_int_equal(tc_segment_fill_count(), before + 1);

    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, len);
    assert_true((off_t)st.st_blocks * 512 >= len);
    int unwritten = unwritten_extents(fd);
    if (unwritten >= 0) assert_int_equal(unwritten, 0);
    else print_message("no FIEMAP on this filesystem: only the contents checked\n");

    char *buf = malloc((size_t)len);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
    for (off_t i = 0; i < len; i++)
        if (buf[i] != 0) fail_msg("byte %lld is not zero", (long long)i);
    free(buf);
    close(fd);
}

/* Any other file (a snapshot's, libraft's metadata) is written whole by
 * libraft after reserving it: it is only reserved. */
static void other_files_only_reserved(void **state)
{
    (void)state;
    int fd = open(other, O_CREAT | O_RDWR, 0600);
    assert_true(fd >= 0);
    unsigned long long before = tc_segment_fill_count();
    const off_t len = 1 << 20;
    assert_int_equal(posix_fallocate(fd, 0, len), 0);
    assert_int_equal(tc_segment_fill_count(), before);
    assert_reserved_only(fd, len);
    close(fd);
}

/* A range over bytes the file holds keeps them; past the old end it reads
 * as zeros. */
static void keeps_existing_bytes(void **state)
{
    (void)state;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "tricache", 8, 0), 8);
    assert_int_equal(posix_fallocate(fd, 0, 4096 + 8192), 0);
    char head[16];
    assert_int_equal(pread(fd, head, 16, 0), 16);
    assert_memory_equal(head, "tricache\0\0\0\0\0\0\0\0", 16);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 4096 + 8192);
    close(fd);
}

static void errors_are_returned_not_set(void **state)
{
    (void)state;
    unsigned long long failures = tc_segment_fill_failures();
    errno = 0;
    assert_int_equal(posix_fallocate(-1, 0, 4096), EBADF);
    assert_int_equal(errno, 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(posix_fallocate(fd, 0, 0), EINVAL);
    assert_int_equal(posix_fallocate(fd, -1, 4096), EINVAL);
    close(fd);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(posix_fallocate(fd, 0, 4096), EBADF);
    close(fd);
    assert_int_equal(tc_segment_fill_failures(), failures + 4);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends below TC_SEGMENT_FILL_BIG_APPEND (batches of client writes) do
 * not stop the zeros. Runs before any big append is noted. */
static void small_appends_keep_filling(void **state)
{
    (void)state;
    tc_segment_fill_note_append(0);
    tc_segment_fill_note_append(TC_SEGMENT_FILL_BIG_APPEND - 1);
    assert_false(tc_segment_fill_streaming(monotonic_ms()));
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned long long filled = tc_segment_fill_count(), skipped = tc_segment_fill_skipped();
    assert_int_equal(posix_fallocate(fd, 0, 1 << 20), 0);
    assert_int_equal(tc_segment_fill_count(), filled + 1);
    assert_int_equal(tc_segment_fill_skipped(), skipped);
    close(fd);
}

/* After a big append, a segment prepared within TC_SEGMENT_FILL_STREAM_MS
 * is reserved and reads as zeros, but its zeros are not written; later
 * ones are filled again. */
static void big_appends_leave_segments_reserved(void **state)
{
    (void)state;
    tc_segment_fill_note_append(TC_SEGMENT_FILL_BIG_APPEND);
    int64_t now = monotonic_ms();
    assert_true(tc_segment_fill_streaming(now));
    assert_false(tc_segment_fill_streaming(now + TC_SEGMENT_FILL_STREAM_MS + 1));
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned long long filled = tc_segment_fill_count(), skipped = tc_segment_fill_skipped();
    const off_t len = 2 << 20;
    errno = 77;
    assert_int_equal(posix_fallocate(fd, 0, len), 0);
    assert_int_equal(errno, 77);
    assert_int_equal(tc_segment_fill_count(), filled);
    assert_int_equal(tc_segment_fill_skipped(), skipped + 1);
    assert_reserved_only(fd, len);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reserves_and_writes_zeros, setup, teardown),
        cmocka_unit_test_setup_teardown(other_files_only_reserved, setup, teardown),
        cmocka_unit_test_setup_teardown(keeps_existing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_are_returned_not_set, setup, teardown),
        cmocka_unit_test_setup_teardown(small_appends_keep_filling, setup, teardown),
        /* last: the big append it notes holds for a second */
        cmocka_unit_test_setup_teardown(big_appends_leave_segments_reserved, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
