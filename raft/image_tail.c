/* A keyspace image and the log entries applied since it (image_tail.h). */
#include "image_tail.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char MAGIC[8] = {'T', 'C', 'I', 'M', 'G', 'T', 'L', '1'};
#define VERSION 1
#define FIXED 40 /* header bytes before the checksum */

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int tc_image_tail_add(tc_image_tail *t, const void *entry, size_t len)
{
    size_t need = t->len + 8 + len;
    if (need < t->len) return -1;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 64 * 1024;
        while (cap < need) cap *= 2;
        unsigned char *b = realloc(t->buf, cap);
        if (!b) return -1;
        t->buf = b;
        t->cap = cap;
    }
    put64(t->buf + t->len, len);
    if (len) memcpy(t->buf + t->len + 8, entry, len);
    t->len = need;
    t->count++;
    return 0;
}

void tc_image_tail_clear(tc_image_tail *t)
{
    free(t->buf);
    *t = (tc_image_tail){0};
}

/* SHA-256 over the fixed header fields and the tail. The image carries
 * its own per-block checks (snapshot/FORMAT.md). */
static void checksum(const unsigned char *fixed, const unsigned char *tail, size_t tail_len, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, fixed, FIXED) != 1 ||
        (tail_len && EVP_DigestUpdate(ctx, tail, tail_len) != 1) || EVP_DigestFinal_ex(ctx, out, &n) != 1) {
        /* only an allocation can fail here: an all-zero sum then never
         * matches a real one, so the snapshot is refused, not trusted */
        memset(out, 0, 32);
    }
    EVP_MD_CTX_free(ctx);
}

void tc_image_tail_header(unsigned char out[TC_IMAGE_TAIL_HEADER], uint64_t image_len, const tc_image_tail *t)
{
    memcpy(out, MAGIC, 8);
    out[8] = VERSION;
    memset(out + 9, 0, 7);
    put64(out + 16, image_len);
    put64(out + 24, t->count);
    put64(out + 32, t->len);
    checksum(out, t->buf, t->len, out + FIXED);
}

int tc_image_tail_parse(const void *data, size_t len, tc_image_parts *out, char *err, size_t errlen)
{
    const unsigned char *p = data;
    *out = (tc_image_parts){0};
    if (len < sizeof MAGIC || memcmp(p, MAGIC, sizeof MAGIC) != 0) {
        out->image = p;
        out->image_len = len;
        return 0;
    }
    if (len < TC_IMAGE_TAIL_HEADER) {
        snprintf(err, errlen, "snapshot header cut short (%zu bytes)", len);
        return -1;
    }
    uint32_t version = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
    if (version != VERSION) {
        snprintf(err, errlen, "snapshot of version %u (this build reads version %d)", version, VERSION);
        return -1;
    }
    uint64_t image_len = get64(p + 16), count = get64(p + 24), tail_len = get64(p + 32);
    uint64_t room = len - TC_IMAGE_TAIL_HEADER;
    if (image_len > room || tail_len != room - image_len) {
        snprintf(err, errlen, "snapshot lengths do not add up (image %llu + entries %llu bytes, %llu present)",
                 (unsigned long long)image_len, (unsigned long long)tail_len, (unsigned long long)room);
        return -1;
    }
    const unsigned char *tail = p + TC_IMAGE_TAIL_HEADER + image_len;
    unsigned char sum[32];
    checksum(p, tail, (size_t)tail_len, sum);
    if (memcmp(sum, p + FIXED, 32) != 0) {
        snprintf(err, errlen, "snapshot checksum mismatch (the entries after the image are damaged)");
        return -1;
    }
    /* the entry framing must cover the tail exactly, as many times as said */
    uint64_t seen = 0;
    for (uint64_t off = 0; off < tail_len; seen++) {
        if (tail_len - off < 8 || get64(tail + off) > tail_len - off - 8) {
            snprintf(err, errlen, "snapshot entry %llu runs past the end", (unsigned long long)seen + 1);
            return -1;
        }
        off += 8 + get64(tail + off);
    }
    if (seen != count) {
        snprintf(err, errlen, "snapshot holds %llu entries after the image, its header says %llu",
                 (unsigned long long)seen, (unsigned long long)count);
        return -1;
    }
    out->image = p + TC_IMAGE_TAIL_HEADER;
    out->image_len = (size_t)image_len;
    out->tail = tail;
    out->tail_len = (size_t)tail_len;
    out->count = count;
    return 1;
}

int tc_image_tail_next(const tc_image_parts *p, size_t *pos, const void **entry, size_t *len)
{
    if (*pos >= p->tail_len) return 0;
    *len = (size_t)get64(p->tail + *pos);
    *entry = p->tail + *pos + 8;
    *pos += 8 + *len;
    return 1;
}
