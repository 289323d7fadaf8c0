#include "keyspace.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define KS_INITIAL_SIZE 16
#define ENTRY_HEADER offsetof(tc_entry, data)
/* Expiry: keep sampling while more than a quarter of a sample was expired,
 * like Redis's ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE. */
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

static uint64_t rng_next(tc_keyspace *ks)
{
    uint64_t x = ks->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return ks->rng = x;
}

/* ---- volatile set ------------------------------------------------------- */

static int volatile_add(tc_keyspace *ks, tc_entry *e)
{
    if (ks->nvolatile == ks->volatile_cap) {
        size_t cap = ks->volatile_cap ? ks->volatile_cap * 2 : 64;
        tc_entry **v = realloc(ks->volatile_keys, cap * sizeof *v);
        if (!v) return -1;
        ks->volatile_keys = v;
        ks->volatile_cap = cap;
    }
    e->volatile_idx = (uint32_t)ks->nvolatile;
    ks->volatile_keys[ks->nvolatile++] = e;
    return 0;
}

static void volatile_remove(tc_keyspace *ks, tc_entry *e)
{
    size_t i = e->volatile_idx;
    tc_entry *last = ks->volatile_keys[--ks->nvolatile];
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
    ks->lazy_delete = 1;
}

static void free_table(tc_entry **t, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        tc_entry *e = t[i];
        while (e) {
            tc_entry *n = e->next;
            free(e);
            e = n;
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
    ks->volatile_keys = NULL;
    ks->nvolatile = ks->volatile_cap = 0;
    ks->rehash_idx = -1;
}

void tc_ks_flush(tc_keyspace *ks)
{
    uint64_t s0 = ks->seed[0], s1 = ks->seed[1], rng = ks->rng;
    uint64_t expired = ks->expired_keys, hits = ks->hits, misses = ks->misses;
    int lazy = ks->lazy_delete;
    tc_ks_free(ks);
    tc_ks_init(ks, s0, s1);
    ks->rng = rng;
    ks->lazy_delete = lazy;
    ks->expired_keys = expired;
    ks->hits = hits;
    ks->misses = misses;
}

size_t tc_ks_size(const tc_keyspace *ks) { return ks->used[0] + ks->used[1]; }
size_t tc_ks_volatile_count(const tc_keyspace *ks) { return ks->nvolatile; }

/* Starts a rehash into a table of new_size buckets. On allocation failure the
 * table simply stays as it is: a full table is slower, not wrong. */
static void start_rehash(tc_keyspace *ks, size_t new_size)
{
    tc_entry **t = calloc(new_size, sizeof *t);
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
        tc_entry *e = ks->table[0][ks->rehash_idx];
        while (e) {
            tc_entry *next = e->next;
            size_t b = hash_key(ks, e->data, e->klen) & (ks->size[1] - 1);
            e->next = ks->table[1][b];
            ks->table[1][b] = e;
            ks->used[0]--;
            ks->used[1]++;
            e = next;
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
static tc_entry **find_link(tc_keyspace *ks, const char *key, size_t klen, uint64_t h)
{
    for (int t = 0; t < 2; t++) {
        if (!ks->table[t]) break;
        size_t b = h & (ks->size[t] - 1);
        if (t == 0 && is_rehashing(ks) && (int64_t)b < ks->rehash_idx) continue; /* moved already */
        tc_entry **link = &ks->table[t][b];
        while (*link) {
            tc_entry *e = *link;
            if (e->klen == klen && memcmp(e->data, key, klen) == 0) return link;
            link = &e->next;
        }
    }
    return NULL;
}

static void unlink_entry(tc_keyspace *ks, tc_entry **link, tc_entry *e)
{
    *link = e->next;
    /* Which table held it: entries in table[0] sit at buckets >= rehash_idx. */
    int t = 0;
    if (is_rehashing(ks)) {
        uint64_t h = hash_key(ks, e->data, e->klen);
        size_t b0 = h & (ks->size[0] - 1);
        t = ((int64_t)b0 < ks->rehash_idx) ? 1 : 0;
    }
    ks->used[t]--;
    if (e->expire_at) volatile_remove(ks, e);
}

static int expired(const tc_entry *e, int64_t now_ms) { return e->expire_at && e->expire_at <= now_ms; }

static void delete_link(tc_keyspace *ks, tc_entry **link)
{
    tc_entry *e = *link;
    unlink_entry(ks, link, e);
    free(e);
    maybe_resize(ks);
}

tc_entry *tc_ks_find(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    if (tc_ks_size(ks) == 0) return NULL;
    tc_ks_rehash_step(ks, 1);
    tc_entry **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link) return NULL;
    if (expired(*link, now_ms)) {
        if (ks->lazy_delete) {
            delete_link(ks, link);
            ks->expired_keys++;
        }
        return NULL;
    }
    return *link;
}

static tc_entry *alloc_entry(const char *key, size_t klen, size_t vlen)
{
    tc_entry *e = malloc(ENTRY_HEADER + klen + vlen);
    if (!e) return NULL;
    e->next = NULL;
    e->expire_at = 0;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->volatile_idx = 0;
    e->type = TC_TYPE_STRING;
    memcpy(e->data, key, klen);
    return e;
}

tc_entry *tc_ks_set(tc_keyspace *ks, const char *key, size_t klen, const char *val, size_t vlen,
                    int64_t expire_at)
{
    if (klen > UINT32_MAX || vlen > UINT32_MAX) return NULL;
    tc_entry *e = alloc_entry(key, klen, vlen);
    if (!e) return NULL;
    memcpy(e->data + klen, val, vlen);
    if (expire_at) {
        e->expire_at = expire_at;
        if (volatile_add(ks, e) != 0) {
            free(e);
            return NULL;
        }
    }
    tc_ks_rehash_step(ks, 1);
    uint64_t h = hash_key(ks, key, klen);
    tc_entry **link = tc_ks_size(ks) ? find_link(ks, key, klen, h) : NULL;
    if (link) {
        /* Replace in place in the chain; the table counts stay the same. */
        tc_entry *old = *link;
        e->next = old->next;
        *link = e;
        if (old->expire_at) volatile_remove(ks, old);
        free(old);
        return e;
    }
    maybe_resize(ks);
    int t = is_rehashing(ks) ? 1 : 0;
    size_t b = h & (ks->size[t] - 1);
    e->next = ks->table[t][b];
    ks->table[t][b] = e;
    ks->used[t]++;
    return e;
}

tc_entry *tc_ks_resize(tc_keyspace *ks, tc_entry *e, size_t new_vlen)
{
    if (new_vlen > UINT32_MAX) return NULL;
    tc_entry **link = find_link(ks, e->data, e->klen, hash_key(ks, e->data, e->klen));
    tc_entry *n = realloc(e, ENTRY_HEADER + e->klen + new_vlen);
    if (!n) return NULL;
    n->vlen = (uint32_t)new_vlen;
    *link = n;
    if (n->expire_at) ks->volatile_keys[n->volatile_idx] = n;
    return n;
}

void tc_ks_set_expire(tc_keyspace *ks, tc_entry *e, int64_t expire_at)
{
    if (e->expire_at && !expire_at) {
        volatile_remove(ks, e);
    } else if (!e->expire_at && expire_at) {
        /* Out of memory here would leave a deadline no sampler sees; lazy
         * expiry still hides the key, so the deadline is kept regardless. */
        if (volatile_add(ks, e) != 0) {
            e->expire_at = expire_at;
            return;
        }
    }
    e->expire_at = expire_at;
}

int tc_ks_delete(tc_keyspace *ks, const char *key, size_t klen)
{
    if (tc_ks_size(ks) == 0) return 0;
    tc_entry **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link) return 0;
    delete_link(ks, link);
    return 1;
}

int tc_ks_delete_if_expired(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    if (tc_ks_size(ks) == 0) return 0;
    tc_entry **link = find_link(ks, key, klen, hash_key(ks, key, klen));
    if (!link || !expired(*link, now_ms)) return 0;
    delete_link(ks, link);
    ks->expired_keys++;
    return 1;
}

tc_entry *tc_ks_random(tc_keyspace *ks, int64_t now_ms)
{
    /* Bounded attempts: a keyspace full of expired-but-unreaped keys must not
     * spin forever; NULL then means "nothing live found quickly". */
    for (int attempt = 0; attempt < 100 && tc_ks_size(ks) > 0; attempt++) {
        tc_entry *e = NULL;
        while (!e) {
            size_t total = ks->size[0] + ks->size[1];
            size_t i = rng_next(ks) % total;
            if (i < ks->size[0]) {
                if (is_rehashing(ks) && (int64_t)i < ks->rehash_idx) continue;
                e = ks->table[0][i];
            } else {
                e = ks->table[1][i - ks->size[0]];
            }
        }
        size_t len = 0;
        for (tc_entry *x = e; x; x = x->next) len++;
        size_t pick = rng_next(ks) % len;
        while (pick--) e = e->next;
        if (!expired(e, now_ms)) return e;
        if (ks->lazy_delete) {
            tc_ks_delete(ks, e->data, e->klen);
            ks->expired_keys++;
        }
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

static void scan_bucket(tc_entry *e, tc_ks_scan_fn fn, void *ud)
{
    while (e) {
        tc_entry *next = e->next; /* fn may not delete, but be safe on reads */
        fn(ud, e);
        e = next;
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

size_t tc_ks_expire_cycle(tc_keyspace *ks, int64_t now_ms, size_t max_work)
{
    size_t deleted = 0, work = 0;
    while (ks->nvolatile > 0 && work < max_work) {
        size_t found = 0, sample = ks->nvolatile < EXPIRE_SAMPLE ? ks->nvolatile : EXPIRE_SAMPLE;
        for (size_t i = 0; i < sample && ks->nvolatile > 0; i++) {
            tc_entry *e = ks->volatile_keys[rng_next(ks) % ks->nvolatile];
            if (e->expire_at <= now_ms) {
                tc_ks_delete(ks, e->data, e->klen);
                ks->expired_keys++;
                found++;
            }
        }
        work += sample;
        deleted += found;
        if (found * 4 <= sample) break; /* under 25% stale: good enough */
    }
    return deleted;
}

size_t tc_ks_expired_sample(tc_keyspace *ks, int64_t now_ms, size_t max, tc_ks_key_fn fn, void *ud)
{
    size_t found = 0;
    /* Random probes may repeat a key; a repeat only costs a no-op delete. */
    size_t probes = max * 4;
    for (size_t i = 0; i < probes && found < max && ks->nvolatile > 0; i++) {
        tc_entry *e = ks->volatile_keys[rng_next(ks) % ks->nvolatile];
        if (e->expire_at <= now_ms) {
            fn(ud, e->data, e->klen);
            found++;
        }
    }
    return found;
}

/* Digest per key, combined by XOR so iteration order doesn't matter. */
static void digest_entry(EVP_MD_CTX *md, const tc_entry *e, unsigned char acc[20])
{
    unsigned char d[20];
    unsigned int dlen = 0;
    uint32_t klen = e->klen, vlen = e->vlen;
    int64_t exp = e->expire_at;
    EVP_DigestInit_ex(md, EVP_sha1(), NULL);
    EVP_DigestUpdate(md, &klen, sizeof klen);
    EVP_DigestUpdate(md, e->data, e->klen);
    EVP_DigestUpdate(md, &e->type, 1);
    EVP_DigestUpdate(md, &vlen, sizeof vlen);
    EVP_DigestUpdate(md, e->data + e->klen, e->vlen);
    EVP_DigestUpdate(md, &exp, sizeof exp);
    EVP_DigestFinal_ex(md, d, &dlen);
    for (int i = 0; i < 20; i++) acc[i] ^= d[i];
}

void tc_ks_digest(tc_keyspace *ks, int64_t now_ms, unsigned char out[20])
{
    memset(out, 0, 20);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return;
    for (int t = 0; t < 2; t++) {
        for (size_t b = 0; ks->table[t] && b < ks->size[t]; b++)
            for (tc_entry *e = ks->table[t][b]; e; e = e->next)
                if (!expired(e, now_ms)) digest_entry(md, e, out);
    }
    EVP_MD_CTX_free(md);
}
