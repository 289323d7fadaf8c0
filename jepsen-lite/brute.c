/* A reference checker for tiny register histories: tries every order the
 * real-time constraints allow, with no memoization and no pruning beyond the
 * model. Exponential; it exists so tests and the fuzzer can hold the real
 * search (wgl.c) to an answer that is obviously right. */
#include <stdlib.h>

#include "internal.h"

typedef struct brute {
    const jl_history *h;
    const uint32_t *ops;
    size_t n;
    uint8_t *done;
    uint32_t *state; /* per key */
    uint64_t budget;
} brute;

/* 1 linearizable, 0 not, -1 budget exhausted */
static int dfs(brute *b, size_t left_ok) {
    if (left_ok == 0)
        return 1;
    if (b->budget-- == 0)
        return -1;
    /* the earliest completion among the ops left bounds what may go next */
    uint64_t first_ret = JL_NO_RET;
    for (size_t i = 0; i < b->n; i++)
        if (!b->done[i] && b->h->ops[b->ops[i]].ret < first_ret)
            first_ret = b->h->ops[b->ops[i]].ret;
    for (size_t i = 0; i < b->n; i++) {
        const jl_op *op = &b->h->ops[b->ops[i]];
        if (b->done[i] || op->call > first_ret)
            continue;
        uint32_t old = b->state[op->key], nv;
        if (!jl__register_step(op, old, &nv))
            continue;
        b->done[i] = 1;
        b->state[op->key] = nv;
        int r = dfs(b, left_ok - (op->outcome == JL_OK));
        b->done[i] = 0;
        b->state[op->key] = old;
        if (r != 0)
            return r;
    }
    return 0;
}

int jl__brute_register(const jl_history *h, uint64_t budget) {
    brute b = {.h = h, .budget = budget};
    uint32_t *ops = malloc((h->n_ops + 1) * sizeof(uint32_t));
    b.done = calloc(h->n_ops + 1, 1);
    b.state = calloc(h->n_keys + 1, sizeof(uint32_t));
    int r = JL_ENOMEM;
    if (ops && b.done && b.state) {
        size_t left = 0;
        for (size_t i = 0; i < h->n_ops; i++) {
            const jl_op *op = &h->ops[i];
            if (op->outcome == JL_OK || (op->outcome == JL_INFO && op->f != JL_READ)) {
                ops[b.n++] = (uint32_t)i;
                left += op->outcome == JL_OK;
            }
        }
        b.ops = ops;
        r = dfs(&b, left);
    }
    free(ops);
    free(b.done);
    free(b.state);
    return r;
}
