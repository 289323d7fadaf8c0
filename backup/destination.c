/* Backups: destination URLs, backup names, manifests, and the rules that
 * are the same for every destination (what counts as a backup, what
 * listing shows, what prune removes). The backends in backup_file.c and
 * backup_s3.c only store and fetch objects.
 *
 * The order of writes is the whole consistency story: N.tcsnap is complete
 * before N.manifest is written, and the manifest is removed before the
 * snapshot. So any N.manifest names a complete snapshot, and anything a
 * crash leaves behind is a snapshot without a manifest, which is ignored
 * until prune removes it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup_internal.h"
#include "common.h" /* tc_json: manifests */

/* ------------------------------------------------------------- helpers */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tc__bk_set_clock(tc_backup_dest *d, int64_t (*now_ms)(void))
{
    d->now_ms = now_ms ? now_ms : wall_ms;
}

static void object_name(char *out, const char *name, const char *suffix)
{
    tc__bk_fmt(out, TC__BK_MAX_OBJECT, "%s%s", name, suffix); /* names are checked: it fits */
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/* ------------------------------------------------------------- URLs */

/* S3's rules for bucket names (the ones that matter for building URLs). */
static int bucket_ok(const char *b, size_t n)
{
    if (n < 3 || n > 63) return 0;
    int digits_dots_only = 1;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-') return 0;
        if ((i == 0 || i == n - 1) && !alnum) return 0;
        if (c == '.' && b[i + 1] == '.') return 0;
        if (c != '.' && !(c >= '0' && c <= '9')) digits_dots_only = 0;
    }
    return !digits_dots_only; /* "192.168.5.4" is an address, not a bucket */
}

/* Drops empty segments so "a//b/" and "/a/b" both become "a/b"; refuses
 * "." and ".." (which S3 would store literally but a reader would not
 * expect) and control characters. */
static int normalize_prefix(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    while (*in) {
        while (*in == '/') in++;
        if (!*in) break;
        size_t seg = strcspn(in, "/");
        if ((seg == 1 && in[0] == '.') || (seg == 2 && in[0] == '.' && in[1] == '.')) return -1;
        for (size_t i = 0; i < seg; i++)
            if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) return -1;
        if (o + seg + 2 > outlen) return -1;
        if (o) out[o++] = '/';
        memcpy(out + o, in, seg);
        o += seg;
        in += seg;
    }
    out[o] = '\0';
    return 0;
}

static int open_file_url(tc_backup_dest *d, const char *url, char *err, size_t errlen)
{
    const char *path = url + strlen("file://");
    if (path[0] != '/') {
        tc__bk_errf(err, errlen,
                    "%s: a file URL needs an absolute path with no host, as in "
                    "file:///var/backups/tricache",
                    url);
        return TC_BACKUP_EINVAL;
    }
    char dir[TC_BACKUP_MAX_URL];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    memcpy(dir, path, n);
    dir[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)dir[i] < 0x20) {
            tc__bk_errf(err, errlen, "%s: control character in the path", url);
            return TC_BACKUP_EINVAL;
        }
    }
    tc__bk_fmt(d->url, sizeof d->url, "file://%s", dir); /* no longer than the URL given */
    return tc__bk_file_open(d, dir, err, errlen);
}

static int open_s3_url(tc_backup_dest *d, const tc_backup_conf *conf, char *err, size_t errlen)
{
    const char *rest = conf->url + strlen("s3://");
    size_t blen = strcspn(rest, "/");
    char bucket[64];
    if (!bucket_ok(rest, blen)) {
        tc__bk_errf(err, errlen,
                    "%s: bad bucket name \"%.*s\": S3 bucket names are 3 to 63 lower-case "
                    "letters, digits, dots and hyphens, starting and ending with a letter or "
                    "digit",
                    conf->url, (int)(blen > 63 ? 63 : blen), rest);
        return TC_BACKUP_EINVAL;
    }
    memcpy(bucket, rest, blen);
    bucket[blen] = '\0';
    char prefix[512];
    if (normalize_prefix(rest + blen, prefix, sizeof prefix) < 0) {
        tc__bk_errf(err, errlen,
                    "%s: bad prefix: it must be shorter than %zu bytes, without control "
                    "characters or \".\"/\"..\" segments",
                    conf->url, sizeof prefix);
        return TC_BACKUP_EINVAL;
    }
    snprintf(d->url, sizeof d->url, "s3://%s%s%s", bucket, prefix[0] ? "/" : "", prefix);
    return tc__bk_s3_open(d, conf, bucket, prefix, err, errlen);
}

int tc_backup_open(tc_backup_dest **out, const tc_backup_conf *conf, char *err, size_t errlen)
{
    *out = NULL;
    if (!conf || !conf->url[0]) {
        tc__bk_errf(err, errlen,
                    "no backup destination: set a URL such as file:///var/backups/tricache or "
                    "s3://bucket/prefix");
        return TC_BACKUP_EINVAL;
    }
    if (strnlen(conf->url, sizeof conf->url) == sizeof conf->url) {
        tc__bk_errf(err, errlen, "backup URL is longer than %zu bytes", sizeof conf->url - 1);
        return TC_BACKUP_EINVAL;
    }
    tc_backup_dest *d = calloc(1, sizeof *d);
    if (!d) {
        tc__bk_errf(err, errlen, "%s: out of memory", conf->url);
        return TC_BACKUP_ENOMEM;
    }
    d->now_ms = wall_ms;
    int rc;
    if (strncmp(conf->url, "file://", 7) == 0) {
        rc = open_file_url(d, conf->url, err, errlen);
    } else if (strncmp(conf->url, "s3://", 5) == 0) {
        rc = open_s3_url(d, conf, err, errlen);
    } else {
        tc__bk_errf(err, errlen,
                    "%s: unsupported destination: use file:///absolute/path or "
                    "s3://bucket/prefix",
                    conf->url);
        rc = TC_BACKUP_EINVAL;
    }
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void tc_backup_close(tc_backup_dest *d)
{
    if (!d) return;
    d->ops->close(d);
    free(d);
}

const char *tc_backup_url(const tc_backup_dest *d)
{
    return d ? d->url : "";
}

void tc_backup_name(char *out, size_t len, const char *cluster, int64_t created_ms, int node_id)
{
    if (!out || len == 0) return;
    /* The cluster name is free text; a backup name is not. */
    char c[TC_SNAPSHOT_MAX_CLUSTER + 1];
    size_t n = 0;
    for (; cluster && cluster[n] && n < TC_SNAPSHOT_MAX_CLUSTER; n++) {
        unsigned char ch = (unsigned char)cluster[n];
        c[n] = tc__bk_name_char_ok(ch) && !(n == 0 && ch == '.') ? (char)ch : '_';
    }
    c[n] = '\0';
    if (n == 0) snprintf(c, sizeof c, "cluster");
    if (created_ms < 0) created_ms = 0;
    time_t secs = (time_t)(created_ms / 1000);
    struct tm tm;
    char stamp[32];
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    snprintf(out, len, "%s-%s-%03d-n%d", c, stamp, (int)(created_ms % 1000), node_id);
}

/* ------------------------------------------------------------- uploading */

static void upload_free(tc_backup_upload *u)
{
    EVP_MD_CTX_free(u->sha);
    free(u);
}

int tc_backup_upload_begin(tc_backup_dest *d, const char *name, tc_backup_upload **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    if (!d) {
        tc__bk_errf(err, errlen, "backup: no destination");
        return TC_BACKUP_EINVAL;
    }
    int rc = tc__bk_check_name(name, d->url, err, errlen);
    if (rc) return rc;
    char manifest[TC__BK_MAX_OBJECT];
    object_name(manifest, name, TC__BK_MANIFEST_SUFFIX);
    rc = d->ops->exists(d, manifest, err, errlen);
    if (rc < 0) return rc;
    if (rc == 1) {
        tc__bk_errf(err, errlen,
                    "%s/%s: a backup named %s exists already; backups are never overwritten, "
                    "pick another name or delete it first",
                    d->url, manifest, name);
        return TC_BACKUP_EINVAL;
    }
    tc_backup_upload *u = calloc(1, sizeof *u);
    if (u) u->sha = EVP_MD_CTX_new();
    if (!u || !u->sha || EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
        if (u) upload_free(u);
        tc__bk_errf(err, errlen, "%s/%s: out of memory", d->url, name);
        return TC_BACKUP_ENOMEM;
    }
    u->d = d;
    snprintf(u->name, sizeof u->name, "%s", name);
    rc = d->ops->upload_begin(u, err, errlen);
    if (rc) {
        upload_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

int tc_backup_upload_write(void *upload, const void *buf, size_t len)
{
    tc_backup_upload *u = upload;
    if (!u) return -EINVAL;
    if (u->code) return -EIO;
    if (len == 0) return 0;
    if (EVP_DigestUpdate(u->sha, buf, len) != 1) {
        tc__bk_errf(u->err, sizeof u->err, "%s/%s: SHA-256 failed", u->d->url, u->name);
        u->code = TC_BACKUP_ENOMEM;
        return -EIO;
    }
    int rc = u->d->ops->upload_write(u, buf, len, u->err, sizeof u->err);
    if (rc) {
        u->code = rc;
        return -EIO;
    }
    u->size += len;
    return 0;
}

void tc_backup_upload_abort(tc_backup_upload *u)
{
    if (!u) return;
    u->d->ops->upload_end(u, 0, NULL, 0);
    upload_free(u);
}

/* Fills size and sha256 from the stream and checks that the manifest can
 * be written, before anything is committed. */
static int seal_meta(tc_backup_upload *u, tc_backup_meta *meta, char *json, size_t jsonlen,
                     char *err, size_t errlen)
{
    if (!meta) {
        tc__bk_errf(err, errlen, "%s/%s: finishing an upload needs its metadata", u->d->url, u->name);
        return TC_BACKUP_EINVAL;
    }
    if (!meta->name[0]) snprintf(meta->name, sizeof meta->name, "%s", u->name);
    if (strcmp(meta->name, u->name) != 0) {
        tc__bk_errf(err, errlen, "%s/%s: the metadata names backup %.*s, not %s", u->d->url,
                    u->name, TC_BACKUP_MAX_NAME - 1, meta->name, u->name);
        return TC_BACKUP_EINVAL;
    }
    unsigned char digest[32];
    if (EVP_DigestFinal_ex(u->sha, digest, NULL) != 1) {
        tc__bk_errf(err, errlen, "%s/%s: SHA-256 failed", u->d->url, u->name);
        return TC_BACKUP_ENOMEM;
    }
    tc__bk_hex(digest, meta->sha256);
    meta->size = u->size;
    int n = tc__bk_manifest_encode(meta, json, jsonlen, err, errlen);
    return n < 0 ? n : 0;
}

int tc_backup_upload_finish(tc_backup_upload *u, tc_backup_meta *meta, char *err, size_t errlen)
{
    if (!u) {
        tc__bk_errf(err, errlen, "backup: no upload to finish");
        return TC_BACKUP_EINVAL;
    }
    tc_backup_dest *d = u->d;
    char json[2048];
    int rc = u->code;
    if (rc) tc__bk_errf(err, errlen, "%s", u->err);
    if (!rc) rc = seal_meta(u, meta, json, sizeof json, err, errlen);
    if (rc) {
        tc_backup_upload_abort(u);
        return rc;
    }
    rc = d->ops->upload_end(u, 1, err, errlen);
    if (!rc) {
        char obj[TC__BK_MAX_OBJECT];
        object_name(obj, u->name, TC__BK_MANIFEST_SUFFIX);
        rc = d->ops->put_small(d, obj, json, strlen(json), err, errlen);
        if (rc) {
            /* Without its manifest the snapshot is an orphan that nobody
             * lists; remove it now rather than wait for prune. */
            object_name(obj, u->name, TC__BK_SNAP_SUFFIX);
            d->ops->remove(d, obj, NULL, 0);
        }
    }
    upload_free(u);
    return rc;
}

/* ------------------------------------------------------------- listing */

static int cmp_object(const void *a, const void *b)
{
    return strcmp(((const tc__bk_object *)a)->name, ((const tc__bk_object *)b)->name);
}

static const tc__bk_object *find_object(const tc__bk_object *objs, size_t n, const char *name)
{
    tc__bk_object key;
    if (tc__bk_fmt(key.name, sizeof key.name, "%s", name)) return NULL;
    return n ? bsearch(&key, objs, n, sizeof *objs, cmp_object) : NULL;
}

static int cmp_meta(const void *a, const void *b)
{
    const tc_backup_meta *x = a, *y = b;
    if (x->created_ms != y->created_ms) return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Reads one manifest listed as obj. 0 and *m, 1 when it should be skipped
 * quietly (gone since the listing), a bad-manifest code (reported but not
 * fatal to a listing), or another negative code (fatal). */
static int read_manifest(tc_backup_dest *d, const char *obj, const tc__bk_object *objs, size_t n,
                         tc_backup_meta *m, char *err, size_t errlen)
{
    char base[TC__BK_MAX_OBJECT], snap[TC__BK_MAX_OBJECT], what[TC_BACKUP_MAX_URL + 160];
    size_t blen = strlen(obj) - strlen(TC__BK_MANIFEST_SUFFIX);
    snprintf(base, sizeof base, "%.*s", (int)blen, obj);
    snprintf(what, sizeof what, "%s/%s", d->url, obj);
    if (tc__bk_check_name(base, d->url, NULL, 0)) {
        tc__bk_errf(err, errlen, "%s: not a backup manifest name; ignored", what);
        return TC_BACKUP_ECORRUPT;
    }
    object_name(snap, base, TC__BK_SNAP_SUFFIX);
    if (!find_object(objs, n, snap)) {
        tc__bk_errf(err, errlen,
                    "%s: its snapshot %s is missing (an interrupted delete?); delete backup %s",
                    what, snap, base);
        return TC_BACKUP_ECORRUPT;
    }
    char *json = NULL;
    size_t len = 0;
    int rc = d->ops->get_small(d, obj, &json, &len, err, errlen);
    if (rc == TC_BACKUP_ENOTFOUND) return 1;
    if (rc) return rc;
    rc = tc__bk_manifest_decode(json, len, m, what, err, errlen);
    free(json);
    if (!rc && strcmp(m->name, base) != 0) {
        tc__bk_errf(err, errlen, "%s: describes backup %s, not %s; delete backup %s", what,
                    m->name, base, base);
        rc = TC_BACKUP_ECORRUPT;
    }
    return rc;
}

/* The backups among objs (which it sorts by name), oldest first. Bad
 * manifests are skipped and the first one is described in err; if there
 * are only bad ones, that is the result. */
static int collect(tc_backup_dest *d, tc__bk_object *objs, size_t n, tc_backup_meta **out,
                   size_t *nout, char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    if (n) qsort(objs, n, sizeof *objs, cmp_object);
    tc_backup_meta *metas = n ? calloc(n, sizeof *metas) : NULL;
    if (n && !metas) {
        tc__bk_errf(err, errlen, "%s: out of memory listing backups", d->url);
        return TC_BACKUP_ENOMEM;
    }
    size_t good = 0, bad = 0;
    int bad_code = 0;
    char first[TC_BACKUP_ERRLEN] = "";
    for (size_t i = 0; i < n; i++) {
        if (!has_suffix(objs[i].name, TC__BK_MANIFEST_SUFFIX)) continue;
        char why[TC_BACKUP_ERRLEN];
        int rc = read_manifest(d, objs[i].name, objs, n, &metas[good], why, sizeof why);
        if (rc == 0) {
            good++;
        } else if (rc == TC_BACKUP_ECORRUPT) {
            if (!bad++) {
                snprintf(first, sizeof first, "%s", why);
                bad_code = rc;
            }
        } else if (rc < 0) {
            tc__bk_errf(err, errlen, "%s", why);
            free(metas);
            return rc;
        }
    }
    if (bad) {
        if (bad > 1) tc__bk_errf(err, errlen, "%s (and %zu more unreadable manifests)", first, bad - 1);
        else tc__bk_errf(err, errlen, "%s", first);
        if (!good) {
            free(metas);
            return bad_code;
        }
    }
    if (good) qsort(metas, good, sizeof *metas, cmp_meta);
    else {
        free(metas);
        metas = NULL;
    }
    *out = metas;
    *nout = good;
    return 0;
}

int tc_backup_list(tc_backup_dest *d, tc_backup_meta **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    tc__bk_errf(err, errlen, "%s", "");
    tc__bk_object *objs = NULL;
    size_t nobj = 0;
    int rc = d->ops->list(d, &objs, &nobj, err, errlen);
    if (rc) return rc;
    rc = collect(d, objs, nobj, out, n, err, errlen);
    free(objs);
    return rc;
}

int tc_backup_stat(tc_backup_dest *d, const char *name, tc_backup_meta *meta, char *err, size_t errlen)
{
    int rc = tc__bk_check_name(name, d->url, err, errlen);
    if (rc) return rc;
    char obj[TC__BK_MAX_OBJECT], what[TC_BACKUP_MAX_URL + 160];
    object_name(obj, name, TC__BK_MANIFEST_SUFFIX);
    snprintf(what, sizeof what, "%s/%s", d->url, obj);
    char *json = NULL;
    size_t len = 0;
    rc = d->ops->get_small(d, obj, &json, &len, err, errlen);
    if (rc == TC_BACKUP_ENOTFOUND) {
        tc__bk_errf(err, errlen, "%s: no backup named %s here (tricachectl backup list shows them)",
                    d->url, name);
    }
    if (rc) return rc;
    tc_backup_meta m;
    rc = tc__bk_manifest_decode(json, len, &m, what, err, errlen);
    free(json);
    if (!rc && strcmp(m.name, name) != 0) {
        tc__bk_errf(err, errlen, "%s: describes backup %s, not %s", what, m.name, name);
        rc = TC_BACKUP_ECORRUPT;
    }
    if (!rc) *meta = m;
    return rc;
}

/* ------------------------------------------------------------- fetching */

int tc_backup_fetch(tc_backup_dest *d, const tc_backup_meta *meta, const char *dir, char *path,
                    size_t pathlen, tc_backup_progress_fn progress, void *progress_ud, char *err,
                    size_t errlen)
{
    if (path && pathlen) path[0] = '\0';
    int rc = tc__bk_check_name(meta ? meta->name : NULL, d->url, err, errlen);
    if (rc) return rc;
    char obj[TC__BK_MAX_OBJECT], sha[65];
    uint64_t size = 0;
    object_name(obj, meta->name, TC__BK_SNAP_SUFFIX);
    rc = d->ops->fetch(d, obj, meta->size, dir, path, pathlen, progress, progress_ud, &size, sha,
                       err, errlen);
    if (rc) return rc;
    if (size != meta->size) {
        tc__bk_errf(err, errlen,
                    "%s/%s is %llu bytes but its manifest says %llu: the snapshot was damaged "
                    "or replaced; restore another backup",
                    d->url, obj, (unsigned long long)size, (unsigned long long)meta->size);
        rc = TC_BACKUP_ECORRUPT;
    } else if (strcmp(sha, meta->sha256) != 0) {
        tc__bk_errf(err, errlen,
                    "%s/%s: SHA-256 %.16s... differs from %.16s... in its manifest: the "
                    "snapshot was damaged or replaced; restore another backup",
                    d->url, obj, sha, meta->sha256);
        rc = TC_BACKUP_ECORRUPT;
    }
    if (rc) {
        d->ops->fetch_done(d, path);
        path[0] = '\0';
    }
    return rc;
}

void tc_backup_fetch_done(tc_backup_dest *d, const char *path)
{
    if (d && path && *path) d->ops->fetch_done(d, path);
}

/* ------------------------------------------------------------- removing */

static int delete_backup(tc_backup_dest *d, const char *name, int has_manifest, int has_snap,
                         char *err, size_t errlen)
{
    char obj[TC__BK_MAX_OBJECT];
    int rc = 0;
    if (has_manifest) {
        object_name(obj, name, TC__BK_MANIFEST_SUFFIX);
        rc = d->ops->remove(d, obj, err, errlen);
    }
    if (!rc && has_snap) {
        object_name(obj, name, TC__BK_SNAP_SUFFIX);
        rc = d->ops->remove(d, obj, err, errlen);
    }
    return rc == TC_BACKUP_ENOTFOUND ? 0 : rc; /* someone else was quicker */
}

int tc_backup_delete(tc_backup_dest *d, const char *name, char *err, size_t errlen)
{
    int rc = tc__bk_check_name(name, d->url, err, errlen);
    if (rc) return rc;
    char obj[TC__BK_MAX_OBJECT];
    object_name(obj, name, TC__BK_MANIFEST_SUFFIX);
    int has_manifest = d->ops->exists(d, obj, err, errlen);
    if (has_manifest < 0) return has_manifest;
    object_name(obj, name, TC__BK_SNAP_SUFFIX);
    int has_snap = d->ops->exists(d, obj, err, errlen);
    if (has_snap < 0) return has_snap;
    if (!has_manifest && !has_snap) {
        tc__bk_errf(err, errlen, "%s: no backup named %s here (tricachectl backup list shows them)",
                    d->url, name);
        return TC_BACKUP_ENOTFOUND;
    }
    return delete_backup(d, name, has_manifest, has_snap, err, errlen);
}

/* Snapshots without a manifest, older than the cutoff: uploads that died
 * between the snapshot and the manifest, or deletes cut short. */
static int prune_orphans(tc_backup_dest *d, const tc__bk_object *objs, size_t n, int64_t cutoff,
                         char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const tc__bk_object *o = &objs[i];
        if (!has_suffix(o->name, TC__BK_SNAP_SUFFIX) || o->mtime_ms >= cutoff) continue;
        char manifest[TC__BK_MAX_OBJECT];
        size_t blen = strlen(o->name) - strlen(TC__BK_SNAP_SUFFIX);
        snprintf(manifest, sizeof manifest, "%.*s%s", (int)blen, o->name, TC__BK_MANIFEST_SUFFIX);
        if (find_object(objs, n, manifest)) continue;
        int rc = d->ops->remove(d, o->name, err, errlen);
        if (rc && rc != TC_BACKUP_ENOTFOUND) return rc;
    }
    return 0;
}

/* Deletes, oldest first, every backup that has `retain` newer ones of the
 * same cluster (all clusters, each on its own, when cluster is NULL). */
static int prune_backups(tc_backup_dest *d, const tc_backup_meta *m, size_t n, const char *cluster,
                         unsigned retain, unsigned *deleted, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (cluster && strcmp(m[i].cluster, cluster) != 0) continue;
        size_t newer = 0;
        for (size_t k = i + 1; k < n && newer < retain; k++)
            if (strcmp(m[k].cluster, m[i].cluster) == 0) newer++;
        if (newer < retain) continue;
        int rc = delete_backup(d, m[i].name, 1, 1, err, errlen);
        if (rc) return rc;
        if (deleted) (*deleted)++;
    }
    return 0;
}

int tc_backup_prune(tc_backup_dest *d, const char *cluster, unsigned retain, unsigned *deleted,
                    char *err, size_t errlen)
{
    if (deleted) *deleted = 0;
    tc__bk_errf(err, errlen, "%s", "");
    if (retain == 0) {
        tc__bk_errf(err, errlen, "%s: retain must be at least 1: prune never removes every backup",
                    d->url);
        return TC_BACKUP_EINVAL;
    }
    tc__bk_object *objs = NULL;
    size_t nobj = 0;
    int rc = d->ops->list(d, &objs, &nobj, err, errlen);
    if (rc == TC_BACKUP_ENOTFOUND) {
        tc__bk_errf(err, errlen, "%s", "");
        return 0; /* no folder yet: nothing to prune */
    }
    if (rc) return rc;
    tc_backup_meta *metas = NULL;
    size_t n = 0;
    char listing[TC_BACKUP_ERRLEN] = "";
    rc = collect(d, objs, nobj, &metas, &n, listing, sizeof listing);
    if (rc == TC_BACKUP_ECORRUPT) rc = 0; /* unreadable manifests are kept, not counted */
    int64_t cutoff = d->now_ms() - TC__BK_ABANDONED_MS;
    if (!rc) rc = prune_backups(d, metas, n, cluster, retain, deleted, err, errlen);
    if (!rc) rc = prune_orphans(d, objs, nobj, cutoff, err, errlen);
    if (!rc) rc = d->ops->prune_leftovers(d, cutoff, err, errlen);
    if (!rc || !err || !err[0]) tc__bk_errf(err, errlen, "%s", listing);
    free(metas);
    free(objs);
    return rc;
}
