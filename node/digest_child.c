/* DEBUG DIGEST of a big keyspace, computed in a forked child.
 *
 * Hashing every key takes ~300 ms per million keys (longer on a loaded
 * machine): on a primary that is longer than an election timeout, so a
 * tool that checks replicas with DEBUG DIGEST (tricachectl restore does)
 * would cost the cluster its primary. The child sees the keyspace as it
 * was when the command ran (copy-on-write) and writes the 40 hex digits
 * into a pipe; the node goes on serving and answers the client when they
 * arrive. */
#include "digest_child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "types/hash.h"
#include "types/list.h"
#include "types/set.h"
#include "types/stream.h"
#include "types/types.h"
#include "types/zset.h"

#define HEX_LEN 40

/* Elements of a key's value, each counted in O(1). */
static size_t elements(const tc_key *k)
{
    switch (k->type) {
    case TC_TYPE_HASH: return tc_hash_len(k);
    case TC_TYPE_ZSET: return tc_zset_card(k);
    case TC_TYPE_STREAM: return (size_t)tc_stream_of(k)->length;
    case TC_TYPE_LIST: return tc_key_list(k)->count;
    case TC_TYPE_SET: {
        tc_set s = tc_set_of(k);
        return tc_set_size(&s);
    }
    default: return 1;
    }
}

static void add_elements(void *ud, tc_key *k) { *(size_t *)ud += elements(k); }

int tc_digest_wants_child(tc_server *s)
{
    if (tc_server_keys(s) >= TC_DIGEST_CHILD_KEYS) return 1;
    size_t total = 0;
    for (int i = 0; i < s->ndbs && total < TC_DIGEST_CHILD_KEYS; i++) {
        uint64_t cursor = 0;
        do cursor = tc_ks_scan(&s->dbs[i], cursor, add_elements, &total);
        while (cursor != 0 && total < TC_DIGEST_CHILD_KEYS);
    }
    return total >= TC_DIGEST_CHILD_KEYS;
}

typedef struct digest_job {
    uv_poll_t poll;
    tc_client *client;
    pid_t pid;
    int fd;
    char hex[HEX_LEN];
    size_t got;
} digest_job;

static void on_closed(uv_handle_t *h)
{
    digest_job *j = h->data;
    close(j->fd);
    free(j);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    digest_job *j = p->data;
    if (status == 0) {
        ssize_t n = read(j->fd, j->hex + j->got, HEX_LEN - j->got);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n > 0) j->got += (size_t)n;
        if (n > 0 && j->got < HEX_LEN) return;
    }
    uv_poll_stop(p);
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    static const char failed[] = "-ERR DEBUG DIGEST failed in its child process\r\n";
    char reply[HEX_LEN + 8];
    int len = snprintf(reply, sizeof reply, "+%.*s\r\n", HEX_LEN, j->hex);
    if (j->got == HEX_LEN) tc_client_deliver(j->client, reply, (size_t)len);
    else tc_client_deliver(j->client, failed, sizeof failed - 1);
    uv_close((uv_handle_t *)p, on_closed);
}

int tc_digest_in_child(tc_server *s, tc_client *client, int64_t now_ms)
{
    digest_job *j = calloc(1, sizeof *j);
    if (!j) return -1;
    int fd;
    pid_t pid = tc_fork_with_pipe(&fd);
    if (pid < 0) {
        free(j);
        return -1;
    }
    if (pid == 0) {
        unsigned char d[20];
        char hex[HEX_LEN + 1];
        tc_ks_digest_dbs(s->dbs, s->ndbs, now_ms, d);
        for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
        _exit(write(fd, hex, HEX_LEN) == HEX_LEN ? 0 : 1);
    }
    j->client = client;
    j->pid = pid;
    j->fd = fd;
    j->poll.data = j;
    if (uv_poll_init(s->loop, &j->poll, fd) != 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        close(fd);
        free(j);
        return -1;
    }
    uv_poll_start(&j->poll, UV_READABLE, on_readable);
    client->pending++; /* answered by on_readable */
    return 0;
}
