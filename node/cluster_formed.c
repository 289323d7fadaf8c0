/* The "cluster has formed" record (see cluster_formed.h). */
#include "cluster_formed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

static void record_path(const tc_server *s, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->data_dir, TC_CLUSTER_FORMED_FILE);
}

void tc_cluster_formed_load(tc_server *s)
{
    char path[sizeof s->data_dir + 32];
    record_path(s, path, sizeof path);
    s->cluster_formed = access(path, F_OK) == 0;
}

/* The record being written, off the event loop: its fsyncs take as long as
 * the disk wants (seconds on a throttled one), and the loop must keep
 * answering clients and sending heartbeats meanwhile. If the node stops
 * first, the TCFORMED entry is applied again at the next start. */
typedef struct record_write {
    uv_work_t req;
    char dir[sizeof ((tc_server *)0)->data_dir];
    char path[sizeof ((tc_server *)0)->data_dir + 32];
    char text[600];
    char summary[512];
    char err[sizeof ((tc_server *)0)->data_dir + 128];
    int rc;
} record_write;

/* Written to a temporary name, fsync'd, renamed, and the directory
 * fsync'd: a crash leaves the record whole or absent. */
static int write_record(const char *dir, const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[sizeof ((record_write *)0)->path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e ? e : EIO;
        goto fail;
    }
    close(fd);
    if (rename(tmp, path) != 0) goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

static void record_work(uv_work_t *req)
{
    record_write *w = req->data;
    w->rc = write_record(w->dir, w->path, w->text, w->err, sizeof w->err);
}

static void record_done(uv_work_t *req, int status)
{
    record_write *w = req->data;
    if (status != 0) snprintf(w->err, sizeof w->err, "%s: not written (%s)", w->path, uv_strerror(status));
    if (status != 0 || w->rc != 0)
        tc_warn("cannot record that the cluster has formed (%s): a founding node restarted on an empty data "
                "directory can then only be recognised while a primary is reachable",
                w->err);
    else tc_notice("the cluster has formed (%s): a founding node that loses its data must rejoin as a new member",
                   w->summary);
    free(w);
}

void tc_cmd_tcformed(tc_ctx *c)
{
    tc_server *s = c->srv;
    char text[512];
    size_t off = 0;
    for (size_t i = 1; i < c->argc; i++) {
        long long id;
        if (tc_parse_ll(c->argv[i].p, c->argv[i].len, &id) != 0 || id < 1 || id > 65535) {
            tc_reply_error(c->r, "ERR TCFORMED wants node ids between 1 and 65535");
            return;
        }
        off += (size_t)snprintf(text + off, sizeof text - off, "%s%lld", i > 1 ? " " : "founding voters: ", id);
        if (off >= sizeof text - 64) break;
    }
    if (s->cluster_formed) { /* a second primary's note of the same fact */
        tc_reply_ok(c->r);
        return;
    }
    s->cluster_formed = 1; /* also when the record cannot be written: this run knows */
    if (!s->data_dir[0]) { /* no data directory: a unit test's server */
        tc_reply_ok(c->r);
        return;
    }
    record_write *w = calloc(1, sizeof *w);
    if (!w) {
        tc_warn("cannot record that the cluster has formed: out of memory");
        tc_reply_ok(c->r);
        return;
    }
    char when[40];
    time_t t = (time_t)(c->now_ms / 1000);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
    snprintf(w->text, sizeof w->text, "%s; formed at %s (log clock)\n", text, when);
    snprintf(w->summary, sizeof w->summary, "%s", text);
    snprintf(w->dir, sizeof w->dir, "%s", s->data_dir);
    record_path(s, w->path, sizeof w->path);
    w->req.data = w;
    if (uv_queue_work(s->loop, &w->req, record_work, record_done) != 0) {
        tc_warn("cannot record that the cluster has formed: the thread pool refused the work");
        free(w);
    }
    tc_reply_ok(c->r);
}
