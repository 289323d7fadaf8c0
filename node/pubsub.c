/* Pub/sub on one node: SUBSCRIBE, PSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH.
 * Messages are not replicated (as in Redis without cluster mode). Sentinel-
 * aware clients (Jedis, Lettuce) subscribe to "+switch-master" on the nodes
 * they use as sentinels; the replication layer publishes it on failover. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "glob.h"
#include "pubsub.h"
#include "server.h"

static size_t subscriptions(const tc_client *c) { return c->nchannels + c->npatterns; }

/* ["subscribe"|"unsubscribe"|..., name, count]: a push in RESP3. */
static void reply_event(tc_ctx *c, const char *kind, const char *name, size_t len)
{
    tc_buf *out = c->r->out;
    if (!out) return;
    if (c->r->resp >= 3) tc_buf_appends(out, ">3\r\n");
    else tc_reply_array(c->r, 3);
    tc_reply_bulks(c->r, kind);
    if (name) tc_reply_bulk(c->r, name, len);
    else tc_reply_null(c->r);
    tc_reply_int(c->r, c->client ? (long long)subscriptions(c->client) : 0);
}

static int find(char **v, size_t n, const char *p, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) == len && memcmp(v[i], p, len) == 0) return (int)i;
    return -1;
}

static int add(tc_server *s, char ***v, size_t *n, const tc_slice *name)
{
    if (find(*v, *n, name->p, name->len) >= 0) return 0;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    if (!(nv[*n] = strndup(name->p, name->len))) return -1;
    (*n)++;
    s->pubsub_subscriptions++;
    return 0;
}

static void drop(tc_server *s, char **v, size_t *n, size_t i)
{
    free(v[i]);
    v[i] = v[--*n];
    s->pubsub_subscriptions--;
}

static void subscribe_generic(tc_ctx *c, int patterns)
{
    tc_client *cl = c->client;
    for (size_t i = 1; i < c->argc; i++) {
        if (cl && add(cl->srv, patterns ? &cl->patterns : &cl->channels, patterns ? &cl->npatterns : &cl->nchannels,
                      &c->argv[i]) != 0) {
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
        reply_event(c, patterns ? "psubscribe" : "subscribe", c->argv[i].p, c->argv[i].len);
    }
}

static void unsubscribe_generic(tc_ctx *c, int patterns)
{
    tc_client *cl = c->client;
    const char *kind = patterns ? "punsubscribe" : "unsubscribe";
    char ***v = cl ? (patterns ? &cl->patterns : &cl->channels) : NULL;
    size_t *n = cl ? (patterns ? &cl->npatterns : &cl->nchannels) : NULL;
    if (c->argc == 1) { /* all of them */
        if (!v || *n == 0) {
            reply_event(c, kind, NULL, 0);
            return;
        }
        while (*n > 0) {
            char *name = (*v)[*n - 1];
            (*v)[*n - 1] = NULL;
            (*n)--;
            cl->srv->pubsub_subscriptions--;
            reply_event(c, kind, name, strlen(name));
            free(name);
        }
        return;
    }
    for (size_t i = 1; i < c->argc; i++) {
        int at = v ? find(*v, *n, c->argv[i].p, c->argv[i].len) : -1;
        if (at >= 0) drop(cl->srv, *v, n, (size_t)at);
        reply_event(c, kind, c->argv[i].p, c->argv[i].len);
    }
}

void tc_cmd_subscribe(tc_ctx *c) { subscribe_generic(c, 0); }
void tc_cmd_psubscribe(tc_ctx *c) { subscribe_generic(c, 1); }
void tc_cmd_unsubscribe(tc_ctx *c) { unsubscribe_generic(c, 0); }
void tc_cmd_punsubscribe(tc_ctx *c) { unsubscribe_generic(c, 1); }

void tc_pubsub_unsubscribe_all(tc_client *c)
{
    for (size_t i = 0; i < c->nchannels; i++) free(c->channels[i]);
    for (size_t i = 0; i < c->npatterns; i++) free(c->patterns[i]);
    if (c->nchannels + c->npatterns) c->srv->pubsub_subscriptions -= c->nchannels + c->npatterns;
    free(c->channels);
    free(c->patterns);
    c->channels = c->patterns = NULL;
    c->nchannels = c->npatterns = 0;
}

size_t tc_pubsub_publish(tc_server *s, const char *ch, size_t clen, const char *msg, size_t mlen)
{
    size_t receivers = 0;
    if (!s->pubsub_subscriptions) return 0; /* nobody subscribed to anything on this node */
    for (tc_client *cl = s->clients; cl; cl = cl->next) {
        if (!subscriptions(cl)) continue;
        tc_buf b = {0};
        tc_reply r = {&b, cl->resp};
        if (find(cl->channels, cl->nchannels, ch, clen) >= 0) {
            if (cl->resp >= 3) tc_buf_appends(&b, ">3\r\n");
            else tc_reply_array(&r, 3);
            tc_reply_bulks(&r, "message");
            tc_reply_bulk(&r, ch, clen);
            tc_reply_bulk(&r, msg, mlen);
            receivers++;
        }
        for (size_t i = 0; i < cl->npatterns; i++) {
            if (!tc_glob_match(cl->patterns[i], strlen(cl->patterns[i]), ch, clen, 0)) continue;
            if (cl->resp >= 3) tc_buf_appends(&b, ">4\r\n");
            else tc_reply_array(&r, 4);
            tc_reply_bulks(&r, "pmessage");
            tc_reply_bulks(&r, cl->patterns[i]);
            tc_reply_bulk(&r, ch, clen);
            tc_reply_bulk(&r, msg, mlen);
            receivers++;
        }
        if (b.len) tc_client_push(cl, b.data, b.len);
        tc_buf_free(&b);
    }
    return receivers;
}

void tc_cmd_publish(tc_ctx *c)
{
    size_t n = tc_pubsub_publish(c->srv, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len);
    tc_reply_int(c->r, (long long)n);
}
