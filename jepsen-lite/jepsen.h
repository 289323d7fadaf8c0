/* jepsen-lite: the history format and its checkers.
 *
 * A history is JSON Lines, one operation event per line (README.md has the
 * format). jl_history_parse() reads it strictly and pairs every invoke with
 * its completion; jl_check() decides whether it is valid for a model:
 *
 * - register: linearizability of independent read/write/cas registers, one
 *   per key, by the Wing-Gong/Lowe search with memoization;
 * - set: acknowledged additions still present in the final reads, nothing
 *   present that was never attempted.
 *
 * Every symbol is prefixed jl_; functions return 0 or a negative JL_E* code
 * and, on error, fill a jl_error with a sentence a user can act on. Nothing
 * here keeps global state, so several checks may run in parallel threads. */
#ifndef JL_JEPSEN_H
#define JL_JEPSEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    JL_EINPUT = -1, /* malformed history: err says FILE:LINE[:COL]: why */
    JL_ENOMEM = -2,
    JL_EIO = -3,    /* the file could not be read */
};

typedef struct jl_error {
    char msg[512];
} jl_error;

typedef enum jl_model { JL_MODEL_REGISTER, JL_MODEL_SET } jl_model;
typedef enum jl_type { JL_INVOKE, JL_OK, JL_FAIL, JL_INFO } jl_type;
typedef enum jl_fn { JL_READ, JL_WRITE, JL_CAS, JL_ADD } jl_fn;
/* The values double as the exit codes of `jepsen-lite check`. */
typedef enum jl_verdict { JL_VALID = 0, JL_INVALID = 1, JL_UNKNOWN = 2 } jl_verdict;

#define JL_NIL 0u             /* value id of null: a missing key */
#define JL_NO_RET UINT64_MAX  /* position of the completion of an indeterminate op */
#define JL_NO_TIME INT64_MAX

/* One operation: an invoke paired with its completion. */
typedef struct jl_op {
    int64_t process;
    uint32_t key;             /* index into jl_history.keys */
    jl_fn f;
    jl_type outcome;          /* JL_OK, JL_FAIL or JL_INFO; never completed = JL_INFO */
    /* Value ids (index into jl_history.values):
     *   write: a = value; cas: a = expected, b = new; add: a = element;
     *   register read that completed ok: a = value read (JL_NIL = missing). */
    uint32_t a, b;
    uint32_t list_off, list_len; /* set read that completed ok: jl_history.lists[off..) */
    uint64_t call, ret;       /* event positions (0-based); ret = JL_NO_RET for info */
    int64_t t_call, t_ret;    /* nanoseconds as written; t_ret = JL_NO_TIME for info */
    uint32_t line_call, line_ret; /* 1-based; line_ret = 0 when there is none */
} jl_op;

typedef struct jl_str {
    const char *s; /* NUL-terminated, but may hold NUL bytes: use len */
    size_t len;
    /* A value that was a JSON number: s is its canonical JSON text (an
     * integer in decimal; a fraction as the shortest text that reads back
     * as the same double, always with '.' or 'e'), so equal numbers intern
     * to one id, while 1 and 1.0 (as in Knossos, Clojure's =) and the
     * number 1 and the string "1" stay different values. */
    bool num;
} jl_str;

typedef struct jl_history {
    jl_model model;
    jl_op *ops;       /* in invoke order */
    size_t n_ops;
    jl_str *keys;     /* distinct keys, in order of first appearance */
    size_t n_keys;
    jl_str *values;   /* distinct values; values[JL_NIL] is null */
    size_t n_values;
    uint32_t *lists;  /* elements of set reads */
    size_t n_lists;
    size_t n_events;  /* lines holding an event */
    int64_t t0;       /* time of the first event: reports are relative to it */
    struct jl__store *store; /* owns the bytes behind keys and values */
} jl_history;

/* Parses a whole history. name is used in error messages ("FILE:LINE: ...").
 * On success *out is a new history for jl_history_free(). */
int jl_history_parse(jl_history **out, jl_model model, const char *name, const char *text,
                     size_t len, jl_error *err);
/* Reads path ("-" = standard input) and parses it. */
int jl_history_load(jl_history **out, jl_model model, const char *path, jl_error *err);
void jl_history_free(jl_history *h);

const char *jl_fn_name(jl_fn f);
const char *jl_type_name(jl_type t);

typedef struct jl_check_opts {
    double time_limit;   /* seconds for the whole check; <= 0: no limit */
    size_t memory_limit; /* bytes the search may use per key; 0: 4 GiB */
    /* Register model: search all keys at once as one multi-key register
     * instead of one search per key. Same answers, exponentially slower on
     * concurrent histories; it exists to cross-check the per-key split. */
    bool whole;
    /* Set model: the reads are linearizable (primary reads), so check every
     * read, not only the final ones: an element known present (its add
     * acknowledged, or shown by a completed read) must be in every read
     * invoked afterwards. `jepsen-lite check --model set-full`. */
    bool set_realtime;
} jl_check_opts;

typedef struct jl_ids {
    uint32_t *v;
    size_t n;
} jl_ids;

typedef struct jl_key_result {
    uint32_t key;              /* index into jl_history.keys; UINT32_MAX for a whole search */
    jl_verdict verdict;
    const char *unknown_why;   /* verdict unknown: "time limit", "memory limit", ... */
    size_t n_ok, n_fail, n_info; /* operations on this key by outcome */
    double seconds;

    /* register */
    uint64_t configs;          /* configurations the search visited */
    /* register, invalid: the smallest failing window. prefix is the longest
     * linearizable prefix the search found (op indices in linearization
     * order), state the register values after it (one per key in
     * state_keys), stuck the ops concurrent with that point, none of which
     * could be linearized next. */
    jl_ids prefix;
    jl_ids stuck;
    jl_ids state_keys;
    jl_ids state;

    /* set: element value ids */
    size_t n_attempted, n_acked, n_final_reads;
    jl_ids lost;           /* acknowledged, absent from every final read */
    jl_ids unexpected;     /* read, never attempted */
    jl_ids failed_present; /* add failed (definitely not done), yet read */
    jl_ids recovered;      /* indeterminate add, present */
    jl_ids lost_unknown;   /* indeterminate add, absent: allowed */
    jl_ids divergent;      /* present in some final reads, absent from others */
    /* set_realtime only: elements missing from a read invoked after they
     * were known present, and how many (read, element) misses there were */
    jl_ids stale;
    size_t n_stale_reads;
} jl_key_result;

typedef struct jl_result {
    jl_model model;
    jl_verdict verdict;  /* invalid if any key is; else unknown if any key is */
    bool whole;
    jl_key_result *keys;
    size_t n_keys;
    double seconds;
} jl_result;

/* Checks h for its model. opts may be NULL (no time limit, split by key).
 * Returns 0 with *out set, or JL_ENOMEM. */
int jl_check(const jl_history *h, const jl_check_opts *opts, jl_result **out, jl_error *err);
void jl_result_free(jl_result *r);

/* Human summary, with the failing window of every invalid register key. */
void jl_report_text(FILE *f, const jl_history *h, const jl_result *r);
/* One JSON object: {"valid":true|false|"unknown", "model":..., "keys":[...]} */
void jl_report_json(FILE *f, const jl_history *h, const jl_result *r);

#endif
