/* The packed encoding of small sorted sets (zset_pack.h). */
#include "zset_pack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

zpack *zp_new(void)
{
    zpack *p = malloc(ZP_HEADER);
    if (p) memset(p, 0, ZP_HEADER);
    return p;
}

size_t zp_count(const zpack *p) { return get32(p); }
size_t zp_bytes(const zpack *p) { return ZP_HEADER + get32(p + 4); }

/* The tag for a score: the smallest integer width that holds it exactly,
 * or 0 for a double (non-integers, infinities, beyond 2^53). -0.0 becomes
 * the integer 0, as in Redis's listpack (which stores "-0" as the integer 0,
 * so a small set answers 0 where a large one answers -0). */
static int score_tag(double s, int64_t *iv)
{
    if (!(s > -9007199254740992.0 && s < 9007199254740992.0)) return 0;
    int64_t v = (int64_t)s;
    if ((double)v != s) return 0;
    *iv = v;
    if (v >= INT8_MIN && v <= INT8_MAX) return 1;
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 3;
    return 4;
}

static const unsigned tag_bytes[5] = {8, 1, 2, 4, 8};

int zp_read(const zpack *p, size_t off, zp_ent *out)
{
    if (off >= zp_bytes(p)) return 0;
    const unsigned char *q = p + off;
    unsigned tag = *q++;
    if (tag == 0) {
        memcpy(&out->score, q, 8);
    } else {
        /* sign-extend from the tag's width */
        unsigned w = tag_bytes[tag];
        uint64_t u = 0;
        memcpy(&u, q, w); /* little endian host (x86-64, arm64) */
        if (w < 8 && (u >> (w * 8 - 1)) & 1) u |= ~(uint64_t)0 << (w * 8);
        out->score = (double)(int64_t)u;
    }
    q += tag_bytes[tag];
    size_t len = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = *q++;
        len |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    out->m = (const char *)q;
    out->len = len;
    out->off = off;
    out->next = (size_t)(q - p) + len;
    return 1;
}

zpack *zp_insert(zpack *p, size_t off, double score, const char *m, size_t len)
{
    unsigned char hdr[1 + 8 + 10];
    size_t h = 0;
    int64_t iv = 0;
    int tag = score_tag(score, &iv);
    hdr[h++] = (unsigned char)tag;
    if (tag == 0) memcpy(hdr + h, &score, 8);
    else memcpy(hdr + h, &iv, tag_bytes[tag]);
    h += tag_bytes[tag];
    size_t l = len;
    do {
        unsigned char b = l & 0x7f;
        l >>= 7;
        hdr[h++] = b | (l ? 0x80 : 0);
    } while (l);
    size_t old = zp_bytes(p), add = h + len;
    zpack *n = realloc(p, old + add);
    if (!n) return NULL;
    memmove(n + off + add, n + off, old - off);
    memcpy(n + off, hdr, h);
    if (len) memcpy(n + off + h, m, len);
    put32(n, get32(n) + 1);
    put32(n + 4, (uint32_t)(old + add - ZP_HEADER));
    return n;
}

zpack *zp_delete(zpack *p, size_t off, size_t count)
{
    size_t end = off;
    zp_ent e;
    for (size_t i = 0; i < count && zp_read(p, end, &e); i++) end = e.next;
    size_t old = zp_bytes(p);
    memmove(p + off, p + end, old - end);
    put32(p, (uint32_t)(get32(p) - count));
    put32(p + 4, (uint32_t)(old - (end - off) - ZP_HEADER));
    zpack *n = realloc(p, old - (end - off));
    return n ? n : p; /* shrinking in place is fine if realloc declines */
}
