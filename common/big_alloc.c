/* common/big_alloc.c: huge-page advice for big buffers (common.h).
 *
 * Why: a 100 MB SET on three nodes allocated about 1.4 GB of fresh memory
 * across the nodes (the query, the log entry and its copy for libraft, the
 * pieces put back together on every node, the stored value), and the page
 * faults of those buffers took more CPU than anything else in the write
 * (perf record -e page-faults; README, "Big string values"). In 2 MiB
 * pages the kernel takes 512 times fewer faults for the same bytes.
 *
 * Only blocks with a mapping of their own are advised (TC_BIG_ALLOC_MIN),
 * never the allocator's heaps: a huge
 * page under small objects would keep memory resident that 4 KiB pages
 * give back, and a write after a snapshot's fork() would copy 2 MiB instead
 * of 4 KiB (Redis turns THP off for that reason). A big value is written
 * once and read whole, so neither applies to it. */
#include "common.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

static atomic_ullong advised;

int tc_big_alloc_advise(void *p, size_t n)
{
    if (!p || n < TC_BIG_ALLOC_MIN) return 0;
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (end <= start) return 0;
    if (madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) return -1;
    atomic_fetch_add_explicit(&advised, end - start, memory_order_relaxed);
    return 1;
}

unsigned long long tc_big_alloc_advised_bytes(void)
{
    return atomic_load_explicit(&advised, memory_order_relaxed);
}
