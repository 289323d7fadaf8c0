/* Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD
 * (BLOCK too), XSETID, XINFO STREAM. Semantics, reply shapes and error
 * texts follow Redis 7.0 (t_stream.c). The value itself: types/stream.h.
 *
 * Determinism: XADD runs on every node when its log entry is applied, so
 * an ID it generates (`*`, `ms-*`) comes from c->now_ms, the entry's
 * clock, never the wall clock; `~` trims whole chunks, whose boundaries
 * are part of the replicated state (stream.h). Consumer groups are not
 * built (README "Streams"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "coll_cmd.h"
#include "commands.h"
#include "notify.h"
#include "types/stream.h"

#define ERR_INVALID_ID "ERR Invalid stream ID specified as stream command argument"
#define ERR_XADD_SMALLER "ERR The ID specified in XADD is equal or smaller than the target stream top item"
#define ERR_XADD_ZERO "ERR The ID specified in XADD must be greater than 0-0"
#define ERR_EXHAUSTED "ERR The stream has exhausted the last possible ID, unable to add more items"

static const tc_stream_id ID_MAX = {UINT64_MAX, UINT64_MAX};

/* The live stream at key, NULL if absent; WRONGTYPE replied (and *wrong
 * set) for another type. */
static tc_key *find_stream(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *k = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (k && k->type != TC_TYPE_STREAM) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return k;
}

/* ---- IDs as arguments --------------------------------------------------------- */

/* An ID argument as Redis's streamGenericParseIDOrReply: "-" and "+" (unless
 * strict), "ms", "ms-seq", and with seq_star "ms-*". 0, or -1 with the
 * error replied. */
static int parse_id(tc_ctx *c, const tc_slice *a, uint64_t missing_seq, int strict, tc_stream_id *id, int *seq_star)
{
    if (a->len == 1 && (a->p[0] == '-' || a->p[0] == '+')) {
        if (strict) goto invalid;
        *id = a->p[0] == '-' ? (tc_stream_id){0, 0} : ID_MAX;
        if (seq_star) *seq_star = 0;
        return 0;
    }
    if (tc_stream_id_parse(a->p, a->len, missing_seq, id, seq_star) == 0) return 0;
invalid:
    tc_reply_error(c->r, ERR_INVALID_ID);
    return -1;
}

/* An interval bound (XRANGE): "(" then a strict ID makes it exclusive. */
static int parse_bound(tc_ctx *c, const tc_slice *a, uint64_t missing_seq, tc_stream_id *id, int *exclusive)
{
    *exclusive = a->len > 1 && a->p[0] == '(';
    if (!*exclusive) return parse_id(c, a, missing_seq, 0, id, NULL);
    tc_slice rest = {a->p + 1, a->len - 1};
    return parse_id(c, &rest, missing_seq, 1, id, NULL);
}

static int id_incr(tc_stream_id *id)
{
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

static int id_decr(tc_stream_id *id)
{
    if (id->seq == 0) {
        if (id->ms == 0) return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

static void reply_id(tc_reply *r, tc_stream_id id)
{
    char buf[48];
    tc_reply_bulk(r, buf, tc_stream_id_format(id, buf));
}

static void reply_entry(tc_reply *r, const tc_stream_entry *e)
{
    tc_reply_array(r, 2);
    reply_id(r, e->id);
    tc_reply_array(r, 2 * (size_t)e->nfields);
    size_t off = 0;
    for (uint32_t i = 0; i < 2 * e->nfields; i++) {
        size_t len;
        const char *p = tc_stream_entry_str(e, &off, &len);
        tc_reply_bulk(r, p, len);
    }
}

/* The entries of [start, end] (rev: from end down to start), at most
 * count of them (0: all), as an array. */
static void reply_range(tc_reply *r, const tc_stream *s, tc_stream_id start, tc_stream_id end, int rev,
                        long long count)
{
    size_t n = 0;
    tc_stream_pos p;
    /* count first: the array's length leads the reply */
    if (tc_stream_id_cmp(start, end) <= 0) {
        if (!rev) {
            p = tc_stream_seek(s, start);
            for (const tc_stream_entry *e; (e = tc_stream_at(s, p)) && tc_stream_id_cmp(e->id, end) <= 0;
                 tc_stream_next(s, &p)) {
                if (count && n == (size_t)count) break;
                n++;
            }
        } else if (tc_stream_seek_back(s, end, &p)) {
            do {
                const tc_stream_entry *e = tc_stream_at(s, p);
                if (tc_stream_id_cmp(e->id, start) < 0 || (count && n == (size_t)count)) break;
                n++;
            } while (tc_stream_prev(s, &p));
        }
    }
    tc_reply_array(r, n);
    if (!n) return;
    if (!rev) {
        p = tc_stream_seek(s, start);
        for (size_t i = 0; i < n; i++, tc_stream_next(s, &p)) reply_entry(r, tc_stream_at(s, p));
    } else {
        tc_stream_seek_back(s, end, &p);
        for (size_t i = 0; i < n; i++) {
            reply_entry(r, tc_stream_at(s, p));
            tc_stream_prev(s, &p);
        }
    }
}

/* ---- XADD / XTRIM arguments ----------------------------------------------------- */

typedef struct add_args {
    tc_stream_trim trim;
    int nomkstream;
    int id_given, seq_star;
    tc_stream_id id;
    size_t field_pos; /* XADD: where the field/value pairs start */
} add_args;

/* Redis's streamParseAddOrTrimArgsOrReply: options from argv[2] on. 0, or
 * -1 with the error replied. */
static int parse_add_or_trim(tc_ctx *c, int xadd, add_args *a)
{
    memset(a, 0, sizeof *a);
    int limit_given = 0;
    size_t i = 2;
    for (; i < c->argc; i++) {
        size_t more = c->argc - 1 - i;
        const tc_slice *o = &c->argv[i];
        if (xadd && o->len == 1 && o->p[0] == '*') {
            break; /* the pairs follow */
        } else if ((tc_arg_is(o, "maxlen") || tc_arg_is(o, "minid")) && more) {
            int maxlen = tc_arg_is(o, "maxlen");
            if (a->trim.strategy) {
                tc_reply_error(c->r, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->trim.approx = 0;
            const tc_slice *next = &c->argv[i + 1];
            if (more >= 2 && next->len == 1 && (next->p[0] == '~' || next->p[0] == '=')) {
                a->trim.approx = next->p[0] == '~';
                i++;
            }
            if (maxlen) {
                long long v;
                if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &v) != 0) {
                    tc_reply_error(c->r, TC_ERR_NOT_INT);
                    return -1;
                }
                if (v < 0) {
                    tc_reply_error(c->r, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->trim.maxlen = (uint64_t)v;
                a->trim.strategy = TC_STREAM_TRIM_MAXLEN;
            } else {
                if (parse_id(c, &c->argv[i + 1], 0, 1, &a->trim.minid, NULL) != 0) return -1;
                a->trim.strategy = TC_STREAM_TRIM_MINID;
            }
            i++;
        } else if (tc_arg_is(o, "limit") && more) {
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &a->trim.limit) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return -1;
            }
            if (a->trim.limit < 0) {
                tc_reply_error(c->r, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && tc_arg_is(o, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            /* an explicit ID, or a syntax error reported as a bad ID */
            if (parse_id(c, o, 0, 1, &a->id, &a->seq_star) != 0) return -1;
            a->id_given = 1;
            break;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return -1;
        }
    }
    a->field_pos = i + 1;
    if (a->trim.limit && !a->trim.strategy) {
        tc_reply_error(c->r, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && !a->trim.strategy) {
        tc_reply_error(c->r, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given && !a->trim.approx) {
        tc_reply_error(c->r, "ERR syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    /* Redis bounds an approximate trim's work by default: 100 nodes' worth */
    if (!limit_given) a->trim.limit = a->trim.approx ? 100 * TC_STREAM_NODE_MAX_ENTRIES : 0;
    return 0;
}

/* The ID XADD gives its entry, as Redis's streamAppendItem: 0, or -1 when
 * it would not be greater than the stream's last ID. */
static int next_id(const tc_stream *s, const add_args *a, int64_t now_ms, tc_stream_id *out)
{
    tc_stream_id last = s->last_id;
    if (a->id_given && !a->seq_star) {
        *out = a->id;
    } else if (a->id_given) { /* ms-* */
        if (a->id.ms == last.ms) {
            if (last.seq == UINT64_MAX) return -1;
            *out = (tc_stream_id){last.ms, last.seq + 1};
        } else {
            *out = (tc_stream_id){a->id.ms, 0};
        }
    } else { /* *: the command's clock, never behind the last ID */
        uint64_t ms = now_ms > 0 ? (uint64_t)now_ms : 0;
        if (ms > last.ms) {
            *out = (tc_stream_id){ms, 0};
        } else {
            *out = last;
            if (id_incr(out) != 0) return -1;
        }
    }
    return tc_stream_id_cmp(*out, last) > 0 ? 0 : -1;
}

void tc_cmd_xadd(tc_ctx *c)
{
    add_args a;
    if (parse_add_or_trim(c, 1, &a) != 0) return;
    if (a.id_given && !a.seq_star && a.id.ms == 0 && a.id.seq == 0) {
        tc_reply_error(c->r, ERR_XADD_ZERO);
        return;
    }
    if (a.field_pos > c->argc || (c->argc - a.field_pos) < 2 || (c->argc - a.field_pos) % 2 == 1) {
        tc_reply_error(c->r, "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    const tc_slice *key = &c->argv[1];
    int wrong;
    tc_key *k = find_stream(c, key, &wrong);
    if (wrong) return;
    if (!k && a.nomkstream) {
        tc_reply_null(c->r);
        return;
    }
    tc_stream_id id;
    if (k) {
        tc_stream *s = tc_stream_of(k);
        if (s->last_id.ms == UINT64_MAX && s->last_id.seq == UINT64_MAX) {
            tc_reply_error(c->r, ERR_EXHAUSTED);
            return;
        }
        if (next_id(s, &a, c->now_ms, &id) != 0) {
            tc_reply_error(c->r, ERR_XADD_SMALLER);
            return;
        }
    } else {
        tc_stream empty = {0};
        if (next_id(&empty, &a, c->now_ms, &id) != 0) {
            tc_reply_error(c->r, ERR_XADD_SMALLER);
            return;
        }
    }
    size_t n = (c->argc - a.field_pos) / 2;
    const char **fv = malloc(2 * n * sizeof *fv);
    size_t *fvlen = malloc(2 * n * sizeof *fvlen);
    int created = 0;
    if (fv && fvlen && !k && (k = tc_stream_create(c->ks, key->p, key->len, 0))) created = 1;
    if (!fv || !fvlen || !k) goto oom;
    for (size_t i = 0; i < 2 * n; i++) {
        fv[i] = c->argv[a.field_pos + i].p;
        fvlen[i] = c->argv[a.field_pos + i].len;
    }
    tc_stream *s = tc_stream_of(k);
    if (tc_stream_append(s, id, n, fv, fvlen) != 0) goto oom;
    free(fv);
    free(fvlen);
    reply_id(c->r, id);
    tc_notify(c, TC_NOTIFY_STREAM, "xadd", key);
    if (a.trim.strategy && tc_stream_do_trim(s, &a.trim)) tc_notify(c, TC_NOTIFY_STREAM, "xtrim", key);
    tc_block_signal(c->srv, c->db, key->p, key->len); /* an XREAD may wait on it */
    return;
oom:
    free(fv);
    free(fvlen);
    if (created) tc_ks_delete(c->ks, key->p, key->len);
    tc_reply_error(c->r, TC_ERR_OOM);
}

void tc_cmd_xtrim(tc_ctx *c)
{
    add_args a;
    if (parse_add_or_trim(c, 0, &a) != 0) return;
    int wrong;
    tc_key *k = find_stream(c, &c->argv[1], &wrong);
    if (wrong) return;
    uint64_t removed = k ? tc_stream_do_trim(tc_stream_of(k), &a.trim) : 0;
    if (removed) tc_notify(c, TC_NOTIFY_STREAM, "xtrim", &c->argv[1]);
    tc_reply_int(c->r, (long long)removed);
}

void tc_cmd_xlen(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_stream(c, &c->argv[1], &wrong);
    if (wrong) return;
    tc_reply_int(c->r, k ? (long long)tc_stream_of(k)->length : 0);
}

void tc_cmd_xdel(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_stream(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_int(c->r, 0);
        return;
    }
    /* every ID checked before any is deleted: an error changes nothing */
    tc_stream_id *ids = malloc((c->argc - 2) * sizeof *ids);
    if (!ids) {
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    for (size_t i = 2; i < c->argc; i++) {
        if (parse_id(c, &c->argv[i], 0, 1, &ids[i - 2], NULL) != 0) {
            free(ids);
            return;
        }
    }
    long long deleted = 0;
    tc_stream *s = tc_stream_of(k);
    for (size_t i = 0; i < c->argc - 2; i++) deleted += tc_stream_delete(s, ids[i]);
    free(ids);
    if (deleted) tc_notify(c, TC_NOTIFY_STREAM, "xdel", &c->argv[1]);
    tc_reply_int(c->r, deleted);
}

/* XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]. */
static void range_generic(tc_ctx *c, int rev)
{
    const tc_slice *sa = &c->argv[rev ? 3 : 2], *ea = &c->argv[rev ? 2 : 3];
    tc_stream_id start, end;
    int sx, ex;
    if (parse_bound(c, sa, 0, &start, &sx) != 0) return;
    if (sx && id_incr(&start) != 0) {
        tc_reply_error(c->r, "ERR invalid start ID for the interval");
        return;
    }
    if (parse_bound(c, ea, UINT64_MAX, &end, &ex) != 0) return;
    if (ex && id_decr(&end) != 0) {
        tc_reply_error(c->r, "ERR invalid end ID for the interval");
        return;
    }
    long long count = -1;
    for (size_t j = 4; j < c->argc; j++) {
        if (tc_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (tc_parse_ll(c->argv[j + 1].p, c->argv[j + 1].len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 0) count = 0;
            j++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    int wrong;
    tc_key *k = find_stream(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_array(c->r, 0);
        return;
    }
    if (count == 0) {
        tc_reply_null_array(c->r);
        return;
    }
    reply_range(c->r, tc_stream_of(k), start, end, rev, count < 0 ? 0 : count);
}

void tc_cmd_xrange(tc_ctx *c) { range_generic(c, 0); }
void tc_cmd_xrevrange(tc_ctx *c) { range_generic(c, 1); }

/* ---- XREAD ------------------------------------------------------------------------ */

/* What a client blocked on a stream waits for: the re-run of its command
 * decides (it knows the IDs), so any stream may serve every waiter. */
static size_t stream_ready(tc_keyspace *ks, const char *key, size_t klen, int64_t now_ms)
{
    tc_key *k = tc_ks_peek(ks, key, klen, now_ms);
    return k && k->type == TC_TYPE_STREAM && tc_stream_of(k)->length ? SIZE_MAX / 2 : 0;
}

/* The last live entry's ID is past after: XREAD has something there. */
static int has_after(const tc_stream *s, tc_stream_id after)
{
    const tc_stream_entry *last = tc_stream_last(s);
    return last && tc_stream_id_cmp(last->id, after) > 0;
}

void tc_cmd_xread(tc_ctx *c)
{
    long long count = 0;
    int64_t deadline = -1; /* -1: no BLOCK */
    size_t streams = 0, nstreams = 0;
    for (size_t i = 1; i < c->argc; i++) {
        size_t more = c->argc - i - 1;
        const tc_slice *o = &c->argv[i];
        if (tc_arg_is(o, "block") && more) {
            i++;
            long long ms;
            if (tc_parse_ll(c->argv[i].p, c->argv[i].len, &ms) != 0) {
                tc_reply_error(c->r, "ERR timeout is not an integer or out of range");
                return;
            }
            if (ms < 0) {
                tc_reply_error(c->r, "ERR timeout is negative");
                return;
            }
            deadline = ms == 0 ? 0 : ms > LLONG_MAX - c->now_ms ? LLONG_MAX : c->now_ms + ms;
        } else if (tc_arg_is(o, "count") && more) {
            i++;
            if (tc_parse_ll(c->argv[i].p, c->argv[i].len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 0) count = 0;
        } else if (tc_arg_is(o, "streams") && more) {
            streams = i + 1;
            nstreams = c->argc - streams;
            if (nstreams % 2) {
                tc_reply_error(c->r, "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must "
                                     "be specified.");
                return;
            }
            nstreams /= 2;
            break;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if (!streams) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    tc_stream_id *ids = malloc(nstreams * sizeof *ids);
    tc_key **keys = malloc(nstreams * sizeof *keys);
    if (!ids || !keys) {
        free(ids);
        free(keys);
        tc_reply_error(c->r, TC_ERR_OOM);
        return;
    }
    int dollar = 0;
    for (size_t i = 0; i < nstreams; i++) {
        int wrong;
        keys[i] = find_stream(c, &c->argv[streams + i], &wrong);
        if (wrong) goto done;
        const tc_slice *a = &c->argv[streams + nstreams + i];
        if (a->len == 1 && a->p[0] == '$') {
            ids[i] = keys[i] ? tc_stream_of(keys[i])->last_id : (tc_stream_id){0, 0};
            dollar = 1;
            continue;
        }
        if (a->len == 1 && a->p[0] == '>') {
            tc_reply_error(c->r, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                                 "<consumer> option.");
            goto done;
        }
        if (parse_id(c, a, 0, 1, &ids[i], NULL) != 0) goto done;
    }
    size_t ready = 0;
    for (size_t i = 0; i < nstreams; i++) ready += keys[i] && has_after(tc_stream_of(keys[i]), ids[i]);
    if (!ready && deadline >= 0) {
        /* A waiting client runs its command again when a stream gets an
         * entry: "$" must then mean the last ID as it is now, so the
         * command that waits has them written out. */
        tc_slice *argv = NULL;
        char (*text)[48] = NULL;
        tc_ctx wc = *c;
        if (dollar) {
            argv = malloc(c->argc * sizeof *argv);
            text = malloc(nstreams * sizeof *text);
            if (argv && text) {
                memcpy(argv, c->argv, c->argc * sizeof *argv);
                for (size_t i = 0; i < nstreams; i++) {
                    tc_slice *a = &argv[streams + nstreams + i];
                    if (a->len == 1 && a->p[0] == '$') *a = (tc_slice){text[i], tc_stream_id_format(ids[i], text[i])};
                }
                wc.argv = argv;
            }
        }
        tc_block_spec b = {.first_key = streams, .nkeys = nstreams, .deadline_ms = deadline, .ready = stream_ready};
        int waits = (!dollar || wc.argv != c->argv) && tc_block_wait(&wc, &b, 0);
        free(argv);
        free(text);
        if (waits) goto done;
    }
    if (!ready) {
        tc_reply_null_array(c->r);
        goto done;
    }
    /* RESP3: a map of stream -> entries; RESP2: [stream, entries] pairs */
    if (c->r->resp >= 3) tc_reply_map(c->r, ready);
    else tc_reply_array(c->r, ready);
    for (size_t i = 0; i < nstreams; i++) {
        if (!keys[i] || !has_after(tc_stream_of(keys[i]), ids[i])) continue;
        if (c->r->resp < 3) tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, c->argv[streams + i].p, c->argv[streams + i].len);
        tc_stream_id start = ids[i];
        id_incr(&start); /* has_after: not the greatest ID */
        reply_range(c->r, tc_stream_of(keys[i]), start, ID_MAX, 0, count);
    }
done:
    free(ids);
    free(keys);
}

/* ---- XSETID, XINFO ---------------------------------------------------------------- */

void tc_cmd_xsetid(tc_ctx *c)
{
    tc_stream_id id, maxdel = {0, 0};
    long long added = -1;
    if (parse_id(c, &c->argv[2], 0, 1, &id, NULL) != 0) return;
    for (size_t i = 3; i < c->argc; i += 2) {
        int more = i + 1 < c->argc;
        if (tc_arg_is(&c->argv[i], "entriesadded") && more) {
            if (tc_parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &added) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (added < 0) {
                tc_reply_error(c->r, "ERR entries_added must be positive");
                return;
            }
        } else if (tc_arg_is(&c->argv[i], "maxdeletedid") && more) {
            if (parse_id(c, &c->argv[i + 1], 0, 1, &maxdel, NULL) != 0) return;
            if (tc_stream_id_cmp(id, maxdel) < 0) {
                tc_reply_error(c->r, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    int wrong;
    tc_key *k = find_stream(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!k) {
        tc_reply_error(c->r, "ERR no such key");
        return;
    }
    tc_stream *s = tc_stream_of(k);
    if (s->length) {
        if (tc_stream_id_cmp(id, tc_stream_last(s)->id) < 0) {
            tc_reply_error(c->r, "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (added != -1 && s->length > (uint64_t)added) {
            tc_reply_error(c->r, "ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s->last_id = id;
    if (added != -1) s->entries_added = (uint64_t)added;
    if (maxdel.ms || maxdel.seq) s->max_deleted_id = maxdel;
    tc_notify(c, TC_NOTIFY_STREAM, "xsetid", &c->argv[1]);
    tc_reply_ok(c->r);
}

static void reply_entry_or_null(tc_reply *r, const tc_stream_entry *e)
{
    if (e) reply_entry(r, e);
    else tc_reply_null(r);
}

/* XINFO STREAM key [FULL [COUNT n]]. radix-tree-keys is the chunk count,
 * as Redis's is its listpack nodes; radix-tree-nodes (the tree's inner
 * nodes in Redis, which tricache does not have) is reported as one more
 * than the chunks, which is what Redis answers for a stream of one node. */
static tc_key *xinfo_key(tc_ctx *c);
static void xinfo_stream(tc_ctx *c)
{
    int full = 0;
    long long count = 10;
    if (c->argc > 3) {
        full = tc_arg_is(&c->argv[3], "full");
        if (!full || (c->argc != 4 && !(c->argc == 6 && tc_arg_is(&c->argv[4], "count")))) {
            tc_reply_errorf(c->r, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XINFO HELP.",
                            (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].p);
            return;
        }
        if (c->argc == 6) {
            if (tc_parse_ll(c->argv[5].p, c->argv[5].len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 0) count = 10;
        }
    }
    tc_key *k = xinfo_key(c);
    if (!k) return;
    const tc_stream *s = tc_stream_of(k);
    const tc_stream_entry *first = tc_stream_first(s);
    tc_reply_map(c->r, full ? 9 : 10);
    tc_reply_bulks(c->r, "length");
    tc_reply_int(c->r, (long long)s->length);
    tc_reply_bulks(c->r, "radix-tree-keys");
    tc_reply_int(c->r, (long long)s->nchunks);
    tc_reply_bulks(c->r, "radix-tree-nodes");
    tc_reply_int(c->r, (long long)s->nchunks + 1);
    tc_reply_bulks(c->r, "last-generated-id");
    reply_id(c->r, s->last_id);
    tc_reply_bulks(c->r, "max-deleted-entry-id");
    reply_id(c->r, s->max_deleted_id);
    tc_reply_bulks(c->r, "entries-added");
    tc_reply_int(c->r, (long long)s->entries_added);
    tc_reply_bulks(c->r, "recorded-first-entry-id");
    reply_id(c->r, first ? first->id : (tc_stream_id){0, 0});
    if (full) {
        tc_reply_bulks(c->r, "entries");
        reply_range(c->r, s, (tc_stream_id){0, 0}, ID_MAX, 0, count);
        tc_reply_bulks(c->r, "groups");
        tc_reply_array(c->r, 0);
        return;
    }
    tc_reply_bulks(c->r, "groups");
    tc_reply_int(c->r, 0);
    tc_reply_bulks(c->r, "first-entry");
    reply_entry_or_null(c->r, first);
    tc_reply_bulks(c->r, "last-entry");
    reply_entry_or_null(c->r, tc_stream_last(s));
}

/* The stream at argv[2] for XINFO; NULL with the error replied. */
static tc_key *xinfo_key(tc_ctx *c)
{
    int wrong;
    tc_key *k = find_stream(c, &c->argv[2], &wrong);
    if (!k && !wrong) tc_reply_error(c->r, "ERR no such key");
    return k;
}

void tc_cmd_xinfo(tc_ctx *c)
{
    const tc_slice *sub = &c->argv[1];
    static const struct {
        const char *name;
        int arity;
    } subs[] = {{"consumers", 4}, {"groups", 3}, {"help", 2}, {"stream", -3}};
    size_t which = sizeof subs / sizeof subs[0];
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (tc_arg_is(sub, subs[i].name)) which = i;
    if (which == sizeof subs / sizeof subs[0]) {
        tc_reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try XINFO HELP.", (int)(sub->len > 128 ? 128 : sub->len),
                        sub->p);
        return;
    }
    int arity = subs[which].arity;
    if (arity > 0 ? c->argc != (size_t)arity : c->argc < (size_t)-arity) {
        tc_reply_errorf(c->r, "ERR wrong number of arguments for 'xinfo|%s' command", subs[which].name);
        return;
    }
    if (which == 2) {
        static const char *const lines[] = {
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Prints this help.",
        };
        size_t n = sizeof lines / sizeof lines[0];
        tc_reply_array(c->r, n);
        for (size_t i = 0; i < n; i++) tc_reply_status(c->r, lines[i]);
        return;
    }
    if (which == 3) {
        xinfo_stream(c);
        return;
    }
    /* tricache has no consumer groups: a stream has none to show */
    if (!xinfo_key(c)) return;
    if (which == 1) {
        tc_reply_array(c->r, 0);
        return;
    }
    tc_reply_errorf(c->r, "NOGROUP No such consumer group '%.*s' for key name '%.*s'", (int)c->argv[3].len,
                    c->argv[3].p, (int)c->argv[2].len, c->argv[2].p);
}
