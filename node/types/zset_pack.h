/* The compact encoding of a small sorted set (OBJECT ENCODING "listpack"):
 * one allocation holding a small header and the elements in (score, member)
 * order, back to back, as Redis's listpack keeps them. Sized exactly (one
 * realloc per change), scanned linearly: it only ever holds up to
 * zset-max-listpack-entries (128) elements of up to zset-max-listpack-value
 * (64) bytes.
 *
 * Layout: u32 count, u32 bytes of elements, then per element
 *   a tag byte: 0 = 8-byte double follows, 1/2/3/4 = the score is an integer
 *   held in 1/2/4/8 bytes (little endian, two's complement) — most
 *   leaderboard scores are small integers, 2..3 bytes instead of 9 —,
 *   the member's length as a varint, the member's bytes. */
#ifndef TC_ZSET_PACK_H
#define TC_ZSET_PACK_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned char zpack;

typedef struct zp_ent {
    double score;
    const char *m;
    size_t len;
    size_t off;  /* where this element starts */
    size_t next; /* where the next one starts */
} zp_ent;

#define ZP_HEADER 8

zpack *zp_new(void);
size_t zp_count(const zpack *p);
/* Bytes of the allocation. */
size_t zp_bytes(const zpack *p);
/* Reads the element at offset off (ZP_HEADER for the first); 0 past the
 * end. */
int zp_read(const zpack *p, size_t off, zp_ent *out);
/* Inserts an element before offset off. The new buffer, NULL when out of
 * memory (p unchanged). */
zpack *zp_insert(zpack *p, size_t off, double score, const char *m, size_t len);
/* Removes n elements starting at offset off (the buffer shrinks). */
zpack *zp_delete(zpack *p, size_t off, size_t n);

#endif
