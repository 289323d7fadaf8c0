/* Snapshots as local files: the writer goes to "<path>.tmp" and is renamed
 * into place only once complete and on disk, so a crash or a full disk
 * never leaves a half-written file under the real name. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot_internal.h"

typedef struct file_sink {
    int fd;
    int committed;
    char *path;
    char *tmp;
} file_sink;

static int write_fd(void *ud, const void *buf, size_t len)
{
    const file_sink *s = ud;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_fd(void *ud, void *buf, size_t len, size_t *got)
{
    const int *fd = ud;
    for (;;) {
        ssize_t n = read(*fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            *got = 0;
            return -errno;
        }
        *got = (size_t)n;
        return 0;
    }
}

/* Makes a rename durable: the new directory entry must reach the disk too. */
static int fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return -ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int commit(tc_snapshot_writer *w)
{
    file_sink *s = w->owner;
    const char *step = "fsync";
    int rc = 0;
    if (fsync(s->fd) < 0) rc = -errno;
    int fd = s->fd;
    s->fd = -1;
    if (close(fd) < 0 && !rc) {
        rc = -errno;
        step = "close";
    }
    if (!rc && rename(s->tmp, s->path) < 0) {
        rc = -errno;
        step = "rename";
    }
    if (!rc) {
        s->committed = 1;
        rc = fsync_dir_of(s->path);
        step = "fsync of the directory";
    }
    if (rc) {
        tc__snap_errf(w->err, sizeof w->err, "%s: %s failed: %s", s->committed ? s->path : s->tmp,
                      step, strerror(-rc));
        w->err_code = TC_SNAPSHOT_EIO;
        return TC_SNAPSHOT_EIO;
    }
    return 0;
}

static void release(tc_snapshot_writer *w)
{
    file_sink *s = w->owner;
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (!s->committed) unlink(s->tmp);
    free(s->path);
    free(s->tmp);
    free(s);
    w->owner = NULL;
}

int tc_snapshot_create_file(tc_snapshot_writer **out, const char *path,
                            const tc_snapshot_writer_opts *opts, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || !opts) {
        tc__snap_errf(err, errlen, "snapshot: a path and options are required");
        return TC_SNAPSHOT_EINVAL;
    }
    file_sink *s = calloc(1, sizeof *s);
    size_t n = strlen(path);
    if (s) {
        s->fd = -1;
        s->path = strdup(path);
        s->tmp = malloc(n + 5);
    }
    if (!s || !s->path || !s->tmp) {
        if (s) {
            free(s->path);
            free(s->tmp);
        }
        free(s);
        tc__snap_errf(err, errlen, "%s: out of memory", path);
        return TC_SNAPSHOT_ENOMEM;
    }
    memcpy(s->tmp, path, n);
    memcpy(s->tmp + n, ".tmp", 5);
    /* O_TRUNC, not O_EXCL: a .tmp left by a crashed writer is garbage. */
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        tc__snap_errf(err, errlen, "%s: cannot create: %s", s->tmp, strerror(errno));
        free(s->path);
        free(s->tmp);
        free(s);
        return TC_SNAPSHOT_EIO;
    }
    tc_snapshot_writer_opts o = *opts;
    if (!o.name) o.name = path;
    tc_snapshot_writer *w;
    int rc = tc_snapshot_writer_new(&w, &o, write_fd, s, err, errlen);
    if (rc) {
        close(s->fd);
        unlink(s->tmp);
        free(s->path);
        free(s->tmp);
        free(s);
        return rc;
    }
    w->owner = s;
    w->on_finish = commit;
    w->on_free = release;
    *out = w;
    return 0;
}

static void close_reader_fd(tc_snapshot_reader *r)
{
    int *fd = r->owner;
    if (!fd) return;
    close(*fd);
    free(fd);
    r->owner = NULL;
}

static int open_fd(const char *path, int **out, char *err, size_t errlen)
{
    int *fd = malloc(sizeof *fd);
    if (!fd) {
        tc__snap_errf(err, errlen, "%s: out of memory", path);
        return TC_SNAPSHOT_ENOMEM;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        tc__snap_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        free(fd);
        return TC_SNAPSHOT_EIO;
    }
    posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *out = fd;
    return 0;
}

int tc_snapshot_open_file(tc_snapshot_reader **out, const char *path,
                          const tc_snapshot_reader_opts *opts, char *err, size_t errlen)
{
    *out = NULL;
    int *fd;
    int rc = open_fd(path, &fd, err, errlen);
    if (rc) return rc;
    tc_snapshot_reader_opts o = {0};
    if (opts) o = *opts;
    if (!o.name) o.name = path;
    rc = tc_snapshot_reader_new(out, &o, read_fd, fd, err, errlen);
    if (rc) {
        close(*fd);
        free(fd);
        return rc;
    }
    (*out)->owner = fd;
    (*out)->on_free = close_reader_fd;
    return 0;
}

int tc_snapshot_verify_file(const char *path, const tc_snapshot_reader_opts *opts,
                            tc_snapshot_info *info, tc_snapshot_stats *st, char *err,
                            size_t errlen)
{
    int *fd;
    int rc = open_fd(path, &fd, err, errlen);
    if (rc) return rc;
    tc_snapshot_reader_opts o = {0};
    if (opts) o = *opts;
    if (!o.name) o.name = path;
    rc = tc_snapshot_verify(read_fd, fd, &o, info, st, err, errlen);
    close(*fd);
    free(fd);
    return rc;
}
