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
 * entry. A standalone node takes its own. */
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
} tc_backup_job_ops;

#define TC_BACKUP_MAX_WAITERS 64

typedef struct tc_backup_job {
    tc_server *srv;
    const tc_snapshot_keydir *keys;
    tc_backup_job_ops ops;
    char data_dir[TC_BACKUP_MAX_URL - 16]; /* the node's folder, absolute ("" if too long for a URL) */
    uv_timer_t timer;               /* child polling and the schedule, every 100 ms */

    pid_t child;                    /* 0 when no backup runs */
    int pipe_fd;
    char result[1024];              /* what the child said so far */
    size_t result_len;
    int scheduled;                  /* the running one came from the schedule */
    int queued, queued_scheduled;   /* BGSAVE SCHEDULE / a schedule tick while one ran */
    char queued_url[TC_BACKUP_MAX_URL];
    tc_client *waiters[TC_BACKUP_MAX_WAITERS]; /* SAVE callers */
    size_t nwaiters;

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

#endif
