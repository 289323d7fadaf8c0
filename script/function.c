/* Redis 7 function libraries in the engine's Lua state: loading a library
 * (its top-level code runs in a restricted environment where only
 * redis.register_function, redis.log and the version and log constants
 * exist, as in Redis 7.0), the set of libraries, and their lookup.
 *
 * Functions share the EVAL state (one Lua state per node) but not its
 * globals table: every library's code, and so every closure it defines,
 * has one environment table of its own, empty and read-only, whose hidden
 * metatable reads through to the load-time API while a library loads and
 * to the real globals (KEYS and ARGV hidden: a function gets its keys and
 * arguments as parameters) when a function runs. That is how Redis 7.0
 * switches its functions' globals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script_internal.h"

#define REG_FN_ENV "tc_fn_env"           /* the functions' environment table */
#define REG_FN_META "tc_fn_meta"         /* its metatable */
#define REG_FN_RUN_INDEX "tc_fn_run"     /* __index while functions run */
#define REG_FN_LOAD_INDEX "tc_fn_load"   /* __index while a library loads */
/* Redis stops a library's top-level code after 500 ms. Here every node
 * loads every library (FUNCTION LOAD is applied from the log), so the
 * budget is counted in hook calls (100000 instructions each), the same on
 * every node whatever its speed: 1000 is a few hundred ms of plain Lua. */
#define LOAD_TICKS 1000

/* __index while a function runs: the real globals, but KEYS and ARGV (an
 * EVAL's, left in the globals) do not exist for a function, as in Redis. */
static int run_index(lua_State *L)
{
    size_t len;
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &len) : NULL;
    if (!(k && ((len == 4 && memcmp(k, "KEYS", 4) == 0) || (len == 4 && memcmp(k, "ARGV", 4) == 0)))) {
        lua_pushvalue(L, 2);
        lua_rawget(L, lua_upvalueindex(1));
        if (!lua_isnil(L, -1)) return 1;
    }
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

/* __index while a library loads: only the load-time API. */
static int load_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1)) return 1;
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

/* Errors of redis.register_function: raised as Redis raises them, a
 * table whose err is the message with "ERR " in front (no position). */
static int raise_error(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushfstring(L, "ERR %s", msg);
    lua_setfield(L, -2, "err");
    return lua_error(L);
}

/* A string (or number: Lua reads it as one) at idx, malloc'd; NULL when
 * it is neither. */
static char *dup_string(lua_State *L, int idx, size_t *len)
{
    if (!lua_isstring(L, idx)) return NULL;
    lua_pushvalue(L, idx); /* lua_tolstring turns a number into a string in place: on a copy */
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    lua_pop(L, 1);
    if (len) *len = n;
    return copy;
}

typedef struct reg_args {
    char *name;
    char *desc;
    size_t desc_len;
    unsigned flags;
    int ref;
} reg_args;

static int reg_fail(lua_State *L, reg_args *a, const char *msg)
{
    free(a->name);
    free(a->desc);
    if (a->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, a->ref);
    return raise_error(L, msg);
}

/* The flags table on top of the stack. */
static int read_flags(lua_State *L, unsigned *flags)
{
    *flags = 0;
    for (int j = 1;; j++) {
        lua_rawgeti(L, -1, j);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        size_t len;
        unsigned bit = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tolstring(L, -1, &len);
            bit = tc_fn_flag_parse(s, len);
        }
        lua_pop(L, 1);
        if (!bit) return -1;
        *flags |= bit;
    }
}

/* redis.register_function{function_name=..., callback=..., flags=...,
 * description=...}: the table at index 1. */
static int read_named(lua_State *L, reg_args *a)
{
    if (!lua_istable(L, 1))
        return reg_fail(L, a,
                        "calling redis.register_function with a single argument is only applicable to Lua table "
                        "(representing named arguments).");
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (!lua_isstring(L, -2)) return reg_fail(L, a, "named argument key given to redis.register_function is not a string");
        char *key = dup_string(L, -2, NULL);
        if (!key) return reg_fail(L, a, "out of memory");
        int which = strcasecmp(key, "function_name") == 0 ? 1
                    : strcasecmp(key, "description") == 0 ? 2
                    : strcasecmp(key, "callback") == 0    ? 3
                    : strcasecmp(key, "flags") == 0       ? 4
                                                          : 0;
        free(key);
        switch (which) {
        case 1:
            free(a->name);
            if (!(a->name = dup_string(L, -1, NULL)))
                return reg_fail(L, a, "function_name argument given to redis.register_function must be a string");
            break;
        case 2:
            free(a->desc);
            if (!(a->desc = dup_string(L, -1, &a->desc_len)))
                return reg_fail(L, a, "description argument given to redis.register_function must be a string");
            break;
        case 3:
            if (!lua_isfunction(L, -1))
                return reg_fail(L, a, "callback argument given to redis.register_function must be a function");
            if (a->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, a->ref);
            lua_pushvalue(L, -1);
            a->ref = luaL_ref(L, LUA_REGISTRYINDEX);
            break;
        case 4:
            if (!lua_istable(L, -1))
                return reg_fail(L, a, "flags argument to redis.register_function must be a table representing function flags");
            if (read_flags(L, &a->flags) != 0) return reg_fail(L, a, "unknown flag given");
            break;
        default:
            return reg_fail(L, a, "unknown argument given to redis.register_function");
        }
        lua_pop(L, 1);
    }
    if (!a->name) return reg_fail(L, a, "redis.register_function must get a function name argument");
    if (a->ref == LUA_NOREF) return reg_fail(L, a, "redis.register_function must get a callback argument");
    return 0;
}

static int l_register_function(lua_State *L)
{
    tc_script_engine *e = tc_script_engine_from(L);
    tc_fn_lib *lib = e->loading;
    reg_args a = {.ref = LUA_NOREF};
    if (!lib) return reg_fail(L, &a, "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2) return reg_fail(L, &a, "wrong number of arguments to redis.register_function");
    if (argc == 1) {
        read_named(L, &a);
    } else {
        if (!(a.name = dup_string(L, 1, NULL)))
            return reg_fail(L, &a, "first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2)) return reg_fail(L, &a, "second argument to redis.register_function must be a function");
        lua_pushvalue(L, 2);
        a.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    /* Redis 7.0 words a bad function name as it words a bad library name */
    if (!tc_fn_name_valid(a.name, strlen(a.name)))
        return reg_fail(L, &a,
                        "Library names can only contain letters, numbers, or underscores(_) and must be at least one "
                        "character long");
    for (size_t i = 0; i < lib->nfns; i++)
        if (strcmp(lib->fns[i].name, a.name) == 0) return reg_fail(L, &a, "Function already exists in the library");
    if (lib->nfns == lib->cap) {
        size_t cap = lib->cap ? lib->cap * 2 : 4;
        tc_fn_func *v = realloc(lib->fns, cap * sizeof *v);
        if (!v) return reg_fail(L, &a, "out of memory");
        lib->fns = v;
        lib->cap = cap;
    }
    lib->fns[lib->nfns++] = (tc_fn_func){a.name, a.desc, a.desc_len, a.flags, a.ref};
    return 0;
}

/* Copies field name of the table at src into the table on top. */
static void copy_field(lua_State *L, int src, const char *name)
{
    lua_getfield(L, src, name);
    lua_setfield(L, -2, name);
}

void tc_fn_open(lua_State *L)
{
    /* the environment, its metatable, and the two ways it reads */
    lua_newtable(L);
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, TC_SCRIPT_REG_GLOBALS);
    lua_pushcclosure(L, run_index, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_RUN_INDEX);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tc_script_ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__tc_readonly");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_META);
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_ENV);

    /* the load-time API: a redis table with register_function, log and
     * the constants, nothing else (not even the base library) */
    lua_getfield(L, LUA_REGISTRYINDEX, TC_SCRIPT_REG_GLOBALS);
    lua_getfield(L, -1, "redis"); /* the scripts' redis (a proxy: reads go through) */
    int redis = lua_gettop(L);
    lua_newtable(L); /* the API's globals */
    lua_newtable(L); /* its redis */
    lua_pushcfunction(L, l_register_function);
    lua_setfield(L, -2, "register_function");
    static const char *const fields[] = {"log",         "LOG_DEBUG",     "LOG_VERBOSE",      "LOG_NOTICE",
                                         "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) copy_field(L, redis, fields[i]);
    tc_script_push_proxy(L, -1, 1);
    lua_setfield(L, -3, "redis");
    lua_pop(L, 1);
    lua_pushcclosure(L, load_index, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FN_LOAD_INDEX);
    lua_pop(L, 2);
}

void tc_fn_load_tick(tc_script_engine *e)
{
    if (++e->load_ticks <= LOAD_TICKS) return;
    /* raised at every later hook call too, so a pcall cannot swallow it */
    lua_sethook(e->L, lua_gethook(e->L), LUA_MASKLINE, 0);
    raise_error(e->L, "FUNCTION LOAD timeout");
}

/* ---- libraries ---------------------------------------------------------- */

void tc_fn_lib_free(tc_script_engine *e, tc_fn_lib *lib)
{
    if (!lib) return;
    for (size_t i = 0; i < lib->nfns; i++) {
        free(lib->fns[i].name);
        free(lib->fns[i].desc);
        luaL_unref(e->L, LUA_REGISTRYINDEX, lib->fns[i].ref);
    }
    free(lib->fns);
    free(lib->name);
    free(lib->code);
    free(lib);
}

void tc_fn_libset_clear(tc_script_engine *e, tc_fn_libset *set)
{
    for (size_t i = 0; i < set->n; i++) tc_fn_lib_free(e, set->v[i]);
    free(set->v);
    *set = (tc_fn_libset){0};
}

void tc_fn_free_all(tc_script_engine *e) { tc_fn_libset_clear(e, &e->libs); }

tc_fn_lib *tc_fn_libset_find(const tc_fn_libset *set, const char *name, size_t len, size_t *at)
{
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->v[i]->name) == len && memcmp(set->v[i]->name, name, len) == 0) {
            if (at) *at = i;
            return set->v[i];
        }
    return NULL;
}

/* Function names are one namespace across libraries, without case. */
tc_fn_func *tc_fn_libset_function(const tc_fn_libset *set, const char *name, size_t len, const tc_fn_lib *skip)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i] == skip) continue;
        tc_fn_lib *lib = set->v[i];
        for (size_t j = 0; j < lib->nfns; j++)
            if (strlen(lib->fns[j].name) == len && strncasecmp(lib->fns[j].name, name, len) == 0) return &lib->fns[j];
    }
    return NULL;
}

int tc_fn_libset_add(tc_fn_libset *set, tc_fn_lib *lib)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        tc_fn_lib **v = realloc(set->v, cap * sizeof *v);
        if (!v) return -1;
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = lib;
    return 0;
}

void tc_fn_libset_remove(tc_fn_libset *set, size_t at)
{
    memmove(set->v + at, set->v + at + 1, (set->n - at - 1) * sizeof *set->v);
    set->n--;
}

/* Runs the library's code with the load-time API; its functions go into
 * lib. 0, or -1 with Redis's words in err. */
static int run_library_code(tc_script_engine *e, tc_fn_lib *lib, const char *body, size_t len, char *err,
                            size_t errlen)
{
    lua_State *L = e->L;
    if (luaL_loadbuffer(L, body, len, "@user_function") != 0) {
        snprintf(err, errlen, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_ENV);
    lua_setfenv(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_META);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_LOAD_INDEX);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    e->loading = lib;
    e->load_ticks = 0;
    int rc = lua_pcall(L, 0, 0, 0);
    e->loading = NULL;
    lua_sethook(L, lua_gethook(L), LUA_MASKCOUNT, lua_gethookcount(L) ? lua_gethookcount(L) : 100000);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_META);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FN_RUN_INDEX);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    if (rc != 0) {
        const char *msg = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
            snprintf(err, errlen, "ERR Error registering functions: %s", msg ? msg : "ERR unknown error");
            lua_pop(L, 1);
        } else {
            msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "unknown error";
            snprintf(err, errlen, "ERR Error registering functions: ERR %s", msg);
        }
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

int tc_fn_create(tc_script_engine *e, tc_fn_libset *set, const char *code, size_t len, int replace,
                 const tc_fn_lib **made, char *err, size_t errlen)
{
    tc_fn_meta m;
    if (tc_fn_parse_meta(code, len, &m, err, errlen) != 0) {
        tc_fn_meta_free(&m);
        return -1;
    }
    int rc = -1;
    tc_fn_lib *lib = NULL;
    size_t old_at = 0;
    tc_fn_lib *old = NULL;
    if (!tc_fn_name_valid(m.name, m.name_len)) {
        snprintf(err, errlen,
                 "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one "
                 "character long");
        goto done;
    }
    if (strcasecmp(m.engine, "lua") != 0) {
        snprintf(err, errlen, "ERR Engine '%.100s' not found", m.engine);
        goto done;
    }
    old = tc_fn_libset_find(set, m.name, m.name_len, &old_at);
    if (old && !replace) {
        snprintf(err, errlen, "ERR Library '%.200s' already exists", m.name);
        goto done;
    }
    lib = calloc(1, sizeof *lib);
    if (!lib || !(lib->name = strdup(m.name)) || !(lib->code = malloc(len ? len : 1))) {
        snprintf(err, errlen, "ERR out of memory");
        goto done;
    }
    memcpy(lib->code, code, len);
    lib->code_len = len;
    if (run_library_code(e, lib, code + m.body_off, len - m.body_off, err, errlen) != 0) goto done;
    if (lib->nfns == 0) {
        snprintf(err, errlen, "ERR No functions registered");
        goto done;
    }
    for (size_t i = 0; i < lib->nfns; i++)
        if (tc_fn_libset_function(set, lib->fns[i].name, strlen(lib->fns[i].name), old)) {
            snprintf(err, errlen, "ERR Function %.200s already exists", lib->fns[i].name);
            goto done;
        }
    if (old) {
        set->v[old_at] = lib; /* in place of the old one */
        tc_fn_lib_free(e, old);
    } else if (tc_fn_libset_add(set, lib) != 0) {
        snprintf(err, errlen, "ERR out of memory");
        goto done;
    }
    if (made) *made = lib;
    lib = NULL;
    rc = 0;
done:
    tc_fn_lib_free(e, lib);
    tc_fn_meta_free(&m);
    return rc;
}
