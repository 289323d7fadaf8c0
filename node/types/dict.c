/* The member hash table of hashes, sets and sorted sets: see dict.h. */
#include "dict.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <string.h>

#define MIN_BITS 2 /* 4 buckets */

struct tc_dict_entry {
    tc_dict_entry *next;
    uint32_t klen;
    char data[]; /* the key's bytes, then (dicts with values) an unaligned 8-byte slot */
};

#define ENTRY_HEADER offsetof(tc_dict_entry, data)
#define SLOT 8

/* ---- SipHash-1-3 -----------------------------------------------------------
 * One compression round per 8 bytes and three finalisation rounds (as Redis
 * and Rust's std use it for hash tables): a keyed PRF, so without the key a
 * client cannot make its members collide. */

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                                                        \
    do {                                                                                                \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                                       \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                          \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                          \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                                       \
    } while (0)

uint64_t tc_siphash13(uint64_t k0, uint64_t k1, const void *p, size_t len)
{
    const unsigned char *in = p;
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    uint64_t b = (uint64_t)len << 56;
    const unsigned char *end = in + (len & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++) m |= (uint64_t)in[i] << (8 * i); /* little-endian on any host */
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_of(const tc_dict *d, const char *key, size_t len)
{
    return tc_siphash13(d->seed[0], d->seed[1], key, len);
}

static uint64_t entry_hash(const tc_dict *d, const tc_dict_entry *e) { return hash_of(d, e->data, e->klen); }

static size_t entry_size(const tc_dict *d, size_t klen) { return ENTRY_HEADER + (d->with_values ? SLOT : 0) + klen; }

/* The bucket of hash h in a table of 1 << bits buckets: its top bits. */
static inline size_t bucket_of(uint64_t h, unsigned bits) { return (size_t)(h >> (64 - bits)); }
static inline size_t nbuckets(const tc_dict *d, int t) { return d->table[t] ? (size_t)1 << d->bits[t] : 0; }
static int is_rehashing(const tc_dict *d) { return d->rehash_idx >= 0; }

/* ---- entries ---------------------------------------------------------------- */

const char *tc_dict_key(const tc_dict_entry *e, size_t *len)
{
    *len = e->klen;
    return e->data;
}

void *tc_dict_ptr(const tc_dict_entry *e)
{
    void *p;
    memcpy(&p, e->data + e->klen, sizeof p);
    return p;
}

void tc_dict_set_ptr(tc_dict_entry *e, void *p) { memcpy(e->data + e->klen, &p, sizeof p); }

double tc_dict_double(const tc_dict_entry *e)
{
    double v;
    memcpy(&v, e->data + e->klen, sizeof v);
    return v;
}

void tc_dict_set_double(tc_dict_entry *e, double v) { memcpy(e->data + e->klen, &v, sizeof v); }

/* ---- lifetime ----------------------------------------------------------------- */

tc_dict *tc_dict_new(int with_values, uint64_t seed0, uint64_t seed1)
{
    tc_dict *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->with_values = with_values ? 1 : 0;
    d->rehash_idx = -1;
    d->seed[0] = seed0;
    d->seed[1] = seed1;
    return d;
}

static void free_entry(tc_dict *d, tc_dict_entry *e, void (*free_ptr)(void *))
{
    if (free_ptr && d->with_values) free_ptr(tc_dict_ptr(e));
    d->entry_bytes -= entry_size(d, e->klen);
    free(e);
}

void tc_dict_free(tc_dict *d, void (*free_ptr)(void *))
{
    if (!d) return;
    for (int t = 0; t < 2; t++) {
        size_t n = nbuckets(d, t);
        for (size_t b = 0; b < n; b++) {
            tc_dict_entry *e = d->table[t][b];
            while (e) {
                tc_dict_entry *next = e->next;
                free_entry(d, e, free_ptr);
                e = next;
            }
        }
        free(d->table[t]);
    }
    free(d);
}

size_t tc_dict_size(const tc_dict *d) { return d->used[0] + d->used[1]; }

/* ---- rehashing ------------------------------------------------------------------ */

/* Starts moving into a table of 1 << bits buckets. On allocation failure
 * the table stays as it is: fuller is slower, not wrong. */
static int start_rehash(tc_dict *d, unsigned bits)
{
    tc_dict_entry **t = calloc((size_t)1 << bits, sizeof *t);
    if (!t) return -1;
    if (!d->table[0]) {
        d->table[0] = t;
        d->bits[0] = (uint8_t)bits;
        return 0;
    }
    d->table[1] = t;
    d->bits[1] = (uint8_t)bits;
    d->used[1] = 0;
    d->rehash_idx = 0;
    return 0;
}

static void maybe_resize(tc_dict *d);

/* Moves up to n buckets; returns 1 while more remain. */
static int rehash_step(tc_dict *d, size_t n)
{
    if (!is_rehashing(d)) return 0;
    size_t empty_visits = n * 10, size0 = nbuckets(d, 0);
    while (n > 0 && d->used[0] > 0 && (size_t)d->rehash_idx < size0) {
        tc_dict_entry *e = d->table[0][d->rehash_idx];
        if (!e) {
            d->rehash_idx++;
            if (--empty_visits == 0) return 1;
            continue;
        }
        while (e) {
            tc_dict_entry *next = e->next;
            size_t b = bucket_of(entry_hash(d, e), d->bits[1]);
            e->next = d->table[1][b];
            d->table[1][b] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->table[0][d->rehash_idx++] = NULL;
        n--;
    }
    if (d->used[0] > 0) return 1;
    free(d->table[0]);
    d->table[0] = d->table[1];
    d->bits[0] = d->bits[1];
    d->used[0] = d->used[1];
    d->table[1] = NULL;
    d->bits[1] = 0;
    d->used[1] = 0;
    d->rehash_idx = -1;
    maybe_resize(d); /* members may have come or gone meanwhile */
    return is_rehashing(d);
}

static unsigned bits_for(size_t n)
{
    unsigned bits = MIN_BITS;
    while (((size_t)1 << bits) < n && bits < 62) bits++;
    return bits;
}

/* Grows at load factor 1, shrinks below 1/8. */
static void maybe_resize(tc_dict *d)
{
    if (is_rehashing(d)) return;
    size_t used = d->used[0], size = nbuckets(d, 0);
    if (size == 0) {
        start_rehash(d, MIN_BITS);
    } else if (used >= size) {
        start_rehash(d, d->bits[0] + 1u);
    } else if (d->bits[0] > MIN_BITS && used < size / 8) {
        start_rehash(d, bits_for(used * 2));
    }
}

int tc_dict_reserve(tc_dict *d, size_t n)
{
    if (is_rehashing(d) || n <= nbuckets(d, 0)) return 0;
    return start_rehash(d, bits_for(n));
}

/* ---- lookup -------------------------------------------------------------------- */

/* The link pointing at key's entry, NULL if absent; *t the table. */
static tc_dict_entry **find_link(const tc_dict *d, const char *key, size_t len, uint64_t h, int *tp)
{
    for (int t = 0; t < 2 && d->table[t]; t++) {
        size_t b = bucket_of(h, d->bits[t]);
        if (t == 0 && is_rehashing(d) && (int64_t)b < d->rehash_idx) continue; /* moved already */
        for (tc_dict_entry **link = &d->table[t][b]; *link; link = &(*link)->next) {
            tc_dict_entry *e = *link;
            if (e->klen == len && memcmp(e->data, key, len) == 0) {
                if (tp) *tp = t;
                return link;
            }
        }
    }
    return NULL;
}

tc_dict_entry *tc_dict_find(const tc_dict *d, const char *key, size_t len)
{
    if (tc_dict_size(d) == 0) return NULL;
    /* No rehash step here: a lookup never moves entries, so a dict can be
     * iterated while it is searched (SINTER of a set with itself). */
    tc_dict_entry **link = find_link(d, key, len, hash_of(d, key, len), NULL);
    return link ? *link : NULL;
}

tc_dict_entry *tc_dict_add(tc_dict *d, const char *key, size_t len, int *added)
{
    *added = 0;
    if (len > UINT32_MAX) return NULL;
    rehash_step(d, 1);
    uint64_t h = hash_of(d, key, len);
    tc_dict_entry **link = tc_dict_size(d) ? find_link(d, key, len, h, NULL) : NULL;
    if (link) return *link;
    maybe_resize(d);
    if (!d->table[0]) return NULL;
    size_t sz = entry_size(d, len);
    tc_dict_entry *e = malloc(sz);
    if (!e) return NULL;
    e->klen = (uint32_t)len;
    memcpy(e->data, key, len);
    if (d->with_values) memset(e->data + len, 0, SLOT);
    int t = is_rehashing(d) ? 1 : 0;
    size_t b = bucket_of(h, d->bits[t]);
    e->next = d->table[t][b];
    d->table[t][b] = e;
    d->used[t]++;
    d->entry_bytes += sz;
    *added = 1;
    return e;
}

int tc_dict_delete(tc_dict *d, const char *key, size_t len, void (*free_ptr)(void *))
{
    if (tc_dict_size(d) == 0) return 0;
    rehash_step(d, 1);
    int t = 0;
    tc_dict_entry **link = find_link(d, key, len, hash_of(d, key, len), &t);
    if (!link) return 0;
    tc_dict_entry *e = *link;
    *link = e->next;
    d->used[t]--;
    free_entry(d, e, free_ptr);
    maybe_resize(d);
    return 1;
}

/* ---- iteration ------------------------------------------------------------------- */

void tc_dict_iter_init(tc_dict_iter *it, const tc_dict *d)
{
    it->d = d;
    it->t = 0;
    it->b = 0;
    it->e = NULL;
}

tc_dict_entry *tc_dict_next(tc_dict_iter *it)
{
    if (it->e) it->e = it->e->next;
    while (!it->e) {
        if (it->t > 1) return NULL;
        if (it->b >= nbuckets(it->d, it->t)) {
            it->t++;
            it->b = 0;
            continue;
        }
        it->e = it->d->table[it->t][it->b++];
    }
    return it->e;
}

/* ---- scan --------------------------------------------------------------------------
 * The cursor is a hash position: every member hashing below it has been
 * reported. A step reports the bucket the cursor falls in, whole (a cursor
 * from a larger table may point inside it: a few members are reported
 * twice, which SCAN allows), and returns the start of the next bucket. While
 * rehashing, the smaller table's bucket sets the range and the larger
 * table's buckets in that range are reported too. Buckets of table 0 below
 * rehash_idx are empty, so they need no special case. */

static void scan_chain(const tc_dict_entry *e, tc_dict_scan_fn fn, void *ud)
{
    for (; e; e = e->next) fn(ud, e);
}

uint64_t tc_dict_scan(tc_dict *d, uint64_t v, tc_dict_scan_fn fn, void *ud)
{
    if (tc_dict_size(d) == 0) return 0;
    int small = 0;
    if (is_rehashing(d) && d->bits[1] < d->bits[0]) small = 1;
    unsigned sb = d->bits[small];
    size_t b = bucket_of(v, sb);
    scan_chain(d->table[small][b], fn, ud);
    if (is_rehashing(d)) {
        int large = 1 - small;
        unsigned lb = d->bits[large];
        size_t from = bucket_of(v, lb), to = (b + 1) << (lb - sb); /* exclusive */
        for (size_t i = from; i < to; i++) scan_chain(d->table[large][i], fn, ud);
    }
    /* The start of bucket b + 1: wraps to 0 after the last one. */
    return (uint64_t)(b + 1) << (64 - sb);
}

/* ---- random ------------------------------------------------------------------------
 * A choice every node holding the same members and seed makes alike, with
 * each member equally likely: the hash space is cut into 2^k equal ranges,
 * 2^k the largest power of two <= n (so about 1..2 members per range, a
 * number every node agrees on). A try picks a range and a slot j in
 * [0, RANDOM_SLOTS); if the range holds more than j members the one of
 * rank j by hash is the answer, else it tries again. Every member has the
 * same chance per try (1 / (2^k * RANDOM_SLOTS)) unless its range holds
 * more than RANDOM_SLOTS members (a Poisson tail of ~1e-4 at 2 per range),
 * where all of them are picked from with j over the range's count. */

#define RANDOM_SLOTS 8
#define RANGE_MAX 64 /* members of one range considered; more is beyond any plausible tail */

typedef struct cand {
    uint64_t h;
    tc_dict_entry *e;
} cand;

/* Collects the members of table t whose hash lies in [lo, lo + span). */
static size_t collect(const tc_dict *d, int t, uint64_t lo, uint64_t span, cand *out, size_t n)
{
    if (!d->table[t]) return n;
    uint64_t hi = lo + (span - 1);
    for (size_t b = bucket_of(lo, d->bits[t]), last = bucket_of(hi, d->bits[t]); b <= last; b++) {
        for (tc_dict_entry *e = d->table[t][b]; e && n < RANGE_MAX; e = e->next) {
            uint64_t h = entry_hash(d, e);
            if (h >= lo && h <= hi) out[n++] = (cand){h, e};
        }
    }
    return n;
}

tc_dict_entry *tc_dict_random(tc_dict *d, uint64_t (*next)(void *), void *ud)
{
    size_t size = tc_dict_size(d);
    if (size == 0) return NULL;
    unsigned k = 0;
    while (k < 63 && ((size_t)2 << k) <= size) k++;
    uint64_t span = k ? (uint64_t)1 << (64 - k) : 0; /* 0: the whole space (k == 0) */
    cand c[RANGE_MAX];
    for (;;) {
        uint64_t r = next(ud);
        uint64_t lo = k ? r & ~(span - 1) : 0;
        size_t n = collect(d, 0, lo, span, c, 0);
        n = collect(d, 1, lo, span, c, n);
        if (n == 0) continue;
        uint64_t j = next(ud) % (n > RANDOM_SLOTS ? n : RANDOM_SLOTS);
        if (j >= n) continue;
        /* The member of rank j by hash (equal hashes: by key, so that the
         * order never depends on the chains). */
        for (size_t a = 1; a < n; a++) {
            for (size_t b = a; b > 0; b--) {
                cand *x = &c[b - 1], *y = &c[b];
                int less = y->h < x->h;
                if (y->h == x->h) {
                    size_t lx = x->e->klen, ly = y->e->klen;
                    int cmp = memcmp(y->e->data, x->e->data, lx < ly ? lx : ly);
                    less = cmp < 0 || (cmp == 0 && ly < lx);
                }
                if (!less) break;
                cand tmp = *x;
                *x = *y;
                *y = tmp;
            }
        }
        return c[j].e;
    }
}

size_t tc_dict_memory(const tc_dict *d)
{
    return sizeof *d + (nbuckets(d, 0) + nbuckets(d, 1)) * sizeof(tc_dict_entry *) + d->entry_bytes;
}

void tc_dict_process_seed(uint64_t seed[2])
{
    static uint64_t s[2];
    static int drawn;
    if (!drawn) {
        if (getrandom(s, sizeof s, 0) != sizeof s) {
            /* No entropy source: the clock is better than a constant. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            s[0] = tc_siphash13((uint64_t)ts.tv_nsec, (uint64_t)ts.tv_sec, &ts, sizeof ts);
            s[1] = ~s[0] * 0x9e3779b97f4a7c15ull;
        }
        drawn = 1;
    }
    seed[0] = s[0];
    seed[1] = s[1];
}
