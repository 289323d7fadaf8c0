/* Client connections' transport. The server reads and writes a client's
 * bytes through a tc_conn and never touches a socket: plain TCP is one
 * tc_conn_type, and TLS (conn_tls.h) is another: it decrypts into the
 * buffer on_alloc hands out and encrypts what try_write/write get.
 *
 * Lifecycle, as libuv's handles: tc_conn_accept, then reads and writes,
 * then tc_conn_close; the owner frees its memory in the close callback. */
#ifndef TC_CONN_H
#define TC_CONN_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

typedef struct tc_conn tc_conn;

/* Where the next bytes go (buf len 0: no memory, the read fails). */
typedef void (*tc_conn_alloc_cb)(tc_conn *c, size_t suggested, uv_buf_t *buf);
/* nread bytes arrived in the last buffer; < 0: EOF or an error (UV_EOF...). */
typedef void (*tc_conn_read_cb)(tc_conn *c, ssize_t nread);
/* The write started by tc_conn_write finished (0 or a negative error). */
typedef void (*tc_conn_write_cb)(tc_conn *c, int status);
typedef void (*tc_conn_close_cb)(tc_conn *c);

typedef struct tc_conn_type {
    const char *name; /* "tcp" */
    int (*accept)(tc_conn *c, uv_stream_t *listener);
    int (*read_start)(tc_conn *c);
    void (*read_stop)(tc_conn *c);
    /* Sends what can go without waiting: bytes taken, or a negative error
     * (UV_EAGAIN: nothing could). */
    int (*try_write)(tc_conn *c, const char *p, size_t len);
    /* Sends len bytes in the background; p must stay valid and unchanged
     * until on_written. One write at a time. 0 or a negative error. */
    int (*write)(tc_conn *c, const char *p, size_t len);
    void (*close)(tc_conn *c);
    /* "ip:port" of either end; "?:0" when unknown. */
    void (*peer_name)(tc_conn *c, char *out, size_t len);
    void (*local_name)(tc_conn *c, char *out, size_t len);
    int (*fd)(tc_conn *c); /* -1 if none (CLIENT LIST's fd=) */
    /* Reads what has arrived, now, without the loop (a busy script serves
     * other clients from inside its hook): bytes put in buf, or 0 when none
     * is there or the connection cannot be read that way. EOF and errors
     * are left for the loop to see. */
    size_t (*read_now)(tc_conn *c, char *buf, size_t len);
} tc_conn_type;

struct tc_conn {
    const tc_conn_type *type;
    void *data;                 /* the owner's */
    tc_conn_alloc_cb on_alloc;
    tc_conn_read_cb on_read;
    tc_conn_write_cb on_written;
    tc_conn_close_cb on_closed;
    int closing;
    /* plain TCP */
    uv_tcp_t tcp;
    uv_write_t write_req;
    void *tls;                  /* TLS's own state (conn_tls.c); NULL for plain TCP */
};

/* Plain TCP connections. */
extern const tc_conn_type tc_conn_tcp;

/* Prepares c on loop for type; the callbacks are the owner's. */
void tc_conn_init(tc_conn *c, const tc_conn_type *type, uv_loop_t *loop, void *data, tc_conn_alloc_cb on_alloc,
                  tc_conn_read_cb on_read, tc_conn_write_cb on_written, tc_conn_close_cb on_closed);

static inline int tc_conn_accept(tc_conn *c, uv_stream_t *listener) { return c->type->accept(c, listener); }
static inline int tc_conn_read_start(tc_conn *c) { return c->type->read_start(c); }
static inline void tc_conn_read_stop(tc_conn *c) { c->type->read_stop(c); }
static inline int tc_conn_try_write(tc_conn *c, const char *p, size_t len) { return c->type->try_write(c, p, len); }
static inline int tc_conn_write(tc_conn *c, const char *p, size_t len) { return c->type->write(c, p, len); }
static inline void tc_conn_peer_name(tc_conn *c, char *out, size_t len) { c->type->peer_name(c, out, len); }
static inline void tc_conn_local_name(tc_conn *c, char *out, size_t len) { c->type->local_name(c, out, len); }
static inline int tc_conn_fd(tc_conn *c) { return c->type->fd(c); }
static inline size_t tc_conn_read_now(tc_conn *c, char *buf, size_t len) { return c->type->read_now(c, buf, len); }
/* Closes once; on_closed follows from the loop. */
void tc_conn_close(tc_conn *c);

/* A listening TCP socket for clients: binds host:port (resolved, IPv4 or
 * IPv6) on loop. 0, or -1 with err saying why (nothing left open). */
int tc_conn_listen(uv_tcp_t *listener, uv_loop_t *loop, const char *host, int port, int backlog,
                   uv_connection_cb on_connection, char *err, size_t errlen);

/* "ip:port" ("[ip]:port" for IPv6) of a socket address. */
void tc_conn_format_addr(const struct sockaddr_storage *ss, char *out, size_t len);

#endif
