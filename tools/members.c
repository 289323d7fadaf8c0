/* tricachectl members: the Raft voter set, through MEMBERS on the primary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_commands.h"

/* MEMBERS ADD answers once the node has caught up and become a voter. */
#define CHANGE_TIMEOUT_MS 60000

/* Sends one MEMBERS command to the primary; the reply in *out unless it is
 * an error, which is printed. */
static int on_primary(const ctl_cluster *cl, int argc, const char *const *argv, int timeout_ms, tc_rc_reply *out)
{
    ctl_node_view views[TC_CONFIG_MAX_NODES];
    int p = ctl_view_cluster(cl, views, NULL);
    if (p < 0) {
        fprintf(stderr, "tricachectl: the cluster has no primary, so its membership cannot be read or changed\n");
        return -1;
    }
    const tc_node_conf *n = &cl->cfg.nodes[p];
    tc_rc c;
    int rc = ctl_node_open(cl, n, &c);
    if (rc == 0) rc = tc_rc_set_timeout(&c, timeout_ms);
    if (rc == 0) rc = tc_rc_command(&c, out, argc, argv, NULL);
    if (rc != 0) fprintf(stderr, "tricachectl: node %d: %s\n", n->id, c.err);
    tc_rc_close(&c);
    if (rc != 0) return -1;
    if (out->type == TC_RC_ERROR) {
        fprintf(stderr, "tricachectl: node %d: %s\n", n->id, out->str);
        tc_rc_reply_free(out);
        return -1;
    }
    return 0;
}

static int list(const ctl_cluster *cl)
{
    const char *argv[] = {"MEMBERS", "LIST"};
    tc_rc_reply r;
    if (on_primary(cl, 2, argv, cl->timeout_ms, &r) != 0) return CTL_EXIT_CLUSTER;
    printf("%-5s %-24s %-9s %s\n", "ID", "RAFT ADDRESS", "ROLE", "ZONE");
    for (size_t i = 0; i < r.n; i++) {
        const tc_rc_reply *m = &r.elem[i];
        if (m->type != TC_RC_ARRAY || m->n < 4 || m->elem[0].type != TC_RC_INT) continue;
        printf("%-5lld %-24s %-9s %s\n", m->elem[0].integer, m->elem[1].str ? m->elem[1].str : "?",
               m->elem[2].str ? m->elem[2].str : "?", m->elem[3].str ? m->elem[3].str : "?");
    }
    tc_rc_reply_free(&r);
    return CTL_EXIT_OK;
}

static int change(const ctl_cluster *cl, int add, const char *id)
{
    const char *argv[] = {"MEMBERS", add ? "ADD" : "REMOVE", id};
    tc_rc_reply r;
    if (on_primary(cl, 3, argv, CHANGE_TIMEOUT_MS, &r) != 0) return CTL_EXIT_CLUSTER;
    tc_rc_reply_free(&r);
    printf(add ? "node %s is a voter now\n" : "node %s was removed\n", id);
    return CTL_EXIT_OK;
}

/* A node id of the config, as text; 0 or -1 after printing why. */
static int check_id(const ctl_cluster *cl, const char *s)
{
    char *end;
    long id = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || id < 1 || id > 65535) {
        fprintf(stderr, "tricachectl: members: '%s' is not a node id\n", s);
        return -1;
    }
    if (!tc_config_node(&cl->cfg, (int)id)) {
        fprintf(stderr, "tricachectl: members: no [[node]] with id %ld in %s\n", id, cl->cfg.path);
        return -1;
    }
    return 0;
}

int ctl_cmd_members(const ctl_cluster *cl, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "list") == 0) return list(cl);
    if (argc == 2 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "remove") == 0)) {
        if (check_id(cl, argv[1]) != 0) return CTL_EXIT_USAGE;
        return change(cl, strcmp(argv[0], "add") == 0, argv[1]);
    }
    if (argc == 3 && strcmp(argv[0], "replace") == 0) {
        if (check_id(cl, argv[1]) != 0 || check_id(cl, argv[2]) != 0) return CTL_EXIT_USAGE;
        /* the new node becomes a voter before the old one leaves, so the
         * number of voters never drops below what it was */
        int rc = change(cl, 1, argv[2]);
        return rc == CTL_EXIT_OK ? change(cl, 0, argv[1]) : rc;
    }
    fprintf(stderr, "tricachectl: members wants list | add ID | remove ID | replace OLD_ID NEW_ID\n");
    return CTL_EXIT_USAGE;
}
