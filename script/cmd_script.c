/* EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT. */
#include <stdio.h>
#include <string.h>

#include "script_internal.h"

#define ERR_NOSCRIPT "NOSCRIPT No matching script. Please use EVAL."

/* numkeys of EVAL & co.: 0, or -1 with Redis's error replied. */
static int parse_numkeys(tc_ctx *c, long long *numkeys)
{
    if (tc_parse_ll(c->argv[2].p, c->argv[2].len, numkeys) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return -1;
    }
    if (*numkeys < 0) {
        tc_reply_error(c->r, "ERR Number of keys can't be negative");
        return -1;
    }
    if ((unsigned long long)*numkeys > c->argc - 3) {
        tc_reply_error(c->r, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    return 0;
}

static tc_script_engine *engine(tc_ctx *c)
{
    tc_script_engine *e = tc_script_engine_of(c->srv);
    if (!e) tc_reply_error(c->r, "ERR out of memory (the Lua state could not be made)");
    return e;
}

/* The body (EVAL) or its SHA1 (EVALSHA) in argv[1], then numkeys, keys,
 * args: runs it. A SELECT inside moves the script's commands only, not
 * its caller (Redis 7). */
static void eval_generic(tc_ctx *c, int by_sha, int read_only)
{
    long long numkeys;
    if (parse_numkeys(c, &numkeys) != 0) return;
    tc_script_engine *e = engine(c);
    if (!e) return;
    tc_script_run run = {.ctx = c, .db = c->db, .read_only = read_only, .resp = 2};
    if (by_sha) {
        const tc_slice *a = &c->argv[1];
        if (a->len != 40) {
            tc_reply_error(c->r, ERR_NOSCRIPT);
            return;
        }
        for (size_t i = 0; i < 40; i++) run.sha[i] = (char)((a->p[i] >= 'A' && a->p[i] <= 'Z') ? a->p[i] + 32 : a->p[i]);
        run.sha[40] = '\0';
    } else {
        char err[1024];
        if (tc_script_add(e, c->argv[1].p, c->argv[1].len, run.sha, err, sizeof err) != 0) {
            tc_reply_error(c->r, err);
            return;
        }
    }
    if (!tc_script_find(e, run.sha)) {
        tc_reply_error(c->r, ERR_NOSCRIPT);
        return;
    }
    int caller_db = c->client ? c->client->db : 0;
    tc_script_call(e, &run, (size_t)numkeys, c->argv + 3, c->argc - 3 - (size_t)numkeys,
                   c->argv + 3 + numkeys);
    if (c->client) c->client->db = caller_db;
}

void tc_cmd_eval(tc_ctx *c) { eval_generic(c, 0, 0); }
void tc_cmd_evalsha(tc_ctx *c) { eval_generic(c, 1, 0); }
void tc_cmd_eval_ro(tc_ctx *c) { eval_generic(c, 0, 1); }
void tc_cmd_evalsha_ro(tc_ctx *c) { eval_generic(c, 1, 1); }

static void script_help(tc_reply *r)
{
    static const char *const lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache (on every node of the cluster).",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it (on every node of the cluster).",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof lines[0];
    tc_reply_array(r, n);
    for (size_t i = 0; i < n; i++) tc_reply_status(r, lines[i]);
}

void tc_cmd_script(tc_ctx *c)
{
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "help") && c->argc == 2) {
        script_help(c->r);
        return;
    }
    const char *name = NULL;
    if (tc_arg_is(sub, "load")) name = c->argc == 3 ? NULL : "load";
    else if (tc_arg_is(sub, "exists")) name = c->argc >= 3 ? NULL : "exists";
    else if (tc_arg_is(sub, "kill")) name = c->argc == 2 ? NULL : "kill";
    else if (tc_arg_is(sub, "debug")) name = c->argc == 3 ? NULL : "debug";
    else if (!tc_arg_is(sub, "flush")) {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try SCRIPT HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
        return;
    }
    if (name) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for 'script|%s' command", name);
        return;
    }
    if (tc_arg_is(sub, "flush")) {
        if (c->argc > 3 || (c->argc == 3 && !tc_arg_is(&c->argv[2], "sync") && !tc_arg_is(&c->argv[2], "async"))) {
            tc_reply_error(c->r, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        tc_script_cache_flush(c->srv);
        tc_reply_ok(c->r);
        return;
    }
    if (tc_arg_is(sub, "kill")) {
        /* a command is being served, so no script runs now */
        tc_reply_error(c->r, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (tc_arg_is(sub, "debug")) {
        tc_reply_error(c->r, "ERR SCRIPT DEBUG is not supported: tricache has no Lua debugger");
        return;
    }
    tc_script_engine *e = engine(c);
    if (!e) return;
    if (tc_arg_is(sub, "exists")) {
        tc_reply_array(c->r, c->argc - 2);
        for (size_t i = 2; i < c->argc; i++) tc_reply_int(c->r, tc_script_exists(e, c->argv[i].p, c->argv[i].len));
        return;
    }
    /* LOAD */
    char sha[41], err[1024];
    if (tc_script_add(e, c->argv[2].p, c->argv[2].len, sha, err, sizeof err) != 0) {
        tc_reply_error(c->r, err);
        return;
    }
    tc_reply_bulk(c->r, sha, 40);
}
