/* Unit tests for common/json.c: the JSON reader (every value type, every
 * escape, numbers, the strict options, the depth limit, refusing every
 * truncation) and the string writer (escapes, round trips, truncation of
 * its buffer). Inputs are copied into buffers of their exact length, so
 * ASan sees any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Parses len bytes from an exact-size copy; the root, or NULL with r->err. */
static const tc_json *parse_n(tc_json_reader *r, const char *text, size_t len, int *rc)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    const tc_json *root = NULL;
    *rc = tc_json_parse(r, copy, len, &root);
    /* nodes must not point into the input: free it before anyone looks */
    free(copy);
    return root;
}

static const tc_json *ok_at(tc_json_reader *r, const char *text, const char *file, int line)
{
    int rc;
    const tc_json *v = parse_n(r, text, strlen(text), &rc);
    if (rc != 0) fail_msg("%s:%d: %s refused: %s (at %zu)", file, line, text, r->err, r->err_pos);
    return v;
}
#define OK(r, text) ok_at(r, text, __FILE__, __LINE__)

/* Refused, at byte pos (SIZE_MAX: anywhere), with `says` in the message. */
static void bad_at(unsigned flags, const char *text, size_t pos, const char *says, const char *file, int line)
{
    tc_json_reader r;
    tc_json_reader_init(&r, flags);
    int rc;
    const tc_json *v = parse_n(&r, text, strlen(text), &rc);
    if (rc != -EINVAL || v != NULL) fail_msg("%s:%d: %s accepted (rc %d)", file, line, text, rc);
    if (!strstr(r.err, says)) fail_msg("%s:%d: %s: \"%s\" lacks \"%s\"", file, line, text, r.err, says);
    if (pos != SIZE_MAX && r.err_pos != pos)
        fail_msg("%s:%d: %s: error at %zu, expected %zu (%s)", file, line, text, r.err_pos, pos, r.err);
    tc_json_reader_free(&r);
}
#define BAD(flags, text, pos, says) bad_at(flags, text, pos, says, __FILE__, __LINE__)

/* ------------------------------------------------------------ values */

static void test_values_and_structure(void **state)
{
    (void)state;
    tc_json_reader r;
    tc_json_reader_init(&r, 0);
    const tc_json *v = OK(&r, " \t\r\n{\"a\": [1, true, false, null, \"x\", {}, []], \"b\": {\"c\": -2}} \n");
    assert_int_equal(v->type, TC_JSON_OBJECT);
    assert_int_equal(v->n, 2);
    assert_int_equal(v->pos, 4);
    const tc_json *a = tc_json_get(v, "a");
    assert_non_null(a);
    assert_int_equal(a->type, TC_JSON_ARRAY);
    assert_int_equal(a->n, 7);
    const tc_json *e = a->first;
    assert_int_equal(e->type, TC_JSON_NUMBER);
    assert_int_equal(e->i, 1);
    e = e->next;
    assert_true(e->type == TC_JSON_BOOL && e->b);
    e = e->next;
    assert_true(e->type == TC_JSON_BOOL && !e->b);
    e = e->next;
    assert_int_equal(e->type, TC_JSON_NULL);
    e = e->next;
    assert_true(e->type == TC_JSON_STRING && e->len == 1 && strcmp(e->s, "x") == 0);
    e = e->next;
    assert_true(e->type == TC_JSON_OBJECT && e->n == 0 && e->first == NULL);
    e = e->next;
    assert_true(e->type == TC_JSON_ARRAY && e->n == 0 && e->first == NULL);
    assert_null(e->next);
    const tc_json *c = tc_json_get(tc_json_get(v, "b"), "c");
    assert_true(c && c->type == TC_JSON_NUMBER && c->i == -2);
    assert_null(tc_json_get(v, "c"));
    assert_null(tc_json_get(a, "a")); /* not an object */
    assert_string_equal(a->name, "a");
    assert_int_equal(a->name_len, 1);
    assert_int_equal(a->pos, 10); /* the value, not its name */

    /* scalars alone are documents too */
    assert_int_equal(OK(&r, "null")->type, TC_JSON_NULL);
    assert_true(OK(&r, "true")->b);
    assert_int_equal(OK(&r, " 7 ")->i, 7);
    assert_string_equal(OK(&r, "\"\"")->s, "");

    assert_string_equal(tc_json_type_name(TC_JSON_NUMBER), "a number");
    assert_string_equal(tc_json_type_name(TC_JSON_OBJECT), "an object");
    tc_json_reader_free(&r);

    BAD(0, "", 0, "ends early");
    BAD(0, "   ", 3, "ends early");
    BAD(0, "nul", 0, "expected a value");
    BAD(0, "truex", 0, "expected a value");
    BAD(0, "True", 0, "expected a value");
    BAD(0, "[1,]", 3, "expected a value");
    BAD(0, "[1 2]", 3, "expected ',' or ']'");
    BAD(0, "{\"a\":1,}", 7, "member name");
    BAD(0, "{\"a\" 1}", 5, "':'");
    BAD(0, "{a:1}", 1, "member name");
    BAD(0, "{\"a\":1} x", 8, "unexpected bytes after the value");
    BAD(0, "1 2", 2, "unexpected bytes after the value");
    BAD(0, "[1]]", 3, "unexpected bytes");
    BAD(0, "/* no */ 1", 0, "expected a value");
    BAD(0, "'single'", 0, "expected a value");
}

/* ------------------------------------------------------------ strings */

static void decodes_to(unsigned flags, const char *json, const char *want, size_t want_len)
{
    tc_json_reader r;
    tc_json_reader_init(&r, flags);
    const tc_json *v = OK(&r, json);
    assert_int_equal(v->type, TC_JSON_STRING);
    assert_int_equal(v->len, want_len);
    assert_memory_equal(v->s, want, want_len);
    assert_int_equal(v->s[want_len], '\0');
    tc_json_reader_free(&r);
}

static void test_string_escapes(void **state)
{
    (void)state;
    decodes_to(0, "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15);
    decodes_to(0, "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);
    decodes_to(0, "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);        /* a surrogate pair */
    decodes_to(0, "\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4);        /* U+10FFFF */
    decodes_to(0, "\"a\\u0000b\"", "a\0b", 3);                         /* NUL: allowed unless NO_NUL */
    decodes_to(0, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f", 10);

    BAD(0, "\"abc", 0, "unterminated string");
    BAD(0, "[\"a\\\"]", 1, "unterminated string");
    BAD(0, "\"x\\q\"", 2, "bad escape \\q");
    BAD(0, "\"\\x41\"", 1, "bad escape");
    BAD(0, "\"\\u12\"", 1, "bad \\u escape");
    BAD(0, "\"\\u12g4\"", 1, "hex digits");
    BAD(0, "\"\\ud800\"", 1, "surrogate");
    BAD(0, "\"\\ud800x\"", 1, "without its low half");
    BAD(0, "\"\\ud800\\u0041\"", 7, "not a low surrogate");
    BAD(0, "\"\\udc00\"", 1, "lone low surrogate");
    BAD(0, "\"x\ty\"", 2, "control character 0x09");
    BAD(0, "\"a\nb\"", 2, "control character");
    BAD(0, "\"\xff\"", 1, "UTF-8");
    BAD(0, "\"\xc0\xaf\"", 1, "UTF-8");              /* overlong '/' */
    BAD(0, "\"\xed\xa0\x80\"", 1, "UTF-8");          /* an encoded surrogate */
    BAD(0, "\"\xf4\x90\x80\x80\"", 1, "UTF-8");      /* past U+10FFFF */
    BAD(0, "\"ab\xe2\x82\"", 3, "UTF-8");            /* cut short */

    /* the strict options */
    BAD(TC_JSON_NO_NUL, "\"a\\u0000b\"", 2, "NUL character");
    BAD(TC_JSON_NO_SURROGATES, "\"\\ud83d\\ude00\"", 1, "surrogate");
    decodes_to(TC_JSON_NO_NUL | TC_JSON_NO_SURROGATES, "\"\\u00e9\xf0\x9f\x98\x80\"", "\xc3\xa9\xf0\x9f\x98\x80", 6);

    /* strings longer than an arena chunk */
    size_t n = 100000;
    char *big = malloc(n + 3);
    big[0] = '"';
    for (size_t i = 0; i < n; i++) big[1 + i] = (char)('a' + i % 26);
    big[n + 1] = '"';
    big[n + 2] = '\0';
    decodes_to(0, big, big + 1, n);
    free(big);
}

/* ------------------------------------------------------------ numbers */

static const tc_json *num(tc_json_reader *r, const char *text, int kind)
{
    const tc_json *v = OK(r, text);
    assert_int_equal(v->type, TC_JSON_NUMBER);
    if (v->num != kind) fail_msg("%s: kind %d, expected %d", text, v->num, kind);
    return v;
}

static void test_numbers(void **state)
{
    (void)state;
    tc_json_reader r;
    tc_json_reader_init(&r, 0);
    int64_t i;
    uint64_t u;
    assert_int_equal(num(&r, "0", TC_JSON_INT)->i, 0);
    const tc_json *v = num(&r, "-0", TC_JSON_INT);
    assert_true(v->i == 0 && v->neg);
    assert_int_equal(num(&r, "123", TC_JSON_INT)->i, 123);
    assert_int_equal(num(&r, "-123", TC_JSON_INT)->i, -123);
    assert_true(num(&r, "9223372036854775807", TC_JSON_INT)->i == INT64_MAX);
    assert_true(num(&r, "-9223372036854775808", TC_JSON_INT)->i == INT64_MIN);
    v = num(&r, "9223372036854775808", TC_JSON_UINT);
    assert_true(v->u == (uint64_t)INT64_MAX + 1);
    assert_int_equal(tc_json_int(v, &i), -ERANGE);
    assert_int_equal(tc_json_uint(v, UINT64_MAX, &u), 0);
    assert_true(u == (uint64_t)INT64_MAX + 1);
    v = num(&r, "18446744073709551615", TC_JSON_UINT);
    assert_true(v->u == UINT64_MAX);
    assert_int_equal(tc_json_uint(v, UINT64_MAX - 1, &u), -ERANGE);
    v = num(&r, "18446744073709551616", TC_JSON_BIG);
    assert_true(v->d == 18446744073709551616.0);
    assert_int_equal(tc_json_uint(v, UINT64_MAX, &u), -ERANGE);
    assert_int_equal(tc_json_int(v, &i), -ERANGE);
    num(&r, "-9223372036854775809", TC_JSON_BIG);
    num(&r, "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
        TC_JSON_BIG);

    assert_true(num(&r, "1.5", TC_JSON_REAL)->d == 1.5);
    assert_true(num(&r, "-1.5e3", TC_JSON_REAL)->d == -1500.0);
    assert_true(num(&r, "1E+2", TC_JSON_REAL)->d == 100.0);
    assert_true(num(&r, "25e-2", TC_JSON_REAL)->d == 0.25);
    assert_true(num(&r, "0.5", TC_JSON_REAL)->d == 0.5);
    assert_true(num(&r, "-0.0", TC_JSON_REAL)->neg);
    assert_true(num(&r, "1e-400", TC_JSON_REAL)->d == 0.0); /* underflow is fine */
    v = num(&r, "3.0", TC_JSON_REAL);
    assert_int_equal(tc_json_int(v, &i), -EINVAL);
    assert_int_equal(tc_json_uint(v, UINT64_MAX, &u), -EINVAL);

    v = num(&r, "42", TC_JSON_INT);
    assert_int_equal(tc_json_int(v, &i), 0);
    assert_int_equal(i, 42);
    assert_int_equal(tc_json_uint(v, 42, &u), 0);
    assert_int_equal(u, 42);
    assert_int_equal(tc_json_uint(v, 41, &u), -ERANGE);
    assert_int_equal(tc_json_uint(num(&r, "-1", TC_JSON_INT), UINT64_MAX, &u), -ERANGE);
    assert_int_equal(tc_json_uint(num(&r, "-0", TC_JSON_INT), UINT64_MAX, &u), -ERANGE);
    assert_int_equal(tc_json_int(OK(&r, "\"1\""), &i), -EINVAL);

    /* in a container, the number ends where the next token begins */
    v = OK(&r, "[-1,2.5e1,3]");
    assert_true(v->first->i == -1 && v->first->next->d == 25.0 && v->first->next->next->i == 3);
    tc_json_reader_free(&r);

    BAD(0, "01", 0, "leading zeros");
    BAD(0, "-01", 0, "leading zeros");
    BAD(0, "-", 0, "invalid number");
    BAD(0, "-a", 0, "invalid number");
    BAD(0, "1.", 2, "a digit must follow '.'");
    BAD(0, "1.e5", 2, "a digit must follow '.'");
    BAD(0, ".5", 0, "expected a value");
    BAD(0, "1e", 2, "exponent");
    BAD(0, "1e+", 3, "exponent");
    BAD(0, "+1", 0, "expected a value");
    BAD(0, "--1", 0, "invalid number");
    BAD(0, "0x10", 1, "unexpected bytes");
    BAD(0, "Infinity", 0, "expected a value");
    BAD(0, "NaN", 0, "expected a value");
    BAD(0, "[1e999]", 1, "out of range");
    BAD(0, "-1e999", 0, "out of range");

    /* integers only (jepsen-lite's histories) */
    BAD(TC_JSON_INTEGERS_ONLY, "{\"p\":1.5}", 5, "only integers");
    BAD(TC_JSON_INTEGERS_ONLY, "{\"p\":1e3}", 5, "only integers");
    BAD(TC_JSON_INTEGERS_ONLY, "{\"a\":99999999999999999999}", 5, "range");
    BAD(TC_JSON_INTEGERS_ONLY, "9223372036854775808", 0, "range");
    tc_json_reader_init(&r, TC_JSON_INTEGERS_ONLY);
    assert_true(OK(&r, "-9223372036854775808")->i == INT64_MIN);
    tc_json_reader_free(&r);
}

/* ------------------------------------------------------------ keys, depth */

static void test_duplicate_keys(void **state)
{
    (void)state;
    tc_json_reader r;
    tc_json_reader_init(&r, 0);
    /* allowed unless asked: both members are there, lookup finds the first */
    const tc_json *v = OK(&r, "{\"a\":1,\"a\":2}");
    assert_int_equal(v->n, 2);
    assert_int_equal(tc_json_get(v, "a")->i, 1);
    tc_json_reader_free(&r);

    BAD(TC_JSON_UNIQUE_KEYS, "{\"a\":1,\"a\":2}", 7, "appears twice");
    BAD(TC_JSON_UNIQUE_KEYS, "{\"a\":1,\"b\":{\"a\":1,\"a\":3}}", 18, "duplicate");
    /* names are compared decoded, as bytes */
    BAD(TC_JSON_UNIQUE_KEYS, "{\"a\":1,\"\\u0061\":2}", 7, "\"a\" appears twice");
    tc_json_reader_init(&r, TC_JSON_UNIQUE_KEYS);
    v = OK(&r, "{\"a\":1,\"A\":2,\"a\\u0000\":3,\"\":4,\"b\":{\"a\":5}}");
    assert_int_equal(v->n, 5);
    assert_int_equal(tc_json_get(v, "")->i, 4);

    /* big objects are checked by sorting: still found, at the first repeat */
    char buf[4096];
    for (int dup = 0; dup < 2; dup++) {
        size_t n = 0, at = 0;
        buf[n++] = '{';
        for (int k = 0; k < 100; k++) {
            int name = dup && k == 70 ? 5 : dup && k == 90 ? 7 : k; /* k70 repeats k5, k90 repeats k7 */
            if (dup && k == 70) at = n + (k ? 1 : 0);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\":%d", k ? "," : "", name, k);
        }
        buf[n++] = '}';
        buf[n] = '\0';
        if (!dup) {
            v = OK(&r, buf);
            assert_int_equal(v->n, 100);
            assert_int_equal(tc_json_get(v, "k99")->i, 99);
        } else {
            /* reported at the value of the first repeat ("k5":70) */
            BAD(TC_JSON_UNIQUE_KEYS, buf, at + 5, "\"k5\" appears twice");
        }
    }
    tc_json_reader_free(&r);
}

static void test_depth(void **state)
{
    (void)state;
    char buf[128];
    tc_json_reader r;
    tc_json_reader_init(&r, 0);
    for (int d = 1; d <= 40; d++) {
        for (int i = 0; i < d; i++) buf[i] = '[';
        for (int i = 0; i < d; i++) buf[d + i] = ']';
        buf[2 * d] = '\0';
        int rc;
        parse_n(&r, buf, strlen(buf), &rc);
        if (d <= TC_JSON_MAX_DEPTH) assert_int_equal(rc, 0);
        else {
            assert_int_equal(rc, -EINVAL);
            assert_non_null(strstr(r.err, "nested deeper than 32 levels"));
            assert_int_equal(r.err_pos, TC_JSON_MAX_DEPTH);
        }
    }
    /* objects count too, and the limit can be changed */
    r.max_depth = 3;
    OK(&r, "{\"a\":[{\"b\":1}]}");
    int rc;
    parse_n(&r, "{\"a\":[{\"b\":[]}]}", 16, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(r.err, "nested"));
    /* a very deep document costs no stack: refused at the limit */
    r.max_depth = 0; /* the default */
    size_t n = 1000000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    parse_n(&r, deep, n, &rc);
    assert_int_equal(rc, -EINVAL);
    free(deep);
    tc_json_reader_free(&r);
}

/* ------------------------------------------------------------ truncation */

static void test_every_truncation_refused(void **state)
{
    (void)state;
    const char *doc = "{\"s\":\"a\\\"\\u00e9\\ud83d\\ude00\xc3\xa9\",\"n\":[-12,3.5e-2,0,true,false,null],"
                      "\"o\":{\"x\":{}},\"e\":[],\"big\":18446744073709551615}";
    size_t n = strlen(doc);
    tc_json_reader r;
    tc_json_reader_init(&r, TC_JSON_UNIQUE_KEYS);
    OK(&r, doc);
    for (size_t len = 0; len < n; len++) {
        int rc;
        const tc_json *v = parse_n(&r, doc, len, &rc);
        if (rc != -EINVAL || v) fail_msg("truncation to %zu accepted", len);
        assert_true(r.err_pos <= len);
        assert_true(r.err[0] != '\0');
    }
    /* and every single-byte change either parses or is refused cleanly */
    char *edit = malloc(n);
    unsigned seed = 7;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(edit, doc, n);
        edit[rand_r(&seed) % n] = (char)(rand_r(&seed) & 0xff);
        const tc_json *root = NULL;
        int rc = tc_json_parse(&r, edit, n, &root);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_true((rc == 0) == (root != NULL));
    }
    free(edit);
    tc_json_reader_free(&r);
}

/* ------------------------------------------------------------ writer */

static char *quoted(const char *s, size_t len)
{
    size_t need = tc_json_quote(NULL, 0, s, len);
    char *o = malloc(need + 1);
    assert_int_equal(tc_json_quote(o, need + 1, s, len), need);
    assert_int_equal(strlen(o), need);
    /* the FILE writer writes the same bytes */
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    tc_json_write_str(f, s, len);
    fclose(f);
    assert_int_equal(blen, need);
    assert_memory_equal(buf, o, need);
    free(buf);
    return o;
}

static void expect_quoted(const char *s, size_t len, const char *want)
{
    char *o = quoted(s, len);
    assert_string_equal(o, want);
    free(o);
}

static void roundtrip(tc_json_reader *r, const char *s, size_t len)
{
    char *o = quoted(s, len);
    const tc_json *v = OK(r, o);
    assert_int_equal(v->type, TC_JSON_STRING);
    assert_int_equal(v->len, len);
    assert_memory_equal(v->s, s, len);
    free(o);
}

static void test_writer(void **state)
{
    (void)state;
    expect_quoted("", 0, "\"\"");
    expect_quoted("plain text", 10, "\"plain text\"");
    expect_quoted("\"\\/", 3, "\"\\\"\\\\/\"");
    expect_quoted("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    expect_quoted("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
    expect_quoted("a\0b", 3, "\"a\\u0000b\"");
    expect_quoted("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* bytes that are not UTF-8 become \u00XX: still valid JSON */
    expect_quoted("\xff" "a\xc3", 3, "\"\\u00ffa\\u00c3\"");
    expect_quoted("\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\"");

    /* a short buffer: cut before an escape, never inside one */
    char small[8];
    assert_int_equal(tc_json_quote(small, sizeof small, "abcd\n", 5), 8);
    assert_string_equal(small, "\"abcd\\n"); /* the closing quote did not fit */
    assert_int_equal(tc_json_quote(small, 7, "abcd\n", 5), 8);
    assert_string_equal(small, "\"abcd"); /* nor did all of \n */
    assert_int_equal(tc_json_quote(small, 3, "abcd", 4), 6);
    assert_string_equal(small, "\"");
    assert_int_equal(tc_json_quote(small, 1, "abcd", 4), 6);
    assert_string_equal(small, "");
    assert_int_equal(tc_json_quote(small, 7, "abcd", 4), 6);
    assert_string_equal(small, "\"abcd\"");

    /* every byte value, and random UTF-8, round-trip exactly */
    tc_json_reader r;
    tc_json_reader_init(&r, TC_JSON_UNIQUE_KEYS);
    char all[128];
    for (int i = 0; i < 128; i++) all[i] = (char)i;
    roundtrip(&r, all, sizeof all);
    unsigned seed = 99;
    for (int iter = 0; iter < 2000; iter++) {
        char s[256];
        size_t n = 0;
        while (n < sizeof s - 4) {
            unsigned cp = rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 0x110000 : rand_r(&seed) % 0x80;
            if (cp >= 0xd800 && cp <= 0xdfff) continue;
            char u[4];
            size_t k;
            if (cp < 0x80) { u[0] = (char)cp; k = 1; }
            else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
            else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f)); k = 3;
            } else {
                u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); k = 4;
            }
            if (rand_r(&seed) % 8 == 0) break;
            memcpy(s + n, u, k);
            n += k;
        }
        roundtrip(&r, s, n);
    }
    /* any bytes at all give valid JSON (read back as Latin-1 where not UTF-8) */
    for (int iter = 0; iter < 2000; iter++) {
        char s[64];
        size_t n = rand_r(&seed) % sizeof s;
        for (size_t i = 0; i < n; i++) s[i] = (char)rand_r(&seed);
        char *o = quoted(s, n);
        OK(&r, o);
        free(o);
    }
    tc_json_reader_free(&r);
}

/* ------------------------------------------------------------ reuse */

static void test_reader_reuse(void **state)
{
    (void)state;
    tc_json_reader r;
    tc_json_reader_init(&r, TC_JSON_UNIQUE_KEYS | TC_JSON_INTEGERS_ONLY);
    char line[256];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(line, sizeof line,
                         "{\"process\":%d,\"type\":\"ok\",\"f\":\"write\",\"key\":\"k%d\",\"value\":\"%d\",\"time\":%d}",
                         i % 10, i % 7, i, i);
        const tc_json *v;
        assert_int_equal(tc_json_parse(&r, line, (size_t)n, &v), 0);
        assert_int_equal(tc_json_get(v, "time")->i, i);
    }
    /* an error leaves the reader usable */
    const tc_json *v;
    assert_int_equal(tc_json_parse(&r, "{\"a\":", 5, &v), -EINVAL);
    assert_null(v);
    assert_int_equal(tc_json_parse(&r, "{\"a\":1}", 7, &v), 0);
    assert_int_equal(r.err[0], '\0');
    tc_json_reader_free(&r);
    tc_json_reader_free(&r); /* twice is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_structure),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_reader_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
