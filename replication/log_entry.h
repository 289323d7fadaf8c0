/* The Raft log entry that carries client writes.
 *
 * One entry holds a batch of write commands (from one or many clients), the
 * primary's clock at the time it built the batch and a random seed the
 * primary drew for it. Every node applies the commands in order with that
 * instant as "now", so relative TTLs, lazy expiry checks and NX/XX decisions
 * come out the same everywhere; and with a generator seeded from the seed
 * (tc_logentry_command_seed), so do random choices.
 *
 * Layout, version 2 (all integers unsigned LEB128 varints unless noted):
 *   u8 version (=2) | u8 kind | i64 time_ms (8 bytes, little-endian) |
 *   u64 seed (8 bytes, little-endian) |
 *   ncommands (always 5 bytes: padded so it can be patched in place) |
 *   ncommands x ( argc | argc x ( len | len bytes ) )
 * Version 3 is version 2 with each command preceded by the database it
 * runs in (a varint, 0..TC_MAX_DATABASES-1):
 *   ncommands x ( db | argc | argc x ( len | len bytes ) )
 * Builders write version 2 while every command of the entry is in database
 * 0 and switch the entry to version 3 when one is not, so a cluster that
 * uses database 0 only writes exactly the bytes it always wrote, and a node
 * too old for databases stops on the first entry that needs them
 * (tc_logentry_too_new) instead of applying it in the wrong database.
 * Version 1 (written before the seed existed) is the same as 2 without the seed
 * field; it is still read, with the seed derived from time_ms
 * (tc_logentry_v1_seed), so a log written by older nodes replays the same.
 * kind: 0 = client commands, 1 = expiry deletes decided by the primary.
 * Up to 7 zero bytes may follow (the Raft log stores 8-byte units).
 *
 * The derivations below (v1 seed, per-command seed) are part of the format:
 * every node must compute the same numbers from the same bytes. */
#ifndef TC_LOG_ENTRY_H
#define TC_LOG_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "commands.h"

#define TC_LOGENTRY_VERSION 2  /* what tc_logentry_begin writes */
#define TC_LOGENTRY_VERSION_DB 3 /* what an entry becomes once a command is not in database 0 */
#define TC_LOGENTRY_MAX_VERSION 3 /* the newest this code reads */
/* Longest entry the log takes: a big one travels as pieces
 * (raft/log_pieces.h), but the whole, as stored (sealed when encryption
 * at rest is on), must fit the sealed format's 32-bit length; 1 MiB of
 * room covers the seal and the padding. */
#define TC_LOGENTRY_MAX_BYTES ((size_t)UINT32_MAX - ((size_t)1 << 20))
#define TC_LOGENTRY_HEADER 18  /* versions 2 and 3: version, kind, time_ms, seed */
#define TC_LOGENTRY_HEADER_V1 10
#define TC_LOGENTRY_COUNT_LEN 5
/* Refuse absurd counts before trusting them for anything. */
#define TC_LOGENTRY_MAX_COMMANDS (1u << 20)
#define TC_LOGENTRY_MAX_ARGS (1u << 24)
#define TC_LOGENTRY_MAX_ARG_LEN (4ull << 30)

enum tc_logentry_kind { TC_LOGENTRY_COMMANDS = 0, TC_LOGENTRY_EXPIRE = 1 };

/* Building (always the current version): begin, add commands, then the
 * bytes are in b. seed is the entry's randomness, drawn by the primary. */
void tc_logentry_begin(tc_buf *b, int kind, int64_t time_ms, uint64_t seed);
void tc_logentry_add(tc_buf *b, size_t argc, const tc_slice *argv);
/* The same for a command that runs in database db: the first db != 0
 * turns the entry into version 3 (the commands already in it are rewritten
 * with database 0). */
void tc_logentry_add_db(tc_buf *b, int db, size_t argc, const tc_slice *argv);
/* Patches the command count into the header area; returns 0 or -1 if the
 * buffer ran out of memory while building. */
int tc_logentry_end(tc_buf *b, uint32_t ncommands);

/* Reading. tc_logentry_open checks the whole entry first (every length
 * inside the buffer, counts within limits, nothing left over), so that
 * applying can never stop half-way through a batch. */
typedef struct tc_logentry_reader {
    const unsigned char *p, *end;
    int version;
    int kind;
    int64_t time_ms;
    uint64_t seed;  /* version 1: tc_logentry_v1_seed(time_ms) */
    uint32_t ncommands, next;
    int db;         /* the database of the command tc_logentry_next returned last (0 before version 3) */
    /* An argument whose bytes lie elsewhere (tc_logentry_gap); NULL once read. */
    const unsigned char *gap_at;
    const char *gap_p;
    size_t gap_len;
} tc_logentry_reader;

/* An entry given without the bytes of one big argument, which lie
 * elsewhere: a big SET's value is put together from its pieces straight
 * into the key it will become (raft/log_pieces.h). at: the offset in the
 * given bytes where that argument's bytes would start (just after its
 * length); p, len: its bytes. */
typedef struct tc_logentry_gap {
    size_t at;
    const char *p;
    size_t len;
} tc_logentry_gap;

/* Where a big SET's value lies in an entry, from the entry's first head_len
 * bytes (of total): 1 if the entry is one command, SET key value [options],
 * in version 2 or 3, with a value of at least min_len bytes, its key and the
 * value's length inside head; then *value_at (the value's offset), *value_len,
 * and *key, *key_len (inside head). 0 otherwise. */
int tc_logentry_big_set(const void *head, size_t head_len, size_t total, size_t min_len, size_t *value_at,
                        size_t *value_len, const char **key, size_t *key_len);

/* 1, with "log entry version N is newer than this tricache (reads 1-3):
 * upgrade this node" in err, if the entry was written by a newer tricache.
 * Such an entry must stop the node, never be skipped: every node that can
 * read it applies it, so skipping it would make this replica diverge. */
int tc_logentry_too_new(const void *data, size_t len, char *err, size_t errlen);
/* 0, or -1 with a message in err. Reads versions 1 to 3; a newer version
 * fails with tc_logentry_too_new's message. */
int tc_logentry_open(tc_logentry_reader *r, const void *data, size_t len, char *err, size_t errlen);
/* The same for an entry given with a gap (NULL: none): the argument at
 * gap->at must be gap->len bytes long. */
int tc_logentry_open_gap(tc_logentry_reader *r, const void *data, size_t len, const tc_logentry_gap *gap, char *err,
                         size_t errlen);
/* The next command's arguments into *argv (grown as needed, caller frees)
 * and its database into r->db. Returns argc, 0 at the end, -1 out of memory (or, which cannot happen
 * after tc_logentry_open accepted the entry, malformed). */
long tc_logentry_next(tc_logentry_reader *r, tc_slice **argv, size_t *cap);

/* The seed of a version-1 entry, which carries none. */
uint64_t tc_logentry_v1_seed(int64_t time_ms);
/* What command `index` (0-based) of an entry seeds its generator with
 * (tc_ctx.rng): each command of an entry gets its own sequence. */
uint64_t tc_logentry_command_seed(uint64_t entry_seed, uint32_t index);

#endif
