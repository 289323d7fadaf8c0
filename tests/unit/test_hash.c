/* Hashes (node/types/hash.c, node/t_hash.c): replies as Redis 7.0 sends
 * them, the listpack -> hashtable conversion at each limit, digests and
 * image records independent of the encoding, big hashes freed in the
 * background. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lazyfree.h"
#include "test_hash_set_common.h"
#include "types/hash.h"

static const char NIL[] = "$-1\r\n";
static const char WRONGTYPE[] = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

static void test_commands(void **state)
{
    fx *f = *state;
    EXPECT(f, ":2\r\n", "HSET", "h", "a", "1", "b", "2");
    EXPECT(f, ":0\r\n", "HSET", "h", "a", "x");
    EXPECT(f, "-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "1", "b");
    EXPECT(f, "+OK\r\n", "HMSET", "h", "c", "3");
    EXPECT(f, "$1\r\nx\r\n", "HGET", "h", "a");
    EXPECT(f, NIL, "HGET", "h", "zz");
    EXPECT(f, "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n3\r\n", "HMGET", "h", "a", "zz", "c");
    EXPECT(f, "*6\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n", "HGETALL", "h");
    EXPECT(f, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "HKEYS", "h");
    EXPECT(f, "*3\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\n3\r\n", "HVALS", "h");
    EXPECT(f, ":3\r\n", "HLEN", "h");
    EXPECT(f, ":1\r\n", "HSTRLEN", "h", "a");
    EXPECT(f, ":1\r\n", "HEXISTS", "h", "b");
    EXPECT(f, ":0\r\n", "HSETNX", "h", "b", "9");
    EXPECT(f, ":1\r\n", "HSETNX", "h", "d", "9");
    EXPECT(f, ":15\r\n", "HINCRBY", "h", "d", "6");
    EXPECT(f, "-ERR hash value is not an integer\r\n", "HINCRBY", "h", "a", "1");
    EXPECT(f, "$4\r\n15.5\r\n", "HINCRBYFLOAT", "h", "d", "0.5");
    EXPECT(f, "-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "h", "a", "1");
    EXPECT(f, ":2\r\n", "HDEL", "h", "a", "b", "zz");
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "h");
    EXPECT(f, "+hash\r\n", "TYPE", "h");
    EXPECT(f, "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$4\r\n15.5\r\n", "HSCAN", "h", "0");
    EXPECT(f, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nd\r\n$4\r\n15.5\r\n", "HSCAN", "h", "0", "MATCH", "d");
    EXPECT(f, ":2\r\n", "HDEL", "h", "c", "d");
    EXPECT(f, ":0\r\n", "EXISTS", "h"); /* the last field took the key */
    EXPECT(f, "+OK\r\n", "SET", "s", "x");
    EXPECT(f, WRONGTYPE, "HSET", "s", "a", "1");
    EXPECT(f, WRONGTYPE, "HGETALL", "s");
    EXPECT(f, WRONGTYPE, "HRANDFIELD", "s");
}

/* HRANDFIELD: every field comes back, distinct for a positive count. */
static void test_hrandfield(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 600; i++) {
        char fld[16];
        snprintf(fld, sizeof fld, "f%d", i);
        RUN(f, "HSET", "h", fld, "v");
    }
    const char *r = RUN(f, "HRANDFIELD", "h", "300");
    assert_memory_equal(r, "*300\r\n", 6);
    /* 300 distinct fields: no field twice. */
    char *copy = strdup(r);
    int seen[600] = {0};
    for (char *p = strstr(copy, "\nf"); p; p = strstr(p + 1, "\nf")) seen[atoi(p + 2)]++;
    int distinct = 0;
    for (int i = 0; i < 600; i++) {
        assert_true(seen[i] <= 1);
        distinct += seen[i];
    }
    assert_int_equal(distinct, 300);
    free(copy);
    r = RUN(f, "HRANDFIELD", "h", "-1000", "WITHVALUES");
    assert_memory_equal(r, "*2000\r\n", 7);
    assert_memory_equal(RUN(f, "HRANDFIELD", "h", "1000"), "*600\r\n", 6);
}

static void fill(fx *f, const char *key, int n)
{
    for (int i = 0; i < n; i++) {
        char fld[16];
        snprintf(fld, sizeof fld, "f%d", i);
        RUN(f, "HSET", key, fld, "v");
    }
}

/* 512 fields stay a listpack, the 513th converts; a 64-byte field or value
 * stays, 65 bytes convert; no way back once converted. */
static void test_conversion_thresholds(void **state)
{
    fx *f = *state;
    fill(f, "h", TC_HASH_MAX_LISTPACK_ENTRIES);
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "h");
    EXPECT(f, ":1\r\n", "HSET", "h", "one-more", "v");
    EXPECT(f, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "h");
    for (int i = 0; i < TC_HASH_MAX_LISTPACK_ENTRIES; i++) {
        char fld[16];
        snprintf(fld, sizeof fld, "f%d", i);
        RUN(f, "HDEL", "h", fld);
    }
    EXPECT(f, ":1\r\n", "HLEN", "h");
    EXPECT(f, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "h");

    char v64[65], v65[66];
    memset(v64, 'x', 64);
    v64[64] = 0;
    memset(v65, 'x', 65);
    v65[65] = 0;
    RUN(f, "HSET", "v", "f", v64);
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "v");
    RUN(f, "HSET", "v", "f", v65);
    EXPECT(f, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "v");
    RUN(f, "HSET", "fl", v64, "1");
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "fl");
    RUN(f, "HSET", "fl", v65, "1");
    EXPECT(f, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "fl");
    RUN(f, "HINCRBY", "fl", "n", "5");
    EXPECT(f, "$1\r\n5\r\n", "HGET", "fl", "n");
    RUN(f, "HSET", "fl", v65, v65);
    EXPECT(f, ":3\r\n", "HLEN", "fl");
}

/* The same fields and values digest alike in either encoding, and an image
 * record brings a hash back whole (with its deadline). */
static void test_digest_and_image(void **state)
{
    fx *a = *state, *b;
    assert_int_equal(fx_setup((void **)&b), 0);
    RUN(a, "HSET", "h", "x", "1", "y", "2", "z", "3");
    char v65[66];
    memset(v65, 'x', 65);
    v65[65] = 0;
    RUN(b, "HSET", "h", "big", v65, "z", "3", "y", "2", "x", "1");
    RUN(b, "HDEL", "h", "big");
    EXPECT(b, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "h");
    unsigned char da[20], db[20];
    digest_of(a, da);
    digest_of(b, db);
    assert_memory_equal(da, db, 20);
    RUN(b, "HSET", "h", "x", "2");
    digest_of(b, db);
    assert_memory_not_equal(da, db, 20);

    /* Image round trip of both encodings into a fresh node. */
    fx *c;
    assert_int_equal(fx_setup((void **)&c), 0);
    fill(a, "big", 1000);
    RUN(a, "EXPIRE", "big", "100");
    image_copy(a, c, "h");
    image_copy(a, c, "big");
    digest_of(a, da);
    digest_of(c, db);
    assert_memory_equal(da, db, 20);
    EXPECT(c, ":100\r\n", "TTL", "big");
    EXPECT(c, "$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "big");
    EXPECT(c, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "h");
    EXPECT(c, "$1\r\n1\r\n", "HGET", "h", "x");
    /* RENAME keeps the value; MEMORY-style accounting counts the fields. */
    EXPECT(c, "+OK\r\n", "RENAME", "big", "big2");
    EXPECT(c, ":1000\r\n", "HLEN", "big2");
    tc_key *k = tc_ks_peek(&c->srv.dbs[0], "big2", 4, c->now_ms);
    assert_true(tc_ks_key_memory(k) > 1000 * 4);
    fx_teardown((void **)&b);
    fx_teardown((void **)&c);
}

/* Deleting a big hash hands it to the free thread. */
static void test_big_hash_freed_in_background(void **state)
{
    fx *f = *state;
    assert_int_equal(tc_lazyfree_start(), 0);
    fill(f, "big", 5000);
    fill(f, "small", 10);
    size_t before = tc_lazyfree_done();
    EXPECT(f, ":2\r\n", "DEL", "big", "small");
    tc_lazyfree_stop(); /* waits for the queue */
    assert_int_equal(tc_lazyfree_done() - before, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hrandfield, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_conversion_thresholds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_and_image, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_big_hash_freed_in_background, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
