/* Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7 semantics).
 *
 * Per client (tc_client.multi, created on first use): the commands queued
 * since MULTI, whether one of them was refused while queuing (EXEC then
 * answers -EXECABORT), and the keys it WATCHes with what they were when
 * watched.
 *
 * WATCH. A watched key is "touched" (EXEC answers a nil array) when:
 *  - a write command names it (tc_multi_touch_cmd). The node calls it for
 *    every write it runs (standalone, and every node at apply) and the
 *    replicated primary's router also calls it when it puts a write into
 *    the log. Since the primary builds the log in routing order, every write
 *    that comes before an EXEC in the log has marked its keys by the time
 *    the EXEC is routed: the primary decides the WATCH check exactly there,
 *    and the logged transaction runs unconditionally on every node. The
 *    marking is by name and conservative: a write that turns out to change
 *    nothing (SET NX on an existing key, a WRONGTYPE error) also aborts the
 *    watcher, where Redis would not. FLUSHALL/FLUSHDB touch the watched keys
 *    that exist (all of them when routed: what will exist at apply is not
 *    known yet); TCRESTORE and DEBUG POPULATE touch every watched key.
 *  - it existed, unexpired, when watched and is now gone or expired (expiry
 *    is not a command: EXEC checks it against its own clock, which covers
 *    keys deleted by expiry and keys that merely expired, as Redis 7 does).
 * A key already expired when watched is not touched by its deletion.
 *
 * The registry of watching clients is a plain list: touching costs
 * O(keys watched on the node) per write, nothing when no one watches. */
#ifndef TC_MULTI_H
#define TC_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"

struct tc_server;
struct tc_client;

#define TC_ERR_EXECABORT "EXECABORT Transaction discarded because of previous errors."

/* 1 when c is in MULTI and argv0 is a command that gets queued (everything
 * but EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
int tc_multi_queues(const struct tc_client *c, const tc_slice *argv0);
/* Queues an admitted command (0), or -1 out of memory (the transaction is
 * then flagged). */
int tc_multi_queue(struct tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv);
/* A command was refused while queuing: EXEC will answer -EXECABORT. */
void tc_multi_flag(struct tc_client *c);
/* 1 while c's EXEC runs its commands (blocking commands do not block). */
int tc_multi_in_exec(const struct tc_client *c);
/* CLIENT LIST: queued commands, -1 outside MULTI. */
long tc_multi_count(const struct tc_client *c);
/* The client is closing: its watches and queue go. */
void tc_multi_client_gone(struct tc_client *c);

/* A write is about to run or enter the log: marks the watchers of its keys.
 * routed: called by the router (FLUSHALL then touches every watched key). */
void tc_multi_touch_cmd(struct tc_server *s, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                        int64_t now_ms, int routed);

/* The replicated router's view of an EXEC (enum below). */
enum {
    TC_EXEC_LOCAL,  /* the handler answers it here (no MULTI, EXECABORT, watch failed, nothing to replicate) */
    TC_EXEC_READ,   /* only reads (and connection commands): route as a read */
    TC_EXEC_WRITE,  /* holds writes: log it (tc_multi_log_args) */
    TC_EXEC_DONE,   /* answered already (a command that cannot be replicated) */
    TC_EXEC_SCRIPT, /* holds a writing script (replicated primary): run here under a recording, as a script is */
};
int tc_multi_exec_plan(struct tc_client *c, int64_t now_ms, tc_reply *r);
/* The logged form of c's transaction, valid until tc_multi_reset:
 * TCEXEC n argc1 arg... argc2 arg... ; each queued command's keys are
 * touched (routed). *db: the database the transaction starts in (the
 * client's), and on return the one its SELECTs leave it in (the client's
 * from then on, as after a Redis EXEC). 0, or -1 out of memory. */
/* The bytes of the arguments that logged form will have, computed without
 * building it (or touching keys): what the size limit of a replicated
 * write (replication/write_limit.h) measures. */
uint64_t tc_multi_log_bytes(const struct tc_client *c);
int tc_multi_log_args(struct tc_server *s, struct tc_client *c, int64_t now_ms, int *db, size_t *argc,
                      const tc_slice **argv);
/* Ends c's transaction: queue dropped, keys unwatched, out of MULTI. */
void tc_multi_reset(struct tc_client *c);

/* Frees the server's registry (tc_server_free). */
void tc_multi_free(struct tc_server *s);

#endif
