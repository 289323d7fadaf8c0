/* libFuzzer target for the Lua sandbox (script/): each input is read as a
 * program of a small grammar — assignments, loops with bounds, redis.call
 * and pcall of any command name with random arguments, conversions, the
 * libraries, and the known ways out of a sandbox (os, io, loadfile,
 * require, getfenv of a library function, rawset and setmetatable on the
 * globals, huge strings) — run with EVAL, or as a Redis 7 function's body,
 * or as a function library's top-level code (FUNCTION LOAD), on a fixture node whose
 * script_memory_limit is small. No input may crash the node, and after
 * each one a probe checks that nothing escaped: the globals are still
 * read-only and undefined names still raise, the libraries are intact,
 * and no global was created. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fixture.h"

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fprintf(stderr, "\n");                                                 \
            abort();                                                               \
        }                                                                          \
    } while (0)

static fx *node;

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static unsigned take(src *s, unsigned below)
{
    if (!s->n) return 0;
    unsigned v = *s->p++;
    s->n--;
    return below ? v % below : v;
}

static const char *const COMMANDS[] = {"set", "get", "incr", "del", "lpush", "lrange", "hset", "hgetall", "sadd",
                                       "smembers", "zadd", "zrange", "ping", "type", "exists", "expire", "ttl",
                                       "mget", "eval", "multi", "select", "flushall", "nosuch", "script", "keys",
                                       "spop", "config", "acl", "time", "debug"};
static const char *const ATOMS[] = {"1", "-1", "0", "3.5", "1e308", "'x'", "''", "nil", "true", "false", "{}",
                                    "{1,2,nil,4}", "{ok='s'}", "{err='E e'}", "{double=1.5}", "{map={a=1}}",
                                    "{set={a=true}}", "KEYS", "ARGV", "KEYS[1]", "#ARGV", "'\\0\\255'",
                                    "string.rep('ab', 70000000)", "2^53", "-0", "0/0", "1/0"};
static const char *const ESCAPES[] = {
    "os.execute('touch /tmp/tc-fuzz-escaped')", "io.open('/etc/passwd')", "loadfile('/etc/passwd')",
    "dofile('/etc/passwd')", "require('os')", "package.loaded.os", "getfenv(redis.call).escaped = 1",
    "rawset(_G, 'escaped', 1)", "setmetatable(_G, nil)", "escaped = 1", "redis.call = nil", "string.rep = nil",
    "getfenv(0).escaped = 1", "setfenv(1, {escaped = 1})", "debug.setmetatable(_G, nil)",
    "debug.getregistry().tc_globals.escaped = 1", "collectgarbage('collect')", "coroutine.wrap(function() end)()",
    "loadstring('escaped = 1')()", "newproxy(true)", "cjson.decode('[[[[[[[[[[1]]]]]]]]]]')",
    "cjson.decode('{\"a\":')", "bit.tohex(-1)", "redis.setresp(3)", "redis.sha1hex(string.rep('x', 100))",
    "redis.log(redis.LOG_DEBUG, 'x')", "math.randomseed(7)", "tostring(math.random(1, 10))",
    "redis.register_function('x', function() end)", "redis.register_function{function_name='y', callback=print}",
    "getfenv(1).escaped = 1", "redis.call('function', 'flush')", "redis.call('fcall', 'fz', 0)",
};

static void expr(src *s, char *out, size_t cap, size_t *len, int depth);

static void emit(char *out, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n >= cap) return;
    memcpy(out + *len, text, n);
    *len += n;
    out[*len] = '\0';
}

static void call(src *s, char *out, size_t cap, size_t *len, int depth)
{
    emit(out, cap, len, take(s, 2) ? "redis.pcall('" : "redis.call('");
    emit(out, cap, len, COMMANDS[take(s, sizeof COMMANDS / sizeof COMMANDS[0])]);
    emit(out, cap, len, "'");
    unsigned nargs = take(s, 5);
    for (unsigned i = 0; i < nargs; i++) {
        emit(out, cap, len, ", ");
        expr(s, out, cap, len, depth + 1);
    }
    emit(out, cap, len, ")");
}

static void expr(src *s, char *out, size_t cap, size_t *len, int depth)
{
    unsigned k = depth > 3 ? 0 : take(s, 6);
    switch (k) {
    case 0:
        emit(out, cap, len, ATOMS[take(s, sizeof ATOMS / sizeof ATOMS[0])]);
        break;
    case 1:
        call(s, out, cap, len, depth);
        break;
    case 2:
        emit(out, cap, len, "(");
        expr(s, out, cap, len, depth + 1);
        emit(out, cap, len, take(s, 2) ? " .. " : " + ");
        expr(s, out, cap, len, depth + 1);
        emit(out, cap, len, ")");
        break;
    case 3:
        emit(out, cap, len, "{");
        expr(s, out, cap, len, depth + 1);
        emit(out, cap, len, ", ");
        expr(s, out, cap, len, depth + 1);
        emit(out, cap, len, "}");
        break;
    case 4:
        emit(out, cap, len, "cjson.encode(");
        expr(s, out, cap, len, depth + 1);
        emit(out, cap, len, ")");
        break;
    default: {
        char v[8];
        snprintf(v, sizeof v, "v%u", take(s, 4));
        emit(out, cap, len, v);
        break;
    }
    }
}

static void program(src *s, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    emit(out, cap, &len, "local v0, v1, v2, v3 = 1, 'a', {}, nil\n");
    unsigned n = 1 + take(s, 12);
    for (unsigned i = 0; i < n && s->n; i++) {
        char v[8];
        switch (take(s, 7)) {
        case 0:
            snprintf(v, sizeof v, "v%u = ", take(s, 4));
            emit(out, cap, &len, v);
            expr(s, out, cap, &len, 0);
            break;
        case 1:
            emit(out, cap, &len, ESCAPES[take(s, sizeof ESCAPES / sizeof ESCAPES[0])]);
            break;
        case 2:
            emit(out, cap, &len, "pcall(function() ");
            emit(out, cap, &len, ESCAPES[take(s, sizeof ESCAPES / sizeof ESCAPES[0])]);
            emit(out, cap, &len, " end)");
            break;
        case 3: {
            char loop[48];
            snprintf(loop, sizeof loop, "for i = 1, %u do ", take(s, 0) * 8);
            emit(out, cap, &len, loop);
            call(s, out, cap, &len, 1);
            emit(out, cap, &len, " end");
            break;
        }
        case 4:
            emit(out, cap, &len, "local ok, e = pcall(");
            emit(out, cap, &len, take(s, 2) ? "error, " : "redis.call, ");
            expr(s, out, cap, &len, 1);
            emit(out, cap, &len, ")");
            break;
        case 5:
            call(s, out, cap, &len, 0);
            break;
        default:
            emit(out, cap, &len, "return ");
            expr(s, out, cap, &len, 0);
            break;
        }
        emit(out, cap, &len, "\n");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    void *state;
    if (fx_setup(&state) != 0) abort();
    node = state;
    fx_run(node, "CONFIG", "SET", "script-memory-limit", "16mb", NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, size};
    static char body[16384];
    static char lib[16384 + 256];
    /* the program as an EVAL script, as a function's body, or as a
     * library's top-level code (the restricted load-time environment) */
    unsigned mode = take(&s, 3);
    program(&s, body, sizeof body);
    const char *r;
    if (mode == 0) {
        r = fx_run(node, "EVAL", body, "1", "key", "arg", NULL);
    } else {
        if (mode == 1)
            snprintf(lib, sizeof lib, "#!lua name=fz\nredis.register_function('fz', function(KEYS, ARGV)\n%s\nend)\n", body);
        else
            snprintf(lib, sizeof lib, "#!lua name=fz\n%s\nredis.register_function('fz', function() return 1 end)\n", body);
        r = fx_run(node, "FUNCTION", "LOAD", "REPLACE", lib, NULL);
        CHECK(r && (r[0] == '$' || r[0] == '-'), "FUNCTION LOAD answered %.60s to\n%s", r ? r : "(none)", lib);
        r = fx_run(node, "FCALL", "fz", "1", "key", "arg", NULL);
    }
    CHECK(r && (r[0] == '+' || r[0] == '-' || r[0] == ':' || r[0] == '$' || r[0] == '*' || r[0] == '_' ||
                r[0] == '%' || r[0] == '~' || r[0] == ',' || r[0] == '#' || r[0] == '('),
          "reply %.60s to\n%s", r ? r : "(none)", body);
    if (mode) {
        /* functions' environments: still read-only, the load-time one
         * still restricted */
        r = fx_run(node, "FUNCTION", "LOAD", "REPLACE",
                   "#!lua name=probe\nredis.register_function('probe', function() return escaped end)", NULL);
        CHECK(strcmp(r, "$5\r\nprobe\r\n") == 0, "the probe library did not load after\n%s\n%s", body, r);
        r = fx_run(node, "FCALL", "probe", "0", NULL);
        CHECK(strstr(r, "nonexistent global variable 'escaped'"), "a global escaped into functions: %s\n%s", r, body);
        r = fx_run(node, "FUNCTION", "LOAD", "#!lua name=probe2\nlocal s = string", NULL);
        CHECK(strstr(r, "nonexistent global variable 'string'"), "the load-time environment grew: %s\n%s", r, body);
        fx_run(node, "FUNCTION", "FLUSH", NULL);
    }
    /* nothing escaped */
    r = fx_run(node, "EVAL", "return type(redis.call) .. type(string.rep) .. type(cjson.encode)", "0", NULL);
    CHECK(strcmp(r, "$24\r\nfunctionfunctionfunction\r\n") == 0, "a library changed after\n%s\n%s", body, r);
    r = fx_run(node, "EVAL", "return escaped", "0", NULL);
    CHECK(strstr(r, "Script attempted to access nonexistent global variable 'escaped'"), "a global escaped: %s\n%s", r,
          body);
    r = fx_run(node, "EVAL", "return redis.call('ping')", "0", NULL);
    CHECK(strcmp(r, "+PONG\r\n") == 0, "redis.call broken after\n%s\n%s", body, r);
    r = fx_run(node, "EVAL", "escaped = 1", "0", NULL);
    CHECK(strstr(r, "Attempt to modify a readonly table"), "the globals became writable after\n%s\n%s", body, r);
    r = fx_run(node, "EVAL", "return type(string.rep) .. type(cjson.decode) .. type(loadfile) .. type(io)", "0", NULL);
    CHECK(strstr(r, "nonexistent global variable 'loadfile'"), "a library changed after\n%s\n%s", body, r);
    fx_run(node, "FLUSHALL", NULL);
    return 0;
}
