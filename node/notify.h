/* Keyspace notifications (notify.c), as Redis 7 sends them: when a command
 * changes a key, the node PUBLISHes to its own subscribers
 *   __keyspace@<db>__:<key>    with the event name as the message (class K),
 *   __keyevent@<db>__:<event>  with the key as the message (class E),
 * if the event's class is among the notify-keyspace-events letters.
 *
 * Every node publishes for its own subscribers when it applies a change:
 * a write runs once per node (at apply), and so does the replicated expiry,
 * so a subscriber on a replica sees the same events as one on the primary.
 * Nothing here goes through the Raft log; with the setting off (the default)
 * an event costs one test of a bit. */
#ifndef TC_NOTIFY_H
#define TC_NOTIFY_H

#include <stddef.h>

#include "commands.h"

struct tc_server;

/* The classes, as Redis's letters name them. */
enum tc_notify_class {
    TC_NOTIFY_KEYSPACE = 1 << 0, /* K: __keyspace@<db>__:<key> channels */
    TC_NOTIFY_KEYEVENT = 1 << 1, /* E: __keyevent@<db>__:<event> channels */
    TC_NOTIFY_GENERIC = 1 << 2,  /* g: DEL, EXPIRE, RENAME, COPY, ... */
    TC_NOTIFY_STRING = 1 << 3,   /* $ */
    TC_NOTIFY_LIST = 1 << 4,     /* l */
    TC_NOTIFY_SET = 1 << 5,      /* s */
    TC_NOTIFY_HASH = 1 << 6,     /* h */
    TC_NOTIFY_ZSET = 1 << 7,     /* z */
    TC_NOTIFY_EXPIRED = 1 << 8,  /* x: a key deleted because its deadline passed */
    TC_NOTIFY_EVICTED = 1 << 9,  /* e: a key evicted for maxmemory */
    TC_NOTIFY_STREAM = 1 << 10,  /* t */
    TC_NOTIFY_KEY_MISS = 1 << 11,/* m: a read command looked for a key that is not there ("keymiss") */
    TC_NOTIFY_MODULE = 1 << 12,  /* d */
    TC_NOTIFY_NEW = 1 << 13,     /* n: a key was created */
};
/* "A": every class but K, E, m and n. */
#define TC_NOTIFY_ALL                                                                                            \
    (TC_NOTIFY_GENERIC | TC_NOTIFY_STRING | TC_NOTIFY_LIST | TC_NOTIFY_SET | TC_NOTIFY_HASH | TC_NOTIFY_ZSET | \
     TC_NOTIFY_EXPIRED | TC_NOTIFY_EVICTED | TC_NOTIFY_STREAM | TC_NOTIFY_MODULE)
/* Longest canonical letters string, NUL included ("A" + "n" never both). */
#define TC_NOTIFY_LETTERS_MAX 16

/* Letters to classes (Redis's keyspaceEventsStringToFlags); -1 on a letter
 * that is not one of "KEg$lshzxetmdnA". */
int tc_notify_parse(const char *letters);
/* Classes to letters in Redis's order, as CONFIG GET answers them ("A" for
 * all, 'n' dropped next to "A" as Redis does). */
void tc_notify_render(int classes, char out[TC_NOTIFY_LETTERS_MAX]);

/* The channel an event goes to: "__keyspace@<db>__:" + key (keyspace != 0)
 * or "__keyevent@<db>__:" + event, in out (malloc'd when it does not fit
 * in stack_len bytes of stack). Returns the length, or 0 out of memory. */
size_t tc_notify_channel(char **out, char *stack, size_t stack_len, int keyspace, int db, const char *name,
                         size_t len);

/* Publishes event for key in db to this node's subscribers if type_class
 * is enabled (s->cfg.notify_classes). Every place that changes keys calls
 * it, eviction included; it never touches the keyspace. */
void tc_notify_keyspace_event(struct tc_server *s, int type_class, const char *event, const char *key, size_t klen,
                              int db);

/* The database a command works in. */
static inline int tc_ctx_db(const tc_ctx *c)
{
    return c->db;
}
/* A command's event for key, in its database. */
void tc_notify(const tc_ctx *c, int type_class, const char *event, const tc_slice *key);
/* A write command found no key it reads from (COPY's source, the STORE
 * commands' inputs, BITOP's, PFMERGE's): Redis says "keymiss" for those,
 * as for a read's lookup. For a read the keyspace's hook has said it
 * already, so this does nothing then. */
void tc_notify_source_miss(const tc_ctx *c, const tc_slice *key);

/* Hooks the node's keyspace so that keys it deletes on expiry ("expired"),
 * keys it creates ("new") and reads that miss ("keymiss", only while class
 * m is on) are notified. tc_server_init calls it, and CONFIG SET again
 * after a change of the setting; whoever swaps in another keyspace
 * (restore, image load) keeps the hooks (tc_ks_events is copied with the
 * keyspace struct). */
void tc_notify_attach(struct tc_server *s);

#endif
