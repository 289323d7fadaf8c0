/* The pure parts of Redis 7 functions (no Lua, no server): a library's
 * "#!<engine> name=<lib>" first line, the names Redis accepts, the
 * function flags, and the FUNCTION DUMP payload. Used by script/function.c
 * and cmd_function.c, and alone by tests/unit/test_function_meta.c. */
#ifndef TC_FUNCTION_META_H
#define TC_FUNCTION_META_H

#include <stddef.h>
#include <stdint.h>

/* The flags of redis.register_function, in Redis's order (FUNCTION LIST
 * names them in this order). */
enum {
    TC_FN_NO_WRITES = 1u << 0,
    TC_FN_ALLOW_OOM = 1u << 1,
    TC_FN_ALLOW_STALE = 1u << 2,
    TC_FN_NO_CLUSTER = 1u << 3,
    TC_FN_ALLOW_CROSS_SLOT = 1u << 4,
};
#define TC_FN_NFLAGS 5
/* Flag i's name (0 <= i < TC_FN_NFLAGS): its bit is 1u << i. */
const char *tc_fn_flag_name(int i);
/* The bit of a flag name (any case), 0 if unknown. */
unsigned tc_fn_flag_parse(const char *s, size_t len);

/* [A-Za-z0-9_]+ : what Redis accepts as a library or function name. */
int tc_fn_name_valid(const char *s, size_t len);

/* The first line of a library: its engine and name, and where the Lua
 * code starts (at the first line's newline, so line numbers stay those
 * of the whole text). 0, or -1 with Redis's words in err ("Missing library
 * metadata", ...). The first line splits into words as Redis splits it
 * (blanks; "..." and '...' quote). engine and name are NUL-terminated in
 * m->buf: tc_fn_meta_free releases it (after either outcome). */
typedef struct tc_fn_meta {
    const char *engine;
    const char *name;
    size_t name_len;
    size_t body_off;
    char *buf;
} tc_fn_meta;
int tc_fn_parse_meta(const char *code, size_t len, tc_fn_meta *m, char *err, size_t errlen);
void tc_fn_meta_free(tc_fn_meta *m);

/* FUNCTION DUMP's payload (ours, not Redis's RDB form):
 *   "TCFN" | u16 version (1) | u32 count | count x (u32 len, library code)
 *   | 8 bytes: the first 8 of SHA-256 over everything before them
 * little-endian. encode returns a malloc'd payload (NULL: out of memory);
 * decode checks version and checksum first (-1: Redis's "version or
 * checksum" error), then the structure (-2), and calls fn for each
 * library's code (fn returning non-zero stops it: that value). */
char *tc_fn_payload_encode(size_t n, const char *const *codes, const size_t *lens, size_t *out_len);
typedef int (*tc_fn_payload_fn)(void *ud, const char *code, size_t len);
int tc_fn_payload_decode(const char *p, size_t len, tc_fn_payload_fn fn, void *ud);

#endif
