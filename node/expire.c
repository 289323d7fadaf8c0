#include "expire.h"

/* Redis 7's constants (expire.c: ACTIVE_EXPIRE_CYCLE_*), each raised by
 * a quarter of its base per step of effort above 1, the slow cycle's
 * share by 2 points and the acceptable stale share lowered by one. */
#define KEYS_PER_LOOP 20
#define FAST_DURATION_US 1000
#define SLOW_TIME_PERC 25
#define ACCEPTABLE_STALE 10

void tc_expire_params_for(unsigned effort, tc_expire_params *p)
{
    if (effort < 1) effort = 1;
    if (effort > 10) effort = 10;
    unsigned e = effort - 1;
    p->keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e;
    p->fast_duration_us = FAST_DURATION_US + FAST_DURATION_US / 4 * e;
    p->slow_time_perc = SLOW_TIME_PERC + 2 * e;
    p->acceptable_stale = ACCEPTABLE_STALE - e;
}

uint64_t tc_expire_fast_wait(const tc_expire_state *st, unsigned effort, uint64_t now_us)
{
    tc_expire_params p;
    tc_expire_params_for(effort, &p);
    /* Worth it only when the last cycle left work behind: it ran out of
     * time or room, or samples keep finding many expired keys. */
    if (!st->timelimit_exit && !st->sink_full && st->stale_perc * 100 < p.acceptable_stale) return TC_EXPIRE_NO_FAST;
    /* At most one fast cycle per two of its durations: half the CPU at most. */
    uint64_t next = st->last_fast_start_us + 2 * p.fast_duration_us;
    return st->last_fast_start_us == 0 || now_us >= next ? 0 : next - now_us;
}

int tc_expire_fast_due(const tc_expire_state *st, unsigned effort, uint64_t now_us)
{
    return tc_expire_fast_wait(st, effort, now_us) == 0;
}

typedef struct sink_adapter {
    const tc_expire_sink *sink;
    int db;
} sink_adapter;

static int take_into_sink(void *ud, const char *key, size_t klen)
{
    sink_adapter *a = ud;
    return a->sink->take(a->sink->ud, a->db, key, klen);
}

void tc_expire_charge(tc_expire_state *st, uint64_t us)
{
    st->cycle_us += us;
    st->debt_us += us;
}

size_t tc_expire_cycle(tc_expire_state *st, tc_keyspace *dbs, int ndbs, const tc_expire_run *run)
{
    tc_expire_params p;
    tc_expire_params_for(run->effort, &p);
    uint64_t start = run->clock(run->clock_ud);
    uint64_t limit_us;
    if (run->type == TC_EXPIRE_FAST) {
        if (!tc_expire_fast_due(st, run->effort, start)) return 0;
        st->last_fast_start_us = start;
        limit_us = p.fast_duration_us;
    } else {
        unsigned hz = run->hz ? run->hz : 10;
        limit_us = (uint64_t)p.slow_time_perc * 1000000 / hz / 100;
        if (limit_us == 0) limit_us = 1;
    }
    /* Deletes done since the last cycle come out of a slow cycle's budget.
     * A fast one runs (on a primary) only while no client write waits, and
     * forgives them: they took time nobody else wanted. */
    if (run->type == TC_EXPIRE_FAST) st->debt_us = 0;
    if (st->debt_us >= limit_us) {
        st->debt_us -= limit_us;
        st->timelimit_exit = 1;
        st->time_cap_reached++;
        return 0;
    }
    limit_us -= st->debt_us;
    st->debt_us = 0;
    st->timelimit_exit = 0;
    st->sink_full = 0;
    size_t total_sampled = 0, total_expired = 0;
    sink_adapter adapter = {run->sink, 0};
    int stop = 0;
    for (int j = 0; j < ndbs && !stop; j++) {
        int db = (st->next_db + j) % ndbs;
        tc_keyspace *ks = &dbs[db];
        adapter.db = db;
        for (;;) {
            size_t nvol = tc_ks_volatile_count(ks);
            if (nvol == 0) break;
            size_t want = nvol < p.keys_per_loop ? nvol : p.keys_per_loop;
            size_t sampled, expired;
            int may_wrap = !run->sink || run->sink->idle(run->sink->ud);
            int why = tc_ks_expire_sample(ks, run->now_ms, want, may_wrap, run->sink ? take_into_sink : NULL,
                                          run->sink ? &adapter : NULL, &sampled, &expired);
            total_sampled += sampled;
            total_expired += expired;
            if (why == TC_KS_SAMPLE_REFUSED) {
                st->sink_full = 1; /* no room for more deletes until an entry is applied */
                st->next_db = db;
                stop = 1;
                break;
            }
            if (run->clock(run->clock_ud) - start > limit_us) {
                st->timelimit_exit = 1;
                st->time_cap_reached++;
                st->next_db = db; /* this database is not done: the next cycle starts here */
                stop = 1;
                break;
            }
            /* few expired (or the walk reached its end for now): next database */
            if (why == TC_KS_SAMPLE_PASS_END || sampled == 0 || expired * 100 / sampled <= p.acceptable_stale) break;
        }
    }
    if (!stop) st->next_db = 0;
    st->cycle_us += run->clock(run->clock_ud) - start;
    /* Redis's stat_expired_stale_perc: a slow-moving average of the
     * expired share of what the cycles sampled. */
    if (total_sampled || !st->sink_full) { /* a cycle that could not look (no room in the sink) says nothing */
        double current = total_sampled ? (double)total_expired / (double)total_sampled : 0;
        st->stale_perc = current * 0.05 + st->stale_perc * 0.95;
    }
    return total_expired;
}
