/* Mutual TLS for the Raft transport: contexts, sessions, the pump
 * (transport_tls.h). */
#include "transport_tls.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <raft.h>

#include "log.h"

#define CIPHER_IN 17408   /* one TLS record and its header */
#define PLAIN_CHUNK 16384 /* plaintext moved per step */
/* Bytes queued toward one side before the other side's reading pauses:
 * a peer that stops reading costs at most this much memory. */
#define HIGH_WATER (4u << 20)
#define LOW_WATER (1u << 20)
#define PATH_LEN TC_CONFIG_MAX_STR
#define NFILES 4 /* certificate, key, CA file, CA directory */

typedef struct stamp {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} stamp;

struct tc_raft_tls {
    uv_loop_t *loop;
    char files[NFILES][PATH_LEN]; /* "" = not set */
    char protocols[64], ciphers[PATH_LEN], ciphersuites[PATH_LEN];
    SSL_CTX *ctx;
    stamp built[NFILES];  /* what ctx was built from */
    stamp failed[NFILES]; /* files that did not build, not retried until they change */
    int have_failed;
    uint64_t failures, reloads; /* atomics: INFO reads them from the command thread */
    void (*pump_gone)(void *);
    void *arg;
    tc_raft_tls_conn *pumps;
};

struct tc_raft_tls_conn {
    tc_raft_tls *rt;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    int heard;
    /* pumping */
    int pumping, closing, handles;
    uv_tcp_t *tcp;
    uv_pipe_t ours;
    size_t to_tcp, to_pipe; /* bytes queued in uv_write toward each side */
    int tcp_paused, pipe_paused;
    char in[CIPHER_IN];
    char plain[PLAIN_CHUNK];     /* decrypted, toward libraft */
    char from_raft[PLAIN_CHUNK]; /* libraft's bytes, to encrypt */
    tc_raft_tls_conn *prev, *next;
};

/* A write whose buffer travels with it; s is the pump it is counted in
 * (NULL during the handshake, when nothing is counted). */
typedef struct owned {
    uv_write_t req;
    tc_raft_tls_conn *s;
    int toward_tcp;
    size_t len;
    char bytes[];
} owned;

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

/* ---- contexts --------------------------------------------------------------- */

/* "/etc/tricache/node-{id}.crt" for node 2 is "/etc/tricache/node-2.crt". */
static void expand(char *out, size_t len, const char *pattern, unsigned long long id)
{
    const char *at = strstr(pattern, "{id}");
    if (!at) snprintf(out, len, "%s", pattern);
    else snprintf(out, len, "%.*s%llu%s", (int)(at - pattern), pattern, id, at + 4);
}

static void take_stamps(const tc_raft_tls *rt, stamp out[NFILES])
{
    memset(out, 0, sizeof(stamp) * NFILES);
    for (int i = 0; i < NFILES; i++) {
        struct stat st;
        if (!rt->files[i][0] || stat(rt->files[i], &st) != 0) continue;
        out[i].exists = 1;
        out[i].dev = st.st_dev;
        out[i].ino = st.st_ino;
        out[i].size = st.st_size;
        out[i].mtime = st.st_mtim;
    }
}

static int same_stamps(const stamp *a, const stamp *b)
{
    for (int i = 0; i < NFILES; i++)
        if (a[i].exists != b[i].exists || a[i].dev != b[i].dev || a[i].ino != b[i].ino || a[i].size != b[i].size ||
            a[i].mtime.tv_sec != b[i].mtime.tv_sec || a[i].mtime.tv_nsec != b[i].mtime.tv_nsec)
            return 0;
    return 1;
}

/* TLS 1.2 and 1.3 between nodes (never older: every node is ours); only
 * 1.3 when tls_protocols lists nothing else. */
static int only_tls13(const char *list)
{
    int has13 = 0, other = 0;
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == 7 && strncasecmp(p, "TLSv1.3", 7) == 0) has13 = 1;
        else if (n) other = 1;
        p += n;
    }
    return has13 && !other;
}

static SSL_CTX *build_ctx(const tc_raft_tls *rt, char *err, size_t errlen)
{
    char why[256];
    const char *cert = rt->files[0], *key = rt->files[1], *ca_file = rt->files[2], *ca_dir = rt->files[3];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_min_proto_version(ctx, only_tls13(rt->protocols) ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* the pump hands OpenSSL a buffer it reuses */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (access(cert, R_OK) != 0) {
        snprintf(err, errlen, "certificate %s: %s", cert, strerror(errno));
        goto fail;
    }
    if (access(key, R_OK) != 0) {
        snprintf(err, errlen, "key %s: %s", key, strerror(errno));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "certificate %s: %s", cert, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "key %s: %s", key, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "key %.160s does not belong to certificate %.160s: %.120s", key, cert, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca_file[0] ? ca_file : NULL, ca_dir[0] ? ca_dir : NULL) != 1) {
        snprintf(err, errlen, "CA %s: %s", ca_file[0] ? ca_file : ca_dir, ssl_reason(why, sizeof why));
        goto fail;
    }
    /* both ends show a certificate of the CA, always */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (rt->ciphers[0] && SSL_CTX_set_cipher_list(ctx, rt->ciphers) != 1) {
        snprintf(err, errlen, "tls_ciphers \"%s\": %s", rt->ciphers, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (rt->ciphersuites[0] && SSL_CTX_set_ciphersuites(ctx, rt->ciphersuites) != 1) {
        snprintf(err, errlen, "tls_ciphersuites \"%s\": %s", rt->ciphersuites, ssl_reason(why, sizeof why));
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* The context new sessions use: rebuilt first if the files changed. */
static SSL_CTX *current_ctx(tc_raft_tls *rt)
{
    stamp now[NFILES];
    take_stamps(rt, now);
    if (same_stamps(now, rt->built) || (rt->have_failed && same_stamps(now, rt->failed))) return rt->ctx;
    char err[1024];
    SSL_CTX *ctx = build_ctx(rt, err, sizeof err);
    if (!ctx) {
        memcpy(rt->failed, now, sizeof rt->failed);
        rt->have_failed = 1;
        tc_warn("Raft TLS: the changed certificate files do not load, peers keep getting the previous ones: %s", err);
        return rt->ctx;
    }
    SSL_CTX_free(rt->ctx); /* sessions still using it hold their own reference */
    rt->ctx = ctx;
    memcpy(rt->built, now, sizeof rt->built);
    rt->have_failed = 0;
    __atomic_add_fetch(&rt->reloads, 1, __ATOMIC_RELAXED);
    tc_notice("Raft TLS: certificates reloaded from %s (new connections to and from peers use them)", rt->files[0]);
    return rt->ctx;
}

tc_raft_tls *tc_raft_tls_new(const tc_config *cfg, unsigned long long node_id, uv_loop_t *loop,
                             void (*pump_gone)(void *), void *arg, char *err, size_t errlen)
{
    tc_raft_tls *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rt->loop = loop;
    rt->pump_gone = pump_gone;
    rt->arg = arg;
    expand(rt->files[0], PATH_LEN, cfg->tls_raft_cert_file[0] ? cfg->tls_raft_cert_file : cfg->tls_cert_file, node_id);
    expand(rt->files[1], PATH_LEN, cfg->tls_raft_key_file[0] ? cfg->tls_raft_key_file : cfg->tls_key_file, node_id);
    snprintf(rt->files[2], PATH_LEN, "%s", cfg->tls_ca_cert_file);
    snprintf(rt->files[3], PATH_LEN, "%s", cfg->tls_ca_cert_dir);
    snprintf(rt->protocols, sizeof rt->protocols, "%s", cfg->tls_protocols);
    snprintf(rt->ciphers, sizeof rt->ciphers, "%s", cfg->tls_ciphers);
    snprintf(rt->ciphersuites, sizeof rt->ciphersuites, "%s", cfg->tls_ciphersuites);
    take_stamps(rt, rt->built);
    char why[1024];
    rt->ctx = build_ctx(rt, why, sizeof why);
    if (!rt->ctx) {
        snprintf(err, errlen, "tls_replication: %.400s", why);
        free(rt);
        return NULL;
    }
    return rt;
}

void tc_raft_tls_free(tc_raft_tls *rt)
{
    if (!rt) return;
    SSL_CTX_free(rt->ctx);
    free(rt);
}

uint64_t tc_raft_tls_failures(const tc_raft_tls *rt) { return rt ? __atomic_load_n(&rt->failures, __ATOMIC_RELAXED) : 0; }
uint64_t tc_raft_tls_reloads(const tc_raft_tls *rt) { return rt ? __atomic_load_n(&rt->reloads, __ATOMIC_RELAXED) : 0; }
void tc_raft_tls_count_failure(tc_raft_tls *rt) { __atomic_add_fetch(&rt->failures, 1, __ATOMIC_RELAXED); }

/* ---- sessions ----------------------------------------------------------------- */

tc_raft_tls_conn *tc_raft_tls_conn_new(tc_raft_tls *rt, int server)
{
    SSL_CTX *ctx = current_ctx(rt);
    tc_raft_tls_conn *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->rt = rt;
    s->ssl = SSL_new(ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->rbio || !s->wbio) {
        SSL_free(s->ssl);
        BIO_free(s->rbio);
        BIO_free(s->wbio);
        free(s);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_mem_eof_return(s->rbio, -1); /* drained: "retry", not EOF */
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    if (server) SSL_set_accept_state(s->ssl);
    else SSL_set_connect_state(s->ssl);
    return s;
}

void tc_raft_tls_conn_free(tc_raft_tls_conn *s)
{
    if (!s) return;
    SSL_free(s->ssl); /* and both BIOs */
    free(s);
}

int tc_raft_tls_heard(const tc_raft_tls_conn *s) { return s->heard; }

int tc_raft_tls_feed(tc_raft_tls_conn *s, const void *bytes, size_t len)
{
    if (len == 0) return 0;
    s->heard = 1;
    return BIO_write(s->rbio, bytes, (int)len) == (int)len ? 0 : -1;
}

int tc_raft_tls_handshake(tc_raft_tls_conn *s, char *why, size_t whylen)
{
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) return 1;
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    long v = SSL_get_verify_result(s->ssl);
    if (v != X509_V_OK) {
        snprintf(why, whylen, "its certificate: %s", X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else if (ERR_peek_last_error()) {
        ssl_reason(why, whylen);
    } else {
        snprintf(why, whylen, "%s", e == SSL_ERROR_ZERO_RETURN ? "closed by the peer" : "protocol error");
    }
    return -1;
}

static void on_owned_written(uv_write_t *req, int status);

/* Queues a copy of bytes on stream, counted in s's pump if s is pumping. */
static int send_copy(tc_raft_tls_conn *s, uv_stream_t *stream, const void *bytes, size_t len, int toward_tcp)
{
    owned *w = malloc(sizeof *w + len);
    if (!w) return UV_ENOMEM;
    memcpy(w->bytes, bytes, len);
    w->len = len;
    w->s = s && s->pumping ? s : NULL;
    w->toward_tcp = toward_tcp;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->bytes, (unsigned)len);
    int rc = uv_write(&w->req, stream, &b, 1, on_owned_written);
    if (rc != 0) {
        free(w);
        return rc;
    }
    if (w->s) {
        if (toward_tcp) s->to_tcp += len;
        else s->to_pipe += len;
    }
    return 0;
}

int tc_raft_tls_flush(tc_raft_tls_conn *s, uv_stream_t *stream)
{
    size_t n = (size_t)BIO_ctrl_pending(s->wbio);
    if (n == 0) return 0;
    owned *w = malloc(sizeof *w + n);
    if (!w) return UV_ENOMEM;
    int got = BIO_read(s->wbio, w->bytes, (int)n);
    if (got <= 0) {
        free(w);
        return 0;
    }
    w->len = (size_t)got;
    w->s = s->pumping ? s : NULL;
    w->toward_tcp = 1;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->bytes, (unsigned)w->len);
    int rc = uv_write(&w->req, stream, &b, 1, on_owned_written);
    if (rc != 0) {
        free(w);
        return rc;
    }
    if (w->s) s->to_tcp += w->len;
    return 0;
}

int tc_raft_tls_read(tc_raft_tls_conn *s, void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_read(s->ssl, buf, (int)len);
    if (n > 0) return n;
    int e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    ERR_clear_error();
    return -1;
}

int tc_raft_tls_write(tc_raft_tls_conn *s, const void *bytes, size_t len)
{
    ERR_clear_error();
    /* a memory BIO takes everything: one call encrypts it all */
    if (SSL_write(s->ssl, bytes, (int)len) != (int)len) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/* What a certificate names, for the log: its subject and DNS names. */
static void describe_cert(X509 *cert, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    o += (size_t)snprintf(out + o, len - o, "subject %s", subject);
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && o + 1 < len; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_DNS) continue;
        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
        int dl = ASN1_STRING_length(g->d.dNSName);
        o += (size_t)snprintf(out + o, len - o, ", DNS:%.*s", dl > 64 ? 64 : dl, (const char *)d);
    }
    GENERAL_NAMES_free(names);
}

int tc_raft_tls_peer_is(tc_raft_tls_conn *s, unsigned long long id, char *names, size_t nameslen)
{
    X509 *cert = SSL_get0_peer_certificate(s->ssl);
    if (names && nameslen) snprintf(names, nameslen, "no certificate");
    if (!cert || SSL_get_verify_result(s->ssl) != X509_V_OK) return 0;
    if (names && nameslen) describe_cert(cert, names, nameslen);
    char want[32];
    snprintf(want, sizeof want, "node-%llu", id);
    int ok = X509_check_host(cert, want, strlen(want), X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
    ERR_clear_error();
    return ok;
}

/* ---- the pump ------------------------------------------------------------------ */

static void pump_close(tc_raft_tls_conn *s);

/* libraft's end, when it never reached libraft */
static void free_raft_handle(uv_handle_t *h) { raft_free(h); }

static void on_pump_handle_closed(uv_handle_t *h)
{
    tc_raft_tls_conn *s = h->data;
    if (--s->handles > 0) return;
    tc_raft_tls *rt = s->rt;
    if (s->prev) s->prev->next = s->next;
    else rt->pumps = s->next;
    if (s->next) s->next->prev = s->prev;
    raft_free(s->tcp);
    SSL_free(s->ssl);
    free(s);
    rt->pump_gone(rt->arg);
}

static void pump_close(tc_raft_tls_conn *s)
{
    if (s->closing) return;
    s->closing = 1;
    uv_close((uv_handle_t *)s->tcp, on_pump_handle_closed);
    uv_close((uv_handle_t *)&s->ours, on_pump_handle_closed);
}

unsigned tc_raft_tls_close_pumps(tc_raft_tls *rt)
{
    unsigned n = 0;
    for (tc_raft_tls_conn *s = rt->pumps; s; s = s->next)
        if (!s->closing) {
            pump_close(s);
            n++;
        }
    return n;
}

static void pump_resume(tc_raft_tls_conn *s);

static void on_owned_written(uv_write_t *req, int status)
{
    owned *w = req->data;
    tc_raft_tls_conn *s = w->s;
    size_t len = w->len;
    int toward_tcp = w->toward_tcp;
    free(w);
    if (!s) return; /* a handshake write: a failure shows as a read error or the deadline */
    if (toward_tcp) s->to_tcp -= len;
    else s->to_pipe -= len;
    if (s->closing) return;
    if (status < 0) {
        pump_close(s);
        return;
    }
    pump_resume(s);
}

/* Decrypted bytes to libraft, while OpenSSL has some. */
static void pump_to_raft(tc_raft_tls_conn *s)
{
    while (!s->closing) {
        int n = tc_raft_tls_read(s, s->plain, sizeof s->plain);
        if (n == 0) break;
        if (n < 0 || send_copy(s, (uv_stream_t *)&s->ours, s->plain, (size_t)n, 0) != 0) {
            pump_close(s); /* the peer's close_notify, a broken record, or no memory */
            return;
        }
    }
    if (s->closing) return;
    if (tc_raft_tls_flush(s, (uv_stream_t *)s->tcp) != 0) { /* key updates, alerts */
        pump_close(s);
        return;
    }
    if (s->to_pipe > HIGH_WATER && !s->tcp_paused) {
        uv_read_stop((uv_stream_t *)s->tcp);
        s->tcp_paused = 1;
    }
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tc_raft_tls_conn *s = h->data;
    *buf = uv_buf_init(s->in, sizeof s->in);
}

static void on_tcp_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    tc_raft_tls_conn *s = stream->data;
    if (n == 0 || s->closing) return;
    if (n < 0 || tc_raft_tls_feed(s, s->in, (size_t)n) != 0) {
        pump_close(s); /* the peer went away: libraft sees its end close */
        return;
    }
    pump_to_raft(s);
}

static void pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tc_raft_tls_conn *s = h->data;
    *buf = uv_buf_init(s->from_raft, sizeof s->from_raft);
}

static void on_pipe_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    tc_raft_tls_conn *s = stream->data;
    if (n == 0 || s->closing) return;
    if (n < 0) {
        /* libraft closed its end: close_notify (best effort), then close */
        ERR_clear_error();
        SSL_shutdown(s->ssl);
        ERR_clear_error();
        tc_raft_tls_flush(s, (uv_stream_t *)s->tcp);
        pump_close(s);
        return;
    }
    if (tc_raft_tls_write(s, s->from_raft, (size_t)n) != 0 || tc_raft_tls_flush(s, (uv_stream_t *)s->tcp) != 0) {
        pump_close(s);
        return;
    }
    if (s->to_tcp > HIGH_WATER && !s->pipe_paused) {
        uv_read_stop((uv_stream_t *)&s->ours);
        s->pipe_paused = 1;
    }
}

/* A side drained below the low mark: the other side is read again. */
static void pump_resume(tc_raft_tls_conn *s)
{
    if (s->tcp_paused && s->to_pipe < LOW_WATER) {
        s->tcp_paused = 0;
        if (uv_read_start((uv_stream_t *)s->tcp, tcp_alloc, on_tcp_read) != 0) {
            pump_close(s);
            return;
        }
        pump_to_raft(s); /* records that arrived whole before the pause */
    }
    if (!s->closing && s->pipe_paused && s->to_tcp < LOW_WATER) {
        s->pipe_paused = 0;
        if (uv_read_start((uv_stream_t *)&s->ours, pipe_alloc, on_pipe_read) != 0) pump_close(s);
    }
}

int tc_raft_tls_pump(tc_raft_tls_conn *s, uv_tcp_t *tcp, uv_stream_t **raft_end, char *err, size_t errlen)
{
    tc_raft_tls *rt = s->rt;
    uv_os_sock_t fds[2];
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs); /* libraft raft_free's it */
    if (!theirs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = uv_socketpair(SOCK_STREAM, 0, fds, 0, 0);
    if (rc != 0) {
        raft_free(theirs);
        snprintf(err, errlen, "socketpair: %s", uv_strerror(rc));
        return -1;
    }
    if (uv_pipe_init(rt->loop, &s->ours, 0) != 0 || uv_pipe_init(rt->loop, theirs, 0) != 0) {
        /* uv_pipe_init cannot fail on Linux; were it to, nothing is registered */
        close(fds[0]);
        close(fds[1]);
        raft_free(theirs);
        snprintf(err, errlen, "cannot set up a pipe");
        return -1;
    }
    int rc0 = uv_pipe_open(&s->ours, fds[0]), rc1 = uv_pipe_open(theirs, fds[1]);
    /* from here the pump owns tcp, whatever happens */
    s->pumping = 1;
    s->tcp = tcp;
    s->handles = 2;
    tcp->data = s;
    s->ours.data = s;
    s->next = rt->pumps;
    if (rt->pumps) rt->pumps->prev = s;
    rt->pumps = s;
    if (rc0 != 0 || rc1 != 0) {
        if (rc0 != 0) close(fds[0]);
        if (rc1 != 0) close(fds[1]);
        uv_close((uv_handle_t *)theirs, free_raft_handle);
        pump_close(s);
        snprintf(err, errlen, "cannot open the socketpair: %s", uv_strerror(rc0 ? rc0 : rc1));
        return -2;
    }
    uv_read_stop((uv_stream_t *)tcp); /* the owner's callbacks are replaced */
    if (uv_read_start((uv_stream_t *)tcp, tcp_alloc, on_tcp_read) != 0 ||
        uv_read_start((uv_stream_t *)&s->ours, pipe_alloc, on_pipe_read) != 0) {
        uv_close((uv_handle_t *)theirs, free_raft_handle);
        pump_close(s);
        snprintf(err, errlen, "cannot read the connection");
        return -2;
    }
    /* what was decrypted with the handshake, and what the owner wrote */
    pump_to_raft(s);
    if (s->closing) {
        uv_close((uv_handle_t *)theirs, free_raft_handle);
        snprintf(err, errlen, "the connection broke as it was set up");
        return -2;
    }
    *raft_end = (uv_stream_t *)theirs;
    return 0;
}
