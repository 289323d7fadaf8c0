/* TLS for client connections: OpenSSL 3 over the same libuv TCP stream as
 * plain connections (conn.h), through a pair of memory BIOs. Ciphertext
 * read from the socket goes into the SSL object; the plaintext it yields
 * goes into the buffer the owner's on_alloc hands out. What the owner
 * writes is encrypted and sent as ciphertext. The owner sees the same
 * tc_conn_type as for plain TCP.
 *
 * A node's TLS settings (tls_* in node/config.h) become one tc_tls: the
 * SSL_CTX new connections use. Reloading builds a new SSL_CTX and swaps it
 * in only if it loaded; connections already open keep the one they began
 * with (an SSL object holds a reference to its context). */
#ifndef TC_CONN_TLS_H
#define TC_CONN_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"

typedef struct tc_tls tc_tls;
typedef struct tc_tls_ctx tc_tls_ctx; /* a built context, not yet in use */

/* Builds a context from the tls_* settings. NULL with err naming the file
 * or setting and OpenSSL's reason. */
tc_tls_ctx *tc_tls_ctx_build(const tc_config *cfg, char *err, size_t errlen);
void tc_tls_ctx_free(tc_tls_ctx *x);

/* A node's TLS, starting with ctx (taken over). */
tc_tls *tc_tls_new(tc_tls_ctx *ctx);
void tc_tls_free(tc_tls *t);
/* Future connections use ctx (taken over); open ones keep theirs. */
void tc_tls_install(tc_tls *t, tc_tls_ctx *ctx);
/* Builds from cfg and installs it; else err and the old one stays. */
int tc_tls_reload(tc_tls *t, const tc_config *cfg, char *err, size_t errlen);
/* 1 if a and b differ in any tls_* setting (a reload is due). */
int tc_tls_settings_differ(const tc_config *a, const tc_config *b);

/* Counters for INFO and tests. */
uint64_t tc_tls_handshake_failures(const tc_tls *t);
uint64_t tc_tls_reloads(const tc_tls *t);

/* Prepares c as a TLS connection of t (then tc_conn_accept etc. as for
 * plain TCP). -1 out of memory, with c untouched. */
int tc_conn_tls_init(tc_conn *c, tc_tls *t, uv_loop_t *loop, void *data, tc_conn_alloc_cb on_alloc,
                     tc_conn_read_cb on_read, tc_conn_write_cb on_written, tc_conn_close_cb on_closed);

extern const tc_conn_type tc_conn_tls;

#endif
