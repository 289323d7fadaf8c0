/* Memory limit and eviction: which keys go when the keyspace holds more
 * than maxmemory, chosen as Redis chooses them (approximated LRU / LFU /
 * TTL by sampling maxmemory_samples keys into a pool of 16 candidates, or
 * at random), and the node's memory figures for INFO.
 *
 * Who decides: only the primary, before it logs a write that may grow
 * memory (TC_CMD_DENYOOM). It logs the victims as a TCEVICT command just
 * before that write (replication/router.c), so every node deletes the same
 * keys and the replicas never evict on their own; a replica over the limit
 * only reports it (INFO maxmemory_exceeded). The sampling uses randomness
 * that need not be the same anywhere else: it runs on the primary only and
 * its result is what the log carries.
 *
 * A standalone node (no replication, unit tests) evicts in place. */
#ifndef TC_EVICT_H
#define TC_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"
#include "rng.h"

struct tc_server;

/* maxmemory_policy; the numbers are the index of its word in
 * node/config.c (Redis's order). */
enum tc_evict_policy {
    TC_EVICT_VOLATILE_LRU = 0,
    TC_EVICT_VOLATILE_LFU = 1,
    TC_EVICT_VOLATILE_RANDOM = 2,
    TC_EVICT_VOLATILE_TTL = 3,
    TC_EVICT_ALLKEYS_LRU = 4,
    TC_EVICT_ALLKEYS_LFU = 5,
    TC_EVICT_ALLKEYS_RANDOM = 6,
    TC_EVICT_NOEVICTION = 7,
};
const char *tc_evict_policy_name(int policy);
static inline int tc_evict_policy_lfu(int p) { return p == TC_EVICT_VOLATILE_LFU || p == TC_EVICT_ALLKEYS_LFU; }
static inline int tc_evict_policy_volatile(int p) { return p <= TC_EVICT_VOLATILE_TTL; }

/* Redis's reply when a write is refused for memory. */
#define TC_ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* ---- the candidate pool ---------------------------------------------------
 * Redis's EVPOOL: up to 16 sampled keys ordered by score (how good a victim
 * each is: idle time, 255 - LFU counter, or how soon its deadline comes),
 * kept across evictions so that good candidates seen earlier are not lost
 * to an unlucky sample. Names are copied: a candidate may have been deleted
 * since; the picker checks. */
#define TC_EVPOOL_SIZE 16
typedef struct tc_evict_candidate {
    uint64_t score;  /* larger = evict first */
    int db;          /* its database's index (see db_at in evict.c) */
    char *name;
    size_t len;
} tc_evict_candidate;

typedef struct tc_evict_pool {
    tc_evict_candidate c[TC_EVPOOL_SIZE]; /* ascending score: the best is last */
    size_t n;
} tc_evict_pool;

void tc_evpool_free(tc_evict_pool *p);
/* Offers a key: kept if the pool has room or it beats the worst one (which
 * then leaves); a name already there only has its score updated. 0, or -1
 * when out of memory (the pool is unchanged). */
int tc_evpool_offer(tc_evict_pool *p, int db, const char *name, size_t len, uint64_t score);

/* How good a victim k is under policy (larger: evict first). */
uint64_t tc_evict_score(const tc_keyspace *ks, const tc_key *k, int policy);

/* Keys the caller already chose and that are not deleted yet (the primary's
 * TCEVICTs in flight): the picker skips them. */
typedef int (*tc_evict_skip_fn)(void *ud, int db, const char *key, size_t klen);

/* One victim under policy among the databases dbs[0..ndbs): samples
 * `samples` keys of each (randomness from rng) into the pool and takes the
 * best still present and not skipped; *db says whose. NULL when there is
 * none (noeviction, no key, or a volatile policy and no key with a
 * deadline). */
tc_key *tc_evict_pick(tc_keyspace *const *dbs, int ndbs, tc_evict_pool *pool, int policy, int samples, tc_rng *rng,
                      tc_evict_skip_fn skip, void *ud, int *db);

/* The databases eviction looks at: every place that reaches them goes
 * through these two, so numbered databases change only them (today: one,
 * the server's keyspace). */
int tc_evict_db_count(struct tc_server *s);
tc_keyspace *tc_evict_db_at(struct tc_server *s, int i);

/* ---- the node's figures and settings ------------------------------------ */

/* What a node knows of its memory (tc_server.mem). */
typedef struct tc_memstate {
    uint64_t startup;          /* allocated before any key: the fixed overhead */
    uint64_t peak;             /* the largest used_memory seen */
    uint64_t evicted_keys;     /* deleted by TCEVICT (or in place, standalone) */
    int64_t exceeded_since_ms; /* 0: under the limit now */
    uint64_t exceeded_total_ms;/* time spent over the limit, finished spells */
    tc_evict_pool pool;        /* the primary's (or a standalone node's) candidates */
} tc_memstate;

/* used_memory: the fixed overhead plus what the keyspace and its tables
 * hold. Client buffers are not part of it (INFO shows them apart), so they
 * never make the node evict. */
uint64_t tc_mem_used(const struct tc_server *s);
/* What the clients' query, reply and in-flight buffers hold (INFO's
 * mem_clients_normal): outside used_memory. */
uint64_t tc_mem_clients(const struct tc_server *s);
/* Over the limit now (0 when there is no limit). */
int tc_mem_exceeded(const struct tc_server *s);
/* Periodic: the peak and the time spent over the limit. */
void tc_mem_cron(struct tc_server *s, int64_t now_ms);
/* The settings changed (start, CONFIG SET, a TCCONFIG applied, an image
 * loaded): LFU or LRU access bits, the LFU parameters. */
void tc_evict_settings_changed(struct tc_server *s);

/* A standalone node before a write that may grow memory by about
 * write_bytes: deletes victims until used_memory plus that is within
 * maxmemory. 0, or -1 when it cannot get there (the write is then refused
 * with TC_ERR_OOM). */
int tc_evict_local(struct tc_server *s, size_t write_bytes);
/* What a write may add beyond its arguments' bytes (a new key's header and
 * overheads): an over-estimate only evicts a little early. */
#define TC_EVICT_WRITE_OVERHEAD (64 + TC_KEY_OVERHEAD)

#endif
