/* Leadership: who the primary is, FAILOVER as a leadership transfer,
 * preferred primary zones, following (and announcing) a change of primary,
 * and the zone-majority warning at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_internal.h"
#include "log.h"
#include "pubsub.h"

int tc__raft_primary_id(void *ud)
{
    const tc_node_conf *p = tc_raftnode_primary(ud);
    return p ? p->id : 0;
}

typedef struct transfer_req {
    struct raft_transfer req;
    tc_raftnode *node;
    int target; /* 0: libraft's pick */
    uint64_t start_ns;
} transfer_req;

enum { TARGET_NO, TARGET_SILENT, TARGET_ANSWERING };
static int target_state(tc_raftnode *n, size_t i);
static int handover_target(tc_raftnode *n);

static void on_transferred(struct raft_transfer *req)
{
    transfer_req *t = (transfer_req *)req;
    tc_raftnode *n = t->node;
    char primary[48] = "no primary is known yet";
    int leader = tc__raft_leader_now(n);
    if (leader) snprintf(primary, sizeof primary, "primary is now node %d", leader);
    tc_notice("leadership transfer finished after %.1f ms; %s", (double)(uv_hrtime() - t->start_ns) / 1e6, primary);
    n->transferring = 0;
    n->transfer_ended_ms = tc_now_ms();
    /* libraft gives a transfer up after an election timeout without the
     * target taking over (a stopped node never does) */
    n->transfer_missed = leader == n->srv->self->id ? t->target : 0;
    free(t);
}

int tc__raft_failover(void *ud, int target, char *err, size_t errlen)
{
    tc_raftnode *n = ud;
    /* Raft thread (or a sync call): libraft's own state */
    if (!n->started || raft_state(&n->raft) != RAFT_LEADER) {
        snprintf(err, errlen, "ERR FAILOVER is not valid when server is a replica.");
        return -1;
    }
    if (n->transferring) {
        snprintf(err, errlen, "ERR FAILOVER already in progress.");
        return -1;
    }
    transfer_req *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    if (!target) target = handover_target(n);
    t->node = n;
    t->target = target;
    t->start_ns = uv_hrtime();
    int rc = raft_transfer(&n->raft, &t->req, (raft_id)target, on_transferred);
    if (rc != 0) {
        free(t);
        snprintf(err, errlen, "ERR FAILOVER could not start: %s", raft_strerror(rc));
        return -1;
    }
    n->transferring = 1;
    if (target) tc_notice("leadership transfer to node %d started (FAILOVER)", target);
    else tc_notice("leadership transfer to the most up-to-date replica started (FAILOVER)");
    return 0;
}

/* ---- preferred primary zones ------------------------------------------------- */

/* Is zone one of the comma-separated names in list? */
static int zone_listed(const char *list, const char *zone)
{
    size_t zl = strlen(zone);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if (len == zl && memcmp(p, zone, zl) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* On a primary outside the preferred zones: hand leadership to a node in
 * one of them that holds the whole log, after a settling period so that a
 * flapping node does not pull leadership back and forth. */
#define PREFERRED_ZONE_SETTLE_MS 3000

void tc__raft_move_to_preferred_zone(tc_raftnode *n, int64_t now)
{
    tc_server *s = n->srv;
    const char *zones = s->cfg.preferred_primary_zones;
    if (!zones[0] || tc_raftnode_role(n) != TC_ROLE_PRIMARY) {
        n->leader_since_ms = 0;
        return;
    }
    /* counted from this term's election: a node that lost leadership and
     * won it back between two cron ticks never looked like a replica here,
     * and without the term it moved the primary at once (back to the node
     * it had just been handed over from, in a test) */
    uint64_t term = raft_current_term(&n->raft);
    if (!n->leader_since_ms || n->leader_since_term != term) {
        n->leader_since_ms = now;
        n->leader_since_term = term;
    }
    if (zone_listed(zones, s->self->zone) || n->transferring || now - n->leader_since_ms < PREFERRED_ZONE_SETTLE_MS)
        return;
    for (size_t i = 0; i < n->rcfg_nnodes && i < TC_CONFIG_MAX_NODES; i++) {
        const tc_node_conf *nc = tc_config_node(&s->cfg, n->rcfg_ids[i]);
        /* answering too: a replica stopped while the log was idle still
         * holds the whole log, and a transfer to it runs out after an
         * election timeout, again and again (measured: 11 in 6 s, each
         * holding client writes for 330 ms) */
        if (!nc || !zone_listed(zones, nc->zone) || target_state(n, i) != TARGET_ANSWERING) continue;
        char err[128];
        tc_notice("moving the primary to node %d in preferred zone %s", nc->id, nc->zone);
        if (tc__raft_failover(n, nc->id, err, sizeof err) != 0) tc_info("preferred zone transfer: %s", err);
        return;
    }
}

/* Whether the node at index i of rcfg_ids may take leadership now: a voter
 * other than this one that holds the whole log, and whether it answered
 * within two heartbeat intervals (a live replica answers every heartbeat;
 * one stopped a moment ago still holds the whole log of an idle primary). */
static int target_state(tc_raftnode *n, size_t i)
{
    int id = n->rcfg_ids[i];
    raft_index match = 0;
    if (id == n->rcfg_self || tc__raft_conf_role(&n->raft.configuration, (raft_id)id) != RAFT_VOTER) return TARGET_NO;
    if (tc__raft_match(n, id, &match) != 0 || match != raft_last_index(&n->raft)) return TARGET_NO;
    uint64_t answer = n->heard.answer_ms[i], now = uv_now(&n->rloop);
    return answer && now - answer <= 2 * (uint64_t)n->raft.heartbeat_timeout ? TARGET_ANSWERING : TARGET_SILENT;
}

/* Where a transfer goes when no node is named (FAILOVER without TO, a
 * shutdown's handover, a failing disk's step aside): a voter holding the
 * whole log; first one that answers, then one the last transfer did not
 * miss, then one in a preferred zone, then the one whose last answer came
 * last. libraft's own pick is the first voter in the configuration that
 * holds the whole log, which may be a replica stopped a moment ago: that
 * transfer ran out after an election timeout and a primary's SIGTERM then
 * waited out shutdown_timeout. 0 when no voter holds the whole log:
 * libraft then picks the most up-to-date one and waits for it to catch up. */
static int handover_target(tc_raftnode *n)
{
    tc_server *s = n->srv;
    const char *zones = s->cfg.preferred_primary_zones;
    int best = 0, best_rank = -1;
    uint64_t best_answer = 0;
    for (size_t i = 0; i < n->rcfg_nnodes && i < TC_CONFIG_MAX_NODES; i++) {
        int id = n->rcfg_ids[i];
        const tc_node_conf *nc = tc_config_node(&s->cfg, id);
        int state = target_state(n, i);
        if (!nc || state == TARGET_NO) continue;
        int rank = 4 * (state == TARGET_ANSWERING) + 2 * (id != n->transfer_missed) +
                   (zones[0] && zone_listed(zones, nc->zone));
        uint64_t answer = n->heard.answer_ms[i]; /* indexed like rcfg_ids */
        if (rank > best_rank || (rank == best_rank && answer > best_answer)) {
            best = id;
            best_rank = rank;
            best_answer = answer;
        }
    }
    return best;
}

/* A change of the primary this node sees: in the log (an operator reading
 * it after an incident sees elections and step-downs), and, once a new
 * primary is known, as Sentinel's +switch-master to clients subscribed here
 * (Jedis and Lettuce follow failovers this way). On the primary it also
 * notes which replicas it still hears from (peer_liveness.c). */
void tc__raft_follow_primary(tc_raftnode *n)
{
    const tc_node_conf *p = tc_raftnode_primary(n);
    int id = p ? p->id : 0;
    if (id == n->seen_primary) return;
    n->seen_primary = id;
    unsigned long long term = (unsigned long long)n->cview.term;
    if (id == n->srv->self->id)
        tc_notice("this node is now the primary (term %llu)", term);
    else if (id)
        tc_notice("node %d (%s) is the primary (term %llu); this node is a replica", id, p->zone, term);
    else
        tc_notice("no primary known (term %llu): an election is under way", term);
    if (!id || id == n->announced_primary) return;
    const tc_node_conf *old = tc_config_node(&n->srv->cfg, n->announced_primary);
    n->announced_primary = id;
    if (!old) return; /* the first primary seen: nothing switched */
    char msg[700];
    int len = snprintf(msg, sizeof msg, "%s %s %d %s %d", n->srv->cfg.cluster_name, old->client_host,
                       old->client_port, p->client_host, p->client_port);
    tc_pubsub_publish(n->srv, "+switch-master", 14, msg, (size_t)len);
}

/* A majority of the voters in one zone: losing that zone stops the cluster. */
void tc__raft_warn_about_zones(const tc_config *cfg)
{
    for (size_t i = 0; i < cfg->nnodes; i++) {
        size_t same = 0;
        for (size_t j = 0; j < cfg->nnodes; j++)
            if (strcmp(cfg->nodes[i].zone, cfg->nodes[j].zone) == 0) same++;
        if (same * 2 > cfg->nnodes) {
            tc_warn("a majority of the voters (%zu of %zu) are in zone %s: losing that zone stops the cluster",
                    same, cfg->nnodes, cfg->nodes[i].zone);
            return;
        }
    }
}
