/* The registry of value types: one row per type, at its number. */
#include <stdio.h>

#include "types.h"

static const tc_type_ops *const registry[TC_TYPE_MAX + 1] = {
    [TC_TYPE_STRING] = &tc_string_type,
    [TC_TYPE_LIST] = &tc_list_type,
    [TC_TYPE_ZSET] = &tc_zset_type,
    [TC_TYPE_SET] = &tc_set_type,
    [TC_TYPE_HASH] = &tc_hash_type,
};

const tc_type_ops *tc_type_ops_of(unsigned t) { return t <= TC_TYPE_MAX ? registry[t] : NULL; }

tc_key *tc_type_record_decode(tc_keyspace *ks, unsigned type, const char *key, size_t klen, const char *v,
                              size_t vlen, int64_t expire_at, char *err, size_t errlen)
{
    const tc_type_ops *ops = tc_type_ops_of(type);
    if (!ops) {
        snprintf(err, errlen, "a record holds a value of unknown type %u", type);
        return NULL;
    }
    return ops->image_decode(ks, key, klen, v, vlen, expire_at, err, errlen);
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
