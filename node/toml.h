/* A small TOML reader: the subset of TOML v1.0 that cluster.toml needs.
 *
 * Supported: comments, bare and quoted keys, `key = value`, tables `[name]`,
 * arrays of tables `[[name]]`, basic strings "..." (with escapes), literal
 * strings '...', decimal integers (int64), booleans, and arrays (which may
 * span lines, hold comments and end with a trailing comma).
 *
 * Rejected with a clear message rather than half-supported: dotted keys and
 * dotted table names, multi-line strings, floats, dates/times, inline tables,
 * hex/octal/binary integers, NUL bytes (also as \u0000) and invalid UTF-8.
 *
 * The input is treated as untrusted: any bytes give either a tree or an
 * error with a line number, and the sizes below bound the work done. */
#ifndef TC_TOML_H
#define TC_TOML_H

#include <stddef.h>
#include <stdint.h>

#define TC_TOML_MAX_INPUT (1u << 20) /* bytes; larger input is refused */
#define TC_TOML_MAX_DEPTH 32         /* arrays nested inside arrays */
#define TC_TOML_MAX_KEYS 256         /* keys in one table (duplicate check is linear) */
#define TC_TOML_MAX_ITEMS 65536      /* values in one array, tables in one [[array]] */

typedef enum tc_toml_type {
    TC_TOML_STRING,
    TC_TOML_INTEGER,
    TC_TOML_BOOLEAN,
    TC_TOML_ARRAY,
    TC_TOML_TABLE,
} tc_toml_type;

typedef struct tc_toml_table tc_toml_table;
typedef struct tc_toml_value tc_toml_value;

struct tc_toml_value {
    tc_toml_type type;
    int line; /* where the value starts (for a table: its header line) */
    union {
        char *string;    /* NUL-terminated UTF-8; never contains a NUL byte */
        int64_t integer;
        int boolean;     /* 0 or 1 */
        struct {
            tc_toml_value *items;
            size_t len;
            int of_tables; /* built by [[name]] headers: every item is a TC_TOML_TABLE */
        } array;
        tc_toml_table *table;
    } as;
};

typedef struct tc_toml_entry {
    char *key;  /* NUL-terminated, as written (quotes and escapes removed) */
    int line;   /* where the key is written (for a table: its header line) */
    tc_toml_value value;
} tc_toml_entry;

/* Entries keep the order in which they appear in the file. */
struct tc_toml_table {
    int line; /* line of the [name] / [[name]] header; 0 for the root table */
    tc_toml_entry *entries;
    size_t len, cap;
};

typedef struct tc_toml_error {
    int line;          /* 1-based line the problem was found on */
    char message[192]; /* e.g. "expected '=' after key 'hz'" */
    char hint[192];    /* how to fix it; may be empty */
} tc_toml_error;

/* Parses len bytes of text (not necessarily NUL-terminated). On success
 * returns 0 and stores a new root table in *out (free it with tc_toml_free).
 * On error returns -1, leaves *out NULL, fills *err and frees everything. */
int tc_toml_parse(const char *text, size_t len, tc_toml_table **out, tc_toml_error *err);

/* Frees a table and everything under it. NULL is fine. */
void tc_toml_free(tc_toml_table *t);

/* The entry with this exact key, or NULL. */
const tc_toml_entry *tc_toml_find(const tc_toml_table *t, const char *key);

/* "a string", "an integer", ... for messages like "must be an integer, not a string". */
const char *tc_toml_type_name(tc_toml_type type);

#endif
