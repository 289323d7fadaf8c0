/* The ACL command categories (Redis 7.0's 21, in ACL CAT's order) and
 * which of them a command, or one of its subcommands, belongs to. They
 * follow from the command table (group, flags) with Redis's exceptions
 * (@dangerous commands that are not @admin, subcommands whose categories
 * differ from their container's). */
#ifndef TC_ACL_CAT_H
#define TC_ACL_CAT_H

#include <stddef.h>
#include <stdint.h>

struct tc_cmd;

#define TC_ACL_NCATS 21

/* The category's index from its name without '@' (case-insensitive), or -1. */
int tc_acl_cat_lookup(const char *name, size_t len);
const char *tc_acl_cat_name(int cat);
/* Bit i set: the command is in category i. sub is the lowercase
 * subcommand of a container command (NULL: the container itself). */
uint32_t tc_acl_cmd_cats(const struct tc_cmd *cmd, const char *sub);

/* What ACL CAT lists a container command itself under (Redis: @slow, and
 * COMMAND also @connection); its subcommands are listed one by one. */
uint32_t tc_acl_container_cats(const struct tc_cmd *cmd);

#endif
