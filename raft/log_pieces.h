/* Big log entries travel as pieces (issue 18).
 *
 * One AppendEntries carries whole entries, a follower handles a message
 * only once all its bytes arrived, and libraft checksums and copies an
 * entry on its loop thread: a 150 MB entry kept every follower from hearing
 * its primary for longer than an election timeout. So the primary splits
 * an entry (the bytes the log would store, sealed or not) longer than
 * TC_PIECE_DATA into consecutive log entries of at most that much data
 * each. Every node reassembles them in fsm_apply and applies the whole
 * entry when its last piece is applied: nothing of it is visible before,
 * and the client is answered from that last piece's apply.
 *
 * A run's pieces are appended back to back by one primary in one term
 * (the Raft thread holds other writes meanwhile), so the rule every node
 * applies to the same log is simple: a piece continues the pending run only
 * if it has the run's id and the next offset; any other entry drops the
 * pending run (its primary lost leadership before the last piece). A
 * snapshot is not taken while a run is pending (fsm_snapshot), so a
 * snapshot never needs to carry one.
 *
 * Layout (little-endian), then the data, then zero padding to 8 bytes:
 *   u8 0xE9 | u8 flags (1: last piece) | u16 0 | u32 data length |
 *   u64 run id | u64 whole entry's length | u64 offset of this data
 * 0xE9 is neither a log entry version (1-3; an older node stops on it as a
 * "newer version", the log intact) nor the sealed-entry mark (0xE1). */
#ifndef TC_LOG_PIECES_H
#define TC_LOG_PIECES_H

#include <stddef.h>
#include <stdint.h>

#define TC_PIECE_MARK 0xE9
#define TC_PIECE_HEADER 32
#define TC_PIECE_LAST 1
/* Data per piece: 1 MiB crosses loopback in about a millisecond and is
 * checksummed and written in a few, so followers hear their primary many
 * times per heartbeat interval while a 512 MB value streams. */
#define TC_PIECE_DATA ((size_t)1 << 20)
/* A whole entry is at most what the sealed format can hold (4 GiB). */
#define TC_PIECE_MAX_TOTAL ((uint64_t)UINT32_MAX)

/* Whether a stored entry is a piece. */
int tc_piece_is(const void *data, size_t len);
/* Bytes of a piece holding n bytes of data, padding included. */
size_t tc_piece_size(size_t n);
/* Writes a piece (tc_piece_size(n) bytes) into dst. */
void tc_piece_encode(unsigned char *dst, uint64_t id, uint64_t total, uint64_t offset, const void *data, size_t n,
                     int last);

/* One argument's bytes of a whole entry put elsewhere than the entry: a
 * big SET's value goes straight into the key it will become, not into the
 * entry first and then, copied, into the key (one buffer of the value's
 * size less on every node). */
typedef struct tc_piece_gap {
    size_t at, len;     /* where in the whole entry those bytes are, how many */
    unsigned char *dst; /* where they are put instead */
    void *owner;        /* the block dst lies in (tc_big_free); NULL: no gap */
} tc_piece_gap;

/* Asked at a run's first piece, with the entry's first bytes (head) and its
 * length: 1 with *gap filled (dst, owner allocated) to have those bytes put
 * there, 0 to keep the whole entry in one buffer. */
typedef int (*tc_piece_plan)(void *ud, const unsigned char *head, size_t head_len, size_t total, tc_piece_gap *gap);

/* The run being reassembled on one node. */
typedef struct tc_piece_run {
    uint64_t id, total, got;
    unsigned char *buf; /* NULL: no run pending */
    tc_piece_gap gap;   /* this run's (owner NULL: none) */
    tc_piece_plan plan; /* set once by the owner (NULL: never a gap); kept across runs */
    void *plan_ud;
} tc_piece_run;

enum {
    TC_PIECE_MORE = 0,     /* taken; the run goes on */
    TC_PIECE_COMPLETE = 1, /* the last piece: *out holds the whole entry */
    TC_PIECE_DROPPED = 2,  /* not the next piece of a run (why says so); ignored */
    TC_PIECE_NOMEM = 3     /* no memory for the run: the node cannot follow the log */
};
/* Takes one piece. On TC_PIECE_COMPLETE *out (malloc'd, the caller's) and
 * *out_len are the whole entry, without the bytes of *gap if its owner is
 * not NULL (then the caller's too: tc_big_free it unless it keeps it), and
 * the run is reset. TC_PIECE_DROPPED:
 * damaged, out of order or out of memory; the pending run, if any, is
 * dropped as well (the same on every node: it depends on the log alone,
 * except for memory, where the caller stops the node). */
int tc_piece_take(tc_piece_run *r, const void *data, size_t len, unsigned char **out, size_t *out_len,
                  tc_piece_gap *gap, char *why, size_t whylen);
/* Drops the pending run (an entry that is not its next piece came). */
void tc_piece_run_drop(tc_piece_run *r);
static inline int tc_piece_run_pending(const tc_piece_run *r) { return r->buf != NULL; }

#endif
