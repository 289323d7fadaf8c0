/* redis-py's RedisCluster against three real nodes with cluster_mode = true,
 * and what CLUSTER NODES, SLOTS and SHARDS say of a node that was killed
 * and of the same node once it is back (rediscluster_client.py does the
 * client's part, run with Debian's python3 and python3-redis). */
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

#define ELECTION_DEADLINE_MS 10000
/* the failure window is 1 s (replica_max_staleness's default): a dead node
 * is marked well within this */
#define FAIL_DEADLINE_MS 10000

static int start3(void **state)
{
    *state = h_cluster_start(3, "cluster_mode = true");
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

/* Runs the client script's phase with integer arguments; fails the test
 * unless it exits 0. Returns its output (malloc'd). */
static char *client(const char *phase, int a, int b, int c)
{
    const char *script = getenv("TC_REDISCLUSTER_SCRIPT");
    assert_non_null(script);
    char sa[16], sb[16], sc[16];
    snprintf(sa, sizeof sa, "%d", a);
    snprintf(sb, sizeof sb, "%d", b);
    snprintf(sc, sizeof sc, "%d", c);
    int st;
    /* Debian's interpreter, where python3-redis is installed */
    char *out = c ? h_run(&st, "/usr/bin/python3", script, phase, sa, sb, sc, (char *)NULL)
                  : b ? h_run(&st, "/usr/bin/python3", script, phase, sa, sb, (char *)NULL)
                      : h_run(&st, "/usr/bin/python3", script, phase, sa, (char *)NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("rediscluster_client.py %s failed: %s", phase, out);
    return out;
}

/* The CLUSTER NODES line of the node with client port `port` as node i
 * tells it, without the newline (malloc'd), or NULL. */
static char *nodes_line(tcluster *c, int i, int port)
{
    char *out = h_cli(&c->nodes[i], "CLUSTER", "NODES", (char *)NULL);
    char needle[32];
    snprintf(needle, sizeof needle, " 127.0.0.1:%d@", port);
    char *line = NULL;
    for (char *l = out; l && *l;) {
        char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (memmem(l, len, needle, strlen(needle))) {
            line = strndup(l, len);
            break;
        }
        l = end ? end + 1 : NULL;
    }
    free(out);
    return line;
}

/* The part of a CLUSTER NODES line after "<id> <ip:port@cport> ". */
static const char *after_address(const char *line)
{
    const char *p = strchr(line, ' ');
    assert_non_null(p);
    p = strchr(p + 1, ' ');
    assert_non_null(p);
    return p + 1;
}

static char *myid(tcluster *c, int i) { return h_cli(&c->nodes[i], "CLUSTER", "MYID", (char *)NULL); }

/* Does node i's CLUSTER SLOTS list the node with client port `port`? */
static int slots_lists(tcluster *c, int i, int port)
{
    char *out = h_cli(&c->nodes[i], "CLUSTER", "SLOTS", (char *)NULL);
    char needle[32];
    snprintf(needle, sizeof needle, "\n127.0.0.1\n%d\n", port);
    int found = strstr(out, needle) != NULL;
    free(out);
    return found;
}

/* Node i's CLUSTER SHARDS "health" of the node with client port `port`. */
static char *shards_health(tcluster *c, int i, int port)
{
    char *out = h_cli(&c->nodes[i], "CLUSTER", "SHARDS", (char *)NULL);
    char needle[32];
    snprintf(needle, sizeof needle, "\nport\n%d\n", port);
    char *at = strstr(out, needle);
    assert_non_null(at);
    char *h = strstr(at, "\nhealth\n");
    assert_non_null(h);
    h += strlen("\nhealth\n");
    char *end = strchr(h, '\n');
    char *health = end ? strndup(h, (size_t)(end - h)) : strdup(h);
    free(out);
    return health;
}

/* Does node i's CLUSTER SLOTS list `port` (listed 1 or 0) and its CLUSTER
 * SHARDS give `port` the health `health`? */
static int slots_and_shards_say(tcluster *c, int i, int port, int listed, const char *health)
{
    char *h = shards_health(c, i, port);
    int ok = slots_lists(c, i, port) == listed && strcmp(h, health) == 0;
    free(h);
    return ok;
}

/* Polls until node i's CLUSTER SLOTS and SHARDS say that of `port`. */
static void wait_for_slots_and_shards(tcluster *c, int i, int port, int listed, const char *health)
{
    long long deadline = h_ms() + FAIL_DEADLINE_MS;
    while (!slots_and_shards_say(c, i, port, listed, health)) {
        if (h_ms() > deadline)
            fail_msg("node %d: CLUSTER SLOTS %s port %d, or CLUSTER SHARDS does not say \"%s\"", i + 1,
                     listed ? "does not list" : "lists", port, health);
        usleep(50000);
    }
}

/* Polls node i's CLUSTER NODES until the line of `port` after its address
 * is `want` exactly. */
static void wait_for_line(tcluster *c, int i, int port, const char *want)
{
    long long deadline = h_ms() + FAIL_DEADLINE_MS;
    for (;;) {
        char *line = nodes_line(c, i, port);
        assert_non_null(line);
        int same = strcmp(after_address(line), want) == 0;
        if (same || h_ms() > deadline) {
            if (!same) fail_msg("CLUSTER NODES on node %d: \"%s\", expected \"... %s\"", i + 1, line, want);
            free(line);
            return;
        }
        free(line);
        usleep(50000);
    }
}

static void test_rediscluster_client_and_failed_nodes(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r = (p + 1) % 3;

    /* INFO says cluster mode is on: redis-py checks that before anything */
    char *enabled = h_info_field(c, r, "cluster", "cluster_enabled");
    assert_string_equal(enabled, "1");
    free(enabled);

    /* RedisCluster(host, port) from a replica finds the primary */
    char *out = client("start", c->nodes[r].port, 0, 0);
    assert_int_equal(atoi(out), c->nodes[p].port);
    free(out);

    /* every node up: Redis's lines, no failure flags */
    char *pid = myid(c, p), want[160];
    wait_for_line(c, p, c->nodes[p].port, "myself,master - 0 0 0 connected 0-16383");
    snprintf(want, sizeof want, "slave %s 0 0 0 connected", pid);
    wait_for_line(c, p, c->nodes[r].port, want);
    for (int i = 0; i < 3; i++) wait_for_slots_and_shards(c, p, c->nodes[i].port, 1, "online");
    free(pid);

    /* kill -9 the primary; a new one is elected among the other two */
    int killed = p, killed_port = c->nodes[p].port;
    h_node_signal(c, killed, SIGKILL);
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    int np;
    while ((np = h_cluster_primary(c, ELECTION_DEADLINE_MS)) < 0 || np == killed) assert_true(h_ms() < deadline);
    int other = 3 - killed - np;

    /* the new primary marks the killed node failed (Redis's exact line),
     * leaves it out of CLUSTER SLOTS and says "fail" in CLUSTER SHARDS */
    pid = myid(c, np);
    snprintf(want, sizeof want, "slave,fail %s 0 0 0 disconnected", pid);
    wait_for_line(c, np, killed_port, want);
    wait_for_slots_and_shards(c, np, killed_port, 0, "fail");
    wait_for_slots_and_shards(c, np, c->nodes[other].port, 1, "online");
    /* the surviving replica never hears from other replicas: it claims
     * nothing about the killed node */
    char *line = nodes_line(c, other, killed_port);
    assert_non_null(line);
    assert_null(strstr(line, "fail"));
    free(line);

    /* new clients started after the kill, from either survivor, work */
    free(client("after-kill", killed_port, c->nodes[np].port, c->nodes[other].port));

    /* back: listed as before */
    h_node_restart(c, killed);
    snprintf(want, sizeof want, "slave %s 0 0 0 connected", pid);
    wait_for_line(c, np, killed_port, want);
    wait_for_slots_and_shards(c, np, killed_port, 1, "online");
    free(client("restarted", killed_port, c->nodes[np].port, 0));
    free(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rediscluster_client_and_failed_nodes, start3, stop3),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
