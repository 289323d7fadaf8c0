/* What the sorted-set command files (t_zset.c, t_zset_ops.c) share. */
#ifndef TC_T_ZSET_H
#define TC_T_ZSET_H

#include "commands.h"
#include "types/zset.h"

/* The live sorted set at key, NULL if absent; replies WRONGTYPE and sets
 * *wrong when key holds another type. */
tc_key *tc_zset_lookup(tc_ctx *c, const tc_slice *key, int *wrong);
/* A score argument (Redis's getDoubleFromObject); 0 or -1. */
int tc_zparse_score(const tc_slice *a, double *out);
/* n elements of k from rank start (downwards when reverse), as ZRANGE
 * replies them. */
void tc_zreply_range(tc_ctx *c, const tc_key *k, size_t start, size_t n, int reverse, int withscores);
/* Replaces dst with the sorted vector (deletes it when v is empty) and
 * replies the count: the STORE commands; event is the command's keyspace
 * event ("zunionstore", ...), "del" when an existing dst goes. */
void tc_zset_store_vec(tc_ctx *c, const tc_slice *dst, const tc_zvec *v, const char *event);
/* A score as Redis 7.0 prints it (%.17g, "inf", "-inf"). */
int tc_zformat_score(char *buf, size_t cap, double s);

#endif
