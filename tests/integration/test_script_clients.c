/* Scripts through a real client library (redis-py), on three nodes:
 * script_client.py (redis-py's Lock, whose acquire/extend/release are Lua
 * scripts sent with EVALSHA, a sliding-window rate limiter, functions)
 * against the primary; scheduler_client.py (a Sidekiq-style scheduler
 * script, the lock and the limiter as an application runs them, through
 * the Sentinel protocol) through a kill -9 of the primary. Then every node
 * holds the same data (DEBUG DIGEST). */
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

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
    return h_cluster_primary(*state, 10000) < 0 ? -1 : 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

static void test_lock_and_rate_limiter_through_redis_py(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    const char *script = getenv("TC_SCRIPT_CLIENT");
    assert_non_null(script);
    char port[16];
    snprintf(port, sizeof port, "%d", c->nodes[p].port);
    int st;
    char *out = h_run(&st, "/usr/bin/python3", script, port, (char *)NULL);
    if (st != 0 || strcmp(out, "ok\n") != 0) fail_msg("script_client.py (status %d):\n%s", st, out);
    free(out);
    free(h_converged_digest(c));
}

/* The scheduler's first half of jobs runs; once a quarter is done the
 * client writes its ready file, the primary is killed, and the gate file
 * lets the client schedule the second half: the kill falls mid-run. */
static void test_scheduler_lock_and_limiter_through_kill_of_primary(void **state)
{
    tcluster *c = *state;
    const char *script = getenv("TC_SCHEDULER_CLIENT");
    assert_non_null(script);
    char dir[] = "/tmp/tc-scheduler-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sentinels[128], ready[64], gate[64], out[64];
    snprintf(sentinels, sizeof sentinels, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", c->nodes[0].port,
             c->nodes[1].port, c->nodes[2].port);
    snprintf(ready, sizeof ready, "%s/ready", dir);
    snprintf(gate, sizeof gate, "%s/gate", dir);
    snprintf(out, sizeof out, "%s/client.out", dir);
    char *argv[] = {"/usr/bin/python3", (char *)script, "--sentinels", sentinels, "--name", "test", "--jobs", "400",
                    "--ready", ready, "--gate", gate, "--deadline", "120000", NULL};
    pid_t client = h_client_start(argv, out);
    h_client_wait_file(&client, ready, out, 120000);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    h_node_signal(c, p, SIGKILL);
    FILE *g = fopen(gate, "w");
    assert_non_null(g);
    fclose(g);
    int st = h_client_wait_exit(&client, out, 180000);
    char *said = h_file_tail(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strncmp(said, "ok jobs 400 done 400 ", 21) != 0)
        fail_msg("scheduler_client.py (status %d):\n%s", st, said);
    fprintf(stderr, "%s", said);
    free(said);
    unlink(ready);
    unlink(gate);
    unlink(out);
    rmdir(dir);
    h_node_restart(c, p);
    free(h_converged_digest(c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lock_and_rate_limiter_through_redis_py),
                                       cmocka_unit_test(test_scheduler_lock_and_limiter_through_kill_of_primary)};
    return cmocka_run_group_tests(tests, start3, stop3);
}
