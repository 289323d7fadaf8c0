/* Backups from the client's side: BGSAVE, SAVE, LASTSAVE and the
 * replicated TCBACKUP RUN/REQUEST that hand a backup to one node. The
 * work itself (fork, image, upload) is snapshot/backup_job.c's, reached
 * through the server's hooks. */
#include <string.h>

#include "server.h"

/* BGSAVE [SCHEDULE] [TO url] */
void tc_cmd_bgsave(tc_ctx *c)
{
    int schedule = 0;
    char url[1024] = "";
    for (size_t i = 1; i < c->argc; i++) {
        if (tc_arg_is(&c->argv[i], "schedule")) {
            schedule = 1;
        } else if (tc_arg_is(&c->argv[i], "to") && i + 1 < c->argc) {
            if (c->argv[i + 1].len >= sizeof url) {
                tc_reply_errorf(c->r, "ERR BGSAVE TO: the URL is longer than %zu bytes", sizeof url - 1);
                return;
            }
            memcpy(url, c->argv[i + 1].p, c->argv[i + 1].len);
            url[c->argv[i + 1].len] = '\0';
            i++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if (!c->srv->persist.ops) {
        tc_reply_error(c->r, "ERR backups are not available on this node");
        return;
    }
    char err[512];
    int rc = c->srv->persist.ops->bgsave(c->srv->persist.ud, NULL, url[0] ? url : NULL, schedule, err, sizeof err);
    if (rc < 0) tc_reply_error(c->r, err);
    else tc_reply_status(c->r, rc == 1 ? "Background saving scheduled" : "Background saving started");
}

/* SAVE: Redis blocks the whole server; here only the caller waits, while
 * a forked child writes the same backup BGSAVE would. */
void tc_cmd_save(tc_ctx *c)
{
    if (!c->srv->persist.ops || !c->client) {
        tc_reply_error(c->r, "ERR backups are not available on this node");
        return;
    }
    char err[512];
    if (c->srv->persist.ops->bgsave(c->srv->persist.ud, c->client, NULL, 0, err, sizeof err) < 0) {
        tc_reply_error(c->r, err);
        return;
    }
    c->client->pending++; /* answered by the backup job through tc_client_deliver */
}

void tc_cmd_lastsave(tc_ctx *c) { tc_reply_int(c->r, (long long)c->srv->lastsave); }

/* TCBACKUP RUN <node id>: written by the primary's schedule into the log;
 * every node records when, and the named one starts a backup.
 * TCBACKUP REQUEST <node id> <token>: appended by the primary for a BGSAVE
 * or SAVE received by that node (sent here by a replica): the named node
 * starts it when it applies the entry, so the backup holds every write
 * acknowledged before the BGSAVE was sent. */
void tc_cmd_tcbackup(tc_ctx *c)
{
    long long id;
    int run = c->argc == 3 && tc_arg_is(&c->argv[1], "run");
    int req = c->argc == 4 && tc_arg_is(&c->argv[1], "request");
    if ((!run && !req) || tc_parse_ll(c->argv[2].p, c->argv[2].len, &id) != 0 || id < 1 || id > 65535) {
        tc_reply_error(c->r, "ERR TCBACKUP RUN <node id> | TCBACKUP REQUEST <node id> <token>");
        return;
    }
    if (req) {
        long long token;
        if (tc_parse_ll(c->argv[3].p, c->argv[3].len, &token) != 0 || token < 1) {
            tc_reply_error(c->r, "ERR TCBACKUP REQUEST: the token must be a positive integer");
            return;
        }
        if (c->srv->persist.ops && c->srv->persist.ops->backup_granted)
            c->srv->persist.ops->backup_granted(c->srv->persist.ud, (int)id, (unsigned long long)token);
        tc_reply_ok(c->r);
        return;
    }
    c->srv->backup_scheduled_ms = c->now_ms;
    if (c->srv->persist.ops) c->srv->persist.ops->backup_requested(c->srv->persist.ud, (int)id, c->now_ms);
    tc_reply_ok(c->r);
}
