/* TCRESTORE: replacing the whole keyspace with a backup, through the log.
 *
 *   TCRESTORE BEGIN <id>                         start staging (drops any other staging)
 *   TCRESTORE LOAD <id> <key> <expire_at_ms> <value> [...]   stage records; :records so far
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
    tc_ks_free(s->staging);
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
    tc_keyspace *ks = malloc(sizeof *ks);
    if (!ks) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    if (s->staging) tc_notice("restore %s dropped: restore %.*s begins", s->staging_id, (int)id->len, id->p);
    drop_staging(s);
    tc_ks_init_like(ks, &s->ks);
    s->staging = ks;
    memcpy(s->staging_id, id->p, id->len);
    s->staging_id[id->len] = '\0';
    s->staging_touched_ms = c->now_ms;
    tc_notice("restore %s: staging started", s->staging_id);
    tc_reply_ok(c->r);
}

static void load(tc_ctx *c)
{
    tc_server *s = c->srv;
    if (c->argc < 6 || (c->argc - 3) % 3 != 0) {
        tc_reply_error(c->r, "ERR TCRESTORE LOAD wants an id and one or more key, expire_at_ms, value triples");
        return;
    }
    /* Check every triple before staging any, so a bad one changes nothing. */
    for (size_t i = 3; i < c->argc; i += 3) {
        long long at;
        if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &at) != 0 || at < 0) {
            tc_reply_errorf(c->r, "ERR TCRESTORE LOAD: expire_at_ms of record %zu is not a non-negative integer",
                            (i - 3) / 3 + 1);
            return;
        }
    }
    for (size_t i = 3; i < c->argc; i += 3) {
        long long at;
        tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &at);
        s->staging_records++;
        if (at != 0 && at <= c->now_ms) continue; /* expired since the backup: nothing to restore */
        /* Staged as an image loads them. The records are strings (tricachectl
         * restore sends no others), which fail only when out of memory. */
        char why[64];
        if (!tc_string_type.image_decode(s->staging, c->argv[i].p, c->argv[i].len, c->argv[i + 2].p,
                                         c->argv[i + 2].len, at, why, sizeof why)) {
            tc_notice("restore %s dropped: out of memory after %llu records", s->staging_id,
                      (unsigned long long)s->staging_records);
            drop_staging(s);
            tc_reply_error(c->r, "ERR out of memory while staging the restore; it was dropped, nothing changed");
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
    /* Swap: the staged keyspace becomes the live one; counters carry on. */
    tc_keyspace old = s->ks;
    s->ks = *s->staging;
    s->ks.expired_keys = old.expired_keys;
    s->ks.hits = old.hits;
    s->ks.misses = old.misses;
    tc_ks_mem_recount(&s->ks); /* values were filled in place as records arrived */
    *s->staging = old;
    tc_notice("restore %s committed: %zu keys (%llu records) replace %zu keys", s->staging_id, tc_ks_size(&s->ks),
              (unsigned long long)s->staging_records, tc_ks_size(&old));
    drop_staging(s); /* frees the old keyspace */
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
    if (!tc_arg_is(sub, "load") && !tc_arg_is(sub, "commit") && !tc_arg_is(sub, "abort")) {
        tc_reply_errorf(c->r, "ERR unknown TCRESTORE subcommand; try BEGIN, LOAD, COMMIT, ABORT or STATUS");
        return;
    }
    if (!id_matches(s, &c->argv[2])) {
        tc_reply_errorf(c->r, "ERR no restore %.*s in progress%s", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                        c->argv[2].p, s->staging ? " (another one is)" : "");
        return;
    }
    if (tc_arg_is(sub, "load")) {
        load(c);
    } else if (tc_arg_is(sub, "commit")) {
        commit(c);
    } else {
        tc_notice("restore %s aborted by the client after %llu records", s->staging_id,
                  (unsigned long long)s->staging_records);
        drop_staging(s);
        tc_reply_ok(c->r);
    }
}
