/* The event loop, client connections and command dispatch. */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "auth.h"
#include "blocking.h"
#include "cluster_formed.h"
#include "cmd_acl.h"
#include "common.h"
#include "config_redis.h"
#include "log.h"
#include "multi.h"
#include "notify.h"
#include "pubsub.h"
#include "script.h"

/* Read in chunks of at least this size. */
#define READ_CHUNK (16 * 1024)
/* Stop executing a client's pipelined commands while this much output is
 * waiting for a slow reader: memory stays bounded without dropping anything. */
#define OUTPUT_PAUSE_BYTES (1024 * 1024)
/* A query buffer this large is freed once it is empty again. */
#define QUERY_SHRINK_BYTES (1024 * 1024)
/* Unparsed input kept for a client whose commands wait (for the log to
 * make room, or for its earlier writes): beyond this the node stops reading
 * its socket, so TCP slows the sender down instead of memory growing. */
#define INPUT_PAUSE_BYTES (4 * 1024 * 1024)

uint64_t tc_progress_ticks; /* progress.h */

int64_t tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- state --------------------------------------------------------------- */

int tc_server_init(tc_server *s, const tc_config *cfg, int node_id, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->self = tc_config_node(&s->cfg, node_id);
    if (!s->self) {
        int n = snprintf(err, errlen, "node %d is not listed in %s; its [[node]] ids are", node_id, cfg->path);
        for (size_t i = 0; i < cfg->nnodes && n > 0 && (size_t)n < errlen; i++)
            n += snprintf(err + n, errlen - (size_t)n, "%s %d", i ? "," : "", cfg->nodes[i].id);
        return -1;
    }
    uint64_t seed[3];
    unsigned char id[20];
    if (getrandom(seed, sizeof seed, 0) != sizeof seed || getrandom(id, sizeof id, 0) != sizeof id) {
        snprintf(err, errlen, "cannot read random bytes: %s", strerror(errno));
        return -1;
    }
    size_t ncmds;
    tc_cmd_table(&ncmds);
    if (!(s->stats.cmds = calloc(ncmds, sizeof *s->stats.cmds))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* cluster mode reaches database 0 only (as Redis Cluster): the others
     * would be memory nobody can use */
    s->ndbs = cfg->cluster_mode || cfg->databases < 1 ? 1 : (int)cfg->databases;
    if (!(s->dbs = calloc((size_t)s->ndbs, sizeof *s->dbs))) {
        free(s->stats.cmds);
        s->stats.cmds = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tc_server_acl_start(s, err, errlen) != 0) {
        free(s->stats.cmds);
        free(s->dbs);
        s->stats.cmds = NULL;
        s->dbs = NULL;
        return -1;
    }
    for (int i = 0; i < s->ndbs; i++) tc_ks_init(&s->dbs[i], seed[0], seed[1]);
    tc_notify_attach(s); /* keys expiring or appearing are notified (notify.h) */
    tc_server_apply_encoding_limits(s);
    tc_rng_seed(&s->rng, seed[2]);
    tc_evict_settings_changed(s);
    for (int i = 0; i < 20; i++) snprintf(s->run_id + 2 * i, 3, "%02x", id[i]);
    s->start_ms = tc_now_ms();
    s->lastsave = s->start_ms / 1000;
    s->next_client_id = 1;
    tc_info_init(s);
    /* used_memory's fixed part: what the node holds before its first key
     * (mallinfo2 walks the heap, which is cheap only while it is small) */
    struct mallinfo2 mi = mallinfo2();
    s->mem.startup = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    s->mem.peak = s->mem.startup;
    return 0;
}

void tc_server_apply_encoding_limits(tc_server *s)
{
    const tc_config *c = &s->cfg;
    tc_enc_limits l = (tc_enc_limits){.hash_max_listpack_entries = c->hash_max_listpack_entries,
                                .hash_max_listpack_value = c->hash_max_listpack_value,
                                .zset_max_listpack_entries = c->zset_max_listpack_entries,
                                .zset_max_listpack_value = c->zset_max_listpack_value,
                                .set_max_intset_entries = c->set_max_intset_entries,
                                .set_max_listpack_entries = c->set_max_listpack_entries,
                                .set_max_listpack_value = c->set_max_listpack_value,
                                .list_max_listpack_size = (int)c->list_max_listpack_size};
    for (int i = 0; i < s->ndbs; i++) s->dbs[i].enc = l;
}

void tc_server_set_replication(tc_server *s, const tc_replication_ops *ops, void *ud)
{
    s->repl.ops = ops;
    s->repl.ud = ops ? ud : NULL;
}

void tc_server_set_persistence(tc_server *s, const tc_persistence_ops *ops, void *ud)
{
    s->persist.ops = ops;
    s->persist.ud = ops ? ud : NULL;
}

int tc_server_primary_id(tc_server *s)
{
    return s->repl.ops ? s->repl.ops->primary_id(s->repl.ud) : s->self->id;
}

void tc_server_free(tc_server *s)
{
    tc_block_free(s);
    tc_multi_free(s);
    tc_script_engine_free(s->scripts);
    s->scripts = NULL;
    tc_acl_free(&s->acl);
    free(s->stats.cmds);
    s->stats.cmds = NULL;
    for (int i = 0; i < s->ndbs; i++) tc_ks_free(&s->dbs[i]);
    free(s->dbs);
    s->dbs = NULL;
    s->ndbs = 0;
    tc_evpool_free(&s->mem.pool);
    tc_rconf_free(s->rconf);
    s->rconf = NULL;
    tc_tls_free(s->tls);
    s->tls = NULL;
    if (s->staging) {
        for (int i = 0; i < s->ndbs; i++) tc_ks_free(&s->staging[i]);
        free(s->staging);
        s->staging = NULL;
    }
}

/* ---- dispatch ------------------------------------------------------------ */

static void reply_unknown_command(tc_reply *r, size_t argc, const tc_slice *argv)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "ERR unknown command '%.*s', with args beginning with: ",
                     (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].p);
    for (size_t i = 1; i < argc && n > 0 && (size_t)n < sizeof msg - 1; i++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "'%.*s' ", (int)(argv[i].len > 128 ? 128 : argv[i].len),
                      argv[i].p);
    tc_reply_error(r, msg);
}

static tc_cmdstat *cmdstat(tc_server *s, const tc_cmd *cmd)
{
    size_t n;
    return &s->stats.cmds[cmd - tc_cmd_table(&n)];
}

/* Counts an error whose text (code first) is p..end (INFO errorstats). */
static void count_error_text(tc_server *s, const char *p, const char *end)
{
    s->stats.error_replies++;
    size_t len = 0;
    while (p + len < end && p[len] != ' ' && p[len] != '\r' && len < sizeof s->stats.errors[0].code - 1) len++;
    for (size_t i = 0; i < s->stats.nerrors; i++) {
        tc_errorstat *e = &s->stats.errors[i];
        if (strlen(e->code) == len && memcmp(e->code, p, len) == 0) {
            e->count++;
            return;
        }
    }
    if (s->stats.nerrors == TC_MAX_ERROR_CODES) return;
    tc_errorstat *e = &s->stats.errors[s->stats.nerrors++];
    memcpy(e->code, p, len);
    e->code[len] = '\0';
    e->count = 1;
}

/* Counts an error reply written at out[from..]. */
static void count_error(tc_server *s, const tc_buf *out, size_t from)
{
    if (!out || out->len <= from || (out->data[from] != '-' && out->data[from] != '!')) return;
    const char *p = out->data + from + 1, *end = out->data + out->len;
    if (out->data[from] == '!') { /* RESP3 blob error: !<len>\r\n<text> */
        while (p < end && *p != '\n') p++;
        p++;
    }
    count_error_text(s, p, end);
}

void tc_server_count_refused(tc_server *s, const tc_cmd *cmd, const char *err)
{
    if (cmd) cmdstat(s, cmd)->rejected++;
    count_error_text(s, err, err + strlen(err));
}

/* Lookup, arity and authentication, in Redis's order; replies the error and
 * returns NULL when the command can't run. */
static const tc_cmd *admit(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r)
{
    const tc_cmd *cmd = tc_cmd_lookup(argv[0].p, argv[0].len);
    if (!cmd) {
        reply_unknown_command(r, argc, argv);
        return NULL;
    }
    if (!tc_cmd_arity_ok(cmd, argc)) {
        tc_reply_errorf(r, "ERR wrong number of arguments for '%s' command", cmd->name);
        return NULL;
    }
    /* DEBUG from afar, then the user's permissions (Redis's order) */
    if (c && tc_acl_admit(s, c, cmd, argc, argv, r, tc_multi_count(c) >= 0) != 0) return NULL;
    if (c && !c->authenticated && !(cmd->flags & TC_CMD_NOAUTH)) {
        tc_reply_error(r, TC_ERR_NOAUTH);
        return NULL;
    }
    /* a RESP2 connection that subscribed can only manage subscriptions */
    if (c && c->resp < 3 && (c->nchannels || c->npatterns) && !(cmd->flags & TC_CMD_PUBSUB_OK)) {
        tc_reply_errorf(r,
                        "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                        "allowed in this context",
                        cmd->name);
        return NULL;
    }
    return cmd;
}

/* admit, counting what it refused (INFO commandstats and errorstats). */
static const tc_cmd *admit_counted(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r)
{
    size_t mark = r->out ? r->out->len : 0;
    const tc_cmd *cmd = admit(s, c, argc, argv, r);
    if (cmd) return cmd;
    cmd = tc_cmd_lookup(argv[0].p, argv[0].len);
    if (cmd) cmdstat(s, cmd)->rejected++;
    count_error(s, r->out, mark);
    return NULL;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* used_memory (evict.h) follows keys as the keyspace creates, replaces
 * and deletes them; a value behind a pointer (hash, list, set, sorted
 * set) can also grow or shrink in place, which only the command knows.
 * So around a write, the pointer-valued keys it names are measured before
 * and after (the first few: the commands that change values in place name
 * their key first). A key deleted or replaced meanwhile was accounted by the
 * keyspace and is left alone here (its tc_key moved or is gone). */
#define MEM_TRACK_KEYS 4
typedef struct mem_track {
    size_t n;
    const tc_key *k[MEM_TRACK_KEYS]; /* NULL: absent or inline before */
    const tc_slice *name[MEM_TRACK_KEYS];
    size_t before[MEM_TRACK_KEYS];
} mem_track;

static void mem_before(tc_keyspace *ks, const tc_cmd *cmd, size_t argc, const tc_slice *argv, mem_track *t)
{
    t->n = 0;
    ks->nborn = 0;
    /* A string command's values are inline (types/types.h), counted by the
     * keyspace as it makes and replaces them: nothing to measure, and two
     * lookups saved per SET or INCR. */
    if (cmd->first_key <= 0 || strcmp(cmd->group, "string") == 0) return;
    size_t last = cmd->last_key < 0 ? argc - 1 : (size_t)cmd->last_key;
    size_t step = cmd->key_step > 0 ? (size_t)cmd->key_step : 1;
    for (size_t i = (size_t)cmd->first_key; i <= last && i < argc && t->n < MEM_TRACK_KEYS; i += step) {
        tc_key *k = tc_ks_peek(ks, argv[i].p, argv[i].len, 0);
        /* inline values change through tc_ks_resize, which counts */
        t->k[t->n] = k && !tc_key_is_inline(k) ? k : NULL;
        t->name[t->n] = &argv[i];
        t->before[t->n] = t->k[t->n] ? tc_ks_key_cost(k) : 0;
        t->n++;
    }
}

static void mem_after(tc_keyspace *ks, const mem_track *t)
{
    for (size_t i = 0; i < t->n; i++) {
        tc_key *k = tc_ks_peek(ks, t->name[i]->p, t->name[i]->len, 0);
        if (!k || tc_key_is_inline(k)) continue;
        if (k == t->k[i]) {
            tc_ks_mem_adjust(ks, k, t->before[i]);
            continue;
        }
        for (unsigned b = 0; b < ks->nborn; b++) /* created by this command, counted as it was then */
            if (ks->born[b] == k) {
                tc_ks_mem_adjust(ks, k, ks->born_cost[b]);
                ks->born[b] = NULL;
                break;
            }
    }
    ks->nborn = 0;
}

size_t tc_server_keys(const tc_server *s)
{
    size_t n = 0;
    for (int i = 0; i < s->ndbs; i++) n += tc_ks_size(&s->dbs[i]);
    return n;
}

/* Runs cmd in database *db; a SELECT changes *db (and the client's). */
static void run(tc_server *s, tc_client *c, int *db, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                tc_reply *r, int64_t now_ms)
{
    if (*db < 0 || *db >= s->ndbs) *db = 0; /* cannot happen: SELECT checks; never index past the table */
    int uncounted = s->cmd_uncounted; /* for this command only, not those it runs */
    s->cmd_uncounted = 0;
    tc_ctx ctx = {.srv = s, .client = c, .ks = &s->dbs[*db], .db = *db, .now_ms = now_ms, .argc = argc,
                  .argv = argv, .r = r, .rng = &s->rng};
    size_t mark = r->out ? r->out->len : 0;
    uint64_t start = now_us();
    /* saved and put back: EXEC and TCEXEC run commands inside a command */
    const tc_cmd *outer = s->cmd_running;
    int64_t outer_now = s->cmd_now_ms;
    s->cmd_running = cmd;
    s->cmd_now_ms = now_ms;
    /* WATCHed keys this write names (before it runs: FLUSHALL looks at
     * which watched keys exist) */
    if (s->watchers) tc_multi_touch_cmd(s, *db, cmd, argc, argv, now_ms, 0);
    /* memory and read counts go to the database the command starts in (a
     * SELECT inside MULTI moves the next commands, each run here) */
    tc_keyspace *ks = ctx.ks;
    mem_track tr;
    tr.n = 0;
    if (cmd->flags & TC_CMD_WRITE) mem_before(ks, cmd, argc, argv, &tr);
    ks->counting_reads = (cmd->flags & TC_CMD_READONLY) != 0;
    cmd->fn(&ctx);
    ks->counting_reads = 0;
    if (cmd->flags & TC_CMD_WRITE) mem_after(ks, &tr);
    int error_counted = s->reply_error_counted; /* set by the command's own reply, not by those it ran */
    s->reply_error_counted = 0;
    s->cmd_running = outer;
    s->cmd_now_ms = outer_now;
    *db = ctx.db;
    if (!uncounted) {
        tc_cmdstat *st = cmdstat(s, cmd);
        uint64_t took = now_us() - start;
        st->calls++;
        st->usec += took;
        tc_latency_hist_record(&st->hist, took);
        tc_latency_note(s, (cmd->flags & TC_CMD_FAST) ? TC_LAT_FAST_COMMAND : TC_LAT_COMMAND, took / 1000);
        if (r->out && r->out->len > mark && (r->out->data[mark] == '-' || r->out->data[mark] == '!')) {
            st->failed++;
            if (!error_counted) count_error(s, r->out, mark);
        }
        s->stats.commands_processed++;
    }
    /* Standalone: clients blocked on keys this command made ready are
     * served right after it (replicated: after each applied entry); after
     * the outermost one only, so a script or EXEC stays atomic. */
    if (!s->repl.ops && !s->cmd_running) tc_block_handle_ready(s, now_ms);
}

void tc_server_run_cmd(tc_server *s, tc_client *c, int *db, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                       tc_reply *r, int64_t now_ms)
{
    run(s, c, db, cmd, argc, argv, r, now_ms);
}

void tc_server_execute(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r,
                       int64_t now_ms)
{
    int db = c ? c->db : 0;
    tc_server_execute_db(s, c, &db, argc, argv, r, now_ms);
}

void tc_server_execute_db(tc_server *s, tc_client *c, int *db, size_t argc, const tc_slice *argv, tc_reply *r,
                          int64_t now_ms)
{
    const tc_cmd *cmd = admit_counted(s, c, argc, argv, r);
    if (cmd) run(s, c, db, cmd, argc, argv, r, now_ms);
}

static void note_last_cmd(tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv);

/* Inside MULTI: queued and answered +QUEUED, or refused (EXEC will then
 * answer -EXECABORT), as Redis does; a write on a node that is not the
 * primary is refused here already, as a Redis replica does. */
static int queue_in_multi(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r)
{
    if (c->pending > 0) return TC_ROUTE_DEFER; /* +QUEUED after the replies owed */
    const tc_cmd *cmd = admit_counted(s, c, argc, argv, r);
    if (cmd) note_last_cmd(c, cmd, argc, argv);
    if (cmd && s->repl.ops && (cmd->flags & TC_CMD_WRITE) && tc_server_primary_id(s) != s->self->id) {
        int primary = tc_server_primary_id(s);
        const tc_node_conf *p = primary ? tc_config_node(&s->cfg, primary) : NULL;
        if (!primary) tc_reply_error(r, "TRYAGAIN no primary is elected right now; retry shortly");
        else if (s->cfg.cluster_mode && p)
            tc_reply_errorf(r, "MOVED %d %s:%d",
                            cmd->first_key > 0 && (size_t)cmd->first_key < argc
                                ? tc_key_slot(argv[cmd->first_key].p, argv[cmd->first_key].len)
                                : 0,
                            p->client_host, p->client_port);
        else tc_reply_error(r, "READONLY You can't write against a read only replica.");
        cmd = NULL;
    }
    /* users are cluster state: their change is one log entry of its own */
    if (cmd && s->repl.ops && cmd->fn == tc_cmd_acl && tc_acl_cmd_changes_users(argc, argv)) {
        tc_reply_error(r, "ERR ACL SETUSER and ACL DELUSER cannot be queued in MULTI on a replicated node");
        cmd = NULL;
    }
    if (!cmd || tc_multi_queue(c, cmd, argc, argv) != 0) {
        if (cmd) tc_reply_error(r, "ERR out of memory");
        tc_multi_flag(c);
        return TC_ROUTE_DONE;
    }
    tc_reply_status(r, "QUEUED");
    return TC_ROUTE_DONE;
}

static size_t args_bytes(size_t argc, const tc_slice *argv)
{
    size_t n = 0;
    for (size_t i = 0; i < argc; i++) n += argv[i].len;
    return n;
}

/* What CLIENT LIST shows as the client's command, named as Redis 7 names
 * it: with its subcommand for a container ("config|get"). Set where a
 * client's command is taken, not where commands run, so a script or an
 * EXEC stays the command shown rather than the last one it ran. */
static void note_last_cmd(tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    c->last_cmd = cmd;
    c->last_sub = NULL;
    c->last_sub_len = 0;
    if (!cmd->subcommands || argc < 2) return;
    /* only a subcommand the container has: Redis refuses the others before naming them */
    for (const char *w = cmd->subcommands; *w;) {
        size_t len = strcspn(w, " ");
        if (len == argv[1].len && strncasecmp(w, argv[1].p, len) == 0) {
            c->last_sub = w;
            c->last_sub_len = (unsigned)len;
            return;
        }
        w += len;
        while (*w == ' ') w++;
    }
}

/* A client's command, through replication when there is one. Returns
 * TC_ROUTE_DEFER when the command must wait unconsumed. */
static int dispatch(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r, int64_t now_ms)
{
    if (tc_multi_queues(c, &argv[0])) return queue_in_multi(s, c, argc, argv, r);
    if (c->pending > 0) {
        /* Replies go out in command order: while writes of this client are
         * in the log, only more writes may join them; anything else (even
         * an error reply) waits. */
        const tc_cmd *cmd = tc_cmd_lookup(argv[0].p, argv[0].len);
        /* a script may join the scripts of its entry (the router defers it
         * when it cannot: replication/router.c, groups of scripts) */
        int script = cmd && s->repl.ops && (cmd->fn == tc_cmd_eval || cmd->fn == tc_cmd_evalsha || cmd->fn == tc_cmd_fcall);
        if (!cmd || !((cmd->flags & TC_CMD_WRITE) || script) || !tc_cmd_arity_ok(cmd, argc) || !c->authenticated ||
            tc_acl_check(tc_acl_client_user(s, c), cmd, argc, argv, &(size_t){0}) != TC_ACL_OK)
            return TC_ROUTE_DEFER;
    }
    if (tc_arg_is(&argv[0], "exec") && argc != 1) {
        /* Redis: a refused EXEC discards the transaction */
        tc_reply_error(r, "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command");
        tc_multi_reset(c);
        return TC_ROUTE_DONE;
    }
    const tc_cmd *cmd = admit_counted(s, c, argc, argv, r);
    if (!cmd) {
        tc_multi_flag(c); /* refused inside MULTI: EXEC will abort */
        return TC_ROUTE_DONE;
    }
    note_last_cmd(c, cmd, argc, argv);
    size_t mark = r->out ? r->out->len : 0;
    /* standalone: room is made in place (replicated: by the primary's router) */
    if (!s->repl.ops && (cmd->flags & TC_CMD_DENYOOM) && s->cfg.maxmemory && tc_evict_local(s, args_bytes(argc, argv)) != 0) {
        tc_reply_error(r, TC_ERR_OOM);
        cmdstat(s, cmd)->rejected++;
        count_error(s, r->out, mark);
        return TC_ROUTE_DONE;
    }
    int route = s->repl.ops ? s->repl.ops->route(s->repl.ud, c, cmd, argc, argv, r, now_ms) : TC_ROUTE_LOCAL;
    if (route == TC_ROUTE_LOCAL) {
        int db = c->db;
        run(s, c, &db, cmd, argc, argv, r, now_ms);
    }
    else if (route == TC_ROUTE_DONE && r->out && r->out->len > mark) { /* a redirect or a refusal */
        cmdstat(s, cmd)->rejected++;
        count_error(s, r->out, mark);
    }
    /* a queued write is counted once, where it runs: when its entry is applied */
    return route;
}

/* ---- connections --------------------------------------------------------- */

static void process_input(tc_client *c);
static void flush_output(tc_client *c);


static void unqueue_push(tc_client *c)
{
    if (!c->push_queued) return;
    for (tc_client **p = &c->srv->push_queue; *p; p = &(*p)->push_next)
        if (*p == c) {
            *p = c->push_next;
            break;
        }
    c->push_queued = 0;
}

static void free_client(tc_client *c)
{
    unqueue_push(c);
    tc_pubsub_unsubscribe_all(c);
    tc_buf_free(&c->query);
    tc_buf_free(&c->out);
    tc_buf_free(&c->inflight);
    tc_resp_free(&c->parser);
    free(c->argv);
    free(c->name);
    free(c);
}

static void on_client_closed(tc_conn *conn)
{
    tc_client *c = conn->data;
    /* Replication still holds it: the last answer frees it. */
    if (c->pending > 0) c->handle_closed = 1;
    else free_client(c);
}

/* One replication reference fewer; frees a closed client with none left,
 * or lets an open one go on with its input. Returns 1 if c is gone. */
static int release(tc_client *c)
{
    c->pending--;
    if (c->pending == 0 && c->handle_closed) {
        free_client(c);
        return 1;
    }
    return 0;
}

/* Writes c's output at the end of this loop pass (a uv_check), together
 * with whatever else the pass adds to it: a committed log entry answers
 * many commands of one client one by one, and a write() per answer cost
 * the primary more than the commands (Redis's pending-writes list). */
static void on_push_flush(uv_check_t *h);
static void flush_later(tc_client *c)
{
    tc_server *s = c->srv;
    if (c->push_queued) return;
    if (!s->loop) {
        flush_output(c);
        return;
    }
    if (!s->push_queue) uv_check_start(&s->push_flush, on_push_flush);
    c->push_queued = 1;
    c->push_next = s->push_queue;
    s->push_queue = c;
}

void tc_client_deliver(tc_client *c, const char *reply, size_t len)
{
    if (!c->closing) tc_buf_append(&c->out, reply, len);
    if (release(c) || c->closing) return;
    if (c->pending == 0) process_input(c); /* runs what waited, then flushes */
    else flush_later(c);
}

static void on_push_flush(uv_check_t *h)
{
    tc_server *s = h->data;
    while (s->push_queue) {
        tc_client *c = s->push_queue;
        s->push_queue = c->push_next;
        c->push_queued = 0;
        flush_output(c);
    }
    uv_check_stop(h);
}

void tc_client_push(tc_client *c, const char *data, size_t len)
{
    if (c->closing || c->close_after_reply) return;
    tc_buf_append(&c->out, data, len);
    /* inside this client's own command the reply order is kept by the
     * caller's flush; from anywhere else it goes out at the end of this
     * loop pass, with whatever else this pass publishes to it */
    if (c->srv->current == c) return;
    flush_later(c);
}

void tc_client_resume(tc_client *c)
{
    c->blocked = 0;
    if (release(c) || c->closing) return;
    process_input(c);
}

static void close_client(tc_client *c)
{
    if (c->closing) return;
    c->closing = 1;
    tc_server *s = c->srv;
    tc_block_client_gone(c);
    tc_multi_client_gone(c);
    if (c->prev) c->prev->next = c->next;
    else s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nclients--;
    tc_conn_close(&c->conn);
}

void tc_client_close_after_reply(tc_client *c)
{
    c->close_after_reply = 1;
    /* Another client: close it as soon as its pending output is out. The
     * client running a command is flushed when that command returns. */
    if (!c->closing && c->srv->current != c) flush_output(c);
}

static void on_write_done(tc_conn *conn, int status)
{
    tc_client *c = conn->data;
    c->writing = 0;
    c->inflight.len = 0;
    if (c->closing) return;
    if (status < 0) {
        close_client(c);
        return;
    }
    flush_output(c);
    /* Resume a client paused for piling up output. The flush above either
     * sent everything or started a new write, so out is empty again; the
     * pause condition in process_input is re-checked as commands run. */
    if (c->reading_paused && !c->closing && !(c->writing && c->out.len >= OUTPUT_PAUSE_BYTES)) {
        c->reading_paused = 0;
        process_input(c);
        if (!c->closing && !c->reading_paused && !c->input_paused && tc_conn_read_start(&c->conn) != 0)
            close_client(c);
    }
}

/* Pauses or resumes reading for input that waits (see INPUT_PAUSE_BYTES). */
static void pace_input(tc_client *c, int held)
{
    if (c->closing) return;
    int pause = held && c->query.len - c->query_pos >= INPUT_PAUSE_BYTES;
    if (pause == c->input_paused) return;
    c->input_paused = pause;
    if (c->reading_paused) return; /* reading stays stopped for the output */
    if (pause) tc_conn_read_stop(&c->conn);
    else if (tc_conn_read_start(&c->conn) != 0) close_client(c);
}

static void flush_output(tc_client *c)
{
    if (c->closing) return;
    if (!c->writing && c->out.len > 0) {
        int n = tc_conn_try_write(&c->conn, c->out.data, c->out.len);
        if (n < 0 && n != UV_EAGAIN) {
            close_client(c);
            return;
        }
        size_t done = n > 0 ? (size_t)n : 0;
        c->srv->stats.net_output_bytes += done;
        if (done == c->out.len) {
            c->out.len = 0;
        } else {
            /* The rest goes out through tc_conn_write from a buffer that nothing
             * appends to until its callback: swap the two buffers. */
            tc_buf t = c->inflight;
            c->inflight = c->out;
            c->out = t;
            c->out.len = 0;
            size_t left = c->inflight.len - done;
            c->srv->stats.net_output_bytes += left;
            if (tc_conn_write(&c->conn, c->inflight.data + done, left) != 0) {
                close_client(c);
                return;
            }
            c->writing = 1;
        }
    }
    if (c->close_after_reply && !c->writing && c->out.len == 0) close_client(c);
}

static void on_alloc(tc_conn *conn, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tc_client *c = conn->data;
    size_t want = READ_CHUNK;
    size_t missing = tc_resp_missing(&c->parser, c->query.len - c->query_pos);
    if (missing > want) want = missing;
    /* Never ask the kernel for more than the limit leaves room for. */
    if (tc_buf_reserve(&c->query, want) != 0) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    size_t room = c->query.cap - c->query.len;
    if (room > UINT32_MAX) room = UINT32_MAX;
    *buf = uv_buf_init(c->query.data + c->query.len, (unsigned)room);
}

static void reject_and_close(tc_client *c, const char *msg)
{
    tc_reply r = {&c->out, c->resp};
    tc_reply_error(&r, msg);
    tc_client_close_after_reply(c);
}

/* One client's part of tc_server_serve_busy: what it sent, read straight
 * from its socket, answered command by command. */
static void serve_busy_client(tc_client *c, tc_busy_fn allowed, void *ud)
{
    for (;;) {
        if (tc_buf_reserve(&c->query, READ_CHUNK) != 0) return;
        size_t n = tc_conn_read_now(&c->conn, c->query.data + c->query.len, c->query.cap - c->query.len);
        if (n == 0) break; /* nothing more now; EOF and errors are the loop's to see */
        c->query.len += n;
        c->srv->stats.net_input_bytes += n;
    }
    while (!c->closing && c->query.len > c->query_pos) {
        char *start = c->query.data + c->query_pos;
        size_t used = 0;
        if (tc_resp_parse(&c->parser, start, c->query.len - c->query_pos, &used) != TC_RESP_OK) break;
        size_t argc = c->parser.argc;
        c->query_pos += used;
        if (argc == 0) continue;
        tc_slice argv[3];
        size_t k = argc < 3 ? argc : 3; /* what the few commands served need */
        for (size_t i = 0; i < k; i++) argv[i] = (tc_slice){start + c->parser.argv[i].off, c->parser.argv[i].len};
        tc_reply r = {&c->out, c->resp};
        if (!allowed(ud, c, argc, argv, &r))
            tc_reply_error(&r, "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    }
    if (c->query_pos > 0) {
        tc_buf_consume(&c->query, c->query_pos);
        c->read_covered = c->read_covered > c->query_pos ? c->read_covered - c->query_pos : 0;
        c->query_pos = 0;
    }
    flush_output(c);
}

static void accept_client_on(uv_stream_t *listener, int status, int tls, int fd);

void tc_server_serve_busy(tc_server *s, tc_client *running, tc_busy_fn allowed, void *ud)
{
    /* new plain connections too (redis-cli SCRIPT KILL from another shell):
     * taken from the listening socket here, as the loop would */
    int lfd;
    if (s->loop && uv_fileno((uv_handle_t *)&s->listener, &lfd) == 0)
        for (int i = 0; i < 16; i++) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (cfd < 0) break;
            accept_client_on((uv_stream_t *)&s->listener, 0, 0, cfd);
        }
    for (tc_client *c = s->clients, *next; c; c = next) {
        next = c->next;
        /* only clients whose next bytes are a fresh command: nothing owed
         * to them, nothing half-parsed or held back */
        if (c == running || c->closing || c->pending || c->blocked || c->writing || c->out.len ||
            c->deferred_len || c->block || tc_multi_count(c) >= 0)
            continue;
        serve_busy_client(c, allowed, ud);
    }
}

static void process_input(tc_client *c)
{
    tc_server *s = c->srv;
    tc_reply reply = {&c->out, c->resp};
    int held = 0; /* stopped with commands that must wait */
    s->current = c;
    if (s->cfg.transit_mode == TC_TRANSIT_REQUIRED && c->conn.type != &tc_conn_tls && !c->close_after_reply &&
        c->query.len > c->query_pos) {
        /* TLS only: the plain port stays open to say so (and where to go)
         * in answer to the client's first command, then closes */
        char msg[200];
        snprintf(msg, sizeof msg,
                 "ERR this node accepts TLS connections only (transit_encryption_mode is \"required\"): connect "
                 "with TLS to port %d",
                 s->self ? s->self->tls_port : 0);
        s->stats.plaintext_refused++;
        reject_and_close(c, msg);
    }
    while (!c->close_after_reply && !c->closing && !(held = c->blocked)) {
        size_t avail = c->query.len - c->query_pos;
        if (avail == 0) break;
        if (c->writing && c->out.len >= OUTPUT_PAUSE_BYTES) {
            if (!c->reading_paused) {
                c->reading_paused = 1;
                tc_conn_read_stop(&c->conn);
            }
            break;
        }
        c->parser.max_bulk_len = s->cfg.proto_max_bulk_len;
        c->parser.max_args = s->cfg.proto_max_multibulk_len;
        char *start = c->query.data + c->query_pos;
        size_t used = 0;
        int rc;
        if (c->deferred_len) { /* parsed before it was deferred (see below) */
            used = c->deferred_len;
            c->deferred_len = 0;
            rc = TC_RESP_OK;
        } else {
            rc = tc_resp_parse(&c->parser, start, avail, &used);
        }
        if (rc == TC_RESP_INCOMPLETE) {
            if (avail > s->cfg.client_query_buffer_limit) {
                s->stats.client_qbuf_limit_disconnections++;
                tc_warn("closing client %s: query buffer of %zu bytes exceeds client-query-buffer-limit", c->addr,
                        avail);
                reject_and_close(c, "ERR Protocol error: query buffer limit exceeded (client-query-buffer-limit)");
            }
            break;
        }
        if (rc == TC_RESP_ERR) {
            s->stats.protocol_errors++;
            char msg[160];
            snprintf(msg, sizeof msg, "ERR %s", c->parser.err);
            tc_info("protocol error from client %s: %s", c->addr, c->parser.err);
            reject_and_close(c, msg);
            break;
        }
        size_t argc = c->parser.argc;
        if (argc == 0) {
            c->query_pos += used;
            continue;
        }
        if (argc > c->argv_cap) {
            size_t cap = argc < 16 ? 16 : argc;
            tc_slice *v = realloc(c->argv, cap * sizeof *v);
            if (!v) {
                reject_and_close(c, "ERR out of memory");
                break;
            }
            c->argv = v;
            c->argv_cap = cap;
        }
        for (size_t i = 0; i < argc; i++) {
            c->argv[i].p = start + c->parser.argv[i].off;
            c->argv[i].len = c->parser.argv[i].len;
        }
        reply.resp = c->resp;
        int64_t now = tc_now_ms();
        c->cmd_end = c->query_pos + used;
        if (dispatch(s, c, argc, c->argv, &reply, now) == TC_ROUTE_DEFER) {
            /* Left in the buffer, and run when the client may go on (its
             * writes answered, or the router resumes it) with the parse kept
             * in c->parser (its offsets are relative to the command's start):
             * an inline command's quoted arguments were unescaped in place,
             * so its bytes cannot be parsed a second time. */
            c->deferred_len = used;
            held = 1;
            break;
        }
        c->query_pos += used;
        c->last_active_ms = now;
    }
    s->current = NULL;
    /* Keep the unparsed tail at the start of the buffer: the parser's
     * offsets are relative to it, so they stay valid. */
    if (c->query_pos > 0) {
        tc_buf_consume(&c->query, c->query_pos);
        c->read_covered = c->read_covered > c->query_pos ? c->read_covered - c->query_pos : 0;
        c->query_pos = 0;
    }
    if (c->query.len == 0 && c->query.cap > QUERY_SHRINK_BYTES) tc_buf_free(&c->query);
    pace_input(c, held);
    if (c->out.oom) {
        close_client(c);
        return;
    }
    uint64_t limit = s->cfg.client_output_buffer_limit;
    if (limit && c->out.len + c->inflight.len > limit) {
        s->stats.client_outbuf_limit_disconnections++;
        tc_warn("closing client %s: %zu bytes of output exceed client-output-buffer-limit", c->addr,
                c->out.len + c->inflight.len);
        close_client(c);
        return;
    }
    flush_output(c);
}

static void on_read(tc_conn *conn, ssize_t nread)
{
    tc_client *c = conn->data;
    if (nread < 0) {
        if (nread != UV_EOF) tc_debug("client %s read error: %s", c->addr, uv_strerror((int)nread));
        close_client(c);
        return;
    }
    c->query.len += (size_t)nread;
    c->srv->stats.net_input_bytes += (uint64_t)nread;
    c->last_active_ms = tc_now_ms();
    process_input(c);
}

/* A new client from listener, or, with fd >= 0, on a socket already
 * accepted (tc_server_serve_busy takes them while the loop is held). */
static void accept_client_on(uv_stream_t *listener, int status, int tls, int fd)
{
    tc_server *s = listener->data;
    if (status < 0) {
        tc_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    tc_client *c = calloc(1, sizeof *c);
    if (!c) {
        tc_warn("accept: out of memory");
        return;
    }
    c->srv = s;
    if (!tls) {
        tc_conn_init(&c->conn, &tc_conn_tcp, s->loop, c, on_alloc, on_read, on_write_done, on_client_closed);
    } else if (tc_conn_tls_init(&c->conn, s->tls, s->loop, c, on_alloc, on_read, on_write_done, on_client_closed) !=
               0) {
        tc_warn("accept: out of memory");
        free(c);
        return;
    }
    int rc = fd < 0 ? tc_conn_accept(&c->conn, listener) : uv_tcp_open(&c->conn.tcp, fd);
    if (rc != 0) {
        if (fd >= 0) close(fd);
        tc_conn_close(&c->conn);
        return;
    }
    if (fd >= 0) uv_tcp_nodelay(&c->conn.tcp, 1);
    s->stats.connections_received++;
    tc_conn_peer_name(&c->conn, c->addr, sizeof c->addr);
    tc_conn_local_name(&c->conn, c->laddr, sizeof c->laddr);
    tc_resp_init(&c->parser, s->cfg.proto_max_bulk_len, s->cfg.proto_max_multibulk_len);

    /* Insert first so the accounting in close_client holds on every path. */
    c->next = s->clients;
    if (s->clients) s->clients->prev = c;
    s->clients = c;
    s->nclients++;

    if (s->nclients > s->cfg.maxclients || s->shutting_down) {
        s->stats.rejected_connections++;
        static const char full[] = "-ERR max number of clients reached\r\n";
        /* a planned restart: say so, so that a client tries another node
         * (or again) instead of reading it as a full server */
        static const char leaving[] = "-ERR this node is shutting down\r\n";
        const char *msg = s->shutting_down ? leaving : full;
        size_t len = s->shutting_down ? sizeof leaving - 1 : sizeof full - 1;
        tc_conn_try_write(&c->conn, msg, len); /* best effort: we close anyway */
        close_client(c);
        return;
    }
    c->id = s->next_client_id++;
    c->resp = 2;
    tc_acl_client_start(s, c);
    c->created_ms = c->last_active_ms = tc_now_ms();
    if (tc_conn_read_start(&c->conn) != 0) close_client(c);
}

static void on_connection(uv_stream_t *listener, int status) { accept_client_on(listener, status, 0, -1); }
static void on_tls_connection(uv_stream_t *listener, int status) { accept_client_on(listener, status, 1, -1); }

void tc_client_describe(tc_client *c, tc_buf *b, int64_t now_ms)
{
    size_t qbuf = c->query.len - c->query_pos;
    size_t omem = c->out.cap + c->inflight.cap;
    char flags[4];
    size_t nf = 0;
    if (tc_multi_count(c) >= 0) flags[nf++] = 'x';
    if (tc_block_is_waiting(c)) flags[nf++] = 'b';
    if (!nf) flags[nf++] = 'N';
    flags[nf] = '\0';
    tc_buf_printf(b,
                  "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 ssub=0 "
                  "multi=%ld qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 omem=%zu "
                  "tot-mem=%zu events=r%s cmd=%s%s%.*s user=%s redir=-1 resp=%d",
                  (unsigned long long)c->id, c->addr, c->laddr, tc_conn_fd(&c->conn), c->name ? c->name : "",
                  (long long)((now_ms - c->created_ms) / 1000), (long long)((now_ms - c->last_active_ms) / 1000),
                  flags, c->db, tc_multi_count(c), qbuf, c->query.cap - c->query.len, c->query.cap, omem, c->query.cap + omem + sizeof *c,
                  (c->writing || c->out.len) ? "w" : "", c->last_cmd ? c->last_cmd->name : "NULL",
                  c->last_sub ? "|" : "", (int)c->last_sub_len, c->last_sub ? c->last_sub : "",
                  c->user ? c->user->name : "default", c->resp);
}

/* ---- periodic work and shutdown ---------------------------------------- */

static void close_handle_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h)) uv_close(h, NULL);
}

void tc_server_stop(tc_server *s)
{
    /* What is already answered goes out first, as far as the sockets take
     * it without waiting (redirects of writes held during a handover). */
    for (tc_client *c = s->clients; c; c = c->next)
        if (!c->writing && c->out.len) flush_output(c);
    while (s->push_queue) unqueue_push(s->push_queue);
    close_handle_if_open((uv_handle_t *)&s->push_flush);
    close_handle_if_open((uv_handle_t *)&s->listener);
    close_handle_if_open((uv_handle_t *)&s->tls_listener);
    close_handle_if_open((uv_handle_t *)&s->sig_hup);
    close_handle_if_open((uv_handle_t *)&s->cron);
    close_handle_if_open((uv_handle_t *)&s->expire_fast);
    close_handle_if_open((uv_handle_t *)&s->expire_wake);
    close_handle_if_open((uv_handle_t *)&s->sig_term);
    close_handle_if_open((uv_handle_t *)&s->sig_int);
    tc_latency_unwatch_loop(s);
    tc_block_stop(s);
    while (s->clients) close_client(s->clients);
}

void tc_server_shutdown(tc_server *s, const char *why, int now)
{
    if (s->shutting_down) {
        if (!now) now = 1; /* asked twice: stop waiting */
        tc_notice("%s: shutting down now", why);
    } else {
        tc_notice("%s: shutting down", why);
    }
    s->shutting_down = 1;
    if (s->repl.ops) s->repl.ops->shutdown(s->repl.ud, now); /* it calls tc_server_stop when done */
    else tc_server_stop(s);
}

int tc_server_shutdown_wait(tc_server *s, tc_client *c)
{
    if (s->nshutdown_waiters == sizeof s->shutdown_waiters / sizeof s->shutdown_waiters[0]) return -1;
    s->shutdown_waiters[s->nshutdown_waiters++] = c;
    c->pending++;
    return 0;
}

/* The SHUTDOWNs waiting were refused (an abort, or their backup failed). */
static void refuse_shutdown_waiters(tc_server *s)
{
    static const char failed[] = "-ERR Errors trying to SHUTDOWN. Check logs.\r\n";
    size_t n = s->nshutdown_waiters;
    s->nshutdown_waiters = 0;
    for (size_t i = 0; i < n; i++) tc_client_deliver(s->shutdown_waiters[i], failed, sizeof failed - 1);
}

int tc_server_shutdown_abort(tc_server *s, char *err, size_t errlen)
{
    if (s->shutdown_save.waiting) {
        s->shutdown_save.waiting = 0; /* the backup goes on; the shutdown does not follow it */
        refuse_shutdown_waiters(s);
        tc_notice("SHUTDOWN ABORT: the shutdown after the backup is cancelled");
        return 0;
    }
    if (!s->shutting_down) {
        snprintf(err, errlen, "ERR No shutdown in progress.");
        return -1;
    }
    if (!s->repl.ops || s->repl.ops->shutdown_abort(s->repl.ud) != 0) {
        snprintf(err, errlen, "ERR the shutdown can no longer be aborted: this node is already closing");
        return -1;
    }
    s->shutting_down = 0;
    refuse_shutdown_waiters(s);
    tc_notice("SHUTDOWN ABORT: this node goes on serving");
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    tc_server_shutdown(h->data, signum == SIGTERM ? "Received SIGTERM" : "Received SIGINT", 0);
}

/* SIGHUP: certificates renewed on disk are read again; a file that does
 * not load leaves the running ones in place. */
static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    tc_server *s = h->data;
    char err[512];
    if (!s->tls) {
        tc_notice("SIGHUP: no TLS client port on this node, nothing to reload");
        return;
    }
    if (tc_tls_reload(s->tls, &s->cfg, err, sizeof err) == 0)
        tc_notice("SIGHUP: TLS certificates reloaded from %s and %s", s->cfg.tls_cert_file, s->cfg.tls_key_file);
    else
        tc_warn("SIGHUP: TLS reload failed, the previous certificates stay in use: %s", err);
}

/* SHUTDOWN SAVE waits for its backup here (the cron's pace). */
static void shutdown_after_save(tc_server *s)
{
    int ok = 1;
    if (!s->shutdown_save.waiting || !s->persist.ops || s->persist.ops->busy(s->persist.ud, &ok)) return;
    s->shutdown_save.waiting = 0;
    if (!ok && !s->shutdown_save.force) {
        tc_warn("SHUTDOWN SAVE: the backup failed; not shutting down (SHUTDOWN SAVE FORCE would)");
        refuse_shutdown_waiters(s);
        return;
    }
    tc_server_shutdown(s, ok ? "SHUTDOWN SAVE: the backup is done" : "SHUTDOWN SAVE FORCE: the backup failed", s->shutdown_save.now);
}

uint64_t tc_server_clock_us(void *ud)
{
    (void)ud;
    return uv_hrtime() / 1000;
}

/* A standalone node's active expiry: the cycle deletes on the spot. */
static void standalone_expire(tc_server *s, int type, int64_t now)
{
    uint64_t start = uv_hrtime();
    tc_expire_run run = {.type = type,
                         .effort = (unsigned)s->cfg.active_expire_effort,
                         .hz = (unsigned)s->cfg.hz,
                         .now_ms = now,
                         .clock = tc_server_clock_us};
    tc_expire_cycle(&s->expire, s->dbs, s->ndbs, &run);
    tc_latency_note(s, TC_LAT_EXPIRE_CYCLE, (uv_hrtime() - start) / 1000000);
}

/* Nothing to do: the loop pass this timer causes runs the fast cycle. */
static void on_expire_wake(uv_timer_t *t) { (void)t; }

void tc_server_expire_wake(tc_server *s)
{
    if (!s->loop || uv_is_active((uv_handle_t *)&s->expire_wake)) return;
    uint64_t wait = tc_expire_fast_wait(&s->expire, (unsigned)s->cfg.active_expire_effort, uv_hrtime() / 1000);
    if (wait == TC_EXPIRE_NO_FAST) return;
    uv_timer_start(&s->expire_wake, on_expire_wake, (wait + 999) / 1000, 0);
}

/* Between loop passes, as Redis's beforeSleep: a short cycle when the last
 * one left expired keys behind (tc_expire_fast_due says when). */
static void on_expire_fast(uv_check_t *h)
{
    tc_server *s = h->data;
    if (s->repl.ops) return;
    if (tc_expire_fast_due(&s->expire, (unsigned)s->cfg.active_expire_effort, uv_hrtime() / 1000))
        standalone_expire(s, TC_EXPIRE_FAST, tc_now_ms());
    tc_server_expire_wake(s);
}

static void on_cron(uv_timer_t *t)
{
    tc_server *s = t->data;
    int64_t now = tc_now_ms();
    tc_lru_clock_update(now); /* the clock keys' access bits are stamped with */
    tc_mem_cron(s, now);
    /* freed big buffers: the setting (CONFIG SET included), then the old ones go */
    tc_big_keep_limit((size_t)s->cfg.big_buffer_keep);
    tc_big_trim(TC_BIG_KEEP_MS);
    /* With replication only the primary expires keys, through the log
     * (the router runs the same cycle with a sink that builds entries). */
    if (!s->repl.ops) standalone_expire(s, TC_EXPIRE_SLOW, now);
    /* Finish resizes in the background, a millisecond at a time. */
    uint64_t start = uv_hrtime();
    for (int i = 0; i < s->ndbs; i++)
        while (tc_ks_rehash_step(&s->dbs[i], 100) && uv_hrtime() - start < 1000000) {
        }
    shutdown_after_save(s);
    if (!s->repl.ops) tc_restore_discard_idle(s, now); /* replicated: decided on the log's clock */
    else s->repl.ops->cron(s->repl.ud, now);
    if (s->cfg.timeout_ms) {
        tc_client *c = s->clients;
        while (c) {
            tc_client *next = c->next;
            if (!c->writing && now - c->last_active_ms > (int64_t)s->cfg.timeout_ms) {
                tc_info("closing idle client %s", c->addr);
                close_client(c);
            }
            c = next;
        }
    }
    uint64_t period = 1000 / (s->cfg.hz ? s->cfg.hz : 10);
    if (uv_timer_get_repeat(t) != period) uv_timer_set_repeat(t, period);
}

static int make_dirs(const char *path)
{
    char tmp[TC_CONFIG_MAX_STR * 2];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

const char *tc_server_backup_url(const tc_server *s)
{
    return s->cfg.backup.destination[0] ? s->cfg.backup.destination : s->own_backup_url;
}

int tc_server_open(tc_server *s, char *err, size_t errlen)
{
    char dir[TC_CONFIG_MAX_STR * 2];
    tc_config_node_dir(&s->cfg, s->self, dir, sizeof dir);
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(s->data_dir, sizeof s->data_dir, "%s", dir);
    char abs[PATH_MAX];
    const char *full = realpath(dir, abs) ? abs : dir;
    if ((size_t)snprintf(s->own_backup_url, sizeof s->own_backup_url, "file://%s/backups", full) >=
        sizeof s->own_backup_url)
        s->own_backup_url[0] = '\0'; /* too long for a URL: backup.destination must say where */
    tc_cluster_formed_load(s);
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&s->loop_storage) != 0) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    s->loop = &s->loop_storage;
    /* the loop's time waiting for I/O, so LATENCY's event-loop tells a stall from an idle wait */
    uv_loop_configure(s->loop, UV_METRICS_IDLE_TIME);
    if (s->self->tls_port) { /* before anything listens: bad certificates start nothing */
        tc_tls_ctx *ctx = tc_tls_ctx_build(&s->cfg, err, errlen);
        if (!ctx || !(s->tls = tc_tls_new(ctx))) {
            if (ctx) snprintf(err, errlen, "out of memory");
            uv_loop_close(s->loop);
            s->loop = NULL;
            return -1;
        }
    }
    s->listener.data = s;
    s->tls_listener.data = s;
    if (tc_conn_listen(&s->listener, s->loop, s->self->client_host, s->self->client_port, (int)s->cfg.tcp_backlog,
                       on_connection, err, errlen) != 0 ||
        (s->tls && tc_conn_listen(&s->tls_listener, s->loop, s->self->tls_host, s->self->tls_port,
                                  (int)s->cfg.tcp_backlog, on_tls_connection, err, errlen) != 0)) {
        close_handle_if_open((uv_handle_t *)&s->listener);
        uv_run(s->loop, UV_RUN_DEFAULT); /* lets the listeners close */
        uv_loop_close(s->loop);
        s->loop = NULL;
        tc_tls_free(s->tls);
        s->tls = NULL;
        return -1;
    }
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_hup.data = s;
    uv_signal_start(&s->sig_hup, on_sighup, SIGHUP);
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    uv_check_init(s->loop, &s->push_flush);
    s->push_flush.data = s;
    uv_timer_init(s->loop, &s->cron);
    s->cron.data = s;
    uv_check_init(s->loop, &s->expire_fast);
    s->expire_fast.data = s;
    uv_check_start(&s->expire_fast, on_expire_fast);
    uv_timer_init(s->loop, &s->expire_wake);
    uint64_t period = 1000 / (s->cfg.hz ? s->cfg.hz : 10);
    uv_timer_start(&s->cron, on_cron, period, period);
    tc_latency_watch_loop(s);
    return 0;
}

void tc_server_loop(tc_server *s)
{
    tc_notice("tricache %s node %d (zone %s) ready to accept connections on %s:%d", TC_VERSION, s->self->id,
              s->self->zone, s->self->client_host, s->self->client_port);
    if (s->tls) tc_notice("TLS clients on %s:%d", s->self->tls_host, s->self->tls_port);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_loop_close(s->loop);
    s->loop = NULL;
    tc_notice("tricache is now ready to exit, bye bye...");
}
