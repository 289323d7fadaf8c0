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
