/* A tiny blocking RESP2 client: one command at a time, a deadline for the
 * whole call, and the connection closed whenever the outcome is unclear so
 * a late reply is never taken for the next command's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

#define MAX_DEPTH 4
#define MAX_BULK (16 << 20)

void jl_rc_init(jl_rclient *c) {
    c->fd = -1;
    c->r = c->w = 0;
}

void jl_rc_close(jl_rclient *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->r = c->w = 0;
}

static int ms_left(int64_t deadline) {
    int64_t left = (deadline - jl_now_ns()) / 1000000;
    return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline) {
    for (;;) {
        struct pollfd p = {.fd = fd, .events = ev};
        int ms = ms_left(deadline);
        int n = poll(&p, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        return n == 0 ? 0 : 1;
    }
}

int jl_rc_connect(jl_rclient *c, const char *host, int port, int timeout_ms) {
    jl_rc_close(c);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int64_t deadline = jl_now_ns() + (int64_t)timeout_ms * 1000000;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 1) {
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            close(fd);
            return -1;
        }
    }
    c->fd = fd;
    c->r = c->w = 0;
    return 0;
}

/* Makes sure at least one unread byte is buffered: 0, or JL_RC_* on failure. */
static int fill(jl_rclient *c, int64_t deadline) {
    if (c->r < c->w)
        return 0;
    c->r = c->w = 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (n > 0) {
            c->w = (size_t)n;
            return 0;
        }
        if (n == 0)
            return JL_RC_LOST;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return JL_RC_LOST;
        int w = wait_fd(c->fd, POLLIN, deadline);
        if (w == 0)
            return JL_RC_TIMEOUT;
        if (w < 0)
            return JL_RC_LOST;
    }
}

/* Reads one line (without CRLF) into a malloc'd string. */
static int read_line(jl_rclient *c, int64_t deadline, char **out, size_t *len) {
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    if (!s)
        return JL_RC_LOST;
    for (;;) {
        int rc = fill(c, deadline);
        if (rc != 0) {
            free(s);
            return rc;
        }
        char ch = c->buf[c->r++];
        if (ch == '\n' && n > 0 && s[n - 1] == '\r') {
            s[n - 1] = '\0';
            *out = s;
            *len = n - 1;
            return 0;
        }
        if (n + 2 > cap) {
            if (cap > MAX_BULK) {
                free(s);
                return JL_RC_LOST;
            }
            char *t = realloc(s, cap *= 2);
            if (!t) {
                free(s);
                return JL_RC_LOST;
            }
            s = t;
        }
        s[n++] = ch;
    }
}

static int read_exact(jl_rclient *c, int64_t deadline, char *dst, size_t len) {
    while (len > 0) {
        int rc = fill(c, deadline);
        if (rc != 0)
            return rc;
        size_t k = c->w - c->r < len ? c->w - c->r : len;
        memcpy(dst, c->buf + c->r, k);
        c->r += k;
        dst += k;
        len -= k;
    }
    return 0;
}

static int read_reply(jl_rclient *c, int64_t deadline, jl_reply *out, int depth) {
    memset(out, 0, sizeof *out);
    char *line;
    size_t len;
    int rc = read_line(c, deadline, &line, &len);
    if (rc != 0)
        return rc;
    char kind = line[0];
    char *end;
    long long v = len > 1 ? strtoll(line + 1, &end, 10) : 0;
    switch (kind) {
    case '+':
    case '-':
        out->type = kind == '+' ? JL_R_STATUS : JL_R_ERROR;
        memmove(line, line + 1, len);
        out->s = line;
        out->len = len - 1;
        return 0;
    case ':':
        out->type = JL_R_INT;
        out->i = v;
        free(line);
        return 0;
    case '$':
        free(line);
        if (v < 0) {
            out->type = JL_R_NIL;
            return 0;
        }
        if (v > MAX_BULK)
            return JL_RC_LOST;
        out->type = JL_R_BULK;
        out->s = malloc((size_t)v + 2);
        if (!out->s)
            return JL_RC_LOST;
        out->len = (size_t)v;
        if ((rc = read_exact(c, deadline, out->s, (size_t)v + 2)) != 0)
            return rc;
        out->s[v] = '\0';
        return 0;
    case '*':
        free(line);
        if (v < 0) {
            out->type = JL_R_NIL;
            return 0;
        }
        if (depth >= MAX_DEPTH || v > 10000000)
            return JL_RC_LOST;
        out->type = JL_R_ARRAY;
        out->elem = calloc(v ? (size_t)v : 1, sizeof *out->elem);
        if (!out->elem)
            return JL_RC_LOST;
        for (long long i = 0; i < v; i++) {
            out->n++;
            if ((rc = read_reply(c, deadline, &out->elem[i], depth + 1)) != 0)
                return rc;
        }
        return 0;
    default:
        free(line);
        return JL_RC_LOST; /* not RESP2: give up on this connection */
    }
}

void jl_reply_free(jl_reply *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        jl_reply_free(&r->elem[i]);
    free(r->elem);
    free(r->s);
    memset(r, 0, sizeof *r);
}

static int send_all(jl_rclient *c, const char *p, size_t len, int64_t deadline, size_t *sent) {
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            *sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->fd, POLLOUT, deadline) == 1)
                continue;
            return JL_RC_TIMEOUT;
        }
        return JL_RC_LOST;
    }
    return 0;
}

int jl_rc_call(jl_rclient *c, int timeout_ms, jl_reply *out, int argc, const char *const argv[]) {
    memset(out, 0, sizeof *out);
    if (c->fd < 0)
        return JL_RC_NOTSENT;
    size_t cap = 32, len = 0;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 32;
    char *req = malloc(cap);
    if (!req)
        return JL_RC_NOTSENT;
    len += (size_t)snprintf(req, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t al = strlen(argv[i]);
        len += (size_t)snprintf(req + len, cap - len, "$%zu\r\n", al);
        memcpy(req + len, argv[i], al);
        len += al;
        req[len++] = '\r';
        req[len++] = '\n';
    }
    int64_t deadline = jl_now_ns() + (int64_t)timeout_ms * 1000000;
    size_t sent = 0;
    int rc = send_all(c, req, len, deadline, &sent);
    free(req);
    if (rc == 0)
        rc = read_reply(c, deadline, out, 0);
    if (rc != 0) {
        jl_reply_free(out);
        jl_rc_close(c);
        if (sent == 0)
            return JL_RC_NOTSENT;
    }
    return rc;
}
