/* Redis 7 functions sent to redis-server and to tricache must get the same
 * bytes back (Redis 7.0 is the reference): FUNCTION LOAD's every error
 * (the first line, register_function's both forms and flags, the
 * restricted load-time environment), FCALL and FCALL_RO with their flags
 * and errors, FUNCTION LIST, STATS, DELETE, FLUSH, KILL, RESTORE's errors,
 * in RESP2 and RESP3; on a standalone node and on the primary of a
 * three-node cluster (where LOAD, DELETE, FLUSH go through the log and a
 * writing function is replicated as its effects). FUNCTION DUMP's payload
 * is tricache's own: it is checked to round-trip, not compared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat_pair.h"
#include "harness.h"

#define MAXARGS 8
typedef struct step {
    const char *a[MAXARGS];
} step;

#define LIB(name, body) "#!lua name=" name "\n" body

static const step steps[] = {
    {{"FUNCTION", "FLUSH"}},
    {{"FUNCTION", "LIST"}},
    {{"FUNCTION", "STATS"}},
    /* the first line */
    {{"FUNCTION", "LOAD", "redis.register_function('f', function() end)"}},
    {{"FUNCTION", "LOAD", "#!lua name=x"}},
    {{"FUNCTION", "LOAD", "#!lua\n"}},
    {{"FUNCTION", "LOAD", "#!lua name=a name=b\n"}},
    {{"FUNCTION", "LOAD", "#!lua foo=bar name=x\n"}},
    {{"FUNCTION", "LOAD", "#!js name=x\n"}},
    {{"FUNCTION", "LOAD", "#! name=x\n"}},
    {{"FUNCTION", "LOAD", "#!lua name=a-b\nredis.register_function('f', function() end)"}},
    {{"FUNCTION", "LOAD", "#!lua name=\"a b\"\nredis.register_function('f', function() end)"}},
    {{"FUNCTION", "LOAD", "#!lua name=\"ab\nredis.register_function('f', function() end)"}},
    {{"FUNCTION", "LOAD", "#!lua name=\nredis.register_function('f', function() end)"}},
    {{"FUNCTION", "LOAD", "foo", LIB("x", "")}},
    {{"FUNCTION", "LOAD", "replace"}},
    {{"FUNCTION", "LOAD"}},
    /* the load-time environment */
    {{"FUNCTION", "LOAD", LIB("lx", "local x = string.format('a')")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.call('ping')")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.setresp(3)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "x = 1")}},
    {{"FUNCTION", "LOAD", LIB("lx", "return 1")}},
    {{"FUNCTION", "LOAD", LIB("lx", "error('boom')")}},
    {{"FUNCTION", "LOAD", LIB("lx", "local t = {} .. 1")}},
    {{"FUNCTION", "LOAD", LIB("lx", "local x = nil; x.y = 1")}},
    {{"FUNCTION", "LOAD", LIB("lx", "return foo(")}},
    {{"FUNCTION", "LOAD", LIB("lx", "local y = _G")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.log(redis.LOG_WARNING, 'x') return redis.REDIS_VERSION .. redis.LOG_DEBUG")}},
    {{"FUNCTION", "LOAD", LIB("lx", "local i = 0 while true do i = i + 1 end")}},
    /* register_function */
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function('g', function() end) redis.register_function('g', function() end)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function('g-x', function() end)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function('', function() end)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{function_name='g', callback=function() end, flags={'bad'}}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{function_name='g', callback=function() end, flags={'no-writes', 5}}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{function_name='g', callback=function() end, flags=5}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{function_name='g', callback=function() end, foo=1}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{function_name='g'}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function{callback=function() end}")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function('g')")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function(1, 2, 3)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function()")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function(5)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function({}, function() end)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function('g', 5)")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function({[1]=5, callback=function() end})")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function({function_name='g', callback=5})")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function({function_name={}, callback=function() end})")}},
    {{"FUNCTION", "LOAD", LIB("lx", "redis.register_function({function_name='g', callback=function() end, description={}})")}},
    {{"FUNCTION", "STATS"}},
    /* libraries that load */
    {{"FUNCTION", "LOAD", LIB("w1", "redis.register_function('w', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('get', keys[1]) end)")}},
    {{"FUNCTION", "LOAD", LIB("r1", "redis.register_function{function_name='r', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads a key'}")}},
    {{"FUNCTION", "LOAD", LIB("rw1", "redis.register_function{function_name='rw', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}")}},
    {{"FUNCTION", "LOAD", LIB("e1", "\nredis.register_function{function_name='e', callback=function() error('boom') end}")}},
    {{"FUNCTION", "LOAD", LIB("k1", "redis.register_function{function_name='k', callback=function() return KEYS end}")}},
    {{"FUNCTION", "LOAD", LIB("n1", "redis.register_function('n', function(keys, args) return {#keys, #args, keys[1], args[1]} end)")}},
    {{"FUNCTION", "LOAD", LIB("fl1", "redis.register_function{function_name='fl', callback=function() return 1 end, flags={'NO-WRITES', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}")}},
    {{"FUNCTION", "LOAD", LIB("t1", "redis.register_function('t', function() return {1, 'two', 3.5, true, false, {ok='fine'}, nil, 7} end)")}},
    {{"FUNCTION", "LOAD", LIB("t3", "redis.register_function('t3', function() redis.setresp(3) return redis.call('hgetall', 'nohash') end)")}},
    {{"FUNCTION", "LOAD", LIB("ee", "redis.register_function('ee', function() return redis.error_reply('MY bad') end)")}},
    {{"FUNCTION", "LOAD", LIB("pc", "redis.register_function('pc', function() return redis.pcall('nosuch') end)")}},
    {{"FUNCTION", "LOAD", LIB("w1", "redis.register_function('other', function() return 1 end)")}},
    {{"FUNCTION", "LOAD", LIB("dup", "redis.register_function('w', function() return 1 end)")}},
    {{"FUNCTION", "LOAD", LIB("dup", "redis.register_function('W', function() return 1 end)")}},
    {{"FUNCTION", "LOAD", "REPLACE", LIB("w1", "redis.register_function('w', function(keys, args) redis.call('set', keys[1], args[1] .. '!') return redis.call('get', keys[1]) end)")}},
    {{"FUNCTION", "LOAD", "REPLACE", "REPLACE", LIB("w2", "redis.register_function('w', function() return 1 end)")}},
    {{"FUNCTION", "STATS"}},
    /* FCALL, FCALL_RO */
    {{"FCALL", "w", "1", "fk", "v"}},
    {{"FCALL", "W", "1", "fk", "v2"}},
    {{"GET", "fk"}},
    {{"FCALL", "r", "1", "fk"}},
    {{"FCALL_RO", "r", "1", "fk"}},
    {{"FCALL_RO", "w", "1", "fk", "v"}},
    {{"FCALL", "rw", "1", "fk"}},
    {{"FCALL_RO", "rw", "1", "fk"}},
    {{"FCALL", "e", "0"}},
    {{"FCALL", "k", "0"}},
    {{"FCALL", "n", "2", "a", "b", "c"}},
    {{"FCALL", "n", "0"}},
    {{"FCALL", "fl", "0"}},
    {{"FCALL_RO", "fl", "0"}},
    {{"FCALL", "t", "0"}},
    {{"FCALL", "t3", "0"}},
    {{"FCALL", "ee", "0"}},
    {{"FCALL", "pc", "0"}},
    {{"FCALL", "nosuch", "0"}},
    {{"FCALL_RO", "nosuch", "0"}},
    {{"FCALL", "w", "x"}},
    {{"FCALL", "w", "1.5", "a"}},
    {{"FCALL", "w", "-1"}},
    {{"FCALL", "w", "3", "a"}},
    {{"FCALL", "w"}},
    {{"FCALL"}},
    {{"EVAL", "return redis.call('fcall', 'r', 1, 'fk')", "0"}},
    {{"EVAL", "return redis.call('function', 'list')", "0"}},
    /* LIST */
    {{"FUNCTION", "LIST", "LIBRARYNAME", "w1"}},
    {{"FUNCTION", "LIST", "LIBRARYNAME", "r?"}},
    {{"FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "fl?"}},
    {{"FUNCTION", "LIST", "libraryname", "nomatch*"}},
    {{"FUNCTION", "LIST", "LIBRARYNAME"}},
    {{"FUNCTION", "LIST", "foo"}},
    {{"FUNCTION", "LIST", "WITHCODE", "WITHCODE"}},
    {{"FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"}},
    /* the other subcommands */
    {{"FUNCTION", "KILL"}},
    {{"FUNCTION", "KILL", "x"}},
    {{"FUNCTION", "STATS", "x"}},
    {{"FUNCTION", "DUMP", "x"}},
    {{"FUNCTION", "HELP", "x"}},
    {{"FUNCTION", "DELETE"}},
    {{"FUNCTION", "DELETE", "a", "b"}},
    {{"FUNCTION", "DELETE", "nosuch"}},
    {{"FUNCTION", "DELETE", "W1"}},
    {{"FUNCTION", "DELETE", "w1"}},
    {{"FCALL", "w", "1", "fk", "v"}},
    {{"FUNCTION", "RESTORE", "abc"}},
    {{"FUNCTION", "RESTORE", "abc", "foo"}},
    {{"FUNCTION", "RESTORE", "a", "b", "c"}},
    {{"FUNCTION", "RESTORE"}},
    {{"FUNCTION", "FLUSH", "x"}},
    {{"FUNCTION", "FLUSH", "sync", "async"}},
    {{"FUNCTION", "foo"}},
    {{"FUNCTION"}},
    {{"FUNCTION", "STATS"}},
    {{"FUNCTION", "FLUSH", "ASYNC"}},
    {{"FUNCTION", "LIST"}},
    {{"FUNCTION", "STATS"}},
    {{"FCALL", "r", "1", "fk"}},
    {{"DEL", "fk"}},
};

/* every step, sent to both */
static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "step %zu", i);
        mismatches += compat_compare(t, r, compat_argc(steps[i].a, MAXARGS), steps[i].a, what);
    }
    return mismatches;
}

static void test_functions_match_redis_resp2(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 2, compare);
}

static void test_functions_match_redis_resp3(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 3, compare);
}

/* One command whose arguments may hold any bytes (a DUMP payload). */
static void send_bin(int fd, size_t n, const char *const *a, const size_t *lens)
{
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", n);
    h_sends(fd, head);
    for (size_t i = 0; i < n; i++) {
        size_t len = lens && lens[i] != (size_t)-1 ? lens[i] : strlen(a[i]);
        snprintf(head, sizeof head, "$%zu\r\n", len);
        h_sends(fd, head);
        h_send(fd, a[i], len);
        h_sends(fd, "\r\n");
    }
}

#define CMD(fd, ...)                                                                          \
    do {                                                                                      \
        const char *const args_[] = {__VA_ARGS__};                                           \
        send_bin(fd, sizeof args_ / sizeof args_[0], args_, NULL);                            \
    } while (0)

static void expect_reply(int fd, const char *want)
{
    char *r = h_reply(fd);
    assert_non_null(r);
    if (strcmp(r, want) != 0) fail_msg("want %s got %s", want, r);
    free(r);
}

/* A bulk reply's bytes (malloc'd), its length in *len. */
static char *bulk_of(char *reply, size_t *len)
{
    assert_int_equal(reply[0], '$');
    *len = (size_t)atol(reply + 1);
    char *body = strstr(reply, "\r\n") + 2;
    char *copy = malloc(*len);
    memcpy(copy, body, *len);
    return copy;
}

static void restore(int fd, const char *payload, size_t len, const char *policy, const char *want)
{
    const char *a[] = {"FUNCTION", "RESTORE", payload, policy};
    size_t lens[] = {(size_t)-1, (size_t)-1, len, (size_t)-1};
    send_bin(fd, policy ? 4 : 3, a, lens);
    expect_reply(fd, want);
}

/* FUNCTION DUMP then RESTORE gives the same libraries back, under each
 * policy; a damaged or truncated payload, or one made by redis-server (a
 * different format), is refused with Redis's error and changes nothing. */
static void test_dump_restore_round_trip(void **state)
{
    compat_pair *p = *state;
    int t = h_connect(p->port);
    CMD(t, "FUNCTION", "FLUSH");
    expect_reply(t, "+OK\r\n");
    CMD(t, "FUNCTION", "LOAD", "#!lua name=aa\nredis.register_function('fa', function() return 'a' end)");
    expect_reply(t, "$2\r\naa\r\n");
    CMD(t, "FUNCTION", "LOAD",
        "#!lua name=bb\nredis.register_function{function_name='fb', callback=function(k, a) return a[1] end, "
        "flags={'no-writes'}, description='echo'}");
    expect_reply(t, "$2\r\nbb\r\n");
    CMD(t, "FUNCTION", "LIST", "WITHCODE");
    char *before = h_reply(t);
    CMD(t, "FUNCTION", "DUMP");
    char *dump = h_reply(t);
    size_t len;
    char *payload = bulk_of(dump, &len);
    free(dump);

    restore(t, payload, len, NULL, "-ERR Library aa already exists\r\n");
    restore(t, payload, len, "APPEND", "-ERR Library aa already exists\r\n");
    restore(t, payload, len, "REPLACE", "+OK\r\n");
    CMD(t, "FUNCTION", "LIST", "WITHCODE");
    expect_reply(t, before);
    CMD(t, "FUNCTION", "FLUSH");
    expect_reply(t, "+OK\r\n");
    restore(t, payload, len, NULL, "+OK\r\n");
    CMD(t, "FUNCTION", "LIST", "WITHCODE");
    expect_reply(t, before);
    CMD(t, "FCALL_RO", "fb", "0", "hi");
    expect_reply(t, "$2\r\nhi\r\n");

    /* FLUSH drops what is there first */
    CMD(t, "FUNCTION", "DELETE", "aa");
    expect_reply(t, "+OK\r\n");
    CMD(t, "FUNCTION", "LOAD", "#!lua name=cc\nredis.register_function('fc', function() return 'c' end)");
    expect_reply(t, "$2\r\ncc\r\n");
    restore(t, payload, len, "FLUSH", "+OK\r\n");
    CMD(t, "FUNCTION", "LIST", "WITHCODE");
    expect_reply(t, before);

    /* a function name another library holds */
    CMD(t, "FUNCTION", "FLUSH");
    expect_reply(t, "+OK\r\n");
    CMD(t, "FUNCTION", "LOAD", "#!lua name=zz\nredis.register_function('FA', function() return 'z' end)");
    expect_reply(t, "$2\r\nzz\r\n");
    restore(t, payload, len, "REPLACE", "-ERR Function fa already exists\r\n");
    CMD(t, "FUNCTION", "LIST", "LIBRARYNAME", "aa");
    expect_reply(t, "*0\r\n");

    /* damaged, truncated, empty, Redis's */
    for (size_t i = 0; i < len; i += 7) {
        payload[i] ^= 0x20;
        restore(t, payload, len, "FLUSH", "-ERR DUMP payload version or checksum are wrong\r\n");
        payload[i] ^= 0x20;
    }
    restore(t, payload, len - 1, "FLUSH", "-ERR DUMP payload version or checksum are wrong\r\n");
    restore(t, payload, 0, "FLUSH", "-ERR DUMP payload version or checksum are wrong\r\n");
    int r = h_connect(p->redis_port);
    CMD(r, "FUNCTION", "LOAD", "REPLACE", "#!lua name=rr\nredis.register_function('fr', function() return 1 end)");
    expect_reply(r, "$2\r\nrr\r\n");
    CMD(r, "FUNCTION", "DUMP");
    char *rdump = h_reply(r);
    size_t rlen;
    char *rpayload = bulk_of(rdump, &rlen);
    restore(t, rpayload, rlen, "FLUSH", "-ERR DUMP payload version or checksum are wrong\r\n");
    CMD(r, "FUNCTION", "DELETE", "rr");
    expect_reply(r, "+OK\r\n");
    CMD(t, "FUNCTION", "LIST");
    char *after = h_reply(t);
    assert_non_null(strstr(after, "zz"));
    assert_null(strstr(after, "aa"));
    free(after);
    CMD(t, "FUNCTION", "FLUSH");
    expect_reply(t, "+OK\r\n");
    free(rdump);
    free(rpayload);
    free(payload);
    free(before);
    h_close(t);
    h_close(r);
}

/* At maxmemory (1 byte, noeviction) a writing function is refused, one
 * flagged allow-oom runs and writes, no-writes ones run: as redis-server. */
static void test_allow_oom_matches_redis(void **state)
{
    compat_pair *p = *state;
    static const char *const lib =
        "#!lua name=oomlib\n"
        "redis.register_function('plain', function(k) return redis.call('set', k[1], 'v') end)\n"
        "redis.register_function{function_name='oomok', flags={'allow-oom'}, callback=function(k) return "
        "redis.call('set', k[1], 'v') end}\n"
        "redis.register_function{function_name='ro', flags={'no-writes'}, callback=function(k) return "
        "redis.call('get', k[1]) end}\n";
    static const step oom_steps[] = {
        {{"FUNCTION", "LOAD", "REPLACE", lib}},
        {{"CONFIG", "SET", "maxmemory", "1"}},
        {{"FCALL", "plain", "1", "oomk"}},
        {{"FCALL", "oomok", "1", "oomk"}},
        {{"FCALL", "ro", "1", "oomk"}},
        {{"FCALL_RO", "ro", "1", "oomk"}},
        {{"CONFIG", "SET", "maxmemory", "0"}},
        {{"DEL", "oomk"}},
        {{"FUNCTION", "DELETE", "oomlib"}},
    };
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    for (size_t i = 0; i < sizeof oom_steps / sizeof oom_steps[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "oom step %zu", i);
        assert_int_equal(compat_compare(t, r, compat_argc(oom_steps[i].a, MAXARGS), oom_steps[i].a, what), 0);
    }
    h_close(t);
    h_close(r);
}

/* With cluster_mode a function flagged no-cluster is refused (Redis's
 * words for a Redis Cluster node). */
static void test_no_cluster_flag(void **state)
{
    (void)state;
    tnode *n = h_start("cluster_mode = true");
    int t = h_connect(n->port);
    CMD(t, "FUNCTION", "LOAD",
        "#!lua name=nclib\nredis.register_function{function_name='nc', flags={'no-cluster'}, callback=function() "
        "return 1 end}\nredis.register_function('ok', function() return 2 end)");
    expect_reply(t, "$5\r\nnclib\r\n");
    CMD(t, "FCALL", "nc", "0");
    expect_reply(t, "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n");
    CMD(t, "FCALL", "ok", "0");
    expect_reply(t, ":2\r\n");
    h_close(t);
    h_stop(n);
}

/* Sends cmd on fd until the reply starts with prefix (deadline 10 s);
 * returns that reply. */
static char *poll_until(int fd, const char *cmd, const char *prefix)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        h_sends(fd, cmd);
        char *r = h_reply(fd);
        assert_non_null(r);
        if (strncmp(r, prefix, strlen(prefix)) == 0) return r;
        if (h_ms() > deadline) fail_msg("%s: want %s..., got %s", cmd, prefix, r);
        free(r);
        usleep(10000); /* between polls */
    }
}

/* A function looping past busy-reply-threshold, on tricache and on Redis:
 * others get -BUSY naming FUNCTION KILL, SCRIPT KILL is refused, FUNCTION
 * STATS names the running function, FUNCTION KILL stops it, and the
 * caller's error is the same bytes on both. */
static void test_busy_function_kill_and_stats(void **state)
{
    compat_pair *p = *state;
    int ports[2] = {p->port, p->redis_port};
    char *killed[2];
    for (int i = 0; i < 2; i++) {
        int c = h_connect(ports[i]);
        CMD(c, "CONFIG", "SET", "busy-reply-threshold", "100");
        expect_reply(c, "+OK\r\n");
        CMD(c, "FUNCTION", "LOAD", "REPLACE",
            "#!lua name=spin\nredis.register_function{function_name='spin', callback=function()\n"
            "  local i = 0 while true do i = i + 1 end\nend, flags={'no-writes'}}");
        expect_reply(c, "$4\r\nspin\r\n");
        int runner = h_connect(ports[i]);
        CMD(runner, "FCALL_RO", "spin", "0");
        int other = h_connect(ports[i]);
        char *busy = poll_until(other, "PING\r\n", "-BUSY");
        assert_string_equal(busy, "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n");
        free(busy);
        h_sends(other, "SCRIPT KILL\r\n");
        expect_reply(other, "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n");
        h_sends(other, "FUNCTION STATS\r\n");
        char *stats = h_reply(other);
        assert_non_null(strstr(stats, "$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n"
                                      "$8\r\nFCALL_RO\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"));
        assert_non_null(strstr(stats, "$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:"));
        free(stats);
        h_sends(other, "FUNCTION KILL\r\n");
        expect_reply(other, "+OK\r\n");
        killed[i] = h_reply(runner);
        assert_non_null(killed[i]);
        CMD(c, "FUNCTION", "DELETE", "spin");
        expect_reply(c, "+OK\r\n");
        CMD(c, "CONFIG", "SET", "busy-reply-threshold", "5000");
        expect_reply(c, "+OK\r\n");
        h_close(runner);
        h_close(other);
        h_close(c);
    }
    assert_string_equal(killed[0], killed[1]);
    free(killed[0]);
    free(killed[1]);
}

int main(void)
{
    const struct CMUnitTest standalone[] = {
        cmocka_unit_test(test_functions_match_redis_resp2),
        cmocka_unit_test(test_functions_match_redis_resp3),
        cmocka_unit_test(test_dump_restore_round_trip),
        cmocka_unit_test(test_busy_function_kill_and_stats),
        cmocka_unit_test(test_allow_oom_matches_redis),
        cmocka_unit_test(test_no_cluster_flag),
    };
    const struct CMUnitTest cluster[] = {
        cmocka_unit_test(test_functions_match_redis_resp2),
        cmocka_unit_test(test_functions_match_redis_resp3),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    int failed = cmocka_run_group_tests_name("standalone", standalone, compat_start_node, compat_stop);
    if (!getenv("TC_FUNCTION_COMPAT_STANDALONE_ONLY"))
        failed += cmocka_run_group_tests_name("three-node primary", cluster, compat_start_cluster, compat_stop);
    return failed;
}
