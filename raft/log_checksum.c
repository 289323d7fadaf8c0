/* raft/log_checksum.c: libraft's checksum, folded with carry-less
 * multiplication where the CPU has it, eight bytes per step where not.
 *
 * Why: libraft computes a CRC-32 over every batch of log entries it writes
 * (on every node) and over every snapshot it stores or loads. One byte per
 * table lookup, each waiting for the one before, it was 20-25 % of the
 * machine's CPU during a 100 MB SET on three nodes (perf, README "Big string
 * values"); eight bytes per step (slicing by eight, 2.0 GB/s here) it was
 * still a fifth of the Raft threads' CPU, on the path every big write waits
 * on. Folded, 13.5-14.5 GB/s.
 *
 * How: the build links libraft statically, from a copy of Debian's
 * libraft.a in which byteCrc32 is made a weak symbol (CMakeLists.txt), so
 * this definition is the one libraft's calls bind to. The result must be
 * exactly libraft's: logs and snapshots on disk are read back by it (and by
 * older tricache builds) with either version. tests/unit/test_log_checksum.c
 * checks both paths against the bit-at-a-time definition.
 *
 * The arithmetic (GF(2) polynomials, most significant bit first): the
 * register after a message M of L bytes from init c is
 * (c * x^(8L) + M * x^32) mod P, which is (M' * x^32) mod P for M' = M
 * with c added to its first four bytes. Folding keeps a 128-bit S that is
 * congruent to the part of M' read so far: appending a 16-byte block B
 * gives S * x^128 + B, and S * x^128 = hi * x^192 + lo * x^128 (hi, lo its
 * 64-bit halves) is congruent to hi * (x^192 mod P) + lo * (x^128 mod P),
 * two 64 x 32-bit carry-less products of at most 95 bits. Four such S run
 * side by side over 64-byte strides (each moved by x^512) so the
 * multiplier's latency overlaps, then fold into one. The CRC of the part
 * read is S * x^32 mod P, which is what the table loop gives for S's 16
 * bytes from init 0; the table loop then finishes the tail. The constants
 * x^n mod P are computed from P at start, not written down. */
#include "log_checksum.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_CLMUL_PATH 1
#endif

#define POLY 0x04C11DB7u

/* crc_table[k][b]: the register after byte b followed by k zero bytes,
 * starting from zero. Built once; 8 KiB. */
static uint32_t crc_table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static atomic_ullong checksum_bytes;

static void build_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b << 24;
        for (int bit = 0; bit < 8; bit++) c = (c & 0x80000000u) ? (c << 1) ^ POLY : c << 1;
        crc_table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++) {
            uint32_t prev = crc_table[k - 1][b];
            crc_table[k][b] = (prev << 8) ^ crc_table[0][prev >> 24];
        }
}

static inline uint32_t step_byte(uint32_t crc, unsigned char byte)
{
    return (crc << 8) ^ crc_table[0][(crc >> 24) ^ byte];
}

/* Slicing by eight: the register absorbs four bytes at once and eight
 * tables give the effect of each of the next eight bytes on the remainder,
 * so eight independent lookups replace eight dependent ones. */
static uint32_t crc_tables(const unsigned char *p, size_t size, uint32_t crc)
{
    while (size >= 8) {
        /* The first four bytes enter the register most significant first;
         * each of the eight bytes then lands in the table for the number of
         * bytes still after it. */
        uint32_t x = crc ^ ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        crc = crc_table[7][x >> 24] ^ crc_table[6][(x >> 16) & 255] ^ crc_table[5][(x >> 8) & 255] ^
              crc_table[4][x & 255] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
              crc_table[0][p[7]];
        p += 8;
        size -= 8;
    }
    while (size--) crc = step_byte(crc, *p++);
    return crc;
}

#ifdef HAVE_CLMUL_PATH
/* Below this the tables are as fast (and the folding needs 64 bytes). */
#define CLMUL_MIN 256

/* x^n mod P, for the folding distances used (bits). */
static uint64_t x_pow_mod(unsigned n)
{
    uint32_t r = 1;
    while (n--) r = (r & 0x80000000u) ? (r << 1) ^ POLY : r << 1;
    return r;
}

static uint64_t k512_hi, k512_lo, k384_hi, k384_lo, k256_hi, k256_lo, k128_hi, k128_lo;
static int use_clmul;

static void build_clmul(void)
{
    /* a block's high half sits 64 bits above its low half */
    k512_hi = x_pow_mod(512 + 64);
    k512_lo = x_pow_mod(512);
    k384_hi = x_pow_mod(384 + 64);
    k384_lo = x_pow_mod(384);
    k256_hi = x_pow_mod(256 + 64);
    k256_lo = x_pow_mod(256);
    k128_hi = x_pow_mod(128 + 64);
    k128_lo = x_pow_mod(128);
    __builtin_cpu_init();
    use_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3");
}

__attribute__((target("pclmul,ssse3"))) static inline __m128i fold(__m128i s, __m128i k)
{
    /* k: x^(d+64) mod P in the low lane, x^d mod P in the high lane */
    return _mm_xor_si128(_mm_clmulepi64_si128(s, k, 0x01), _mm_clmulepi64_si128(s, k, 0x10));
}

/* 16 message bytes as a 128-bit polynomial, the first byte highest. */
__attribute__((target("pclmul,ssse3"))) static inline __m128i load_be(const unsigned char *p, __m128i swap)
{
    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), swap);
}

__attribute__((target("pclmul,ssse3"))) static uint32_t crc_clmul(const unsigned char *p, size_t size, uint32_t crc)
{
    const __m128i swap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i k512 = _mm_set_epi64x((long long)k512_lo, (long long)k512_hi);
    __m128i s0 = _mm_xor_si128(load_be(p, swap), _mm_set_epi32((int)crc, 0, 0, 0));
    __m128i s1 = load_be(p + 16, swap), s2 = load_be(p + 32, swap), s3 = load_be(p + 48, swap);
    p += 64;
    size -= 64;
    while (size >= 64) {
        s0 = _mm_xor_si128(fold(s0, k512), load_be(p, swap));
        s1 = _mm_xor_si128(fold(s1, k512), load_be(p + 16, swap));
        s2 = _mm_xor_si128(fold(s2, k512), load_be(p + 32, swap));
        s3 = _mm_xor_si128(fold(s3, k512), load_be(p + 48, swap));
        p += 64;
        size -= 64;
    }
    /* s0 stands 384 bits before the end of what was read, s3 at it */
    __m128i s = _mm_xor_si128(fold(s0, _mm_set_epi64x((long long)k384_lo, (long long)k384_hi)),
                              fold(s1, _mm_set_epi64x((long long)k256_lo, (long long)k256_hi)));
    s = _mm_xor_si128(s, fold(s2, _mm_set_epi64x((long long)k128_lo, (long long)k128_hi)));
    s = _mm_xor_si128(s, s3);
    while (size >= 16) {
        s = _mm_xor_si128(fold(s, _mm_set_epi64x((long long)k128_lo, (long long)k128_hi)), load_be(p, swap));
        p += 16;
        size -= 16;
    }
    unsigned char bytes[16];
    _mm_storeu_si128((__m128i *)bytes, _mm_shuffle_epi8(s, swap));
    return crc_tables(p, size, crc_tables(bytes, sizeof bytes, 0));
}
#endif

static void build_all(void)
{
    build_tables();
#ifdef HAVE_CLMUL_PATH
    build_clmul();
#endif
}

unsigned byteCrc32(const void *buf, size_t size, unsigned init)
{
    pthread_once(&table_once, build_all);
    atomic_fetch_add_explicit(&checksum_bytes, size, memory_order_relaxed);
#ifdef HAVE_CLMUL_PATH
    if (use_clmul && size >= CLMUL_MIN) return crc_clmul(buf, size, init);
#endif
    return crc_tables(buf, size, init);
}

unsigned tc_log_checksum_tables(const void *buf, size_t size, unsigned init)
{
    pthread_once(&table_once, build_all);
    return crc_tables(buf, size, init);
}

unsigned long long tc_log_checksum_bytes(void)
{
    return atomic_load_explicit(&checksum_bytes, memory_order_relaxed);
}
