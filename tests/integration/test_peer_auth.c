/* Raft peers proving a cluster secret (cluster_secret_file, raft/transport.c).
 * One three-node cluster shares a secret; outsiders that know a node id and
 * its raft_addr but not the secret talk to the primary's Raft port, and a
 * node restarted with another secret tries to rejoin. Each must be refused
 * before libraft sees a byte, named in the log, and leave the primary and its
 * term alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
/* Longer than the election timeout (300 ms): a vote that got through would
 * have deposed the primary by then. */
#define SETTLE_MS 1000
#define SECRET_A "4f1c0a9e2b7d36e5a1c8f04b9d2e7a6c3b5f81d0e9a2c47b6d1f3e8a0c5b9d27"
#define SECRET_B "0d8e3b6a9c1f4e7b2a5d8c0f3e6b9a1d4c7f0e3b6a9d2c5f8e1b4a7d0c3f6e9b"

typedef struct world {
    tcluster *c;
    char secret_dir[64];
    char secret_path[128];
} world;

static void write_secret(const char *path, const char *secret)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    snprintf(w->secret_dir, sizeof w->secret_dir, "/tmp/tc-secret-XXXXXX");
    assert_non_null(mkdtemp(w->secret_dir));
    snprintf(w->secret_path, sizeof w->secret_path, "%s/cluster.secret", w->secret_dir);
    write_secret(w->secret_path, SECRET_A);
    char extra[256];
    snprintf(extra, sizeof extra, "cluster_secret_file = \"%s\"", w->secret_path);
    w->c = h_cluster_start(3, extra);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    h_cluster_stop(w->c);
    unlink(w->secret_path);
    rmdir(w->secret_dir);
    free(w);
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) p[i] = (uint8_t)v;
}

/* libraft's handshake (protocol 1), as a node without a secret sends it. */
static size_t handshake(uint8_t *buf, uint64_t id, const char *address)
{
    size_t padded = (strlen(address) + 1 + 7) & ~(size_t)7;
    memset(buf, 0, 24 + padded);
    put64(buf, 1);
    put64(buf + 8, id);
    put64(buf + 16, padded);
    memcpy(buf + 24, address, strlen(address));
    return 24 + padded;
}

/* The 56-byte RequestVote with a huge term and the disrupt-leader flag that
 * deposed a primary with libraft's stock transport. */
static size_t request_vote(uint8_t *buf, uint64_t id)
{
    memset(buf, 0, 56);
    buf[0] = 3;
    buf[2] = 2;
    put64(buf + 8, 40);
    put64(buf + 16, 1000000);
    put64(buf + 24, id);
    put64(buf + 32, 1000000);
    put64(buf + 40, 1000000);
    put64(buf + 48, 1);
    return 56;
}

typedef struct {
    int primary;
    char *term;
    int port;
} before;

static before look(tcluster *c)
{
    before b;
    b.primary = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(b.primary >= 0);
    b.term = h_info_field(c, b.primary, "replication", "raft_term");
    assert_string_not_equal(b.term, "");
    b.port = h_raft_port(c, b.primary + 1);
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

/* Connects to a Raft port (5 s receive timeout); `peer` gets the
 * "127.0.0.1:<port>" the node's log names us by. */
static int dial(int port, char *peer, size_t len)
{
    int fd = h_connect(port);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(peer, len, "127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* The acceptor speaks first: "TCRAUTH1" and a 32-byte nonce. */
static void read_challenge(int fd, uint8_t challenge[40])
{
    size_t got = 0;
    while (got < 40) {
        ssize_t n = recv(fd, challenge + got, 40 - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(challenge, "TCRAUTH1", 8);
}

static void send_raw(int fd, const void *p, size_t len)
{
    assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The peer closes the connection: recv gives 0 (or a reset) before the
 * receive timeout, with nothing but what we expected before it. */
static void expect_closed(int fd)
{
    uint8_t b[256];
    ssize_t n;
    while ((n = recv(fd, b, sizeof b, 0)) > 0) {
    }
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
}

static long long info_number(tcluster *c, int i, const char *field)
{
    char *v = h_info_field(c, i, "replication", field);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* With the secret everywhere, the cluster elects and replicates. */
static void test_cluster_with_secret_replicates(void **state)
{
    tcluster *c = ((world *)*state)->c;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *mode = h_info_field(c, p, "replication", "raft_peer_auth");
    assert_string_equal(mode, "cluster_secret");
    free(mode);
    char *out = h_cli(&c->nodes[p], "SET", "with-secret", "yes", (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        out = h_cli(&c->nodes[i], "GET", "with-secret", (char *)NULL);
        assert_string_equal(out, "yes");
        free(out);
    }
}

/* A node id and its address, libraft's handshake and the deposing vote,
 * but no proof: refused on the first 8 bytes. */
static void test_plain_handshake_and_vote_refused(void **state)
{
    tcluster *c = ((world *)*state)->c;
    before b = look(c);
    int other = (b.primary + 1) % 3;
    long long refused = info_number(c, b.primary, "raft_peers_refused");
    char peer[64], addr[64], line[400];
    uint8_t challenge[40], buf[256];
    int fd = dial(b.port, peer, sizeof peer);
    read_challenge(fd, challenge);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", h_raft_port(c, other + 1));
    size_t n = handshake(buf, (uint64_t)other + 1, addr);
    n += request_vote(buf + n, (uint64_t)other + 1);
    send_raw(fd, buf, n);
    expect_closed(fd);
    snprintf(line, sizeof line,
             "refused Raft peer %s: sent a plain Raft handshake without proof of the cluster secret", peer);
    h_expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
    assert_true(info_number(c, b.primary, "raft_peers_refused") > refused);
}

/* Bytes that are not the exchange at all. */
static void test_garbage_refused(void **state)
{
    tcluster *c = ((world *)*state)->c;
    before b = look(c);
    char peer[64], line[256];
    uint8_t challenge[40];
    int fd = dial(b.port, peer, sizeof peer);
    read_challenge(fd, challenge);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_raw(fd, junk, sizeof junk - 1);
    expect_closed(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: sent no proof of the cluster secret", peer);
    h_expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* The exchange's form with a MAC made without the secret, then the vote. */
static void test_wrong_hmac_refused(void **state)
{
    tcluster *c = ((world *)*state)->c;
    before b = look(c);
    int other = (b.primary + 1) % 3;
    char peer[64], addr[64], line[256];
    uint8_t challenge[40], buf[512];
    int fd = dial(b.port, peer, sizeof peer);
    read_challenge(fd, challenge);
    memcpy(buf, "TCRAUTH1", 8);
    put64(buf + 8, (uint64_t)other + 1);
    for (int i = 0; i < 64; i++) buf[16 + i] = (uint8_t)(i * 37 + 11); /* a nonce and a guessed MAC */
    size_t n = 80;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", h_raft_port(c, other + 1));
    n += handshake(buf + n, (uint64_t)other + 1, addr);
    n += request_vote(buf + n, (uint64_t)other + 1);
    send_raw(fd, buf, n);
    expect_closed(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: wrong cluster secret (claims node %d)", peer, other + 1);
    h_expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* Connects, reads the challenge, says nothing: dropped after 1 s. */
static void test_silent_peer_refused(void **state)
{
    tcluster *c = ((world *)*state)->c;
    before b = look(c);
    char peer[64], line[256];
    uint8_t challenge[40];
    int fd = dial(b.port, peer, sizeof peer);
    read_challenge(fd, challenge);
    expect_closed(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: sent no proof of the cluster secret within 1000 ms", peer);
    h_expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* A replica restarted with another secret: the others refuse it and it
 * refuses them; the primary keeps its term with the remaining majority, and
 * the node gets none of the new writes. With the right secret back it
 * catches up. */
static void test_node_with_other_secret_cannot_join(void **state)
{
    world *w = *state;
    tcluster *c = w->c;
    before b = look(c);
    int odd = (b.primary + 2) % 3;
    h_node_signal(c, odd, SIGTERM);
    assert_true(h_node_wait_exit(c, odd, 15000) >= 0);
    /* The running nodes read the secret at start: only the restarted node
     * sees the new file. */
    write_secret(w->secret_path, SECRET_B);
    h_node_restart(c, odd);
    char line[128];
    snprintf(line, sizeof line, "wrong cluster secret (claims node %d)", odd + 1);
    h_expect_logged(c, b.primary, line);
    /* the others never answer an unproven connector: it sees them close */
    h_expect_logged(c, odd, "closed the connection after our proof (a different cluster secret?)");
    char *out = h_cli(&c->nodes[b.primary], "SET", "while-outsider", "1", (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    expect_unchanged(c, &b);
    char *applied = h_info_field(c, odd, "replication", "raft_applied_index");
    char *primary_applied = h_info_field(c, b.primary, "replication", "raft_applied_index");
    assert_true(strtoll(applied, NULL, 10) < strtoll(primary_applied, NULL, 10));
    free(applied);
    free(primary_applied);

    /* the same secret again: it rejoins and converges */
    h_node_signal(c, odd, SIGTERM);
    assert_true(h_node_wait_exit(c, odd, 15000) >= 0);
    write_secret(w->secret_path, SECRET_A);
    h_node_restart(c, odd);
    free(h_converged_digest(c));
    out = h_cli(&c->nodes[odd], "GET", "while-outsider", (char *)NULL);
    assert_string_equal(out, "1");
    free(out);
}

/* An impostor on a stopped replica's raft_addr: it sends a challenge and
 * answers the primary's proof with a MAC made without the secret. The
 * primary must close without sending libraft's handshake or any entry.
 * Runs after a test that ends with a quiet second (expect_unchanged), so
 * the refusal log's 5-a-second budget is not spent by earlier tests. */
static void test_impostor_acceptor_gets_nothing(void **state)
{
    tcluster *c = ((world *)*state)->c;
    before b = look(c);
    int victim = (b.primary + 1) % 3;
    int port = h_raft_port(c, victim + 1);
    h_node_signal(c, victim, SIGTERM);
    assert_true(h_node_wait_exit(c, victim, 15000) >= 0);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 8), 0);
    /* the primary retries its replica's connection on its own; another
     * node (one that was cut off by the previous test may still run
     * pre-votes) can come first: each gets the same treatment, until the
     * primary's proof (its id in bytes 8..15) has been answered */
    uint8_t challenge[40], wrong[32];
    memcpy(challenge, "TCRAUTH1", 8);
    for (int i = 0; i < 32; i++) challenge[8 + i] = (uint8_t)(i * 13 + 5), wrong[i] = (uint8_t)(i * 7 + 3);
    long long deadline = h_ms() + 15000;
    for (int from_primary = 0; !from_primary;) {
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        long long left = deadline - h_ms();
        assert_true(left > 0);
        assert_int_equal(poll(&pfd, 1, (int)left), 1);
        int fd = accept(lfd, NULL, NULL);
        assert_true(fd >= 0);
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        uint8_t proof[80];
        send_raw(fd, challenge, sizeof challenge);
        size_t got = 0;
        while (got < sizeof proof) {
            ssize_t n = recv(fd, proof + got, sizeof proof - got, 0);
            if (n <= 0) break; /* a stale connection its node gave up on */
            got += (size_t)n;
        }
        if (got < sizeof proof) {
            close(fd);
            continue;
        }
        assert_memory_equal(proof, "TCRAUTH1", 8);
        from_primary = proof[8] == (uint8_t)(b.primary + 1);
        send_raw(fd, wrong, sizeof wrong);
        /* nothing more: no handshake, no AppendEntries, just the close */
        uint8_t more[64];
        assert_int_equal(recv(fd, more, sizeof more, 0), 0);
        close(fd);
    }
    close(lfd);
    h_expect_logged(c, b.primary, "wrong cluster secret (its answer does not prove it is that node)");
    h_node_restart(c, victim);
    expect_unchanged(c, &b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_with_secret_replicates),
        cmocka_unit_test(test_plain_handshake_and_vote_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_wrong_hmac_refused),
        cmocka_unit_test(test_silent_peer_refused),
        /* before the next one: its flood of refusals would rate-limit the
         * line this one looks for (5 a second) */
        cmocka_unit_test(test_impostor_acceptor_gets_nothing),
        cmocka_unit_test(test_node_with_other_secret_cannot_join),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
