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

#include "compat_pair.h"
#include "harness.h"

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

/* Switches both connections to RESP3. Only HELLO's own reply is not
 * compared: it names the server, its version and the connection's id. */
static void hello3(int t, int r)
{
    h_sends(t, "HELLO 3\r\n");
    h_sends(r, "HELLO 3\r\n");
    char *a = h_reply(t), *b = h_reply(r);
    assert_true(a && b && a[0] == '%' && b[0] == '%');
    free(a);
    free(b);
}

/* Runs the script on fresh connections in protocol 2 or 3. */
static void compare_in(int tricache_port, int redis_port, int resp)
{
    int t = h_connect(tricache_port), r = h_connect(redis_port);
    if (resp == 3) hello3(t, r);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

/* A client that switches protocol with HELLO while its writes are in
 * flight: each reply comes in the protocol in force when its command was
 * parsed, as with Redis. One send, so the writes before HELLO are still in
 * the log (on a cluster primary) when HELLO is read. */
static void compare_hello_switch(int tricache_port, int redis_port)
{
    static const char *const pipeline[] = {
        "GETDEL nokey\r\nSET k v\r\nSET k w NX\r\nHELLO 3\r\nSET k w NX\r\nGETDEL nokey\r\nGETDEL k\r\n",
        "SET k v NX\r\nGETDEL nokey\r\nHELLO 2\r\nGETDEL nokey\r\nSET k v NX\r\nGET k\r\n",
    };
    static const size_t replies[] = {7, 6}, hello_at[] = {3, 2};
    int t = h_connect(tricache_port), r = h_connect(redis_port);
    size_t mismatches = 0;
    for (size_t i = 0; i < 2; i++) {
        h_sends(t, pipeline[i]);
        h_sends(r, pipeline[i]);
        for (size_t j = 0; j < replies[i]; j++) {
            char *a = h_reply(t), *b = h_reply(r);
            assert_non_null(a);
            assert_non_null(b);
            /* HELLO's own reply names the server: not compared */
            if (j != hello_at[i] && strcmp(a, b) != 0) {
                print_error("pipeline %zu reply %zu\n  tricache: %s  redis:    %s", i, j, a, b);
                mismatches++;
            }
            free(a);
            free(b);
        }
    }
    assert_int_equal(mismatches, 0);
    h_close(t);
    h_close(r);
}

static void test_hello_between_pipelined_writes(void **state)
{
    compat_pair *p = *state;
    compare_hello_switch(p->port, p->redis_port);
}

static void test_replies_match_redis(void **state)
{
    compat_pair *p = *state;
    compare_in(p->port, p->redis_port, 2);
}

/* The same in RESP3 (nulls, maps for CONFIG GET), byte for byte as well. */
static void test_resp3_replies_match_redis(void **state)
{
    compat_pair *p = *state;
    compare_in(p->port, p->redis_port, 3);
}

/* ---- the primary of a three-node cluster ----------------------------------
 * There every write goes through the Raft log and its reply is produced
 * when the entry is applied (replication/apply.c), and reads on the primary
 * wait for a barrier: the same script must still answer exactly as Redis,
 * in both protocols. No command of the script needs an exception: those
 * that would differ for reasons of replication (ROLE, INFO replication,
 * REPLICAOF, FAILOVER) are not in it. */

static void flush_both(compat_pair *p)
{
    int ports[2] = {p->port, p->redis_port};
    for (int i = 0; i < 2; i++) {
        int fd = h_connect(ports[i]);
        h_sends(fd, "FLUSHALL\r\n");
        char *a = h_reply(fd);
        assert_string_equal(a, "+OK\r\n");
        free(a);
        h_close(fd);
    }
}

static void test_cluster_primary_matches_redis(void **state)
{
    compat_pair *p = *state;
    flush_both(p);
    compare_in(p->port, p->redis_port, 2);
}

static void test_cluster_primary_resp3_matches_redis(void **state)
{
    compat_pair *p = *state;
    flush_both(p);
    compare_in(p->port, p->redis_port, 3);
}

static void test_cluster_primary_hello_between_pipelined_writes(void **state)
{
    compat_pair *p = *state;
    flush_both(p);
    compare_hello_switch(p->port, p->redis_port);
}

/* ---- hashes and sets --------------------------------------------------------
 * A line starting with "~ " compares the reply's elements as a sorted
 * multiset, "~2 " as a sorted multiset of consecutive pairs (field, value),
 * "~S " does that for the element list of a [cursor, elements] scan reply
 * (and requires cursor 0 from both): a hashtable-encoded hash or set
 * replies in an order that depends on the server's hash function, so
 * Redis's order cannot be matched byte for byte. Small non-integer sets are
 * hashtables in Redis 7.0 too. Everything else, including every intset
 * (sorted in both) and listpack hash (insertion order in both), must match
 * exactly. */
static const char *const hash_set_script[] = {
    /* hashes, listpack */
    "HSET h a 1 b 2 c 3", "HSET h a 10", "HSET h", "HSET h a", "HSET h a 1 b", "HMSET h d 4", "HMSET h d", "HGET h a",
    "HGET h nope", "HGET nokey a", "HMGET h a nope b", "HMGET nokey a b", "HGETALL h", "HGETALL nokey", "HKEYS h",
    "HVALS h", "HKEYS nokey", "HLEN h", "HLEN nokey", "HSTRLEN h a", "HSTRLEN h nope", "HEXISTS h a",
    "HEXISTS h nope", "HSETNX h a 5", "HSETNX h e 5", "HDEL h nope", "HDEL h a b nope", "HGETALL h",
    "HINCRBY h n 5", "HINCRBY h n -10", "HINCRBY h n x", "HINCRBY h c 9223372036854775807", "HINCRBY h d 1",
    "HSET h s abc", "HINCRBY h s 1", "HSET h big 9223372036854775807", "HINCRBY h big 1",
    "HINCRBY h neg -9223372036854775808", "HINCRBY h neg -1", "HINCRBYFLOAT h fl 1.5", "HINCRBYFLOAT h fl 1e3",
    "HINCRBYFLOAT h fl abc", "HINCRBYFLOAT h fl inf", "HINCRBYFLOAT h s 1", "HINCRBYFLOAT hf fl -1e4000", "OBJECT ENCODING hf",
    "HSET h e 1.0", "HINCRBY h e 1", "HINCRBYFLOAT h e 0.25", "HINCRBYFLOAT nf f 3.0e3", "HGETALL nf",
    "HGETALL h", "OBJECT ENCODING h", "TYPE h", "HSCAN h 0", "HSCAN h 0 MATCH ?", "HSCAN h 0 COUNT 0",
    "HSCAN h 0 COUNT x", "HSCAN h x", "HSCAN h 0 BOGUS 1", "HSCAN h 0 COUNT", "HSCAN nokey 0", "HSCAN nokey 0 BOGUS",
    "HRANDFIELD nokey", "HRANDFIELD nokey 3", "HRANDFIELD nokey 3 WITHVALUES", "HRANDFIELD h 0",
    "HRANDFIELD h 100", "HRANDFIELD h 100 WITHVALUES", "HRANDFIELD h x", "HRANDFIELD h 1 WITHVALUE",
    "HRANDFIELD h 1 WITHVALUES x", "HRANDFIELD h -9223372036854775808",
    "HRANDFIELD h -4611686018427387904 WITHVALUES", "HSET one f v", "HRANDFIELD one", "HRANDFIELD one -3",
    "HRANDFIELD one -2 WITHVALUES", "HDEL one f", "EXISTS one", "HDEL nokey a",
    /* a listpack hash converts past 64-byte values and fields */
    "HSET conv f 0123456789012345678901234567890123456789012345678901234567890123", "OBJECT ENCODING conv",
    "HSET conv f 01234567890123456789012345678901234567890123456789012345678901234", "OBJECT ENCODING conv",
    "HDEL conv f", "HSET conv2 0123456789012345678901234567890123456789012345678901234567890123x v",
    "OBJECT ENCODING conv2", "~2 HGETALL conv2", "HSET conv2 a 1", "~2 HGETALL conv2", "~ HKEYS conv2",
    "~ HVALS conv2", "HGET conv2 a", "HLEN conv2",
    /* WRONGTYPE */
    "SET str x", "HSET str a 1", "HGET str a", "HMGET str a", "HGETALL str", "HDEL str a", "HLEN str",
    "HSTRLEN str a", "HEXISTS str a", "HKEYS str", "HVALS str", "HINCRBY str a 1", "HINCRBYFLOAT str a 1",
    "HSETNX str a 1", "HRANDFIELD str", "HRANDFIELD str 1", "HSCAN str 0", "HMSET str a 1", "GET h",
    "INCR h", "APPEND h x",
    /* sets: intset (sorted in both) */
    "SADD s 3 1 2", "SADD s 2 4", "SADD s", "SMEMBERS s", "SCARD s", "SCARD nokey", "SISMEMBER s 1",
    "SISMEMBER s 9", "SISMEMBER nokey 1", "SMISMEMBER s 1 9 2", "SMISMEMBER nokey 1", "OBJECT ENCODING s",
    "TYPE s", "SREM s 9", "SREM s 1 4 9", "SMEMBERS s", "SMEMBERS nokey", "SADD s -5 0 9223372036854775807",
    "SADD s -9223372036854775808", "SADD sx 1 +1 01", "OBJECT ENCODING sx", "~ SMEMBERS sx", "SMEMBERS s", "OBJECT ENCODING s", "SSCAN s 0", "SSCAN s 0 MATCH 1*",
    "SSCAN s 0 COUNT 0", "SSCAN s abc", "SSCAN nokey 0", "SSCAN s 0 TYPE set",
    "SRANDMEMBER nokey", "SRANDMEMBER nokey 5", "SRANDMEMBER s 0", "SRANDMEMBER s 100", "SRANDMEMBER s x",
    "SRANDMEMBER s 1 2", "SRANDMEMBER s -9223372036854775808", "SADD one 7", "SRANDMEMBER one", "SRANDMEMBER one -3",
    "SPOP one", "EXISTS one", "SPOP nokey", "SPOP nokey 3", "SPOP s -1", "SPOP s x", "SPOP s 0", "SPOP s 1 2",
    "SADD p 5 6 7", "SPOP p 10", "EXISTS p", "SADD p 5", "SPOP p 1", "EXISTS p",
    "SADD a 1 2 3 4", "SADD b 3 4 5", "SADD c 4 5 6", "SINTER a b", "SINTER a b c", "SINTER a nokey", "SINTER nokey",
    "SUNION a b c", "SUNION a nokey", "SDIFF a b", "SDIFF a b c", "SDIFF nokey a", "SDIFF a nokey",
    "SINTERSTORE d a b", "SMEMBERS d", "OBJECT ENCODING d", "SINTERSTORE d a nokey", "EXISTS d",
    "SUNIONSTORE d a b c", "SMEMBERS d", "SDIFFSTORE d a b", "SMEMBERS d", "SDIFFSTORE d a a", "EXISTS d",
    "SADD d x", "SINTERSTORE d d a", "SUNIONSTORE a a b", "SMEMBERS a",
    "SINTERCARD 2 a b", "SINTERCARD 3 a b c", "SINTERCARD 2 a b LIMIT 1", "SINTERCARD 2 a b LIMIT 0",
    "SINTERCARD 2 a nokey", "SINTERCARD 0 a", "SINTERCARD x a", "SINTERCARD 3 a b", "SINTERCARD 1 a LIMIT -1",
    "SINTERCARD 1 a LIMIT x", "SINTERCARD 1 a BOGUS 1", "SINTERCARD 1 a LIMIT", "SINTERCARD 1",
    "SMOVE a b 1", "SMOVE a b 1", "SMEMBERS b", "SMOVE nokey b 1", "SMOVE a a 2", "SMOVE a a 99",
    "SMOVE a newset 2", "SMEMBERS newset", "SADD single 1", "SMOVE single b 1", "EXISTS single",
    /* sets: strings (hashtable in Redis 7.0) */
    "SADD w apple banana cherry", "OBJECT ENCODING w", "~ SMEMBERS w", "SADD w apple", "SISMEMBER w banana",
    "SMISMEMBER w apple nope", "SREM w banana", "~ SMEMBERS w", "SADD mixed 1 2 x", "OBJECT ENCODING mixed",
    "~ SMEMBERS mixed", "~ SUNION mixed s", "~ SINTER mixed s", "~ SDIFF mixed a", "SUNIONSTORE m2 mixed w",
    "OBJECT ENCODING m2", "~ SMEMBERS m2", "~S SSCAN w 0", "~ SRANDMEMBER w 10", "~ SPOP w 5", "EXISTS w",
    /* WRONGTYPE */
    "SADD str a", "SREM str a", "SISMEMBER str a", "SMISMEMBER str a", "SMEMBERS str", "SCARD str", "SPOP str",
    "SPOP str 2", "SRANDMEMBER str", "SRANDMEMBER str 2", "SMOVE str s 1", "SMOVE s str 1", "SMOVE nokey str 1",
    "SINTER s str", "SINTER nokey str", "SUNION s str", "SDIFF s str", "SINTERSTORE s2 s str", "SUNIONSTORE str s",
    "TYPE str", "SINTERCARD 1 str", "SSCAN str 0", "SADD h x", "HSET s a 1", "GET s",
    /* keys of these types */
    "TYPE h", "TYPE s", "EXISTS h s nokey", "RENAME h h2", "HGETALL h2", "EXPIRE h2 100", "TTL h2",
    "PERSIST h2", "TTL h2", "RENAME s s2", "SMEMBERS s2", "EXPIRE s2 100 NX", "TTL s2", "OBJECT ENCODING s2",
    "OBJECT REFCOUNT s2", "OBJECT ENCODING h2", "DEL h2 s2 nokey", "EXISTS h2 s2", "~S SCAN 0 TYPE hash COUNT 1000",
    "SCAN 0 TYPE set COUNT 1000 MATCH nomatch",
};

static size_t next_line(const char *p) { return (size_t)(strstr(p, "\r\n") - p) + 2; }

/* Splits a reply whose top level is an aggregate (*, ~, %) of simple items
 * into one string per item ("~S": of the second element of a scan reply),
 * groups them (group 2: pairs) and sorts the groups: the canonical form
 * "header|item|item..." of the reply as a multiset. NULL if the reply is not
 * of that shape. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *canonical(const char *reply, int group, int scan)
{
    const char *p = reply;
    char head[64] = "";
    if (scan) {
        if (strncmp(p, "*2\r\n", 4) != 0) return NULL;
        p += 4;
        size_t n = next_line(p);
        n += next_line(p + n); /* the cursor: $len line and data line */
        snprintf(head, sizeof head, "%.*s", (int)n, p);
        if (strcmp(head, "$1\r\n0\r\n") != 0) return NULL; /* complete in one call */
        p += n;
    }
    if (*p != '*' && *p != '~' && *p != '%') return NULL;
    long n = strtol(p + 1, NULL, 10) * (*p == '%' ? 2 : 1);
    size_t hl = next_line(p);
    snprintf(head + strlen(head), sizeof head - strlen(head), "%.*s", (int)hl, p);
    p += hl;
    char **items = calloc((size_t)n + 1, sizeof *items);
    for (long i = 0; i < n; i++) {
        size_t len = next_line(p);
        if (*p == '$') len += next_line(p + len);
        if (group == 2 && i % 2 == 1) { /* glue a pair's second item to its first */
            size_t a = strlen(items[i - 1]);
            items[i - 1] = realloc(items[i - 1], a + len + 1);
            memcpy(items[i - 1] + a, p, len);
            items[i - 1][a + len] = 0;
        } else {
            items[i] = strndup(p, len);
        }
        p += len;
    }
    size_t groups = 0;
    for (long i = 0; i < n; i++)
        if (items[i]) items[groups++] = items[i];
    qsort(items, groups, sizeof *items, cmp_str);
    size_t total = strlen(head) + 1;
    for (size_t i = 0; i < groups; i++) total += strlen(items[i]) + 1;
    char *out = malloc(total);
    strcpy(out, head);
    for (size_t i = 0; i < groups; i++) {
        strcat(out, "|");
        strcat(out, items[i]);
        free(items[i]);
    }
    free(items);
    return out;
}

static size_t compare_lines(int t, int r, const char *const *lines, size_t count)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < count; i++) {
        const char *cmd = lines[i];
        int group = 0, scan = 0;
        if (strncmp(cmd, "~2 ", 3) == 0) group = 2, cmd += 3;
        else if (strncmp(cmd, "~S ", 3) == 0) group = 1, scan = 1, cmd += 3;
        else if (strncmp(cmd, "~ ", 2) == 0) group = 1, cmd += 2;
        /* sent as it is, whatever its length (an inline command) */
        h_sends(t, cmd);
        h_sends(t, "\r\n");
        h_sends(r, cmd);
        h_sends(r, "\r\n");
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (group) {
            char *ca = canonical(a, group, scan), *cb = canonical(b, group, scan);
            if (!ca || !cb) print_error("%s: not a reply of the expected shape:\n%s\n%s\n", lines[i], a, b);
            assert_non_null(ca);
            assert_non_null(cb);
            free(a);
            free(b);
            a = ca;
            b = cb;
        }
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s\n", lines[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

/* A script sent to both servers, once in RESP2 and once in RESP3 (fresh
 * connections each), every reply compared byte for byte. */
static void compare_script(int tport, int rport, const char *const *lines, size_t count)
{
    for (int resp = 2; resp <= 3; resp++) {
        int t = h_connect(tport), r = h_connect(rport);
        if (resp == 3) hello3(t, r);
        assert_int_equal(compare_lines(t, r, lines, count), 0);
        h_close(t);
        h_close(r);
    }
}

/* A hash and sets past every conversion threshold, built the same way on
 * both servers (their replies compared too). */
static size_t fill_big(int t, int r)
{
    char cmd[128];
    size_t mismatches = 0;
    const char *lines[1];
    lines[0] = cmd;
    for (int i = 0; i < 600; i++) {
        /* bigint: intset up to 512 members, then hashtable (both sorted
         * until then, compared exactly); bigstr: listpack-like to 128 then
         * hashtable; bighash: listpack to 512 fields, then hashtable. */
        snprintf(cmd, sizeof cmd, "SADD bigint %d", i * 7 - 1000);
        mismatches += compare_lines(t, r, lines, 1);
        snprintf(cmd, sizeof cmd, "SADD bigstr m%d", i);
        mismatches += compare_lines(t, r, lines, 1);
        snprintf(cmd, sizeof cmd, "HSET bighash f%d %d", i, i);
        mismatches += compare_lines(t, r, lines, 1);
        if (i == 511 || i == 512 || i == 127 || i == 128) {
            static const char *const enc[] = {"OBJECT ENCODING bigint", "OBJECT ENCODING bigstr",
                                              "OBJECT ENCODING bighash", "SMEMBERS bigint"};
            mismatches += compare_lines(t, r, enc, i == 511 ? 4 : 3);
        }
    }
    static const char *const after[] = {
        "~ SMEMBERS bigint", "~ SMEMBERS bigstr", "~2 HGETALL bighash", "SCARD bigint", "SCARD bigstr",
        "HLEN bighash", "SREM bigint -1000", "SISMEMBER bigint -1000", "SISMEMBER bigint -993", "HGET bighash f599",
        "HDEL bighash f0 f1", "HLEN bighash", "OBJECT ENCODING bighash", "~ SPOP bigint 1000", "EXISTS bigint",
        "~ SINTER bigstr bigstr", "SINTERCARD 2 bigstr bigstr LIMIT 10", "SRANDMEMBER bigstr 0",
        "SDIFFSTORE dd bigstr bigstr", "EXISTS dd", "~ SUNION bigstr", "HRANDFIELD bighash 0",
    };
    mismatches += compare_lines(t, r, after, sizeof after / sizeof after[0]);
    return mismatches;
}

static void hash_set_compat(void **state, int resp3)
{
    compat_pair *p = *state;
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    if (resp3) {
        h_sends(t, "HELLO 3\r\n");
        h_sends(r, "HELLO 3\r\n");
        free(h_reply(t));
        free(h_reply(r));
    }
    size_t n = compare_lines(t, r, hash_set_script, sizeof hash_set_script / sizeof hash_set_script[0]);
    n += fill_big(t, r);
    assert_int_equal(n, 0);
    h_close(t);
    h_close(r);
}

static void test_hash_set_replies_match_redis(void **state) { hash_set_compat(state, 0); }
static void test_hash_set_resp3_replies_match_redis(void **state) { hash_set_compat(state, 1); }

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

static void test_lists_match_redis(void **state)
{
    compat_pair *p = *state;
    compare_script(p->port, p->redis_port, list_script, sizeof list_script / sizeof list_script[0]);
}


/* ---- CONFIG: every parameter of Redis 7.0 ---------------------------------- */

/* Sends one command as a RESP array (arguments may hold any byte). */
static void send_cmd(int fd, size_t argc, const char *const *argv)
{
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", argc);
    h_sends(fd, head);
    for (size_t i = 0; i < argc; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(argv[i]));
        h_sends(fd, head);
        h_sends(fd, argv[i]);
        h_sends(fd, "\r\n");
    }
}

static char *ask(int fd, size_t argc, const char *const *argv)
{
    send_cmd(fd, argc, argv);
    char *r = h_reply(fd);
    assert_non_null(r);
    return r;
}

/* The bulk strings of a RESP2 array reply (malloc'd, *n of them), or NULL
 * if the reply is not such an array. */
static char **bulks(const char *reply, size_t *n)
{
    char *end;
    if (reply[0] != '*') return NULL;
    long count = strtol(reply + 1, &end, 10);
    const char *p = end + 2;
    char **v = calloc((size_t)count + 1, sizeof *v);
    for (long i = 0; i < count; i++) {
        if (*p != '$') {
            while (i > 0) free(v[--i]);
            free(v);
            return NULL;
        }
        long len = strtol(p + 1, &end, 10);
        v[i] = strndup(end + 2, (size_t)len);
        p = end + 2 + len + 2;
    }
    *n = (size_t)count;
    return v;
}

static void free_bulks(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Parameters bound to the node, where tricache's answer is its own (the
 * table in node/config_redis.c says why): CONFIG SET of Redis's value is
 * refused (port) or the value read back differs. */
static int node_bound(const char *name)
{
    /* enable-debug-command: "local" by default here (enable_debug_command), Redis's is "no" */
    return strcmp(name, "port") == 0 || strcmp(name, "dir") == 0 || strcmp(name, "databases") == 0 ||
           strcmp(name, "enable-debug-command") == 0;
}

/* Every name redis-server lists in CONFIG GET * is answered by tricache's
 * CONFIG GET <name> with one pair; CONFIG SET <name> <Redis's value> gets
 * the same reply from both (+OK, or the same refusal where Redis refuses
 * it: immutable, protected), and both then read back the same value. */
static void test_config_parameters_match_redis(void **state)
{
    compat_pair *p = *state;
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    const char *all[] = {"CONFIG", "GET", "*"};
    char *reply = ask(r, 3, all);
    size_t n;
    char **kv = bulks(reply, &n);
    free(reply);
    assert_non_null(kv);
    assert_true(n >= 2 * 150); /* Redis 7.0 has about 190 */
    size_t mismatches = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *name = kv[i], *value = kv[i + 1];
        const char *get[] = {"CONFIG", "GET", name}, *set[] = {"CONFIG", "SET", name, value};
        char *a = ask(t, 3, get);
        size_t m;
        char **got = bulks(a, &m);
        if (!got || m != 2 || strcmp(got[0], name) != 0) {
            print_error("CONFIG GET %s\n  tricache: %s", name, a);
            mismatches++;
            free(a);
            if (got) free_bulks(got, m);
            continue;
        }
        free(a);
        free_bulks(got, m);
        char *rs = ask(r, 4, set), *ts = ask(t, 4, set);
        if (strcmp(rs, ts) != 0 && !(strcmp(name, "port") == 0 && ts[0] == '-')) {
            print_error("CONFIG SET %s \"%s\"\n  tricache: %s  redis:    %s", name, value, ts, rs);
            mismatches++;
        }
        free(rs);
        free(ts);
        char *rg = ask(r, 3, get), *tg = ask(t, 3, get);
        if (strcmp(rg, tg) != 0 && !node_bound(name)) {
            print_error("CONFIG GET %s after SET\n  tricache: %s  redis:    %s", name, tg, rg);
            mismatches++;
        }
        free(rg);
        free(tg);
    }
    free_bulks(kv, n);
    /* bad values, several pairs, unknown names: the same replies */
    static const char *const lines[] = {
        "CONFIG SET no-such-parameter 1", "CONFIG SET activerehashing 1", "CONFIG SET hash-max-listpack-entries +1",
        "CONFIG SET hash-max-ziplist-entries -1", "CONFIG SET maxmemory 1t", "CONFIG SET maxmemory 1k",
        "CONFIG GET maxmemory", "CONFIG SET maxmemory 2GB", "CONFIG GET maxmemory", "CONFIG SET maxmemory-clients 101%",
        "CONFIG SET maxmemory-policy lru", "CONFIG SET maxmemory-policy ALLKEYS-LFU", "CONFIG GET maxmemory-policy",
        "CONFIG SET notify-keyspace-events Q", "CONFIG SET notify-keyspace-events KEA",
        "CONFIG GET notify-keyspace-events", "CONFIG SET save \"1 2 3\"", "CONFIG SET save \"+5 01\"",
        "CONFIG GET save", "CONFIG SET client-output-buffer-limit \"normal 0 0\"",
        "CONFIG SET client-output-buffer-limit \"pubsub 1mb 2mb 3\"", "CONFIG GET client-output-buffer-limit",
        "CONFIG SET latency-tracking-info-percentiles 101", "CONFIG SET latency-tracking-info-percentiles \"50.0 1e-5\"",
        "CONFIG GET latency-tracking-info-percentiles", "CONFIG SET oom-score-adj-values \"0 200\"",
        "CONFIG SET shutdown-on-sigint \"save nosave\"", "CONFIG SET proc-title-template {bogus}",
        "CONFIG SET cluster-announce-hostname a_b", "CONFIG SET list-max-listpack-size -2147483649",
        "CONFIG SET loglevel nothing", "CONFIG SET hz abc daemonize no", "CONFIG SET hz 10 HZ 11",
        "CONFIG SET daemonize no nosuch 1", "CONFIG SET save \"10 1\" appendonly maybe", "CONFIG GET save",
        "CONFIG SET slave-priority 5 replica-priority 6", "CONFIG GET replica-priority", "CONFIG SET hz 1 x",
        "CONFIG SET hz", "CONFIG GET", "CONFIG GET Lua-Time-Limit", "CONFIG SET dir /tmp", "CONFIG SET databases 16",
        "CONFIG SET active-expire-effort 0", "CONFIG SET active-expire-effort 11", "CONFIG SET active-expire-effort x",
        "CONFIG SET active-expire-effort 7", "CONFIG GET active-expire-effort", "CONFIG SET active-expire-effort 1",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\r\n", lines[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_true(a && b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", lines[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    assert_int_equal(mismatches, 0);
    h_close(t);
    h_close(r);
}


/* Sorted sets: every command of the family, small (listpack) and large
 * (past 128 members) sets, bounds, LIMIT, inf, NaN, WRONGTYPE. */
static const char *const zset_script[] = {
    /* the blocking pops, where they need not wait (or time out at once) */
    "ZADD bz 1 a 2 b", "BZPOPMIN bz 0", "BZPOPMAX bz 0", "BZPOPMIN nokey 0.01", "ZADD bz 3 c 4 d",
    "BZMPOP 0.01 1 bz MIN COUNT 5", "BZMPOP 0.01 1 bz MIN", "BZPOPMIN bz x", "BZPOPMIN bz -1", "BZMPOP 0 0 bz MIN",
    "BZMPOP 0 1 bz BOTH", "BZMPOP 0 1 bz MIN COUNT 0", "SET bzs x", "BZPOPMIN bzs 0", "BZMPOP 0 1 bzs MAX", "DEL bzs",
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

static void zset_both(int t, int r, const char *line)
{
    h_sends(t, line);
    h_sends(r, line);
    free(h_reply(t));
    free(h_reply(r));
}

static void zset_compare(compat_pair *p, int resp3)
{
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    if (resp3) zset_both(t, r, "HELLO 3\r\n");
    assert_int_equal(compare_lines(t, r, zset_script, sizeof zset_script / sizeof zset_script[0]), 0);
    /* 200 members m0..m199 scored 0..199 (big) and 300 of score 0 (lexbig) */
    char cmd[8192];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "ZADD big");
    for (int i = 0; i < 200; i++) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %d m%d", i, i);
    snprintf(cmd + n, sizeof cmd - n, "\r\n");
    zset_both(t, r, cmd);
    for (int i = 0; i < 300; i++) {
        snprintf(cmd, sizeof cmd, "ZADD lexbig 0 m%d\r\n", i);
        zset_both(t, r, cmd);
    }
    assert_int_equal(compare_lines(t, r, zset_big_script, sizeof zset_big_script / sizeof zset_big_script[0]), 0);
    h_close(t);
    h_close(r);
}

static void test_zset_replies_match_redis(void **state) { zset_compare(*state, 0); }
static void test_zset_resp3_replies_match_redis(void **state) { zset_compare(*state, 1); }

/* ---- transactions (node/multi.c) ------------------------------------------ */

/* One connection: queuing, EXECABORT, runtime errors inside EXEC, nesting,
 * WATCH by the client's own writes, FLUSHALL, expiry and UNWATCH. */
static const char *const multi_script[] = {
    "FLUSHALL", "EXEC", "DISCARD", "MULTI", "MULTI", "WATCH a", "SET a 1", "INCR a", "GET a", "EXEC", "GET a",
    "MULTI", "SET a 1", "NOSUCHCMD x", "EXEC", "MULTI", "SET a 2", "INCR a b", "EXEC", "GET a", "MULTI", "SET s x",
    "LPUSH s y", "INCR s", "BLPOP nolist 0", "GET s", "EXEC", "MULTI", "EXEC", "MULTI", "PING", "ECHO hi",
    "DISCARD", "EXEC", "WATCH a", "SET a 5", "MULTI", "GET a", "EXEC", "WATCH a", "GET a", "MULTI", "INCR a",
    "EXEC", "WATCH a", "UNWATCH", "SET a 9", "MULTI", "GET a", "EXEC", "SET k v", "WATCH k", "FLUSHALL", "MULTI",
    "GET k", "EXEC", "WATCH e b c", "MULTI", "GET e", "EXEC", "WATCH", "UNWATCH x", "MULTI x", "EXEC x", "MULTI", "HSET h f v", "SADD st m",
    "HGETALL h", "SMEMBERS st", "EXEC", "MULTI", "EXEC x", "GET a", "EXEC",
};

static void multi_compat(int tport, int rport)
{
    compare_script(tport, rport, multi_script, sizeof multi_script / sizeof multi_script[0]);
}

static void test_transactions_match_redis(void **state)
{
    compat_pair *p = *state;
    multi_compat(p->port, p->redis_port);
}

static void test_cluster_primary_transactions_match_redis(void **state)
{
    compat_pair *p = *state;
    flush_both(p);
    multi_compat(p->port, p->redis_port);
}

/* RESET, as connection pools send it: a transaction, a name, RESP3 and a
 * subscription undone, compared byte for byte. */
static const char *const reset_script[] = {
    "HELLO 3", "CLIENT SETNAME pooled", "MULTI", "SET reset-key 1", "RESET", "CLIENT GETNAME", "EXEC",
    "GET reset-key", "SUBSCRIBE reset-channel", "RESET", "PING", "RESET x",
};

static void test_reset_matches_redis(void **state)
{
    compat_pair *p = *state;
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    /* HELLO's own reply names the server: sent first, not compared */
    h_sends(t, "HELLO 3\r\n");
    h_sends(r, "HELLO 3\r\n");
    free(h_reply(t));
    free(h_reply(r));
    assert_int_equal(compare_lines(t, r, reset_script + 1, sizeof reset_script / sizeof reset_script[0] - 1), 0);
    h_close(t);
    h_close(r);
}

/* ---- bits and HyperLogLog (node/t_bitops.c, t_hll.c): randomized ---------- */

static uint64_t bits_rng = 88172645463325252ull;
static uint64_t bits_next(uint64_t below)
{
    bits_rng ^= bits_rng << 13;
    bits_rng ^= bits_rng >> 7;
    bits_rng ^= bits_rng << 17;
    return bits_rng % below;
}

/* One random bit command on keys k0..k3 (k4 never written), as a line. */
static void random_bit_command(char *out, size_t cap)
{
    int k = (int)bits_next(4);
    size_t n = 0;
    switch (bits_next(5)) {
    case 0: snprintf(out, cap, "SETBIT k%d %d %d", k, (int)bits_next(300), (int)bits_next(2)); return;
    case 1:
        n = (size_t)snprintf(out, cap, "BITCOUNT k%d %d %d", k, (int)bits_next(120) - 60, (int)bits_next(120) - 60);
        if (bits_next(2)) snprintf(out + n, cap - n, " %s", bits_next(2) ? "BIT" : "BYTE");
        return;
    case 2:
        n = (size_t)snprintf(out, cap, "BITPOS k%d %d %d", k, (int)bits_next(2), (int)bits_next(120) - 60);
        if (bits_next(3)) n += (size_t)snprintf(out + n, cap - n, " %d", (int)bits_next(120) - 60);
        else return;
        if (bits_next(2)) snprintf(out + n, cap - n, " %s", bits_next(2) ? "BIT" : "BYTE");
        return;
    case 3: {
        static const char *const ops[] = {"AND", "OR", "XOR", "NOT"};
        int op = (int)bits_next(4);
        n = (size_t)snprintf(out, cap, "BITOP %s k%d k%d", ops[op], k, (int)bits_next(5));
        for (int i = op == 3 ? 0 : (int)bits_next(3); i > 0; i--)
            n += (size_t)snprintf(out + n, cap - n, " k%d", (int)bits_next(5));
        return;
    }
    default:
        n = (size_t)snprintf(out, cap, "BITFIELD k%d", k);
        for (int i = 1 + (int)bits_next(4); i > 0; i--) {
            static const char *const ow[] = {"WRAP", "SAT", "FAIL"};
            char sign = bits_next(2) ? 'i' : 'u';
            int width = 1 + (int)bits_next(sign == 'i' ? 64 : 63);
            char off[24];
            if (bits_next(2)) snprintf(off, sizeof off, "%d", (int)bits_next(200));
            else snprintf(off, sizeof off, "#%d", (int)bits_next(10));
            long long v = bits_next(2) ? (long long)bits_next(600) - 300 : (long long)bits_rng;
            switch (bits_next(4)) {
            case 0: n += (size_t)snprintf(out + n, cap - n, " OVERFLOW %s", ow[bits_next(3)]); break;
            case 1: n += (size_t)snprintf(out + n, cap - n, " GET %c%d %s", sign, width, off); break;
            case 2: n += (size_t)snprintf(out + n, cap - n, " SET %c%d %s %lld", sign, width, off, v); break;
            default: n += (size_t)snprintf(out + n, cap - n, " INCRBY %c%d %s %lld", sign, width, off, v); break;
            }
        }
        return;
    }
}

static void test_bits_and_hll_match_redis(void **state)
{
    compat_pair *p = *state;
    static const char *const fixed[] = {
        "FLUSHALL", "SETBIT b 7 1", "SETBIT b -1 1", "SETBIT b 4294967296 1", "SETBIT b 1 2", "GETBIT b 7",
        "GETBIT b x", "BITCOUNT b 0", "BITCOUNT b 0 1 WORD", "BITPOS b 2", "BITPOS nope 1 x", "BITOP NOT d b b",
        "BITOP NAND d b", "BITFIELD b GET u64 0", "BITFIELD b OVERFLOW MAYBE", "BITFIELD b GET u8",
        "BITFIELD_RO b GET u8 0 SET u8 0 1", "BITFIELD_RO b GET i4 4", "SET x1 ohmytext", "SET x2 mynewtext",
        "LCS x1 x2", "LCS x1 x2 LEN", "LCS x1 x2 IDX", "LCS x1 x2 IDX MINMATCHLEN 4 WITHMATCHLEN", "LCS x1 x2 LEN IDX",
        "LCS x1 x2 BOGUS", "SUBSTR x1 -3 -1", "SUBSTR x1 5 2", "GETRANGE x1 -1 -5", "GETRANGE x1 0 -100",
        "COPY x1 y1", "COPY x1 y1", "COPY x2 y1 REPLACE", "GET y1", "COPY x1 x1", "COPY nope y", "COPY x1 y1 DB 0 REPLACE",
        "COPY x1 y1 DB 99999", "COPY x1 y1 DB x", "COPY x1 y1 BOGUS", "RPUSH l a b", "COPY l l2", "LRANGE l2 0 -1",
        "PFADD h a b c", "PFADD h a", "PFADD h9", "PFCOUNT h9", "PFCOUNT h nope", "PFMERGE h3 h h9", "PFCOUNT h3",
        "PFADD x1 a", "PFCOUNT l", "PFMERGE h3 x1", "TYPE h",
    };
    char line[4096];
    const char *lines[1] = {line};
    for (int resp = 2; resp <= 3; resp++) {
        int t = h_connect(p->port), r = h_connect(p->redis_port);
        if (resp == 3) {
            h_sends(t, "HELLO 3\r\n");
            h_sends(r, "HELLO 3\r\n");
            free(h_reply(t));
            free(h_reply(r));
        }
        size_t bad = compare_lines(t, r, fixed, sizeof fixed / sizeof fixed[0]);
        for (int i = 0; i < 1500; i++) {
            random_bit_command(line, sizeof line);
            bad += compare_lines(t, r, lines, 1);
        }
        /* cardinalities: random elements in batches (an inline line stays under
         * compare_lines's 1024 bytes), counted as they grow */
        for (int i = 0; i < 300; i++) {
            int key = (int)bits_next(5);
            size_t n = (size_t)snprintf(line, sizeof line, "PFADD hll%d", key);
            for (int j = 0; j < 60; j++) n += (size_t)snprintf(line + n, sizeof line - n, " %llx", (unsigned long long)bits_next(1ull << (8 + i % 40)));
            bad += compare_lines(t, r, lines, 1);
            snprintf(line, sizeof line, "PFCOUNT hll%d", key);
            bad += compare_lines(t, r, lines, 1);
            if (i % 10 == 0) {
                snprintf(line, sizeof line, "PFMERGE hm hll%d hll%d", key, (int)bits_next(5));
                bad += compare_lines(t, r, lines, 1);
                snprintf(line, sizeof line, "PFCOUNT hm hll0 hll1 hll2 hll3 hll4");
                bad += compare_lines(t, r, lines, 1);
            }
        }
        assert_int_equal(bad, 0);
        h_close(t);
        h_close(r);
    }
}

/* Size limits: with proto-max-bulk-len at 1mb (Redis's smallest) on both,
 * a command that would grow a string past it gets Redis's error and changes
 * nothing; what stays within it (up to the byte) works. BITFIELD checks the
 * offset, not the field's end, as Redis does. */
static const char *const limits_script[] = {
    "CONFIG SET proto-max-bulk-len 1mb", "CONFIG GET proto-max-bulk-len",
    "SETRANGE k 1048575 x", "STRLEN k", "APPEND k y", "STRLEN k", "GETRANGE k 1048574 -1",
    "SETRANGE k 1048576 x", "SETRANGE k 1048575 yz", "GETRANGE k 1048574 -1", "STRLEN k",
    "SETRANGE e 1048576 \"\"", "EXISTS e", "SET s abc", "SETRANGE s 1048576 \"\"", "GET s",
    "SETRANGE s 2000000 x", "APPEND s xyz", "GET s",
    "SETBIT b 8388608 1", "EXISTS b", "SETBIT b 8388607 1", "STRLEN b", "GETBIT b 8388608",
    "BITFIELD bf SET u8 8388608 1", "EXISTS bf", "BITFIELD bf SET u8 #1048576 1", "EXISTS bf",
    "BITFIELD bf SET u8 #1048575 1", "STRLEN bf", "BITFIELD bf SET i64 8388600 1", "STRLEN bf",
    "BITFIELD b2 SET i64 #131072 1", "EXISTS b2", "BITFIELD b2 SET i64 #131071 1 INCRBY u8 8388608 1", "EXISTS b2",
    "BITFIELD_RO b GET u8 8388608", "BITFIELD b INCRBY u8 8388608 1",
    "BITOP OR dest k b", "STRLEN dest", "LCS k b", "SET n 1", "INCRBYFLOAT n 0.5",
    "RPUSH l a", "LSET l 0 b", "LINSERT l BEFORE b c", "LRANGE l 0 -1", "HSET h f v", "ZADD z 1 m",
    "CONFIG SET proto-max-bulk-len 512mb",
};

static void test_size_limits_match_redis(void **state)
{
    compat_pair *p = *state;
    for (int resp = 2; resp <= 3; resp++) {
        int t = h_connect(p->port), r = h_connect(p->redis_port);
        if (resp == 3) hello3(t, r);
        assert_int_equal(compare_lines(t, r, limits_script, sizeof limits_script / sizeof limits_script[0]), 0);
        h_sends(t, "FLUSHALL\r\n");
        h_sends(r, "FLUSHALL\r\n");
        free(h_reply(t));
        free(h_reply(r));
        h_close(t);
        h_close(r);
    }
}

/* Keyspace notifications: a subscriber on each server (pattern __key*__:*)
 * while a writer runs the same commands; the messages the subscriber gets,
 * in order, must be byte-identical (RESP2 arrays, RESP3 pushes). Replies
 * to the writer are compared as well. Nothing here depends on timing: the
 * only expiry is a deadline already past. */
static const char *const notify_script[] = {
    "SET k v", "SET k v2 EX 100", "SETNX k x", "SETNX k2 x", "SETEX k3 10 v", "PSETEX k3 10000 v", "MSET a 1 b 2",
    "MSETNX c 1 d 2", "MSETNX c 1 e 2", "GETSET a 9", "GETDEL b", "GETEX a EX 100", "GETEX a PERSIST",
    "GETEX a PERSIST", "GETEX a PXAT 1", "SET k v NX", "SET k v KEEPTTL", "SET k v GET", "INCR n",
    "INCRBY n 5", "DECR n", "DECRBY n 2", "INCRBYFLOAT f 1.5", "APPEND s abc", "APPEND s2 \"\"", "SETRANGE s 1 zz",
    "SETRANGE s3 0 \"\"", "SETBIT bits 3 1", "BITOP OR bo bits bits", "BITOP AND bo nope", "BITFIELD bf SET u8 0 5",
    "BITFIELD bf GET u8 0", "PFADD hll a", "PFADD hll a", "PFMERGE hll2 hll", "DEL a zz c", "UNLINK d",
    "RENAME k k9", "RENAME k9 k9", "SET k8 x", "RENAME k9 k8", "RENAMENX k8 k10", "EXPIRE k10 100",
    "EXPIRE k10 50 NX", "PEXPIRE k10 100000 XX", "EXPIREAT k10 99999999999", "PERSIST k10", "PERSIST k10",
    "EXPIRE k10 -1", "COPY s s2", "COPY s s2 REPLACE", "COPY s s2", "LPUSH l a b c", "RPUSH l d", "LPUSHX l e",
    "RPUSHX nol e", "LINSERT l BEFORE a x", "LINSERT l BEFORE nope x", "LSET l 0 y", "LREM l 1 x", "LREM l 1 nope",
    "LTRIM l 0 3", "LPOP l", "RPOP l", "LPOP l 0", "LMOVE l l2 LEFT RIGHT", "RPOPLPUSH l l2", "LMOVE l2 l2 LEFT LEFT",
    "LMPOP 1 l2 LEFT COUNT 5", "BLPOP l 0.01", "RPUSH bl a", "BLPOP bl 0.01", "SADD st a b c", "SADD st a",
    "SREM st a nope", "SREM st nope", "SMOVE st st2 c", "SMOVE st st2 nope", "SADD one a", "SPOP one",
    "SADD x1 1 2", "SADD x2 2 3", "SINTERSTORE d1 x1 x2", "SUNIONSTORE d2 x1 x2", "SDIFFSTORE d3 x1 x1",
    "SDIFFSTORE d1 x1 x1", "HSET h a 1 b 2", "HSETNX h c 3", "HSETNX h c 4", "HMSET h d 4", "HDEL h a nope",
    "HINCRBY h b 3", "HINCRBYFLOAT h b 1.5", "HDEL h b c d", "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZADD z NX 5 a",
    "ZADD z INCR 1 a", "ZINCRBY z 5 a", "ZREM z b nope", "ZADD z 4 d 5 e", "ZPOPMIN z", "ZPOPMAX z",
    "ZPOPMIN z 0", "ZREMRANGEBYSCORE z 0 1", "ZADD z 1 a 2 b", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYLEX z - +",
    "ZADD z1 1 a", "ZADD z2 2 a", "ZUNIONSTORE zu 2 z1 z2", "ZINTERSTORE zi 2 z1 z2", "ZDIFFSTORE zd 1 z1",
    "ZDIFFSTORE zd 2 z1 z1", "ZRANGESTORE zr z1 0 -1", "ZRANGESTORE zr z1 5 6", "ZMPOP 1 z1 MIN", "ZADD bz 1 a",
    "BZPOPMIN bz 0.01", "MULTI", "SET m1 1", "INCR m1", "DEL m1", "EXEC", "SET t 1", "TYPE t", "FLUSHALL",
};

/* Key misses (class m): reads of absent keys, and the writes Redis lets
 * read their sources (COPY, the STORE commands, BITOP, PFMERGE, GETDEL,
 * GETEX, GETSET, SET GET); other writes and OBJECT/MEMORY say nothing. */
static const char *const keymiss_script[] = {
    "SET a 1", "SADD s x", "ZADD z 1 m", "HSET h f v", "RPUSH l a", "PFADD hl a", "GET n", "EXISTS n a", "HGET n f",
    "GET a", "LRANGE n 0 1", "TYPE n", "TTL n", "PTTL a", "MGET x y a", "STRLEN n", "GETRANGE n 0 1", "GETBIT n 1",
    "BITCOUNT n", "BITPOS n 1", "LCS a n", "TOUCH n a", "OBJECT ENCODING n", "MEMORY USAGE n", "HGETALL n",
    "HMGET n a", "HEXISTS n a", "HLEN n", "HKEYS n", "HRANDFIELD n", "HSCAN n 0", "HSTRLEN n f", "SMEMBERS n",
    "SISMEMBER n a", "SMISMEMBER n a", "SCARD n", "SRANDMEMBER n", "SINTER s n", "SUNION n s", "SDIFF s n",
    "SINTERCARD 2 s n", "SSCAN n 0", "LLEN n", "LINDEX n 0", "LPOS n a", "ZSCORE n a", "ZMSCORE n a", "ZCARD n",
    "ZCOUNT n 0 1", "ZRANGE n 0 -1", "ZRANGEBYSCORE n 0 1", "ZRANK n a", "ZRANDMEMBER n", "ZSCAN n 0",
    "ZUNION 2 z n", "ZINTER 2 n z", "ZDIFF 2 z n", "ZINTERCARD 2 z n", "ZLEXCOUNT n - +", "PFCOUNT n hl",
    "BITFIELD_RO n GET u8 0", "EXPIRETIME n", "KEYS nomatch*", "SCAN 0 MATCH nomatch*", "DBSIZE", "SINTERSTORE d s n",
    "SUNIONSTORE d n m", "SDIFFSTORE d s n", "ZUNIONSTORE d 2 z n", "ZINTERSTORE d 2 n z", "ZDIFFSTORE d 2 z n",
    "ZRANGESTORE d n 0 1", "ZRANGESTORE d z 0 1", "BITOP OR d n a", "PFMERGE nd n hl", "COPY a nc", "COPY nope nc",
    "RENAME a ra", "SMOVE s ns x", "LMOVE l nl2 LEFT LEFT", "GETDEL n", "GETEX n", "GETSET gs 1", "SET sg 1 GET",
    "SET sg2 1 NX GET", "APPEND ap x", "INCR ic", "HSETNX hs a 1", "SPOP nsp", "LPOP nlp", "RPOPLPUSH nr x",
    "ZADD nz XX 1 a", "PFADD npf", "SETBIT nsb 1 1", "BITFIELD nbf GET u8 0", "SETRANGE nsr 0 a",
    "LINSERT nli BEFORE a b", "LREM nlr 1 a", "LTRIM nlt 0 1", "HDEL nhd a", "ZREM nzr a", "SREM nsr2 a",
    "EXPIRE nex 10", "PERSIST npe", "ZPOPMIN nzp", "ZINCRBY nzi 1 a", "LSET nls 0 a", "BLPOP nbl 0.01",
    "LMPOP 1 nlm LEFT", "ZMPOP 1 nzm MIN", "HINCRBY nhi a 1", "DEL nothing", "WATCH nothing", "UNWATCH",
    "MULTI", "GET n", "EXEC", "FLUSHALL",
};

/* Runs a script on one server with a subscriber in resp and returns
 * everything the subscriber received up to the end marker (malloc'd); the
 * writer's replies are appended to *replies. */
static char *notify_trace(int port, int resp, const char *classes, const char *const *script, size_t nscript,
                          char **replies)
{
    int sub = h_connect(port), w = h_connect(port);
    char *a;
    if (resp == 3) {
        h_sends(sub, "HELLO 3\r\n");
        free(h_reply(sub));
    }
    h_sends(w, "FLUSHALL\r\n");
    free(h_reply(w));
    char line[128];
    snprintf(line, sizeof line, "CONFIG SET notify-keyspace-events %s\r\n", classes);
    h_sends(w, line);
    a = h_reply(w);
    assert_string_equal(a, "+OK\r\n");
    free(a);
    h_sends(sub, "PSUBSCRIBE __key*__:*\r\n");
    free(h_reply(sub));
    h_sends(sub, "SUBSCRIBE end-of-script\r\n");
    free(h_reply(sub));
    size_t rlen = *replies ? strlen(*replies) : 0;
    for (size_t i = 0; i < nscript; i++) {
        h_sends(w, script[i]);
        h_sends(w, "\r\n");
        a = h_reply(w);
        assert_non_null(a);
        size_t alen = strlen(a);
        *replies = realloc(*replies, rlen + alen + 1);
        memcpy(*replies + rlen, a, alen + 1);
        rlen += alen;
        free(a);
    }
    h_sends(w, "PUBLISH end-of-script done\r\n");
    free(h_reply(w));
    char *trace = NULL;
    size_t tlen = 0;
    for (;;) {
        a = h_reply(sub);
        assert_non_null(a);
        if (strstr(a, "end-of-script")) {
            free(a);
            break;
        }
        size_t alen = strlen(a);
        trace = realloc(trace, tlen + alen + 1);
        memcpy(trace + tlen, a, alen + 1);
        tlen += alen;
        free(a);
    }
    h_sends(w, "CONFIG SET notify-keyspace-events \"\"\r\n");
    free(h_reply(w));
    h_close(sub);
    h_close(w);
    return trace ? trace : strdup("");
}

static void notify_compat(int tport, int rport)
{
    /* every class with both channels; then only some, as caches use them */
    static const char *const classes[] = {"KEA", "AKEn", "Egx", "Kgl", "E$", "KEm", "Em"};
    for (int resp = 2; resp <= 3; resp++) {
        for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
            /* key misses have their own script */
            int misses = strchr(classes[i], 'm') != NULL;
            const char *const *script = misses ? keymiss_script : notify_script;
            size_t n = misses ? sizeof keymiss_script / sizeof keymiss_script[0]
                              : sizeof notify_script / sizeof notify_script[0];
            char *tr = NULL, *rr = NULL;
            char *t = notify_trace(tport, resp, classes[i], script, n, &tr);
            char *r = notify_trace(rport, resp, classes[i], script, n, &rr);
            if (strcmp(t, r) != 0) { /* where they part, with some context */
                size_t at = 0;
                while (t[at] && t[at] == r[at]) at++;
                size_t from = at > 400 ? at - 400 : 0;
                print_error("RESP%d, notify-keyspace-events %s, from byte %zu:\n  tricache: %.600s\n  redis:    %.600s\n",
                            resp, classes[i], from, t + from, r + from);
            }
            assert_string_equal(t, r);
            assert_string_equal(tr, rr);
            /* the script does produce events (a class with none is no test) */
            assert_true(strlen(t) > 0);
            free(t);
            free(r);
            free(tr);
            free(rr);
        }
    }
}

static void test_keyspace_notifications_match_redis(void **state)
{
    compat_pair *p = *state;
    notify_compat(p->port, p->redis_port);
}

/* On a cluster's primary the events fire when the log entry is applied,
 * once, never when the write is routed: the same trace as redis-server. */
static void test_cluster_primary_keyspace_notifications_match_redis(void **state)
{
    compat_pair *p = *state;
    notify_compat(p->port, p->redis_port);
}

/* ---- numbered databases (node/t_db.c) -------------------------------------- */

/* SELECT, MOVE, SWAPDB, FLUSHDB, DBSIZE, INFO keyspace, COPY ... DB and
 * SELECT inside MULTI (the client stays where the transaction left it),
 * error texts included. Keys without deadlines only: INFO's avg_ttl is
 * Redis's sampled estimate. */
static const char *const db_script[] = {
    "FLUSHALL", "SELECT 16", "SELECT -1", "SELECT abc", "SELECT 99999999999", "SELECT 1.5", "SELECT", "SET k zero",
    "SELECT 1", "GET k", "SET k one", "DBSIZE", "SELECT 0", "GET k", "DBSIZE", "MOVE k 0", "MOVE k 16", "MOVE k x",
    "MOVE k 99999999999", "MOVE nokey 2", "MOVE k 1", "MOVE k 2", "MOVE k 2", "SELECT 2", "GET k", "MOVE k 1",
    "SELECT 1", "GET k", "SWAPDB 1 2", "GET k", "SELECT 2", "GET k", "SWAPDB 0 16", "SWAPDB x 1", "SWAPDB 0 x",
    "SWAPDB -1 0", "SWAPDB 99999999999 0", "SWAPDB 3 3", "SWAPDB 1", "INFO keyspace", "FLUSHDB x",
    "FLUSHDB sync extra", "FLUSHDB ASYNC", "DBSIZE", "SELECT 1", "DBSIZE", "INFO keyspace", "RPUSH l a b",
    "COPY l l DB 1", "COPY l l DB 3", "COPY l l DB 3", "COPY l l DB 3 REPLACE", "COPY l m DB 16", "COPY l m DB x",
    "SELECT 3", "LRANGE l 0 -1", "MULTI", "SELECT 4", "SET t 1", "SELECT 99", "GET t", "EXEC", "GET t", "DBSIZE",
    "MULTI", "SELECT x", "GET t", "EXEC", "MULTI", "SELECT 0", "GET t", "EXEC", "GET t", "SELECT 4", "FLUSHDB SYNC",
    "INFO keyspace", "FLUSHALL", "INFO keyspace", "DBSIZE", "SELECT 5", "SET r 1", "RESET", "GET r",
};

static void db_compat(int tport, int rport)
{
    compare_script(tport, rport, db_script, sizeof db_script / sizeof db_script[0]);
}

static void test_databases_match_redis(void **state)
{
    compat_pair *p = *state;
    db_compat(p->port, p->redis_port);
}

static void test_cluster_primary_databases_match_redis(void **state)
{
    compat_pair *p = *state;
    flush_both(p);
    db_compat(p->port, p->redis_port);
}

/* ---- encoding thresholds (hash-max-listpack-entries & co.) --------------- */

/* Small thresholds set with CONFIG SET (under both names): each type
 * changes encoding where Redis 7.0 does (OBJECT ENCODING), including a pack
 * that outgrew a lowered limit converting on its next write, and the
 * content stays the same through the conversions. */
static const char *const encoding_script[] = {
    "FLUSHALL", "CONFIG SET hash-max-listpack-entries 4 hash-max-ziplist-value 8",
    "CONFIG GET hash-max-ziplist-entries", "CONFIG GET hash-max-listpack-value", "HSET h a 1 b 2 c 3 d 4",
    "OBJECT ENCODING h", "HSET h e 5", "OBJECT ENCODING h", "HDEL h a b c d", "OBJECT ENCODING h", "HGETALL h",
    "HSET h2 f 12345678", "OBJECT ENCODING h2", "HSET h2 g 123456789", "OBJECT ENCODING h2", "HSET h3 x 1 y 2 z 3",
    "OBJECT ENCODING h3", "CONFIG SET hash-max-listpack-entries 2", "HGET h3 x", "OBJECT ENCODING h3", "HSET h3 x 9",
    "OBJECT ENCODING h3", "HINCRBY h4 n 5", "OBJECT ENCODING h4", "HSET h5 k v", "HINCRBYFLOAT h5 k2 1.5",
    "HSETNX h5 k3 v", "OBJECT ENCODING h5", "HMGET h3 x y z", "CONFIG SET zset-max-listpack-entries 3",
    "CONFIG SET zset-max-ziplist-value 4", "ZADD z 1 a 2 b 3 c", "OBJECT ENCODING z", "ZADD z 4 d", "OBJECT ENCODING z",
    "ZREM z a b c", "OBJECT ENCODING z", "ZADD z5 1 a 2 b 3 c 4 d", "OBJECT ENCODING z5", "ZADD z6 1 abcde",
    "OBJECT ENCODING z6", "ZADD z7 1 abcd", "OBJECT ENCODING z7", "ZADD z7 2 abcd", "ZINCRBY z7 1 abcd",
    "OBJECT ENCODING z7", "ZUNIONSTORE zu 2 z z7", "OBJECT ENCODING zu", "ZRANGE zu 0 -1 WITHSCORES",
    "ZRANGESTORE zr z5 0 1", "OBJECT ENCODING zr", "ZADD z8 1 a 2 b", "CONFIG SET zset-max-listpack-entries 1",
    "ZADD z8 5 a", "OBJECT ENCODING z8", "ZADD z8 3 c", "OBJECT ENCODING z8", "ZRANGE z8 0 -1 WITHSCORES",
    "CONFIG SET zset-max-listpack-entries 0", "ZADD z9 1 a", "OBJECT ENCODING z9", "CONFIG SET set-max-intset-entries 3",
    "SADD s 1 2 3", "OBJECT ENCODING s", "SADD s 4", "OBJECT ENCODING s", "SREM s 1 2 3", "OBJECT ENCODING s",
    "SADD s2 1 2 3 4", "OBJECT ENCODING s2", "SADD s3 a", "OBJECT ENCODING s3", "SINTERSTORE s4 s2 s2",
    "OBJECT ENCODING s4", "SCARD s4", "CONFIG SET set-max-intset-entries 0", "SADD s5 7", "OBJECT ENCODING s5",
    "CONFIG SET list-max-listpack-size 2", "RPUSH l a b c d e", "LINSERT l BEFORE c x", "LSET l 2 y", "LRANGE l 0 -1",
    "LPOP l 2", "RPUSH l f g h", "LREM l 0 y", "LRANGE l 0 -1", "LINDEX l -2", "OBJECT ENCODING l",
    "CONFIG SET list-max-ziplist-size -6", "CONFIG GET list-max-listpack-size", "RPUSH l2 a b c", "LRANGE l2 0 -1",
    "CONFIG SET list-max-listpack-size 0", "RPUSH l3 a b c", "LTRIM l3 1 -1", "LRANGE l3 0 -1",
    "CONFIG SET hash-max-listpack-entries x", "CONFIG SET zset-max-listpack-value 1kb",
    "CONFIG GET zset-max-listpack-value", "CONFIG SET set-max-intset-entries -1",
    "CONFIG SET hash-max-listpack-entries 512 hash-max-listpack-value 64 zset-max-listpack-entries 128",
    "CONFIG SET zset-max-listpack-value 64 set-max-intset-entries 512 list-max-listpack-size -2",
};

static void test_encoding_thresholds_match_redis(void **state)
{
    compat_pair *p = *state;
    compare_script(p->port, p->redis_port, encoding_script, sizeof encoding_script / sizeof encoding_script[0]);
}

/* Memory limit and eviction: the OOM refusal, OBJECT FREQ / IDLETIME under
 * each kind of policy, CONFIG SET's checks of the eviction parameters, and
 * INFO's field names and hit/miss counts. */
static long long info_number(int fd, const char *section, const char *field)
{
    char cmd[64], want[80];
    snprintf(cmd, sizeof cmd, "INFO %s\r\n", section);
    h_sends(fd, cmd);
    char *r = h_reply(fd);
    assert_non_null(r);
    snprintf(want, sizeof want, "\r\n%s:", field);
    char *at = strstr(r, want);
    if (!at) fail_msg("INFO %s has no %s", section, field);
    long long v = atoll(at + strlen(want));
    free(r);
    return v;
}

static void test_eviction_replies_match_redis(void **state)
{
    compat_pair *p = *state;
    static const char *const lines[] = {
        /* (values that are not small integers: Redis shares those, with no access bits, when maxmemory is 0) */
        "FLUSHALL", "CONFIG SET maxmemory-policy allkeys-lru", "SET a hello", "OBJECT FREQ a", "OBJECT IDLETIME a",
        "OBJECT FREQ nope", "CONFIG SET maxmemory-policy allkeys-lfu", "OBJECT IDLETIME a", "SET b hello",
        "OBJECT FREQ b", "CONFIG GET maxmemory-policy", "CONFIG SET maxmemory-policy bogus",
        "CONFIG SET maxmemory-samples 0", "CONFIG SET maxmemory-samples x", "CONFIG SET maxmemory -1",
        "CONFIG SET lfu-log-factor -1", "CONFIG SET lfu-decay-time abc", "CONFIG SET maxmemory-policy noeviction",
        "CONFIG SET maxmemory 1kb", "CONFIG GET maxmemory", "SET c hello", "SET a world", "RPUSH l x", "GET a",
        "DEL a", "GET b", "CONFIG SET maxmemory 0", "SET c hello",
    };
    compare_script(p->port, p->redis_port, lines, sizeof lines / sizeof lines[0]);
    /* INFO: the fields monitoring reads, and the hit/miss counts reads make */
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    static const char *const memory[] = {"used_memory", "used_memory_peak", "used_memory_dataset",
                                         "mem_fragmentation_ratio", "maxmemory", "maxmemory_human"};
    static const char *const stats[] = {"evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses",
                                        "total_eviction_exceeded_time", "current_eviction_exceeded_time"};
    for (size_t i = 0; i < sizeof memory / sizeof memory[0]; i++) {
        info_number(t, "memory", memory[i]);
        info_number(r, "memory", memory[i]);
    }
    static const char *const reads[] = {"FLUSHALL", "CONFIG RESETSTAT", "SET s v", "RPUSH l a", "HSET h f v",
                                        "GET s", "GET nope", "STRLEN s", "MGET s nope s", "LRANGE l 0 -1",
                                        "LRANGE nope 0 -1", "HGET h f", "HGET nope f", "SET s w"};
    assert_int_equal(compare_lines(t, r, reads, sizeof reads / sizeof reads[0]), 0);
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        long long a = info_number(t, "stats", stats[i]), b = info_number(r, "stats", stats[i]);
        if (a != b) fail_msg("INFO stats %s: tricache %lld, redis %lld", stats[i], a, b);
    }
    h_close(t);
    h_close(r);
}

/* LATENCY's argument errors and its replies with nothing recorded, and
 * latency-monitor-threshold's CONFIG texts (DEBUG SLEEP, which would make
 * spikes to compare, is off in a default redis-server). */
static void test_latency_replies_match_redis(void **state)
{
    compat_pair *p = *state;
    static const char *const lines[] = {
        "LATENCY", "LATENCY foo", "LATENCY HISTORY", "LATENCY HISTORY a b", "LATENCY GRAPH", "LATENCY GRAPH a b",
        "LATENCY LATEST x", "LATENCY DOCTOR x", "LATENCY HELP x", "LATENCY HELP", "LATENCY RESET", "LATENCY LATEST",
        "LATENCY HISTORY command", "LATENCY HISTORY nosuch", "LATENCY GRAPH command", "LATENCY GRAPH nosuch",
        "LATENCY RESET command nosuch command", "LATENCY HISTOGRAM nosuch", "LATENCY HISTOGRAM GET nosuch",
        "CONFIG GET latency-monitor-threshold", "CONFIG SET latency-monitor-threshold -1",
        "CONFIG SET latency-monitor-threshold abc", "CONFIG SET latency-monitor-threshold 1.5",
        "CONFIG SET latency-monitor-threshold 9223372036854775808", "CONFIG SET latency-monitor-threshold 100000",
        "CONFIG GET latency-monitor-threshold", "LATENCY LATEST", "CONFIG SET latency-monitor-threshold 0",
    };
    compare_script(p->port, p->redis_port, lines, sizeof lines / sizeof lines[0]);
}

int main(void)
{
    const struct CMUnitTest node_tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_resp3_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_hello_between_pipelined_writes, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_hash_set_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_hash_set_resp3_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_lists_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_zset_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_zset_resp3_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_config_parameters_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_reset_matches_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_bits_and_hll_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_transactions_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_size_limits_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_keyspace_notifications_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_databases_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_encoding_thresholds_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_eviction_replies_match_redis, compat_start_node, compat_stop),
        cmocka_unit_test_setup_teardown(test_latency_replies_match_redis, compat_start_node, compat_stop),
    };
    const struct CMUnitTest cluster_tests[] = {
        cmocka_unit_test(test_cluster_primary_matches_redis),
        cmocka_unit_test(test_cluster_primary_resp3_matches_redis),
        cmocka_unit_test(test_cluster_primary_hello_between_pipelined_writes),
        cmocka_unit_test(test_cluster_primary_transactions_match_redis),
        cmocka_unit_test(test_cluster_primary_keyspace_notifications_match_redis),
        cmocka_unit_test(test_cluster_primary_databases_match_redis),
    };
    int failed = cmocka_run_group_tests_name("single node", node_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("cluster primary", cluster_tests, compat_start_cluster, compat_stop);
    return failed;
}
