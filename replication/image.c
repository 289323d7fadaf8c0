#include "image.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "TCIMG001"

static void put64(tc_buf *b, uint64_t v)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++) t[i] = (unsigned char)(v >> (8 * i));
    tc_buf_append(b, t, 8);
}

static void put32(tc_buf *b, uint32_t v)
{
    unsigned char t[4];
    for (int i = 0; i < 4; i++) t[i] = (unsigned char)(v >> (8 * i));
    tc_buf_append(b, t, 4);
}

static uint64_t get(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

typedef struct writer {
    tc_buf *out;
    uint64_t count;
} writer;

static void write_entry(void *ud, tc_entry *e)
{
    writer *w = ud;
    tc_buf_append(w->out, &e->type, 1);
    put64(w->out, (uint64_t)e->expire_at);
    put32(w->out, e->klen);
    tc_buf_append(w->out, e->data, e->klen);
    put32(w->out, e->vlen);
    tc_buf_append(w->out, e->data + e->klen, e->vlen);
    w->count++;
}

int tc_image_write(tc_server *s, const tc_apply_state *st, tc_buf *out)
{
    out->len = 0;
    tc_buf_append(out, MAGIC, 8);
    put64(out, (uint64_t)st->clock_ms);
    size_t count_at = out->len;
    put64(out, 0);
    writer w = {out, 0};
    uint64_t cursor = 0;
    do {
        cursor = tc_ks_scan(&s->ks, cursor, write_entry, &w);
    } while (cursor != 0);
    if (out->oom) return -1;
    for (int i = 0; i < 8; i++) out->data[count_at + i] = (char)(w.count >> (8 * i));
    return 0;
}

/* Streaming writer: flushes its buffer to fd whenever it fills up. */
typedef struct fd_writer {
    tc_buf buf;
    int fd;
    int failed;
    uint64_t count;
} fd_writer;

static void fd_flush(fd_writer *w)
{
    size_t off = 0;
    while (!w->failed && off < w->buf.len) {
        ssize_t n = write(w->fd, w->buf.data + off, w->buf.len - off);
        if (n <= 0) w->failed = 1;
        else off += (size_t)n;
    }
    w->buf.len = 0;
    if (w->buf.oom) w->failed = 1;
}

static void fd_write_entry(void *ud, tc_entry *e)
{
    fd_writer *w = ud;
    writer inner = {&w->buf, 0};
    write_entry(&inner, e);
    w->count++;
    if (w->buf.len >= 1 << 20) fd_flush(w);
}

int tc_image_write_fd(tc_server *s, const tc_apply_state *st, int fd)
{
    fd_writer w = {.fd = fd};
    tc_buf_append(&w.buf, MAGIC, 8);
    put64(&w.buf, (uint64_t)st->clock_ms);
    put64(&w.buf, 0); /* count, patched below */
    uint64_t cursor = 0;
    do {
        cursor = tc_ks_scan(&s->ks, cursor, fd_write_entry, &w);
    } while (cursor != 0 && !w.failed);
    fd_flush(&w);
    tc_buf_free(&w.buf);
    unsigned char count[8];
    for (int i = 0; i < 8; i++) count[i] = (unsigned char)(w.count >> (8 * i));
    if (w.failed || pwrite(fd, count, 8, 16) != 8) return -1;
    return 0;
}

int tc_image_load(tc_server *s, tc_apply_state *st, const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = data, *end = p + len;
    if (len < 24 || memcmp(p, MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a keyspace image (bad magic or too short)");
        return -1;
    }
    int64_t clock = (int64_t)get(p + 8, 8);
    uint64_t count = get(p + 16, 8);
    const unsigned char *body = p + 24;
    /* Check everything before touching the keyspace. */
    p = body;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 13) goto truncated;
        uint64_t klen = get(p + 9, 4);
        p += 13;
        if ((uint64_t)(end - p) < klen + 4) goto truncated;
        p += klen;
        uint64_t vlen = get(p, 4);
        p += 4;
        if ((uint64_t)(end - p) < vlen) goto truncated;
        p += vlen;
    }
    if (p != end) {
        snprintf(err, errlen, "keyspace image has %zu bytes after its last key", (size_t)(end - p));
        return -1;
    }
    tc_keyspace fresh;
    tc_ks_init(&fresh, s->ks.seed[0], s->ks.seed[1]);
    fresh.lazy_delete = s->ks.lazy_delete;
    p = body;
    for (uint64_t i = 0; i < count; i++) {
        int64_t exp = (int64_t)get(p + 1, 8);
        uint32_t klen = (uint32_t)get(p + 9, 4);
        const unsigned char *key = p + 13;
        uint32_t vlen = (uint32_t)get(key + klen, 4);
        const unsigned char *val = key + klen + 4;
        if (!tc_ks_set(&fresh, (const char *)key, klen, (const char *)val, vlen, exp)) {
            tc_ks_free(&fresh);
            snprintf(err, errlen, "out of memory while loading a keyspace image");
            return -1;
        }
        p = val + vlen;
    }
    fresh.expired_keys = s->ks.expired_keys;
    fresh.hits = s->ks.hits;
    fresh.misses = s->ks.misses;
    tc_ks_free(&s->ks);
    s->ks = fresh;
    st->clock_ms = clock;
    return 0;
truncated:
    snprintf(err, errlen, "keyspace image is truncated");
    return -1;
}
