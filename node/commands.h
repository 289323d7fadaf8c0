/* The command table: one declarative row per command drives dispatch, arity
 * errors, COMMAND output and the decision whether a command writes (and so,
 * once replication exists, goes through the Raft log). */
#ifndef TC_COMMANDS_H
#define TC_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keyspace.h"
#include "reply.h"
#include "types/types.h"
#include "rng.h"

struct tc_server;
struct tc_client;

typedef struct tc_slice {
    const char *p;
    size_t len;
} tc_slice;

/* Everything a handler may touch. Handlers read arguments, change the
 * keyspace, and answer through r; now_ms is fixed for the whole command so
 * that "now" is one instant (and, with replication, the same on every node).
 *
 * The determinism rule. With replication a write command (TC_CMD_WRITE, and
 * anything else routed through the log) runs once per node, when its log
 * entry is applied, and every node must end in the same state. So what a
 * write handler changes may depend only on its arguments, the keyspace,
 * now_ms and rng: never on the wall clock, the client (client is NULL when
 * applied), the node's id or configuration, nor any other randomness.
 * rng is the ONLY randomness a write command may use (a random member to
 * pop, keys to sample for eviction, ...): when an entry is applied it is
 * seeded from the seed the primary put in the entry and the command's index
 * in it (replication/log_entry.h), so every node draws the same numbers. On
 * a standalone node it is seeded at random at start. Commands that change
 * nothing may use any randomness (RANDOMKEY uses the keyspace's own). */
typedef struct tc_ctx {
    struct tc_server *srv;
    struct tc_client *client; /* NULL when no connection issued the command */
    tc_keyspace *ks;          /* the database the command runs in: srv's dbs[db] */
    int db;                   /* its number; SELECT changes both */
    int64_t now_ms;
    size_t argc;
    const tc_slice *argv;
    tc_reply *r;
    tc_rng *rng;
} tc_ctx;

typedef void (*tc_cmd_fn)(tc_ctx *ctx);

enum tc_cmd_flag {
    TC_CMD_WRITE = 1 << 0,     /* changes the keyspace */
    TC_CMD_READONLY = 1 << 1,  /* reads the keyspace */
    TC_CMD_FAST = 1 << 2,      /* O(1) or O(log n) */
    TC_CMD_ADMIN = 1 << 3,     /* operator commands */
    TC_CMD_NOAUTH = 1 << 4,    /* allowed before AUTH (AUTH, HELLO, QUIT) */
    TC_CMD_DENYOOM = 1 << 5,   /* may grow memory */
    TC_CMD_LOADING = 1 << 6,   /* fine while loading data */
    TC_CMD_STALE = 1 << 7,     /* fine on a stale replica */
    TC_CMD_CONNECTION = 1 << 8,/* about the connection, not data */
    TC_CMD_PUBSUB_OK = 1 << 9, /* allowed on a RESP2 connection in subscribed mode */
    TC_CMD_BLOCKING = 1 << 10, /* may wait for a key (blocking.h); the router probes it first */
};

typedef struct tc_cmd {
    const char *name;     /* lowercase */
    tc_cmd_fn fn;
    int arity;            /* Redis convention: N exact, -N at least N (name included) */
    uint32_t flags;
    int first_key, last_key, key_step; /* last_key -1 = last argument */
    const char *group;    /* "string", "generic", "server", "connection" */
    const char *since;
    const char *summary;
    const char *subcommands; /* space-separated for container commands, else NULL */
} tc_cmd;

/* Case-insensitive lookup; NULL if unknown. */
const tc_cmd *tc_cmd_lookup(const char *name, size_t len);
/* The whole table (for COMMAND). */
const tc_cmd *tc_cmd_table(size_t *count);

/* 1 if argc (name included) fits the command's arity. */
int tc_cmd_arity_ok(const tc_cmd *cmd, size_t argc);

/* Handlers, grouped by file. */
/* t_string.c */
void tc_cmd_get(tc_ctx *c);
void tc_cmd_set(tc_ctx *c);
void tc_cmd_setnx(tc_ctx *c);
void tc_cmd_setex(tc_ctx *c);
void tc_cmd_psetex(tc_ctx *c);
void tc_cmd_mget(tc_ctx *c);
void tc_cmd_mset(tc_ctx *c);
void tc_cmd_msetnx(tc_ctx *c);
void tc_cmd_getset(tc_ctx *c);
void tc_cmd_getdel(tc_ctx *c);
void tc_cmd_getex(tc_ctx *c);
void tc_cmd_incr(tc_ctx *c);
void tc_cmd_incrby(tc_ctx *c);
void tc_cmd_decr(tc_ctx *c);
void tc_cmd_decrby(tc_ctx *c);
void tc_cmd_incrbyfloat(tc_ctx *c);
void tc_cmd_append(tc_ctx *c);
void tc_cmd_strlen(tc_ctx *c);
void tc_cmd_getrange(tc_ctx *c);
void tc_cmd_setrange(tc_ctx *c);
/* t_keys.c */
void tc_cmd_del(tc_ctx *c);
void tc_cmd_exists(tc_ctx *c);
void tc_cmd_type(tc_ctx *c);
void tc_cmd_rename(tc_ctx *c);
void tc_cmd_renamenx(tc_ctx *c);
void tc_cmd_touch(tc_ctx *c);
void tc_cmd_expire(tc_ctx *c);
void tc_cmd_pexpire(tc_ctx *c);
void tc_cmd_expireat(tc_ctx *c);
void tc_cmd_pexpireat(tc_ctx *c);
void tc_cmd_ttl(tc_ctx *c);
void tc_cmd_pttl(tc_ctx *c);
void tc_cmd_expiretime(tc_ctx *c);
void tc_cmd_pexpiretime(tc_ctx *c);
void tc_cmd_persist(tc_ctx *c);
void tc_cmd_keys(tc_ctx *c);
void tc_cmd_scan(tc_ctx *c);
void tc_cmd_randomkey(tc_ctx *c);
void tc_cmd_dbsize(tc_ctx *c);
void tc_cmd_flushall(tc_ctx *c);
void tc_cmd_flushdb(tc_ctx *c);
void tc_cmd_swapdb(tc_ctx *c);
void tc_cmd_move(tc_ctx *c);
void tc_cmd_object(tc_ctx *c);
void tc_cmd_memory(tc_ctx *c);
/* t_zset.c, t_zset_ops.c (sorted sets) */
void tc_cmd_zadd(tc_ctx *c);
void tc_cmd_zincrby(tc_ctx *c);
void tc_cmd_zrem(tc_ctx *c);
void tc_cmd_zscore(tc_ctx *c);
void tc_cmd_zmscore(tc_ctx *c);
void tc_cmd_zcard(tc_ctx *c);
void tc_cmd_zcount(tc_ctx *c);
void tc_cmd_zlexcount(tc_ctx *c);
void tc_cmd_zrange(tc_ctx *c);
void tc_cmd_zrangestore(tc_ctx *c);
void tc_cmd_zrevrange(tc_ctx *c);
void tc_cmd_zrangebyscore(tc_ctx *c);
void tc_cmd_zrevrangebyscore(tc_ctx *c);
void tc_cmd_zrangebylex(tc_ctx *c);
void tc_cmd_zrevrangebylex(tc_ctx *c);
void tc_cmd_zrank(tc_ctx *c);
void tc_cmd_zrevrank(tc_ctx *c);
void tc_cmd_zremrangebyrank(tc_ctx *c);
void tc_cmd_zremrangebyscore(tc_ctx *c);
void tc_cmd_zremrangebylex(tc_ctx *c);
void tc_cmd_zpopmin(tc_ctx *c);
void tc_cmd_zpopmax(tc_ctx *c);
void tc_cmd_zmpop(tc_ctx *c);
void tc_cmd_zrandmember(tc_ctx *c);
void tc_cmd_zscan(tc_ctx *c);
void tc_cmd_zunion(tc_ctx *c);
void tc_cmd_zinter(tc_ctx *c);
void tc_cmd_zdiff(tc_ctx *c);
void tc_cmd_zunionstore(tc_ctx *c);
void tc_cmd_zinterstore(tc_ctx *c);
void tc_cmd_zdiffstore(tc_ctx *c);
void tc_cmd_zintercard(tc_ctx *c);
/* t_hash.c */
void tc_cmd_hset(tc_ctx *c);
void tc_cmd_hsetnx(tc_ctx *c);
void tc_cmd_hget(tc_ctx *c);
void tc_cmd_hmget(tc_ctx *c);
void tc_cmd_hmset(tc_ctx *c);
void tc_cmd_hgetall(tc_ctx *c);
void tc_cmd_hdel(tc_ctx *c);
void tc_cmd_hexists(tc_ctx *c);
void tc_cmd_hlen(tc_ctx *c);
void tc_cmd_hstrlen(tc_ctx *c);
void tc_cmd_hkeys(tc_ctx *c);
void tc_cmd_hvals(tc_ctx *c);
void tc_cmd_hincrby(tc_ctx *c);
void tc_cmd_hincrbyfloat(tc_ctx *c);
void tc_cmd_hrandfield(tc_ctx *c);
void tc_cmd_hscan(tc_ctx *c);
/* t_set.c */
void tc_cmd_sadd(tc_ctx *c);
void tc_cmd_srem(tc_ctx *c);
void tc_cmd_sismember(tc_ctx *c);
void tc_cmd_smismember(tc_ctx *c);
void tc_cmd_smembers(tc_ctx *c);
void tc_cmd_scard(tc_ctx *c);
void tc_cmd_spop(tc_ctx *c);
void tc_cmd_srandmember(tc_ctx *c);
void tc_cmd_smove(tc_ctx *c);
void tc_cmd_sinter(tc_ctx *c);
void tc_cmd_sintercard(tc_ctx *c);
void tc_cmd_sunion(tc_ctx *c);
void tc_cmd_sdiff(tc_ctx *c);
void tc_cmd_sinterstore(tc_ctx *c);
void tc_cmd_sunionstore(tc_ctx *c);
void tc_cmd_sdiffstore(tc_ctx *c);
void tc_cmd_sscan(tc_ctx *c);
/* t_list.c */
void tc_cmd_lpush(tc_ctx *c);
void tc_cmd_rpush(tc_ctx *c);
void tc_cmd_lpushx(tc_ctx *c);
void tc_cmd_rpushx(tc_ctx *c);
void tc_cmd_linsert(tc_ctx *c);
void tc_cmd_llen(tc_ctx *c);
void tc_cmd_lrange(tc_ctx *c);
void tc_cmd_lindex(tc_ctx *c);
void tc_cmd_lpos(tc_ctx *c);
void tc_cmd_lset(tc_ctx *c);
void tc_cmd_lrem(tc_ctx *c);
void tc_cmd_ltrim(tc_ctx *c);
void tc_cmd_lpop(tc_ctx *c);
void tc_cmd_rpop(tc_ctx *c);
void tc_cmd_lmove(tc_ctx *c);
void tc_cmd_rpoplpush(tc_ctx *c);
void tc_cmd_lmpop(tc_ctx *c);
void tc_cmd_blpop(tc_ctx *c);
void tc_cmd_bzpopmin(tc_ctx *c);
void tc_cmd_bzpopmax(tc_ctx *c);
void tc_cmd_bzmpop(tc_ctx *c);
void tc_cmd_brpop(tc_ctx *c);
void tc_cmd_blmpop(tc_ctx *c);
void tc_cmd_blmove(tc_ctx *c);
void tc_cmd_brpoplpush(tc_ctx *c);
/* t_stream.c */
void tc_cmd_xadd(tc_ctx *c);
void tc_cmd_xdel(tc_ctx *c);
void tc_cmd_xinfo(tc_ctx *c);
void tc_cmd_xlen(tc_ctx *c);
void tc_cmd_xrange(tc_ctx *c);
void tc_cmd_xread(tc_ctx *c);
void tc_cmd_xrevrange(tc_ctx *c);
void tc_cmd_xsetid(tc_ctx *c);
void tc_cmd_xtrim(tc_ctx *c);
/* t_bitops.c */
void tc_cmd_setbit(tc_ctx *c);
void tc_cmd_getbit(tc_ctx *c);
void tc_cmd_bitcount(tc_ctx *c);
void tc_cmd_bitpos(tc_ctx *c);
void tc_cmd_bitop(tc_ctx *c);
void tc_cmd_bitfield(tc_ctx *c);
void tc_cmd_bitfield_ro(tc_ctx *c);
/* t_lcs.c */
void tc_cmd_lcs(tc_ctx *c);
/* t_hll.c */
void tc_cmd_pfadd(tc_ctx *c);
void tc_cmd_pfcount(tc_ctx *c);
void tc_cmd_pfmerge(tc_ctx *c);
/* t_copy.c */
void tc_cmd_copy(tc_ctx *c);
/* cmd_acl.c */
void tc_cmd_acl(tc_ctx *c);
/* cmd_server.c */
void tc_cmd_ping(tc_ctx *c);
void tc_cmd_echo(tc_ctx *c);
void tc_cmd_quit(tc_ctx *c);
void tc_cmd_hello(tc_ctx *c);
void tc_cmd_auth(tc_ctx *c);
void tc_cmd_select(tc_ctx *c);
void tc_cmd_info(tc_ctx *c);
void tc_cmd_config(tc_ctx *c);
void tc_cmd_client(tc_ctx *c);
void tc_cmd_time(tc_ctx *c);
void tc_cmd_debug(tc_ctx *c);
void tc_cmd_command(tc_ctx *c);
void tc_cmd_role(tc_ctx *c);
void tc_cmd_failover(tc_ctx *c);
void tc_cmd_shutdown(tc_ctx *c);
void tc_cmd_wait(tc_ctx *c);
void tc_cmd_reset(tc_ctx *c);
void tc_cmd_waitaof(tc_ctx *c);
void tc_cmd_members(tc_ctx *c);
void tc_cmd_tcconfig(tc_ctx *c);
/* evict.c */
void tc_cmd_tcevict(tc_ctx *c);
/* cmd_cluster.c */
void tc_cmd_cluster(tc_ctx *c);
void tc_cmd_readonly(tc_ctx *c);
void tc_cmd_readwrite(tc_ctx *c);
/* The Redis Cluster hash slot (0..16383) of a key, hash tags included. */
int tc_key_slot(const char *key, size_t len);
/* A 40-hex-digit node id for CLUSTER answers, stable per cluster and id. */
void tc_cluster_node_id(const tc_config *cfg, int id, char out[41]);
/* pubsub.c */
void tc_cmd_subscribe(tc_ctx *c);
void tc_cmd_unsubscribe(tc_ctx *c);
void tc_cmd_psubscribe(tc_ctx *c);
void tc_cmd_punsubscribe(tc_ctx *c);
void tc_cmd_publish(tc_ctx *c);
/* cmd_persist.c */
void tc_cmd_bgsave(tc_ctx *c);
void tc_cmd_save(tc_ctx *c);
void tc_cmd_lastsave(tc_ctx *c);
/* latency.c: LATENCY LATEST | HISTORY | RESET | DOCTOR | GRAPH | HISTOGRAM | HELP */
void tc_cmd_latency(tc_ctx *c);
void tc_cmd_tcbackup(tc_ctx *c);
void tc_cmd_tcformed(tc_ctx *c); /* cluster_formed.c */
/* cmd_restore.c */
#define TC_RESTORE_IDLE_MS 60000
void tc_cmd_tcrestore(tc_ctx *c);
/* multi.c */
void tc_cmd_multi(tc_ctx *c);
void tc_cmd_exec(tc_ctx *c);
void tc_cmd_discard(tc_ctx *c);
void tc_cmd_watch(tc_ctx *c);
void tc_cmd_unwatch(tc_ctx *c);
void tc_cmd_tcexec(tc_ctx *c);
void tc_cmd_tclimits(tc_ctx *c);
/* Drops a staged restore that has seen no TCRESTORE for TC_RESTORE_IDLE_MS. */
void tc_restore_discard_idle(struct tc_server *s, int64_t now_ms);
/* cmd_sentinel.c */
void tc_cmd_sentinel(tc_ctx *c);

/* Argument helpers shared by the handlers, as Redis's string2ll and
 * string2ld (see commands.c): the whole argument is the number. Return 0 or -1. */
int tc_parse_ll(const char *p, size_t len, long long *out);
int tc_parse_ld(const char *p, size_t len, long double *out);
/* A database index argument (SELECT, MOVE, SWAPDB, COPY DB): 0..ndbs-1
 * or -1 with Redis's error replied in r ("ERR value is not an integer or
 * out of range", "ERR DB index is out of range"; in cluster mode, with
 * cluster_err, any index but 0 is refused with it as Redis Cluster does). */
int tc_parse_db(struct tc_server *s, const tc_slice *a, tc_reply *r, const char *cluster_err);
/* Case-insensitive comparison of an argument with a lowercase word. */
int tc_arg_is(const tc_slice *a, const char *word);

#define TC_ERR_SYNTAX "ERR syntax error"
#define TC_ERR_NOT_INT "ERR value is not an integer or out of range"
#define TC_ERR_NOT_FLOAT "ERR value is not a valid float"
#define TC_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"

#endif
