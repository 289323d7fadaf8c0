/* tricachectl: the operator's tool. It reads cluster.toml and talks to the
 * nodes over RESP like any client; see usage() for the commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "server.h" /* TC_VERSION */

#define DEFAULT_CONFIG "cluster.toml"
#define DEFAULT_FAILOVER_TIMEOUT_MS 5000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tricachectl [--config FILE] [--io-timeout 1s] status [--json]\n"
            "       tricachectl [--config FILE] [--io-timeout 1s] failover [--to NODE_ID] [--timeout 5s]\n"
            "       tricachectl [--config FILE] [--io-timeout 1s] members list | add ID | remove ID | replace OLD_ID NEW_ID\n"
            "       tricachectl --help | --version\n"
            "\n"
            "commands:\n"
            "  status     one row per [[node]]: role, Raft term, commit and applied index, lag, health.\n"
            "             Exit 0: one primary and every node reachable; 1: no primary or nodes down.\n"
            "  failover   hand the primary's leadership to another node (--to: that one) while a probe\n"
            "             key (" "tricachectl:failover:probe" ", 60 s TTL) is written every millisecond;\n"
            "             prints the new primary and how long writes went unacknowledged.\n"
            "             Exit 1 if it did not complete within --timeout.\n"
            "  members    the Raft voter set, changed one step at a time.\n"
            "\n"
            "options:\n"
            "  --config FILE       the cluster's cluster.toml (default: ./cluster.toml)\n"
            "  --io-timeout DUR    per connection and per reply (default 1s)\n"
            "  --json              status as one JSON object\n"
            "  --to NODE_ID        failover: the node to hand over to\n"
            "  --timeout DUR       failover: give up after this long (default 5s)\n"
            "exit codes: 0 done, 1 the cluster is not healthy or the action failed, 2 bad usage or config\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tricachectl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return CTL_EXIT_USAGE;
}

/* "--name value" or "--name=value"; 1 if argv[*i] is that option (value set,
 * *i advanced past it), 0 if not, -1 if the value is missing. */
static int option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

typedef struct args {
    const char *config;
    const char *cmd;
    char *pos[8];
    int npos;
    int json;
    int to_id;
    long long io_timeout_ms, timeout_ms;
    const char *cmd_only_opt; /* a command's option seen, to check it fits the command */
    const char *cmd_only_for;
} args;

static int parse_duration(const char *name, const char *v, long long *out)
{
    uint64_t ms;
    if (tc_parse_duration_ms(v, &ms) != 0 || ms == 0 || ms > 3600000) {
        fprintf(stderr, "tricachectl: %s '%s': want a duration such as 500ms, 5s or 1m\n\n", name, v);
        usage(stderr);
        return -1;
    }
    *out = (long long)ms;
    return 0;
}

static int note_cmd_option(args *a, const char *opt, const char *cmd)
{
    if (a->cmd_only_opt && strcmp(a->cmd_only_for, cmd) != 0) {
        fprintf(stderr, "tricachectl: %s and %s belong to different commands\n\n", a->cmd_only_opt, opt);
        usage(stderr);
        return -1;
    }
    a->cmd_only_opt = opt;
    a->cmd_only_for = cmd;
    return 0;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int m;
        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (!a->cmd) a->cmd = arg;
            else if (a->npos < (int)(sizeof a->pos / sizeof a->pos[0])) a->pos[a->npos++] = argv[i];
            else return usage_error("too many arguments ('%s')", arg);
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return CTL_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("tricachectl %s\n", TC_VERSION);
            return CTL_EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0) {
            if (note_cmd_option(a, arg, "status") != 0) return CTL_EXIT_USAGE;
            a->json = 1;
            continue;
        }
        if ((m = option(argc, argv, &i, "--config", &v)) != 0) {
            if (m < 0 || !*v) return usage_error("%s needs a file", "--config");
            a->config = v;
        } else if ((m = option(argc, argv, &i, "--io-timeout", &v)) != 0) {
            if (m < 0) return usage_error("%s needs a duration", "--io-timeout");
            if (parse_duration("--io-timeout", v, &a->io_timeout_ms) != 0) return CTL_EXIT_USAGE;
        } else if ((m = option(argc, argv, &i, "--timeout", &v)) != 0) {
            if (m < 0) return usage_error("%s needs a duration", "--timeout");
            if (note_cmd_option(a, "--timeout", "failover") != 0) return CTL_EXIT_USAGE;
            if (parse_duration("--timeout", v, &a->timeout_ms) != 0) return CTL_EXIT_USAGE;
        } else if ((m = option(argc, argv, &i, "--to", &v)) != 0) {
            if (m < 0) return usage_error("%s needs a node id", "--to");
            if (note_cmd_option(a, "--to", "failover") != 0) return CTL_EXIT_USAGE;
            char *end;
            long id = strtol(v, &end, 10);
            if (!*v || *end || id < 1 || id > 65535) return usage_error("--to '%s': want a node id (1..65535)", v);
            a->to_id = (int)id;
        } else {
            return usage_error("unknown option '%s'", arg);
        }
    }
    if (!a->cmd) return usage_error("%s", "no command given");
    int known = strcmp(a->cmd, "status") == 0 || strcmp(a->cmd, "failover") == 0 || strcmp(a->cmd, "members") == 0;
    if (!known) return usage_error("unknown command '%s'", a->cmd);
    if (a->cmd_only_opt && strcmp(a->cmd_only_for, a->cmd) != 0) {
        fprintf(stderr, "tricachectl: %s is an option of %s, not of %s\n\n", a->cmd_only_opt, a->cmd_only_for, a->cmd);
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (strcmp(a->cmd, "members") != 0 && a->npos > 0)
        return usage_error("unexpected argument '%s'", a->pos[0]);
    return -1;
}

int main(int argc, char **argv)
{
    args a = {.io_timeout_ms = CTL_DEFAULT_TIMEOUT_MS, .timeout_ms = DEFAULT_FAILOVER_TIMEOUT_MS};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;

    if (!a.config) {
        if (access(DEFAULT_CONFIG, F_OK) != 0) {
            fprintf(stderr,
                    "tricachectl: no %s in the current directory\n"
                    "  hint: pass the cluster's config with --config FILE\n",
                    DEFAULT_CONFIG);
            return CTL_EXIT_USAGE;
        }
        a.config = DEFAULT_CONFIG;
    }
    ctl_cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    char err[2048];
    if (tc_config_load(&cl->cfg, a.config, err, sizeof err) != 0) {
        fprintf(stderr, "tricachectl: %s%s", err, err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
        free(cl);
        return CTL_EXIT_USAGE;
    }
    cl->timeout_ms = (int)a.io_timeout_ms;

    if (strcmp(a.cmd, "status") == 0) rc = ctl_cmd_status(cl, a.json);
    else if (strcmp(a.cmd, "failover") == 0) rc = ctl_cmd_failover(cl, a.to_id, a.timeout_ms);
    else rc = ctl_cmd_members(cl, a.npos, a.pos);
    if (rc == CTL_EXIT_USAGE && strcmp(a.cmd, "members") == 0) usage(stderr);
    free(cl);
    return rc;
}
