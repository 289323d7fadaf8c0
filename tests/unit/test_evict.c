/* node/evict.c: the candidate pool, LFU counter arithmetic, each policy's
 * choice on a crafted keyspace, used_memory's accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evict.h"
#include "fixture.h"

#define NOW_MS 1700000000000LL

static void test_pool_keeps_the_best_sixteen(void **state)
{
    (void)state;
    tc_evict_pool p = {0};
    char name[16];
    for (int i = 0; i < 40; i++) { /* scores 0..39, offered out of order */
        int score = (i * 17) % 40;
        snprintf(name, sizeof name, "k%d", score);
        assert_int_equal(tc_evpool_offer(&p, 0, name, strlen(name), (uint64_t)score), 0);
    }
    assert_int_equal(p.n, TC_EVPOOL_SIZE);
    for (size_t i = 0; i < p.n; i++) assert_int_equal(p.c[i].score, 24 + i); /* ascending, the best last */
    assert_memory_equal(p.c[p.n - 1].name, "k39", 3);
    /* no better than the worst kept: not taken */
    assert_int_equal(tc_evpool_offer(&p, 0, "low", 3, 5), 0);
    for (size_t i = 0; i < p.n; i++) assert_false(p.c[i].len == 3 && memcmp(p.c[i].name, "low", 3) == 0);
    /* a name offered again has its score updated, not a second place */
    assert_int_equal(tc_evpool_offer(&p, 0, "k24", 3, 100), 0);
    assert_int_equal(p.n, TC_EVPOOL_SIZE);
    assert_int_equal(p.c[p.n - 1].score, 100);
    assert_memory_equal(p.c[p.n - 1].name, "k24", 3);
    tc_evpool_free(&p);
    assert_int_equal(p.n, 0);
}

static void test_lfu_arithmetic(void **state)
{
    (void)state;
    /* LFULogIncr: a new key (5) always counts its next access ... */
    assert_int_equal(tc_lfu_log_incr(5, 10, 0.999), 6);
    /* ... a busy one with probability 1 / ((c - 5) * factor + 1) */
    assert_int_equal(tc_lfu_log_incr(15, 10, 0.5), 15);
    assert_int_equal(tc_lfu_log_incr(15, 10, 1.0 / 101 - 1e-9), 16);
    assert_int_equal(tc_lfu_log_incr(15, 10, 1.0 / 101 + 1e-9), 15);
    assert_int_equal(tc_lfu_log_incr(15, 0, 0.999), 16); /* factor 0: every access counts */
    assert_int_equal(tc_lfu_log_incr(255, 0, 0.0), 255); /* the ceiling */
    /* LFUDecrAndReturn: one less per decay period elapsed, never below 0 */
    assert_int_equal(tc_lfu_decay(10, 3, 1), 7);
    assert_int_equal(tc_lfu_decay(10, 5, 2), 8);
    assert_int_equal(tc_lfu_decay(10, 30, 1), 0);
    assert_int_equal(tc_lfu_decay(10, 1000, 0), 10); /* decay time 0: never */
}

/* keys k0..k9 idle 0..9 s (k9 the oldest); k2, k5 and k7 have deadlines,
 * k7's the soonest; persistent p100 is idle longer than all of them */
static void craft(fx *f)
{
    tc_lru_clock_update(NOW_MS);
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "k%d", i);
        int64_t exp = i == 2 ? NOW_MS + 300000 : i == 5 ? NOW_MS + 200000 : i == 7 ? NOW_MS + 100000 : 0;
        tc_key *k = tc_ks_set(&f->srv.dbs[0], name, strlen(name), "v", 1, exp);
        k->lru = (tc_lru_clock() - (uint32_t)i) & TC_LRU_CLOCK_MAX;
    }
    tc_key *k = tc_ks_set(&f->srv.dbs[0], "p100", 4, "v", 1, 0);
    k->lru = (tc_lru_clock() - 100) & TC_LRU_CLOCK_MAX;
}

static const char *pick(fx *f, int policy, int samples)
{
    static char name[32];
    tc_rng rng;
    tc_rng_seed(&rng, 12345);
    tc_evict_pool pool = {0};
    tc_keyspace *dbs[1] = {&f->srv.dbs[0]};
    int db;
    tc_key *k = tc_evict_pick(dbs, 1, &pool, policy, samples, &rng, NULL, NULL, &db);
    tc_evpool_free(&pool);
    if (!k) return "(none)";
    snprintf(name, sizeof name, "%.*s", (int)k->klen, tc_key_name(k));
    return name;
}

static int skip_p100(void *ud, int db, const char *key, size_t klen)
{
    (void)ud, (void)db;
    return klen == 4 && memcmp(key, "p100", 4) == 0;
}

static void test_each_policy_chooses_as_redis(void **state)
{
    fx *f = *state;
    craft(f);
    /* enough samples that every key is seen: the approximation is then exact */
    assert_string_equal(pick(f, TC_EVICT_ALLKEYS_LRU, 200), "p100");
    assert_string_equal(pick(f, TC_EVICT_VOLATILE_LRU, 200), "k7"); /* the idlest with a deadline */
    assert_string_equal(pick(f, TC_EVICT_VOLATILE_TTL, 200), "k7");
    assert_string_equal(pick(f, TC_EVICT_NOEVICTION, 200), "(none)");
    /* a key already chosen (in flight) is passed over */
    tc_rng rng;
    tc_rng_seed(&rng, 1);
    tc_evict_pool pool = {0};
    tc_keyspace *dbs[1] = {&f->srv.dbs[0]};
    int db;
    tc_key *k = tc_evict_pick(dbs, 1, &pool, TC_EVICT_ALLKEYS_LRU, 200, &rng, skip_p100, NULL, &db);
    assert_non_null(k);
    assert_memory_equal(tc_key_name(k), "k9", 2);
    tc_evpool_free(&pool);
    /* volatile-random never takes a key without a deadline */
    tc_rng_seed(&rng, 7);
    int seen[3] = {0};
    for (int i = 0; i < 300; i++) {
        k = tc_evict_pick(dbs, 1, &pool, TC_EVICT_VOLATILE_RANDOM, 5, &rng, NULL, NULL, &db);
        assert_non_null(k);
        assert_true(k->expire_at != 0);
        seen[k->data[1] == '2' ? 0 : k->data[1] == '5' ? 1 : 2]++;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    /* allkeys-random reaches every key */
    int all[11] = {0};
    for (int i = 0; i < 2000; i++) {
        k = tc_evict_pick(dbs, 1, &pool, TC_EVICT_ALLKEYS_RANDOM, 5, &rng, NULL, NULL, &db);
        all[k->klen == 4 ? 10 : k->data[1] - '0']++;
    }
    for (int i = 0; i < 11; i++) assert_true(all[i] > 0);
    /* no key with a deadline: volatile policies have nothing */
    fx_run(f, "PERSIST", "k2", NULL);
    fx_run(f, "PERSIST", "k5", NULL);
    fx_run(f, "PERSIST", "k7", NULL);
    assert_string_equal(pick(f, TC_EVICT_VOLATILE_LRU, 200), "(none)");
    assert_string_equal(pick(f, TC_EVICT_VOLATILE_TTL, 200), "(none)");
    assert_string_equal(pick(f, TC_EVICT_VOLATILE_RANDOM, 200), "(none)");
}

static void test_lfu_policy_takes_the_least_used(void **state)
{
    fx *f = *state;
    assert_string_equal(fx_run(f, "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", NULL), "+OK\r\n");
    assert_int_equal(f->srv.dbs[0].lfu, 1);
    tc_lru_clock_update(NOW_MS);
    uint32_t minutes = (uint32_t)(NOW_MS / 60000) & 0xffff;
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "f%d", i);
        tc_key *k = tc_ks_set(&f->srv.dbs[0], name, strlen(name), "v", 1, 0);
        k->lru = (minutes << 8) | (uint32_t)(20 + i * 3); /* f0 the least used */
    }
    assert_string_equal(pick(f, TC_EVICT_ALLKEYS_LFU, 200), "f0");
    /* OBJECT FREQ answers the counter under an LFU policy */
    assert_string_equal(fx_run(f, "OBJECT", "FREQ", "f3", NULL), ":29\r\n");
}

static void test_used_memory_follows_the_keys(void **state)
{
    fx *f = *state;
    assert_int_equal(f->srv.dbs[0].mem, 0);
    fx_run(f, "SET", "a", "0123456789", NULL);
    tc_key *k = tc_ks_peek(&f->srv.dbs[0], "a", 1, 0);
    assert_int_equal(f->srv.dbs[0].mem, tc_ks_key_cost(k));
    fx_run(f, "APPEND", "a", "more bytes", NULL);
    k = tc_ks_peek(&f->srv.dbs[0], "a", 1, 0);
    assert_int_equal(f->srv.dbs[0].mem, tc_ks_key_cost(k));
    /* a hash growing in place, past its compact encoding */
    char field[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(field, sizeof field, "f%d", i);
        fx_run(f, "HSET", "h", field, "some value", NULL);
    }
    tc_key *h = tc_ks_peek(&f->srv.dbs[0], "h", 1, 0);
    k = tc_ks_peek(&f->srv.dbs[0], "a", 1, 0);
    assert_int_equal(f->srv.dbs[0].mem, tc_ks_key_cost(k) + tc_ks_key_cost(h));
    for (int i = 0; i < 500; i++) {
        snprintf(field, sizeof field, "f%d", i);
        fx_run(f, "HDEL", "h", field, NULL);
    }
    h = tc_ks_peek(&f->srv.dbs[0], "h", 1, 0);
    assert_int_equal(f->srv.dbs[0].mem, tc_ks_key_cost(k) + tc_ks_key_cost(h));
    fx_run(f, "DEL", "a", "h", NULL);
    assert_int_equal(f->srv.dbs[0].mem, 0);
}

static void test_standalone_evicts_to_the_limit(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "5000", "key", "100", NULL);
    fx_run(f, "SET", "keep", "v", NULL); /* persistent: volatile-lru must not take it */
    uint64_t used = tc_mem_used(&f->srv);
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)(used - 200000));
    assert_string_equal(fx_run(f, "CONFIG", "SET", "maxmemory", limit, NULL), "+OK\r\n");
    assert_int_equal(tc_mem_exceeded(&f->srv), 1);
    /* noeviction: nothing can go */
    assert_int_equal(tc_evict_local(&f->srv, 0), -1);
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":5001\r\n");
    /* volatile-lru and no key with a deadline: the same */
    fx_run(f, "CONFIG", "SET", "maxmemory-policy", "volatile-lru", NULL);
    assert_int_equal(tc_evict_local(&f->srv, 0), -1);
    fx_run(f, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru", NULL);
    assert_int_equal(tc_evict_local(&f->srv, 0), 0);
    assert_true(tc_mem_used(&f->srv) + TC_EVICT_WRITE_OVERHEAD <= used - 200000);
    assert_true(f->srv.mem.evicted_keys > 0);
    assert_true(f->srv.mem.evicted_keys < 5001);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_keeps_the_best_sixteen), cmocka_unit_test(test_lfu_arithmetic),
        T(test_each_policy_chooses_as_redis),              T(test_lfu_policy_takes_the_least_used),
        T(test_used_memory_follows_the_keys),              T(test_standalone_evicts_to_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
