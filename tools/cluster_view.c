#include "cluster_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ctl_role_name(int role)
{
    switch (role) {
    case CTL_ROLE_PRIMARY: return "primary";
    case CTL_ROLE_REPLICA: return "replica";
    case CTL_ROLE_CANDIDATE: return "candidate";
    default: return "unreachable";
    }
}

int ctl_cluster_tls(ctl_cluster *cl, char *err, size_t len)
{
    const tc_config *cfg = &cl->cfg;
    if (cfg->transit_mode != TC_TRANSIT_REQUIRED) return 0;
    char why[512];
    cl->tls = tc_rc_tls_new(cfg->tls_ca_cert_file, cfg->tls_ca_cert_dir, cfg->tls_cert_file, cfg->tls_key_file, why,
                            sizeof why);
    if (!cl->tls) {
        snprintf(err, len, "%s: transit_encryption_mode is \"required\", so tricachectl speaks TLS to the nodes, but %s",
                 cfg->path, why);
        return -1;
    }
    return 0;
}

int ctl_node_connect(const ctl_cluster *cl, const tc_node_conf *n, tc_rc *c)
{
    if (cl->tls && n->tls_port) return tc_rc_connect_tls(c, n->tls_host, n->tls_port, cl->timeout_ms, cl->tls);
    return tc_rc_connect(c, n->client_host, n->client_port, cl->timeout_ms);
}

void ctl_node_addr(const ctl_cluster *cl, const tc_node_conf *n, char *out, size_t len)
{
    if (cl->tls && n->tls_port) snprintf(out, len, "%s:%d", n->tls_host, n->tls_port);
    else snprintf(out, len, "%s:%d", n->client_host, n->client_port);
}

int ctl_node_open(const ctl_cluster *cl, const tc_node_conf *n, tc_rc *c)
{
    int rc = ctl_node_connect(cl, n, c);
    if (rc != 0 || !cl->cfg.auth_token[0]) return rc;
    const char *argv[] = {"AUTH", cl->cfg.auth_token};
    tc_rc_reply r;
    rc = tc_rc_command(c, &r, 2, argv, NULL);
    if (rc == 0 && r.type != TC_RC_STATUS) {
        snprintf(c->err, sizeof c->err, "AUTH refused: %s (check auth_token in %s)", r.str ? r.str : "unexpected reply",
                 cl->cfg.path);
        rc = -EACCES;
    }
    tc_rc_reply_free(&r);
    if (rc != 0 && c->fd >= 0) {
        /* keep the message: tc_rc_close leaves err alone */
        tc_rc_close(c);
    }
    return rc;
}

int ctl_info_field(const char *info, const char *name, char *out, size_t len)
{
    size_t nlen = strlen(name);
    out[0] = '\0';
    for (const char *p = info; p && *p;) {
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t vlen = strcspn(v, "\r\n");
            if (vlen >= len) vlen = len - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

static unsigned long long field_ull(const char *info, const char *name)
{
    char v[32];
    if (ctl_info_field(info, name, v, sizeof v) != 0) return 0;
    return strtoull(v, NULL, 10);
}

/* A node that refused to start left why in its data directory; readable
 * when tricachectl runs where the node does. */
static void read_startup_error(const ctl_cluster *cl, const tc_node_conf *n, ctl_node_view *v)
{
    char dir[TC_CONFIG_MAX_STR * 2], path[TC_CONFIG_MAX_STR * 2 + 32];
    tc_config_node_dir(&cl->cfg, n, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, TC_STARTUP_ERROR_FILE);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t len = fread(v->startup_error, 1, sizeof v->startup_error - 1, f);
    fclose(f);
    while (len > 0 && (v->startup_error[len - 1] == '\n' || v->startup_error[len - 1] == '\r')) len--;
    v->startup_error[len] = '\0';
}

void ctl_view_node(const ctl_cluster *cl, const tc_node_conf *n, ctl_node_view *v)
{
    memset(v, 0, sizeof *v);
    v->conf = n;
    v->role = CTL_ROLE_UNREACHABLE;
    tc_rc c;
    if (ctl_node_open(cl, n, &c) != 0) {
        snprintf(v->error, sizeof v->error, "%s", c.err);
        tc_rc_close(&c);
        read_startup_error(cl, n, v);
        return;
    }
    const char *argv[] = {"INFO", "replication", "memory"};
    tc_rc_reply r;
    int rc = tc_rc_command(&c, &r, 3, argv, NULL);
    if (rc != 0) {
        char addr[TC_CONFIG_MAX_STR + 16];
        ctl_node_addr(cl, n, addr, sizeof addr);
        snprintf(v->error, sizeof v->error, "%s: %s", addr, c.err);
    }
    tc_rc_close(&c);
    if (rc != 0) return;
    if (r.type != TC_RC_BULK) {
        snprintf(v->error, sizeof v->error, "INFO replication answered %s", r.str ? r.str : "an unexpected reply");
        tc_rc_reply_free(&r);
        return;
    }
    const char *info = r.str;
    if (strncmp(info, "txt:", 4) == 0) info += 4; /* RESP3 verbatim */
    char role[16], link[8], port[16];
    ctl_info_field(info, "role", role, sizeof role);
    ctl_info_field(info, "raft_state", v->raft_state, sizeof v->raft_state);
    ctl_info_field(info, "master_link_status", link, sizeof link);
    ctl_info_field(info, "master_host", v->master_host, sizeof v->master_host);
    ctl_info_field(info, "master_port", port, sizeof port);
    v->master_port = atoi(port);
    v->link_up = strcmp(link, "up") == 0;
    v->term = field_ull(info, "raft_term");
    v->commit = field_ull(info, "raft_commit_index");
    v->applied = field_ull(info, "raft_applied_index");
    v->last_index = field_ull(info, "raft_last_index");
    char write_ok[8];
    ctl_info_field(info, "raft_log_write_ok", write_ok, sizeof write_ok);
    if (strcmp(write_ok, "0") == 0) {
        ctl_info_field(info, "raft_log_last_write_error", v->disk_error, sizeof v->disk_error);
        if (!v->disk_error[0]) snprintf(v->disk_error, sizeof v->disk_error, "unknown error");
    }
    v->mem_exceeded = field_ull(info, "maxmemory_exceeded") != 0;
    v->used_memory = field_ull(info, "used_memory");
    v->maxmemory = field_ull(info, "maxmemory");
    if (strcmp(role, "master") == 0) v->role = CTL_ROLE_PRIMARY;
    else if (strcmp(v->raft_state, "candidate") == 0) v->role = CTL_ROLE_CANDIDATE;
    else if (strcmp(role, "slave") == 0) v->role = CTL_ROLE_REPLICA;
    else snprintf(v->error, sizeof v->error, "INFO replication has no role");
    tc_rc_reply_free(&r);
}

int ctl_view_cluster(const ctl_cluster *cl, ctl_node_view *views, int *claimants)
{
    int primary = -1, count = 0;
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        ctl_view_node(cl, &cl->cfg.nodes[i], &views[i]);
        if (views[i].role != CTL_ROLE_PRIMARY) continue;
        count++;
        if (primary < 0 || views[i].term > views[primary].term) primary = (int)i;
    }
    if (claimants) *claimants = count;
    return primary;
}

int ctl_node_by_addr(const ctl_cluster *cl, const char *host, int port)
{
    for (size_t i = 0; i < cl->cfg.nnodes; i++)
        if (cl->cfg.nodes[i].client_port == port && strcmp(cl->cfg.nodes[i].client_host, host) == 0) return (int)i;
    return -1;
}
