/* Which nodes this one knows to be up, for CLUSTER NODES, SLOTS and SHARDS
 * (the replication face's peer_alive).
 *
 * libraft 0.22 has no "last contact" per peer in its public API, so each
 * node says only what its own view of the log shows:
 *
 * - The primary hears from every replica through the replica's match index
 *   (raft_match_index: how much of the log it acknowledged). The primary's
 *   log never stands still while it leads: the router appends a barrier
 *   when nothing committed for a quarter of replica_max_staleness (more
 *   often while lease reads come), well within the window below. So a replica whose match index has not moved for the failure
 *   window is not answering: down (0). One that holds the whole log, or
 *   moved within the window, is up (1). Right after this node became the
 *   primary, a peer it has not heard from yet is unknown (-1) until the
 *   window has passed.
 * - A replica hears from the primary when its applied index moves (the
 *   router's last_progress_ms, the same clock that bounds stale reads): up
 *   within the window, down after it. It never hears from the other
 *   replicas (Raft's traffic is between the primary and each replica), so
 *   of them it can say nothing (-1): CLUSTER NODES on the primary is the
 *   one that tells a dead replica.
 *
 * The failure window is replica_max_staleness or the election timeout,
 * whichever is longer (the primary's barriers come well within it).
 *
 * A live replica that has been receiving a snapshot image for longer than
 * the window acknowledges nothing meanwhile and counts as down until it has
 * it (it serves no fresh reads during that time either). */
#include <stdint.h>

#include "raft_internal.h"

static uint64_t failure_window_ms(const tc_config *cfg)
{
    uint64_t w = cfg->replica_max_staleness_ms;
    return cfg->election_timeout_ms > w ? cfg->election_timeout_ms : w;
}

static int conf_index(const tc_config *cfg, int id)
{
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (cfg->nodes[i].id == id) return (int)i;
    return -1;
}

/* Raft thread, after each pass of its loop: on the primary, note which
 * peers' match index moved, from the view just taken (v->match, indexed
 * like cfg.nodes). */
void tc__raft_watch_peers(tc_raftnode *n, const tc_raft_view *v)
{
    struct tc_peer_watch *w = &n->peers;
    if (!n->started || v->state != RAFT_LEADER) {
        w->since_ms = 0;
        return;
    }
    uint64_t now = uv_now(&n->rloop);
    if (!w->since_ms) {
        /* a new term of leadership: libraft starts every peer's match
         * index again from 0, and so do we */
        w->since_ms = now ? now : 1;
        for (size_t i = 0; i < n->rcfg_nnodes; i++) {
            w->match[i] = 0;
            w->moved_ms[i] = now;
            w->heard[i] = 0;
        }
    }
    for (size_t i = 0; i < n->rcfg_nnodes && i < TC_CONFIG_MAX_NODES; i++) {
        /* 0: not a member, not acknowledged yet, or libraft closing */
        uint64_t match = v->match[i];
        if (n->rcfg_ids[i] == n->rcfg_self || !match) continue;
        if (match != w->match[i]) {
            w->match[i] = match;
            w->moved_ms[i] = now;
            w->heard[i] = 1;
        }
    }
}

int tc__raft_peer_alive(void *ud, int id)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    if (id == s->self->id) return 1;
    if (!n->started) return -1;
    uint64_t window = failure_window_ms(&s->cfg);
    if (raft_state(&n->raft) == RAFT_LEADER) {
        const struct tc_peer_watch *w = &n->peers;
        int i = conf_index(&s->cfg, id);
        raft_index match = 0;
        /* not a member of the group (a joiner not added yet, a removed
         * node): Raft does not talk to it */
        if (i < 0 || !w->since_ms || tc__raft_match(n, (int)id, &match) != 0) return -1;
        if (match == raft_last_index(&n->raft) && match > 0) return 1;
        uint64_t now = uv_now(&n->rloop);
        if (w->heard[i]) return now - w->moved_ms[i] <= window ? 1 : 0;
        return now - w->since_ms <= window ? -1 : 0;
    }
    const tc_node_conf *p = tc_raftnode_primary(n);
    if (!p || p->id != id) return -1; /* another replica: not heard from by design */
    if (!n->router.last_progress_ms) return -1;
    int64_t silent = tc_now_ms() - n->router.last_progress_ms;
    return silent <= (int64_t)window ? 1 : 0;
}
