/* Users, their rules and the permission check; see acl.h. */
#include "acl.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl_cat.h"
#include "commands.h"
#include "glob.h"

#define ERR_SYNTAX "Syntax error"
#define ERR_UNKNOWN_CMD "Unknown command or category name in ACL"
#define ERR_BAD_HASH \
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
#define ERR_NO_SUCH_PASSWORD "The password you are trying to remove from the user does not exist"
#define ERR_KEYS_AFTER_ALL                                                                                     \
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. " \
    "Try 'resetkeys' to start with an empty list of patterns"
#define ERR_CHANNELS_AFTER_ALL                                                                                     \
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. " \
    "Try 'resetchannels' to start with an empty list of channels"

/* ---- small helpers -------------------------------------------------------- */

void tc_acl_hash(const char *pass, size_t len, char out[TC_ACL_HASH_HEX + 1])
{
    unsigned char d[32];
    unsigned int dlen = 0;
    if (EVP_Digest(pass, len, d, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32) memset(d, 0, sizeof d);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int is_hash(const char *p, size_t len)
{
    if (len != TC_ACL_HASH_HEX) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

/* Compares every byte so the time does not tell how much of a guess matched. */
static int equal_const_time(const char *a, const char *b, size_t n)
{
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

static char *dup_lower(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s) return NULL;
    for (size_t i = 0; i < len; i++) s[i] = (char)tolower((unsigned char)p[i]);
    s[len] = '\0';
    return s;
}

static int word_in_list(const char *list, const char *w, size_t wl)
{
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl && strncasecmp(p, w, n) == 0) return 1;
        p += n;
        while (*p == ' ') p++;
    }
    return 0;
}

/* ---- users ---------------------------------------------------------------- */

static void user_clear(tc_acl_user *u)
{
    free(u->pw);
    for (size_t i = 0; i < u->nkeys; i++) free(u->keys[i].pat);
    free(u->keys);
    for (size_t i = 0; i < u->nchans; i++) free(u->chans[i].pat);
    free(u->chans);
    for (size_t i = 0; i < u->nrules; i++) free(u->rules[i]);
    free(u->rules);
    free(u->allowed);
    free(u->specs);
    char *name = u->name;
    memset(u, 0, sizeof *u);
    u->name = name;
}

static void user_free(tc_acl_user *u)
{
    if (!u) return;
    user_clear(u);
    free(u->name);
    free(u);
}

static tc_acl_user *user_new(const char *name, size_t len)
{
    tc_acl_user *u = calloc(1, sizeof *u);
    if (!u || !(u->name = malloc(len + 1))) {
        free(u);
        return NULL;
    }
    memcpy(u->name, name, len);
    u->name[len] = '\0';
    return u;
}

static int add_rule_string(tc_acl_user *u, const char *rule)
{
    char **v = realloc(u->rules, (u->nrules + 1) * sizeof *v);
    if (!v) return -1;
    u->rules = v;
    if (!(v[u->nrules] = strdup(rule))) return -1;
    u->nrules++;
    return 0;
}

static int add_key(tc_acl_user *u, const char *p, size_t len, unsigned flags)
{
    for (size_t i = 0; i < u->nkeys; i++)
        if (u->keys[i].len == len && memcmp(u->keys[i].pat, p, len) == 0) {
            u->keys[i].flags |= flags;
            return 0;
        }
    tc_acl_pattern *v = realloc(u->keys, (u->nkeys + 1) * sizeof *v);
    if (!v) return -1;
    u->keys = v;
    char *s = malloc(len + 1);
    if (!s) return -1;
    memcpy(s, p, len);
    s[len] = '\0';
    v[u->nkeys++] = (tc_acl_pattern){s, len, flags};
    return 0;
}

static int add_chan(tc_acl_user *u, const char *p, size_t len)
{
    for (size_t i = 0; i < u->nchans; i++)
        if (u->chans[i].len == len && memcmp(u->chans[i].pat, p, len) == 0) return 0;
    tc_acl_pattern *v = realloc(u->chans, (u->nchans + 1) * sizeof *v);
    if (!v) return -1;
    u->chans = v;
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, p, len);
    c[len] = '\0';
    v[u->nchans++] = (tc_acl_pattern){c, len, 0};
    return 0;
}

static int add_hash(tc_acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npw; i++)
        if (strcmp(u->pw[i], hex) == 0) return 0;
    char(*v)[TC_ACL_HASH_HEX + 1] = realloc(u->pw, (u->npw + 1) * sizeof *v);
    if (!v) return -1;
    u->pw = v;
    memcpy(v[u->npw++], hex, TC_ACL_HASH_HEX + 1);
    return 0;
}

static int del_hash(tc_acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npw; i++)
        if (strcmp(u->pw[i], hex) == 0) {
            memmove(&u->pw[i], &u->pw[i + 1], (u->npw - i - 1) * sizeof u->pw[0]);
            u->npw--;
            return 0;
        }
    return -1;
}

static int has_all_keys(const tc_acl_user *u)
{
    for (size_t i = 0; i < u->nkeys; i++)
        if (u->keys[i].len == 1 && u->keys[i].pat[0] == '*' && u->keys[i].flags == (TC_ACL_READ | TC_ACL_WRITE))
            return 1;
    return 0;
}

static int has_all_chans(const tc_acl_user *u)
{
    for (size_t i = 0; i < u->nchans; i++)
        if (u->chans[i].len == 1 && u->chans[i].pat[0] == '*') return 1;
    return 0;
}

static void reset_keys(tc_acl_user *u)
{
    for (size_t i = 0; i < u->nkeys; i++) free(u->keys[i].pat);
    free(u->keys);
    u->keys = NULL;
    u->nkeys = 0;
}

static void reset_chans(tc_acl_user *u)
{
    for (size_t i = 0; i < u->nchans; i++) free(u->chans[i].pat);
    free(u->chans);
    u->chans = NULL;
    u->nchans = 0;
}

static void reset_rules(tc_acl_user *u)
{
    for (size_t i = 0; i < u->nrules; i++) free(u->rules[i]);
    free(u->rules);
    u->rules = NULL;
    u->nrules = 0;
}

static int user_copy(tc_acl_user *dst, const tc_acl_user *src)
{
    dst->on = src->on;
    dst->nopass = src->nopass;
    dst->token_backed = src->token_backed;
    for (size_t i = 0; i < src->npw; i++)
        if (add_hash(dst, src->pw[i]) != 0) return -1;
    for (size_t i = 0; i < src->nkeys; i++)
        if (add_key(dst, src->keys[i].pat, src->keys[i].len, src->keys[i].flags) != 0) return -1;
    for (size_t i = 0; i < src->nchans; i++)
        if (add_chan(dst, src->chans[i].pat, src->chans[i].len) != 0) return -1;
    for (size_t i = 0; i < src->nrules; i++)
        if (add_rule_string(dst, src->rules[i]) != 0) return -1;
    return 0;
}

/* ---- command rules ---------------------------------------------------------- */

/* Whether rule (normalized: "+get", "-@admin", "+client|kill") applies to
 * cmd/sub, and so decides it. */
static int rule_matches(const char *rule, const tc_cmd *cmd, const char *sub)
{
    const char *body = rule + 1;
    if (body[0] == '@') {
        if (strcmp(body + 1, "all") == 0) return 1;
        int cat = tc_acl_cat_lookup(body + 1, strlen(body + 1));
        return cat >= 0 && (tc_acl_cmd_cats(cmd, sub) >> cat) & 1u;
    }
    const char *bar = strchr(body, '|');
    size_t nlen = bar ? (size_t)(bar - body) : strlen(body);
    if (strlen(cmd->name) != nlen || strncmp(cmd->name, body, nlen) != 0) return 0;
    if (!bar) return 1;
    return sub && strcmp(bar + 1, sub) == 0;
}

static int replay(const tc_acl_user *u, const tc_cmd *cmd, const char *sub)
{
    int allowed = 0;
    for (size_t i = 0; i < u->nrules; i++)
        if (rule_matches(u->rules[i], cmd, sub)) allowed = u->rules[i][0] == '+';
    return allowed;
}

/* Write commands whose replies show what the key held: Redis's key specs
 * flag their keys ACCESS, so the user needs read permission too. */
static const char ACCESS_WRITES[] =
    "incr decr incrby decrby incrbyfloat getset getdel getex lpop rpop blpop brpop lmpop blmpop spop zpopmin "
    "zpopmax bzpopmin bzpopmax zmpop bzmpop hincrby hincrbyfloat zincrby bitfield move";

static int is_cmd(const tc_cmd *cmd, const char *name) { return strcmp(cmd->name, name) == 0; }

/* How a command uses its keys and channels, worked out once per command
 * (when a user's rules change) so the check at dispatch compares no names. */
enum { KS_PLAIN, KS_NUMKEYS, KS_STORE, KS_MOVES, KS_COPY, KS_STREAMS };
enum { CH_NONE, CH_FIRST, CH_ALL, CH_ALL_LITERAL };
struct tc_acl_cmdspec {
    uint8_t base;    /* what each key needs (TC_ACL_READ / WRITE) */
    uint8_t kind;    /* KS_* */
    uint8_t first;   /* KS_STORE: what the destination needs */
    int8_t dest;     /* KS_NUMKEYS: index of a destination key, 0 none */
    int8_t numkeys;  /* KS_NUMKEYS: index of the count */
    uint8_t set_get; /* SET: a GET option reads too */
    uint8_t chans;   /* CH_* */
};

static void cmdspec(const tc_cmd *cmd, struct tc_acl_cmdspec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->base = (cmd->flags & TC_CMD_WRITE) ? TC_ACL_WRITE : TC_ACL_READ;
    if ((cmd->flags & TC_CMD_WRITE) && word_in_list(ACCESS_WRITES, cmd->name, strlen(cmd->name)))
        sp->base |= TC_ACL_READ;
    if (!(cmd->flags & (TC_CMD_WRITE | TC_CMD_READONLY))) sp->base = TC_ACL_READ; /* WATCH */
    sp->set_get = is_cmd(cmd, "set");
    /* commands whose keys follow a count */
    static const struct {
        const char *name;
        int dest, numkeys;
    } NK[] = {{"zunion", 0, 1},      {"zinter", 0, 1},      {"zdiff", 0, 1},       {"zintercard", 0, 1},
              {"sintercard", 0, 1},  {"lmpop", 0, 1},       {"zmpop", 0, 1},       {"blmpop", 0, 2},
              {"bzmpop", 0, 2},      {"zunionstore", 1, 2}, {"zinterstore", 1, 2}, {"zdiffstore", 1, 2},
              {"eval", 0, 2},        {"evalsha", 0, 2},     {"eval_ro", 0, 2},     {"evalsha_ro", 0, 2},
              {"fcall", 0, 2},       {"fcall_ro", 0, 2}};
    for (size_t i = 0; i < sizeof NK / sizeof NK[0]; i++)
        if (is_cmd(cmd, NK[i].name)) {
            sp->kind = KS_NUMKEYS;
            sp->dest = (int8_t)NK[i].dest;
            sp->numkeys = (int8_t)NK[i].numkeys;
        }
    /* a destination, then sources it reads */
    if (is_cmd(cmd, "sdiffstore") || is_cmd(cmd, "sinterstore") || is_cmd(cmd, "sunionstore") ||
        is_cmd(cmd, "zrangestore") || is_cmd(cmd, "pfmerge") || is_cmd(cmd, "bitop")) {
        sp->kind = KS_STORE;
        sp->first = is_cmd(cmd, "pfmerge") ? TC_ACL_READ | TC_ACL_WRITE : TC_ACL_WRITE;
    }
    /* a source taken from, then a destination written */
    if (is_cmd(cmd, "lmove") || is_cmd(cmd, "blmove") || is_cmd(cmd, "rpoplpush") || is_cmd(cmd, "brpoplpush") ||
        is_cmd(cmd, "rename") || is_cmd(cmd, "renamenx"))
        sp->kind = KS_MOVES;
    if (is_cmd(cmd, "copy")) sp->kind = KS_COPY;
    if (is_cmd(cmd, "xread")) sp->kind = KS_STREAMS; /* keys: the first half after STREAMS */
    if (is_cmd(cmd, "publish") || is_cmd(cmd, "spublish")) sp->chans = CH_FIRST;
    else if (is_cmd(cmd, "subscribe") || is_cmd(cmd, "ssubscribe")) sp->chans = CH_ALL;
    else if (is_cmd(cmd, "psubscribe")) sp->chans = CH_ALL_LITERAL;
}

static int compute_allowed(tc_acl_user *u)
{
    size_t n;
    const tc_cmd *t = tc_cmd_table(&n);
    uint8_t *a = calloc(n ? n : 1, 1);
    if (!a) return -1;
    u->sub_rules = 0;
    for (size_t i = 0; i < u->nrules; i++)
        if (strchr(u->rules[i], '|')) u->sub_rules = 1;
    struct tc_acl_cmdspec *sp = calloc(n ? n : 1, sizeof *sp);
    if (!sp) {
        free(a);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint8_t)replay(u, &t[i], NULL);
        cmdspec(&t[i], &sp[i]);
    }
    free(u->allowed);
    u->allowed = a;
    free(u->specs);
    u->specs = sp;
    u->all_keys = has_all_keys(u);
    u->all_chans = has_all_chans(u);
    u->unrestricted = u->nrules == 1 && strcmp(u->rules[0], "+@all") == 0 && has_all_keys(u) && has_all_chans(u);
    return 0;
}

/* +cmd, -cmd, +@cat, -@cat, +cmd|sub, -cmd|sub: checked and added to the
 * list, dropping earlier rules it makes pointless. */
static int command_rule(tc_acl_user *u, const char *op, size_t len, const char **why)
{
    char *r = dup_lower(op, len);
    if (!r) return -1;
    const char *body = r + 1;
    int ok;
    if (body[0] == '@') {
        ok = strcmp(body + 1, "all") == 0 || tc_acl_cat_lookup(body + 1, strlen(body + 1)) >= 0;
    } else {
        const char *bar = strchr(body, '|');
        size_t nlen = bar ? (size_t)(bar - body) : strlen(body);
        const tc_cmd *cmd = nlen ? tc_cmd_lookup(body, nlen) : NULL;
        ok = cmd && (!bar || (cmd->subcommands && bar[1] && !strchr(bar + 1, '|')));
    }
    if (!ok) {
        free(r);
        *why = ERR_UNKNOWN_CMD;
        return -2;
    }
    if (strcmp(body, "@all") == 0) {
        reset_rules(u);
    } else {
        for (size_t i = 0; i < u->nrules;) {
            if (strcmp(u->rules[i] + 1, body) == 0) {
                free(u->rules[i]);
                memmove(&u->rules[i], &u->rules[i + 1], (u->nrules - i - 1) * sizeof u->rules[0]);
                u->nrules--;
            } else {
                i++;
            }
        }
    }
    int rc = add_rule_string(u, r);
    free(r);
    return rc;
}

/* The default user's passwords become its own (the token's hash) before a
 * rule changes them. */
static int materialize(tc_acl_user *u, const char *token)
{
    if (!u->token_backed) return 0;
    u->token_backed = 0;
    if (token && token[0]) {
        char h[TC_ACL_HASH_HEX + 1];
        tc_acl_hash(token, strlen(token), h);
        u->nopass = 0;
        return add_hash(u, h);
    }
    u->nopass = 1;
    return 0;
}

static void user_reset(tc_acl_user *u)
{
    free(u->pw);
    u->pw = NULL;
    u->npw = 0;
    u->nopass = 0;
    u->token_backed = 0;
    u->on = 0;
    reset_keys(u);
    reset_chans(u);
    reset_rules(u);
}

/* One rule; 0, -1 out of memory, -2 refused (*why). */
static int apply_rule(tc_acl_user *u, const char *op, size_t len, const char *token, const char **why)
{
    *why = ERR_SYNTAX;
#define IS(w) (len == sizeof(w) - 1 && strncasecmp(op, w, len) == 0)
    if (IS("on")) u->on = 1;
    else if (IS("off")) u->on = 0;
    else if (IS("nopass")) {
        if (materialize(u, token) != 0) return -1;
        free(u->pw);
        u->pw = NULL;
        u->npw = 0;
        u->nopass = 1;
    } else if (IS("resetpass")) {
        if (materialize(u, token) != 0) return -1;
        free(u->pw);
        u->pw = NULL;
        u->npw = 0;
        u->nopass = 0;
    } else if (IS("allkeys")) {
        reset_keys(u);
        return add_key(u, "*", 1, TC_ACL_READ | TC_ACL_WRITE);
    } else if (IS("resetkeys")) reset_keys(u);
    else if (IS("allchannels")) {
        reset_chans(u);
        return add_chan(u, "*", 1);
    } else if (IS("resetchannels")) reset_chans(u);
    else if (IS("allcommands")) return command_rule(u, "+@all", 5, why);
    else if (IS("nocommands")) return command_rule(u, "-@all", 5, why);
    else if (IS("reset")) user_reset(u);
    else if (IS("sanitize-payload") || IS("skip-sanitize-payload")) {
        /* accepted as Redis does; RESTORE payloads are not taken here */
    } else if (len >= 1 && (op[0] == '>' || op[0] == '<')) {
        char h[TC_ACL_HASH_HEX + 1];
        tc_acl_hash(op + 1, len - 1, h);
        if (materialize(u, token) != 0) return -1;
        if (op[0] == '>') {
            u->nopass = 0;
            return add_hash(u, h);
        }
        if (del_hash(u, h) != 0) {
            *why = ERR_NO_SUCH_PASSWORD;
            return -2;
        }
    } else if (len >= 1 && (op[0] == '#' || op[0] == '!')) {
        if (!is_hash(op + 1, len - 1)) {
            *why = ERR_BAD_HASH;
            return -2;
        }
        char h[TC_ACL_HASH_HEX + 1];
        memcpy(h, op + 1, TC_ACL_HASH_HEX);
        h[TC_ACL_HASH_HEX] = '\0';
        if (materialize(u, token) != 0) return -1;
        if (op[0] == '#') {
            u->nopass = 0;
            return add_hash(u, h);
        }
        if (del_hash(u, h) != 0) {
            *why = ERR_NO_SUCH_PASSWORD;
            return -2;
        }
    } else if (len >= 1 && (op[0] == '~' || op[0] == '%')) {
        unsigned flags = TC_ACL_READ | TC_ACL_WRITE;
        size_t at = 1;
        if (op[0] == '%') {
            flags = 0;
            for (; at < len && op[at] != '~'; at++) {
                if (op[at] == 'R' || op[at] == 'r') flags |= TC_ACL_READ;
                else if (op[at] == 'W' || op[at] == 'w') flags |= TC_ACL_WRITE;
                else return -2;
            }
            if (at == len || !flags) return -2;
            at++;
        }
        if (has_all_keys(u)) {
            *why = ERR_KEYS_AFTER_ALL;
            return -2;
        }
        if (len - at == 1 && op[at] == '*' && flags == (TC_ACL_READ | TC_ACL_WRITE)) reset_keys(u);
        return add_key(u, op + at, len - at, flags);
    } else if (len >= 1 && op[0] == '&') {
        if (has_all_chans(u)) {
            *why = ERR_CHANNELS_AFTER_ALL;
            return -2;
        }
        if (len == 2 && op[1] == '*') reset_chans(u);
        return add_chan(u, op + 1, len - 1);
    } else if (len >= 2 && (op[0] == '+' || op[0] == '-')) {
        return command_rule(u, op, len, why);
    } else {
        return -2;
    }
#undef IS
    return 0;
}

/* ---- the store ------------------------------------------------------------ */

static size_t find_slot(const tc_acl *a, const char *name, size_t len, int *found)
{
    size_t lo = 0, hi = a->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = a->users[mid]->name;
        size_t ml = strlen(m);
        int cmp = memcmp(name, m, len < ml ? len : ml);
        if (cmp == 0) cmp = len < ml ? -1 : len > ml ? 1 : 0;
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

tc_acl_user *tc_acl_find(const tc_acl *a, const char *name, size_t len)
{
    int found;
    size_t i = find_slot(a, name, len, &found);
    return found ? a->users[i] : NULL;
}

tc_acl_user *tc_acl_default(const tc_acl *a) { return tc_acl_find(a, "default", 7); }

static int insert_user(tc_acl *a, tc_acl_user *u)
{
    int found;
    size_t at = find_slot(a, u->name, strlen(u->name), &found);
    tc_acl_user **v = realloc(a->users, (a->n + 1) * sizeof *v);
    if (!v) return -1;
    a->users = v;
    memmove(&v[at + 1], &v[at], (a->n - at) * sizeof *v);
    v[at] = u;
    a->n++;
    return 0;
}

int tc_acl_init(tc_acl *a)
{
    memset(a, 0, sizeof *a);
    tc_acl_user *u = user_new("default", 7);
    if (!u) return -1;
    u->on = 1;
    u->token_backed = 1;
    if (add_key(u, "*", 1, TC_ACL_READ | TC_ACL_WRITE) != 0 || add_chan(u, "*", 1) != 0 ||
        add_rule_string(u, "+@all") != 0 || compute_allowed(u) != 0 || insert_user(a, u) != 0) {
        user_free(u);
        tc_acl_free(a);
        return -1;
    }
    return 0;
}

int tc_acl_init_from(tc_acl *a, const char *text, const char *token, char *err, size_t errlen)
{
    if (tc_acl_init(a) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!text) return 0;
    if (!(a->initial = strdup(text))) {
        tc_acl_free(a);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int lineno = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        lineno++;
        char line[4096];
        if (len >= sizeof line) {
            snprintf(err, errlen, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
            tc_acl_free(a);
            return -1;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] == '\n');
        tc_slice v[256];
        size_t n = 0;
        for (char *t = strtok(line, " \t\r"); t && n < 256; t = strtok(NULL, " \t\r")) v[n++] = (tc_slice){t, strlen(t)};
        if (n == 0 || v[0].p[0] == '#') continue;
        char why[512];
        if (n < 2 || strcmp(v[0].p, "user") != 0) {
            snprintf(err, errlen, "line %d: expected 'user <name> <rules...>'", lineno);
            tc_acl_free(a);
            return -1;
        }
        if (tc_acl_setuser(a, v[1].p, v[1].len, n - 2, v + 2, token, why, sizeof why) != 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            tc_acl_free(a);
            return -1;
        }
    }
    a->changed = 0; /* what every node makes from cluster.toml alike */
    return 0;
}

void tc_acl_free(tc_acl *a)
{
    free(a->initial);
    for (size_t i = 0; i < a->n; i++) user_free(a->users[i]);
    free(a->users);
    tc_acl_log_reset(a);
    free(a->log);
    memset(a, 0, sizeof *a);
}

static int valid_username(const char *name, size_t len, char *err, size_t errlen)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] == ' ' || name[i] == '\0') {
            snprintf(err, errlen, "ERR Usernames can't contain spaces or null characters");
            return -1;
        }
    return 0;
}

/* Builds the user's next state in a scratch copy: 0 with *out, or -1. */
static int build(const tc_acl *a, const char *name, size_t nlen, size_t nrules, const tc_slice *rules,
                 const char *token, tc_acl_user **out, char *err, size_t errlen)
{
    if (valid_username(name, nlen, err, errlen) != 0) return -1;
    tc_acl_user *old = tc_acl_find(a, name, nlen);
    tc_acl_user *u = user_new(name, nlen);
    if (!u || (old && user_copy(u, old) != 0)) {
        user_free(u);
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    for (size_t i = 0; i < nrules; i++) {
        const char *why = ERR_SYNTAX;
        int rc = apply_rule(u, rules[i].p, rules[i].len, token, &why);
        if (rc == -1) {
            user_free(u);
            snprintf(err, errlen, "ERR out of memory");
            return -1;
        }
        if (rc != 0) {
            snprintf(err, errlen, "ERR Error in ACL SETUSER modifier '%.*s': %s",
                     (int)(rules[i].len > 128 ? 128 : rules[i].len), rules[i].p, why);
            user_free(u);
            return -1;
        }
    }
    if (compute_allowed(u) != 0) {
        user_free(u);
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    *out = u;
    return 0;
}

int tc_acl_setuser_check(const tc_acl *a, const char *name, size_t nlen, size_t nrules, const tc_slice *rules,
                         const char *token, char *err, size_t errlen)
{
    tc_acl_user *u;
    if (build(a, name, nlen, nrules, rules, token, &u, err, errlen) != 0) return -1;
    user_free(u);
    return 0;
}

int tc_acl_setuser(tc_acl *a, const char *name, size_t nlen, size_t nrules, const tc_slice *rules, const char *token,
                   char *err, size_t errlen)
{
    tc_acl_user *u;
    if (build(a, name, nlen, nrules, rules, token, &u, err, errlen) != 0) return -1;
    tc_acl_user *old = tc_acl_find(a, name, nlen);
    if (!old) {
        if (insert_user(a, u) != 0) {
            user_free(u);
            snprintf(err, errlen, "ERR out of memory");
            return -1;
        }
    } else {
        /* the old struct stays where it is (connections point at it) and
         * takes the new contents */
        tc_acl_user tmp = *old;
        char *spare = u->name; /* the scratch copy's own name, freed with the old contents */
        *old = *u;
        old->name = tmp.name;
        *u = tmp;
        u->name = spare;
        user_free(u);
    }
    a->changed = 1;
    return 0;
}

int tc_acl_deluser(tc_acl *a, const char *name, size_t nlen, char *err, size_t errlen)
{
    if (nlen == 7 && memcmp(name, "default", 7) == 0) {
        snprintf(err, errlen, "ERR The 'default' user cannot be removed");
        return -1;
    }
    int found;
    size_t i = find_slot(a, name, nlen, &found);
    if (!found) return 0;
    user_free(a->users[i]);
    memmove(&a->users[i], &a->users[i + 1], (a->n - i - 1) * sizeof a->users[0]);
    a->n--;
    a->changed = 1;
    return 1;
}

void tc_acl_swap_users(tc_acl *a, tc_acl *fresh)
{
    tc_acl_user **u = a->users;
    size_t n = a->n;
    a->users = fresh->users;
    a->n = fresh->n;
    fresh->users = u;
    fresh->n = n;
    a->changed = 1;
}

int tc_acl_password_ok(const tc_acl_user *u, const char *token, const char *pass, size_t plen)
{
    if (!u || !u->on) return 0;
    if (u->token_backed) {
        if (!token || !token[0]) return 1;
        size_t tl = strlen(token);
        /* compare hashes: same length whatever was tried */
        char a[TC_ACL_HASH_HEX + 1], b[TC_ACL_HASH_HEX + 1];
        tc_acl_hash(token, tl, a);
        tc_acl_hash(pass, plen, b);
        return equal_const_time(a, b, TC_ACL_HASH_HEX);
    }
    if (u->nopass) return 1;
    char h[TC_ACL_HASH_HEX + 1];
    tc_acl_hash(pass, plen, h);
    int ok = 0;
    for (size_t i = 0; i < u->npw; i++) ok |= equal_const_time(h, u->pw[i], TC_ACL_HASH_HEX);
    return ok;
}

int tc_acl_default_nopass(const tc_acl *a, const char *token)
{
    const tc_acl_user *u = tc_acl_default(a);
    if (!u || !u->on) return 0;
    return u->token_backed ? !(token && token[0]) : u->nopass;
}

/* ---- the check ------------------------------------------------------------ */

/* The subcommand as the table names it (lowercase), or "" if none/unknown. */
static void subcommand_of(const tc_cmd *cmd, size_t argc, const tc_slice *argv, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!cmd->subcommands || argc < 2 || argv[1].len >= outlen) return;
    if (!word_in_list(cmd->subcommands, argv[1].p, argv[1].len)) return;
    for (size_t i = 0; i < argv[1].len; i++) out[i] = (char)tolower((unsigned char)argv[1].p[i]);
    out[argv[1].len] = '\0';
}

void tc_acl_cmd_fullname(const tc_cmd *cmd, size_t argc, const tc_slice *argv, char *out, size_t outlen)
{
    char sub[32];
    subcommand_of(cmd, argc, argv, sub, sizeof sub);
    if (sub[0]) snprintf(out, outlen, "%s|%s", cmd->name, sub);
    else snprintf(out, outlen, "%s", cmd->name);
}

static int key_ok(const tc_acl_user *u, const tc_slice *k, unsigned need)
{
    for (size_t i = 0; i < u->nkeys; i++) {
        const tc_acl_pattern *p = &u->keys[i];
        if ((p->flags & need) != need) continue;
        if (tc_glob_match(p->pat, p->len, k->p, k->len, 0)) return 1;
    }
    return 0;
}

/* Each key the command names with what it does with it; the first refused
 * one's index in *where. */
static int check_keys(const tc_acl_user *u, const tc_cmd *cmd, const struct tc_acl_cmdspec *sp, size_t argc,
                      const tc_slice *argv, size_t *where)
{
    unsigned base = sp->base;
    if (sp->set_get) /* SET ... GET answers the old value */
        for (size_t i = 3; i < argc; i++)
            if (tc_arg_is(&argv[i], "get")) base |= TC_ACL_READ;
    if (sp->kind == KS_NUMKEYS) {
        long long n;
        size_t at = (size_t)sp->numkeys;
        if (at >= argc || tc_parse_ll(argv[at].p, argv[at].len, &n) != 0 || n < 0)
            return 1; /* the command refuses its own arguments */
        unsigned src = sp->dest ? TC_ACL_READ : base;
        if (sp->dest && !key_ok(u, &argv[sp->dest], TC_ACL_WRITE)) {
            *where = (size_t)sp->dest;
            return 0;
        }
        for (size_t k = at + 1; k < argc && k <= at + (size_t)n; k++)
            if (!key_ok(u, &argv[k], src)) {
                *where = k;
                return 0;
            }
        return 1;
    }
    if (sp->kind == KS_STREAMS) {
        size_t at = 1;
        while (at < argc && !tc_arg_is(&argv[at], "streams"))
            at += tc_arg_is(&argv[at], "block") || tc_arg_is(&argv[at], "count") ? 2 : 1;
        size_t n = at < argc ? (argc - at - 1) / 2 : 0;
        for (size_t k = at + 1; k <= at + n; k++)
            if (!key_ok(u, &argv[k], base)) {
                *where = k;
                return 0;
            }
        return 1;
    }
    if (cmd->first_key <= 0) return 1;
    size_t last = cmd->last_key < 0 ? (size_t)((long)argc + cmd->last_key) : (size_t)cmd->last_key;
    size_t step = cmd->key_step > 0 ? (size_t)cmd->key_step : 1;
    size_t first = (size_t)cmd->first_key;
    for (size_t i = first; i <= last && i < argc; i += step) {
        unsigned need = base;
        if (sp->kind == KS_STORE) need = i == first ? sp->first : TC_ACL_READ;
        else if (sp->kind == KS_MOVES) need = i == first ? TC_ACL_READ | TC_ACL_WRITE : TC_ACL_WRITE;
        else if (sp->kind == KS_COPY) need = i == first ? TC_ACL_READ : TC_ACL_WRITE;
        if (!key_ok(u, &argv[i], need)) {
            *where = i;
            return 0;
        }
    }
    return 1;
}

static int chan_ok(const tc_acl_user *u, const tc_slice *ch, int literal)
{
    for (size_t i = 0; i < u->nchans; i++) {
        const char *p = u->chans[i].pat;
        size_t pl = u->chans[i].len;
        if (pl == 1 && p[0] == '*') return 1;
        if (literal ? (pl == ch->len && memcmp(p, ch->p, pl) == 0) : tc_glob_match(p, pl, ch->p, ch->len, 0))
            return 1;
    }
    return 0;
}

static int check_channels(const tc_acl_user *u, const struct tc_acl_cmdspec *sp, size_t argc, const tc_slice *argv,
                          size_t *where)
{
    if (sp->chans == CH_NONE) return 1;
    size_t to = sp->chans == CH_FIRST ? 1 : argc - 1;
    for (size_t i = 1; i <= to && i < argc; i++)
        if (!chan_ok(u, &argv[i], sp->chans == CH_ALL_LITERAL)) {
            *where = i;
            return 0;
        }
    return 1;
}

int tc_acl_check(const tc_acl_user *u, const tc_cmd *cmd, size_t argc, const tc_slice *argv, size_t *where)
{
    *where = 0;
    if (u->unrestricted || (cmd->flags & TC_CMD_NOAUTH)) return TC_ACL_OK; /* NOAUTH ones (AUTH, HELLO...): always, as Redis */
    size_t n;
    const tc_cmd *t = tc_cmd_table(&n);
    int allowed;
    if (cmd->subcommands && argc >= 2) {
        char sub[32];
        subcommand_of(cmd, argc, argv, sub, sizeof sub);
        allowed = replay(u, cmd, sub[0] ? sub : NULL);
    } else {
        allowed = u->allowed && u->allowed[cmd - t];
    }
    if (!allowed) return TC_ACL_DENIED_CMD;
    const struct tc_acl_cmdspec *sp = &u->specs[cmd - t];
    if (!u->all_keys && !check_keys(u, cmd, sp, argc, argv, where)) return TC_ACL_DENIED_KEY;
    if (!u->all_chans && !check_channels(u, sp, argc, argv, where)) return TC_ACL_DENIED_CHANNEL;
    return TC_ACL_OK;
}

/* ---- text forms ------------------------------------------------------------ */

size_t tc_acl_hashes(const tc_acl_user *u, const char *token, char out[][TC_ACL_HASH_HEX + 1], size_t max)
{
    if (u->token_backed) {
        if (!token || !token[0] || max == 0) return 0;
        tc_acl_hash(token, strlen(token), out[0]);
        return 1;
    }
    size_t n = u->npw < max ? u->npw : max;
    for (size_t i = 0; i < n; i++) memcpy(out[i], u->pw[i], TC_ACL_HASH_HEX + 1);
    return n;
}

void tc_acl_describe_commands(const tc_acl_user *u, tc_buf *b)
{
    size_t start = b->len;
    if (u->nrules == 0 || (strcmp(u->rules[0], "+@all") != 0 && strcmp(u->rules[0], "-@all") != 0))
        tc_buf_printf(b, "-@all");
    for (size_t i = 0; i < u->nrules; i++) tc_buf_printf(b, "%s%s", b->len > start ? " " : "", u->rules[i]);
}

void tc_acl_describe_keys(const tc_acl_user *u, tc_buf *b)
{
    for (size_t i = 0; i < u->nkeys; i++) {
        const tc_acl_pattern *p = &u->keys[i];
        const char *pre = p->flags == TC_ACL_READ ? "%R~" : p->flags == TC_ACL_WRITE ? "%W~" : "~";
        tc_buf_printf(b, "%s%s", i ? " " : "", pre);
        tc_buf_append(b, p->pat, p->len); /* patterns may hold any byte */
    }
}

void tc_acl_describe_channels(const tc_acl_user *u, tc_buf *b)
{
    for (size_t i = 0; i < u->nchans; i++) {
        tc_buf_printf(b, "%s&", i ? " " : "");
        tc_buf_append(b, u->chans[i].pat, u->chans[i].len);
    }
}

static int user_nopass(const tc_acl_user *u, const char *token)
{
    return u->token_backed ? !(token && token[0]) : u->nopass;
}

/* Everything but the name, as SETUSER rules separated by spaces. */
static void describe_rules(const tc_acl_user *u, const char *token, tc_buf *b)
{
    tc_buf_printf(b, "%s", u->on ? "on" : "off");
    if (user_nopass(u, token)) tc_buf_printf(b, " nopass");
    if (u->token_backed) {
        char h[1][TC_ACL_HASH_HEX + 1];
        if (tc_acl_hashes(u, token, h, 1)) tc_buf_printf(b, " #%s", h[0]);
    } else {
        for (size_t i = 0; i < u->npw; i++) tc_buf_printf(b, " #%s", u->pw[i]);
    }
    if (u->nkeys) {
        tc_buf_printf(b, " ");
        tc_acl_describe_keys(u, b);
    }
    if (has_all_chans(u)) {
        tc_buf_printf(b, " &*");
    } else {
        tc_buf_printf(b, " resetchannels");
        for (size_t i = 0; i < u->nchans; i++) {
            tc_buf_printf(b, " &");
            tc_buf_append(b, u->chans[i].pat, u->chans[i].len);
        }
    }
    tc_buf_printf(b, " ");
    tc_acl_describe_commands(u, b);
}

void tc_acl_describe(const tc_acl_user *u, const char *token, tc_buf *b)
{
    tc_buf_printf(b, "user %s ", u->name);
    describe_rules(u, token, b);
}

/* Appends one rule to text and its offset to off (a NUL ends each). */
static int push_rule(tc_buf *text, size_t **off, size_t *n, size_t *cap, const char *pre, const char *p, size_t len)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        size_t *v = realloc(*off, c * sizeof *v);
        if (!v) return -1;
        *off = v;
        *cap = c;
    }
    (*off)[(*n)++] = text->len;
    tc_buf_append(text, pre, strlen(pre));
    tc_buf_append(text, p, len);
    tc_buf_append(text, "", 1);
    return text->oom ? -1 : 0;
}

void tc_acl_each(const tc_acl *a, const char *token, tc_acl_user_fn fn, void *ud)
{
    for (size_t i = 0; i < a->n; i++) {
        const tc_acl_user *u = a->users[i];
        /* one rule per slice (patterns may hold spaces), every password and
         * pattern however many */
        tc_buf text = {0};
        size_t *off = NULL, n = 0, cap = 0;
        int bad = push_rule(&text, &off, &n, &cap, "", "reset", 5) || push_rule(&text, &off, &n, &cap, "", u->on ? "on" : "off", u->on ? 2 : 3);
        if (user_nopass(u, token)) bad |= push_rule(&text, &off, &n, &cap, "", "nopass", 6);
        if (u->token_backed) {
            char h[TC_ACL_HASH_HEX + 1];
            if (token && token[0]) {
                tc_acl_hash(token, strlen(token), h);
                bad |= push_rule(&text, &off, &n, &cap, "#", h, TC_ACL_HASH_HEX);
            }
        } else {
            for (size_t k = 0; k < u->npw; k++) bad |= push_rule(&text, &off, &n, &cap, "#", u->pw[k], TC_ACL_HASH_HEX);
        }
        for (size_t k = 0; k < u->nkeys; k++) {
            const tc_acl_pattern *p = &u->keys[k];
            const char *pre = p->flags == TC_ACL_READ ? "%R~" : p->flags == TC_ACL_WRITE ? "%W~" : "~";
            bad |= push_rule(&text, &off, &n, &cap, pre, p->pat, p->len);
        }
        for (size_t k = 0; k < u->nchans; k++) bad |= push_rule(&text, &off, &n, &cap, "&", u->chans[k].pat, u->chans[k].len);
        for (size_t k = 0; k < u->nrules; k++) bad |= push_rule(&text, &off, &n, &cap, "", u->rules[k], strlen(u->rules[k]));
        tc_slice *r = bad ? NULL : calloc(n, sizeof *r);
        if (r) {
            for (size_t k = 0; k < n; k++) /* a pattern may hold NUL bytes: lengths from the offsets */
                r[k] = (tc_slice){text.data + off[k], (k + 1 < n ? off[k + 1] : text.len) - off[k] - 1};
            fn(ud, u->name, n, r);
        }
        free(r);
        free(off);
        tc_buf_free(&text);
    }
}

/* ---- ACL LOG ---------------------------------------------------------------- */

static void log_entry_free(tc_acl_log_entry *e)
{
    free(e->object);
    free(e->username);
    free(e->client_info);
}

void tc_acl_log_reset(tc_acl *a)
{
    for (size_t i = 0; i < a->nlog; i++) log_entry_free(&a->log[i]);
    a->nlog = 0;
}

void tc_acl_log_add(tc_acl *a, const char *reason, const char *context, const char *object, const char *username,
                    const char *client_info, int64_t now_ms, size_t max)
{
    if (max == 0) return;
    for (size_t i = 0; i < a->nlog; i++) {
        tc_acl_log_entry *e = &a->log[i];
        if (now_ms - e->updated_ms < 60000 && strcmp(e->reason, reason) == 0 && strcmp(e->context, context) == 0 &&
            strcmp(e->object, object) == 0 && strcmp(e->username, username) == 0) {
            e->count++;
            e->updated_ms = now_ms;
            char *ci = strdup(client_info);
            if (ci) {
                free(e->client_info);
                e->client_info = ci;
            }
            /* the most recent goes first */
            tc_acl_log_entry t = *e;
            memmove(&a->log[1], &a->log[0], i * sizeof t);
            a->log[0] = t;
            return;
        }
    }
    tc_acl_log_entry e = {.count = 1, .created_ms = now_ms, .updated_ms = now_ms};
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    snprintf(e.context, sizeof e.context, "%s", context);
    e.object = strdup(object);
    e.username = strdup(username);
    e.client_info = strdup(client_info);
    if (!e.object || !e.username || !e.client_info) {
        log_entry_free(&e);
        return;
    }
    while (a->nlog >= max) log_entry_free(&a->log[--a->nlog]);
    tc_acl_log_entry *v = realloc(a->log, (a->nlog + 1) * sizeof *v);
    if (!v) {
        log_entry_free(&e);
        return;
    }
    a->log = v;
    memmove(&v[1], &v[0], a->nlog * sizeof *v);
    v[0] = e;
    a->nlog++;
}
