/* Helpers shared by test_hash.c and test_set.c: a second node, the digest
 * of a node's keyspace, and a key moved through its image record. */
#ifndef TEST_HASH_SET_COMMON_H
#define TEST_HASH_SET_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "types/types.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static inline void digest_of(fx *f, unsigned char out[20]) { tc_ks_digest(&f->srv.dbs[0], f->now_ms, out); }

/* Copies key from a to b through its type's image record (what a Raft
 * snapshot does to every key). */
static inline void image_copy(fx *a, fx *b, const char *key)
{
    tc_key *k = tc_ks_peek(&a->srv.dbs[0], key, strlen(key), a->now_ms);
    assert_non_null(k);
    const tc_type_ops *ops = tc_key_type(k);
    tc_buf scratch = {0};
    const char *p;
    size_t len;
    assert_int_equal(ops->image_encode(k, &scratch, &p, &len), 0);
    char err[128] = "";
    tc_key *n = ops->image_decode(&b->srv.dbs[0], key, strlen(key), p, len, k->expire_at, err, sizeof err);
    if (!n) fprintf(stderr, "image_decode: %s\n", err);
    assert_non_null(n);
    tc_buf_free(&scratch);
}

#endif
