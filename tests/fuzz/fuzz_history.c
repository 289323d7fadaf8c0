/* libFuzzer target for jepsen-lite's history reader and checkers.
 *
 * Inputs starting with '{' are history text: parsed for both models and,
 * when they parse, checked and reported (with a small time limit).
 *
 * Any other input is a stream of choices that builds a small register
 * history (a few processes, keys and repeating values, every outcome,
 * ops left pending). The per-key search, the whole-history search and the
 * exhaustive reference (brute.c) must then give the same verdict. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#define TIME_LIMIT 0.5
#define BRUTE_BUDGET 2000000

static void report(const jl_history *h, const jl_result *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    jl_report_text(f, h, r);
    jl_report_json(f, h, r);
    fclose(f);
    free(buf);
}

static jl_verdict check(const jl_history *h, bool whole) {
    jl_check_opts o = {.time_limit = TIME_LIMIT, .whole = whole};
    jl_result *r;
    jl_error err;
    CHECK(jl_check(h, &o, &r, &err) == 0);
    CHECK(r->n_keys == (whole && h->model == JL_MODEL_REGISTER ? 1 : h->n_keys));
    for (size_t i = 0; i < r->n_keys; i++) {
        const jl_key_result *k = &r->keys[i];
        if (k->verdict == JL_INVALID && h->model == JL_MODEL_REGISTER) {
            CHECK(k->stuck.n > 0);
            CHECK(k->state_keys.n == k->state.n);
        }
    }
    report(h, r);
    jl_verdict v = r->verdict;
    jl_result_free(r);
    return v;
}

static void text_mode(const uint8_t *data, size_t size) {
    for (int m = 0; m < 2; m++) {
        jl_history *h;
        jl_error err;
        int rc = jl_history_parse(&h, m ? JL_MODEL_SET : JL_MODEL_REGISTER, "fuzz",
                                  (const char *)data, size, &err);
        if (rc != 0) {
            CHECK(rc == JL_EINPUT);
            CHECK(strncmp(err.msg, "fuzz:", 5) == 0);
            CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
            continue;
        }
        for (size_t i = 0; i < h->n_ops; i++) {
            const jl_op *op = &h->ops[i];
            CHECK(op->key < h->n_keys);
            CHECK(op->a < h->n_values && op->b < h->n_values);
            CHECK(op->call < h->n_events);
            CHECK(op->ret == JL_NO_RET || (op->ret > op->call && op->ret < h->n_events));
            CHECK((op->ret == JL_NO_RET) == (op->outcome == JL_INFO));
        }
        jl_verdict split = check(h, false);
        if (h->model == JL_MODEL_REGISTER && h->n_ops <= 10) {
            jl_verdict whole = check(h, true);
            int brute = jl__brute_register(h, BRUTE_BUDGET);
            if (split != JL_UNKNOWN && whole != JL_UNKNOWN)
                CHECK(split == whole);
            if (brute >= 0 && split != JL_UNKNOWN)
                CHECK((split == JL_VALID) == (brute == 1));
        }
        jl_history_free(h);
    }
}

typedef struct stream {
    const uint8_t *d;
    size_t n, pos;
} stream;

static unsigned pick(stream *s, unsigned n) {
    unsigned v = s->pos < s->n ? s->d[s->pos++] : 0;
    return v % n;
}

typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof(tmp));
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->data = realloc(t->data, t->cap);
        CHECK(t->data != NULL);
    }
    memcpy(t->data + t->len, tmp, (size_t)n + 1);
    t->len += (size_t)n;
}

static const char *const values[] = {"null", "\"a\"", "\"b\"", "\"c\""};
static const char *const fns[] = {"read", "write", "cas"};
static const char *const outcomes[] = {"ok", "fail", "info"};

static void structured_mode(const uint8_t *data, size_t size) {
    stream s = {data, size, 0};
    struct proc {
        bool busy;
        unsigned f, key, v1, v2;
        int id;
    } procs[3];
    int next_id = 3;
    for (int i = 0; i < 3; i++)
        procs[i] = (struct proc){.id = i};
    text t = {0};
    put(&t, "%s", "");
    long time = 0;
    unsigned n_ops = 0, max_ops = 2 + pick(&s, 8);
    while (s.pos < s.n) {
        struct proc *p = &procs[pick(&s, 3)];
        unsigned c = pick(&s, 16);
        if (!p->busy) {
            if (n_ops == max_ops)
                break;
            n_ops++;
            p->busy = true;
            p->f = c % 3;
            p->key = (c / 3) % 2;
            p->v1 = pick(&s, 4);
            p->v2 = 1 + pick(&s, 3);
            put(&t, "{\"process\":%d,\"type\":\"invoke\",\"f\":\"%s\",\"key\":\"k%u\",\"value\":",
                p->id, fns[p->f], p->key);
            if (p->f == 0)
                put(&t, "null");
            else if (p->f == 1)
                put(&t, "%s", values[p->v2]);
            else
                put(&t, "[%s,%s]", values[p->v1], values[p->v2]);
        } else {
            if (c == 15)
                continue; /* stays pending for now, maybe for ever */
            unsigned o = c < 10 ? 0 : c < 12 ? 1 : 2;
            put(&t, "{\"process\":%d,\"type\":\"%s\",\"f\":\"%s\",\"key\":\"k%u\",\"value\":",
                p->id, outcomes[o], fns[p->f], p->key);
            if (p->f == 0)
                put(&t, "%s", o == 0 ? values[pick(&s, 4)] : "null");
            else if (p->f == 1)
                put(&t, "%s", values[p->v2]);
            else
                put(&t, "[%s,%s]", values[p->v1], values[p->v2]);
            p->busy = false;
            if (o == 2)
                p->id = next_id++;
        }
        put(&t, ",\"time\":%ld}\n", time += 1 + (long)pick(&s, 3));
    }
    jl_history *h;
    jl_error err;
    CHECK(jl_history_parse(&h, JL_MODEL_REGISTER, "gen", t.data, t.len, &err) == 0);
    jl_verdict split = check(h, false);
    jl_verdict whole = check(h, true);
    int brute = jl__brute_register(h, BRUTE_BUDGET);
    if (split != JL_UNKNOWN && whole != JL_UNKNOWN)
        CHECK(split == whole);
    if (brute >= 0 && split != JL_UNKNOWN)
        CHECK((split == JL_VALID) == (brute == 1));
    jl_history_free(h);
    free(t.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 0 && data[0] == '{')
        text_mode(data, size);
    else
        structured_mode(data, size);
    return 0;
}
