/* common/big_keep.c: freed big buffers kept a few seconds for the next big
 * value (common.h).
 *
 * Why: a 100 MB SET needs buffers of the value's size on every node (the
 * query, the log entry, the pieces put back together, the stored value),
 * and glibc gives each of them a mapping of its own that goes back to the
 * kernel when freed. This VM hands memory its kernel has kept free for a
 * couple of seconds back to the host (free page reporting), and touching it
 * again waits for the host: in 100 MB SETs 2.5 s apart, the slow ones spent
 * ~1.6 CPU-seconds across the nodes zeroing fresh huge pages (perf, the
 * stored value's copy, the log entry, the query read) and took 1.1-2.1 s,
 * the others 0.4 s (README, "Big string values"). Redis's allocator keeps
 * freed memory for seconds; so does this, for big blocks only.
 *
 * How: tc_big_free keeps a block of TC_BIG_ALLOC_MIN bytes or more (up to
 * TC_BIG_KEEP_SLOTS blocks and the limit set by big_buffer_keep, the oldest
 * going first), and tc_big_take hands out the smallest kept block that
 * holds a request without wasting more than a quarter of it. The server's
 * cron frees blocks kept longer than TC_BIG_KEEP_MS. A kept block's whole
 * 2 MiB pages are not inherited by a forked child (MADV_DONTFORK): reusing
 * it while a snapshot child runs would otherwise copy every page it writes.
 * Those pages hold no other allocation's bytes, and the advice is undone
 * before the block is used again or freed. A child never uses the kept
 * blocks (tc_fork_keep tells it): it has no pages for them. */
#include "common.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *ptr;
    size_t size;
    uint64_t since_ms;
} kept[TC_BIG_KEEP_SLOTS + 1];
static int n_kept;
static size_t kept_total;
static atomic_size_t limit;
static int in_child;
static atomic_ullong reused, kept_now;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* MADV_DONTFORK or MADV_DOFORK on the whole 2 MiB pages inside the block
 * (huge pages are not split; the few pages at its ends are not worth it). */
static void fork_advice(void *p, size_t n, int advice)
{
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (end > start) madvise((void *)start, end - start, advice);
}

/* Locked: takes slot i out. */
static void drop_slot(int i)
{
    kept_total -= kept[i].size;
    memmove(&kept[i], &kept[i + 1], (size_t)(n_kept - i - 1) * sizeof kept[0]);
    n_kept--;
}

/* Frees blocks that were taken out of the pool (unlocked). */
static void release(void *const *ptrs, const size_t *sizes, int n)
{
    for (int i = 0; i < n; i++) {
        fork_advice(ptrs[i], sizes[i], MADV_DOFORK);
        free(ptrs[i]);
    }
}

void tc_big_keep_limit(size_t bytes)
{
    atomic_store_explicit(&limit, bytes, memory_order_relaxed);
    if (bytes == 0) tc_big_trim(0);
}

void *tc_big_take(size_t n, size_t *got)
{
    if (n < TC_BIG_ALLOC_MIN || in_child) return NULL;
    void *p = NULL;
    size_t size = 0;
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < n_kept; i++) {
        if (kept[i].size < n || kept[i].size - n > n / 4) continue;
        if (best < 0 || kept[i].size < kept[best].size) best = i;
    }
    if (best >= 0) {
        p = kept[best].ptr;
        size = kept[best].size;
        drop_slot(best);
        atomic_store_explicit(&kept_now, kept_total, memory_order_relaxed);
    }
    pthread_mutex_unlock(&lock);
    if (!p) return NULL;
    fork_advice(p, size, MADV_DOFORK);
    atomic_fetch_add_explicit(&reused, 1, memory_order_relaxed);
    if (got) *got = size;
    return p;
}

void *tc_big_malloc(size_t n)
{
    void *p = tc_big_take(n, NULL);
    if (p) return p;
    p = malloc(n);
    tc_big_alloc_advise(p, n);
    return p;
}

void tc_big_free(void *p)
{
    if (!p) return;
    size_t size = malloc_usable_size(p);
    size_t max = atomic_load_explicit(&limit, memory_order_relaxed);
    if (size < TC_BIG_ALLOC_MIN || size > max || in_child) {
        free(p);
        return;
    }
    fork_advice(p, size, MADV_DONTFORK);
    void *out[TC_BIG_KEEP_SLOTS + 1];
    size_t out_size[TC_BIG_KEEP_SLOTS + 1];
    int n_out = 0;
    pthread_mutex_lock(&lock);
    kept[n_kept].ptr = p;
    kept[n_kept].size = size;
    kept[n_kept].since_ms = mono_ms();
    n_kept++;
    kept_total += size;
    /* the oldest make room: the newest are the likeliest to be asked for */
    while (n_kept > TC_BIG_KEEP_SLOTS || kept_total > max) {
        out[n_out] = kept[0].ptr;
        out_size[n_out++] = kept[0].size;
        drop_slot(0);
    }
    atomic_store_explicit(&kept_now, kept_total, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    release(out, out_size, n_out);
}

void tc_big_trim(unsigned max_age_ms)
{
    if (in_child) return;
    void *out[TC_BIG_KEEP_SLOTS + 1];
    size_t out_size[TC_BIG_KEEP_SLOTS + 1];
    int n_out = 0;
    uint64_t now = mono_ms();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_kept;) {
        if (now - kept[i].since_ms >= max_age_ms) {
            out[n_out] = kept[i].ptr;
            out_size[n_out++] = kept[i].size;
            drop_slot(i);
        } else
            i++;
    }
    atomic_store_explicit(&kept_now, kept_total, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    release(out, out_size, n_out);
}

void tc_big_forked_child(void) { in_child = 1; }

unsigned long long tc_big_reused(void) { return atomic_load_explicit(&reused, memory_order_relaxed); }

unsigned long long tc_big_kept_bytes(void) { return atomic_load_explicit(&kept_now, memory_order_relaxed); }
