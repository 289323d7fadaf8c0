/* What each node of cluster.toml says about itself (INFO replication), and
 * the cluster's primary as the nodes see it. */
#ifndef TC_TOOLS_CLUSTER_VIEW_H
#define TC_TOOLS_CLUSTER_VIEW_H

#include "config.h"
#include "common.h"

typedef struct ctl_cluster {
    tc_config cfg;
    int timeout_ms; /* per connect / per reply */
    /* With transit_encryption_mode = "required" the plain client ports
     * answer nothing but an error: the tool then speaks TLS to each node's
     * tls_client_addr, trusting tls_ca_cert_file/_dir and showing
     * tls_cert_file/_key_file when the node asks for a client certificate. */
    tc_rc_tls *tls;
} ctl_cluster;

/* Loads what cl->tls needs from cl->cfg (nothing unless TLS is required):
 * 0, or -1 with a sentence in err. */
int ctl_cluster_tls(ctl_cluster *cl, char *err, size_t len);
/* A connection to node n's client port (its TLS port when cl->tls), not
 * authenticated: tc_rc_connect's result. */
int ctl_node_connect(const ctl_cluster *cl, const tc_node_conf *n, tc_rc *c);
/* "host:port" of that port, for messages and tables. */
void ctl_node_addr(const ctl_cluster *cl, const tc_node_conf *n, char *out, size_t len);

enum ctl_role {
    CTL_ROLE_UNREACHABLE, /* no answer, or an error instead of INFO */
    CTL_ROLE_PRIMARY,     /* role:master */
    CTL_ROLE_REPLICA,     /* role:slave, Raft follower */
    CTL_ROLE_CANDIDATE,   /* role:slave, Raft candidate: an election is running */
};

typedef struct ctl_node_view {
    const tc_node_conf *conf;
    int role;                   /* enum ctl_role */
    char raft_state[16];        /* leader | follower | candidate | unavailable */
    unsigned long long term, commit, applied, last_index;
    int link_up;                /* replica: master_link_status:up */
    int master_port;            /* replica: the primary it follows, 0 if none */
    char master_host[TC_CONFIG_MAX_STR];
    char error[640];            /* why it is unreachable */
    char disk_error[160];       /* raft_log_last_write_error: why it cannot write its log, "" if it can */
    int mem_exceeded;           /* maxmemory_exceeded:1 (INFO memory): holds more than maxmemory */
    unsigned long long used_memory, maxmemory;
    /* unreachable: why its last start was refused, when its data directory
     * is readable from here (TC_STARTUP_ERROR_FILE), else "" */
    char startup_error[1024];
} ctl_node_view;

const char *ctl_role_name(int role);

/* Connects to a node and sends AUTH when the config has an auth_token.
 * 0 or a negative errno; c->err says why. */
int ctl_node_open(const ctl_cluster *cl, const tc_node_conf *n, tc_rc *c);

/* Asks one node INFO replication and memory; never fails (an unreachable node is a view
 * with role CTL_ROLE_UNREACHABLE and an error). */
void ctl_view_node(const ctl_cluster *cl, const tc_node_conf *n, ctl_node_view *v);

/* Views every node of the config into views[0..nnodes). Returns the index of
 * the primary, or -1. When several nodes claim the role (a deposed primary
 * that has not heard of the new term yet) the one with the highest term
 * wins; *claimants (if not NULL) gets how many claimed it. */
int ctl_view_cluster(const ctl_cluster *cl, ctl_node_view *views, int *claimants);

/* Index in cfg.nodes of the node with this client address, or -1. */
int ctl_node_by_addr(const ctl_cluster *cl, const char *host, int port);

/* The value of `name:` in an INFO text into out ("" if absent); 0 or -1. */
int ctl_info_field(const char *info, const char *name, char *out, size_t len);

#endif
