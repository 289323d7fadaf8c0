/* tricache's raft_uv_transport: the stock TCP handshake, checked against
 * cluster.toml before libraft sees a byte; TCP_NODELAY on every connection.
 * See transport.h.
 *
 * Lifecycles (every object below is counted in t->live until its last
 * callback, and t->close's callback fires only once nothing is left):
 *
 *  incoming  accepted -> reading the preamble -> reading the address ->
 *            handed to libraft (accept_cb; libraft owns the TCP handle from
 *            then on and frees it with raft_free), or refused: uv_close,
 *            freed in the close callback.
 *  outgoing  resolving (host names only) -> connecting -> writing the
 *            handshake -> handed to libraft (connect_cb, status 0), or the
 *            attempt's handle is closed and the next resolved address is
 *            tried; when none is left, or the transport closes, connect_cb
 *            fires with RAFT_NOCONNECTION or RAFT_CANCELED after the handle
 *            went through uv_close, as the stock transport does.
 *  listeners, deadline timer: closed by t->close. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "transport_tls.h"

#define HANDSHAKE_PROTOCOL 1
#define PREAMBLE_LEN 24 /* protocol, server id, address length */
/* A configured address is at most a 255-byte host, ':' and 5 digits; the
 * bound keeps a hostile length from costing memory. */
#define MAX_ADDRESS_LEN 512
/* Our peers send the handshake in one write right after connecting. */
#define HANDSHAKE_TIMEOUT_MS 1000
/* Connections allowed in the handshake at once; more are refused at once
 * (each pending one holds a descriptor for up to the timeout). */
#define MAX_HANDSHAKES 64
#define MAX_LISTENERS 4
#define MAX_RESOLVED 8
#define LISTEN_BACKLOG 128
/* Refusal lines logged per second; the rest are counted and the count is
 * reported by the next line that is logged (or at close). */
#define REFUSALS_LOGGED_PER_S 5

/* The cluster-secret exchange (transport.h), all sizes fixed:
 *   acceptor -> connector  CHALLENGE: magic, nonce_a
 *   connector -> acceptor  PROOF:     magic, its id (u64 LE), nonce_c, mac_c
 *   acceptor -> connector  ANSWER:    mac_a
 * then libraft's handshake, as without a secret. */
#define AUTH_MAGIC "TCRAUTH1"
#define AUTH_MAGIC_LEN 8
#define NONCE_LEN 32
#define MAC_LEN 32 /* HMAC-SHA256 */
#define CHALLENGE_LEN (AUTH_MAGIC_LEN + NONCE_LEN)
#define PROOF_LEN (AUTH_MAGIC_LEN + 8 + NONCE_LEN + MAC_LEN)
/* A TLS record of type handshake starts with this byte: how a peer
 * speaking TLS is told from one sending the plain handshake (u64 1) or the
 * cluster-secret exchange ("TCRAUTH1"). */
#define TLS_HANDSHAKE_RECORD 0x16
/* transit_encryption_mode = preferred: a peer that closed a TLS attempt
 * without answering is dialled in plaintext this long before TLS is tried
 * again (a rolling change to TLS reaches it in the meantime). */
#define DIAL_PLAIN_MS 10000
#define CIPHER_IN 17408

/* A secret file is one line; the bounds catch a wrong path (a big file) and
 * a secret too short to resist guessing. */
#define SECRET_MIN_LEN 16
#define SECRET_MAX_LEN 1024

/* The parts of an incoming connection's handshake, read in this order
 * (the first two only with a secret). */
enum in_phase { IN_MAGIC, IN_PROOF, IN_PREAMBLE, IN_ADDRESS };

typedef struct tc_transport tc_transport;

typedef struct incoming {
    tc_transport *t;
    uv_tcp_t *tcp;           /* raft_malloc'd: libraft frees it once it owns it */
    uint64_t deadline;       /* uv_now() by which the handshake must be complete */
    enum in_phase phase;
    size_t nread;            /* bytes of the current part */
    size_t total;            /* handshake bytes received, for the log */
    uint8_t nonce[NONCE_LEN];/* our challenge */
    uint8_t proof[PROOF_LEN];/* the peer's answer (IN_MAGIC: its first bytes) */
    raft_id proven;          /* the id the peer proved the secret for; 0 = none */
    uint8_t preamble[PREAMBLE_LEN];
    size_t address_len;      /* 0 while the preamble is read */
    raft_id id;              /* claimed, once the preamble is read */
    char address[MAX_ADDRESS_LEN];
    char peer[64];           /* "ip:port" of the remote end, for the log */
    tc_raft_tls_conn *tls;   /* a TLS peer: its session (the handshake is read inside it) */
    int tls_done;            /* its TLS handshake is complete */
    struct incoming *prev, *next;
} incoming;

typedef struct outgoing {
    tc_transport *t;
    struct raft_uv_connect *req;
    uv_tcp_t *tcp;           /* raft_malloc'd once, initialized per attempt */
    int tcp_open;            /* initialized and not yet closed */
    uv_getaddrinfo_t gai;
    int resolving;
    struct sockaddr_storage addrs[MAX_RESOLVED];
    unsigned naddrs, next_addr;
    uv_connect_t connect;
    uv_write_t write;
    raft_id peer_id;         /* the node libraft wants to reach */
    /* with a secret: the acceptor's challenge, then its answer */
    int authenticating;      /* in t's auth list, with a deadline */
    uint64_t deadline;
    size_t nread;
    int got_challenge;
    uint8_t challenge[CHALLENGE_LEN];
    uint8_t nonce[NONCE_LEN];/* ours, in the proof */
    uint8_t answer[MAC_LEN];
    char peer[64];           /* "ip:port" of the attempt, for the log */
    tc_raft_tls_conn *tls;   /* a TLS attempt: its session until the pump takes it */
    int skip_state;          /* TLS: 0 first byte not seen, 1 skipping an acceptor's eager challenge, 2 done */
    size_t skipped;
    struct outgoing *prev, *next;
    struct outgoing *aprev, *anext; /* t's auth list */
} outgoing;

/* A write the transport makes on its own (challenge, proof, answer): the
 * buffer travels with the request and both are freed in the callback, so a
 * connection can be closed or handed to libraft while it is in flight. */
typedef struct owned_write {
    uv_write_t req;
    size_t len;
    uint8_t bytes[PROOF_LEN];
} owned_write;

struct tc_transport {
    struct raft_uv_transport *iface;
    uv_loop_t *loop;
    raft_id id;              /* this node, from init */
    char address[MAX_ADDRESS_LEN];
    uv_buf_t handshake;      /* what we send on every outgoing connection */
    tc_node_conf nodes[TC_CONFIG_MAX_NODES];
    size_t nnodes;
    raft_uv_accept_cb accept_cb;
    uv_tcp_t listeners[MAX_LISTENERS];
    unsigned nlisteners;
    uv_timer_t deadline;     /* fires at the oldest pending handshake's deadline */
    int timer_ready;
    incoming *in_head, *in_tail; /* in arrival order, so in deadline order */
    unsigned nincoming;
    outgoing *out_head;
    unsigned live;           /* handles and requests not finished yet */
    int closing;
    raft_uv_transport_close_cb close_cb;
    outgoing *auth_head, *auth_tail; /* outgoing attempts waiting for the acceptor, in deadline order */
    uint8_t secret[SECRET_MAX_LEN];
    size_t secret_len;       /* 0 = no cluster secret: today's protocol */
    unsigned long long refused; /* connections refused, both directions (INFO raft_peers_refused) */
    uint64_t log_window;     /* start of the current second of refusal lines */
    unsigned log_lines;      /* lines logged in it */
    unsigned long long unlogged;
    /* TLS between nodes (transport_tls.h); NULL: tls_replication off */
    tc_raft_tls *tls;
    tc_config *tls_cfg;      /* the settings, until init knows this node's id */
    int plain_ok;            /* plaintext peers accepted (no TLS, or transit_encryption_mode = preferred) */
    int preferred;           /* transit_encryption_mode = preferred: TLS dials fall back to plaintext */
    uint64_t dial_plain_until[TC_CONFIG_MAX_NODES]; /* by node index: dial plaintext until then */
    char tls_in[CIPHER_IN];  /* ciphertext just read, fed to a session at once */
};

/* ---- small helpers ---------------------------------------------------------- */

static void errmsgf(tc_transport *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errmsgf(tc_transport *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->iface->errmsg, sizeof t->iface->errmsg, fmt, ap);
    va_end(ap);
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) p[i] = (uint8_t)v;
}

/* "host:port", "[v6]:port" or "v6:port" (the last colon ends the host, as
 * raft_node.c writes IPv6 hosts unbracketed). 0, or -1 if malformed. */
static int split_address(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *h = addr, *colon;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return -1;
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0 || hlen >= hostlen) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535) return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* A numeric IPv4 or IPv6 host: 0 and *sa filled, else -1. */
static int numeric_address(const char *host, int port, struct sockaddr_storage *sa)
{
    memset(sa, 0, sizeof *sa);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0) return 0;
    return -1;
}

static void format_sockaddr(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[64] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        snprintf(out, len, "[%s]:%d", ip, port);
    } else {
        snprintf(out, len, "?");
    }
}

/* A configured node's raft_addr as cluster.toml writes it. */
static void format_node_address(const tc_node_conf *n, char *out, size_t len)
{
    if (strchr(n->raft_host, ':')) snprintf(out, len, "[%s]:%d", n->raft_host, n->raft_port);
    else snprintf(out, len, "%s:%d", n->raft_host, n->raft_port);
}

/* What a peer sent, safe to print: control and non-ASCII bytes as \xNN,
 * cut at 80 bytes. */
static const char *printable(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && s[i] && o + 8 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i == 80) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
    }
    out[o] = '\0';
    return out;
}

static const tc_node_conf *find_node(const tc_transport *t, raft_id id)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if ((raft_id)t->nodes[i].id == id) return &t->nodes[i];
    return NULL;
}

/* ---- the cluster secret ------------------------------------------------------- */

/* HMAC-SHA256(secret, role || first nonce || id a || id b || second nonce).
 * The role byte ('C' the connector, 'A' the acceptor) keeps one side's
 * answer from being replayed as the other's; both ids bind the proof to this
 * pair, so a proof seen on one connection is worth nothing on another. */
static int secret_mac(const tc_transport *t, char role, const uint8_t *first, raft_id a, raft_id b,
                      const uint8_t *second, uint8_t out[MAC_LEN])
{
    uint8_t msg[1 + NONCE_LEN + 16 + NONCE_LEN];
    msg[0] = (uint8_t)role;
    memcpy(msg + 1, first, NONCE_LEN);
    put_le64(msg + 1 + NONCE_LEN, (uint64_t)a);
    put_le64(msg + 9 + NONCE_LEN, (uint64_t)b);
    memcpy(msg + 17 + NONCE_LEN, second, NONCE_LEN);
    unsigned len = 0;
    if (!HMAC(EVP_sha256(), t->secret, (int)t->secret_len, msg, sizeof msg, out, &len) || len != MAC_LEN) return -1;
    return 0;
}

/* Reads the secret file: a regular file only its owner may read, of
 * SECRET_MIN_LEN..SECRET_MAX_LEN bytes once a trailing newline is cut. */
static int load_secret(tc_transport *t, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errmsgf(t, "cluster_secret_file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    else if (st.st_mode & 077) why = "readable or writable by group or others: chmod 600 it";
    else if (st.st_size > SECRET_MAX_LEN + 2) why = "too large for a secret (at most 1024 bytes): the wrong file?";
    ssize_t n = 0;
    if (!why) {
        n = read(fd, t->secret, sizeof t->secret);
        if (n < 0) why = strerror(errno);
    }
    close(fd);
    while (!why && n > 0 && (t->secret[n - 1] == '\n' || t->secret[n - 1] == '\r')) n--;
    if (!why && n < SECRET_MIN_LEN) why = "holds fewer than 16 bytes (tricachectl secret generate --file FILE makes one)";
    if (why) {
        OPENSSL_cleanse(t->secret, sizeof t->secret);
        errmsgf(t, "cluster_secret_file %s: %s", path, why);
        return -1;
    }
    t->secret_len = (size_t)n;
    return 0;
}

static void on_owned_written(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows as a read error or the deadline */
    free(w->data);
}

static int send_owned(uv_stream_t *s, const uint8_t *bytes, size_t len)
{
    owned_write *w = malloc(sizeof *w);
    if (!w) return UV_ENOMEM;
    memcpy(w->bytes, bytes, len);
    w->len = len;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init((char *)w->bytes, (unsigned)len);
    int rc = uv_write(&w->req, s, &buf, 1, on_owned_written);
    if (rc != 0) free(w);
    return rc;
}

/* The deadline timer serves incoming handshakes and outgoing attempts
 * waiting for the acceptor; whichever starts first creates it. */
static void ensure_timer(tc_transport *t)
{
    if (t->timer_ready) return;
    uv_timer_init(t->loop, &t->deadline);
    t->deadline.data = t;
    t->timer_ready = 1;
    t->live++;
}

/* ---- closing -------------------------------------------------------------------- */

static void maybe_fire_close(tc_transport *t)
{
    if (!t->closing || t->live > 0 || !t->close_cb) return;
    if (t->unlogged)
        tc_warn("refused %llu more Raft connections that were not logged (more than %d a second)", t->unlogged,
                REFUSALS_LOGGED_PER_S);
    t->unlogged = 0;
    raft_uv_transport_close_cb cb = t->close_cb;
    t->close_cb = NULL;
    cb(t->iface); /* may free the transport: nothing after this */
}

static void on_pump_gone(void *arg)
{
    tc_transport *t = arg;
    t->live--;
    maybe_fire_close(t);
}

static void on_own_handle_closed(uv_handle_t *h)
{
    tc_transport *t = h->data;
    t->live--;
    maybe_fire_close(t);
}

/* ---- incoming connections ---------------------------------------------------------- */

static void refusal_log(tc_transport *t, const char *peer, const char *why)
{
    t->refused++;
    uint64_t now = uv_now(t->loop);
    if (now - t->log_window >= 1000) {
        t->log_window = now;
        t->log_lines = 0;
    }
    if (t->log_lines >= REFUSALS_LOGGED_PER_S) {
        t->unlogged++;
        return;
    }
    t->log_lines++;
    if (t->unlogged)
        tc_warn("refused Raft peer %s: %s (and %llu earlier refusals not logged: more than %d a second)", peer, why,
                t->unlogged, REFUSALS_LOGGED_PER_S);
    else
        tc_warn("refused Raft peer %s: %s", peer, why);
    t->unlogged = 0;
}

static void rearm_deadline(tc_transport *t);

static void unlink_incoming(incoming *in)
{
    tc_transport *t = in->t;
    if (in->prev) in->prev->next = in->next;
    else t->in_head = in->next;
    if (in->next) in->next->prev = in->prev;
    else t->in_tail = in->prev;
    in->prev = in->next = NULL;
    t->nincoming--;
}

static void on_incoming_closed(uv_handle_t *h)
{
    incoming *in = h->data;
    tc_transport *t = in->t;
    tc_raft_tls_conn_free(in->tls);
    raft_free(in->tcp);
    free(in);
    t->live--;
    maybe_fire_close(t);
}

/* Closes a connection in its handshake; nothing it sent reached libraft. */
static void drop(incoming *in)
{
    tc_transport *t = in->t;
    unlink_incoming(in);
    uv_close((uv_handle_t *)in->tcp, on_incoming_closed);
    if (!t->closing) rearm_deadline(t);
}

/* The same, saying why in the (rate-limited) log. */
static void refuse(incoming *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(incoming *in, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    refusal_log(in->t, in->peer, why);
    drop(in);
}

static void fail_attempt(struct outgoing *o, const char *why);

static void on_deadline(uv_timer_t *timer)
{
    tc_transport *t = timer->data;
    uint64_t now = uv_now(t->loop);
    while (t->in_head && t->in_head->deadline <= now) {
        incoming *in = t->in_head;
        if (in->tls && !in->tls_done)
            refuse(in, "did not complete its TLS handshake within %d ms", HANDSHAKE_TIMEOUT_MS);
        else if (in->total == 0)
            refuse(in, "sent no %s within %d ms", t->secret_len ? "proof of the cluster secret" : "handshake",
               HANDSHAKE_TIMEOUT_MS);
        else
            refuse(in, "sent %zu bytes of a handshake and then nothing within %d ms", in->total, HANDSHAKE_TIMEOUT_MS);
    }
    while (t->auth_head && t->auth_head->deadline <= now)
        fail_attempt(t->auth_head, t->auth_head->tls             ? "did not complete the TLS handshake within 1000 ms"
                                   : t->auth_head->got_challenge ? "did not prove the cluster secret within 1000 ms"
                                                                 : "sent no cluster-secret challenge within 1000 ms");
    rearm_deadline(t);
}

static void rearm_deadline(tc_transport *t)
{
    if (t->closing || !t->timer_ready) return;
    if (!t->in_head && !t->auth_head) {
        uv_timer_stop(&t->deadline);
        return;
    }
    uint64_t now = uv_now(t->loop), at = UINT64_MAX;
    if (t->in_head) at = t->in_head->deadline;
    if (t->auth_head && t->auth_head->deadline < at) at = t->auth_head->deadline;
    uv_timer_start(&t->deadline, on_deadline, at > now ? at - now : 0, 0);
}

/* The preamble is in: protocol, id and address length are checked before
 * the address is read. 0 to go on, -1 if refused. */
static int check_preamble(incoming *in)
{
    tc_transport *t = in->t;
    uint64_t protocol = get_le64(in->preamble);
    in->id = (raft_id)get_le64(in->preamble + 8);
    uint64_t len = get_le64(in->preamble + 16);
    if (protocol != HANDSHAKE_PROTOCOL && in->preamble[0] == TLS_HANDSHAKE_RECORD && !t->tls) {
        refuse(in, "speaks TLS, but tls_replication is off on this node");
        return -1;
    }
    if (protocol != HANDSHAKE_PROTOCOL) {
        refuse(in, "protocol %" PRIu64 ", expected %d", protocol, HANDSHAKE_PROTOCOL);
        return -1;
    }
    if (in->id == t->id) {
        refuse(in, "claims to be node %llu, which is this node", (unsigned long long)in->id);
        return -1;
    }
    if (!find_node(t, in->id)) {
        refuse(in, "node id %llu is not in cluster.toml", (unsigned long long)in->id);
        return -1;
    }
    if (in->tls) {
        char names[400];
        if (!tc_raft_tls_peer_is(in->tls, (unsigned long long)in->id, names, sizeof names)) {
            tc_raft_tls_count_failure(t->tls);
            refuse(in, "claims node %llu but its certificate does not name node-%llu (%s)", (unsigned long long)in->id,
                   (unsigned long long)in->id, names);
            return -1;
        }
    } else if (t->secret_len && in->id != in->proven) {
        refuse(in, "proved the cluster secret as node %llu but its handshake claims node %llu",
               (unsigned long long)in->proven, (unsigned long long)in->id);
        return -1;
    }
    if (len == 0 || len > MAX_ADDRESS_LEN) {
        refuse(in, "claims node %llu but sends an address of %" PRIu64 " bytes (at most %d)",
               (unsigned long long)in->id, len, MAX_ADDRESS_LEN);
        return -1;
    }
    in->address_len = (size_t)len;
    in->nread = 0;
    in->phase = IN_ADDRESS;
    return 0;
}

static void start_tls_in(incoming *in);

/* The first bytes say what the peer speaks: TLS, the start of a proof of
 * the cluster secret, or libraft's plain handshake; each is let through
 * only if this node accepts it (and named when refused, so a node missing a
 * setting is easy to spot). 0 to go on, 1 if in is gone or moved to TLS. */
static int check_magic(incoming *in)
{
    tc_transport *t = in->t;
    if (in->proof[0] == TLS_HANDSHAKE_RECORD) {
        if (!t->tls) {
            refuse(in, "speaks TLS, but tls_replication is off on this node");
            return 1;
        }
        start_tls_in(in);
        return 1;
    }
    int proof = memcmp(in->proof, AUTH_MAGIC, AUTH_MAGIC_LEN) == 0;
    int plain = get_le64(in->proof) == HANDSHAKE_PROTOCOL;
    if ((proof || plain) && !t->plain_ok) {
        refuse(in, "sent %s in plaintext, but this node accepts TLS peers only (tls_replication = true%s)",
               proof ? "a cluster-secret proof" : "a Raft handshake",
               t->preferred ? "" : ", transit_encryption_mode is not \"preferred\"");
        return 1;
    }
    if (proof && t->secret_len) {
        in->phase = IN_PROOF;
        return 0;
    }
    if (plain && !t->secret_len) { /* these 8 bytes begin the preamble */
        memcpy(in->preamble, in->proof, AUTH_MAGIC_LEN);
        in->phase = IN_PREAMBLE;
        return 0;
    }
    if (plain)
        refuse(in, "sent a plain Raft handshake without proof of the cluster secret (is cluster_secret_file set on "
                   "that node?)");
    else if (proof)
        refuse(in, "sent a cluster-secret proof, but this node has no cluster_secret_file");
    else if (t->secret_len)
        refuse(in, "sent no proof of the cluster secret (%d bytes that are not tricache's exchange)", AUTH_MAGIC_LEN);
    else
        refuse(in, "sent %d bytes that are neither TLS nor a Raft handshake", AUTH_MAGIC_LEN);
    return 1;
}

/* The whole proof: the id it claims, then the MAC, compared in constant
 * time; on success this node answers with its own proof. */
static int check_proof(incoming *in)
{
    tc_transport *t = in->t;
    raft_id id = (raft_id)get_le64(in->proof + AUTH_MAGIC_LEN);
    const uint8_t *nonce_c = in->proof + AUTH_MAGIC_LEN + 8, *mac_c = nonce_c + NONCE_LEN;
    uint8_t want[MAC_LEN], answer[MAC_LEN];
    if (id == t->id) {
        refuse(in, "claims to be node %llu, which is this node", (unsigned long long)id);
        return 1;
    }
    if (!find_node(t, id)) {
        refuse(in, "node id %llu is not in cluster.toml", (unsigned long long)id);
        return 1;
    }
    if (secret_mac(t, 'C', in->nonce, id, t->id, nonce_c, want) != 0 ||
        secret_mac(t, 'A', nonce_c, t->id, id, in->nonce, answer) != 0) {
        refuse(in, "cannot compute HMAC-SHA256 (OpenSSL)");
        return 1;
    }
    if (CRYPTO_memcmp(want, mac_c, MAC_LEN) != 0) {
        refuse(in, "wrong cluster secret (claims node %llu)", (unsigned long long)id);
        return 1;
    }
    int rc = send_owned((uv_stream_t *)in->tcp, answer, MAC_LEN);
    if (rc != 0) {
        refuse(in, "cannot answer its proof: %s", uv_strerror(rc));
        return 1;
    }
    in->proven = id;
    in->phase = IN_PREAMBLE;
    in->nread = 0;
    return 0;
}

/* The address is in: it must be the claimed node's raft_addr. */
static void check_address(incoming *in)
{
    tc_transport *t = in->t;
    const tc_node_conf *node = find_node(t, in->id);
    char want[TC_CONFIG_MAX_STR + 16], shown[400];
    format_node_address(node, want, sizeof want);
    const char *end = memchr(in->address, '\0', in->address_len);
    char host[TC_CONFIG_MAX_STR];
    int port = 0;
    if (!end || split_address(in->address, host, sizeof host, &port) != 0 || strcasecmp(host, node->raft_host) != 0 ||
        port != node->raft_port) {
        refuse(in, "claims node %llu but address \"%s\", cluster.toml says %s", (unsigned long long)in->id,
               printable(in->address, end ? (size_t)(end - in->address) : in->address_len, shown, sizeof shown), want);
        return;
    }
    /* Accepted: the stream goes to libraft with nothing of it read beyond
     * the handshake (every read asked for exactly the bytes still missing). */
    uv_read_stop((uv_stream_t *)in->tcp);
    uv_stream_t *stream = (uv_stream_t *)in->tcp;
    if (in->tls) {
        /* libraft gets a socketpair's end; the pump carries it over TLS */
        char err[128];
        t->live++; /* the pump, until pump_gone */
        int rc = tc_raft_tls_pump(in->tls, in->tcp, &stream, err, sizeof err);
        if (rc == -1) {
            t->live--;
            refuse(in, "cannot carry its connection: %s", err);
            return;
        }
        in->tls = NULL; /* the pump's now, as is the TCP handle */
        if (rc == -2) {
            tc_warn("Raft peer %s (node %llu): %s", in->peer, (unsigned long long)in->id, err);
            unlink_incoming(in);
            rearm_deadline(t);
            t->live--;
            free(in);
            return;
        }
    }
    unlink_incoming(in);
    rearm_deadline(t);
    t->live--;
    t->accept_cb(t->iface, in->id, in->address, stream); /* copies the address */
    free(in);
}

static void on_handshake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    incoming *in = h->data;
    (void)suggested;
    /* exactly the bytes still missing: nothing beyond the handshake is read */
    switch (in->phase) {
    case IN_MAGIC: *buf = uv_buf_init((char *)in->proof + in->nread, (unsigned)(AUTH_MAGIC_LEN - in->nread)); break;
    case IN_PROOF: *buf = uv_buf_init((char *)in->proof + in->nread, (unsigned)(PROOF_LEN - in->nread)); break;
    case IN_PREAMBLE:
        *buf = uv_buf_init((char *)in->preamble + in->nread, (unsigned)(PREAMBLE_LEN - in->nread));
        break;
    default: *buf = uv_buf_init(in->address + in->nread, (unsigned)(in->address_len - in->nread)); break;
    }
}

/* n more bytes are in the current part's buffer (on_handshake_alloc's):
 * 0 while the handshake goes on, 1 once the connection was refused, handed
 * over or moved to TLS. */
static int incoming_got(incoming *in, size_t n)
{
    in->nread += n;
    in->total += n;
    switch (in->phase) {
    case IN_MAGIC: return in->nread == AUTH_MAGIC_LEN ? check_magic(in) : 0;
    case IN_PROOF: return in->nread == PROOF_LEN ? check_proof(in) : 0;
    case IN_PREAMBLE: return in->nread == PREAMBLE_LEN ? check_preamble(in) != 0 : 0;
    case IN_ADDRESS:
        if (in->nread < in->address_len) return 0;
        check_address(in);
        return 1;
    }
    return 0;
}

static void on_handshake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    incoming *in = s->data;
    (void)buf;
    if (n == 0) return;
    if (n < 0) {
        if (n == UV_EOF)
            refuse(in, "closed the connection after %zu bytes, before its handshake was complete", in->total);
        else
            refuse(in, "read error during the handshake: %s", uv_strerror((int)n));
        return;
    }
    incoming_got(in, (size_t)n);
}

/* ---- incoming TLS peers -------------------------------------------------------- */

/* Runs what the ciphertext received allows: the TLS handshake, then
 * libraft's handshake read inside the session, exactly as in plaintext
 * (the cluster secret is not asked for: the certificate proves the id). */
static void tls_in_advance(incoming *in)
{
    tc_transport *t = in->t;
    if (!in->tls_done) {
        char why[256];
        int r = tc_raft_tls_handshake(in->tls, why, sizeof why);
        int rc = tc_raft_tls_flush(in->tls, (uv_stream_t *)in->tcp); /* our flight, or the alert saying why not */
        if (r < 0) {
            tc_raft_tls_count_failure(t->tls);
            refuse(in, "TLS handshake failed: %s", why);
            return;
        }
        if (rc != 0) {
            refuse(in, "cannot answer its TLS handshake: %s", uv_strerror(rc));
            return;
        }
        if (r == 0) return;
        in->tls_done = 1;
    }
    for (;;) {
        uv_buf_t b;
        on_handshake_alloc((uv_handle_t *)in->tcp, 0, &b);
        int n = tc_raft_tls_read(in->tls, b.base, b.len);
        if (n == 0) return;
        if (n < 0) {
            refuse(in, "ended its TLS session before its Raft handshake was complete");
            return;
        }
        if (incoming_got(in, (size_t)n)) return;
    }
}

static void tls_in_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    incoming *in = h->data;
    (void)suggested;
    *buf = uv_buf_init(in->t->tls_in, sizeof in->t->tls_in);
}

static void on_tls_in_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    incoming *in = s->data;
    (void)buf;
    if (n == 0) return;
    if (n < 0) {
        if (!in->tls_done) tc_raft_tls_count_failure(in->t->tls);
        refuse(in, "%s during its TLS handshake", n == UV_EOF ? "closed the connection" : uv_strerror((int)n));
        return;
    }
    if (tc_raft_tls_feed(in->tls, in->t->tls_in, (size_t)n) != 0) {
        refuse(in, "out of memory in its TLS handshake");
        return;
    }
    tls_in_advance(in);
}

/* The peer's first 8 bytes began a TLS ClientHello: a session takes them,
 * and the rest of the handshake is read through it. */
static void start_tls_in(incoming *in)
{
    tc_transport *t = in->t;
    uv_read_stop((uv_stream_t *)in->tcp);
    in->tls = tc_raft_tls_conn_new(t->tls, 1);
    if (!in->tls || tc_raft_tls_feed(in->tls, in->proof, AUTH_MAGIC_LEN) != 0) {
        refuse(in, "out of memory for a TLS session");
        return;
    }
    in->phase = IN_PREAMBLE;
    in->nread = 0;
    int rc = uv_read_start((uv_stream_t *)in->tcp, tls_in_alloc, on_tls_in_read);
    if (rc != 0) {
        refuse(in, "cannot read: %s", uv_strerror(rc));
        return;
    }
    tls_in_advance(in);
}

static void on_connection(uv_stream_t *server, int status)
{
    tc_transport *t = server->data;
    if (status < 0) {
        refusal_log(t, "(unknown)", uv_strerror(status));
        return;
    }
    incoming *in = calloc(1, sizeof *in);
    uv_tcp_t *tcp = raft_malloc(sizeof *tcp);
    if (!in || !tcp) {
        /* Not accepted, libuv stops watching the listener: peers can no
         * longer reach this node, which is as good as it gets without memory. */
        free(in);
        raft_free(tcp);
        tc_warn("out of memory accepting a Raft connection: this node stops accepting Raft peers");
        return;
    }
    in->t = t;
    in->tcp = tcp;
    snprintf(in->peer, sizeof in->peer, "(unknown)");
    uv_tcp_init(t->loop, tcp);
    tcp->data = in;
    in->deadline = uv_now(t->loop) + HANDSHAKE_TIMEOUT_MS;
    in->prev = t->in_tail;
    if (t->in_tail) t->in_tail->next = in;
    else t->in_head = in;
    t->in_tail = in;
    t->nincoming++;
    t->live++;
    int rc = uv_accept(server, (uv_stream_t *)tcp);
    if (rc != 0) {
        refuse(in, "accept failed: %s", uv_strerror(rc));
        return;
    }
    struct sockaddr_storage sa;
    int salen = sizeof sa;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&sa, &salen) == 0)
        format_sockaddr((struct sockaddr *)&sa, in->peer, sizeof in->peer);
    if (t->nincoming > MAX_HANDSHAKES) {
        refuse(in, "more than %d connections are in their handshake", MAX_HANDSHAKES);
        return;
    }
    uv_tcp_nodelay(tcp, 1);
    /* with a secret or TLS, the first 8 bytes say what the peer speaks */
    in->phase = t->secret_len || t->tls ? IN_MAGIC : IN_PREAMBLE;
    if (t->secret_len && t->plain_ok) {
        /* the challenge goes first: a peer proves the secret before it may
         * say anything libraft would read */
        uint8_t challenge[CHALLENGE_LEN];
        if (RAND_bytes(in->nonce, NONCE_LEN) != 1) {
            refuse(in, "no random bytes for a challenge (OpenSSL)");
            return;
        }
        memcpy(challenge, AUTH_MAGIC, AUTH_MAGIC_LEN);
        memcpy(challenge + AUTH_MAGIC_LEN, in->nonce, NONCE_LEN);
        rc = send_owned((uv_stream_t *)tcp, challenge, CHALLENGE_LEN);
        if (rc != 0) {
            refuse(in, "cannot send the challenge: %s", uv_strerror(rc));
            return;
        }
    }
    rc = uv_read_start((uv_stream_t *)tcp, on_handshake_alloc, on_handshake_read);
    if (rc != 0) {
        refuse(in, "cannot read: %s", uv_strerror(rc));
        return;
    }
    rearm_deadline(t);
}

/* ---- outgoing connections ------------------------------------------------------------ */

static void unlink_outgoing(outgoing *o)
{
    tc_transport *t = o->t;
    if (o->prev) o->prev->next = o->next;
    else t->out_head = o->next;
    if (o->next) o->next->prev = o->prev;
}

static void auth_unlink(outgoing *o)
{
    tc_transport *t = o->t;
    if (!o->authenticating) return;
    if (o->aprev) o->aprev->anext = o->anext;
    else t->auth_head = o->anext;
    if (o->anext) o->anext->aprev = o->aprev;
    else t->auth_tail = o->aprev;
    o->aprev = o->anext = NULL;
    o->authenticating = 0;
}

/* Fires libraft's callback and forgets the request. Unless it succeeded,
 * the handle is closed (or was never initialized) and is freed here. */
static void finish(outgoing *o, uv_stream_t *stream, int status)
{
    tc_transport *t = o->t;
    struct raft_uv_connect *req = o->req;
    if (!stream) raft_free(o->tcp); /* NULL once a pump took it */
    tc_raft_tls_conn_free(o->tls);
    auth_unlink(o);
    unlink_outgoing(o);
    free(o);
    t->live--;
    req->cb(req, stream, status);
    maybe_fire_close(t);
}

static void attempt(outgoing *o);

/* An attempt's handle is closed: the next address, or the end. */
static void on_attempt_closed(uv_handle_t *h)
{
    outgoing *o = h->data;
    o->tcp_open = 0;
    tc_raft_tls_conn_free(o->tls); /* a session is per attempt */
    o->tls = NULL;
    o->skip_state = 0;
    o->skipped = 0;
    if (o->t->closing) finish(o, NULL, RAFT_CANCELED);
    else if (o->next_addr < o->naddrs) attempt(o);
    else finish(o, NULL, RAFT_NOCONNECTION);
}

static void on_handshake_written(uv_write_t *w, int status)
{
    outgoing *o = w->data;
    tc_transport *t = o->t;
    if (t->closing) return; /* the handle is being closed: on_attempt_closed finishes */
    if (status != 0) {
        errmsgf(t, "sending the handshake: %s", uv_strerror(status));
        o->next_addr = o->naddrs; /* it connected: no point trying other addresses */
        uv_close((uv_handle_t *)o->tcp, on_attempt_closed);
        return;
    }
    finish(o, (uv_stream_t *)o->tcp, 0); /* libraft owns the handle now */
}

/* The peer did not prove the secret (or sent no challenge): this attempt
 * ends, named in the log, and libraft retries later as after any failed
 * connect. Nothing was sent to libraft's peer. */
static void fail_attempt(outgoing *o, const char *why)
{
    tc_transport *t = o->t;
    char who[128];
    snprintf(who, sizeof who, "node %llu at %s (connecting to it)", (unsigned long long)o->peer_id, o->peer);
    refusal_log(t, who, why);
    auth_unlink(o);
    rearm_deadline(t);
    errmsgf(t, "node %llu: %s", (unsigned long long)o->peer_id, why);
    o->next_addr = o->naddrs; /* it was reached: other addresses are no better */
    uv_close((uv_handle_t *)o->tcp, on_attempt_closed);
}

static void send_handshake(outgoing *o)
{
    uv_buf_t buf = o->t->handshake; /* lives as long as the transport */
    int rc = uv_write(&o->write, (uv_stream_t *)o->tcp, &buf, 1, on_handshake_written);
    if (rc != 0) {
        errmsgf(o->t, "connect: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)o->tcp, on_attempt_closed);
    }
}

static void on_auth_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    outgoing *o = h->data;
    (void)suggested;
    /* exactly the bytes still missing: libraft reads whatever comes after */
    if (!o->got_challenge) *buf = uv_buf_init((char *)o->challenge + o->nread, (unsigned)(CHALLENGE_LEN - o->nread));
    else *buf = uv_buf_init((char *)o->answer + o->nread, (unsigned)(MAC_LEN - o->nread));
}

/* The acceptor's challenge is in: prove the secret for (us, it). */
static void answer_challenge(outgoing *o)
{
    tc_transport *t = o->t;
    uint8_t proof[PROOF_LEN];
    if (memcmp(o->challenge, AUTH_MAGIC, AUTH_MAGIC_LEN) != 0) {
        fail_attempt(o, "sent no cluster-secret challenge (is cluster_secret_file set on that node?)");
        return;
    }
    memcpy(proof, AUTH_MAGIC, AUTH_MAGIC_LEN);
    put_le64(proof + AUTH_MAGIC_LEN, (uint64_t)t->id);
    if (RAND_bytes(o->nonce, NONCE_LEN) != 1 ||
        secret_mac(t, 'C', o->challenge + AUTH_MAGIC_LEN, t->id, o->peer_id, o->nonce,
                   proof + AUTH_MAGIC_LEN + 8 + NONCE_LEN) != 0) {
        fail_attempt(o, "cannot compute the proof (OpenSSL)");
        return;
    }
    memcpy(proof + AUTH_MAGIC_LEN + 8, o->nonce, NONCE_LEN);
    int rc = send_owned((uv_stream_t *)o->tcp, proof, PROOF_LEN);
    if (rc != 0) {
        fail_attempt(o, uv_strerror(rc));
        return;
    }
    o->got_challenge = 1;
    o->nread = 0;
}

/* The acceptor's proof is in: only a node holding the secret, answering as
 * the node libraft meant to reach, gets libraft's handshake and entries. */
static void check_answer(outgoing *o)
{
    tc_transport *t = o->t;
    uint8_t want[MAC_LEN];
    if (secret_mac(t, 'A', o->nonce, o->peer_id, t->id, o->challenge + AUTH_MAGIC_LEN, want) != 0) {
        fail_attempt(o, "cannot compute HMAC-SHA256 (OpenSSL)");
        return;
    }
    if (CRYPTO_memcmp(want, o->answer, MAC_LEN) != 0) {
        fail_attempt(o, "wrong cluster secret (its answer does not prove it is that node)");
        return;
    }
    uv_read_stop((uv_stream_t *)o->tcp);
    auth_unlink(o);
    rearm_deadline(t);
    send_handshake(o);
}

static void on_auth_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    outgoing *o = s->data;
    (void)buf;
    if (n == 0 || o->t->closing) return;
    if (n < 0) {
        if (n == UV_EOF)
            fail_attempt(o, o->got_challenge ? "closed the connection after our proof (a different cluster secret?)"
                                             : "closed the connection before sending a challenge");
        else
            fail_attempt(o, uv_strerror((int)n));
        return;
    }
    o->nread += (size_t)n;
    if (!o->got_challenge && o->nread == CHALLENGE_LEN) answer_challenge(o);
    else if (o->got_challenge && o->nread == MAC_LEN) check_answer(o);
}

/* ---- outgoing TLS ---------------------------------------------------------------- */

static int node_index(const tc_transport *t, raft_id id)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if ((raft_id)t->nodes[i].id == id) return (int)i;
    return -1;
}

/* The session is established and the peer is the node libraft wants:
 * libraft's handshake goes in first, then libraft gets its end of the pump. */
static void tls_out_established(outgoing *o)
{
    tc_transport *t = o->t;
    char names[400], err[128];
    if (!tc_raft_tls_peer_is(o->tls, (unsigned long long)o->peer_id, names, sizeof names)) {
        tc_raft_tls_count_failure(t->tls);
        snprintf(err, sizeof err, "%.100s", names);
        char why[300];
        snprintf(why, sizeof why, "its certificate does not name node-%llu (%s)", (unsigned long long)o->peer_id, err);
        fail_attempt(o, why);
        return;
    }
    if (tc_raft_tls_write(o->tls, t->handshake.base, t->handshake.len) != 0) {
        fail_attempt(o, "cannot encrypt the handshake (OpenSSL)");
        return;
    }
    uv_stream_t *stream = NULL;
    t->live++; /* the pump, until pump_gone */
    int rc = tc_raft_tls_pump(o->tls, o->tcp, &stream, err, sizeof err);
    if (rc == -1) {
        t->live--;
        fail_attempt(o, err);
        return;
    }
    o->tls = NULL; /* the pump's now, and so is the TCP handle */
    o->tcp_open = 0;
    auth_unlink(o);
    rearm_deadline(t);
    if (rc == -2) {
        errmsgf(t, "node %llu: %s", (unsigned long long)o->peer_id, err);
        o->tcp = NULL;
        finish(o, NULL, RAFT_NOCONNECTION);
        return;
    }
    finish(o, stream, 0);
}

static void tls_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    outgoing *o = h->data;
    (void)suggested;
    *buf = uv_buf_init(o->t->tls_in, sizeof o->t->tls_in);
}

static void on_tls_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    outgoing *o = s->data;
    tc_transport *t = o->t;
    (void)buf;
    if (n == 0 || t->closing) return;
    if (n < 0) {
        int idx = node_index(t, o->peer_id);
        if (!tc_raft_tls_heard(o->tls) && t->preferred && idx >= 0) {
            /* it read our ClientHello as a plain handshake and hung up:
             * not on TLS yet, which "preferred" tolerates for a while */
            t->dial_plain_until[idx] = uv_now(t->loop) + DIAL_PLAIN_MS;
            fail_attempt(o, "closed the connection without answering TLS (tls_replication not on yet?): dialled "
                            "in plaintext for the next 10 s (transit_encryption_mode = \"preferred\")");
            return;
        }
        tc_raft_tls_count_failure(t->tls);
        fail_attempt(o, n == UV_EOF ? "closed the connection during the TLS handshake (does it accept this node's "
                                      "certificate, and is tls_replication on there?)"
                                    : uv_strerror((int)n));
        return;
    }
    const uint8_t *p = (const uint8_t *)t->tls_in;
    size_t len = (size_t)n;
    /* An acceptor holding a cluster secret sends its challenge before
     * anything else (for plaintext peers): TLS peers skip it. */
    while (len && o->skip_state < 2) {
        if (o->skip_state == 0) o->skip_state = p[0] == (uint8_t)AUTH_MAGIC[0] ? 1 : 2;
        if (o->skip_state == 2) break;
        if (o->skipped < AUTH_MAGIC_LEN && p[0] != (uint8_t)AUTH_MAGIC[o->skipped]) {
            fail_attempt(o, "answered neither TLS nor with a cluster-secret challenge");
            return;
        }
        p++;
        len--;
        if (++o->skipped == CHALLENGE_LEN) o->skip_state = 2;
    }
    if (len == 0) return;
    if (tc_raft_tls_feed(o->tls, p, len) != 0) {
        fail_attempt(o, "out of memory in the TLS handshake");
        return;
    }
    char why[256];
    int r = tc_raft_tls_handshake(o->tls, why, sizeof why);
    int rc = tc_raft_tls_flush(o->tls, (uv_stream_t *)o->tcp);
    if (r < 0) {
        tc_raft_tls_count_failure(t->tls);
        char msg[300];
        snprintf(msg, sizeof msg, "TLS handshake failed: %s", why);
        fail_attempt(o, msg);
        return;
    }
    if (rc != 0) {
        fail_attempt(o, uv_strerror(rc));
        return;
    }
    if (r == 1) tls_out_established(o);
}

static void on_connected(uv_connect_t *c, int status)
{
    outgoing *o = c->data;
    tc_transport *t = o->t;
    if (t->closing) return;
    if (status != 0) {
        errmsgf(t, "connect: %s", uv_strerror(status));
        uv_close((uv_handle_t *)o->tcp, on_attempt_closed);
        return;
    }
    uv_tcp_nodelay(o->tcp, 1);
    int idx = node_index(t, o->peer_id);
    int use_tls = t->tls && !(t->preferred && idx >= 0 && uv_now(t->loop) < t->dial_plain_until[idx]);
    if (!t->secret_len && !use_tls) {
        send_handshake(o);
        return;
    }
    /* wait for the acceptor's challenge, within the handshake's deadline */
    struct sockaddr_storage sa;
    int salen = sizeof sa;
    snprintf(o->peer, sizeof o->peer, "(unknown)");
    if (uv_tcp_getpeername(o->tcp, (struct sockaddr *)&sa, &salen) == 0)
        format_sockaddr((struct sockaddr *)&sa, o->peer, sizeof o->peer);
    o->nread = 0;
    o->got_challenge = 0;
    ensure_timer(t);
    o->deadline = uv_now(t->loop) + HANDSHAKE_TIMEOUT_MS;
    o->authenticating = 1;
    o->anext = NULL;
    o->aprev = t->auth_tail;
    if (t->auth_tail) t->auth_tail->anext = o;
    else t->auth_head = o;
    t->auth_tail = o;
    rearm_deadline(t);
    if (use_tls) {
        char why[256];
        o->tls = tc_raft_tls_conn_new(t->tls, 0);
        if (!o->tls) {
            fail_attempt(o, "out of memory for a TLS session");
            return;
        }
        int rc = tc_raft_tls_handshake(o->tls, why, sizeof why) < 0 ? UV_EPROTO : 0; /* the ClientHello */
        if (rc == 0) rc = tc_raft_tls_flush(o->tls, (uv_stream_t *)o->tcp);
        if (rc == 0) rc = uv_read_start((uv_stream_t *)o->tcp, tls_out_alloc, on_tls_out_read);
        if (rc != 0) fail_attempt(o, uv_strerror(rc));
        return;
    }
    int rc = uv_read_start((uv_stream_t *)o->tcp, on_auth_alloc, on_auth_read);
    if (rc != 0) fail_attempt(o, uv_strerror(rc));
}

static void attempt(outgoing *o)
{
    tc_transport *t = o->t;
    uv_tcp_init(t->loop, o->tcp);
    o->tcp->data = o;
    o->tcp_open = 1;
    const struct sockaddr *sa = (const struct sockaddr *)&o->addrs[o->next_addr++];
    int rc = uv_tcp_connect(&o->connect, o->tcp, sa, on_connected);
    if (rc != 0) {
        errmsgf(t, "connect: %s", uv_strerror(rc));
        uv_close((uv_handle_t *)o->tcp, on_attempt_closed);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    outgoing *o = req->data;
    tc_transport *t = o->t;
    o->resolving = 0;
    for (struct addrinfo *a = res; a && o->naddrs < MAX_RESOLVED; a = a->ai_next)
        if (a->ai_addrlen <= sizeof o->addrs[0] && (a->ai_family == AF_INET || a->ai_family == AF_INET6))
            memcpy(&o->addrs[o->naddrs++], a->ai_addr, a->ai_addrlen);
    uv_freeaddrinfo(res);
    if (t->closing) {
        finish(o, NULL, RAFT_CANCELED);
        return;
    }
    if (status < 0 || o->naddrs == 0) {
        errmsgf(t, "resolving the peer's host: %s", status < 0 ? uv_strerror(status) : "no address");
        finish(o, NULL, RAFT_NOCONNECTION);
        return;
    }
    attempt(o);
}

static int transport_connect(struct raft_uv_transport *iface, struct raft_uv_connect *req, raft_id id,
                             const char *address, raft_uv_connect_cb cb)
{
    tc_transport *t = iface->impl;
    if (!t || t->closing) return RAFT_CANCELED;
    char host[TC_CONFIG_MAX_STR], port_str[8];
    int port;
    if (split_address(address, host, sizeof host, &port) != 0) {
        errmsgf(t, "cannot connect to \"%s\": expected host:port", address);
        return RAFT_NOCONNECTION;
    }
    outgoing *o = calloc(1, sizeof *o);
    uv_tcp_t *tcp = raft_malloc(sizeof *tcp); /* raft_free'd by libraft once it owns it */
    if (!o || !tcp) {
        free(o);
        raft_free(tcp);
        errmsgf(t, "out of memory");
        return RAFT_NOMEM;
    }
    o->tcp = tcp;
    o->t = t;
    o->req = req;
    o->peer_id = id;
    req->cb = cb;
    o->gai.data = o;
    o->connect.data = o;
    o->write.data = o;
    if (numeric_address(host, port, &o->addrs[0]) == 0) {
        o->naddrs = 1;
    } else {
        /* host names as the stock transport resolves them, in the threadpool */
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        snprintf(port_str, sizeof port_str, "%d", port);
        int rc = uv_getaddrinfo(t->loop, &o->gai, on_resolved, host, port_str, &hints);
        if (rc != 0) {
            errmsgf(t, "cannot resolve %s: %s", host, uv_strerror(rc));
            raft_free(o->tcp);
            free(o);
            return RAFT_NOCONNECTION;
        }
        o->resolving = 1;
    }
    o->next = t->out_head;
    if (t->out_head) t->out_head->prev = o;
    t->out_head = o;
    t->live++;
    if (!o->resolving) attempt(o);
    return 0;
}

/* ---- the interface --------------------------------------------------------------------- */

static int transport_init(struct raft_uv_transport *iface, raft_id id, const char *address)
{
    tc_transport *t = iface->impl;
    size_t len = strlen(address);
    if (len + 1 > MAX_ADDRESS_LEN) {
        errmsgf(t, "address too long");
        return RAFT_INVALID;
    }
    t->id = id;
    memcpy(t->address, address, len + 1);
    if (t->tls_cfg && !t->tls) {
        /* here, where this node's id is known ({id} in the file names) */
        char err[sizeof iface->errmsg];
        t->tls = tc_raft_tls_new(t->tls_cfg, (unsigned long long)id, t->loop, on_pump_gone, t, err, sizeof err);
        if (!t->tls) {
            errmsgf(t, "%s", err);
            return RAFT_INVALID;
        }
        free(t->tls_cfg);
        t->tls_cfg = NULL;
    }
    size_t padded = (len + 1 + 7) & ~(size_t)7;
    free(t->handshake.base);
    t->handshake.base = calloc(1, PREAMBLE_LEN + padded);
    if (!t->handshake.base) {
        errmsgf(t, "out of memory");
        return RAFT_NOMEM;
    }
    t->handshake.len = PREAMBLE_LEN + padded;
    uint8_t *p = (uint8_t *)t->handshake.base;
    put_le64(p, HANDSHAKE_PROTOCOL);
    put_le64(p + 8, (uint64_t)id);
    put_le64(p + 16, (uint64_t)padded);
    memcpy(p + PREAMBLE_LEN, address, len);
    return 0;
}

static int transport_listen(struct raft_uv_transport *iface, raft_uv_accept_cb cb)
{
    tc_transport *t = iface->impl;
    t->accept_cb = cb;
    char host[TC_CONFIG_MAX_STR];
    int port;
    if (split_address(t->address, host, sizeof host, &port) != 0) {
        errmsgf(t, "cannot listen on \"%s\": expected host:port", t->address);
        return RAFT_INVALID;
    }
    struct sockaddr_storage addrs[MAX_LISTENERS];
    unsigned naddrs = 0;
    if (numeric_address(host, port, &addrs[0]) == 0) {
        naddrs = 1;
    } else {
        /* once, at start: blocking is fine (no callback = synchronous) */
        uv_getaddrinfo_t req;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        char port_str[8];
        snprintf(port_str, sizeof port_str, "%d", port);
        int rc = uv_getaddrinfo(t->loop, &req, NULL, host, port_str, &hints);
        if (rc != 0) {
            errmsgf(t, "cannot resolve %s to listen on it: %s", host, uv_strerror(rc));
            return RAFT_IOERR;
        }
        for (struct addrinfo *a = req.addrinfo; a && naddrs < MAX_LISTENERS; a = a->ai_next) {
            if (a->ai_addrlen > sizeof addrs[0] || (a->ai_family != AF_INET && a->ai_family != AF_INET6)) continue;
            int dup = 0;
            for (unsigned i = 0; i < naddrs; i++) dup |= memcmp(&addrs[i], a->ai_addr, a->ai_addrlen) == 0;
            if (!dup) {
                memset(&addrs[naddrs], 0, sizeof addrs[0]);
                memcpy(&addrs[naddrs++], a->ai_addr, a->ai_addrlen);
            }
        }
        uv_freeaddrinfo(req.addrinfo);
    }
    ensure_timer(t);
    for (unsigned i = 0; i < naddrs; i++) {
        uv_tcp_t *l = &t->listeners[t->nlisteners++];
        uv_tcp_init(t->loop, l);
        l->data = t;
        t->live++;
        int rc = uv_tcp_bind(l, (const struct sockaddr *)&addrs[i], 0);
        if (rc == 0) rc = uv_listen((uv_stream_t *)l, LISTEN_BACKLOG, on_connection);
        if (rc != 0) {
            char shown[80];
            format_sockaddr((const struct sockaddr *)&addrs[i], shown, sizeof shown);
            errmsgf(t, "cannot listen on %s: %s", shown, uv_strerror(rc));
            return RAFT_IOERR; /* the handles are closed by t->close */
        }
    }
    return 0;
}

static void transport_close(struct raft_uv_transport *iface, raft_uv_transport_close_cb cb)
{
    tc_transport *t = iface->impl;
    t->closing = 1;
    t->close_cb = cb;
    while (t->in_head) drop(t->in_head);
    for (outgoing *o = t->out_head; o; o = o->next) {
        if (o->resolving) uv_cancel((uv_req_t *)&o->gai); /* on_resolved finishes it */
        else if (o->tcp_open && !uv_is_closing((uv_handle_t *)o->tcp))
            uv_close((uv_handle_t *)o->tcp, on_attempt_closed); /* pending callbacks see t->closing */
    }
    if (t->tls) tc_raft_tls_close_pumps(t->tls); /* each pump_gone counts down t->live */
    for (unsigned i = 0; i < t->nlisteners; i++) uv_close((uv_handle_t *)&t->listeners[i], on_own_handle_closed);
    if (t->timer_ready) uv_close((uv_handle_t *)&t->deadline, on_own_handle_closed);
    maybe_fire_close(t);
}

int tc_transport_init(struct raft_uv_transport *iface, uv_loop_t *loop, const tc_config *cfg)
{
    void *data = iface->data;
    memset(iface, 0, sizeof *iface);
    iface->version = 1;
    iface->data = data;
    tc_transport *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(iface->errmsg, sizeof iface->errmsg, "out of memory");
        return RAFT_NOMEM;
    }
    t->iface = iface;
    t->loop = loop;
    t->nnodes = cfg->nnodes < TC_CONFIG_MAX_NODES ? cfg->nnodes : TC_CONFIG_MAX_NODES;
    memcpy(t->nodes, cfg->nodes, t->nnodes * sizeof t->nodes[0]);
    iface->impl = t;
    if (cfg->cluster_secret_file[0] && load_secret(t, cfg->cluster_secret_file) != 0) {
        free(t);
        iface->impl = NULL;
        return RAFT_INVALID;
    }
    if (cfg->tls_replication) {
        t->tls_cfg = malloc(sizeof *t->tls_cfg);
        if (!t->tls_cfg) {
            free(t);
            iface->impl = NULL;
            snprintf(iface->errmsg, sizeof iface->errmsg, "out of memory");
            return RAFT_NOMEM;
        }
        memcpy(t->tls_cfg, cfg, sizeof *cfg);
    }
    t->plain_ok = !cfg->tls_replication || cfg->transit_mode == TC_TRANSIT_PREFERRED;
    t->preferred = cfg->tls_replication && cfg->transit_mode == TC_TRANSIT_PREFERRED;
    iface->init = transport_init;
    iface->listen = transport_listen;
    iface->connect = transport_connect;
    iface->close = transport_close;
    return 0;
}

void tc_transport_close(struct raft_uv_transport *iface)
{
    tc_transport *t = iface->impl;
    if (!t) return;
    free(t->handshake.base);
    OPENSSL_cleanse(t->secret, sizeof t->secret);
    tc_raft_tls_free(t->tls);
    free(t->tls_cfg);
    free(t);
    iface->impl = NULL;
}

unsigned long long tc_transport_refused(const struct raft_uv_transport *iface)
{
    const tc_transport *t = iface->impl;
    return t ? t->refused : 0;
}

int tc_transport_authenticates(const struct raft_uv_transport *iface)
{
    const tc_transport *t = iface->impl;
    return t && t->secret_len > 0;
}

uint64_t tc_transport_tls_failures(const struct raft_uv_transport *iface)
{
    const tc_transport *t = iface->impl;
    return t ? tc_raft_tls_failures(t->tls) : 0;
}

uint64_t tc_transport_tls_reloads(const struct raft_uv_transport *iface)
{
    const tc_transport *t = iface->impl;
    return t ? tc_raft_tls_reloads(t->tls) : 0;
}

const char *tc_transport_tls_mode(const struct raft_uv_transport *iface)
{
    const tc_transport *t = iface->impl;
    if (!t || (!t->tls && !t->tls_cfg)) return "off";
    return t->plain_ok ? "preferred" : "required";
}
