/* tricachectl: the operator's tool. Reads cluster.toml, talks to the nodes
 * over RESP like any client.
 *   tricachectl [--config FILE] status
 *   tricachectl [--config FILE] failover [--to ID] [--timeout 5s]
 *   tricachectl [--config FILE] members list|add ID|remove ID|replace OLD NEW */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "resp_client.h"
#include "server.h"

#define TIMEOUT_MS 1000

typedef struct ctl {
    tc_config cfg;
} ctl;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tricachectl [--config FILE] status\n"
               "       tricachectl [--config FILE] failover [--to NODE_ID] [--timeout 5s]\n"
               "       tricachectl [--config FILE] members list | add ID | remove ID | replace OLD_ID NEW_ID\n"
               "       tricachectl --help | --version\n"
               "\n"
               "  --config FILE  the cluster's cluster.toml (default: ./cluster.toml)\n");
}

/* Opens a connection to a node and authenticates if the cluster wants it. */
static int open_node(ctl *x, const tc_node_conf *n, rc_conn *c, char *err, size_t errlen)
{
    if (rc_connect(c, n->client_host, n->client_port, TIMEOUT_MS, err, errlen) != 0) return -1;
    if (x->cfg.auth_token[0]) {
        const char *argv[] = {"AUTH", x->cfg.auth_token};
        rc_reply r;
        if (rc_command(c, &r, err, errlen, 2, argv) != 0 || r.type != '+') {
            if (r.type == '-') snprintf(err, errlen, "%s", r.str);
            rc_reply_free(&r);
            rc_close(c);
            return -1;
        }
        rc_reply_free(&r);
    }
    return 0;
}

/* One command to one node; the reply in *out. */
static int ask(ctl *x, const tc_node_conf *n, rc_reply *out, char *err, size_t errlen, int argc, const char **argv)
{
    rc_conn c;
    if (open_node(x, n, &c, err, errlen) != 0) return -1;
    int rc = rc_command(&c, out, err, errlen, argc, argv);
    rc_close(&c);
    return rc;
}

typedef struct node_view {
    int reachable;
    char role[16];
    unsigned long long term, commit, applied;
    char link[8];
    char error[256];
} node_view;

static unsigned long long field_ull(const char *info, const char *name)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s:", name);
    const char *p = strstr(info, needle);
    return p ? strtoull(p + strlen(needle), NULL, 10) : 0;
}

static void field_str(const char *info, const char *name, char *out, size_t len)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s:", name);
    const char *p = strstr(info, needle);
    out[0] = '\0';
    if (!p) return;
    p += strlen(needle);
    size_t n = strcspn(p, "\r\n");
    if (n >= len) n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void view_node(ctl *x, const tc_node_conf *n, node_view *v)
{
    memset(v, 0, sizeof *v);
    const char *argv[] = {"INFO", "replication"};
    rc_reply r;
    if (ask(x, n, &r, v->error, sizeof v->error, 2, argv) != 0) return;
    if (r.type != '$') {
        snprintf(v->error, sizeof v->error, "%s", r.str ? r.str : "unexpected reply");
        rc_reply_free(&r);
        return;
    }
    v->reachable = 1;
    char info[8192];
    snprintf(info, sizeof info, "\n%s", r.str);
    field_str(info, "role", v->role, sizeof v->role);
    field_str(info, "master_link_status", v->link, sizeof v->link);
    v->term = field_ull(info, "raft_term");
    v->commit = field_ull(info, "raft_commit_index");
    v->applied = field_ull(info, "raft_applied_index");
    rc_reply_free(&r);
}

/* Index of the primary in cfg.nodes, -1 if none answers as primary. */
static int find_primary(ctl *x)
{
    for (size_t i = 0; i < x->cfg.nnodes; i++) {
        node_view v;
        view_node(x, &x->cfg.nodes[i], &v);
        if (v.reachable && strcmp(v.role, "master") == 0) return (int)i;
    }
    return -1;
}

static int cmd_status(ctl *x)
{
    node_view views[TC_CONFIG_MAX_NODES];
    int primary = -1, down = 0;
    for (size_t i = 0; i < x->cfg.nnodes; i++) {
        view_node(x, &x->cfg.nodes[i], &views[i]);
        if (!views[i].reachable) down++;
        else if (strcmp(views[i].role, "master") == 0) primary = (int)i;
    }
    unsigned long long top = primary >= 0 ? views[primary].applied : 0;
    printf("%-4s %-12s %-22s %-12s %6s %10s %10s %8s  %s\n", "ID", "ZONE", "ADDRESS", "ROLE", "TERM", "COMMIT",
           "APPLIED", "LAG", "HEALTH");
    for (size_t i = 0; i < x->cfg.nnodes; i++) {
        const tc_node_conf *n = &x->cfg.nodes[i];
        node_view *v = &views[i];
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", n->client_host, n->client_port);
        if (!v->reachable) {
            printf("%-4d %-12s %-22s %-12s %6s %10s %10s %8s  unreachable (%s)\n", n->id, n->zone, addr, "-", "-",
                   "-", "-", "-", v->error);
            continue;
        }
        int is_primary = strcmp(v->role, "master") == 0;
        const char *health = is_primary ? "ok"
                             : primary < 0 ? "no primary"
                             : strcmp(v->link, "up") == 0 ? "ok"
                                                          : "stale link";
        long long lag = primary >= 0 && top > v->applied ? (long long)(top - v->applied) : 0;
        printf("%-4d %-12s %-22s %-12s %6llu %10llu %10llu %8lld  %s\n", n->id, n->zone, addr,
               is_primary ? "primary" : "replica", v->term, v->commit, v->applied, lag, health);
    }
    if (primary < 0) {
        fprintf(stderr, "tricachectl: the cluster has no primary\n");
        return 1;
    }
    if (down > 0) {
        fprintf(stderr, "tricachectl: %d of %zu nodes are unreachable%s\n", down, x->cfg.nnodes,
                (size_t)down * 2 >= x->cfg.nnodes ? " (no majority: writes stop)" : "");
        return 1;
    }
    return 0;
}

static int parse_ms(const char *s, long long *out)
{
    uint64_t ms;
    if (tc_parse_duration_ms(s, &ms) != 0) return -1;
    *out = (long long)ms;
    return 0;
}

/* FAILOVER on the primary while a probe key is written every millisecond;
 * reports how long writes were refused. */
static int cmd_failover(ctl *x, int to, long long timeout_ms)
{
    char err[256];
    int p = find_primary(x);
    if (p < 0) {
        fprintf(stderr, "tricachectl: no primary to fail over from\n");
        return 1;
    }
    const tc_node_conf *old = &x->cfg.nodes[p];
    if (to && (!tc_config_node(&x->cfg, to) || to == old->id)) {
        fprintf(stderr, "tricachectl: --to %d is not a replica of this cluster\n", to);
        return 2;
    }
    rc_conn c;
    if (open_node(x, old, &c, err, sizeof err) != 0) {
        fprintf(stderr, "tricachectl: %s\n", err);
        return 1;
    }
    rc_reply r = {0};
    char port[16] = "";
    const tc_node_conf *target = to ? tc_config_node(&x->cfg, to) : NULL;
    if (target) snprintf(port, sizeof port, "%d", target->client_port);
    const char *fo[] = {"FAILOVER", "TO", target ? target->client_host : "", port};
    long long last_ok = mono_ms(), first_fail = 0, start = mono_ms();
    if (rc_command(&c, &r, err, sizeof err, target ? 4 : 1, fo) != 0 || r.type != '+') {
        fprintf(stderr, "tricachectl: FAILOVER refused: %s\n", r.type == '-' ? r.str : err);
        rc_reply_free(&r);
        rc_close(&c);
        return 1;
    }
    rc_reply_free(&r);
    long long seq = 0, failed = 0;
    int cur = p;
    for (;;) {
        if (mono_ms() - start > timeout_ms) {
            fprintf(stderr, "tricachectl: no new primary acknowledged a write within %lld ms\n", timeout_ms);
            rc_close(&c);
            return 1;
        }
        char val[32];
        snprintf(val, sizeof val, "%lld", ++seq);
        const char *set[] = {"SET", "tricachectl:failover:probe", val};
        rc_reply pr = {0};
        int ok = c.fd >= 0 && rc_command(&c, &pr, err, sizeof err, 3, set) == 0 && pr.type == '+';
        rc_reply_free(&pr);
        if (ok && cur != p) {
            printf("primary moved from node %d to node %d\n", old->id, x->cfg.nodes[cur].id);
            printf("writes were refused for %lld ms (%lld attempts failed)\n",
                   first_fail ? mono_ms() - last_ok : 0, failed);
            rc_close(&c);
            return 0;
        }
        if (ok) {
            last_ok = mono_ms();
            continue;
        }
        if (!first_fail) first_fail = mono_ms();
        failed++;
        rc_close(&c);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        cur = find_primary(x);
        if (cur >= 0 && open_node(x, &x->cfg.nodes[cur], &c, err, sizeof err) != 0) c.fd = -1;
        if (cur < 0) c.fd = -1;
    }
}

static int print_members(rc_reply *r)
{
    printf("%-6s %-24s %-8s %s\n", "ID", "RAFT ADDRESS", "ROLE", "ZONE");
    for (size_t i = 0; i < r->n; i++) {
        rc_reply *m = &r->elems[i];
        if (m->n < 4) continue;
        printf("%-6lld %-24s %-8s %s\n", m->elems[0].integer, m->elems[1].str, m->elems[2].str, m->elems[3].str);
    }
    return 0;
}

static int members_call(ctl *x, int argc, const char **argv, rc_reply *out)
{
    char err[256];
    int p = find_primary(x);
    if (p < 0) {
        fprintf(stderr, "tricachectl: the cluster has no primary; membership cannot change\n");
        return 1;
    }
    if (ask(x, &x->cfg.nodes[p], out, err, sizeof err, argc, argv) != 0) {
        fprintf(stderr, "tricachectl: node %d: %s\n", x->cfg.nodes[p].id, err);
        return 1;
    }
    if (out->type == '-') {
        fprintf(stderr, "tricachectl: %s\n", out->str);
        rc_reply_free(out);
        return 1;
    }
    return 0;
}

static int cmd_members(ctl *x, int argc, char **argv)
{
    rc_reply r;
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        const char *a[] = {"MEMBERS", "LIST"};
        if (members_call(x, 2, a, &r) != 0) return 1;
        print_members(&r);
        rc_reply_free(&r);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "remove") == 0)) {
        const char *a[] = {"MEMBERS", strcmp(argv[0], "add") == 0 ? "ADD" : "REMOVE", argv[1]};
        if (members_call(x, 3, a, &r) != 0) return 1;
        printf("node %s %s\n", argv[1], strcmp(argv[0], "add") == 0 ? "is a voter now" : "was removed");
        rc_reply_free(&r);
        return 0;
    }
    if (argc == 3 && strcmp(argv[0], "replace") == 0) {
        /* one step at a time: the new node becomes a voter before the old
         * one leaves, so the voter count never drops */
        const char *add[] = {"MEMBERS", "ADD", argv[2]};
        if (members_call(x, 3, add, &r) != 0) return 1;
        rc_reply_free(&r);
        printf("node %s is a voter now\n", argv[2]);
        const char *rm[] = {"MEMBERS", "REMOVE", argv[1]};
        if (members_call(x, 3, rm, &r) != 0) return 1;
        rc_reply_free(&r);
        printf("node %s was removed\n", argv[1]);
        return 0;
    }
    fprintf(stderr, "tricachectl: members wants list | add ID | remove ID | replace OLD_ID NEW_ID\n");
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *config = "cluster.toml";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("tricachectl %s\n", TC_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr, "tricachectl: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    static ctl x;
    char err[2048];
    if (tc_config_load(&x.cfg, config, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    const char *cmd = argv[i++];
    if (strcmp(cmd, "status") == 0 && i == argc) return cmd_status(&x);
    if (strcmp(cmd, "members") == 0) return cmd_members(&x, argc - i, argv + i);
    if (strcmp(cmd, "failover") == 0) {
        int to = 0;
        long long timeout = 5000;
        for (; i < argc; i++) {
            if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
                to = atoi(argv[++i]);
            } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc && parse_ms(argv[i + 1], &timeout) == 0) {
                i++;
            } else {
                fprintf(stderr, "tricachectl: failover: unexpected '%s'\n", argv[i]);
                usage(stderr);
                return 2;
            }
        }
        return cmd_failover(&x, to, timeout);
    }
    fprintf(stderr, "tricachectl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
