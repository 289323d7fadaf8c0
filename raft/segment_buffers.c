/* raft/segment_buffers.c: libraft's segment write buffers, reused.
 *
 * Why: libraft encodes the entries waiting for a log write into one buffer
 * per open segment, and while a write is in flight it grows that buffer by
 * allocating a larger one, zeroing all of it and copying the old one over;
 * a new segment starts from nothing again. During a 100 MB SET the primary
 * allocated 78 such buffers of 0.5 to 6.5 MiB, 214 MB in all (perf probe),
 * each fresh from the kernel: a page fault and a zeroed page per 4 KiB,
 * 120-170 MB of faults on the primary and 65-130 MB on each replica (perf
 * record -e page-faults), at 75 ms of CPU per 100 MB here against 5 ms for
 * memory that is already in place (README, "Big string values").
 *
 * How: libraft asks for aligned memory (raft_aligned_alloc) for these
 * buffers only (and once for a few bytes when it probes the disk), so the
 * heap installed here keeps the aligned blocks libraft frees, up to
 * TC_SEGBUF_CAP bytes in TC_SEGBUF_SLOTS blocks, the smallest given back
 * first, and serves an aligned request from the smallest kept block that is
 * large and aligned enough. Everything else goes to the C library as
 * before: the entries libraft copies live until the log is truncated, and
 * a pool they drew from would soon hold nothing. The pool is locked because
 * libraft's thread pool probes with it too; a forked child never calls
 * libraft. */
#include "segment_buffers.h"

#include <malloc.h>
#include <pthread.h>
#include <raft.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *ptr;
    size_t size;
} kept[TC_SEGBUF_SLOTS + 1];
static int n_kept;
static atomic_ullong kept_bytes, reused;

static void drop_slot(int i)
{
    memmove(&kept[i], &kept[i + 1], (size_t)(n_kept - i - 1) * sizeof kept[0]);
    n_kept--;
}

void *tc_segbuf_alloc(size_t alignment, size_t size)
{
    void *ptr = NULL;
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < n_kept; i++) {
        if (kept[i].size < size || (alignment && (uintptr_t)kept[i].ptr % alignment != 0)) continue;
        if (best < 0 || kept[i].size < kept[best].size) best = i;
    }
    if (best >= 0) {
        ptr = kept[best].ptr;
        atomic_fetch_sub_explicit(&kept_bytes, kept[best].size, memory_order_relaxed);
        drop_slot(best);
    }
    pthread_mutex_unlock(&lock);
    if (ptr) {
        atomic_fetch_add_explicit(&reused, 1, memory_order_relaxed);
        return ptr;
    }
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    /* aligned_alloc wants a size that is a multiple of the alignment */
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    return aligned_alloc(alignment, rounded ? rounded : alignment);
}

void tc_segbuf_free(void *ptr)
{
    if (!ptr) return;
    size_t size = malloc_usable_size(ptr);
    if (size > TC_SEGBUF_CAP / 2) {
        free(ptr);
        return;
    }
    void *evicted[TC_SEGBUF_SLOTS + 1];
    int n_evicted = 0;
    pthread_mutex_lock(&lock);
    kept[n_kept].ptr = ptr;
    kept[n_kept].size = size;
    n_kept++;
    size_t total = atomic_load_explicit(&kept_bytes, memory_order_relaxed) + size;
    /* the smallest make room: the big ones cost the most to fault in */
    while (n_kept > TC_SEGBUF_SLOTS || total > TC_SEGBUF_CAP) {
        int smallest = 0;
        for (int i = 1; i < n_kept; i++)
            if (kept[i].size < kept[smallest].size) smallest = i;
        evicted[n_evicted++] = kept[smallest].ptr;
        total -= kept[smallest].size;
        drop_slot(smallest);
    }
    atomic_store_explicit(&kept_bytes, total, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_evicted; i++) free(evicted[i]);
}

void tc_segbuf_trim(void)
{
    void *all[TC_SEGBUF_SLOTS];
    pthread_mutex_lock(&lock);
    int n = n_kept;
    for (int i = 0; i < n; i++) all[i] = kept[i].ptr;
    n_kept = 0;
    atomic_store_explicit(&kept_bytes, 0, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++) free(all[i]);
}

static void *heap_aligned_alloc(void *data, size_t alignment, size_t size)
{
    (void)data;
    return tc_segbuf_alloc(alignment, size);
}

static void heap_aligned_free(void *data, size_t alignment, void *ptr)
{
    (void)data;
    (void)alignment;
    tc_segbuf_free(ptr);
}

/* libraft's current heap with the two aligned calls replaced */
static struct raft_heap heap;

void tc_segbuf_install(void)
{
    if (raft_heap_get() == &heap) return;
    heap = *raft_heap_get();
    heap.aligned_alloc = heap_aligned_alloc;
    heap.aligned_free = heap_aligned_free;
    raft_heap_set(&heap);
}

unsigned long long tc_segbuf_reused(void) { return atomic_load_explicit(&reused, memory_order_relaxed); }

unsigned long long tc_segbuf_kept_bytes(void) { return atomic_load_explicit(&kept_bytes, memory_order_relaxed); }
