/* Lists (type 1): a quicklist, as Redis 7.0 keeps every list — a doubly
 * linked list of nodes, each node one packed buffer of up to
 * TC_LIST_NODE_BYTES of entries (a node holding a single bigger element is
 * allowed). An entry costs its bytes plus two or three: a one-byte header
 * for strings under 64 bytes (small integers are the header alone, larger
 * ones 2..9 bytes) and a one-byte back length to walk backwards. Pushes and
 * pops at either end touch only the end node; an index walks whole nodes by
 * their element counts from the nearer end, then entries inside one node.
 *
 * The commands are in node/t_list.c; this is the structure they use. */
#ifndef TC_LIST_H
#define TC_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* list-max-listpack-size -2 (Redis's default): nodes of up to 8 KB. A
 * list takes the setting when it is made (tc_list_set_fill), as a Redis
 * quicklist does. */
#define TC_LIST_NODE_BYTES 8192
/* OBJECT ENCODING "quicklist": Redis 7.0 has no other list encoding. */
#define TC_ENC_QUICKLIST 8

typedef struct tc_lnode tc_lnode;

typedef struct tc_list {
    tc_lnode *head, *tail;
    size_t count;  /* elements */
    size_t nnodes;
    size_t alloc;  /* bytes of the nodes' allocations (headers and buffers) */
    uint32_t max_bytes; /* a node's entries take at most this many bytes... */
    uint32_t max_count; /* ...and are at most this many (list-max-listpack-size) */
} tc_list;

enum { TC_LIST_HEAD = 0, TC_LIST_TAIL = 1 };

/* One element: its bytes, which point into the node (or into num for an
 * integer entry) and stay valid until the list changes. */
typedef struct tc_lval {
    const char *p;
    size_t len;
    char num[24];
} tc_lval;

/* A position: an element of the list, or past either end (node NULL). */
typedef struct tc_liter {
    tc_list *l;
    tc_lnode *node;
    uint32_t off; /* byte offset of the entry in the node */
    uint32_t i;   /* its position among the node's entries */
} tc_liter;

/* An empty list with list-max-listpack-size -2. */
tc_list *tc_list_new(void);
/* Sets the node size from list-max-listpack-size: -1..-5 a byte size
 * (4 KB .. 64 KB), N > 0 entries per node (within 8 KB); for an empty
 * list, or one whose nodes may stay as they are until they change. */
void tc_list_set_fill(tc_list *l, int fill);
void tc_list_free(tc_list *l);
tc_list *tc_list_dup(const tc_list *l);

/* 0, or -1 when out of memory (nothing changed). */
int tc_list_push(tc_list *l, int where, const char *p, size_t len);
/* The element at an end (the list must not be empty). */
void tc_list_peek(tc_list *l, int where, tc_lval *v);
/* Drops n elements from an end. */
void tc_list_drop(tc_list *l, int where, size_t n);

/* Positions it at index (0-based, 0 <= index < count); returns 0, or -1
 * when index is out of range (it then points nowhere). */
int tc_list_seek(tc_list *l, size_t index, tc_liter *it);
/* Element under it; it must point at one. */
void tc_liter_get(const tc_liter *it, tc_lval *v);
/* Moves on (TC_LIST_TAIL) or back (TC_LIST_HEAD); 0, or -1 at the end. */
int tc_liter_step(tc_liter *it, int dir);
int tc_liter_valid(const tc_liter *it);
int tc_liter_equals(const tc_liter *it, const char *p, size_t len);
/* Removes the element under it; it then points at the element that
 * followed in direction dir (or nowhere). */
void tc_liter_delete(tc_liter *it, int dir);
/* Replaces the element under it (it stays on it); 0 or -1 (out of memory,
 * nothing changed). */
int tc_liter_replace(tc_liter *it, const char *p, size_t len);
/* Inserts before (TC_LIST_HEAD) or after (TC_LIST_TAIL) the element under
 * it; it becomes invalid. 0 or -1 (out of memory). */
int tc_liter_insert(tc_liter *it, int where, const char *p, size_t len);

/* Removes count elements starting at index (both within the list). */
void tc_list_delete_range(tc_list *l, size_t index, size_t count);

/* The list stored at k (k must be a list). */
static inline tc_list *tc_key_list(const tc_key *k) { return tc_key_value_ptr(k); }

#endif
