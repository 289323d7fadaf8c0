/* Backups from the client's side: BGSAVE, SAVE, LASTSAVE and the
 * replicated TCBACKUP RUN/REQUEST that hand a backup to one node. The
 * work itself (fork, image, upload) is snapshot/backup_job.c's, reached
 * through the server's hooks. */
#include <stdio.h>
#include <string.h>

#include "server.h"

/* A path segment "." or ".." anywhere after the scheme: a URL that could
 * climb out of an allowed folder is refused outright rather than resolved. */
static int has_dot_segment(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    while (*p) {
        size_t len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) return 1;
        p += len;
        if (*p == '/') p++;
    }
    return 0;
}

/* url is base or below it (base's trailing '/' ignored). */
static int is_under(const char *url, const char *base, size_t baselen)
{
    while (baselen && base[baselen - 1] == '/') baselen--;
    if (baselen == 0 || strncmp(url, base, baselen) != 0) return 0;
    return url[baselen] == '\0' || url[baselen] == '/';
}

/* BGSAVE TO writes where the operator allowed: backup.destination (or its
 * default, <node data dir>/backups) and its children, and each of
 * backup.allowed_destinations and its children. Otherwise the reply names
 * what is allowed. 0 if allowed, -1 with err filled. */
static int destination_allowed(const tc_server *s, const char *url, char *err, size_t errlen)
{
    const tc_config *cfg = &s->cfg;
    const char *own = tc_server_backup_url(s);
    if (!has_dot_segment(url)) {
        if (own[0] && is_under(url, own, strlen(own))) return 0;
        for (const char *p = cfg->backup.allowed_destinations; *p;) {
            size_t len = strcspn(p, ",");
            const char *item = p;
            while (len && *item == ' ') item++, len--;
            size_t ilen = len;
            while (ilen && item[ilen - 1] == ' ') ilen--;
            if (is_under(url, item, ilen)) return 0;
            p = item + len;
            if (*p == ',') p++;
        }
    }
    snprintf(err, errlen,
             "ERR backup destination %.300s is not allowed: BGSAVE TO accepts %.300s and folders under it%s%.300s "
             "(set backup.allowed_destinations to allow more; no . or .. segments)",
             url, own[0] ? own : "backup.destination", cfg->backup.allowed_destinations[0] ? ", and under " : "",
             cfg->backup.allowed_destinations);
    return -1;
}

/* BGSAVE [SCHEDULE] [TO url] */
void tc_cmd_bgsave(tc_ctx *c)
{
    int schedule = 0;
    char url[1024] = "";
    for (size_t i = 1; i < c->argc; i++) {
        if (tc_arg_is(&c->argv[i], "schedule")) {
            schedule = 1;
        } else if (tc_arg_is(&c->argv[i], "to") && i + 1 < c->argc) {
            if (c->argv[i + 1].len >= sizeof url) {
                tc_reply_errorf(c->r, "ERR BGSAVE TO: the URL is longer than %zu bytes", sizeof url - 1);
                return;
            }
            memcpy(url, c->argv[i + 1].p, c->argv[i + 1].len);
            url[c->argv[i + 1].len] = '\0';
            i++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    char err[1200];
    if (url[0] && destination_allowed(c->srv, url, err, sizeof err) != 0) {
        tc_reply_error(c->r, err); /* before anything starts: nothing is written */
        return;
    }
    if (!c->srv->persist.ops) {
        tc_reply_error(c->r, "ERR backups are not available on this node");
        return;
    }
    int rc = c->srv->persist.ops->bgsave(c->srv->persist.ud, NULL, url[0] ? url : NULL, schedule, err, sizeof err);
    if (rc < 0) tc_reply_error(c->r, err);
    else tc_reply_status(c->r, rc == 1 ? "Background saving scheduled" : "Background saving started");
}

/* SAVE: Redis blocks the whole server; here only the caller waits, while
 * a forked child writes the same backup BGSAVE would. */
void tc_cmd_save(tc_ctx *c)
{
    if (!c->srv->persist.ops || !c->client) {
        tc_reply_error(c->r, "ERR backups are not available on this node");
        return;
    }
    char err[512];
    if (c->srv->persist.ops->bgsave(c->srv->persist.ud, c->client, NULL, 0, err, sizeof err) < 0) {
        tc_reply_error(c->r, err);
        return;
    }
    c->client->pending++; /* answered by the backup job through tc_client_deliver */
}

void tc_cmd_lastsave(tc_ctx *c) { tc_reply_int(c->r, (long long)c->srv->lastsave); }

/* TCBACKUP RUN <node id>: written by the primary's schedule into the log;
 * every node records when, and the named one starts a backup.
 * TCBACKUP REQUEST <node id> <token>: appended by the primary for a BGSAVE
 * or SAVE received by that node (sent here by a replica): the named node
 * starts it when it applies the entry, so the backup holds every write
 * acknowledged before the BGSAVE was sent. */
void tc_cmd_tcbackup(tc_ctx *c)
{
    long long id;
    int run = c->argc == 3 && tc_arg_is(&c->argv[1], "run");
    int req = c->argc == 4 && tc_arg_is(&c->argv[1], "request");
    if ((!run && !req) || tc_parse_ll(c->argv[2].p, c->argv[2].len, &id) != 0 || id < 1 || id > 65535) {
        tc_reply_error(c->r, "ERR TCBACKUP RUN <node id> | TCBACKUP REQUEST <node id> <token>");
        return;
    }
    if (req) {
        long long token;
        if (tc_parse_ll(c->argv[3].p, c->argv[3].len, &token) != 0 || token < 1) {
            tc_reply_error(c->r, "ERR TCBACKUP REQUEST: the token must be a positive integer");
            return;
        }
        if (c->srv->persist.ops && c->srv->persist.ops->backup_granted)
            c->srv->persist.ops->backup_granted(c->srv->persist.ud, (int)id, (unsigned long long)token);
        tc_reply_ok(c->r);
        return;
    }
    c->srv->backup_scheduled_ms = c->now_ms;
    if (c->srv->persist.ops) c->srv->persist.ops->backup_requested(c->srv->persist.ud, (int)id, c->now_ms);
    tc_reply_ok(c->r);
}
