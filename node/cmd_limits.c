/* TCLIMITS <proto_max_bulk_len>: the size limit for the rest of a log entry.
 *
 * A command that grows a value (APPEND, SETRANGE, SETBIT, BITFIELD, LCS's
 * table, DEBUG POPULATE's size) is refused past proto-max-bulk-len. That
 * decision is made while the log entry is applied, on every node, so every
 * node must use the same limit: the primary's, not its own (CONFIG SET
 * changes one node only). Each entry is applied with the default (512mb)
 * unless the primary, whose limit differs, put TCLIMITS <bytes> first in it
 * (replication/router.c). An older node applying such an entry answers it
 * "unknown command" and changes nothing, as before. Clients may not send
 * it: it would change the limit for other clients' commands. */
#include "server.h"

void tc_cmd_tclimits(tc_ctx *c)
{
    long long n;
    if (c->client || c->srv->entry_max_bulk_len == 0) {
        tc_reply_error(c->r, "ERR TCLIMITS is written by the primary into the log, not sent by clients");
        return;
    }
    if (tc_parse_ll(c->argv[1].p, c->argv[1].len, &n) != 0 || n < 1) {
        tc_reply_error(c->r, "ERR TCLIMITS wants a positive byte count");
        return;
    }
    c->srv->entry_max_bulk_len = (uint64_t)n;
    tc_reply_ok(c->r);
}
