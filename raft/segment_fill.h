/* raft/segment_fill.h: libraft's log segments are written full of zeros when
 * prepared, so that every log append overwrites blocks that already exist,
 * except while big entries stream into the log (see segment_fill.c for why
 * and how). */
#ifndef TC_SEGMENT_FILL_H
#define TC_SEGMENT_FILL_H

#include <stddef.h>
#include <stdint.h>

/* A log append of at least this many bytes is a big one (a 1 MiB piece of
 * a big value, raft/log_pieces.h); a batch of small client writes stays
 * far below it. */
#define TC_SEGMENT_FILL_BIG_APPEND ((size_t)512 << 10)
/* For this long after a big append, new segments are only reserved. */
#define TC_SEGMENT_FILL_STREAM_MS 1000

/* The append path reports each log append's bytes (any thread). */
void tc_segment_fill_note_append(size_t bytes);
/* Whether a segment prepared at now_ms (CLOCK_MONOTONIC) is left without
 * its zeros: a big append came within TC_SEGMENT_FILL_STREAM_MS. */
int tc_segment_fill_streaming(int64_t now_ms);

/* Log segments libraft prepared whose zeros were written, and reservations
 * of any file that failed (the disk full, most often); shown in INFO. Safe
 * from any thread. */
unsigned long long tc_segment_fill_count(void);
unsigned long long tc_segment_fill_failures(void);
/* Log segments prepared during a stream of big appends: reserved only. */
unsigned long long tc_segment_fill_skipped(void);

#endif
