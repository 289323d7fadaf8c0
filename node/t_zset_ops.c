/* ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: Redis 7.0's
 * zunionInterDiffGenericCommand (argument order, errors, aggregation, NaN
 * to 0). Results are collected with their own copies of the members,
 * sorted, then replied or stored, so a destination that is also a source is
 * fine. Plain sets are inputs too, every member scoring 1, as in Redis. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "t_zset.h"
#include "types/dict.h"
#include "types/set.h"

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct src {
    tc_key *k;  /* NULL: missing key, an empty input */
    int is_set; /* a plain set (t_set.c): members score 1 */
    tc_set set;
    double weight;
    size_t idx; /* position on the command line, the tie-break of the sort */
} src;

static size_t src_card(const src *s)
{
    if (!s->k) return 0;
    return s->is_set ? tc_set_size(&s->set) : tc_zset_card(s->k);
}

/* The input's score for member m (1 for a set member); 0 when absent. */
static int src_score(const src *s, const char *m, size_t len, double *score)
{
    if (!s->k) return 0;
    if (!s->is_set) return tc_zset_score(s->k, m, len, score);
    *score = 1.0;
    return tc_set_has(&s->set, m, len);
}

/* Iteration over either kind of input. */
typedef struct src_iter {
    const src *s;
    tc_zit zi;
    tc_set_iter si;
    tc_set_member sm;
} src_iter;

static void src_iter_init(src_iter *it, const src *s)
{
    it->s = s;
    if (s->is_set) tc_set_iter_init(&it->si, &s->set);
    else tc_zit_init(&it->zi, s->k, 0, 0);
}

static int src_next(src_iter *it, tc_zel *e)
{
    if (!it->s->is_set) return tc_zit_next(&it->zi, e);
    if (!tc_set_next(&it->si, &it->sm)) return 0;
    e->m = it->sm.p;
    e->len = it->sm.len;
    e->score = 1.0;
    return 1;
}

static void src_iter_done(src_iter *it)
{
    if (!it->s->is_set) tc_zit_done(&it->zi);
}

static int by_card(const void *a, const void *b)
{
    const src *x = a, *y = b;
    size_t cx = src_card(x), cy = src_card(y);
    if (cx != cy) return cx < cy ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void aggregate(double *target, double v, int agg)
{
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target)) *target = 0.0; /* inf + -inf */
    } else if (agg == AGG_MIN) {
        if (v < *target) *target = v;
    } else if (v > *target) {
        *target = v;
    }
}

static int add_union(tc_dict *acc, tc_zvec *v, const src *s, int agg)
{
    src_iter it;
    tc_zel e;
    src_iter_init(&it, s);
    int rc = 0;
    while (rc == 0 && src_next(&it, &e)) {
        double score = s->weight * e.score;
        if (isnan(score)) score = 0;
        int added;
        tc_dict_entry *de = tc_dict_add(acc, e.m, e.len, &added);
        if (!de) {
            rc = -1;
            break;
        }
        if (added) {
            /* the vector's index of the member, +1: the dict's slot keeps it */
            if (tc_zvec_push(v, score, e.m, e.len) != 0) rc = -1;
            tc_dict_set_ptr(de, (void *)(uintptr_t)v->n);
        } else {
            aggregate(&v->v[(uintptr_t)tc_dict_ptr(de) - 1].score, score, agg);
        }
    }
    src_iter_done(&it);
    return rc;
}

/* dst: the STORE destination or NULL; numkeys_at: where numkeys is. */
static void setop_generic(tc_ctx *c, const tc_slice *dst, size_t numkeys_at, int op, int card_only)
{
    long long setnum;
    if (tc_parse_ll(c->argv[numkeys_at].p, c->argv[numkeys_at].len, &setnum) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return;
    }
    if (setnum < 1) {
        char name[32];
        size_t n = c->argv[0].len < sizeof name - 1 ? c->argv[0].len : sizeof name - 1;
        for (size_t i = 0; i < n; i++) name[i] = (char)(c->argv[0].p[i] | 0x20);
        name[n] = '\0';
        tc_reply_errorf(c->r, "ERR at least 1 input key is needed for '%s' command", name);
        return;
    }
    if ((unsigned long long)setnum > c->argc - numkeys_at - 1) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    src *srcs = calloc((size_t)setnum, sizeof *srcs);
    if (!srcs) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t j = numkeys_at + 1;
    for (size_t i = 0; i < (size_t)setnum; i++, j++) {
        tc_key *k = tc_ks_find(c->ks, c->argv[j].p, c->argv[j].len, c->now_ms);
        if (!k) tc_notify_source_miss(c, &c->argv[j]);
        if (k && k->type != TC_TYPE_ZSET && k->type != TC_TYPE_SET) {
            tc_reply_error(c->r, TC_ERR_WRONGTYPE);
            goto out;
        }
        srcs[i].k = k;
        if (k && k->type == TC_TYPE_SET) {
            srcs[i].is_set = 1;
            srcs[i].set = tc_set_of(k);
        }
        srcs[i].weight = 1.0;
        srcs[i].idx = i;
    }
    int agg = AGG_SUM, withscores = 0;
    long long limit = 0;
    while (j < c->argc) {
        size_t remaining = c->argc - j;
        const tc_slice *a = &c->argv[j];
        if (op != OP_DIFF && !card_only && remaining >= (size_t)setnum + 1 && tc_arg_is(a, "weights")) {
            j++;
            for (size_t i = 0; i < (size_t)setnum; i++, j++)
                if (tc_zparse_score(&c->argv[j], &srcs[i].weight) != 0) {
                    tc_reply_error(c->r, "ERR weight value is not a float");
                    goto out;
                }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && tc_arg_is(a, "aggregate")) {
            const tc_slice *w = &c->argv[j + 1];
            if (tc_arg_is(w, "sum")) agg = AGG_SUM;
            else if (tc_arg_is(w, "min")) agg = AGG_MIN;
            else if (tc_arg_is(w, "max")) agg = AGG_MAX;
            else {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                goto out;
            }
            j += 2;
        } else if (!dst && !card_only && tc_arg_is(a, "withscores")) {
            withscores = 1;
            j++;
        } else if (card_only && remaining >= 2 && tc_arg_is(a, "limit")) {
            if (tc_parse_ll(c->argv[j + 1].p, c->argv[j + 1].len, &limit) != 0 || limit < 0) {
                tc_reply_error(c->r, "ERR LIMIT can't be negative");
                goto out;
            }
            j += 2;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            goto out;
        }
    }

    tc_zvec v = {0};
    unsigned long long cardinality = 0;
    int oom = 0;
    if (op != OP_DIFF) qsort(srcs, (size_t)setnum, sizeof *srcs, by_card);
    if (op == OP_INTER && src_card(&srcs[0]) > 0) {
        src_iter it;
        tc_zel e;
        src_iter_init(&it, &srcs[0]);
        while (!oom && src_next(&it, &e)) {
            double score = srcs[0].weight * e.score;
            if (isnan(score)) score = 0;
            size_t i = 1;
            for (; i < (size_t)setnum; i++) {
                double value;
                if (!src_score(&srcs[i], e.m, e.len, &value)) break;
                aggregate(&score, value * srcs[i].weight, agg);
            }
            if (i < (size_t)setnum) continue;
            if (card_only) {
                cardinality++;
                if (limit && cardinality >= (unsigned long long)limit) break;
            } else if (tc_zvec_push(&v, score, e.m, e.len) != 0) {
                oom = 1;
            }
        }
        src_iter_done(&it);
    } else if (op == OP_UNION) {
        tc_dict *acc = tc_dict_new(1, 0x243f6a8885a308d3ull, 0x13198a2e03707344ull);
        if (!acc) oom = 1;
        for (size_t i = 0; !oom && i < (size_t)setnum; i++)
            if (srcs[i].k && add_union(acc, &v, &srcs[i], agg) != 0) oom = 1;
        if (acc) tc_dict_free(acc, NULL);
    } else if (op == OP_DIFF && srcs[0].k) {
        src_iter it;
        tc_zel e;
        src_iter_init(&it, &srcs[0]);
        while (!oom && src_next(&it, &e)) {
            size_t i = 1;
            double ignored;
            for (; i < (size_t)setnum; i++)
                if (src_score(&srcs[i], e.m, e.len, &ignored)) break;
            if (i == (size_t)setnum && tc_zvec_push(&v, e.score, e.m, e.len) != 0) oom = 1;
        }
        src_iter_done(&it);
    }
    if (oom) {
        tc_reply_error(c->r, "ERR out of memory");
    } else if (card_only) {
        tc_reply_int(c->r, (long long)cardinality);
    } else {
        tc_zvec_sort(&v);
        if (dst) {
            static const char *const EVENTS[] = {[OP_UNION] = "zunionstore", [OP_INTER] = "zinterstore",
                                                 [OP_DIFF] = "zdiffstore"};
            tc_zset_store_vec(c, dst, &v, EVENTS[op]);
        } else {
            tc_reply_array(c->r, withscores && c->r->resp == 2 ? v.n * 2 : v.n);
            for (size_t i = 0; i < v.n; i++) {
                if (withscores && c->r->resp > 2) tc_reply_array(c->r, 2);
                tc_reply_bulk(c->r, tc_zvec_member(&v, i), v.v[i].len);
                if (withscores) tc_reply_double(c->r, v.v[i].score);
            }
        }
    }
    tc_zvec_free(&v);
out:
    free(srcs);
}

void tc_cmd_zunion(tc_ctx *c) { setop_generic(c, NULL, 1, OP_UNION, 0); }
void tc_cmd_zinter(tc_ctx *c) { setop_generic(c, NULL, 1, OP_INTER, 0); }
void tc_cmd_zdiff(tc_ctx *c) { setop_generic(c, NULL, 1, OP_DIFF, 0); }
void tc_cmd_zunionstore(tc_ctx *c) { setop_generic(c, &c->argv[1], 2, OP_UNION, 0); }
void tc_cmd_zinterstore(tc_ctx *c) { setop_generic(c, &c->argv[1], 2, OP_INTER, 0); }
void tc_cmd_zdiffstore(tc_ctx *c) { setop_generic(c, &c->argv[1], 2, OP_DIFF, 0); }
void tc_cmd_zintercard(tc_ctx *c) { setop_generic(c, NULL, 1, OP_INTER, 1); }
