/* The same commands sent to redis-server and to tricache must get the same
 * bytes back: Redis 7 is the reference for replies and error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

typedef struct pair {
    tnode *tricache;
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} pair;

static int start_both(void **state)
{
    pair *p = calloc(1, sizeof *p);
    p->tricache = h_start(NULL);
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int stop_both(void **state)
{
    pair *p = *state;
    h_stop(p->tricache);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

/* Inline commands, one per line: each reply must be byte-identical. */
static const char *const script[] = {
    "SET k v", "GET k", "GET missing", "SET k v NX", "SET k w XX GET", "SET k v EX 0", "SET k v PX -1",
    "SET k v EX 10 PX 10", "SET k v EX notanumber", "SET k v KEEPTTL EX 5", "SET k", "SETNX k x", "SETNX new x",
    "SETEX k 100 v", "TTL k", "PSETEX k 0 v", "MSET a 1 b 2", "MSET a 1 b", "MGET a b nope", "MSETNX a 1 c 3",
    "GETSET a 10", "GETDEL a", "GETDEL a", "GETEX b EX 100", "TTL b", "GETEX b PERSIST", "TTL b", "GETEX b KEEPTTL",
    "INCR n", "INCRBY n 10", "DECR n", "DECRBY n 3", "INCRBY n x", "SET big 9223372036854775807", "INCR big",
    "DECRBY n -9223372036854775808", "SET f 10.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -5", "INCRBYFLOAT f abc",
    "INCRBYFLOAT f 1e400", "APPEND s hello", "APPEND s \" world\"", "STRLEN s", "STRLEN nope", "GETRANGE s 0 4",
    "GETRANGE s -5 -1", "GETRANGE s 5 3", "GETRANGE s 0 100", "GETRANGE nope 0 -1", "SETRANGE s 6 W",
    "SETRANGE s -1 x", "SETRANGE pad 3 ab", "GET pad", "SETRANGE empty 5 \"\"", "EXISTS empty",
    "DEL s pad nope", "EXISTS k k nope", "TOUCH k nope", "TYPE k", "TYPE nope", "RENAME nope x", "RENAME k k2",
    "RENAMENX k2 b", "RENAMENX k2 k3", "EXPIRE k3 100", "TTL k3", "PTTL nope", "EXPIRE k3 100 NX",
    "EXPIRE k3 200 GT", "TTL k3", "EXPIRE k3 50 LT", "TTL k3", "EXPIRE k3 1 NX XX", "EXPIRE k3 1 GT LT",
    "EXPIRE k3 1 BOGUS", "EXPIRE k3 abc", "PERSIST k3", "PERSIST k3", "TTL k3", "EXPIRETIME k3",
    "PEXPIRETIME nope", "EXPIREAT k3 100", "EXISTS k3", "KEYS nomatch*", "SCAN 0 COUNT 0", "SCAN abc",
    "SCAN 0 BOGUS x", "DBSIZE", "SELECT 0", "ECHO hi", "PING", "PING hello", "PING a b", "GET", "NOSUCHCMD a b",
    "FLUSHALL BOGUS", "CLIENT SETNAME \"a b\"", "CLIENT GETNAME", "CLIENT SETNAME app", "CLIENT GETNAME",
    "CLIENT BOGUS", "HELLO 4", "HELLO abc", "AUTH x", "CONFIG SET nosuch 1", "CONFIG GET maxclients",
    "CONFIG SET maxclients abc", "FLUSHALL", "DBSIZE", "RANDOMKEY", "SET \"quoted key\" 'single quoted'",
    "GET \"quoted key\"", "SET k v IFEQ", "INCRBYFLOAT nf 3.0e3", "SET a \"x\\x41y\"", "GET a", "TIME x", "SETRANGE s 536870912 x", "SET x 1.0", "INCR x", "GETRANGE x a b", "SET x 1",
    "RENAME x x", "RENAMENX x x", "SET x 1 GET EX 0", "EXPIRE x 9223372036854775807", "PEXPIRE x -9223372036854775808",
    "GETEX x PX 0", "GETEX x EX 1 EX 2", "MGET x", "SET x 1", "GETEX x PX 0", "GETEX x EX abc", "GETEX x EX 1 EX 2", "TTL x", "SELECT x", "ECHO", "EXISTS", "TYPE a b", "PUBLISH ch msg", "PUBLISH ch",
};

/* Sends every line of the script to both and counts differing replies. */
static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\r\n", script[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", script[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

static void test_replies_match_redis(void **state)
{
    pair *p = *state;
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

/* The same in RESP3 (nulls, maps for CONFIG GET). The HELLO replies
 * themselves differ by design (server name, version, client id). */
static void test_resp3_replies_match_redis(void **state)
{
    pair *p = *state;
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    h_sends(t, "HELLO 3\r\n");
    h_sends(r, "HELLO 3\r\n");
    char *a = h_reply(t), *b = h_reply(r);
    assert_true(a && b && a[0] == '%' && b[0] == '%');
    free(a);
    free(b);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}


/* Sorted sets: every command of the family, small (listpack) and large
 * (past 128 members) sets, bounds, LIMIT, inf, NaN, WRONGTYPE. */
static const char *const zset_script[] = {
    "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZADD z CH 5 a", "ZADD z NX 9 a 4 d", "ZADD z XX 7 e 8 d", "ZADD z XX CH 8 d",
    "ZADD z GT 1 a", "ZADD z LT 1 a", "ZADD z GT CH 10 a", "ZADD z NX XX 1 a", "ZADD z GT LT 1 a", "ZADD z NX GT 1 a",
    "ZADD z INCR 1 a 2 b", "ZADD z INCR 0.5 c", "ZADD z INCR NX 1 c", "ZADD z INCR XX 1 nope", "ZADD z 1", "ZADD z 1 a 2",
    "ZADD z abc a", "ZADD z nan a", "ZADD z 1e400 a", "ZADD z inf pinf -inf ninf +inf pinf2", "ZADD z 0.1 tenth 1e20 big",
    "ZADD z -0 negzero 0 zero", "ZSCORE z negzero", "ZSCORE z tenth", "ZSCORE z big", "ZSCORE z pinf", "ZSCORE z ninf",
    "ZSCORE z nope", "ZSCORE nokey a", "ZMSCORE z a nope b", "ZMSCORE nokey a b", "ZCARD z", "ZCARD nokey",
    "ZINCRBY z 2.5 a", "ZINCRBY z -inf pinf", "ZINCRBY z 1 newmember", "ZINCRBY z abc a", "ZINCRBY z NX a",
    "ZADD z INCR -inf pinf2", "ZRANGE z 0 -1", "ZRANGE z 0 -1 WITHSCORES", "ZRANGE z -3 -1 WITHSCORES",
    "ZRANGE z 5 2", "ZRANGE z 100 200", "ZRANGE z -100 1", "ZRANGE z 0 1 REV WITHSCORES", "ZRANGE z a b",
    "ZRANGE z 0 1 LIMIT 0 1", "ZRANGE z (1 +inf BYSCORE", "ZRANGE z -inf +inf BYSCORE WITHSCORES LIMIT 1 2",
    "ZRANGE z +inf -inf BYSCORE REV LIMIT 0 3", "ZRANGE z (3 (8 BYSCORE", "ZRANGE z [3 8 BYSCORE", "ZRANGE z x y BYSCORE",
    "ZRANGE z 1 2 BYSCORE LIMIT -1 5", "ZRANGE z -inf inf BYSCORE LIMIT 2 -1", "ZRANGE z -inf inf BYSCORE LIMIT 2 0",
    "ZRANGE z - + BYLEX WITHSCORES", "ZRANGE z 0 -1 BYSCORE BYLEX", "ZRANGE z 0 -1 REV REV", "ZRANGE z 0 -1 LIMIT 1",
    "ZRANGE z 0 -1 BOGUS", "ZRANGE nokey 0 -1", "ZREVRANGE z 0 2 WITHSCORES", "ZREVRANGE z 0 -1 REV",
    "ZRANGEBYSCORE z -inf +inf", "ZRANGEBYSCORE z 2 5 WITHSCORES", "ZRANGEBYSCORE z (2 (5 LIMIT 0 1",
    "ZRANGEBYSCORE z 5 2", "ZRANGEBYSCORE z 1 2 REV", "ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 2",
    "ZREVRANGEBYSCORE z 5 (2", "ZCOUNT z -inf +inf", "ZCOUNT z (1 3", "ZCOUNT z 3 1", "ZCOUNT z a b", "ZCOUNT nokey 0 1",
    "ZRANK z a", "ZRANK z nope", "ZREVRANK z a", "ZRANK nokey a", "ZRANK z", "DEL z",
    "ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ab", "ZRANGEBYLEX lex - +", "ZRANGEBYLEX lex [b [d",
    "ZRANGEBYLEX lex (b (d", "ZRANGEBYLEX lex [a (b", "ZRANGEBYLEX lex (a +", "ZRANGEBYLEX lex + -",
    "ZRANGEBYLEX lex - + LIMIT 2 3", "ZRANGEBYLEX lex a b", "ZRANGEBYLEX lex [a ++", "ZRANGEBYLEX lex - + WITHSCORES",
    "ZREVRANGEBYLEX lex + -", "ZREVRANGEBYLEX lex [d (a LIMIT 1 2", "ZRANGE lex [d (a BYLEX REV", "ZLEXCOUNT lex - +",
    "ZLEXCOUNT lex [b (e", "ZLEXCOUNT lex x y", "ZLEXCOUNT nokey - +", "ZREMRANGEBYLEX lex [aa [ab", "ZRANGE lex 0 -1",
    "ZREMRANGEBYLEX lex bad +", "ZREMRANGEBYLEX nokey - +", "ZREMRANGEBYRANK lex 0 1", "ZREMRANGEBYRANK lex -2 -1",
    "ZREMRANGEBYRANK lex 5 1", "ZREMRANGEBYRANK lex a 1", "ZRANGE lex 0 -1", "ZADD s 1 a 2 b 3 c 4 d 5 e",
    "ZREMRANGEBYSCORE s (1 3", "ZREMRANGEBYSCORE s x 1", "ZREMRANGEBYSCORE s -inf +inf", "EXISTS s",
    "ZADD p 1 a 2 b 3 c 4 d 5 e", "ZPOPMIN p", "ZPOPMAX p", "ZPOPMIN p 2", "ZPOPMIN p 0", "ZPOPMIN p -1", "ZPOPMIN p x",
    "ZPOPMIN p 1 2", "ZPOPMAX p 100", "EXISTS p", "ZPOPMIN nokey", "ZPOPMAX nokey 3", "ZADD p 1 a 2 b 3 c",
    "ZMPOP 2 nokey p MIN", "ZMPOP 1 p MAX COUNT 10", "ZMPOP 1 p MIN", "ZMPOP 0 p MIN", "ZMPOP 1 p", "ZMPOP 1 p LEFT",
    "ZMPOP 1 p MIN COUNT 0", "ZMPOP 1 p MIN COUNT 1 COUNT 2", "ZMPOP x p MIN", "ZMPOP 3 p MIN",
    "ZADD r 1 a 2 b 3 c", "ZRANDMEMBER r 3", "ZRANDMEMBER r 10 WITHSCORES", "ZRANDMEMBER r 0", "ZRANDMEMBER nokey",
    "ZRANDMEMBER nokey 5", "ZRANDMEMBER r 1 BOGUS", "ZRANDMEMBER r x", "ZRANDMEMBER r -9223372036854775807 WITHSCORES",
    "ZADD u1 1 a 2 b 3 c", "ZADD u2 10 b 20 c 30 d", "ZUNION 2 u1 u2", "ZUNION 2 u1 u2 WITHSCORES",
    "ZUNION 2 u1 u2 WEIGHTS 2 0.5 WITHSCORES", "ZUNION 2 u1 u2 AGGREGATE MIN WITHSCORES",
    "ZUNION 2 u1 u2 AGGREGATE MAX WITHSCORES", "ZUNION 2 u1 u2 AGGREGATE AVG", "ZUNION 2 u1 u2 WEIGHTS 1",
    "ZUNION 2 u1 u2 WEIGHTS 1 x", "ZUNION 0 u1", "ZUNION 3 u1 u2", "ZUNION x u1", "ZINTER 2 u1 u2 WITHSCORES",
    "ZINTER 2 u1 nokey", "ZINTER 2 u1 u2 WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES", "ZDIFF 2 u1 u2 WITHSCORES",
    "ZDIFF 2 u1 u2 WEIGHTS 1 1", "ZDIFF 1 nokey", "ZUNIONSTORE dst 2 u1 u2", "ZRANGE dst 0 -1 WITHSCORES",
    "OBJECT ENCODING dst", "ZINTERSTORE dst 2 u1 u2 AGGREGATE MAX", "ZRANGE dst 0 -1 WITHSCORES",
    "ZINTERSTORE dst 2 u1 nokey", "EXISTS dst", "ZDIFFSTORE dst 2 u1 u2", "ZRANGE dst 0 -1 WITHSCORES",
    "ZUNIONSTORE dst 2 u1 u2 WITHSCORES", "ZUNIONSTORE u1 2 u1 u2", "ZRANGE u1 0 -1 WITHSCORES", "ZINTERCARD 2 u1 u2",
    "ZINTERCARD 2 u1 u2 LIMIT 1", "ZINTERCARD 2 u1 u2 LIMIT -1", "ZINTERCARD 0 u1", "ZINTERCARD 2 u1 u2 WITHSCORES",
    "ZADD n 1 inf", "ZADD n inf a -inf b", "ZUNION 2 n n WITHSCORES", "ZUNION 2 n n WEIGHTS 1 -1 WITHSCORES",
    "ZUNION 2 n n WEIGHTS 0 0 WITHSCORES", "ZRANGESTORE rs u2 0 1", "ZRANGE rs 0 -1 WITHSCORES",
    "ZRANGESTORE rs u2 (10 +inf BYSCORE LIMIT 0 1", "ZRANGE rs 0 -1", "ZRANGESTORE rs u2 5 10", "EXISTS rs",
    "ZRANGESTORE rs nokey 0 -1", "ZRANGESTORE rs u2 0 -1 WITHSCORES", "ZRANGESTORE rs u2 [a + BYLEX REV",
    "SET str x", "ZADD str 1 a", "ZRANGE str 0 -1", "ZSCORE str a", "ZCARD str", "ZREM str a", "ZPOPMIN str",
    "ZUNION 2 u1 str", "ZRANGESTORE dst str 0 -1", "ZRANGESTORE str u2 0 -1", "TYPE str", "ZSCAN str 0", "ZMPOP 1 str MIN",
    "ZADD sc 1.5 x 0.1 y inf z -0 w", "ZSCAN sc 0", "ZSCAN sc 0 MATCH x*", "ZSCAN sc 0 COUNT 0", "ZSCAN sc abc",
    "ZSCAN sc 0 COUNT", "ZSCAN nokey 0", "ZSCAN sc 0 COUNT 100 MATCH *", "ZREM sc x y nope", "ZREM sc z w", "EXISTS sc",
    "ZREM nokey a", "OBJECT ENCODING u2", "TYPE u2", "ZADD u2 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "OBJECT ENCODING u2", "ZRANGE u2 0 -1 WITHSCORES", "ZREM u2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "OBJECT ENCODING u2", "ZADD e 1 a", "ZADD e XX 1 b", "ZADD nokey2 XX 1 a", "EXISTS nokey2", "ZADD nokey2 XX INCR 1 a",
    "ZADD e INCR GT -1 a", "ZADD e 1.0 b 1.50 c 2e2 d 0x10 h", "ZRANGE e 0 -1 WITHSCORES", "ZADD e \"\" a", "ZADD e \" 1\" a",
    "ZCOUNT e \"\" 1", "ZCOUNT e ( (1", "SADD plain b x 7", "ZUNION 2 e plain WITHSCORES",
    "ZINTER 2 plain e WEIGHTS 3 1 WITHSCORES", "ZDIFF 2 plain e", "ZINTERCARD 2 e plain", "ZUNIONSTORE fromset 1 plain",
    "ZRANGE fromset 0 -1 WITHSCORES", "ZRANGE plain 0 -1", "FLUSHALL",
};

/* The same with sets past 128 members (the large encoding): built by the
 * test with a pipelined ZADD, then the same questions. */
static const char *const zset_big_script[] = {
    "ZCARD big", "OBJECT ENCODING big", "ZRANGE big 0 4 WITHSCORES", "ZRANGE big -3 -1 WITHSCORES", "ZRANK big m150",
    "ZREVRANK big m150", "ZSCORE big m77", "ZCOUNT big (10 50", "ZRANGEBYSCORE big (100 120 LIMIT 5 3 WITHSCORES",
    "ZREVRANGEBYSCORE big 120 (100 LIMIT 5 3 WITHSCORES", "ZRANGE big 10 20 REV", "ZINCRBY big 1000 m5", "ZRANK big m5",
    "ZADD big 3.5 m5", "ZRANK big m5", "ZREM big m10 m11 nope", "ZRANK big m12", "ZPOPMIN big 3", "ZPOPMAX big",
    "ZREMRANGEBYRANK big 0 9", "ZREMRANGEBYSCORE big 50 60", "ZCARD big", "ZRANGE big 0 -1", "ZLEXCOUNT lexbig - +",
    "ZRANGEBYLEX lexbig [m1 (m2 LIMIT 0 10", "ZREVRANGEBYLEX lexbig (m2 [m1 LIMIT 3 10", "ZLEXCOUNT lexbig [m1 [m2",
    "ZREMRANGEBYLEX lexbig - (m5", "ZCARD lexbig", "ZUNIONSTORE ub 2 big lexbig WEIGHTS 1 2", "ZCARD ub",
    "OBJECT ENCODING ub", "ZRANGE ub 100 110 WITHSCORES", "ZINTERSTORE ib 2 big lexbig", "ZCARD ib", "OBJECT ENCODING ib",
    "ZRANGESTORE rsb big 0 9", "OBJECT ENCODING rsb", "ZRANGESTORE rsb big 0 199", "OBJECT ENCODING rsb",
    "ZDIFF 2 big ub", "ZINTERCARD 2 big lexbig", "ZMSCORE big m100 m101 nope", "ZRANDMEMBER big 1000", "ZREMRANGEBYRANK big 0 -1",
    "EXISTS big", "FLUSHALL",
};

/* Sends a script and counts differing replies. */
static size_t compare_script(int t, int r, const char *const *lines, size_t n)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < n; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s\r\n", lines[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", lines[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

/* Sends line to both and drops the replies (setup). */
static void both(int t, int r, const char *line)
{
    h_sends(t, line);
    h_sends(r, line);
    free(h_reply(t));
    free(h_reply(r));
}

static void zset_compare(pair *p, int resp3)
{
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    if (resp3) both(t, r, "HELLO 3\r\n");
    assert_int_equal(compare_script(t, r, zset_script, sizeof zset_script / sizeof zset_script[0]), 0);
    /* 200 members m0..m199 scored 0..199 (big) and 300 of score 0 (lexbig) */
    char cmd[8192];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "ZADD big");
    for (int i = 0; i < 200; i++) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %d m%d", i, i);
    snprintf(cmd + n, sizeof cmd - n, "\r\n");
    both(t, r, cmd);
    for (int i = 0; i < 300; i++) {
        snprintf(cmd, sizeof cmd, "ZADD lexbig 0 m%d\r\n", i);
        both(t, r, cmd);
    }
    assert_int_equal(compare_script(t, r, zset_big_script, sizeof zset_big_script / sizeof zset_big_script[0]), 0);
    h_close(t);
    h_close(r);
}

static void test_zset_replies_match_redis(void **state) { zset_compare(*state, 0); }
static void test_zset_resp3_replies_match_redis(void **state) { zset_compare(*state, 1); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_resp3_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_zset_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_zset_resp3_replies_match_redis, start_both, stop_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
