/* The Lua state: its allocator (counted, capped by script_memory_limit), the
 * sandbox Redis 7.0 builds (libraries, read-only globals), the script
 * cache, and running one script with Redis's error handler. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "script_internal.h"

/* Debian's lua-cjson and lua-bitop (their headers need lua.h first) */
#include <lua-bitop.h>
#include <lua-cjson.h>

#include "lua_libs.h"

#define REG_ENGINE "tc_engine"
#define REG_BODIES "tc_bodies"   /* sha -> body */
#define REG_FUNCS "tc_funcs"     /* sha -> compiled function */
#define REG_GLOBALS TC_SCRIPT_REG_GLOBALS
#define HOOK_EVERY 100000        /* Lua instructions between two hook calls, as Redis */

/* The error a killed script ends with (the handler adds where). */
static void lib_kill_error(lua_State *L)
{
    lua_newtable(L);
    lua_pushstring(L, "ERR Script killed by user with SCRIPT KILL...");
    lua_setfield(L, -2, "err");
    lua_error(L);
}

void tc_script_sha1hex(const char *p, size_t len, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    SHA1((const unsigned char *)p, len, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        out[i * 2] = hex[md[i] >> 4];
        out[i * 2 + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

/* Redis's rand48 (the classic 48-bit linear congruential generator), so
 * math.random draws what it draws in Redis: scripts that print random
 * numbers give the same output on both. Like Redis 7.0 it is not reseeded
 * per script (scripts are replicated by their effects, so nothing needs
 * it to repeat); it starts where Redis's does, unseeded. */
#define RAND48_START 0x1234ABCD330Eull
void tc_script_srand48(tc_script_engine *e, int32_t seed)
{
    e->rand48 = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

int32_t tc_script_lrand48(tc_script_engine *e)
{
    e->rand48 = (e->rand48 * 0x5DEECE66Dull + 0xB) & ((1ull << 48) - 1);
    return (int32_t)(e->rand48 >> 17);
}

/* Every byte Lua holds is counted; while a script runs, growth past
 * script_memory_limit is refused (Lua raises "not enough memory" in it).
 * Outside scripts (loading, the cache) nothing is refused: a failed
 * allocation there would panic the state. */
static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    tc_script_engine *e = ud;
    if (nsize == 0) {
        free(ptr);
        e->mem_used -= osize;
        return NULL;
    }
    uint64_t limit = e->srv->cfg.script_memory_limit;
    if (e->run && limit && nsize > osize && e->mem_used + (nsize - osize) > limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    e->mem_used = e->mem_used - (ptr ? osize : 0) + nsize;
    return p;
}

/* Lua 5.1 has no emergency collection: an allocation refused at the limit
 * fails the script even when most of what Lua holds is garbage. So past
 * 1/share of script_memory_limit (before a script, and at each redis.call)
 * a full collection runs first. */
void tc_script_collect_if_full(tc_script_engine *e, unsigned share)
{
    uint64_t limit = e->srv->cfg.script_memory_limit;
    if (limit && e->mem_used > limit / share) lua_gc(e->L, LUA_GCCOLLECT, 0);
}

tc_script_engine *tc_script_engine_from(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static uint64_t mono_us(void);

#define ERR_UNKILLABLE                                                                                          \
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the " \
    "script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."

/* What a busy script lets other clients do (tc_server_serve_busy): SCRIPT
 * KILL (FUNCTION KILL alike) of a script that has not written, and
 * SHUTDOWN NOSAVE; everything else is answered -BUSY by the node. */
static int busy_allowed(void *ud, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r)
{
    tc_script_engine *e = ud;
    (void)c;
    int is_function = e->run->function;
    /* each kind has its own KILL: Redis names the right one in -BUSY */
    const char *busy = is_function
                           ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
                           : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    if (argc == 2 && tc_arg_is(&argv[0], "function") && tc_arg_is(&argv[1], "stats")) {
        if (is_function) tc_function_reply_stats(e, r);
        else tc_reply_error(r, busy);
        return 1;
    }
    if (argc == 2 && (tc_arg_is(&argv[0], "script") || tc_arg_is(&argv[0], "function")) &&
        tc_arg_is(&argv[1], "kill")) {
        if (tc_arg_is(&argv[0], "script") == is_function && !e->run->wrote) {
            tc_reply_error(r, busy);
        } else if (e->run->wrote) {
            tc_reply_error(r, ERR_UNKILLABLE);
        } else {
            e->kill = 1;
            tc_reply_ok(r);
        }
        return 1;
    }
    if (argc >= 2 && tc_arg_is(&argv[0], "shutdown") && tc_arg_is(&argv[argc > 3 ? 2 : argc - 1], "nosave")) {
        /* Redis's way out of a script that wrote: stop now. Nothing the
         * script did was logged (a replicated script's effects are logged
         * when it ends), and every acknowledged write is in the Raft log. */
        tc_warn("SHUTDOWN NOSAVE while a script runs: stopping now");
        _exit(0);
    }
    if (is_function) {
        tc_reply_error(r, busy);
        return 1;
    }
    return 0;
}

/* The count hook: a long script is progress, not a wedged thread; past
 * busy_reply_threshold the node answers other clients -BUSY from here
 * (a pass every 10 ms), and a SCRIPT KILL they send stops the script. */
static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    tc_progress_tick();
    tc_script_engine *e = tc_script_engine_from(L);
    tc_script_run *run = e->run;
    if (e->loading) tc_fn_load_tick(e);
    if (!run) return;
    uint64_t now = mono_us();
    if (!run->busy) {
        if (now - run->start_us < run->busy_after_us) return;
        run->busy = 1;
        tc_warn("a script has been running for %llu ms (busy_reply_threshold): other clients get -BUSY until it "
                "ends, SCRIPT KILL or SHUTDOWN NOSAVE",
                (unsigned long long)(now - run->start_us) / 1000);
    }
    if (!e->kill && now - run->served_us >= 10000) {
        run->served_us = now;
        tc_server_serve_busy(e->srv, run->ctx->client, busy_allowed, e);
    }
    if (e->kill) {
        /* raised again at every hook call, so a pcall cannot swallow it for good */
        lua_sethook(L, hook, LUA_MASKLINE, 0);
        lib_kill_error(L);
    }
}

/* Loads one library as Redis does; a library that returns its table
 * without setting a global (lua-cjson) gets the global here. */
static void open_lib(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1) && *name) {
        lua_getglobal(L, name);
        int missing = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (missing) {
            lua_pushvalue(L, -1);
            lua_setglobal(L, name);
        }
    }
    lua_pop(L, 1);
}

/* The libraries scripts find in Redis 7.0, but debug: debug.getregistry
 * and debug.setmetatable reach around any sandbox (the error handler reads
 * the stack through the C API instead). cmsgpack and struct are ours
 * (lua_cmsgpack.c, lua_struct.c: Debian has neither). */
static void open_libs(lua_State *L)
{
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    open_lib(L, "bit", luaopen_bit);
    open_lib(L, "cmsgpack", luaopen_cmsgpack);
    open_lib(L, "struct", luaopen_struct);
}

/* ---- read-only tables -----------------------------------------------------
 * Redis 7.0 makes the globals and every library table read-only, so one
 * script cannot change what the next one sees. Lua 5.1 has no such flag:
 * each protected table is an empty proxy whose metatable reads through to
 * the real table and refuses writes; rawset and getfenv are wrapped so
 * they cannot reach around the proxies. */
static int ro_newindex(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }
int tc_script_ro_newindex(lua_State *L) { return ro_newindex(L); }

/* Reading a global that does not exist is an error, as in Redis. */
static int globals_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1)) return 1;
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

/* Replaces the table at idx by a read-only proxy of it (pushed). */
static void push_proxy(lua_State *L, int idx, int strict)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L);                       /* proxy */
    lua_newtable(L);                       /* its metatable */
    lua_pushvalue(L, idx);
    if (strict) lua_pushcclosure(L, globals_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__tc_readonly");
    lua_pushboolean(L, 0);                 /* setmetatable on it fails, getmetatable says false */
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

void tc_script_push_proxy(lua_State *L, int idx, int strict) { push_proxy(L, idx, strict); }

static int is_readonly(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    lua_getfield(L, -1, "__tc_readonly");
    int ro = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return ro;
}

static int safe_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_readonly(L, 1)) return luaL_error(L, "Attempt to modify a readonly table");
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* getfenv of a library function would hand out the real globals. */
static int safe_getfenv(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1)); /* the original getfenv */
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);
    int real = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    if (real) {
        lua_pop(L, 1);
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    }
    return 1;
}

static void protect_globals(lua_State *L)
{
    static const char *const libs[] = {"redis", "string", "table", "math", "cjson", "bit", "struct", "cmsgpack", "coroutine"};
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    int g = lua_gettop(L);
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        lua_getfield(L, g, libs[i]);
        if (lua_istable(L, -1)) {
            push_proxy(L, -1, 0);
            lua_setfield(L, g, libs[i]);
        }
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, safe_rawset);
    lua_setfield(L, g, "rawset");
    lua_getfield(L, g, "getfenv");
    lua_pushcclosure(L, safe_getfenv, 1);
    lua_setfield(L, g, "getfenv");
    lua_pushvalue(L, g);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);
    push_proxy(L, g, 1);
    /* _G too must name the proxy, not the real table (fuzz_script found
     * rawset(_G, ...) reaching around it) */
    lua_pushvalue(L, -1);
    lua_setfield(L, g, "_G");
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_pop(L, 1);
}

/* math.random and math.randomseed on Redis's rand48. */
static int math_random(lua_State *L)
{
    tc_script_engine *e = tc_script_engine_from(L);
    lua_Number r = (lua_Number)(tc_script_lrand48(e) % 2147483647) / (lua_Number)2147483647;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, (lua_Number)((long long)(r * u) + 1));
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, (lua_Number)((long long)(r * (u - l + 1)) + l));
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int math_randomseed(lua_State *L)
{
    tc_script_srand48(tc_script_engine_from(L), (int32_t)luaL_checkint(L, 1));
    return 0;
}

/* Redis 7.0's pcall: an error raised as a table (redis.call's, or
 * error({err=...})) is caught as the string in its err field. */
static int redis_pcall(lua_State *L)
{
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) lua_replace(L, -2);
            else lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

static lua_State *new_state(tc_script_engine *e)
{
    lua_State *L = lua_newstate(lua_alloc, e);
    if (!L) return NULL;
    open_libs(L);
    /* what Redis 7.0 takes away */
    static const char *const removed[] = {"loadfile", "dofile", "print"};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_pushcfunction(L, redis_pcall);
    lua_setglobal(L, "pcall");
    lua_getglobal(L, "math");
    lua_pushcfunction(L, math_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, math_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    tc_script_open_redis(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
    protect_globals(L);
    tc_fn_open(L);
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);
    return L;
}

tc_script_engine *tc_script_engine_of(tc_server *s)
{
    if (s->scripts) return s->scripts;
    tc_script_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->srv = s;
    e->rand48 = RAND48_START;
    e->L = new_state(e);
    if (!e->L) {
        free(e);
        return NULL;
    }
    s->scripts = e;
    return e;
}

void tc_script_engine_free(tc_script_engine *e)
{
    if (!e) return;
    tc_fn_free_all(e);
    if (e->L) lua_close(e->L);
    free(e);
}

size_t tc_script_memory(const tc_server *s) { return s->scripts ? s->scripts->mem_used : 0; }
size_t tc_script_count(const tc_server *s) { return s->scripts ? s->scripts->nscripts : 0; }

/* ---- the cache --------------------------------------------------------- */

/* Pushes the compiled function of sha, or nothing (returns 0). */
int tc_script_find(tc_script_engine *e, const char *sha)
{
    lua_getfield(e->L, LUA_REGISTRYINDEX, REG_FUNCS);
    lua_getfield(e->L, -1, sha);
    lua_remove(e->L, -2);
    if (lua_isfunction(e->L, -1)) return 1;
    lua_pop(e->L, 1);
    return 0;
}

/* Compiles body and caches it under its SHA1 (out). 0, or -1 with Redis's
 * compile error in err. */
int tc_script_add(tc_script_engine *e, const char *body, size_t len, char sha[41], char *err, size_t errlen)
{
    lua_State *L = e->L;
    tc_script_sha1hex(body, len, sha);
    if (tc_script_find(e, sha)) {
        lua_pop(L, 1);
        return 0;
    }
    if (luaL_loadbuffer(L, body, len, "@user_script") != 0) {
        snprintf(err, errlen, "ERR Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, sha);
    lua_pop(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_pushlstring(L, body, len);
    lua_setfield(L, -2, sha);
    lua_pop(L, 1);
    e->nscripts++;
    if (e->rec) tc_script_record_new_body(e->rec, body, len);
    return 0;
}

int tc_script_exists(tc_script_engine *e, const char *sha, size_t len)
{
    char low[41];
    if (len != 40) return 0;
    for (size_t i = 0; i < 40; i++) low[i] = (char)((sha[i] >= 'A' && sha[i] <= 'Z') ? sha[i] + 32 : sha[i]);
    low[40] = '\0';
    int found = tc_script_find(e, low);
    if (found) lua_pop(e->L, 1);
    return found;
}

void tc_script_cache_flush(tc_server *s)
{
    tc_script_engine *e = s->scripts;
    if (!e || e->run) return; /* never under a running script (SCRIPT is not callable from one) */
    lua_newtable(e->L);
    lua_setfield(e->L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_newtable(e->L);
    lua_setfield(e->L, LUA_REGISTRYINDEX, REG_FUNCS);
    e->nscripts = 0;
    lua_gc(e->L, LUA_GCCOLLECT, 0);
}

void tc_script_cache_each(tc_server *s, tc_script_body_fn fn, void *ud)
{
    tc_script_engine *e = s->scripts;
    if (!e) return;
    lua_State *L = e->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_BODIES);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t len;
        const char *body = lua_tolstring(L, -1, &len);
        fn(ud, body, len);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int tc_script_cache_load(tc_server *s, const char *body, size_t len, char *err, size_t errlen)
{
    tc_script_engine *e = tc_script_engine_of(s);
    if (!e) {
        snprintf(err, errlen, "out of memory making the Lua state");
        return -1;
    }
    char sha[41];
    return tc_script_add(e, body, len, sha, err, errlen);
}

/* ---- running ----------------------------------------------------------- */

/* Redis 7.0's error handler: whatever was raised becomes a table with
 * err (a string error gets "ERR " in front) and where in the script it
 * happened (source, line), skipping a C function that raised it. */
static int error_handler(lua_State *L)
{
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar);
    if (have && strcmp(ar.what, "C") == 0) have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar);
    if (!lua_istable(L, 1)) {
        const char *msg;
        if (lua_isstring(L, 1)) msg = lua_tostring(L, 1);
        else if (lua_isboolean(L, 1)) msg = lua_toboolean(L, 1) ? "true" : "false";
        else if (lua_isnil(L, 1)) msg = "nil";
        else msg = luaL_typename(L, 1);
        lua_newtable(L);
        lua_pushfstring(L, "ERR %s", msg);
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (have) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 1, "source");
        lua_pushinteger(L, ar.currentline);
        lua_setfield(L, 1, "line");
    }
    lua_settop(L, 1);
    return 1;
}

static void push_array(lua_State *L, size_t n, const tc_slice *v)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].p, v[i].len);
        lua_rawseti(L, -2, (int)i + 1);
    }
}

/* KEYS and ARGV, in the real globals (the proxy refuses writes). */
static void set_array(lua_State *L, const char *name, size_t n, const tc_slice *v)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);
    push_array(L, n, v);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

#define GC_PERIOD 50

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t tc_script_run_ms(const tc_script_run *run) { return (mono_us() - run->start_us) / 1000; }

/* Runs the function on top of L (popped) with KEYS and ARGV (an EVAL) or
 * with keys and args as its two arguments (a function), replying in
 * run->ctx->r. */
void tc_script_call(tc_script_engine *e, tc_script_run *run, size_t nkeys, const tc_slice *keys, size_t nargs,
                    const tc_slice *args)
{
    lua_State *L = e->L;
    tc_reply *r = run->ctx->r;
    int nparams = 0;
    if (run->function) {
        /* a function gets them as its two arguments (keys, args) */
        push_array(L, nkeys, keys);
        push_array(L, nargs, args);
        nparams = 2;
    } else {
        set_array(L, "KEYS", nkeys, keys);
        set_array(L, "ARGV", nargs, args);
    }
    lua_pushcfunction(L, error_handler);
    lua_insert(L, -2 - nparams);
    int base = lua_gettop(L) - 1 - nparams;
    run->start_us = mono_us();
    run->busy_after_us = (uint64_t)e->srv->cfg.busy_reply_threshold * 1000;
    tc_script_collect_if_full(e, 2);
    e->run = run;
    e->kill = 0;
    int rc = lua_pcall(L, nparams, 1, base);
    e->run = NULL;
    if (e->kill) lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);
    e->kill = 0;
    if (run->busy) tc_notice("the busy script ended after %llu ms", (unsigned long long)(mono_us() - run->start_us) / 1000);
    e->reply_resp = run->resp;
    if (rc == 0) tc_script_reply_value(L, r, 0);
    else tc_script_reply_error(L, r, run->name ? run->name : run->sha);
    lua_settop(L, base - 1);
    /* A collection step every GC_PERIOD scripts, of that many steps' work,
     * as Redis does: garbage does not wait for Lua's own full cycle, and a
     * step after every script (which starts over marking the sandbox's
     * tables whenever a cycle ends) took a quarter of a small script's CPU. */
    if (++e->gc_calls >= GC_PERIOD) {
        e->gc_calls = 0;
        lua_gc(L, LUA_GCSTEP, GC_PERIOD);
    }
}
