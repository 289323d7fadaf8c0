/* A replica's BGSAVE/SAVE asks the primary to log TCBACKUP REQUEST (see
 * backup_job.h). The exchange is one short blocking client connection, run
 * on libuv's thread pool so the event loop (and Raft's heartbeats) never
 * wait for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_job.h"
#include "common.h"

#define FORWARD_TIMEOUT_MS 5000

typedef struct forward_req {
    uv_work_t work;
    tc_backup_job *job;
    unsigned long long token;
    char host[TC_CONFIG_MAX_STR];
    int port, self_id, primary_id;
    char auth[TC_CONFIG_MAX_STR];
    int ok;
    char why[400];
} forward_req;

/* Worker thread: touches nothing but the request. */
static void forward_work(uv_work_t *w)
{
    forward_req *f = w->data;
    tc_rc c;
    tc_rc_init(&c);
    if (tc_rc_connect(&c, f->host, f->port, FORWARD_TIMEOUT_MS) != 0) {
        snprintf(f->why, sizeof f->why, "cannot reach the primary (node %d): %.300s", f->primary_id, c.err);
        tc_rc_close(&c);
        return;
    }
    tc_rc_reply r;
    if (f->auth[0]) {
        const char *auth[] = {"AUTH", f->auth};
        int rc = tc_rc_command(&c, &r, 2, auth, NULL); /* r is zeroed on failure */
        if (rc != 0 || r.type != TC_RC_STATUS) {
            snprintf(f->why, sizeof f->why, "the primary (node %d) refused AUTH: %.300s", f->primary_id,
                     rc == 0 && r.str ? r.str : c.err);
            tc_rc_reply_free(&r);
            tc_rc_close(&c);
            return;
        }
        tc_rc_reply_free(&r);
    }
    char id[16], token[32];
    snprintf(id, sizeof id, "%d", f->self_id);
    snprintf(token, sizeof token, "%llu", f->token);
    const char *argv[] = {"TCBACKUP", "REQUEST", id, token};
    if (tc_rc_command(&c, &r, 4, argv, NULL) != 0) {
        snprintf(f->why, sizeof f->why, "the primary (node %d) did not answer TCBACKUP REQUEST: %.300s",
                 f->primary_id, c.err);
    } else {
        if (r.type == TC_RC_STATUS) f->ok = 1;
        else
            snprintf(f->why, sizeof f->why, "the primary (node %d) refused to log the backup request: %.300s",
                     f->primary_id, r.str ? r.str : "an unexpected reply");
        tc_rc_reply_free(&r);
    }
    tc_rc_close(&c);
}

static void forward_done(uv_work_t *w, int status)
{
    forward_req *f = w->data;
    if (!f->ok) tc_backup_job_request_failed(f->job, f->token, status ? "the request was cancelled" : f->why);
    free(f);
}

int tc_backup_forward(tc_backup_job *j, const tc_node_conf *primary, unsigned long long token, char *err,
                      size_t errlen)
{
    forward_req *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    f->work.data = f;
    f->job = j;
    f->token = token;
    snprintf(f->host, sizeof f->host, "%s", primary->client_host);
    f->port = primary->client_port;
    f->primary_id = primary->id;
    f->self_id = j->srv->self->id;
    snprintf(f->auth, sizeof f->auth, "%s", j->srv->cfg.auth_token);
    if (uv_queue_work(j->srv->loop, &f->work, forward_work, forward_done) != 0) {
        free(f);
        snprintf(err, errlen, "ERR cannot ask the primary for the backup: no worker thread");
        return -1;
    }
    return 0;
}
