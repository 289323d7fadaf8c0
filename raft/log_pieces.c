/* Big log entries as pieces: the format and the reassembly. See
 * log_pieces.h. */
#include "log_pieces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int tc_piece_is(const void *data, size_t len)
{
    return len >= 1 && ((const unsigned char *)data)[0] == TC_PIECE_MARK;
}

size_t tc_piece_size(size_t n) { return (TC_PIECE_HEADER + n + 7) & ~(size_t)7; }

void tc_piece_encode(unsigned char *dst, uint64_t id, uint64_t total, uint64_t offset, const void *data, size_t n,
                     int last)
{
    size_t size = tc_piece_size(n);
    memset(dst, 0, TC_PIECE_HEADER);
    dst[0] = TC_PIECE_MARK;
    dst[1] = last ? TC_PIECE_LAST : 0;
    put_le32(dst + 4, (uint32_t)n);
    put_le64(dst + 8, id);
    put_le64(dst + 16, total);
    put_le64(dst + 24, offset);
    memcpy(dst + TC_PIECE_HEADER, data, n);
    memset(dst + TC_PIECE_HEADER + n, 0, size - TC_PIECE_HEADER - n);
}

/* The run is over (taken or dropped): what the owner set stays. */
static void run_reset(tc_piece_run *r)
{
    *r = (tc_piece_run){.plan = r->plan, .plan_ud = r->plan_ud};
}

void tc_piece_run_drop(tc_piece_run *r)
{
    tc_big_free(r->buf);
    tc_big_free(r->gap.owner);
    run_reset(r);
}

/* Puts n bytes of the whole entry, from offset, where they go: the entry's
 * buffer, or the gap's. */
static void place(tc_piece_run *r, uint64_t offset, const unsigned char *src, size_t n)
{
    const tc_piece_gap *g = &r->gap;
    if (!g->owner) {
        memcpy(r->buf + offset, src, n);
        return;
    }
    size_t o = (size_t)offset;
    if (o < g->at) { /* before the gap */
        size_t k = n < g->at - o ? n : g->at - o;
        memcpy(r->buf + o, src, k);
        o += k, src += k, n -= k;
    }
    if (n && o < g->at + g->len) { /* in it */
        size_t k = n < g->at + g->len - o ? n : g->at + g->len - o;
        memcpy(g->dst + (o - g->at), src, k);
        o += k, src += k, n -= k;
    }
    if (n) memcpy(r->buf + (o - g->len), src, n); /* after it */
}

static int dropped(tc_piece_run *r, char *why, size_t whylen, const char *what)
{
    if (r->buf)
        snprintf(why, whylen, "%s; the pending run %llx (%llu of %llu bytes) is dropped", what,
                 (unsigned long long)r->id, (unsigned long long)r->got, (unsigned long long)r->total);
    else snprintf(why, whylen, "%s", what);
    tc_piece_run_drop(r);
    return TC_PIECE_DROPPED;
}

int tc_piece_take(tc_piece_run *r, const void *data, size_t len, unsigned char **out, size_t *out_len,
                  tc_piece_gap *gap, char *why, size_t whylen)
{
    const unsigned char *p = data;
    *out = NULL;
    *out_len = 0;
    *gap = (tc_piece_gap){0};
    if (len < TC_PIECE_HEADER || p[0] != TC_PIECE_MARK) return dropped(r, why, whylen, "a damaged piece (too short)");
    uint32_t n = get_le32(p + 4);
    uint64_t id = get_le64(p + 8), total = get_le64(p + 16), offset = get_le64(p + 24);
    int last = p[1] & TC_PIECE_LAST;
    if ((size_t)n > len - TC_PIECE_HEADER || total == 0 || total > TC_PIECE_MAX_TOTAL || offset > total ||
        n > total - offset)
        return dropped(r, why, whylen, "a damaged piece (its lengths do not add up)");
    if (offset == 0) {
        /* a new run; one still pending lost its last piece with its primary */
        tc_piece_run_drop(r);
        /* r->gap is empty after the drop; a gap outside the entry cannot
         * happen (the plan read the same lengths) */
        if (r->plan && r->plan(r->plan_ud, p + TC_PIECE_HEADER, n, total, &r->gap) == 1 &&
            (!r->gap.owner || r->gap.at > total || r->gap.len > total - r->gap.at)) {
            tc_big_free(r->gap.owner);
            r->gap = (tc_piece_gap){0};
        }
        /* at least one byte: a gap may leave nothing else */
        r->buf = tc_big_malloc(total - r->gap.len ? total - r->gap.len : 1);
        if (!r->buf) {
            tc_big_free(r->gap.owner);
            r->gap = (tc_piece_gap){0};
            snprintf(why, whylen, "out of memory for a %llu-byte entry", (unsigned long long)total);
            return TC_PIECE_NOMEM;
        }
        r->id = id;
        r->total = total;
    } else if (!r->buf || r->id != id || r->total != total || r->got != offset) {
        char what[160];
        snprintf(what, sizeof what, "a piece of run %llx at offset %llu that continues no pending run",
                 (unsigned long long)id, (unsigned long long)offset);
        return dropped(r, why, whylen, what);
    }
    place(r, offset, p + TC_PIECE_HEADER, n);
    r->got += n;
    if (!last) {
        if (r->got == r->total) return dropped(r, why, whylen, "a run whose data ended without its last piece");
        return TC_PIECE_MORE;
    }
    if (r->got != r->total) return dropped(r, why, whylen, "a last piece before the run's data was complete");
    *out = r->buf;
    *out_len = (size_t)r->total - r->gap.len;
    *gap = r->gap;
    run_reset(r);
    return TC_PIECE_COMPLETE;
}
