/* A packed list of strings in one allocation: Redis's listpack idea for
 * small hashes (field, value, field, value, ...) and small sets. Each entry
 * is its length as a LEB128 varint (1 byte below 128) then its bytes, so a
 * 5-byte field costs 6 bytes instead of an allocation of its own. Lookups
 * are linear; the types keep packs small (hash-max-listpack-entries etc.)
 * and convert to a tc_dict past that.
 *
 * Entries are addressed by byte offset: 0 is the first entry, pk->bytes the
 * end. Changing functions return the pack, which may have moved, or NULL
 * when out of memory (the old pack unchanged and still valid). */
#ifndef TC_PACK_H
#define TC_PACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_pack {
    uint32_t count; /* entries */
    uint32_t bytes; /* of data */
    unsigned char data[];
} tc_pack;

#define TC_PACK_NONE SIZE_MAX

tc_pack *tc_pack_new(void);
/* The entry at off (*p, *len); returns the offset of the next entry. */
size_t tc_pack_get(const tc_pack *pk, size_t off, const char **p, size_t *len);
/* Offset of the entry after the one at off. */
size_t tc_pack_skip(const tc_pack *pk, size_t off);
/* Offset of entry number index (linear). */
size_t tc_pack_offset(const tc_pack *pk, size_t index);
/* Offset of the first entry equal to p among entries 0, step, 2*step...
 * (step 2: the fields of a field/value pack), or TC_PACK_NONE. */
size_t tc_pack_find(const tc_pack *pk, size_t step, const char *p, size_t len);
/* Inserts an entry before off (pk->bytes: appends). */
tc_pack *tc_pack_insert(tc_pack *pk, size_t off, const char *p, size_t len);
/* Removes n entries starting at off. */
tc_pack *tc_pack_remove(tc_pack *pk, size_t off, size_t n);
/* Replaces the entry at off. */
tc_pack *tc_pack_replace(tc_pack *pk, size_t off, const char *p, size_t len);
/* Bytes the pack takes (header and data). */
size_t tc_pack_memory(const tc_pack *pk);

#endif
