/* The clients. Each thread runs one op at a time against the primary it
 * believes in, records invoke and completion, and finds the primary again
 * (INFO replication) after a redirect or a broken connection.
 *
 * The cluster runs with cluster_mode = true so that a read that reaches a
 * node which is no longer the primary is redirected (-MOVED) instead of
 * being answered from that replica's possibly stale copy: register reads
 * must be primary reads to be checked for linearizability. Replica reads
 * (after READONLY) are made on the side and only counted. The sadd
 * workload's SMEMBERS reads are primary reads for the same reason. */
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define OP_TIMEOUT_MS 1000
#define CONNECT_TIMEOUT_MS 500
#define REPLICA_READ_PERCENT 10
#define STALE_INJECT_PERCENT 10
#define MAX_KEYS 32
#define FINAL_PROCESS 1000000
#define MGET_BATCH 500
#define SADD_READ_PERCENT 25

typedef struct client {
    jl_workload *w;
    int idx;
    int64_t process;
    uint64_t rng;
    tc_rc conn, rconn;
    int conn_node, rconn_node;
    /* register: the last two distinct values this client saw per key */
    long long last[MAX_KEYS], prev[MAX_KEYS];
} client;

typedef struct wlog_entry {
    int key;
    long long value;
    int64_t t_call, t_ret;
} wlog_entry;

typedef struct rread {
    int key;
    long long value; /* -1: missing */
    int64_t t_call;
} rread;

/* Outcome bookkeeping shared by the threads (under w->mu). */
typedef struct shared {
    wlog_entry *wlog; /* ok writes and cas (register) */
    size_t n_wlog, cap_wlog;
    unsigned char *acked; /* set: element -> 1 if its add was acknowledged */
    size_t cap_acked;
    rread *rreads; /* replica reads (register) */
    size_t n_rreads, cap_rreads;
} shared;

static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static shared *sh(jl_workload *w) { return (shared *)w->priv; }

static void note_write(jl_workload *w, int key, long long value, int64_t t_call, int64_t t_ret) {
    shared *s = sh(w);
    pthread_mutex_lock(&w->mu);
    if (s->n_wlog == s->cap_wlog) {
        size_t cap = s->cap_wlog ? s->cap_wlog * 2 : 1024;
        wlog_entry *v = realloc(s->wlog, cap * sizeof *v);
        if (v) {
            s->wlog = v;
            s->cap_wlog = cap;
        }
    }
    if (s->n_wlog < s->cap_wlog)
        s->wlog[s->n_wlog++] = (wlog_entry){key, value, t_call, t_ret};
    pthread_mutex_unlock(&w->mu);
}

static void note_replica_read(jl_workload *w, int key, long long value, int64_t t_call) {
    shared *s = sh(w);
    pthread_mutex_lock(&w->mu);
    if (s->n_rreads == s->cap_rreads) {
        size_t cap = s->cap_rreads ? s->cap_rreads * 2 : 1024;
        rread *v = realloc(s->rreads, cap * sizeof *v);
        if (v) {
            s->rreads = v;
            s->cap_rreads = cap;
        }
    }
    if (s->n_rreads < s->cap_rreads)
        s->rreads[s->n_rreads++] = (rread){key, value, t_call};
    w->n_replica_reads++;
    pthread_mutex_unlock(&w->mu);
}

static void note_acked(jl_workload *w, long long e) {
    shared *s = sh(w);
    pthread_mutex_lock(&w->mu);
    if ((size_t)e >= s->cap_acked) {
        size_t cap = s->cap_acked ? s->cap_acked : 4096;
        while (cap <= (size_t)e)
            cap *= 2;
        unsigned char *v = realloc(s->acked, cap);
        if (v) {
            memset(v + s->cap_acked, 0, cap - s->cap_acked);
            s->acked = v;
            s->cap_acked = cap;
        }
    }
    if ((size_t)e < s->cap_acked)
        s->acked[e] = 1;
    pthread_mutex_unlock(&w->mu);
}

/* A connection to the primary; false (after a short wait) if none now. */
static bool ensure_primary(client *c) {
    jl_workload *w = c->w;
    int p = atomic_load(&w->primary);
    if (c->conn.fd >= 0 && c->conn_node == p)
        return true;
    tc_rc_close(&c->conn);
    if (p < 0) {
        p = jl_cluster_primary(w->cluster, 300);
        atomic_store(&w->primary, p);
        if (p < 0) {
            jl_sleep_ms(50 + (int64_t)(rnd(&c->rng) % 100));
            return false;
        }
    }
    if (jl_node_connect(w->cluster, p, &c->conn, CONNECT_TIMEOUT_MS) != 0) {
        atomic_compare_exchange_strong(&w->primary, &p, -1);
        jl_sleep_ms(50);
        return false;
    }
    c->conn_node = p;
    return true;
}

/* The node we talk to is not (or no longer) the primary: forget it, unless
 * another client already found a new one. */
static void lost_primary(client *c) {
    int p = c->conn_node;
    atomic_compare_exchange_strong(&c->w->primary, &p, -1);
    tc_rc_close(&c->conn);
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* What a call's result says about an op. Writes: a redirect or a refusal
 * before logging means it did not happen; a lost leadership after logging,
 * a timeout or a broken connection leave it unknown. */
static jl_type outcome(client *c, int rc, const tc_rc_reply *r, bool is_write, const char **why) {
    *why = NULL;
    if (rc == JL_RC_NOTSENT) {
        *why = "not sent: connection closed";
        lost_primary(c);
        return JL_FAIL;
    }
    if (rc == JL_RC_TIMEOUT || rc == JL_RC_LOST) {
        *why = rc == JL_RC_TIMEOUT ? "timeout" : "connection lost";
        lost_primary(c);
        return JL_INFO;
    }
    if (r->type != TC_RC_ERROR)
        return JL_OK;
    *why = r->str;
    if (has_prefix(r->str, "MOVED") || has_prefix(r->str, "READONLY")) {
        lost_primary(c);
        return JL_FAIL;
    }
    if (has_prefix(r->str, "TRYAGAIN")) {
        lost_primary(c);
        return is_write && strstr(r->str, "may or may not") ? JL_INFO : JL_FAIL;
    }
    /* Anything else: a read did not happen; a write might have. */
    return is_write ? JL_INFO : JL_FAIL;
}

static void saw(client *c, int k, long long v) {
    if (v < 0 || v == c->last[k])
        return;
    c->prev[k] = c->last[k];
    c->last[k] = v;
}

/* A read on a replica, for the stale-read count only. */
static void replica_read(client *c, int k, const char *key) {
    jl_workload *w = c->w;
    int n = w->cluster->n, p = c->conn_node;
    int r = (int)(rnd(&c->rng) % (uint64_t)n);
    if (r == p)
        r = (r + 1) % n;
    if (c->rconn.fd < 0 || c->rconn_node != r) {
        tc_rc_close(&c->rconn);
        if (jl_node_connect(w->cluster, r, &c->rconn, CONNECT_TIMEOUT_MS) != 0)
            return;
        tc_rc_reply rep;
        const char *ro[] = {"READONLY"};
        int rc = jl_call(&c->rconn, OP_TIMEOUT_MS, &rep, 1, ro);
        tc_rc_reply_free(&rep);
        if (rc != 0)
            return;
        c->rconn_node = r;
    }
    int64_t t_call = jl_now_ns() - w->rec->t0;
    tc_rc_reply rep;
    const char *argv[] = {"GET", key};
    if (jl_call(&c->rconn, OP_TIMEOUT_MS, &rep, 2, argv) == 0) {
        if (rep.type == TC_RC_BULK)
            note_replica_read(w, k, atoll(rep.str), t_call);
        else if (rep.type == TC_RC_NIL)
            note_replica_read(w, k, -1, t_call);
    }
    tc_rc_reply_free(&rep);
}

static void register_op(client *c) {
    jl_workload *w = c->w;
    int k = (int)(rnd(&c->rng) % (uint64_t)w->n_keys);
    char key[16], val[32], exp[32], vjson[80];
    snprintf(key, sizeof key, "r%d", k);
    int what = (int)(rnd(&c->rng) % 3); /* read, write, cas */
    if (what == 2 && c->last[k] < 0)
        what = 1; /* cas needs a value to expect (IFEQ never matches a missing key) */
    jl_fn f = what == 0 ? JL_READ : what == 1 ? JL_WRITE : JL_CAS;
    long long v = what ? atomic_fetch_add(&w->next_value, 1) : -1;
    snprintf(val, sizeof val, "%lld", v);
    snprintf(exp, sizeof exp, "%lld", c->last[k]);
    /* --scripts: the same operations as scripts, which the primary runs
     * once and logs by their effects (the cas reads and writes in one step) */
    static const char *const body[3] = {
        "return redis.call('GET', KEYS[1])",
        "return redis.call('SET', KEYS[1], ARGV[1])",
        "if redis.call('GET', KEYS[1]) == ARGV[2] then return redis.call('SET', KEYS[1], ARGV[1]) end "
        "return false",
    };
    const char *plain[5] = {what ? "SET" : "GET", key, val, "IFEQ", exp};
    const char *script[6] = {"EVAL", body[what], "1", key, val, exp};
    const char **argv = w->scripts ? script : plain;
    int argc = w->scripts ? (what == 0 ? 4 : what == 1 ? 5 : 6) : (what == 0 ? 2 : what == 1 ? 3 : 5);
    if (what == 0)
        snprintf(vjson, sizeof vjson, "null");
    else if (what == 1)
        snprintf(vjson, sizeof vjson, "\"%s\"", val);
    else
        snprintf(vjson, sizeof vjson, "[\"%s\",\"%s\"]", exp, val);
    int node = c->conn_node;
    int64_t t_call = jl_recorder_event(w->rec, c->process, JL_INVOKE, f, key, what ? vjson : NULL, node, NULL, 0);
    tc_rc_reply rep;
    int rc = jl_call(&c->conn, OP_TIMEOUT_MS, &rep, argc, argv);
    const char *why;
    jl_type t = outcome(c, rc, &rep, what != 0, &why);
    if (t == JL_OK && what == 2 && rep.type == TC_RC_NIL) {
        t = JL_FAIL; /* IFEQ did not match: not set */
        why = "cas: value differs";
    }
    if (t == JL_OK && what == 0) {
        long long got = rep.type == TC_RC_BULK ? atoll(rep.str) : -1;
        if (rep.type == TC_RC_BULK)
            snprintf(vjson, sizeof vjson, "\"%s\"", rep.str);
        else
            snprintf(vjson, sizeof vjson, "null");
        if (w->inject_stale && c->prev[k] >= 0 && c->prev[k] != got &&
            rnd(&c->rng) % 100 < STALE_INJECT_PERCENT) {
            /* Test only: answer with a value this client saw overwritten. */
            snprintf(vjson, sizeof vjson, "\"%lld\"", c->prev[k]);
            atomic_fetch_add(&w->stale_injected, 1);
        } else {
            saw(c, k, got);
        }
    }
    int64_t t_ret = jl_recorder_event(w->rec, c->process, t, f, key, t == JL_OK && what != 1 ? vjson : NULL,
                                      node, why, t_call);
    tc_rc_reply_free(&rep);
    if (t == JL_OK && what != 0) {
        saw(c, k, v);
        note_write(w, k, v, t_call, t_ret);
    }
    if (t == JL_INFO)
        c->process += w->concurrency;
    if (what == 0 && t == JL_OK && w->cluster->n > 1 && rnd(&c->rng) % 100 < REPLICA_READ_PERCENT)
        replica_read(c, k, key);
}

static void set_op(client *c) {
    jl_workload *w = c->w;
    long long e = atomic_fetch_add(&w->next_value, 1);
    char key[40], vjson[40];
    snprintf(key, sizeof key, "s:%lld", e);
    snprintf(vjson, sizeof vjson, "\"%lld\"", e);
    const char *argv[] = {"SET", key, "1"};
    int node = c->conn_node;
    int64_t t_call = jl_recorder_event(w->rec, c->process, JL_INVOKE, JL_ADD, "s", vjson, node, NULL, 0);
    tc_rc_reply rep;
    int rc = jl_call(&c->conn, OP_TIMEOUT_MS, &rep, 3, argv);
    const char *why;
    jl_type t = outcome(c, rc, &rep, true, &why);
    jl_recorder_event(w->rec, c->process, t, JL_ADD, "s", t == JL_OK ? vjson : NULL, node, why, t_call);
    tc_rc_reply_free(&rep);
    if (t == JL_OK)
        note_acked(w, e);
    if (t == JL_INFO)
        c->process += w->concurrency;
}

/* The elements of an SMEMBERS reply as a JSON array (malloc'd), or NULL if
 * the reply is not an array of bulk strings. */
static char *json_members(const tc_rc_reply *rep) {
    if (rep->type != TC_RC_ARRAY && rep->type != TC_RC_SET)
        return NULL;
    size_t need = 3;
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->elem[i].type != TC_RC_BULK)
            return NULL;
        need += tc_json_quote(NULL, 0, rep->elem[i].str, rep->elem[i].len) + 1;
    }
    char *out = malloc(need);
    if (!out)
        return NULL;
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < rep->n; i++) {
        if (i)
            out[len++] = ',';
        len += tc_json_quote(out + len, need - len, rep->elem[i].str, rep->elem[i].len);
    }
    out[len++] = ']';
    out[len] = '\0';
    return out;
}

static void sadd_key(int k, char *key, size_t cap) { snprintf(key, cap, "js%d", k); }

/* sadd: SADD a new element to one of a few set keys, or read a key whole
 * with SMEMBERS on the primary. Every read is checked against the adds
 * acknowledged and the elements read before it began (model set-full). */
static void sadd_op(client *c) {
    jl_workload *w = c->w;
    int k = (int)(rnd(&c->rng) % (uint64_t)w->n_keys);
    bool read = rnd(&c->rng) % 100 < SADD_READ_PERCENT;
    char key[16], val[32], vjson[40];
    sadd_key(k, key, sizeof key);
    long long e = read ? -1 : atomic_fetch_add(&w->next_value, 1);
    snprintf(val, sizeof val, "%lld", e);
    snprintf(vjson, sizeof vjson, "\"%lld\"", e);
    jl_fn f = read ? JL_READ : JL_ADD;
    int node = c->conn_node;
    int64_t t_call = jl_recorder_event(w->rec, c->process, JL_INVOKE, f, key, read ? NULL : vjson, node, NULL, 0);
    tc_rc_reply rep;
    const char *argv[] = {read ? "SMEMBERS" : "SADD", key, val};
    int rc = jl_call(&c->conn, OP_TIMEOUT_MS, &rep, read ? 2 : 3, argv);
    const char *why;
    jl_type t = outcome(c, rc, &rep, !read, &why);
    char *members = NULL;
    if (t == JL_OK && read && !(members = json_members(&rep))) {
        t = JL_FAIL; /* not a set reply: the read tells nothing */
        why = "SMEMBERS: unexpected reply";
    }
    if (t == JL_OK && !read && rep.type != TC_RC_INT) {
        t = JL_INFO;
        why = "SADD: unexpected reply";
    }
    jl_recorder_event(w->rec, c->process, t, f, key, t == JL_OK ? (read ? members : vjson) : NULL, node, why,
                      t_call);
    free(members);
    tc_rc_reply_free(&rep);
    if (t == JL_INFO)
        c->process += w->concurrency;
}

static void *client_main(void *arg) {
    client *c = arg;
    jl_workload *w = c->w;
    int64_t interval = (int64_t)(1e9 * w->concurrency / w->rate);
    int64_t next = jl_now_ns() + (int64_t)(rnd(&c->rng) % (uint64_t)(interval + 1));
    while (!atomic_load(&w->stop)) {
        int64_t now = jl_now_ns();
        if (next > now)
            jl_sleep_ms((next - now) / 1000000);
        next += interval;
        if (next < jl_now_ns() - interval) /* fell far behind (a fault): don't burst */
            next = jl_now_ns();
        if (atomic_load(&w->stop) || !ensure_primary(c))
            continue;
        if (w->sadd)
            sadd_op(c);
        else if (w->set)
            set_op(c);
        else
            register_op(c);
    }
    tc_rc_close(&c->conn);
    tc_rc_close(&c->rconn);
    return NULL;
}

int jl_workload_start(jl_workload *w) {
    if (w->n_keys < 1 || w->n_keys > MAX_KEYS || w->concurrency < 1 || w->concurrency > JL_MAX_CLIENTS)
        return -1;
    pthread_mutex_init(&w->mu, NULL);
    atomic_store(&w->stop, false);
    atomic_store(&w->primary, -1);
    if (!(w->priv = calloc(1, sizeof(shared))))
        return -1;
    for (int i = 0; i < w->concurrency; i++) {
        client *c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->w = w;
        c->idx = i;
        c->process = i;
        c->rng = w->seed * 1000003u + (uint64_t)i;
        tc_rc_init(&c->conn);
        tc_rc_init(&c->rconn);
        c->conn_node = c->rconn_node = -1;
        for (int k = 0; k < MAX_KEYS; k++)
            c->last[k] = c->prev[k] = -1;
        if (pthread_create(&w->threads[i], NULL, client_main, c) != 0) {
            free(c);
            return -1;
        }
        w->clients[i] = c;
        w->started++;
    }
    return 0;
}

void jl_workload_stop(jl_workload *w) {
    atomic_store(&w->stop, true);
    for (int i = 0; i < w->started; i++) {
        pthread_join(w->threads[i], NULL);
        free(w->clients[i]);
        w->clients[i] = NULL;
    }
    w->started = 0;
}

void jl_workload_free(jl_workload *w) {
    shared *s = sh(w);
    if (!s)
        return;
    free(s->wlog);
    free(s->rreads);
    free(s->acked);
    free(s);
    w->priv = NULL;
}

/* One read op on node i (the primary for register keys), recorded. */
static int64_t final_process(jl_workload *w) { return FINAL_PROCESS + atomic_fetch_add(&w->next_final, 1); }

static void final_register_read(jl_workload *w, int k) {
    char key[16];
    snprintf(key, sizeof key, "r%d", k);
    for (int attempt = 0; attempt < 20; attempt++) {
        int p = jl_cluster_primary(w->cluster, 300);
        if (p < 0) {
            jl_sleep_ms(200);
            continue;
        }
        tc_rc rc;
        tc_rc_init(&rc);
        if (jl_node_connect(w->cluster, p, &rc, CONNECT_TIMEOUT_MS) != 0) {
            jl_sleep_ms(200);
            continue;
        }
        int64_t proc = final_process(w);
        int64_t t_call = jl_recorder_event(w->rec, proc, JL_INVOKE, JL_READ, key, NULL, p, NULL, 0);
        tc_rc_reply rep;
        const char *argv[] = {"GET", key};
        int r = jl_call(&rc, OP_TIMEOUT_MS * 3, &rep, 2, argv);
        bool ok = r == 0 && (rep.type == TC_RC_BULK || rep.type == TC_RC_NIL);
        char *v = NULL; /* the value read, as a JSON string */
        if (ok && rep.type == TC_RC_BULK) {
            size_t need = tc_json_quote(NULL, 0, rep.str, rep.len) + 1;
            if ((v = malloc(need)) != NULL)
                tc_json_quote(v, need, rep.str, rep.len);
        }
        jl_type t = ok ? JL_OK : r == JL_RC_TIMEOUT || r == JL_RC_LOST ? JL_INFO : JL_FAIL;
        jl_recorder_event(w->rec, proc, t, JL_READ, key, ok ? (v ? v : "null") : NULL, p,
                          ok ? NULL : r ? "no reply" : rep.str, t_call);
        free(v);
        tc_rc_reply_free(&rep);
        tc_rc_close(&rc);
        if (ok)
            return;
        jl_sleep_ms(200);
    }
}

/* sadd: SMEMBERS of key k on the primary after healing, retried until one
 * answers; invoked after every add ended, so it is the key's final read. */
static void final_sadd_read(jl_workload *w, int k) {
    char key[16];
    sadd_key(k, key, sizeof key);
    for (int attempt = 0; attempt < 20; attempt++) {
        int p = jl_cluster_primary(w->cluster, 300);
        tc_rc rc;
        tc_rc_init(&rc);
        if (p < 0 || jl_node_connect(w->cluster, p, &rc, CONNECT_TIMEOUT_MS) != 0) {
            jl_sleep_ms(200);
            continue;
        }
        int64_t proc = final_process(w);
        int64_t t_call = jl_recorder_event(w->rec, proc, JL_INVOKE, JL_READ, key, NULL, p, NULL, 0);
        tc_rc_reply rep;
        const char *argv[] = {"SMEMBERS", key};
        int r = jl_call(&rc, OP_TIMEOUT_MS * 5, &rep, 2, argv);
        char *members = r == 0 ? json_members(&rep) : NULL;
        jl_type t = members ? JL_OK : r == JL_RC_TIMEOUT || r == JL_RC_LOST ? JL_INFO : JL_FAIL;
        jl_recorder_event(w->rec, proc, t, JL_READ, key, members, p,
                          members ? NULL : r ? "no reply" : "not a set reply", t_call);
        free(members);
        tc_rc_reply_free(&rep);
        tc_rc_close(&rc);
        if (t == JL_OK)
            return;
        jl_sleep_ms(200);
    }
}

/* Reads every attempted element on node i; one history read op. */
static int final_set_read(jl_workload *w, int i, long *present, long *missing) {
    shared *s = sh(w);
    long long n = atomic_load(&w->next_value);
    tc_rc rc;
    tc_rc_init(&rc);
    *present = 0;
    *missing = -1;
    if (jl_node_connect(w->cluster, i, &rc, CONNECT_TIMEOUT_MS) != 0)
        return -1;
    tc_rc_reply rep;
    const char *ro[] = {"READONLY"};
    int r = jl_call(&rc, OP_TIMEOUT_MS, &rep, 1, ro);
    tc_rc_reply_free(&rep);
    if (r != 0)
        return -1;
    size_t cap = 64 + (size_t)n * 24, len = 0;
    char *list = malloc(cap);
    const char **argv = malloc(sizeof *argv * (MGET_BATCH + 1));
    char(*keys)[32] = malloc(sizeof *keys * MGET_BATCH);
    if (!list || !argv || !keys) {
        free(list);
        free(argv);
        free(keys);
        tc_rc_close(&rc);
        return -1;
    }
    int64_t proc = final_process(w);
    int64_t t_call = jl_recorder_event(w->rec, proc, JL_INVOKE, JL_READ, "s", NULL, i, NULL, 0);
    list[len++] = '[';
    long miss = 0;
    bool ok = true;
    for (long long base = 0; base < n && ok; base += MGET_BATCH) {
        int m = (int)(n - base < MGET_BATCH ? n - base : MGET_BATCH);
        argv[0] = "MGET";
        for (int j = 0; j < m; j++) {
            snprintf(keys[j], sizeof keys[j], "s:%lld", base + j);
            argv[1 + j] = keys[j];
        }
        r = jl_call(&rc, OP_TIMEOUT_MS * 5, &rep, m + 1, argv);
        ok = r == 0 && rep.type == TC_RC_ARRAY && rep.n == (size_t)m;
        for (int j = 0; ok && j < m; j++) {
            long long e = base + j;
            bool here = rep.elem[j].type == TC_RC_BULK;
            if (here) {
                len += (size_t)snprintf(list + len, cap - len, "%s\"%lld\"", *present ? "," : "", e);
                (*present)++;
            } else if ((size_t)e < s->cap_acked && s->acked[e]) {
                miss++;
            }
        }
        tc_rc_reply_free(&rep);
    }
    list[len++] = ']';
    list[len] = '\0';
    jl_recorder_event(w->rec, proc, ok ? JL_OK : JL_INFO, JL_READ, "s", ok ? list : NULL, i,
                      ok ? NULL : "final read failed", t_call);
    if (ok)
        *missing = miss;
    free(list);
    free(argv);
    free(keys);
    tc_rc_close(&rc);
    return ok ? 0 : -1;
}

int jl_workload_final_reads(jl_workload *w, long present[JL_MAX_NODES], long missing[JL_MAX_NODES]) {
    int rc = 0;
    for (int i = 0; i < JL_MAX_NODES; i++)
        present[i] = missing[i] = -1;
    if (w->sadd) {
        for (int k = 0; k < w->n_keys; k++)
            final_sadd_read(w, k);
        return 0;
    }
    if (!w->set) {
        for (int k = 0; k < w->n_keys; k++)
            final_register_read(w, k);
        return 0;
    }
    for (int i = 0; i < w->cluster->n; i++)
        if (final_set_read(w, i, &present[i], &missing[i]) != 0)
            rc = -1;
    return rc;
}

long jl_workload_stale_replica_reads(jl_workload *w) {
    shared *s = sh(w);
    if (!s)
        return 0;
    long stale = 0;
    for (size_t i = 0; i < s->n_rreads; i++) {
        const rread *r = &s->rreads[i];
        /* The write of the value read (if any), then: was some other write
         * acknowledged before the read began, and begun after that one was
         * acknowledged? Then the value read had surely been overwritten. */
        int64_t v_ret = -1;
        for (size_t j = 0; j < s->n_wlog; j++)
            if (s->wlog[j].key == r->key && s->wlog[j].value == r->value)
                v_ret = s->wlog[j].t_ret;
        if (r->value >= 0 && v_ret < 0)
            continue; /* its write was not acknowledged: cannot tell */
        for (size_t j = 0; j < s->n_wlog; j++) {
            const wlog_entry *x = &s->wlog[j];
            if (x->key == r->key && x->value != r->value && x->t_ret < r->t_call && x->t_call > v_ret) {
                stale++;
                break;
            }
        }
    }
    return stale;
}
