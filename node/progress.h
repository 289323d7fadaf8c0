/* The command thread's progress inside a long command (issue 19).
 *
 * The Raft thread hands leadership over when the command thread makes no
 * progress for apply_stall_timeout; a loop pass is progress, and so is
 * work inside one long command: each reply element written and each key
 * looked up ticks this counter. A KEYS over millions of keys keeps it
 * moving; a deadlock (or DEBUG SLEEP) does not. One writer (the command
 * thread; forked children tick their own copy), read by the Raft thread:
 * a relaxed load and store, not a locked add, keep it nearly free. */
#ifndef TC_PROGRESS_H
#define TC_PROGRESS_H

#include <stdint.h>

extern uint64_t tc_progress_ticks;

static inline void tc_progress_tick(void)
{
    __atomic_store_n(&tc_progress_ticks, __atomic_load_n(&tc_progress_ticks, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline uint64_t tc_progress_read(void) { return __atomic_load_n(&tc_progress_ticks, __ATOMIC_RELAXED); }

#endif
