/* raft/segment_fill.h: libraft's log segments are written full of zeros when
 * prepared, so that every log append overwrites blocks that already exist
 * (see segment_fill.c for why and how). */
#ifndef TC_SEGMENT_FILL_H
#define TC_SEGMENT_FILL_H

/* Log segments libraft prepared whose zeros were written, and reservations
 * of any file that failed (the disk full, most often); shown in INFO. Safe
 * from any thread. */
unsigned long long tc_segment_fill_count(void);
unsigned long long tc_segment_fill_failures(void);

#endif
