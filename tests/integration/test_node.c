/* One real tricache process on loopback, driven by redis-cli,
 * redis-benchmark and raw sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Each test gets a fresh node from setup; teardown stops it even when the
 * test failed, so no process outlives the suite. */
static int start_plain(void **state)
{
    *state = h_start(NULL);
    return 0;
}

static int start_with_auth(void **state)
{
    *state = h_start("auth_token = \"s3cret-token\"");
    return 0;
}

static int stop(void **state)
{
    h_stop(*state);
    return 0;
}

#define CLI_EXPECT(n, want, ...)                                                                                      \
    do {                                                                                                              \
        char *out_ = h_cli((n), __VA_ARGS__, (char *)NULL);                                                           \
        assert_string_equal(out_, want);                                                                              \
        free(out_);                                                                                                   \
    } while (0)

static void expect_reply(int fd, const char *want)
{
    char *r = h_reply(fd);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

static void test_redis_cli_basics(void **state)
{
    tnode *n = *state;
    CLI_EXPECT(n, "PONG", "PING");
    CLI_EXPECT(n, "OK", "SET", "greeting", "hello world");
    CLI_EXPECT(n, "hello world", "GET", "greeting");
    CLI_EXPECT(n, "", "GET", "missing");
    CLI_EXPECT(n, "1", "INCR", "counter");
    CLI_EXPECT(n, "OK", "SET", "t", "v", "EX", "100");
    CLI_EXPECT(n, "100", "TTL", "t");
    CLI_EXPECT(n, "3", "DBSIZE");
    CLI_EXPECT(n, "maxclients\n10000", "CONFIG", "GET", "maxclients");
    CLI_EXPECT(n, "ERR wrong number of arguments for 'get' command", "GET");
    char *info = h_cli(n, "INFO", "keyspace", (char *)NULL);
    assert_non_null(strstr(info, "db0:keys=3,expires=1"));
    free(info);
    CLI_EXPECT(n, "PONG", "-3", "PING"); /* redis-cli in RESP3 mode (HELLO 3) */
    char *digest = h_cli(n, "DEBUG", "DIGEST", (char *)NULL);
    assert_int_equal(strlen(digest), 40);
    free(digest);
}

/* A big keyspace is hashed in a forked child while the node keeps
 * answering; the digest still follows the data exactly. */
static void test_digest_of_a_big_keyspace(void **state)
{
    tnode *n = *state;
    CLI_EXPECT(n, "OK", "DEBUG", "POPULATE", "150000");
    char *a = h_cli(n, "DEBUG", "DIGEST", (char *)NULL);
    assert_int_equal(strlen(a), 40);
    CLI_EXPECT(n, "1", "DEL", "key:77");
    char *b = h_cli(n, "DEBUG", "DIGEST", (char *)NULL);
    assert_string_not_equal(a, b);
    CLI_EXPECT(n, "OK", "SET", "key:77", "value:77");
    char *c = h_cli(n, "DEBUG", "DIGEST", (char *)NULL);
    assert_string_equal(a, c);
    CLI_EXPECT(n, "PONG", "-3", "PING");
    free(a);
    free(b);
    free(c);
}

static void test_redis_benchmark(void **state)
{
    tnode *n = *state;
    char port[16];
    snprintf(port, sizeof port, "%d", n->port);
    int st;
    char *out = h_run(&st, "redis-benchmark", "-p", port, "-t", "set,get", "-n", "20000", "-q", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(out, "SET: "));
    assert_non_null(strstr(out, "GET: "));
    assert_non_null(strstr(out, "requests per second"));
    free(out);
    CLI_EXPECT(n, "1", "DBSIZE"); /* redis-benchmark without -r uses one key */
    CLI_EXPECT(n, "3", "STRLEN", "key:__rand_int__");
    char *info = h_cli(n, "INFO", "stats", (char *)NULL);
    assert_null(strstr(info, "total_protocol_errors:1"));
    free(info);
}

static void test_pipelining_keeps_order(void **state)
{
    tnode *n = *state;
    int fd = h_connect(n->port);
    assert_true(fd >= 0);
    char cmd[128];
    size_t cap = 1 << 20, len = 0;
    char *batch = malloc(cap);
    for (int i = 0; i < 2000; i++) {
        int l = i % 2 == 0 ? snprintf(cmd, sizeof cmd, "*3\r\n$3\r\nSET\r\n$6\r\nk%05d\r\n$5\r\n%05d\r\n", i, i)
                           : snprintf(cmd, sizeof cmd, "*2\r\n$3\r\nGET\r\n$6\r\nk%05d\r\n", i - 1);
        memcpy(batch + len, cmd, (size_t)l);
        len += (size_t)l;
    }
    h_send(fd, batch, len);
    for (int i = 0; i < 2000; i++) {
        if (i % 2 == 0) {
            expect_reply(fd, "+OK\r\n");
        } else {
            snprintf(cmd, sizeof cmd, "$5\r\n%05d\r\n", i - 1);
            expect_reply(fd, cmd);
        }
    }
    free(batch);
    h_close(fd);
}

static void test_inline_commands(void **state)
{
    tnode *n = *state;
    int fd = h_connect(n->port);
    h_sends(fd, "PING\r\nSET a \"hello world\"\r\nGET a\nECHO 'it''s'\r\n\r\nPING\r\n");
    expect_reply(fd, "+PONG\r\n");
    expect_reply(fd, "+OK\r\n");
    expect_reply(fd, "$11\r\nhello world\r\n");
    expect_reply(fd, "-ERR Protocol error: unbalanced quotes in request\r\n");
    assert_true(h_closed(fd));
    h_close(fd);
}

static void test_protocol_errors_close_only_that_client(void **state)
{
    tnode *n = *state;
    int good = h_connect(n->port);
    int bad = h_connect(n->port);
    h_sends(bad, "*1\r\n$-5\r\n");
    expect_reply(bad, "-ERR Protocol error: invalid bulk length\r\n");
    assert_true(h_closed(bad));
    h_close(bad);
    bad = h_connect(n->port);
    h_sends(bad, "*2\r\n+GET\r\n");
    expect_reply(bad, "-ERR Protocol error: expected '$', got '+'\r\n");
    assert_true(h_closed(bad));
    h_close(bad);
    h_sends(good, "PING\r\n");
    expect_reply(good, "+PONG\r\n");
    h_close(good);
    char *info = h_cli(n, "INFO", "stats", (char *)NULL);
    assert_non_null(strstr(info, "total_protocol_errors:2"));
    free(info);
}

static void test_limits(void **state)
{
    tnode *n = *state;
    CLI_EXPECT(n, "OK", "CONFIG", "SET", "proto-max-bulk-len", "1kb", "proto-max-multibulk-len", "16");
    int fd = h_connect(n->port);
    h_sends(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n");
    expect_reply(fd, "-ERR Protocol error: invalid bulk length\r\n");
    assert_true(h_closed(fd));
    h_close(fd);
    fd = h_connect(n->port);
    h_sends(fd, "*17\r\n");
    expect_reply(fd, "-ERR Protocol error: too many arguments (limit 16)\r\n");
    h_close(fd);

    /* the query buffer limit: a bulk announced within limits that keeps
     * growing past client-query-buffer-limit */
    CLI_EXPECT(n, "OK", "CONFIG", "SET", "proto-max-bulk-len", "512mb", "client-query-buffer-limit", "1mb");
    fd = h_connect(n->port);
    h_sends(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n");
    char *chunk = calloc(1, 64 * 1024);
    memset(chunk, 'x', 64 * 1024);
    for (int i = 0; i < 20; i++) {
        if (send(fd, chunk, 64 * 1024, MSG_NOSIGNAL) < 0) break; /* closed by the server: fine */
    }
    free(chunk);
    assert_true(h_closed(fd));
    h_close(fd);
    CLI_EXPECT(n, "PONG", "PING");
    char *info = h_cli(n, "INFO", "stats", (char *)NULL);
    assert_non_null(strstr(info, "client_query_buffer_limit_disconnections:1"));
    free(info);
}

static void test_maxclients(void **state)
{
    tnode *n = *state;
    int a = h_connect(n->port);
    h_sends(a, "CONFIG SET maxclients 2\r\n");
    expect_reply(a, "+OK\r\n");
    int b = h_connect(n->port);
    h_sends(b, "PING\r\n");
    expect_reply(b, "+PONG\r\n");
    int c = h_connect(n->port);
    expect_reply(c, "-ERR max number of clients reached\r\n");
    assert_true(h_closed(c));
    h_close(c);
    h_sends(a, "CONFIG SET maxclients 10000\r\n");
    expect_reply(a, "+OK\r\n");
    h_close(a);
    h_close(b);
}

static void test_slow_reader_gets_everything(void **state)
{
    tnode *n = *state;
    int fd = h_connect(n->port);
    /* a 1 MiB value, then 64 GETs without reading: far more than the
     * output pause threshold, so reading pauses and resumes */
    size_t vlen = 1 << 20;
    char *val = malloc(vlen);
    memset(val, 'v', vlen);
    char head[64];
    int hl = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vlen);
    h_send(fd, head, (size_t)hl);
    h_send(fd, val, vlen);
    h_sends(fd, "\r\n");
    expect_reply(fd, "+OK\r\n");
    for (int i = 0; i < 64; i++) h_sends(fd, "GET big\r\n");
    h_sends(fd, "PING\r\n");
    for (int i = 0; i < 64; i++) {
        char *r = h_reply(fd);
        assert_non_null(r);
        assert_int_equal(strlen(r), vlen + 12); /* "$1048576\r\n" + value + "\r\n" */
        free(r);
    }
    expect_reply(fd, "+PONG\r\n");
    free(val);
    h_close(fd);
}

static void test_quit_and_client_kill(void **state)
{
    tnode *n = *state;
    int a = h_connect(n->port);
    h_sends(a, "QUIT\r\n");
    expect_reply(a, "+OK\r\n");
    assert_true(h_closed(a));
    h_close(a);

    int b = h_connect(n->port);
    h_sends(b, "CLIENT ID\r\n");
    char *id = h_reply(b);
    assert_int_equal(id[0], ':');
    char *list = h_cli(n, "CLIENT", "LIST", (char *)NULL);
    char needle[32];
    snprintf(needle, sizeof needle, "id=%lld ", atoll(id + 1));
    assert_non_null(strstr(list, needle));
    /* the caller's line names its own command, as Redis 7 does */
    assert_non_null(strstr(list, " cmd=client|list "));
    free(list);
    h_sends(b, "CONFIG GET maxmemory\r\n");
    free(h_reply(b));
    list = h_cli(n, "CLIENT", "LIST", (char *)NULL);
    snprintf(needle, sizeof needle, "id=%lld ", atoll(id + 1));
    const char *line = strstr(list, needle);
    assert_non_null(line);
    assert_true(strncmp(strstr(line, " cmd=") + 5, "config|get ", 11) == 0);
    free(list);
    id[strcspn(id, "\r")] = '\0';
    CLI_EXPECT(n, "1", "CLIENT", "KILL", "ID", id + 1);
    assert_true(h_closed(b));
    h_close(b);
    free(id);
}

static void test_expiry_lazy_and_active(void **state)
{
    tnode *n = *state;
    CLI_EXPECT(n, "OK", "SET", "short", "v", "PX", "50");
    CLI_EXPECT(n, "OK", "DEBUG", "POPULATE", "200", "vol", "10");
    int fd = h_connect(n->port);
    char cmd[64];
    for (int i = 0; i < 200; i++) {
        snprintf(cmd, sizeof cmd, "PEXPIRE vol:%d 100\r\n", i);
        h_sends(fd, cmd);
    }
    for (int i = 0; i < 200; i++) expect_reply(fd, ":1\r\n");
    h_close(fd);
    /* never touched again: only active expiry can remove them */
    long long deadline = h_ms() + 10000;
    char *size = NULL;
    for (;;) {
        free(size);
        size = h_cli(n, "DBSIZE", (char *)NULL);
        if (strcmp(size, "0") == 0 || h_ms() > deadline) break;
        usleep(20000);
    }
    assert_string_equal(size, "0");
    free(size);
    CLI_EXPECT(n, "", "GET", "short");
}

static void test_auth_token(void **state)
{
    tnode *n = *state;
    CLI_EXPECT(n, "NOAUTH Authentication required.", "GET", "k");
    CLI_EXPECT(n, "OK", "--no-auth-warning", "-a", "s3cret-token", "SET", "k", "v");
    CLI_EXPECT(n, "v", "--no-auth-warning", "--user", "default", "--pass", "s3cret-token", "GET", "k");
    /* redis-cli reports the failed AUTH on stderr and goes on without it */
    CLI_EXPECT(n, "NOAUTH Authentication required.", "--no-auth-warning", "-a", "wrong", "PING");
    char *info = h_cli(n, "--no-auth-warning", "-a", "s3cret-token", "INFO", "stats", (char *)NULL);
    assert_non_null(strstr(info, "acl_access_denied_auth:1"));
    free(info);
}

static void test_sigterm_shuts_down_cleanly(void **state)
{
    tnode *n = *state;
    int fd = h_connect(n->port);
    h_sends(fd, "PING\r\n");
    expect_reply(fd, "+PONG\r\n");
    kill(n->pid, SIGTERM);
    int st;
    long long deadline = h_ms() + 10000;
    while (waitpid(n->pid, &st, WNOHANG) != n->pid) {
        assert_true(h_ms() < deadline);
        usleep(10000);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char *log = h_log(n);
    assert_non_null(strstr(log, "Received SIGTERM: shutting down"));
    assert_non_null(strstr(log, "ready to exit"));
    free(log);
    assert_true(h_closed(fd));
    h_close(fd);
    n->pid = -1; /* teardown: nothing left to stop */
}

static void test_bad_config_and_flags(void **state)
{
    (void)state;
    char dir[] = "/tmp/tricache-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/bad.toml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "hz = 10\nmaxclientz = 5\n[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:1\"\n"
               "raft_addr = \"127.0.0.1:2\"\n");
    fclose(f);
    int st;
    char *err = h_run_tricache(&st, "--config", path, "--node", "1", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char want[200];
    snprintf(want, sizeof want, "%s:2:", path);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "maxclients"));
    free(err);

    err = h_run_tricache(&st, "--config", "/nonexistent/cluster.toml", "--node", "1", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(err, "/nonexistent/cluster.toml"));
    free(err);

    err = h_run_tricache(&st, "--bogus", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    free(err);

    f = fopen(path, "w");
    fprintf(f, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:1\"\nraft_addr = \"127.0.0.1:2\"\n");
    fclose(f);
    err = h_run_tricache(&st, "--config", path, "--node", "7", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(err, "node 7 is not listed"));
    free(err);
    /* a node id is digits only, as Redis reads integers */
    static const char *const bad_ids[] = {"abc", "+1", " 1", "1 ", "01", "0x1", "1e0", "", "65536"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        err = h_run_tricache(&st, "--config", path, "--node", bad_ids[i], (char *)NULL);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 2)) fail_msg("--node '%s' should be a usage error", bad_ids[i]);
        free(err);
    }
    unlink(path);
    rmdir(dir);
}

#define T(name) cmocka_unit_test_setup_teardown(name, start_plain, stop)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_redis_cli_basics),
        T(test_digest_of_a_big_keyspace),
        T(test_redis_benchmark),
        T(test_pipelining_keeps_order),
        T(test_inline_commands),
        T(test_protocol_errors_close_only_that_client),
        T(test_limits),
        T(test_maxclients),
        T(test_slow_reader_gets_everything),
        T(test_quit_and_client_kill),
        T(test_expiry_lazy_and_active),
        cmocka_unit_test_setup_teardown(test_auth_token, start_with_auth, stop),
        T(test_sigterm_shuts_down_cleanly),
        cmocka_unit_test(test_bad_config_and_flags),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
