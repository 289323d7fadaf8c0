/* FUNCTION, FCALL and FCALL_RO (Redis 7 functions), with Redis 7.0's
 * replies and error texts. The libraries live in the engine (function.c);
 * on a replicated node the router logs LOAD, DELETE, FLUSH and RESTORE so
 * that every node applies them (tc_function_cmd_changes_libraries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evict.h"
#include "glob.h"
#include "script_internal.h"

static tc_script_engine *engine(tc_ctx *c)
{
    tc_script_engine *e = tc_script_engine_of(c->srv);
    if (!e) tc_reply_error(c->r, "ERR out of memory (the Lua state could not be made)");
    return e;
}

/* ---- FCALL, FCALL_RO ---------------------------------------------------- */

static void fcall_generic(tc_ctx *c, int ro)
{
    tc_script_engine *e = engine(c);
    if (!e) return;
    tc_fn_func *fn = tc_fn_libset_function(&e->libs, c->argv[1].p, c->argv[1].len, NULL);
    if (!fn) {
        tc_reply_error(c->r, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &numkeys) != 0) {
        tc_reply_error(c->r, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > (long long)(c->argc - 3)) {
        tc_reply_error(c->r, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        tc_reply_error(c->r, "ERR Number of keys can't be negative");
        return;
    }
    if ((fn->flags & TC_FN_NO_CLUSTER) && c->srv->cfg.cluster_mode) {
        tc_reply_error(c->r, "ERR Can not run script on cluster, 'no-cluster' flag is set.");
        return;
    }
    if (!(fn->flags & TC_FN_NO_WRITES) && ro) {
        tc_reply_error(c->r, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    /* a node of its own makes room as Redis does before a write; on a
     * replicated node the primary's eviction is logged, never local */
    if (!(fn->flags & (TC_FN_NO_WRITES | TC_FN_ALLOW_OOM)) && !c->srv->repl.ops && c->srv->cfg.maxmemory &&
        tc_evict_local(c->srv, 0) != 0) {
        tc_reply_error(c->r, TC_ERR_OOM); /* Redis refuses it before the script's own check: its words */
        return;
    }
    tc_script_run run = {.ctx = c, .db = c->db, .read_only = ro || (fn->flags & TC_FN_NO_WRITES), .resp = 2,
                         .name = fn->name, .function = 1};
    memcpy(run.sha, "function", 9);
    lua_rawgeti(e->L, LUA_REGISTRYINDEX, fn->ref);
    int caller_db = c->client ? c->client->db : 0;
    tc_script_call(e, &run, (size_t)numkeys, c->argv + 3, c->argc - 3 - (size_t)numkeys, c->argv + 3 + numkeys);
    if (c->client) c->client->db = caller_db;
}

void tc_cmd_fcall(tc_ctx *c) { fcall_generic(c, 0); }
void tc_cmd_fcall_ro(tc_ctx *c) { fcall_generic(c, 1); }

/* ---- FUNCTION ----------------------------------------------------------- */

static void function_help(tc_reply *r)
{
    static const char *const lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <library code>",
        "    Load a library whose code starts with '#!lua name=<library>' (on every node of the cluster).",
        "DELETE <library name>",
        "    Delete a library and its functions (on every node of the cluster).",
        "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
        "    The libraries: name, engine, functions (name, description, flags), and code with WITHCODE.",
        "STATS",
        "    The function running now (or nil) and the number of libraries and functions.",
        "KILL",
        "    Stop the function running now, if it has not written.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete every library (on every node of the cluster).",
        "DUMP",
        "    A payload of every library for FUNCTION RESTORE (tricache's own format, not Redis's RDB form).",
        "RESTORE <payload> [FLUSH|APPEND|REPLACE]",
        "    Load the libraries of a payload: FLUSH drops the existing ones first, APPEND (the default)",
        "    fails on a library that exists, REPLACE replaces it (on every node of the cluster).",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof lines[0];
    tc_reply_array(r, n);
    for (size_t i = 0; i < n; i++) tc_reply_status(r, lines[i]);
}

static void reply_flags(tc_reply *r, unsigned flags)
{
    size_t n = 0;
    for (int i = 0; i < TC_FN_NFLAGS; i++) n += (flags >> i) & 1;
    tc_reply_set(r, n);
    for (int i = 0; i < TC_FN_NFLAGS; i++)
        if (flags & (1u << i)) tc_reply_status(r, tc_fn_flag_name(i));
}

static void function_list(tc_ctx *c, tc_script_engine *e)
{
    int with_code = 0;
    const tc_slice *pattern = NULL;
    for (size_t i = 2; i < c->argc; i++) {
        const tc_slice *a = &c->argv[i];
        if (!with_code && tc_arg_is(a, "withcode")) {
            with_code = 1;
            continue;
        }
        if (!pattern && tc_arg_is(a, "libraryname")) {
            if (i + 1 >= c->argc) {
                tc_reply_error(c->r, "ERR library name argument was not given");
                return;
            }
            pattern = &c->argv[++i];
            continue;
        }
        tc_reply_errorf(c->r, "ERR Unknown argument %.*s", (int)(a->len > 128 ? 128 : a->len), a->p);
        return;
    }
    const tc_fn_libset *set = &e->libs;
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++)
        if (!pattern || tc_glob_match(pattern->p, pattern->len, set->v[i]->name, strlen(set->v[i]->name), 1)) n++;
    tc_reply_array(c->r, n);
    for (size_t i = 0; i < set->n; i++) {
        const tc_fn_lib *lib = set->v[i];
        if (pattern && !tc_glob_match(pattern->p, pattern->len, lib->name, strlen(lib->name), 1)) continue;
        tc_reply_map(c->r, with_code ? 4 : 3);
        tc_reply_bulks(c->r, "library_name");
        tc_reply_bulks(c->r, lib->name);
        tc_reply_bulks(c->r, "engine");
        tc_reply_bulks(c->r, "LUA");
        tc_reply_bulks(c->r, "functions");
        tc_reply_array(c->r, lib->nfns);
        for (size_t j = 0; j < lib->nfns; j++) {
            const tc_fn_func *fn = &lib->fns[j];
            tc_reply_map(c->r, 3);
            tc_reply_bulks(c->r, "name");
            tc_reply_bulks(c->r, fn->name);
            tc_reply_bulks(c->r, "description");
            if (fn->desc) tc_reply_bulk(c->r, fn->desc, fn->desc_len);
            else tc_reply_null(c->r);
            tc_reply_bulks(c->r, "flags");
            reply_flags(c->r, fn->flags);
        }
        if (with_code) {
            tc_reply_bulks(c->r, "library_code");
            tc_reply_bulk(c->r, lib->code, lib->code_len);
        }
    }
}

void tc_function_reply_stats(tc_script_engine *e, tc_reply *r)
{
    tc_reply_map(r, 2);
    tc_reply_bulks(r, "running_script");
    tc_script_run *run = e->run;
    if (!run) {
        tc_reply_null(r);
    } else {
        tc_reply_map(r, 3);
        tc_reply_bulks(r, "name");
        tc_reply_bulks(r, run->name ? run->name : run->sha);
        tc_reply_bulks(r, "command");
        tc_reply_array(r, run->ctx->argc);
        for (size_t i = 0; i < run->ctx->argc; i++) tc_reply_bulk(r, run->ctx->argv[i].p, run->ctx->argv[i].len);
        tc_reply_bulks(r, "duration_ms");
        tc_reply_int(r, (long long)tc_script_run_ms(run));
    }
    size_t nfns = 0;
    for (size_t i = 0; i < e->libs.n; i++) nfns += e->libs.v[i]->nfns;
    tc_reply_bulks(r, "engines");
    tc_reply_map(r, 1);
    tc_reply_bulks(r, "LUA");
    tc_reply_map(r, 2);
    tc_reply_bulks(r, "libraries_count");
    tc_reply_int(r, (long long)e->libs.n);
    tc_reply_bulks(r, "functions_count");
    tc_reply_int(r, (long long)nfns);
}

static void function_load(tc_ctx *c, tc_script_engine *e)
{
    int replace = 0;
    size_t i = 2;
    for (; i < c->argc - 1; i++) {
        if (tc_arg_is(&c->argv[i], "replace")) {
            replace = 1;
            continue;
        }
        tc_reply_errorf(c->r, "ERR Unknown option given: %.*s", (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len),
                        c->argv[i].p);
        return;
    }
    char err[1024];
    const tc_fn_lib *lib;
    if (tc_fn_create(e, &e->libs, c->argv[i].p, c->argv[i].len, replace, &lib, err, sizeof err) != 0) {
        tc_reply_error(c->r, err);
        return;
    }
    tc_reply_bulks(c->r, lib->name);
}

static void function_dump(tc_ctx *c, tc_script_engine *e)
{
    size_t n = e->libs.n;
    const char **codes = calloc(n ? n : 1, sizeof *codes);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    size_t len = 0;
    char *payload = NULL;
    if (codes && lens) {
        for (size_t i = 0; i < n; i++) {
            codes[i] = e->libs.v[i]->code;
            lens[i] = e->libs.v[i]->code_len;
        }
        payload = tc_fn_payload_encode(n, codes, lens, &len);
    }
    if (payload) tc_reply_bulk(c->r, payload, len);
    else tc_reply_error(c->r, "ERR out of memory");
    free(payload);
    free(codes);
    free(lens);
}

typedef struct restore_pass {
    tc_script_engine *e;
    tc_fn_libset made;
    char err[1024];
} restore_pass;

static int restore_one(void *ud, const char *code, size_t len)
{
    restore_pass *rp = ud;
    return tc_fn_create(rp->e, &rp->made, code, len, 0, NULL, rp->err, sizeof rp->err) == 0 ? 0 : 1;
}

/* Moves the libraries of src into e's (FUNCTION RESTORE APPEND/REPLACE):
 * checked whole before anything changes. 0, or -1 with err. */
static int join_libraries(tc_script_engine *e, tc_fn_libset *src, int replace, char *err, size_t errlen)
{
    tc_fn_libset *dst = &e->libs;
    for (size_t i = 0; i < src->n; i++)
        if (tc_fn_libset_find(dst, src->v[i]->name, strlen(src->v[i]->name), NULL) && !replace) {
            snprintf(err, errlen, "ERR Library %.200s already exists", src->v[i]->name);
            return -1;
        }
    /* function names against the libraries that stay */
    for (size_t i = 0; i < dst->n; i++) {
        const tc_fn_lib *lib = dst->v[i];
        if (tc_fn_libset_find(src, lib->name, strlen(lib->name), NULL)) continue; /* replaced */
        for (size_t j = 0; j < lib->nfns; j++)
            if (tc_fn_libset_function(src, lib->fns[j].name, strlen(lib->fns[j].name), NULL)) {
                tc_fn_func *clash = tc_fn_libset_function(src, lib->fns[j].name, strlen(lib->fns[j].name), NULL);
                snprintf(err, errlen, "ERR Function %.200s already exists", clash->name);
                return -1;
            }
    }
    if (dst->cap < dst->n + src->n) {
        tc_fn_lib **v = realloc(dst->v, (dst->n + src->n) * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "ERR out of memory");
            return -1;
        }
        dst->v = v;
        dst->cap = dst->n + src->n;
    }
    for (size_t i = 0; i < src->n; i++) {
        size_t at;
        tc_fn_lib *old = tc_fn_libset_find(dst, src->v[i]->name, strlen(src->v[i]->name), &at);
        if (old) {
            dst->v[at] = src->v[i];
            tc_fn_lib_free(e, old);
        } else {
            dst->v[dst->n++] = src->v[i];
        }
    }
    src->n = 0;
    return 0;
}

static void function_restore(tc_ctx *c, tc_script_engine *e)
{
    if (c->argc > 4) {
        tc_reply_errorf(c->r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try FUNCTION HELP.",
                        (int)c->argv[1].len, c->argv[1].p);
        return;
    }
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    if (c->argc == 4) {
        const tc_slice *p = &c->argv[3];
        if (tc_arg_is(p, "append")) policy = APPEND;
        else if (tc_arg_is(p, "replace")) policy = REPLACE;
        else if (tc_arg_is(p, "flush")) policy = FLUSH;
        else {
            tc_reply_error(c->r, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    restore_pass rp = {.e = e};
    int rc = tc_fn_payload_decode(c->argv[2].p, c->argv[2].len, restore_one, &rp);
    if (rc == -1) {
        tc_reply_error(c->r, "ERR DUMP payload version or checksum are wrong");
    } else if (rc == -2) {
        tc_reply_error(c->r, "ERR failed loading the given functions payload");
    } else if (rc != 0) {
        tc_reply_error(c->r, rp.err);
    } else if (policy == FLUSH) {
        tc_fn_libset_clear(e, &e->libs);
        e->libs = rp.made;
        rp.made = (tc_fn_libset){0};
        tc_reply_ok(c->r);
    } else if (join_libraries(e, &rp.made, policy == REPLACE, rp.err, sizeof rp.err) != 0) {
        tc_reply_error(c->r, rp.err);
    } else {
        tc_reply_ok(c->r);
    }
    tc_fn_libset_clear(e, &rp.made);
}

/* Redis 7.0's arity of each subcommand (name included), or 0: unknown. */
static int sub_arity(const tc_slice *sub, const char **name)
{
    static const struct {
        const char *name;
        int arity;
    } subs[] = {{"delete", 3}, {"dump", 2},     {"flush", -2}, {"help", 2},  {"kill", 2},
                {"list", -2},  {"load", -3},    {"restore", -3}, {"stats", 2}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (tc_arg_is(sub, subs[i].name)) {
            *name = subs[i].name;
            return subs[i].arity;
        }
    return 0;
}

void tc_cmd_function(tc_ctx *c)
{
    const tc_slice *sub = &c->argv[1];
    const char *name;
    int arity = sub_arity(sub, &name);
    if (!arity) {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try FUNCTION HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
        return;
    }
    if ((arity > 0 && c->argc != (size_t)arity) || (arity < 0 && c->argc < (size_t)-arity)) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for 'function|%s' command", name);
        return;
    }
    if (strcmp(name, "help") == 0) {
        function_help(c->r);
        return;
    }
    if (strcmp(name, "kill") == 0) {
        /* a command is being served, so no script runs now */
        tc_reply_error(c->r, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (strcmp(name, "flush") == 0) {
        if (c->argc > 3) {
            tc_reply_errorf(c->r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try FUNCTION HELP.",
                            (int)sub->len, sub->p);
            return;
        }
        if (c->argc == 3 && !tc_arg_is(&c->argv[2], "sync") && !tc_arg_is(&c->argv[2], "async")) {
            tc_reply_error(c->r, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
    }
    tc_script_engine *e = engine(c);
    if (!e) return;
    if (strcmp(name, "flush") == 0) {
        tc_fn_libset_clear(e, &e->libs);
        lua_gc(e->L, LUA_GCCOLLECT, 0);
        tc_reply_ok(c->r);
    } else if (strcmp(name, "delete") == 0) {
        size_t at;
        tc_fn_lib *lib = tc_fn_libset_find(&e->libs, c->argv[2].p, c->argv[2].len, &at);
        if (!lib) {
            tc_reply_error(c->r, "ERR Library not found");
            return;
        }
        tc_fn_libset_remove(&e->libs, at);
        tc_fn_lib_free(e, lib);
        tc_reply_ok(c->r);
    } else if (strcmp(name, "list") == 0) {
        function_list(c, e);
    } else if (strcmp(name, "stats") == 0) {
        tc_function_reply_stats(e, c->r);
    } else if (strcmp(name, "load") == 0) {
        function_load(c, e);
    } else if (strcmp(name, "dump") == 0) {
        function_dump(c, e);
    } else {
        function_restore(c, e);
    }
}

/* ---- what the rest of the node asks ------------------------------------- */

int tc_function_flags(tc_server *s, const tc_slice *name, unsigned *flags)
{
    tc_script_engine *e = s->scripts;
    tc_fn_func *fn = e ? tc_fn_libset_function(&e->libs, name->p, name->len, NULL) : NULL;
    if (!fn) return 0;
    *flags = fn->flags;
    return 1;
}

int tc_function_cmd_changes_libraries(size_t argc, const tc_slice *argv)
{
    return argc >= 2 && (tc_arg_is(&argv[1], "load") || tc_arg_is(&argv[1], "delete") ||
                         tc_arg_is(&argv[1], "flush") || tc_arg_is(&argv[1], "restore"));
}

size_t tc_function_library_count(const tc_server *s) { return s->scripts ? s->scripts->libs.n : 0; }

void tc_function_each(tc_server *s, tc_function_lib_fn fn, void *ud)
{
    tc_script_engine *e = s->scripts;
    if (!e) return;
    for (size_t i = 0; i < e->libs.n; i++) fn(ud, e->libs.v[i]->name, e->libs.v[i]->code, e->libs.v[i]->code_len);
}

int tc_function_replace_all(tc_server *s, size_t n, const tc_slice *codes)
{
    tc_script_engine *e = s->scripts;
    if (!n && !e) return 0;
    if (!e && !(e = tc_script_engine_of(s))) return -1;
    if (e->run) return -1; /* never under a running script */
    tc_fn_libset_clear(e, &e->libs);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char err[1024];
        if (tc_fn_create(e, &e->libs, codes[i].p, codes[i].len, 0, NULL, err, sizeof err) != 0) failed++;
    }
    return failed ? -1 : 0;
}
