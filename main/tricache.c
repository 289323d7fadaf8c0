/* tricache --config FILE --node ID
 *
 * The program's assembly point: the node (node/), Raft replication (raft/
 * over replication/) when the configuration has more than one node, and
 * the node's backups (backup/) — each layer is handed what it needs from
 * the others here, so that none of them reaches up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup_job.h"
#include "config.h"
#include "lazyfree.h"
#include "log.h"
#include "raft_node.h"
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tricache --config FILE --node ID [--check]\n"
            "       tricache --version | --help\n"
            "\n"
            "  --config FILE  the cluster's cluster.toml (see cluster.toml.example)\n"
            "  --node ID      which [[node]] of that file this process is\n"
            "  --check        validate the configuration and exit\n");
}

/* ---- what the backup job asks of Raft ------------------------------------ */

static void backup_position(void *ud, uint64_t *index, uint64_t *term, const tc_apply_state **apply)
{
    tc_raftnode_position(ud, index, term, apply);
}

static int backup_is_primary(void *ud) { return tc_raftnode_role(ud) == TC_ROLE_PRIMARY; }

static int backup_pick_node(void *ud) { return tc_raftnode_most_caught_up(ud); }

static int backup_submit(void *ud, size_t argc, const tc_slice *argv)
{
    return tc_raftnode_submit_command(ud, argc, argv);
}

static const tc_node_conf *backup_primary(void *ud) { return tc_raftnode_primary(ud); }

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "tricache: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

/* Leaves why this start was refused in the data directory, for tricachectl
 * status to show beside "unreachable" (NULL: it started; the note goes). */
static void note_startup_error(const char *dir, const char *why)
{
    char path[TC_CONFIG_MAX_STR * 2 + 32];
    snprintf(path, sizeof path, "%s/%s", dir, TC_STARTUP_ERROR_FILE);
    if (!why) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "w");
    if (!f) return; /* the reason is on stderr anyway */
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
    fprintf(f, "%s: %s\n", when, why);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *node_arg = NULL;
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("tricache %s (Redis %s compatible)\n", TC_VERSION, TC_REDIS_COMPAT_VERSION);
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            check_only = 1;
        } else if (strcmp(a, "--config") == 0 || strcmp(a, "--node") == 0) {
            if (i + 1 >= argc) return bad_usage("option %s needs a value", a);
            if (a[2] == 'c') config_path = argv[++i];
            else node_arg = argv[++i];
        } else {
            return bad_usage("unknown option '%s'", a);
        }
    }
    if (!config_path) return bad_usage("%s", "--config FILE is required");
    if (!node_arg && !check_only) return bad_usage("%s", "--node ID is required");

    static tc_config cfg; /* large: keep it off the stack */
    char err[2048];
    if (tc_config_load(&cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int node_id = 0;
    if (node_arg) {
        long long v; /* digits only: no sign, spaces or leading zeros */
        if (tc_parse_ll(node_arg, strlen(node_arg), &v) != 0 || v < 1 || v > 65535)
            return bad_usage("--node wants a node id between 1 and 65535, got '%s'", node_arg);
        node_id = (int)v;
    }
    tc_log_set_level(cfg.log_level);
    static tc_server server;
    if (node_id && tc_server_init(&server, &cfg, node_id, err, sizeof err) != 0) {
        fprintf(stderr, "tricache: %s\n", err);
        return 1;
    }
    /* Keys first: a node that cannot read its keys must not start serving. */
    static tc_snapshot_keydir keys;
    if (cfg.keys_dir[0] && tc_snapshot_keydir_load(&keys, cfg.keys_dir, err, sizeof err) != 0) {
        fprintf(stderr, "tricache: keys_dir: %s\n", err);
        if (node_id) tc_server_free(&server);
        return 1;
    }
    if (cfg.at_rest_encryption && !tc_snapshot_keydir_newest(&keys)) {
        fprintf(stderr,
                "tricache: at_rest_encryption = true but keys_dir %s holds no key file (key-<id>.tckey); "
                "create one with: tricachectl keys generate --dir %s, and copy it to every node\n",
                cfg.keys_dir, cfg.keys_dir);
        if (node_id) tc_server_free(&server);
        return 1;
    }
    if (check_only) {
        printf("%s: OK (%zu nodes)\n", config_path, cfg.nnodes);
        if (node_id) tc_server_free(&server);
        return 0;
    }
    /* Big values are freed by a thread of their own (node/lazyfree.h). */
    if (tc_lazyfree_start() != 0) fprintf(stderr, "tricache: no background free thread; big values are freed inline\n");
    if (tc_server_open(&server, err, sizeof err) != 0) {
        fprintf(stderr, "tricache: %s\n", err);
        tc_server_free(&server);
        return 1;
    }
    /* More than one node: replicate through Raft. A single node runs alone,
     * with nothing to replicate to. */
    static tc_raftnode raftnode;
    if (cfg.nnodes > 1 && tc_raftnode_start(&raftnode, &server, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "tricache: %s\n", err);
        note_startup_error(server.data_dir, err);
        return 1;
    }
    note_startup_error(server.data_dir, NULL);
    static tc_backup_job backups;
    tc_backup_job_ops ops = {.ud = &raftnode, .position = backup_position, .is_primary = backup_is_primary,
                             .pick_node = backup_pick_node, .submit = backup_submit,
                             .primary = backup_primary};
    if (tc_backup_job_init(&backups, &server, &keys, cfg.nnodes > 1 ? &ops : NULL) != 0) {
        fprintf(stderr, "tricache: cannot start the backup timer\n");
        return 1;
    }
    tc_server_loop(&server);
    tc_backup_job_stop(&backups);
    tc_server_free(&server);
    tc_lazyfree_stop(); /* after the keyspace went: it frees what that queued, then joins */
    return 0;
}
