/* String commands (node/t_string.c), replies compared byte for byte with
 * what Redis 7 sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static const char NIL[] = "$-1\r\n";
static const char OK[] = "+OK\r\n";
static const char NOTINT[] = "-ERR value is not an integer or out of range\r\n";
static const char SYNTAX[] = "-ERR syntax error\r\n";

static void test_get_set_basic(void **state)
{
    fx *f = *state;
    EXPECT(f, NIL, "GET", "k");
    EXPECT(f, OK, "SET", "k", "hello");
    EXPECT(f, "$5\r\nhello\r\n", "GET", "k");
    EXPECT(f, OK, "set", "k", "");
    EXPECT(f, "$0\r\n\r\n", "get", "k");
    EXPECT(f, "-ERR wrong number of arguments for 'get' command\r\n", "GET");
    EXPECT(f, "-ERR wrong number of arguments for 'set' command\r\n", "SET", "k");
    /* binary safe */
    const char *argv[] = {"SET", "b", "a\0b\r\n"};
    size_t lens[] = {3, 1, 5};
    assert_string_equal(fx_runv(f, 3, argv, lens), OK);
    RUN(f, "GET", "b");
    assert_memory_equal(f->out.data, "$5\r\na\0b\r\n\r\n", 12);
}

static void test_set_nx_xx_get(void **state)
{
    fx *f = *state;
    EXPECT(f, NIL, "SET", "k", "v", "XX");
    EXPECT(f, OK, "SET", "k", "v", "NX");
    EXPECT(f, NIL, "SET", "k", "w", "NX");
    EXPECT(f, OK, "SET", "k", "w", "XX");
    EXPECT(f, "$1\r\nw\r\n", "SET", "k", "x", "GET");
    EXPECT(f, NIL, "SET", "new", "x", "GET");
    EXPECT(f, "$1\r\nx\r\n", "SET", "k", "y", "NX", "GET"); /* not set, old value returned */
    EXPECT(f, "$1\r\nx\r\n", "GET", "k");
    EXPECT(f, SYNTAX, "SET", "k", "v", "NX", "XX");
    EXPECT(f, SYNTAX, "SET", "k", "v", "BOGUS");
}

static void test_set_expiry_options(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "SET", "k", "v", "EX", "10");
    EXPECT(f, ":10\r\n", "TTL", "k");
    EXPECT(f, ":10000\r\n", "PTTL", "k");
    EXPECT(f, OK, "SET", "k", "v", "PX", "1500");
    EXPECT(f, ":1500\r\n", "PTTL", "k");
    EXPECT(f, ":2\r\n", "TTL", "k"); /* rounded like Redis */
    EXPECT(f, OK, "SET", "k", "v", "PXAT", "1700000005000");
    EXPECT(f, ":1700000005000\r\n", "PEXPIRETIME", "k");
    EXPECT(f, OK, "SET", "k", "v", "EXAT", "1700000007");
    EXPECT(f, ":1700000007\r\n", "EXPIRETIME", "k");
    EXPECT(f, OK, "SET", "k", "w", "KEEPTTL");
    EXPECT(f, ":1700000007\r\n", "EXPIRETIME", "k");
    EXPECT(f, OK, "SET", "k", "w");
    EXPECT(f, ":-1\r\n", "TTL", "k");
    EXPECT(f, "-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "0");
    EXPECT(f, "-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "PX", "-5");
    EXPECT(f, "-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "9223372036854775807");
    EXPECT(f, NOTINT, "SET", "k", "v", "EX", "1.5");
    EXPECT(f, SYNTAX, "SET", "k", "v", "EX");
    EXPECT(f, SYNTAX, "SET", "k", "v", "EX", "10", "PX", "10");
    EXPECT(f, OK, "SET", "k", "v", "EX", "10", "EX", "20"); /* a repeated option: the last wins */
    EXPECT(f, ":20\r\n", "TTL", "k");
    EXPECT(f, SYNTAX, "SET", "k", "v", "EX", "10", "KEEPTTL");
    /* a deadline already passed leaves no key */
    EXPECT(f, OK, "SET", "k", "v", "PXAT", "1000");
    EXPECT(f, NIL, "GET", "k");
    EXPECT(f, ":0\r\n", "EXISTS", "k");
}

static void test_set_ifeq(void **state)
{
    fx *f = *state;
    EXPECT(f, NIL, "SET", "k", "v", "IFEQ", "x"); /* missing key never matches */
    EXPECT(f, ":0\r\n", "EXISTS", "k");
    EXPECT(f, OK, "SET", "k", "a");
    EXPECT(f, NIL, "SET", "k", "b", "IFEQ", "x");
    EXPECT(f, "$1\r\na\r\n", "GET", "k");
    EXPECT(f, OK, "SET", "k", "b", "IFEQ", "a");
    EXPECT(f, "$1\r\nb\r\n", "SET", "k", "c", "IFEQ", "b", "GET");
    EXPECT(f, "$1\r\nc\r\n", "GET", "k");
    EXPECT(f, SYNTAX, "SET", "k", "v", "IFEQ", "c", "NX");
    EXPECT(f, SYNTAX, "SET", "k", "v", "XX", "IFEQ", "c");
    EXPECT(f, SYNTAX, "SET", "k", "v", "IFEQ");
}

static void test_expired_key_is_never_returned(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "SET", "k", "v", "PX", "100");
    f->now_ms += 99;
    EXPECT(f, "$1\r\nv\r\n", "GET", "k");
    f->now_ms += 1;
    EXPECT(f, NIL, "GET", "k");
    EXPECT(f, ":-2\r\n", "TTL", "k");
    EXPECT(f, "$-1\r\n", "GETDEL", "k");
}

static void test_setnx_setex_psetex(void **state)
{
    fx *f = *state;
    EXPECT(f, ":1\r\n", "SETNX", "k", "a");
    EXPECT(f, ":0\r\n", "SETNX", "k", "b");
    EXPECT(f, "$1\r\na\r\n", "GET", "k");
    EXPECT(f, OK, "SETEX", "k", "5", "x");
    EXPECT(f, ":5\r\n", "TTL", "k");
    EXPECT(f, OK, "PSETEX", "k", "2500", "y");
    EXPECT(f, ":2500\r\n", "PTTL", "k");
    EXPECT(f, "-ERR invalid expire time in 'setex' command\r\n", "SETEX", "k", "0", "x");
    EXPECT(f, "-ERR invalid expire time in 'psetex' command\r\n", "PSETEX", "k", "-1", "x");
    EXPECT(f, NOTINT, "SETEX", "k", "ten", "x");
}

static void test_mget_mset_msetnx(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "MSET", "a", "1", "b", "2");
    EXPECT(f, "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n", "MGET", "a", "nope", "b");
    EXPECT(f, "-ERR wrong number of arguments for 'mset' command\r\n", "MSET", "a", "1", "b");
    EXPECT(f, ":0\r\n", "MSETNX", "c", "3", "a", "9");
    EXPECT(f, NIL, "GET", "c");
    EXPECT(f, ":1\r\n", "MSETNX", "c", "3", "d", "4");
    EXPECT(f, "$1\r\n4\r\n", "GET", "d");
    EXPECT(f, "-ERR wrong number of arguments for 'msetnx' command\r\n", "MSETNX", "a", "1", "b");
}

static void test_getset_getdel_getex(void **state)
{
    fx *f = *state;
    EXPECT(f, NIL, "GETSET", "k", "a");
    EXPECT(f, OK, "SET", "k", "b", "EX", "100");
    EXPECT(f, "$1\r\nb\r\n", "GETSET", "k", "c");
    EXPECT(f, ":-1\r\n", "TTL", "k"); /* GETSET drops the deadline */
    EXPECT(f, "$1\r\nc\r\n", "GETEX", "k", "EX", "50");
    EXPECT(f, ":50\r\n", "TTL", "k");
    EXPECT(f, "$1\r\nc\r\n", "GETEX", "k", "PERSIST");
    EXPECT(f, ":-1\r\n", "TTL", "k");
    EXPECT(f, "$1\r\nc\r\n", "GETEX", "k", "PXAT", "1700000009000");
    EXPECT(f, ":1700000009000\r\n", "PEXPIRETIME", "k");
    EXPECT(f, "$1\r\nc\r\n", "GETEX", "k");
    EXPECT(f, SYNTAX, "GETEX", "k", "KEEPTTL");
    EXPECT(f, SYNTAX, "GETEX", "k", "EX", "1", "PERSIST");
    EXPECT(f, NIL, "GETEX", "missing", "PX", "0"); /* missing key: nil before the time is checked */
    EXPECT(f, "-ERR invalid expire time in 'getex' command\r\n", "GETEX", "k", "EX", "0");
    EXPECT(f, NIL, "GETEX", "missing", "EX", "5");
    EXPECT(f, "$1\r\nc\r\n", "GETDEL", "k");
    EXPECT(f, NIL, "GETDEL", "k");
}

static void test_incr_family(void **state)
{
    fx *f = *state;
    EXPECT(f, ":1\r\n", "INCR", "n");
    EXPECT(f, ":11\r\n", "INCRBY", "n", "10");
    EXPECT(f, ":10\r\n", "DECR", "n");
    EXPECT(f, ":-5\r\n", "DECRBY", "n", "15");
    EXPECT(f, "$2\r\n-5\r\n", "GET", "n");
    EXPECT(f, OK, "SET", "n", "9223372036854775806");
    EXPECT(f, ":9223372036854775807\r\n", "INCR", "n");
    EXPECT(f, "-ERR increment or decrement would overflow\r\n", "INCR", "n");
    EXPECT(f, OK, "SET", "n", "-9223372036854775808");
    EXPECT(f, "-ERR increment or decrement would overflow\r\n", "DECR", "n");
    EXPECT(f, "-ERR decrement would overflow\r\n", "DECRBY", "x", "-9223372036854775808");
    EXPECT(f, OK, "SET", "s", "abc");
    EXPECT(f, NOTINT, "INCR", "s");
    EXPECT(f, OK, "SET", "s", " 1");
    EXPECT(f, NOTINT, "INCR", "s");
    EXPECT(f, OK, "SET", "s", "01");
    EXPECT(f, NOTINT, "INCR", "s");
    EXPECT(f, NOTINT, "INCRBY", "n", "1.0");
    EXPECT(f, NOTINT, "INCRBY", "n", "99999999999999999999");
    /* INCR keeps the deadline */
    EXPECT(f, OK, "SET", "t", "1", "EX", "100");
    EXPECT(f, ":2\r\n", "INCR", "t");
    EXPECT(f, ":100\r\n", "TTL", "t");
}

static void test_incrbyfloat(void **state)
{
    fx *f = *state;
    EXPECT(f, "$4\r\n10.5\r\n", "INCRBYFLOAT", "x", "10.5");
    EXPECT(f, "$4\r\n10.6\r\n", "INCRBYFLOAT", "x", "0.1");
    EXPECT(f, "$1\r\n5\r\n", "INCRBYFLOAT", "x", "-5.6");
    EXPECT(f, "$4\r\n5000\r\n", "INCRBYFLOAT", "x", "4.995e3");
    EXPECT(f, "-ERR value is not a valid float\r\n", "INCRBYFLOAT", "x", "abc");
    EXPECT(f, "-ERR value is not a valid float\r\n", "INCRBYFLOAT", "x", "nan");
    EXPECT(f, "-ERR value is not a valid float\r\n", "INCRBYFLOAT", "x", " 1");
    EXPECT(f, "-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT", "x", "inf");
    EXPECT(f, OK, "SET", "s", "text");
    EXPECT(f, "-ERR value is not a valid float\r\n", "INCRBYFLOAT", "s", "1");
}

static const char NOTFLOAT[] = "-ERR value is not a valid float\r\n";

/* Binary arguments: INCRBYFLOAT key <by of len bytes>. */
static const char *incrbyfloat_bin(fx *f, const char *by, size_t len)
{
    const char *argv[] = {"INCRBYFLOAT", "x", by};
    size_t lens[] = {11, 1, len};
    return fx_runv(f, 3, argv, lens);
}

/* The increment (and the stored value) must be a number as a whole, as
 * Redis 7's string2ld reads it: strtold's syntax, no leading space, no NUL
 * inside, under 5120 bytes, not NaN, no overflow. */
static void test_incrbyfloat_edge_cases(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "SET", "x", "10");
    /* a NUL byte anywhere: not a number (it used to stop strtold early) */
    assert_string_equal(incrbyfloat_bin(f, "1\0002", 3), NOTFLOAT);
    assert_string_equal(incrbyfloat_bin(f, "1\000", 2), NOTFLOAT);
    assert_string_equal(incrbyfloat_bin(f, "\0001", 2), NOTFLOAT);
    EXPECT(f, "$2\r\n10\r\n", "GET", "x");
    const char *argv[] = {"SET", "nul", "1\0002"};
    size_t lens[] = {3, 3, 3};
    assert_string_equal(fx_runv(f, 3, argv, lens), OK);
    EXPECT(f, NOTFLOAT, "INCRBYFLOAT", "nul", "1");
    /* spaces, junk, empty */
    static const char *const bad[] = {"", " 1", "1 ", "\t1", "\n1", "1\n", "-", "1e", "1_000", "1,5", "nan",
                                      "NaN", "-nan", "1e5000", "-1e5000", "1e-5000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(RUN(f, "INCRBYFLOAT", "x", bad[i]), NOTFLOAT) != 0) fail_msg("INCRBYFLOAT '%s' should be refused", bad[i]);
    /* what strtold takes, Redis takes: sign, exponent, hex, no digits before the point */
    static const struct {
        const char *by, *want;
    } good[] = {{"+1", "11"}, {"1e3", "1010"}, {"1.5e+2", "160"}, {"0x10", "26"}, {"0x1P-3", "10.125"},
                {".5", "10.5"}, {"5.", "15"}, {"-.5", "9.5"}, {"-0", "10"}, {"-0.0", "10"}, {"00", "10"},
                {"00000000000000000000001", "11"}, {"1e-400", "10"}};
    char want[64];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        RUN(f, "SET", "x", "10");
        snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(good[i].want), good[i].want);
        const char *r = RUN(f, "INCRBYFLOAT", "x", good[i].by);
        if (strcmp(r, want) != 0) fail_msg("INCRBYFLOAT 10 by '%s': %s", good[i].by, r);
    }
    /* infinity is a number, but not a result */
    static const char *const inf[] = {"inf", "-inf", "+inf", "INF", "infinity", "-Infinity"};
    for (size_t i = 0; i < sizeof inf / sizeof inf[0]; i++)
        EXPECT(f, "-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT", "x", inf[i]);
    /* Redis's buffer is 5120 bytes: 5119 characters are a number, 5120 not */
    char *big = malloc(5121);
    assert_non_null(big);
    memcpy(big, "1.", 2);
    memset(big + 2, '0', 5117);
    big[5119] = '\0';
    RUN(f, "SET", "x", "10");
    assert_string_equal(incrbyfloat_bin(f, big, 5119), "$2\r\n11\r\n");
    big[5119] = '0';
    big[5120] = '\0';
    assert_string_equal(incrbyfloat_bin(f, big, 5120), NOTFLOAT);
    free(big);
}

/* INCRBY/DECRBY take Redis's string2ll: optional '-', digits, no leading
 * zeros, at most 20 characters, within a long long. */
static void test_incrby_argument_syntax(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {"", "+1", "+0", "-0", "01", "00", " 1", "1 ", "1e3", "0x10", "1.0", "-",
                                      "9223372036854775808", "-9223372036854775809", "11111111111111111111",
                                      "00000000000000000001", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RUN(f, "SET", "n", "10");
        if (strcmp(RUN(f, "INCRBY", "n", bad[i]), NOTINT) != 0) fail_msg("INCRBY '%s' should be refused", bad[i]);
        if (strcmp(RUN(f, "DECRBY", "n", bad[i]), NOTINT) != 0) fail_msg("DECRBY '%s' should be refused", bad[i]);
    }
    const char *argv[] = {"INCRBY", "n", "1\0002"};
    size_t lens[] = {6, 1, 3};
    assert_string_equal(fx_runv(f, 3, argv, lens), NOTINT);
    RUN(f, "SET", "n", "10");
    EXPECT(f, ":-9223372036854775798\r\n", "INCRBY", "n", "-9223372036854775808");
    EXPECT(f, ":-9223372036854775798\r\n", "INCRBY", "n", "0");
}

/* The two parsers every handler uses, directly. */
static void test_number_parsers(void **state)
{
    (void)state;
    long long ll;
    assert_int_equal(tc_parse_ll("0", 1, &ll), 0);
    assert_int_equal(ll, 0);
    assert_int_equal(tc_parse_ll("-9223372036854775808", 20, &ll), 0);
    assert_true(ll == LLONG_MIN);
    assert_int_equal(tc_parse_ll("9223372036854775807", 19, &ll), 0);
    assert_true(ll == LLONG_MAX);
    static const char *const bad_ll[] = {"", "-", "+1", "-0", "01", " 1", "1 ", "1e3", "0x1", "9223372036854775808",
                                         "-9223372036854775809", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ll / sizeof bad_ll[0]; i++)
        if (tc_parse_ll(bad_ll[i], strlen(bad_ll[i]), &ll) == 0) fail_msg("tc_parse_ll '%s' should fail", bad_ll[i]);
    assert_int_equal(tc_parse_ll("1\0002", 3, &ll), -1);
    assert_int_equal(tc_parse_ll("12", 1, &ll), 0); /* the length given is the argument */
    assert_int_equal(ll, 1);

    long double ld;
    assert_int_equal(tc_parse_ld("1e3", 3, &ld), 0);
    assert_true(ld == 1000.0L);
    assert_int_equal(tc_parse_ld("-inf", 4, &ld), 0);
    assert_true(isinf(ld) && ld < 0);
    assert_int_equal(tc_parse_ld("1\0002", 3, &ld), -1);
    assert_int_equal(tc_parse_ld("1\000", 2, &ld), -1);
    assert_int_equal(tc_parse_ld("12", 1, &ld), 0);
    assert_true(ld == 1.0L);
    static const char *const bad_ld[] = {"", " 1", "1 ", "nan", "1e5000", "abc", "1e"};
    for (size_t i = 0; i < sizeof bad_ld / sizeof bad_ld[0]; i++)
        if (tc_parse_ld(bad_ld[i], strlen(bad_ld[i]), &ld) == 0) fail_msg("tc_parse_ld '%s' should fail", bad_ld[i]);
}

static void test_append_strlen(void **state)
{
    fx *f = *state;
    EXPECT(f, ":3\r\n", "APPEND", "k", "abc");
    EXPECT(f, ":6\r\n", "APPEND", "k", "def");
    EXPECT(f, "$6\r\nabcdef\r\n", "GET", "k");
    EXPECT(f, ":6\r\n", "STRLEN", "k");
    EXPECT(f, ":0\r\n", "STRLEN", "none");
    EXPECT(f, ":6\r\n", "APPEND", "k", "");
    /* the size limit is proto-max-bulk-len */
    EXPECT(f, OK, "CONFIG", "SET", "proto-max-bulk-len", "1kb");
    char big[1020];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    EXPECT(f, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "APPEND", "k", big);
    EXPECT(f, ":6\r\n", "STRLEN", "k");
}

static void test_getrange(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "SET", "k", "Hello World");
    EXPECT(f, "$5\r\nHello\r\n", "GETRANGE", "k", "0", "4");
    EXPECT(f, "$5\r\nWorld\r\n", "GETRANGE", "k", "-5", "-1");
    EXPECT(f, "$11\r\nHello World\r\n", "GETRANGE", "k", "0", "100");
    EXPECT(f, "$11\r\nHello World\r\n", "GETRANGE", "k", "-100", "100");
    EXPECT(f, "$0\r\n\r\n", "GETRANGE", "k", "5", "3");
    EXPECT(f, "$0\r\n\r\n", "GETRANGE", "k", "-1", "-5");
    EXPECT(f, "$0\r\n\r\n", "GETRANGE", "k", "20", "30");
    EXPECT(f, "$0\r\n\r\n", "GETRANGE", "missing", "0", "-1");
    EXPECT(f, "$1\r\nH\r\n", "GETRANGE", "k", "0", "0");
    EXPECT(f, NOTINT, "GETRANGE", "k", "a", "1");
}

static void test_setrange(void **state)
{
    fx *f = *state;
    EXPECT(f, ":0\r\n", "SETRANGE", "k", "5", "");
    EXPECT(f, ":0\r\n", "EXISTS", "k");
    EXPECT(f, ":8\r\n", "SETRANGE", "k", "5", "abc");
    RUN(f, "GET", "k");
    assert_memory_equal(f->out.data, "$8\r\n\0\0\0\0\0abc\r\n", 15);
    EXPECT(f, ":8\r\n", "SETRANGE", "k", "0", "XY");
    EXPECT(f, ":8\r\n", "SETRANGE", "k", "1", "");
    RUN(f, "GET", "k");
    assert_memory_equal(f->out.data, "$8\r\nXY\0\0\0abc\r\n", 15);
    EXPECT(f, "-ERR offset is out of range\r\n", "SETRANGE", "k", "-1", "x");
    EXPECT(f, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "SETRANGE", "k", "536870912",
           "x");
    EXPECT(f, OK, "SET", "t", "abc", "EX", "100");
    EXPECT(f, ":3\r\n", "SETRANGE", "t", "0", "x");
    EXPECT(f, ":100\r\n", "TTL", "t");
}

static void test_resp3_null(void **state)
{
    fx *f = *state;
    f->client.resp = 3;
    EXPECT(f, "_\r\n", "GET", "missing");
    EXPECT(f, "*2\r\n_\r\n_\r\n", "MGET", "a", "b");
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_set_basic),      T(test_set_nx_xx_get),          T(test_set_expiry_options),
        T(test_set_ifeq),           T(test_expired_key_is_never_returned), T(test_setnx_setex_psetex),
        T(test_mget_mset_msetnx),   T(test_getset_getdel_getex),    T(test_incr_family),
        T(test_incrbyfloat),        T(test_incrbyfloat_edge_cases), T(test_incrby_argument_syntax),
        T(test_number_parsers),     T(test_append_strlen),          T(test_getrange),
        T(test_setrange),           T(test_resp3_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
