/* CONFIG GET / CONFIG SET over Redis 7.0's parameters (node/config_redis.c):
 * every name Redis has is answered, values are checked and normalised as
 * Redis does, bad ones are refused with Redis's texts, CONFIG SET is all or
 * nothing, and the parameters tricache honours change the node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_redis.h"
#include "fixture.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)
#define FAILED(name) "-ERR CONFIG SET failed (possibly related to argument '" name "') - "

static const char OK[] = "+OK\r\n";

/* What redis-server 7.0 answers to CONFIG GET * when it was started with
 * --port 16399 --save '' (so "port" and "save" are not its defaults): every
 * parameter, aliases included, with its default. */
static const struct {
    const char *name, *value;
} REDIS[] = {
    {"acl-pubsub-default", "resetchannels"}, {"aclfile", ""}, {"acllog-max-len", "128"},
    {"active-defrag-cycle-max", "25"}, {"active-defrag-cycle-min", "1"},
    {"active-defrag-ignore-bytes", "104857600"}, {"active-defrag-max-scan-fields", "1000"},
    {"active-defrag-threshold-lower", "10"}, {"active-defrag-threshold-upper", "100"},
    {"active-expire-effort", "1"}, {"activedefrag", "no"}, {"activerehashing", "yes"}, {"always-show-logo", "no"},
    {"aof-disable-auto-gc", "no"}, {"aof-load-truncated", "yes"}, {"aof-rewrite-incremental-fsync", "yes"},
    {"aof-timestamp-enabled", "no"}, {"aof-use-rdb-preamble", "yes"}, {"aof_rewrite_cpulist", ""},
    {"appenddirname", "appendonlydir"}, {"appendfilename", "appendonly.aof"}, {"appendfsync", "everysec"},
    {"appendonly", "no"}, {"auto-aof-rewrite-min-size", "67108864"}, {"auto-aof-rewrite-percentage", "100"},
    {"bgsave_cpulist", ""}, {"bind", "* -::*"}, {"bind-source-addr", ""}, {"bio_cpulist", ""},
    {"busy-reply-threshold", "5000"},
    {"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
    {"client-query-buffer-limit", "1073741824"}, {"cluster-allow-pubsubshard-when-down", "yes"},
    {"cluster-allow-reads-when-down", "no"}, {"cluster-allow-replica-migration", "yes"},
    {"cluster-announce-bus-port", "0"}, {"cluster-announce-hostname", ""}, {"cluster-announce-ip", ""},
    {"cluster-announce-port", "0"}, {"cluster-announce-tls-port", "0"}, {"cluster-config-file", "nodes.conf"},
    {"cluster-enabled", "no"}, {"cluster-link-sendbuf-limit", "0"}, {"cluster-migration-barrier", "1"},
    {"cluster-node-timeout", "15000"}, {"cluster-port", "0"}, {"cluster-preferred-endpoint-type", "ip"},
    {"cluster-replica-no-failover", "no"}, {"cluster-replica-validity-factor", "10"},
    {"cluster-require-full-coverage", "yes"}, {"cluster-slave-no-failover", "no"},
    {"cluster-slave-validity-factor", "10"}, {"crash-log-enabled", "yes"}, {"crash-memcheck-enabled", "yes"},
    {"daemonize", "no"}, {"databases", "16"}, {"dbfilename", "dump.rdb"}, {"dir", "/tmp"}, {"disable-thp", "yes"},
    {"dynamic-hz", "yes"}, {"enable-debug-command", "no"}, {"enable-module-command", "no"},
    {"enable-protected-configs", "no"}, {"hash-max-listpack-entries", "512"}, {"hash-max-listpack-value", "64"},
    {"hash-max-ziplist-entries", "512"}, {"hash-max-ziplist-value", "64"}, {"hll-sparse-max-bytes", "3000"},
    {"hz", "10"}, {"ignore-warnings", ""}, {"io-threads", "1"}, {"io-threads-do-reads", "no"},
    {"jemalloc-bg-thread", "yes"}, {"latency-monitor-threshold", "0"}, {"latency-tracking", "yes"},
    {"latency-tracking-info-percentiles", "50 99 99.9"}, {"lazyfree-lazy-eviction", "no"},
    {"lazyfree-lazy-expire", "no"}, {"lazyfree-lazy-server-del", "no"}, {"lazyfree-lazy-user-del", "no"},
    {"lazyfree-lazy-user-flush", "no"}, {"lfu-decay-time", "1"}, {"lfu-log-factor", "10"},
    {"list-compress-depth", "0"}, {"list-max-listpack-size", "-2"}, {"list-max-ziplist-size", "-2"},
    {"logfile", ""}, {"loglevel", "notice"}, {"lua-time-limit", "5000"}, {"masterauth", ""}, {"masteruser", ""},
    {"maxclients", "10000"}, {"maxmemory", "0"}, {"maxmemory-clients", "0"}, {"maxmemory-eviction-tenacity", "10"},
    {"maxmemory-policy", "noeviction"}, {"maxmemory-samples", "5"}, {"min-replicas-max-lag", "10"},
    {"min-replicas-to-write", "0"}, {"min-slaves-max-lag", "10"}, {"min-slaves-to-write", "0"},
    {"no-appendfsync-on-rewrite", "no"}, {"notify-keyspace-events", ""}, {"oom-score-adj", "no"},
    {"oom-score-adj-values", "0 200 800"}, {"pidfile", ""}, {"port", "16399"},
    {"proc-title-template", "{title} {listen-addr} {server-mode}"}, {"propagation-error-behavior", "ignore"},
    {"protected-mode", "yes"}, {"proto-max-bulk-len", "536870912"}, {"rdb-del-sync-files", "no"},
    {"rdb-save-incremental-fsync", "yes"}, {"rdbchecksum", "yes"}, {"rdbcompression", "yes"},
    {"repl-backlog-size", "1048576"}, {"repl-backlog-ttl", "3600"}, {"repl-disable-tcp-nodelay", "no"},
    {"repl-diskless-load", "disabled"}, {"repl-diskless-sync", "yes"}, {"repl-diskless-sync-delay", "5"},
    {"repl-diskless-sync-max-replicas", "0"}, {"repl-ping-replica-period", "10"}, {"repl-ping-slave-period", "10"},
    {"repl-timeout", "60"}, {"replica-announce-ip", ""}, {"replica-announce-port", "0"},
    {"replica-announced", "yes"}, {"replica-ignore-disk-write-errors", "no"}, {"replica-ignore-maxmemory", "yes"},
    {"replica-lazy-flush", "no"}, {"replica-priority", "100"}, {"replica-read-only", "yes"},
    {"replica-serve-stale-data", "yes"}, {"replicaof", ""}, {"requirepass", ""}, {"sanitize-dump-payload", "no"},
    {"save", ""}, {"server_cpulist", ""}, {"set-max-intset-entries", "512"}, {"set-proc-title", "yes"},
    {"shutdown-on-sigint", "default"}, {"shutdown-on-sigterm", "default"}, {"shutdown-timeout", "10"},
    {"slave-announce-ip", ""}, {"slave-announce-port", "0"}, {"slave-ignore-maxmemory", "yes"},
    {"slave-lazy-flush", "no"}, {"slave-priority", "100"}, {"slave-read-only", "yes"},
    {"slave-serve-stale-data", "yes"}, {"slaveof", ""}, {"slowlog-log-slower-than", "10000"},
    {"slowlog-max-len", "128"}, {"socket-mark-id", "0"}, {"stop-writes-on-bgsave-error", "yes"},
    {"stream-node-max-bytes", "4096"}, {"stream-node-max-entries", "100"}, {"supervised", "no"},
    {"syslog-enabled", "no"}, {"syslog-facility", "local0"}, {"syslog-ident", "redis"}, {"tcp-backlog", "511"},
    {"tcp-keepalive", "300"}, {"timeout", "0"}, {"tls-auth-clients", "yes"}, {"tls-ca-cert-dir", ""},
    {"tls-ca-cert-file", ""}, {"tls-cert-file", ""}, {"tls-ciphers", ""}, {"tls-ciphersuites", ""},
    {"tls-client-cert-file", ""}, {"tls-client-key-file", ""}, {"tls-client-key-file-pass", ""},
    {"tls-cluster", "no"}, {"tls-dh-params-file", ""}, {"tls-key-file", ""}, {"tls-key-file-pass", ""},
    {"tls-port", "0"}, {"tls-prefer-server-ciphers", "no"}, {"tls-protocols", ""}, {"tls-replication", "no"},
    {"tls-session-cache-size", "20480"}, {"tls-session-cache-timeout", "300"}, {"tls-session-caching", "yes"},
    {"tracking-table-max-keys", "1000000"}, {"unixsocket", ""}, {"unixsocketperm", "0"},
    {"zset-max-listpack-entries", "128"}, {"zset-max-listpack-value", "64"}, {"zset-max-ziplist-entries", "128"},
    {"zset-max-ziplist-value", "64"},
};

#define NREDIS (sizeof REDIS / sizeof REDIS[0])

/* Where tricache's answer differs from Redis's default on purpose (the
 * table in node/config_redis.c says why). */
static const char *const DIFFERENT[] = {
    "bind",      /* the host of client_addr */
    "port",      /* the port of client_addr */
    "dir",       /* the node's data directory */
    "client-output-buffer-limit", /* the normal class's hard limit is client_output_buffer_limit (1gb) */
    "enable-debug-command", /* enable_debug_command: "local" by default here (Redis 7.0: "no") */
    NULL,
};

static int differs(const char *name)
{
    for (int i = 0; DIFFERENT[i]; i++)
        if (strcmp(DIFFERENT[i], name) == 0) return 1;
    return 0;
}

/* Reads one bulk string of a RESP2 reply at *p into out; 0 or -1. */
static int read_bulk(const char **p, char *out, size_t outlen)
{
    char *end;
    if (**p != '$') return -1;
    long n = strtol(*p + 1, &end, 10);
    if (n < 0 || (size_t)n >= outlen || strncmp(end, "\r\n", 2) != 0) return -1;
    memcpy(out, end + 2, (size_t)n);
    out[n] = '\0';
    *p = end + 2 + n + 2;
    return 0;
}

/* CONFIG GET name: the value, or NULL unless the reply is one pair named
 * as asked. */
static const char *get1(fx *f, const char *name)
{
    static char value[16384];
    char got[256];
    const char *p = RUN(f, "CONFIG", "GET", name);
    if (strncmp(p, "*2\r\n", 4) != 0) return NULL;
    p += 4;
    if (read_bulk(&p, got, sizeof got) != 0 || strcmp(got, name) != 0) return NULL;
    if (read_bulk(&p, value, sizeof value) != 0 || *p) return NULL;
    return value;
}

#define GET_IS(f, name, want)                                                                                          \
    do {                                                                                                               \
        const char *v_ = get1((f), (name));                                                                            \
        if (!v_) fail_msg("CONFIG GET %s: not one pair", (name));                                                     \
        assert_string_equal(v_, (want));                                                                               \
    } while (0)

static void test_every_redis_name_is_answered(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < NREDIS; i++) {
        const char *v = get1(f, REDIS[i].name);
        if (!v) fail_msg("CONFIG GET %s is not one pair", REDIS[i].name);
        if (!differs(REDIS[i].name) && strcmp(v, REDIS[i].value) != 0)
            fail_msg("CONFIG GET %s: \"%s\", Redis's default is \"%s\"", REDIS[i].name, v, REDIS[i].value);
    }
    /* the node's own answers */
    GET_IS(f, "port", "7001");
    GET_IS(f, "bind", "127.0.0.1");
    GET_IS(f, "databases", "16"); /* the same default as Redis's, from cluster.toml's databases */
    GET_IS(f, "client-output-buffer-limit",
           "normal 1073741824 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    assert_true(get1(f, "dir")[0] == '/');
}

/* CONFIG GET * holds every Redis name once, and tricache's own settings. */
static void test_get_star(void **state)
{
    fx *f = *state;
    const char *p = RUN(f, "CONFIG", "GET", "*");
    char *end;
    assert_true(*p == '*');
    long n = strtol(p + 1, &end, 10);
    p = end + 2;
    static char names[512][96];
    long nnames = 0;
    char value[16384];
    for (long i = 0; i < n; i += 2) {
        assert_int_equal(read_bulk(&p, names[nnames], sizeof names[0]), 0);
        assert_int_equal(read_bulk(&p, value, sizeof value), 0);
        for (long k = 0; k < nnames; k++)
            if (strcmp(names[k], names[nnames]) == 0) fail_msg("CONFIG GET * answers %s twice", names[k]);
        nnames++;
    }
    for (size_t i = 0; i < NREDIS; i++) {
        long k = 0;
        while (k < nnames && strcmp(names[k], REDIS[i].name) != 0) k++;
        if (k == nnames) fail_msg("CONFIG GET * lacks %s", REDIS[i].name);
    }
    static const char *const own[] = {"cluster-name", "log-level", "auth-token", "read-consistency",
                                      "election-timeout", "backup.retain", NULL};
    for (int i = 0; own[i]; i++) {
        long k = 0;
        while (k < nnames && strcmp(names[k], own[i]) != 0) k++;
        if (k == nnames) fail_msg("CONFIG GET * lacks tricache's %s", own[i]);
    }
    /* glob over both, each name once */
    EXPECT(f, "*4\r\n$23\r\nzset-max-listpack-value\r\n$2\r\n64\r\n$22\r\nzset-max-ziplist-value\r\n$2\r\n64\r\n",
           "CONFIG", "GET", "zset-max-*-value");
    EXPECT(f, "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n", "CONFIG", "GET", "h?", "hz", "HZ");
    /* a name without glob characters is answered as written, as Redis does */
    EXPECT(f, "*2\r\n$14\r\nLua-Time-Limit\r\n$4\r\n5000\r\n", "CONFIG", "GET", "Lua-Time-Limit", "lua*");
    EXPECT(f, "*2\r\n$9\r\nLog-Level\r\n$6\r\nnotice\r\n", "CONFIG", "GET", "Log-Level");
    EXPECT(f, "*0\r\n", "CONFIG", "GET", "no-such-parameter");
}

/* Values are normalised as Redis normalises them. */
static void test_normalised_values(void **state)
{
    fx *f = *state;
    static const struct {
        const char *name, *set, *get;
    } cases[] = {
        {"maxmemory", "1k", "1000"},              {"maxmemory", "1kb", "1024"},
        {"maxmemory", "1K", "1000"},              {"maxmemory", "1KB", "1024"},
        {"maxmemory", "2m", "2000000"},           {"maxmemory", "2mb", "2097152"},
        {"maxmemory", "1g", "1000000000"},        {"maxmemory", "1GB", "1073741824"},
        {"maxmemory", "7b", "7"},                 {"maxmemory", "01", "1"},
        {"maxmemory", "", "0"},                   {"maxmemory", "18446744073709551615", "18446744073709551615"},
        {"maxmemory", "99999999999999999999999", "18446744073709551615"},
        {"maxmemory-clients", "10%", "10%"},      {"maxmemory-clients", "0%", "0"},
        {"maxmemory-clients", "1kb", "1024"},     {"repl-backlog-size", "1kb", "16384"},
        {"activerehashing", "NO", "no"},          {"activerehashing", "Yes", "yes"},
        {"maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"},
        {"oom-score-adj", "relative", "yes"},     {"appendfsync", "Always", "always"},
        {"list-max-listpack-size", "-5", "-5"},   {"slowlog-log-slower-than", "-1", "-1"},
        {"notify-keyspace-events", "KEA", "AKE"}, {"notify-keyspace-events", "Ex", "xE"},
        {"notify-keyspace-events", "Kn", "nK"},   {"notify-keyspace-events", "g$lshzxetd", "A"},
        {"notify-keyspace-events", "Agm", "Am"},  {"notify-keyspace-events", "", ""},
        {"save", "3600 1 300 100", "3600 1 300 100"}, {"save", "+5 01", "5 1"},
        {"save", "1 4294967297", "1 1"},          {"save", "10 ", "10 0"},
        {"save", "", ""},
        {"latency-tracking-info-percentiles", "50.0 99.90 1e-5", "50 99.9 0.00001"},
        {"latency-tracking-info-percentiles", "0.1234567", "0.123457"},
        {"latency-tracking-info-percentiles", "", ""},
        {"oom-score-adj-values", "+1 02 -3", "1 2 -3"},
        {"shutdown-on-sigint", "force now SAVE", "save now force"},
        {"shutdown-on-sigint", "default now", "now"}, {"shutdown-on-sigint", "default", "default"},
        {"client-output-buffer-limit", "replica 1k 1kb 4294967297",
         "normal 1073741824 0 0 slave 1000 1024 1 pubsub 33554432 8388608 60"},
        {"proc-title-template", "{title} {port} {{x}}", "{title} {port} {{x}}"},
        {"cluster-announce-hostname", "host-1.example", "host-1.example"},
        {"masterauth", "a b", ""}, /* a password: CONFIG GET shows "" (Redis shows it) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *r = RUN(f, "CONFIG", "SET", cases[i].name, cases[i].set);
        if (strcmp(r, OK) != 0) fail_msg("CONFIG SET %s '%s': %s", cases[i].name, cases[i].set, r);
        const char *v = get1(f, cases[i].name);
        if (!v || strcmp(v, cases[i].get) != 0)
            fail_msg("CONFIG SET %s '%s' then GET: '%s', Redis answers '%s'", cases[i].name, cases[i].set,
                     v ? v : "(no pair)", cases[i].get);
    }
}

/* Bad values are refused with Redis's own texts. */
static void test_bad_values(void **state)
{
    fx *f = *state;
    static const struct {
        const char *name, *value, *why;
    } cases[] = {
        {"activerehashing", "1", "argument must be 'yes' or 'no'"},
        {"activerehashing", " yes", "argument must be 'yes' or 'no'"},
        {"hash-max-listpack-entries", "+1", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", "01", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", "-0", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", "1e3", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", " 1", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", "9223372036854775808", "argument couldn't be parsed into an integer"},
        {"hash-max-listpack-entries", "-1", "argument must be between 0 and 9223372036854775807 inclusive"},
        {"active-defrag-cycle-max", "100", "argument must be between 1 and 99 inclusive"},
        {"list-max-listpack-size", "-2147483649", "argument must be between -2147483648 and 2147483647 inclusive"},
        {"slowlog-log-slower-than", "-2", "argument must be between -1 and 9223372036854775807 inclusive"},
        {"maxmemory", "-1", "argument must be a memory value"},
        {"maxmemory", "1t", "argument must be a memory value"},
        {"maxmemory", "1.5mb", "argument must be a memory value"},
        {"maxmemory", "+1", "argument must be a memory value"},
        {"maxmemory", "1 ", "argument must be a memory value"},
        {"repl-backlog-size", "0", "argument must be between 1 and 9223372036854775807 inclusive"},
        {"hash-max-listpack-value", "18446744073709551615",
         "argument must be between 0 and 9223372036854775807 inclusive"},
        {"maxmemory-clients", "101%", "percentage argument must be less or equal to 100"},
        {"maxmemory-clients", "-1%", "argument must be a memory or percent value"},
        {"maxmemory-policy", "lru",
         "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
         "allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
        {"oom-score-adj", "maybe", "argument(s) must be one of the following: no, yes, relative, absolute"},
        {"loglevel", "nothing", "argument(s) must be one of the following: debug, verbose, notice, warning"},
        {"notify-keyspace-events", "Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
        {"notify-keyspace-events", "KEA ", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."},
        {"save", "3600 1 300", "Invalid save parameters"},
        {"save", "0 1", "Invalid save parameters"},
        {"save", "10 -1", "Invalid save parameters"},
        {"save", "3600  1", "Invalid save parameters"},
        {"save", "  ", "Invalid save parameters"},
        {"save", "5 0x3", "Invalid save parameters"},
        {"client-output-buffer-limit", "normal 0 0", "Wrong number of arguments in buffer limit configuration."},
        {"client-output-buffer-limit", "master 0 0 0",
         "Invalid client class specified in buffer limit configuration."},
        {"client-output-buffer-limit", "normal -1 0 0",
         "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"client-output-buffer-limit", "pubsub 0 0 2147483648",
         "Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"client-output-buffer-limit", "normal 100 0 0", "argument must be 0 or at least 1048576"},
        {"oom-score-adj-values", "0 200", "wrong number of arguments"},
        {"oom-score-adj-values", "0 2001 0", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
        {"latency-tracking-info-percentiles", "101",
         "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"},
        {"latency-tracking-info-percentiles", "inf",
         "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"},
        {"latency-tracking-info-percentiles", "nan", "Invalid latency-tracking-info-percentiles parameters"},
        {"latency-tracking-info-percentiles", "50  99", "Invalid latency-tracking-info-percentiles parameters"},
        {"shutdown-on-sigterm", "save nosave", "shutdown options SAVE and NOSAVE can't be used simultaneously"},
        {"shutdown-on-sigterm", "", "argument(s) must be one of the following: default, save, nosave, now, force"},
        {"shutdown-on-sigterm", "save  now",
         "argument(s) must be one of the following: default, save, nosave, now, force"},
        {"proc-title-template", "{title}", "template format is invalid or contains unknown variables"},
        {"proc-title-template", "{bogus}", "template format is invalid or contains unknown variables"},
        {"proc-title-template", "{", "template format is invalid or contains unknown variables"},
        {"proc-title-template", " ", "template format is invalid or contains unknown variables"},
        {"cluster-announce-hostname", "a_b", "Hostnames may only contain alphanumeric characters, hyphens or dots"},
        {"port", "65536", "argument must be between 0 and 65535 inclusive"},
        {"port", "abc", "argument couldn't be parsed into an integer"},
        {"port", "7002", "tricache serves clients on the port of client_addr in cluster.toml (7001)"},
        {"bind", "* -::*", "tricache listens on the host of client_addr in cluster.toml (127.0.0.1)"},
        {"requirepass", "a b", "argument must be printable ASCII without spaces"},
        /* tricache's own settings read integers as Redis does too */
        {"maxclients", "-0", "argument couldn't be parsed into an integer"},
        {"maxclients", "+5", "argument couldn't be parsed into an integer"},
        {"hz", "010", "argument couldn't be parsed into an integer"},
    };
    char want[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char before[16384];
        const char *v = get1(f, cases[i].name);
        assert_non_null(v);
        snprintf(before, sizeof before, "%s", v);
        snprintf(want, sizeof want, FAILED("%s") "%s\r\n", cases[i].name, cases[i].why);
        const char *r = RUN(f, "CONFIG", "SET", cases[i].name, cases[i].value);
        if (strcmp(r, want) != 0) fail_msg("CONFIG SET %s '%s':\n  got  %s  want %s", cases[i].name, cases[i].value, r, want);
        GET_IS(f, cases[i].name, before);
    }
    char hostname[300];
    memset(hostname, 'x', 256);
    hostname[256] = '\0';
    EXPECT(f, FAILED("cluster-announce-hostname") "Hostnames must be less than 256 characters\r\n", "CONFIG", "SET",
           "cluster-announce-hostname", hostname);
    hostname[255] = '\0';
    EXPECT(f, OK, "CONFIG", "SET", "cluster-announce-hostname", hostname);
    /* NUL inside a value: refused, not cut */
    const char *argv[] = {"CONFIG", "SET", "maxmemory", "1\0002"};
    size_t lens[] = {6, 3, 9, 3};
    assert_string_equal(fx_runv(f, 4, argv, lens), FAILED("maxmemory") "argument contains a NUL byte\r\n");
    GET_IS(f, "maxmemory", "0");
}

/* Immutable and protected parameters are refused as Redis refuses them. */
static void test_immutable_and_protected(void **state)
{
    fx *f = *state;
    static const char *const immutable[] = {"daemonize", "databases", "cluster-enabled", "tcp-backlog", "logfile",
                                            "pidfile", "io-threads", "unixsocket", "replicaof", "slaveof",
                                            "enable-debug-command", "supervised", "rdbchecksum", NULL};
    char want[256];
    for (int i = 0; immutable[i]; i++) {
        snprintf(want, sizeof want, FAILED("%s") "can't set immutable config\r\n", immutable[i]);
        assert_string_equal(RUN(f, "CONFIG", "SET", immutable[i], "x"), want);
    }
    EXPECT(f, FAILED("dir") "can't set protected config\r\n", "CONFIG", "SET", "dir", "/tmp");
    EXPECT(f, FAILED("dbfilename") "can't set protected config\r\n", "CONFIG", "SET", "dbfilename", "x.rdb");
    /* tricache's own immutable settings too */
    EXPECT(f, FAILED("cluster-name") "can't set immutable config\r\n", "CONFIG", "SET", "cluster-name", "x");
}

/* Several pairs: all or nothing; names are all checked before any value. */
static void test_all_or_nothing(void **state)
{
    fx *f = *state;
    EXPECT(f, FAILED("appendonly") "argument must be 'yes' or 'no'\r\n", "CONFIG", "SET", "save", "10 1", "hz",
           "20", "appendonly", "maybe");
    GET_IS(f, "save", "");
    GET_IS(f, "hz", "10");
    EXPECT(f, FAILED("hz") "argument must be between 1 and 500 inclusive\r\n", "CONFIG", "SET", "maxmemory",
           "1mb", "loglevel", "debug", "hz", "0");
    GET_IS(f, "maxmemory", "0");
    GET_IS(f, "loglevel", "notice");
    assert_int_equal(f->srv.cfg.log_level, TC_LOG_NOTICE);
    /* the first name that is unknown or can't be set, before any value */
    EXPECT(f, FAILED("daemonize") "can't set immutable config\r\n", "CONFIG", "SET", "hz", "abc", "daemonize", "no");
    EXPECT(f, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n", "CONFIG", "SET", "hz",
           "abc", "nosuch", "1");
    EXPECT(f, FAILED("daemonize") "can't set immutable config\r\n", "CONFIG", "SET", "daemonize", "no", "nosuch",
           "1");
    EXPECT(f, FAILED("HZ") "duplicate parameter\r\n", "CONFIG", "SET", "hz", "10", "HZ", "11");
    EXPECT(f, FAILED("maxmemory") "duplicate parameter\r\n", "CONFIG", "SET", "maxmemory", "1", "maxmemory", "2");
    /* an alias is another name: both are set, the last one wins */
    EXPECT(f, OK, "CONFIG", "SET", "hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2");
    GET_IS(f, "hash-max-ziplist-entries", "2");
    EXPECT(f, OK, "CONFIG", "SET", "slave-priority", "5");
    GET_IS(f, "replica-priority", "5");
    /* all good: all kept */
    EXPECT(f, OK, "CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "allkeys-lru", "hz", "20", "save",
           "3600 1", "appendonly", "yes");
    GET_IS(f, "maxmemory", "104857600");
    GET_IS(f, "maxmemory-policy", "allkeys-lru");
    GET_IS(f, "hz", "20");
    GET_IS(f, "save", "3600 1");
    GET_IS(f, "appendonly", "yes");
    EXPECT(f, "-ERR syntax error\r\n", "CONFIG", "SET", "hz", "1", "maxmemory");
    EXPECT(f, "-ERR wrong number of arguments for 'config|set' command\r\n", "CONFIG", "SET", "hz");
    EXPECT(f, "-ERR wrong number of arguments for 'config|get' command\r\n", "CONFIG", "GET");
    EXPECT(f, "-ERR wrong number of arguments for 'config|help' command\r\n", "CONFIG", "HELP", "x");
}

/* The parameters tricache honours change the node. */
static void test_honoured(void **state)
{
    fx *f = *state;
    EXPECT(f, OK, "CONFIG", "SET", "loglevel", "verbose");
    assert_int_equal(f->srv.cfg.log_level, TC_LOG_INFO);
    GET_IS(f, "log-level", "info");
    EXPECT(f, OK, "CONFIG", "SET", "log-level", "warning");
    GET_IS(f, "loglevel", "warning");
    EXPECT(f, OK, "CONFIG", "SET", "loglevel", "notice");

    EXPECT(f, OK, "CONFIG", "SET", "requirepass", "s3cret");
    assert_string_equal(f->srv.cfg.auth_token, "s3cret");
    GET_IS(f, "auth-token", ""); /* stored, never shown */
    GET_IS(f, "requirepass", "");
    EXPECT(f, OK, "CONFIG", "SET", "masterauth", "upstream-pw");
    /* every parameter at once, and the patterns a client might try */
    assert_null(strstr(RUN(f, "CONFIG", "GET", "*"), "s3cret"));
    assert_null(strstr(RUN(f, "CONFIG", "GET", "*pass*", "auth*"), "s3cret"));
    assert_null(strstr(RUN(f, "CONFIG", "GET", "*"), "upstream-pw"));
    assert_non_null(strstr(RUN(f, "CONFIG", "GET", "*"), "requirepass")); /* listed, with "" */
    EXPECT(f, OK, "CONFIG", "SET", "requirepass", "");
    assert_string_equal(f->srv.cfg.auth_token, "");

    EXPECT(f, OK, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 1mb 2mb 3");
    assert_true(f->srv.cfg.client_output_buffer_limit == 0);
    GET_IS(f, "client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2097152 3");
    EXPECT(f, OK, "CONFIG", "SET", "client-output-buffer-limit", "2gb"); /* tricache's own form: the hard limit */
    assert_true(f->srv.cfg.client_output_buffer_limit == UINT64_C(2) << 30);
    GET_IS(f, "client-output-buffer-limit",
           "normal 2147483648 0 0 slave 268435456 67108864 60 pubsub 1048576 2097152 3");

    EXPECT(f, OK, "CONFIG", "SET", "port", "7001");
    EXPECT(f, OK, "CONFIG", "SET", "bind", "127.0.0.1");
    GET_IS(f, "cluster-enabled", "no");
    f->srv.cfg.cluster_mode = 1;
    GET_IS(f, "cluster-enabled", "yes");
    f->srv.cfg.cluster_mode = 0;

    EXPECT(f, OK, "CONFIG", "SET", "maxclients", "50", "timeout", "30");
    assert_true(f->srv.cfg.maxclients == 50);
    assert_true(f->srv.cfg.timeout_ms == 30000);
}

/* save and appendonly keep today's answers; "later" rows are readable. */
static void test_stored_values(void **state)
{
    fx *f = *state;
    GET_IS(f, "save", "");
    GET_IS(f, "appendonly", "no");
    char buf[64];
    assert_string_equal(tc_rconf_value(&f->srv, "maxmemory-policy", buf, sizeof buf), "noeviction");
    EXPECT(f, OK, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", "zset-max-ziplist-entries", "64");
    assert_string_equal(tc_rconf_value(&f->srv, "maxmemory-policy", buf, sizeof buf), "allkeys-lfu");
    assert_string_equal(tc_rconf_value(&f->srv, "zset-max-listpack-entries", buf, sizeof buf), "64");
    assert_string_equal(tc_rconf_value(&f->srv, "notify-keyspace-events", buf, sizeof buf), "");
    assert_null(tc_rconf_value(&f->srv, "no-such-parameter", buf, sizeof buf));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_redis_name_is_answered), T(test_get_star), T(test_normalised_values), T(test_bad_values),
        T(test_immutable_and_protected),      T(test_all_or_nothing), T(test_honoured), T(test_stored_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
