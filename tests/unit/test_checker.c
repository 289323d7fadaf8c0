/* Unit tests for jepsen-lite's history reader and checkers
 * (history.c over common/json.c, wgl.c, set.c, checker.c, report.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------- helpers */

typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;

static void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (sb->len + (size_t)n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 1024;
        while (cap < sb->len + (size_t)n + 1)
            cap *= 2;
        sb->data = realloc(sb->data, cap);
        assert_non_null(sb->data);
        sb->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

static void json_token(strbuf *sb, const char *tok, size_t len) {
    if (len == 1 && tok[0] == '_')
        sb_printf(sb, "null");
    else if (len > 1 && tok[0] == '#')
        sb_printf(sb, "%.*s", (int)len - 1, tok + 1); /* a JSON number */
    else
        sb_printf(sb, "\"%.*s\"", (int)len, tok);
}

/* Turns a compact notation, one event per line,
 *     PROCESS TYPE F KEY [VALUE]
 * into the JSON Lines format. VALUE: `_` is null, `#12` the number 12,
 * `a/b` a cas pair, `{a,b}` a set read, anything else a string; absent =
 * null. Event i gets
 * time 1000 * (i + 1). */
static char *history_text(const char *dsl) {
    strbuf sb = {0};
    sb_printf(&sb, "%s", "");
    int t = 0;
    const char *p = dsl;
    while (*p) {
        const char *end = strchr(p, '\n');
        if (end == NULL)
            end = p + strlen(p);
        char line[256];
        size_t n = (size_t)(end - p);
        assert_true(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        p = *end ? end + 1 : end;
        char proc[16], type[16], f[16], key[32], value[128] = "";
        int got = sscanf(line, "%15s %15s %15s %31s %127s", proc, type, f, key, value);
        if (got < 4)
            continue;
        sb_printf(&sb, "{\"process\":%s,\"type\":\"%s\",\"f\":\"%s\",\"key\":\"%s\",\"value\":",
                  proc, type, f, key);
        char *slash = strchr(value, '/');
        if (got < 5) {
            sb_printf(&sb, "null");
        } else if (value[0] == '{') {
            sb_printf(&sb, "[");
            char *q = value + 1;
            bool first = true;
            while (*q && *q != '}') {
                size_t k = strcspn(q, ",}");
                sb_printf(&sb, "%s", first ? "" : ",");
                json_token(&sb, q, k);
                first = false;
                q += k;
                if (*q == ',')
                    q++;
            }
            sb_printf(&sb, "]");
        } else if (slash) {
            sb_printf(&sb, "[");
            json_token(&sb, value, (size_t)(slash - value));
            sb_printf(&sb, ",");
            json_token(&sb, slash + 1, strlen(slash + 1));
            sb_printf(&sb, "]");
        } else {
            json_token(&sb, value, strlen(value));
        }
        sb_printf(&sb, ",\"time\":%d}\n", 1000 * ++t);
    }
    return sb.data;
}

static jl_history *parse_ok(jl_model m, const char *text) {
    jl_history *h = NULL;
    jl_error err = {{0}};
    int rc = jl_history_parse(&h, m, "h", text, strlen(text), &err);
    if (rc != 0)
        fail_msg("unexpected parse error: %s", err.msg);
    return h;
}

static jl_verdict check_history(const jl_history *h, bool whole, double limit, jl_result **keep) {
    jl_check_opts o = {.whole = whole, .time_limit = limit};
    jl_result *r = NULL;
    jl_error err;
    assert_int_equal(jl_check(h, &o, &r, &err), 0);
    /* both reports must be producible for every result */
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    jl_report_text(null, h, r);
    jl_report_json(null, h, r);
    fclose(null);
    jl_verdict v = r->verdict;
    if (keep)
        *keep = r;
    else
        jl_result_free(r);
    return v;
}

/* Checks a register history split per key, as one multi-key register and
 * with the exhaustive reference; all three must agree on `want`. */
static void expect_register(const char *dsl, jl_verdict want) {
    char *text = history_text(dsl);
    jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
    jl_verdict split = check_history(h, false, 0, NULL);
    jl_verdict whole = check_history(h, true, 0, NULL);
    int brute = jl__brute_register(h, 100000000);
    if (split != want || whole != want || brute != (want == JL_VALID))
        fail_msg("want %d, split %d, whole %d, brute %d for\n%s", want, split, whole, brute, dsl);
    jl_history_free(h);
    free(text);
}

static jl_result *check_set(const char *dsl) {
    char *text = history_text(dsl);
    jl_history *h = parse_ok(JL_MODEL_SET, text);
    jl_result *r;
    check_history(h, false, 0, &r);
    jl_history_free(h);
    free(text);
    return r;
}

/* Expects a parse error whose message starts with want_prefix and
 * contains want_text. */
static void expect_parse_error(jl_model m, const char *text, const char *want_prefix,
                               const char *want_text) {
    jl_history *h = (jl_history *)1;
    jl_error err = {{0}};
    int rc = jl_history_parse(&h, m, "hist.jsonl", text, strlen(text), &err);
    if (rc != JL_EINPUT)
        fail_msg("expected an input error for %s", text);
    assert_null(h);
    if (strncmp(err.msg, want_prefix, strlen(want_prefix)) != 0 || !strstr(err.msg, want_text))
        fail_msg("error '%s' lacks '%s' ... '%s'", err.msg, want_prefix, want_text);
}

/* ------------------------------------------------------------- register: valid */

static void test_sequential_valid(void **state) {
    (void)state;
    expect_register("0 invoke read x\n"
                    "0 ok read x _\n"
                    "0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke read x\n"
                    "1 ok read x 1\n"
                    "1 invoke cas x 1/2\n"
                    "1 ok cas x 1/2\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n",
                    JL_VALID);
}

static void test_concurrent_overlapping_valid(void **state) {
    (void)state;
    /* the read overlaps both writes, so it may see either */
    expect_register("0 invoke write x 1\n"
                    "2 invoke read x\n"
                    "1 invoke write x 2\n"
                    "0 ok write x 1\n"
                    "1 ok write x 2\n"
                    "2 ok read x 1\n"
                    "0 invoke read x\n"
                    "0 ok read x 1\n",
                    JL_VALID);
    /* the reads witness the order 2 then 1 */
    expect_register("0 invoke write x 1\n"
                    "1 invoke write x 2\n"
                    "2 invoke read x\n"
                    "3 invoke read x\n"
                    "2 ok read x 2\n"
                    "0 ok write x 1\n"
                    "1 ok write x 2\n"
                    "3 ok read x 1\n",
                    JL_VALID);
}

static void test_cas_chain_valid(void **state) {
    (void)state;
    expect_register("0 invoke write x a\n"
                    "0 ok write x a\n"
                    "1 invoke cas x a/b\n"
                    "2 invoke cas x b/c\n"
                    "3 invoke cas x a/z\n"
                    "2 ok cas x b/c\n"
                    "1 ok cas x a/b\n"
                    "3 fail cas x a/z\n"
                    "0 invoke cas x c/d\n"
                    "0 ok cas x c/d\n"
                    "0 invoke read x\n"
                    "0 ok read x d\n",
                    JL_VALID);
    /* cas from a missing key */
    expect_register("0 invoke cas x _/a\n"
                    "0 ok cas x _/a\n"
                    "0 invoke read x\n"
                    "0 ok read x a\n",
                    JL_VALID);
}

static void test_info_write_effect_either_way(void **state) {
    (void)state;
    /* took effect: a later read sees it, long after the invoke */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke write x 2\n"
                    "1 info write x 2\n"
                    "0 invoke read x\n"
                    "0 ok read x 1\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n",
                    JL_VALID);
    /* never took effect: never read */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke write x 2\n"
                    "1 info write x 2\n"
                    "0 invoke read x\n"
                    "0 ok read x 1\n",
                    JL_VALID);
    /* an invoke that never completes counts as info */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke write x 2\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n",
                    JL_VALID);
    /* an info cas may have applied */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke cas x 1/2\n"
                    "1 info cas x 1/2\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n",
                    JL_VALID);
}

static void test_info_process_reused(void **state) {
    (void)state;
    /* process 1 is reused after its info; the info op still extends to +inf */
    expect_register("1 invoke write x 1\n"
                    "1 info write x 1\n"
                    "1 invoke read x\n"
                    "1 ok read x _\n"
                    "0 invoke read x\n"
                    "0 ok read x 1\n",
                    JL_VALID);
}

static void test_failed_ops_dropped(void **state) {
    (void)state;
    expect_register("0 invoke write x 1\n"
                    "0 fail write x 1\n"
                    "1 invoke read x\n"
                    "1 ok read x _\n"
                    "1 invoke read x\n"
                    "1 fail read x\n",
                    JL_VALID);
}

/* ------------------------------------------------------------- register: invalid */

static void test_stale_read_invalid(void **state) {
    (void)state;
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "0 invoke write x 2\n"
                    "0 ok write x 2\n"
                    "1 invoke read x\n"
                    "1 ok read x 1\n",
                    JL_INVALID);
}

static void test_lost_write_invalid(void **state) {
    (void)state;
    /* acknowledged write of 2, later read returns the older 1 */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke read x\n"
                    "1 ok read x 1\n"
                    "2 invoke write x 2\n"
                    "2 ok write x 2\n"
                    "1 invoke read x\n"
                    "1 ok read x 1\n",
                    JL_INVALID);
}

static void test_read_never_written_invalid(void **state) {
    (void)state;
    expect_register("0 invoke write x 1\n"
                    "1 invoke read x\n"
                    "0 ok write x 1\n"
                    "1 ok read x 7\n",
                    JL_INVALID);
    /* a failed write's value must not be read */
    expect_register("0 invoke write x 1\n"
                    "0 fail write x 1\n"
                    "1 invoke read x\n"
                    "1 ok read x 1\n",
                    JL_INVALID);
}

static void test_cas_twice_invalid(void **state) {
    (void)state;
    expect_register("0 invoke write x a\n"
                    "0 ok write x a\n"
                    "1 invoke cas x a/b\n"
                    "2 invoke cas x a/c\n"
                    "1 ok cas x a/b\n"
                    "2 ok cas x a/c\n",
                    JL_INVALID);
}

static void test_non_monotonic_reads_invalid(void **state) {
    (void)state;
    /* both writes are concurrent with everything, but two sequential reads
     * see 2 then 1, and then 2 again: the register went back in time */
    expect_register("0 invoke write x 1\n"
                    "1 invoke write x 2\n"
                    "2 invoke read x\n"
                    "2 ok read x 2\n"
                    "2 invoke read x\n"
                    "2 ok read x 1\n"
                    "2 invoke read x\n"
                    "2 ok read x 2\n"
                    "0 ok write x 1\n"
                    "1 ok write x 2\n",
                    JL_INVALID);
}

static void test_info_not_enough_invalid(void **state) {
    (void)state;
    /* an info write may happen once, not twice */
    expect_register("0 invoke write x 1\n"
                    "0 ok write x 1\n"
                    "1 invoke write x 2\n"
                    "1 info write x 2\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n"
                    "0 invoke write x 3\n"
                    "0 ok write x 3\n"
                    "0 invoke read x\n"
                    "0 ok read x 2\n",
                    JL_INVALID);
    /* and not before its invoke */
    expect_register("0 invoke read x\n"
                    "0 ok read x 2\n"
                    "1 invoke write x 2\n"
                    "1 info write x 2\n",
                    JL_INVALID);
}

static void test_failing_window(void **state) {
    (void)state;
    char *text = history_text("0 invoke write x 1\n"
                              "0 ok write x 1\n"
                              "0 invoke write y 5\n"
                              "0 ok write y 5\n"
                              "0 invoke write x 2\n"
                              "0 ok write x 2\n"
                              "1 invoke read x\n"
                              "2 invoke write x 3\n"
                              "1 ok read x 1\n"
                              "2 ok write x 3\n");
    jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
    jl_result *r;
    assert_int_equal(check_history(h, false, 0, &r), JL_INVALID);
    assert_int_equal(r->n_keys, 2);
    const jl_key_result *k = &r->keys[0];
    assert_int_equal(k->verdict, JL_INVALID);
    assert_int_equal(r->keys[1].verdict, JL_VALID);
    /* w1 w2 w3 linearize (w3 overlaps the read), then the read of 1 is
     * stuck: the register holds 3 */
    assert_int_equal(k->prefix.n, 3);
    assert_int_equal(k->state_keys.n, 1);
    assert_int_equal(k->state_keys.v[0], 0);
    assert_true(k->stuck.n >= 1);
    bool read_stuck = false;
    for (size_t i = 0; i < k->stuck.n; i++)
        read_stuck |= h->ops[k->stuck.v[i]].f == JL_READ;
    assert_true(read_stuck);

    /* the text names the op that could not go on */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    jl_report_text(f, h, r);
    fclose(f);
    assert_non_null(strstr(buf, "INVALID"));
    assert_non_null(strstr(buf, "read -> \"1\""));
    assert_non_null(strstr(buf, "impossible: it is \"3\""));
    free(buf);

    f = open_memstream(&buf, &len);
    jl_report_json(f, h, r);
    fclose(f);
    assert_true(strncmp(buf, "{\"valid\":false,", 15) == 0);
    assert_non_null(strstr(buf, "\"type\":\"nonlinearizable\""));
    assert_non_null(strstr(buf, "\"state\":{\"x\":\"3\"}"));
    /* the JSON report is itself valid JSON */
    tc_json_reader j;
    tc_json_reader_init(&j, TC_JSON_UNIQUE_KEYS);
    const tc_json *root;
    assert_int_equal(tc_json_parse(&j, buf, strlen(buf) - 1, &root), 0);
    assert_int_equal(root->type, TC_JSON_OBJECT);
    tc_json_reader_free(&j);
    free(buf);

    jl_result_free(r);
    jl_history_free(h);
    free(text);
}

/* ------------------------------------------------------------- split vs whole */

static void test_split_equals_whole_multikey(void **state) {
    (void)state;
    /* valid: each key on its own is fine, interleaved across keys */
    expect_register("0 invoke write a 1\n"
                    "1 invoke write b 1\n"
                    "2 invoke read a\n"
                    "0 ok write a 1\n"
                    "3 invoke read b\n"
                    "1 ok write b 1\n"
                    "2 ok read a 1\n"
                    "3 ok read b _\n"
                    "0 invoke cas a 1/2\n"
                    "1 invoke cas b 1/2\n"
                    "0 ok cas a 1/2\n"
                    "1 info cas b 1/2\n"
                    "2 invoke read b\n"
                    "2 ok read b 2\n"
                    "3 invoke read a\n"
                    "3 ok read a 2\n",
                    JL_VALID);
    /* invalid on one key only */
    expect_register("0 invoke write a 1\n"
                    "1 invoke write b 1\n"
                    "0 ok write a 1\n"
                    "1 ok write b 1\n"
                    "0 invoke write a 2\n"
                    "0 ok write a 2\n"
                    "2 invoke read b\n"
                    "3 invoke read a\n"
                    "2 ok read b 1\n"
                    "3 ok read a 1\n",
                    JL_INVALID);
}

/* Small random register histories (few values, so they repeat): the split
 * search, the whole search and the exhaustive reference must agree. */
static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void random_history(uint64_t *s, strbuf *sb, int n_ops) {
    static const char *const vals[] = {"_", "a", "b", "c"};
    static const char *const keys[] = {"x", "y"};
    static const char *const outcomes[] = {"ok", "ok", "ok", "fail", "info"};
    struct pend {
        bool busy;
        int f, key, v1, v2, id;
    } procs[3] = {{0}};
    int next_id = 3, invoked = 0;
    for (int i = 0; i < 3; i++)
        procs[i].id = i;
    for (;;) {
        int i = (int)(rnd(s) % 3);
        struct pend *p = &procs[i];
        if (!p->busy) {
            if (invoked == n_ops) {
                bool any = false;
                for (int k = 0; k < 3; k++)
                    any |= procs[k].busy;
                if (!any)
                    return;
                continue;
            }
            invoked++;
            p->busy = true;
            p->f = (int)(rnd(s) % 3);
            p->key = (int)(rnd(s) % 2);
            p->v1 = (int)(rnd(s) % 4);
            p->v2 = 1 + (int)(rnd(s) % 3);
            if (p->f == 0)
                sb_printf(sb, "%d invoke read %s\n", p->id, keys[p->key]);
            else if (p->f == 1)
                sb_printf(sb, "%d invoke write %s %s\n", p->id, keys[p->key], vals[p->v2]);
            else
                sb_printf(sb, "%d invoke cas %s %s/%s\n", p->id, keys[p->key], vals[p->v1],
                          vals[p->v2]);
            continue;
        }
        const char *o = outcomes[rnd(s) % 5];
        if (rnd(s) % 8 == 0) {
            /* now and then an op never completes: it stays pending */
            if (invoked == n_ops) {
                p->busy = false;
                p->id = next_id++;
            }
            continue;
        }
        if (p->f == 0)
            sb_printf(sb, "%d %s read %s %s\n", p->id, o, keys[p->key], vals[rnd(s) % 4]);
        else if (p->f == 1)
            sb_printf(sb, "%d %s write %s %s\n", p->id, o, keys[p->key], vals[p->v2]);
        else
            sb_printf(sb, "%d %s cas %s %s/%s\n", p->id, o, keys[p->key], vals[p->v1],
                      vals[p->v2]);
        p->busy = false;
        if (strcmp(o, "info") == 0)
            p->id = next_id++;
    }
}

static void test_random_agree_with_reference(void **state) {
    (void)state;
    uint64_t seed = 12345;
    int counts[2] = {0, 0};
    for (int iter = 0; iter < 3000; iter++) {
        strbuf sb = {0};
        sb_printf(&sb, "%s", "");
        random_history(&seed, &sb, 3 + iter % 7);
        char *text = history_text(sb.data);
        jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
        jl_verdict split = check_history(h, false, 0, NULL);
        jl_verdict whole = check_history(h, true, 0, NULL);
        int brute = jl__brute_register(h, 100000000);
        if (brute < 0 || split != whole || (split == JL_VALID) != (brute == 1))
            fail_msg("split %d whole %d brute %d for\n%s", split, whole, brute, sb.data);
        counts[split == JL_VALID]++;
        jl_history_free(h);
        free(text);
        free(sb.data);
    }
    /* both kinds were exercised */
    assert_true(counts[0] > 100 && counts[1] > 100);
}

/* ------------------------------------------------------------- time budget */

static void test_time_budget_unknown(void **state) {
    (void)state;
    /* 60 concurrent writes of distinct values nobody reads, then a read of
     * a value never written: invalid, but only after trying every subset
     * of the writes (2^60 configurations) */
    strbuf sb = {0};
    sb_printf(&sb, "%s", "");
    int n = 60;
    for (int i = 0; i < n; i++)
        sb_printf(&sb, "%d invoke write x v%d\n", i, i);
    for (int i = 0; i < n; i++)
        sb_printf(&sb, "%d ok write x v%d\n", i, i);
    sb_printf(&sb, "%d invoke read x\n%d ok read x never\n", n, n);
    char *text = history_text(sb.data);
    jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
    jl_result *r;
    assert_int_equal(check_history(h, false, 0.05, &r), JL_UNKNOWN);
    assert_string_equal(r->keys[0].unknown_why, "time limit");
    jl_result_free(r);
    /* a tiny memory limit gives unknown too, never a guess */
    jl_check_opts o = {.memory_limit = 1 << 16};
    jl_error err;
    assert_int_equal(jl_check(h, &o, &r, &err), 0);
    assert_int_equal(r->verdict, JL_UNKNOWN);
    assert_string_equal(r->keys[0].unknown_why, "memory limit");
    jl_result_free(r);
    jl_history_free(h);
    free(text);
    free(sb.data);
}

/* ------------------------------------------------------------- set model */

static void test_set_valid(void **state) {
    (void)state;
    jl_result *r = check_set("0 invoke add s a\n"
                             "1 invoke add s b\n"
                             "0 ok add s a\n"
                             "1 ok add s b\n"
                             "0 invoke add s c\n"
                             "0 fail add s c\n"
                             "0 invoke read s\n"
                             "0 ok read s {a,b}\n"
                             "1 invoke read s\n"
                             "1 ok read s {b,a}\n");
    assert_int_equal(r->verdict, JL_VALID);
    assert_int_equal(r->keys[0].n_final_reads, 2);
    assert_int_equal(r->keys[0].n_acked, 2);
    jl_result_free(r);
}

static void test_set_lost_add(void **state) {
    (void)state;
    jl_result *r = check_set("0 invoke add s a\n"
                             "0 ok add s a\n"
                             "0 invoke add s b\n"
                             "0 ok add s b\n"
                             "1 invoke read s\n"
                             "1 ok read s {a}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].lost.n, 1);
    jl_result_free(r);
}

static void test_set_unexpected(void **state) {
    (void)state;
    jl_result *r = check_set("0 invoke add s a\n"
                             "0 ok add s a\n"
                             "1 invoke read s\n"
                             "1 ok read s {a,zz}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].unexpected.n, 1);
    assert_int_equal(r->keys[0].lost.n, 0);
    jl_result_free(r);
    /* a failed add that shows up: it said it definitely did not happen */
    r = check_set("0 invoke add s a\n"
                  "0 fail add s a\n"
                  "1 invoke read s\n"
                  "1 ok read s {a}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].failed_present.n, 1);
    jl_result_free(r);
}

static void test_set_info_either_way(void **state) {
    (void)state;
    jl_result *r = check_set("0 invoke add s a\n"
                             "0 info add s a\n"
                             "1 invoke add s b\n"
                             "1 info add s b\n"
                             "2 invoke add s c\n"
                             "2 ok add s c\n"
                             "3 invoke read s\n"
                             "3 ok read s {a,c}\n"
                             "4 invoke read s\n"
                             "4 ok read s {c}\n");
    assert_int_equal(r->verdict, JL_VALID);
    assert_int_equal(r->keys[0].recovered.n, 1);
    assert_int_equal(r->keys[0].lost_unknown.n, 1);
    /* a is on one node's read but not the other's: information only */
    assert_int_equal(r->keys[0].divergent.n, 1);
    jl_result_free(r);
}

static void test_set_no_final_read(void **state) {
    (void)state;
    /* the only read ran concurrently with the add: nothing can be said */
    jl_result *r = check_set("0 invoke add s a\n"
                             "1 invoke read s\n"
                             "1 ok read s {}\n"
                             "0 ok add s a\n");
    assert_int_equal(r->verdict, JL_UNKNOWN);
    jl_result_free(r);
}

/* ------------------------------------------------------------- parsing */

static void test_parse_fields(void **state) {
    (void)state;
    const char *text =
        "{\"process\":7,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k\\u00e9\","
        "\"value\":\"a\\\"b\\ud83d\\ude00\",\"time\":100,\"node\":\"n1\"}\n"
        "\n"
        "  {\"time\":150,\"value\":null,\"key\":\"k\\u00e9\",\"f\":\"write\",\"type\":\"ok\","
        "\"process\":7}\r\n"
        "{\"process\":8,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\\u00e9\",\"time\":200}";
    jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
    assert_int_equal(h->n_ops, 2);
    assert_int_equal(h->n_keys, 1);
    assert_memory_equal(h->keys[0].s, "k\xc3\xa9", 3);
    const jl_op *w = &h->ops[0];
    assert_int_equal(w->process, 7);
    assert_int_equal(w->outcome, JL_OK);
    assert_int_equal(w->line_call, 1);
    assert_int_equal(w->line_ret, 3);
    assert_int_equal(w->t_ret, 150);
    assert_int_equal(h->values[w->a].len, 7);
    assert_memory_equal(h->values[w->a].s, "a\"b\xf0\x9f\x98\x80", 7);
    /* never completed: indeterminate */
    assert_int_equal(h->ops[1].outcome, JL_INFO);
    assert_int_equal(h->ops[1].ret, JL_NO_RET);
    jl_history_free(h);
}

static void test_parse_errors(void **state) {
    (void)state;
    const char *ok1 = "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"time\":1}\n";
    /* JSON errors carry line and column */
    expect_parse_error(JL_MODEL_REGISTER, "{\"process\":1,}", "hist.jsonl:1:14: ",
                       "member name");
    expect_parse_error(JL_MODEL_REGISTER, "{\"process\":01}", "hist.jsonl:1:12: ",
                       "leading zeros");
    expect_parse_error(JL_MODEL_REGISTER, "{\"process\":1.5}", "hist.jsonl:1:12: ", "integers");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"x\\q\"}", "hist.jsonl:1:8: ", "escape");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"\\ud800\"}", "hist.jsonl:1:7: ",
                       "surrogate");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"\\udc00\"}", "hist.jsonl:1:7: ",
                       "surrogate");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"\\u12g4\"}", "hist.jsonl:1:", "hex");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"\xff\"}", "hist.jsonl:1:7: ", "UTF-8");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"\xc0\xaf\"}", "hist.jsonl:1:7: ", "UTF-8");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"x\ty\"}", "hist.jsonl:1:8: ", "control");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":\"abc}", "hist.jsonl:1:6: ", "unterminated");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":1} x", "hist.jsonl:1:9: ", "after the value");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":1,\"a\":2}", "hist.jsonl:1:8: ", "duplicate");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":nul}", "hist.jsonl:1:6: ", "expected a value");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":truex}", "hist.jsonl:1:6: ", "expected a value");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":99999999999999999999}", "hist.jsonl:1:6: ",
                       "range");
    expect_parse_error(JL_MODEL_REGISTER, "{\"a\":[1,2}", "hist.jsonl:1:10: ", "','");
    expect_parse_error(JL_MODEL_REGISTER, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                       "hist.jsonl:1:", "nested");
    /* errors on later lines name that line */
    char buf[512];
    snprintf(buf, sizeof(buf), "%s\n%s{\"process\":2", ok1, "  ");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:3:15: ", "expected");

    /* semantic errors: FILE:LINE[:COL] */
    expect_parse_error(JL_MODEL_REGISTER, "[1]", "hist.jsonl:1:1: ", "JSON object");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\"}",
                       "hist.jsonl:1: ", "missing \"time\"");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":\"1\",\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:12: ", "\"process\" must be an integer");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"begin\",\"f\":\"read\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:", "\"type\" must be");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"add\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:", "register model has no add");
    expect_parse_error(JL_MODEL_SET,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:", "only add and read");
    snprintf(buf, sizeof(buf), "%s%s", ok1, ok1);
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "pending");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:", "no pending invoke");
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"time\":2}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "says f write");
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"y\",\"time\":2}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "another key");
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"time\":0}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "time goes backwards");
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":true,\"time\":2}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "a string or a number or null");
    /* numbers: fractions only in values, and no integer beyond 64 bits there */
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1,\"time\":2.5}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:", "only integers");
    snprintf(buf, sizeof(buf), "%s%s", ok1,
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":99999999999999999999,\"time\":2}");
    expect_parse_error(JL_MODEL_REGISTER, buf, "hist.jsonl:2:55: ", "out of range");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"x\","
                       "\"value\":[\"a\"],\"time\":1}",
                       "hist.jsonl:1:", "[expected, new]");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\","
                       "\"value\":null,\"time\":1}",
                       "hist.jsonl:1:", "must be a string");
    expect_parse_error(JL_MODEL_SET,
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"add\",\"key\":\"s\",\"value\":\"a\",\"time\":1}\n"
                       "{\"process\":2,\"type\":\"invoke\",\"f\":\"add\",\"key\":\"s\",\"value\":\"a\",\"time\":1}",
                       "hist.jsonl:2:", "already added on line 1");
    expect_parse_error(JL_MODEL_REGISTER,
                       "{\"process\":-1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"time\":1}",
                       "hist.jsonl:1:", "negative");
}

/* Histories from Jepsen, Knossos and Porcupine carry numbers (issue 11):
 * compared by value; 1 and 1.0 differ as in Knossos (Clojure's =), and so
 * do the number 1 and the string "1". */
static void test_number_values(void **state) {
    (void)state;
    expect_register("1 invoke write x #1\n"
                    "1 ok write x #1\n"
                    "2 invoke cas x #1/#2\n"
                    "2 ok cas x #1/#2\n"
                    "3 invoke read x\n"
                    "3 ok read x #2\n",
                    JL_VALID);
    /* -0 is 0, and 1e2 is the fraction 100.0 */
    expect_register("1 invoke write x #-0\n"
                    "1 ok write x\n"
                    "2 invoke read x\n"
                    "2 ok read x #0\n"
                    "3 invoke write x #1e2\n"
                    "3 ok write x\n"
                    "4 invoke read x\n"
                    "4 ok read x #100.0\n",
                    JL_VALID);
    expect_register("1 invoke write x #1\n"
                    "1 ok write x #1\n"
                    "2 invoke read x\n"
                    "2 ok read x #2\n",
                    JL_INVALID);
    expect_register("1 invoke write x #1\n"
                    "1 ok write x\n"
                    "2 invoke read x\n"
                    "2 ok read x 1\n",
                    JL_INVALID);
    expect_register("1 invoke write x #1\n"
                    "1 ok write x\n"
                    "2 invoke read x\n"
                    "2 ok read x #1.0\n",
                    JL_INVALID);
    expect_register("1 invoke write x #1\n"
                    "1 ok write x\n"
                    "2 invoke cas x #2/#3\n"
                    "2 ok cas x #2/#3\n",
                    JL_INVALID);
    /* a set of integers */
    jl_result *r = check_set("1 invoke add s #1\n"
                             "1 ok add s #1\n"
                             "2 invoke add s #2\n"
                             "2 ok add s #2\n"
                             "3 invoke read s\n"
                             "3 ok read s {#2,#1}\n");
    assert_int_equal(r->verdict, JL_VALID);
    jl_result_free(r);
    r = check_set("1 invoke add s #1\n"
                  "1 ok add s #1\n"
                  "3 invoke read s\n"
                  "3 ok read s {1}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    jl_result_free(r);

    /* the reports write numbers as numbers */
    char *text = history_text("1 invoke write x #7\n"
                              "1 ok write x\n"
                              "2 invoke read x\n"
                              "2 ok read x #0.25\n");
    jl_history *h = parse_ok(JL_MODEL_REGISTER, text);
    jl_result *res;
    assert_int_equal(check_history(h, false, 0, &res), JL_INVALID);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    assert_non_null(f);
    jl_report_json(f, h, res);
    jl_report_text(f, h, res);
    fclose(f);
    if (!strstr(out, "0.25") || strstr(out, "\"0.25\"") || strstr(out, "\"7\""))
        fail_msg("numbers not written as numbers:\n%s", out);
    free(out);
    jl_result_free(res);
    jl_history_free(h);
    free(text);
}

static void test_empty_history_valid(void **state) {
    (void)state;
    jl_history *h = parse_ok(JL_MODEL_REGISTER, "");
    assert_int_equal(check_history(h, false, 0, NULL), JL_VALID);
    assert_int_equal(check_history(h, true, 0, NULL), JL_VALID);
    jl_history_free(h);
    h = parse_ok(JL_MODEL_SET, "\n\n");
    assert_int_equal(check_history(h, false, 0, NULL), JL_VALID);
    jl_history_free(h);
}

/* set-full (jl_check_opts.set_realtime): every read, not only the final
 * ones, must hold what was known present when it began. */
static jl_result *check_set_full(const char *dsl) {
    char *text = history_text(dsl);
    jl_history *h = parse_ok(JL_MODEL_SET, text);
    jl_check_opts o = {.set_realtime = true};
    jl_result *r = NULL;
    jl_error err;
    assert_int_equal(jl_check(h, &o, &r, &err), 0);
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    jl_report_text(null, h, r);
    jl_report_json(null, h, r);
    fclose(null);
    jl_history_free(h);
    free(text);
    return r;
}

static void test_set_full_valid(void **state) {
    (void)state;
    /* a read concurrent with an add may or may not see it; two overlapping
     * reads may disagree; an info add seen once stays seen */
    jl_result *r = check_set_full("0 invoke add s a\n"
                                  "0 ok add s a\n"
                                  "0 invoke add s b\n"
                                  "1 invoke read s\n"
                                  "2 invoke read s\n"
                                  "1 ok read s {a}\n"
                                  "2 ok read s {a,b}\n"
                                  "0 ok add s b\n"
                                  "3 invoke add s c\n"
                                  "3 info add s c\n"
                                  "4 invoke read s\n"
                                  "4 ok read s {a,b,c}\n"
                                  "5 invoke read s\n"
                                  "5 ok read s {a,b,c}\n");
    assert_int_equal(r->verdict, JL_VALID);
    assert_int_equal(r->keys[0].stale.n, 0);
    assert_int_equal(r->keys[0].recovered.n, 1);
    jl_result_free(r);
}

static void test_set_full_stale_read_invalid(void **state) {
    (void)state;
    /* a read invoked after a's add was acknowledged misses a; the final
     * read has it, so the final-read check alone would pass */
    const char *dsl = "0 invoke add s a\n"
                      "0 ok add s a\n"
                      "1 invoke read s\n"
                      "1 ok read s {}\n"
                      "2 invoke read s\n"
                      "2 ok read s {a}\n";
    jl_result *r = check_set(dsl);
    assert_int_equal(r->verdict, JL_VALID);
    jl_result_free(r);
    r = check_set_full(dsl);
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].stale.n, 1);
    assert_int_equal(r->keys[0].n_stale_reads, 1);
    assert_int_equal(r->keys[0].lost.n, 0);
    jl_result_free(r);
}

static void test_set_full_read_lost_seen_element(void **state) {
    (void)state;
    /* an indeterminate add shown by a completed read, then missing from a
     * read that began afterwards: a grow-only set never shrinks */
    jl_result *r = check_set_full("0 invoke add s a\n"
                                  "0 info add s a\n"
                                  "1 invoke add s b\n"
                                  "1 ok add s b\n"
                                  "2 invoke read s\n"
                                  "2 ok read s {a,b}\n"
                                  "3 invoke read s\n"
                                  "3 ok read s {b}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].stale.n, 1);
    jl_result_free(r);
    /* the same two reads overlapping: either order is possible */
    r = check_set_full("0 invoke add s a\n"
                       "0 info add s a\n"
                       "1 invoke add s b\n"
                       "1 ok add s b\n"
                       "2 invoke read s\n"
                       "3 invoke read s\n"
                       "2 ok read s {a,b}\n"
                       "3 ok read s {b}\n");
    assert_int_equal(r->verdict, JL_VALID);
    jl_result_free(r);
}

static void test_set_full_lost_and_unexpected(void **state) {
    (void)state;
    /* an element in a mid-run read that nobody added; an acknowledged add
     * missing from the final read */
    jl_result *r = check_set_full("0 invoke add s a\n"
                                  "1 invoke read s\n"
                                  "1 ok read s {z}\n"
                                  "0 ok add s a\n"
                                  "2 invoke read s\n"
                                  "2 ok read s {z}\n");
    assert_int_equal(r->verdict, JL_INVALID);
    assert_int_equal(r->keys[0].unexpected.n, 1);
    assert_int_equal(r->keys[0].lost.n, 1);
    assert_int_equal(r->keys[0].stale.n, 1); /* the final read misses a too */
    jl_result_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_valid),
        cmocka_unit_test(test_concurrent_overlapping_valid),
        cmocka_unit_test(test_cas_chain_valid),
        cmocka_unit_test(test_info_write_effect_either_way),
        cmocka_unit_test(test_info_process_reused),
        cmocka_unit_test(test_failed_ops_dropped),
        cmocka_unit_test(test_stale_read_invalid),
        cmocka_unit_test(test_lost_write_invalid),
        cmocka_unit_test(test_read_never_written_invalid),
        cmocka_unit_test(test_cas_twice_invalid),
        cmocka_unit_test(test_non_monotonic_reads_invalid),
        cmocka_unit_test(test_info_not_enough_invalid),
        cmocka_unit_test(test_failing_window),
        cmocka_unit_test(test_split_equals_whole_multikey),
        cmocka_unit_test(test_random_agree_with_reference),
        cmocka_unit_test(test_time_budget_unknown),
        cmocka_unit_test(test_set_valid),
        cmocka_unit_test(test_set_lost_add),
        cmocka_unit_test(test_set_unexpected),
        cmocka_unit_test(test_set_info_either_way),
        cmocka_unit_test(test_set_no_final_read),
        cmocka_unit_test(test_set_full_valid),
        cmocka_unit_test(test_set_full_stale_read_invalid),
        cmocka_unit_test(test_set_full_read_lost_seen_element),
        cmocka_unit_test(test_set_full_lost_and_unexpected),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_empty_history_valid),
        cmocka_unit_test(test_number_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
