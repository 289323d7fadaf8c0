/* BullMQ (npm) through a failover: tests/bullmq/jobs.mjs runs producers and
 * workers against three nodes found through the Sentinel protocol; it adds
 * the first half of its jobs (delayed, retried, failing and plain ones) and
 * says so in a "ready" file once a quarter of them are done; the primary is
 * then killed with SIGKILL and only after that does the script add the
 * second half (a "gate" file), so the kill always falls mid-run. The script
 * checks what BullMQ promises (every job completed or failed as its options
 * say, attemptsMade, every attempt processed, delays and backoffs kept,
 * nothing lost; see jobs.mjs) and prints "ok ...". Then the killed node is
 * restarted and every node must hold the same data (DEBUG DIGEST).
 *
 * BullMQ comes from tests/bullmq/node_modules (scripts/install-deps.sh runs
 * npm ci there). Without node or without those modules the test exits 77,
 * which ctest reports as skipped, and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define JOBS 600
#define SKIP 77

static const char *jobs_script;
static char node_bin[512];
static pid_t client_pid;
static char workdir[64];

static void remove_workdir(void)
{
    if (!workdir[0]) return;
    const char *names[] = {"attempts.log", "ready", "gate", "client.out"};
    char p[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", workdir, names[i]);
        unlink(p);
    }
    rmdir(workdir);
    workdir[0] = 0;
}

static void at_exit(void)
{
    h_client_stop(&client_pid);
    remove_workdir();
}

static void test_bullmq_through_kill_of_primary(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);

    char sentinels[128], jobs[16], logp[128], ready[128], gate[128], out[128];
    snprintf(sentinels, sizeof sentinels, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", c->nodes[0].port,
             c->nodes[1].port, c->nodes[2].port);
    snprintf(jobs, sizeof jobs, "%d", JOBS);
    snprintf(logp, sizeof logp, "%s/attempts.log", workdir);
    snprintf(ready, sizeof ready, "%s/ready", workdir);
    snprintf(gate, sizeof gate, "%s/gate", workdir);
    snprintf(out, sizeof out, "%s/client.out", workdir);
    char *argv[] = {node_bin, (char *)jobs_script, "check", "--sentinels", sentinels, "--name", "test",
                    "--jobs", jobs, "--log", logp, "--ready", ready, "--gate", gate,
                    "--deadline", "120000", NULL};
    client_pid = h_client_start(argv, out);

    h_client_wait_file(&client_pid, ready, out, 120000);
    p = h_cluster_primary(c, 10000); /* the primary now, the one to kill */
    assert_true(p >= 0);
    char *before = h_info_field(c, p, "replication", "raft_term");
    h_node_signal(c, p, SIGKILL);
    FILE *g = fopen(gate, "w");
    assert_non_null(g);
    fclose(g);

    /* The workload finishes by itself (its own deadline is 120 s); ours is
     * beyond it, so a hang is reported with the script's output. */
    int st = h_client_wait_exit(&client_pid, out, 180000);
    char *said = h_file_tail(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(said, "ok jobs 600 completed 570 failed 30"))
        fail_msg("jobs.mjs (status %d):\n%s", st, said);
    fprintf(stderr, "%s", said);
    free(said);

    /* A new primary, in a later term, carried the second half. */
    int q = h_cluster_primary(c, 10000);
    assert_true(q >= 0 && q != p);
    char *after = h_info_field(c, q, "replication", "raft_term");
    assert_true(atoll(after) > atoll(before));
    free(before);
    free(after);

    h_node_restart(c, p);
    char *d = h_converged_digest(c);
    assert_true(strlen(d) == 40 && strcmp(d, "0000000000000000000000000000000000000000") != 0);
    free(d);
    h_cluster_stop(c);
}

/* Runs api.mjs (next to jobs.mjs) against 127.0.0.1:port and returns its
 * output; fails the test if it does not finish cleanly. */
static char *run_api(int port, int with_flows)
{
    char script[600], addr[32];
    const char *slash = strrchr(jobs_script, '/');
    snprintf(script, sizeof script, "%.*s/api.mjs", slash ? (int)(slash - jobs_script) : 1,
             slash ? jobs_script : ".");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int st;
    char *out = with_flows ? h_run(&st, node_bin, script, addr, (char *)NULL)
                           : h_run(&st, node_bin, script, addr, "--no-flows", (char *)NULL);
    if (st != 0 || strstr(out, "FAILED")) fail_msg("api.mjs against port %d (status %d):\n%s", port, st, out);
    return out;
}

/* BullMQ's features (api.mjs: priorities, LIFO, deduplication, pause,
 * progress, logs, retries, QueueEvents over the events stream, getWorkers,
 * metrics, a job scheduler, a rate limiter, flows, clean, drain) give the
 * same results on redis-server, on one tricache node and on the primary of
 * three (flows included: FlowProducer adds its jobs with EVALSHA inside
 * MULTI, which the primary runs like a script, its effects logged). */
static void test_bullmq_features_as_on_redis(void **state)
{
    (void)state;
    char rdir[256];
    int rport;
    pid_t rpid = h_start_redis(&rport, rdir, sizeof rdir);
    char *want = run_api(rport, 1);
    h_stop_pid(rpid, rdir);

    tnode *one = h_start(NULL);
    char *got = run_api(one->port, 1);
    assert_string_equal(got, want);
    free(got);
    h_stop(one);

    tcluster *c = h_cluster_start(3, NULL);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    got = run_api(c->nodes[p].port, 1);
    assert_string_equal(got, want);
    free(got);
    free(h_converged_digest(c));
    h_cluster_stop(c);
    free(want);
}

/* node on the PATH, and BullMQ installed next to jobs.mjs: 0 if both are
 * there, else the reason on stderr. */
static int have_bullmq(void)
{
    jobs_script = getenv("TC_BULLMQ_JOBS");
    if (!jobs_script || access(jobs_script, R_OK) != 0) {
        fprintf(stderr, "SKIP: TC_BULLMQ_JOBS (tests/bullmq/jobs.mjs) is not set or not readable\n");
        return -1;
    }
    const char *path = getenv("PATH");
    node_bin[0] = 0;
    for (const char *s = path ? path : "/usr/bin:/bin"; *s;) {
        const char *e = strchr(s, ':');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        snprintf(node_bin, sizeof node_bin, "%.*s/node", (int)n, s);
        if (access(node_bin, X_OK) == 0) break;
        node_bin[0] = 0;
        s += n + (e ? 1 : 0);
    }
    if (!node_bin[0]) {
        fprintf(stderr, "SKIP: node (Node.js) is not on the PATH; scripts/install-deps.sh installs it\n");
        return -1;
    }
    char mod[600];
    const char *slash = strrchr(jobs_script, '/');
    snprintf(mod, sizeof mod, "%.*s/node_modules/bullmq/package.json", slash ? (int)(slash - jobs_script) : 1,
             slash ? jobs_script : ".");
    if (access(mod, R_OK) != 0) {
        fprintf(stderr,
                "SKIP: %s is missing: run scripts/install-deps.sh (it runs npm ci in tests/bullmq)\n", mod);
        return -1;
    }
    return 0;
}

int main(void)
{
    if (have_bullmq() != 0) return SKIP;
    snprintf(workdir, sizeof workdir, "/tmp/tc-bullmq-XXXXXX");
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(at_exit);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bullmq_features_as_on_redis),
                                       cmocka_unit_test(test_bullmq_through_kill_of_primary)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
