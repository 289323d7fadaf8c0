/* The fixed framing of a snapshot: header and block frame headers, plus the
 * error helpers every file of the module shares. See FORMAT.md. */
#include <stdio.h>
#include <string.h>

#include "snapshot_internal.h"

const char *tc_snapshot_strerror(int code)
{
    switch (code) {
    case TC_SNAPSHOT_OK: return "ok";
    case TC_SNAPSHOT_EINVAL: return "invalid argument";
    case TC_SNAPSHOT_ENOMEM: return "out of memory";
    case TC_SNAPSHOT_EIO: return "i/o error";
    case TC_SNAPSHOT_EFORMAT: return "not a valid snapshot";
    case TC_SNAPSHOT_EVERSION: return "unsupported format version";
    case TC_SNAPSHOT_ETRUNCATED: return "truncated";
    case TC_SNAPSHOT_ECORRUPT: return "corrupt";
    case TC_SNAPSHOT_ENOKEY: return "key not in keyring";
    case TC_SNAPSHOT_EBADKEY: return "wrong key";
    case TC_SNAPSHOT_ECRYPTO: return "crypto library failure";
    case TC_SNAPSHOT_EKEYFILE: return "bad key file";
    default: return "unknown error";
    }
}

void tc__snap_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (!err || errlen == 0) return;
    vsnprintf(err, errlen, fmt, ap);
}

void tc__snap_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tc__snap_verrf(err, errlen, fmt, ap);
    va_end(ap);
}

void tc__snap_set_name(char *dst, size_t dstlen, const char *name)
{
    if (!name || !*name) name = "snapshot";
    size_t n = strlen(name);
    if (n < dstlen) {
        memcpy(dst, name, n + 1);
        return;
    }
    /* "..." plus the last dstlen - 4 bytes */
    memcpy(dst, "...", 3);
    memcpy(dst + 3, name + n - (dstlen - 4), dstlen - 4);
    dst[dstlen - 1] = '\0';
}

size_t tc__snap_header_encode(const tc__snap_header *h, uint8_t *out)
{
    memcpy(out, TC__SNAP_MAGIC, TC__SNAP_MAGIC_LEN);
    tc__snap_put16(out + 16, h->version);
    tc__snap_put16(out + 18, h->flags);
    tc__snap_put32(out + 20, h->block_size);
    tc__snap_put64(out + 24, h->raft_index);
    tc__snap_put64(out + 32, h->raft_term);
    tc__snap_put64(out + 40, (uint64_t)h->created_ms);
    tc__snap_put32(out + 48, h->key_id);
    memcpy(out + 52, h->salt, TC__SNAP_SALT_LEN);
    memcpy(out + 68, h->key_check, TC__SNAP_CHECK_LEN);
    out[84] = h->cluster_len;
    memcpy(out + TC__SNAP_HEADER_FIXED, h->cluster, h->cluster_len);
    return TC__SNAP_HEADER_FIXED + (size_t)h->cluster_len;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

int tc__snap_header_decode_fixed(const uint8_t *in, tc__snap_header *h, const char *name,
                                 char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->version = tc__snap_get16(in + 16);
    /* The version is judged before anything else: a newer layout may give
     * every later field a different meaning. */
    if (h->version > TC_SNAPSHOT_VERSION) {
        tc__snap_errf(err, errlen,
                      "%s: format version %u is newer than this tricache understands (%d); "
                      "read it with a newer tricache",
                      name, h->version, TC_SNAPSHOT_VERSION);
        return TC_SNAPSHOT_EVERSION;
    }
    if (h->version == 0) {
        tc__snap_errf(err, errlen, "%s: format version 0 is not valid (the header is damaged)",
                      name);
        return TC_SNAPSHOT_EFORMAT;
    }
    h->flags = tc__snap_get16(in + 18);
    h->block_size = tc__snap_get32(in + 20);
    h->raft_index = tc__snap_get64(in + 24);
    h->raft_term = tc__snap_get64(in + 32);
    h->created_ms = (int64_t)tc__snap_get64(in + 40);
    h->key_id = tc__snap_get32(in + 48);
    memcpy(h->salt, in + 52, TC__SNAP_SALT_LEN);
    memcpy(h->key_check, in + 68, TC__SNAP_CHECK_LEN);
    h->cluster_len = in[84];

    if (h->flags & ~TC__SNAP_FLAGS_KNOWN) {
        tc__snap_errf(err, errlen,
                      "%s: header flags 0x%04x include features this tricache does not know "
                      "(the header is damaged, or a newer tricache wrote it)",
                      name, h->flags);
        return TC_SNAPSHOT_EFORMAT;
    }
    if (h->block_size < TC_SNAPSHOT_MIN_BLOCK || h->block_size > TC_SNAPSHOT_MAX_BLOCK) {
        tc__snap_errf(err, errlen,
                      "%s: block size %u is outside %u..%u bytes (the header is damaged)", name,
                      h->block_size, TC_SNAPSHOT_MIN_BLOCK, TC_SNAPSHOT_MAX_BLOCK);
        return TC_SNAPSHOT_EFORMAT;
    }
    if (h->flags & TC__SNAP_FLAG_ENCRYPTED) {
        if (h->key_id == 0) {
            tc__snap_errf(err, errlen,
                          "%s: the header says encrypted but names key id 0 (the header is "
                          "damaged)",
                          name);
            return TC_SNAPSHOT_EFORMAT;
        }
    } else if (h->key_id != 0 || !all_zero(h->key_check, TC__SNAP_CHECK_LEN)) {
        tc__snap_errf(err, errlen,
                      "%s: the header says not encrypted but carries key id %u (the header is "
                      "damaged)",
                      name, h->key_id);
        return TC_SNAPSHOT_EFORMAT;
    }
    if (h->created_ms < 0) {
        tc__snap_errf(err, errlen, "%s: negative creation time (the header is damaged)", name);
        return TC_SNAPSHOT_EFORMAT;
    }
    if (h->cluster_len > TC_SNAPSHOT_MAX_CLUSTER) {
        tc__snap_errf(err, errlen,
                      "%s: cluster name length %u exceeds %d bytes (the header is damaged)",
                      name, h->cluster_len, TC_SNAPSHOT_MAX_CLUSTER);
        return TC_SNAPSHOT_EFORMAT;
    }
    return 0;
}

int tc__snap_header_decode_cluster(const uint8_t *in, tc__snap_header *h, const char *name,
                                   char *err, size_t errlen)
{
    if (memchr(in, '\0', h->cluster_len)) {
        tc__snap_errf(err, errlen, "%s: the cluster name contains a NUL byte (the header is "
                      "damaged)", name);
        return TC_SNAPSHOT_EFORMAT;
    }
    memcpy(h->cluster, in, h->cluster_len);
    h->cluster[h->cluster_len] = '\0';
    return 0;
}

void tc__snap_frame_encode(const tc__snap_frame *f, uint8_t out[TC__SNAP_FRAME_LEN])
{
    out[0] = f->type;
    out[1] = f->encoding;
    tc__snap_put16(out + 2, 0);
    tc__snap_put32(out + 4, f->raw_len);
    tc__snap_put32(out + 8, f->stored_len);
}

void tc__snap_frame_decode(const uint8_t in[TC__SNAP_FRAME_LEN], tc__snap_frame *f,
                           uint16_t *reserved)
{
    f->type = in[0];
    f->encoding = in[1];
    *reserved = tc__snap_get16(in + 2);
    f->raw_len = tc__snap_get32(in + 4);
    f->stored_len = tc__snap_get32(in + 8);
}
