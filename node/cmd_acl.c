/* ACL, AUTH's check and the permission check at dispatch; see cmd_acl.h. */
#include "cmd_acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "acl.h"
#include "acl_cat.h"
#include "auth.h"
#include "log.h"
#include "multi.h"
#include "server.h"

/* Redis's acllog-max-len default. */
#define ACL_LOG_MAX 128

static const char *user_name(const tc_client *c) { return c && c->user ? c->user->name : "default"; }

static void log_refusal(tc_server *s, tc_client *c, const char *reason, const char *context, const char *object,
                        const char *username)
{
    tc_buf info = {0};
    if (c && s->loop) tc_client_describe(c, &info, tc_now_ms()); /* a unit test's client has no connection */
    tc_buf_append(&info, "", 1);
    tc_acl_log_add(&s->acl, reason, context, object, username, info.oom ? "" : info.data, tc_now_ms(), ACL_LOG_MAX);
    tc_buf_free(&info);
}

/* ---- the users a node starts with ---- */

int tc_server_acl_start(tc_server *s, char *err, size_t errlen)
{
    if (!s->cfg.acl_file[0]) {
        if (tc_acl_init(&s->acl) == 0) return 0;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    FILE *f = fopen(s->cfg.acl_file, "r");
    if (!f) {
        snprintf(err, errlen, "acl_file %s: %s", s->cfg.acl_file, strerror(errno));
        return -1;
    }
    tc_buf text = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) tc_buf_append(&text, chunk, n);
    int failed = ferror(f);
    fclose(f);
    tc_buf_append(&text, "", 1);
    if (failed || text.oom || memchr(text.data, '\0', text.len - 1)) {
        snprintf(err, errlen, "acl_file %s: %s", s->cfg.acl_file, failed ? "read error" : text.oom ? "out of memory" : "holds NUL bytes");
        tc_buf_free(&text);
        return -1;
    }
    char why[600];
    int rc = tc_acl_init_from(&s->acl, text.data, s->cfg.auth_token, why, sizeof why);
    tc_buf_free(&text);
    if (rc != 0) snprintf(err, errlen, "acl_file %s: %s", s->cfg.acl_file, why);
    return rc;
}

int tc_server_acl_initial(const tc_server *s, tc_acl *out)
{
    char err[600];
    if (tc_acl_init_from(out, s->acl.initial, s->cfg.auth_token, err, sizeof err) == 0) return 0;
    tc_warn("the users of acl_file could not be made again (%s): starting from the default user alone", err);
    return tc_acl_init(out);
}

/* ---- AUTH ------------------------------------------------------------------- */

void tc_acl_client_start(tc_server *s, tc_client *c)
{
    c->user = tc_acl_default(&s->acl);
    c->authenticated = tc_acl_default_nopass(&s->acl, s->cfg.auth_token);
}

int tc_acl_authenticate(tc_ctx *c, const tc_slice *user, const tc_slice *pass)
{
    tc_server *s = c->srv;
    const char *token = s->cfg.auth_token;
    if (!user && tc_acl_default_nopass(&s->acl, token)) {
        /* Redis: the one-argument form while default has no password */
        tc_reply_error(c->r, TC_ERR_AUTH_NOT_CONFIGURED);
        return -1;
    }
    tc_acl_user *u = user ? tc_acl_find(&s->acl, user->p, user->len) : tc_acl_default(&s->acl);
    if (u && tc_acl_password_ok(u, token, pass->p, pass->len)) {
        if (c->client) {
            c->client->user = u;
            c->client->authenticated = 1;
        }
        return 0;
    }
    s->stats.auth_failures++;
    /* someone guessing tokens, or a client left on an old one: say who, at
     * most once per 10 s (the count covers the rest) */
    if (!s->auth_warned_ms || c->now_ms - s->auth_warned_ms >= 10000) {
        s->auth_warned_ms = c->now_ms;
        tc_warn("AUTH failed from %s (%llu failed AUTH attempts since start)",
                c->client ? c->client->addr : "an internal caller", (unsigned long long)s->stats.auth_failures);
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", user ? (int)(user->len > 100 ? 100 : user->len) : 7,
             user ? user->p : "default");
    log_refusal(s, c->client, "auth", "toplevel", "auth", name);
    tc_reply_error(c->r, TC_ERR_WRONGPASS);
    return -1;
}

/* ---- the check at dispatch ------------------------------------------------------- */

const tc_acl_user *tc_acl_client_user(const tc_server *s, const tc_client *c)
{
    /* a client made without a connection (unit tests) is default */
    return c->user ? c->user : tc_acl_default(&s->acl);
}

int tc_acl_addr_is_local(const char *addr)
{
    return strncmp(addr, "127.0.0.1:", 10) == 0 || strncmp(addr, "[::1]:", 6) == 0;
}

/* A user whose own rules name DEBUG (not through a category). */
static int user_granted_debug(const tc_acl_user *u)
{
    for (size_t i = 0; u && i < u->nrules; i++)
        if (strcmp(u->rules[i], "+debug") == 0) return 1;
    return 0;
}

int tc_acl_admit(tc_server *s, tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv, tc_reply *r,
                 int in_multi)
{
    if (cmd->fn == tc_cmd_debug) {
        int mode = s->cfg.enable_debug_command;
        /* a client without an address was made inside the node (unit tests): local */
        int local = !c->addr[0] || tc_acl_addr_is_local(c->addr);
        int ok = mode == TC_DEBUG_CMD_YES || (mode == TC_DEBUG_CMD_LOCAL && local) ||
                 (c->authenticated && user_granted_debug(c->user));
        if (!ok) {
            tc_reply_error(r, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                              "you can run it from a local connection, otherwise you need to set this option in the "
                              "configuration file, and then restart the server.");
            return -1;
        }
    }
    if (!c->authenticated) return 0; /* the NOAUTH check answers (also once its user was deleted) */
    size_t where = 0;
    int rc = tc_acl_check(tc_acl_client_user(s, c), cmd, argc, argv, &where);
    if (rc == TC_ACL_OK) return 0;
    const char *context = in_multi ? "multi" : "toplevel";
    char object[256];
    if (rc == TC_ACL_DENIED_CMD) {
        tc_acl_cmd_fullname(cmd, argc, argv, object, sizeof object);
        s->acl.denied_cmd++;
        log_refusal(s, c, "command", context, object, user_name(c));
        tc_reply_errorf(r, "NOPERM this user has no permissions to run the '%s' command", object);
        return -1;
    }
    snprintf(object, sizeof object, "%.*s", (int)(argv[where].len > 200 ? 200 : argv[where].len), argv[where].p);
    if (rc == TC_ACL_DENIED_KEY) {
        s->acl.denied_key++;
        log_refusal(s, c, "key", context, object, user_name(c));
        tc_reply_error(r, TC_ERR_NOPERM_KEY);
    } else {
        s->acl.denied_channel++;
        log_refusal(s, c, "channel", context, object, user_name(c));
        tc_reply_error(r, TC_ERR_NOPERM_CHANNEL);
    }
    return -1;
}

/* ---- replication ---------------------------------------------------------------- */

int tc_acl_cmd_changes_users(size_t argc, const tc_slice *argv)
{
    return argc >= 3 && (tc_arg_is(&argv[1], "setuser") || tc_arg_is(&argv[1], "deluser"));
}

int tc_acl_cmd_check(tc_server *s, size_t argc, const tc_slice *argv, char *err, size_t errlen)
{
    if (tc_arg_is(&argv[1], "deluser")) {
        for (size_t i = 2; i < argc; i++)
            if (tc_arg_is(&argv[i], "default")) {
                snprintf(err, errlen, "ERR The 'default' user cannot be removed");
                return -1;
            }
        return 0;
    }
    return tc_acl_setuser_check(&s->acl, argv[2].p, argv[2].len, argc - 3, argv + 3, s->cfg.auth_token, err, errlen);
}

tc_slice *tc_acl_logged_form(size_t argc, const tc_slice *argv)
{
    /* one block: the slices, then room for each argument's hash form */
    tc_slice *v = malloc(argc * (sizeof *v + TC_ACL_HASH_HEX + 2));
    if (!v) return NULL;
    char *room = (char *)(v + argc);
    int setuser = tc_arg_is(&argv[1], "setuser");
    for (size_t i = 0; i < argc; i++) {
        v[i] = argv[i];
        if (!setuser || i < 3 || argv[i].len < 1 || (argv[i].p[0] != '>' && argv[i].p[0] != '<')) continue;
        char *h = room + i * (TC_ACL_HASH_HEX + 2);
        h[0] = argv[i].p[0] == '>' ? '#' : '!';
        tc_acl_hash(argv[i].p + 1, argv[i].len - 1, h + 1);
        v[i] = (tc_slice){h, TC_ACL_HASH_HEX + 1};
    }
    return v;
}

void tc_acl_logged_free(tc_slice *v, size_t argc)
{
    (void)argc;
    free(v);
}

/* Connections of a user about to go: closed once answered (as Redis). */
static void drop_clients_of(tc_server *s, const tc_acl_user *u)
{
    for (tc_client *c = s->clients; c; c = c->next) {
        if (c->user != u) continue;
        c->user = NULL;
        c->authenticated = 0;
        tc_client_close_after_reply(c);
    }
}

void tc_acl_install_users(tc_server *s, tc_acl *fresh)
{
    tc_acl_swap_users(&s->acl, fresh); /* fresh now holds the old users */
    for (tc_client *c = s->clients; c; c = c->next) {
        if (!c->user) continue;
        tc_acl_user *now = tc_acl_find(&s->acl, c->user->name, strlen(c->user->name));
        if (now) {
            c->user = now;
            continue;
        }
        c->user = NULL;
        c->authenticated = 0;
        tc_client_close_after_reply(c);
    }
    tc_acl_free(fresh);
}

/* ---- ACL ------------------------------------------------------------------------ */

static void reply_getuser(tc_ctx *c, const tc_acl_user *u)
{
    const char *token = c->srv->cfg.auth_token;
    tc_reply_map(c->r, 6);
    tc_reply_bulks(c->r, "flags");
    int nopass = u->token_backed ? !token[0] : u->nopass;
    tc_reply_array(c->r, nopass ? 2 : 1);
    tc_reply_bulks(c->r, u->on ? "on" : "off");
    if (nopass) tc_reply_bulks(c->r, "nopass");
    tc_reply_bulks(c->r, "passwords");
    char h[64][TC_ACL_HASH_HEX + 1];
    size_t nh = tc_acl_hashes(u, token, h, 64);
    tc_reply_array(c->r, nh);
    for (size_t i = 0; i < nh; i++) tc_reply_bulks(c->r, h[i]);
    tc_buf b = {0};
    tc_reply_bulks(c->r, "commands");
    tc_acl_describe_commands(u, &b);
    tc_reply_bulk(c->r, b.data ? b.data : "", b.len);
    b.len = 0;
    tc_reply_bulks(c->r, "keys");
    tc_acl_describe_keys(u, &b);
    tc_reply_bulk(c->r, b.data ? b.data : "", b.len);
    b.len = 0;
    tc_reply_bulks(c->r, "channels");
    tc_acl_describe_channels(u, &b);
    tc_reply_bulk(c->r, b.data ? b.data : "", b.len);
    tc_buf_free(&b);
    tc_reply_bulks(c->r, "selectors");
    tc_reply_array(c->r, 0);
}

static void acl_cat(tc_ctx *c)
{
    if (c->argc == 2) {
        tc_reply_array(c->r, TC_ACL_NCATS);
        for (int i = 0; i < TC_ACL_NCATS; i++) tc_reply_bulks(c->r, tc_acl_cat_name(i));
        return;
    }
    int cat = tc_acl_cat_lookup(c->argv[2].p, c->argv[2].len);
    if (cat < 0) {
        tc_reply_errorf(c->r, "ERR Unknown category '%.*s'", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                        c->argv[2].p);
        return;
    }
    size_t n, count = 0;
    const tc_cmd *t = tc_cmd_table(&n);
    tc_buf names = {0};
    for (size_t i = 0; i < n; i++) {
        const tc_cmd *cmd = &t[i];
        if (!cmd->subcommands) {
            if ((tc_acl_cmd_cats(cmd, NULL) >> cat) & 1u) {
                tc_buf_append(&names, cmd->name, strlen(cmd->name) + 1);
                count++;
            }
            continue;
        }
        if ((tc_acl_container_cats(cmd) >> cat) & 1u) {
            tc_buf_append(&names, cmd->name, strlen(cmd->name) + 1);
            count++;
        }
        for (const char *p = cmd->subcommands; *p;) {
            size_t l = strcspn(p, " ");
            char sub[32];
            snprintf(sub, sizeof sub, "%.*s", (int)(l < 31 ? l : 31), p);
            if ((tc_acl_cmd_cats(cmd, sub) >> cat) & 1u) {
                tc_buf_printf(&names, "%s|%s", cmd->name, sub);
                tc_buf_append(&names, "", 1);
                count++;
            }
            p += l;
            while (*p == ' ') p++;
        }
    }
    tc_reply_array(c->r, count);
    for (size_t off = 0; off < names.len; off += strlen(names.data + off) + 1) tc_reply_bulks(c->r, names.data + off);
    tc_buf_free(&names);
}

static void acl_log(tc_ctx *c)
{
    tc_acl *a = &c->srv->acl;
    long long max = (long long)a->nlog;
    if (c->argc == 3) {
        if (tc_arg_is(&c->argv[2], "reset")) {
            tc_acl_log_reset(a);
            tc_reply_ok(c->r);
            return;
        }
        if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &max) != 0 || max < 0) {
            tc_reply_error(c->r, "ERR value is not an integer or out of range");
            return;
        }
    }
    size_t n = (size_t)max < a->nlog ? (size_t)max : a->nlog;
    tc_reply_array(c->r, n);
    for (size_t i = 0; i < n; i++) {
        const tc_acl_log_entry *e = &a->log[i];
        tc_reply_map(c->r, 7);
        tc_reply_bulks(c->r, "count");
        tc_reply_int(c->r, (long long)e->count);
        tc_reply_bulks(c->r, "reason");
        tc_reply_bulks(c->r, e->reason);
        tc_reply_bulks(c->r, "context");
        tc_reply_bulks(c->r, e->context);
        tc_reply_bulks(c->r, "object");
        tc_reply_bulks(c->r, e->object);
        tc_reply_bulks(c->r, "username");
        tc_reply_bulks(c->r, e->username);
        tc_reply_bulks(c->r, "age-seconds");
        tc_reply_double(c->r, (double)(c->now_ms - e->created_ms) / 1000.0);
        tc_reply_bulks(c->r, "client-info");
        tc_reply_bulks(c->r, e->client_info);
    }
}

static void acl_genpass(tc_ctx *c)
{
    long long bits = 256;
    if (c->argc == 3 && (tc_parse_ll(c->argv[2].p, c->argv[2].len, &bits) != 0 || bits <= 0 || bits > 4096)) {
        tc_reply_error(c->r, "ERR ACL GENPASS argument must be the number of bits for the output password, a "
                             "positive number up to 4096");
        return;
    }
    unsigned char raw[512];
    size_t chars = (size_t)(bits + 3) / 4;
    if (getrandom(raw, (chars + 1) / 2, 0) != (ssize_t)((chars + 1) / 2)) {
        tc_reply_error(c->r, "ERR cannot read random bytes");
        return;
    }
    char hex[1025];
    for (size_t i = 0; i < (chars + 1) / 2; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    tc_reply_bulk(c->r, hex, chars);
}

static void acl_setuser(tc_ctx *c)
{
    tc_server *s = c->srv;
    char err[512];
    if (tc_acl_setuser(&s->acl, c->argv[2].p, c->argv[2].len, c->argc - 3, c->argv + 3, s->cfg.auth_token, err,
                       sizeof err) != 0)
        tc_reply_error(c->r, err);
    else tc_reply_ok(c->r);
}

static void acl_deluser(tc_ctx *c)
{
    tc_server *s = c->srv;
    char err[256];
    for (size_t i = 2; i < c->argc; i++)
        if (tc_arg_is(&c->argv[i], "default")) { /* all or nothing, as Redis */
            tc_reply_error(c->r, "ERR The 'default' user cannot be removed");
            return;
        }
    long long n = 0;
    for (size_t i = 2; i < c->argc; i++) {
        tc_acl_user *u = tc_acl_find(&s->acl, c->argv[i].p, c->argv[i].len);
        if (!u) continue;
        drop_clients_of(s, u);
        if (tc_acl_deluser(&s->acl, c->argv[i].p, c->argv[i].len, err, sizeof err) == 1) n++;
    }
    tc_reply_int(c->r, n);
}

void tc_cmd_acl(tc_ctx *c)
{
    static const char *const help[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
        NULL};
    tc_server *s = c->srv;
    const tc_slice *sub = &c->argv[1];
    size_t argc = c->argc;
    if (tc_arg_is(sub, "setuser") && argc >= 3) {
        acl_setuser(c);
    } else if (tc_arg_is(sub, "deluser") && argc >= 3) {
        acl_deluser(c);
    } else if (tc_arg_is(sub, "getuser") && argc == 3) {
        const tc_acl_user *u = tc_acl_find(&s->acl, c->argv[2].p, c->argv[2].len);
        if (u) reply_getuser(c, u);
        else tc_reply_null(c->r);
    } else if (tc_arg_is(sub, "list") && argc == 2) {
        tc_reply_array(c->r, s->acl.n);
        tc_buf b = {0};
        for (size_t i = 0; i < s->acl.n; i++) {
            b.len = 0;
            tc_acl_describe(s->acl.users[i], s->cfg.auth_token, &b);
            tc_reply_bulk(c->r, b.data ? b.data : "", b.len);
        }
        tc_buf_free(&b);
    } else if (tc_arg_is(sub, "users") && argc == 2) {
        tc_reply_array(c->r, s->acl.n);
        for (size_t i = 0; i < s->acl.n; i++) tc_reply_bulks(c->r, s->acl.users[i]->name);
    } else if (tc_arg_is(sub, "whoami") && argc == 2) {
        tc_reply_bulks(c->r, user_name(c->client));
    } else if (tc_arg_is(sub, "cat") && argc <= 3) {
        acl_cat(c);
    } else if (tc_arg_is(sub, "log") && argc <= 3) {
        acl_log(c);
    } else if (tc_arg_is(sub, "genpass") && argc <= 3) {
        acl_genpass(c);
    } else if ((tc_arg_is(sub, "load") || tc_arg_is(sub, "save")) && argc == 2) {
        tc_reply_error(c->r, "ERR users are cluster state here: change them with ACL SETUSER / ACL DELUSER on the "
                             "primary (acl_file in cluster.toml is read once, when the cluster first starts)");
    } else if (tc_arg_is(sub, "help") && argc == 2) {
        tc_reply_array(c->r, sizeof help / sizeof help[0] - 1);
        for (size_t i = 0; help[i]; i++) tc_reply_status(c->r, help[i]);
    } else {
        static const char *const subs[] = {"setuser", "deluser", "getuser", "list", "users", "whoami",
                                           "cat",     "log",     "genpass", "load", "save",  "help"};
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
            if (tc_arg_is(sub, subs[i])) {
                tc_reply_errorf(c->r, "ERR wrong number of arguments for 'acl|%s' command", subs[i]);
                return;
            }
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try ACL HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
    }
}
