/* Plain TCP behind the connection table (conn.h). */
#include "conn.h"

#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

static tc_conn *conn_of(uv_handle_t *h) { return h->data; }

void tc_conn_init(tc_conn *c, const tc_conn_type *type, uv_loop_t *loop, void *data, tc_conn_alloc_cb on_alloc,
                  tc_conn_read_cb on_read, tc_conn_write_cb on_written, tc_conn_close_cb on_closed)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    c->data = data;
    c->on_alloc = on_alloc;
    c->on_read = on_read;
    c->on_written = on_written;
    c->on_closed = on_closed;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
}

void tc_conn_close(tc_conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    c->type->close(c);
}

/* ---- plain TCP ------------------------------------------------------------ */

static void tcp_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    tc_conn *c = conn_of(h);
    c->on_alloc(c, suggested, buf);
}

static void tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    tc_conn *c = conn_of((uv_handle_t *)s);
    if (nread == 0) return; /* EAGAIN: nothing to say */
    c->on_read(c, nread);
}

static void tcp_on_written(uv_write_t *req, int status)
{
    tc_conn *c = req->data;
    c->on_written(c, status);
}

static void tcp_on_closed(uv_handle_t *h)
{
    tc_conn *c = conn_of(h);
    c->on_closed(c);
}

static int tcp_accept(tc_conn *c, uv_stream_t *listener)
{
    int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
    /* replies are small and latency is the product: no Nagle */
    if (rc == 0) uv_tcp_nodelay(&c->tcp, 1);
    return rc;
}

static int tcp_read_start(tc_conn *c) { return uv_read_start((uv_stream_t *)&c->tcp, tcp_on_alloc, tcp_on_read); }

static void tcp_read_stop(tc_conn *c) { uv_read_stop((uv_stream_t *)&c->tcp); }

static int tcp_try_write(tc_conn *c, const char *p, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)p, len > UINT32_MAX ? UINT32_MAX : (unsigned)len);
    return uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

static int tcp_write(tc_conn *c, const char *p, size_t len)
{
    if (len > UINT32_MAX) return UV_E2BIG; /* uv_buf_t's length; output buffers stay far below */
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    c->write_req.data = c;
    return uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, tcp_on_written);
}

static void tcp_close(tc_conn *c) { uv_close((uv_handle_t *)&c->tcp, tcp_on_closed); }

static void tcp_peer_name(tc_conn *c, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &n) == 0) tc_conn_format_addr(&ss, out, len);
    else snprintf(out, len, "?:0");
}

static void tcp_local_name(tc_conn *c, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &n) == 0) tc_conn_format_addr(&ss, out, len);
    else snprintf(out, len, "?:0");
}

static int tcp_fd(tc_conn *c)
{
    uv_os_fd_t fd = -1;
    return uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? (int)fd : -1;
}

static size_t tcp_read_now(tc_conn *c, char *buf, size_t len)
{
    int fd = tcp_fd(c);
    ssize_t n = fd < 0 ? -1 : recv(fd, buf, len, MSG_DONTWAIT);
    return n > 0 ? (size_t)n : 0;
}

const tc_conn_type tc_conn_tcp = {
    .name = "tcp",
    .accept = tcp_accept,
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .try_write = tcp_try_write,
    .write = tcp_write,
    .close = tcp_close,
    .peer_name = tcp_peer_name,
    .local_name = tcp_local_name,
    .fd = tcp_fd,
    .read_now = tcp_read_now,
};

/* ---- listening ------------------------------------------------------------- */

void tc_conn_format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(out, len, "%s:%d", ip, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(out, len, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, len, "?:0");
    }
}

int tc_conn_listen(uv_tcp_t *listener, uv_loop_t *loop, const char *host, int port, int backlog,
                   uv_connection_cb on_connection, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve client address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    struct sockaddr_storage addr;
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);

    uv_tcp_init(loop, listener);
    rc = uv_tcp_bind(listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)listener, backlog, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)listener, NULL);
        return -1;
    }
    return 0;
}
