/* Sorted-set commands: adding, removing, scores, ranks, ranges, pops,
 * random members and ZSCAN. Semantics and error texts follow Redis 7.0
 * (t_zset.c); the set operations (ZUNION...) are in t_zset_ops.c. The data
 * structure is node/types/zset.h. Every write is deterministic (its
 * arguments and the keyspace decide everything), so it replays alike on
 * every node. The blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) go through
 * node/blocking.h as the list ones do: a write that adds members signals
 * the key. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "blocking.h"
#include "commands.h"
#include "notify.h"
#include "glob.h"
#include "t_zset.h"
#include "types/zset.h"

/* ---- helpers shared with t_zset_ops.c ------------------------------------ */

tc_key *tc_zset_lookup(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (k && k->type != TC_TYPE_ZSET) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* Redis's getDoubleFromObject: strtod over the whole argument, no leading
 * space, no overflow, no NaN ("inf" and "-inf" are fine). */
int tc_zparse_score(const tc_slice *a, double *out)
{
    char buf[256];
    if (a->len == 0 || a->len >= sizeof buf) return -1;
    memcpy(buf, a->p, a->len);
    buf[a->len] = '\0';
    if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != a->len || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)))
        return -1;
    *out = v;
    return 0;
}

/* ---- range arguments --------------------------------------------------------- */

/* Redis's zslParseRange for one side: "(" makes it exclusive; the rest goes
 * through strtod, which must consume it all (an empty string is 0). */
static int parse_score_bound(const tc_slice *a, double *v, int *excl)
{
    char buf[256];
    size_t skip = a->len > 0 && a->p[0] == '(';
    if (a->len - skip >= sizeof buf) return -1;
    memcpy(buf, a->p + skip, a->len - skip);
    buf[a->len - skip] = '\0';
    char *end;
    *v = strtod(buf, &end);
    *excl = (int)skip;
    return *end != '\0' || isnan(*v) ? -1 : 0;
}

/* The ranks [*lo, *hi) of the elements within [min, max] (score). */
static void score_ranks(const tc_key *k, double min, int minex, double max, int maxex, size_t *lo, size_t *hi)
{
    tc_zbound b = {.kind = TC_ZB_SCORE, .score = min, .after_equal = minex};
    *lo = tc_zset_lower(k, &b);
    b = (tc_zbound){.kind = TC_ZB_SCORE, .score = max, .after_equal = !maxex};
    *hi = tc_zset_lower(k, &b);
    if (*hi < *lo) *hi = *lo;
}

/* Redis's zslParseLexRangeItem: "-", "+", "[member", "(member". */
static int parse_lex_bound(const tc_slice *a, tc_zbound *b, int is_max)
{
    memset(b, 0, sizeof *b);
    b->kind = TC_ZB_LEX;
    if (a->len == 0) return -1;
    switch (a->p[0]) {
    case '+':
    case '-':
        if (a->len != 1) return -1;
        b->inf = a->p[0] == '+' ? 1 : -1;
        return 0;
    case '(':
    case '[':
        b->m = a->p + 1;
        b->len = a->len - 1;
        /* equal members are "before" an exclusive min and an inclusive max */
        b->after_equal = (a->p[0] == '(') != is_max;
        return 0;
    default:
        return -1;
    }
}

static void lex_ranks(const tc_key *k, const tc_zbound *min, const tc_zbound *max, size_t *lo, size_t *hi)
{
    *lo = tc_zset_lower(k, min);
    *hi = tc_zset_lower(k, max);
    if (*hi < *lo) *hi = *lo;
}

/* Redis's rank sanitizing (start/end may be negative): [*lo, *hi). */
static void rank_ranks(long long start, long long end, size_t card, size_t *lo, size_t *hi)
{
    long long n = (long long)card;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) {
        *lo = *hi = 0;
        return;
    }
    if (end >= n) end = n - 1;
    *lo = (size_t)start;
    *hi = (size_t)end + 1;
}

/* ---- replies ------------------------------------------------------------------ */

/* n elements from rank start (descending from it when reverse); with
 * scores: flat pairs in RESP2, [member, score] arrays in RESP3. */
void tc_zreply_range(tc_ctx *c, const tc_key *k, size_t start, size_t n, int reverse, int withscores)
{
    tc_reply_array(c->r, withscores && c->r->resp == 2 ? n * 2 : n);
    if (!n) return;
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, start, reverse);
    for (size_t i = 0; i < n && tc_zit_next(&it, &e); i++) {
        if (withscores && c->r->resp > 2) tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, e.m, e.len);
        if (withscores) tc_reply_double(c->r, e.score);
    }
    tc_zit_done(&it);
}

/* Stores n elements from rank start of k (or none) in dst: ZRANGESTORE.
 * Replies the count. */
static void store_range(tc_ctx *c, const tc_slice *dst, const tc_key *k, size_t start, size_t n)
{
    tc_zvec v = {0};
    if (n) {
        tc_zit it;
        tc_zel e;
        tc_zit_init(&it, k, start, 0);
        for (size_t i = 0; i < n && tc_zit_next(&it, &e); i++)
            if (tc_zvec_push(&v, e.score, e.m, e.len) != 0) {
                tc_zit_done(&it);
                tc_zvec_free(&v);
                tc_reply_error(c->r, "ERR out of memory");
                return;
            }
        tc_zit_done(&it);
    }
    tc_zset_store_vec(c, dst, &v, "zrangestore");
    tc_zvec_free(&v);
}

void tc_zset_store_vec(tc_ctx *c, const tc_slice *dst, const tc_zvec *v, const char *event)
{
    if (v->n == 0) {
        if (tc_ks_delete(c->ks, dst->p, dst->len)) tc_notify(c, TC_NOTIFY_GENERIC, "del", dst);
        tc_reply_int(c->r, 0);
        return;
    }
    if (!tc_zset_from_vec(c->ks, dst->p, dst->len, v)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_block_signal(c->srv, c->db, dst->p, dst->len); /* a BZPOP* may wait on it */
    tc_notify(c, TC_NOTIFY_ZSET, event, dst);
    tc_reply_int(c->r, (long long)v->n);
}

/* An emptied set leaves the keyspace; 1 if it did. */
static int drop_if_empty(tc_ctx *c, const tc_slice *key, tc_key *k)
{
    if (tc_zset_card(k) != 0) return 0;
    tc_ks_delete(c->ks, key->p, key->len);
    return 1;
}

/* A command's event for key, then "del" if it left the set empty (Redis's
 * order). */
static void notify_and_drop(tc_ctx *c, const char *event, const tc_slice *key, tc_key *k)
{
    tc_notify(c, TC_NOTIFY_ZSET, event, key);
    if (drop_if_empty(c, key, k)) tc_notify(c, TC_NOTIFY_GENERIC, "del", key);
}

/* ---- ZADD, ZINCRBY -------------------------------------------------------------- */

static void zadd_generic(tc_ctx *c, int flags)
{
    size_t i = 2;
    int ch = 0;
    for (; i < c->argc; i++) {
        const tc_slice *a = &c->argv[i];
        if (tc_arg_is(a, "nx")) flags |= TC_ZADD_NX;
        else if (tc_arg_is(a, "xx")) flags |= TC_ZADD_XX;
        else if (tc_arg_is(a, "ch")) ch = 1;
        else if (tc_arg_is(a, "incr")) flags |= TC_ZADD_INCR;
        else if (tc_arg_is(a, "gt")) flags |= TC_ZADD_GT;
        else if (tc_arg_is(a, "lt")) flags |= TC_ZADD_LT;
        else break;
    }
    size_t elements = c->argc - i;
    int nx = flags & TC_ZADD_NX, xx = flags & TC_ZADD_XX, gt = flags & TC_ZADD_GT, lt = flags & TC_ZADD_LT;
    int incr = flags & TC_ZADD_INCR;
    if (elements % 2 || !elements) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        tc_reply_error(c->r, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        tc_reply_error(c->r, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        tc_reply_error(c->r, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = malloc(elements * sizeof *scores);
    if (!scores) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t maxlen = 0;
    for (size_t j = 0; j < elements; j++) {
        if (tc_zparse_score(&c->argv[i + j * 2], &scores[j]) != 0) {
            tc_reply_error(c->r, TC_ERR_NOT_FLOAT);
            free(scores);
            return;
        }
        if (c->argv[i + j * 2 + 1].len > maxlen) maxlen = c->argv[i + j * 2 + 1].len;
    }
    const tc_slice *key = &c->argv[1];
    int wrong;
    tc_key *k = tc_zset_lookup(c, key, &wrong);
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (wrong) goto done;
    if (!k) {
        if (xx) goto reply;
        k = tc_zset_create(c->ks, key->p, key->len, elements, maxlen, 0);
        if (!k) {
            tc_reply_error(c->r, "ERR out of memory");
            goto done;
        }
    }
    for (size_t j = 0; j < elements; j++) {
        const tc_slice *m = &c->argv[i + j * 2 + 1];
        int out;
        if (tc_zset_add(k, &c->ks->enc, scores[j], m->p, m->len, flags, &out, &score) != 0) {
            tc_reply_error(c->r, "ERR out of memory");
            drop_if_empty(c, key, k);
            goto done;
        }
        if (out & TC_ZADD_OUT_NAN) {
            tc_reply_error(c->r, "ERR resulting score is not a number (NaN)");
            drop_if_empty(c, key, k);
            goto done;
        }
        if (out & TC_ZADD_OUT_ADDED) added++;
        if (out & TC_ZADD_OUT_UPDATED) updated++;
        if (!(out & TC_ZADD_OUT_NOP)) processed++;
    }
    drop_if_empty(c, key, k);
    if (added) tc_block_signal(c->srv, c->db, key->p, key->len); /* a BZPOP* may wait on it */
    if (added || updated) tc_notify(c, TC_NOTIFY_ZSET, incr ? "zincr" : "zadd", key);
reply:
    if (incr) {
        if (processed) tc_reply_double(c->r, score);
        else tc_reply_null(c->r);
    } else {
        tc_reply_int(c->r, ch ? added + updated : added);
    }
done:
    free(scores);
}

void tc_cmd_zadd(tc_ctx *c) { zadd_generic(c, 0); }

/* ZINCRBY key increment member: ZADD key INCR increment member, with the
 * same argument positions (Redis even reads "NX" there as an option). */
void tc_cmd_zincrby(tc_ctx *c) { zadd_generic(c, TC_ZADD_INCR); }

/* ---- ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT ------------------------------ */

void tc_cmd_zrem(tc_ctx *c)
{
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long n = 0;
    if (k) {
        for (size_t i = 2; i < c->argc && tc_zset_card(k); i++) n += tc_zset_delete(k, c->argv[i].p, c->argv[i].len);
        if (n) notify_and_drop(c, "zrem", &c->argv[1], k);
    }
    tc_reply_int(c->r, n);
}

void tc_cmd_zscore(tc_ctx *c)
{
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    double s;
    if (wrong) return;
    if (k && tc_zset_score(k, c->argv[2].p, c->argv[2].len, &s)) tc_reply_double(c->r, s);
    else tc_reply_null(c->r);
}

void tc_cmd_zmscore(tc_ctx *c)
{
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_reply_array(c->r, c->argc - 2);
    for (size_t i = 2; i < c->argc; i++) {
        double s;
        if (k && tc_zset_score(k, c->argv[i].p, c->argv[i].len, &s)) tc_reply_double(c->r, s);
        else tc_reply_null(c->r);
    }
}

void tc_cmd_zcard(tc_ctx *c)
{
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (!wrong) tc_reply_int(c->r, k ? (long long)tc_zset_card(k) : 0);
}

#define ERR_NOT_FLOAT_RANGE "ERR min or max is not a float"
#define ERR_LEX_RANGE "ERR min or max not valid string range item"

void tc_cmd_zcount(tc_ctx *c)
{
    double min, max;
    int minex, maxex;
    if (parse_score_bound(&c->argv[2], &min, &minex) != 0 || parse_score_bound(&c->argv[3], &max, &maxex) != 0) {
        tc_reply_error(c->r, ERR_NOT_FLOAT_RANGE);
        return;
    }
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    size_t lo = 0, hi = 0;
    if (k) score_ranks(k, min, minex, max, maxex, &lo, &hi);
    tc_reply_int(c->r, (long long)(hi - lo));
}

void tc_cmd_zlexcount(tc_ctx *c)
{
    tc_zbound min, max;
    if (parse_lex_bound(&c->argv[2], &min, 0) != 0 || parse_lex_bound(&c->argv[3], &max, 1) != 0) {
        tc_reply_error(c->r, ERR_LEX_RANGE);
        return;
    }
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    size_t lo = 0, hi = 0;
    if (k) lex_ranks(k, &min, &max, &lo, &hi);
    tc_reply_int(c->r, (long long)(hi - lo));
}

/* ---- ZRANGE and its family ----------------------------------------------------------- */

enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

/* Redis's zrangeGenericCommand: key at argv[key_at], the two bounds after
 * it, options after them. dst: ZRANGESTORE's destination, or NULL. */
static void zrange_generic(tc_ctx *c, size_t key_at, const tc_slice *dst, int by, int dir)
{
    int withscores = 0;
    long long offset = 0, limit = -1;
    for (size_t j = key_at + 3; j < c->argc; j++) {
        size_t left = c->argc - j - 1;
        const tc_slice *a = &c->argv[j];
        if (!dst && tc_arg_is(a, "withscores")) {
            withscores = 1;
        } else if (tc_arg_is(a, "limit") && left >= 2) {
            if (tc_parse_ll(c->argv[j + 1].p, c->argv[j + 1].len, &offset) != 0 ||
                tc_parse_ll(c->argv[j + 2].p, c->argv[j + 2].len, &limit) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            j += 2;
        } else if (dir == DIR_AUTO && tc_arg_is(a, "rev")) {
            dir = DIR_REVERSE;
        } else if (by == BY_AUTO && tc_arg_is(a, "bylex")) {
            by = BY_LEX;
        } else if (by == BY_AUTO && tc_arg_is(a, "byscore")) {
            by = BY_SCORE;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if (dir == DIR_AUTO) dir = DIR_FORWARD;
    if (by == BY_AUTO) by = BY_RANK;
    /* Redis tells a LIMIT apart by limit != -1 only: "LIMIT 5 -1" passes */
    if (limit != -1 && by == BY_RANK) {
        tc_reply_error(c->r, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && by == BY_LEX) {
        tc_reply_error(c->r, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    const tc_slice *minarg = &c->argv[key_at + 1], *maxarg = &c->argv[key_at + 2];
    int reverse = dir == DIR_REVERSE;
    if (reverse && by != BY_RANK) { /* the range is given as max min */
        const tc_slice *t = minarg;
        minarg = maxarg;
        maxarg = t;
    }
    long long start = 0, end = 0;
    double min = 0, max = 0;
    int minex = 0, maxex = 0;
    tc_zbound lmin, lmax;
    switch (by) {
    case BY_RANK:
        if (tc_parse_ll(minarg->p, minarg->len, &start) != 0 || tc_parse_ll(maxarg->p, maxarg->len, &end) != 0) {
            tc_reply_error(c->r, TC_ERR_NOT_INT);
            return;
        }
        break;
    case BY_SCORE:
        if (parse_score_bound(minarg, &min, &minex) != 0 || parse_score_bound(maxarg, &max, &maxex) != 0) {
            tc_reply_error(c->r, ERR_NOT_FLOAT_RANGE);
            return;
        }
        break;
    default:
        if (parse_lex_bound(minarg, &lmin, 0) != 0 || parse_lex_bound(maxarg, &lmax, 1) != 0) {
            tc_reply_error(c->r, ERR_LEX_RANGE);
            return;
        }
        break;
    }
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[key_at], &wrong);
    if (wrong) return;
    if (!k) tc_notify_source_miss(c, &c->argv[key_at]); /* ZRANGESTORE's source */
    size_t lo = 0, hi = 0;
    if (k) {
        size_t card = tc_zset_card(k);
        if (by == BY_RANK) {
            rank_ranks(start, end, card, &lo, &hi);
            if (reverse) { /* ranks counted from the top */
                size_t l = card - hi, h = card - lo;
                lo = l;
                hi = h;
            }
        } else {
            if (by == BY_SCORE) score_ranks(k, min, minex, max, maxex, &lo, &hi);
            else lex_ranks(k, &lmin, &lmax, &lo, &hi);
            /* LIMIT: a negative offset skips everything, a negative count
             * means all (what Redis's loops do with them) */
            size_t avail = hi - lo;
            size_t skip = offset < 0 ? avail : (size_t)offset < avail ? (size_t)offset : avail;
            size_t take = avail - skip;
            if (limit >= 0 && (size_t)limit < take) take = (size_t)limit;
            if (reverse) {
                hi -= skip;
                lo = hi - take;
            } else {
                lo += skip;
                hi = lo + take;
            }
        }
    }
    if (dst) {
        store_range(c, dst, k, lo, hi - lo);
        return;
    }
    if (!k) {
        tc_reply_array(c->r, 0);
        return;
    }
    tc_zreply_range(c, k, reverse ? hi - 1 : lo, hi - lo, reverse, withscores);
}

void tc_cmd_zrange(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_AUTO, DIR_AUTO); }
void tc_cmd_zrangestore(tc_ctx *c) { zrange_generic(c, 2, &c->argv[1], BY_AUTO, DIR_AUTO); }
void tc_cmd_zrevrange(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_RANK, DIR_REVERSE); }
void tc_cmd_zrangebyscore(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_SCORE, DIR_FORWARD); }
void tc_cmd_zrevrangebyscore(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_SCORE, DIR_REVERSE); }
void tc_cmd_zrangebylex(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_LEX, DIR_FORWARD); }
void tc_cmd_zrevrangebylex(tc_ctx *c) { zrange_generic(c, 1, NULL, BY_LEX, DIR_REVERSE); }

/* ---- ZRANK, ZREVRANK -------------------------------------------------------------------- */

static void zrank_generic(tc_ctx *c, int reverse)
{
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    size_t rank;
    double s;
    if (!k || !tc_zset_rank(k, c->argv[2].p, c->argv[2].len, &rank, &s)) {
        tc_reply_null(c->r);
        return;
    }
    tc_reply_int(c->r, (long long)(reverse ? tc_zset_card(k) - 1 - rank : rank));
}

void tc_cmd_zrank(tc_ctx *c) { zrank_generic(c, 0); }
void tc_cmd_zrevrank(tc_ctx *c) { zrank_generic(c, 1); }

/* ---- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ------------------------------------ */

static void zremrange_generic(tc_ctx *c, int by)
{
    long long start = 0, end = 0;
    double min = 0, max = 0;
    int minex = 0, maxex = 0;
    tc_zbound lmin, lmax;
    if (by == BY_RANK) {
        if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &start) != 0 ||
            tc_parse_ll(c->argv[3].p, c->argv[3].len, &end) != 0) {
            tc_reply_error(c->r, TC_ERR_NOT_INT);
            return;
        }
    } else if (by == BY_SCORE) {
        if (parse_score_bound(&c->argv[2], &min, &minex) != 0 || parse_score_bound(&c->argv[3], &max, &maxex) != 0) {
            tc_reply_error(c->r, ERR_NOT_FLOAT_RANGE);
            return;
        }
    } else if (parse_lex_bound(&c->argv[2], &lmin, 0) != 0 || parse_lex_bound(&c->argv[3], &lmax, 1) != 0) {
        tc_reply_error(c->r, ERR_LEX_RANGE);
        return;
    }
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_int(c->r, 0);
        return;
    }
    size_t lo, hi;
    if (by == BY_RANK) rank_ranks(start, end, tc_zset_card(k), &lo, &hi);
    else if (by == BY_SCORE) score_ranks(k, min, minex, max, maxex, &lo, &hi);
    else lex_ranks(k, &lmin, &lmax, &lo, &hi);
    tc_zset_delete_range(k, lo, hi);
    static const char *const EVENTS[] = {[BY_RANK] = "zremrangebyrank", [BY_SCORE] = "zremrangebyscore",
                                         [BY_LEX] = "zremrangebylex"};
    if (hi > lo) notify_and_drop(c, EVENTS[by], &c->argv[1], k);
    tc_reply_int(c->r, (long long)(hi - lo));
}

void tc_cmd_zremrangebyrank(tc_ctx *c) { zremrange_generic(c, BY_RANK); }
void tc_cmd_zremrangebyscore(tc_ctx *c) { zremrange_generic(c, BY_SCORE); }
void tc_cmd_zremrangebylex(tc_ctx *c) { zremrange_generic(c, BY_LEX); }

/* ---- ZPOPMIN, ZPOPMAX, ZMPOP -------------------------------------------------------------- */

/* Redis's genericZpopCommand without blocking: pops up to count from the
 * first non-empty key of keys. emitkey: ZMPOP's [key, [[m, s]...]] reply. */
static void zpop_generic(tc_ctx *c, const tc_slice *keys, size_t nkeys, int max, int emitkey, long long count,
                         int nested, int nil_when_empty)
{
    if (count == -1) count = 1;
    tc_key *k = NULL;
    const tc_slice *key = NULL;
    for (size_t i = 0; i < nkeys && !k; i++) {
        int wrong;
        k = tc_zset_lookup(c, &keys[i], &wrong);
        if (wrong) return;
        key = &keys[i];
    }
    if (!k) {
        if (nil_when_empty) tc_reply_null_array(c->r);
        else tc_reply_array(c->r, 0);
        return;
    }
    if (count == 0) {
        tc_reply_array(c->r, 0);
        return;
    }
    size_t card = tc_zset_card(k);
    size_t n = (unsigned long long)count > card ? card : (size_t)count;
    if (emitkey) {
        tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, key->p, key->len);
        tc_reply_array(c->r, n);
    } else {
        tc_reply_array(c->r, nested ? n : n * 2);
    }
    size_t start = max ? card - 1 : 0;
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, start, max);
    for (size_t i = 0; i < n && tc_zit_next(&it, &e); i++) {
        if (nested) tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, e.m, e.len);
        tc_reply_double(c->r, e.score);
    }
    tc_zit_done(&it);
    if (max) tc_zset_delete_range(k, card - n, card);
    else tc_zset_delete_range(k, 0, n);
    notify_and_drop(c, max ? "zpopmax" : "zpopmin", key, k);
}

static void zpopminmax(tc_ctx *c, int max)
{
    if (c->argc > 3) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    long long count = -1;
    if (c->argc == 3) {
        /* Redis's getPositiveLongFromObjectOrReply: one text for both */
        if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &count) != 0 || count < 0) {
            tc_reply_error(c->r, "ERR value is out of range, must be positive");
            return;
        }
    }
    zpop_generic(c, &c->argv[1], 1, max, 0, count, c->r->resp > 2 && count != -1, 0);
}

void tc_cmd_zpopmin(tc_ctx *c) { zpopminmax(c, 0); }
void tc_cmd_zpopmax(tc_ctx *c) { zpopminmax(c, 1); }

/* ZMPOP's (and BZMPOP's) arguments from argv[at]: numkeys key [key ...]
 * MIN|MAX [COUNT count]. 0, or -1 with the error replied. */
static int parse_zmpop(tc_ctx *c, size_t at, long long *numkeys, int *max, long long *count)
{
    *count = -1;
    if (tc_parse_ll(c->argv[at].p, c->argv[at].len, numkeys) != 0 || *numkeys < 1) {
        tc_reply_error(c->r, "ERR numkeys should be greater than 0");
        return -1;
    }
    if ((unsigned long long)*numkeys + at + 1 >= c->argc) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    size_t where = at + 1 + (size_t)*numkeys;
    if (tc_arg_is(&c->argv[where], "min")) *max = 0;
    else if (tc_arg_is(&c->argv[where], "max")) *max = 1;
    else {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    for (size_t j = where + 1; j < c->argc; j++) {
        if (*count == -1 && tc_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            if (tc_parse_ll(c->argv[j].p, c->argv[j].len, count) != 0 || *count < 1) {
                tc_reply_error(c->r, "ERR count should be greater than 0");
                return -1;
            }
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
void tc_cmd_zmpop(tc_ctx *c)
{
    long long numkeys, count;
    int max;
    if (parse_zmpop(c, 1, &numkeys, &max, &count) != 0) return;
    zpop_generic(c, &c->argv[2], (size_t)numkeys, max, 1, count, 1, 1);
}

/* ---- BZPOPMIN, BZPOPMAX, BZMPOP (node/blocking.h) ---------------------------------------- */

/* Members a client blocked on key could take now (tc_block_spec.ready). */
static size_t zset_ready(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    tc_key *k = tc_ks_peek(ks, key, klen, now_ms);
    return k && k->type == TC_TYPE_ZSET ? tc_zset_card(k) : 0;
}

/* 1 if one of the spec's keys holds a value (a sorted set, or another
 * type, which zpop_generic then answers with WRONGTYPE). */
static int any_key_present(tc_ctx *c, const tc_block_spec *b)
{
    for (size_t i = 0; i < b->nkeys; i++) {
        const tc_slice *key = &c->argv[b->first_key + i];
        if (tc_ks_find(c->ks, key->p, key->len, c->now_ms)) return 1;
    }
    return 0;
}

/* BZPOPMIN/BZPOPMAX key [key ...] timeout: [key, member, score] from the
 * first non-empty key, or a nil array once the timeout passes. */
static void bzpopminmax(tc_ctx *c, int max)
{
    tc_block_spec b = {.first_key = 1, .nkeys = c->argc - 2, .ready = zset_ready};
    if (tc_block_parse_timeout(c, &c->argv[c->argc - 1], &b.deadline_ms)) return;
    int present = any_key_present(c, &b);
    if (tc_block_wait(c, &b, present)) return; /* blocked, or on its way through the log */
    if (!present) {
        tc_reply_null_array(c->r);
        return;
    }
    /* ZMPOP's walk, with BZPOPMIN's flat [key, member, score] reply */
    tc_key *k = NULL;
    const tc_slice *key = NULL;
    for (size_t i = 0; i < b.nkeys && !k; i++) {
        int wrong;
        key = &c->argv[b.first_key + i];
        k = tc_zset_lookup(c, key, &wrong);
        if (wrong) return;
    }
    size_t card = tc_zset_card(k);
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, max ? card - 1 : 0, max);
    tc_zit_next(&it, &e);
    tc_reply_array(c->r, 3);
    tc_reply_bulk(c->r, key->p, key->len);
    tc_reply_bulk(c->r, e.m, e.len);
    tc_reply_double(c->r, e.score);
    tc_zit_done(&it);
    if (max) tc_zset_delete_range(k, card - 1, card);
    else tc_zset_delete_range(k, 0, 1);
    notify_and_drop(c, max ? "zpopmax" : "zpopmin", key, k);
}

void tc_cmd_bzpopmin(tc_ctx *c) { bzpopminmax(c, 0); }
void tc_cmd_bzpopmax(tc_ctx *c) { bzpopminmax(c, 1); }

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
void tc_cmd_bzmpop(tc_ctx *c)
{
    int64_t deadline;
    if (tc_block_parse_timeout(c, &c->argv[1], &deadline)) return;
    long long numkeys, count;
    int max;
    if (parse_zmpop(c, 2, &numkeys, &max, &count) != 0) return;
    tc_block_spec b = {.first_key = 3, .nkeys = (size_t)numkeys, .deadline_ms = deadline, .ready = zset_ready};
    int present = any_key_present(c, &b);
    if (tc_block_wait(c, &b, present)) return;
    zpop_generic(c, &c->argv[3], (size_t)numkeys, max, 1, count, 1, 1);
}

/* ---- ZRANDMEMBER ----------------------------------------------------------------------------- */

/* A read: its randomness is local and nothing replays it. xorshift64*,
 * seeded once from the kernel. */
static uint64_t rand_state;

static uint64_t rand_next(void)
{
    if (!rand_state && (getrandom(&rand_state, sizeof rand_state, 0) != sizeof rand_state || !rand_state))
        rand_state = 0x9e3779b97f4a7c15ull;
    rand_state ^= rand_state >> 12;
    rand_state ^= rand_state << 25;
    rand_state ^= rand_state >> 27;
    return rand_state * 0x2545f4914f6cdd1dull;
}

static size_t rand_below(size_t n) { return (size_t)(rand_next() % n); }

static void reply_rank(tc_ctx *c, const tc_key *k, size_t rank, int withscores)
{
    tc_zit it;
    tc_zel e;
    tc_zit_init(&it, k, rank, 0);
    if (tc_zit_next(&it, &e)) {
        if (withscores && c->r->resp > 2) tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, e.m, e.len);
        if (withscores) tc_reply_double(c->r, e.score);
    }
    tc_zit_done(&it);
}

/* A set of ranks for distinct picks (open addressing, rank + 1 stored). */
static int rank_set_add(uint64_t *tab, size_t mask, size_t r)
{
    size_t h = (size_t)((r * 0x9e3779b97f4a7c15ull) >> 7) & mask;
    while (tab[h]) {
        if (tab[h] == r + 1) return 0;
        h = (h + 1) & mask;
    }
    tab[h] = r + 1;
    return 1;
}

void tc_cmd_zrandmember(tc_ctx *c)
{
    long long l = 0;
    int withscores = 0;
    if (c->argc >= 3) {
        if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &l) != 0 || l == LLONG_MIN) {
            tc_reply_error(c->r, TC_ERR_NOT_INT);
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !tc_arg_is(&c->argv[3], "withscores"))) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        if (c->argc == 4) {
            withscores = 1;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                tc_reply_error(c->r, "ERR value is out of range");
                return;
            }
        }
    }
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (c->argc < 3) {
        if (!k) tc_reply_null(c->r);
        else reply_rank(c, k, rand_below(tc_zset_card(k)), 0);
        return;
    }
    if (!k || l == 0) {
        tc_reply_array(c->r, 0);
        return;
    }
    size_t size = tc_zset_card(k);
    int uniq = l > 0;
    unsigned long long count = uniq ? (unsigned long long)l : (unsigned long long)-l;
    if (!uniq || count == 1) { /* with repetitions, in random order */
        tc_reply_array(c->r, withscores && c->r->resp == 2 ? count * 2 : count);
        for (unsigned long long i = 0; i < count; i++) reply_rank(c, k, rand_below(size), withscores);
        return;
    }
    if (count >= size) { /* the whole set: Redis 7.0 answers a reverse range */
        tc_zreply_range(c, k, size - 1, size, 1, withscores);
        return;
    }
    /* count distinct ranks: Floyd's sampling, in the order picked */
    size_t cap = 16;
    while (cap < count * 2) cap *= 2;
    uint64_t *tab = calloc(cap, sizeof *tab);
    size_t *picked = malloc(count * sizeof *picked);
    if (!tab || !picked) {
        free(tab);
        free(picked);
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t np = 0;
    for (size_t j = size - count; j < size; j++) {
        size_t t = rand_below(j + 1);
        picked[np++] = rank_set_add(tab, cap - 1, t) ? t : (rank_set_add(tab, cap - 1, j), j);
    }
    tc_reply_array(c->r, withscores && c->r->resp == 2 ? count * 2 : count);
    for (size_t i = 0; i < np; i++) reply_rank(c, k, picked[i], withscores);
    free(tab);
    free(picked);
}

/* ---- ZSCAN -------------------------------------------------------------------------------------- */

struct zscan_ud {
    tc_zvec v;
    const tc_slice *pattern;
};

static void zscan_one(void *ud, const char *m, size_t len, double score)
{
    struct zscan_ud *s = ud;
    if (s->pattern && !tc_glob_match(s->pattern->p, s->pattern->len, m, len, 0)) return;
    (void)tc_zvec_push(&s->v, score, m, len);
}

/* A score as Redis prints it in ZSCAN (and everywhere %.17g). */
int tc_zformat_score(char *buf, size_t cap, double s)
{
    if (isinf(s)) return snprintf(buf, cap, "%s", s > 0 ? "inf" : "-inf");
    return snprintf(buf, cap, "%.17g", s);
}

void tc_cmd_zscan(tc_ctx *c)
{
    const tc_slice *cur = &c->argv[2];
    char cbuf[32];
    unsigned long long cursor;
    char *end;
    if (cur->len == 0 || cur->len >= sizeof cbuf) goto bad_cursor;
    memcpy(cbuf, cur->p, cur->len);
    cbuf[cur->len] = '\0';
    errno = 0;
    cursor = strtoull(cbuf, &end, 10);
    if (*end || errno == ERANGE || cbuf[0] == '-' || cbuf[0] == ' ') goto bad_cursor;
    int wrong;
    tc_key *k = tc_zset_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long count = 10;
    struct zscan_ud s = {{0}, NULL};
    for (size_t i = 3; i < c->argc; i += 2) {
        const tc_slice *a = &c->argv[i];
        if (tc_arg_is(a, "count") && i + 1 < c->argc) {
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 1) {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                return;
            }
        } else if (tc_arg_is(a, "match") && i + 1 < c->argc) {
            const tc_slice *p = &c->argv[i + 1];
            s.pattern = p->len == 1 && p->p[0] == '*' ? NULL : p;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    uint64_t next = 0;
    if (k) next = tc_zset_scan(k, cursor, (size_t)count, zscan_one, &s);
    tc_reply_array(c->r, 2);
    char nb[32];
    tc_reply_bulk(c->r, nb, (size_t)snprintf(nb, sizeof nb, "%llu", (unsigned long long)next));
    tc_reply_array(c->r, s.v.n * 2);
    for (size_t i = 0; i < s.v.n; i++) {
        char sb[64];
        tc_reply_bulk(c->r, tc_zvec_member(&s.v, i), s.v.v[i].len);
        tc_reply_bulk(c->r, sb, (size_t)tc_zformat_score(sb, sizeof sb, s.v.v[i].score));
    }
    tc_zvec_free(&s.v);
    return;
bad_cursor:
    tc_reply_error(c->r, "ERR invalid cursor");
}
