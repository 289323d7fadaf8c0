/* What the collection types (hashes, sets) share: writing a key's value
 * pointer, an order-independent digest of elements, and reading/writing
 * the pieces of their keyspace image records. */
#ifndef TC_COLLECTION_H
#define TC_COLLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "keyspace.h"

/* Points k's value at p (after a pack moved or the encoding changed). */
static inline void tc_coll_set_ptr(tc_key *k, void *p) { memcpy(k->data + k->klen, &p, sizeof p); }

/* DEBUG DIGEST of a collection: the XOR of one SHA-1 per element (its
 * length as a u32 LE and bytes, then, for a pair, the second part's), so it
 * does not depend on the encoding or the order of elements; the type then
 * feeds the 20 bytes and the element count. */
void tc_coll_digest_add(unsigned char acc[20], const char *a, size_t alen, const char *b, size_t blen, int pair);

/* Image pieces: little-endian integers and u32-length-prefixed strings. */
void tc_img_put_u8(tc_buf *b, uint8_t v);
void tc_img_put_u32(tc_buf *b, uint32_t v);
void tc_img_put_u64(tc_buf *b, uint64_t v);
void tc_img_put_str(tc_buf *b, const char *p, size_t len);

typedef struct tc_img_reader {
    const unsigned char *p, *end;
    int bad; /* set by any read past the end */
} tc_img_reader;
uint8_t tc_img_u8(tc_img_reader *r);
uint32_t tc_img_u32(tc_img_reader *r);
uint64_t tc_img_u64(tc_img_reader *r);
/* A string's bytes (pointing into the record), NULL when past the end. */
const char *tc_img_str(tc_img_reader *r, size_t *len);

#endif
