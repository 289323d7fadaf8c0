/* A small blocking RESP client for tricachectl.
 *
 * One TCP connection per ctl_conn. Every connect, send and receive is bounded
 * by the connection's timeout (SO_SNDTIMEO / SO_RCVTIMEO on a blocking socket,
 * plus a deadline per reply), so a stopped or partitioned node costs the
 * operator at most that long, never a hang.
 *
 * Functions return 0 or a negative errno value; the connection's `err` then
 * holds a sentence naming the node and the cause. */
#ifndef TC_TOOLS_RESP_CLIENT_H
#define TC_TOOLS_RESP_CLIENT_H

#include <stddef.h>

#define CTL_DEFAULT_TIMEOUT_MS 1000
/* Larger replies are refused: the tool only reads INFO and short answers. */
#define CTL_MAX_REPLY_BYTES (64u << 20)

typedef struct ctl_reply {
    char type;               /* '+' '-' ':' '$' '*' as on the wire; '_' for a null */
    long long integer;       /* ':' */
    char *str;               /* '+' '-' '$': the text, NUL-terminated */
    size_t len;
    struct ctl_reply *elem;  /* '*' */
    size_t n;
} ctl_reply;

typedef struct ctl_conn {
    int fd;                  /* -1 while closed */
    int timeout_ms;
    char *buf;               /* bytes received and not consumed yet: buf[pos..len) */
    size_t pos, len, cap;
    char err[320];
} ctl_conn;

/* Connects to host:port; 0 or a negative errno (-ETIMEDOUT, -ECONNREFUSED...).
 * c must be closed (or never opened): its fields are reset. */
int ctl_conn_open(ctl_conn *c, const char *host, int port, int timeout_ms);
/* Changes the timeout of an open connection (a command that waits, such as
 * MEMBERS ADD, needs longer than an INFO). 0 or a negative errno. */
int ctl_conn_set_timeout(ctl_conn *c, int timeout_ms);
/* Closes the socket (if open) and frees the buffer; err is kept, and the
 * struct may be opened again. */
void ctl_conn_close(ctl_conn *c);
/* Sends one command and reads its reply into *out (free it with
 * ctl_reply_free). An error reply is a success here: out->type is '-'.
 * On an I/O or protocol error the socket is closed, since its position in
 * the stream is unknown. */
int ctl_conn_command(ctl_conn *c, ctl_reply *out, int argc, const char *const *argv);
void ctl_reply_free(ctl_reply *r);
/* Pipelining: ctl_conn_send_raw writes bytes that are already RESP (a
 * command whose arguments may hold any bytes), ctl_conn_read_reply reads the
 * next reply; several commands may be in flight, their replies come back
 * in order. On an error the socket is closed, as with ctl_conn_command. */
int ctl_conn_send_raw(ctl_conn *c, const void *buf, size_t len);
int ctl_conn_read_reply(ctl_conn *c, ctl_reply *out);
/* 1 if r is an error reply whose first word is `code` ("READONLY", "MOVED"). */
int ctl_reply_is_error(const ctl_reply *r, const char *code);

#endif
