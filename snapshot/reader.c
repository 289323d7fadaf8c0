/* The streaming reader: pulls one block at a time through the read
 * callback, authenticates it before looking at a byte of its contents, and
 * hands out records that point into the block (or, when a record spans
 * blocks, into a buffer grown only as its bytes actually arrive). */
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <openssl/crypto.h>

#include "snapshot_internal.h"

int tc__snap_reader_fail(tc_snapshot_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc__snap_verrf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->err_code = code;
    return code;
}

#define FAIL(code, ...) tc__snap_reader_fail(r, code, __VA_ARGS__)
#define ULL(x) ((unsigned long long)(x))

/* Reads until len bytes or the end of the stream; *got says how many. */
static int read_full(tc_snapshot_reader *r, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t n = 0;
        int rc = r->fn(r->ud, (uint8_t *)buf + *got, len - *got, &n);
        if (rc < 0)
            return FAIL(TC_SNAPSHOT_EIO, "%s: reading failed at byte offset %llu: %s", r->name,
                        ULL(r->st.file_bytes + *got), strerror(-rc));
        if (n > len - *got)
            return FAIL(TC_SNAPSHOT_EIO, "%s: the read callback returned more than asked for",
                        r->name);
        if (n == 0) break;
        *got += n;
    }
    r->st.file_bytes += *got;
    return 0;
}

static int read_header(tc_snapshot_reader *r)
{
    uint8_t hdr[TC__SNAP_HEADER_MAX];
    size_t got;
    int rc = read_full(r, hdr, TC__SNAP_MAGIC_LEN + 2, &got);
    if (rc) return rc;
    size_t m = got < TC__SNAP_MAGIC_LEN ? got : TC__SNAP_MAGIC_LEN;
    if (got == 0)
        return FAIL(TC_SNAPSHOT_EFORMAT, "%s: not a tricache snapshot (the file is empty)",
                    r->name);
    if (memcmp(hdr, TC__SNAP_MAGIC, m) != 0)
        return FAIL(TC_SNAPSHOT_EFORMAT, "%s: not a tricache snapshot (bad magic)", r->name);
    if (got < TC__SNAP_MAGIC_LEN + 2)
        return FAIL(TC_SNAPSHOT_ETRUNCATED, "%s: truncated inside the header (%zu bytes)",
                    r->name, got);
    /* The version alone first: a newer layout may be shorter than ours. */
    uint16_t version = tc__snap_get16(hdr + TC__SNAP_MAGIC_LEN);
    if (version > TC_SNAPSHOT_VERSION)
        return FAIL(TC_SNAPSHOT_EVERSION,
                    "%s: format version %u is newer than this tricache understands (%d); read it "
                    "with a newer tricache",
                    r->name, version, TC_SNAPSHOT_VERSION);
    rc = read_full(r, hdr + got, TC__SNAP_HEADER_FIXED - got, &got);
    if (rc) return rc;
    if (got < TC__SNAP_HEADER_FIXED - (TC__SNAP_MAGIC_LEN + 2))
        return FAIL(TC_SNAPSHOT_ETRUNCATED, "%s: truncated inside the header (%llu bytes)",
                    r->name, ULL(r->st.file_bytes));
    rc = tc__snap_header_decode_fixed(hdr, &r->hdr, r->name, r->err, sizeof r->err);
    if (rc) return r->err_code = rc;
    rc = read_full(r, hdr + TC__SNAP_HEADER_FIXED, r->hdr.cluster_len, &got);
    if (rc) return rc;
    if (got < r->hdr.cluster_len)
        return FAIL(TC_SNAPSHOT_ETRUNCATED, "%s: truncated inside the header (%llu bytes)",
                    r->name, ULL(r->st.file_bytes));
    rc = tc__snap_header_decode_cluster(hdr + TC__SNAP_HEADER_FIXED, &r->hdr, r->name, r->err,
                                        sizeof r->err);
    if (rc) return r->err_code = rc;

    uint8_t hash[TC__SNAP_HASH_LEN];
    if (tc__snap_sha256(hdr, TC__SNAP_HEADER_FIXED + (size_t)r->hdr.cluster_len, hash) != 0)
        return FAIL(TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", r->name);

    uint8_t file_key[TC_SNAPSHOT_KEY_LEN], check[TC__SNAP_CHECK_LEN];
    int encrypted = (r->hdr.flags & TC__SNAP_FLAG_ENCRYPTED) != 0;
    if (encrypted) {
        uint32_t id = r->hdr.key_id;
        const tc_snapshot_key *key = r->keyring ? r->keyring(r->keyring_ud, id) : NULL;
        if (!key)
            return FAIL(TC_SNAPSHOT_ENOKEY,
                        "%s: snapshot was encrypted with key id %u, which is not in the keyring "
                        "(add the key file for id %u; keep retired keys for as long as "
                        "snapshots made with them are kept)",
                        r->name, id, id);
        if (tc__snap_derive(key->bytes, r->hdr.salt, file_key, check) != 0)
            return FAIL(TC_SNAPSHOT_ECRYPTO, "%s: key derivation (HKDF) failed in OpenSSL",
                        r->name);
        if (!tc__snap_equal(check, r->hdr.key_check, sizeof check)) {
            OPENSSL_cleanse(file_key, sizeof file_key);
            return FAIL(TC_SNAPSHOT_EBADKEY,
                        "%s: the keyring's key with id %u is not the key this snapshot was "
                        "encrypted with (the key file for id %u was replaced or comes from "
                        "another cluster, or the header is damaged)",
                        r->name, id, id);
        }
    }
    rc = tc__snap_seal_init(&r->seal, encrypted ? file_key : NULL, hash, 1);
    OPENSSL_cleanse(file_key, sizeof file_key);
    if (rc) return FAIL(rc, "%s: setting up AES-256-GCM failed in OpenSSL", r->name);
    r->digest = EVP_MD_CTX_new();
    if (!r->digest || !EVP_DigestInit_ex2(r->digest, EVP_sha256(), NULL))
        return FAIL(TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", r->name);

    /* Sized from the header before it is authenticated, which is why the
     * block size is capped (TC_SNAPSHOT_MAX_BLOCK). */
    size_t bs = r->hdr.block_size;
    r->in = malloc(bs + TC__SNAP_TAG_LEN);
    if (r->hdr.flags & TC__SNAP_FLAG_COMPRESSED) r->raw = malloc(bs);
    if (!r->in || ((r->hdr.flags & TC__SNAP_FLAG_COMPRESSED) && !r->raw))
        return FAIL(TC_SNAPSHOT_ENOMEM, "%s: out of memory for block buffers", r->name);

    tc_snapshot_info *i = &r->info;
    i->version = r->hdr.version;
    i->encrypted = encrypted;
    i->compressed = (r->hdr.flags & TC__SNAP_FLAG_COMPRESSED) != 0;
    memcpy(i->cluster, r->hdr.cluster, sizeof i->cluster);
    i->raft_index = r->hdr.raft_index;
    i->raft_term = r->hdr.raft_term;
    i->created_ms = r->hdr.created_ms;
    i->key_id = r->hdr.key_id;
    i->block_size = r->hdr.block_size;
    return 0;
}

static int bad_frame(tc_snapshot_reader *r, uint64_t idx, uint64_t off, const char *why)
{
    return FAIL(TC_SNAPSHOT_ECORRUPT,
                "%s: block %llu at byte offset %llu has an invalid frame (%s; the file is "
                "corrupt)",
                r->name, ULL(idx), ULL(off), why);
}

/* Reads, authenticates and unpacks the next block into blk. */
static int load_block(tc_snapshot_reader *r)
{
    uint64_t idx = r->next_index, off = r->st.file_bytes;
    uint8_t fh[TC__SNAP_FRAME_LEN];
    size_t got;
    int rc = read_full(r, fh, sizeof fh, &got);
    if (rc) return rc;
    if (got == 0) {
        if (idx == 0)
            return FAIL(TC_SNAPSHOT_ETRUNCATED,
                        "%s: truncated after the header: no blocks and no trailer (the "
                        "snapshot is incomplete)",
                        r->name);
        return FAIL(TC_SNAPSHOT_ETRUNCATED,
                    "%s: truncated after block %llu: no trailer (the snapshot is incomplete)",
                    r->name, ULL(idx - 1));
    }
    if (got < sizeof fh)
        return FAIL(TC_SNAPSHOT_ETRUNCATED,
                    "%s: truncated inside block %llu at byte offset %llu (the snapshot is "
                    "incomplete)",
                    r->name, ULL(idx), ULL(off));

    /* Only sanity bounds before authentication: they keep every length
     * within the buffers; the tag then vouches for the values. */
    tc__snap_frame f;
    uint16_t reserved;
    tc__snap_frame_decode(fh, &f, &reserved);
    uint32_t bs = r->hdr.block_size;
    int lz4_ok = (r->hdr.flags & TC__SNAP_FLAG_COMPRESSED) != 0;
    if (f.type != TC__SNAP_BLOCK_DATA && f.type != TC__SNAP_BLOCK_TRAILER)
        return bad_frame(r, idx, off, "unknown block type");
    if (reserved != 0) return bad_frame(r, idx, off, "reserved bits set");
    if (f.raw_len > bs || f.stored_len > bs)
        return bad_frame(r, idx, off, "longer than the block size");
    if (f.encoding == TC__SNAP_ENC_STORED) {
        if (f.stored_len != f.raw_len) return bad_frame(r, idx, off, "length mismatch");
    } else if (f.encoding != TC__SNAP_ENC_LZ4 || !lz4_ok || f.type != TC__SNAP_BLOCK_DATA) {
        return bad_frame(r, idx, off, "unexpected encoding");
    } else if (f.stored_len == 0) {
        return bad_frame(r, idx, off, "empty compressed payload");
    }
    if (f.type == TC__SNAP_BLOCK_DATA && f.raw_len == 0)
        return bad_frame(r, idx, off, "empty data block");
    if (f.type == TC__SNAP_BLOCK_TRAILER && f.raw_len != TC__SNAP_TRAILER_LEN)
        return bad_frame(r, idx, off, "trailer of the wrong size");

    size_t need = (size_t)f.stored_len + TC__SNAP_TAG_LEN;
    rc = read_full(r, r->in, need, &got);
    if (rc) return rc;
    if (got < need)
        return FAIL(TC_SNAPSHOT_ETRUNCATED,
                    "%s: truncated inside block %llu at byte offset %llu (the snapshot is "
                    "incomplete)",
                    r->name, ULL(idx), ULL(off));
    rc = tc__snap_open_block(&r->seal, idx, fh, r->in, f.stored_len, r->in + f.stored_len);
    if (rc == TC_SNAPSHOT_ECORRUPT)
        return FAIL(rc,
                    r->seal.encrypted
                        ? "%s: block %llu at byte offset %llu failed authentication (the file "
                          "is corrupt or was modified, or blocks were moved between files)"
                        : "%s: block %llu at byte offset %llu failed its checksum (the file is "
                          "corrupt or was modified, or blocks were moved between files)",
                    r->name, ULL(idx), ULL(off));
    if (rc) return FAIL(rc, "%s: decrypting block %llu failed in OpenSSL", r->name, ULL(idx));

    r->cur_index = idx;
    r->next_index = idx + 1;
    r->block_offset = off;
    r->blk_pos = 0;
    if (f.type == TC__SNAP_BLOCK_TRAILER) {
        memcpy(r->trailer, r->in, TC__SNAP_TRAILER_LEN);
        r->at_trailer = 1;
        r->blk = NULL;
        r->blk_len = 0;
        return 0;
    }
    if (f.encoding == TC__SNAP_ENC_LZ4) {
        /* Authenticated, so only a broken writer gets here; still checked,
         * since the unencrypted checksum is no proof of a good writer. */
        int n = LZ4_decompress_safe((const char *)r->in, (char *)r->raw, (int)f.stored_len,
                                    (int)f.raw_len);
        if (n < 0 || (uint32_t)n != f.raw_len)
            return FAIL(TC_SNAPSHOT_ECORRUPT,
                        "%s: block %llu at byte offset %llu does not decompress to its stated "
                        "size (the writer produced a damaged block)",
                        r->name, ULL(idx), ULL(off));
        r->blk = r->raw;
    } else {
        r->blk = r->in;
    }
    r->blk_len = f.raw_len;
    if (!EVP_DigestUpdate(r->digest, r->blk, r->blk_len))
        return FAIL(TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", r->name);
    r->st.blocks++;
    r->st.raw_bytes += r->blk_len;
    return 0;
}

static int cut_off(tc_snapshot_reader *r)
{
    return FAIL(TC_SNAPSHOT_ECORRUPT,
                "%s: record %llu is cut off by the trailer in block %llu (the file is corrupt)",
                r->name, ULL(r->st.records), ULL(r->cur_index));
}

/* Makes the current block have unread bytes; a record in progress must not
 * meet the trailer. */
static int more(tc_snapshot_reader *r)
{
    while (r->blk_pos == r->blk_len) {
        if (r->at_trailer) return cut_off(r);
        int rc = load_block(r);
        if (rc) return rc;
        if (r->at_trailer) return cut_off(r);
    }
    return 0;
}

/* Grows rec to hold at least want bytes, in steps tied to the bytes already
 * received (never straight to a length field's claim). */
static int grow(tc_snapshot_reader *r, size_t want, size_t limit)
{
    if (r->rec_cap >= want) return 0;
    size_t cap = r->rec_cap ? r->rec_cap * 2 : 4096;
    if (cap < want) cap = want;
    if (cap > limit) cap = limit;
    uint8_t *p = realloc(r->rec, cap);
    if (!p)
        return FAIL(TC_SNAPSHOT_ENOMEM, "%s: out of memory for a %zu-byte record", r->name,
                    limit);
    r->rec = p;
    r->rec_cap = cap;
    return 0;
}

static int finish(tc_snapshot_reader *r)
{
    uint64_t count = tc__snap_get64(r->trailer);
    uint64_t raw = tc__snap_get64(r->trailer + 8);
    if (count != r->st.records)
        return FAIL(TC_SNAPSHOT_ECORRUPT,
                    "%s: the trailer counts %llu records but the file holds %llu (the file is "
                    "corrupt)",
                    r->name, ULL(count), ULL(r->st.records));
    if (raw != r->st.raw_bytes)
        return FAIL(TC_SNAPSHOT_ECORRUPT,
                    "%s: the trailer counts %llu bytes of records but the file holds %llu (the "
                    "file is corrupt)",
                    r->name, ULL(raw), ULL(r->st.raw_bytes));
    uint8_t digest[TC__SNAP_HASH_LEN];
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(r->digest, digest, &n))
        return FAIL(TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", r->name);
    if (!tc__snap_equal(digest, r->trailer + 16, sizeof digest))
        return FAIL(TC_SNAPSHOT_ECORRUPT,
                    "%s: the SHA-256 of the records does not match the trailer (the file is "
                    "corrupt)",
                    r->name);
    uint8_t extra;
    size_t got;
    uint64_t end = r->st.file_bytes;
    int rc = read_full(r, &extra, 1, &got);
    if (rc) return rc;
    if (got)
        return FAIL(TC_SNAPSHOT_EFORMAT,
                    "%s: unexpected data after the trailer at byte offset %llu (something was "
                    "appended to the snapshot)",
                    r->name, ULL(end));
    r->done = 1;
    return 0;
}

int tc_snapshot_reader_next(tc_snapshot_reader *r, tc_snapshot_record *rec)
{
    if (r->err_code) return r->err_code;
    if (r->done) return 0;
    while (r->blk_pos == r->blk_len && !r->at_trailer) {
        int rc = load_block(r);
        if (rc) return rc;
    }
    if (r->at_trailer) return finish(r);

    uint64_t first_block = r->cur_index;
    const uint8_t *head;
    if (r->blk_len - r->blk_pos >= TC__SNAP_RECORD_HEAD) {
        head = r->blk + r->blk_pos;
        r->blk_pos += TC__SNAP_RECORD_HEAD;
    } else {
        for (size_t have = 0; have < TC__SNAP_RECORD_HEAD;) {
            int rc = more(r);
            if (rc) return rc;
            size_t c = r->blk_len - r->blk_pos;
            if (c > TC__SNAP_RECORD_HEAD - have) c = TC__SNAP_RECORD_HEAD - have;
            memcpy(r->head + have, r->blk + r->blk_pos, c);
            r->blk_pos += c;
            have += c;
        }
        head = r->head;
    }
    rec->type = head[0];
    rec->expire_at_ms = (int64_t)tc__snap_get64(head + 1);
    rec->key_len = tc__snap_get32(head + 9);
    rec->value_len = tc__snap_get32(head + 13);
    if (!tc_snapshot_type_known(rec->type))
        return FAIL(TC_SNAPSHOT_EVERSION,
                    "%s: record %llu (block %llu) has type %u, which this tricache does not "
                    "know; restore it with a newer tricache",
                    r->name, ULL(r->st.records), ULL(first_block), rec->type);
    const char *why = NULL;
    if (rec->expire_at_ms < 0) why = "negative expiry time";
    else if (rec->key_len > TC_SNAPSHOT_MAX_KEY) why = "key longer than 512 MiB";
    else if (rec->value_len > TC_SNAPSHOT_MAX_VALUE) why = "value longer than 512 MiB";
    if (why)
        return FAIL(TC_SNAPSHOT_ECORRUPT, "%s: record %llu (block %llu) is invalid: %s", r->name,
                    ULL(r->st.records), ULL(first_block), why);

    size_t need = (size_t)rec->key_len + rec->value_len;
    if (r->blk_len - r->blk_pos >= need) {
        rec->key = r->blk + r->blk_pos;
        rec->value = r->blk + r->blk_pos + rec->key_len;
        r->blk_pos += need;
    } else {
        /* Give back a buffer left large by an earlier big record. */
        if (r->rec_cap > 2 * (size_t)r->hdr.block_size && need <= r->rec_cap / 4) {
            free(r->rec);
            r->rec = NULL;
            r->rec_cap = 0;
        }
        for (size_t have = 0; have < need;) {
            int rc = more(r);
            if (rc) return rc;
            size_t c = r->blk_len - r->blk_pos;
            if (c > need - have) c = need - have;
            rc = grow(r, have + c, need);
            if (rc) return rc;
            memcpy(r->rec + have, r->blk + r->blk_pos, c);
            r->blk_pos += c;
            have += c;
        }
        rec->key = r->rec;
        rec->value = r->rec + rec->key_len;
    }
    r->st.records++;
    return 1;
}

int tc_snapshot_reader_new(tc_snapshot_reader **out, const tc_snapshot_reader_opts *opts,
                           tc_snapshot_read_fn fn, void *ud, char *err, size_t errlen)
{
    *out = NULL;
    if (!fn) {
        tc__snap_errf(err, errlen, "snapshot reader: a read callback is required");
        return TC_SNAPSHOT_EINVAL;
    }
    tc_snapshot_reader *r = calloc(1, sizeof *r);
    if (!r) {
        tc__snap_errf(err, errlen, "snapshot reader: out of memory");
        return TC_SNAPSHOT_ENOMEM;
    }
    tc__snap_set_name(r->name, sizeof r->name, opts ? opts->name : NULL);
    r->fn = fn;
    r->ud = ud;
    if (opts) {
        r->keyring = opts->keyring;
        r->keyring_ud = opts->keyring_ud;
    }
    /* The first block is read here so that a successful open means the
     * header is authenticated (every block's tag covers its hash). */
    int rc = read_header(r);
    if (!rc) rc = load_block(r);
    if (rc) {
        tc__snap_errf(err, errlen, "%s", r->err);
        tc_snapshot_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

const tc_snapshot_info *tc_snapshot_reader_info(const tc_snapshot_reader *r)
{
    return &r->info;
}

const char *tc_snapshot_reader_error(const tc_snapshot_reader *r)
{
    return r->err[0] ? r->err : "no error";
}

void tc_snapshot_reader_stats(const tc_snapshot_reader *r, tc_snapshot_stats *st)
{
    *st = r->st;
    st->buffer_bytes = (r->in ? (size_t)r->hdr.block_size + TC__SNAP_TAG_LEN : 0) +
                       (r->raw ? (size_t)r->hdr.block_size : 0) + r->rec_cap;
}

void tc_snapshot_reader_free(tc_snapshot_reader *r)
{
    if (!r) return;
    if (r->on_free) r->on_free(r);
    tc__snap_seal_free(&r->seal);
    EVP_MD_CTX_free(r->digest);
    free(r->in);
    free(r->raw);
    free(r->rec);
    free(r);
}

int tc_snapshot_verify(tc_snapshot_read_fn fn, void *ud, const tc_snapshot_reader_opts *opts,
                       tc_snapshot_info *info, tc_snapshot_stats *st, char *err, size_t errlen)
{
    tc_snapshot_reader *r;
    int rc = tc_snapshot_reader_new(&r, opts, fn, ud, err, errlen);
    if (rc) return rc;
    tc_snapshot_record rec;
    /* which databases the records are in (TC_SNAPSHOT_IN_DB), for the
     * count verify reports; a bit per database, the last bit for the rest */
    uint8_t seen[1024 / 8] = {0};
    uint32_t databases = 0;
    uint64_t of_type[16] = {0};
    while ((rc = tc_snapshot_reader_next(r, &rec)) > 0) {
        unsigned type = rec.type & ~TC_SNAPSHOT_IN_DB;
        of_type[type < 16 ? type : 15]++;
        uint32_t db = 0;
        if ((rec.type & TC_SNAPSHOT_IN_DB) && rec.value_len >= 4) {
            const uint8_t *v = rec.value;
            db = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
            if (db > 1023) db = 1023;
        }
        if (!(seen[db / 8] & (1u << (db % 8)))) {
            seen[db / 8] |= (uint8_t)(1u << (db % 8));
            databases++;
        }
    }
    if (rc < 0) tc__snap_errf(err, errlen, "%s", r->err);
    if (info) *info = r->info;
    if (st) {
        tc_snapshot_reader_stats(r, st);
        memcpy(st->records_of_type, of_type, sizeof of_type);
        st->databases = databases;
    }
    tc_snapshot_reader_free(r);
    return rc;
}
