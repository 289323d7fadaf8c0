/* The cluster under test: its cluster.toml, its processes and finding its
 * primary over the wire, the way a client would. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define PROBE_TIMEOUT_MS 300

static const char *const faketime_paths[] = {
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
    "/usr/local/lib/faketime/libfaketimeMT.so.1",
};

/* Can 127.0.0.1:port be bound right now? */
static bool port_free(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* A base port p such that p..p+n-1 and p+100..p+100+n-1 are free. */
static int pick_local_ports(int n) {
    for (int t = 0; t < 400; t++) {
        int base = 20000 + (int)((getpid() + t * 7) % 400) * 100 + (t % 5) * 10;
        bool ok = true;
        for (int i = 0; i < n && ok; i++)
            ok = port_free(base + i) && port_free(base + 1000 + i);
        if (ok)
            return base;
    }
    return -1;
}

/* --tls: the certificates, and the context the run's clients use. */
static int tls_setup(jl_cluster *c, char *err, size_t errlen) {
    char dir[460], ca[480], cert[480], key[480];
    snprintf(dir, sizeof dir, "%s/tls", c->dir);
    if (jl_certs_make(dir, c, err, errlen) != 0)
        return -1;
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(cert, sizeof cert, "%s/client.crt", dir);
    snprintf(key, sizeof key, "%s/client.key", dir);
    c->tls = tc_rc_tls_new(ca, NULL, cert, key, err, errlen);
    return c->tls ? 0 : -1;
}

int jl_cluster_init(jl_cluster *c, int n, const char *dir, const char *tricache, jl_net *net, int base_port,
                    bool tls, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->net = net;
    c->out_of_voters = -1;
    tc_rc_init(&c->stall);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->tricache, sizeof c->tricache, "%s", tricache);
    snprintf(c->config, sizeof c->config, "%s/cluster.toml", dir);
    for (size_t i = 0; i < sizeof faketime_paths / sizeof *faketime_paths; i++)
        if (access(faketime_paths[i], R_OK) == 0) {
            snprintf(c->faketime_lib, sizeof c->faketime_lib, "%s", faketime_paths[i]);
            break;
        }
    if (!net && base_port <= 0 && (base_port = pick_local_ports(n)) < 0) {
        snprintf(err, errlen, "no free ports on 127.0.0.1 for %d nodes", n);
        return -1;
    }
    FILE *f = fopen(c->config, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", c->config, strerror(errno));
        return -1;
    }
    fprintf(f, "# written by jepsen-lite run\ncluster_name = \"jepsen\"\ndata_dir = \"%s/data\"\n"
               "# a read reaching a node that is no longer the primary is redirected (-MOVED),\n"
               "# never answered from a replica's copy: reads in the history are primary reads\n"
               "cluster_mode = true\n",
            dir);
    if (tls)
        fprintf(f, "# --tls: TLS only, for clients and between nodes, client certificates required\n"
                   "transit_encryption_mode = \"required\"\ntls_replication = true\ntls_auth_clients = \"yes\"\n"
                   "tls_ca_cert_file = \"%s/tls/ca.crt\"\ntls_cert_file = \"%s/tls/server.crt\"\n"
                   "tls_key_file = \"%s/tls/server.key\"\ntls_raft_cert_file = \"%s/tls/node-{id}.crt\"\n"
                   "tls_raft_key_file = \"%s/tls/node-{id}.key\"\n",
                dir, dir, dir, dir, dir);
    for (int i = 0; i < n; i++) {
        jl_node *nd = &c->nodes[i];
        nd->id = i + 1;
        if (net) {
            jl_net_node_addr(net, i, nd->host, sizeof nd->host);
            nd->port = 7001;
            nd->raft_port = 7101;
        } else {
            snprintf(nd->host, sizeof nd->host, "127.0.0.1");
            nd->port = base_port + i;
            nd->raft_port = base_port + 1000 + i;
        }
        snprintf(nd->log, sizeof nd->log, "%s/node-%d.log", dir, nd->id);
        fprintf(f, "\n[[node]]\nid = %d\nzone = \"zone-%c\"\nclient_addr = \"%s:%d\"\nraft_addr = \"%s:%d\"\n",
                nd->id, 'a' + i, nd->host, nd->port, nd->host, nd->raft_port);
        if (tls) {
            nd->tls_port = net ? 7201 : base_port + 2000 + i;
            fprintf(f, "tls_client_addr = \"%s:%d\"\n", nd->host, nd->tls_port);
        }
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", c->config, strerror(errno));
        return -1;
    }
    return tls ? tls_setup(c, err, errlen) : 0;
}

void jl_cluster_free(jl_cluster *c) {
    tc_rc_tls_free(c->tls);
    c->tls = NULL;
}

int jl_node_connect(const jl_cluster *c, int i, tc_rc *rc, int timeout_ms) {
    const jl_node *nd = &c->nodes[i];
    if (c->tls)
        return tc_rc_connect_tls(rc, nd->host, nd->tls_port, timeout_ms, c->tls);
    return tc_rc_connect(rc, nd->host, nd->port, timeout_ms);
}

static void log_mark(const jl_node *nd, const char *what) {
    FILE *f = fopen(nd->log, "a");
    if (f) {
        fprintf(f, "=== jepsen-lite: %s ===\n", what);
        fclose(f);
    }
}

int jl_node_start(jl_cluster *c, int i) {
    jl_node *nd = &c->nodes[i];
    if (nd->pid > 0)
        return 0;
    char id[16], ft[64];
    snprintf(id, sizeof id, "%d", nd->id);
    char *argv[] = {c->tricache, "--config", c->config, "--node", id, NULL};
    char preload[300];
    char *env[] = {preload, ft, "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_NO_CACHE=1", NULL};
    bool skew = nd->skew_s != 0 && c->faketime_lib[0];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", c->faketime_lib);
    snprintf(ft, sizeof ft, "FAKETIME=%+d", nd->skew_s);
    char mark[96];
    snprintf(mark, sizeof mark, "start%s%s", skew ? " with clock offset " : "", skew ? ft + 9 : "");
    log_mark(nd, mark);
    pid_t pid = jl_proc_spawn(c->net ? jl_net_node_ns(c->net, i) : NULL, argv, skew ? env : NULL, nd->log);
    if (pid < 0)
        return -1;
    nd->pid = pid;
    nd->state = JL_NODE_UP;
    if (c->n_pids < sizeof c->pids / sizeof *c->pids)
        c->pids[c->n_pids++] = pid;
    return 0;
}

void jl_node_kill(jl_cluster *c, int i) {
    jl_node *nd = &c->nodes[i];
    if (nd->pid <= 0)
        return;
    kill(nd->pid, SIGKILL);
    while (waitpid(nd->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    nd->pid = 0;
    nd->state = JL_NODE_DOWN;
    log_mark(nd, "killed (SIGKILL)");
}

void jl_node_pause(jl_cluster *c, int i) {
    jl_node *nd = &c->nodes[i];
    if (nd->pid > 0 && nd->state == JL_NODE_UP && kill(nd->pid, SIGSTOP) == 0)
        nd->state = JL_NODE_PAUSED;
}

void jl_node_resume(jl_cluster *c, int i) {
    jl_node *nd = &c->nodes[i];
    if (nd->pid > 0 && nd->state == JL_NODE_PAUSED && kill(nd->pid, SIGCONT) == 0)
        nd->state = JL_NODE_UP;
}

void jl_cluster_stop(jl_cluster *c) {
    tc_rc_close(&c->stall);
    for (int i = 0; i < c->n; i++) {
        jl_node_resume(c, i);
        jl_node_kill(c, i);
    }
}

/* Value of an INFO field ("name:value\r\n"), copied into out. */
static bool info_field(const char *info, const char *name, char *out, size_t len) {
    size_t nl = strlen(name);
    for (const char *p = info; p && *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            size_t k = strcspn(v, "\r\n");
            if (k >= len)
                k = len - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return false;
}

int jl_cluster_primary(jl_cluster *c, int timeout_ms) {
    int best = -1;
    long long best_term = -1;
    for (int i = 0; i < c->n; i++) {
        tc_rc rc;
        tc_rc_init(&rc);
        if (jl_node_connect(c, i, &rc, timeout_ms) != 0)
            continue;
        tc_rc_reply r;
        const char *argv[] = {"INFO", "replication"};
        if (jl_call(&rc, timeout_ms, &r, 2, argv) == 0 && r.type == TC_RC_BULK) {
            char role[32], term[32];
            if (info_field(r.str, "role", role, sizeof role) && strcmp(role, "master") == 0) {
                long long t = info_field(r.str, "raft_term", term, sizeof term) ? atoll(term) : 0;
                if (t > best_term) {
                    best_term = t;
                    best = i;
                }
            }
        }
        tc_rc_reply_free(&r);
        tc_rc_close(&rc);
    }
    return best;
}

int jl_call(tc_rc *c, int timeout_ms, tc_rc_reply *out, int argc, const char *const argv[]) {
    c->timeout_ms = timeout_ms;
    int rc = tc_rc_command(c, out, argc, argv, NULL);
    if (rc == 0)
        return 0;
    /* tc_rc_command closed the connection (if it was open) */
    if (!c->sent)
        return JL_RC_NOTSENT;
    return rc == -ETIMEDOUT ? JL_RC_TIMEOUT : JL_RC_LOST;
}

int jl_cluster_call(jl_cluster *c, int i, int timeout_ms, tc_rc_reply *out, int argc, const char *const argv[]) {
    memset(out, 0, sizeof *out);
    tc_rc rc;
    tc_rc_init(&rc);
    if (jl_node_connect(c, i, &rc, PROBE_TIMEOUT_MS) != 0)
        return JL_RC_NOTSENT;
    int r = jl_call(&rc, timeout_ms, out, argc, argv);
    tc_rc_close(&rc);
    return r;
}

/* One command on node i; true if the reply is a status or bulk string
 * equal to want (want NULL: any non-error reply). */
static bool ask(jl_cluster *c, int i, int argc, const char *const argv[], const char *want) {
    tc_rc rc;
    tc_rc_init(&rc);
    if (jl_node_connect(c, i, &rc, PROBE_TIMEOUT_MS) != 0)
        return false;
    tc_rc_reply r;
    /* cluster_mode: a replica answers reads only after READONLY */
    const char *ro[] = {"READONLY"};
    if (jl_call(&rc, 1000, &r, 1, ro) != 0) {
        tc_rc_close(&rc);
        return false;
    }
    tc_rc_reply_free(&r);
    bool ok = jl_call(&rc, 1000, &r, argc, argv) == 0 && r.type != TC_RC_ERROR &&
              (!want || ((r.type == TC_RC_STATUS || r.type == TC_RC_BULK) && strcmp(r.str, want) == 0));
    tc_rc_reply_free(&r);
    tc_rc_close(&rc);
    return ok;
}

int jl_cluster_wait_writable(jl_cluster *c, int deadline_ms) {
    int64_t end = jl_now_ns() + (int64_t)deadline_ms * 1000000;
    do {
        int p = jl_cluster_primary(c, PROBE_TIMEOUT_MS);
        if (p >= 0) {
            const char *argv[] = {"SET", "jepsen-lite:probe", "1"};
            if (ask(c, p, 3, argv, "OK"))
                return p;
        }
        jl_sleep_ms(100);
    } while (jl_now_ns() < end);
    return -1;
}

int jl_cluster_wait_converged(jl_cluster *c, const char *key, const char *value, int deadline_ms) {
    int64_t end = jl_now_ns() + (int64_t)deadline_ms * 1000000;
    for (int i = 0; i < c->n; i++) {
        const char *argv[] = {"GET", key};
        while (!ask(c, i, 2, argv, value)) {
            if (jl_now_ns() >= end)
                return -1;
            jl_sleep_ms(100);
        }
    }
    return 0;
}
