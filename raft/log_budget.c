/* The Raft log bounded by bytes as well as entries. libraft 0.22 compacts
 * only after snapshot_threshold entries; with many client commands batched
 * per entry that can be gigabytes of log (issue 17). Here every applied
 * entry's size is counted, and once snapshot_bytes have been applied since
 * the last snapshot the threshold is lowered to 1 so that libraft takes a
 * snapshot right after this apply (it checks the threshold after each
 * step); the snapshot puts it back. When the data is larger than
 * snapshot_bytes, the size of the last snapshot is the limit instead. The entries kept after a snapshot
 * (trailing) are sized by bytes too: about a quarter of snapshot_bytes. */
#include "raft_internal.h"

/* Fewest entries kept after a snapshot, so a replica a moment behind still
 * catches up from the log rather than a whole image. */
#define MIN_TRAILING 16

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
    /* A replica still receiving a big entry's pieces when the snapshot
     * after it compacts them would need the whole image in one
     * InstallSnapshot message: the very message the pieces avoid. Keep
     * the run (its bytes stay in memory until the next snapshot). */
    if (b->keep_run && b->keep_run + MIN_TRAILING > keep) keep = (unsigned)(b->keep_run + MIN_TRAILING);
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
    /* an installed snapshot replaces the whole log */
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
