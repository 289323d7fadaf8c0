/* Unit tests for common/resp_client.c: every reply type (RESP2 and RESP3),
 * replies split across reads at every byte boundary, protocol errors and
 * the reply size limit refused (and the connection closed), a timeout that
 * closes the connection so that a late reply is never read as the next
 * command's, the request encoding, connecting.
 *
 * Most tests put the client on one end of a socketpair (c.fd is public)
 * and play the server on the other; the connect and timeout tests use a
 * loopback listener served by a thread. */
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A client on one end of a socketpair; returns the server's end. */
static int pair(tc_rc *c, int timeout_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    tc_rc_init(c);
    c->fd = sv[0];
    c->timeout_ms = timeout_ms;
    return sv[1];
}

static void put(int fd, const void *p, size_t len)
{
    const char *s = p;
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        assert_true(n > 0);
        s += n;
        len -= (size_t)n;
    }
}

/* ---- a reply as text, to compare with what a sample should give --------- */

static void dump(const tc_rc_reply *r, char *out, size_t cap, size_t *n)
{
#define OUT(...) (*n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, __VA_ARGS__))
    switch (r->type) {
    case TC_RC_STATUS: case TC_RC_ERROR: case TC_RC_DOUBLE: case TC_RC_BIGNUM:
        OUT("%c%s", (char)r->type, r->str);
        assert_int_equal(strlen(r->str), r->len);
        break;
    case TC_RC_BULK:
        OUT("$%zu:", r->len);
        for (size_t i = 0; i < r->len; i++) OUT(r->str[i] >= 0x20 ? "%c" : "\\x%02x", (unsigned char)r->str[i]);
        assert_int_equal(r->str[r->len], '\0');
        break;
    case TC_RC_INT: OUT(":%lld", r->integer); break;
    case TC_RC_NIL: OUT("_"); break;
    case TC_RC_BOOL: OUT("#%c", r->integer ? 't' : 'f'); break;
    case TC_RC_ARRAY: case TC_RC_MAP: case TC_RC_SET: case TC_RC_PUSH:
        OUT("%c[", (char)r->type);
        for (size_t i = 0; i < r->n; i++) {
            if (i) OUT(",");
            dump(&r->elem[i], out, cap, n);
        }
        OUT("]");
        break;
    default: OUT("?%d", r->type);
    }
#undef OUT
}

static char *show(const tc_rc_reply *r)
{
    static char buf[1024];
    size_t n = 0;
    dump(r, buf, sizeof buf, &n);
    return buf;
}

static const struct sample {
    const char *wire, *want;
} samples[] = {
    {"+OK\r\n", "+OK"},
    {"+\r\n", "+"},
    {"+a\rb\r\n", "+a\rb"},
    {"-ERR wrong type\r\n", "-ERR wrong type"},
    {":0\r\n", ":0"},
    {":-42\r\n", ":-42"},
    {":9223372036854775807\r\n", ":9223372036854775807"},
    {":-9223372036854775808\r\n", ":-9223372036854775808"},
    {"$5\r\nhe\r\no\r\n", "$5:he\\x0d\\x0ao"},
    {"$0\r\n\r\n", "$0:"},
    {"$3\r\na\0b\r\n", "$3:a\\x00b"},
    {"$-1\r\n", "_"},
    {"*-1\r\n", "_"},
    {"_\r\n", "_"},
    {"*0\r\n", "*[]"},
    {"*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n", "*[:1,$1:a,*[+x,_]]"},
    {"%2\r\n+a\r\n:1\r\n$1\r\nb\r\n*1\r\n:2\r\n", "%[+a,:1,$1:b,*[:2]]"},
    {"~2\r\n:1\r\n:2\r\n", "~[:1,:2]"},
    {">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">[$7:message,$2:ch,$2:hi]"},
    {",1.5\r\n", ",1.5"},
    {",-inf\r\n", ",-inf"},
    {"#t\r\n", "#t"},
    {"#f\r\n", "#f"},
    {"(3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385"},
    {"=8\r\ntxt:abcd\r\n", "$4:abcd"},
    {"=4\r\nmkd:\r\n", "$0:"},
    {"!9\r\nERR oops!\r\n", "-ERR oops!"},
    {"|1\r\n+key\r\n*1\r\n:9\r\n:7\r\n", ":7"},
    {"*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n", "*[:1,:2]"},
    {"%0\r\n", "%[]"},
};
#define N_SAMPLES (sizeof samples / sizeof samples[0])

static size_t wire_len(const struct sample *s)
{
    /* "$3\r\na\0b\r\n" holds a NUL */
    return strncmp(s->wire, "$3\r\na", 5) == 0 ? 9 : strlen(s->wire);
}

static void test_every_reply_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        tc_rc c;
        int peer = pair(&c, 1000);
        put(peer, samples[i].wire, wire_len(&samples[i]));
        tc_rc_reply r;
        assert_int_equal(tc_rc_read(&c, &r), 0);
        if (strcmp(show(&r), samples[i].want) != 0)
            fail_msg("sample %zu: got %s, expected %s", i, show(&r), samples[i].want);
        tc_rc_reply_free(&r);
        assert_int_equal(r.type, 0);
        /* nothing left over: the next read waits for more */
        assert_int_equal(c.in_len - c.in_pos, 0);
        tc_rc_close(&c);
        close(peer);
    }
}

static void test_pipelined_and_raw(void **state)
{
    (void)state;
    tc_rc c, raw;
    int peer = pair(&c, 1000), rpeer = pair(&raw, 1000);
    for (size_t i = 0; i < N_SAMPLES; i++) {
        put(peer, samples[i].wire, wire_len(&samples[i]));
        put(rpeer, samples[i].wire, wire_len(&samples[i]));
    }
    for (size_t i = 0; i < N_SAMPLES; i++) {
        tc_rc_reply r;
        assert_int_equal(tc_rc_read(&c, &r), 0);
        if (strcmp(show(&r), samples[i].want) != 0)
            fail_msg("sample %zu: got %s, expected %s", i, show(&r), samples[i].want);
        tc_rc_reply_free(&r);
        char *bytes;
        size_t n;
        assert_int_equal(tc_rc_read_raw(&raw, &bytes, &n), 0);
        assert_int_equal(n, wire_len(&samples[i]));
        assert_memory_equal(bytes, samples[i].wire, n);
        assert_int_equal(bytes[n], '\0');
        free(bytes);
    }
    tc_rc_close(&c);
    tc_rc_close(&raw);
    close(peer);
    close(rpeer);
}

/* ---- split reads ------------------------------------------------------- */

/* Writes the parts of a reply one at a time, each only once the client has
 * taken everything before it off its socket: every part is a read of its own. */
typedef struct feeder {
    int peer, client_fd;
    const char *data;
    size_t len;
    size_t cut;   /* two parts: [0, cut) and [cut, len); 0 = one byte at a time */
} feeder;

static void wait_taken(int client_fd)
{
    long long end = now_ms() + 2000;
    int queued = 1;
    while (now_ms() < end && ioctl(client_fd, FIONREAD, &queued) == 0 && queued > 0) sched_yield();
}

static void *feed(void *arg)
{
    feeder *f = arg;
    if (f->cut) {
        put(f->peer, f->data, f->cut);
        wait_taken(f->client_fd);
        put(f->peer, f->data + f->cut, f->len - f->cut);
    } else {
        for (size_t i = 0; i < f->len; i++) {
            put(f->peer, f->data + i, 1);
            wait_taken(f->client_fd);
        }
    }
    return NULL;
}

static void read_split(const struct sample *s, size_t cut)
{
    tc_rc c;
    int peer = pair(&c, 3000);
    feeder f = {.peer = peer, .client_fd = c.fd, .data = s->wire, .len = wire_len(s), .cut = cut};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
    tc_rc_reply r;
    int rc = tc_rc_read(&c, &r);
    pthread_join(t, NULL);
    if (rc != 0) fail_msg("%s cut at %zu: %s", s->want, cut, c.err);
    if (strcmp(show(&r), s->want) != 0) fail_msg("cut at %zu: got %s, expected %s", cut, show(&r), s->want);
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    close(peer);
}

static void test_split_at_every_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        read_split(&samples[i], 0);
        for (size_t cut = 1; cut < wire_len(&samples[i]); cut++) read_split(&samples[i], cut);
    }
    /* a big bulk string arriving in many reads */
    size_t n = 3u << 20;
    char *big = malloc(n + 32);
    int h = snprintf(big, 32, "$%zu\r\n", n);
    memset(big + h, 'v', n);
    memcpy(big + h + n, "\r\n", 2);
    tc_rc c;
    int peer = pair(&c, 5000);
    feeder f = {.peer = peer, .client_fd = c.fd, .data = big, .len = (size_t)h + n + 2, .cut = 100000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
    tc_rc_reply r;
    assert_int_equal(tc_rc_read(&c, &r), 0);
    pthread_join(t, NULL);
    assert_int_equal(r.type, TC_RC_BULK);
    assert_int_equal(r.len, n);
    assert_true(r.str[0] == 'v' && r.str[n - 1] == 'v' && r.str[n] == '\0');
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    close(peer);
    free(big);
}

/* ---- refusals ---------------------------------------------------------- */

static void expect_refused(const char *wire, size_t max_reply, int want_rc, const char *says)
{
    tc_rc c;
    int peer = pair(&c, 2000);
    if (max_reply) c.max_reply = max_reply;
    put(peer, wire, strlen(wire));
    long long t0 = now_ms();
    tc_rc_reply r;
    int rc = tc_rc_read(&c, &r);
    if (rc != want_rc) fail_msg("%s: rc %d, expected %d (%s)", wire, rc, want_rc, c.err);
    if (!strstr(c.err, says)) fail_msg("%s: \"%s\" lacks \"%s\"", wire, c.err, says);
    assert_true(now_ms() - t0 < 1000); /* refused at once, not after the timeout */
    assert_int_equal(c.fd, -1);          /* the connection is closed */
    assert_int_equal(r.type, 0);
    assert_int_equal(tc_rc_read(&c, &r), -ENOTCONN);
    tc_rc_close(&c);
    close(peer);
}

static void test_protocol_errors(void **state)
{
    (void)state;
    expect_refused("?x\r\n", 0, -EPROTO, "unknown reply type");
    expect_refused("$?\r\n", 0, -EPROTO, "string length");
    expect_refused(":12a\r\n", 0, -EPROTO, "integer");
    expect_refused(":\r\n", 0, -EPROTO, "integer");
    expect_refused(":99999999999999999999\r\n", 0, -EPROTO, "integer");
    expect_refused("$3\r\nabcd\r\n", 0, -EPROTO, "CRLF");
    expect_refused("+OK\n", 0, -EPROTO, "CRLF");
    expect_refused("\r\n", 0, -EPROTO, "unknown reply type");
    expect_refused("#x\r\n", 0, -EPROTO, "boolean");
    expect_refused("_x\r\n", 0, -EPROTO, "null");
    expect_refused("$-2\r\n", 0, -EPROTO, "length");
    expect_refused("=-1\r\n", 0, -EPROTO, "length");
    expect_refused("=3\r\ntxt\r\n", 0, -EPROTO, "verbatim");
    expect_refused("=5\r\ntxt;x\r\n", 0, -EPROTO, "verbatim");
    expect_refused("*-2\r\n", 0, -EPROTO, "aggregate length");
    expect_refused("%-1\r\n", 0, -EPROTO, "aggregate length");
    expect_refused("*2\r\n:1\r\n?\r\n", 0, -EPROTO, "unknown");
    char deep[256] = "";
    for (int i = 0; i <= TC_RC_MAX_DEPTH; i++) strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    expect_refused(deep, 0, -EPROTO, "nested too deeply");
    /* attributes count as nesting: a long chain of them is refused too */
    deep[0] = '\0';
    for (int i = 0; i <= TC_RC_MAX_DEPTH; i++) strcat(deep, "|0\r\n");
    strcat(deep, ":1\r\n");
    expect_refused(deep, 0, -EPROTO, "nested too deeply");
}

static void test_size_limit(void **state)
{
    (void)state;
    /* announced larger than the limit: refused before any of it arrives */
    expect_refused("$100\r\n", 64, -EMSGSIZE, "larger than 64 bytes");
    expect_refused("*1000\r\n", 64, -EMSGSIZE, "larger than");
    expect_refused("%1000\r\n", 64, -EMSGSIZE, "larger than");
    /* a line that goes on past the limit */
    char line[200] = "+";
    memset(line + 1, 'a', 100);
    expect_refused(line, 64, -EMSGSIZE, "larger than");
    /* many small items that add up past it */
    expect_refused("*10\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n", 40, -EMSGSIZE, "larger than");

    /* exactly the limit is fine: 5 + 57 + 2 = 64 bytes */
    char exact[128];
    int n = snprintf(exact, sizeof exact, "$57\r\n%057d\r\n", 0);
    assert_int_equal(n, 64);
    tc_rc c;
    int peer = pair(&c, 1000);
    c.max_reply = 64;
    put(peer, exact, (size_t)n);
    tc_rc_reply r;
    assert_int_equal(tc_rc_read(&c, &r), 0);
    assert_int_equal(r.len, 57);
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    close(peer);
    exact[2] = '8'; /* "$58" with 57 bytes: one more than allowed */
    expect_refused(exact, 64, -EMSGSIZE, "larger than");
}

static void test_peer_closes(void **state)
{
    (void)state;
    tc_rc c;
    int peer = pair(&c, 1000);
    put(peer, "$10\r\nhalf", 9);
    close(peer);
    tc_rc_reply r;
    assert_int_equal(tc_rc_read(&c, &r), -ECONNRESET);
    assert_non_null(strstr(c.err, "closed the connection"));
    assert_int_equal(c.fd, -1);
    tc_rc_close(&c);
}

/* ---- requests ----------------------------------------------------------- */

static char *take(int fd, size_t *len)
{
    static char buf[16384];
    *len = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, 100) == 1) {
        ssize_t n = recv(fd, buf + *len, sizeof buf - *len, 0);
        if (n <= 0) break;
        *len += (size_t)n;
    }
    return buf;
}

static void test_request_encoding(void **state)
{
    (void)state;
    tc_rc c;
    int peer = pair(&c, 1000);
    put(peer, "+OK\r\n", 5); /* the reply is waiting before the command is sent */
    const char *argv[] = {"SET", "k", "v a"};
    tc_rc_reply r;
    assert_int_equal(tc_rc_command(&c, &r, 3, argv, NULL), 0);
    assert_true(c.sent);
    assert_string_equal(show(&r), "+OK");
    tc_rc_reply_free(&r);
    size_t n;
    char *got = take(peer, &n);
    const char want[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv a\r\n";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(got, want, n);

    /* binary-safe arguments, pipelined, and a long one */
    size_t biglen = 5000;
    char *big = malloc(biglen);
    memset(big, 'z', biglen);
    const char *bin[] = {"ECHO", "a\0\r\nb", big};
    const size_t lens[] = {4, 5, biglen};
    assert_int_equal(tc_rc_send(&c, 2, bin, lens), 0);
    assert_int_equal(tc_rc_send_raw(&c, "PING\r\n", 6), 0);
    got = take(peer, &n);
    const char want2[] = "*2\r\n$4\r\nECHO\r\n$5\r\na\0\r\nb\r\nPING\r\n";
    assert_int_equal(n, sizeof want2 - 1);
    assert_memory_equal(got, want2, n);
    const char *echo_big[] = {"ECHO", big};
    const size_t lens2[] = {4, biglen};
    assert_int_equal(tc_rc_send(&c, 2, echo_big, lens2), 0);
    got = take(peer, &n);
    assert_int_equal(n, 14 + 7 + biglen + 2);
    free(big);

    /* replies are owned by the caller: they outlive the connection */
    put(peer, "*2\r\n$5\r\nhello\r\n:5\r\n", 19);
    assert_int_equal(tc_rc_read(&c, &r), 0);
    tc_rc_close(&c);
    close(peer);
    assert_string_equal(show(&r), "*[$5:hello,:5]");
    tc_rc_reply_free(&r);

    /* a command on a closed connection was not sent */
    assert_int_equal(tc_rc_command(&c, &r, 3, argv, NULL), -ENOTCONN);
    assert_false(c.sent);
    assert_int_equal(tc_rc_command(&c, &r, 0, argv, NULL), -ENOTCONN);
    tc_rc closed = TC_RC_CLOSED;
    tc_rc_close(&closed);
    assert_int_equal(tc_rc_set_timeout(&closed, 10), -ENOTCONN);

    assert_true(tc_rc_reply_is_error(&(tc_rc_reply){.type = TC_RC_ERROR, .str = "MOVED 1 a:2"}, "MOVED"));
    assert_true(tc_rc_reply_is_error(&(tc_rc_reply){.type = TC_RC_ERROR, .str = "READONLY"}, "READONLY"));
    assert_false(tc_rc_reply_is_error(&(tc_rc_reply){.type = TC_RC_ERROR, .str = "MOVEDX"}, "MOVED"));
    assert_false(tc_rc_reply_is_error(&(tc_rc_reply){.type = TC_RC_STATUS, .str = "MOVED"}, "MOVED"));
}

/* ---- a loopback server --------------------------------------------------- */

typedef struct server {
    int lfd, port;
    int late_ms;  /* the first connection's reply comes this late */
} server;

static void listen_on(server *s, int backlog)
{
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, backlog), 0);
    socklen_t sl = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &sl);
    s->port = ntohs(a.sin_port);
}

/* Two connections: the first one's command is answered "+LATE" after
 * late_ms, the second one's "+FRESH" at once. */
static void *serve(void *arg)
{
    server *s = arg;
    for (int k = 0; k < 2; k++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) return NULL;
        char buf[256];
        if (recv(fd, buf, sizeof buf, 0) <= 0) {
            close(fd);
            continue;
        }
        if (k == 0) sleep_ms(s->late_ms);
        const char *rep = k == 0 ? "+LATE\r\n" : "+FRESH\r\n";
        send(fd, rep, strlen(rep), MSG_NOSIGNAL);
        sleep_ms(50);
        close(fd);
    }
    return NULL;
}

static void test_timeout_closes_connection(void **state)
{
    (void)state;
    server s = {.late_ms = 400};
    listen_on(&s, 8);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);
    tc_rc c;
    assert_int_equal(tc_rc_connect(&c, "127.0.0.1", s.port, 150), 0);
    const char *argv[] = {"GET", "k"};
    tc_rc_reply r;
    long long t0 = now_ms();
    assert_int_equal(tc_rc_command(&c, &r, 2, argv, NULL), -ETIMEDOUT);
    long long took = now_ms() - t0;
    assert_true(took >= 140 && took < 1000);
    assert_true(c.sent);            /* it may have run */
    assert_int_equal(c.fd, -1);     /* and the connection is gone */
    assert_non_null(strstr(c.err, "no reply within 150 ms"));
    /* the late +LATE goes nowhere: a new connection gets its own reply */
    assert_int_equal(tc_rc_connect(&c, "localhost", s.port, 2000), 0);
    assert_int_equal(tc_rc_command(&c, &r, 2, argv, NULL), 0);
    assert_string_equal(show(&r), "+FRESH");
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    pthread_join(t, NULL);
    close(s.lfd);

    /* on a socketpair too: nothing comes, the read gives up and closes */
    int peer = pair(&c, 100);
    t0 = now_ms();
    assert_int_equal(tc_rc_read(&c, &r), -ETIMEDOUT);
    assert_true(now_ms() - t0 >= 95);
    assert_int_equal(c.fd, -1);
    send(peer, "+LATE\r\n", 7, MSG_NOSIGNAL); /* nobody reads it: the client's end is closed */
    close(peer);
    tc_rc_close(&c);
}

static void test_connect(void **state)
{
    (void)state;
    tc_rc c;
    /* a port nobody listens on */
    server s;
    listen_on(&s, 1);
    int port = s.port;
    close(s.lfd);
    assert_int_equal(tc_rc_connect(&c, "127.0.0.1", port, 1000), -ECONNREFUSED);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d: ", port);
    assert_non_null(strstr(c.err, want));
    assert_int_equal(c.fd, -1);
    assert_int_equal(tc_rc_connect(&c, "::1", port, 1000) < 0, 1);
    assert_int_equal(tc_rc_connect(&c, "no-such-host.invalid", 6379, 1000), -EHOSTUNREACH);
    assert_non_null(strstr(c.err, "cannot resolve"));
    assert_int_equal(tc_rc_connect(&c, "127.0.0.1", 0, 1000), -EINVAL);
    assert_int_equal(tc_rc_connect(&c, "127.0.0.1", 70000, 1000), -EINVAL);

    /* a listener whose queue is full drops our SYN: the connect times out */
    listen_on(&s, 0);
    int fillers[8], nf = 0;
    for (; nf < 8; nf++) {
        fillers[nf] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        connect(fillers[nf], (struct sockaddr *)&a, sizeof a);
    }
    sleep_ms(50);
    long long t0 = now_ms();
    int rc = tc_rc_connect(&c, "127.0.0.1", s.port, 200);
    long long took = now_ms() - t0;
    if (rc == -ETIMEDOUT) {
        assert_true(took >= 190 && took < 1500);
        assert_non_null(strstr(c.err, "timed out"));
    } else {
        print_message("note: this kernel accepted a connection past a full backlog (rc %d); connect timeout not checked\n", rc);
        tc_rc_close(&c);
    }
    for (int i = 0; i < nf; i++) close(fillers[i]);
    close(s.lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reply_type),
        cmocka_unit_test(test_pipelined_and_raw),
        cmocka_unit_test(test_split_at_every_byte),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_peer_closes),
        cmocka_unit_test(test_request_encoding),
        cmocka_unit_test(test_timeout_closes_connection),
        cmocka_unit_test(test_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
