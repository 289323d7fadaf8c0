/* libFuzzer target for common/resp_client.c's reply reader.
 *
 * The input is what a server sends: it goes into one end of a socketpair
 * (the client's c.fd is the other end), the sending side is shut down, and
 * replies are read until the client gives up. The first byte picks the
 * reply size limit (tiny ones reach the limit errors) and whether replies
 * are read parsed or raw. Every reply must be well-formed (strings
 * NUL-terminated, counts matching), a raw reply must be the exact bytes
 * consumed, and any failure must leave the connection closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

#define MAX_INPUT (64 * 1024) /* fits the socket buffer: written at once */

static void walk(const tc_rc_reply *r, int depth)
{
    CHECK(depth <= TC_RC_MAX_DEPTH);
    switch (r->type) {
    case TC_RC_STATUS: case TC_RC_ERROR: case TC_RC_BULK: case TC_RC_DOUBLE: case TC_RC_BIGNUM:
        CHECK(r->str != NULL && r->str[r->len] == '\0');
        break;
    case TC_RC_ARRAY: case TC_RC_MAP: case TC_RC_SET: case TC_RC_PUSH:
        CHECK(r->type != TC_RC_MAP || r->n % 2 == 0);
        CHECK((r->n == 0) == (r->elem == NULL));
        for (size_t i = 0; i < r->n; i++) walk(&r->elem[i], depth + 1);
        break;
    case TC_RC_INT: case TC_RC_NIL:
        break;
    case TC_RC_BOOL:
        CHECK(r->integer == 0 || r->integer == 1);
        break;
    default:
        CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1 || len > MAX_INPUT) return 0;
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int size = 256 * 1024;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    tc_rc c;
    tc_rc_init(&c);
    c.fd = sv[0];
    c.timeout_ms = 1000;
    static const size_t limits[] = {TC_RC_DEFAULT_MAX_REPLY, 16, 64, 1000};
    c.max_reply = limits[data[0] & 3];
    int raw = data[0] & 4;
    size_t off = 0;
    while (off < len - 1) {
        ssize_t n = send(sv[1], data + 1 + off, len - 1 - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        CHECK(n > 0);
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    size_t consumed = 0;
    for (;;) {
        int rc;
        if (raw) {
            char *bytes;
            size_t n;
            rc = tc_rc_read_raw(&c, &bytes, &n);
            if (rc == 0) {
                CHECK(n > 0 && consumed + n <= len - 1 && bytes[n] == '\0');
                CHECK(memcmp(bytes, data + 1 + consumed, n) == 0);
                CHECK(n <= c.max_reply);
                consumed += n;
                free(bytes);
            }
        } else {
            tc_rc_reply r;
            rc = tc_rc_read(&c, &r);
            if (rc == 0) {
                walk(&r, 0);
                tc_rc_reply_free(&r);
            }
        }
        if (rc != 0) {
            CHECK(rc == -ECONNRESET || rc == -EPROTO || rc == -EMSGSIZE);
            CHECK(c.fd == -1 && c.err[0] != '\0');
            break;
        }
    }
    tc_rc_close(&c);
    close(sv[1]);
    return 0;
}
