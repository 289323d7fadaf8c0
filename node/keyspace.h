/* The keyspace: a chained hash table of keys with incremental rehashing
 * (no stop-the-world resize), absolute millisecond expiry deadlines, lazy and
 * sampled active expiry, SCAN cursors that survive resizing, per-key access
 * bits for eviction (LRU or LFU), and an order-independent digest of the
 * whole content.
 *
 * Memory: a key is one allocation holding its header (32 bytes), its name and
 * either its string value inline or a pointer to a typed value, so a small
 * string key costs one malloc chunk plus its bucket pointer. What a value is
 * and how it is freed, digested, saved and copied is its type's business:
 * types/types.h. */
#ifndef TC_KEYSPACE_H
#define TC_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Largest string value (Redis's limit for APPEND/SETRANGE results). */
#define TC_MAX_STRING_LEN (512ull * 1024 * 1024)

/* Encodings 0..7 keep the value's bytes inline, right after the key's name
 * (strings: today's layout, "raw inline"); 8..15 keep a pointer there (an
 * unaligned void *: use tc_key_value_ptr) to a value the type allocated. The
 * numbers themselves are listed in types/types.h. */
#define TC_ENC_FIRST_POINTER 8

/* The access bits (lru:24), as Redis's robj keeps them:
 *  - LRU (the default): the LRU clock at the last access. The clock is unix
 *    seconds modulo 2^24 (Redis's LRU_CLOCK with LRU_CLOCK_RESOLUTION 1000 ms;
 *    it wraps every 194 days, which the idle time computation allows for).
 *  - LFU (tc_keyspace.lfu set): the high 16 bits are the unix minute modulo
 *    2^16 of the last counter decrement, the low 8 bits a logarithmic access
 *    counter: 5 for a new key, incremented with probability
 *    1 / ((counter - 5) * TC_LFU_LOG_FACTOR + 1), decremented by one per
 *    TC_LFU_DECAY_MINUTES idle (Redis's LFU with lfu-log-factor 10 and
 *    lfu-decay-time 1).
 * A key is stamped when it is created and on every access through
 * tc_ks_find (reads and writes alike); tc_ks_peek looks without touching (as
 * Redis's LOOKUP_NOTOUCH: TYPE, EXISTS, TTL, OBJECT). The bits are local to
 * a node: neither the digest nor keyspace images include them. */
#define TC_LRU_BITS 24
#define TC_LRU_CLOCK_MAX ((1u << TC_LRU_BITS) - 1)
#define TC_LRU_CLOCK_RESOLUTION_MS 1000
#define TC_LFU_INIT_VAL 5
#define TC_LFU_LOG_FACTOR 10
#define TC_LFU_DECAY_MINUTES 1

typedef struct tc_key {
    struct tc_key *next;     /* bucket chain */
    int64_t expire_at;       /* unix time in ms; 0 = persistent */
    uint32_t klen;           /* bytes of the name */
    uint32_t vlen;           /* inline encodings: bytes of the value; pointer encodings: 0 */
    uint32_t volatile_idx;   /* position in tc_keyspace.volatile_keys when expire_at != 0 */
    uint32_t type : 4;       /* enum tc_type (types/types.h) */
    uint32_t encoding : 4;   /* enum tc_encoding (types/types.h) */
    uint32_t lru : TC_LRU_BITS; /* LRU clock or LFU time and counter, see above */
    char data[];             /* the name, then the value bytes or a pointer */
} tc_key;

static inline const char *tc_key_name(const tc_key *k) { return k->data; }
static inline size_t tc_key_name_len(const tc_key *k) { return k->klen; }
static inline int tc_key_is_inline(const tc_key *k) { return k->encoding < TC_ENC_FIRST_POINTER; }
/* An inline value's bytes (strings). */
static inline char *tc_key_str(tc_key *k) { return k->data + k->klen; }
static inline const char *tc_key_cstr(const tc_key *k) { return k->data + k->klen; }
static inline size_t tc_key_str_len(const tc_key *k) { return k->vlen; }
/* A pointer encoding's value (stored unaligned after the name). */
static inline void *tc_key_value_ptr(const tc_key *k)
{
    void *p;
    memcpy(&p, k->data + k->klen, sizeof p);
    return p;
}

/* What a keyspace tells its owner (keyspace notifications, node/notify.h).
 * expired: a key it deleted because its deadline passed (lazily on access,
 * by active expiry, or by the replicated sweep's tc_ks_delete_if_expired),
 * called after the key is gone. added: a key it is about to hold under
 * key, replacing `replaced` (NULL if there was none; it may be an expired
 * key a replica kept hidden), called once the new key is in place. Both
 * NULL (the default): nothing is told. A keyspace made by tc_ks_init_like
 * (restore staging, image load) starts without them, so loading is silent;
 * the code that swaps it in copies them over. */
typedef struct tc_ks_events {
    void *ud;
    int db; /* the owner's number for this keyspace (its database) */
    void (*expired)(const struct tc_ks_events *ev, const char *key, size_t klen);
    void (*added)(const struct tc_ks_events *ev, const char *key, size_t klen, const tc_key *replaced);
    /* A lookup (tc_ks_find, tc_ks_peek) found no live key; NULL unless the
     * owner wants to know (key-miss events are on). */
    void (*missed)(const struct tc_ks_events *ev, const char *key, size_t klen);
} tc_ks_events;

/* When the compact encodings of collections give way to the big ones
 * (Redis's hash-max-listpack-entries and friends). Parsed integers, so the
 * types read them at the point of conversion without any string work; the
 * node copies them from its settings at start and after CONFIG SET
 * (tc_server_apply_encoding_limits). Only memory depends on them: content,
 * replies' content and DEBUG DIGEST are the same whatever they are. */
typedef struct tc_enc_limits {
    uint64_t hash_max_listpack_entries; /* 512 */
    uint64_t hash_max_listpack_value;   /* 64 bytes */
    uint64_t zset_max_listpack_entries; /* 128 */
    uint64_t zset_max_listpack_value;   /* 64 bytes */
    uint64_t set_max_intset_entries;    /* 512 */
    uint64_t set_max_listpack_entries;  /* 128 */
    uint64_t set_max_listpack_value;    /* 64 bytes */
    int list_max_listpack_size;         /* -2: a list node of up to 8 KB; N > 0: N entries per node */
} tc_enc_limits;

/* Redis 7's defaults. */
void tc_enc_limits_default(tc_enc_limits *l);

typedef struct tc_keyspace {
    tc_key **table[2];
    size_t size[2];          /* bucket counts, powers of two (0 = absent) */
    size_t used[2];
    int64_t rehash_idx;      /* next bucket of table[0] to move; -1 when not rehashing */
    uint64_t seed[2];        /* hash seed: keys are attacker-chosen */

    tc_key **volatile_keys;  /* every key with a deadline, for active expiry sampling */
    size_t nvolatile, volatile_cap;

    uint64_t rng;            /* xorshift state for sampling */
    size_t expire_cursor;    /* where active expiry's walk of volatile_keys goes on */
    uint64_t lfu_rng;        /* xorshift state for LFU counter increments */

    /* 1: an access that finds an expired key deletes it (standalone/primary).
     * 0: it is only hidden (a replica waits for the primary's delete). */
    int lazy_delete;
    /* 0: the access bits keep LRU clocks; 1: LFU counters. Keys stamped
     * under the other setting read as if very old, or rarely used, until
     * their next access (as in Redis after a policy change). */
    int lfu;
    /* Encoding thresholds of the collections this keyspace creates. */
    tc_enc_limits enc;

    tc_ks_events events;     /* see tc_ks_events; zero: none */

    /* LFU parameters (lfu-log-factor, lfu-decay-time; set from the
     * node's settings by node/evict.c). */
    uint32_t lfu_log_factor;
    uint32_t lfu_decay_minutes; /* 0: counters never decay */

    /* Set while a read-only command runs: tc_ks_find then counts hits and
     * misses (INFO keyspace_hits/misses, as Redis's lookupKeyRead). */
    int counting_reads;

    /* What the keys hold, in bytes: each key's tc_ks_key_cost, kept as keys
     * come and go (insert, delete, resize); a pointer value that grows in
     * place is added by tc_ks_mem_adjust. The node's used_memory. */
    uint64_t mem;
    /* The last pointer-valued keys created and the cost counted for them
     * then, so that a command that creates a key and then fills its value
     * in place (HSET on a new hash) can add the growth (server.c). */
    const tc_key *born[4];
    size_t born_cost[4];
    unsigned nborn;

    uint64_t expired_keys;   /* deleted because their deadline passed */
    uint64_t hits, misses;   /* lookups for reading */
} tc_keyspace;

void tc_ks_init(tc_keyspace *ks, uint64_t seed0, uint64_t seed1);
/* An empty keyspace with model's seeds and settings (lazy_delete, lfu, enc):
 * for a keyspace that will replace model (image load, restore staging). */
void tc_ks_init_like(tc_keyspace *ks, const tc_keyspace *model);
void tc_ks_free(tc_keyspace *ks);
size_t tc_ks_size(const tc_keyspace *ks);
size_t tc_ks_volatile_count(const tc_keyspace *ks);

/* Finds a live key and stamps the access. An expired key is never returned
 * (see lazy_delete). */
tc_key *tc_ks_find(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);
/* The same without stamping the access. */
tc_key *tc_ks_peek(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);

/* A big string key in two steps, so that its value can be written in place
 * before the key exists (raft/fsm.c puts a big SET's value together from
 * its log pieces there): tc_ks_adopt_block allocates a key named key with
 * room for vlen bytes of value (NULL when out of memory), whose bytes start
 * at tc_ks_adopt_value; tc_ks_set_adopted then stores it as tc_ks_set would
 * (the block is the keyspace's from then on, even when NULL is returned).
 * A block never stored is freed with tc_big_free. */
void *tc_ks_adopt_block(const char *key, size_t klen, size_t vlen);
char *tc_ks_adopt_value(void *block);
tc_key *tc_ks_set_adopted(tc_keyspace *ks, void *block, size_t vlen, int64_t expire_at);
/* Creates or replaces key with a string value (inline, encoding
 * TC_ENC_INLINE) and deadline (0 = none). Returns the new key or NULL when
 * out of memory (nothing changed then). */
tc_key *tc_ks_set(tc_keyspace *ks, const char *key, size_t klen, const char *val, size_t vlen,
                  int64_t expire_at);

/* Creates or replaces key with a typed value kept by pointer (encoding >=
 * TC_ENC_FIRST_POINTER); the keyspace owns value from then on and frees it
 * through the type's free_value. NULL when out of memory (value not taken). */
tc_key *tc_ks_set_pointer(tc_keyspace *ks, const char *key, size_t klen, unsigned type, unsigned encoding,
                          void *value, int64_t expire_at);

/* Changes the length of k's inline value (contents up to min(old,new) kept,
 * the rest uninitialised). Returns the possibly moved key, or NULL on out of
 * memory (k unchanged). */
tc_key *tc_ks_resize(tc_keyspace *ks, tc_key *k, size_t new_vlen);

/* Moves k's value, deadline, type and encoding to the name dst (replacing
 * any key there) and deletes k; the value itself is not copied. Returns the
 * key under its new name, or NULL on out of memory (nothing changed). */
tc_key *tc_ks_rename(tc_keyspace *ks, tc_key *k, const char *dst, size_t dlen);

/* MOVE: takes k (a key of from) out of from and puts it, value, deadline
 * and access bits included, under the same name into to, where no key of
 * that name may exist. Returns the key in to, or NULL on out of memory
 * (nothing changed). */
tc_key *tc_ks_move(tc_keyspace *from, tc_key *k, tc_keyspace *to);

/* Sets or clears (0) the deadline of a live key. */
void tc_ks_set_expire(tc_keyspace *ks, tc_key *k, int64_t expire_at);

/* Deletes a key whether or not it expired; returns 1 if it existed. */
int tc_ks_delete(tc_keyspace *ks, const char *key, size_t klen);

/* Deletes key only if it has a deadline at or before now_ms (live or not
 * yet reaped); returns 1 if it did. The primary's replicated expiry uses it
 * so that a key written again since the decision is left alone. */
int tc_ks_delete_if_expired(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);
/* The same for n keys (keys[i], lens[i] bytes), in that order; returns how
 * many it deleted. Every node applies an expiry entry's thousands of
 * deletes with it: each lookup is a few cache misses, and a batch issues
 * them for several keys at once instead of waiting for one after another. */
#define TC_KS_DELETE_BATCH 16
size_t tc_ks_delete_expired_batch(tc_keyspace *ks, const char *const *keys, const size_t *lens, size_t n,
                                  int64_t now_ms);

/* Cache hints for a lookup of key that comes soon (the apply of a log
 * entry's commands, each of which starts with one): the first asks for the
 * key's bucket slots and returns its hash; the second, given that hash a
 * few commands later when the slots are in the cache, asks for the first
 * key of each chain. Hints only: nothing changes, and a table resized in
 * between only makes them useless. */
uint64_t tc_ks_prefetch_slots(const tc_keyspace *ks, const char *key, size_t klen);
void tc_ks_prefetch_heads(const tc_keyspace *ks, uint64_t h);

/* Removes every key. */
void tc_ks_flush(tc_keyspace *ks);

/* A random live key, or NULL when there is none. */
tc_key *tc_ks_random(tc_keyspace *ks, int64_t now_ms);

/* One SCAN step: calls fn for the keys of the next bucket(s) and returns
 * the next cursor (0 when the iteration is complete). Every key present for
 * the whole iteration is reported at least once, even across resizes. */
typedef void (*tc_ks_scan_fn)(void *ud, tc_key *k);
uint64_t tc_ks_scan(tc_keyspace *ks, uint64_t cursor, tc_ks_scan_fn fn, void *ud);

/* Every key once, bucket after bucket in table order, for a keyspace
 * nothing changes meanwhile (fn must not add or delete keys): a snapshot
 * or backup child's image, KEYS, DEBUG DIGEST, a memory recount. Unlike SCAN's cursor order, which jumps across the
 * table, it reads the bucket array in sequence and fetches the keys a few
 * buckets ahead, so their cache misses overlap. */
void tc_ks_walk(const tc_keyspace *ks, tc_ks_scan_fn fn, void *ud);

/* Active expiry: samples keys with deadlines and deletes expired ones,
 * repeating while many of the sample were expired, until max_work samples.
 * Returns the number deleted. */
size_t tc_ks_expire_cycle(tc_keyspace *ks, int64_t now_ms, size_t max_work);

/* Active expiry's sample (node/expire.h): looks at up to n keys with
 * deadlines from this keyspace's cursor on, counting them in *sampled and
 * the expired ones in *expired. An expired key is deleted (take NULL; the
 * key that fills its slot is looked at next) or handed to take (the cursor
 * moves past it; take returning nonzero stops the sample on that key,
 * uncounted). At the last key the walk starts over at the first only if
 * may_wrap; otherwise the sample stops there: a replicated primary, whose
 * reported keys are deleted later by the log, must not meet them twice.
 * Returns why it stopped. */
typedef int (*tc_ks_take_fn)(void *ud, const char *key, size_t klen);
enum { TC_KS_SAMPLE_DONE = 0, TC_KS_SAMPLE_PASS_END = 1, TC_KS_SAMPLE_REFUSED = 2 };
int tc_ks_expire_sample(tc_keyspace *ks, int64_t now_ms, size_t n, int may_wrap, tc_ks_take_fn take, void *ud,
                        size_t *sampled, size_t *expired);

/* Moves up to n buckets of an ongoing rehash; returns 1 if more remain. */
int tc_ks_rehash_step(tc_keyspace *ks, size_t n);

/* SHA-1 based, order-independent digest of every live key, its type, value
 * and deadline; all zeros for an empty keyspace (as Redis's DEBUG DIGEST).
 * The value's part comes from its type (types/types.h); for strings the
 * digest is the one tricache has always computed. */
void tc_ks_digest(tc_keyspace *ks, int64_t now_ms, unsigned char out[20]);

/* DEBUG DIGEST of numbered databases dbs[0..n): database 0's own digest
 * (so a keyspace with keys in database 0 only digests as it always has),
 * then, for each other non-empty database i in order,
 * out = SHA-1(out || u32 i (little-endian) || digest of database i): the
 * same keys in another database give another digest, as in Redis. */
void tc_ks_digest_dbs(tc_keyspace *dbs, int n, int64_t now_ms, unsigned char out[20]);

/* FLUSHDB ASYNC / a big FLUSHALL: empties ks at once (as tc_ks_flush) and
 * frees the old keys on the lazyfree thread when there are many. */
void tc_ks_flush_lazy(tc_keyspace *ks);

/* SWAPDB: exchanges the keys of a and b; each keeps its counters (hits,
 * misses, expired_keys are the node's, summed over databases). */
void tc_ks_swap(tc_keyspace *a, tc_keyspace *b);

/* Bytes k takes: its header, name and value (not malloc's rounding, not
 * the bucket pointer). */
size_t tc_ks_key_memory(const tc_key *k);
/* What a key counts for in tc_keyspace.mem: tc_ks_key_memory plus
 * TC_KEY_OVERHEAD for malloc's chunk header and the bucket pointer. */
#define TC_KEY_OVERHEAD 16
static inline size_t tc_ks_key_cost(const tc_key *k) { return tc_ks_key_memory(k) + TC_KEY_OVERHEAD; }
/* A command changed k's value in place (a hash grew, a list shrank): before
 * is k's cost as tc_ks_key_cost measured it before the change. */
void tc_ks_mem_adjust(tc_keyspace *ks, const tc_key *k, size_t before);
/* Counts tc_keyspace.mem again from every key (after loading values that
 * were filled in place outside a command: an image, a staged restore). */
void tc_ks_mem_recount(tc_keyspace *ks);
/* Bytes of the keyspace's own tables (buckets, the deadline index). */
size_t tc_ks_table_memory(const tc_keyspace *ks);

/* A key drawn at random for eviction (r: any random word; the caller's
 * randomness), expired or not; volatile_only: among keys with a deadline.
 * NULL when there is none. Cheap: one bucket probe per call on average. */
tc_key *tc_ks_sample(tc_keyspace *ks, uint64_t r, int volatile_only);

/* ---- access bits ---------------------------------------------------------
 * Every keyspace stamps keys with one process-wide clock, cached like
 * Redis's server.lruclock: the node refreshes it hz times a second
 * (tc_lru_clock_update from its cron). Until the first update it reads the
 * real time. */
void tc_lru_clock_update(int64_t unix_ms);
/* The cached clock: unix seconds modulo 2^24. */
uint32_t tc_lru_clock(void);
/* Stamps an access to k (LRU clock, or LFU counter increment). */
void tc_ks_touch(tc_keyspace *ks, tc_key *k);
/* LRU: milliseconds since k's last access, at the clock's resolution
 * (Redis's estimateObjectIdleTime; OBJECT IDLETIME is this / 1000). */
uint64_t tc_key_idle_ms(const tc_key *k);
/* LFU: k's counter after the decay for the time since its last access,
 * without counting an access (OBJECT FREQ), with the default decay time
 * (tc_ks_lfu_count: with the keyspace's). */
unsigned tc_key_lfu_count(const tc_key *k);
unsigned tc_ks_lfu_count(const tc_keyspace *ks, const tc_key *k);
/* Redis's LFULogIncr: counter after one more access, given r uniform in
 * [0, 1) (exposed for the unit tests of the arithmetic). */
uint32_t tc_lfu_log_incr(uint32_t counter, uint32_t log_factor, double r);
/* Redis's LFUDecrAndReturn: counter less one per decay_minutes elapsed. */
uint32_t tc_lfu_decay(uint32_t counter, uint32_t elapsed_minutes, uint32_t decay_minutes);

#endif
