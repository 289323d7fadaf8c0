/* libraft's sends to peers, wrapped: one InstallSnapshot per peer on the
 * wire, and AppendEntries of at most APPEND_MAX_BYTES of entries.
 *
 * InstallSnapshot: libraft sends a replica that is too far behind the
 * whole snapshot in one message: it loads the snapshot file into memory and
 * hands it to the connection, which holds it until the socket has taken
 * every byte. While the replica receives (and then stores and loads) a big
 * one, it answers nothing; after an election timeout without an answer the
 * primary gives the transfer up and, at the next heartbeat, loads and
 * queues the snapshot again - behind the first copy, still on its way out.
 * Measured (README "A replica catching up from a big snapshot"): a primary
 * sending a 210 MB snapshot grew by 4 GB; with a cache of several GB, the
 * copies alone can exhaust the machine's memory. So an InstallSnapshot to
 * a peer that still has one on the wire is refused (RAFT_NOCONNECTION, as
 * if the peer were unreachable): libraft frees the copy it just loaded and
 * tries again at a later heartbeat, by which time the first copy has gone
 * out - and the replica, once it has installed it, catches up from the log.
 *
 * AppendEntries: libraft puts every entry a replica lacks into one message
 * (up to max_inflight_entries of them), and a replica that is behind by a
 * big value's pieces lacks a hundred MB or more: a new primary catching up
 * the replica that had less of a dead primary's run, a restarted replica.
 * The replica reads such a message whole, then copies and checksums it into
 * its log in one pass of its Raft loop - measured 0.3 s for 59 MB here, a
 * loop that neither answers nor times anything meanwhile - and the primary,
 * answered by nobody for an election timeout, stepped down (CI's
 * integration_bigvalue, a primary killed in the middle of a big write: the
 * next write, on the new primary, got -TRYAGAIN). While that replica is in
 * libraft's probe state, the primary also sent the whole batch again at
 * every heartbeat. So the message goes with the entries that fit in
 * APPEND_MAX_BYTES (one at least). This is Raft as it is: the replica
 * stores what came and answers with its last stored index, which is what
 * the primary takes as its match index; libraft's optimistic next index
 * for a replica past that is corrected by the replica's refusal of the
 * next message (a missing previous entry), after which the primary sends
 * from the match index again: one chunk at a time, paced by the replica's
 * log writes. Sending the rest at once as further messages would undo
 * that: the replica queues what arrives behind its log write in progress,
 * and libraft encodes everything queued in one go when that write ends
 * (fsm.c, PIECES_WINDOW) - the same long pass. Nothing else is held back
 * or refused (libraft treats a refused send as fatal). */
#include <stdlib.h>

#include "log_pieces.h"
#include "raft_internal.h"

/* Eight pieces of a big value (log_pieces.h), as many as the primary has
 * unapplied while it streams a run (fsm.c, PIECES_WINDOW): ~40 ms of a
 * replica's loop at the rate above, under a heartbeat interval. Measured
 * (test_bigvalue, a replica catching up 120 MB): 1.3-2.1 s with 8 MiB,
 * 2.6-2.9 s with 4 MiB (a chunk per round trip). Every other entry is
 * smaller than one piece, so a message still carries hundreds of ordinary
 * writes. */
#define APPEND_MAX_BYTES (8 * TC_PIECE_DATA)

typedef struct snapshot_send {
    struct raft_io_send req; /* ours, handed to the real send */
    struct raft_io_send *orig;
    tc_raftnode *n;
    raft_id peer;
} snapshot_send;

static int slot_of(const struct tc_peer_sends *s, raft_id peer)
{
    for (int i = 0; i < TC_CONFIG_MAX_NODES; i++)
        if (s->peer[i] == peer) return i;
    return -1;
}

static void on_sent(struct raft_io_send *req, int status)
{
    snapshot_send *t = req->data;
    struct raft_io_send *orig = t->orig;
    int i = slot_of(&t->n->peer_sends, t->peer);
    if (i >= 0) t->n->peer_sends.peer[i] = 0;
    free(t);
    orig->cb(orig, status);
}

/* libraft's send encodes the message before it returns (the entries'
 * buffers are referenced, not copied, and libraft keeps them until the
 * callback), so the shortened copy may live on the stack; libraft's own
 * request still releases every entry it acquired. */
static int send_capped(tc_raftnode *n, struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                       raft_io_send_cb cb)
{
    const struct raft_append_entries *ae = &m->append_entries;
    unsigned keep = 0;
    size_t bytes = 0;
    while (keep < ae->n_entries && (keep == 0 || bytes + ae->entries[keep].buf.len <= APPEND_MAX_BYTES))
        bytes += ae->entries[keep++].buf.len;
    if (keep >= ae->n_entries) return n->io_send(io, req, m, cb);
    struct raft_message shorter = *m;
    shorter.append_entries.n_entries = keep;
    n->peer_sends.appends_capped++;
    return n->io_send(io, req, &shorter, cb);
}

static int send_fn(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m, raft_io_send_cb cb)
{
    tc_raftnode *n = tc__raft_of_io(io);
    if (m->type == RAFT_APPEND_ENTRIES) return send_capped(n, io, req, m, cb);
    if (m->type != RAFT_INSTALL_SNAPSHOT) return n->io_send(io, req, m, cb);
    struct tc_peer_sends *s = &n->peer_sends;
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

void tc__raft_wrap_sends(tc_raftnode *n)
{
    n->io_send = n->io.send;
    n->io.send = send_fn;
}

void tc__raft_info_peer_sends(tc_raftnode *n, tc_buf *b)
{
    const struct tc_peer_sends *s = &n->peer_sends;
    tc_buf_printf(b, "raft_snapshots_sent:%llu\r\nraft_snapshot_sends_refused:%llu\r\nraft_appends_capped:%llu\r\n",
                  (unsigned long long)s->sent, (unsigned long long)s->refused,
                  (unsigned long long)s->appends_capped);
}
