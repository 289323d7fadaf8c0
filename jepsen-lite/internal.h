/* Internals of jepsen-lite's checker library (jl__ prefix). Only the files
 * of jepsen-lite/ include this; everyone else uses jepsen.h. */
#ifndef JL_INTERNAL_H
#define JL_INTERNAL_H

#include "jepsen.h"

/* ------------------------------------------------------------ json.c */

/* The strict JSON subset a history needs: objects, arrays, strings (UTF-8
 * checked, every escape including \uXXXX surrogate pairs), integers that
 * fit int64, null, true, false. Floats are refused: no field needs them. */
#define JL_JSON_MAX_DEPTH 32

typedef enum jl__jtype {
    JL_J_NULL,
    JL_J_BOOL,
    JL_J_INT,
    JL_J_STR,
    JL_J_ARR,
    JL_J_OBJ,
} jl__jtype;

typedef struct jl__jnode jl__jnode;
struct jl__jnode {
    jl__jtype type;
    size_t col;          /* 1-based column where the value starts */
    bool b;
    int64_t i;
    char *s;             /* string: decoded bytes, NUL-terminated */
    size_t len;
    jl__jnode *first;    /* array items / object members, in order */
    jl__jnode *next;     /* next sibling */
    char *name;          /* object member: its name, decoded */
    size_t name_len;
    size_t n;            /* array / object: number of children */
};

typedef struct jl__arena_chunk jl__arena_chunk;
typedef struct jl__json {
    jl__arena_chunk *chunks;
    char err[160];
    size_t err_col;
} jl__json;

/* Parses one line (without its '\n'). Returns 0 and the root, or JL_EINPUT
 * with j->err and j->err_col, or JL_ENOMEM. Nodes live until the next
 * parse or jl__json_free(). */
int jl__json_parse(jl__json *j, const char *line, size_t len, jl__jnode **root);
void jl__json_free(jl__json *j);
/* Object member by name, or NULL. */
const jl__jnode *jl__json_get(const jl__jnode *obj, const char *name);
/* Writes s as a JSON string literal (with quotes). */
void jl__json_write_str(FILE *f, const char *s, size_t len);

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

/* Checks the set ops of one key (op indices ascending) into r. */
int jl__set_check(const jl_history *h, const uint32_t *ops, size_t n, jl_key_result *r);

/* ------------------------------------------------------------ misc */

int64_t jl__now_ns(void);
int jl__ids_push(jl_ids *ids, uint32_t v);

#endif
