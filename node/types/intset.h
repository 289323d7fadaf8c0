/* A sorted array of distinct integers in one allocation, each stored in
 * the narrowest width (2, 4 or 8 bytes) that fits the set's largest
 * magnitude: Redis's intset, for small all-integer sets. Changing
 * functions return the set, which may have moved, or NULL when out of
 * memory (the old set unchanged). */
#ifndef TC_INTSET_H
#define TC_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct tc_intset {
    uint32_t count;
    uint32_t width; /* bytes per element: 2, 4 or 8 */
    unsigned char data[];
} tc_intset;

tc_intset *tc_intset_new(void);
int64_t tc_intset_get(const tc_intset *is, size_t i);
/* 1 and its position if v is in the set; else 0 and where it would go. */
int tc_intset_find(const tc_intset *is, int64_t v, size_t *pos);
/* Adds v (*added = 0 if it was there). */
tc_intset *tc_intset_add(tc_intset *is, int64_t v, int *added);
/* Removes the element at pos. */
tc_intset *tc_intset_remove_at(tc_intset *is, size_t pos);
size_t tc_intset_memory(const tc_intset *is);

#endif
