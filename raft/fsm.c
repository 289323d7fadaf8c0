/* The FSM (entries applied through replication/, snapshots by a forked
 * child, restore), the log operations the router submits through, and the
 * keys of sealed entries (encryption at rest). */
#include <errno.h>
#include <fcntl.h>
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

/* ---- FSM ----------------------------------------------------------------
 *
 * libraft calls the FSM on the Raft thread; the keyspace is the command
 * thread's. So applying an entry is handing a copy of it to the command
 * thread, which applies entries in log order when it is free; libraft's
 * own applied index runs ahead of the keyspace's by what is queued. */

typedef struct apply_req {
    struct raft_apply req;
    tc_raftnode *node;
    tc_batch *batch;
    tc_apply_replies replies;  /* filled by the command thread's apply */
    int64_t submitted_ms;
    int answered;              /* its clients were answered early (tc_router_answer_early) */
    struct apply_req *next;    /* the command thread's list (inflight_head) */
    struct apply_req *raft_next; /* the Raft thread's list (raft_head), once raft_apply took it */
} apply_req;

/* The batch a just-committed entry carries, if this node submitted it: the
 * entry being applied has index last_applied + 1, and our submissions sit
 * in the log in the order we made them (Raft thread). */
static apply_req *submitted_entry(tc_raftnode *n)
{
    raft_index index = raft_last_applied(&n->raft) + 1;
    apply_req *a = n->raft_head;
    while (a && a->req.index < index) a = a->raft_next;
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
static void stop_on_unreadable_entry(tc_raftnode *n, uint64_t index, const char *why)
{
    tc_warn("cannot read Raft log entry %llu: %s. Stopping: put the cluster's key files in keys_dir (%s) and start again",
            (unsigned long long)index, why, n->srv->cfg.keys_dir[0] ? n->srv->cfg.keys_dir : "not set");
    exit(1);
}

/* Command thread: applies one log entry (index 0: replayed from a
 * snapshot) as it is stored (sealed or not) for the clients of a (NULL: not
 * submitted here, or replayed). */
static void apply_entry(tc_raftnode *n, uint64_t index, const void *stored, size_t stored_len,
                        const tc_logentry_gap *gap, apply_req *a)
{
    const void *data = stored;
    size_t len = stored_len;
    if (!gap && tc_snapshot_is_sealed(data, len)) { /* a gap is planned in unsealed entries only */
        char err[300];
        if (tc_snapshot_open_sealed(n->opener, stored, stored_len, &data, &len, err, sizeof err) != 0)
            stop_on_unreadable_entry(n, index, err);
    }
    char why[160];
    if (tc_logentry_too_new(data, len, why, sizeof why)) {
        /* Skipping it would make this node diverge from the ones that can
         * read it; stopping keeps the log, which a newer binary replays. */
        tc_warn("cannot apply Raft log entry %llu: %s. Stopping", (unsigned long long)index, why);
        exit(1);
    }
    tc_router_fsm_apply(&n->router, data, len, gap, a ? a->batch : NULL, a ? &a->replies : NULL);
}

/* An entry for the command thread to apply, with the time the Raft thread
 * applied it (a replica's reads are as fresh as that). */
typedef struct apply_msg {
    tc__raft_msg h;
    uint64_t index;
    apply_req *a;
    size_t len;
    unsigned char *whole; /* a big entry reassembled from pieces (malloc'd), else NULL: data */
    tc_piece_gap gap;     /* whole's big SET value, put straight into its key's block (owner NULL: none) */
    unsigned char data[];
} apply_msg;

static void apply_run(tc_raftnode *n, tc__raft_msg *m)
{
    apply_msg *am = (apply_msg *)m;
    if (am->gap.owner) {
        /* the SET that carries these bytes takes the block as its key */
        tc_logentry_gap gap = {.at = am->gap.at, .p = (const char *)am->gap.dst, .len = am->gap.len};
        n->srv->adopt.block = am->gap.owner;
        n->srv->adopt.value = gap.p;
        n->srv->adopt.len = gap.len;
        apply_entry(n, am->index, am->whole, am->len, &gap, am->a);
        tc_big_free(n->srv->adopt.block); /* not taken (a SET NX that found the key, a refused entry) */
        n->srv->adopt.block = NULL;
    } else if (am->len) apply_entry(n, am->index, am->whole ? am->whole : am->data, am->len, NULL, am->a);
    if (am->index > n->applied) {
        n->applied = am->index;
        n->applied_ms = m->ms;
    }
    tc_big_free(am->whole);
    free(am);
}

static void apply_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    (void)n;
    tc_big_free(((apply_msg *)m)->whole);
    tc_big_free(((apply_msg *)m)->gap.owner);
    free(m);
}

void tc__raft_post_progress(tc_raftnode *n, uint64_t index)
{
    apply_msg *am = calloc(1, sizeof *am + 1);
    if (!am) return; /* the next entry or barrier says it again */
    am->h.run = apply_run;
    am->index = index;
    n->sent_applied = index;
    tc__raft_send_to_cmd(n, &am->h);
}

/* ---- the image the next snapshot is made of ------------------------------
 *
 * libraft asks for a snapshot at its last applied index and wants the
 * state at once. Writing the keyspace takes a forked child up to seconds.
 * So the image is made ahead: most of the way to the next snapshot the
 * Raft thread asks the command thread to fork a child at the index libraft
 * has applied (the request sits in the queue right after that entry, so
 * the keyspace is exactly at it), and keeps every entry applied after it
 * (tail); the snapshot is that image plus those entries, which replay to
 * exactly the state libraft asked for. Neither loop waits for the child. */

/* Drops the image in progress or ready, and its tail (a restore replaced
 * the keyspace it was made of, or the node closes). A fork asked for and
 * not yet reported is killed when its report comes (image_gen). */
void tc__raft_image_discard(tc_raftnode *n)
{
    if (n->snap_child > 0 || n->image_ready || n->image_asked) n->images_discarded++;
    if (n->snap_child > 0) {
        kill(n->snap_child, SIGKILL);
        while (waitpid(n->snap_child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (n->snap_child > 0 || n->image_ready) unlink(n->snap_path);
    n->snap_child = 0;
    n->image_ready = 0;
    n->image_asked = 0;
    n->image_gen++;
    tc_image_tail_clear(&n->tail);
}

typedef struct fork_msg {
    tc__raft_msg h;
    uint64_t gen, index, term;
    pid_t pid;                 /* the report: the child, or 0 */
    int err;                   /* the report: errno of a failure */
    char path[sizeof ((tc_raftnode *)0)->snap_path];
} fork_msg;

/* Raft thread: the command thread's report of a fork. */
static void forked_run(tc_raftnode *n, tc__raft_msg *m)
{
    fork_msg *f = (fork_msg *)m;
    if (f->gen != n->image_gen || !n->image_asked) {
        /* dropped meanwhile (a restore): so is this image */
        if (f->pid > 0) {
            kill(f->pid, SIGKILL);
            while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
        if (f->pid > 0 || f->err) unlink(f->path);
    } else if (f->pid > 0) {
        n->snap_child = f->pid;
        n->image_asked = 0;
    } else {
        n->image_asked = 0;
        if (f->err == ENOMEM || f->err == EAGAIN) tc_warn("raft snapshot: fork failed: %s", strerror(f->err));
        else tc__raft_disk_error(n, "snapshot image", f->path, strerror(f->err));
        tc__raft_budget_snapshot_failed(n);
        tc_image_tail_clear(&n->tail);
    }
    free(f);
}

static void forked_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    fork_msg *f = (fork_msg *)m;
    (void)n;
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        unlink(f->path);
    }
    free(f);
}

/* Command thread: forks the child that writes the image of the keyspace
 * as it is now (at f->index), and reports to the Raft thread. */
static void fork_run(tc_raftnode *n, tc__raft_msg *m)
{
    fork_msg *f = (fork_msg *)m;
    f->h.run = forked_run;
    f->h.cancel = forked_cancel;
    tc_router_settle(&n->router); /* the image is of applied state, never of a script group's */
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        f->err = errno;
        tc__raft_send_to_raft(n, &f->h);
        return;
    }
    uint64_t start = uv_hrtime();
    pid_t pid = tc_fork_keep(fd);
    if (pid < 0) {
        f->err = errno;
        close(fd);
        unlink(f->path);
        tc__raft_send_to_raft(n, &f->h);
        return;
    }
    if (pid == 0) {
        char err[256];
        /* The image is written ahead of need, while the loops that keep
         * the primary elected share the CPUs with it: right after a big
         * value it compresses hundreds of MB on every node at once, and at
         * equal priority that starved the Raft threads past an election
         * timeout. A failing nice() only leaves the priority as it was. */
        errno = 0;
        if (nice(10) == -1 && errno != 0) errno = 0;
        tc_image_opts o = {.raft_index = f->index, .raft_term = f->term,
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
    f->pid = pid;
    tc_info("raft snapshot: child %d forked in %.2f ms for %zu keys (image at index %llu)", (int)pid,
            (double)(uv_hrtime() - start) / 1e6, tc_server_keys(n->srv), (unsigned long long)f->index);
    tc__raft_send_to_raft(n, &f->h);
}

/* Raft thread: asks for the image at the index libraft has applied. */
static int image_ask(tc_raftnode *n)
{
    fork_msg *f = calloc(1, sizeof *f);
    if (!f) {
        tc__raft_budget_snapshot_failed(n);
        return RAFT_NOMEM;
    }
    n->image_gen++;
    snprintf(n->snap_path, sizeof n->snap_path, "%s/keyspace-image-%llu.tmp", n->dir, (unsigned long long)n->image_gen);
    f->h.run = fork_run;
    f->gen = n->image_gen;
    f->index = raft_last_applied(&n->raft);
    f->term = raft_current_term(&n->raft);
    memcpy(f->path, n->snap_path, sizeof f->path);
    n->image_asked = 1;
    n->image_index = f->index;
    tc_image_tail_clear(&n->tail);
    tc__raft_send_to_cmd(n, &f->h);
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

/* A restore is staged on the command thread: not in the keyspace, so the
 * log keeps its entries until the restore ends. */
static int staging(tc_raftnode *n)
{
    uv_mutex_lock(&n->mu);
    int st = n->cmd_staging;
    uv_mutex_unlock(&n->mu);
    return st;
}

/* Before an ordinary entry's apply (fsm_apply: never at a piece of a big
 * entry, so no run is pending here): ask for the next image once most of
 * the way to the next snapshot is behind (by entries or, with
 * snapshot_bytes, by bytes), so it is ready when libraft asks; the tail
 * then holds about a quarter of a snapshot's worth of entries. */
static void image_maybe_start(tc_raftnode *n)
{
    if (n->snap_child > 0 || n->image_asked || n->image_ready) return;
    if (n->budget.failed_ms && tc_now_ms() - n->budget.failed_ms < 1000) return;
    if (!tc__raft_budget_image_due(n) || staging(n)) return;
    image_ask(n);
}

/* Raft thread, at a run's first piece: a big SET's value goes straight into
 * the block of the key it will become (tc_ks_adopt_block), not into the
 * whole entry and then, copied, into a key: one buffer of the value's size
 * less on every node, and one copy (apply_run hands the block to the SET
 * through tc_server.adopt). Sealed entries are put together whole. */
static int plan_big_set(void *ud, const unsigned char *head, size_t head_len, size_t total, tc_piece_gap *gap)
{
    (void)ud;
    size_t at, vlen, klen;
    const char *key;
    if (tc_snapshot_is_sealed(head, head_len) ||
        !tc_logentry_big_set(head, head_len, total, TC_BIG_ALLOC_MIN, &at, &vlen, &key, &klen))
        return 0;
    void *block = tc_ks_adopt_block(key, klen, vlen);
    if (!block) return 0; /* put together whole, which may fail as loudly */
    *gap = (tc_piece_gap){.at = at, .len = vlen, .dst = (unsigned char *)tc_ks_adopt_value(block), .owner = block};
    return 1;
}

/* A piece of a big entry (log_pieces.h): kept until its run's last piece,
 * which hands back the whole entry (1); 0 while the run goes on or when
 * the piece is dropped; -1 for an entry that is not a piece. Any other
 * entry drops a pending run: its primary lost leadership before the last
 * piece, so the write never happened. */
static int take_piece(tc_raftnode *n, const struct raft_buffer *buf, unsigned char **whole, size_t *len,
                      tc_piece_gap *gap)
{
    *whole = NULL;
    *gap = (tc_piece_gap){0};
    if (!tc_piece_is(buf->base, buf->len)) {
        if (tc_piece_run_pending(&n->pieces_in)) {
            tc_info("a big write (%llu of %llu bytes logged) is dropped: its primary lost leadership before its "
                    "last piece",
                    (unsigned long long)n->pieces_in.got, (unsigned long long)n->pieces_in.total);
            n->pieces_runs_dropped++;
            tc_piece_run_drop(&n->pieces_in);
        }
        return -1;
    }
    char why[256];
    int rc = tc_piece_take(&n->pieces_in, buf->base, buf->len, whole, len, gap, why, sizeof why);
    switch (rc) {
    case TC_PIECE_COMPLETE:
        n->pieces_runs_applied++;
        n->budget.keep_run = (*len + gap->len + TC_PIECE_DATA - 1) / TC_PIECE_DATA; /* log_budget.c */
        n->budget.keep_run_last = raft_last_applied(&n->raft) + 1;         /* this entry, being applied */
        return 1;
    case TC_PIECE_MORE: return 0;
    case TC_PIECE_NOMEM:
        /* this node cannot go on without the entry; the others hold it */
        tc_warn("Raft log entry %llu: %s. Stopping", (unsigned long long)raft_last_applied(&n->raft) + 1, why);
        exit(1);
    default:
        /* the same log drops the same pieces on every node */
        n->pieces_runs_dropped++;
        tc_warn("Raft log entry %llu: %s", (unsigned long long)raft_last_applied(&n->raft) + 1, why);
        return 0;
    }
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    tc_raftnode *n = node_of(fsm);
    *result = NULL;
    unsigned char *whole = NULL;
    size_t whole_len = 0;
    tc_piece_gap gap;
    int piece = take_piece(n, buf, &whole, &whole_len, &gap);
    /* Not at a piece: an image forked at a run's first piece would be
     * dropped at its last one (below), after its child had hashed and
     * compressed the keyspace on the cores the run needs. libraft asks
     * for the snapshot once the run is applied (fsm_snapshot). */
    if (piece < 0) image_maybe_start(n);
    tc__raft_budget_applied(n, buf->len);
    if (piece == 0) return 0; /* the command thread learns the index from the view (on_rpass) */
    int complete = piece == 1;
    const void *entry = complete ? whole : buf->base;
    size_t entry_len = complete ? whole_len : buf->len;
    apply_msg *am = malloc(sizeof *am + (complete ? 0 : buf->len));
    if (!am) {
        /* this node cannot go on without the entry; the others hold it */
        tc_warn("out of memory handing Raft log entry %llu to the command thread. Stopping",
                (unsigned long long)raft_last_applied(&n->raft) + 1);
        exit(1);
    }
    memset(&am->h, 0, sizeof am->h);
    am->h.run = apply_run;
    am->h.cancel = apply_cancel;
    am->index = raft_last_applied(&n->raft) + 1;
    am->a = submitted_entry(n);
    am->len = entry_len;
    am->whole = whole;
    am->gap = gap;
    if (!complete) memcpy(am->data, buf->base, buf->len);
    n->sent_applied = am->index;
    /* After the image's index, every entry belongs to the snapshot's tail.
     * Not a big one: copying and hashing hundreds of MB here would hold
     * this loop for longer than an election timeout, so the image made
     * before it is dropped and the next one, asked for at the next apply,
     * holds it as a key (snapshots wait while a run's pieces are pending,
     * so none can fall between them). */
    int imaging = n->snap_child > 0 || n->image_asked || n->image_ready;
    if (complete && imaging) tc__raft_image_discard(n);
    else if (imaging && tc_image_tail_add(&n->tail, entry, entry_len) != 0) {
        tc_warn("raft snapshot: out of memory keeping the entries after image %llu; it is dropped",
                (unsigned long long)n->image_index);
        tc__raft_image_discard(n);
    }
    tc__raft_send_to_cmd(n, &am->h);
    return 0; /* never fail: a failing apply stalls the node */
}

/* libraft wants a snapshot at its last applied index: the ready image and
 * the entries since. Not ready yet: RAFT_BUSY, and libraft asks again
 * after a later apply. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    tc_raftnode *n = node_of(fsm);
    if (staging(n)) return RAFT_BUSY;
    /* a snapshot in the middle of a big entry's pieces would have to carry
     * them; at its last piece the whole entry is in the tail instead */
    if (tc_piece_run_pending(&n->pieces_in)) return RAFT_BUSY;
    image_poll(n);
    if (n->snap_child > 0 || n->image_asked) return RAFT_BUSY;
    if (!n->image_ready) {
        /* after a failed image (a full disk), one attempt a second, not
         * one fork per applied entry */
        if (n->budget.failed_ms && tc_now_ms() - n->budget.failed_ms < 1000) return RAFT_BUSY;
        int rc = image_ask(n);
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
    n->budget.trim_wanted = 1; /* libraft frees the compacted entries after this (tc__raft_budget_tick) */
    return 0;
}

/* Command thread: loads a snapshot (its image, then the entries applied
 * after the image) into the keyspace. 0, or -1 with err set. */
static int restore_keyspace(tc_raftnode *n, const void *data, size_t len, char *err, size_t errlen)
{
    tc_image_parts parts;
    int rc = tc_image_tail_parse(data, len, &parts, err, errlen);
    if (rc >= 0) {
        tc_snapshot_reader_opts ro = {.name = "raft snapshot", .keyring = node_key, .keyring_ud = n};
        rc = tc_image_load(n->srv, &n->router.apply, parts.image, parts.image_len, &ro, err, errlen);
    }
    if (rc != 0) return -1;
    /* the entries applied after the image was taken, checked already */
    size_t pos = 0, elen;
    const void *entry;
    while (tc_image_tail_next(&parts, &pos, &entry, &elen)) apply_entry(n, 0, entry, elen, NULL, NULL);
    tc_notice("restored a Raft snapshot: %zu keys (%llu entries replayed after the image)", tc_server_keys(n->srv),
              (unsigned long long)parts.count);
    return 0;
}

typedef struct restore_msg {
    tc__raft_msg h;
    struct raft_buffer buf;
} restore_msg;

static void restore_run(tc_raftnode *n, tc__raft_msg *m)
{
    restore_msg *r = (restore_msg *)m;
    char err[256];
    tc_router_settle(&n->router); /* a script group's undo must not land on the new keyspace */
    if (restore_keyspace(n, r->buf.base, r->buf.len, err, sizeof err) != 0) {
        /* libraft already counts it as this node's state; serving the old
         * keyspace would answer from state the cluster no longer has */
        tc_warn("cannot restore the Raft snapshot the primary sent: %s. Stopping: this node's data directory can "
                "be moved aside and the node rejoined as a new member",
                err);
        exit(1);
    }
    raft_free(r->buf.base);
    free(r);
}

static void restore_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    (void)n;
    raft_free(((restore_msg *)m)->buf.base);
    free(m);
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    tc_raftnode *n = node_of(fsm);
    char err[256];
    /* the keyspace the image in progress was made of is about to go */
    tc__raft_image_discard(n);
    /* a snapshot is never taken inside a run: pieces after it start anew */
    tc_piece_run_drop(&n->pieces_in);
    if (!n->threaded) {
        /* at start (raft_start, on the command thread): a damaged snapshot
         * stops the start with the way out (restore_error) */
        int rc = restore_keyspace(n, buf->base, buf->len, err, sizeof err);
        snprintf(n->restore_error, sizeof n->restore_error, "%s", rc != 0 ? err : "");
        if (rc != 0) {
            tc_warn("cannot restore a Raft snapshot: %s", err);
            return RAFT_CORRUPT; /* libraft frees the snapshot it could not restore */
        }
        raft_free(buf->base); /* ours once restored */
        tc__raft_budget_restored(n);
        return 0;
    }
    /* Sent by the primary: checked here (lengths, count, SHA-256), loaded
     * by the command thread in log order. */
    tc_image_parts parts;
    restore_msg *r = calloc(1, sizeof *r);
    if (tc_image_tail_parse(buf->base, buf->len, &parts, err, sizeof err) < 0 || !r) {
        free(r);
        tc_warn("cannot restore a Raft snapshot: %s", r ? err : "out of memory");
        return r ? RAFT_CORRUPT : RAFT_NOMEM;
    }
    r->h.run = restore_run;
    r->h.cancel = restore_cancel;
    r->buf = *buf;
    tc__raft_send_to_cmd(n, &r->h);
    tc__raft_budget_restored(n);
    return 0;
}

/* ---- the log, as the router sees it (tc_log_ops) ---------------------------
 *
 * Called on the command thread, which knows libraft's state only from its
 * view (cview, refreshed once per loop pass and when the role changes);
 * entries and barriers go to the Raft thread as messages, and their
 * outcome comes back as messages, in log order after the applies. */

int tc__raft_leader_now(tc_raftnode *n)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&n->raft, &id, &addr);
    return (int)id;
}

int tc_raftnode_role(tc_raftnode *n)
{
    if (!n->started) return TC_ROLE_NONE;
    /* Closing after a planned handover: a replica of the node that took
     * over, so the writes still reaching it are redirected there rather
     * than told that no primary exists (libraft forgets the leader once
     * raft_close begins). */
    if (n->closing && n->handed_to) return TC_ROLE_REPLICA;
    int here = tc__raft_here(n);
    int state = here ? (int)raft_state(&n->raft) : n->cview.state;
    int leader = here ? tc__raft_leader_now(n) : n->cview.leader;
    switch (state) {
    case RAFT_LEADER: return TC_ROLE_PRIMARY;
    case RAFT_FOLLOWER: return leader ? TC_ROLE_REPLICA : TC_ROLE_NONE;
    default: return TC_ROLE_NONE;
    }
}

const tc_node_conf *tc_raftnode_primary(tc_raftnode *n)
{
    if (!n->started) return NULL;
    if (n->closing && n->handed_to) return tc_config_node(&n->srv->cfg, n->handed_to);
    int id = tc__raft_here(n) ? tc__raft_leader_now(n) : n->cview.leader;
    return id ? tc_config_node(&n->srv->cfg, id) : NULL;
}

static int op_role(void *ud) { return tc_raftnode_role(ud); }

/* Command thread: the outcome of an entry (applied, failed, or never
 * logged). */
typedef struct applied_msg {
    tc__raft_msg h;
    apply_req *a;
    int status;
} applied_msg;

static void applied_run(tc_raftnode *n, tc__raft_msg *m)
{
    applied_msg *am = (applied_msg *)m;
    apply_req *a = am->a;
    /* unlink: outcomes come in submission order, so it is normally the head */
    apply_req **link = &n->inflight_head, *prev = NULL;
    while (*link && *link != a) {
        prev = *link;
        link = &(*link)->next;
    }
    if (*link) {
        *link = a->next;
        if (n->inflight_tail == a) n->inflight_tail = prev;
    }
    tc_router_committed(&n->router, a->batch, am->status, am->status == 0 ? &a->replies : NULL);
    tc_apply_replies_free(&a->replies);
    free(a);
    free(am);
}

static void post_outcome(tc_raftnode *n, apply_req *a, int status)
{
    applied_msg *am = calloc(1, sizeof *am);
    if (!am) {
        tc_warn("out of memory reporting a write's outcome. Stopping");
        exit(1);
    }
    am->h.run = applied_run;
    am->a = a;
    am->status = status;
    tc__raft_send_to_cmd(n, &am->h);
}

/* A log write that failed on the disk (rc or a callback's status): the
 * data directory's health says so (disk_health.c). 1 if it was one. */
static int append_failed(tc_raftnode *n, int rc)
{
    if (rc != RAFT_IOERR && rc != RAFT_NOSPACE) return 0;
    tc__raft_disk_error(n, "append to", n->dir, rc == RAFT_NOSPACE ? strerror(ENOSPC) : raft_errmsg(&n->raft));
    return 1;
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    (void)result;
    apply_req *a = (apply_req *)req;
    tc_raftnode *n = a->node;
    /* unlink: callbacks come in log order, so it is normally the head */
    apply_req **link = &n->raft_head, *prev = NULL;
    while (*link && *link != a) {
        prev = *link;
        link = &(*link)->raft_next;
    }
    if (*link) {
        *link = a->raft_next;
        if (n->raft_tail == a) n->raft_tail = prev;
    }
    if (status != 0) tc_info("a replicated write failed: %s", raft_strerror(status));
    append_failed(n, status);
    post_outcome(n, a, status);
}

typedef struct submit_msg {
    tc__raft_msg h;
    apply_req *a;
    struct raft_buffer buf;
} submit_msg;

/* ---- big entries, appended as pieces (log_pieces.h) ----------------------
 *
 * A run is appended a few pieces per pass of the Raft loop (checksumming
 * and copying them is libraft's work on this thread, and heartbeats must
 * keep going out), its continuation queued behind the messages of the
 * pass. Writes submitted meanwhile are held and appended after its last
 * piece, in order, so no entry lands between two pieces of a run. */

/* Piece data appended per pass of the Raft loop: ~10-30 ms of libraft's
 * checksums and copies on 2 shared cores, far below a heartbeat interval. */
#define PIECES_PER_PASS (4 * TC_PIECE_DATA)
/* Piece data appended and not yet applied. libraft encodes everything
 * queued behind a log write in one go when the write ends, here and on
 * every follower: without a window a 150 MB run queued whole behind one
 * slow write and that encoding alone held the Raft loop past the election
 * timeout. */
#define PIECES_WINDOW (8 * TC_PIECE_DATA)
/* And a run pauses while no piece has been applied for a heartbeat
 * interval. A follower answers an AppendEntries that carries entries only
 * once it has stored them, and libraft's leader sends an empty heartbeat
 * (answered at once) only after a heartbeat interval in which it sent
 * nothing, and steps down when no majority answered within an election
 * timeout. So pieces sent back to back for longer than that while the
 * followers are still storing earlier ones cost the primary its
 * leadership (measured: a 32 MiB window, which takes 0.3-0.6 s to fill
 * here, lost it in 2 of 3 runs of a 100 MB SET). Paused, the run lets the
 * heartbeats through. */

typedef struct piece_send {
    tc__raft_msg h;            /* the continuation, queued to this thread */
    apply_req *a;              /* the write's request: its last piece's raft_apply */
    struct raft_buffer whole;  /* the entry as the log would store it */
    uint64_t id, term;
    size_t offset;             /* bytes of whole already appended */
    int queued;                /* the continuation is in the queue (or running) */
    int64_t progress_ms;       /* when a piece was last applied, or the run began */
} piece_send;

typedef struct piece_req {
    struct raft_apply req;
    tc_raftnode *node;
    size_t len;
} piece_req;

static void submit_now(tc_raftnode *n, submit_msg *sm);

/* An entry raft_apply took: on_applied finds its request in this list. */
static void track_appended(tc_raftnode *n, apply_req *a)
{
    if (n->raft_tail) n->raft_tail->raft_next = a;
    else n->raft_head = a;
    n->raft_tail = a;
}

/* Whether the run waits for an applied piece before appending more. */
static int pieces_paused(const tc_raftnode *n, const piece_send *ps)
{
    if (n->pieces_inflight >= PIECES_WINDOW) return 1;
    return n->pieces_inflight > 0 && tc_now_ms() - ps->progress_ms >= (int64_t)n->raft.heartbeat_timeout;
}

static void on_piece_applied(struct raft_apply *req, int status, void *result)
{
    (void)result;
    piece_req *p = (piece_req *)req;
    tc_raftnode *n = p->node;
    /* the write's outcome is its last piece's; only a disk failure is news */
    append_failed(n, status);
    n->pieces_inflight -= p->len;
    free(p);
    /* the run goes on unless still paused (after this callback: raft_apply
     * is not called from inside libraft's) */
    piece_send *ps = n->pieces_out;
    if (ps) ps->progress_ms = tc_now_ms();
    if (ps && !ps->queued && !pieces_paused(n, ps)) {
        ps->queued = 1;
        tc__raft_send_to_raft(n, &ps->h);
    }
}

/* Appends the writes held behind a run, in order, until one starts a run
 * of its own. */
static void release_held(tc_raftnode *n)
{
    while (!n->pieces_out && n->pieces_held) {
        tc__raft_msg *m = n->pieces_held;
        n->pieces_held = m->next;
        if (!n->pieces_held) n->pieces_held_last = NULL;
        submit_now(n, (submit_msg *)m);
    }
}

/* The run ends without its last piece in the log: the write never happens
 * (its pieces already logged are dropped at apply by whatever entry comes
 * next), so its outcome is known. */
static void pieces_drop(tc_raftnode *n, piece_send *ps)
{
    n->pieces_out = NULL;
    tc_big_free(ps->whole.base); /* libraft's heap is libc's (op_submit) */
    post_outcome(n, ps->a, TC_LOG_NOT_LOGGED);
    free(ps);
}

/* pieces_drop, said in the log, and the writes held behind the run go on. */
static void pieces_abort(tc_raftnode *n, piece_send *ps, const char *why)
{
    tc_info("a big write (%zu of %zu bytes logged as pieces) is not logged: %s", ps->offset, ps->whole.len, why);
    pieces_drop(n, ps);
    release_held(n);
}

static void pieces_run(tc_raftnode *n, tc__raft_msg *m)
{
    piece_send *ps = (piece_send *)m;
    size_t budget = PIECES_PER_PASS;
    ps->queued = 0;
    for (;;) {
        if (raft_state(&n->raft) != RAFT_LEADER || raft_transferee(&n->raft) != 0 ||
            raft_current_term(&n->raft) != ps->term) {
            pieces_abort(n, ps, "this node stopped being the primary");
            return;
        }
        size_t len = ps->whole.len - ps->offset < TC_PIECE_DATA ? ps->whole.len - ps->offset : TC_PIECE_DATA;
        int last = ps->offset + len == ps->whole.len;
        struct raft_buffer pb = {raft_malloc(tc_piece_size(len)), tc_piece_size(len)};
        piece_req *p = last ? NULL : malloc(sizeof *p);
        if (!pb.base || (!last && !p)) {
            raft_free(pb.base);
            free(p);
            pieces_abort(n, ps, "out of memory");
            return;
        }
        tc_piece_encode(pb.base, ps->id, ps->whole.len, ps->offset, (const char *)ps->whole.base + ps->offset, len,
                        last);
        int rc;
        if (last) rc = raft_apply(&n->raft, &ps->a->req, &pb, 1, on_applied);
        else {
            p->node = n;
            p->len = len;
            rc = raft_apply(&n->raft, &p->req, &pb, 1, on_piece_applied);
            if (rc == 0) n->pieces_inflight += len;
        }
        if (rc != 0) {
            /* past the leader check libraft freed the payload as it backed out */
            free(p);
            append_failed(n, rc);
            char why[160];
            snprintf(why, sizeof why, "raft_apply: %s", raft_strerror(rc));
            pieces_abort(n, ps, why);
            return;
        }
        ps->offset += len;
        if (last) {
            track_appended(n, ps->a);
            n->pieces_out = NULL;
            tc_big_free(ps->whole.base);
            free(ps);
            release_held(n);
            return;
        }
        /* paused: on_piece_applied resumes the run */
        if (pieces_paused(n, ps)) return;
        if (len >= budget) break;
        budget -= len;
    }
    /* the rest after this pass: heartbeats and replies go out meanwhile */
    ps->queued = 1;
    tc__raft_send_to_raft(n, &ps->h);
}

/* The Raft thread closes with a run in progress: it and the writes held
 * behind it are answered as not logged. */
static void pieces_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    pieces_drop(n, (piece_send *)m);
    tc__raft_msg *held = n->pieces_held;
    n->pieces_held = n->pieces_held_last = NULL;
    while (held) {
        tc__raft_msg *next = held->next;
        held->cancel(n, held);
        held = next;
    }
}

static void pieces_start(tc_raftnode *n, apply_req *a, struct raft_buffer whole)
{
    piece_send *ps = calloc(1, sizeof *ps);
    if (!ps) {
        raft_free(whole.base);
        post_outcome(n, a, TC_LOG_NOT_LOGGED);
        return;
    }
    ps->h.run = pieces_run;
    ps->h.cancel = pieces_cancel;
    ps->a = a;
    ps->whole = whole;
    ps->term = raft_current_term(&n->raft);
    ps->progress_ms = tc_now_ms();
    /* unique per primary and term: a run of an earlier term never
     * continues into this one */
    ps->id = ps->term << 32 | (++n->pieces_seq & 0xffffffffu);
    n->pieces_out = ps;
    pieces_run(n, &ps->h);
}

/* Raft thread: appends an entry the command thread made (behind a big
 * entry's pieces, if a run is in progress). */
static void submit_run(tc_raftnode *n, tc__raft_msg *m)
{
    if (n->pieces_out || n->pieces_held) {
        m->next = NULL;
        if (n->pieces_held_last) n->pieces_held_last->next = m;
        else n->pieces_held = m;
        n->pieces_held_last = m;
        return;
    }
    submit_now(n, (submit_msg *)m);
}

static void submit_now(tc_raftnode *n, submit_msg *sm)
{
    apply_req *a = sm->a;
    struct raft_buffer buf = sm->buf;
    free(sm);
    /* raft_apply refuses these two cases before taking the payload */
    if (raft_state(&n->raft) != RAFT_LEADER || raft_transferee(&n->raft) != 0) {
        raft_free(buf.base);
        post_outcome(n, a, TC_LOG_NOT_LOGGED);
        return;
    }
    if (buf.len > TC_PIECE_DATA) {
        pieces_start(n, a, buf);
        return;
    }
    int rc = raft_apply(&n->raft, &a->req, &buf, 1, on_applied);
    if (rc != 0) {
        /* Past the leader check, a failing raft_apply has already put the
         * payload in its log and freed it when it backed out. */
        if (!append_failed(n, rc)) tc_warn("raft_apply: %s (%s)", raft_strerror(rc), raft_errmsg(&n->raft));
        post_outcome(n, a, TC_LOG_NOT_LOGGED);
        return;
    }
    track_appended(n, a);
}

static void submit_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    submit_msg *sm = (submit_msg *)m;
    raft_free(sm->buf.base);
    post_outcome(n, sm->a, TC_LOG_NOT_LOGGED);
    free(sm);
}

static int op_submit(void *ud, tc_buf *entry, tc_batch *batch)
{
    tc_raftnode *n = ud;
    /* not the primary as far as this thread knows: refused as before */
    if (n->cview.state != RAFT_LEADER || n->cview.transferring) return -1;
    size_t len = entry->len;
    apply_req *a = calloc(1, sizeof *a);
    submit_msg *sm = calloc(1, sizeof *sm);
    /* raft wants payloads in whole 8-byte units; the entry format and the
     * sealed format allow zero padding. */
    size_t stored = n->sealer ? len + TC_SNAPSHOT_SEALED_OVERHEAD : len;
    size_t padded = (stored + 7) & ~(size_t)7;
    /* An entry that will travel as pieces is taken as it is (libraft's
     * heap frees with libc's free, as tc_buf does): copying it cost a
     * second buffer of its size, in fresh memory, before its first piece
     * could go. Small ones are copied, as are sealed ones (sealing writes
     * a new buffer anyway). */
    int take = !n->sealer && len > TC_PIECE_DATA && tc_buf_reserve(entry, padded - len) == 0;
    struct raft_buffer buf = {take ? entry->data : raft_malloc(padded), padded};
    if (!take) tc_big_alloc_advise(buf.base, padded);
    if (!a || !sm || !buf.base || len > TC_SNAPSHOT_SEALED_MAX) {
        free(a);
        free(sm);
        if (!take) raft_free(buf.base);
        return -1;
    }
    if (take) *entry = (tc_buf){0};
    else if (!n->sealer) memcpy(buf.base, entry->data, len);
    else if (tc_snapshot_seal(n->sealer, entry->data, len, buf.base) != 0) {
        tc_warn("cannot encrypt a log entry (OpenSSL failed); the write is refused");
        free(a);
        free(sm);
        raft_free(buf.base);
        return -1;
    }
    memset((char *)buf.base + stored, 0, padded - stored);
    a->node = n;
    a->batch = batch;
    a->submitted_ms = tc_now_ms();
    if (n->inflight_tail) n->inflight_tail->next = a;
    else n->inflight_head = a;
    n->inflight_tail = a;
    sm->h.run = submit_run;
    sm->h.cancel = submit_cancel;
    sm->a = a;
    sm->buf = buf;
    tc__raft_send_to_raft(n, &sm->h);
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
    /* the head is the oldest: submissions are kept in order */
    return n->inflight_head ? n->inflight_head->submitted_ms : 0;
}

typedef struct barrier_msg {
    tc__raft_msg h;
    struct raft_barrier req;
    tc_raftnode *node;
    int status;
} barrier_msg;

/* Command thread: the barrier's outcome, after every entry before it. */
static void barrier_done_run(tc_raftnode *n, tc__raft_msg *m)
{
    tc_router_barrier_done(&n->router, ((barrier_msg *)m)->status);
    free(m);
}

static void post_barrier_done(barrier_msg *b, int status)
{
    b->status = status;
    b->h.run = barrier_done_run;
    b->h.cancel = NULL;
    tc__raft_send_to_cmd(b->node, &b->h);
}

static void on_barrier(struct raft_barrier *req, int status) { post_barrier_done(req->data, status); }

/* Raft thread: appends the barrier the command thread asked for. */
static void barrier_run(tc_raftnode *n, tc__raft_msg *m)
{
    barrier_msg *b = (barrier_msg *)m;
    b->req.data = b;
    int rc = raft_barrier(&n->raft, &b->req, on_barrier);
    if (rc != 0) post_barrier_done(b, rc);
}

static void barrier_cancel(tc_raftnode *n, tc__raft_msg *m)
{
    (void)n;
    post_barrier_done((barrier_msg *)m, RAFT_SHUTDOWN);
}

static int op_barrier(void *ud)
{
    tc_raftnode *n = ud;
    if (n->cview.state != RAFT_LEADER) return -1;
    barrier_msg *b = calloc(1, sizeof *b);
    if (!b) return -1;
    b->node = n;
    b->h.run = barrier_run;
    b->h.cancel = barrier_cancel;
    tc__raft_send_to_raft(n, &b->h);
    return 0;
}

static uint64_t op_applied_index(void *ud)
{
    tc_raftnode *n = ud;
    return n->applied;
}

static int op_idle_barriers(void *ud)
{
    tc_raftnode *n = ud;
    return n->cview.idle_barriers;
}

/* A leadership transfer lets its target be elected at once (votes go to
 * it however recently the others heard from this primary): no read lease
 * while one runs, nor from writes submitted before it ended (their commit
 * cannot show that it did not succeed). The role fields, transferring
 * among them, are published as soon as a FAILOVER starts (sync_run). */
static int64_t op_lease_void_ms(void *ud)
{
    tc_raftnode *n = ud;
    return n->cview.transferring ? INT64_MAX : n->cview.transfer_ended_ms;
}

static int64_t op_applied_ms(void *ud)
{
    tc_raftnode *n = ud;
    return n->applied_ms;
}

static unsigned op_replicas_at(void *ud, uint64_t index)
{
    tc_raftnode *n = ud;
    const tc_config *cfg = &n->srv->cfg;
    unsigned count = 0;
    for (size_t i = 0; i < cfg->nnodes && i < TC_CONFIG_MAX_NODES; i++)
        if (cfg->nodes[i].id != n->srv->self->id && n->cview.voter[i] && n->cview.match[i] >= index) count++;
    return count;
}

void tc__raft_log_ops(tc_raftnode *n, tc_log_ops *ops)
{
    *ops = (tc_log_ops){.ud = n, .role = op_role, .submit = op_submit, .barrier = op_barrier,
                        .applied_index = op_applied_index, .applied_ms = op_applied_ms,
                        .heard_ms = tc__raft_heard_ms, .idle_barriers = op_idle_barriers,
                        .lease_void_ms = op_lease_void_ms,
                        .replicas_at = op_replicas_at, .write_error = tc__raft_write_error,
                        .commit_stall = tc__raft_commit_stall};
}

void tc__raft_fsm_setup(tc_raftnode *n)
{
    n->fsm.version = 3;
    n->fsm.data = n;
    n->fsm.apply = fsm_apply;
    n->pieces_in.plan = plan_big_set;
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
