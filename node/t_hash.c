/* Hash commands. Semantics, reply shapes and error texts follow Redis 7.0
 * (t_hash.c). The value itself: types/hash.h. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "coll_cmd.h"
#include "notify.h"
#include "types/hash.h"

/* The live hash at key, NULL if absent; WRONGTYPE replied (and *wrong
 * set) for another type. */
static tc_key *find_hash(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (k && k->type != TC_TYPE_HASH) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* find_hash, creating an empty hash when absent (the caller adds to it). */
static tc_key *find_or_create(tc_ctx *c, const tc_slice *key)
{
    int wrong;
    tc_key *k = find_hash(c, key, &wrong);
    if (wrong) return NULL;
    if (!k && !(k = tc_hash_create(c->ks, key->p, key->len, 0))) tc_reply_error(c->r, TC_ERR_OOM);
    return k;
}

/* A hash left empty (a failed first write) leaves the keyspace. */
static void drop_if_empty(tc_ctx *c, tc_key *k, const tc_slice *key)
{
    if (tc_hash_len(k) == 0) tc_ks_delete(c->ks, key->p, key->len);
}

/* HSET key field value [field value ...] / HMSET: the fields and values go
 * in one by one; an out-of-memory half way keeps what went in (Redis would
 * have been killed by then). */
static void hset_generic(tc_ctx *c, int hmset)
{
    if (c->argc % 2 == 1) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for '%s' command", hmset ? "hmset" : "hset");
        return;
    }
    tc_key *k = find_or_create(c, &c->argv[1]);
    if (!k) return;
    long long added = 0;
    for (size_t i = 2; i < c->argc; i += 2) {
        int rc = tc_hash_set(k, &c->ks->enc, c->argv[i].p, c->argv[i].len, c->argv[i + 1].p, c->argv[i + 1].len);
        if (rc < 0) {
            drop_if_empty(c, k, &c->argv[1]);
            tc_reply_error(c->r, TC_ERR_OOM);
            return;
        }
        added += rc;
    }
    tc_notify(c, TC_NOTIFY_HASH, "hset", &c->argv[1]);
    if (hmset) tc_reply_ok(c->r);
    else tc_reply_int(c->r, added);
}

void tc_cmd_hset(tc_ctx *c) { hset_generic(c, 0); }
void tc_cmd_hmset(tc_ctx *c) { hset_generic(c, 1); }

void tc_cmd_hsetnx(tc_ctx *c)
{
    tc_key *k = find_or_create(c, &c->argv[1]);
    if (!k) return;
    const char *v;
    size_t vlen;
    if (tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen)) {
        tc_reply_int(c->r, 0);
        return;
    }
    if (tc_hash_set(k, &c->ks->enc, c->argv[2].p, c->argv[2].len, c->argv[3].p, c->argv[3].len) < 0) {
        drop_if_empty(c, k, &c->argv[1]);
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    tc_notify(c, TC_NOTIFY_HASH, "hset", &c->argv[1]);
    tc_reply_int(c->r, 1);
}

void tc_cmd_hget(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    const char *v;
    size_t vlen;
    if (k && tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen)) tc_reply_bulk(c->r, v, vlen);
    else tc_reply_null(c->r);
}

void tc_cmd_hmget(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_reply_array(c->r, c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        const char *v;
        size_t vlen;
        if (k && tc_hash_get(k, c->argv[i].p, c->argv[i].len, &v, &vlen)) tc_reply_bulk(c->r, v, vlen);
        else tc_reply_null(c->r);
    }
}

void tc_cmd_hdel(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long deleted = 0;
    int emptied = 0;
    for (size_t i = 2; k && i < c->argc; i++) {
        deleted += tc_hash_del(k, c->argv[i].p, c->argv[i].len);
        if (tc_hash_len(k) == 0) {
            tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
            emptied = 1;
            break;
        }
    }
    if (deleted) tc_notify(c, TC_NOTIFY_HASH, "hdel", &c->argv[1]);
    if (emptied) tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[1]);
    tc_reply_int(c->r, deleted);
}

void tc_cmd_hexists(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    const char *v;
    size_t vlen;
    tc_reply_int(c->r, k && tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen));
}

void tc_cmd_hlen(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_reply_int(c->r, k ? (long long)tc_hash_len(k) : 0);
}

void tc_cmd_hstrlen(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    const char *v;
    size_t vlen = 0;
    if (!k || !tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen)) vlen = 0;
    tc_reply_int(c->r, (long long)vlen);
}

enum { FIELDS = 1, VALUES = 2 };

/* HGETALL (a map in RESP3), HKEYS, HVALS. */
static void getall(tc_ctx *c, int what)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    size_t n = k ? tc_hash_len(k) : 0;
    if (what == (FIELDS | VALUES)) tc_reply_map(c->r, n);
    else tc_reply_array(c->r, n);
    if (!k) return;
    tc_hash_iter it;
    const char *f, *v;
    size_t flen, vlen;
    tc_hash_iter_init(&it, k);
    while (tc_hash_next(&it, &f, &flen, &v, &vlen)) {
        if (what & FIELDS) tc_reply_bulk(c->r, f, flen);
        if (what & VALUES) tc_reply_bulk(c->r, v, vlen);
    }
}

void tc_cmd_hgetall(tc_ctx *c) { getall(c, FIELDS | VALUES); }
void tc_cmd_hkeys(tc_ctx *c) { getall(c, FIELDS); }
void tc_cmd_hvals(tc_ctx *c) { getall(c, VALUES); }

void tc_cmd_hincrby(tc_ctx *c)
{
    long long by, cur = 0;
    if (tc_parse_ll(c->argv[3].p, c->argv[3].len, &by) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return;
    }
    tc_key *k = find_or_create(c, &c->argv[1]);
    if (!k) return;
    const char *v;
    size_t vlen;
    if (tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen) && tc_parse_ll(v, vlen, &cur) != 0) {
        tc_reply_error(c->r, "ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) || (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
        drop_if_empty(c, k, &c->argv[1]);
        tc_reply_error(c->r, "ERR increment or decrement would overflow");
        return;
    }
    cur += by;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", cur);
    if (tc_hash_set(k, &c->ks->enc, c->argv[2].p, c->argv[2].len, buf, (size_t)n) < 0) {
        drop_if_empty(c, k, &c->argv[1]);
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    tc_notify(c, TC_NOTIFY_HASH, "hincrby", &c->argv[1]);
    tc_reply_int(c->r, cur);
}

void tc_cmd_hincrbyfloat(tc_ctx *c)
{
    long double by, cur = 0;
    if (tc_parse_ld(c->argv[3].p, c->argv[3].len, &by) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_FLOAT);
        return;
    }
    if (isnan(by) || isinf(by)) {
        tc_reply_error(c->r, "ERR value is NaN or Infinity");
        return;
    }
    tc_key *k = find_or_create(c, &c->argv[1]);
    if (!k) return;
    const char *v;
    size_t vlen;
    if (tc_hash_get(k, c->argv[2].p, c->argv[2].len, &v, &vlen) && tc_parse_ld(v, vlen, &cur) != 0) {
        tc_reply_error(c->r, "ERR hash value is not a float");
        return;
    }
    cur += by;
    if (isnan(cur) || isinf(cur)) {
        drop_if_empty(c, k, &c->argv[1]);
        tc_reply_error(c->r, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5200];
    int n = tc_format_ld(buf, sizeof buf, cur);
    if (tc_hash_set(k, &c->ks->enc, c->argv[2].p, c->argv[2].len, buf, (size_t)n) < 0) {
        drop_if_empty(c, k, &c->argv[1]);
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    tc_notify(c, TC_NOTIFY_HASH, "hincrbyfloat", &c->argv[1]);
    tc_reply_bulk(c->r, buf, (size_t)n);
}

/* ---- HRANDFIELD ------------------------------------------------------------
 * A read command: it runs on the node that serves it and nothing replicated
 * depends on its choice, so it draws from this process's read generator
 * (coll_cmd.h), not from the command PRNG of write commands. */

static void reply_pair(tc_ctx *c, const char *f, size_t flen, const char *v, size_t vlen, int withvalues)
{
    if (withvalues && c->r->resp > 2) tc_reply_array(c->r, 2);
    tc_reply_bulk(c->r, f, flen);
    if (withvalues) tc_reply_bulk(c->r, v, vlen);
}

static void hrandfield_count(tc_ctx *c, long long l, int withvalues)
{
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k || l == 0) {
        tc_reply_array(c->r, 0);
        return;
    }
    size_t size = tc_hash_len(k);
    unsigned long long count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
    const char *f, *v;
    size_t flen, vlen;
    if (l < 0) {
        /* Repetitions allowed: count independent picks. */
        tc_reply_array(c->r, withvalues && c->r->resp == 2 ? count * 2 : count);
        while (count--) {
            tc_hash_random(k, tc_read_rand, NULL, &f, &flen, &v, &vlen);
            reply_pair(c, f, flen, v, vlen, withvalues);
        }
        return;
    }
    size_t n = count >= size ? size : (size_t)count;
    tc_reply_array(c->r, withvalues && c->r->resp == 2 ? n * 2 : n);
    tc_hash_iter it;
    tc_hash_iter_init(&it, k);
    if (n == size) {
        /* The whole hash, in its order (as Redis). */
        while (tc_hash_next(&it, &f, &flen, &v, &vlen)) reply_pair(c, f, flen, v, vlen, withvalues);
        return;
    }
    /* Distinct fields: a selection sample over the iteration (Knuth's
     * algorithm S), each subset of n fields equally likely. */
    size_t left = size, need = n;
    while (need > 0 && tc_hash_next(&it, &f, &flen, &v, &vlen)) {
        if (tc_read_rand(NULL) % left < need) {
            reply_pair(c, f, flen, v, vlen, withvalues);
            need--;
        }
        left--;
    }
}

void tc_cmd_hrandfield(tc_ctx *c)
{
    if (c->argc >= 3) {
        long long l;
        if (tc_coll_parse_count(c, &c->argv[2], &l) != 0) return;
        int withvalues = 0;
        if (c->argc > 4 || (c->argc == 4 && !tc_arg_is(&c->argv[3], "withvalues"))) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                tc_reply_error(c->r, "ERR value is out of range");
                return;
            }
        }
        hrandfield_count(c, l, withvalues);
        return;
    }
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_null(c->r);
        return;
    }
    const char *f, *v;
    size_t flen, vlen;
    tc_hash_random(k, tc_read_rand, NULL, &f, &flen, &v, &vlen);
    tc_reply_bulk(c->r, f, flen);
}

/* ---- HSCAN ------------------------------------------------------------------ */

static void scan_add(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    tc_scan_list *l = ud;
    if (!tc_scan_list_match(l, f, flen)) return;
    tc_scan_list_add(l, f, flen);
    tc_scan_list_add(l, v, vlen);
}

typedef struct hscan_src {
    tc_key *k;
} hscan_src;

static uint64_t hscan_step(void *src, uint64_t cursor, tc_scan_list *l)
{
    return tc_hash_scan(((hscan_src *)src)->k, cursor, scan_add, l);
}

void tc_cmd_hscan(tc_ctx *c)
{
    uint64_t cursor;
    if (tc_coll_parse_cursor(c, &c->argv[2], &cursor) != 0) return;
    int wrong;
    tc_key *k = find_hash(c, &c->argv[1], &wrong);
    if (wrong) return;
    hscan_src src = {k};
    tc_coll_scan(c, k ? &src : NULL, cursor, hscan_step);
}
