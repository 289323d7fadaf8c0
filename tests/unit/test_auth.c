/* AUTH with an auth_token: node/auth.c and the NOAUTH gate in dispatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth.h"
#include "fixture.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

static void test_check(void **state)
{
    (void)state;
    assert_int_equal(tc_auth_check("s3cret", NULL, 0, "s3cret", 6), TC_AUTH_OK);
    assert_int_equal(tc_auth_check("s3cret", "default", 7, "s3cret", 6), TC_AUTH_OK);
    assert_int_equal(tc_auth_check("s3cret", "admin", 5, "s3cret", 6), TC_AUTH_WRONG);
    assert_int_equal(tc_auth_check("s3cret", NULL, 0, "s3cre", 5), TC_AUTH_WRONG);
    assert_int_equal(tc_auth_check("s3cret", NULL, 0, "s3cretx", 7), TC_AUTH_WRONG);
    assert_int_equal(tc_auth_check("s3cret", NULL, 0, "", 0), TC_AUTH_WRONG);
    assert_int_equal(tc_auth_check("", NULL, 0, "x", 1), TC_AUTH_NOT_CONFIGURED);
    assert_int_equal(tc_auth_check("", "default", 7, "x", 1), TC_AUTH_OK);
    assert_false(tc_auth_required(""));
    assert_true(tc_auth_required("x"));
}

static int setup_with_token(void **state)
{
    if (fx_setup(state) != 0) return -1;
    fx *f = *state;
    strcpy(f->srv.cfg.auth_token, "s3cret");
    f->client.authenticated = 0;
    return 0;
}

static void test_noauth_gate(void **state)
{
    fx *f = *state;
    EXPECT(f, "-NOAUTH Authentication required.\r\n", "GET", "k");
    EXPECT(f, "-NOAUTH Authentication required.\r\n", "PING");
    /* as in Redis, unknown commands and arity errors come before NOAUTH */
    EXPECT(f, "-ERR unknown command 'nosuchcommand', with args beginning with: \r\n", "nosuchcommand");
    EXPECT(f, "-ERR wrong number of arguments for 'get' command\r\n", "GET");
    assert_int_equal(f->srv.stats.auth_failures, 0);
    EXPECT(f, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "nope");
    EXPECT(f, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "admin", "s3cret");
    assert_int_equal(f->srv.stats.auth_failures, 2);
    EXPECT(f, "-ERR syntax error\r\n", "AUTH", "a", "b", "c");
    EXPECT(f, "+OK\r\n", "AUTH", "s3cret");
    EXPECT(f, "+PONG\r\n", "PING");
    assert_non_null(strstr(RUN(f, "INFO", "stats"), "acl_access_denied_auth:2\r\n"));
    f->client.authenticated = 0;
    EXPECT(f, "+OK\r\n", "AUTH", "default", "s3cret");
    EXPECT(f, "+OK\r\n", "QUIT");
}

static void test_hello_auth(void **state)
{
    fx *f = *state;
    const char *r = RUN(f, "HELLO", "3");
    assert_memory_equal(r, "-NOAUTH HELLO must be called with the client already authenticated", 66);
    EXPECT(f, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "HELLO", "3", "AUTH", "default",
           "bad");
    assert_int_equal(f->client.resp, 2);
    r = RUN(f, "HELLO", "3", "AUTH", "default", "s3cret");
    assert_memory_equal(r, "%7\r\n", 4);
    assert_true(f->client.authenticated);
}

static void test_no_token_configured(void **state)
{
    fx *f = *state;
    EXPECT(f, "-ERR AUTH <password> called without any password configured for the default user. Are you sure "
              "your configuration is correct?\r\n",
           "AUTH", "x");
    EXPECT(f, "+OK\r\n", "AUTH", "default", "anything");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test_setup_teardown(test_noauth_gate, setup_with_token, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hello_auth, setup_with_token, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_token_configured, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
