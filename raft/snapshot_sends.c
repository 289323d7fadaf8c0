/* At most one InstallSnapshot per peer on the wire.
 *
 * libraft sends a replica that is too far behind the whole snapshot in one
 * message: it loads the snapshot file into memory and hands it to the
 * connection, which holds it until the socket has taken every byte. While
 * the replica receives (and then stores and loads) a big one, it answers
 * nothing; after an election timeout without an answer the primary gives
 * the transfer up and, at the next heartbeat, loads and queues the snapshot
 * again - behind the first copy, still on its way out. Measured (README
 * "A replica catching up from a big snapshot"): a primary sending a 210 MB
 * snapshot grew by 4 GB; with a cache of several GB, the copies alone can
 * exhaust the machine's memory.
 *
 * So the node wraps its raft_io's send: an InstallSnapshot to a peer that
 * still has one on the wire is refused (RAFT_NOCONNECTION, as if the peer
 * were unreachable): libraft frees the copy it just loaded and tries again
 * at a later heartbeat, by which time the first copy has gone out - and
 * the replica, once it has installed it, catches up from the log. Other
 * messages are never held back (libraft treats a refused one as fatal);
 * they are small, or log entries whose memory libraft holds anyway. */
#include <stdlib.h>

#include "raft_internal.h"

typedef struct snapshot_send {
    struct raft_io_send req; /* ours, handed to the real send */
    struct raft_io_send *orig;
    tc_raftnode *n;
    raft_id peer;
} snapshot_send;

static int slot_of(const struct tc_snapshot_sends *s, raft_id peer)
{
    for (int i = 0; i < TC_CONFIG_MAX_NODES; i++)
        if (s->peer[i] == peer) return i;
    return -1;
}

static void on_sent(struct raft_io_send *req, int status)
{
    snapshot_send *t = req->data;
    struct raft_io_send *orig = t->orig;
    int i = slot_of(&t->n->snapshot_sends, t->peer);
    if (i >= 0) t->n->snapshot_sends.peer[i] = 0;
    free(t);
    orig->cb(orig, status);
}

static int send_fn(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m, raft_io_send_cb cb)
{
    tc_raftnode *n = (tc_raftnode *)((char *)io - offsetof(tc_raftnode, io));
    if (m->type != RAFT_INSTALL_SNAPSHOT) return n->io_send(io, req, m, cb);
    struct tc_snapshot_sends *s = &n->snapshot_sends;
    int free_slot = slot_of(s, 0);
    if (slot_of(s, m->server_id) >= 0 || free_slot < 0) {
        s->refused++;
        return RAFT_NOCONNECTION;
    }
    snapshot_send *t = malloc(sizeof *t);
    if (!t) return RAFT_NOMEM; /* the same as libraft failing to send it */
    req->cb = cb;
    t->orig = req;
    t->n = n;
    t->peer = m->server_id;
    t->req.data = t;
    int rv = n->io_send(io, &t->req, m, on_sent);
    if (rv != 0) {
        free(t);
        return rv;
    }
    s->peer[free_slot] = m->server_id;
    s->sent++;
    return 0;
}

void tc__raft_limit_snapshot_sends(tc_raftnode *n)
{
    n->io_send = n->io.send;
    n->io.send = send_fn;
}

void tc__raft_info_snapshot_sends(tc_raftnode *n, tc_buf *b)
{
    const struct tc_snapshot_sends *s = &n->snapshot_sends;
    tc_buf_printf(b, "raft_snapshots_sent:%llu\r\nraft_snapshot_sends_refused:%llu\r\n", (unsigned long long)s->sent,
                  (unsigned long long)s->refused);
}
