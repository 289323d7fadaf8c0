/* The Raft log bounded by bytes as well as entries. libraft 0.22 compacts
 * only after snapshot_threshold entries; with many client commands batched
 * per entry that can be gigabytes of log (issue 17). Here every applied
 * entry's size is counted, and once snapshot_bytes have been applied since
 * the last snapshot the threshold is lowered to 1 so that libraft takes a
 * snapshot right after this apply (it checks the threshold after each
 * step); the snapshot puts it back. When the data is larger than
 * snapshot_bytes, the size of the last snapshot is the limit instead. The entries kept after a snapshot
 * (trailing) are sized by bytes too: about a quarter of snapshot_bytes;
 * a big write's run of pieces is kept whole after the snapshot that follows
 * it, and let go later (tc__raft_budget_tick). */
#include <malloc.h>

#include "raft_internal.h"

/* Fewest entries kept after a snapshot, so a replica a moment behind still
 * catches up from the log rather than a whole image. */
#define MIN_TRAILING 16

/* A big run kept after a snapshot (below) is let go this long after it,
 * with one more snapshot, unless another snapshot came first (writes go
 * on: it let the run go itself). A replica still without the run by then
 * is far behind and would be sent an image by any primary anyway. Not at
 * once when every replica has it: back-to-back big writes would each cost
 * a second snapshot of the data. Without a limit, an idle cluster kept the
 * run until snapshot_bytes more had been written: one 500 MB SET left 500
 * MB of log in every node's memory. */
#define RUN_KEEP_MS 10000
/* A primary keeps an idle log moving (tc__raft_budget_idle_barriers) this
 * long after it let its own kept run go: the replicas took their snapshot
 * of the run, and so started their own RUN_KEEP_MS, a moment after it. */
#define RELEASE_FOLLOW_MS 10000

/* The bytes of log that trigger a snapshot: snapshot_bytes, or the size of
 * the last snapshot when the data is larger, so that the cost of snapshots
 * stays in proportion to the writes (each one rewrites the whole data). */
static uint64_t budget_limit(const tc_raftnode *n)
{
    uint64_t limit = n->rcfg_snapshot_bytes; /* the Raft thread's copy of snapshot_bytes */
    return limit && n->budget.image_bytes > limit ? n->budget.image_bytes : limit;
}

void tc__raft_budget_init(tc_raftnode *n, unsigned trailing)
{
    n->budget.trailing_max = trailing;
    n->budget.trailing = trailing;
}

void tc__raft_budget_applied(tc_raftnode *n, size_t len)
{
    struct tc_log_budget *b = &n->budget;
    b->bytes_since += len;
    b->entries_since++;
    uint64_t limit = budget_limit(n);
    if (limit && !b->forced && b->bytes_since >= limit) {
        b->forced = 1;
        b->forced_snapshots++;
        raft_set_snapshot_threshold(&n->raft, 1);
    }
}

void tc__raft_budget_snapshot_taken(tc_raftnode *n)
{
    struct tc_log_budget *b = &n->budget;
    unsigned keep = b->trailing_max;
    uint64_t limit = budget_limit(n);
    if (limit && b->entries_since && b->bytes_since) {
        uint64_t avg = b->bytes_since / b->entries_since;
        uint64_t fit = avg ? (limit / 4) / avg : keep;
        if (fit < MIN_TRAILING) fit = MIN_TRAILING;
        if (fit < keep) keep = (unsigned)fit;
        b->avg_entry = avg;
    }
    /* Letting a kept run go (tc__raft_budget_tick): only the entries since
     * it stay, up to the usual number. */
    if (b->releasing) {
        uint64_t since = raft_last_applied(&n->raft) - b->run_kept_last;
        if (since < keep) keep = since > MIN_TRAILING ? (unsigned)since : MIN_TRAILING;
        b->releasing = 0;
        b->runs_released++;
        b->released_ms = tc_now_ms();
    }
    b->run_kept_last = 0;
    /* A replica still receiving a big entry's pieces when the snapshot
     * after it compacts them would need the whole image in one
     * InstallSnapshot message: the very message the pieces avoid. Keep
     * the run (its bytes stay in memory until tc__raft_budget_tick lets
     * it go, or the next snapshot). */
    if (b->keep_run && b->keep_run + MIN_TRAILING > keep) {
        keep = (unsigned)(b->keep_run + MIN_TRAILING);
        /* let go later only a run bigger than the usual trailing bytes:
         * that costs a snapshot, which rewrites the whole data */
        if (limit && b->keep_run * TC_PIECE_DATA >= limit / 4) {
            b->run_kept_last = b->keep_run_last;
            b->run_kept_ms = tc_now_ms();
        }
    }
    b->keep_run = 0;
    /* libraft reads trailing when it stores this snapshot and again when
     * it is done: set it now, before either */
    raft_set_snapshot_trailing(&n->raft, keep);
    b->trailing = keep;
    b->trail_bytes = (uint64_t)(b->entries_since < keep ? b->entries_since : keep) * b->avg_entry;
    b->failed_ms = 0;
    b->bytes_since = 0;
    b->entries_since = 0;
    if (b->forced) {
        b->forced = 0;
        raft_set_snapshot_threshold(&n->raft, (unsigned)n->rcfg_snapshot_threshold);
    }
}

void tc__raft_budget_tick(tc_raftnode *n, int64_t now)
{
    struct tc_log_budget *b = &n->budget;
    if (b->trim_wanted) {
        /* The compacted entries and the image were freed in many sizes;
         * glibc keeps such memory in its arenas, so RSS would follow the
         * write volume rather than the data. Hand it back to the system
         * (here rather than at the next apply: an idle node may have none
         * for long). */
        b->trim_wanted = 0;
        malloc_trim(0);
    }
    if (!b->run_kept_last || b->releasing || now - b->run_kept_ms < RUN_KEEP_MS) return;
    /* a snapshot after the next apply (an idle primary appends barriers
     * meanwhile: tc__raft_budget_idle_barriers), which keeps only what
     * came after the run */
    b->releasing = 1;
    if (!b->forced) {
        b->forced = 1;
        raft_set_snapshot_threshold(&n->raft, 1);
    }
}

int tc__raft_budget_idle_barriers(const tc_raftnode *n)
{
    const struct tc_log_budget *b = &n->budget;
    /* asked after every pass of the Raft loop: the clock is read only in
     * the seconds after a release */
    return b->keep_run || b->run_kept_last || b->releasing ||
           (b->released_ms && tc_now_ms() - b->released_ms < RELEASE_FOLLOW_MS);
}

void tc__raft_budget_snapshot_failed(tc_raftnode *n)
{
    /* nothing was compacted: the bytes since the last snapshot still
     * count, and the next attempt waits a second (fsm.c) */
    n->budget.failed_ms = tc_now_ms();
}

int tc__raft_budget_image_due(const tc_raftnode *n)
{
    /* three quarters: the entries kept for the snapshot (copies of what
     * the log holds) stay a quarter of it, and the child has the last
     * quarter's writes to finish the image in */
    const struct tc_log_budget *b = &n->budget;
    uint64_t limit = budget_limit(n);
    if (limit && b->bytes_since >= limit / 4 * 3) return 1;
    return b->entries_since >= n->rcfg_snapshot_threshold / 4 * 3;
}

void tc__raft_budget_restored(tc_raftnode *n)
{
    /* an installed snapshot replaces the whole log, a kept run with it */
    n->budget.run_kept_last = 0;
    n->budget.bytes_since = 0;
    n->budget.entries_since = 0;
    n->budget.trail_bytes = 0;
}

uint64_t tc__raft_budget_memory(const tc_raftnode *n)
{
    const struct tc_log_budget *b = &n->budget;
    /* the log since the last snapshot, the entries kept before it, and
     * the copies of entries waiting to go into the next one (fsm.c) */
    return b->bytes_since + b->trail_bytes + n->tail.len;
}
