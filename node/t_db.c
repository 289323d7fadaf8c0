/* The numbered databases' commands, as Redis 7.0 answers them: MOVE,
 * SWAPDB, FLUSHDB, FLUSHALL, and the database index argument SELECT and
 * COPY ... DB share. Each runs through the log like any write, in the
 * database the log entry names (replication/log_entry.h), so every node
 * changes the same databases. */
#include <limits.h>
#include <string.h>

#include "blocking.h"
#include "server.h"

int tc_parse_db(tc_server *s, const tc_slice *a, tc_reply *r, const char *cluster_err)
{
    long long db;
    if (tc_parse_ll(a->p, a->len, &db) != 0) {
        tc_reply_error(r, TC_ERR_NOT_INT);
        return -1;
    }
    if (db < INT_MIN || db > INT_MAX) { /* Redis reads the index as an int */
        tc_reply_error(r, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return -1;
    }
    /* Redis Cluster refuses any other database before the range check */
    if (s->cfg.cluster_mode && db != 0 && cluster_err) {
        tc_reply_error(r, cluster_err);
        return -1;
    }
    if (db < 0 || db >= s->ndbs) {
        tc_reply_error(r, "ERR DB index is out of range");
        return -1;
    }
    return (int)db;
}

/* FLUSHDB / FLUSHALL's only argument: ASYNC or SYNC. -1 after a syntax
 * error; 1 to free in the background (ASYNC), 0 otherwise. */
static int flush_mode(tc_ctx *c)
{
    if (c->argc > 2 || (c->argc == 2 && !tc_arg_is(&c->argv[1], "async") && !tc_arg_is(&c->argv[1], "sync"))) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    return c->argc == 2 && tc_arg_is(&c->argv[1], "async");
}

/* ASYNC hands the old keys to the lazyfree thread (node/lazyfree.h) when
 * there are many: the database is empty at once, the memory comes back a
 * little later. SYNC, and no argument (Redis's lazyfree-lazy-user-flush
 * is off by default), free before the reply, as Redis does. */
static void flush_db(tc_keyspace *ks, int async)
{
    if (async) tc_ks_flush_lazy(ks);
    else tc_ks_flush(ks);
}

void tc_cmd_flushall(tc_ctx *c)
{
    int async = flush_mode(c);
    if (async < 0) return;
    for (int i = 0; i < c->srv->ndbs; i++) flush_db(tc_server_db(c->srv, i), async);
    tc_reply_ok(c->r);
}

void tc_cmd_flushdb(tc_ctx *c)
{
    int async = flush_mode(c);
    if (async < 0) return;
    flush_db(c->ks, async);
    tc_reply_ok(c->r);
}

void tc_cmd_swapdb(tc_ctx *c)
{
    tc_server *s = c->srv;
    if (s->cfg.cluster_mode) {
        tc_reply_error(c->r, "ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    /* Redis's own texts for a first or second index that is not a number */
    long long a, b;
    if (tc_parse_ll(c->argv[1].p, c->argv[1].len, &a) != 0 || a < INT_MIN || a > INT_MAX) {
        tc_reply_error(c->r, "ERR invalid first DB index");
        return;
    }
    if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &b) != 0 || b < INT_MIN || b > INT_MAX) {
        tc_reply_error(c->r, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= s->ndbs || b < 0 || b >= s->ndbs) {
        tc_reply_error(c->r, "ERR DB index is out of range");
        return;
    }
    if (a != b) {
        tc_ks_swap(tc_server_db(s, (int)a), tc_server_db(s, (int)b));
        /* Clients blocked in either database may find their keys now, as
         * Redis's scanDatabaseForReadyKeys after a swap. */
        tc_block_signal_db(s, (int)a);
        tc_block_signal_db(s, (int)b);
    }
    tc_reply_ok(c->r);
}

void tc_cmd_move(tc_ctx *c)
{
    tc_server *s = c->srv;
    if (s->cfg.cluster_mode) {
        tc_reply_error(c->r, "ERR MOVE is not allowed in cluster mode");
        return;
    }
    int dst = tc_parse_db(s, &c->argv[2], c->r, NULL);
    if (dst < 0) return;
    if (dst == c->db) {
        tc_reply_error(c->r, "ERR source and destination objects are the same");
        return;
    }
    const tc_slice *key = &c->argv[1];
    tc_keyspace *to = tc_server_db(s, dst);
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    /* nothing to move, or the target database has the name already */
    if (!k || tc_ks_find(to, key->p, key->len, c->now_ms)) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* an expired key of that name waiting there for its delete goes first */
    tc_ks_delete(to, key->p, key->len);
    if (!tc_ks_move(c->ks, k, to)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_block_signal(s, dst, key->p, key->len);
    tc_reply_int(c->r, 1);
}
