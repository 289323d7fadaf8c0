/* The registry of value types: one row per type, at its number. */
#include <stdio.h>

#include "types.h"

static const tc_type_ops *const registry[TC_TYPE_MAX + 1] = {
    [TC_TYPE_STRING] = &tc_string_type,
    [TC_TYPE_LIST] = &tc_list_type,
    [TC_TYPE_ZSET] = &tc_zset_type,
    [TC_TYPE_SET] = &tc_set_type,
    [TC_TYPE_HASH] = &tc_hash_type,
    [TC_TYPE_STREAM] = &tc_stream_type,
};

const tc_type_ops *tc_type_ops_of(unsigned t) { return t <= TC_TYPE_MAX ? registry[t] : NULL; }

tc_key *tc_type_record_decode(tc_keyspace *dbs, int ndbs, unsigned type, const char *key, size_t klen, const char *v,
                              size_t vlen, int64_t expire_at, int *db, char *err, size_t errlen)
{
    uint32_t n = 0;
    if (type & TC_RECORD_IN_DB) {
        if (vlen < 4) {
            snprintf(err, errlen, "a record's database number is cut short");
            return NULL;
        }
        const unsigned char *p = (const unsigned char *)v;
        n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        v += 4;
        vlen -= 4;
        type &= ~TC_RECORD_IN_DB;
    }
    if (n >= (uint32_t)ndbs) {
        snprintf(err, errlen,
                 "a key of database %u, but this node has %d database%s (databases in cluster.toml; cluster_mode "
                 "keeps 1)",
                 n, ndbs, ndbs == 1 ? "" : "s");
        return NULL;
    }
    const tc_type_ops *ops = tc_type_ops_of(type);
    if (!ops) {
        snprintf(err, errlen, "a record holds a value of unknown type %u", type);
        return NULL;
    }
    tc_key *k = ops->image_decode(&dbs[n], key, klen, v, vlen, expire_at, err, errlen);
    if (k && db) *db = (int)n;
    return k;
}

tc_key *tc_key_copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at)
{
    const tc_type_ops *ops = tc_key_type(src);
    if (!ops) return NULL;
    if (ops->copy) return ops->copy(ks, src, key, klen, expire_at);
    tc_buf b = {0};
    const char *p;
    size_t len;
    char err[64];
    tc_key *k = NULL;
    if (ops->image_encode(src, &b, &p, &len) == 0)
        k = ops->image_decode(ks, key, klen, p, len, expire_at, err, sizeof err);
    tc_buf_free(&b);
    return k;
}

const char *tc_key_type_name(const tc_key *k)
{
    if (!k) return "none";
    const tc_type_ops *ops = tc_key_type(k);
    return ops ? ops->name : "unknown";
}
