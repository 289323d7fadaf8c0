/* tricachectl: the operator's tool. It reads cluster.toml and talks to the
 * nodes over RESP like any client; see usage() for the commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_commands.h"
#include "server.h" /* TC_VERSION */

#define DEFAULT_CONFIG "cluster.toml"
#define DEFAULT_FAILOVER_TIMEOUT_MS 5000
#define DEFAULT_RESTART_PLAN_TIMEOUT_MS 5000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tricachectl [--config FILE] [--io-timeout 1s] status [--json]\n"
            "       tricachectl [--config FILE] [--io-timeout 1s] failover [--to NODE_ID] [--timeout 5s]\n"
            "       tricachectl [--config FILE] [--io-timeout 1s] restart-plan [--timeout 5s]\n"
            "       tricachectl [--config FILE] [--io-timeout 1s] members list | add ID | remove ID | replace OLD_ID NEW_ID\n"
            "       tricachectl keys generate --dir DIR\n"
            "       tricachectl secret generate --file FILE\n"
            "       tricachectl [--config FILE] auth rotate --new-token-file FILE | auth set --token-file FILE\n"
            "       tricachectl [--config FILE] keys list [--dir DIR]\n"
            "       tricachectl [--config FILE] backup create [--to URL] [--node ID] [--timeout 10m]\n"
            "       tricachectl [--config FILE] backup list [--to URL | --node ID] [--json]\n"
            "       tricachectl [--config FILE] backup verify [URL] NAME [--to URL | --node ID] [--keys-dir DIR]\n"
            "       tricachectl [--config FILE] backup delete [URL] NAME [--to URL | --node ID]\n"
            "       tricachectl [--config FILE] restore --from NAME|URL/NAME [--to URL | --node ID] [--keys-dir DIR]\n"
            "                   [--into-running [--yes]] [--with-users] [--timeout 10m]\n"
            "       tricachectl --help | --version\n"
            "\n"
            "commands:\n"
            "  status     one row per [[node]]: role, Raft term, commit and applied index, lag, health.\n"
            "             Exit 0: one primary and every node reachable; 1: no primary or nodes down.\n"
            "  failover   hand the primary's leadership to another node (--to: that one) while a probe\n"
            "             key (" "tricachectl:failover:probe" ", 60 s TTL) is written every millisecond;\n"
            "             prints the new primary and how long writes went unacknowledged.\n"
            "             Exit 1 if it did not complete within --timeout.\n"
            "  restart-plan  check that a node can be taken down now (every node up, one primary,\n"
            "             replicas linked with lag 0, sampled until --timeout), then print the order and the\n"
            "             commands of a rolling restart or upgrade: replicas by id, the primary last.\n"
            "             Exit 1 if a pre-check fails.\n"
            "  members    the Raft voter set, changed one step at a time.\n"
            "  keys       generate: a new key file (key-<id>.tckey, mode 0600) in DIR; it becomes the newest\n"
            "             key, which encrypts new snapshots and backups once the nodes hold it.\n"
            "             list: the keys of DIR (default: keys_dir of cluster.toml) and which is newest.\n"
            "  secret     generate: a new cluster secret in FILE (64 hex digits, mode 0600; never overwrites)\n"
            "             for cluster_secret_file: Raft peers prove it to each other.\n"
            "  auth       rotate: the token in FILE becomes valid beside the old one on every node (through\n"
            "             the log; connected clients stay). set: after clients moved, it becomes the only one.\n"
            "  backup     create: BGSAVE on a healthy replica (else the primary, or --node) and wait for it.\n"
            "             list: the backups at the destination. verify: fetch one and check every block,\n"
            "             its key and its manifest. delete: remove one.\n"
            "  restore    fetch and verify a backup, then load it into the cluster through the primary and\n"
            "             swap it in on every node at once; refuses a cluster that holds keys unless\n"
            "             --into-running (which asks on the terminal, or takes --yes).\n"
            "\n"
            "options:\n"
            "  --config FILE       the cluster's cluster.toml (default: ./cluster.toml)\n"
            "  --io-timeout DUR    per connection and per reply (default 1s)\n"
            "  --json              status, backup list: one JSON object\n"
            "  --to NODE_ID        failover: the node to hand over to\n"
            "  --to URL            backup, restore: the destination, file:///folder or s3://bucket/prefix\n"
            "                      (default: [backup] destination of cluster.toml; if that is empty, the\n"
            "                      node's <data dir>/backups)\n"
            "  --node ID           backup create: the node that takes it; list, verify, delete, restore:\n"
            "                      whose <data dir>/backups to use when [backup] destination is empty\n"
            "  --dir DIR           keys: the key folder\n"
            "  --file FILE         secret generate: the new secret file\n"
            "  --new-token-file FILE  auth rotate: the new token (first line)\n"
            "  --token-file FILE   auth set: the token to keep (first line)\n"
            "  --keys-dir DIR      backup verify, restore: the key folder (default: keys_dir of cluster.toml)\n"
            "  --from NAME         restore: the backup to restore\n"
            "  --into-running      restore: replace the keys of a cluster that holds some\n"
            "  --yes               restore: confirm --into-running without asking\n"
            "  --with-users        restore: also replace the cluster's users with the backup's (ACL SETUSER\n"
            "                      and DELUSER through the primary, after the keys); without it the\n"
            "                      cluster keeps its own users\n"
            "  --timeout DUR       failover: give up after this long (default 5s); backup create: wait this\n"
            "                      long for the backup (default 10m); restore: for the load and the replicas\n"
            "                      to catch up (default 10m)\n"
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

/* Options that belong to some commands only, and which. */
typedef struct cmd_option {
    const char *name;
    int takes_value;
    const char *what;     /* for "--x needs <what>" */
    const char *commands; /* space-separated */
} cmd_option;

static const cmd_option CMD_OPTIONS[] = {
    {"--json", 0, NULL, "status backup"},
    {"--to", 1, "a node id (failover) or a destination URL (backup, restore)", "failover backup restore"},
    {"--timeout", 1, "a duration", "failover backup restore restart-plan"},
    {"--node", 1, "a node id", "backup restore"},
    {"--dir", 1, "a folder", "keys"},
    {"--file", 1, "a file", "secret"},
    {"--keys-dir", 1, "a folder", "backup restore"},
    {"--from", 1, "a backup name", "restore"},
    {"--into-running", 0, NULL, "restore"},
    {"--yes", 0, NULL, "restore"},
    {"--with-users", 0, NULL, "restore"},
    {"--new-token-file", 1, "a file", "auth"},
    {"--token-file", 1, "a file", "auth"},
};
#define NCMD_OPTIONS (sizeof CMD_OPTIONS / sizeof CMD_OPTIONS[0])

typedef struct args {
    const char *config;
    const char *cmd;
    char *pos[8];
    int npos;
    long long io_timeout_ms;
    const char *value[NCMD_OPTIONS]; /* command options seen ("" for a flag) */
    int to_id;                       /* failover --to */
    ctl_backup_args b;
} args;

static int parse_duration(const char *name, const char *v, long long max_ms, long long *out)
{
    uint64_t ms;
    if (tc_parse_duration_ms(v, &ms) != 0 || ms == 0 || ms > (uint64_t)max_ms) {
        fprintf(stderr, "tricachectl: %s '%s': want a duration such as 500ms, 5s or 1m\n\n", name, v);
        usage(stderr);
        return -1;
    }
    *out = (long long)ms;
    return 0;
}

static int parse_id(const char *opt, const char *v, int *out)
{
    long long id; /* digits only: no sign, spaces or leading zeros */
    if (tc_parse_ll(v, strlen(v), &id) != 0 || id < 1 || id > 65535) {
        fprintf(stderr, "tricachectl: %s '%s': want a node id (1..65535)\n\n", opt, v);
        usage(stderr);
        return -1;
    }
    *out = (int)id;
    return 0;
}

static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

/* Command options, now that the command is known. Returns -1 to go on. */
static int apply_cmd_options(args *a)
{
    for (size_t k = 0; k < NCMD_OPTIONS; k++) {
        const char *v = a->value[k], *name = CMD_OPTIONS[k].name;
        if (!v) continue;
        if (!has_word(CMD_OPTIONS[k].commands, a->cmd)) {
            fprintf(stderr, "tricachectl: %s is not an option of %s (it belongs to: %s)\n\n", name, a->cmd,
                    CMD_OPTIONS[k].commands);
            usage(stderr);
            return CTL_EXIT_USAGE;
        }
        if (CMD_OPTIONS[k].takes_value && !*v) {
            fprintf(stderr, "tricachectl: %s needs %s\n\n", name, CMD_OPTIONS[k].what);
            usage(stderr);
            return CTL_EXIT_USAGE;
        }
        int failover = strcmp(a->cmd, "failover") == 0;
        if (strcmp(name, "--json") == 0) a->b.json = 1;
        else if (strcmp(name, "--into-running") == 0) a->b.into_running = 1;
        else if (strcmp(name, "--yes") == 0) a->b.yes = 1;
        else if (strcmp(name, "--with-users") == 0) a->b.with_users = 1;
        else if (strcmp(name, "--dir") == 0) a->b.dir = v;
        else if (strcmp(name, "--file") == 0) a->b.file = v;
        else if (strcmp(name, "--new-token-file") == 0) a->b.new_token_file = v;
        else if (strcmp(name, "--token-file") == 0) a->b.token_file = v;
        else if (strcmp(name, "--keys-dir") == 0) a->b.keys_dir = v;
        else if (strcmp(name, "--from") == 0) a->b.from = v;
        else if (strcmp(name, "--node") == 0) {
            if (parse_id("--node", v, &a->b.node_id) != 0) return CTL_EXIT_USAGE;
        } else if (strcmp(name, "--to") == 0) {
            if (failover) {
                if (parse_id("--to", v, &a->to_id) != 0) return CTL_EXIT_USAGE;
            } else {
                a->b.to = v;
            }
        } else if (strcmp(name, "--timeout") == 0) {
            /* a failover is a drill of seconds; a backup of a big keyspace
             * to object storage may take hours */
            long long max = failover || strcmp(a->cmd, "restart-plan") == 0 ? 3600000LL : 7LL * 24 * 3600000;
            if (parse_duration("--timeout", v, max, &a->b.timeout_ms) != 0) return CTL_EXIT_USAGE;
        }
    }
    return -1;
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
        if ((m = option(argc, argv, &i, "--config", &v)) != 0) {
            if (m < 0 || !*v) return usage_error("%s needs a file", "--config");
            a->config = v;
            continue;
        }
        if ((m = option(argc, argv, &i, "--io-timeout", &v)) != 0) {
            if (m < 0) return usage_error("%s needs a duration", "--io-timeout");
            if (parse_duration("--io-timeout", v, 3600000, &a->io_timeout_ms) != 0) return CTL_EXIT_USAGE;
            continue;
        }
        size_t k;
        for (k = 0; k < NCMD_OPTIONS; k++) {
            const cmd_option *o = &CMD_OPTIONS[k];
            if (!o->takes_value) {
                if (strcmp(arg, o->name) != 0) continue;
                a->value[k] = "";
                break;
            }
            if ((m = option(argc, argv, &i, o->name, &v)) == 0) continue;
            if (m < 0) {
                fprintf(stderr, "tricachectl: %s needs %s\n\n", o->name, o->what);
                usage(stderr);
                return CTL_EXIT_USAGE;
            }
            a->value[k] = v;
            break;
        }
        if (k == NCMD_OPTIONS) return usage_error("unknown option '%s'", arg);
    }
    if (!a->cmd) return usage_error("%s", "no command given");
    static const char *const known[] = {"status", "failover", "members", "keys", "secret", "backup", "restore", "restart-plan", "auth"};
    size_t c;
    for (c = 0; c < sizeof known / sizeof known[0]; c++)
        if (strcmp(a->cmd, known[c]) == 0) break;
    if (c == sizeof known / sizeof known[0]) return usage_error("unknown command '%s'", a->cmd);
    int rc = apply_cmd_options(a);
    if (rc >= 0) return rc;
    int takes_args = strcmp(a->cmd, "members") == 0 || strcmp(a->cmd, "keys") == 0 || strcmp(a->cmd, "backup") == 0 ||
                     strcmp(a->cmd, "secret") == 0 || strcmp(a->cmd, "auth") == 0;
    if (!takes_args && a->npos > 0) return usage_error("unexpected argument '%s'", a->pos[0]);
    return -1;
}

/* keys, and backup list / verify / delete, can work on a folder or URL
 * given on the command line without any cluster.toml. */
static int config_optional(const args *a)
{
    if (strcmp(a->cmd, "keys") == 0) return 1;
    return strcmp(a->cmd, "backup") == 0 && !(a->npos > 0 && strcmp(a->pos[0], "create") == 0);
}

int main(int argc, char **argv)
{
    args a = {.io_timeout_ms = TC_RC_DEFAULT_TIMEOUT_MS};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;

    int optional = config_optional(&a);
    /* a key is made before there is a cluster to configure */
    int unused = (strcmp(a.cmd, "keys") == 0 && a.npos > 0 && strcmp(a.pos[0], "generate") == 0) ||
                 strcmp(a.cmd, "secret") == 0;
    if (unused) a.config = NULL;
    else if (!a.config) {
        if (access(DEFAULT_CONFIG, F_OK) == 0) a.config = DEFAULT_CONFIG;
        else if (!optional) {
            fprintf(stderr,
                    "tricachectl: no %s in the current directory\n"
                    "  hint: pass the cluster's config with --config FILE\n",
                    DEFAULT_CONFIG);
            return CTL_EXIT_USAGE;
        }
    }
    ctl_cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        fprintf(stderr, "tricachectl: out of memory\n");
        return CTL_EXIT_CLUSTER;
    }
    char err[2048];
    if (!a.config) {
        tc_config_defaults(&cl->cfg); /* no nodes: the commands say when they need some */
    } else if (tc_config_load(&cl->cfg, a.config, err, sizeof err) != 0) {
        fprintf(stderr, "tricachectl: %s%s", err, err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
        free(cl);
        return CTL_EXIT_USAGE;
    }
    cl->timeout_ms = (int)a.io_timeout_ms;
    if (ctl_cluster_tls(cl, err, sizeof err) != 0) {
        fprintf(stderr, "tricachectl: %s\n", err);
        free(cl);
        return CTL_EXIT_USAGE;
    }

    if (strcmp(a.cmd, "status") == 0) rc = ctl_cmd_status(cl, a.b.json);
    else if (strcmp(a.cmd, "failover") == 0)
        rc = ctl_cmd_failover(cl, a.to_id, a.b.timeout_ms ? a.b.timeout_ms : DEFAULT_FAILOVER_TIMEOUT_MS);
    else if (strcmp(a.cmd, "members") == 0) rc = ctl_cmd_members(cl, a.npos, a.pos);
    else if (strcmp(a.cmd, "restart-plan") == 0)
        rc = ctl_cmd_restart_plan(cl, a.config, a.b.timeout_ms ? a.b.timeout_ms : DEFAULT_RESTART_PLAN_TIMEOUT_MS);
    else if (strcmp(a.cmd, "keys") == 0) rc = ctl_cmd_keys(cl, &a.b, a.npos, a.pos);
    else if (strcmp(a.cmd, "secret") == 0) rc = ctl_cmd_secret(&a.b, a.npos, a.pos);
    else if (strcmp(a.cmd, "backup") == 0) rc = ctl_cmd_backup(cl, &a.b, a.npos, a.pos);
    else if (strcmp(a.cmd, "auth") == 0) rc = ctl_cmd_auth(cl, &a.b, a.npos, a.pos);
    else rc = ctl_cmd_restore(cl, &a.b);
    if (rc == CTL_EXIT_USAGE && strcmp(a.cmd, "members") == 0) usage(stderr);
    else if (rc == CTL_EXIT_USAGE && strcmp(a.cmd, "status") != 0 && strcmp(a.cmd, "failover") != 0)
        fprintf(stderr, "(tricachectl --help shows every command and option)\n");
    tc_rc_tls_free(cl->tls);
    free(cl);
    return rc;
}
