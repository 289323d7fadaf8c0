/* Eviction: the candidate pool, the choice of a victim, the node's memory
 * figures (see evict.h for who decides and why). */
#include "evict.h"

#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "server.h"

static const char *const POLICY_NAMES[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                           "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction"};

const char *tc_evict_policy_name(int policy)
{
    return policy >= 0 && policy <= TC_EVICT_NOEVICTION ? POLICY_NAMES[policy] : "noeviction";
}

/* ---- the pool --------------------------------------------------------------- */

void tc_evpool_free(tc_evict_pool *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->c[i].name);
    p->n = 0;
}

static void pool_remove(tc_evict_pool *p, size_t i)
{
    free(p->c[i].name);
    memmove(&p->c[i], &p->c[i + 1], (p->n - i - 1) * sizeof p->c[0]);
    p->n--;
}

int tc_evpool_offer(tc_evict_pool *p, int db, const char *name, size_t len, uint64_t score)
{
    /* a key sampled again: its score may have changed (it was read since) */
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].db == db && p->c[i].len == len && memcmp(p->c[i].name, name, len) == 0) {
            pool_remove(p, i);
            break;
        }
    if (p->n == TC_EVPOOL_SIZE && score <= p->c[0].score) return 0; /* no better than the worst kept */
    char *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, name, len);
    if (p->n == TC_EVPOOL_SIZE) pool_remove(p, 0); /* the worst makes room */
    size_t at = p->n;
    while (at > 0 && p->c[at - 1].score > score) at--;
    memmove(&p->c[at + 1], &p->c[at], (p->n - at) * sizeof p->c[0]);
    p->c[at] = (tc_evict_candidate){score, db, copy, len};
    p->n++;
    return 0;
}

uint64_t tc_evict_score(const tc_keyspace *ks, const tc_key *k, int policy)
{
    switch (policy) {
    case TC_EVICT_VOLATILE_LRU:
    case TC_EVICT_ALLKEYS_LRU: return tc_key_idle_ms(k);
    case TC_EVICT_VOLATILE_LFU:
    case TC_EVICT_ALLKEYS_LFU: return 255 - tc_ks_lfu_count(ks, k);
    case TC_EVICT_VOLATILE_TTL: return UINT64_MAX - (uint64_t)k->expire_at; /* the soonest deadline first */
    default: return 0;
    }
}

/* A key the policy may take: present, not already chosen, and with a
 * deadline under a volatile policy (a key made persistent since it was
 * sampled is no longer a candidate). */
static tc_key *usable(tc_keyspace *ks, int db, const char *name, size_t len, int policy, tc_evict_skip_fn skip,
                      void *ud)
{
    if (skip && skip(ud, db, name, len)) return NULL;
    tc_key *k = tc_ks_peek(ks, name, len, 0); /* now = 0: an expired key is a fine victim too */
    if (k && tc_evict_policy_volatile(policy) && !k->expire_at) return NULL;
    return k;
}

static int has_candidates(tc_keyspace *ks, int vol) { return vol ? tc_ks_volatile_count(ks) > 0 : tc_ks_size(ks) > 0; }

tc_key *tc_evict_pick(tc_keyspace *const *dbs, int ndbs, tc_evict_pool *pool, int policy, int samples, tc_rng *rng,
                      tc_evict_skip_fn skip, void *ud, int *db)
{
    if (policy == TC_EVICT_NOEVICTION || policy < 0 || policy > TC_EVICT_NOEVICTION) return NULL;
    int vol = tc_evict_policy_volatile(policy);
    if (samples < 1) samples = 1;
    if (policy == TC_EVICT_ALLKEYS_RANDOM || policy == TC_EVICT_VOLATILE_RANDOM) {
        /* a few draws (one may land on a key already chosen), each in a
         * database that has candidates, from a random one on */
        for (int i = 0; i < TC_EVPOOL_SIZE; i++) {
            int start = (int)tc_rng_below(rng, (uint64_t)ndbs), d = -1;
            for (int j = 0; j < ndbs && d < 0; j++)
                if (has_candidates(dbs[(start + j) % ndbs], vol)) d = (start + j) % ndbs;
            if (d < 0) return NULL;
            tc_key *k = tc_ks_sample(dbs[d], tc_rng_next(rng), vol);
            if (!k) return NULL;
            if (!skip || !skip(ud, d, tc_key_name(k), tc_key_name_len(k))) {
                *db = d;
                return k;
            }
        }
        return NULL;
    }
    /* Redis's evictionPoolPopulate (each database sampled into the one
     * pool), then the walk from the best candidate; a pool emptied by stale
     * names is filled again, a few rounds at most */
    for (int round = 0; round < 4; round++) {
        int any = 0;
        for (int d = 0; d < ndbs; d++) {
            if (!has_candidates(dbs[d], vol)) continue;
            any = 1;
            for (int i = 0; i < samples; i++) {
                tc_key *k = tc_ks_sample(dbs[d], tc_rng_next(rng), vol);
                if (!k) break;
                if (skip && skip(ud, d, tc_key_name(k), tc_key_name_len(k))) continue;
                tc_evpool_offer(pool, d, tc_key_name(k), tc_key_name_len(k), tc_evict_score(dbs[d], k, policy));
            }
        }
        while (pool->n > 0) {
            tc_evict_candidate *best = &pool->c[pool->n - 1];
            int d = best->db;
            tc_key *k = d < ndbs ? usable(dbs[d], d, best->name, best->len, policy, skip, ud) : NULL;
            pool_remove(pool, pool->n - 1);
            if (k) {
                *db = d;
                return k;
            }
        }
        if (!any) break;
    }
    return NULL;
}

int tc_evict_db_count(tc_server *s) { return s->ndbs; }

tc_keyspace *tc_evict_db_at(tc_server *s, int i) { return &s->dbs[i]; }

/* ---- the node's figures ------------------------------------------------------ */

uint64_t tc_mem_used(const tc_server *s)
{
    uint64_t used = s->mem.startup;
    for (int i = 0; i < s->ndbs; i++) used += s->dbs[i].mem + tc_ks_table_memory(&s->dbs[i]);
    return used;
}

int tc_mem_exceeded(const tc_server *s) { return s->cfg.maxmemory && tc_mem_used(s) > s->cfg.maxmemory; }

void tc_mem_cron(tc_server *s, int64_t now_ms)
{
    uint64_t used = tc_mem_used(s);
    if (used > s->mem.peak) s->mem.peak = used;
    int over = tc_mem_exceeded(s);
    if (over && !s->mem.exceeded_since_ms) {
        s->mem.exceeded_since_ms = now_ms;
    } else if (!over && s->mem.exceeded_since_ms) {
        s->mem.exceeded_total_ms += (uint64_t)(now_ms - s->mem.exceeded_since_ms);
        s->mem.exceeded_since_ms = 0;
    }
}

void tc_evict_settings_changed(tc_server *s)
{
    int lfu = tc_evict_policy_lfu(s->cfg.maxmemory_policy);
    /* the pool's scores may mean something else now */
    tc_evpool_free(&s->mem.pool);
    for (int i = 0; i < s->ndbs; i++) {
        s->dbs[i].lfu = lfu;
        s->dbs[i].lfu_log_factor = (uint32_t)s->cfg.lfu_log_factor;
        s->dbs[i].lfu_decay_minutes = (uint32_t)s->cfg.lfu_decay_time;
    }
    /* the limit may have moved: a spell over it starts or ends now, not at
     * the next cron (INFO's eviction_exceeded_time, as Redis counts it) */
    tc_mem_cron(s, tc_now_ms());
}

int tc_evict_local(tc_server *s, size_t write_bytes)
{
    uint64_t want = write_bytes + TC_EVICT_WRITE_OVERHEAD;
    tc_keyspace *dbs[TC_MAX_DATABASES];
    int ndbs = tc_evict_db_count(s);
    if (ndbs > TC_MAX_DATABASES) ndbs = TC_MAX_DATABASES;
    for (int i = 0; i < ndbs; i++) dbs[i] = tc_evict_db_at(s, i);
    uint64_t cycle_start = uv_hrtime();
    int rc = 0;
    while (s->cfg.maxmemory && tc_mem_used(s) + want > s->cfg.maxmemory) {
        int db;
        tc_key *k = tc_evict_pick(dbs, ndbs, &s->mem.pool, s->cfg.maxmemory_policy, (int)s->cfg.maxmemory_samples,
                                  &s->rng, NULL, NULL, &db);
        if (!k) {
            rc = -1;
            break;
        }
        uint64_t del_start = uv_hrtime();
        tc_notify_keyspace_event(s, TC_NOTIFY_EVICTED, "evicted", tc_key_name(k), tc_key_name_len(k), db);
        tc_ks_delete(dbs[db], tc_key_name(k), tc_key_name_len(k));
        tc_latency_note(s, TC_LAT_EVICTION_DEL, (uv_hrtime() - del_start) / 1000000);
        s->mem.evicted_keys++;
    }
    tc_latency_note(s, TC_LAT_EVICTION_CYCLE, (uv_hrtime() - cycle_start) / 1000000);
    return rc;
}

/* TCEVICT db key [key ...]: the primary's victims in database db, deleted
 * on every node. Replies the number deleted. */
void tc_cmd_tcevict(tc_ctx *c)
{
    long long db;
    if (tc_parse_ll(c->argv[1].p, c->argv[1].len, &db) != 0 || db < 0 || db >= tc_evict_db_count(c->srv)) {
        tc_reply_error(c->r, "ERR DB index is out of range");
        return;
    }
    tc_keyspace *ks = tc_evict_db_at(c->srv, (int)db);
    long long n = 0;
    /* the primary chose the victims; deleting them is this node's eviction cycle */
    uint64_t cycle_start = uv_hrtime();
    for (size_t i = 2; i < c->argc; i++) {
        uint64_t del_start = uv_hrtime();
        if (!tc_ks_delete(ks, c->argv[i].p, c->argv[i].len)) continue;
        n++;
        tc_notify_keyspace_event(c->srv, TC_NOTIFY_EVICTED, "evicted", c->argv[i].p, c->argv[i].len, (int)db);
        tc_latency_note(c->srv, TC_LAT_EVICTION_DEL, (uv_hrtime() - del_start) / 1000000);
    }
    tc_latency_note(c->srv, TC_LAT_EVICTION_CYCLE, (uv_hrtime() - cycle_start) / 1000000);
    c->srv->mem.evicted_keys += (uint64_t)n;
    tc_reply_int(c->r, n);
}
