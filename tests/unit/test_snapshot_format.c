/* Unit tests for snapshot/: the file format, its streaming writer and reader,
 * and key files. Corruption tests change the bytes of real files (every bit,
 * every truncation point, moved blocks) and demand a refusal; a small
 * independent encoder written from FORMAT.md checks that the document and
 * the code agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "snapshot.h"

/* ------------------------------------------------------------- helpers */

typedef struct membuf {
    uint8_t *data;
    size_t len, cap;
} membuf;

static void mb_put(membuf *m, const void *p, size_t n)
{
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n) cap *= 2;
        m->data = realloc(m->data, cap);
        assert_non_null(m->data);
        m->cap = cap;
    }
    if (n) memcpy(m->data + m->len, p, n);
    m->len += n;
}

static int sink_write(void *ud, const void *buf, size_t len)
{
    mb_put(ud, buf, len);
    return 0;
}

static int discard_write(void *ud, const void *buf, size_t len)
{
    (void)buf;
    *(uint64_t *)ud += len;
    return 0;
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

static const tc_snapshot_key KEY1 = {1, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                          31, 32}};
static const tc_snapshot_key KEY7 = {7, {0xa7}};

static tc_snapshot_keyset keyring_all = {NULL, 0};
static tc_snapshot_key all_keys[2];

static tc_snapshot_reader_opts ropts(void)
{
    all_keys[0] = KEY1;
    all_keys[1] = KEY7;
    keyring_all.keys = all_keys;
    keyring_all.n = 2;
    tc_snapshot_reader_opts o = {"test.tcs", tc_snapshot_keyset_lookup, &keyring_all};
    return o;
}

/* Record i of a deterministic set: binary keys with NULs, empty values,
 * TTLs on every third, and (when big_at matches) a 1 MiB value. */
typedef struct gen {
    uint8_t key[32];
    uint8_t *val;
    size_t val_cap;
} gen;

static void gen_record(gen *g, uint64_t i, uint64_t big_at, tc_snapshot_record *r)
{
    size_t klen = 1 + (i * 7) % 24;
    for (size_t j = 0; j < klen; j++) g->key[j] = (uint8_t)((i >> (j % 8 * 8)) + j * 31);
    g->key[0] = 0; /* NUL first byte: keys are binary */
    size_t vlen = (i % 5 == 0) ? 0 : (i * 13) % 300;
    if (i == big_at) vlen = 1024 * 1024 + 17;
    if (vlen > g->val_cap) {
        g->val = realloc(g->val, vlen);
        assert_non_null(g->val);
        g->val_cap = vlen;
    }
    uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t j = 0; j < vlen; j++) {
        /* half compressible runs, half noise */
        if ((j / 64) % 2) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g->val[j] = (uint8_t)x;
        } else {
            g->val[j] = (uint8_t)(j % 3 == 0 ? 0 : 'a' + i % 26);
        }
    }
    r->type = TC_SNAPSHOT_STRING;
    r->expire_at_ms = (i % 3 == 0) ? (int64_t)(1700000000000LL + i) : 0;
    r->key = g->key;
    r->key_len = (uint32_t)klen;
    r->value = g->val;
    r->value_len = (uint32_t)vlen;
}

typedef struct spec {
    const tc_snapshot_key *key;
    int compress;
    uint32_t block_size;
    uint64_t n;
    uint64_t big_at; /* UINT64_MAX = none */
} spec;

static void write_mem(const spec *s, membuf *out)
{
    tc_snapshot_writer_opts o = {0};
    o.name = "test.tcs";
    o.cluster = "prod-eu";
    o.raft_index = 123456789012ULL;
    o.raft_term = 42;
    o.created_ms = 1700000000123LL;
    o.key = s->key;
    o.compress = s->compress;
    o.block_size = s->block_size;
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_writer *w;
    int rc = tc_snapshot_writer_new(&w, &o, sink_write, out, err, sizeof err);
    if (rc) fail_msg("writer_new: %s", err);
    gen g = {0};
    for (uint64_t i = 0; i < s->n; i++) {
        tc_snapshot_record r;
        gen_record(&g, i, s->big_at, &r);
        rc = tc_snapshot_writer_add(w, &r);
        if (rc) fail_msg("add: %s", tc_snapshot_writer_error(w));
    }
    rc = tc_snapshot_writer_finish(w);
    if (rc) fail_msg("finish: %s", tc_snapshot_writer_error(w));
    tc_snapshot_stats st;
    tc_snapshot_writer_stats(w, &st);
    assert_int_equal(st.records, s->n);
    assert_int_equal(st.file_bytes, out->len);
    tc_snapshot_writer_free(w);
    free(g.val);
}

static int rec_equal(const tc_snapshot_record *a, const tc_snapshot_record *b)
{
    return a->type == b->type && a->expire_at_ms == b->expire_at_ms &&
           a->key_len == b->key_len && a->value_len == b->value_len &&
           memcmp(a->key, b->key, a->key_len) == 0 &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

/* Reads data; every record returned must be the next expected one. Returns
 * the final code (0 = whole snapshot good) and the count and message. */
static int read_check(const uint8_t *data, size_t len, size_t chunk, const spec *s,
                      const tc_snapshot_reader_opts *o, uint64_t *count, char *msg, size_t msglen)
{
    source src = {data, len, 0, chunk};
    tc_snapshot_reader *r;
    *count = 0;
    int rc = tc_snapshot_reader_new(&r, o, source_read, &src, msg, msglen);
    if (rc) {
        assert_true(rc < 0);
        assert_null(r);
        return rc;
    }
    gen g = {0};
    tc_snapshot_record got, want;
    while ((rc = tc_snapshot_reader_next(r, &got)) == 1) {
        assert_true(*count < s->n);
        gen_record(&g, *count, s->big_at, &want);
        if (!rec_equal(&got, &want)) fail_msg("record %llu differs", (unsigned long long)*count);
        (*count)++;
    }
    if (rc < 0) {
        snprintf(msg, msglen, "%s", tc_snapshot_reader_error(r));
        /* sticky */
        assert_int_equal(tc_snapshot_reader_next(r, &got), rc);
    } else {
        assert_int_equal(*count, s->n);
        assert_int_equal(tc_snapshot_reader_next(r, &got), 0);
    }
    tc_snapshot_reader_free(r);
    free(g.val);
    return rc;
}

static int verify_mem(const uint8_t *data, size_t len, const tc_snapshot_reader_opts *o, char *msg,
                      size_t msglen)
{
    source src = {data, len, 0, 0};
    return tc_snapshot_verify(source_read, &src, o, NULL, NULL, msg, msglen);
}

/* Block boundaries from the framing in FORMAT.md: header, then frames of
 * 12 + stored_len + 16 bytes. Returns the number of blocks (trailer
 * included); offs[k] is where block k starts, offs[n] the end. */
static size_t walk_blocks(const uint8_t *d, size_t len, size_t *offs, size_t max)
{
    size_t off = 85 + d[84], n = 0;
    while (off < len) {
        assert_true(n < max);
        offs[n++] = off;
        uint32_t stored = (uint32_t)d[off + 8] | (uint32_t)d[off + 9] << 8 |
                          (uint32_t)d[off + 10] << 16 | (uint32_t)d[off + 11] << 24;
        off += 12 + (size_t)stored + 16;
    }
    assert_int_equal(off, len);
    offs[n] = off;
    return n;
}

static const uint64_t NONE = UINT64_MAX;

/* ------------------------------------------------------------- round trips */

static void test_roundtrip(void **state)
{
    (void)state;
    const tc_snapshot_key *keys[] = {NULL, &KEY1};
    uint32_t sizes[] = {64, 1000, 0};
    tc_snapshot_reader_opts o = ropts();
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 2; c++)
            for (int b = 0; b < 3; b++) {
                spec s = {keys[k], c, sizes[b], 3000, 1500};
                membuf m = {0};
                write_mem(&s, &m);
                char msg[TC_SNAPSHOT_ERRLEN] = "";
                uint64_t count;
                size_t chunks[] = {0, 1 + b * 333};
                for (int ch = 0; ch < 2; ch++) {
                    int rc = read_check(m.data, m.len, chunks[ch], &s, &o, &count, msg, sizeof msg);
                    if (rc) fail_msg("k=%d c=%d b=%d: %s", k, c, b, msg);
                }
                tc_snapshot_info info;
                tc_snapshot_stats st;
                source src = {m.data, m.len, 0, 0};
                assert_int_equal(tc_snapshot_verify(source_read, &src, &o, &info, &st, msg,
                                                    sizeof msg),
                                 0);
                assert_int_equal(st.records, 3000);
                assert_int_equal(st.file_bytes, m.len);
                assert_int_equal(info.version, 1);
                assert_int_equal(info.encrypted, k);
                assert_int_equal(info.compressed, c);
                assert_string_equal(info.cluster, "prod-eu");
                assert_int_equal(info.raft_index, 123456789012ULL);
                assert_int_equal(info.raft_term, 42);
                assert_int_equal(info.created_ms, 1700000000123LL);
                assert_int_equal(info.key_id, k ? 1 : 0);
                assert_int_equal(info.block_size, sizes[b] ? sizes[b] : TC_SNAPSHOT_DEFAULT_BLOCK);
                free(m.data);
            }
}

static void test_zero_records(void **state)
{
    (void)state;
    tc_snapshot_reader_opts o = ropts();
    for (int k = 0; k < 2; k++) {
        spec s = {k ? &KEY1 : NULL, 1, 0, 0, NONE};
        membuf m = {0};
        write_mem(&s, &m);
        /* header + the trailer block only */
        assert_int_equal(m.len, 85 + 7 + 12 + 48 + 16);
        char msg[TC_SNAPSHOT_ERRLEN];
        uint64_t count = 99;
        assert_int_equal(read_check(m.data, m.len, 0, &s, &o, &count, msg, sizeof msg), 0);
        assert_int_equal(count, 0);
        free(m.data);
    }
}

static void test_compression_shrinks(void **state)
{
    (void)state;
    tc_snapshot_writer *w;
    membuf plain = {0}, packed = {0};
    char err[TC_SNAPSHOT_ERRLEN];
    for (int c = 0; c < 2; c++) {
        tc_snapshot_writer_opts o = {.compress = c, .key = &KEY1};
        assert_int_equal(tc_snapshot_writer_new(&w, &o, sink_write, c ? &packed : &plain, err,
                                                sizeof err),
                         0);
        char val[1000];
        memset(val, 'x', sizeof val);
        for (int i = 0; i < 1000; i++) {
            tc_snapshot_record r = {0, 0, "key", 3, val, sizeof val};
            assert_int_equal(tc_snapshot_writer_add(w, &r), 0);
        }
        assert_int_equal(tc_snapshot_writer_finish(w), 0);
        tc_snapshot_writer_free(w);
    }
    assert_true(packed.len * 20 < plain.len);
    free(plain.data);
    free(packed.data);
}

/* ------------------------------------------------------------- corruption */

static void flip_every_bit(const tc_snapshot_key *key, int compress)
{
    spec s = {key, compress, 256, 40, NONE};
    membuf m = {0};
    write_mem(&s, &m);
    size_t offs[64];
    size_t nblocks = walk_blocks(m.data, m.len, offs, 63);
    assert_true(nblocks >= 4);
    assert_true(m.len > 2000 && m.len < 16384);
    tc_snapshot_reader_opts o = ropts();
    char msg[TC_SNAPSHOT_ERRLEN];
    uint64_t count;
    assert_int_equal(read_check(m.data, m.len, 0, &s, &o, &count, msg, sizeof msg), 0);
    uint8_t *copy = malloc(m.len);
    assert_non_null(copy);
    for (size_t bit = 0; bit < m.len * 8; bit++) {
        memcpy(copy, m.data, m.len);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        /* read_check also asserts that whatever came out before the
         * refusal was the genuine data */
        int rc = read_check(copy, m.len, 0, &s, &o, &count, msg, sizeof msg);
        if (rc >= 0) fail_msg("flipping bit %zu (byte %zu) went unnoticed", bit, bit / 8);
    }
    free(copy);
    free(m.data);
}

static void test_bitflips_encrypted(void **state)
{
    (void)state;
    flip_every_bit(&KEY1, 1);
}

static void test_bitflips_unencrypted(void **state)
{
    (void)state;
    flip_every_bit(NULL, 0);
    flip_every_bit(NULL, 1);
}

static void truncations(const tc_snapshot_key *key)
{
    spec s = {key, 1, 256, 60, NONE};
    membuf m = {0};
    write_mem(&s, &m);
    size_t offs[128];
    size_t n = walk_blocks(m.data, m.len, offs, 127);
    tc_snapshot_reader_opts o = ropts();
    char msg[TC_SNAPSHOT_ERRLEN];
    uint64_t count;
    for (size_t b = 0; b <= n - 1; b++) {
        int rc = read_check(m.data, offs[b], 0, &s, &o, &count, msg, sizeof msg);
        assert_int_equal(rc, TC_SNAPSHOT_ETRUNCATED);
        if (b > 0) {
            char want[64];
            snprintf(want, sizeof want, "truncated after block %zu: no trailer", b - 1);
            if (!strstr(msg, want)) fail_msg("%s", msg);
        }
    }
    size_t from = m.len > 400 ? m.len - 400 : 0;
    for (size_t len = from; len < m.len; len++)
        assert_true(read_check(m.data, len, 0, &s, &o, &count, msg, sizeof msg) < 0);
    for (size_t len = 0; len <= offs[0] + 20; len++)
        assert_true(read_check(m.data, len, 0, &s, &o, &count, msg, sizeof msg) < 0);
    free(m.data);
}

static void test_truncation(void **state)
{
    (void)state;
    truncations(&KEY1);
    truncations(NULL);
}

/* Builds a file from the blocks of a and b: order[k] >= 0 takes a's block,
 * -1 - j takes b's block j. */
static void splice_blocks(const membuf *a, const size_t *oa, const membuf *b, const size_t *ob,
                   const int *order, size_t n, membuf *out)
{
    mb_put(out, a->data, oa[0]);
    for (size_t k = 0; k < n; k++) {
        if (order[k] >= 0) mb_put(out, a->data + oa[order[k]], oa[order[k] + 1] - oa[order[k]]);
        else {
            int j = -1 - order[k];
            mb_put(out, b->data + ob[j], ob[j + 1] - ob[j]);
        }
    }
}

static void moved_blocks(const tc_snapshot_key *key, int compress)
{
    /* identical contents, so blocks differ only by what binds them to
     * their file and position */
    spec s = {key, compress, 128, 30, NONE};
    membuf a = {0}, b = {0};
    write_mem(&s, &a);
    write_mem(&s, &b);
    size_t oa[64], ob[64];
    size_t n = walk_blocks(a.data, a.len, oa, 63);
    assert_int_equal(walk_blocks(b.data, b.len, ob, 63), n);
    assert_true(n >= 5);
    tc_snapshot_reader_opts o = ropts();
    char msg[TC_SNAPSHOT_ERRLEN];
    int order[64];
    for (size_t k = 0; k < n; k++) order[k] = (int)k;

    membuf c = {0};
    order[1] = 2, order[2] = 1;                  /* swapped */
    splice_blocks(&a, oa, &b, ob, order, n, &c);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(msg, "block 1 at byte offset"));
    c.len = 0;
    order[1] = 1, order[2] = -3;                 /* block 2 from the other file */
    splice_blocks(&a, oa, &b, ob, order, n, &c);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    c.len = 0;
    order[2] = 2, order[n - 1] = -(int)n;        /* the other file's trailer */
    splice_blocks(&a, oa, &b, ob, order, n, &c);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    c.len = 0;
    order[n - 1] = (int)n - 1;                   /* a block dropped */
    splice_blocks(&a, oa, &b, ob, order + 1, n - 1, &c);
    assert_true(verify_mem(c.data, c.len, &o, msg, sizeof msg) < 0);
    c.len = 0;
    order[n - 2] = (int)n - 1;                   /* the last data block dropped */
    splice_blocks(&a, oa, &b, ob, order, n - 1, &c);
    assert_true(verify_mem(c.data, c.len, &o, msg, sizeof msg) < 0);
    c.len = 0;
    for (size_t k = 0; k < n; k++) order[k] = (int)k;
    order[n - 1] = (int)n - 2;                   /* a block repeated before the trailer */
    order[n] = (int)n - 1;
    splice_blocks(&a, oa, &b, ob, order, n + 1, &c);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    c.len = 0;
    mb_put(&c, a.data, a.len);                   /* data after the trailer */
    mb_put(&c, "x", 1);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_EFORMAT);
    assert_non_null(strstr(msg, "after the trailer"));
    c.len = 0;
    mb_put(&c, b.data, ob[0]);                   /* b's header on a's blocks */
    mb_put(&c, a.data + oa[0], a.len - oa[0]);
    assert_int_equal(verify_mem(c.data, c.len, &o, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(msg, "block 0 at byte offset"));
    free(a.data);
    free(b.data);
    free(c.data);
}

static void test_moved_blocks(void **state)
{
    (void)state;
    moved_blocks(&KEY1, 0);
    moved_blocks(&KEY1, 1);
    moved_blocks(NULL, 0);
}

static void test_keys_in_keyring(void **state)
{
    (void)state;
    spec s = {&KEY7, 1, 0, 10, NONE};
    membuf m = {0};
    write_mem(&s, &m);
    char msg[TC_SNAPSHOT_ERRLEN];

    tc_snapshot_key wrong = KEY7;
    wrong.bytes[31] ^= 1;
    tc_snapshot_keyset ks = {&wrong, 1};
    tc_snapshot_reader_opts o = {"snap-0042.tcs", tc_snapshot_keyset_lookup, &ks};
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_EBADKEY);
    assert_non_null(strstr(msg, "snap-0042.tcs: "));
    assert_non_null(strstr(msg, "key with id 7 is not the key"));

    ks.keys = &KEY1;
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_ENOKEY);
    assert_non_null(strstr(msg, "snapshot was encrypted with key id 7, which is not in the keyring"));
    o.keyring = NULL;
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_ENOKEY);

    /* after rotation both keys are in the ring and old files still read */
    tc_snapshot_reader_opts all = ropts();
    assert_int_equal(verify_mem(m.data, m.len, &all, msg, sizeof msg), 0);
    /* an unencrypted file needs no keyring */
    free(m.data);
    m = (membuf){0};
    spec p = {NULL, 1, 0, 10, NONE};
    write_mem(&p, &m);
    assert_int_equal(verify_mem(m.data, m.len, NULL, msg, sizeof msg), 0);
    free(m.data);
}

static void test_header_errors(void **state)
{
    (void)state;
    spec s = {&KEY1, 1, 0, 3, NONE};
    membuf m = {0};
    write_mem(&s, &m);
    tc_snapshot_reader_opts o = ropts();
    char msg[TC_SNAPSHOT_ERRLEN];

    assert_int_equal(verify_mem(m.data, 0, &o, msg, sizeof msg), TC_SNAPSHOT_EFORMAT);
    assert_non_null(strstr(msg, "empty"));
    assert_int_equal(verify_mem((const uint8_t *)"*1\r\n$4\r\nPING\r\n", 14, &o, msg, sizeof msg),
                     TC_SNAPSHOT_EFORMAT);
    assert_string_equal(msg, "test.tcs: not a tricache snapshot (bad magic)");
    assert_int_equal(verify_mem(m.data, 10, &o, msg, sizeof msg), TC_SNAPSHOT_ETRUNCATED);

    m.data[16] = 7; /* version */
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_EVERSION);
    assert_non_null(strstr(msg, "format version 7 is newer than this tricache understands (1)"));
    m.data[16] = 1;
    m.data[18] |= 0x80; /* unknown flag */
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_EFORMAT);
    m.data[18] &= 0x7f;
    m.data[23] = 0x7f; /* huge block size: refused before allocating */
    assert_int_equal(verify_mem(m.data, m.len, &o, msg, sizeof msg), TC_SNAPSHOT_EFORMAT);
    assert_non_null(strstr(msg, "block size"));
    free(m.data);
}

/* ------------------------------------------------------------- independent encoder */

/* An unencrypted, uncompressed snapshot built from FORMAT.md alone, from a
 * raw record stream; trailer fields can be given wrong on purpose. */
static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_true(EVP_DigestInit_ex(c, EVP_sha256(), NULL));
    assert_true(EVP_DigestUpdate(c, a, alen));
    assert_true(EVP_DigestUpdate(c, b, blen));
    assert_true(EVP_DigestFinal_ex(c, out, NULL));
    EVP_MD_CTX_free(c);
}

static void forge_block(membuf *out, const uint8_t hh[32], uint64_t idx, int type,
                        const uint8_t *data, size_t len)
{
    uint8_t ad[52], tag[32];
    memcpy(ad, hh, 32);
    put_le(ad + 32, idx, 8);
    uint8_t *f = ad + 40;
    f[0] = (uint8_t)type;
    f[1] = 0;
    f[2] = f[3] = 0;
    put_le(f + 4, len, 4);
    put_le(f + 8, len, 4);
    sha256(ad, sizeof ad, data, len, tag);
    mb_put(out, f, 12);
    mb_put(out, data, len);
    mb_put(out, tag, 16);
}

static void forge(const uint8_t *raw, size_t rawlen, uint32_t bs, uint64_t count,
                  int64_t raw_delta, membuf *out)
{
    uint8_t h[85 + 4] = "TRICACHE-SNAP\r\n\x1a";
    put_le(h + 16, 1, 2);
    put_le(h + 18, 0, 2);
    put_le(h + 20, bs, 4);
    put_le(h + 24, 99, 8);
    put_le(h + 32, 3, 8);
    put_le(h + 40, 1700000000000ULL, 8);
    put_le(h + 48, 0, 4);
    memset(h + 52, 0x5a, 16); /* salt */
    memset(h + 68, 0, 16);
    h[84] = 4;
    memcpy(h + 85, "test", 4);
    uint8_t hh[32];
    sha256(h, sizeof h, "", 0, hh);
    mb_put(out, h, sizeof h);
    uint64_t idx = 0;
    for (size_t off = 0; off < rawlen; off += bs, idx++)
        forge_block(out, hh, idx, 0, raw + off, rawlen - off < bs ? rawlen - off : bs);
    uint8_t t[48];
    put_le(t, count, 8);
    put_le(t + 8, (uint64_t)((int64_t)rawlen + raw_delta), 8);
    sha256(raw, rawlen, "", 0, t + 16);
    forge_block(out, hh, idx, 1, t, sizeof t);
}

static void raw_record(membuf *m, uint8_t type, int64_t exp, const char *k, uint32_t klen,
                       const char *v, uint32_t vlen)
{
    uint8_t h[17];
    h[0] = type;
    put_le(h + 1, (uint64_t)exp, 8);
    put_le(h + 9, klen, 4);
    put_le(h + 13, vlen, 4);
    mb_put(m, h, sizeof h);
    mb_put(m, k, k ? klen : 0);
    mb_put(m, v, v ? vlen : 0);
}

static void test_independent_encoder(void **state)
{
    (void)state;
    membuf raw = {0}, f = {0};
    char msg[TC_SNAPSHOT_ERRLEN];
    char big[700];
    memset(big, 'v', sizeof big);
    raw_record(&raw, 0, 0, "a", 1, "1", 1);
    raw_record(&raw, 0, 1234, "bb", 2, big, sizeof big);
    raw_record(&raw, 0, 0, "", 0, "", 0);

    /* the document and the code agree */
    forge(raw.data, raw.len, 64, 3, 0, &f);
    tc_snapshot_info info;
    source src = {f.data, f.len, 0, 5};
    assert_int_equal(tc_snapshot_verify(source_read, &src, NULL, &info, NULL, msg, sizeof msg), 0);
    assert_string_equal(info.cluster, "test");
    assert_int_equal(info.raft_index, 99);
    src.pos = 0;
    tc_snapshot_reader *r;
    assert_int_equal(tc_snapshot_reader_new(&r, NULL, source_read, &src, msg, sizeof msg), 0);
    tc_snapshot_record rec;
    assert_int_equal(tc_snapshot_reader_next(r, &rec), 1);
    assert_int_equal(rec.key_len, 1);
    assert_int_equal(tc_snapshot_reader_next(r, &rec), 1);
    assert_int_equal(rec.expire_at_ms, 1234);
    assert_int_equal(rec.value_len, sizeof big);
    assert_memory_equal(rec.value, big, sizeof big);
    assert_int_equal(tc_snapshot_reader_next(r, &rec), 1);
    assert_int_equal(rec.key_len + rec.value_len, 0);
    assert_int_equal(tc_snapshot_reader_next(r, &rec), 0);
    tc_snapshot_reader_free(r);

    /* trailer disagreements */
    f.len = 0;
    forge(raw.data, raw.len, 64, 4, 0, &f);
    assert_int_equal(verify_mem(f.data, f.len, NULL, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(msg, "the trailer counts 4 records but the file holds 3"));
    f.len = 0;
    forge(raw.data, raw.len, 64, 3, 1, &f);
    assert_int_equal(verify_mem(f.data, f.len, NULL, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);

    /* a record claiming a 500 MiB value, then the trailer: refused without
     * allocating what the length field claims */
    membuf liar = {0};
    raw_record(&liar, 0, 0, "k", 1, NULL, 500u * 1024 * 1024);
    mb_put(&liar, big, 300);
    f.len = 0;
    forge(liar.data, liar.len, 64, 1, 0, &f);
    src = (source){f.data, f.len, 0, 0};
    assert_int_equal(tc_snapshot_reader_new(&r, NULL, source_read, &src, msg, sizeof msg), 0);
    assert_int_equal(tc_snapshot_reader_next(r, &rec), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(tc_snapshot_reader_error(r), "record 0 is cut off by the trailer"));
    tc_snapshot_stats st;
    tc_snapshot_reader_stats(r, &st);
    assert_true(st.buffer_bytes < 64 * 1024);
    tc_snapshot_reader_free(r);

    /* limits and unknown types */
    liar.len = 0;
    raw_record(&liar, 0, 0, "k", 1, NULL, 512u * 1024 * 1024 + 1);
    f.len = 0;
    forge(liar.data, liar.len, 64, 1, 0, &f);
    assert_int_equal(verify_mem(f.data, f.len, NULL, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(msg, "value longer than 512 MiB"));
    liar.len = 0;
    raw_record(&liar, 9, 0, "k", 1, "v", 1);
    f.len = 0;
    forge(liar.data, liar.len, 64, 1, 0, &f);
    assert_int_equal(verify_mem(f.data, f.len, NULL, msg, sizeof msg), TC_SNAPSHOT_EVERSION);
    assert_non_null(strstr(msg, "has type 9"));
    liar.len = 0;
    raw_record(&liar, 0, -5, "k", 1, "v", 1);
    f.len = 0;
    forge(liar.data, liar.len, 64, 1, 0, &f);
    assert_int_equal(verify_mem(f.data, f.len, NULL, msg, sizeof msg), TC_SNAPSHOT_ECORRUPT);
    free(liar.data);
    free(raw.data);
    free(f.data);
}

/* ------------------------------------------------------------- writer input */

static void test_writer_refuses_bad_input(void **state)
{
    (void)state;
    membuf m = {0};
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_writer *w;
    tc_snapshot_writer_opts o = {0};
    o.cluster = "a-cluster-name-that-is-far-too-long-to-fit-in-sixty-three-bytes-of-header";
    assert_int_equal(tc_snapshot_writer_new(&w, &o, sink_write, &m, err, sizeof err),
                     TC_SNAPSHOT_EINVAL);
    assert_null(w);
    assert_non_null(strstr(err, "cluster name"));
    o.cluster = NULL;
    o.block_size = 10;
    assert_int_equal(tc_snapshot_writer_new(&w, &o, sink_write, &m, err, sizeof err),
                     TC_SNAPSHOT_EINVAL);
    o.block_size = 0;
    tc_snapshot_key k0 = {0, {0}};
    o.key = &k0;
    assert_int_equal(tc_snapshot_writer_new(&w, &o, sink_write, &m, err, sizeof err),
                     TC_SNAPSHOT_EINVAL);
    assert_non_null(strstr(err, "key id 0 is reserved"));
    o.key = &KEY1;
    assert_int_equal(tc_snapshot_writer_new(&w, &o, sink_write, &m, err, sizeof err), 0);

    tc_snapshot_record bad = {0, 0, "k", 1, "v", TC_SNAPSHOT_MAX_VALUE + 1};
    assert_int_equal(tc_snapshot_writer_add(w, &bad), TC_SNAPSHOT_EINVAL);
    bad.value_len = 1;
    bad.type = 9; /* no such type (3 is now the sorted set) */
    assert_int_equal(tc_snapshot_writer_add(w, &bad), TC_SNAPSHOT_EINVAL);
    bad.type = 0;
    bad.expire_at_ms = -1;
    assert_int_equal(tc_snapshot_writer_add(w, &bad), TC_SNAPSHOT_EINVAL);
    /* refusals change nothing: the writer goes on */
    bad.expire_at_ms = 0;
    assert_int_equal(tc_snapshot_writer_add(w, &bad), 0);
    assert_int_equal(tc_snapshot_writer_finish(w), 0);
    assert_int_equal(tc_snapshot_writer_add(w, &bad), TC_SNAPSHOT_EINVAL);
    tc_snapshot_writer_free(w);
    tc_snapshot_reader_opts ro = ropts();
    assert_int_equal(verify_mem(m.data, m.len, &ro, err, sizeof err), 0);
    free(m.data);
}

static int failing_write(void *ud, const void *buf, size_t len)
{
    (void)buf;
    (void)len;
    return (*(int *)ud)-- > 0 ? 0 : -28; /* ENOSPC */
}

static void test_write_errors_are_sticky(void **state)
{
    (void)state;
    int budget = 2;
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_writer *w;
    tc_snapshot_writer_opts o = {.block_size = 64};
    assert_int_equal(tc_snapshot_writer_new(&w, &o, failing_write, &budget, err, sizeof err), 0);
    tc_snapshot_record r = {0, 0, "key", 3, "0123456789012345678901234567890123456789", 40};
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) rc = tc_snapshot_writer_add(w, &r);
    assert_int_equal(rc, TC_SNAPSHOT_EIO);
    assert_non_null(strstr(tc_snapshot_writer_error(w), "No space left on device"));
    assert_int_equal(tc_snapshot_writer_add(w, &r), TC_SNAPSHOT_EIO);
    assert_int_equal(tc_snapshot_writer_finish(w), TC_SNAPSHOT_EIO);
    tc_snapshot_writer_free(w);
}

/* ------------------------------------------------------------- streaming */

static void test_streaming_memory_bounded(void **state)
{
    (void)state;
    uint64_t written = 0;
    char err[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_writer *w;
    const uint32_t bs = 64 * 1024;
    tc_snapshot_writer_opts o = {.key = &KEY1, .compress = 1, .block_size = bs};
    assert_int_equal(tc_snapshot_writer_new(&w, &o, discard_write, &written, err, sizeof err), 0);
    tc_snapshot_stats st0, st;
    tc_snapshot_writer_stats(w, &st0);
    assert_true(st0.buffer_bytes <= 2 * (size_t)bs + 64);
    gen g = {0};
    for (uint64_t i = 0; i < 200000; i++) {
        tc_snapshot_record r;
        gen_record(&g, i, i == 100000 ? i : NONE, &r);
        assert_int_equal(tc_snapshot_writer_add(w, &r), 0);
        if (i % 10000 == 0) {
            tc_snapshot_writer_stats(w, &st);
            assert_int_equal(st.buffer_bytes, st0.buffer_bytes);
        }
    }
    assert_int_equal(tc_snapshot_writer_finish(w), 0);
    tc_snapshot_writer_stats(w, &st);
    assert_int_equal(st.buffer_bytes, st0.buffer_bytes);
    assert_int_equal(st.records, 200000);
    assert_int_equal(st.file_bytes, written);
    assert_true(st.raw_bytes > 20u * 1024 * 1024);
    tc_snapshot_writer_free(w);
    free(g.val);
}

static void test_reader_memory_bounded(void **state)
{
    (void)state;
    const uint32_t bs = 16 * 1024;
    spec s = {&KEY1, 1, bs, 20000, 10000};
    membuf m = {0};
    write_mem(&s, &m);
    tc_snapshot_reader_opts o = ropts();
    source src = {m.data, m.len, 0, 0};
    char msg[TC_SNAPSHOT_ERRLEN];
    tc_snapshot_reader *r;
    assert_int_equal(tc_snapshot_reader_new(&r, &o, source_read, &src, msg, sizeof msg), 0);
    tc_snapshot_record rec;
    tc_snapshot_stats st;
    size_t most = 0;
    uint64_t n = 0;
    int rc;
    while ((rc = tc_snapshot_reader_next(r, &rec)) == 1) {
        tc_snapshot_reader_stats(r, &st);
        if (st.buffer_bytes > most) most = st.buffer_bytes;
        if (n++ == 10500)
            assert_true(st.buffer_bytes <= 2 * (size_t)bs + 64 + 4096); /* big buffer given back */
    }
    assert_int_equal(rc, 0);
    /* two block buffers plus the largest record (1 MiB + a key) */
    assert_true(most <= 2 * (size_t)bs + 64 + 1024 * 1024 + 17 + 64);
    assert_true(most >= 1024 * 1024);
    tc_snapshot_reader_free(r);
    free(m.data);
}

/* ------------------------------------------------------------- files */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tc-snapshot-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_key_files(void **state)
{
    (void)state;
    char path[128], err[TC_SNAPSHOT_ERRLEN];
    snprintf(path, sizeof path, "%s/key-5", tmpdir);
    assert_int_equal(tc_snapshot_key_generate(path, 5, err, sizeof err), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 48);
    tc_snapshot_key k, k2;
    assert_int_equal(tc_snapshot_key_load(path, &k, err, sizeof err), 0);
    assert_int_equal(k.id, 5);
    /* never replaced */
    assert_int_equal(tc_snapshot_key_generate(path, 5, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "already exists"));
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), 0);
    assert_memory_equal(k.bytes, k2.bytes, 32);
    /* two keys differ */
    char path2[128];
    snprintf(path2, sizeof path2, "%s/key-6", tmpdir);
    assert_int_equal(tc_snapshot_key_generate(path2, 6, err, sizeof err), 0);
    assert_int_equal(tc_snapshot_key_load(path2, &k2, err, sizeof err), 0);
    assert_memory_not_equal(k.bytes, k2.bytes, 32);
    assert_int_equal(tc_snapshot_key_generate(path2, 0, err, sizeof err), TC_SNAPSHOT_EINVAL);

    /* permissions */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), 0);
    assert_int_equal(chmod(path, 0600), 0);

    /* damage: every byte flipped, truncated, extended, missing, a directory */
    uint8_t orig[48];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, orig, sizeof orig), 48);
    for (int i = 0; i < 48; i++) {
        uint8_t b = orig[i] ^ 0x10;
        assert_int_equal(pwrite(fd, &b, 1, i), 1);
        assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
        assert_int_equal(pwrite(fd, orig + i, 1, i), 1);
    }
    assert_int_equal(ftruncate(fd, 47), 0);
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(pwrite(fd, orig + 47, 1, 47), 1);
    assert_int_equal(pwrite(fd, "\n", 1, 48), 1);
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_int_equal(ftruncate(fd, 48), 0);
    close(fd);
    assert_int_equal(tc_snapshot_key_load(path, &k2, err, sizeof err), 0);
    assert_memory_equal(k.bytes, k2.bytes, 32);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope", tmpdir);
    assert_int_equal(tc_snapshot_key_load(missing, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(tc_snapshot_key_load(tmpdir, &k2, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    unlink(path);
    unlink(path2);
}

static void test_files(void **state)
{
    (void)state;
    char path[128], tmp[140], kpath[128], err[TC_SNAPSHOT_ERRLEN];
    snprintf(path, sizeof path, "%s/snap.tcs", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(kpath, sizeof kpath, "%s/key-9", tmpdir);
    assert_int_equal(tc_snapshot_key_generate(kpath, 9, err, sizeof err), 0);
    tc_snapshot_key key;
    assert_int_equal(tc_snapshot_key_load(kpath, &key, err, sizeof err), 0);

    tc_snapshot_writer *w;
    tc_snapshot_writer_opts o = {.key = &key, .compress = 1, .cluster = "c1"};
    /* an abandoned writer leaves nothing behind */
    assert_int_equal(tc_snapshot_create_file(&w, path, &o, err, sizeof err), 0);
    assert_int_equal(access(tmp, F_OK), 0);
    tc_snapshot_writer_free(w);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(tc_snapshot_create_file(&w, path, &o, err, sizeof err), 0);
    gen g = {0};
    for (uint64_t i = 0; i < 500; i++) {
        tc_snapshot_record r;
        gen_record(&g, i, NONE, &r);
        assert_int_equal(tc_snapshot_writer_add(w, &r), 0);
    }
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(tc_snapshot_writer_finish(w), 0);
    tc_snapshot_writer_free(w);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(path, F_OK), 0);

    tc_snapshot_keyset ks = {&key, 1};
    tc_snapshot_reader_opts ro = {NULL, tc_snapshot_keyset_lookup, &ks};
    tc_snapshot_info info;
    tc_snapshot_stats st;
    assert_int_equal(tc_snapshot_verify_file(path, &ro, &info, &st, err, sizeof err), 0);
    assert_int_equal(st.records, 500);
    assert_int_equal(info.key_id, 9);
    assert_string_equal(info.cluster, "c1");

    tc_snapshot_reader *r;
    assert_int_equal(tc_snapshot_open_file(&r, path, &ro, err, sizeof err), 0);
    tc_snapshot_record got, want;
    uint64_t n = 0;
    int rc;
    while ((rc = tc_snapshot_reader_next(r, &got)) == 1) {
        gen_record(&g, n++, NONE, &want);
        assert_true(rec_equal(&got, &want));
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 500);
    tc_snapshot_reader_free(r);

    /* the path names the file in messages */
    assert_int_equal(truncate(path, 1000), 0);
    assert_true(tc_snapshot_verify_file(path, &ro, NULL, NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, path));
    assert_int_equal(tc_snapshot_verify_file(tmp, &ro, NULL, NULL, err, sizeof err),
                     TC_SNAPSHOT_EIO);
    assert_non_null(strstr(err, "No such file"));
    unlink(path);
    unlink(kpath);
    free(g.val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_zero_records),
        cmocka_unit_test(test_compression_shrinks),
        cmocka_unit_test(test_bitflips_encrypted),
        cmocka_unit_test(test_bitflips_unencrypted),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_moved_blocks),
        cmocka_unit_test(test_keys_in_keyring),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_independent_encoder),
        cmocka_unit_test(test_writer_refuses_bad_input),
        cmocka_unit_test(test_write_errors_are_sticky),
        cmocka_unit_test(test_streaming_memory_bounded),
        cmocka_unit_test(test_reader_memory_bounded),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
