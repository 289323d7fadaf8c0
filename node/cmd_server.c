/* Connection and server commands: PING ECHO QUIT HELLO AUTH SELECT INFO
 * CONFIG CLIENT TIME DEBUG COMMAND. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "acl_cat.h"
#include "auth.h"
#include "cmd_acl.h"
#include "blocking.h"
#include "commands.h"
#include "config_redis.h"
#include "digest_child.h"
#include "log.h"
#include "multi.h"
#include "pubsub.h"
#include "server.h"

static void unknown_subcommand(tc_ctx *c, const char *cmd)
{
    const tc_slice *a = &c->argv[1];
    tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try %s HELP.", (int)(a->len > 128 ? 128 : a->len), a->p,
                    cmd);
}

static void wrong_args(tc_ctx *c, const char *name)
{
    tc_reply_errorf(c->r, "ERR wrong number of arguments for '%s' command", name);
}

static void reply_help(tc_ctx *c, const char *const *lines)
{
    size_t n = 0;
    while (lines[n]) n++;
    tc_reply_array(c->r, n);
    for (size_t i = 0; i < n; i++) tc_reply_status(c->r, lines[i]);
}

void tc_cmd_ping(tc_ctx *c)
{
    if (c->argc > 2) {
        wrong_args(c, "ping");
        return;
    }
    /* RESP2 subscribed mode answers PING as a message, as Redis does */
    if (c->client && c->r->resp < 3 && (c->client->nchannels || c->client->npatterns)) {
        tc_reply_array(c->r, 2);
        tc_reply_bulks(c->r, "pong");
        if (c->argc == 2) tc_reply_bulk(c->r, c->argv[1].p, c->argv[1].len);
        else tc_reply_bulks(c->r, "");
        return;
    }
    if (c->argc == 2) tc_reply_bulk(c->r, c->argv[1].p, c->argv[1].len);
    else tc_reply_status(c->r, "PONG");
}

void tc_cmd_echo(tc_ctx *c) { tc_reply_bulk(c->r, c->argv[1].p, c->argv[1].len); }

void tc_cmd_quit(tc_ctx *c)
{
    tc_reply_ok(c->r);
    if (c->client) tc_client_close_after_reply(c->client);
}

void tc_cmd_select(tc_ctx *c)
{
    int db = tc_parse_db(c->srv, &c->argv[1], c->r, "ERR SELECT is not allowed in cluster mode");
    if (db < 0) return;
    /* the commands after it run there: the client's next ones, or the rest
     * of a logged transaction (tc_server_execute_db carries ctx.db on) */
    c->db = db;
    c->ks = tc_server_db(c->srv, db);
    if (c->client) c->client->db = db;
    tc_reply_ok(c->r);
}

void tc_cmd_time(tc_ctx *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    tc_reply_array(c->r, 2);
    tc_reply_bulk_ll(c->r, (long long)tv.tv_sec);
    tc_reply_bulk_ll(c->r, (long long)tv.tv_usec);
}

/* ---- AUTH / HELLO -------------------------------------------------------- */

/* Runs the check and records the outcome; replies only on failure. */
static int authenticate(tc_ctx *c, const tc_slice *user, const tc_slice *pass)
{
    return tc_acl_authenticate(c, user, pass);
}

void tc_cmd_auth(tc_ctx *c)
{
    if (c->argc > 3) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    const tc_slice *user = c->argc == 3 ? &c->argv[1] : NULL;
    if (authenticate(c, user, &c->argv[c->argc - 1]) == 0) tc_reply_ok(c->r);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]] */
void tc_cmd_hello(tc_ctx *c)
{
    long long ver = c->client ? c->client->resp : 2;
    size_t i = 1;
    if (c->argc >= 2) {
        if (tc_parse_ll(c->argv[1].p, c->argv[1].len, &ver) != 0) {
            tc_reply_error(c->r, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            tc_reply_error(c->r, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    const tc_slice *user = NULL, *pass = NULL, *name = NULL;
    for (; i < c->argc; i++) {
        int more = (int)(c->argc - i - 1);
        if (tc_arg_is(&c->argv[i], "auth") && more >= 2) {
            user = &c->argv[i + 1];
            pass = &c->argv[i + 2];
            i += 2;
        } else if (tc_arg_is(&c->argv[i], "setname") && more >= 1) {
            name = &c->argv[++i];
        } else {
            tc_reply_errorf(c->r, "ERR Syntax error in HELLO option '%.*s'",
                            (int)(c->argv[i].len > 64 ? 64 : c->argv[i].len), c->argv[i].p);
            return;
        }
    }
    if (pass && authenticate(c, user, pass) != 0) return;
    if (c->client && !c->client->authenticated) {
        tc_reply_error(c->r, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                             "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
                             "select the RESP protocol version at the same time");
        return;
    }
    if (name) {
        for (size_t k = 0; k < name->len; k++) {
            if (name->p[k] < '!' || name->p[k] > '~') {
                tc_reply_error(c->r, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        }
        if (c->client) {
            free(c->client->name);
            c->client->name = name->len ? strndup(name->p, name->len) : NULL;
        }
    }
    if (c->client) c->client->resp = (int)ver;
    c->r->resp = (int)ver;
    tc_reply_map(c->r, 7);
    tc_reply_bulks(c->r, "server");
    tc_reply_bulks(c->r, "redis");
    tc_reply_bulks(c->r, "version");
    tc_reply_bulks(c->r, TC_REDIS_COMPAT_VERSION);
    tc_reply_bulks(c->r, "proto");
    tc_reply_int(c->r, ver);
    tc_reply_bulks(c->r, "id");
    tc_reply_int(c->r, c->client ? (long long)c->client->id : 0);
    tc_reply_bulks(c->r, "mode");
    tc_reply_bulks(c->r, "standalone");
    tc_reply_bulks(c->r, "role");
    tc_reply_bulks(c->r, "master");
    tc_reply_bulks(c->r, "modules");
    tc_reply_array(c->r, 0);
}

/* ROLE: a standalone node is a primary with no replicas. */
void tc_cmd_role(tc_ctx *c)
{
    if (c->srv->repl.ops) {
        c->srv->repl.ops->role_reply(c->srv->repl.ud, c->r);
        return;
    }
    tc_reply_array(c->r, 3);
    tc_reply_bulks(c->r, "master");
    tc_reply_int(c->r, 0);
    tc_reply_array(c->r, 0);
}

/* FAILOVER [TO host port [FORCE]] [TIMEOUT ms]: a Raft leadership transfer.
 * As in Redis, +OK means the failover started. */
void tc_cmd_failover(tc_ctx *c)
{
    int target = 0;
    for (size_t i = 1; i < c->argc; i++) {
        if (tc_arg_is(&c->argv[i], "to") && i + 2 < c->argc) {
            long long port;
            if (tc_parse_ll(c->argv[i + 2].p, c->argv[i + 2].len, &port) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            const tc_slice *host = &c->argv[i + 1];
            for (size_t k = 0; k < c->srv->cfg.nnodes; k++) {
                const tc_node_conf *n = &c->srv->cfg.nodes[k];
                if (n->client_port == port && strlen(n->client_host) == host->len &&
                    memcmp(n->client_host, host->p, host->len) == 0)
                    target = n->id;
            }
            if (!target || target == c->srv->self->id) {
                tc_reply_error(c->r, "ERR FAILOVER target HOST and PORT is not a replica.");
                return;
            }
            i += 2;
        } else if (tc_arg_is(&c->argv[i], "timeout") && i + 1 < c->argc) {
            long long ms;
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &ms) != 0 || ms <= 0) {
                tc_reply_error(c->r, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            i++; /* a leadership transfer finishes within one election timeout */
        } else if (tc_arg_is(&c->argv[i], "force") || tc_arg_is(&c->argv[i], "abort")) {
            continue; /* nothing to force or abort: the transfer is one step */
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if (!c->srv->repl.ops) {
        tc_reply_error(c->r, "ERR FAILOVER requires connected replicas.");
        return;
    }
    char err[256];
    if (c->srv->repl.ops->failover(c->srv->repl.ud, target, err, sizeof err) != 0) tc_reply_error(c->r, err);
    else tc_reply_ok(c->r);
}

/* RESET, as Redis 7 (what connection pools send when a connection comes
 * back): the transaction and watches dropped, every subscription dropped
 * (without messages), RESP2, no name, READWRITE, and authenticated again
 * only if no auth_token is set. */
void tc_cmd_reset(tc_ctx *c)
{
    tc_client *cl = c->client;
    if (cl) {
        tc_multi_reset(cl);
        tc_pubsub_unsubscribe_all(cl);
        cl->resp = 2;
        c->r->resp = 2;
        free(cl->name);
        cl->name = NULL;
        cl->cluster_readonly = 0;
        cl->db = 0;
        tc_acl_client_start(c->srv, cl);
    }
    tc_reply_status(c->r, "RESET");
}

/* WAIT numreplicas timeout / WAITAOF numlocal numreplicas timeout: how many
 * replicas' logs hold this connection's last write (Raft's match index on
 * the primary), waiting up to timeout ms (0: no limit) for numreplicas.
 * Every node fsyncs each entry before it counts, so WAITAOF's local count
 * is 1 and its replica count is WAIT's. A standalone node has no replicas:
 * it answers 0 at once instead of waiting out the timeout. */
static void wait_generic(tc_ctx *c, int aof)
{
    size_t at = aof ? 2 : 1;
    long long numreplicas, numlocal = 0, timeout;
    if ((aof && tc_parse_ll(c->argv[1].p, c->argv[1].len, &numlocal) != 0) ||
        tc_parse_ll(c->argv[at].p, c->argv[at].len, &numreplicas) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return;
    }
    if (tc_parse_ll(c->argv[at + 1].p, c->argv[at + 1].len, &timeout) != 0) {
        tc_reply_error(c->r, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        tc_reply_error(c->r, "ERR timeout is negative");
        return;
    }
    tc_server *s = c->srv;
    if (s->repl.ops && tc_server_primary_id(s) != s->self->id) {
        /* Redis 7.0's text */
        tc_reply_errorf(c->r, "ERR %s cannot be used with replica instances. Please also note that since Redis 4.0 "
                              "if a replica is configured to be writable (which is not the default) writes to "
                              "replicas are just local and are not propagated.", aof ? "WAITAOF" : "WAIT");
        return;
    }
    (void)numlocal; /* every write is fsync'd here before it is acknowledged */
    if (!s->repl.ops || !c->client) {
        if (aof) {
            tc_reply_array(c->r, 2);
            tc_reply_int(c->r, 1);
        }
        tc_reply_int(c->r, 0);
        return;
    }
    int64_t deadline = timeout ? tc_now_ms() + timeout : 0;
    s->repl.ops->wait(s->repl.ud, c->client, numreplicas, deadline, aof, c->r);
}

void tc_cmd_wait(tc_ctx *c) { wait_generic(c, 0); }
void tc_cmd_waitaof(tc_ctx *c) { wait_generic(c, 1); }

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as Redis 7: a primary
 * first hands leadership to a caught-up replica (writes wait meanwhile,
 * then are redirected), at most shutdown_timeout; NOW skips that; SAVE
 * takes a backup to backup.destination first (FORCE: shut down even if it
 * fails); ABORT cancels a shutdown that still waits. There is no implicit
 * save (no save points): without SAVE nothing is written. On success the
 * client gets no reply: its connection closes with the node. */
void tc_cmd_shutdown(tc_ctx *c)
{
    int save = 0, nosave = 0, now = 0, force = 0, abort = 0;
    for (size_t i = 1; i < c->argc; i++) {
        const tc_slice *a = &c->argv[i];
        if (tc_arg_is(a, "save")) save = 1;
        else if (tc_arg_is(a, "nosave")) nosave = 1;
        else if (tc_arg_is(a, "now")) now = 1;
        else if (tc_arg_is(a, "force")) force = 1;
        else if (tc_arg_is(a, "abort")) abort = 1;
        else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if ((save && nosave) || (abort && (save || nosave || now || force))) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    tc_server *s = c->srv;
    char err[512];
    if (abort) {
        if (tc_server_shutdown_abort(s, err, sizeof err) != 0) tc_reply_error(c->r, err);
        else tc_reply_ok(c->r);
        return;
    }
    if (!c->client) return; /* never replicated: only a connection asks for it */
    if (save && !s->shutdown_save.waiting) {
        int ok, running = s->persist.ops && s->persist.ops->busy(s->persist.ud, &ok);
        if (!running && (!s->persist.ops || s->persist.ops->bgsave(s->persist.ud, NULL, NULL, 0, err, sizeof err) != 0)) {
            if (!force) {
                tc_warn("SHUTDOWN SAVE: cannot take a backup: %s", s->persist.ops ? err : "no backups on this node");
                tc_reply_error(c->r, "ERR Errors trying to SHUTDOWN. Check logs.");
                return;
            }
        } else {
            s->shutdown_save.waiting = 1;
            s->shutdown_save.force = force;
            s->shutdown_save.now = now;
            tc_server_shutdown_wait(s, c->client); /* answered (or not) once the backup ends */
            return;
        }
    }
    tc_server_shutdown_wait(s, c->client); /* no reply: the connection closes with the node */
    tc_server_shutdown(s, "SHUTDOWN", now);
}

/* MEMBERS LIST | MEMBERS ADD <id> | MEMBERS REMOVE <id>: ids are [[node]]
 * ids of cluster.toml. ADD joins the node as a non-voter, lets it catch up,
 * then makes it a voter; the reply comes when the change is committed. */
void tc_cmd_members(tc_ctx *c)
{
    tc_server *s = c->srv;
    if (!s->repl.ops) {
        tc_reply_error(c->r, "ERR MEMBERS needs a replicated cluster (more than one [[node]])");
        return;
    }
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "list") && c->argc == 2) {
        s->repl.ops->members_list(s->repl.ud, c->r);
        return;
    }
    int add = tc_arg_is(sub, "add");
    if ((!add && !tc_arg_is(sub, "remove")) || c->argc != 3) {
        tc_reply_error(c->r, "ERR syntax error: MEMBERS LIST | MEMBERS ADD <node id> | MEMBERS REMOVE <node id>");
        return;
    }
    long long id;
    if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &id) != 0 || !tc_config_node(&s->cfg, (int)id)) {
        tc_reply_errorf(c->r, "ERR no [[node]] with id %.*s in %s", (int)(c->argv[2].len > 20 ? 20 : c->argv[2].len),
                        c->argv[2].p, s->cfg.path);
        return;
    }
    char err[256];
    if (!c->client) {
        tc_reply_error(c->r, "ERR MEMBERS ADD/REMOVE needs a client connection");
        return;
    }
    if (s->repl.ops->members_change(s->repl.ud, c->client, add, (int)id, err, sizeof err) != 0) tc_reply_error(c->r, err);
}

/* ---- INFO ------------------------------------------------------------------ */

void tc_cmd_info(tc_ctx *c)
{
    tc_buf b = {0};
    tc_info_render(c->srv, &b, c->argc - 1, c->argv + 1);
    if (b.oom) tc_reply_error(c->r, "ERR out of memory");
    else tc_reply_verbatim(c->r, b.data ? b.data : "", b.len);
    tc_buf_free(&b);
}

/* ---- CONFIG ---------------------------------------------------------------- */

static void config_get(tc_ctx *c)
{
    size_t n;
    char **kv = tc_config_cmd_get(c->srv, c->argc - 2, c->argv + 2, &n);
    tc_reply_map(c->r, n / 2);
    for (size_t i = 0; i < n; i++) tc_reply_bulks(c->r, kv[i]);
    tc_config_pairs_free(kv, n);
}

/* CONFIG SET name value [name value ...]: all or nothing, as in Redis 7. */
static void config_set(tc_ctx *c)
{
    char err[1024];
    if (c->argc < 4) wrong_args(c, "config|set");
    else if (c->argc % 2 != 0) tc_reply_error(c->r, TC_ERR_SYNTAX);
    /* with replication the router logs these (TCCONFIG); reaching here means
     * a transaction ran it on this node alone, which would split the cluster */
    else if (c->srv->repl.ops && tc_config_cmd_replicated(c->argc - 2, c->argv + 2))
        tc_reply_error(c->r, "ERR CONFIG SET of cluster-wide parameters (maxmemory...) can't run inside MULTI");
    else if (tc_config_cmd_set(c->srv, c->argc - 2, c->argv + 2, err, sizeof err) != 0) tc_reply_error(c->r, err);
    /* (with replication, the router logs one of cluster-wide parameters as
     * TCCONFIG and refuses one that mixes them with node-local ones) */
    else tc_reply_ok(c->r);
}

/* TCCONFIG SET name value [name value ...]: a CONFIG SET of cluster-wide
 * parameters as the primary logged it (replication/router.c), applied on
 * every node with the same result. Node-local parameters are refused: the
 * log must not set them everywhere. */
void tc_cmd_tcconfig(tc_ctx *c)
{
    char err[1024];
    if (!tc_arg_is(&c->argv[1], "set") || c->argc < 4 || c->argc % 2 != 0) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
    } else if (tc_config_cmd_replicated(c->argc - 2, c->argv + 2) * 2 != c->argc - 2) {
        tc_reply_error(c->r, "ERR TCCONFIG sets cluster-wide parameters only");
    } else if (tc_config_cmd_set(c->srv, c->argc - 2, c->argv + 2, err, sizeof err) != 0) {
        tc_reply_error(c->r, err);
    } else {
        tc_reply_ok(c->r);
    }
}

void tc_cmd_config(tc_ctx *c)
{
    static const char *const help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "HELP",
        "    Print this help.",
        NULL};
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "get")) {
        if (c->argc < 3) wrong_args(c, "config|get");
        else config_get(c);
    } else if (tc_arg_is(sub, "set")) {
        config_set(c);
    } else if ((tc_arg_is(sub, "resetstat") || tc_arg_is(sub, "help")) && c->argc != 2) {
        wrong_args(c, tc_arg_is(sub, "help") ? "config|help" : "config|resetstat");
    } else if (tc_arg_is(sub, "resetstat")) {
        tc_stats *st = &c->srv->stats;
        tc_cmdstat *cmds = st->cmds;
        size_t n;
        tc_cmd_table(&n);
        memset(cmds, 0, n * sizeof *cmds);
        memset(st, 0, sizeof *st);
        st->cmds = cmds;
        for (int i = 0; i < c->srv->ndbs; i++)
            c->srv->dbs[i].hits = c->srv->dbs[i].misses = c->srv->dbs[i].expired_keys = 0;
        c->srv->mem.evicted_keys = c->srv->mem.exceeded_total_ms = 0;
        /* as Redis: a spell over the limit that is still on counts from now */
        if (c->srv->mem.exceeded_since_ms) c->srv->mem.exceeded_since_ms = tc_now_ms();
        /* as Redis: the expiry cycle's figures, not its cursor */
        c->srv->expire.stale_perc = 0;
        c->srv->expire.time_cap_reached = c->srv->expire.cycle_us = 0;
        tc_reply_ok(c->r);
    } else if (tc_arg_is(sub, "help")) {
        reply_help(c, help);
    } else {
        unknown_subcommand(c, "CONFIG");
    }
}

/* ---- CLIENT ---------------------------------------------------------------- */

static int valid_client_name(const tc_slice *n)
{
    for (size_t i = 0; i < n->len; i++)
        if (n->p[i] < '!' || n->p[i] > '~') return 0;
    return 1;
}

/* CLIENT KILL addr | CLIENT KILL [ID id] [ADDR a] [LADDR a] [SKIPME yes|no] */
static void client_kill(tc_ctx *c)
{
    const tc_slice *id = NULL, *addr = NULL, *laddr = NULL;
    int skipme = 1, old_form = c->argc == 3;
    if (old_form) {
        addr = &c->argv[2];
        skipme = 0;
    } else {
        if (c->argc % 2 != 0) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        for (size_t i = 2; i < c->argc; i += 2) {
            const tc_slice *k = &c->argv[i], *v = &c->argv[i + 1];
            if (tc_arg_is(k, "id")) id = v;
            else if (tc_arg_is(k, "addr")) addr = v;
            else if (tc_arg_is(k, "laddr")) laddr = v;
            else if (tc_arg_is(k, "skipme") && (tc_arg_is(v, "yes") || tc_arg_is(v, "no"))) skipme = tc_arg_is(v, "yes");
            else {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                return;
            }
        }
    }
    long long want_id = 0;
    if (id && (tc_parse_ll(id->p, id->len, &want_id) != 0 || want_id <= 0)) {
        tc_reply_error(c->r, "ERR client-id should be greater than 0");
        return;
    }
    long long killed = 0;
    for (tc_client *cl = c->srv->clients; cl; cl = cl->next) {
        if (cl->closing || cl->close_after_reply) continue;
        if (id && (long long)cl->id != want_id) continue;
        if (addr && !(strlen(cl->addr) == addr->len && memcmp(cl->addr, addr->p, addr->len) == 0)) continue;
        if (laddr && !(strlen(cl->laddr) == laddr->len && memcmp(cl->laddr, laddr->p, laddr->len) == 0)) continue;
        if (skipme && cl == c->client) continue;
        tc_client_close_after_reply(cl);
        killed++;
    }
    if (!old_form) tc_reply_int(c->r, killed);
    else if (killed) tc_reply_ok(c->r);
    else tc_reply_error(c->r, "ERR No such client");
}

void tc_cmd_client(tc_ctx *c)
{
    static const char *const help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID", "    Return the ID of the current connection.",
        "GETNAME", "    Return the name of the current connection.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "LIST [ID <id> [<id> ...]]", "    Return information about client connections.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port> | KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] [SKIPME yes|no]",
        "    Kill connections.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "HELP", "    Print this help.",
        NULL};
    const tc_slice *sub = &c->argv[1];
    tc_client *me = c->client;
    int64_t now = tc_now_ms();
    if (tc_arg_is(sub, "id") && c->argc == 2) {
        tc_reply_int(c->r, me ? (long long)me->id : 0);
    } else if (tc_arg_is(sub, "getname") && c->argc == 2) {
        if (me && me->name) tc_reply_bulks(c->r, me->name);
        else tc_reply_null(c->r);
    } else if (tc_arg_is(sub, "setname") && c->argc == 3) {
        if (!valid_client_name(&c->argv[2])) {
            tc_reply_error(c->r, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        if (me) {
            free(me->name);
            me->name = c->argv[2].len ? strndup(c->argv[2].p, c->argv[2].len) : NULL;
        }
        tc_reply_ok(c->r);
    } else if (tc_arg_is(sub, "list")) {
        tc_buf b = {0};
        int by_id = c->argc > 3 && tc_arg_is(&c->argv[2], "id");
        if (c->argc != 2 && !by_id) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        for (tc_client *cl = c->srv->clients; cl; cl = cl->next) {
            if (by_id) {
                int match = 0;
                for (size_t i = 3; i < c->argc; i++) {
                    long long v;
                    if (tc_parse_ll(c->argv[i].p, c->argv[i].len, &v) != 0 || v <= 0) {
                        tc_reply_error(c->r, "ERR Invalid client ID");
                        tc_buf_free(&b);
                        return;
                    }
                    if ((uint64_t)v == cl->id) match = 1;
                }
                if (!match) continue;
            }
            tc_client_describe(cl, &b, now);
            tc_buf_append(&b, "\n", 1);
        }
        tc_reply_verbatim(c->r, b.data ? b.data : "", b.len);
        tc_buf_free(&b);
    } else if (tc_arg_is(sub, "info") && c->argc == 2) {
        tc_buf b = {0};
        if (me) tc_client_describe(me, &b, now);
        tc_buf_append(&b, "\n", 1);
        tc_reply_verbatim(c->r, b.data, b.len);
        tc_buf_free(&b);
    } else if (tc_arg_is(sub, "kill") && c->argc >= 3) {
        client_kill(c);
    } else if (tc_arg_is(sub, "unblock") && (c->argc == 3 || c->argc == 4)) {
        /* Redis's order: the reason, then the id */
        int as_error = c->argc == 4 && tc_arg_is(&c->argv[3], "error");
        long long id;
        if (c->argc == 4 && !as_error && !tc_arg_is(&c->argv[3], "timeout")) {
            tc_reply_error(c->r, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
        if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &id) != 0) {
            tc_reply_error(c->r, TC_ERR_NOT_INT);
            return;
        }
        tc_reply_int(c->r, tc_block_unblock(c->srv, (uint64_t)id, as_error));
    } else if (tc_arg_is(sub, "help") && c->argc == 2) {
        reply_help(c, help);
    } else {
        unknown_subcommand(c, "CLIENT");
    }
}

/* ---- DEBUG ----------------------------------------------------------------- */

/* DEBUG POPULATE count [prefix] [size]: keys prefix:0..count-1 holding
 * "value:<n>" padded with zeros to size bytes; existing keys are kept. */
static void debug_populate(tc_ctx *c)
{
    long long count, size = -1;
    if (c->argc < 3 || c->argc > 5 || tc_parse_ll(c->argv[2].p, c->argv[2].len, &count) != 0 || count < 0 ||
        (c->argc == 5 && (tc_parse_ll(c->argv[4].p, c->argv[4].len, &size) != 0 || size < 0 ||
                          (uint64_t)size > tc_max_bulk_len(c->srv)))) {
        tc_reply_error(c->r, "ERR DEBUG POPULATE count [prefix] [size]: count and size must be non-negative integers");
        return;
    }
    const char *prefix = "key";
    int plen = 3;
    if (c->argc >= 4) {
        prefix = c->argv[3].p;
        plen = (int)(c->argv[3].len > 200 ? 200 : c->argv[3].len);
    }
    char key[256], small[64];
    char *val = size > (long long)sizeof small ? malloc((size_t)size) : small;
    if (!val) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    for (long long i = 0; i < count; i++) {
        int klen = snprintf(key, sizeof key, "%.*s:%lld", plen, prefix, i);
        if (tc_ks_find(c->ks, key, (size_t)klen, c->now_ms)) continue;
        int vlen = snprintf(small, sizeof small, "value:%lld", i);
        size_t n = (size_t)vlen;
        if (size >= 0) {
            if (val != small) memcpy(val, small, (size_t)vlen < (size_t)size ? (size_t)vlen : (size_t)size);
            if ((long long)vlen < size) memset(val + vlen, 0, (size_t)(size - vlen));
            n = (size_t)size;
        }
        tc_key *k = tc_ks_set(c->ks, key, (size_t)klen, val, n, 0);
        if (!k) {
            if (val != small) free(val);
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
        k->encoding = TC_ENC_INLINE_EMBSTR; /* Redis makes them with createStringObject */
    }
    if (val != small) free(val);
    tc_reply_ok(c->r);
}

/* DEBUG SLEEP seconds: holds the whole node (its loop) that long, as Redis
 * does, to try what clients and replicas see of a stalled server. Local to
 * the node: it is no write, so it never reaches the log. */
static void debug_sleep(tc_ctx *c)
{
    long double secs;
    if (tc_parse_ld(c->argv[2].p, c->argv[2].len, &secs) != 0 || !(secs >= 0) || secs > 2147483647.0L) {
        tc_reply_error(c->r, "ERR DEBUG SLEEP <seconds>: seconds must be a number between 0 and 2147483647");
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long whole = (long long)secs;
    long long ns = until.tv_nsec + (long long)((secs - (long double)whole) * 1e9L);
    until.tv_sec += (time_t)(whole + ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    /* an absolute deadline: a signal that interrupts the sleep does not stretch it */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
    tc_reply_ok(c->r);
}

void tc_cmd_debug(tc_ctx *c)
{
    static const char *const help[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST", "    Output a hex signature representing the current DB content.",
        "POPULATE <count> [<prefix>] [<size>]", "    Create <count> string keys named key:<num>.",
        "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
        "HELP", "    Print this help.",
        NULL};
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "digest") && c->argc == 2) {
        if (c->client && c->srv->loop && tc_digest_wants_child(c->srv) &&
            tc_digest_in_child(c->srv, c->client, c->now_ms) == 0)
            return; /* answered when the child is done */
        unsigned char d[20];
        char hex[41];
        tc_ks_digest_dbs(c->srv->dbs, c->srv->ndbs, c->now_ms, d); /* every database, as Redis */
        for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
        tc_reply_status(c->r, hex);
    } else if (tc_arg_is(sub, "populate")) {
        debug_populate(c);
    } else if (tc_arg_is(sub, "sleep") && c->argc == 3) {
        debug_sleep(c);
    } else if (tc_arg_is(sub, "help") && c->argc == 2) {
        reply_help(c, help);
    } else {
        /* Redis's DEBUG words it this way (its other containers as unknown_subcommand) */
        tc_reply_errorf(c->r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                        (int)(sub->len > 128 ? 128 : sub->len), sub->p);
    }
}

/* ---- COMMAND --------------------------------------------------------------- */

static void reply_flags(tc_ctx *c, uint32_t f)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{TC_CMD_WRITE, "write"},   {TC_CMD_READONLY, "readonly"}, {TC_CMD_DENYOOM, "denyoom"},
                 {TC_CMD_ADMIN, "admin"},   {TC_CMD_NOAUTH, "no_auth"},    {TC_CMD_LOADING, "loading"},
                 {TC_CMD_STALE, "stale"},   {TC_CMD_FAST, "fast"},         {TC_CMD_BLOCKING, "blocking"}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) n++;
    tc_reply_set(c->r, n);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) tc_reply_status(c->r, names[i].name);
}

static void reply_acl_categories(tc_ctx *c, const tc_cmd *cmd)
{
    uint32_t cats = tc_acl_cmd_cats(cmd, NULL);
    size_t n = 0;
    for (int i = 0; i < TC_ACL_NCATS; i++) n += (cats >> i) & 1u;
    tc_reply_set(c->r, n);
    for (int i = 0; i < TC_ACL_NCATS; i++)
        if ((cats >> i) & 1u) {
            char name[32];
            snprintf(name, sizeof name, "@%s", tc_acl_cat_name(i));
            tc_reply_status(c->r, name);
        }
}

/* The 10-element description Redis 7 gives for each command. */
static void reply_command_info(tc_ctx *c, const tc_cmd *cmd)
{
    tc_reply_array(c->r, 10);
    tc_reply_bulks(c->r, cmd->name);
    tc_reply_int(c->r, cmd->arity);
    reply_flags(c, cmd->flags);
    tc_reply_int(c->r, cmd->first_key);
    tc_reply_int(c->r, cmd->last_key);
    tc_reply_int(c->r, cmd->key_step);
    reply_acl_categories(c, cmd);
    tc_reply_set(c->r, 0);   /* tips */
    tc_reply_array(c->r, 0); /* key specs */
    tc_reply_array(c->r, 0); /* subcommands */
}

static void reply_command_docs(tc_ctx *c, const tc_cmd *cmd)
{
    tc_reply_bulks(c->r, cmd->name);
    tc_reply_map(c->r, 3);
    tc_reply_bulks(c->r, "summary");
    tc_reply_bulks(c->r, cmd->summary);
    tc_reply_bulks(c->r, "since");
    tc_reply_bulks(c->r, cmd->since);
    tc_reply_bulks(c->r, "group");
    tc_reply_bulks(c->r, cmd->group);
}

void tc_cmd_command(tc_ctx *c)
{
    size_t n;
    const tc_cmd *t = tc_cmd_table(&n);
    if (c->argc == 1) {
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < n; i++) reply_command_info(c, &t[i]);
        return;
    }
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "count") && c->argc == 2) {
        tc_reply_int(c->r, (long long)n);
    } else if (tc_arg_is(sub, "list") && c->argc == 2) {
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < n; i++) tc_reply_bulks(c->r, t[i].name);
    } else if (tc_arg_is(sub, "info")) {
        if (c->argc == 2) {
            tc_reply_array(c->r, n);
            for (size_t i = 0; i < n; i++) reply_command_info(c, &t[i]);
            return;
        }
        tc_reply_array(c->r, c->argc - 2);
        for (size_t i = 2; i < c->argc; i++) {
            const tc_cmd *cmd = tc_cmd_lookup(c->argv[i].p, c->argv[i].len);
            if (cmd) reply_command_info(c, cmd);
            else tc_reply_null_array(c->r);
        }
    } else if (tc_arg_is(sub, "docs")) {
        if (c->argc == 2) {
            tc_reply_map(c->r, n);
            for (size_t i = 0; i < n; i++) reply_command_docs(c, &t[i]);
            return;
        }
        size_t found = 0;
        for (size_t i = 2; i < c->argc; i++)
            if (tc_cmd_lookup(c->argv[i].p, c->argv[i].len)) found++;
        tc_reply_map(c->r, found);
        for (size_t i = 2; i < c->argc; i++) {
            const tc_cmd *cmd = tc_cmd_lookup(c->argv[i].p, c->argv[i].len);
            if (cmd) reply_command_docs(c, cmd);
        }
    } else if (tc_arg_is(sub, "help") && c->argc == 2) {
        static const char *const help[] = {
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)", "    Return details about all commands.",
            "COUNT", "    Return the total number of commands.",
            "INFO [<command-name> ...]", "    Return details about the given commands, or all of them.",
            "DOCS [<command-name> ...]", "    Return documentation details about the given commands, or all of them.",
            "LIST", "    Return a list of all command names.",
            "HELP", "    Print this help.",
            NULL};
        reply_help(c, help);
    } else {
        unknown_subcommand(c, "COMMAND");
    }
}
