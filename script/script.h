/* Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT): the face of
 * script/. The node reaches it through the command handlers below (rows of
 * node/commands.c) and frees the engine with the server; the engine reaches
 * the node only through node's headers (commands run through
 * tc_server_run_cmd, as EXEC runs its queue).
 *
 * One Lua 5.1 state per node, made on first use: Redis's sandbox (no os,
 * io, loadfile, dofile, print; globals read-only), Redis's conversions
 * between replies and Lua values (RESP2 and RESP3), a script cache from
 * SHA1 to body, the memory Lua uses counted and capped (script_memory_limit).
 * A script runs on the command thread; the Lua count hook ticks
 * node/progress.h so a long script is not taken for a wedged thread. */
#ifndef TC_SCRIPT_H
#define TC_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "function_meta.h"

struct tc_ctx;
struct tc_server;
struct tc_buf;

typedef struct tc_script_engine tc_script_engine;

/* Command handlers (node/commands.c's table). */
void tc_cmd_eval(struct tc_ctx *c);
void tc_cmd_evalsha(struct tc_ctx *c);
void tc_cmd_eval_ro(struct tc_ctx *c);
void tc_cmd_evalsha_ro(struct tc_ctx *c);
void tc_cmd_script(struct tc_ctx *c);
void tc_cmd_fcall(struct tc_ctx *c);
void tc_cmd_fcall_ro(struct tc_ctx *c);
void tc_cmd_function(struct tc_ctx *c);

/* The server's engine, made on first use; NULL when out of memory. */
tc_script_engine *tc_script_engine_of(struct tc_server *s);
void tc_script_engine_free(tc_script_engine *e);

/* Bytes Lua holds now (INFO used_memory_lua) and the number of cached
 * scripts; 0 before the engine exists. */
size_t tc_script_memory(const struct tc_server *s);
size_t tc_script_count(const struct tc_server *s);

/* The script cache as image records and back (snapshots, backups):
 * calls fn for each cached body; tc_script_cache_load adds one body (its
 * SHA1 is computed again). 0, or -1 (err says why). */
typedef void (*tc_script_body_fn)(void *ud, const char *body, size_t len);
void tc_script_cache_each(struct tc_server *s, tc_script_body_fn fn, void *ud);
int tc_script_cache_load(struct tc_server *s, const char *body, size_t len, char *err, size_t errlen);
/* Empties the cache (SCRIPT FLUSH, and before an image is loaded). */
void tc_script_cache_flush(struct tc_server *s);

/* ---- replication by effects (record.c; the primary's router) ----------
 * Between begin and end, scripts' writes run for real, each journaled
 * first and recorded; end puts the keyspace back as it was (free ends a
 * recording not ended yet). Several scripts may run back to back in one
 * recording, each seeing the ones before: tc_script_record_script starts
 * the next one (the first starts at begin), tc_script_record_take hands
 * out what the current one wrote as "TCEXEC n (argc arg...) x n" (*argc 0:
 * nothing was written), valid until the next script starts or free. The
 * j-th recorded command of a script runs with s->rng seeded
 * tc_mix64(seed_base + j), as TCEXEC seeds it at apply, so the caller runs
 * the script with the entry's clock as now_ms; db is the database its
 * TCEXEC will be logged in. new_body: "SCRIPT LOAD <body>" when the
 * script's body was new to this node's cache (log it too, so every node
 * caches it), else NULL. */
typedef struct tc_script_recording tc_script_recording;
tc_script_recording *tc_script_record_begin(struct tc_server *s, int db, uint64_t seed_base);
void tc_script_record_script(tc_script_recording *rec, int db, uint64_t seed_base);
void tc_script_record_take(tc_script_recording *rec, size_t *argc, const struct tc_slice **argv,
                           const struct tc_slice **new_body);
void tc_script_record_end(tc_script_recording *rec);
/* For EXEC of a transaction that holds a writing script, run on the
 * primary under the router's recording like a script: each write the
 * transaction runs itself (not through redis.call) is journaled and
 * recorded first. 1 recorded, 0 no recording in progress, -1 out of
 * memory. tc_script_record_refusal says why a write cannot be recorded
 * (NULL: it can). */
int tc_script_record_command(struct tc_server *s, int db, const struct tc_cmd *cmd, size_t argc,
                             const struct tc_slice *argv);
const char *tc_script_record_refusal(const struct tc_cmd *cmd, size_t argc, const struct tc_slice *argv);
void tc_script_record_free(tc_script_recording *rec);

/* ---- Redis 7 functions (function.c, cmd_function.c) ---------------------
 * The flags (TC_FN_*, function_meta.h) of the function FCALL names: 1, or
 * 0 when there is no such function. */
int tc_function_flags(struct tc_server *s, const struct tc_slice *name, unsigned *flags);
/* FUNCTION LOAD, DELETE, FLUSH, RESTORE: the libraries are cluster state,
 * so a replicated node logs these (argv[0] is FUNCTION). */
int tc_function_cmd_changes_libraries(size_t argc, const struct tc_slice *argv);
size_t tc_function_library_count(const struct tc_server *s);
/* The libraries as image records and back (snapshots, backups): fn gets
 * each library's name and whole code; replace_all drops every library and
 * loads the given codes (0, or -1 if one failed: it is left out). */
typedef void (*tc_function_lib_fn)(void *ud, const char *name, const char *code, size_t len);
void tc_function_each(struct tc_server *s, tc_function_lib_fn fn, void *ud);
int tc_function_replace_all(struct tc_server *s, size_t n, const struct tc_slice *codes);

/* SHA1 of p as 40 lowercase hex digits. */
void tc_script_sha1hex(const char *p, size_t len, char out[41]);

#endif
