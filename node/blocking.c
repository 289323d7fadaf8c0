/* Clients blocked on keys (blocking.h). */
#include "blocking.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "multi.h"
#include "server.h"
#include "types/dict.h"

/* A record's states. The record holds one of the client's `pending`
 * references while WAITING or DONE; while INFLIGHT the router holds one
 * for the logged command; RERUN is the moment of a re-run (none held). */
enum { WAITING, RERUN, INFLIGHT, DONE };

typedef struct tc_blocked {
    tc_client *c;
    struct tc_blocked *prev, *next; /* every record of the server */
    int state;
    uint64_t seq;                   /* blocking order: who is served first */
    int64_t deadline_ms;            /* 0 = none */
    int db;                         /* the database its keys are in (the client's when it blocked) */
    size_t (*ready)(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms);
    size_t argc, first_key, nkeys;
    tc_slice *argv;                 /* a copy of the command, for re-running it */
    int reads;                      /* a read (XREAD): re-run where it waits, on any node */
} tc_blocked;

/* The clients waiting on one key, in blocking order. */
typedef struct bkey {
    struct bkey *next;
    uint64_t hash;
    tc_blocked **v;
    size_t n, cap;
    int ready;                      /* in the ready list: not freed while so */
    int pinned;                     /* being served: not freed while so */
    int db;                         /* a key is waited on in one database */
    size_t klen;
    char name[];
} bkey;

typedef struct tc_blocking {
    tc_server *s;
    bkey **buckets;
    size_t nbuckets, nkeys;
    bkey **readyv;
    size_t nready, readycap;
    tc_blocked *all;
    size_t nwaiting;
    uint64_t next_seq;
    tc_client *probing;             /* the router's probe runs this client's handler */
    int handling;
    uv_timer_t timer;
    int timer_open;
    int64_t timer_due;              /* wall clock the timer fires at (0: idle) */
} tc_blocking;

static tc_blocking *get(tc_server *s)
{
    if (!s->blocking) {
        tc_blocking *b = calloc(1, sizeof *b);
        if (!b) return NULL;
        b->s = s;
        b->next_seq = 1;
        s->blocking = b;
    }
    return s->blocking;
}

/* ---- keys ------------------------------------------------------------------ */

static uint64_t hash_of(tc_blocking *b, int db, const char *key, size_t klen)
{
    /* the database mixed into the seed: the same name in two databases is
     * two keys */
    return tc_siphash13(b->s->dbs[0].seed[0] ^ (uint64_t)db, b->s->dbs[0].seed[1], key, klen);
}

static bkey *key_find(tc_blocking *b, int db, const char *key, size_t klen)
{
    if (!b->nbuckets) return NULL;
    uint64_t h = hash_of(b, db, key, klen);
    for (bkey *k = b->buckets[h & (b->nbuckets - 1)]; k; k = k->next)
        if (k->hash == h && k->db == db && k->klen == klen && memcmp(k->name, key, klen) == 0) return k;
    return NULL;
}

static bkey *key_get(tc_blocking *b, int db, const char *key, size_t klen)
{
    bkey *k = key_find(b, db, key, klen);
    if (k) return k;
    if (b->nkeys >= b->nbuckets) { /* grow: keys are few next to clients */
        size_t n = b->nbuckets ? b->nbuckets * 2 : 16;
        bkey **v = calloc(n, sizeof *v);
        if (!v) return NULL;
        for (size_t i = 0; i < b->nbuckets; i++) {
            for (bkey *e = b->buckets[i], *next; e; e = next) {
                next = e->next;
                e->next = v[e->hash & (n - 1)];
                v[e->hash & (n - 1)] = e;
            }
        }
        free(b->buckets);
        b->buckets = v;
        b->nbuckets = n;
    }
    if (!(k = calloc(1, sizeof *k + klen))) return NULL;
    k->hash = hash_of(b, db, key, klen);
    k->db = db;
    k->klen = klen;
    memcpy(k->name, key, klen);
    k->next = b->buckets[k->hash & (b->nbuckets - 1)];
    b->buckets[k->hash & (b->nbuckets - 1)] = k;
    b->nkeys++;
    return k;
}

static void key_free(tc_blocking *b, bkey *k)
{
    bkey **link = &b->buckets[k->hash & (b->nbuckets - 1)];
    while (*link != k) link = &(*link)->next;
    *link = k->next;
    b->nkeys--;
    free(k->v);
    free(k);
}

/* Inserts w by its seq (a client waiting again keeps its place). */
static int key_add(bkey *k, tc_blocked *w)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4;
        tc_blocked **v = realloc(k->v, cap * sizeof *v);
        if (!v) return -1;
        k->v = v;
        k->cap = cap;
    }
    size_t i = k->n;
    while (i > 0 && k->v[i - 1]->seq > w->seq) i--;
    memmove(k->v + i + 1, k->v + i, (k->n - i) * sizeof *k->v);
    k->v[i] = w;
    k->n++;
    return 0;
}

static void key_remove(tc_blocking *b, const tc_slice *key, tc_blocked *w)
{
    bkey *k = key_find(b, w->db, key->p, key->len);
    if (!k) return;
    for (size_t i = 0; i < k->n; i++) {
        if (k->v[i] != w) continue;
        memmove(k->v + i, k->v + i + 1, (k->n - i - 1) * sizeof *k->v);
        k->n--;
        break;
    }
    if (k->n == 0 && !k->ready && !k->pinned) key_free(b, k);
}

static void mark_ready(tc_blocking *b, bkey *k)
{
    if (k->ready) return;
    if (b->nready == b->readycap) {
        size_t cap = b->readycap ? b->readycap * 2 : 8;
        bkey **v = realloc(b->readyv, cap * sizeof *v);
        if (!v) return; /* the client then waits for the next push or its timeout */
        b->readyv = v;
        b->readycap = cap;
    }
    k->ready = 1;
    b->readyv[b->nready++] = k;
}

/* ---- records ------------------------------------------------------------------ */

static tc_blocked *record_new(tc_blocking *b, tc_client *c, const tc_ctx *ctx, const tc_block_spec *spec)
{
    size_t bytes = 0;
    for (size_t i = 0; i < ctx->argc; i++) bytes += ctx->argv[i].len;
    tc_blocked *w = calloc(1, sizeof *w + ctx->argc * sizeof(tc_slice) + bytes + 1);
    if (!w) return NULL;
    w->argv = (tc_slice *)(w + 1);
    char *p = (char *)(w->argv + ctx->argc);
    for (size_t i = 0; i < ctx->argc; i++) {
        memcpy(p, ctx->argv[i].p, ctx->argv[i].len);
        w->argv[i].p = p;
        w->argv[i].len = ctx->argv[i].len;
        p += ctx->argv[i].len;
    }
    w->c = c;
    const tc_cmd *cmd = tc_cmd_lookup(ctx->argv[0].p, ctx->argv[0].len);
    w->reads = cmd && !(cmd->flags & TC_CMD_WRITE);
    w->argc = ctx->argc;
    w->first_key = spec->first_key;
    w->nkeys = spec->nkeys;
    w->deadline_ms = spec->deadline_ms;
    w->ready = spec->ready;
    w->db = ctx->db;
    w->seq = b->next_seq++;
    w->state = RERUN;
    w->next = b->all;
    if (b->all) b->all->prev = w;
    b->all = w;
    c->block = w;
    return w;
}

/* Frees a record that waits on no key. */
static void record_free(tc_blocking *b, tc_blocked *w)
{
    if (w->prev) w->prev->next = w->next;
    else b->all = w->next;
    if (w->next) w->next->prev = w->prev;
    w->c->block = NULL;
    free(w);
}

static void arm_timer(tc_blocking *b, int64_t due, int64_t now);

/* WAITING: on every key's list; take_ref: the record takes a reference to
 * the client (else it inherits the caller's). */
static void start_waiting(tc_blocking *b, tc_blocked *w, int take_ref, int64_t now)
{
    w->state = WAITING;
    w->c->blocked = 1;
    if (take_ref) w->c->pending++;
    b->nwaiting++;
    for (size_t i = 0; i < w->nkeys; i++) {
        const tc_slice *key = &w->argv[w->first_key + i];
        bkey *k = key_get(b, w->db, key->p, key->len);
        /* out of memory: it waits on fewer keys (its timeout still ends it) */
        if (k && key_add(k, w) != 0 && k->n == 0 && !k->ready && !k->pinned) key_free(b, k);
    }
    if (w->deadline_ms) arm_timer(b, w->deadline_ms, now);
}

static void stop_waiting(tc_blocking *b, tc_blocked *w)
{
    for (size_t i = 0; i < w->nkeys; i++) key_remove(b, &w->argv[w->first_key + i], w);
    b->nwaiting--;
}

/* The client has its answer in its output: it goes on at the next timer
 * tick, not here (this may run inside another client's command). */
static void finish(tc_blocking *b, tc_blocked *w, int64_t now)
{
    if (w->state == WAITING) stop_waiting(b, w);
    else w->c->pending++; /* RERUN held none */
    w->state = DONE;
    arm_timer(b, now, now);
}

static void reply_timeout(tc_client *c)
{
    tc_reply r = {&c->out, c->resp};
    tc_reply_null_array(&r);
}

/* ---- the timer: timeouts and letting served clients go on ---------------------- */

static void on_timer(uv_timer_t *t)
{
    tc_blocking *b = t->data;
    int64_t now = tc_now_ms();
    b->timer_due = 0;
    size_t n = 0;
    for (tc_blocked *w = b->all; w; w = w->next) n++;
    tc_client **go = n ? malloc(n * sizeof *go) : NULL;
    size_t ngo = 0;
    int64_t next = 0;
    for (tc_blocked *w = b->all, *nw; w; w = nw) {
        nw = w->next;
        if (w->state == WAITING && w->deadline_ms && w->deadline_ms <= now) {
            reply_timeout(w->c);
            stop_waiting(b, w);
            w->state = DONE;
        }
        if (w->state == DONE && go) {
            go[ngo++] = w->c;
            record_free(b, w);
        } else if (w->state == DONE) {
            next = now; /* out of memory for the list: next tick */
        } else if (w->state == WAITING && w->deadline_ms && (!next || w->deadline_ms < next)) {
            next = w->deadline_ms;
        }
    }
    /* Resuming runs their next commands, which may block again. */
    for (size_t i = 0; i < ngo; i++) tc_client_resume(go[i]);
    free(go);
    if (next) arm_timer(b, next, now);
}

static void arm_timer(tc_blocking *b, int64_t due, int64_t now)
{
    tc_server *s = b->s;
    if (!s->loop || s->shutting_down) return; /* no loop (unit tests): nothing fires */
    if (b->timer_open && uv_is_closing((uv_handle_t *)&b->timer)) return;
    if (!b->timer_open) {
        if (uv_timer_init(s->loop, &b->timer) != 0) return;
        b->timer.data = b;
        b->timer_open = 1;
    }
    if (b->timer_due && b->timer_due <= due) return;
    b->timer_due = due;
    uv_timer_start(&b->timer, on_timer, (uint64_t)(due > now ? due - now : 0), 0);
}

/* ---- what handlers call ------------------------------------------------------------ */

int tc_block_parse_timeout(tc_ctx *c, const tc_slice *arg, int64_t *deadline_ms)
{
    long double v;
    if (tc_parse_ld(arg->p, arg->len, &v) != 0) {
        tc_reply_error(c->r, "ERR timeout is not a float or out of range");
        return -1;
    }
    v *= 1000.0L;
    /* Redis 7.0 casts to long long; out of range that gives LLONG_MIN on
     * the machines it runs on, hence "negative" for 1e400. */
    long long ms = (v > -9.2e18L && v < 9.2e18L) ? (long long)v : LLONG_MIN;
    if (ms < 0) {
        tc_reply_error(c->r, "ERR timeout is negative");
        return -1;
    }
    *deadline_ms = ms == 0 ? 0 : ms > LLONG_MAX - c->now_ms ? LLONG_MAX : c->now_ms + ms;
    return 0;
}

int tc_block_wait(tc_ctx *c, const tc_block_spec *spec, int ready)
{
    tc_client *cl = c->client;
    if (!cl) return 0; /* at apply, or a command of the node's own */
    if (tc_multi_in_exec(cl)) return 0; /* inside EXEC: as if the timeout passed */
    tc_blocking *b = get(c->srv);
    int probing = b && b->probing == cl;
    if (ready && !probing) return 0; /* served right here (a re-run is finished by serve) */
    tc_blocked *w = cl->block;
    if (!b || (!w && !(w = record_new(b, cl, c, spec)))) {
        if (!probing) return 0; /* out of memory: answer as if timed out */
        tc_reply_error(c->r, "ERR out of memory");
        return 1;
    }
    cl->blocked = 1;
    if (probing && ready) w->state = INFLIGHT;
    else start_waiting(b, w, 1, c->now_ms);
    return 1;
}

void tc_block_signal(tc_server *s, int db, const char *key, size_t klen)
{
    tc_blocking *b = s->blocking;
    if (!b || b->nwaiting == 0) return;
    bkey *k = key_find(b, db, key, klen);
    if (k) mark_ready(b, k);
}

void tc_block_signal_db(tc_server *s, int db)
{
    tc_blocking *b = s->blocking;
    if (!b || b->nwaiting == 0) return;
    /* serve_key asks each waiter's ready() again: a key that holds nothing
     * for it (absent, of another type) serves nobody */
    for (size_t i = 0; i < b->nbuckets; i++)
        for (bkey *k = b->buckets[i]; k; k = k->next)
            if (k->db == db && k->n) mark_ready(b, k);
}

/* Runs w's command again (standalone) or routes it again (replicated). */
static void serve(tc_blocking *b, tc_blocked *w, int64_t now)
{
    tc_server *s = b->s;
    tc_client *c = w->c;
    stop_waiting(b, w);
    w->state = RERUN;
    c->pending--; /* the command's own reference follows from what happens to it */
    tc_reply r = {&c->out, c->resp};
    int route = TC_ROUTE_LOCAL;
    /* a read answers from what this node applied, which just changed */
    if (s->repl.ops && !w->reads) {
        const tc_cmd *cmd = tc_cmd_lookup(w->argv[0].p, w->argv[0].len);
        route = s->repl.ops->route(s->repl.ud, c, cmd, w->argc, w->argv, &r, now);
    }
    if (route == TC_ROUTE_LOCAL) tc_server_execute(s, c, w->argc, w->argv, &r, now);
    if (c->block == w && w->state == RERUN) finish(b, w, now); /* answered */
}

/* Serves the clients waiting on k in blocking order while it has
 * elements for them. */
static void serve_key(tc_blocking *b, bkey *k, int64_t now)
{
    tc_server *s = b->s;
    size_t n = k->n;
    tc_blocked **snap = n ? malloc(n * sizeof *snap) : NULL;
    if (!snap) return;
    memcpy(snap, k->v, n * sizeof *snap);
    /* A re-run pops at once; a re-route pops only at apply, so the
     * elements there now are shared out among the clients re-routed. */
    size_t routed = 0;
    for (size_t i = 0; i < n; i++) {
        tc_blocked *w = snap[i];
        if (w->state != WAITING) continue;
        size_t avail = w->ready(tc_server_db(s, k->db), k->name, k->klen, now);
        if (avail == 0 || (s->repl.ops && avail <= routed)) continue;
        serve(b, w, now);
        routed++;
    }
    free(snap);
}

void tc_block_handle_ready(tc_server *s, int64_t now_ms)
{
    tc_blocking *b = s->blocking;
    if (!b || b->handling) return;
    b->handling = 1;
    while (b->nready) {
        bkey **list = b->readyv;
        size_t n = b->nready;
        b->readyv = NULL;
        b->nready = b->readycap = 0;
        /* Each key is flagged until its turn (which keeps it allocated);
         * its flag goes first so that a re-run can signal it again. */
        for (size_t i = 0; i < n; i++) {
            bkey *k = list[i];
            k->ready = 0;
            k->pinned = 1;
            serve_key(b, k, now_ms);
            k->pinned = 0;
            if (k->n == 0 && !k->ready) key_free(b, k);
        }
        free(list);
    }
    b->handling = 0;
}

/* ---- the replicated primary ---------------------------------------------------- */

int tc_block_probe(tc_server *s, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *r,
                   int64_t now_ms)
{
    tc_blocking *b = get(s);
    if (!b) {
        tc_reply_error(r, "ERR out of memory");
        return TC_BLOCK_ANSWERED;
    }
    tc_ctx ctx = {.srv = s, .client = c, .ks = tc_server_db(s, c->db), .db = c->db, .now_ms = now_ms, .argc = argc,
                  .argv = argv, .r = r};
    b->probing = c;
    cmd->fn(&ctx);
    b->probing = NULL;
    tc_blocked *w = c->block;
    if (!w || w->state == RERUN) return TC_BLOCK_ANSWERED;
    return w->state == INFLIGHT ? TC_BLOCK_READY : TC_BLOCK_WAITING;
}

static int is_nil(const char *p, size_t len)
{
    return (len == 5 && (memcmp(p, "*-1\r\n", 5) == 0 || memcmp(p, "$-1\r\n", 5) == 0)) ||
           (len == 3 && memcmp(p, "_\r\n", 3) == 0);
}

int tc_block_committed(tc_client *c, const char **reply, size_t *len, int64_t now_ms)
{
    tc_blocked *w = c->block;
    if (!w || w->state != INFLIGHT) return 0;
    tc_blocking *b = c->srv->blocking;
    if (is_nil(*reply, *len) && !c->closing) {
        if (!w->deadline_ms || now_ms < w->deadline_ms) {
            /* Another write took the element first: wait again, in place. */
            start_waiting(b, w, 0, now_ms);
            for (size_t i = 0; i < w->nkeys; i++) {
                const tc_slice *key = &w->argv[w->first_key + i];
                if (w->ready(tc_server_db(c->srv, w->db), key->p, key->len, now_ms))
                    tc_block_signal(c->srv, w->db, key->p, key->len);
            }
            tc_block_handle_ready(c->srv, now_ms);
            return 1;
        }
        /* its time ran out while it was in the log: the timeout's answer */
        *reply = c->resp >= 3 ? "_\r\n" : "*-1\r\n";
        *len = c->resp >= 3 ? 3 : 5;
    }
    record_free(b, w);
    c->blocked = 0;
    return 0;
}

void tc_block_forget(tc_client *c)
{
    tc_blocked *w = c->block;
    if (!w || w->state != INFLIGHT) return;
    record_free(c->srv->blocking, w);
    c->blocked = 0;
}

/* ---- unblocking -------------------------------------------------------------------- */

void tc_block_unblock_writers(tc_server *s, const char *err)
{
    tc_blocking *b = s->blocking;
    if (!b || !b->nwaiting) return;
    int64_t now = tc_now_ms();
    for (tc_blocked *w = b->all; w; w = w->next) {
        if (w->state != WAITING || w->reads) continue;
        tc_reply r = {&w->c->out, w->c->resp};
        tc_reply_error(&r, err);
        finish(b, w, now);
    }
}

int tc_block_unblock(tc_server *s, uint64_t id, int as_error)
{
    tc_blocking *b = s->blocking;
    if (!b) return 0;
    for (tc_blocked *w = b->all; w; w = w->next) {
        if (w->c->id != id || w->state != WAITING) continue;
        tc_reply r = {&w->c->out, w->c->resp};
        if (as_error) tc_reply_error(&r, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        else reply_timeout(w->c);
        finish(b, w, tc_now_ms());
        return 1;
    }
    return 0;
}

void tc_block_client_gone(tc_client *c)
{
    tc_blocked *w = c->block;
    if (!w) return;
    tc_blocking *b = c->srv->blocking;
    if (w->state == WAITING) stop_waiting(b, w);
    if (w->state == WAITING || w->state == DONE) c->pending--;
    c->blocked = 0;
    record_free(b, w);
}

int tc_block_is_waiting(const tc_client *c) { return c->block && c->block->state == WAITING; }

size_t tc_block_count(const tc_server *s) { return s->blocking ? s->blocking->nwaiting : 0; }

void tc_block_stop(tc_server *s)
{
    tc_blocking *b = s->blocking;
    if (b && b->timer_open && !uv_is_closing((uv_handle_t *)&b->timer)) uv_close((uv_handle_t *)&b->timer, NULL);
}

void tc_block_free(tc_server *s)
{
    tc_blocking *b = s->blocking;
    if (!b) return;
    while (b->all) {
        tc_blocked *w = b->all;
        if (w->state == WAITING) stop_waiting(b, w);
        record_free(b, w);
    }
    for (size_t i = 0; i < b->nbuckets; i++) {
        for (bkey *k = b->buckets[i], *next; k; k = next) {
            next = k->next;
            free(k->v);
            free(k);
        }
    }
    free(b->buckets);
    free(b->readyv);
    free(b);
    s->blocking = NULL;
}
