/* The keyspace as a snapshot file (snapshot/FORMAT.md): Raft uses it to
 * compact its log and to catch up lagging nodes; backups use the same
 * files. The apply clock travels as the snapshot's creation time. */
#ifndef TC_KEYSPACE_IMAGE_H
#define TC_KEYSPACE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "server.h"
#include "snapshot.h"

typedef struct tc_image_opts {
    uint64_t raft_index, raft_term;
    const tc_snapshot_key *key; /* NULL: not encrypted */
} tc_image_opts;

/* One key as one snapshot record, and back: the functions the image's
 * writer and loader use, for anyone else who turns records into keys (a
 * restore). A key of database db > 0 is written with TC_SNAPSHOT_IN_DB
 * and the database in front of its value (snapshot/FORMAT.md §4). */
typedef struct tc_image_bufs {
    tc_buf value;  /* a typed value's serialization (strings need none) */
    tc_buf framed; /* database + value, for keys outside database 0 */
} tc_image_bufs;
void tc_image_bufs_free(tc_image_bufs *b);
/* Fills *rec for key k of database db; rec's bytes point into k and b
 * until the next call. 0, or -1 with err set. */
int tc_image_record_encode(const tc_key *k, int db, tc_image_bufs *b, tc_snapshot_record *rec, char *err,
                           size_t errlen);
/* Creates the key rec describes in its database, dbs[*db] (of ndbs):
 * the key, or NULL with err set (unknown type, a database this node does
 * not have, a malformed value, out of memory). */
tc_key *tc_image_record_decode(tc_keyspace *dbs, int ndbs, const tc_snapshot_record *rec, int *db, char *err,
                               size_t errlen);

/* Writes every key through fn (see tc_snapshot_write_fn); stats (may be
 * NULL) gets the writer's counts. 0, or -1 with err set. */
int tc_image_write(tc_server *s, const tc_apply_state *st, const tc_image_opts *o, tc_snapshot_write_fn fn, void *ud,
                   tc_snapshot_stats *stats, char *err, size_t errlen);

/* Writes every key (expired or not: replicas hold them until the primary's
 * delete) to fd, lz4-compressed, in constant memory: this runs in a forked
 * child. 0, or -1 with err set. */
int tc_image_write_fd(tc_server *s, const tc_apply_state *st, const tc_image_opts *o, int fd, char *err,
                      size_t errlen);

/* Replaces the keyspace with the snapshot in data[0..len) once all of it
 * has been read and verified; on error nothing changes. */
int tc_image_load(tc_server *s, tc_apply_state *st, const void *data, size_t len,
                  const tc_snapshot_reader_opts *ropts, char *err, size_t errlen);

#endif
