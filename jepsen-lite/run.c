/* jepsen-lite run: options, the order of a run, and teardown.
 *
 * setup (blackhole route, namespaces, nodes) -> workload with the nemesis
 * on schedule -> heal everything -> wait until writes are served -> final
 * reads -> stop the nodes and remove every namespace, rule and route -> check
 * the history -> summary.json and report.html. Teardown also runs on errors
 * and on SIGINT/SIGTERM/SIGHUP, which a dedicated thread waits for. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

enum { EXIT_SETUP = 3 };

#define READY_TIMEOUT_MS 30000
#define RECOVERY_TIMEOUT_MS 30000

typedef struct run_opts {
    int nodes;
    double time_s;
    bool set;
    bool sadd;      /* the sadd workload (set is false) */
    bool keys_set;  /* --keys given */
    bool scripts;   /* register operations as Lua scripts (EVAL) */
    unsigned kinds;
    unsigned part_kinds; /* bit per jl_part_kind */
    const char *nemesis;
    int concurrency;
    uint64_t seed;
    char out[400];
    bool local;
    bool tls;
    char tricache[512];
    bool inject_stale;
    double rate;
    int keys;
    double check_limit;
} run_opts;

typedef struct run_ctx {
    run_opts o;
    jl_net net;
    bool net_up;
    jl_cluster cluster;
    bool cluster_up;
    jl_recorder rec;
    bool rec_open;
    jl_workload wl;
    bool wl_started;
    atomic_bool interrupted;
    sigset_t sigs;
} run_ctx;

static void run_usage(FILE *f) {
    fputs("usage: jepsen-lite run [options]\n"
          "\n"
          "Starts a throwaway tricache cluster, runs concurrent clients while injecting\n"
          "faults on a schedule drawn from the seed, heals everything, waits for the\n"
          "cluster to serve writes again, takes final reads, checks the history and\n"
          "writes history.jsonl, summary.json and report.html to --out.\n"
          "\n"
          "options:\n"
          "  --nodes 3|5            cluster size (default 3)\n"
          "  --time DURATION        how long the clients run, e.g. 60s, 2m (default 60s)\n"
          "  --workload register|set|sadd\n"
          "                         register: read (on the primary), write, cas (SET IFEQ)\n"
          "                         over a few keys; set: unique adds, then every element\n"
          "                         read on every node; sadd: SADD unique elements into\n"
          "                         --keys set keys, SMEMBERS reads on the primary, checked\n"
          "                         as a linearizable set (default register)\n"
          "  --nemesis LIST         faults, comma separated, from: kill, pause, partition,\n"
          "                         clock, member, disk, stall (default\n"
          "                         kill,pause,partition);\n"
          "                         'none' for no faults. partition and clock need network\n"
          "                         namespaces (not --local); disk (a node's data directory\n"
          "                         full, each on a tmpfs of its own) needs root\n"
          "  --partitions LIST      the partitions drawn from, comma separated: halves,\n"
          "                         isolate-primary, one-way (default all three)\n"
          "  --concurrency N        client threads (default 10, at most 64)\n"
          "  --rate N               ops per second, all clients together (default 200)\n"
          "  --keys N               register keys (default 5), sadd keys (default 3)\n"
          "  --scripts              register: read, write and cas each as a Lua script\n"
          "                         (EVAL), replicated by its effects\n"
          "  --seed N               the schedule's seed (default: from the clock, printed)\n"
          "  --out DIR              where the run's files go (default jepsen-out/<time>);\n"
          "                         must not hold an earlier run's data/\n"
          "  --local                no namespaces: nodes on 127.0.0.1 ports, faults kill,\n"
          "                         pause and member only (for running without root)\n"
          "  --tls                  TLS everywhere: transit_encryption_mode = \"required\",\n"
          "                         mutual TLS between nodes, client certificates; the\n"
          "                         run's CA and certificates are made in DIR/tls\n"
          "  --tricache PATH        the node binary (default: next to jepsen-lite, else PATH),\n"
          "                         e.g. the test build tricache-ack-before-commit\n"
          "  --check-time-limit D   budget of the linearizability check (default 60s)\n"
          "  --inject-stale-reads   test only: clients sometimes report a value they saw\n"
          "                         overwritten instead of the real reply (must be caught)\n"
          "\n"
          "Faults: kill = SIGKILL, restarted on the same data directory when the fault ends;\n"
          "pause = SIGSTOP/SIGCONT; partition = nftables drop rules inside the node\n"
          "namespaces (majority/minority, isolated primary, one-way); clock = the node\n"
          "restarted under libfaketime with its wall clock 10-120 s off; member = the node\n"
          "removed from the Raft voter set (MEMBERS REMOVE through the primary) while it\n"
          "keeps running, added back (MEMBERS ADD) when the fault ends; stall = DEBUG SLEEP\n"
          "on the node for the fault's length (its command thread stuck, its Raft thread\n"
          "not). Needs root for namespaces; a blackhole route keeps the test subnet off\n"
          "the host's network.\n"
          "\n"
          "exit status: 0 valid, 1 invalid, 2 unknown, 3 setup or usage error\n",
          f);
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("jepsen-lite run: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(jepsen-lite run --help for usage)\n", stderr);
    return EXIT_SETUP;
}

static int parse_nemesis(const char *list, unsigned *kinds) {
    *kinds = 0;
    if (strcmp(list, "none") == 0)
        return 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; i < JL_F_NKINDS; i++)
            if (strcmp(t, jl_fault_names[i]) == 0)
                k = i;
        if (k < 0)
            return usage_error("unknown fault '%s': kill, pause, partition, clock, member, disk or stall", t);
        *kinds |= 1u << k;
    }
    return 0;
}

static int parse_partitions(const char *list, unsigned *kinds) {
    *kinds = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; i < JL_P_NKINDS; i++)
            if (strcmp(t, jl_part_option_names[i]) == 0)
                k = i;
        if (k < 0)
            return usage_error("unknown partition '%s': halves, isolate-primary or one-way", t);
        *kinds |= 1u << k;
    }
    return *kinds ? 0 : usage_error("%s", "--partitions needs at least one of halves, isolate-primary, one-way");
}

/* The tricache binary next to this program, else "tricache" from PATH. */
static void default_tricache(char *out, size_t len) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(out, len, "%s/tricache", self) < (int)len && access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, len, "tricache");
}

/* Resolves a bare name through PATH (execve needs a path). */
static int resolve(char *path, size_t len) {
    if (strchr(path, '/'))
        return access(path, X_OK);
    const char *p = getenv("PATH");
    char dir[PATH_MAX];
    while (p && *p) {
        size_t k = strcspn(p, ":");
        if (snprintf(dir, sizeof dir, "%.*s/%s", (int)k, p, path) < (int)sizeof dir && access(dir, X_OK) == 0)
            return snprintf(path, len, "%s", dir) < (int)len ? 0 : -1;
        p += k + (p[k] == ':');
    }
    return -1;
}

static const char *workload_name(const run_opts *o) { return o->sadd ? "sadd" : o->set ? "set" : "register"; }

static int parse_opts(run_opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    o->nodes = 3;
    o->time_s = 60;
    o->nemesis = "kill,pause,partition";
    o->concurrency = 10;
    o->seed = (uint64_t)time(NULL);
    o->rate = 200;
    o->keys = 5;
    o->check_limit = 60;
    default_tricache(o->tricache, sizeof o->tricache);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            return -1;
        }
        if (strcmp(a, "--local") == 0) {
            o->local = true;
            continue;
        }
        if (strcmp(a, "--tls") == 0) {
            o->tls = true;
            continue;
        }
        if (strcmp(a, "--scripts") == 0) {
            o->scripts = true;
            continue;
        }
        if (strcmp(a, "--inject-stale-reads") == 0) {
            o->inject_stale = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return usage_error("%s needs a value", a);
        const char *v = argv[++i];
        char *end;
        if (strcmp(a, "--nodes") == 0) {
            o->nodes = atoi(v);
            if (o->nodes != 3 && o->nodes != 5)
                return usage_error("--nodes must be 3 or 5, not '%s'", v);
        } else if (strcmp(a, "--time") == 0) {
            if ((o->time_s = jl_parse_seconds(v)) < 5)
                return usage_error("bad --time '%s': at least 5s, e.g. 60s or 2m", v);
        } else if (strcmp(a, "--check-time-limit") == 0) {
            if ((o->check_limit = jl_parse_seconds(v)) < 0)
                return usage_error("bad --check-time-limit '%s'", v);
        } else if (strcmp(a, "--workload") == 0) {
            if (strcmp(v, "set") != 0 && strcmp(v, "register") != 0 && strcmp(v, "sadd") != 0)
                return usage_error("unknown workload '%s': register, set or sadd", v);
            o->set = strcmp(v, "set") == 0;
            o->sadd = strcmp(v, "sadd") == 0;
        } else if (strcmp(a, "--nemesis") == 0) {
            o->nemesis = v;
        } else if (strcmp(a, "--partitions") == 0) {
            if (parse_partitions(v, &o->part_kinds) != 0)
                return EXIT_SETUP;
        } else if (strcmp(a, "--concurrency") == 0) {
            o->concurrency = atoi(v);
            if (o->concurrency < 1 || o->concurrency > JL_MAX_CLIENTS)
                return usage_error("--concurrency must be 1..64, not '%s'", v);
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = strtod(v, &end);
            if (*end || !(o->rate >= 1 && o->rate <= 100000))
                return usage_error("--rate must be 1..100000 ops/s, not '%s'", v);
        } else if (strcmp(a, "--keys") == 0) {
            o->keys = atoi(v);
            o->keys_set = true;
            if (o->keys < 1 || o->keys > 32)
                return usage_error("--keys must be 1..32, not '%s'", v);
        } else if (strcmp(a, "--seed") == 0) {
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (errno || *end || end == v)
                return usage_error("bad --seed '%s': a non-negative integer", v);
        } else if (strcmp(a, "--out") == 0) {
            snprintf(o->out, sizeof o->out, "%s", v);
        } else if (strcmp(a, "--tricache") == 0) {
            snprintf(o->tricache, sizeof o->tricache, "%s", v);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (parse_nemesis(o->nemesis, &o->kinds) != 0)
        return EXIT_SETUP;
    if (o->scripts && (o->set || o->sadd))
        return usage_error("%s", "--scripts goes with the register workload");
    if (o->sadd && !o->keys_set)
        o->keys = 3; /* a few sets, each with many elements and many reads */
    if (o->local && (o->kinds & ((1u << JL_F_PARTITION) | (1u << JL_F_CLOCK))))
        return usage_error("%s", "--local supports only kill, pause, member, disk and stall (partition and clock need namespaces)");
    if ((o->kinds & (1u << JL_F_DISK)) && geteuid() != 0)
        return usage_error("%s", "the disk nemesis needs root: it mounts a tmpfs on each node's data directory");
    if (resolve(o->tricache, sizeof o->tricache) != 0)
        return usage_error("cannot find the tricache binary '%s' (use --tricache PATH)", o->tricache);
    if (!o->out[0]) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(o->out, sizeof o->out, "jepsen-out/%s", stamp);
    }
    return 0;
}

static int mkdirs(const char *path) {
    char buf[400];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void *signal_thread(void *arg) {
    run_ctx *ctx = arg;
    int sig;
    while (sigwait(&ctx->sigs, &sig) == 0) {
        fprintf(stderr, "jepsen-lite: %s: stopping, healing and cleaning up\n", strsignal(sig));
        atomic_store(&ctx->interrupted, true);
        atomic_store(&ctx->wl.stop, true);
    }
    return NULL;
}

/* Sleeps until t (ns from t0) unless interrupted; false if interrupted. */
static bool sleep_until(run_ctx *ctx, int64_t t) {
    while (!atomic_load(&ctx->interrupted)) {
        int64_t left = t - (jl_now_ns() - ctx->rec.t0);
        if (left <= 0)
            return true;
        jl_sleep_ms(left / 1000000 < 50 ? left / 1000000 + 1 : 50);
    }
    return false;
}

/* Stops everything this run started and removes what it made. */
static int teardown(run_ctx *ctx) {
    int rc = 0;
    if (ctx->wl_started) {
        jl_workload_stop(&ctx->wl);
        ctx->wl_started = false;
    }
    if (ctx->cluster_up) {
        jl_cluster_stop(&ctx->cluster);
        ctx->cluster_up = false;
    }
    if (jl_disk_teardown(&ctx->cluster) != 0) /* also when the nodes never started */
        rc = -1;
    jl_cluster_free(&ctx->cluster);
    if (ctx->net_up) {
        if (jl_net_teardown(&ctx->net) != 0)
            rc = -1;
        char left[512];
        if (jl_net_leftovers(&ctx->net, left, sizeof left)) {
            fprintf(stderr, "jepsen-lite: could not remove everything; left behind:\n%s", left);
            rc = -1;
        }
        ctx->net_up = false;
    }
    return rc;
}

static void run_faults(run_ctx *ctx, jl_fault *faults, size_t n) {
    for (size_t i = 0; i < n; i++) {
        jl_fault *f = &faults[i];
        if (!sleep_until(ctx, (int64_t)(f->start_s * 1e9)))
            return;
        /* A fault that takes time to start or heal (member) records its own
         * t_start / t_end: when the action began. */
        int rc = jl_nemesis_begin(&ctx->cluster, f);
        if (f->skipped) {
            printf("[%7.2fs] %s\n", (jl_now_ns() - ctx->rec.t0) / 1e9, f->what);
            fflush(stdout);
            continue;
        }
        if (!f->t_start)
            f->t_start = jl_now_ns() - ctx->rec.t0;
        printf("[%7.2fs] start %s%s\n", f->t_start / 1e9, f->what, rc ? " (failed)" : "");
        if (f->t_removed)
            printf("[%7.2fs]       n%d removed from the voters\n", f->t_removed / 1e9, f->target + 1);
        fflush(stdout);
        sleep_until(ctx, (int64_t)(f->end_s * 1e9));
        rc = jl_nemesis_end(&ctx->cluster, f);
        if (!f->t_end)
            f->t_end = jl_now_ns() - ctx->rec.t0;
        printf("[%7.2fs] end   %s%s\n", f->t_end / 1e9, f->what, rc ? " (failed)" : "");
        if (f->t_voter_again)
            printf("[%7.2fs]       n%d a voter again\n", f->t_voter_again / 1e9, f->target + 1);
        fflush(stdout);
    }
}

/* Everything from the cluster's start to the final reads; 0 or EXIT_SETUP. */
static int exercise(run_ctx *ctx, jl_fault *faults, size_t n_faults, int64_t *t_end, long present[],
                    long missing[]) {
    jl_cluster *c = &ctx->cluster;
    for (int i = 0; i < c->n; i++)
        if (jl_node_start(c, i) != 0) {
            fprintf(stderr, "jepsen-lite: cannot start %s\n", c->tricache);
            return EXIT_SETUP;
        }
    ctx->cluster_up = true;
    int p = jl_cluster_wait_writable(c, READY_TIMEOUT_MS);
    if (p < 0) {
        fprintf(stderr, "jepsen-lite: the cluster did not accept a write within %d s (logs: %s/node-*.log)\n",
                READY_TIMEOUT_MS / 1000, ctx->o.out);
        return EXIT_SETUP;
    }
    printf("cluster ready, primary n%d\n", p + 1);
    char path[512];
    snprintf(path, sizeof path, "%s/history.jsonl", ctx->o.out);
    if (jl_recorder_open(&ctx->rec, path, jl_now_ns()) != 0) {
        fprintf(stderr, "jepsen-lite: cannot write %s: %s\n", path, strerror(errno));
        return EXIT_SETUP;
    }
    ctx->rec_open = true;
    c->t0 = ctx->rec.t0;
    jl_workload *w = &ctx->wl;
    w->cluster = c;
    w->rec = &ctx->rec;
    w->set = ctx->o.set;
    w->sadd = ctx->o.sadd;
    w->scripts = ctx->o.scripts;
    w->concurrency = ctx->o.concurrency;
    w->rate = ctx->o.rate;
    w->n_keys = ctx->o.keys;
    w->seed = ctx->o.seed;
    w->inject_stale = ctx->o.inject_stale;
    if (jl_workload_start(w) != 0) {
        fprintf(stderr, "jepsen-lite: cannot start the client threads\n");
        ctx->wl_started = true;
        return EXIT_SETUP;
    }
    ctx->wl_started = true;
    run_faults(ctx, faults, n_faults);
    sleep_until(ctx, (int64_t)(ctx->o.time_s * 1e9));
    jl_workload_stop(w);
    ctx->wl_started = false;
    *t_end = jl_now_ns() - ctx->rec.t0;
    printf("[%7.2fs] workload done; healing everything\n", *t_end / 1e9);
    if (jl_nemesis_heal_all(c) != 0)
        fprintf(stderr, "jepsen-lite: could not heal everything (see above)\n");
    int64_t healed = jl_now_ns();
    if ((p = jl_cluster_wait_writable(c, RECOVERY_TIMEOUT_MS)) < 0) {
        fprintf(stderr, "jepsen-lite: after healing, no write was accepted within %d s\n",
                RECOVERY_TIMEOUT_MS / 1000);
    } else {
        printf("writes served again %.0f ms after healing (primary n%d)\n", (jl_now_ns() - healed) / 1e6, p + 1);
    }
    if (ctx->o.set) {
        /* Every node must have applied everything before it is read. */
        char token[32];
        snprintf(token, sizeof token, "%llu", (unsigned long long)ctx->o.seed);
        tc_rc rc;
        tc_rc_init(&rc);
        tc_rc_reply r;
        const char *argv[] = {"SET", "jepsen-lite:final", token};
        if (p >= 0 && jl_node_connect(c, p, &rc, 1000) == 0 &&
            jl_call(&rc, 3000, &r, 3, argv) == 0)
            tc_rc_reply_free(&r);
        tc_rc_close(&rc);
        if (jl_cluster_wait_converged(c, "jepsen-lite:final", token, RECOVERY_TIMEOUT_MS) != 0)
            fprintf(stderr, "jepsen-lite: not every node caught up; reading anyway\n");
    }
    if (!atomic_load(&ctx->interrupted))
        jl_workload_final_reads(w, present, missing);
    return 0;
}

static void print_result(const jl_run_info *ri, const char *out) {
    long tot[4] = {0};
    for (size_t i = 0; i < ri->rec->n_ops; i++)
        tot[ri->rec->ops[i].outcome]++;
    printf("\n%s: %zu ops (%ld ok, %ld fail, %ld info)", ri->verdict == JL_VALID     ? "VALID"
                                                         : ri->verdict == JL_INVALID ? "INVALID"
                                                                                     : "UNKNOWN",
           ri->rec->n_ops, tot[JL_OK], tot[JL_FAIL], tot[JL_INFO]);
    if (ri->n_replica_reads)
        printf("; replica reads %ld, stale %ld", ri->n_replica_reads, ri->stale_replica_reads);
    if (ri->inject_stale)
        printf("; stale reads injected %ld", ri->stale_injected);
    printf("\n");
    for (size_t i = 0; i < ri->n_faults; i++) {
        const jl_fault *f = &ri->faults[i];
        if (!f->t_start)
            continue;
        int64_t rec = jl_fault_recovery(ri, f), gap = jl_fault_write_gap(ri, f);
        printf("  %-60s writes again %6lld ms after heal, longest write gap %6lld ms", f->what,
               (long long)(rec < 0 ? -1 : rec / 1000000), (long long)(gap < 0 ? -1 : gap / 1000000));
        if (f->kind == JL_F_MEMBER)
            printf(", removed after %lld ms, a voter again %lld ms after heal",
                   (long long)(f->t_removed ? (f->t_removed - f->t_start) / 1000000 : -1),
                   (long long)(f->t_voter_again ? (f->t_voter_again - f->t_end) / 1000000 : -1));
        printf("\n");
    }
    printf("report: %s/report.html, summary: %s/summary.json\n", out, out);
}

int jl_cmd_run(int argc, char **argv) {
    run_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return EXIT_SETUP;
    int prc = parse_opts(&ctx->o, argc, argv);
    if (prc != 0) {
        free(ctx);
        return prc < 0 ? 0 : prc;
    }
    run_opts *o = &ctx->o;
    if (!o->local && geteuid() != 0) {
        fprintf(stderr, "jepsen-lite run: real faults need root (network namespaces, nftables).\n"
                        "Run as root, or use --local (nodes on 127.0.0.1, faults kill, pause and member only).\n");
        free(ctx);
        return EXIT_SETUP;
    }
    char data[512];
    snprintf(data, sizeof data, "%s/data", o->out);
    if (mkdirs(o->out) != 0 || access(data, F_OK) == 0) {
        fprintf(stderr, "jepsen-lite run: %s: %s\n", o->out,
                errno == 0 || access(data, F_OK) == 0 ? "already holds a run's data/ (choose another --out)"
                                                      : strerror(errno));
        free(ctx);
        return EXIT_SETUP;
    }
    jl_fault *faults;
    size_t n_faults;
    if (jl_nemesis_plan(&faults, &n_faults, o->seed, o->kinds, o->part_kinds, o->time_s, o->nodes) != 0) {
        free(ctx);
        return EXIT_SETUP;
    }
    printf("jepsen-lite run: %s workload%s, %d nodes%s%s, %.0f s, seed %llu, out %s\nschedule:\n",
           workload_name(o), o->scripts ? " (Lua scripts)" : "", o->nodes, o->local ? " (local)" : "",
           o->tls ? " (TLS everywhere)" : "", o->time_s,
           (unsigned long long)o->seed, o->out);
    for (size_t i = 0; i < n_faults; i++)
        printf("  %6.2fs - %6.2fs  %s\n", faults[i].start_s, faults[i].end_s, jl_fault_names[faults[i].kind]);
    fflush(stdout);

    /* Signals: blocked everywhere, taken by one thread that asks for a stop. */
    sigemptyset(&ctx->sigs);
    sigaddset(&ctx->sigs, SIGINT);
    sigaddset(&ctx->sigs, SIGTERM);
    sigaddset(&ctx->sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &ctx->sigs, NULL);
    pthread_t st;
    pthread_create(&st, NULL, signal_thread, ctx);
    pthread_detach(st);

    int code = EXIT_SETUP;
    char err[600];
    int64_t t_end = 0;
    long present[JL_MAX_NODES], missing[JL_MAX_NODES];
    for (int i = 0; i < JL_MAX_NODES; i++)
        present[i] = missing[i] = -1;
    if (!o->local) {
        if (jl_net_setup(&ctx->net, o->nodes, err, sizeof err) != 0) {
            fprintf(stderr, "jepsen-lite run: network setup: %s\n", err);
            goto out;
        }
        ctx->net_up = true;
        printf("network: namespaces %s-*, subnet %s (blackholed in the root namespace)\n", ctx->net.prefix,
               ctx->net.subnet);
        if (jl_net_enter_clients(&ctx->net) != 0) {
            fprintf(stderr, "jepsen-lite run: cannot enter the clients' namespace: %s\n", strerror(errno));
            goto out;
        }
    }
    if (jl_cluster_init(&ctx->cluster, o->nodes, o->out, o->tricache, o->local ? NULL : &ctx->net, 0, o->tls, err,
                        sizeof err) != 0) {
        fprintf(stderr, "jepsen-lite run: %s\n", err);
        goto out;
    }
    if ((o->kinds & (1u << JL_F_DISK)) && jl_disk_setup(&ctx->cluster, err, sizeof err) != 0) {
        fprintf(stderr, "jepsen-lite run: %s\n", err);
        goto out;
    }
    if ((o->kinds & (1u << JL_F_CLOCK)) && !ctx->cluster.faketime_lib[0]) {
        fprintf(stderr, "jepsen-lite run: the clock nemesis needs libfaketime (apt-get install faketime)\n");
        goto out;
    }
    if (exercise(ctx, faults, n_faults, &t_end, present, missing) != 0)
        goto out;
    if (atomic_load(&ctx->interrupted))
        goto out;
    code = 0;
out:;
    long stale = ctx->wl.priv ? jl_workload_stale_replica_reads(&ctx->wl) : 0;
    if (teardown(ctx) != 0 && code == 0)
        code = EXIT_SETUP;
    if (ctx->rec_open && jl_recorder_close(&ctx->rec) != 0 && code == 0) {
        fprintf(stderr, "jepsen-lite run: writing the history failed\n");
        code = EXIT_SETUP;
    }
    if (code == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/history.jsonl", o->out);
        jl_history *h = NULL;
        jl_result *res = NULL;
        jl_error jerr;
        jl_check_opts copts = {.time_limit = o->check_limit, .set_realtime = o->sadd};
        if (jl_history_load(&h, o->set || o->sadd ? JL_MODEL_SET : JL_MODEL_REGISTER, path, &jerr) != 0 ||
            jl_check(h, &copts, &res, &jerr) != 0) {
            fprintf(stderr, "jepsen-lite run: %s\n", jerr.msg);
            code = EXIT_SETUP;
        } else {
            jl_run_info ri = {
                .workload = workload_name(o),
                .n_nodes = o->nodes,
                .concurrency = o->concurrency,
                .time_s = o->time_s,
                .seed = o->seed,
                .local = o->local,
                .inject_stale = o->inject_stale,
                .nemesis = o->kinds ? o->nemesis : "none",
                .faults = faults,
                .n_faults = n_faults,
                .t_end = t_end,
                .stale_replica_reads = stale,
                .n_replica_reads = ctx->wl.n_replica_reads,
                .stale_injected = (long)atomic_load(&ctx->wl.stale_injected),
                .netns_prefix = o->local ? "" : ctx->net.prefix,
                .subnet = o->local ? "" : ctx->net.subnet,
                .pids = ctx->cluster.pids,
                .n_pids = ctx->cluster.n_pids,
                .verdict = res->verdict,
                .h = h,
                .res = res,
                .rec = &ctx->rec,
            };
            memcpy(ri.per_node_present, present, sizeof present);
            memcpy(ri.per_node_missing, missing, sizeof missing);
            for (int i = 0; o->set && i < o->nodes; i++)
                if (missing[i] > 0) {
                    fprintf(stderr, "jepsen-lite: n%d lacks %ld acknowledged adds after healing\n", i + 1,
                            missing[i]);
                    ri.verdict = JL_INVALID;
                }
            snprintf(path, sizeof path, "%s/summary.json", o->out);
            if (jl_write_summary(&ri, path) != 0)
                fprintf(stderr, "jepsen-lite run: cannot write %s\n", path);
            snprintf(path, sizeof path, "%s/report.html", o->out);
            if (jl_write_html(&ri, path) != 0)
                fprintf(stderr, "jepsen-lite run: cannot write %s\n", path);
            if (ri.verdict != JL_VALID)
                jl_report_text(stdout, h, res);
            print_result(&ri, o->out);
            code = (int)ri.verdict;
        }
        jl_result_free(res);
        jl_history_free(h);
    }
    jl_workload_free(&ctx->wl);
    free(ctx->rec.ops);
    free(faults);
    /* ctx stays: the signal thread still waits on ctx->sigs until exit. */
    return code;
}
