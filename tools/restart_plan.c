/* tricachectl restart-plan: the order and the commands for restarting (or
 * upgrading) every node of cluster.toml one at a time, after checking that
 * the cluster can lose one node right now.
 *
 * The order is the upgrade rule of the README: replicas first (by id), the
 * primary last. A replica's restart costs nothing; the primary hands its
 * leadership to a caught-up replica when it gets SIGTERM, so the one
 * election-free transfer happens once, at the end. Upgrading replicas
 * first also means an old node never follows a new primary, whose log
 * entries it may not read. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_commands.h"

/* Samples the cluster until it is healthy with every replica caught up, or
 * until timeout_ms: a cluster under write load shows a lag of a few entries
 * in most samples, but one with a replica falling behind never shows zero. */
#define SAMPLE_EVERY_MS 50

typedef struct precheck {
    int primary;  /* index into cfg.nodes, -1 if none */
    int reach_ok; /* every node answers, exactly one primary */
    int lag_ok;   /* every replica linked to it and caught up */
    char why[TC_CONFIG_MAX_NODES + 2][720]; /* room for a node view's error (640) */
    int nwhy;
} precheck;

static void judge(const ctl_cluster *cl, const ctl_node_view *v, int primary, int claimants, precheck *p)
{
    size_t n = cl->cfg.nnodes;
    p->primary = primary;
    p->nwhy = 0;
    p->reach_ok = p->lag_ok = 1;
    if (primary < 0) {
        snprintf(p->why[p->nwhy++], sizeof p->why[0], "no node answers as primary");
        p->reach_ok = p->lag_ok = 0;
    } else if (claimants > 1) {
        snprintf(p->why[p->nwhy++], sizeof p->why[0], "%d nodes answer as primary (an election is under way)",
                 claimants);
        p->reach_ok = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const ctl_node_view *x = &v[i];
        if (x->role == CTL_ROLE_UNREACHABLE) {
            snprintf(p->why[p->nwhy++], sizeof p->why[0], "node %d is unreachable: %s", x->conf->id, x->error);
            p->reach_ok = p->lag_ok = 0;
        } else if (primary >= 0 && (int)i != primary) {
            unsigned long long top = v[primary].applied, behind = top > x->applied ? top - x->applied : 0;
            if (x->role != CTL_ROLE_REPLICA || !x->link_up) {
                snprintf(p->why[p->nwhy++], sizeof p->why[0], "node %d is not a replica with its link up (%s)",
                         x->conf->id, x->raft_state);
                p->lag_ok = 0;
            } else if (behind) {
                snprintf(p->why[p->nwhy++], sizeof p->why[0], "node %d lags the primary by %llu entr%s",
                         x->conf->id, behind, behind == 1 ? "y" : "ies");
                p->lag_ok = 0;
            }
        }
    }
}

/* One command of the plan and, aligned after it, why. */
static void print_cmd(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void print_cmd(const char *why, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("  %-60s # %s\n", line, why);
}

static void print_step(const ctl_cluster *cl, const char *config, int step, const tc_node_conf *c, int is_primary)
{
    printf("\nstep %d: node %d (%s, zone %s, %s:%d)\n", step, c->id, is_primary ? "primary" : "replica",
           c->zone, c->client_host, c->client_port);
    /* the token is not printed: --askpass makes redis-cli ask for it */
    print_cmd(is_primary ? "or SIGTERM: hands over to a caught-up replica, then exits"
                         : "or SIGTERM: a replica leaves at once",
              "redis-cli -h %s -p %d%s%s SHUTDOWN", cl->tls ? c->tls_host : c->client_host,
              cl->tls ? c->tls_port : c->client_port, cl->tls ? " --tls --cacert CA [--cert C --key K]" : "",
              cl->cfg.auth_token[0] ? " --askpass" : "");
    print_cmd("the new binary or configuration", "tricache --config %s --node %d", config, c->id);
    print_cmd("waits until it caught up: must exit 0", "tricachectl --config %s restart-plan --timeout 60s",
              config);
}

int ctl_cmd_restart_plan(const ctl_cluster *cl, const char *config, long long timeout_ms)
{
    size_t n = cl->cfg.nnodes;
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    precheck p = {0};
    long long deadline = ctl_now_ms() + timeout_ms;
    for (;;) {
        int claimants = 0;
        int primary = ctl_view_cluster(cl, views, &claimants);
        judge(cl, views, primary, claimants, &p);
        if ((p.reach_ok && p.lag_ok) || ctl_now_ms() >= deadline) break;
        struct timespec ts = {0, SAMPLE_EVERY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }

    printf("pre-checks:\n");
    printf("  every node reachable and one primary: %s\n", p.reach_ok ? "ok" : "FAILED");
    printf("  replicas linked and caught up (lag 0): %s\n", p.lag_ok ? "ok" : "FAILED");
    if (!p.reach_ok || !p.lag_ok) {
        for (int i = 0; i < p.nwhy; i++) fprintf(stderr, "tricachectl: restart-plan: %s\n", p.why[i]);
        fprintf(stderr, "tricachectl: restart-plan: not safe to take a node down now; fix the above and run it again\n");
        return CTL_EXIT_CLUSTER;
    }

    /* cfg.nodes is in file order; ids ascend through the replicas so the
     * plan reads the same whatever order the file lists them in */
    int order[TC_CONFIG_MAX_NODES], k = 0;
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < n; i++) {
            if ((int)i == p.primary) continue;
            int used = 0;
            for (int j = 0; j < k; j++) used |= order[j] == (int)i;
            if (!used && (best < 0 || cl->cfg.nodes[i].id < cl->cfg.nodes[best].id)) best = (int)i;
        }
        if (best < 0) break;
        order[k++] = best;
    }
    order[k++] = p.primary;

    printf("\norder:");
    for (int i = 0; i < k; i++) printf(" %d", cl->cfg.nodes[order[i]].id);
    printf("   (replicas by id, then the primary, node %d)\n", cl->cfg.nodes[p.primary].id);
    for (int i = 0; i < k; i++) print_step(cl, config, i + 1, &cl->cfg.nodes[order[i]], order[i] == p.primary);
    printf("\none node at a time: start the next step only when restart-plan exits 0 again.\n");
    return CTL_EXIT_OK;
}
