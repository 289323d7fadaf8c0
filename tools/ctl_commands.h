/* tricachectl's commands; each returns the process exit code:
 * 0 done / healthy, 1 the cluster is not in the wanted state, 2 bad usage. */
#ifndef TC_TOOLS_CTL_COMMANDS_H
#define TC_TOOLS_CTL_COMMANDS_H

#include "cluster_view.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_CLUSTER 1
#define CTL_EXIT_USAGE 2

/* status [--json] */
int ctl_cmd_status(const ctl_cluster *cl, int json);

/* failover [--to ID] [--timeout 5s]: to_id 0 lets Raft pick the node. */
int ctl_cmd_failover(const ctl_cluster *cl, int to_id, long long timeout_ms);

/* restart-plan [--timeout 5s]: pre-checks (sampled until timeout_ms), then
 * the order and commands of a rolling restart; config is cluster.toml's
 * path as given, for the printed commands. */
int ctl_cmd_restart_plan(const ctl_cluster *cl, const char *config, long long timeout_ms);

/* members list | add ID | remove ID | replace OLD_ID NEW_ID */
int ctl_cmd_members(const ctl_cluster *cl, int argc, char **argv);

/* Options of keys, backup and restore (NULL / 0 when not given). */
typedef struct ctl_backup_args {
    const char *to;        /* --to URL: the backup destination */
    int node_id;           /* --node ID */
    const char *dir;       /* keys: --dir, the key folder */
    const char *file;      /* secret generate: --file, the new secret file */
    const char *keys_dir;  /* backup verify, restore: --keys-dir instead of keys_dir of cluster.toml */
    const char *from;      /* restore: --from NAME */
    int json;              /* backup list --json */
    int into_running;      /* restore --into-running */
    int yes;               /* restore --yes */
    int with_users;        /* restore --with-users: the backup's users replace the cluster's */
    long long timeout_ms;  /* backup create, restore: --timeout */
    const char *new_token_file; /* auth rotate --new-token-file */
    const char *token_file;     /* auth set --token-file */
} ctl_backup_args;

/* A ctl_cluster whose cfg.nnodes is 0 means no cluster.toml was read: the
 * commands below that can work without one (keys with --dir, backup list,
 * verify and delete with --to) say so when they need it. */

/* keys generate --dir DIR | keys list [--dir DIR] */
int ctl_cmd_keys(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv);

/* secret generate --file FILE: a new cluster secret (cluster_secret_file) */
int ctl_cmd_secret(const ctl_backup_args *a, int argc, char **argv);

/* backup create | list | verify NAME | delete NAME */
int ctl_cmd_backup(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv);

/* restore --from NAME [--to URL] [--into-running] [--yes] [--with-users] */
int ctl_cmd_restore(const ctl_cluster *cl, const ctl_backup_args *a);

/* auth rotate --new-token-file FILE | auth set --token-file FILE */
int ctl_cmd_auth(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv);

/* Monotonic milliseconds. */
long long ctl_now_ms(void);

#endif
