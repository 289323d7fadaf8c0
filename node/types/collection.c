/* Helpers of the collection types: see collection.h. */
#include "collection.h"

#include <openssl/evp.h>
#include <string.h>

static void put_len(unsigned char *out, size_t len)
{
    for (int i = 0; i < 4; i++) out[i] = (unsigned char)(len >> (8 * i));
}

void tc_coll_digest_add(unsigned char acc[20], const char *a, size_t alen, const char *b, size_t blen, int pair)
{
    unsigned char md[EVP_MAX_MD_SIZE], la[4], lb[4];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return;
    put_len(la, alen);
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, la, 4);
    EVP_DigestUpdate(ctx, a, alen);
    if (pair) {
        put_len(lb, blen);
        EVP_DigestUpdate(ctx, lb, 4);
        EVP_DigestUpdate(ctx, b, blen);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 20; i++) acc[i] ^= md[i];
}

void tc_img_put_u8(tc_buf *b, uint8_t v) { tc_buf_append(b, &v, 1); }

void tc_img_put_u32(tc_buf *b, uint32_t v)
{
    unsigned char o[4];
    for (int i = 0; i < 4; i++) o[i] = (unsigned char)(v >> (8 * i));
    tc_buf_append(b, o, 4);
}

void tc_img_put_u64(tc_buf *b, uint64_t v)
{
    unsigned char o[8];
    for (int i = 0; i < 8; i++) o[i] = (unsigned char)(v >> (8 * i));
    tc_buf_append(b, o, 8);
}

void tc_img_put_str(tc_buf *b, const char *p, size_t len)
{
    tc_img_put_u32(b, (uint32_t)len);
    tc_buf_append(b, p, len);
}

static int need(tc_img_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

uint8_t tc_img_u8(tc_img_reader *r) { return need(r, 1) ? *r->p++ : 0; }

uint32_t tc_img_u32(tc_img_reader *r)
{
    if (!need(r, 4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    return v;
}

uint64_t tc_img_u64(tc_img_reader *r)
{
    if (!need(r, 8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

const char *tc_img_str(tc_img_reader *r, size_t *len)
{
    *len = tc_img_u32(r);
    if (!need(r, *len)) return NULL;
    const char *s = (const char *)r->p;
    r->p += *len;
    return s;
}
