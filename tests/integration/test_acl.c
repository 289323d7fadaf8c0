/* Issue 13's users, token rotation and DEBUG for remote clients, on real
 * nodes: ACL users with read-only and key-pattern rules against commands of
 * each category (replies compared with redis-server 7.0's, byte for byte),
 * a SETUSER on the primary seen by the replicas and kept across a restart
 * from snapshots, tricachectl auth rotate/set with clients on the old and
 * the new token, and DEBUG refused to a client from 127.0.0.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define DEADLINE_MS 15000

/* Sends one command as a RESP array of its arguments and returns the raw
 * reply (malloc'd). */
static char *cmdv(int fd, int argc, const char *const *argv)
{
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    assert_true(n < sizeof buf);
    h_send(fd, buf, n);
    char *r = h_reply(fd);
    assert_non_null(r);
    return r;
}

/* The same with the arguments split on spaces. */
static char *cmd(int fd, const char *line)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", line);
    const char *argv[64];
    int argc = 0;
    for (char *t = strtok(copy, " "); t && argc < 64; t = strtok(NULL, " ")) argv[argc++] = t;
    return cmdv(fd, argc, argv);
}

static void expect(int fd, const char *line, const char *want)
{
    char *r = cmd(fd, line);
    if (strcmp(r, want) != 0) fail_msg("%s: got %s, want %s", line, r, want);
    free(r);
}

static int connect_as(int port, const char *user, const char *pass)
{
    int fd = h_connect(port);
    if (user) {
        char line[256];
        snprintf(line, sizeof line, "AUTH %s %s", user, pass);
        expect(fd, line, "+OK\r\n");
    }
    return fd;
}

/* The node answering role:master, found with an authenticated INFO. */
static int primary_of(tcluster *c, const char *token)
{
    long long deadline = h_ms() + DEADLINE_MS;
    do {
        for (int i = 0; i < c->n; i++) {
            if (c->nodes[i].pid <= 0) continue;
            int fd = h_connect(c->nodes[i].port);
            if (token) {
                char line[128];
                snprintf(line, sizeof line, "AUTH %s", token);
                free(cmd(fd, line));
            }
            char *r = cmd(fd, "INFO replication");
            int master = strstr(r, "role:master") != NULL;
            free(r);
            h_close(fd);
            if (master) return i;
        }
        usleep(20000);
    } while (h_ms() < deadline);
    return -1;
}

/* Polls until line answers want on fd (a replica catching up). */
static void eventually(int fd, const char *line, const char *want)
{
    long long deadline = h_ms() + DEADLINE_MS;
    for (;;) {
        char *r = cmd(fd, line);
        int ok = strcmp(r, want) == 0;
        if (!ok && h_ms() > deadline) fail_msg("%s: got %s, want %s (after %d ms)", line, r, want, DEADLINE_MS);
        free(r);
        if (ok) return;
        usleep(20000);
    }
}

/* ---- users against every category, compared with redis-server ------------- */

static const char *const SETUP[] = {
    /* the application: its own prefix, every command but the dangerous ones */
    "ACL SETUSER app on >app-pass ~app:* &app:* +@all -@dangerous",
    /* the reporting job: reads only, everywhere */
    "ACL SETUSER report on >report-pass %R~* -@all +@read +ping",
};

/* Run as app, then as report; every reply must be redis-server's. */
static const char *const AS_APP[] = {
    "SET app:s v", "GET app:s", "SET other v", "APPEND app:s w", "STRLEN app:s",
    "LPUSH app:l a b", "LRANGE app:l 0 -1", "LPUSH other:l a",
    "HSET app:h f v", "HGETALL app:h", "HGET other:h f",
    "SADD app:set m n", "SCARD app:set", "SUNIONSTORE app:u app:set other:set", "SINTERSTORE other:u app:set",
    "ZADD app:z 1 m", "ZRANGE app:z 0 -1 WITHSCORES", "ZUNIONSTORE app:zu 2 app:z other:z", "ZUNION 1 app:z",
    "SETBIT app:b 7 1", "GETBIT app:b 7", "BITCOUNT other:b",
    "PFADD app:p a b", "PFCOUNT app:p", "PFMERGE app:p2 app:p other:p",
    "EXISTS app:s other", "TYPE app:h", "EXPIRE app:s 100", "RENAME app:s other:s", "DEL app:zu",
    "PUBLISH app:news hello", "PUBLISH other hello",
    "PING", "ECHO hi", "ACL WHOAMI",
    "FLUSHALL", "FLUSHDB", "KEYS *", "CONFIG GET maxmemory", "INFO", "SHUTDOWN", "ACL SETUSER x", "ACL LIST",
    "MULTI", "SET app:t 1", "INCR app:t", "EXEC",
};
static const char *const AS_REPORT[] = {
    "GET app:t", "GET other", "LRANGE app:l 0 -1", "HGETALL app:h", "SISMEMBER app:set m", "ZRANGE app:z 0 -1",
    "GETBIT app:b 7", "PFCOUNT app:p", "EXISTS app:l", "TTL app:t", "TYPE app:z", "SCARD app:set",
    "SET app:x 1", "DEL app:l", "INCR app:t", "LPOP app:l", "HSET app:h f w", "ZADD app:z 2 m", "SADD app:set o",
    "PUBLISH app:news hi", "PING", "ACL WHOAMI", "CLIENT ID", "FLUSHALL", "INFO", "MULTI",
};

static void run_and_compare(int ours, int redis, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *a = cmd(ours, lines[i]), *b = cmd(redis, lines[i]);
        if (strcmp(a, b) != 0) fail_msg("%s: tricache answered %s, redis-server %s", lines[i], a, b);
        free(a);
        free(b);
    }
}

static void test_users_replicated_enforced_and_kept(void **state)
{
    (void)state;
    /* snapshots every 64 entries: the user entries are compacted away
     * before the restart, so the users come back from snapshots */
    tcluster *c = h_cluster_start(3, "snapshot_threshold = 64");
    int p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    char rdir[128];
    int rport;
    pid_t rpid = h_start_redis(&rport, rdir, sizeof rdir);

    int fd = h_connect(c->nodes[p].port), rfd = h_connect(rport);
    for (size_t i = 0; i < sizeof SETUP / sizeof SETUP[0]; i++) {
        expect(fd, SETUP[i], "+OK\r\n");
        expect(rfd, SETUP[i], "+OK\r\n");
    }
    /* bad rules: Redis's error, and nothing changes */
    run_and_compare(fd, rfd,
                    (const char *const[]){"ACL SETUSER app +nosuchcommand", "ACL SETUSER app %X~a", "ACL SETUSER app #abc",
                                          "ACL SETUSER app <not-a-password", "ACL DELUSER default", "ACL GETUSER app",
                                          "ACL GETUSER report", "ACL LIST", "ACL USERS", "ACL CAT"},
                    10);
    int app = connect_as(c->nodes[p].port, "app", "app-pass"), rapp = connect_as(rport, "app", "app-pass");
    run_and_compare(app, rapp, AS_APP, sizeof AS_APP / sizeof AS_APP[0]);
    int rep = connect_as(c->nodes[p].port, "report", "report-pass"), rrep = connect_as(rport, "report", "report-pass");
    run_and_compare(rep, rrep, AS_REPORT, sizeof AS_REPORT / sizeof AS_REPORT[0]);
    expect(fd, "AUTH app wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    char *info = cmd(fd, "INFO stats");
    assert_non_null(strstr(info, "acl_access_denied_cmd:"));
    assert_null(strstr(info, "acl_access_denied_key:0\r\n"));
    free(info);
    h_close(rapp);
    h_close(rrep);
    h_close(rfd);
    h_stop_pid(rpid, rdir);

    /* every replica has the users: reads there follow the same rules, and
     * a SETUSER there is refused like a write */
    for (int i = 0; i < 3; i++) {
        if (i == p) continue;
        int r = h_connect(c->nodes[i].port);
        eventually(r, "ACL USERS", "*3\r\n$3\r\napp\r\n$7\r\ndefault\r\n$6\r\nreport\r\n");
        expect(r, "ACL SETUSER x on", "-READONLY You can't write against a read only replica.\r\n");
        char *hello = cmd(r, "HELLO 3 AUTH report report-pass");
        assert_memory_equal(hello, "%7\r\n", 4);
        free(hello);
        expect(r, "ACL WHOAMI", "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
        hello = cmd(r, "HELLO 2");
        assert_memory_equal(hello, "*14\r\n", 5);
        free(hello);
        eventually(r, "GET app:t", "$1\r\n2\r\n");
        expect(r, "SET app:t 3", "-NOPERM this user has no permissions to run the 'set' command\r\n");
        expect(r, "AUTH app app-pass", "+OK\r\n");
        expect(r, "GET other", "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
        h_close(r);
    }

    /* DELUSER: gone everywhere, its connections closed */
    expect(fd, "ACL SETUSER temp on >t ~* +@all", "+OK\r\n");
    int tmp = connect_as(c->nodes[p].port, "temp", "t");
    expect(fd, "ACL DELUSER temp nobody", ":1\r\n");
    assert_true(h_closed(tmp));

    /* enough writes for a snapshot on every node, then every node restarts */
    for (int i = 0; i < 200; i++) {
        char line[64];
        snprintf(line, sizeof line, "SET app:n%d %d", i, i);
        expect(app, line, "+OK\r\n");
    }
    free(h_converged_digest(c));
    h_close(app);
    h_close(rep);
    h_close(fd);
    /* the passwords reached the disk as hashes only */
    int st;
    char *grep = h_run(&st, "grep", "-rl", "app-pass", c->dir, (char *)NULL);
    assert_string_equal(grep, "");
    free(grep);
    for (int i = 0; i < 3; i++) h_node_signal(c, i, SIGTERM);
    for (int i = 0; i < 3; i++) assert_true(h_node_wait_exit(c, i, DEADLINE_MS) >= 0);
    h_nodes_start(c, 3);
    p = h_cluster_primary(c, DEADLINE_MS);
    assert_true(p >= 0);
    for (int i = 0; i < 3; i++) {
        int r = h_connect(c->nodes[i].port);
        eventually(r, "ACL USERS", "*3\r\n$3\r\napp\r\n$7\r\ndefault\r\n$6\r\nreport\r\n");
        expect(r, "AUTH report report-pass", "+OK\r\n");
        expect(r, "AUTH app wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        h_close(r);
    }
    char *log = h_node_log(c, p);
    assert_non_null(strstr(log, "snapshot"));
    free(log);
    h_cluster_stop(c);
}

/* ---- token rotation --------------------------------------------------------------- */

#define OLD_TOKEN "old-t0ken-4ad1"
#define NEW_TOKEN "new-t0ken-77e3"

static void test_token_rotation(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "auth_token = \"" OLD_TOKEN "\"");
    int p = primary_of(c, OLD_TOKEN);
    assert_true(p >= 0);
    int q = (p + 1) % 3;
    int old_client = h_connect(c->nodes[p].port), old_replica = h_connect(c->nodes[q].port);
    expect(old_client, "AUTH " OLD_TOKEN, "+OK\r\n");
    expect(old_replica, "AUTH " OLD_TOKEN, "+OK\r\n");
    expect(old_client, "SET k 1", "+OK\r\n");

    char file[300];
    snprintf(file, sizeof file, "%s/new-token", c->dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", NEW_TOKEN);
    fclose(f);
    const char *ctl = getenv("TRICACHECTL");
    assert_non_null(ctl);
    int st;
    char *out = h_run(&st, ctl, "--config", c->config, "auth", "rotate", "--new-token-file", file, (char *)NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("auth rotate failed: %s", out);
    free(out);

    /* both tokens now, on every node; the connected clients go on */
    int new_client = h_connect(c->nodes[p].port);
    expect(new_client, "AUTH " NEW_TOKEN, "+OK\r\n");
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(c->nodes[i].port);
        expect(fd, "AUTH " NEW_TOKEN, "+OK\r\n");
        expect(fd, "AUTH default " OLD_TOKEN, "+OK\r\n");
        h_close(fd);
    }
    expect(old_client, "SET k 2", "+OK\r\n");
    expect(new_client, "SET k 3", "+OK\r\n");
    eventually(old_replica, "GET k", "$1\r\n3\r\n");

    out = h_run(&st, ctl, "--config", c->config, "auth", "set", "--token-file", file, (char *)NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("auth set failed: %s", out);
    free(out);

    /* connections already authenticated stay so; the old token is refused */
    expect(old_client, "SET k 4", "+OK\r\n");
    expect(new_client, "SET k 5", "+OK\r\n");
    eventually(old_replica, "GET k", "$1\r\n5\r\n");
    for (int i = 0; i < 3; i++) {
        int fd = h_connect(c->nodes[i].port);
        expect(fd, "GET k", "-NOAUTH Authentication required.\r\n");
        eventually(fd, "AUTH " OLD_TOKEN, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        expect(fd, "AUTH " NEW_TOKEN, "+OK\r\n");
        char *info = cmd(fd, "INFO stats");
        assert_null(strstr(info, "acl_access_denied_auth:0\r\n"));
        free(info);
        h_close(fd);
    }
    /* a bad token file changes nothing */
    f = fopen(file, "w");
    fprintf(f, "two words\n");
    fclose(f);
    out = h_run(&st, ctl, "--config", c->config, "auth", "rotate", "--new-token-file", file, (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    free(out);
    expect(new_client, "ACL GETUSER default", "*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n"
                                             "fb60e230c090b3f4ff40a1b334791c9d264c1af7ebc35b766f20f92edab95cc6\r\n"
                                             "$8\r\ncommands\r\n$5\r\n+@all\r\n$4\r\nkeys\r\n$2\r\n~*\r\n$8\r\nchannels\r\n"
                                             "$2\r\n&*\r\n$9\r\nselectors\r\n*0\r\n");
    h_close(old_client);
    h_close(new_client);
    h_close(old_replica);
    h_cluster_stop(c);
}

/* ---- DEBUG for remote clients ------------------------------------------------------ */

/* A connection to 127.0.0.1:port from the address src (another loopback
 * address plays a remote client). */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
    return fd;
}

/* One reply line (errors and statuses are one line). */
static char *line_of(int fd, const char *command)
{
    assert_int_equal(write(fd, command, strlen(command)), (ssize_t)strlen(command));
    static char buf[1024];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t k = read(fd, buf + n, 1);
        assert_true(k == 1);
        n++;
        if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n') break;
    }
    buf[n] = '\0';
    return buf;
}

#define DEBUG_REFUSED                                                                                        \
    "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it " \
    "from a local connection, otherwise you need to set this option in the configuration file, and then "    \
    "restart the server.\r\n"

/* redis-server with enable-debug-command local, to show that it too counts
 * 127.0.0.2 as remote. */
static pid_t redis_pid; /* stopped by the teardown whatever happened */

static int stop_redis(void **state)
{
    (void)state;
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
    }
    redis_pid = 0;
    return 0;
}

static pid_t start_redis_local_debug(int *port)
{
    *port = h_free_port();
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", *port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* protected mode off: it would refuse 127.0.0.2 before DEBUG is
         * looked at (which also shows Redis counts it as remote) */
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", "/tmp", "--enable-debug-command", "local", "--protected-mode", "no", "--logfile",
               "/dev/null", (char *)NULL);
        _exit(127);
    }
    long long deadline = h_ms() + DEADLINE_MS;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        int ok = connect(fd, (struct sockaddr *)&to, sizeof to) == 0;
        close(fd);
        if (ok) return redis_pid = pid;
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("redis-server did not start");
        }
        usleep(20000);
    }
}

static void test_debug_remote(void **state)
{
    (void)state;
    int rport;
    pid_t rpid = start_redis_local_debug(&rport);
    int rlocal = connect_from("127.0.0.1", rport), rremote = connect_from("127.0.0.2", rport);
    assert_string_equal(line_of(rlocal, "DEBUG SLEEP 0\r\n"), "+OK\r\n");
    assert_string_equal(line_of(rremote, "DEBUG SLEEP 0\r\n"), DEBUG_REFUSED);
    close(rlocal);
    close(rremote);
    (void)rpid;
    stop_redis(NULL);

    /* the default, local; a user of acl_file granted DEBUG by name */
    char users[] = "/tmp/tc-aclfile-XXXXXX";
    int ufd = mkstemp(users);
    assert_true(ufd >= 0);
    const char text[] = "# loaded at start\nuser ops on >ops-pass ~* +@all +debug\n";
    assert_int_equal(write(ufd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(ufd);
    char extra[128];
    snprintf(extra, sizeof extra, "acl_file = \"%s\"", users);
    tnode *n = h_start(extra);
    unlink(users);
    int local = connect_from("127.0.0.1", n->port), remote = connect_from("127.0.0.2", n->port);
    assert_string_equal(line_of(local, "DEBUG SLEEP 0\r\n"), "+OK\r\n");
    assert_string_equal(line_of(remote, "DEBUG SLEEP 0\r\n"), DEBUG_REFUSED);
    assert_string_equal(line_of(remote, "PING\r\n"), "+PONG\r\n");
    assert_string_equal(line_of(remote, "AUTH ops ops-pass\r\n"), "+OK\r\n");
    assert_string_equal(line_of(remote, "DEBUG SLEEP 0\r\n"), "+OK\r\n");
    close(local);
    close(remote);
    h_stop(n);

    n = h_start("enable_debug_command = \"no\"");
    local = connect_from("127.0.0.1", n->port);
    assert_string_equal(line_of(local, "DEBUG SLEEP 0\r\n"), DEBUG_REFUSED);
    assert_string_equal(line_of(local, "CONFIG GET enable-debug-command\r\n"), "*2\r\n");
    close(local);
    h_stop(n);

    n = h_start("enable_debug_command = \"yes\"");
    remote = connect_from("127.0.0.2", n->port);
    assert_string_equal(line_of(remote, "DEBUG SLEEP 0\r\n"), "+OK\r\n");
    close(remote);
    h_stop(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_debug_remote, stop_redis),
        cmocka_unit_test(test_users_replicated_enforced_and_kept),
        cmocka_unit_test(test_token_rotation),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
