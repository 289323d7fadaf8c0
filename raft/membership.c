/* MEMBERS LIST|ADD|REMOVE: a joining node is added without a vote, caught
 * up, then made a voter; a removal is one configuration change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_internal.h"
#include "log.h"

static const char *role_name(int role)
{
    return role == RAFT_VOTER ? "voter" : role == RAFT_STANDBY ? "standby" : "spare";
}

void tc__raft_members_list(void *ud, tc_reply *r)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    const struct raft_configuration *conf = &n->raft.configuration;
    tc_reply_array(r, conf->n);
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *m = &conf->servers[i];
        const tc_node_conf *nc = tc_config_node(&s->cfg, (int)m->id);
        tc_reply_array(r, 4);
        tc_reply_int(r, (long long)m->id);
        tc_reply_bulks(r, m->address);
        tc_reply_bulks(r, role_name(m->role));
        tc_reply_bulks(r, nc ? nc->zone : "?");
    }
}

typedef struct change_req {
    struct raft_change req;
    tc_raftnode *node;
    tc_client *client;
    int id;
    int step; /* 0: added as spare, next make it a voter; 1: done */
} change_req;

/* The client's answer, delivered by the command thread (its owner). */
typedef struct change_answer {
    tc__raft_msg h;
    tc_client *client;
    size_t len;
    char line[256];
} change_answer;

static void change_answer_run(tc_raftnode *n, tc__raft_msg *m)
{
    (void)n;
    change_answer *a = (change_answer *)m;
    tc_client_deliver(a->client, a->line, a->len);
    free(a);
}

static void change_reply(change_req *ch, int status)
{
    change_answer *a = calloc(1, sizeof *a);
    if (!a) {
        tc_warn("out of memory answering a membership change. Stopping");
        exit(1);
    }
    int len;
    if (status == 0)
        len = snprintf(a->line, sizeof a->line, "+OK\r\n");
    else
        len = snprintf(a->line, sizeof a->line, "-ERR membership change for node %d failed: %s\r\n", ch->id,
                       raft_strerror(status));
    a->len = (size_t)len < sizeof a->line ? (size_t)len : sizeof a->line - 1;
    a->client = ch->client;
    a->h.run = change_answer_run;
    a->h.cancel = change_answer_run; /* after close too: the client waits for it */
    tc__raft_send_to_cmd(ch->node, &a->h);
    free(ch);
}

static void on_changed(struct raft_change *req, int status)
{
    change_req *ch = (change_req *)req;
    if (status == 0 && ch->step == 0) {
        /* Added without a vote; raft_assign catches it up first and only
         * then appends the configuration that makes it a voter. */
        ch->step = 1;
        tc_notice("node %d added; catching it up before it becomes a voter", ch->id);
        int rc = raft_assign(&ch->node->raft, &ch->req, (raft_id)ch->id, RAFT_VOTER, on_changed);
        if (rc == 0) return;
        status = rc;
    }
    if (status == 0) tc_notice("membership change for node %d committed", ch->id);
    change_reply(ch, status);
}

int tc__raft_members_change(void *ud, tc_client *c, int add, int id, char *err, size_t errlen)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    if (tc_raftnode_role(n) != TC_ROLE_PRIMARY) {
        snprintf(err, errlen, "ERR MEMBERS ADD/REMOVE must be sent to the primary");
        return -1;
    }
    const tc_node_conf *nc = tc_config_node(&s->cfg, id);
    change_req *ch = calloc(1, sizeof *ch);
    if (!ch) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    ch->node = n;
    ch->client = c;
    ch->id = id;
    int rc;
    if (add) {
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", nc->raft_host, nc->raft_port);
        rc = raft_add(&n->raft, &ch->req, (raft_id)id, addr, on_changed);
    } else {
        ch->step = 1;
        rc = raft_remove(&n->raft, &ch->req, (raft_id)id, on_changed);
    }
    if (rc != 0) {
        free(ch);
        snprintf(err, errlen, "ERR cannot %s node %d: %s", add ? "add" : "remove", id, raft_strerror(rc));
        return -1;
    }
    c->pending++; /* answered by change_reply */
    tc_notice("membership change started: %s node %d", add ? "add" : "remove", id);
    return 0;
}

/* The founding voters acknowledged entries beyond the bootstrap one (index
 * 1, which every founder writes for itself): from then on, a founder that
 * starts on an empty directory has lost data. Tried at most once a second;
 * a TCFORMED that is lost with a leadership is simply tried again. */
#define FORMED_RETRY_MS 1000

void tc__raft_note_formed(tc_raftnode *n, int64_t now_ms)
{
    if (n->srv->cluster_formed || raft_state(&n->raft) != RAFT_LEADER) return;
    if (now_ms - n->formed_tried_ms < FORMED_RETRY_MS) return;
    const struct raft_configuration *conf = &n->raft.configuration;
    char ids[TC_CONFIG_MAX_NODES][8];
    tc_slice argv[TC_CONFIG_MAX_NODES + 1];
    size_t argc = 0;
    argv[argc++] = (tc_slice){"TCFORMED", 8};
    for (unsigned i = 0; i < conf->n && argc <= TC_CONFIG_MAX_NODES; i++) {
        const struct raft_server *m = &conf->servers[i];
        if (m->role != RAFT_VOTER) continue;
        raft_index match = 0;
        if (m->id != (raft_id)n->srv->self->id && (tc__raft_match(n, m->id, &match) != 0 || match < 2))
            return; /* a voter has not acknowledged anything yet */
        int len = snprintf(ids[argc - 1], sizeof ids[0], "%llu", (unsigned long long)m->id);
        argv[argc] = (tc_slice){ids[argc - 1], (size_t)len};
        argc++;
    }
    if (argc < 2) return;
    n->formed_tried_ms = now_ms;
    tc_router_submit_command(&n->router, argc, argv, now_ms);
}
