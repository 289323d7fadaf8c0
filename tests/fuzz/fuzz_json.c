/* libFuzzer target for common/json.c.
 *
 * The first byte picks the reader's flags (and a small depth limit now and
 * then); the rest is the document, passed as is (not NUL-terminated), so
 * ASan sees any read past it. An accepted document is written out again
 * (strings with tc_json_quote, numbers with %lld / %llu / %.17g) and must
 * read back as the same tree. The input is also quoted as one string,
 * which must always read back: exactly when it was valid UTF-8. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->p = realloc(o->p, o->cap);
        CHECK(o->p != NULL);
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_str(out *o, const char *s, size_t n)
{
    size_t need = tc_json_quote(NULL, 0, s, n);
    char *q = malloc(need + 1);
    CHECK(tc_json_quote(q, need + 1, s, n) == need);
    put(o, q, need);
    free(q);
}

static void write_value(out *o, const tc_json *v)
{
    char num[64];
    switch (v->type) {
    case TC_JSON_NULL: put(o, "null", 4); break;
    case TC_JSON_BOOL: put(o, v->b ? "true" : "false", v->b ? 4 : 5); break;
    case TC_JSON_STRING: put_str(o, v->s, v->len); break;
    case TC_JSON_NUMBER:
        if (v->num == TC_JSON_INT) snprintf(num, sizeof num, "%" PRId64, v->i);
        else if (v->num == TC_JSON_UINT) snprintf(num, sizeof num, "%" PRIu64, v->u);
        else snprintf(num, sizeof num, "%.17g", v->d);
        put(o, num, strlen(num));
        break;
    default: {
        int obj = v->type == TC_JSON_OBJECT;
        put(o, obj ? "{" : "[", 1);
        size_t n = 0;
        for (const tc_json *m = v->first; m; m = m->next, n++) {
            if (n) put(o, ",", 1);
            if (obj) {
                CHECK(m->name != NULL && m->name[m->name_len] == '\0');
                put_str(o, m->name, m->name_len);
                put(o, ":", 1);
            }
            write_value(o, m);
        }
        CHECK(n == v->n);
        put(o, obj ? "}" : "]", 1);
    }
    }
}

static void same(const tc_json *a, const tc_json *b)
{
    CHECK(a->type == b->type);
    switch (a->type) {
    case TC_JSON_BOOL: CHECK(a->b == b->b); break;
    case TC_JSON_STRING:
        CHECK(a->len == b->len && memcmp(a->s, b->s, a->len) == 0 && b->s[b->len] == '\0');
        break;
    case TC_JSON_NUMBER:
        if (a->num == TC_JSON_INT || a->num == TC_JSON_UINT) CHECK(b->num == a->num && a->i == b->i && a->u == b->u);
        CHECK(a->d == b->d);
        break;
    case TC_JSON_ARRAY:
    case TC_JSON_OBJECT: {
        CHECK(a->n == b->n);
        const tc_json *x = a->first, *y = b->first;
        for (; x && y; x = x->next, y = y->next) {
            if (a->type == TC_JSON_OBJECT)
                CHECK(x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0);
            same(x, y);
        }
        CHECK(x == NULL && y == NULL);
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1) return 0;
    unsigned flags = data[0] & 0x0f;
    tc_json_reader r, again;
    tc_json_reader_init(&r, flags);
    tc_json_reader_init(&again, flags);
    if (data[0] & 0x10) r.max_depth = again.max_depth = 1 + (data[0] >> 5);
    const char *text = (const char *)data + 1;
    size_t n = len - 1;
    const tc_json *root;
    int rc = tc_json_parse(&r, text, n, &root);
    CHECK(rc == 0 || rc == -EINVAL);
    if (rc) {
        CHECK(root == NULL && r.err[0] != '\0' && r.err_pos <= n);
    } else {
        out o = {0};
        write_value(&o, root);
        const tc_json *back;
        rc = tc_json_parse(&again, o.p, o.len, &back);
        if (rc) fprintf(stderr, "rewritten document refused: %s at %zu\n%s\n", again.err, again.err_pos, o.p);
        CHECK(rc == 0);
        same(root, back);
        free(o.p);
    }

    /* any bytes, quoted, are one valid JSON string */
    out q = {0};
    put_str(&q, text, n);
    tc_json_reader_free(&again);
    tc_json_reader_init(&again, 0);
    rc = tc_json_parse(&again, q.p, q.len, &root);
    CHECK(rc == 0 && root->type == TC_JSON_STRING);
    free(q.p);
    tc_json_reader_free(&r);
    tc_json_reader_free(&again);
    return 0;
}
