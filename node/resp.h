/* RESP request parser: multibulk (RESP2/RESP3 requests are the same) and
 * inline commands, incremental over a connection's query buffer.
 *
 * The parser never copies arguments: it records (offset, length) pairs
 * relative to the start of the buffer it was given. Inline arguments with
 * quotes are unescaped in place (an unescaped argument is never longer than
 * its source), which is why the buffer is not const, and why a command's
 * bytes can be parsed only once (a command put back to wait keeps its parse). */
#ifndef TC_RESP_H
#define TC_RESP_H

#include <stddef.h>
#include <stdint.h>

/* Longest line we wait for without seeing "\r\n": the inline command limit
 * and the limit on "*<n>" / "$<n>" header lines (Redis: 64 KiB). */
#define TC_RESP_MAX_INLINE (64 * 1024)

enum {
    TC_RESP_OK = 0,          /* one whole command parsed */
    TC_RESP_INCOMPLETE = 1,  /* need more bytes; call again with the same buffer start */
    TC_RESP_ERR = -1,        /* protocol error: reply p->err, then close the connection */
};

typedef struct tc_resp_arg {
    size_t off; /* from the start of the buffer passed to tc_resp_parse */
    size_t len;
} tc_resp_arg;

typedef struct tc_resp_parser {
    /* limits, set by the owner (from tc_config) and changeable between calls */
    uint64_t max_bulk_len;      /* longest argument accepted */
    uint64_t max_args;          /* most arguments in one command */

    /* result of the last TC_RESP_OK: argv[0..argc) */
    tc_resp_arg *argv;
    size_t argc;
    size_t argv_cap;

    /* error text of the last TC_RESP_ERR, Redis wording without the "-ERR "
     * prefix, e.g. "Protocol error: invalid bulk length" */
    char err[128];

    /* --- internal progress through a partially received command --- */
    size_t pos;                 /* bytes of the buffer already examined */
    int64_t multibulk_left;     /* arguments still to read; 0 = not in a multibulk */
    int64_t bulk_len;           /* length of the argument being read, -1 = header next */
} tc_resp_parser;

void tc_resp_init(tc_resp_parser *p, uint64_t max_bulk_len, uint64_t max_args);
void tc_resp_free(tc_resp_parser *p);

/* Parses the next command at the start of buf[0..len).
 * TC_RESP_OK: argv/argc hold the command and *consumed the bytes it used;
 *   argc may be 0 for an empty inline line or "*0\r\n" (skip it, no reply).
 *   The next call must pass buf + *consumed.
 * TC_RESP_INCOMPLETE: more bytes are needed; keep buf[0..len) unchanged and
 *   call again with the same data plus what arrived (it may have moved).
 * TC_RESP_ERR: p->err says why. */
int tc_resp_parse(tc_resp_parser *p, char *buf, size_t len, size_t *consumed);

/* Bytes of the current partial command that are known to be still missing
 * (the rest of a bulk argument being read), 0 if unknown. Lets the reader
 * grow its buffer once for a large argument. */
size_t tc_resp_missing(const tc_resp_parser *p, size_t len);

#endif
