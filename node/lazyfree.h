/* Freeing big values off the event loop, as Redis's lazyfree: a value with
 * more than TC_LAZYFREE_THRESHOLD elements is handed to a background thread
 * that frees it, so deleting, expiring, overwriting or flushing a key with
 * millions of elements costs the event loop one queue push. Smaller values
 * are freed inline (a thread hand-off costs more than a few frees).
 *
 * Values handed over must be owned by nobody else: the thread calls
 * fn(value) at some later point. The node starts the thread at startup and
 * stops it at exit; stopping waits until everything queued is freed and
 * joins the thread. Without a running thread (tools, tests that do not
 * start it, after stop) tc_lazyfree hands nothing over and frees inline. */
#ifndef TC_LAZYFREE_H
#define TC_LAZYFREE_H

#include <stddef.h>

/* Redis's LAZYFREE_THRESHOLD. */
#define TC_LAZYFREE_THRESHOLD 64

/* Starts the thread (a second start is a no-op). 0, or -1 if it could not
 * be started (values are then freed inline). */
int tc_lazyfree_start(void);
/* Frees what is queued, then joins the thread. */
void tc_lazyfree_stop(void);

/* Frees value with fn: in the background when elements exceeds the
 * threshold and the thread runs (and the queue entry could be allocated),
 * inline otherwise. */
void tc_lazyfree(void (*fn)(void *), void *value, size_t elements);

/* Values queued and not freed yet, and values freed in the background since
 * start (INFO lazyfree_pending_objects, lazyfreed_objects). */
size_t tc_lazyfree_pending(void);
size_t tc_lazyfree_done(void);

#endif
