/* Keyspace notifications on a three-node cluster (issue 11): every node
 * publishes the events of what it applies to its own subscribers, so a
 * client subscribed on a replica sees the writes sent to the primary, and
 * the keys the replicated expiry deletes, each exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ELECTION_DEADLINE_MS 20000

static void expect(int fd, const char *cmd, const char *want)
{
    h_sends(fd, cmd);
    char *a = h_reply(fd);
    assert_non_null(a);
    if (strcmp(a, want) != 0) fprintf(stderr, "%s-> %s (wanted %s)\n", cmd, a, want);
    assert_string_equal(a, want);
    free(a);
}

/* The next message on a subscribed connection must be want. */
static void expect_push(int fd, const char *want)
{
    char *a = h_reply(fd);
    assert_non_null(a);
    if (strcmp(a, want) != 0) fprintf(stderr, "got %s (wanted %s)\n", a, want);
    assert_string_equal(a, want);
    free(a);
}

/* RESP bytes of a pmessage (resp 2: an array; 3: a push). */
static char *pmessage(int resp, const char *pattern, const char *channel, const char *msg)
{
    char *s;
    int n = asprintf(&s, "%c4\r\n$8\r\npmessage\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", resp == 3 ? '>' : '*',
                     strlen(pattern), pattern, strlen(channel), channel, strlen(msg), msg);
    assert_true(n > 0);
    return s;
}

static char *message(const char *channel, const char *msg)
{
    char *s;
    int n = asprintf(&s, "*3\r\n$7\r\nmessage\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(channel), channel, strlen(msg),
                     msg);
    assert_true(n > 0);
    return s;
}

/* The keyspace channel's events for key, in order, on fd. */
static void expect_keyspace(int fd, int resp, const char *key, const char *const *events, size_t n)
{
    char channel[128];
    snprintf(channel, sizeof channel, "__keyspace@0__:%s", key);
    for (size_t i = 0; i < n; i++) {
        char *m = pmessage(resp, "__keyspace@0__:*", channel, events[i]);
        expect_push(fd, m);
        free(m);
    }
}

/* Nothing more is waiting on a RESP2 subscriber: PING answers next. */
static void expect_nothing_more(int fd)
{
    expect(fd, "PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

static void test_replica_subscriber_sees_writes_and_expiry(void **state)
{
    (void)state;
    tcluster *c = h_cluster_start(3, "notify_keyspace_events = \"KEA\"\n");
    assert_non_null(c);
    int p = h_cluster_primary(c, ELECTION_DEADLINE_MS);
    assert_true(p >= 0);
    int r1 = (p + 1) % 3, r2 = (p + 2) % 3;

    /* a keyspace subscriber on each replica (one in RESP3) and on the
     * primary, and a keyevent one for expired keys on a replica */
    int ks_rep = h_connect(c->nodes[r1].port), ks_rep3 = h_connect(c->nodes[r2].port);
    int ks_pri = h_connect(c->nodes[p].port), ev_rep = h_connect(c->nodes[r1].port);
    const char *psub2 = "*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyspace@0__:*\r\n:1\r\n";
    expect(ks_rep, "PSUBSCRIBE __keyspace@0__:*\r\n", psub2);
    expect(ks_pri, "PSUBSCRIBE __keyspace@0__:*\r\n", psub2);
    h_sends(ks_rep3, "HELLO 3\r\n");
    free(h_reply(ks_rep3));
    expect(ks_rep3, "PSUBSCRIBE __keyspace@0__:*\r\n", ">3\r\n$10\r\npsubscribe\r\n$16\r\n__keyspace@0__:*\r\n:1\r\n");
    expect(ev_rep, "SUBSCRIBE __keyevent@0__:expired\r\n",
           "*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n");

    /* writes go to the primary */
    int w = h_connect(c->nodes[p].port);
    expect(w, "SET user:1 alice\r\n", "+OK\r\n");
    expect(w, "DEL user:1\r\n", ":1\r\n");
    expect(w, "DEL user:1\r\n", ":0\r\n"); /* deletes nothing: no event */
    expect(w, "MULTI\r\n", "+OK\r\n");
    expect(w, "LPUSH q a b\r\n", "+QUEUED\r\n");
    expect(w, "RPOP q 2\r\n", "+QUEUED\r\n");
    expect(w, "EXEC\r\n", "*2\r\n:2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    /* a short deadline: the primary's replicated expiry deletes it on
     * every node (nobody reads it, so no node expires it on access) */
    expect(w, "SET session:9 x PX 100\r\n", "+OK\r\n");

    static const char *const user[] = {"set", "del"};
    static const char *const q[] = {"lpush", "rpop", "del"};
    static const char *const session[] = {"set", "expire", "expired"};
    int subs[] = {ks_rep, ks_rep3, ks_pri};
    for (size_t i = 0; i < 3; i++) {
        int resp = subs[i] == ks_rep3 ? 3 : 2;
        expect_keyspace(subs[i], resp, "user:1", user, 2);
        expect_keyspace(subs[i], resp, "q", q, 3);
        expect_keyspace(subs[i], resp, "session:9", session, 3);
    }
    char *m = message("__keyevent@0__:expired", "session:9");
    expect_push(ev_rep, m);
    free(m);
    /* each event came once: nothing else is queued on the RESP2 ones */
    expect_nothing_more(ks_rep);
    expect_nothing_more(ks_pri);
    expect_nothing_more(ev_rep);

    /* CONFIG SET changes the node it is sent to: the replica stops sending
     * keyspace events, the primary goes on */
    int cfg = h_connect(c->nodes[r1].port);
    expect(cfg, "CONFIG SET notify-keyspace-events Ex\r\n", "+OK\r\n");
    expect(cfg, "CONFIG GET notify-keyspace-events\r\n", "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxE\r\n");
    expect(w, "SET user:2 bob\r\n", "+OK\r\n");
    static const char *const set[] = {"set"};
    expect_keyspace(ks_pri, 2, "user:2", set, 1);
    expect_keyspace(ks_rep3, 3, "user:2", set, 1);
    char *d = h_converged_digest(c); /* user:2 is applied on r1 too by now */
    free(d);
    expect_nothing_more(ks_rep);

    h_close(cfg);
    h_close(w);
    h_close(ks_rep);
    h_close(ks_rep3);
    h_close(ks_pri);
    h_close(ev_rep);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replica_subscriber_sees_writes_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
