/* TLS between nodes (tls_replication, raft/transport_tls.c) and
 * transit_encryption_mode: three real nodes whose Raft traffic runs over
 * mutual TLS with certificates the openssl CLI makes for the test (a CA,
 * node-1..3, a second CA's node-2, a renewed node-1). Replication and
 * failover over TLS; fake peers (raft_peer.py) without a certificate, with
 * one naming another node, with one of another CA, and in plaintext are
 * refused and leave the primary and its term alone; certificates renewed on
 * disk are used by new connections; a running plain cluster is moved to
 * TLS-only by rolling restarts (plain -> preferred -> required) with a
 * primary and working writes after every step, after which tricachectl
 * status reaches every node over TLS. */
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

#include "harness.h"

#define ELECTION_DEADLINE_MS 15000
/* Longer than the election timeout (300 ms): a vote that got through would
 * have deposed the primary by then. */
#define SETTLE_MS 1000

static char certs[64];
static char peer_script[512];

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

/* One certificate: name.key/name.crt with CN and DNS name `cn`, signed by
 * the CA whose files start with `ca`. */
#define SIGN(name, cn, ca)                                                                                            \
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " name ".key -out " name ".csr "     \
    "-subj /CN=" cn " -addext subjectAltName=DNS:" cn " && "                                                          \
    "openssl x509 -req -in " name ".csr -CA " ca ".crt -CAkey " ca ".key -CAcreateserial -out " name ".crt -days 2 " \
    "-copy_extensions copy && "

static int make_certs(void **state)
{
    (void)state;
    const char *dir = getenv("TC_RAFT_PEER_SCRIPT");
    snprintf(peer_script, sizeof peer_script, "%s", dir ? dir : "tests/integration/raft_peer.py");
    snprintf(certs, sizeof certs, "/tmp/tricache-rtls-XXXXXX");
    assert_non_null(mkdtemp(certs));
    int st;
    char *out = sh(&st,
                   "(cd %s && "
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
                   "-out ca.crt -days 2 -subj /CN=tricache-cluster-ca && "
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other-ca.key "
                   "-out other-ca.crt -days 2 -subj /CN=some-other-ca && " SIGN("node-1", "node-1", "ca")
                       SIGN("node-2", "node-2", "ca") SIGN("node-3", "node-3", "ca") SIGN("renewed-1", "node-1", "ca")
                           SIGN("foreign-2", "node-2", "other-ca") SIGN("server", "tricache-server", "ca") "true) 2>&1",
                   certs);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok) fprintf(stderr, "openssl could not make the certificates: %s\n", out);
    free(out);
    return ok ? 0 : -1;
}

static int remove_certs(void **state)
{
    (void)state;
    free(sh(NULL, "rm -rf %s", certs));
    return 0;
}

/* The settings for TLS between nodes (and the client TLS port's files). */
static const char *tls_settings(const char *mode)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "tls_replication = true\ntls_raft_cert_file = \"%s/node-{id}.crt\"\n"
             "tls_raft_key_file = \"%s/node-{id}.key\"\ntls_ca_cert_file = \"%s/ca.crt\"\n"
             "tls_cert_file = \"%s/server.crt\"\ntls_key_file = \"%s/server.key\"\ntls_auth_clients = \"no\"\n"
             "transit_encryption_mode = \"%s\"\n",
             certs, certs, certs, certs, certs, mode);
    return buf;
}

/* Rewrites c's cluster.toml: `settings` replace the top-level lines added
 * by the last call (between markers), and with tls_ports every [[node]]
 * gets a tls_client_addr (once). Only nodes started afterwards read it. */
static void rewrite_config(tcluster *c, const char *settings, int *tls_ports)
{
    FILE *f = fopen(c->config, "r");
    assert_non_null(f);
    char text[16384] = "", line[1024];
    size_t len = 0;
    int skipping = 0, i = 0, placed = 0;
    while (fgets(line, sizeof line, f)) {
        if (strcmp(line, "# test-tls-begin\n") == 0) skipping = 1;
        if (!skipping) {
            if (!placed && strncmp(line, "[[node]]", 8) == 0) {
                len += (size_t)snprintf(text + len, sizeof text - len, "# test-tls-begin\n%s# test-tls-end\n",
                                        settings);
                placed = 1;
            }
            len += (size_t)snprintf(text + len, sizeof text - len, "%s", line);
            if (tls_ports && strncmp(line, "raft_addr", 9) == 0) {
                tls_ports[i] = h_free_port();
                len += (size_t)snprintf(text + len, sizeof text - len, "tls_client_addr = \"127.0.0.1:%d\"\n",
                                        tls_ports[i]);
                i++;
            }
        }
        if (strcmp(line, "# test-tls-end\n") == 0) skipping = 0;
    }
    fclose(f);
    assert_true(placed);
    assert_true(len < sizeof text - 1);
    f = fopen(c->config, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static long long info_number(tcluster *c, int i, const char *field)
{
    char *v = h_info_field(c, i, "replication", field);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Runs the fake peer; its one-line verdict. */
static char *fake_peer(int port, int id, int claimed_port, const char *mode, const char *cert)
{
    char crt[400] = "";
    if (cert) snprintf(crt, sizeof crt, "%s/%s.crt %s/%s.key", certs, cert, certs, cert);
    char *out = sh(NULL, "python3 %s %d %d 127.0.0.1:%d %s %s 2>&1", peer_script, port, id, claimed_port, mode, crt);
    char *nl = strchr(out, '\n');
    if (nl) *nl = '\0';
    return out;
}

typedef struct {
    int primary;
    char *term;
} before;

static before look(tcluster *c)
{
    before b;
    b.primary = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(b.primary >= 0);
    b.term = h_info_field(c, b.primary, "replication", "raft_term");
    assert_string_not_equal(b.term, "");
    return b;
}

static void expect_unchanged(tcluster *c, before *b)
{
    usleep(SETTLE_MS * 1000);
    assert_int_equal(h_cluster_primary(c, ELECTION_DEADLINE_MS), b->primary);
    char *term = h_info_field(c, b->primary, "replication", "raft_term");
    assert_string_equal(term, b->term);
    free(term);
    free(b->term);
}

/* One outsider against the primary's Raft port: refused, logged with
 * `why`, counted, and the primary keeps its term. */
static void outsider(tcluster *c, const char *mode, const char *cert, const char *why, int tls_failure)
{
    before b = look(c);
    int other = (b.primary + 1) % 3;
    char named[16];
    if (cert && strcmp(cert, "another-node") == 0) {
        /* a genuine certificate of the CA, of a node other than the one claimed */
        snprintf(named, sizeof named, "node-%d", (other + 1) % 3 + 1);
        cert = named;
    }
    long long refused = info_number(c, b.primary, "raft_peers_refused");
    long long failures = info_number(c, b.primary, "raft_peer_tls_failures");
    char *verdict = fake_peer(h_raft_port(c, b.primary + 1), other + 1, h_raft_port(c, other + 1), mode, cert);
    if (strcmp(verdict, "open") == 0) {
        char *log = h_node_log(c, b.primary);
        fail_msg("a fake peer (%s, certificate %s) was not refused within 10 s; node %d's log ends with:\n%s", mode,
                 cert ? cert : "none", b.primary + 1, strlen(log) > 700 ? log + strlen(log) - 700 : log);
    }
    free(verdict);
    char line[300];
    snprintf(line, sizeof line, "refused Raft peer 127.0.0.1:");
    h_expect_logged(c, b.primary, line);
    h_expect_logged(c, b.primary, why);
    expect_unchanged(c, &b);
    assert_true(info_number(c, b.primary, "raft_peers_refused") > refused);
    if (tls_failure) assert_true(info_number(c, b.primary, "raft_peer_tls_failures") > failures);
}

static char *cli(tcluster *c, int i, const char *a, const char *b, const char *d)
{
    return h_cli(&c->nodes[i], a, b, d, (char *)NULL);
}

/* Polls a replica until it serves key with value (replicas apply the log
 * shortly after the primary acknowledges). */
static void await_value(tcluster *c, int i, const char *key, const char *value)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        char *out = cli(c, i, "GET", key, NULL);
        int ok = strcmp(out, value) == 0;
        if (!ok && h_ms() > deadline) fail_msg("node %d: GET %s gave \"%s\", not \"%s\"", i + 1, key, out, value);
        free(out);
        if (ok) return;
        usleep(50 * 1000);
    }
}

/* SIGTERM to every running node: each must exit 0 (a crash while the
 * transport and its pumps close would show here), then the directory goes. */
static void stop_cleanly(tcluster *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].pid) h_node_signal(c, i, SIGTERM);
    for (int i = 0; i < c->n; i++) {
        if (!c->nodes[i].pid) continue;
        int st = h_node_wait_exit(c, i, 30000);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char *log = h_node_log(c, i);
            fail_msg("node %d ended with status %#x; its log ends with:\n%s", i + 1, st,
                     strlen(log) > 700 ? log + strlen(log) - 700 : log);
        }
    }
    h_cluster_stop(c);
}

/* A three-node cluster with mutual TLS between nodes. */
static void test_mtls_cluster(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, tls_settings(""));
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    for (int i = 0; i < 3; i++) {
        char *mode = h_info_field(c, i, "replication", "raft_peer_tls");
        assert_string_equal(mode, "required");
        free(mode);
    }

    /* replication: written on the primary, read on both replicas */
    char *out = cli(c, p, "SET", "over-tls", "yes");
    assert_string_equal(out, "OK");
    free(out);
    for (int i = 0; i < 3; i++) await_value(c, i, "over-tls", "yes");

    /* outsiders: none gets a byte to libraft */
    outsider(c, "tls", NULL, "TLS handshake failed: peer did not return a certificate", 1);
    outsider(c, "tls", "another-node", "but its certificate does not name node-", 1);
    outsider(c, "tls", "foreign-2", "TLS handshake failed: its certificate:", 1);
    outsider(c, "plain", NULL, "but this node accepts TLS peers only", 0);

    /* renewed certificates: the files change, the next connection uses them */
    long long reloads = info_number(c, 0, "raft_peer_tls_reloads");
    out = sh(NULL, "cd %s && cp renewed-1.crt node-1.crt.new && cp renewed-1.key node-1.key.new && "
                   "mv node-1.key.new node-1.key && mv node-1.crt.new node-1.crt && "
                   "openssl x509 -in renewed-1.crt -noout -serial",
             certs);
    char *nl = strchr(out, '\n');
    if (nl) *nl = '\0';
    char *served = sh(NULL, "openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt -cert %s/node-2.crt "
                            "-key %s/node-2.key </dev/null 2>/dev/null | openssl x509 -noout -serial",
                      h_raft_port(c, 1), certs, certs, certs);
    nl = strchr(served, '\n');
    if (nl) *nl = '\0';
    assert_string_equal(served, out); /* node 1 answered a new connection with the renewed certificate */
    free(served);
    free(out);
    assert_true(info_number(c, 0, "raft_peer_tls_reloads") > reloads);
    h_expect_logged(c, 0, "Raft TLS: certificates reloaded from");

    /* failover: acknowledged writes survive the primary's kill -9 */
    p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char key[32];
    for (int k = 0; k < 50; k++) {
        snprintf(key, sizeof key, "acked-%d", k);
        out = cli(c, p, "SET", key, "1");
        assert_string_equal(out, "OK");
        free(out);
    }
    h_node_signal(c, p, SIGKILL);
    long long killed = h_ms();
    int q = -1;
    while (q < 0 || q == p) {
        q = h_cluster_primary(c, ELECTION_DEADLINE_MS);
        assert_true(h_ms() - killed < ELECTION_DEADLINE_MS);
    }
    for (int k = 0; k < 50; k++) {
        snprintf(key, sizeof key, "acked-%d", k);
        out = cli(c, q, "GET", key, NULL);
        assert_string_equal(out, "1");
        free(out);
    }
    out = cli(c, q, "SET", "after-failover", "yes");
    assert_string_equal(out, "OK");
    free(out);
    /* the killed node comes back over TLS and catches up */
    h_node_restart(c, p);
    await_value(c, p, "after-failover", "yes");
    free(h_converged_digest(c));
    stop_cleanly(c);
}

/* The primary as the TLS client ports tell it (the plain ports refuse
 * under "required"); -1 if none by the deadline. */
static int tls_primary(tcluster *c, const int *tls_ports, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    do {
        for (int i = 0; i < c->n; i++) {
            if (!c->nodes[i].pid) continue;
            char *out = sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d INFO replication 2>&1", certs,
                           tls_ports[i]);
            int master = strstr(out, "role:master") != NULL;
            free(out);
            if (master) return i;
        }
        usleep(100 * 1000);
    } while (h_ms() < deadline);
    return -1;
}

/* A write through the primary, acknowledged (over TLS when tls). */
static void write_through_primary(tcluster *c, const int *tls_ports, int tls, const char *key)
{
    long long deadline = h_ms() + ELECTION_DEADLINE_MS;
    for (;;) {
        int p = tls ? tls_primary(c, tls_ports, ELECTION_DEADLINE_MS) : h_cluster_primary(c, ELECTION_DEADLINE_MS);
        assert_true(p >= 0);
        char *out = tls ? sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d SET %s v 2>&1", certs, tls_ports[p], key)
                        : cli(c, p, "SET", key, "v");
        int ok = strncmp(out, "OK", 2) == 0;
        if (!ok && h_ms() > deadline) fail_msg("SET %s on node %d: %s", key, p + 1, out);
        free(out);
        if (ok) return;
        usleep(100 * 1000); /* the primary moved between the look and the write */
    }
}

/* Restarts every node in turn (SIGTERM: a primary hands over first); a
 * primary is there and a write is acknowledged after each. */
static void roll(tcluster *c, const int *tls_ports, int tls_after, const char *tag)
{
    for (int i = 0; i < c->n; i++) {
        h_node_signal(c, i, SIGTERM);
        int st = h_node_wait_exit(c, i, 30000);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* a clean exit, no crash while closing */
        char key[64];
        snprintf(key, sizeof key, "%s-without-%d", tag, i + 1);
        write_through_primary(c, tls_ports, 0, key); /* the other two still speak plaintext to clients */
        h_node_restart(c, i);
        snprintf(key, sizeof key, "%s-with-%d", tag, i + 1);
        write_through_primary(c, tls_ports, tls_after && i == c->n - 1, key);
    }
}

/* plain -> preferred -> required by rolling restarts. */
static void test_rolling_to_required(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "");
    int tls_ports[3] = {0, 0, 0};
    assert_true(h_cluster_primary(c, ELECTION_DEADLINE_MS) >= 0);
    write_through_primary(c, tls_ports, 0, "plain");

    /* step 1: TLS offered everywhere, plaintext still accepted */
    rewrite_config(c, tls_settings("preferred"), tls_ports);
    roll(c, tls_ports, 0, "preferred");
    for (int i = 0; i < 3; i++) {
        char *mode = h_info_field(c, i, "replication", "raft_peer_tls");
        assert_string_equal(mode, "preferred");
        free(mode);
    }
    free(h_converged_digest(c));

    /* step 2: TLS only; the plain client ports refuse as each node restarts */
    rewrite_config(c, tls_settings("required"), NULL);
    for (int i = 0; i < c->n; i++) {
        h_node_signal(c, i, SIGTERM);
        int st = h_node_wait_exit(c, i, 30000);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* a clean exit, no crash while closing */
        char key[64];
        snprintf(key, sizeof key, "required-without-%d", i + 1);
        write_through_primary(c, tls_ports, 1, key);
        h_node_restart(c, i);
        snprintf(key, sizeof key, "required-with-%d", i + 1);
        write_through_primary(c, tls_ports, 1, key);
    }
    int p = tls_primary(c, tls_ports, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    /* every write of the roll is there, on every node */
    const char *keys[] = {"plain", "preferred-with-3", "required-without-1", "required-with-3"};
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            long long deadline = h_ms() + 10000;
            for (;;) {
                char *out = sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d GET %s 2>&1", certs, tls_ports[i],
                               keys[k]);
                int ok = strncmp(out, "v", 1) == 0;
                if (!ok && h_ms() > deadline) fail_msg("node %d: GET %s: %s", i + 1, keys[k], out);
                free(out);
                if (ok) break;
                usleep(50 * 1000);
            }
        }

    /* plaintext clients: told why and where to go */
    char *out = cli(c, p, "PING", NULL, NULL);
    char want[200];
    snprintf(want, sizeof want,
             "ERR this node accepts TLS connections only (transit_encryption_mode is \"required\"): connect with TLS "
             "to port %d",
             tls_ports[p]);
    assert_non_null(strstr(out, want));
    free(out);
    out = sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d INFO stats 2>&1", certs, tls_ports[p]);
    assert_null(strstr(out, "plaintext_clients_refused:0\r"));
    assert_non_null(strstr(out, "plaintext_clients_refused:"));
    free(out);

    /* plaintext peers: refused, the primary's term unchanged */
    out = sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d INFO replication 2>&1", certs, tls_ports[p]);
    char *term = strstr(out, "raft_term:");
    assert_non_null(term);
    long long t0 = strtoll(term + 10, NULL, 10);
    assert_non_null(strstr(out, "raft_peer_tls:required"));
    free(out);
    int other = (p + 1) % 3;
    char *verdict = fake_peer(h_raft_port(c, p + 1), other + 1, h_raft_port(c, other + 1), "plain", NULL);
    assert_string_not_equal(verdict, "open");
    free(verdict);
    h_expect_logged(c, p, "but this node accepts TLS peers only");
    usleep(SETTLE_MS * 1000);
    assert_int_equal(tls_primary(c, tls_ports, ELECTION_DEADLINE_MS), p);
    out = sh(NULL, "redis-cli --tls --cacert %s/ca.crt -p %d INFO replication 2>&1", certs, tls_ports[p]);
    term = strstr(out, "raft_term:");
    assert_non_null(term);
    assert_int_equal(strtoll(term + 10, NULL, 10), t0);
    free(out);

    /* the operator's tool speaks TLS to a TLS-only cluster: status sees every
     * node and the primary (over the plain ports it would see none) */
    const char *ctl = getenv("TRICACHECTL");
    if (!ctl) fail_msg("TRICACHECTL is not set (run the tests through ctest)");
    int st = 0;
    out = sh(&st, "%s --config %s status 2>&1", ctl, c->config);
    char line[96];
    snprintf(line, sizeof line, "primary: node %d", p + 1);
    if (st != 0 || !strstr(out, line) || !strstr(out, "3 of 3 nodes reachable"))
        fail_msg("tricachectl status over TLS (exit %d):\n%s", st, out);
    free(out);
    stop_cleanly(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtls_cluster),
        cmocka_unit_test(test_rolling_to_required),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
