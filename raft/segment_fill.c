/* raft/segment_fill.c: libraft's new log segments written full of zeros.
 *
 * Why: libraft reserves each open segment with posix_fallocate(), which on
 * ext4 and XFS leaves the blocks "unwritten". Every later O_DIRECT + DSYNC
 * append into them then has to convert extents and commit the filesystem's
 * journal before it completes — one journal shared by every writer of the
 * disk — and with RWF_NOWAIT the kernel refuses such a write outright, so
 * libraft retries it on its thread pool. Measured on a 2-vCPU VM with a
 * virtio disk and ext4 (README, "Disks"): a 4 KiB O_DIRECT|O_DSYNC write
 * 0.26 ms into fallocated blocks, 0.16 ms into blocks already written. Writing the segment's zeros once, when
 * libraft prepares it on its thread pool (ahead of need), makes every append
 * an overwrite that needs no metadata.
 *
 * How: libraft calls posix_fallocate() through the dynamic linker; a
 * definition in the executable comes first in symbol lookup, so this one is
 * called instead of glibc's (libraft is the only caller in tricache). It keeps
 * posix_fallocate's contract: the space is reserved (fallocate(2) first, so a
 * full disk fails early and cleanly with ENOSPC), bytes the file held stay as
 * they were (only the part past its old end is written, with zeros, which is
 * what that part reads as after fallocate too), and the return value is an
 * error number, errno untouched. The zeros reach the disk (fdatasync)
 * without staying in the page cache, which libraft's first O_DIRECT write
 * would otherwise have to flush.
 *
 * Except while big entries stream in: then the zeros only double the bytes
 * the disk takes (a 100 MB SET on three nodes of this machine wrote 640-670
 * MB to the disk, 300 MB without the zeros), and a big append spreads the
 * extent conversion it saves over a MiB or more. With each node's writes
 * throttled to 200 MB/s (a blkio cgroup, as a cloud disk would), that SET
 * took 0.98-1.30 s with the zeros and 0.59-0.69 s without. So a segment
 * prepared within TC_SEGMENT_FILL_STREAM_MS of a big append (the append
 * path reports every append's size) is only reserved, as libc would. The
 * segments prepared once small writes are back get their zeros again. */
#include "segment_fill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One write per MiB: a segment is 8 MiB by default. */
#define FILL_CHUNK (1 << 20)
/* O_DIRECT wants offsets, lengths and the buffer aligned to the device's
 * logical block: 4096 covers every block size Linux filesystems use. */
#define DIRECT_ALIGN 4096

static _Alignas(DIRECT_ALIGN) const char zeros[FILL_CHUNK];
static atomic_ullong segments_filled;
static atomic_ullong segments_skipped;
static atomic_ullong fill_failures;
/* CLOCK_MONOTONIC ms of the last big append; -1: none yet */
static atomic_llong big_append_ms = -1;

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tc_segment_fill_note_append(size_t bytes)
{
    if (bytes >= TC_SEGMENT_FILL_BIG_APPEND)
        atomic_store_explicit(&big_append_ms, monotonic_ms(), memory_order_relaxed);
}

int tc_segment_fill_streaming(int64_t now_ms)
{
    int64_t last = atomic_load_explicit(&big_append_ms, memory_order_relaxed);
    return last >= 0 && now_ms - last < TC_SEGMENT_FILL_STREAM_MS;
}

static int write_zeros(int fd, off_t offset, off_t len)
{
    while (len > 0) {
        size_t n = len < FILL_CHUNK ? (size_t)len : FILL_CHUNK;
        ssize_t w = pwrite(fd, zeros, n, offset);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO; /* a regular file never takes nothing: do not spin */
        offset += w;
        len -= w;
    }
    return 0;
}

/* The zeros go around the page cache when they can (a second descriptor of
 * the same file, opened with O_DIRECT): through it, each MiB was copied into
 * cache pages, written back and dropped again, which during a big value's
 * stream of new segments cost ~10 % of the machine's CPU (perf, README "Big
 * string values"). Filesystems without O_DIRECT, a /proc that is not there,
 * or unaligned ranges take the page cache way. Returns an error number. */
static int fill_zeros(int fd, off_t offset, off_t len)
{
    if (offset % DIRECT_ALIGN == 0 && len % DIRECT_ALIGN == 0) {
        char self[40];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        int direct = open(self, O_WRONLY | O_DIRECT | O_CLOEXEC);
        if (direct >= 0) {
            int rv = write_zeros(direct, offset, len);
            if (rv == 0 && fdatasync(direct) != 0) rv = errno;
            close(direct);
            if (rv != EINVAL) return rv; /* EINVAL: O_DIRECT refused after all */
        }
    }
    int rv = write_zeros(fd, offset, len);
    if (rv != 0) return rv;
    if (fdatasync(fd) != 0) return errno;
    /* Advice only: clean pages left behind cost O_DIRECT an invalidation. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    return 0;
}

/* libraft names an open segment "open-<counter>"; it also reserves other
 * files (a snapshot's, a small metadata file, its start-up probe), which it
 * then writes whole at once: zeros written ahead of them would only double
 * their cost (a 100 MB snapshot: 100 MB of zeros first). The name is read
 * back from /proc; without it nothing is written ahead. */
static int is_log_segment(int fd)
{
    char self[40], target[4096];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(self, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (strncmp(base, "open-", 5) != 0 || !base[5]) return 0;
    for (const char *c = base + 5; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

int posix_fallocate(int fd, off_t offset, off_t len)
{
    int saved = errno;
    struct stat st;
    int rv = 0, filled = 0, skipped = 0;
    if (offset < 0 || len <= 0) {
        rv = EINVAL;
    } else if (fstat(fd, &st) != 0) {
        rv = errno;
    } else {
        int reserved = fallocate(fd, 0, offset, len) == 0;
        if (!reserved && errno != EOPNOTSUPP) {
            rv = errno;
        } else {
            int segment = is_log_segment(fd);
            if (segment && reserved && tc_segment_fill_streaming(monotonic_ms())) {
                segment = 0; /* big entries streaming: reserved only */
                skipped = 1;
            }
            if (!reserved || segment) {
                /* a segment, or a filesystem without fallocate(2): the zeros
                 * are the reservation, as glibc's own fallback writes them */
                off_t from = offset > st.st_size ? offset : st.st_size;
                rv = from < offset + len ? fill_zeros(fd, from, offset + len - from) : 0;
                filled = segment;
            }
        }
    }
    if (rv != 0)
        atomic_fetch_add_explicit(&fill_failures, 1, memory_order_relaxed);
    else if (filled)
        atomic_fetch_add_explicit(&segments_filled, 1, memory_order_relaxed);
    else if (skipped)
        atomic_fetch_add_explicit(&segments_skipped, 1, memory_order_relaxed);
    errno = saved;
    return rv;
}

unsigned long long tc_segment_fill_count(void)
{
    return atomic_load_explicit(&segments_filled, memory_order_relaxed);
}

unsigned long long tc_segment_fill_failures(void)
{
    return atomic_load_explicit(&fill_failures, memory_order_relaxed);
}

unsigned long long tc_segment_fill_skipped(void)
{
    return atomic_load_explicit(&segments_skipped, memory_order_relaxed);
}
