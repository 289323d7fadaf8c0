/* ACL categories from the command table; see acl_cat.h. */
#include "acl_cat.h"

#include <string.h>
#include <strings.h>

#include "commands.h"

enum {
    C_KEYSPACE, C_READ, C_WRITE, C_SET, C_SORTEDSET, C_LIST, C_HASH, C_STRING, C_BITMAP, C_HYPERLOGLOG, C_GEO,
    C_STREAM, C_PUBSUB, C_ADMIN, C_FAST, C_SLOW, C_BLOCKING, C_DANGEROUS, C_CONNECTION, C_TRANSACTION, C_SCRIPTING
};
#define BIT(c) (1u << (c))

static const char *const NAMES[TC_ACL_NCATS] = {
    "keyspace", "read",   "write",  "set",   "sortedset", "list",     "hash",       "string",      "bitmap",    "hyperloglog", "geo",
    "stream",   "pubsub", "admin",  "fast",  "slow",      "blocking", "dangerous",  "connection",  "transaction", "scripting"};

int tc_acl_cat_lookup(const char *name, size_t len)
{
    for (int i = 0; i < TC_ACL_NCATS; i++)
        if (strlen(NAMES[i]) == len && strncasecmp(NAMES[i], name, len) == 0) return i;
    return -1;
}

const char *tc_acl_cat_name(int cat) { return cat >= 0 && cat < TC_ACL_NCATS ? NAMES[cat] : NULL; }

/* The command table's group -> its data category. */
static uint32_t group_cats(const char *group)
{
    static const struct {
        const char *group;
        int cat;
    } G[] = {{"generic", C_KEYSPACE}, {"string", C_STRING},     {"list", C_LIST},           {"set", C_SET},
             {"sorted-set", C_SORTEDSET}, {"hash", C_HASH},     {"bitmap", C_BITMAP},       {"hyperloglog", C_HYPERLOGLOG},
             {"geo", C_GEO},          {"stream", C_STREAM},     {"pubsub", C_PUBSUB},       {"connection", C_CONNECTION},
             {"transactions", C_TRANSACTION}, {"scripting", C_SCRIPTING}};
    for (size_t i = 0; i < sizeof G / sizeof G[0]; i++)
        if (strcmp(G[i].group, group) == 0) return BIT(G[i].cat);
    return 0;
}

/* Redis files these differently from what group and flags say. */
static const struct {
    const char *name;
    uint32_t add, drop;
} EXCEPTIONS[] = {
    {"bgsave", BIT(C_DANGEROUS), 0},
    {"command", BIT(C_CONNECTION), 0},
    {"dbsize", BIT(C_KEYSPACE), 0},
    {"flushall", BIT(C_KEYSPACE) | BIT(C_DANGEROUS), 0},
    {"flushdb", BIT(C_KEYSPACE) | BIT(C_DANGEROUS), 0},
    {"info", BIT(C_DANGEROUS), 0},
    {"keys", BIT(C_DANGEROUS), 0},
    {"lastsave", BIT(C_ADMIN) | BIT(C_DANGEROUS), 0},
    {"readonly", BIT(C_CONNECTION), 0},
    {"readwrite", BIT(C_CONNECTION), 0},
    {"role", BIT(C_ADMIN) | BIT(C_DANGEROUS), 0},
    {"sort", BIT(C_DANGEROUS), 0},
    {"sort_ro", BIT(C_DANGEROUS), 0},
    {"swapdb", BIT(C_KEYSPACE) | BIT(C_DANGEROUS), 0},
    {"wait", BIT(C_CONNECTION), BIT(C_KEYSPACE)},
    {"waitaof", BIT(C_CONNECTION), BIT(C_KEYSPACE)},
};

/* Containers whose subcommands Redis files one by one: the categories
 * every subcommand has, and those only the listed ones add. */
static const struct {
    const char *cmd;
    uint32_t all;
    const char *admin_subs; /* space-separated; "*": every one */
    uint32_t sub_extra;     /* of the listed ones */
} CONTAINERS[] = {
    {"acl", BIT(C_SLOW), "setuser deluser getuser list users log load save dryrun",
     BIT(C_ADMIN) | BIT(C_DANGEROUS)},
    {"client", BIT(C_SLOW) | BIT(C_CONNECTION), "kill list no-evict pause unblock unpause",
     BIT(C_ADMIN) | BIT(C_DANGEROUS)},
    {"cluster", BIT(C_SLOW),
     "addslots addslotsrange bumpepoch count-failure-reports delslots delslotsrange failover flushslots forget meet "
     "replicas replicate reset saveconfig set-config-epoch setslot slaves",
     BIT(C_ADMIN) | BIT(C_DANGEROUS)},
    {"command", BIT(C_SLOW) | BIT(C_CONNECTION), "", 0},
    {"config", BIT(C_SLOW) | BIT(C_ADMIN) | BIT(C_DANGEROUS), "", 0},
    {"latency", BIT(C_SLOW) | BIT(C_ADMIN) | BIT(C_DANGEROUS), "", 0},
    {"memory", BIT(C_SLOW), "usage", BIT(C_READ)},
    {"object", BIT(C_SLOW) | BIT(C_READ) | BIT(C_KEYSPACE), "", 0},
};

static int word_in(const char *list, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl && strncmp(p, w, n) == 0) return 1;
        p += n;
        while (*p == ' ') p++;
    }
    return 0;
}

uint32_t tc_acl_container_cats(const tc_cmd *cmd)
{
    return BIT(C_SLOW) | (strcmp(cmd->name, "command") == 0 ? BIT(C_CONNECTION) : 0);
}

uint32_t tc_acl_cmd_cats(const tc_cmd *cmd, const char *sub)
{
    for (size_t i = 0; i < sizeof CONTAINERS / sizeof CONTAINERS[0]; i++) {
        if (strcmp(CONTAINERS[i].cmd, cmd->name) != 0) continue;
        uint32_t c = CONTAINERS[i].all;
        /* HELP is harmless everywhere: @slow (and @connection where all are) */
        if (sub && strcmp(sub, "help") == 0) return BIT(C_SLOW) | (c & BIT(C_CONNECTION));
        if (sub && word_in(CONTAINERS[i].admin_subs, sub)) c |= CONTAINERS[i].sub_extra;
        /* the container with no known subcommand: every category one of
         * its subcommands has, so a category rule never lets through more
         * than it names */
        if (!sub && cmd->subcommands) c |= CONTAINERS[i].sub_extra;
        return c;
    }
    uint32_t c = group_cats(cmd->group);
    if (cmd->flags & TC_CMD_WRITE) c |= BIT(C_WRITE);
    if (cmd->flags & TC_CMD_READONLY) c |= BIT(C_READ);
    if (cmd->flags & TC_CMD_ADMIN) c |= BIT(C_ADMIN) | BIT(C_DANGEROUS);
    c |= (cmd->flags & TC_CMD_FAST) ? BIT(C_FAST) : BIT(C_SLOW);
    if (cmd->flags & TC_CMD_BLOCKING) c |= BIT(C_BLOCKING);
    for (size_t i = 0; i < sizeof EXCEPTIONS / sizeof EXCEPTIONS[0]; i++)
        if (strcmp(EXCEPTIONS[i].name, cmd->name) == 0) c = (c | EXCEPTIONS[i].add) & ~EXCEPTIONS[i].drop;
    return c;
}
