/* libFuzzer target for the snapshot reader (snapshot/).
 *
 * The input is a would-be snapshot file, read with a keyring holding one
 * fixed test key (id 1), in one read and in small reads of a size derived
 * from the data; both must give the same records and the same verdict, and
 * tc_snapshot_verify must agree.
 *
 * Checksums and tags stop almost every mutation at the first block, which
 * would leave the record parser, lz4 and the trailer checks unexplored. So
 * an input that looks like an unencrypted snapshot is also read "repaired":
 * every block checksum and the trailer's byte count and digest are
 * recomputed from FORMAT.md (the record count is left to the fuzzer), so
 * that mutations inside blocks reach the code behind the checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <openssl/evp.h>

#include "snapshot.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

static const tc_snapshot_key test_key = {
    1, {0x54, 0x43, 0x2d, 0x46, 0x55, 0x5a, 0x5a, 0x2d, 0x4b, 0x45, 0x59, 0x2d, 0x30, 0x30, 0x30, 0x31,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};

static const tc_snapshot_key *keyring(void *ud, uint32_t id)
{
    (void)ud;
    return id == test_key.id ? &test_key : NULL;
}

typedef struct source {
    const uint8_t *data;
    size_t len, pos, chunk;
} source;

static int source_read(void *ud, void *buf, size_t len, size_t *got)
{
    source *s = ud;
    size_t n = s->len - s->pos;
    if (n > len) n = len;
    if (s->chunk && n > s->chunk) n = s->chunk;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *got = n;
    return 0;
}

/* FNV-1a over what the reader returned, so two reads can be compared. */
static void mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) *h = (*h ^ b[i]) * 1099511628211ULL;
}

static int read_all(const uint8_t *data, size_t size, size_t chunk, uint64_t *h)
{
    source src = {data, size, 0, chunk};
    tc_snapshot_reader_opts o = {"fuzz", keyring, NULL};
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_reader *r;
    *h = 1469598103934665603ULL;
    int rc = tc_snapshot_reader_new(&r, &o, source_read, &src, err, sizeof err);
    if (rc) {
        CHECK(rc < 0 && r == NULL && strlen(err) > 0);
        return rc;
    }
    const tc_snapshot_info *info = tc_snapshot_reader_info(r);
    CHECK(strlen(info->cluster) <= TC_SNAPSHOT_MAX_CLUSTER);
    tc_snapshot_record rec;
    while ((rc = tc_snapshot_reader_next(r, &rec)) == 1) {
        CHECK(rec.key_len <= TC_SNAPSHOT_MAX_KEY && rec.value_len <= TC_SNAPSHOT_MAX_VALUE);
        CHECK(rec.key_len + rec.value_len <= size);
        mix(h, &rec.type, 1);
        mix(h, &rec.expire_at_ms, sizeof rec.expire_at_ms);
        mix(h, &rec.key_len, sizeof rec.key_len);
        mix(h, rec.key, rec.key_len);
        mix(h, &rec.value_len, sizeof rec.value_len);
        mix(h, rec.value, rec.value_len);
    }
    tc_snapshot_stats st;
    tc_snapshot_reader_stats(r, &st);
    /* two blocks, and a record buffer tied to the bytes that arrived */
    CHECK(st.buffer_bytes <= 2 * (size_t)info->block_size + 64 + 4096 + 2 * size);
    if (rc < 0) CHECK(strlen(tc_snapshot_reader_error(r)) > 0);
    CHECK(tc_snapshot_reader_next(r, &rec) == rc);
    tc_snapshot_reader_free(r);
    return rc;
}

static void check(const uint8_t *data, size_t size, size_t chunk)
{
    uint64_t h1, h2;
    int rc1 = read_all(data, size, 0, &h1);
    int rc2 = read_all(data, size, chunk, &h2);
    CHECK(rc1 == rc2 && h1 == h2);
    source src = {data, size, 0, 0};
    tc_snapshot_reader_opts o = {"fuzz", keyring, NULL};
    char err[TC_SNAPSHOT_ERRLEN];
    CHECK(tc_snapshot_verify(source_read, &src, &o, NULL, NULL, err, sizeof err) == rc1);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the checksums of an unencrypted snapshot in place (see the top
 * of the file). Returns 0 when d does not look like one. */
static int repair(uint8_t *d, size_t size)
{
    if (size < 85 || memcmp(d, "TRICACHE-SNAP\r\n\x1a", 16) != 0 || (d[18] & 1)) return 0;
    size_t off = 85 + (size_t)d[84];
    if (off > size) return 0;
    uint8_t hh[32], sum[32];
    CHECK(EVP_Digest(d, off, hh, NULL, EVP_sha256(), NULL));
    EVP_MD_CTX *all = EVP_MD_CTX_new(), *tmp = EVP_MD_CTX_new(), *md = EVP_MD_CTX_new();
    CHECK(all && tmp && md && EVP_DigestInit_ex(all, EVP_sha256(), NULL));
    uint64_t raw_total = 0;
    for (uint64_t idx = 0; off + 12 + 16 <= size; idx++) {
        uint8_t *f = d + off;
        uint32_t raw = le32(f + 4), stored = le32(f + 8);
        if (stored > size - off - 12 - 16) break;
        uint8_t *payload = f + 12;
        if (f[0] == 1 && stored == 48) {
            put_le64(payload + 8, raw_total);
            CHECK(EVP_MD_CTX_copy_ex(tmp, all));
            CHECK(EVP_DigestFinal_ex(tmp, payload + 16, NULL));
        } else if (f[0] == 0 && f[1] == 0) {
            CHECK(EVP_DigestUpdate(all, payload, stored));
            raw_total += stored;
        } else if (f[0] == 0 && f[1] == 1 && raw <= 4u * 1024 * 1024) {
            char *out = malloc(raw ? raw : 1);
            CHECK(out);
            int n = LZ4_decompress_safe((const char *)payload, out, (int)stored, (int)raw);
            if (n == (int)raw) {
                CHECK(EVP_DigestUpdate(all, out, raw));
                raw_total += raw;
            }
            free(out);
        }
        uint8_t idx_le[8];
        put_le64(idx_le, idx);
        CHECK(EVP_DigestInit_ex(md, EVP_sha256(), NULL));
        CHECK(EVP_DigestUpdate(md, hh, 32) && EVP_DigestUpdate(md, idx_le, 8));
        CHECK(EVP_DigestUpdate(md, f, 12) && EVP_DigestUpdate(md, payload, stored));
        CHECK(EVP_DigestFinal_ex(md, sum, NULL));
        memcpy(payload + stored, sum, 16);
        off += 12 + (size_t)stored + 16;
    }
    EVP_MD_CTX_free(all);
    EVP_MD_CTX_free(tmp);
    EVP_MD_CTX_free(md);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ULL;
    mix(&h, data, size);
    size_t chunk = 1 + (size_t)(h % 61);

    check(data, size, chunk);

    uint8_t *fixed = malloc(size ? size : 1);
    CHECK(fixed);
    memcpy(fixed, data, size);
    if (repair(fixed, size)) check(fixed, size, chunk);
    free(fixed);
    return 0;
}
