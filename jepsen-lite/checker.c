/* jl_check(): splits a history per key (P-compositionality: a history of
 * independent registers is linearizable iff each register's sub-history
 * is), runs the model's checker on each part within one time budget, and
 * folds the verdicts. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_MEMORY_LIMIT ((size_t)4 << 30)

void jl_result_free(jl_result *r) {
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_keys; i++) {
        jl_key_result *k = &r->keys[i];
        jl_ids *lists[] = {&k->prefix, &k->stuck, &k->state_keys, &k->state, &k->lost,
                           &k->unexpected, &k->failed_present, &k->recovered, &k->lost_unknown,
                           &k->divergent, &k->stale};
        for (size_t j = 0; j < sizeof(lists) / sizeof(lists[0]); j++)
            free(lists[j]->v);
    }
    free(r->keys);
    free(r);
}

/* After an invalid verdict: the register values after the longest prefix,
 * and the ops concurrent with that point, none of which could follow it. */
static int failing_window(const jl_history *h, const uint32_t *ops, size_t n,
                          const uint32_t *slot_of_key, size_t n_slots, jl_key_result *r) {
    uint32_t *state = calloc(n_slots, sizeof(uint32_t));
    uint8_t *done = calloc(h->n_ops ? h->n_ops : 1, 1);
    int rc = 0;
    if (!state || !done) {
        rc = JL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->prefix.n; i++) {
        const jl_op *op = &h->ops[r->prefix.v[i]];
        uint32_t *s = &state[slot_of_key[op->key]];
        jl__register_step(op, *s, s);
        done[r->prefix.v[i]] = 1;
    }
    /* the earliest completion among the ops left: everything called before
     * it was a candidate for the next step */
    uint64_t first_ret = JL_NO_RET;
    for (size_t i = 0; i < n; i++)
        if (!done[ops[i]] && h->ops[ops[i]].ret < first_ret)
            first_ret = h->ops[ops[i]].ret;
    uint8_t *shown = calloc(n_slots, 1);
    if (shown == NULL) {
        rc = JL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (done[ops[i]] || op->call > first_ret)
            continue;
        rc = jl__ids_push(&r->stuck, ops[i]);
        uint32_t s = slot_of_key[op->key];
        if (rc == 0 && !shown[s]) {
            shown[s] = 1;
            rc = jl__ids_push(&r->state_keys, op->key);
            if (rc == 0)
                rc = jl__ids_push(&r->state, state[s]);
        }
    }
    free(shown);
out:
    free(state);
    free(done);
    return rc;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t key_value(uint32_t key, uint32_t v) {
    return (uint64_t)key << 32 | v;
}

static int check_register(const jl_history *h, const uint32_t *ops, size_t n,
                          const uint32_t *slot_of_key, size_t n_slots, int64_t deadline,
                          size_t memory_limit, jl_key_result *r) {
    /* Failed ops did not happen and an indeterminate read constrains
     * nothing: neither takes part in the search.
     *
     * Neither does an indeterminate write or cas whose new value nobody
     * observes (no read returns it, no cas expects it): in any
     * linearization that holds it, the next op on its key can only be a
     * write, which hides it, so dropping it keeps the linearization legal.
     * Without this, every timed-out write would double the search space. */
    uint32_t *keep = malloc((n ? n : 1) * sizeof(uint32_t));
    uint64_t *seen = malloc((n ? n : 1) * sizeof(uint64_t));
    if (keep == NULL || seen == NULL) {
        free(keep);
        free(seen);
        return JL_ENOMEM;
    }
    size_t n_seen = 0;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if ((op->f == JL_READ && op->outcome == JL_OK) ||
            (op->f == JL_CAS && op->outcome != JL_FAIL))
            seen[n_seen++] = key_value(op->key, op->a);
    }
    qsort(seen, n_seen, sizeof(*seen), cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (op->outcome == JL_FAIL || (op->outcome == JL_INFO && op->f == JL_READ))
            continue;
        if (op->outcome == JL_INFO) {
            uint64_t kv = key_value(op->key, op->f == JL_WRITE ? op->a : op->b);
            if (bsearch(&kv, seen, n_seen, sizeof(*seen), cmp_u64) == NULL)
                continue;
        }
        keep[m++] = ops[i];
    }
    free(seen);
    jl__wgl_in in = {.h = h, .ops = keep, .n = m, .slot_of_key = slot_of_key,
                     .n_slots = n_slots, .deadline_ns = deadline, .memory_limit = memory_limit};
    jl__wgl_out out;
    jl__wgl_check(&in, &out);
    r->configs = out.configs;
    int rc = 0;
    switch (out.status) {
    case JL__WGL_VALID:
        r->verdict = JL_VALID;
        break;
    case JL__WGL_INVALID:
        r->verdict = JL_INVALID;
        r->prefix = out.prefix;
        out.prefix = (jl_ids){0};
        /* The pruning that makes the search fast also cuts paths short, so
         * its longest prefix can stop before the op that is really to
         * blame. Search again without it, on a bounded budget, for the
         * window to show; keep the first answer if that runs out. */
        in.no_lookahead = true;
        in.max_configs = 4 * out.configs + 100000;
        jl__wgl_check(&in, &out);
        if (out.status == JL__WGL_INVALID && out.prefix.n >= r->prefix.n) {
            free(r->prefix.v);
            r->prefix = out.prefix;
            out.prefix = (jl_ids){0};
        }
        rc = failing_window(h, keep, m, slot_of_key, n_slots, r);
        break;
    case JL__WGL_TIMEOUT:
        r->verdict = JL_UNKNOWN;
        r->unknown_why = "time limit";
        break;
    case JL__WGL_MEMORY:
        r->verdict = JL_UNKNOWN;
        r->unknown_why = "memory limit";
        break;
    case JL__WGL_NOMEM:
        rc = JL_ENOMEM;
        break;
    }
    free(out.prefix.v);
    free(keep);
    return rc;
}

int jl_check(const jl_history *h, const jl_check_opts *opts, jl_result **out, jl_error *err) {
    jl_check_opts o = {0};
    if (opts)
        o = *opts;
    if (o.memory_limit == 0)
        o.memory_limit = DEFAULT_MEMORY_LIMIT;
    int64_t start = jl__now_ns();
    int64_t deadline = 0;
    if (o.time_limit > 0)
        deadline = start + (int64_t)(o.time_limit * 1e9);
    bool whole = o.whole && h->model == JL_MODEL_REGISTER;
    *out = NULL;

    jl_result *r = calloc(1, sizeof(*r));
    size_t n_parts = whole ? 1 : h->n_keys;
    /* ops grouped by key, each group in call order (counting sort) */
    size_t *first = calloc(h->n_keys + 1, sizeof(size_t));
    uint32_t *by_key = malloc((h->n_ops ? h->n_ops : 1) * sizeof(uint32_t));
    uint32_t *slot_of_key = calloc(h->n_keys ? h->n_keys : 1, sizeof(uint32_t));
    int rc = 0;
    if (r == NULL || first == NULL || by_key == NULL || slot_of_key == NULL ||
        (r->keys = calloc(n_parts ? n_parts : 1, sizeof(jl_key_result))) == NULL) {
        rc = JL_ENOMEM;
        goto out;
    }
    r->model = h->model;
    r->whole = whole;
    r->n_keys = n_parts;
    for (size_t i = 0; i < h->n_ops; i++)
        first[h->ops[i].key + 1]++;
    for (size_t k = 0; k < h->n_keys; k++)
        first[k + 1] += first[k];
    {
        size_t *fill = malloc((h->n_keys ? h->n_keys : 1) * sizeof(size_t));
        if (fill == NULL) {
            rc = JL_ENOMEM;
            goto out;
        }
        memcpy(fill, first, h->n_keys * sizeof(size_t));
        for (size_t i = 0; i < h->n_ops; i++)
            by_key[fill[h->ops[i].key]++] = (uint32_t)i;
        free(fill);
    }

    r->verdict = JL_VALID;
    for (size_t p = 0; p < n_parts && rc == 0; p++) {
        jl_key_result *kr = &r->keys[p];
        int64_t t = jl__now_ns();
        const uint32_t *ops;
        size_t n;
        uint32_t *all = NULL;
        if (whole) {
            kr->key = UINT32_MAX;
            all = malloc((h->n_ops ? h->n_ops : 1) * sizeof(uint32_t));
            if (all == NULL) {
                rc = JL_ENOMEM;
                break;
            }
            for (size_t i = 0; i < h->n_ops; i++)
                all[i] = (uint32_t)i;
            for (size_t k = 0; k < h->n_keys; k++)
                slot_of_key[k] = (uint32_t)k;
            ops = all;
            n = h->n_ops;
        } else {
            kr->key = (uint32_t)p;
            ops = by_key + first[p];
            n = first[p + 1] - first[p];
        }
        for (size_t i = 0; i < n; i++) {
            jl_type t2 = h->ops[ops[i]].outcome;
            kr->n_ok += t2 == JL_OK;
            kr->n_fail += t2 == JL_FAIL;
            kr->n_info += t2 == JL_INFO;
        }
        if (deadline && jl__now_ns() > deadline) {
            kr->verdict = JL_UNKNOWN;
            kr->unknown_why = "time limit";
        } else if (h->model == JL_MODEL_REGISTER) {
            rc = check_register(h, ops, n, slot_of_key, whole ? h->n_keys : 1, deadline,
                                o.memory_limit, kr);
        } else {
            rc = jl__set_check(h, ops, n, o.set_realtime, kr);
        }
        free(all);
        kr->seconds = (double)(jl__now_ns() - t) / 1e9;
        if (kr->verdict == JL_INVALID)
            r->verdict = JL_INVALID;
        else if (kr->verdict == JL_UNKNOWN && r->verdict == JL_VALID)
            r->verdict = JL_UNKNOWN;
    }
    r->seconds = (double)(jl__now_ns() - start) / 1e9;

out:
    free(first);
    free(by_key);
    free(slot_of_key);
    if (rc) {
        jl_result_free(r);
        snprintf(err->msg, sizeof(err->msg), "out of memory while checking");
        return rc;
    }
    *out = r;
    return 0;
}
