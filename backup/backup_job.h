/* Backups of a running node: BGSAVE / SAVE / scheduled backups.
 *
 * A backup is taken by a forked child: the event loop pays for fork()
 * only, the child sees the keyspace frozen at that instant (copy-on-write),
 * writes it as a snapshot (encrypted with the newest key of keys_dir when
 * there is one) straight to the destination (snapshot/backup.h: a folder or
 * S3, manifest last), prunes old backups after a scheduled one, and reports
 * one line through a pipe. The parent polls for the child on a timer.
 *
 * Scheduled backups (backup.interval): the primary decides when, and
 * appends TCBACKUP RUN <node> to the log naming a healthy replica (itself
 * when none is); the named node takes the backup when it applies that
 * entry. A standalone node takes its own.
 *
 * BGSAVE and SAVE in a cluster: a backup must hold every write acknowledged
 * before it was asked for, which a replica's applied state (or a deposed
 * primary's) may not yet. So the request goes through the log: the node
 * answers "+Background saving started" at once, and has the primary append
 * TCBACKUP REQUEST <node> <token> (itself when it is the primary; a replica
 * sends that command to the primary over the client protocol, see
 * forward.c); the backup starts when this node applies that entry, after
 * everything committed before it. Meanwhile the backup counts as in
 * progress (its name is already chosen); a request the log does not grant
 * within REQUEST_TIMEOUT_MS fails like a backup. */
#ifndef TC_BACKUP_JOB_H
#define TC_BACKUP_JOB_H

#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "apply.h"
#include "backup.h"
#include "server.h"
#include "snapshot.h"

/* What the replication layer tells the job (all NULL for a standalone node). */
typedef struct tc_backup_job_ops {
    void *ud;
    /* The image's position: Raft applied index and term, and the apply clock. */
    void (*position)(void *ud, uint64_t *index, uint64_t *term, const tc_apply_state **apply);
    /* 1 if this node is the primary (it runs the schedule). */
    int (*is_primary)(void *ud);
    /* The node that should take a scheduled backup: a caught-up replica, else
     * this node. */
    int (*pick_node)(void *ud);
    /* Appends a command to the log (TCBACKUP RUN); 0 or -1. */
    int (*submit)(void *ud, size_t argc, const tc_slice *argv);
    /* The primary as far as this node knows (NULL: none known). */
    const tc_node_conf *(*primary)(void *ud);
} tc_backup_job_ops;

#define TC_BACKUP_MAX_WAITERS 64

typedef struct tc_backup_job {
    tc_server *srv;
    const tc_snapshot_keydir *keys;
    tc_backup_job_ops ops;
    uv_timer_t timer;               /* child polling and the schedule, every 100 ms */

    pid_t child;                    /* 0 when no backup runs */
    int pipe_fd;
    char result[1024];              /* what the child said so far */
    size_t result_len;
    int scheduled;                  /* the running one came from the schedule */
    int queued_run;                 /* a TCBACKUP RUN applied while one ran */
    int queued_user;                /* BGSAVE SCHEDULE / SAVE while one ran */
    char queued_url[TC_BACKUP_MAX_URL];
    tc_client *waiters[TC_BACKUP_MAX_WAITERS]; /* SAVE callers of the current one */
    size_t nwaiters;
    tc_client *next_waiters[TC_BACKUP_MAX_WAITERS]; /* SAVE callers of the queued one */
    size_t nnext;

    int pending;                    /* asked for in the log, not started yet */
    int pending_scheduled;
    unsigned long long pending_token;
    char pending_url[TC_BACKUP_MAX_URL];
    int64_t pending_since_ms;
    unsigned long long next_token;  /* tokens of this run of the node */

    char current_name[TC_BACKUP_MAX_NAME];
    char current_url[TC_BACKUP_MAX_URL];
    int64_t started_ms;

    int last_ok;                    /* the last backup succeeded (1 before any) */
    char last_name[TC_BACKUP_MAX_NAME];
    char last_url[TC_BACKUP_MAX_URL];
    char last_error[512];
    double last_seconds;
    uint64_t last_bytes, last_keys;
    uint64_t saves, failures;

    int64_t schedule_base_ms;       /* local: when the schedule started counting */
    int64_t schedule_asked_ms;      /* a TCBACKUP RUN is on its way since then */
} tc_backup_job;

/* Installs the job's hooks on the server (BGSAVE, SAVE, INFO persistence,
 * TCBACKUP) and starts its timer. keys may be NULL or empty. ops may be
 * NULL (standalone). 0 or -1. */
int tc_backup_job_init(tc_backup_job *j, tc_server *s, const tc_snapshot_keydir *keys, const tc_backup_job_ops *ops);

/* At exit: a running backup is stopped (its upload is abandoned, never
 * listed) and its child reaped. */
void tc_backup_job_stop(tc_backup_job *j);

/* Between job.c and forward.c: sends TCBACKUP REQUEST <self> <token> to
 * the primary from a worker thread (0 once handed over, -1 with err);
 * a refusal comes back through tc_backup_job_request_failed. */
int tc_backup_forward(tc_backup_job *j, const tc_node_conf *primary, unsigned long long token, char *err,
                      size_t errlen);
void tc_backup_job_request_failed(tc_backup_job *j, unsigned long long token, const char *why);

#endif
