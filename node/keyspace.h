/* The keyspace: a chained hash table of entries with incremental rehashing
 * (no stop-the-world resize), absolute millisecond expiry deadlines, lazy and
 * sampled active expiry, SCAN cursors that survive resizing, and an
 * order-independent digest of the whole content.
 *
 * Memory: an entry is one allocation holding its header, key and value, so a
 * small string key costs one malloc chunk plus its bucket pointer. */
#ifndef TC_KEYSPACE_H
#define TC_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

enum tc_type { TC_TYPE_STRING = 0 };

/* Largest string value (Redis's limit for APPEND/SETRANGE results). */
#define TC_MAX_STRING_LEN (512ull * 1024 * 1024)

typedef struct tc_entry {
    struct tc_entry *next;   /* bucket chain */
    int64_t expire_at;       /* unix time in ms; 0 = persistent */
    uint32_t klen;
    uint32_t vlen;
    uint32_t volatile_idx;   /* position in tc_keyspace.volatile_keys when expire_at != 0 */
    uint8_t type;            /* enum tc_type */
    char data[];             /* key bytes, then value bytes */
} tc_entry;

static inline const char *tc_entry_key(const tc_entry *e) { return e->data; }
static inline char *tc_entry_val(tc_entry *e) { return e->data + e->klen; }

typedef struct tc_keyspace {
    tc_entry **table[2];
    size_t size[2];          /* bucket counts, powers of two (0 = absent) */
    size_t used[2];
    int64_t rehash_idx;      /* next bucket of table[0] to move; -1 when not rehashing */
    uint64_t seed[2];        /* hash seed: keys are attacker-chosen */

    tc_entry **volatile_keys;/* every entry with a deadline, for active expiry sampling */
    size_t nvolatile, volatile_cap;

    uint64_t rng;            /* xorshift state for sampling */

    /* 1: an access that finds an expired key deletes it (standalone/primary).
     * 0: it is only hidden (a replica waits for the primary's delete). */
    int lazy_delete;

    uint64_t expired_keys;   /* deleted because their deadline passed */
    uint64_t hits, misses;   /* lookups for reading */
} tc_keyspace;

void tc_ks_init(tc_keyspace *ks, uint64_t seed0, uint64_t seed1);
void tc_ks_free(tc_keyspace *ks);
size_t tc_ks_size(const tc_keyspace *ks);
size_t tc_ks_volatile_count(const tc_keyspace *ks);

/* Finds a live key. An expired key is never returned (see lazy_delete). */
tc_entry *tc_ks_find(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);

/* Creates or replaces key with a string value and deadline (0 = none).
 * Returns the new entry or NULL when out of memory (nothing changed then). */
tc_entry *tc_ks_set(tc_keyspace *ks, const char *key, size_t klen, const char *val, size_t vlen,
                    int64_t expire_at);

/* Changes the value length of e (contents up to min(old,new) kept, the rest
 * uninitialised). Returns the possibly moved entry, or NULL on out of memory
 * (e unchanged). */
tc_entry *tc_ks_resize(tc_keyspace *ks, tc_entry *e, size_t new_vlen);

/* Sets or clears (0) the deadline of a live entry. */
void tc_ks_set_expire(tc_keyspace *ks, tc_entry *e, int64_t expire_at);

/* Deletes a key whether or not it expired; returns 1 if it existed. */
int tc_ks_delete(tc_keyspace *ks, const char *key, size_t klen);

/* Deletes key only if it has a deadline at or before now_ms (live or not
 * yet reaped); returns 1 if it did. The primary's replicated expiry uses it
 * so that a key written again since the decision is left alone. */
int tc_ks_delete_if_expired(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);

/* Removes every key. */
void tc_ks_flush(tc_keyspace *ks);

/* A random live key, or NULL when there is none. */
tc_entry *tc_ks_random(tc_keyspace *ks, int64_t now_ms);

/* One SCAN step: calls fn for the entries of the next bucket(s) and returns
 * the next cursor (0 when the iteration is complete). Every key present for
 * the whole iteration is reported at least once, even across resizes. */
typedef void (*tc_ks_scan_fn)(void *ud, tc_entry *e);
uint64_t tc_ks_scan(tc_keyspace *ks, uint64_t cursor, tc_ks_scan_fn fn, void *ud);

/* Active expiry: samples keys with deadlines and deletes expired ones,
 * repeating while many of the sample were expired, until max_work samples.
 * Returns the number deleted. */
size_t tc_ks_expire_cycle(tc_keyspace *ks, int64_t now_ms, size_t max_work);

/* Replicated expiry: calls fn for up to max keys found expired by sampling
 * the keys with deadlines, deleting nothing (the primary turns them into a
 * log entry). Returns how many it reported. */
typedef void (*tc_ks_key_fn)(void *ud, const char *key, size_t klen);
size_t tc_ks_expired_sample(tc_keyspace *ks, int64_t now_ms, size_t max, tc_ks_key_fn fn, void *ud);

/* Moves up to n buckets of an ongoing rehash; returns 1 if more remain. */
int tc_ks_rehash_step(tc_keyspace *ks, size_t n);

/* SHA-1 based, order-independent digest of every live key, its type, value
 * and deadline; all zeros for an empty keyspace (as Redis's DEBUG DIGEST). */
void tc_ks_digest(tc_keyspace *ks, int64_t now_ms, unsigned char out[20]);

#endif
