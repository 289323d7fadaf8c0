/* The latency monitor (Redis's LATENCY command) and the per-command latency
 * histograms of LATENCY HISTOGRAM.
 *
 * An event is a kind of pause (a slow command, a long event-loop pass, a
 * slow Raft log write...). Whatever takes at least latency_monitor_threshold
 * milliseconds is recorded as a sample of its event; each event keeps its
 * last TC_LATENCY_SAMPLES samples, at most one per second (a second's
 * sample holds the worst of that second), and the worst ever seen. The
 * events are a fixed list, so recording allocates nothing. */
#ifndef TC_LATENCY_H
#define TC_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tc_server;

enum tc_latency_event {
    TC_LAT_COMMAND,        /* a command that is not flagged fast */
    TC_LAT_FAST_COMMAND,   /* a command flagged fast (O(1), O(log n)) */
    TC_LAT_EXPIRE_CYCLE,   /* one pass of active expiry (a standalone node) */
    TC_LAT_EVICTION_CYCLE, /* making room under maxmemory (deleting the victims) */
    TC_LAT_EVICTION_DEL,   /* deleting one evicted key */
    TC_LAT_RAFT_LOG_WRITE, /* a Raft log append, from request to durable */
    TC_LAT_EVENT_LOOP,     /* one pass of the command thread's loop: a stall */
    TC_LAT_NEVENTS
};

#define TC_LATENCY_SAMPLES 160

typedef struct tc_latency_sample {
    int64_t time;   /* unix seconds; 0: an empty slot */
    uint32_t ms;
} tc_latency_sample;

typedef struct tc_latency_series {
    tc_latency_sample samples[TC_LATENCY_SAMPLES]; /* a ring: next is the slot written next */
    unsigned next;
    uint32_t max;   /* the worst sample ever recorded (until a reset) */
    int active;     /* has samples: LATEST lists it, RESET counts it */
} tc_latency_series;

typedef struct tc_latency {
    tc_latency_series ev[TC_LAT_NEVENTS];
    /* event-loop stalls: a prepare handle runs once per loop pass, just
     * before the loop waits for I/O */
    uv_prepare_t pass_watch;
    int watching;
    uint64_t pass_ns, pass_idle_ns; /* at the previous pass: hrtime, and the loop's idle time */
} tc_latency;

/* Redis's LATENCY HISTOGRAM: a command's durations counted in the buckets
 * Redis's HdrHistogram reports (power-of-two steps from 1 µs to ~1 s). */
#define TC_LATENCY_HIST_STEPS 21
typedef struct tc_latency_hist {
    uint64_t count[TC_LATENCY_HIST_STEPS];
} tc_latency_hist;

/* "command", "fast-command", ...; NULL past the list */
const char *tc_latency_event_name(int ev);
/* The event of that name (exact, as Redis's event names), or -1. */
int tc_latency_event_find(const char *name, size_t len);

/* Records ms as a sample of ev at unix second now_s: in the same second
 * as the event's last sample it only raises that sample. */
void tc_latency_add(tc_latency *l, int ev, uint32_t ms, int64_t now_s);
/* Forgets ev's samples and worst; 1 if it had any, else 0. */
int tc_latency_reset(tc_latency *l, int ev);
/* The samples of ev, oldest first, into out (TC_LATENCY_SAMPLES slots);
 * returns how many. */
size_t tc_latency_history(const tc_latency *l, int ev, tc_latency_sample *out);
/* The most recent sample of ev (time 0 if none). */
tc_latency_sample tc_latency_last(const tc_latency *l, int ev);

/* What the node calls where a pause may happen: records the sample when
 * the monitor is on (latency_monitor_threshold > 0) and ms reaches it.
 * Command thread only. */
void tc_latency_note(struct tc_server *s, int ev, uint64_t ms);

/* A command's duration into its histogram (µs, as Redis measures it). */
void tc_latency_hist_record(tc_latency_hist *h, uint64_t us);
/* The reporting step a duration falls in, and the step's label in µs. */
int tc_latency_hist_step(uint64_t us);
uint64_t tc_latency_hist_step_usec(int step);

/* Starts / stops timing the passes of s's loop (event-loop stalls). The
 * loop must have been configured with UV_METRICS_IDLE_TIME first, so a
 * pass's time spent waiting for I/O can be told from its work. */
void tc_latency_watch_loop(struct tc_server *s);
void tc_latency_unwatch_loop(struct tc_server *s);

#endif
