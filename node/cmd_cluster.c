/* CLUSTER, READONLY, READWRITE for cluster-aware clients (cluster_mode):
 * the whole keyspace is one shard holding all 16384 slots, served by the
 * primary and readable on replicas that were told READONLY. Nodes this node
 * knows to be down are marked as Redis Cluster marks them (replication's
 * peer_alive says what it knows). */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "server.h"

#define NSLOTS 16384
#define ERR_NO_CLUSTER "ERR This instance has cluster support disabled"

/* CRC16-CCITT (XMODEM), as Redis Cluster uses for key slots. */
static uint16_t crc16(const char *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int tc_key_slot(const char *key, size_t len)
{
    /* {hash tags}: only the part between the first { and the next } counts */
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) return crc16(open + 1, (size_t)(close - open - 1)) & (NSLOTS - 1);
    }
    return crc16(key, len) & (NSLOTS - 1);
}

/* A stable 40-hex-digit node id (Redis Cluster's format) from the cluster
 * name and the node's id, the same on every node's answer. */
void tc_cluster_node_id(const tc_config *cfg, int id, char out[41])
{
    char seed[128];
    int n = snprintf(seed, sizeof seed, "tricache:%s:%d", cfg->cluster_name, id);
    unsigned char d[20];
    unsigned int dlen = 0;
    EVP_Digest(seed, (size_t)n, d, &dlen, EVP_sha1(), NULL);
    for (int i = 0; i < 20; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const tc_node_conf *primary_of(tc_server *s)
{
    int id = tc_server_primary_id(s);
    return id ? tc_config_node(&s->cfg, id) : NULL;
}

/* What this node can say of another's health, in Redis Cluster's terms:
 * FAIL when the primary has not heard from it for the failure window (the
 * primary speaks for the cluster: it holds the lead only while a majority
 * follows it), PFAIL ("fail?") when a replica has not heard from the
 * primary, OK otherwise, including when this node cannot tell (a replica
 * never hears from the other replicas; see raft/peer_liveness.c). */
enum { NODE_OK, NODE_PFAIL, NODE_FAIL };

static int node_health(tc_server *s, const tc_node_conf *p, int id)
{
    if (id == s->self->id || !s->repl.ops || !s->repl.ops->peer_alive) return NODE_OK;
    if (s->repl.ops->peer_alive(s->repl.ud, id) != 0) return NODE_OK;
    return p && p->id == s->self->id ? NODE_FAIL : NODE_PFAIL;
}

static void reply_node_triple(tc_reply *r, const tc_config *cfg, const tc_node_conf *n)
{
    char id[41];
    tc_cluster_node_id(cfg, n->id, id);
    tc_reply_array(r, 3);
    tc_reply_bulks(r, n->client_host);
    tc_reply_int(r, n->client_port);
    tc_reply_bulks(r, id);
}

/* The primary, then every replica not known to have failed (as Redis
 * leaves failed replicas out). */
static void cluster_slots(tc_ctx *c, const tc_node_conf *p)
{
    tc_server *s = c->srv;
    const tc_config *cfg = &s->cfg;
    if (!p) {
        tc_reply_array(c->r, 0);
        return;
    }
    int listed[TC_CONFIG_MAX_NODES] = {0};
    size_t n = 0;
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (cfg->nodes[i].id != p->id && node_health(s, p, cfg->nodes[i].id) != NODE_FAIL) listed[i] = 1, n++;
    tc_reply_array(c->r, 1);
    tc_reply_array(c->r, 3 + n);
    tc_reply_int(c->r, 0);
    tc_reply_int(c->r, NSLOTS - 1);
    reply_node_triple(c->r, cfg, p);
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (listed[i]) reply_node_triple(c->r, cfg, &cfg->nodes[i]);
}

static void cluster_shards(tc_ctx *c, const tc_node_conf *p)
{
    tc_server *s = c->srv;
    const tc_config *cfg = &s->cfg;
    tc_reply_array(c->r, 1);
    tc_reply_map(c->r, 2);
    tc_reply_bulks(c->r, "slots");
    tc_reply_array(c->r, 2);
    tc_reply_int(c->r, 0);
    tc_reply_int(c->r, NSLOTS - 1);
    tc_reply_bulks(c->r, "nodes");
    tc_reply_array(c->r, cfg->nnodes);
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const tc_node_conf *n = &cfg->nodes[i];
        char id[41];
        tc_cluster_node_id(cfg, n->id, id);
        tc_reply_map(c->r, 6);
        tc_reply_bulks(c->r, "id");
        tc_reply_bulks(c->r, id);
        tc_reply_bulks(c->r, "port");
        tc_reply_int(c->r, n->client_port);
        tc_reply_bulks(c->r, "ip");
        tc_reply_bulks(c->r, n->client_host);
        tc_reply_bulks(c->r, "endpoint");
        tc_reply_bulks(c->r, n->client_host);
        tc_reply_bulks(c->r, "role");
        tc_reply_bulks(c->r, p && p->id == n->id ? "master" : "replica");
        tc_reply_bulks(c->r, "health");
        tc_reply_bulks(c->r, node_health(s, p, n->id) == NODE_FAIL ? "fail" : "online");
    }
}

/* Redis Cluster's line per node:
 * <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> [<slots>] */
static void cluster_nodes(tc_ctx *c, const tc_node_conf *p)
{
    tc_server *s = c->srv;
    const tc_config *cfg = &s->cfg;
    tc_buf b = {0};
    char pid[41] = "-";
    if (p) tc_cluster_node_id(cfg, p->id, pid);
    for (size_t i = 0; i < cfg->nnodes; i++) {
        const tc_node_conf *n = &cfg->nodes[i];
        char id[41];
        tc_cluster_node_id(cfg, n->id, id);
        int is_primary = p && p->id == n->id, me = n->id == s->self->id;
        int health = node_health(s, p, n->id);
        tc_buf_printf(&b, "%s %s:%d@%d %s%s%s %s 0 0 0 %s%s\n", id, n->client_host, n->client_port, n->raft_port,
                      me ? "myself," : "", is_primary ? "master" : "slave",
                      health == NODE_FAIL ? ",fail" : health == NODE_PFAIL ? ",fail?" : "", is_primary ? "-" : pid,
                      health == NODE_OK ? "connected" : "disconnected", is_primary ? " 0-16383" : "");
    }
    tc_reply_verbatim(c->r, b.data ? b.data : "", b.len);
    tc_buf_free(&b);
}

static void cluster_info(tc_ctx *c, const tc_node_conf *p)
{
    tc_buf b = {0};
    tc_buf_printf(&b,
                  "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:%d\r\n"
                  "cluster_slots_pfail:0\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%zu\r\ncluster_size:1\r\n",
                  p ? "ok" : "fail", p ? NSLOTS : 0, p ? 0 : NSLOTS, c->srv->cfg.nnodes);
    tc_reply_verbatim(c->r, b.data, b.len);
    tc_buf_free(&b);
}

void tc_cmd_cluster(tc_ctx *c)
{
    if (!c->srv->cfg.cluster_mode) {
        tc_reply_error(c->r, ERR_NO_CLUSTER);
        return;
    }
    const tc_slice *sub = &c->argv[1];
    const tc_node_conf *p = primary_of(c->srv);
    if (tc_arg_is(sub, "slots") && c->argc == 2) cluster_slots(c, p);
    else if (tc_arg_is(sub, "shards") && c->argc == 2) cluster_shards(c, p);
    else if (tc_arg_is(sub, "nodes") && c->argc == 2) cluster_nodes(c, p);
    else if (tc_arg_is(sub, "info") && c->argc == 2) cluster_info(c, p);
    else if (tc_arg_is(sub, "myid") && c->argc == 2) {
        char id[41];
        tc_cluster_node_id(&c->srv->cfg, c->srv->self->id, id);
        tc_reply_bulks(c->r, id);
    } else if (tc_arg_is(sub, "keyslot") && c->argc == 3) {
        tc_reply_int(c->r, tc_key_slot(c->argv[2].p, c->argv[2].len));
    } else {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try CLUSTER HELP.", (int)(sub->len > 64 ? 64 : sub->len),
                        sub->p);
    }
}

/* READONLY / READWRITE: whether a cluster client reads from this replica
 * or is redirected to the primary. */
static void set_readonly(tc_ctx *c, int on)
{
    if (!c->srv->cfg.cluster_mode) {
        tc_reply_error(c->r, ERR_NO_CLUSTER);
        return;
    }
    if (c->client) c->client->cluster_readonly = on;
    tc_reply_ok(c->r);
}

void tc_cmd_readonly(tc_ctx *c) { set_readonly(c, 1); }
void tc_cmd_readwrite(tc_ctx *c) { set_readonly(c, 0); }
