/* Backups in a local folder (file:///path). Every object is written as
 * "<obj>.tmp", fsynced, renamed into place and the folder fsynced, so a
 * crash leaves either nothing or a complete object under the real name;
 * since the manifest is written the same way and last, a listed backup is
 * always complete on disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_internal.h"

typedef struct file_dest {
    char dir[PATH_MAX];
} file_dest;

typedef struct file_upload {
    int fd;
    char tmp[PATH_MAX];
    char path[PATH_MAX];
} file_upload;

static const char *hint(int e)
{
    switch (e) {
    case ENOSPC: case EDQUOT: return "; the disk is full";
    case EACCES: case EPERM: return "; check the folder's owner and permissions";
    case EROFS: return "; the file system is read-only";
    default: return "";
    }
}

static int fail(char *err, size_t errlen, const char *path, const char *op, int e)
{
    tc__bk_errf(err, errlen, "file://%s: %s failed: %s%s", path, op, strerror(e), hint(e));
    return e == ENOENT ? TC_BACKUP_ENOTFOUND : e == ENOMEM ? TC_BACKUP_ENOMEM : TC_BACKUP_EIO;
}

static void join(char *out, const file_dest *f, const char *obj, const char *suffix)
{
    /* tc__bk_file_open made sure the longest object name fits. */
    tc__bk_fmt(out, PATH_MAX, "%s/%s%s", strcmp(f->dir, "/") ? f->dir : "", obj, suffix);
}

/* mkdir -p with mode 0700: backups hold the whole keyspace. */
static int ensure_dir(const file_dest *f, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", f->dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) return fail(err, errlen, path, "mkdir", errno);
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(f->dir, &st) < 0) return fail(err, errlen, f->dir, "stat", errno);
    if (!S_ISDIR(st.st_mode)) return fail(err, errlen, f->dir, "using the folder", ENOTDIR);
    return 0;
}

static int fsync_dir(const file_dest *f, char *err, size_t errlen)
{
    int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, f->dir, "open", errno);
    int rc = fsync(fd) < 0 ? fail(err, errlen, f->dir, "fsync", errno) : 0;
    close(fd);
    return rc;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync, close, rename tmp -> path, fsync the folder. Closes fd always. */
static int commit_file(const file_dest *f, int fd, const char *tmp, const char *path, char *err,
                       size_t errlen)
{
    int rc = 0;
    if (fsync(fd) < 0) rc = fail(err, errlen, tmp, "fsync", errno);
    if (close(fd) < 0 && !rc) rc = fail(err, errlen, tmp, "close", errno);
    if (!rc && rename(tmp, path) < 0) rc = fail(err, errlen, path, "rename", errno);
    if (!rc) rc = fsync_dir(f, err, errlen);
    if (rc) unlink(tmp);
    return rc;
}

/* ------------------------------------------------------------- uploads */

static int upload_begin(tc_backup_upload *u, char *err, size_t errlen)
{
    file_dest *f = u->d->impl;
    int rc = ensure_dir(f, err, errlen);
    if (rc) return rc;
    file_upload *fu = malloc(sizeof *fu);
    if (!fu) return fail(err, errlen, f->dir, "malloc", ENOMEM);
    join(fu->path, f, u->name, TC__BK_SNAP_SUFFIX);
    join(fu->tmp, f, u->name, TC__BK_SNAP_SUFFIX TC__BK_TMP_SUFFIX);
    fu->fd = open(fu->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fu->fd < 0) {
        rc = fail(err, errlen, fu->tmp, "create", errno);
        free(fu);
        return rc;
    }
    u->impl = fu;
    return 0;
}

static int upload_write(tc_backup_upload *u, const void *buf, size_t len, char *err, size_t errlen)
{
    file_upload *fu = u->impl;
    int e = write_all(fu->fd, buf, len);
    return e ? fail(err, errlen, fu->tmp, "write", e) : 0;
}

static int upload_end(tc_backup_upload *u, int commit, char *err, size_t errlen)
{
    file_upload *fu = u->impl;
    int rc = 0;
    if (!fu) return 0;
    if (commit) {
        rc = commit_file(u->d->impl, fu->fd, fu->tmp, fu->path, err, errlen);
    } else {
        close(fu->fd);
        unlink(fu->tmp);
    }
    free(fu);
    u->impl = NULL;
    return rc;
}

/* ------------------------------------------------------------- objects */

static int put_small(tc_backup_dest *d, const char *obj, const void *data, size_t len, char *err,
                     size_t errlen)
{
    file_dest *f = d->impl;
    char path[PATH_MAX], tmp[PATH_MAX];
    int rc = ensure_dir(f, err, errlen);
    if (rc) return rc;
    join(path, f, obj, "");
    join(tmp, f, obj, TC__BK_TMP_SUFFIX);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail(err, errlen, tmp, "create", errno);
    int e = write_all(fd, data, len);
    if (e) {
        close(fd);
        unlink(tmp);
        return fail(err, errlen, tmp, "write", e);
    }
    return commit_file(f, fd, tmp, path, err, errlen);
}

static int get_small(tc_backup_dest *d, const char *obj, char **data, size_t *len, char *err,
                     size_t errlen)
{
    char path[PATH_MAX];
    join(path, d->impl, obj, "");
    *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, path, "open", errno);
    /* Read up to one byte more than a manifest may hold, so a larger file
     * is recognized without reading it all. */
    char *buf = malloc(TC__BK_MANIFEST_MAX + 1);
    size_t n = 0;
    int rc = buf ? 0 : fail(err, errlen, path, "malloc", ENOMEM);
    while (!rc && n < TC__BK_MANIFEST_MAX + 1) {
        ssize_t got = read(fd, buf + n, TC__BK_MANIFEST_MAX + 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) rc = fail(err, errlen, path, "read", errno);
        if (got <= 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (!rc && n > TC__BK_MANIFEST_MAX) {
        tc__bk_errf(err, errlen, "file://%s: larger than %d bytes, not a manifest", path,
                    TC__BK_MANIFEST_MAX);
        rc = TC_BACKUP_ECORRUPT;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

static int add_object(tc__bk_object **objs, size_t *n, size_t *cap, const char *name,
                      const struct stat *st)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        tc__bk_object *g = realloc(*objs, nc * sizeof *g);
        if (!g) return -1;
        *objs = g;
        *cap = nc;
    }
    tc__bk_object *o = &(*objs)[(*n)++];
    tc__bk_fmt(o->name, sizeof o->name, "%s", name); /* length checked by the caller */
    o->size = (uint64_t)st->st_size;
    o->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    return 0;
}

static int list(tc_backup_dest *d, tc__bk_object **objs, size_t *n, char *err, size_t errlen)
{
    file_dest *f = d->impl;
    *objs = NULL;
    *n = 0;
    DIR *dir = opendir(f->dir);
    if (!dir && errno == ENOENT) {
        tc__bk_errf(err, errlen, "%s: the folder does not exist (the first backup creates it)",
                    d->url);
        return TC_BACKUP_ENOTFOUND;
    }
    if (!dir) return fail(err, errlen, f->dir, "opendir", errno);
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(dir))) {
        struct stat st;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= TC__BK_MAX_OBJECT) continue;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* raced */
        if (!S_ISREG(st.st_mode)) continue;
        if (add_object(objs, n, &cap, e->d_name, &st) < 0) rc = fail(err, errlen, f->dir, "malloc", ENOMEM);
    }
    closedir(dir);
    if (rc) {
        free(*objs);
        *objs = NULL;
        *n = 0;
    }
    return rc;
}

static int exists(tc_backup_dest *d, const char *obj, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    join(path, d->impl, obj, "");
    if (stat(path, &st) == 0) return 1;
    if (errno == ENOENT) return 0;
    return fail(err, errlen, path, "stat", errno);
}

static int remove_object(tc_backup_dest *d, const char *obj, char *err, size_t errlen)
{
    char path[PATH_MAX];
    join(path, d->impl, obj, "");
    if (unlink(path) < 0) return fail(err, errlen, path, "unlink", errno);
    return fsync_dir(d->impl, err, errlen);
}

/* The backup is already a local file: hash it in place. */
static int fetch(tc_backup_dest *d, const char *obj, uint64_t total, const char *dir, char *path,
                 size_t pathlen, tc_backup_progress_fn progress, void *progress_ud, uint64_t *size,
                 char sha256[65], char *err, size_t errlen)
{
    (void)dir;
    char full[PATH_MAX];
    join(full, d->impl, obj, "");
    if (!path || strlen(full) >= pathlen) {
        tc__bk_errf(err, errlen, "file://%s: the caller's path buffer is too small", full);
        return TC_BACKUP_EINVAL;
    }
    int rc = tc__bk_hash_file(full, total, progress, progress_ud, size, sha256, err, errlen);
    if (rc == TC_BACKUP_ENOTFOUND) {
        tc__bk_errf(err, errlen, "file://%s: missing, although its manifest exists; delete this backup",
                    full);
    }
    if (!rc) snprintf(path, pathlen, "%s", full);
    return rc;
}

static void fetch_done(tc_backup_dest *d, const char *path)
{
    (void)d; /* the path is the backup itself: keep it */
    (void)path;
}

/* Temporary files of uploads that died. */
static int prune_leftovers(tc_backup_dest *d, int64_t cutoff_ms, char *err, size_t errlen)
{
    tc__bk_object *objs;
    size_t n;
    int rc = list(d, &objs, &n, err, errlen);
    if (rc) return rc == TC_BACKUP_ENOTFOUND ? 0 : rc;
    size_t k = strlen(TC__BK_TMP_SUFFIX);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len = strlen(objs[i].name);
        if (len <= k || strcmp(objs[i].name + len - k, TC__BK_TMP_SUFFIX) != 0) continue;
        if (objs[i].mtime_ms >= cutoff_ms) continue;
        rc = remove_object(d, objs[i].name, err, errlen);
        if (rc == TC_BACKUP_ENOTFOUND) rc = 0;
    }
    free(objs);
    return rc;
}

static void close_dest(tc_backup_dest *d)
{
    free(d->impl);
    d->impl = NULL;
}

static const tc__bk_ops file_ops = {
    .upload_begin = upload_begin,
    .upload_write = upload_write,
    .upload_end = upload_end,
    .put_small = put_small,
    .get_small = get_small,
    .list = list,
    .exists = exists,
    .remove = remove_object,
    .fetch = fetch,
    .fetch_done = fetch_done,
    .prune_leftovers = prune_leftovers,
    .close = close_dest,
};

int tc__bk_file_open(tc_backup_dest *d, const char *dir, char *err, size_t errlen)
{
    /* Room for "/<name>.manifest.tmp" after the folder. */
    if (strlen(dir) + TC__BK_MAX_OBJECT + 8 >= PATH_MAX) {
        tc__bk_errf(err, errlen, "%s: the folder's path is too long", d->url);
        return TC_BACKUP_EINVAL;
    }
    file_dest *f = malloc(sizeof *f);
    if (!f) {
        tc__bk_errf(err, errlen, "%s: out of memory", d->url);
        return TC_BACKUP_ENOMEM;
    }
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    d->ops = &file_ops;
    d->impl = f;
    return 0;
}
