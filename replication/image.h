/* A plain image of the keyspace for Raft snapshots (log compaction and
 * catching up a lagging node). The encrypted, compressed snapshot format of
 * snapshot/ replaces it behind the same two calls.
 *
 * Layout: "TCIMG001" | i64 apply clock | u64 count | count x
 *   (u8 type | i64 expire_at | u32 klen | key | u32 vlen | value), little-endian. */
#ifndef TC_IMAGE_H
#define TC_IMAGE_H

#include <stddef.h>

#include "apply.h"
#include "buf.h"
#include "server.h"

/* Serializes every key (expired or not: replicas hold them until the
 * primary's delete) and the apply clock. 0 or -1 (out of memory). */
int tc_image_write(tc_server *s, const tc_apply_state *st, tc_buf *out);
/* The same image written to a file descriptor through a small buffer: used
 * by a forked child, where memory must not grow with the keyspace. 0 or -1. */
int tc_image_write_fd(tc_server *s, const tc_apply_state *st, int fd);

/* Replaces the keyspace with the image after checking all of it; on error
 * nothing changes. */
int tc_image_load(tc_server *s, tc_apply_state *st, const void *data, size_t len, char *err, size_t errlen);

#endif
