/* raft/aio_release.c: libraft's AIO contexts destroyed off the Raft thread.
 *
 * Why: libraft gives every open log segment its own Linux AIO context
 * (io_setup) and destroys it (io_destroy) on its loop thread when the
 * segment is full. io_destroy returns only after the kernel has retired the
 * context, which waits for an RCU grace period: 28-37 ms on this 2-vCPU VM
 * (strace -T, every node, every segment). For those milliseconds the Raft
 * thread sends nothing, answers nothing and appends nothing; a 100 MB SET
 * crosses twelve 8 MiB segments on each node, and steady small writes roll
 * a segment over every few seconds (README, "Big string values").
 *
 * How: libraft is linked from a copy of libraft.a in which its wrapper
 * UvOsIoDestroy is weak (CMakeLists.txt), so this definition replaces it.
 * libraft calls it only once nothing of its own is left in flight on the
 * context (its writer finishes or cancels every request first, and the
 * kernel's io_destroy would wait for any it still ran), and never uses the
 * context again, so destroying it a little later on another thread changes
 * nothing but who waits. */
#include "aio_release.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pending_ctx {
    aio_context_t ctx;
    struct pending_ctx *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct pending_ctx *head, *tail;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static int started; /* the release thread runs */
static atomic_ullong released, failures, pending;

static int destroy_now(aio_context_t ctx)
{
    long rv = syscall(__NR_io_destroy, ctx);
    if (rv != 0) {
        atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
        return -errno;
    }
    atomic_fetch_add_explicit(&released, 1, memory_order_relaxed);
    return 0;
}

static void *release_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head) pthread_cond_wait(&wake, &lock);
        struct pending_ctx *p = head;
        head = p->next;
        if (!head) tail = NULL;
        pthread_mutex_unlock(&lock);
        destroy_now(p->ctx);
        free(p);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_relaxed);
    }
    return NULL;
}

static void start_release_thread(void)
{
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* a small stack: it only makes a system call */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    started = pthread_create(&t, &attr, release_thread, NULL) == 0;
    pthread_attr_destroy(&attr);
}

int UvOsIoDestroy(aio_context_t ctx)
{
    pthread_once(&start_once, start_release_thread);
    struct pending_ctx *p = started ? malloc(sizeof *p) : NULL;
    if (!p) return destroy_now(ctx);
    p->ctx = ctx;
    p->next = NULL;
    atomic_fetch_add_explicit(&pending, 1, memory_order_relaxed);
    pthread_mutex_lock(&lock);
    if (tail) tail->next = p;
    else head = p;
    tail = p;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return 0;
}

unsigned long long tc_aio_released(void)
{
    return atomic_load_explicit(&released, memory_order_relaxed);
}

unsigned long long tc_aio_release_failures(void)
{
    return atomic_load_explicit(&failures, memory_order_relaxed);
}

unsigned long long tc_aio_release_pending(void)
{
    return atomic_load_explicit(&pending, memory_order_relaxed);
}
