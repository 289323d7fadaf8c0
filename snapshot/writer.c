/* The streaming writer: records are copied into one block buffer; a full
 * block is compressed, sealed and handed to the write callback, so memory
 * stays at two block-sized buffers however large the snapshot is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lz4.h>
#include <openssl/crypto.h>

#include "snapshot_internal.h"

static int wfail(tc_snapshot_writer *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int wfail(tc_snapshot_writer *w, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc__snap_verrf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->err_code = code;
    return code;
}

static int emit(tc_snapshot_writer *w, const void *buf, size_t len)
{
    int rc = w->fn(w->ud, buf, len);
    if (rc < 0)
        return wfail(w, TC_SNAPSHOT_EIO, "%s: writing failed after %llu bytes: %s", w->name,
                     (unsigned long long)w->st.file_bytes, strerror(-rc));
    w->st.file_bytes += len;
    return 0;
}

/* Compresses (data blocks only, and only when that saves bytes), seals and
 * writes one block. */
static int seal_and_emit(tc_snapshot_writer *w, uint8_t type, const uint8_t *data, size_t len)
{
    tc__snap_frame f = {type, TC__SNAP_ENC_STORED, (uint32_t)len, (uint32_t)len};
    uint8_t *payload = w->out + TC__SNAP_FRAME_LEN;
    const uint8_t *src = data;
    if (w->compress && type == TC__SNAP_BLOCK_DATA && len > 1) {
        /* Capacity len - 1: lz4 gives up (returns 0) as soon as the result
         * would not be smaller, which is also the fast path for random or
         * already-compressed values. */
        int c = LZ4_compress_default((const char *)data, (char *)payload, (int)len, (int)len - 1);
        if (c > 0) {
            f.encoding = TC__SNAP_ENC_LZ4;
            f.stored_len = (uint32_t)c;
            src = payload;
        }
    }
    tc__snap_frame_encode(&f, w->out);
    if (tc__snap_seal_block(&w->seal, w->index, w->out, src, payload, f.stored_len,
                            payload + f.stored_len) != 0)
        return wfail(w, TC_SNAPSHOT_ECRYPTO, "%s: sealing block %llu failed in OpenSSL", w->name,
                     (unsigned long long)w->index);
    int rc = emit(w, w->out, TC__SNAP_FRAME_LEN + (size_t)f.stored_len + TC__SNAP_TAG_LEN);
    if (rc) return rc;
    w->index++;
    return 0;
}

static int flush_data(tc_snapshot_writer *w)
{
    if (w->raw_len == 0) return 0;
    if (!EVP_DigestUpdate(w->digest, w->raw, w->raw_len))
        return wfail(w, TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", w->name);
    int rc = seal_and_emit(w, TC__SNAP_BLOCK_DATA, w->raw, w->raw_len);
    if (rc) return rc;
    w->st.blocks++;
    w->raw_len = 0;
    return 0;
}

static int put(tc_snapshot_writer *w, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n > 0) {
        size_t room = w->block_size - w->raw_len;
        size_t c = n < room ? n : room;
        memcpy(w->raw + w->raw_len, s, c);
        w->raw_len += c;
        w->st.raw_bytes += c;
        s += c;
        n -= c;
        if (w->raw_len == w->block_size) {
            int rc = flush_data(w);
            if (rc) return rc;
        }
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(tc_snapshot_writer *w, const tc_snapshot_writer_opts *o)
{
    const char *cluster = o->cluster ? o->cluster : "";
    size_t clen = strlen(cluster);
    if (clen > TC_SNAPSHOT_MAX_CLUSTER)
        return wfail(w, TC_SNAPSHOT_EINVAL,
                     "%s: cluster name \"%.20s...\" is %zu bytes; the limit is %d", w->name,
                     cluster, clen, TC_SNAPSHOT_MAX_CLUSTER);
    uint32_t bs = o->block_size ? o->block_size : TC_SNAPSHOT_DEFAULT_BLOCK;
    if (bs < TC_SNAPSHOT_MIN_BLOCK || bs > TC_SNAPSHOT_MAX_BLOCK)
        return wfail(w, TC_SNAPSHOT_EINVAL, "%s: block size %u is outside %u..%u bytes", w->name,
                     bs, TC_SNAPSHOT_MIN_BLOCK, TC_SNAPSHOT_MAX_BLOCK);
    if (o->key && o->key->id == 0)
        return wfail(w, TC_SNAPSHOT_EINVAL,
                     "%s: key id 0 is reserved for unencrypted snapshots; use a key with an id "
                     "of 1 or more",
                     w->name);
    if (o->created_ms < 0)
        return wfail(w, TC_SNAPSHOT_EINVAL, "%s: negative creation time", w->name);

    tc__snap_header h;
    memset(&h, 0, sizeof h);
    h.version = TC_SNAPSHOT_VERSION;
    h.flags = (uint16_t)((o->key ? TC__SNAP_FLAG_ENCRYPTED : 0) |
                         (o->compress ? TC__SNAP_FLAG_COMPRESSED : 0));
    h.block_size = bs;
    h.raft_index = o->raft_index;
    h.raft_term = o->raft_term;
    h.created_ms = o->created_ms ? o->created_ms : now_ms();
    h.key_id = o->key ? o->key->id : 0;
    h.cluster_len = (uint8_t)clen;
    memcpy(h.cluster, cluster, clen);
    /* A fresh salt for every file, encrypted or not: it gives each file its
     * own block key, and makes every header hash unique, so blocks cannot
     * be moved between files even without a key. */
    int rc = tc__snap_random(h.salt, sizeof h.salt);
    if (rc)
        return wfail(w, TC_SNAPSHOT_EIO, "%s: getrandom failed: %s", w->name, strerror(-rc));

    uint8_t file_key[TC_SNAPSHOT_KEY_LEN];
    if (o->key && tc__snap_derive(o->key->bytes, h.salt, file_key, h.key_check) != 0)
        return wfail(w, TC_SNAPSHOT_ECRYPTO, "%s: key derivation (HKDF) failed in OpenSSL",
                     w->name);

    uint8_t hdr[TC__SNAP_HEADER_MAX], hash[TC__SNAP_HASH_LEN];
    size_t hlen = tc__snap_header_encode(&h, hdr);
    rc = tc__snap_sha256(hdr, hlen, hash);
    if (rc == 0) rc = tc__snap_seal_init(&w->seal, o->key ? file_key : NULL, hash, 0);
    OPENSSL_cleanse(file_key, sizeof file_key);
    if (rc) return wfail(w, rc, "%s: setting up AES-256-GCM failed in OpenSSL", w->name);

    w->digest = EVP_MD_CTX_new();
    if (!w->digest || !EVP_DigestInit_ex2(w->digest, EVP_sha256(), NULL))
        return wfail(w, TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", w->name);

    w->compress = o->compress != 0;
    w->block_size = bs;
    w->raw = malloc(bs);
    w->out = malloc(TC__SNAP_FRAME_LEN + (size_t)bs + TC__SNAP_TAG_LEN);
    if (!w->raw || !w->out)
        return wfail(w, TC_SNAPSHOT_ENOMEM, "%s: out of memory for %u-byte block buffers",
                     w->name, bs);
    return emit(w, hdr, hlen);
}

int tc_snapshot_writer_new(tc_snapshot_writer **out, const tc_snapshot_writer_opts *opts,
                           tc_snapshot_write_fn fn, void *ud, char *err, size_t errlen)
{
    *out = NULL;
    if (!opts || !fn) {
        tc__snap_errf(err, errlen, "snapshot writer: options and a write callback are required");
        return TC_SNAPSHOT_EINVAL;
    }
    tc_snapshot_writer *w = calloc(1, sizeof *w);
    if (!w) {
        tc__snap_errf(err, errlen, "snapshot writer: out of memory");
        return TC_SNAPSHOT_ENOMEM;
    }
    tc__snap_set_name(w->name, sizeof w->name, opts->name);
    w->fn = fn;
    w->ud = ud;
    int rc = setup(w, opts);
    if (rc) {
        tc__snap_errf(err, errlen, "%s", w->err);
        tc_snapshot_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int tc_snapshot_writer_add(tc_snapshot_writer *w, const tc_snapshot_record *rec)
{
    if (w->err_code) return w->err_code;
    /* A bad record is the caller's mistake and nothing has been written for
     * it yet, so it is reported without poisoning the writer. */
    const char *why = NULL;
    if (w->finished) why = "the snapshot is already finished";
    else if (!tc_snapshot_type_known(rec->type)) why = "unknown record type";
    else if (rec->key_len > TC_SNAPSHOT_MAX_KEY) why = "key longer than 512 MiB";
    else if (rec->value_len > TC_SNAPSHOT_MAX_VALUE) why = "value longer than 512 MiB";
    else if (rec->expire_at_ms < 0) why = "negative expiry time";
    else if ((rec->key_len && !rec->key) || (rec->value_len && !rec->value)) why = "NULL data";
    if (why) {
        tc__snap_errf(w->err, sizeof w->err, "%s: record %llu refused: %s", w->name,
                      (unsigned long long)w->st.records, why);
        return TC_SNAPSHOT_EINVAL;
    }
    uint8_t head[TC__SNAP_RECORD_HEAD];
    head[0] = rec->type;
    tc__snap_put64(head + 1, (uint64_t)rec->expire_at_ms);
    tc__snap_put32(head + 9, rec->key_len);
    tc__snap_put32(head + 13, rec->value_len);
    int rc = put(w, head, sizeof head);
    if (!rc) rc = put(w, rec->key, rec->key_len);
    if (!rc) rc = put(w, rec->value, rec->value_len);
    if (rc) return rc;
    w->st.records++;
    return 0;
}

int tc_snapshot_writer_finish(tc_snapshot_writer *w)
{
    if (w->err_code) return w->err_code;
    if (w->finished)
        return wfail(w, TC_SNAPSHOT_EINVAL, "%s: the snapshot is already finished", w->name);
    int rc = flush_data(w);
    if (rc) return rc;
    uint8_t trailer[TC__SNAP_TRAILER_LEN];
    unsigned int n = 0;
    tc__snap_put64(trailer, w->st.records);
    tc__snap_put64(trailer + 8, w->st.raw_bytes);
    if (!EVP_DigestFinal_ex(w->digest, trailer + 16, &n))
        return wfail(w, TC_SNAPSHOT_ECRYPTO, "%s: SHA-256 failed in OpenSSL", w->name);
    rc = seal_and_emit(w, TC__SNAP_BLOCK_TRAILER, trailer, sizeof trailer);
    if (rc) return rc;
    w->finished = 1;
    if (w->on_finish) return w->on_finish(w);
    return 0;
}

const char *tc_snapshot_writer_error(const tc_snapshot_writer *w)
{
    return w->err[0] ? w->err : "no error";
}

void tc_snapshot_writer_stats(const tc_snapshot_writer *w, tc_snapshot_stats *st)
{
    *st = w->st;
    st->buffer_bytes =
        w->raw ? (size_t)w->block_size * 2 + TC__SNAP_FRAME_LEN + TC__SNAP_TAG_LEN : 0;
}

void tc_snapshot_writer_free(tc_snapshot_writer *w)
{
    if (!w) return;
    if (w->on_free) w->on_free(w);
    tc__snap_seal_free(&w->seal);
    EVP_MD_CTX_free(w->digest);
    free(w->raw);
    free(w->out);
    free(w);
}
