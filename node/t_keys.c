/* Generic key commands: existence, renaming, expiry, iteration. Semantics
 * and error texts follow Redis 7 (db.c, expire.c). */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "glob.h"
#include "notify.h"
#include "server.h"

/* find stamps the access (keyspace.h); peek does not, for the commands
 * Redis runs with LOOKUP_NOTOUCH: EXISTS, TYPE, the TTL family, OBJECT. */
static tc_key *find(tc_ctx *c, const tc_slice *key) { return tc_ks_find(c->ks, key->p, key->len, c->now_ms); }
static tc_key *peek(tc_ctx *c, const tc_slice *key) { return tc_ks_peek(c->ks, key->p, key->len, c->now_ms); }

void tc_cmd_del(tc_ctx *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++) {
        if (!peek(c, &c->argv[i]) || !tc_ks_delete(c->ks, c->argv[i].p, c->argv[i].len)) continue;
        n++;
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[i]);
    }
    tc_reply_int(c->r, n);
}

void tc_cmd_exists(tc_ctx *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++)
        if (peek(c, &c->argv[i])) n++;
    tc_reply_int(c->r, n);
}

void tc_cmd_touch(tc_ctx *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++)
        if (find(c, &c->argv[i])) n++;
    tc_reply_int(c->r, n);
}

void tc_cmd_type(tc_ctx *c) { tc_reply_status(c->r, tc_key_type_name(peek(c, &c->argv[1]))); }

static void rename_generic(tc_ctx *c, int nx)
{
    const tc_slice *src = &c->argv[1], *dst = &c->argv[2];
    tc_key *e = find(c, src);
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
    int replaces = find(c, dst) != NULL;
    if (nx && replaces) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* The value moves to the new name; out of memory leaves the source intact. */
    if (!tc_ks_rename(c->ks, e, dst->p, dst->len)) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    /* Redis deletes a destination that exists and adds the key anew, so
     * the destination is always "new" (the keyspace said so already when
     * nothing was there). */
    if (replaces) tc_notify(c, TC_NOTIFY_NEW, "new", dst);
    tc_notify(c, TC_NOTIFY_GENERIC, "rename_from", src);
    tc_notify(c, TC_NOTIFY_GENERIC, "rename_to", dst);
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

    tc_key *e = find(c, &c->argv[1]);
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
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[1]);
    } else {
        tc_ks_set_expire(c->ks, e, when);
        tc_notify(c, TC_NOTIFY_GENERIC, "expire", &c->argv[1]);
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
    tc_key *e = peek(c, &c->argv[1]);
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
    tc_key *e = find(c, &c->argv[1]);
    if (!e || !e->expire_at) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_ks_set_expire(c->ks, e, 0);
    tc_notify(c, TC_NOTIFY_GENERIC, "persist", &c->argv[1]);
    tc_reply_int(c->r, 1);
}

/* ---- iteration ------------------------------------------------------------ */

/* Keys collected by a scan, filtered. Collected as entry pointers: no
 * keyspace change happens before they are replied. */
typedef struct key_list {
    tc_key **v;
    size_t n, cap;
    int oom;
    const tc_slice *pattern; /* NULL = all */
    const char *type;        /* NULL = any */
    int64_t now_ms;
} key_list;

static void collect(void *ud, tc_key *e)
{
    key_list *l = ud;
    if (l->oom) return;
    if (e->expire_at && e->expire_at <= l->now_ms) return;
    if (l->type && strcmp(tc_key_type_name(e), l->type) != 0) return;
    if (l->pattern && !tc_glob_match(l->pattern->p, l->pattern->len, tc_key_name(e), e->klen, 0)) return;
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
    for (size_t i = 0; i < l->n; i++) tc_reply_bulk(c->r, tc_key_name(l->v[i]), l->v[i]->klen);
}

void tc_cmd_keys(tc_ctx *c)
{
    key_list l = {.now_ms = c->now_ms};
    int all = c->argv[1].len == 1 && c->argv[1].p[0] == '*';
    l.pattern = all ? NULL : &c->argv[1];
    tc_ks_walk(c->ks, collect, &l); /* collect only reads */
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
    tc_key *e = tc_ks_random(c->ks, c->now_ms);
    if (e) tc_reply_bulk(c->r, tc_key_name(e), e->klen);
    else tc_reply_null(c->r);
}

void tc_cmd_dbsize(tc_ctx *c) { tc_reply_int(c->r, (long long)tc_ks_size(c->ks)); }

/* FLUSHALL / FLUSHDB [ASYNC|SYNC]: both free synchronously here. */
/* ---- OBJECT ----------------------------------------------------------------- */

/* OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP: as Redis 7
 * answers them, through the key's type (types/types.h) and access bits. */
void tc_cmd_object(tc_ctx *c)
{
    static const char *const help[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
        NULL};
    static const char *const subs[] = {"encoding", "freq", "idletime", "refcount", "help"};
    const tc_slice *sub = &c->argv[1];
    size_t which = 0;
    while (which < sizeof subs / sizeof subs[0] && !tc_arg_is(sub, subs[which])) which++;
    if (which == sizeof subs / sizeof subs[0]) {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try OBJECT HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
        return;
    }
    int is_help = strcmp(subs[which], "help") == 0;
    if (c->argc != (is_help ? 2u : 3u)) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for 'object|%s' command", subs[which]);
        return;
    }
    if (is_help) {
        size_t n = 0;
        while (help[n]) n++;
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < n; i++) tc_reply_status(c->r, help[i]);
        return;
    }
    tc_key *e = peek(c, &c->argv[2]);
    if (!e) {
        tc_reply_null(c->r);
        return;
    }
    const tc_type_ops *ops = tc_key_type(e);
    if (strcmp(subs[which], "encoding") == 0) {
        tc_reply_bulks(c->r, ops ? ops->encoding_name(e) : "unknown");
    } else if (strcmp(subs[which], "refcount") == 0) {
        tc_reply_int(c->r, ops && ops->refcount ? ops->refcount(e) : 1);
    } else if (strcmp(subs[which], "idletime") == 0) {
        if (c->ks->lfu)
            tc_reply_error(c->r, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
                                 "when switching between policies at runtime LRU and LFU data will take some time to "
                                 "adjust.");
        else tc_reply_int(c->r, (long long)(tc_key_idle_ms(e) / 1000));
    } else {
        if (!c->ks->lfu)
            tc_reply_error(c->r, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
                                 "note that when switching between policies at runtime LRU and LFU data will take "
                                 "some time to adjust.");
        else tc_reply_int(c->r, (long long)tc_ks_lfu_count(c->ks, e));
    }
}

/* MEMORY USAGE key [SAMPLES n]: the key's allocation (header, name, value
 * bytes or pointer) plus what its value allocated elsewhere, as its type
 * counts it — exact, not sampled (SAMPLES is read and checked, and has no
 * effect). Redis's figures differ in the details (jemalloc size classes,
 * its robj); what a key costs here is what this answers. MEMORY PURGE hands
 * free memory back to the kernel (malloc_trim); MEMORY DOCTOR reports in a
 * sentence; MEMORY STATS gives the figures INFO memory has. */
void tc_cmd_memory(tc_ctx *c)
{
    static const char *const help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
        NULL};
    const tc_slice *sub = &c->argv[1];
    if (tc_arg_is(sub, "usage")) {
        if (c->argc < 3) {
            tc_reply_error(c->r, "ERR wrong number of arguments for 'memory|usage' command");
            return;
        }
        for (size_t i = 3; i < c->argc; i += 2) {
            long long samples;
            if (!tc_arg_is(&c->argv[i], "samples") || i + 1 >= c->argc) {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                return;
            }
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &samples) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
        }
        tc_key *e = peek(c, &c->argv[2]);
        if (!e) {
            tc_reply_null(c->r);
            return;
        }
        const tc_type_ops *ops = tc_key_type(e);
        size_t bytes = sizeof(tc_key) + e->klen + (ops ? ops->memory(e) : 0) + sizeof(void *); /* + its bucket slot */
        tc_reply_int(c->r, (long long)bytes);
    } else if (tc_arg_is(sub, "purge") && c->argc == 2) {
        malloc_trim(0);
        tc_reply_ok(c->r);
    } else if (tc_arg_is(sub, "doctor") && c->argc == 2) {
        struct mallinfo2 mi = mallinfo2();
        char text[256];
        snprintf(text, sizeof text,
                 "%zu keys; %zu bytes allocated, %zu bytes free inside the allocator (MEMORY PURGE returns them "
                 "to the kernel)",
                 tc_ks_size(c->ks), mi.uordblks + mi.hblkhd, mi.fordblks);
        tc_reply_verbatim(c->r, text, strlen(text));
    } else if (tc_arg_is(sub, "malloc-stats") && c->argc == 2) {
        tc_reply_verbatim(c->r, "Stats not supported for the current allocator", 45);
    } else if (tc_arg_is(sub, "stats") && c->argc == 2) {
        struct mallinfo2 mi = mallinfo2();
        size_t keys = tc_ks_size(c->ks), allocated = mi.uordblks + mi.hblkhd;
        tc_reply_map(c->r, 3);
        tc_reply_bulks(c->r, "total.allocated");
        tc_reply_int(c->r, (long long)allocated);
        tc_reply_bulks(c->r, "keys.count");
        tc_reply_int(c->r, (long long)keys);
        tc_reply_bulks(c->r, "keys.bytes-per-key");
        tc_reply_int(c->r, keys ? (long long)(allocated / keys) : 0);
    } else if (tc_arg_is(sub, "help") && c->argc == 2) {
        size_t n = 0;
        while (help[n]) n++;
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < n; i++) tc_reply_status(c->r, help[i]);
    } else {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try MEMORY HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
    }
}
