/* Whether the cluster this node belongs to has formed: every founding voter
 * acknowledged the log once. Recorded in each node's data directory when
 * the TCFORMED entry is applied, outside the Raft log and its snapshots, so
 * a node reports it from the moment it starts, before any primary exists.
 * A founding node that starts on an empty data directory asks its peers:
 * one that answers "formed" proves this node had data and lost it (the
 * start is refused with the way to rejoin), whether or not a primary is
 * reachable. */
#ifndef TC_NODE_CLUSTER_FORMED_H
#define TC_NODE_CLUSTER_FORMED_H

struct tc_server;

#define TC_CLUSTER_FORMED_FILE "cluster-formed"

/* Reads the record of the node's data directory (s->data_dir) into
 * s->cluster_formed; called once the directory exists. */
void tc_cluster_formed_load(struct tc_server *s);

/* The command that writes the record is TCFORMED <node id> [...] (the
 * primary's note that the listed voters all acknowledged the log;
 * tc_cmd_tcformed in commands.h). */

#endif
