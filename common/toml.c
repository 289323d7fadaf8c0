/* A small TOML reader; see common.h for the supported subset.
 *
 * The parser walks the text once with a cursor (p .. end) and never reads at
 * or past `end`, so the input need not be NUL-terminated. Every allocation
 * is owned by the tree from the moment it is attached, so on error freeing
 * the root releases everything. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p;   /* next unread byte */
    const char *end; /* one past the last byte */
    int line;        /* line of *p, 1-based */
    tc_toml_error *err;
    tc_toml_table *root;
    tc_toml_table *current; /* where `key = value` lines go: root or the last header's table */
} parser;

/* Growable byte buffer for decoded strings and keys. */
typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;

static const char GENERIC_HINT[] =
    "the file is TOML: key = value lines, [table] headers, quoted strings, integers, true/false";

/* ---------- errors ---------- */

static int fail(parser *ps, int line, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser *ps, int line, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err->message, sizeof ps->err->message, fmt, ap);
    va_end(ap);
    snprintf(ps->err->hint, sizeof ps->err->hint, "%s", hint ? hint : "");
    ps->err->line = line;
    return -1;
}

static int fail_oom(parser *ps) { return fail(ps, ps->line, "", "out of memory"); }

/* Copies s for use inside a message: printable ASCII as is, anything else
 * as \xNN, cut to a readable length. Keys may hold arbitrary UTF-8. */
static const char *shown(const char *s, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= outlen) { /* room for "\xNN" plus "..." and NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* "'x'", "a space", "end of file" ... for "found ..." messages. */
static const char *describe_next(const parser *ps, char *out, size_t outlen)
{
    if (ps->p >= ps->end) return "end of file";
    unsigned char c = (unsigned char)*ps->p;
    if (c == '\n') return "end of line";
    if (c == ' ') return "a space";
    if (c == '\t') return "a tab";
    if (c == '\r') return "a carriage return without a line feed";
    if (c > 0x20 && c < 0x7f)
        snprintf(out, outlen, "'%c'", c);
    else
        snprintf(out, outlen, "byte 0x%02x", c);
    return out;
}

/* ---------- small helpers ---------- */

static int sb_put(strbuf *b, const char *s, size_t n)
{
    if (n + 1 > b->cap - b->len || b->data == NULL) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap - b->len < n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Hands the buffer's string to the caller (never NULL on success). */
static char *sb_take(strbuf *b)
{
    if (!b->data && sb_put(b, "", 0) < 0) return NULL;
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

static int is_bare_key_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Characters that can make up an unquoted value: numbers, true/false, and
 * the things we reject with a specific message (floats, dates, 0x..). */
static int is_word_char(unsigned char c) { return is_bare_key_char(c) || c == '+' || c == '.' || c == ':'; }

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void skip_spaces(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t')) ps->p++;
}

/* A comment runs to the end of the line; the newline itself is left. */
static void skip_comment(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '#')
        while (ps->p < ps->end && *ps->p != '\n') ps->p++;
}

/* Consumes "\n" or "\r\n". Returns 1 if it did. */
static int take_newline(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\n') {
        ps->p++;
    } else if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n') {
        ps->p += 2;
    } else {
        return 0;
    }
    ps->line++;
    return 1;
}

/* After a value or header: only spaces and a comment may follow on the line. */
static int expect_line_end(parser *ps, const char *after)
{
    char buf[64];
    skip_spaces(ps);
    skip_comment(ps);
    if (ps->p >= ps->end || take_newline(ps)) return 0;
    return fail(ps, ps->line, "put each key = value pair and each [table] header on its own line",
                "expected end of line after %s, found %s", after, describe_next(ps, buf, sizeof buf));
}

/* ---------- whole-input checks ---------- */

/* Rejects NUL bytes and invalid UTF-8 before parsing, so the rest of the
 * parser and every consumer of the tree can rely on C strings of valid UTF-8. */
static int check_bytes(parser *ps)
{
    const unsigned char *s = (const unsigned char *)ps->p, *e = (const unsigned char *)ps->end;
    int line = 1;
    while (s < e) {
        unsigned c = *s;
        if (c == '\n') line++;
        if (c == 0) return fail(ps, line, "the file must be text; remove the NUL byte", "NUL byte in file");
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t more;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            goto bad;
        }
        if ((size_t)(e - s) <= more) goto bad;
        for (size_t i = 1; i <= more; i++) {
            if ((s[i] & 0xc0) != 0x80) goto bad;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
        s += more + 1;
        continue;
    bad:
        return fail(ps, line, "save the file as UTF-8", "invalid UTF-8 (byte 0x%02x)", c);
    }
    return 0;
}

/* ---------- tree ---------- */

static void free_value(tc_toml_value *v)
{
    switch (v->type) {
    case TC_TOML_STRING:
        free(v->as.string);
        break;
    case TC_TOML_ARRAY:
        for (size_t i = 0; i < v->as.array.len; i++) free_value(&v->as.array.items[i]);
        free(v->as.array.items);
        break;
    case TC_TOML_TABLE:
        tc_toml_free(v->as.table);
        break;
    case TC_TOML_INTEGER:
    case TC_TOML_BOOLEAN:
        break;
    }
}

void tc_toml_free(tc_toml_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->len; i++) {
        free(t->entries[i].key);
        free_value(&t->entries[i].value);
    }
    free(t->entries);
    free(t);
}

static tc_toml_entry *find_entry(const tc_toml_table *t, const char *key)
{
    for (size_t i = 0; i < t->len; i++)
        if (strcmp(t->entries[i].key, key) == 0) return &t->entries[i];
    return NULL;
}

const tc_toml_entry *tc_toml_find(const tc_toml_table *t, const char *key)
{
    return t && key ? find_entry(t, key) : NULL;
}

const char *tc_toml_type_name(tc_toml_type type)
{
    switch (type) {
    case TC_TOML_STRING: return "a string";
    case TC_TOML_INTEGER: return "an integer";
    case TC_TOML_BOOLEAN: return "a boolean";
    case TC_TOML_ARRAY: return "an array";
    case TC_TOML_TABLE: return "a table";
    }
    return "a value";
}

/* Appends key = value to t. Takes ownership of key and value even on failure. */
static int table_add(parser *ps, tc_toml_table *t, char *key, int line, tc_toml_value *value)
{
    char kbuf[80];
    const tc_toml_entry *dup = find_entry(t, key);
    int rc = 0;
    if (dup) {
        rc = fail(ps, line, "each key may appear only once in a table", "duplicate key '%s' (first defined on line %d)",
                  shown(key, strlen(key), kbuf, sizeof kbuf), dup->line);
    } else if (t->len >= TC_TOML_MAX_KEYS) {
        rc = fail(ps, line, "", "too many keys in one table (more than %d)", TC_TOML_MAX_KEYS);
    } else if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tc_toml_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e) {
            rc = fail_oom(ps);
        } else {
            t->entries = e;
            t->cap = cap;
        }
    }
    if (rc < 0) {
        free(key);
        free_value(value);
        return -1;
    }
    t->entries[t->len].key = key;
    t->entries[t->len].line = line;
    t->entries[t->len].value = *value;
    t->len++;
    return 0;
}

/* ---------- strings ---------- */

static int append_utf8(strbuf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    return sb_put(b, u, n);
}

static const char UNTERMINATED_HINT[] =
    "close the string with a matching quote on the same line (multi-line strings are not supported)";

static int control_char_error(parser *ps, unsigned char c)
{
    return fail(ps, ps->line, "write control characters as escapes such as \\n or \\t, in a \"basic\" string",
                "control character (byte 0x%02x) in string", c);
}

/* "\uXXXX" / "\UXXXXXXXX": ps->p is at the 'u' or 'U'. */
static int parse_unicode_escape(parser *ps, strbuf *out)
{
    char esc = *ps->p;
    int digits = esc == 'u' ? 4 : 8;
    unsigned long cp = 0;
    ps->p++;
    for (int i = 0; i < digits; i++) {
        int h = ps->p + i < ps->end ? hex_value((unsigned char)ps->p[i]) : -1;
        if (h < 0)
            return fail(ps, ps->line, "write \\u with exactly 4 hex digits or \\U with exactly 8, e.g. \\u00e9",
                        "\\%c must be followed by %d hex digits", esc, digits);
        cp = cp * 16 + (unsigned long)h;
    }
    ps->p += digits;
    if (cp == 0) return fail(ps, ps->line, "strings cannot contain NUL characters", "\\%c escape for NUL is not allowed", esc);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(ps, ps->line, "use the code point of a Unicode scalar value (not a surrogate, at most 10FFFF)",
                    "invalid Unicode escape \\%c%0*lX", esc, digits, cp);
    return append_utf8(out, cp) < 0 ? fail_oom(ps) : 0;
}

/* Basic string "...": ps->p is at the opening quote. */
static int parse_basic_string(parser *ps, strbuf *out)
{
    ps->p++;
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n') return fail(ps, ps->line, UNTERMINATED_HINT, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            return 0;
        }
        if (c == '\\') {
            ps->p++;
            if (ps->p >= ps->end || *ps->p == '\n') return fail(ps, ps->line, UNTERMINATED_HINT, "unterminated string");
            char e = *ps->p, decoded;
            switch (e) {
            case 'b': decoded = '\b'; break;
            case 't': decoded = '\t'; break;
            case 'n': decoded = '\n'; break;
            case 'f': decoded = '\f'; break;
            case 'r': decoded = '\r'; break;
            case '"': decoded = '"'; break;
            case '\\': decoded = '\\'; break;
            case 'u':
            case 'U':
                if (parse_unicode_escape(ps, out) < 0) return -1;
                continue;
            default: {
                static const char hint[] = "known escapes are \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX; "
                                           "use a 'literal string' to keep backslashes as they are";
                unsigned char bad = (unsigned char)e;
                if (bad > 0x20 && bad < 0x7f)
                    return fail(ps, ps->line, hint, "unknown escape sequence '\\%c' in string", bad);
                return fail(ps, ps->line, hint, "unknown escape sequence: '\\' followed by byte 0x%02x in string", bad);
            }
            }
            ps->p++;
            if (sb_put(out, &decoded, 1) < 0) return fail_oom(ps);
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) return control_char_error(ps, c);
        /* copy the run of ordinary bytes in one go */
        const char *start = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p != '\n' &&
               ((unsigned char)*ps->p >= 0x20 || *ps->p == '\t') && *ps->p != 0x7f)
            ps->p++;
        if (sb_put(out, start, (size_t)(ps->p - start)) < 0) return fail_oom(ps);
    }
}

/* Literal string '...': no escapes. ps->p is at the opening quote. */
static int parse_literal_string(parser *ps, strbuf *out)
{
    const char *start = ++ps->p;
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n') return fail(ps, ps->line, UNTERMINATED_HINT, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == '\'') break;
        if ((c < 0x20 && c != '\t') || c == 0x7f) return control_char_error(ps, c);
        ps->p++;
    }
    if (sb_put(out, start, (size_t)(ps->p - start)) < 0) return fail_oom(ps);
    ps->p++;
    return 0;
}

static int is_triple(const parser *ps, char q)
{
    return ps->end - ps->p >= 3 && ps->p[0] == q && ps->p[1] == q && ps->p[2] == q;
}

/* ---------- keys ---------- */

/* Bare, "basic" or 'literal' key. On success *key is a new string. */
static int parse_key(parser *ps, char **key)
{
    strbuf b = {0};
    int rc;
    if (ps->p < ps->end && *ps->p == '"') {
        rc = parse_basic_string(ps, &b);
    } else if (ps->p < ps->end && *ps->p == '\'') {
        rc = parse_literal_string(ps, &b);
    } else {
        const char *start = ps->p;
        while (ps->p < ps->end && is_bare_key_char((unsigned char)*ps->p)) ps->p++;
        if (ps->p == start) {
            char buf[64];
            return fail(ps, ps->line, "bare keys may contain A-Z a-z 0-9 _ -; quote other keys like \"this\"",
                        "expected a key, found %s", describe_next(ps, buf, sizeof buf));
        }
        rc = sb_put(&b, start, (size_t)(ps->p - start)) < 0 ? fail_oom(ps) : 0;
    }
    if (rc == 0 && !(*key = sb_take(&b))) rc = fail_oom(ps);
    free(b.data);
    return rc;
}

/* ---------- values ---------- */

static int parse_value(parser *ps, tc_toml_value *v, int depth);

/* Unquoted word that starts a value: true/false or a number. Everything a
 * newer TOML file might contain here (floats, dates, 0x...) gets a clear
 * "not supported" instead of a vague syntax error. */
static int parse_word(parser *ps, tc_toml_value *v)
{
    const char *w = ps->p;
    while (ps->p < ps->end && is_word_char((unsigned char)*ps->p)) ps->p++;
    size_t n = (size_t)(ps->p - w);
    char buf[64];
    const char *word = shown(w, n, buf, sizeof buf);

    if (n == 4 && memcmp(w, "true", 4) == 0) {
        v->type = TC_TOML_BOOLEAN, v->as.boolean = 1;
        return 0;
    }
    if (n == 5 && memcmp(w, "false", 5) == 0) {
        v->type = TC_TOML_BOOLEAN, v->as.boolean = 0;
        return 0;
    }

    size_t i = (n > 0 && (w[0] == '+' || w[0] == '-')) ? 1 : 0;
    const char *body = w + i;
    size_t blen = n - i;
    if (blen == 0 || !is_digit((unsigned char)body[0])) {
        if (blen >= 3 && (memcmp(body, "inf", 3) == 0 || memcmp(body, "nan", 3) == 0))
            return fail(ps, v->line, "write a whole number", "floats are not supported here ('%s')", word);
        if (n == 0) {
            char nb[64];
            return fail(ps, v->line, GENERIC_HINT, "expected a value, found %s", describe_next(ps, nb, sizeof nb));
        }
        return fail(ps, v->line, "write strings in double quotes, e.g. name = \"value\"",
                    "invalid value '%s' (strings must be quoted)", word);
    }
    if (memchr(w, ':', n) || (n >= 5 && is_digit((unsigned char)w[0]) && is_digit((unsigned char)w[1]) &&
                              is_digit((unsigned char)w[2]) && is_digit((unsigned char)w[3]) && w[4] == '-'))
        return fail(ps, v->line, "write dates and times as quoted strings", "dates and times are not supported here ('%s')",
                    word);
    if (blen >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o' || body[1] == 'b'))
        return fail(ps, v->line, "write the number in decimal",
                    "hexadecimal, octal and binary integers are not supported here ('%s')", word);
    if (memchr(w, '.', n) || memchr(w, 'e', n) || memchr(w, 'E', n))
        return fail(ps, v->line, "write a whole number", "floats are not supported here ('%s')", word);
    if (blen >= 2 && body[0] == '0' && (is_digit((unsigned char)body[1]) || body[1] == '_'))
        return fail(ps, v->line, "write the number without leading zeros", "leading zeros are not allowed in integers ('%s')",
                    word);

    int negative = w[0] == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    for (size_t k = 0; k < blen; k++) {
        unsigned char c = (unsigned char)body[k];
        if (c == '_') {
            /* underscores only between two digits */
            if (k + 1 < blen && is_digit((unsigned char)body[k + 1]) && is_digit((unsigned char)body[k - 1])) continue;
            return fail(ps, v->line, "put each underscore between two digits, e.g. 1_000_000",
                        "invalid integer '%s'", word);
        }
        if (!is_digit(c))
            return fail(ps, v->line, "integers are written in decimal digits, e.g. 42 or -7", "invalid integer '%s'",
                        word);
        unsigned d = c - '0';
        if (mag > (limit - d) / 10)
            return fail(ps, v->line, "integers must be between -9223372036854775808 and 9223372036854775807",
                        "integer '%s' is out of range", word);
        mag = mag * 10 + d;
    }
    v->type = TC_TOML_INTEGER;
    v->as.integer = negative ? (int64_t)(0 - mag) : (int64_t)mag;
    if (negative && mag == (uint64_t)INT64_MAX + 1) v->as.integer = INT64_MIN;
    return 0;
}

/* Inside [ ... ]: whitespace, newlines and comments between items. */
static void skip_array_space(parser *ps)
{
    for (;;) {
        skip_spaces(ps);
        skip_comment(ps);
        if (!take_newline(ps)) return;
    }
}

static int parse_array(parser *ps, tc_toml_value *v, int depth)
{
    int open_line = ps->line;
    tc_toml_value *items = NULL;
    size_t len = 0, cap = 0;
    char buf[64];

    if (depth > TC_TOML_MAX_DEPTH)
        return fail(ps, ps->line, "", "arrays nested too deeply (more than %d levels)", TC_TOML_MAX_DEPTH);
    ps->p++;
    for (;;) {
        skip_array_space(ps);
        if (ps->p >= ps->end) goto unterminated;
        if (*ps->p == ']') break;
        if (len == TC_TOML_MAX_ITEMS) {
            fail(ps, ps->line, "", "too many items in one array (more than %d)", TC_TOML_MAX_ITEMS);
            goto error;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            tc_toml_value *n = realloc(items, ncap * sizeof *n);
            if (!n) {
                fail_oom(ps);
                goto error;
            }
            items = n;
            cap = ncap;
        }
        if (parse_value(ps, &items[len], depth) < 0) goto error;
        len++;
        skip_array_space(ps);
        if (ps->p >= ps->end) goto unterminated;
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ']') break;
        fail(ps, ps->line, "separate array items with commas: [1, 2, 3]", "expected ',' or ']' in array, found %s",
             describe_next(ps, buf, sizeof buf));
        goto error;
    }
    ps->p++; /* ']' */
    v->type = TC_TOML_ARRAY;
    v->as.array.items = items;
    v->as.array.len = len;
    v->as.array.of_tables = 0;
    return 0;

unterminated:
    fail(ps, open_line, "close the array with ']'", "unterminated array (the '[' on this line is never closed)");
error:
    for (size_t i = 0; i < len; i++) free_value(&items[i]);
    free(items);
    return -1;
}

/* On failure nothing is left allocated in *v. */
static int parse_value(parser *ps, tc_toml_value *v, int depth)
{
    char buf[64];
    memset(v, 0, sizeof *v);
    v->line = ps->line;
    if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '#' || (*ps->p == '\r'))
        return fail(ps, ps->line, "write a value after '=', e.g. hz = 10 or name = \"text\"", "missing value");

    switch (*ps->p) {
    case '"':
    case '\'': {
        char q = *ps->p;
        if (is_triple(ps, q))
            return fail(ps, ps->line, "write the string on one line, using \\n for line breaks",
                        "multi-line strings are not supported here");
        strbuf b = {0};
        int rc = q == '"' ? parse_basic_string(ps, &b) : parse_literal_string(ps, &b);
        if (rc == 0) {
            v->type = TC_TOML_STRING;
            if (!(v->as.string = sb_take(&b))) rc = fail_oom(ps);
        }
        free(b.data);
        return rc;
    }
    case '[':
        return parse_array(ps, v, depth + 1);
    case '{':
        return fail(ps, ps->line, "write the values in a [table] section instead", "inline tables are not supported here");
    default:
        if (is_word_char((unsigned char)*ps->p)) return parse_word(ps, v);
        return fail(ps, ps->line, GENERIC_HINT, "unexpected %s at the start of a value", describe_next(ps, buf, sizeof buf));
    }
}

/* ---------- lines ---------- */

static int new_table(parser *ps, int line, tc_toml_table **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return fail_oom(ps);
    (*out)->line = line;
    return 0;
}

/* For messages about dotted names: the ".b.c" that follows the first part
 * (ps->p is at the first dot). */
static const char *dotted_rest(const parser *ps, char *out, size_t outlen)
{
    const char *q = ps->p;
    while (q < ps->end && (*q == '.' || is_bare_key_char((unsigned char)*q))) q++;
    return shown(ps->p, (size_t)(q - ps->p), out, outlen);
}

/* "[name]" or "[[name]]": ps->p is at the first '['. */
static int parse_header(parser *ps)
{
    int line = ps->line;
    int is_array = ps->end - ps->p >= 2 && ps->p[1] == '[';
    char *name = NULL, nbuf[80];
    const char *open = is_array ? "[[" : "[", *close = is_array ? "]]" : "]";

    ps->p += is_array ? 2 : 1;
    skip_spaces(ps);
    if (parse_key(ps, &name) < 0) return -1;
    const char *nm = shown(name, strlen(name), nbuf, sizeof nbuf);
    skip_spaces(ps);
    if (ps->p < ps->end && *ps->p == '.') {
        char rest[48];
        fail(ps, line, "nested tables are not used in this file; write a single name such as [[node]]",
             "dotted table names like %s%s%s%s are not supported here", open, nm, dotted_rest(ps, rest, sizeof rest),
             close);
        goto error;
    }
    if (!(ps->p < ps->end && *ps->p == ']') || (is_array && !(ps->end - ps->p >= 2 && ps->p[1] == ']'))) {
        fail(ps, line, "a table header looks like [name] or [[name]]", "expected '%s' after table name '%s'", close, nm);
        goto error;
    }
    ps->p += is_array ? 2 : 1;
    if (expect_line_end(ps, "table header") < 0) goto error;

    tc_toml_entry *existing = find_entry(ps->root, name);
    tc_toml_table *t = NULL;
    if (existing) {
        tc_toml_value *ev = &existing->value;
        if (is_array && ev->type == TC_TOML_ARRAY && ev->as.array.of_tables) {
            if (ev->as.array.len >= TC_TOML_MAX_ITEMS) {
                fail(ps, line, "", "too many [[%s]] tables (more than %d)", nm, TC_TOML_MAX_ITEMS);
                goto error;
            }
            /* the capacity is implied: it doubles whenever len reaches a power of two */
            size_t len = ev->as.array.len;
            tc_toml_value *items = ev->as.array.items;
            if ((len & (len - 1)) == 0) {
                items = realloc(items, len * 2 * sizeof *items);
                if (!items) {
                    fail_oom(ps);
                    goto error;
                }
                ev->as.array.items = items;
            }
            if (new_table(ps, line, &t) < 0) goto error;
            items[ev->as.array.len].type = TC_TOML_TABLE;
            items[ev->as.array.len].line = line;
            items[ev->as.array.len].as.table = t;
            ev->as.array.len++;
            free(name);
            ps->current = t;
            return 0;
        }
        if (ev->type == TC_TOML_TABLE && !is_array)
            fail(ps, line, "each table may be defined only once; merge the two sections",
                 "table [%s] is defined twice (first on line %d)", nm, existing->line);
        else if (ev->type == TC_TOML_TABLE)
            fail(ps, line, "use either [name] once or [[name]] for every entry, not both",
                 "[[%s]] conflicts with table [%s] (defined on line %d)", nm, nm, existing->line);
        else if (ev->type == TC_TOML_ARRAY && ev->as.array.of_tables)
            fail(ps, line, "use either [name] once or [[name]] for every entry, not both",
                 "[%s] conflicts with the array of tables [[%s]] (first on line %d)", nm, nm, existing->line);
        else
            fail(ps, line, "each key may appear only once in a table",
                 "%s%s%s redefines key '%s' (first defined on line %d)", open, nm, close, nm, existing->line);
        goto error;
    }

    tc_toml_value v;
    memset(&v, 0, sizeof v);
    v.line = line;
    if (new_table(ps, line, &t) < 0) goto error;
    if (is_array) {
        v.type = TC_TOML_ARRAY;
        v.as.array.of_tables = 1;
        v.as.array.items = malloc(sizeof *v.as.array.items);
        if (!v.as.array.items) {
            tc_toml_free(t);
            fail_oom(ps);
            goto error;
        }
        v.as.array.len = 1;
        v.as.array.items[0].type = TC_TOML_TABLE;
        v.as.array.items[0].line = line;
        v.as.array.items[0].as.table = t;
    } else {
        v.type = TC_TOML_TABLE;
        v.as.table = t;
    }
    if (table_add(ps, ps->root, name, line, &v) < 0) return -1; /* freed name and v */
    ps->current = t;
    return 0;

error:
    free(name);
    return -1;
}

/* key = value */
static int parse_keyval(parser *ps)
{
    int line = ps->line;
    char *key = NULL, kbuf[80], buf[64];
    if (parse_key(ps, &key) < 0) return -1;
    const char *k = shown(key, strlen(key), kbuf, sizeof kbuf);
    skip_spaces(ps);
    if (ps->p < ps->end && *ps->p == '.') {
        char rest[48];
        fail(ps, line, "write the key without dots, inside a [table] section if it belongs to one",
             "dotted keys like '%s%s' are not supported here", k, dotted_rest(ps, rest, sizeof rest));
        goto error;
    }
    if (ps->p >= ps->end || *ps->p != '=') {
        fail(ps, line, "settings are written as key = value, e.g. hz = 10",
             "expected '=' after key '%s', found %s", k, describe_next(ps, buf, sizeof buf));
        goto error;
    }
    ps->p++;
    skip_spaces(ps);
    tc_toml_value v;
    if (parse_value(ps, &v, 0) < 0) goto error;
    if (table_add(ps, ps->current, key, line, &v) < 0) return -1; /* freed key and v */
    /* only now: the message quotes the key, which table_add now owns */
    char after[112];
    snprintf(after, sizeof after, "the value of '%s'", k);
    return expect_line_end(ps, after);

error:
    free(key);
    return -1;
}

int tc_toml_parse(const char *text, size_t len, tc_toml_table **out, tc_toml_error *err)
{
    if (!text) { /* no pointer arithmetic on NULL */
        text = "";
        len = 0;
    }
    parser ps = {.p = text, .end = text + len, .line = 1, .err = err};
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (len > TC_TOML_MAX_INPUT)
        return fail(&ps, 1, "", "input is too large (more than %u bytes)", TC_TOML_MAX_INPUT);
    if (check_bytes(&ps) < 0) return -1;
    if (new_table(&ps, 0, &ps.root) < 0) return -1;
    ps.current = ps.root;

    while (ps.p < ps.end) {
        int rc = 0;
        skip_spaces(&ps);
        skip_comment(&ps);
        if (ps.p >= ps.end || take_newline(&ps)) continue;
        if (*ps.p == '[')
            rc = parse_header(&ps);
        else
            rc = parse_keyval(&ps);
        if (rc < 0) {
            tc_toml_free(ps.root);
            return -1;
        }
    }
    *out = ps.root;
    return 0;
}
