#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "blocking.h"
#include "cmd_acl.h"
#include "config_redis.h"
#include "log.h"
#include "log_entry.h"
#include "multi.h"
#include "script.h"
#include "write_limit.h"

#define ERR_READONLY "READONLY You can't write against a read only replica."
#define ERR_NO_PRIMARY "TRYAGAIN no primary is elected right now; retry shortly"
#define ERR_UNKNOWN_OUTCOME                                                                                    \
    "TRYAGAIN the primary lost its leadership before the write was committed: it may or may not have been " \
    "applied"
#define ERR_NOT_LOGGED "TRYAGAIN this node stopped being the primary before the write was logged: it was not applied"
#define ERR_UNBLOCKED "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
/* Replicated expiry (node/expire.h's cycle, its deletes logged): an entry
 * holds up to EXPIRY_ENTRY_KEYS keys or EXPIRY_ENTRY_BYTES bytes, so the
 * log's cost per key stays a few bytes and one entry's apply a few
 * milliseconds. Under client writes only the slow cycle runs, at most
 * EXPIRY_INFLIGHT entries a cron tick: 16384 keys an entry let it reclaim
 * a 1M-key storm under writes in about Redis's time (3.1 s against 4.6 s
 * measured; 4096 took 9 s), which is what a cache full of short-lived
 * keys needs first. EXPIRY_INFLIGHT entries may wait for their commit at once (one
 * commits while the next is built), and a second one does not start while
 * the log holds more than half of TC_ROUTER_LOG_ROOM: client writes keep
 * the rest, and cannot starve expiry either. */
#define EXPIRY_ENTRY_KEYS 16384
#define EXPIRY_ENTRY_BYTES (256u << 10)
#define EXPIRY_INFLIGHT 2
/* Client writes: at most this many entries of them wait for their commit;
 * writes routed meanwhile gather in the open batch, which goes once one of
 * them is applied. Every entry costs the primary and each replica the same
 * fixed work (an AppendEntries sent and received, a log write, an
 * acknowledgement, two thread hand-offs) whatever it holds, and the
 * machine's CPU, not the disk, bounds a loaded cluster: with an entry sent
 * each loop pass, redis-benchmark -P 1 -c 50 made entries of 3-7 writes;
 * with two in flight, of 15-17, and the same cores acknowledge more writes
 * (README, "Three nodes against Redis"). A lone client never waits for this:
 * it has one write in flight. */
#define WRITES_INFLIGHT 2

struct tc_batch {
    tc_buf entry;
    uint32_t n;
    tc_client **clients; /* the client of each command; NULL for expiry */
    unsigned char *resp; /* the protocol each command's reply is encoded in */
    size_t cap;
    int64_t submit_ms;
    size_t bytes;        /* of the entry, once submitted */
    int kind;
    int64_t time_ms;     /* the entry's clock and seed (a script's recording runs with them) */
    uint64_t seed;
    /* A reply computed already, sent at commit instead of the applied
     * command's (a script's: its TCEXEC of effects answers an array);
     * NULL until a command has one, then per command (NULL: none). */
    char **preset;
    size_t *preset_len;
    tc_room_hold hold;   /* victims and growth this batch holds of r->room */
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    unsigned char *early; /* per command: answered +OK once submitted */
    size_t early_cap;
#endif
};

static void batch_free(tc_batch *b);
static int batch_add(tc_batch *b, tc_client *c, int db, int resp, size_t argc, const tc_slice *argv);

static tc_batch *batch_new(tc_router *r, int kind, int64_t now_ms)
{
    tc_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->kind = kind;
    /* the entry's randomness, for every node that applies it */
    b->time_ms = now_ms;
    b->seed = tc_rng_next(&r->seeds);
    tc_logentry_begin(&b->entry, kind, now_ms, b->seed);
    /* This primary's size limit, when not the default that every node
     * applies an entry with: first in the entry, so that every node refuses
     * or accepts a growing value alike (node/cmd_limits.c). */
    uint64_t limit = r->srv->cfg.proto_max_bulk_len;
    if (kind == TC_LOGENTRY_COMMANDS && limit != TC_DEFAULT_PROTO_MAX_BULK_LEN) {
        char num[24];
        int len = snprintf(num, sizeof num, "%llu", (unsigned long long)limit);
        tc_slice argv[2] = {{"TCLIMITS", 8}, {num, (size_t)len}};
        if (batch_add(b, NULL, 0, 2, 2, argv) != 0) { /* in any database: it names no key */
            batch_free(b);
            return NULL;
        }
    }
    return b;
}

static void batch_free(tc_batch *b)
{
    if (!b) return;
    tc_buf_free(&b->entry);
    tc_buf_free(&b->hold.names);
    free(b->clients);
    free(b->resp);
    for (uint32_t i = 0; b->preset && i < b->n; i++) free(b->preset[i]);
    free(b->preset);
    free(b->preset_len);
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    free(b->early);
#endif
    free(b);
}

/* Adds a command, the client waiting for its reply (NULL: none) and the
 * protocol (2 or 3) the client spoke when the command was parsed: a HELLO
 * after it does not change how it is answered. */
static int batch_add(tc_batch *b, tc_client *c, int db, int resp, size_t argc, const tc_slice *argv)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        tc_client **v = realloc(b->clients, cap * sizeof *v);
        if (!v) return -1;
        b->clients = v;
        unsigned char *p = realloc(b->resp, cap);
        if (!p) return -1;
        b->resp = p;
        if (b->preset) {
            char **pr = realloc(b->preset, cap * sizeof *pr);
            if (!pr) return -1;
            b->preset = pr;
            size_t *pl = realloc(b->preset_len, cap * sizeof *pl);
            if (!pl) return -1;
            b->preset_len = pl;
        }
        b->cap = cap;
    }
    tc_logentry_add_db(&b->entry, db, argc, argv);
    if (b->preset) b->preset[b->n] = NULL;
    b->resp[b->n] = (unsigned char)resp;
    b->clients[b->n++] = c;
    return 0;
}

/* The reply for the batch's last command, given now and sent at commit
 * (the bytes are taken). 0, or -1 out of memory (bytes freed). */
static int batch_preset_last(tc_batch *b, char *reply, size_t len)
{
    if (!b->preset) {
        b->preset = calloc(b->cap, sizeof *b->preset);
        b->preset_len = calloc(b->cap, sizeof *b->preset_len);
        if (!b->preset || !b->preset_len) {
            free(b->preset);
            free(b->preset_len);
            b->preset = NULL;
            b->preset_len = NULL;
            free(reply);
            return -1;
        }
    }
    b->preset[b->n - 1] = reply;
    b->preset_len[b->n - 1] = len;
    return 0;
}

#ifdef TC_TEST_ACK_BEFORE_COMMIT
/* TEST BUILD ONLY (tricache-ack-before-commit, built for jepsen-lite's
 * smoke test, never shipped): a deliberately broken primary that answers
 * every SET (IFEQ included) +OK as soon as its batch is handed to the log,
 * before a majority holds it, and drops the real reply when the entry is
 * applied. A primary cut off from the others keeps acknowledging writes that
 * never commit and vanish when it steps down; jepsen-lite must catch that.
 *
 * Only a SET queued while nothing else is owed to its client is answered
 * early, so that a client's replies keep their order; everything else is
 * answered at commit as usual (so is everything if memory runs out here). */
static void mark_early(tc_batch *b, int early)
{
    if (b->n > b->early_cap) {
        size_t cap = b->cap > b->n ? b->cap : b->n;
        unsigned char *e = realloc(b->early, cap);
        if (!e) return;
        memset(e + b->early_cap, 0, cap - b->early_cap);
        b->early = e;
        b->early_cap = cap;
    }
    b->early[b->n - 1] = (unsigned char)early;
}

/* After the batch went to the log: the early replies. */
static void ack_early(tc_batch *b)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->n && i < b->early_cap; i++) n += b->early[i] && b->clients && b->clients[i];
    tc_client **acked = n ? malloc(n * sizeof *acked) : NULL;
    if (!acked) return;
    n = 0;
    for (uint32_t i = 0; i < b->n && i < b->early_cap; i++) {
        if (!b->early[i] || !b->clients[i]) continue;
        acked[n++] = b->clients[i];
        b->clients[i] = NULL; /* the real reply, at commit, goes to nobody */
    }
    /* Delivering lets a client go on with its next commands (into a new
     * batch); this batch is not touched afterwards. */
    for (uint32_t i = 0; i < n; i++) tc_client_deliver(acked[i], "+OK\r\n", 5);
    free(acked);
}
#endif

/* Answers every client of a batch with the same error. */
static void batch_fail(tc_batch *b, const char *err)
{
    char line[256];
    int n = snprintf(line, sizeof line, "-%s\r\n", err);
    for (uint32_t i = 0; i < b->n; i++) {
        if (!b->clients || !b->clients[i]) continue;
        tc_block_forget(b->clients[i]);
        tc_client_deliver(b->clients[i], line, (size_t)n);
    }
}

static int role(tc_router *r) { return r->log.role(r->log.ud); }

/* When the entry last applied here reached this node: a replica whose
 * apply was held up (a long command) is as fresh as what it received, not
 * as when it got round to applying it. */
static int64_t progress_ms(tc_router *r, int64_t now)
{
    int64_t at = r->log.applied_ms ? r->log.applied_ms(r->log.ud) : 0;
    return at && at < now ? at : now;
}

/* When the primary's last entry or barrier was submitted, of those that
 * committed: the one behind the lease (0: none since it became primary). */
static int64_t last_commit_ms(const tc_router *r)
{
    return r->lease_until_ms ? r->lease_until_ms - r->lease_ms : 0;
}

/* The read lease: until lease_until_ms, from the last write or barrier
 * that committed (submitted lease_ms before), unless a leadership transfer
 * has run since that one was submitted (tc_log_ops.lease_void_ms). */
static int lease_holds(const tc_router *r, int64_t now)
{
    if (now >= r->lease_until_ms) return 0;
    return !r->log.lease_void_ms || last_commit_ms(r) > r->log.lease_void_ms(r->log.ud);
}

/* A replica's freshness, last_progress_ms: when it applied an entry of the
 * primary's, or heard the primary (a heartbeat) say a commit index it has
 * applied. The second is looked up only when the first is older than
 * `stale` (it takes the Raft thread's lock): an idle primary logs nothing,
 * and its heartbeats alone keep its replicas' reads fresh. */
static void replica_progress(tc_router *r, int64_t now, int64_t stale)
{
    uint64_t applied = r->log.applied_index(r->log.ud);
    if (applied != r->seen_applied) {
        r->seen_applied = applied;
        r->last_progress_ms = progress_ms(r, now);
    }
    if (now - r->last_progress_ms <= stale || !r->log.heard_ms) return;
    int64_t heard = r->log.heard_ms(r->log.ud, applied);
    if (heard > r->last_progress_ms) r->last_progress_ms = heard < now ? heard : now;
}

/* While the primary's commits stall (tc_log_ops.commit_stall): the error
 * line for what cannot be done ("write", "answer a linearizable read"),
 * Redis's NOREPLICAS sentence first; NULL while commits move. */
static const char *stalled(tc_router *r, const char *what, char *line, size_t len)
{
    char why[300];
    if (!r->log.commit_stall || !r->log.commit_stall(r->log.ud, why, sizeof why)) return NULL;
    snprintf(line, len, "NOREPLICAS Not enough good replicas to %s. %s", what, why);
    return line;
}

/* A batch leaves (applied, failed, never submitted): what it held of the
 * eviction bookkeeping goes with it. */
static void batch_drop(tc_router *r, tc_batch *b)
{
    if (!b) return;
    tc_room_release(&r->room, &b->hold);
    batch_free(b);
}

static int list_add(tc_client_list *l, tc_client *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tc_client **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
    return 0;
}

/* Lets every client of the list parse its input again. */
static void resume_list(tc_client_list *l)
{
    /* Resuming may add clients again: take the list first. */
    tc_client_list taken = *l;
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < taken.n; i++) tc_client_resume(taken.v[i]);
    free(taken.v);
}

/* cluster_mode: "-MOVED <slot> <primary>" for a command that must run on
 * the primary; returns 0 if no primary is known (then -READONLY/-TRYAGAIN). */
static int reply_moved(tc_server *s, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *rep)
{
    if (!s->cfg.cluster_mode || !s->repl.ops) return 0;
    const tc_node_conf *p = tc_config_node(&s->cfg, tc_server_primary_id(s));
    if (!p) return 0;
    int slot = cmd->first_key > 0 && (size_t)cmd->first_key < argc
                   ? tc_key_slot(argv[cmd->first_key].p, argv[cmd->first_key].len)
                   : 0;
    tc_reply_errorf(rep, "MOVED %d %s:%d", slot, p->client_host, p->client_port);
    return 1;
}

/* ---- blocking commands (node/blocking.h) ----------------------------------
 * On the primary a blocking command is probed against the applied state:
 * nothing to take -> its client waits (nothing logged); something to take
 * (or an error to give, WRONGTYPE) -> it is logged like any write and
 * applied everywhere as the non-blocking pop it then is. A waiting client
 * is re-routed here when an applied entry makes its key ready. */
static int route_blocking(tc_router *r, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                          tc_reply *rep, int64_t now)
{
    /* behind this client's earlier writes: it runs once they are answered */
    if (c->pending > 0) return TC_ROUTE_DEFER;
    int probe = tc_block_probe(r->srv, c, cmd, argc, argv, rep, now);
    if (probe != TC_BLOCK_READY) return TC_ROUTE_DONE;
    /* no wait for log room: a client has one such command at a time */
    if ((!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) ||
        batch_add(r->open, c, c->db, c->resp, argc, argv) != 0) {
        tc_block_forget(c);
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    mark_early(r->open, 0);
#endif
    tc_multi_touch_cmd(r->srv, c->db, cmd, argc, argv, now, 1);
    c->pending++;
    return TC_ROUTE_QUEUED;
}

/* EXEC of a transaction that holds writes, on the primary: the WATCH check
 * was decided by tc_multi_exec_plan (every write before this point of the
 * log has marked its keys when it was routed), so the logged form runs
 * unconditionally on every node, as one command of one entry. */
static int queue_exec(tc_router *r, tc_client *c, tc_reply *rep, int64_t now)
{
    size_t argc;
    const tc_slice *argv;
    /* logged in the client's database; a SELECT inside moves the rest of
     * the transaction at apply, and the client with it from now on */
    int start = c->db, end = c->db;
    if ((!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) ||
        tc_multi_log_args(r->srv, c, now, &end, &argc, &argv) != 0 ||
        batch_add(r->open, c, start, rep->resp, argc, argv) != 0) {
        tc_multi_reset(c);
        tc_reply_error(rep, "EXECABORT Transaction discarded because of: ERR out of memory");
        return TC_ROUTE_DONE;
    }
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    mark_early(r->open, 0);
#endif
    tc_multi_reset(c);
    c->db = end;
    c->pending++;
    return TC_ROUTE_QUEUED;
}

/* After an applied entry: clients whose keys it made ready are served (a
 * blocking read on any node, a pop on the primary); a node that is no
 * longer primary lets its waiting pops go. */
static void blocked_after_apply(tc_router *r, int64_t now)
{
    if (role(r) != TC_ROLE_PRIMARY) tc_block_unblock_writers(r->srv, ERR_UNBLOCKED); /* readers stay */
    tc_block_handle_ready(r->srv, now);
}

/* Before a write that may grow memory, on the primary (room.h): victims
 * go into the open batch as TCEVICT, ahead of the write. 0, or -1 with the
 * reply set (-OOM, or out of memory). Victims chosen before a refusal are
 * logged all the same: the keyspace is over its limit either way. */
static int make_room(tc_router *r, size_t argc, const tc_slice *argv, tc_reply *rep, int64_t now)
{
    size_t bytes = 0;
    for (size_t i = 0; i < argc; i++) bytes += argv[i].len;
    if (!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) {
        tc_reply_error(rep, "ERR out of memory");
        return -1;
    }
    tc_buf victims = {0};
    size_t n = 0;
    int rc = tc_room_make(&r->room, r->srv, bytes, &r->open->hold, &victims, &n);
    /* one TCEVICT per database, in the order the databases first come */
    tc_slice *args = n ? malloc((n + 2) * sizeof *args) : NULL;
    unsigned char *done = n ? calloc(n, 1) : NULL;
    if (n && (!args || !done)) rc = -1;
    for (size_t first = 0; args && done && first < n; first++) {
        if (done[first]) continue;
        uint32_t db0 = 0;
        size_t argc2 = 2, off = 0;
        char dbtext[16];
        for (size_t i = 0; i < n; i++) {
            uint32_t db, len;
            memcpy(&db, victims.data + off, 4);
            memcpy(&len, victims.data + off + 4, 4);
            if (i == first) db0 = db;
            if (i >= first && !done[i] && db == db0) {
                args[argc2++] = (tc_slice){victims.data + off + 8, len};
                done[i] = 1;
            }
            off += 8 + len;
        }
        args[0] = (tc_slice){"tcevict", 7};
        args[1] = (tc_slice){dbtext, (size_t)snprintf(dbtext, sizeof dbtext, "%u", db0)};
        /* no reply is owed for it (client NULL); it names its database
         * itself, so it runs in 0 (the entry stays version 2) */
        if (batch_add(r->open, NULL, 0, 2, argc2, args) != 0) rc = -1;
    }
    free(args);
    free(done);
    tc_buf_free(&victims);
    if (rc != 0) tc_reply_error(rep, TC_ERR_OOM);
    return rc;
}

static int submit(tc_router *r, tc_batch *b, int64_t now);

/* The door for big writes (write_limit.h), on the primary: 0 and the
 * write may join the open batch, which goes to the log first if the write
 * would take it past the limit; or -1 and the refusal in rep, nothing
 * logged. */
static int door(tc_router *r, uint64_t bytes, tc_reply *rep, int64_t now)
{
    if (tc_write_limit_refuse(&r->srv->cfg, bytes, rep)) return -1;
    if (r->open && r->open->n && tc_write_limit_cut(&r->srv->cfg, r->open->entry.len, bytes)) {
        tc_batch *b = r->open;
        r->open = NULL;
        submit(r, b, now); /* a failure answers that batch's clients; this write goes on in a new one */
    }
    return 0;
}

/* CONFIG SET of cluster-wide parameters (config_redis.h): checked here,
 * then logged as TCCONFIG SET and applied on every node; a replica refuses
 * it as it refuses writes. */
static int route_config(tc_router *r, tc_client *c, size_t argc, const tc_slice *argv, size_t nrepl, tc_reply *rep,
                        int64_t now)
{
    char err[1024];
    if (nrepl * 2 != argc - 2) { /* mixed with node-local parameters */
        if (tc_config_cmd_check(r->srv, argc - 2, argv + 2, err, sizeof err) != 0) tc_reply_error(rep, err);
        else tc_reply_error(rep, TC_ERR_CONFIG_MIXED);
        return TC_ROUTE_DONE;
    }
    int me = role(r);
    if (me == TC_ROLE_NONE) {
        tc_reply_error(rep, ERR_NO_PRIMARY);
        return TC_ROUTE_DONE;
    }
    if (me != TC_ROLE_PRIMARY) {
        tc_reply_error(rep, ERR_READONLY);
        return TC_ROUTE_DONE;
    }
    if (r->holding) { /* a handover drains the log: routed again once it ends, as writes are */
        if (list_add(&r->held, c) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        c->pending++;
        c->blocked = 1;
        return TC_ROUTE_DEFER;
    }
    if (tc_config_cmd_check(r->srv, argc - 2, argv + 2, err, sizeof err) != 0) {
        tc_reply_error(rep, err);
        return TC_ROUTE_DONE;
    }
    tc_slice *args = malloc(argc * sizeof *args);
    if (!args || (!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now)))) {
        free(args);
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    memcpy(args, argv, argc * sizeof *args);
    args[0] = (tc_slice){"tcconfig", 8};
    int rc = batch_add(r->open, c, 0, rep->resp, argc, args); /* settings belong to no database */
    free(args);
    if (rc != 0) {
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    mark_early(r->open, 0);
#endif
    c->pending++;
    return TC_ROUTE_QUEUED;
}

/* ACL SETUSER / DELUSER: users are cluster state. Checked here, then
 * logged (clear passwords as their hashes) and applied on every node; a
 * replica refuses it as it refuses writes. */
static int route_acl(tc_router *r, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *rep, int64_t now)
{
    int me = role(r);
    if (me == TC_ROLE_NONE) {
        tc_reply_error(rep, ERR_NO_PRIMARY);
        return TC_ROUTE_DONE;
    }
    if (me != TC_ROLE_PRIMARY) {
        tc_reply_error(rep, ERR_READONLY);
        return TC_ROUTE_DONE;
    }
    if (r->holding) { /* a handover drains the log: routed again once it ends */
        if (list_add(&r->held, c) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        c->pending++;
        c->blocked = 1;
        return TC_ROUTE_DEFER;
    }
    char err[1024];
    if (tc_acl_cmd_check(r->srv, argc, argv, err, sizeof err) != 0) {
        tc_reply_error(rep, err);
        return TC_ROUTE_DONE;
    }
    if (door(r, tc_write_limit_bytes(argc, argv), rep, now) != 0) return TC_ROUTE_DONE;
    tc_slice *args = tc_acl_logged_form(argc, argv);
    if (!args || (!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now)))) {
        tc_acl_logged_free(args, argc);
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    int rc = batch_add(r->open, c, 0, rep->resp, argc, args); /* users belong to no database */
    tc_acl_logged_free(args, argc);
    if (rc != 0) {
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    c->pending++;
    return TC_ROUTE_QUEUED;
}

/* Waits behind a script (or for everything before it to be applied):
 * routed again, in arrival order, when the log has drained. */
static int wait_for_script(tc_router *r, tc_client *c, tc_reply *rep)
{
    if (list_add(&r->script_wait, c) != 0) {
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    c->pending++;
    c->blocked = 1;
    return TC_ROUTE_DEFER;
}

/* ---- groups of scripts -----------------------------------------------------
 * One writing script per commit round trip is slow: a script must see
 * everything routed before it applied, so it waits for the log to drain.
 * Scripts that arrive while the log is drained, in one pass of the loop,
 * therefore run back to back under one recording, each on top of the
 * effects of the ones before, and each is logged as its own TCEXEC of the
 * same entry, in the order they ran. At apply every node runs those TCEXECs
 * in that order on the state the first script saw, so each does there what
 * it did here, and its reply (computed here) is the one apply would give.
 *
 * Why it is safe: while a group is open the primary's keyspace holds
 * effects that are not applied (not even logged yet). The group is closed
 * (the keyspace put back, once) before anything else reads or changes it:
 * any other command routed (reads served here, WATCH, MULTI/EXEC, INFO,
 * a script that cannot join), the end of the loop pass (tc_router_flush,
 * before its expiry cycle and the submit), the cron, an entry applied,
 * a role change or shutdown (abort), a handover, a commit stall, and,
 * through tc_router_settle, a snapshot fork or an image loaded. Nothing
 * is answered from the group's state until its entry is applied: a
 * script's reply goes out at commit; one that wrote nothing after others
 * of the group wrote is logged as an empty TCEXEC so that its reply waits
 * for the same commit (it may have read their effects). The entry fails
 * or commits whole, so no client ever hears of a state that never existed.
 * A group closes after GROUP_MAX_SCRIPTS scripts or GROUP_MAX_BYTES of
 * entry, so one entry stays cheap to apply on every node; scripts after
 * that wait for the entry to be applied, as before. */
#define GROUP_MAX_SCRIPTS 512
#define GROUP_MAX_BYTES (128u << 10)

static void group_close(tc_router *r)
{
    if (!r->group) return;
    tc_script_record_free(r->group); /* puts the keyspace back */
    r->group = NULL;
    r->group_scripts = 0;
    r->group_logged = 0;
}

void tc_router_settle(tc_router *r) { group_close(r); }

/* The open group can take one more script now. */
static int group_open_to_join(const tc_router *r)
{
    return r->group && r->open && !r->script_wait.n && r->group_scripts < GROUP_MAX_SCRIPTS &&
           r->open->entry.len < GROUP_MAX_BYTES;
}

/* 1 if every reply c waits for is owed by the open batch: a script of c
 * that joins it is then answered after them, in command order. */
static int pending_all_in_open(const tc_router *r, const tc_client *c)
{
    uint32_t mine = 0;
    for (uint32_t i = 0; i < r->open->n; i++) mine += r->open->clients[i] == c;
    return mine == (uint32_t)c->pending;
}

/* EVAL / EVALSHA on the primary: replication by effects (script/record.c).
 * The script runs once, here, once every write routed before it is
 * applied (it sees exactly that state, plus the effects of the scripts of
 * its group; later writes wait behind it), with the clock and seed of the
 * entry its writes go into. The keyspace is put back when the group
 * closes and the writes are logged as one TCEXEC, which every node
 * applies in one go; the script's reply, computed now, is sent when that
 * entry is applied (or the error a failed write gets). A script that wrote
 * nothing, first in its group, is answered at once. */
static int route_script(tc_router *r, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                        tc_reply *rep, int64_t now)
{
    tc_server *s = r->srv;
    int join = group_open_to_join(r);
    if (!join) group_close(r);
    /* pipelined behind its own writes (tc_server's dispatch lets it
     * through): only into the group that holds them, else in its turn */
    if (c->pending > 0 && !(join && pending_all_in_open(r, c))) return TC_ROUTE_DEFER;
    if (r->holding) {
        if (list_add(&r->held, c) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        c->pending++;
        c->blocked = 1;
        return TC_ROUTE_DEFER;
    }
    char line[400];
    if (!join && stalled(r, "write", line, sizeof line)) {
        tc_reply_error(rep, line);
        return TC_ROUTE_DONE;
    }
    if (!join && (r->script_wait.n || !tc_router_drained(r))) return wait_for_script(r, c, rep);
    tc_batch *b = join ? r->open : (r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now));
    if (!b) {
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    uint32_t first = b->n;
    /* what apply will see: the entry's clock (never behind the applied
     * one) and, for the TCEXEC at index first, its generator's base */
    int64_t at = b->time_ms > r->apply.clock_ms ? b->time_ms : r->apply.clock_ms;
    tc_rng g;
    tc_rng_seed(&g, tc_logentry_command_seed(b->seed, first));
    uint64_t seed_base = tc_rng_next(&g);
    if (join) {
        tc_script_record_script(r->group, c->db, seed_base);
    } else if (!(r->group = tc_script_record_begin(s, c->db, seed_base))) {
        r->open = NULL;
        batch_drop(r, b);
        tc_reply_error(rep, "ERR out of memory");
        return TC_ROUTE_DONE;
    }
    r->group_scripts++;
    tc_buf out = {0};
    tc_reply answer = {&out, rep->resp};
    /* where its TCEXEC starts (an EXEC's SELECT moves the client on) */
    int start_db = c->db, db = c->db;
    tc_server_run_cmd(s, c, &db, cmd, argc, argv, &answer, at);
    size_t n;
    const tc_slice *logged, *body;
    tc_script_record_take(r->group, &n, &logged, &body);
    /* too much to log: refused, the refusal replacing its reply. Its
     * effects, in the keyspace with its group's, are undone when the group
     * closes below; the scripts before it stay logged. (A group's entry
     * may pass the limit by up to GROUP_MAX_BYTES: one script's effects
     * are known only once it ran on top of the others.) */
    uint64_t effects = tc_write_limit_bytes(n, logged) + (body ? tc_write_limit_bytes(3, body) : 0);
    tc_buf refusal = {0};
    int refused = tc_write_limit_refuse(&s->cfg, effects, &(tc_reply){&refusal, rep->resp});
    if (refused) {
        tc_buf_free(&out);
        out = refusal;
        n = 0;
        body = NULL;
    }
    /* nothing written, but run on top of the group's effects: its reply
     * waits for their commit, behind an empty TCEXEC */
    static const tc_slice no_effects[2] = {{"tcexec", 6}, {"0", 1}};
    int deferred = !n && (r->group_logged > 0 || c->pending > 0);
    int queued = 0;
    if (n || deferred) {
        if (batch_add(b, c, start_db, rep->resp, n ? n : 2, n ? logged : no_effects) != 0) {
            tc_buf_free(&out);
            tc_reply_error(&answer, "ERR out of memory");
        } else if (batch_preset_last(b, out.data, out.len) != 0) {
            out = (tc_buf){0};
            b->clients[b->n - 1] = NULL; /* logged all the same: nobody hears of it twice */
            tc_reply_error(&answer, "ERR out of memory: the script's reply was lost; its writes are applied");
        } else {
            out = (tc_buf){0}; /* taken by the batch */
            c->pending++;
            queued = 1;
            if (n) r->group_logged++;
        }
    }
    /* a body new here: every node caches it too (EVALSHA after a failover) */
    if (body) batch_add(b, NULL, 0, 2, 3, body);
    if (b->n == first) { /* nothing to log: first of its group, it changed nothing */
        group_close(r);
        r->open = NULL;
        batch_drop(r, b);
    } else if (refused || (n && !queued)) {
        /* its effects are in the keyspace but not in the log: the group
         * ends here, and the scripts before it stay logged */
        group_close(r);
    } else if (!group_open_to_join(r)) {
        group_close(r);
    }
    if (!queued) {
        if (rep->out) tc_buf_append(rep->out, out.data, out.len);
        tc_buf_free(&out);
        return refused ? TC_ROUTE_DONE : TC_ROUTE_RAN; /* a refusal is counted as one */
    }
    return TC_ROUTE_QUEUED;
}

int tc_router_route(tc_router *r, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *rep,
                    int64_t now)
{
    /* Scripts: writing ones run on the primary (replication by effects);
     * elsewhere EVAL and EVALSHA run as reads, their writes refused. */
    int script = cmd->fn == tc_cmd_eval || cmd->fn == tc_cmd_evalsha;
    /* FCALL of a function without no-writes is such a script; FCALL_RO,
     * a no-writes function, and a name no library has, are reads */
    unsigned fn_flags = 0;
    int fn_found = (cmd->fn == tc_cmd_fcall || cmd->fn == tc_cmd_fcall_ro) && argc >= 2 &&
                   tc_function_flags(r->srv, &argv[1], &fn_flags);
    int fcall_writes = cmd->fn == tc_cmd_fcall && fn_found && !(fn_flags & TC_FN_NO_WRITES);
    if ((script || fcall_writes) && role(r) == TC_ROLE_PRIMARY) return route_script(r, c, cmd, argc, argv, rep, now);
    /* a script behind its client's writes, not run there: in its turn */
    if ((script || cmd->fn == tc_cmd_fcall) && c->pending > 0) return TC_ROUTE_DEFER;
    /* anything else sees (or changes) the applied state, never a group's */
    group_close(r);
    /* The script cache is cluster state: SCRIPT LOAD and FLUSH on the
     * primary go through the log, so every node has the same scripts (a
     * replica runs them locally, as Redis's do). */
    if (cmd->fn == tc_cmd_script && argc >= 2 && (tc_arg_is(&argv[1], "load") || tc_arg_is(&argv[1], "flush")) &&
        role(r) == TC_ROLE_PRIMARY && !r->holding) {
        if (door(r, tc_write_limit_bytes(argc, argv), rep, now) != 0) return TC_ROUTE_DONE;
        if ((!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) ||
            batch_add(r->open, c, 0, rep->resp, argc, argv) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        c->pending++;
        return TC_ROUTE_QUEUED;
    }
    if (cmd->fn == tc_cmd_acl && tc_acl_cmd_changes_users(argc, argv)) return route_acl(r, c, argc, argv, rep, now);
    tc_server *s = r->srv;
    if (cmd->fn == tc_cmd_config && argc >= 4 && argc % 2 == 0 && tc_arg_is(&argv[1], "set")) {
        size_t nrepl = tc_config_cmd_replicated(argc - 2, argv + 2);
        if (nrepl) return route_config(r, c, argc, argv, nrepl, rep, now);
    }
    int writes = (cmd->flags & TC_CMD_WRITE) != 0 || fcall_writes;
    /* function libraries are cluster state: changed through the log on
     * the primary, refused on a replica as a write is */
    if (cmd->fn == tc_cmd_function && tc_function_cmd_changes_libraries(argc, argv)) writes = 1;
    /* DEBUG POPULATE creates keys: it must go through the log like a write,
     * or replicas would differ from the primary. */
    if (!writes && argc >= 2 && strcmp(cmd->name, "debug") == 0 && tc_arg_is(&argv[1], "populate")) writes = 1;
    int reads = (cmd->flags & TC_CMD_READONLY) != 0 || script || cmd->fn == tc_cmd_fcall;
    int exec = 0; /* EXEC of a transaction that writes */
    if (cmd->fn == tc_cmd_exec) {
        int plan = tc_multi_exec_plan(c, now, rep);
        if (plan == TC_EXEC_DONE) return TC_ROUTE_DONE;
        /* with a writing script: run here like one, its effects logged */
        if (plan == TC_EXEC_SCRIPT) {
            int routed = route_script(r, c, cmd, argc, argv, rep, now);
            if (routed == TC_ROUTE_DONE && tc_multi_count(c) >= 0) tc_multi_reset(c); /* refused before it ran */
            return routed;
        }
        reads = plan == TC_EXEC_READ;
        writes = exec = plan == TC_EXEC_WRITE;
    }
    if (!writes && !reads) return TC_ROUTE_LOCAL;

    int me = role(r);
    /* allow-stale: read from what was applied, primary or not */
    if (me == TC_ROLE_NONE && !writes && fn_found && (fn_flags & TC_FN_ALLOW_STALE)) return TC_ROUTE_LOCAL;
    if (me == TC_ROLE_NONE) {
        if (exec) tc_multi_reset(c);
        tc_reply_error(rep, ERR_NO_PRIMARY);
        return TC_ROUTE_DONE;
    }
    if (writes) {
        if (me != TC_ROLE_PRIMARY) {
            /* as a Redis replica: the whole transaction is discarded */
            if (!reply_moved(s, cmd, argc, argv, rep))
                tc_reply_error(rep, exec ? "EXECABORT Transaction discarded because of: " ERR_READONLY : ERR_READONLY);
            if (exec) tc_multi_reset(c);
            return TC_ROUTE_DONE;
        }
        if (r->holding) {
            if (list_add(&r->held, c) != 0) {
                tc_reply_error(rep, "ERR out of memory");
                return TC_ROUTE_DONE;
            }
            c->pending++;
            c->blocked = 1;
            return TC_ROUTE_DEFER; /* routed again when the handover ends */
        }
        char line[400];
        if (stalled(r, "write", line, sizeof line)) { /* refused at once, nothing logged */
            if (exec) {
                tc_reply_errorf(rep, "EXECABORT Transaction discarded because of: %s", line);
                tc_multi_reset(c);
            } else {
                tc_reply_error(rep, line);
            }
            return TC_ROUTE_DONE;
        }
        /* behind a script that waits for the log to drain: in arrival order */
        if (r->script_wait.n) return wait_for_script(r, c, rep);
        /* too big for one entry: refused before anything (victims, log
         * room, WATCHers' keys) is spent on it; an EXEC as its one TCEXEC */
        uint64_t bytes = exec ? tc_multi_log_bytes(c) : tc_write_limit_bytes(argc, argv);
        /* TCRESTORE (tricachectl restore) is let through: a backup may hold
         * a value built larger than the limit (APPEND), and a record cannot
         * be staged in pieces yet; tricachectl sends big records alone */
        if (cmd->fn == tc_cmd_tcrestore) bytes = 0;
        if (door(r, bytes, rep, now) != 0) {
            if (exec) tc_multi_reset(c); /* the whole transaction is discarded, as a refused EXEC is */
            return TC_ROUTE_DONE;
        }
        if (cmd->flags & TC_CMD_BLOCKING) return route_blocking(r, c, cmd, argc, argv, rep, now);
        int room_wanted = s->cfg.maxmemory && (exec || (cmd->flags & TC_CMD_DENYOOM));
        if (exec && r->inflight_bytes + (r->open ? r->open->entry.len : 0) < TC_ROUTER_LOG_ROOM) {
            if (room_wanted && make_room(r, argc, argv, rep, now) != 0) {
                tc_multi_reset(c);
                return TC_ROUTE_DONE;
            }
            return queue_exec(r, c, rep, now);
        }
        if (r->inflight_bytes + (r->open ? r->open->entry.len : 0) >= TC_ROUTER_LOG_ROOM) {
            if (list_add(&r->log_full, c) != 0) {
                tc_reply_error(rep, "ERR out of memory");
                return TC_ROUTE_DONE;
            }
            c->pending++;
            c->blocked = 1;
            return TC_ROUTE_DEFER; /* resumed when commits make room */
        }
        if (room_wanted && make_room(r, argc, argv, rep, now) != 0) return TC_ROUTE_DONE;
        if (!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        if (batch_add(r->open, c, c->db, rep->resp, argc, argv) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
#ifdef TC_TEST_ACK_BEFORE_COMMIT
        mark_early(r->open, strcmp(cmd->name, "set") == 0 && c->pending == 0);
#endif
        /* WATCHers of its keys: before any EXEC routed after it */
        tc_multi_touch_cmd(s, c->db, cmd, argc, argv, now, 1);
        c->pending++;
        return TC_ROUTE_QUEUED;
    }
    if (me == TC_ROLE_PRIMARY) {
        int mode = s->cfg.read_consistency;
        if (mode == TC_READ_LEASE) r->lease_read_ms = now; /* the cron keeps the lease renewed while reads use it */
        /* Served here if no check is wanted, if a barrier sent after this
         * command arrived has committed, or under a valid lease. */
        if (mode == TC_READ_LOCAL || c->cmd_end <= c->read_covered || (mode == TC_READ_LEASE && lease_holds(r, now)))
            return TC_ROUTE_LOCAL;
        /* a barrier would wait as long as the stall: refused now (a
         * read's outcome is clear, it changed nothing) */
        char line[400];
        if (stalled(r, "answer a linearizable read", line, sizeof line)) {
            if (cmd->fn == tc_cmd_exec) {
                tc_reply_errorf(rep, "EXECABORT Transaction discarded because of: %s", line);
                tc_multi_reset(c);
            } else {
                tc_reply_error(rep, line);
            }
            return TC_ROUTE_DONE;
        }
        if (list_add(&r->waiting, c) != 0) {
            tc_reply_error(rep, "ERR out of memory");
            return TC_ROUTE_DONE;
        }
        c->pending++;
        c->blocked = 1;
        r->barrier_wanted = 1;
        return TC_ROUTE_DEFER;
    }
    /* A cluster client reads from a replica only after READONLY, as with
     * Redis Cluster; otherwise it is sent to the primary. */
    if (s->cfg.cluster_mode && !c->cluster_readonly && reply_moved(s, cmd, argc, argv, rep)) return TC_ROUTE_DONE;
    int64_t max_staleness = (int64_t)s->cfg.replica_max_staleness_ms;
    replica_progress(r, now, max_staleness);
    int64_t silent = now - r->last_progress_ms;
    /* a function flagged allow-stale runs on a replica however long it has
     * not heard from the primary, as on a Redis replica whose link is down */
    if (silent > max_staleness && !(fn_found && (fn_flags & TC_FN_ALLOW_STALE))) {
        const char *disk = r->log.write_error ? r->log.write_error(r->log.ud) : NULL;
        if (disk)
            /* the primary may well be there: this node cannot store what it sends */
            tc_reply_errorf(rep,
                            "TRYAGAIN this replica cannot write its log (%s) and has applied nothing for %lld ms "
                            "(replica_max_staleness is %lld ms)",
                            disk, (long long)silent, (long long)max_staleness);
        else if (!r->last_progress_ms)
            tc_reply_error(rep, "TRYAGAIN this replica has not heard from the primary since it started");
        else
            tc_reply_errorf(rep,
                            "TRYAGAIN this replica has not heard from the primary for %lld ms "
                            "(replica_max_staleness is %lld ms)",
                            (long long)silent, (long long)max_staleness);
        return TC_ROUTE_DONE;
    }
    return TC_ROUTE_LOCAL;
}

int tc_router_submit_command(tc_router *r, size_t argc, const tc_slice *argv, int64_t now)
{
    if (role(r) != TC_ROLE_PRIMARY || r->holding) return -1;
    if (!r->open && !(r->open = batch_new(r, TC_LOGENTRY_COMMANDS, now))) return -1;
    return batch_add(r->open, NULL, 0, 2, argc, argv); /* committed replies skip NULL clients */
}

void tc_router_init(tc_router *r, tc_server *srv, const tc_log_ops *log, int64_t election_timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->log = *log;
    /* A follower that heard from this primary at time t grants no vote
     * before t + election timeout; with a margin for clock rate and
     * scheduling, reads stay local for 80% of that after a commit. */
    r->lease_ms = election_timeout_ms * 8 / 10;
    /* Seeds of the entries this node builds as primary: unpredictable, and
     * different from any other node's (getrandom cannot fail for 8 bytes
     * once the kernel's pool is ready; the clock is only a fallback). */
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = tc_mix64((uint64_t)tc_now_ms() ^ ((uint64_t)getpid() << 32));
    tc_rng_seed(&r->seeds, seed);
    /* Only the primary deletes expired keys, through the log; reads here
     * only hide them. */
    for (int i = 0; i < srv->ndbs; i++) srv->dbs[i].lazy_delete = 0;
}

static void resume_waiters(tc_router *r)
{
    resume_list(&r->covered);
    resume_list(&r->waiting);
    resume_list(&r->log_full);
    /* Writes held by a handover wait for its end (tc_router_hold_writes):
     * released in the moment between this node stepping down and hearing
     * from the new primary, they would get "no primary" instead of a
     * redirect (the cron tick of a node that is not the primary lands
     * there). */
    if (!r->holding) resume_list(&r->held);
    resume_list(&r->script_wait);
}

void tc_router_hold_writes(tc_router *r, int hold)
{
    group_close(r);
    r->holding = hold;
    if (!hold) resume_list(&r->held);
}

int tc_router_drained(const tc_router *r) { return !r->open && r->inflight_bytes == 0; }

static void check_waits(tc_router *r, int64_t now, int all);

void tc_router_abort(tc_router *r)
{
    group_close(r);
    check_waits(r, tc_now_ms(), 1); /* what the replicas hold so far */
    if (r->open) {
        batch_fail(r->open, ERR_NOT_LOGGED);
        batch_drop(r, r->open);
        r->open = NULL;
    }
    /* the expiry entry being built; those submitted get their outcome */
    batch_free(r->expiry_open);
    r->expiry_open = NULL;
    resume_waiters(r);
}

void tc_router_free(tc_router *r)
{
    tc_router_abort(r);
    free(r->waits);
    r->waits = NULL;
    tc_room_free(&r->room);
}

/* The log this node cannot write, as the clients hear it; NULL if it can. */
static const char *misconf(tc_router *r, char *line, size_t len)
{
    const char *why = r->log.write_error ? r->log.write_error(r->log.ud) : NULL;
    if (!why) return NULL;
    snprintf(line, len, "MISCONF this node cannot write its log: %s", why);
    return line;
}

/* Hands a batch to the log; on failure answers its clients and frees it. */
static int submit(tc_router *r, tc_batch *b, int64_t now)
{
    char line[400];
    b->submit_ms = now;
    const char *refused = misconf(r, line, sizeof line);
    if (!refused) refused = stalled(r, "write", line, sizeof line);
    if (!refused && b->entry.len > TC_LOGENTRY_MAX_BYTES) {
        /* proto_max_bulk_len may be set up to 4gb: such an argument
         * cannot be logged, and nothing of it is written */
        snprintf(line, sizeof line, "ERR value too large to replicate: %zu bytes, limit %zu", b->entry.len,
                 (size_t)TC_LOGENTRY_MAX_BYTES);
        refused = line;
    }
    size_t len = 0;
    int failed = refused || tc_logentry_end(&b->entry, b->n) != 0;
    if (!failed) {
        len = b->entry.len; /* the log may take the buffer */
        failed = r->log.submit(r->log.ud, &b->entry, b) != 0;
    }
    if (failed) {
        r->entries_failed++;
        if (!refused) refused = misconf(r, line, sizeof line); /* the submit itself may have found out */
        batch_fail(b, refused ? refused : ERR_NOT_LOGGED);
        batch_drop(r, b);
        return -1;
    }
    r->entries_submitted++;
    if (b->kind == TC_LOGENTRY_COMMANDS) r->inflight_writes++;
    b->bytes = len;
    r->inflight_bytes += b->bytes;
    tc_buf_free(&b->entry); /* the log copied the bytes or took them */
#ifdef TC_TEST_ACK_BEFORE_COMMIT
    ack_early(b);
#endif
    return 0;
}

static void expire_run(tc_router *r, int type, int64_t now);
static int expiry_blocked(tc_router *r);

/* The slow expiry cycle's period: one cron tick. */
static int64_t expiry_period_ms(const tc_router *r)
{
    uint64_t hz = r->srv->cfg.hz ? r->srv->cfg.hz : 10;
    return hz < 1000 ? (int64_t)(1000 / hz) : 1;
}

/* WAIT's answer: the replicas' count, or WAITAOF's [1, count] (this node
 * fsyncs every entry before it counts toward a commit). */
static void wait_reply(tc_reply *rep, unsigned count, int aof)
{
    if (aof) {
        tc_reply_array(rep, 2);
        tc_reply_int(rep, 1);
    }
    tc_reply_int(rep, count);
}

static unsigned replicas_holding(tc_router *r, uint64_t index)
{
    return role(r) == TC_ROLE_PRIMARY && index ? r->log.replicas_at(r->log.ud, index) : 0;
}

int tc_router_wait(tc_router *r, tc_client *c, long long numreplicas, int64_t deadline_ms, int aof, tc_reply *rep)
{
    unsigned count = replicas_holding(r, c->last_write_index);
    /* a client that never wrote waits for nothing: every replica has "it" */
    if (!c->last_write_index) count = (unsigned)(r->srv->cfg.nnodes - 1);
    if (numreplicas <= 0 || count >= (unsigned long long)numreplicas || role(r) != TC_ROLE_PRIMARY) {
        wait_reply(rep, count, aof);
        return 0;
    }
    if (r->nwaits == r->waits_cap) {
        size_t cap = r->waits_cap ? r->waits_cap * 2 : 16;
        tc_waiter *v = realloc(r->waits, cap * sizeof *v);
        if (!v) {
            tc_reply_error(rep, "ERR out of memory");
            return 0;
        }
        r->waits = v;
        r->waits_cap = cap;
    }
    r->waits[r->nwaits++] = (tc_waiter){c, c->last_write_index, (unsigned)numreplicas, deadline_ms, aof};
    c->pending++;
    return 1;
}

/* Answers the WAITs that have their replicas or whose time is up (every
 * loop pass: acknowledgements arrive between them). */
static void check_waits(tc_router *r, int64_t now, int all)
{
    for (size_t i = 0; i < r->nwaits;) {
        tc_waiter *w = &r->waits[i];
        unsigned count = replicas_holding(r, w->index);
        if (!all && count < w->want && (!w->deadline_ms || now < w->deadline_ms) && role(r) == TC_ROLE_PRIMARY) {
            i++;
            continue;
        }
        tc_client *c = w->c;
        int aof = w->aof;
        r->waits[i] = r->waits[--r->nwaits];
        tc_buf out = {0};
        tc_reply rep = {&out, c->resp};
        wait_reply(&rep, count, aof);
        tc_client_deliver(c, out.data, out.len);
        tc_buf_free(&out);
    }
}

/* Whether the open batch goes to the log at the end of this loop pass:
 * while WRITES_INFLIGHT entries wait for their commit it keeps gathering,
 * unless it would be refused (a failing disk, stalled commits): its clients
 * are told now, not once the entries in flight are answered. The entries
 * in flight always end (applied, failed, or cancelled at close), and the
 * pass that takes their outcome ends here. */
static int open_may_go(tc_router *r)
{
    char line[400];
    return r->inflight_writes < WRITES_INFLIGHT || misconf(r, line, sizeof line) ||
           stalled(r, "write", line, sizeof line);
}

void tc_router_flush(tc_router *r, int64_t now)
{
    group_close(r); /* the loop pass ends: the group's entry goes now */
    if (r->nwaits) check_waits(r, now, 0);
    /* A fast expiry cycle between loop passes, when the last one left work
     * and no client wrote for a cron period: under a write load the slow
     * cycle's share is expiry's whole share, as clients come first. Not
     * "no client write waits right now": pipelining clients leave a gap
     * between one round of replies and their next writes, and a fast cycle
     * (and the apply of the entries it fills) in each gap delays every
     * round: it took 43% of a write load's throughput (bench/expire.sh). */
    if (r->open && r->open->n) r->client_write_ms = now;
    int clients_writing = r->client_write_ms && now - r->client_write_ms < expiry_period_ms(r);
    if (!clients_writing && role(r) == TC_ROLE_PRIMARY) {
        uint64_t wait =
            tc_expire_fast_wait(&r->srv->expire, (unsigned)r->srv->cfg.active_expire_effort, tc_server_clock_us(NULL));
        if (wait != TC_EXPIRE_NO_FAST && !expiry_blocked(r)) {
            if (wait == 0) expire_run(r, TC_EXPIRE_FAST, now);
            tc_server_expire_wake(r->srv); /* an idle loop would sleep until the cron */
        }
    }
    if (r->open && open_may_go(r)) {
        tc_batch *b = r->open;
        r->open = NULL;
        submit(r, b, now);
    }
    if (r->barrier_wanted && !r->barrier_inflight) {
        r->barrier_wanted = 0;
        if (role(r) != TC_ROLE_PRIMARY) {
            resume_waiters(r); /* they will be routed as on a replica */
        } else if (r->log.barrier(r->log.ud) == 0) {
            r->barrier_inflight = 1;
            r->barrier_submit_ms = now;
            /* What the waiting clients have received so far arrived before
             * this barrier: once it commits, those reads are checked. */
            for (size_t i = 0; i < r->waiting.n; i++) r->waiting.v[i]->barrier_mark = r->waiting.v[i]->query.len;
            for (size_t i = 0; i < r->waiting.n; i++) list_add(&r->covered, r->waiting.v[i]);
            r->waiting.n = 0;
        } else {
            resume_waiters(r);
        }
    }
}

void tc_router_fsm_apply(tc_router *r, const void *data, size_t len, const tc_logentry_gap *gap, tc_batch *batch,
                         tc_apply_replies *replies)
{
    char err[256];
    group_close(r); /* apply runs on the applied state */
    if (replies) {
        /* each reply in the protocol of the client that sent the command */
        replies->resp = batch ? batch->resp : NULL;
        replies->nresp = batch && batch->resp ? batch->n : 0;
    }
    /* this primary's own expiry entry: its deletes are part of the cycle's cost */
    uint64_t start = batch && batch->kind == TC_LOGENTRY_EXPIRE ? uv_hrtime() : 0;
    int rc = tc_apply_entry_gap(r->srv, &r->apply, data, len, gap, replies, err, sizeof err);
    if (start) tc_expire_charge(&r->srv->expire, (uv_hrtime() - start) / 1000);
    if (rc != 0) {
        /* Every node refuses the same bytes the same way, so state stays
         * identical; but it means a bug or a damaged log: say so loudly. */
        tc_warn("refusing a log entry: %s", err);
        if (replies) replies->n = 0;
    }
    blocked_after_apply(r, tc_now_ms());
}

void tc_router_committed(tc_router *r, tc_batch *b, int status, const tc_apply_replies *rep)
{
    group_close(r);
    if (status == 0) {
        /* the entry is applied: the log holds it at this index at most */
        uint64_t index = r->log.applied_index(r->log.ud);
        for (uint32_t i = 0; i < b->n; i++)
            if (b->clients && b->clients[i]) b->clients[i]->last_write_index = index;
        int64_t until = b->submit_ms + r->lease_ms;
        if (until > r->lease_until_ms) r->lease_until_ms = until;
        int64_t now = tc_now_ms(); /* once an entry, not once a reply */
        for (uint32_t i = 0; i < b->n; i++) {
            if (!b->clients || !b->clients[i]) continue;
            if (b->preset && b->preset[i]) {
                /* a script: its own reply, computed when it ran */
                tc_client_deliver(b->clients[i], b->preset[i], b->preset_len[i]);
            } else if (rep && i < rep->n) {
                size_t start = i ? rep->ends[i - 1] : 0;
                const char *p = rep->replies.data + start;
                size_t len = rep->ends[i] - start;
                /* a blocking command that found nothing waits again */
                if (tc_block_committed(b->clients[i], &p, &len, now)) continue;
                tc_client_deliver(b->clients[i], p, len);
            } else {
                tc_block_forget(b->clients[i]);
                static const char lost[] = "-ERR the reply was lost (out of memory); the write was applied\r\n";
                tc_client_deliver(b->clients[i], lost, sizeof lost - 1);
            }
        }
    } else if (status == TC_LOG_NOT_LOGGED) {
        char line[400];
        r->entries_failed++;
        const char *disk = misconf(r, line, sizeof line);
        batch_fail(b, disk ? disk : ERR_NOT_LOGGED);
    } else {
        r->entries_failed++;
        batch_fail(b, ERR_UNKNOWN_OUTCOME);
    }
    if (b->kind == TC_LOGENTRY_EXPIRE && r->expiry_inflight) {
        r->expiry_inflight--;
        r->expiry_inflight_bytes -= b->bytes;
    }
    r->inflight_bytes -= b->bytes;
    if (b->kind == TC_LOGENTRY_COMMANDS) r->inflight_writes--;
    batch_drop(r, b);
    if (r->log_full.n && r->inflight_bytes < TC_ROUTER_LOG_ROOM / 2) resume_list(&r->log_full);
    /* everything routed before the waiting script is applied: it runs now */
    if (r->script_wait.n && tc_router_drained(r)) resume_list(&r->script_wait);
}

void tc_router_answer_early(tc_router *r, tc_batch *b, const char *err)
{
    (void)r;
    batch_fail(b, err);
    for (uint32_t i = 0; b->clients && i < b->n; i++) b->clients[i] = NULL;
}

void tc_router_commit_stalled(tc_router *r)
{
    group_close(r);
    resume_list(&r->covered);
    resume_list(&r->waiting);
    resume_list(&r->log_full);
    resume_list(&r->script_wait);
}

void tc_router_barrier_done(tc_router *r, int status)
{
    r->barrier_inflight = 0;
    if (status == 0) {
        int64_t until = r->barrier_submit_ms + r->lease_ms;
        if (until > r->lease_until_ms) r->lease_until_ms = until;
        for (size_t i = 0; i < r->covered.n; i++) r->covered.v[i]->read_covered = r->covered.v[i]->barrier_mark;
    }
    resume_list(&r->covered);
    /* reads that came while this barrier flew need the next one */
    if (r->waiting.n) r->barrier_wanted = 1;
}

/* The expiry entry being built goes to the log. */
static void expiry_submit(tc_router *r)
{
    tc_batch *b = r->expiry_open;
    r->expiry_open = NULL;
    if (b && submit(r, b, r->expiry_now) == 0) {
        r->expiry_inflight++;
        r->expiry_inflight_bytes += b->bytes;
    }
}

/* The cycle's sink (tc_expire_sink.take): the key joins the entry being
 * built; no room while the entries in flight are as many as allowed. */
static int expiry_take(void *ud, int db, const char *key, size_t klen)
{
    tc_router *r = ud;
    if (!r->expiry_open) {
        /* one entry always may go, so a write load cannot starve expiry */
        if (r->expiry_inflight >= EXPIRY_INFLIGHT ||
            (r->expiry_inflight && r->inflight_bytes >= TC_ROUTER_LOG_ROOM / 2))
            return -1;
        r->expiry_open = batch_new(r, TC_LOGENTRY_EXPIRE, r->expiry_now);
        if (!r->expiry_open) return -1;
    }
    tc_batch *b = r->expiry_open;
    tc_slice k = {key, klen};
    tc_logentry_add_db(&b->entry, db, 1, &k); /* out of memory shows at tc_logentry_end: the entry fails whole */
    b->n++;
    if (b->n >= EXPIRY_ENTRY_KEYS || b->entry.len >= EXPIRY_ENTRY_BYTES) expiry_submit(r);
    return 0;
}

/* tc_expire_sink.idle: no key reported earlier still waits for its delete. */
static int expiry_idle(void *ud)
{
    tc_router *r = ud;
    return !r->expiry_open && r->expiry_inflight == 0;
}

/* No expiry entry could go now: a handover holds writes, the log cannot be
 * written, or commits stall. */
static int expiry_blocked(tc_router *r)
{
    char line[400];
    return r->holding || misconf(r, line, sizeof line) || stalled(r, "write", line, sizeof line);
}

/* One cycle of active expiry on the primary: what it finds becomes
 * entries of TC_LOGENTRY_EXPIRE deletes that every node applies (and
 * counts in expired_keys, and announces as "expired") as they commit. */
static void expire_run(tc_router *r, int type, int64_t now)
{
    if (expiry_blocked(r)) return;
    r->expiry_now = now;
    tc_expire_sink sink = {expiry_take, expiry_idle, r};
    tc_expire_run run = {.type = type,
                         .effort = (unsigned)r->srv->cfg.active_expire_effort,
                         .hz = (unsigned)r->srv->cfg.hz,
                         .now_ms = now,
                         .clock = tc_server_clock_us,
                         .sink = &sink};
    uint64_t start = uv_hrtime();
    tc_expire_cycle(&r->srv->expire, r->srv->dbs, r->srv->ndbs, &run);
    expiry_submit(r); /* what this cycle found goes now, with this cycle's clock */
    tc_latency_note(r->srv, TC_LAT_EXPIRE_CYCLE, (uv_hrtime() - start) / 1000000);
}

static int s_over_limit(tc_router *r)
{
    tc_server *s = r->srv;
    return tc_mem_exceeded(s) && s->cfg.maxmemory_policy != TC_EVICT_NOEVICTION && !r->room.n && !r->holding;
}

/* Victims alone, no write after them (make_room with nothing to add). */
static void evict_pass(tc_router *r, int64_t now)
{
    tc_buf out = {0};
    tc_reply rep = {&out, 2};
    make_room(r, 0, NULL, &rep, now); /* a refusal has nobody to tell */
    tc_buf_free(&out);
}

/* An idle primary logs nothing by default: its replicas count their
 * freshness from its heartbeats too (replica_progress), and it counts
 * theirs from their answers (raft/peer_liveness.c). Barriers still go out
 * when nothing committed for a while: while reads use the lease
 * (read_consistency lease, a read within the last two leases), which runs
 * from the last commit, before half of it is gone, so that they never
 * wait for one; and, every quarter of replica_max_staleness, while a big
 * run waits to be let go on the nodes (raft/log_budget.c: that takes an
 * apply) or always when replica_max_staleness is under two heartbeat
 * intervals (heartbeats alone would leave the replicas stale between
 * two). 0: none wanted. */
static int64_t idle_barrier_every_ms(const tc_router *r, int64_t now)
{
    const tc_config *cfg = &r->srv->cfg;
    int64_t every = 0;
    if ((r->log.idle_barriers && r->log.idle_barriers(r->log.ud)) ||
        cfg->replica_max_staleness_ms < 2 * cfg->heartbeat_interval_ms) {
        every = (int64_t)cfg->replica_max_staleness_ms / 4;
        if (every < 1) every = 1;
    }
    if (cfg->read_consistency == TC_READ_LEASE && now - r->lease_read_ms < 2 * r->lease_ms) {
        int64_t half = r->lease_ms / 2 > 0 ? r->lease_ms / 2 : 1;
        if (!every || half < every) every = half;
    }
    return every;
}

void tc_router_cron(tc_router *r, int64_t now)
{
    group_close(r);
    if (role(r) == TC_ROLE_PRIMARY) {
        r->seen_applied = r->log.applied_index(r->log.ud);
        r->last_progress_ms = now;
    } else {
        replica_progress(r, now, 0); /* INFO and CLUSTER NODES read it too */
        r->lease_until_ms = 0;
        tc_block_unblock_writers(r->srv, ERR_UNBLOCKED); /* blocking reads wait on replicas too */
        if (r->waiting.n || r->covered.n || r->log_full.n || r->held.n || r->script_wait.n) resume_waiters(r);
        return;
    }
    int64_t every = idle_barrier_every_ms(r, now);
    if (every && now - last_commit_ms(r) >= every) r->barrier_wanted = 1;
    /* Replicated expiry: the slow cycle, hz times a second. */
    expire_run(r, TC_EXPIRE_SLOW, now);
    /* Over the limit with no write coming (maxmemory was just lowered):
     * evict now, as Redis does before any command, a round per tick. */
    if (s_over_limit(r)) evict_pass(r, now);
}
