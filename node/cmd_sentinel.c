/* SENTINEL: every node answers the discovery part of Sentinel's protocol
 * from its own view of the cluster, so Sentinel-aware clients (redis-py's
 * Sentinel, Jedis, Lettuce) find the primary without a separate process.
 * The "master name" is cluster_name. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "server.h"

static const tc_node_conf *primary_of(tc_server *s)
{
    int id = tc_server_primary_id(s);
    return id ? tc_config_node(&s->cfg, id) : NULL;
}

static int is_our_name(tc_server *s, const tc_slice *name)
{
    return strlen(s->cfg.cluster_name) == name->len && memcmp(s->cfg.cluster_name, name->p, name->len) == 0;
}

static void kv(tc_reply *r, const char *k, const char *v)
{
    tc_reply_bulks(r, k);
    tc_reply_bulks(r, v);
}

static void kv_int(tc_reply *r, const char *k, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    kv(r, k, tmp);
}

/* The field list Sentinel gives for a master, replica or sentinel. */
static void describe(tc_server *s, tc_reply *r, const tc_node_conf *n, const char *flags, const tc_node_conf *primary)
{
    char name[300];
    snprintf(name, sizeof name, "%s:%d", n->client_host, n->client_port);
    int is_master = strcmp(flags, "master") == 0, is_slave = strncmp(flags, "slave", 5) == 0;
    tc_reply_map(r, is_master ? 8 : is_slave ? 9 : 5);
    kv(r, "name", is_master ? s->cfg.cluster_name : name);
    kv(r, "ip", n->client_host);
    kv_int(r, "port", n->client_port);
    char runid[32];
    snprintf(runid, sizeof runid, "node-%d", n->id);
    kv(r, "runid", runid);
    kv(r, "flags", flags);
    if (is_master) {
        kv_int(r, "num-slaves", (long long)s->cfg.nnodes - 1);
        kv_int(r, "num-other-sentinels", (long long)s->cfg.nnodes - 1);
        kv_int(r, "quorum", (long long)s->cfg.nnodes / 2 + 1);
    } else if (is_slave) {
        kv(r, "master-host", primary->client_host);
        kv_int(r, "master-port", primary->client_port);
        kv(r, "master-link-status", strstr(flags, "s_down") ? "err" : "ok");
        kv(r, "zone", n->zone);
    }
}

void tc_cmd_sentinel(tc_ctx *c)
{
    tc_server *s = c->srv;
    const tc_slice *sub = &c->argv[1];
    const tc_node_conf *p = primary_of(s);
    if (tc_arg_is(sub, "get-master-addr-by-name") && c->argc == 3) {
        if (!is_our_name(s, &c->argv[2]) || !p) {
            tc_reply_null_array(c->r);
            return;
        }
        tc_reply_array(c->r, 2);
        tc_reply_bulks(c->r, p->client_host);
        tc_reply_bulk_ll(c->r, p->client_port);
    } else if (tc_arg_is(sub, "masters") && c->argc == 2) {
        tc_reply_array(c->r, p ? 1 : 0);
        if (p) describe(s, c->r, p, "master", p);
    } else if (tc_arg_is(sub, "master") && c->argc == 3) {
        if (!is_our_name(s, &c->argv[2]) || !p) {
            tc_reply_error(c->r, "ERR No such master with that name");
            return;
        }
        describe(s, c->r, p, "master", p);
    } else if ((tc_arg_is(sub, "replicas") || tc_arg_is(sub, "slaves") || tc_arg_is(sub, "sentinels")) &&
               c->argc == 3) {
        if (!is_our_name(s, &c->argv[2]) || !p) {
            tc_reply_error(c->r, "ERR No such master with that name");
            return;
        }
        int sentinels = tc_arg_is(sub, "sentinels");
        /* Sentinels: every other node, since each one answers SENTINEL. */
        size_t n = 0;
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            int id = s->cfg.nodes[i].id;
            if (sentinels ? id != s->self->id : id != p->id) n++;
        }
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            const tc_node_conf *nc = &s->cfg.nodes[i];
            if (sentinels ? nc->id == s->self->id : nc->id == p->id) continue;
            /* A replica the primary no longer hears from is down, as
             * Sentinel flags it: Sentinel-aware clients (redis-py's
             * filter_slaves, Jedis, Lettuce) then leave it out of replica
             * reads. Only the primary knows; a replica asked about another
             * replica lists it as up (CLUSTER NODES has the same rule). */
            int down = !sentinels && s->repl.ops && s->repl.ops->peer_alive &&
                       s->repl.ops->peer_alive(s->repl.ud, nc->id) == 0;
            describe(s, c->r, nc, sentinels ? "sentinel" : down ? "slave,s_down" : "slave", p);
        }
    } else if (tc_arg_is(sub, "myid") && c->argc == 2) {
        tc_reply_bulk_ll(c->r, s->self->id);
    } else {
        tc_reply_errorf(c->r, "ERR Unknown sentinel subcommand '%.*s'", (int)(sub->len > 64 ? 64 : sub->len), sub->p);
    }
}
