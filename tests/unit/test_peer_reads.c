/* raft/peer_reads.c: a reader that asks for its messages in exact parts,
 * as libraft's does (a 16-byte preamble: type and header length; the
 * header, whose first 8 bytes are the payload length; the payload), gets
 * every byte in order, in the parts it asked for, from one read() for
 * messages that arrived together; a part of 64 KiB or more is read straight
 * into the reader's buffer; a reader that closes its stream in the middle
 * of a read gets no call after the close; one that stops reading with
 * bytes left gets UV_ECONNABORTED; a failed allocation gets UV_ENOBUFS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer_reads.h"

#define MAX_MSGS 64

typedef struct reader {
    uv_pipe_t pipe;
    uint64_t preamble[2];
    char *header, *payload;
    size_t header_len, payload_len;
    char *want;      /* the part being filled */
    size_t want_len; /* what is left of it */
    int stage;       /* 0 preamble, 1 header, 2 payload */
    /* what came */
    int msgs;
    uint64_t types[MAX_MSGS];
    size_t payload_lens[MAX_MSGS];
    unsigned payload_sums[MAX_MSGS];
    int errors;
    ssize_t last_error;
    int calls_after_close;
    int closed;
    /* behaviour */
    int stop_after;  /* uv_read_stop after this many messages (0: never) */
    int fail_alloc;  /* the next header allocation fails */
    unsigned long long largest_part;
} reader;

static void on_close(uv_handle_t *h)
{
    reader *r = h->data;
    r->closed = 2;
}

static void close_reader(reader *r)
{
    if (!r->closed) {
        r->closed = 1;
        uv_close((uv_handle_t *)&r->pipe, on_close);
    }
}

static void r_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    reader *r = h->data;
    (void)suggested;
    if (r->closed) r->calls_after_close++;
    if (!r->want) {
        if (r->stage == 0) {
            r->want = (char *)r->preamble;
            r->want_len = sizeof r->preamble;
        } else if (r->stage == 1) {
            if (r->fail_alloc) {
                *buf = uv_buf_init(NULL, 0);
                return;
            }
            r->header = malloc(r->header_len);
            r->want = r->header;
            r->want_len = r->header_len;
        } else {
            r->payload = malloc(r->payload_len);
            r->want = r->payload;
            r->want_len = r->payload_len;
        }
    }
    *buf = uv_buf_init(r->want, (unsigned)r->want_len);
}

static void message_done(reader *r)
{
    unsigned sum = 0;
    for (size_t i = 0; i < r->payload_len; i++) sum = sum * 31 + (unsigned char)r->payload[i];
    r->types[r->msgs] = r->preamble[0];
    r->payload_lens[r->msgs] = r->payload_len;
    r->payload_sums[r->msgs] = sum;
    r->msgs++;
    free(r->header);
    free(r->payload);
    r->header = r->payload = NULL;
    r->stage = 0;
    if (r->stop_after && r->msgs == r->stop_after) uv_read_stop((uv_stream_t *)&r->pipe);
}

static void r_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    reader *r = st->data;
    (void)buf;
    if (r->closed) r->calls_after_close++;
    if (nread == 0) return;
    if (nread < 0) {
        r->errors++;
        r->last_error = nread;
        close_reader(r);
        return;
    }
    assert_true((size_t)nread <= r->want_len);
    if ((unsigned long long)nread > r->largest_part) r->largest_part = (unsigned long long)nread;
    r->want += nread;
    r->want_len -= (size_t)nread;
    if (r->want_len) return;
    r->want = NULL;
    if (r->stage == 0) {
        r->header_len = r->preamble[1];
        if (r->header_len < 8) { /* a bad message: the connection goes */
            close_reader(r);
            return;
        }
        r->stage = 1;
    } else if (r->stage == 1) {
        memcpy(&r->payload_len, r->header, 8);
        r->stage = 2;
        if (r->payload_len == 0) message_done(r);
    } else {
        message_done(r);
    }
}

/* One message: type, a 16-byte header (payload length, filler), payload of
 * len bytes derived from seed. */
static size_t put_message(char *out, uint64_t type, size_t len, unsigned seed)
{
    uint64_t pre[2] = {type, 16};
    uint64_t hdr[2] = {len, 0xabcdef};
    memcpy(out, pre, 16);
    memcpy(out + 16, hdr, 16);
    for (size_t i = 0; i < len; i++) out[32 + i] = (char)(seed * 7 + i * 13);
    return 32 + len;
}

static unsigned payload_sum(size_t len, unsigned seed)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) sum = sum * 31 + (unsigned char)(char)(seed * 7 + i * 13);
    return sum;
}

typedef struct harness {
    uv_loop_t loop;
    reader r;
    int peer; /* the writing end */
} harness;

static void start(harness *h)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(uv_loop_init(&h->loop), 0);
    memset(&h->r, 0, sizeof h->r);
    assert_int_equal(uv_pipe_init(&h->loop, &h->r.pipe, 0), 0);
    assert_int_equal(uv_pipe_open(&h->r.pipe, sv[0]), 0);
    h->r.pipe.data = &h->r;
    h->peer = sv[1];
    assert_int_equal(tc__raft_uv_read_start((uv_stream_t *)&h->r.pipe, r_alloc, r_read), 0);
}

static void send_all(harness *h, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(h->peer, p, len);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Runs the loop until the reader has want messages or an error, or the
 * stream is closed. */
static void run_until(harness *h, int want)
{
    for (int i = 0; i < 100000 && h->r.msgs < want && !h->r.errors && !h->r.closed; i++)
        uv_run(&h->loop, UV_RUN_ONCE);
}

static void finish(harness *h)
{
    close(h->peer);
    close_reader(&h->r);
    while (h->r.closed != 2) uv_run(&h->loop, UV_RUN_ONCE);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    free(h->r.header);
    free(h->r.payload);
}

static void batch_in_one_read(void **state)
{
    (void)state;
    harness h;
    start(&h);
    char *buf = malloc(1 << 16);
    size_t len = 0;
    for (unsigned i = 0; i < 20; i++) len += put_message(buf + len, i + 1, (i % 3) ? 40 + i : 0, i);
    unsigned long long reads0 = tc_peer_reads_syscalls(), parts0 = tc_peer_reads_chunks();
    send_all(&h, buf, len);
    run_until(&h, 20);
    assert_int_equal(h.r.msgs, 20);
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(h.r.types[i], i + 1);
        size_t plen = (i % 3) ? 40 + i : 0;
        assert_int_equal(h.r.payload_lens[i], plen);
        assert_int_equal(h.r.payload_sums[i], payload_sum(plen, i));
    }
    /* 20 preambles, 20 headers, 13 payloads; from a single read() */
    assert_int_equal(tc_peer_reads_chunks() - parts0, 53);
    assert_int_equal(tc_peer_reads_syscalls() - reads0, 1);
    assert_int_equal(h.r.errors, 0);
    free(buf);
    finish(&h);
}

static void big_part_read_straight(void **state)
{
    (void)state;
    harness h;
    start(&h);
    size_t big = 300 << 10;
    char *buf = malloc(big + 1024);
    size_t len = put_message(buf, 1, 10, 1);
    len += put_message(buf + len, 2, big, 2);
    len += put_message(buf + len, 3, 10, 3);
    /* the writer sends while the loop reads: the socket holds less than the
     * whole message at once */
    size_t sent = 0;
    while (h.r.msgs < 3 && !h.r.errors) {
        if (sent < len) {
            ssize_t n = send(h.peer, buf + sent, len - sent, MSG_DONTWAIT);
            if (n > 0) sent += (size_t)n;
        }
        uv_run(&h.loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(h.r.msgs, 3);
    assert_int_equal(h.r.payload_lens[1], big);
    assert_int_equal(h.r.payload_sums[1], payload_sum(big, 2));
    assert_int_equal(h.r.payload_sums[2], payload_sum(10, 3));
    /* parts of the big payload came in reads larger than the buffer */
    assert_true(h.r.largest_part > (64 << 10));
    free(buf);
    finish(&h);
}

static void closed_in_the_middle(void **state)
{
    (void)state;
    harness h;
    start(&h);
    char buf[512];
    size_t len = put_message(buf, 1, 5, 1);
    uint64_t bad[2] = {9, 0}; /* a zero-length header: the reader closes */
    memcpy(buf + len, bad, 16);
    len += 16;
    len += put_message(buf + len, 3, 5, 3);
    send_all(&h, buf, len);
    run_until(&h, 3);
    assert_int_equal(h.r.msgs, 1);
    assert_int_equal(h.r.closed != 0, 1);
    assert_int_equal(h.r.calls_after_close, 0);
    finish(&h);
}

static void stopped_with_bytes_left(void **state)
{
    (void)state;
    harness h;
    start(&h);
    h.r.stop_after = 2;
    char buf[512];
    size_t len = 0;
    for (unsigned i = 0; i < 4; i++) len += put_message(buf + len, i + 1, 8, i);
    send_all(&h, buf, len);
    run_until(&h, 4);
    assert_int_equal(h.r.msgs, 2);
    assert_int_equal(h.r.errors, 1);
    assert_int_equal(h.r.last_error, UV_ECONNABORTED);
    finish(&h);
}

static void allocation_failure(void **state)
{
    (void)state;
    harness h;
    start(&h);
    h.r.fail_alloc = 1;
    char buf[128];
    size_t len = put_message(buf, 1, 8, 1);
    send_all(&h, buf, len);
    run_until(&h, 1);
    assert_int_equal(h.r.msgs, 0);
    assert_int_equal(h.r.errors, 1);
    assert_int_equal(h.r.last_error, UV_ENOBUFS);
    finish(&h);
}

static void peer_gone(void **state)
{
    (void)state;
    harness h;
    start(&h);
    char buf[128];
    size_t len = put_message(buf, 1, 8, 1);
    send_all(&h, buf, len - 3); /* the last bytes never come */
    shutdown(h.peer, SHUT_WR);
    run_until(&h, 1);
    assert_int_equal(h.r.msgs, 0);
    assert_int_equal(h.r.last_error, UV_EOF);
    finish(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_in_one_read),       cmocka_unit_test(big_part_read_straight),
        cmocka_unit_test(closed_in_the_middle),    cmocka_unit_test(stopped_with_bytes_left),
        cmocka_unit_test(allocation_failure),      cmocka_unit_test(peer_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
