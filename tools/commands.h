/* tricachectl's commands; each returns the process exit code:
 * 0 done / healthy, 1 the cluster is not in the wanted state, 2 bad usage. */
#ifndef TC_TOOLS_COMMANDS_H
#define TC_TOOLS_COMMANDS_H

#include "cluster_view.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_CLUSTER 1
#define CTL_EXIT_USAGE 2

/* status [--json] */
int ctl_cmd_status(const ctl_cluster *cl, int json);

/* failover [--to ID] [--timeout 5s]: to_id 0 lets Raft pick the node. */
int ctl_cmd_failover(const ctl_cluster *cl, int to_id, long long timeout_ms);

/* members list | add ID | remove ID | replace OLD_ID NEW_ID */
int ctl_cmd_members(const ctl_cluster *cl, int argc, char **argv);

/* Monotonic milliseconds. */
long long ctl_now_ms(void);

#endif
