/* raft/log_checksum.c: libraft's checksum, eight bytes per step.
 *
 * Why: libraft computes a CRC-32 over every batch of log entries it writes
 * (on every node) and over every snapshot it stores or loads, one byte per
 * table lookup, each lookup waiting for the one before. During a 100 MB SET
 * on three nodes that loop was 20-25 % of the machine's CPU (perf, README
 * "Big string values"); it caps how fast any node can log big values.
 *
 * How: the build links libraft statically, from a copy of Debian's
 * libraft.a in which byteCrc32 is made a weak symbol (CMakeLists.txt), so
 * this definition is the one libraft's calls bind to. The result must be
 * exactly libraft's: logs and snapshots on disk are read back by it (and by
 * older tricache builds) with either version. Slicing by eight: the register
 * absorbs four bytes at once and eight tables give the effect of each of
 * the next eight bytes on the remainder, so eight independent lookups
 * replace eight dependent ones. tests/unit/test_log_checksum.c checks it
 * against the byte-at-a-time definition. */
#include "log_checksum.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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

unsigned byteCrc32(const void *buf, size_t size, unsigned init)
{
    pthread_once(&table_once, build_tables);
    atomic_fetch_add_explicit(&checksum_bytes, size, memory_order_relaxed);
    const unsigned char *p = buf;
    uint32_t crc = init;
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

unsigned long long tc_log_checksum_bytes(void)
{
    return atomic_load_explicit(&checksum_bytes, memory_order_relaxed);
}
