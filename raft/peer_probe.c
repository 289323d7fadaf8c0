/* Before a founding node bootstraps an empty data directory: ask the other
 * nodes whether the cluster already counts on this node's data.
 *
 * A founding node that lost its disk and is started again with the same id
 * would bootstrap a fresh log and, with this Raft library, never catch up
 * (its log disagrees with the primary's from index 2 on). The primary's
 * INFO replication shows how much of the log each replica acknowledged: a
 * non-zero offset for this node means it had data, so starting it empty is
 * refused with the way out. At a cluster's first start nobody has an offset
 * for it, and unreachable peers are skipped: the check never blocks a start
 * for longer than one short timeout per peer. */
#include "peer_probe.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 500
#define REPLY_MAX 65536

static int dial(const char *host, int port)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, portstr, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {0, PROBE_TIMEOUT_MS * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Sends the request and reads until the INFO bulk reply is complete. */
static int ask(int fd, const char *req, char *buf, size_t cap)
{
    size_t len = strlen(req), off = 0;
    if (write(fd, req, len) != (ssize_t)len) return -1;
    for (;;) {
        ssize_t n = read(fd, buf + off, cap - 1 - off);
        if (n <= 0) return -1;
        off += (size_t)n;
        buf[off] = '\0';
        /* INFO's bulk reply: at the start, or after AUTH's "+OK" line */
        char *bulk = buf[0] == '$' ? buf : strstr(buf, "\r\n$");
        if (bulk && bulk != buf) bulk += 2;
        if (bulk && strstr(bulk, "\r\n")) {
            long blen = strtol(bulk + 1, NULL, 10);
            char *body = strstr(bulk, "\r\n") + 2;
            if (blen >= 0 && (size_t)(body - buf) + (size_t)blen <= off) return 0;
        }
        if (buf[0] == '-') return -1; /* an error (e.g. a wrong AUTH) */
        if (off + 1 >= cap) return -1;
    }
}

int tc_peer_probe_lost_data(const tc_config *cfg, const tc_node_conf *self, char *err, size_t errlen)
{
    char *buf = malloc(REPLY_MAX);
    if (!buf) return 0;
    int lost = 0;
    for (size_t i = 0; i < cfg->nnodes && !lost; i++) {
        const tc_node_conf *peer = &cfg->nodes[i];
        if (peer->id == self->id) continue;
        int fd = dial(peer->client_host, peer->client_port);
        if (fd < 0) continue;
        char req[600];
        /* AUTH first when needed; its reply ("+OK") precedes INFO's bulk */
        if (cfg->auth_token[0])
            snprintf(req, sizeof req, "AUTH %s\r\nINFO replication\r\n", cfg->auth_token);
        else
            snprintf(req, sizeof req, "INFO replication\r\n");
        if (ask(fd, req, buf, REPLY_MAX) == 0 && strstr(buf, "role:master")) {
            char needle[300];
            snprintf(needle, sizeof needle, "ip=%s,port=%d,state=", self->client_host, self->client_port);
            char *line = strstr(buf, needle);
            char *off = line ? strstr(line, "offset=") : NULL;
            unsigned long long acked = off ? strtoull(off + 7, NULL, 10) : 0;
            if (acked > 0) {
                snprintf(err, errlen,
                         "the data directory of node %d is empty, but the primary (node %d) holds %llu log entries "
                         "this node had acknowledged: it lost its data. A node that lost its data joins again as a "
                         "new member: add a [[node]] with a new id and join = true, start it, and run "
                         "tricachectl members replace %d <new id> (or MEMBERS ADD/REMOVE on the primary)",
                         self->id, peer->id, acked, self->id);
                lost = 1;
            }
        }
        close(fd);
    }
    free(buf);
    return lost;
}
