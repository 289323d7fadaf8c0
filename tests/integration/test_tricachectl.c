/* tricachectl against a real three-node cluster. */
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

#include "harness.h"

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
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
    if (!p) fail_msg("TRICACHECTL is not set (run through ctest)");
    return p;
}

static int count(const char *s, const char *word)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, word)); p += strlen(word)) n++;
    return n;
}

static void test_status(void **state)
{
    tcluster *c = *state;
    assert_true(h_cluster_primary(c, 10000) >= 0);
    int st;
    char *out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(count(out, " primary "), 1);
    assert_int_equal(count(out, " replica "), 2);
    free(out);
    int p = h_cluster_primary(c, 10000);
    h_node_signal(c, (p + 1) % 3, SIGKILL);
    out = h_run(&st, ctl(), "--config", c->config, "status", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_int_equal(count(out, "unreachable"), 1);
    free(out);
}

static void test_failover_and_members(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int st;
    char *out = h_run(&st, ctl(), "--config", c->config, "failover", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(out, "primary moved from node"));
    assert_non_null(strstr(out, "writes were refused for"));
    free(out);
    int q = h_cluster_primary(c, 10000);
    assert_true(q >= 0 && q != p);
    char to[16];
    snprintf(to, sizeof to, "%d", p + 1);
    out = h_run(&st, ctl(), "--config", c->config, "failover", "--to", to, (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(out);
    assert_int_equal(h_cluster_primary(c, 10000), p);
    out = h_run(&st, ctl(), "--config", c->config, "members", "list", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(count(out, "voter"), 3);
    free(out);
}

static void test_bad_usage(void **state)
{
    tcluster *c = *state;
    int st;
    char *out = h_run(&st, ctl(), "--bogus", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
    out = h_run(&st, ctl(), "--config", c->config, "members", "frobnicate", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
    out = h_run(&st, ctl(), "--config", "/nonexistent.toml", "status", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status, start3, stop3),
        cmocka_unit_test_setup_teardown(test_failover_and_members, start3, stop3),
        cmocka_unit_test_setup_teardown(test_bad_usage, start3, stop3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
