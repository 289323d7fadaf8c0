/* CONFIG GET / CONFIG SET over tricache's settings and Redis 7.0's
 * parameters (see config_redis.h for what each status means).
 *
 * PARAMS below is the table of Redis 7.0's parameters, one row each, as
 * redis-server 7.0 lists them in CONFIG GET * (aliases, the pre-7.0 names,
 * share the row of the name they stand for). Defaults, ranges and enum
 * values are Redis's; where tricache answers something else the row says
 * why. Rows marked LATER are "stored, not yet in effect": the issues that
 * make eviction, keyspace notifications and databases real read them with
 * tc_rconf_value(). The small-encoding thresholds are honoured (ENC_PARAM
 * below). */
#include "config_redis.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "glob.h"
#include "log.h"
#include "notify.h"
#include "server.h"

/* ---------- the table ---------- */

enum kind {
    K_BOOL,     /* yes | no */
    K_INT,      /* an integer (Redis's string2ll) between min and max */
    K_MEM,      /* a memory size between min and max: 1k = 1000, 1kb = 1024, m/mb, g/gb, b */
    K_MEMPCT,   /* a memory size, or a percentage "N%" (N <= 100) */
    K_ENUM,     /* one of words, any case; answered in lower case */
    K_STRING,   /* any text */
    K_SPECIAL,  /* its own syntax: sp parses and renders it */
    K_TRICACHE, /* one of node/config.c's settings, of the same name */
};

enum status {
    HONOURED,  /* the node answers and applies it */
    LATER,     /* stored, not yet in effect: a later issue makes it real */
    NO_EFFECT, /* accepted and stored; nothing in tricache reads it */
};

enum {
    IMMUTABLE = 1,  /* CONFIG SET refuses it, as Redis does by default */
    PROTECTED = 2,  /* the same */
    /* Cluster-wide: every node must run with the same value (maxmemory...).
     * CONFIG SET of such a row goes through the log as TCCONFIG SET and is
     * applied on every node (replication/router.c); its value is read from
     * the node's settings (.setting, node/config.c: cluster.toml's value
     * until set), and a value set travels in keyspace images. */
    REPLICATED = 4,
};

typedef struct special {
    /* Checks value (stored: the value now). On success writes what CONFIG
     * GET will answer to out (stored for the row) and may change *next, the
     * node's settings being built; on failure writes Redis's reason. */
    int (*set)(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out, size_t outlen,
               char *why, size_t whylen);
    /* CONFIG GET's answer; cfg: the node's settings; stored as above. */
    void (*get)(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen);
} special;

typedef struct rparam {
    const char *name;
    const char *alias;      /* the other name Redis 7.0 accepts, or NULL */
    enum kind kind;
    long long min;          /* K_INT, K_MEM: Redis's inclusive range */
    unsigned long long max;
    const char *words;      /* K_ENUM: the values, space-separated, in Redis's order */
    const special *sp;      /* K_SPECIAL */
    unsigned long long floor; /* K_MEM: a smaller value is raised to this, as Redis does */
    const char *def;        /* CONFIG GET's answer before any CONFIG SET */
    enum status status;
    int flags;              /* IMMUTABLE, PROTECTED */
    const char *note;       /* honoured and later rows: how (documentation) */
    const char *setting;    /* REPLICATED rows: node/config.c's setting that holds the value */
} rparam;

#define IMAX INT_MAX
#define LMAX LLONG_MAX

/* Row makers: the last arguments are the status, then any of .alias,
 * .flags, .floor, .note. */
#define BOOL(n, d, ...) {.name = n, .kind = K_BOOL, .def = d, .status = __VA_ARGS__}
#define INT(n, lo, hi, d, ...) {.name = n, .kind = K_INT, .min = lo, .max = hi, .def = d, .status = __VA_ARGS__}
#define MEM(n, lo, hi, d, ...) {.name = n, .kind = K_MEM, .min = lo, .max = hi, .def = d, .status = __VA_ARGS__}
#define ENUM(n, w, d, ...) {.name = n, .kind = K_ENUM, .words = w, .def = d, .status = __VA_ARGS__}
#define STR(n, d, ...) {.name = n, .kind = K_STRING, .def = d, .status = __VA_ARGS__}
#define SPEC(n, f, d, ...) {.name = n, .kind = K_SPECIAL, .sp = &f, .def = d, .status = __VA_ARGS__}
#define TC(n, ...) {.name = n, .kind = K_TRICACHE, .def = "", .status = HONOURED, __VA_ARGS__}

static const special SP_BIND, SP_CLUSTER_ENABLED, SP_COBL, SP_DIR, SP_HOSTNAME, SP_LATENCY_PCT, SP_LOGLEVEL,
    SP_NOTIFY, SP_OOM_VALUES, SP_PORT, SP_TLS_PORT, SP_TLS_REPLICATION, SP_PROC_TITLE, SP_REQUIREPASS, SP_SAVE, SP_SHUTDOWN,
    SP_DEBUG_COMMAND;
static const special SP_HASH_ENTRIES, SP_HASH_VALUE, SP_ZSET_ENTRIES, SP_ZSET_VALUE, SP_SET_INTSET, SP_LIST_SIZE;

static const char COBL_DEFAULT[] = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/* Sorted by name. */
static const rparam PARAMS[] = {
    ENUM("acl-pubsub-default", "allchannels resetchannels", "resetchannels", NO_EFFECT),
    STR("aclfile", "", NO_EFFECT, .flags = IMMUTABLE),
    INT("acllog-max-len", 0, LMAX, "128", NO_EFFECT),
    INT("active-defrag-cycle-max", 1, 99, "25", NO_EFFECT),
    INT("active-defrag-cycle-min", 1, 99, "1", NO_EFFECT),
    MEM("active-defrag-ignore-bytes", 1, LMAX, "104857600", NO_EFFECT),
    INT("active-defrag-max-scan-fields", 1, LMAX, "1000", NO_EFFECT),
    INT("active-defrag-threshold-lower", 0, 1000, "10", NO_EFFECT),
    INT("active-defrag-threshold-upper", 0, 1000, "100", NO_EFFECT),
    TC("active-expire-effort", .note = "active_expire_effort (node/expire.c)"),
    BOOL("activedefrag", "no", NO_EFFECT),
    BOOL("activerehashing", "yes", NO_EFFECT),
    BOOL("always-show-logo", "no", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("aof-disable-auto-gc", "no", NO_EFFECT),
    BOOL("aof-load-truncated", "yes", NO_EFFECT),
    BOOL("aof-rewrite-incremental-fsync", "yes", NO_EFFECT),
    BOOL("aof-timestamp-enabled", "no", NO_EFFECT),
    BOOL("aof-use-rdb-preamble", "yes", NO_EFFECT),
    STR("aof_rewrite_cpulist", "", NO_EFFECT, .flags = IMMUTABLE),
    STR("appenddirname", "appendonlydir", NO_EFFECT, .flags = IMMUTABLE),
    STR("appendfilename", "appendonly.aof", NO_EFFECT, .flags = IMMUTABLE),
    ENUM("appendfsync", "everysec always no", "everysec", NO_EFFECT),
    BOOL("appendonly", "no", NO_EFFECT, .note = "no append-only file: writes are durable in the replicated Raft log"),
    MEM("auto-aof-rewrite-min-size", 0, LMAX, "67108864", NO_EFFECT),
    INT("auto-aof-rewrite-percentage", 0, IMAX, "100", NO_EFFECT),
    STR("bgsave_cpulist", "", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("bind", SP_BIND, "", HONOURED,
         .note = "the host of the node's client_addr; CONFIG SET accepts only that host"),
    STR("bind-source-addr", "", NO_EFFECT),
    STR("bio_cpulist", "", NO_EFFECT, .flags = IMMUTABLE),
    INT("busy-reply-threshold", 0, LMAX, "5000", HONOURED, .alias = "lua-time-limit",
        .setting = "busy-reply-threshold", .note = "milliseconds a script runs before other clients get -BUSY"),
    SPEC("client-output-buffer-limit", SP_COBL, COBL_DEFAULT, HONOURED,
         .note = "the normal class's hard limit is client_output_buffer_limit, for every connection; soft limits "
                 "and the slave and pubsub classes are stored only. A plain size (\"1gb\") sets the hard limit"),
    TC("client-query-buffer-limit", .note = "client_query_buffer_limit"),
    BOOL("cluster-allow-pubsubshard-when-down", "yes", NO_EFFECT),
    BOOL("cluster-allow-reads-when-down", "no", NO_EFFECT),
    BOOL("cluster-allow-replica-migration", "yes", NO_EFFECT),
    INT("cluster-announce-bus-port", 0, 65535, "0", NO_EFFECT),
    SPEC("cluster-announce-hostname", SP_HOSTNAME, "", NO_EFFECT),
    STR("cluster-announce-ip", "", NO_EFFECT),
    INT("cluster-announce-port", 0, 65535, "0", NO_EFFECT),
    INT("cluster-announce-tls-port", 0, 65535, "0", NO_EFFECT),
    STR("cluster-config-file", "nodes.conf", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("cluster-enabled", SP_CLUSTER_ENABLED, "no", HONOURED, .flags = IMMUTABLE, .note = "cluster_mode"),
    MEM("cluster-link-sendbuf-limit", 0, ULLONG_MAX, "0", NO_EFFECT),
    INT("cluster-migration-barrier", 0, IMAX, "1", NO_EFFECT),
    INT("cluster-node-timeout", 0, LMAX, "15000", NO_EFFECT),
    INT("cluster-port", 0, 65535, "0", NO_EFFECT, .flags = IMMUTABLE),
    ENUM("cluster-preferred-endpoint-type", "ip hostname unknown-endpoint", "ip", NO_EFFECT),
    BOOL("cluster-replica-no-failover", "no", NO_EFFECT, .alias = "cluster-slave-no-failover"),
    INT("cluster-replica-validity-factor", 0, IMAX, "10", NO_EFFECT, .alias = "cluster-slave-validity-factor"),
    BOOL("cluster-require-full-coverage", "yes", NO_EFFECT),
    BOOL("crash-log-enabled", "yes", NO_EFFECT),
    BOOL("crash-memcheck-enabled", "yes", NO_EFFECT),
    BOOL("daemonize", "no", NO_EFFECT, .flags = IMMUTABLE, .note = "tricache runs in the foreground"),
    TC("databases", .flags = IMMUTABLE, .note = "databases (1..1024; cluster_mode answers SELECT n>0 with an error)"),
    STR("dbfilename", "dump.rdb", NO_EFFECT, .flags = PROTECTED),
    SPEC("dir", SP_DIR, "", HONOURED, .flags = PROTECTED, .note = "the node's data directory"),
    BOOL("disable-thp", "yes", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("dynamic-hz", "yes", NO_EFFECT),
    SPEC("enable-debug-command", SP_DEBUG_COMMAND, "local", HONOURED, .flags = IMMUTABLE, .note = "enable_debug_command"),
    ENUM("enable-module-command", "no yes local", "no", NO_EFFECT, .flags = IMMUTABLE),
    ENUM("enable-protected-configs", "no yes local", "no", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("hash-max-listpack-entries", SP_HASH_ENTRIES, "512", HONOURED, .alias = "hash-max-ziplist-entries",
         .note = "hash_max_listpack_entries"),
    SPEC("hash-max-listpack-value", SP_HASH_VALUE, "64", HONOURED, .alias = "hash-max-ziplist-value",
         .note = "hash_max_listpack_value"),
    MEM("hll-sparse-max-bytes", 0, LMAX, "3000", NO_EFFECT),
    TC("hz", .note = "hz (Redis takes 0 and clamps to 1..500; tricache refuses values outside 1..500)"),
    STR("ignore-warnings", "", NO_EFFECT),
    INT("io-threads", 1, 128, "1", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("io-threads-do-reads", "no", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("jemalloc-bg-thread", "yes", NO_EFFECT),
    TC("latency-monitor-threshold", .note = "latency_monitor_threshold (LATENCY, node/latency.c)"),
    BOOL("latency-tracking", "yes", NO_EFFECT),
    SPEC("latency-tracking-info-percentiles", SP_LATENCY_PCT, "50 99 99.9", NO_EFFECT),
    BOOL("lazyfree-lazy-eviction", "no", NO_EFFECT),
    BOOL("lazyfree-lazy-expire", "no", NO_EFFECT),
    BOOL("lazyfree-lazy-server-del", "no", NO_EFFECT),
    BOOL("lazyfree-lazy-user-del", "no", NO_EFFECT),
    BOOL("lazyfree-lazy-user-flush", "no", NO_EFFECT),
    INT("lfu-decay-time", 0, IMAX, "1", HONOURED, .flags = REPLICATED, .setting = "lfu-decay-time",
        .note = "eviction (node/evict.h)"),
    INT("lfu-log-factor", 0, IMAX, "10", HONOURED, .flags = REPLICATED, .setting = "lfu-log-factor",
        .note = "eviction (node/evict.h)"),
    INT("list-compress-depth", 0, IMAX, "0", NO_EFFECT),
    SPEC("list-max-listpack-size", SP_LIST_SIZE, "-2", HONOURED, .alias = "list-max-ziplist-size",
         .note = "list_max_listpack_size (a list takes it when created, as in Redis)"),
    STR("logfile", "", NO_EFFECT, .flags = IMMUTABLE, .note = "tricache logs to stderr"),
    SPEC("loglevel", SP_LOGLEVEL, "notice", HONOURED, .note = "log_level (Redis's verbose is tricache's info)"),
    STR("masterauth", "", NO_EFFECT),
    STR("masteruser", "", NO_EFFECT),
    TC("maxclients", .note = "maxclients (tricache: 1..1000000)"),
    MEM("maxmemory", 0, ULLONG_MAX, "0", HONOURED, .flags = REPLICATED, .setting = "maxmemory",
        .note = "eviction (node/evict.h)"),
    {.name = "maxmemory-clients", .kind = K_MEMPCT, .min = -100, .max = LMAX, .def = "0", .status = NO_EFFECT},
    INT("maxmemory-eviction-tenacity", 0, 100, "10", NO_EFFECT),
    ENUM("maxmemory-policy",
         "volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru allkeys-lfu allkeys-random noeviction",
         "noeviction", HONOURED, .flags = REPLICATED, .setting = "maxmemory-policy", .note = "eviction (node/evict.h)"),
    INT("maxmemory-samples", 1, IMAX, "5", HONOURED, .flags = REPLICATED, .setting = "maxmemory-samples",
        .note = "eviction (node/evict.h)"),
    INT("min-replicas-max-lag", 0, IMAX, "10", NO_EFFECT, .alias = "min-slaves-max-lag"),
    INT("min-replicas-to-write", 0, IMAX, "0", NO_EFFECT, .alias = "min-slaves-to-write",
        .note = "a write is acknowledged once a majority of the Raft group has it"),
    BOOL("no-appendfsync-on-rewrite", "no", NO_EFFECT),
    SPEC("notify-keyspace-events", SP_NOTIFY, "", HONOURED, .note = "keyspace notifications (notify.h); cluster.toml's notify_keyspace_events sets it at start"),
    ENUM("oom-score-adj", "no yes relative:yes absolute", "no", NO_EFFECT),
    SPEC("oom-score-adj-values", SP_OOM_VALUES, "0 200 800", NO_EFFECT),
    STR("pidfile", "", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("port", SP_PORT, "", HONOURED,
         .note = "the port of the node's client_addr; CONFIG SET accepts only that port"),
    SPEC("proc-title-template", SP_PROC_TITLE, "{title} {listen-addr} {server-mode}", NO_EFFECT),
    ENUM("propagation-error-behavior", "ignore panic panic-on-replicas", "ignore", NO_EFFECT),
    BOOL("protected-mode", "yes", NO_EFFECT),
    TC("proto-max-bulk-len", .note = "proto_max_bulk_len (tricache: 1kb..4gb)"),
    BOOL("rdb-del-sync-files", "no", NO_EFFECT),
    BOOL("rdb-save-incremental-fsync", "yes", NO_EFFECT),
    BOOL("rdbchecksum", "yes", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("rdbcompression", "yes", NO_EFFECT),
    MEM("repl-backlog-size", 1, LMAX, "1048576", NO_EFFECT, .floor = 16384),
    INT("repl-backlog-ttl", 0, LMAX, "3600", NO_EFFECT),
    BOOL("repl-disable-tcp-nodelay", "no", NO_EFFECT),
    ENUM("repl-diskless-load", "disabled on-empty-db swapdb", "disabled", NO_EFFECT),
    BOOL("repl-diskless-sync", "yes", NO_EFFECT),
    INT("repl-diskless-sync-delay", 0, IMAX, "5", NO_EFFECT),
    INT("repl-diskless-sync-max-replicas", 0, IMAX, "0", NO_EFFECT),
    INT("repl-ping-replica-period", 1, IMAX, "10", NO_EFFECT, .alias = "repl-ping-slave-period"),
    INT("repl-timeout", 1, IMAX, "60", NO_EFFECT),
    STR("replica-announce-ip", "", NO_EFFECT, .alias = "slave-announce-ip"),
    INT("replica-announce-port", 0, 65535, "0", NO_EFFECT, .alias = "slave-announce-port"),
    BOOL("replica-announced", "yes", NO_EFFECT),
    BOOL("replica-ignore-disk-write-errors", "no", NO_EFFECT),
    BOOL("replica-ignore-maxmemory", "yes", NO_EFFECT, .alias = "slave-ignore-maxmemory"),
    BOOL("replica-lazy-flush", "no", NO_EFFECT, .alias = "slave-lazy-flush"),
    INT("replica-priority", 0, IMAX, "100", NO_EFFECT, .alias = "slave-priority"),
    BOOL("replica-read-only", "yes", NO_EFFECT, .alias = "slave-read-only",
         .note = "tricache's replicas never take writes"),
    BOOL("replica-serve-stale-data", "yes", NO_EFFECT, .alias = "slave-serve-stale-data"),
    STR("replicaof", "", NO_EFFECT, .alias = "slaveof", .flags = IMMUTABLE,
        .note = "replication is the Raft group of cluster.toml"),
    SPEC("requirepass", SP_REQUIREPASS, "", HONOURED, .note = "auth_token"),
    ENUM("sanitize-dump-payload", "no yes clients", "no", NO_EFFECT),
    SPEC("save", SP_SAVE, "", NO_EFFECT,
         .note = "no RDB schedule (hence \"\", not Redis's default): snapshots follow snapshot_threshold, "
                 "backups backup.interval"),
    STR("server_cpulist", "", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("set-max-intset-entries", SP_SET_INTSET, "512", HONOURED, .note = "set_max_intset_entries"),
    BOOL("set-proc-title", "yes", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("shutdown-on-sigint", SP_SHUTDOWN, "default", NO_EFFECT),
    SPEC("shutdown-on-sigterm", SP_SHUTDOWN, "default", NO_EFFECT),
    INT("shutdown-timeout", 0, IMAX, "10", NO_EFFECT),
    INT("slowlog-log-slower-than", -1, LMAX, "10000", NO_EFFECT),
    INT("slowlog-max-len", 0, LMAX, "128", NO_EFFECT),
    INT("socket-mark-id", 0, UINT_MAX, "0", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("stop-writes-on-bgsave-error", "yes", NO_EFFECT),
    MEM("stream-node-max-bytes", 0, LMAX, "4096", NO_EFFECT),
    INT("stream-node-max-entries", 0, LMAX, "100", NO_EFFECT),
    ENUM("supervised", "upstart systemd auto no", "no", NO_EFFECT, .flags = IMMUTABLE),
    BOOL("syslog-enabled", "no", NO_EFFECT, .flags = IMMUTABLE),
    ENUM("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7", "local0", NO_EFFECT,
         .flags = IMMUTABLE),
    STR("syslog-ident", "redis", NO_EFFECT, .flags = IMMUTABLE),
    TC("tcp-backlog", .flags = IMMUTABLE, .note = "tcp_backlog"),
    INT("tcp-keepalive", 0, IMAX, "300", NO_EFFECT),
    TC("timeout", .note = "timeout (tricache also takes \"300ms\", \"5m\"...)"),
    TC("tls-auth-clients", .note = "tls_auth_clients (node/conn_tls.c)"),
    TC("tls-ca-cert-dir", .note = "tls_ca_cert_dir (node/conn_tls.c)"),
    TC("tls-ca-cert-file", .note = "tls_ca_cert_file (node/conn_tls.c)"),
    TC("tls-cert-file", .note = "tls_cert_file (node/conn_tls.c)"),
    TC("tls-ciphers", .note = "tls_ciphers (node/conn_tls.c)"),
    TC("tls-ciphersuites", .note = "tls_ciphersuites (node/conn_tls.c)"),
    STR("tls-client-cert-file", "", NO_EFFECT),
    STR("tls-client-key-file", "", NO_EFFECT),
    STR("tls-client-key-file-pass", "", NO_EFFECT),
    BOOL("tls-cluster", "no", NO_EFFECT),
    STR("tls-dh-params-file", "", NO_EFFECT),
    TC("tls-key-file", .note = "tls_key_file (node/conn_tls.c)"),
    STR("tls-key-file-pass", "", NO_EFFECT),
    SPEC("tls-port", SP_TLS_PORT, "", HONOURED,
         .note = "the port of the node's tls_client_addr (0: none); CONFIG SET accepts only that port"),
    BOOL("tls-prefer-server-ciphers", "no", NO_EFFECT),
    TC("tls-protocols", .note = "tls_protocols (node/conn_tls.c)"),
    SPEC("tls-replication", SP_TLS_REPLICATION, "no", HONOURED,
         .note = "tls_replication of cluster.toml (mutual TLS between nodes, raft/transport_tls.c); CONFIG SET "
                 "accepts only its value"),
    INT("tls-session-cache-size", 0, IMAX, "20480", NO_EFFECT),
    INT("tls-session-cache-timeout", 0, IMAX, "300", NO_EFFECT),
    TC("tls-session-caching", .note = "tls_session_caching (node/conn_tls.c)"),
    INT("tracking-table-max-keys", 0, LMAX, "1000000", NO_EFFECT),
    STR("unixsocket", "", NO_EFFECT, .flags = IMMUTABLE),
    INT("unixsocketperm", 0, 0777, "0", NO_EFFECT, .flags = IMMUTABLE),
    SPEC("zset-max-listpack-entries", SP_ZSET_ENTRIES, "128", HONOURED, .alias = "zset-max-ziplist-entries",
         .note = "zset_max_listpack_entries"),
    SPEC("zset-max-listpack-value", SP_ZSET_VALUE, "64", HONOURED, .alias = "zset-max-ziplist-value",
         .note = "zset_max_listpack_value"),
};

#define NPARAMS (sizeof PARAMS / sizeof PARAMS[0])

struct tc_rconf {
    char *val[NPARAMS]; /* by row; NULL: the default */
};

void tc_rconf_free(tc_rconf *rc)
{
    if (!rc) return;
    for (size_t i = 0; i < NPARAMS; i++) free(rc->val[i]);
    free(rc);
}

/* The row named name (or its alias), any case; *alias tells which name. */
static const rparam *find_param(const char *name, size_t len, int *alias)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        const rparam *p = &PARAMS[i];
        if (strlen(p->name) == len && strncasecmp(p->name, name, len) == 0) {
            if (alias) *alias = 0;
            return p;
        }
        if (p->alias && strlen(p->alias) == len && strncasecmp(p->alias, name, len) == 0) {
            if (alias) *alias = 1;
            return p;
        }
    }
    return NULL;
}

static const char *stored_value(const tc_server *s, const rparam *p)
{
    const char *v = s->rconf ? s->rconf->val[p - PARAMS] : NULL;
    return v ? v : p->def;
}

/* ---------- Redis's number syntaxes ---------- */

/* Redis's memtoull: digits then a unit ("", b, k, kb, m, mb, g, gb; any
 * case). No sign, no space. As in Redis 7.0, digits beyond 2^64-1 read as
 * 2^64-1, the multiplication wraps, and "" or "kb" alone is 0. */
static int redis_memtoull(const char *p, unsigned long long *out)
{
    static const struct {
        const char *unit;
        unsigned long long mul;
    } units[] = {{"", 1},       {"b", 1},          {"k", 1000},       {"kb", 1024},
                 {"m", 1000000}, {"mb", 1024 * 1024}, {"g", 1000000000}, {"gb", 1024 * 1024 * 1024}};
    const char *u = p;
    unsigned long long v = 0;
    for (; *u >= '0' && *u <= '9'; u++) {
        unsigned d = (unsigned)(*u - '0');
        v = v > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : v * 10 + d;
    }
    if (u - p >= 128) return -1; /* Redis copies the digits into a 128-byte buffer */
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].unit) == 0) {
            *out = v * units[i].mul;
            return 0;
        }
    }
    return -1;
}

/* Redis's strtoll checks (save, client-output-buffer-limit): base 10,
 * leading white space and a sign allowed, the rest must be digits. */
static int c_strtoll(const char *p, long long *out)
{
    char *end;
    *out = strtoll(p, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* Splits value at every single space, as Redis splits the arguments of
 * its multi-argument parameters ("a  b" has an empty word; "" has none).
 * The words point into buf. Returns how many, or -1 if too many. */
static int split_words(const char *value, char *buf, size_t buflen, char **w, int maxw)
{
    snprintf(buf, buflen, "%s", value);
    if (!*buf) return 0;
    int n = 0;
    for (char *p = buf;;) {
        if (n == maxw) return -1;
        w[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

/* ---------- values of the plain kinds ---------- */

/* Enum words are space-separated; "relative:yes" is a word Redis accepts
 * but answers as another one of the same value. */
static int word_of(const char *words, const char *w, char *out, size_t outlen)
{
    size_t n = strlen(w);
    for (const char *p = words; *p;) {
        size_t len = strcspn(p, " "), name = strcspn(p, ": ");
        if (name == n && strncasecmp(p, w, n) == 0) {
            if (name < len) snprintf(out, outlen, "%.*s", (int)(len - name - 1), p + name + 1);
            else snprintf(out, outlen, "%.*s", (int)len, p);
            return 0;
        }
        p += len + (p[len] == ' ');
    }
    return -1;
}

static void enum_problem(const char *words, char *why, size_t whylen)
{
    size_t o = (size_t)snprintf(why, whylen, "argument(s) must be one of the following: ");
    for (const char *p = words; *p && o < whylen;) {
        size_t len = strcspn(p, " "), name = strcspn(p, ": ");
        o += (size_t)snprintf(why + o, whylen - o, "%s%.*s", p == words ? "" : ", ", (int)name, p);
        p += len + (p[len] == ' ');
    }
}

static int range_problem(const rparam *p, char *why, size_t whylen)
{
    snprintf(why, whylen, "argument must be between %lld and %llu inclusive", p->min, p->max);
    return -1;
}

/* Checks value for a row of a plain kind; the normalised value goes to out. */
static int plain_value(const rparam *p, const char *value, char *out, size_t outlen, char *why, size_t whylen)
{
    long long ll;
    unsigned long long ull;
    switch (p->kind) {
    case K_BOOL:
        if (strcasecmp(value, "yes") != 0 && strcasecmp(value, "no") != 0) {
            snprintf(why, whylen, "argument must be 'yes' or 'no'");
            return -1;
        }
        snprintf(out, outlen, "%s", strcasecmp(value, "yes") == 0 ? "yes" : "no");
        return 0;
    case K_INT:
        if (tc_parse_ll(value, strlen(value), &ll) != 0) {
            snprintf(why, whylen, "argument couldn't be parsed into an integer");
            return -1;
        }
        if (ll < p->min || (ll > 0 && (unsigned long long)ll > p->max)) return range_problem(p, why, whylen);
        snprintf(out, outlen, "%lld", ll);
        return 0;
    case K_MEM:
        if (redis_memtoull(value, &ull) != 0) {
            snprintf(why, whylen, "argument must be a memory value");
            return -1;
        }
        if (ull > p->max || (p->min > 0 && ull < (unsigned long long)p->min)) return range_problem(p, why, whylen);
        snprintf(out, outlen, "%llu", ull < p->floor ? p->floor : ull);
        return 0;
    case K_MEMPCT: {
        /* a memory size, else "N%"; as in Redis the size is then read as
         * signed and a negative one is a percentage (stored as -N) */
        size_t len = strlen(value);
        if (redis_memtoull(value, &ull) == 0) {
            ll = (long long)ull;
        } else if (len > 1 && value[len - 1] == '%' && tc_parse_ll(value, len - 1, &ll) == 0 && ll >= 0) {
            ll = -ll;
        } else {
            snprintf(why, whylen, "argument must be a memory or percent value");
            return -1;
        }
        if (ll < 0 && ll < p->min) {
            snprintf(why, whylen, "percentage argument must be less or equal to %lld", -p->min);
            return -1;
        }
        if (ll < 0) snprintf(out, outlen, "%lld%%", -ll);
        else snprintf(out, outlen, "%lld", ll);
        return 0;
    }
    case K_ENUM:
        if (word_of(p->words, value, out, outlen) != 0) {
            enum_problem(p->words, why, whylen);
            return -1;
        }
        return 0;
    case K_STRING:
        snprintf(out, outlen, "%s", value);
        return 0;
    case K_SPECIAL:
    case K_TRICACHE:
        break;
    }
    return -1;
}

/* ---------- the parameters with their own syntax ---------- */

static void get_stored(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s, (void)cfg;
    snprintf(out, outlen, "%s", stored);
}

/* Calls node/config.c's setting on next and turns its error (whose text
 * names that setting) into the reason alone. */
static int set_setting(tc_config *next, const char *setting, const char *value, char *why, size_t whylen)
{
    char err[512];
    if (tc_config_set(next, setting, value, err, sizeof err) == 0) return 0;
    const char *r = strstr(err, ") - ");
    snprintf(why, whylen, "%s", r ? r + 4 : err);
    return -1;
}

/* save: "" or pairs "seconds changes" (seconds >= 1, changes >= 0). */
static int save_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                    size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    char buf[4096], *w[512];
    int n = split_words(value, buf, sizeof buf, w, 512);
    size_t o = 0;
    out[0] = '\0';
    if (n < 0 || n % 2) goto bad;
    for (int i = 0; i < n; i += 2) {
        long long secs, changes;
        if (c_strtoll(w[i], &secs) != 0 || secs < 1 || c_strtoll(w[i + 1], &changes) != 0 || changes < 0) goto bad;
        /* seconds are a time_t, changes an int (so 4294967297 reads as 1) */
        o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s%lld %d", i ? " " : "", secs, (int)changes);
    }
    return 0;
bad:
    snprintf(why, whylen, "Invalid save parameters");
    return -1;
}

static const special SP_SAVE = {save_set, get_stored};

/* client-output-buffer-limit: "<class> <hard> <soft> <soft seconds>"...
 * Stored as all three classes; the normal class's hard limit is the
 * node's client_output_buffer_limit, which CONFIG GET shows in its place. */
enum { COBL_NORMAL, COBL_SLAVE, COBL_PUBSUB };

static void cobl_parse_stored(const char *stored, unsigned long long lim[3][3])
{
    char buf[512], *w[12];
    int n = split_words(stored, buf, sizeof buf, w, 12);
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3 && 4 * c + k + 1 < n; k++) lim[c][k] = strtoull(w[4 * c + k + 1], NULL, 10);
}

static void cobl_render(unsigned long long lim[3][3], char *out, size_t outlen)
{
    snprintf(out, outlen, "normal %llu %llu %llu slave %llu %llu %llu pubsub %llu %llu %llu", lim[0][0], lim[0][1],
             lim[0][2], lim[1][0], lim[1][1], lim[1][2], lim[2][0], lim[2][1], lim[2][2]);
}

static int cobl_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                    size_t outlen, char *why, size_t whylen)
{
    (void)s;
    unsigned long long lim[3][3] = {{0}};
    uint64_t plain;
    cobl_parse_stored(stored, lim);
    lim[COBL_NORMAL][0] = next->client_output_buffer_limit;
    if (tc_parse_size(value, &plain) == 0) { /* tricache's own form: the hard limit */
        if (set_setting(next, "client-output-buffer-limit", value, why, whylen) != 0) return -1;
        cobl_render(lim, out, outlen);
        return 0;
    }
    char buf[4096], *w[512];
    int n = split_words(value, buf, sizeof buf, w, 512);
    if (n < 0 || n % 4) {
        snprintf(why, whylen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        int cls = strcasecmp(w[i], "normal") == 0                                         ? COBL_NORMAL
                  : strcasecmp(w[i], "slave") == 0 || strcasecmp(w[i], "replica") == 0 ? COBL_SLAVE
                  : strcasecmp(w[i], "pubsub") == 0                                       ? COBL_PUBSUB
                                                                                          : -1;
        if (cls < 0) {
            snprintf(why, whylen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        unsigned long long hard, soft;
        long long secs;
        /* soft seconds are an int in Redis: 4294967297 reads as 1, 2^31 as negative */
        if (redis_memtoull(w[i + 1], &hard) != 0 || redis_memtoull(w[i + 2], &soft) != 0 ||
            c_strtoll(w[i + 3], &secs) != 0 || (int)secs < 0) {
            snprintf(why, whylen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return -1;
        }
        lim[cls][0] = hard, lim[cls][1] = soft, lim[cls][2] = (unsigned long long)(int)secs;
    }
    if (lim[COBL_NORMAL][0] != next->client_output_buffer_limit) {
        char hard[24];
        snprintf(hard, sizeof hard, "%llu", lim[COBL_NORMAL][0]);
        if (set_setting(next, "client-output-buffer-limit", hard, why, whylen) != 0) return -1;
    }
    cobl_render(lim, out, outlen);
    return 0;
}

static void cobl_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s;
    unsigned long long lim[3][3] = {{0}};
    cobl_parse_stored(stored, lim);
    lim[COBL_NORMAL][0] = cfg->client_output_buffer_limit;
    cobl_render(lim, out, outlen);
}

static const special SP_COBL = {cobl_set, cobl_get};

/* oom-score-adj-values: three integers between -2000 and 2000. */
static int oom_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                   size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    char buf[4096], *w[4];
    long long v[3];
    if (split_words(value, buf, sizeof buf, w, 4) != 3) {
        snprintf(why, whylen, "wrong number of arguments");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (c_strtoll(w[i], &v[i]) != 0 || v[i] < -2000 || v[i] > 2000) {
            snprintf(why, whylen, "Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
            return -1;
        }
    }
    snprintf(out, outlen, "%lld %lld %lld", v[0], v[1], v[2]);
    return 0;
}

static const special SP_OOM_VALUES = {oom_set, get_stored};

/* latency-tracking-info-percentiles: numbers between 0 and 100 (Redis's
 * string2ld), answered with printf's %f less its trailing zeros. */
static int latency_pct_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                           size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    char buf[4096], *w[512];
    int n = split_words(value, buf, sizeof buf, w, 512);
    size_t o = 0;
    out[0] = '\0';
    if (n < 0) {
        snprintf(why, whylen, "Invalid latency-tracking-info-percentiles parameters");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        long double pct;
        if (tc_parse_ld(w[i], strlen(w[i]), &pct) != 0) {
            snprintf(why, whylen, "Invalid latency-tracking-info-percentiles parameters");
            return -1;
        }
        if (pct > 100.0L || pct < 0.0L) {
            snprintf(why, whylen, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
            return -1;
        }
        char f[400];
        int len = snprintf(f, sizeof f, "%f", (double)pct);
        if (strchr(f, '.')) {
            while (len > 0 && f[len - 1] == '0') len--;
            if (len > 0 && f[len - 1] == '.') len--;
        }
        o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s%.*s", i ? " " : "", len, f);
    }
    return 0;
}

static const special SP_LATENCY_PCT = {latency_pct_set, get_stored};

/* notify-keyspace-events: classes of events as letters (notify.c parses
 * and renders them as Redis does). The node's settings hold them, so this
 * is the one place a live change goes through (and cluster.toml's
 * notify_keyspace_events sets the same fields at start). */
static int notify_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                      size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)stored;
    int classes = tc_notify_parse(value);
    if (classes < 0) {
        snprintf(why, whylen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    next->notify_classes = classes;
    tc_notify_render(classes, next->notify_keyspace_events);
    snprintf(out, outlen, "%s", next->notify_keyspace_events);
    return 0;
}

static void notify_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s, (void)stored;
    snprintf(out, outlen, "%s", cfg->notify_keyspace_events);
}

static const special SP_NOTIFY = {notify_set, notify_get};

/* shutdown-on-sigint, shutdown-on-sigterm: default, or flags among save,
 * nosave, now, force. */
static int shutdown_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                        size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    static const char *const names[] = {"save", "nosave", "now", "force"};
    char buf[4096], *w[64];
    int n = split_words(value, buf, sizeof buf, w, 64), flags = 0;
    if (n <= 0) goto bad;
    for (int i = 0; i < n; i++) {
        int f = -1;
        if (strcasecmp(w[i], "default") == 0) f = 0;
        for (int k = 0; k < 4; k++)
            if (strcasecmp(w[i], names[k]) == 0) f = 1 << k;
        if (f < 0) goto bad;
        flags |= f;
    }
    if ((flags & 3) == 3) {
        snprintf(why, whylen, "shutdown options SAVE and NOSAVE can't be used simultaneously");
        return -1;
    }
    size_t o = 0;
    out[0] = '\0';
    if (!flags) snprintf(out, outlen, "default");
    for (int k = 0; k < 4; k++)
        if (flags & (1 << k)) o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? " " : "", names[k]);
    return 0;
bad:
    enum_problem("default save nosave now force", why, whylen);
    return -1;
}

static const special SP_SHUTDOWN = {shutdown_set, get_stored};

/* proc-title-template: text with {variables} ({{ is a '{'); only Redis's
 * variables, and not blank once they are filled in (title, server-mode
 * and unixsocket are empty when Redis checks it). */
static int proc_title_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                          size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    static const struct {
        const char *name;
        int empty;
    } vars[] = {{"title", 1},    {"listen-addr", 0}, {"server-mode", 1}, {"config-file", 0},
                {"port", 0},     {"tls-port", 0},    {"unixsocket", 1}};
    int visible = 0; /* anything but spaces once expanded */
    for (const char *p = value; *p;) {
        if (*p != '{') {
            visible |= *p != ' ';
            p++;
            continue;
        }
        if (p[1] == '\0') goto bad;
        if (p[1] == '{') {
            visible = 1;
            p += 2;
            continue;
        }
        const char *end = strchr(p + 1, '}');
        if (!end) goto bad;
        size_t len = (size_t)(end - p - 1), i;
        for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
            if (strlen(vars[i].name) == len && memcmp(vars[i].name, p + 1, len) == 0) break;
        if (i == sizeof vars / sizeof vars[0]) goto bad;
        visible |= !vars[i].empty;
        p = end + 1;
    }
    if (!visible) goto bad;
    snprintf(out, outlen, "%s", value);
    return 0;
bad:
    snprintf(why, whylen, "template format is invalid or contains unknown variables");
    return -1;
}

static const special SP_PROC_TITLE = {proc_title_set, get_stored};

/* cluster-announce-hostname: empty, or under 256 of A-Z a-z 0-9 - . */
static int hostname_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                        size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)next, (void)stored;
    if (strlen(value) >= 256) {
        snprintf(why, whylen, "Hostnames must be less than 256 characters");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.')) {
            snprintf(why, whylen, "Hostnames may only contain alphanumeric characters, hyphens or dots");
            return -1;
        }
    }
    snprintf(out, outlen, "%s", value);
    return 0;
}

static const special SP_HOSTNAME = {hostname_set, get_stored};

/* loglevel: Redis's words for tricache's log_level. */
static const char *const LOGLEVEL_WORDS[] = {"debug", "verbose", "notice", "warning"}; /* by enum tc_log_level */

static int loglevel_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                        size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)stored;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(value, LOGLEVEL_WORDS[i]) == 0) {
            next->log_level = i;
            snprintf(out, outlen, "%s", LOGLEVEL_WORDS[i]);
            return 0;
        }
    }
    enum_problem("debug verbose notice warning", why, whylen);
    return -1;
}

static void loglevel_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s, (void)stored;
    int l = cfg->log_level;
    snprintf(out, outlen, "%s", l >= 0 && l < 4 ? LOGLEVEL_WORDS[l] : "notice");
}

static const special SP_LOGLEVEL = {loglevel_set, loglevel_get};

/* requirepass: the node's auth_token. */
static int requirepass_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                           size_t outlen, char *why, size_t whylen)
{
    (void)s, (void)stored;
    if (set_setting(next, "auth-token", value, why, whylen) != 0) return -1;
    snprintf(out, outlen, "%s", value);
    return 0;
}

static void requirepass_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s, (void)stored;
    snprintf(out, outlen, "%s", cfg->auth_token);
}

static const special SP_REQUIREPASS = {requirepass_set, requirepass_get};

/* cluster-enabled: the node's cluster_mode (immutable in both). */
static void cluster_enabled_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out,
                                size_t outlen)
{
    (void)s, (void)stored;
    snprintf(out, outlen, "%s", cfg->cluster_mode ? "yes" : "no");
}

static const special SP_CLUSTER_ENABLED = {NULL, cluster_enabled_get};

/* enable-debug-command: the node's enable_debug_command (immutable in both). */
static void debug_command_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out,
                              size_t outlen)
{
    (void)s, (void)stored;
    static const char *const words[] = {"no", "yes", "local"};
    int v = cfg->enable_debug_command;
    snprintf(out, outlen, "%s", v >= 0 && v < 3 ? words[v] : "local");
}

static const special SP_DEBUG_COMMAND = {NULL, debug_command_get};

/* port, bind: where the node serves clients (client_addr of its [[node]]).
 * They can't move at run time: CONFIG SET takes only the present value. */
static int port_of(const tc_server *s) { return s->self ? s->self->client_port : 6379; }
static const char *host_of(const tc_server *s) { return s->self ? s->self->client_host : ""; }

static int port_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                    size_t outlen, char *why, size_t whylen)
{
    (void)next, (void)stored;
    static const rparam range = {.name = "port", .min = 0, .max = 65535};
    long long v;
    if (tc_parse_ll(value, strlen(value), &v) != 0) {
        snprintf(why, whylen, "argument couldn't be parsed into an integer");
        return -1;
    }
    if (v < 0 || v > 65535) return range_problem(&range, why, whylen);
    if (v != port_of(s)) {
        snprintf(why, whylen, "tricache serves clients on the port of client_addr in cluster.toml (%d)", port_of(s));
        return -1;
    }
    snprintf(out, outlen, "%lld", v);
    return 0;
}

static void port_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)cfg, (void)stored;
    snprintf(out, outlen, "%d", port_of(s));
}

static const special SP_PORT = {port_set, port_get};

/* tls-port: the TLS client port (tls_client_addr), as fixed as port. */
static int tls_port_of(const tc_server *s) { return s->self ? s->self->tls_port : 0; }

static int tls_port_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                        size_t outlen, char *why, size_t whylen)
{
    (void)next, (void)stored;
    static const rparam range = {.name = "tls-port", .min = 0, .max = 65535};
    long long v;
    if (tc_parse_ll(value, strlen(value), &v) != 0) {
        snprintf(why, whylen, "argument couldn't be parsed into an integer");
        return -1;
    }
    if (v < 0 || v > 65535) return range_problem(&range, why, whylen);
    if (v != tls_port_of(s)) {
        snprintf(why, whylen, "tricache serves TLS clients on the port of tls_client_addr in cluster.toml (%d)",
                 tls_port_of(s));
        return -1;
    }
    snprintf(out, outlen, "%lld", v);
    return 0;
}

static void tls_port_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)cfg, (void)stored;
    snprintf(out, outlen, "%d", tls_port_of(s));
}

static const special SP_TLS_PORT = {tls_port_set, tls_port_get};

/* tls-replication: TLS between nodes is chosen in cluster.toml and changed
 * by a rolling restart, so CONFIG SET takes only the value in force. */
static int tls_replication_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                               size_t outlen, char *why, size_t whylen)
{
    (void)stored;
    int v;
    if (strcasecmp(value, "yes") == 0) v = 1;
    else if (strcasecmp(value, "no") == 0) v = 0;
    else {
        snprintf(why, whylen, "argument must be 'yes' or 'no'");
        return -1;
    }
    if (v != s->cfg.tls_replication) {
        snprintf(why, whylen, "tricache sets TLS between nodes in cluster.toml (tls_replication = %s) and changes it "
                 "by restarting the nodes one at a time", s->cfg.tls_replication ? "true" : "false");
        return -1;
    }
    next->tls_replication = v;
    snprintf(out, outlen, "%s", v ? "yes" : "no");
    return 0;
}

static void tls_replication_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)s, (void)stored;
    snprintf(out, outlen, "%s", cfg->tls_replication ? "yes" : "no");
}

static const special SP_TLS_REPLICATION = {tls_replication_set, tls_replication_get};

static int bind_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,
                    size_t outlen, char *why, size_t whylen)
{
    (void)next, (void)stored;
    if (strcasecmp(value, host_of(s)) != 0) {
        snprintf(why, whylen, "tricache listens on the host of client_addr in cluster.toml (%s)", host_of(s));
        return -1;
    }
    snprintf(out, outlen, "%s", host_of(s));
    return 0;
}

static void bind_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)cfg, (void)stored;
    snprintf(out, outlen, "%s", host_of(s));
}

static const special SP_BIND = {bind_set, bind_get};

/* dir: the node's data directory, absolute as Redis shows its own. */
static void dir_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen)
{
    (void)cfg, (void)stored;
    char *abs = s->data_dir[0] ? realpath(s->data_dir, NULL) : NULL;
    if (abs) snprintf(out, outlen, "%s", abs);
    else if (s->data_dir[0]) snprintf(out, outlen, "%s", s->data_dir);
    else if (!getcwd(out, outlen)) out[0] = '\0';
    free(abs);
}

static const special SP_DIR = {NULL, dir_get};

/* The compact encodings' thresholds: Redis's syntax and range (an integer,
 * or a memory size for the -value ones), kept as parsed numbers in the
 * node's settings (tc_config, where cluster.toml's hash_max_listpack_entries
 * etc. put them too); tc_config_cmd_set then refreshes the keyspace's
 * tc_enc_limits. One setter per parameter, each a single assignment to
 * next, so that a replicated CONFIG SET can route them as it needs. */
static int enc_parse(const rparam *syntax, const char *value, long long *v, char *out, size_t outlen, char *why,
                     size_t whylen)
{
    if (plain_value(syntax, value, out, outlen, why, whylen) != 0) return -1;
    if (syntax->kind == K_MEM) *v = (long long)strtoull(out, NULL, 10); /* at most LLONG_MAX: checked */
    else *v = strtoll(out, NULL, 10);
    return 0;
}

#define ENC_PARAM(sp, kind_, lo, hi, type, field)                                                                \
    static int sp##_set(const tc_server *s, tc_config *next, const char *stored, const char *value, char *out,  \
                        size_t outlen, char *why, size_t whylen)                                               \
    {                                                                                                          \
        static const rparam syntax = {.name = #field, .kind = kind_, .min = lo, .max = hi};                    \
        long long v;                                                                                           \
        (void)s, (void)stored;                                                                                 \
        if (enc_parse(&syntax, value, &v, out, outlen, why, whylen) != 0) return -1;                           \
        next->field = (type)v;                                                                                 \
        return 0;                                                                                              \
    }                                                                                                          \
    static void sp##_get(const tc_server *s, const tc_config *cfg, const char *stored, char *out, size_t outlen) \
    {                                                                                                          \
        (void)s, (void)stored;                                                                                 \
        snprintf(out, outlen, "%lld", (long long)cfg->field);                                                  \
    }                                                                                                          \
    static const special sp = {sp##_set, sp##_get};

ENC_PARAM(SP_HASH_ENTRIES, K_INT, 0, LMAX, uint64_t, hash_max_listpack_entries)
ENC_PARAM(SP_HASH_VALUE, K_MEM, 0, LMAX, uint64_t, hash_max_listpack_value)
ENC_PARAM(SP_ZSET_ENTRIES, K_INT, 0, LMAX, uint64_t, zset_max_listpack_entries)
ENC_PARAM(SP_ZSET_VALUE, K_MEM, 0, LMAX, uint64_t, zset_max_listpack_value)
ENC_PARAM(SP_SET_INTSET, K_INT, 0, LMAX, uint64_t, set_max_intset_entries)
ENC_PARAM(SP_LIST_SIZE, K_INT, INT_MIN, IMAX, int64_t, list_max_listpack_size)

/* ---------- CONFIG GET ---------- */

typedef struct pairs {
    char **kv; /* name, value, name, value ... */
    size_t n, cap;
    size_t *slots; /* open addressing over the names in lower case: pair index + 1, 0 = free */
    size_t nslots; /* a power of two, at least twice the pairs */
    int oom;
    const char *as_name; /* emit under this name (a pattern without glob characters) */
} pairs;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s)) * 1099511628211ull;
    return h;
}

/* The slot holding name, or the free one where it would go. */
static size_t *slot_of(const pairs *p, const char *name)
{
    size_t i = (size_t)name_hash(name) & (p->nslots - 1);
    while (p->slots[i] && strcasecmp(p->kv[2 * (p->slots[i] - 1)], name) != 0) i = (i + 1) & (p->nslots - 1);
    return &p->slots[i];
}

static int grow(pairs *p)
{
    size_t cap = p->cap ? p->cap * 2 : 512, nslots = cap; /* cap/2 pairs in cap slots */
    char **kv = realloc(p->kv, cap * sizeof *kv);
    if (!kv) return -1;
    p->kv = kv;
    size_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    free(p->slots);
    p->slots = slots;
    p->nslots = nslots;
    p->cap = cap;
    for (size_t i = 0; i < p->n; i += 2) *slot_of(p, p->kv[i]) = i / 2 + 1;
    return 0;
}

static void add_pair(pairs *p, const char *name, const char *value)
{
    if (p->as_name) name = p->as_name;
    if (p->oom || (p->n + 2 > p->cap && grow(p) != 0)) {
        p->oom = 1;
        return;
    }
    size_t *slot = slot_of(p, name);
    if (*slot) return; /* answered already */
    char *k = strdup(name), *v = strdup(value);
    if (!k || !v) {
        free(k), free(v);
        p->oom = 1;
        return;
    }
    p->kv[p->n++] = k;
    p->kv[p->n++] = v;
    *slot = p->n / 2;
}

static void emit_setting(void *ud, const char *name, const char *value) { add_pair(ud, name, value); }

#define VALUE_MAX 16384

typedef struct capture {
    char *out;
    size_t outlen;
} capture;

static void capture_value(void *ud, const char *name, const char *value)
{
    (void)name;
    capture *c = ud;
    snprintf(c->out, c->outlen, "%s", value);
}

static void render(const tc_server *s, const rparam *p, char *out, size_t outlen)
{
    if (p->setting) { /* the value the node runs with */
        capture c = {out, outlen};
        snprintf(out, outlen, "%s", p->def);
        tc_config_get(&s->cfg, p->setting, capture_value, &c);
        return;
    }
    const char *stored = stored_value(s, p);
    if (p->kind == K_SPECIAL && p->sp->get) p->sp->get(s, &s->cfg, stored, out, outlen);
    else snprintf(out, outlen, "%s", stored);
}

/* Parameters holding a password: CONFIG GET answers "" for them (Redis 7.0
 * would show requirepass in clear), so a client that may run CONFIG cannot
 * read the token of every other client. */
static int secret_param(const rparam *p)
{
    static const char *const SECRET[] = {"requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass",
                                         NULL};
    for (size_t i = 0; SECRET[i]; i++)
        if (strcmp(p->name, SECRET[i]) == 0) return 1;
    return 0;
}

static void emit_param(const tc_server *s, pairs *pr, const rparam *p, const char *name, char *buf)
{
    if (p->kind == K_TRICACHE) {
        tc_config_get(&s->cfg, p->name, emit_setting, pr);
        return;
    }
    if (secret_param(p)) buf[0] = '\0';
    else render(s, p, buf, VALUE_MAX);
    add_pair(pr, name, buf);
}

char **tc_config_cmd_get(const tc_server *s, size_t npatterns, const tc_slice *patterns, size_t *n)
{
    pairs pr = {0};
    char *buf = malloc(VALUE_MAX), pat[256];
    if (!buf) {
        *n = 0;
        return NULL;
    }
    for (size_t i = 0; i < npatterns && !pr.oom; i++) {
        const tc_slice *a = &patterns[i];
        size_t len = a->len < sizeof pat - 1 ? a->len : sizeof pat - 1;
        memcpy(pat, a->p, len);
        pat[len] = '\0';
        if (!memchr(a->p, '*', a->len) && !memchr(a->p, '?', a->len) && !memchr(a->p, '[', a->len)) {
            /* one name, answered under the name as written */
            int alias;
            const rparam *p = find_param(a->p, a->len, &alias);
            pr.as_name = pat;
            if (p) emit_param(s, &pr, p, pat, buf);
            else if (len == a->len && strlen(pat) == len) tc_config_get(&s->cfg, pat, emit_setting, &pr);
            pr.as_name = NULL;
            continue;
        }
        for (size_t k = 0; k < NPARAMS; k++) {
            const rparam *p = &PARAMS[k];
            if (p->kind == K_TRICACHE) continue; /* tc_config_get answers them below */
            if (tc_glob_match(a->p, a->len, p->name, strlen(p->name), 1)) emit_param(s, &pr, p, p->name, buf);
            if (p->alias && tc_glob_match(a->p, a->len, p->alias, strlen(p->alias), 1))
                emit_param(s, &pr, p, p->alias, buf);
        }
        /* tricache's own settings; names Redis has too were answered above */
        if (len == a->len) tc_config_get(&s->cfg, pat, emit_setting, &pr);
    }
    free(buf);
    free(pr.slots);
    if (pr.oom) {
        tc_config_pairs_free(pr.kv, pr.n);
        *n = 0;
        return NULL;
    }
    *n = pr.n;
    return pr.kv;
}

void tc_config_pairs_free(char **kv, size_t n)
{
    for (size_t i = 0; i < n; i++) free(kv[i]);
    free(kv);
}

const char *tc_rconf_value(const tc_server *s, const char *name, char *buf, size_t buflen)
{
    const rparam *p = find_param(name, strlen(name), NULL);
    if (!p || p->kind == K_TRICACHE) return NULL;
    render(s, p, buf, buflen);
    return buf;
}

/* ---------- CONFIG SET ---------- */

#define NAME_MAX_LEN 127
#define VALUE_MAX_LEN 4095

/* Copies untrusted text into an error line: printable ASCII as is, other
 * bytes as \xNN, at most 128 bytes of it. */
static const char *shown(const tc_slice *a, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < a->len && o + 5 < outlen && i < 128; i++) {
        unsigned char ch = (unsigned char)a->p[i];
        if (ch >= 0x20 && ch < 0x7f) out[o++] = (char)ch;
        else out[o++] = '\\', out[o++] = 'x', out[o++] = hex[ch >> 4], out[o++] = hex[ch & 15];
    }
    out[o] = '\0';
    return out;
}

typedef struct target {
    const rparam *p; /* a Redis parameter with its own handling, or NULL: a setting of node/config.c */
    int alias;       /* named by its other name */
    int setting;     /* node/config.c's setting id (p == NULL) */
    char *name;      /* as written, NUL-terminated */
} target;

static int same_target(const target *a, const target *b)
{
    if (a->p || b->p) return a->p == b->p && a->alias == b->alias;
    return a->setting == b->setting;
}

/* CONFIG SET; dry: check everything, change nothing. */
static int config_set(tc_server *s, size_t nargs, const tc_slice *args, int dry, char *err, size_t errlen)
{
    size_t npairs = nargs / 2;
    target *t = calloc(npairs ? npairs : 1, sizeof *t);
    char **staged = calloc(npairs ? npairs : 1, sizeof *staged); /* values to store, by pair */
    char *out = malloc(VALUE_MAX), *value = malloc(VALUE_MAX_LEN + 1);
    char why[512], shown_name[600];
    const char *problem = NULL;
    size_t problem_at = 0;
    int rc = -1;
    tc_config *next = malloc(sizeof *next);
    tc_tls_ctx *tls_ctx = NULL; /* TLS settings changed: the context they build */
    if (!t || !staged || !out || !value || !next) {
        snprintf(err, errlen, "ERR out of memory");
        goto done;
    }

    /* 1: names, before any value: the first one that is unknown or can't
     * be set (immutable, protected, given twice) is the answer, as in
     * Redis 7.0 */
    for (size_t i = 0; i < npairs && !problem; i++) {
        const tc_slice *a = &args[2 * i];
        target *x = &t[i];
        if (!(x->name = strndup(a->p, a->len))) {
            snprintf(err, errlen, "ERR out of memory");
            goto done;
        }
        int known = a->len <= NAME_MAX_LEN && !memchr(a->p, '\0', a->len);
        if (known) {
            x->p = find_param(a->p, a->len, &x->alias);
            if (x->p && x->p->kind == K_TRICACHE) x->p = NULL; /* node/config.c's setting of that name */
        }
        int settable = 0;
        if (known && !x->p) {
            settable = tc_config_settable(x->name, &x->setting);
            if (settable == -1) known = 0;
        }
        if (!known) {
            snprintf(err, errlen, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
                     shown(a, shown_name, sizeof shown_name));
            goto done;
        }
        if (settable == -2 || (x->p && (x->p->flags & IMMUTABLE))) problem = "can't set immutable config";
        else if (x->p && (x->p->flags & PROTECTED)) problem = "can't set protected config";
        for (size_t j = 0; j < i && !problem; j++)
            if (same_target(&t[j], x)) problem = "duplicate parameter";
        problem_at = i;
    }
    if (problem) {
        snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                 shown(&args[2 * problem_at], shown_name, sizeof shown_name), problem);
        goto done;
    }

    /* 2: values, in order, into a copy of the settings */
    *next = s->cfg;
    for (size_t i = 0; i < npairs; i++) {
        const tc_slice *a = &args[2 * i], *v = &args[2 * i + 1];
        target *x = &t[i];
        shown(a, shown_name, sizeof shown_name);
        if (v->len > VALUE_MAX_LEN) {
            snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - argument too long",
                     shown_name);
            goto done;
        }
        /* values are C strings here: a NUL inside would silently cut them */
        if (memchr(v->p, '\0', v->len)) {
            snprintf(err, errlen,
                     "ERR CONFIG SET failed (possibly related to argument '%s') - argument contains a NUL byte",
                     shown_name);
            goto done;
        }
        memcpy(value, v->p, v->len);
        value[v->len] = '\0';
        if (!x->p) {
            if (tc_config_set(next, x->name, value, err, errlen) != 0) goto done;
            continue;
        }
        /* the value the row has when this pair is reached (an earlier pair
         * may have set it under its other name) */
        const char *stored = stored_value(s, x->p);
        for (size_t j = 0; j < i; j++)
            if (t[j].p == x->p && staged[j]) stored = staged[j];
        int ok = x->p->kind == K_SPECIAL
                     ? x->p->sp->set(s, next, stored, value, out, VALUE_MAX, why, sizeof why)
                     : plain_value(x->p, value, out, VALUE_MAX, why, sizeof why);
        /* checked as Redis checks it; the node's setting holds the value */
        if (ok == 0 && x->p->setting) ok = set_setting(next, x->p->setting, out, why, sizeof why);
        if (ok != 0) {
            snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", shown_name, why);
            goto done;
        }
        /* honoured rows are answered from the node, except the classes of
         * client-output-buffer-limit it does not apply; no copies (of
         * requirepass, say) are kept for the others */
        /* (a replicated row keeps its value too: "set through the log", which
         * keyspace images carry) */
        if (x->p->status == HONOURED && x->p->sp != &SP_COBL && !(x->p->flags & REPLICATED)) continue;
        if (!(staged[i] = strdup(out))) {
            snprintf(err, errlen, "ERR out of memory");
            goto done;
        }
    }

    /* TLS settings take effect as a new context, built now: one that does
     * not load fails the whole CONFIG SET and the running one stays */
    if (s->tls && tc_tls_settings_differ(&s->cfg, next)) {
        size_t at = 0;
        while (at + 1 < npairs && strncasecmp(t[at].name, "tls", 3) != 0) at++;
        if (!(tls_ctx = tc_tls_ctx_build(next, why, sizeof why))) {
            snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                     shown(&args[2 * at], shown_name, sizeof shown_name), why);
            goto done;
        }
    }

    /* 3: all good: keep them */
    if (dry) {
        rc = 0;
        goto done;
    }
    for (size_t i = 0; i < npairs && !s->rconf; i++)
        if (staged[i] && !(s->rconf = calloc(1, sizeof *s->rconf))) {
            snprintf(err, errlen, "ERR out of memory");
            goto done;
        }
    for (size_t i = 0; i < npairs; i++) {
        if (!staged[i]) continue;
        size_t k = (size_t)(t[i].p - PARAMS);
        free(s->rconf->val[k]);
        s->rconf->val[k] = staged[i];
        staged[i] = NULL;
    }
    s->cfg = *next;
    if (tls_ctx) {
        tc_tls_install(s->tls, tls_ctx);
        tls_ctx = NULL;
        tc_notice("CONFIG SET: TLS context reloaded (%s, %s)", s->cfg.tls_cert_file, s->cfg.tls_key_file);
    }
    tc_log_set_level(s->cfg.log_level);
    tc_notify_attach(s); /* notify-keyspace-events may have turned key misses on or off */
    tc_server_apply_encoding_limits(s);
    for (size_t i = 0; i < npairs; i++)
        if (t[i].p && (t[i].p->flags & REPLICATED)) {
            tc_evict_settings_changed(s);
            break;
        }
    rc = 0;

done:
    for (size_t i = 0; t && i < npairs; i++) free(t[i].name);
    for (size_t i = 0; staged && i < npairs; i++) free(staged[i]);
    free(t);
    free(staged);
    free(out);
    free(value);
    free(next);
    tc_tls_ctx_free(tls_ctx);
    return rc;
}

int tc_config_cmd_set(tc_server *s, size_t nargs, const tc_slice *args, char *err, size_t errlen)
{
    return config_set(s, nargs, args, 0, err, errlen);
}

int tc_config_cmd_check(tc_server *s, size_t nargs, const tc_slice *args, char *err, size_t errlen)
{
    return config_set(s, nargs, args, 1, err, errlen);
}

size_t tc_config_cmd_replicated(size_t nargs, const tc_slice *args)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < nargs; i += 2) {
        const rparam *p = find_param(args[i].p, args[i].len, NULL);
        n += p && (p->flags & REPLICATED);
    }
    return n;
}

void tc_rconf_replicated_each(const tc_server *s, tc_rconf_pair_fn fn, void *ud)
{
    char buf[256];
    for (size_t i = 0; s->rconf && i < NPARAMS; i++) {
        if (!(PARAMS[i].flags & REPLICATED) || !s->rconf->val[i]) continue;
        render(s, &PARAMS[i], buf, sizeof buf);
        fn(ud, PARAMS[i].name, buf);
    }
}
