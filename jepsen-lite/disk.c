/* The disk nemesis's ground: each node's data directory on a tmpfs of its
 * own (mounted by the runner, as root), so one node's disk can be made full
 * with a ballast file and emptied again without touching the others. A full
 * data directory is what issue 17 is about: the node must say so, refuse
 * writes with -MISCONF, hand leadership over, and recover by itself once
 * the ballast is gone. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#define DISK_SIZE "64m" /* a few segments of libraft (8 MB each) and the snapshots */
#define CHUNK (1 << 20)

static void ballast_path(const jl_cluster *c, int i, char *out, size_t len) {
    snprintf(out, len, "%s/ballast", c->disk_dir[i]);
}

int jl_disk_setup(jl_cluster *c, char *err, size_t errlen) {
    char data[sizeof c->dir + 8];
    snprintf(data, sizeof data, "%s/data", c->dir);
    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", data, strerror(errno));
        return -1;
    }
    for (int i = 0; i < c->n; i++) {
        snprintf(c->disk_dir[i], sizeof c->disk_dir[i], "%s/node-%d", data, c->nodes[i].id);
        if (mkdir(c->disk_dir[i], 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", c->disk_dir[i], strerror(errno));
            return -1;
        }
        if (mount("tmpfs", c->disk_dir[i], "tmpfs", MS_NOSUID | MS_NODEV, "size=" DISK_SIZE ",mode=0700") != 0) {
            snprintf(err, errlen, "cannot mount a tmpfs on %s (the disk nemesis needs root): %s", c->disk_dir[i],
                     strerror(errno));
            return -1;
        }
        c->disk_mounted[i] = true;
    }
    return 0;
}

int jl_disk_fill(jl_cluster *c, int i) {
    char path[sizeof c->disk_dir[0] + 16];
    ballast_path(c, i, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char *buf = calloc(1, CHUNK);
    if (!buf) {
        close(fd);
        return -1;
    }
    /* Until the filesystem is full: the node's next log write fails. */
    for (;;) {
        ssize_t n = write(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < CHUNK)
            break;
    }
    free(buf);
    close(fd);
    return 0;
}

void jl_disk_heal(jl_cluster *c, int i) {
    if (!c->disk_mounted[i])
        return;
    char path[sizeof c->disk_dir[0] + 16];
    ballast_path(c, i, path, sizeof path);
    unlink(path);
}

int jl_disk_teardown(jl_cluster *c) {
    int rc = 0;
    for (int i = 0; i < c->n; i++) {
        if (!c->disk_mounted[i])
            continue;
        jl_disk_heal(c, i);
        if (umount2(c->disk_dir[i], MNT_DETACH) != 0) {
            fprintf(stderr, "jepsen-lite: cannot unmount %s: %s\n", c->disk_dir[i], strerror(errno));
            rc = -1;
            continue;
        }
        c->disk_mounted[i] = false;
    }
    return rc;
}
