#include "dest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

void ctl_format_utc(int64_t unix_ms, char *out, size_t len)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) snprintf(out, len, "?");
}

static int url_ok(const char *u)
{
    return (strncmp(u, "file:///", 8) == 0) || (strncmp(u, "s3://", 5) == 0 && u[5] && u[5] != '/');
}

/* The node's data folder, absolute: data_dir of its [[node]], else
 * <data_dir>/node-<id>; a relative path is taken from the current folder,
 * as the node takes it from its own. */
static int node_backups_url(const tc_config *cfg, const tc_node_conf *n, char *out, size_t len)
{
    char dir[2 * TC_CONFIG_MAX_STR + 32];
    if (n->data_dir[0]) snprintf(dir, sizeof dir, "%s", n->data_dir);
    else snprintf(dir, sizeof dir, "%s/node-%d", cfg->data_dir, n->id);
    const char *rel = dir;
    while (strncmp(rel, "./", 2) == 0) rel += 2;
    char cwd[PATH_MAX] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "tricachectl: cannot tell the current folder: %s\n", strerror(errno));
        return -1;
    }
    int w = dir[0] == '/' ? snprintf(out, len, "file://%s/backups", dir)
                          : snprintf(out, len, "file://%s/%s/backups", cwd, rel);
    if (w < 0 || (size_t)w >= len) {
        fprintf(stderr, "tricachectl: node %d's data folder makes too long a path\n", n->id);
        return -1;
    }
    return 0;
}

int ctl_dest_conf(const ctl_cluster *cl, const ctl_backup_args *a, tc_backup_conf *conf)
{
    const tc_config *cfg = &cl->cfg;
    int have = cfg->nnodes > 0;
    memset(conf, 0, sizeof *conf);
    if (have) {
        snprintf(conf->s3_endpoint, sizeof conf->s3_endpoint, "%s", cfg->backup.s3_endpoint);
        snprintf(conf->s3_region, sizeof conf->s3_region, "%s", cfg->backup.s3_region);
        conf->s3_path_style = cfg->backup.s3_path_style;
        snprintf(conf->s3_credentials_file, sizeof conf->s3_credentials_file, "%s", cfg->backup.s3_credentials_file);
    }
    const tc_node_conf *n = NULL;
    if (a->node_id) {
        if (!have) {
            fprintf(stderr, "tricachectl: --node %d needs the cluster's cluster.toml (--config FILE)\n", a->node_id);
            return CTL_EXIT_USAGE;
        }
        if (!(n = tc_config_node(cfg, a->node_id))) {
            fprintf(stderr, "tricachectl: --node %d: no [[node]] with that id in %s\n", a->node_id, cfg->path);
            return CTL_EXIT_USAGE;
        }
    }
    if (a->to) {
        if (!url_ok(a->to) || strlen(a->to) >= sizeof conf->url) {
            fprintf(stderr, "tricachectl: --to '%s' is not a backup destination\n"
                            "  hint: want file:///absolute/folder or s3://bucket/prefix\n", a->to);
            return CTL_EXIT_USAGE;
        }
        snprintf(conf->url, sizeof conf->url, "%s", a->to);
        return 0;
    }
    if (!have) {
        fprintf(stderr, "tricachectl: no --to URL and no cluster.toml to take [backup] destination from\n"
                        "  hint: pass --to file:///folder or --to s3://bucket/prefix, or --config FILE\n");
        return CTL_EXIT_USAGE;
    }
    if (cfg->backup.destination[0]) {
        snprintf(conf->url, sizeof conf->url, "%s", cfg->backup.destination);
        return 0;
    }
    if (!n && cfg->nnodes == 1) n = &cfg->nodes[0];
    if (!n) {
        fprintf(stderr,
                "tricachectl: [backup] destination is empty in %s, so each node keeps its backups under its own\n"
                "  data folder (<data dir>/backups); say whose with --node ID (its folder must be reachable from\n"
                "  this machine) or pass --to URL\n",
                cfg->path);
        return CTL_EXIT_USAGE;
    }
    return node_backups_url(cfg, n, conf->url, sizeof conf->url) == 0 ? 0 : CTL_EXIT_USAGE;
}

int ctl_dest_fail(const char *what, int code, const char *err)
{
    if (err[0] && strstr(err, what)) fprintf(stderr, "tricachectl: %s\n", err); /* it names the place already */
    else fprintf(stderr, "tricachectl: %s: %s\n", what, err[0] ? err : "failed");
    const char *hint = NULL;
    switch (code) {
    case TC_BACKUP_EINVAL: hint = "a destination is file:///absolute/folder or s3://bucket/prefix"; break;
    case TC_BACKUP_EAUTH:
        hint = "give S3 credentials with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a shared credentials\n"
               "  file (backup.s3_credentials_file in cluster.toml, $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)";
        break;
    case TC_BACKUP_ENET: hint = "check that the endpoint (backup.s3_endpoint in cluster.toml) is reachable from here"; break;
    case TC_BACKUP_ENOTFOUND: hint = "check the bucket or folder name (--to, or [backup] destination in cluster.toml)"; break;
    case TC_BACKUP_ECORRUPT:
        hint = "the copy at the destination is damaged; use another backup (tricachectl backup list)";
        break;
    case TC_BACKUP_EIO: hint = "check the folder's permissions and free space"; break;
    default: break;
    }
    if (hint) fprintf(stderr, "  hint: %s\n", hint);
    return code == TC_BACKUP_EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_CLUSTER;
}

int ctl_dest_open(const ctl_cluster *cl, const ctl_backup_args *a, tc_backup_dest **out)
{
    *out = NULL;
    tc_backup_conf conf;
    int rc = ctl_dest_conf(cl, a, &conf);
    if (rc != 0) return rc;
    char err[TC_BACKUP_ERRLEN] = "";
    rc = tc_backup_open(out, &conf, err, sizeof err);
    if (rc == 0) return 0;
    *out = NULL;
    int code = ctl_dest_fail(conf.url, rc, err);
    /* credentials that are not there at all are a configuration problem */
    return rc == TC_BACKUP_EAUTH ? CTL_EXIT_USAGE : code;
}

int ctl_dest_find(tc_backup_dest *d, const char *name, tc_backup_meta *meta)
{
    char err[TC_BACKUP_ERRLEN] = "";
    int rc = tc_backup_stat(d, name, meta, err, sizeof err);
    if (rc == 0) return 0;
    if (rc != TC_BACKUP_ENOTFOUND) return ctl_dest_fail(tc_backup_url(d), rc, err);
    tc_backup_meta *all = NULL;
    size_t n = 0;
    char lerr[TC_BACKUP_ERRLEN] = "";
    int lrc = tc_backup_list(d, &all, &n, lerr, sizeof lerr);
    if (lrc == TC_BACKUP_ENOTFOUND && strncmp(tc_backup_url(d), "file://", 7) == 0) {
        lrc = 0; /* no folder: no backups */
        n = 0;
    }
    if (lrc != 0) {
        fprintf(stderr, "tricachectl: no backup named '%s' at %s\n", name, tc_backup_url(d));
        free(all);
        return ctl_dest_fail(tc_backup_url(d), lrc, lerr);
    }
    if (n == 0) {
        fprintf(stderr, "tricachectl: no backup named '%s': no backups at %s\n"
                        "  hint: check --to / [backup] destination, or take one with tricachectl backup create\n",
                name, tc_backup_url(d));
    } else {
        fprintf(stderr, "tricachectl: no backup named '%s' at %s; it holds %zu backup%s (oldest first):\n", name,
                tc_backup_url(d), n, n == 1 ? "" : "s");
        size_t first = n > 20 ? n - 20 : 0;
        if (first) fprintf(stderr, "  ... %zu older ones (tricachectl backup list)\n", first);
        for (size_t i = first; i < n; i++) fprintf(stderr, "  %s\n", all[i].name);
    }
    free(all);
    return CTL_EXIT_CLUSTER;
}

/* ---- a verified local copy ------------------------------------------- */

typedef struct counted_file {
    FILE *f;
    uint64_t done;
    ctl_progress *pr;
} counted_file;

static int counted_read(void *ud, void *buf, size_t len, size_t *got)
{
    counted_file *cf = ud;
    size_t n = fread(buf, 1, len, cf->f);
    if (n == 0 && ferror(cf->f)) return -EIO;
    *got = n;
    cf->done += n;
    ctl_progress_set(cf->pr, cf->done, 0);
    return 0;
}

static void list_ids(const tc_snapshot_keydir *kd, char *out, size_t len)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < kd->n && w < len; i++)
        w += (size_t)snprintf(out + w, len - w, "%s%u", i ? ", " : "", kd->keys[i].id);
}

/* Loads the key folder and checks it holds the backup's key. */
static int load_key(const ctl_cluster *cl, const ctl_backup_args *a, ctl_local_backup *lb)
{
    const tc_backup_meta *m = &lb->meta;
    const char *dir = a->keys_dir ? a->keys_dir : cl->cfg.nnodes ? cl->cfg.keys_dir : "";
    if (!dir[0]) {
        fprintf(stderr,
                "tricachectl: backup %s is encrypted with key %u, and no key folder is configured\n"
                "  hint: set keys_dir in cluster.toml (or pass --keys-dir DIR) to a folder that holds key-%u.tckey\n",
                m->name, m->key_id, m->key_id);
        return CTL_EXIT_CLUSTER;
    }
    snprintf(lb->keys_from, sizeof lb->keys_from, "%s", dir);
    lb->keys = calloc(1, sizeof *lb->keys);
    if (!lb->keys) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    char err[TC_SNAPSHOT_ERRLEN];
    if (tc_snapshot_keydir_load(lb->keys, dir, err, sizeof err) != 0) {
        fprintf(stderr, "tricachectl: backup %s needs key %u: %s\n"
                        "  hint: key files must be intact and readable by their owner only (chmod 600)\n",
                m->name, m->key_id, err);
        return CTL_EXIT_CLUSTER;
    }
    if (!tc_snapshot_keydir_lookup(lb->keys, m->key_id)) {
        char ids[256];
        list_ids(lb->keys, ids, sizeof ids);
        fprintf(stderr,
                "tricachectl: backup %s is encrypted with key %u, which the key folder %s does not hold (%s%s)\n"
                "  hint: copy key-%u.tckey there from a node's keys_dir or from your safe copy; without it the\n"
                "  backup cannot be read\n",
                m->name, m->key_id, dir, lb->keys->n ? "it holds keys " : "it is empty", ids, m->key_id);
        return CTL_EXIT_CLUSTER;
    }
    return 0;
}

static const char *verify_hint(int code)
{
    switch (code) {
    case TC_SNAPSHOT_ENOKEY: return "copy the key file it names into the key folder (keys_dir or --keys-dir)";
    case TC_SNAPSHOT_EBADKEY:
        return "the key file with that id is a different key from the one that encrypted the backup; find the\n"
               "  right one (another node's keys_dir or your safe copy)";
    case TC_SNAPSHOT_EVERSION: return "the backup was written by a newer tricache: use a newer tricachectl";
    case TC_SNAPSHOT_ECORRUPT:
    case TC_SNAPSHOT_ETRUNCATED:
    case TC_SNAPSHOT_EFORMAT:
        return "the file is damaged or incomplete; nothing was changed; use another backup (tricachectl backup list)";
    case TC_SNAPSHOT_EIO: return "the file could not be read; check the disk and free space under $TMPDIR";
    default: return NULL;
    }
}

static int verify(ctl_local_backup *lb)
{
    FILE *f = fopen(lb->path, "rb");
    if (!f) {
        fprintf(stderr, "tricachectl: %s: %s\n", lb->path, strerror(errno));
        return CTL_EXIT_CLUSTER;
    }
    char label[TC_BACKUP_MAX_NAME + 16];
    snprintf(label, sizeof label, "verify %s", lb->meta.name);
    ctl_progress pr;
    ctl_progress_begin(&pr, label, lb->meta.size);
    counted_file cf = {.f = f, .pr = &pr};
    tc_snapshot_reader_opts ro = {.name = lb->meta.name};
    if (lb->keys) {
        ro.keyring = tc_snapshot_keydir_lookup;
        ro.keyring_ud = lb->keys;
    }
    char err[TC_SNAPSHOT_ERRLEN] = "";
    int rc = tc_snapshot_verify(counted_read, &cf, &ro, &lb->info, &lb->st, err, sizeof err);
    fclose(f);
    if (rc != 0) {
        ctl_progress_interrupt(&pr);
        fprintf(stderr, "tricachectl: backup %s is not usable: %s (%s)\n", lb->meta.name, err,
                tc_snapshot_strerror(rc));
        const char *hint = verify_hint(rc);
        if (hint) fprintf(stderr, "  hint: %s\n", hint);
        return CTL_EXIT_CLUSTER;
    }
    ctl_progress_end(&pr);
    const tc_backup_meta *m = &lb->meta;
    char why[512] = "";
    if (lb->st.records != m->keys)
        snprintf(why, sizeof why, "the manifest says %llu keys, the file holds %llu", (unsigned long long)m->keys,
                 (unsigned long long)lb->st.records);
    else if (lb->info.raft_index != m->raft_index)
        snprintf(why, sizeof why, "the manifest says raft index %llu, the file %llu",
                 (unsigned long long)m->raft_index, (unsigned long long)lb->info.raft_index);
    else if (lb->info.key_id != m->key_id)
        snprintf(why, sizeof why, "the manifest says key %u, the file was encrypted with key %u", m->key_id,
                 lb->info.key_id);
    else if (strcmp(lb->info.cluster, m->cluster) != 0)
        snprintf(why, sizeof why, "the manifest says cluster '%s', the file '%s'", m->cluster, lb->info.cluster);
    if (why[0]) {
        fprintf(stderr, "tricachectl: backup %s disagrees with its manifest: %s\n"
                        "  hint: the backup is not trustworthy; use another one (tricachectl backup list)\n",
                m->name, why);
        return CTL_EXIT_CLUSTER;
    }
    return 0;
}

int ctl_local_backup_open(const ctl_cluster *cl, const ctl_backup_args *a, const char *name, ctl_local_backup **out)
{
    ctl_local_backup *lb = *out = calloc(1, sizeof *lb);
    if (!lb) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    int rc = ctl_dest_open(cl, a, &lb->dest);
    if (rc != 0) return rc;
    tc_backup_dest *d = lb->dest;
    rc = ctl_dest_find(d, name, &lb->meta);
    if (rc != 0) return rc;
    if (lb->meta.key_id && (rc = load_key(cl, a, lb)) != 0) return rc;

    const char *tmp = getenv("TMPDIR");
    snprintf(lb->tmpdir, sizeof lb->tmpdir, "%s/tricachectl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(lb->tmpdir)) {
        fprintf(stderr, "tricachectl: cannot create a temporary folder %s: %s\n  hint: set TMPDIR to a writable folder\n",
                lb->tmpdir, strerror(errno));
        lb->tmpdir[0] = '\0';
        return CTL_EXIT_CLUSTER;
    }
    char label[TC_BACKUP_MAX_NAME + 16], err[TC_BACKUP_ERRLEN] = "";
    snprintf(label, sizeof label, "fetch %s", name);
    ctl_progress pr;
    ctl_progress_begin(&pr, label, lb->meta.size);
    rc = tc_backup_fetch(d, &lb->meta, lb->tmpdir, lb->path, sizeof lb->path, ctl_progress_cb, &pr, err, sizeof err);
    if (rc != 0) {
        ctl_progress_interrupt(&pr);
        lb->path[0] = '\0';
        return ctl_dest_fail(name, rc, err);
    }
    lb->fetched = 1;
    pr.done = lb->meta.size;
    ctl_progress_end(&pr);
    return verify(lb);
}

void ctl_local_backup_free(ctl_local_backup *lb)
{
    if (!lb) return;
    if (lb->fetched) tc_backup_fetch_done(lb->dest, lb->path);
    if (lb->tmpdir[0] && rmdir(lb->tmpdir) != 0 && errno != ENOENT)
        fprintf(stderr, "tricachectl: note: could not remove the temporary folder %s: %s\n", lb->tmpdir,
                strerror(errno));
    if (lb->keys) {
        tc_snapshot_keydir_clear(lb->keys);
        free(lb->keys);
    }
    tc_backup_close(lb->dest);
    free(lb);
}
