/* HyperLogLog (node/t_hll.c): Redis's counts, tricache's representation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "hll.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static void add_range(fx *f, const char *key, int from, int to)
{
    char el[32];
    for (int i = from; i < to; i++) {
        snprintf(el, sizeof el, "e%d", i);
        RUN(f, "PFADD", key, el);
    }
}

static void test_counts_equal_redis(void **state)
{
    fx *f = *state;
    EXPECT(f, ":0\r\n", "PFCOUNT", "h");
    EXPECT(f, ":1\r\n", "PFADD", "h", "a", "b", "c");
    EXPECT(f, ":0\r\n", "PFADD", "h", "a");
    EXPECT(f, ":3\r\n", "PFCOUNT", "h");
    EXPECT(f, ":1\r\n", "PFADD", "empty"); /* creating is a change */
    EXPECT(f, ":0\r\n", "PFADD", "empty");
    EXPECT(f, ":0\r\n", "PFCOUNT", "empty");
    /* measured on redis-server 7.0 with the same elements */
    add_range(f, "k1000", 0, 1000);
    EXPECT(f, ":1008\r\n", "PFCOUNT", "k1000");
    add_range(f, "k20000", 0, 20000);
    EXPECT(f, ":19901\r\n", "PFCOUNT", "k20000");
    EXPECT(f, ":19901\r\n", "PFCOUNT", "k20000", "k1000", "nope");
    EXPECT(f, "+OK\r\n", "PFMERGE", "m", "k1000", "h");
    EXPECT(f, "+OK\r\n", "PFMERGE", "m", "k20000");
    EXPECT(f, ":19907\r\n", "PFCOUNT", "m", "h");
    EXPECT(f, ":19907\r\n", "PFCOUNT", "m");
}

static void test_representation(void **state)
{
    fx *f = *state;
    EXPECT(f, ":1\r\n", "PFADD", "h", "x");
    EXPECT(f, "+string\r\n", "TYPE", "h");
    RUN(f, "GET", "h");
    assert_memory_equal(f->out.data, "$8\r\nTCHLS", 9); /* sparse: one register */
    add_range(f, "h", 0, 3000);                           /* past the sparse limit */
    RUN(f, "STRLEN", "h");
    assert_string_equal(f->out.data, ":12293\r\n");
    EXPECT(f, "+OK\r\n", "SET", "s", "TCHLS\x01");
    EXPECT(f, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n", "PFADD", "s", "a");
    EXPECT(f, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n", "PFCOUNT", "h", "s");
    EXPECT(f, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n", "PFMERGE", "h", "s");
    EXPECT(f, ":1\r\n", "SADD", "set", "a");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "PFCOUNT", "set");
    EXPECT(f, ":1\r\n", "EXPIRE", "h", "100");
    EXPECT(f, ":1\r\n", "PFADD", "h", "new-element-1", "new-element-2", "new-element-3");
    EXPECT(f, ":100\r\n", "TTL", "h"); /* the deadline stays */
}

static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    uint8_t *regs = calloc(1, HLL_REGISTERS), *back = malloc(HLL_REGISTERS);
    char *buf = malloc(5 + HLL_REGISTERS * 6 / 8);
    assert_int_equal(tc_hll_estimate(regs), 0);
    for (int dense = 0; dense <= 1; dense++) {
        for (size_t i = 0; i < HLL_REGISTERS; i += 97) regs[i] = (uint8_t)(1 + i % 51);
        size_t n = tc_hll_encode(regs, dense, buf);
        assert_int_equal(n, dense ? 5 + 12288 : 5 + 3 * ((HLL_REGISTERS + 96) / 97));
        assert_int_equal(tc_hll_decode(buf, n, back), 0);
        assert_memory_equal(regs, back, HLL_REGISTERS);
        assert_int_equal(tc_hll_decode(buf, n - 1, back), -1);
    }
    /* registers out of order are not an HLL */
    memcpy(buf, "TCHLS\x00\x02\x01\x00\x01\x01", 11);
    assert_int_equal(tc_hll_decode(buf, 11, back), -1);
    free(regs);
    free(back);
    free(buf);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_counts_equal_redis),
        T(test_representation),
        cmocka_unit_test(test_encode_decode_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
