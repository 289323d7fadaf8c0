/* Hashes (type 4): the value behind a hash key and its operations row.
 * Encodings and conversion: hash.h. Commands: t_hash.c. */
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection.h"
#include "lazyfree.h"
#include "types/pack.h"
#include "types/types.h"

/* A field's value in the hashtable encoding. */
typedef struct blob {
    uint32_t len;
    char data[];
} blob;

static blob *blob_new(const char *p, size_t len)
{
    if (len > UINT32_MAX) return NULL;
    blob *b = malloc(sizeof *b + len);
    if (!b) return NULL;
    b->len = (uint32_t)len;
    memcpy(b->data, p, len);
    return b;
}

static int is_pack(const tc_key *k) { return k->encoding == TC_ENC_HASH_LISTPACK; }

tc_key *tc_hash_create(tc_keyspace *ks, const char *key, size_t klen, int64_t expire_at)
{
    tc_pack *pk = tc_pack_new();
    if (!pk) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_HASH, TC_ENC_HASH_LISTPACK, pk, expire_at);
    if (!k) free(pk);
    return k;
}

size_t tc_hash_len(const tc_key *k)
{
    void *v = tc_key_value_ptr(k);
    return is_pack(k) ? ((tc_pack *)v)->count / 2 : tc_dict_size(v);
}

int tc_hash_get(const tc_key *k, const char *f, size_t flen, const char **v, size_t *vlen)
{
    if (is_pack(k)) {
        tc_pack *pk = tc_key_value_ptr(k);
        size_t off = tc_pack_find(pk, 2, f, flen);
        if (off == TC_PACK_NONE) return 0;
        tc_pack_get(pk, tc_pack_skip(pk, off), v, vlen);
        return 1;
    }
    tc_dict_entry *e = tc_dict_find(tc_key_value_ptr(k), f, flen);
    if (!e) return 0;
    blob *b = tc_dict_ptr(e);
    *v = b->data;
    *vlen = b->len;
    return 1;
}

/* listpack -> hashtable; -1 when out of memory (nothing changed). */
static int convert(tc_key *k)
{
    tc_pack *pk = tc_key_value_ptr(k);
    uint64_t seed[2];
    tc_dict_process_seed(seed);
    tc_dict *d = tc_dict_new(1, seed[0], seed[1]);
    if (!d || tc_dict_reserve(d, pk->count / 2 + 1) != 0) goto oom;
    for (size_t off = 0; off < pk->bytes;) {
        const char *f, *v;
        size_t flen, vlen;
        off = tc_pack_get(pk, off, &f, &flen);
        off = tc_pack_get(pk, off, &v, &vlen);
        int added;
        tc_dict_entry *e = tc_dict_add(d, f, flen, &added);
        blob *b = e ? blob_new(v, vlen) : NULL;
        if (!b) goto oom;
        tc_dict_set_ptr(e, b);
        d->owner_bytes += sizeof *b + vlen;
    }
    free(pk);
    tc_coll_set_ptr(k, d);
    k->encoding = TC_ENC_HASH_HT;
    return 0;
oom:
    tc_dict_free(d, free);
    return -1;
}

int tc_hash_set(tc_key *k, const tc_enc_limits *lim, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (is_pack(k)) {
        tc_pack *pk = tc_key_value_ptr(k);
        size_t off = tc_pack_find(pk, 2, f, flen);
        /* as Redis's hashTypeTryConversion and hashTypeSet: a long field or
         * value, or a pack already past the entries limit (lowered by
         * CONFIG SET since it grew), converts on this write */
        int big = flen > lim->hash_max_listpack_value || vlen > lim->hash_max_listpack_value ||
                  pk->count / 2 > lim->hash_max_listpack_entries;
        if (!big && off != TC_PACK_NONE) {
            tc_pack *n = tc_pack_replace(pk, tc_pack_skip(pk, off), v, vlen);
            if (!n) return -1;
            tc_coll_set_ptr(k, n);
            return 0;
        }
        if (!big && pk->count / 2 < lim->hash_max_listpack_entries) {
            tc_pack *n = tc_pack_insert(pk, pk->bytes, f, flen);
            if (!n) return -1;
            tc_pack *m = tc_pack_insert(n, n->bytes, v, vlen);
            if (!m) {
                tc_coll_set_ptr(k, tc_pack_remove(n, tc_pack_offset(n, n->count - 1), 1));
                return -1;
            }
            tc_coll_set_ptr(k, m);
            return 1;
        }
        if (convert(k) != 0) return -1;
    }
    tc_dict *d = tc_key_value_ptr(k);
    blob *b = blob_new(v, vlen);
    if (!b) return -1;
    int added;
    tc_dict_entry *e = tc_dict_add(d, f, flen, &added);
    if (!e) {
        free(b);
        return -1;
    }
    if (!added) {
        blob *old = tc_dict_ptr(e);
        d->owner_bytes -= sizeof *old + old->len;
        free(old);
    }
    tc_dict_set_ptr(e, b);
    d->owner_bytes += sizeof *b + vlen;
    return added;
}

int tc_hash_del(tc_key *k, const char *f, size_t flen)
{
    if (is_pack(k)) {
        tc_pack *pk = tc_key_value_ptr(k);
        size_t off = tc_pack_find(pk, 2, f, flen);
        if (off == TC_PACK_NONE) return 0;
        tc_coll_set_ptr(k, tc_pack_remove(pk, off, 2));
        return 1;
    }
    tc_dict *d = tc_key_value_ptr(k);
    tc_dict_entry *e = tc_dict_find(d, f, flen);
    if (!e) return 0;
    blob *b = tc_dict_ptr(e);
    d->owner_bytes -= sizeof *b + b->len;
    return tc_dict_delete(d, f, flen, free);
}

void tc_hash_iter_init(tc_hash_iter *it, const tc_key *k)
{
    it->k = k;
    it->off = 0;
    if (!is_pack(k)) tc_dict_iter_init(&it->di, tc_key_value_ptr(k));
}

int tc_hash_next(tc_hash_iter *it, const char **f, size_t *flen, const char **v, size_t *vlen)
{
    if (is_pack(it->k)) {
        tc_pack *pk = tc_key_value_ptr(it->k);
        if (it->off >= pk->bytes) return 0;
        it->off = tc_pack_get(pk, it->off, f, flen);
        it->off = tc_pack_get(pk, it->off, v, vlen);
        return 1;
    }
    tc_dict_entry *e = tc_dict_next(&it->di);
    if (!e) return 0;
    *f = tc_dict_key(e, flen);
    blob *b = tc_dict_ptr(e);
    *v = b->data;
    *vlen = b->len;
    return 1;
}

typedef struct scan_ud {
    tc_hash_scan_fn fn;
    void *ud;
} scan_ud;

static void scan_one(void *ud, const tc_dict_entry *e)
{
    scan_ud *s = ud;
    size_t flen;
    const char *f = tc_dict_key(e, &flen);
    blob *b = tc_dict_ptr(e);
    s->fn(s->ud, f, flen, b->data, b->len);
}

uint64_t tc_hash_scan(tc_key *k, uint64_t cursor, tc_hash_scan_fn fn, void *ud)
{
    if (is_pack(k)) {
        tc_hash_iter it;
        const char *f, *v;
        size_t flen, vlen;
        tc_hash_iter_init(&it, k);
        while (tc_hash_next(&it, &f, &flen, &v, &vlen)) fn(ud, f, flen, v, vlen);
        return 0;
    }
    scan_ud s = {fn, ud};
    return tc_dict_scan(tc_key_value_ptr(k), cursor, scan_one, &s);
}

void tc_hash_random(tc_key *k, uint64_t (*next)(void *), void *ud, const char **f, size_t *flen, const char **v,
                    size_t *vlen)
{
    if (is_pack(k)) {
        tc_pack *pk = tc_key_value_ptr(k);
        size_t off = tc_pack_offset(pk, 2 * (size_t)(next(ud) % (pk->count / 2)));
        off = tc_pack_get(pk, off, f, flen);
        tc_pack_get(pk, off, v, vlen);
        return;
    }
    tc_dict_entry *e = tc_dict_random(tc_key_value_ptr(k), next, ud);
    *f = tc_dict_key(e, flen);
    blob *b = tc_dict_ptr(e);
    *v = b->data;
    *vlen = b->len;
}

/* ---- the operations row ------------------------------------------------------ */

static const char *encoding_name(const tc_key *k) { return is_pack(k) ? "listpack" : "hashtable"; }

static size_t memory(const tc_key *k)
{
    void *v = tc_key_value_ptr(k);
    if (is_pack(k)) return sizeof v + tc_pack_memory(v);
    return sizeof v + tc_dict_memory(v) + ((const tc_dict *)v)->owner_bytes; /* O(1): used before and after writes */
}

static void free_dict_values(void *d) { tc_dict_free(d, free); }

static void free_value(tc_key *k)
{
    void *v = tc_key_value_ptr(k);
    if (is_pack(k)) free(v); /* one allocation: nothing to gain in the background */
    else tc_lazyfree(free_dict_values, v, tc_dict_size(v));
}

static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    unsigned char acc[20] = {0};
    tc_hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    tc_hash_iter_init(&it, k);
    while (tc_hash_next(&it, &f, &flen, &v, &vlen)) tc_coll_digest_add(acc, f, flen, v, vlen, 1);
    uint64_t n = tc_hash_len(k);
    feed(ud, acc, sizeof acc);
    feed(ud, &n, sizeof n);
}

/* Layout 1 (snapshot/FORMAT.md §4.4): u32 count, then count pairs of
 * u32-prefixed field and value, in the encoding's order. */
#define LAYOUT 1

static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    tc_img_put_u8(scratch, LAYOUT);
    tc_img_put_u32(scratch, (uint32_t)tc_hash_len(k));
    tc_hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    tc_hash_iter_init(&it, k);
    while (tc_hash_next(&it, &f, &flen, &v, &vlen)) {
        tc_img_put_str(scratch, f, flen);
        tc_img_put_str(scratch, v, vlen);
    }
    if (scratch->oom) return -1;
    *p = scratch->data;
    *len = scratch->len;
    return 0;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    tc_img_reader r = {(const unsigned char *)v, (const unsigned char *)v + vlen, 0};
    unsigned layout = tc_img_u8(&r);
    if (layout != LAYOUT) {
        snprintf(err, errlen, "hash record of unknown layout %u", layout);
        return NULL;
    }
    uint32_t n = tc_img_u32(&r);
    if (r.bad || n == 0) {
        snprintf(err, errlen, "hash record without fields");
        return NULL;
    }
    /* Built under a temporary name? No: a failure below deletes the key, and
     * the loader treats the whole image as failed anyway. */
    tc_key *k = tc_hash_create(ks, key, klen, expire_at);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t flen, len;
        const char *f = tc_img_str(&r, &flen), *val = tc_img_str(&r, &len);
        int rc = (f && val) ? tc_hash_set(k, &ks->enc, f, flen, val, len) : -2;
        if (rc == 1) continue;
        snprintf(err, errlen, "%s", rc == -1 ? "out of memory" : rc == 0 ? "hash record with a repeated field" : "truncated hash record");
        tc_ks_delete(ks, key, klen);
        return NULL;
    }
    if (r.p != r.end) {
        snprintf(err, errlen, "hash record with trailing bytes");
        tc_ks_delete(ks, key, klen);
        return NULL;
    }
    return k;
}

const tc_type_ops tc_hash_type = {
    .type = TC_TYPE_HASH,
    .name = "hash",
    .encoding_name = encoding_name,
    .refcount = NULL,
    .memory = memory,
    .free_value = free_value,
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = NULL, /* through the image form (tc_key_copy) */
};
