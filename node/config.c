/* Node configuration: one settings table drives TOML loading, CONFIG GET and
 * CONFIG SET, so a setting's name, bounds, default and mutability are written
 * exactly once (in SETTINGS below). [[node]] tables are handled separately:
 * they describe cluster membership and are not runtime settings. */
#include "config.h"

#include "notify.h"
#include "glob.h"
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KB (UINT64_C(1) << 10)
#define MB (UINT64_C(1) << 20)
#define GB (UINT64_C(1) << 30)

#define MAX_FILE_SIZE (1u << 20) /* cluster.toml is a few KB; anything this big is a wrong path */

static const char DEFAULT_HINT[] = "see cluster.toml.example for a complete, commented file";
static const char NODE_HINT[] =
    "each [[node]] needs id, zone, client_addr and raft_addr (data_dir is optional); see cluster.toml.example";

/* ---------- the settings table ---------- */

typedef enum setting_type { T_STRING, T_SIZE, T_DURATION, T_INT, T_ENUM, T_BOOL } setting_type;

/* Returns NULL if the string is acceptable, else why not, phrased to follow
 * the setting name or "argument" ("may only contain ..."). */
typedef const char *(*string_rule_fn)(const char *s);

typedef struct setting {
    const char *name;   /* TOML name; CONFIG GET/SET use it with '-' for '_' */
    setting_type type;
    size_t offset;      /* field in tc_config: uint64_t for numbers, int for enum/bool, char[] for strings */
    size_t size;        /* sizeof that field */
    uint64_t min, max;  /* inclusive; strings: length in bytes; durations: milliseconds */
    int zero_ok;        /* 0 is accepted besides min..max (it means "unlimited") */
    const char *def;    /* default, written as CONFIG SET would accept it */
    int mut;            /* may be changed with CONFIG SET */
    const char *help;   /* what it does (documentation; cluster.toml.example says the same) */
    const char *form;   /* strings only: what is accepted, for hints */
    string_rule_fn rule;      /* strings only: extra check, may be NULL */
    const char *const *words; /* enums only: NULL-terminated, index = stored value */
    int redis_seconds;  /* durations: CONFIG GET in whole seconds, as Redis's own setting */
    int redis_row;      /* CONFIG GET/SET answer it through Redis's parameter of that name (config_redis.c) */
    int sign;           /* T_INT: an int64_t field; min and max are int64_t bit patterns */
    int secret;         /* CONFIG GET answers "": secrets never leave the node */
} setting;

static const char *cluster_name_rule(const char *s)
{
    for (; *s; s++) {
        char ch = *s;
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 ch == '.' || ch == '-';
        if (!ok) return "may only contain A-Z a-z 0-9 _ . -";
    }
    return NULL;
}

/* Tokens travel in AUTH commands and logs; spaces would be split by inline commands. */
static const char *auth_token_rule(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return "must be printable ASCII without spaces";
    return NULL;
}

static const char *no_control_rule(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return "must not contain control characters";
    return NULL;
}

static const char *destination_rule(const char *s)
{
    if (!*s) return NULL;
    if (strncmp(s, "file:///", 8) != 0 && strncmp(s, "s3://", 5) != 0)
        return "must start with file:/// (an absolute folder) or s3:// (bucket/prefix)";
    if (strncmp(s, "s3://", 5) == 0 && (!s[5] || s[5] == '/')) return "needs a bucket name after s3://";
    return no_control_rule(s);
}

/* Each comma-separated item a destination as backup.destination takes it. */
static const char *allowed_destinations_rule(const char *s)
{
    char item[1024];
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        while (len && *s == ' ') s++, len--;
        while (len && s[len - 1] == ' ') len--;
        if (len == 0 || len >= sizeof item) return "needs destinations separated by single commas";
        memcpy(item, s, len);
        item[len] = '\0';
        const char *why = destination_rule(item);
        if (why) return why;
        s = comma ? comma + 1 : s + len;
        if (comma && !*s) return "needs destinations separated by single commas";
    }
    return NULL;
}

static const char *endpoint_rule(const char *s)
{
    if (!*s) return NULL;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) return "must start with http:// or https://";
    return no_control_rule(s);
}

static const char *notify_rule(const char *s)
{
    return tc_notify_parse(s) < 0 ? "may only contain the letters K E g $ l s h z x e t m d n A" : NULL;
}

/* Checked again by OpenSSL when a context is built (conn_tls.c). */
static const char *tls_protocols_rule(const char *s)
{
    if (!*s) return NULL; /* the default versions */
    int any = 0;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        size_t n = strcspn(s, " ");
        int ok = (n == 5 && strncasecmp(s, "TLSv1", 5) == 0) || (n == 7 && strncasecmp(s, "TLSv1.1", 7) == 0) ||
                 (n == 7 && strncasecmp(s, "TLSv1.2", 7) == 0) || (n == 7 && strncasecmp(s, "TLSv1.3", 7) == 0);
        if (!ok) return "may only list TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3, separated by spaces";
        any = 1;
        s += n;
    }
    return any ? NULL : "must list at least one of TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3";
}

static const char *transit_mode_rule(const char *s)
{
    if (!*s || strcmp(s, "preferred") == 0 || strcmp(s, "required") == 0) return NULL;
    return "must be \"preferred\", \"required\" or empty (not set)";
}

/* A path that may hold "{id}" (this node's id): printable, at most one. */
static const char *per_node_path_rule(const char *s)
{
    const char *why = no_control_rule(s);
    if (why) return why;
    const char *at = strstr(s, "{id}");
    if (at && strstr(at + 4, "{id}")) return "may hold {id} once";
    return NULL;
}

static const char *const TLS_AUTH_WORDS[] = {"no", "optional", "yes", NULL};
static const char *const DEBUG_CMD_WORDS[] = {"no", "yes", "local", NULL};
static const char *const LOG_LEVEL_WORDS[] = {"debug", "info", "notice", "warning", NULL};
static const char *const READ_CONSISTENCY_WORDS[] = {"linearizable", "lease", "local", NULL};
/* In Redis's order; the index is enum tc_evict_policy (node/evict.h). */
static const char *const EVICTION_POLICY_WORDS[] = {"volatile-lru", "volatile-lfu", "volatile-random",
                                                    "volatile-ttl", "allkeys-lru",  "allkeys-lfu",
                                                    "allkeys-random", "noeviction", NULL};

#define FIELD(f) offsetof(tc_config, f), sizeof(((tc_config *)0)->f)

static const setting SETTINGS[] = {
    {.name = "cluster_name", .type = T_STRING, FIELD(cluster_name), .min = 1, .max = 63, .def = "tricache",
     .help = "name of the cluster; nodes only talk to peers with the same name",
     .form = "1 to 63 characters from A-Z a-z 0-9 _ . -", .rule = cluster_name_rule},
    {.name = "data_dir", .type = T_STRING, FIELD(data_dir), .min = 1, .max = TC_CONFIG_MAX_STR - 1, .def = "./data",
     .help = "directory for snapshots and raft logs; a node uses <data_dir>/node-<id> unless it sets its own",
     .form = "a non-empty directory path", .rule = no_control_rule},
    {.name = "auth_token", .type = T_STRING, FIELD(auth_token), .min = 0, .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .mut = 1, .help = "password clients must give with AUTH; empty means no authentication",
     .form = "empty (no AUTH) or 1 to 255 printable characters without spaces", .rule = auth_token_rule,
     .secret = 1},
    {.name = "log_level", .type = T_ENUM, FIELD(log_level), .min = TC_LOG_DEBUG, .max = TC_LOG_WARNING,
     .def = "notice", .mut = 1, .help = "least important messages that are logged", .words = LOG_LEVEL_WORDS},
    {.name = "maxclients", .type = T_INT, FIELD(maxclients), .min = 1, .max = 1000000, .def = "10000", .mut = 1,
     .help = "most client connections served at once"},
    {.name = "proto_max_bulk_len", .type = T_SIZE, FIELD(proto_max_bulk_len), .min = KB, .max = 4 * GB,
     .def = "512mb", .mut = 1, .help = "longest single argument a client may send"},
    {.name = "proto_max_multibulk_len", .type = T_INT, FIELD(proto_max_multibulk_len), .min = 16,
     .max = 2147483647, .def = "1048576", .mut = 1, .help = "most arguments in one command"},
    {.name = "big_buffer_keep", .type = T_SIZE, FIELD(big_buffer_keep), .min = MB, .max = UINT64_C(64) * GB,
     .zero_ok = 1, .def = "512mb", .mut = 1,
     .help = "freed buffers of 32 MiB or more (big values, their queries and log entries) kept up to 10 s for the "
             "next big value instead of going back to the system; 0 = none"},
    {.name = "client_query_buffer_limit", .type = T_SIZE, FIELD(client_query_buffer_limit), .min = MB,
     .max = 4 * GB, .def = "1gb", .mut = 1, .help = "most unparsed input kept for one client"},
    {.name = "client_output_buffer_limit", .type = T_SIZE, FIELD(client_output_buffer_limit), .min = MB,
     .max = UINT64_MAX, .zero_ok = 1, .def = "1gb", .mut = 1,
     .help = "most pending replies for one client before it is disconnected; 0 = unlimited"},
    {.name = "timeout", .type = T_DURATION, FIELD(timeout_ms), .min = 0, .max = UINT64_C(2147483647) * 1000,
     .def = "0", .mut = 1, .redis_seconds = 1, .help = "close client connections idle this long; 0 = never"},
    {.name = "tcp_backlog", .type = T_INT, FIELD(tcp_backlog), .min = 1, .max = 65535, .def = "511",
     .help = "listen() backlog of the client port"},
    {.name = "hz", .type = T_INT, FIELD(hz), .min = 1, .max = 500, .def = "10", .mut = 1,
     .help = "active expiry cycles per second"},
    {.name = "active_expire_effort", .type = T_INT, FIELD(active_expire_effort), .min = 1, .max = 10, .def = "1",
     .mut = 1, .help = "how hard active expiry works, as Redis's active-expire-effort: more keys per sample, more CPU"},
    {.name = "latency_monitor_threshold", .type = T_INT, FIELD(latency_monitor_threshold), .min = 0,
     .max = INT64_MAX, .def = "0", .mut = 1,
     .help = "milliseconds: LATENCY records commands, loop passes and log writes at least this slow; 0 = off"},
    {.name = "script_memory_limit", .type = T_SIZE, FIELD(script_memory_limit), .min = MB, .max = UINT64_MAX,
     .zero_ok = 1, .def = "128mb", .mut = 1,
     .help = "most memory Lua scripts may hold (a script past it fails with \"not enough memory\"); 0 = no limit"},
    {.name = "busy_reply_threshold", .type = T_INT, FIELD(busy_reply_threshold), .min = 0, .max = INT64_MAX,
     .def = "5000", .mut = 1,
     .help = "milliseconds a script runs before other clients get -BUSY and SCRIPT KILL is served (Redis's "
             "busy-reply-threshold, lua-time-limit)"},
    /* Ranges are Redis's (config_redis.c checks them first, with Redis's
     * error texts); these rows hold the values the node runs with. */
    {.name = "maxmemory", .type = T_SIZE, FIELD(maxmemory), .min = 0, .max = UINT64_MAX, .zero_ok = 1, .def = "0",
     .mut = 1, .help = "memory the keyspace may hold before the primary evicts (maxmemory_policy); 0 = no limit"},
    {.name = "maxmemory_policy", .type = T_ENUM, FIELD(maxmemory_policy), .min = 0, .max = 7, .def = "noeviction",
     .mut = 1, .help = "which keys go when maxmemory is reached, as Redis's; noeviction refuses writes with -OOM",
     .words = EVICTION_POLICY_WORDS},
    {.name = "maxmemory_samples", .type = T_INT, FIELD(maxmemory_samples), .min = 1, .max = 2147483647, .def = "5",
     .mut = 1, .help = "keys sampled for each eviction (more: closer to true LRU/LFU, slower)"},
    {.name = "lfu_log_factor", .type = T_INT, FIELD(lfu_log_factor), .min = 0, .max = 2147483647, .def = "10",
     .mut = 1, .help = "LFU: how many accesses it takes to raise a key's counter (logarithmic)"},
    {.name = "lfu_decay_time", .type = T_INT, FIELD(lfu_decay_time), .min = 0, .max = 2147483647, .def = "1",
     .mut = 1, .help = "LFU: minutes of idleness that lower a key's counter by one; 0 = never"},
    {.name = "cluster_mode", .type = T_BOOL, FIELD(cluster_mode), .min = 0, .max = 1, .def = "false",
     .help = "answer CLUSTER SLOTS/SHARDS/NODES as one shard and redirect with -MOVED, for cluster-aware clients"},
    {.name = "databases", .type = T_INT, FIELD(databases), .min = 1, .max = TC_MAX_DATABASES, .def = "16",
     .help = "numbered databases SELECT reaches (0..databases-1); every node of a cluster must use the same "
             "value (they share cluster.toml); cluster_mode keeps database 0 only"},
    {.name = "read_consistency", .type = T_ENUM, FIELD(read_consistency), .min = TC_READ_LINEARIZABLE,
     .max = TC_READ_LOCAL, .def = "linearizable", .mut = 1,
     .help = "reads on the primary: linearizable (confirmed by a barrier), lease, or local",
     .words = READ_CONSISTENCY_WORDS},
    {.name = "preferred_primary_zones", .type = T_STRING, FIELD(preferred_primary_zones), .min = 0,
     .max = TC_CONFIG_MAX_STR - 1, .def = "", .mut = 1,
     .help = "comma-separated zones the primary should live in; leadership moves back there after a failover",
     .form = "empty, or zone names separated by commas", .rule = no_control_rule},
    {.name = "election_timeout", .type = T_DURATION, FIELD(election_timeout_ms), .min = 50, .max = 60000,
     .def = "300ms", .help = "a replica that hears nothing from the primary this long starts an election"},
    {.name = "heartbeat_interval", .type = T_DURATION, FIELD(heartbeat_interval_ms), .min = 10, .max = 10000,
     .def = "50ms", .help = "how often the primary contacts replicas when idle"},
    {.name = "replica_max_staleness", .type = T_DURATION, FIELD(replica_max_staleness_ms), .min = 10,
     .max = 3600000, .def = "1s", .mut = 1,
     .help = "a replica refuses reads (-TRYAGAIN) when it has not heard from the primary this long"},
    {.name = "write_commit_timeout", .type = T_DURATION, FIELD(write_commit_timeout_ms), .min = 100,
     .max = 3600000, .zero_ok = 1, .def = "5s", .mut = 1,
     .help = "a primary whose log no majority acknowledges this long answers waiting writes and reads with "
             "-NOREPLICAS and refuses new ones until commits resume; 0 = wait without bound"},
    {.name = "apply_stall_timeout", .type = T_DURATION, FIELD(apply_stall_timeout_ms), .min = 500,
     .max = 3600000, .zero_ok = 1, .def = "5s", .mut = 1,
     .help = "a primary whose command thread makes no progress this long (a wedged node, or one command running "
             "longer) hands leadership to a replica; shorter commands cost no election; 0 = never"},
    {.name = "shutdown_timeout", .type = T_DURATION, FIELD(shutdown_timeout_ms), .min = 0,
     .max = UINT64_C(3600) * 1000, .def = "10s", .mut = 1, .redis_seconds = 1,
     .help = "on SIGTERM or SHUTDOWN a primary hands leadership over first, waiting at most this long; 0 = exit at once"},
    {.name = "snapshot_threshold", .type = T_INT, FIELD(snapshot_threshold), .min = 64, .max = 100000000,
     .def = "65536", .help = "log entries between two Raft snapshots of the keyspace"},
    {.name = "snapshot_bytes", .type = T_SIZE, FIELD(snapshot_bytes), .min = MB, .max = UINT64_C(1024) * GB,
     .zero_ok = 1, .def = "64mb", .mut = 1,
     .help = "bytes of Raft log entries between two snapshots (whichever of this and snapshot_threshold comes first); 0 = entries only"},
    /* Big writes travel through the log as 1 MiB pieces (raft/log_pieces.h),
     * so their size does not cost an election; the default is what was
     * measured to replicate with the default timeouts on 2 shared cores
     * (README "Big string values"); the maximum stays below the log's own
     * (an entry's stored length is 32 bits). */
    {.name = "replicated_write_max_bytes", .type = T_SIZE, FIELD(replicated_write_max_bytes), .min = 64 * KB,
     .max = 3 * GB, .def = "128mb", .mut = 1,
     .help = "most argument bytes one write (a command, a MULTI/EXEC, a script's effects) may put in the Raft log "
             "on a cluster of several nodes; a larger one gets -ERR value too large to replicate"},
    {.name = "at_rest_encryption", .type = T_BOOL, FIELD(at_rest_encryption), .min = 0, .max = 1, .def = "false",
     .help = "encrypt every Raft log payload and snapshot the node writes with the newest key of keys_dir"},
    {.name = "keys_dir", .type = T_STRING, FIELD(keys_dir), .min = 0, .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .help = "directory of key files made by tricachectl keys generate; the newest encrypts, all decrypt",
     .form = "empty (no keys) or a directory path", .rule = no_control_rule},
    {.name = "cluster_secret_file", .type = T_STRING, FIELD(cluster_secret_file), .min = 0,
     .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .help = "file (mode 0600) holding the secret every node of the cluster shares (tricachectl secret generate); "
             "Raft peers prove it before anything reaches Raft; empty = peers are not authenticated",
     .form = "empty (no peer authentication) or a file path", .rule = no_control_rule},
    /* The compact encodings' thresholds, Redis's parameters of the same
     * names (CONFIG SET parses them as Redis does: node/config_redis.c). */
    {.name = "hash_max_listpack_entries", .type = T_INT, FIELD(hash_max_listpack_entries), .min = 0,
     .max = INT64_MAX, .def = "512", .mut = 1, .help = "a hash with more fields becomes a hash table"},
    {.name = "hash_max_listpack_value", .type = T_INT, FIELD(hash_max_listpack_value), .min = 0, .max = INT64_MAX,
     .def = "64", .mut = 1, .help = "a hash with a longer field or value (bytes) becomes a hash table"},
    {.name = "zset_max_listpack_entries", .type = T_INT, FIELD(zset_max_listpack_entries), .min = 0,
     .max = INT64_MAX, .def = "128", .mut = 1, .help = "a sorted set with more members becomes a skiplist"},
    {.name = "zset_max_listpack_value", .type = T_INT, FIELD(zset_max_listpack_value), .min = 0, .max = INT64_MAX,
     .def = "64", .mut = 1, .help = "a sorted set with a longer member (bytes) becomes a skiplist"},
    {.name = "set_max_intset_entries", .type = T_INT, FIELD(set_max_intset_entries), .min = 0, .max = INT64_MAX,
     .def = "512", .mut = 1, .help = "a set of integers with more members becomes a hash table"},
    {.name = "set_max_listpack_entries", .type = T_INT, FIELD(set_max_listpack_entries), .min = 0,
     .max = INT64_MAX, .def = "128", .mut = 1,
     .help = "a set of strings with more members leaves its packed form (OBJECT ENCODING says hashtable for "
             "both, as Redis 7.0)"},
    {.name = "set_max_listpack_value", .type = T_INT, FIELD(set_max_listpack_value), .min = 0, .max = INT64_MAX,
     .def = "64", .mut = 1, .help = "a set with a longer member (bytes) leaves its packed form"},
    {.name = "list_max_listpack_size", .type = T_INT, FIELD(list_max_listpack_size), .min = (uint64_t)INT32_MIN,
     .max = INT32_MAX, .sign = 1, .def = "-2", .mut = 1,
     .help = "a list node's size: -1..-5 for 4, 8, 16, 32, 64 KB, or N > 0 entries; lists take it when created"},
    {.name = "backup.destination", .type = T_STRING, FIELD(backup.destination), .min = 0,
     .max = sizeof(((tc_config *)0)->backup.destination) - 1, .def = "", .mut = 1,
     .help = "where BGSAVE and scheduled backups go: file:///dir or s3://bucket/prefix; empty = file://<node data dir>/backups",
     .form = "empty, file:///absolute/dir or s3://bucket/prefix", .rule = destination_rule},
    {.name = "backup.interval", .type = T_DURATION, FIELD(backup.interval_ms), .min = 1000,
     .max = UINT64_C(365) * 24 * 3600 * 1000, .zero_ok = 1, .def = "0", .mut = 1,
     .help = "take a backup this often (on a healthy replica when there is one); 0 = no scheduled backups"},
    {.name = "backup.retain", .type = T_INT, FIELD(backup.retain), .min = 1, .max = 100000, .def = "7", .mut = 1,
     .help = "backups of this cluster kept at the destination after a scheduled backup; older ones are deleted"},
    {.name = "backup.s3_endpoint", .type = T_STRING, FIELD(backup.s3_endpoint), .min = 0,
     .max = TC_CONFIG_MAX_STR - 1, .def = "", .mut = 1,
     .help = "S3 endpoint URL, e.g. http://127.0.0.1:9000; empty = https://s3.<region>.amazonaws.com",
     .form = "empty, or an http:// or https:// URL", .rule = endpoint_rule},
    {.name = "backup.s3_region", .type = T_STRING, FIELD(backup.s3_region), .min = 1, .max = 63,
     .def = "us-east-1", .mut = 1, .help = "S3 region the requests are signed for",
     .form = "a region name such as eu-west-1", .rule = no_control_rule},
    {.name = "backup.s3_path_style", .type = T_BOOL, FIELD(backup.s3_path_style), .min = 0, .max = 1,
     .def = "false", .mut = 1, .help = "address buckets as endpoint/bucket (MinIO, s3rver) instead of bucket.endpoint"},
    {.name = "backup.s3_credentials_file", .type = T_STRING, FIELD(backup.s3_credentials_file), .min = 0,
     .max = TC_CONFIG_MAX_STR - 1, .def = "", .mut = 1,
     .help = "AWS shared credentials file; empty = AWS_* variables, then ~/.aws/credentials",
     .form = "empty or a file path", .rule = no_control_rule},
    {.name = "backup.allowed_destinations", .type = T_STRING, FIELD(backup.allowed_destinations), .min = 0,
     .max = sizeof(((tc_config *)0)->backup.allowed_destinations) - 1, .def = "", .mut = 1,
     .help = "destinations BGSAVE TO / SAVE TO may write to besides backup.destination and its children "
             "(comma-separated file:///dir or s3://bucket/prefix; their children are allowed too)",
     .form = "empty, or file:///dir and s3://bucket/prefix destinations separated by commas",
     .rule = allowed_destinations_rule},
    {.name = "notify_keyspace_events", .type = T_STRING, FIELD(notify_keyspace_events), .min = 0,
     .max = sizeof(((tc_config *)0)->notify_keyspace_events) - 1, .def = "", .redis_row = 1,
     .help = "keyspace notifications every node publishes to its own subscribers, as Redis's letters (e.g. \"Ex\"); empty = none",
     .form = "empty, or Redis's notify-keyspace-events letters such as \"KEA\" or \"Ex\"", .rule = notify_rule},
    /* TLS for clients (node/conn_tls.h): read by nodes with a tls_client_addr;
     * a CONFIG SET that changes them loads a new context or fails. */
    {.name = "tls_cert_file", .type = T_STRING, FIELD(tls_cert_file), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .mut = 1, .help = "PEM certificate (chain) the TLS client port presents",
     .form = "empty or a file path", .rule = no_control_rule},
    {.name = "tls_key_file", .type = T_STRING, FIELD(tls_key_file), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .mut = 1, .help = "PEM private key of tls_cert_file (not protected by a passphrase)",
     .form = "empty or a file path", .rule = no_control_rule},
    {.name = "tls_ca_cert_file", .type = T_STRING, FIELD(tls_ca_cert_file), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .mut = 1, .help = "PEM CA certificate(s) client certificates must chain to",
     .form = "empty or a file path", .rule = no_control_rule},
    {.name = "tls_ca_cert_dir", .type = T_STRING, FIELD(tls_ca_cert_dir), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .mut = 1, .help = "directory of CA certificates (hashed names, as openssl rehash makes them)",
     .form = "empty or a directory path", .rule = no_control_rule},
    {.name = "tls_auth_clients", .type = T_ENUM, FIELD(tls_auth_clients), .min = TC_TLS_AUTH_NO,
     .max = TC_TLS_AUTH_YES, .def = "yes", .mut = 1,
     .help = "TLS clients must show a certificate of the CA (yes), may (optional), or are not asked (no)",
     .words = TLS_AUTH_WORDS},
    {.name = "tls_protocols", .type = T_STRING, FIELD(tls_protocols), .min = 0,
     .max = sizeof(((tc_config *)0)->tls_protocols) - 1, .def = "", .mut = 1,
     .help = "TLS versions accepted, separated by spaces; empty = \"TLSv1.2 TLSv1.3\" (Redis's default too)",
     .form = "empty, or TLSv1, TLSv1.1, TLSv1.2 and/or TLSv1.3 separated by spaces", .rule = tls_protocols_rule},
    {.name = "tls_ciphers", .type = T_STRING, FIELD(tls_ciphers), .min = 0, .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .mut = 1, .help = "TLS 1.2 cipher list in OpenSSL's syntax; empty = OpenSSL's default",
     .form = "empty or an OpenSSL cipher list", .rule = no_control_rule},
    {.name = "tls_ciphersuites", .type = T_STRING, FIELD(tls_ciphersuites), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .mut = 1, .help = "TLS 1.3 cipher suites separated by colons; empty = OpenSSL's default",
     .form = "empty or TLS 1.3 suite names separated by colons", .rule = no_control_rule},
    {.name = "tls_session_caching", .type = T_BOOL, FIELD(tls_session_caching), .min = 0, .max = 1, .def = "yes",
     .mut = 1, .help = "let TLS clients resume sessions (server-side cache and tickets) to skip full handshakes"},
    /* TLS between nodes (raft/transport_tls.h); a node reads its files
     * again by itself when they change on disk (new connections use them). */
    {.name = "tls_replication", .type = T_BOOL, FIELD(tls_replication), .min = 0, .max = 1, .def = "false",
     .help = "Raft traffic between nodes over mutual TLS: certificates of the tls_ca_cert_file CA that name "
             "node-<id> (DNS subjectAltName, or CN without one); plaintext peers refused unless "
             "transit_encryption_mode = \"preferred\""},
    {.name = "tls_raft_cert_file", .type = T_STRING, FIELD(tls_raft_cert_file), .min = 0,
     .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .help = "PEM certificate (chain) a node shows its peers, {id} standing for the node's id; empty = tls_cert_file",
     .form = "empty or a file path, {id} allowed once", .rule = per_node_path_rule},
    {.name = "tls_raft_key_file", .type = T_STRING, FIELD(tls_raft_key_file), .min = 0, .max = TC_CONFIG_MAX_STR - 1,
     .def = "", .help = "PEM private key of tls_raft_cert_file, {id} standing for the node's id; empty = tls_key_file",
     .form = "empty or a file path, {id} allowed once", .rule = per_node_path_rule},
    {.name = "transit_encryption_mode", .type = T_STRING, FIELD(transit_encryption_mode), .min = 0,
     .max = sizeof(((tc_config *)0)->transit_encryption_mode) - 1, .def = "",
     .help = "\"preferred\": plain and TLS clients and peers both accepted (the step of a rolling change); "
             "\"required\": TLS only, the plain client port refuses every command and plaintext peers are refused; "
             "empty: each port as its own settings say",
     .form = "empty, \"preferred\" or \"required\"", .rule = transit_mode_rule},
    /* Users and access control (node/acl.h). */
    {.name = "enable_debug_command", .type = T_ENUM, FIELD(enable_debug_command), .min = TC_DEBUG_CMD_NO,
     .max = TC_DEBUG_CMD_LOCAL, .def = "local", .redis_row = 1,
     .help = "who may run DEBUG: nobody (no), everyone (yes), or clients on 127.0.0.1/::1 (local); a user whose "
             "rules name +debug may run it from anywhere",
     .words = DEBUG_CMD_WORDS},
    {.name = "acl_file", .type = T_STRING, FIELD(acl_file), .min = 0, .max = TC_CONFIG_MAX_STR - 1, .def = "",
     .help = "file of users (ACL SETUSER rules, one user a line: user <name> <rules...>) loaded when the cluster "
             "first starts; later changes go through ACL SETUSER",
     .form = "empty or a file path", .rule = no_control_rule},
};

#define NSETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

static const char *const NODE_KEYS[] = {"id", "zone", "client_addr", "raft_addr", "data_dir", "join", "tls_client_addr", NULL};

/* ---------- small text helpers ---------- */

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch; }

static int equal_nocase(const char *a, const char *b)
{
    while (*a && lower(*a) == lower(*b)) a++, b++;
    return lower(*a) == lower(*b);
}

/* Copies untrusted text into a message: printable ASCII as is, other bytes
 * as \xNN (keeps CR/LF out of RESP error lines), cut with "..." if long. */
static const char *shown(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (o + 8 >= outlen) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '\\', out[o++] = 'x', out[o++] = hex[ch >> 4], out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* 1kb / 4gb when exact, else plain bytes: for hints. */
static const char *human_size(uint64_t n, char *out, size_t outlen)
{
    if (n != 0 && n % GB == 0)
        snprintf(out, outlen, "%" PRIu64 "gb", n / GB);
    else if (n != 0 && n % MB == 0)
        snprintf(out, outlen, "%" PRIu64 "mb", n / MB);
    else if (n != 0 && n % KB == 0)
        snprintf(out, outlen, "%" PRIu64 "kb", n / KB);
    else
        snprintf(out, outlen, "%" PRIu64, n);
    return out;
}

/* Digits only, no sign; fails on overflow. Advances *s past the digits. */
static int parse_digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t n = 0;
    if (!is_digit(*p)) return -1;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10) return -1;
        n = n * 10 + d;
    }
    *s = p;
    *out = n;
    return 0;
}

int tc_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1}, {"b", 1}, {"k", KB}, {"kb", KB}, {"m", MB}, {"mb", MB}, {"g", GB}, {"gb", GB}};
    uint64_t n;
    if (!s || !out || parse_digits(&s, &n) < 0) return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (!equal_nocase(s, units[i].unit)) continue;
        if (n > UINT64_MAX / units[i].mult) return -1;
        *out = n * units[i].mult;
        return 0;
    }
    return -1;
}

int tc_parse_duration_ms(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};
    uint64_t n;
    if (!s || !out || parse_digits(&s, &n) < 0) return -1;
    if (*s == '\0') {
        /* a bare number is ambiguous (seconds? ms?) except for zero */
        if (n != 0) return -1;
        *out = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (!equal_nocase(s, units[i].unit)) continue;
        if (n > UINT64_MAX / units[i].ms) return -1;
        *out = n * units[i].ms;
        return 0;
    }
    return -1;
}

/* Redis-style integer (string2ll): optional '-', no leading zeros (so no
 * "-0"), no '+', no spaces. */
static int parse_int64(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t n;
    if (neg) s++;
    if (s[0] == '0' && (s[1] != '\0' || neg)) return -1;
    if (parse_digits(&s, &n) < 0 || *s != '\0') return -1;
    if (n > (uint64_t)INT64_MAX + (uint64_t)neg) return -1;
    *out = neg ? (n == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n) : (int64_t)n;
    return 0;
}

/* ---------- values ---------- */

/* A parsed setting value before it is stored. */
typedef struct value {
    uint64_t num;    /* numbers, enum index, bool */
    const char *str; /* strings (borrowed) */
} value;

static int in_range(const setting *s, uint64_t n)
{
    if (s->sign) return (int64_t)n >= (int64_t)s->min && (int64_t)n <= (int64_t)s->max;
    return (s->zero_ok && n == 0) || (n >= s->min && n <= s->max);
}

/* NULL if str is acceptable for this string setting, else why not. */
static const char *string_problem(const setting *s, const char *str, char *buf, size_t buflen)
{
    size_t len = strlen(str);
    if (len < s->min) return s->min == 1 ? "must not be empty" : "is too short";
    if (len > s->max) {
        snprintf(buf, buflen, "is too long (at most %" PRIu64 " characters)", s->max);
        return buf;
    }
    return s->rule ? s->rule(str) : NULL;
}

static int word_index(const char *const *words, const char *w)
{
    for (int i = 0; words[i]; i++)
        if (equal_nocase(words[i], w)) return i;
    return -1;
}

static void store(tc_config *c, const setting *s, value v)
{
    char *field = (char *)c + s->offset;
    switch (s->type) {
    case T_STRING:
        snprintf(field, s->size, "%s", v.str); /* length already checked against max < size */
        break;
    case T_ENUM:
    case T_BOOL: {
        int i = (int)v.num;
        memcpy(field, &i, sizeof i);
        break;
    }
    case T_SIZE:
    case T_DURATION:
    case T_INT:
        memcpy(field, &v.num, sizeof v.num);
        break;
    }
}

static void render(const tc_config *c, const setting *s, char *out, size_t outlen)
{
    const char *field = (const char *)c + s->offset;
    uint64_t n;
    int i;
    switch (s->type) {
    case T_STRING:
        snprintf(out, outlen, "%s", field);
        return;
    case T_ENUM:
        memcpy(&i, field, sizeof i);
        snprintf(out, outlen, "%s", i >= 0 && (uint64_t)i <= s->max ? s->words[i] : "?");
        return;
    case T_BOOL:
        memcpy(&i, field, sizeof i);
        snprintf(out, outlen, "%s", i ? "yes" : "no");
        return;
    case T_DURATION:
        memcpy(&n, field, sizeof n);
        /* Redis reports timeout in whole seconds; round up so that a
         * sub-second timeout never reads as 0, which means "off". Our own
         * durations read back as CONFIG SET takes them. */
        if (s->redis_seconds) snprintf(out, outlen, "%" PRIu64, n / 1000 + (n % 1000 != 0));
        else snprintf(out, outlen, "%" PRIu64 "ms", n);
        return;
    case T_SIZE:
    case T_INT:
        memcpy(&n, field, sizeof n);
        if (s->sign) snprintf(out, outlen, "%" PRId64, (int64_t)n);
        else snprintf(out, outlen, "%" PRIu64, n);
        return;
    }
}

/* CONFIG SET (and built-in defaults): text to value, with the Redis reason
 * ("argument must be ...") on failure. */
static int value_from_text(const setting *s, const char *text, value *v, char *why, size_t whylen)
{
    const char *problem;
    char buf[64];
    int64_t i;
    memset(v, 0, sizeof *v);
    switch (s->type) {
    case T_STRING:
        if ((problem = string_problem(s, text, buf, sizeof buf))) {
            snprintf(why, whylen, "argument %s", problem);
            return -1;
        }
        v->str = text;
        return 0;
    case T_ENUM: {
        int w = word_index(s->words, text);
        if (w < 0) {
            size_t o = (size_t)snprintf(why, whylen, "argument(s) must be one of the following:");
            for (int k = 0; s->words[k] && o < whylen; k++)
                o += (size_t)snprintf(why + o, whylen - o, "%s %s", k ? "," : "", s->words[k]);
            return -1;
        }
        v->num = (uint64_t)w;
        return 0;
    }
    case T_BOOL:
        if (equal_nocase(text, "yes") || equal_nocase(text, "no")) {
            v->num = equal_nocase(text, "yes");
            return 0;
        }
        snprintf(why, whylen, "argument must be 'yes' or 'no'");
        return -1;
    case T_INT:
        if (parse_int64(text, &i) < 0) {
            snprintf(why, whylen, "argument couldn't be parsed into an integer");
            return -1;
        }
        if ((i < 0 && !s->sign) || !in_range(s, (uint64_t)i)) goto range;
        v->num = (uint64_t)i;
        return 0;
    case T_SIZE:
        if (tc_parse_size(text, &v->num) < 0) {
            snprintf(why, whylen, "argument must be a memory value");
            return -1;
        }
        if (!in_range(s, v->num)) goto range;
        return 0;
    case T_DURATION: {
        /* as in Redis, a bare number is seconds; "300ms" style also works */
        const char *p = text;
        uint64_t secs;
        if (parse_digits(&p, &secs) == 0 && *p == '\0') {
            if (secs > UINT64_MAX / 1000) goto range;
            v->num = secs * 1000;
        } else if (tc_parse_duration_ms(text, &v->num) < 0) {
            snprintf(why, whylen, "argument must be a duration such as 300ms, 5s, 2m or 1h, or a number of seconds");
            return -1;
        }
        if (!in_range(s, v->num)) goto range;
        return 0;
    }
    }
    return -1;

range:
    if (s->type == T_DURATION && s->redis_seconds)
        snprintf(why, whylen, "argument must be between %" PRIu64 " and %" PRIu64 " seconds inclusive", s->min / 1000,
                 s->max / 1000);
    else if (s->type == T_DURATION)
        snprintf(why, whylen, "argument must be between %" PRIu64 "ms and %" PRIu64 "ms inclusive", s->min, s->max);
    else if (s->sign)
        snprintf(why, whylen, "argument must be between %" PRId64 " and %" PRId64 " inclusive", (int64_t)s->min,
                 (int64_t)s->max);
    else if (s->zero_ok && s->max == UINT64_MAX)
        snprintf(why, whylen, "argument must be 0 or at least %" PRIu64, s->min);
    else if (s->zero_ok)
        snprintf(why, whylen, "argument must be 0 or between %" PRIu64 " and %" PRIu64 " inclusive", s->min, s->max);
    else
        snprintf(why, whylen, "argument must be between %" PRIu64 " and %" PRIu64 " inclusive", s->min, s->max);
    return -1;
}

/* "hz is an integer between 1 and 500 (default 10)": what a TOML value should be. */
static const char *setting_hint(const setting *s, char *out, size_t outlen)
{
    char lo[32], hi[32];
    switch (s->type) {
    case T_STRING:
        snprintf(out, outlen, "%s is %s (default \"%s\")", s->name, s->form, s->def);
        break;
    case T_INT:
        if (s->sign)
            snprintf(out, outlen, "%s is an integer between %" PRId64 " and %" PRId64 " (default %s)", s->name,
                     (int64_t)s->min, (int64_t)s->max, s->def);
        else
            snprintf(out, outlen, "%s is an integer between %" PRIu64 " and %" PRIu64 " (default %s)", s->name,
                     s->min, s->max, s->def);
        break;
    case T_SIZE:
        if (s->zero_ok && s->max == UINT64_MAX)
            snprintf(out, outlen, "%s is a size such as \"%s\" (units kb, mb, gb), at least %s, or 0 for unlimited (default \"%s\")",
                     s->name, s->def, human_size(s->min, lo, sizeof lo), s->def);
        else
            snprintf(out, outlen, "%s is a size such as \"%s\" (units kb, mb, gb) between %s and %s (default \"%s\")",
                     s->name, s->def, human_size(s->min, lo, sizeof lo), human_size(s->max, hi, sizeof hi), s->def);
        break;
    case T_DURATION:
        snprintf(out, outlen,
                 "%s is a duration string such as \"300ms\", \"30s\", \"2m\" or \"1h\"; \"0\" turns it off (default \"%s\")",
                 s->name, s->def);
        break;
    case T_ENUM: {
        size_t o = (size_t)snprintf(out, outlen, "%s is one of", s->name);
        for (int k = 0; s->words[k] && o < outlen; k++)
            o += (size_t)snprintf(out + o, outlen - o, "%s %s", k ? "," : "", s->words[k]);
        if (o < outlen) snprintf(out + o, outlen - o, " (default \"%s\")", s->def);
        break;
    }
    case T_BOOL:
        snprintf(out, outlen, "%s is true or false (default %s)", s->name,
                 equal_nocase(s->def, "yes") ? "true" : "false");
        break;
    }
    return out;
}

static const char *expected_type(const setting *s)
{
    switch (s->type) {
    case T_STRING: return "a string";
    case T_INT: return "an integer";
    case T_SIZE: return "a size (a number of bytes or a string such as \"512mb\")";
    case T_DURATION: return "a duration string such as \"300ms\"";
    case T_ENUM: return "a string";
    case T_BOOL: return "true or false";
    }
    return "a value";
}

/* ---------- errors and suggestions ---------- */

typedef struct ctx {
    const char *name; /* file name for messages */
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *x, int line, const char *hint, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(ctx *x, int line, const char *hint, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (x->err && x->errlen)
        snprintf(x->err, x->errlen, "%s:%d: %s\n  hint: %s", x->name, line, msg, hint && *hint ? hint : DEFAULT_HINT);
    return -1;
}

/* Levenshtein distance on names compared case-insensitively with '-' = '_',
 * so "max-clients" and "MaxClients" are near "maxclients". Long input is
 * simply "far": nobody mistypes a 12-letter setting as 60 letters. */
static size_t name_distance(const char *a, const char *b)
{
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b), row[MAXLEN + 1];
    if (la > MAXLEN || lb > MAXLEN) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = a[i - 1] == '-' ? '_' : lower(a[i - 1]), cb = b[j - 1] == '-' ? '_' : lower(b[j - 1]);
            size_t best = diag + (ca != cb);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = row[j];
            row[j] = best;
        }
    }
    return row[lb];
}

/* Hint for an unknown key: "did you mean 'x'?" for a near miss, else the list. */
/* names[0..n) are suggested; only names[0..nlist) are listed. */
static const char *unknown_key_hint(const char *key, const char *const *names, size_t n, size_t nlist,
                                    const char *list_intro, const char *list_tail, char *out, size_t outlen)
{
    size_t best = SIZE_MAX, best_i = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = name_distance(key, names[i]);
        if (d < best) best = d, best_i = i;
    }
    if (best <= 2) {
        snprintf(out, outlen, "did you mean '%s'?", names[best_i]);
        return out;
    }
    size_t o = (size_t)snprintf(out, outlen, "%s", list_intro);
    for (size_t i = 0; i < nlist && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : " ", names[i]);
    if (o < outlen) snprintf(out + o, outlen - o, "%s", list_tail);
    return out;
}

static int is_encoding_threshold(const setting *s)
{
    return strstr(s->name, "_max_listpack_") || strstr(s->name, "_max_intset_");
}

static const char *unknown_setting_hint(const char *key, char *out, size_t outlen)
{
    const char *names[NSETTINGS + 2];
    size_t n = 0;
    /* table keys are listed with their table, the eight encoding
     * thresholds as one item (the list stays readable); all are suggested */
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strchr(SETTINGS[i].name, '.') && !is_encoding_threshold(&SETTINGS[i])) names[n++] = SETTINGS[i].name;
    size_t nlist = n;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (is_encoding_threshold(&SETTINGS[i])) names[n++] = SETTINGS[i].name;
    names[n++] = "node"; /* so "[[nodes]]" or "Node" get "did you mean 'node'?" */
    names[n++] = "backup";
    return unknown_key_hint(key, names, n, nlist, "known settings are",
                            ", the encoding thresholds (hash_max_listpack_entries and the like), a [backup] table and "
                            "[[node]] tables",
                            out, outlen);
}

/* ---------- loading ---------- */

static const setting *find_setting(const char *toml_name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(SETTINGS[i].name, toml_name) == 0) return &SETTINGS[i];
    return NULL;
}

static int load_setting(ctx *x, tc_config *c, const setting *s, const tc_toml_entry *e)
{
    const tc_toml_value *tv = &e->value;
    char hint[320], buf[96], reason[64];
    value v = {0};
    setting_hint(s, hint, sizeof hint);

    switch (s->type) {
    case T_STRING:
        if (tv->type != TC_TOML_STRING) break;
        {
            const char *problem = string_problem(s, tv->as.string, reason, sizeof reason);
            if (problem) return fail(x, tv->line, hint, "%s %s", s->name, problem);
        }
        v.str = tv->as.string;
        store(c, s, v);
        return 0;
    case T_INT:
        if (tv->type != TC_TOML_INTEGER) break;
        if (s->sign && !in_range(s, (uint64_t)tv->as.integer))
            return fail(x, tv->line, hint, "%s must be between %" PRId64 " and %" PRId64 ", got %" PRId64, s->name,
                        (int64_t)s->min, (int64_t)s->max, tv->as.integer);
        if (!s->sign && (tv->as.integer < 0 || !in_range(s, (uint64_t)tv->as.integer)))
            return fail(x, tv->line, hint, "%s must be between %" PRIu64 " and %" PRIu64 ", got %" PRId64, s->name,
                        s->min, s->max, tv->as.integer);
        v.num = (uint64_t)tv->as.integer;
        store(c, s, v);
        return 0;
    case T_SIZE:
        if (tv->type == TC_TOML_INTEGER) {
            if (tv->as.integer < 0) return fail(x, tv->line, hint, "%s must not be negative", s->name);
            v.num = (uint64_t)tv->as.integer;
        } else if (tv->type == TC_TOML_STRING) {
            if (tc_parse_size(tv->as.string, &v.num) < 0)
                return fail(x, tv->line, hint, "%s: \"%s\" is not a size", s->name, shown(tv->as.string, buf, sizeof buf));
        } else {
            break;
        }
        if (!in_range(s, v.num)) {
            const char *got = tv->type == TC_TOML_STRING ? tv->as.string : NULL;
            char num[32];
            if (!got) {
                snprintf(num, sizeof num, "%" PRIu64, v.num);
                got = num;
            }
            return fail(x, tv->line, hint, "%s = %s is out of range", s->name, shown(got, buf, sizeof buf));
        }
        store(c, s, v);
        return 0;
    case T_DURATION:
        if (tv->type == TC_TOML_INTEGER) {
            /* 300 could mean seconds or milliseconds; make the unit explicit */
            snprintf(hint, sizeof hint, "write the duration as a string with a unit, e.g. %s = \"300ms\" (or \"30s\", \"2m\", \"1h\"; \"0\" turns it off)",
                     s->name);
            return fail(x, tv->line, hint, "%s needs a unit: a bare integer is not a duration", s->name);
        }
        if (tv->type != TC_TOML_STRING) break;
        if (tc_parse_duration_ms(tv->as.string, &v.num) < 0)
            return fail(x, tv->line, hint, "%s: \"%s\" is not a duration", s->name, shown(tv->as.string, buf, sizeof buf));
        if (!in_range(s, v.num))
            return fail(x, tv->line, hint, "%s = \"%s\" is out of range", s->name, shown(tv->as.string, buf, sizeof buf));
        store(c, s, v);
        return 0;
    case T_ENUM: {
        if (tv->type != TC_TOML_STRING) break;
        int w = word_index(s->words, tv->as.string);
        if (w < 0)
            return fail(x, tv->line, hint, "%s: unknown value \"%s\"", s->name, shown(tv->as.string, buf, sizeof buf));
        v.num = (uint64_t)w;
        store(c, s, v);
        return 0;
    }
    case T_BOOL:
        if (tv->type != TC_TOML_BOOLEAN) break;
        v.num = (uint64_t)tv->as.boolean;
        store(c, s, v);
        return 0;
    }
    return fail(x, tv->line, hint, "%s must be %s, not %s", s->name, expected_type(s), tc_toml_type_name(tv->type));
}

/* "host:port" or "[v6]:port". On failure returns why. */
static const char *parse_addr(const char *s, char *host, size_t hostlen, int *port)
{
    const char *h, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return "missing ']' after the IPv6 address";
        h = s + 1;
        hlen = (size_t)(close - h);
        if (hlen == 0) return "the host is empty";
        for (size_t i = 0; i < hlen; i++) {
            char ch = lower(h[i]);
            if (!(is_digit(ch) || (ch >= 'a' && ch <= 'f') || ch == ':' || ch == '.'))
                return "an address in brackets must be an IPv6 address";
        }
        if (close[1] != ':') return "expected ':port' after ']'";
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return "missing ':port'";
        h = s;
        hlen = (size_t)(colon - s);
        if (hlen == 0) return "the host is empty";
        if (memchr(h, ':', hlen)) return "IPv6 addresses must be written in brackets, e.g. \"[::1]:7001\"";
        for (size_t i = 0; i < hlen; i++) {
            char ch = lower(h[i]);
            if (!(is_digit(ch) || (ch >= 'a' && ch <= 'z') || ch == '.' || ch == '-' || ch == '_'))
                return "the host may only contain letters, digits, '.', '-' and '_'";
        }
    }
    if (hlen >= hostlen) return "the host is too long";
    const char *p = colon + 1;
    uint64_t n;
    if (*p == '\0') return "the port is missing";
    if (strlen(p) > 5 || parse_digits(&p, &n) < 0 || *p != '\0') return "the port must be a number";
    if (n < 1 || n > 65535) return "the port must be between 1 and 65535";
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)n;
    return NULL;
}

static int same_addr(const char *h1, int p1, const char *h2, int p2)
{
    return p1 == p2 && equal_nocase(h1, h2); /* host names are case-insensitive */
}

static const char *format_addr(const char *host, int port, char *out, size_t outlen)
{
    snprintf(out, outlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    return out;
}

/* Another node (or this node's other address) already using host:port? */
static int check_addr_unique(ctx *x, const tc_config *c, const tc_node_conf *n, int line, const char *key,
                             const char *host, int port)
{
    char a[TC_CONFIG_MAX_STR + 16];
    const char *hint = "every node needs its own client_addr and raft_addr; no two may share a host:port";
    for (size_t j = 0; j < c->nnodes; j++) {
        const tc_node_conf *o = &c->nodes[j];
        if (same_addr(host, port, o->client_host, o->client_port) || same_addr(host, port, o->raft_host, o->raft_port) ||
            (o->tls_port && same_addr(host, port, o->tls_host, o->tls_port)))
            return fail(x, line, hint, "%s %s is already used by node %d (line %d)", key,
                        format_addr(host, port, a, sizeof a), o->id, o->line);
    }
    if (strcmp(key, "client_addr") != 0 && same_addr(host, port, n->client_host, n->client_port))
        return fail(x, line, hint, "%s %s is the same as this node's client_addr", key,
                    format_addr(host, port, a, sizeof a));
    return 0;
}

static int load_node(ctx *x, tc_config *c, const tc_toml_table *t)
{
    tc_node_conf n;
    int line_of[7] = {0}; /* by NODE_KEYS index: where each key was set */
    char buf[96], hint[320];
    memset(&n, 0, sizeof n);
    n.line = t->line;

    if (c->nnodes >= TC_CONFIG_MAX_NODES)
        return fail(x, t->line, "a cluster has at most 16 nodes", "too many [[node]] tables (at most %d)",
                    TC_CONFIG_MAX_NODES);

    for (size_t i = 0; i < t->len; i++) {
        const tc_toml_entry *e = &t->entries[i];
        const tc_toml_value *tv = &e->value;
        int k;
        for (k = 0; NODE_KEYS[k] && strcmp(NODE_KEYS[k], e->key) != 0; k++) {}
        if (!NODE_KEYS[k])
            return fail(x, e->line, unknown_key_hint(e->key, NODE_KEYS, 7, 7, "node keys are", "", hint, sizeof hint),
                        "unknown key '%s' in [[node]]", shown(e->key, buf, sizeof buf));
        line_of[k] = e->line;

        if (k == 0) { /* id */
            const char *id_hint = "id is the node's number, an integer between 1 and 65535, unique in the cluster";
            if (tv->type != TC_TOML_INTEGER)
                return fail(x, tv->line, id_hint, "id must be an integer, not %s", tc_toml_type_name(tv->type));
            if (tv->as.integer < 1 || tv->as.integer > 65535)
                return fail(x, tv->line, id_hint, "id must be between 1 and 65535, got %" PRId64, tv->as.integer);
            n.id = (int)tv->as.integer;
            for (size_t j = 0; j < c->nnodes; j++)
                if (c->nodes[j].id == n.id)
                    return fail(x, tv->line, id_hint, "duplicate node id %d (also used by the node on line %d)", n.id,
                                c->nodes[j].line);
            continue;
        }
        if (k == 5) { /* join */
            const char *join_hint = "join = true marks a node added later with MEMBERS ADD (it does not bootstrap)";
            if (tv->type != TC_TOML_BOOLEAN)
                return fail(x, tv->line, join_hint, "join must be true or false, not %s", tc_toml_type_name(tv->type));
            n.join = tv->as.boolean;
            continue;
        }

        if (tv->type != TC_TOML_STRING)
            return fail(x, tv->line, NODE_HINT, "%s must be a string, not %s", e->key, tc_toml_type_name(tv->type));
        const char *str = tv->as.string;
        if (k == 1) { /* zone */
            const char *zone_hint = "zone names the failure domain (rack, datacenter) of the node: 1 to 63 characters";
            if (!*str) return fail(x, tv->line, zone_hint, "zone must not be empty");
            if (strlen(str) >= sizeof n.zone) return fail(x, tv->line, zone_hint, "zone is too long (at most 63 characters)");
            if (no_control_rule(str)) return fail(x, tv->line, zone_hint, "zone must not contain control characters");
            memcpy(n.zone, str, strlen(str) + 1);
        } else if (k == 2 || k == 3 || k == 6) { /* client_addr, raft_addr, tls_client_addr */
            char *host = k == 2 ? n.client_host : k == 3 ? n.raft_host : n.tls_host;
            int *port = k == 2 ? &n.client_port : k == 3 ? &n.raft_port : &n.tls_port;
            const char *why = parse_addr(str, host, TC_CONFIG_MAX_STR, port);
            snprintf(hint, sizeof hint,
                     "%s is \"host:port\" with a port from 1 to 65535, e.g. \"127.0.0.1:7001\" or \"[::1]:7001\"", e->key);
            if (why) return fail(x, tv->line, hint, "%s \"%s\": %s", e->key, shown(str, buf, sizeof buf), why);
        } else { /* data_dir */
            const char *dir_hint = "data_dir is this node's directory (default <data_dir>/node-<id>)";
            if (strlen(str) >= sizeof n.data_dir)
                return fail(x, tv->line, dir_hint, "data_dir is too long (at most %d characters)", TC_CONFIG_MAX_STR - 1);
            if (no_control_rule(str)) return fail(x, tv->line, dir_hint, "data_dir must not contain control characters");
            memcpy(n.data_dir, str, strlen(str) + 1);
        }
    }

    for (int k = 0; k < 4; k++)
        if (!line_of[k]) return fail(x, t->line, NODE_HINT, "[[node]] is missing '%s'", NODE_KEYS[k]);
    /* uniqueness once both addresses are known, so the raft-vs-client check sees both */
    if (check_addr_unique(x, c, &n, line_of[2], "client_addr", n.client_host, n.client_port) < 0 ||
        check_addr_unique(x, c, &n, line_of[3], "raft_addr", n.raft_host, n.raft_port) < 0)
        return -1;
    if (n.tls_port) {
        char a[TC_CONFIG_MAX_STR + 16];
        if (check_addr_unique(x, c, &n, line_of[6], "tls_client_addr", n.tls_host, n.tls_port) < 0) return -1;
        if (same_addr(n.tls_host, n.tls_port, n.raft_host, n.raft_port))
            return fail(x, line_of[6], "the TLS client port needs an address of its own",
                        "tls_client_addr %s is the same as this node's raft_addr",
                        format_addr(n.tls_host, n.tls_port, a, sizeof a));
    }
    c->nodes[c->nnodes++] = n;
    return 0;
}

/* [backup]: its keys are the settings named "backup.<key>". */
static int load_backup_table(ctx *x, tc_config *c, const tc_toml_value *v)
{
    static const char *const KEYS[] = {"destination", "interval", "retain", "s3_endpoint", "s3_region",
                                       "s3_path_style", "s3_credentials_file", "allowed_destinations", NULL};
    char name[64], buf[96], hint[1024];
    if (v->type != TC_TOML_TABLE)
        return fail(x, v->line, "write the backup settings in a [backup] table (see cluster.toml.example)",
                    "backup must be a table ([backup]), not %s", tc_toml_type_name(v->type));
    const tc_toml_table *t = v->as.table;
    for (size_t i = 0; i < t->len; i++) {
        const tc_toml_entry *e = &t->entries[i];
        snprintf(name, sizeof name, "backup.%s", e->key);
        const setting *s = strlen(e->key) < 40 ? find_setting(name) : NULL;
        if (!s)
            return fail(x, e->line, unknown_key_hint(e->key, KEYS, 8, 8, "[backup] keys are", "", hint, sizeof hint),
                        "unknown setting '%s' in [backup]", shown(e->key, buf, sizeof buf));
        if (load_setting(x, c, s, e) < 0) return -1;
    }
    return 0;
}

/* TLS between nodes needs a CA and a certificate; "preferred" and
 * "required" need it, and a TLS client port on every node, so that clients
 * and peers have somewhere to go. */
static int check_transit(ctx *x, tc_config *c, int last_line)
{
    const char *mode = c->transit_encryption_mode;
    if (c->transit_mode != TC_TRANSIT_UNSET && !c->tls_replication)
        return fail(x, last_line, "set tls_replication = true (with tls_ca_cert_file and node certificates)",
                    "transit_encryption_mode = \"%s\" needs tls_replication = true", mode);
    if (c->tls_replication) {
        if (!c->tls_ca_cert_file[0] && !c->tls_ca_cert_dir[0])
            return fail(x, last_line, "set tls_ca_cert_file to the CA that signed every node's certificate",
                        "tls_replication = true needs tls_ca_cert_file or tls_ca_cert_dir (the cluster's CA)");
        if ((!c->tls_raft_cert_file[0] && !c->tls_cert_file[0]) || (!c->tls_raft_key_file[0] && !c->tls_key_file[0]))
            return fail(x, last_line, "e.g. tls_raft_cert_file = \"/etc/tricache/node-{id}.crt\" and tls_raft_key_file",
                        "tls_replication = true needs a certificate and key: tls_raft_cert_file and tls_raft_key_file "
                        "(or tls_cert_file and tls_key_file)");
    }
    if (c->transit_mode != TC_TRANSIT_UNSET)
        for (size_t i = 0; i < c->nnodes; i++)
            if (!c->nodes[i].tls_port)
                return fail(x, c->nodes[i].line, "add tls_client_addr = \"host:port\" to every [[node]]",
                            "transit_encryption_mode = \"%s\" needs a tls_client_addr for every node; node %d has none",
                            mode, c->nodes[i].id);
    return 0;
}

static int load_root(ctx *x, tc_config *c, const tc_toml_table *root, int last_line)
{
    char buf[96], hint[2048]; /* the hint lists every setting */
    for (size_t i = 0; i < root->len; i++) {
        const tc_toml_entry *e = &root->entries[i];
        const setting *s = find_setting(e->key);
        if (s) {
            if (load_setting(x, c, s, e) < 0) return -1;
            continue;
        }
        if (strcmp(e->key, "backup") == 0) {
            if (load_backup_table(x, c, &e->value) < 0) return -1;
            continue;
        }
        if (strcmp(e->key, "node") == 0) {
            const tc_toml_value *v = &e->value;
            if (!(v->type == TC_TOML_ARRAY && v->as.array.of_tables))
                return fail(x, e->line, "write one [[node]] table (double brackets) per cluster node",
                            "node must be an array of tables ([[node]]), not %s", tc_toml_type_name(v->type));
            for (size_t j = 0; j < v->as.array.len; j++)
                if (load_node(x, c, v->as.array.items[j].as.table) < 0) return -1;
            continue;
        }
        unknown_setting_hint(e->key, hint, sizeof hint);
        if (e->value.type == TC_TOML_TABLE || (e->value.type == TC_TOML_ARRAY && e->value.as.array.of_tables))
            return fail(x, e->line, hint, "unknown table '%s'", shown(e->key, buf, sizeof buf));
        return fail(x, e->line, hint, "unknown setting '%s'", shown(e->key, buf, sizeof buf));
    }
    /* letters as CONFIG GET answers them, and the classes the node reads */
    c->notify_classes = tc_notify_parse(c->notify_keyspace_events);
    tc_notify_render(c->notify_classes, c->notify_keyspace_events);
    c->transit_mode = strcmp(c->transit_encryption_mode, "required") == 0    ? TC_TRANSIT_REQUIRED
                      : strcmp(c->transit_encryption_mode, "preferred") == 0 ? TC_TRANSIT_PREFERRED
                                                                            : TC_TRANSIT_UNSET;
    if (check_transit(x, c, last_line) < 0) return -1;
    if (c->at_rest_encryption && !c->keys_dir[0])
        return fail(x, last_line, "create a key with: tricachectl keys generate --dir /etc/tricache/keys, copy it to every node, and set keys_dir",
                    "at_rest_encryption = true needs keys_dir (the folder with the cluster's key files)");
    if (c->nnodes == 0)
        return fail(x, last_line, "add one [[node]] table per cluster node with id, zone, client_addr and raft_addr (see cluster.toml.example)",
                    "no [[node]] tables: at least one node is required");
    return 0;
}

void tc_config_defaults(tc_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++) {
        value v;
        char why[160];
        /* built-in defaults are valid by construction (a unit test checks it) */
        if (value_from_text(&SETTINGS[i], SETTINGS[i].def, &v, why, sizeof why) == 0) store(c, &SETTINGS[i], v);
    }
}

int tc_config_parse(tc_config *c, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    ctx x = {.name = name ? name : "config", .err = err, .errlen = errlen};
    tc_toml_table *root;
    tc_toml_error te;
    int last_line = 1;

    if (err && errlen) err[0] = '\0';
    tc_config_defaults(c);
    snprintf(c->path, sizeof c->path, "%s", x.name);
    if (tc_toml_parse(text, len, &root, &te) < 0) return fail(&x, te.line, te.hint, "%s", te.message);
    for (size_t i = 0; i + 1 < len; i++) /* the last line, for "no nodes" (ignores a final newline) */
        if (text[i] == '\n') last_line++;
    int rc = load_root(&x, c, root, last_line);
    tc_toml_free(root);
    return rc;
}

int tc_config_load(tc_config *c, const char *path, char *err, size_t errlen)
{
    static const char HINT[] = "pass --config with the path of your cluster.toml (see cluster.toml.example)";
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open config file: %s\n  hint: %s", path, strerror(errno), HINT);
        return -1;
    }
    char *buf = malloc(MAX_FILE_SIZE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory reading config file\n  hint: %s", path, HINT);
        return -1;
    }
    size_t n = fread(buf, 1, MAX_FILE_SIZE + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (read_errno) {
        snprintf(err, errlen, "%s: cannot read config file: %s\n  hint: %s", path, strerror(read_errno), HINT);
        rc = -1;
    } else if (n > MAX_FILE_SIZE) {
        snprintf(err, errlen, "%s: config file is larger than 1 MiB\n  hint: %s", path,
                 "cluster.toml is normally a few kilobytes; check that --config names the right file");
        rc = -1;
    } else {
        rc = tc_config_parse(c, path, buf, n, err, errlen);
    }
    free(buf);
    return rc;
}

void tc_config_node_dir(const tc_config *c, const tc_node_conf *n, char *out, size_t len)
{
    if (n->data_dir[0]) snprintf(out, len, "%s", n->data_dir);
    else snprintf(out, len, "%s/node-%d", c->data_dir, n->id);
}

const tc_node_conf *tc_config_node(const tc_config *c, int id)
{
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i].id == id) return &c->nodes[i];
    return NULL;
}

/* ---------- CONFIG GET / SET ---------- */

static void dashed(const char *name, char *out, size_t outlen)
{
    size_t i = 0;
    for (; name[i] && i + 1 < outlen; i++) out[i] = name[i] == '_' ? '-' : name[i];
    out[i] = '\0';
}

int tc_config_get(const tc_config *c, const char *pattern, tc_config_emit_fn emit, void *ud)
{
    char name[64], val[TC_CONFIG_MAX_STR + 32];
    int count = 0;
    if (!pattern) return 0;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (SETTINGS[i].redis_row) continue;
        dashed(SETTINGS[i].name, name, sizeof name);
        if (!tc_glob_match(pattern, strlen(pattern), name, strlen(name), 1)) continue;
        if (SETTINGS[i].secret) val[0] = '\0';
        else render(c, &SETTINGS[i], val, sizeof val);
        emit(ud, name, val);
        count++;
    }
    return count;
}

/* CONFIG SET names: dashed or underscored, any case. */
static const setting *find_config_name(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (SETTINGS[i].redis_row) continue;
        const char *a = SETTINGS[i].name, *b = name;
        while (*a && *b && (*a == (*b == '-' ? '_' : lower(*b)))) a++, b++;
        if (!*a && !*b) return &SETTINGS[i];
    }
    return NULL;
}

int tc_config_settable(const char *name, int *id)
{
    const setting *s = name ? find_config_name(name) : NULL;
    if (!s) return -1;
    if (id) *id = (int)(s - SETTINGS);
    return s->mut ? 0 : -2;
}

int tc_config_set(tc_config *c, const char *name, const char *value_text, char *err, size_t errlen)
{
    char nbuf[128], why[192];
    value v;
    if (!name) name = "";
    shown(name, nbuf, sizeof nbuf);
    const setting *s = find_config_name(name);
    if (!s) {
        snprintf(err, errlen, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", nbuf);
        return -1;
    }
    if (!s->mut) {
        snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config",
                 nbuf);
        return -2;
    }
    if (value_from_text(s, value_text ? value_text : "", &v, why, sizeof why) < 0) {
        snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", nbuf, why);
        return -3;
    }
    store(c, s, v); /* the only write: on any failure above *c is untouched */
    return 0;
}
