/* Integration test harness: real tricache processes on loopback, talked to
 * over RESP connections and with redis-cli / redis-benchmark. Free ports, a temp
 * directory per node, polling with deadlines, and no process left behind. */
#ifndef TC_HARNESS_H
#define TC_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tnode {
    pid_t pid;
    int port;
    char dir[256];    /* temp directory: cluster.toml, node.log, data/ */
    char config[300];
} tnode;

/* A cluster of real nodes sharing one cluster.toml in a temp directory. */
typedef struct tcluster {
    int n;
    tnode nodes[5]; /* nodes[i] is node id i+1; pid 0 while stopped */
    char dir[256];
    char config[300];
} tcluster;

/* Writes an n-node config (extra_toml appended to the top-level settings),
 * starts every node and waits until each answers PING. */
tcluster *h_cluster_start(int n, const char *extra_toml);
/* The same with the last `joiners` nodes marked join = true and not started
 * (they are added later with MEMBERS ADD). */
tcluster *h_cluster_start_joining(int n, int joiners, const char *extra_toml);
/* The same, writing the configuration only: nothing is started (node i's
 * data directory will be <dir>/data/node-<i+1>; start it with
 * h_node_restart), so a test can prepare the directories first. */
tcluster *h_cluster_create(int n, int joiners, const char *extra_toml);
/* Stops every node still running and removes the directory. */
void h_cluster_stop(tcluster *c);
/* Index of the node whose INFO says role:master, polling until the
 * deadline (ms from now); -1 if none. Ignores stopped nodes. */
int h_cluster_primary(tcluster *c, int deadline_ms);
/* The primary once every other running node names it too (a replica learns of a
 * new primary from its first AppendEntries, a little after the election):
 * -1 if that does not happen within deadline_ms. */
int h_cluster_settled(tcluster *c, int deadline_ms);
/* Polls until every running node answers the same DEBUG DIGEST and
 * returns it (malloc'd); fails the test after 15 s. */
char *h_converged_digest(tcluster *c);
/* Sends sig to node i (SIGKILL: also reaps it and marks it stopped). */
void h_node_signal(tcluster *c, int i, int sig);
/* Waits until node i exits (polling until the deadline, ms from now) and
 * marks it stopped; its waitpid status, or -1 if it is still running. */
int h_node_wait_exit(tcluster *c, int i, int deadline_ms);
/* Starts node i again on its data directory and waits for PING. */
void h_node_restart(tcluster *c, int i);
/* Starts nodes 0..count-1 together, then waits until each answers PING: a
 * new cluster's founding nodes probe each other before they bootstrap, and
 * answer each other's probes (raft/peer_probe.c) only while all run. */
void h_nodes_start(tcluster *c, int count);
/* The log of cluster node i so far ("" if none yet; malloc'd). */
char *h_node_log(const tcluster *c, int i);
/* Polls node i's log (10 s) until it holds text, or fails the test with the
 * log's end: a node may act (refuse a connection, send a TLS alert) before
 * it logs why, so a test must not read the log once and expect the line. */
void h_expect_logged(const tcluster *c, int i, const char *text);
/* INFO field of node i ("" if absent); malloc'd. */
char *h_info_field(tcluster *c, int i, const char *section, const char *field);
/* The same as a number (0 if absent). */
long long h_info_ll(tcluster *c, int i, const char *section, const char *field);
/* Polls until every running node has applied the log up to index, or fails
 * the test after deadline_ms. After a restart of every node, equal digests
 * alone do not say the log was applied: each node first serves the state of
 * its snapshot, often taken at the same index everywhere, until the new
 * primary commits in its term. */
void h_wait_applied(tcluster *c, long long index, int deadline_ms);
/* The Raft port cluster.toml gives node `id` (loopback); fails the test if none. */
int h_raft_port(tcluster *c, int id);

/* A free TCP port on 127.0.0.1 (bound then released). */
int h_free_port(void);
/* Milliseconds on a monotonic clock. */long long h_ms(void);

/* Writes a one-node config (extra_toml appended to the top-level settings)
 * and starts tricache; waits until it answers PING. Fails the test on error. */
tnode *h_start(const char *extra_toml);
/* SIGTERM, wait (deadline), SIGKILL if needed; returns the exit status as
 * from waitpid, and removes the temp directory. */
int h_stop(tnode *n);
/* The node's log, for assertions (malloc'd). */
char *h_log(const tnode *n);

/* A throwaway redis-server (persistence off) on a free port, in a temp
 * directory; for comparing replies with the reference. */
pid_t h_start_redis(int *port, char *dir, size_t dirlen);
/* Stops a process started by the harness and removes its directory. */
void h_stop_pid(pid_t pid, const char *dir);

/* Raw RESP connection (common/'s tc_rc client underneath, 15 s deadline
 * for each send and each reply). The fd may also be used directly. */
int h_connect(int port);
void h_send(int fd, const void *p, size_t len);
void h_sends(int fd, const char *s);
/* Reads exactly one RESP reply (any type, nested) and returns its raw bytes
 * (malloc'd, NUL-terminated), or NULL if the connection closed first. */
char *h_reply(int fd);
/* Closes a connection and forgets bytes buffered for it. */
void h_close(int fd);
/* 1 if the peer closed the connection (within the deadline). */
int h_closed(int fd);

/* Runs a program with arguments (NULL-terminated), returns its stdout
 * (malloc'd) and stores the exit status. */
char *h_run(int *status, const char *prog, ...) __attribute__((sentinel));
/* redis-cli -p port args... ; output with the trailing newline removed. */
char *h_cli(const tnode *n, ...) __attribute__((sentinel));

/* A workload client run beside a cluster through a fault (test_bullmq,
 * test_script_clients): argv[0] is the program's path; its stdout and
 * stderr go to out_path. */
pid_t h_client_start(char *const argv[], const char *out_path);
/* Polls until path exists (the client says it is ready for the fault);
 * fails the test, with the end of the client's output, if the client
 * exits first (*pid is then 0) or deadline_ms passes. */
void h_client_wait_file(pid_t *pid, const char *path, const char *out_path, int deadline_ms);
/* Waits for the client to exit: its waitpid status; killed and the test
 * failed (with its output) after deadline_ms. *pid is 0 afterwards. */
int h_client_wait_exit(pid_t *pid, const char *out_path, int deadline_ms);
/* Kills and reaps a client still running (*pid > 0); *pid is 0 afterwards. */
void h_client_stop(pid_t *pid);
/* The last 16 KiB of a file (malloc'd; "" when it cannot be read). */
char *h_file_tail(const char *path);

/* Runs tricache with the given arguments (at most 60 s: then status 124)
 * and captures stdout, stderr and the status. */
char *h_run_tricache(int *status, const char *arg0, ...) __attribute__((sentinel));

#endif
