/* A small blocking RESP2 client with timeouts, for tricachectl. */
#ifndef TC_RESP_CLIENT_H
#define TC_RESP_CLIENT_H

#include <stddef.h>

typedef struct rc_reply {
    char type;              /* '+', '-', ':', '$', '*' ; '_' for a null */
    long long integer;
    char *str;              /* status, error or bulk text (NUL-terminated) */
    size_t len;
    struct rc_reply *elems; /* array */
    size_t n;
} rc_reply;

typedef struct rc_conn {
    int fd;
    char buf[65536];
    size_t len, pos;
    int timeout_ms;
} rc_conn;

/* Connects to host:port within timeout_ms; 0 or -1 (err says why). */
int rc_connect(rc_conn *c, const char *host, int port, int timeout_ms, char *err, size_t errlen);
void rc_close(rc_conn *c);
/* Sends argv as a command and reads one reply; 0 or -1 (I/O error or
 * timeout, err says which). */
int rc_command(rc_conn *c, rc_reply *out, char *err, size_t errlen, int argc, const char **argv);
void rc_reply_free(rc_reply *r);

#endif
