/* libFuzzer target for node/resp.c.
 *
 * The input is a byte stream from a client. It is parsed (a) as one read,
 * (b) as two reads split at a point derived from the data, and (c) in many
 * small reads; all must produce the same commands and the same final
 * verdict. Every read lands in a heap buffer of exactly the bytes received
 * so far (moved on each read, like a growing query buffer), so ASan sees any
 * access past what the parser was given or through a stale pointer. Each
 * stream is checked with generous limits and with tiny ones, so the limit
 * errors are reached too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                             \
        }                                                                        \
    } while (0)

typedef struct transcript {
    uint8_t *data;
    size_t len, cap;
} transcript;

static void put(transcript *t, const void *data, size_t len) {
    if (t->len + len > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + len)
            cap *= 2;
        t->data = realloc(t->data, cap);
        CHECK(t->data != NULL);
        t->cap = cap;
    }
    if (len)
        memcpy(t->data + t->len, data, len);
    t->len += len;
}

static void put_size(transcript *t, size_t v) {
    put(t, &v, sizeof(v));
}

/* Grows the received data to `next` bytes in a new allocation of exactly
 * that size. */
static char *receive(char *buf, size_t have, const uint8_t *data, size_t next) {
    char *moved = malloc(next ? next : 1);
    CHECK(moved != NULL);
    if (have)
        memcpy(moved, buf, have);
    memcpy(moved + have, data + have, next - have);
    free(buf);
    return moved;
}

/* Feeds data in reads: first up to `first` bytes, then `step` bytes at a time
 * (0 = the rest at once). Records every command and the final verdict. */
static void run(const uint8_t *data, size_t size, size_t first, size_t step, uint64_t max_bulk,
                uint64_t max_args, transcript *out) {
    tc_resp_parser p;
    tc_resp_init(&p, max_bulk, max_args);
    size_t avail = first < size ? first : size;
    char *buf = receive(NULL, 0, data, avail);
    size_t base = 0;
    /* After INCOMPLETE with tc_resp_missing() == m, nothing can complete
     * before the buffer holds avail + m bytes. */
    size_t no_verdict_before = 0;
    for (;;) {
        size_t consumed = (size_t)-1;
        /* before parsing: unquoting an inline command rewrites its bytes */
        bool multibulk = avail > base && buf[base] == '*';
        int rc = tc_resp_parse(&p, buf + base, avail - base, &consumed);
        if (rc != TC_RESP_INCOMPLETE)
            CHECK(avail >= no_verdict_before);
        if (rc == TC_RESP_OK) {
            CHECK(consumed > 0 && consumed <= avail - base);
            put_size(out, p.argc);
            for (size_t i = 0; i < p.argc; i++) {
                CHECK(p.argv[i].off <= consumed && p.argv[i].len <= consumed - p.argv[i].off);
                /* only bulk arguments are bounded by max_bulk_len */
                CHECK(!multibulk || p.argv[i].len <= max_bulk);
                put_size(out, p.argv[i].len);
                put(out, buf + base + p.argv[i].off, p.argv[i].len);
            }
            CHECK(p.argc <= max_args);
            CHECK(tc_resp_missing(&p, avail - base - consumed) == 0);
            base += consumed;
            continue;
        }
        CHECK(consumed == 0);
        if (rc == TC_RESP_ERR) {
            CHECK(strnlen(p.err, sizeof(p.err)) < sizeof(p.err));
            put(out, "ERR", 3);
            put(out, p.err, strlen(p.err) + 1);
            break;
        }
        CHECK(rc == TC_RESP_INCOMPLETE);
        size_t missing = tc_resp_missing(&p, avail - base);
        if (missing)
            no_verdict_before = avail + missing;
        if (avail == size) {
            put(out, "INCOMPLETE", 10);
            put_size(out, avail - base);
            break;
        }
        size_t next = step ? avail + step : size;
        if (next > size)
            next = size;
        buf = receive(buf, avail, data, next);
        avail = next;
    }
    free(buf);
    tc_resp_free(&p);
}

static void check_same(const transcript *a, const transcript *b) {
    CHECK(a->len == b->len);
    CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void check_limits(const uint8_t *data, size_t size, size_t split, uint64_t max_bulk,
                         uint64_t max_args) {
    transcript whole = {0}, two = {0}, small = {0};
    run(data, size, size, 0, max_bulk, max_args, &whole);
    run(data, size, split, 0, max_bulk, max_args, &two);
    check_same(&whole, &two);
    /* byte by byte for short inputs; bounded number of reads for long ones */
    size_t step = size <= 512 ? 1 : size / 256 + 1;
    run(data, size, 0, step, max_bulk, max_args, &small);
    check_same(&whole, &small);
    free(whole.data);
    free(two.data);
    free(small.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* FNV-1a of the input picks the split point, so the fuzzer can steer it
     * by mutating bytes while every input still has one fixed split. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    size_t split = (size_t)(h % ((uint64_t)size + 1));

    check_limits(data, size, split, 1024 * 1024, 1024);
    check_limits(data, size, split, 8, 3);
    return 0;
}
