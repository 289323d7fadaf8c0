/* MULTI/EXEC/DISCARD/WATCH/UNWATCH: the client's queue and watches (see
 * multi.h for the WATCH rules and why they hold under replication). */
#include "multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "script.h"
#include "server.h"

typedef struct queued {
    const tc_cmd *cmd;
    size_t argc;
    tc_slice *argv; /* point into buf */
    char *buf;
} queued;

typedef struct watched {
    char *key;
    size_t klen;
    int db;         /* the database it is watched in (the client's at WATCH) */
    int existed;    /* present and unexpired when watched */
    int expired;    /* present but already expired when watched */
} watched;

struct tc_multi {
    int active, aborted, dirty, in_exec;
    size_t exec_n;  /* commands of the EXEC running (CLIENT LIST multi=) */
    queued *q;
    size_t nq, capq;
    watched *w;
    size_t nw, capw;
    /* the logged form (tc_multi_log_args) */
    tc_slice *log;
    char *lognums;
};

struct tc_watchers {
    tc_client **v;
    size_t n, cap;
};

static struct tc_multi *get(tc_client *c)
{
    if (!c->multi) c->multi = calloc(1, sizeof *c->multi);
    return c->multi;
}

static int is_write(const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    if (cmd->flags & TC_CMD_WRITE) return 1;
    /* DEBUG POPULATE creates keys: the router logs it like a write */
    if (argc >= 2 && strcmp(cmd->name, "debug") == 0 && tc_arg_is(&argv[1], "populate")) return 1;
    /* so do FUNCTION LOAD/DELETE/FLUSH/RESTORE (libraries are cluster
     * state): inside a transaction they would change the primary alone */
    return cmd->fn == tc_cmd_function && tc_function_cmd_changes_libraries(argc, argv);
}

int tc_multi_queues(const tc_client *c, const tc_slice *argv0)
{
    if (!c->multi || !c->multi->active) return 0;
    static const char *const direct[] = {"exec", "discard", "multi", "watch", "quit", "reset"};
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
        if (tc_arg_is(argv0, direct[i])) return 0;
    return 1;
}

void tc_multi_flag(tc_client *c)
{
    if (c->multi) c->multi->aborted = 1;
}

int tc_multi_queue(tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    struct tc_multi *m = c->multi;
    if (m->nq == m->capq) {
        size_t cap = m->capq ? m->capq * 2 : 8;
        queued *q = realloc(m->q, cap * sizeof *q);
        if (!q) goto oom;
        m->q = q;
        m->capq = cap;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < argc; i++) bytes += argv[i].len;
    queued *e = &m->q[m->nq];
    e->cmd = cmd;
    e->argc = argc;
    e->argv = malloc(argc * sizeof *e->argv);
    e->buf = malloc(bytes ? bytes : 1);
    if (!e->argv || !e->buf) {
        free(e->argv);
        free(e->buf);
        goto oom;
    }
    size_t off = 0;
    for (size_t i = 0; i < argc; i++) {
        memcpy(e->buf + off, argv[i].p, argv[i].len);
        e->argv[i].p = e->buf + off;
        e->argv[i].len = argv[i].len;
        off += argv[i].len;
    }
    m->nq++;
    return 0;
oom:
    m->aborted = 1;
    return -1;
}

int tc_multi_in_exec(const tc_client *c) { return c->multi && c->multi->in_exec; }

long tc_multi_count(const tc_client *c)
{
    if (!c->multi) return -1;
    if (c->multi->in_exec) return (long)c->multi->exec_n;
    return c->multi->active ? (long)c->multi->nq : -1;
}

/* ---- watches ------------------------------------------------------------- */

static void unregister(tc_server *s, tc_client *c)
{
    struct tc_watchers *ws = s->watchers;
    if (!ws) return;
    for (size_t i = 0; i < ws->n; i++)
        if (ws->v[i] == c) {
            ws->v[i] = ws->v[--ws->n];
            return;
        }
}

static void unwatch(tc_client *c)
{
    struct tc_multi *m = c->multi;
    if (!m) return;
    if (m->nw) unregister(c->srv, c);
    for (size_t i = 0; i < m->nw; i++) free(m->w[i].key);
    m->nw = 0;
    m->dirty = 0;
}

static int watch_key(tc_ctx *x, struct tc_multi *m, const tc_slice *k)
{
    for (size_t i = 0; i < m->nw; i++)
        if (m->w[i].db == x->db && m->w[i].klen == k->len && memcmp(m->w[i].key, k->p, k->len) == 0) return 0;
    tc_server *s = x->srv;
    if (m->nw == 0) {
        struct tc_watchers *ws = s->watchers;
        if (!ws && !(ws = s->watchers = calloc(1, sizeof *ws))) return -1;
        if (ws->n == ws->cap) {
            size_t cap = ws->cap ? ws->cap * 2 : 16;
            tc_client **v = realloc(ws->v, cap * sizeof *v);
            if (!v) return -1;
            ws->v = v;
            ws->cap = cap;
        }
        ws->v[ws->n++] = x->client;
    }
    if (m->nw == m->capw) {
        size_t cap = m->capw ? m->capw * 2 : 4;
        watched *w = realloc(m->w, cap * sizeof *w);
        if (!w) return -1;
        m->w = w;
        m->capw = cap;
    }
    watched *w = &m->w[m->nw];
    if (!(w->key = malloc(k->len ? k->len : 1))) return -1;
    memcpy(w->key, k->p, k->len);
    w->klen = k->len;
    w->db = x->db;
    w->existed = tc_ks_find(x->ks, k->p, k->len, x->now_ms) != NULL;
    w->expired = !w->existed && tc_ks_peek(x->ks, k->p, k->len, x->now_ms) != NULL;
    m->nw++;
    return 0;
}

/* What touching does to one watch. all_existing: FLUSHALL at run time. */
static void touch_one(tc_server *s, struct tc_multi *m, watched *w, int only_existing, int64_t now)
{
    if (only_existing && !tc_ks_peek(tc_server_db(s, w->db), w->key, w->klen, now)) return;
    m->dirty = 1;
}

static void touch_key(tc_server *s, int db, const char *key, size_t klen, int64_t now)
{
    struct tc_watchers *ws = s->watchers;
    for (size_t i = 0; i < ws->n; i++) {
        struct tc_multi *m = ws->v[i]->multi;
        for (size_t j = 0; j < m->nw && !m->dirty; j++)
            if (m->w[j].db == db && m->w[j].klen == klen && memcmp(m->w[j].key, key, klen) == 0)
                touch_one(s, m, &m->w[j], 0, now);
    }
}

/* Every watch in database db (-1: in any database). */
static void touch_all(tc_server *s, int db, int only_existing, int64_t now)
{
    struct tc_watchers *ws = s->watchers;
    for (size_t i = 0; i < ws->n; i++) {
        struct tc_multi *m = ws->v[i]->multi;
        for (size_t j = 0; j < m->nw && !m->dirty; j++)
            if (db < 0 || m->w[j].db == db) touch_one(s, m, &m->w[j], only_existing, now);
    }
}

/* A database index argument of a write (MOVE, SWAPDB, COPY DB), or -1 when
 * it is not a valid one (the command then fails and touches nothing). */
static int db_arg(tc_server *s, const tc_slice *a)
{
    long long v;
    if (tc_parse_ll(a->p, a->len, &v) != 0 || v < 0 || v >= s->ndbs) return -1;
    return (int)v;
}

void tc_multi_touch_cmd(tc_server *s, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv, int64_t now,
                        int routed)
{
    if (!s->watchers || s->watchers->n == 0 || !is_write(cmd, argc, argv)) return;
    const char *n = cmd->name;
    if (strcmp(n, "tcbackup") == 0) return; /* changes no key */
    if (strcmp(n, "flushall") == 0 || strcmp(n, "flushdb") == 0) {
        touch_all(s, n[5] == 'a' ? -1 : db, !routed, now);
        return;
    }
    if (strcmp(n, "swapdb") == 0) {
        /* every watch in either database: what a key holds there changes */
        int a = db_arg(s, &argv[1]), b = db_arg(s, &argv[2]);
        if (a >= 0 && b >= 0 && a != b) {
            touch_all(s, a, 0, now);
            touch_all(s, b, 0, now);
        }
        return;
    }
    if (strcmp(n, "move") == 0) {
        int to = db_arg(s, &argv[2]);
        if (to >= 0) touch_key(s, to, argv[1].p, argv[1].len, now);
        /* and the source, below */
    }
    if (strcmp(n, "copy") == 0) {
        for (size_t i = 3; i + 1 < argc; i++)
            if (tc_arg_is(&argv[i], "db")) {
                int to = db_arg(s, &argv[i + 1]);
                if (to >= 0) touch_key(s, to, argv[2].p, argv[2].len, now);
            }
    }
    if (strcmp(n, "tcexec") == 0) {
        /* at run time its commands touch as they run; a TCEXEC a client
         * sent itself is routed unparsed: everything */
        if (routed) touch_all(s, -1, 0, now);
        return;
    }
    if (cmd->key_step > 0 && cmd->first_key > 0) {
        size_t last = cmd->last_key < 0 ? argc + (size_t)(long)cmd->last_key : (size_t)cmd->last_key;
        for (size_t i = (size_t)cmd->first_key; i <= last && i < argc; i += (size_t)cmd->key_step)
            touch_key(s, db, argv[i].p, argv[i].len, now);
        return;
    }
    if (strcmp(n, "tcrestore") == 0 || strcmp(n, "debug") == 0) {
        touch_all(s, -1, 0, now);
        return;
    }
    /* keys after a count (LMPOP, BLMPOP...): any argument may be one */
    for (size_t i = 1; i < argc; i++) touch_key(s, db, argv[i].p, argv[i].len, now);
}

/* 1 when EXEC must answer nil: a watched key was touched, or one that
 * existed unexpired is now gone or expired. */
static int watch_failed(tc_server *s, struct tc_multi *m, int64_t now)
{
    if (m->dirty) return 1;
    for (size_t i = 0; i < m->nw; i++)
        if (m->w[i].existed && !tc_ks_find(tc_server_db(s, m->w[i].db), m->w[i].key, m->w[i].klen, now)) return 1;
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void drop_queue(struct tc_multi *m)
{
    for (size_t i = 0; i < m->nq; i++) {
        free(m->q[i].argv);
        free(m->q[i].buf);
    }
    m->nq = 0;
    free(m->log);
    free(m->lognums);
    m->log = NULL;
    m->lognums = NULL;
}

void tc_multi_reset(tc_client *c)
{
    struct tc_multi *m = c->multi;
    if (!m) return;
    unwatch(c);
    drop_queue(m);
    m->active = m->aborted = 0;
}

void tc_multi_client_gone(tc_client *c)
{
    struct tc_multi *m = c->multi;
    if (!m) return;
    tc_multi_reset(c);
    free(m->q);
    free(m->w);
    free(m);
    c->multi = NULL;
}

void tc_multi_free(tc_server *s)
{
    if (!s->watchers) return;
    free(s->watchers->v);
    free(s->watchers);
    s->watchers = NULL;
}

/* ---- replication --------------------------------------------------------- */

/* Commands that may run at apply (no client there) inside a logged
 * transaction: data commands and a few that need no connection. */
/* SCRIPT LOAD and FLUSH change the script cache, which on a replicated
 * primary is cluster state (the router logs them): inside a transaction
 * they make it one that writes, so that the logged TCEXEC carries them to
 * every node. Elsewhere (a replica, one node) they stay local, as outside. */
static int changes_script_cache(const tc_server *s, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    return s->repl.ops && cmd->fn == tc_cmd_script && argc >= 2 &&
           (tc_arg_is(&argv[1], "load") || tc_arg_is(&argv[1], "flush")) &&
           tc_server_primary_id((tc_server *)s) == s->self->id;
}

static int replicable(const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    if (cmd->flags & (TC_CMD_WRITE | TC_CMD_READONLY)) return 1;
    /* the cache's changes run at apply too (the router logs them alone) */
    if (cmd->fn == tc_cmd_script && argc >= 2 &&
        (tc_arg_is(&argv[1], "load") || tc_arg_is(&argv[1], "flush") || tc_arg_is(&argv[1], "exists")))
        return 1;
    /* SELECT changes the database of the transaction's later commands,
     * which TCEXEC follows at apply (tc_server_execute_db) */
    return cmd->fn == tc_cmd_select || strcmp(cmd->name, "ping") == 0 || strcmp(cmd->name, "echo") == 0 || strcmp(cmd->name, "time") == 0;
}

/* EVAL, EVALSHA, or FCALL of a function that may write. */
static int is_writing_script(tc_server *s, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    unsigned flags = 0;
    if (cmd->fn == tc_cmd_eval || cmd->fn == tc_cmd_evalsha) return 1;
    return cmd->fn == tc_cmd_fcall && argc >= 2 && tc_function_flags(s, &argv[1], &flags) &&
           !(flags & TC_FN_NO_WRITES);
}

/* A transaction with a writing script, on a replicated primary: its
 * effects are what gets logged (the router runs EXEC under a recording),
 * so every write in it must be one a recording can journal, and nothing
 * in it may change cluster state the log carries as its own commands. */
static int script_transaction(tc_client *c, tc_reply *r)
{
    tc_server *s = c->srv;
    struct tc_multi *m = c->multi;
    if (!s->repl.ops || tc_server_primary_id(s) != s->self->id) return 0;
    int script = 0;
    for (size_t i = 0; i < m->nq; i++) script |= is_writing_script(s, m->q[i].cmd, m->q[i].argc, m->q[i].argv);
    if (!script) return 0;
    for (size_t i = 0; i < m->nq; i++) {
        const queued *q = &m->q[i];
        const char *why = NULL;
        if (q->cmd->fn == tc_cmd_script || q->cmd->fn == tc_cmd_function || q->cmd->fn == tc_cmd_config ||
            q->cmd->fn == tc_cmd_acl || (is_write(q->cmd, q->argc, q->argv) && !(q->cmd->flags & TC_CMD_WRITE)))
            why = "ERR this command cannot share a transaction with a writing script on a replicated node";
        else if (q->cmd->flags & TC_CMD_WRITE)
            why = tc_script_record_refusal(q->cmd, q->argc, q->argv);
        if (!why) continue;
        tc_reply_errorf(r, "EXECABORT Transaction discarded because of: %s", why);
        tc_multi_reset(c);
        return -1;
    }
    return 1;
}

int tc_multi_exec_plan(tc_client *c, int64_t now, tc_reply *r)
{
    struct tc_multi *m = c->multi;
    if (!m || !m->active || m->aborted || watch_failed(c->srv, m, now)) return TC_EXEC_LOCAL;
    int with_script = script_transaction(c, r);
    if (with_script) return with_script < 0 ? TC_EXEC_DONE : TC_EXEC_SCRIPT;
    int writes = 0, reads = 0;
    for (size_t i = 0; i < m->nq; i++) {
        writes |= is_write(m->q[i].cmd, m->q[i].argc, m->q[i].argv) ||
                  changes_script_cache(c->srv, m->q[i].cmd, m->q[i].argc, m->q[i].argv);
        reads |= (m->q[i].cmd->flags & TC_CMD_READONLY) != 0;
    }
    if (!writes) return reads ? TC_EXEC_READ : TC_EXEC_LOCAL;
    for (size_t i = 0; i < m->nq; i++) {
        if (replicable(m->q[i].cmd, m->q[i].argc, m->q[i].argv)) continue;
        tc_reply_errorf(r,
                        "EXECABORT Transaction discarded because of: ERR '%s' cannot run in a transaction that "
                        "writes on a replicated node",
                        m->q[i].cmd->name);
        tc_multi_reset(c);
        return TC_EXEC_DONE;
    }
    return TC_EXEC_WRITE;
}

static uint64_t digits(size_t v)
{
    uint64_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

uint64_t tc_multi_log_bytes(const tc_client *c)
{
    const struct tc_multi *m = c->multi;
    if (!m) return 0;
    /* TCEXEC, the count, then each command's argc and arguments */
    uint64_t n = 6 + digits(m->nq);
    for (size_t i = 0; i < m->nq; i++) {
        n += digits(m->q[i].argc);
        for (size_t j = 0; j < m->q[i].argc; j++) n += m->q[i].argv[j].len;
    }
    return n;
}

int tc_multi_log_args(tc_server *s, tc_client *c, int64_t now, int *db, size_t *argc, const tc_slice **argv)
{
    struct tc_multi *m = c->multi;
    size_t n = 2;
    for (size_t i = 0; i < m->nq; i++) n += 1 + m->q[i].argc;
    free(m->log);
    free(m->lognums);
    m->log = malloc(n * sizeof *m->log);
    m->lognums = malloc((m->nq + 1) * 24);
    if (!m->log || !m->lognums) return -1;
    char *num = m->lognums;
    size_t k = 0;
    m->log[k++] = (tc_slice){"tcexec", 6};
    int len = snprintf(num, 24, "%zu", m->nq);
    m->log[k++] = (tc_slice){num, (size_t)len};
    for (size_t i = 0; i < m->nq; i++) {
        num += 24;
        len = snprintf(num, 24, "%zu", m->q[i].argc);
        m->log[k++] = (tc_slice){num, (size_t)len};
        for (size_t j = 0; j < m->q[i].argc; j++) m->log[k++] = m->q[i].argv[j];
        tc_multi_touch_cmd(s, *db, m->q[i].cmd, m->q[i].argc, m->q[i].argv, now, 1);
        /* a valid SELECT moves the rest (and the client, after EXEC), as it
         * will at apply; an invalid one answers its error there and moves
         * nothing */
        if (m->q[i].cmd->fn == tc_cmd_select && m->q[i].argc == 2) {
            long long v;
            if (tc_parse_ll(m->q[i].argv[1].p, m->q[i].argv[1].len, &v) == 0 && v >= 0 && v < s->ndbs &&
                (v == 0 || !s->cfg.cluster_mode))
                *db = (int)v;
        }
    }
    *argc = k;
    *argv = m->log;
    return 0;
}

/* ---- commands ------------------------------------------------------------ */

void tc_cmd_multi(tc_ctx *x)
{
    struct tc_multi *m = x->client ? get(x->client) : NULL;
    if (!m) {
        tc_reply_error(x->r, x->client ? "ERR out of memory" : "ERR MULTI needs a connection");
        return;
    }
    if (m->active) {
        tc_reply_error(x->r, "ERR MULTI calls can not be nested");
        return;
    }
    m->active = 1;
    m->aborted = 0;
    tc_reply_ok(x->r);
}

void tc_cmd_discard(tc_ctx *x)
{
    if (!x->client || !x->client->multi || !x->client->multi->active) {
        tc_reply_error(x->r, "ERR DISCARD without MULTI");
        return;
    }
    tc_multi_reset(x->client);
    tc_reply_ok(x->r);
}

void tc_cmd_watch(tc_ctx *x)
{
    struct tc_multi *m = x->client ? get(x->client) : NULL;
    if (!m) {
        tc_reply_error(x->r, x->client ? "ERR out of memory" : "ERR WATCH needs a connection");
        return;
    }
    if (m->active) {
        tc_reply_error(x->r, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (size_t i = 1; i < x->argc; i++)
        if (watch_key(x, m, &x->argv[i]) != 0) {
            tc_reply_error(x->r, "ERR out of memory");
            return;
        }
    tc_reply_ok(x->r);
}

void tc_cmd_unwatch(tc_ctx *x)
{
    if (x->client) unwatch(x->client);
    tc_reply_ok(x->r);
}

void tc_cmd_exec(tc_ctx *x)
{
    tc_client *c = x->client;
    struct tc_multi *m = c ? c->multi : NULL;
    if (!m || !m->active) {
        tc_reply_error(x->r, "ERR EXEC without MULTI");
        return;
    }
    if (m->aborted) {
        tc_multi_reset(c);
        tc_reply_error(x->r, TC_ERR_EXECABORT);
        return;
    }
    if (watch_failed(x->srv, m, x->now_ms)) {
        tc_multi_reset(c);
        tc_reply_null_array(x->r);
        return;
    }
    /* Redis unwatches before running: the transaction's own writes do not
     * count against it. The queue is taken so that nothing it runs sees it. */
    unwatch(c);
    queued *q = m->q;
    size_t nq = m->nq;
    m->q = NULL;
    m->nq = m->capq = 0;
    m->active = 0;
    m->in_exec = 1;
    m->exec_n = nq;
    tc_reply_array(x->r, nq);
    for (size_t i = 0; i < nq; i++) {
        /* under the primary's recording (a transaction with a writing
         * script, TC_EXEC_SCRIPT): the write is journaled and recorded
         * first, as a script's redis.call would do */
        if (is_write(q[i].cmd, q[i].argc, q[i].argv) &&
            tc_script_record_command(x->srv, c->db, q[i].cmd, q[i].argc, q[i].argv) < 0) {
            tc_reply_error(x->r, "ERR out of memory recording the transaction's writes");
            continue;
        }
        tc_server_execute(x->srv, c, q[i].argc, q[i].argv, x->r, x->now_ms);
    }
    m->in_exec = 0;
    for (size_t i = 0; i < nq; i++) {
        free(q[i].argv);
        free(q[i].buf);
    }
    free(q);
}

/* The logged transaction, run by every node at apply (and by a client that
 * sends it itself, which is no more than MULTI/EXEC without WATCH):
 * TCEXEC n (argc arg...) x n. The whole layout is checked before anything
 * runs, so that a malformed one changes nothing anywhere. */
void tc_cmd_tcexec(tc_ctx *x)
{
    long long n;
    if (tc_parse_ll(x->argv[1].p, x->argv[1].len, &n) != 0 || n < 0 || (size_t)n > x->argc) {
        tc_reply_error(x->r, "ERR malformed TCEXEC");
        return;
    }
    size_t pos = 2;
    for (long long i = 0; i < n; i++) {
        long long a;
        if (pos >= x->argc || tc_parse_ll(x->argv[pos].p, x->argv[pos].len, &a) != 0 || a < 1 || (size_t)a > x->argc - pos - 1 ||
            tc_arg_is(&x->argv[pos + 1], "tcexec")) {
            tc_reply_error(x->r, "ERR malformed TCEXEC");
            return;
        }
        pos += 1 + (size_t)a;
    }
    if (pos != x->argc) {
        tc_reply_error(x->r, "ERR malformed TCEXEC");
        return;
    }
    /* each command its own random sequence, derived from the entry's */
    uint64_t base = tc_rng_next(x->rng);
    int db = x->db; /* where a SELECT inside moves the commands after it */
    tc_reply_array(x->r, (size_t)n);
    pos = 2;
    for (long long i = 0; i < n; i++) {
        long long a;
        tc_parse_ll(x->argv[pos].p, x->argv[pos].len, &a);
        tc_rng_seed(x->rng, tc_mix64(base + (uint64_t)i));
        tc_server_execute_db(x->srv, NULL, &db, (size_t)a, x->argv + pos + 1, x->r, x->now_ms);
        pos += 1 + (size_t)a;
    }
}
