/* Sets (type 2): what t_set.c needs from a set value. Three encodings:
 *  - intset (intset.h) while every member is an integer (as Redis parses
 *    them: string2ll) and there are at most set-max-intset-entries;
 *  - a pack (pack.h) of members in insertion order while there are at most
 *    set-max-listpack-entries members of at most set-max-listpack-value
 *    bytes — internal only: OBJECT ENCODING says "hashtable" for it, as
 *    Redis 7.0 (which has no listpack sets) says for every non-intset set;
 *  - a tc_dict without values, past those limits.
 * A set converts intset -> pack -> dict (or intset -> dict) and never back,
 * as in Redis.
 *
 * SPOP is a write: every node must pop the same member. Picks therefore
 * depend only on the encoding, the members (and for intset and pack their
 * order, which is deterministic) and the random words of the command PRNG;
 * a dict's seed is drawn from that PRNG when the set converts, and the
 * image record keeps the encoding, the order and the seed (FORMAT.md §4.2),
 * so a replica loaded from a snapshot picks as the primary does. */
#ifndef TC_SET_H
#define TC_SET_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"
#include "types/dict.h"

/* Redis's defaults of set-max-intset-entries, set-max-listpack-entries and
 * set-max-listpack-value (tc_enc_limits_default; the live values are the
 * keyspace's enc, which tc_set_add is given). */
#define TC_SET_MAX_INTSET_ENTRIES 512
#define TC_SET_MAX_LISTPACK_ENTRIES 128
#define TC_SET_MAX_LISTPACK_VALUE 64

enum { TC_ENC_SET_INTSET = 8, TC_ENC_SET_PACK = 9, TC_ENC_SET_HT = 10 };

/* Random words: write commands pass the command PRNG, reads anything. */
typedef uint64_t (*tc_rand_fn)(void *ud);

/* A set value: its encoding and pointer (a key's, or a result's being
 * built). */
typedef struct tc_set {
    unsigned enc;
    void *p;
} tc_set;

static inline tc_set tc_set_of(const tc_key *k) { return (tc_set){k->encoding, tc_key_value_ptr(k)}; }
/* Writes s back into k after a change (the pointer may have moved). */
void tc_set_store(tc_key *k, const tc_set *s);
/* An empty set in the encoding the first member first needs; -1 when out
 * of memory. */
int tc_set_init(tc_set *s, const char *first, size_t len);
/* Puts s at key (replacing what was there); NULL when out of memory (s is
 * then still the caller's). */
tc_key *tc_set_put(tc_keyspace *ks, const char *key, size_t klen, tc_set *s, int64_t expire_at);
void tc_set_free(tc_set *s);

size_t tc_set_size(const tc_set *s);
int tc_set_has(const tc_set *s, const char *m, size_t len);
/* 1 added, 0 already there, -1 out of memory (unchanged). rnd supplies the
 * seed of a dict when the set converts to one. */
int tc_set_add(tc_set *s, const tc_enc_limits *lim, const char *m, size_t len, tc_rand_fn rnd, void *ud);
/* 1 if it was there. */
int tc_set_remove(tc_set *s, const char *m, size_t len);

/* A member as bytes: intset members are formatted into buf. */
typedef struct tc_set_member {
    const char *p;
    size_t len;
    char buf[24];
} tc_set_member;

/* Iteration in the encoding's order (intset: ascending); the set must not
 * change meanwhile. */
typedef struct tc_set_iter {
    const tc_set *s;
    size_t i, off;
    tc_dict_iter di;
} tc_set_iter;
void tc_set_iter_init(tc_set_iter *it, const tc_set *s);
int tc_set_next(tc_set_iter *it, tc_set_member *m);

/* A uniformly random member (s not empty). */
void tc_set_random(const tc_set *s, tc_rand_fn rnd, void *ud, tc_set_member *m);

/* One SSCAN step (intset and pack are reported whole and return 0). */
typedef void (*tc_set_scan_fn)(void *ud, const char *p, size_t len);
uint64_t tc_set_scan(const tc_set *s, uint64_t cursor, tc_set_scan_fn fn, void *ud);

#endif
