#include "keyspace.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "progress.h"
#include "lazyfree.h"
#include "types/types.h"

#define KS_INITIAL_SIZE 16
#define KEY_HEADER offsetof(tc_key, data)
/* 29 bytes before the access bits. glibc hands out chunks of 16 bytes, so
 * the 3 they add cost a string key 16 bytes only when its name and value
 * together are 9, 10 or 11 bytes past a multiple of 16; 1M keys of 100-byte
 * values (bench/node.sh) still take 168 bytes each. */
_Static_assert(KEY_HEADER == 32, "a key's header is 32 bytes");
/* tc_ks_expire_cycle (tests' simple cycle): keep sampling while more than a
 * quarter of a sample was expired. */
#define EXPIRE_SAMPLE 20

/* ---- hashing -------------------------------------------------------------
 * Keys come from clients, so the hash is seeded per process to make bucket
 * collisions unpredictable. 128-bit multiply-fold mixing: fast on 64-bit
 * machines and every input bit reaches every output bit. */

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t hash_key(const tc_keyspace *ks, const char *key, size_t len)
{
    const uint64_t k1 = 0xa0761d6478bd642full, k2 = 0xe7037ed1a0b428dbull;
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = ks->seed[0] ^ mix(len ^ k1, ks->seed[1] ^ k2);
    while (len >= 16) {
        h = mix(load64(p) ^ k1 ^ h, load64(p + 8) ^ k2);
        p += 16;
        len -= 16;
    }
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        a = load64(p);
        len -= 8;
        p += 8;
        memcpy(&b, p, len);
    } else {
        memcpy(&a, p, len);
    }
    return mix(mix(a ^ k1 ^ h, b ^ k2 ^ ks->seed[1]), k1 ^ (uint64_t)len);
}

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static uint64_t rng_next(tc_keyspace *ks) { return xorshift(&ks->rng); }

/* ---- access bits ---------------------------------------------------------- */

static int64_t clock_ms; /* 0: never updated, read the real time */

void tc_lru_clock_update(int64_t unix_ms) { clock_ms = unix_ms; }

static int64_t clock_now_ms(void)
{
    if (clock_ms) return clock_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t tc_lru_clock(void) { return (uint32_t)(clock_now_ms() / TC_LRU_CLOCK_RESOLUTION_MS) & TC_LRU_CLOCK_MAX; }

uint64_t tc_key_idle_ms(const tc_key *k)
{
    uint32_t now = tc_lru_clock(), then = k->lru;
    uint64_t ticks = now >= then ? now - then : now + (TC_LRU_CLOCK_MAX - then);
    return ticks * TC_LRU_CLOCK_RESOLUTION_MS;
}

/* LFU: the access time half of the bits, unix minutes modulo 2^16. */
static uint32_t lfu_minutes(void) { return (uint32_t)(clock_now_ms() / 60000) & 0xffff; }

static uint32_t lfu_minutes_since(uint32_t then)
{
    uint32_t now = lfu_minutes();
    return now >= then ? now - then : 65535 - then + now;
}

uint32_t tc_lfu_decay(uint32_t counter, uint32_t elapsed_minutes, uint32_t decay_minutes)
{
    uint32_t periods = decay_minutes ? elapsed_minutes / decay_minutes : 0;
    return periods > counter ? 0 : counter - periods;
}

unsigned tc_key_lfu_count(const tc_key *k)
{
    return tc_lfu_decay(k->lru & 0xff, lfu_minutes_since(k->lru >> 8), TC_LFU_DECAY_MINUTES);
}

unsigned tc_ks_lfu_count(const tc_keyspace *ks, const tc_key *k)
{
    return tc_lfu_decay(k->lru & 0xff, lfu_minutes_since(k->lru >> 8), ks->lfu_decay_minutes);
}

/* Redis's LFULogIncr: the busier a key already is, the less likely one
 * more access counts; 255 is the ceiling. */
uint32_t tc_lfu_log_incr(uint32_t counter, uint32_t log_factor, double r)
{
    if (counter == 255) return 255;
    double base = counter > TC_LFU_INIT_VAL ? counter - TC_LFU_INIT_VAL : 0;
    return r < 1.0 / (base * log_factor + 1) ? counter + 1 : counter;
}

static uint32_t lfu_log_incr(tc_keyspace *ks, uint32_t counter)
{
    double r = (double)(xorshift(&ks->lfu_rng) >> 11) / (double)(1ull << 53);
    return tc_lfu_log_incr(counter, ks->lfu_log_factor, r);
}

static uint32_t first_stamp(const tc_keyspace *ks)
{
    return ks->lfu ? (lfu_minutes() << 8) | TC_LFU_INIT_VAL : tc_lru_clock();
}

void tc_ks_touch(tc_keyspace *ks, tc_key *k)
{
    uint32_t v = ks->lfu ? (lfu_minutes() << 8) | lfu_log_incr(ks, tc_ks_lfu_count(ks, k)) : tc_lru_clock();
    /* Written only when it changes: a key read while a forked child holds
     * the keyspace copies its page at most once per tick. */
    if (k->lru != v) k->lru = v;
}

/* ---- volatile set ------------------------------------------------------- */

static int volatile_add(tc_keyspace *ks, tc_key *k)
{
    if (ks->nvolatile == ks->volatile_cap) {
        size_t cap = ks->volatile_cap ? ks->volatile_cap * 2 : 64;
        tc_key **v = realloc(ks->volatile_keys, cap * sizeof *v);
        if (!v) return -1;
        ks->volatile_keys = v;
        ks->volatile_cap = cap;
    }
    k->volatile_idx = (uint32_t)ks->nvolatile;
    ks->volatile_keys[ks->nvolatile++] = k;
    return 0;
}

static void volatile_remove(tc_keyspace *ks, tc_key *k)
{
    size_t i = k->volatile_idx;
    tc_key *last = ks->volatile_keys[--ks->nvolatile];
    ks->volatile_keys[i] = last;
    last->volatile_idx = (uint32_t)i;
}

/* ---- table management --------------------------------------------------- */

static int is_rehashing(const tc_keyspace *ks) { return ks->rehash_idx >= 0; }
static void maybe_resize(tc_keyspace *ks);

void tc_ks_init(tc_keyspace *ks, uint64_t seed0, uint64_t seed1)
{
    memset(ks, 0, sizeof *ks);
    ks->rehash_idx = -1;
    ks->seed[0] = seed0;
    ks->seed[1] = seed1;
    ks->rng = (seed0 ^ seed1) | 1;
    ks->lfu_rng = (seed0 + 0x9e3779b97f4a7c15ull * (seed1 | 1)) | 1;
    ks->lazy_delete = 1;
    ks->lfu_log_factor = TC_LFU_LOG_FACTOR;
    ks->lfu_decay_minutes = TC_LFU_DECAY_MINUTES;
    tc_enc_limits_default(&ks->enc);
}

void tc_enc_limits_default(tc_enc_limits *l)
{
    *l = (tc_enc_limits){.hash_max_listpack_entries = 512,
                         .hash_max_listpack_value = 64,
                         .zset_max_listpack_entries = 128,
                         .zset_max_listpack_value = 64,
                         .set_max_intset_entries = 512,
                         .set_max_listpack_entries = 128,
                         .set_max_listpack_value = 64,
                         .list_max_listpack_size = -2};
}

void tc_ks_init_like(tc_keyspace *ks, const tc_keyspace *model)
{
    tc_ks_init(ks, model->seed[0], model->seed[1]);
    ks->lazy_delete = model->lazy_delete;
    ks->lfu = model->lfu;
    ks->enc = model->enc;
    ks->lfu_log_factor = model->lfu_log_factor;
    ks->lfu_decay_minutes = model->lfu_decay_minutes;
}

/* Frees a key and, for a pointer encoding, its value. */
static void free_key(tc_key *k)
{
    if (!tc_key_is_inline(k)) {
        const tc_type_ops *ops = tc_key_type(k);
        if (ops && ops->free_value) ops->free_value(k);
    }
    /* a big string's block is kept for the next big value (common.h) */
    if (tc_key_is_inline(k) && k->vlen >= TC_BIG_ALLOC_MIN) tc_big_free(k);
    else free(k);
}

static void free_table(tc_key **t, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        tc_key *k = t[i];
        while (k) {
            tc_key *n = k->next;
            free_key(k);
            k = n;
        }
    }
    free(t);
}

void tc_ks_free(tc_keyspace *ks)
{
    for (int t = 0; t < 2; t++)
        if (ks->table[t]) free_table(ks->table[t], ks->size[t]);
    free(ks->volatile_keys);
    ks->table[0] = ks->table[1] = NULL;
    ks->size[0] = ks->size[1] = ks->used[0] = ks->used[1] = 0;
    ks->mem = 0;
    ks->volatile_keys = NULL;
    ks->nvolatile = ks->volatile_cap = 0;
    ks->rehash_idx = -1;
}

void tc_ks_flush(tc_keyspace *ks)
{
    tc_keyspace old = *ks; /* settings and counters only: its tables are freed next */
    tc_ks_free(ks);
    tc_ks_init_like(ks, &old);
    ks->rng = old.rng;
    ks->lfu_rng = old.lfu_rng;
    ks->expired_keys = old.expired_keys;
    ks->hits = old.hits;
    ks->misses = old.misses;
    ks->events = old.events;
}

size_t tc_ks_size(const tc_keyspace *ks) { return ks->used[0] + ks->used[1]; }
size_t tc_ks_volatile_count(const tc_keyspace *ks) { return ks->nvolatile; }

/* Starts a rehash into a table of new_size buckets. On allocation failure the
 * table simply stays as it is: a full table is slower, not wrong. */
static void start_rehash(tc_keyspace *ks, size_t new_size)
{
    tc_key **t = calloc(new_size, sizeof *t);
    if (!t) return;
    if (!ks->table[0]) {
        ks->table[0] = t;
        ks->size[0] = new_size;
        return;
    }
    ks->table[1] = t;
    ks->size[1] = new_size;
    ks->used[1] = 0;
    ks->rehash_idx = 0;
}

int tc_ks_rehash_step(tc_keyspace *ks, size_t n)
{
    if (!is_rehashing(ks)) return 0;
    size_t empty_visits = n * 10; /* bound the work on sparse tables */
    while (n > 0 && ks->used[0] > 0) {
        while (ks->table[0][ks->rehash_idx] == NULL) {
            ks->rehash_idx++;
            if (--empty_visits == 0) return 1;
        }
        tc_key *k = ks->table[0][ks->rehash_idx];
        while (k) {
            tc_key *next = k->next;
            size_t b = hash_key(ks, k->data, k->klen) & (ks->size[1] - 1);
            k->next = ks->table[1][b];
            ks->table[1][b] = k;
            ks->used[0]--;
            ks->used[1]++;
            k = next;
        }
        ks->table[0][ks->rehash_idx] = NULL;
        ks->rehash_idx++;
        n--;
    }
    if (ks->used[0] == 0) {
        free(ks->table[0]);
        ks->table[0] = ks->table[1];
        ks->size[0] = ks->size[1];
        ks->used[0] = ks->used[1];
        ks->table[1] = NULL;
        ks->size[1] = ks->used[1] = 0;
        ks->rehash_idx = -1;
        /* Keys may have come or gone while moving: maybe resize again. */
        maybe_resize(ks);
        return is_rehashing(ks);
    }
    return 1;
}

/* Grows at load factor 1 and shrinks below 1/8, one step at a time. */
static void maybe_resize(tc_keyspace *ks)
{
    if (is_rehashing(ks)) return;
    size_t used = ks->used[0], size = ks->size[0];
    if (size == 0) {
        start_rehash(ks, KS_INITIAL_SIZE);
    } else if (used >= size) {
        start_rehash(ks, size * 2);
    } else if (size > KS_INITIAL_SIZE && used < size / 8) {
        size_t target = KS_INITIAL_SIZE;
        while (target < used * 2) target *= 2;
        start_rehash(ks, target);
    }
}

/* Returns the link pointing at the entry for key (or NULL if absent). */
static tc_key **find_link(tc_keyspace *ks, const char *key, size_t klen, uint64_t h)
{
    tc_progress_tick(); /* many lookups in one command are progress */
    for (int t = 0; t < 2; t++) {
        if (!ks->table[t]) break;
        size_t b = h & (ks->size[t] - 1);
        if (t == 0 && is_rehashing(ks) && (int64_t)b < ks->rehash_idx) continue; /* moved already */
        tc_key **link = &ks->table[t][b];
        while (*link) {
            tc_key *k = *link;
            if (k->klen == klen && memcmp(k->data, key, klen) == 0) return link;
            link = &k->next;
        }
    }
    return NULL;
}

static void unlink_key(tc_keyspace *ks, tc_key **link, tc_key *k)
{
    /* Which table holds it: a key whose old bucket was moved is in table[1];
     * one whose old bucket was not moved yet is in table[0] unless it was
     * created since the rehash began (insert puts new keys in table[1]), so
     * that case looks in its table[1] chain (before unlinking). */
    int t = 0;
    if (is_rehashing(ks)) {
        uint64_t h = hash_key(ks, k->data, k->klen);
        size_t b0 = h & (ks->size[0] - 1);
        if ((int64_t)b0 < ks->rehash_idx) {
            t = 1;
        } else {
            for (const tc_key *x = ks->table[1][h & (ks->size[1] - 1)]; x; x = x->next)
                if (x == k) {
                    t = 1;
                    break;
                }
        }
    }
    *link = k->next;
    ks->used[t]--;
    if (k->expire_at) volatile_remove(ks, k);
}

static int expired(const tc_key *k, int64_t now_ms) { return k->expire_at && k->expire_at <= now_ms; }

static void mem_sub(tc_keyspace *ks, size_t n) { ks->mem = ks->mem > n ? ks->mem - n : 0; }

void tc_ks_mem_adjust(tc_keyspace *ks, const tc_key *k, size_t before)
{
    size_t now = tc_ks_key_cost(k);
    if (now >= before) ks->mem += now - before;
    else mem_sub(ks, before - now);
}

static void add_cost(void *ud, tc_key *k) { *(uint64_t *)ud += tc_ks_key_cost(k); }

void tc_ks_mem_recount(tc_keyspace *ks)
{
    uint64_t n = 0;
    tc_ks_walk(ks, add_cost, &n);
    ks->mem = n;
}

size_t tc_ks_table_memory(const tc_keyspace *ks)
{
    return (ks->size[0] + ks->size[1]) * sizeof(tc_key *) + ks->volatile_cap * sizeof(tc_key *);
}

static void delete_link(tc_keyspace *ks, tc_key **link)
{
    tc_key *k = *link;
    mem_sub(ks, tc_ks_key_cost(k));
    unlink_key(ks, link, k);
    free_key(k);
    maybe_resize(ks);
}

/* Deletes a key whose deadline passed, counts it and tells the owner (its
 * name is copied first: the key's memory goes with it). */
static void delete_expired(tc_keyspace *ks, tc_key **link)
{
    tc_key *k = *link;
    size_t klen = k->klen;
    char small[128], *name = NULL;
    if (ks->events.expired) { /* out of memory for a long name: the event is lost, the key still goes */
        name = klen <= sizeof small ? small : malloc(klen);
        if (name) memcpy(name, k->data, klen);
    }
    delete_link(ks, link);
    ks->expired_keys++;
    if (name) ks->events.expired(&ks->events, name, klen);
    if (name != small) free(name);
}

static tc_key *lookup(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    if (tc_ks_size(ks) == 0) return NULL;
    tc_ks_rehash_step(ks, 1);
    tc_key **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link) return NULL;
    if (expired(*link, now_ms)) {
        if (ks->lazy_delete) delete_expired(ks, link);
        return NULL;
    }
    return *link;
}

tc_key *tc_ks_peek(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    tc_key *k = lookup(ks, key, klen, now_ms);
    if (!k && ks->events.missed) ks->events.missed(&ks->events, key, klen);
    return k;
}

tc_key *tc_ks_find(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    tc_key *k = tc_ks_peek(ks, key, klen, now_ms);
    if (k) tc_ks_touch(ks, k);
    if (ks->counting_reads) {
        if (k) ks->hits++;
        else ks->misses++;
    }
    return k;
}

/* A key's header, but for its name's length: an empty inline string, not
 * linked, no deadline, stamped now. */
static void init_header(const tc_keyspace *ks, tc_key *k)
{
    k->next = NULL;
    k->expire_at = 0;
    k->vlen = 0;
    k->volatile_idx = 0;
    k->type = TC_TYPE_STRING;
    k->encoding = TC_ENC_INLINE;
    k->lru = first_stamp(ks);
}

/* A new key named key with payload bytes after the name, stamped. */
static tc_key *alloc_key(const tc_keyspace *ks, const char *key, size_t klen, size_t payload)
{
    size_t size = KEY_HEADER + klen + payload;
    tc_key *k = payload >= TC_BIG_ALLOC_MIN ? tc_big_malloc(size) : malloc(size);
    if (!k) return NULL;
    init_header(ks, k);
    k->klen = (uint32_t)klen;
    memcpy(k->data, key, klen);
    return k;
}

static void count_new(tc_keyspace *ks, const tc_key *k)
{
    size_t cost = tc_ks_key_cost(k);
    ks->mem += cost;
    if (!tc_key_is_inline(k) && ks->nborn < 4) {
        ks->born[ks->nborn] = k;
        ks->born_cost[ks->nborn++] = cost;
    }
}

/* Puts the new key k (not yet linked) in the table with its deadline,
 * replacing (and freeing) a key of the same name. NULL when out of memory:
 * k is freed then, without its value. */
static tc_key *insert(tc_keyspace *ks, tc_key *k, int64_t expire_at)
{
    if (expire_at) {
        k->expire_at = expire_at;
        if (volatile_add(ks, k) != 0) {
            free(k);
            return NULL;
        }
    }
    tc_ks_rehash_step(ks, 1);
    uint64_t h = hash_key(ks, k->data, k->klen);
    tc_key **link = tc_ks_size(ks) ? find_link(ks, k->data, k->klen, h) : NULL;
    if (link) {
        /* Replace in place in the chain; the table counts stay the same. */
        tc_key *old = *link;
        k->next = old->next;
        *link = k;
        if (old->expire_at) volatile_remove(ks, old);
        mem_sub(ks, tc_ks_key_cost(old));
        count_new(ks, k);
        if (ks->events.added) ks->events.added(&ks->events, k->data, k->klen, old);
        free_key(old);
        return k;
    }
    count_new(ks, k);
    maybe_resize(ks);
    int t = is_rehashing(ks) ? 1 : 0;
    size_t b = h & (ks->size[t] - 1);
    k->next = ks->table[t][b];
    ks->table[t][b] = k;
    ks->used[t]++;
    if (ks->events.added) ks->events.added(&ks->events, k->data, k->klen, NULL);
    return k;
}

void *tc_ks_adopt_block(const char *key, size_t klen, size_t vlen)
{
    if (klen > UINT32_MAX || vlen > UINT32_MAX) return NULL;
    tc_key *k = tc_big_malloc(KEY_HEADER + klen + vlen);
    if (!k) return NULL;
    k->klen = (uint32_t)klen;
    memcpy(k->data, key, klen);
    return k;
}

char *tc_ks_adopt_value(void *block)
{
    tc_key *k = block;
    return k->data + k->klen;
}

tc_key *tc_ks_set_adopted(tc_keyspace *ks, void *block, size_t vlen, int64_t expire_at)
{
    tc_key *k = block;
    init_header(ks, k); /* named by tc_ks_adopt_block */
    k->vlen = (uint32_t)vlen;
    return insert(ks, k, expire_at);
}

tc_key *tc_ks_set(tc_keyspace *ks, const char *key, size_t klen, const char *val, size_t vlen,
                  int64_t expire_at)
{
    if (klen > UINT32_MAX || vlen > UINT32_MAX) return NULL;
    tc_key *k = alloc_key(ks, key, klen, vlen);
    if (!k) return NULL;
    k->vlen = (uint32_t)vlen;
    memcpy(k->data + klen, val, vlen);
    return insert(ks, k, expire_at);
}

tc_key *tc_ks_set_pointer(tc_keyspace *ks, const char *key, size_t klen, unsigned type, unsigned encoding,
                          void *value, int64_t expire_at)
{
    if (klen > UINT32_MAX || type > TC_TYPE_MAX || encoding < TC_ENC_FIRST_POINTER || encoding > 15) return NULL;
    tc_key *k = alloc_key(ks, key, klen, sizeof value);
    if (!k) return NULL;
    k->type = type & 15;
    k->encoding = encoding & 15;
    memcpy(k->data + klen, &value, sizeof value);
    return insert(ks, k, expire_at);
}

tc_key *tc_ks_rename(tc_keyspace *ks, tc_key *k, const char *dst, size_t dlen)
{
    if (dlen > UINT32_MAX) return NULL;
    if (dlen == k->klen && memcmp(dst, k->data, dlen) == 0) return k;
    size_t payload = tc_key_is_inline(k) ? k->vlen : sizeof(void *);
    tc_key *n = alloc_key(ks, dst, dlen, payload);
    if (!n) return NULL;
    n->vlen = k->vlen;
    n->type = k->type;
    n->encoding = k->encoding;
    n->lru = k->lru;
    memcpy(n->data + dlen, k->data + k->klen, payload);
    /* The value now belongs to n: k goes without freeing it. Inserting
     * may move k to the other table but never frees or moves it in memory. */
    const char *src = k->data;
    size_t slen = k->klen;
    if (!insert(ks, n, k->expire_at)) return NULL;
    tc_key **link = find_link(ks, src, slen, hash_key(ks, src, slen));
    mem_sub(ks, tc_ks_key_cost(k));
    unlink_key(ks, link, k);
    free(k);
    maybe_resize(ks);
    return n;
}

tc_key *tc_ks_move(tc_keyspace *from, tc_key *k, tc_keyspace *to)
{
    size_t payload = tc_key_is_inline(k) ? k->vlen : sizeof(void *);
    tc_key *n = alloc_key(to, k->data, k->klen, payload);
    if (!n) return NULL;
    n->vlen = k->vlen;
    n->type = k->type;
    n->encoding = k->encoding;
    n->lru = k->lru;
    memcpy(n->data + k->klen, k->data + k->klen, payload);
    if (!insert(to, n, k->expire_at)) return NULL;
    /* the value belongs to n now: k goes without freeing it */
    tc_key **link = find_link(from, k->data, k->klen, hash_key(from, k->data, k->klen));
    mem_sub(from, tc_ks_key_cost(k)); /* counted in `to` now (insert) */
    unlink_key(from, link, k);
    free(k);
    maybe_resize(from);
    return n;
}

tc_key *tc_ks_resize(tc_keyspace *ks, tc_key *k, size_t new_vlen)
{
    if (new_vlen > UINT32_MAX || !tc_key_is_inline(k)) return NULL;
    tc_key **link = find_link(ks, k->data, k->klen, hash_key(ks, k->data, k->klen));
    size_t before = tc_ks_key_cost(k);
    tc_key *n = realloc(k, KEY_HEADER + k->klen + new_vlen);
    if (!n) return NULL;
    n->vlen = (uint32_t)new_vlen;
    tc_ks_mem_adjust(ks, n, before);
    *link = n;
    if (n->expire_at) ks->volatile_keys[n->volatile_idx] = n;
    return n;
}

void tc_ks_set_expire(tc_keyspace *ks, tc_key *k, int64_t expire_at)
{
    if (k->expire_at && !expire_at) {
        volatile_remove(ks, k);
    } else if (!k->expire_at && expire_at) {
        /* Out of memory here would leave a deadline no sampler sees; lazy
         * expiry still hides the key, so the deadline is kept regardless. */
        if (volatile_add(ks, k) != 0) {
            k->expire_at = expire_at;
            return;
        }
    }
    k->expire_at = expire_at;
}

int tc_ks_delete(tc_keyspace *ks, const char *key, size_t klen)
{
    if (tc_ks_size(ks) == 0) return 0;
    tc_key **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link) return 0;
    delete_link(ks, link);
    return 1;
}

int tc_ks_delete_if_expired(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    if (tc_ks_size(ks) == 0) return 0;
    tc_key **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link || !expired(*link, now_ms)) return 0;
    delete_expired(ks, link);
    return 1;
}

/* Asks the cache for the bucket slots of hash h in both tables. */
static void prefetch_slots(const tc_keyspace *ks, uint64_t h)
{
    for (int t = 0; t < 2; t++)
        if (ks->table[t]) __builtin_prefetch(&ks->table[t][h & (ks->size[t] - 1)]);
}

/* Then for the first key of each chain (the slots are in the cache by now):
 * a key's chain is short (load factor at most 1), so that is usually it. */
static void prefetch_heads(const tc_keyspace *ks, uint64_t h)
{
    for (int t = 0; t < 2; t++) {
        if (!ks->table[t]) continue;
        const tc_key *k = ks->table[t][h & (ks->size[t] - 1)];
        if (k) __builtin_prefetch(k);
    }
}

uint64_t tc_ks_prefetch_slots(const tc_keyspace *ks, const char *key, size_t klen)
{
    uint64_t h = hash_key(ks, key, klen);
    prefetch_slots(ks, h);
    return h;
}

void tc_ks_prefetch_heads(const tc_keyspace *ks, uint64_t h) { prefetch_heads(ks, h); }

size_t tc_ks_delete_expired_batch(tc_keyspace *ks, const char *const *keys, const size_t *lens, size_t n,
                                  int64_t now_ms)
{
    size_t deleted = 0;
    uint64_t h[TC_KS_DELETE_BATCH];
    for (size_t base = 0; base < n && tc_ks_size(ks) > 0; base += TC_KS_DELETE_BATCH) {
        size_t m = n - base < TC_KS_DELETE_BATCH ? n - base : TC_KS_DELETE_BATCH;
        /* Prefetches are hints: a delete below may start a resize, and the
         * later keys are then simply looked up in the new layout. */
        for (size_t i = 0; i < m; i++) {
            h[i] = hash_key(ks, keys[base + i], lens[base + i]);
            prefetch_slots(ks, h[i]);
        }
        for (size_t i = 0; i < m; i++) prefetch_heads(ks, h[i]);
        for (size_t i = 0; i < m && tc_ks_size(ks) > 0; i++) {
            tc_key **link = find_link(ks, keys[base + i], lens[base + i], h[i]);
            if (!link || !expired(*link, now_ms)) continue;
            delete_expired(ks, link);
            deleted++;
        }
    }
    return deleted;
}

tc_key *tc_ks_random(tc_keyspace *ks, int64_t now_ms)
{
    /* Bounded attempts: a keyspace full of expired-but-unreaped keys must not
     * spin forever; NULL then means "nothing live found quickly". */
    for (int attempt = 0; attempt < 100 && tc_ks_size(ks) > 0; attempt++) {
        tc_key *k = NULL;
        while (!k) {
            size_t total = ks->size[0] + ks->size[1];
            size_t i = rng_next(ks) % total;
            if (i < ks->size[0]) {
                if (is_rehashing(ks) && (int64_t)i < ks->rehash_idx) continue;
                k = ks->table[0][i];
            } else {
                k = ks->table[1][i - ks->size[0]];
            }
        }
        size_t len = 0;
        for (tc_key *x = k; x; x = x->next) len++;
        size_t pick = rng_next(ks) % len;
        while (pick--) k = k->next;
        if (!expired(k, now_ms)) return k;
        if (ks->lazy_delete) delete_expired(ks, find_link(ks, k->data, k->klen, hash_key(ks, k->data, k->klen)));
    }
    return NULL;
}

tc_key *tc_ks_sample(tc_keyspace *ks, uint64_t r, int volatile_only)
{
    if (volatile_only) return ks->nvolatile ? ks->volatile_keys[r % ks->nvolatile] : NULL;
    if (tc_ks_size(ks) == 0) return NULL;
    /* The buckets that can hold keys: table[0] from the rehash position on
     * (those before it were moved and are empty: starting among them would
     * walk all of them), then table[1]. Probe from a random one on, skipping
     * empty ones (a few on average: the table is at least 1/8 full), then
     * take a random key of the chain found. */
    size_t lo = is_rehashing(ks) ? (size_t)ks->rehash_idx : 0;
    size_t span0 = ks->size[0] > lo ? ks->size[0] - lo : 0, total = span0 + ks->size[1];
    if (total == 0) return NULL;
    size_t start = (size_t)(r % total);
    for (size_t n = 0; n < total; n++) {
        size_t j = start + n < total ? start + n : start + n - total;
        tc_key *k = j < span0 ? ks->table[0][lo + j] : ks->table[1][j - span0];
        if (!k) continue;
        size_t len = 0;
        for (tc_key *x = k; x; x = x->next) len++;
        for (size_t pick = (size_t)((r >> 32) % len); pick; pick--) k = k->next;
        return k;
    }
    return NULL;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    return __builtin_bswap64(v);
}

static void scan_bucket(tc_key *k, tc_ks_scan_fn fn, void *ud)
{
    while (k) {
        tc_key *next = k->next; /* fn may not delete, but be safe on reads */
        fn(ud, k);
        k = next;
    }
}

/* Reverse-binary cursor iteration (as in Redis's dictScan): incrementing the
 * high bits first means buckets already visited map onto visited buckets of a
 * table twice as large or half as small, so resizes lose no key. */
uint64_t tc_ks_scan(tc_keyspace *ks, uint64_t v, tc_ks_scan_fn fn, void *ud)
{
    if (tc_ks_size(ks) == 0 || !ks->table[0]) return 0;
    if (!is_rehashing(ks)) {
        uint64_t m0 = ks->size[0] - 1;
        scan_bucket(ks->table[0][v & m0], fn, ud);
        v |= ~m0;
        v = rev64(v);
        v++;
        return rev64(v);
    }
    /* Rehashing: visit the small table's bucket, then every bucket of the
     * large table that it expands to. */
    int small = ks->size[0] <= ks->size[1] ? 0 : 1, large = 1 - small;
    uint64_t m0 = ks->size[small] - 1, m1 = ks->size[large] - 1;
    uint64_t b = v & m0;
    if (!(small == 0 && (int64_t)b < ks->rehash_idx)) scan_bucket(ks->table[small][b], fn, ud);
    do {
        uint64_t b1 = v & m1;
        if (!(large == 0 && (int64_t)b1 < ks->rehash_idx)) scan_bucket(ks->table[large][b1], fn, ud);
        v |= ~m1;
        v = rev64(v);
        v++;
        v = rev64(v);
    } while (v & (m0 ^ m1));
    return v;
}

/* Buckets ahead of the walk whose first key is fetched early: enough to
 * cover a miss at the walk's pace, few enough to stay in the cache. */
#define WALK_AHEAD 16

void tc_ks_walk(const tc_keyspace *ks, tc_ks_scan_fn fn, void *ud)
{
    /* while rehashing, table[0]'s buckets before rehash_idx are empty (their
     * keys were moved to table[1]), so walking both tables whole sees each
     * key once */
    for (int t = 0; t < 2; t++) {
        tc_key *const *table = ks->table[t];
        size_t size = table ? ks->size[t] : 0;
        for (size_t b = 0; b < size; b++) {
            tc_progress_tick(); /* KEYS nomatch* over many keys replies nothing until the end */
            if (b + WALK_AHEAD < size && table[b + WALK_AHEAD]) __builtin_prefetch(table[b + WALK_AHEAD]);
            for (tc_key *k = table[b]; k;) {
                tc_key *next = k->next;
                fn(ud, k);
                k = next;
            }
        }
    }
}

size_t tc_ks_expire_cycle(tc_keyspace *ks, int64_t now_ms, size_t max_work)
{
    size_t deleted = 0, work = 0;
    while (ks->nvolatile > 0 && work < max_work) {
        size_t sampled, found;
        size_t want = ks->nvolatile < EXPIRE_SAMPLE ? ks->nvolatile : EXPIRE_SAMPLE;
        tc_ks_expire_sample(ks, now_ms, want, 1, NULL, NULL, &sampled, &found);
        work += sampled;
        deleted += found;
        if (found * 4 <= sampled) break; /* under 25% stale: good enough */
    }
    return deleted;
}

int tc_ks_expire_sample(tc_keyspace *ks, int64_t now_ms, size_t n, int may_wrap, tc_ks_take_fn take, void *ud,
                        size_t *sampled, size_t *expired)
{
    *sampled = *expired = 0;
    while (*sampled < n && ks->nvolatile > 0) {
        if (ks->expire_cursor >= ks->nvolatile) {
            /* deletes shrink the array under the cursor: past the end is the end */
            if (!may_wrap) return TC_KS_SAMPLE_PASS_END;
            ks->expire_cursor = 0;
        }
        tc_key *k = ks->volatile_keys[ks->expire_cursor];
        /* the walk reads keys in array order but each lives elsewhere: ask
         * for one a few steps ahead, so its miss overlaps this key's work */
        if (ks->expire_cursor + 8 < ks->nvolatile) __builtin_prefetch(ks->volatile_keys[ks->expire_cursor + 8]);
        if (k->expire_at > now_ms) {
            ks->expire_cursor++;
        } else if (!take) {
            /* the last key moves into this slot: the cursor stays on it */
            delete_expired(ks, find_link(ks, k->data, k->klen, hash_key(ks, k->data, k->klen)));
            ++*expired;
        } else {
            if (take(ud, k->data, k->klen) != 0) return TC_KS_SAMPLE_REFUSED;
            ks->expire_cursor++;
            ++*expired;
        }
        ++*sampled;
    }
    return TC_KS_SAMPLE_DONE;
}

static void feed_sha1(void *ud, const void *p, size_t len) { EVP_DigestUpdate(ud, p, len); }

/* Digest per key, combined by XOR so iteration order doesn't matter: the
 * name's length (native u32) and bytes, the type (one byte), the value as
 * its type feeds it (a string: its length as a native u32 and its bytes),
 * the deadline (native i64). The access bits and encoding stay out. */
static void digest_key(EVP_MD_CTX *md, const tc_key *k, unsigned char acc[20])
{
    unsigned char d[20];
    unsigned int dlen = 0;
    uint32_t klen = k->klen;
    uint8_t type = (uint8_t)k->type;
    int64_t exp = k->expire_at;
    const tc_type_ops *ops = tc_key_type(k);
    EVP_DigestInit_ex(md, EVP_sha1(), NULL);
    EVP_DigestUpdate(md, &klen, sizeof klen);
    EVP_DigestUpdate(md, k->data, k->klen);
    EVP_DigestUpdate(md, &type, 1);
    if (ops) ops->digest(k, feed_sha1, md);
    EVP_DigestUpdate(md, &exp, sizeof exp);
    EVP_DigestFinal_ex(md, d, &dlen);
    for (int i = 0; i < 20; i++) acc[i] ^= d[i];
}

typedef struct digest_walk {
    EVP_MD_CTX *md;
    int64_t now_ms;
    unsigned char *acc;
} digest_walk;

static void digest_live_key(void *ud, tc_key *k)
{
    digest_walk *w = ud;
    if (!expired(k, w->now_ms)) digest_key(w->md, k, w->acc);
}

void tc_ks_digest(tc_keyspace *ks, int64_t now_ms, unsigned char out[20])
{
    memset(out, 0, 20);
    digest_walk w = {EVP_MD_CTX_new(), now_ms, out};
    if (!w.md) return;
    tc_ks_walk(ks, digest_live_key, &w);
    EVP_MD_CTX_free(w.md);
}

void tc_ks_digest_dbs(tc_keyspace *dbs, int n, int64_t now_ms, unsigned char out[20])
{
    tc_ks_digest(&dbs[0], now_ms, out);
    for (int i = 1; i < n; i++) {
        if (tc_ks_size(&dbs[i]) == 0) continue;
        unsigned char d[20], id[4];
        tc_ks_digest(&dbs[i], now_ms, d);
        if (!memcmp(d, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20)) continue; /* only expired keys */
        for (int b = 0; b < 4; b++) id[b] = (unsigned char)((unsigned)i >> (8 * b));
        unsigned char buf[44];
        memcpy(buf, out, 20);
        memcpy(buf + 20, id, 4);
        memcpy(buf + 24, d, 20);
        unsigned int len = 20;
        if (EVP_Digest(buf, sizeof buf, out, &len, EVP_sha1(), NULL) != 1) memset(out, 0, 20);
    }
}

/* What a lazy flush hands to the free thread: the old tables. */
typedef struct detached {
    tc_key **table[2];
    size_t size[2];
    tc_key **volatile_keys;
} detached;

static void free_detached(void *p)
{
    detached *d = p;
    for (int t = 0; t < 2; t++)
        if (d->table[t]) free_table(d->table[t], d->size[t]);
    free(d->volatile_keys);
    free(d);
}

void tc_ks_flush_lazy(tc_keyspace *ks)
{
    size_t n = tc_ks_size(ks);
    detached *d = n > TC_LAZYFREE_THRESHOLD ? malloc(sizeof *d) : NULL;
    if (!d) {
        tc_ks_flush(ks);
        return;
    }
    for (int t = 0; t < 2; t++) {
        d->table[t] = ks->table[t];
        d->size[t] = ks->size[t];
        ks->table[t] = NULL;
    }
    d->volatile_keys = ks->volatile_keys;
    ks->volatile_keys = NULL;
    /* the tables are gone from ks: flushing it now frees nothing more */
    tc_ks_flush(ks);
    tc_lazyfree(free_detached, d, n);
}

void tc_ks_swap(tc_keyspace *a, tc_keyspace *b)
{
    tc_keyspace t = *a;
    *a = *b;
    *b = t;
    /* the counters stay where they were: they describe the node */
    uint64_t e = a->expired_keys, h = a->hits, m = a->misses;
    a->expired_keys = b->expired_keys;
    a->hits = b->hits;
    a->misses = b->misses;
    b->expired_keys = e;
    b->hits = h;
    b->misses = m;
    /* so do the hooks: they name the database by its number */
    tc_ks_events ev = a->events;
    a->events = b->events;
    b->events = ev;
}

size_t tc_ks_key_memory(const tc_key *k)
{
    const tc_type_ops *ops = tc_key_type(k);
    size_t value = ops ? ops->memory(k) : (tc_key_is_inline(k) ? k->vlen : sizeof(void *));
    return KEY_HEADER + k->klen + value;
}
