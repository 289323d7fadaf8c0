/* Scripts through a real client library: script_client.py (redis-py's Lock,
 * whose acquire/extend/release are Lua scripts sent with EVALSHA, and a
 * sliding-window rate limiter) against the primary of three nodes; then
 * every node holds the same data (DEBUG DIGEST). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lock_and_rate_limiter_through_redis_py)};
    return cmocka_run_group_tests(tests, start3, stop3);
}
