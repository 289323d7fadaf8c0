/* List commands, blocking ones included. Semantics, replies and error
 * texts follow Redis 7.0 (t_list.c). The structure is node/types/list.h;
 * how a blocking command waits is node/blocking.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "commands.h"
#include "notify.h"
#include "server.h"
#include "types/list.h"

#define ERR_POSITIVE "ERR value is out of range, must be positive"

/* The list at key (NULL if none); replies WRONGTYPE and sets *wrong when
 * the key holds another type. */
static tc_key *find_list(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (k && k->type != TC_TYPE_LIST) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* A new empty list at key; NULL (error replied) when out of memory. */
static tc_key *create_list(tc_ctx *c, const tc_slice *key)
{
    tc_list *l = tc_list_new();
    if (l) tc_list_set_fill(l, c->ks->enc.list_max_listpack_size);
    tc_key *k = l ? tc_ks_set_pointer(c->ks, key->p, key->len, TC_TYPE_LIST, TC_ENC_QUICKLIST, l, 0) : NULL;
    if (!k) {
        tc_list_free(l);
        tc_reply_error(c->r, "ERR out of memory");
    }
    return k;
}

/* Redis deletes a list when its last element goes (and says "del" after
 * the command's own event). */
static void delete_if_empty(tc_ctx *c, const tc_slice *key, tc_key *k)
{
    if (tc_key_list(k)->count != 0) return;
    tc_ks_delete(c->ks, key->p, key->len);
    tc_notify(c, TC_NOTIFY_GENERIC, "del", key);
}

/* The event of a push or a pop at an end. */
static void notify_end(tc_ctx *c, const tc_slice *key, int where, int push)
{
    const char *ev = push ? (where == TC_LIST_HEAD ? "lpush" : "rpush") : (where == TC_LIST_HEAD ? "lpop" : "rpop");
    tc_notify(c, TC_NOTIFY_LIST, ev, key);
}

static void reply_lval(tc_ctx *c, const tc_lval *v) { tc_reply_bulk(c->r, v->p, v->len); }

/* LEFT|RIGHT; replies a syntax error otherwise. */
static int parse_where(tc_ctx *c, const tc_slice *a, int *where)
{
    if (tc_arg_is(a, "left")) *where = TC_LIST_HEAD;
    else if (tc_arg_is(a, "right")) *where = TC_LIST_TAIL;
    else {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    return 0;
}

/* Redis's getRangeLongFromObjectOrReply (msg NULL: its own message). */
static int parse_range(tc_ctx *c, const tc_slice *a, long long min, long long max, const char *msg, long long *v)
{
    if (tc_parse_ll(a->p, a->len, v) != 0) {
        tc_reply_error(c->r, msg ? msg : TC_ERR_NOT_INT);
        return -1;
    }
    if (*v < min || *v > max) {
        if (msg) tc_reply_error(c->r, msg);
        else tc_reply_errorf(c->r, "ERR value is out of range, must be between %lld and %lld", min, max);
        return -1;
    }
    return 0;
}

static int parse_int(tc_ctx *c, const tc_slice *a, long long *v)
{
    if (tc_parse_ll(a->p, a->len, v) == 0) return 0;
    tc_reply_error(c->r, TC_ERR_NOT_INT);
    return -1;
}

/* ---- pushing ---------------------------------------------------------------- */

static void push_generic(tc_ctx *c, int where, int only_existing)
{
    const tc_slice *key = &c->argv[1];
    int wrong;
    tc_key *k = find_list(c, key, &wrong);
    if (wrong) return;
    if (!k) {
        if (only_existing) {
            tc_reply_int(c->r, 0);
            return;
        }
        if (!(k = create_list(c, key))) return;
    }
    tc_list *l = tc_key_list(k);
    for (size_t i = 2; i < c->argc; i++) {
        if (tc_list_push(l, where, c->argv[i].p, c->argv[i].len) != 0) {
            delete_if_empty(c, key, k);
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
    }
    tc_block_signal(c->srv, c->db, key->p, key->len);
    notify_end(c, key, where, 1);
    tc_reply_int(c->r, (long long)l->count);
}

void tc_cmd_lpush(tc_ctx *c) { push_generic(c, TC_LIST_HEAD, 0); }
void tc_cmd_rpush(tc_ctx *c) { push_generic(c, TC_LIST_TAIL, 0); }
void tc_cmd_lpushx(tc_ctx *c) { push_generic(c, TC_LIST_HEAD, 1); }
void tc_cmd_rpushx(tc_ctx *c) { push_generic(c, TC_LIST_TAIL, 1); }

void tc_cmd_linsert(tc_ctx *c)
{
    int where;
    if (tc_arg_is(&c->argv[2], "after")) where = TC_LIST_TAIL;
    else if (tc_arg_is(&c->argv[2], "before")) where = TC_LIST_HEAD;
    else {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_list *l = tc_key_list(k);
    tc_liter it;
    for (int ok = tc_list_seek(l, 0, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_TAIL) == 0) {
        if (!tc_liter_equals(&it, c->argv[3].p, c->argv[3].len)) continue;
        if (tc_liter_insert(&it, where, c->argv[4].p, c->argv[4].len) != 0) {
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
        tc_block_signal(c->srv, c->db, c->argv[1].p, c->argv[1].len);
        tc_notify(c, TC_NOTIFY_LIST, "linsert", &c->argv[1]);
        tc_reply_int(c->r, (long long)l->count);
        return;
    }
    tc_reply_int(c->r, -1);
}

/* ---- reading ------------------------------------------------------------- */

void tc_cmd_llen(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (!wrong) tc_reply_int(c->r, k ? (long long)tc_key_list(k)->count : 0);
}

/* Elements from index start, n of them, walking towards dir. */
static void reply_range(tc_ctx *c, tc_list *l, size_t start, size_t n, int dir)
{
    tc_reply_array(c->r, n);
    tc_liter it;
    tc_list_seek(l, start, &it);
    for (size_t i = 0; i < n; i++) {
        tc_lval v;
        tc_liter_get(&it, &v);
        reply_lval(c, &v);
        tc_liter_step(&it, dir);
    }
}

/* LRANGE/LTRIM's clamping: 0 when the range is empty, else 1 with
 * [*from, *to] inside the list. */
static int clamp(long long start, long long end, long long len, long long *from, long long *to)
{
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return 0;
    if (end >= len) end = len - 1;
    *from = start;
    *to = end;
    return 1;
}

void tc_cmd_lrange(tc_ctx *c)
{
    long long start, end, from, to;
    if (parse_int(c, &c->argv[2], &start) || parse_int(c, &c->argv[3], &end)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k || !clamp(start, end, (long long)tc_key_list(k)->count, &from, &to)) {
        tc_reply_array(c->r, 0);
        return;
    }
    reply_range(c, tc_key_list(k), (size_t)from, (size_t)(to - from + 1), TC_LIST_TAIL);
}

/* A list index (negative from the tail) as a position; -1 if outside. */
static long long list_index(const tc_list *l, long long index)
{
    if (index < 0) index += (long long)l->count;
    return index < 0 || index >= (long long)l->count ? -1 : index;
}

void tc_cmd_lindex(tc_ctx *c)
{
    long long index;
    if (parse_int(c, &c->argv[2], &index)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long pos = k ? list_index(tc_key_list(k), index) : -1;
    if (pos < 0) {
        tc_reply_null(c->r);
        return;
    }
    tc_liter it;
    tc_lval v;
    tc_list_seek(tc_key_list(k), (size_t)pos, &it);
    tc_liter_get(&it, &v);
    reply_lval(c, &v);
}

void tc_cmd_lpos(tc_ctx *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    for (size_t j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (tc_arg_is(&c->argv[j], "rank") && more) {
            if (parse_int(c, &c->argv[++j], &rank)) return;
            if (rank == 0) {
                tc_reply_error(c->r, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                                     "second ... or use negative to start from the end of the list");
                return;
            }
        } else if (tc_arg_is(&c->argv[j], "count") && more) {
            if (parse_range(c, &c->argv[++j], 0, LLONG_MAX, "ERR COUNT can't be negative", &count)) return;
        } else if (tc_arg_is(&c->argv[j], "maxlen") && more) {
            if (parse_range(c, &c->argv[++j], 0, LLONG_MAX, "ERR MAXLEN can't be negative", &maxlen)) return;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    int dir = TC_LIST_TAIL;
    if (rank < 0) {
        /* Redis 7.0 negates LLONG_MIN into itself: any match qualifies */
        rank = rank == LLONG_MIN ? 1 : -rank;
        dir = TC_LIST_HEAD;
    }
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        if (count != -1) tc_reply_array(c->r, 0);
        else tc_reply_null(c->r);
        return;
    }
    tc_list *l = tc_key_list(k);
    long long llen = (long long)l->count, index = 0, matches = 0, found = -1;
    /* matches are collected first: the array's length comes before them */
    long long *hits = NULL;
    size_t nhits = 0, cap = 0;
    tc_liter it;
    int ok = tc_list_seek(l, dir == TC_LIST_TAIL ? 0 : l->count - 1, &it) == 0;
    for (; ok && (maxlen == 0 || index < maxlen); ok = tc_liter_step(&it, dir) == 0, index++) {
        if (!tc_liter_equals(&it, c->argv[2].p, c->argv[2].len)) continue;
        matches++;
        long long pos = dir == TC_LIST_TAIL ? index : llen - index - 1;
        if (matches < rank) continue;
        if (count == -1) {
            found = pos;
            break;
        }
        if (nhits == cap) {
            cap = cap ? cap * 2 : 16;
            long long *h = realloc(hits, cap * sizeof *h);
            if (!h) {
                free(hits);
                tc_reply_error(c->r, "ERR out of memory");
                return;
            }
            hits = h;
        }
        hits[nhits++] = pos;
        if (count && matches - rank + 1 >= count) break;
    }
    if (count != -1) {
        tc_reply_array(c->r, nhits);
        for (size_t i = 0; i < nhits; i++) tc_reply_int(c->r, hits[i]);
    } else if (found >= 0) {
        tc_reply_int(c->r, found);
    } else {
        tc_reply_null(c->r);
    }
    free(hits);
}

/* ---- changing in place -------------------------------------------------- */

void tc_cmd_lset(tc_ctx *c)
{
    long long index;
    if (parse_int(c, &c->argv[2], &index)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_error(c->r, "ERR no such key");
        return;
    }
    long long pos = list_index(tc_key_list(k), index);
    if (pos < 0) {
        tc_reply_error(c->r, "ERR index out of range");
        return;
    }
    tc_liter it;
    tc_list_seek(tc_key_list(k), (size_t)pos, &it);
    if (tc_liter_replace(&it, c->argv[3].p, c->argv[3].len) != 0) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_notify(c, TC_NOTIFY_LIST, "lset", &c->argv[1]);
    tc_reply_ok(c->r);
}

void tc_cmd_lrem(tc_ctx *c)
{
    long long toremove;
    if (parse_int(c, &c->argv[2], &toremove)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_list *l = tc_key_list(k);
    int dir = toremove < 0 ? TC_LIST_HEAD : TC_LIST_TAIL;
    unsigned long long limit = toremove < 0 ? 0ull - (unsigned long long)toremove : (unsigned long long)toremove;
    long long removed = 0;
    tc_liter it;
    int ok = tc_list_seek(l, dir == TC_LIST_TAIL ? 0 : l->count - 1, &it) == 0;
    while (ok) {
        if (tc_liter_equals(&it, c->argv[3].p, c->argv[3].len)) {
            tc_liter_delete(&it, dir);
            removed++;
            if (limit && (unsigned long long)removed == limit) break;
            ok = tc_liter_valid(&it);
        } else {
            ok = tc_liter_step(&it, dir) == 0;
        }
    }
    if (removed) tc_notify(c, TC_NOTIFY_LIST, "lrem", &c->argv[1]);
    delete_if_empty(c, &c->argv[1], k);
    tc_reply_int(c->r, removed);
}

void tc_cmd_ltrim(tc_ctx *c)
{
    long long start, end, from, to;
    if (parse_int(c, &c->argv[2], &start) || parse_int(c, &c->argv[3], &end)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (k) {
        tc_list *l = tc_key_list(k);
        long long len = (long long)l->count;
        if (!clamp(start, end, len, &from, &to)) {
            from = len; /* everything goes */
            to = len - 1;
        }
        tc_list_drop(l, TC_LIST_TAIL, (size_t)(len - 1 - to));
        tc_list_drop(l, TC_LIST_HEAD, (size_t)from);
        tc_notify(c, TC_NOTIFY_LIST, "ltrim", &c->argv[1]);
        delete_if_empty(c, &c->argv[1], k);
    }
    tc_reply_ok(c->r);
}

/* ---- popping ---------------------------------------------------------------- */

/* Replies up to count elements popped from an end of k's list (in pop
 * order) and deletes the key once empty. */
static void pop_range_reply(tc_ctx *c, const tc_slice *key, tc_key *k, int where, long long count)
{
    tc_list *l = tc_key_list(k);
    size_t n = (unsigned long long)count > l->count ? l->count : (size_t)count;
    reply_range(c, l, where == TC_LIST_HEAD ? 0 : l->count - 1, n, where == TC_LIST_HEAD ? TC_LIST_TAIL : TC_LIST_HEAD);
    tc_list_drop(l, where, n);
    notify_end(c, key, where, 0);
    delete_if_empty(c, key, k);
}

static void pop_one_reply(tc_ctx *c, const tc_slice *key, tc_key *k, int where)
{
    tc_list *l = tc_key_list(k);
    tc_lval v;
    tc_list_peek(l, where, &v);
    reply_lval(c, &v);
    tc_list_drop(l, where, 1);
    notify_end(c, key, where, 0);
    delete_if_empty(c, key, k);
}

static void pop_generic(tc_ctx *c, int where)
{
    long long count = 0;
    int has_count = c->argc == 3;
    if (c->argc > 3) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for '%s' command", where == TC_LIST_HEAD ? "lpop" : "rpop");
        return;
    }
    if (has_count && parse_range(c, &c->argv[2], 0, LLONG_MAX, ERR_POSITIVE, &count)) return;
    int wrong;
    tc_key *k = find_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        if (has_count) tc_reply_null_array(c->r);
        else tc_reply_null(c->r);
        return;
    }
    if (has_count && count == 0) tc_reply_array(c->r, 0);
    else if (!has_count) pop_one_reply(c, &c->argv[1], k, where);
    else pop_range_reply(c, &c->argv[1], k, where, count);
}

void tc_cmd_lpop(tc_ctx *c) { pop_generic(c, TC_LIST_HEAD); }
void tc_cmd_rpop(tc_ctx *c) { pop_generic(c, TC_LIST_TAIL); }

/* LMOVE's work once the source is known to be a non-empty list. */
static void lmove_generic(tc_ctx *c, const tc_slice *src, const tc_slice *dst, int from, int to)
{
    int wrong;
    tc_key *s = find_list(c, src, &wrong);
    if (wrong) return;
    if (!s) {
        tc_reply_null(c->r);
        return;
    }
    tc_key *d = find_list(c, dst, &wrong);
    if (wrong) return;
    if (!d) {
        if (!(d = create_list(c, dst))) return;
    }
    tc_list *sl = tc_key_list(s), *dl = tc_key_list(d);
    /* A copy: the push may land in the very node the element left. */
    tc_lval v;
    tc_list_peek(sl, from, &v);
    char small[128];
    char *copy = v.len <= sizeof small ? small : malloc(v.len);
    if (!copy) {
        delete_if_empty(c, dst, d);
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t len = v.len;
    memcpy(copy, v.p, len);
    tc_list_drop(sl, from, 1);
    if (tc_list_push(dl, to, copy, len) != 0) { /* give it back */
        tc_list_push(sl, from, copy, len);
        delete_if_empty(c, dst, d);
        tc_reply_error(c->r, "ERR out of memory");
    } else {
        tc_block_signal(c->srv, c->db, dst->p, dst->len);
        tc_reply_bulk(c->r, copy, len);
        /* as Redis: the push's event, then the pop's */
        notify_end(c, dst, to, 1);
        notify_end(c, src, from, 0);
        if (s != d) delete_if_empty(c, src, s);
    }
    if (copy != small) free(copy);
}

void tc_cmd_lmove(tc_ctx *c)
{
    int from, to;
    if (parse_where(c, &c->argv[3], &from) || parse_where(c, &c->argv[4], &to)) return;
    lmove_generic(c, &c->argv[1], &c->argv[2], from, to);
}

void tc_cmd_rpoplpush(tc_ctx *c) { lmove_generic(c, &c->argv[1], &c->argv[2], TC_LIST_TAIL, TC_LIST_HEAD); }

/* LMPOP's arguments from numkeys_idx: numkeys, keys, LEFT|RIGHT [COUNT n]. */
typedef struct mpop_args {
    size_t first_key, nkeys;
    int where;
    long long count;
} mpop_args;

static int parse_mpop(tc_ctx *c, size_t numkeys_idx, mpop_args *a)
{
    long long numkeys;
    if (parse_range(c, &c->argv[numkeys_idx], 1, LLONG_MAX, "ERR numkeys should be greater than 0", &numkeys))
        return -1;
    if ((unsigned long long)numkeys >= c->argc - numkeys_idx) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    size_t where_idx = numkeys_idx + (size_t)numkeys + 1;
    if (where_idx >= c->argc) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    if (parse_where(c, &c->argv[where_idx], &a->where)) return -1;
    a->count = -1;
    for (size_t j = where_idx + 1; j < c->argc; j++) {
        if (a->count == -1 && tc_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (parse_range(c, &c->argv[++j], 1, LLONG_MAX, "ERR count should be greater than 0", &a->count))
                return -1;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return -1;
        }
    }
    if (a->count == -1) a->count = 1;
    a->first_key = numkeys_idx + 1;
    a->nkeys = (size_t)numkeys;
    return 0;
}

/* [key, [elements]] */
static void mpop_reply(tc_ctx *c, const tc_slice *key, tc_key *k, int where, long long count)
{
    tc_reply_array(c->r, 2);
    tc_reply_bulk(c->r, key->p, key->len);
    pop_range_reply(c, key, k, where, count);
}

void tc_cmd_lmpop(tc_ctx *c)
{
    mpop_args a;
    if (parse_mpop(c, 1, &a)) return;
    for (size_t i = 0; i < a.nkeys; i++) {
        const tc_slice *key = &c->argv[a.first_key + i];
        int wrong;
        tc_key *k = find_list(c, key, &wrong);
        if (wrong) return;
        if (k) {
            mpop_reply(c, key, k, a.where, a.count);
            return;
        }
    }
    tc_reply_null_array(c->r);
}

/* ---- blocking ------------------------------------------------------------ */

/* Elements a client blocked on key could take now (tc_block_spec.ready). */
static size_t list_ready(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    tc_key *k = tc_ks_peek(ks, key, klen, now_ms);
    return k && k->type == TC_TYPE_LIST ? tc_key_list(k)->count : 0;
}

/* The first key of the spec that holds a value (a list, or anything else,
 * which then answers WRONGTYPE), or NULL. */
static tc_key *first_ready(tc_ctx *c, const tc_block_spec *b, const tc_slice **key)
{
    for (size_t i = 0; i < b->nkeys; i++) {
        *key = &c->argv[b->first_key + i];
        tc_key *k = tc_ks_find(c->ks, (*key)->p, (*key)->len, c->now_ms);
        if (k) return k;
    }
    return NULL;
}

/* BLPOP/BRPOP key [key ...] timeout, and BLMPOP timeout numkeys ... */
static void bpop_generic(tc_ctx *c, int where, const mpop_args *mp, size_t timeout_idx)
{
    tc_block_spec b = {.first_key = mp ? mp->first_key : 1, .nkeys = mp ? mp->nkeys : c->argc - 2, .ready = list_ready};
    if (tc_block_parse_timeout(c, &c->argv[timeout_idx], &b.deadline_ms)) return;
    const tc_slice *key;
    tc_key *k = first_ready(c, &b, &key);
    if (tc_block_wait(c, &b, k != NULL)) return; /* blocked, or on its way through the log */
    if (!k) {
        tc_reply_null_array(c->r);
    } else if (k->type != TC_TYPE_LIST) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
    } else if (mp) {
        mpop_reply(c, key, k, mp->where, mp->count);
    } else {
        tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, key->p, key->len);
        pop_one_reply(c, key, k, where);
    }
}

void tc_cmd_blpop(tc_ctx *c) { bpop_generic(c, TC_LIST_HEAD, NULL, c->argc - 1); }
void tc_cmd_brpop(tc_ctx *c) { bpop_generic(c, TC_LIST_TAIL, NULL, c->argc - 1); }

void tc_cmd_blmpop(tc_ctx *c)
{
    mpop_args a;
    if (parse_mpop(c, 2, &a)) return;
    bpop_generic(c, a.where, &a, 1);
}

static void blmove_generic(tc_ctx *c, int from, int to, size_t timeout_idx)
{
    tc_block_spec b = {.first_key = 1, .nkeys = 1, .ready = list_ready};
    if (tc_block_parse_timeout(c, &c->argv[timeout_idx], &b.deadline_ms)) return;
    const tc_slice *key;
    tc_key *k = first_ready(c, &b, &key);
    if (tc_block_wait(c, &b, k != NULL)) return;
    if (!k) tc_reply_null(c->r); /* Redis: a client that may not block gets a null bulk */
    else lmove_generic(c, &c->argv[1], &c->argv[2], from, to);
}

void tc_cmd_blmove(tc_ctx *c)
{
    int from, to;
    if (parse_where(c, &c->argv[3], &from) || parse_where(c, &c->argv[4], &to)) return;
    blmove_generic(c, from, to, 5);
}

void tc_cmd_brpoplpush(tc_ctx *c) { blmove_generic(c, TC_LIST_TAIL, TC_LIST_HEAD, 3); }
