/* A small deterministic pseudo-random generator (SplitMix64: one 64-bit
 * word of state, any value valid, period 2^64, passes BigCrush).
 *
 * It is the randomness write commands use (tc_ctx.rng, commands.h): when
 * a log entry is applied, every node seeds it the same way from the entry
 * (replication/log_entry.h), so random choices come out the same on every
 * node. The generator's outputs are part of the replicated behaviour:
 * changing this algorithm changes what replicas compute. */
#ifndef TC_RNG_H
#define TC_RNG_H

#include <stdint.h>

typedef struct tc_rng {
    uint64_t state;
} tc_rng;

/* SplitMix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t tc_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void tc_rng_seed(tc_rng *r, uint64_t seed) { r->state = seed; }

static inline uint64_t tc_rng_next(tc_rng *r) { return tc_mix64(r->state += 0x9e3779b97f4a7c15ull); }

/* Uniform in [0, n) without modulo bias; n == 0 gives 0. */
static inline uint64_t tc_rng_below(tc_rng *r, uint64_t n)
{
    if (n == 0) return 0;
    uint64_t floor = (0 - n) % n; /* 2^64 mod n: outputs below it would favour small results */
    for (;;) {
        uint64_t x = tc_rng_next(r);
        if (x >= floor) return x % n;
    }
}

#endif
