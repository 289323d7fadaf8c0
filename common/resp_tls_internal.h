/* Between resp_client.c and resp_tls.c only: the TLS side of a tc_rc's
 * I/O. Each read or write returns the bytes moved (> 0), 0 with *want set
 * to POLLIN or POLLOUT (0: retry at once) when it must wait first, or a
 * negative errno with c->err set. */
#ifndef TC_RESP_TLS_INTERNAL_H
#define TC_RESP_TLS_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "common.h"

ssize_t tc__rc_tls_read(tc_rc *c, void *buf, size_t len, short *want);
ssize_t tc__rc_tls_write(tc_rc *c, const void *buf, size_t len, short *want);
/* Frees the TLS state (the descriptor is the caller's to close). */
void tc__rc_tls_close(tc_rc *c);

/* resp_client.c's clock and wait, for the handshake's deadline. */
int64_t tc__rc_now_ms(void);
int tc__rc_wait_fd(int fd, short ev, int64_t deadline);

#endif
