/* A hash table keyed by binary strings, for the members and fields inside
 * a value (hash fields -> values, set members, sorted-set member -> score).
 *
 * - Seeded: members come from clients, so the table hashes with SipHash-1-3
 *   under a 128-bit key given at creation. A value that must behave the
 *   same on every node (SPOP) gets its seed from the command PRNG and keeps
 *   it in its keyspace image record, so every node hashes it the same way.
 * - Ordered by hash: a member's bucket is the top bits of its hash, so the
 *   buckets of any table size list the members in hash order. Two things
 *   follow that do not depend on the table's size, its rehash progress or
 *   the order members were added — only on the seed and the members:
 *     * tc_dict_scan's cursor is a hash position (everything below it was
 *       reported), so HSCAN/SSCAN survive resizes (the same guarantee as the
 *       keyspace's reverse-binary cursor, which is this idea with the bits
 *       reversed because the keyspace indexes buckets by the low bits);
 *     * tc_dict_random(d, x) is the member whose hash follows x, so the same
 *       x picks the same member on every node holding the same members and
 *       seed, even though their tables differ (reads rehash too, images load
 *       in another order).
 * - Incremental rehashing: growing (at load factor 1) and shrinking (below
 *   1/8) move one bucket per add/delete; no stop-the-world resize.
 * - An entry is one allocation: its link, the member's length and bytes,
 *   and, in a dict made with values, an 8-byte slot holding a pointer or a
 *   double.
 *
 * Not thread-safe; a dict is freed in the background by handing it whole to
 * lazyfree.h. */
#ifndef TC_DICT_H
#define TC_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_dict_entry tc_dict_entry;

typedef struct tc_dict {
    tc_dict_entry **table[2];
    uint8_t bits[2];      /* table t has 1 << bits[t] buckets; 0 = absent */
    uint8_t with_values;  /* entries carry a value slot */
    size_t used[2];
    int64_t rehash_idx;   /* next bucket of table[0] to move; -1 when not rehashing */
    uint64_t seed[2];
    size_t entry_bytes;   /* sum of the entries' allocation sizes */
    size_t owner_bytes;   /* what the owner's values hold elsewhere (hash values), kept by the owner so
                             that its memory is known without a walk (used_memory, node/evict.h) */
} tc_dict;

/* A new empty dict (NULL when out of memory). with_values: entries get a
 * value slot (hashes, sorted sets); 0 for sets. */
tc_dict *tc_dict_new(int with_values, uint64_t seed0, uint64_t seed1);
/* Frees d and its entries; free_ptr (may be NULL) is called on each
 * entry's pointer value. */
void tc_dict_free(tc_dict *d, void (*free_ptr)(void *));
size_t tc_dict_size(const tc_dict *d);

/* The entry for key, or NULL. Never moves entries (rehash steps are taken
 * by adds and deletes), so it may be called during an iteration. */
tc_dict_entry *tc_dict_find(const tc_dict *d, const char *key, size_t len);
/* The entry for key, added if absent (*added = 1, value slot zeroed).
 * NULL when out of memory (nothing changed). */
tc_dict_entry *tc_dict_add(tc_dict *d, const char *key, size_t len, int *added);
/* Removes key's entry; returns 1 if it was there. free_ptr as in
 * tc_dict_free. */
int tc_dict_delete(tc_dict *d, const char *key, size_t len, void (*free_ptr)(void *));
/* Makes room for n members at once (image load); 0, or -1 when out of
 * memory (the dict still works, it will grow as it goes). */
int tc_dict_reserve(tc_dict *d, size_t n);

/* Entries. The key pointer stays valid until the entry is deleted. */
const char *tc_dict_key(const tc_dict_entry *e, size_t *len);
void *tc_dict_ptr(const tc_dict_entry *e);
void tc_dict_set_ptr(tc_dict_entry *e, void *p);
double tc_dict_double(const tc_dict_entry *e);
void tc_dict_set_double(tc_dict_entry *e, double v);

/* Iteration over every entry; the dict must not change meanwhile. */
typedef struct tc_dict_iter {
    const tc_dict *d;
    int t;
    size_t b;
    tc_dict_entry *e;
} tc_dict_iter;
void tc_dict_iter_init(tc_dict_iter *it, const tc_dict *d);
tc_dict_entry *tc_dict_next(tc_dict_iter *it);

/* One SCAN step: calls fn for the entries of the next bucket (of the
 * smaller table while rehashing, with what the larger table holds in the
 * same hash range) and returns the next cursor, 0 when complete. Every
 * member present for the whole scan is reported at least once. fn must not
 * change the dict. */
typedef void (*tc_dict_scan_fn)(void *ud, const tc_dict_entry *e);
uint64_t tc_dict_scan(tc_dict *d, uint64_t cursor, tc_dict_scan_fn fn, void *ud);

/* A uniformly random entry, NULL for an empty dict. next(ud) supplies
 * random 64-bit words (write commands: the command PRNG). The choice depends
 * only on the seed, the members and the words drawn — not on the table's
 * size, rehash progress or insertion order — so every node holding the
 * same members picks the same one from the same words. */
tc_dict_entry *tc_dict_random(tc_dict *d, uint64_t (*next)(void *), void *ud);

/* Bytes d takes: its header, bucket arrays and entries (not what pointer
 * values point at, not malloc's rounding). */
size_t tc_dict_memory(const tc_dict *d);

/* A seed this process drew at random (once, from getrandom): for dicts
 * whose layout only this node sees (hashes: nothing replicated depends on
 * where a field sits), so that nobody outside can predict collisions. */
void tc_dict_process_seed(uint64_t seed[2]);

/* SipHash-1-3 of p under (k0, k1): the dict's hash, for callers that need
 * the same keyed hash elsewhere. */
uint64_t tc_siphash13(uint64_t k0, uint64_t k1, const void *p, size_t len);

#endif
