/* Whether this node can write its Raft log (issue 17). libraft 0.22.1
 * retries a failed segment write or preallocation by itself and tells
 * nobody: the log just stops growing. So the node watches its data
 * directory itself, once a second: free space (under 1 MB counts as full)
 * and a small probe file written (a full, read-only or failing
 * filesystem); and it records what libraft does report (raft_apply
 * failures, snapshot images that cannot be written). A failing disk is
 * logged at warning with the path and the OS error, counted in INFO, shown
 * by tricachectl status, refuses new writes with -MISCONF, answers writes
 * stuck in the log within a bound, and clears by itself when a check
 * passes again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "raft_internal.h"

/* Below this much free space the log's next write is about to fail.
 * libraft preallocates its 8 MB segments ahead of use (so less than a
 * segment free is normal on a small disk); when it needs a new one and the
 * room is not there, its writes stop - the probe then fails too. */
#define LOW_SPACE_BYTES (1u * 1024 * 1024)
/* libraft's open segments (raft_uv's default size): it creates the next
 * one when the current fills, and retries every few seconds, silently,
 * while there is no room for it */
#define SEGMENT_BYTES (8u * 1024 * 1024)
/* Log writes outstanding with none finishing this long: the log is not
 * being written (a slow fsync takes hundreds of ms, not seconds). */
#define STUCK_MS 3000
#define CHECK_EVERY_MS 1000
/* at most one warning per this long while the same failure lasts */
#define WARN_EVERY_MS 10000

void tc__raft_disk_error(tc_raftnode *n, const char *what, const char *path, const char *oserr)
{
    struct tc_disk_health *d = &n->disk;
    int64_t now = tc_now_ms();
    d->errors++;
    d->errors_total++;
    if (!d->failing) d->failing_since_ms = now;
    d->failing = 1;
    snprintf(d->last_error, sizeof d->last_error, "%.120s", oserr);
    if (now - d->last_warn_ms >= WARN_EVERY_MS || d->last_warn_ms == 0) {
        d->last_warn_ms = now;
        tc_warn("cannot write the Raft log: %s %s: %s (%llu errors so far; new writes are refused with -MISCONF)",
                what, path, oserr, (unsigned long long)d->errors);
    }
}

static void disk_ok(tc_raftnode *n)
{
    struct tc_disk_health *d = &n->disk;
    if (!d->failing) return;
    tc_notice("the Raft log can be written again (%s, after %lld ms and %llu errors)", n->dir,
              (long long)(tc_now_ms() - d->failing_since_ms), (unsigned long long)d->errors);
    d->failing = 0;
    d->errors = 0;
    d->last_error[0] = 0;
    d->last_warn_ms = 0;
}

/* One check of the data directory: enough room for a segment, and a
 * probe file that can be written. */
static void check_disk(tc_raftnode *n)
{
    struct tc_disk_health *d = &n->disk;
    struct statvfs vfs;
    if (statvfs(n->dir, &vfs) != 0) {
        tc__raft_disk_error(n, "statvfs", n->dir, strerror(errno));
        return;
    }
    d->free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (d->free_bytes < LOW_SPACE_BYTES) {
        char why[160];
        snprintf(why, sizeof why, "%s (%llu bytes free)", strerror(ENOSPC), (unsigned long long)d->free_bytes);
        tc__raft_disk_error(n, "check of", n->dir, why);
        return;
    }
    /* Free space can pass while libraft still cannot get the room for a
     * new segment; its writes then stay outstanding, and that says it. */
    const struct tc_append_latency *al = &n->append_latency;
    int64_t stuck = al->inflight ? tc_now_ms() - al->progress_ms : 0;
    if (stuck >= STUCK_MS) {
        char why[200];
        if (d->free_bytes < SEGMENT_BYTES)
            snprintf(why, sizeof why, "%s for a new log segment (%llu bytes free; no log write finished for %lld ms)",
                     strerror(ENOSPC), (unsigned long long)d->free_bytes, (long long)stuck);
        else snprintf(why, sizeof why, "no log write finished for %lld ms", (long long)stuck);
        tc__raft_disk_error(n, "writes to", n->dir, why);
        return;
    }
    char path[sizeof n->dir + 32];
    snprintf(path, sizeof path, "%s/disk-probe.tmp", n->dir);
    static const char block[512] = "tricache disk probe";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    /* no fsync: this runs on the Raft thread's loop, and a slow disk must
     * not stall it; a full, read-only or failing filesystem refuses the write */
    int ok = fd >= 0 && write(fd, block, sizeof block) == (ssize_t)sizeof block;
    int err = errno;
    if (fd >= 0) close(fd);
    unlink(path);
    if (!ok) {
        tc__raft_disk_error(n, "probe write to", path, strerror(err));
        return;
    }
    disk_ok(n);
}

/* A primary that cannot persist hands leadership to a caught-up replica
 * after a short grace period (a passing failure should not move it), by
 * the FAILOVER path; tried again each second until it is done. It may
 * still be elected again: libraft 0.22 offers no way to keep a voter out
 * of elections (only its election timeout, which also decides when it
 * forgets a dead primary and grants votes, so raising it could block the
 * healthy nodes' election); it would step aside again. */
static void step_aside(tc_raftnode *n, int64_t now)
{
    struct tc_disk_health *d = &n->disk;
    int64_t grace = 2 * (int64_t)n->srv->cfg.election_timeout_ms;
    if (now - d->failing_since_ms < grace || tc_raftnode_role(n) != TC_ROLE_PRIMARY || n->transferring ||
        n->handing_over || now - d->last_step_aside_ms < CHECK_EVERY_MS)
        return;
    d->last_step_aside_ms = now;
    char err[256];
    if (tc__raft_failover(n, 0, err, sizeof err) == 0)
        tc_warn("this primary cannot write its log (%s): handing leadership to a replica", d->last_error);
    else tc_info("cannot hand leadership over yet: %s", err);
}

/* On the Raft thread's own tick: a slow disk delays that thread, never
 * the command thread. */
void tc__raft_disk_check(tc_raftnode *n, int64_t now)
{
    struct tc_disk_health *d = &n->disk;
    if (now - d->last_check_ms < CHECK_EVERY_MS) return;
    d->last_check_ms = now;
    check_disk(n);
}

void tc__raft_disk_cron(tc_raftnode *n, int64_t now)
{
    struct tc_disk_health *d = &n->disk;
    if (!d->failing) return;
    step_aside(n, now);
    /* Writes already in the log wait for a majority that can write it; if
     * that takes long, answer them rather than let clients hang. Their
     * outcome is unknown: the entries stay in the log and may commit. */
    int64_t bound = 2 * (int64_t)n->srv->cfg.election_timeout_ms;
    char line[256];
    snprintf(line, sizeof line, "MISCONF this node cannot write its log: %s; the write may or may not be applied",
             d->last_error);
    tc__raft_answer_stuck_writes(n, now - bound, line);
}

const char *tc__raft_write_error(void *ud)
{
    tc_raftnode *n = ud;
    if (tc__raft_here(n)) return n->disk.failing ? n->disk.last_error : NULL;
    return n->cview.disk_failing ? n->cview.disk_error : NULL;
}

void tc__raft_info_disk(tc_raftnode *n, tc_buf *b)
{
    const struct tc_disk_health *d = &n->disk;
    tc_buf_printf(b,
                  "raft_log_write_ok:%d\r\nraft_log_write_errors:%llu\r\nraft_log_write_errors_total:%llu\r\n"
                  "raft_log_last_write_error:%s\r\nraft_data_dir_free_bytes:%llu\r\n",
                  !d->failing, (unsigned long long)d->errors, (unsigned long long)d->errors_total, d->last_error,
                  (unsigned long long)d->free_bytes);
}
