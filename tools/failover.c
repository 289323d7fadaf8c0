/* tricachectl failover: a drill. A writer sets a probe key every millisecond
 * on whichever node is primary while the primary hands its leadership over,
 * and the tool reports how long writes went unacknowledged.
 *
 * Unavailability is measured between acknowledgements, as a client sees it:
 * from the last write the old primary acknowledged to the first write a new
 * primary acknowledged, with the number of writes refused in between. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_commands.h"

#define PROBE_KEY "tricachectl:failover:probe"
#define PROBE_TTL_MS "60000" /* the probe key goes away by itself */
#define PROBE_INTERVAL_US 1000LL
#define BASELINE_MS 2000LL /* how long the old primary may take to acknowledge a first probe */

typedef struct drill {
    const ctl_cluster *cl;
    tc_rc w;         /* the writer's connection */
    int at;             /* index in cfg.nodes that w is connected to; -1 if closed */
    long long seq;      /* probe values written so far */
    long long acked;    /* probe writes acknowledged */
    long long failed;   /* refused or unanswered since the last acknowledgement */
    long long last_start_us;
    char last_error[400];
} drill;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long ctl_now_ms(void) { return now_us() / 1000; }

static void sleep_us(long long us)
{
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void writer_close(drill *d)
{
    tc_rc_close(&d->w);
    d->at = -1;
}

static int writer_connect(drill *d, int idx)
{
    writer_close(d);
    if (ctl_node_open(d->cl, &d->cl->cfg.nodes[idx], &d->w) != 0) {
        snprintf(d->last_error, sizeof d->last_error, "node %d: %s", d->cl->cfg.nodes[idx].id, d->w.err);
        tc_rc_close(&d->w);
        return -1;
    }
    d->at = idx;
    return 0;
}

/* Finds the node to write to next. The node that refused the last write is
 * asked first: a replica names its primary in INFO (master_host/port), which
 * spares a round over every node; otherwise every node is asked. */
static int rediscover(drill *d, int hint)
{
    const ctl_cluster *cl = d->cl;
    if (hint >= 0) {
        ctl_node_view v;
        ctl_view_node(cl, &cl->cfg.nodes[hint], &v);
        if (v.role == CTL_ROLE_REPLICA && v.master_port > 0) {
            int idx = ctl_node_by_addr(cl, v.master_host, v.master_port);
            if (idx >= 0 && idx != hint) return writer_connect(d, idx) == 0 ? idx : -1;
        }
    }
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    int idx = ctl_view_cluster(cl, views, NULL);
    if (idx < 0) {
        snprintf(d->last_error, sizeof d->last_error, "no node answers as primary");
        return -1;
    }
    return writer_connect(d, idx) == 0 ? idx : -1;
}

/* One probe write, paced to one per PROBE_INTERVAL_US. 1 if acknowledged,
 * 0 if not (the connection is then closed, or moved to the node a -MOVED
 * named). */
static int probe(drill *d)
{
    sleep_us(d->last_start_us + PROBE_INTERVAL_US - now_us());
    d->last_start_us = now_us();
    char val[32];
    snprintf(val, sizeof val, "%lld", ++d->seq);
    const char *argv[] = {"SET", PROBE_KEY, val, "PX", PROBE_TTL_MS};
    tc_rc_reply r;
    int at = d->at;
    int rc = tc_rc_command(&d->w, &r, 5, argv, NULL);
    if (rc == 0 && r.type == TC_RC_STATUS) {
        tc_rc_reply_free(&r);
        d->acked++;
        return 1;
    }
    d->failed++;
    if (rc != 0) {
        snprintf(d->last_error, sizeof d->last_error, "node %d: %s", d->cl->cfg.nodes[at].id, d->w.err);
        writer_close(d);
        return 0;
    }
    snprintf(d->last_error, sizeof d->last_error, "node %d: -%s", d->cl->cfg.nodes[at].id,
             r.str ? r.str : "unexpected reply");
    int moved = -1;
    if (tc_rc_reply_is_error(&r, "MOVED")) {
        /* "MOVED <slot> <host>:<port>" */
        char host[TC_CONFIG_MAX_STR];
        int slot, port;
        if (sscanf(r.str, "MOVED %d %255[^:]:%d", &slot, host, &port) == 3) moved = ctl_node_by_addr(d->cl, host, port);
    }
    tc_rc_reply_free(&r);
    if (moved >= 0 && moved != at) writer_connect(d, moved);
    else writer_close(d);
    return 0;
}

static void describe(const tc_node_conf *n, char *out, size_t len)
{
    snprintf(out, len, "node %d (%s, %s:%d)", n->id, n->zone, n->client_host, n->client_port);
}

static int send_failover(const ctl_cluster *cl, const tc_node_conf *from, const tc_node_conf *to)
{
    tc_rc c;
    char port[16];
    if (ctl_node_open(cl, from, &c) != 0) {
        fprintf(stderr, "tricachectl: cannot reach the primary: %s\n", c.err);
        tc_rc_close(&c);
        return -1;
    }
    snprintf(port, sizeof port, "%d", to ? to->client_port : 0);
    const char *argv[] = {"FAILOVER", "TO", to ? to->client_host : "", port};
    tc_rc_reply r;
    int rc = tc_rc_command(&c, &r, to ? 4 : 1, argv, NULL);
    if (rc != 0) fprintf(stderr, "tricachectl: FAILOVER on node %d: %s\n", from->id, c.err);
    else if (r.type != TC_RC_STATUS)
        fprintf(stderr, "tricachectl: node %d refused FAILOVER: %s\n", from->id, r.str ? r.str : "unexpected reply");
    int ok = rc == 0 && r.type == TC_RC_STATUS;
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    return ok ? 0 : -1;
}

int ctl_cmd_failover(const ctl_cluster *cl, int to_id, long long timeout_ms)
{
    const tc_config *cfg = &cl->cfg;
    const tc_node_conf *target = NULL;
    if (to_id) {
        target = tc_config_node(cfg, to_id);
        if (!target) {
            fprintf(stderr, "tricachectl: --to %d: no [[node]] with that id in %s\n", to_id, cfg->path);
            return CTL_EXIT_USAGE;
        }
    }
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    int old = ctl_view_cluster(cl, views, NULL);
    if (old < 0) {
        fprintf(stderr, "tricachectl: no primary to fail over from (run tricachectl status)\n");
        return CTL_EXIT_CLUSTER;
    }
    const tc_node_conf *from = &cfg->nodes[old];
    unsigned long long old_term = views[old].term;
    char from_s[TC_CONFIG_MAX_STR + 96], to_s[TC_CONFIG_MAX_STR + 96];
    describe(from, from_s, sizeof from_s);
    if (target && target == from) {
        fprintf(stderr, "tricachectl: %s is the primary already\n", from_s);
        return CTL_EXIT_CLUSTER;
    }

    drill d = {.cl = cl, .at = -1};
    d.w.fd = -1;
    int rc = CTL_EXIT_CLUSTER;

    /* a baseline: the old primary acknowledges a probe before the switch */
    long long baseline_end = ctl_now_ms() + (timeout_ms < BASELINE_MS ? timeout_ms : BASELINE_MS);
    long long last_old_ack = -1;
    while (last_old_ack < 0 && ctl_now_ms() < baseline_end) {
        if (d.at != old && writer_connect(&d, old) != 0) {
            sleep_us(PROBE_INTERVAL_US);
            continue;
        }
        if (probe(&d)) last_old_ack = now_us();
    }
    if (last_old_ack < 0) {
        fprintf(stderr, "tricachectl: the primary, %s, does not acknowledge writes: %s\n", from_s, d.last_error);
        goto out;
    }

    printf("old primary: %s, term %llu\n", from_s, old_term);
    fflush(stdout);
    long long start_ms = ctl_now_ms();
    if (send_failover(cl, from, target) != 0) goto out;
    d.failed = 0;
    long long first_new_ack = -1;
    int wrong = -1; /* a node other than the requested one took over */
    while (first_new_ack < 0) {
        if (ctl_now_ms() - start_ms > timeout_ms) break;
        if (d.at < 0) {
            if (rediscover(&d, -1) < 0) {
                sleep_us(PROBE_INTERVAL_US);
                continue;
            }
        }
        int at = d.at;
        if (!probe(&d)) {
            /* ask the node that refused where the primary is */
            if (d.at < 0) {
                sleep_us(PROBE_INTERVAL_US);
                rediscover(&d, at);
            }
            continue;
        }
        if (at == old) {
            last_old_ack = now_us(); /* the handover has not taken effect yet */
            d.failed = 0;
        } else if (target && &cfg->nodes[at] != target) {
            wrong = at;
        } else {
            first_new_ack = now_us();
        }
    }
    if (first_new_ack < 0) {
        fprintf(stderr, "tricachectl: the failover did not complete within %lld ms", timeout_ms);
        if (wrong >= 0) fprintf(stderr, ": node %d became primary, not the requested node %d", cfg->nodes[wrong].id, to_id);
        else if (d.at == old) fprintf(stderr, ": %s is still the primary", from_s);
        fprintf(stderr, " (%lld writes failed since the last acknowledged one; last error: %s)\n", d.failed,
                d.last_error[0] ? d.last_error : "none");
        goto out;
    }

    const tc_node_conf *now = &cfg->nodes[d.at];
    ctl_node_view nv;
    ctl_view_node(cl, now, &nv);
    describe(now, to_s, sizeof to_s);
    printf("new primary: %s, term %llu\n", to_s, nv.term);
    printf("write unavailability: %.1f ms (last write acknowledged by node %d to first acknowledged by node %d)\n",
           (double)(first_new_ack - last_old_ack) / 1000.0, from->id, now->id);
    printf("writes failed in between: %lld (probe writes: %lld sent, %lld acknowledged)\n", d.failed, d.seq,
           d.acked);
    rc = CTL_EXIT_OK;
out:
    writer_close(&d);
    return rc;
}
