/* Making room before a write, on the primary (node/evict.h says why the
 * primary alone decides): before it logs a write that may grow memory
 * (TC_CMD_DENYOOM, or an EXEC that writes) while used memory is over
 * maxmemory, it picks victims and logs them as `TCEVICT 0 key ...` in the
 * same entry, just before the write; every node deletes them when it
 * applies the entry.
 *
 * Between logging and applying, the keyspace does not show either the
 * victims' deletion or the writes' growth yet; the primary keeps both here
 * (bytes being freed, bytes being added, and the names of the victims in
 * flight, which must not be chosen twice), so that a burst of writes in
 * one loop pass evicts enough and not everything. */
#ifndef TC_ROOM_H
#define TC_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

typedef struct tc_room_name {
    struct tc_room_name *next;
    int db;
    size_t len;
    uint64_t cost;
    char name[];
} tc_room_name;

typedef struct tc_room {
    tc_room_name **buckets;  /* victims logged and not yet applied */
    size_t nbuckets, n;
    uint64_t evicting;       /* their bytes (tc_ks_key_cost when chosen) */
    uint64_t growing;        /* what logged writes not yet applied may add (an estimate) */
} tc_room;

/* What one batch holds of it, released when the batch is applied or fails. */
typedef struct tc_room_hold {
    tc_buf names;            /* victims: u32 database, u32 length, bytes; ... */
    uint64_t evicting, growing;
} tc_room_hold;

/* Before a write of write_bytes (its arguments): makes room for it too,
 * so that memory stays at the limit once it is applied. 0 when it may be logged,
 * with the victims to log first appended to *victims (u32 database, u32
 * length, bytes; each database's go into one TCEVICT) and recorded in hold; -1 when it
 * cannot be made to fit (noeviction, or no candidate left): refuse it with
 * TC_ERR_OOM. */
int tc_room_make(tc_room *rm, tc_server *s, size_t write_bytes, tc_room_hold *hold, tc_buf *victims,
                 size_t *nvictims);
/* The batch holding hold was applied or failed: its victims are no longer
 * in flight. */
void tc_room_release(tc_room *rm, tc_room_hold *hold);
/* Forgets everything (no longer primary). */
void tc_room_free(tc_room *rm);

#endif
