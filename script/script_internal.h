/* What the files of script/ share; nothing outside script/ includes it. */
#ifndef TC_SCRIPT_INTERNAL_H
#define TC_SCRIPT_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "commands.h"
#include "function_meta.h"
#include "script.h"
#include "server.h"

/* A function of a library: its Lua closure is registry[ref]. */
typedef struct tc_fn_func {
    char *name;
    char *desc;           /* NULL: none */
    size_t desc_len;
    unsigned flags;       /* TC_FN_* (function_meta.h) */
    int ref;
} tc_fn_func;

/* A library: its whole code (the first line included, as FUNCTION LIST
 * WITHCODE shows it) and its functions in registration order. */
typedef struct tc_fn_lib {
    char *name;
    char *code;
    size_t code_len;
    tc_fn_func *fns;
    size_t nfns, cap;
} tc_fn_lib;

typedef struct tc_fn_libset {
    tc_fn_lib **v;
    size_t n, cap;
} tc_fn_libset;

/* One script being run (EVAL & co.): what redis.call needs. */
typedef struct tc_script_run {
    tc_ctx *ctx;          /* EVAL's own context: server, client, now_ms, rng */
    int db;               /* the database its commands run in (SELECT inside moves it) */
    int read_only;        /* EVAL_RO / EVALSHA_RO: writes refused */
    int wrote;            /* a write ran (SCRIPT KILL then answers -UNKILLABLE) */
    int resp;             /* the protocol redis.call's replies are read in: redis.setresp */
    char sha[41];
    const char *name;     /* FCALL: the function's name (errors say it where EVAL says sha) */
    int function;         /* FCALL/FCALL_RO: keys and args are its two arguments, not KEYS/ARGV */
    uint64_t start_us;    /* monotonic */
    uint64_t busy_after_us; /* busy-reply-threshold when it started */
    int busy;             /* past it: other clients get -BUSY */
    uint64_t served_us;   /* the last pass that answered them */
} tc_script_run;

struct tc_script_engine {
    tc_server *srv;
    lua_State *L;
    size_t mem_used;      /* bytes the allocator handed Lua */
    size_t nscripts;      /* bodies in the cache */
    tc_script_run *run;   /* the script running now, NULL between scripts */
    int kill;             /* SCRIPT KILL arrived while it ran */
    uint64_t rand48;      /* math.random's generator: Redis's rand48 */
    int reply_resp;       /* the protocol the last script set (redis.setresp): how its booleans reply */
    unsigned gc_calls;    /* scripts since the last collection step */
    tc_script_recording *rec; /* replication by effects in progress (record.c), or NULL */
    /* Redis 7 functions (function.c) */
    tc_fn_libset libs;    /* the libraries (FUNCTION LOAD) */
    tc_fn_lib *loading;   /* the library whose code runs now (FUNCTION LOAD), else NULL */
    uint32_t load_ticks;  /* hook calls during that load: its budget */
};

/* engine.c: a full collection when Lua holds more than 1/share of
 * script_memory_limit (Lua 5.1 has no emergency collection). */
void tc_script_collect_if_full(tc_script_engine *e, unsigned share);
/* engine.c: the state of L's owner. */
tc_script_engine *tc_script_engine_from(lua_State *L);
/* redis_lib.c: the redis table and the sandbox's replacements. */
void tc_script_open_redis(lua_State *L);
/* convert.c: a command's reply (RESP bytes in p[0..len)) pushed as Lua
 * values, Redis's way for the protocol it was written in; returns the
 * bytes read, 0 if malformed (then nothing is pushed). */
size_t tc_script_push_reply(lua_State *L, const char *p, size_t len);
/* The value on top of L as a reply in r's protocol (Redis's conversion:
 * numbers truncated to integers, false -> nil, tables up to the first
 * nil, {ok=...}, {err=...}, RESP3 types); the value stays. */
void tc_script_reply_value(lua_State *L, tc_reply *r, int depth);
/* The error on top of L as the reply of a failed script: "<err> script:
 * <sha>, on @user_script:<line>." as Redis 7.0 words it. */
void tc_script_reply_error(lua_State *L, tc_reply *r, const char *sha);

/* engine.c: the cache. tc_script_find pushes sha's compiled function
 * (1) or nothing (0); tc_script_add compiles and caches body under its
 * SHA1 (0, or -1 with Redis's compile error in err); tc_script_exists
 * takes any case. */
int tc_script_find(tc_script_engine *e, const char *sha);
int tc_script_add(tc_script_engine *e, const char *body, size_t len, char sha[41], char *err, size_t errlen);
int tc_script_exists(tc_script_engine *e, const char *sha, size_t len);
/* Runs the function on top of L (popped) with KEYS and ARGV set (an
 * EVAL), or with keys and args as its arguments (run->function); the
 * reply (or the error) goes to run->ctx->r. */
void tc_script_call(tc_script_engine *e, tc_script_run *run, size_t nkeys, const tc_slice *keys, size_t nargs,
                    const tc_slice *args);

/* record.c: why a write cannot be recorded (NULL: it can); journals the
 * keys of a write about to run in database db and records it (0, or -1
 * out of memory); remembers a body new to the cache. */
int tc_script_record_write(tc_script_recording *rec, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv);
void tc_script_record_new_body(tc_script_recording *rec, const char *body, size_t len);

/* engine.c, for function.c: a read-only proxy of the table at idx
 * (pushed; strict: reading a missing key is Redis's "nonexistent global
 * variable" error), and the write refusal the proxies use. */
void tc_script_push_proxy(lua_State *L, int idx, int strict);
int tc_script_ro_newindex(lua_State *L);
#define TC_SCRIPT_REG_GLOBALS "tc_globals" /* the real globals behind the read-only proxy */

/* function.c: the functions' environment and load-time API (made with
 * the state); a hook tick during a load (raises once over budget);
 * freeing every library (engine end). */
void tc_fn_open(lua_State *L);
void tc_fn_load_tick(tc_script_engine *e);
void tc_fn_free_all(tc_script_engine *e);
/* Sets of libraries: free one library, empty a set, find a library by
 * name (exact; *at its index), find a function by name (any case) in any
 * library but skip, append, remove the one at an index (not freed). */
void tc_fn_lib_free(tc_script_engine *e, tc_fn_lib *lib);
void tc_fn_libset_clear(tc_script_engine *e, tc_fn_libset *set);
tc_fn_lib *tc_fn_libset_find(const tc_fn_libset *set, const char *name, size_t len, size_t *at);
tc_fn_func *tc_fn_libset_function(const tc_fn_libset *set, const char *name, size_t len, const tc_fn_lib *skip);
int tc_fn_libset_add(tc_fn_libset *set, tc_fn_lib *lib);
void tc_fn_libset_remove(tc_fn_libset *set, size_t at);
/* Loads a library's code (first line, then its top-level code with the
 * load-time API) into set, as FUNCTION LOAD [REPLACE] does: 0 (*made: the
 * library, now in set), or -1 with Redis's error in err and set as it
 * was. */
int tc_fn_create(tc_script_engine *e, tc_fn_libset *set, const char *code, size_t len, int replace,
                 const tc_fn_lib **made, char *err, size_t errlen);

/* engine.c: how long the script has run (FUNCTION STATS). */
uint64_t tc_script_run_ms(const tc_script_run *run);
/* cmd_function.c: FUNCTION STATS (also while a script runs). */
void tc_function_reply_stats(tc_script_engine *e, tc_reply *r);

/* Redis's rand48: the same numbers math.random draws in Redis. */
void tc_script_srand48(tc_script_engine *e, int32_t seed);
int32_t tc_script_lrand48(tc_script_engine *e);

#endif
