/* One JSON reader and one JSON string writer (see common.h).
 *
 * The reader is a recursive descent over text[0..len) with a cursor that is
 * never moved past len; every malformed input gets a sentence and the
 * offset of the first byte that made it wrong. Nodes and decoded strings
 * come from a bump allocator that is emptied at the start of each parse,
 * so a reader that parses a big history line by line allocates a few
 * chunks once instead of millions of small blocks. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- arena */

struct tc_json_chunk {
    tc_json_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_CHUNK 8192
#define MAX_DEPTH_CAP 1024   /* whatever max_depth says: bounds the recursion */
#define LINEAR_DUP_CHECK 32  /* members checked for duplicates one by one; past that, sorted */

static void *arena_alloc(tc_json_reader *r, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    tc_json_chunk *c = r->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = r->chunks;
        r->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

/* Keeps the newest chunk (the size needed last is likely needed again) and
 * frees the rest. */
static void arena_reset(tc_json_reader *r)
{
    tc_json_chunk *c = r->chunks;
    if (c == NULL) return;
    tc_json_chunk *rest = c->next;
    while (rest) {
        tc_json_chunk *n = rest->next;
        free(rest);
        rest = n;
    }
    c->next = NULL;
    c->used = 0;
}

void tc_json_reader_init(tc_json_reader *r, unsigned flags)
{
    memset(r, 0, sizeof *r);
    r->flags = flags;
    r->max_depth = TC_JSON_MAX_DEPTH;
}

void tc_json_reader_free(tc_json_reader *r)
{
    while (r->chunks) {
        tc_json_chunk *n = r->chunks->next;
        free(r->chunks);
        r->chunks = n;
    }
}

/* ------------------------------------------------------------ parser */

typedef struct parser {
    tc_json_reader *r;
    const char *p;
    size_t len, pos;
    int max_depth;
} parser;

static int fail_at(parser *ps, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(parser *ps, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->r->err, sizeof ps->r->err, fmt, ap);
    va_end(ap);
    ps->r->err_pos = pos;
    return -EINVAL;
}

static int oom(parser *ps)
{
    snprintf(ps->r->err, sizeof ps->r->err, "out of memory");
    ps->r->err_pos = ps->pos;
    return -ENOMEM;
}

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ps->pos++;
    }
}

/* Describes the byte at pos for a message. */
static const char *what_at(const parser *ps, char *buf, size_t cap)
{
    unsigned char c = (unsigned char)ps->p[ps->pos];
    if (c >= 0x21 && c < 0x7f) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

/* "expected X, found Y" at the cursor, or "ends early, expected X". */
static int expected(parser *ps, const char *what)
{
    char buf[16];
    if (ps->pos >= ps->len) return fail_at(ps, ps->pos, "ends early, expected %s", what);
    return fail_at(ps, ps->pos, "expected %s, found %s", what, what_at(ps, buf, sizeof buf));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 4 hex digits at pos (inside a string that ends at end). */
static int read_u4(parser *ps, size_t esc, size_t pos, size_t end, unsigned *out)
{
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = pos + k < end ? hexval(ps->p[pos + k]) : -1;
        if (h < 0) return fail_at(ps, esc, "bad \\u escape: \\u needs 4 hex digits");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 if it is
 * not one (overlong forms, surrogates and code points past U+10FFFF are
 * not well-formed). */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* One \uXXXX escape (a pair for a surrogate) starting at the backslash at
 * esc, decoded into o. Moves the cursor past it. */
static int unicode_escape(parser *ps, size_t esc, size_t end, char *o, size_t *n)
{
    unsigned cp = 0; /* set by read_u4 when it returns 0; gcc -O3 cannot see that */
    int rc = read_u4(ps, esc, esc + 2, end, &cp);
    if (rc) return rc;
    ps->pos = esc + 6;
    unsigned flags = ps->r->flags;
    if (cp >= 0xd800 && cp <= 0xdfff && (flags & TC_JSON_NO_SURROGATES))
        return fail_at(ps, esc, "surrogate \\u escape \\u%04X is not allowed here", cp);
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail_at(ps, esc, "lone low surrogate \\u%04X", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo = 0;
        if (ps->pos + 1 >= end || ps->p[ps->pos] != '\\' || ps->p[ps->pos + 1] != 'u')
            return fail_at(ps, esc, "high surrogate \\u%04X without its low half", cp);
        if ((rc = read_u4(ps, ps->pos, ps->pos + 2, end, &lo))) return rc;
        if (lo < 0xdc00 || lo > 0xdfff) return fail_at(ps, ps->pos, "\\u%04X is not a low surrogate", lo);
        ps->pos += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0 && (flags & TC_JSON_NO_NUL)) return fail_at(ps, esc, "NUL character in a string (\\u0000)");
    *n += put_utf8(o + *n, cp);
    return 0;
}

/* A string starting at the opening quote. The decoded text goes to the
 * arena; it is never longer than its source. */
static int parse_string(parser *ps, const char **out, size_t *out_len)
{
    size_t start = ps->pos++;
    size_t end = ps->pos;
    while (end < ps->len && ps->p[end] != '"') {
        if (ps->p[end] == '\\') end++;
        end++;
    }
    if (end >= ps->len) return fail_at(ps, start, "unterminated string");
    char *o = arena_alloc(ps->r, end - ps->pos + 1);
    if (o == NULL) return oom(ps);
    size_t n = 0;
    while (ps->pos < end) {
        unsigned char c = (unsigned char)ps->p[ps->pos];
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            o[n++] = (char)c;
            ps->pos++;
            continue;
        }
        if (c < 0x20)
            return fail_at(ps, ps->pos, "control character 0x%02x in a string must be escaped", c);
        if (c != '\\') {
            size_t k = utf8_len((const unsigned char *)ps->p + ps->pos, end - ps->pos);
            if (k == 0) return fail_at(ps, ps->pos, "invalid UTF-8 in a string");
            memcpy(o + n, ps->p + ps->pos, k);
            n += k;
            ps->pos += k;
            continue;
        }
        size_t esc = ps->pos;
        char e = ps->p[esc + 1]; /* esc + 1 < end: the scan above skipped it */
        ps->pos += 2;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            int rc = unicode_escape(ps, esc, end, o, &n);
            if (rc) return rc;
            break;
        }
        default:
            if ((unsigned char)e >= 0x21 && (unsigned char)e < 0x7f)
                return fail_at(ps, esc, "bad escape \\%c in a string", e);
            return fail_at(ps, esc, "bad escape in a string");
        }
    }
    ps->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *ps, tc_json *v)
{
    size_t start = ps->pos;
    const char *p = ps->p;
    size_t i = ps->pos;
    v->neg = p[i] == '-';
    if (v->neg) i++;
    if (i >= ps->len || !is_digit(p[i])) return fail_at(ps, start, "invalid number: a digit must follow '-'");
    if (p[i] == '0' && i + 1 < ps->len && is_digit(p[i + 1]))
        return fail_at(ps, start, "numbers may not have leading zeros");
    uint64_t mag = 0;
    int big = 0;
    for (; i < ps->len && is_digit(p[i]); i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (mag > (UINT64_MAX - d) / 10) big = 1;
        else mag = mag * 10 + d;
    }
    int real = 0;
    if (i < ps->len && p[i] == '.') {
        real = 1;
        i++;
        if (i >= ps->len || !is_digit(p[i])) return fail_at(ps, i, "invalid number: a digit must follow '.'");
        while (i < ps->len && is_digit(p[i])) i++;
    }
    if (i < ps->len && (p[i] == 'e' || p[i] == 'E')) {
        real = 1;
        i++;
        if (i < ps->len && (p[i] == '+' || p[i] == '-')) i++;
        if (i >= ps->len || !is_digit(p[i]))
            return fail_at(ps, i, "invalid number: a digit must follow the exponent");
        while (i < ps->len && is_digit(p[i])) i++;
    }
    ps->pos = i;
    v->i = 0;
    v->u = 0;
    if (!real && !big && (!v->neg ? mag <= (uint64_t)INT64_MAX : mag <= (uint64_t)INT64_MAX + 1)) {
        v->num = TC_JSON_INT;
        v->i = v->neg ? (int64_t)(0 - mag) : (int64_t)mag; /* two's complement: INT64_MIN included */
        if (!v->neg) v->u = mag;
        v->d = (double)v->i;
    } else if (!real && !big && !v->neg) {
        v->num = TC_JSON_UINT;
        v->u = mag;
        v->d = (double)mag;
    } else {
        v->num = real ? TC_JSON_REAL : TC_JSON_BIG;
    }
    if (ps->r->flags & TC_JSON_INTEGERS_ONLY) {
        if (v->num == TC_JSON_REAL) return fail_at(ps, start, "only integers are allowed here");
        if (v->num != TC_JSON_INT) return fail_at(ps, start, "integer out of range");
    }
    if (v->num == TC_JSON_INT || v->num == TC_JSON_UINT) return 0;
    /* strtod wants a NUL-terminated copy; the input may not be one */
    size_t n = i - start;
    char small[64];
    char *copy = n < sizeof small ? small : arena_alloc(ps->r, n + 1);
    if (copy == NULL) return oom(ps);
    memcpy(copy, p + start, n);
    copy[n] = '\0';
    v->d = strtod(copy, NULL);
    if (!isfinite(v->d)) return fail_at(ps, start, "number out of range");
    return 0;
}

static int parse_value(parser *ps, tc_json **out, int depth);

static int cmp_member(const void *a, const void *b)
{
    const tc_json *x = *(const tc_json *const *)a, *y = *(const tc_json *const *)b;
    if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
    int c = memcmp(x->name, y->name, x->name_len);
    if (c) return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int duplicate(parser *ps, size_t pos, const char *name)
{
    return fail_at(ps, pos, "member \"%s\" appears twice (a duplicate name)", name);
}

/* Past LINEAR_DUP_CHECK members, duplicates are found once the object is
 * read, by sorting the names (no quadratic work on hostile input); the one
 * reported is the first repeat in input order, at its value. */
static int check_duplicates_sorted(parser *ps, const tc_json *obj)
{
    const tc_json **v = malloc(obj->n * sizeof *v);
    if (v == NULL) return oom(ps);
    size_t k = 0;
    for (const tc_json *m = obj->first; m; m = m->next) v[k++] = m;
    qsort(v, k, sizeof *v, cmp_member);
    const tc_json *first_repeat = NULL;
    for (size_t i = 1; i < k; i++) {
        if (v[i]->name_len == v[i - 1]->name_len && memcmp(v[i]->name, v[i - 1]->name, v[i]->name_len) == 0 &&
            (first_repeat == NULL || v[i]->pos < first_repeat->pos))
            first_repeat = v[i];
    }
    free(v);
    return first_repeat ? duplicate(ps, first_repeat->pos, first_repeat->name) : 0;
}

static int parse_container(parser *ps, tc_json *v, int depth)
{
    int obj = v->type == TC_JSON_OBJECT;
    char close = obj ? '}' : ']';
    const tc_json **tail = &v->first;
    int unique = obj && (ps->r->flags & TC_JSON_UNIQUE_KEYS);
    if (depth >= ps->max_depth) return fail_at(ps, ps->pos, "nested deeper than %d levels", ps->max_depth);
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->p[ps->pos] == close) {
        ps->pos++;
        return 0;
    }
    for (;;) {
        const char *name = NULL;
        size_t name_len = 0, name_pos = ps->pos;
        if (obj) {
            if (ps->pos >= ps->len || ps->p[ps->pos] != '"') return expected(ps, "a member name in quotes");
            int rc = parse_string(ps, &name, &name_len);
            if (rc) return rc;
            skip_ws(ps);
            if (ps->pos >= ps->len || ps->p[ps->pos] != ':') return expected(ps, "':' after a member name");
            ps->pos++;
            skip_ws(ps);
        }
        tc_json *item;
        int rc = parse_value(ps, &item, depth + 1);
        if (rc) return rc;
        if (obj) {
            item->name = name;
            item->name_len = name_len;
            if (unique && v->n < LINEAR_DUP_CHECK) {
                for (const tc_json *m = v->first; m; m = m->next) {
                    if (m->name_len == name_len && memcmp(m->name, name, name_len) == 0)
                        return duplicate(ps, name_pos, name);
                }
            }
        }
        *tail = item;
        tail = &item->next;
        v->n++;
        skip_ws(ps);
        if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
            ps->pos++;
            skip_ws(ps);
            continue;
        }
        if (ps->pos < ps->len && ps->p[ps->pos] == close) {
            ps->pos++;
            break;
        }
        return expected(ps, obj ? "',' or '}'" : "',' or ']'");
    }
    if (unique && v->n > LINEAR_DUP_CHECK) return check_duplicates_sorted(ps, v);
    return 0;
}

/* true, false, null: the word, not followed by a letter or digit. */
static int parse_word(parser *ps, const char *word, size_t n)
{
    if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0) return -1;
    size_t after = ps->pos + n;
    if (after < ps->len) {
        char c = ps->p[after];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return -1;
    }
    ps->pos = after;
    return 0;
}

static int parse_value(parser *ps, tc_json **out, int depth)
{
    if (ps->pos >= ps->len) return expected(ps, "a value");
    tc_json *v = arena_alloc(ps->r, sizeof *v);
    if (v == NULL) return oom(ps);
    memset(v, 0, sizeof *v);
    v->pos = ps->pos;
    *out = v;
    char c = ps->p[ps->pos];
    switch (c) {
    case '{':
        v->type = TC_JSON_OBJECT;
        return parse_container(ps, v, depth);
    case '[':
        v->type = TC_JSON_ARRAY;
        return parse_container(ps, v, depth);
    case '"':
        v->type = TC_JSON_STRING;
        return parse_string(ps, &v->s, &v->len);
    case 'n':
        v->type = TC_JSON_NULL;
        if (parse_word(ps, "null", 4) == 0) return 0;
        break;
    case 't':
    case 'f':
        v->type = TC_JSON_BOOL;
        v->b = c == 't';
        if (parse_word(ps, v->b ? "true" : "false", v->b ? 4 : 5) == 0) return 0;
        break;
    default:
        if (c == '-' || is_digit(c)) {
            v->type = TC_JSON_NUMBER;
            return parse_number(ps, v);
        }
        break;
    }
    return expected(ps, "a value");
}

int tc_json_parse(tc_json_reader *r, const char *text, size_t len, const tc_json **root)
{
    int depth = r->max_depth > 0 ? r->max_depth : TC_JSON_MAX_DEPTH;
    parser ps = {.r = r, .p = text, .len = len, .max_depth = depth > MAX_DEPTH_CAP ? MAX_DEPTH_CAP : depth};
    arena_reset(r);
    r->err[0] = '\0';
    r->err_pos = 0;
    *root = NULL;
    skip_ws(&ps);
    tc_json *v;
    int rc = parse_value(&ps, &v, 0);
    if (rc) return rc;
    skip_ws(&ps);
    if (ps.pos < len) {
        char buf[16];
        return fail_at(&ps, ps.pos, "unexpected bytes after the value, starting with %s",
                       what_at(&ps, buf, sizeof buf));
    }
    *root = v;
    return 0;
}

/* ------------------------------------------------------------ access */

const tc_json *tc_json_get(const tc_json *obj, const char *name)
{
    if (obj == NULL || obj->type != TC_JSON_OBJECT) return NULL;
    size_t n = strlen(name);
    for (const tc_json *m = obj->first; m; m = m->next)
        if (m->name_len == n && memcmp(m->name, name, n) == 0) return m;
    return NULL;
}

const char *tc_json_type_name(tc_json_type type)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "an unknown type";
}

int tc_json_int(const tc_json *v, int64_t *out)
{
    if (v == NULL || v->type != TC_JSON_NUMBER || v->num == TC_JSON_REAL) return -EINVAL;
    if (v->num != TC_JSON_INT) return -ERANGE;
    *out = v->i;
    return 0;
}

int tc_json_uint(const tc_json *v, uint64_t max, uint64_t *out)
{
    if (v == NULL || v->type != TC_JSON_NUMBER || v->num == TC_JSON_REAL) return -EINVAL;
    if (v->neg || v->num == TC_JSON_BIG || v->u > max) return -ERANGE;
    *out = v->u;
    return 0;
}

/* ------------------------------------------------------------ writer */

/* Where escaped text goes: a FILE, or a buffer (counting what does not fit). */
typedef struct sink {
    FILE *f;
    char *out;
    size_t cap, n;
} sink;

static void put(sink *k, const char *s, size_t len)
{
    if (k->f) {
        fwrite(s, 1, len, k->f);
    } else if (k->n < k->cap && len < k->cap - k->n) {
        memcpy(k->out + k->n, s, len);
    } else if (k->n < k->cap) {
        k->cap = k->n; /* no room: nothing more is written, an escape is never cut */
    }
    k->n += len;
}

static void quote(sink *k, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    put(k, "\"", 1);
    size_t run = 0; /* bytes s[run..i) are written as they are */
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        size_t k8 = 1;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80 && (k8 = utf8_len(u + i, len - i)) > 0) {
            i += k8;
            continue;
        }
        put(k, s + run, i - run);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default: /* other control bytes, DEL, and bytes that are not UTF-8 */
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(k, esc, n);
        i++;
        run = i;
    }
    put(k, s + run, len - run);
    put(k, "\"", 1);
}

void tc_json_write_str(FILE *f, const char *s, size_t len)
{
    sink k = {.f = f};
    quote(&k, s, len);
}

size_t tc_json_quote(char *out, size_t cap, const char *s, size_t len)
{
    sink k = {.out = out, .cap = cap};
    quote(&k, s, len);
    if (cap > 0) out[k.n < k.cap ? k.n : k.cap] = '\0';
    return k.n;
}
