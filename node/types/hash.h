/* Hashes (type 4): what t_hash.c needs from a hash value. Two encodings,
 * as Redis 7.0 names them:
 *  - "listpack": field, value, field, value... in one tc_pack (pack.h),
 *    while the hash has at most hash-max-listpack-entries fields and
 *    every field and value is at most hash-max-listpack-value bytes (the
 *    keyspace's tc_enc_limits);
 *  - "hashtable": a tc_dict (dict.h) whose value slots point at blobs,
 *    under this process's seed (nothing replicated depends on the layout).
 * A hash converts to "hashtable" once past either limit and never back
 * (as in Redis). */
#ifndef TC_HASH_H
#define TC_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"
#include "types/dict.h"

/* Redis's hash-max-listpack-entries / hash-max-listpack-value defaults
 * (tc_enc_limits_default; the live values are the keyspace's enc). */
#define TC_HASH_MAX_LISTPACK_ENTRIES 512
#define TC_HASH_MAX_LISTPACK_VALUE 64

enum { TC_ENC_HASH_LISTPACK = 8, TC_ENC_HASH_HT = 9 };

/* A new empty hash at key (replacing what was there), NULL when out of
 * memory. The caller adds a field before the command ends: an empty hash
 * never stays in the keyspace. */
tc_key *tc_hash_create(tc_keyspace *ks, const char *key, size_t klen, int64_t expire_at);
size_t tc_hash_len(const tc_key *k);
/* 1 and the value if the field exists, else 0. *v stays valid until the
 * hash changes. */
int tc_hash_get(const tc_key *k, const char *f, size_t flen, const char **v, size_t *vlen);
/* Sets a field: 1 added, 0 updated, -1 out of memory (unchanged). A
 * listpack converts to a hashtable here when lim says so. */
int tc_hash_set(tc_key *k, const tc_enc_limits *lim, const char *f, size_t flen, const char *v, size_t vlen);
/* Removes a field: 1 if it was there. */
int tc_hash_del(tc_key *k, const char *f, size_t flen);

/* Iteration in the encoding's order; the hash must not change meanwhile. */
typedef struct tc_hash_iter {
    const tc_key *k;
    size_t off;          /* listpack */
    tc_dict_iter di;     /* hashtable */
} tc_hash_iter;
void tc_hash_iter_init(tc_hash_iter *it, const tc_key *k);
int tc_hash_next(tc_hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen);

/* One HSCAN step (a listpack is reported whole and returns 0). */
typedef void (*tc_hash_scan_fn)(void *ud, const char *f, size_t flen, const char *v, size_t vlen);
uint64_t tc_hash_scan(tc_key *k, uint64_t cursor, tc_hash_scan_fn fn, void *ud);
/* A uniformly random field (HRANDFIELD), from next(ud)'s words. */
void tc_hash_random(tc_key *k, uint64_t (*next)(void *), void *ud, const char **f, size_t *flen, const char **v,
                    size_t *vlen);

#endif
