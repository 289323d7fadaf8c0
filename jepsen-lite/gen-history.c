/* jepsen-lite-gen: writes a synthetic history to standard output, for
 * measuring and exercising the checker without a cluster.
 *
 * A discrete-event simulation: P client processes each run one op at a
 * time against K perfectly linearizable registers (or one grow-only set).
 * Every op takes effect at one instant between its invoke and its
 * completion, with random latencies on both sides, so the history is
 * linearizable by construction, unless a fault is asked for:
 *
 *   --stale-read   once, past the middle, a read returns the previous value
 *                  although the write that replaced it had already completed
 *   --lost-write   once, past the middle, a write is acknowledged but not applied
 *   --lose-add     (set) once, an acknowledged add is left out of the set
 *
 * What was injected is told on standard error. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEVER INT64_MAX

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static int64_t between(rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

static bool chance(rng *r, unsigned percent) {
    return next_u64(r) % 100 < percent;
}

enum phase { IDLE, TAKE_EFFECT, COMPLETE, DONE };
enum fn { READ, WRITE, CAS, ADD };
static const char *const fn_names[] = {"read", "write", "cas", "add"};

typedef struct proc {
    int64_t id;
    enum phase phase;
    int64_t at;
    int64_t invoked_at;
    enum fn f;
    int key;
    long a, b;      /* value numbers: -1 = null */
    long result;
    const char *outcome;
    bool applied_write; /* this op installed the key's current value */
} proc;

typedef struct reg {
    long cur, prev;     /* -1 = null (missing) */
    int64_t cur_done;   /* when the op that wrote cur completed ok, NEVER if not yet */
    proc *cur_writer;
} reg;

typedef struct opts {
    long ops;
    int keys, procs;
    uint64_t seed;
    unsigned info_pct, read_pct, cas_pct;
    bool stale_read, lost_write, lose_add, set;
    int reads; /* set: final reads (one per node) */
} opts;

static void put_value(long v, int key) {
    if (v < 0)
        fputs("null", stdout);
    else
        printf("\"k%d-v%ld\"", key, v);
}

static void put_event(const proc *p, const char *type, int64_t t, bool with_result) {
    printf("{\"process\":%" PRId64 ",\"type\":\"%s\",\"f\":\"%s\",\"key\":\"k%d\",\"value\":",
           p->id, type, fn_names[p->f], p->key);
    if (p->f == READ)
        put_value(with_result ? p->result : -1, p->key);
    else if (p->f == WRITE)
        put_value(p->a, p->key);
    else {
        putchar('[');
        put_value(p->a, p->key);
        putchar(',');
        put_value(p->b, p->key);
        putchar(']');
    }
    printf(",\"time\":%" PRId64 "}\n", t);
}

static int run_register(const opts *o) {
    rng r = {o->seed};
    proc *ps = calloc((size_t)o->procs, sizeof(*ps));
    reg *regs = calloc((size_t)o->keys, sizeof(*regs));
    long *next_value = calloc((size_t)o->keys, sizeof(long));
    if (!ps || !regs || !next_value)
        return 1;
    for (int k = 0; k < o->keys; k++)
        regs[k] = (reg){.cur = -1, .prev = -1, .cur_done = NEVER};
    int64_t next_id = o->procs;
    for (int i = 0; i < o->procs; i++)
        ps[i] = (proc){.id = i, .phase = IDLE, .at = 1000000000 + between(&r, 0, 100000)};
    long invoked = 0;
    bool stale_done = false, lost_done = false;
    for (;;) {
        proc *p = NULL;
        for (int i = 0; i < o->procs; i++)
            if (ps[i].phase != DONE && (p == NULL || ps[i].at < p->at))
                p = &ps[i];
        if (p == NULL)
            break;
        int64_t now = p->at;
        reg *g = &regs[p->key];
        switch (p->phase) {
        case IDLE:
            if (invoked == o->ops) {
                p->phase = DONE;
                break;
            }
            invoked++;
            p->key = (int)between(&r, 0, o->keys - 1);
            g = &regs[p->key];
            p->applied_write = false;
            unsigned dice = (unsigned)between(&r, 0, 99);
            if (dice < o->read_pct) {
                p->f = READ;
            } else if (dice < o->read_pct + o->cas_pct) {
                p->f = CAS;
                p->a = chance(&r, 70) ? g->cur : g->prev; /* often right, sometimes stale */
                p->b = next_value[p->key]++;
            } else {
                p->f = WRITE;
                p->a = next_value[p->key]++;
            }
            put_event(p, "invoke", now, false);
            p->invoked_at = now;
            p->phase = TAKE_EFFECT;
            p->at = now + between(&r, 50000, 1000000);
            break;
        case TAKE_EFFECT: {
            bool info = chance(&r, o->info_pct);
            bool apply = !info || chance(&r, 50);
            p->outcome = info ? "info" : "ok";
            if (p->f == READ) {
                p->result = g->cur;
                if (o->stale_read && !stale_done && invoked > o->ops / 2 && !info &&
                    g->prev != g->cur && g->cur_done < p->invoked_at) {
                    /* cur was acknowledged before this read began: prev is stale */
                    p->result = g->prev;
                    stale_done = true;
                    fprintf(stderr, "jepsen-lite-gen: stale read by process %" PRId64
                                    " on k%d at time %" PRId64 "\n", p->id, p->key, now);
                }
            } else if (p->f == CAS && g->cur != p->a) {
                p->outcome = info ? "info" : "fail";
            } else if (p->f == WRITE && o->lost_write && !lost_done && invoked > o->ops / 2 &&
                       !info) {
                lost_done = true;
                fprintf(stderr, "jepsen-lite-gen: lost write of k%d-v%ld by process %" PRId64
                                "\n", p->key, p->a, p->id);
            } else if (apply) {
                g->prev = g->cur;
                g->cur = p->f == WRITE ? p->a : p->b;
                g->cur_done = NEVER;
                g->cur_writer = p;
                p->applied_write = true;
            }
            p->phase = COMPLETE;
            p->at = now + between(&r, 50000, 1000000);
            break;
        }
        case COMPLETE:
            put_event(p, p->outcome, now, true);
            if (p->applied_write && g->cur_writer == p && strcmp(p->outcome, "ok") == 0)
                g->cur_done = now;
            if (g->cur_writer == p)
                g->cur_writer = NULL;
            if (strcmp(p->outcome, "info") == 0)
                p->id = next_id++; /* a process that timed out is never reused */
            p->phase = IDLE;
            p->at = now + between(&r, 10000, 200000);
            break;
        case DONE:
            break;
        }
    }
    free(ps);
    free(regs);
    free(next_value);
    return 0;
}

static int run_set(const opts *o) {
    rng r = {o->seed};
    int64_t t = 1000000000;
    long n = o->ops;
    /* adds go out in waves of `procs` concurrent ops */
    bool *in = calloc((size_t)n + 1, sizeof(bool));
    if (in == NULL)
        return 1;
    long lose = o->lose_add ? n / 2 : -1;
    int64_t next_id = o->procs;
    int64_t *ids = calloc((size_t)o->procs, sizeof(int64_t));
    if (ids == NULL)
        return 1;
    for (int i = 0; i < o->procs; i++)
        ids[i] = i;
    for (long base = 0; base < n; base += o->procs) {
        long m = n - base < o->procs ? n - base : o->procs;
        for (long i = 0; i < m; i++)
            printf("{\"process\":%" PRId64 ",\"type\":\"invoke\",\"f\":\"add\",\"key\":\"s\","
                   "\"value\":\"e%ld\",\"time\":%" PRId64 "}\n",
                   ids[i], base + i, t += between(&r, 1000, 50000));
        for (long i = 0; i < m; i++) {
            long e = base + i;
            bool info = chance(&r, o->info_pct);
            in[e] = info ? chance(&r, 50) : e != lose;
            printf("{\"process\":%" PRId64 ",\"type\":\"%s\",\"f\":\"add\",\"key\":\"s\","
                   "\"value\":\"e%ld\",\"time\":%" PRId64 "}\n",
                   ids[i], info ? "info" : "ok", e, t += between(&r, 1000, 50000));
            if (info)
                ids[i] = next_id++;
        }
    }
    if (lose >= 0)
        fprintf(stderr, "jepsen-lite-gen: acknowledged add of e%ld lost\n", lose);
    for (int k = 0; k < o->reads; k++) {
        printf("{\"process\":%" PRId64 ",\"type\":\"invoke\",\"f\":\"read\",\"key\":\"s\","
               "\"value\":null,\"time\":%" PRId64 "}\n", ids[0], t += 1000);
        printf("{\"process\":%" PRId64 ",\"type\":\"ok\",\"f\":\"read\",\"key\":\"s\",\"value\":[",
               ids[0]);
        bool first = true;
        for (long e = 0; e < n; e++) {
            if (!in[e])
                continue;
            printf("%s\"e%ld\"", first ? "" : ",", e);
            first = false;
        }
        printf("],\"time\":%" PRId64 "}\n", t += 1000);
    }
    free(in);
    free(ids);
    return 0;
}

static void usage(FILE *f) {
    fputs("usage: jepsen-lite-gen [--ops N] [--keys K] [--processes P] [--seed S]\n"
          "                       [--info PERCENT] [--reads PERCENT] [--cas PERCENT]\n"
          "                       [--stale-read] [--lost-write]\n"
          "       jepsen-lite-gen --set [--ops N] [--processes P] [--seed S] [--info PERCENT]\n"
          "                       [--final-reads N] [--lose-add]\n"
          "Writes a synthetic history (JSON Lines) to standard output.\n",
          f);
}

static bool num_arg(int argc, char **argv, int *i, const char *name, long min, long max,
                    long *out) {
    if (strcmp(argv[*i], name) != 0)
        return false;
    char *end;
    if (*i + 1 >= argc || (*out = strtol(argv[*i + 1], &end, 10)) < min || *end || *out > max) {
        fprintf(stderr, "jepsen-lite-gen: %s needs a number from %ld to %ld\n", name, min, max);
        exit(3);
    }
    (*i)++;
    return true;
}

int main(int argc, char **argv) {
    opts o = {.ops = 1000, .keys = 1, .procs = 5, .seed = 1, .info_pct = 1, .read_pct = 50,
              .cas_pct = 20, .reads = 3};
    for (int i = 1; i < argc; i++) {
        long v;
        if (num_arg(argc, argv, &i, "--ops", 0, 100000000, &o.ops)) {
        } else if (num_arg(argc, argv, &i, "--keys", 1, 100000, &v)) {
            o.keys = (int)v;
        } else if (num_arg(argc, argv, &i, "--processes", 1, 10000, &v)) {
            o.procs = (int)v;
        } else if (num_arg(argc, argv, &i, "--seed", 0, 1L << 62, &v)) {
            o.seed = (uint64_t)v;
        } else if (num_arg(argc, argv, &i, "--info", 0, 100, &v)) {
            o.info_pct = (unsigned)v;
        } else if (num_arg(argc, argv, &i, "--reads", 0, 100, &v)) {
            o.read_pct = (unsigned)v;
        } else if (num_arg(argc, argv, &i, "--cas", 0, 100, &v)) {
            o.cas_pct = (unsigned)v;
        } else if (num_arg(argc, argv, &i, "--final-reads", 0, 100, &v)) {
            o.reads = (int)v;
        } else if (strcmp(argv[i], "--stale-read") == 0) {
            o.stale_read = true;
        } else if (strcmp(argv[i], "--lost-write") == 0) {
            o.lost_write = true;
        } else if (strcmp(argv[i], "--lose-add") == 0) {
            o.lose_add = true;
        } else if (strcmp(argv[i], "--set") == 0) {
            o.set = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "jepsen-lite-gen: bad argument '%s'\n", argv[i]);
            usage(stderr);
            return 3;
        }
    }
    if (o.read_pct + o.cas_pct > 100) {
        fputs("jepsen-lite-gen: --reads + --cas must not exceed 100\n", stderr);
        return 3;
    }
    int rc = o.set ? run_set(&o) : run_register(&o);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
