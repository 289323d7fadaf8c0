/* Applying committed log entries to a node's keyspace (the Raft FSM's
 * apply step). Every node applies the same entries in the same order; the
 * primary also keeps each command's reply for the client waiting for it. */
#ifndef TC_APPLY_H
#define TC_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log_entry.h"
#include "server.h"

/* Replies of one applied entry: command i's reply is
 * replies.data[ends[i-1] .. ends[i]) (ends[-1] = 0), encoded in protocol
 * resp[i], ready to be sent as is.
 *
 * resp is set by the caller before applying (it points into the batch the
 * entry was built from, which knows each command's client): the protocol
 * (2 or 3) the client spoke when the command was parsed. Commands from
 * nresp on, or all of them when resp is NULL, are answered in RESP2. */
typedef struct tc_apply_replies {
    tc_buf replies;
    size_t *ends;
    size_t n, cap;
    const unsigned char *resp;
    size_t nresp;
} tc_apply_replies;

void tc_apply_replies_free(tc_apply_replies *r);

/* The clock entries are applied with: the entry's time, but never earlier
 * than an entry applied before (a new primary's clock may lag the old one's;
 * keys must not come back to life). */
typedef struct tc_apply_state {
    int64_t clock_ms;
    uint64_t entries, commands;
} tc_apply_state;

/* Applies one entry. out may be NULL (replies discarded). Before command i
 * runs, s->rng is seeded with tc_logentry_command_seed(entry seed, i): the
 * randomness its handler may use (commands.h). A malformed entry
 * changes nothing and returns -1 with err set; it can only come from a bug
 * or a corrupted log, since the primary builds every entry. */
int tc_apply_entry(tc_server *s, tc_apply_state *st, const void *data, size_t len, tc_apply_replies *out,
                   char *err, size_t errlen);
/* The same for an entry given without one big argument's bytes (gap, see
 * log_entry.h; NULL: none). */
int tc_apply_entry_gap(tc_server *s, tc_apply_state *st, const void *data, size_t len, const tc_logentry_gap *gap,
                       tc_apply_replies *out, char *err, size_t errlen);

#endif
