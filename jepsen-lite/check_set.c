/* The set model: a grow-only set per key, adds then final reads.
 *
 * A read is final when it was invoked after every add of its key had been
 * invoked and answered (or given up on): only then is an element's absence
 * meaningful. Several final reads (one per node after healing) are folded:
 * an element is lost only when no final read holds it; one held by some
 * and missing from others is reported as divergence, for information. */
#include <stdlib.h>

#include "internal.h"

enum { ST_NONE, ST_OK, ST_FAIL, ST_INFO };

typedef struct known_elem {
    uint64_t since; /* event position from which the element must be read */
    uint32_t e;
} known_elem;

static int by_since(const void *a, const void *b) {
    const known_elem *x = a, *y = b;
    return x->since < y->since ? -1 : x->since > y->since;
}

/* The real-time checks of a linearizable grow-only set (Jepsen's set-full):
 * an element is known present from the completion of its acknowledged add
 * or of the first read that showed it; every read invoked after that point
 * must hold it. Adds only grow the set, so a read that misses a known
 * element is stale (or lost the element for good): either way invalid. */
static int realtime_check(const jl_history *h, const uint32_t *ops, size_t n, jl_key_result *r) {
    size_t nv = h->n_values;
    uint64_t *since = malloc(nv * sizeof(uint64_t));
    uint32_t *in_read = calloc(nv, sizeof(uint32_t)); /* read index + 1 that holds it */
    known_elem *known = malloc(nv * sizeof(known_elem));
    uint8_t *flagged = calloc(nv, 1);
    int rc = 0;
    if (!since || !in_read || !known || !flagged) {
        rc = JL_ENOMEM;
        goto out;
    }
    for (size_t e = 0; e < nv; e++)
        since[e] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (op->outcome != JL_OK)
            continue;
        if (op->f == JL_ADD && op->ret < since[op->a])
            since[op->a] = op->ret;
        if (op->f != JL_READ)
            continue;
        for (uint32_t k = 0; k < op->list_len; k++) {
            uint32_t e = h->lists[op->list_off + k];
            if (op->ret < since[e])
                since[e] = op->ret;
        }
    }
    size_t nk = 0;
    for (uint32_t e = 1; e < nv; e++)
        if (since[e] != UINT64_MAX)
            known[nk++] = (known_elem){since[e], e};
    qsort(known, nk, sizeof *known, by_since);
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (op->f != JL_READ || op->outcome != JL_OK)
            continue;
        for (uint32_t k = 0; k < op->list_len; k++)
            in_read[h->lists[op->list_off + k]] = (uint32_t)i + 1;
        for (size_t j = 0; j < nk && known[j].since < op->call; j++) {
            uint32_t e = known[j].e;
            if (in_read[e] != (uint32_t)i + 1) {
                flagged[e] = 1;
                r->n_stale_reads++;
            }
        }
    }
    for (uint32_t e = 1; e < nv && rc == 0; e++)
        if (flagged[e])
            rc = jl__ids_push(&r->stale, e);
out:
    free(since);
    free(in_read);
    free(known);
    free(flagged);
    return rc;
}

int jl__set_check(const jl_history *h, const uint32_t *ops, size_t n, bool realtime,
                  jl_key_result *r) {
    size_t nv = h->n_values;
    uint8_t *status = calloc(nv, 1);     /* how the add of each element ended */
    uint32_t *present = calloc(nv, sizeof(uint32_t)); /* final reads holding it */
    uint32_t *stamp = calloc(nv, sizeof(uint32_t));   /* last read counted, + 1 */
    uint8_t *read_any = calloc(nv, 1);   /* held by any ok read */
    int rc = 0;
    if (!status || !present || !stamp || !read_any) {
        rc = JL_ENOMEM;
        goto out;
    }
    uint64_t last_add = 0;
    bool any_add = false;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (op->f != JL_ADD)
            continue;
        any_add = true;
        r->n_attempted++;
        status[op->a] = op->outcome == JL_OK ? ST_OK : op->outcome == JL_FAIL ? ST_FAIL : ST_INFO;
        r->n_acked += op->outcome == JL_OK;
        /* an info add's last event is its invoke as far as ordering goes */
        uint64_t end = op->ret != JL_NO_RET ? op->ret : op->call;
        if (end > last_add)
            last_add = end;
    }
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &h->ops[ops[i]];
        if (op->f != JL_READ || op->outcome != JL_OK)
            continue;
        bool final = !any_add || op->call > last_add;
        r->n_final_reads += final;
        for (uint32_t k = 0; k < op->list_len; k++) {
            uint32_t e = h->lists[op->list_off + k];
            read_any[e] = 1;
            if (final && stamp[e] != (uint32_t)i + 1) {
                stamp[e] = (uint32_t)i + 1;
                present[e]++;
            }
        }
    }
    /* elements in ascending id order = order of first appearance */
    for (uint32_t e = 1; e < nv && rc == 0; e++) {
        bool fin = r->n_final_reads > 0;
        switch (status[e]) {
        case ST_NONE:
            if (read_any[e])
                rc = jl__ids_push(&r->unexpected, e);
            break;
        case ST_FAIL:
            if (read_any[e])
                rc = jl__ids_push(&r->failed_present, e);
            break;
        case ST_OK:
            if (fin && present[e] == 0)
                rc = jl__ids_push(&r->lost, e);
            break;
        case ST_INFO:
            if (fin)
                rc = jl__ids_push(present[e] ? &r->recovered : &r->lost_unknown, e);
            break;
        }
        if (rc == 0 && status[e] != ST_NONE && present[e] && present[e] < r->n_final_reads)
            rc = jl__ids_push(&r->divergent, e);
    }
    if (rc == 0 && realtime)
        rc = realtime_check(h, ops, n, r);
    if (r->lost.n || r->unexpected.n || r->failed_present.n || r->stale.n) {
        r->verdict = JL_INVALID;
    } else if (r->n_final_reads == 0 && r->n_acked > 0) {
        r->verdict = JL_UNKNOWN;
        r->unknown_why = "no final read after the last add";
    } else {
        r->verdict = JL_VALID;
    }
out:
    free(status);
    free(present);
    free(stamp);
    free(read_any);
    return rc;
}
