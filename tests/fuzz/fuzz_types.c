/* libFuzzer target for the collection types (node/types/, node/t_*.c):
 * random command sequences on a hash, a set, a sorted set, a list and a
 * stream (entries, trims, reads and copies against a model of its IDs), run
 * on two nodes and checked against a naive model kept here in plain arrays.
 *
 *  - node A gets tiny encoding thresholds chosen by the input (CONFIG SET
 *    hash-max-listpack-entries 0..8 and so on), so that every type crosses
 *    between its compact and its big encoding again and again;
 *  - node B keeps Redis's defaults, so its values mostly stay compact.
 *
 * After every command: A's reply equals what the model predicts (exactly,
 * or as a multiset where Redis's order depends on the encoding: HGETALL,
 * SMEMBERS), B's reply equals A's where the order is defined, and the two
 * keyspaces' DEBUG DIGESTs are equal (an encoding changes memory, never
 * content). A big encoding never turns back into a compact one while the
 * key lives. Any difference aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fixture.h"

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fprintf(stderr, "\n");                                                 \
            abort();                                                               \
        }                                                                          \
    } while (0)

#define NMEMBERS 32   /* the alphabet of members, fields and values */
#define LIST_MAX 512  /* the model list's capacity: pushes beyond are skipped */
#define MAX_OPS 3000  /* per input, to keep each run short */

/* ---- the alphabet -------------------------------------------------------- */

/* Member i as text: small integers (intset material), short words, and
 * longer runs that cross the value thresholds (the last one crosses even
 * Redis's default 64). */
static size_t member(int i, char *buf)
{
    i %= NMEMBERS;
    if (i < 10) return (size_t)sprintf(buf, "%d", i - 3);
    if (i < 22) return (size_t)sprintf(buf, "m%d", i);
    size_t n = i == NMEMBERS - 1 ? 70 : (size_t)(i - 20) * 2;
    memset(buf, 'a' + i - 22, n);
    buf[n] = '\0';
    return n;
}

/* ---- the model ------------------------------------------------------------- */

typedef struct model {
    /* hash: field i -> value text */
    int hpresent[NMEMBERS];
    char hval[NMEMBERS][96];
    /* set */
    int spresent[NMEMBERS];
    /* sorted set: score in halves (score = zhalf / 2.0) */
    int zpresent[NMEMBERS];
    long zhalf[NMEMBERS];
    /* list of member indices */
    int list[LIST_MAX];
    size_t llen;
    /* stream "x": its entries' IDs and value (member index), oldest first */
    struct {
        uint64_t ms, seq;
        int v;
    } xs[LIST_MAX];
    size_t xlen;
    uint64_t xlast_ms, xlast_seq;
    int xexists;
    /* once a key's encoding was big it stays big while the key lives */
    int big_h, big_s, big_z;
} model;

static int count(const int *present)
{
    int n = 0;
    for (int i = 0; i < NMEMBERS; i++) n += present[i];
    return n;
}

/* ---- the nodes ------------------------------------------------------------- */

static fx *node_a, *node_b;

static const char *run(fx *f, size_t argc, const char **argv)
{
    return fx_runv(f, argc, argv, NULL);
}

/* Runs on A, copies the reply (B's run would overwrite nothing of A's, but
 * the caller compares both). */
static char reply_a[1 << 16];

static const char *run_a(size_t argc, const char **argv)
{
    const char *r = run(node_a, argc, argv);
    snprintf(reply_a, sizeof reply_a, "%s", r);
    return reply_a;
}

/* Runs on both; B's reply must equal A's. */
static const char *run_both(size_t argc, const char **argv)
{
    run_a(argc, argv);
    const char *b = run(node_b, argc, argv);
    CHECK(strcmp(reply_a, b) == 0, "%s: A %s B %s", argv[0], reply_a, b);
    return reply_a;
}

/* Runs on both; the replies may differ in order only (checked by the
 * caller against the model). */
static const char *run_both_unordered(size_t argc, const char **argv)
{
    run(node_b, argc, argv);
    return run_a(argc, argv);
}

static const char *encoding(fx *f, const char *key)
{
    const char *argv[] = {"OBJECT", "ENCODING", key};
    return run(f, 3, argv);
}

/* ---- expected replies -------------------------------------------------- */

static char want[1 << 16];

static void want_int(long long v) { snprintf(want, sizeof want, ":%lld\r\n", v); }

static void want_bulk(const char *s)
{
    if (s) snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(s), s);
    else snprintf(want, sizeof want, "$-1\r\n");
}

static void check_reply(const char *cmd, const char *got)
{
    CHECK(strcmp(got, want) == 0, "%s: got %s want %s", cmd, got, want);
}

/* A score in halves as Redis prints a double. */
static void fmt_score(long half, char *buf)
{
    if (half % 2 == 0) sprintf(buf, "%ld", half / 2);
    else sprintf(buf, "%s%ld.5", half < 0 ? "-" : "", labs(half) / 2);
}

/* The bulk strings of an array reply, sorted; -1 if it is not one. */
static int bulks_sorted(const char *r, char items[][96], int max)
{
    int n;
    if (sscanf(r, "*%d\r\n", &n) != 1 || n > max) return -1;
    const char *p = strchr(r, '\n') + 1;
    for (int i = 0; i < n; i++) {
        size_t len;
        if (sscanf(p, "$%zu\r\n", &len) != 1 || len >= 96) return -1;
        p = strchr(p, '\n') + 1;
        memcpy(items[i], p, len);
        items[i][len] = '\0';
        p += len + 2;
    }
    qsort(items, (size_t)n, 96, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* ---- the commands ------------------------------------------------------ */

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static int next(input *in)
{
    if (!in->n) return -1;
    in->n--;
    return *in->p++;
}

static int arg(input *in)
{
    int v = next(in);
    return v < 0 ? 0 : v;
}

static void hash_op(model *m, int op, input *in)
{
    char f[96], v[96], buf[128];
    int fi = arg(in) % NMEMBERS, vi = arg(in);
    member(fi, f);
    switch (op % 7) {
    case 0: { /* HSET f v */
        member(vi, v);
        const char *argv[] = {"HSET", "h", f, v};
        const char *r = run_both(4, argv);
        want_int(!m->hpresent[fi]);
        check_reply("HSET", r);
        m->hpresent[fi] = 1;
        snprintf(m->hval[fi], sizeof m->hval[fi], "%s", v);
        break;
    }
    case 1: { /* HDEL f */
        const char *argv[] = {"HDEL", "h", f};
        want_int(m->hpresent[fi]);
        check_reply("HDEL", run_both(3, argv));
        m->hpresent[fi] = 0;
        break;
    }
    case 2: { /* HGET f */
        const char *argv[] = {"HGET", "h", f};
        want_bulk(m->hpresent[fi] ? m->hval[fi] : NULL);
        check_reply("HGET", run_both(3, argv));
        break;
    }
    case 3: { /* HINCRBY f n */
        int by = vi % 21 - 10;
        sprintf(buf, "%d", by);
        const char *argv[] = {"HINCRBY", "h", f, buf};
        const char *r = run_both(4, argv);
        long long cur = 0;
        char *end = NULL;
        if (m->hpresent[fi]) cur = strtoll(m->hval[fi], &end, 10);
        if (m->hpresent[fi] && (!m->hval[fi][0] || *end || (m->hval[fi][0] == '0' && m->hval[fi][1]))) {
            snprintf(want, sizeof want, "-ERR hash value is not an integer\r\n");
            check_reply("HINCRBY", r);
            break;
        }
        want_int(cur + by);
        check_reply("HINCRBY", r);
        m->hpresent[fi] = 1;
        snprintf(m->hval[fi], sizeof m->hval[fi], "%lld", cur + by);
        break;
    }
    case 4: { /* HLEN */
        const char *argv[] = {"HLEN", "h"};
        want_int(count(m->hpresent));
        check_reply("HLEN", run_both(2, argv));
        break;
    }
    case 5: { /* HGETALL as a multiset of "field=value" */
        const char *argv[] = {"HGETALL", "h"};
        const char *r = run_both_unordered(2, argv);
        static char items[2 * NMEMBERS][96], exp[2 * NMEMBERS][96];
        int n = bulks_sorted(r, items, 2 * NMEMBERS), k = 0;
        for (int i = 0; i < NMEMBERS; i++)
            if (m->hpresent[i]) {
                member(i, exp[k++]);
                snprintf(exp[k++], 96, "%s", m->hval[i]);
            }
        qsort(exp, (size_t)k, 96, (int (*)(const void *, const void *))strcmp);
        CHECK(n == k, "HGETALL: %d items, want %d", n, k);
        for (int i = 0; i < k; i++) CHECK(strcmp(items[i], exp[i]) == 0, "HGETALL item %s want %s", items[i], exp[i]);
        break;
    }
    default: { /* HSTRLEN f */
        const char *argv[] = {"HSTRLEN", "h", f};
        want_int(m->hpresent[fi] ? (long long)strlen(m->hval[fi]) : 0);
        check_reply("HSTRLEN", run_both(3, argv));
        break;
    }
    }
}

static void set_op(model *m, int op, input *in)
{
    char s[96];
    int si = arg(in) % NMEMBERS;
    member(si, s);
    switch (op % 6) {
    case 0: case 1: { /* SADD (twice as likely: sets must grow) */
        const char *argv[] = {"SADD", "s", s};
        want_int(!m->spresent[si]);
        check_reply("SADD", run_both(3, argv));
        m->spresent[si] = 1;
        break;
    }
    case 2: { /* SREM */
        const char *argv[] = {"SREM", "s", s};
        want_int(m->spresent[si]);
        check_reply("SREM", run_both(3, argv));
        m->spresent[si] = 0;
        break;
    }
    case 3: { /* SISMEMBER, SCARD */
        const char *argv[] = {"SISMEMBER", "s", s}, *card[] = {"SCARD", "s"};
        want_int(m->spresent[si]);
        check_reply("SISMEMBER", run_both(3, argv));
        want_int(count(m->spresent));
        check_reply("SCARD", run_both(2, card));
        break;
    }
    case 4: { /* SPOP on A (its pick follows its encoding); B removes the same member */
        const char *argv[] = {"SPOP", "s"};
        const char *r = run_a(2, argv);
        if (!count(m->spresent)) {
            want_bulk(NULL);
            check_reply("SPOP", r);
            break;
        }
        size_t len;
        CHECK(sscanf(r, "$%zu\r\n", &len) == 1, "SPOP: %s", r);
        char got[96];
        const char *p = strchr(r, '\n') + 1;
        CHECK(len < sizeof got, "SPOP: %s", r);
        memcpy(got, p, len);
        got[len] = '\0';
        int found = -1;
        for (int i = 0; i < NMEMBERS && found < 0; i++) {
            char t[96];
            member(i, t);
            if (m->spresent[i] && strcmp(t, got) == 0) found = i;
        }
        CHECK(found >= 0, "SPOP gave %s, not a member", got);
        m->spresent[found] = 0;
        const char *srem[] = {"SREM", "s", got};
        CHECK(strcmp(run(node_b, 3, srem), ":1\r\n") == 0, "B lacks %s", got);
        break;
    }
    default: { /* SMEMBERS as a multiset */
        const char *argv[] = {"SMEMBERS", "s"};
        const char *r = run_both_unordered(2, argv);
        static char items[NMEMBERS][96], exp[NMEMBERS][96];
        int n = bulks_sorted(r, items, NMEMBERS), k = 0;
        for (int i = 0; i < NMEMBERS; i++)
            if (m->spresent[i]) member(i, exp[k++]);
        qsort(exp, (size_t)k, 96, (int (*)(const void *, const void *))strcmp);
        CHECK(n == k, "SMEMBERS: %d items, want %d", n, k);
        for (int i = 0; i < k; i++) CHECK(strcmp(items[i], exp[i]) == 0, "SMEMBERS %s want %s", items[i], exp[i]);
        break;
    }
    }
}

/* Members of the model's sorted set in order: (score, bytes). */
static int zorder(const model *m, int *out)
{
    int n = 0;
    for (int i = 0; i < NMEMBERS; i++)
        if (m->zpresent[i]) out[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int a = out[j - 1], b = out[j];
            char ma[96], mb[96];
            size_t la = member(a, ma), lb = member(b, mb);
            int c = m->zhalf[a] != m->zhalf[b] ? (m->zhalf[a] < m->zhalf[b] ? -1 : 1) : 0;
            if (!c) {
                c = memcmp(ma, mb, la < lb ? la : lb);
                if (!c) c = la < lb ? -1 : la > lb;
            }
            if (c <= 0) break;
            out[j - 1] = b, out[j] = a;
        }
    return n;
}

static void zset_op(model *m, int op, input *in)
{
    char z[96], sc[32];
    int zi = arg(in) % NMEMBERS, a = arg(in);
    member(zi, z);
    int order[NMEMBERS], n;
    switch (op % 7) {
    case 0: case 1: { /* ZADD score m */
        long half = a % 32 - 8;
        fmt_score(half, sc);
        const char *argv[] = {"ZADD", "z", sc, z};
        want_int(!m->zpresent[zi]);
        check_reply("ZADD", run_both(4, argv));
        m->zpresent[zi] = 1;
        m->zhalf[zi] = half;
        break;
    }
    case 2: { /* ZREM */
        const char *argv[] = {"ZREM", "z", z};
        want_int(m->zpresent[zi]);
        check_reply("ZREM", run_both(3, argv));
        m->zpresent[zi] = 0;
        break;
    }
    case 3: { /* ZINCRBY */
        long half = a % 9 - 4;
        fmt_score(half, sc);
        const char *argv[] = {"ZINCRBY", "z", sc, z};
        const char *r = run_both(4, argv);
        m->zhalf[zi] = (m->zpresent[zi] ? m->zhalf[zi] : 0) + half;
        m->zpresent[zi] = 1;
        fmt_score(m->zhalf[zi], sc);
        want_bulk(sc);
        check_reply("ZINCRBY", r);
        break;
    }
    case 4: { /* ZSCORE, ZRANK */
        const char *argv[] = {"ZSCORE", "z", z}, *rank[] = {"ZRANK", "z", z};
        if (m->zpresent[zi]) fmt_score(m->zhalf[zi], sc);
        want_bulk(m->zpresent[zi] ? sc : NULL);
        check_reply("ZSCORE", run_both(3, argv));
        n = zorder(m, order);
        int r = -1;
        for (int i = 0; i < n; i++)
            if (order[i] == zi) r = i;
        if (r < 0) want_bulk(NULL);
        else want_int(r);
        check_reply("ZRANK", run_both(3, rank));
        break;
    }
    case 5: { /* ZPOPMIN */
        const char *argv[] = {"ZPOPMIN", "z"};
        const char *r = run_both(2, argv);
        n = zorder(m, order);
        if (!n) {
            snprintf(want, sizeof want, "*0\r\n");
        } else {
            char mm[96];
            size_t len = member(order[0], mm);
            fmt_score(m->zhalf[order[0]], sc);
            snprintf(want, sizeof want, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", len, mm, strlen(sc), sc);
            m->zpresent[order[0]] = 0;
        }
        check_reply("ZPOPMIN", r);
        break;
    }
    default: { /* ZRANGE 0 -1 WITHSCORES: the whole order */
        const char *argv[] = {"ZRANGE", "z", "0", "-1", "WITHSCORES"};
        const char *r = run_both(5, argv);
        n = zorder(m, order);
        size_t o = (size_t)snprintf(want, sizeof want, "*%d\r\n", 2 * n);
        for (int i = 0; i < n; i++) {
            char mm[96];
            size_t len = member(order[i], mm);
            fmt_score(m->zhalf[order[i]], sc);
            o += (size_t)snprintf(want + o, sizeof want - o, "$%zu\r\n%s\r\n$%zu\r\n%s\r\n", len, mm, strlen(sc), sc);
        }
        check_reply("ZRANGE", r);
        break;
    }
    }
}

/* Index i (Redis's, negative from the end) in the model list; -1 outside. */
static long lindex(const model *m, long i)
{
    if (i < 0) i += (long)m->llen;
    return i >= 0 && i < (long)m->llen ? i : -1;
}

static void list_insert_at(model *m, size_t at, int v)
{
    memmove(m->list + at + 1, m->list + at, (m->llen - at) * sizeof *m->list);
    m->list[at] = v;
    m->llen++;
}

static void list_remove_at(model *m, size_t at)
{
    memmove(m->list + at, m->list + at + 1, (m->llen - at - 1) * sizeof *m->list);
    m->llen--;
}

static void list_op(model *m, int op, input *in)
{
    char v[96], idx[16], mm[96];
    int vi = arg(in) % NMEMBERS, a = arg(in);
    member(vi, v);
    long i = a % 15 - 7;
    sprintf(idx, "%ld", i);
    switch (op % 9) {
    case 0: case 1: case 2: { /* LPUSH / RPUSH */
        if (m->llen == LIST_MAX) break;
        int head = op % 9 == 0;
        const char *argv[] = {head ? "LPUSH" : "RPUSH", "l", v};
        want_int((long long)m->llen + 1);
        check_reply(argv[0], run_both(3, argv));
        list_insert_at(m, head ? 0 : m->llen, vi);
        break;
    }
    case 3: { /* LPOP / RPOP */
        int head = a & 1;
        const char *argv[] = {head ? "LPOP" : "RPOP", "l"};
        const char *r = run_both(2, argv);
        if (!m->llen) {
            want_bulk(NULL);
        } else {
            size_t at = head ? 0 : m->llen - 1;
            member(m->list[at], mm);
            want_bulk(mm);
            list_remove_at(m, at);
        }
        check_reply(argv[0], r);
        break;
    }
    case 4: { /* LINDEX */
        const char *argv[] = {"LINDEX", "l", idx};
        long at = lindex(m, i);
        if (at >= 0) member(m->list[at], mm);
        want_bulk(at >= 0 ? mm : NULL);
        check_reply("LINDEX", run_both(3, argv));
        break;
    }
    case 5: { /* LSET */
        const char *argv[] = {"LSET", "l", idx, v};
        const char *r = run_both(4, argv);
        long at = lindex(m, i);
        if (!m->llen) snprintf(want, sizeof want, "-ERR no such key\r\n");
        else if (at < 0) snprintf(want, sizeof want, "-ERR index out of range\r\n");
        else snprintf(want, sizeof want, "+OK\r\n"), m->list[at] = vi;
        check_reply("LSET", r);
        break;
    }
    case 6: { /* LINSERT BEFORE|AFTER pivot v: the first pivot from the head */
        if (m->llen == LIST_MAX) break;
        int after = a & 1, pi = (a >> 1) % NMEMBERS;
        char pivot[96];
        member(pi, pivot);
        const char *argv[] = {"LINSERT", "l", after ? "AFTER" : "BEFORE", pivot, v};
        const char *r = run_both(5, argv);
        long at = -1;
        for (size_t k = 0; k < m->llen && at < 0; k++)
            if (m->list[k] == pi) at = (long)k;
        if (!m->llen) want_int(0);
        else if (at < 0) want_int(-1);
        else list_insert_at(m, (size_t)at + (size_t)after, vi), want_int((long long)m->llen);
        check_reply("LINSERT", r);
        break;
    }
    case 7: { /* LREM count v */
        long cnt = a % 5 - 2;
        char cs[16];
        sprintf(cs, "%ld", cnt);
        const char *argv[] = {"LREM", "l", cs, v};
        const char *r = run_both(4, argv);
        long removed = 0;
        if (cnt >= 0) {
            for (size_t k = 0; k < m->llen && (!cnt || removed < cnt);)
                if (m->list[k] == vi) list_remove_at(m, k), removed++;
                else k++;
        } else {
            for (size_t k = m->llen; k-- > 0 && removed < -cnt;)
                if (m->list[k] == vi) list_remove_at(m, k), removed++;
        }
        want_int(removed);
        check_reply("LREM", r);
        break;
    }
    default: { /* LRANGE 0 -1 (and sometimes LTRIM first) */
        if (a % 4 == 0) {
            long start = a % 7 - 2, stop = (a >> 3) % 9 - 4;
            char s1[16], s2[16];
            sprintf(s1, "%ld", start);
            sprintf(s2, "%ld", stop);
            const char *argv[] = {"LTRIM", "l", s1, s2};
            snprintf(want, sizeof want, "+OK\r\n");
            check_reply("LTRIM", run_both(4, argv));
            long len = (long)m->llen;
            if (start < 0) start += len;
            if (stop < 0) stop += len;
            if (start < 0) start = 0;
            if (start > stop || start >= len) {
                m->llen = 0;
            } else {
                if (stop >= len) stop = len - 1;
                memmove(m->list, m->list + start, (size_t)(stop - start + 1) * sizeof *m->list);
                m->llen = (size_t)(stop - start + 1);
            }
        }
        const char *argv[] = {"LRANGE", "l", "0", "-1"};
        const char *r = run_both(4, argv);
        size_t o = (size_t)snprintf(want, sizeof want, "*%zu\r\n", m->llen);
        for (size_t k = 0; k < m->llen; k++) {
            size_t len = member(m->list[k], mm);
            o += (size_t)snprintf(want + o, sizeof want - o, "$%zu\r\n%s\r\n", len, mm);
        }
        check_reply("LRANGE", r);
        break;
    }
    }
}

/* ---- streams ---------------------------------------------------------------- */

static int xid_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    if (ams != bms) return ams < bms ? -1 : 1;
    return aseq < bseq ? -1 : aseq > bseq;
}

/* The expected reply of entries [from, from+n) of the model, in order or
 * reversed (from then counts from the newest). */
static void want_entries(const model *m, size_t from, size_t n, int rev)
{
    size_t off = (size_t)snprintf(want, sizeof want, "*%zu\r\n", n);
    for (size_t k = 0; k < n && off < sizeof want - 512; k++) {
        size_t i = rev ? m->xlen - 1 - from - k : from + k;
        char id[48], v[96];
        int il = snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)m->xs[i].ms, (unsigned long long)m->xs[i].seq);
        size_t vl = member(m->xs[i].v, v);
        off += (size_t)snprintf(want + off, sizeof want - off, "*2\r\n$%d\r\n%s\r\n*2\r\n$1\r\nf\r\n$%zu\r\n%s\r\n", il,
                                id, vl, v);
    }
}

/* Drops the model's oldest entries down to the stream's real length (an
 * approximate trim removes what its chunks allow: the order is checked
 * by the next XRANGE). */
static void follow_len(model *m)
{
    const char *argv[] = {"XLEN", "x"};
    const char *r = run_both(2, argv);
    long n = strtol(r + 1, NULL, 10);
    CHECK(r[0] == ':' && n >= 0 && (size_t)n <= m->xlen, "XLEN %s model %zu", r, m->xlen);
    size_t cut = m->xlen - (size_t)n;
    memmove(m->xs, m->xs + cut, (m->xlen - cut) * sizeof m->xs[0]);
    m->xlen -= cut;
}

static void stream_op(model *m, int op, input *in)
{
    char v[96], id[64], num[32];
    int a = arg(in), b = arg(in), vi = arg(in);
    member(vi, v);
    if (m->xlen >= LIST_MAX - 1) { /* the model's room: half the entries go */
        snprintf(num, sizeof num, "%d", LIST_MAX / 2);
        const char *t[] = {"XTRIM", "x", "MAXLEN", "=", num};
        run_both(5, t);
        follow_len(m);
    }
    switch (op % 9) {
    case 0: { /* XADD x ms-seq f v: an explicit ID near the last one */
        uint64_t ms = m->xlast_ms + (uint64_t)(a % 3) - (m->xlast_ms && a % 5 == 4), seq = (uint64_t)(b % 3);
        snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)ms, (unsigned long long)seq);
        const char *argv[] = {"XADD", "x", id, "f", v};
        const char *r = run_both(5, argv);
        if (ms == 0 && seq == 0) {
            CHECK(strstr(r, "greater than 0-0") != NULL, "XADD 0-0: %s", r);
        } else if (xid_cmp(ms, seq, m->xlast_ms, m->xlast_seq) <= 0) {
            CHECK(strstr(r, "equal or smaller") != NULL, "XADD %s: %s", id, r);
        } else {
            want_bulk(id);
            check_reply("XADD", r);
            m->xs[m->xlen].ms = ms;
            m->xs[m->xlen].seq = seq;
            m->xs[m->xlen++].v = vi % NMEMBERS;
            m->xlast_ms = ms;
            m->xlast_seq = seq;
            m->xexists = 1;
        }
        break;
    }
    case 1: { /* XADD x MAXLEN ~|= n ms-* f v */
        snprintf(num, sizeof num, "%d", b % 200);
        snprintf(id, sizeof id, "%llu-*", (unsigned long long)m->xlast_ms + (uint64_t)(a % 2));
        const char *argv[] = {"XADD", "x", "MAXLEN", a & 4 ? "~" : "=", num, id, "f", v};
        const char *r = run_both(8, argv);
        CHECK(r[0] == '$', "XADD ms-*: %s", r);
        uint64_t ms, seq;
        CHECK(sscanf(strchr(r, '\n') + 1, "%llu-%llu", (unsigned long long *)&ms, (unsigned long long *)&seq) == 2, "%s", r);
        CHECK(xid_cmp(ms, seq, m->xlast_ms, m->xlast_seq) > 0, "XADD ms-* went back: %s", r);
        m->xs[m->xlen].ms = ms;
        m->xs[m->xlen].seq = seq;
        m->xs[m->xlen++].v = vi % NMEMBERS;
        m->xlast_ms = ms;
        m->xlast_seq = seq;
        m->xexists = 1;
        follow_len(m);
        if (!(a & 4)) CHECK(m->xlen <= (size_t)(b % 200), "exact MAXLEN left %zu", m->xlen);
        break;
    }
    case 2: { /* XDEL x id (one of the model's, or a missing one) */
        size_t i = m->xlen ? (size_t)a % m->xlen : 0;
        int present = m->xlen && !(b & 1);
        if (present) snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)m->xs[i].ms, (unsigned long long)m->xs[i].seq);
        else snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)m->xlast_ms + 1, 7ull);
        const char *argv[] = {"XDEL", "x", id};
        const char *r = run_both(3, argv);
        want_int(present);
        check_reply("XDEL", r);
        if (present) {
            memmove(m->xs + i, m->xs + i + 1, (m->xlen - i - 1) * sizeof m->xs[0]);
            m->xlen--;
        }
        break;
    }
    case 3: { /* XTRIM x MAXLEN n (exact, or ~ checked through XLEN) */
        size_t n = (size_t)(a % 64);
        snprintf(num, sizeof num, "%zu", n);
        const char *argv[] = {"XTRIM", "x", "MAXLEN", b & 1 ? "~" : "=", num};
        char r[64];
        snprintf(r, sizeof r, "%s", run_both(5, argv)); /* follow_len runs XLEN */
        size_t before = m->xlen;
        follow_len(m);
        want_int((long long)(before - m->xlen));
        check_reply("XTRIM", r);
        if (!(b & 1)) CHECK(m->xlen == (before > n ? n : before), "XTRIM MAXLEN = %zu left %zu", n, m->xlen);
        break;
    }
    case 4: { /* XTRIM x MINID id */
        uint64_t ms = m->xlen ? m->xs[(size_t)a % m->xlen].ms : 1;
        snprintf(id, sizeof id, "%llu", (unsigned long long)ms);
        const char *argv[] = {"XTRIM", "x", "MINID", id};
        const char *r = run_both(4, argv);
        size_t cut = 0;
        while (cut < m->xlen && m->xs[cut].ms < ms) cut++;
        want_int((long long)cut);
        check_reply("XTRIM MINID", r);
        memmove(m->xs, m->xs + cut, (m->xlen - cut) * sizeof m->xs[0]);
        m->xlen -= cut;
        break;
    }
    case 5: { /* XRANGE x - + */
        const char *argv[] = {"XRANGE", "x", "-", "+"};
        const char *r = run_both(4, argv);
        want_entries(m, 0, m->xlen, 0);
        check_reply("XRANGE", r);
        break;
    }
    case 6: { /* XREVRANGE x + - COUNT k */
        size_t k = (size_t)(a % 8) + 1;
        snprintf(num, sizeof num, "%zu", k);
        const char *argv[] = {"XREVRANGE", "x", "+", "-", "COUNT", num};
        const char *r = run_both(6, argv);
        want_entries(m, 0, m->xlen < k ? m->xlen : k, 1);
        check_reply("XREVRANGE", r);
        break;
    }
    case 7: { /* XREAD COUNT k STREAMS x id: after one of the model's IDs */
        size_t i = m->xlen ? (size_t)a % m->xlen : 0, k = (size_t)(b % 5) + 1;
        if (m->xlen) snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)m->xs[i].ms, (unsigned long long)m->xs[i].seq);
        else snprintf(id, sizeof id, "0");
        snprintf(num, sizeof num, "%zu", k);
        const char *argv[] = {"XREAD", "COUNT", num, "STREAMS", "x", id};
        const char *r = run_both(6, argv);
        size_t from = m->xlen ? i + 1 : 0, n = m->xlen - from < k ? m->xlen - from : k;
        if (!n) {
            CHECK(strcmp(r, "*-1\r\n") == 0, "XREAD with nothing after: %s", r);
        } else {
            want_entries(m, from, n, 0);
            char body[sizeof want];
            snprintf(body, sizeof body, "%s", want);
            snprintf(want, sizeof want, "*1\r\n*2\r\n$1\r\nx\r\n%s", body);
            check_reply("XREAD", r);
        }
        break;
    }
    default: { /* COPY x y: the image form, then the same entries */
        const char *cp[] = {"COPY", "x", "xcopy", "REPLACE"};
        run_both(4, cp);
        const char *argv[] = {"XRANGE", "xcopy", "-", "+"};
        const char *r = run_both(4, argv);
        want_entries(m, 0, m->xexists ? m->xlen : 0, 0);
        check_reply("XRANGE copy", r);
        const char *del[] = {"DEL", "xcopy"};
        run_both(2, del);
        break;
    }
    }
}

/* A big encoding stays big while the key lives (Redis never converts
 * these back); a key that went away starts over. */
static void check_encodings(model *m)
{
    const char *e = encoding(node_a, "h");
    if (!count(m->hpresent)) m->big_h = 0;
    else if (!strcmp(e, "$9\r\nhashtable\r\n")) m->big_h = 1;
    else CHECK(!m->big_h, "hash back to %s", e);
    e = encoding(node_a, "s");
    if (!count(m->spresent)) m->big_s = 0;
    else if (!strcmp(e, "$9\r\nhashtable\r\n")) m->big_s = 1;
    else CHECK(!m->big_s, "set back to %s", e);
    e = encoding(node_a, "z");
    if (!count(m->zpresent)) m->big_z = 0;
    else if (!strcmp(e, "$8\r\nskiplist\r\n")) m->big_z = 1;
    else CHECK(!m->big_z, "sorted set back to %s", e);
}

static void check_digests(void)
{
    unsigned char a[20], b[20];
    tc_ks_digest(&node_a->srv.dbs[0], node_a->now_ms, a);
    tc_ks_digest(&node_b->srv.dbs[0], node_b->now_ms, b);
    CHECK(memcmp(a, b, sizeof a) == 0, "the two nodes' digests differ");
}

static void config_set(fx *f, const char *name, long v)
{
    char buf[32];
    sprintf(buf, "%ld", v);
    const char *argv[] = {"CONFIG", "SET", name, buf};
    const char *r = run(f, 4, argv);
    CHECK(strcmp(r, "+OK\r\n") == 0, "CONFIG SET %s %s: %s", name, buf, r);
}

/* A's thresholds from the input: 0..8 entries, 0..23 bytes, list nodes of
 * 1..4 entries or 4 KB. */
static void set_thresholds(input *in)
{
    static const long fills[] = {1, 2, 3, 4, -1, 0};
    config_set(node_a, "hash-max-listpack-entries", arg(in) % 9);
    config_set(node_a, "hash-max-listpack-value", arg(in) % 24);
    config_set(node_a, "zset-max-listpack-entries", arg(in) % 9);
    config_set(node_a, "zset-max-listpack-value", arg(in) % 24);
    config_set(node_a, "set-max-intset-entries", arg(in) % 9);
    config_set(node_a, "set-max-listpack-entries", arg(in) % 9);
    config_set(node_a, "set-max-listpack-value", arg(in) % 24);
    config_set(node_a, "list-max-listpack-size", fills[arg(in) % 6]);
}

static fx *new_node(void)
{
    void *state;
    CHECK(fx_setup(&state) == 0, "fx_setup");
    return state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!node_a) {
        node_a = new_node();
        node_b = new_node();
    }
    const char *flush[] = {"FLUSHALL"};
    run(node_a, 1, flush);
    run(node_b, 1, flush);
    input in = {data, size};
    set_thresholds(&in);

    static model m;
    memset(&m, 0, sizeof m);
    for (int ops = 0; ops < MAX_OPS; ops++) {
        int op = next(&in);
        if (op < 0) break;
        if (op == 0xff) { /* new thresholds mid-way: values past a lowered one convert on their next write */
            set_thresholds(&in);
            continue;
        }
        if (op >= 0xe0) { /* one op in eight or so: the stream */
            stream_op(&m, op - 0xe0, &in);
            if (ops % 8 == 7 || !in.n) check_digests();
            continue;
        }
        switch (op & 3) {
        case 0: hash_op(&m, op >> 2, &in); break;
        case 1: set_op(&m, op >> 2, &in); break;
        case 2: zset_op(&m, op >> 2, &in); break;
        default: list_op(&m, op >> 2, &in); break;
        }
        check_encodings(&m);
        if (ops % 8 == 7 || !in.n) check_digests();
    }
    /* nothing kept between inputs: a value's pointer is stored unaligned
     * after its key's name, where LeakSanitizer would not see it */
    run(node_a, 1, flush);
    run(node_b, 1, flush);
    return 0;
}
