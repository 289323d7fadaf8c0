/* Routing client commands in a replicated cluster.
 *
 * Writes on the primary are batched (every write that arrives in one pass of
 * the event loop, from any client) into one log entry; each client gets its
 * replies when the entry has been applied, in command order. Reads on the
 * primary follow read_consistency: behind a barrier sent after they arrived
 * (linearizable), locally while a lease renewed by the primary's own commits
 * holds (lease), or locally (local). Reads on a
 * replica are served from its applied state unless it has heard nothing
 * from the primary for replica_max_staleness. Writes on a replica answer
 * -READONLY. Expiry is decided by the primary and replicated as deletes.
 *
 * The log itself (Raft) is behind tc_log_ops so that this module depends on
 * nothing but the node. */
#ifndef TC_ROUTER_H
#define TC_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "room.h"
#include "server.h"

enum tc_role { TC_ROLE_NONE = 0, TC_ROLE_PRIMARY, TC_ROLE_REPLICA };

typedef struct tc_batch tc_batch;

/* tc_router_committed's status for an entry that never entered the log
 * (this node stopped being the primary first): its outcome is known. */
#define TC_LOG_NOT_LOGGED (-1)

/* Bytes of uncommitted entries before writers wait. 256 KiB, not 1 MiB:
 * what matters is the time every node spends applying what is in flight
 * between two heartbeats, and a ZADD into a million-member sorted set costs
 * ~15x a SET per byte (a redis-cli --pipe of 1000-member ZADDs lost the
 * primary at 1 MiB with the 300 ms election timeout on 2 shared cores). */
#define TC_ROUTER_LOG_ROOM (1u << 18)

/* Clients whose reads wait for a barrier. */
typedef struct tc_client_list {
    tc_client **v;
    size_t n, cap;
} tc_client_list;

typedef struct tc_log_ops {
    void *ud;
    int (*role)(void *ud);
    /* Appends an entry: the callee copies entry->data or takes it (then
     * entry is left empty, and the caller's tc_buf_free frees nothing);
     * tc_router_committed is called with `batch` once it is applied or
     * failed. 0 or -1 (entry left as it was). */
    int (*submit)(void *ud, tc_buf *entry, tc_batch *batch);
    /* Appends a barrier; tc_router_barrier_done follows. 0 or -1. */
    int (*barrier)(void *ud);
    /* Index of the last entry this node applied (changes when the primary's
     * entries or barriers arrive). */
    uint64_t (*applied_index)(void *ud);
    /* When that entry reached this node (wall clock, ms), which may be
     * earlier than when it was applied; 0, or the op NULL: unknown, and
     * the router counts from when it saw the index move. */
    int64_t (*applied_ms)(void *ud);
    /* A replica: when (wall clock, ms) it last heard from the primary in a
     * message (a heartbeat or entries) whose commit index is at most
     * applied, so that this node's state was the primary's committed state
     * when the message left; 0 if none. The op may be NULL. */
    int64_t (*heard_ms)(void *ud, uint64_t applied);
    /* The primary: 1 while its log must move when no client writes (a big
     * run waits to be let go); the op may be NULL. */
    int (*idle_barriers)(void *ud);
    /* The primary: the read lease holds only for writes and barriers
     * submitted after this time (wall clock, ms; INT64_MAX: none now),
     * because a leadership transfer let its target be elected without
     * waiting out the lease. The op may be NULL. */
    int64_t (*lease_void_ms)(void *ud);
    /* How many other voters' logs hold the entry at index (primary only). */
    unsigned (*replicas_at)(void *ud, uint64_t index);
    /* Why this node cannot write its log now (an OS error's text), or NULL
     * while it can; the op itself may be NULL. Writes are then refused with
     * -MISCONF rather than queued behind a log that does not grow. */
    const char *(*write_error)(void *ud);
    /* 1 while this primary's commits stall (entries wait past
     * write_commit_timeout and no majority acknowledges them), with why
     * set to a sentence for clients; 0 otherwise. The op may be NULL. New
     * writes, and reads that need a barrier, are then refused with
     * -NOREPLICAS instead of waiting without bound. */
    int (*commit_stall)(void *ud, char *why, size_t len);
} tc_log_ops;

/* A client in WAIT / WAITAOF. */
typedef struct tc_waiter {
    tc_client *c;
    uint64_t index;             /* its last write */
    unsigned want;
    int64_t deadline_ms;        /* 0: none */
    int aof;
} tc_waiter;

typedef struct tc_router {
    tc_server *srv;
    tc_log_ops log;
    tc_apply_state apply;
    tc_batch *open;             /* writes collected in this loop pass */
    tc_batch *expiry_open;      /* expired keys being collected into an entry */
    unsigned expiry_inflight;   /* expiry entries submitted, not yet applied or failed */
    size_t expiry_inflight_bytes; /* their bytes (of inflight_bytes) */
    int64_t expiry_now;         /* the running expiry cycle's clock (its entries' time) */
    int64_t client_write_ms;    /* when a client write last went to the log (0: never) */

    int64_t lease_ms;           /* how long a commit keeps reads local */
    int64_t lease_until_ms;     /* its end: the last commit's submit time + lease_ms */
    int64_t lease_read_ms;      /* when a read last asked for the lease (read_consistency lease) */
    int barrier_wanted, barrier_inflight;
    int64_t barrier_submit_ms;
    tc_client_list waiting;     /* reads that arrived after the last barrier was sent */
    tc_client_list covered;     /* reads the barrier in flight was sent after */
    /* Flow control: bytes of entries submitted and not yet committed. Above
     * TC_ROUTER_LOG_ROOM writers wait (and the node stops reading them), so
     * the backlog a replica must take in before the next heartbeat stays
     * small compared to the election timeout. */
    size_t inflight_bytes;
    unsigned inflight_writes;   /* client-write entries submitted, not yet applied or failed */
    tc_client_list log_full;    /* writers waiting for room */
    /* A script (EVAL, EVALSHA) waits until everything routed before it is
     * applied, so that it sees that state; writes that come after it wait
     * behind it here, in arrival order (tc_router_route_script). */
    tc_client_list script_wait;
    /* Scripts routed back to back while the log is drained run on top of
     * each other in one recording (router.c, "groups of scripts"): its
     * journal holds the keyspace as applied until the group closes. */
    struct tc_script_recording *group;
    uint32_t group_scripts;     /* scripts run in it */
    uint32_t group_logged;      /* of which logged writes (their effects are in the keyspace) */
    tc_waiter *waits;           /* clients in WAIT, answered as replicas catch up */
    size_t nwaits, waits_cap;
    /* A planned handover (shutdown): new writes wait here instead of
     * entering the log, so that the log can drain before leadership moves;
     * released, they are routed again (to a redirect, once this node is a
     * replica). */
    int holding;
    tc_client_list held;

    tc_room room;               /* eviction: victims and growth logged, not yet applied (room.h) */
    tc_rng seeds;               /* draws each entry's random seed */
    uint64_t seen_applied;
    int64_t last_progress_ms;   /* when this node last saw the log move */
    uint64_t entries_submitted, entries_failed;
} tc_router;

/* Prepares the router of srv (replicated expiry: reads on this node only
 * hide expired keys from now on). election_timeout_ms sizes the primary's
 * read lease; replica_max_staleness is read from srv's settings at each
 * read (CONFIG SET changes it). The layer that runs the log routes the node's commands
 * through tc_router_route (its tc_replication_ops). */
void tc_router_init(tc_router *r, tc_server *srv, const tc_log_ops *log, int64_t election_timeout_ms);
void tc_router_free(tc_router *r);

/* Decides where a client's command runs (enum tc_route): locally, queued
 * for the log, deferred behind a barrier or for room in the log, or
 * answered at once with a redirect or an error. */
int tc_router_route(tc_router *r, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *rep,
                    int64_t now_ms);
/* Called by the log layer once per loop pass: submits what was collected. */
void tc_router_flush(tc_router *r, int64_t now_ms);
/* The FSM's apply: every node, every entry, in log order. gap: the entry
 * is given without one big argument's bytes (log_entry.h; NULL: whole).
 * batch is the batch this entry was built from when this node submitted it
 * (NULL otherwise); replies is where the primary keeps the answers for it,
 * each encoded in the protocol its client spoke (NULL when no client
 * waits). */
void tc_router_fsm_apply(tc_router *r, const void *data, size_t len, const tc_logentry_gap *gap, tc_batch *batch,
                         tc_apply_replies *replies);
/* A batch was applied (status 0, replies from tc_router_fsm_apply) or
 * failed (status != 0, unknown outcome when leadership was lost). */
void tc_router_committed(tc_router *r, tc_batch *b, int status, const tc_apply_replies *replies);
void tc_router_barrier_done(tc_router *r, int status);
/* Answers the clients of a batch still in the log now with -err (the
 * write's outcome is unknown: the entry may commit later) and forgets
 * them, so that its commit reaches nobody. For writes stuck behind a log
 * this node cannot write. */
void tc_router_answer_early(tc_router *r, tc_batch *b, const char *err);
/* The log layer found its commits stalled (see tc_log_ops.commit_stall):
 * reads waiting for a barrier and writers waiting for room in the log are
 * routed again, and so refused, rather than left waiting. */
void tc_router_commit_stalled(tc_router *r);
/* Appends a command of the node's own (no client waits for its reply) to
 * the writes of this loop pass, e.g. the backup schedule's TCBACKUP RUN.
 * 0, or -1 when this node is not the primary or out of memory. */
int tc_router_submit_command(tc_router *r, size_t argc, const tc_slice *argv, int64_t now_ms);
/* Periodic: lease renewal, replicated expiry, replica freshness. */
void tc_router_cron(tc_router *r, int64_t now_ms);
/* Holds (1) or releases (0) new writes, for a handover: held writes are
 * routed again when released. The node's own commands and replicated
 * expiry are not submitted while holding either. */
void tc_router_hold_writes(tc_router *r, int hold);
/* 1 when nothing this node submitted waits for the log (every entry it
 * appended was applied or failed): leadership can move without leaving a
 * write's outcome unknown. */
int tc_router_drained(const tc_router *r);
/* WAIT numreplicas (deadline_ms 0: no timeout), or WAITAOF when aof: 0
 * answered in rep, 1 the client waits (see tc_replication_ops.wait). */
int tc_router_wait(tc_router *r, tc_client *c, long long numreplicas, int64_t deadline_ms, int aof, tc_reply *rep);
/* Fails every batch not yet submitted (shutdown). */
void tc_router_abort(tc_router *r);
/* Puts the primary's keyspace back to the applied state if scripts of an
 * open group changed it (their writes stay in the batch, to be logged).
 * Anything that reads or changes the keyspace outside routing (a snapshot
 * fork, loading an image) calls it first; the router does for the rest. */
void tc_router_settle(tc_router *r);

#endif
