/* The ordered index of a large sorted set: a B+tree of element pointers
 * ordered by (score, member), with the element count of every subtree in its
 * parent so that rank queries (ZRANK, ZRANGE by index) and positioning by
 * score or member bound are O(log n).
 *
 * Why a B+tree and not Redis's skiplist: a skiplist node spends a backward
 * pointer and on average 1.33 levels of (forward pointer, span) on each
 * element, ~37 bytes; here an element costs one pointer slot in a leaf (64
 * slots, filled 50..100%, appends fill leaves completely) plus a negligible
 * share of inner nodes. The elements themselves are the entries of the
 * set's member -> score dict (dict.h), so a member is stored once.
 *
 * Every operation is by rank (0 = smallest), which is what the commands
 * need; zt_lower turns a bound into a rank. */
#ifndef TC_ZSET_TREE_H
#define TC_ZSET_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An element is opaque to the tree: it orders pointers, and only the
 * caller's zt_before_fn looks at what they point at (a sorted set's dict
 * entries, which hold member and score). */
typedef void zt_elem;

typedef struct zt_tree {
    void *root;   /* a leaf or an inner node; NULL when empty */
    size_t count;
    int height;   /* 0: root is a leaf */
    size_t leaves, inners; /* node counts, for MEMORY USAGE */
} zt_tree;

typedef struct zt_iter {
    void *leaf;
    unsigned idx;
} zt_iter;

void zt_init(zt_tree *t);
/* Frees the nodes and, through free_elem (may be NULL), every element. */
void zt_free(zt_tree *t, void (*free_elem)(zt_elem *e));

/* The number of leading elements for which before(e, ud) is true; before
 * must be true for a prefix of the order and false after it. */
typedef int (*zt_before_fn)(const zt_elem *e, void *ud);
size_t zt_lower(const zt_tree *t, zt_before_fn before, void *ud);

/* The element at rank r (< count). */
zt_elem *zt_at(const zt_tree *t, size_t r);
/* Inserts e at rank r (<= count); the caller keeps the order (r is the
 * number of elements before e). 0, or -1 when out of memory (nothing
 * changed). */
int zt_insert_at(zt_tree *t, size_t r, zt_elem *e);
/* Removes and returns the element at rank r (< count). */
zt_elem *zt_delete_at(zt_tree *t, size_t r);

/* Iteration from rank r (< count) in either direction: *it then yields the
 * element at r first. */
void zt_seek(const zt_tree *t, size_t r, zt_iter *it);
/* The current element, then it moves forward or backward; NULL at the end. */
zt_elem *zt_next(zt_iter *it);
zt_elem *zt_prev(zt_iter *it);

/* Bytes the tree's nodes take (not the elements). */
size_t zt_nodes_memory(const zt_tree *t);

#endif
