/* What the files of raft/ share; other modules use raft_node.h only.
 * Internal names carry a double underscore (tc__raft_*). */
#ifndef TC_RAFT_INTERNAL_H
#define TC_RAFT_INTERNAL_H

#include <stddef.h>

#include "raft_node.h"

/* raft_thread.c: the Raft thread and how the command thread meets it. A
 * message runs on the thread it was sent to, which frees it; cancel (NULL:
 * just free) runs instead when the Raft thread closed before it could. */
struct tc__raft_msg {
    tc__raft_msg *next;
    void (*run)(tc_raftnode *n, tc__raft_msg *m);
    void (*cancel)(tc_raftnode *n, tc__raft_msg *m);
    int64_t ms;                /* when it was sent to the command thread */
    int closes;                /* the node's last message: it closed */
};
/* 1 on the Raft thread (or before it starts, or in a sync call): libraft
 * may be touched directly. */
int tc__raft_here(const tc_raftnode *n);
void tc__raft_send_to_raft(tc_raftnode *n, tc__raft_msg *m);
void tc__raft_send_to_cmd(tc_raftnode *n, tc__raft_msg *m);
/* Runs fn on the Raft thread while the command thread waits (inline when
 * already there); -1 if the Raft thread has closed and fn did not run. */
int tc__raft_sync(tc_raftnode *n, void (*fn)(tc_raftnode *n, void *arg), void *arg);
/* Command thread: takes the Raft thread's latest view into cview and says
 * this thread is alive (once per loop pass). */
void tc__raft_look(tc_raftnode *n);
int tc__raft_thread_init(tc_raftnode *n, char *err, size_t errlen);
int tc__raft_thread_start(tc_raftnode *n, char *err, size_t errlen);
void tc__raft_thread_closing(tc_raftnode *n, tc__raft_msg *closed);
void tc__raft_thread_join(tc_raftnode *n);
void tc__raft_info_threads(tc_raftnode *n, tc_buf *b);
/* raft_match_index, but RAFT_NOTLEADER (match 0) when libraft says it
 * leads and has no progress array: libraft 0.22.1's raft_close frees a
 * leader's progress while raft_state still says leader, until the close
 * completes (on_rpass crashed in raft_match_index on a NULL progress at
 * shutdown, about one run in two). Raft thread. */
int tc__raft_match(tc_raftnode *n, int id, raft_index *match);
/* A member's role in conf (RAFT_VOTER, ...), -1 for a non-member. */
int tc__raft_conf_role(const struct raft_configuration *conf, raft_id id);
/* The primary as libraft sees it now (Raft thread): id, 0 if none. */
int tc__raft_leader_now(tc_raftnode *n);

/* fsm.c: the FSM callbacks, the router's log operations, encryption keys */
/* Raft thread: tells the command thread that the log is applied up to
 * index (barriers, installed snapshots). */
void tc__raft_post_progress(tc_raftnode *n, uint64_t index);
void tc__raft_fsm_setup(tc_raftnode *n);
void tc__raft_log_ops(tc_raftnode *n, tc_log_ops *ops);
/* Ends the child writing the next snapshot's image, if any, and drops the
 * image and the entries kept for it (the node closes). */
void tc__raft_image_discard(tc_raftnode *n);
int tc__raft_setup_encryption(tc_raftnode *n, tc_snapshot_keydir *keys, char *err, size_t errlen);

/* The node whose raft_io libraft hands to our wrappers of its methods
 * (append_latency.c, peer_sends.c, peer_liveness.c): io is n->io. */
static inline tc_raftnode *tc__raft_of_io(struct raft_io *io)
{
    return (tc_raftnode *)((char *)io - offsetof(tc_raftnode, io));
}

/* log_budget.c: compaction by bytes (snapshot_bytes) */
void tc__raft_budget_init(tc_raftnode *n, unsigned trailing);
void tc__raft_budget_applied(tc_raftnode *n, size_t len);
void tc__raft_budget_snapshot_taken(tc_raftnode *n);
void tc__raft_budget_restored(tc_raftnode *n);
/* A snapshot image could not be made: the next attempt waits a second. */
void tc__raft_budget_snapshot_failed(tc_raftnode *n);
/* Most of the way to the next snapshot (entries or bytes) is behind:
 * time to start the image it will be made of. */
int tc__raft_budget_image_due(const tc_raftnode *n);
uint64_t tc__raft_budget_memory(const tc_raftnode *n);
/* Raft thread, each tick: memory freed by a snapshot handed back to the
 * system, and a big run kept in the log by the snapshot after it let go
 * 10 s later (with one more snapshot). */
void tc__raft_budget_tick(tc_raftnode *n, int64_t now);
/* 1 while this node, as primary, must keep its log moving when no client
 * writes: letting a kept run go takes an apply on every node (a snapshot
 * follows an apply), which an idle primary's barriers provide. */
int tc__raft_budget_idle_barriers(const tc_raftnode *n);

/* disk_health.c: can this node write its log (checks, errors, INFO) */
void tc__raft_disk_error(tc_raftnode *n, const char *what, const char *path, const char *oserr);
/* Raft thread, each tick: the data directory's check, once a second */
void tc__raft_disk_check(tc_raftnode *n, int64_t now);
void tc__raft_disk_cron(tc_raftnode *n, int64_t now);
const char *tc__raft_write_error(void *ud);
void tc__raft_info_disk(tc_raftnode *n, tc_buf *b);
/* commit_stall.c: a primary whose log no majority acknowledges within
 * write_commit_timeout (waiting clients answered -NOREPLICAS, new writes
 * refused until commits move); the router's commit_stall op; INFO */
void tc__raft_stall_cron(tc_raftnode *n, int64_t now);
int tc__raft_commit_stall(void *ud, char *why, size_t len);
void tc__raft_info_stall(tc_raftnode *n, tc_buf *b);
/* append_latency.c: times every log write (installed before raft_init) */
void tc__raft_time_appends(tc_raftnode *n);
void tc__raft_info_append_latency(tc_raftnode *n, tc_buf *b);
/* peer_sends.c: libraft's sends to peers, one InstallSnapshot per peer on the wire and
 * AppendEntries of at most APPEND_MAX_BYTES of entries (installed before raft_init) */
void tc__raft_wrap_sends(tc_raftnode *n);
void tc__raft_info_peer_sends(tc_raftnode *n, tc_buf *b);
/* fsm.c: answers (with line) the clients of entries submitted before
 * cutoff_ms that are still waiting; the entries stay in the log */
void tc__raft_answer_stuck_writes(tc_raftnode *n, int64_t cutoff_ms, const char *line);
/* fsm.c: when the oldest entry this node submitted that is still waiting
 * (applied or failed ones are gone) was submitted; 0 if none */
int64_t tc__raft_oldest_entry_ms(const tc_raftnode *n);

/* replication_info.c: INFO replication and ROLE (ud is the tc_raftnode) */
void tc__raft_info_replication(void *ud, tc_buf *b);
void tc__raft_info_memory(void *ud, tc_buf *b);
void tc__raft_role_reply(void *ud, tc_reply *r);

/* leadership.c */
int tc__raft_primary_id(void *ud);
/* A leadership transfer to target_id, or with 0 to a caught-up voter
 * picked as leadership.c says (never knowingly one that just missed a
 * transfer). */
int tc__raft_failover(void *ud, int target_id, char *err, size_t errlen);
void tc__raft_move_to_preferred_zone(tc_raftnode *n, int64_t now_ms);
void tc__raft_follow_primary(tc_raftnode *n);
void tc__raft_warn_about_zones(const tc_config *cfg);
/* A planned handover (shutdown): FAILOVER to the handover target, as a
 * sync call from the command thread. */
int tc__raft_handover(tc_raftnode *n, char *err, size_t errlen);

/* peer_liveness.c: which nodes this one knows to be up (CLUSTER answers),
 * from what it hears from them (libraft's receive callback, wrapped before
 * raft_init); tc__raft_heard_ms is the log op heard_ms (router.h) */
int tc__raft_peer_alive(void *ud, int node_id);
void tc__raft_watch_peers(tc_raftnode *n, const tc_raft_view *v);
void tc__raft_wrap_recv(tc_raftnode *n);
int64_t tc__raft_heard_ms(void *ud, uint64_t applied);

/* membership.c */
void tc__raft_members_list(void *ud, tc_reply *r);
/* Primary, from the cron: once every voter has acknowledged the log, logs
 * TCFORMED (node/cluster_formed.h) unless the cluster already formed. */
void tc__raft_note_formed(tc_raftnode *n, int64_t now_ms);
int tc__raft_members_change(void *ud, tc_client *c, int add, int id, char *err, size_t errlen);

#endif
