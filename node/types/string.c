/* Strings: the value's bytes inline after the key's name, so a string key
 * is one allocation (keyspace.h). Its commands are in t_string.c. */
#include <limits.h>
#include <stdio.h>

#include "commands.h"
#include "types.h"

/* Redis shares the integers 0..9999 (OBJ_SHARED_INTEGERS) between keys, and
 * OBJECT REFCOUNT says INT_MAX (OBJ_SHARED_REFCOUNT) for them. */
#define SHARED_INTEGERS 10000

/* Whether Redis's tryObjectEncoding would make k an "int": at most 20
 * characters that string2l accepts. */
static int as_integer(const tc_key *k, long long *v)
{
    return k->vlen <= 20 && tc_parse_ll(tc_key_cstr(k), k->vlen, v) == 0;
}

static const char *encoding_name(const tc_key *k)
{
    long long v;
    switch (k->encoding) {
    case TC_ENC_INLINE_RAW: return "raw";
    case TC_ENC_INLINE_EMBSTR: break;
    default:
        if (as_integer(k, &v)) return "int";
        break;
    }
    return k->vlen <= TC_EMBSTR_SIZE_LIMIT ? "embstr" : "raw";
}

static long long refcount(const tc_key *k)
{
    long long v;
    if (k->encoding == TC_ENC_INLINE && as_integer(k, &v) && v >= 0 && v < SHARED_INTEGERS) return INT_MAX;
    return 1;
}

static size_t memory(const tc_key *k) { return k->vlen; }

/* The value's part of the digest as it has always been: its length as a
 * native u32, then its bytes. */
static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    uint32_t vlen = k->vlen;
    feed(ud, &vlen, sizeof vlen);
    feed(ud, tc_key_cstr(k), k->vlen);
}

/* A string record's value is the string's bytes (snapshot/FORMAT.md §4). */
static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    (void)scratch;
    *p = tc_key_cstr(k);
    *len = k->vlen;
    return 0;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    tc_key *k = tc_ks_set(ks, key, klen, v, vlen, expire_at);
    if (!k) snprintf(err, errlen, "out of memory");
    return k;
}

static tc_key *copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at)
{
    unsigned enc = src->encoding; /* src goes if it is the key replaced */
    tc_key *k = tc_ks_set(ks, key, klen, tc_key_cstr(src), src->vlen, expire_at);
    if (k) k->encoding = enc;
    return k;
}

const tc_type_ops tc_string_type = {
    .type = TC_TYPE_STRING,
    .name = "string",
    .encoding_name = encoding_name,
    .refcount = refcount,
    .memory = memory,
    .free_value = NULL, /* always inline */
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = copy,
};
