#include "reply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"

static inline int discard(const tc_reply *r) { return r->out == NULL; }

/* Writes "<prefix><number>\r\n" without printf: this runs for every reply. */
static void add_header(tc_reply *r, char prefix, long long v)
{
    char tmp[32];
    char *end = tmp + sizeof tmp, *p = end;
    tc_progress_tick(); /* a long reply is a command making progress */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    *--p = prefix;
    tc_buf_append(r->out, p, (size_t)(end - p));
}

void tc_reply_ok(tc_reply *r)
{
    if (!discard(r)) tc_buf_append(r->out, "+OK\r\n", 5);
}

void tc_reply_status(tc_reply *r, const char *s)
{
    if (discard(r)) return;
    tc_buf_append(r->out, "+", 1);
    tc_buf_appends(r->out, s);
    tc_buf_append(r->out, "\r\n", 2);
}

void tc_reply_error(tc_reply *r, const char *msg)
{
    if (discard(r)) return;
    size_t n = strlen(msg);
    if (tc_buf_reserve(r->out, n + 3) != 0) return;
    char *p = r->out->data + r->out->len;
    *p++ = '-';
    for (size_t i = 0; i < n; i++) p[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    p[n] = '\r';
    p[n + 1] = '\n';
    r->out->len += n + 3;
}

void tc_reply_errorf(tc_reply *r, const char *fmt, ...)
{
    if (discard(r)) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tc_reply_error(r, msg);
}

void tc_reply_int(tc_reply *r, long long v)
{
    if (!discard(r)) add_header(r, ':', v);
}

void tc_reply_bulk(tc_reply *r, const char *p, size_t len)
{
    if (discard(r)) return;
    if (tc_buf_reserve(r->out, len + 32) != 0) return;
    add_header(r, '$', (long long)len);
    memcpy(r->out->data + r->out->len, p, len);
    r->out->len += len;
    r->out->data[r->out->len++] = '\r';
    r->out->data[r->out->len++] = '\n';
}

void tc_reply_bulks(tc_reply *r, const char *s) { tc_reply_bulk(r, s, strlen(s)); }

void tc_reply_bulk_ll(tc_reply *r, long long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    tc_reply_bulk(r, tmp, (size_t)n);
}

void tc_reply_null(tc_reply *r)
{
    if (discard(r)) return;
    if (r->resp >= 3) tc_buf_append(r->out, "_\r\n", 3);
    else tc_buf_append(r->out, "$-1\r\n", 5);
}

void tc_reply_null_array(tc_reply *r)
{
    if (discard(r)) return;
    if (r->resp >= 3) tc_buf_append(r->out, "_\r\n", 3);
    else tc_buf_append(r->out, "*-1\r\n", 5);
}

void tc_reply_array(tc_reply *r, size_t n)
{
    if (!discard(r)) add_header(r, '*', (long long)n);
}

void tc_reply_map(tc_reply *r, size_t pairs)
{
    if (discard(r)) return;
    if (r->resp >= 3) add_header(r, '%', (long long)pairs);
    else add_header(r, '*', (long long)(pairs * 2));
}

void tc_reply_set(tc_reply *r, size_t n)
{
    if (!discard(r)) add_header(r, r->resp >= 3 ? '~' : '*', (long long)n);
}

int tc_format_ld(char *buf, size_t cap, long double v)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) return snprintf(buf, cap, "%.17Lg", v);
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
        buf[n] = '\0';
    }
    if (strcmp(buf, "-0") == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return n;
}

/* Redis 7.0's addReplyDouble: %.17g (0.1 is "0.10000000000000001", 1e20
 * "1e+20"), infinities as "inf"/"-inf"; RESP3 ',' + the same text. */
void tc_reply_double(tc_reply *r, double v)
{
    if (discard(r)) return;
    char tmp[64];
    int n = isinf(v) ? snprintf(tmp, sizeof tmp, "%s", v > 0 ? "inf" : "-inf") : snprintf(tmp, sizeof tmp, "%.17g", v);
    if (r->resp >= 3) {
        tc_buf_append(r->out, ",", 1);
        tc_buf_append(r->out, tmp, (size_t)n);
        tc_buf_append(r->out, "\r\n", 2);
    } else {
        tc_reply_bulk(r, tmp, (size_t)n);
    }
}

void tc_reply_bool(tc_reply *r, int v)
{
    if (discard(r)) return;
    if (r->resp >= 3) tc_buf_append(r->out, v ? "#t\r\n" : "#f\r\n", 4);
    else tc_reply_int(r, v ? 1 : 0);
}

void tc_reply_verbatim(tc_reply *r, const char *p, size_t len)
{
    if (discard(r)) return;
    if (r->resp < 3) {
        tc_reply_bulk(r, p, len);
        return;
    }
    add_header(r, '=', (long long)len + 4);
    tc_buf_append(r->out, "txt:", 4);
    tc_buf_append(r->out, p, len);
    tc_buf_append(r->out, "\r\n", 2);
}
