/* COPY source destination [DB destination-db] [REPLACE], as Redis 7.0's
 * copyCommand: every type copies itself through its copy operation
 * (types/types.h), deadline included. Only database 0 exists so far, so any
 * other DB is Redis's out-of-range error. */
#include <limits.h>
#include <string.h>

#include "commands.h"
#include "notify.h"

void tc_cmd_copy(tc_ctx *c)
{
    int replace = 0;
    for (size_t j = 3; j < c->argc; j++) {
        if (tc_arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (tc_arg_is(&c->argv[j], "db") && j + 1 < c->argc) {
            long long db;
            if (tc_parse_ll(c->argv[j + 1].p, c->argv[j + 1].len, &db) != 0 || db < INT_MIN || db > INT_MAX) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (db != 0) {
                tc_reply_error(c->r, "ERR DB index is out of range");
                return;
            }
            j++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    const tc_slice *src = &c->argv[1], *dst = &c->argv[2];
    if (src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
        tc_reply_error(c->r, "ERR source and destination objects are the same");
        return;
    }
    tc_key *e = tc_ks_find(c->ks, src->p, src->len, c->now_ms);
    if (!e) {
        tc_notify_source_miss(c, src);
        tc_reply_int(c->r, 0);
        return;
    }
    int replaces = tc_ks_find(c->ks, dst->p, dst->len, c->now_ms) != NULL;
    if (replaces && !replace) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* the copy replaces whatever dst holds (its old value freed as a
     * delete would free it) */
    if (!tc_key_copy(c->ks, e, dst->p, dst->len, e->expire_at)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    /* Redis deletes what REPLACE replaces and adds the copy anew */
    if (replaces) tc_notify(c, TC_NOTIFY_NEW, "new", dst);
    tc_notify(c, TC_NOTIFY_GENERIC, "copy_to", dst);
    tc_reply_int(c->r, 1);
}
