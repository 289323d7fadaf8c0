/* What the node says about its place in the cluster: INFO replication (in
 * Redis's fields, plus raft_*) and ROLE. */
#include <stdio.h>

#include "peer_reads.h"
#include "raft_internal.h"
#include "transport.h"

/* A primary's replicas as Redis counts them in INFO and ROLE: connected,
 * here heard from (peer_liveness.c; an idle log no longer moves a dead
 * replica's lag, which would stay 0). */
static size_t connected_replicas(tc_raftnode *n)
{
    tc_server *s = n->srv;
    size_t k = 0;
    for (size_t i = 0; i < s->cfg.nnodes; i++)
        if (s->cfg.nodes[i].id != s->self->id && tc__raft_peer_alive(n, s->cfg.nodes[i].id) != 0) k++;
    return k;
}

void tc__raft_info_replication(void *ud, tc_buf *b)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    int role = tc_raftnode_role(n);
    uint64_t applied = n->applied; /* what the keyspace holds (the command thread applies) */
    if (role == TC_ROLE_PRIMARY) {
        tc_buf_printf(b, "role:master\r\nconnected_slaves:%zu\r\n", connected_replicas(n));
        size_t k = 0;
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            const tc_node_conf *nc = &s->cfg.nodes[i];
            if (nc->id == s->self->id || tc__raft_peer_alive(n, nc->id) == 0) continue;
            raft_index match = 0;
            tc__raft_match(n, (int)nc->id, &match);
            tc_buf_printf(b, "slave%zu:ip=%s,port=%d,state=%s,offset=%llu,lag=%llu\r\n", k++, nc->client_host,
                          nc->client_port, match ? "online" : "wait_bgsave", (unsigned long long)match,
                          (unsigned long long)(raft_last_index(&n->raft) - match));
        }
    } else {
        const tc_node_conf *p = tc_raftnode_primary(n);
        int64_t silent = tc_now_ms() - n->router.last_progress_ms;
        tc_buf_printf(b,
                      "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
                      "master_last_io_seconds_ago:%lld\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:%llu\r\n"
                      "slave_read_only:1\r\nconnected_slaves:0\r\n",
                      p ? p->client_host : "?", p ? p->client_port : 0,
                      role == TC_ROLE_REPLICA && silent <= (int64_t)s->cfg.replica_max_staleness_ms ? "up" : "down",
                      (long long)(silent / 1000), (unsigned long long)applied);
    }
    tc_buf_printf(b,
                  "master_replid:%s\r\nmaster_repl_offset:%llu\r\nraft_node_id:%d\r\nraft_state:%s\r\n"
                  "raft_term:%llu\r\nraft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
                  "raft_last_index:%llu\r\nraft_cluster_formed:%d\r\n",
                  s->cfg.cluster_name, (unsigned long long)applied, s->self->id, raft_state_name(raft_state(&n->raft)),
                  (unsigned long long)raft_current_term(&n->raft), (unsigned long long)raft_commit_index(&n->raft),
                  (unsigned long long)applied, (unsigned long long)raft_last_index(&n->raft), s->cluster_formed);
    tc_buf_printf(b,
                  "raft_log_memory:%llu\r\nraft_log_bytes_since_snapshot:%llu\r\n"
                  "raft_log_entries_since_snapshot:%llu\r\nraft_snapshot_bytes:%llu\r\n"
                  "raft_snapshots_by_bytes:%llu\r\nraft_snapshot_trailing:%u\r\n",
                  (unsigned long long)tc__raft_budget_memory(n), (unsigned long long)n->budget.bytes_since,
                  (unsigned long long)n->budget.entries_since, (unsigned long long)s->cfg.snapshot_bytes,
                  (unsigned long long)n->budget.forced_snapshots, n->budget.trailing);
    tc_buf_printf(b, "raft_peer_auth:%s\r\nraft_peers_refused:%llu\r\n",
                  tc_transport_authenticates(&n->transport) ? "cluster_secret" : "none",
                  tc_transport_refused(&n->transport));
    tc_buf_printf(b, "raft_peer_tls:%s\r\nraft_peer_tls_failures:%llu\r\nraft_peer_tls_reloads:%llu\r\n",
                  tc_transport_tls_mode(&n->transport),
                  (unsigned long long)tc_transport_tls_failures(&n->transport),
                  (unsigned long long)tc_transport_tls_reloads(&n->transport));
    /* big entries (log_pieces.h): whole ones applied from pieces, runs
     * dropped because their primary lost leadership before the last piece */
    tc_buf_printf(b, "raft_big_entries_applied:%llu\r\nraft_big_entries_dropped:%llu\r\n",
                  (unsigned long long)n->pieces_runs_applied, (unsigned long long)n->pieces_runs_dropped);
    /* snapshot images made (or being made) and dropped unused: by a big
     * entry applied after them, a full tail, a restore */
    tc_buf_printf(b, "raft_snapshot_images_discarded:%llu\r\n", (unsigned long long)n->images_discarded);
    /* big runs kept in the log after a snapshot, let go (log_budget.c) */
    tc_buf_printf(b, "raft_big_runs_kept:%d\r\nraft_big_runs_released:%llu\r\n", n->budget.run_kept_last != 0,
                  (unsigned long long)n->budget.runs_released);
    tc__raft_info_disk(n, b);
    tc__raft_info_stall(n, b);
    tc__raft_info_append_latency(n, b);
    tc__raft_info_peer_sends(n, b);
    /* read() calls on incoming peer connections and the message parts
     * (preambles, headers, payloads) they brought (peer_reads.c) */
    tc_buf_printf(b, "raft_peer_reads:%llu\r\nraft_peer_message_parts:%llu\r\n", tc_peer_reads_syscalls(),
                  tc_peer_reads_chunks());
}

/* INFO memory: the node's fields, then the log this node holds in memory
 * (entries since the last snapshot and the ones kept after it). */
void tc__raft_info_memory(void *ud, tc_buf *b)
{
    tc_raftnode *n = ud;
    tc_info_section_memory(n->srv, b);
    uint64_t log = tc__raft_budget_memory(n);
    /* Redis's name for memory outside what eviction weighs (its replica
     * and AOF buffers); here the Raft log and the client buffers */
    tc_buf_printf(b, "raft_log_memory:%llu\r\nmem_not_counted_for_evict:%llu\r\n", (unsigned long long)log,
                  (unsigned long long)(log + tc_mem_clients(n->srv)));
}

void tc__raft_role_reply(void *ud, tc_reply *r)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    uint64_t applied = n->applied; /* what the keyspace holds (the command thread applies) */
    if (tc_raftnode_role(n) == TC_ROLE_PRIMARY) {
        tc_reply_array(r, 3);
        tc_reply_bulks(r, "master");
        tc_reply_int(r, (long long)applied);
        tc_reply_array(r, connected_replicas(n));
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            const tc_node_conf *nc = &s->cfg.nodes[i];
            if (nc->id == s->self->id || tc__raft_peer_alive(n, nc->id) == 0) continue;
            raft_index match = 0;
            tc__raft_match(n, (int)nc->id, &match);
            tc_reply_array(r, 3);
            tc_reply_bulks(r, nc->client_host);
            tc_reply_bulk_ll(r, nc->client_port);
            tc_reply_bulk_ll(r, (long long)match);
        }
        return;
    }
    const tc_node_conf *p = tc_raftnode_primary(n);
    tc_reply_array(r, 5);
    tc_reply_bulks(r, "slave");
    tc_reply_bulks(r, p ? p->client_host : "?");
    tc_reply_int(r, p ? p->client_port : 0);
    tc_reply_bulks(r, p ? "connected" : "connect");
    tc_reply_int(r, (long long)applied);
}
