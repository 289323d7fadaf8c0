/* The ACL rule parser and the permission check (node/acl.h, acl_cat.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "acl_cat.h"
#include "commands.h"

/* Applies "name rule rule ..." (split on spaces); 0 or -1 with err. */
static int setuser(tc_acl *a, const char *line, const char *token, char *err, size_t errlen)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", line);
    tc_slice v[64];
    size_t n = 0;
    for (char *t = strtok(copy, " "); t && n < 64; t = strtok(NULL, " ")) v[n++] = (tc_slice){t, strlen(t)};
    return tc_acl_setuser(a, v[0].p, v[0].len, n - 1, v + 1, token, err, errlen);
}

static void ok(tc_acl *a, const char *line)
{
    char err[512] = "";
    if (setuser(a, line, "", err, sizeof err) != 0) fail_msg("ACL SETUSER %s: %s", line, err);
}

static void refused(tc_acl *a, const char *line, const char *want)
{
    char err[512] = "";
    if (setuser(a, line, "", err, sizeof err) == 0) fail_msg("ACL SETUSER %s was accepted", line);
    assert_string_equal(err, want);
}

static const char *describe(tc_acl *a, const char *name, const char *token)
{
    static char out[2048];
    tc_buf b = {0};
    tc_acl_describe(tc_acl_find(a, name, strlen(name)), token, &b);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data);
    tc_buf_free(&b);
    return out;
}

/* The check for "cmd args..." as user: TC_ACL_OK or why not. */
static int check(tc_acl *a, const char *user, const char *line)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    tc_slice v[32];
    size_t n = 0;
    for (char *t = strtok(copy, " "); t && n < 32; t = strtok(NULL, " ")) v[n++] = (tc_slice){t, strlen(t)};
    const tc_cmd *cmd = tc_cmd_lookup(v[0].p, v[0].len);
    assert_non_null(cmd);
    size_t where;
    return tc_acl_check(tc_acl_find(a, user, strlen(user)), cmd, n, v, &where);
}

static void test_default_user(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    assert_string_equal(describe(&a, "default", ""), "user default on nopass ~* &* +@all");
    assert_true(tc_acl_default_nopass(&a, ""));
    /* backed by auth_token: its hash, and only it opens */
    char h[TC_ACL_HASH_HEX + 1], want[200];
    tc_acl_hash("tok", 3, h);
    snprintf(want, sizeof want, "user default on #%s ~* &* +@all", h);
    assert_string_equal(describe(&a, "default", "tok"), want);
    assert_false(tc_acl_default_nopass(&a, "tok"));
    const tc_acl_user *d = tc_acl_default(&a);
    assert_true(tc_acl_password_ok(d, "tok", "tok", 3));
    assert_false(tc_acl_password_ok(d, "tok", "tok2", 4));
    char err[256];
    assert_int_equal(tc_acl_deluser(&a, "default", 7, err, sizeof err), -1);
    assert_string_equal(err, "ERR The 'default' user cannot be removed");
    tc_acl_free(&a);
}

static void test_rotation_keeps_the_old_token(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    char hnew[TC_ACL_HASH_HEX + 2] = "#", err[256];
    tc_acl_hash("new", 3, hnew + 1);
    char line[128];
    snprintf(line, sizeof line, "default %s", hnew);
    assert_int_equal(setuser(&a, line, "old", err, sizeof err), 0); /* rotate */
    const tc_acl_user *d = tc_acl_default(&a);
    assert_true(tc_acl_password_ok(d, "old", "old", 3));
    assert_true(tc_acl_password_ok(d, "old", "new", 3));
    snprintf(line, sizeof line, "default resetpass %s", hnew);
    assert_int_equal(setuser(&a, line, "old", err, sizeof err), 0); /* set */
    assert_false(tc_acl_password_ok(d, "old", "old", 3));
    assert_true(tc_acl_password_ok(d, "old", "new", 3));
    assert_true(a.changed);
    tc_acl_free(&a);
}

static void test_rule_errors_change_nothing(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    ok(&a, "alice on >pw ~app:* %R~rep:* +@read +@write -flushall &ch*");
    const char *before = strdup(describe(&a, "alice", ""));
    refused(&a, "alice off bogus", "ERR Error in ACL SETUSER modifier 'bogus': Syntax error");
    refused(&a, "alice +nosuch", "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
    refused(&a, "alice +@nosuch", "ERR Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL");
    refused(&a, "alice +get|x", "ERR Error in ACL SETUSER modifier '+get|x': Unknown command or category name in ACL");
    refused(&a, "alice #abc",
            "ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only "
            "lowercase hexadecimal characters");
    refused(&a, "alice <nope",
            "ERR Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not "
            "exist");
    refused(&a, "alice %X~a", "ERR Error in ACL SETUSER modifier '%X~a': Syntax error");
    refused(&a, "alice %R", "ERR Error in ACL SETUSER modifier '%R': Syntax error");
    refused(&a, "alice allkeys %R~x",
            "ERR Error in ACL SETUSER modifier '%R~x': Adding a pattern after the * pattern (or the 'allkeys' flag) is "
            "not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns");
    refused(&a, "alice &* &b",
            "ERR Error in ACL SETUSER modifier '&b': Adding a pattern after the * pattern (or the 'allchannels' flag) "
            "is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels");
    assert_string_equal(describe(&a, "alice", ""), before);
    free((void *)before);
    tc_acl_free(&a);
}

static void test_describe_like_redis(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    ok(&a, "alice on >pw ~app:* %R~rep:* +@read +@write -flushall &ch*");
    assert_string_equal(describe(&a, "alice", ""),
                        "user alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* "
                        "%R~rep:* resetchannels &ch* -@all +@read +@write -flushall");
    ok(&a, "dave");
    assert_string_equal(describe(&a, "dave", ""), "user dave off resetchannels -@all");
    ok(&a, "dave on >a >b <a allkeys allchannels allcommands -debug");
    assert_string_equal(describe(&a, "dave", ""),
                        "user dave on #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d ~* &* +@all "
                        "-debug");
    ok(&a, "eve on nopass %W~w* %R~r* %RW~b* ~k +@all");
    assert_string_equal(describe(&a, "eve", ""), "user eve on nopass %W~w* %R~r* ~b* ~k resetchannels +@all");
    ok(&a, "dave reset");
    assert_string_equal(describe(&a, "dave", ""), "user dave off resetchannels -@all");
    /* the same rule twice is kept once, at its latest place */
    ok(&a, "dave +get +set -get");
    assert_string_equal(describe(&a, "dave", ""), "user dave off resetchannels -@all +set -get");
    tc_acl_free(&a);
}

static void test_commands_and_categories(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    ok(&a, "app on nopass allkeys +@all -@dangerous");
    assert_int_equal(check(&a, "app", "set k v"), TC_ACL_OK);
    assert_int_equal(check(&a, "app", "flushall"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "app", "keys *"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "app", "client id"), TC_ACL_OK);
    assert_int_equal(check(&a, "app", "client kill 1.2.3.4:5"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "app", "config get maxmemory"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "app", "acl whoami"), TC_ACL_OK);
    assert_int_equal(check(&a, "app", "acl setuser x"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "app", "auth x"), TC_ACL_OK); /* no_auth commands are always allowed */
    ok(&a, "ro on nopass allkeys -@all +@read");
    assert_int_equal(check(&a, "ro", "get k"), TC_ACL_OK);
    assert_int_equal(check(&a, "ro", "zrange k 0 -1"), TC_ACL_OK);
    assert_int_equal(check(&a, "ro", "set k v"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "ro", "ping"), TC_ACL_DENIED_CMD);
    ok(&a, "sub on nopass allkeys -@all +client -client|kill +config|get");
    assert_int_equal(check(&a, "sub", "client id"), TC_ACL_OK);
    assert_int_equal(check(&a, "sub", "client kill x"), TC_ACL_DENIED_CMD);
    assert_int_equal(check(&a, "sub", "config get x"), TC_ACL_OK);
    assert_int_equal(check(&a, "sub", "config set x y"), TC_ACL_DENIED_CMD);
    char name[64];
    tc_slice v[] = {{"CONFIG", 6}, {"Get", 3}, {"x", 1}};
    tc_acl_cmd_fullname(tc_cmd_lookup("config", 6), 3, v, name, sizeof name);
    assert_string_equal(name, "config|get");
    /* categories as Redis files them */
    int dangerous = tc_acl_cat_lookup("dangerous", 9), keyspace = tc_acl_cat_lookup("KEYSPACE", 8);
    assert_true(dangerous >= 0 && keyspace >= 0);
    assert_true((tc_acl_cmd_cats(tc_cmd_lookup("flushall", 8), NULL) >> dangerous) & 1);
    assert_true((tc_acl_cmd_cats(tc_cmd_lookup("del", 3), NULL) >> keyspace) & 1);
    assert_false((tc_acl_cmd_cats(tc_cmd_lookup("get", 3), NULL) >> dangerous) & 1);
    assert_int_equal(tc_acl_cat_lookup("nosuch", 6), -1);
    tc_acl_free(&a);
}

static void test_key_patterns_read_and_write(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    ok(&a, "eve on nopass %W~w* %R~r* ~b* +@all");
    assert_int_equal(check(&a, "eve", "set w1 1"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "get w1"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "get r1"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "set r1 1"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "set b1 1 get"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "set w1 1 get"), TC_ACL_DENIED_KEY); /* GET reads the old value */
    assert_int_equal(check(&a, "eve", "incr w1"), TC_ACL_DENIED_KEY);      /* answers the value: needs R too */
    assert_int_equal(check(&a, "eve", "lpush w2 a"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "lpop w2"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "mget r1 zz"), TC_ACL_DENIED_KEY);
    /* a destination is written, the sources read */
    assert_int_equal(check(&a, "eve", "sunionstore w3 r1 r2"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "sunionstore w3 r1 w2"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "zunionstore w3 2 r1 r2"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "zunionstore w3 2 r1 zz"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "zunion 2 r1 w1"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "copy r1 w1"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "copy w1 r1"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "rename b1 w1"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "rename w1 b1"), TC_ACL_DENIED_KEY);
    /* XREAD's keys are the first half after STREAMS (a key named like an option is still a key) */
    assert_int_equal(check(&a, "eve", "xread count 2 block 0 streams r1 b1 $ 0"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "xread streams r1 w1 0 0"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "xread block 5 streams w1 0"), TC_ACL_DENIED_KEY);
    assert_int_equal(check(&a, "eve", "xread streams r1 w1"), TC_ACL_OK); /* ids, not keys: r1 */
    assert_int_equal(check(&a, "eve", "xadd w1 * f v"), TC_ACL_OK);
    assert_int_equal(check(&a, "eve", "xrange w1 - +"), TC_ACL_DENIED_KEY);
    tc_acl_free(&a);
}

static void test_channels(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    ok(&a, "c on nopass allkeys +@all &news.*");
    assert_int_equal(check(&a, "c", "publish news.1 x"), TC_ACL_OK);
    assert_int_equal(check(&a, "c", "publish other x"), TC_ACL_DENIED_CHANNEL);
    assert_int_equal(check(&a, "c", "subscribe news.a news.b"), TC_ACL_OK);
    assert_int_equal(check(&a, "c", "subscribe news.a other"), TC_ACL_DENIED_CHANNEL);
    /* a pattern subscription must be one of the user's patterns as written */
    assert_int_equal(check(&a, "c", "psubscribe news.*"), TC_ACL_OK);
    assert_int_equal(check(&a, "c", "psubscribe news.1*"), TC_ACL_DENIED_CHANNEL);
    tc_acl_free(&a);
}

/* What tc_acl_each gives rebuilds the same users (snapshots). */
typedef struct copy_into {
    tc_acl *dst;
} copy_into;

static void copy_user(void *ud, const char *name, size_t nrules, const tc_slice *rules)
{
    copy_into *c = ud;
    char err[256];
    if (tc_acl_setuser(c->dst, name, strlen(name), nrules, rules, "tok", err, sizeof err) != 0) fail_msg("%s", err);
}

static void test_each_rebuilds_the_users(void **state)
{
    (void)state;
    tc_acl a, b;
    assert_int_equal(tc_acl_init(&a), 0);
    assert_int_equal(tc_acl_init(&b), 0);
    ok(&a, "alice on >pw >pw2 ~app:* %R~rep:* %W~w* +@read +@write -flushall &ch* -client|kill");
    ok(&a, "bob off nopass");
    copy_into c = {&b};
    tc_acl_each(&a, "tok", copy_user, &c);
    assert_int_equal(b.n, 3);
    for (size_t i = 0; i < a.n; i++) {
        char one[2048];
        snprintf(one, sizeof one, "%s", describe(&a, a.users[i]->name, "tok"));
        assert_string_equal(describe(&b, a.users[i]->name, "tok"), one);
    }
    tc_acl_free(&a);
    tc_acl_free(&b);
}

static void test_log_groups_repeats(void **state)
{
    (void)state;
    tc_acl a;
    assert_int_equal(tc_acl_init(&a), 0);
    tc_acl_log_add(&a, "command", "toplevel", "set", "frank", "id=1", 1000, 2);
    tc_acl_log_add(&a, "command", "toplevel", "set", "frank", "id=2", 2000, 2);
    assert_int_equal(a.nlog, 1);
    assert_int_equal(a.log[0].count, 2);
    assert_string_equal(a.log[0].client_info, "id=2");
    tc_acl_log_add(&a, "key", "toplevel", "k", "frank", "id=3", 3000, 2);
    tc_acl_log_add(&a, "auth", "toplevel", "auth", "x", "id=4", 4000, 2);
    assert_int_equal(a.nlog, 2); /* the oldest went */
    assert_string_equal(a.log[0].reason, "auth");
    tc_acl_log_reset(&a);
    assert_int_equal(a.nlog, 0);
    tc_acl_free(&a);
}

static void test_acl_file_text(void **state)
{
    (void)state;
    tc_acl a;
    char err[600];
    assert_int_equal(tc_acl_init_from(&a, "# users\n\nuser app on >pw ~app:* +@all\n  user ro on nopass %R~* +@read\n",
                                      "", err, sizeof err),
                     0);
    assert_int_equal(a.n, 3);
    assert_false(a.changed); /* what every node makes alike: not carried by images */
    assert_string_equal(describe(&a, "ro", ""), "user ro on nopass %R~* resetchannels -@all +@read");
    tc_acl_free(&a);
    assert_int_equal(tc_acl_init_from(&a, "user app on\nuser bad +nosuch\n", "", err, sizeof err), -1);
    assert_string_equal(err, "line 2: ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
    assert_int_equal(tc_acl_init_from(&a, "setuser x\n", "", err, sizeof err), -1);
    assert_string_equal(err, "line 1: expected 'user <name> <rules...>'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_user),
        cmocka_unit_test(test_rotation_keeps_the_old_token),
        cmocka_unit_test(test_rule_errors_change_nothing),
        cmocka_unit_test(test_describe_like_redis),
        cmocka_unit_test(test_commands_and_categories),
        cmocka_unit_test(test_key_patterns_read_and_write),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_each_rebuilds_the_users),
        cmocka_unit_test(test_log_groups_repeats),
        cmocka_unit_test(test_acl_file_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
