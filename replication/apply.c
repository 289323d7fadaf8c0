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

int tc_apply_entry(tc_server *s, tc_apply_state *st, const void *data, size_t len, tc_apply_replies *out,
                   char *err, size_t errlen)
{
    tc_logentry_reader rd;
    if (tc_logentry_open(&rd, data, len, err, errlen) != 0) return -1;
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
    for (uint32_t i = 0; (argc = tc_logentry_next(&rd, &argv, &cap)) > 0; i++) {
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
    s->entry_max_bulk_len = 0;
    st->entries++;
    return 0;
}
