/* raft/log_checksum.c: its byteCrc32 gives exactly what libraft's own gives
 * (linked here from libraft.a under the name libraft_byteCrc32), for every
 * length, alignment and starting value, and what a bit-at-a-time CRC-32 with
 * the same polynomial gives; it counts the bytes it checksummed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "log_checksum.h"

unsigned libraft_byteCrc32(const void *buf, size_t size, unsigned init);

/* The definition, one bit at a time: nothing shared with either table. */
static unsigned crc_bitwise(const unsigned char *p, size_t n, unsigned crc)
{
    while (n--) {
        crc ^= (unsigned)*p++ << 24;
        for (int bit = 0; bit < 8; bit++) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static unsigned char *random_bytes(size_t n, unsigned seed)
{
    unsigned char *b = malloc(n);
    assert_non_null(b);
    srand(seed);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(rand() >> 7);
    return b;
}

static void test_known_values(void **state)
{
    (void)state;
    /* CRC-32/MPEG-2 of "123456789" (init all ones, no final XOR): 0x0376E6E7. */
    assert_int_equal(byteCrc32("123456789", 9, 0xFFFFFFFFu), 0x0376E6E7u);
    assert_int_equal(byteCrc32("", 0, 0), 0);
    assert_int_equal(byteCrc32("", 0, 0x12345678u), 0x12345678u);
}

static void test_same_as_libraft(void **state)
{
    (void)state;
    const size_t n = 4096 + 64;
    unsigned char *b = random_bytes(n, 7);
    for (size_t start = 0; start < 16; start++) {
        for (size_t len = 0; len + start <= 300; len++) {
            unsigned init = (unsigned)(len * 2654435761u);
            unsigned want = libraft_byteCrc32(b + start, len, init);
            assert_int_equal(byteCrc32(b + start, len, init), want);
            assert_int_equal(crc_bitwise(b + start, len, init), want);
        }
    }
    assert_int_equal(byteCrc32(b, n, 0), libraft_byteCrc32(b, n, 0));
    free(b);
}

/* Lengths where the carry-less multiplication path runs (from 256 bytes on
 * CPUs with it): every tail after the 64-byte strides and after the 16-byte
 * blocks, from every alignment, from varied starting values. */
static void test_long_lengths_same_as_libraft(void **state)
{
    (void)state;
    const size_t n = 1400;
    unsigned char *b = random_bytes(n, 13);
    for (size_t start = 0; start < 16; start++) {
        for (size_t len = 240; len + start <= n; len++) {
            unsigned init = (unsigned)((len + start) * 2246822519u);
            unsigned want = libraft_byteCrc32(b + start, len, init);
            assert_int_equal(byteCrc32(b + start, len, init), want);
            /* and the path of CPUs without carry-less multiplication */
            assert_int_equal(tc_log_checksum_tables(b + start, len, init), want);
        }
    }
    free(b);
}

static void test_big_buffer_and_chaining(void **state)
{
    (void)state;
    /* libraft chains calls (a batch's header, then each entry): any split of
     * a buffer gives the checksum of the whole. */
    const size_t n = (size_t)3 << 20;
    unsigned char *b = random_bytes(n, 11);
    unsigned whole = libraft_byteCrc32(b, n, 0);
    assert_int_equal(byteCrc32(b, n, 0), whole);
    assert_int_equal(tc_log_checksum_tables(b, n, 0), whole);
    for (size_t cut = 1; cut < n; cut = cut * 3 + 1)
        assert_int_equal(byteCrc32(b + cut, n - cut, byteCrc32(b, cut, 0)), whole);
    free(b);
}

static void test_counts_bytes(void **state)
{
    (void)state;
    unsigned long long before = tc_log_checksum_bytes();
    unsigned char b[100] = {0};
    byteCrc32(b, sizeof b, 0);
    byteCrc32(b, 0, 0);
    assert_int_equal(tc_log_checksum_bytes(), before + sizeof b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_same_as_libraft),
        cmocka_unit_test(test_long_lengths_same_as_libraft),
        cmocka_unit_test(test_big_buffer_and_chaining),
        cmocka_unit_test(test_counts_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
