/* Node configuration: cluster.toml, validated against one settings table.
 *
 * The same table drives loading from TOML, CONFIG GET (glob over names) and
 * CONFIG SET (only settings flagged mutable). Setting names are written with
 * underscores in TOML and with dashes in CONFIG GET/SET, e.g. TOML
 * `proto_max_bulk_len` is CONFIG `proto-max-bulk-len`. */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* proto_max_bulk_len's default, also the limit a log entry is applied
 * with when its primary sent no TCLIMITS (cmd_limits.c). */
#define TC_DEFAULT_PROTO_MAX_BULK_LEN (UINT64_C(512) << 20)

#define TC_CONFIG_MAX_NODES 16
#define TC_CONFIG_MAX_STR 256

typedef struct tc_node_conf {
    int id;                          /* 1..65535, unique */
    char zone[64];                   /* non-empty */
    char client_host[TC_CONFIG_MAX_STR]; /* from client_addr "host:port" */
    int client_port;                 /* 1..65535 */
    char raft_host[TC_CONFIG_MAX_STR];   /* from raft_addr "host:port" */
    int raft_port;                   /* 1..65535 */
    char data_dir[TC_CONFIG_MAX_STR];    /* "" = <config data_dir>/node-<id> */
    int join;                        /* not a founding member: added later with MEMBERS ADD */
    char tls_host[TC_CONFIG_MAX_STR];    /* from tls_client_addr "host:port" (optional) */
    int tls_port;                    /* 0 = no TLS client port on this node */
    int line;                        /* line of its [[node]] header */
} tc_node_conf;

/* transit_encryption_mode, as a number (the setting itself is a string
 * whose default is "", not set). */
enum tc_transit_mode { TC_TRANSIT_UNSET, TC_TRANSIT_PREFERRED, TC_TRANSIT_REQUIRED };

/* tls_auth_clients: whether TLS clients must show a certificate of the CA. */
enum tc_tls_auth { TC_TLS_AUTH_NO, TC_TLS_AUTH_OPTIONAL, TC_TLS_AUTH_YES };
/* enable_debug_command: who may run DEBUG (Redis 7's enable-debug-command). */
enum tc_debug_cmd { TC_DEBUG_CMD_NO, TC_DEBUG_CMD_YES, TC_DEBUG_CMD_LOCAL };

enum tc_log_level { TC_LOG_DEBUG, TC_LOG_INFO, TC_LOG_NOTICE, TC_LOG_WARNING };

/* How the primary serves reads (replicas always serve their applied state):
 * linearizable: each read waits for a barrier committed after it arrived;
 * lease: served at once while a commit in the last 80% of an election
 *   timeout vouches that no other primary can exist (assumes clocks run at
 *   the same rate), else behind a barrier;
 * local: served from local state with no check (a deposed primary that has
 *   not noticed yet may answer stale data). */
enum tc_read_consistency { TC_READ_LINEARIZABLE, TC_READ_LEASE, TC_READ_LOCAL };

/* The [backup] table (settings named backup.<key>). */
typedef struct tc_backup_settings {
    char destination[1024];            /* file:///dir or s3://bucket/prefix; "" = file://<node data dir>/backups */
    uint64_t interval_ms;              /* scheduled backups; 0 = none */
    uint64_t retain;                   /* backups kept by the schedule, default 7 */
    char s3_endpoint[TC_CONFIG_MAX_STR];/* "" = https://s3.<region>.amazonaws.com */
    char s3_region[64];                /* default us-east-1 */
    int s3_path_style;                 /* endpoint/bucket/key instead of bucket.endpoint/key */
    char s3_credentials_file[TC_CONFIG_MAX_STR]; /* "" = AWS's default lookup */
    char allowed_destinations[1024];   /* BGSAVE/SAVE TO may also write under these (comma-separated); "" = none */
} tc_backup_settings;

/* Redis has no upper bound on `databases`; ours keeps a typo (1600000)
 * from allocating a table per database for nothing. */
#define TC_MAX_DATABASES 1024

typedef struct tc_config {
    char path[TC_CONFIG_MAX_STR];      /* file it was loaded from */
    char cluster_name[64];             /* default "tricache" */
    char data_dir[TC_CONFIG_MAX_STR];  /* default "./data" */
    char auth_token[TC_CONFIG_MAX_STR];/* "" = no AUTH required */
    int log_level;                     /* enum tc_log_level, default notice */
    uint64_t maxclients;               /* default 10000, 1..1000000 */
    uint64_t busy_reply_threshold;     /* ms a script runs before others get -BUSY, default 5000 */
    uint64_t script_memory_limit;      /* bytes Lua may hold while a script runs, default 128mb, 0 = no limit */
    uint64_t proto_max_bulk_len;       /* bytes, default 512mb, 1kb..4gb */
    uint64_t proto_max_multibulk_len;  /* args per command, default 1048576, 16..(1<<31)-1 */
    uint64_t client_query_buffer_limit;/* bytes, default 1gb, 1mb..4gb */
    uint64_t client_output_buffer_limit;/* bytes, default 1gb, 0=unlimited */
    uint64_t timeout_ms;               /* idle client timeout, default 0 = off */
    uint64_t tcp_backlog;              /* default 511, 1..65535 */
    uint64_t hz;                       /* active expiry cycles/s, default 10, 1..500 */
    uint64_t active_expire_effort;     /* 1..10, default 1: how hard active expiry works (node/expire.h) */
    uint64_t latency_monitor_threshold; /* ms; LATENCY records events at least this long, 0 = off */
    /* Memory limit and eviction (node/evict.h). Cluster-wide: cluster.toml
     * gives a new cluster its values; CONFIG SET changes them on every node
     * through the log (node/config_redis.c, REPLICATED rows). */
    uint64_t maxmemory;                /* bytes, default 0 = no limit */
    int maxmemory_policy;              /* enum tc_evict_policy, default noeviction */
    uint64_t maxmemory_samples;        /* keys sampled per eviction, default 5 */
    uint64_t lfu_log_factor;           /* LFU counter's logarithm, default 10 */
    uint64_t lfu_decay_time;           /* LFU counter decay in minutes, default 1; 0 = never */
    int cluster_mode;                  /* CLUSTER commands and -MOVED, default false */
    uint64_t databases;                /* numbered databases (SELECT), default 16, 1..TC_MAX_DATABASES */
    int read_consistency;              /* enum tc_read_consistency, default linearizable */
    char preferred_primary_zones[TC_CONFIG_MAX_STR]; /* "zone-a,zone-b"; "" = any */
    uint64_t election_timeout_ms;      /* default 300ms */
    uint64_t heartbeat_interval_ms;    /* default 50ms */
    uint64_t replica_max_staleness_ms; /* default 1s */
    uint64_t write_commit_timeout_ms;  /* a primary's stalled commits answered -NOREPLICAS, default 5s, 0 = never */
    uint64_t apply_stall_timeout_ms;   /* a primary whose command thread is stuck this long hands over, default 5s, 0 = never */
    uint64_t shutdown_timeout_ms;      /* a primary's handover at shutdown, default 10s, 0 = none */
    uint64_t snapshot_threshold;       /* Raft entries between snapshots, default 65536 */
    uint64_t snapshot_bytes;           /* Raft log bytes between snapshots, default 0 = entries only */
    uint64_t replicated_write_max_bytes; /* argument bytes one replicated write may log, default 128mb */
    uint64_t big_buffer_keep;          /* freed big buffers kept for the next big value, default 512mb */
    int at_rest_encryption;            /* encrypt Raft log payloads and snapshots, default false */
    char keys_dir[TC_CONFIG_MAX_STR];  /* key files (key-<id>.tckey); "" = none */
    char cluster_secret_file[TC_CONFIG_MAX_STR]; /* Raft peers prove this secret (raft/transport.c); "" = none */
    /* compact encodings (Redis's hash-max-listpack-entries etc.); the node
     * copies them into its keyspace's tc_enc_limits */
    uint64_t hash_max_listpack_entries; /* default 512 */
    uint64_t hash_max_listpack_value;   /* bytes, default 64 */
    uint64_t zset_max_listpack_entries; /* default 128 */
    uint64_t zset_max_listpack_value;   /* bytes, default 64 */
    uint64_t set_max_intset_entries;    /* default 512 */
    uint64_t set_max_listpack_entries;  /* default 128 */
    uint64_t set_max_listpack_value;    /* bytes, default 64 */
    int64_t list_max_listpack_size;     /* default -2 (8 KB nodes) */
    tc_backup_settings backup;         /* the [backup] table */
    /* Keyspace notifications (node/notify.h): Redis's letters, as CONFIG GET
     * answers them ("" = off), and the classes they stand for, which the
     * node reads on every change. Set by cluster.toml and by CONFIG SET
     * notify-keyspace-events (config_redis.c), always together. */
    char notify_keyspace_events[16];
    int notify_classes;
    /* TLS for clients (node/conn_tls.h), used by nodes with a
     * tls_client_addr; CONFIG SET or SIGHUP reloads them without a restart. */
    char tls_cert_file[TC_CONFIG_MAX_STR];     /* PEM certificate chain */
    char tls_key_file[TC_CONFIG_MAX_STR];      /* PEM private key, not encrypted */
    char tls_ca_cert_file[TC_CONFIG_MAX_STR];  /* CA that client certificates must chain to */
    char tls_ca_cert_dir[TC_CONFIG_MAX_STR];   /* the same as a hashed directory (c_rehash) */
    int tls_auth_clients;                      /* enum tc_tls_auth, default yes */
    char tls_protocols[64];                    /* "" = "TLSv1.2 TLSv1.3" */
    char tls_ciphers[TC_CONFIG_MAX_STR];       /* TLS 1.2 and below, OpenSSL's syntax; "" = OpenSSL's */
    char tls_ciphersuites[TC_CONFIG_MAX_STR];  /* TLS 1.3; "" = OpenSSL's */
    int tls_session_caching;                   /* session cache and tickets for resumption, default yes */
    /* TLS between nodes (raft/transport_tls.h): mutual TLS on raft_addr
     * with certificates of the tls_ca_cert_* CA naming node-<id>. */
    int tls_replication;                       /* default false */
    char tls_raft_cert_file[TC_CONFIG_MAX_STR];/* "{id}" = this node's id; "" = tls_cert_file */
    char tls_raft_key_file[TC_CONFIG_MAX_STR]; /* "{id}" = this node's id; "" = tls_key_file */
    /* "" (each port as its settings say), "preferred" (plain and TLS on
     * both kinds of port: a rolling change) or "required" (TLS only) */
    char transit_encryption_mode[16];
    int transit_mode;                          /* enum tc_transit_mode, derived from the string at load */
    int enable_debug_command;                  /* enum tc_debug_cmd, default local */
    char acl_file[TC_CONFIG_MAX_STR];          /* users loaded at a cluster's first start; "" = none */
    tc_node_conf nodes[TC_CONFIG_MAX_NODES];
    size_t nnodes;                     /* >= 1 */
} tc_config;

/* Fills every setting with its default and no nodes. */
void tc_config_defaults(tc_config *c);

/* Parses TOML text; `name` is used in messages ("name:line: message\n  hint: ...").
 * On error returns -1 and writes the message to err; *c is then unspecified. */
int tc_config_parse(tc_config *c, const char *name, const char *text, size_t len,
                    char *err, size_t errlen);

/* Reads and parses a file. A missing/unreadable file is an error with a hint. */
int tc_config_load(tc_config *c, const char *path, char *err, size_t errlen);

/* The node with this id, or NULL. */
const tc_node_conf *tc_config_node(const tc_config *c, int id);
/* The directory node n keeps its data in: its own data_dir, or
 * <data_dir>/node-<id>. */
void tc_config_node_dir(const tc_config *c, const tc_node_conf *n, char *out, size_t len);
/* A node that refuses to start writes why into this file of its data
 * directory (and removes it once it starts), so tricachectl status can say
 * why a node is down when it can read the directory. */
#define TC_STARTUP_ERROR_FILE "startup-error"

/* CONFIG GET: calls emit(name, value) for every setting whose dashed name
 * matches the glob pattern (case-insensitive, Redis glob syntax). Values are
 * rendered as Redis does: sizes and durations as plain integers (bytes;
 * timeout in seconds), booleans as yes/no. Returns the number emitted. */
typedef void (*tc_config_emit_fn)(void *ud, const char *name, const char *value);
int tc_config_get(const tc_config *c, const char *pattern, tc_config_emit_fn emit, void *ud);

/* CONFIG SET name value (dashed or underscored name). Returns 0 on success,
 * -1 unknown name, -2 immutable, -3 bad value; err gets a Redis-style text
 * such as "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 1 and 500 inclusive".
 * On failure *c is unchanged. */
int tc_config_set(tc_config *c, const char *name, const char *value, char *err, size_t errlen);

/* CONFIG SET's first pass, before any value is looked at: 0 if name is a
 * setting CONFIG SET may change, -1 if there is no such setting, -2 if it
 * is immutable. *id (if not NULL) tells settings apart, whatever spelling
 * named them (dashes or underscores, any case). */
int tc_config_settable(const char *name, int *id);

/* Helpers shared with other modules. Both return 0 or -1.
 * Sizes: "512mb", "4gb", "1024", "64kb" (k/kb/m/mb/g/gb, case-insensitive, 1k=1024).
 * Durations: "300ms", "1s", "2m", "1h", "0" (result in milliseconds). */
int tc_parse_size(const char *s, uint64_t *out);
int tc_parse_duration_ms(const char *s, uint64_t *out);

#endif
