#include "raft_node.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "peer_probe.h"
#include "transport.h"

/* In-flight entries: the library's default of 32 cost us 6.5x throughput
 * (RAFT-NOTES.md); batching keeps the count low anyway. */
#define MAX_INFLIGHT 256
/* Entries kept after a snapshot, so a briefly lagging replica catches up
 * from the log rather than a whole image (at most half the threshold). */
#define SNAPSHOT_TRAILING 8192
/* Redial a peer quickly: the default (1 s) outlasts our election timeout. */
#define CONNECT_RETRY_MS 100

static tc_raftnode *node_of(struct raft_fsm *fsm) { return fsm->data; }

/* ---- FSM ---------------------------------------------------------------- */

typedef struct apply_req {
    struct raft_apply req;
    tc_raftnode *node;
    tc_batch *batch;
    tc_apply_replies replies;
    struct apply_req *next;
} apply_req;

/* The batch a just-committed entry carries, if this node submitted it: the
 * entry being applied has index last_applied + 1, and our submissions sit
 * in the log in the order we made them. */
static apply_req *submitted_entry(tc_raftnode *n)
{
    raft_index index = raft_last_applied(&n->raft) + 1;
    apply_req *a = n->inflight_head;
    while (a && a->req.index < index) a = a->next;
    return a && a->req.index == index ? a : NULL;
}

/* The keyring of sealed entries and snapshots. An id it does not hold
 * makes it read keys_dir again, once per miss: during a key rotation the
 * nodes restarted first seal with the new key while the others, which got
 * the key file but not yet a restart, must read it. */
static const tc_snapshot_key *node_key(void *ud, uint32_t id)
{
    tc_raftnode *n = ud;
    const tc_snapshot_key *k = tc_snapshot_keydir_lookup(n->keys, id);
    if (k || !n->srv->cfg.keys_dir[0]) return k;
    tc_snapshot_keydir fresh;
    char err[512];
    if (tc_snapshot_keydir_load(&fresh, n->srv->cfg.keys_dir, err, sizeof err) != 0) {
        tc_warn("looking for key id %u: %s", id, err);
        return NULL;
    }
    if (!tc_snapshot_keydir_lookup(&fresh, id)) {
        tc_snapshot_keydir_clear(&fresh);
        return NULL;
    }
    tc_snapshot_keydir_clear(n->keys);
    *n->keys = fresh;
    tc_notice("key id %u found in keys_dir %s (now %zu keys)", id, n->srv->cfg.keys_dir, n->keys->n);
    return tc_snapshot_keydir_lookup(n->keys, id);
}

/* A sealed entry that cannot be opened must not be skipped (this node
 * would diverge) nor retried (it fails the same way): stop, saying which
 * key is missing, before anything of it is applied. */
static void stop_on_unreadable_entry(tc_raftnode *n, const char *why)
{
    tc_warn("cannot read Raft log entry %llu: %s. Stopping: put the cluster's key files in keys_dir (%s) and start again",
            (unsigned long long)raft_last_applied(&n->raft) + 1, why, n->srv->cfg.keys_dir[0] ? n->srv->cfg.keys_dir : "not set");
    exit(1);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    tc_raftnode *n = node_of(fsm);
    apply_req *a = submitted_entry(n);
    const void *data = buf->base;
    size_t len = buf->len;
    if (tc_snapshot_is_sealed(data, len)) {
        char err[300];
        if (tc_snapshot_open_sealed(n->opener, buf->base, buf->len, &data, &len, err, sizeof err) != 0)
            stop_on_unreadable_entry(n, err);
    }
    tc_router_fsm_apply(&n->router, data, len, a ? &a->replies : NULL);
    *result = NULL;
    return 0; /* never fail: a failing apply stalls the node */
}

/* Snapshots are taken by a forked child writing the keyspace image to a
 * file: the event loop pays only for fork() (copying page tables), the
 * child sees the keyspace frozen at that instant through copy-on-write, and
 * raft reads the finished file in its threadpool (snapshot_async). */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    /* raft retries later; a staged restore is not in the image, so the
     * log must keep its entries until the restore ends */
    if (n->snap_child > 0 || n->srv->staging) return RAFT_BUSY;
    snprintf(n->snap_path, sizeof n->snap_path, "%s/keyspace-image.tmp", n->dir);
    int fd = open(n->snap_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        tc_warn("raft snapshot: cannot create %s: %s", n->snap_path, strerror(errno));
        return RAFT_IOERR;
    }
    uint64_t start = uv_hrtime();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        tc_warn("raft snapshot: fork failed: %s", strerror(errno));
        return RAFT_NOMEM;
    }
    if (pid == 0) {
        /* The child holds no client or peer socket open: a connection the
         * parent closes must really close. */
        if (fd > 3) close_range(3, (unsigned)fd - 1, 0);
        close_range((unsigned)fd + 1, ~0U, 0);
        char err[256];
        tc_image_opts o = {.raft_index = raft_last_applied(&n->raft), .raft_term = raft_current_term(&n->raft),
                           .key = n->sealer ? tc_snapshot_keydir_newest(n->keys) : NULL};
        int rc = tc_image_write_fd(n->srv, &n->router.apply, &o, fd, err, sizeof err);
        if (rc == 0 && fsync(fd) != 0) rc = -1;
        if (rc != 0) tc_warn("raft snapshot child: %s", err);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fd);
    n->snap_child = pid;
    tc_info("raft snapshot: child %d forked in %.2f ms for %zu keys", (int)pid,
            (double)(uv_hrtime() - start) / 1e6, tc_ks_size(&n->srv->ks));
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

/* In raft's threadpool: wait for the child, load its file. */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    int status = 0, rc = RAFT_IOERR;
    pid_t pid = n->snap_child;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int fd = -1;
    struct raft_buffer *b = NULL;
    struct stat st;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) goto out;
    fd = open(n->snap_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) goto out;
    b = raft_malloc(sizeof *b);
    if (!b || !(b->base = raft_malloc((size_t)st.st_size))) {
        rc = RAFT_NOMEM;
        goto out;
    }
    b->len = (size_t)st.st_size;
    for (size_t off = 0; off < b->len;) {
        ssize_t got = read(fd, (char *)b->base + off, b->len - off);
        if (got <= 0) goto out;
        off += (size_t)got;
    }
    *bufs = b;
    *n_bufs = 1;
    b = NULL;
    rc = 0;
out:
    if (b) {
        raft_free(b->base);
        raft_free(b);
    }
    if (fd >= 0) close(fd);
    unlink(n->snap_path);
    n->snap_child = 0;
    return rc;
}
static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    if (n->snap_child > 0) { /* taken but never loaded: reap the child */
        waitpid(n->snap_child, NULL, 0);
        unlink(n->snap_path);
        n->snap_child = 0;
    }
    for (unsigned i = 0; i < *n_bufs; i++) raft_free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    tc_raftnode *n = node_of(fsm);
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "raft snapshot", .keyring = node_key,
                                  .keyring_ud = n};
    int rc = tc_image_load(n->srv, &n->router.apply, buf->base, buf->len, &ro, err, sizeof err);
    if (rc != 0) tc_warn("cannot restore a Raft snapshot: %s", err);
    else tc_notice("restored a Raft snapshot: %zu keys", tc_ks_size(&n->srv->ks));
    raft_free(buf->base); /* ours once restore is called */
    return rc == 0 ? 0 : RAFT_CORRUPT;
}

/* ---- log operations for the router -------------------------------------- */

int tc_raftnode_role(tc_raftnode *n)
{
    if (!n->started) return TC_ROLE_NONE;
    switch (raft_state(&n->raft)) {
    case RAFT_LEADER: return TC_ROLE_PRIMARY;
    case RAFT_FOLLOWER: {
        raft_id id = 0;
        const char *addr = NULL;
        raft_leader(&n->raft, &id, &addr);
        return id ? TC_ROLE_REPLICA : TC_ROLE_NONE;
    }
    default: return TC_ROLE_NONE;
    }
}

const tc_node_conf *tc_raftnode_primary(tc_raftnode *n)
{
    raft_id id = 0;
    const char *addr = NULL;
    if (!n->started) return NULL;
    raft_leader(&n->raft, &id, &addr);
    return id ? tc_config_node(&n->srv->cfg, (int)id) : NULL;
}

static int op_role(void *ud) { return tc_raftnode_role(ud); }

static void on_applied(struct raft_apply *req, int status, void *result)
{
    (void)result;
    apply_req *a = (apply_req *)req;
    tc_raftnode *n = a->node;
    /* unlink: callbacks come in log order, so it is normally the head */
    apply_req **link = &n->inflight_head, *prev = NULL;
    while (*link && *link != a) {
        prev = *link;
        link = &(*link)->next;
    }
    if (*link) {
        *link = a->next;
        if (n->inflight_tail == a) n->inflight_tail = prev;
    }
    if (status != 0) tc_info("a replicated write failed: %s", raft_strerror(status));
    tc_router_committed(&n->router, a->batch, status, status == 0 ? &a->replies : NULL);
    tc_apply_replies_free(&a->replies);
    free(a);
}

static int op_submit(void *ud, const void *entry, size_t len, tc_batch *batch)
{
    tc_raftnode *n = ud;
    apply_req *a = calloc(1, sizeof *a);
    /* raft wants payloads in whole 8-byte units; the entry format and the
     * sealed format allow zero padding. */
    size_t stored = n->sealer ? len + TC_SNAPSHOT_SEALED_OVERHEAD : len;
    size_t padded = (stored + 7) & ~(size_t)7;
    struct raft_buffer buf = {raft_malloc(padded), padded};
    if (!a || !buf.base || len > TC_SNAPSHOT_SEALED_MAX) {
        free(a);
        raft_free(buf.base);
        return -1;
    }
    if (!n->sealer) memcpy(buf.base, entry, len);
    else if (tc_snapshot_seal(n->sealer, entry, len, buf.base) != 0) {
        tc_warn("cannot encrypt a log entry (OpenSSL failed); the write is refused");
        free(a);
        raft_free(buf.base);
        return -1;
    }
    memset((char *)buf.base + stored, 0, padded - stored);
    a->node = n;
    a->batch = batch;
    /* raft_apply refuses these two cases before taking the payload */
    if (raft_state(&n->raft) != RAFT_LEADER || raft_transferee(&n->raft) != 0) {
        raft_free(buf.base);
        free(a);
        return -1;
    }
    int rc = raft_apply(&n->raft, &a->req, &buf, 1, on_applied);
    if (rc != 0) {
        /* Past the leader check, a failing raft_apply has already put the
         * payload in its log and freed it when it backed out. */
        tc_warn("raft_apply: %s (%s)", raft_strerror(rc), raft_errmsg(&n->raft));
        free(a);
        return -1;
    }
    if (n->inflight_tail) n->inflight_tail->next = a;
    else n->inflight_head = a;
    n->inflight_tail = a;
    return 0;
}

typedef struct barrier_req {
    struct raft_barrier req;
    tc_raftnode *node;
} barrier_req;

static void on_barrier(struct raft_barrier *req, int status)
{
    barrier_req *b = (barrier_req *)req;
    tc_router_barrier_done(&b->node->router, status);
    free(b);
}

static int op_barrier(void *ud)
{
    tc_raftnode *n = ud;
    barrier_req *b = calloc(1, sizeof *b);
    if (!b) return -1;
    b->node = n;
    if (raft_barrier(&n->raft, &b->req, on_barrier) != 0) {
        free(b);
        return -1;
    }
    return 0;
}

static uint64_t op_applied_index(void *ud)
{
    tc_raftnode *n = ud;
    return n->started ? raft_last_applied(&n->raft) : 0;
}

/* ---- INFO replication and ROLE ---------------------------------------------- */

static tc_raftnode *node_of_server(tc_server *s) { return s->shutdown_ud; }

static void info_replication(tc_server *s, tc_buf *b)
{
    tc_raftnode *n = node_of_server(s);
    int role = tc_raftnode_role(n);
    uint64_t applied = raft_last_applied(&n->raft);
    if (role == TC_ROLE_PRIMARY) {
        size_t replicas = s->cfg.nnodes - 1;
        tc_buf_printf(b, "role:master\r\nconnected_slaves:%zu\r\n", replicas);
        size_t k = 0;
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            const tc_node_conf *nc = &s->cfg.nodes[i];
            if (nc->id == s->self->id) continue;
            raft_index match = 0;
            raft_match_index(&n->raft, (raft_id)nc->id, &match);
            tc_buf_printf(b, "slave%zu:ip=%s,port=%d,state=%s,offset=%llu,lag=%llu\r\n", k++, nc->client_host,
                          nc->client_port, match ? "online" : "wait_bgsave", (unsigned long long)match,
                          (unsigned long long)(raft_last_index(&n->raft) - match));
        }
    } else {
        const tc_node_conf *p = tc_raftnode_primary(n);
        int64_t silent = tc_now_ms() - n->router.last_progress_ms;
        tc_buf_printf(b,
                      "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
                      "master_last_io_seconds_ago:%lld\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:%llu\r\n"
                      "slave_read_only:1\r\nconnected_slaves:0\r\n",
                      p ? p->client_host : "?", p ? p->client_port : 0,
                      role == TC_ROLE_REPLICA && silent <= n->router.max_staleness_ms ? "up" : "down",
                      (long long)(silent / 1000), (unsigned long long)applied);
    }
    tc_buf_printf(b,
                  "master_replid:%s\r\nmaster_repl_offset:%llu\r\nraft_node_id:%d\r\nraft_state:%s\r\n"
                  "raft_term:%llu\r\nraft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
                  "raft_last_index:%llu\r\n",
                  s->cfg.cluster_name, (unsigned long long)applied, s->self->id, raft_state_name(raft_state(&n->raft)),
                  (unsigned long long)raft_current_term(&n->raft), (unsigned long long)raft_commit_index(&n->raft),
                  (unsigned long long)applied, (unsigned long long)raft_last_index(&n->raft));
}

static void role_reply(tc_server *s, tc_reply *r)
{
    tc_raftnode *n = node_of_server(s);
    uint64_t applied = raft_last_applied(&n->raft);
    if (tc_raftnode_role(n) == TC_ROLE_PRIMARY) {
        tc_reply_array(r, 3);
        tc_reply_bulks(r, "master");
        tc_reply_int(r, (long long)applied);
        tc_reply_array(r, s->cfg.nnodes - 1);
        for (size_t i = 0; i < s->cfg.nnodes; i++) {
            const tc_node_conf *nc = &s->cfg.nodes[i];
            if (nc->id == s->self->id) continue;
            raft_index match = 0;
            raft_match_index(&n->raft, (raft_id)nc->id, &match);
            tc_reply_array(r, 3);
            tc_reply_bulks(r, nc->client_host);
            tc_reply_bulk_ll(r, nc->client_port);
            tc_reply_bulk_ll(r, (long long)match);
        }
        return;
    }
    const tc_node_conf *p = tc_raftnode_primary(n);
    tc_reply_array(r, 5);
    tc_reply_bulks(r, "slave");
    tc_reply_bulks(r, p ? p->client_host : "?");
    tc_reply_int(r, p ? p->client_port : 0);
    tc_reply_bulks(r, p ? "connected" : "connect");
    tc_reply_int(r, (long long)applied);
}

static int primary_id(tc_server *s)
{
    const tc_node_conf *p = tc_raftnode_primary(node_of_server(s));
    return p ? p->id : 0;
}

typedef struct transfer_req {
    struct raft_transfer req;
    tc_raftnode *node;
    uint64_t start_ns;
} transfer_req;

static void on_transferred(struct raft_transfer *req)
{
    transfer_req *t = (transfer_req *)req;
    const tc_node_conf *p = tc_raftnode_primary(t->node);
    tc_notice("leadership transfer finished after %.1f ms; primary is now node %d",
              (double)(uv_hrtime() - t->start_ns) / 1e6, p ? p->id : 0);
    t->node->transferring = 0;
    free(t);
}

static int failover(tc_server *s, int target, char *err, size_t errlen)
{
    tc_raftnode *n = node_of_server(s);
    if (tc_raftnode_role(n) != TC_ROLE_PRIMARY) {
        snprintf(err, errlen, "ERR FAILOVER is not valid when server is a replica.");
        return -1;
    }
    if (n->transferring) {
        snprintf(err, errlen, "ERR FAILOVER already in progress.");
        return -1;
    }
    transfer_req *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    t->node = n;
    t->start_ns = uv_hrtime();
    int rc = raft_transfer(&n->raft, &t->req, (raft_id)target, on_transferred);
    if (rc != 0) {
        free(t);
        snprintf(err, errlen, "ERR FAILOVER could not start: %s", raft_strerror(rc));
        return -1;
    }
    n->transferring = 1;
    tc_notice("leadership transfer to %s started (FAILOVER)", target ? "the requested node" : "the most up-to-date replica");
    return 0;
}

/* ---- backups ---------------------------------------------------------------- */

static void backup_position(void *ud, uint64_t *index, uint64_t *term, const tc_apply_state **apply)
{
    tc_raftnode *n = ud;
    *index = raft_last_applied(&n->raft);
    *term = raft_current_term(&n->raft);
    *apply = &n->router.apply;
}

static int backup_is_primary(void *ud) { return tc_raftnode_role(ud) == TC_ROLE_PRIMARY; }

/* The replica that holds the most of the log (so the backup is recent and
 * the primary keeps its CPU for clients); this node when no replica has
 * been heard from within replica_max_staleness. */
static int backup_pick_node(void *ud)
{
    tc_raftnode *n = ud;
    tc_server *s = n->srv;
    int best = s->self->id;
    raft_index best_match = 0, last = raft_last_index(&n->raft);
    for (size_t i = 0; i < s->cfg.nnodes; i++) {
        const tc_node_conf *nc = &s->cfg.nodes[i];
        raft_index match = 0;
        if (nc->id == s->self->id || raft_match_index(&n->raft, (raft_id)nc->id, &match) != 0) continue;
        if (match > best_match && last - match < 1000) {
            best = nc->id;
            best_match = match;
        }
    }
    return best;
}

static int backup_submit(void *ud, size_t argc, const tc_slice *argv)
{
    tc_raftnode *n = ud;
    return tc_router_submit_command(&n->router, argc, argv, tc_now_ms());
}

void tc_raftnode_backup_ops(tc_raftnode *n, tc_backup_job_ops *ops)
{
    ops->ud = n;
    ops->position = backup_position;
    ops->is_primary = backup_is_primary;
    ops->pick_node = backup_pick_node;
    ops->submit = backup_submit;
}

/* ---- membership ------------------------------------------------------------ */

static const char *role_name(int role)
{
    return role == RAFT_VOTER ? "voter" : role == RAFT_STANDBY ? "standby" : "spare";
}

static void members_list(tc_server *s, tc_reply *r)
{
    tc_raftnode *n = node_of_server(s);
    const struct raft_configuration *conf = &n->raft.configuration;
    tc_reply_array(r, conf->n);
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *m = &conf->servers[i];
        const tc_node_conf *nc = tc_config_node(&s->cfg, (int)m->id);
        tc_reply_array(r, 4);
        tc_reply_int(r, (long long)m->id);
        tc_reply_bulks(r, m->address);
        tc_reply_bulks(r, role_name(m->role));
        tc_reply_bulks(r, nc ? nc->zone : "?");
    }
}

typedef struct change_req {
    struct raft_change req;
    tc_raftnode *node;
    tc_client *client;
    int id;
    int step; /* 0: added as spare, next make it a voter; 1: done */
} change_req;

static void change_reply(change_req *ch, int status)
{
    char line[256];
    int len;
    if (status == 0)
        len = snprintf(line, sizeof line, "+OK\r\n");
    else
        len = snprintf(line, sizeof line, "-ERR membership change for node %d failed: %s\r\n", ch->id,
                       raft_strerror(status));
    tc_client_deliver(ch->client, line, (size_t)len);
    free(ch);
}

static void on_changed(struct raft_change *req, int status)
{
    change_req *ch = (change_req *)req;
    if (status == 0 && ch->step == 0) {
        /* Added without a vote; raft_assign catches it up first and only
         * then appends the configuration that makes it a voter. */
        ch->step = 1;
        tc_notice("node %d added; catching it up before it becomes a voter", ch->id);
        int rc = raft_assign(&ch->node->raft, &ch->req, (raft_id)ch->id, RAFT_VOTER, on_changed);
        if (rc == 0) return;
        status = rc;
    }
    if (status == 0) tc_notice("membership change for node %d committed", ch->id);
    change_reply(ch, status);
}

static int members_change(tc_server *s, tc_client *c, int add, int id, char *err, size_t errlen)
{
    tc_raftnode *n = node_of_server(s);
    if (tc_raftnode_role(n) != TC_ROLE_PRIMARY) {
        snprintf(err, errlen, "ERR MEMBERS ADD/REMOVE must be sent to the primary");
        return -1;
    }
    const tc_node_conf *nc = tc_config_node(&s->cfg, id);
    change_req *ch = calloc(1, sizeof *ch);
    if (!ch) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    ch->node = n;
    ch->client = c;
    ch->id = id;
    int rc;
    if (add) {
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", nc->raft_host, nc->raft_port);
        rc = raft_add(&n->raft, &ch->req, (raft_id)id, addr, on_changed);
    } else {
        ch->step = 1;
        rc = raft_remove(&n->raft, &ch->req, (raft_id)id, on_changed);
    }
    if (rc != 0) {
        free(ch);
        snprintf(err, errlen, "ERR cannot %s node %d: %s", add ? "add" : "remove", id, raft_strerror(rc));
        return -1;
    }
    c->pending++; /* answered by change_reply */
    tc_notice("membership change started: %s node %d", add ? "add" : "remove", id);
    return 0;
}

/* ---- preferred primary zones ------------------------------------------------- */

/* Is zone one of the comma-separated names in list? */
static int zone_listed(const char *list, const char *zone)
{
    size_t zl = strlen(zone);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if (len == zl && memcmp(p, zone, zl) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* On a primary outside the preferred zones: hand leadership to a node in
 * one of them that holds the whole log, after a settling period so that a
 * flapping node does not pull leadership back and forth. */
#define PREFERRED_ZONE_SETTLE_MS 3000

static void move_to_preferred_zone(tc_raftnode *n, int64_t now)
{
    tc_server *s = n->srv;
    const char *zones = s->cfg.preferred_primary_zones;
    if (!zones[0] || tc_raftnode_role(n) != TC_ROLE_PRIMARY) {
        n->leader_since_ms = 0;
        return;
    }
    if (!n->leader_since_ms) n->leader_since_ms = now;
    if (zone_listed(zones, s->self->zone) || n->transferring || now - n->leader_since_ms < PREFERRED_ZONE_SETTLE_MS)
        return;
    raft_index last = raft_last_index(&n->raft);
    for (size_t i = 0; i < s->cfg.nnodes; i++) {
        const tc_node_conf *nc = &s->cfg.nodes[i];
        raft_index match = 0;
        if (nc->id == s->self->id || !zone_listed(zones, nc->zone)) continue;
        if (raft_match_index(&n->raft, (raft_id)nc->id, &match) != 0 || match < last) continue;
        char err[128];
        tc_notice("moving the primary to node %d in preferred zone %s", nc->id, nc->zone);
        if (failover(s, nc->id, err, sizeof err) != 0) tc_info("preferred zone transfer: %s", err);
        return;
    }
}

/* A change of the primary this node sees: in the log (an operator reading
 * it after an incident sees elections and step-downs), and, once a new
 * primary is known, as Sentinel's +switch-master to clients subscribed here
 * (Jedis and Lettuce follow failovers this way). */
static void follow_primary(tc_raftnode *n)
{
    const tc_node_conf *p = tc_raftnode_primary(n);
    int id = p ? p->id : 0;
    if (id == n->seen_primary) return;
    n->seen_primary = id;
    unsigned long long term = (unsigned long long)raft_current_term(&n->raft);
    if (id == n->srv->self->id)
        tc_notice("this node is now the primary (term %llu)", term);
    else if (id)
        tc_notice("node %d (%s) is the primary (term %llu); this node is a replica", id, p->zone, term);
    else
        tc_notice("no primary known (term %llu): an election is under way", term);
    if (!id || id == n->announced_primary) return;
    const tc_node_conf *old = tc_config_node(&n->srv->cfg, n->announced_primary);
    n->announced_primary = id;
    if (!old) return; /* the first primary seen: nothing switched */
    char msg[700];
    int len = snprintf(msg, sizeof msg, "%s %s %d %s %d", n->srv->cfg.cluster_name, old->client_host,
                       old->client_port, p->client_host, p->client_port);
    tc_pubsub_publish(n->srv, "+switch-master", 14, msg, (size_t)len);
}

static void on_cron(tc_server *s, int64_t now)
{
    tc_raftnode *n = node_of_server(s);
    tc_router_cron(&n->router, now);
    move_to_preferred_zone(n, now);
}

/* ---- loop integration ----------------------------------------------------- */

static void on_flush(uv_check_t *h)
{
    tc_raftnode *n = h->data;
    tc_router_flush(&n->router, tc_now_ms());
    /* every pass, so that no change of primary goes unseen between crons */
    follow_primary(n);
}

static void on_raft_closed(struct raft *r)
{
    tc_raftnode *n = r->data;
    raft_uv_close(&n->io);
    tc_transport_close(&n->transport);
    uv_close((uv_handle_t *)&n->flush, NULL);
    uv_close((uv_handle_t *)&n->close_timer, NULL);
    tc_router_free(&n->router);
    tc_snapshot_sealer_free(n->sealer);
    tc_snapshot_opener_free(n->opener);
    n->sealer = NULL;
    n->opener = NULL;
    n->srv->repl = NULL;
    n->srv->route = NULL;
    n->srv->info_replication = NULL;
    n->srv->role_reply = NULL;
    n->srv->primary_id = NULL;
    n->srv->failover = NULL;
    n->srv->members_list = NULL;
    n->srv->members_change = NULL;
    tc_server_stop(n->srv);
}

static void on_close_timer(uv_timer_t *t)
{
    tc_raftnode *n = t->data;
    /* Writes collected but not submitted fail now; submitted ones get
     * their callbacks (with an error) from raft_close. */
    tc_router_abort(&n->router);
    raft_close(&n->raft, on_raft_closed);
}

static void on_shutdown(tc_server *s)
{
    tc_raftnode *n = s->shutdown_ud;
    uv_timer_start(&n->close_timer, on_close_timer, 0, 0);
}

/* No Raft state yet: nothing but "." and ".." in dir. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    return empty;
}

static void warn_about_zones(const tc_config *cfg)
{
    for (size_t i = 0; i < cfg->nnodes; i++) {
        size_t same = 0;
        for (size_t j = 0; j < cfg->nnodes; j++)
            if (strcmp(cfg->nodes[i].zone, cfg->nodes[j].zone) == 0) same++;
        if (same * 2 > cfg->nnodes) {
            tc_warn("a majority of the voters (%zu of %zu) are in zone %s: losing that zone stops the cluster",
                    same, cfg->nnodes, cfg->nodes[i].zone);
            return;
        }
    }
}

/* The keys this node reads and, with at_rest_encryption, writes with. */
static int setup_encryption(tc_raftnode *n, tc_snapshot_keydir *keys, char *err, size_t errlen)
{
    const tc_config *cfg = &n->srv->cfg;
    n->keys = keys;
    if (tc_snapshot_opener_new(&n->opener, node_key, n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!cfg->at_rest_encryption) return 0;
    const tc_snapshot_key *newest = tc_snapshot_keydir_newest(keys);
    if (!newest) {
        snprintf(err, errlen,
                 "at_rest_encryption = true but keys_dir %s holds no key file; create one with "
                 "tricachectl keys generate --dir %s and copy it to every node",
                 cfg->keys_dir, cfg->keys_dir);
        return -1;
    }
    char why[256];
    if (tc_snapshot_sealer_new(&n->sealer, newest, why, sizeof why) != 0) {
        snprintf(err, errlen, "at-rest encryption: %s", why);
        return -1;
    }
    tc_notice("at-rest encryption on: new log entries and snapshots are sealed with key id %u", newest->id);
    return 0;
}

int tc_raftnode_start(tc_raftnode *n, tc_server *s, tc_snapshot_keydir *keys, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->srv = s;
    if (setup_encryption(n, keys, err, errlen) != 0) return -1;
    const tc_config *cfg = &s->cfg;
    snprintf(n->address, sizeof n->address, "%s:%d", s->self->raft_host, s->self->raft_port);
    snprintf(n->dir, sizeof n->dir, "%s/raft", s->data_dir);
    if (mkdir(n->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", n->dir, strerror(errno));
        return -1;
    }
    warn_about_zones(cfg);
    if (!s->self->join && dir_is_empty(n->dir) && tc_peer_probe_lost_data(cfg, s->self, err, errlen)) return -1;

    /* 0.22 refuses a zero-filled transport (RAFT_INVALID): set the version.
     * Our transport checks incoming peers against cluster.toml and sets
     * TCP_NODELAY (raft/transport.h). */
    n->transport.version = 1;
    n->transport.data = n;
    int rc = tc_transport_init(&n->transport, s->loop, cfg);
    if (rc != 0) {
        snprintf(err, errlen, "raft transport: %s", raft_strerror(rc));
        return -1;
    }
    rc = raft_uv_init(&n->io, s->loop, n->dir, &n->transport);
    if (rc != 0) {
        snprintf(err, errlen, "raft storage in %s: %s", n->dir, n->io.errmsg);
        tc_transport_close(&n->transport);
        return -1;
    }
    raft_uv_set_connect_retry_delay(&n->io, CONNECT_RETRY_MS);

    n->fsm.version = 3;
    n->fsm.data = n;
    n->fsm.apply = fsm_apply;
    n->fsm.snapshot = fsm_snapshot;
    n->fsm.snapshot_finalize = fsm_snapshot_finalize;
    n->fsm.snapshot_async = fsm_snapshot_async;
    n->fsm.restore = fsm_restore;
    rc = raft_init(&n->raft, &n->io, &n->fsm, (raft_id)s->self->id, n->address);
    if (rc != 0) {
        snprintf(err, errlen, "raft init: %s", raft_errmsg(&n->raft));
        raft_uv_close(&n->io);
        tc_transport_close(&n->transport);
        return -1;
    }
    n->raft.data = n;
    raft_set_election_timeout(&n->raft, (unsigned)cfg->election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, (unsigned)cfg->heartbeat_interval_ms);
    raft_set_pre_vote(&n->raft, true);
    raft_set_max_inflight_entries(&n->raft, MAX_INFLIGHT);
    raft_set_snapshot_threshold(&n->raft, (unsigned)cfg->snapshot_threshold);
    unsigned trailing = (unsigned)cfg->snapshot_threshold / 2;
    raft_set_snapshot_trailing(&n->raft, trailing < SNAPSHOT_TRAILING ? trailing : SNAPSHOT_TRAILING);

    /* The founding nodes bootstrap with the identical configuration from
     * cluster.toml; on a data directory that already holds a log this
     * answers RAFT_CANTBOOTSTRAP, which is the normal restart. */
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (size_t i = 0; i < cfg->nnodes; i++) {
        if (cfg->nodes[i].join) continue; /* added later with MEMBERS ADD */
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", cfg->nodes[i].raft_host, cfg->nodes[i].raft_port);
        if (raft_configuration_add(&conf, (raft_id)cfg->nodes[i].id, addr, RAFT_VOTER) != 0) {
            raft_configuration_close(&conf);
            snprintf(err, errlen, "raft configuration: out of memory");
            return -1;
        }
    }
    /* A node that joins later never bootstraps: it waits for the primary. */
    rc = s->self->join ? RAFT_CANTBOOTSTRAP : raft_bootstrap(&n->raft, &conf);
    raft_configuration_close(&conf);
    if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) {
        snprintf(err, errlen, "raft bootstrap in %s: %s", n->dir, raft_errmsg(&n->raft));
        return -1;
    }

    tc_log_ops ops = {.ud = n, .role = op_role, .submit = op_submit, .barrier = op_barrier,
                      .applied_index = op_applied_index};
    tc_router_init(&n->router, s, &ops, (int64_t)cfg->election_timeout_ms, (int64_t)cfg->replica_max_staleness_ms);

    rc = raft_start(&n->raft);
    if (rc != 0) {
        snprintf(err, errlen, "raft start (log in %s, raft address %s): %s", n->dir, n->address,
                 raft_errmsg(&n->raft));
        return -1;
    }
    n->started = 1;
    uv_check_init(s->loop, &n->flush);
    n->flush.data = n;
    uv_check_start(&n->flush, on_flush);
    uv_timer_init(s->loop, &n->close_timer);
    n->close_timer.data = n;
    s->shutdown_hook = on_shutdown;
    s->shutdown_ud = n;
    s->info_replication = info_replication;
    s->role_reply = role_reply;
    s->primary_id = primary_id;
    s->failover = failover;
    s->cron_hook = on_cron;
    s->members_list = members_list;
    s->members_change = members_change;
    size_t founders = 0;
    for (size_t i = 0; i < cfg->nnodes; i++) founders += !cfg->nodes[i].join;
    tc_notice("raft node %d started at %s; cluster.toml lists %zu founding voters and %zu to join (log in %s)",
              s->self->id, n->address, founders, cfg->nnodes - founders, n->dir);
    return 0;
}
