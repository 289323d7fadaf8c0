/* TLS for clients: real nodes with a tls_client_addr, reached by redis-cli,
 * redis-benchmark, redis-py and openssl s_client with certificates the
 * openssl CLI makes for the test (a CA, two server certificates, a client
 * certificate). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "harness.h"

static char certs[256]; /* the test's certificates */

/* Runs a shell command line; its stdout and stderr together (malloc'd). */
static char *sh(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sh(int *status, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = 0;
    char *out = h_run(&st, "sh", "-c", cmd, (char *)NULL);
    if (status) *status = st;
    return out;
}

/* Group setup: the certificates every test uses (removed by the group's
 * teardown, which runs whatever the tests did). */
static int make_certs(void **state)
{
    (void)state;
    snprintf(certs, sizeof certs, "/tmp/tricache-tls-XXXXXX");
    assert_non_null(mkdtemp(certs));
    int st;
    char *out = sh(&st,
                   "(cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                   "-subj /CN=tricache-test-ca && "
                   "for n in server server2 client; do "
                   "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=tricache-$n && "
                   "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 2 "
                   "|| exit 1; done) 2>&1",
                   certs);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok) fprintf(stderr, "openssl could not make the certificates: %s\n", out);
    free(out);
    return ok ? 0 : -1;
}

static int remove_certs(void **state)
{
    (void)state;
    int st;
    free(sh(&st, "rm -rf %s", certs));
    return 0;
}

static const char *tls_settings(const char *auth)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "tls_cert_file = \"%s/server.crt\"\ntls_key_file = \"%s/server.key\"\n"
             "tls_ca_cert_file = \"%s/ca.crt\"\ntls_auth_clients = \"%s\"\n",
             certs, certs, certs, auth);
    return buf;
}

/* Gives every [[node]] of c's cluster.toml a tls_client_addr on a free
 * port (after its raft_addr line); tls_ports[i] gets node i's. */
static void add_tls_addrs(tcluster *c, int *tls_ports)
{
    FILE *f = fopen(c->config, "r");
    assert_non_null(f);
    char text[8192] = "", line[512];
    size_t len = 0;
    int i = 0;
    while (fgets(line, sizeof line, f)) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s", line);
        if (strncmp(line, "raft_addr", 9) == 0) {
            tls_ports[i] = h_free_port();
            len += (size_t)snprintf(text + len, sizeof text - len, "tls_client_addr = \"127.0.0.1:%d\"\n",
                                    tls_ports[i]);
            i++;
        }
    }
    fclose(f);
    assert_int_equal(i, c->n);
    f = fopen(c->config, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* redis-cli over TLS; with_cert: shows the client certificate. */
static char *tls_cli(int port, int with_cert, const char *args, int *status)
{
    if (with_cert)
        return sh(status, "redis-cli --tls --cacert %s/ca.crt --cert %s/client.crt --key %s/client.key -p %d %s 2>&1",
                  certs, certs, certs, port, args);
    return sh(status, "redis-cli --tls --cacert %s/ca.crt -p %d %s 2>&1", certs, port, args);
}

/* The subject line of the certificate the TLS port presents now. */
static char *served_subject(int port)
{
    int st;
    char *out = sh(&st,
                   "openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt -cert %s/client.crt -key %s/client.key "
                   "</dev/null 2>/dev/null | grep '^subject='",
                   port, certs, certs, certs);
    return out;
}

/* Polls until the TLS port presents the certificate of cn (10 s). */
static int wait_subject(int port, const char *cn)
{
    long long deadline = h_ms() + 10000;
    do {
        char *s = served_subject(port);
        int ok = strstr(s, cn) != NULL;
        free(s);
        if (ok) return 1;
        usleep(50 * 1000);
    } while (h_ms() < deadline);
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in: %s", needle, hay);
}

static void test_one_node(void **state)
{
    (void)state;
    tcluster *c = h_cluster_create(1, 0, tls_settings("yes"));
    int tls_port;
    add_tls_addrs(c, &tls_port);
    h_nodes_start(c, 1);
    int st;

    /* SET/GET over TLS with a client certificate */
    char *out = tls_cli(tls_port, 1, "SET greeting hello", &st);
    assert_string_equal(out, "OK\n");
    free(out);
    out = tls_cli(tls_port, 1, "GET greeting", &st);
    assert_string_equal(out, "hello\n");
    free(out);

    /* tls_auth_clients = yes: no certificate, no service */
    out = tls_cli(tls_port, 0, "GET greeting", &st);
    if (strstr(out, "hello")) fail_msg("a client without a certificate was served: %s", out);
    free(out);
    h_expect_logged(c, 0, "TLS handshake with 127.0.0.1:");
    h_expect_logged(c, 0, "peer did not return a certificate");

    /* plaintext on the TLS port: nothing useful, the connection closes, the node goes on */
    int fd = h_connect(tls_port);
    h_sends(fd, "*3\r\n$3\r\nSET\r\n$5\r\nplain\r\n$1\r\nx\r\n");
    assert_true(h_closed(fd));
    h_close(fd);
    fd = h_connect(c->nodes[0].port);
    h_sends(fd, "*2\r\n$6\r\nEXISTS\r\n$5\r\nplain\r\n");
    char *r = h_reply(fd);
    assert_string_equal(r, ":0\r\n");
    free(r);
    h_close(fd);
    out = tls_cli(tls_port, 1, "PING", &st);
    assert_string_equal(out, "PONG\n");
    free(out);
    /* a client that never finishes its handshake is dropped (after 10 s) */
    fd = h_connect(tls_port);
    assert_true(h_closed(fd));
    h_close(fd);
    h_expect_logged(c, 0, "no handshake within 10 s");

    /* optional, then no: a client without a certificate is served */
    out = tls_cli(tls_port, 1, "CONFIG SET tls-auth-clients optional", &st);
    assert_string_equal(out, "OK\n");
    free(out);
    out = tls_cli(tls_port, 0, "GET greeting", &st);
    assert_string_equal(out, "hello\n");
    free(out);
    out = tls_cli(tls_port, 1, "CONFIG SET tls-auth-clients no", &st);
    assert_string_equal(out, "OK\n");
    free(out);
    out = tls_cli(tls_port, 0, "GET greeting", &st);
    assert_string_equal(out, "hello\n");
    free(out);
    out = tls_cli(tls_port, 0, "CONFIG GET tls-auth-clients", &st);
    assert_string_equal(out, "tls-auth-clients\nno\n");
    free(out);
    char want[64];
    snprintf(want, sizeof want, "tls-port\n%d\n", tls_port);
    out = tls_cli(tls_port, 0, "CONFIG GET tls-port", &st);
    assert_string_equal(out, want);
    free(out);
    out = tls_cli(tls_port, 0, "CONFIG SET tls-auth-clients yes", &st);
    assert_string_equal(out, "OK\n");
    free(out);

    /* redis-py ssl=True holds one connection across a certificate reload
     * made through that same connection; new connections get the new one */
    assert_true(wait_subject(tls_port, "CN = tricache-server\n"));
    char script[4096];
    snprintf(script, sizeof script,
             "import redis\n"
             "r = redis.Redis(host='127.0.0.1', port=%d, ssl=True, ssl_ca_certs='%s/ca.crt',\n"
             "                ssl_certfile='%s/client.crt', ssl_keyfile='%s/client.key')\n"
             "r.set('py', 'before')\n"
             "cid = r.client_id()\n"
             "try:\n"
             "    r.config_set('tls-cert-file', '%s/server2.crt')\n"
             "    print('mismatch accepted')\n"
             "except redis.ResponseError as e:\n"
             "    print('mismatch refused:', e)\n"
             "r.execute_command('CONFIG', 'SET', 'tls-cert-file', '%s/server2.crt', 'tls-key-file', '%s/server2.key')\n"
             "print('same connection:', r.client_id() == cid, r.get('py').decode())\n"
             /* replies and commands far larger than a TLS record, and a
              * pipeline deep enough to pause the connection's reading */
             "big = bytes(range(256)) * 12000\n"
             "r.set('big', big)\n"
             "print('big value:', r.get('big') == big)\n"
             "p = r.pipeline(transaction=False)\n"
             "for i in range(20000): p.set('k%%d' %% i, 'v%%d' %% i)\n"
             "for i in range(20000): p.get('k%%d' %% i)\n"
             "res = p.execute()\n"
             "print('pipeline:', res[20000:] == [('v%%d' %% i).encode() for i in range(20000)])\n"
             /* QUIT right behind a big reply read slowly: the node closes
              * only after the reply's last ciphertext went out */
             "import socket, ssl, time\n"
             "ctx = ssl.create_default_context(cafile='%s/ca.crt')\n"
             "ctx.check_hostname = False\n"
             "ctx.load_cert_chain('%s/client.crt', '%s/client.key')\n"
             "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', %d)))\n"
             "s.sendall(b'GET big\\r\\nQUIT\\r\\n')\n"
             "time.sleep(1)\n"
             "data = b''\n"
             "while True:\n"
             "    try:\n"
             "        chunk = s.recv(65536)\n"
             "    except ssl.SSLEOFError:\n"
             "        print('no close_notify')\n"
             "        break\n"
             "    if not chunk: break\n"
             "    data += chunk\n"
             "print('reply then quit:', data == b'$%%d\\r\\n' %% len(big) + big + b'\\r\\n+OK\\r\\n')\n",
             tls_port, certs, certs, certs, certs, certs, certs, certs, certs, certs, tls_port);
    out = h_run(&st, "/usr/bin/python3", "-c", script, (char *)NULL); /* Debian's, with redis-py */
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_contains(out, "mismatch refused:");
    assert_contains(out, "key values mismatch");
    assert_contains(out, "same connection: True before");
    assert_contains(out, "big value: True");
    assert_contains(out, "pipeline: True");
    assert_contains(out, "reply then quit: True");
    if (strstr(out, "no close_notify")) fail_msg("the node closed without close_notify: %s", out);
    free(out);
    assert_true(wait_subject(tls_port, "CN = tricache-server2\n"));

    /* a file that does not load: the error, and the running certificate stays */
    out = tls_cli(tls_port, 1, "CONFIG SET tls-cert-file /nonexistent/cert.pem", &st);
    assert_contains(out, "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file')");
    assert_contains(out, "/nonexistent/cert.pem: cannot read it");
    free(out);
    out = tls_cli(tls_port, 1, "CONFIG GET tls-cert-file", &st);
    assert_contains(out, "server2.crt");
    free(out);
    assert_true(wait_subject(tls_port, "CN = tricache-server2\n"));

    /* SIGHUP: the configured paths are read again (renewed in place) */
    free(sh(&st, "cd %s && cp server.crt server2.crt && cp server.key server2.key", certs));
    h_node_signal(c, 0, SIGHUP);
    assert_true(wait_subject(tls_port, "CN = tricache-server\n"));
    h_expect_logged(c, 0, "SIGHUP: TLS certificates reloaded");

    /* redis-benchmark --tls: a few thousand requests, all answered */
    out = sh(&st,
             "redis-benchmark --tls --cacert %s/ca.crt --cert %s/client.crt --key %s/client.key -p %d "
             "-n 4000 -c 8 -t set,get -q 2>&1 | tr '\\r' '\\n' | grep 'requests per second' | grep -v rps=",
             certs, certs, certs, tls_port);
    assert_contains(out, "SET:");
    assert_contains(out, "GET:");
    free(out);
    out = sh(&st,
             "redis-benchmark --tls --cacert %s/ca.crt --cert %s/client.crt --key %s/client.key -p %d "
             "-n 4000 -c 4 -P 16 -t set -q 2>&1 | tr '\\r' '\\n' | grep 'requests per second' | grep -v rps=",
             certs, certs, certs, tls_port);
    assert_contains(out, "SET:");
    free(out);
    out = tls_cli(tls_port, 1, "STRLEN key:__rand_int__", &st); /* its 3-byte value, written over TLS */
    assert_string_equal(out, "3\n");
    free(out);

    /* sessions resume (TLS 1.2 and 1.3) unless tls_session_caching is off;
     * TLS 1.1 is not accepted by default */
    static const char *const versions[] = {"-tls1_2", "-tls1_3"};
    for (int caching = 1; caching >= 0; caching--) {
        out = tls_cli(tls_port, 1, caching ? "CONFIG GET tls-session-caching" : "CONFIG SET tls-session-caching no",
                      &st);
        assert_string_equal(out, caching ? "tls-session-caching\nyes\n" : "OK\n");
        free(out);
        for (int v = 0; v < 2; v++) {
            out = sh(&st,
                     "cd %s && S='-connect 127.0.0.1:%d -CAfile ca.crt -cert client.crt -key client.key %s' && "
                     "rm -f sess.pem && (sleep 0.3; echo) | openssl s_client $S -sess_out sess.pem 2>/dev/null "
                     "| grep -E '^(New|Reused),'; (sleep 0.3; echo) | openssl s_client $S $([ -s sess.pem ] && "
                     "echo -sess_in sess.pem) 2>/dev/null | grep -E '^(New|Reused),'",
                     certs, tls_port, versions[v]);
            /* the first handshake is new; the second resumes the session (or is new without caching) */
            const char *second = strchr(out, '\n');
            if (strncmp(out, "New,", 4) != 0 || !second || strncmp(second + 1, caching ? "Reused," : "New,", 4) != 0)
                fail_msg("%s caching=%d: %s", versions[v], caching, out);
            free(out);
        }
    }
    out = sh(&st, "openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt -tls1_1 </dev/null 2>&1", tls_port, certs);
    if (strstr(out, "Cipher is") && !strstr(out, "Cipher is (NONE)")) fail_msg("TLS 1.1 was accepted: %s", out);
    free(out);

    h_cluster_stop(c);
}

/* Certificates that do not load keep the node from starting, with the
 * file and OpenSSL's reason. */
static void test_bad_certificates_refused(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *key, *want;
    } cases[] = {
        {"server.crt", "client.key", "key values mismatch"},
        {"missing.crt", "server.key", "missing.crt: cannot read it"},
        {"ca.srl", "server.key", "tls_cert_file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char extra[1024];
        snprintf(extra, sizeof extra, "tls_cert_file = \"%s/%s\"\ntls_key_file = \"%s/%s\"\ntls_auth_clients = \"no\"\n",
                 certs, cases[i].cert, certs, cases[i].key);
        tcluster *c = h_cluster_create(1, 0, extra);
        int tls_port;
        add_tls_addrs(c, &tls_port);
        int st;
        char *err = h_run_tricache(&st, "--config", c->config, "--node", "1", (char *)NULL);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
        assert_contains(err, cases[i].want);
        free(err);
        h_cluster_stop(c);
    }
    /* client authentication without a CA to check against */
    char extra[1024];
    snprintf(extra, sizeof extra, "tls_cert_file = \"%s/server.crt\"\ntls_key_file = \"%s/server.key\"\n", certs, certs);
    tcluster *c = h_cluster_create(1, 0, extra);
    int tls_port;
    add_tls_addrs(c, &tls_port);
    int st;
    char *err = h_run_tricache(&st, "--config", c->config, "--node", "1", (char *)NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    assert_contains(err, "needs tls_ca_cert_file or tls_ca_cert_dir");
    free(err);
    h_cluster_stop(c);
}

/* Three nodes, each with its TLS port: a write over TLS on the primary is
 * read over TLS on every node. */
static void test_three_nodes(void **state)
{
    (void)state;
    tcluster *c = h_cluster_create(3, 0, tls_settings("yes"));
    int tls_ports[3];
    add_tls_addrs(c, tls_ports);
    h_nodes_start(c, 3);
    int p = h_cluster_primary(c, 15000);
    assert_true(p >= 0);
    int st;
    char *out = tls_cli(tls_ports[p], 1, "SET across tls", &st);
    assert_string_equal(out, "OK\n");
    free(out);
    for (int i = 0; i < 3; i++) {
        long long deadline = h_ms() + 10000;
        int seen = 0;
        while (!seen && h_ms() < deadline) {
            out = tls_cli(tls_ports[i], 1, "GET across", &st);
            seen = strcmp(out, "tls\n") == 0;
            free(out);
            if (!seen) usleep(50 * 1000);
        }
        if (!seen) fail_msg("node %d did not answer GET across over TLS", i + 1);
    }
    h_cluster_stop(c);
}

/* A TLS client is served while a script is busy, as a plain one is: its
 * PING gets -BUSY (read and answered from inside the script's hook, through
 * OpenSSL), and its SCRIPT KILL stops the script. */
static void test_busy_script_over_tls(void **state)
{
    (void)state;
    tcluster *c = h_cluster_create(1, 0, tls_settings("yes"));
    int tls_port;
    add_tls_addrs(c, &tls_port);
    h_nodes_start(c, 1);
    char ca[300], crt[300], key[300], err[256];
    snprintf(ca, sizeof ca, "%s/ca.crt", certs);
    snprintf(crt, sizeof crt, "%s/client.crt", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    tc_rc_tls *tls = tc_rc_tls_new(ca, NULL, crt, key, err, sizeof err);
    if (!tls) fail_msg("client TLS context: %s", err);
    tc_rc runner = TC_RC_CLOSED, other = TC_RC_CLOSED;
    if (tc_rc_connect_tls(&runner, "127.0.0.1", tls_port, 10000, tls) != 0) fail_msg("connect: %s", runner.err);
    if (tc_rc_connect_tls(&other, "127.0.0.1", tls_port, 10000, tls) != 0) fail_msg("connect: %s", other.err);
    tc_rc_reply r;
    const char *threshold[] = {"CONFIG", "SET", "busy-reply-threshold", "200"};
    assert_int_equal(tc_rc_command(&other, &r, 4, threshold, NULL), 0);
    assert_int_equal(r.type, TC_RC_STATUS);
    tc_rc_reply_free(&r);

    const char *loop[] = {"EVAL", "local i = 0 while true do i = i + 1 end", "0"};
    assert_int_equal(tc_rc_send(&runner, 3, loop, NULL), 0);
    /* answered -BUSY once the script passes the threshold (a PING sent
     * before it reached the script's first hook pass waits for that pass) */
    const char *ping[] = {"PING"};
    long long deadline = h_ms() + 20000;
    int busy = 0;
    while (!busy && h_ms() < deadline) {
        assert_int_equal(tc_rc_command(&other, &r, 1, ping, NULL), 0);
        busy = r.type == TC_RC_ERROR && strcmp(r.str, "BUSY Redis is busy running a script. You can only call "
                                                      "SCRIPT KILL or SHUTDOWN NOSAVE.") == 0;
        if (!busy && r.type != TC_RC_STATUS) fail_msg("PING: %s", r.str ? r.str : "?");
        tc_rc_reply_free(&r);
        if (!busy) usleep(20 * 1000); /* between polls: the script may not have started yet */
    }
    assert_true(busy);
    const char *kill[] = {"SCRIPT", "KILL"};
    assert_int_equal(tc_rc_command(&other, &r, 2, kill, NULL), 0);
    assert_int_equal(r.type, TC_RC_STATUS);
    tc_rc_reply_free(&r);
    assert_int_equal(tc_rc_read(&runner, &r), 0);
    assert_int_equal(r.type, TC_RC_ERROR);
    assert_non_null(strstr(r.str, "Script killed by user with SCRIPT KILL"));
    tc_rc_reply_free(&r);
    /* both connections go on */
    assert_int_equal(tc_rc_command(&runner, &r, 1, ping, NULL), 0);
    assert_string_equal(r.str, "PONG");
    tc_rc_reply_free(&r);
    tc_rc_close(&runner);
    tc_rc_close(&other);
    tc_rc_tls_free(tls);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node),
        cmocka_unit_test(test_bad_certificates_refused),
        cmocka_unit_test(test_three_nodes),
        cmocka_unit_test(test_busy_script_over_tls),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
