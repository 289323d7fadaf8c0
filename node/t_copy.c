/* COPY source destination [DB destination-db] [REPLACE], as Redis 7.0's
 * copyCommand: every type copies itself through its copy operation
 * (types/types.h), deadline included, into this database or DB n. */
#include <string.h>

#include "blocking.h"
#include "notify.h"
#include "server.h"

void tc_cmd_copy(tc_ctx *c)
{
    int replace = 0, db = c->db;
    for (size_t j = 3; j < c->argc; j++) {
        if (tc_arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (tc_arg_is(&c->argv[j], "db") && j + 1 < c->argc) {
            db = tc_parse_db(c->srv, &c->argv[j + 1], c->r,
                             "ERR Copying to another database is not allowed in cluster mode");
            if (db < 0) return;
            j++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    const tc_slice *src = &c->argv[1], *dst = &c->argv[2];
    if (db == c->db && src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
        tc_reply_error(c->r, "ERR source and destination objects are the same");
        return;
    }
    tc_key *e = tc_ks_find(c->ks, src->p, src->len, c->now_ms);
    if (!e) {
        tc_notify_source_miss(c, src);
        tc_reply_int(c->r, 0);
        return;
    }
    tc_keyspace *to = tc_server_db(c->srv, db);
    int replaces = tc_ks_find(to, dst->p, dst->len, c->now_ms) != NULL;
    if (replaces && !replace) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* the copy replaces whatever dst holds (its old value freed as a
     * delete would free it) */
    if (!tc_key_copy(to, e, dst->p, dst->len, e->expire_at)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_block_signal(c->srv, db, dst->p, dst->len); /* a BLPOP there may wait on it */
    /* Redis deletes what REPLACE replaces and adds the copy anew; both in
     * the destination's database */
    if (replaces) tc_notify_keyspace_event(c->srv, TC_NOTIFY_NEW, "new", dst->p, dst->len, db);
    tc_notify_keyspace_event(c->srv, TC_NOTIFY_GENERIC, "copy_to", dst->p, dst->len, db);
    tc_reply_int(c->r, 1);
}
