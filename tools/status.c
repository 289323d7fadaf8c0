/* tricachectl status: one row per [[node]] of the config, and an exit code a
 * script can branch on. */
#include <stdio.h>
#include <string.h>

#include "common.h" /* tc_json_write_str */
#include "ctl_commands.h"
#include "progress.h"

typedef struct row {
    const char *health;
    char text[200];          /* health when it needs words of its own */
    long long lag; /* -1 when unknown */
} row;

typedef struct summary {
    int primary;   /* index, -1 if none */
    int claimants; /* nodes answering role:master */
    int down;      /* unreachable nodes */
    int disk_failing; /* nodes that cannot write their log */
    char problems[4][512];
    int nproblems;
} summary;

static void judge(const ctl_cluster *cl, ctl_node_view *v, row *rows, summary *s)
{
    size_t n = cl->cfg.nnodes;
    s->primary = ctl_view_cluster(cl, v, &s->claimants);
    s->down = 0;
    s->disk_failing = 0;
    for (size_t i = 0; i < n; i++) s->down += v[i].role == CTL_ROLE_UNREACHABLE;
    unsigned long long top = s->primary >= 0 ? v[s->primary].applied : 0;
    for (size_t i = 0; i < n; i++) {
        rows[i].lag = -1;
        if (v[i].role == CTL_ROLE_UNREACHABLE) {
            rows[i].health = "unreachable";
            continue;
        }
        if (s->primary >= 0) rows[i].lag = top > v[i].applied ? (long long)(top - v[i].applied) : 0;
        if (v[i].role == CTL_ROLE_PRIMARY)
            rows[i].health = (int)i == s->primary ? "ok" : "deposed"; /* an older term's primary */
        else if (s->primary < 0) rows[i].health = "no primary";
        else if (!v[i].link_up) rows[i].health = "stale link";
        else rows[i].health = "ok";
        /* a node that cannot write its log is not healthy, whatever its role */
        if (v[i].disk_error[0]) {
            snprintf(rows[i].text, sizeof rows[i].text, "disk failing: %s", v[i].disk_error);
            rows[i].health = rows[i].text;
            s->disk_failing++;
        }
    }

    s->nproblems = 0;
    if (s->primary < 0) {
        int majority = (int)n / 2 + 1;
        snprintf(s->problems[s->nproblems++], sizeof s->problems[0],
                 "no primary: no node answers as primary (%d of %zu reachable; an election needs %d)", (int)n - s->down,
                 n, majority);
    } else if (s->claimants > 1) {
        snprintf(s->problems[s->nproblems++], sizeof s->problems[0],
                 "%d nodes answer as primary: node %d (term %llu) holds the newest term, the others have not heard "
                 "of it yet",
                 s->claimants, v[s->primary].conf->id, v[s->primary].term);
    }
    if (s->disk_failing > 0) {
        char *p = s->problems[s->nproblems++];
        size_t cap = sizeof s->problems[0], len = 0;
        len += (size_t)snprintf(p + len, cap - len, "%d of %zu nodes cannot write their log:", s->disk_failing, n);
        const char *sep = " ";
        for (size_t i = 0; i < n && len < cap; i++) {
            if (!v[i].disk_error[0]) continue;
            len += (size_t)snprintf(p + len, cap - len, "%snode %d (%s)", sep, v[i].conf->id, v[i].disk_error);
            sep = ", ";
        }
    }
    /* a node over maxmemory: a replica never evicts on its own (the primary
     * decides for all), so this wants the operator's eye */
    int over = 0;
    for (size_t i = 0; i < n; i++) over += v[i].role != CTL_ROLE_UNREACHABLE && v[i].mem_exceeded;
    if (over > 0) {
        char *p = s->problems[s->nproblems++];
        size_t cap = sizeof s->problems[0], len = 0;
        len += (size_t)snprintf(p + len, cap - len, "%d of %zu nodes hold more than maxmemory:", over, n);
        const char *sep = " ";
        for (size_t i = 0; i < n && len < cap; i++) {
            if (v[i].role == CTL_ROLE_UNREACHABLE || !v[i].mem_exceeded) continue;
            len += (size_t)snprintf(p + len, cap - len, "%snode %d (used_memory %llu of %llu)", sep, v[i].conf->id,
                                    v[i].used_memory, v[i].maxmemory);
            sep = ", ";
        }
    }
    if (s->down > 0) {
        char *p = s->problems[s->nproblems++];
        size_t cap = sizeof s->problems[0], len = 0;
        len += (size_t)snprintf(p + len, cap - len, "%d of %zu nodes unreachable:", s->down, n);
        const char *sep = " ";
        for (size_t i = 0; i < n && len < cap; i++) {
            if (v[i].role != CTL_ROLE_UNREACHABLE) continue;
            len += (size_t)snprintf(p + len, cap - len, "%snode %d (%s)", sep, v[i].conf->id, v[i].conf->zone);
            sep = ", ";
        }
        if (len < cap)
            snprintf(p + len, cap - len, "; %s", (size_t)s->down * 2 < n ? "a majority is up: writes continue"
                                                                          : "no majority: writes stop");
    }
}

static void print_json(const ctl_cluster *cl, const ctl_node_view *v, const row *rows, const summary *s, int ok)
{
    printf("{\"cluster\":");
    tc_json_write_str(stdout, cl->cfg.cluster_name, strlen(cl->cfg.cluster_name));
    printf(",\"ok\":%s,\"primary\":", ok ? "true" : "false");
    if (s->primary >= 0) printf("%d", v[s->primary].conf->id);
    else printf("null");
    printf(",\"nodes\":[");
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        const ctl_node_view *x = &v[i];
        char addr[TC_CONFIG_MAX_STR + 16];
        ctl_node_addr(cl, x->conf, addr, sizeof addr);
        printf("%s{\"id\":%d,\"zone\":", i ? "," : "", x->conf->id);
        tc_json_write_str(stdout, x->conf->zone, strlen(x->conf->zone));
        printf(",\"address\":");
        tc_json_write_str(stdout, addr, strlen(addr));
        printf(",\"role\":\"%s\"", ctl_role_name(x->role));
        if (x->role == CTL_ROLE_UNREACHABLE) {
            printf(",\"term\":null,\"commit_index\":null,\"applied_index\":null,\"lag\":null");
        } else {
            printf(",\"term\":%llu,\"commit_index\":%llu,\"applied_index\":%llu,\"lag\":", x->term, x->commit,
                   x->applied);
            if (rows[i].lag >= 0) printf("%lld", rows[i].lag);
            else printf("null");
        }
        printf(",\"health\":\"%s\"", rows[i].health);
        if (x->error[0]) {
            printf(",\"error\":");
            tc_json_write_str(stdout, x->error, strlen(x->error));
        }
        if (x->startup_error[0]) {
            printf(",\"startup_error\":");
            tc_json_write_str(stdout, x->startup_error, strlen(x->startup_error));
        }
        printf("}");
    }
    printf("],\"problems\":[");
    for (int i = 0; i < s->nproblems; i++) {
        if (i) putchar(',');
        tc_json_write_str(stdout, s->problems[i], strlen(s->problems[i]));
    }
    printf("]}\n");
}

static void print_table(const ctl_cluster *cl, const ctl_node_view *v, const row *rows, const summary *s)
{
    int zw = 4, aw = 7;
    char addr[TC_CONFIG_MAX_NODES][TC_CONFIG_MAX_STR + 16];
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        ctl_node_addr(cl, v[i].conf, addr[i], sizeof addr[i]);
        if ((int)strlen(addr[i]) > aw) aw = (int)strlen(addr[i]);
        if ((int)strlen(v[i].conf->zone) > zw) zw = (int)strlen(v[i].conf->zone);
    }
    printf("%-5s %-*s  %-*s  %-11s %6s %10s %10s %8s  %s\n", "ID", zw, "ZONE", aw, "ADDRESS", "ROLE", "TERM", "COMMIT",
           "APPLIED", "LAG", "HEALTH");
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        const ctl_node_view *x = &v[i];
        printf("%-5d %-*s  %-*s  %-11s ", x->conf->id, zw, x->conf->zone, aw, addr[i], ctl_role_name(x->role));
        if (x->role == CTL_ROLE_UNREACHABLE) {
            printf("%6s %10s %10s %8s  unreachable: %s\n", "-", "-", "-", "-", x->error);
            if (x->startup_error[0]) printf("      its last start was refused at %s\n", x->startup_error);
            continue;
        }
        char lag[24] = "-";
        if (rows[i].lag >= 0) snprintf(lag, sizeof lag, "%lld", rows[i].lag);
        printf("%6llu %10llu %10llu %8s  %s\n", x->term, x->commit, x->applied, lag, rows[i].health);
    }
    if (s->primary >= 0) {
        const tc_node_conf *p = v[s->primary].conf;
        char paddr[TC_CONFIG_MAX_STR + 16];
        ctl_node_addr(cl, p, paddr, sizeof paddr);
        printf("primary: node %d (%s, %s), term %llu; %zu of %zu nodes reachable\n", p->id, p->zone, paddr,
               v[s->primary].term, cl->cfg.nnodes - (size_t)s->down, cl->cfg.nnodes);
    }
}

int ctl_cmd_status(const ctl_cluster *cl, int json)
{
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    row rows[TC_CONFIG_MAX_NODES];
    summary s;
    judge(cl, views, rows, &s);
    /* exactly one primary and every node up; two claimants is a moment of an
     * election and is reported, not hidden */
    int ok = s.primary >= 0 && s.claimants == 1 && s.down == 0 && s.disk_failing == 0;
    if (json) print_json(cl, views, rows, &s, ok);
    else print_table(cl, views, rows, &s);
    for (int i = 0; i < s.nproblems; i++) fprintf(stderr, "tricachectl: %s\n", s.problems[i]);
    return ok ? CTL_EXIT_OK : CTL_EXIT_CLUSTER;
}
