/* The node's side of users (acl.h holds the store): the ACL command, AUTH's
 * check, the permission check dispatch runs, DEBUG for remote clients, and
 * keeping connections pointed at their users when the store changes. */
#ifndef TC_CMD_ACL_H
#define TC_CMD_ACL_H

#include <stddef.h>

#include "commands.h"

struct tc_server;
struct tc_client;
struct tc_acl;

/* The users a node starts with: default, and acl_file's if set (read
 * once). 0, or -1 with err (a bad file stops the start). */
int tc_server_acl_start(struct tc_server *s, char *err, size_t errlen);
/* Those same users again (an image without users was loaded). */
int tc_server_acl_initial(const struct tc_server *s, struct tc_acl *out);

/* AUTH / HELLO AUTH: user NULL = default. 0 logged in (the client's user
 * set), or -1 with the error replied (WRONGPASS counted, logged, and in
 * ACL LOG). */
int tc_acl_authenticate(tc_ctx *c, const tc_slice *user, const tc_slice *pass);
/* A new or RESET connection: logged in as default if it has no password. */
void tc_acl_client_start(struct tc_server *s, struct tc_client *c);

/* Before a client's command runs (dispatch's admit): DEBUG from a remote
 * address unless enable_debug_command or the user allows it, then the
 * user's permissions. 0 allowed, or -1 with the error replied (and the
 * refusal counted and in ACL LOG). */
int tc_acl_admit(struct tc_server *s, struct tc_client *c, const tc_cmd *cmd, size_t argc, const tc_slice *argv,
                 tc_reply *r, int in_multi);

/* The user a client's commands run as. */
struct tc_acl_user;
const struct tc_acl_user *tc_acl_client_user(const struct tc_server *s, const struct tc_client *c);

/* 1 for ACL SETUSER / DELUSER: cluster state, written through the log. */
int tc_acl_cmd_changes_users(size_t argc, const tc_slice *argv);
/* The primary's check before logging one (0, or -1 with err). */
int tc_acl_cmd_check(struct tc_server *s, size_t argc, const tc_slice *argv, char *err, size_t errlen);
/* The form written to the log: clear passwords (>p, <p) replaced by their
 * hashes (#h, !h) so no secret reaches the log or a snapshot. Returns an
 * argv the caller frees with tc_acl_logged_free, or NULL (out of memory). */
tc_slice *tc_acl_logged_form(size_t argc, const tc_slice *argv);
void tc_acl_logged_free(tc_slice *v, size_t argc);

/* Replaces the node's users with fresh's (an image's users, built with
 * tc_acl_init and tc_acl_setuser): connections follow their user by name,
 * those whose user is gone are closed. fresh is emptied and freed. */
void tc_acl_install_users(struct tc_server *s, struct tc_acl *fresh);

/* 1 if the address ("ip:port", "[ip]:port") is 127.0.0.1 or ::1: what
 * Redis counts as a local connection for enable-debug-command. */
int tc_acl_addr_is_local(const char *addr);

#endif
