/* Backups of a running node (backup_job.h). */
#include "backup_job.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyspace_image.h"
#include "common.h"
#include "log.h"

#define POLL_MS 100
/* A TCBACKUP RUN older than this when applied is history (a replayed log,
 * a replica that was far behind): the schedule will have moved on. */
#define STALE_REQUEST_MS 30000
/* How long the primary waits for its TCBACKUP RUN to be applied before
 * asking again. */
#define REQUEST_RETRY_MS 10000
/* How long a BGSAVE/SAVE waits for its TCBACKUP REQUEST to be applied here
 * (the primary may be gone, or this replica far behind) before it fails. */
#define REQUEST_TIMEOUT_MS 15000

/* backup.destination (it may change with CONFIG SET), else the node's
 * own folder; BGSAVE TO's allow-list starts from the same URL. */
static void default_url(const tc_backup_job *j, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", tc_server_backup_url(j->srv));
}

static void backup_conf(const tc_server *s, const char *url, tc_backup_conf *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s", url);
    snprintf(c->s3_endpoint, sizeof c->s3_endpoint, "%s", s->cfg.backup.s3_endpoint);
    snprintf(c->s3_region, sizeof c->s3_region, "%s", s->cfg.backup.s3_region);
    c->s3_path_style = s->cfg.backup.s3_path_style;
    snprintf(c->s3_credentials_file, sizeof c->s3_credentials_file, "%s", s->cfg.backup.s3_credentials_file);
}

/* ---- the child ----------------------------------------------------------- */

static void child_report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_report(int fd, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
}

/* Everything a backup does, in the forked child; returns the exit code. */
static int child_backup(tc_backup_job *j, const char *url, const char *name, int fd)
{
    tc_server *s = j->srv;
    char err[TC_BACKUP_ERRLEN];
    uint64_t index = 0, term = 0;
    const tc_apply_state *apply = NULL;
    tc_apply_state standalone = {.clock_ms = tc_now_ms()};
    if (j->ops.position) j->ops.position(j->ops.ud, &index, &term, &apply);
    if (!apply) apply = &standalone;

    tc_backup_conf conf;
    backup_conf(s, url, &conf);
    tc_backup_dest *d = NULL;
    tc_backup_upload *up = NULL;
    if (tc_backup_open(&d, &conf, err, sizeof err) != 0 || tc_backup_upload_begin(d, name, &up, err, sizeof err) != 0) {
        child_report(fd, "ERR %s", err);
        tc_backup_close(d);
        return 1;
    }
    const tc_snapshot_key *key = tc_snapshot_keydir_newest(j->keys);
    tc_image_opts o = {.raft_index = index, .raft_term = term, .key = key};
    tc_snapshot_stats st = {0};
    if (tc_image_write(s, apply, &o, tc_backup_upload_write, up, &st, err, sizeof err) != 0) {
        tc_backup_upload_abort(up);
        child_report(fd, "ERR %s", err);
        tc_backup_close(d);
        return 1;
    }
    tc_backup_meta meta = {.node_id = s->self->id, .raft_index = index, .raft_term = term,
                           .created_ms = tc_now_ms(), .keys = st.records, .key_id = key ? key->id : 0};
    snprintf(meta.name, sizeof meta.name, "%s", name);
    snprintf(meta.cluster, sizeof meta.cluster, "%s", s->cfg.cluster_name);
    if (tc_backup_upload_finish(up, &meta, err, sizeof err) != 0) {
        child_report(fd, "ERR %s", err);
        tc_backup_close(d);
        return 1;
    }
    unsigned deleted = 0;
    char prune_note[600] = "";
    if (j->scheduled && tc_backup_prune(d, s->cfg.cluster_name, (unsigned)s->cfg.backup.retain, &deleted, err,
                                        sizeof err) != 0)
        snprintf(prune_note, sizeof prune_note, " (retention failed: %.500s)", err);
    tc_backup_close(d);
    child_report(fd, "OK %llu %llu %u%s", (unsigned long long)meta.size, (unsigned long long)meta.keys, deleted,
                 prune_note);
    return 0;
}

/* ---- the parent ---------------------------------------------------------- */

static void deliver_waiters(tc_backup_job *j, const char *reply)
{
    for (size_t i = 0; i < j->nwaiters; i++) tc_client_deliver(j->waiters[i], reply, strlen(reply));
    j->nwaiters = 0;
}

/* The destination of a backup to url (NULL: the default) into dest,
 * opened once to catch a bad URL where the client can be told. */
static int check_dest(tc_backup_job *j, const char *url, char *dest, size_t destlen, char *err, size_t errlen)
{
    if (url) snprintf(dest, destlen, "%s", url);
    else default_url(j, dest, destlen);
    if (!dest[0]) {
        snprintf(err, errlen, "ERR the node's data directory path is too long for a file:// URL; set backup.destination");
        return -1;
    }
    tc_backup_conf conf;
    backup_conf(j->srv, dest, &conf);
    tc_backup_dest *probe = NULL;
    char why[TC_BACKUP_ERRLEN];
    if (tc_backup_open(&probe, &conf, why, sizeof why) != 0) {
        snprintf(err, errlen, "ERR backup destination: %s", why);
        return -1;
    }
    tc_backup_close(probe);
    return 0;
}

/* Forks the child now. name: chosen when the backup was asked for (a
 * pending request), or NULL for a new one. */
static int start(tc_backup_job *j, const char *url, int scheduled, const char *name, char *err, size_t errlen)
{
    tc_server *s = j->srv;
    char dest[TC_BACKUP_MAX_URL];
    if (check_dest(j, url, dest, sizeof dest, err, errlen) != 0) return -1;

    int64_t now = tc_now_ms();
    if (name) snprintf(j->current_name, sizeof j->current_name, "%s", name);
    else tc_backup_name(j->current_name, sizeof j->current_name, s->cfg.cluster_name, now, s->self->id);
    snprintf(j->current_url, sizeof j->current_url, "%s", dest);
    j->scheduled = scheduled;
    uint64_t t0 = uv_hrtime();
    int fd;
    pid_t pid = tc_fork_with_pipe(&fd);
    if (pid < 0) {
        snprintf(err, errlen, "ERR cannot start a backup: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) _exit(child_backup(j, dest, j->current_name, fd));
    j->child = pid;
    j->pipe_fd = fd;
    j->result_len = 0;
    j->started_ms = now;
    tc_notice("backup %s to %s started by child %d (fork took %.2f ms, %zu keys)%s", j->current_name, dest, (int)pid,
              (double)(uv_hrtime() - t0) / 1e6, tc_server_keys(s), scheduled ? " [scheduled]" : "");
    return 0;
}

static void read_result(tc_backup_job *j)
{
    for (;;) {
        if (j->result_len + 1 >= sizeof j->result) return;
        ssize_t n = read(j->pipe_fd, j->result + j->result_len, sizeof j->result - 1 - j->result_len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        j->result_len += (size_t)n;
    }
}

static void finish(tc_backup_job *j, int status)
{
    tc_server *s = j->srv;
    read_result(j);
    close(j->pipe_fd);
    j->pipe_fd = -1;
    j->child = 0;
    j->result[j->result_len] = '\0';
    int64_t now = tc_now_ms();
    j->last_seconds = (double)(now - j->started_ms) / 1000.0;
    snprintf(j->last_name, sizeof j->last_name, "%s", j->current_name);
    snprintf(j->last_url, sizeof j->last_url, "%s", j->current_url);
    j->current_name[0] = '\0';
    unsigned long long bytes = 0, keys = 0;
    unsigned deleted = 0;
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
             sscanf(j->result, "OK %llu %llu %u", &bytes, &keys, &deleted) == 3;
    if (ok) {
        j->last_ok = 1;
        j->last_error[0] = '\0';
        j->last_bytes = bytes;
        j->last_keys = keys;
        j->saves++;
        s->lastsave = j->started_ms / 1000;
        const char *note = strchr(j->result, '(');
        tc_notice("backup %s done: %llu keys, %llu bytes in %.2f s%s%s", j->last_name, keys, bytes, j->last_seconds,
                  deleted ? ", older backups deleted by retention" : "", note ? note - 1 : "");
        deliver_waiters(j, "+OK\r\n");
    } else {
        j->last_ok = 0;
        j->failures++;
        if (strncmp(j->result, "ERR ", 4) == 0)
            snprintf(j->last_error, sizeof j->last_error, "%.500s", j->result + 4);
        else if (WIFSIGNALED(status))
            snprintf(j->last_error, sizeof j->last_error, "the backup child was killed by signal %d", WTERMSIG(status));
        else
            snprintf(j->last_error, sizeof j->last_error, "the backup child exited with status %d without a report",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        tc_warn("backup %s to %s failed: %s", j->last_name, j->last_url, j->last_error);
        char reply[700];
        snprintf(reply, sizeof reply, "-ERR Background save failed: %.600s\r\n", j->last_error);
        deliver_waiters(j, reply);
    }
}

/* A backup that never started (its request failed or timed out) ends
 * like a failed one: INFO and the SAVE callers say why. */
static void fail_unstarted(tc_backup_job *j, const char *why)
{
    j->last_ok = 0;
    j->failures++;
    snprintf(j->last_name, sizeof j->last_name, "%s", j->current_name);
    snprintf(j->last_url, sizeof j->last_url, "%s", j->pending_url);
    snprintf(j->last_error, sizeof j->last_error, "%.500s", why);
    j->current_name[0] = '\0';
    tc_warn("backup %s failed: %s", j->last_name, j->last_error);
    char reply[700];
    snprintf(reply, sizeof reply, "-ERR Background save failed: %.600s\r\n", j->last_error);
    deliver_waiters(j, reply);
}

/* ---- BGSAVE and SAVE through the log ----------------------------------------- */

/* Asks for a backup holding every write acknowledged before now (see
 * backup_job.h): at once on a standalone node, else when this node applies
 * the TCBACKUP REQUEST the primary appends for it. 0 or -1 with err. */
static int request(tc_backup_job *j, const char *url, int scheduled, char *err, size_t errlen)
{
    tc_server *s = j->srv;
    if (!j->ops.submit) return start(j, url, scheduled, NULL, err, errlen);
    char dest[TC_BACKUP_MAX_URL];
    if (check_dest(j, url, dest, sizeof dest, err, errlen) != 0) return -1;
    if (!j->next_token) j->next_token = (unsigned long long)tc_now_ms() * 1000; /* unlike a past run's */
    unsigned long long token = ++j->next_token;
    if (j->ops.is_primary && j->ops.is_primary(j->ops.ud)) {
        char id[16], tok[32];
        snprintf(id, sizeof id, "%d", s->self->id);
        snprintf(tok, sizeof tok, "%llu", token);
        tc_slice argv[4] = {{"TCBACKUP", 8}, {"REQUEST", 7}, {id, strlen(id)}, {tok, strlen(tok)}};
        if (j->ops.submit(j->ops.ud, 4, argv) != 0) {
            snprintf(err, errlen, "TRYAGAIN this node cannot append to the log right now (a handover?); retry shortly");
            return -1;
        }
    } else {
        const tc_node_conf *p = j->ops.primary ? j->ops.primary(j->ops.ud) : NULL;
        if (!p || p->id == s->self->id) {
            snprintf(err, errlen, "TRYAGAIN no primary is known right now, and a backup must follow its log; "
                                  "retry shortly");
            return -1;
        }
        if (tc_backup_forward(j, p, token, err, errlen) != 0) return -1;
    }
    int64_t now = tc_now_ms();
    j->pending = 1;
    j->pending_token = token;
    j->pending_scheduled = scheduled;
    j->pending_since_ms = now;
    snprintf(j->pending_url, sizeof j->pending_url, "%s", dest);
    tc_backup_name(j->current_name, sizeof j->current_name, s->cfg.cluster_name, now, s->self->id);
    tc_info("backup %s asked for: it starts once this node applies its TCBACKUP REQUEST", j->current_name);
    return 0;
}

void tc_backup_job_request_failed(tc_backup_job *j, unsigned long long token, const char *why)
{
    if (!j->pending || j->pending_token != token) return; /* granted meanwhile, or an old one */
    j->pending = 0;
    fail_unstarted(j, why);
}

static void op_backup_granted(void *ud, int node_id, unsigned long long token)
{
    tc_backup_job *j = ud;
    if (node_id != j->srv->self->id || !j->pending || token != j->pending_token) return;
    j->pending = 0;
    char name[TC_BACKUP_MAX_NAME], err[600];
    snprintf(name, sizeof name, "%s", j->current_name);
    if (start(j, j->pending_url, j->pending_scheduled, name, err, sizeof err) != 0) fail_unstarted(j, err + 4);
}

/* ---- schedule -------------------------------------------------------------- */

static void run_schedule(tc_backup_job *j, int64_t now)
{
    tc_server *s = j->srv;
    int64_t interval = (int64_t)s->cfg.backup.interval_ms;
    if (!interval) {
        j->schedule_base_ms = 0;
        return;
    }
    int primary = j->ops.is_primary ? j->ops.is_primary(j->ops.ud) : 1;
    if (!primary) {
        j->schedule_base_ms = 0;
        return;
    }
    /* Count from the last backup the log knows of, or from when this node
     * started running the schedule: a new primary waits a full interval. */
    if (!j->schedule_base_ms) j->schedule_base_ms = now;
    int64_t last = s->backup_scheduled_ms > j->schedule_base_ms ? s->backup_scheduled_ms : j->schedule_base_ms;
    /* A TCBACKUP RUN sent and not yet applied: wait for it a while. */
    int awaiting = s->backup_scheduled_ms < j->schedule_asked_ms && now - j->schedule_asked_ms < REQUEST_RETRY_MS;
    if (now - last < interval || awaiting) return;
    if (!j->ops.submit) { /* standalone: take it here */
        char err[600];
        s->backup_scheduled_ms = now;
        if (j->child) j->queued_run = 1;
        else if (start(j, NULL, 1, NULL, err, sizeof err) != 0) tc_warn("scheduled backup: %s", err + 4);
        return;
    }
    int node = j->ops.pick_node(j->ops.ud);
    char id[16];
    snprintf(id, sizeof id, "%d", node);
    tc_slice argv[3] = {{"TCBACKUP", 8}, {"RUN", 3}, {id, strlen(id)}};
    if (j->ops.submit(j->ops.ud, 3, argv) == 0) {
        j->schedule_asked_ms = now;
        tc_info("scheduled backup handed to node %d", node);
    }
}

static void on_timer(uv_timer_t *t)
{
    tc_backup_job *j = t->data;
    int64_t now = tc_now_ms();
    if (j->child) {
        int status;
        pid_t r = waitpid(j->child, &status, WNOHANG);
        if (r == j->child) finish(j, status);
        else read_result(j);
    }
    if (j->pending && now - j->pending_since_ms > REQUEST_TIMEOUT_MS) {
        j->pending = 0;
        char why[200];
        snprintf(why, sizeof why, "this node did not apply the primary's TCBACKUP REQUEST within %d s",
                 REQUEST_TIMEOUT_MS / 1000);
        fail_unstarted(j, why);
    }
    if (!j->child && !j->pending && (j->queued_run || j->queued_user)) {
        char err[600];
        int scheduled = j->queued_run, user = j->queued_user;
        j->queued_run = j->queued_user = 0;
        /* the SAVE callers that came while the last one ran wait for this one */
        memcpy(j->waiters, j->next_waiters, j->nnext * sizeof *j->waiters);
        j->nwaiters = j->nnext;
        j->nnext = 0;
        const char *url = j->queued_url[0] ? j->queued_url : NULL;
        /* A queued TCBACKUP RUN was applied already: it may start here. */
        int rc = user ? request(j, url, scheduled, err, sizeof err) : start(j, url, scheduled, NULL, err, sizeof err);
        if (rc != 0) {
            tc_warn("queued backup: %s", err);
            char reply[700];
            snprintf(reply, sizeof reply, "-%.600s\r\n", err);
            deliver_waiters(j, reply);
        }
        j->queued_url[0] = '\0';
    }
    run_schedule(j, now);
}

/* ---- the node's persistence face ------------------------------------------------------------ */

static int op_bgsave(void *ud, tc_client *waiter, const char *url, int schedule, char *err, size_t errlen)
{
    tc_backup_job *j = ud;
    if (j->child || j->pending) {
        /* The running one may have begun before a write this caller saw
         * acknowledged: SAVE waits for the next one, asked for once this
         * one ends (several SAVEs share it). */
        if (waiter) {
            if (j->nnext == TC_BACKUP_MAX_WAITERS) {
                snprintf(err, errlen, "ERR too many clients wait in SAVE");
                return -1;
            }
            j->next_waiters[j->nnext++] = waiter;
            j->queued_user = 1;
            return 0;
        }
        if (!schedule) {
            snprintf(err, errlen, "ERR Background save already in progress");
            return -1;
        }
        j->queued_user = 1;
        snprintf(j->queued_url, sizeof j->queued_url, "%s", url ? url : "");
        return 1;
    }
    if (request(j, url, 0, err, errlen) != 0) return -1;
    if (waiter) j->waiters[j->nwaiters++] = waiter;
    return 0;
}

static int op_busy(void *ud, int *last_ok)
{
    tc_backup_job *j = ud;
    *last_ok = j->last_ok;
    return j->child != 0 || j->pending;
}

/* INFO persistence: Redis's rdb_* fields for the backups, then ours. */
static void info_persistence(void *ud, tc_buf *b)
{
    tc_backup_job *j = ud;
    tc_server *s = j->srv;
    char dest[TC_BACKUP_MAX_URL];
    default_url(j, dest, sizeof dest);
    int64_t now = tc_now_ms();
    tc_buf_printf(b,
                  "loading:0\r\nasync_loading:0\r\nrdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
                  "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%llu\r\n"
                  "backup_destination:%s\r\nbackup_current_name:%s\r\nbackup_last_name:%s\r\n"
                  "backup_last_url:%s\r\nbackup_last_bytes:%llu\r\nbackup_last_keys:%llu\r\n"
                  "backup_last_error:%s\r\nbackup_failures:%llu\r\nbackup_interval_sec:%llu\r\n"
                  "backup_encrypted_key_id:%u\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n",
                  j->child || j->pending ? 1 : 0, (long long)s->lastsave, j->last_ok ? "ok" : "err",
                  j->saves + j->failures ? (long long)(j->last_seconds + 0.5) : -1LL,
                  j->child ? (long long)((now - j->started_ms) / 1000)
                  : j->pending ? (long long)((now - j->pending_since_ms) / 1000)
                               : -1LL, (unsigned long long)j->saves, dest,
                  j->current_name, j->last_name, j->last_url, (unsigned long long)j->last_bytes,
                  (unsigned long long)j->last_keys, j->last_error, (unsigned long long)j->failures,
                  (unsigned long long)(s->cfg.backup.interval_ms / 1000),
                  tc_snapshot_keydir_newest(j->keys) ? tc_snapshot_keydir_newest(j->keys)->id : 0u);
}

static void op_backup_requested(void *ud, int node_id, int64_t at_ms)
{
    tc_backup_job *j = ud;
    tc_server *s = j->srv;
    if (node_id != s->self->id) return;
    if (tc_now_ms() - at_ms > STALE_REQUEST_MS) return; /* replayed history */
    if (j->child || j->pending) {
        j->queued_run = 1;
        return;
    }
    char err[600];
    if (start(j, NULL, 1, NULL, err, sizeof err) != 0) {
        j->last_ok = 0;
        j->failures++;
        snprintf(j->last_error, sizeof j->last_error, "%.500s", err + 4);
        tc_warn("scheduled backup: %s", err + 4);
    }
}

int tc_backup_job_init(tc_backup_job *j, tc_server *s, const tc_snapshot_keydir *keys, const tc_backup_job_ops *ops)
{
    memset(j, 0, sizeof *j);
    j->srv = s;
    j->keys = keys;
    j->pipe_fd = -1;
    j->last_ok = 1;
    if (ops) j->ops = *ops;
    if (uv_timer_init(s->loop, &j->timer) != 0) return -1;
    j->timer.data = j;
    uv_timer_start(&j->timer, on_timer, POLL_MS, POLL_MS);
    uv_unref((uv_handle_t *)&j->timer); /* never what keeps the loop alive */
    static const tc_persistence_ops persistence = {.bgsave = op_bgsave, .busy = op_busy, .backup_requested = op_backup_requested,
                                                 .backup_granted = op_backup_granted};
    tc_server_set_persistence(s, &persistence, j);
    tc_info_add(s, "persistence", NULL, info_persistence, j, 1);
    return 0;
}

void tc_backup_job_stop(tc_backup_job *j)
{
    if (j->child) {
        tc_notice("stopping backup %s (child %d)", j->current_name, (int)j->child);
        kill(j->child, SIGTERM);
        waitpid(j->child, NULL, 0);
        j->child = 0;
    }
    if (j->pipe_fd >= 0) close(j->pipe_fd);
    j->pipe_fd = -1;
}
