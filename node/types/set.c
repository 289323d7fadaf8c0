/* Sets (type 2): the value behind a set key and its operations row.
 * Encodings and determinism: set.h. Commands: t_set.c. */
#include "set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection.h"
#include "commands.h"
#include "lazyfree.h"
#include "types/intset.h"
#include "types/pack.h"
#include "types/types.h"

/* Whether m is an integer as Redis's intset takes it (string2ll). */
static int as_int(const char *m, size_t len, long long *v) { return len <= 20 && tc_parse_ll(m, len, v) == 0; }

static void from_int(tc_set_member *m, int64_t v)
{
    m->len = (size_t)snprintf(m->buf, sizeof m->buf, "%lld", (long long)v);
    m->p = m->buf;
}

void tc_set_store(tc_key *k, const tc_set *s)
{
    k->encoding = s->enc & 15;
    tc_coll_set_ptr(k, s->p);
}

int tc_set_init(tc_set *s, const char *first, size_t len)
{
    long long v;
    if (as_int(first, len, &v)) {
        s->enc = TC_ENC_SET_INTSET;
        s->p = tc_intset_new();
    } else {
        s->enc = TC_ENC_SET_PACK;
        s->p = tc_pack_new();
    }
    return s->p ? 0 : -1;
}

tc_key *tc_set_put(tc_keyspace *ks, const char *key, size_t klen, tc_set *s, int64_t expire_at)
{
    return tc_ks_set_pointer(ks, key, klen, TC_TYPE_SET, s->enc, s->p, expire_at);
}

size_t tc_set_size(const tc_set *s)
{
    switch (s->enc) {
    case TC_ENC_SET_INTSET: return ((tc_intset *)s->p)->count;
    case TC_ENC_SET_PACK: return ((tc_pack *)s->p)->count;
    default: return tc_dict_size(s->p);
    }
}

static void free_dict(void *d) { tc_dict_free(d, NULL); }

void tc_set_free(tc_set *s)
{
    if (s->enc == TC_ENC_SET_HT) tc_lazyfree(free_dict, s->p, tc_dict_size(s->p));
    else free(s->p); /* one allocation */
    s->p = NULL;
}

int tc_set_has(const tc_set *s, const char *m, size_t len)
{
    long long v;
    size_t pos;
    switch (s->enc) {
    case TC_ENC_SET_INTSET: return as_int(m, len, &v) && tc_intset_find(s->p, v, &pos);
    case TC_ENC_SET_PACK: return tc_pack_find(s->p, 1, m, len) != TC_PACK_NONE;
    default: return tc_dict_find(s->p, m, len) != NULL;
    }
}

/* Moves every member into a new encoding; -1 when out of memory (s
 * unchanged). */
static int convert(tc_set *s, unsigned to, tc_rand_fn rnd, void *ud)
{
    tc_set n = {to, NULL};
    size_t size = tc_set_size(s);
    if (to == TC_ENC_SET_PACK) {
        n.p = tc_pack_new();
    } else {
        uint64_t s0 = rnd(ud), s1 = rnd(ud);
        n.p = tc_dict_new(0, s0, s1);
        if (n.p && tc_dict_reserve(n.p, size + 1) != 0) {
            tc_dict_free(n.p, NULL);
            n.p = NULL;
        }
    }
    if (!n.p) return -1;
    tc_set_iter it;
    tc_set_member m;
    tc_set_iter_init(&it, s);
    while (tc_set_next(&it, &m)) {
        if (to == TC_ENC_SET_PACK) {
            tc_pack *pk = tc_pack_insert(n.p, ((tc_pack *)n.p)->bytes, m.p, m.len);
            if (!pk) goto oom;
            n.p = pk;
        } else {
            int added;
            if (!tc_dict_add(n.p, m.p, m.len, &added)) goto oom;
        }
    }
    free(s->p); /* intset or pack: one allocation */
    *s = n;
    return 0;
oom:
    if (to == TC_ENC_SET_PACK) free(n.p);
    else tc_dict_free(n.p, NULL);
    return -1;
}

int tc_set_add(tc_set *s, const tc_enc_limits *lim, const char *m, size_t len, tc_rand_fn rnd, void *ud)
{
    long long v;
    if (s->enc == TC_ENC_SET_INTSET) {
        if (as_int(m, len, &v)) {
            size_t pos;
            if (tc_intset_find(s->p, v, &pos)) return 0;
            if (((tc_intset *)s->p)->count < lim->set_max_intset_entries) {
                int added;
                tc_intset *is = tc_intset_add(s->p, v, &added);
                if (!is) return -1;
                s->p = is;
                return 1;
            }
            if (convert(s, TC_ENC_SET_HT, rnd, ud) != 0) return -1;
        } else {
            /* A pack if the members so far and the new one fit one. */
            size_t size = tc_set_size(s);
            unsigned to = size < lim->set_max_listpack_entries && len <= lim->set_max_listpack_value
                              ? TC_ENC_SET_PACK
                              : TC_ENC_SET_HT;
            if (convert(s, to, rnd, ud) != 0) return -1;
        }
    }
    if (s->enc == TC_ENC_SET_PACK) {
        tc_pack *pk = s->p;
        if (tc_pack_find(pk, 1, m, len) != TC_PACK_NONE) return 0;
        if (pk->count < lim->set_max_listpack_entries && len <= lim->set_max_listpack_value) {
            pk = tc_pack_insert(pk, pk->bytes, m, len);
            if (!pk) return -1;
            s->p = pk;
            return 1;
        }
        if (convert(s, TC_ENC_SET_HT, rnd, ud) != 0) return -1;
    }
    int added;
    if (!tc_dict_add(s->p, m, len, &added)) return -1;
    return added;
}

int tc_set_remove(tc_set *s, const char *m, size_t len)
{
    long long v;
    size_t pos;
    switch (s->enc) {
    case TC_ENC_SET_INTSET:
        if (!as_int(m, len, &v) || !tc_intset_find(s->p, v, &pos)) return 0;
        s->p = tc_intset_remove_at(s->p, pos);
        return 1;
    case TC_ENC_SET_PACK: {
        size_t off = tc_pack_find(s->p, 1, m, len);
        if (off == TC_PACK_NONE) return 0;
        s->p = tc_pack_remove(s->p, off, 1);
        return 1;
    }
    default: return tc_dict_delete(s->p, m, len, NULL);
    }
}

void tc_set_iter_init(tc_set_iter *it, const tc_set *s)
{
    it->s = s;
    it->i = 0;
    it->off = 0;
    if (s->enc == TC_ENC_SET_HT) tc_dict_iter_init(&it->di, s->p);
}

int tc_set_next(tc_set_iter *it, tc_set_member *m)
{
    const tc_set *s = it->s;
    if (s->enc == TC_ENC_SET_INTSET) {
        const tc_intset *is = s->p;
        if (it->i >= is->count) return 0;
        from_int(m, tc_intset_get(is, it->i++));
        return 1;
    }
    if (s->enc == TC_ENC_SET_PACK) {
        const tc_pack *pk = s->p;
        if (it->off >= pk->bytes) return 0;
        it->off = tc_pack_get(pk, it->off, &m->p, &m->len);
        return 1;
    }
    tc_dict_entry *e = tc_dict_next(&it->di);
    if (!e) return 0;
    m->p = tc_dict_key(e, &m->len);
    return 1;
}

void tc_set_random(const tc_set *s, tc_rand_fn rnd, void *ud, tc_set_member *m)
{
    size_t size = tc_set_size(s);
    if (s->enc == TC_ENC_SET_INTSET) {
        from_int(m, tc_intset_get(s->p, (size_t)(rnd(ud) % size)));
    } else if (s->enc == TC_ENC_SET_PACK) {
        tc_pack_get(s->p, tc_pack_offset(s->p, (size_t)(rnd(ud) % size)), &m->p, &m->len);
    } else {
        m->p = tc_dict_key(tc_dict_random(s->p, rnd, ud), &m->len);
    }
}

typedef struct scan_ud {
    tc_set_scan_fn fn;
    void *ud;
} scan_ud;

static void scan_one(void *ud, const tc_dict_entry *e)
{
    scan_ud *s = ud;
    size_t len;
    const char *p = tc_dict_key(e, &len);
    s->fn(s->ud, p, len);
}

uint64_t tc_set_scan(const tc_set *s, uint64_t cursor, tc_set_scan_fn fn, void *ud)
{
    if (s->enc != TC_ENC_SET_HT) {
        tc_set_iter it;
        tc_set_member m;
        tc_set_iter_init(&it, s);
        while (tc_set_next(&it, &m)) fn(ud, m.p, m.len);
        return 0;
    }
    scan_ud su = {fn, ud};
    return tc_dict_scan(s->p, cursor, scan_one, &su);
}

/* ---- the operations row ------------------------------------------------------ */

static const char *encoding_name(const tc_key *k)
{
    return k->encoding == TC_ENC_SET_INTSET ? "intset" : "hashtable"; /* Redis 7.0's two answers */
}

static size_t memory(const tc_key *k)
{
    tc_set s = tc_set_of(k);
    switch (s.enc) {
    case TC_ENC_SET_INTSET: return sizeof s.p + tc_intset_memory(s.p);
    case TC_ENC_SET_PACK: return sizeof s.p + tc_pack_memory(s.p);
    default: return sizeof s.p + tc_dict_memory(s.p);
    }
}

static void free_value(tc_key *k)
{
    tc_set s = tc_set_of(k);
    tc_set_free(&s);
}

static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    unsigned char acc[20] = {0};
    tc_set s = tc_set_of(k);
    tc_set_iter it;
    tc_set_member m;
    tc_set_iter_init(&it, &s);
    while (tc_set_next(&it, &m)) tc_coll_digest_add(acc, m.p, m.len, NULL, 0, 0);
    uint64_t n = tc_set_size(&s);
    feed(ud, acc, sizeof acc);
    feed(ud, &n, sizeof n);
}

/* Layout 1 (snapshot/FORMAT.md §4.2): u8 encoding (0 intset, 1 pack,
 * 2 dict), for a dict its two u64 seed words, u32 count, then count
 * u32-prefixed members in the encoding's order. */
#define LAYOUT 1

static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    tc_set s = tc_set_of(k);
    tc_img_put_u8(scratch, LAYOUT);
    tc_img_put_u8(scratch, (uint8_t)(s.enc - TC_ENC_SET_INTSET));
    if (s.enc == TC_ENC_SET_HT) {
        tc_img_put_u64(scratch, ((tc_dict *)s.p)->seed[0]);
        tc_img_put_u64(scratch, ((tc_dict *)s.p)->seed[1]);
    }
    tc_img_put_u32(scratch, (uint32_t)tc_set_size(&s));
    tc_set_iter it;
    tc_set_member m;
    tc_set_iter_init(&it, &s);
    while (tc_set_next(&it, &m)) tc_img_put_str(scratch, m.p, m.len);
    if (scratch->oom) return -1;
    *p = scratch->data;
    *len = scratch->len;
    return 0;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    tc_img_reader r = {(const unsigned char *)v, (const unsigned char *)v + vlen, 0};
    unsigned layout = tc_img_u8(&r), enc = tc_img_u8(&r);
    if (r.bad || layout != LAYOUT || enc > 2) {
        snprintf(err, errlen, "set record of unknown layout %u / encoding %u", layout, enc);
        return NULL;
    }
    uint64_t seed[2] = {0, 0};
    if (enc == 2) {
        seed[0] = tc_img_u64(&r);
        seed[1] = tc_img_u64(&r);
    }
    uint32_t n = tc_img_u32(&r);
    if (r.bad || n == 0) {
        snprintf(err, errlen, "set record without members");
        return NULL;
    }
    /* The saved encoding, built directly (the limits are not applied again:
     * they decided the encoding where the set was made). */
    tc_set s = {TC_ENC_SET_INTSET + enc, NULL};
    if (enc == 0) s.p = tc_intset_new();
    else if (enc == 1) s.p = tc_pack_new();
    else if ((s.p = tc_dict_new(0, seed[0], seed[1])) && tc_dict_reserve(s.p, n) != 0) {
        tc_dict_free(s.p, NULL);
        s.p = NULL;
    }
    const char *why = s.p ? NULL : "out of memory";
    for (uint32_t i = 0; i < n && !why; i++) {
        size_t len;
        const char *m = tc_img_str(&r, &len);
        long long iv;
        int added = 0;
        if (!m) {
            why = "truncated set record";
        } else if (enc == 0) {
            tc_intset *is = as_int(m, len, &iv) ? tc_intset_add(s.p, iv, &added) : NULL;
            if (is) s.p = is;
            else why = as_int(m, len, &iv) ? "out of memory" : "set record: intset member not an integer";
        } else if (enc == 1) {
            if (tc_pack_find(s.p, 1, m, len) == TC_PACK_NONE) {
                tc_pack *pk = tc_pack_insert(s.p, ((tc_pack *)s.p)->bytes, m, len);
                if (pk) s.p = pk, added = 1;
                else why = "out of memory";
            }
        } else {
            if (!tc_dict_add(s.p, m, len, &added)) why = "out of memory";
        }
        if (!why && !added) why = "set record with a repeated member";
    }
    if (!why && r.p != r.end) why = "set record with trailing bytes";
    tc_key *k = why ? NULL : tc_set_put(ks, key, klen, &s, expire_at);
    if (!k) {
        snprintf(err, errlen, "%s", why ? why : "out of memory");
        if (s.p) {
            if (s.enc == TC_ENC_SET_HT) tc_dict_free(s.p, NULL);
            else free(s.p);
        }
    }
    return k;
}

const tc_type_ops tc_set_type = {
    .type = TC_TYPE_SET,
    .name = "set",
    .encoding_name = encoding_name,
    .refcount = NULL,
    .memory = memory,
    .free_value = free_value,
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = NULL, /* through the image form (tc_key_copy) */
};
