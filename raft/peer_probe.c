/* Before a founding node bootstraps an empty data directory: ask the other
 * nodes whether the cluster already counts on this node's data.
 *
 * A founding node that lost its disk and is started again with the same id
 * would bootstrap a fresh log: it forgot its votes and the entries it
 * acknowledged, which Raft's safety rests on. Two answers prove it had data:
 * any peer (primary or not) reporting raft_cluster_formed:1 - every founding
 * voter, this one included, acknowledged the log once (node/cluster_formed.h)
 * - or a primary that shows a non-zero acknowledged offset for this node.
 *
 * When is a start a new cluster's first one? When every peer has answered
 * without such proof. Peers that start at the same moment are probing too,
 * before their event loop runs, so the probe answers their INFO itself with
 * "raft_probing:1" while it asks them: a whole new cluster starts at once.
 * A peer that accepted the connection but stays silent is loading its log
 * (a whole-cluster restart): the probe waits for it, up to a bound. Peers
 * that are not running at all are waited for a short while only, so a node
 * started alone for the first time still starts.
 *
 * With transit_encryption_mode = "required" a running peer's plain port
 * answers only "-ERR this node accepts TLS connections only": the probe then
 * asks that peer again over TLS (its tls_client_addr, the node's own
 * certificate as the client's), in one blocking exchange bounded by a
 * second. Peers that are probing themselves still answer on the plain port
 * (the fixed PROBING_INFO below, nothing about the node), since their TLS
 * listener only opens with their event loop. */
#include "peer_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

/* peers not running: how long to give them to come up before bootstrapping */
#define WAIT_FOR_ANY_MS 3000
/* a peer accepted but has not answered (loading its log): the upper bound */
#define WAIT_FOR_SILENT_MS 30000
#define RETRY_MS 200
#define REPLY_MAX 65536
#define MAX_INCOMING 16
#define TLS_ASK_MS 1000
/* how a node under transit_encryption_mode = "required" answers on its plain port */
#define TLS_ONLY "TLS connections only"

/* what this node answers a probing peer: it holds nothing and probes too */
static const char PROBING_INFO[] = "# Replication\r\nrole:slave\r\nraft_cluster_formed:0\r\nraft_probing:1\r\n";

enum { P_IDLE, P_CONNECTING, P_READING, P_DONE };

typedef struct {
    const tc_node_conf *conf;
    int fd, state;
    int running;           /* it accepted a connection once: it is up, maybe loading its log */
    long long next_try_ms;
    char *buf;
    size_t len;
} peer;

typedef struct {
    int fd;
    char req[256];
    size_t len;
} incoming;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_close(peer *p, long long now)
{
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    p->len = 0;
    p->state = P_IDLE;
    p->next_try_ms = now + RETRY_MS;
}

static void peer_connect(peer *p, long long now)
{
    char port[16];
    snprintf(port, sizeof port, "%d", p->conf->client_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(p->conf->client_host, port, &hints, &res) != 0 || !res) {
        p->next_try_ms = now + RETRY_MS;
        return;
    }
    p->fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, res->ai_protocol);
    if (p->fd >= 0 && connect(p->fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(p->fd);
        p->fd = -1;
    }
    freeaddrinfo(res);
    if (p->fd < 0) p->next_try_ms = now + RETRY_MS;
    else p->state = P_CONNECTING;
}

/* INFO's bulk reply is whole in p->buf (after AUTH's "+OK" when sent)? */
static int reply_complete(const char *buf, size_t len)
{
    const char *bulk = buf[0] == '$' ? buf : strstr(buf, "\r\n$");
    if (bulk && bulk != buf) bulk += 2;
    if (!bulk || !strstr(bulk, "\r\n")) return 0;
    long blen = strtol(bulk + 1, NULL, 10);
    const char *body = strstr(bulk, "\r\n") + 2;
    return blen >= 0 && (size_t)(body - buf) + (size_t)blen <= len;
}

/* 1 with err set when the answer proves this node had data. */
static int judge(const peer *p, const tc_node_conf *self, char *err, size_t errlen)
{
    const char *hint = "A node that lost its data joins again as a new member: add a [[node]] with a new id and "
                       "join = true, start it, and run tricachectl members replace";
    if (strstr(p->buf, "raft_cluster_formed:1")) {
        snprintf(err, errlen,
                 "the data directory of node %d is empty, but node %d reports that the cluster has formed: every "
                 "founding node, this one included, had acknowledged its log, so this node lost its data. %s %d "
                 "<new id> (or MEMBERS ADD/REMOVE on the primary)",
                 self->id, p->conf->id, hint, self->id);
        return 1;
    }
    if (!strstr(p->buf, "role:master")) return 0;
    char needle[300];
    snprintf(needle, sizeof needle, "ip=%s,port=%d,state=", self->client_host, self->client_port);
    const char *line = strstr(p->buf, needle);
    const char *off = line ? strstr(line, "offset=") : NULL;
    unsigned long long acked = off ? strtoull(off + 7, NULL, 10) : 0;
    if (acked == 0) return 0;
    snprintf(err, errlen,
             "the data directory of node %d is empty, but the primary (node %d) holds %llu log entries this node had "
             "acknowledged: it lost its data. %s %d <new id> (or MEMBERS ADD/REMOVE on the primary)",
             self->id, p->conf->id, acked, hint, self->id);
    return 1;
}

/* Reads what a peer sent; answers once its INFO has arrived. 1 when done
 * with the connection. */
static int serve_incoming(incoming *in)
{
    ssize_t n = read(in->fd, in->req + in->len, sizeof in->req - 1 - in->len);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : 1;
    in->len += (size_t)n;
    in->req[in->len] = '\0';
    const char *info = strcasestr(in->req, "INFO");
    if (!info || !strstr(info, "\r\n")) return in->len + 1 >= sizeof in->req;
    char reply[sizeof PROBING_INFO + 64];
    int len = snprintf(reply, sizeof reply, "%s$%zu\r\n%s\r\n", strncasecmp(in->req, "AUTH", 4) == 0 ? "+OK\r\n" : "",
                       sizeof PROBING_INFO - 1, PROBING_INFO);
    if (write(in->fd, reply, (size_t)len) < 0) { /* the peer went: it asks again */
    }
    return 1;
}

static void accept_incoming(int listen_fd, incoming *in, size_t *nin)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (*nin == MAX_INCOMING) {
            close(fd);
            continue;
        }
        in[*nin] = (incoming){.fd = fd};
        (*nin)++;
    }
}

/* The peer refused plaintext: INFO replication over TLS into p->buf. 0, or
 * -1 (ask again later). */
static int ask_over_tls(peer *p, const tc_config *cfg)
{
    char why[512];
    tc_rc_tls *tls = tc_rc_tls_new(cfg->tls_ca_cert_file, cfg->tls_ca_cert_dir, cfg->tls_cert_file, cfg->tls_key_file,
                                   why, sizeof why);
    if (!tls) {
        tc_warn("start-up probe of node %d over TLS: %s", p->conf->id, why);
        return -1;
    }
    tc_rc c;
    tc_rc_init(&c);
    int rc = tc_rc_connect_tls(&c, p->conf->tls_host, p->conf->tls_port, TLS_ASK_MS, tls);
    tc_rc_tls_free(tls);
    tc_rc_reply r = {0};
    if (rc == 0 && cfg->auth_token[0]) {
        const char *auth[] = {"AUTH", cfg->auth_token};
        rc = tc_rc_command(&c, &r, 2, auth, NULL);
        if (rc == 0 && r.type != TC_RC_STATUS) rc = -1;
        tc_rc_reply_free(&r);
    }
    if (rc == 0) {
        const char *info[] = {"INFO", "replication"};
        rc = tc_rc_command(&c, &r, 2, info, NULL);
        if (rc == 0 && r.type == TC_RC_BULK && r.len < REPLY_MAX) {
            memcpy(p->buf, r.str, r.len + 1);
            p->len = r.len;
        } else {
            rc = -1;
        }
        tc_rc_reply_free(&r);
    }
    if (rc != 0 && c.err[0]) tc_warn("start-up probe of node %d over TLS: %s", p->conf->id, c.err);
    tc_rc_close(&c);
    return rc == 0 ? 0 : -1;
}

/* Drives the connections to the peers one step; 1 when one proved data lost. */
static int step_peer(peer *p, short revents, const tc_config *cfg, const tc_node_conf *self, long long now,
                     char *err, size_t errlen)
{
    if (p->state == P_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0 || (revents & (POLLERR | POLLHUP))) {
            peer_close(p, now);
            return 0;
        }
        p->running = 1;
        char req[600];
        /* AUTH first when needed; its reply ("+OK") precedes INFO's bulk */
        int len = cfg->auth_token[0] ? snprintf(req, sizeof req, "AUTH %s\r\nINFO replication\r\n", cfg->auth_token)
                                     : snprintf(req, sizeof req, "INFO replication\r\n");
        if (write(p->fd, req, (size_t)len) != len) {
            peer_close(p, now);
            return 0;
        }
        p->state = P_READING;
        return 0;
    }
    ssize_t n = read(p->fd, p->buf + p->len, REPLY_MAX - 1 - p->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n > 0) {
        p->len += (size_t)n;
        p->buf[p->len] = '\0';
    }
    if (n > 0 && p->buf[0] == '-' && strstr(p->buf, TLS_ONLY) && p->conf->tls_port &&
        cfg->transit_mode == TC_TRANSIT_REQUIRED) {
        close(p->fd);
        p->fd = -1;
        if (ask_over_tls(p, cfg) != 0) {
            peer_close(p, now);
            return 0;
        }
        p->state = P_DONE;
        return judge(p, self, err, errlen);
    }
    if (n <= 0 || p->buf[0] == '-') { /* closed, or an error (a wrong AUTH): ask again later */
        peer_close(p, now);
        return 0;
    }
    if (!reply_complete(p->buf, p->len)) {
        if (p->len + 1 >= REPLY_MAX) peer_close(p, now);
        return 0;
    }
    close(p->fd);
    p->fd = -1;
    p->state = P_DONE;
    return judge(p, self, err, errlen);
}

int tc_peer_probe_lost_data(const tc_config *cfg, const tc_node_conf *self, int listen_fd, char *err, size_t errlen)
{
    peer peers[TC_CONFIG_MAX_NODES];
    size_t np = 0;
    for (size_t i = 0; i < cfg->nnodes; i++) {
        if (cfg->nodes[i].id == self->id) continue;
        peers[np] = (peer){.conf = &cfg->nodes[i], .fd = -1};
        peers[np].buf = malloc(REPLY_MAX);
        if (!peers[np].buf) break;
        np++;
    }
    incoming in[MAX_INCOMING];
    size_t nin = 0;
    long long start = now_ms();
    int lost = 0;
    for (;;) {
        long long now = now_ms();
        size_t answered = 0, silent = 0;
        for (size_t i = 0; i < np; i++) {
            answered += peers[i].state == P_DONE;
            silent += peers[i].running && peers[i].state != P_DONE;
            if (peers[i].state == P_IDLE && now >= peers[i].next_try_ms) peer_connect(&peers[i], now);
        }
        if (answered == np) break;
        /* the rest are not running: they get a short while to come up */
        if (silent == 0 && now - start >= WAIT_FOR_ANY_MS) break;
        if (now - start >= WAIT_FOR_SILENT_MS) {
            tc_warn("starting on an empty data directory although %zu peer(s) did not answer within %d s: if this "
                    "node had data before, stop it and rejoin it as a new member",
                    np - answered, WAIT_FOR_SILENT_MS / 1000);
            break;
        }
        struct pollfd pfd[TC_CONFIG_MAX_NODES + MAX_INCOMING + 1];
        size_t map[TC_CONFIG_MAX_NODES];
        size_t npfd = 0;
        if (listen_fd >= 0) pfd[npfd++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        size_t in_base = npfd;
        for (size_t i = 0; i < nin; i++) pfd[npfd++] = (struct pollfd){.fd = in[i].fd, .events = POLLIN};
        size_t peer_base = npfd;
        for (size_t i = 0; i < np; i++) {
            if (peers[i].state != P_CONNECTING && peers[i].state != P_READING) continue;
            map[npfd - peer_base] = i;
            pfd[npfd++] = (struct pollfd){.fd = peers[i].fd,
                                          .events = peers[i].state == P_CONNECTING ? POLLOUT : POLLIN};
        }
        if (poll(pfd, npfd, 50) < 0 && errno != EINTR) break;
        now = now_ms();
        /* backwards: the connection moved into a finished one's slot was
         * looked at already */
        for (size_t k = peer_base - in_base; k-- > 0;) {
            if (pfd[in_base + k].revents && serve_incoming(&in[k])) {
                close(in[k].fd);
                in[k] = in[--nin];
            }
        }
        if (listen_fd >= 0 && (pfd[0].revents & POLLIN)) accept_incoming(listen_fd, in, &nin);
        for (size_t i = peer_base; i < npfd && !lost; i++)
            if (pfd[i].revents) lost = step_peer(&peers[map[i - peer_base]], pfd[i].revents, cfg, self, now, err, errlen);
        if (lost) break;
    }
    for (size_t i = 0; i < np; i++) {
        if (peers[i].fd >= 0) close(peers[i].fd);
        free(peers[i].buf);
    }
    for (size_t i = 0; i < nin; i++) close(in[i].fd);
    return lost;
}
