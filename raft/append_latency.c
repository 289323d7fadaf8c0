/* How long this node's log writes take (issue 17, slow disks). libraft
 * writes and syncs entries in its thread pool and calls back when they are
 * durable; the time from the request to that call is the latency a write
 * pays on this node's disk. The node wraps its raft_io's append to time
 * each one: INFO replication shows the last, the average and the worst,
 * and how many took longer than SLOW_MS; a slow one is logged (at most
 * once per WARN_EVERY_MS). The loop never waits for a write, so a slow
 * disk delays commits, not heartbeats. */
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "raft_internal.h"
#include "aio_release.h"
#include "segment_buffers.h"
#include "log_checksum.h"
#include "segment_fill.h"

#define SLOW_MS 100
#define WARN_EVERY_MS 10000

typedef struct timed_append {
    struct raft_io_append req; /* ours, handed to the real append */
    struct raft_io_append *orig;
    tc_raftnode *n;
    int64_t start_us;
} timed_append;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void record(tc_raftnode *n, int64_t us)
{
    struct tc_append_latency *l = &n->append_latency;
    l->count++;
    l->total_us += (uint64_t)us;
    l->last_us = (uint64_t)us;
    if ((uint64_t)us > l->max_us) l->max_us = (uint64_t)us;
    /* LATENCY's raft-log-write event (node/latency.h): the monitor is the
     * command thread's, so the worst since the last cron waits for it */
    if ((uint64_t)us / 1000 > l->pending_max_ms) l->pending_max_ms = (uint64_t)us / 1000;
    if (us < SLOW_MS * 1000) return;
    l->slow++;
    int64_t now = tc_now_ms();
    if (now - l->last_warn_ms >= WARN_EVERY_MS) {
        l->last_warn_ms = now;
        tc_warn("a Raft log write took %lld ms on %s (%llu writes over %d ms so far): a slow disk delays every "
                "write this node acknowledges",
                (long long)(us / 1000), n->dir, (unsigned long long)l->slow, SLOW_MS);
    }
}

static void on_appended(struct raft_io_append *req, int status)
{
    timed_append *t = req->data;
    struct raft_io_append *orig = t->orig;
    if (status == 0) record(t->n, now_us() - t->start_us);
    t->n->append_latency.inflight--;
    t->n->append_latency.progress_ms = tc_now_ms();
    free(t);
    orig->cb(orig, status);
}

static int timed_append_fn(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[],
                           unsigned n_entries, raft_io_append_cb cb)
{
    tc_raftnode *n = tc__raft_of_io(io);
    size_t bytes = 0;
    for (unsigned i = 0; i < n_entries; i++) bytes += entries[i].buf.len;
    tc_segment_fill_note_append(bytes); /* big ones: segments without zeros for a while */
    timed_append *t = malloc(sizeof *t);
    if (!t) return n->io_append(io, req, entries, n_entries, cb); /* untimed rather than refused */
    req->cb = cb;
    t->orig = req;
    t->n = n;
    t->req.data = t;
    t->start_us = now_us();
    /* disk_health.c: writes outstanding and none finishing is a log that
     * cannot be written (libraft retries a failed one silently) */
    struct tc_append_latency *l = &n->append_latency;
    if (l->inflight++ == 0) l->progress_ms = tc_now_ms();
    int rv = n->io_append(io, &t->req, entries, n_entries, on_appended);
    if (rv != 0) {
        l->inflight--;
        free(t);
    }
    return rv;
}

void tc__raft_time_appends(tc_raftnode *n)
{
    n->io_append = n->io.append;
    n->io.append = timed_append_fn;
}

void tc__raft_info_append_latency(tc_raftnode *n, tc_buf *b)
{
    const struct tc_append_latency *l = &n->append_latency;
    tc_buf_printf(b,
                  "raft_log_writes:%llu\r\nraft_log_write_last_ms:%.3f\r\nraft_log_write_avg_ms:%.3f\r\n"
                  "raft_log_write_max_ms:%.3f\r\nraft_log_writes_slow:%llu\r\n"
                  "raft_log_segments_filled:%llu\r\nraft_log_segments_unfilled:%llu\r\n"
                  "raft_log_segment_fill_failures:%llu\r\n"
                  "raft_log_checksummed_bytes:%llu\r\nraft_log_aio_contexts_released:%llu\r\n"
                  "raft_log_aio_release_failures:%llu\r\nraft_log_buffers_reused:%llu\r\n"
                  "raft_log_buffers_kept_bytes:%llu\r\n",
                  (unsigned long long)l->count, (double)l->last_us / 1000.0,
                  l->count ? (double)l->total_us / (double)l->count / 1000.0 : 0.0, (double)l->max_us / 1000.0,
                  (unsigned long long)l->slow, tc_segment_fill_count(), tc_segment_fill_skipped(),
                  tc_segment_fill_failures(),
                  tc_log_checksum_bytes(), tc_aio_released(), tc_aio_release_failures(),
                  tc_segbuf_reused(), tc_segbuf_kept_bytes());
}
