/* A tricache node as a member of a Raft group: start-up (storage, transport,
 * bootstrap of the founding nodes), the replication face the node calls,
 * the loop integration, shutdown, and what the backup job asks of Raft. The
 * FSM, leadership, membership and status live beside it (internal.h). */
#include "raft_node.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft_internal.h"
#include "log.h"
#include "peer_probe.h"
#include "segment_buffers.h"
#include "transport.h"

/* In-flight entries: the library's default of 32 cost us 6.5x throughput
 * (RAFT-NOTES.md); batching keeps the count low anyway. */
#define MAX_INFLIGHT 256
/* Entries kept after a snapshot, so a briefly lagging replica catches up
 * from the log rather than a whole image (at most half the threshold). */
#define SNAPSHOT_TRAILING 8192
/* Redial a peer quickly: the default (1 s) outlasts our election timeout. */
#define CONNECT_RETRY_MS 100

/* ---- what the program's other parts ask of Raft ---------------------------- */

void tc_raftnode_position(tc_raftnode *n, uint64_t *index, uint64_t *term, const tc_apply_state **apply)
{
    /* the keyspace's position: what the command thread applied */
    *index = n->applied;
    *term = tc__raft_here(n) ? raft_current_term(&n->raft) : n->cview.term;
    *apply = &n->router.apply;
}

/* The replica a scheduled backup goes to. Only one this primary hears
 * from: an idle log leaves a dead replica's match index at the end of the
 * log, and the backup handed to it would never be taken. */
static void most_caught_up(tc_raftnode *n, void *arg)
{
    tc_server *s = n->srv;
    int best = s->self->id;
    raft_index best_match = 0, last = raft_last_index(&n->raft);
    for (size_t i = 0; i < s->cfg.nnodes; i++) {
        const tc_node_conf *nc = &s->cfg.nodes[i];
        raft_index match = 0;
        if (nc->id == s->self->id || tc__raft_match(n, (int)nc->id, &match) != 0) continue;
        if (tc__raft_peer_alive(n, nc->id) == 0) continue;
        if (match > best_match && last - match < 1000) {
            best = nc->id;
            best_match = match;
        }
    }
    *(int *)arg = best;
}

int tc_raftnode_most_caught_up(tc_raftnode *n)
{
    int best = n->srv->self->id;
    tc__raft_sync(n, most_caught_up, &best);
    return best;
}

int tc_raftnode_submit_command(tc_raftnode *n, size_t argc, const tc_slice *argv)
{
    return tc_router_submit_command(&n->router, argc, argv, tc_now_ms());
}

/* ---- periodic work ------------------------------------------------------------ */

/* The cron's part that needs libraft and the node's state together: run
 * on the Raft thread while the command thread waits (raft_thread.c). */
static void cron_on_raft(tc_raftnode *n, void *arg)
{
    int64_t now = *(int64_t *)arg;
    /* the settings the Raft thread reads on its own, as CONFIG SET left them */
    n->rcfg_snapshot_bytes = n->srv->cfg.snapshot_bytes;
    n->rcfg_apply_stall_ms = n->srv->cfg.apply_stall_timeout_ms;
    /* LATENCY's raft-log-write event: the monitor is the command thread's */
    if (n->append_latency.pending_max_ms) {
        tc_latency_note(n->srv, TC_LAT_RAFT_LOG_WRITE, n->append_latency.pending_max_ms);
        n->append_latency.pending_max_ms = 0;
    }
    tc__raft_disk_cron(n, now);
    tc__raft_stall_cron(n, now);
    tc__raft_move_to_preferred_zone(n, now);
    tc__raft_note_formed(n, now);
}

static void on_cron(void *ud, int64_t now)
{
    tc_raftnode *n = ud;
    tc_router_cron(&n->router, now);
    tc__raft_sync(n, cron_on_raft, &now);
}

/* ---- loop integration ----------------------------------------------------- */

static void on_flush(uv_check_t *h)
{
    tc_raftnode *n = h->data;
    tc__raft_look(n);
    tc_router_flush(&n->router, tc_now_ms());
    /* every pass, so that no change of primary goes unseen between crons */
    tc__raft_follow_primary(n);
}

/* Command thread: the Raft thread has closed libraft and is ending. */
static void closed_run(tc_raftnode *n, tc__raft_msg *m)
{
    free(m);
    tc__raft_thread_join(n);
    /* Freed only now that the Raft loop has ended: raft_uv_close finishes
     * asynchronously, and a peer client's reconnect timer firing meanwhile
     * called the transport's connect after it was freed (a SIGSEGV at exit,
     * seen under ThreadSanitizer after a handover). */
    tc_transport_close(&n->transport);
    uv_close((uv_handle_t *)&n->flush, NULL);
    uv_close((uv_handle_t *)&n->close_timer, NULL);
    uv_close((uv_handle_t *)&n->handover, NULL);
    tc_router_free(&n->router);
    tc_snapshot_sealer_free(n->sealer);
    tc_snapshot_opener_free(n->opener);
    n->sealer = NULL;
    n->opener = NULL;
    tc_server_set_replication(n->srv, NULL, NULL);
    tc_server_stop(n->srv);
}

static void on_raft_closed(struct raft *r)
{
    tc_raftnode *n = r->data;
    tc__raft_image_discard(n);
    tc_piece_run_drop(&n->pieces_in);
    raft_uv_close(&n->io);
    tc__raft_msg *closed = calloc(1, sizeof *closed);
    if (!closed) {
        tc_warn("out of memory while closing. Stopping");
        exit(1);
    }
    closed->run = closed_run;
    tc__raft_thread_closing(n, closed);
}

static void close_run(tc_raftnode *n, tc__raft_msg *m)
{
    free(m);
    raft_close(&n->raft, on_raft_closed);
}

static void on_close_timer(uv_timer_t *t)
{
    tc_raftnode *n = t->data;
    /* Writes collected but not submitted fail now; submitted ones get
     * their outcome (an error) from raft_close. */
    tc_router_abort(&n->router);
    tc__raft_msg *m = calloc(1, sizeof *m);
    if (!m) {
        tc_warn("out of memory while closing. Stopping");
        exit(1);
    }
    m->run = close_run;
    tc__raft_send_to_raft(n, m);
}

static void close_now(tc_raftnode *n)
{
    if (n->closing) return;
    n->closing = 1;
    if (n->handing_over) {
        uv_timer_stop(&n->handover);
        n->handing_over = 0;
        tc_router_hold_writes(&n->router, 0); /* routed again: a redirect now, or refused at close */
    }
    uv_timer_start(&n->close_timer, on_close_timer, 0, 0);
}

/* Election timeouts a handing-over node waits, once it stepped down, for a
 * new primary to be known (below). */
#define HANDOVER_ELECTION_WAIT 4

/* A planned handover, step by step on a short timer: the writes already in
 * the log are applied (held writes wait), then leadership moves to a
 * caught-up replica, then this node closes. Clients see a transfer's pause
 * and a redirect, never a write of unknown outcome. */
static void on_handover_tick(uv_timer_t *t)
{
    tc_raftnode *n = t->data;
    int64_t now = tc_now_ms();
    int primary = tc_raftnode_role(n) == TC_ROLE_PRIMARY;
    if (n->handing_over == 2 && !primary) {
        /* Held writes are released once the new primary is known here, so
         * that they get a redirect to it rather than "no primary". */
        const tc_node_conf *p = tc_raftnode_primary(n);
        /* A transfer's election ends within an election timeout or two (a
         * retry after a split vote included). Past HANDOVER_ELECTION_WAIT of
         * them with no primary, no replica is taking over (say all were
         * stopped before this one): waiting out shutdown_timeout would only
         * delay the exit, as Redis exits at once with no replica connected. */
        if (!p) {
            if (!n->handover_leaderless_ms) n->handover_leaderless_ms = now;
            int64_t waited = now - n->handover_leaderless_ms;
            if (now < n->handover_deadline_ms &&
                waited < HANDOVER_ELECTION_WAIT * (int64_t)n->srv->cfg.election_timeout_ms)
                return;
        }
        if (p) tc_notice("shutdown: leadership handed over to node %d", p->id);
        else tc_warn("shutdown: this node stepped down and no replica took over (none elected within %lld ms); closing",
                     (long long)(now - n->handover_leaderless_ms));
        n->handed_to = p ? p->id : 0;
        close_now(n);
        return;
    }
    if (now >= n->handover_deadline_ms) {
        tc_warn("shutdown: no handover within shutdown_timeout (%llu ms); closing as the primary",
                (unsigned long long)n->srv->cfg.shutdown_timeout_ms);
        close_now(n);
        return;
    }
    if (!primary) { /* deposed meanwhile: nothing to hand over */
        close_now(n);
        return;
    }
    if (n->handing_over == 2 && !n->cview.transferring && n->cview.transfer_ended_ms >= n->handover_transfer_ms) {
        /* The transfer ended and this node is still the primary: its
         * target did not take over within an election timeout (stopped a
         * moment before, say). Another replica may: the next target is
         * picked without the one just missed. */
        tc_notice("shutdown: the transfer ended with this node still the primary; trying again");
        n->handing_over = 1;
    }
    if (n->handing_over == 1 && tc_router_drained(&n->router) && !n->cview.transferring) {
        char err[256];
        if (tc__raft_handover(n, err, sizeof err) == 0) {
            n->handing_over = 2;
            n->handover_transfer_ms = now;
        } else {
            tc_info("shutdown: %s; trying again", err);
        }
    }
}

static void count_other_voters(tc_raftnode *n, void *arg)
{
    int *others = arg;
    for (unsigned i = 0; i < n->raft.configuration.n; i++) {
        const struct raft_server *m = &n->raft.configuration.servers[i];
        if (m->role == RAFT_VOTER && m->id != (raft_id)n->srv->self->id) (*others)++;
    }
}

static void on_shutdown(void *ud, int now)
{
    tc_raftnode *n = ud;
    if (n->closing) return;
    int others = 0;
    tc__raft_sync(n, count_other_voters, &others);
    if (now || n->handing_over || tc_raftnode_role(n) != TC_ROLE_PRIMARY || !others ||
        !n->srv->cfg.shutdown_timeout_ms) {
        close_now(n); /* a replica leaves: the primary just stops hearing from it */
        return;
    }
    n->handing_over = 1;
    n->handover_deadline_ms = tc_now_ms() + (int64_t)n->srv->cfg.shutdown_timeout_ms;
    n->handover_leaderless_ms = 0;
    tc_router_hold_writes(&n->router, 1);
    tc_notice("shutdown: handing leadership over first (at most %llu ms)",
              (unsigned long long)n->srv->cfg.shutdown_timeout_ms);
    uv_timer_start(&n->handover, on_handover_tick, 0, 2);
}

static int shutdown_abort(void *ud)
{
    tc_raftnode *n = ud;
    if (n->closing) return -1;
    if (n->handing_over) {
        uv_timer_stop(&n->handover);
        n->handing_over = 0;
        tc_router_hold_writes(&n->router, 0);
    }
    return 0; /* a transfer already under way completes: this node then serves as a replica */
}

static int route(void *ud, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *r,
                 int64_t now_ms)
{
    tc_raftnode *n = ud;
    return tc_router_route(&n->router, c, cmd, argc, argv, r, now_ms);
}

static int wait_replicas(void *ud, tc_client *c, long long numreplicas, int64_t deadline_ms, int aof, tc_reply *r)
{
    tc_raftnode *n = ud;
    return tc_router_wait(&n->router, c, numreplicas, deadline_ms, aof, r);
}

/* ---- the face's calls that need libraft: sync calls (raft_thread.c) ------ */

typedef struct face_call {
    void *p;                   /* reply, buffer, client */
    int a, b, rc;
    char *err;
    size_t errlen;
} face_call;

static void shutting_down(char *err, size_t errlen) { snprintf(err, errlen, "ERR this node is shutting down"); }

static void role_reply_on_raft(tc_raftnode *n, void *arg) { tc__raft_role_reply(n, ((face_call *)arg)->p); }

static void role_reply(void *ud, tc_reply *r)
{
    face_call c = {.p = r};
    if (tc__raft_sync(ud, role_reply_on_raft, &c) != 0) tc_reply_error(r, "ERR this node is shutting down");
}

static void failover_on_raft(tc_raftnode *n, void *arg)
{
    face_call *c = arg;
    c->rc = tc__raft_failover(n, c->a, c->err, c->errlen);
}

static int failover(void *ud, int target, char *err, size_t errlen)
{
    face_call c = {.a = target, .err = err, .errlen = errlen, .rc = -1};
    if (tc__raft_sync(ud, failover_on_raft, &c) != 0) shutting_down(err, errlen);
    return c.rc;
}

static void handover_on_raft(tc_raftnode *n, void *arg)
{
    face_call *c = arg;
    c->rc = tc__raft_failover(n, 0, c->err, c->errlen);
}

int tc__raft_handover(tc_raftnode *n, char *err, size_t errlen)
{
    face_call c = {.err = err, .errlen = errlen, .rc = -1};
    if (tc__raft_sync(n, handover_on_raft, &c) != 0) shutting_down(err, errlen);
    return c.rc;
}

static void members_list_on_raft(tc_raftnode *n, void *arg) { tc__raft_members_list(n, ((face_call *)arg)->p); }

static void members_list(void *ud, tc_reply *r)
{
    face_call c = {.p = r};
    if (tc__raft_sync(ud, members_list_on_raft, &c) != 0) tc_reply_error(r, "ERR this node is shutting down");
}

static void members_change_on_raft(tc_raftnode *n, void *arg)
{
    face_call *c = arg;
    c->rc = tc__raft_members_change(n, c->p, c->a, c->b, c->err, c->errlen);
}

static int members_change(void *ud, tc_client *cl, int add, int id, char *err, size_t errlen)
{
    face_call c = {.p = cl, .a = add, .b = id, .err = err, .errlen = errlen, .rc = -1};
    if (tc__raft_sync(ud, members_change_on_raft, &c) != 0) shutting_down(err, errlen);
    return c.rc;
}

static void peer_alive_on_raft(tc_raftnode *n, void *arg)
{
    face_call *c = arg;
    c->rc = tc__raft_peer_alive(n, c->a);
}

static int peer_alive(void *ud, int id)
{
    face_call c = {.a = id, .rc = -1};
    tc__raft_sync(ud, peer_alive_on_raft, &c);
    return c.rc;
}

static void info_replication_on_raft(tc_raftnode *n, void *arg)
{
    tc__raft_info_replication(n, arg);
    tc__raft_info_threads(n, arg);
}

static void info_replication(void *ud, tc_buf *b) { tc__raft_sync(ud, info_replication_on_raft, b); }

static void info_memory_on_raft(tc_raftnode *n, void *arg) { tc__raft_info_memory(n, arg); }

static void info_memory(void *ud, tc_buf *b)
{
    if (tc__raft_sync(ud, info_memory_on_raft, b) != 0) tc_info_section_memory(((tc_raftnode *)ud)->srv, b);
}

/* The node reaches Raft only through this table. */
static const tc_replication_ops replication_face = {
    .route = route,
    .cron = on_cron,
    .role_reply = role_reply,
    .primary_id = tc__raft_primary_id,
    .failover = failover,
    .members_list = members_list,
    .members_change = members_change,
    .peer_alive = peer_alive,
    .wait = wait_replicas,
    .shutdown = on_shutdown,
    .shutdown_abort = shutdown_abort,
};

/* Images of snapshots a previous run was making when it stopped. */
static void remove_stale_images(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "keyspace-image", 14) == 0 && strstr(e->d_name, ".tmp")) {
            char path[TC_CONFIG_MAX_STR * 2 + 300];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
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

int tc_raftnode_start(tc_raftnode *n, tc_server *s, tc_snapshot_keydir *keys, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->srv = s;
    if (tc__raft_setup_encryption(n, keys, err, errlen) != 0) return -1;
    const tc_config *cfg = &s->cfg;
    snprintf(n->address, sizeof n->address, "%s:%d", s->self->raft_host, s->self->raft_port);
    snprintf(n->dir, sizeof n->dir, "%s/raft", s->data_dir);
    if (mkdir(n->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", n->dir, strerror(errno));
        return -1;
    }
    tc__raft_warn_about_zones(cfg);
    if (!s->self->join && dir_is_empty(n->dir)) {
        if (s->cluster_formed) {
            snprintf(err, errlen,
                     "%s is empty, but this node's data directory records that the cluster had formed with it: its "
                     "log was lost. A node that lost its data joins again as a new member: add a [[node]] with a new "
                     "id and join = true, start it, and run tricachectl members replace %d <new id>",
                     n->dir, s->self->id);
            return -1;
        }
        uv_os_fd_t lfd = -1;
        if (uv_fileno((uv_handle_t *)&s->listener, &lfd) != 0) lfd = -1;
        if (tc_peer_probe_lost_data(cfg, s->self, lfd, err, errlen)) return -1;
    }

    /* 0.22 refuses a zero-filled transport (RAFT_INVALID): set the version.
     * Our transport checks incoming peers against cluster.toml and sets
     * TCP_NODELAY (raft/transport.h). */
    if (tc__raft_thread_init(n, err, errlen) != 0) return -1;
    remove_stale_images(n->dir);
    n->transport.version = 1;
    n->transport.data = n;
    int rc = tc_transport_init(&n->transport, &n->rloop, cfg);
    if (rc != 0) {
        snprintf(err, errlen, "raft transport: %s", n->transport.errmsg[0] ? n->transport.errmsg : raft_strerror(rc));
        return -1;
    }
    tc_segbuf_install();
    rc = raft_uv_init(&n->io, &n->rloop, n->dir, &n->transport);
    if (rc != 0) {
        snprintf(err, errlen, "raft storage in %s: %s", n->dir, n->io.errmsg);
        tc_transport_close(&n->transport);
        return -1;
    }
    raft_uv_set_connect_retry_delay(&n->io, CONNECT_RETRY_MS);

    tc__raft_fsm_setup(n);
    tc__raft_time_appends(n);
    tc__raft_wrap_sends(n);
    tc__raft_wrap_recv(n);
    rc = raft_init(&n->raft, &n->io, &n->fsm, (raft_id)s->self->id, n->address);
    if (rc != 0) {
        snprintf(err, errlen, "raft init: %s", raft_errmsg(&n->raft));
        raft_uv_close(&n->io);
        tc_transport_close(&n->transport);
        return -1;
    }
    n->raft.data = n;
    /* libraft formats every trace line (snprintf) before its tracer looks
     * at LIBRAFT_TRACE, a dozen per log entry on every node; without a
     * tracer it formats nothing (its macros test for NULL first). */
    if (!getenv("LIBRAFT_TRACE")) {
        n->raft.tracer = NULL;
        raft_uv_set_tracer(&n->io, NULL);
    }
    raft_set_election_timeout(&n->raft, (unsigned)cfg->election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, (unsigned)cfg->heartbeat_interval_ms);
    raft_set_pre_vote(&n->raft, true);
    raft_set_max_inflight_entries(&n->raft, MAX_INFLIGHT);
    /* libraft (in the raft_io mode we use) refuses raft_apply with
     * RAFT_NOSPACE while a majority of nodes has less than 4 MiB of log
     * segments prepared ahead ("capacity"). A stream of big writes empties
     * that pool faster than the thread pool refills it, for a moment and on
     * every node alike, with the disk far from full: the refusal read as a
     * full disk, and the primary handed its leadership away in the middle of
     * a 100 MB SET (seen: 1 run in 5 of bench/bigvalue.sh). An append that
     * finds no prepared segment simply waits for one; a disk that is really
     * full fails the preparation (ENOSPC) and that failure is what
     * disk_health.c reports. */
    raft_set_capacity_threshold(&n->raft, 0);
    raft_set_snapshot_threshold(&n->raft, (unsigned)cfg->snapshot_threshold);
    unsigned trailing = (unsigned)cfg->snapshot_threshold / 2;
    trailing = trailing < SNAPSHOT_TRAILING ? trailing : SNAPSHOT_TRAILING;
    raft_set_snapshot_trailing(&n->raft, trailing);
    tc__raft_budget_init(n, trailing);

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

    tc_log_ops ops;
    tc__raft_log_ops(n, &ops);
    tc_router_init(&n->router, s, &ops, (int64_t)cfg->election_timeout_ms);

    rc = raft_start(&n->raft);
    if (rc != 0) {
        const char *msg = n->restore_error[0] ? n->restore_error : raft_errmsg(&n->raft);
        int damaged = rc == RAFT_CORRUPT || strstr(msg, "checksum") || strstr(msg, "corrupt") ||
                      strstr(msg, "snapshot") || strstr(msg, "load ");
        if (damaged)
            snprintf(err, errlen,
                     "the Raft log or snapshot in %s is damaged (%s). This node cannot start from it; the other "
                     "nodes hold the data. To recover, with the other nodes left running: move the directory aside (mv %s %s.damaged), "
                     "then rejoin this node as a new member: add a [[node]] with a new id and join = true to "
                     "cluster.toml, start it, and run tricachectl members replace %d <new id>",
                     n->dir, msg, s->data_dir, s->data_dir, s->self->id);
        else
            snprintf(err, errlen, "raft start (log in %s, raft address %s): %s", n->dir, n->address, msg);
        return -1;
    }
    n->started = 1;
    /* from here on libraft belongs to the Raft thread */
    if (tc__raft_thread_start(n, err, errlen) != 0) return -1;
    uv_check_init(s->loop, &n->flush);
    n->flush.data = n;
    uv_check_start(&n->flush, on_flush);
    uv_timer_init(s->loop, &n->close_timer);
    n->close_timer.data = n;
    uv_timer_init(s->loop, &n->handover);
    n->handover.data = n;
    tc_server_set_replication(s, &replication_face, n);
    tc_info_add(s, "replication", NULL, info_replication, n, 1);
    tc_info_add(s, "memory", NULL, info_memory, n, 1);
    size_t founders = 0;
    for (size_t i = 0; i < cfg->nnodes; i++) founders += !cfg->nodes[i].join;
    tc_notice("raft node %d started at %s; cluster.toml lists %zu founding voters and %zu to join (log in %s)",
              s->self->id, n->address, founders, cfg->nnodes - founders, n->dir);
    return 0;
}
