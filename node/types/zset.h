/* Sorted sets (type 3): members with double scores, ordered by (score,
 * member). Two encodings behind one interface, as in Redis:
 *  - "listpack" (zset_pack.h): one packed allocation, up to
 *    zset-max-listpack-entries members of up to zset-max-listpack-value
 *    bytes;
 *  - past either threshold, "skiplist" (the name Redis 7.0 answers, which
 *    clients check): the member -> score dict (dict.h) for lookups and a
 *    B+tree of its entries (zset_tree.h) for order and ranks.
 * A set converts to the large encoding when it outgrows the thresholds and
 * never back, except that a set created whole (a STORE command's
 * destination, an image load) starts in the encoding its size calls for.
 *
 * Everything positional is by rank (0 = lowest score): bounds become ranks
 * with tc_zset_lower, iterators start at a rank. Its commands are in
 * node/t_zset.c. */
#ifndef TC_ZSET_H
#define TC_ZSET_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"
#include "zset_tree.h"

/* Redis's zset-max-listpack-entries / zset-max-listpack-value defaults
 * (tc_enc_limits_default; the live values are the keyspace's enc). */
#define TC_ZSET_MAX_LISTPACK_ENTRIES 128
#define TC_ZSET_MAX_LISTPACK_VALUE 64

/* Sorted-set encodings (a key's 4-bit encoding; pointer encodings). */
enum {
    TC_ENC_ZSET_LISTPACK = 8,
    TC_ENC_ZSET_SKIPLIST = 9,
};

/* One element as read: the member's bytes stay valid until the set changes. */
typedef struct tc_zel {
    const char *m;
    size_t len;
    double score;
} tc_zel;

/* Order: score, then member bytes (shorter first on a common prefix);
 * -0.0 equals 0.0. */
int tc_zcmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2);

/* Creates (or replaces) key as an empty sorted set in the encoding that
 * size_hint members of up to maxlen bytes call for. NULL when out of
 * memory. An empty set must not stay in the keyspace: callers add members
 * or delete the key. */
tc_key *tc_zset_create(tc_keyspace *ks, const char *key, size_t klen, size_t size_hint, size_t maxlen,
                       int64_t expire_at);

size_t tc_zset_card(const tc_key *k);
/* 1 and *score when member is in the set, else 0. */
int tc_zset_score(const tc_key *k, const char *m, size_t len, double *score);

/* ZADD's core (Redis's zsetAdd). in: TC_ZADD_* options; *out: TC_ZADD_OUT_*
 * what happened; *newscore the member's score afterwards (INCR). Returns 0,
 * or -1 when out of memory (set unchanged). */
enum {
    TC_ZADD_NX = 1 << 0,
    TC_ZADD_XX = 1 << 1,
    TC_ZADD_GT = 1 << 2,
    TC_ZADD_LT = 1 << 3,
    TC_ZADD_INCR = 1 << 4,
};
enum {
    TC_ZADD_OUT_NOP = 1 << 0,     /* nothing done (NX/XX/GT/LT) */
    TC_ZADD_OUT_ADDED = 1 << 1,
    TC_ZADD_OUT_UPDATED = 1 << 2,
    TC_ZADD_OUT_NAN = 1 << 3,     /* INCR made a NaN: nothing done */
};
int tc_zset_add(tc_key *k, const tc_enc_limits *lim, double score, const char *m, size_t len, int in, int *out,
                double *newscore);
/* Appends a member known to sort after every member (image load, building
 * a STORE destination from sorted results). 0 or -1 (out of memory). */
int tc_zset_append(tc_key *k, const tc_enc_limits *lim, double score, const char *m, size_t len);
/* Removes member; 1 if it was there. */
int tc_zset_delete(tc_key *k, const char *m, size_t len);
/* Removes the elements of ranks [start, end). */
void tc_zset_delete_range(tc_key *k, size_t start, size_t end);

/* A bound: the rank of the first element not "before" it. */
typedef struct tc_zbound {
    enum { TC_ZB_SCORE, TC_ZB_LEX, TC_ZB_ELEM } kind;
    double score;     /* SCORE, ELEM */
    const char *m;    /* LEX, ELEM */
    size_t len;
    int after_equal;  /* SCORE/LEX: equal elements count as before (an exclusive min, an inclusive max) */
    int inf;          /* LEX: -1 '-' (nothing before), +1 '+' (everything before) */
} tc_zbound;
size_t tc_zset_lower(const tc_key *k, const tc_zbound *b);
/* Member's rank and score; 0 when absent. */
int tc_zset_rank(const tc_key *k, const char *m, size_t len, size_t *rank, double *score);

/* Iteration from a rank (< card), ascending or descending. */
typedef struct tc_zit {
    const tc_key *k;
    int reverse;
    size_t off;        /* listpack, ascending: offset of the next element */
    uint32_t *offs;    /* listpack, descending: offsets of ranks 0..idx */
    size_t idx;
    int done;
    zt_iter ti;        /* skiplist */
} tc_zit;
void tc_zit_init(tc_zit *it, const tc_key *k, size_t rank, int reverse);
int tc_zit_next(tc_zit *it, tc_zel *out);
void tc_zit_done(tc_zit *it);

/* ZSCAN's step: calls fn for some elements and returns the next cursor (0:
 * done). A listpack is reported whole in one step, as Redis does. */
typedef void (*tc_zset_scan_fn)(void *ud, const char *m, size_t len, double score);
uint64_t tc_zset_scan(tc_key *k, uint64_t cursor, size_t count, tc_zset_scan_fn fn, void *ud);

/* Elements owning copies of their members: the results of ZRANGESTORE
 * and the set operations, which may overwrite one of their own sources. */
typedef struct tc_zvec_el {
    double score;
    size_t off, len; /* the member's bytes in the vector's arena */
} tc_zvec_el;
typedef struct tc_zvec {
    tc_zvec_el *v;
    size_t n, cap;
    char *arena;
    size_t used, arena_cap;
    size_t maxlen;
} tc_zvec;
/* 0, or -1 when out of memory. */
int tc_zvec_push(tc_zvec *v, double score, const char *m, size_t len);
static inline const char *tc_zvec_member(const tc_zvec *v, size_t i) { return v->arena + v->v[i].off; }
/* Sorts by (score, member). */
void tc_zvec_sort(tc_zvec *v);
void tc_zvec_free(tc_zvec *v);
/* Creates (or replaces) key from a sorted vector with distinct members, in
 * the encoding its size calls for. NULL when out of memory. */
tc_key *tc_zset_from_vec(tc_keyspace *ks, const char *key, size_t klen, const tc_zvec *v);

#endif
