/* Value types. A key (keyspace.h) carries a 4-bit type and a 4-bit
 * encoding; whatever depends on what its value is goes through that type's
 * row of operations: freeing, memory, DEBUG DIGEST, the keyspace image
 * (Raft snapshots, backups), copying, and the names TYPE and OBJECT ENCODING
 * answer. The keyspace itself only knows whether the value's bytes are
 * inline after the name (encodings 0..7) or behind a pointer (8..15).
 *
 * Adding a type:
 *   1. node/types/<type>.c: its const tc_type_ops, every operation filled
 *      (free_value too, since such a value lives behind a pointer);
 *   2. its row in the registry (node/types/types.c) under its number below;
 *   3. its commands in the command table (node/commands.c);
 *   4. its record layout in snapshot/FORMAT.md §4 (type byte = its number,
 *      value bytes = a u8 layout version, then its serialization), and its
 *      number in snapshot.h's tc_snapshot_type, which snapshot readers check
 *      so that an older tricache refuses such a file instead of dropping keys.
 */
#ifndef TC_TYPES_H
#define TC_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "keyspace.h"

/* Type numbers (4 bits): a key's type, and the type byte of its keyspace
 * image record. Redis's OBJ_* numbering. */
enum tc_type {
    TC_TYPE_STRING = 0,
    TC_TYPE_LIST = 1,
    TC_TYPE_SET = 2,
    TC_TYPE_ZSET = 3,
    TC_TYPE_HASH = 4,
    TC_TYPE_STREAM = 6,
    TC_TYPE_MAX = 15,
};

/* Encodings (4 bits). 0..7 keep the value's bytes inline after the key's
 * name, 8..15 (TC_ENC_FIRST_POINTER on) a pointer to the value. */
enum tc_encoding {
    /* Strings: their bytes inline ("raw inline"). The three store the same
     * thing; they differ only in the answer to OBJECT ENCODING, which in
     * Redis depends on how the value was made. */
    TC_ENC_INLINE = 0,        /* as SET makes it (tryObjectEncoding): "int" for an integer of at
                                 most 20 characters that fits a long long, "embstr" up to 44
                                 bytes, "raw" beyond; also what an image or a restore loads */
    TC_ENC_INLINE_RAW = 1,    /* changed in place (APPEND, SETRANGE): "raw" */
    TC_ENC_INLINE_EMBSTR = 2, /* made without the integer check (INCRBYFLOAT, DEBUG POPULATE):
                                 "embstr" up to 44 bytes, "raw" beyond */
    /* 3..7 free; 8..15 for the pointer encodings of future types */
};

/* Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
#define TC_EMBSTR_SIZE_LIMIT 44

typedef void (*tc_digest_feed_fn)(void *ud, const void *p, size_t len);

typedef struct tc_type_ops {
    unsigned type;    /* enum tc_type */
    const char *name; /* what TYPE answers; SCAN ... TYPE name matches it */

    /* What OBJECT ENCODING answers for k. */
    const char *(*encoding_name)(const tc_key *k);
    /* What OBJECT REFCOUNT answers for k (NULL: 1). */
    long long (*refcount)(const tc_key *k);
    /* Bytes of k's allocation after its name (the inline bytes, or the
     * pointer) plus whatever the value allocated elsewhere. */
    size_t (*memory)(const tc_key *k);
    /* Frees what a pointer encoding points at (the keyspace frees the key
     * itself). NULL for a type that is only ever inline. */
    void (*free_value)(tc_key *k);
    /* Feeds k's value into its DEBUG DIGEST hash, which the keyspace frames
     * with the name and type before and the deadline after. */
    void (*digest)(const tc_key *k, tc_digest_feed_fn feed, void *ud);
    /* The value bytes of k's keyspace image record: *p and *len point into
     * k itself or at bytes the type appended to scratch (which the caller
     * empties and frees). 0, or -1 when out of memory. */
    int (*image_encode)(const tc_key *k, tc_buf *scratch, const char **p, size_t *len);
    /* Creates (or replaces) key in ks from a record's value bytes. The new
     * key, or NULL with err set: "out of memory", or why the bytes are not a
     * value of this type. */
    tc_key *(*image_decode)(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen);
    /* Creates (or replaces) key in ks holding a copy of src's value, same
     * encoding, deadline expire_at; src may belong to another keyspace. The
     * new key, or NULL when out of memory (nothing changed). NULL: copies go
     * through the image form (tc_key_copy). */
    tc_key *(*copy)(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at);
} tc_type_ops;

/* A copy of src's value as key in ks (COPY, restore staging): the type's
 * copy, else through its image form — src is read completely before the
 * destination is created, so src may be the key being replaced. NULL when
 * out of memory (nothing changed). */
tc_key *tc_key_copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at);

/* The registry: the operations of type number t, or NULL when tricache has
 * no such type. */
const tc_type_ops *tc_type_ops_of(unsigned t);
static inline const tc_type_ops *tc_key_type(const tc_key *k) { return tc_type_ops_of(k->type); }

/* A record's type byte with this bit set: its value starts with the key's
 * database, 4 bytes little-endian (snapshot/FORMAT.md; database 0's records
 * never carry it). */
#define TC_RECORD_IN_DB 0x80u

/* One keyspace image record made a key of dbs[its database] (ndbs of them;
 * *db gets the number): its type byte, name, value bytes (the database
 * number, then the value as that type's image_encode wrote it), and
 * deadline. The one decoder of records, shared by the image loader
 * (replication/keyspace_image.c) and TCRESTORE LOADTYPED (node/cmd_restore.c),
 * so a record means the same wherever it comes from. The key, or NULL with
 * err set: an unknown type, a database this node does not have, "out of
 * memory", or why the bytes are not such a value. */
tc_key *tc_type_record_decode(tc_keyspace *dbs, int ndbs, unsigned type, const char *key, size_t klen, const char *v,
                              size_t vlen, int64_t expire_at, int *db, char *err, size_t errlen);
/* TYPE's answer: the type's name, "none" for NULL. */
const char *tc_key_type_name(const tc_key *k);

/* The types (one file each in node/types/). */
extern const tc_type_ops tc_string_type;
extern const tc_type_ops tc_list_type; /* list.c */
extern const tc_type_ops tc_zset_type; /* zset.h */
extern const tc_type_ops tc_set_type;  /* set.c */
extern const tc_type_ops tc_hash_type; /* hash.c */
extern const tc_type_ops tc_stream_type; /* stream.c */

#endif
