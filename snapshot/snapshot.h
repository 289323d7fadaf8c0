/* Snapshots: a point-in-time image of the keyspace as a stream of records,
 * cut into blocks that are lz4-compressed and sealed with AES-256-GCM (or
 * checksummed when no key is configured). snapshot/FORMAT.md is the byte-level
 * specification; this header is the API.
 *
 * Both directions stream through callbacks and use memory bounded by the
 * block size (plus, when reading, the largest record that spans blocks), so
 * a snapshot of any size can be written while the node keeps serving and
 * restored without first loading the file.
 *
 * Errors: every function that can fail returns 0 (or a positive "more"
 * value where documented) or a negative TC_SNAPSHOT_E* code, and leaves a
 * sentence for the operator in the object (tc_snapshot_writer_error,
 * tc_snapshot_reader_error) or in the caller's err buffer. The first error
 * of a writer or reader is sticky: later calls return it again. */
#ifndef TC_SNAPSHOT_H
#define TC_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- limits */

#define TC_SNAPSHOT_VERSION 1
#define TC_SNAPSHOT_KEY_LEN 32
#define TC_SNAPSHOT_MAX_CLUSTER 63                       /* bytes of the cluster name */
#define TC_SNAPSHOT_MAX_KEY (512u * 1024 * 1024)          /* same as the longest string */
#define TC_SNAPSHOT_MAX_VALUE (512u * 1024 * 1024)
#define TC_SNAPSHOT_DEFAULT_BLOCK (256u * 1024)
/* Small blocks only make sense in tests (they let a few KiB span blocks);
 * the upper bound caps what a reader allocates for one block before it has
 * authenticated anything. */
#define TC_SNAPSHOT_MIN_BLOCK 64u
#define TC_SNAPSHOT_MAX_BLOCK (4u * 1024 * 1024)
/* Big enough for any message this module writes (paths are shortened). */
#define TC_SNAPSHOT_ERRLEN 512

/* Record types: the keyspace's type numbers (node/types/types.h; a new
 * type adds its number here when its record layout is in FORMAT.md §4).
 * Readers refuse types they do not know rather than skip them: restoring a
 * keyspace with keys silently missing is worse than refusing to restore. */
enum tc_snapshot_type {
    TC_SNAPSHOT_STRING = 0,
    TC_SNAPSHOT_LIST = 1,
    TC_SNAPSHOT_SET = 2,
    TC_SNAPSHOT_ZSET = 3,
    TC_SNAPSHOT_HASH = 4,
    TC_SNAPSHOT_STREAM = 6,
    /* Not a key: a cluster-wide setting set through CONFIG SET (maxmemory,
     * ...; key = the parameter's name, value = its value), after the keys
     * (FORMAT.md §4). 127: the 0x80 bit is TC_SNAPSHOT_IN_DB. */
    TC_SNAPSHOT_SETTING = 127,
    /* Not a key: a user (ACL SETUSER), key = its name, value = the rules
     * that rebuild it, each as u32 length + bytes (FORMAT.md §4). */
    TC_SNAPSHOT_ACL_USER = 126,
    /* Not a key: a cached Lua script (SCRIPT LOAD, EVAL), key = its SHA1
     * (40 hex digits), value = its body (FORMAT.md §4). */
    TC_SNAPSHOT_SCRIPT = 125,
    /* Not a key: a function library (FUNCTION LOAD), key = its name,
     * value = its whole code (FORMAT.md §4). */
    TC_SNAPSHOT_FUNCTION = 124
};
/* Flag on a record's type byte: the value starts with a u32 (little-endian)
 * database number, then the type's own value bytes (FORMAT.md §4). Records
 * of database 0 never carry it, so an image of database 0 alone is what it
 * always was. */
#define TC_SNAPSHOT_IN_DB 0x80u
static inline int tc_snapshot_type_known(unsigned t)
{
    t &= ~TC_SNAPSHOT_IN_DB;
    return t == TC_SNAPSHOT_STRING || t == TC_SNAPSHOT_LIST || t == TC_SNAPSHOT_SET || t == TC_SNAPSHOT_ZSET ||
           t == TC_SNAPSHOT_HASH || t == TC_SNAPSHOT_STREAM || t == TC_SNAPSHOT_SETTING || t == TC_SNAPSHOT_ACL_USER ||
           t == TC_SNAPSHOT_SCRIPT || t == TC_SNAPSHOT_FUNCTION;
}

enum {
    TC_SNAPSHOT_OK = 0,
    TC_SNAPSHOT_EINVAL = -1,     /* bad argument from the caller (too long a key, ...) */
    TC_SNAPSHOT_ENOMEM = -2,
    TC_SNAPSHOT_EIO = -3,        /* a read/write callback or a file operation failed */
    TC_SNAPSHOT_EFORMAT = -4,    /* not a snapshot, or a malformed field */
    TC_SNAPSHOT_EVERSION = -5,   /* written by a newer tricache */
    TC_SNAPSHOT_ETRUNCATED = -6, /* the stream ended early */
    TC_SNAPSHOT_ECORRUPT = -7,   /* a block failed authentication/checksum, or contents disagree */
    TC_SNAPSHOT_ENOKEY = -8,     /* encrypted with a key id the keyring does not have */
    TC_SNAPSHOT_EBADKEY = -9,    /* the keyring's key for that id is not the one used */
    TC_SNAPSHOT_ECRYPTO = -10,   /* OpenSSL failed (not the data's fault) */
    TC_SNAPSHOT_EKEYFILE = -11,  /* a key file is missing, damaged or unsafe */
};

/* A short name for a code ("corrupt", "truncated", ...). */
const char *tc_snapshot_strerror(int code);

/* ------------------------------------------------------------- keys */

/* A 256-bit key and the id that names it in snapshot headers and key files.
 * Id 0 is reserved for "not encrypted". */
typedef struct tc_snapshot_key {
    uint32_t id;
    uint8_t bytes[TC_SNAPSHOT_KEY_LEN];
} tc_snapshot_key;

/* Creates a key file (mode 0600) holding id and 32 bytes from getrandom(2).
 * Refuses to replace an existing file: old snapshots need the old key. */
int tc_snapshot_key_generate(const char *path, uint32_t id, char *err, size_t errlen);

/* Loads a key file. Refuses a damaged file (magic, length or checksum) and a
 * file that group or others may access, like ssh does with private keys. */
int tc_snapshot_key_load(const char *path, tc_snapshot_key *key, char *err, size_t errlen);

/* Keyring lookup: returns the key with that id, or NULL. Keys must stay
 * valid while the reader that asked uses them (until it is freed). */
typedef const tc_snapshot_key *(*tc_snapshot_keyring_fn)(void *ud, uint32_t key_id);

/* A ready-made keyring over an array: pass tc_snapshot_keyset_lookup with a
 * tc_snapshot_keyset as ud. */
typedef struct tc_snapshot_keyset {
    const tc_snapshot_key *keys;
    size_t n;
} tc_snapshot_keyset;
const tc_snapshot_key *tc_snapshot_keyset_lookup(void *keyset, uint32_t key_id);

/* A key folder (cluster.toml keys_dir): files named key-<id>.tckey, one
 * key each, whose id must match the name. The newest key (highest id)
 * encrypts new data; every key decrypts. */
#define TC_SNAPSHOT_MAX_KEYS 64
typedef struct tc_snapshot_keydir {
    tc_snapshot_key keys[TC_SNAPSHOT_MAX_KEYS];
    size_t n;                       /* sorted by id, ascending */
} tc_snapshot_keydir;

/* Loads every key-*.tckey of dir (other files are ignored). A damaged or
 * unsafe key file, or a name that disagrees with its id, fails the whole
 * load: a node must not run with half its keys. An empty folder loads 0
 * keys. */
int tc_snapshot_keydir_load(tc_snapshot_keydir *kd, const char *dir, char *err, size_t errlen);
/* The key that encrypts new data (highest id), or NULL when empty. */
const tc_snapshot_key *tc_snapshot_keydir_newest(const tc_snapshot_keydir *kd);
/* A tc_snapshot_keyring_fn over a tc_snapshot_keydir. */
const tc_snapshot_key *tc_snapshot_keydir_lookup(void *keydir, uint32_t key_id);
/* Creates key-<newest id + 1>.tckey in dir (the folder is created, 0700,
 * when missing) and loads it into kd; *id gets its id. */
int tc_snapshot_keydir_generate(tc_snapshot_keydir *kd, const char *dir, uint32_t *id, char *err, size_t errlen);
/* Wipes the key bytes from memory. */
void tc_snapshot_keydir_clear(tc_snapshot_keydir *kd);

/* ------------------------------------------------------------- sealed payloads */

/* Small messages sealed one by one (Raft log entry payloads with
 * at_rest_encryption). Layout, all little-endian:
 *   u8 0xE1 | u8 version 1 | u16 0 | u32 key id | u32 plaintext length |
 *   16-byte salt | u64 counter | ciphertext | 16-byte GCM tag | zero padding
 * The first 36 bytes are the associated data. Each sealer derives its own
 * AES-256 key from the cluster key and a random salt (HKDF-SHA256, info
 * "tricache log v1") and numbers its messages, so nonces never repeat and
 * no key is used for more than one process's messages. The first byte
 * tells a sealed payload from a plain log entry (whose version byte is 1
 * or 2). */
#define TC_SNAPSHOT_SEALED_MAGIC 0xE1
#define TC_SNAPSHOT_SEALED_HEAD 36
#define TC_SNAPSHOT_SEALED_OVERHEAD (TC_SNAPSHOT_SEALED_HEAD + 16)
#define TC_SNAPSHOT_SEALED_MAX ((size_t)UINT32_MAX - TC_SNAPSHOT_SEALED_OVERHEAD)

typedef struct tc_snapshot_sealer tc_snapshot_sealer;
int tc_snapshot_sealer_new(tc_snapshot_sealer **out, const tc_snapshot_key *key, char *err, size_t errlen);
/* Seals in[0..len) into out, which must hold len + TC_SNAPSHOT_SEALED_OVERHEAD
 * bytes; that is the sealed length (before any padding the caller adds). */
int tc_snapshot_seal(tc_snapshot_sealer *s, const void *in, size_t len, void *out);
void tc_snapshot_sealer_free(tc_snapshot_sealer *s);

/* 1 if data starts like a sealed payload. */
int tc_snapshot_is_sealed(const void *data, size_t len);

typedef struct tc_snapshot_opener tc_snapshot_opener;
int tc_snapshot_opener_new(tc_snapshot_opener **out, tc_snapshot_keyring_fn keyring, void *keyring_ud);
/* Authenticates and decrypts; *plain points into the opener's buffer until
 * the next call. Trailing zero padding after the tag is accepted. Errors:
 * ENOKEY (key id not in the keyring), ECORRUPT (fails authentication or
 * malformed), with a message in err. */
int tc_snapshot_open_sealed(tc_snapshot_opener *o, const void *data, size_t len, const void **plain,
                            size_t *plain_len, char *err, size_t errlen);
void tc_snapshot_opener_free(tc_snapshot_opener *o);

/* ------------------------------------------------------------- records */

typedef struct tc_snapshot_record {
    uint8_t type;          /* enum tc_snapshot_type */
    int64_t expire_at_ms;  /* unix ms, 0 = no expiry */
    const void *key;
    uint32_t key_len;
    const void *value;
    uint32_t value_len;
} tc_snapshot_record;

/* What the header says (valid once a reader is open, i.e. authenticated). */
typedef struct tc_snapshot_info {
    uint16_t version;
    int encrypted;
    int compressed;
    char cluster[TC_SNAPSHOT_MAX_CLUSTER + 1];
    uint64_t raft_index;
    uint64_t raft_term;
    int64_t created_ms;
    uint32_t key_id;       /* 0 when not encrypted */
    uint32_t block_size;
} tc_snapshot_info;

typedef struct tc_snapshot_stats {
    uint64_t records;
    uint64_t raw_bytes;    /* record bytes before compression */
    uint64_t file_bytes;   /* bytes written or read, header and trailer included */
    uint64_t blocks;       /* data blocks, trailer not counted */
    size_t buffer_bytes;   /* heap held for buffers right now */
    /* tc_snapshot_verify only: records per type number (those of 16 and up
     * in the last slot); the type numbers are node/types/'s */
    uint64_t records_of_type[16];
    uint32_t databases;    /* tc_snapshot_verify: how many databases its records are in (database 0 counts
                              once it holds one; numbers from 1024 on count as one) */
} tc_snapshot_stats;

/* ------------------------------------------------------------- writing */

/* Must consume all len bytes; returns 0 or a negative errno value. */
typedef int (*tc_snapshot_write_fn)(void *ud, const void *buf, size_t len);

typedef struct tc_snapshot_writer_opts {
    const char *name;            /* for messages, e.g. the file name; NULL = "snapshot" */
    const char *cluster;         /* NULL = "" */
    uint64_t raft_index;
    uint64_t raft_term;
    int64_t created_ms;          /* 0 = now */
    const tc_snapshot_key *key;  /* NULL = not encrypted (checksums only) */
    int compress;                /* lz4 each block (kept raw when it does not shrink) */
    uint32_t block_size;         /* raw bytes per block; 0 = TC_SNAPSHOT_DEFAULT_BLOCK */
} tc_snapshot_writer_opts;

typedef struct tc_snapshot_writer tc_snapshot_writer;

/* Creates a writer and writes the header through fn. On failure *out is
 * NULL and err says why. */
int tc_snapshot_writer_new(tc_snapshot_writer **out, const tc_snapshot_writer_opts *opts,
                           tc_snapshot_write_fn fn, void *ud, char *err, size_t errlen);
/* Appends one record. The bytes are copied; the caller's buffers may be
 * reused as soon as this returns. */
int tc_snapshot_writer_add(tc_snapshot_writer *w, const tc_snapshot_record *rec);
/* Writes the last data block and the trailer. Without it the output is an
 * incomplete snapshot that every reader refuses. For a writer from
 * tc_snapshot_create_file it also makes the file durable under its name. */
int tc_snapshot_writer_finish(tc_snapshot_writer *w);
const char *tc_snapshot_writer_error(const tc_snapshot_writer *w);
void tc_snapshot_writer_stats(const tc_snapshot_writer *w, tc_snapshot_stats *st);
/* Frees; an unfinished file writer removes its temporary file. */
void tc_snapshot_writer_free(tc_snapshot_writer *w);

/* A writer into path: the bytes go to "<path>.tmp", and finish fsyncs it,
 * renames it to path and fsyncs the directory, so path is either the old
 * file or the complete new one. */
int tc_snapshot_create_file(tc_snapshot_writer **out, const char *path,
                            const tc_snapshot_writer_opts *opts, char *err, size_t errlen);

/* ------------------------------------------------------------- reading */

/* Reads up to len bytes into buf and sets *got; *got == 0 means end of the
 * stream. Returns 0 or a negative errno value. */
typedef int (*tc_snapshot_read_fn)(void *ud, void *buf, size_t len, size_t *got);

typedef struct tc_snapshot_reader_opts {
    const char *name;              /* for messages; NULL = "snapshot" */
    tc_snapshot_keyring_fn keyring;/* may be NULL when no snapshot is encrypted */
    void *keyring_ud;
} tc_snapshot_reader_opts;

typedef struct tc_snapshot_reader tc_snapshot_reader;

/* Reads the header, finds the key and authenticates the first block, so the
 * header in tc_snapshot_reader_info can be trusted once this returns 0. */
int tc_snapshot_reader_new(tc_snapshot_reader **out, const tc_snapshot_reader_opts *opts,
                           tc_snapshot_read_fn fn, void *ud, char *err, size_t errlen);
const tc_snapshot_info *tc_snapshot_reader_info(const tc_snapshot_reader *r);
/* 1 and the next record in *rec (its key and value stay valid until the
 * next call or free); 0 at the end, after the trailer has been checked and
 * nothing follows it; or a negative error. Records read before an error came
 * from authenticated blocks, but the snapshot as a whole is only good when
 * this returned 0: restore into a staging area and commit at 0. */
int tc_snapshot_reader_next(tc_snapshot_reader *r, tc_snapshot_record *rec);
const char *tc_snapshot_reader_error(const tc_snapshot_reader *r);
void tc_snapshot_reader_stats(const tc_snapshot_reader *r, tc_snapshot_stats *st);
void tc_snapshot_reader_free(tc_snapshot_reader *r);

int tc_snapshot_open_file(tc_snapshot_reader **out, const char *path,
                          const tc_snapshot_reader_opts *opts, char *err, size_t errlen);

/* Reads a whole snapshot without keeping records: every block
 * authenticated, every record well-formed, the trailer's count and digest
 * matched. info and st may be NULL. */
int tc_snapshot_verify(tc_snapshot_read_fn fn, void *ud, const tc_snapshot_reader_opts *opts,
                       tc_snapshot_info *info, tc_snapshot_stats *st, char *err, size_t errlen);
int tc_snapshot_verify_file(const char *path, const tc_snapshot_reader_opts *opts,
                            tc_snapshot_info *info, tc_snapshot_stats *st, char *err,
                            size_t errlen);

#endif
