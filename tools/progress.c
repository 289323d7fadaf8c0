#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_commands.h" /* ctl_now_ms */

#define TTY_REDRAW_MS 100
/* Without a terminal: one line every so often, not one per callback. */
#define LOG_EVERY_MS 5000

void ctl_format_bytes(uint64_t n, char *out, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, len, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void ctl_format_duration(long long ms, char *out, size_t len)
{
    if (ms < 0) ms = 0;
    if (ms < 1000) snprintf(out, len, "%lld ms", ms);
    else if (ms < 60000) snprintf(out, len, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000) snprintf(out, len, "%lldm%02llds", ms / 60000, ms / 1000 % 60);
    else snprintf(out, len, "%lldh%02lldm", ms / 3600000, ms / 60000 % 60);
}

void ctl_progress_begin(ctl_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->start_ms = p->drawn_ms = ctl_now_ms();
    p->tty = isatty(STDERR_FILENO);
}

/* "3.1 MiB of 12.0 MiB (25%), 8.2 MiB/s, ETA 1.1 s" */
static void describe(const ctl_progress *p, long long now, char *out, size_t len)
{
    char done[32], total[32], rate[48] = "", eta[48] = "";
    ctl_format_bytes(p->done, done, sizeof done);
    long long elapsed = now - p->start_ms;
    double bps = elapsed > 0 ? (double)p->done * 1000.0 / (double)elapsed : 0;
    if (elapsed >= 200 && bps > 0) {
        char r[32];
        ctl_format_bytes((uint64_t)bps, r, sizeof r);
        snprintf(rate, sizeof rate, ", %s/s", r);
        if (p->total > p->done) {
            char d[24];
            ctl_format_duration((long long)((double)(p->total - p->done) * 1000.0 / bps), d, sizeof d);
            snprintf(eta, sizeof eta, ", ETA %s", d);
        }
    }
    if (p->total) {
        ctl_format_bytes(p->total, total, sizeof total);
        int pct = (int)(p->done >= p->total ? 100 : (double)p->done * 100.0 / (double)p->total);
        snprintf(out, len, "%s of %s (%d%%)%s%s", done, total, pct, rate, eta);
    } else {
        snprintf(out, len, "%s%s", done, rate);
    }
}

void ctl_progress_set(ctl_progress *p, uint64_t done, uint64_t total)
{
    p->done = done;
    if (total) p->total = total;
    long long now = ctl_now_ms();
    if (now - p->drawn_ms < (p->tty ? TTY_REDRAW_MS : LOG_EVERY_MS)) return;
    p->drawn_ms = now;
    char line[256];
    describe(p, now, line, sizeof line);
    if (p->tty) {
        fprintf(stderr, "\r%s: %s\033[K", p->label, line);
        p->on_screen = 1;
    } else {
        fprintf(stderr, "%s: %s\n", p->label, line);
    }
    fflush(stderr);
}

void ctl_progress_interrupt(ctl_progress *p)
{
    if (!p->on_screen) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->on_screen = 0;
}

void ctl_progress_end(ctl_progress *p)
{
    long long elapsed = ctl_now_ms() - p->start_ms;
    char done[32], took[24], rate[48] = "";
    ctl_format_bytes(p->done, done, sizeof done);
    ctl_format_duration(elapsed, took, sizeof took);
    if (elapsed > 0 && p->done > 0) {
        char r[32];
        ctl_format_bytes((uint64_t)((double)p->done * 1000.0 / (double)elapsed), r, sizeof r);
        snprintf(rate, sizeof rate, " (%s/s)", r);
    }
    fprintf(stderr, "%s%s: %s in %s%s%s\n", p->on_screen ? "\r" : "", p->label, done, took, rate,
            p->tty ? "\033[K" : "");
    fflush(stderr);
    p->on_screen = 0;
}

void ctl_progress_cb(void *ud, uint64_t done, uint64_t total) { ctl_progress_set(ud, done, total); }
