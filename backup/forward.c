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
    /* transit_encryption_mode = "required": the primary's TLS port, with
     * the node's own certificate as the client's (copies: CONFIG SET may
     * change the settings while the worker runs) */
    int tls;
    char ca_file[TC_CONFIG_MAX_STR], ca_dir[TC_CONFIG_MAX_STR], cert[TC_CONFIG_MAX_STR], key[TC_CONFIG_MAX_STR];
    int ok;
    char why[400];
} forward_req;

/* Worker thread: touches nothing but the request. */
static void forward_work(uv_work_t *w)
{
    forward_req *f = w->data;
    tc_rc c;
    tc_rc_init(&c);
    tc_rc_tls *tls = NULL;
    if (f->tls && !(tls = tc_rc_tls_new(f->ca_file, f->ca_dir, f->cert, f->key, c.err, sizeof c.err))) {
        snprintf(f->why, sizeof f->why, "cannot reach the primary (node %d) over TLS: %.300s", f->primary_id, c.err);
        return;
    }
    int connected = tc_rc_connect_tls(&c, f->host, f->port, FORWARD_TIMEOUT_MS, tls);
    tc_rc_tls_free(tls); /* the connection keeps what it needs */
    if (connected != 0) {
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
    const tc_config *cfg = &j->srv->cfg;
    f->tls = cfg->transit_mode == TC_TRANSIT_REQUIRED && primary->tls_port;
    snprintf(f->host, sizeof f->host, "%s", f->tls ? primary->tls_host : primary->client_host);
    f->port = f->tls ? primary->tls_port : primary->client_port;
    if (f->tls) {
        snprintf(f->ca_file, sizeof f->ca_file, "%s", cfg->tls_ca_cert_file);
        snprintf(f->ca_dir, sizeof f->ca_dir, "%s", cfg->tls_ca_cert_dir);
        snprintf(f->cert, sizeof f->cert, "%s", cfg->tls_cert_file);
        snprintf(f->key, sizeof f->key, "%s", cfg->tls_key_file);
    }
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
