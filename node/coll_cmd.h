/* What the hash and set commands share: argument parsing with Redis's
 * texts, the read-side random generator, and HSCAN/SSCAN's option handling
 * and reply. */
#ifndef TC_COLL_CMD_H
#define TC_COLL_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"

#define TC_ERR_OOM "ERR out of memory"

/* Random words for read commands (HRANDFIELD, SRANDMEMBER): a generator of
 * this process seeded at random; ud is ignored. Write commands never use it
 * (they use the command PRNG, the same on every node). */
uint64_t tc_read_rand(void *ud);

/* Random words for write commands (SPOP, a set's dict seed): drawn from
 * the command PRNG (c->rng, seeded from the log entry), so the same on
 * every node that applies the command. A handler wraps it once per command
 * and passes the wrapper as ud to functions that take a word source. */
typedef struct tc_write_rng {
    tc_rng *rng;
} tc_write_rng;
void tc_write_rand_init(tc_write_rng *g, const tc_ctx *c);
uint64_t tc_write_rand(void *ud);

/* A count in [-LLONG_MAX, LLONG_MAX] (HRANDFIELD, SRANDMEMBER); 0, or -1
 * with Redis's error replied. */
int tc_coll_parse_count(tc_ctx *c, const tc_slice *a, long long *out);
/* An unsigned 64-bit SCAN cursor; 0, or -1 with "ERR invalid cursor". */
int tc_coll_parse_cursor(tc_ctx *c, const tc_slice *a, uint64_t *out);

/* The strings a SCAN step collected, copied (an intset's members are
 * formatted into a scratch buffer). */
typedef struct tc_scan_item {
    size_t off, len; /* in bytes */
} tc_scan_item;
typedef struct tc_scan_list {
    tc_scan_item *v;
    size_t n, cap;
    tc_buf bytes;
    int oom;
    const tc_slice *pattern; /* NULL: all */
} tc_scan_list;
/* 1 if s matches the MATCH pattern (or there is none). */
int tc_scan_list_match(const tc_scan_list *l, const char *s, size_t len);
void tc_scan_list_add(tc_scan_list *l, const char *s, size_t len);

/* HSCAN/SSCAN key cursor [MATCH pattern] [COUNT count] after the cursor and
 * the key were checked: parses the options from argv[3], calls step until
 * COUNT elements or 10*COUNT steps, and replies [cursor, elements]. src NULL:
 * the key is absent (the empty scan). */
typedef uint64_t (*tc_coll_scan_step)(void *src, uint64_t cursor, tc_scan_list *l);
void tc_coll_scan(tc_ctx *c, void *src, uint64_t cursor, tc_coll_scan_step step);

#endif
