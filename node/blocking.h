/* Clients blocked on keys: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP (and
 * the sorted sets' BZPOPMIN, BZPOPMAX, BZMPOP, which use the same calls).
 *
 * A blocking command's handler finds out whether one of its keys can serve
 * it and calls tc_block_wait with the answer; when that returns 1 the
 * handler returns without replying. What happens then depends on where the
 * command runs:
 *
 *  - standalone: nothing ready -> the client waits (its command consumed
 *    and copied, its further input held). A write that makes a waited-on
 *    key ready calls tc_block_signal; after that command the node re-runs
 *    the blocked commands of the ready keys in the order they blocked
 *    (tc_block_handle_ready); a re-run that finds nothing again keeps
 *    waiting with its first deadline.
 *
 *  - replicated, on the primary: the router asks first (tc_block_probe:
 *    the handler runs against the applied state, changing nothing). Nothing
 *    ready -> the client waits as above, nothing is logged. Something ready
 *    -> the command goes into the log like any write and every node runs
 *    it at apply, where a handler never blocks (no client there): it pops
 *    exactly what LPOP/LMOVE would, so every node removes the same element.
 *    After an entry is applied the router re-routes the waiting clients of
 *    the keys it made ready, which sends their commands through the log the
 *    same way. If another write took the element first, the command
 *    answers nil at apply; tc_block_committed then puts the client back to
 *    waiting instead of answering (or answers the timeout's nil if its
 *    deadline passed meanwhile).
 *
 *  - replicas refuse blocking commands as other writes. A primary that
 *    loses leadership answers every waiting pop -UNBLOCKED
 *    (tc_block_unblock_writers).
 *
 *  - a blocking read (XREAD BLOCK) waits on any node, the replicas too: it
 *    is routed as a read, and when an applied entry makes its key ready it
 *    runs again right there (never through the log), on the primary and on
 *    a replica alike.
 *
 * Timeouts use this node's wall clock and are never logged: a client whose
 * deadline passes gets a nil array. A handler running where its client may
 * not block (at apply; inside MULTI once transactions exist: they must make
 * tc_block_wait return 0 for a client in EXEC) answers as if the timeout
 * had passed at once.
 *
 * Everything here is per tc_server (s->blocking, created on first use). */
#ifndef TC_BLOCKING_H
#define TC_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"

struct tc_server;
struct tc_client;

/* What a blocking command waits for. */
typedef struct tc_block_spec {
    size_t first_key, nkeys; /* its keys: argv[first_key .. first_key + nkeys - 1] */
    int64_t deadline_ms;     /* wall clock; 0 = no timeout */
    /* How many elements a client waiting on key could take now (0: none;
     * a key of another type counts as none, as in Redis). */
    size_t (*ready)(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);
} tc_block_spec;

/* A blocking command's timeout argument (seconds, a float), as Redis 7.0
 * parses it: the absolute deadline (0 for none) or -1 with the error
 * replied. */
int tc_block_parse_timeout(tc_ctx *c, const tc_slice *arg, int64_t *deadline_ms);

/* Called by a blocking command's handler once it knows whether a key can
 * serve it (ready). 1: return now without replying (the client waits, or
 * the command is on its way through the log); 0: answer as a non-blocking
 * command would (pop, or nil when nothing is ready). */
int tc_block_wait(tc_ctx *c, const tc_block_spec *spec, int ready);

/* A write made key of database db (maybe) ready: remembered if someone
 * waits on it. */
void tc_block_signal(struct tc_server *s, int db, const char *key, size_t klen);
/* Every key of database db may be ready (SWAPDB brought other keys). */
void tc_block_signal_db(struct tc_server *s, int db);
/* Serves the clients of the keys signaled so far: re-runs their commands
 * (standalone) or re-routes them (replicated primary). */
void tc_block_handle_ready(struct tc_server *s, int64_t now_ms);

/* The replicated primary's routing of a blocking command (enum): */
enum {
    TC_BLOCK_ANSWERED, /* replied already (an argument error) */
    TC_BLOCK_WAITING,  /* the client waits; the command is consumed */
    TC_BLOCK_READY,    /* it can be served: log it (the caller then owns
                          the client's reply, see tc_block_committed) */
};
int tc_block_probe(struct tc_server *s, struct tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                   tc_reply *r, int64_t now_ms);
/* A logged blocking command was applied: *reply is what it answered. 1:
 * the reply is dropped (the client waits again; the caller's reference to
 * the client passes to the waiting); 0: deliver *reply (maybe replaced by
 * the timeout's nil). Returns 0 for a client with no logged blocking
 * command. */
int tc_block_committed(struct tc_client *c, const char **reply, size_t *len, int64_t now_ms);
/* A logged blocking command failed (the caller delivers the error). */
void tc_block_forget(struct tc_client *c);

/* Answers every waiting client whose command writes (a pop) with err
 * (Redis's text after the '-') and lets it go on: on a node that is not
 * the primary those cannot be served, while readers (XREAD) can. */
void tc_block_unblock_writers(struct tc_server *s, const char *err);
/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was waiting. */
int tc_block_unblock(struct tc_server *s, uint64_t id, int as_error);
/* The client is closing: forget it. */
void tc_block_client_gone(struct tc_client *c);
/* 1 while c waits for a key (CLIENT LIST flag b). */
int tc_block_is_waiting(const struct tc_client *c);
/* Clients blocked (INFO blocked_clients). */
size_t tc_block_count(const struct tc_server *s);

/* Closes the timer (tc_server_stop); tc_block_free releases the rest. */
void tc_block_stop(struct tc_server *s);
void tc_block_free(struct tc_server *s);

#endif
