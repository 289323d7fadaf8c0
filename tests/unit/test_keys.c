/* Generic key commands (node/t_keys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static const char OK[] = "+OK\r\n";

static void test_del_exists_touch_type(void **state)
{
    fx *f = *state;
    RUN(f, "MSET", "a", "1", "b", "2", "c", "3");
    EXPECT(f, ":3\r\n", "EXISTS", "a", "b", "a");
    EXPECT(f, ":2\r\n", "TOUCH", "a", "c", "zz");
    EXPECT(f, "+string\r\n", "TYPE", "a");
    EXPECT(f, "+none\r\n", "TYPE", "zz");
    EXPECT(f, ":2\r\n", "DEL", "a", "b", "a", "zz");
    EXPECT(f, ":1\r\n", "UNLINK", "c");
    EXPECT(f, ":0\r\n", "DBSIZE");
    /* an expired key does not count as deleted */
    RUN(f, "SET", "t", "v", "PX", "10");
    f->now_ms += 10;
    EXPECT(f, ":0\r\n", "DEL", "t");
}

static void test_rename(void **state)
{
    fx *f = *state;
    EXPECT(f, "-ERR no such key\r\n", "RENAME", "a", "b");
    RUN(f, "SET", "a", "1", "EX", "100");
    EXPECT(f, OK, "RENAME", "a", "b");
    EXPECT(f, ":0\r\n", "EXISTS", "a");
    EXPECT(f, ":100\r\n", "TTL", "b"); /* the deadline moves with the key */
    EXPECT(f, OK, "RENAME", "b", "b");
    RUN(f, "SET", "c", "3");
    EXPECT(f, ":0\r\n", "RENAMENX", "b", "c");
    EXPECT(f, ":0\r\n", "RENAMENX", "b", "b");
    EXPECT(f, ":1\r\n", "RENAMENX", "b", "d");
    EXPECT(f, OK, "RENAME", "d", "c"); /* overwrites */
    EXPECT(f, "$1\r\n1\r\n", "GET", "c");
    EXPECT(f, "-ERR no such key\r\n", "RENAMENX", "nope", "x");
}

static void test_expire_options(void **state)
{
    fx *f = *state;
    EXPECT(f, ":0\r\n", "EXPIRE", "k", "10");
    RUN(f, "SET", "k", "v");
    EXPECT(f, ":0\r\n", "EXPIRE", "k", "10", "XX");
    EXPECT(f, ":0\r\n", "EXPIRE", "k", "10", "GT"); /* no deadline counts as infinite */
    EXPECT(f, ":1\r\n", "EXPIRE", "k", "10", "LT");
    EXPECT(f, ":0\r\n", "EXPIRE", "k", "20", "NX");
    EXPECT(f, ":1\r\n", "EXPIRE", "k", "20", "GT");
    EXPECT(f, ":0\r\n", "EXPIRE", "k", "5", "GT");
    EXPECT(f, ":1\r\n", "PEXPIRE", "k", "5000", "LT", "XX");
    EXPECT(f, ":5000\r\n", "PTTL", "k");
    EXPECT(f, ":1\r\n", "EXPIREAT", "k", "1700000100");
    EXPECT(f, ":100\r\n", "TTL", "k");
    EXPECT(f, ":1\r\n", "PEXPIREAT", "k", "1700000000500");
    EXPECT(f, ":500\r\n", "PTTL", "k");
    EXPECT(f, ":1700000000500\r\n", "PEXPIRETIME", "k");
    EXPECT(f, ":1700000001\r\n", "EXPIRETIME", "k");
    EXPECT(f, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "NX",
           "XX");
    EXPECT(f, "-ERR GT and LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "GT", "LT");
    EXPECT(f, "-ERR Unsupported option foo\r\n", "EXPIRE", "k", "1", "foo");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "EXPIRE", "k", "x");
    EXPECT(f, "-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "k", "9223372036854775807");
    EXPECT(f, "-ERR invalid expire time in 'pexpire' command\r\n", "PEXPIRE", "k", "9223372036854775807");
    /* a time in the past deletes the key at once */
    EXPECT(f, ":1\r\n", "EXPIRE", "k", "-1");
    EXPECT(f, ":0\r\n", "EXISTS", "k");
    EXPECT(f, ":0\r\n", "DBSIZE");
}

static void test_ttl_persist(void **state)
{
    fx *f = *state;
    EXPECT(f, ":-2\r\n", "TTL", "k");
    EXPECT(f, ":-2\r\n", "PEXPIRETIME", "k");
    RUN(f, "SET", "k", "v");
    EXPECT(f, ":-1\r\n", "TTL", "k");
    EXPECT(f, ":-1\r\n", "EXPIRETIME", "k");
    EXPECT(f, ":0\r\n", "PERSIST", "k");
    RUN(f, "EXPIRE", "k", "100");
    EXPECT(f, ":1\r\n", "PERSIST", "k");
    EXPECT(f, ":-1\r\n", "PTTL", "k");
    EXPECT(f, ":0\r\n", "PERSIST", "nope");
}

static int count_bulks(const char *reply) { return reply[0] == '*' ? atoi(reply + 1) : -1; }

static void test_keys_and_scan(void **state)
{
    fx *f = *state;
    char k[32];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "user:%d", i);
        RUN(f, "SET", k, "v");
    }
    RUN(f, "SET", "other", "v");
    RUN(f, "SET", "gone", "v", "PX", "5");
    f->now_ms += 5;
    assert_int_equal(count_bulks(RUN(f, "KEYS", "*")), 201);
    assert_int_equal(count_bulks(RUN(f, "KEYS", "user:1?")), 10);
    EXPECT(f, "*1\r\n$5\r\nother\r\n", "KEYS", "o*");
    EXPECT(f, "*0\r\n", "KEYS", "gone");

    /* a full SCAN returns every key exactly as KEYS does */
    unsigned char seen[200] = {0};
    char cursor[32] = "0";
    int iterations = 0, total = 0;
    do {
        const char *r = RUN(f, "SCAN", cursor, "MATCH", "user:*", "COUNT", "7");
        assert_memory_equal(r, "*2\r\n$", 5);
        const char *p = strchr(r + 5, '\n') + 1;
        size_t clen = strcspn(p, "\r");
        memcpy(cursor, p, clen);
        cursor[clen] = '\0';
        p += clen + 2;
        int n = atoi(p + 1);
        p = strchr(p, '\n') + 1;
        for (int i = 0; i < n; i++) {
            p = strchr(p, '\n') + 1; /* skip $len */
            int id = atoi(p + 5);
            seen[id] = 1;
            total++;
            p = strchr(p, '\n') + 1;
        }
        iterations++;
    } while (strcmp(cursor, "0") != 0 && iterations < 1000);
    assert_string_equal(cursor, "0");
    assert_true(total >= 200);
    for (int i = 0; i < 200; i++) assert_true(seen[i]);

    EXPECT(f, "-ERR invalid cursor\r\n", "SCAN", "abc");
    EXPECT(f, "-ERR syntax error\r\n", "SCAN", "0", "COUNT", "0");
    EXPECT(f, "-ERR syntax error\r\n", "SCAN", "0", "COUNT");
    EXPECT(f, "-ERR syntax error\r\n", "SCAN", "0", "FOO", "1");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "SCAN", "0", "COUNT", "x");
    /* TYPE filter */
    assert_int_equal(count_bulks(strstr(RUN(f, "SCAN", "0", "TYPE", "hash", "COUNT", "1000"), "\n*")+1), 0);
}

/* Cursors are read as Redis 7 reads them (strtoul, base 10): a sign,
 * leading zeros and "" pass; spaces, junk, overflow and a lone sign don't.
 * Unlike Redis, a NUL byte inside is junk too. */
static void test_scan_cursor_syntax(void **state)
{
    fx *f = *state;
    RUN(f, "SET", "k", "v");
    static const char *const good[] = {"0", "-1", "+0", "-0", "00", "", "18446744073709551615", "-18446744073709551615"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (strncmp(RUN(f, "SCAN", good[i]), "*2\r\n$", 5) != 0) fail_msg("SCAN '%s' should be a cursor", good[i]);
    static const char *const bad[] = {"abc", "+", "-", " 1", "1 ", "\t1", "1e3", "0x10", "1.0",
                                      "18446744073709551616", "-18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcmp(RUN(f, "SCAN", bad[i]), "-ERR invalid cursor\r\n") != 0) fail_msg("SCAN '%s' should be refused", bad[i]);
    const char *argv[] = {"SCAN", "1\0002"};
    size_t lens[] = {4, 3};
    assert_string_equal(fx_runv(f, 2, argv, lens), "-ERR invalid cursor\r\n");
}

static void test_randomkey_dbsize_flush(void **state)
{
    fx *f = *state;
    EXPECT(f, "$-1\r\n", "RANDOMKEY");
    RUN(f, "SET", "only", "v");
    EXPECT(f, "$4\r\nonly\r\n", "RANDOMKEY");
    RUN(f, "SET", "two", "v");
    EXPECT(f, ":2\r\n", "DBSIZE");
    EXPECT(f, OK, "FLUSHALL");
    EXPECT(f, ":0\r\n", "DBSIZE");
    RUN(f, "SET", "x", "v");
    EXPECT(f, OK, "FLUSHDB", "ASYNC");
    EXPECT(f, ":0\r\n", "DBSIZE");
    EXPECT(f, "-ERR syntax error\r\n", "FLUSHALL", "NOW");
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

/* MEMORY USAGE counts what the key costs here: more for a bigger value,
 * more for a hash than for an empty name; arguments as Redis checks them. */
static void test_memory_usage(void **state)
{
    fx *f = *state;
    RUN(f, "SET", "small", "v");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    RUN(f, "SET", "big", big);
    long long small_bytes = atoll(RUN(f, "MEMORY", "USAGE", "small") + 1);
    long long big_bytes = atoll(RUN(f, "MEMORY", "USAGE", "big", "SAMPLES", "0") + 1);
    assert_true(small_bytes > 0);
    assert_true(big_bytes >= small_bytes + 1990); /* 1998 more value bytes, 2 fewer name bytes */
    RUN(f, "HSET", "h", "field", "value");
    assert_true(atoll(RUN(f, "MEMORY", "USAGE", "h") + 1) > 0);
    EXPECT(f, "$-1\r\n", "MEMORY", "USAGE", "nokey");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n", "MEMORY", "USAGE", "small", "SAMPLES", "x");
    EXPECT(f, "-ERR syntax error\r\n", "MEMORY", "USAGE", "small", "SAMPLES");
    EXPECT(f, "-ERR wrong number of arguments for 'memory|usage' command\r\n", "MEMORY", "USAGE");
    EXPECT(f, "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n", "MEMORY", "FOO");
    EXPECT(f, "+OK\r\n", "MEMORY", "PURGE");
    assert_memory_equal(RUN(f, "MEMORY", "HELP"), "*14\r\n", 5);
    assert_memory_equal(RUN(f, "MEMORY", "STATS"), "*6\r\n", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_del_exists_touch_type), T(test_rename),         T(test_expire_options),
        T(test_ttl_persist),           T(test_keys_and_scan), T(test_scan_cursor_syntax),  T(test_randomkey_dbsize_flush), T(test_memory_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
