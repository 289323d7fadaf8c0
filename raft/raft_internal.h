/* What the files of raft/ share; other modules use raft_node.h only.
 * Internal names carry a double underscore (tc__raft_*). */
#ifndef TC_RAFT_INTERNAL_H
#define TC_RAFT_INTERNAL_H

#include "raft_node.h"

/* fsm.c: the FSM callbacks, the router's log operations, encryption keys */
void tc__raft_fsm_setup(tc_raftnode *n);
void tc__raft_log_ops(tc_raftnode *n, tc_log_ops *ops);
/* Ends the child writing the next snapshot's image, if any, and drops the
 * image and the entries kept for it (the node closes). */
void tc__raft_image_discard(tc_raftnode *n);
int tc__raft_setup_encryption(tc_raftnode *n, tc_snapshot_keydir *keys, char *err, size_t errlen);

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

/* disk_health.c: can this node write its log (checks, errors, INFO) */
void tc__raft_disk_error(tc_raftnode *n, const char *what, const char *path, const char *oserr);
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
int tc__raft_failover(void *ud, int target_id, char *err, size_t errlen);
void tc__raft_move_to_preferred_zone(tc_raftnode *n, int64_t now_ms);
void tc__raft_follow_primary(tc_raftnode *n);
void tc__raft_warn_about_zones(const tc_config *cfg);
/* Where a planned handover sends leadership: a caught-up voter in a
 * preferred zone when preferred_primary_zones lists some, else 0 (the most
 * up-to-date voter, libraft's choice). */
int tc__raft_handover_target(tc_raftnode *n);

/* peer_liveness.c: which nodes this one knows to be up (CLUSTER answers) */
int tc__raft_peer_alive(void *ud, int node_id);
void tc__raft_watch_peers(tc_raftnode *n);

/* membership.c */
void tc__raft_members_list(void *ud, tc_reply *r);
/* Primary, from the cron: once every voter has acknowledged the log, logs
 * TCFORMED (node/cluster_formed.h) unless the cluster already formed. */
void tc__raft_note_formed(tc_raftnode *n, int64_t now_ms);
int tc__raft_members_change(void *ud, tc_client *c, int add, int id, char *err, size_t errlen);

#endif
