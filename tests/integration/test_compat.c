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


/* ---- lists (node/t_list.c) ------------------------------------------------ */

static const char *const list_script[] = {
    "FLUSHALL", "LPUSH l a b c", "RPUSH l d e 1 -5 300 70000 9223372036854775807 -9223372036854775808 01 +1",
    "LRANGE l 0 -1", "LLEN l", "LLEN nope", "LPUSHX nope a", "RPUSHX nope a", "LPUSHX l x", "RPUSHX l y z",
    "LRANGE l -3 -1", "LRANGE l -100 2", "LRANGE l 5 3", "LRANGE l 100 200", "LRANGE l 0 1000", "LRANGE nope 0 -1",
    "LRANGE l a 1", "LINDEX l 0", "LINDEX l -1", "LINDEX l -2", "LINDEX l 100", "LINDEX l -100", "LINDEX l x",
    "LINDEX nope 0", "LSET l 0 first", "LSET l -1 last", "LSET l 100 x", "LSET nope 0 x", "LSET l x y",
    "LRANGE l 0 -1", "LINSERT l BEFORE first new0", "LINSERT l AFTER last new9", "LINSERT l AFTER nosuch x",
    "LINSERT l MIDDLE a x", "LINSERT nope BEFORE a x", "LRANGE l 0 -1", "RPUSH r a b a c a d a",
    "LREM r 2 a", "LRANGE r 0 -1", "LREM r -1 a", "LRANGE r 0 -1", "LREM r 0 a", "LRANGE r 0 -1", "LREM r x a",
    "LREM nope 0 a", "RPUSH p a b c a b c a", "LPOS p a", "LPOS p a RANK 2", "LPOS p a RANK -1", "LPOS p a RANK -2",
    "LPOS p a COUNT 0", "LPOS p a COUNT 2", "LPOS p a RANK 2 COUNT 0", "LPOS p a RANK -1 COUNT 2",
    "LPOS p a MAXLEN 1 COUNT 0", "LPOS p c MAXLEN 2", "LPOS p z", "LPOS p z COUNT 1", "LPOS nope a",
    "LPOS nope a COUNT 1", "LPOS p a RANK 0", "LPOS p a COUNT -1", "LPOS p a MAXLEN -1", "LPOS p a RANK x",
    "LPOS p a RANK -9223372036854775808", "LPOS p a BOGUS", "LPOS p a RANK", "LPOS p a RANK 10",
    "LTRIM p 1 -2", "LRANGE p 0 -1", "LTRIM p -2 -1", "LRANGE p 0 -1", "LTRIM p 5 1", "EXISTS p", "LTRIM nope 0 1",
    "LTRIM r x 1", "RPUSH q 1 2 3 4 5 6", "LPOP q", "RPOP q", "LPOP q 2", "RPOP q 1", "LPOP q 0", "RPOP q 10",
    "EXISTS q", "LPOP q", "LPOP q 2", "LPOP q 0", "LPOP q -1", "LPOP q x", "LPOP q 1 2", "RPUSH q x", "RPOP q 0",
    "RPUSH m1 a b c", "LMOVE m1 m2 LEFT RIGHT", "LMOVE m1 m2 RIGHT LEFT", "LRANGE m2 0 -1", "LMOVE m1 m1 LEFT RIGHT",
    "LRANGE m1 0 -1", "LMOVE m1 m2 UP LEFT", "LMOVE nope m2 LEFT LEFT", "RPOPLPUSH m1 m2", "RPOPLPUSH m1 m2",
    "EXISTS m1", "LRANGE m2 0 -1", "SET str x", "LMOVE m2 str LEFT LEFT", "LMOVE str m2 LEFT LEFT", "LPUSH str a",
    "LRANGE str 0 1", "LLEN str", "LPOP str", "LINDEX str 0", "LPOS str a", "BLPOP str 0.1", "RPUSH one a",
    "LMOVE one one LEFT LEFT", "RPUSH z1 a b c", "RPUSH z2 d", "LMPOP 2 nope z1 LEFT", "LMPOP 2 z2 z1 RIGHT COUNT 5",
    "LMPOP 1 z1 RIGHT COUNT 10", "LMPOP 2 nope nope2 LEFT", "LMPOP 0 z1 LEFT", "LMPOP 2 z1 LEFT", "LMPOP 1 z1 UP",
    "LMPOP 1 z1 LEFT COUNT 0", "LMPOP 1 z1 LEFT COUNT 1 COUNT 2", "LMPOP 1 z1 LEFT BOGUS", "LMPOP 1 str LEFT",
    "LMPOP -1 z1 LEFT", "LMPOP 99999999999999999999 z1 LEFT", "RPUSH b1 x y", "BLPOP nope b1 0", "BRPOP b1 0",
    "EXISTS b1", "BLPOP nope 0.1", "BRPOP nope nope2 0.05", "BLPOP nope -1", "BLPOP nope abc", "BLPOP nope 1e400",
    "RPUSH b2 1 2 3", "BLMPOP 0 1 b2 RIGHT COUNT 2", "BLMPOP 0.05 1 nope LEFT", "BLMPOP x 1 b2 LEFT",
    "BLMPOP 0 0 b2 LEFT", "BLMOVE b2 b3 LEFT RIGHT 0", "BLMOVE nope b3 LEFT RIGHT 0.05", "BLMOVE b2 b3 UP RIGHT 0",
    "BLMOVE b3 b3 LEFT RIGHT -1", "BRPOPLPUSH b3 b4 0", "BRPOPLPUSH nope b4 0.05", "BRPOPLPUSH b4 b4 x",
    "LRANGE b4 0 -1", "TYPE b4", "OBJECT ENCODING b4", "LPUSH", "LPUSH l", "LRANGE l 0", "BLPOP l",
    "CLIENT UNBLOCK 999999", "CLIENT UNBLOCK 999999 ERROR", "CLIENT UNBLOCK 1 MAYBE", "CLIENT UNBLOCK x",
    "RPUSH big " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "LRANGE big 0 -1", "DEL l r p q m2 str one z1 z2 b2 b3 b4 big",
};

/* Sends every line of a script to both and counts differing replies. */
static size_t compare_lines(int t, int r, const char *const *lines, size_t n)
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

static void test_lists_match_redis(void **state)
{
    pair *p = *state;
    for (int resp = 2; resp <= 3; resp++) {
        int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
        if (resp == 3) {
            h_sends(t, "HELLO 3\r\n");
            h_sends(r, "HELLO 3\r\n");
            free(h_reply(t));
            free(h_reply(r));
        }
        assert_int_equal(compare_lines(t, r, list_script, sizeof list_script / sizeof list_script[0]), 0);
        h_close(t);
        h_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_resp3_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_lists_match_redis, start_both, stop_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
