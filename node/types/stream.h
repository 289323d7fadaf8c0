/* Streams (type 6): what t_stream.c needs from a stream value.
 *
 * Entries (an ID ms-seq and field/value pairs) are kept in ID order in a
 * sorted array of chunks of at most TC_STREAM_NODE_MAX_ENTRIES entries
 * each, so a range scan is two binary searches and then a walk, appending
 * is O(1) and trimming from the front drops whole chunks.
 *
 * The chunks follow Redis's radix tree nodes on purpose: XADD/XTRIM with
 * `~` trim only whole chunks, so where a chunk ends decides what an
 * approximate trim removes. A chunk is closed, as a Redis listpack node is,
 * once it has taken TC_STREAM_NODE_MAX_ENTRIES appends (deleted entries
 * still count: Redis only flags them) or TC_STREAM_NODE_MAX_BYTES payload
 * bytes, and a chunk whose last live entry goes is dropped. The limits are
 * constants, not settings: a node set differently would trim differently
 * from the others. The boundaries travel in the keyspace image, so a node
 * loaded from a snapshot trims exactly as one that applied the log. */
#ifndef TC_STREAM_H
#define TC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

enum { TC_ENC_STREAM = 8 };

/* Redis's stream-node-max-entries / stream-node-max-bytes defaults. */
#define TC_STREAM_NODE_MAX_ENTRIES 100
#define TC_STREAM_NODE_MAX_BYTES 4096

typedef struct tc_stream_id {
    uint64_t ms, seq;
} tc_stream_id;

static inline int tc_stream_id_cmp(tc_stream_id a, tc_stream_id b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* One entry: its ID and nfields field/value pairs, each string stored as
 * a varint length and its bytes in data. */
typedef struct tc_stream_entry {
    tc_stream_id id;
    uint32_t nfields; /* pairs */
    uint32_t bytes;   /* of data */
    char data[];
} tc_stream_entry;

/* Chunks are shared between copies of a stream (COPY, a script's undo
 * journal, which copies every key a script writes) and copied on their
 * first change: copying a stream of n entries costs n/100 pointers, not n
 * entries. refs is atomic: the lazyfree thread may drop a copy while the
 * command thread changes another. */
typedef struct tc_stream_chunk {
    uint32_t refs;  /* streams holding it */
    uint32_t n;     /* live entries, e[0..n) */
    uint32_t slots; /* entries ever appended to it */
    uint32_t bytes; /* payload bytes ever appended to it */
    tc_stream_entry *e[TC_STREAM_NODE_MAX_ENTRIES];
} tc_stream_chunk;

typedef struct tc_stream {
    tc_stream_chunk **chunks;
    size_t nchunks, cap;
    uint64_t length;
    tc_stream_id last_id;        /* the greatest ID ever added (or set by XSETID) */
    tc_stream_id max_deleted_id; /* the greatest ID deleted by XDEL/XTRIM */
    uint64_t entries_added;      /* every entry ever added */
    size_t mem;                  /* bytes of entries and chunks */
} tc_stream;

tc_stream *tc_stream_new(void);
void tc_stream_free(tc_stream *s);
/* A copy of s sharing its chunks (copied on their first change); NULL when
 * out of memory. */
tc_stream *tc_stream_dup(const tc_stream *s);
/* Bytes s takes (its struct, the chunk array, chunks and entries). */
size_t tc_stream_memory(const tc_stream *s);

/* A new empty stream at key (replacing what was there), NULL when out of
 * memory. */
tc_key *tc_stream_create(tc_keyspace *ks, const char *key, size_t klen, int64_t expire_at);
static inline tc_stream *tc_stream_of(const tc_key *k) { return tc_key_value_ptr(k); }

/* Appends an entry with ID id, which must be greater than s->last_id;
 * fv holds 2*nfields strings (field, value, ...). 0, or -1 when out of
 * memory (nothing changed). Updates last_id, length and entries_added. */
int tc_stream_append(tc_stream *s, tc_stream_id id, size_t nfields, const char *const *fv, const size_t *fvlen);
/* The same with the entry already built (image load); the stream takes it. */
int tc_stream_append_entry(tc_stream *s, tc_stream_entry *e);
tc_stream_entry *tc_stream_entry_new(tc_stream_id id, size_t nfields, const char *const *fv, const size_t *fvlen);

/* Reads the string of e's data at *off: returns its bytes and moves *off
 * past it. */
const char *tc_stream_entry_str(const tc_stream_entry *e, size_t *off, size_t *len);

/* A position: chunk c, entry i. */
typedef struct tc_stream_pos {
    size_t c, i;
} tc_stream_pos;
/* The first entry with ID >= id (c == nchunks when none). */
tc_stream_pos tc_stream_seek(const tc_stream *s, tc_stream_id id);
/* The last entry with ID <= id; 0 when there is none. */
int tc_stream_seek_back(const tc_stream *s, tc_stream_id id, tc_stream_pos *p);
static inline tc_stream_entry *tc_stream_at(const tc_stream *s, tc_stream_pos p)
{
    return p.c < s->nchunks ? s->chunks[p.c]->e[p.i] : NULL;
}
void tc_stream_next(const tc_stream *s, tc_stream_pos *p);
/* Moves back; 0 when p was the first entry. */
int tc_stream_prev(const tc_stream *s, tc_stream_pos *p);

/* The first and last live entries (NULL when empty). */
tc_stream_entry *tc_stream_first(const tc_stream *s);
tc_stream_entry *tc_stream_last(const tc_stream *s);

/* Deletes the entry with ID id: 1 if there was one. Updates
 * max_deleted_id. */
int tc_stream_delete(tc_stream *s, tc_stream_id id);

/* Trimming (XADD's and XTRIM's MAXLEN / MINID), as Redis 7.0's streamTrim:
 * whole chunks from the front while they are entirely beyond the
 * threshold, then (exact only) entries of the next chunk one by one.
 * limit > 0 (approximate only): stop before a chunk that would take the
 * count removed past limit. Returns the entries removed. */
enum { TC_STREAM_TRIM_MAXLEN = 1, TC_STREAM_TRIM_MINID = 2 };
typedef struct tc_stream_trim {
    int strategy;       /* TC_STREAM_TRIM_* (0: none) */
    int approx;
    long long limit;    /* 0: none */
    uint64_t maxlen;
    tc_stream_id minid;
} tc_stream_trim;
uint64_t tc_stream_do_trim(tc_stream *s, const tc_stream_trim *t);

/* ID text: "ms-seq" into buf (at least 42 bytes); returns its length. */
size_t tc_stream_id_format(tc_stream_id id, char *buf);
/* Parses "ms", "ms-seq" (or, when seq_star is not NULL, "ms-*": *seq_star
 * set), each number as Redis reads it (blanks, a sign, leading zeros pass;
 * a strict negative does not; at most 127 bytes, up to a NUL); "-" and "+"
 * are the commands' business. A missing seq is missing_seq. 0, or -1 when
 * it is not an ID. */
int tc_stream_id_parse(const char *p, size_t len, uint64_t missing_seq, tc_stream_id *out, int *seq_star);

#endif
