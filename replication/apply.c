#include "apply.h"

#include <stdlib.h>

#include "log_entry.h"

void tc_apply_replies_free(tc_apply_replies *r)
{
    tc_buf_free(&r->replies);
    free(r->ends);
    r->ends = NULL;
    r->n = r->cap = 0;
    r->resp = NULL;
    r->nresp = 0;
}

static int record_end(tc_apply_replies *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        size_t *e = realloc(r->ends, cap * sizeof *e);
        if (!e) return -1;
        r->ends = e;
        r->cap = cap;
    }
    r->ends[r->n++] = r->replies.len;
    return 0;
}

/* An expiry entry's keys waiting for their delete (they point into the
 * entry's bytes). */
typedef struct expiry_deletes {
    int db;
    size_t n;
    const char *keys[TC_KS_DELETE_BATCH];
    size_t lens[TC_KS_DELETE_BATCH];
} expiry_deletes;

static void expiry_deletes_flush(tc_server *s, expiry_deletes *d, int64_t now)
{
    if (d->n) tc_ks_delete_expired_batch(tc_server_db(s, d->db), d->keys, d->lens, d->n, now);
    d->n = 0;
}

/* The keys of the commands ahead, asked into the CPU cache. Every node
 * applies each entry's commands one after the other, most of them starting
 * with a keyspace lookup whose bucket and key are cache misses (with -P 16
 * writes, find_link was 13% of the primary's CPU and 18% of a replica's,
 * nearly all of it waiting on memory). A second reader runs LOOKAHEAD
 * commands ahead of the one being applied and asks for its first key's
 * bucket slots; half-way, it asks for the chain's first key. The first key
 * is argv[1] for every command that has one; for the few that name keys
 * elsewhere the hint is merely wasted. */
#define LOOKAHEAD 8

typedef struct lookahead {
    tc_logentry_reader rd; /* LOOKAHEAD commands ahead of the applier */
    tc_slice *argv;
    size_t cap;
    uint32_t produced; /* commands read by rd */
    struct {
        const tc_keyspace *ks; /* NULL: no key to look up */
        uint64_t h;
    } ring[LOOKAHEAD];
} lookahead;

/* Reads one more command ahead and asks for its bucket slots. */
static void lookahead_produce(lookahead *la, tc_server *s)
{
    long argc = tc_logentry_next(&la->rd, &la->argv, &la->cap);
    if (argc <= 0) return;
    const tc_keyspace *ks = argc >= 2 && la->rd.db >= 0 && la->rd.db < s->ndbs ? tc_server_db(s, la->rd.db) : NULL;
    unsigned slot = la->produced++ % LOOKAHEAD;
    la->ring[slot].ks = ks;
    if (ks) la->ring[slot].h = tc_ks_prefetch_slots(ks, la->argv[1].p, la->argv[1].len);
}

static void lookahead_heads(const lookahead *la, uint32_t i)
{
    if (i >= la->produced) return;
    unsigned slot = i % LOOKAHEAD;
    if (la->ring[slot].ks) tc_ks_prefetch_heads(la->ring[slot].ks, la->ring[slot].h);
}

/* Before command 0: the first LOOKAHEAD asked for, the first half's heads too. */
static void lookahead_start(lookahead *la, const tc_logentry_reader *rd, tc_server *s)
{
    la->rd = *rd;
    la->argv = NULL;
    la->cap = 0;
    la->produced = 0;
    for (int i = 0; i < LOOKAHEAD; i++) lookahead_produce(la, s);
    for (uint32_t i = 0; i < LOOKAHEAD / 2; i++) lookahead_heads(la, i);
}

/* Before command i (i > 0): command i + LOOKAHEAD - 1's slots and command
 * i + LOOKAHEAD / 2 - 1's head (the ring slot of command i - 1 is free). */
static void lookahead_step(lookahead *la, tc_server *s, uint32_t i)
{
    lookahead_produce(la, s);
    lookahead_heads(la, i + LOOKAHEAD / 2 - 1);
}

int tc_apply_entry(tc_server *s, tc_apply_state *st, const void *data, size_t len, tc_apply_replies *out,
                   char *err, size_t errlen)
{
    return tc_apply_entry_gap(s, st, data, len, NULL, out, err, errlen);
}

int tc_apply_entry_gap(tc_server *s, tc_apply_state *st, const void *data, size_t len, const tc_logentry_gap *gap,
                       tc_apply_replies *out, char *err, size_t errlen)
{
    tc_logentry_reader rd;
    if (tc_logentry_open_gap(&rd, data, len, gap, err, errlen) != 0) return -1;
    if (rd.time_ms > st->clock_ms) st->clock_ms = rd.time_ms;
    int64_t now = st->clock_ms;
    tc_restore_discard_idle(s, now);
    if (out) {
        out->replies.len = 0;
        out->n = 0;
    }
    tc_slice *argv = NULL;
    size_t cap = 0;
    long argc;
    tc_reply r = {out ? &out->replies : NULL, 2};
    expiry_deletes dels = {.n = 0};
    /* Size limits are the entry's: the default unless its first command,
     * TCLIMITS, says otherwise (node/cmd_limits.c). */
    s->entry_max_bulk_len = TC_DEFAULT_PROTO_MAX_BULK_LEN;
    lookahead la = {.argv = NULL};
    int ahead = rd.kind != TC_LOGENTRY_EXPIRE && rd.ncommands > 1;
    if (ahead) lookahead_start(&la, &rd, s);
    for (uint32_t i = 0; (argc = tc_logentry_next(&rd, &argv, &cap)) > 0; i++) {
        if (ahead && i > 0) lookahead_step(&la, s, i);
        if (rd.db >= s->ndbs) {
            /* Only a node configured with fewer databases than the primary
             * gets here (cluster.toml must give every node the same value):
             * the command is refused, not run in another database. */
            if (rd.kind != TC_LOGENTRY_EXPIRE) {
                r.resp = out && out->resp && i < out->nresp ? out->resp[i] : 2;
                tc_reply_error(&r, "ERR DB index is out of range");
            }
        } else if (rd.kind == TC_LOGENTRY_EXPIRE) {
            /* One key per command: the primary saw it expired at `now`.
             * Deleted in order, in runs of one database, a batch at a time
             * (tc_ks_delete_expired_batch overlaps their cache misses). */
            if (dels.n && dels.db != rd.db) expiry_deletes_flush(s, &dels, now);
            dels.db = rd.db;
            dels.keys[dels.n] = argv[0].p;
            dels.lens[dels.n++] = argv[0].len;
            if (dels.n == TC_KS_DELETE_BATCH) expiry_deletes_flush(s, &dels, now);
        } else {
            /* The reply is encoded in the protocol its client spoke when it
             * sent the command; every node's state is the same whatever it
             * is, since only the bytes of the answer depend on it. */
            r.resp = out && out->resp && i < out->nresp ? out->resp[i] : 2;
            tc_rng_seed(&s->rng, tc_logentry_command_seed(rd.seed, i));
            int db = rd.db; /* the client's database when the primary logged it */
            tc_server_execute_db(s, NULL, &db, (size_t)argc, argv, &r, now);
        }
        if (out && record_end(out) != 0) {
            /* Out of memory for replies: stop keeping them, but keep
             * applying, since every node's state must stay the same. */
            tc_apply_replies_free(out);
            out = NULL;
            r.out = NULL;
        }
        st->commands++;
    }
    expiry_deletes_flush(s, &dels, now);
    free(argv);
    free(la.argv);
    s->entry_max_bulk_len = 0;
    st->entries++;
    return 0;
}
