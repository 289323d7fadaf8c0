/* The latency monitor: events, their sample history, LATENCY's replies and
 * the per-command histograms (see latency.h). */
#include "latency.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "commands.h"
#include "reply.h"
#include "server.h"

/* Redis's names for its own events; raft-log-write and event-loop are
 * tricache's. Indexed by enum tc_latency_event. */
static const char *const EVENT_NAMES[TC_LAT_NEVENTS] = {
    "command", "fast-command", "expire-cycle", "eviction-cycle", "eviction-del", "raft-log-write", "event-loop",
};

const char *tc_latency_event_name(int ev) { return ev >= 0 && ev < TC_LAT_NEVENTS ? EVENT_NAMES[ev] : NULL; }

int tc_latency_event_find(const char *name, size_t len)
{
    for (int i = 0; i < TC_LAT_NEVENTS; i++)
        if (strlen(EVENT_NAMES[i]) == len && memcmp(EVENT_NAMES[i], name, len) == 0) return i;
    return -1;
}

/* ---- the history ------------------------------------------------------- */

void tc_latency_add(tc_latency *l, int ev, uint32_t ms, int64_t now_s)
{
    if (ev < 0 || ev >= TC_LAT_NEVENTS) return;
    tc_latency_series *t = &l->ev[ev];
    t->active = 1;
    if (ms > t->max) t->max = ms;
    /* one sample per second: a second's later spikes only raise its sample */
    tc_latency_sample *prev = &t->samples[(t->next + TC_LATENCY_SAMPLES - 1) % TC_LATENCY_SAMPLES];
    if (prev->time == now_s) {
        if (ms > prev->ms) prev->ms = ms;
        return;
    }
    t->samples[t->next].time = now_s;
    t->samples[t->next].ms = ms;
    t->next = (t->next + 1) % TC_LATENCY_SAMPLES;
}

int tc_latency_reset(tc_latency *l, int ev)
{
    if (ev < 0 || ev >= TC_LAT_NEVENTS) return 0;
    tc_latency_series *t = &l->ev[ev];
    int had = t->active;
    memset(t, 0, sizeof *t);
    return had;
}

size_t tc_latency_history(const tc_latency *l, int ev, tc_latency_sample *out)
{
    if (ev < 0 || ev >= TC_LAT_NEVENTS) return 0;
    const tc_latency_series *t = &l->ev[ev];
    size_t n = 0;
    for (unsigned j = 0; j < TC_LATENCY_SAMPLES; j++) {
        const tc_latency_sample *sm = &t->samples[(t->next + j) % TC_LATENCY_SAMPLES];
        if (sm->time) out[n++] = *sm;
    }
    return n;
}

tc_latency_sample tc_latency_last(const tc_latency *l, int ev)
{
    tc_latency_sample none = {0, 0};
    if (ev < 0 || ev >= TC_LAT_NEVENTS) return none;
    const tc_latency_series *t = &l->ev[ev];
    return t->samples[(t->next + TC_LATENCY_SAMPLES - 1) % TC_LATENCY_SAMPLES];
}

void tc_latency_note(tc_server *s, int ev, uint64_t ms)
{
    uint64_t threshold = s->cfg.latency_monitor_threshold;
    if (!threshold || ms < threshold) return;
    tc_latency_add(&s->latency, ev, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms, (int64_t)time(NULL));
}

/* ---- per-command histograms --------------------------------------------- */

/* Redis records each command's duration in nanoseconds (its µs times
 * 1000, kept within 1024 ns .. 1 s) in an HdrHistogram of 2 significant
 * digits and reports it at the levels 1024 ns * 2^i, each labelled with the
 * highest value the histogram cannot tell from the level. At that
 * precision the level 2^k is indistinguishable from values up to
 * 2^k + 2^(k-7) - 1, so a duration belongs to the first level whose range
 * reaches it; the labels are those bounds in µs (1, 2, 4, 8, 16, 33, 66, ...). */
#define HIST_MIN_NS 1024ull
#define HIST_MAX_NS 1000000000ull

static uint64_t step_bound_ns(int step)
{
    unsigned k = 10 + (unsigned)step;
    return (1ull << k) + (1ull << (k - 7)) - 1;
}

int tc_latency_hist_step(uint64_t us)
{
    uint64_t ns = us * 1000;
    if (us > HIST_MAX_NS / 1000 || ns > HIST_MAX_NS) ns = HIST_MAX_NS;
    if (ns < HIST_MIN_NS) ns = HIST_MIN_NS;
    int k = 63 - __builtin_clzll(ns); /* 2^k <= ns < 2^(k+1), k >= 10 */
    int step = k - 10;
    if (ns > step_bound_ns(step)) step++;
    return step;
}

uint64_t tc_latency_hist_step_usec(int step) { return step_bound_ns(step) / 1000; }

void tc_latency_hist_record(tc_latency_hist *h, uint64_t us) { h->count[tc_latency_hist_step(us)]++; }

/* ---- the loop's passes ---------------------------------------------------- */

/* Runs once per pass, right before the loop waits for I/O: the time since
 * the previous pass's call, less what the loop spent waiting, is what the
 * pass spent working (callbacks, commands, timers). Two clock reads a pass. */
static void on_pass(uv_prepare_t *h)
{
    tc_server *s = h->data;
    tc_latency *l = &s->latency;
    uint64_t now = uv_hrtime();
    uint64_t idle = uv_metrics_idle_time(h->loop);
    if (l->pass_ns) {
        uint64_t wall = now - l->pass_ns, waited = idle - l->pass_idle_ns;
        uint64_t busy = wall > waited ? wall - waited : 0;
        tc_latency_note(s, TC_LAT_EVENT_LOOP, busy / 1000000);
    }
    l->pass_ns = now;
    l->pass_idle_ns = idle;
}

void tc_latency_watch_loop(tc_server *s)
{
    tc_latency *l = &s->latency;
    if (!s->loop || l->watching) return;
    uv_prepare_init(s->loop, &l->pass_watch);
    l->pass_watch.data = s;
    uv_prepare_start(&l->pass_watch, on_pass);
    uv_unref((uv_handle_t *)&l->pass_watch); /* watching alone keeps no loop running */
    l->watching = 1;
}

void tc_latency_unwatch_loop(tc_server *s)
{
    tc_latency *l = &s->latency;
    if (!l->watching) return;
    l->watching = 0;
    if (!uv_is_closing((uv_handle_t *)&l->pass_watch)) uv_close((uv_handle_t *)&l->pass_watch, NULL);
}

/* ---- LATENCY ---------------------------------------------------------------- */

static void wrong_args(tc_ctx *c, const char *sub)
{
    tc_reply_errorf(c->r, "ERR wrong number of arguments for 'latency|%s' command", sub);
}

static int event_of(const tc_slice *a) { return tc_latency_event_find(a->p, a->len); }

static void latency_latest(tc_ctx *c)
{
    const tc_latency *l = &c->srv->latency;
    size_t n = 0;
    for (int i = 0; i < TC_LAT_NEVENTS; i++) n += l->ev[i].active != 0;
    tc_reply_array(c->r, n);
    for (int i = 0; i < TC_LAT_NEVENTS; i++) {
        if (!l->ev[i].active) continue;
        tc_latency_sample last = tc_latency_last(l, i);
        tc_reply_array(c->r, 4);
        tc_reply_bulks(c->r, EVENT_NAMES[i]);
        tc_reply_int(c->r, last.time);
        tc_reply_int(c->r, last.ms);
        tc_reply_int(c->r, l->ev[i].max);
    }
}

static void latency_history(tc_ctx *c)
{
    tc_latency_sample samples[TC_LATENCY_SAMPLES];
    size_t n = tc_latency_history(&c->srv->latency, event_of(&c->argv[2]), samples);
    tc_reply_array(c->r, n);
    for (size_t i = 0; i < n; i++) {
        tc_reply_array(c->r, 2);
        tc_reply_int(c->r, samples[i].time);
        tc_reply_int(c->r, samples[i].ms);
    }
}

static void latency_reset(tc_ctx *c)
{
    tc_latency *l = &c->srv->latency;
    long long n = 0;
    if (c->argc == 2) {
        for (int i = 0; i < TC_LAT_NEVENTS; i++) n += tc_latency_reset(l, i);
    } else {
        for (size_t a = 2; a < c->argc; a++) n += tc_latency_reset(l, event_of(&c->argv[a]));
    }
    tc_reply_int(c->r, n);
}

/* Redis's histogram reply for one command: calls, then each level that
 * added calls with the calls up to it (cumulative). */
static void reply_histogram(tc_ctx *c, const char *name, const tc_latency_hist *h)
{
    size_t levels = 0;
    uint64_t calls = 0;
    for (int i = 0; i < TC_LATENCY_HIST_STEPS; i++) {
        levels += h->count[i] != 0;
        calls += h->count[i];
    }
    tc_reply_bulks(c->r, name);
    tc_reply_map(c->r, 2);
    tc_reply_bulks(c->r, "calls");
    tc_reply_int(c->r, (long long)calls);
    tc_reply_bulks(c->r, "histogram_usec");
    tc_reply_map(c->r, levels);
    uint64_t cumulative = 0;
    for (int i = 0; i < TC_LATENCY_HIST_STEPS; i++) {
        if (!h->count[i]) continue;
        cumulative += h->count[i];
        tc_reply_int(c->r, (long long)tc_latency_hist_step_usec(i));
        tc_reply_int(c->r, (long long)cumulative);
    }
}

static int hist_used(const tc_latency_hist *h)
{
    for (int i = 0; i < TC_LATENCY_HIST_STEPS; i++)
        if (h->count[i]) return 1;
    return 0;
}

/* LATENCY HISTOGRAM [command ...]: commands never run (or unknown) are
 * left out, each named command once, as Redis does. */
static void latency_histogram(tc_ctx *c)
{
    size_t ncmds;
    const tc_cmd *table = tc_cmd_table(&ncmds);
    const tc_cmdstat *st = c->srv->stats.cmds;
    unsigned char *wanted = NULL;
    if (c->argc > 2) {
        wanted = calloc(ncmds, 1);
        if (!wanted) {
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
        for (size_t a = 2; a < c->argc; a++) {
            const tc_cmd *cmd = tc_cmd_lookup(c->argv[a].p, c->argv[a].len);
            if (cmd) wanted[cmd - table] = 1;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < ncmds; i++) n += (!wanted || wanted[i]) && hist_used(&st[i].hist);
    tc_reply_map(c->r, n);
    for (size_t i = 0; i < ncmds; i++)
        if ((!wanted || wanted[i]) && hist_used(&st[i].hist)) reply_histogram(c, table[i].name, &st[i].hist);
    free(wanted);
}

/* Advice for the events seen, tricache's own wording. */
static const char *const ADVICE[TC_LAT_NEVENTS] = {
    "Slow commands: KEYS, SMEMBERS or HGETALL of big collections, LRANGE 0 -1, SORT, FLUSHALL and DEBUG SLEEP "
    "run on the command thread and hold every other client; prefer SCAN, SSCAN, HSCAN and ranges in pages.",
    "Fast commands were slow: the command thread was probably starved of CPU (other processes on the machine, "
    "swapping) or a value being replaced or deleted was very large.",
    "Active expiry took long: many keys expiring in the same second; spread the TTLs (add some jitter).",
    "Eviction took long: many or big keys had to go to keep under maxmemory; raise maxmemory or keep values "
    "smaller.",
    "Deleting evicted keys took long: the victims are big values; keep values smaller.",
    "Raft log writes were slow: every write this node acknowledges waits for its disk. Check the data "
    "directory's disk (fsync latency, other load, a nearly full or failing device).",
    "The command thread was stalled for a whole loop pass: while it is, no client is answered; on the primary "
    "a stall longer than election_timeout can cost it its leadership.",
};

static void latency_doctor(tc_ctx *c)
{
    const tc_latency *l = &c->srv->latency;
    tc_buf b = {0};
    int any = 0;
    for (int i = 0; i < TC_LAT_NEVENTS; i++) any |= l->ev[i].active;
    if (!any && !c->srv->cfg.latency_monitor_threshold) {
        tc_buf_printf(&b, "The latency monitor is off on this node (latency_monitor_threshold is 0), so nothing has "
                          "been recorded. Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>, or "
                          "latency_monitor_threshold in cluster.toml.\n");
    } else if (!any) {
        tc_buf_printf(&b, "No latency spike of %llu ms or more has been recorded on this node since it started or "
                          "since the last LATENCY RESET.\n",
                      (unsigned long long)c->srv->cfg.latency_monitor_threshold);
    } else {
        tc_buf_printf(&b, "Latency spikes recorded on this node (threshold %llu ms):\n\n",
                      (unsigned long long)c->srv->cfg.latency_monitor_threshold);
        int64_t now = (int64_t)time(NULL);
        int k = 0;
        for (int i = 0; i < TC_LAT_NEVENTS; i++) {
            if (!l->ev[i].active) continue;
            tc_latency_sample sm[TC_LATENCY_SAMPLES];
            size_t n = tc_latency_history(l, i, sm);
            double sum = 0, dev = 0;
            for (size_t j = 0; j < n; j++) sum += sm[j].ms;
            double avg = n ? sum / (double)n : 0;
            for (size_t j = 0; j < n; j++) dev += fabs(sm[j].ms - avg);
            dev = n ? dev / (double)n : 0;
            tc_buf_printf(&b,
                          "%d. %s: %zu spike%s (average %.0f ms, mean deviation %.0f ms), the first %llds ago, "
                          "the last %llds ago. Worst: %u ms.\n",
                          ++k, EVENT_NAMES[i], n, n == 1 ? "" : "s", avg, dev,
                          n ? (long long)(now - sm[0].time) : 0LL, n ? (long long)(now - sm[n - 1].time) : 0LL,
                          l->ev[i].max);
        }
        tc_buf_printf(&b, "\nWhat to look at:\n\n");
        for (int i = 0; i < TC_LAT_NEVENTS; i++)
            if (l->ev[i].active) tc_buf_printf(&b, "- %s\n", ADVICE[i]);
    }
    tc_reply_verbatim(c->r, b.data ? b.data : "", b.len);
    tc_buf_free(&b);
}

/* LATENCY GRAPH event: the samples as columns of '#' scaled between the
 * lowest and the highest, newest on the right, with how many seconds ago
 * each was taken written down under it (tricache's own layout). */
#define GRAPH_ROWS 4
#define GRAPH_COLS 80
static void latency_graph(tc_ctx *c)
{
    const tc_slice *a = &c->argv[2];
    int ev = event_of(a);
    tc_latency_sample sm[TC_LATENCY_SAMPLES];
    size_t n = tc_latency_history(&c->srv->latency, ev, sm);
    if (!n) {
        tc_reply_errorf(c->r, "ERR No samples available for event '%.*s'", (int)(a->len > 128 ? 128 : a->len), a->p);
        return;
    }
    size_t first = n > GRAPH_COLS ? n - GRAPH_COLS : 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t j = first; j < n; j++) {
        if (sm[j].ms < lo) lo = sm[j].ms;
        if (sm[j].ms > hi) hi = sm[j].ms;
    }
    tc_buf b = {0};
    tc_buf_printf(&b, "%s - high %u ms, low %u ms (all time high %u ms)\n", EVENT_NAMES[ev], hi, lo,
                  c->srv->latency.ev[ev].max);
    for (int i = 0; i < GRAPH_COLS; i++) tc_buf_append(&b, "-", 1);
    tc_buf_append(&b, "\n", 1);
    for (int row = GRAPH_ROWS; row >= 1; row--) {
        for (size_t j = first; j < n; j++) {
            int h = hi == lo ? GRAPH_ROWS : 1 + (int)((uint64_t)(sm[j].ms - lo) * (GRAPH_ROWS - 1) / (hi - lo));
            tc_buf_append(&b, h >= row ? "#" : " ", 1);
        }
        tc_buf_append(&b, "\n", 1);
    }
    /* seconds ago, one digit per line, read top to bottom under each column */
    int64_t now = (int64_t)time(NULL);
    char ago[GRAPH_COLS][24];
    size_t width = 0;
    for (size_t j = first; j < n; j++) {
        long long s = (long long)(now - sm[j].time);
        snprintf(ago[j - first], sizeof ago[0], "%llds", s < 0 ? 0 : s);
        size_t w = strlen(ago[j - first]);
        if (w > width) width = w;
    }
    for (size_t line = 0; line < width; line++) {
        for (size_t j = first; j < n; j++) {
            const char *t = ago[j - first];
            tc_buf_append(&b, line < strlen(t) ? &t[line] : " ", 1);
        }
        tc_buf_append(&b, "\n", 1);
    }
    tc_reply_verbatim(c->r, b.data, b.len);
    tc_buf_free(&b);
}

static void latency_help(tc_ctx *c)
{
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
        NULL};
    size_t n = 0;
    while (lines[n]) n++;
    tc_reply_array(c->r, n);
    for (size_t i = 0; i < n; i++) tc_reply_status(c->r, lines[i]);
}

void tc_cmd_latency(tc_ctx *c)
{
    const tc_slice *sub = &c->argv[1];
    /* each subcommand's arity, as Redis 7.0 checks it: exact (> 0) or at least (< 0) */
    static const struct {
        const char *name;
        int arity;
        void (*fn)(tc_ctx *);
    } subs[] = {{"latest", 2, latency_latest},     {"history", 3, latency_history},
                {"reset", -2, latency_reset},      {"doctor", 2, latency_doctor},
                {"graph", 3, latency_graph},       {"histogram", -2, latency_histogram},
                {"help", 2, latency_help}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (!tc_arg_is(sub, subs[i].name)) continue;
        int arity = subs[i].arity;
        if ((arity > 0 && c->argc != (size_t)arity) || (arity < 0 && c->argc < (size_t)-arity)) {
            wrong_args(c, subs[i].name);
            return;
        }
        subs[i].fn(c);
        return;
    }
    tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try LATENCY HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                    sub->p);
}
