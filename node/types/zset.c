/* Sorted sets: the encoding-independent interface (zset.h) over the packed
 * small form (zset_pack.c) and the dict + B+tree large form, conversion
 * between them, and the type's operations (free, memory, digest, image,
 * copy). */
#include "zset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dict.h"
#include "lazyfree.h"
#include "types.h"
#include "zset_pack.h"

/* The large form: the dict's entries (member, score in the value slot) are
 * the tree's elements. */
typedef struct zbig {
    zt_tree tree;
    tc_dict *dict;
} zbig;

int tc_zcmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    size_t l = l1 < l2 ? l1 : l2;
    int c = l ? memcmp(m1, m2, l) : 0;
    if (c) return c;
    return l1 < l2 ? -1 : l1 > l2;
}

/* The value pointer after the key's name (keyspace.h: stored unaligned). */
static void set_ptr(tc_key *k, void *p) { memcpy(k->data + k->klen, &p, sizeof p); }
static int is_pack(const tc_key *k) { return k->encoding == TC_ENC_ZSET_LISTPACK; }
static zpack *pack_of(const tc_key *k) { return tc_key_value_ptr(k); }
static zbig *big_of(const tc_key *k) { return tc_key_value_ptr(k); }

static void entry_zel(const tc_dict_entry *e, tc_zel *out)
{
    out->m = tc_dict_key(e, &out->len);
    out->score = tc_dict_double(e);
}

/* ---- bounds ---------------------------------------------------------------- */

static int before(const tc_zel *e, const tc_zbound *b)
{
    switch (b->kind) {
    case TC_ZB_SCORE:
        return b->after_equal ? e->score <= b->score : e->score < b->score;
    case TC_ZB_LEX: {
        if (b->inf) return b->inf > 0;
        size_t l = e->len < b->len ? e->len : b->len;
        int c = l ? memcmp(e->m, b->m, l) : 0;
        if (!c) c = e->len < b->len ? -1 : e->len > b->len;
        return b->after_equal ? c <= 0 : c < 0;
    }
    case TC_ZB_ELEM:
        return tc_zcmp(e->score, e->m, e->len, b->score, b->m, b->len) < 0;
    }
    return 0;
}

static int tree_before(const zt_elem *x, void *ud)
{
    tc_zel e;
    entry_zel(x, &e);
    return before(&e, ud);
}

size_t tc_zset_lower(const tc_key *k, const tc_zbound *b)
{
    if (!is_pack(k)) return zt_lower(&big_of(k)->tree, tree_before, (void *)b);
    const zpack *p = pack_of(k);
    size_t n = 0;
    zp_ent e;
    for (size_t off = ZP_HEADER; zp_read(p, off, &e); off = e.next, n++) {
        tc_zel z = {e.m, e.len, e.score};
        if (!before(&z, b)) break;
    }
    return n;
}

/* ---- lookups ---------------------------------------------------------------- */

size_t tc_zset_card(const tc_key *k) { return is_pack(k) ? zp_count(pack_of(k)) : big_of(k)->tree.count; }

/* The packed element holding member, or 0. */
static int pack_find(const zpack *p, const char *m, size_t len, zp_ent *e, size_t *rank)
{
    size_t r = 0;
    for (size_t off = ZP_HEADER; zp_read(p, off, e); off = e->next, r++)
        if (e->len == len && (len == 0 || memcmp(e->m, m, len) == 0)) {
            if (rank) *rank = r;
            return 1;
        }
    return 0;
}

int tc_zset_score(const tc_key *k, const char *m, size_t len, double *score)
{
    if (is_pack(k)) {
        zp_ent e;
        if (!pack_find(pack_of(k), m, len, &e, NULL)) return 0;
        *score = e.score;
        return 1;
    }
    tc_dict_entry *de = tc_dict_find(big_of(k)->dict, m, len);
    if (!de) return 0;
    *score = tc_dict_double(de);
    return 1;
}

/* The rank of an element known to be in the tree. */
static size_t tree_rank(const zbig *z, double score, const char *m, size_t len)
{
    tc_zbound b = {.kind = TC_ZB_ELEM, .score = score, .m = m, .len = len};
    return zt_lower(&z->tree, tree_before, &b);
}

int tc_zset_rank(const tc_key *k, const char *m, size_t len, size_t *rank, double *score)
{
    if (is_pack(k)) {
        zp_ent e;
        if (!pack_find(pack_of(k), m, len, &e, rank)) return 0;
        *score = e.score;
        return 1;
    }
    zbig *z = big_of(k);
    tc_dict_entry *de = tc_dict_find(z->dict, m, len);
    if (!de) return 0;
    *score = tc_dict_double(de);
    *rank = tree_rank(z, *score, m, len);
    return 1;
}

/* ---- creation and conversion ------------------------------------------------ */

/* Dict seeds: a process-wide secret (members come from clients and must
 * not be choosable to collide) mixed with a per-set counter. Nothing a
 * node replies or digests depends on a dict's order except ZSCAN's cursor,
 * which stays correct whatever the order. */
static uint64_t seed_secret[2], seed_counter;

static zbig *big_new(size_t hint)
{
    if (!seed_secret[0] && getrandom(seed_secret, sizeof seed_secret, 0) != sizeof seed_secret)
        seed_secret[0] = (uint64_t)(uintptr_t)&seed_secret ^ 0x5bd1e995u;
    zbig *z = malloc(sizeof *z);
    if (!z) return NULL;
    zt_init(&z->tree);
    uint64_t c = ++seed_counter;
    z->dict = tc_dict_new(1, seed_secret[0] ^ (c * 0x9e3779b97f4a7c15ull), seed_secret[1] + c);
    if (!z->dict) {
        free(z);
        return NULL;
    }
    if (hint) (void)tc_dict_reserve(z->dict, hint);
    return z;
}

static void big_free(void *v)
{
    zbig *z = v;
    zt_free(&z->tree, NULL);
    tc_dict_free(z->dict, NULL);
    free(z);
}

/* Appends to a big set (member known to be absent and greatest). */
static int big_append(zbig *z, double score, const char *m, size_t len)
{
    int added;
    tc_dict_entry *de = tc_dict_add(z->dict, m, len, &added);
    if (!de) return -1;
    if (!added) return -2; /* a duplicate: only an image can say that */
    tc_dict_set_double(de, score);
    if (zt_insert_at(&z->tree, z->tree.count, de) != 0) {
        tc_dict_delete(z->dict, m, len, NULL);
        return -1;
    }
    return 0;
}

tc_key *tc_zset_create(tc_keyspace *ks, const char *key, size_t klen, size_t size_hint, size_t maxlen,
                       int64_t expire_at)
{
    /* Redis's zsetTypeCreate: sized for what is about to go in */
    if (size_hint <= ks->enc.zset_max_listpack_entries && maxlen <= ks->enc.zset_max_listpack_value) {
        zpack *p = zp_new();
        if (!p) return NULL;
        tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_ZSET, TC_ENC_ZSET_LISTPACK, p, expire_at);
        if (!k) free(p);
        return k;
    }
    zbig *z = big_new(size_hint);
    if (!z) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_ZSET, TC_ENC_ZSET_SKIPLIST, z, expire_at);
    if (!k) big_free(z);
    return k;
}

/* A listpack past a threshold becomes a dict + tree (Redis's
 * zsetConvert). */
static int convert_to_big(tc_key *k)
{
    const zpack *p = pack_of(k);
    zbig *z = big_new(zp_count(p) + 1);
    if (!z) return -1;
    zp_ent e;
    for (size_t off = ZP_HEADER; zp_read(p, off, &e); off = e.next)
        if (big_append(z, e.score, e.m, e.len) != 0) {
            big_free(z);
            return -1;
        }
    free(pack_of(k));
    set_ptr(k, z);
    k->encoding = TC_ENC_ZSET_SKIPLIST;
    return 0;
}

/* ---- changes ---------------------------------------------------------------- */

/* Whether a listpack must become a dict + tree before taking one more
 * member of len bytes (Redis's zsetAdd check). */
static int must_grow(const tc_key *k, const tc_enc_limits *lim, size_t len)
{
    return is_pack(k) && lim &&
           (zp_count(pack_of(k)) + 1 > lim->zset_max_listpack_entries || len > lim->zset_max_listpack_value);
}

/* Inserts a new member (absent) at its place; lim NULL: stay a listpack
 * (a member moving to a new score, which Redis never converts for). */
static int insert_new(tc_key *k, const tc_enc_limits *lim, double score, const char *m, size_t len)
{
    if (must_grow(k, lim, len) && convert_to_big(k) != 0) return -1;
    tc_zbound b = {.kind = TC_ZB_ELEM, .score = score, .m = m, .len = len};
    if (is_pack(k)) {
        zpack *p = pack_of(k);
        size_t off = ZP_HEADER;
        zp_ent e;
        while (zp_read(p, off, &e) && tc_zcmp(e.score, e.m, e.len, score, m, len) < 0) off = e.next;
        zpack *n = zp_insert(p, off, score, m, len);
        if (!n) return -1;
        set_ptr(k, n);
        return 0;
    }
    zbig *z = big_of(k);
    int added;
    tc_dict_entry *de = tc_dict_add(z->dict, m, len, &added);
    if (!de) return -1;
    tc_dict_set_double(de, score);
    /* the new entry is in the dict, not yet in the tree: bound by value */
    if (zt_insert_at(&z->tree, zt_lower(&z->tree, tree_before, &b), de) != 0) {
        tc_dict_delete(z->dict, m, len, NULL);
        return -1;
    }
    return 0;
}

/* Moves an existing member to a new score. */
static int rescore(tc_key *k, double old, double score, const char *m, size_t len)
{
    if (is_pack(k)) {
        /* m may point into the pack: copy it before the pack moves (the
         * value limit is a setting, so a long member goes to the heap) */
        char stack[128], *small = len <= sizeof stack ? stack : malloc(len);
        if (!small) return -1;
        memcpy(small, m, len);
        zpack *p = pack_of(k);
        zp_ent e;
        size_t rank;
        pack_find(p, small, len, &e, &rank);
        set_ptr(k, zp_delete(p, e.off, 1));
        int rc = 0;
        if (insert_new(k, NULL, score, small, len) != 0) {
            /* the pack only shrank: putting the old element back fits */
            insert_new(k, NULL, old, small, len);
            rc = -1;
        }
        if (small != stack) free(small);
        return rc;
    }
    zbig *z = big_of(k);
    tc_dict_entry *de = tc_dict_find(z->dict, m, len);
    m = tc_dict_key(de, &len);
    size_t r_old = tree_rank(z, old, m, len);
    /* Where it goes among the others: if that is where it is, only the
     * score changes (ZINCRBY of a leader stays in place). */
    tc_zbound b = {.kind = TC_ZB_ELEM, .score = score, .m = m, .len = len};
    size_t r_new = zt_lower(&z->tree, tree_before, &b);
    if (r_new > r_old) r_new--; /* the element itself was counted */
    tc_dict_set_double(de, score);
    if (r_new == r_old) return 0;
    zt_delete_at(&z->tree, r_old);
    if (zt_insert_at(&z->tree, r_new, de) != 0) {
        tc_dict_set_double(de, old);
        if (zt_insert_at(&z->tree, r_old, de) != 0) abort(); /* cannot leave the member out of the order */
        return -1;
    }
    return 0;
}

int tc_zset_add(tc_key *k, const tc_enc_limits *lim, double score, const char *m, size_t len, int in, int *out,
                double *newscore)
{
    int incr = in & TC_ZADD_INCR, nx = in & TC_ZADD_NX, xx = in & TC_ZADD_XX;
    int gt = in & TC_ZADD_GT, lt = in & TC_ZADD_LT;
    *out = 0;
    double cur;
    if (tc_zset_score(k, m, len, &cur)) {
        if (nx) {
            *out = TC_ZADD_OUT_NOP;
            return 0;
        }
        if (incr) {
            score += cur;
            if (isnan(score)) {
                *out = TC_ZADD_OUT_NAN;
                return 0;
            }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) {
            *out = TC_ZADD_OUT_NOP;
            return 0;
        }
        *newscore = score;
        /* equal scores (-0.0 == 0.0 included) change nothing, as in Redis */
        if (score != cur) {
            if (rescore(k, cur, score, m, len) != 0) return -1;
            *out = TC_ZADD_OUT_UPDATED;
        }
        return 0;
    }
    if (xx) {
        *out = TC_ZADD_OUT_NOP;
        return 0;
    }
    if (insert_new(k, lim, score, m, len) != 0) return -1;
    *newscore = score;
    *out = TC_ZADD_OUT_ADDED;
    return 0;
}

int tc_zset_append(tc_key *k, const tc_enc_limits *lim, double score, const char *m, size_t len)
{
    if (must_grow(k, lim, len) && convert_to_big(k) != 0) return -1;
    if (is_pack(k)) {
        zpack *p = pack_of(k);
        zpack *n = zp_insert(p, zp_bytes(p), score, m, len);
        if (!n) return -1;
        set_ptr(k, n);
        return 0;
    }
    return big_append(big_of(k), score, m, len) == 0 ? 0 : -1;
}

int tc_zset_delete(tc_key *k, const char *m, size_t len)
{
    if (is_pack(k)) {
        zp_ent e;
        zpack *p = pack_of(k);
        if (!pack_find(p, m, len, &e, NULL)) return 0;
        set_ptr(k, zp_delete(p, e.off, 1));
        return 1;
    }
    zbig *z = big_of(k);
    tc_dict_entry *de = tc_dict_find(z->dict, m, len);
    if (!de) return 0;
    const char *km = tc_dict_key(de, &len);
    zt_delete_at(&z->tree, tree_rank(z, tc_dict_double(de), km, len));
    tc_dict_delete(z->dict, m, len, NULL);
    return 1;
}

void tc_zset_delete_range(tc_key *k, size_t start, size_t end)
{
    if (start >= end) return;
    if (is_pack(k)) {
        zpack *p = pack_of(k);
        size_t off = ZP_HEADER;
        zp_ent e;
        for (size_t i = 0; i < start && zp_read(p, off, &e); i++) off = e.next;
        set_ptr(k, zp_delete(p, off, end - start));
        return;
    }
    zbig *z = big_of(k);
    for (size_t i = start; i < end; i++) {
        tc_dict_entry *de = zt_delete_at(&z->tree, start);
        size_t len;
        const char *m = tc_dict_key(de, &len);
        tc_dict_delete(z->dict, m, len, NULL);
    }
}

/* ---- iteration -------------------------------------------------------------- */

void tc_zit_init(tc_zit *it, const tc_key *k, size_t rank, int reverse)
{
    memset(it, 0, sizeof *it);
    it->k = k;
    it->reverse = reverse;
    if (rank >= tc_zset_card(k)) {
        it->done = 1;
        return;
    }
    if (!is_pack(k)) {
        zt_seek(&big_of(k)->tree, rank, &it->ti);
        return;
    }
    const zpack *p = pack_of(k);
    zp_ent e;
    size_t off = ZP_HEADER;
    if (!reverse) {
        for (size_t i = 0; i < rank && zp_read(p, off, &e); i++) off = e.next;
        it->off = off;
        return;
    }
    /* descending through a forward-only pack: remember the offsets */
    it->offs = malloc((rank + 1) * sizeof *it->offs);
    if (!it->offs) {
        it->done = 1;
        return;
    }
    for (size_t i = 0; i <= rank && zp_read(p, off, &e); i++) {
        it->offs[i] = (uint32_t)off;
        off = e.next;
    }
    it->idx = rank + 1;
}

int tc_zit_next(tc_zit *it, tc_zel *out)
{
    if (it->done) return 0;
    if (!is_pack(it->k)) {
        zt_elem *x = it->reverse ? zt_prev(&it->ti) : zt_next(&it->ti);
        if (!x) return 0;
        entry_zel(x, out);
        return 1;
    }
    zp_ent e;
    if (it->reverse) {
        if (it->idx == 0) return 0;
        zp_read(pack_of(it->k), it->offs[--it->idx], &e);
    } else {
        if (!zp_read(pack_of(it->k), it->off, &e)) return 0;
        it->off = e.next;
    }
    out->m = e.m;
    out->len = e.len;
    out->score = e.score;
    return 1;
}

void tc_zit_done(tc_zit *it)
{
    free(it->offs);
    it->offs = NULL;
}

/* ---- ZSCAN ------------------------------------------------------------------ */

struct scan_ud {
    tc_zset_scan_fn fn;
    void *ud;
};

static void scan_entry(void *ud, const tc_dict_entry *e)
{
    struct scan_ud *s = ud;
    tc_zel z;
    entry_zel(e, &z);
    s->fn(s->ud, z.m, z.len, z.score);
}

uint64_t tc_zset_scan(tc_key *k, uint64_t cursor, size_t count, tc_zset_scan_fn fn, void *ud)
{
    if (is_pack(k)) {
        zp_ent e;
        const zpack *p = pack_of(k);
        for (size_t off = ZP_HEADER; zp_read(p, off, &e); off = e.next) fn(ud, e.m, e.len, e.score);
        return 0;
    }
    struct scan_ud s = {fn, ud};
    /* Redis's scan loop: bucket steps until count elements or at most
     * 10 * count steps, so a sparse table still makes progress. */
    size_t steps = 0;
    do {
        cursor = tc_dict_scan(big_of(k)->dict, cursor, scan_entry, &s);
    } while (cursor && ++steps < count);
    return cursor;
}

/* ---- the type's operations -------------------------------------------------- */

static const char *encoding_name(const tc_key *k) { return is_pack(k) ? "listpack" : "skiplist"; }

static size_t memory(const tc_key *k)
{
    if (is_pack(k)) return sizeof(void *) + zp_bytes(pack_of(k));
    const zbig *z = big_of(k);
    return sizeof(void *) + sizeof *z + zt_nodes_memory(&z->tree) + tc_dict_memory(z->dict);
}

/* Big sets go to the background thread (lazyfree.h): freeing millions of
 * entries would hold the event loop for a second. */
static void free_value(tc_key *k)
{
    if (is_pack(k)) free(pack_of(k));
    else tc_lazyfree(big_free, big_of(k), big_of(k)->tree.count);
}

/* Members in order with their scores: the same for both encodings. */
static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, 0, 0);
    while (tc_zit_next(&it, &e)) {
        uint32_t l = (uint32_t)e.len;
        feed(ud, &l, sizeof l);
        feed(ud, e.m, e.len);
        feed(ud, &e.score, sizeof e.score);
    }
    tc_zit_done(&it);
}

/* Image record (snapshot/FORMAT.md §4, sorted set): u8 version 1, u32
 * count, then per element in order: f64 score, u32 length, member bytes
 * (little endian). */
#define IMAGE_VERSION 1

static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    size_t start = scratch->len;
    unsigned char v = IMAGE_VERSION;
    uint32_t n = (uint32_t)tc_zset_card(k);
    tc_buf_append(scratch, &v, 1);
    tc_buf_append(scratch, &n, 4);
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, 0, 0);
    while (tc_zit_next(&it, &e)) {
        uint32_t l = (uint32_t)e.len;
        tc_buf_append(scratch, &e.score, 8);
        tc_buf_append(scratch, &l, 4);
        tc_buf_append(scratch, e.m, e.len);
    }
    tc_zit_done(&it);
    *p = scratch->data + start;
    *len = scratch->len - start;
    return 0;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    uint32_t n;
    if (vlen < 5 || (unsigned char)v[0] != IMAGE_VERSION) {
        snprintf(err, errlen, "sorted set record: unknown layout version");
        return NULL;
    }
    memcpy(&n, v + 1, 4);
    /* One pass to check the bytes and find the longest member (the
     * encoding depends on it), one to build. */
    size_t off = 5, maxlen = 0;
    double prev_s = 0;
    const char *prev_m = NULL;
    size_t prev_l = 0;
    for (uint32_t i = 0; i < n; i++) {
        double s;
        uint32_t l;
        if (vlen - off < 12) goto bad;
        memcpy(&s, v + off, 8);
        memcpy(&l, v + off + 8, 4);
        if (vlen - off - 12 < l || isnan(s)) goto bad;
        if (prev_m && tc_zcmp(prev_s, prev_m, prev_l, s, v + off + 12, l) >= 0) goto bad;
        prev_s = s;
        prev_m = v + off + 12;
        prev_l = l;
        if (l > maxlen) maxlen = l;
        off += 12 + (size_t)l;
    }
    if (off != vlen || n == 0) goto bad;
    tc_key *k = tc_zset_create(ks, key, klen, n, maxlen, expire_at);
    if (!k) goto oom;
    off = 5;
    for (uint32_t i = 0; i < n; i++) {
        double s;
        uint32_t l;
        memcpy(&s, v + off, 8);
        memcpy(&l, v + off + 8, 4);
        int rc;
        if (is_pack(k)) {
            zp_ent e;
            rc = pack_find(pack_of(k), v + off + 12, l, &e, NULL) ? -2
                                                                  : tc_zset_append(k, &ks->enc, s, v + off + 12, l);
        } else {
            rc = big_append(big_of(k), s, v + off + 12, l);
        }
        if (rc == -2) { /* a member twice, under two scores */
            tc_ks_delete(ks, key, klen);
            goto bad;
        }
        if (rc != 0) {
            tc_ks_delete(ks, key, klen);
            goto oom;
        }
        off += 12 + (size_t)l;
    }
    return k;
bad:
    snprintf(err, errlen, "sorted set record: malformed value");
    return NULL;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

static tc_key *copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at)
{
    if (is_pack(src)) {
        size_t bytes = zp_bytes(pack_of(src));
        zpack *p = malloc(bytes);
        if (!p) return NULL;
        memcpy(p, pack_of(src), bytes);
        tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_ZSET, TC_ENC_ZSET_LISTPACK, p, expire_at);
        if (!k) free(p);
        return k;
    }
    const zbig *sz = big_of(src);
    zbig *z = big_new(sz->tree.count);
    if (!z) return NULL;
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, src, 0, 0);
    while (tc_zit_next(&it, &e))
        if (big_append(z, e.score, e.m, e.len) != 0) {
            tc_zit_done(&it);
            big_free(z);
            return NULL;
        }
    tc_zit_done(&it);
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_ZSET, TC_ENC_ZSET_SKIPLIST, z, expire_at);
    if (!k) big_free(z);
    return k;
}

const tc_type_ops tc_zset_type = {
    .type = TC_TYPE_ZSET,
    .name = "zset",
    .encoding_name = encoding_name,
    .refcount = NULL,
    .memory = memory,
    .free_value = free_value,
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = copy,
};

/* ---- result vectors ------------------------------------------------------------ */

int tc_zvec_push(tc_zvec *v, double score, const char *m, size_t len)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        tc_zvec_el *n = realloc(v->v, cap * sizeof *n);
        if (!n) return -1;
        v->v = n;
        v->cap = cap;
    }
    if (v->used + len > v->arena_cap) {
        size_t cap = v->arena_cap ? v->arena_cap * 2 : 256;
        while (cap < v->used + len) cap *= 2;
        char *a = realloc(v->arena, cap);
        if (!a) return -1;
        v->arena = a;
        v->arena_cap = cap;
    }
    if (len) memcpy(v->arena + v->used, m, len);
    v->v[v->n++] = (tc_zvec_el){score, v->used, len};
    v->used += len;
    if (len > v->maxlen) v->maxlen = len;
    return 0;
}

static const char *sort_arena;

static int el_cmp(const void *a, const void *b)
{
    const tc_zvec_el *x = a, *y = b;
    return tc_zcmp(x->score, sort_arena + x->off, x->len, y->score, sort_arena + y->off, y->len);
}

void tc_zvec_sort(tc_zvec *v)
{
    sort_arena = v->arena; /* qsort has no user pointer; the node is single-threaded */
    if (v->n > 1) qsort(v->v, v->n, sizeof *v->v, el_cmp);
}

void tc_zvec_free(tc_zvec *v)
{
    free(v->v);
    free(v->arena);
    memset(v, 0, sizeof *v);
}

tc_key *tc_zset_from_vec(tc_keyspace *ks, const char *key, size_t klen, const tc_zvec *v)
{
    tc_key *k = tc_zset_create(ks, key, klen, v->n, v->maxlen, 0);
    if (!k) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (tc_zset_append(k, &ks->enc, v->v[i].score, tc_zvec_member(v, i), v->v[i].len) != 0) {
            tc_ks_delete(ks, key, klen);
            return NULL;
        }
    return k;
}
