/* A strict JSON reader for one line of a history (see internal.h for the
 * subset). Every malformed input gets a message and the column of the first
 * byte that made it wrong; nothing is guessed or repaired. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------- arena */

/* Nodes and decoded strings of one line come from a bump allocator that is
 * emptied before the next line, so parsing a big history allocates a few
 * chunks once instead of millions of small blocks. */
struct jl__arena_chunk {
    jl__arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_CHUNK 8192

static void *arena_alloc(jl__json *j, size_t size) {
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    jl__arena_chunk *c = j->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = j->chunks;
        j->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

/* Keeps the newest chunk (the largest one needed so far is likely to be
 * needed again) and frees the rest. */
static void arena_reset(jl__json *j) {
    jl__arena_chunk *c = j->chunks;
    if (c == NULL)
        return;
    jl__arena_chunk *rest = c->next;
    while (rest) {
        jl__arena_chunk *n = rest->next;
        free(rest);
        rest = n;
    }
    c->next = NULL;
    c->used = 0;
}

void jl__json_free(jl__json *j) {
    while (j->chunks) {
        jl__arena_chunk *n = j->chunks->next;
        free(j->chunks);
        j->chunks = n;
    }
}

/* ------------------------------------------------------------ parser */

typedef struct parser {
    jl__json *j;
    const char *p;
    size_t len, pos;
    int nomem;
} parser;

static int fail_at(parser *ps, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(parser *ps, size_t pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->j->err, sizeof(ps->j->err), fmt, ap);
    va_end(ap);
    ps->j->err_col = pos + 1;
    return JL_EINPUT;
}

static int oom(parser *ps) {
    ps->nomem = 1;
    snprintf(ps->j->err, sizeof(ps->j->err), "out of memory");
    ps->j->err_col = ps->pos + 1;
    return JL_ENOMEM;
}

static void skip_ws(parser *ps) {
    while (ps->pos < ps->len) {
        char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\r')
            break;
        ps->pos++;
    }
}

/* Describes the byte at pos for an error message. */
static const char *what_at(parser *ps, char *buf, size_t cap) {
    if (ps->pos >= ps->len)
        return "end of line";
    unsigned char c = (unsigned char)ps->p[ps->pos];
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at pos. */
static int read_u4(parser *ps, size_t pos, unsigned *out) {
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        if (pos + k >= ps->len)
            return fail_at(ps, pos + k, "\\u needs 4 hex digits");
        int h = hexval(ps->p[pos + k]);
        if (h < 0)
            return fail_at(ps, pos + k, "\\u needs 4 hex digits");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
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
static size_t utf8_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    size_t n;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
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
    if (avail < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A string starting at the opening quote. Decoded text goes to the arena;
 * it is never longer than its source. */
static int parse_string(parser *ps, char **out, size_t *out_len) {
    size_t start = ps->pos++;
    size_t end = ps->pos;
    while (end < ps->len && ps->p[end] != '"') {
        if (ps->p[end] == '\\')
            end++;
        end++;
    }
    if (end >= ps->len)
        return fail_at(ps, start, "unterminated string");
    char *o = arena_alloc(ps->j, end - ps->pos + 1);
    if (o == NULL)
        return oom(ps);
    size_t n = 0;
    while (ps->pos < end) {
        unsigned char c = (unsigned char)ps->p[ps->pos];
        if (c < 0x20)
            return fail_at(ps, ps->pos, "control character 0x%02x in a string must be escaped", c);
        if (c != '\\') {
            size_t k = utf8_len((const unsigned char *)ps->p + ps->pos, end - ps->pos);
            if (k == 0)
                return fail_at(ps, ps->pos, "invalid UTF-8 in a string");
            memcpy(o + n, ps->p + ps->pos, k);
            n += k;
            ps->pos += k;
            continue;
        }
        size_t esc = ps->pos;
        char e = ps->p[esc + 1];
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
            unsigned cp;
            int rc = read_u4(ps, ps->pos, &cp);
            if (rc)
                return rc;
            ps->pos += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at(ps, esc, "lone low surrogate \\u%04X", cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (ps->pos + 1 >= end || ps->p[ps->pos] != '\\' || ps->p[ps->pos + 1] != 'u')
                    return fail_at(ps, esc, "high surrogate \\u%04X without its low half", cp);
                rc = read_u4(ps, ps->pos + 2, &lo);
                if (rc)
                    return rc;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(ps, ps->pos, "\\u%04X is not a low surrogate", lo);
                ps->pos += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default:
            return fail_at(ps, esc, "invalid escape in a string");
        }
    }
    ps->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return 0;
}

static int parse_int(parser *ps, jl__jnode *v) {
    size_t start = ps->pos;
    bool neg = false;
    if (ps->p[ps->pos] == '-') {
        neg = true;
        ps->pos++;
    }
    if (ps->pos >= ps->len || ps->p[ps->pos] < '0' || ps->p[ps->pos] > '9')
        return fail_at(ps, start, "invalid number");
    if (ps->p[ps->pos] == '0' && ps->pos + 1 < ps->len && ps->p[ps->pos + 1] >= '0' &&
        ps->p[ps->pos + 1] <= '9')
        return fail_at(ps, start, "numbers may not have leading zeros");
    /* accumulate as a negative number: its range includes INT64_MIN */
    int64_t acc = 0;
    while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
        int d = ps->p[ps->pos] - '0';
        if (acc < (INT64_MIN + d) / 10)
            return fail_at(ps, start, "integer out of range");
        acc = acc * 10 - d;
        ps->pos++;
    }
    if (ps->pos < ps->len &&
        (ps->p[ps->pos] == '.' || ps->p[ps->pos] == 'e' || ps->p[ps->pos] == 'E'))
        return fail_at(ps, start, "only integers are allowed here");
    if (!neg) {
        if (acc == INT64_MIN)
            return fail_at(ps, start, "integer out of range");
        acc = -acc;
    }
    v->i = acc;
    return 0;
}

static int parse_value(parser *ps, jl__jnode **out, int depth);

static int parse_container(parser *ps, jl__jnode *v, int depth) {
    bool obj = v->type == JL_J_OBJ;
    char close = obj ? '}' : ']';
    jl__jnode **tail = &v->first;
    char buf[16];
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->p[ps->pos] == close) {
        ps->pos++;
        return 0;
    }
    for (;;) {
        char *name = NULL;
        size_t name_len = 0;
        size_t name_pos = ps->pos;
        if (obj) {
            if (ps->pos >= ps->len || ps->p[ps->pos] != '"')
                return fail_at(ps, ps->pos, "expected a member name in quotes, found %s",
                               what_at(ps, buf, sizeof(buf)));
            int rc = parse_string(ps, &name, &name_len);
            if (rc)
                return rc;
            for (const jl__jnode *m = v->first; m; m = m->next)
                if (m->name_len == name_len && memcmp(m->name, name, name_len) == 0)
                    return fail_at(ps, name_pos, "duplicate member \"%s\"", name);
            skip_ws(ps);
            if (ps->pos >= ps->len || ps->p[ps->pos] != ':')
                return fail_at(ps, ps->pos, "expected ':' after a member name, found %s",
                               what_at(ps, buf, sizeof(buf)));
            ps->pos++;
            skip_ws(ps);
        }
        jl__jnode *item;
        int rc = parse_value(ps, &item, depth + 1);
        if (rc)
            return rc;
        item->name = name;
        item->name_len = name_len;
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
            return 0;
        }
        return fail_at(ps, ps->pos, "expected ',' or '%c', found %s", close,
                       what_at(ps, buf, sizeof(buf)));
    }
}

static int parse_word(parser *ps, const char *word) {
    size_t n = strlen(word);
    if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0)
        return -1;
    size_t after = ps->pos + n;
    if (after < ps->len) {
        char c = ps->p[after];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            return -1;
    }
    ps->pos = after;
    return 0;
}

static int parse_value(parser *ps, jl__jnode **out, int depth) {
    char buf[16];
    if (depth > JL_JSON_MAX_DEPTH)
        return fail_at(ps, ps->pos, "nested deeper than %d levels", JL_JSON_MAX_DEPTH);
    if (ps->pos >= ps->len)
        return fail_at(ps, ps->pos, "expected a value, found end of line");
    jl__jnode *v = arena_alloc(ps->j, sizeof(*v));
    if (v == NULL)
        return oom(ps);
    memset(v, 0, sizeof(*v));
    v->col = ps->pos + 1;
    *out = v;
    char c = ps->p[ps->pos];
    switch (c) {
    case '{':
        v->type = JL_J_OBJ;
        return parse_container(ps, v, depth);
    case '[':
        v->type = JL_J_ARR;
        return parse_container(ps, v, depth);
    case '"':
        v->type = JL_J_STR;
        return parse_string(ps, &v->s, &v->len);
    case 'n':
        v->type = JL_J_NULL;
        break;
    case 't':
    case 'f':
        v->type = JL_J_BOOL;
        v->b = c == 't';
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            v->type = JL_J_INT;
            return parse_int(ps, v);
        }
        return fail_at(ps, ps->pos, "expected a value, found %s", what_at(ps, buf, sizeof(buf)));
    }
    const char *word = v->type == JL_J_NULL ? "null" : v->b ? "true" : "false";
    if (parse_word(ps, word) != 0)
        return fail_at(ps, ps->pos, "expected a value, found %s", what_at(ps, buf, sizeof(buf)));
    return 0;
}

int jl__json_parse(jl__json *j, const char *line, size_t len, jl__jnode **root) {
    parser ps = {.j = j, .p = line, .len = len};
    arena_reset(j);
    j->err[0] = '\0';
    j->err_col = 0;
    skip_ws(&ps);
    int rc = parse_value(&ps, root, 0);
    if (rc)
        return ps.nomem ? JL_ENOMEM : rc;
    skip_ws(&ps);
    if (ps.pos < len) {
        char buf[16];
        return fail_at(&ps, ps.pos, "unexpected %s after the value", what_at(&ps, buf, sizeof(buf)));
    }
    return 0;
}

const jl__jnode *jl__json_get(const jl__jnode *obj, const char *name) {
    size_t n = strlen(name);
    for (const jl__jnode *m = obj->first; m; m = m->next)
        if (m->name_len == n && memcmp(m->name, name, n) == 0)
            return m;
    return NULL;
}

void jl__json_write_str(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
