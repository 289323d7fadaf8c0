/* tricachectl keys: the cluster's encryption keys, one file per key in a key
 * folder (keys_dir of cluster.toml). The newest key encrypts new data; every
 * key decrypts, so old keys stay as long as data encrypted with them does. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_commands.h"
#include "snapshot.h"

/* The folder the command works on: --dir, else keys_dir of cluster.toml. */
static const char *key_folder(const ctl_cluster *cl, const ctl_backup_args *a, const char *sub)
{
    if (a->dir) return a->dir;
    if (cl->cfg.nnodes == 0) {
        fprintf(stderr, "tricachectl: keys %s: no --dir and no cluster.toml to take keys_dir from\n"
                        "  hint: tricachectl keys %s --dir /etc/tricache/keys\n", sub, sub);
        return NULL;
    }
    if (!cl->cfg.keys_dir[0]) {
        fprintf(stderr, "tricachectl: keys %s: keys_dir is not set in %s\n"
                        "  hint: pass the key folder with --dir DIR, or set keys_dir in %s\n",
                sub, cl->cfg.path, cl->cfg.path);
        return NULL;
    }
    return cl->cfg.keys_dir;
}

static void absolute(const char *path, char *out, size_t len)
{
    char buf[PATH_MAX];
    if (realpath(path, buf)) snprintf(out, len, "%s", buf);
    else snprintf(out, len, "%s", path);
}

static int generate(const char *dir)
{
    tc_snapshot_keydir *kd = calloc(1, sizeof *kd);
    if (!kd) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    char err[TC_SNAPSHOT_ERRLEN];
    uint32_t id = 0;
    int rc = tc_snapshot_keydir_generate(kd, dir, &id, err, sizeof err);
    tc_snapshot_keydir_clear(kd);
    free(kd);
    if (rc != 0) {
        fprintf(stderr, "tricachectl: keys generate: %s\n", err);
        if (rc == TC_SNAPSHOT_EKEYFILE)
            fprintf(stderr, "  hint: every key-<id>.tckey of %s must be intact and readable by its owner only "
                            "(chmod 600); nothing was created\n", dir);
        return CTL_EXIT_CLUSTER;
    }
    char adir[PATH_MAX], path[PATH_MAX + 32];
    absolute(dir, adir, sizeof adir);
    snprintf(path, sizeof path, "%s/key-%u.tckey", adir, id);
    printf("created key %u: %s\n", id, path);
    printf("key %u is now the newest key of %s: once the nodes have loaded it, they encrypt new snapshots\n"
           "and backups with it (older keys still decrypt what they encrypted).\n", id, adir);
    printf("next:\n"
           "  1. copy %s to the keys_dir of every node (mode 0600, owned by the user tricache runs as),\n"
           "     then restart the nodes one at a time so they load it;\n"
           "  2. keep a safe copy somewhere else: backups encrypted with key %u cannot be read without it,\n"
           "     and losing it makes them unreadable for good.\n",
           path, id);
    return CTL_EXIT_OK;
}

static int list(const char *dir)
{
    tc_snapshot_keydir *kd = calloc(1, sizeof *kd);
    if (!kd) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    char err[TC_SNAPSHOT_ERRLEN];
    int rc = tc_snapshot_keydir_load(kd, dir, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "tricachectl: keys list: %s\n", err);
        if (!strstr(err, "chmod"))
            fprintf(stderr, "  hint: key files must be intact and readable by their owner only (chmod 600 %s/key-*.tckey)\n",
                    dir);
        free(kd);
        return CTL_EXIT_CLUSTER;
    }
    char adir[PATH_MAX];
    absolute(dir, adir, sizeof adir);
    if (kd->n == 0) {
        printf("no keys in %s\n", adir);
        printf("  create one with: tricachectl keys generate --dir %s\n", adir);
    } else {
        const tc_snapshot_key *newest = tc_snapshot_keydir_newest(kd);
        printf("%-6s %-40s %s\n", "ID", "FILE", "USE");
        for (size_t i = 0; i < kd->n; i++) {
            char file[64];
            snprintf(file, sizeof file, "key-%u.tckey", kd->keys[i].id);
            printf("%-6u %-40s %s\n", kd->keys[i].id, file,
                   &kd->keys[i] == newest ? "newest: encrypts new data, decrypts" : "decrypts");
        }
        printf("%zu key%s in %s; key %u encrypts new data\n", kd->n, kd->n == 1 ? "" : "s", adir, newest->id);
    }
    tc_snapshot_keydir_clear(kd);
    free(kd);
    return CTL_EXIT_OK;
}

int ctl_cmd_keys(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "generate") == 0) {
        if (!a->dir) {
            fprintf(stderr, "tricachectl: keys generate needs --dir DIR, the folder to create the key in\n");
            return CTL_EXIT_USAGE;
        }
        return generate(a->dir);
    }
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        const char *dir = key_folder(cl, a, "list");
        return dir ? list(dir) : CTL_EXIT_USAGE;
    }
    fprintf(stderr, "tricachectl: keys wants generate --dir DIR | list [--dir DIR]\n");
    return CTL_EXIT_USAGE;
}
