/* raft/segment_buffers.h: libraft's segment write buffers come from a small
 * pool of kept blocks instead of fresh memory (see segment_buffers.c). */
#ifndef TC_SEGMENT_BUFFERS_H
#define TC_SEGMENT_BUFFERS_H

#include <stddef.h>

/* At most this many bytes are kept, in at most TC_SEGBUF_SLOTS blocks. */
#define TC_SEGBUF_CAP ((size_t)32 << 20)
#define TC_SEGBUF_SLOTS 16

/* libraft's aligned allocations (only its segment write buffers, and a
 * few bytes once when it probes the disk) through the pool; everything
 * else stays with the C library. Call before raft_uv_init. */
void tc_segbuf_install(void);

/* The pool's own calls, for tests (libraft reaches them through
 * raft_aligned_alloc/raft_aligned_free once installed). */
void *tc_segbuf_alloc(size_t alignment, size_t size);
void tc_segbuf_free(void *ptr);

/* Frees every kept block (tests). */
void tc_segbuf_trim(void);

/* Allocations served from a kept block, and the bytes kept now; for INFO
 * and tests. Safe from any thread. */
unsigned long long tc_segbuf_reused(void);
unsigned long long tc_segbuf_kept_bytes(void);

#endif
