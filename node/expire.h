/* Active expiry: the cycle that finds keys whose deadline passed and frees
 * them without waiting for an access, shaped like Redis 7's
 * activeExpireCycle. Each database is walked from its own cursor (its keys
 * with deadlines, tc_ks_expire_sample), a sample at a time; the walk goes
 * on while more than the acceptable share of a sample had expired, until
 * the cycle's time is up. The slow cycle runs hz times a second with a
 * quarter of the period; the fast one (about a millisecond) runs between
 * loop passes when the last cycle ran out of time or stale keys are many.
 *
 * A standalone node deletes what it finds on the spot. A replicated
 * primary hands each expired key to a sink instead (the router collects
 * them into log entries that every node applies); the sink may say it has
 * no room, which ends the cycle until an entry is applied. */
#ifndef TC_EXPIRE_H
#define TC_EXPIRE_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

enum { TC_EXPIRE_SLOW = 0, TC_EXPIRE_FAST = 1 };

/* What active-expire-effort (1..10) turns into, as in Redis. */
typedef struct tc_expire_params {
    size_t keys_per_loop;      /* keys looked at per sample */
    uint64_t fast_duration_us; /* a fast cycle's budget */
    unsigned slow_time_perc;   /* a slow cycle's share of the cron period */
    unsigned acceptable_stale; /* percent of a sample expired below which the walk stops */
} tc_expire_params;

void tc_expire_params_for(unsigned effort, tc_expire_params *p);

/* The cycle's memory between runs, and INFO's figures. */
typedef struct tc_expire_state {
    int next_db;                  /* where the next cycle starts */
    int timelimit_exit;           /* the last cycle ran out of time */
    int sink_full;                /* the last cycle stopped for want of room in the sink */
    uint64_t last_fast_start_us;
    double stale_perc;            /* running average of the expired share of samples (0..1) */
    uint64_t time_cap_reached;    /* expired_time_cap_reached_count */
    uint64_t cycle_us;            /* expire_cycle_cpu_milliseconds, in microseconds */
    uint64_t debt_us;             /* deleting time charged (tc_expire_charge) not yet taken from a budget */
} tc_expire_state;

/* Where a replicated primary's decisions go. take: 0 the key is taken (the
 * walk moves past it), -1 no room (the cycle ends; the key is looked at
 * again next time). idle: 1 when none of the keys taken before still waits
 * to be deleted, so a database's walk may start over at its first key
 * without meeting them again. */
typedef struct tc_expire_sink {
    int (*take)(void *ud, int db, const char *key, size_t klen);
    int (*idle)(void *ud);
    void *ud;
} tc_expire_sink;

/* A monotonic clock in microseconds (tests pass their own). */
typedef uint64_t (*tc_expire_clock_fn)(void *ud);

typedef struct tc_expire_run {
    int type;                    /* TC_EXPIRE_SLOW or TC_EXPIRE_FAST */
    unsigned effort;             /* 1..10 */
    unsigned hz;                 /* cron frequency: the slow cycle's period */
    int64_t now_ms;              /* what counts as expired */
    tc_expire_clock_fn clock;
    void *clock_ud;
    const tc_expire_sink *sink;  /* NULL: delete on the spot */
} tc_expire_run;

/* Runs one cycle over dbs[0..ndbs) (a fast one only when it is due);
 * returns the keys it expired (deleted or taken by the sink). */
size_t tc_expire_cycle(tc_expire_state *st, tc_keyspace *dbs, int ndbs, const tc_expire_run *run);

/* Time spent deleting keys a cycle found, elsewhere than in the cycle: a
 * primary applying its own expiry entries. As Redis's cycle pays for its
 * deletes, it is counted in cycle_us and taken from the next slow cycles'
 * budgets, so under a write load expiry's whole cost stays within the slow
 * cycle's share; a fast cycle (which a primary runs only when no client
 * write waits) forgives it. */
void tc_expire_charge(tc_expire_state *st, uint64_t us);

/* 1 when a fast cycle would run now (so a caller can skip building its sink). */
int tc_expire_fast_due(const tc_expire_state *st, unsigned effort, uint64_t now_us);
/* Microseconds until a fast cycle may run (0: now); TC_EXPIRE_NO_FAST when
 * none is wanted. An idle loop sleeps until its next timer: the node arms
 * one for this (tc_server_expire_wake), or fast cycles would wait for the
 * cron and expiry would crawl at the slow cycle's share. */
#define TC_EXPIRE_NO_FAST UINT64_MAX
uint64_t tc_expire_fast_wait(const tc_expire_state *st, unsigned effort, uint64_t now_us);

#endif
