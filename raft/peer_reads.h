/* raft/peer_reads.h: libraft's reads of incoming peer messages, gathered
 * into one read() per batch of messages (see peer_reads.c). */
#ifndef TC_PEER_READS_H
#define TC_PEER_READS_H

#include <uv.h>

/* Stands in for uv_read_start in libraft's archive (CMakeLists.txt renames
 * the symbol libraft calls to this one): starts reading stream with alloc_cb
 * and read_cb as libuv would, but small reads go through a buffer of this
 * thread's, so that one read() takes whatever the socket holds. */
int tc__raft_uv_read_start(uv_stream_t *stream, uv_alloc_cb alloc_cb, uv_read_cb read_cb);

/* read() calls made on libraft's streams and the chunks handed to libraft
 * (preambles, headers, payloads, each whole or in parts): for INFO and
 * tests. Safe from any thread. */
unsigned long long tc_peer_reads_syscalls(void);
unsigned long long tc_peer_reads_chunks(void);

#endif
