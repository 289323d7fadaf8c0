/* Bit commands, LCS, SUBSTR and COPY (node/t_bitops.c, t_lcs.c, t_copy.c):
 * replies as Redis 7.0 sends them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fixture.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static void test_setbit_getbit(void **state)
{
    fx *f = *state;
    EXPECT(f, ":0\r\n", "SETBIT", "b", "7", "1");
    EXPECT(f, "$1\r\n\x01\r\n", "GET", "b");
    EXPECT(f, ":1\r\n", "SETBIT", "b", "7", "0");
    EXPECT(f, ":0\r\n", "SETBIT", "b", "17", "1");
    EXPECT(f, ":3\r\n", "STRLEN", "b");
    EXPECT(f, ":1\r\n", "GETBIT", "b", "17");
    EXPECT(f, ":0\r\n", "GETBIT", "b", "1000");
    EXPECT(f, ":0\r\n", "GETBIT", "nope", "0");
    EXPECT(f, "-ERR bit offset is not an integer or out of range\r\n", "SETBIT", "b", "-1", "1");
    EXPECT(f, "-ERR bit offset is not an integer or out of range\r\n", "SETBIT", "b", "4294967296", "1");
    EXPECT(f, "-ERR bit is not an integer or out of range\r\n", "SETBIT", "b", "1", "2");
    EXPECT(f, ":1\r\n", "LPUSH", "l", "x");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "SETBIT", "l", "1", "1");
}

static void test_bitcount_bitpos(void **state)
{
    fx *f = *state;
    EXPECT(f, "+OK\r\n", "SET", "s", "foobar");
    EXPECT(f, ":26\r\n", "BITCOUNT", "s");
    EXPECT(f, ":4\r\n", "BITCOUNT", "s", "0", "0");
    EXPECT(f, ":6\r\n", "BITCOUNT", "s", "1", "1");
    EXPECT(f, ":17\r\n", "BITCOUNT", "s", "5", "30", "BIT");
    EXPECT(f, "-ERR syntax error\r\n", "BITCOUNT", "s", "0");
    EXPECT(f, "-ERR syntax error\r\n", "BITCOUNT", "s", "0", "1", "WORD");
    EXPECT(f, ":0\r\n", "BITCOUNT", "s", "-1", "-2");
    EXPECT(f, "+OK\r\n", "SET", "p", "\xff\xf0");
    EXPECT(f, ":12\r\n", "BITPOS", "p", "0");
    EXPECT(f, ":0\r\n", "BITPOS", "p", "1");
    EXPECT(f, ":-1\r\n", "BITPOS", "p", "0", "2"); /* an empty range */
    EXPECT(f, ":12\r\n", "BITPOS", "p", "0", "1");
    EXPECT(f, "+OK\r\n", "SET", "q", "\xff");
    EXPECT(f, ":8\r\n", "BITPOS", "q", "0"); /* no end given: zeros follow */
    EXPECT(f, ":-1\r\n", "BITPOS", "p", "0", "0", "0");
    EXPECT(f, ":12\r\n", "BITPOS", "p", "0", "7", "15", "BIT");
    EXPECT(f, ":-1\r\n", "BITPOS", "p", "0", "0", "11", "BIT");
    EXPECT(f, ":-1\r\n", "BITPOS", "nope", "1");
    EXPECT(f, ":0\r\n", "BITPOS", "nope", "0");
    EXPECT(f, "-ERR The bit argument must be 1 or 0.\r\n", "BITPOS", "p", "2");
}

static void test_bitop(void **state)
{
    fx *f = *state;
    EXPECT(f, "+OK\r\n", "SET", "a", "abc");
    EXPECT(f, "+OK\r\n", "SET", "c", "xy");
    EXPECT(f, ":3\r\n", "BITOP", "AND", "d", "a", "c");
    EXPECT(f, "$3\r\n``\x00\r\n", "GET", "d");
    EXPECT(f, ":3\r\n", "BITOP", "OR", "d", "a", "c", "nope");
    EXPECT(f, "$3\r\ny{c\r\n", "GET", "d");
    EXPECT(f, ":3\r\n", "BITOP", "XOR", "d", "a", "c");
    EXPECT(f, "$3\r\n\x19\x1b" "c\r\n", "GET", "d");
    EXPECT(f, ":2\r\n", "BITOP", "NOT", "d", "c");
    EXPECT(f, "$2\r\n\x87\x86\r\n", "GET", "d");
    EXPECT(f, ":0\r\n", "BITOP", "AND", "d", "nope");
    EXPECT(f, ":0\r\n", "EXISTS", "d");
    EXPECT(f, "-ERR BITOP NOT must be called with a single source key.\r\n", "BITOP", "NOT", "d", "a", "c");
    EXPECT(f, "-ERR syntax error\r\n", "BITOP", "NAND", "d", "a");
}

static void test_bitfield(void **state)
{
    fx *f = *state;
    EXPECT(f, "*3\r\n:0\r\n:255\r\n:9\r\n", "BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "INCRBY",
           "u8", "0", "10");
    EXPECT(f, "*2\r\n:255\r\n:-128\r\n", "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300", "INCRBY",
           "i8", "0", "-300");
    EXPECT(f, "*1\r\n$-1\r\n", "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300");
    EXPECT(f, "*2\r\n:0\r\n:-7\r\n", "BITFIELD", "bf", "SET", "i5", "#3", "-7", "GET", "i5", "#3");
    EXPECT(f, "*1\r\n:0\r\n", "BITFIELD", "nope", "GET", "u8", "0");
    EXPECT(f, ":0\r\n", "EXISTS", "nope");
    EXPECT(f,
           "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n",
           "BITFIELD", "bf", "GET", "u64", "0");
    EXPECT(f, "-ERR Invalid OVERFLOW type specified\r\n", "BITFIELD", "bf", "OVERFLOW", "MAYBE");
    EXPECT(f, "-ERR BITFIELD_RO only supports the GET subcommand\r\n", "BITFIELD_RO", "bf", "SET", "u8", "0", "1");
    EXPECT(f, "*1\r\n:128\r\n", "BITFIELD_RO", "bf", "GET", "u8", "0");
}

static void test_lcs_substr_copy(void **state)
{
    fx *f = *state;
    EXPECT(f, "+OK\r\n", "SET", "x1", "ohmytext");
    EXPECT(f, "+OK\r\n", "SET", "x2", "mynewtext");
    EXPECT(f, "$6\r\nmytext\r\n", "LCS", "x1", "x2");
    EXPECT(f, ":6\r\n", "LCS", "x1", "x2", "LEN");
    EXPECT(f, "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
           "LCS", "x1", "x2", "IDX", "WITHMATCHLEN");
    EXPECT(f, "-ERR If you want both the length and indexes, please just use IDX.\r\n", "LCS", "x1", "x2", "LEN", "IDX");
    EXPECT(f, "$4\r\nohmy\r\n", "SUBSTR", "x1", "0", "3");
    EXPECT(f, "$0\r\n\r\n", "SUBSTR", "x1", "-1", "-5");
    EXPECT(f, ":1\r\n", "COPY", "x1", "y1");
    EXPECT(f, ":0\r\n", "COPY", "x1", "y1");
    EXPECT(f, ":1\r\n", "COPY", "x2", "y1", "REPLACE");
    EXPECT(f, "$9\r\nmynewtext\r\n", "GET", "y1");
    EXPECT(f, "-ERR source and destination objects are the same\r\n", "COPY", "x1", "x1");
    EXPECT(f, "-ERR DB index is out of range\r\n", "COPY", "x1", "y1", "DB", "16");
    EXPECT(f, ":0\r\n", "COPY", "nope", "y9");
    EXPECT(f, ":2\r\n", "RPUSH", "l", "a", "b");
    EXPECT(f, ":1\r\n", "EXPIRE", "l", "100");
    EXPECT(f, ":1\r\n", "COPY", "l", "l2");
    EXPECT(f, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "LRANGE", "l2", "0", "-1");
    EXPECT(f, ":100\r\n", "TTL", "l2");
    EXPECT(f, ":3\r\n", "RPUSH", "l2", "c");
    EXPECT(f, ":2\r\n", "LLEN", "l"); /* a copy, not a shared value */
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_setbit_getbit), T(test_bitcount_bitpos), T(test_bitop), T(test_bitfield), T(test_lcs_substr_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
