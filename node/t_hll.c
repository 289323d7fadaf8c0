/* HyperLogLog: PFADD, PFCOUNT, PFMERGE.
 *
 * The estimator is Redis's, so that the counts are equal to Redis's for the
 * same inputs: 16384 6-bit registers, an element's register and run length
 * from MurmurHash64A(element, seed 0xadc83b19) (the low 14 bits pick the
 * register, the run is the trailing zeros of the remaining 50 bits plus
 * one), and the cardinality from the register histogram by Otmar Ertl's
 * improved estimator (arXiv:1702.01284) as Redis 5+ computes it. The count
 * depends only on the register values, never on their representation.
 *
 * The representation is tricache's own, not Redis's "HYLL" bytes: an HLL is
 * a string value (TYPE says "string"; GET, DEL, RENAME, COPY, snapshots and
 * digests treat it as any string) made of
 *   "TCHL" 'S' then (u16 register big-endian, u8 value) per non-zero
 *              register in increasing register order      -- sparse
 *   "TCHL" 'D' then 16384 registers of 6 bits, register i at bits 6i..6i+5
 *              counted from the low bit of byte 0          -- dense
 * A sparse HLL becomes dense once it would exceed HLL_SPARSE_MAX_BYTES
 * (Redis's hll-sparse-max-bytes default) and never goes back. Anything else
 * in a string is "not a valid HyperLogLog string value", as in Redis.
 * PFCOUNT caches nothing (Redis caches the count inside the value, which
 * makes its PFCOUNT a write): here it is a plain read. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "notify.h"
#include "hll.h"

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_SEED 0xadc83b19u
#define HLL_SPARSE_MAX_BYTES 3000
#define HLL_MAGIC "TCHL"
#define HLL_HDR 5
#define HLL_DENSE_BYTES (HLL_REGISTERS * 6 / 8)

#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."

uint64_t tc_murmur64a(const void *key, size_t len, uint32_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const int r = 47;
    const unsigned char *data = key, *end = data + (len - (len & 7));
    uint64_t h = seed ^ ((uint64_t)len * m);
    for (; data != end; data += 8) {
        /* little-endian words, whatever the host, as Redis reads them on x86 */
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--) k = (k << 8) | data[i];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
    case 1:
        h ^= (uint64_t)data[0];
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

void tc_hll_pos(const void *ele, size_t len, unsigned *reg, unsigned *count)
{
    uint64_t h = tc_murmur64a(ele, len, HLL_SEED);
    *reg = (unsigned)(h & (HLL_REGISTERS - 1));
    h >>= HLL_P;
    h |= 1ull << HLL_Q; /* the run ends at bit Q at the latest */
    unsigned n = 1;
    while (!(h & 1)) {
        n++;
        h >>= 1;
    }
    *count = n;
}

/* Redis's hllSigma and hllTau (Ertl's corrections for the registers at 0
 * and at Q + 1). */
static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

uint64_t tc_hll_estimate(const uint8_t *regs)
{
    double m = HLL_REGISTERS;
    int histo[64] = {0};
    for (size_t i = 0; i < HLL_REGISTERS; i++) histo[regs[i] & 63]++;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(0.721347520444481703680 /* 0.5/ln 2 */ * m * m / z);
}

int tc_hll_decode(const char *p, size_t len, uint8_t *regs)
{
    if (len < HLL_HDR || memcmp(p, HLL_MAGIC, 4) != 0) return -1;
    const unsigned char *b = (const unsigned char *)p + HLL_HDR;
    size_t n = len - HLL_HDR;
    memset(regs, 0, HLL_REGISTERS);
    if (p[4] == 'D') {
        if (n != HLL_DENSE_BYTES) return -1;
        for (size_t i = 0; i < HLL_REGISTERS; i++) {
            size_t bit = i * 6, byte = bit >> 3;
            unsigned v = b[byte] >> (bit & 7);
            if ((bit & 7) > 2) v |= (unsigned)b[byte + 1] << (8 - (bit & 7));
            regs[i] = (uint8_t)(v & 63);
        }
        return 0;
    }
    if (p[4] != 'S' || n % 3 != 0) return -1;
    long prev = -1;
    for (size_t i = 0; i < n; i += 3) {
        long reg = (long)b[i] << 8 | b[i + 1];
        if (reg <= prev || reg >= HLL_REGISTERS || b[i + 2] == 0 || b[i + 2] > 63) return -1;
        regs[reg] = b[i + 2];
        prev = reg;
    }
    return 0;
}

size_t tc_hll_encode(const uint8_t *regs, int dense, char *out)
{
    memcpy(out, HLL_MAGIC, 4);
    unsigned char *b = (unsigned char *)out + HLL_HDR;
    size_t nz = 0;
    for (size_t i = 0; i < HLL_REGISTERS; i++) nz += regs[i] != 0;
    if (!dense && HLL_HDR + nz * 3 <= HLL_SPARSE_MAX_BYTES) {
        out[4] = 'S';
        size_t k = 0;
        for (size_t i = 0; i < HLL_REGISTERS; i++) {
            if (!regs[i]) continue;
            b[k++] = (unsigned char)(i >> 8);
            b[k++] = (unsigned char)i;
            b[k++] = regs[i];
        }
        return HLL_HDR + k;
    }
    out[4] = 'D';
    memset(b, 0, HLL_DENSE_BYTES);
    for (size_t i = 0; i < HLL_REGISTERS; i++) {
        size_t bit = i * 6, byte = bit >> 3;
        b[byte] |= (unsigned char)(regs[i] << (bit & 7));
        if ((bit & 7) > 2) b[byte + 1] |= (unsigned char)(regs[i] >> (8 - (bit & 7)));
    }
    return HLL_HDR + HLL_DENSE_BYTES;
}

/* ---- commands ------------------------------------------------------------ */

/* The HLL at key decoded into regs: 1 found, 0 absent, -1 after replying
 * WRONGTYPE (another type, or a string that is not one of ours). */
static int load(tc_ctx *c, const tc_slice *key, uint8_t *regs, tc_key **out)
{
    tc_key *e = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    if (out) *out = e;
    if (!e) {
        memset(regs, 0, HLL_REGISTERS); /* an absent HLL is all zeros */
        return 0;
    }
    if (e->type != TC_TYPE_STRING) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        return -1;
    }
    if (tc_hll_decode(tc_key_cstr(e), e->vlen, regs) != 0) {
        tc_reply_error(c->r, ERR_NOT_HLL);
        return -1;
    }
    return 1;
}

/* Writes regs into key (e its current key or NULL), keeping its deadline;
 * a dense HLL stays dense. 0, or -1 after replying. */
static int save(tc_ctx *c, const tc_slice *key, tc_key *e, const uint8_t *regs)
{
    static char buf[HLL_HDR + HLL_DENSE_BYTES];
    int dense = e && e->vlen > HLL_HDR && tc_key_cstr(e)[4] == 'D';
    size_t n = tc_hll_encode(regs, dense, buf);
    if (!e) e = tc_ks_set(c->ks, key->p, key->len, buf, n, 0);
    else if (e->vlen == n || (e = tc_ks_resize(c->ks, e, n)) != NULL) memcpy(tc_key_str(e), buf, n);
    if (!e) {
        tc_reply_error(c->r, "ERR out of memory");
        return -1;
    }
    e->encoding = TC_ENC_INLINE_RAW; /* Redis's HLLs are raw strings */
    return 0;
}

/* PFADD key [element ...] */
void tc_cmd_pfadd(tc_ctx *c)
{
    uint8_t *regs = malloc(HLL_REGISTERS);
    if (!regs) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_key *e;
    int found = load(c, &c->argv[1], regs, &e);
    if (found >= 0) {
        int updated = !found; /* creating the key is a change */
        for (size_t i = 2; i < c->argc; i++) {
            unsigned reg, count;
            tc_hll_pos(c->argv[i].p, c->argv[i].len, &reg, &count);
            if (count > regs[reg]) {
                regs[reg] = (uint8_t)count;
                updated = 1;
            }
        }
        if (!updated) tc_reply_int(c->r, 0);
        else if (save(c, &c->argv[1], e, regs) == 0) {
            tc_notify(c, TC_NOTIFY_STRING, "pfadd", &c->argv[1]);
            tc_reply_int(c->r, 1);
        }
    }
    free(regs);
}

/* PFCOUNT key [key ...]: several keys count their union. */
void tc_cmd_pfcount(tc_ctx *c)
{
    uint8_t *max = calloc(1, HLL_REGISTERS), *regs = malloc(HLL_REGISTERS);
    if (!max || !regs) {
        tc_reply_error(c->r, "ERR out of memory");
        goto out;
    }
    for (size_t i = 1; i < c->argc; i++) {
        int found = load(c, &c->argv[i], regs, NULL);
        if (found < 0) goto out;
        if (!found) continue;
        for (size_t j = 0; j < HLL_REGISTERS; j++)
            if (regs[j] > max[j]) max[j] = regs[j];
    }
    tc_reply_int(c->r, (long long)tc_hll_estimate(max));
out:
    free(max);
    free(regs);
}

/* PFMERGE destkey [sourcekey ...]: the destination takes part in the union. */
void tc_cmd_pfmerge(tc_ctx *c)
{
    uint8_t *max = calloc(1, HLL_REGISTERS), *regs = malloc(HLL_REGISTERS);
    if (!max || !regs) {
        tc_reply_error(c->r, "ERR out of memory");
        goto out;
    }
    int any_dense = 0;
    for (size_t i = 1; i < c->argc; i++) {
        tc_key *e;
        int found = load(c, &c->argv[i], regs, &e);
        if (found < 0) goto out;
        if (!found) {
            tc_notify_source_miss(c, &c->argv[i]); /* Redis reads them all, the destination included */
            continue;
        }
        if (tc_key_cstr(e)[4] == 'D') any_dense = 1;
        for (size_t j = 0; j < HLL_REGISTERS; j++)
            if (regs[j] > max[j]) max[j] = regs[j];
    }
    tc_key *d = tc_ks_find(c->ks, c->argv[1].p, c->argv[1].len, c->now_ms);
    /* as Redis: the result is dense when any input was */
    if (any_dense && (!d || tc_key_cstr(d)[4] != 'D')) {
        static char buf[HLL_HDR + HLL_DENSE_BYTES];
        size_t n = tc_hll_encode(max, 1, buf);
        d = tc_ks_set(c->ks, c->argv[1].p, c->argv[1].len, buf, n, d ? d->expire_at : 0);
        if (!d) {
            tc_reply_error(c->r, "ERR out of memory");
            goto out;
        }
        d->encoding = TC_ENC_INLINE_RAW;
    } else if (save(c, &c->argv[1], d, max) != 0) {
        goto out;
    }
    /* Redis names PFMERGE's change of the destination "pfadd" */
    tc_notify(c, TC_NOTIFY_STRING, "pfadd", &c->argv[1]);
    tc_reply_ok(c->r);
out:
    free(max);
    free(regs);
}
