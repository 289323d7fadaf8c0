#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void tc_buf_free(tc_buf *b)
{
    /* only a big one may be kept (big_keep.c): small ones skip its size check */
    if (b->cap >= TC_BIG_ALLOC_MIN) tc_big_free(b->data);
    else free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

int tc_buf_reserve(tc_buf *b, size_t n)
{
    if (b->oom) return -1;
    if (b->cap - b->len >= n) return 0;
    size_t need = b->len + n;
    if (need < b->len) goto fail; /* overflow */
    size_t cap = b->cap ? b->cap : 256;
    if (need >= TC_BIG_ALLOC_MIN) {
        /* Big: an eighth more at a time, not double, so that the buffer of
         * one big value is about its size and fits a block freed by others
         * like it (big_keep.c); appends still grow it in few steps. */
        cap += cap / 8;
        if (cap < need) cap = need;
    } else {
        while (cap < need) cap *= 2;
    }
    size_t kept = 0;
    char *p = tc_big_take(need, &kept);
    if (p) {
        if (b->len) memcpy(p, b->data, b->len);
        tc_big_free(b->data);
        cap = kept;
    } else {
        p = realloc(b->data, cap);
        if (!p) goto fail;
        /* the new part is untouched yet (a big query or log entry) */
        tc_big_alloc_advise(p, cap);
    }
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

void tc_buf_append(tc_buf *b, const void *p, size_t n)
{
    if (n == 0 || tc_buf_reserve(b, n) != 0) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void tc_buf_appends(tc_buf *b, const char *s) { tc_buf_append(b, s, strlen(s)); }

void tc_buf_printf(tc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        tc_buf_append(b, small, (size_t)n);
        return;
    }
    if (tc_buf_reserve(b, (size_t)n + 1) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tc_buf_consume(tc_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
