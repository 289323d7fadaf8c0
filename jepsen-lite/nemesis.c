/* The nemesis: a schedule of faults drawn from the seed, one fault at a
 * time, and the code that starts and ends each. Which node "the primary" is
 * can only be known when the fault starts; everything else (kinds, times,
 * nodes, partition halves, clock offsets) is fixed by the seed.
 *
 * One fault at a time keeps a majority of the voters able to make progress:
 * every fault takes at most one node of three (a minority of five) away and
 * is healed before the next starts. The member fault's heal (the node a
 * voter again) can take longer than its slot, so no fault starts while a
 * node is still out of the voter set: it is retried first, and the fault is
 * skipped if that fails. */
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define WARMUP_S 2.0  /* no fault before this */
#define TAIL_S 3.0    /* nor this close to the end of the workload */
#define READD_TIMEOUT_MS 30000 /* member: until the removed node is a voter again */

const char *const jl_fault_names[JL_F_NKINDS] = {"kill", "pause", "partition", "clock", "member", "disk", "stall"};
const char *const jl_part_option_names[JL_P_NKINDS] = {"halves", "isolate-primary", "one-way"};
static const char *const part_names[JL_P_NKINDS] = {"majority/minority", "isolated primary",
                                                    "one-way (primary hears nobody)"};

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rnd_real(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

int jl_nemesis_plan(jl_fault **out, size_t *n, uint64_t seed, unsigned kinds, unsigned part_kinds, double run_s,
                    int n_nodes) {
    *out = NULL;
    *n = 0;
    int parts[JL_P_NKINDS], n_parts = 0;
    for (int k = 0; k < JL_P_NKINDS; k++)
        if (part_kinds & (1u << k))
            parts[n_parts++] = k;
    if (n_parts == 0) { /* none asked for: all */
        for (int k = 0; k < JL_P_NKINDS; k++)
            parts[k] = k;
        n_parts = JL_P_NKINDS;
    }
    uint64_t s = seed ^ 0x6e656d65736973ull;
    int bag[JL_F_NKINDS], in_bag = 0;
    size_t cap = 0;
    double t = WARMUP_S;
    while (kinds) {
        if (in_bag == 0) { /* every enabled kind once per round, in a random order */
            for (int k = 0; k < JL_F_NKINDS; k++)
                if (kinds & (1u << k))
                    bag[in_bag++] = k;
            for (int i = in_bag - 1; i > 0; i--) {
                int j = (int)(rnd(&s) % (uint64_t)(i + 1)), x = bag[i];
                bag[i] = bag[j];
                bag[j] = x;
            }
        }
        jl_fault f;
        memset(&f, 0, sizeof f);
        f.kind = (jl_fault_kind)bag[--in_bag];
        double dur = f.kind == JL_F_CLOCK ? rnd_real(&s, 4, 7) : rnd_real(&s, 2, 5);
        f.start_s = t;
        f.end_s = t + dur;
        if (f.end_s > run_s - TAIL_S)
            break;
        f.on_primary = rnd(&s) % 2 == 0;
        f.node = (int)(rnd(&s) % (uint64_t)n_nodes);
        f.sub = parts[rnd(&s) % (uint64_t)n_parts];
        for (int i = 0; i < n_nodes; i++)
            f.shuffle[i] = i;
        for (int i = n_nodes - 1; i > 0; i--) {
            int j = (int)(rnd(&s) % (uint64_t)(i + 1)), x = f.shuffle[i];
            f.shuffle[i] = f.shuffle[j];
            f.shuffle[j] = x;
        }
        int mag = 10 + (int)(rnd(&s) % 111);
        f.skew_s = rnd(&s) % 2 ? mag : -mag;
        f.target = -1;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            jl_fault *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                free(*out);
                *out = NULL;
                *n = 0;
                return -1;
            }
            *out = v;
        }
        (*out)[(*n)++] = f;
        /* Time to recover before the next fault. */
        t = f.end_s + rnd_real(&s, 2, 4);
    }
    return 0;
}

/* The node a fault hits: the primary if it asks for it and one is known. */
static int pick(jl_cluster *c, const jl_fault *f, bool *was_primary) {
    int p = jl_cluster_primary(c, 300);
    int t = f->on_primary && p >= 0 ? p : f->node;
    *was_primary = t == p;
    return t;
}

static void describe_groups(jl_fault *f, const bool minority[], int n) {
    size_t len = strlen(f->what);
    for (int side = 1; side >= 0; side--) {
        len += (size_t)snprintf(f->what + len, sizeof f->what - len, "%s{", side ? " " : " | ");
        bool first = true;
        for (int i = 0; i < n; i++)
            if (minority[i] == side) {
                len += (size_t)snprintf(f->what + len, sizeof f->what - len, "%sn%d", first ? "" : " ", i + 1);
                first = false;
            }
        len += (size_t)snprintf(f->what + len, sizeof f->what - len, "}");
        if (len >= sizeof f->what)
            return;
    }
}

static int partition(jl_cluster *c, jl_fault *f) {
    int n = c->n, rc = 0;
    bool was_primary;
    bool minority[JL_MAX_NODES] = {false};
    if (f->sub == JL_P_HALVES) {
        for (int i = 0; i < n / 2; i++)
            minority[f->shuffle[i]] = true;
        f->target = f->shuffle[0];
        snprintf(f->what, sizeof f->what, "partition %s:", part_names[f->sub]);
    } else {
        f->on_primary = true;
        f->target = pick(c, f, &was_primary);
        minority[f->target] = true;
        snprintf(f->what, sizeof f->what, "partition %s n%d%s:", part_names[f->sub], f->target + 1,
                 was_primary ? "" : " (no primary known: planned node)");
    }
    describe_groups(f, minority, n);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            if (minority[a] == minority[b])
                continue;
            /* one-way: only the lone primary stops hearing the others */
            if (f->sub == JL_P_ONEWAY && a != f->target)
                continue;
            rc |= jl_net_drop(c->net, a, b);
        }
    return rc;
}

static int64_t since_t0(const jl_cluster *c) { return jl_now_ns() - c->t0; }

static int member_begin(jl_cluster *c, jl_fault *f) {
    bool was_primary;
    f->target = pick(c, f, &was_primary);
    snprintf(f->what, sizeof f->what, "member: n%d%s out of the voter set", f->target + 1,
             was_primary ? " (primary)" : "");
    /* Out from the first attempt on: a REMOVE whose reply is lost may
     * still commit. */
    c->out_of_voters = f->target;
    f->t_start = since_t0(c);
    char why[120];
    /* Retried within the fault's slot. */
    if (jl_member_remove(c, f->target, c->t0 + (int64_t)(f->end_s * 1e9), why, sizeof why) != 0) {
        size_t len = strlen(f->what);
        snprintf(f->what + len, sizeof f->what - len, " (not removed: %s)", why);
        return -1;
    }
    f->t_removed = since_t0(c);
    return 0;
}

static int member_end(jl_cluster *c, jl_fault *f) {
    f->t_end = since_t0(c);
    char why[120];
    if (jl_member_add(c, f->target, jl_now_ns() + (int64_t)READD_TIMEOUT_MS * 1000000, why, sizeof why) != 0) {
        size_t len = strlen(f->what);
        snprintf(f->what + len, sizeof f->what - len, " (not a voter again after %d s: %s)", READD_TIMEOUT_MS / 1000,
                 why);
        return -1;
    }
    f->t_voter_again = since_t0(c);
    c->out_of_voters = -1;
    return 0;
}

/* Marks f as not started because of why. */
static int skip(jl_fault *f, const char *why) {
    f->skipped = true;
    snprintf(f->what, sizeof f->what, "%s skipped: %s", jl_fault_names[f->kind], why);
    return -1;
}

/* stall: DEBUG SLEEP for the fault's length, sent on a connection of its
 * own and not waited for; the fault's end reads the +OK (by then the sleep
 * is over) and closes it. The node's command thread is stuck meanwhile,
 * its Raft thread is not: no election should follow. */
static int stall_begin(jl_cluster *c, jl_fault *f) {
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", f->end_s - f->start_s);
    const char *argv[] = {"DEBUG", "SLEEP", secs};
    tc_rc_close(&c->stall);
    tc_rc_init(&c->stall);
    if (jl_node_connect(c, f->target, &c->stall, 1000) != 0 ||
        tc_rc_send(&c->stall, 3, argv, NULL) != 0) {
        tc_rc_close(&c->stall);
        return skip(f, "the node did not take DEBUG SLEEP");
    }
    return 0;
}

static int stall_end(jl_cluster *c) {
    tc_rc_reply r;
    /* the sleep ends about now; a node that was killed meanwhile closes */
    tc_rc_set_timeout(&c->stall, 10000);
    int rc = tc_rc_read(&c->stall, &r);
    if (rc == 0)
        tc_rc_reply_free(&r);
    tc_rc_close(&c->stall);
    return 0;
}

int jl_nemesis_begin(jl_cluster *c, jl_fault *f) {
    bool was_primary = false;
    f->t_start = 0;
    f->skipped = false;
    if (c->out_of_voters >= 0) {
        /* The last member fault's node is not a voter again yet: one more
         * try, then this fault waits for the next slot. */
        int out = c->out_of_voters;
        char why[120], msg[180];
        if (jl_member_add(c, out, c->t0 + (int64_t)(f->end_s * 1e9), why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "n%d is still out of the voter set (%s)", out + 1, why);
            return skip(f, msg);
        }
        c->out_of_voters = -1;
    }
    switch (f->kind) {
    case JL_F_KILL:
        f->target = pick(c, f, &was_primary);
        jl_node_kill(c, f->target);
        snprintf(f->what, sizeof f->what, "kill n%d%s", f->target + 1, was_primary ? " (primary)" : "");
        return 0;
    case JL_F_PAUSE:
        f->target = pick(c, f, &was_primary);
        jl_node_pause(c, f->target);
        snprintf(f->what, sizeof f->what, "pause n%d%s", f->target + 1, was_primary ? " (primary)" : "");
        return 0;
    case JL_F_PARTITION:
        if (!c->net)
            return skip(f, "needs network namespaces");
        return partition(c, f);
    case JL_F_CLOCK:
        if (!c->faketime_lib[0])
            return skip(f, "needs libfaketime");
        f->target = pick(c, f, &was_primary);
        jl_node_kill(c, f->target);
        c->nodes[f->target].skew_s = f->skew_s;
        snprintf(f->what, sizeof f->what, "clock n%d%s %+ds (restarted under libfaketime)", f->target + 1,
                 was_primary ? " (primary)" : "", f->skew_s);
        return jl_node_start(c, f->target);
    case JL_F_MEMBER:
        return member_begin(c, f);
    case JL_F_DISK:
        if (!c->disk_mounted[0])
            return skip(f, "needs each node's data directory on a tmpfs (run as root)");
        f->target = pick(c, f, &was_primary);
        snprintf(f->what, sizeof f->what, "disk full n%d%s", f->target + 1, was_primary ? " (primary)" : "");
        return jl_disk_fill(c, f->target);
    case JL_F_STALL:
        f->target = pick(c, f, &was_primary);
        snprintf(f->what, sizeof f->what, "stall n%d%s (DEBUG SLEEP %.1f s)", f->target + 1,
                 was_primary ? " (primary)" : "", f->end_s - f->start_s);
        return stall_begin(c, f);
    default:
        f->skipped = true;
        snprintf(f->what, sizeof f->what, "unknown fault %d skipped", (int)f->kind);
        return -1;
    }
}

int jl_nemesis_end(jl_cluster *c, jl_fault *f) {
    if (f->skipped)
        return 0;
    switch (f->kind) {
    case JL_F_KILL:
        return jl_node_start(c, f->target);
    case JL_F_PAUSE:
        jl_node_resume(c, f->target);
        return 0;
    case JL_F_PARTITION:
        return jl_net_heal(c->net);
    case JL_F_CLOCK:
        jl_node_kill(c, f->target);
        c->nodes[f->target].skew_s = 0;
        return jl_node_start(c, f->target);
    case JL_F_MEMBER:
        /* Also after a removal that seemed to fail: it may have committed. */
        return member_end(c, f);
    case JL_F_DISK:
        jl_disk_heal(c, f->target);
        return 0;
    case JL_F_STALL:
        return stall_end(c);
    default:
        return -1;
    }
}

int jl_nemesis_heal_all(jl_cluster *c) {
    if (c->net)
        jl_net_heal(c->net);
    for (int i = 0; i < c->n; i++) {
        jl_node *nd = &c->nodes[i];
        jl_disk_heal(c, i);
        jl_node_resume(c, i);
        if (nd->skew_s != 0) {
            jl_node_kill(c, i);
            nd->skew_s = 0;
        }
        if (nd->pid <= 0)
            jl_node_start(c, i);
    }
    /* Last, with every node running and reachable again. */
    if (c->out_of_voters >= 0) {
        char why[120];
        int out = c->out_of_voters;
        if (jl_member_add(c, out, jl_now_ns() + (int64_t)READD_TIMEOUT_MS * 1000000, why, sizeof why) != 0) {
            fprintf(stderr, "jepsen-lite: n%d is not a voter again: %s\n", out + 1, why);
            return -1;
        }
        c->out_of_voters = -1;
    }
    return 0;
}
