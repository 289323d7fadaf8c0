/* What backup and restore share: which destination a command talks to, a
 * backup looked up by name, and a backup made local and verified.
 *
 * Functions return 0 or an exit code (CTL_EXIT_CLUSTER, CTL_EXIT_USAGE)
 * after printing to stderr why, with a hint naming what to do. */
#ifndef TC_TOOLS_DEST_H
#define TC_TOOLS_DEST_H

#include "backup.h"
#include "ctl_commands.h"

/* The destination as the node resolves it: --to, else [backup] destination
 * of cluster.toml, else file://<node data dir>/backups of --node (or of
 * the only node); S3 settings from [backup]. */
int ctl_dest_conf(const ctl_cluster *cl, const ctl_backup_args *a, tc_backup_conf *conf);
/* ctl_dest_conf, then tc_backup_open. */
int ctl_dest_open(const ctl_cluster *cl, const ctl_backup_args *a, tc_backup_dest **out);
/* The manifest of backup `name`; when there is none, says which backups
 * exist (or that there are none). */
int ctl_dest_find(tc_backup_dest *d, const char *name, tc_backup_meta *meta);
/* The exit code for a TC_BACKUP_E* code, after printing err and a hint. */
int ctl_dest_fail(const char *what, int code, const char *err);

/* "2024-05-01 12:34:56 UTC" */
void ctl_format_utc(int64_t unix_ms, char *out, size_t len);

/* A backup as a verified local file. */
typedef struct ctl_local_backup {
    tc_backup_meta meta;
    char tmpdir[4096];           /* "" when none was made */
    char path[4096];             /* the snapshot file */
    int fetched;                 /* path must be given back with tc_backup_fetch_done */
    tc_snapshot_keydir *keys;    /* NULL when the backup is not encrypted */
    char keys_from[4096];        /* the folder the keys came from */
    tc_snapshot_info info;
    tc_snapshot_stats st;
    tc_backup_dest *dest;        /* where it came from; NULL if it could not be opened */
} ctl_local_backup;

/* Opens the destination (as ctl_dest_open), fetches backup `name` (into a
 * temporary folder under $TMPDIR when the destination is remote), loads
 * the key it needs and verifies the whole file: every block, the trailer,
 * and its key count, raft index and cluster against the manifest. On
 * success (CTL_EXIT_OK) (*out)->path can be read with (*out)->keys as
 * keyring. *out (NULL only when out of memory) is given back with
 * ctl_local_backup_free whatever the result. */
int ctl_local_backup_open(const ctl_cluster *cl, const ctl_backup_args *a, const char *name, ctl_local_backup **out);
void ctl_local_backup_free(ctl_local_backup *lb);

#endif
