/* Reading a history: one JSON event per line, invokes paired with their
 * completions by process, values interned to small integer ids so the
 * checkers compare integers instead of strings. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ------------------------------------------------------------ helpers */

int64_t jl__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int jl__ids_push(jl_ids *ids, uint32_t v) {
    /* capacity is the next power of two >= n, so no field is needed for it */
    if ((ids->n & (ids->n - 1)) == 0) {
        size_t cap = ids->n ? ids->n * 2 : 4;
        uint32_t *nv = realloc(ids->v, cap * sizeof(*nv));
        if (nv == NULL)
            return JL_ENOMEM;
        ids->v = nv;
    }
    ids->v[ids->n++] = v;
    return 0;
}

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* ------------------------------------------------------------ interning */

/* Strings -> dense ids, open addressing on slots holding id + 1. */
typedef struct intern {
    jl_str *strs;
    size_t n, cap;
    uint32_t *slots;
    size_t mask;
} intern;

typedef struct u64map { /* uint64 -> uint32, for processes and (key, element) */
    uint64_t *k;
    uint32_t *v; /* 0 = empty slot; stored values are value + 1 */
    size_t n, mask;
} u64map;

struct jl__store {
    intern keys, values;
    char **blocks; /* copies of key and value bytes */
    size_t n_blocks, cap_blocks;
};

static int intern_grow(intern *t) {
    size_t ncap = t->mask ? (t->mask + 1) * 2 : 64;
    uint32_t *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return JL_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t p = hash_bytes(t->strs[i].s, t->strs[i].len) & (ncap - 1);
        while (ns[p])
            p = (p + 1) & (ncap - 1);
        ns[p] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = ncap - 1;
    return 0;
}

static int store_copy(struct jl__store *st, const char *s, size_t len, const char **out) {
    if (st->n_blocks == st->cap_blocks) {
        size_t cap = st->cap_blocks ? st->cap_blocks * 2 : 64;
        char **nb = realloc(st->blocks, cap * sizeof(*nb));
        if (nb == NULL)
            return JL_ENOMEM;
        st->blocks = nb;
        st->cap_blocks = cap;
    }
    char *c = malloc(len + 1);
    if (c == NULL)
        return JL_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    st->blocks[st->n_blocks++] = c;
    *out = c;
    return 0;
}

/* s == NULL interns null (only ever as the first entry). */
static int intern_get(struct jl__store *st, intern *t, const char *s, size_t len, bool num,
                      uint32_t *id) {
    if ((t->n + 1) * 2 > t->mask + 1) {
        int rc = intern_grow(t);
        if (rc)
            return rc;
    }
    size_t p = hash_bytes(s ? s : "", len) & t->mask;
    while (t->slots[p]) {
        const jl_str *e = &t->strs[t->slots[p] - 1];
        if (e->len == len && e->num == num && (s ? e->s && memcmp(e->s, s, len) == 0 : e->s == NULL)) {
            *id = t->slots[p] - 1;
            return 0;
        }
        p = (p + 1) & t->mask;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        jl_str *ns = realloc(t->strs, cap * sizeof(*ns));
        if (ns == NULL)
            return JL_ENOMEM;
        t->strs = ns;
        t->cap = cap;
    }
    const char *copy = NULL;
    if (s) {
        int rc = store_copy(st, s, len, &copy);
        if (rc)
            return rc;
    }
    t->strs[t->n] = (jl_str){copy, len, num};
    t->slots[p] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    return 0;
}

static int u64map_find(const u64map *m, uint64_t k, uint32_t *v) {
    if (m->mask == 0)
        return 0;
    size_t p = mix64(k) & m->mask;
    while (m->v[p]) {
        if (m->k[p] == k) {
            *v = m->v[p] - 1;
            return 1;
        }
        p = (p + 1) & m->mask;
    }
    return 0;
}

static int u64map_put(u64map *m, uint64_t k, uint32_t v) {
    if ((m->n + 1) * 2 > m->mask + 1) {
        size_t ncap = m->mask ? (m->mask + 1) * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof(*nk));
        uint32_t *nv = calloc(ncap, sizeof(*nv));
        if (nk == NULL || nv == NULL) {
            free(nk);
            free(nv);
            return JL_ENOMEM;
        }
        for (size_t i = 0; m->mask && i <= m->mask; i++) {
            if (!m->v[i])
                continue;
            size_t p = mix64(m->k[i]) & (ncap - 1);
            while (nv[p])
                p = (p + 1) & (ncap - 1);
            nk[p] = m->k[i];
            nv[p] = m->v[i];
        }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->mask = ncap - 1;
    }
    size_t p = mix64(k) & m->mask;
    while (m->v[p] && m->k[p] != k)
        p = (p + 1) & m->mask;
    if (!m->v[p])
        m->n++;
    m->k[p] = k;
    m->v[p] = v + 1;
    return 0;
}

/* Removal by backward-shift, so probe chains stay intact without tombstones. */
static void u64map_del(u64map *m, uint64_t k) {
    if (m->mask == 0)
        return;
    size_t p = mix64(k) & m->mask;
    while (m->v[p] && m->k[p] != k)
        p = (p + 1) & m->mask;
    if (!m->v[p])
        return;
    m->v[p] = 0;
    m->n--;
    size_t q = p;
    for (;;) {
        q = (q + 1) & m->mask;
        if (!m->v[q])
            return;
        size_t home = mix64(m->k[q]) & m->mask;
        /* move q into the hole p unless its home lies cyclically in (p, q] */
        if (((q - home) & m->mask) >= ((q - p) & m->mask)) {
            m->k[p] = m->k[q];
            m->v[p] = m->v[q];
            m->v[q] = 0;
            p = q;
        }
    }
}

static void u64map_free(u64map *m) {
    free(m->k);
    free(m->v);
}

/* ------------------------------------------------------------ names */

static const char *const fn_names[] = {"read", "write", "cas", "add"};
static const char *const type_names[] = {"invoke", "ok", "fail", "info"};

const char *jl_fn_name(jl_fn f) {
    return (unsigned)f < 4 ? fn_names[f] : "?";
}

const char *jl_type_name(jl_type t) {
    return (unsigned)t < 4 ? type_names[t] : "?";
}

/* ------------------------------------------------------------ parsing */

typedef struct loader {
    jl_history *h;
    const char *name;
    jl_error *err;
    size_t line;
    size_t ops_cap, lists_cap;
    u64map pending;  /* process -> op waiting for its completion */
    u64map added;    /* (key, element) -> op that adds it (set model) */
    tc_json_reader json;
    int64_t last_time;
} loader;

static int bad(loader *ld, const tc_json *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: message", or "FILE:LINE:COL: message" when at is known. */
static int bad(loader *ld, const tc_json *at, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at)
        snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%zu:%zu: %s", ld->name, ld->line, at->pos + 1,
                 msg);
    else
        snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%zu: %s", ld->name, ld->line, msg);
    return JL_EINPUT;
}

static int nomem(loader *ld) {
    snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%zu: out of memory", ld->name, ld->line);
    return JL_ENOMEM;
}

static int lookup_name(const tc_json *v, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == v->len && memcmp(v->s, names[i], v->len) == 0)
            return i;
    return -1;
}

static const char *jtype_name(tc_json_type t) {
    return t == TC_JSON_NUMBER ? "a number" : tc_json_type_name(t);
}

/* Numbers outside "value" are integers within int64, as the reader's
 * TC_JSON_INTEGERS_ONLY would have them (with its words); values may hold
 * fractions too (histories from Jepsen, Knossos and Porcupine carry
 * numbers), but no integer beyond 64 bits, which could not be compared
 * exactly. */
static int check_numbers(loader *ld, const tc_json *v, bool in_value) {
    if (v->type == TC_JSON_NUMBER) {
        if (v->num == TC_JSON_REAL && !in_value)
            return bad(ld, v, "only integers are allowed here (fractions only in \"value\")");
        if (v->num == TC_JSON_BIG || (v->num == TC_JSON_UINT && !in_value))
            return bad(ld, v, "integer out of range");
        return 0;
    }
    if (v->type != TC_JSON_ARRAY && v->type != TC_JSON_OBJECT)
        return 0;
    for (const tc_json *e = v->first; e; e = e->next) {
        bool value = in_value || (v->type == TC_JSON_OBJECT && e->name_len == 5 &&
                                  memcmp(e->name, "value", 5) == 0);
        int rc = check_numbers(ld, e, value);
        if (rc)
            return rc;
    }
    return 0;
}

/* The canonical text of a number value (see jl_str.num), its length. */
static size_t number_text(const tc_json *v, char *out, size_t cap) {
    if (v->num == TC_JSON_INT)
        return (size_t)snprintf(out, cap, "%lld", (long long)v->i); /* -0 is 0 */
    if (v->num == TC_JSON_UINT)
        return (size_t)snprintf(out, cap, "%llu", (unsigned long long)v->u);
    double d = v->d == 0 ? 0.0 : v->d; /* -0.0 equals 0.0 */
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".eE") && (size_t)n + 2 < cap) {
        memcpy(out + n, ".0", 3); /* a fraction, never equal to an integer */
        n += 2;
    }
    return (size_t)n;
}

static int intern_value(loader *ld, const tc_json *v, uint32_t *id) {
    int rc;
    if (v->type == TC_JSON_NUMBER) {
        char text[40];
        size_t len = number_text(v, text, sizeof(text));
        rc = intern_get(ld->h->store, &ld->h->store->values, text, len, true, id);
    } else {
        rc = intern_get(ld->h->store, &ld->h->store->values, v->s, v->len, false, id);
    }
    return rc ? nomem(ld) : 0;
}

/* A value: a string or a number, or null where allow_null. */
static int reg_value(loader *ld, const tc_json *v, bool allow_null, const char *what,
                     uint32_t *id) {
    if (allow_null && v->type == TC_JSON_NULL) {
        *id = JL_NIL;
        return 0;
    }
    if (v->type != TC_JSON_STRING && v->type != TC_JSON_NUMBER)
        return bad(ld, v, "%s must be a string or a number%s, not %s", what,
                   allow_null ? " or null" : "", jtype_name(v->type));
    return intern_value(ld, v, id);
}

/* The value an invoke carries, into op. */
static int invoke_value(loader *ld, const tc_json *v, jl_op *op) {
    switch (op->f) {
    case JL_READ:
        if (v->type != TC_JSON_NULL)
            return bad(ld, v, "an invoked read carries value null, not %s", jtype_name(v->type));
        return 0;
    case JL_WRITE:
        return reg_value(ld, v, false, "the value of a write", &op->a);
    case JL_ADD:
        return reg_value(ld, v, false, "the element of an add", &op->a);
    case JL_CAS:
        if (v->type != TC_JSON_ARRAY || v->n != 2)
            return bad(ld, v, "the value of a cas must be [expected, new]");
        int rc = reg_value(ld, v->first, true, "the expected value of a cas", &op->a);
        if (rc == 0)
            rc = reg_value(ld, v->first->next, false, "the new value of a cas", &op->b);
        return rc;
    }
    return 0;
}

/* An ok completion's value: the result of a read; for the others either
 * null or the invoke's value repeated. */
static int ok_value(loader *ld, const tc_json *v, jl_op *op) {
    jl_history *h = ld->h;
    if (op->f == JL_READ && h->model == JL_MODEL_REGISTER)
        return reg_value(ld, v, true, "the value of a read", &op->a);
    if (op->f == JL_READ) {
        if (v->type != TC_JSON_ARRAY)
            return bad(ld, v, "a set read returns an array of elements, not %s",
                       jtype_name(v->type));
        op->list_off = (uint32_t)h->n_lists;
        for (const tc_json *e = v->first; e; e = e->next) {
            uint32_t id;
            int rc = reg_value(ld, e, false, "an element of a set", &id);
            if (rc)
                return rc;
            if (h->n_lists == ld->lists_cap) {
                size_t cap = ld->lists_cap ? ld->lists_cap * 2 : 1024;
                uint32_t *nl = realloc(h->lists, cap * sizeof(*nl));
                if (nl == NULL)
                    return nomem(ld);
                h->lists = nl;
                ld->lists_cap = cap;
            }
            h->lists[h->n_lists++] = id;
        }
        op->list_len = (uint32_t)(h->n_lists - op->list_off);
        return 0;
    }
    if (v->type == TC_JSON_NULL)
        return 0;
    jl_op echo = *op;
    int rc = invoke_value(ld, v, &echo);
    if (rc)
        return rc;
    if (echo.a != op->a || echo.b != op->b)
        return bad(ld, v, "the completion of a %s must repeat its invoke's value or be null",
                   jl_fn_name(op->f));
    return 0;
}

static const tc_json *field(loader *ld, const tc_json *root, const char *name,
                              tc_json_type type, int *rc) {
    const tc_json *v = tc_json_get(root, name);
    if (v == NULL) {
        *rc = bad(ld, NULL, "missing \"%s\"", name);
        return NULL;
    }
    if (v->type != type) {
        *rc = bad(ld, v, "\"%s\" must be %s, not %s", name,
                  type == TC_JSON_NUMBER ? "an integer" : jtype_name(type), jtype_name(v->type));
        return NULL;
    }
    return v;
}

static int event(loader *ld, const tc_json *root) {
    jl_history *h = ld->h;
    int rc = 0;
    if ((rc = check_numbers(ld, root, false)) != 0)
        return rc;
    if (root->type != TC_JSON_OBJECT)
        return bad(ld, root, "an event is a JSON object, not %s", jtype_name(root->type));
    const tc_json *jp = field(ld, root, "process", TC_JSON_NUMBER, &rc);
    const tc_json *jt = jp ? field(ld, root, "type", TC_JSON_STRING, &rc) : NULL;
    const tc_json *jf = jt ? field(ld, root, "f", TC_JSON_STRING, &rc) : NULL;
    const tc_json *jk = jf ? field(ld, root, "key", TC_JSON_STRING, &rc) : NULL;
    const tc_json *jtime = jk ? field(ld, root, "time", TC_JSON_NUMBER, &rc) : NULL;
    if (jtime == NULL)
        return rc;
    const tc_json *jv = tc_json_get(root, "value");
    static const tc_json null_node = {.type = TC_JSON_NULL};
    if (jv == NULL)
        jv = &null_node;

    if (jp->i < 0)
        return bad(ld, jp, "\"process\" must not be negative");
    if (jtime->i < 0)
        return bad(ld, jtime, "\"time\" must not be negative");
    if (jtime->i < ld->last_time)
        return bad(ld, jtime, "time goes backwards: %lld after %lld", (long long)jtime->i,
                   (long long)ld->last_time);
    ld->last_time = jtime->i;
    int type = lookup_name(jt, type_names, 4);
    if (type < 0)
        return bad(ld, jt, "\"type\" must be invoke, ok, fail or info");
    int f = lookup_name(jf, fn_names, 4);
    if (f < 0)
        return bad(ld, jf, "\"f\" must be read, write, cas or add");
    if (h->model == JL_MODEL_REGISTER && f == JL_ADD)
        return bad(ld, jf, "the register model has no add (did you mean --model set?)");
    if (h->model == JL_MODEL_SET && (f == JL_WRITE || f == JL_CAS))
        return bad(ld, jf, "the set model has only add and read, not %s", fn_names[f]);
    uint32_t key;
    if (intern_get(h->store, &h->store->keys, jk->s, jk->len, false, &key))
        return nomem(ld);
    uint64_t seq = h->n_events;
    if (h->n_events == 0)
        h->t0 = jtime->i;
    h->n_events++;

    uint64_t proc = (uint64_t)jp->i;
    uint32_t pending;
    bool has_pending = u64map_find(&ld->pending, proc, &pending);
    if (type == JL_INVOKE) {
        if (has_pending)
            return bad(ld, jp, "process %lld invokes again while its %s from line %u is pending",
                       (long long)jp->i, fn_names[h->ops[pending].f], h->ops[pending].line_call);
        if (h->n_ops == ld->ops_cap) {
            size_t cap = ld->ops_cap ? ld->ops_cap * 2 : 1024;
            jl_op *no = realloc(h->ops, cap * sizeof(*no));
            if (no == NULL)
                return nomem(ld);
            h->ops = no;
            ld->ops_cap = cap;
        }
        if (h->n_ops >= UINT32_MAX - 1)
            return bad(ld, NULL, "too many operations");
        jl_op *op = &h->ops[h->n_ops];
        *op = (jl_op){.process = jp->i, .key = key, .f = (jl_fn)f, .outcome = JL_INFO,
                      .call = seq, .ret = JL_NO_RET, .t_call = jtime->i, .t_ret = JL_NO_TIME,
                      .line_call = (uint32_t)ld->line};
        rc = invoke_value(ld, jv, op);
        if (rc)
            return rc;
        if (op->f == JL_ADD) {
            uint64_t ke = (uint64_t)key << 32 | op->a;
            uint32_t prev;
            if (u64map_find(&ld->added, ke, &prev))
                return bad(ld, jv, "element already added on line %u: each is added at most once",
                           h->ops[prev].line_call);
            if (u64map_put(&ld->added, ke, (uint32_t)h->n_ops))
                return nomem(ld);
        }
        if (u64map_put(&ld->pending, proc, (uint32_t)h->n_ops))
            return nomem(ld);
        h->n_ops++;
        return 0;
    }
    if (!has_pending)
        return bad(ld, jt, "%s for process %lld, which has no pending invoke", type_names[type],
                   (long long)jp->i);
    jl_op *op = &h->ops[pending];
    if ((int)op->f != f)
        return bad(ld, jf, "completion of a %s (line %u) says f %s", fn_names[op->f],
                   op->line_call, fn_names[f]);
    if (op->key != key)
        return bad(ld, jk, "completion is for another key than its invoke on line %u",
                   op->line_call);
    u64map_del(&ld->pending, proc);
    op->outcome = (jl_type)type;
    op->line_ret = (uint32_t)ld->line;
    if (type == JL_INFO)
        return 0; /* may take effect at any time from its invoke on: no completion */
    op->ret = seq;
    op->t_ret = jtime->i;
    if (type == JL_OK)
        return ok_value(ld, jv, op);
    return 0;
}

void jl_history_free(jl_history *h) {
    if (h == NULL)
        return;
    struct jl__store *st = h->store;
    if (st) {
        for (size_t i = 0; i < st->n_blocks; i++)
            free(st->blocks[i]);
        free(st->blocks);
        free(st->keys.strs);
        free(st->keys.slots);
        free(st->values.strs);
        free(st->values.slots);
        free(st);
    }
    free(h->ops);
    free(h->lists);
    free(h);
}

int jl_history_parse(jl_history **out, jl_model model, const char *name, const char *text,
                     size_t len, jl_error *err) {
    *out = NULL;
    jl_history *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->store = calloc(1, sizeof(*h->store))) == NULL) {
        free(h);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return JL_ENOMEM;
    }
    h->model = model;
    loader ld = {.h = h, .name = name, .err = err};
    /* no member named twice; integers only outside values (check_numbers) */
    tc_json_reader_init(&ld.json, TC_JSON_UNIQUE_KEYS);
    uint32_t nil;
    int rc = intern_get(h->store, &h->store->values, NULL, 0, false, &nil);
    if (rc)
        rc = nomem(&ld);
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        ld.line++;
        const char *line = text + pos;
        size_t n = end - pos;
        pos = nl ? end + 1 : len;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == n)
            continue; /* blank line */
        const tc_json *root;
        rc = tc_json_parse(&ld.json, line, n, &root);
        if (rc == -EINVAL) {
            snprintf(err->msg, sizeof(err->msg), "%s:%zu:%zu: %s", name, ld.line,
                     ld.json.err_pos + 1, ld.json.err);
            rc = JL_EINPUT;
        } else if (rc)
            rc = nomem(&ld);
        else
            rc = event(&ld, root);
    }
    tc_json_reader_free(&ld.json);
    u64map_free(&ld.pending);
    u64map_free(&ld.added);
    if (rc) {
        jl_history_free(h);
        return rc;
    }
    /* ops that never completed stay JL_INFO: they may have happened */
    h->keys = h->store->keys.strs;
    h->n_keys = h->store->keys.n;
    h->values = h->store->values.strs;
    h->n_values = h->store->values.n;
    h->values[JL_NIL] = (jl_str){"null", 0, false};
    *out = h;
    return 0;
}

int jl_history_load(jl_history **out, jl_model model, const char *path, jl_error *err) {
    bool std_in = strcmp(path, "-") == 0;
    const char *name = std_in ? "<stdin>" : path;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    *out = NULL;
    if (f == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
        return JL_EIO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
                rc = JL_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err->msg, sizeof(err->msg), "%s: read error: %s", name, strerror(errno));
                rc = JL_EIO;
            }
            break;
        }
    }
    if (!std_in)
        fclose(f);
    if (rc == 0)
        rc = jl_history_parse(out, model, name, buf, len, err);
    free(buf);
    return rc;
}
