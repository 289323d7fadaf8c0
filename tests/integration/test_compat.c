/* The same commands sent to redis-server and to tricache must get the same
 * bytes back: Redis 7 is the reference for replies and error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

typedef struct pair {
    tnode *tricache;
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} pair;

static int start_both(void **state)
{
    pair *p = calloc(1, sizeof *p);
    p->tricache = h_start(NULL);
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

static int stop_both(void **state)
{
    pair *p = *state;
    h_stop(p->tricache);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

/* Inline commands, one per line: each reply must be byte-identical. */
static const char *const script[] = {
    "SET k v", "GET k", "GET missing", "SET k v NX", "SET k w XX GET", "SET k v EX 0", "SET k v PX -1",
    "SET k v EX 10 PX 10", "SET k v EX notanumber", "SET k v KEEPTTL EX 5", "SET k", "SETNX k x", "SETNX new x",
    "SETEX k 100 v", "TTL k", "PSETEX k 0 v", "MSET a 1 b 2", "MSET a 1 b", "MGET a b nope", "MSETNX a 1 c 3",
    "GETSET a 10", "GETDEL a", "GETDEL a", "GETEX b EX 100", "TTL b", "GETEX b PERSIST", "TTL b", "GETEX b KEEPTTL",
    "INCR n", "INCRBY n 10", "DECR n", "DECRBY n 3", "INCRBY n x", "SET big 9223372036854775807", "INCR big",
    "DECRBY n -9223372036854775808", "SET f 10.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -5", "INCRBYFLOAT f abc",
    "INCRBYFLOAT f 1e400", "APPEND s hello", "APPEND s \" world\"", "STRLEN s", "STRLEN nope", "GETRANGE s 0 4",
    "GETRANGE s -5 -1", "GETRANGE s 5 3", "GETRANGE s 0 100", "GETRANGE nope 0 -1", "SETRANGE s 6 W",
    "SETRANGE s -1 x", "SETRANGE pad 3 ab", "GET pad", "SETRANGE empty 5 \"\"", "EXISTS empty",
    "DEL s pad nope", "EXISTS k k nope", "TOUCH k nope", "TYPE k", "TYPE nope", "RENAME nope x", "RENAME k k2",
    "RENAMENX k2 b", "RENAMENX k2 k3", "EXPIRE k3 100", "TTL k3", "PTTL nope", "EXPIRE k3 100 NX",
    "EXPIRE k3 200 GT", "TTL k3", "EXPIRE k3 50 LT", "TTL k3", "EXPIRE k3 1 NX XX", "EXPIRE k3 1 GT LT",
    "EXPIRE k3 1 BOGUS", "EXPIRE k3 abc", "PERSIST k3", "PERSIST k3", "TTL k3", "EXPIRETIME k3",
    "PEXPIRETIME nope", "EXPIREAT k3 100", "EXISTS k3", "KEYS nomatch*", "SCAN 0 COUNT 0", "SCAN abc",
    "SCAN 0 BOGUS x", "DBSIZE", "SELECT 0", "ECHO hi", "PING", "PING hello", "PING a b", "GET", "NOSUCHCMD a b",
    "FLUSHALL BOGUS", "CLIENT SETNAME \"a b\"", "CLIENT GETNAME", "CLIENT SETNAME app", "CLIENT GETNAME",
    "CLIENT BOGUS", "HELLO 4", "HELLO abc", "AUTH x", "CONFIG SET nosuch 1", "CONFIG GET maxclients",
    "CONFIG SET maxclients abc", "FLUSHALL", "DBSIZE", "RANDOMKEY", "SET \"quoted key\" 'single quoted'",
    "GET \"quoted key\"", "SET k v IFEQ", "INCRBYFLOAT nf 3.0e3", "SET a \"x\\x41y\"", "GET a", "TIME x", "SETRANGE s 536870912 x", "SET x 1.0", "INCR x", "GETRANGE x a b", "SET x 1",
    "RENAME x x", "RENAMENX x x", "SET x 1 GET EX 0", "EXPIRE x 9223372036854775807", "PEXPIRE x -9223372036854775808",
    "GETEX x PX 0", "GETEX x EX 1 EX 2", "MGET x", "SET x 1", "GETEX x PX 0", "GETEX x EX abc", "GETEX x EX 1 EX 2", "TTL x", "SELECT x", "ECHO", "EXISTS", "TYPE a b", "PUBLISH ch msg", "PUBLISH ch",
};

/* Sends every line of the script to both and counts differing replies. */
static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\r\n", script[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", script[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    return mismatches;
}

static void test_replies_match_redis(void **state)
{
    pair *p = *state;
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

/* The same in RESP3 (nulls, maps for CONFIG GET). The HELLO replies
 * themselves differ by design (server name, version, client id). */
static void test_resp3_replies_match_redis(void **state)
{
    pair *p = *state;
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    h_sends(t, "HELLO 3\r\n");
    h_sends(r, "HELLO 3\r\n");
    char *a = h_reply(t), *b = h_reply(r);
    assert_true(a && b && a[0] == '%' && b[0] == '%');
    free(a);
    free(b);
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}

/* ---- CONFIG: every parameter of Redis 7.0 ---------------------------------- */

/* Sends one command as a RESP array (arguments may hold any byte). */
static void send_cmd(int fd, size_t argc, const char *const *argv)
{
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", argc);
    h_sends(fd, head);
    for (size_t i = 0; i < argc; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(argv[i]));
        h_sends(fd, head);
        h_sends(fd, argv[i]);
        h_sends(fd, "\r\n");
    }
}

static char *ask(int fd, size_t argc, const char *const *argv)
{
    send_cmd(fd, argc, argv);
    char *r = h_reply(fd);
    assert_non_null(r);
    return r;
}

/* The bulk strings of a RESP2 array reply (malloc'd, *n of them), or NULL
 * if the reply is not such an array. */
static char **bulks(const char *reply, size_t *n)
{
    char *end;
    if (reply[0] != '*') return NULL;
    long count = strtol(reply + 1, &end, 10);
    const char *p = end + 2;
    char **v = calloc((size_t)count + 1, sizeof *v);
    for (long i = 0; i < count; i++) {
        if (*p != '$') {
            while (i > 0) free(v[--i]);
            free(v);
            return NULL;
        }
        long len = strtol(p + 1, &end, 10);
        v[i] = strndup(end + 2, (size_t)len);
        p = end + 2 + len + 2;
    }
    *n = (size_t)count;
    return v;
}

static void free_bulks(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Parameters bound to the node, where tricache's answer is its own (the
 * table in node/config_redis.c says why): CONFIG SET of Redis's value is
 * refused (port) or the value read back differs. */
static int node_bound(const char *name)
{
    return strcmp(name, "port") == 0 || strcmp(name, "dir") == 0 || strcmp(name, "databases") == 0;
}

/* Every name redis-server lists in CONFIG GET * is answered by tricache's
 * CONFIG GET <name> with one pair; CONFIG SET <name> <Redis's value> gets
 * the same reply from both (+OK, or the same refusal where Redis refuses
 * it: immutable, protected), and both then read back the same value. */
static void test_config_parameters_match_redis(void **state)
{
    pair *p = *state;
    int t = h_connect(p->tricache->port), r = h_connect(p->redis_port);
    const char *all[] = {"CONFIG", "GET", "*"};
    char *reply = ask(r, 3, all);
    size_t n;
    char **kv = bulks(reply, &n);
    free(reply);
    assert_non_null(kv);
    assert_true(n >= 2 * 150); /* Redis 7.0 has about 190 */
    size_t mismatches = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *name = kv[i], *value = kv[i + 1];
        const char *get[] = {"CONFIG", "GET", name}, *set[] = {"CONFIG", "SET", name, value};
        char *a = ask(t, 3, get);
        size_t m;
        char **got = bulks(a, &m);
        if (!got || m != 2 || strcmp(got[0], name) != 0) {
            print_error("CONFIG GET %s\n  tricache: %s", name, a);
            mismatches++;
            free(a);
            if (got) free_bulks(got, m);
            continue;
        }
        free(a);
        free_bulks(got, m);
        char *rs = ask(r, 4, set), *ts = ask(t, 4, set);
        if (strcmp(rs, ts) != 0 && !(strcmp(name, "port") == 0 && ts[0] == '-')) {
            print_error("CONFIG SET %s \"%s\"\n  tricache: %s  redis:    %s", name, value, ts, rs);
            mismatches++;
        }
        free(rs);
        free(ts);
        char *rg = ask(r, 3, get), *tg = ask(t, 3, get);
        if (strcmp(rg, tg) != 0 && !node_bound(name)) {
            print_error("CONFIG GET %s after SET\n  tricache: %s  redis:    %s", name, tg, rg);
            mismatches++;
        }
        free(rg);
        free(tg);
    }
    free_bulks(kv, n);
    /* bad values, several pairs, unknown names: the same replies */
    static const char *const lines[] = {
        "CONFIG SET no-such-parameter 1", "CONFIG SET activerehashing 1", "CONFIG SET hash-max-listpack-entries +1",
        "CONFIG SET hash-max-ziplist-entries -1", "CONFIG SET maxmemory 1t", "CONFIG SET maxmemory 1k",
        "CONFIG GET maxmemory", "CONFIG SET maxmemory 2GB", "CONFIG GET maxmemory", "CONFIG SET maxmemory-clients 101%",
        "CONFIG SET maxmemory-policy lru", "CONFIG SET maxmemory-policy ALLKEYS-LFU", "CONFIG GET maxmemory-policy",
        "CONFIG SET notify-keyspace-events Q", "CONFIG SET notify-keyspace-events KEA",
        "CONFIG GET notify-keyspace-events", "CONFIG SET save \"1 2 3\"", "CONFIG SET save \"+5 01\"",
        "CONFIG GET save", "CONFIG SET client-output-buffer-limit \"normal 0 0\"",
        "CONFIG SET client-output-buffer-limit \"pubsub 1mb 2mb 3\"", "CONFIG GET client-output-buffer-limit",
        "CONFIG SET latency-tracking-info-percentiles 101", "CONFIG SET latency-tracking-info-percentiles \"50.0 1e-5\"",
        "CONFIG GET latency-tracking-info-percentiles", "CONFIG SET oom-score-adj-values \"0 200\"",
        "CONFIG SET shutdown-on-sigint \"save nosave\"", "CONFIG SET proc-title-template {bogus}",
        "CONFIG SET cluster-announce-hostname a_b", "CONFIG SET list-max-listpack-size -2147483649",
        "CONFIG SET loglevel nothing", "CONFIG SET hz abc daemonize no", "CONFIG SET hz 10 HZ 11",
        "CONFIG SET daemonize no nosuch 1", "CONFIG SET save \"10 1\" appendonly maybe", "CONFIG GET save",
        "CONFIG SET slave-priority 5 replica-priority 6", "CONFIG GET replica-priority", "CONFIG SET hz 1 x",
        "CONFIG SET hz", "CONFIG GET", "CONFIG GET Lua-Time-Limit", "CONFIG SET dir /tmp", "CONFIG SET databases 16",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s\r\n", lines[i]);
        h_sends(t, line);
        h_sends(r, line);
        char *a = h_reply(t), *b = h_reply(r);
        assert_true(a && b);
        if (strcmp(a, b) != 0) {
            print_error("%s\n  tricache: %s  redis:    %s", lines[i], a, b);
            mismatches++;
        }
        free(a);
        free(b);
    }
    assert_int_equal(mismatches, 0);
    h_close(t);
    h_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_resp3_replies_match_redis, start_both, stop_both),
        cmocka_unit_test_setup_teardown(test_config_parameters_match_redis, start_both, stop_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
