/* A primary whose log no majority acknowledges (issue 17). libraft keeps a
 * leader in place as long as a majority answers its heartbeats, even when
 * those replicas cannot write what it sends them (a full disk), and a
 * leader whose other voters are dead steps down only if none answers: so
 * with one replica dead and the other unable to persist, entries wait for
 * a commit that may never come, and so would their clients.
 *
 * The stall: this node is the primary, something it submitted (an entry
 * or a read barrier) waits, and the commit index has not moved for
 * write_commit_timeout. Then the waiting writes are answered -NOREPLICAS
 * ("may or may not be applied": the entries stay in the log and commit if
 * a majority comes back), reads waiting for a barrier and new writes are
 * refused at once, and everything clears as soon as the commit index
 * moves again. The stuck entries themselves are what tells us: they commit
 * the moment a majority holds them. */
#include <stdio.h>

#include "log.h"
#include "raft_internal.h"

/* at most one notice per this long when stalls come and go */
#define NOTICE_EVERY_MS 10000

/* When the oldest thing this node waits a commit for was submitted: an
 * entry or the router's read barrier; 0 if nothing waits. */
static int64_t oldest_wait_ms(tc_raftnode *n)
{
    int64_t oldest = tc__raft_oldest_entry_ms(n);
    if (n->router.barrier_inflight && (!oldest || n->router.barrier_submit_ms < oldest))
        oldest = n->router.barrier_submit_ms;
    return oldest;
}

static void stall_end(tc_raftnode *n, int64_t now, const char *how)
{
    struct tc_commit_stall *st = &n->stall;
    st->stalled = 0;
    if (now - st->last_notice_ms < NOTICE_EVERY_MS && st->last_notice_ms) return;
    st->last_notice_ms = now;
    tc_notice("commits resumed (%s) after a stall of %lld ms; writes are accepted again", how,
              (long long)(now - st->since_ms));
}

/* Follows the commit index; ends a stall when it moved or this node is no
 * longer the primary. Returns the bound (0: off, or not the primary). */
static int64_t follow_commits(tc_raftnode *n, int64_t now)
{
    struct tc_commit_stall *st = &n->stall;
    int64_t bound = (int64_t)n->srv->cfg.write_commit_timeout_ms;
    /* the command thread's router asks too: it knows libraft from its view */
    int here = tc__raft_here(n);
    int primary = n->started && !n->closing && (here ? (int)raft_state(&n->raft) : n->cview.state) == RAFT_LEADER;
    uint64_t commit = !n->started ? 0 : here ? raft_commit_index(&n->raft) : n->cview.commit;
    int moved = commit != st->seen_commit;
    st->seen_commit = commit;
    if (moved || !primary || !bound || !oldest_wait_ms(n)) {
        st->quiet_since_ms = now;
        if (st->stalled)
            stall_end(n, now,
                      moved      ? "a majority acknowledged the log"
                      : !primary ? "no longer the primary"
                      : !bound   ? "write_commit_timeout set to 0"
                                 : "nothing waits");
        return primary ? bound : 0;
    }
    return bound;
}

/* Why clients are refused, after "Not enough good replicas to ...". */
static void describe(tc_raftnode *n, int64_t now, char *why, size_t len)
{
    long long ms = (long long)(now - n->stall.quiet_since_ms);
    const char *disk = tc__raft_write_error(n);
    if (disk)
        snprintf(why, len,
                 "This node cannot write its log (%s) and no majority of nodes has acknowledged it for %lld ms",
                 disk, ms);
    else snprintf(why, len, "No majority of nodes has acknowledged the log for %lld ms", ms);
}

void tc__raft_stall_cron(tc_raftnode *n, int64_t now)
{
    struct tc_commit_stall *st = &n->stall;
    int64_t bound = follow_commits(n, now);
    int64_t oldest = oldest_wait_ms(n);
    if (!st->stalled) {
        if (!bound || !oldest || now - st->quiet_since_ms < bound || now - oldest < bound) return;
        st->stalled = 1;
        st->since_ms = now;
        st->stalls++;
        if (now - st->last_warn_ms >= NOTICE_EVERY_MS || !st->last_warn_ms) {
            st->last_warn_ms = now;
            char why[300];
            describe(n, now, why, sizeof why);
            tc_warn("commits stalled: %s (write_commit_timeout %lld ms); waiting clients are answered -NOREPLICAS "
                    "and new writes refused until a majority acknowledges again",
                    why, (long long)bound);
        }
        /* Reads waiting for a barrier, and writers waiting for room in the
         * log, are routed again: refused now, rather than left waiting. */
        tc_router_commit_stalled(&n->router);
    }
    /* Every entry still waiting, whatever its age: new ones are refused
     * while the stall lasts, and no later entry commits before these. */
    char why[300], line[400];
    describe(n, now, why, sizeof why);
    snprintf(line, sizeof line, "NOREPLICAS Not enough good replicas to write; the write may or may not be applied. %s",
             why);
    tc__raft_answer_stuck_writes(n, now + 1, line);
}

int tc__raft_commit_stall(void *ud, char *why, size_t len)
{
    tc_raftnode *n = ud;
    /* Asked for every write routed: no clock read unless a stall is on.
     * Only the cron starts one, and its own follow_commits keeps the quiet
     * time (to within a cron period of a bound of seconds). */
    if (!n->stall.stalled) return 0;
    int64_t now = tc_now_ms();
    follow_commits(n, now);
    if (!n->stall.stalled) return 0;
    describe(n, now, why, len);
    return 1;
}

void tc__raft_info_stall(tc_raftnode *n, tc_buf *b)
{
    const struct tc_commit_stall *st = &n->stall;
    tc_buf_printf(b, "raft_commit_stalled:%d\r\nraft_commit_stalled_ms:%lld\r\nraft_commit_stalls:%llu\r\n",
                  st->stalled, st->stalled ? (long long)(tc_now_ms() - st->quiet_since_ms) : 0LL,
                  (unsigned long long)st->stalls);
}
