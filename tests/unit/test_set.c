/* Sets (node/types/set.c, node/t_set.c): replies, the intset / pack / dict
 * conversions at each limit with Redis 7.0's OBJECT ENCODING answers,
 * SPOP choosing alike on nodes that hold the same set (also one loaded
 * from an image), digests and images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_hash_set_common.h"
#include "types/set.h"

static const char INTSET[] = "$6\r\nintset\r\n";
static const char HT[] = "$9\r\nhashtable\r\n";

static void test_commands(void **state)
{
    fx *f = *state;
    EXPECT(f, ":3\r\n", "SADD", "s", "3", "1", "2");
    EXPECT(f, ":0\r\n", "SADD", "s", "2");
    EXPECT(f, "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "SMEMBERS", "s");
    EXPECT(f, ":3\r\n", "SCARD", "s");
    EXPECT(f, ":1\r\n", "SISMEMBER", "s", "2");
    EXPECT(f, "*2\r\n:1\r\n:0\r\n", "SMISMEMBER", "s", "1", "9");
    EXPECT(f, ":1\r\n", "SREM", "s", "2");
    EXPECT(f, ":3\r\n", "SADD", "t", "3", "4", "5");
    EXPECT(f, "*1\r\n$1\r\n3\r\n", "SINTER", "s", "t");
    EXPECT(f, "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n", "SUNION", "s", "t");
    EXPECT(f, "*1\r\n$1\r\n1\r\n", "SDIFF", "s", "t");
    EXPECT(f, ":1\r\n", "SINTERCARD", "2", "s", "t");
    EXPECT(f, ":4\r\n", "SUNIONSTORE", "u", "s", "t");
    EXPECT(f, ":0\r\n", "SINTERSTORE", "u", "s", "nokey");
    EXPECT(f, ":0\r\n", "EXISTS", "u");
    EXPECT(f, ":1\r\n", "SMOVE", "s", "t", "1");
    EXPECT(f, "*1\r\n$1\r\n3\r\n", "SMEMBERS", "s");
    EXPECT(f, "$1\r\n3\r\n", "SPOP", "s");
    EXPECT(f, ":0\r\n", "EXISTS", "s");
    EXPECT(f, "*0\r\n", "SPOP", "s", "2");
    EXPECT(f, "$-1\r\n", "SRANDMEMBER", "s");
    EXPECT(f, "-ERR value is out of range, must be positive\r\n", "SPOP", "t", "-1");
    EXPECT(f, "*2\r\n$1\r\n0\r\n*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n", "SSCAN", "t", "0");
    EXPECT(f, "+set\r\n", "TYPE", "t");
    EXPECT(f, "+OK\r\n", "SET", "str", "x");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "SADD", "str", "a");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "SINTER", "nokey", "str");
}

static void add_n(fx *f, const char *key, const char *fmt, int from, int to)
{
    for (int i = from; i < to; i++) {
        char m[80];
        snprintf(m, sizeof m, fmt, i);
        RUN(f, "SADD", key, m);
    }
}

static unsigned enc_of(fx *f, const char *key)
{
    return tc_ks_peek(&f->srv.dbs[0], key, strlen(key), f->now_ms)->encoding;
}

static void test_conversion_thresholds(void **state)
{
    fx *f = *state;
    /* intset up to 512 integers, then a dict */
    add_n(f, "i", "%d", 0, TC_SET_MAX_INTSET_ENTRIES);
    EXPECT(f, INTSET, "OBJECT", "ENCODING", "i");
    add_n(f, "i", "%d", TC_SET_MAX_INTSET_ENTRIES, TC_SET_MAX_INTSET_ENTRIES + 1);
    EXPECT(f, HT, "OBJECT", "ENCODING", "i");
    assert_int_equal(enc_of(f, "i"), TC_ENC_SET_HT);
    /* an intset meeting a string: a pack while small ("hashtable" to the
     * client, as Redis 7.0), a dict when too big for one */
    add_n(f, "p", "%d", 0, 10);
    EXPECT(f, ":1\r\n", "SADD", "p", "x");
    EXPECT(f, HT, "OBJECT", "ENCODING", "p");
    assert_int_equal(enc_of(f, "p"), TC_ENC_SET_PACK);
    add_n(f, "p", "m%d", 0, TC_SET_MAX_LISTPACK_ENTRIES - 11);
    EXPECT(f, ":128\r\n", "SCARD", "p");
    assert_int_equal(enc_of(f, "p"), TC_ENC_SET_PACK);
    EXPECT(f, ":1\r\n", "SADD", "p", "one-more");
    assert_int_equal(enc_of(f, "p"), TC_ENC_SET_HT);
    add_n(f, "q", "%d", 0, 200);
    EXPECT(f, ":1\r\n", "SADD", "q", "x");
    assert_int_equal(enc_of(f, "q"), TC_ENC_SET_HT);
    /* member length: 64 bytes fit a pack, 65 do not */
    char m64[65], m65[66];
    memset(m64, 'a', 64);
    m64[64] = 0;
    memset(m65, 'b', 65);
    m65[65] = 0;
    RUN(f, "SADD", "l", m64);
    assert_int_equal(enc_of(f, "l"), TC_ENC_SET_PACK);
    RUN(f, "SADD", "l", m65);
    assert_int_equal(enc_of(f, "l"), TC_ENC_SET_HT);
    RUN(f, "SADD", "l2", m65);
    assert_int_equal(enc_of(f, "l2"), TC_ENC_SET_HT);
    /* no way back */
    RUN(f, "SREM", "l", m65);
    assert_int_equal(enc_of(f, "l"), TC_ENC_SET_HT);
    RUN(f, "SPOP", "i", "500");
    EXPECT(f, HT, "OBJECT", "ENCODING", "i");
    /* not an integer for the intset: "+1", "01", " 1" */
    RUN(f, "SADD", "n", "1");
    RUN(f, "SADD", "n", "01");
    EXPECT(f, HT, "OBJECT", "ENCODING", "n");
    EXPECT(f, ":2\r\n", "SCARD", "n");
}

/* Two nodes that applied the same writes pop the same members, whatever
 * else they did (reads), and a node that loaded the set from an image does
 * too: the dict's seed travels in the record. For every encoding. */
static void test_spop_same_on_every_node(void **state)
{
    fx *a = *state, *b, *c;
    assert_int_equal(fx_setup((void **)&b), 0);
    assert_int_equal(fx_setup((void **)&c), 0);
    const char *keys[] = {"ints", "pack", "dict"};
    /* the same writes applied on two nodes draw the same words (a set's
     * dict seed among them), as the log's seed makes them */
    tc_rng_seed(&a->srv.rng, 42);
    tc_rng_seed(&b->srv.rng, 42);
    for (fx **n = (fx *[]){a, b, NULL}; *n; n++) {
        add_n(*n, "ints", "%d", 0, 100);
        add_n(*n, "pack", "p%d", 0, 100);
        add_n(*n, "dict", "d%d", 0, 3000);
    }
    /* b reads a lot (lookups never move members, but make sure) */
    for (int i = 0; i < 3000; i++) {
        char m[16];
        snprintf(m, sizeof m, "d%d", i);
        RUN(b, "SISMEMBER", "dict", m);
    }
    RUN(b, "SRANDMEMBER", "dict", "-50");
    for (int i = 0; i < 3; i++) image_copy(a, c, keys[i]);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 3; i++) {
            char ra[4096], rb[4096];
            /* as when one log entry is applied on three nodes: the same
             * seed for the command's generator everywhere */
            uint64_t seed = (uint64_t)(round * 3 + i) * 0x9e3779b97f4a7c15ull;
            tc_rng_seed(&a->srv.rng, seed);
            tc_rng_seed(&b->srv.rng, seed);
            tc_rng_seed(&c->srv.rng, seed);
            snprintf(ra, sizeof ra, "%s", RUN(a, "SPOP", keys[i], "3"));
            snprintf(rb, sizeof rb, "%s", RUN(b, "SPOP", keys[i], "3"));
            assert_string_equal(ra, rb);
            assert_string_equal(ra, RUN(c, "SPOP", keys[i], "3"));
            snprintf(ra, sizeof ra, "%s", RUN(a, "SPOP", keys[i]));
            assert_string_equal(ra, RUN(b, "SPOP", keys[i]));
            assert_string_equal(ra, RUN(c, "SPOP", keys[i]));
        }
    }
    unsigned char da[20], db[20], dc[20];
    digest_of(a, da);
    digest_of(b, db);
    digest_of(c, dc);
    assert_memory_equal(da, db, 20);
    assert_memory_equal(da, dc, 20);
    EXPECT(a, ":2920\r\n", "SCARD", "dict");
    fx_teardown((void **)&b);
    fx_teardown((void **)&c);
}

/* Digest: the same members digest alike whatever the encoding. */
static void test_digest_by_content(void **state)
{
    fx *a = *state, *b;
    assert_int_equal(fx_setup((void **)&b), 0);
    RUN(a, "SADD", "s", "1", "2", "3");
    RUN(b, "SADD", "s", "3", "x", "2", "1");
    RUN(b, "SREM", "s", "x");
    assert_int_not_equal(enc_of(a, "s"), enc_of(b, "s"));
    unsigned char da[20], db[20];
    digest_of(a, da);
    digest_of(b, db);
    assert_memory_equal(da, db, 20);
    RUN(b, "SADD", "s", "4");
    digest_of(b, db);
    assert_memory_not_equal(da, db, 20);
    fx_teardown((void **)&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_conversion_thresholds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_spop_same_on_every_node, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_by_content, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
