/* Internals shared by the files of snapshot/; nothing outside this folder
 * includes it. Names are tc__snap_* (double underscore: not API).
 * The constants mirror snapshot/FORMAT.md; change both together. */
#ifndef TC_SNAPSHOT_INTERNAL_H
#define TC_SNAPSHOT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "snapshot.h"

/* ------------------------------------------------------------- layout */

#define TC__SNAP_MAGIC "TRICACHE-SNAP\r\n\x1a"
#define TC__SNAP_MAGIC_LEN 16
#define TC__SNAP_HEADER_FIXED 85   /* header bytes before the cluster name */
#define TC__SNAP_HEADER_MAX (TC__SNAP_HEADER_FIXED + TC_SNAPSHOT_MAX_CLUSTER)
#define TC__SNAP_SALT_LEN 16
#define TC__SNAP_CHECK_LEN 16
#define TC__SNAP_HASH_LEN 32

#define TC__SNAP_FLAG_ENCRYPTED 0x1u
#define TC__SNAP_FLAG_COMPRESSED 0x2u
#define TC__SNAP_FLAGS_KNOWN 0x3u

#define TC__SNAP_FRAME_LEN 12      /* type, encoding, reserved, raw_len, stored_len */
#define TC__SNAP_TAG_LEN 16
#define TC__SNAP_AD_LEN (TC__SNAP_HASH_LEN + 8 + TC__SNAP_FRAME_LEN)
#define TC__SNAP_BLOCK_DATA 0
#define TC__SNAP_BLOCK_TRAILER 1
#define TC__SNAP_ENC_STORED 0
#define TC__SNAP_ENC_LZ4 1

#define TC__SNAP_RECORD_HEAD 17    /* type u8, expire_at i64, key_len u32, value_len u32 */
#define TC__SNAP_TRAILER_LEN (8 + 8 + TC__SNAP_HASH_LEN)

#define TC__SNAP_HKDF_INFO "tricache snapshot v1"

/* ------------------------------------------------------------- little-endian */

static inline void tc__snap_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void tc__snap_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tc__snap_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t tc__snap_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t tc__snap_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t tc__snap_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------- header (format.c) */

typedef struct tc__snap_header {
    uint16_t version;
    uint16_t flags;
    uint32_t block_size;
    uint64_t raft_index;
    uint64_t raft_term;
    int64_t created_ms;
    uint32_t key_id;
    uint8_t salt[TC__SNAP_SALT_LEN];
    uint8_t key_check[TC__SNAP_CHECK_LEN];
    uint8_t cluster_len;
    char cluster[TC_SNAPSHOT_MAX_CLUSTER + 1];
} tc__snap_header;

/* Encodes h into out (TC__SNAP_HEADER_MAX bytes); returns the length. */
size_t tc__snap_header_encode(const tc__snap_header *h, uint8_t *out);
/* Checks the fixed part (TC__SNAP_HEADER_FIXED bytes, magic already
 * matched) and decodes it; the cluster name follows separately. */
int tc__snap_header_decode_fixed(const uint8_t *in, tc__snap_header *h, const char *name,
                                 char *err, size_t errlen);
int tc__snap_header_decode_cluster(const uint8_t *in, tc__snap_header *h, const char *name,
                                   char *err, size_t errlen);

typedef struct tc__snap_frame {
    uint8_t type;
    uint8_t encoding;
    uint32_t raw_len;
    uint32_t stored_len;
} tc__snap_frame;

void tc__snap_frame_encode(const tc__snap_frame *f, uint8_t out[TC__SNAP_FRAME_LEN]);
void tc__snap_frame_decode(const uint8_t in[TC__SNAP_FRAME_LEN], tc__snap_frame *f,
                           uint16_t *reserved);

/* printf into err (if non-NULL), always NUL-terminated. */
void tc__snap_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tc__snap_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Copies a display name, keeping its tail when it is too long (the end of
 * a path says more than its start). */
void tc__snap_set_name(char *dst, size_t dstlen, const char *name);

/* ------------------------------------------------------------- crypto (crypto.c) */

/* Seals and opens blocks of one file: AES-256-GCM under the file key, or a
 * truncated SHA-256 when the file is not encrypted. Both cover the same
 * associated data (header hash, block index, frame header). */
typedef struct tc__snap_seal {
    int encrypted;
    uint8_t header_hash[TC__SNAP_HASH_LEN];
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
    EVP_MD *sha256;
    EVP_MD_CTX *md;
} tc__snap_seal;

/* file_key NULL = not encrypted. decrypt selects the direction. */
int tc__snap_seal_init(tc__snap_seal *s, const uint8_t *file_key,
                       const uint8_t header_hash[TC__SNAP_HASH_LEN], int decrypt);
void tc__snap_seal_free(tc__snap_seal *s);
/* in -> out (may be the same buffer), len bytes; writes the tag. */
int tc__snap_seal_block(tc__snap_seal *s, uint64_t index, const uint8_t frame[TC__SNAP_FRAME_LEN],
                        const uint8_t *in, uint8_t *out, size_t len,
                        uint8_t tag[TC__SNAP_TAG_LEN]);
/* Verifies and decrypts in place. 0, TC_SNAPSHOT_ECORRUPT (tag mismatch) or
 * TC_SNAPSHOT_ECRYPTO. The buffer holds garbage after a mismatch. */
int tc__snap_open_block(tc__snap_seal *s, uint64_t index, const uint8_t frame[TC__SNAP_FRAME_LEN],
                        uint8_t *buf, size_t len, const uint8_t tag[TC__SNAP_TAG_LEN]);

/* HKDF-SHA256(key, salt, TC__SNAP_HKDF_INFO) -> 32-byte block key and
 * 16-byte key check. */
/* HKDF-SHA256 of key with salt and info into out[0..outlen). */
int tc__snap_hkdf(const uint8_t key[TC_SNAPSHOT_KEY_LEN], const uint8_t salt[TC__SNAP_SALT_LEN], const char *info,
                  uint8_t *out, size_t outlen);
int tc__snap_derive(const uint8_t key[TC_SNAPSHOT_KEY_LEN], const uint8_t salt[TC__SNAP_SALT_LEN],
                    uint8_t file_key[TC_SNAPSHOT_KEY_LEN], uint8_t check[TC__SNAP_CHECK_LEN]);
int tc__snap_sha256(const void *data, size_t len, uint8_t out[TC__SNAP_HASH_LEN]);
/* Constant-time comparison (for tags and checks). */
int tc__snap_equal(const void *a, const void *b, size_t len);
/* getrandom(2) until len bytes; 0 or -errno. */
int tc__snap_random(void *buf, size_t len);

/* ------------------------------------------------------------- writer/reader */

struct tc_snapshot_writer {
    char name[128];
    tc_snapshot_write_fn fn;
    void *ud;
    tc__snap_seal seal;
    EVP_MD_CTX *digest;       /* SHA-256 of every raw record byte, for the trailer */
    int compress;
    uint32_t block_size;
    uint8_t *raw;             /* block_size: records being gathered */
    size_t raw_len;
    uint8_t *out;             /* frame + block_size + tag: one sealed block */
    uint64_t index;           /* next block's index */
    tc_snapshot_stats st;
    int finished;
    int err_code;
    char err[TC_SNAPSHOT_ERRLEN];

    /* Set by file.c for tc_snapshot_create_file: run after the trailer is
     * written, and on free. */
    int (*on_finish)(tc_snapshot_writer *w);
    void (*on_free)(tc_snapshot_writer *w);
    void *owner;
};

struct tc_snapshot_reader {
    char name[128];
    tc_snapshot_read_fn fn;
    void *ud;
    tc_snapshot_keyring_fn keyring;
    void *keyring_ud;
    tc_snapshot_info info;
    tc__snap_header hdr;
    tc__snap_seal seal;
    EVP_MD_CTX *digest;
    uint8_t *in;              /* stored payload + tag of the current block */
    uint8_t *raw;             /* decompressed block */
    const uint8_t *blk;       /* current block's raw bytes (in or raw) */
    size_t blk_len, blk_pos;
    uint64_t cur_index;       /* index of the block in blk */
    uint64_t next_index;      /* blocks loaded so far */
    uint64_t block_offset;    /* file offset of the block in blk, for messages */
    int at_trailer;           /* blk holds the trailer */
    uint8_t trailer[TC__SNAP_TRAILER_LEN];
    /* A record whose bytes span blocks is gathered here. */
    uint8_t head[TC__SNAP_RECORD_HEAD];
    uint8_t *rec;
    size_t rec_cap;
    tc_snapshot_stats st;
    int done;
    int err_code;
    char err[TC_SNAPSHOT_ERRLEN];

    void (*on_free)(tc_snapshot_reader *r);
    void *owner;
};

/* Sets a reader's sticky error; returns code. */
int tc__snap_reader_fail(tc_snapshot_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
