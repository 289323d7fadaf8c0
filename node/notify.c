/* Keyspace notifications: the letters of notify-keyspace-events, the two
 * channels of an event, and publishing them to this node's subscribers.
 * See notify.h for when they fire and why nothing here is replicated. */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"
#include "server.h"

/* The letters in the order Redis renders them, and their classes. */
static const struct {
    char letter;
    int cls;
} CLASSES[] = {
    {'g', TC_NOTIFY_GENERIC}, {'$', TC_NOTIFY_STRING}, {'l', TC_NOTIFY_LIST},    {'s', TC_NOTIFY_SET},
    {'h', TC_NOTIFY_HASH},    {'z', TC_NOTIFY_ZSET},   {'x', TC_NOTIFY_EXPIRED}, {'e', TC_NOTIFY_EVICTED},
    {'t', TC_NOTIFY_STREAM},  {'d', TC_NOTIFY_MODULE}, {'n', TC_NOTIFY_NEW},     {'K', TC_NOTIFY_KEYSPACE},
    {'E', TC_NOTIFY_KEYEVENT}, {'m', TC_NOTIFY_KEY_MISS},
};
#define NCLASSES (sizeof CLASSES / sizeof CLASSES[0])

int tc_notify_parse(const char *letters)
{
    int classes = 0;
    for (const char *p = letters; *p; p++) {
        if (*p == 'A') {
            classes |= TC_NOTIFY_ALL;
            continue;
        }
        size_t i = 0;
        while (i < NCLASSES && CLASSES[i].letter != *p) i++;
        if (i == NCLASSES) return -1;
        classes |= CLASSES[i].cls;
    }
    return classes;
}

void tc_notify_render(int classes, char out[TC_NOTIFY_LETTERS_MAX])
{
    size_t o = 0;
    int all = (classes & TC_NOTIFY_ALL) == TC_NOTIFY_ALL;
    if (all) out[o++] = 'A';
    for (size_t i = 0; i < NCLASSES; i++) {
        int cls = CLASSES[i].cls;
        /* "A" covers its classes, and Redis drops 'n' beside it too */
        int in_a = (cls & TC_NOTIFY_ALL) || cls == TC_NOTIFY_NEW;
        if ((classes & cls) && !(all && in_a)) out[o++] = CLASSES[i].letter;
    }
    out[o] = '\0';
}

size_t tc_notify_channel(char **out, char *stack, size_t stack_len, int keyspace, int db, const char *name,
                         size_t len)
{
    char prefix[48];
    int plen = snprintf(prefix, sizeof prefix, "__key%s@%d__:", keyspace ? "space" : "event", db);
    size_t total = (size_t)plen + len;
    char *p = total <= stack_len ? stack : malloc(total);
    if (!p) return 0;
    memcpy(p, prefix, (size_t)plen);
    if (len) memcpy(p + plen, name, len);
    *out = p;
    return total;
}

static void publish(tc_server *s, int keyspace, int db, const char *name, size_t len, const char *msg, size_t mlen)
{
    char stack[256], *ch;
    size_t clen = tc_notify_channel(&ch, stack, sizeof stack, keyspace, db, name, len);
    if (!clen) return; /* out of memory: the event is lost, as a message to a full client would be */
    tc_pubsub_publish(s, ch, clen, msg, mlen);
    if (ch != stack) free(ch);
}

void tc_notify_keyspace_event(tc_server *s, int type_class, const char *event, const char *key, size_t klen, int db)
{
    int classes = s->cfg.notify_classes;
    if (!(classes & type_class)) return; /* the setting off: this is all it costs */
    /* Nobody subscribed on this node: skip building the channels. */
    if (!s->pubsub_subscriptions) return;
    size_t elen = strlen(event);
    if (classes & TC_NOTIFY_KEYSPACE) publish(s, 1, db, key, klen, event, elen);
    if (classes & TC_NOTIFY_KEYEVENT) publish(s, 0, db, event, elen, key, klen);
}

void tc_notify(const tc_ctx *c, int type_class, const char *event, const tc_slice *key)
{
    tc_notify_keyspace_event(c->srv, type_class, event, key->p, key->len, tc_ctx_db(c));
}

void tc_notify_source_miss(const tc_ctx *c, const tc_slice *key)
{
    const tc_cmd *cmd = c->srv->cmd_running;
    if (cmd && (cmd->flags & TC_CMD_WRITE)) tc_notify(c, TC_NOTIFY_KEY_MISS, "keymiss", key);
}

/* ---- the keyspace's own events ----------------------------------------------- */

static void on_expired(const tc_ks_events *ev, const char *key, size_t klen)
{
    tc_notify_keyspace_event(ev->ud, TC_NOTIFY_EXPIRED, "expired", key, klen, ev->db);
}

static void on_added(const tc_ks_events *ev, const char *key, size_t klen, const tc_key *replaced)
{
    tc_server *s = ev->ud;
    if (!(s->cfg.notify_classes & (TC_NOTIFY_NEW | TC_NOTIFY_EXPIRED))) return;
    /* A key replaced after its deadline (a replica keeps such keys hidden
     * until the primary's expiry entry) was gone for the command: it
     * expired, and the key that takes its place is new, as Redis would
     * have said after its lazy expiry. */
    if (replaced && replaced->expire_at && replaced->expire_at <= s->cmd_now_ms) {
        tc_notify_keyspace_event(s, TC_NOTIFY_EXPIRED, "expired", key, klen, ev->db);
        replaced = NULL;
    }
    if (!replaced) tc_notify_keyspace_event(s, TC_NOTIFY_NEW, "new", key, klen, ev->db);
}

/* Redis's "keymiss": a read command's lookup of a key that is not there.
 * Writes look keys up too (they create what is missing) and say nothing;
 * so do lookups outside a command (routing, blocked clients) and OBJECT
 * and MEMORY, which Redis runs with LOOKUP_NONOTIFY. */
static void on_missed(const tc_ks_events *ev, const char *key, size_t klen)
{
    tc_server *s = ev->ud;
    const tc_cmd *cmd = s->cmd_running;
    if (!cmd || (cmd->flags & TC_CMD_WRITE) || !(cmd->flags & TC_CMD_READONLY)) return;
    if (strcmp(cmd->name, "object") == 0 || strcmp(cmd->name, "memory") == 0) return;
    tc_notify_keyspace_event(s, TC_NOTIFY_KEY_MISS, "keymiss", key, klen, ev->db);
}

void tc_notify_attach(tc_server *s)
{
    for (int i = 0; i < s->ndbs; i++) {
        tc_ks_events *ev = &s->dbs[i].events;
        ev->ud = s;
        ev->db = i;
        ev->expired = on_expired;
        ev->added = on_added;
        /* only when asked for: every read of an absent key would call it */
        ev->missed = s->cfg.notify_classes & TC_NOTIFY_KEY_MISS ? on_missed : NULL;
    }
}
