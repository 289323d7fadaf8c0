/* tricachectl restore: a verified backup streamed into the cluster.
 *
 * Nothing reaches the cluster before the whole file has been fetched and
 * verified. The records then go to the primary as pipelined TCRESTORE LOAD
 * commands into a staging area (replicated through the Raft log), and one
 * TCRESTORE COMMIT swaps the staged keyspace in on every node at once; any
 * failure before COMMIT leaves the cluster as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "progress.h"

/* One LOAD carries at most this much key and value data and this many
 * records (a single larger record travels alone), and at most PIPELINE
 * LOADs wait for their replies: enough to keep the primary busy, small
 * enough that what the nodes apply between two heartbeats stays short. */
#define LOAD_MAX_BYTES (1u << 20)
#define LOAD_MAX_RECORDS 4000u
#define PIPELINE 4
/* A failover in the middle of the load does not lose the staging area (it
 * is replicated): the load goes on from where the new primary's staging
 * ends, at most this many times. */
#define MAX_RESUMES 5
/* How long to wait for a new primary after the old one went away. */
#define NEW_PRIMARY_WAIT_MS 10000
#define DEFAULT_TIMEOUT_MS (10LL * 60 * 1000)
/* Per reply: a LOAD goes through the Raft log before it is answered. */
#define MIN_REPLY_TIMEOUT_MS 60000
/* After COMMIT: replicas may still be applying expirations when their
 * digests are first compared. */
#define DIGEST_SETTLE_MS 10000
/* How long an ABORT waits for a primary after a failover. */
#define ABORT_WAIT_MS 5000

typedef struct rbuf {
    char *p;
    size_t len, cap;
} rbuf;

typedef struct inflight {
    uint64_t total;      /* records sent up to and including this LOAD */
    uint64_t file_bytes; /* bytes of the file read by then, for progress */
} inflight;

/* --with-users: one user of the backup, as the record holds it (the rules
 * as u32 length and bytes each), kept until the keys are committed. */
typedef struct saved_user {
    char *name;
    unsigned char *rules;
    size_t name_len, rules_len;
} saved_user;

typedef struct restore {
    const ctl_cluster *cl;
    int with_users;
    saved_user *users;
    size_t nusers;
    ctl_local_backup *lb;
    tc_rc c;
    const tc_node_conf *primary;
    char id[17];
    rbuf body;             /* the records of the LOAD being built */
    uint32_t batch_n;
    size_t batch_bytes;
    uint64_t sent;         /* records put into LOADs */
    uint64_t settings;     /* setting records passed over (not keys: the cluster keeps its own) */
    inflight q[PIPELINE];
    int head, count;
    ctl_progress pr;
    int failover;          /* the failure looks like a change of primary */
    char why[1024];
} restore;

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int reply_timeout_ms(const ctl_cluster *cl)
{
    return cl->timeout_ms > MIN_REPLY_TIMEOUT_MS ? cl->timeout_ms : MIN_REPLY_TIMEOUT_MS;
}

static int rbuf_put(rbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return -ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int rbuf_bulk(rbuf *b, const void *p, size_t n)
{
    char head[32];
    int h = snprintf(head, sizeof head, "$%zu\r\n", n);
    if (rbuf_put(b, head, (size_t)h) != 0 || rbuf_put(b, p, n) != 0 || rbuf_put(b, "\r\n", 2) != 0) return -ENOMEM;
    return 0;
}

static int make_id(char out[17])
{
    unsigned char r[8];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        got += (size_t)n;
    }
    for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

/* Judges a reply to a TCRESTORE command: 0 if it is of type `want`
 * (and, for TC_RC_INT, equals want_int), else -1 with r->why (and r->failover
 * when the primary has changed). io_rc is what the read returned. */
static int judge(restore *r, int io_rc, const tc_rc_reply *rep, const char *what, tc_rc_type want, long long want_int)
{
    int id = r->primary->id;
    if (io_rc != 0) {
        r->failover = 1;
        snprintf(r->why, sizeof r->why, "node %d: %s: %s", id, what, r->c.err);
        return -1;
    }
    if (rep->type == TC_RC_ERROR) {
        r->failover = tc_rc_reply_is_error(rep, "READONLY") || tc_rc_reply_is_error(rep, "MOVED") ||
                      tc_rc_reply_is_error(rep, "TRYAGAIN") || tc_rc_reply_is_error(rep, "NOTLEADER");
        int unknown = strstr(rep->str, "unknown command") != NULL;
        snprintf(r->why, sizeof r->why, "node %d refused %s: %s%s", id, what, rep->str,
                 unknown ? "\n  hint: the node does not support TCRESTORE: upgrade every node to a tricache "
                           "that does, then run the restore again"
                         : "");
        return -1;
    }
    if (rep->type != want || (want == TC_RC_INT && rep->integer != want_int)) {
        if (rep->type == TC_RC_INT)
            snprintf(r->why, sizeof r->why, "node %d answered %s with %lld, expected %lld", id, what, rep->integer,
                     want_int);
        else
            snprintf(r->why, sizeof r->why, "node %d answered %s with an unexpected reply%s%s", id, what,
                     rep->str ? ": " : "", rep->str ? rep->str : "");
        return -1;
    }
    return 0;
}

/* A command with text arguments whose reply must be +OK. */
static int simple(restore *r, const char *what, int argc, const char *const *argv)
{
    tc_rc_reply rep;
    int rc = tc_rc_command(&r->c, &rep, argc, argv, NULL);
    rc = judge(r, rc, &rep, what, TC_RC_STATUS, 0);
    tc_rc_reply_free(&rep);
    return rc;
}

static int read_one(restore *r)
{
    inflight f = r->q[r->head];
    tc_rc_reply rep;
    int rc = tc_rc_read(&r->c, &rep);
    rc = judge(r, rc, &rep, "TCRESTORE LOAD", TC_RC_INT, (long long)f.total);
    tc_rc_reply_free(&rep);
    if (rc != 0) return rc;
    r->head = (r->head + 1) % PIPELINE;
    r->count--;
    ctl_progress_set(&r->pr, f.file_bytes, 0);
    return 0;
}

static int flush_batch(restore *r, tc_snapshot_reader *rd)
{
    if (r->batch_n == 0) return 0;
    if (r->count == PIPELINE && read_one(r) != 0) return -1;
    char head[128];
    int h = snprintf(head, sizeof head, "*%u\r\n$9\r\nTCRESTORE\r\n$9\r\nLOADTYPED\r\n$16\r\n%s\r\n",
                     3 + 4 * r->batch_n, r->id);
    if (tc_rc_send_raw(&r->c, head, (size_t)h) != 0 || tc_rc_send_raw(&r->c, r->body.p, r->body.len) != 0) {
        r->failover = 1;
        snprintf(r->why, sizeof r->why, "node %d: TCRESTORE LOAD: %s", r->primary->id, r->c.err);
        return -1;
    }
    tc_snapshot_stats st;
    tc_snapshot_reader_stats(rd, &st);
    int tail = (r->head + r->count) % PIPELINE;
    r->q[tail] = (inflight){.total = r->sent, .file_bytes = st.file_bytes};
    r->count++;
    r->body.len = 0;
    r->batch_n = 0;
    r->batch_bytes = 0;
    return 0;
}

static int add_record(restore *r, tc_snapshot_reader *rd, const tc_snapshot_record *rec)
{
    size_t bytes = (size_t)rec->key_len + rec->value_len;
    if (r->batch_n > 0 && (r->batch_n == LOAD_MAX_RECORDS || r->batch_bytes + bytes > LOAD_MAX_BYTES))
        if (flush_batch(r, rd) != 0) return -1;
    /* One LOADTYPED record: the image record's type, name, deadline and
     * value bytes as they are in the file, so every type restores. */
    char exp[32], type[8];
    int n = snprintf(exp, sizeof exp, "%lld", (long long)rec->expire_at_ms);
    int tn = snprintf(type, sizeof type, "%u", (unsigned)rec->type);
    if (rbuf_bulk(&r->body, type, (size_t)tn) != 0 || rbuf_bulk(&r->body, rec->key, rec->key_len) != 0 ||
        rbuf_bulk(&r->body, exp, (size_t)n) != 0 ||
        rbuf_bulk(&r->body, rec->value, rec->value_len) != 0) {
        snprintf(r->why, sizeof r->why, "out of memory");
        return -1;
    }
    r->batch_n++;
    r->batch_bytes += bytes;
    r->sent++;
    return 0;
}

static int save_user(restore *r, const tc_snapshot_record *rec)
{
    saved_user *v = realloc(r->users, (r->nusers + 1) * sizeof *v);
    if (!v) goto oom;
    r->users = v;
    saved_user *u = &v[r->nusers];
    u->name = malloc(rec->key_len + 1);
    u->rules = malloc(rec->value_len ? rec->value_len : 1);
    if (!u->name || !u->rules) {
        free(u->name);
        free(u->rules);
        goto oom;
    }
    memcpy(u->name, rec->key, rec->key_len);
    u->name[rec->key_len] = '\0';
    memcpy(u->rules, rec->value, rec->value_len);
    u->name_len = rec->key_len;
    u->rules_len = rec->value_len;
    r->nusers++;
    return 0;
oom:
    snprintf(r->why, sizeof r->why, "out of memory keeping the backup's users");
    return -1;
}

static void free_users(restore *r)
{
    for (size_t i = 0; i < r->nusers; i++) {
        free(r->users[i].name);
        free(r->users[i].rules);
    }
    free(r->users);
    r->users = NULL;
    r->nusers = 0;
}

/* Every record, going on through failovers (see MAX_RESUMES). */
/* Streams the records of the verified file after the first `skip` as
 * LOADs; 0 once every LOAD has been acknowledged. */
static int load_from(restore *r, uint64_t skip)
{
    free_users(r); /* a load again after a failover reads them again */
    r->sent = 0;
    r->settings = 0;
    r->head = r->count = 0;
    r->body.len = 0;
    r->batch_n = 0;
    r->batch_bytes = 0;
    r->failover = 0;
    tc_snapshot_reader *rd = NULL;
    tc_snapshot_reader_opts ro = {.name = r->lb->meta.name};
    if (r->lb->keys) {
        ro.keyring = tc_snapshot_keydir_lookup;
        ro.keyring_ud = r->lb->keys;
    }
    char err[TC_SNAPSHOT_ERRLEN] = "";
    if (tc_snapshot_open_file(&rd, r->lb->path, &ro, err, sizeof err) != 0) {
        snprintf(r->why, sizeof r->why, "reading %s again: %s", r->lb->meta.name, err);
        return -1;
    }
    char label[TC_BACKUP_MAX_NAME + 16];
    snprintf(label, sizeof label, "load %s", r->lb->meta.name);
    ctl_progress_begin(&r->pr, label, r->lb->meta.size);
    int rc;
    tc_snapshot_record rec;
    while ((rc = tc_snapshot_reader_next(rd, &rec)) == 1) {
        /* after the keys; the cluster keeps its own settings, scripts and
         * function libraries, and
         * its users unless --with-users (applied after the commit) */
        if (rec.type == TC_SNAPSHOT_SETTING || rec.type == TC_SNAPSHOT_ACL_USER || rec.type == TC_SNAPSHOT_SCRIPT ||
            rec.type == TC_SNAPSHOT_FUNCTION) {
            r->settings++;
            if (rec.type == TC_SNAPSHOT_ACL_USER && r->with_users && save_user(r, &rec) != 0) break;
            continue;
        }
        if (r->sent < skip) { /* staged before a failover */
            r->sent++;
            continue;
        }
        if (add_record(r, rd, &rec) != 0) break;
    }
    if (rc < 0) {
        /* it verified a moment ago: the file changed under us */
        snprintf(r->why, sizeof r->why, "reading %s again: %s", r->lb->meta.name, tc_snapshot_reader_error(rd));
    }
    if (rc == 0 && flush_batch(r, rd) == 0) {
        while (r->count > 0 && read_one(r) == 0) {
        }
        if (r->count == 0) {
            if (r->sent + r->settings == r->lb->st.records) {
                r->pr.done = r->lb->meta.size;
                ctl_progress_end(&r->pr);
                tc_snapshot_reader_free(rd);
                return 0;
            }
            snprintf(r->why, sizeof r->why, "read %llu records from %s, which verified with %llu",
                     (unsigned long long)r->sent, r->lb->meta.name, (unsigned long long)r->lb->st.records);
        }
    }
    ctl_progress_interrupt(&r->pr);
    tc_snapshot_reader_free(rd);
    return -1;
}

/* ACL SETUSER <name> <rules...> for one saved user: 0, or -1 with r->why. */
static int set_user(restore *r, tc_rc *c, const saved_user *u)
{
    size_t n = 0;
    for (size_t off = 0; off + 4 <= u->rules_len; n++) {
        uint32_t len;
        memcpy(&len, u->rules + off, 4);
        if (len > u->rules_len - off - 4) break;
        off += 4 + len;
    }
    const char **argv = calloc(n + 3, sizeof *argv);
    size_t *lens = calloc(n + 3, sizeof *lens);
    int rc = -1;
    if (!argv || !lens) {
        snprintf(r->why, sizeof r->why, "out of memory");
        goto out;
    }
    argv[0] = "ACL", lens[0] = 3;
    argv[1] = "SETUSER", lens[1] = 7;
    argv[2] = u->name, lens[2] = u->name_len;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t len;
        memcpy(&len, u->rules + off, 4);
        argv[3 + i] = (const char *)u->rules + off + 4;
        lens[3 + i] = len;
        off += 4 + len;
    }
    tc_rc_reply rep;
    int io = tc_rc_command(c, &rep, (int)n + 3, argv, lens);
    if (io != 0) snprintf(r->why, sizeof r->why, "ACL SETUSER %s: %s", u->name, c->err);
    else if (rep.type != TC_RC_STATUS)
        snprintf(r->why, sizeof r->why, "ACL SETUSER %s: %s", u->name, rep.str ? rep.str : "unexpected reply");
    else rc = 0;
    tc_rc_reply_free(&rep);
out:
    free(argv);
    free(lens);
    return rc;
}

/* --with-users, once the keys are committed: the backup's users replace
 * the cluster's, through the primary's log (ACL SETUSER of each, then ACL
 * DELUSER of the users the backup does not hold). CTL_EXIT_OK or
 * CTL_EXIT_CLUSTER (the keys stay restored either way). */
static int restore_users(restore *r, tc_rc *c)
{
    if (r->nusers == 0) {
        printf("users: the backup holds none (they were never changed with ACL SETUSER): the cluster keeps its "
               "own\n");
        return CTL_EXIT_OK;
    }
    for (size_t i = 0; i < r->nusers; i++)
        if (set_user(r, c, &r->users[i]) != 0) goto failed;
    const char *list[] = {"ACL", "USERS"};
    tc_rc_reply rep;
    if (tc_rc_command(c, &rep, 2, list, NULL) != 0 || rep.type != TC_RC_ARRAY) {
        snprintf(r->why, sizeof r->why, "ACL USERS: %s", rep.str ? rep.str : c->err);
        tc_rc_reply_free(&rep);
        goto failed;
    }
    size_t deleted = 0;
    for (size_t i = 0; i < rep.n; i++) {
        const tc_rc_reply *e = &rep.elem[i];
        int keep = 0;
        for (size_t k = 0; k < r->nusers && !keep; k++)
            keep = e->len == r->users[k].name_len && memcmp(e->str, r->users[k].name, e->len) == 0;
        if (keep) continue;
        const char *del[] = {"ACL", "DELUSER", e->str};
        tc_rc_reply d;
        if (tc_rc_command(c, &d, 3, del, NULL) != 0 || d.type != TC_RC_INT) {
            snprintf(r->why, sizeof r->why, "ACL DELUSER %s: %s", e->str, d.str ? d.str : c->err);
            tc_rc_reply_free(&d);
            tc_rc_reply_free(&rep);
            goto failed;
        }
        tc_rc_reply_free(&d);
        deleted++;
    }
    tc_rc_reply_free(&rep);
    printf("users: %zu from the backup set, %zu the backup does not hold deleted\n", r->nusers, deleted);
    return CTL_EXIT_OK;
failed:
    fprintf(stderr, "tricachectl: the keys are restored, but the users are not (all or some): %s\n"
                    "  run the restore's user step again: tricachectl restore ... --with-users --into-running --yes\n",
            r->why);
    return CTL_EXIT_CLUSTER;
}

/* The primary, found again (an election takes a moment) and connected
 * to; -1 when there is none within wait_ms. */
static int reconnect_primary(restore *r, tc_rc *c, long long wait_ms)
{
    ctl_node_view v[TC_CONFIG_MAX_NODES];
    long long until = ctl_now_ms() + wait_ms;
    int p;
    while ((p = ctl_view_cluster(r->cl, v, NULL)) < 0 && ctl_now_ms() < until) sleep_ms(100);
    if (p < 0) return -1;
    if (ctl_node_open(r->cl, &r->cl->cfg.nodes[p], c) != 0) {
        tc_rc_close(c);
        return -1;
    }
    return p;
}

/* After a failover: connects to the new primary and asks how many records
 * of our restore its staging area holds (a LOAD in flight when the old
 * primary went may or may not have made it). 0 with *staged, or -1. */
static int resume_point(restore *r, uint64_t *staged)
{
    int old = r->primary->id;
    tc_rc_close(&r->c);
    r->c.fd = -1;
    int p = reconnect_primary(r, &r->c, NEW_PRIMARY_WAIT_MS);
    if (p < 0 || tc_rc_set_timeout(&r->c, reply_timeout_ms(r->cl)) != 0) {
        snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why), "; then no new primary answered within %d s",
                 NEW_PRIMARY_WAIT_MS / 1000);
        return -1;
    }
    r->primary = &r->cl->cfg.nodes[p];
    const char *argv[] = {"TCRESTORE", "STATUS"};
    tc_rc_reply rep;
    int rc = tc_rc_command(&r->c, &rep, 2, argv, NULL);
    int ours = rc == 0 && rep.type == TC_RC_ARRAY && rep.n == 2 && rep.elem[0].str && strcmp(rep.elem[0].str, r->id) == 0 &&
               rep.elem[1].type == TC_RC_INT;
    if (ours) *staged = (uint64_t)rep.elem[1].integer;
    else
        snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
                 "; the new primary, node %d, %s", r->primary->id,
                 rc != 0 ? "did not answer TCRESTORE STATUS" : "no longer holds this restore's staged records");
    tc_rc_reply_free(&rep);
    if (ours)
        fprintf(stderr, "tricachectl: the primary moved from node %d to node %d during the load; going on from record %llu\n",
                old, r->primary->id, (unsigned long long)*staged);
    return ours ? 0 : -1;
}

static int load_all(restore *r)
{
    uint64_t staged = 0;
    for (int resumes = 0;; resumes++) {
        if (load_from(r, staged) == 0) return 0;
        if (!r->failover || resumes == MAX_RESUMES || resume_point(r, &staged) != 0) return -1;
    }
}

/* Best effort: the staging area is also discarded by the next BEGIN (or
 * when it sits idle). The primary is looked up again, since it may have
 * changed. */
static void send_abort(restore *r)
{
    tc_rc_close(&r->c);
    const char *note = "the staged records are discarded by the next TCRESTORE BEGIN";
    tc_rc c = TC_RC_CLOSED;
    int p = reconnect_primary(r, &c, ABORT_WAIT_MS);
    if (p < 0) {
        fprintf(stderr, "tricachectl: note: could not send TCRESTORE ABORT (no primary reachable); %s\n", note);
        return;
    }
    const tc_node_conf *n = &r->cl->cfg.nodes[p];
    const char *argv[] = {"TCRESTORE", "ABORT", r->id};
    tc_rc_reply rep;
    if (tc_rc_command(&c, &rep, 3, argv, NULL) != 0)
        fprintf(stderr, "tricachectl: note: TCRESTORE ABORT on node %d: %s; %s\n", n->id, c.err, note);
    else if (rep.type != TC_RC_STATUS && !strstr(rep.str ? rep.str : "", "no restore"))
        fprintf(stderr, "tricachectl: note: node %d answered TCRESTORE ABORT with %s; %s\n", n->id,
                rep.str ? rep.str : "an unexpected reply", note);
    tc_rc_reply_free(&rep);
    tc_rc_close(&c);
}

static int fail_before_commit(restore *r)
{
    if (r->failover)
        fprintf(stderr, "tricachectl: restore interrupted by a failover; nothing was changed; run it again\n"
                        "  (%s)\n", r->why);
    else
        fprintf(stderr, "tricachectl: restore failed: %s\n  nothing was changed\n", r->why);
    send_abort(r);
    return CTL_EXIT_CLUSTER;
}

/* COMMIT's outcome is unknown: the (new) primary says whether our staging
 * area still exists. If it does the COMMIT was not applied, and the
 * restore is aborted like any other interrupted one. */
static int commit_unknown(restore *r)
{
    tc_rc_close(&r->c);
    tc_rc c = TC_RC_CLOSED;
    int staged = -1;
    if (reconnect_primary(r, &c, ABORT_WAIT_MS) >= 0) {
        const char *argv[] = {"TCRESTORE", "STATUS"};
        tc_rc_reply rep;
        if (tc_rc_command(&c, &rep, 2, argv, NULL) == 0) {
            if (rep.type == TC_RC_ARRAY && rep.n >= 1 && rep.elem[0].str) staged = strcmp(rep.elem[0].str, r->id) == 0;
            else if (rep.type == TC_RC_NIL) staged = 0;
        }
        tc_rc_reply_free(&rep);
    }
    tc_rc_close(&c);
    if (staged == 1) {
        r->failover = 1;
        return fail_before_commit(r);
    }
    fprintf(stderr,
            "tricachectl: the primary changed while it committed the restore (%s):\n"
            "  %s\n"
            "  hint: run tricachectl status, compare DBSIZE on the primary with the backup's %llu records (less\n"
            "  any that have expired since), and run the restore again with --into-running if it did not\n",
            r->why,
            staged == 0 ? "the staged records are gone, so the COMMIT was most likely applied"
                        : "the restore may or may not have taken effect",
            (unsigned long long)r->sent);
    return CTL_EXIT_CLUSTER;
}

/* ---- before: the cluster's state and the operator's consent -------------- */

static int confirm(const ctl_cluster *cl, const ctl_backup_args *a, const ctl_local_backup *lb, long long keys)
{
    if (a->yes) return 0;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "tricachectl: restore --into-running replaces every key of the running cluster; "
                        "stdin is not a terminal to confirm on\n"
                        "  hint: add --yes to confirm on the command line\n");
        return CTL_EXIT_USAGE;
    }
    char created[40];
    ctl_format_utc(lb->meta.created_ms, created, sizeof created);
    fprintf(stderr,
            "restore --into-running replaces all %lld keys of cluster '%s' with the %llu keys of backup %s\n"
            "(taken %s by node %d at raft index %llu). Clients see the switch at once, on every node.\n"
            "Type yes to go on: ",
            keys, cl->cfg.cluster_name, (unsigned long long)lb->st.records, lb->meta.name, created,
            lb->meta.node_id, (unsigned long long)lb->meta.raft_index);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) line[0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "yes") != 0) {
        fprintf(stderr, "tricachectl: not confirmed; nothing was changed\n");
        return CTL_EXIT_CLUSTER;
    }
    return 0;
}

/* DBSIZE of the primary into *keys. */
static int dbsize(restore *r, long long *keys)
{
    const char *argv[] = {"DBSIZE"};
    tc_rc_reply rep;
    int rc = tc_rc_command(&r->c, &rep, 1, argv, NULL);
    if (rc != 0 || rep.type != TC_RC_INT) {
        fprintf(stderr, "tricachectl: node %d: DBSIZE: %s\n", r->primary->id,
                rc != 0 ? r->c.err : rep.str ? rep.str : "unexpected reply");
        tc_rc_reply_free(&rep);
        return -1;
    }
    *keys = rep.integer;
    tc_rc_reply_free(&rep);
    return 0;
}

/* ---- after: every node holds the same keyspace --------------------------- */

typedef struct node_check {
    int skip;          /* unreachable: not checked */
    char digest[64];
} node_check;

/* DEBUG DIGEST hashes every key: on a big keyspace it takes a while. */
static int digest_of(const ctl_cluster *cl, const tc_node_conf *n, char *out, size_t len, char *err, size_t errlen)
{
    tc_rc c;
    if (ctl_node_open(cl, n, &c) != 0 || tc_rc_set_timeout(&c, reply_timeout_ms(cl)) != 0) {
        snprintf(err, errlen, "%s", c.err);
        tc_rc_close(&c);
        return -1;
    }
    const char *argv[] = {"DEBUG", "DIGEST"};
    tc_rc_reply rep;
    int rc = tc_rc_command(&c, &rep, 2, argv, NULL);
    if (rc == 0 && (rep.type == TC_RC_STATUS || rep.type == TC_RC_BULK)) snprintf(out, len, "%s", rep.str);
    else {
        snprintf(err, errlen, "DEBUG DIGEST: %s", rc != 0 ? c.err : rep.str ? rep.str : "unexpected reply");
        rc = -1;
    }
    tc_rc_reply_free(&rep);
    tc_rc_close(&c);
    return rc;
}

/* Waits until every reachable replica has applied the primary's commit
 * index, then compares DEBUG DIGEST across the nodes. */
static int check_nodes(const ctl_cluster *cl, int p, long long deadline)
{
    const tc_config *cfg = &cl->cfg;
    if (cfg->nnodes == 1) return CTL_EXIT_OK; /* no replica to compare with */
    node_check chk[TC_CONFIG_MAX_NODES];
    memset(chk, 0, sizeof chk);
    ctl_node_view pv;
    ctl_view_node(cl, &cfg->nodes[p], &pv);
    if (pv.role != CTL_ROLE_PRIMARY) {
        fprintf(stderr, "tricachectl: node %d is no longer the primary (%s); the restore was committed, but the nodes'\n"
                        "  digests cannot be compared now: run tricachectl status, then DEBUG DIGEST on each node\n",
                cfg->nodes[p].id, pv.error[0] ? pv.error : ctl_role_name(pv.role));
        return CTL_EXIT_CLUSTER;
    }
    unsigned long long target = pv.commit;
    for (size_t i = 0; i < cfg->nnodes; i++) {
        if ((int)i == p) continue;
        const tc_node_conf *n = &cfg->nodes[i];
        ctl_node_view v;
        for (;;) {
            ctl_view_node(cl, n, &v);
            if (v.role == CTL_ROLE_UNREACHABLE || v.applied >= target || ctl_now_ms() > deadline) break;
            sleep_ms(50);
        }
        if (v.role == CTL_ROLE_UNREACHABLE) {
            fprintf(stderr, "tricachectl: warning: node %d is unreachable (%s); it is not checked and catches up "
                            "when it returns\n", n->id, v.error);
            chk[i].skip = 1;
        } else if (v.applied < target) {
            fprintf(stderr, "tricachectl: node %d applied only up to index %llu of %llu before the deadline\n", n->id,
                    v.applied, target);
            return CTL_EXIT_CLUSTER;
        }
    }
    long long settle = ctl_now_ms() + DIGEST_SETTLE_MS;
    for (;;) {
        int same = 1, first = -1;
        for (size_t i = 0; i < cfg->nnodes; i++) {
            if (chk[i].skip) continue;
            char err[400];
            if (digest_of(cl, &cfg->nodes[i], chk[i].digest, sizeof chk[i].digest, err, sizeof err) != 0) {
                fprintf(stderr, "tricachectl: node %d: %s\n", cfg->nodes[i].id, err);
                return CTL_EXIT_CLUSTER;
            }
            if (first < 0) first = (int)i;
            else if (strcmp(chk[i].digest, chk[first].digest) != 0) same = 0;
        }
        if (same) {
            for (size_t i = 0; i < cfg->nnodes; i++)
                if (!chk[i].skip) printf("node %d (%s): digest %s\n", cfg->nodes[i].id, cfg->nodes[i].zone, chk[i].digest);
            return CTL_EXIT_OK;
        }
        if (ctl_now_ms() > settle) break;
        sleep_ms(200);
    }
    fprintf(stderr, "\ntricachectl: *** THE NODES DISAGREE AFTER THE RESTORE: their DEBUG DIGESTs differ ***\n");
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (!chk[i].skip) fprintf(stderr, "  node %d (%s): digest %s\n", cfg->nodes[i].id, cfg->nodes[i].zone, chk[i].digest);
    fprintf(stderr, "  (were clients writing during the restore? if not, this is a bug: keep the nodes' logs)\n\n");
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (!chk[i].skip) printf("node %d (%s): digest %s\n", cfg->nodes[i].id, cfg->nodes[i].zone, chk[i].digest);
    return CTL_EXIT_CLUSTER;
}

/* ---- the command ------------------------------------------------------------ */

static int run(const ctl_cluster *cl, const ctl_backup_args *a, ctl_local_backup *lb, long long deadline)
{
    const tc_config *cfg = &cl->cfg;
    restore *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    r->cl = cl;
    r->lb = lb;
    r->c.fd = -1;
    r->with_users = a->with_users;
    int rc = CTL_EXIT_CLUSTER;

    ctl_node_view v[TC_CONFIG_MAX_NODES];
    int p = ctl_view_cluster(cl, v, NULL);
    if (p < 0) {
        fprintf(stderr, "tricachectl: the cluster has no primary to restore into (tricachectl status shows why); "
                        "nothing was changed\n");
        goto out;
    }
    r->primary = &cfg->nodes[p];
    if (ctl_node_open(cl, r->primary, &r->c) != 0 || tc_rc_set_timeout(&r->c, reply_timeout_ms(cl)) != 0) {
        fprintf(stderr, "tricachectl: the primary, node %d: %s; nothing was changed\n", r->primary->id, r->c.err);
        goto out;
    }
    if (strcmp(lb->meta.cluster, cfg->cluster_name) != 0)
        fprintf(stderr, "tricachectl: note: backup %s was taken from cluster '%s', this is cluster '%s'\n",
                lb->meta.name, lb->meta.cluster, cfg->cluster_name);
    long long keys;
    if (dbsize(r, &keys) != 0) goto out;
    if (!a->into_running && keys != 0) {
        fprintf(stderr, "tricachectl: the cluster holds %lld keys; restore --into-running replaces them\n"
                        "  nothing was changed\n", keys);
        goto out;
    }
    if (a->into_running && (rc = confirm(cl, a, lb, keys)) != 0) goto out;
    rc = CTL_EXIT_CLUSTER;

    if (make_id(r->id) != 0) {
        fprintf(stderr, "tricachectl: no randomness for a restore id: %s\n", strerror(errno));
        goto out;
    }
    printf("restoring backup %s into cluster %s through node %d (%s, %s:%d), restore id %s\n", lb->meta.name,
           cfg->cluster_name, r->primary->id, r->primary->zone, r->primary->client_host, r->primary->client_port,
           r->id);
    fflush(stdout);
    long long start = ctl_now_ms();
    const char *begin[] = {"TCRESTORE", "BEGIN", r->id};
    if (simple(r, "TCRESTORE BEGIN", 3, begin) != 0 || load_all(r) != 0) {
        rc = fail_before_commit(r);
        goto out;
    }

    char total[32];
    snprintf(total, sizeof total, "%llu", (unsigned long long)r->sent);
    const char *commit[] = {"TCRESTORE", "COMMIT", r->id, total};
    tc_rc_reply rep;
    int io = tc_rc_command(&r->c, &rep, 4, commit, NULL);
    /* No answer, or a primary that lost its leadership while the COMMIT
     * was in the log: it may or may not have been applied. */
    if (io != 0 || tc_rc_reply_is_error(&rep, "TRYAGAIN")) {
        snprintf(r->why, sizeof r->why, "node %d: TCRESTORE COMMIT: %s", r->primary->id,
                 io != 0 ? r->c.err : rep.str);
        tc_rc_reply_free(&rep);
        rc = commit_unknown(r);
        goto out;
    }
    if (judge(r, 0, &rep, "TCRESTORE COMMIT", TC_RC_STATUS, 0) != 0) {
        tc_rc_reply_free(&rep);
        rc = fail_before_commit(r);
        goto out;
    }
    tc_rc_reply_free(&rep);
    char took[24];
    ctl_format_duration(ctl_now_ms() - start, took, sizeof took);
    printf("committed: %llu keys from backup %s in %s\n", (unsigned long long)r->sent, lb->meta.name, took);
    fflush(stdout);
    if (r->with_users && restore_users(r, &r->c) != CTL_EXIT_OK) {
        rc = CTL_EXIT_CLUSTER;
        goto out;
    }
    tc_rc_close(&r->c);

    p = (int)(r->primary - cfg->nodes); /* the primary may have changed during the load */
    rc = check_nodes(cl, p, deadline);
    if (rc == CTL_EXIT_OK && cfg->nnodes == 1) printf("restore complete\n");
    else if (rc == CTL_EXIT_OK) printf("restore complete: every checked node holds the same keyspace\n");
out:
    tc_rc_close(&r->c);
    free_users(r);
    free(r->body.p);
    free(r);
    return rc;
}

/* --from also takes the backup's whole URL, file:///dir/NAME or
 * s3://bucket/prefix/NAME (with or without .tcsnap): the destination is
 * everything before the last '/'. */
static int split_from_url(const ctl_backup_args *a, ctl_backup_args *out, char *url, size_t urllen, char *name,
                          size_t namelen)
{
    *out = *a;
    const char *slash = strrchr(a->from, '/');
    if (!strstr(a->from, "://") || !slash || !slash[1]) return 0;
    if (a->to) {
        fprintf(stderr, "tricachectl: --from is a URL already; leave out --to\n");
        return -1;
    }
    snprintf(url, urllen, "%.*s", (int)(slash - a->from), a->from);
    snprintf(name, namelen, "%s", slash + 1);
    size_t n = strlen(name);
    if (n > 7 && strcmp(name + n - 7, ".tcsnap") == 0) name[n - 7] = '\0';
    else if (n > 9 && strcmp(name + n - 9, ".manifest") == 0) name[n - 9] = '\0';
    out->to = url;
    out->from = name;
    return 0;
}

int ctl_cmd_restore(const ctl_cluster *cl, const ctl_backup_args *given)
{
    if (!given->from || !given->from[0]) {
        fprintf(stderr, "tricachectl: restore needs --from NAME or --from URL/NAME (tricachectl backup list shows the names)\n");
        return CTL_EXIT_USAGE;
    }
    ctl_backup_args args;
    char url[TC_BACKUP_MAX_URL], from_name[TC_BACKUP_MAX_NAME + 16];
    if (split_from_url(given, &args, url, sizeof url, from_name, sizeof from_name) != 0) return CTL_EXIT_USAGE;
    const ctl_backup_args *a = &args;
    if (strchr(a->from, '/')) {
        fprintf(stderr, "tricachectl: --from '%s' is not a backup name; give the destination with --to URL\n", a->from);
        return CTL_EXIT_USAGE;
    }
    if (a->yes && !a->into_running) {
        fprintf(stderr, "tricachectl: --yes confirms --into-running, which is not given\n");
        return CTL_EXIT_USAGE;
    }
    if (cl->cfg.nnodes == 0) {
        fprintf(stderr, "tricachectl: restore needs the cluster's cluster.toml (--config FILE)\n");
        return CTL_EXIT_USAGE;
    }
    long long deadline = ctl_now_ms() + (a->timeout_ms ? a->timeout_ms : DEFAULT_TIMEOUT_MS);
    ctl_local_backup *lb;
    int rc = ctl_local_backup_open(cl, a, a->from, &lb);
    if (rc != 0) {
        fprintf(stderr, "tricachectl: nothing was sent to the cluster\n");
    } else {
        char created[40];
        ctl_format_utc(lb->meta.created_ms, created, sizeof created);
        printf("backup %s verified: %llu keys, raft index %llu, taken %s by node %d\n", lb->meta.name,
               (unsigned long long)lb->st.records, (unsigned long long)lb->info.raft_index, created,
               lb->meta.node_id);
        fflush(stdout);
        rc = run(cl, a, lb, deadline);
    }
    ctl_local_backup_free(lb);
    return rc;
}
