/* String commands. Semantics and error texts follow Redis 7 (t_string.c). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "notify.h"
#include "server.h"

#define ERR_TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* A key lookup for commands: live string key, NULL if absent. Replies
 * WRONGTYPE and sets *wrong when the key holds another type. */
static tc_key *find_string(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *e = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (e && e->type != TC_TYPE_STRING) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return e;
}

static tc_key *store(tc_ctx *c, const tc_slice *key, const char *v, size_t vlen, int64_t expire_at)
{
    tc_key *e = tc_ks_set(c->ks, key->p, key->len, v, vlen, expire_at);
    if (!e) tc_reply_errorf(c->r, "%s", "ERR out of memory");
    return e;
}

static void reply_value(tc_ctx *c, tc_key *e)
{
    if (e) tc_reply_bulk(c->r, tc_key_str(e), e->vlen);
    else tc_reply_null(c->r);
}

/* ---- expiry options shared by SET and GETEX ------------------------------ */

enum { EXP_NONE, EXP_EX, EXP_PX, EXP_EXAT, EXP_PXAT, EXP_KEEPTTL, EXP_PERSIST };

/* Turns an EX/PX/EXAT/PXAT argument into an absolute deadline in ms,
 * replying the Redis error on failure. */
static int absolute_deadline(tc_ctx *c, int kind, const tc_slice *arg, const char *cmdname, int64_t *out)
{
    long long v;
    if (tc_parse_ll(arg->p, arg->len, &v) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return -1;
    }
    if (v <= 0 || ((kind == EXP_EX || kind == EXP_EXAT) && v > LLONG_MAX / 1000)) goto invalid;
    if (kind == EXP_EX || kind == EXP_EXAT) v *= 1000;
    if (kind == EXP_EX || kind == EXP_PX) {
        if (v > LLONG_MAX - c->now_ms) goto invalid;
        v += c->now_ms;
    }
    *out = v;
    return 0;
invalid:
    tc_reply_errorf(c->r, "ERR invalid expire time in '%s' command", cmdname);
    return -1;
}

/* Parses one expiry option at argv[*i]; returns 1 if it was one, 0 if not, -1
 * on error (already replied). */
static int parse_expiry_option(tc_ctx *c, size_t *i, int *kind, const tc_slice **arg, int allow_keepttl,
                               int allow_persist)
{
    static const struct {
        const char *word;
        int kind, takes_arg;
    } opts[] = {{"ex", EXP_EX, 1},           {"px", EXP_PX, 1},           {"exat", EXP_EXAT, 1},
                {"pxat", EXP_PXAT, 1},       {"keepttl", EXP_KEEPTTL, 0}, {"persist", EXP_PERSIST, 0}};
    const tc_slice *a = &c->argv[*i];
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        if (!tc_arg_is(a, opts[k].word)) continue;
        if ((opts[k].kind == EXP_KEEPTTL && !allow_keepttl) || (opts[k].kind == EXP_PERSIST && !allow_persist))
            return 0;
        /* Redis lets an option repeat (the last value wins) but not two
         * different ones. */
        if ((*kind != EXP_NONE && *kind != opts[k].kind) || (opts[k].takes_arg && *i + 1 >= c->argc)) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return -1;
        }
        *kind = opts[k].kind;
        if (opts[k].takes_arg) *arg = &c->argv[++*i];
        return 1;
    }
    return 0;
}

/* ---- SET family -------------------------------------------------------- */

/* SET's store: a value already in its key's block (put there from the log
 * entry's pieces, tc_server.adopt) becomes the key as it is, without a
 * copy; any other is copied into a new key. */
static tc_key *set_value(tc_ctx *c, const tc_slice *key, const tc_slice *val, int64_t deadline)
{
    tc_server *s = c->srv;
    const tc_key *named = s->adopt.block;
    if (named && val->p == s->adopt.value && val->len == s->adopt.len && tc_key_name_len(named) == key->len &&
        memcmp(tc_key_name(named), key->p, key->len) == 0) {
        void *block = s->adopt.block;
        s->adopt.block = NULL;
        tc_key *k = tc_ks_set_adopted(c->ks, block, val->len, deadline);
        if (k) s->stats.big_values_in_place++;
        return k;
    }
    return tc_ks_set(c->ks, key->p, key->len, val->p, val->len, deadline);
}

/* SET key value [NX|XX|IFEQ cmp] [GET] [EX s|PX ms|EXAT ts|PXAT ms|KEEPTTL]
 * IFEQ is Valkey 8.1's compare-and-set: set only if the current value equals
 * cmp (a missing key never matches). */
void tc_cmd_set(tc_ctx *c)
{
    int nx = 0, xx = 0, get = 0, kind = EXP_NONE;
    const tc_slice *exp_arg = NULL, *ifeq = NULL;
    for (size_t i = 3; i < c->argc; i++) {
        const tc_slice *a = &c->argv[i];
        int r = parse_expiry_option(c, &i, &kind, &exp_arg, 1, 0);
        if (r < 0) return;
        if (r > 0) continue;
        if (tc_arg_is(a, "nx") && !xx && !ifeq) nx = 1;
        else if (tc_arg_is(a, "xx") && !nx && !ifeq) xx = 1;
        else if (tc_arg_is(a, "get")) get = 1;
        else if (tc_arg_is(a, "ifeq") && !nx && !xx && !ifeq && i + 1 < c->argc) ifeq = &c->argv[++i];
        else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    int64_t deadline = 0;
    if (exp_arg && absolute_deadline(c, kind, exp_arg, "set", &deadline) != 0) return;

    const tc_slice *key = &c->argv[1], *val = &c->argv[2];
    int wrong;
    tc_key *old = find_string(c, key, &wrong);
    if (wrong) return;
    if (get && !old) tc_notify_source_miss(c, key); /* Redis reads it as GET does */

    int allowed = !(nx && old) && !(xx && !old);
    if (ifeq) allowed = old && old->vlen == ifeq->len && memcmp(tc_key_str(old), ifeq->p, ifeq->len) == 0;

    /* Reply with the old value before it is freed by the overwrite. */
    if (get) reply_value(c, old);
    if (!allowed) {
        if (!get) tc_reply_null(c->r);
        return;
    }
    if (kind == EXP_KEEPTTL && old) deadline = old->expire_at;
    if (deadline && deadline <= c->now_ms) {
        /* A deadline already past: the key ends up absent. Redis 7.0 sets
         * it with the deadline and expires it at its next access or
         * active-expiry cycle; this node deletes it now, so it says all
         * three events now. */
        tc_ks_delete(c->ks, key->p, key->len);
        tc_notify(c, TC_NOTIFY_STRING, "set", key);
        tc_notify(c, TC_NOTIFY_GENERIC, "expire", key);
        tc_notify(c, TC_NOTIFY_EXPIRED, "expired", key);
    } else if (!set_value(c, key, val, deadline)) {
        if (!get) tc_reply_error(c->r, "ERR out of memory");
        return;
    } else {
        tc_notify(c, TC_NOTIFY_STRING, "set", key);
        if (exp_arg) tc_notify(c, TC_NOTIFY_GENERIC, "expire", key);
    }
    if (!get) tc_reply_ok(c->r);
}

void tc_cmd_setnx(tc_ctx *c)
{
    tc_key *e = tc_ks_find(c->ks, c->argv[1].p, c->argv[1].len, c->now_ms);
    if (e) {
        tc_reply_int(c->r, 0);
        return;
    }
    if (!store(c, &c->argv[1], c->argv[2].p, c->argv[2].len, 0)) return;
    tc_notify(c, TC_NOTIFY_STRING, "set", &c->argv[1]);
    tc_reply_int(c->r, 1);
}

static void setex_generic(tc_ctx *c, int kind, const char *name)
{
    int64_t deadline;
    if (absolute_deadline(c, kind, &c->argv[2], name, &deadline) != 0) return;
    if (!store(c, &c->argv[1], c->argv[3].p, c->argv[3].len, deadline)) return;
    tc_notify(c, TC_NOTIFY_STRING, "set", &c->argv[1]);
    tc_notify(c, TC_NOTIFY_GENERIC, "expire", &c->argv[1]);
    tc_reply_ok(c->r);
}

void tc_cmd_setex(tc_ctx *c) { setex_generic(c, EXP_EX, "setex"); }
void tc_cmd_psetex(tc_ctx *c) { setex_generic(c, EXP_PX, "psetex"); }

void tc_cmd_mget(tc_ctx *c)
{
    tc_reply_array(c->r, c->argc - 1);
    for (size_t i = 1; i < c->argc; i++) {
        tc_key *e = tc_ks_find(c->ks, c->argv[i].p, c->argv[i].len, c->now_ms);
        if (e && e->type == TC_TYPE_STRING) tc_reply_bulk(c->r, tc_key_str(e), e->vlen);
        else tc_reply_null(c->r);
    }
}

static void mset_generic(tc_ctx *c, int nx)
{
    if (c->argc % 2 == 0) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for '%s' command", nx ? "msetnx" : "mset");
        return;
    }
    if (nx) {
        for (size_t i = 1; i < c->argc; i += 2) {
            if (tc_ks_find(c->ks, c->argv[i].p, c->argv[i].len, c->now_ms)) {
                tc_reply_int(c->r, 0);
                return;
            }
        }
    }
    for (size_t i = 1; i < c->argc; i += 2) {
        if (!store(c, &c->argv[i], c->argv[i + 1].p, c->argv[i + 1].len, 0)) return;
        tc_notify(c, TC_NOTIFY_STRING, "set", &c->argv[i]);
    }
    if (nx) tc_reply_int(c->r, 1);
    else tc_reply_ok(c->r);
}

void tc_cmd_mset(tc_ctx *c) { mset_generic(c, 0); }
void tc_cmd_msetnx(tc_ctx *c) { mset_generic(c, 1); }

void tc_cmd_getset(tc_ctx *c)
{
    int wrong;
    tc_key *old = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!old) tc_notify_source_miss(c, &c->argv[1]);
    reply_value(c, old);
    if (tc_ks_set(c->ks, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len, 0))
        tc_notify(c, TC_NOTIFY_STRING, "set", &c->argv[1]);
}

void tc_cmd_getdel(tc_ctx *c)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) tc_notify_source_miss(c, &c->argv[1]);
    reply_value(c, e);
    if (e) {
        tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[1]);
    }
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms|PERSIST] */
void tc_cmd_getex(tc_ctx *c)
{
    int kind = EXP_NONE;
    const tc_slice *exp_arg = NULL;
    for (size_t i = 2; i < c->argc; i++) {
        int r = parse_expiry_option(c, &i, &kind, &exp_arg, 0, 1);
        if (r < 0) return;
        if (r == 0) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    /* As Redis 7.0: a missing key answers nil before the time is checked. */
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        tc_notify_source_miss(c, &c->argv[1]);
        tc_reply_null(c->r);
        return;
    }
    int64_t deadline = 0;
    if (exp_arg && absolute_deadline(c, kind, exp_arg, "getex", &deadline) != 0) return;
    reply_value(c, e);
    if (deadline && deadline <= c->now_ms) {
        tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[1]);
    } else if (deadline) {
        tc_ks_set_expire(c->ks, e, deadline);
        tc_notify(c, TC_NOTIFY_GENERIC, "expire", &c->argv[1]);
    } else if (kind == EXP_PERSIST && e->expire_at) {
        tc_ks_set_expire(c->ks, e, 0);
        tc_notify(c, TC_NOTIFY_GENERIC, "persist", &c->argv[1]);
    }
}

/* ---- counters ------------------------------------------------------------ */

/* Replaces the value of key (keeping its deadline) with text, or creates
 * key; enc is the encoding Redis would give the result (types/types.h). */
static int overwrite_keep_ttl(tc_ctx *c, tc_key *e, const tc_slice *key, const char *text, size_t len, int enc)
{
    if (!e) {
        e = store(c, key, text, len, 0);
        if (!e) return -1;
    } else {
        if (e->vlen != len) {
            tc_key *n = tc_ks_resize(c->ks, e, len);
            if (!n) {
                tc_reply_error(c->r, "ERR out of memory");
                return -1;
            }
            e = n;
        }
        memcpy(tc_key_str(e), text, len);
    }
    e->encoding = (unsigned)enc;
    return 0;
}

static void incr_generic(tc_ctx *c, long long by)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long cur = 0;
    if (e && tc_parse_ll(tc_key_str(e), e->vlen, &cur) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return;
    }
    if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) || (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
        tc_reply_error(c->r, "ERR increment or decrement would overflow");
        return;
    }
    cur += by;
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", cur);
    /* Redis makes the result an "int" (createStringObjectFromLongLongForValue) */
    if (overwrite_keep_ttl(c, e, &c->argv[1], tmp, (size_t)n, TC_ENC_INLINE) != 0) return;
    tc_notify(c, TC_NOTIFY_STRING, "incrby", &c->argv[1]);
    tc_reply_int(c->r, cur);
}

static int arg_ll(tc_ctx *c, size_t i, long long *v)
{
    if (tc_parse_ll(c->argv[i].p, c->argv[i].len, v) == 0) return 0;
    tc_reply_error(c->r, TC_ERR_NOT_INT);
    return -1;
}

void tc_cmd_incr(tc_ctx *c) { incr_generic(c, 1); }
void tc_cmd_decr(tc_ctx *c) { incr_generic(c, -1); }

void tc_cmd_incrby(tc_ctx *c)
{
    long long by;
    if (arg_ll(c, 2, &by) == 0) incr_generic(c, by);
}

void tc_cmd_decrby(tc_ctx *c)
{
    long long by;
    if (arg_ll(c, 2, &by) != 0) return;
    if (by == LLONG_MIN) {
        tc_reply_error(c->r, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

void tc_cmd_incrbyfloat(tc_ctx *c)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    long double cur = 0, by;
    if ((e && tc_parse_ld(tc_key_str(e), e->vlen, &cur) != 0) ||
        tc_parse_ld(c->argv[2].p, c->argv[2].len, &by) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_FLOAT);
        return;
    }
    cur += by;
    if (isnan(cur) || isinf(cur)) {
        tc_reply_error(c->r, "ERR increment would produce NaN or Infinity");
        return;
    }
    char tmp[5200];
    int n = tc_format_ld(tmp, sizeof tmp, cur);
    /* Redis makes the result with createStringObject: never an "int" */
    if (overwrite_keep_ttl(c, e, &c->argv[1], tmp, (size_t)n, TC_ENC_INLINE_EMBSTR) != 0) return;
    tc_notify(c, TC_NOTIFY_STRING, "incrbyfloat", &c->argv[1]);
    tc_reply_bulk(c->r, tmp, (size_t)n);
}

/* ---- byte ranges --------------------------------------------------------- */

static int too_big(tc_ctx *c, uint64_t total)
{
    if (total <= tc_max_bulk_len(c->srv) && total <= TC_MAX_STRING_LEN) return 0;
    tc_reply_error(c->r, ERR_TOO_BIG);
    return 1;
}

void tc_cmd_append(tc_ctx *c)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    const tc_slice *add = &c->argv[2];
    if (!e) {
        if (!store(c, &c->argv[1], add->p, add->len, 0)) return;
        tc_notify(c, TC_NOTIFY_STRING, "append", &c->argv[1]);
        tc_reply_int(c->r, (long long)add->len);
        return;
    }
    size_t old = e->vlen;
    if (too_big(c, (uint64_t)old + add->len)) return;
    tc_key *n = tc_ks_resize(c->ks, e, old + add->len);
    if (!n) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    memcpy(tc_key_str(n) + old, add->p, add->len);
    n->encoding = TC_ENC_INLINE_RAW; /* Redis appends to an unshared raw copy */
    tc_notify(c, TC_NOTIFY_STRING, "append", &c->argv[1]);
    tc_reply_int(c->r, (long long)n->vlen);
}

void tc_cmd_strlen(tc_ctx *c)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (!wrong) tc_reply_int(c->r, e ? (long long)e->vlen : 0);
}

void tc_cmd_getrange(tc_ctx *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) != 0 || arg_ll(c, 3, &end) != 0) return;
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long len = e ? (long long)e->vlen : 0;
    if (start < 0 && end < 0 && start > end) {
        tc_reply_bulk(c->r, "", 0);
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (!e || len == 0 || start > end) tc_reply_bulk(c->r, "", 0);
    else tc_reply_bulk(c->r, tc_key_str(e) + start, (size_t)(end - start + 1));
}

void tc_cmd_setrange(tc_ctx *c)
{
    long long off;
    if (arg_ll(c, 2, &off) != 0) return;
    if (off < 0) {
        tc_reply_error(c->r, "ERR offset is out of range");
        return;
    }
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    const tc_slice *v = &c->argv[3];
    if (v->len == 0) { /* nothing to write: report the length, create nothing */
        tc_reply_int(c->r, e ? (long long)e->vlen : 0);
        return;
    }
    if (too_big(c, (uint64_t)off + v->len)) return;
    size_t need = (size_t)off + v->len;
    int created = !e;
    if (created) {
        e = tc_ks_set(c->ks, c->argv[1].p, c->argv[1].len, "", 0, 0);
        if (!e) {
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
    }
    size_t old = e->vlen;
    if (need > old) {
        tc_key *n = tc_ks_resize(c->ks, e, need);
        if (!n) {
            /* leave no empty key behind from a command that failed */
            if (created) tc_ks_delete(c->ks, c->argv[1].p, c->argv[1].len);
            tc_reply_error(c->r, "ERR out of memory");
            return;
        }
        e = n;
        memset(tc_key_str(e) + old, 0, need - old);
    }
    memcpy(tc_key_str(e) + off, v->p, v->len);
    e->encoding = TC_ENC_INLINE_RAW; /* as Redis's in-place (or created) raw string */
    tc_notify(c, TC_NOTIFY_STRING, "setrange", &c->argv[1]);
    tc_reply_int(c->r, (long long)e->vlen);
}

void tc_cmd_get(tc_ctx *c)
{
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    reply_value(c, e);
}
