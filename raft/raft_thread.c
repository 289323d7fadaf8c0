/* The Raft thread (issue 19): libraft, its libuv loop, its storage and our
 * transport run on a thread of their own, so that heartbeats, votes,
 * AppendEntries and their fsyncs go on while the command thread runs a
 * long command (KEYS over millions of keys, a big DEBUG POPULATE, a
 * script).
 *
 * The two threads meet here and nowhere else:
 * - two queues of messages (to_raft: entries to append, barriers, the
 *   fork of an image done, close; to_cmd: entries to apply, callbacks,
 *   snapshots to restore, an image to fork), each drained in batches and
 *   woken through an eventfd only when the receiver may be asleep (below);
 * - the view: what the command thread may know of libraft's state (role,
 *   primary, term, commit and match indexes, disk health), copied by the
 *   Raft thread after each pass of its loop;
 * - sync calls: the command thread parks while the Raft thread runs a
 *   function for it (INFO, ROLE, FAILOVER, MEMBERS, the cron's Raft part).
 *   While parked, the command thread touches nothing, so such a function
 *   may read and change both threads' state; that is what keeps the rare
 *   paths as they were. The Raft thread never waits for the command
 *   thread, so a sync call always returns promptly.
 *
 * The keyspace stays on the command thread: no lock guards it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "raft_internal.h"

/* the command thread runs queued messages for at most this long before it
 * serves clients again (a replica catching up after a long command) */
#define CMD_BATCH_NS (5 * 1000 * 1000)
#define RTICK_MS 100

int tc__raft_here(const tc_raftnode *n)
{
    if (!n->threaded) return 1;
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &n->rthread);
}

/* The Raft thread's loop is running and this is it (not before the start,
 * not the command thread in a sync call). */
static int on_raft_loop(const tc_raftnode *n)
{
    if (!n->threaded) return 0;
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &n->rthread);
}

/* ---- waking the other thread ---------------------------------------------
 *
 * Each queue has a wake (tc__raft_wake): an eventfd the receiving loop
 * polls, and armed, which says "the receiver will look at this queue before
 * it next sleeps". A sender writes the fd only when it turns armed from 0
 * to 1, so a burst of messages costs one write, and none while the
 * receiver is awake and bound to look anyway. (uv_async_t did the first
 * half, but libuv 1.44's receiver spins, then sched_yield()s, while a
 * sender is between its flag and its write: on this 2-CPU machine the
 * write's wake-up often preempted that sender, and both threads yielded
 * over and over.)
 *
 *   sender:   push under mu; if exchange(armed, 1) read 0, write the fd.
 *   receiver: fd readable: read it, armed = 1, run the queue;
 *             the end of a pass (check; Raft thread only): armed = 1;
 *             just before each poll (prepare): armed = 0, run the queue.
 *
 * No wake is lost. Take a message M whose sender's exchange X comes after
 * the push (program order, all accesses seq_cst):
 * - X read 0: the sender writes the fd, which stays readable until the
 *   receiver reads it; the receiver runs the queue after that read, and
 *   finds M there unless an earlier look took it.
 * - X read 1: some store of 1 (a sender's, or the receiver's, which is
 *   awake then and passes a prepare before it polls) precedes X in armed's
 *   order with no 0 in between, so the receiver's next prepare stores 0
 *   after X. That prepare's look (under mu) cannot precede the push: the
 *   store of 0 comes before the look in the receiver, so it would happen
 *   before the push, hence before X, and X would have read 0. So the look
 *   finds M (or an earlier one took it), before the poll that may sleep:
 *   a libuv loop runs its prepare handles before every poll.
 * What a prepare ran may have left work for later in the same pass (the
 * replies to flush, the view to publish), so the loop then polls without
 * blocking (busy: an idle handle, which stops itself).
 *
 * The fds live until the join: the command thread writes the Raft
 * thread's only after it checked raft_gone under mu, and closes both once
 * the Raft thread has ended. */

static void wake_write(tc__raft_wake *w)
{
    if (atomic_exchange(&w->armed, 1) != 0) return;
    uint64_t one = 1;
    ssize_t r;
    do r = write(w->fd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    /* a full counter (EAGAIN) is readable already */
}

static void wake_read(tc__raft_wake *w)
{
    uint64_t count;
    ssize_t r;
    do r = read(w->fd, &count, sizeof count);
    while (r < 0 && errno == EINTR);
    /* before the queue is run: a sender that comes now need not write */
    atomic_store(&w->armed, 1);
}

static void busy_done(uv_idle_t *h) { uv_idle_stop(h); }

static int wake_init(tc__raft_wake *w, uv_loop_t *loop, tc_raftnode *n, uv_poll_cb on_fd, uv_prepare_cb before)
{
    atomic_init(&w->armed, 0);
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0) return -errno;
    int rc = uv_poll_init(loop, &w->poll, w->fd);
    if (rc != 0) {
        close(w->fd);
        w->fd = -1;
        return rc;
    }
    w->poll.data = n;
    uv_poll_start(&w->poll, UV_READABLE, on_fd);
    uv_prepare_init(loop, &w->before_poll);
    w->before_poll.data = n;
    uv_prepare_start(&w->before_poll, before);
    uv_idle_init(loop, &w->busy);
    return 0;
}

static void wake_close_handles(tc__raft_wake *w)
{
    uv_close((uv_handle_t *)&w->poll, NULL);
    uv_close((uv_handle_t *)&w->before_poll, NULL);
    uv_close((uv_handle_t *)&w->busy, NULL);
}

static void wake_close_fd(tc__raft_wake *w)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

static void push(tc__raft_msg **head, tc__raft_msg **last, tc__raft_msg *m)
{
    m->next = NULL;
    if (*last) (*last)->next = m;
    else *head = m;
    *last = m;
}

static void cancel(tc_raftnode *n, tc__raft_msg *m)
{
    if (m->cancel) m->cancel(n, m);
    else free(m);
}

void tc__raft_send_to_raft(tc_raftnode *n, tc__raft_msg *m)
{
    uv_mutex_lock(&n->mu);
    if (n->raft_gone) {
        uv_mutex_unlock(&n->mu);
        cancel(n, m);
        return;
    }
    push(&n->to_raft, &n->to_raft_last, m);
    uv_mutex_unlock(&n->mu);
    wake_write(&n->raft_wake);
}

/* Raft thread: what it queued for the command thread in this pass; once a
 * pass, not once an entry: the command thread then takes every entry a
 * batch of acknowledgements committed at one look. */
static void cmd_wake_owed(tc_raftnode *n)
{
    if (!n->cmd_owed) return;
    n->cmd_owed = 0;
    wake_write(&n->cmd_wake);
}

void tc__raft_send_to_cmd(tc_raftnode *n, tc__raft_msg *m)
{
    m->ms = tc_now_ms();
    uv_mutex_lock(&n->mu);
    push(&n->to_cmd, &n->to_cmd_last, m);
    n->to_cmd_len++;
    uv_mutex_unlock(&n->mu);
    /* on the Raft loop: at the end of this pass (on_rpass), or before the
     * loop polls (raft_before_poll), whichever comes first */
    if (on_raft_loop(n)) n->cmd_owed = 1;
    else wake_write(&n->cmd_wake);
}

/* ---- sync calls ---------------------------------------------------------- */

typedef struct sync_msg {
    tc__raft_msg h;
    void (*fn)(tc_raftnode *n, void *arg);
    void *arg;
    int done, ran;
} sync_msg;

static void sync_finish(tc_raftnode *n, sync_msg *s, int ran)
{
    uv_mutex_lock(&n->mu);
    s->ran = ran;
    s->done = 1;
    uv_cond_broadcast(&n->synced);
    uv_mutex_unlock(&n->mu);
}

/* The view's role fields, as libraft has them now. */
static void view_role(tc_raftnode *n, tc_raft_view *v)
{
    v->state = raft_state(&n->raft);
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&n->raft, &leader, &addr);
    v->leader = (int)leader;
    v->transferring = n->transferring || raft_transferee(&n->raft) != 0;
    v->term = raft_current_term(&n->raft);
}

static void sync_run(tc_raftnode *n, tc__raft_msg *m)
{
    sync_msg *s = (sync_msg *)m;
    s->fn(n, s->arg);
    /* What the call answered (ROLE's "master") comes from libraft's state
     * now, while the view the command thread routes by is published at the
     * end of this thread's pass: a client told "master" could send its
     * write before that and hear from the same node that no primary is
     * elected (seen once in integration_shutdown). So the role is published
     * here too, and the caller looks before it returns (tc__raft_sync). */
    uv_mutex_lock(&n->mu);
    view_role(n, &n->view);
    uv_mutex_unlock(&n->mu);
    sync_finish(n, s, 1);
}

static void sync_cancel(tc_raftnode *n, tc__raft_msg *m) { sync_finish(n, (sync_msg *)m, 0); }

int tc__raft_sync(tc_raftnode *n, void (*fn)(tc_raftnode *n, void *arg), void *arg)
{
    if (tc__raft_here(n)) {
        fn(n, arg);
        return 0;
    }
    sync_msg s = {.h = {.run = sync_run, .cancel = sync_cancel}, .fn = fn, .arg = arg};
    uv_mutex_lock(&n->mu);
    if (n->raft_gone) {
        uv_mutex_unlock(&n->mu);
        return -1;
    }
    push(&n->to_raft, &n->to_raft_last, &s.h);
    uv_mutex_unlock(&n->mu);
    wake_write(&n->raft_wake);
    uv_mutex_lock(&n->mu);
    while (!s.done) uv_cond_wait(&n->synced, &n->mu);
    uv_mutex_unlock(&n->mu);
    tc__raft_look(n); /* the role as the call saw it (sync_run) */
    return s.ran ? 0 : -1;
}

/* ---- the view --------------------------------------------------------------- */

int tc__raft_match(tc_raftnode *n, int id, raft_index *match)
{
    *match = 0;
    if (raft_state(&n->raft) != RAFT_LEADER || !n->raft.leader_state.progress) return RAFT_NOTLEADER;
    return raft_match_index(&n->raft, (raft_id)id, match);
}

int tc__raft_conf_role(const struct raft_configuration *conf, raft_id id)
{
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id) return conf->servers[i].role;
    return -1;
}

/* Raft thread, after each pass of its loop: the view for the command
 * thread, the applied index it has been told of, the primary's watch of
 * its peers. A change of role or primary wakes the command thread, which
 * may be idle in its own loop. */
static void on_rpass(uv_check_t *h)
{
    tc_raftnode *n = h->data;
    tc_raft_view v;
    memset(&v, 0, sizeof v);
    view_role(n, &v);
    v.commit = raft_commit_index(&n->raft);
    v.last_index = raft_last_index(&n->raft);
    v.last_applied = raft_last_applied(&n->raft);
    for (size_t i = 0; i < n->rcfg_nnodes && i < TC_CONFIG_MAX_NODES; i++) {
        int role = tc__raft_conf_role(&n->raft.configuration, (raft_id)n->rcfg_ids[i]);
        v.member[i] = role >= 0;
        v.voter[i] = role == RAFT_VOTER;
        raft_index match = 0;
        if (v.state == RAFT_LEADER && role >= 0 && tc__raft_match(n, (int)n->rcfg_ids[i], &match) == 0)
            v.match[i] = match;
    }
    v.disk_failing = n->disk.failing;
    memcpy(v.disk_error, n->disk.last_error, sizeof v.disk_error);
    v.heard_ms = n->heard.primary_ms;
    v.heard_commit = n->heard.primary_commit;
    v.idle_barriers = tc__raft_budget_idle_barriers(n);
    v.transfer_ended_ms = n->transfer_ended_ms;
    tc__raft_watch_peers(n, &v);
    uv_mutex_lock(&n->mu);
    int wake = v.state != n->view.state || v.leader != n->view.leader || v.term != n->view.term ||
               v.transferring != n->view.transferring || v.disk_failing != n->view.disk_failing;
    n->view = v;
    uv_mutex_unlock(&n->mu);
    /* barriers (and snapshots installed) move the applied index without
     * an entry to apply: the command thread learns it in order */
    if (v.last_applied > n->sent_applied) tc__raft_post_progress(n, v.last_applied);
    if (wake) n->cmd_owed = 1;
    cmd_wake_owed(n);
    /* awake until the prepare before the next poll, which looks at to_raft */
    atomic_store(&n->raft_wake.armed, 1);
}

void tc__raft_look(tc_raftnode *n)
{
    uv_mutex_lock(&n->mu);
    n->cview = n->view;
    n->cmd_alive_ms = tc_now_ms();
    n->cmd_staging = n->srv->staging != NULL;
    uv_mutex_unlock(&n->mu);
}

/* ---- the Raft thread's own clock ---------------------------------------------- */

/* Each RTICK_MS: how late the tick itself fired (the Raft loop's own
 * stalls), the data directory's health, and a command thread that makes
 * no progress: past apply_stall_timeout, a primary hands leadership to a
 * replica, so that a truly wedged node does not keep the cluster without
 * a working primary (its Raft thread would otherwise keep it elected). */
static void on_rtick(uv_timer_t *t)
{
    tc_raftnode *n = t->data;
    int64_t now = tc_now_ms();
    if (n->rtick_due_ms) {
        int64_t late = now - n->rtick_due_ms;
        n->loop_delay_ms = late > 0 ? late : 0;
        if (n->loop_delay_ms > n->loop_delay_max_ms) n->loop_delay_max_ms = n->loop_delay_ms;
    }
    n->rtick_due_ms = now + RTICK_MS;
    tc__raft_disk_check(n, now);
    tc__raft_budget_tick(n, now);
    uv_mutex_lock(&n->mu);
    int64_t pass = n->cmd_alive_ms;
    uv_mutex_unlock(&n->mu);
    /* a loop pass longer than the election timeout: a stall (INFO) */
    if (now - pass >= (int64_t)n->rcfg_election_ms) {
        if (!n->cmd_stalled) n->cmd_stalls++;
        n->cmd_stalled = 1;
    } else n->cmd_stalled = 0;
    /* inside one long command, replies written and keys looked up are
     * progress too: only a thread doing nothing counts as wedged */
    uint64_t ticks = tc_progress_read();
    if (ticks != n->seen_ticks) {
        n->seen_ticks = ticks;
        n->ticked_ms = now;
    }
    int64_t quiet = now - (pass > n->ticked_ms ? pass : n->ticked_ms);
    uint64_t bound = n->rcfg_apply_stall_ms;
    if (!bound || quiet < (int64_t)bound || raft_state(&n->raft) != RAFT_LEADER || n->transferring ||
        now - n->wedge_handover_ms < 1000)
        return;
    n->wedge_handover_ms = now;
    char err[256];
    if (tc__raft_failover(n, 0, err, sizeof err) == 0) {
        n->wedge_handovers++;
        tc_warn("the command thread has made no progress for %lld ms (apply_stall_timeout %llu ms): handing "
                "leadership to a replica",
                (long long)quiet, (unsigned long long)bound);
    } else tc_info("the command thread is stuck, but leadership cannot move yet: %s", err);
}

/* ---- draining the queues ------------------------------------------------------ */

/* Raft thread: runs what the command thread queued; 1 if anything ran. */
static int run_to_raft(tc_raftnode *n)
{
    uv_mutex_lock(&n->mu);
    tc__raft_msg *m = n->to_raft;
    n->to_raft = n->to_raft_last = NULL;
    uv_mutex_unlock(&n->mu);
    int ran = m != NULL;
    while (m) {
        tc__raft_msg *next = m->next;
        m->run(n, m);
        m = next;
    }
    return ran;
}

static void on_raft_fd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    tc_raftnode *n = h->data;
    wake_read(&n->raft_wake);
    run_to_raft(n);
}

static void raft_before_poll(uv_prepare_t *h)
{
    tc_raftnode *n = h->data;
    atomic_store(&n->raft_wake.armed, 0);
    int ran = run_to_raft(n);
    cmd_wake_owed(n); /* never sleep on a wake owed */
    if (ran && !n->raft_loop_ending) uv_idle_start(&n->raft_wake.busy, busy_done);
}

/* Command thread: runs what the Raft thread queued, for at most
 * CMD_BATCH_NS at a time. 1: it ran some or left some (the loop should not
 * block before the clients' output goes and the rest runs); 0: nothing, or
 * the node closed (its handles are gone). */
static int run_to_cmd(tc_raftnode *n)
{
    tc__raft_look(n);
    uv_mutex_lock(&n->mu);
    tc__raft_msg *got = n->to_cmd, *got_last = n->to_cmd_last;
    size_t got_len = n->to_cmd_len;
    n->to_cmd = n->to_cmd_last = NULL;
    n->to_cmd_len = 0;
    uv_mutex_unlock(&n->mu);
    if (got) {
        if (n->backlog_last) n->backlog_last->next = got;
        else n->backlog = got;
        n->backlog_last = got_last;
        n->backlog_len += got_len;
    }
    if (!n->backlog) return 0;
    uint64_t start = uv_hrtime();
    unsigned ran = 0;
    while (n->backlog) {
        if (ran >= 64 && uv_hrtime() - start > CMD_BATCH_NS) return 1; /* the rest after a pass for the clients */
        tc__raft_msg *m = n->backlog;
        n->backlog = m->next;
        if (!n->backlog) n->backlog_last = NULL;
        n->backlog_len--;
        ran++;
        int last = m->closes;
        m->run(n, m);
        if (last) return 0; /* the node closed: n's handles are gone */
    }
    return 1;
}

static void on_cmd_fd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    tc_raftnode *n = h->data;
    wake_read(&n->cmd_wake);
    if (run_to_cmd(n) && n->backlog) uv_idle_start(&n->cmd_wake.busy, busy_done);
}

static void cmd_before_poll(uv_prepare_t *h)
{
    tc_raftnode *n = h->data;
    atomic_store(&n->cmd_wake.armed, 0);
    if (run_to_cmd(n)) uv_idle_start(&n->cmd_wake.busy, busy_done);
}

/* ---- start and stop -------------------------------------------------------------- */

int tc__raft_thread_init(tc_raftnode *n, char *err, size_t errlen)
{
    int rc = uv_loop_init(&n->rloop);
    if (rc == 0 && (rc = uv_mutex_init(&n->mu)) != 0) uv_loop_close(&n->rloop);
    if (rc == 0 && (rc = uv_cond_init(&n->synced)) != 0) {
        uv_mutex_destroy(&n->mu);
        uv_loop_close(&n->rloop);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot set up the Raft thread's loop: %s", uv_strerror(rc));
        return -1;
    }
    n->raft_wake.fd = n->cmd_wake.fd = -1;
    if ((rc = wake_init(&n->raft_wake, &n->rloop, n, on_raft_fd, raft_before_poll)) != 0 ||
        (rc = wake_init(&n->cmd_wake, n->srv->loop, n, on_cmd_fd, cmd_before_poll)) != 0) {
        snprintf(err, errlen, "cannot set up the Raft thread's wake-ups: %s", uv_strerror(rc));
        return -1;
    }
    uv_check_init(&n->rloop, &n->rpass);
    n->rpass.data = n;
    uv_timer_init(&n->rloop, &n->rtick);
    n->rtick.data = n;
    const tc_config *cfg = &n->srv->cfg;
    n->rcfg_snapshot_bytes = cfg->snapshot_bytes;
    n->rcfg_apply_stall_ms = cfg->apply_stall_timeout_ms;
    n->rcfg_election_ms = cfg->election_timeout_ms;
    n->rcfg_snapshot_threshold = (uint64_t)cfg->snapshot_threshold;
    n->rcfg_nnodes = cfg->nnodes < TC_CONFIG_MAX_NODES ? cfg->nnodes : TC_CONFIG_MAX_NODES;
    for (size_t i = 0; i < n->rcfg_nnodes; i++) n->rcfg_ids[i] = cfg->nodes[i].id;
    n->rcfg_self = n->srv->self->id;
    n->cmd_alive_ms = tc_now_ms();
    return 0;
}

static void raft_thread_main(void *arg)
{
    tc_raftnode *n = arg;
    uv_run(&n->rloop, UV_RUN_DEFAULT);
}

int tc__raft_thread_start(tc_raftnode *n, char *err, size_t errlen)
{
    uv_check_start(&n->rpass, on_rpass);
    uv_timer_start(&n->rtick, on_rtick, RTICK_MS, RTICK_MS);
    /* the first view before any client is served */
    on_rpass(&n->rpass);
    tc__raft_look(n);
    n->threaded = 1;
    int rc = uv_thread_create(&n->rthread, raft_thread_main, n);
    if (rc != 0) {
        n->threaded = 0;
        snprintf(err, errlen, "cannot start the Raft thread: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void cancel_all(tc_raftnode *n, tc__raft_msg *m)
{
    while (m) {
        tc__raft_msg *next = m->next;
        cancel(n, m);
        m = next;
    }
}

/* Raft thread, once libraft has closed: what is still queued for it is
 * cancelled (writes answered as not logged, sync calls as not run), its
 * handles close (its loop then ends, and the thread), and the command
 * thread is told. */
void tc__raft_thread_closing(tc_raftnode *n, tc__raft_msg *closed)
{
    uv_mutex_lock(&n->mu);
    n->raft_gone = 1;
    tc__raft_msg *left = n->to_raft;
    n->to_raft = n->to_raft_last = NULL;
    uv_mutex_unlock(&n->mu);
    cancel_all(n, left);
    n->raft_loop_ending = 1;
    wake_close_handles(&n->raft_wake);
    uv_close((uv_handle_t *)&n->rpass, NULL);
    uv_close((uv_handle_t *)&n->rtick, NULL);
    closed->closes = 1;
    tc__raft_send_to_cmd(n, closed);
    cmd_wake_owed(n); /* no pass ends on this loop any more */
}

/* Command thread, on the closed message: the Raft thread has ended its
 * loop (or is about to); once joined, what it sent last is run here. */
void tc__raft_thread_join(tc_raftnode *n)
{
    if (n->threaded) uv_thread_join(&n->rthread);
    n->threaded = 0;
    for (;;) {
        uv_mutex_lock(&n->mu);
        tc__raft_msg *m = n->to_cmd;
        n->to_cmd = n->to_cmd_last = NULL;
        n->to_cmd_len = 0;
        uv_mutex_unlock(&n->mu);
        if (n->backlog_last) n->backlog_last->next = m;
        else n->backlog = m;
        m = n->backlog;
        n->backlog = n->backlog_last = NULL;
        n->backlog_len = 0;
        if (!m) break;
        while (m) {
            tc__raft_msg *next = m->next;
            m->run(n, m);
            m = next;
        }
    }
    wake_close_handles(&n->cmd_wake);
    uv_run(&n->rloop, UV_RUN_NOWAIT); /* anything left to close on it */
    /* nobody writes them now: the Raft thread has ended, and raft_gone
     * keeps this thread from writing the Raft thread's */
    wake_close_fd(&n->cmd_wake);
    wake_close_fd(&n->raft_wake);
    if (uv_loop_close(&n->rloop) != 0) tc_info("the Raft loop still had handles open at exit");
    uv_cond_destroy(&n->synced);
    uv_mutex_destroy(&n->mu);
}

/* ---- INFO ---------------------------------------------------------------------- */

void tc__raft_info_threads(tc_raftnode *n, tc_buf *b)
{
    int64_t now = tc_now_ms();
    uv_mutex_lock(&n->mu);
    size_t queued = n->to_cmd_len + n->backlog_len;
    int64_t oldest = n->backlog ? n->backlog->ms : n->to_cmd ? n->to_cmd->ms : 0;
    uv_mutex_unlock(&n->mu);
    uint64_t raft_applied = raft_last_applied(&n->raft);
    tc_buf_printf(b,
                  "raft_thread_loop_delay_ms:%lld\r\nraft_thread_loop_delay_max_ms:%lld\r\napply_queue_length:%zu\r\n"
                  "apply_lag_entries:%llu\r\napply_lag_ms:%lld\r\n"
                  "command_thread_stalls:%llu\r\ncommand_thread_wedged_handovers:%llu\r\n",
                  (long long)n->loop_delay_ms, (long long)n->loop_delay_max_ms, queued,
                  (unsigned long long)(raft_applied > n->applied ? raft_applied - n->applied : 0),
                  (long long)(oldest ? now - oldest : 0),
                  (unsigned long long)n->cmd_stalls, (unsigned long long)n->wedge_handovers);
}
