/* TCRESTORE: replacing the whole keyspace with a backup, through the log.
 *
 *   TCRESTORE BEGIN <id>                         start staging (drops any other staging)
 *   TCRESTORE LOAD <id> <key> <expire_at_ms> <value> [...]   stage string records; :records so far
 *   TCRESTORE LOADTYPED <id> <type> <key> <expire_at_ms> <value> [...]   stage records of any type
 *   TCRESTORE COMMIT <id> <records>              swap the staged keyspace in, if complete
 *   TCRESTORE ABORT <id>                         drop the staging
 *   TCRESTORE STATUS                             [id, records] or nil
 *
 * They are write commands: in a cluster they travel through the Raft log,
 * so every node stages the same records and swaps at the same entry. The
 * live keyspace is untouched until COMMIT, so a restore that stops half way
 * (tricachectl killed, a failover) changes nothing. Staging that sees no
 * TCRESTORE for TC_RESTORE_IDLE_MS of log time is dropped (decided on the
 * entries' clock, so on every node alike). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static int id_matches(tc_server *s, const tc_slice *id)
{
    return s->staging && id->len == strlen(s->staging_id) && memcmp(id->p, s->staging_id, id->len) == 0;
}

static void drop_staging(tc_server *s)
{
    if (!s->staging) return;
    for (int i = 0; i < s->ndbs; i++) tc_ks_free(&s->staging[i]);
    free(s->staging);
    s->staging = NULL;
    s->staging_id[0] = '\0';
    s->staging_records = 0;
}

void tc_restore_discard_idle(tc_server *s, int64_t now_ms)
{
    if (s->staging && now_ms - s->staging_touched_ms > TC_RESTORE_IDLE_MS) {
        tc_notice("restore %s dropped: no TCRESTORE for %d s (%llu records were staged)", s->staging_id,
                  TC_RESTORE_IDLE_MS / 1000, (unsigned long long)s->staging_records);
        drop_staging(s);
    }
}

static void begin(tc_ctx *c)
{
    tc_server *s = c->srv;
    const tc_slice *id = &c->argv[2];
    if (c->argc != 3 || id->len == 0 || id->len >= sizeof s->staging_id) {
        tc_reply_errorf(c->r, "ERR TCRESTORE BEGIN wants one id of 1 to %zu bytes", sizeof s->staging_id - 1);
        return;
    }
    tc_keyspace *ks = calloc((size_t)s->ndbs, sizeof *ks);
    if (!ks) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    if (s->staging) tc_notice("restore %s dropped: restore %.*s begins", s->staging_id, (int)id->len, id->p);
    drop_staging(s);
    for (int i = 0; i < s->ndbs; i++) tc_ks_init_like(&ks[i], &s->dbs[i]);
    s->staging = ks;
    memcpy(s->staging_id, id->p, id->len);
    s->staging_id[id->len] = '\0';
    s->staging_touched_ms = c->now_ms;
    tc_notice("restore %s: staging started", s->staging_id);
    tc_reply_ok(c->r);
}

/* LOAD (older tricachectl): key, expire_at_ms, value triples of strings.
 * LOADTYPED: type, key, expire_at_ms, value quadruples, each a keyspace
 * image record (the value bytes as the type's image_encode wrote them), so
 * every type restores. Both decode through tc_type_record_decode, as the
 * image loader does. */
static void load(tc_ctx *c, int typed)
{
    tc_server *s = c->srv;
    size_t stride = typed ? 4 : 3;
    if (c->argc < 3 + stride || (c->argc - 3) % stride != 0) {
        tc_reply_error(c->r, typed ? "ERR TCRESTORE LOADTYPED wants an id and one or more type, key, expire_at_ms, "
                                     "value quadruples"
                                   : "ERR TCRESTORE LOAD wants an id and one or more key, expire_at_ms, value triples");
        return;
    }
    /* Check every record's numbers before staging any, so a bad one
     * changes nothing (a value that does not decode drops the staging). */
    for (size_t i = 3; i < c->argc; i += stride) {
        long long at, type = 0;
        if (typed && (tc_parse_ll(c->argv[i].p, c->argv[i].len, &type) != 0 || type < 0 ||
                      type > (TC_TYPE_MAX | TC_RECORD_IN_DB) || !tc_type_ops_of((unsigned)type & ~TC_RECORD_IN_DB))) {
            tc_reply_errorf(c->r, "ERR TCRESTORE LOADTYPED: record %zu has an unknown type", (i - 3) / stride + 1);
            return;
        }
        const tc_slice *exp = &c->argv[i + stride - 2];
        if (tc_parse_ll(exp->p, exp->len, &at) != 0 || at < 0) {
            tc_reply_errorf(c->r, "ERR TCRESTORE %s: expire_at_ms of record %zu is not a non-negative integer",
                            typed ? "LOADTYPED" : "LOAD", (i - 3) / stride + 1);
            return;
        }
    }
    for (size_t i = 3; i < c->argc; i += stride) {
        long long at, type = TC_TYPE_STRING;
        if (typed) tc_parse_ll(c->argv[i].p, c->argv[i].len, &type);
        const tc_slice *key = &c->argv[i + stride - 3], *val = &c->argv[i + stride - 1];
        tc_parse_ll(c->argv[i + stride - 2].p, c->argv[i + stride - 2].len, &at);
        s->staging_records++;
        if (at != 0 && at <= c->now_ms) continue; /* expired since the backup: nothing to restore */
        char why[160];
        if (!tc_type_record_decode(s->staging, s->ndbs, (unsigned)type, key->p, key->len, val->p, val->len, at,
                                   NULL, why, sizeof why)) {
            /* Not half-staged: the whole restore goes, and says why. */
            tc_notice("restore %s dropped after %llu records: %s", s->staging_id,
                      (unsigned long long)s->staging_records, why);
            drop_staging(s);
            tc_reply_errorf(c->r, "ERR record %llu cannot be restored (%s); the restore was dropped, nothing changed",
                            (unsigned long long)s->staging_records, why);
            return;
        }
    }
    s->staging_touched_ms = c->now_ms;
    tc_reply_int(c->r, (long long)s->staging_records);
}

static void commit(tc_ctx *c)
{
    tc_server *s = c->srv;
    long long want;
    if (c->argc != 4 || tc_parse_ll(c->argv[3].p, c->argv[3].len, &want) != 0 || want < 0) {
        tc_reply_error(c->r, "ERR TCRESTORE COMMIT wants an id and the number of records sent");
        return;
    }
    if ((uint64_t)want != s->staging_records) {
        tc_reply_errorf(c->r, "ERR restore %s staged %llu records but %lld were sent; it was dropped, nothing changed",
                        s->staging_id, (unsigned long long)s->staging_records, want);
        drop_staging(s);
        return;
    }
    /* Swap: the staged keyspaces become the live ones (the image replaces
     * the whole dataset, every database); counters and hooks carry on. */
    size_t before = tc_server_keys(s);
    for (int i = 0; i < s->ndbs; i++) {
        tc_keyspace old = s->dbs[i];
        s->dbs[i] = s->staging[i];
        s->dbs[i].expired_keys = old.expired_keys;
        s->dbs[i].hits = old.hits;
        s->dbs[i].misses = old.misses;
        s->dbs[i].events = old.events; /* notifications go on; the load itself was silent */
        tc_ks_mem_recount(&s->dbs[i]); /* values were filled in place as records arrived */
        s->staging[i] = old;
    }
    tc_notice("restore %s committed: %zu keys (%llu records) replace %zu keys", s->staging_id, tc_server_keys(s),
              (unsigned long long)s->staging_records, before);
    drop_staging(s); /* frees the old keyspaces */
    tc_reply_ok(c->r);
}

void tc_cmd_tcrestore(tc_ctx *c)
{
    tc_server *s = c->srv;
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "status")) {
        if (!s->staging) {
            tc_reply_null(c->r);
            return;
        }
        tc_reply_array(c->r, 2);
        tc_reply_bulks(c->r, s->staging_id);
        tc_reply_int(c->r, (long long)s->staging_records);
        return;
    }
    if (c->argc < 3) {
        tc_reply_error(c->r, "ERR wrong number of arguments for 'tcrestore' command");
        return;
    }
    if (tc_arg_is(sub, "begin")) {
        begin(c);
        return;
    }
    if (!tc_arg_is(sub, "load") && !tc_arg_is(sub, "loadtyped") && !tc_arg_is(sub, "commit") &&
        !tc_arg_is(sub, "abort")) {
        tc_reply_errorf(c->r, "ERR unknown TCRESTORE subcommand; try BEGIN, LOAD, LOADTYPED, COMMIT, ABORT or STATUS");
        return;
    }
    if (!id_matches(s, &c->argv[2])) {
        tc_reply_errorf(c->r, "ERR no restore %.*s in progress%s", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                        c->argv[2].p, s->staging ? " (another one is)" : "");
        return;
    }
    if (tc_arg_is(sub, "load") || tc_arg_is(sub, "loadtyped")) {
        load(c, tc_arg_is(sub, "loadtyped"));
    } else if (tc_arg_is(sub, "commit")) {
        commit(c);
    } else {
        tc_notice("restore %s aborted by the client after %llu records", s->staging_id,
                  (unsigned long long)s->staging_records);
        drop_staging(s);
        tc_reply_ok(c->r);
    }
}
