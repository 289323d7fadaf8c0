/* Set commands. Semantics, reply shapes and error texts follow Redis 7.0
 * (t_set.c). The value itself: types/set.h.
 *
 * SPOP is a write and runs on every node: its picks use tc_write_rand (the
 * command's randomness, the same everywhere). SRANDMEMBER and SINTER,
 * SUNION, SDIFF are reads: their choices (SRANDMEMBER) and the seed of a
 * temporary result dict use this process's tc_read_rand. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "coll_cmd.h"
#include "commands.h"
#include "notify.h"
#include "types/set.h"

static tc_key *find_set(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (k && k->type != TC_TYPE_SET) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* Adds m to the set at k, creating the key when k is NULL; the key (maybe
 * new), or NULL when out of memory. *added as tc_set_add. */
static tc_key *add_member(tc_ctx *c, tc_write_rng *g, tc_key *k, const tc_slice *key, const char *m, size_t len,
                          int *added)
{
    tc_set s;
    if (!k) {
        if (tc_set_init(&s, m, len) != 0) return NULL;
        if (tc_set_add(&s, &c->ks->enc, m, len, tc_write_rand, g) < 0 ||
            !(k = tc_set_put(c->ks, key->p, key->len, &s, 0))) {
            if (s.p) tc_set_free(&s);
            return NULL;
        }
        *added = 1;
        return k;
    }
    s = tc_set_of(k);
    *added = tc_set_add(&s, &c->ks->enc, m, len, tc_write_rand, g);
    tc_set_store(k, &s);
    return *added < 0 ? NULL : k;
}

void tc_cmd_sadd(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long n = 0;
    tc_write_rng g;
    tc_write_rand_init(&g, c);
    for (size_t i = 2; i < c->argc; i++) {
        int added;
        tc_key *nk = add_member(c, &g, k, &c->argv[1], c->argv[i].p, c->argv[i].len, &added);
        if (!nk) {
            tc_reply_error(c->r, TC_ERR_OOM);
            return;
        }
        k = nk;
        n += added;
    }
    if (n) tc_notify(c, TC_NOTIFY_SET, "sadd", &c->argv[1]);
    tc_reply_int(c->r, n);
}

/* Removes key when its set became empty (and says "del", after the
 * command's own event); 1 if it did. */
static int drop_if_empty(tc_ctx *c, tc_key *k, const tc_slice *key)
{
    tc_set s = tc_set_of(k);
    if (tc_set_size(&s) > 0) return 0;
    tc_ks_delete(c->ks, key->p, key->len);
    tc_notify(c, TC_NOTIFY_GENERIC, "del", key);
    return 1;
}

void tc_cmd_srem(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long n = 0;
    for (size_t i = 2; k && i < c->argc; i++) {
        tc_set s = tc_set_of(k);
        n += tc_set_remove(&s, c->argv[i].p, c->argv[i].len);
        tc_set_store(k, &s);
        if (tc_set_size(&s) == 0) break;
    }
    if (n) {
        tc_notify(c, TC_NOTIFY_SET, "srem", &c->argv[1]);
        drop_if_empty(c, k, &c->argv[1]);
    }
    tc_reply_int(c->r, n);
}

void tc_cmd_sismember(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    tc_reply_int(c->r, k && tc_set_has(&s, c->argv[2].p, c->argv[2].len));
}

void tc_cmd_smismember(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    tc_reply_array(c->r, c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) tc_reply_int(c->r, k && tc_set_has(&s, c->argv[i].p, c->argv[i].len));
}

void tc_cmd_scard(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    tc_reply_int(c->r, k ? (long long)tc_set_size(&s) : 0);
}

/* Replies every member of s as an array (set = 0) or a set. */
static void reply_members(tc_ctx *c, const tc_set *s, int as_set)
{
    size_t n = s->p ? tc_set_size(s) : 0;
    if (as_set) tc_reply_set(c->r, n);
    else tc_reply_array(c->r, n);
    if (!n) return;
    tc_set_iter it;
    tc_set_member m;
    tc_set_iter_init(&it, s);
    while (tc_set_next(&it, &m)) tc_reply_bulk(c->r, m.p, m.len);
}

void tc_cmd_smembers(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    reply_members(c, &s, 1);
}

/* ---- SPOP / SRANDMEMBER ---------------------------------------------------- */

/* Pops one member chosen by the command's randomness, replying it. */
static void pop_one(tc_ctx *c, tc_write_rng *g, tc_key *k)
{
    tc_set s = tc_set_of(k);
    tc_set_member m;
    tc_set_random(&s, tc_write_rand, g, &m);
    tc_reply_bulk(c->r, m.p, m.len);
    /* m may point into the set itself: every encoding finds the member
     * before it changes anything, and a dict entry is freed last. */
    tc_set_remove(&s, m.p, m.len);
    tc_set_store(k, &s);
}

void tc_cmd_spop(tc_ctx *c)
{
    if (c->argc > 3) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    long long count = 1;
    if (c->argc == 3 && (tc_parse_ll(c->argv[2].p, c->argv[2].len, &count) != 0 || count < 0)) {
        tc_reply_error(c->r, "ERR value is out of range, must be positive");
        return;
    }
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_write_rng g;
    tc_write_rand_init(&g, c);
    if (c->argc == 2) {
        if (!k) {
            tc_reply_null(c->r);
            return;
        }
        pop_one(c, &g, k);
        tc_notify(c, TC_NOTIFY_SET, "spop", &c->argv[1]);
        drop_if_empty(c, k, &c->argv[1]);
        return;
    }
    if (!k || count == 0) {
        tc_reply_set(c->r, 0);
        return;
    }
    tc_set s = tc_set_of(k);
    size_t size = tc_set_size(&s);
    if ((unsigned long long)count >= size) {
        reply_members(c, &s, 1);
        tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
        tc_notify(c, TC_NOTIFY_SET, "spop", &c->argv[1]);
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[1]);
        return;
    }
    tc_reply_set(c->r, (size_t)count);
    while (count-- > 0) pop_one(c, &g, k);
    tc_notify(c, TC_NOTIFY_SET, "spop", &c->argv[1]);
}

/* SRANDMEMBER key count, distinct members (count < size): Knuth's selection
 * sampling when the count is a good part of the set, else random picks
 * with the ones already given remembered in a dict. */
static void random_distinct(tc_ctx *c, const tc_set *s, size_t count)
{
    size_t size = tc_set_size(s);
    tc_reply_array(c->r, count);
    tc_set_member m;
    if (count * 3 > size) {
        tc_set_iter it;
        tc_set_iter_init(&it, s);
        size_t left = size;
        while (count > 0 && tc_set_next(&it, &m)) {
            if (tc_read_rand(NULL) % left < count) {
                tc_reply_bulk(c->r, m.p, m.len);
                count--;
            }
            left--;
        }
        return;
    }
    uint64_t seed[2];
    tc_dict_process_seed(seed);
    tc_dict *seen = tc_dict_new(0, seed[0], seed[1]);
    while (count > 0) {
        tc_set_random(s, tc_read_rand, NULL, &m);
        int added = 1;
        if (seen && !tc_dict_add(seen, m.p, m.len, &added)) added = 1; /* out of memory: repeats possible */
        if (!added) continue;
        tc_reply_bulk(c->r, m.p, m.len);
        count--;
    }
    tc_dict_free(seen, NULL);
}

void tc_cmd_srandmember(tc_ctx *c)
{
    if (c->argc > 3) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    long long l = 0;
    if (c->argc == 3 && tc_coll_parse_count(c, &c->argv[2], &l) != 0) return;
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    tc_set_member m;
    if (c->argc == 2) {
        if (!k) {
            tc_reply_null(c->r);
            return;
        }
        tc_set_random(&s, tc_read_rand, NULL, &m);
        tc_reply_bulk(c->r, m.p, m.len);
        return;
    }
    if (!k || l == 0) {
        tc_reply_array(c->r, 0);
        return;
    }
    if (l < 0) {
        unsigned long long n = (unsigned long long)-l;
        tc_reply_array(c->r, n);
        while (n--) {
            tc_set_random(&s, tc_read_rand, NULL, &m);
            tc_reply_bulk(c->r, m.p, m.len);
        }
        return;
    }
    if ((unsigned long long)l >= tc_set_size(&s)) reply_members(c, &s, 0);
    else random_distinct(c, &s, (size_t)l);
}

void tc_cmd_smove(tc_ctx *c)
{
    const tc_slice *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    tc_key *sk = tc_ks_find(c->ks, src->p, src->len, c->now_ms);
    tc_key *dk = tc_ks_find(c->ks, dst->p, dst->len, c->now_ms);
    if (!sk) {
        tc_reply_int(c->r, 0);
        return;
    }
    if (sk->type != TC_TYPE_SET || (dk && dk->type != TC_TYPE_SET)) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        return;
    }
    tc_set s = tc_set_of(sk);
    if (sk == dk) {
        tc_reply_int(c->r, tc_set_has(&s, m->p, m->len));
        return;
    }
    if (!tc_set_remove(&s, m->p, m->len)) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_set_store(sk, &s);
    tc_notify(c, TC_NOTIFY_SET, "srem", src);
    drop_if_empty(c, sk, src);
    int added;
    tc_write_rng g;
    tc_write_rand_init(&g, c);
    if (!add_member(c, &g, dk, dst, m->p, m->len, &added)) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    if (added) tc_notify(c, TC_NOTIFY_SET, "sadd", dst);
    tc_reply_int(c->r, 1);
}

/* ---- SINTER, SUNION, SDIFF and their STORE forms ------------------------- */

/* The sets at keys[0..n): each a set, or absent (p NULL). -1 after
 * replying WRONGTYPE. */
static int load_sets(tc_ctx *c, const tc_slice *keys, size_t n, tc_set *out)
{
    for (size_t i = 0; i < n; i++) {
        int wrong;
        tc_key *k = find_set(c, &keys[i], &wrong);
        if (wrong) return -1;
        if (!k) tc_notify_source_miss(c, &keys[i]);
        out[i] = k ? tc_set_of(k) : (tc_set){0, NULL};
    }
    return 0;
}

static int by_size(const void *a, const void *b)
{
    size_t x = tc_set_size(a), y = tc_set_size(b);
    return x < y ? -1 : x > y;
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* Builds the result of op over sets into *res (res->p NULL: empty). For
 * OP_INTER stops at limit members (0: no limit). 0, or -1 when out of
 * memory. rnd: the randomness for a result dict's seed. */
static int compute(tc_set *sets, size_t n, int op, size_t limit, const tc_enc_limits *lim, tc_set *res,
                   tc_rand_fn rnd, void *ud)
{
    res->p = NULL;
    if (op == OP_INTER) {
        for (size_t i = 0; i < n; i++)
            if (!sets[i].p) return 0; /* an absent key: the empty set */
        qsort(sets, n, sizeof *sets, by_size);
    }
    size_t from = op == OP_UNION ? n : 1;
    for (size_t i = 0; i < from; i++) {
        if (!sets[i].p) continue;
        tc_set_iter it;
        tc_set_member m;
        tc_set_iter_init(&it, &sets[i]);
        while (tc_set_next(&it, &m)) {
            int keep = 1;
            for (size_t j = 1; op != OP_UNION && j < n && keep; j++) {
                int has = sets[j].p && tc_set_has(&sets[j], m.p, m.len);
                keep = op == OP_INTER ? has : !has;
            }
            if (!keep) continue;
            if (!res->p && tc_set_init(res, m.p, m.len) != 0) return -1;
            if (tc_set_add(res, lim, m.p, m.len, rnd, ud) < 0) {
                tc_set_free(res);
                return -1;
            }
            if (op == OP_INTER && limit && tc_set_size(res) >= limit) return 0;
        }
    }
    return 0;
}

static void set_op(tc_ctx *c, const tc_slice *keys, size_t n, int op, const tc_slice *dst)
{
    tc_set *sets = malloc(n * sizeof *sets), res;
    if (!sets) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    if (load_sets(c, keys, n, sets) != 0) {
        free(sets);
        return;
    }
    tc_write_rng g;
    tc_write_rand_init(&g, c);
    int rc = dst ? compute(sets, n, op, 0, &c->ks->enc, &res, tc_write_rand, &g)
                 : compute(sets, n, op, 0, &c->ks->enc, &res, tc_read_rand, NULL);
    free(sets);
    if (rc != 0) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    if (!dst) {
        reply_members(c, &res, 1);
        if (res.p) tc_set_free(&res);
        return;
    }
    if (!res.p) {
        if (tc_ks_delete(c->ks, dst->p, dst->len)) tc_notify(c, TC_NOTIFY_GENERIC, "del", dst);
        tc_reply_int(c->r, 0);
        return;
    }
    size_t size = tc_set_size(&res);
    if (!tc_set_put(c->ks, dst->p, dst->len, &res, 0)) {
        tc_set_free(&res);
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    static const char *const EVENTS[] = {"sinterstore", "sunionstore", "sdiffstore"};
    tc_notify(c, TC_NOTIFY_SET, EVENTS[op], dst);
    tc_reply_int(c->r, (long long)size);
}

void tc_cmd_sinter(tc_ctx *c) { set_op(c, &c->argv[1], c->argc - 1, OP_INTER, NULL); }
void tc_cmd_sunion(tc_ctx *c) { set_op(c, &c->argv[1], c->argc - 1, OP_UNION, NULL); }
void tc_cmd_sdiff(tc_ctx *c) { set_op(c, &c->argv[1], c->argc - 1, OP_DIFF, NULL); }
void tc_cmd_sinterstore(tc_ctx *c) { set_op(c, &c->argv[2], c->argc - 2, OP_INTER, &c->argv[1]); }
void tc_cmd_sunionstore(tc_ctx *c) { set_op(c, &c->argv[2], c->argc - 2, OP_UNION, &c->argv[1]); }
void tc_cmd_sdiffstore(tc_ctx *c) { set_op(c, &c->argv[2], c->argc - 2, OP_DIFF, &c->argv[1]); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void tc_cmd_sintercard(tc_ctx *c)
{
    long long numkeys, limit = 0;
    if (tc_parse_ll(c->argv[1].p, c->argv[1].len, &numkeys) != 0 || numkeys < 1) {
        tc_reply_error(c->r, "ERR numkeys should be greater than 0");
        return;
    }
    if ((unsigned long long)numkeys > c->argc - 2) {
        tc_reply_error(c->r, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (size_t i = 2 + (size_t)numkeys; i < c->argc; i += 2) {
        if (tc_arg_is(&c->argv[i], "limit") && i + 1 < c->argc) {
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &limit) != 0 || limit < 0) {
                tc_reply_error(c->r, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    size_t n = (size_t)numkeys;
    tc_set *sets = malloc(n * sizeof *sets), res;
    if (!sets) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    if (load_sets(c, &c->argv[2], n, sets) != 0) {
        free(sets);
        return;
    }
    int rc = compute(sets, n, OP_INTER, (size_t)limit, &c->ks->enc, &res, tc_read_rand, NULL);
    free(sets);
    if (rc != 0) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    tc_reply_int(c->r, res.p ? (long long)tc_set_size(&res) : 0);
    if (res.p) tc_set_free(&res);
}

/* ---- SSCAN ------------------------------------------------------------------ */

static void scan_add(void *ud, const char *p, size_t len)
{
    tc_scan_list *l = ud;
    if (tc_scan_list_match(l, p, len)) tc_scan_list_add(l, p, len);
}

static uint64_t sscan_step(void *src, uint64_t cursor, tc_scan_list *l)
{
    return tc_set_scan(src, cursor, scan_add, l);
}

void tc_cmd_sscan(tc_ctx *c)
{
    uint64_t cursor;
    if (tc_coll_parse_cursor(c, &c->argv[2], &cursor) != 0) return;
    int wrong;
    tc_key *k = find_set(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_set s = k ? tc_set_of(k) : (tc_set){0, NULL};
    tc_coll_scan(c, k ? &s : NULL, cursor, sscan_step);
}
