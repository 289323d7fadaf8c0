/* The Raft transport (raft/transport.c) against hostile peers: a raw TCP
 * socket to the primary's Raft port sends what libraft's stock handshake
 * lets anyone send. Each must be disconnected before libraft sees a byte,
 * named in the node's log, and leave the primary and its term alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 10000
/* Longer than the election timeout (300 ms): a RequestVote that got
 * through would have deposed the primary by then. */
#define SETTLE_MS 1000

static int setup(void **state)
{
    *state = h_cluster_start(3, NULL);
    return 0;
}

static int teardown(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) p[i] = (uint8_t)v;
}

/* libraft's handshake: protocol, server id, address buffer length, then
 * the NUL-terminated address padded to 8 bytes, little endian. */
static size_t handshake(uint8_t *buf, uint64_t protocol, uint64_t id, const char *address)
{
    size_t padded = (strlen(address) + 1 + 7) & ~(size_t)7;
    memset(buf, 0, 24 + padded);
    put64(buf, protocol);
    put64(buf + 8, id);
    put64(buf + 16, padded);
    memcpy(buf + 24, address, strlen(address));
    return 24 + padded;
}

/* A RequestVote (type 3, version 2) from candidate `id` with a far higher
 * term and log, and the disrupt-leader flag that makes a leader with a
 * current lease step down anyway: the 56 bytes that deposed the primary
 * with the stock transport. */
static size_t request_vote(uint8_t *buf, uint64_t id)
{
    memset(buf, 0, 56);
    buf[0] = 3;
    buf[2] = 2;
    put64(buf + 8, 40);
    put64(buf + 16, 1000000);   /* term */
    put64(buf + 24, id);        /* candidate */
    put64(buf + 32, 1000000);   /* last log index */
    put64(buf + 40, 1000000);   /* last log term */
    put64(buf + 48, 1);         /* flags: disrupt leader */
    return 56;
}

typedef struct {
    int primary;      /* index of the primary */
    char *term;       /* its raft_term */
    int port;         /* its Raft port */
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

/* Connects to the Raft port; `peer` gets "127.0.0.1:<our port>", the name
 * the node's log line gives us. */
static int dial(int port, char *peer, size_t len)
{
    int fd = h_connect(port);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(peer, len, "127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

static void send_raw(int fd, const void *p, size_t len)
{
    /* one write; the node may close before reading all of it */
    assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The node logged exactly this line (after its prefix). */
static void expect_logged(tcluster *c, int i, const char *text)
{
    char *log = h_node_log(c, i);
    if (!strstr(log, text)) fail_msg("node %d's log lacks \"%s\"; it ends with:\n%s", i + 1, text,
                                     strlen(log) > 2000 ? log + strlen(log) - 2000 : log);
    free(log);
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

/* (a) An outsider: node id 99, then a RequestVote meant to depose the
 * primary. Refused on the id, before the vote is read. */
static void test_unknown_node_id_is_refused(void **state)
{
    tcluster *c = *state;
    before b = look(c);
    char peer[64], line[256];
    int fd = dial(b.port, peer, sizeof peer);
    uint8_t buf[1024];
    size_t n = handshake(buf, 1, 99, "127.0.0.1:9999");
    n += request_vote(buf + n, 99);
    send_raw(fd, buf, n);
    assert_true(h_closed(fd));
    close(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: node id 99 is not in cluster.toml", peer);
    expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* (b) A known node id with an address that is not that node's. */
static void test_known_id_with_wrong_address_is_refused(void **state)
{
    tcluster *c = *state;
    before b = look(c);
    int other = (b.primary + 1) % 3;
    char peer[64], line[400], want[64];
    int fd = dial(b.port, peer, sizeof peer);
    uint8_t buf[1024];
    size_t n = handshake(buf, 1, (uint64_t)other + 1, "10.9.9.9:7001");
    n += request_vote(buf + n, (uint64_t)other + 1);
    send_raw(fd, buf, n);
    assert_true(h_closed(fd));
    close(fd);
    snprintf(want, sizeof want, "127.0.0.1:%d", h_raft_port(c, other + 1));
    snprintf(line, sizeof line,
             "refused Raft peer %s: claims node %d but address \"10.9.9.9:7001\", cluster.toml says %s", peer,
             other + 1, want);
    expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* (c) Another protocol version. */
static void test_bad_protocol_is_refused(void **state)
{
    tcluster *c = *state;
    before b = look(c);
    char peer[64], line[256];
    int fd = dial(b.port, peer, sizeof peer);
    uint8_t buf[1024];
    size_t n = handshake(buf, 7, 2, "127.0.0.1:9999");
    send_raw(fd, buf, n);
    assert_true(h_closed(fd));
    close(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: protocol 7, expected 1", peer);
    expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* (d) A peer that connects and says nothing is dropped after 1 s. */
static void test_silent_peer_is_dropped(void **state)
{
    tcluster *c = *state;
    before b = look(c);
    char peer[64], line[256];
    int fd = dial(b.port, peer, sizeof peer);
    assert_true(h_closed(fd));
    close(fd);
    snprintf(line, sizeof line, "refused Raft peer %s: sent no handshake within 1000 ms", peer);
    expect_logged(c, b.primary, line);
    expect_unchanged(c, &b);
}

/* A peer in a loop cannot fill the disk: refusals are logged a few per
 * second, and the first line logged in a later second counts the ones
 * that were not; every refusal is either logged or counted. */
static void test_refusal_flood_is_rate_limited(void **state)
{
    tcluster *c = *state;
    before b = look(c);
    enum { FLOOD = 200 };
    uint8_t buf[64];
    size_t n = handshake(buf, 5, 2, "x");
    char peer[64];
    long long start = h_ms();
    for (int i = 0; i <= FLOOD; i++) {
        if (i == FLOOD) usleep(1100 * 1000); /* the last one in a second of its own */
        int fd = dial(b.port, peer, sizeof peer);
        send_raw(fd, buf, n);
        assert_true(h_closed(fd));
        close(fd);
    }
    long long seconds = (h_ms() - start) / 1000 + 1;
    char *log = h_node_log(c, b.primary);
    const char *what = "protocol 5, expected 1";
    long long logged = 0, counted = 0;
    for (const char *p = log; (p = strstr(p, what)); p += strlen(what)) {
        logged++;
        if (strncmp(p + strlen(what), " (and ", 6) == 0) counted += strtoll(p + strlen(what) + 6, NULL, 10);
    }
    free(log);
    assert_true(logged <= 5 * (seconds + 1));
    assert_true(counted > 0);
    assert_int_equal(logged + counted, FLOOD + 1);
    expect_unchanged(c, &b);
}

/* After all that the cluster still commits and replicates writes. */
static void test_cluster_still_writes(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    char *out = h_cli(&c->nodes[p], "SET", "after-hostile-peers", "ok", (char *)NULL);
    assert_string_equal(out, "OK");
    free(out);
    free(h_converged_digest(c));
    for (int i = 0; i < 3; i++) {
        out = h_cli(&c->nodes[i], "GET", "after-hostile-peers", (char *)NULL);
        assert_string_equal(out, "ok");
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_node_id_is_refused),
        cmocka_unit_test(test_known_id_with_wrong_address_is_refused),
        cmocka_unit_test(test_bad_protocol_is_refused),
        cmocka_unit_test(test_silent_peer_is_dropped),
        cmocka_unit_test(test_refusal_flood_is_rate_limited),
        cmocka_unit_test(test_cluster_still_writes),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
