/* The command table and the argument helpers every handler uses. */
#include "commands.h"
#include "script.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define W TC_CMD_WRITE
#define R TC_CMD_READONLY
#define F TC_CMD_FAST
#define A TC_CMD_ADMIN
#define NA TC_CMD_NOAUTH
#define OOM TC_CMD_DENYOOM
#define LD TC_CMD_LOADING
#define ST TC_CMD_STALE
#define CN TC_CMD_CONNECTION
#define PS TC_CMD_PUBSUB_OK
#define BL TC_CMD_BLOCKING

/* Sorted by name (COMMAND lists them in this order; a unit test checks
 * it). Arity, flags and key positions are Redis 7's. */
static const tc_cmd table[] = {
    {"acl", tc_cmd_acl, -2, LD | ST, 0, 0, 0, "server", "6.0.0", "A container for Access List Control commands (users are cluster state: SETUSER and DELUSER go through the log).", "cat deluser genpass getuser help list load log save setuser users whoami"},
    {"append", tc_cmd_append, 3, W | OOM | F, 1, 1, 1, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", NULL},
    {"auth", tc_cmd_auth, -2, NA | LD | ST | F | CN, 0, 0, 0, "connection", "1.0.0", "Authenticates the connection.", NULL},
    {"bgsave", tc_cmd_bgsave, -1, A, 0, 0, 0, "server", "1.0.0", "Asynchronously saves the database(s) to disk.", NULL},
    {"bitcount", tc_cmd_bitcount, -2, R, 1, 1, 1, "bitmap", "2.6.0", "Counts the number of set bits (population counting) in a string.", NULL},
    {"bitfield", tc_cmd_bitfield, -2, W | OOM, 1, 1, 1, "bitmap", "3.2.0", "Performs arbitrary bitfield integer operations on strings.", NULL},
    {"bitfield_ro", tc_cmd_bitfield_ro, -2, R | F, 1, 1, 1, "bitmap", "6.0.0", "Performs arbitrary read-only bitfield integer operations on strings.", NULL},
    {"bitop", tc_cmd_bitop, -4, W | OOM, 2, -1, 1, "bitmap", "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.", NULL},
    {"bitpos", tc_cmd_bitpos, -3, R, 1, 1, 1, "bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", NULL},
    {"blmove", tc_cmd_blmove, 6, W | OOM | BL, 1, 2, 1, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", NULL},
    {"blmpop", tc_cmd_blmpop, -5, W | BL, 0, 0, 0, "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", NULL},
    {"blpop", tc_cmd_blpop, -3, W | BL, 1, -2, 1, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", NULL},
    {"brpop", tc_cmd_brpop, -3, W | BL, 1, -2, 1, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", NULL},
    {"brpoplpush", tc_cmd_brpoplpush, 4, W | OOM | BL, 1, 2, 1, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", NULL},
    {"bzmpop", tc_cmd_bzmpop, -5, W | BL, 0, 0, 0, "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", NULL},
    {"bzpopmax", tc_cmd_bzpopmax, -3, W | F | BL, 1, -2, 1, "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped.", NULL},
    {"bzpopmin", tc_cmd_bzpopmin, -3, W | F | BL, 1, -2, 1, "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", NULL},
    {"client", tc_cmd_client, -2, A | LD | ST | CN, 0, 0, 0, "connection", "2.4.0", "A container for client connection commands.", "id setname getname list kill info unblock help"},
    {"cluster", tc_cmd_cluster, -2, LD | ST, 0, 0, 0, "cluster", "3.0.0", "Cluster topology (cluster_mode: one shard with every slot).", NULL},
    {"command", tc_cmd_command, -1, LD | ST | CN, 0, 0, 0, "server", "2.8.13", "Returns detailed information about all commands.", "count info docs list help"},
    {"config", tc_cmd_config, -2, A | LD | ST, 0, 0, 0, "server", "2.0.0", "A container for server configuration commands.", "get set resetstat help"},
    {"copy", tc_cmd_copy, -3, W | OOM, 1, 2, 1, "generic", "6.2.0", "Copies the value of a key to a new key.", NULL},
    {"dbsize", tc_cmd_dbsize, 1, R | F, 0, 0, 0, "server", "1.0.0", "Returns the number of keys in the database.", NULL},
    {"debug", tc_cmd_debug, -2, A | LD | ST, 0, 0, 0, "server", "1.0.0", "DEBUG DIGEST: a hash of the whole keyspace; DEBUG POPULATE count [prefix] [size]; DEBUG SLEEP seconds.", NULL},
    {"decr", tc_cmd_decr, 2, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Decrements the integer value of a key by one.", NULL},
    {"decrby", tc_cmd_decrby, 3, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Decrements a number from the integer value of a key.", NULL},
    {"del", tc_cmd_del, -2, W, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.", NULL},
    {"discard", tc_cmd_discard, 1, LD | ST | F, 0, 0, 0, "transactions", "2.0.0", "Discards a transaction.", NULL},
    {"echo", tc_cmd_echo, 2, F | CN, 0, 0, 0, "connection", "1.0.0", "Returns the given string.", NULL},
    {"eval", tc_cmd_eval, -3, ST, 0, 0, 0, "scripting", "2.6.0", "Executes a server-side Lua script (its writes are replicated as one log entry).", NULL},
    {"eval_ro", tc_cmd_eval_ro, -3, R | ST, 0, 0, 0, "scripting", "7.0.0", "Executes a read-only server-side Lua script.", NULL},
    {"evalsha", tc_cmd_evalsha, -3, ST, 0, 0, 0, "scripting", "2.6.0", "Executes a server-side Lua script by SHA1 digest.", NULL},
    {"evalsha_ro", tc_cmd_evalsha_ro, -3, R | ST, 0, 0, 0, "scripting", "7.0.0", "Executes a read-only server-side Lua script by SHA1 digest.", NULL},
    {"exec", tc_cmd_exec, 1, LD | ST, 0, 0, 0, "transactions", "1.2.0", "Executes all commands in a transaction.", NULL},
    {"exists", tc_cmd_exists, -2, R | F, 1, -1, 1, "generic", "1.0.0", "Determines whether one or more keys exist.", NULL},
    {"expire", tc_cmd_expire, -3, W | F, 1, 1, 1, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", NULL},
    {"expireat", tc_cmd_expireat, -3, W | F, 1, 1, 1, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", NULL},
    {"expiretime", tc_cmd_expiretime, 2, R | F, 1, 1, 1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", NULL},
    {"failover", tc_cmd_failover, -1, A | ST, 0, 0, 0, "server", "6.2.0", "Starts a coordinated failover from the primary to a replica (a Raft leadership transfer).", NULL},
    {"fcall", tc_cmd_fcall, -3, ST, 0, 0, 0, "scripting", "7.0.0", "Invokes a function (its writes are replicated as one log entry).", NULL},
    {"fcall_ro", tc_cmd_fcall_ro, -3, R | ST, 0, 0, 0, "scripting", "7.0.0", "Invokes a read-only function.", NULL},
    {"flushall", tc_cmd_flushall, -1, W, 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases.", NULL},
    {"flushdb", tc_cmd_flushdb, -1, W, 0, 0, 0, "server", "1.0.0", "Remove all keys from the current database.", NULL},
    {"function", tc_cmd_function, -2, 0, 0, 0, 0, "scripting", "7.0.0", "A container for function commands (libraries are cluster state: LOAD, DELETE, FLUSH and RESTORE go through the log).", "delete dump flush help kill list load restore stats"},
    {"get", tc_cmd_get, 2, R | F, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key.", NULL},
    {"getbit", tc_cmd_getbit, 3, R | F, 1, 1, 1, "bitmap", "2.2.0", "Returns a bit value by offset.", NULL},
    {"getdel", tc_cmd_getdel, 2, W | F, 1, 1, 1, "string", "6.2.0", "Returns the string value of a key after deleting the key.", NULL},
    {"getex", tc_cmd_getex, -2, W | F, 1, 1, 1, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", NULL},
    {"getrange", tc_cmd_getrange, 4, R, 1, 1, 1, "string", "2.4.0", "Returns a substring of the string stored at a key.", NULL},
    {"getset", tc_cmd_getset, 3, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", NULL},
    {"hdel", tc_cmd_hdel, -3, W | F, 1, 1, 1, "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", NULL},
    {"hello", tc_cmd_hello, -1, NA | LD | ST | F | CN, 0, 0, 0, "connection", "6.0.0", "Handshakes with the server.", NULL},
    {"hexists", tc_cmd_hexists, 3, R | F, 1, 1, 1, "hash", "2.0.0", "Determines whether a field exists in a hash.", NULL},
    {"hget", tc_cmd_hget, 3, R | F, 1, 1, 1, "hash", "2.0.0", "Returns the value of a field in a hash.", NULL},
    {"hgetall", tc_cmd_hgetall, 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all fields and values in a hash.", NULL},
    {"hincrby", tc_cmd_hincrby, 4, W | OOM | F, 1, 1, 1, "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", NULL},
    {"hincrbyfloat", tc_cmd_hincrbyfloat, 4, W | OOM | F, 1, 1, 1, "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", NULL},
    {"hkeys", tc_cmd_hkeys, 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all fields in a hash.", NULL},
    {"hlen", tc_cmd_hlen, 2, R | F, 1, 1, 1, "hash", "2.0.0", "Returns the number of fields in a hash.", NULL},
    {"hmget", tc_cmd_hmget, -3, R | F, 1, 1, 1, "hash", "2.0.0", "Returns the values of all fields in a hash.", NULL},
    {"hmset", tc_cmd_hmset, -4, W | OOM | F, 1, 1, 1, "hash", "2.0.0", "Sets the values of multiple fields.", NULL},
    {"hrandfield", tc_cmd_hrandfield, -2, R, 1, 1, 1, "hash", "6.2.0", "Returns one or more random fields from a hash.", NULL},
    {"hscan", tc_cmd_hscan, -3, R, 1, 1, 1, "hash", "2.8.0", "Iterates over fields and values of a hash.", NULL},
    {"hset", tc_cmd_hset, -4, W | OOM | F, 1, 1, 1, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", NULL},
    {"hsetnx", tc_cmd_hsetnx, 4, W | OOM | F, 1, 1, 1, "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", NULL},
    {"hstrlen", tc_cmd_hstrlen, 3, R | F, 1, 1, 1, "hash", "3.2.0", "Returns the length of the value of a field.", NULL},
    {"hvals", tc_cmd_hvals, 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all values in a hash.", NULL},
    {"incr", tc_cmd_incr, 2, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by one.", NULL},
    {"incrby", tc_cmd_incrby, 3, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by a number.", NULL},
    {"incrbyfloat", tc_cmd_incrbyfloat, 3, W | OOM | F, 1, 1, 1, "string", "2.6.0", "Increment the floating point value of a key by a number.", NULL},
    {"info", tc_cmd_info, -1, LD | ST, 0, 0, 0, "server", "1.0.0", "Returns information and statistics about the server.", NULL},
    {"keys", tc_cmd_keys, 2, R, 0, 0, 0, "generic", "1.0.0", "Returns all key names that match a pattern.", NULL},
    {"lastsave", tc_cmd_lastsave, 1, LD | ST | F, 0, 0, 0, "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", NULL},
    {"latency", tc_cmd_latency, -2, A | LD | ST, 0, 0, 0, "server", "2.8.13", "A container for latency diagnostics commands.", "doctor graph history histogram latest reset help"},
    {"lcs", tc_cmd_lcs, -3, R, 1, 2, 1, "string", "7.0.0", "Finds the longest common substring.", NULL},
    {"lindex", tc_cmd_lindex, 3, R, 1, 1, 1, "list", "1.0.0", "Returns an element from a list by its index.", NULL},
    {"linsert", tc_cmd_linsert, 5, W | OOM, 1, 1, 1, "list", "2.2.0", "Inserts an element before or after another element in a list.", NULL},
    {"llen", tc_cmd_llen, 2, R | F, 1, 1, 1, "list", "1.0.0", "Returns the length of a list.", NULL},
    {"lmove", tc_cmd_lmove, 5, W | OOM, 1, 2, 1, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", NULL},
    {"lmpop", tc_cmd_lmpop, -4, W, 0, 0, 0, "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", NULL},
    {"lpop", tc_cmd_lpop, -2, W | F, 1, 1, 1, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", NULL},
    {"lpos", tc_cmd_lpos, -3, R, 1, 1, 1, "list", "6.0.6", "Returns the index of matching elements in a list.", NULL},
    {"lpush", tc_cmd_lpush, -3, W | OOM | F, 1, 1, 1, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", NULL},
    {"lpushx", tc_cmd_lpushx, -3, W | OOM | F, 1, 1, 1, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", NULL},
    {"lrange", tc_cmd_lrange, 4, R, 1, 1, 1, "list", "1.0.0", "Returns a range of elements from a list.", NULL},
    {"lrem", tc_cmd_lrem, 4, W, 1, 1, 1, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", NULL},
    {"lset", tc_cmd_lset, 4, W | OOM, 1, 1, 1, "list", "1.0.0", "Sets the value of an element in a list by its index.", NULL},
    {"ltrim", tc_cmd_ltrim, 4, W, 1, 1, 1, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", NULL},
    {"members", tc_cmd_members, -2, A | ST, 0, 0, 0, "server", "0.1.0", "MEMBERS LIST|ADD id|REMOVE id: the Raft voter set, changed one step at a time.", NULL},
    {"memory", tc_cmd_memory, -2, R, 2, 2, 1, "server", "4.0.0", "A container for memory diagnostics commands.", "doctor malloc-stats purge stats usage help"},
    {"mget", tc_cmd_mget, -2, R | F, 1, -1, 1, "string", "1.0.0", "Atomically returns the string values of one or more keys.", NULL},
    {"move", tc_cmd_move, 3, W | F, 1, 1, 1, "generic", "1.0.0", "Moves a key to another database.", NULL},
    {"mset", tc_cmd_mset, -3, W | OOM, 1, -1, 2, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", NULL},
    {"msetnx", tc_cmd_msetnx, -3, W | OOM, 1, -1, 2, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", NULL},
    {"multi", tc_cmd_multi, 1, LD | ST | F, 0, 0, 0, "transactions", "1.2.0", "Starts a transaction.", NULL},
    {"object", tc_cmd_object, -2, R, 2, 2, 1, "generic", "2.2.3", "A container for object introspection commands.", "encoding freq idletime refcount help"},
    {"persist", tc_cmd_persist, 2, W | F, 1, 1, 1, "generic", "2.2.0", "Removes the expiration time of a key.", NULL},
    {"pexpire", tc_cmd_pexpire, -3, W | F, 1, 1, 1, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", NULL},
    {"pexpireat", tc_cmd_pexpireat, -3, W | F, 1, 1, 1, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", NULL},
    {"pexpiretime", tc_cmd_pexpiretime, 2, R | F, 1, 1, 1, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", NULL},
    {"pfadd", tc_cmd_pfadd, -2, W | OOM | F, 1, 1, 1, "hyperloglog", "2.8.9", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", NULL},
    {"pfcount", tc_cmd_pfcount, -2, R, 1, -1, 1, "hyperloglog", "2.8.9", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", NULL},
    {"pfmerge", tc_cmd_pfmerge, -2, W | OOM, 1, -1, 1, "hyperloglog", "2.8.9", "Merges one or more HyperLogLog values into a single key.", NULL},
    {"ping", tc_cmd_ping, -1, F | ST | CN | PS, 0, 0, 0, "connection", "1.0.0", "Returns the server's liveliness response.", NULL},
    {"psetex", tc_cmd_psetex, 4, W | OOM, 1, 1, 1, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key.", NULL},
    {"psubscribe", tc_cmd_psubscribe, -2, LD | ST | CN | PS, 0, 0, 0, "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", NULL},
    {"pttl", tc_cmd_pttl, 2, R | F, 1, 1, 1, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", NULL},
    {"publish", tc_cmd_publish, 3, LD | ST | F, 0, 0, 0, "pubsub", "2.0.0", "Posts a message to a channel (this node's subscribers).", NULL},
    {"punsubscribe", tc_cmd_punsubscribe, -1, LD | ST | CN | PS, 0, 0, 0, "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", NULL},
    {"quit", tc_cmd_quit, -1, NA | LD | ST | F | CN | PS, 0, 0, 0, "connection", "1.0.0", "Closes the connection.", NULL},
    {"randomkey", tc_cmd_randomkey, 1, R, 0, 0, 0, "generic", "1.0.0", "Returns a random key name from the database.", NULL},
    {"readonly", tc_cmd_readonly, 1, LD | ST | F | CN, 0, 0, 0, "cluster", "3.0.0", "Enables read-only queries for a connection to a replica (cluster_mode).", NULL},
    {"readwrite", tc_cmd_readwrite, 1, LD | ST | F | CN, 0, 0, 0, "cluster", "3.0.0", "Sends reads of a connection to the primary again (cluster_mode).", NULL},
    {"rename", tc_cmd_rename, 3, W, 1, 2, 1, "generic", "1.0.0", "Renames a key and overwrites the destination.", NULL},
    {"renamenx", tc_cmd_renamenx, 3, W | F, 1, 2, 1, "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", NULL},
    {"reset", tc_cmd_reset, 1, NA | LD | ST | F | CN | PS, 0, 0, 0, "connection", "6.2.0", "Resets the connection.", NULL},
    {"role", tc_cmd_role, 1, LD | ST | F, 0, 0, 0, "server", "2.8.12", "Returns the replication role.", NULL},
    {"rpop", tc_cmd_rpop, -2, W | F, 1, 1, 1, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", NULL},
    {"rpoplpush", tc_cmd_rpoplpush, 3, W | OOM, 1, 2, 1, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", NULL},
    {"rpush", tc_cmd_rpush, -3, W | OOM | F, 1, 1, 1, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", NULL},
    {"rpushx", tc_cmd_rpushx, -3, W | OOM | F, 1, 1, 1, "list", "2.2.0", "Appends an element to a list only when the list exists.", NULL},
    {"sadd", tc_cmd_sadd, -3, W | OOM | F, 1, 1, 1, "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", NULL},
    {"save", tc_cmd_save, 1, A, 0, 0, 0, "server", "1.0.0", "Synchronously saves the database(s) to disk (only the caller waits).", NULL},
    {"scan", tc_cmd_scan, -2, R, 0, 0, 0, "generic", "2.8.0", "Iterates over the key names in the database.", NULL},
    {"scard", tc_cmd_scard, 2, R | F, 1, 1, 1, "set", "1.0.0", "Returns the number of members in a set.", NULL},
    {"script", tc_cmd_script, -2, 0, 0, 0, 0, "scripting", "2.6.0", "A container for Lua scripts management commands (LOAD and FLUSH are cluster state).", "exists flush help kill load debug"},
    {"sdiff", tc_cmd_sdiff, -2, R, 1, -1, 1, "set", "1.0.0", "Returns the difference of multiple sets.", NULL},
    {"sdiffstore", tc_cmd_sdiffstore, -3, W | OOM, 1, -1, 1, "set", "1.0.0", "Stores the difference of multiple sets in a key.", NULL},
    {"select", tc_cmd_select, 2, LD | ST | F | CN, 0, 0, 0, "connection", "1.0.0", "Changes the selected database.", NULL},
    {"sentinel", tc_cmd_sentinel, -2, A | LD | ST, 0, 0, 0, "sentinel", "2.8.4", "Sentinel-compatible discovery of the primary and replicas (every node answers).", NULL},
    {"set", tc_cmd_set, -3, W | OOM, 1, 1, 1, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", NULL},
    {"setbit", tc_cmd_setbit, 4, W | OOM, 1, 1, 1, "bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", NULL},
    {"setex", tc_cmd_setex, 4, W | OOM, 1, 1, 1, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", NULL},
    {"setnx", tc_cmd_setnx, 3, W | OOM | F, 1, 1, 1, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", NULL},
    {"setrange", tc_cmd_setrange, 4, W | OOM, 1, 1, 1, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", NULL},
    {"shutdown", tc_cmd_shutdown, -1, A | ST, 0, 0, 0, "server", "1.0.0", "Hands leadership over (a primary), then stops the node.", NULL},
    {"sinter", tc_cmd_sinter, -2, R, 1, -1, 1, "set", "1.0.0", "Returns the intersect of multiple sets.", NULL},
    {"sintercard", tc_cmd_sintercard, -3, R, 0, 0, 0, "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", NULL},
    {"sinterstore", tc_cmd_sinterstore, -3, W | OOM, 1, -1, 1, "set", "1.0.0", "Stores the intersect of multiple sets in a key.", NULL},
    {"sismember", tc_cmd_sismember, 3, R | F, 1, 1, 1, "set", "1.0.0", "Determines whether a member belongs to a set.", NULL},
    {"smembers", tc_cmd_smembers, 2, R, 1, 1, 1, "set", "1.0.0", "Returns all members of a set.", NULL},
    {"smismember", tc_cmd_smismember, -3, R | F, 1, 1, 1, "set", "6.2.0", "Determines whether multiple members belong to a set.", NULL},
    {"smove", tc_cmd_smove, 4, W | F, 1, 2, 1, "set", "1.0.0", "Moves a member from one set to another.", NULL},
    {"spop", tc_cmd_spop, -2, W | F, 1, 1, 1, "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", NULL},
    {"srandmember", tc_cmd_srandmember, -2, R, 1, 1, 1, "set", "1.0.0", "Get one or multiple random members from a set", NULL},
    {"srem", tc_cmd_srem, -3, W | F, 1, 1, 1, "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", NULL},
    {"sscan", tc_cmd_sscan, -3, R, 1, 1, 1, "set", "2.8.0", "Iterates over members of a set.", NULL},
    {"strlen", tc_cmd_strlen, 2, R | F, 1, 1, 1, "string", "2.2.0", "Returns the length of a string value.", NULL},
    {"subscribe", tc_cmd_subscribe, -2, LD | ST | CN | PS, 0, 0, 0, "pubsub", "2.0.0", "Listens for messages published to channels.", NULL},
    {"substr", tc_cmd_getrange, 4, R, 1, 1, 1, "string", "1.0.0", "Returns a substring from a string value.", NULL},
    {"sunion", tc_cmd_sunion, -2, R, 1, -1, 1, "set", "1.0.0", "Returns the union of multiple sets.", NULL},
    {"sunionstore", tc_cmd_sunionstore, -3, W | OOM, 1, -1, 1, "set", "1.0.0", "Stores the union of multiple sets in a key.", NULL},
    {"swapdb", tc_cmd_swapdb, 3, W | F, 0, 0, 0, "server", "4.0.0", "Swaps two Redis databases.", NULL},
    {"tcbackup", tc_cmd_tcbackup, -3, W | A, 0, 0, 0, "server", "7.0.0", "Hands a backup to a node: RUN (the primary's schedule) or REQUEST (a BGSAVE/SAVE, after every earlier write).", NULL},
    {"tcconfig", tc_cmd_tcconfig, -4, W | A, 0, 0, 0, "server", "7.0.0", "A logged CONFIG SET of cluster-wide parameters: TCCONFIG SET name value [name value ...] (written by the primary for CONFIG SET).", NULL},
    {"tcevict", tc_cmd_tcevict, -3, W, 0, 0, 0, "server", "7.0.0", "Evicts keys the primary chose: TCEVICT db key [key ...] (written by the primary before a write that needs room).", NULL},
    {"tcexec", tc_cmd_tcexec, -2, W | OOM, 0, 0, 0, "transactions", "7.0.0", "A logged transaction: TCEXEC n (argc arg...) x n, run back to back (written by the primary for EXEC).", NULL},
    {"tcformed", tc_cmd_tcformed, -2, W | A, 0, 0, 0, "server", "7.0.0", "Records that every founding voter acknowledged the log (written by the primary once).", NULL},
    {"tclimits", tc_cmd_tclimits, 2, A | F, 0, 0, 0, "server", "7.0.0", "The primary's size limit for the rest of a log entry (written by the primary; refused from clients).", NULL},
    {"tcrestore", tc_cmd_tcrestore, -2, W | OOM | A, 0, 0, 0, "server", "7.0.0", "Replaces the whole keyspace with staged records (tricachectl restore).", NULL},
    {"time", tc_cmd_time, 1, LD | ST | F, 0, 0, 0, "server", "2.6.0", "Returns the server time.", NULL},
    {"touch", tc_cmd_touch, -2, R | F, 1, -1, 1, "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", NULL},
    {"ttl", tc_cmd_ttl, 2, R | F, 1, 1, 1, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", NULL},
    {"type", tc_cmd_type, 2, R | F, 1, 1, 1, "generic", "1.0.0", "Determines the type of value stored at a key.", NULL},
    {"unlink", tc_cmd_del, -2, W | F, 1, -1, 1, "generic", "4.0.0", "Asynchronously deletes one or more keys.", NULL},
    {"unsubscribe", tc_cmd_unsubscribe, -1, LD | ST | CN | PS, 0, 0, 0, "pubsub", "2.0.0", "Stops listening to messages posted to channels.", NULL},
    {"unwatch", tc_cmd_unwatch, 1, LD | ST | F, 0, 0, 0, "transactions", "2.2.0", "Forgets about watched keys of a transaction.", NULL},
    {"wait", tc_cmd_wait, 3, 0, 0, 0, 0, "generic", "3.0.0", "Blocks until the replicas hold this connection's last write (Raft match index), or the timeout passes.", NULL},
    {"waitaof", tc_cmd_waitaof, 4, 0, 0, 0, 0, "generic", "7.2.0", "Blocks until this connection's last write is fsync'd locally and on numreplicas replicas (every entry is fsync'd before it is acknowledged).", NULL},
    {"watch", tc_cmd_watch, -2, LD | ST | F, 1, -1, 1, "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", NULL},
    {"xadd", tc_cmd_xadd, -5, W | OOM | F, 1, 1, 1, "stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.", NULL},
    {"xdel", tc_cmd_xdel, -3, W | F, 1, 1, 1, "stream", "5.0.0", "Returns the number of messages after removing them from a stream.", NULL},
    {"xinfo", tc_cmd_xinfo, -2, R, 2, 2, 1, "stream", "5.0.0", "A container for stream introspection commands (consumer groups are not supported: a stream has none).", "consumers groups stream help"},
    {"xlen", tc_cmd_xlen, 2, R | F, 1, 1, 1, "stream", "5.0.0", "Return the number of messages in a stream.", NULL},
    {"xrange", tc_cmd_xrange, -4, R, 1, 1, 1, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs.", NULL},
    {"xread", tc_cmd_xread, -4, R | BL, 0, 0, 0, "stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", NULL},
    {"xrevrange", tc_cmd_xrevrange, -4, R, 1, 1, 1, "stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", NULL},
    {"xsetid", tc_cmd_xsetid, -3, W | OOM | F, 1, 1, 1, "stream", "5.0.0", "An internal command for replicating stream values.", NULL},
    {"xtrim", tc_cmd_xtrim, -4, W, 1, 1, 1, "stream", "5.0.0", "Deletes messages from the beginning of a stream.", NULL},
    {"zadd", tc_cmd_zadd, -4, W | OOM | F, 1, 1, 1, "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", NULL},
    {"zcard", tc_cmd_zcard, 2, R | F, 1, 1, 1, "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", NULL},
    {"zcount", tc_cmd_zcount, 4, R | F, 1, 1, 1, "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", NULL},
    {"zdiff", tc_cmd_zdiff, -3, R, 0, 0, 0, "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.", NULL},
    {"zdiffstore", tc_cmd_zdiffstore, -4, W | OOM, 1, 1, 1, "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", NULL},
    {"zincrby", tc_cmd_zincrby, 4, W | OOM | F, 1, 1, 1, "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", NULL},
    {"zinter", tc_cmd_zinter, -3, R, 0, 0, 0, "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.", NULL},
    {"zintercard", tc_cmd_zintercard, -3, R, 0, 0, 0, "sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", NULL},
    {"zinterstore", tc_cmd_zinterstore, -4, W | OOM, 1, 1, 1, "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", NULL},
    {"zlexcount", tc_cmd_zlexcount, 4, R | F, 1, 1, 1, "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", NULL},
    {"zmpop", tc_cmd_zmpop, -4, W, 0, 0, 0, "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", NULL},
    {"zmscore", tc_cmd_zmscore, -3, R | F, 1, 1, 1, "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", NULL},
    {"zpopmax", tc_cmd_zpopmax, -2, W | F, 1, 1, 1, "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", NULL},
    {"zpopmin", tc_cmd_zpopmin, -2, W | F, 1, 1, 1, "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", NULL},
    {"zrandmember", tc_cmd_zrandmember, -2, R, 1, 1, 1, "sorted-set", "6.2.0", "Returns one or more random members from a sorted set.", NULL},
    {"zrange", tc_cmd_zrange, -4, R, 1, 1, 1, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", NULL},
    {"zrangebylex", tc_cmd_zrangebylex, -4, R, 1, 1, 1, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", NULL},
    {"zrangebyscore", tc_cmd_zrangebyscore, -4, R, 1, 1, 1, "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", NULL},
    {"zrangestore", tc_cmd_zrangestore, -5, W | OOM, 1, 2, 1, "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.", NULL},
    {"zrank", tc_cmd_zrank, 3, R | F, 1, 1, 1, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", NULL},
    {"zrem", tc_cmd_zrem, -3, W | F, 1, 1, 1, "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", NULL},
    {"zremrangebylex", tc_cmd_zremrangebylex, 4, W, 1, 1, 1, "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", NULL},
    {"zremrangebyrank", tc_cmd_zremrangebyrank, 4, W, 1, 1, 1, "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", NULL},
    {"zremrangebyscore", tc_cmd_zremrangebyscore, 4, W, 1, 1, 1, "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", NULL},
    {"zrevrange", tc_cmd_zrevrange, -4, R, 1, 1, 1, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", NULL},
    {"zrevrangebylex", tc_cmd_zrevrangebylex, -4, R, 1, 1, 1, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", NULL},
    {"zrevrangebyscore", tc_cmd_zrevrangebyscore, -4, R, 1, 1, 1, "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", NULL},
    {"zrevrank", tc_cmd_zrevrank, 3, R | F, 1, 1, 1, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", NULL},
    {"zscan", tc_cmd_zscan, -3, R, 1, 1, 1, "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.", NULL},
    {"zscore", tc_cmd_zscore, 3, R | F, 1, 1, 1, "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", NULL},
    {"zunion", tc_cmd_zunion, -3, R, 0, 0, 0, "sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", NULL},
    {"zunionstore", tc_cmd_zunionstore, -4, W | OOM, 1, 1, 1, "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.", NULL},
};

const tc_cmd *tc_cmd_table(size_t *count)
{
    *count = sizeof table / sizeof table[0];
    return table;
}

/* Lookup by name: an open-addressing index over the table, built once. A
 * command is looked up two or three times on its way (admitted, routed,
 * applied on every node); the binary search it replaces took eight
 * strcmp() a time, 3-5 % of a primary's command thread under pipelined
 * SETs (perf). */
#define NCMDS (sizeof table / sizeof table[0])
#define NAME_MAX_LEN 23
#define INDEX_SLOTS 1024 /* a power of two, about five times the table */
_Static_assert(NCMDS < INDEX_SLOTS / 2 && NCMDS < UINT16_MAX, "the name index is too small for the table");
static uint16_t name_index[INDEX_SLOTS]; /* 1 + the command's position; 0: empty */
static uint8_t name_len[NCMDS];
static pthread_once_t name_index_once = PTHREAD_ONCE_INIT;

/* FNV-1a, step by step so that lookup hashes while it lower-cases */
#define NAME_HASH_SEED 2166136261u
static inline uint32_t name_hash_step(uint32_t h, char ch) { return (h ^ (unsigned char)ch) * 16777619u; }

static void name_index_build(void)
{
    for (size_t i = 0; i < NCMDS; i++) {
        size_t len = strlen(table[i].name);
        if (len > NAME_MAX_LEN) abort(); /* a name lookup could never find: a bug in the table */
        name_len[i] = (uint8_t)len;
        uint32_t h = NAME_HASH_SEED;
        for (size_t j = 0; j < len; j++) h = name_hash_step(h, table[i].name[j]);
        uint32_t slot = h & (INDEX_SLOTS - 1);
        while (name_index[slot]) slot = (slot + 1) & (INDEX_SLOTS - 1);
        name_index[slot] = (uint16_t)(i + 1);
    }
}

const tc_cmd *tc_cmd_lookup(const char *name, size_t len)
{
    char low[NAME_MAX_LEN];
    if (len == 0 || len > NAME_MAX_LEN) return NULL;
    uint32_t h = NAME_HASH_SEED;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        low[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        h = name_hash_step(h, low[i]);
    }
    pthread_once(&name_index_once, name_index_build);
    for (uint32_t slot = h & (INDEX_SLOTS - 1);; slot = (slot + 1) & (INDEX_SLOTS - 1)) {
        unsigned e = name_index[slot];
        if (!e) return NULL;
        if (name_len[e - 1] == len && memcmp(table[e - 1].name, low, len) == 0) return &table[e - 1];
    }
}

int tc_cmd_arity_ok(const tc_cmd *cmd, size_t argc)
{
    long n = (long)argc;
    return cmd->arity > 0 ? n == cmd->arity : n >= -cmd->arity;
}

int tc_arg_is(const tc_slice *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->p, word, n) == 0;
}

/* Redis's string2ll: optional '-', digits, no leading zeros (except "0"),
 * no spaces or '+', must fit in a long long. */
int tc_parse_ll(const char *p, size_t len, long long *out)
{
    if (len == 0 || len > 20) return -1;
    size_t i = 0;
    int neg = 0;
    if (p[0] == '-') {
        neg = 1;
        if (++i == len) return -1;
    }
    if (p[i] == '0') {
        if (len == 1) {
            *out = 0;
            return 0;
        }
        return -1; /* "01", "-0" */
    }
    unsigned long long v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9) return -1;
        if (v > (ULLONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return -1;
        *out = (long long)(0ull - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX) return -1;
        *out = (long long)v;
    }
    return 0;
}

/* Redis's string2ld: the whole argument must be a number strtold accepts
 * (so "1e3", "+1", "0x10", ".5", "inf" are numbers), with no leading
 * space, no NUL byte anywhere, shorter than Redis's 5120-byte buffer, and
 * not NaN; a result that overflows (or underflows to 0) is refused. */
int tc_parse_ld(const char *p, size_t len, long double *out)
{
    char buf[5120]; /* Redis's MAX_LONG_DOUBLE_CHARS */
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\r' || buf[0] == '\v' || buf[0] == '\f')
        return -1;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    /* end short of buf + len: junk after the number, or a NUL inside it */
    if (end != buf + len || isnan(v) || (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)))
        return -1;
    *out = v;
    return 0;
}
