/* snapshot/keyspace_image.c: the keyspace through the snapshot format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "keyspace_image.h"

/* Writes f's keyspace to a temp file and returns its bytes. */
static unsigned char *image_of(fx *f, const tc_apply_state *st, size_t *len)
{
    char path[] = "/tmp/tc-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char err[256];
    tc_image_opts o = {.raft_index = 42, .raft_term = 3};
    assert_int_equal(tc_image_write_fd(&f->srv, st, &o, fd, err, sizeof err), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char *buf = malloc((size_t)size);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    *len = (size_t)size;
    return buf;
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "2000", "k", "50", NULL);
    fx_run(f, "SET", "ttl", "v", "PXAT", "1800000000000", NULL);
    const char *argv[] = {"SET", "bin\0ary", "v\0\r\n"};
    size_t lens[] = {3, 7, 4};
    fx_runv(f, 3, argv, lens);
    char before[64];
    snprintf(before, sizeof before, "%s", fx_run(f, "DEBUG", "DIGEST", NULL));
    tc_apply_state st = {.clock_ms = 1700000000123LL};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);

    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    tc_apply_state st2 = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), 0);
    assert_int_equal(st2.clock_ms, 1700000000123LL);
    assert_string_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":2002\r\n");
    fx_teardown(&other);
    free(img);
}

static void test_damaged_image_changes_nothing(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "500", "k", "20", NULL);
    tc_apply_state st = {.clock_ms = 5};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    fx_run(f, "FLUSHALL", NULL);
    fx_run(f, "SET", "survivor", "1", NULL);
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    tc_apply_state st2 = {.clock_ms = 77};
    /* truncated, and one flipped bit in the middle */
    assert_int_equal(tc_image_load(&f->srv, &st2, img, len - 10, &ro, err, sizeof err), -1);
    img[len / 2] ^= 0x10;
    assert_int_equal(tc_image_load(&f->srv, &st2, img, len, &ro, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":1\r\n");
    assert_int_equal(st2.clock_ms, 77);
    free(img);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {T(test_round_trip), T(test_damaged_image_changes_nothing)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
