/* Which nodes this one knows to be up, for CLUSTER NODES, SLOTS and SHARDS
 * (the replication face's peer_alive), and what a replica's freshness
 * (replica_max_staleness) is counted from.
 *
 * libraft 0.22 has no "last contact" per peer in its public API, so the
 * node wraps the receive callback libraft gives its raft_io and notes, in
 * the current term, each message that proves a peer alive:
 *
 * - A replica hears from the primary in every AppendEntries, heartbeats
 *   included (every heartbeat_interval while idle), with the primary's
 *   commit index. Once this node has applied that index, its state was the
 *   primary's committed state when the message left, so the router counts
 *   its freshness from then (tc__raft_heard_ms); it also counts from each
 *   entry it applies. An idle primary therefore logs nothing to keep its
 *   replicas' reads fresh. Not while this node cannot write its log: it
 *   then counts from the entries it applies only, and past the bound says
 *   why it refuses (it would soon lack what the primary commits). The
 *   primary is up within the failure window of that moment, down after
 *   it. A replica never hears from the other replicas (Raft's traffic is
 *   between the primary and each replica), so of them it can say nothing
 *   (-1): CLUSTER NODES on the primary is the one that tells a dead
 *   replica.
 * - The primary hears from a replica in each answer to its AppendEntries
 *   (heartbeats' answers included), and when the replica's match index
 *   (how much of the log it acknowledged) moves. A replica it has heard
 *   from within the failure window is up (1); one silent for the window
 *   is down (0), however much of the log it holds. Right after this node
 *   became the primary, a peer it has not heard from yet is unknown (-1)
 *   until the window has passed.
 *
 * The failure window is replica_max_staleness or the election timeout,
 * whichever is longer.
 *
 * A live replica that has been receiving a snapshot image for longer than
 * the window answers nothing meanwhile (the heartbeats queue behind the
 * image on its connection) and counts as down until it has it (it serves
 * no fresh reads during that time either). */
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

/* Raft thread: libraft's receive callback, wrapped. The message's fields
 * are read before libraft takes it; whether it came from the primary of
 * the current term (or answered this primary) is judged after libraft
 * handled it, as it may have moved this node to that term. */
static void recv_fn(struct raft_io *io, struct raft_message *m)
{
    tc_raftnode *n = tc__raft_of_io(io);
    int type = m->type;
    raft_id from = m->server_id;
    raft_term term = 0;
    raft_index commit = 0;
    if (type == RAFT_APPEND_ENTRIES) {
        term = m->append_entries.term;
        commit = m->append_entries.leader_commit;
    } else if (type == RAFT_APPEND_ENTRIES_RESULT) {
        term = m->append_entries_result.term;
    }
    n->io_recv(io, m);
    if (!term || raft_current_term(&n->raft) != term) return;
    if (type == RAFT_APPEND_ENTRIES) {
        raft_id leader = 0;
        const char *addr = NULL;
        raft_leader(&n->raft, &leader, &addr);
        if (raft_state(&n->raft) != RAFT_FOLLOWER || leader != from) return;
        n->heard.primary_ms = tc_now_ms();
        n->heard.primary_commit = commit;
        return;
    }
    if (raft_state(&n->raft) != RAFT_LEADER) return;
    for (size_t i = 0; i < n->rcfg_nnodes && i < TC_CONFIG_MAX_NODES; i++)
        if (n->rcfg_ids[i] == (int)from) n->heard.answer_ms[i] = uv_now(&n->rloop);
}

static int start_fn(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    tc_raftnode *n = tc__raft_of_io(io);
    n->io_recv = recv;
    return n->io_start(io, msecs, tick, recv_fn);
}

void tc__raft_wrap_recv(tc_raftnode *n)
{
    n->io_start = n->io.start;
    n->io.start = start_fn;
}

int64_t tc__raft_heard_ms(void *ud, uint64_t applied)
{
    tc_raftnode *n = ud;
    uv_mutex_lock(&n->mu);
    int64_t ms = n->view.disk_failing ? 0 : n->view.heard_ms;
    uint64_t commit = n->view.heard_commit;
    uv_mutex_unlock(&n->mu);
    return ms && commit <= applied ? ms : 0;
}

/* Raft thread, after each pass of its loop: on the primary, note which
 * peers answered or moved their match index, from the view just taken
 * (v->match, indexed like cfg.nodes). */
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
        /* an answer in this term of leadership (one from before it could
         * still be in answer_ms) */
        uint64_t answer = n->heard.answer_ms[i];
        if (answer >= w->since_ms && answer > w->moved_ms[i]) {
            w->moved_ms[i] = answer;
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
