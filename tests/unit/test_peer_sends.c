/* raft/peer_sends.c: at most one InstallSnapshot per peer on the wire,
 * AppendEntries capped in bytes. libraft's send is replaced by one that
 * keeps every request outstanding until the test completes it (what a
 * replica that has not read the previous snapshot yet looks like from the
 * primary) and records the entries each message carried; everything else
 * is the node's own wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "log_pieces.h"
#include "raft_internal.h"

#define MAX_OUT 8

static struct {
    struct raft_io_send *req[MAX_OUT];
    raft_io_send_cb cb[MAX_OUT];
    int n;
    int done[MAX_OUT]; /* finished already */
    int completed;     /* callbacks that reached libraft's request */
    const struct raft_message *msg[MAX_OUT];
    unsigned n_entries[MAX_OUT]; /* entries of an AppendEntries as sent */
} wire;

static int inner_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                      raft_io_send_cb cb)
{
    (void)io;
    assert_true(wire.n < MAX_OUT);
    wire.msg[wire.n] = m;
    wire.n_entries[wire.n] = m->type == RAFT_APPEND_ENTRIES ? m->append_entries.n_entries : 0;
    wire.req[wire.n] = req;
    wire.cb[wire.n] = cb;
    wire.n++;
    return 0;
}

/* The socket has taken request i: its callback runs, as libuv's would. */
static void finish(int i, int status)
{
    assert_false(wire.done[i]);
    wire.done[i] = 1;
    wire.cb[i](wire.req[i], status);
}

/* The end of a test: every request still out completes, as at close. */
static void drain(tc_raftnode *n)
{
    for (int i = 0; i < wire.n; i++)
        if (!wire.done[i]) finish(i, RAFT_CANCELED);
    for (int i = 0; i < TC_CONFIG_MAX_NODES; i++) assert_int_equal(n->peer_sends.peer[i], 0);
    free(n);
}

static void on_libraft_cb(struct raft_io_send *req, int status)
{
    (void)req;
    (void)status;
    wire.completed++;
}

static tc_raftnode *node(void)
{
    memset(&wire, 0, sizeof wire);
    tc_raftnode *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->io.send = inner_send;
    tc__raft_wrap_sends(n);
    return n;
}

static int send_to(tc_raftnode *n, struct raft_io_send *req, enum raft_message_type type, raft_id peer)
{
    struct raft_message m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.server_id = peer;
    return n->io.send(&n->io, req, &m, on_libraft_cb);
}

static void test_a_second_snapshot_to_the_same_peer_waits_for_the_first(void **state)
{
    (void)state;
    tc_raftnode *n = node();
    struct raft_io_send a, b, c, d;
    assert_int_equal(send_to(n, &a, RAFT_INSTALL_SNAPSHOT, 2), 0);
    /* the first is still on the wire: the copy just loaded is refused */
    assert_int_equal(send_to(n, &b, RAFT_INSTALL_SNAPSHOT, 2), RAFT_NOCONNECTION);
    /* another peer has its own */
    assert_int_equal(send_to(n, &c, RAFT_INSTALL_SNAPSHOT, 3), 0);
    assert_int_equal(wire.n, 2);
    assert_int_equal(n->peer_sends.sent, 2);
    assert_int_equal(n->peer_sends.refused, 1);
    /* once the socket took the first, the next may go */
    finish(0, 0);
    assert_int_equal(wire.completed, 1);
    assert_int_equal(send_to(n, &d, RAFT_INSTALL_SNAPSHOT, 2), 0);
    assert_int_equal(wire.n, 3);
    drain(n);
}

static void test_a_failed_send_frees_the_peer_too(void **state)
{
    (void)state;
    tc_raftnode *n = node();
    struct raft_io_send a, b;
    assert_int_equal(send_to(n, &a, RAFT_INSTALL_SNAPSHOT, 2), 0);
    finish(0, RAFT_NOCONNECTION); /* the connection dropped */
    assert_int_equal(wire.completed, 1);
    assert_int_equal(send_to(n, &b, RAFT_INSTALL_SNAPSHOT, 2), 0);
    drain(n);
}

static void test_other_messages_are_never_held(void **state)
{
    (void)state;
    tc_raftnode *n = node();
    struct raft_io_send snap, ae[3];
    assert_int_equal(send_to(n, &snap, RAFT_INSTALL_SNAPSHOT, 2), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(send_to(n, &ae[i], RAFT_APPEND_ENTRIES, 2), 0);
    assert_int_equal(wire.n, 4);
    assert_int_equal(n->peer_sends.refused, 0);
    /* libraft's own requests get the callbacks of the others directly */
    finish(1, 0);
    assert_ptr_equal(wire.req[1], &ae[0]);
    drain(n);
}

/* Sends an AppendEntries of n entries of len bytes each (their data is
 * never read: the wrapper looks at the lengths). */
static int send_entries(tc_raftnode *n, struct raft_io_send *req, struct raft_message *m, struct raft_entry *e,
                        unsigned count, size_t len)
{
    memset(m, 0, sizeof *m);
    for (unsigned i = 0; i < count; i++) e[i] = (struct raft_entry){.term = 1, .type = RAFT_COMMAND, .buf.len = len};
    m->type = RAFT_APPEND_ENTRIES;
    m->server_id = 2;
    m->append_entries.prev_log_index = 10;
    m->append_entries.entries = e;
    m->append_entries.n_entries = count;
    return n->io.send(&n->io, req, m, on_libraft_cb);
}

static void test_append_entries_carry_at_most_8_mib(void **state)
{
    (void)state;
    tc_raftnode *n = node();
    struct raft_io_send a, b, c, d;
    struct raft_message ma, mb, mc, md;
    struct raft_entry e[200];
    size_t piece = TC_PIECE_HEADER + TC_PIECE_DATA; /* a full piece of a big value, as logged */
    /* sixty pieces (a replica missing 60 MB of a run): the first seven go,
     * an eighth would pass 8 MiB with the pieces' headers */
    assert_int_equal(send_entries(n, &a, &ma, e, 60, piece), 0);
    assert_int_equal(wire.n_entries[0], 7);
    assert_ptr_not_equal(wire.msg[0], &ma);
    assert_int_equal(n->peer_sends.appends_capped, 1);
    /* libraft's own message is untouched: its request releases all sixty */
    assert_int_equal(ma.append_entries.n_entries, 60);
    /* ordinary entries: 200 small writes go in one message, as libraft built it */
    assert_int_equal(send_entries(n, &b, &mb, e, 200, 4096), 0);
    assert_int_equal(wire.n_entries[1], 200);
    assert_ptr_equal(wire.msg[1], &mb);
    /* one entry bigger than the cap still goes, alone */
    assert_int_equal(send_entries(n, &c, &mc, e, 2, (size_t)9 << 20), 0);
    assert_int_equal(wire.n_entries[2], 1);
    /* a heartbeat has nothing to cap */
    assert_int_equal(send_entries(n, &d, &md, e, 0, 0), 0);
    assert_int_equal(wire.n_entries[3], 0);
    assert_int_equal(n->peer_sends.appends_capped, 2);
    /* the callbacks reach libraft's requests */
    finish(0, 0);
    assert_int_equal(wire.completed, 1);
    drain(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_second_snapshot_to_the_same_peer_waits_for_the_first),
        cmocka_unit_test(test_a_failed_send_frees_the_peer_too),
        cmocka_unit_test(test_other_messages_are_never_held),
        cmocka_unit_test(test_append_entries_carry_at_most_8_mib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
