/* The node's state and its client connections. All of it lives in one
 * tc_server that is passed around; nothing is global. */
#ifndef TC_SERVER_H
#define TC_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "acl.h"
#include "buf.h"
#include "commands.h"
#include "config.h"
#include "conn.h"
#include "conn_tls.h"
#include "evict.h"
#include "expire.h"
#include "keyspace.h"
#include "latency.h"
#include "resp.h"

#define TC_VERSION "0.1.0"
/* The Redis version whose commands and replies we follow; clients read it
 * from INFO and HELLO to decide which features they may use. */
#define TC_REDIS_COMPAT_VERSION "7.0.0"

typedef struct tc_client {
    tc_conn conn;                 /* its transport (plain TCP today) */
    struct tc_server *srv;
    struct tc_client *prev, *next;
    struct tc_client *push_next;  /* in the server's queue of output written at the end of the loop pass */
    int push_queued;
    uint64_t id;
    char addr[64], laddr[64];
    char *name;                   /* CLIENT SETNAME, NULL if none */

    tc_buf query;                 /* bytes received; unparsed part starts at query_pos */
    size_t query_pos;
    tc_resp_parser parser;
    tc_slice *argv;               /* the current command's arguments */
    size_t argv_cap;

    tc_buf out;                   /* replies not yet handed to the kernel */
    tc_buf inflight;              /* the part tc_conn_write is sending now */
    int writing;

    int resp;                     /* 2 or 3 */
    int db;                       /* SELECT: the database its commands run in (0 at connect, RESET) */
    int authenticated;
    tc_acl_user *user;            /* who it is (AUTH); NULL once that user was deleted */
    int cluster_readonly;         /* READONLY: reads served on this replica (cluster_mode) */
    int close_after_reply;        /* QUIT, protocol error, KILL: close once flushed */
    int closing;                  /* uv_close called */
    int reading_paused;           /* stopped reading because output piled up */
    int input_paused;             /* stopped reading: much input waits while the client is held back */
    int64_t created_ms, last_active_ms; /* wall clock */
    /* CLIENT LIST's cmd= ("get", "client|list"): the client's last
     * command and, for a container, its subcommand (a word of
     * last_cmd->subcommands, lowercase); NULL before the first */
    const struct tc_cmd *last_cmd;
    const char *last_sub;
    unsigned last_sub_len;

    /* Replication: replies still owed by the log (queued writes) or a
     * command put back until the primary's read lease is renewed. While
     * pending > 0 the client's struct stays allocated even if it closes. */
    char **channels;              /* SUBSCRIBE: channel names */
    size_t nchannels;
    char **patterns;              /* PSUBSCRIBE: glob patterns */
    size_t npatterns;

    unsigned pending;
    uint64_t last_write_index;    /* log index at which this client's last write was applied (WAIT) */
    int blocked;                  /* a deferred command waits: parse nothing */
    size_t cmd_end;               /* query offset just past the command being routed */
    size_t read_covered;          /* query bytes a committed barrier was sent after */
    size_t barrier_mark;          /* query bytes received when the barrier in flight was sent */
    size_t deferred_len;          /* >0: the command at query_pos was deferred; parser.argv still holds it */
    int handle_closed;            /* uv_close finished; free when pending == 0 */
    struct tc_blocked *block;     /* a blocking command waiting for a key (blocking.h), or NULL */
    struct tc_multi *multi;       /* MULTI queue and WATCHed keys (multi.h), NULL until first used */
} tc_client;

/* What the replication layer decided for a command (see tc_server.route). */
enum tc_route {
    TC_ROUTE_LOCAL,   /* execute here, now */
    TC_ROUTE_DONE,    /* already answered (a redirect or an error) */
    TC_ROUTE_QUEUED,  /* appended to the log; tc_client_deliver answers it */
    TC_ROUTE_DEFER,   /* not consumed: parsed again after tc_client_resume */
    TC_ROUTE_RAN,     /* run by the layer through tc_server_run_cmd (a script on the
                         primary), answered and counted there */
};
/* The replication face: what the node asks of the layer that replicates it
 * (replication/ with raft/). Every function gets the layer's own ud. */
typedef struct tc_replication_ops {
    /* Where a client's command runs (enum tc_route). */
    int (*route)(void *ud, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *r,
                 int64_t now_ms);
    /* Periodic work (hz times a second): leases, replicated expiry... */
    void (*cron)(void *ud, int64_t now_ms);
    /* ROLE's reply. */
    void (*role_reply)(void *ud, tc_reply *r);
    /* The primary's node id (0: none known). */
    int (*primary_id)(void *ud);
    /* Starts moving leadership to target (0: the most up-to-date replica);
     * 0, or -1 with a Redis-style error in err. */
    int (*failover)(void *ud, int target_id, char *err, size_t errlen);
    /* MEMBERS: list (replies at once) or add/remove (0: the reply comes
     * later through tc_client_deliver; -1: err holds the error). */
    void (*members_list)(void *ud, tc_reply *r);
    int (*members_change)(void *ud, tc_client *c, int add, int id, char *err, size_t errlen);
    /* What this node knows of node_id being up, for CLUSTER NODES/SLOTS/
     * SHARDS: 1 heard from recently, 0 silent for longer than the failure
     * window, -1 this node cannot tell (raft/peer_liveness.c). */
    int (*peer_alive)(void *ud, int node_id);
    /* WAIT / WAITAOF: how many replicas hold this client's last write. 0:
     * answered in r now; 1: c waits (answered later through
     * tc_client_deliver). aof: WAITAOF's [local, replicas] reply. */
    int (*wait)(void *ud, tc_client *c, long long numreplicas, int64_t deadline_ms, int aof, tc_reply *r);
    /* SIGTERM, SIGINT, SHUTDOWN: a primary first hands leadership over
     * (unless now, or shutdown_timeout passes); then the layer closes its
     * own handles and calls tc_server_stop. Called again with now = 1 while
     * a handover runs, it stops waiting. */
    void (*shutdown)(void *ud, int now);
    /* SHUTDOWN ABORT: 0 if the pending shutdown was cancelled (this node
     * goes on serving), -1 if it can no longer be (leadership already
     * moved, or the handles are closing). */
    int (*shutdown_abort)(void *ud);
} tc_replication_ops;

typedef struct tc_replication {
    const tc_replication_ops *ops; /* NULL: standalone, every command runs here */
    void *ud;
} tc_replication;

/* The persistence face: backups of the running node (backup/). */
typedef struct tc_persistence_ops {
    /* Starts one to url (NULL: backup.destination): 0 started, 1 queued
     * behind the running one (schedule), or -1 with a Redis-style error in
     * err. With a waiter (SAVE) that client is answered through
     * tc_client_deliver when the backup ends. */
    int (*bgsave)(void *ud, tc_client *waiter, const char *url, int schedule, char *err, size_t errlen);
    /* 1 while a backup runs; else whether the last one succeeded (0/1,
     * 1 before any) in *last_ok. SHUTDOWN SAVE waits on it. */
    int (*busy)(void *ud, int *last_ok);
    /* A TCBACKUP RUN entry was applied: node_id takes a scheduled backup. */
    void (*backup_requested)(void *ud, int node_id, int64_t at_ms);
    /* A TCBACKUP REQUEST entry was applied: node_id's BGSAVE/SAVE with this
     * token may start (every write acknowledged before it was asked for is
     * applied by now). */
    void (*backup_granted)(void *ud, int node_id, unsigned long long token);
} tc_persistence_ops;

typedef struct tc_persistence {
    const tc_persistence_ops *ops; /* NULL: BGSAVE and SAVE answer an error */
    void *ud;
} tc_persistence;

/* One INFO section: its title ("Replication") and what writes its lines. */
typedef void (*tc_info_fn)(void *ud, tc_buf *b);
#define TC_INFO_MAX_SECTIONS 24
typedef struct tc_info_section {
    char name[24];                /* lowercase, as INFO's arguments name it */
    char title[24];               /* the "# Title" line */
    tc_info_fn render;
    void *ud;
    int in_default;               /* part of INFO without arguments */
} tc_info_section;

/* INFO commandstats: one per row of the command table. */
typedef struct tc_cmdstat {
    uint64_t calls, usec;
    uint64_t rejected;            /* refused before running (arity, AUTH, ...) */
    uint64_t failed;              /* ran and answered an error */
    tc_latency_hist hist;         /* LATENCY HISTOGRAM */
} tc_cmdstat;

/* INFO errorstats: replies of each error code ("ERR", "WRONGTYPE"); like
 * Redis, at most TC_MAX_ERROR_CODES different codes are tracked. */
#define TC_MAX_ERROR_CODES 128
typedef struct tc_errorstat {
    char code[32];
    uint64_t count;
} tc_errorstat;

typedef struct tc_stats {
    uint64_t connections_received;
    uint64_t rejected_connections;
    uint64_t plaintext_refused;   /* plain clients refused: transit_encryption_mode = "required" */
    uint64_t commands_processed;
    uint64_t auth_failures;       /* wrong AUTH / HELLO AUTH tokens */
    uint64_t net_input_bytes, net_output_bytes;
    uint64_t protocol_errors;
    uint64_t client_qbuf_limit_disconnections;
    uint64_t client_outbuf_limit_disconnections;
    uint64_t error_replies;       /* every error reply, tracked code or not */
    uint64_t big_values_in_place; /* big SET values stored in the block they were put together in (adopt) */
    tc_cmdstat *cmds;             /* indexed like tc_cmd_table() */
    tc_errorstat errors[TC_MAX_ERROR_CODES];
    size_t nerrors;
} tc_stats;

typedef struct tc_server {
    tc_config cfg;
    const tc_node_conf *self;
    /* The numbered databases (cfg.databases of them; SELECT, MOVE,
     * SWAPDB): dbs[0] is database 0. Every key lives in one. */
    tc_keyspace *dbs;
    int ndbs;
    tc_stats stats;
    tc_acl acl;                   /* users (acl.h): cluster state, changed through the log */
    int64_t auth_warned_ms;       /* when a failed AUTH was last logged (0: never) */
    tc_memstate mem;              /* used_memory's figures, eviction's pool and counts (evict.h) */
    tc_latency latency;           /* LATENCY's events and the loop-pass watch (latency.h) */
    tc_expire_state expire;       /* active expiry's cursor and INFO figures (expire.h; on a primary the router runs it) */

    uv_loop_t *loop;              /* NULL when used without networking (unit tests) */
    uv_loop_t loop_storage;
    uv_tcp_t listener;            /* clients connect here (conn.h) */
    uv_tcp_t tls_listener;        /* and here over TLS, if the node has a tls_client_addr */
    tc_tls *tls;                  /* the TLS clients' context (conn_tls.h); NULL without TLS */
    uv_signal_t sig_term, sig_int;
    uv_signal_t sig_hup;          /* reloads the TLS certificates */
    uv_timer_t cron;
    uv_check_t expire_fast;       /* a standalone node's fast expiry cycles, between loop passes */
    uv_timer_t expire_wake;       /* wakes an idle loop when a fast expiry cycle is due (tc_server_expire_wake) */
    int shutting_down;
    /* SHUTDOWN SAVE: the backup it waits for before shutting down (the
     * client is answered with an error if it fails and FORCE was not
     * given). */
    struct {
        int waiting, force, now;
    } shutdown_save;
    /* Clients whose SHUTDOWN waits (for its backup or the handover); an
     * ABORT answers them with an error, the shutdown with nothing. */
    tc_client *shutdown_waiters[16];
    size_t nshutdown_waiters;

    tc_client *clients;           /* doubly-linked list of open connections */
    /* Clients with pushed messages (pub/sub, keyspace notifications) not
     * yet written: one write each per loop pass, however many messages
     * one pass published (push_flush runs while the queue is not empty). */
    tc_client *push_queue;
    uv_check_t push_flush;
    size_t nclients;
    size_t pubsub_subscriptions;  /* channels and patterns of every client (pubsub.c): 0 = publishing reaches nobody */
    uint64_t next_client_id;
    tc_client *current;           /* the client whose command is running, if any */
    /* The command running and its now_ms (notify.c: is a lookup a read's
     * key miss? was a replaced key live?); cmd_running is NULL between
     * commands. */
    const tc_cmd *cmd_running;
    int64_t cmd_now_ms;
    /* The command about to run is a script's write being recorded on a
     * replicated primary (script/record.c): it runs again when its log
     * entry is applied, and is counted in INFO commandstats there, once,
     * as on every replica. */
    int cmd_uncounted;
    /* The error the running command just replied was counted already in
     * INFO errorstats: a script's error that came from a command it called
     * (Redis's ignore_error_stats_update). The command still counts as
     * failed in commandstats. */
    int reply_error_counted;
    /* The randomness commands see (tc_ctx.rng; the rule is in commands.h):
     * applying a log entry reseeds it before each command; seeded at random
     * by tc_server_init. */
    tc_rng rng;
    /* The size limit (proto-max-bulk-len) that commands growing a value
     * obey while a log entry is applied: every node must decide alike, so
     * it is the primary's, carried by the entry (TCLIMITS, cmd_limits.c),
     * never this node's own setting. 0 outside an entry. */
    uint64_t entry_max_bulk_len;
    /* While a log entry whose big SET value was put straight into a key
     * block is applied (raft/fsm.c, tc_ks_adopt_block): the block and the
     * value's bytes in it. The SET that carries exactly these bytes stores
     * the block as its key (block then NULL); else the applier frees it. */
    struct {
        void *block;
        const char *value;
        size_t len;
    } adopt;

    /* The layers above the node, each reached through one ops table set
     * once by the layer itself (see tc_server_set_replication/persistence).
     * A standalone node has no replication; a node without backups has no
     * persistence. */
    tc_replication repl;
    tc_persistence persist;
    /* INFO's sections in output order: the node's own, then any a module
     * added; a module may also take over one of the node's (replication). */
    tc_info_section info[TC_INFO_MAX_SECTIONS];
    size_t ninfo;

    int64_t lastsave;             /* LASTSAVE: unix seconds of the last good backup (start time before) */
    int64_t backup_scheduled_ms;  /* log clock of the last TCBACKUP RUN applied (schedule) */

    /* TCRESTORE (cmd_restore.c): the keyspace being staged, swapped in by
     * COMMIT; NULL when no restore runs. Raft snapshots wait while it
     * exists (they would not contain it). */
    tc_keyspace *staging;         /* one per database (ndbs), NULL when none */
    char staging_id[33];
    uint64_t staging_records;
    int64_t staging_touched_ms;   /* clock of the last TCRESTORE applied */

    struct tc_blocking *blocking; /* clients blocked on keys (blocking.h); NULL until the first */
    struct tc_watchers *watchers; /* clients WATCHing keys (multi.h); NULL until the first */
    struct tc_script_engine *scripts; /* Lua (script/script.h); NULL until the first script */
    struct tc_rconf *rconf;       /* Redis parameters changed by CONFIG SET (config_redis.c); NULL: none */

    int cluster_formed;           /* cluster_formed.h: every founding voter acknowledged the log once */
    int64_t start_ms;             /* wall clock at start */
    char run_id[41];
    char data_dir[TC_CONFIG_MAX_STR * 2]; /* this node's directory */
    /* file://<data_dir made absolute>/backups, where backups go without a
     * backup.destination ("" if that URL would be too long) */
    char own_backup_url[TC_CONFIG_MAX_STR * 2 + 16];
} tc_server;

/* Prepares the state (keyspace, stats) for cfg and node id, without any
 * networking; used by tc_server_run and by unit tests. */
int tc_server_init(tc_server *s, const tc_config *cfg, int node_id, char *err, size_t errlen);
/* Copies the encoding thresholds of s->cfg (hash_max_listpack_entries...)
 * into the keyspace, where the types read them: at start and after every
 * CONFIG SET. */
void tc_server_apply_encoding_limits(tc_server *s);
void tc_server_free(tc_server *s);

/* Creates the event loop and binds the client address; 0 or -1 (err says
 * why, nothing is left open). Replication starts on s->loop after this. */
int tc_server_open(tc_server *s, char *err, size_t errlen);
/* Runs the loop until SIGTERM/SIGINT has closed everything. */
void tc_server_loop(tc_server *s);

/* Database i (0 <= i < s->ndbs). */
static inline tc_keyspace *tc_server_db(tc_server *s, int i) { return &s->dbs[i]; }
/* The number of keys in all databases. */
size_t tc_server_keys(const tc_server *s);
/* Where a backup goes unless told otherwise: backup.destination (CONFIG
 * SET may change it), else the node's own folder; "" if neither is known. */
const char *tc_server_backup_url(const tc_server *s);

/* Runs one parsed command for a client (or with client == NULL) and writes
 * the reply into r: lookup, AUTH check, arity, handler. now_ms is the instant
 * the command sees (expiry decisions, relative TTLs). It runs in the
 * client's database (0 without a client). */
void tc_server_execute(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r,
                       int64_t now_ms);
/* The same in database *db, which a SELECT the command is changes (so a
 * logged transaction's later commands run where its SELECT points). */
void tc_server_execute_db(tc_server *s, tc_client *c, int *db, size_t argc, const tc_slice *argv, tc_reply *r,
                          int64_t now_ms);

/* Runs a command its caller already admitted (lookup, arity, permissions)
 * in database *db, as EXEC does with its queue: a script's redis.call. */
void tc_server_run_cmd(tc_server *s, tc_client *c, int *db, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                       tc_reply *r, int64_t now_ms);

/* A command a script may not call (unknown, wrong arity, not allowed,
 * denied): counted as Redis counts it, rejected_calls of cmd (when known)
 * and err in INFO errorstats. */
void tc_server_count_refused(tc_server *s, const tc_cmd *cmd, const char *err);

/* While a script runs past busy_reply_threshold (script/): accepts new
 * plain TCP connections and reads what plain TCP clients sent, straight
 * from their sockets (the event loop is held by the script), and answers
 * each command -BUSY, unless allowed (SCRIPT KILL, SHUTDOWN NOSAVE...)
 * answers it itself in r and returns 1. Clients with replies owed or a
 * command held back, TLS clients, and running are left for the loop. argv
 * holds at most the first 3 arguments. */
typedef int (*tc_busy_fn)(void *ud, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r);
void tc_server_serve_busy(tc_server *s, tc_client *running, tc_busy_fn allowed, void *ud);

/* Replication's answer for a queued write: appends the reply, already
 * encoded in the protocol the client spoke when the command was parsed, and
 * lets the client go on. */
void tc_client_deliver(tc_client *c, const char *reply, size_t len);
/* Sends bytes that answer no command (a pub/sub message) right away. */
void tc_client_push(tc_client *c, const char *data, size_t len);

/* Lets a deferred client parse its pending command again. */
void tc_client_resume(tc_client *c);
/* Starts shutting down (SIGTERM, SIGINT, SHUTDOWN): why is logged; now
 * skips the primary's handover. A second call while one runs means now. */
void tc_server_shutdown(tc_server *s, const char *why, int now);
/* A SHUTDOWN waits (no reply until the node closes, an error if it is
 * aborted); -1 when too many already wait (it then gets no reply). */
int tc_server_shutdown_wait(tc_server *s, tc_client *c);
/* SHUTDOWN ABORT: 0 if a pending shutdown was cancelled, -1 if there is
 * none or it can no longer be cancelled (err says which). */
int tc_server_shutdown_abort(tc_server *s, char *err, size_t errlen);
/* Closes the listener, clients and the node's own handles (the loop then
 * ends). Replication's shutdown calls it once its own handles are closed. */
void tc_server_stop(tc_server *s);

/* Wall clock in milliseconds. */
/* The longest value a command may make (strings, bitmaps, LCS's
 * transient table): the entry's limit while a log entry is applied, else
 * this node's proto_max_bulk_len (standalone, or a node's own reads). */
static inline uint64_t tc_max_bulk_len(const tc_server *s)
{
    return s->entry_max_bulk_len ? s->entry_max_bulk_len : s->cfg.proto_max_bulk_len;
}

int64_t tc_now_ms(void);
/* A monotonic clock in microseconds, as tc_expire_run's clock (ud unused). */
uint64_t tc_server_clock_us(void *ud);
/* Arms a one-shot timer for when the next fast expiry cycle may run, if
 * one is wanted: the loop pass it causes runs it (node/expire.h). */
void tc_server_expire_wake(tc_server *s);

/* CLIENT LIST line for one client (without newline) appended to b. */
void tc_client_describe(tc_client *c, tc_buf *b, int64_t now_ms);
/* Closes a client once what is queued for it has been sent. */
void tc_client_close_after_reply(tc_client *c);

/* INFO text for the given section names (NULL/0 = default sections). */
void tc_info_render(tc_server *s, tc_buf *b, size_t nsections, const tc_slice *sections);
/* Adds a section to INFO, or takes over the one of that name (its title is
 * kept unless title is given). 0, or -1 when the registry is full. */
int tc_info_add(tc_server *s, const char *name, const char *title, tc_info_fn render, void *ud, int in_default);
/* The node's own memory section (ud is the tc_server), for a layer that
 * takes the section over to add its own fields after these. */
void tc_info_section_memory(void *ud, tc_buf *b);
/* The node's own sections (tc_server_init calls it). */
void tc_info_init(tc_server *s);

/* Installs the layers' faces; ops NULL removes one (at shutdown). */
void tc_server_set_replication(tc_server *s, const tc_replication_ops *ops, void *ud);
void tc_server_set_persistence(tc_server *s, const tc_persistence_ops *ops, void *ud);
/* The primary's node id as replication sees it; a standalone node is its
 * own primary. */
int tc_server_primary_id(tc_server *s);

#endif
