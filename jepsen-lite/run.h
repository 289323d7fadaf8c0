/* jepsen-lite run: the fault harness (internal to jepsen-lite/).
 *
 * One run: a throwaway cluster of real tricache processes, each in its own
 * network namespace (or on loopback with --local), concurrent clients that
 * record a history, a nemesis that injects faults on a schedule drawn from a
 * seed, then healing, final reads, the check and the report.
 *
 * Files, one concern each:
 *   proc.c      fork/exec helpers (optionally inside a network namespace)
 *   netns.c     namespaces, bridge, veths, the safety blackhole route, nftables rules
 *   cluster.c   cluster.toml, starting/killing/pausing nodes, finding the primary,
 *               jl_call (common/'s RESP client, failures told as history outcomes)
 *   nemesis.c   the fault schedule and applying/healing each fault
 *   member.c    the member fault: MEMBERS REMOVE / ADD through the primary
 *   workload.c  the client threads of the register and set workloads
 *   recorder.c  the history writer (JSON Lines) and per-op records for the report
 *   summary.c   summary.json; report_html.c report.html with SVG plots
 *   run.c       options, orchestration, teardown */
#ifndef JL_RUN_H
#define JL_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common.h"
#include "jepsen.h"

#define JL_MAX_NODES 5
#define JL_MAX_CLIENTS 64

/* Nanoseconds on the monotonic clock. */
int64_t jl_now_ns(void);
void jl_sleep_ms(int64_t ms);

/* ------------------------------------------------------------ proc.c */

/* Runs argv to completion (PATH is searched), inside the network namespace
 * whose /proc or /var/run/netns path is ns (NULL: the caller's own). Its
 * output (stdout and stderr, first bytes) goes to out. Returns the exit status (0..255),
 * or -1 if it could not be run or was killed. */
int jl_proc_run(const char *ns, char *const argv[], char *out, size_t outlen);
/* Starts argv in the background in namespace ns with extra environment
 * (NULL-terminated "K=V" strings, may be NULL); stdout and stderr append to
 * log. The child dies with this process (PR_SET_PDEATHSIG), so the caller
 * must be a thread that lives until the end (the main thread). */
pid_t jl_proc_spawn(const char *ns, char *const argv[], char *const env_extra[], const char *log);

/* ------------------------------------------------------------ resp */

/* Nodes are reached with common/'s blocking RESP client (tc_rc): one
 * command at a time, a deadline for the whole call, and the connection
 * closed whenever the outcome is unclear, so a late reply is never taken
 * for the next command's. jl_call says what a failure means for the
 * history. Outcomes besides 0 (a reply, possibly an error reply): */
enum {
    JL_RC_NOTSENT = -1, /* nothing reached the server: the command did not run */
    JL_RC_TIMEOUT = -2, /* sent, no reply in time: unknown (connection closed) */
    JL_RC_LOST = -3,    /* sent, the connection broke: unknown (connection closed) */
};

/* Sends one command on c and waits up to timeout_ms for its reply. */
int jl_call(tc_rc *c, int timeout_ms, tc_rc_reply *out, int argc, const char *const argv[]);

/* ------------------------------------------------------------ netns.c */

typedef struct jl_net {
    char prefix[32];        /* "jl-<pid>": every name this run makes starts with it */
    int octet;              /* the test subnet is 10.77.<octet>.0/24 */
    char subnet[32];
    int n_nodes;
    bool route_added;
    bool made[JL_MAX_NODES + 2]; /* namespaces: [0] switch, [1] clients, [2+i] node i */
    char ns_path[JL_MAX_NODES + 2][96];
    int root_fd;            /* the root network namespace, to come back to */
} jl_net;

/* Needs root. Adds the blackhole route first, then the namespaces, bridge and
 * veths, and an empty nftables input chain in each node namespace. On error
 * err says why and whatever was made is removed again. */
int jl_net_setup(jl_net *net, int n_nodes, char *err, size_t errlen);
/* The calling thread moves into the clients' namespace (threads it creates
 * afterwards are there too). */
int jl_net_enter_clients(jl_net *net);
void jl_net_node_addr(const jl_net *net, int i, char *out, size_t len);
const char *jl_net_node_ns(const jl_net *net, int i);
/* Node `to` drops every packet from node `from`. */
int jl_net_drop(jl_net *net, int to, int from);
/* Removes every drop rule. */
int jl_net_heal(jl_net *net);
/* Deletes everything setup made (idempotent); returns 0 if it all went. */
int jl_net_teardown(jl_net *net);
/* Lines describing what is left of this run (namespaces, route): for the
 * smoke test and error messages. */
int jl_net_leftovers(const jl_net *net, char *out, size_t len);

/* ------------------------------------------------------------ cluster.c */

enum { JL_NODE_DOWN, JL_NODE_UP, JL_NODE_PAUSED };

typedef struct jl_node {
    int id;
    char host[64];
    int port, raft_port;
    int tls_port;   /* --tls: its TLS client port (the plain one then refuses) */
    pid_t pid;      /* 0 while down */
    int state;
    int skew_s;     /* clock offset it runs under (0: none) */
    char log[512];
} jl_node;

typedef struct jl_cluster {
    int n;
    jl_node nodes[JL_MAX_NODES];
    char dir[400];         /* --out */
    char config[512];
    char tricache[512];
    char faketime_lib[256]; /* "" if libfaketime is not installed */
    jl_net *net;           /* NULL with --local */
    pid_t pids[512];       /* every process started, for the report and the leftover check */
    size_t n_pids;
    int out_of_voters;     /* node index the member fault took out of the voter set, -1: none */
    tc_rc stall;           /* stall nemesis: the connection whose DEBUG SLEEP runs (fd -1: none) */
    int64_t t0;            /* start of the history (jl_now_ns), 0 before it */
    /* --tls: TLS everywhere (transit_encryption_mode = "required", mutual
     * TLS between nodes, client certificates); every connection the run
     * makes goes through jl_node_connect */
    tc_rc_tls *tls;
    /* disk nemesis (disk.c): each node's data directory on its own tmpfs */
    char disk_dir[JL_MAX_NODES][420];
    bool disk_mounted[JL_MAX_NODES];
} jl_cluster;

int jl_cluster_init(jl_cluster *c, int n, const char *dir, const char *tricache, jl_net *net, int base_port,
                    bool tls, char *err, size_t errlen);
/* Frees what jl_cluster_init allocated (the nodes must be stopped). */
void jl_cluster_free(jl_cluster *c);
/* A connection to node i's client port: TLS with --tls. */
int jl_node_connect(const jl_cluster *c, int i, tc_rc *rc, int timeout_ms);
/* certs.c: the CA and certificates of a --tls run, into dir. */
int jl_certs_make(const char *dir, const jl_cluster *c, char *err, size_t len);
int jl_node_start(jl_cluster *c, int i);
/* SIGKILL and reap. */
void jl_node_kill(jl_cluster *c, int i);
void jl_node_pause(jl_cluster *c, int i);
void jl_node_resume(jl_cluster *c, int i);
/* Kills every node (SIGCONT first for paused ones) and reaps it. */
void jl_cluster_stop(jl_cluster *c);
/* Index of the primary: asks every node for INFO replication; a node saying
 * role:master with the highest raft term wins. -1 if none answers so. */
int jl_cluster_primary(jl_cluster *c, int timeout_ms);
/* Polls until the primary accepts a write (up to deadline_ms); returns the
 * primary's index or -1. */
int jl_cluster_wait_writable(jl_cluster *c, int deadline_ms);
/* Polls until every node holds key=value (replicas have caught up). */
int jl_cluster_wait_converged(jl_cluster *c, const char *key, const char *value, int deadline_ms);
/* One command on node i over a fresh connection: 0 and the reply (possibly
 * an error reply; free it), or a JL_RC_* code. */
int jl_cluster_call(jl_cluster *c, int i, int timeout_ms, tc_rc_reply *out, int argc, const char *const argv[]);

/* ------------------------------------------------------------ nemesis.c */

typedef enum jl_fault_kind {
    JL_F_KILL,
    JL_F_PAUSE,
    JL_F_PARTITION,
    JL_F_CLOCK,
    JL_F_MEMBER,
    JL_F_DISK, /* a node's data directory full (a ballast file on its tmpfs), emptied to heal */
    JL_F_STALL, /* DEBUG SLEEP on a node for the fault's length: its command thread stuck, Raft not */
    JL_F_NKINDS
} jl_fault_kind;
typedef enum jl_part_kind {
    JL_P_HALVES,          /* a random majority and minority */
    JL_P_ISOLATE_PRIMARY, /* the primary alone on one side */
    JL_P_ONEWAY,          /* the primary hears nobody; the others still hear it */
    JL_P_NKINDS,
} jl_part_kind;

extern const char *const jl_part_option_names[JL_P_NKINDS]; /* --partitions: halves, isolate-primary, one-way */

typedef struct jl_fault {
    jl_fault_kind kind;
    int sub;            /* partition: jl_part_kind */
    bool on_primary;    /* kill/pause/clock/member: the primary at that moment; else node */
    int node;           /* planned node index (when !on_primary) */
    int shuffle[JL_MAX_NODES]; /* partition halves: a permutation of the nodes */
    int skew_s;         /* clock: offset in seconds */
    double start_s, end_s;     /* planned, from the start of the workload */
    /* What happened */
    int target;                /* the node it hit (kill/pause/clock/member; partition: the lone or primary node) */
    int64_t t_start, t_end;    /* ns, same clock as the history; 0 if not done */
    bool skipped;              /* not started (nothing to heal): see what */
    /* member: when the removal committed, and when the node was listed as a
     * voter again after the heal (ns from the start; 0: did not happen) */
    int64_t t_removed, t_voter_again;
    char what[200];            /* e.g. "kill n2 (primary)" */
} jl_fault;

extern const char *const jl_fault_names[JL_F_NKINDS];

/* The schedule for a run of run_s seconds: faults one at a time, none in
 * the first or last seconds; partitions drawn from the kinds in the mask
 * part_kinds (bit per jl_part_kind). Same seed, same schedule. */
int jl_nemesis_plan(jl_fault **out, size_t *n, uint64_t seed, unsigned kinds, unsigned part_kinds, double run_s,
                    int n_nodes);
/* Starts a fault; a fault that cannot start without taking a second node
 * away (a node is still out of the voter set) is skipped (f->skipped) and
 * needs no end. */
int jl_nemesis_begin(jl_cluster *c, jl_fault *f);
int jl_nemesis_end(jl_cluster *c, jl_fault *f);
/* Heals everything: drop rules gone, paused nodes resumed, killed nodes
 * restarted, skewed nodes restarted with a true clock, a removed node a
 * voter again. Returns 0, or -1 if a removed node could not be re-added. */
int jl_nemesis_heal_all(jl_cluster *c);

/* ------------------------------------------------------------ disk.c */

/* Mounts a tmpfs on each node's data directory (<dir>/data/node-<id>);
 * before the nodes start. 0, or -1 with err (not root: mount refused). */
int jl_disk_setup(jl_cluster *c, char *err, size_t errlen);
/* Fills node i's tmpfs with a ballast file until it is full. */
int jl_disk_fill(jl_cluster *c, int i);
/* Removes node i's ballast (nothing if its directory is not a tmpfs). */
void jl_disk_heal(jl_cluster *c, int i);
/* Ballasts removed and every tmpfs unmounted; after the nodes stopped. */
int jl_disk_teardown(jl_cluster *c);

/* ------------------------------------------------------------ member.c */

/* Node i's role in the configuration node p holds (MEMBERS LIST on p). */
enum { JL_MEMBER_ERROR = -1, JL_MEMBER_ABSENT, JL_MEMBER_VOTER, JL_MEMBER_OTHER };
int jl_member_role(jl_cluster *c, int p, int i);
/* Takes node i out of the voter set: MEMBERS REMOVE sent to the current
 * primary, again after an error, a redirect or a timeout, until the
 * primary's configuration lacks i or deadline (jl_now_ns) passes. 0 once
 * removed; else -1 and why says what the last attempt got. */
int jl_member_remove(jl_cluster *c, int i, int64_t deadline, char *why, size_t len);
/* Brings node i back: MEMBERS ADD through the current primary (which
 * catches it up before it votes) until the primary lists it as a voter, or
 * deadline passes (-1, why says what the last attempt got). */
int jl_member_add(jl_cluster *c, int i, int64_t deadline, char *why, size_t len);

/* ------------------------------------------------------------ recorder.c */

typedef struct jl_oprec {
    int64_t t_call, t_ret; /* ns from the start; t_ret of a timeout: when the client gave up */
    jl_fn f;
    jl_type outcome;
    int node;
} jl_oprec;

typedef struct jl_recorder {
    pthread_mutex_t mu;
    FILE *f;
    int64_t t0;
    jl_oprec *ops;
    size_t n_ops, cap;
    int err; /* first write error (errno) */
} jl_recorder;

int jl_recorder_open(jl_recorder *r, const char *path, int64_t t0);
int jl_recorder_close(jl_recorder *r);
/* Appends one event; value_json is a JSON value or NULL (left out). Returns
 * the event's time (ns from t0). For a completion, t_call is its invoke's
 * time and the op is kept for the report. */
int64_t jl_recorder_event(jl_recorder *r, int64_t process, jl_type type, jl_fn f, const char *key,
                          const char *value_json, int node, const char *error, int64_t t_call);
/* JSON string literal of s (malloc'd). */

/* ------------------------------------------------------------ workload.c */

typedef struct jl_workload {
    jl_cluster *cluster;
    jl_recorder *rec;
    bool set;              /* set workload, else register */
    bool sadd;             /* sadd workload: SADD/SMEMBERS on n_keys set keys */
    bool scripts;          /* register: each operation an EVAL of a Lua script */
    int concurrency;
    double rate;           /* ops per second, all clients together */
    int n_keys;
    uint64_t seed;
    bool inject_stale;
    atomic_bool stop;
    atomic_int primary;    /* shared guess of the primary's index */
    atomic_llong next_value;
    atomic_llong stale_injected;
    atomic_llong next_final;
    pthread_t threads[JL_MAX_CLIENTS];
    struct client *clients[JL_MAX_CLIENTS];
    int started;
    pthread_mutex_t mu;
    void *priv;            /* workload.c's bookkeeping */
    long n_replica_reads;
} jl_workload;

int jl_workload_start(jl_workload *w);
void jl_workload_stop(jl_workload *w);
/* After healing: register and sadd: one read of every key on the primary; set: a
 * read of every attempted element on every node, one history read per node.
 * present[i] counts the elements node i holds, missing[i] the acknowledged
 * ones it lacks (-1: node i could not be read). */
int jl_workload_final_reads(jl_workload *w, long present[JL_MAX_NODES], long missing[JL_MAX_NODES]);
void jl_workload_free(jl_workload *w);
/* Replica reads (register) that returned a value already overwritten by a
 * write acknowledged before they started. */
long jl_workload_stale_replica_reads(jl_workload *w);

/* ------------------------------------------------------------ summary.c, report_html.c */

typedef struct jl_run_info {
    const char *workload;
    int n_nodes, concurrency;
    double time_s;
    uint64_t seed;
    bool local, inject_stale;
    const char *nemesis;
    jl_fault *faults;
    size_t n_faults;
    int64_t t_end;             /* end of the workload, ns from t0 */
    long stale_replica_reads, n_replica_reads, stale_injected;
    long per_node_present[JL_MAX_NODES], per_node_missing[JL_MAX_NODES];
    const char *netns_prefix, *subnet; /* "" with --local */
    const pid_t *pids;         /* every node process started */
    size_t n_pids;
    jl_verdict verdict;        /* the checker's, or invalid if a node lost acknowledged adds */
    const jl_history *h;
    const jl_result *res;      /* NULL if the check could not run */
    const jl_recorder *rec;
} jl_run_info;

/* Time after the fault's end until a write was acknowledged again (ns), or
 * -1 if none was. */
int64_t jl_fault_recovery(const jl_run_info *ri, const jl_fault *f);
/* Longest stretch without an acknowledged write overlapping the fault. */
int64_t jl_fault_write_gap(const jl_run_info *ri, const jl_fault *f);
int jl_write_summary(const jl_run_info *ri, const char *path);
int jl_write_html(const jl_run_info *ri, const char *path);

/* run.c */
int jl_cmd_run(int argc, char **argv);

/* "30", "30s", "500ms", "2m", "1h", "1.5s" -> seconds (0 < x <= 1e9);
 * -1 if malformed. Shared by `check --time-limit` and `run --time`. */
double jl_parse_seconds(const char *s);

#endif
