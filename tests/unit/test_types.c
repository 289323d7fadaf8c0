/* node/types/: the string type's operations, and the commands that go
 * through the type table (TYPE, OBJECT). The OBJECT answers below were
 * checked against redis-server 7.0.15. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "types/types.h"

#define NOW_MS 1700000000000LL

static tc_key *set(tc_keyspace *ks, const char *k, const char *v, int64_t exp)
{
    return tc_ks_set(ks, k, strlen(k), v, strlen(v), exp);
}

static void hex(const unsigned char d[20], char out[41])
{
    for (int i = 0; i < 20; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- the string type's operations ------------------------------------------ */

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(tc_type_ops_of(TC_TYPE_STRING), &tc_string_type);
    assert_string_equal(tc_string_type.name, "string");
    assert_int_equal(tc_string_type.type, TC_TYPE_STRING);
    /* a registry row sits at its own type number; 16 is beyond 4 bits */
    for (unsigned t = 1; t <= 15; t++)
        if (tc_type_ops_of(t)) assert_int_equal(tc_type_ops_of(t)->type, t);
    assert_null(tc_type_ops_of(16));
    assert_ptr_equal(tc_type_ops_of(TC_TYPE_LIST), &tc_list_type);
    assert_ptr_equal(tc_type_ops_of(TC_TYPE_SET), &tc_set_type);
    assert_ptr_equal(tc_type_ops_of(TC_TYPE_ZSET), &tc_zset_type);
    assert_ptr_equal(tc_type_ops_of(TC_TYPE_HASH), &tc_hash_type);
    assert_string_equal(tc_key_type_name(NULL), "none");
    /* every operation a type must have is there */
    const tc_type_ops *o = &tc_string_type;
    assert_non_null(o->encoding_name);
    assert_non_null(o->memory);
    assert_non_null(o->digest);
    assert_non_null(o->image_encode);
    assert_non_null(o->image_decode);
    assert_non_null(o->copy);
}

static void test_string_memory(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_key *k = set(&ks, "key:1", "0123456789", 0);
    assert_int_equal(tc_string_type.memory(k), 10);
    /* 32-byte header, the name, the value: as before the access bits */
    assert_int_equal(tc_ks_key_memory(k), 32 + 5 + 10);
    k = tc_ks_resize(&ks, k, 100);
    assert_int_equal(tc_ks_key_memory(k), 32 + 5 + 100);
    assert_int_equal(tc_ks_key_memory(set(&ks, "", "", 0)), 32);
    tc_ks_free(&ks);
}

/* The keys whose digests were computed with the code before value types
 * existed (tc_entry, commit d2f200a); a string's digest must not change, or
 * nodes of the two versions would disagree on DEBUG DIGEST. */
static void fill_digest_set(tc_keyspace *ks)
{
    tc_ks_set(ks, "a", 1, "1", 1, 0);
    tc_ks_set(ks, "greeting", 8, "hello world", 11, 0);
    tc_ks_set(ks, "", 0, "empty key", 9, 0);
    tc_ks_set(ks, "nothing", 7, "", 0, 0);
    tc_ks_set(ks, "\0bin\xff", 5, "\x00\x01\x02", 3, 0);
    tc_ks_set(ks, "counter", 7, "-12345", 6, 0);
    tc_ks_set(ks, "ttl", 3, "soon", 4, 1700000000123LL);
    char big[300];
    for (int i = 0; i < 300; i++) big[i] = (char)('a' + i % 26);
    tc_ks_set(ks, "big", 3, big, 300, 0);
}

static void test_string_digest_unchanged(void **state)
{
    (void)state;
    tc_keyspace ks, one;
    unsigned char d[20];
    char h[41];
    tc_ks_init(&ks, 1, 2);
    fill_digest_set(&ks);
    tc_ks_digest(&ks, 0, d);
    hex(d, h);
    assert_string_equal(h, "780cfe47ea2e88dbe3cc7324836e16cbe41fba22");
    /* encodings and access bits are not part of it */
    tc_ks_find(&ks, "a", 1, 0)->encoding = TC_ENC_INLINE_RAW;
    tc_ks_find(&ks, "greeting", 8, 0)->lru = 12345;
    tc_ks_digest(&ks, 0, d);
    hex(d, h);
    assert_string_equal(h, "780cfe47ea2e88dbe3cc7324836e16cbe41fba22");

    tc_ks_init(&one, 5, 6);
    set(&one, "k", "v", 0);
    tc_ks_digest(&one, 0, d);
    hex(d, h);
    assert_string_equal(h, "9eeb0d0e8beac752b3ca9f9e7225d57d0da4e18f");
    tc_ks_free(&ks);
    tc_ks_free(&one);
}

static void test_string_image_round_trip(void **state)
{
    (void)state;
    tc_keyspace a, b;
    tc_ks_init(&a, 1, 2);
    tc_ks_init(&b, 3, 4);
    const char val[] = "v\0\r\nbinary";
    tc_key *k = tc_ks_set(&a, "bin\0key", 7, val, sizeof val - 1, 1800000000000LL);
    k->encoding = TC_ENC_INLINE_RAW;
    tc_buf scratch = {0};
    const char *p = NULL;
    size_t len = 0;
    assert_int_equal(tc_string_type.image_encode(k, &scratch, &p, &len), 0);
    /* the record's value is the string's own bytes, read in place */
    assert_ptr_equal(p, tc_key_str(k));
    assert_int_equal(len, sizeof val - 1);
    assert_int_equal(scratch.len, 0);
    char err[64] = "";
    tc_key *n = tc_string_type.image_decode(&b, "bin\0key", 7, p, len, k->expire_at, err, sizeof err);
    assert_non_null(n);
    assert_int_equal(n->type, TC_TYPE_STRING);
    assert_int_equal(n->encoding, TC_ENC_INLINE); /* as Redis after loading an RDB */
    assert_int_equal(n->expire_at, 1800000000000LL);
    assert_int_equal(n->vlen, sizeof val - 1);
    assert_memory_equal(tc_key_str(n), val, sizeof val - 1);
    assert_int_equal(tc_ks_volatile_count(&b), 1);
    unsigned char da[20], db[20];
    tc_ks_digest(&a, 0, da);
    tc_ks_digest(&b, 0, db);
    assert_memory_equal(da, db, 20);
    tc_buf_free(&scratch);
    tc_ks_free(&a);
    tc_ks_free(&b);
}

static void test_string_copy(void **state)
{
    (void)state;
    tc_keyspace a, b;
    tc_ks_init(&a, 1, 2);
    tc_ks_init(&b, 3, 4);
    tc_key *src = set(&a, "src", "hello", 0);
    src->encoding = TC_ENC_INLINE_EMBSTR;
    /* into the same keyspace, under another name, with a deadline */
    tc_key *c = tc_string_type.copy(&a, src, "dst", 3, 5000);
    assert_non_null(c);
    assert_int_equal(c->encoding, TC_ENC_INLINE_EMBSTR);
    assert_int_equal(c->expire_at, 5000);
    assert_int_equal(tc_ks_volatile_count(&a), 1);
    tc_key_str(c)[0] = 'J'; /* its own bytes */
    assert_memory_equal(tc_key_str(tc_ks_find(&a, "src", 3, 0)), "hello", 5);
    /* into another keyspace (restore staging), replacing a key there */
    set(&b, "src", "old", 0);
    src = tc_ks_find(&a, "src", 3, 0);
    c = tc_string_type.copy(&b, src, "src", 3, 0);
    assert_non_null(c);
    assert_int_equal(tc_ks_size(&b), 1);
    assert_int_equal(c->vlen, 5);
    assert_memory_equal(tc_key_str(tc_ks_find(&b, "src", 3, 0)), "hello", 5);
    /* onto itself: the value survives its own replacement */
    c = tc_string_type.copy(&b, c, "src", 3, 0);
    assert_memory_equal(tc_key_str(c), "hello", 5);
    tc_ks_free(&a);
    tc_ks_free(&b);
}

static void test_string_encoding_names(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int enc;
        const char *name;
        long long refcount;
    } cases[] = {
        {"123", TC_ENC_INLINE, "int", 2147483647},
        {"0", TC_ENC_INLINE, "int", 2147483647},
        {"9999", TC_ENC_INLINE, "int", 2147483647},
        {"10000", TC_ENC_INLINE, "int", 1},
        {"-5", TC_ENC_INLINE, "int", 1},
        {"-9223372036854775808", TC_ENC_INLINE, "int", 1},
        {"9223372036854775808", TC_ENC_INLINE, "embstr", 1},  /* does not fit */
        {"12345678901234567890", TC_ENC_INLINE, "embstr", 1}, /* 20 characters, too large */
        {"01", TC_ENC_INLINE, "embstr", 1},
        {"-0", TC_ENC_INLINE, "embstr", 1},
        {"+1", TC_ENC_INLINE, "embstr", 1},
        {" 1", TC_ENC_INLINE, "embstr", 1},
        {"", TC_ENC_INLINE, "embstr", 1},
        {"hello", TC_ENC_INLINE, "embstr", 1},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TC_ENC_INLINE, "embstr", 1},  /* 44 */
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TC_ENC_INLINE, "raw", 1},    /* 45 */
        {"12", TC_ENC_INLINE_RAW, "raw", 1},
        {"5", TC_ENC_INLINE_EMBSTR, "embstr", 1},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TC_ENC_INLINE_EMBSTR, "raw", 1},
    };
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_key *k = set(&ks, "k", cases[i].value, 0);
        k->encoding = (unsigned)cases[i].enc;
        const char *got = tc_string_type.encoding_name(k);
        if (strcmp(got, cases[i].name) != 0) fail_msg("\"%s\" (encoding %d): %s, not %s", cases[i].value, cases[i].enc, got, cases[i].name);
        assert_int_equal(tc_string_type.refcount(k), cases[i].refcount);
    }
    tc_ks_free(&ks);
}

/* ---- commands through the type table ---------------------------------------- */

static const char *encoding(fx *f, const char *key) { return fx_run(f, "OBJECT", "ENCODING", key, NULL); }

static void test_type_command(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "s", "v", NULL);
    assert_string_equal(fx_run(f, "TYPE", "s", NULL), "+string\r\n");
    assert_string_equal(fx_run(f, "TYPE", "nokey", NULL), "+none\r\n");
    assert_string_equal(fx_run(f, "SCAN", "0", "TYPE", "STRING", NULL), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    assert_string_equal(fx_run(f, "SCAN", "0", "TYPE", "hash", NULL), "*2\r\n$1\r\n0\r\n*0\r\n");
}

/* Each line: what Redis 7.0.15 answered after the same commands. */
static void test_object_encoding_follows_redis(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "a", "123", NULL);
    assert_string_equal(encoding(f, "a"), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "a", NULL), ":2147483647\r\n");
    fx_run(f, "SET", "b", "12345", NULL);
    assert_string_equal(encoding(f, "b"), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "b", NULL), ":1\r\n");
    fx_run(f, "SET", "d", "hello", NULL);
    assert_string_equal(encoding(f, "d"), "$6\r\nembstr\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "d", NULL), ":1\r\n");
    fx_run(f, "SET", "e", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
    assert_string_equal(encoding(f, "e"), "$6\r\nembstr\r\n");
    fx_run(f, "SET", "e", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
    assert_string_equal(encoding(f, "e"), "$3\r\nraw\r\n");

    /* changed in place: raw, whatever the value */
    fx_run(f, "APPEND", "d", "x", NULL);
    assert_string_equal(encoding(f, "d"), "$3\r\nraw\r\n");
    fx_run(f, "APPEND", "newk", "42", NULL);
    assert_string_equal(encoding(f, "newk"), "$3\r\nint\r\n");
    fx_run(f, "SETRANGE", "sr", "0", "ab", NULL);
    assert_string_equal(encoding(f, "sr"), "$3\r\nraw\r\n");
    fx_run(f, "SET", "s2", "hi", NULL);
    fx_run(f, "SETRANGE", "s2", "0", "", NULL);
    assert_string_equal(encoding(f, "s2"), "$6\r\nembstr\r\n");
    fx_run(f, "SETRANGE", "s2", "1", "x", NULL);
    assert_string_equal(encoding(f, "s2"), "$3\r\nraw\r\n");

    /* counters */
    fx_run(f, "INCRBYFLOAT", "fl", "1.5", NULL);
    assert_string_equal(encoding(f, "fl"), "$6\r\nembstr\r\n");
    fx_run(f, "INCRBYFLOAT", "fl2", "2", NULL);
    assert_string_equal(encoding(f, "fl2"), "$6\r\nembstr\r\n");
    fx_run(f, "INCR", "n1", NULL);
    assert_string_equal(encoding(f, "n1"), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "n1", NULL), ":2147483647\r\n");
    fx_run(f, "INCRBY", "n2", "100000", NULL);
    assert_string_equal(encoding(f, "n2"), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "n2", NULL), ":1\r\n");
    fx_run(f, "SET", "d3", "5", NULL);
    fx_run(f, "APPEND", "d3", "1", NULL);
    assert_string_equal(encoding(f, "d3"), "$3\r\nraw\r\n");
    fx_run(f, "INCR", "d3", NULL);
    assert_string_equal(encoding(f, "d3"), "$3\r\nint\r\n");

    /* DEBUG POPULATE makes embstr (or raw beyond 44 bytes), never int */
    fx_run(f, "DEBUG", "POPULATE", "2", "pk", NULL);
    assert_string_equal(encoding(f, "pk:0"), "$6\r\nembstr\r\n");
    fx_run(f, "DEBUG", "POPULATE", "1", "pq", "100", NULL);
    assert_string_equal(encoding(f, "pq:0"), "$3\r\nraw\r\n");
    fx_run(f, "DEBUG", "POPULATE", "1", "ps", "44", NULL);
    assert_string_equal(encoding(f, "ps:0"), "$6\r\nembstr\r\n");
    fx_run(f, "DEBUG", "POPULATE", "1", "pt", "45", NULL);
    assert_string_equal(encoding(f, "pt:0"), "$3\r\nraw\r\n");

    /* RENAME moves the value with its encoding; replacing it starts afresh */
    fx_run(f, "RENAME", "d", "dd", NULL);
    assert_string_equal(encoding(f, "dd"), "$3\r\nraw\r\n");
    fx_run(f, "GETSET", "dd", "7", NULL);
    assert_string_equal(encoding(f, "dd"), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "dd", NULL), ":2147483647\r\n");
    fx_run(f, "MSET", "m1", "9", "m2", "xx", NULL);
    assert_string_equal(encoding(f, "m1"), "$3\r\nint\r\n");
    assert_string_equal(encoding(f, "m2"), "$6\r\nembstr\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "encoding", "nokey", NULL), "$-1\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "REFCOUNT", "nokey", NULL), "$-1\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "nokey", NULL), "$-1\r\n");
}

static void test_object_errors_and_help(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "a", "1", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "foo", NULL), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "foo", "a", NULL), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    assert_string_equal(fx_run(f, "OBJECT", NULL), "-ERR wrong number of arguments for 'object' command\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "ENCODING", NULL),
                        "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "idletime", "a", "b", NULL),
                        "-ERR wrong number of arguments for 'object|idletime' command\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "HELP", "x", NULL),
                        "-ERR wrong number of arguments for 'object|help' command\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "FREQ", "a", NULL),
                        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                        "that when switching between policies at runtime LRU and LFU data will take some time to "
                        "adjust.\r\n");
    const char *help = fx_run(f, "OBJECT", "help", NULL);
    const char *first = "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n";
    assert_true(strncmp(help, first, strlen(first)) == 0);
    assert_non_null(strstr(help, "+REFCOUNT <key>\r\n"));
    assert_non_null(strstr(help, "+HELP\r\n+    Prints this help.\r\n"));

    /* LFU: FREQ answers and IDLETIME does not */
    f->srv.dbs[0].lfu = 1;
    fx_run(f, "SET", "b", "1", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "FREQ", "b", NULL), ":5\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "b", NULL),
                        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                        "switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n");
    /* in a cluster OBJECT is a read: a replica answers it, the log never sees it */
    const tc_cmd *cmd = tc_cmd_lookup("object", 6);
    assert_non_null(cmd);
    assert_true(cmd->flags & TC_CMD_READONLY);
    assert_false(cmd->flags & TC_CMD_WRITE);
}

/* Which commands stamp a key's access bits: as Redis, reads and writes do,
 * while TYPE, EXISTS, the TTL family and OBJECT look without touching. */
static void test_idletime_follows_access(void **state)
{
    fx *f = *state;
    tc_lru_clock_update(NOW_MS);
    fx_run(f, "SET", "k", "v", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":0\r\n");
    tc_lru_clock_update(NOW_MS + 2500);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":2\r\n");
    fx_run(f, "TYPE", "k", NULL);
    fx_run(f, "EXISTS", "k", NULL);
    fx_run(f, "TTL", "k", NULL);
    fx_run(f, "PEXPIRETIME", "k", NULL);
    fx_run(f, "OBJECT", "ENCODING", "k", NULL);
    fx_run(f, "SCAN", "0", NULL);
    fx_run(f, "KEYS", "*", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":2\r\n");
    fx_run(f, "GET", "k", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":0\r\n");
    tc_lru_clock_update(NOW_MS + 10000);
    fx_run(f, "TOUCH", "k", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":0\r\n");
    tc_lru_clock_update(NOW_MS + 20000);
    fx_run(f, "APPEND", "k", "w", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":0\r\n");
    tc_lru_clock_update(NOW_MS + 30000);
    fx_run(f, "EXPIRE", "k", "1000", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k", NULL), ":0\r\n");
    tc_lru_clock_update(NOW_MS + 40000);
    fx_run(f, "RENAME", "k", "k2", NULL);
    assert_string_equal(fx_run(f, "OBJECT", "IDLETIME", "k2", NULL), ":0\r\n");
    tc_lru_clock_update(0); /* back to the real clock */
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_string_memory),
        cmocka_unit_test(test_string_digest_unchanged),
        cmocka_unit_test(test_string_image_round_trip),
        cmocka_unit_test(test_string_copy),
        cmocka_unit_test(test_string_encoding_names),
        T(test_type_command),
        T(test_object_encoding_follows_redis),
        T(test_object_errors_and_help),
        T(test_idletime_follows_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
