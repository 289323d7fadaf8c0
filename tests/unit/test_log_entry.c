/* replication/log_entry.c: round trips and every malformed entry refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "log_entry.h"

static tc_buf build_sample(void)
{
    tc_buf b = {0};
    tc_entry_begin(&b, TC_ENTRY_COMMANDS, 1700000000123LL);
    tc_slice set[] = {{"SET", 3}, {"k\0ey", 4}, {"", 0}, {"EX", 2}, {"10", 2}};
    tc_slice incr[] = {{"INCR", 4}, {"n", 1}};
    char big[300];
    memset(big, 'x', sizeof big);
    tc_slice app[] = {{"APPEND", 6}, {"k", 1}, {big, sizeof big}};
    tc_entry_add(&b, 5, set);
    tc_entry_add(&b, 2, incr);
    tc_entry_add(&b, 3, app);
    assert_int_equal(tc_entry_end(&b, 3), 0);
    return b;
}

static void test_round_trip(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_entry_reader r;
    char err[128];
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.kind, TC_ENTRY_COMMANDS);
    assert_int_equal(r.time_ms, 1700000000123LL);
    assert_int_equal(r.ncommands, 3);
    tc_slice *argv = NULL;
    size_t cap = 0;
    assert_int_equal(tc_entry_next(&r, &argv, &cap), 5);
    assert_memory_equal(argv[1].p, "k\0ey", 4);
    assert_int_equal(argv[2].len, 0);
    assert_int_equal(tc_entry_next(&r, &argv, &cap), 2);
    assert_memory_equal(argv[0].p, "INCR", 4);
    assert_int_equal(tc_entry_next(&r, &argv, &cap), 3);
    assert_int_equal(argv[2].len, 300);
    assert_int_equal(tc_entry_next(&r, &argv, &cap), 0);
    free(argv);
    tc_buf_free(&b);
}

static void test_empty_and_negative_time(void **state)
{
    (void)state;
    tc_buf b = {0};
    tc_entry_begin(&b, TC_ENTRY_EXPIRE, -5);
    assert_int_equal(tc_entry_end(&b, 0), 0);
    tc_entry_reader r;
    char err[128];
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.kind, TC_ENTRY_EXPIRE);
    assert_int_equal(r.time_ms, -5);
    assert_int_equal(r.ncommands, 0);
    tc_buf_free(&b);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    char err[128];
    for (size_t len = 0; len < b.len; len++) {
        tc_entry_reader r;
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, b.data, len);
        assert_int_equal(tc_entry_open(&r, copy, len, err, sizeof err), -1);
        free(copy);
    }
    tc_buf_free(&b);
}

static void test_trailing_bytes_refused(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_buf_append(&b, "x", 1);
    tc_entry_reader r;
    char err[128];
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "after its last command"));
    tc_buf_free(&b);
}

static void test_zero_padding_accepted(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_entry_reader r;
    char err[128];
    tc_buf_append(&b, "\0\0\0\0\0\0\0", 7);
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.ncommands, 3);
    tc_buf_append(&b, "\0", 1); /* 8 bytes of padding is not padding */
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    tc_buf_free(&b);
}

static void test_bad_header_fields(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_entry_reader r;
    char err[128];
    b.data[0] = 2;
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 2"));
    b.data[0] = TC_ENTRY_VERSION;
    b.data[1] = 9;
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "kind 9"));
    b.data[1] = 0;
    /* a count larger than what follows */
    b.data[TC_ENTRY_HEADER] = (char)(0x80 | 4);
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    /* a count over the limit */
    memcpy(b.data + TC_ENTRY_HEADER, "\xff\xff\xff\xff\x0f", 5);
    assert_int_equal(tc_entry_open(&r, b.data, b.len, err, sizeof err), -1);
    tc_buf_free(&b);
}

static void test_malformed_varints_refused(void **state)
{
    (void)state;
    char err[128];
    tc_entry_reader r;
    /* header + count 1 + argc given as an over-long varint */
    unsigned char e[64] = {TC_ENTRY_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x00};
    size_t h = TC_ENTRY_HEADER + 5;
    memcpy(e + h, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    assert_int_equal(tc_entry_open(&r, e, h + 11, err, sizeof err), -1);
    /* argc = 0 is not a command */
    e[h] = 0;
    assert_int_equal(tc_entry_open(&r, e, h + 1, err, sizeof err), -1);
    /* non-canonical varint (trailing zero byte) */
    e[h] = 0x81;
    e[h + 1] = 0x00;
    assert_int_equal(tc_entry_open(&r, e, h + 2, err, sizeof err), -1);
    /* argument length past the end */
    e[h] = 1;
    e[h + 1] = 50;
    memcpy(e + h + 2, "abc", 3);
    assert_int_equal(tc_entry_open(&r, e, h + 5, err, sizeof err), -1);
    assert_non_null(strstr(err, "runs past the entry"));
    /* the same, well formed */
    e[h + 1] = 3;
    assert_int_equal(tc_entry_open(&r, e, h + 5, err, sizeof err), 0);
}

static void test_every_byte_flip_is_safe(void **state)
{
    (void)state;
    /* No flip may crash or over-read; most are refused, and any that is
     * accepted must still decode to exactly ncommands commands. */
    tc_buf b = build_sample();
    char err[128];
    tc_slice *argv = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            copy[i] ^= (char)(1 << bit);
            tc_entry_reader r;
            if (tc_entry_open(&r, copy, b.len, err, sizeof err) == 0) {
                uint32_t n = 0;
                while (tc_entry_next(&r, &argv, &cap) > 0) n++;
                assert_int_equal(n, r.ncommands);
            }
            free(copy);
        }
    }
    free(argv);
    tc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_and_negative_time),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_trailing_bytes_refused),
        cmocka_unit_test(test_zero_padding_accepted),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_malformed_varints_refused),
        cmocka_unit_test(test_every_byte_flip_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
