/* Lua scripts sent to redis-server and to tricache must get the same bytes
 * back (Redis 7 is the reference): every conversion between replies and
 * Lua values, the errors (their "script: <sha>, on @user_script:<line>."
 * tails included), pcall, the sandbox, the libraries, SCRIPT's
 * subcommands, in RESP2 and RESP3; on a standalone node and on the primary
 * of a three-node cluster, where a writing script is replicated as its
 * effects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_pair.h"
#include "harness.h"

#define MAXARGS 8
typedef struct step {
    const char *a[MAXARGS];
} step;

/* Each step is one command (sent as a multibulk, so scripts need no
 * quoting); steps that read the time or addresses are left out. */
static const step steps[] = {
    /* Lua -> reply */
    {{"EVAL", "return 1", "0"}},
    {{"EVAL", "return 3.99", "0"}},
    {{"EVAL", "return -3.7", "0"}},
    {{"EVAL", "return 'str'", "0"}},
    {{"EVAL", "return true", "0"}},
    {{"EVAL", "return false", "0"}},
    {{"EVAL", "return nil", "0"}},
    {{"EVAL", "return {1,2,3.99,'x',nil,5}", "0"}},
    {{"EVAL", "return {1,{2,{3,'four'}},true,false}", "0"}},
    {{"EVAL", "return {}", "0"}},
    {{"EVAL", "return {a=1}", "0"}},
    {{"EVAL", "return {ok='fine'}", "0"}},
    {{"EVAL", "return {err='MYERR bad thing'}", "0"}},
    {{"EVAL", "return redis.status_reply('PONG')", "0"}},
    {{"EVAL", "return redis.error_reply('MY err')", "0"}},
    {{"EVAL", "return redis.error_reply()", "0"}},
    {{"EVAL", "return redis.status_reply()", "0"}},
    {{"EVAL", "return {double=3.5}", "0"}},
    {{"EVAL", "return {map={a=1}}", "0"}},
    {{"EVAL", "return {set={a=true}}", "0"}},
    {{"EVAL", "return {big_number='123'}", "0"}},
    {{"EVAL", "return 1e20", "0"}},
    /* KEYS and ARGV */
    {{"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "k1", "k2", "a1", "a2"}},
    {{"EVAL", "return 1", "-1"}},
    {{"EVAL", "return 1", "2", "a"}},
    {{"EVAL", "return 1", "x"}},
    {{"EVAL", "return 1"}},
    /* reply -> Lua */
    {{"SET", "s", "abc"}},
    {{"EVAL", "return redis.call('get', KEYS[1])", "1", "s"}},
    {{"EVAL", "return type(redis.call('get', 'nokey'))", "0"}},
    {{"EVAL", "return tostring(redis.call('get', 'nokey'))", "0"}},
    {{"EVAL", "return redis.call('ping')", "0"}},
    {{"EVAL", "local t = redis.call('ping'); return t['ok']", "0"}},
    {{"EVAL", "return redis.call('incr', 'n')", "0"}},
    {{"EVAL", "return redis.call('incrby', 'n', 2.5)", "0"}},
    {{"EVAL", "return redis.call('set', 'f', 3.7)", "0"}},
    {{"GET", "f"}},
    {{"RPUSH", "l", "a", "b", "c"}},
    {{"EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"}},
    {{"EVAL", "return #redis.call('lrange', 'l', 0, -1)", "0"}},
    {{"HSET", "h", "f", "v"}},
    {{"EVAL", "return redis.call('hgetall', 'h')", "0"}},
    {{"EVAL", "redis.setresp(3); local t = redis.call('hgetall', 'h'); return t['map']['f']", "0"}},
    {{"EVAL", "redis.setresp(3); return redis.call('hgetall', 'h')", "0"}},
    {{"EVAL", "redis.setresp(3); return redis.call('get', 'nokey') == nil", "0"}},
    {{"EVAL", "redis.setresp(3); return redis.call('smembers', 'nokey')", "0"}},
    {{"SADD", "st", "m"}},
    {{"EVAL", "redis.setresp(3); local t = redis.call('smembers', 'st'); return t['set']['m']", "0"}},
    {{"ZADD", "z", "1.5", "m"}},
    {{"EVAL", "redis.setresp(3); local t = redis.call('zscore', 'z', 'm'); return t['double'] * 2", "0"}},
    {{"EVAL", "redis.setresp(3); return redis.call('zscore', 'z', 'm')", "0"}},
    {{"EVAL", "return redis.call('zscore', 'z', 'm')", "0"}},
    {{"EVAL", "redis.setresp(3); return redis.call('exists', 'st')", "0"}},
    {{"EVAL", "redis.setresp(4)", "0"}},
    {{"EVAL", "return redis.setresp()", "0"}},
    /* errors */
    {{"EVAL", "return redis.call('nosuch')", "0"}},
    {{"EVAL", "return redis.call('get')", "0"}},
    {{"EVAL", "return redis.call('multi')", "0"}},
    {{"EVAL", "return redis.call('blpop', 'x', 0)", "0"}},
    {{"EVAL", "return redis.call('eval', 'return 1', 0)", "0"}},
    {{"EVAL", "return redis.call()", "0"}},
    {{"EVAL", "return redis.call(1, {})", "0"}},
    {{"EVAL", "return redis.call('incr', 's')", "0"}},
    {{"EVAL", "return redis.call('set', 'k', 'v', 'ex', '-1')", "0"}},
    {{"EVAL", "return 1+", "0"}},
    {{"EVAL", "error('boom')", "0"}},
    {{"EVAL", "error({err='X my'})", "0"}},
    {{"EVAL", "error()", "0"}},
    {{"EVAL", "error(42)", "0"}},
    {{"EVAL", "local x = nil; return x.y", "0"}},
    {{"EVAL", "return string.rep()", "0"}},
    {{"EVAL", "\nlocal a = 1\nreturn redis.call('nosuch')", "0"}},
    {{"EVALSHA", "abc", "0"}},
    {{"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}},
    {{"EVAL_RO", "return redis.call('set', 'a', 'b')", "0"}},
    {{"EVAL_RO", "return redis.call('get', 's')", "0"}},
    /* pcall */
    {{"EVAL", "return redis.pcall('nosuch')", "0"}},
    {{"EVAL", "return redis.pcall('incr', 's')", "0"}},
    {{"EVAL", "local t = redis.pcall('incr', 's'); return t['err']", "0"}},
    {{"EVAL", "return redis.pcall('multi')", "0"}},
    {{"EVAL", "return pcall(function() error('x') end)", "0"}},
    {{"EVAL", "local ok, e = pcall(function() redis.call('nosuch') end); return e['err']", "0"}},
    /* the sandbox */
    {{"EVAL", "a = 5", "0"}},
    {{"EVAL", "return b", "0"}},
    {{"EVAL", "return os", "0"}},
    {{"EVAL", "return io", "0"}},
    {{"EVAL", "return loadfile", "0"}},
    {{"EVAL", "return dofile", "0"}},
    {{"EVAL", "print('x')", "0"}},
    {{"EVAL", "redis = nil", "0"}},
    {{"EVAL", "redis.call = nil", "0"}},
    {{"EVAL", "string.rep = nil", "0"}},
    {{"EVAL", "return rawget(_G, 'nope')", "0"}},
    {{"EVAL", "return loadstring('return 7')()", "0"}},
    {{"EVAL", "return redis.breakpoint", "0"}},
    {{"EVAL", "return type(redis.call)", "0"}},
    {{"EVAL", "return {math.random(100), math.random(5, 10), math.floor(math.random() * 1000)}", "0"}},
    {{"EVAL", "math.randomseed(42); return math.random(1000000)", "0"}},
    /* the redis library */
    {{"EVAL", "return redis.sha1hex('')", "0"}},
    {{"EVAL", "return redis.sha1hex('hello')", "0"}},
    {{"EVAL", "return redis.sha1hex()", "0"}},
    {{"EVAL", "return redis.log(redis.LOG_WARNING, 'hi')", "0"}},
    {{"EVAL", "return redis.log('x')", "0"}},
    {{"EVAL", "return redis.log(99, 'x')", "0"}},
    {{"EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"}},
    {{"EVAL", "return redis.set_repl(99)", "0"}},
    {{"EVAL", "return redis.replicate_commands()", "0"}},
    {{"EVAL", "return redis.REPL_ALL .. redis.REPL_NONE .. redis.REPL_AOF .. redis.REPL_REPLICA .. redis.REPL_SLAVE", "0"}},
    {{"EVAL", "return redis.LOG_DEBUG .. redis.LOG_VERBOSE .. redis.LOG_NOTICE .. redis.LOG_WARNING", "0"}},
    /* libraries */
    {{"EVAL", "return cjson.encode({1,2,3})", "0"}},
    {{"EVAL", "return cjson.decode('[1,2,\"x\"]')[3]", "0"}},
    {{"EVAL", "return cjson.encode(cjson.decode('{\"a\":[1,2]}'))", "0"}},
    {{"EVAL", "return bit.band(7, 3) .. bit.bor(1, 2) .. bit.tohex(255)", "0"}},
    {{"EVAL", "return string.format('%d-%s', 5, 'x')", "0"}},
    {{"EVAL", "return table.concat({'a','b'}, ',')", "0"}},
    {{"EVAL", "return tonumber('0x10')", "0"}},
    /* SELECT inside a script moves its commands only */
    {{"EVAL", "redis.call('select', 1); redis.call('set', 'indb1', 'x'); return 1", "0"}},
    {{"EXISTS", "indb1"}},
    {{"SELECT", "1"}},
    {{"EXISTS", "indb1"}},
    {{"SELECT", "0"}},
    /* SCRIPT */
    {{"SCRIPT", "LOAD", "return 'loaded'"}},
    {{"EVALSHA", "c6a8d5c6d3d2ef8a9a61ba4b05c9b2c4f1fe0d36", "0"}},
    {{"SCRIPT", "EXISTS", "c6a8d5c6d3d2ef8a9a61ba4b05c9b2c4f1fe0d36", "ffffffffffffffffffffffffffffffffffffffff"}},
    {{"SCRIPT", "LOAD", "return 1+"}},
    {{"SCRIPT", "LOAD"}},
    {{"SCRIPT", "EXISTS"}},
    {{"SCRIPT", "FLUSH", "x"}},
    {{"SCRIPT", "FLUSH", "sync", "async"}},
    {{"SCRIPT", "KILL"}},
    {{"SCRIPT", "KILL", "x"}},
    {{"SCRIPT", "foo"}},
    {{"SCRIPT", "FLUSH"}},
    {{"SCRIPT", "EXISTS", "c6a8d5c6d3d2ef8a9a61ba4b05c9b2c4f1fe0d36"}},
    {{"EVALSHA", "c6a8d5c6d3d2ef8a9a61ba4b05c9b2c4f1fe0d36", "0"}},
    {{"SCRIPT", "LOAD", "return 'loaded'"}},
    {{"EVALSHA", "C6A8D5C6D3D2EF8A9A61BA4B05C9B2C4F1FE0D36", "0"}},
    {{"SCRIPT", "FLUSH", "ASYNC"}},
    {{"EVAL", "return redis.call('del', 's', 'n', 'f', 'l', 'h', 'st', 'z')", "0"}},
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

static void test_scripts_match_redis_resp2(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 2, compare);
}

static void test_scripts_match_redis_resp3(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 3, compare);
}

/* Errors a script meets, for INFO errorstats and commandstats: one counted
 * where it happens (a refused call, a failing command), not again when the
 * script returns or raises it (Redis's ignore_error_stats_update), and the
 * script's own errors counted once. */
static const step error_steps[] = {
    {{"SET", "es", "abc"}},
    {{"EVAL", "return redis.pcall('nosuchcmd')", "0"}},
    {{"EVAL", "return redis.call('nosuchcmd')", "0"}},
    {{"EVAL", "return redis.pcall('get')", "0"}},
    {{"EVAL", "return redis.call('incr', KEYS[1])", "1", "es"}},
    {{"EVAL", "return redis.pcall('incr', KEYS[1])", "1", "es"}},
    {{"EVAL", "return redis.pcall('incr', KEYS[1])['ignore_error_stats_update']", "1", "es"}},
    {{"EVAL", "return {err='MINE made by the script'}", "0"}},
    {{"EVAL", "return redis.error_reply('OWN error')", "0"}},
    {{"EVAL", "error('boom')", "0"}},
    {{"EVAL", "return redis.call('get', {})", "0"}},
    {{"DEL", "es"}},
};

/* INFO's section from fd, keeping only the lines that start with one of
 * the prefixes, without their timing fields (usec=, usec_per_call=). */
static char *stats_lines(int fd, const char *section, const char *const *prefixes)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "INFO %s\r\n", section);
    h_sends(fd, cmd);
    char *info = h_reply(fd);
    size_t cap = strlen(info) + 1, n = 0;
    char *out = calloc(1, cap);
    for (char *line = strtok(info, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        int keep = 0;
        for (const char *const *p = prefixes; *p; p++) keep |= strncmp(line, *p, strlen(*p)) == 0;
        if (!keep) continue;
        for (const char *q = line; *q;) {
            if (strncmp(q, "usec=", 5) == 0 || strncmp(q, "usec_per_call=", 14) == 0) {
                q += strcspn(q, ",");
                q += *q == ',';
                continue;
            }
            out[n++] = *q++;
        }
        out[n++] = '\n';
    }
    free(info);
    return out;
}

static void reset_stats(int fd)
{
    h_sends(fd, "CONFIG RESETSTAT\r\n");
    char *r = h_reply(fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
}

static void test_script_errors_counted_like_redis(void **state)
{
    compat_pair *p = *state;
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    reset_stats(t);
    reset_stats(r);
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof error_steps / sizeof error_steps[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "error step %zu", i);
        mismatches += compat_compare(t, r, compat_argc(error_steps[i].a, MAXARGS), error_steps[i].a, what);
    }
    assert_int_equal(mismatches, 0);
    static const char *const errors[] = {"errorstat_", NULL};
    static const char *const cmds[] = {"cmdstat_eval:", "cmdstat_incr:", "cmdstat_get:", NULL};
    static const char *const totals[] = {"total_error_replies:", NULL};
    const char *sections[] = {"errorstats", "commandstats", "stats"};
    const char *const *wanted[] = {errors, cmds, totals};
    for (int k = 0; k < 3; k++) {
        char *mine = stats_lines(t, sections[k], wanted[k]), *theirs = stats_lines(r, sections[k], wanted[k]);
        if (k == 1) { /* commandstats: the same lines in any order */
            for (char *line = strtok(theirs, "\n"); line; line = strtok(NULL, "\n")) {
                if (!strstr(mine, line)) fail_msg("redis-server has %s; tricache:\n%s", line, mine);
            }
        } else {
            assert_string_equal(mine, theirs);
        }
        free(mine);
        free(theirs);
    }
    h_close(t);
    h_close(r);
}

int main(void)
{
    const struct CMUnitTest standalone[] = {
        cmocka_unit_test(test_scripts_match_redis_resp2),
        cmocka_unit_test(test_scripts_match_redis_resp3),
        cmocka_unit_test(test_script_errors_counted_like_redis),
    };
    const struct CMUnitTest cluster[] = {
        cmocka_unit_test(test_scripts_match_redis_resp2),
        cmocka_unit_test(test_scripts_match_redis_resp3),
        cmocka_unit_test(test_script_errors_counted_like_redis),
    };
    int failed = cmocka_run_group_tests_name("standalone", standalone, compat_start_node, compat_stop);
    if (!getenv("TC_SCRIPT_COMPAT_STANDALONE_ONLY"))
        failed += cmocka_run_group_tests_name("three-node primary", cluster, compat_start_cluster, compat_stop);
    return failed;
}
