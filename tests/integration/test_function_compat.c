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

#include "harness.h"

typedef struct pair {
    tnode *tricache;
    tcluster *cluster;
    int port;
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} pair;

static int start_both(void **state)
{
    pair *p = calloc(1, sizeof *p);
    p->tricache = h_start(NULL);
    p->port = p->tricache->port;
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int start_cluster_and_redis(void **state)
{
    pair *p = calloc(1, sizeof *p);
    p->cluster = h_cluster_start(3, NULL);
    int i = h_cluster_primary(p->cluster, 10000);
    if (i < 0) {
        h_cluster_stop(p->cluster);
        free(p);
        return -1;
    }
    p->port = p->cluster->nodes[i].port;
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int stop_both(void **state)
{
    pair *p = *state;
    if (!p) return 0;
    if (p->tricache) h_stop(p->tricache);
    if (p->cluster) h_cluster_stop(p->cluster);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

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

static void send_step(int fd, const step *s)
{
    size_t n = 0;
    while (n < MAXARGS && s->a[n]) n++;
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", n);
    h_sends(fd, head);
    for (size_t i = 0; i < n; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(s->a[i]));
        h_sends(fd, head);
        h_sends(fd, s->a[i]);
        h_sends(fd, "\r\n");
    }
}

static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        send_step(t, &steps[i]);
        send_step(r, &steps[i]);
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) {
            print_error("step %zu: %s %s\n  tricache: %s  redis:    %s", i, steps[i].a[0],
                        steps[i].a[1] ? steps[i].a[1] : "", a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

static void compare_in(int port, int redis_port, int resp)
{
    int t = h_connect(port), r = h_connect(redis_port);
    if (resp == 3) {
        h_sends(t, "HELLO 3\r\n");
        h_sends(r, "HELLO 3\r\n");
        char *a = h_reply(t), *b = h_reply(r);
        assert_true(a && b && a[0] == '%' && b[0] == '%');
        free(a);
        free(b);
    }
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

static void test_functions_match_redis_resp2(void **state)
{
    pair *p = *state;
    compare_in(p->port, p->redis_port, 2);
}

static void test_functions_match_redis_resp3(void **state)
{
    pair *p = *state;
    compare_in(p->port, p->redis_port, 3);
}

int main(void)
{
    const struct CMUnitTest standalone[] = {
        cmocka_unit_test(test_functions_match_redis_resp2),
        cmocka_unit_test(test_functions_match_redis_resp3),
    };
    const struct CMUnitTest cluster[] = {
        cmocka_unit_test(test_functions_match_redis_resp2),
        cmocka_unit_test(test_functions_match_redis_resp3),
    };
    int failed = cmocka_run_group_tests_name("standalone", standalone, start_both, stop_both);
    if (!getenv("TC_FUNCTION_COMPAT_STANDALONE_ONLY"))
        failed += cmocka_run_group_tests_name("three-node primary", cluster, start_cluster_and_redis, stop_both);
    return failed;
}
