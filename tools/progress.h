/* Progress of a long step (download, verify, load) on stderr.
 *
 * On a terminal (isatty(stderr)) one line is redrawn in place with \r:
 * bytes done of total, percentage, rate and ETA. Anywhere else (a log file,
 * a pipe, a test) a plain line is written now and then, so logs stay short.
 * Either way the step ends with one summary line. */
#ifndef TC_TOOLS_PROGRESS_H
#define TC_TOOLS_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ctl_progress {
    char label[96];
    uint64_t total;      /* bytes; 0 = unknown */
    uint64_t done;
    long long start_ms;
    long long drawn_ms;  /* when the line was last drawn (tty) or logged */
    int tty;
    int on_screen;       /* a \r line is showing and needs a newline */
} ctl_progress;

void ctl_progress_begin(ctl_progress *p, const char *label, uint64_t total);
/* Sets the bytes done (and the total when it was not known); redraws at
 * most ten times a second. */
void ctl_progress_set(ctl_progress *p, uint64_t done, uint64_t total);
/* The summary line: "<label>: 12.0 MiB in 1.4 s (8.6 MiB/s)". */
void ctl_progress_end(ctl_progress *p);
/* Clears a \r line before another message is printed (and nothing else). */
void ctl_progress_interrupt(ctl_progress *p);
/* A tc_backup_progress_fn: ud is the ctl_progress. */
void ctl_progress_cb(void *ud, uint64_t done, uint64_t total);

/* "512 B", "1.5 KiB", "12.3 MiB", "1.02 GiB". */
void ctl_format_bytes(uint64_t n, char *out, size_t len);
/* "850 ms", "12.4 s", "3m05s", "1h02m". */
void ctl_format_duration(long long ms, char *out, size_t len);

#endif
