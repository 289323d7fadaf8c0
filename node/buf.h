/* A growable byte buffer: query buffers, output buffers, INFO text. */
#ifndef TC_BUF_H
#define TC_BUF_H

#include <stddef.h>

typedef struct tc_buf {
    char *data;
    size_t len;
    size_t cap;
    int oom; /* set when a growth failed; later appends are dropped */
} tc_buf;

void tc_buf_free(tc_buf *b);
/* Makes room for at least n more bytes; 0 or -1 (then b->oom is set). */
int tc_buf_reserve(tc_buf *b, size_t n);
void tc_buf_append(tc_buf *b, const void *p, size_t n);
void tc_buf_appends(tc_buf *b, const char *s);
void tc_buf_printf(tc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void tc_buf_consume(tc_buf *b, size_t n);

#endif
