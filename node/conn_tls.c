/* TLS connections over libuv with OpenSSL memory BIOs (conn_tls.h).
 *
 * Reading: the socket's ciphertext goes into rbio; SSL_do_handshake until
 * the handshake is done, then SSL_read into the owner's buffer. Whatever
 * OpenSSL wants to send back (handshake messages, tickets, alerts) lands in
 * wbio and is flushed to the socket after each call.
 *
 * Writing: at most one chunk of plaintext is encrypted while no ciphertext
 * waits for the socket, so the ciphertext held here stays small and the
 * owner's output accounting (its own buffers) stays true. */
#include "conn_tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"

#define CIPHER_IN 17408     /* a TLS record and its header */
#define PLAIN_CHUNK 65536   /* plaintext encrypted per step of a write */
#define FAILURE_LOG_MS 1000 /* at most one handshake-failure line per second */
#define LINGER_MS 2000      /* a closing connection's last ciphertext may take this long */
#define HANDSHAKE_MS 10000  /* a client that has not finished its handshake by then is dropped */

struct tc_tls_ctx {
    SSL_CTX *ctx;
};

struct tc_tls {
    SSL_CTX *ctx;
    uint64_t handshake_failures;
    uint64_t unlogged_failures; /* since the last line, for the rate limit */
    uint64_t last_log_ms;
    uint64_t reloads;
};

typedef struct tls_conn {
    tc_tls *tls;
    SSL *ssl;
    BIO *rbio, *wbio;         /* owned by ssl */
    uv_idle_t kick;           /* work that must not run inside the owner's call */
    uv_timer_t linger;        /* bounds the handshake, then the wait for the last ciphertext at close */
    int open_handles;         /* tcp, kick and linger, until all closed */
    int close_pending;        /* closed by the owner while ciphertext was on its way */
    int reading;              /* the owner wants bytes */
    int handshaken;
    int failed;               /* a negative error once the connection is unusable */
    char in[CIPHER_IN];       /* ciphertext from the socket */
    /* ciphertext to the socket: pend waits, fly is in uv_write */
    char *pend, *fly;
    size_t pend_len, pend_cap, fly_len, fly_cap;
    int flying;
    /* tc_conn_write's plaintext, encrypted chunk by chunk */
    const char *job;
    size_t job_len;
    int job_active;
} tls_conn;

static tls_conn *state(tc_conn *c) { return c->tls; }

/* ---- contexts ----------------------------------------------------------- */

/* OpenSSL's reason for the last failure ("key values mismatch", "no start line"). */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r) snprintf(buf, len, "%s", r);
    else if (e) ERR_error_string_n(e, buf, len);
    else snprintf(buf, len, "unknown OpenSSL error");
    ERR_clear_error();
    return buf;
}

/* A file OpenSSL would fail on with a vague "system lib": say why first. */
static int readable(const char *setting, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s %s: cannot read it: %s", setting, path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

static int set_protocols(SSL_CTX *ctx, const char *list, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        long op;
    } versions[] = {{"TLSv1", SSL_OP_NO_TLSv1}, {"TLSv1.1", SSL_OP_NO_TLSv1_1}, {"TLSv1.2", SSL_OP_NO_TLSv1_2},
                    {"TLSv1.3", SSL_OP_NO_TLSv1_3}};
    long off = 0;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        int listed = 0;
        for (const char *p = list; *p;) {
            while (*p == ' ') p++;
            size_t n = strcspn(p, " ");
            if (n && n == strlen(versions[i].name) && strncasecmp(p, versions[i].name, n) == 0) listed = 1;
            p += n;
        }
        if (!listed) off |= versions[i].op;
    }
    if ((off & (SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3)) ==
        (SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3)) {
        snprintf(err, errlen, "tls_protocols \"%s\" names no TLS version", list);
        return -1;
    }
    /* the old versions need OpenSSL's floor lowered too */
    SSL_CTX_set_min_proto_version(ctx, (off & SSL_OP_NO_TLSv1) ? ((off & SSL_OP_NO_TLSv1_1) ? TLS1_2_VERSION
                                                                                              : TLS1_1_VERSION)
                                                               : TLS1_VERSION);
    SSL_CTX_set_options(ctx, (uint64_t)off);
    return 0;
}

tc_tls_ctx *tc_tls_ctx_build(const tc_config *cfg, char *err, size_t errlen)
{
    char why[256];
    ERR_clear_error();
    if (!cfg->tls_cert_file[0] || !cfg->tls_key_file[0]) {
        snprintf(err, errlen, "the TLS client port needs tls_cert_file and tls_key_file");
        return NULL;
    }
    if (cfg->tls_auth_clients != TC_TLS_AUTH_NO && !cfg->tls_ca_cert_file[0] && !cfg->tls_ca_cert_dir[0]) {
        snprintf(err, errlen,
                 "tls_auth_clients = \"%s\" needs tls_ca_cert_file or tls_ca_cert_dir (the CA of client certificates)",
                 cfg->tls_auth_clients == TC_TLS_AUTH_YES ? "yes" : "optional");
        return NULL;
    }
    if (!readable("tls_cert_file", cfg->tls_cert_file, err, errlen) ||
        !readable("tls_key_file", cfg->tls_key_file, err, errlen) ||
        (cfg->tls_ca_cert_file[0] && !readable("tls_ca_cert_file", cfg->tls_ca_cert_file, err, errlen)))
        return NULL;

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    /* renegotiation is a DoS lever and Redis clients never need it */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* a partially sent record must not pin the owner's buffer address */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (set_protocols(ctx, cfg->tls_protocols[0] ? cfg->tls_protocols : "TLSv1.2 TLSv1.3", err, errlen) != 0)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        snprintf(err, errlen, "tls_cert_file %s: %s", cfg->tls_cert_file, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "tls_key_file %s (the key of tls_cert_file %s): %s", cfg->tls_key_file,
                 cfg->tls_cert_file, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls_key_file %s does not belong to tls_cert_file %s: %s", cfg->tls_key_file,
                 cfg->tls_cert_file, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (cfg->tls_ca_cert_file[0] || cfg->tls_ca_cert_dir[0]) {
        const char *file = cfg->tls_ca_cert_file[0] ? cfg->tls_ca_cert_file : NULL;
        const char *dir = cfg->tls_ca_cert_dir[0] ? cfg->tls_ca_cert_dir : NULL;
        if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1) {
            snprintf(err, errlen, "%s %s: %s", file ? "tls_ca_cert_file" : "tls_ca_cert_dir", file ? file : dir,
                     ssl_reason(why, sizeof why));
            goto fail;
        }
        if (file) {
            /* the CA names the server asks for, so clients pick the right certificate */
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(file);
            if (names) SSL_CTX_set_client_CA_list(ctx, names);
            ERR_clear_error();
        }
    }
    int verify = cfg->tls_auth_clients == TC_TLS_AUTH_YES      ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                 : cfg->tls_auth_clients == TC_TLS_AUTH_OPTIONAL ? SSL_VERIFY_PEER
                                                                 : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(ctx, verify, NULL);
    if (cfg->tls_ciphers[0] && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        snprintf(err, errlen, "tls_ciphers \"%s\": %s", cfg->tls_ciphers, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (cfg->tls_ciphersuites[0] && SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
        snprintf(err, errlen, "tls_ciphersuites \"%s\": %s", cfg->tls_ciphersuites, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (cfg->tls_session_caching) {
        /* resumption with client certificates needs a session id context */
        static const unsigned char sid[] = "tricache";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, 20480); /* Redis's tls-session-cache-size */
        SSL_CTX_set_timeout(ctx, 300);           /* and tls-session-cache-timeout */
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    tc_tls_ctx *x = malloc(sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    x->ctx = ctx;
    return x;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tc_tls_ctx_free(tc_tls_ctx *x)
{
    if (!x) return;
    SSL_CTX_free(x->ctx);
    free(x);
}

tc_tls *tc_tls_new(tc_tls_ctx *x)
{
    tc_tls *t = calloc(1, sizeof *t);
    if (!t) {
        tc_tls_ctx_free(x);
        return NULL;
    }
    t->ctx = x->ctx;
    free(x);
    return t;
}

void tc_tls_free(tc_tls *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx);
    free(t);
}

void tc_tls_install(tc_tls *t, tc_tls_ctx *x)
{
    /* open connections hold their own reference to the old context */
    SSL_CTX_free(t->ctx);
    t->ctx = x->ctx;
    t->reloads++;
    free(x);
}

int tc_tls_reload(tc_tls *t, const tc_config *cfg, char *err, size_t errlen)
{
    tc_tls_ctx *x = tc_tls_ctx_build(cfg, err, errlen);
    if (!x) return -1;
    tc_tls_install(t, x);
    return 0;
}

int tc_tls_settings_differ(const tc_config *a, const tc_config *b)
{
    return strcmp(a->tls_cert_file, b->tls_cert_file) || strcmp(a->tls_key_file, b->tls_key_file) ||
           strcmp(a->tls_ca_cert_file, b->tls_ca_cert_file) || strcmp(a->tls_ca_cert_dir, b->tls_ca_cert_dir) ||
           a->tls_auth_clients != b->tls_auth_clients || strcmp(a->tls_protocols, b->tls_protocols) ||
           strcmp(a->tls_ciphers, b->tls_ciphers) || strcmp(a->tls_ciphersuites, b->tls_ciphersuites) ||
           a->tls_session_caching != b->tls_session_caching;
}

uint64_t tc_tls_handshake_failures(const tc_tls *t) { return t->handshake_failures; }
uint64_t tc_tls_reloads(const tc_tls *t) { return t->reloads; }

/* ---- ciphertext to the socket ------------------------------------------- */

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    char *q = realloc(*p, n);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void on_cipher_written(uv_write_t *req, int status);

/* Sends pend: as much as the socket takes now, the rest in the background. */
static int send_cipher(tc_conn *c)
{
    tls_conn *t = state(c);
    if (t->flying || t->pend_len == 0) return 0;
    uv_buf_t b = uv_buf_init(t->pend, (unsigned)t->pend_len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n < 0 && n != UV_EAGAIN) return n;
    size_t done = n > 0 ? (size_t)n : 0;
    if (done == t->pend_len) {
        t->pend_len = 0;
        return 0;
    }
    /* swap: pend goes out, fly's memory takes what comes next */
    char *p = t->fly;
    size_t cap = t->fly_cap;
    t->fly = t->pend;
    t->fly_cap = t->pend_cap;
    t->fly_len = t->pend_len;
    t->pend = p;
    t->pend_cap = cap;
    t->pend_len = 0;
    b = uv_buf_init(t->fly + done, (unsigned)(t->fly_len - done));
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_cipher_written);
    if (rc != 0) return rc;
    t->flying = 1;
    return 0;
}

/* Moves what OpenSSL produced into pend and sends it. */
static int flush_bio(tc_conn *c)
{
    tls_conn *t = state(c);
    size_t n;
    while ((n = (size_t)BIO_ctrl_pending(t->wbio)) > 0) {
        if (grow(&t->pend, &t->pend_cap, t->pend_len + n) != 0) return UV_ENOMEM;
        int got = BIO_read(t->wbio, t->pend + t->pend_len, (int)n);
        if (got <= 0) break;
        t->pend_len += (size_t)got;
    }
    return send_cipher(c);
}

/* The connection cannot go on: the owner hears it through the callback it
 * waits on (its write, else its read); later calls return the error. */
static void fail_conn(tc_conn *c, int err)
{
    tls_conn *t = state(c);
    if (!t->failed) t->failed = err;
    if (c->closing) return;
    if (t->job_active) {
        t->job_active = 0;
        c->on_written(c, err);
    } else if (t->reading) {
        c->on_read(c, err);
    }
}

/* Encrypts the pending write chunk by chunk while the socket keeps up;
 * reports it done once its last ciphertext is handed over. */
static void pump_job(tc_conn *c)
{
    tls_conn *t = state(c);
    if (!t->handshaken) return; /* advance() calls again once it is done */
    while (t->job_active && !t->flying && !c->closing && !t->failed) {
        if (t->job_len == 0) {
            t->job_active = 0;
            c->on_written(c, 0);
            return;
        }
        size_t chunk = t->job_len < PLAIN_CHUNK ? t->job_len : PLAIN_CHUNK;
        ERR_clear_error();
        int n = SSL_write(t->ssl, t->job, (int)chunk);
        if (n <= 0) {
            fail_conn(c, UV_EPROTO);
            return;
        }
        t->job += n;
        t->job_len -= (size_t)n;
        int rc = flush_bio(c);
        if (rc != 0) {
            fail_conn(c, rc);
            return;
        }
    }
}

static void drain_plain(tc_conn *c);
static void finish_close(tc_conn *c);

static void on_cipher_written(uv_write_t *req, int status)
{
    tc_conn *c = req->data;
    tls_conn *t = state(c);
    t->flying = 0;
    t->fly_len = 0;
    if (t->close_pending) {
        /* the rest of what the owner's last try_write took, then close */
        if (status < 0 || send_cipher(c) != 0 || !t->flying) finish_close(c);
        return;
    }
    if (c->closing) return;
    if (status < 0) {
        fail_conn(c, status);
        return;
    }
    int rc = send_cipher(c);
    if (rc != 0) {
        fail_conn(c, rc);
        return;
    }
    pump_job(c);
}

/* ---- reading ------------------------------------------------------------ */

static void handshake_failed(tc_conn *c, int ssl_err, const char *reason)
{
    tls_conn *t = state(c);
    tc_tls *tls = t->tls;
    char why[256], peer[64];
    unsigned long e = ERR_peek_last_error();
    if (reason) snprintf(why, sizeof why, "%s", reason);
    else if (e) ssl_reason(why, sizeof why);
    else snprintf(why, sizeof why, "%s", ssl_err == SSL_ERROR_SYSCALL ? "connection closed" : "protocol error");
    tls->handshake_failures++;
    tls->unlogged_failures++;
    uint64_t now = uv_now(c->tcp.loop);
    if (tls->last_log_ms == 0 || now - tls->last_log_ms >= FAILURE_LOG_MS) {
        tc_conn_tcp.peer_name(c, peer, sizeof peer);
        if (tls->unlogged_failures > 1)
            tc_warn("TLS handshake with %s failed: %s (%llu failed handshakes since the last line, %llu in all)", peer,
                    why, (unsigned long long)tls->unlogged_failures, (unsigned long long)tls->handshake_failures);
        else
            tc_warn("TLS handshake with %s failed: %s", peer, why);
        tls->unlogged_failures = 0;
        tls->last_log_ms = now;
    }
}

/* Hands decrypted bytes to the owner while it reads and OpenSSL has some. */
static void drain_plain(tc_conn *c)
{
    tls_conn *t = state(c);
    while (t->reading && !c->closing && !t->failed) {
        uv_buf_t b = uv_buf_init(NULL, 0);
        c->on_alloc(c, PLAIN_CHUNK, &b);
        if (b.len == 0) {
            fail_conn(c, UV_ENOBUFS);
            return;
        }
        ERR_clear_error();
        int n = SSL_read(t->ssl, b.base, (int)b.len);
        int rc = flush_bio(c); /* tickets, key updates, alerts */
        if (rc != 0) {
            fail_conn(c, rc);
            return;
        }
        if (n > 0) {
            c->on_read(c, n);
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ) return;
        if (e == SSL_ERROR_ZERO_RETURN) { /* the client's close_notify */
            fail_conn(c, UV_EOF);
            return;
        }
        char why[256];
        tc_debug("TLS read error: %s", ssl_reason(why, sizeof why));
        fail_conn(c, UV_EPROTO);
        return;
    }
}

/* Runs what the ciphertext in rbio allows: the handshake, then reads. */
static void advance(tc_conn *c)
{
    tls_conn *t = state(c);
    if (!t->handshaken) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        int rc = flush_bio(c); /* the server's flight, or the alert that says why not */
        if (r != 1 && e != SSL_ERROR_WANT_READ) {
            handshake_failed(c, e, NULL);
            fail_conn(c, UV_ECONNABORTED);
            return;
        }
        if (rc != 0) {
            fail_conn(c, rc);
            return;
        }
        if (r != 1) return;
        t->handshaken = 1;
        uv_timer_stop(&t->linger);
        pump_job(c); /* a write that waited for the handshake */
    }
    drain_plain(c);
}

static void tls_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tc_conn *c = h->data;
    tls_conn *t = state(c);
    *buf = uv_buf_init(t->in, sizeof t->in);
}

static void tls_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    tc_conn *c = s->data;
    tls_conn *t = state(c);
    if (nread == 0 || c->closing) return;
    if (nread < 0) {
        fail_conn(c, (int)nread);
        return;
    }
    if (BIO_write(t->rbio, t->in, (int)nread) != (int)nread) {
        fail_conn(c, UV_ENOMEM);
        return;
    }
    advance(c);
}

static void on_kick(uv_idle_t *h)
{
    tc_conn *c = h->data;
    tls_conn *t = state(c);
    uv_idle_stop(h);
    if (c->closing || !t->handshaken) return;
    pump_job(c);
    drain_plain(c);
}

/* ---- the connection table ------------------------------------------------ */

int tc_conn_tls_init(tc_conn *c, tc_tls *tls, uv_loop_t *loop, void *data, tc_conn_alloc_cb on_alloc,
                     tc_conn_read_cb on_read, tc_conn_write_cb on_written, tc_conn_close_cb on_closed)
{
    tls_conn *t = calloc(1, sizeof *t);
    if (!t) return -1;
    tc_conn_init(c, &tc_conn_tls, loop, data, on_alloc, on_read, on_written, on_closed);
    t->tls = tls;
    uv_idle_init(loop, &t->kick);
    t->kick.data = c;
    uv_timer_init(loop, &t->linger);
    t->linger.data = c;
    c->tls = t;
    return 0;
}

/* A connection that holds a client slot without ever finishing its
 * handshake (a stalled or plaintext client that sent too little). */
static void on_handshake_deadline(uv_timer_t *h)
{
    tc_conn *c = h->data;
    tls_conn *t = state(c);
    if (c->closing || t->handshaken) return;
    handshake_failed(c, SSL_ERROR_NONE, "no handshake within 10 s");
    fail_conn(c, UV_ETIMEDOUT);
}

static int tls_accept(tc_conn *c, uv_stream_t *listener)
{
    tls_conn *t = state(c);
    int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (rc != 0) return rc;
    uv_tcp_nodelay(&c->tcp, 1);
    t->ssl = SSL_new(t->tls->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        return UV_ENOMEM;
    }
    /* a drained read BIO answers "retry", not EOF */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    uv_timer_start(&t->linger, on_handshake_deadline, HANDSHAKE_MS, 0);
    return 0;
}

static int tls_read_start(tc_conn *c)
{
    tls_conn *t = state(c);
    if (t->failed) return t->failed;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, tls_on_alloc, tls_on_read);
    if (rc != 0 && rc != UV_EALREADY) return rc;
    t->reading = 1;
    /* plaintext decrypted (or ciphertext received) while reading was
     * stopped: the socket will not announce it again */
    if (t->handshaken && (SSL_pending(t->ssl) > 0 || BIO_ctrl_pending(t->rbio) > 0)) uv_idle_start(&t->kick, on_kick);
    return 0;
}

static void tls_read_stop(tc_conn *c)
{
    state(c)->reading = 0;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

static int tls_try_write(tc_conn *c, const char *p, size_t len)
{
    tls_conn *t = state(c);
    if (t->failed) return t->failed;
    if (!t->handshaken || t->flying || t->job_active) return UV_EAGAIN;
    size_t chunk = len < PLAIN_CHUNK ? len : PLAIN_CHUNK;
    if (chunk == 0) return 0;
    ERR_clear_error();
    int n = SSL_write(t->ssl, p, (int)chunk);
    if (n <= 0) return UV_EPROTO;
    int rc = flush_bio(c);
    if (rc != 0) return rc;
    /* taken: its ciphertext is sent or on its way (the owner's next write waits for it) */
    return n;
}

static int tls_write(tc_conn *c, const char *p, size_t len)
{
    tls_conn *t = state(c);
    if (t->failed) return t->failed;
    if (t->job_active) return UV_EBUSY;
    t->job = p;
    t->job_len = len;
    t->job_active = 1;
    /* its completion must come from the loop, never from inside this call */
    if (t->handshaken && !t->flying) uv_idle_start(&t->kick, on_kick);
    return 0;
}

static void tls_on_handle_closed(uv_handle_t *h)
{
    tc_conn *c = h->data;
    tls_conn *t = state(c);
    if (--t->open_handles > 0) return;
    SSL_free(t->ssl); /* frees both BIOs */
    free(t->pend);
    free(t->fly);
    free(t);
    c->tls = NULL;
    c->on_closed(c);
}

static void finish_close(tc_conn *c)
{
    tls_conn *t = state(c);
    if (t->open_handles) return; /* already closing its handles */
    if (t->ssl && t->handshaken && !t->failed && !t->flying) {
        /* close_notify, best effort: the socket closes right after */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        if (flush_bio(c) != 0) ERR_clear_error();
    }
    uv_idle_stop(&t->kick);
    uv_timer_stop(&t->linger);
    t->open_handles = 3;
    uv_close((uv_handle_t *)&c->tcp, tls_on_handle_closed);
    uv_close((uv_handle_t *)&t->kick, tls_on_handle_closed);
    uv_close((uv_handle_t *)&t->linger, tls_on_handle_closed);
}

static void on_linger_expired(uv_timer_t *h) { finish_close(h->data); }

static void tls_close(tc_conn *c)
{
    tls_conn *t = state(c);
    /* A try_write counts its plaintext as taken once it is encrypted, so
     * the owner may close (QUIT, an error before closing) while the
     * ciphertext is still on its way: let it finish, for a bounded time. */
    if (t->flying && !t->failed) {
        t->close_pending = 1;
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_idle_stop(&t->kick);
        uv_timer_start(&t->linger, on_linger_expired, LINGER_MS, 0);
        return;
    }
    finish_close(c);
}

static void tls_peer_name(tc_conn *c, char *out, size_t len) { tc_conn_tcp.peer_name(c, out, len); }
static void tls_local_name(tc_conn *c, char *out, size_t len) { tc_conn_tcp.local_name(c, out, len); }
static int tls_fd(tc_conn *c) { return tc_conn_tcp.fd(c); }

/* The ciphertext waiting on the socket goes into rbio, then what decrypts
 * into buf. Only on a connection past its handshake with no ciphertext of
 * ours in flight: an answer written from here must be able to leave at
 * once, as its write callback cannot run before the loop does. */
static size_t tls_read_now(tc_conn *c, char *buf, size_t len)
{
    tls_conn *t = state(c);
    if (!t || c->closing || t->failed || !t->handshaken || t->flying || t->job_active || len == 0) return 0;
    int fd = tls_fd(c);
    for (;;) {
        ssize_t n = fd < 0 ? -1 : recv(fd, t->in, sizeof t->in, MSG_DONTWAIT);
        if (n <= 0) break;
        if (BIO_write(t->rbio, t->in, (int)n) != (int)n) {
            fail_conn(c, UV_ENOMEM);
            return 0;
        }
    }
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (flush_bio(c) != 0) ERR_clear_error(); /* the loop meets the failure again */
    if (n > 0) return (size_t)n;
    ERR_clear_error(); /* WANT_READ, close_notify, errors: the loop's to handle */
    return 0;
}

const tc_conn_type tc_conn_tls = {
    .name = "tls",
    .accept = tls_accept,
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .try_write = tls_try_write,
    .write = tls_write,
    .close = tls_close,
    .peer_name = tls_peer_name,
    .local_name = tls_local_name,
    .fd = tls_fd,
    .read_now = tls_read_now,
};
