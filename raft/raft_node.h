/* One tricache node as a member of a Raft group (canonical/raft 0.22 with
 * its libuv I/O backend and our transport, transport.h): bootstrap from cluster.toml, the FSM (entries
 * applied through replication/), snapshots of the keyspace, and the
 * replication face (tc_replication_ops) the node reaches it through. */
#ifndef TC_RAFT_NODE_H
#define TC_RAFT_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdatomic.h>

#include "image_tail.h"
#include "keyspace_image.h"
#include "log_pieces.h"
#include "router.h"
#include "server.h"

/* What the command thread may know of libraft's state: copied by the Raft
 * thread after each pass of its loop (raft_thread.c), read under the
 * bridge's mutex. */
typedef struct tc_raft_view {
    int state;                 /* RAFT_LEADER, RAFT_FOLLOWER, ... (0: not started) */
    int leader;                /* the primary's node id, 0 if none is known */
    int transferring;          /* a leadership transfer is under way */
    uint64_t term, commit, last_index, last_applied;
    /* indexed like cfg.nodes: in the configuration, its role there, and
     * (on the primary) how much of the log it acknowledged */
    unsigned char member[TC_CONFIG_MAX_NODES];
    unsigned char voter[TC_CONFIG_MAX_NODES];
    uint64_t match[TC_CONFIG_MAX_NODES];
    int disk_failing;
    char disk_error[128];
    /* a replica: when (wall clock, ms) it last heard from the primary of
     * this term, and the commit index that message carried (peer_liveness.c) */
    int64_t heard_ms;
    uint64_t heard_commit;
    int idle_barriers;         /* the primary keeps an idle log moving (log_budget.c) */
    int64_t transfer_ended_ms; /* when the last leadership transfer ended (leadership.c) */
} tc_raft_view;

typedef struct tc__raft_msg tc__raft_msg;

/* How one thread wakes the other (raft_thread.c, which argues the
 * protocol): an eventfd the receiving loop polls, written only when the
 * receiver is not already bound to look at its queue before it next
 * sleeps. */
typedef struct tc__raft_wake {
    int fd;                    /* the eventfd; -1 before init */
    atomic_int armed;          /* 1: woken already, or will look before sleeping */
    uv_poll_t poll;            /* the fd, on the receiving loop */
    uv_prepare_t before_poll;  /* clears armed and looks, just before the loop polls */
    uv_idle_t busy;            /* while active, the loop polls without blocking */
} tc__raft_wake;

typedef struct tc_raftnode {
    /* raft keeps pointers to these: the struct must not move once started */
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    struct raft_fsm fsm;
    int handed_to;             /* a planned shutdown's new primary: named in redirects while this node closes */
    int64_t formed_tried_ms;   /* when TCFORMED was last submitted (membership.c) */
    char restore_error[256];   /* why the last snapshot could not be restored ("" if it could) */
    tc_router router;
    tc_server *srv;
    /* raft_thread.c: libraft, its storage and our transport run on a loop
     * of their own, on a thread of their own (the Raft thread); the
     * command thread (srv->loop: clients, the keyspace, apply) meets it at
     * two queues and the view. Fields are owned by the Raft thread unless
     * marked [C] (command thread) or [M] (under mu). */
    uv_loop_t rloop;
    uv_thread_t rthread;
    int threaded;              /* [C] the Raft thread runs (started, not yet joined) */
    uv_mutex_t mu;
    uv_cond_t synced;          /* a sync call finished */
    tc__raft_wake raft_wake;   /* on rloop: to_raft has messages */
    tc__raft_wake cmd_wake;    /* on srv->loop: to_cmd has messages */
    int cmd_owed;              /* the Raft thread queued for the command thread in this pass: wake it at the pass's end */
    int raft_loop_ending;      /* the Raft loop's handles are closing */
    uv_check_t rpass;          /* on rloop: publishes the view after each pass */
    uv_timer_t rtick;          /* on rloop: disk checks, a wedged command thread, loop delay */
    tc__raft_msg *to_raft, *to_raft_last;  /* [M] */
    tc__raft_msg *to_cmd, *to_cmd_last;    /* [M] */
    size_t to_cmd_len;                     /* [M] */
    int raft_gone;             /* [M] the Raft thread closed libraft: sync calls are not run */
    tc__raft_msg *backlog, *backlog_last;  /* [C] taken from to_cmd, not run yet */
    size_t backlog_len;        /* [C] */
    tc_raft_view view;         /* [M] written by the Raft thread */
    int64_t cmd_alive_ms;      /* [M] the command thread's last loop pass */
    int cmd_staging;           /* [M] a restore is staged (srv->staging) */
    tc_raft_view cview;        /* [C] the view as of the command thread's last look */
    uint64_t applied;          /* [C] last index applied to the keyspace */
    int64_t applied_ms;        /* [C] when the Raft thread applied it (its clock) */
    uint64_t sent_applied;     /* the last index the command thread was told of */
    /* The settings the Raft thread reads on its own: CONFIG SET rewrites
     * srv->cfg as a whole on the command thread, so it keeps copies (the
     * mutable ones refreshed by the cron, in a sync call) */
    uint64_t rcfg_snapshot_bytes, rcfg_apply_stall_ms;
    uint64_t rcfg_election_ms, rcfg_snapshot_threshold;
    size_t rcfg_nnodes;
    int rcfg_ids[TC_CONFIG_MAX_NODES]; /* cfg.nodes' ids, in order */
    int rcfg_self;
    int64_t loop_delay_ms, loop_delay_max_ms; /* how late rtick fired: the Raft loop's own stalls */
    int64_t rtick_due_ms;
    uint64_t cmd_stalls;       /* command-thread stalls past the election timeout */
    uint64_t seen_ticks;       /* the command thread's progress counter (progress.h) at the last tick */
    int64_t ticked_ms;         /* when it last moved */
    int cmd_stalled;
    int64_t wedge_handover_ms; /* last handover because the command thread was wedged */
    uint64_t wedge_handovers;
    struct apply_req *raft_head, *raft_tail; /* entries raft_apply took, in log order (Raft thread) */
    uv_check_t flush;          /* submits collected writes once per loop pass */
    uv_timer_t close_timer;    /* raft_close must not run inside a raft callback */
    char address[300];
    char dir[TC_CONFIG_MAX_STR * 2 + 8];
    /* fsm.c: the image the next snapshot is made of. A forked child writes
     * the keyspace to snap_path (snap_child running, then image_ready) while
     * every entry applied after its fork goes to tail; a snapshot hands
     * libraft the image (mapped, snap_map) and the tail (image_tail.h). */
    pid_t snap_child;          /* the forked child writing the image, 0 if none */
    int image_asked;           /* the command thread was asked to fork it */
    int image_ready;           /* snap_path holds a complete image */
    uint64_t image_gen;        /* bumped when an image is dropped: a late fork of it is killed */
    uint64_t images_discarded; /* INFO: images asked for or written, then dropped unused */
    uint64_t image_index;      /* the applied index the image was forked at */
    tc_image_tail tail;
    void *snap_map;            /* the image handed to libraft, until finalize */
    size_t snap_map_len;
    char snap_path[TC_CONFIG_MAX_STR * 2 + 40];
    struct apply_req *inflight_head, *inflight_tail; /* [C] submitted entries, in submission order */
    /* fsm.c, log_pieces.h: a big entry goes into the log as pieces, a few
     * per loop pass, with the writes submitted meanwhile held behind it
     * (pieces_held) so nothing lands between two pieces of a run. */
    struct piece_send *pieces_out;     /* the run being appended, NULL if none */
    tc__raft_msg *pieces_held, *pieces_held_last;
    uint64_t pieces_seq;               /* run ids: term << 32 | this count */
    size_t pieces_inflight;            /* piece data appended, not yet applied */
    tc_piece_run pieces_in;            /* the run being reassembled at apply */
    uint64_t pieces_runs_applied, pieces_runs_dropped; /* INFO */
    int started;
    int transferring;          /* a FAILOVER (leadership transfer) runs */
    int64_t transfer_ended_ms; /* when the last one ended (wall clock; 0: none yet) */
    int transfer_missed;       /* the target of the last one if this node was still the primary after it */
    /* Shutdown of a primary: writes are held until the log drains, then
     * leadership moves, then the node closes (or at handover_deadline_ms). */
    uv_timer_t handover;
    int handing_over;          /* 1 draining, 2 transfer started */
    int closing;               /* the close timer was started */
    int64_t handover_deadline_ms;
    int64_t handover_leaderless_ms; /* since when, after the transfer, no primary is known (0: one is) */
    int64_t handover_transfer_ms; /* when its transfer was started */
    int64_t leader_since_ms;   /* when this node last became primary (0: it is not) */
    uint64_t leader_since_term; /* the term it became primary in */
    int seen_primary;          /* primary this node last saw (0: none) */
    int announced_primary;     /* last non-zero one, announced on +switch-master */
    /* peer_liveness.c: while this node is the primary, each peer's match
     * index (indexed like cfg.nodes), whether it moved since this node
     * became primary, and when it last did (loop time, ms) */
    struct tc_peer_watch {
        uint64_t since_ms;     /* when this node became primary; 0: it is not */
        uint64_t match[TC_CONFIG_MAX_NODES];
        uint64_t moved_ms[TC_CONFIG_MAX_NODES];
        unsigned char heard[TC_CONFIG_MAX_NODES];
    } peers;
    /* peer_liveness.c: libraft's receive callback, wrapped, notes what this
     * node hears from its peers in the current term: a replica the
     * primary's messages (heartbeats included), the primary each replica's
     * answers */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
    raft_io_recv_cb io_recv;   /* libraft's own, which ours wraps */
    struct tc_peer_heard {
        int64_t primary_ms;    /* replica: wall clock of the primary's last AppendEntries */
        uint64_t primary_commit; /* the commit index it carried */
        uint64_t answer_ms[TC_CONFIG_MAX_NODES]; /* primary: loop time of each peer's last answer (like cfg.nodes) */
    } heard;
    /* Encryption at rest: keys (NULL: none configured), the sealer of the
     * entries this node appends (NULL: at_rest_encryption off), and the
     * opener of sealed entries (whoever wrote them). */
    tc_snapshot_keydir *keys;  /* re-read when an unknown key id shows up */
    tc_snapshot_sealer *sealer;
    tc_snapshot_opener *opener;
    /* log_budget.c: bytes of log since the last snapshot (snapshot_bytes) */
    struct tc_log_budget {
        uint64_t bytes_since;      /* entry bytes applied since the last snapshot */
        uint64_t entries_since;
        uint64_t avg_entry;        /* average entry size at the last snapshot */
        uint64_t image_bytes;      /* size of the last snapshot image (the data, serialized) */
        uint64_t trail_bytes;      /* estimated bytes of the entries kept after it */
        uint64_t keep_run;         /* pieces of the last big entry: the next snapshot keeps them */
        uint64_t keep_run_last;    /* the log index of that entry's last piece */
        uint64_t run_kept_last;    /* a big run the last snapshot kept in the log (its last index; 0: none) */
        int64_t run_kept_ms;       /* when that snapshot was taken */
        int releasing;             /* a snapshot is asked for to let that run go */
        uint64_t runs_released;    /* kept runs let go (log_budget.c) */
        uint64_t forced_snapshots; /* snapshots taken because of snapshot_bytes */
        int64_t failed_ms;         /* when a snapshot last failed (0: never) */
        unsigned trailing, trailing_max;
        int forced;                /* the threshold is lowered until the next snapshot */
        int trim_wanted;           /* a snapshot ended: return freed memory (malloc_trim) */
        int64_t released_ms;       /* when a kept run was last let go */
    } budget;
    /* disk_health.c: whether this node can write its log */
    struct tc_disk_health {
        int failing;               /* the last check or write failed */
        uint64_t errors;           /* failures since the log was last written fine */
        uint64_t errors_total;
        char last_error[128];      /* the OS error ("" while healthy) */
        uint64_t free_bytes;       /* free space of the data directory (statvfs) */
        int64_t failing_since_ms, last_check_ms, last_warn_ms, last_step_aside_ms;
    } disk;
    /* commit_stall.c: a primary whose entries no majority acknowledges */
    struct tc_commit_stall {
        int stalled;               /* entries wait past write_commit_timeout, commits do not move */
        uint64_t seen_commit;      /* the commit index at the last look */
        int64_t quiet_since_ms;    /* since when it has not moved while something waits */
        int64_t since_ms;          /* when the stall began */
        uint64_t stalls;           /* stalls begun since start */
        int64_t last_warn_ms, last_notice_ms;
    } stall;
    /* append_latency.c: how long log writes take to be durable */
    int (*io_append)(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[], unsigned n,
                     raft_io_append_cb cb); /* libraft's own, which ours wraps */
    struct tc_append_latency {
        uint64_t count, total_us, last_us, max_us, slow;
        uint64_t pending_max_ms;   /* the worst since the cron last told LATENCY */
        int64_t last_warn_ms;
        unsigned inflight;         /* writes requested, not yet finished */
        int64_t progress_ms;       /* when one last finished (or the first of those outstanding began) */
    } append_latency;
    /* peer_sends.c: one InstallSnapshot per peer on the wire, AppendEntries capped in bytes */
    int (*io_send)(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                   raft_io_send_cb cb); /* libraft's own, which ours wraps */
    struct tc_peer_sends {
        raft_id peer[TC_CONFIG_MAX_NODES]; /* peers with one on the wire (0: free slot) */
        uint64_t sent, refused;    /* InstallSnapshot messages */
        uint64_t appends_capped;   /* AppendEntries sent with fewer entries than libraft gave */
    } peer_sends;
} tc_raftnode;

/* Joins the cluster of s->cfg on s->loop (bootstrapping the founding nodes
 * listed there on first start). keys decrypt sealed entries
 * and snapshots; with at_rest_encryption its newest key encrypts what this
 * node writes. 0, or -1 with err set. */
int tc_raftnode_start(tc_raftnode *n, tc_server *s, tc_snapshot_keydir *keys, char *err, size_t errlen);

/* Where this node's state is: the last applied Raft index and term, and
 * the apply clock (a backup's or snapshot's position). */
void tc_raftnode_position(tc_raftnode *n, uint64_t *index, uint64_t *term, const tc_apply_state **apply);
/* The replica that holds the most of the log (within 1000 entries of the
 * primary's), so work such as a scheduled backup leaves the primary's CPU
 * to clients; this node when no replica qualifies. */
int tc_raftnode_most_caught_up(tc_raftnode *n);
/* Appends a command of the node's own to the log (TCBACKUP RUN); 0, or -1
 * when this node is not the primary. */
int tc_raftnode_submit_command(tc_raftnode *n, size_t argc, const tc_slice *argv);

/* The node's role and the primary's client address ("host:port") if known. */
int tc_raftnode_role(tc_raftnode *n);
const tc_node_conf *tc_raftnode_primary(tc_raftnode *n);

#endif
