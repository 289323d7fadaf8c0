/* The FSM (entries applied through replication/, snapshots by a forked
 * child, restore), the log operations the router submits through, and the
 * keys of sealed entries (encryption at rest). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Applies one log entry as it is stored (sealed or not) for the clients of
 * a (NULL: not submitted here, or replayed from a snapshot). */
static void apply_entry(tc_raftnode *n, const void *stored, size_t stored_len, apply_req *a)
{
    const void *data = stored;
    size_t len = stored_len;
    if (tc_snapshot_is_sealed(data, len)) {
        char err[300];
        if (tc_snapshot_open_sealed(n->opener, stored, stored_len, &data, &len, err, sizeof err) != 0)
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
}

/* ---- the image the next snapshot is made of ------------------------------
 *
 * libraft asks for a snapshot at its last applied index and wants the
 * state at once. Writing the keyspace takes a forked child up to seconds
 * (and earlier the loop waited for it: elections). So the image is made
 * ahead: most of the way to the next snapshot a child is forked to write it, and
 * every entry applied after the fork is kept (tail); the snapshot is that
 * image plus those entries, which replay to exactly the state libraft
 * asked for. The loop never waits for the child. */

/* Drops the image in progress or ready, and its tail (a restore replaced
 * the keyspace it was made of, or the node closes). */
void tc__raft_image_discard(tc_raftnode *n)
{
    if (n->snap_child > 0) {
        kill(n->snap_child, SIGKILL);
        while (waitpid(n->snap_child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (n->snap_child > 0 || n->image_ready) unlink(n->snap_path);
    n->snap_child = 0;
    n->image_ready = 0;
    tc_image_tail_clear(&n->tail);
}

/* Forks the child that writes the image of the keyspace as it is now. 0,
 * or a RAFT_* error with the failure recorded. */
static int image_start(tc_raftnode *n)
{
    snprintf(n->snap_path, sizeof n->snap_path, "%s/keyspace-image.tmp", n->dir);
    int fd = open(n->snap_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        tc__raft_disk_error(n, "snapshot image", n->snap_path, strerror(errno));
        tc__raft_budget_snapshot_failed(n);
        return RAFT_IOERR;
    }
    uint64_t start = uv_hrtime();
    pid_t pid = tc_fork_keep(fd);
    if (pid < 0) {
        int e = errno;
        close(fd);
        unlink(n->snap_path);
        tc_warn("raft snapshot: fork failed: %s", strerror(e));
        tc__raft_budget_snapshot_failed(n);
        return RAFT_NOMEM;
    }
    if (pid == 0) {
        char err[256];
        tc_image_opts o = {.raft_index = raft_last_applied(&n->raft), .raft_term = raft_current_term(&n->raft),
                           .key = n->sealer ? tc_snapshot_keydir_newest(n->keys) : NULL};
        errno = 0;
        int rc = tc_image_write_fd(n->srv, &n->router.apply, &o, fd, err, sizeof err);
        int e = errno;
        /* no fsync: the parent maps the file and hands it to libraft, which
         * writes (and syncs) the snapshot it keeps */
        if (rc != 0) tc_warn("raft snapshot child: %s", err);
        /* the OS error, if there was one, is the exit code the parent reports */
        _exit(rc == 0 ? 0 : e > 0 && e < 255 ? e : 255);
    }
    close(fd);
    n->snap_child = pid;
    n->image_index = raft_last_applied(&n->raft);
    tc_image_tail_clear(&n->tail);
    tc_info("raft snapshot: child %d forked in %.2f ms for %zu keys (image at index %llu)", (int)pid,
            (double)(uv_hrtime() - start) / 1e6, tc_server_keys(n->srv), (unsigned long long)n->image_index);
    return 0;
}

/* Whether the child has finished (without waiting for it): image_ready
 * once it wrote the image, the failure recorded if it could not. */
static void image_poll(tc_raftnode *n)
{
    if (n->snap_child <= 0) return;
    int status = 0;
    pid_t r;
    while ((r = waitpid(n->snap_child, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == 0) return;
    n->snap_child = 0;
    if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        n->image_ready = 1;
        return;
    }
    int code = r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    tc__raft_disk_error(n, "snapshot image", n->snap_path,
                        code != 255 ? strerror(code) : "the child writing it failed (see its message)");
    tc__raft_budget_snapshot_failed(n);
    unlink(n->snap_path);
    tc_image_tail_clear(&n->tail);
}

/* Before an apply: start the next image once most of the way to the next
 * snapshot is behind (by entries or, with snapshot_bytes, by bytes), so it
 * is ready when libraft asks; the tail then holds about a quarter of a
 * snapshot's worth of entries. */
static void image_maybe_start(tc_raftnode *n)
{
    if (n->snap_child > 0 || n->image_ready || n->srv->staging) return;
    if (n->budget.failed_ms && tc_now_ms() - n->budget.failed_ms < 1000) return;
    if (!tc__raft_budget_image_due(n)) return;
    image_start(n);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    tc_raftnode *n = node_of(fsm);
    image_maybe_start(n);
    apply_entry(n, buf->base, buf->len, submitted_entry(n));
    /* after the image's fork, every entry belongs to the snapshot's tail */
    if ((n->snap_child > 0 || n->image_ready) && tc_image_tail_add(&n->tail, buf->base, buf->len) != 0) {
        tc_warn("raft snapshot: out of memory keeping the entries after image %llu; it is dropped",
                (unsigned long long)n->image_index);
        tc__raft_image_discard(n);
    }
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

/* libraft wants a snapshot at its last applied index: the ready image and
 * the entries since. Not ready yet: RAFT_BUSY, and libraft asks again
 * after a later apply. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    /* a staged restore is not in the keyspace: the log keeps its entries
     * until the restore ends */
    if (n->srv->staging) return RAFT_BUSY;
    image_poll(n);
    if (n->snap_child > 0) return RAFT_BUSY;
    if (!n->image_ready) {
        /* after a failed image (a full disk), one attempt a second, not
         * one fork per applied entry */
        if (n->budget.failed_ms && tc_now_ms() - n->budget.failed_ms < 1000) return RAFT_BUSY;
        int rc = image_start(n);
        return rc != 0 ? rc : RAFT_BUSY;
    }
    int fd = open(n->snap_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    void *map = MAP_FAILED;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    if (fd >= 0) close(fd);
    /* the mapping outlives the name; the next image gets a new file */
    unlink(n->snap_path);
    n->image_ready = 0;
    struct raft_buffer *b = map != MAP_FAILED ? raft_malloc(3 * sizeof *b) : NULL;
    unsigned char *head = b ? raft_malloc(TC_IMAGE_TAIL_HEADER) : NULL;
    if (!head) {
        if (map != MAP_FAILED) munmap(map, (size_t)st.st_size);
        else tc__raft_disk_error(n, "snapshot image", n->snap_path, strerror(e));
        raft_free(b);
        tc_image_tail_clear(&n->tail);
        tc__raft_budget_snapshot_failed(n);
        return map != MAP_FAILED ? RAFT_NOMEM : RAFT_IOERR;
    }
    tc_image_tail_header(head, (uint64_t)st.st_size, &n->tail);
    n->snap_map = map;
    n->snap_map_len = (size_t)st.st_size;
    n->budget.image_bytes = (uint64_t)st.st_size;
    b[0] = (struct raft_buffer){.base = head, .len = TC_IMAGE_TAIL_HEADER};
    b[1] = (struct raft_buffer){.base = map, .len = (size_t)st.st_size};
    b[2] = (struct raft_buffer){.base = n->tail.buf, .len = n->tail.len};
    unsigned nb = n->tail.len ? 3 : 2;
    tc_info("raft snapshot at index %llu: image of index %llu (%zu bytes) and %llu entries since (%zu bytes)",
            (unsigned long long)raft_last_applied(&n->raft), (unsigned long long)n->image_index, n->snap_map_len,
            (unsigned long long)n->tail.count, n->tail.len);
    n->tail = (tc_image_tail){0}; /* its bytes are libraft's until finalize */
    tc__raft_budget_snapshot_taken(n);
    *bufs = b;
    *n_bufs = nb;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    for (unsigned i = 0; i < *n_bufs; i++) {
        void *base = (*bufs)[i].base;
        if (base && base == n->snap_map) munmap(base, n->snap_map_len);
        else if (i == 2) free(base); /* the tail: tc_image_tail's realloc'd bytes */
        else raft_free(base);
    }
    n->snap_map = NULL;
    n->snap_map_len = 0;
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
    /* the keyspace the image in progress was made of is about to go */
    tc__raft_image_discard(n);
    tc_image_parts parts;
    int rc = tc_image_tail_parse(buf->base, buf->len, &parts, err, sizeof err);
    if (rc >= 0) {
        tc_snapshot_reader_opts ro = {.name = "raft snapshot", .keyring = node_key, .keyring_ud = n};
        rc = tc_image_load(n->srv, &n->router.apply, parts.image, parts.image_len, &ro, err, sizeof err);
    }
    snprintf(n->restore_error, sizeof n->restore_error, "%s", rc != 0 ? err : "");
    if (rc != 0) {
        tc_warn("cannot restore a Raft snapshot: %s", err);
        return RAFT_CORRUPT; /* libraft frees the snapshot it could not restore */
    }
    /* the entries applied after the image was taken, checked already */
    size_t pos = 0, len;
    const void *entry;
    while (tc_image_tail_next(&parts, &pos, &entry, &len)) apply_entry(n, entry, len, NULL);
    tc_notice("restored a Raft snapshot: %zu keys (%llu entries replayed after the image)", tc_server_keys(n->srv),
              (unsigned long long)parts.count);
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
