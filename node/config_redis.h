/* CONFIG GET and CONFIG SET: tricache's own settings (node/config.c) and
 * every configuration parameter of Redis 7.0, so that clients, tools and
 * test harnesses that set Redis's parameters on connect are not refused.
 *
 * config_redis.c holds one row per Redis parameter: its name (and the old
 * name Redis still accepts, e.g. hash-max-ziplist-entries), its default,
 * its kind (yes/no, integer with range, memory size, enum, string, or a
 * parameter with its own syntax), whether Redis lets CONFIG SET change it,
 * and what tricache does with it:
 *   honoured    - answered and applied by the node (maxclients, timeout,
 *                 loglevel, requirepass, port, ...);
 *   later       - stored, not yet in effect: a later issue makes it real
 *                 (maxmemory, maxmemory-policy, notify-keyspace-events, ...);
 *   no effect   - accepted and stored: CONFIG GET answers the value set,
 *                 nothing in tricache reads it (appendonly, save, tls-*...).
 * Values are validated and normalised as Redis does (memory sizes in bytes,
 * 1k = 1000 and 1kb = 1024; booleans as yes/no; enums in lower case) and
 * refused with Redis's error texts. A name that is neither one of
 * tricache's settings nor one of Redis's is still an error. */
#ifndef TC_CONFIG_REDIS_H
#define TC_CONFIG_REDIS_H

#include <stddef.h>

#include "commands.h"

struct tc_server;

/* The Redis parameters CONFIG SET changed on one node (tc_server.rconf);
 * NULL until the first one. Node-local parameters live on the node only;
 * the cluster-wide ones (REPLICATED rows) are set through the log. */
typedef struct tc_rconf tc_rconf;
void tc_rconf_free(tc_rconf *rc);

/* CONFIG GET pattern [pattern ...]: name, value, name, value ... (malloc'd
 * strings in a malloc'd array; *n counts strings). Each parameter comes
 * once, names compared case-insensitively; a pattern without glob
 * characters is answered under the name as it was written, as Redis does.
 * Returns NULL with *n = 0 when nothing matched or memory ran out. */
char **tc_config_cmd_get(const struct tc_server *s, size_t npatterns, const tc_slice *patterns, size_t *n);
void tc_config_pairs_free(char **kv, size_t n);

/* CONFIG SET name value [name value ...], all or nothing as in Redis 7:
 * every name is checked first (unknown, immutable, protected, given twice),
 * then every value in order; nothing changes unless all are good. Returns
 * 0, or -1 with the Redis error ("ERR ...") in err. */
int tc_config_cmd_set(struct tc_server *s, size_t nargs, const tc_slice *args, char *err, size_t errlen);

/* The same checks, changing nothing: the primary's before it logs a
 * TCCONFIG (an invalid value is answered now and nothing is logged). */
int tc_config_cmd_check(struct tc_server *s, size_t nargs, const tc_slice *args, char *err, size_t errlen);

/* Cluster-wide parameters (maxmemory, maxmemory-policy, maxmemory-samples,
 * lfu-log-factor, lfu-decay-time; rows flagged REPLICATED): how many of the
 * names of CONFIG SET's name/value pairs are such. A CONFIG SET naming only
 * those goes through the log as TCCONFIG SET; one mixing them with
 * node-local parameters is refused (TC_ERR_CONFIG_MIXED). */
size_t tc_config_cmd_replicated(size_t nargs, const tc_slice *args);
#define TC_ERR_CONFIG_MIXED                                                                                     \
    "ERR CONFIG SET can't mix cluster-wide parameters (maxmemory, maxmemory-policy, maxmemory-samples, "      \
    "lfu-log-factor, lfu-decay-time) with node-local ones: set them in separate calls"

/* The cluster-wide parameters set through CONFIG SET (not cluster.toml's),
 * name and value, for keyspace images; loading one sets them again with
 * tc_config_cmd_set. */
typedef void (*tc_rconf_pair_fn)(void *ud, const char *name, const char *value);
void tc_rconf_replicated_each(const struct tc_server *s, tc_rconf_pair_fn fn, void *ud);

/* The value CONFIG GET answers for a Redis parameter (by its name or old
 * name), written to buf; NULL if there is no such parameter or it is one of
 * node/config.c's settings (read those from tc_server.cfg). For the work
 * that makes the "later" rows real (maxmemory, notify-keyspace-events...). */
const char *tc_rconf_value(const struct tc_server *s, const char *name, char *buf, size_t buflen);

#endif
