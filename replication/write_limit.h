/* The primary's door for big writes (replicated_write_max_bytes).
 *
 * One Raft log entry of tens of megabytes keeps a replica busy receiving it
 * and writing it to disk longer than the election timeout, and the cluster
 * elects instead of committing it (measured: README "Big values"). So on a
 * cluster of several nodes a write whose logged arguments are larger than
 * the setting is refused before anything is logged or changed, with
 * "-ERR value too large to replicate: N bytes, limit M"; and the router
 * never lets its batching of many clients' writes grow an entry past it (it
 * starts a new entry instead). A single node replicates nothing: no limit.
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

/* The bytes of the arguments argv[0..argc) (every one, the name included). */
uint64_t tc_write_limit_bytes(size_t argc, const tc_slice *argv);

/* The limit this node enforces as primary; 0 when none applies (one node). */
uint64_t tc_write_limit_of(const tc_config *cfg);

/* 1 (and the error in rep) if a write logging `bytes` argument bytes must
 * be refused; 0 if it may go. */
int tc_write_limit_refuse(const tc_config *cfg, uint64_t bytes, tc_reply *rep);

/* 1 if an open entry of entry_len bytes that already holds commands must go
 * to the log before a write of `bytes` joins it, so that batching never
 * builds an entry larger than one write may be. */
int tc_write_limit_cut(const tc_config *cfg, size_t entry_len, uint64_t bytes);

#endif
