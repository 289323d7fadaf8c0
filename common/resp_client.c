/* A blocking RESP client with deadlines (see common.h).
 *
 * The socket stays in blocking mode (a caller may write to c->fd itself);
 * every send and recv here is MSG_DONTWAIT and waits in poll() for at most
 * what is left of the deadline, so nothing blocks past it.
 *
 * A reply is read in two passes over the receive buffer: the first checks
 * that one whole reply is there and well-formed, and counts its nodes and
 * string bytes (or says how many bytes it needs at least, so a big bulk
 * string is not rescanned on every read); the second builds it into one
 * allocation. Nothing of a reply is consumed until all of it has arrived. */
#include "common.h"
#include "resp_tls_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_FIRST 16384 /* receive buffer at first; it doubles as needed */
#define OUT_FIRST 1024 /* request buffer at first */

int64_t tc__rc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int seterr(tc_rc *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int seterr(tc_rc *c, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -e;
}

/* The connection's place in the stream is unknown after any failure:
 * close it, so that a late reply can never be read as the next one's. */
static int broken(tc_rc *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int broken(tc_rc *c, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    tc_rc_close(c);
    return -e;
}

void tc_rc_init(tc_rc *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = TC_RC_DEFAULT_TIMEOUT_MS;
    c->max_reply = TC_RC_DEFAULT_MAX_REPLY;
}

void tc_rc_close(tc_rc *c)
{
    tc__rc_tls_close(c);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_pos = c->in_len = c->in_cap = c->in_need = c->out_cap = 0;
}

int tc_rc_set_timeout(tc_rc *c, int timeout_ms)
{
    if (c->fd < 0) return seterr(c, ENOTCONN, "not connected");
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : TC_RC_DEFAULT_TIMEOUT_MS;
    return 0;
}

/* Waits until fd is ready for ev or the deadline passes: 1 ready, 0 timed
 * out, or a negative errno. */
int tc__rc_wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - tc__rc_now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = ev};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return -errno;
    }
}

/* ---- connecting ---------------------------------------------------------- */

static const char *cause(int e) { return e == ETIMEDOUT || e == EINPROGRESS ? "timed out" : strerror(e); }

/* One address: a connected blocking socket, or a negative errno. */
static int try_connect(const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int e = 0;
    if (connect(fd, sa, len) != 0) {
        e = errno;
        if (e == EINPROGRESS || e == EINTR) {
            int w = tc__rc_wait_fd(fd, POLLOUT, deadline);
            socklen_t sl = sizeof e;
            if (w == 0) e = ETIMEDOUT;
            else if (w < 0) e = -w;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0) e = errno;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (e == 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) e = errno;
    if (e != 0) {
        close(fd);
        return -e;
    }
    return fd;
}

int tc_rc_connect(tc_rc *c, const char *host, int port, int timeout_ms)
{
    tc_rc_init(c);
    if (timeout_ms > 0) c->timeout_ms = timeout_ms;
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    if (port <= 0 || port > 65535) return seterr(c, EINVAL, "%s: not a TCP port", c->peer);
    int64_t deadline = tc__rc_now_ms() + c->timeout_ms;
    /* a numeric address needs no resolver (and no allocation) */
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    int fd;
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        fd = try_connect((struct sockaddr *)&a4, sizeof a4, deadline);
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        fd = try_connect((struct sockaddr *)&a6, sizeof a6, deadline);
    } else {
        char service[16];
        snprintf(service, sizeof service, "%d", port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(host, service, &hints, &res);
        if (rc != 0) return seterr(c, EHOSTUNREACH, "%s: cannot resolve the host: %s", c->peer, gai_strerror(rc));
        fd = -ECONNREFUSED;
        for (struct addrinfo *ai = res; ai && fd < 0 && tc__rc_now_ms() < deadline; ai = ai->ai_next)
            fd = try_connect(ai->ai_addr, ai->ai_addrlen, deadline);
        if (fd < 0 && tc__rc_now_ms() >= deadline) fd = -ETIMEDOUT;
        freeaddrinfo(res);
    }
    if (fd < 0) return seterr(c, -fd, "%s: %s", c->peer, cause(-fd));
    c->fd = fd;
    return 0;
}

/* ---- sending --------------------------------------------------------------- */

static int send_all(tc_rc *c, const char *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        if (c->ssl) {
            short want = 0;
            ssize_t n = tc__rc_tls_write(c, p, len, &want);
            if (n > 0) {
                c->sent = true;
                p += n;
                len -= (size_t)n;
                continue;
            }
            int w = n < 0 ? (int)n : want ? tc__rc_wait_fd(c->fd, want, deadline) : 1;
            if (w > 0) continue;
            if (w == 0) return broken(c, ETIMEDOUT, "send: timed out");
            char why[sizeof c->err];
            snprintf(why, sizeof why, "%s", c->err);
            return broken(c, -w, "%s", why);
        }
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->sent = true;
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = n < 0 ? errno : EIO;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            int w = tc__rc_wait_fd(c->fd, POLLOUT, deadline);
            if (w > 0) continue;
            e = w == 0 ? ETIMEDOUT : -w;
        }
        return broken(c, e, "send: %s", cause(e));
    }
    return 0;
}

static size_t put_uint(char *o, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) o[i] = tmp[n - 1 - i];
    return n;
}

/* The command as RESP into c->out; its length, or a negative errno. */
static ssize_t encode(tc_rc *c, int argc, const char *const *argv, const size_t *lens)
{
    if (argc <= 0) return seterr(c, EINVAL, "a command needs at least one argument");
    size_t need = 16;
    for (int i = 0; i < argc; i++) need += (lens ? lens[i] : strlen(argv[i])) + 26;
    if (need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : OUT_FIRST;
        while (cap < need) cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) return seterr(c, ENOMEM, "out of memory");
        c->out = o;
        c->out_cap = cap;
    }
    char *o = c->out;
    size_t n = 0;
    o[n++] = '*';
    n += put_uint(o + n, (size_t)argc);
    o[n++] = '\r';
    o[n++] = '\n';
    for (int i = 0; i < argc; i++) {
        size_t al = lens ? lens[i] : strlen(argv[i]);
        o[n++] = '$';
        n += put_uint(o + n, al);
        o[n++] = '\r';
        o[n++] = '\n';
        memcpy(o + n, argv[i], al);
        n += al;
        o[n++] = '\r';
        o[n++] = '\n';
    }
    return (ssize_t)n;
}

static int send_command(tc_rc *c, int argc, const char *const *argv, const size_t *lens, int64_t deadline)
{
    c->sent = false;
    if (c->fd < 0) return seterr(c, ENOTCONN, "not connected");
    ssize_t n = encode(c, argc, argv, lens);
    if (n < 0) return (int)n;
    return send_all(c, c->out, (size_t)n, deadline);
}

int tc_rc_send(tc_rc *c, int argc, const char *const *argv, const size_t *lens)
{
    return send_command(c, argc, argv, lens, tc__rc_now_ms() + c->timeout_ms);
}

int tc_rc_send_raw(tc_rc *c, const void *buf, size_t len)
{
    c->sent = false;
    if (c->fd < 0) return seterr(c, ENOTCONN, "not connected");
    return send_all(c, buf, len, tc__rc_now_ms() + c->timeout_ms);
}

/* ---- receiving: pass 1, is one whole well-formed reply there? ------------- */

enum { S_OK = 0, S_MORE = 1, S_BAD = -1, S_BIG = -2 };

typedef struct scan {
    const char *p;
    size_t len;          /* bytes available at p */
    size_t max;          /* max_reply */
    size_t nodes, bytes; /* nodes below the top one; string bytes with their NULs */
    size_t need;         /* S_MORE: bytes needed at least */
    size_t end;          /* S_OK (next_reply): the reply's length */
    const char *why;     /* S_BAD */
} scan;

static int parse_ll(const char *p, size_t n, long long *out)
{
    size_t i = 0;
    int neg = n > 0 && p[0] == '-';
    if (neg) i++;
    if (i == n || n - i > 19) return -1;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v > (unsigned long long)LLONG_MAX + (unsigned long long)neg) return -1;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

static int bad(scan *s, const char *why)
{
    s->why = why;
    return S_BAD;
}

/* The line at off: *eol is the index of its '\r'. */
static int scan_line(scan *s, size_t off, size_t *eol)
{
    const char *q = memchr(s->p + off, '\n', s->len - off);
    if (!q) {
        s->need = s->len + 1;
        return S_MORE;
    }
    size_t nl = (size_t)(q - s->p);
    if (nl == off || s->p[nl - 1] != '\r') return bad(s, "a line that does not end in CRLF");
    *eol = nl - 1;
    return S_OK;
}

static int scan_one(scan *s, size_t *off, int depth)
{
    if (*off >= s->len) {
        s->need = *off + 1;
        return S_MORE;
    }
    size_t eol;
    int rc = scan_line(s, *off, &eol);
    if (rc) return rc;
    char t = s->p[*off];
    const char *arg = s->p + *off + 1;
    size_t alen = eol - *off - 1, next = eol + 2;
    long long n = 0;
    switch (t) {
    case '+': case '-': case ',': case '(':
        s->bytes += alen + 1;
        break;
    case ':':
        if (parse_ll(arg, alen, &n)) return bad(s, "a bad integer");
        break;
    case '_':
        if (alen) return bad(s, "a bad null");
        break;
    case '#':
        if (alen != 1 || (arg[0] != 't' && arg[0] != 'f')) return bad(s, "a bad boolean");
        break;
    case '$': case '=': case '!':
        if (parse_ll(arg, alen, &n) || n < -1 || (n == -1 && t != '$')) return bad(s, "a bad string length");
        if (n == -1) break;
        if ((unsigned long long)n > s->max) return S_BIG;
        if (t == '=' && n < 4) return bad(s, "a verbatim string without its format");
        if (s->len - next < (size_t)n + 2) {
            s->need = next + (size_t)n + 2;
            return S_MORE;
        }
        if (s->p[next + n] != '\r' || s->p[next + n + 1] != '\n') return bad(s, "a bulk string without its CRLF");
        if (t == '=' && s->p[next + 3] != ':') return bad(s, "a verbatim string without its format");
        s->bytes += (size_t)n + 1 - (t == '=' ? 4 : 0);
        next += (size_t)n + 2;
        break;
    case '*': case '~': case '>': case '%': case '|': {
        if (parse_ll(arg, alen, &n) || n < -1 || (n == -1 && t != '*')) return bad(s, "a bad aggregate length");
        if (n == -1) break;
        if (depth >= TC_RC_MAX_DEPTH) return bad(s, "replies nested too deeply");
        /* every item takes 3 bytes at least ("_\r\n"), a map's count two */
        if ((unsigned long long)n > s->max / 6) return S_BIG;
        size_t items = (size_t)n * (t == '%' || t == '|' ? 2 : 1);
        size_t nodes = s->nodes, bytes = s->bytes;
        *off = next;
        for (size_t i = 0; i < items; i++)
            if ((rc = scan_one(s, off, depth + 1))) return rc;
        if (t != '|') {
            s->nodes += items;
            return S_OK;
        }
        /* an attribute: dropped, the reply it annotates follows (one level
         * down, so that a chain of attributes is bounded like nesting) */
        s->nodes = nodes;
        s->bytes = bytes;
        return scan_one(s, off, depth + 1);
    }
    default:
        return bad(s, "an unknown reply type");
    }
    *off = next;
    return S_OK;
}

/* ---- receiving: pass 2, building the checked reply ------------------------ */

typedef struct build {
    const char *p;
    size_t end;         /* the reply's length: p[0..end) was checked by scan_one */
    tc_rc_reply *nodes; /* the next free nodes */
    char *str;          /* the next free string bytes */
} build;

static void put_str(build *b, tc_rc_reply *r, const char *s, size_t n)
{
    memcpy(b->str, s, n);
    b->str[n] = '\0';
    r->str = b->str;
    r->len = n;
    b->str += n + 1;
}

static void build_one(build *b, size_t *off, tc_rc_reply *r, int depth)
{
    memset(r, 0, sizeof *r);
    const char *line = b->p + *off;
    const char *eol = (const char *)memchr(line, '\n', b->end - *off) - 1; /* checked: CRLF ends it */
    const char *arg = line + 1;
    size_t alen = (size_t)(eol - arg);
    size_t next = *off + alen + 3;
    long long n = 0;
    switch (line[0]) {
    case '+': case '-': case ',': case '(':
        r->type = (tc_rc_type)line[0];
        put_str(b, r, arg, alen);
        break;
    case ':':
        r->type = TC_RC_INT;
        parse_ll(arg, alen, &r->integer);
        break;
    case '_':
        r->type = TC_RC_NIL;
        break;
    case '#':
        r->type = TC_RC_BOOL;
        r->integer = arg[0] == 't';
        break;
    case '$': case '=': case '!':
        parse_ll(arg, alen, &n);
        if (n < 0) {
            r->type = TC_RC_NIL;
            break;
        }
        r->type = line[0] == '!' ? TC_RC_ERROR : TC_RC_BULK;
        if (line[0] == '=') put_str(b, r, b->p + next + 4, (size_t)n - 4);
        else put_str(b, r, b->p + next, (size_t)n);
        next += (size_t)n + 2;
        break;
    default: { /* aggregates */
        parse_ll(arg, alen, &n);
        if (n < 0) {
            r->type = TC_RC_NIL;
            break;
        }
        size_t items = (size_t)n * (line[0] == '%' || line[0] == '|' ? 2 : 1);
        *off = next;
        if (line[0] == '|') {
            scan skip = {.p = b->p, .len = b->end, .max = SIZE_MAX};
            for (size_t i = 0; i < items; i++) scan_one(&skip, off, depth + 1);
            build_one(b, off, r, depth + 1);
            return;
        }
        r->type = (tc_rc_type)line[0];
        r->n = items;
        if (items) {
            r->elem = b->nodes;
            b->nodes += items;
        }
        for (size_t i = 0; i < items; i++) build_one(b, off, &r->elem[i], depth + 1);
        return;
    }
    }
    *off = next;
}

/* ---- receiving: the buffer ------------------------------------------------ */

/* Reads what the socket has (waiting until the deadline for something),
 * after making room for c->in_need bytes at in_pos. */
static int fill(tc_rc *c, int64_t deadline)
{
    size_t have = c->in_len - c->in_pos;
    size_t want = c->in_need > have ? c->in_need : have + 1;
    if (c->in_pos + want > c->in_cap) {
        if (c->in_pos > 0) {
            memmove(c->in, c->in + c->in_pos, have);
            c->in_len = have;
            c->in_pos = 0;
        }
        if (want > c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap : IN_FIRST;
            while (cap < want) cap *= 2;
            char *in = realloc(c->in, cap);
            if (!in) return broken(c, ENOMEM, "out of memory");
            c->in = in;
            c->in_cap = cap;
        }
    }
    while (c->ssl) {
        short want = 0;
        ssize_t n = tc__rc_tls_read(c, c->in + c->in_len, c->in_cap - c->in_len, &want);
        if (n > 0) {
            c->in_len += (size_t)n;
            return 0;
        }
        int w = n < 0 ? (int)n : want ? tc__rc_wait_fd(c->fd, want, deadline) : 1;
        if (w > 0) continue;
        if (w == 0) return broken(c, ETIMEDOUT, "no reply within %d ms", c->timeout_ms);
        char why[sizeof c->err];
        snprintf(why, sizeof why, "%s", c->err);
        return broken(c, -w, "%s", why);
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            return 0;
        }
        if (n == 0) return broken(c, ECONNRESET, "the server closed the connection");
        int e = errno;
        if (e == EINTR) continue;
        if (e != EAGAIN && e != EWOULDBLOCK) return broken(c, e, "receive: %s", strerror(e));
        int w = tc__rc_wait_fd(c->fd, POLLIN, deadline);
        if (w == 0) return broken(c, ETIMEDOUT, "no reply within %d ms", c->timeout_ms);
        if (w < 0) return broken(c, -w, "receive: %s", strerror(-w));
    }
}

/* Waits until one whole reply is buffered at in_pos: its length and sizes. */
static int next_reply(tc_rc *c, int64_t deadline, scan *out)
{
    if (c->fd < 0) return seterr(c, ENOTCONN, "not connected");
    for (;;) {
        size_t have = c->in_len - c->in_pos;
        if (have > 0 && have >= c->in_need) {
            scan s = {.p = c->in + c->in_pos, .len = have, .max = c->max_reply};
            size_t end = 0;
            int rc = scan_one(&s, &end, 0);
            if (rc == S_BAD) return broken(c, EPROTO, "protocol error: %s", s.why);
            if (rc == S_BIG || (rc == S_MORE && s.need > c->max_reply) || (rc == S_OK && end > c->max_reply))
                return broken(c, EMSGSIZE, "reply larger than %zu bytes", c->max_reply);
            if (rc == S_OK) {
                c->in_need = 0;
                s.end = end;
                *out = s;
                return 0;
            }
            c->in_need = s.need;
        }
        int rc = fill(c, deadline);
        if (rc) return rc;
    }
}

static void consume(tc_rc *c, size_t n)
{
    c->in_pos += n;
    if (c->in_pos == c->in_len) c->in_pos = c->in_len = 0;
}

static int read_reply(tc_rc *c, tc_rc_reply *out, int64_t deadline)
{
    memset(out, 0, sizeof *out);
    scan s;
    int rc = next_reply(c, deadline, &s);
    if (rc) return rc;
    size_t size = s.nodes * sizeof(tc_rc_reply) + s.bytes;
    void *mem = NULL;
    if (size > 0 && (mem = malloc(size)) == NULL) return broken(c, ENOMEM, "out of memory");
    build b = {.p = c->in + c->in_pos, .end = s.end, .nodes = mem, .str = (char *)mem + s.nodes * sizeof(tc_rc_reply)};
    size_t off = 0;
    build_one(&b, &off, out, 0);
    out->mem = mem;
    consume(c, s.end);
    return 0;
}

int tc_rc_read(tc_rc *c, tc_rc_reply *out) { return read_reply(c, out, tc__rc_now_ms() + c->timeout_ms); }

int tc_rc_command(tc_rc *c, tc_rc_reply *out, int argc, const char *const *argv, const size_t *lens)
{
    memset(out, 0, sizeof *out);
    int64_t deadline = tc__rc_now_ms() + c->timeout_ms;
    int rc = send_command(c, argc, argv, lens, deadline);
    return rc ? rc : read_reply(c, out, deadline);
}

int tc_rc_read_raw(tc_rc *c, char **raw, size_t *len)
{
    *raw = NULL;
    *len = 0;
    scan s;
    int rc = next_reply(c, tc__rc_now_ms() + c->timeout_ms, &s);
    if (rc) return rc;
    char *o = malloc(s.end + 1);
    if (!o) return broken(c, ENOMEM, "out of memory");
    memcpy(o, c->in + c->in_pos, s.end);
    o[s.end] = '\0';
    consume(c, s.end);
    *raw = o;
    *len = s.end;
    return 0;
}

void tc_rc_reply_free(tc_rc_reply *r)
{
    free(r->mem);
    memset(r, 0, sizeof *r);
}

int tc_rc_reply_is_error(const tc_rc_reply *r, const char *code)
{
    size_t n = strlen(code);
    return r->type == TC_RC_ERROR && r->str && strncmp(r->str, code, n) == 0 && (r->str[n] == ' ' || r->str[n] == '\0');
}
