#include "room.h"

#include <stdlib.h>
#include <string.h>

/* The bytes a write may add beyond its arguments (a new key's header,
 * overhead): an over-estimate only makes the primary evict a little early,
 * and is given back once the write is applied. */
#define WRITE_OVERHEAD TC_EVICT_WRITE_OVERHEAD
/* Victims per write at most: a write far larger than what one round frees
 * is refused rather than emptying the keyspace in one entry. */
#define MAX_VICTIMS 4096

static uint64_t hash_name(int db, const char *p, size_t len)
{
    uint64_t h = (1469598103934665603ull ^ (uint64_t)db) * 1099511628211ull; /* FNV-1a: a primary-local set */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static tc_room_name **find(tc_room *rm, int db, const char *p, size_t len)
{
    if (!rm->nbuckets) return NULL;
    tc_room_name **link = &rm->buckets[hash_name(db, p, len) & (rm->nbuckets - 1)];
    for (; *link; link = &(*link)->next)
        if ((*link)->db == db && (*link)->len == len && memcmp((*link)->name, p, len) == 0) return link;
    return link;
}

static int in_flight(void *ud, int db, const char *p, size_t len)
{
    tc_room_name **link = find(ud, db, p, len);
    return link && *link;
}

static int grow(tc_room *rm)
{
    size_t n = rm->nbuckets ? rm->nbuckets * 2 : 64;
    tc_room_name **b = calloc(n, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < rm->nbuckets; i++)
        for (tc_room_name *e = rm->buckets[i], *next; e; e = next) {
            next = e->next;
            tc_room_name **slot = &b[hash_name(e->db, e->name, e->len) & (n - 1)];
            e->next = *slot;
            *slot = e;
        }
    free(rm->buckets);
    rm->buckets = b;
    rm->nbuckets = n;
    return 0;
}

static int add(tc_room *rm, int db, const char *p, size_t len, uint64_t cost)
{
    if (rm->n >= rm->nbuckets && grow(rm) != 0) return -1;
    tc_room_name *e = malloc(sizeof *e + len);
    if (!e) return -1;
    e->db = db;
    e->len = len;
    e->cost = cost;
    memcpy(e->name, p, len);
    tc_room_name **slot = &rm->buckets[hash_name(db, p, len) & (rm->nbuckets - 1)];
    e->next = *slot;
    *slot = e;
    rm->n++;
    rm->evicting += cost;
    return 0;
}

static void put_u32(tc_buf *b, uint32_t v) { tc_buf_append(b, (const char *)&v, sizeof v); }

static void put_victim(tc_buf *b, int db, const tc_key *k)
{
    put_u32(b, (uint32_t)db);
    put_u32(b, (uint32_t)tc_key_name_len(k));
    tc_buf_append(b, tc_key_name(k), tc_key_name_len(k));
}

int tc_room_make(tc_room *rm, tc_server *s, size_t write_bytes, tc_room_hold *hold, tc_buf *victims,
                 size_t *nvictims)
{
    *nvictims = 0;
    uint64_t limit = s->cfg.maxmemory;
    if (!limit) return 0;
    /* room for this write too, so that memory stays at the limit rather
     * than one write past it (Redis checks before the write only) */
    uint64_t add_bytes = write_bytes + WRITE_OVERHEAD;
    uint64_t used = tc_mem_used(s) + rm->growing + add_bytes;
    used = used > rm->evicting ? used - rm->evicting : 0;
    tc_keyspace *dbs[TC_MAX_DATABASES];
    int ndbs = tc_evict_db_count(s);
    if (ndbs > TC_MAX_DATABASES) ndbs = TC_MAX_DATABASES;
    for (int i = 0; i < ndbs; i++) dbs[i] = tc_evict_db_at(s, i);
    while (used > limit) {
        if (*nvictims == MAX_VICTIMS) return -1;
        int db;
        tc_key *k = tc_evict_pick(dbs, ndbs, &s->mem.pool, s->cfg.maxmemory_policy, (int)s->cfg.maxmemory_samples,
                                  &s->rng, in_flight, rm, &db);
        if (!k) return -1;
        uint64_t cost = tc_ks_key_cost(k);
        if (add(rm, db, tc_key_name(k), tc_key_name_len(k), cost) != 0) return -1;
        put_victim(victims, db, k);
        put_victim(&hold->names, db, k);
        hold->evicting += cost;
        used = used > cost ? used - cost : 0;
        (*nvictims)++;
    }
    hold->growing += add_bytes;
    rm->growing += add_bytes;
    return 0;
}

void tc_room_release(tc_room *rm, tc_room_hold *hold)
{
    size_t off = 0;
    while (off + 8 <= hold->names.len) {
        uint32_t db, len;
        memcpy(&db, hold->names.data + off, 4);
        memcpy(&len, hold->names.data + off + 4, 4);
        off += 8;
        tc_room_name **link = find(rm, (int)db, hold->names.data + off, len);
        if (link && *link) {
            tc_room_name *e = *link;
            *link = e->next;
            rm->evicting = rm->evicting > e->cost ? rm->evicting - e->cost : 0;
            rm->n--;
            free(e);
        }
        off += len;
    }
    rm->growing = rm->growing > hold->growing ? rm->growing - hold->growing : 0;
    tc_buf_free(&hold->names);
    hold->evicting = hold->growing = 0;
}

void tc_room_free(tc_room *rm)
{
    for (size_t i = 0; i < rm->nbuckets; i++)
        for (tc_room_name *e = rm->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(rm->buckets);
    memset(rm, 0, sizeof *rm);
}
