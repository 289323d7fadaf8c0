/* tricachectl backup: take a backup on a node (BGSAVE), and list, verify
 * and delete the backups at a destination. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h" /* tc_rc, tc_json_write_str */
#include "dest.h"
#include "progress.h"
#include "types/types.h" /* the type names of keys by type */

#define DEFAULT_CREATE_TIMEOUT_MS (10LL * 60 * 1000)
#define POLL_INTERVAL_MS 100

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- create -------------------------------------------------------------- */

/* The node to take the backup on: --node, else the healthy replica with the
 * smallest lag (so the primary keeps its resources for clients), else the
 * primary. Index in cfg.nodes, or -1 after printing why. */
static int pick_node(const ctl_cluster *cl, int node_id)
{
    if (node_id) {
        for (size_t i = 0; i < cl->cfg.nnodes; i++)
            if (cl->cfg.nodes[i].id == node_id) return (int)i;
        fprintf(stderr, "tricachectl: --node %d: no [[node]] with that id in %s\n", node_id, cl->cfg.path);
        return -1;
    }
    ctl_node_view v[TC_CONFIG_MAX_NODES];
    int p = ctl_view_cluster(cl, v, NULL);
    int best = -1;
    unsigned long long best_lag = 0;
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        if (v[i].role != CTL_ROLE_REPLICA || !v[i].link_up) continue;
        /* without a primary to compare with, the replica that applied most */
        unsigned long long top = p >= 0 ? v[p].applied : ~0ULL;
        unsigned long long lag = top > v[i].applied ? top - v[i].applied : 0;
        if (best < 0 || lag < best_lag) {
            best = (int)i;
            best_lag = lag;
        }
    }
    if (best >= 0) return best;
    if (p >= 0) return p;
    fprintf(stderr, "tricachectl: no node can take a backup: no healthy replica and no primary "
                    "(tricachectl status shows why)\n");
    return -1;
}

/* INFO persistence as text (malloc'd), or NULL after printing why. */
static char *info_persistence(tc_rc *c, const tc_node_conf *n)
{
    const char *argv[] = {"INFO", "persistence"};
    tc_rc_reply r;
    if (tc_rc_command(c, &r, 2, argv, NULL) != 0) {
        fprintf(stderr, "tricachectl: node %d: INFO persistence: %s\n", n->id, c->err);
        return NULL;
    }
    if (r.type != TC_RC_BULK) {
        fprintf(stderr, "tricachectl: node %d: INFO persistence answered %s\n", n->id,
                r.str ? r.str : "an unexpected reply");
        tc_rc_reply_free(&r);
        return NULL;
    }
    char *s = strndup(r.str, r.len); /* (a RESP3 verbatim string comes without its "txt:") */
    tc_rc_reply_free(&r);
    if (!s) fprintf(stderr, "tricachectl: out of memory\n");
    return s;
}

/* Size and key count of a finished backup: INFO persistence says them
 * (backup_last_bytes, backup_last_keys); a node that does not is asked
 * through the manifest at the destination. */
static void describe_result(const ctl_cluster *cl, const char *url, const char *name, const char *info)
{
    char bytes_f[32], keys_f[32], size[32];
    ctl_info_field(info, "backup_last_bytes", bytes_f, sizeof bytes_f);
    ctl_info_field(info, "backup_last_keys", keys_f, sizeof keys_f);
    if (bytes_f[0] && keys_f[0]) {
        ctl_format_bytes(strtoull(bytes_f, NULL, 10), size, sizeof size);
        printf("size:        %s (%s bytes), %s keys\n", size, bytes_f, keys_f);
        return;
    }
    ctl_backup_args a = {.to = url};
    tc_backup_conf conf;
    tc_backup_dest *d = NULL;
    tc_backup_meta m;
    char err[TC_BACKUP_ERRLEN] = "";
    int ok = url[0] && ctl_dest_conf(cl, &a, &conf) == 0 && tc_backup_open(&d, &conf, err, sizeof err) == 0 &&
             tc_backup_stat(d, name, &m, err, sizeof err) == 0;
    if (d) tc_backup_close(d);
    if (ok) {
        ctl_format_bytes(m.size, size, sizeof size);
        printf("size:        %s (%llu bytes), %llu keys\n", size, (unsigned long long)m.size,
               (unsigned long long)m.keys);
    } else {
        printf("size:        unknown\n");
        if (err[0]) fprintf(stderr, "tricachectl: note: the manifest could not be read from here: %s\n", err);
    }
}

static int create(const ctl_cluster *cl, const ctl_backup_args *a)
{
    if (cl->cfg.nnodes == 0) {
        fprintf(stderr, "tricachectl: backup create needs the cluster's cluster.toml (--config FILE)\n");
        return CTL_EXIT_USAGE;
    }
    if (a->to && !(strncmp(a->to, "file:///", 8) == 0 || (strncmp(a->to, "s3://", 5) == 0 && a->to[5] && a->to[5] != '/'))) {
        fprintf(stderr, "tricachectl: --to '%s' is not a backup destination\n"
                        "  hint: want file:///absolute/folder (on the node's machine) or s3://bucket/prefix\n", a->to);
        return CTL_EXIT_USAGE;
    }
    long long timeout = a->timeout_ms ? a->timeout_ms : DEFAULT_CREATE_TIMEOUT_MS;
    int idx = pick_node(cl, a->node_id);
    if (idx < 0) return a->node_id ? CTL_EXIT_USAGE : CTL_EXIT_CLUSTER;
    const tc_node_conf *n = &cl->cfg.nodes[idx];
    tc_rc c;
    if (ctl_node_open(cl, n, &c) != 0) {
        fprintf(stderr, "tricachectl: node %d: %s\n", n->id, c.err);
        tc_rc_close(&c);
        return CTL_EXIT_CLUSTER;
    }
    int rc = CTL_EXIT_CLUSTER;
    char *info = NULL;
    char before[TC_BACKUP_MAX_NAME] = "", name[TC_BACKUP_MAX_NAME] = "", v[TC_BACKUP_MAX_URL];
    long long start = ctl_now_ms();

    /* what the node finished last, to tell our backup from an older one
     * should it finish before we ask */
    if (!(info = info_persistence(&c, n))) goto out;
    ctl_info_field(info, "backup_last_name", before, sizeof before);
    free(info);
    info = NULL;

    const char *argv[] = {"BGSAVE", "TO", a->to};
    tc_rc_reply r;
    if (tc_rc_command(&c, &r, a->to ? 3 : 1, argv, NULL) != 0) {
        fprintf(stderr, "tricachectl: node %d: BGSAVE: %s\n", n->id, c.err);
        goto out;
    }
    if (r.type != TC_RC_STATUS) {
        fprintf(stderr, "tricachectl: node %d refused BGSAVE: %s\n", n->id, r.str ? r.str : "unexpected reply");
        tc_rc_reply_free(&r);
        goto out;
    }
    tc_rc_reply_free(&r);

    if (!(info = info_persistence(&c, n))) goto out;
    ctl_info_field(info, "backup_current_name", name, sizeof name);
    if (!name[0]) {
        char last[TC_BACKUP_MAX_NAME], busy[8];
        ctl_info_field(info, "backup_last_name", last, sizeof last);
        ctl_info_field(info, "rdb_bgsave_in_progress", busy, sizeof busy);
        if (strcmp(busy, "0") == 0 && last[0] && strcmp(last, before) != 0) snprintf(name, sizeof name, "%s", last);
    }
    if (!name[0]) {
        fprintf(stderr, "tricachectl: node %d started a backup but INFO persistence names none "
                        "(no backup_current_name)\n", n->id);
        goto out;
    }
    printf("backup %s started on node %d (%s, %s:%d)\n", name, n->id, n->zone, n->client_host, n->client_port);
    fflush(stdout);

    ctl_progress pr;
    char label[TC_BACKUP_MAX_NAME + 32];
    snprintf(label, sizeof label, "backup %s", name);
    ctl_progress_begin(&pr, label, 0);
    for (;;) {
        /* done when ours is the last finished one (another backup, say a
         * scheduled one, may have started right after it), or when none
         * runs any more */
        ctl_info_field(info, "backup_last_name", v, sizeof v);
        if (strcmp(v, name) == 0) break;
        ctl_info_field(info, "rdb_bgsave_in_progress", v, sizeof v);
        if (strcmp(v, "1") != 0) break;
        if (ctl_now_ms() - start > timeout) {
            char t[24];
            ctl_format_duration(timeout, t, sizeof t);
            ctl_progress_interrupt(&pr);
            fprintf(stderr, "tricachectl: backup %s is still running on node %d after %s; it may still complete\n"
                            "  hint: tricachectl backup list shows it once it has; a longer --timeout waits more\n",
                            name, n->id, t);
            goto out;
        }
        if (pr.tty) {
            char t[24];
            ctl_format_duration(ctl_now_ms() - start, t, sizeof t);
            fprintf(stderr, "\r%s: running on node %d, %s\033[K", label, n->id, t);
            pr.on_screen = 1;
        }
        sleep_ms(POLL_INTERVAL_MS);
        free(info);
        if (!(info = info_persistence(&c, n))) {
            ctl_progress_interrupt(&pr);
            fprintf(stderr, "tricachectl: lost node %d while backup %s was running; it may or may not complete\n",
                    n->id, name);
            goto out;
        }
    }
    ctl_progress_interrupt(&pr);
    long long took = ctl_now_ms() - start;

    char last[TC_BACKUP_MAX_NAME], status[16], dest[TC_BACKUP_MAX_URL], error[1024];
    ctl_info_field(info, "backup_last_name", last, sizeof last);
    ctl_info_field(info, "rdb_last_bgsave_status", status, sizeof status);
    /* where this backup went (BGSAVE TO may differ from the node's default) */
    ctl_info_field(info, "backup_last_url", dest, sizeof dest);
    if (!dest[0] && a->to) snprintf(dest, sizeof dest, "%s", a->to);
    if (!dest[0]) ctl_info_field(info, "backup_destination", dest, sizeof dest);
    ctl_info_field(info, "backup_last_error", error, sizeof error);
    if (strcmp(last, name) != 0) {
        fprintf(stderr, "tricachectl: node %d finished backup %s, not %s, meanwhile: the outcome of %s is unknown\n"
                        "  hint: tricachectl backup list shows whether it is there\n",
                n->id, last[0] ? last : "(none)", name, name);
        goto out;
    }
    if (strcmp(status, "ok") != 0) {
        fprintf(stderr, "tricachectl: backup %s failed on node %d: %s\n", name, n->id,
                error[0] ? error : "(the node gave no backup_last_error)");
        goto out;
    }
    char t[24];
    ctl_format_duration(took, t, sizeof t);
    printf("backup:      %s\n", name);
    printf("node:        %d (%s, %s:%d)\n", n->id, n->zone, n->client_host, n->client_port);
    printf("destination: %s\n", dest[0] ? dest : "(not reported by the node)");
    describe_result(cl, dest, name, info);
    char key[16];
    ctl_info_field(info, "backup_encrypted_key_id", key, sizeof key);
    if (key[0] && strcmp(key, "0") == 0) printf("encrypted:   no (the node's keys_dir holds no key)\n");
    else if (key[0]) printf("encrypted:   with key %s\n", key);
    printf("duration:    %s\n", t);
    rc = CTL_EXIT_OK;
out:
    free(info);
    tc_rc_close(&c);
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

static void print_json(const char *url, const tc_backup_meta *m, size_t n)
{
    printf("{\"destination\":");
    tc_json_write_str(stdout, url, strlen(url));
    printf(",\"backups\":[");
    for (size_t i = 0; i < n; i++) {
        char created[40];
        ctl_format_utc(m[i].created_ms, created, sizeof created);
        printf("%s{\"name\":", i ? "," : "");
        tc_json_write_str(stdout, m[i].name, strlen(m[i].name));
        printf(",\"cluster\":");
        tc_json_write_str(stdout, m[i].cluster, strlen(m[i].cluster));
        printf(",\"created_ms\":%lld,\"created\":", (long long)m[i].created_ms);
        tc_json_write_str(stdout, created, strlen(created));
        printf(",\"node\":%d,\"raft_index\":%llu,\"raft_term\":%llu,\"keys\":%llu,\"size\":%llu,\"sha256\":",
               m[i].node_id, (unsigned long long)m[i].raft_index, (unsigned long long)m[i].raft_term,
               (unsigned long long)m[i].keys, (unsigned long long)m[i].size);
        tc_json_write_str(stdout, m[i].sha256, strlen(m[i].sha256));
        printf(",\"key_id\":%u}", m[i].key_id);
    }
    printf("]}\n");
}

static void print_table(const tc_backup_meta *m, size_t n)
{
    int w = 4;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(m[i].name) > w) w = (int)strlen(m[i].name);
    printf("%-*s  %-23s  %4s  %10s  %10s  %10s  %s\n", w, "NAME", "CREATED (UTC)", "NODE", "RAFT INDEX", "KEYS",
           "SIZE", "KEY");
    for (size_t i = 0; i < n; i++) {
        char created[40], size[32], key[16] = "-";
        ctl_format_utc(m[i].created_ms, created, sizeof created);
        ctl_format_bytes(m[i].size, size, sizeof size);
        if (m[i].key_id) snprintf(key, sizeof key, "%u", m[i].key_id);
        printf("%-*s  %-23s  %4d  %10llu  %10llu  %10s  %s\n", w, m[i].name, created, m[i].node_id,
               (unsigned long long)m[i].raft_index, (unsigned long long)m[i].keys, size, key);
    }
}

static int list(const ctl_cluster *cl, const ctl_backup_args *a)
{
    tc_backup_dest *d;
    int rc = ctl_dest_open(cl, a, &d);
    if (rc != 0) return rc;
    tc_backup_meta *m = NULL;
    size_t n = 0;
    char err[TC_BACKUP_ERRLEN] = "";
    rc = tc_backup_list(d, &m, &n, err, sizeof err);
    if (rc == TC_BACKUP_ENOTFOUND && strncmp(tc_backup_url(d), "file://", 7) == 0) {
        /* a folder the first backup has not created yet holds no backups */
        if (a->json) print_json(tc_backup_url(d), m, 0);
        else printf("no backups at %s (%s)\n", tc_backup_url(d), err);
        rc = CTL_EXIT_OK;
    } else if (rc != 0) {
        rc = ctl_dest_fail(tc_backup_url(d), rc, err);
    } else {
        if (err[0]) fprintf(stderr, "tricachectl: warning: %s\n", err);
        if (a->json) print_json(tc_backup_url(d), m, n);
        else if (n == 0) printf("no backups at %s\n", tc_backup_url(d));
        else {
            print_table(m, n);
            printf("%zu backup%s at %s\n", n, n == 1 ? "" : "s", tc_backup_url(d));
        }
        rc = CTL_EXIT_OK;
    }
    free(m);
    tc_backup_close(d);
    return rc;
}

/* ---- verify, delete ------------------------------------------------------ */

static int verify(const ctl_cluster *cl, const ctl_backup_args *a, const char *name)
{
    ctl_local_backup *lb;
    int rc = ctl_local_backup_open(cl, a, name, &lb);
    if (rc == 0) {
        const tc_backup_meta *m = &lb->meta;
        char size[32], created[40], enc[64] = "not encrypted";
        ctl_format_bytes(m->size, size, sizeof size);
        ctl_format_utc(m->created_ms, created, sizeof created);
        if (m->key_id) snprintf(enc, sizeof enc, "encrypted with key %u", m->key_id);
        char dbs[48] = "";
        if (lb->st.databases > 1) snprintf(dbs, sizeof dbs, " in %u databases", lb->st.databases);
        printf("OK backup %s: %llu keys%s, raft index %llu (term %llu), cluster %s, %s, %s\n", m->name,
               (unsigned long long)lb->st.records, dbs, (unsigned long long)lb->info.raft_index,
               (unsigned long long)lb->info.raft_term, m->cluster[0] ? m->cluster : "\"\"", size, enc);
        printf("   taken by node %d at %s; %llu blocks authenticated, SHA-256, key count and raft index match "
               "the manifest\n",
               m->node_id, created, (unsigned long long)lb->st.blocks);
        /* what the keys are, counted while every block was read anyway */
        printf("   keys by type:");
        const char *sep = " ";
        for (unsigned t = 0; t < 15; t++) {
            uint64_t n = lb->st.records_of_type[t];
            const tc_type_ops *ops = tc_type_ops_of(t);
            if (!n) continue;
            if (ops) printf("%s%llu %s", sep, (unsigned long long)n, ops->name);
            else printf("%s%llu of type %u", sep, (unsigned long long)n, t);
            sep = ", ";
        }
        /* the last slot: record types 15 and up, which are users (126) and
         * cluster settings (128), not keys */
        uint64_t other = lb->st.records_of_type[15];
        if (other) printf("; and %llu records that are not keys (users, settings)", (unsigned long long)other);
        printf("%s\n", lb->st.records > other ? "" : " none");
    }
    ctl_local_backup_free(lb);
    return rc;
}

static int delete(const ctl_cluster *cl, const ctl_backup_args *a, const char *name)
{
    tc_backup_dest *d;
    int rc = ctl_dest_open(cl, a, &d);
    if (rc != 0) return rc;
    tc_backup_meta m;
    rc = ctl_dest_find(d, name, &m);
    if (rc == 0) {
        char err[TC_BACKUP_ERRLEN] = "";
        int brc = tc_backup_delete(d, name, err, sizeof err);
        if (brc != 0) rc = ctl_dest_fail(tc_backup_url(d), brc, err);
        else printf("deleted backup %s from %s\n", name, tc_backup_url(d));
    }
    tc_backup_close(d);
    return rc;
}

static int wrong_option(const char *opt, const char *sub)
{
    fprintf(stderr, "tricachectl: %s is not an option of backup %s\n", opt, sub);
    return CTL_EXIT_USAGE;
}

int ctl_cmd_backup(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    int is_create = strcmp(sub, "create") == 0, is_list = strcmp(sub, "list") == 0;
    int is_verify = strcmp(sub, "verify") == 0, is_delete = strcmp(sub, "delete") == 0;
    if (!is_create && !is_list && !is_verify && !is_delete) {
        fprintf(stderr, "tricachectl: backup wants create | list | verify NAME | delete NAME\n");
        return CTL_EXIT_USAGE;
    }
    if (a->json && !is_list) return wrong_option("--json", sub);
    if (a->timeout_ms && !is_create) return wrong_option("--timeout", sub);
    if (a->keys_dir && !is_verify) return wrong_option("--keys-dir", sub);
    if (is_create || is_list) {
        if (argc != 1) {
            fprintf(stderr, "tricachectl: backup %s takes no argument ('%s')\n", sub, argv[1]);
            return CTL_EXIT_USAGE;
        }
        return is_create ? create(cl, a) : list(cl, a);
    }
    /* verify NAME | verify URL NAME | delete NAME | delete URL NAME */
    ctl_backup_args b = *a;
    const char *name = NULL;
    if (argc == 2) {
        name = argv[1];
    } else if (argc == 3 && strstr(argv[1], "://")) {
        if (a->to && strcmp(a->to, argv[1]) != 0) {
            fprintf(stderr, "tricachectl: backup %s: two destinations given (%s and --to %s)\n", sub, argv[1], a->to);
            return CTL_EXIT_USAGE;
        }
        b.to = argv[1];
        name = argv[2];
    } else {
        fprintf(stderr, "tricachectl: backup %s wants NAME, or a destination URL and NAME\n", sub);
        return CTL_EXIT_USAGE;
    }
    if (!name[0] || strchr(name, '/')) {
        fprintf(stderr, "tricachectl: '%s' is not a backup name (tricachectl backup list shows them)\n", name);
        return CTL_EXIT_USAGE;
    }
    return is_verify ? verify(cl, &b, name) : delete(cl, &b, name);
}
