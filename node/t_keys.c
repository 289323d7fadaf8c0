/* Generic key commands: existence, renaming, expiry, iteration. Semantics
 * and error texts follow Redis 7 (db.c, expire.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "glob.h"
#include "server.h"

static tc_entry *find(tc_ctx *c, const tc_slice *key) { return tc_ks_find(c->ks, key->p, key->len, c->now_ms); }

static const char *type_name(const tc_entry *e)
{
    if (!e) return "none";
    switch (e->type) {
    case TC_TYPE_STRING: return "string";
    }
    return "unknown";
}

void tc_cmd_del(tc_ctx *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++)
        if (find(c, &c->argv[i])) n += tc_ks_delete(c->ks, c->argv[i].p, c->argv[i].len);
    tc_reply_int(c->r, n);
}

void tc_cmd_exists(tc_ctx *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++)
        if (find(c, &c->argv[i])) n++;
    tc_reply_int(c->r, n);
}

void tc_cmd_touch(tc_ctx *c) { tc_cmd_exists(c); }

void tc_cmd_type(tc_ctx *c) { tc_reply_status(c->r, type_name(find(c, &c->argv[1]))); }

static void rename_generic(tc_ctx *c, int nx)
{
    const tc_slice *src = &c->argv[1], *dst = &c->argv[2];
    tc_entry *e = find(c, src);
    if (!e) {
        tc_reply_error(c->r, "ERR no such key");
        return;
    }
    int same = src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0;
    if (same) {
        if (nx) tc_reply_int(c->r, 0);
        else tc_reply_ok(c->r);
        return;
    }
    if (nx && find(c, dst)) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* Copy first, delete after: out of memory leaves the source intact. */
    if (!tc_ks_set(c->ks, dst->p, dst->len, tc_entry_val(e), e->vlen, e->expire_at)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    tc_ks_delete(c->ks, src->p, src->len);
    if (nx) tc_reply_int(c->r, 1);
    else tc_reply_ok(c->r);
}

void tc_cmd_rename(tc_ctx *c) { rename_generic(c, 0); }
void tc_cmd_renamenx(tc_ctx *c) { rename_generic(c, 1); }

/* EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT] */
static void expire_generic(tc_ctx *c, int64_t base_ms, int unit_seconds, const char *name)
{
    int nx = 0, xx = 0, gt = 0, lt = 0;
    for (size_t i = 3; i < c->argc; i++) {
        const tc_slice *a = &c->argv[i];
        if (tc_arg_is(a, "nx")) nx = 1;
        else if (tc_arg_is(a, "xx")) xx = 1;
        else if (tc_arg_is(a, "gt")) gt = 1;
        else if (tc_arg_is(a, "lt")) lt = 1;
        else {
            tc_reply_errorf(c->r, "ERR Unsupported option %.*s", (int)(a->len > 128 ? 128 : a->len), a->p);
            return;
        }
    }
    if (nx && (xx || gt || lt)) {
        tc_reply_error(c->r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if (gt && lt) {
        tc_reply_error(c->r, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (tc_parse_ll(c->argv[2].p, c->argv[2].len, &when) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return;
    }
    if (unit_seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto invalid;
        when *= 1000;
    }
    if ((base_ms > 0 && when > LLONG_MAX - base_ms) || (base_ms < 0 && when < LLONG_MIN - base_ms)) goto invalid;
    when += base_ms;

    tc_entry *e = find(c, &c->argv[1]);
    if (!e) {
        tc_reply_int(c->r, 0);
        return;
    }
    int64_t cur = e->expire_at; /* 0: no deadline, which counts as infinite */
    if ((nx && cur) || (xx && !cur) || (gt && (!cur || when <= cur)) || (lt && cur && when >= cur)) {
        tc_reply_int(c->r, 0);
        return;
    }
    if (when <= c->now_ms) {
        /* Already past: the key goes now rather than at the next access. */
        tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
    } else {
        tc_ks_set_expire(c->ks, e, when);
    }
    tc_reply_int(c->r, 1);
    return;
invalid:
    tc_reply_errorf(c->r, "ERR invalid expire time in '%s' command", name);
}

void tc_cmd_expire(tc_ctx *c) { expire_generic(c, c->now_ms, 1, "expire"); }
void tc_cmd_pexpire(tc_ctx *c) { expire_generic(c, c->now_ms, 0, "pexpire"); }
void tc_cmd_expireat(tc_ctx *c) { expire_generic(c, 0, 1, "expireat"); }
void tc_cmd_pexpireat(tc_ctx *c) { expire_generic(c, 0, 0, "pexpireat"); }

static void ttl_generic(tc_ctx *c, int ms, int absolute)
{
    tc_entry *e = find(c, &c->argv[1]);
    if (!e) {
        tc_reply_int(c->r, -2);
        return;
    }
    if (!e->expire_at) {
        tc_reply_int(c->r, -1);
        return;
    }
    long long t = absolute ? e->expire_at : e->expire_at - c->now_ms;
    if (t < 0) t = 0;
    tc_reply_int(c->r, ms ? t : (t + 500) / 1000);
}

void tc_cmd_ttl(tc_ctx *c) { ttl_generic(c, 0, 0); }
void tc_cmd_pttl(tc_ctx *c) { ttl_generic(c, 1, 0); }
void tc_cmd_expiretime(tc_ctx *c) { ttl_generic(c, 0, 1); }
void tc_cmd_pexpiretime(tc_ctx *c) { ttl_generic(c, 1, 1); }

void tc_cmd_persist(tc_ctx *c)
{
    tc_entry *e = find(c, &c->argv[1]);
    if (!e || !e->expire_at) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_ks_set_expire(c->ks, e, 0);
    tc_reply_int(c->r, 1);
}

/* ---- iteration ------------------------------------------------------------ */

/* Keys collected by a scan, filtered. Collected as entry pointers: no
 * keyspace change happens before they are replied. */
typedef struct key_list {
    tc_entry **v;
    size_t n, cap;
    int oom;
    const tc_slice *pattern; /* NULL = all */
    const char *type;        /* NULL = any */
    int64_t now_ms;
} key_list;

static void collect(void *ud, tc_entry *e)
{
    key_list *l = ud;
    if (e->expire_at && e->expire_at <= l->now_ms) return;
    if (l->type && strcmp(type_name(e), l->type) != 0) return;
    if (l->pattern && !tc_glob_match(l->pattern->p, l->pattern->len, e->data, e->klen, 0)) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *v = realloc(l->v, cap * sizeof *l->v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

static void reply_keys(tc_ctx *c, key_list *l)
{
    tc_reply_array(c->r, l->n);
    for (size_t i = 0; i < l->n; i++) tc_reply_bulk(c->r, l->v[i]->data, l->v[i]->klen);
}

void tc_cmd_keys(tc_ctx *c)
{
    key_list l = {.now_ms = c->now_ms};
    int all = c->argv[1].len == 1 && c->argv[1].p[0] == '*';
    l.pattern = all ? NULL : &c->argv[1];
    uint64_t cursor = 0;
    do {
        cursor = tc_ks_scan(c->ks, cursor, collect, &l);
    } while (cursor != 0 && !l.oom);
    if (l.oom) tc_reply_error(c->r, "ERR out of memory");
    else reply_keys(c, &l);
    free(l.v);
}

/* A SCAN cursor as Redis reads it (strtoul, base 10): optional '+' or '-'
 * (negated as unsigned), leading zeros, "" is 0; no leading space, nothing
 * after the digits, no overflow. Unlike Redis, a NUL byte inside is junk
 * too: the whole argument must be the number. */
static int parse_cursor(const tc_slice *a, unsigned long long *out)
{
    size_t i = 0;
    int neg = 0;
    if (a->len > 0 && (a->p[0] == '+' || a->p[0] == '-')) {
        neg = a->p[0] == '-';
        if (++i == a->len) return -1; /* a lone sign is no number */
    }
    unsigned long long v = 0;
    for (; i < a->len; i++) {
        unsigned d = (unsigned)(a->p[i] - '0');
        if (d > 9 || v > (ULLONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = neg ? 0ull - v : v;
    return 0;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
void tc_cmd_scan(tc_ctx *c)
{
    unsigned long long cursor = 0;
    const tc_slice *cs = &c->argv[1];
    if (parse_cursor(cs, &cursor) != 0) {
        tc_reply_error(c->r, "ERR invalid cursor");
        return;
    }
    long long count = 10;
    key_list l = {.now_ms = c->now_ms};
    char type_buf[32];
    for (size_t i = 2; i < c->argc; i += 2) {
        const tc_slice *a = &c->argv[i];
        if (i + 1 >= c->argc) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        const tc_slice *v = &c->argv[i + 1];
        if (tc_arg_is(a, "count")) {
            if (tc_parse_ll(v->p, v->len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 1) {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                return;
            }
        } else if (tc_arg_is(a, "match")) {
            l.pattern = (v->len == 1 && v->p[0] == '*') ? NULL : v;
        } else if (tc_arg_is(a, "type")) {
            size_t n = v->len < sizeof type_buf - 1 ? v->len : sizeof type_buf - 1;
            for (size_t k = 0; k < n; k++) type_buf[k] = (char)((v->p[k] >= 'A' && v->p[k] <= 'Z') ? v->p[k] + 32 : v->p[k]);
            type_buf[n] = '\0';
            l.type = type_buf;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    /* Like Redis: visit buckets until COUNT keys were seen or 10*COUNT
     * buckets were visited, so a sparse table still makes progress. */
    long long budget = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = tc_ks_scan(c->ks, cursor, collect, &l);
    } while (cursor != 0 && --budget > 0 && (long long)l.n < count && !l.oom);
    if (l.oom) {
        tc_reply_error(c->r, "ERR out of memory");
        free(l.v);
        return;
    }
    char cur[24];
    int n = snprintf(cur, sizeof cur, "%llu", cursor);
    tc_reply_array(c->r, 2);
    tc_reply_bulk(c->r, cur, (size_t)n);
    reply_keys(c, &l);
    free(l.v);
}

void tc_cmd_randomkey(tc_ctx *c)
{
    tc_entry *e = tc_ks_random(c->ks, c->now_ms);
    if (e) tc_reply_bulk(c->r, e->data, e->klen);
    else tc_reply_null(c->r);
}

void tc_cmd_dbsize(tc_ctx *c) { tc_reply_int(c->r, (long long)tc_ks_size(c->ks)); }

/* FLUSHALL / FLUSHDB [ASYNC|SYNC]: both free synchronously here. */
void tc_cmd_flushall(tc_ctx *c)
{
    if (c->argc > 2 || (c->argc == 2 && !tc_arg_is(&c->argv[1], "async") && !tc_arg_is(&c->argv[1], "sync"))) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    tc_ks_flush(c->ks);
    tc_reply_ok(c->r);
}
