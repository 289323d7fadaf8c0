/* Internals of jepsen-lite's checker library (jl__ prefix). Only the files
 * of jepsen-lite/ include this; everyone else uses jepsen.h. */
#ifndef JL_INTERNAL_H
#define JL_INTERNAL_H

#include "common.h" /* tc_json: the history reader, the report writer */
#include "jepsen.h"

/* ------------------------------------------------------------ wgl.c */

typedef enum jl__wgl_status {
    JL__WGL_VALID,
    JL__WGL_INVALID,
    JL__WGL_TIMEOUT,
    JL__WGL_MEMORY,
    JL__WGL_NOMEM, /* an allocation failed */
} jl__wgl_status;

typedef struct jl__wgl_in {
    const jl_history *h;
    const uint32_t *ops;     /* op indices (ascending), the ops to linearize */
    size_t n;
    const uint32_t *slot_of_key; /* key -> register slot */
    size_t n_slots;
    int64_t deadline_ns;     /* CLOCK_MONOTONIC; 0 = none */
    size_t memory_limit;
    uint64_t max_configs;    /* stop (JL__WGL_TIMEOUT) after this many; 0 = none */
    bool no_lookahead;       /* plain search, no pruning: for the failing window */
} jl__wgl_in;

typedef struct jl__wgl_out {
    jl__wgl_status status;
    uint64_t configs;
    jl_ids prefix;  /* invalid: longest linearizable prefix (history op indices) */
} jl__wgl_out;

/* Searches for a linearization of in->ops. Reads must have completed ok;
 * fail ops must be left out by the caller; info ops may be linearized or not. */
void jl__wgl_check(const jl__wgl_in *in, jl__wgl_out *out);

/* The register model's step: is op legal when the register holds cur? Sets
 * *next to the value after it. */
bool jl__register_step(const jl_op *op, uint32_t cur, uint32_t *next);

/* ------------------------------------------------------------ brute.c */

/* Exhaustive reference check of a small register history (all keys at
 * once): 1 linearizable, 0 not, -1 more than budget steps were needed,
 * JL_ENOMEM. For tests and fuzzing only. */
int jl__brute_register(const jl_history *h, uint64_t budget);

/* ------------------------------------------------------------ set.c */

/* Checks the set ops of one key (op indices ascending) into r; realtime
 * adds the checks of a linearizable set over every read (r->stale). */
int jl__set_check(const jl_history *h, const uint32_t *ops, size_t n, bool realtime,
                  jl_key_result *r);

/* ------------------------------------------------------------ misc */

int64_t jl__now_ns(void);
int jl__ids_push(jl_ids *ids, uint32_t v);

#endif
