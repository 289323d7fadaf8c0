/* tricachectl auth rotate --new-token-file F | auth set --token-file F:
 * the default user's token changed on every node through the log, without
 * locking out connected clients (README "Token rotation").
 *
 * rotate adds the new token beside the old one (ACL SETUSER default
 * #<sha256>); set, once clients moved, leaves only it (resetpass #<sha256>).
 * Only the hash is sent: the token never reaches the log or a snapshot. Both
 * wait until every reachable node answers AUTH with the new token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "ctl_commands.h"

#define AUTH_WAIT_MS 10000LL

/* The token of a file: its first line, 1 to 255 printable characters
 * without spaces (what auth_token accepts). 0, or -1 with a message. */
static int read_token(const char *file, char *out, size_t outlen)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "tricachectl: auth: cannot read %s: %s\n", file, strerror(errno));
        return -1;
    }
    char line[512];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    int ok = n >= 1 && n < outlen && n <= 255;
    for (size_t i = 0; ok && i < n; i++) ok = line[i] > ' ' && line[i] <= '~';
    if (!ok) {
        fprintf(stderr,
                "tricachectl: auth: %s must hold the token on its first line: 1 to 255 printable characters "
                "without spaces\n",
                file);
        return -1;
    }
    memcpy(out, line, n + 1);
    return 0;
}

/* Connects to node n: with cluster.toml's auth_token, or failing that with
 * the new token (a rerun after auth set). */
static int open_node(const ctl_cluster *cl, const tc_node_conf *n, const char *token, tc_rc *c)
{
    if (ctl_node_open(cl, n, c) == 0) return 0;
    if (ctl_node_connect(cl, n, c) != 0) return -1;
    const char *argv[] = {"AUTH", token};
    tc_rc_reply r;
    int rc = tc_rc_command(c, &r, 2, argv, NULL);
    if (rc == 0 && r.type != TC_RC_STATUS) {
        snprintf(c->err, sizeof c->err, "AUTH refused with both cluster.toml's auth_token and the new token");
        rc = -1;
    }
    tc_rc_reply_free(&r);
    if (rc != 0) tc_rc_close(c);
    return rc;
}

/* 1 if node n accepts AUTH default token now, 0 if it refuses, -1 unreachable. */
static int node_accepts(const ctl_cluster *cl, const tc_node_conf *n, const char *token)
{
    tc_rc c = TC_RC_CLOSED;
    tc_rc_init(&c);
    if (ctl_node_connect(cl, n, &c) != 0) return -1;
    const char *argv[] = {"AUTH", "default", token};
    tc_rc_reply r;
    int rc = tc_rc_command(&c, &r, 3, argv, NULL);
    int ok = rc == 0 ? r.type == TC_RC_STATUS : -1;
    if (rc == 0) tc_rc_reply_free(&r);
    tc_rc_close(&c);
    return ok;
}

static int change(const ctl_cluster *cl, const char *token, int set)
{
    char hash[TC_ACL_HASH_HEX + 2];
    hash[0] = '#';
    tc_acl_hash(token, strlen(token), hash + 1);
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    int p = ctl_view_cluster(cl, views, NULL);
    if (p < 0) {
        fprintf(stderr, "tricachectl: auth: no primary (run tricachectl status)\n");
        return CTL_EXIT_CLUSTER;
    }
    const tc_node_conf *primary = &cl->cfg.nodes[p];
    tc_rc c = TC_RC_CLOSED;
    tc_rc_init(&c);
    if (open_node(cl, primary, token, &c) != 0) {
        fprintf(stderr, "tricachectl: auth: cannot reach the primary (node %d): %s\n", primary->id, c.err);
        return CTL_EXIT_CLUSTER;
    }
    const char *rotate[] = {"ACL", "SETUSER", "default", hash};
    const char *only[] = {"ACL", "SETUSER", "default", "resetpass", hash};
    tc_rc_reply r;
    int rc = set ? tc_rc_command(&c, &r, 5, only, NULL) : tc_rc_command(&c, &r, 4, rotate, NULL);
    tc_rc_close(&c);
    if (rc != 0) {
        fprintf(stderr, "tricachectl: auth: node %d: %s\n", primary->id, c.err);
        return CTL_EXIT_CLUSTER;
    }
    if (r.type != TC_RC_STATUS) {
        fprintf(stderr, "tricachectl: auth: node %d refused: %s\n", primary->id, r.str ? r.str : "unexpected reply");
        tc_rc_reply_free(&r);
        return CTL_EXIT_CLUSTER;
    }
    tc_rc_reply_free(&r);
    /* every node applies the entry: wait until each takes the new token */
    long long deadline = ctl_now_ms() + AUTH_WAIT_MS;
    int missing = 0;
    for (size_t i = 0; i < cl->cfg.nnodes; i++) {
        const tc_node_conf *n = &cl->cfg.nodes[i];
        int ok;
        while ((ok = node_accepts(cl, n, token)) == 0 && ctl_now_ms() < deadline) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        printf("node %d: %s\n", n->id,
               ok == 1 ? "accepts the new token" : ok == 0 ? "does not accept the new token yet" : "unreachable");
        missing += ok != 1;
    }
    if (set)
        printf("the default user's only token is now the new one; put it in cluster.toml's auth_token (tricachectl "
               "and the nodes' probes use it)\n");
    else
        printf("the new token is valid beside the old one on every node that answered; move clients to it, then "
               "run: tricachectl auth set --token-file FILE\n");
    return missing ? CTL_EXIT_CLUSTER : CTL_EXIT_OK;
}

int ctl_cmd_auth(const ctl_cluster *cl, const ctl_backup_args *a, int argc, char **argv)
{
    int rotate = argc == 1 && strcmp(argv[0], "rotate") == 0;
    int set = argc == 1 && strcmp(argv[0], "set") == 0;
    if (!rotate && !set) {
        fprintf(stderr, "tricachectl: auth rotate --new-token-file FILE | auth set --token-file FILE\n");
        return CTL_EXIT_USAGE;
    }
    const char *file = rotate ? a->new_token_file : a->token_file;
    if (!file) {
        fprintf(stderr, "tricachectl: auth %s needs %s FILE\n", argv[0], rotate ? "--new-token-file" : "--token-file");
        return CTL_EXIT_USAGE;
    }
    if (cl->cfg.nnodes == 0) {
        fprintf(stderr, "tricachectl: auth needs the cluster's cluster.toml (--config FILE)\n");
        return CTL_EXIT_USAGE;
    }
    char token[300];
    if (read_token(file, token, sizeof token) != 0) return CTL_EXIT_USAGE;
    return change(cl, token, set);
}
