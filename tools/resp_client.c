#include "resp_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 16

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *cause(int e)
{
    /* a connect() that ran into SO_SNDTIMEO reports EINPROGRESS */
    if (e == EINPROGRESS || e == EAGAIN || e == ETIMEDOUT) return "timed out";
    return strerror(e);
}

static int set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (suseconds_t)(timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return -errno;
    return 0;
}

int ctl_conn_open(ctl_conn *c, const char *host, int port, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : CTL_DEFAULT_TIMEOUT_MS;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(c->err, sizeof c->err, "%s:%d: cannot resolve the host: %s", host, port, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (set_timeouts(fd, c->timeout_ms) != 0) {
            last = errno;
            close(fd);
            continue;
        }
        while ((rc = connect(fd, ai->ai_addr, ai->ai_addrlen)) != 0 && errno == EINTR) {
        }
        if (rc == 0) {
            c->fd = fd;
            break;
        }
        last = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "%s:%d: %s", host, port, cause(last));
        return last == EINPROGRESS ? -ETIMEDOUT : -last;
    }
    return 0;
}

int ctl_conn_set_timeout(ctl_conn *c, int timeout_ms)
{
    if (c->fd < 0) return -ENOTCONN;
    int rc = set_timeouts(c->fd, timeout_ms);
    if (rc == 0) c->timeout_ms = timeout_ms;
    return rc;
}

void ctl_conn_close(ctl_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->pos = c->len = c->cap = 0;
}

void ctl_reply_free(ctl_reply *r)
{
    for (size_t i = 0; i < r->n; i++) ctl_reply_free(&r->elem[i]);
    free(r->elem);
    free(r->str);
    memset(r, 0, sizeof *r);
}

int ctl_reply_is_error(const ctl_reply *r, const char *code)
{
    size_t n = strlen(code);
    return r->type == '-' && r->str && strncmp(r->str, code, n) == 0 && (r->str[n] == ' ' || r->str[n] == '\0');
}

/* ---- receiving ----------------------------------------------------------- */

/* Reads more bytes into the buffer; 0, or a negative errno after writing
 * c->err. `deadline` bounds the whole reply, SO_RCVTIMEO each recv. */
static int fill(ctl_conn *c, long long deadline)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == c->cap) {
        if (c->cap >= CTL_MAX_REPLY_BYTES) {
            snprintf(c->err, sizeof c->err, "reply larger than %u bytes", CTL_MAX_REPLY_BYTES);
            return -EMSGSIZE;
        }
        size_t cap = c->cap ? c->cap * 2 : 16384;
        char *b = realloc(c->buf, cap);
        if (!b) {
            snprintf(c->err, sizeof c->err, "out of memory");
            return -ENOMEM;
        }
        c->buf = b;
        c->cap = cap;
    }
    for (;;) {
        if (now_ms() > deadline) {
            snprintf(c->err, sizeof c->err, "no reply within %d ms", c->timeout_ms);
            return -ETIMEDOUT;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return 0;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            snprintf(c->err, sizeof c->err, "the node closed the connection");
            return -ECONNRESET;
        }
        int e = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
        if (e == ETIMEDOUT) snprintf(c->err, sizeof c->err, "no reply within %d ms", c->timeout_ms);
        else snprintf(c->err, sizeof c->err, "receive: %s", strerror(e));
        return -e;
    }
}

/* One CRLF-terminated line starting at c->pos: *line points into the buffer
 * (valid until the next fill), *len excludes the CRLF. */
static int read_line(ctl_conn *c, long long deadline, const char **line, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        const char *start = c->buf + c->pos;
        size_t avail = c->len - c->pos;
        for (size_t i = scanned; i + 1 < avail; i++) {
            if (start[i] == '\r' && start[i + 1] == '\n') {
                *line = start;
                *len = i;
                c->pos += i + 2;
                return 0;
            }
        }
        scanned = avail ? avail - 1 : 0;
        int rc = fill(c, deadline);
        if (rc != 0) return rc;
    }
}

static int need(ctl_conn *c, long long deadline, size_t n)
{
    while (c->len - c->pos < n) {
        int rc = fill(c, deadline);
        if (rc != 0) return rc;
    }
    return 0;
}

static int protocol_error(ctl_conn *c, const char *what)
{
    snprintf(c->err, sizeof c->err, "protocol error: %s", what);
    return -EPROTO;
}

static int parse_ll(const char *p, size_t len, long long *out)
{
    char tmp[32];
    if (len == 0 || len >= sizeof tmp) return -1;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(tmp, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

static int read_reply(ctl_conn *c, long long deadline, ctl_reply *r, int depth)
{
    memset(r, 0, sizeof *r);
    if (depth > MAX_DEPTH) return protocol_error(c, "replies nested too deeply");
    const char *line;
    size_t len;
    int rc = read_line(c, deadline, &line, &len);
    if (rc != 0) return rc;
    if (len == 0) return protocol_error(c, "empty line");
    r->type = line[0];
    long long n = 0;
    switch (line[0]) {
    case '+':
    case '-':
        r->str = strndup(line + 1, len - 1);
        if (!r->str) return -ENOMEM;
        r->len = len - 1;
        return 0;
    case ':':
        if (parse_ll(line + 1, len - 1, &r->integer) != 0) return protocol_error(c, "bad integer");
        return 0;
    case '_': /* RESP3 null */
        return 0;
    case '$':
    case '=': /* RESP3 verbatim string: "txt:" prefix included */
        if (parse_ll(line + 1, len - 1, &n) != 0) return protocol_error(c, "bad bulk length");
        if (n < 0) {
            r->type = '_';
            return 0;
        }
        if ((unsigned long long)n > CTL_MAX_REPLY_BYTES) return protocol_error(c, "bulk string too long");
        r->type = '$';
        if ((rc = need(c, deadline, (size_t)n + 2)) != 0) return rc;
        if (c->buf[c->pos + (size_t)n] != '\r' || c->buf[c->pos + (size_t)n + 1] != '\n')
            return protocol_error(c, "bulk string without CRLF");
        r->str = malloc((size_t)n + 1);
        if (!r->str) return -ENOMEM;
        memcpy(r->str, c->buf + c->pos, (size_t)n);
        r->str[n] = '\0';
        r->len = (size_t)n;
        c->pos += (size_t)n + 2;
        return 0;
    case '*':
        if (parse_ll(line + 1, len - 1, &n) != 0) return protocol_error(c, "bad array length");
        if (n < 0) {
            r->type = '_';
            return 0;
        }
        if (n > 1 << 20) return protocol_error(c, "array too long");
        r->elem = calloc(n ? (size_t)n : 1, sizeof *r->elem);
        if (!r->elem) return -ENOMEM;
        for (long long i = 0; i < n; i++) {
            r->n = (size_t)i + 1; /* so that ctl_reply_free sees what was read */
            if ((rc = read_reply(c, deadline, &r->elem[i], depth + 1)) != 0) return rc;
        }
        return 0;
    default:
        return protocol_error(c, "unknown reply type");
    }
}

/* ---- sending ------------------------------------------------------------- */

static int send_all(ctl_conn *c, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? errno : ETIMEDOUT;
            snprintf(c->err, sizeof c->err, "send: %s", cause(e));
            return -e;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int ctl_conn_command(ctl_conn *c, ctl_reply *out, int argc, const char *const *argv)
{
    memset(out, 0, sizeof *out);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "not connected");
        return -ENOTCONN;
    }
    size_t cap = 32;
    for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 32;
    char *msg = malloc(cap);
    if (!msg) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return -ENOMEM;
    }
    size_t len = (size_t)snprintf(msg, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t alen = strlen(argv[i]);
        len += (size_t)snprintf(msg + len, cap - len, "$%zu\r\n", alen);
        memcpy(msg + len, argv[i], alen);
        len += alen;
        msg[len++] = '\r';
        msg[len++] = '\n';
    }
    int rc = send_all(c, msg, len);
    free(msg);
    if (rc == 0) rc = read_reply(c, now_ms() + c->timeout_ms, out, 0);
    if (rc != 0) {
        ctl_reply_free(out);
        /* the rest of a half-read reply would be taken for the next one */
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
    }
    return rc;
}

int ctl_conn_send_raw(ctl_conn *c, const void *buf, size_t len)
{
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "not connected");
        return -ENOTCONN;
    }
    int rc = send_all(c, buf, len);
    if (rc != 0) {
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

int ctl_conn_read_reply(ctl_conn *c, ctl_reply *out)
{
    memset(out, 0, sizeof *out);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "not connected");
        return -ENOTCONN;
    }
    int rc = read_reply(c, now_ms() + c->timeout_ms, out, 0);
    if (rc != 0) {
        ctl_reply_free(out);
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}
