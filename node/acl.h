/* Users and what they may do, in Redis 7.0's ACL rule syntax: the user
 * store, the SETUSER rule parser, the permission check dispatch runs before
 * a command, the ACL LOG, and the text forms ACL LIST / GETUSER show.
 *
 * The store is cluster state: ACL SETUSER / DELUSER reach it on every node
 * through the log, and snapshots carry it, so it must change only through
 * tc_acl_setuser / tc_acl_deluser / tc_acl_replace (deterministic: the same
 * calls give the same users everywhere). The "default" user is backed by the
 * node's auth_token (its password) until a rule changes its passwords; it is
 * then an ordinary user holding those hashes. */
#ifndef TC_ACL_H
#define TC_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct tc_cmd;
struct tc_slice;

/* What a key pattern lets a command do with a key (%R~, %W~, ~ = both). */
enum { TC_ACL_READ = 1, TC_ACL_WRITE = 2 };

#define TC_ACL_HASH_HEX 64

typedef struct tc_acl_pattern {
    char *pat;
    size_t len;
    unsigned flags;               /* TC_ACL_READ | TC_ACL_WRITE */
} tc_acl_pattern;

typedef struct tc_acl_user {
    char *name;
    int on;
    int nopass;
    /* default user only: the password is the node's auth_token (empty:
     * nopass), as before users existed; cleared by the first rule that
     * touches its passwords */
    int token_backed;
    char (*pw)[TC_ACL_HASH_HEX + 1]; /* SHA-256 hex of each password */
    size_t npw;
    tc_acl_pattern *keys;
    size_t nkeys;
    tc_acl_pattern *chans;        /* &pattern (flags unused) */
    size_t nchans;
    /* command rules in the order they were given, normalized ("+@all",
     * "-@all" restart the list): the ACL LIST form and what the check
     * replays for container commands */
    char **rules;
    size_t nrules;
    uint8_t *allowed;             /* per command-table row, rules replayed without subcommand rules */
    int sub_rules;                /* some rule names a subcommand (cmd|sub) */
    int unrestricted;             /* +@all, ~*, &*: the check has nothing to look at */
    int all_keys, all_chans;      /* ~* (read and write), &* */
    struct tc_acl_cmdspec *specs; /* per command-table row: how it uses keys and channels */
} tc_acl_user;

/* One ACL LOG entry (a refused command, key, channel or AUTH). */
typedef struct tc_acl_log_entry {
    uint64_t count;
    char reason[16];              /* command | key | channel | auth */
    char context[16];             /* toplevel | multi */
    char *object, *username, *client_info;
    int64_t created_ms, updated_ms;
} tc_acl_log_entry;

typedef struct tc_acl {
    tc_acl_user **users;          /* sorted by name */
    size_t n;
    /* set once a SETUSER/DELUSER was applied or users were loaded from an
     * image: snapshots then carry the users (an untouched store is what
     * every node builds from cluster.toml, and older readers never see the
     * record type) */
    int changed;
    tc_acl_log_entry *log;        /* newest first */
    size_t nlog;
    uint64_t denied_cmd, denied_key, denied_channel;
    /* acl_file's text, read once at start: the users a node begins with
     * (and goes back to when an image holds none); NULL if none */
    char *initial;
} tc_acl;

/* A fresh store holding only "default": on, every command, key and
 * channel, its password the auth_token (none if empty). */
int tc_acl_init(tc_acl *a);
void tc_acl_free(tc_acl *a);
/* The same, then the users of an ACL file's text (Redis's format: one
 * "user <name> <rules...>" per line; blank lines and # comments skipped),
 * kept as a->initial. On a bad line: -1, err names it, a is freed. */
int tc_acl_init_from(tc_acl *a, const char *text, const char *token, char *err, size_t errlen);

tc_acl_user *tc_acl_find(const tc_acl *a, const char *name, size_t len);
/* "default" (always present). */
tc_acl_user *tc_acl_default(const tc_acl *a);

/* ACL SETUSER name rule...: all rules or none; creates the user if it does
 * not exist. err gets Redis's wording ("ERR Error in ACL SETUSER modifier
 * ..."). token is the node's auth_token (the default user's password
 * while it is token-backed). 0 or -1. */
int tc_acl_setuser(tc_acl *a, const char *name, size_t nlen, size_t nrules, const struct tc_slice *rules,
                   const char *token, char *err, size_t errlen);
/* Checks rules without changing anything (the primary before logging). */
int tc_acl_setuser_check(const tc_acl *a, const char *name, size_t nlen, size_t nrules,
                         const struct tc_slice *rules, const char *token, char *err, size_t errlen);
/* Removes a user; 1 removed, 0 no such user, -1 "default" (err set).
 * Callers disconnect the clients authenticated as it first. */
int tc_acl_deluser(tc_acl *a, const char *name, size_t nlen, char *err, size_t errlen);

/* AUTH's check: 1 if user may log in with pass. token as above. */
int tc_acl_password_ok(const tc_acl_user *u, const char *token, const char *pass, size_t plen);
/* Whether a connection starts logged in as default (on, no password). */
int tc_acl_default_nopass(const tc_acl *a, const char *token);

/* Why a command is refused (0: allowed). */
enum { TC_ACL_OK = 0, TC_ACL_DENIED_CMD, TC_ACL_DENIED_KEY, TC_ACL_DENIED_CHANNEL };
/* The check dispatch runs: the command (and its subcommand), then each key
 * it names against the patterns (read or write as the command uses it),
 * then channels. *where is the argument index of the refused key/channel. */
int tc_acl_check(const tc_acl_user *u, const struct tc_cmd *cmd, size_t argc, const struct tc_slice *argv,
                 size_t *where);
/* The name Redis reports for a command: "set", "config|get". */
void tc_acl_cmd_fullname(const struct tc_cmd *cmd, size_t argc, const struct tc_slice *argv, char *out,
                         size_t outlen);

/* Text forms. */
void tc_acl_describe(const tc_acl_user *u, const char *token, tc_buf *b);      /* "user x on ..." */
void tc_acl_describe_commands(const tc_acl_user *u, tc_buf *b);                 /* "-@all +get" */
void tc_acl_describe_keys(const tc_acl_user *u, tc_buf *b);                     /* "~a* %R~b*" */
void tc_acl_describe_channels(const tc_acl_user *u, tc_buf *b);                 /* "&c*" */
/* The passwords' hashes as shown (the token's while token-backed). */
size_t tc_acl_hashes(const tc_acl_user *u, const char *token, char out[][TC_ACL_HASH_HEX + 1], size_t max);

/* SHA-256 of a password as 64 lowercase hex digits (Redis's #hash). */
void tc_acl_hash(const char *pass, size_t len, char out[TC_ACL_HASH_HEX + 1]);

/* The users as rule lists, for images: each user's name and the rules
 * SETUSER accepts that rebuild it from nothing (passwords as #hash, never
 * in clear). */
typedef void (*tc_acl_user_fn)(void *ud, const char *name, size_t nrules, const struct tc_slice *rules);
void tc_acl_each(const tc_acl *a, const char *token, tc_acl_user_fn fn, void *ud);
/* Replaces every user with those of an image: a store built by the caller
 * (tc_acl_init, then tc_acl_setuser per user) swapped in; the log and
 * counters stay. */
void tc_acl_swap_users(tc_acl *a, tc_acl *fresh);

/* ACL LOG: records a refusal (grouped with an identical one of the last
 * 60 s, as Redis), keeping at most max entries. */
void tc_acl_log_add(tc_acl *a, const char *reason, const char *context, const char *object, const char *username,
                    const char *client_info, int64_t now_ms, size_t max);
void tc_acl_log_reset(tc_acl *a);

#define TC_ERR_NOPERM_KEY "NOPERM this user has no permissions to access one of the keys used as arguments"
#define TC_ERR_NOPERM_CHANNEL "NOPERM this user has no permissions to access one of the channels used as arguments"

#endif
