/* libFuzzer target: the bytes an outsider sends to a node's Raft port
 * (raft/transport.c): the first bytes that say what it speaks, the
 * cluster-secret proof, libraft's handshake (preamble, address) and a TLS
 * ClientHello to a node with tls_replication off. Real transports on
 * loopback: one without a secret, one with a secret; the input's first byte
 * picks one, the rest is written to a fresh connection whose write side is
 * then shut, and the loop runs until the transport has refused (closed) or
 * accepted it. Nothing may crash, leak, or leave the connection hanging. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>

#include "config.h"
#include "log.h"
#include "transport.h"

typedef struct target {
    struct raft_uv_transport t;
    int port;
} target;

static uv_loop_t loop;
static target targets[2]; /* [0] no secret, [1] a cluster secret */
static unsigned long long accepted;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static void free_stream(uv_handle_t *h) { raft_free(h); }

static void on_accept(struct raft_uv_transport *t, raft_id id, const char *address, uv_stream_t *stream)
{
    (void)t, (void)id, (void)address;
    accepted++;
    uv_close((uv_handle_t *)stream, free_stream);
}

/* Node 1 of a three-node cluster.toml; nodes 2 and 3 are the ids a peer may
 * claim (their raft ports are not listened on: nobody dials them). */
static void start(target *x, const char *secret_path)
{
    char toml[2048], err[512];
    int p2 = free_port(), p3 = free_port();
    x->port = free_port();
    snprintf(toml, sizeof toml,
             "cluster_secret_file = \"%s\"\n"
             "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:1\"\nraft_addr = \"127.0.0.1:%d\"\n"
             "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:2\"\nraft_addr = \"127.0.0.1:%d\"\n"
             "[[node]]\nid = 3\nzone = \"c\"\nclient_addr = \"127.0.0.1:3\"\nraft_addr = \"127.0.0.1:%d\"\n",
             secret_path, x->port, p2, p3);
    tc_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || tc_config_parse(cfg, "fuzz.toml", toml, strlen(toml), err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        abort();
    }
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%d", x->port);
    if (tc_transport_init(&x->t, &loop, cfg) != 0 || x->t.init(&x->t, 1, address) != 0 ||
        x->t.listen(&x->t, on_accept) != 0) {
        fprintf(stderr, "transport: %s\n", x->t.errmsg);
        abort();
    }
    free(cfg);
}

static void setup(void)
{
    tc_log_set_level(TC_LOG_WARNING); /* refusals are logged, 5 a second at most */
    uv_loop_init(&loop);
    char path[] = "/tmp/fuzz-raft-secret-XXXXXX";
    int fd = mkstemp(path); /* mode 0600 */
    const char secret[] = "0123456789abcdef0123456789abcdef\n";
    if (fd < 0 || write(fd, secret, sizeof secret - 1) != (ssize_t)(sizeof secret - 1)) abort();
    close(fd);
    start(&targets[0], "");
    start(&targets[1], path);
    unlink(path); /* read at init */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1 || size > 4096) return 0;
    target *x = &targets[data[0] & 1];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)x->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) abort();
    /* the kernel takes it all (loopback buffers hold far more than 4 KiB) */
    if (size > 1 && send(fd, data + 1, size - 1, MSG_NOSIGNAL) < 0 && errno != ECONNRESET && errno != EPIPE) abort();
    shutdown(fd, SHUT_WR);
    /* until the transport closes its end: a refusal, or libraft's stand-in
     * closing an accepted stream (the 1 s handshake deadline bounds it) */
    for (int rounds = 0;; rounds++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1) > 0) {
            char buf[256];
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN)) break;
        }
        if (rounds > 5000) {
            fprintf(stderr, "the transport neither refused nor accepted the connection within 5 s\n");
            abort();
        }
    }
    close(fd);
    uv_run(&loop, UV_RUN_NOWAIT); /* closes what the refusal started closing */
    return 0;
}
