/* tricachectl against a real three-node cluster: status rows and exit codes,
 * failover drills (any node, and a chosen one), restart-plan carried out,
 * usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
    return 0;
}

static int start3_auth(void **state)
{
    *state = h_cluster_start(3, "auth_token = \"ctl-test-token\"");
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

static const char *ctl(void)
{
    const char *p = getenv("TRICACHECTL");
    if (!p) fail_msg("TRICACHECTL is not set (run the tests through ctest)");
    return p;
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

/* The status table's row for node `id` (a copy, malloc'd), or NULL. */
static char *row_of(const char *out, int id)
{
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *end;
        long v = strtol(l, &end, 10);
        if (end != l && *end == ' ' && v == id) return strndup(l, strcspn(l, "\n"));
    }
    return NULL;
}

/* The ROLE column of a row: the fourth word. */
static void role_of(const char *row, char *out, size_t len)
{
    char id[16], zone[64], addr[300], role[32] = "";
    assert_int_equal(sscanf(row, "%15s %63s %299s %31s", id, zone, addr, role), 4);
    snprintf(out, len, "%s", role);
}

/* Node id from "new primary: node N (...)" in failover's output; 0 if absent. */
static int new_primary(const char *out)
{
    const char *p = strstr(out, "new primary: node ");
    return p ? atoi(p + strlen("new primary: node ")) : 0;
}

/* Index of the primary once every node agrees on one, so that a primary
 * that was just deposed (and has not heard of the new term) is not taken
 * for it. */
static int settled_primary(tcluster *c, int want)
{
    long long deadline = h_ms() + 10000;
    int p;
    do {
        p = h_cluster_primary(c, 2000);
    } while (p != want && h_ms() < deadline);
    return p;
}

static void test_status(void **state)
{
    tcluster *c = *state;
    /* every replica linked to the primary: right after the election one
     * may not have heard from it yet, and status says "stale link" */
    int p = h_cluster_settled(c, 10000);
    assert_true(p >= 0);
    int st;
    char *out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    int primaries = 0, rows = 0;
    for (int id = 1; id <= 3; id++) {
        char *row = row_of(out, id), role[32];
        assert_non_null(row);
        rows++;
        role_of(row, role, sizeof role);
        if (strcmp(role, "primary") == 0) {
            primaries++;
            assert_int_equal(id, p + 1);
        } else {
            assert_string_equal(role, "replica");
        }
        assert_non_null(strstr(row, " ok"));
        free(row);
    }
    assert_int_equal(rows, 3);
    assert_int_equal(primaries, 1);
    assert_null(row_of(out, 4));
    free(out);

    out = h_run(&st, ctl(), "--config", c->config, "status", "--json", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    char want[64];
    snprintf(want, sizeof want, "\"ok\":true,\"primary\":%d,", p + 1);
    assert_non_null(strstr(out, want));
    free(out);

    /* with no --config, cluster.toml of the current directory */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' status", c->dir, ctl());
    out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    free(out);

    int victim = (p + 1) % 3;
    h_node_signal(c, victim, SIGKILL);
    out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    assert_int_equal(exit_code(st), 1);
    for (int id = 1; id <= 3; id++) {
        char *row = row_of(out, id);
        assert_non_null(row);
        if (id == victim + 1) assert_non_null(strstr(row, "unreachable"));
        else assert_null(strstr(row, "unreachable"));
        free(row);
    }
    free(out);
}

static void test_failover(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int st;
    char *out = h_run(&st, ctl(), "--config", c->config, "failover", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    int q = new_primary(out);
    assert_true(q >= 1 && q <= 3);
    assert_int_not_equal(q, p + 1);
    assert_non_null(strstr(out, "write unavailability: "));
    assert_non_null(strstr(out, "writes failed in between: "));
    free(out);
    assert_int_equal(settled_primary(c, q - 1), q - 1);
}

static void test_failover_to(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int st;
    char to[16];
    /* each replica in turn, then back to where it started */
    int order[] = {(p + 2) % 3, (p + 1) % 3, p};
    for (int k = 0; k < 3; k++) {
        snprintf(to, sizeof to, "%d", order[k] + 1);
        char *out = h_run(&st, ctl(), "--config", c->config, "failover", "--to", to, "--timeout", "10s", (char *)NULL);
        assert_int_equal(exit_code(st), 0);
        assert_int_equal(new_primary(out), order[k] + 1);
        free(out);
        assert_int_equal(settled_primary(c, order[k]), order[k]);
    }
    /* the primary itself is no target */
    snprintf(to, sizeof to, "%d", p + 1);
    char *out = h_run(&st, ctl(), "--config", c->config, "failover", "--to", to, (char *)NULL);
    assert_int_equal(exit_code(st), 1);
    free(out);
    out = h_run(&st, ctl(), "--config", c->config, "members", "list", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    assert_non_null(strstr(out, "voter"));
    free(out);
}

/* With auth_token set, the tool sends AUTH before anything else. */
static void test_auth(void **state)
{
    tcluster *c = *state;
    /* the harness's INFO goes without AUTH, so tricachectl itself waits for
     * the first primary */
    int st;
    char *out = NULL;
    long long deadline = h_ms() + 10000;
    do {
        free(out);
        out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    } while (exit_code(st) != 0 && h_ms() < deadline);
    assert_int_equal(exit_code(st), 0);
    assert_null(strstr(out, "unreachable"));
    free(out);
    out = h_run(&st, ctl(), "--config", c->config, "failover", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    free(out);
}

/* restart-plan on a healthy cluster: replicas by id, the primary last; the
 * plan is then carried out (SIGTERM, restart, plan again before each step)
 * and every step leaves a healthy cluster, the primary's by a handover.
 * With a node down the pre-checks fail: exit 1, naming the node. */
static void test_restart_plan(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exec '%s' --config '%s' restart-plan 2>&1", ctl(), c->config);
    int st;
    char *out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
    if (exit_code(st) != 0) fail_msg("restart-plan exited %d:\n%s", exit_code(st), out);
    assert_non_null(strstr(out, "every node reachable and one primary: ok"));
    assert_non_null(strstr(out, "replicas linked and caught up (lag 0): ok"));
    int order[3], k = 0;
    for (int i = 0; i < 3; i++)
        if (i != p) order[k++] = i;
    order[k++] = p;
    char want[256];
    snprintf(want, sizeof want, "order: %d %d %d ", order[0] + 1, order[1] + 1, order[2] + 1);
    if (!strstr(out, want)) fail_msg("no '%s' in:\n%s", want, out);
    for (int s = 0; s < 3; s++) {
        snprintf(want, sizeof want, "step %d: node %d (%s,", s + 1, order[s] + 1, s == 2 ? "primary" : "replica");
        if (!strstr(out, want)) fail_msg("no '%s' in:\n%s", want, out);
        snprintf(want, sizeof want, "--node %d ", order[s] + 1);
        assert_non_null(strstr(out, want));
    }
    free(out);

    for (int s = 0; s < 3; s++) {
        int i = order[s];
        h_node_signal(c, i, SIGTERM);
        int ws = h_node_wait_exit(c, i, 15000);
        assert_int_equal(exit_code(ws), 0);
        h_node_restart(c, i);
        /* healthy again (polled: the node needs a moment to catch up) */
        long long deadline = h_ms() + 15000;
        do {
            out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
            free(out);
        } while (exit_code(st) != 0 && h_ms() < deadline);
        assert_int_equal(exit_code(st), 0);
    }
    int now = h_cluster_primary(c, 10000);
    assert_true(now >= 0);
    assert_int_not_equal(now, p); /* the primary's SIGTERM handed over */

    int victim = (now + 1) % 3;
    h_node_signal(c, victim, SIGKILL);
    snprintf(cmd, sizeof cmd, "exec '%s' --config '%s' restart-plan --timeout 300ms 2>&1", ctl(), c->config);
    out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
    assert_int_equal(exit_code(st), 1);
    snprintf(want, sizeof want, "node %d is unreachable", victim + 1);
    if (!strstr(out, want)) fail_msg("no '%s' in:\n%s", want, out);
    assert_non_null(strstr(out, "FAILED"));
    assert_null(strstr(out, "step 1:"));
    free(out);
}

static void test_bad_usage(void **state)
{
    tcluster *c = *state;
    int st;
    struct {
        const char *a[6];
    } bad[] = {
        {{"--bogus", NULL}},
        {{"--config", c->config, "status", "--bogus", NULL}},
        {{"--config", c->config, "frobnicate", NULL}},
        {{"--config", c->config, NULL}},
        {{"--config", c->config, "failover", "--to", "abc", NULL}},
        {{"--config", c->config, "failover", "--to", "9", NULL}},
        {{"--config", c->config, "failover", "--to", "+1", NULL}},
        {{"--config", c->config, "failover", "--to", " 1", NULL}},
        {{"--config", c->config, "failover", "--to", "01", NULL}},
        {{"--config", c->config, "failover", "--timeout", "soon", NULL}},
        {{"--config", c->config, "status", "--to", "1", NULL}},
        {{"--config", c->config, "members", "frobnicate", NULL}},
        {{"--config", c->config, "members", "remove", "+1", NULL}},
        {{"--config", "/nonexistent/cluster.toml", "status", NULL}},
        {{"--config", NULL}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char **a = bad[i].a;
        char *out = h_run(&st, ctl(), a[0], a[1], a[2], a[3], a[4], a[5], (char *)NULL);
        if (exit_code(st) != 2) fail_msg("case %zu (%s %s %s): exit %d, want 2", i, a[0], a[1] ? a[1] : "", a[2] ? a[2] : "", exit_code(st));
        free(out);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd / && exec '%s' status", ctl());
    char *out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
    assert_int_equal(exit_code(st), 2);
    free(out);
    out = h_run(&st, ctl(), "--help", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    assert_non_null(strstr(out, "usage: tricachectl"));
    free(out);
    out = h_run(&st, ctl(), "--version", (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    assert_non_null(strstr(out, "tricachectl "));
    free(out);
}

/* secret generate: 64 hex digits and a newline, mode 0600, never over an
 * existing file; a node takes the file as its cluster_secret_file. */
static void test_secret_generate(void **state)
{
    (void)state;
    char dir[] = "/tmp/tc-ctl-secret-XXXXXX", file[64];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/cluster.secret", dir);
    int st;
    char *out = h_run(&st, ctl(), "secret", "generate", "--file", file, (char *)NULL);
    assert_int_equal(exit_code(st), 0);
    assert_non_null(strstr(out, "created cluster secret"));
    free(out);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 65);
    char first[80] = "";
    FILE *f = fopen(file, "r");
    assert_non_null(fgets(first, sizeof first, f));
    fclose(f);
    assert_int_equal(strspn(first, "0123456789abcdef"), 64);
    out = h_run(&st, ctl(), "secret", "generate", "--file", file, (char *)NULL);
    assert_int_equal(exit_code(st), 1); /* exists: kept as it was */
    free(out);
    char again[80] = "";
    f = fopen(file, "r");
    assert_non_null(fgets(again, sizeof again, f));
    fclose(f);
    assert_string_equal(again, first);
    out = h_run(&st, ctl(), "secret", "generate", (char *)NULL);
    assert_int_equal(exit_code(st), 2);
    free(out);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status, start3, stop3),
        cmocka_unit_test_setup_teardown(test_failover, start3, stop3),
        cmocka_unit_test_setup_teardown(test_failover_to, start3, stop3),
        cmocka_unit_test_setup_teardown(test_auth, start3_auth, stop3),
        cmocka_unit_test_setup_teardown(test_restart_plan, start3, stop3),
        cmocka_unit_test_setup_teardown(test_bad_usage, start3, stop3),
        cmocka_unit_test(test_secret_generate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
