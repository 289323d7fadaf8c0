/* The primary's door for big writes (replicated_write_max_bytes).
 *
 * A write larger than 1 MiB travels through the Raft log as pieces
 * (raft/log_pieces.h), which is slower per byte and holds the writes behind
 * it until its last piece: so the router's batching of many clients' writes
 * starts a new entry before one would grow past TC_WRITE_BATCH_MAX_BYTES
 * (only a single big write becomes a run of pieces). And on a cluster of
 * several nodes a write whose logged arguments are larger than the setting
 * is refused before anything is logged or changed, with "-ERR value too
 * large to replicate: N bytes, limit M". A single node replicates nothing:
 * no limit.
 *
 * N counts argument bytes only (a SET k v is 3 + |k| + |v|): what a client
 * can predict. The entry carries a few bytes of lengths on top. */
#ifndef TC_WRITE_LIMIT_H
#define TC_WRITE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "config.h"
#include "reply.h"

/* Entries built from several writes stay within this (a log piece's size). */
#define TC_WRITE_BATCH_MAX_BYTES ((uint64_t)1 << 20)

/* The bytes of the arguments argv[0..argc) (every one, the name included). */
uint64_t tc_write_limit_bytes(size_t argc, const tc_slice *argv);

/* The limit this node enforces as primary; 0 when none applies (one node). */
uint64_t tc_write_limit_of(const tc_config *cfg);

/* 1 (and the error in rep) if a write logging `bytes` argument bytes must
 * be refused; 0 if it may go. */
int tc_write_limit_refuse(const tc_config *cfg, uint64_t bytes, tc_reply *rep);

/* 1 if an open entry of entry_len bytes that already holds commands must go
 * to the log before a write of `bytes` joins it, so that batching never
 * builds an entry larger than TC_WRITE_BATCH_MAX_BYTES or the limit. */
int tc_write_limit_cut(const tc_config *cfg, size_t entry_len, uint64_t bytes);

#endif
