/* Sorted sets (node/types/zset.c, node/t_zset.c, node/t_zset_ops.c):
 * commands on both encodings, conversion at both thresholds, ordering edge
 * cases, image and copy round trips, and random command sequences checked
 * against a naive model (a sorted array) over many seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "types/types.h"
#include "types/zset.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static tc_key *key(fx *f, const char *k) { return tc_ks_peek(&f->srv.dbs[0], k, strlen(k), f->now_ms); }

static void test_basic_commands(void **state)
{
    fx *f = *state;
    EXPECT(f, ":3\r\n", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    EXPECT(f, "+zset\r\n", "TYPE", "z");
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "z");
    EXPECT(f, ":3\r\n", "ZCARD", "z");
    EXPECT(f, "$1\r\n2\r\n", "ZSCORE", "z", "b");
    EXPECT(f, "$3\r\n4.5\r\n", "ZINCRBY", "z", "2.5", "b");
    EXPECT(f, ":2\r\n", "ZRANK", "z", "b");
    EXPECT(f, ":0\r\n", "ZREVRANK", "z", "b");
    EXPECT(f, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n", "ZRANGE", "z", "0", "1", "WITHSCORES");
    EXPECT(f, "*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV");
    EXPECT(f, ":2\r\n", "ZCOUNT", "z", "(1", "+inf");
    EXPECT(f, ":1\r\n", "ZREM", "z", "a", "nope");
    EXPECT(f, "*2\r\n$1\r\nc\r\n$1\r\n3\r\n", "ZPOPMIN", "z");
    EXPECT(f, "*2\r\n$1\r\nb\r\n$3\r\n4.5\r\n", "ZPOPMAX", "z");
    EXPECT(f, ":0\r\n", "EXISTS", "z");
    EXPECT(f, "$3\r\ninf\r\n", "ZADD", "n", "INCR", "inf", "x");
    EXPECT(f, "-ERR resulting score is not a number (NaN)\r\n", "ZINCRBY", "n", "-inf", "x");
    EXPECT(f, "$3\r\ninf\r\n", "ZSCORE", "n", "x");
    EXPECT(f, "-ERR value is not a valid float\r\n", "ZADD", "n", "nan", "x");
    EXPECT(f, "+OK\r\n", "SET", "s", "v");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "ZADD", "s", "1", "a");
    /* RESP3 doubles */
    f->client.resp = 3;
    EXPECT(f, ",inf\r\n", "ZSCORE", "n", "x");
    EXPECT(f, ":1\r\n", "ZADD", "d", "0.1", "a");
    EXPECT(f, ",0.10000000000000001\r\n", "ZSCORE", "d", "a");
    EXPECT(f, "*1\r\n*2\r\n$1\r\na\r\n,0.10000000000000001\r\n", "ZRANGE", "d", "0", "-1", "WITHSCORES");
    f->client.resp = 2;
}

/* Ordering: equal scores by member bytes (shorter first), -0.0 == 0.0,
 * infinities at the ends, binary members. */
static void test_ordering_edges(void **state)
{
    fx *f = *state;
    EXPECT(f, ":6\r\n", "ZADD", "o", "0", "b", "0", "ab", "0", "a", "-0", "c", "inf", "top", "-inf", "bottom");
    EXPECT(f, "*6\r\n$6\r\nbottom\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n$3\r\ntop\r\n", "ZRANGE", "o", "0",
           "-1");
    EXPECT(f, ":0\r\n", "ZADD", "o", "CH", "0", "c"); /* -0 == 0: no change */
    EXPECT(f, ":4\r\n", "ZCOUNT", "o", "0", "0");
    EXPECT(f, ":4\r\n", "ZCOUNT", "o", "-0", "(1");
    const char *argv[] = {"ZADD", "o", "0", "a\0z"};
    size_t lens[] = {4, 1, 1, 3};
    assert_string_equal(fx_runv(f, 4, argv, lens), ":1\r\n");
    EXPECT(f, ":3\r\n", "ZRANK", "o", "ab"); /* a < a\0z < ab */
    /* the same order in the large encoding */
    for (int i = 0; i < 130; i++) {
        char m[16];
        snprintf(m, sizeof m, "z%03d", i);
        RUN(f, "ZADD", "o", "5", m);
    }
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "o");
    EXPECT(f, "*6\r\n$6\r\nbottom\r\n$1\r\na\r\n$3\r\na\0z\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "o", "0",
           "5");
    EXPECT(f, "*2\r\n$3\r\ntop\r\n$4\r\nz129\r\n", "ZREVRANGE", "o", "0", "1");
    EXPECT(f, ":0\r\n", "ZADD", "o", "CH", "-0", "a");
    EXPECT(f, "$1\r\n0\r\n", "ZSCORE", "o", "a");
}

static void fill(fx *f, const char *k, int n, int len)
{
    for (int i = 0; i < n; i++) {
        char m[128];
        snprintf(m, sizeof m, "%0*d", len, i);
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        RUN(f, "ZADD", k, s, m);
    }
}

/* zset-max-listpack-entries 128 and zset-max-listpack-value 64: one more
 * converts; the large encoding stays even when the set shrinks back. */
static void test_conversion_thresholds(void **state)
{
    fx *f = *state;
    fill(f, "e", TC_ZSET_MAX_LISTPACK_ENTRIES, 4);
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "e");
    RUN(f, "ZADD", "e", "1000", "one-more");
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "e");
    EXPECT(f, ":129\r\n", "ZCARD", "e");
    EXPECT(f, ":128\r\n", "ZRANK", "e", "one-more");
    RUN(f, "ZREM", "e", "one-more");
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "e");

    char m64[65], m65[66];
    memset(m64, 'x', 64);
    m64[64] = '\0';
    memset(m65, 'y', 65);
    m65[65] = '\0';
    RUN(f, "ZADD", "v", "1", m64);
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "v");
    RUN(f, "ZADD", "v", "2", m65);
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "v");
    EXPECT(f, ":1\r\n", "ZRANK", "v", m65);
    /* a STORE destination picks its encoding from its size */
    EXPECT(f, ":1\r\n", "ZRANGESTORE", "small", "e", "0", "0");
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "small");
    EXPECT(f, ":130\r\n", "ZUNIONSTORE", "u", "2", "e", "v");
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "u");
    EXPECT(f, ":1\r\n", "ZRANGESTORE", "i", "v", "0", "0");
    EXPECT(f, "$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "i");
    EXPECT(f, ":1\r\n", "ZRANGESTORE", "i", "v", "1", "1"); /* the 65-byte member */
    EXPECT(f, "$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "i");
}

static void test_scan_and_random(void **state)
{
    fx *f = *state;
    fill(f, "big", 1000, 5);
    /* ZSCAN reports every member at least once, then cursor 0 */
    char *seen = calloc(1000, 1);
    char cursor[32] = "0";
    int rounds = 0;
    do {
        const char *r = RUN(f, "ZSCAN", "big", cursor, "COUNT", "50");
        const char *p = strchr(r + 4, '\n') + 1; /* after the cursor's length line */
        const char *e = strchr(p, '\r');
        snprintf(cursor, sizeof cursor, "%.*s", (int)(e - p), p);
        for (const char *q = strstr(e, "$5\r\n"); q; q = strstr(q + 1, "$5\r\n")) seen[atoi(q + 4)] = 1;
        rounds++;
    } while (strcmp(cursor, "0") != 0 && rounds < 10000);
    for (int i = 0; i < 1000; i++) assert_true(seen[i]);
    assert_true(rounds > 1);
    free(seen);
    /* distinct random members */
    const char *r = RUN(f, "ZRANDMEMBER", "big", "100");
    assert_memory_equal(r, "*100\r\n", 6);
    r = RUN(f, "ZRANDMEMBER", "big", "-2000");
    assert_memory_equal(r, "*2000\r\n", 7);
    /* removals by range in the large encoding (dict entries and tree slots) */
    EXPECT(f, ":100\r\n", "ZREMRANGEBYRANK", "big", "0", "99");
    EXPECT(f, ":101\r\n", "ZREMRANGEBYSCORE", "big", "500", "600");
    EXPECT(f, "*4\r\n$5\r\n00999\r\n$3\r\n999\r\n$5\r\n00998\r\n$3\r\n998\r\n", "ZPOPMAX", "big", "2");
    EXPECT(f, ":10\r\n", "ZREMRANGEBYLEX", "big", "[00100", "(00110");
    EXPECT(f, ":787\r\n", "ZCARD", "big");
    EXPECT(f, ":0\r\n", "ZRANK", "big", "00110");
    EXPECT(f, ":787\r\n", "ZREMRANGEBYRANK", "big", "0", "-1");
    EXPECT(f, ":0\r\n", "EXISTS", "big");
}

/* Image records and COPY-like copies keep members, scores and encoding. */
static void test_image_round_trip(void **state)
{
    fx *f = *state;
    fill(f, "small", 10, 3);
    fill(f, "large", 3000, 6);
    RUN(f, "ZADD", "large", "-inf", "ninf", "0.1", "tenth", "-0", "negzero");
    unsigned char before[20], after[20];
    tc_ks_digest(&f->srv.dbs[0], f->now_ms, before);
    const char *names[] = {"small", "large"};
    tc_keyspace ks2;
    tc_ks_init(&ks2, 1, 2);
    for (int i = 0; i < 2; i++) {
        tc_key *k = key(f, names[i]);
        tc_buf scratch = {0};
        const char *p;
        size_t len;
        assert_int_equal(tc_zset_type.image_encode(k, &scratch, &p, &len), 0);
        char err[128];
        tc_key *n = tc_zset_type.image_decode(&ks2, names[i], strlen(names[i]), p, len, 0, err, sizeof err);
        assert_non_null(n);
        assert_int_equal(n->encoding, k->encoding);
        /* a damaged record is refused */
        char *bad = malloc(len);
        memcpy(bad, p, len);
        assert_null(tc_zset_type.image_decode(&ks2, "x", 1, bad, len - 1, 0, err, sizeof err));
        double high = 1e9;
        memcpy(bad + 5, &high, 8); /* the first score above the second: order broken */
        assert_null(tc_zset_type.image_decode(&ks2, "x", 1, bad, len, 0, err, sizeof err));
        free(bad);
        free(scratch.data);
        assert_non_null(tc_zset_type.copy(&ks2, k, "copy", 4, 0));
        assert_int_equal(tc_zset_card(tc_ks_peek(&ks2, "copy", 4, 0)), tc_zset_card(k));
        tc_ks_delete(&ks2, "copy", 4);
    }
    tc_ks_digest(&ks2, f->now_ms, after);
    assert_memory_equal(before, after, 20);
    tc_ks_free(&ks2);
}

/* ---- random sequences against a naive model -------------------------------- */

typedef struct mel {
    double score;
    char m[8];
} mel;

static int mcmp(const void *a, const void *b)
{
    const mel *x = a, *y = b;
    return tc_zcmp(x->score, x->m, strlen(x->m), y->score, y->m, strlen(y->m));
}

static uint64_t rs;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static int mfind(const mel *v, size_t n, const char *m)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].m, m)) return (int)i;
    return -1;
}

static void test_random_against_model(void **state)
{
    fx *f = *state;
    mel *v = malloc(600 * sizeof *v);
    for (uint64_t seed = 1; seed <= 30; seed++) {
        rs = seed * 0x9e3779b97f4a7c15ull;
        size_t n = 0;
        int universe = seed % 2 ? 60 : 500; /* stays small, or crosses 128 */
        RUN(f, "DEL", "r");
        for (int step = 0; step < 1500; step++) {
            char m[8], s[32], b[32];
            snprintf(m, sizeof m, "m%d", (int)(rnd() % (uint64_t)universe));
            double sc = (double)(int)(rnd() % 21) - 10 + (rnd() % 4 ? 0 : 0.25);
            snprintf(s, sizeof s, "%.17g", sc);
            int op = (int)(rnd() % 6), i = mfind(v, n, m);
            char want[64];
            switch (op) {
            case 0:
            case 1: /* ZADD */
                snprintf(want, sizeof want, ":%d\r\n", i < 0);
                EXPECT(f, want, "ZADD", "r", s, m);
                if (i < 0) {
                    i = (int)n++;
                    strcpy(v[i].m, m);
                }
                v[i].score = sc;
                break;
            case 2: /* ZREM */
                snprintf(want, sizeof want, ":%d\r\n", i >= 0);
                EXPECT(f, want, "ZREM", "r", m);
                if (i >= 0) v[i] = v[--n];
                break;
            case 3: /* ZINCRBY */
                RUN(f, "ZINCRBY", "r", s, m);
                if (i < 0) {
                    i = (int)n++;
                    strcpy(v[i].m, m);
                    v[i].score = 0;
                }
                v[i].score += sc;
                break;
            case 4: { /* ZRANK */
                qsort(v, n, sizeof *v, mcmp);
                i = mfind(v, n, m);
                if (i < 0) snprintf(want, sizeof want, "$-1\r\n");
                else snprintf(want, sizeof want, ":%d\r\n", i);
                EXPECT(f, want, "ZRANK", "r", m);
                break;
            }
            default: { /* ZRANGE start stop WITHSCORES / BYSCORE */
                qsort(v, n, sizeof *v, mcmp);
                long a = (long)(rnd() % 40) - 20, z = (long)(rnd() % 40) - 20;
                snprintf(s, sizeof s, "%ld", a);
                snprintf(b, sizeof b, "%ld", z);
                int byscore = rnd() % 2;
                const char *r = byscore ? RUN(f, "ZRANGE", "r", s, b, "BYSCORE", "WITHSCORES")
                                        : RUN(f, "ZRANGE", "r", s, b, "WITHSCORES");
                tc_buf w = {0};
                size_t lo = 0, hi = 0;
                if (byscore) {
                    while (lo < n && v[lo].score < a) lo++;
                    hi = lo;
                    while (hi < n && v[hi].score <= z) hi++;
                } else {
                    long ln = (long)n, st = a < 0 ? a + ln : a, en = z < 0 ? z + ln : z;
                    if (st < 0) st = 0;
                    if (en >= ln) en = ln - 1;
                    if (st <= en && st < ln) {
                        lo = (size_t)st;
                        hi = (size_t)en + 1;
                    }
                }
                tc_buf_printf(&w, "*%zu\r\n", (hi - lo) * 2);
                for (size_t k = lo; k < hi; k++) {
                    char num[32];
                    int l = snprintf(num, sizeof num, "%.17g", v[k].score);
                    tc_buf_printf(&w, "$%zu\r\n%s\r\n$%d\r\n%s\r\n", strlen(v[k].m), v[k].m, l, num);
                }
                tc_buf_append(&w, "", 1);
                assert_string_equal(r, w.data);
                free(w.data);
            }
            }
        }
        char want[32];
        snprintf(want, sizeof want, ":%zu\r\n", n);
        EXPECT(f, want, "ZCARD", "r");
    }
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_commands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ordering_edges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_conversion_thresholds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_random, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_image_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
