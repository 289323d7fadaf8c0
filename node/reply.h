/* RESP2/RESP3 reply encoding. A tc_reply is where a command's answer goes:
 * a connection's output buffer, or nowhere (out == NULL) when a command is
 * executed without a client waiting for it. */
#ifndef TC_REPLY_H
#define TC_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct tc_reply {
    tc_buf *out; /* NULL: discard */
    int resp;    /* 2 or 3 */
} tc_reply;

void tc_reply_ok(tc_reply *r);
void tc_reply_status(tc_reply *r, const char *s);
/* msg starts with the error code ("ERR ...", "WRONGTYPE ..."); newlines are
 * replaced by spaces so a reply can never break the framing. */
void tc_reply_error(tc_reply *r, const char *msg);
void tc_reply_errorf(tc_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tc_reply_int(tc_reply *r, long long v);
void tc_reply_bulk(tc_reply *r, const char *p, size_t len);
void tc_reply_bulks(tc_reply *r, const char *s);
void tc_reply_bulk_ll(tc_reply *r, long long v);
void tc_reply_null(tc_reply *r);        /* missing value: $-1 or _ */
void tc_reply_null_array(tc_reply *r);  /* missing aggregate: *-1 or _ */
void tc_reply_array(tc_reply *r, size_t n);
void tc_reply_map(tc_reply *r, size_t pairs);  /* RESP3 %, RESP2 flat array */
void tc_reply_set(tc_reply *r, size_t n);      /* RESP3 ~, RESP2 array */
void tc_reply_double(tc_reply *r, double v); /* Redis's addReplyDouble: RESP3 ',', RESP2 bulk */
void tc_reply_bool(tc_reply *r, int v);        /* RESP3 '#', RESP2 integer */
/* Free text (INFO, CLIENT LIST): RESP3 verbatim "txt", RESP2 bulk. */
void tc_reply_verbatim(tc_reply *r, const char *p, size_t len);

/* Formats a long double the way Redis prints INCRBYFLOAT results: up to 17
 * significant digits, no exponent, no trailing zeros. Returns length. */
int tc_format_ld(char *buf, size_t cap, long double v);

#endif
