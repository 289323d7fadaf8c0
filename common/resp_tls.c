/* TLS for the blocking RESP client (see common.h, tc_rc_connect_tls).
 *
 * The socket is made non-blocking once TLS is on: SSL_read and SSL_write
 * work on the descriptor itself, and a handshake or a renegotiation may
 * need to write while the client wants to read (and the other way round),
 * so each call says which way it must wait and resp_client.c's loops wait
 * in poll() on the same deadlines as for plain connections.
 *
 * OpenSSL writes to the socket with write(), which raises SIGPIPE when the
 * server has gone; the plain client uses send(MSG_NOSIGNAL). So every SSL
 * call here runs with SIGPIPE blocked in the calling thread, and a SIGPIPE
 * it caused is taken back before the mask is restored: a tool or a thread
 * that never asked for SIGPIPE handling is not killed by a closed
 * connection. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "resp_tls_internal.h"

struct tc_rc_tls {
    SSL_CTX *ctx;
};

/* OpenSSL's reason for the last failure, or fallback. */
static const char *ossl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

tc_rc_tls *tc_rc_tls_new(const char *ca_file, const char *ca_dir, const char *cert_file, const char *key_file,
                         char *err, size_t errlen)
{
    ERR_clear_error();
    tc_rc_tls *t = calloc(1, sizeof *t);
    if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method()))) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ossl_reason("out of memory"));
        free(t);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    int have_ca = (ca_file && *ca_file) || (ca_dir && *ca_dir);
    if (have_ca) {
        if (SSL_CTX_load_verify_locations(t->ctx, ca_file && *ca_file ? ca_file : NULL,
                                          ca_dir && *ca_dir ? ca_dir : NULL) != 1) {
            snprintf(err, errlen, "cannot load the CA certificates %s%s%s: %s", ca_file && *ca_file ? ca_file : "",
                     ca_file && *ca_file && ca_dir && *ca_dir ? " / " : "", ca_dir && *ca_dir ? ca_dir : "",
                     ossl_reason("unreadable"));
            tc_rc_tls_free(t);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        snprintf(err, errlen, "cannot load the system's CA certificates: %s", ossl_reason("unreadable"));
        tc_rc_tls_free(t);
        return NULL;
    }
    int have_cert = cert_file && *cert_file, have_key = key_file && *key_file;
    if (have_cert != have_key) {
        snprintf(err, errlen, "a client certificate needs both a certificate file and a key file");
        tc_rc_tls_free(t);
        return NULL;
    }
    if (have_cert) {
        if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
            snprintf(err, errlen, "cannot load the client certificate %s: %s", cert_file, ossl_reason("unreadable"));
            tc_rc_tls_free(t);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            snprintf(err, errlen, "cannot use the client key %s: %s", key_file, ossl_reason("unreadable"));
            tc_rc_tls_free(t);
            return NULL;
        }
    }
    return t;
}

void tc_rc_tls_free(tc_rc_tls *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx);
    free(t);
}

typedef struct nopipe {
    sigset_t old;
    int was_pending; /* a SIGPIPE from elsewhere was already pending: leave it */
} nopipe;

static void nopipe_begin(nopipe *np)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &np->old);
    np->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

static void nopipe_end(nopipe *np)
{
    if (!np->was_pending) {
        sigset_t pipe, pending;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        struct timespec zero = {0, 0};
        int e = errno;
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) sigtimedwait(&pipe, NULL, &zero);
        errno = e;
    }
    pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

/* What an SSL call's failure means here: 0 with *want set (wait, then call
 * again), or a negative errno with c->err set. */
static int classify(tc_rc *c, int ret, const char *what, short *want)
{
    SSL *ssl = c->ssl;
    int e = SSL_get_error(ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ: *want = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: *want = POLLOUT; return 0;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(c->err, sizeof c->err, "the server closed the TLS connection");
        return -ECONNRESET;
    case SSL_ERROR_SYSCALL:
        if (errno == EINTR) {
            *want = 0;
            return 0;
        }
        snprintf(c->err, sizeof c->err, "TLS %s: %s", what, errno ? strerror(errno) : "the server closed the connection");
        return errno ? -errno : -ECONNRESET;
    default: {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            snprintf(c->err, sizeof c->err, "TLS %s: the server's certificate is refused: %s", what,
                     X509_verify_cert_error_string(v));
        else
            snprintf(c->err, sizeof c->err, "TLS %s: %s", what, ossl_reason("protocol error"));
        return -EPROTO;
    }
    }
}

ssize_t tc__rc_tls_read(tc_rc *c, void *buf, size_t len, short *want)
{
    ERR_clear_error();
    nopipe np;
    nopipe_begin(&np);
    int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    ssize_t rc = n > 0 ? n : classify(c, n, "receive", want);
    nopipe_end(&np);
    return rc;
}

ssize_t tc__rc_tls_write(tc_rc *c, const void *buf, size_t len, short *want)
{
    ERR_clear_error();
    nopipe np;
    nopipe_begin(&np);
    int n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    ssize_t rc = n > 0 ? n : classify(c, n, "send", want);
    nopipe_end(&np);
    return rc;
}

void tc__rc_tls_close(tc_rc *c)
{
    if (!c->ssl) return;
    /* close_notify if it goes out at once; never wait for the server's */
    ERR_clear_error();
    nopipe np;
    nopipe_begin(&np);
    SSL_shutdown(c->ssl);
    nopipe_end(&np);
    SSL_free(c->ssl);
    c->ssl = NULL;
}

int tc_rc_connect_tls(tc_rc *c, const char *host, int port, int timeout_ms, const tc_rc_tls *tls)
{
    int64_t deadline = tc__rc_now_ms() + (timeout_ms > 0 ? timeout_ms : TC_RC_DEFAULT_TIMEOUT_MS);
    int rc = tc_rc_connect(c, host, port, timeout_ms);
    if (rc != 0 || !tls) return rc;
    int fl = fcntl(c->fd, F_GETFL);
    ERR_clear_error();
    SSL *ssl = fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0 ? NULL : SSL_new(tls->ctx);
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        snprintf(c->err, sizeof c->err, "%s: cannot start TLS: %s", c->peer, ossl_reason(strerror(errno)));
        tc_rc_close(c);
        return -ENOMEM;
    }
    /* SNI for servers that pick a certificate by name (never for an address) */
    struct in6_addr a;
    if (inet_pton(AF_INET, host, &a) != 1 && inet_pton(AF_INET6, host, &a) != 1) SSL_set_tlsext_host_name(ssl, host);
    c->ssl = ssl;
    for (;;) {
        ERR_clear_error();
        nopipe np;
        nopipe_begin(&np);
        int r = SSL_connect(ssl);
        short want = 0;
        int e = r == 1 ? 0 : classify(c, r, "handshake", &want);
        nopipe_end(&np);
        if (r == 1) return 0;
        char why[sizeof c->err];
        if (e == 0) {
            int w = want ? tc__rc_wait_fd(c->fd, want, deadline) : 1;
            if (w > 0) continue;
            e = w == 0 ? -ETIMEDOUT : w;
            snprintf(c->err, sizeof c->err, "TLS handshake: %s", w == 0 ? "timed out" : strerror(-w));
        }
        snprintf(why, sizeof why, "%s", c->err);
        tc_rc_close(c);
        snprintf(c->err, sizeof c->err, "%.95s: %.200s", c->peer, why);
        return e;
    }
}
