#include "resp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int rc_connect(rc_conn *c, const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) goto fail;
    struct pollfd p = {fd, POLLOUT, 0};
    if (rc != 0) {
        if (poll(&p, 1, timeout_ms) != 1) {
            errno = ETIMEDOUT;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            errno = soerr;
            goto fail;
        }
    }
    c->fd = fd;
    return 0;
fail:
    snprintf(err, errlen, "%s:%d: %s", host, port, strerror(errno));
    close(fd);
    return -1;
}

void rc_close(rc_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static int fill(rc_conn *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof c->buf) return -1;
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, c->timeout_ms) != 1) {
        errno = ETIMEDOUT;
        return -1;
    }
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n <= 0) {
        if (n == 0) errno = ECONNRESET;
        return -1;
    }
    c->len += (size_t)n;
    return 0;
}

static char *line(rc_conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl && nl > c->buf + c->pos && nl[-1] == '\r') {
            nl[-1] = '\0';
            char *start = c->buf + c->pos;
            c->pos = (size_t)(nl - c->buf) + 1;
            return start;
        }
        if (fill(c) != 0) return NULL;
    }
}

static int read_reply(rc_conn *c, rc_reply *r, int depth)
{
    memset(r, 0, sizeof *r);
    if (depth > 8) return -1;
    char *l = line(c);
    if (!l) return -1;
    r->type = l[0];
    switch (l[0]) {
    case '+':
    case '-':
        r->str = strdup(l + 1);
        r->len = strlen(r->str);
        return r->str ? 0 : -1;
    case ':':
        r->integer = atoll(l + 1);
        return 0;
    case '$': {
        long long n = atoll(l + 1);
        if (n < 0) {
            r->type = '_';
            return 0;
        }
        r->str = malloc((size_t)n + 1);
        if (!r->str) return -1;
        size_t got = 0;
        while (got < (size_t)n + 2) {
            if (c->pos == c->len && fill(c) != 0) return -1;
            size_t take = c->len - c->pos;
            if (take > (size_t)n + 2 - got) take = (size_t)n + 2 - got;
            size_t data = got < (size_t)n ? ((size_t)n - got < take ? (size_t)n - got : take) : 0;
            memcpy(r->str + got, c->buf + c->pos, data);
            got += take;
            c->pos += take;
        }
        r->str[n] = '\0';
        r->len = (size_t)n;
        return 0;
    }
    case '*': {
        long long n = atoll(l + 1);
        if (n < 0) {
            r->type = '_';
            return 0;
        }
        r->elems = calloc((size_t)n ? (size_t)n : 1, sizeof *r->elems);
        if (!r->elems) return -1;
        r->n = (size_t)n;
        for (size_t i = 0; i < r->n; i++)
            if (read_reply(c, &r->elems[i], depth + 1) != 0) return -1;
        return 0;
    }
    }
    return -1;
}

int rc_command(rc_conn *c, rc_reply *out, char *err, size_t errlen, int argc, const char **argv)
{
    char head[64];
    int n = snprintf(head, sizeof head, "*%d\r\n", argc);
    size_t cap = (size_t)n, len = 0;
    for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 32;
    char *msg = malloc(cap);
    if (!msg) return -1;
    memcpy(msg, head, (size_t)n);
    len = (size_t)n;
    for (int i = 0; i < argc; i++) len += (size_t)sprintf(msg + len, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(c->fd, msg + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {c->fd, POLLOUT, 0};
            if (poll(&p, 1, c->timeout_ms) == 1) continue;
            errno = ETIMEDOUT;
        }
        if (w <= 0) {
            free(msg);
            snprintf(err, errlen, "send: %s", strerror(errno));
            return -1;
        }
        off += (size_t)w;
    }
    free(msg);
    if (read_reply(c, out, 0) != 0) {
        rc_reply_free(out);
        snprintf(err, errlen, "no reply: %s", strerror(errno ? errno : EPROTO));
        return -1;
    }
    return 0;
}

void rc_reply_free(rc_reply *r)
{
    for (size_t i = 0; i < r->n; i++) rc_reply_free(&r->elems[i]);
    free(r->elems);
    free(r->str);
    memset(r, 0, sizeof *r);
}
