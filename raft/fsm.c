/* The FSM (entries applied through replication/, snapshots by a forked
 * child, restore), the log operations the router submits through, and the
 * keys of sealed entries (encryption at rest). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "raft_internal.h"
#include "log.h"
#include "log_entry.h"

static tc_raftnode *node_of(struct raft_fsm *fsm) { return fsm->data; }

/* ---- FSM ---------------------------------------------------------------- */

typedef struct apply_req {
    struct raft_apply req;
    tc_raftnode *node;
    tc_batch *batch;
    tc_apply_replies replies;
    int64_t submitted_ms;
    int answered;              /* its clients were answered early (tc_router_answer_early) */
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
    char why[160];
    if (tc_logentry_too_new(data, len, why, sizeof why)) {
        /* Skipping it would make this node diverge from the ones that can
         * read it; stopping keeps the log, which a newer binary replays. */
        tc_warn("cannot apply Raft log entry %llu: %s. Stopping",
                (unsigned long long)raft_last_applied(&n->raft) + 1, why);
        exit(1);
    }
    tc_router_fsm_apply(&n->router, data, len, a ? a->batch : NULL, a ? &a->replies : NULL);
    tc__raft_budget_applied(n, buf->len);
    if (n->budget.trim_wanted) {
        /* The compacted entries and the image were freed in many sizes;
         * glibc keeps such memory in its arenas, so RSS would follow the
         * write volume rather than the data. Hand it back to the system. */
        n->budget.trim_wanted = 0;
        malloc_trim(0);
    }
    *result = NULL;
    return 0; /* never fail: a failing apply stalls the node */
}

/* Snapshots are taken by a forked child writing the keyspace image to a
 * file: the child sees the keyspace frozen at that instant through
 * copy-on-write. Measured: libraft 0.22.1 calls snapshot_async right after
 * snapshot on the loop thread (not in its threadpool), so the loop waits
 * for the child (50-450 ms for a 20 MB dataset on a loaded 2-core box). */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    /* raft retries later; a staged restore is not in the image, so the
     * log must keep its entries until the restore ends */
    if (n->snap_child > 0 || n->srv->staging) return RAFT_BUSY;
    /* after a failed image (a full disk), one attempt a second, not one
     * fork per applied entry */
    if (n->budget.failed_ms && tc_now_ms() - n->budget.failed_ms < 1000) return RAFT_BUSY;
    snprintf(n->snap_path, sizeof n->snap_path, "%s/keyspace-image.tmp", n->dir);
    int fd = open(n->snap_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        tc__raft_disk_error(n, "snapshot image", n->snap_path, strerror(errno));
        n->budget.failed_ms = tc_now_ms();
        return RAFT_IOERR;
    }
    uint64_t start = uv_hrtime();
    pid_t pid = tc_fork_keep(fd);
    if (pid < 0) {
        close(fd);
        tc_warn("raft snapshot: fork failed: %s", strerror(errno));
        return RAFT_NOMEM;
    }
    if (pid == 0) {
        char err[256];
        tc_image_opts o = {.raft_index = raft_last_applied(&n->raft), .raft_term = raft_current_term(&n->raft),
                           .key = n->sealer ? tc_snapshot_keydir_newest(n->keys) : NULL};
        errno = 0;
        int rc = tc_image_write_fd(n->srv, &n->router.apply, &o, fd, err, sizeof err);
        int e = errno;
        /* no fsync: the file is read back and deleted at once, and libraft
         * writes (and syncs) the snapshot it keeps; libraft 0.22 calls
         * snapshot_async on the loop, which waits for this child */
        if (rc != 0) tc_warn("raft snapshot child: %s", err);
        /* the OS error, if there was one, is the exit code the parent reports */
        _exit(rc == 0 ? 0 : e > 0 && e < 255 ? e : 255);
    }
    close(fd);
    n->snap_child = pid;
    tc__raft_budget_snapshot_taken(n);
    tc_info("raft snapshot: child %d forked in %.2f ms for %zu keys", (int)pid,
            (double)(uv_hrtime() - start) / 1e6, tc_server_keys(n->srv));
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
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
        tc__raft_disk_error(n, "snapshot image", n->snap_path,
                            code != 255 ? strerror(code) : "the child writing it failed (see its message)");
        goto out;
    }
    fd = open(n->snap_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) goto out;
    b = raft_malloc(sizeof *b);
    if (!b || !(b->base = raft_malloc((size_t)st.st_size))) {
        rc = RAFT_NOMEM;
        goto out;
    }
    b->len = (size_t)st.st_size;
    n->budget.image_bytes = (uint64_t)st.st_size;
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
    if (rc != 0) tc__raft_budget_snapshot_failed(n);
    else n->budget.failed_ms = 0;
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
    n->budget.trim_wanted = 1; /* libraft frees the compacted entries after this */
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    tc_raftnode *n = node_of(fsm);
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "raft snapshot", .keyring = node_key,
                                  .keyring_ud = n};
    int rc = tc_image_load(n->srv, &n->router.apply, buf->base, buf->len, &ro, err, sizeof err);
    snprintf(n->restore_error, sizeof n->restore_error, "%s", rc != 0 ? err : "");
    if (rc != 0) tc_warn("cannot restore a Raft snapshot: %s", err);
    else tc_notice("restored a Raft snapshot: %zu keys", tc_server_keys(n->srv));
    if (rc != 0) return RAFT_CORRUPT; /* libraft frees the snapshot it could not restore */
    tc__raft_budget_restored(n);
    raft_free(buf->base); /* ours once restored */
    return 0;
}

/* ---- the log, as the router sees it (tc_log_ops) --------------------------- */

int tc_raftnode_role(tc_raftnode *n)
{
    if (!n->started) return TC_ROLE_NONE;
    /* Closing after a planned handover: a replica of the node that took
     * over, so the writes still reaching it are redirected there rather
     * than told that no primary exists (libraft forgets the leader once
     * raft_close begins). */
    if (n->closing && n->handed_to) return TC_ROLE_REPLICA;
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
    if (n->closing && n->handed_to) return tc_config_node(&n->srv->cfg, n->handed_to);
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
    if (status == RAFT_IOERR || status == RAFT_NOSPACE)
        tc__raft_disk_error(n, "append to", n->dir, status == RAFT_NOSPACE ? strerror(ENOSPC) : raft_errmsg(&n->raft));
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
    a->submitted_ms = tc_now_ms();
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
        if (rc == RAFT_IOERR || rc == RAFT_NOSPACE)
            tc__raft_disk_error(n, "append to", n->dir, rc == RAFT_NOSPACE ? strerror(ENOSPC) : raft_errmsg(&n->raft));
        else tc_warn("raft_apply: %s (%s)", raft_strerror(rc), raft_errmsg(&n->raft));
        free(a);
        return -1;
    }
    if (n->inflight_tail) n->inflight_tail->next = a;
    else n->inflight_head = a;
    n->inflight_tail = a;
    return 0;
}

void tc__raft_answer_stuck_writes(tc_raftnode *n, int64_t cutoff_ms, const char *line)
{
    for (apply_req *a = n->inflight_head; a && a->submitted_ms < cutoff_ms; a = a->next) {
        if (a->answered) continue;
        a->answered = 1;
        tc_router_answer_early(&n->router, a->batch, line);
    }
}

int64_t tc__raft_oldest_entry_ms(const tc_raftnode *n)
{
    /* the head is the oldest: submissions are kept in log order */
    return n->inflight_head ? n->inflight_head->submitted_ms : 0;
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

static unsigned op_replicas_at(void *ud, uint64_t index)
{
    tc_raftnode *n = ud;
    const struct raft_configuration *conf = &n->raft.configuration;
    unsigned count = 0;
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *m = &conf->servers[i];
        raft_index match = 0;
        if (m->id == (raft_id)n->srv->self->id || m->role != RAFT_VOTER) continue;
        if (raft_match_index(&n->raft, m->id, &match) == 0 && match >= index) count++;
    }
    return count;
}

void tc__raft_log_ops(tc_raftnode *n, tc_log_ops *ops)
{
    *ops = (tc_log_ops){.ud = n, .role = op_role, .submit = op_submit, .barrier = op_barrier,
                        .applied_index = op_applied_index, .replicas_at = op_replicas_at,
                        .write_error = tc__raft_write_error, .commit_stall = tc__raft_commit_stall};
}

void tc__raft_fsm_setup(tc_raftnode *n)
{
    n->fsm.version = 3;
    n->fsm.data = n;
    n->fsm.apply = fsm_apply;
    n->fsm.snapshot = fsm_snapshot;
    n->fsm.snapshot_finalize = fsm_snapshot_finalize;
    n->fsm.snapshot_async = fsm_snapshot_async;
    n->fsm.restore = fsm_restore;
}

/* The keys this node reads and, with at_rest_encryption, writes with. */
int tc__raft_setup_encryption(tc_raftnode *n, tc_snapshot_keydir *keys, char *err, size_t errlen)
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
