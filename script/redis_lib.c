/* The redis table scripts call: call, pcall, error_reply, status_reply,
 * sha1hex, log, setresp, set_repl, replicate_commands, and the constants
 * Redis 7.0 defines (no breakpoint, no debug: those belong to the
 * debugger we do not have). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "cmd_acl.h"
#include "config_redis.h"
#include "log.h"
#include "script_internal.h"

#define REPL_NONE 0
#define REPL_AOF 1
#define REPL_REPLICA 2
#define REPL_ALL 3

/* Commands a script may not call (Redis 7.0's "noscript" flag), beyond
 * the blocking ones, which the table marks. Looked up once into a map by
 * table position: this runs on every redis.call. */
static int not_from_script(const tc_cmd *cmd)
{
    static const char *const names[] = {"auth", "bgsave", "debug", "discard", "eval", "eval_ro", "evalsha",
                                        "evalsha_ro", "exec", "failover", "fcall", "fcall_ro", "function",
                                        "hello", "multi", "psubscribe", "punsubscribe", "quit", "reset", "role", "save", "script",
                                        "shutdown", "subscribe", "unsubscribe", "unwatch", "wait",
                                        "waitaof", "watch", "members", "tcbackup", "tcconfig", "tcevict",
                                        "tcexec", "tcformed", "tclimits", "tcrestore"};
    static unsigned char *refused; /* by table position; never freed: one per process */
    static size_t count;
    const tc_cmd *table = tc_cmd_table(&count);
    if (!refused) {
        refused = calloc(count, 1);
        if (!refused) {
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strcmp(cmd->name, names[i]) == 0) return 1;
            return (cmd->flags & TC_CMD_BLOCKING) != 0;
        }
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const tc_cmd *c = tc_cmd_lookup(names[i], strlen(names[i]));
            if (c) refused[c - table] = 1;
        }
    }
    return (cmd->flags & TC_CMD_BLOCKING) || refused[cmd - table];
}

/* redis.call raises the error table; redis.pcall returns it. */
static int fail(lua_State *L, int raise, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "err");
    if (raise) return lua_error(L);
    return 1;
}

/* The error table on top came from a command the script called and was
 * counted in INFO errorstats already: marked as Redis marks it (a field a
 * script sees), so that the script's reply made from it is not counted
 * again (tc_script_reply_*). */
static void mark_counted(lua_State *L)
{
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ignore_error_stats_update");
}

/* Why a command may not run from this script (NULL: it may). */
static const char *refusal(tc_script_engine *e, tc_script_run *run, const tc_cmd *cmd, size_t argc,
                           const tc_slice *argv)
{
    if (!cmd) return "ERR Unknown Redis command called from script";
    if (!tc_cmd_arity_ok(cmd, argc)) return "ERR Wrong number of args calling Redis command from script";
    if (not_from_script(cmd)) return "ERR This Redis command is not allowed from script";
    if ((cmd->flags & TC_CMD_WRITE) && run->read_only)
        return "ERR Write commands are not allowed from read-only scripts.";
    /* cluster state that the log carries as its own commands, never as a
     * script's effects: changed on the primary alone it would differ */
    if (e->srv->repl.ops && ((cmd->fn == tc_cmd_acl && tc_acl_cmd_changes_users(argc, argv)) ||
                             (cmd->fn == tc_cmd_config && argc >= 4 && tc_arg_is(&argv[1], "set") &&
                              tc_config_cmd_replicated(argc - 2, argv + 2))))
        return "ERR ACL SETUSER/DELUSER and CONFIG SET of cluster-wide parameters cannot run inside a script on a "
               "replicated node";
    if ((cmd->flags & TC_CMD_WRITE) && e->srv->repl.ops) {
        /* replicated: writes only while recorded (EVAL/EVALSHA routed on
         * the primary); a script run anywhere else reads only */
        if (!e->rec) {
            if (tc_server_primary_id(e->srv) != e->srv->self->id)
                return "READONLY You can't write against a read only replica.";
            return "ERR a script that writes cannot run inside MULTI/EXEC on a replicated node";
        }
        const char *why = tc_script_record_refusal(cmd, argc, argv);
        if (why) return why;
    }
    tc_client *c = run->ctx->client;
    if (c) {
        size_t where = 0;
        int rc = tc_acl_check(tc_acl_client_user(e->srv, c), cmd, argc, argv, &where);
        if (rc == TC_ACL_DENIED_CMD) return "ERR The user executing the script can't run this command or subcommand";
        if (rc == TC_ACL_DENIED_KEY)
            return "ERR The user executing the script can't access at least one of the keys mentioned in the "
                   "command arguments";
        if (rc == TC_ACL_DENIED_CHANNEL)
            return "ERR The user executing the script can't publish to the channel mentioned in the command";
    }
    return NULL;
}

static int call(lua_State *L, int raise)
{
    tc_script_engine *e = tc_script_engine_from(L);
    tc_script_run *run = e->run;
    int argc = lua_gettop(L);
    if (!run) return fail(L, raise, "ERR redis.call can only be used inside a script invocation");
    if (argc == 0) return fail(L, raise, "ERR Please specify at least one argument for this redis lib call");
    tc_script_collect_if_full(e, 2);
    tc_slice stack_args[16];
    tc_slice *argv = argc <= 16 ? stack_args : malloc((size_t)argc * sizeof *argv);
    if (!argv) return fail(L, raise, "ERR out of memory");
    for (int i = 1; i <= argc; i++) {
        if (lua_type(L, i) == LUA_TNUMBER) {
            /* Redis formats numbers with %.17g (Lua's own would round to 14 digits) */
            char num[64];
            snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, i));
            lua_pushstring(L, num);
            lua_replace(L, i);
        } else if (lua_type(L, i) != LUA_TSTRING) {
            if (argv != stack_args) free(argv);
            return fail(L, raise, "ERR Lua redis lib command arguments must be strings or integers");
        }
        argv[i - 1].p = lua_tolstring(L, i, &argv[i - 1].len);
    }
    const tc_cmd *cmd = tc_cmd_lookup(argv[0].p, argv[0].len);
    const char *why = refusal(e, run, cmd, (size_t)argc, argv);
    if (why) {
        if (argv != stack_args) free(argv);
        tc_server_count_refused(e->srv, cmd, why);
        fail(L, 0, why);
        mark_counted(L);
        return raise ? lua_error(L) : 1;
    }
    if ((cmd->flags & TC_CMD_WRITE) && e->rec && tc_script_record_write(e->rec, run->db, cmd, (size_t)argc, argv) != 0) {
        if (argv != stack_args) free(argv);
        return fail(L, raise, "ERR out of memory recording the script's writes");
    }
    tc_buf out = {0};
    tc_reply rep = {&out, run->resp};
    e->srv->cmd_uncounted = (cmd->flags & TC_CMD_WRITE) && e->rec;
    tc_server_run_cmd(e->srv, run->ctx->client, &run->db, cmd, (size_t)argc, argv, &rep, run->ctx->now_ms);
    if (cmd->flags & TC_CMD_WRITE) run->wrote = 1;
    if (argv != stack_args) free(argv);
    if (out.oom) {
        tc_buf_free(&out);
        return fail(L, raise, "ERR out of memory");
    }
    size_t used = tc_script_push_reply(L, out.data, out.len);
    int is_error = used && (out.data[0] == '-' || out.data[0] == '!');
    tc_buf_free(&out);
    if (!used) return fail(L, raise, "ERR the command's reply could not be read");
    if (is_error) mark_counted(L); /* by the command's own run */
    if (is_error && raise) return lua_error(L);
    return 1;
}

static int l_call(lua_State *L) { return call(L, 1); }
static int l_pcall(lua_State *L) { return call(L, 0); }

/* Wrong arguments to error_reply / status_reply: Redis returns the error
 * (it is the script's reply unless the script goes on). */
static int l_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return fail(L, 0, "ERR wrong number or type of arguments");
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "err");
    return 1;
}

static int l_status_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) return fail(L, 0, "ERR wrong number or type of arguments");
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int lib_error(lua_State *L, const char *msg);

static int l_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return lib_error(L, "ERR wrong number of arguments");
    size_t len;
    const char *p = lua_tolstring(L, 1, &len);
    char hex[41];
    tc_script_sha1hex(p ? p : "", p ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

/* The error a Redis library function raises: a table with err, which the
 * handler turns into "... script: <sha>, on @user_script:<line>." */
static int lib_error(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "err");
    return lua_error(L);
}

static int l_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return lib_error(L, "ERR redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return lib_error(L, "ERR First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < 0 || level > 3) return lib_error(L, "ERR Invalid debug level.");
    static const int levels[] = {TC_LOG_DEBUG, TC_LOG_INFO, TC_LOG_NOTICE, TC_LOG_WARNING};
    char msg[1024];
    size_t n = 0;
    for (int i = 2; i <= argc && n < sizeof msg - 1; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (!s) continue;
        if (n && n < sizeof msg - 1) msg[n++] = ' ';
        if (len > sizeof msg - 1 - n) len = sizeof msg - 1 - n;
        memcpy(msg + n, s, len);
        n += len;
    }
    msg[n] = '\0';
    tc_log(levels[level], "script: %s", msg);
    return 0;
}

static int l_setresp(lua_State *L)
{
    tc_script_engine *e = tc_script_engine_from(L);
    if (lua_gettop(L) != 1) return lib_error(L, "ERR redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, 1);
    if (resp != 2 && resp != 3) return lib_error(L, "ERR RESP version must be 2 or 3.");
    if (e->run) e->run->resp = resp;
    return 0;
}

/* Accepted for compatibility: a script's writes are always replicated as
 * its effects, all of them. */
static int l_set_repl(lua_State *L)
{
    if (lua_gettop(L) != 1) return lib_error(L, "ERR redis.set_repl() requires one argument.");
    int flags = (int)lua_tonumber(L, 1);
    if (flags < REPL_NONE || flags > REPL_ALL)
        return lib_error(L, "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    return 0;
}

static int l_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
}

static void set_num(lua_State *L, const char *name, lua_Number v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

void tc_script_open_redis(lua_State *L)
{
    lua_newtable(L);
    set_fn(L, "call", l_call);
    set_fn(L, "pcall", l_pcall);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "log", l_log);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "set_repl", l_set_repl);
    set_fn(L, "replicate_commands", l_replicate_commands);
    set_num(L, "LOG_DEBUG", 0);
    set_num(L, "LOG_VERBOSE", 1);
    set_num(L, "LOG_NOTICE", 2);
    set_num(L, "LOG_WARNING", 3);
    set_num(L, "REPL_NONE", REPL_NONE);
    set_num(L, "REPL_AOF", REPL_AOF);
    set_num(L, "REPL_SLAVE", REPL_REPLICA);
    set_num(L, "REPL_REPLICA", REPL_REPLICA);
    set_num(L, "REPL_ALL", REPL_ALL);
    lua_pushstring(L, TC_REDIS_COMPAT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    set_num(L, "REDIS_VERSION_NUM", 0x070000);
    lua_setglobal(L, "redis");
}
