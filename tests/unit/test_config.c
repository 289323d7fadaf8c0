/* Unit tests for the TOML reader (node/toml.c) and the node configuration
 * (node/config.c): parsing, error messages with their line numbers, bounds
 * of every setting, CONFIG GET/SET, and the shipped cluster.toml.example
 * (path from argv[1] or the TC_EXAMPLE_CONFIG environment variable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "common.h"

static const char *example_path;

/* ---------- helpers ---------- */

/* Parses text that must be valid TOML. */
static tc_toml_table *toml_ok_at(const char *text, size_t len, const char *file, int line)
{
    tc_toml_table *t = NULL;
    tc_toml_error e;
    if (tc_toml_parse(text, len, &t, &e) != 0) {
        print_error("unexpected TOML error on line %d: %s\n--- input ---\n%s\n", e.line, e.message, text);
        _fail(file, line);
    }
    return t;
}
#define toml_ok(text) toml_ok_at(text, strlen(text), __FILE__, __LINE__)

/* Text (a literal, so it may hold NUL bytes) must fail on `want_line` with a
 * message containing `part`. */
static void toml_err_at(const char *text, size_t len, int want_line, const char *part, const char *file, int line)
{
    tc_toml_table *t = (tc_toml_table *)1;
    tc_toml_error e;
    int rc = tc_toml_parse(text, len, &t, &e);
    if (rc != -1 || t != NULL || e.line != want_line || !strstr(e.message, part)) {
        print_error("want error on line %d containing \"%s\"; got rc=%d line=%d message=\"%s\"\n", want_line, part, rc,
                    e.line, rc ? e.message : "");
        if (rc == 0) tc_toml_free(t);
        _fail(file, line);
    }
}
#define toml_err(text, want_line, part) toml_err_at(text, sizeof(text) - 1, want_line, part, __FILE__, __LINE__)

static const tc_toml_value *get(const tc_toml_table *t, const char *key, tc_toml_type type)
{
    const tc_toml_entry *e = tc_toml_find(t, key);
    assert_non_null(e);
    assert_int_equal(e->value.type, type);
    return &e->value;
}

/* One valid node, appended to settings under test. */
#define NODE1 "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n"
#define NODE2 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:7002\"\nraft_addr = \"127.0.0.1:7102\"\n"

static char errbuf[4096];

static int cfg_parse(tc_config *c, const char *text)
{
    return tc_config_parse(c, "test.toml", text, strlen(text), errbuf, sizeof errbuf);
}

static void cfg_ok_at(tc_config *c, const char *text, const char *file, int line)
{
    if (cfg_parse(c, text) != 0) {
        print_error("unexpected config error:\n%s\n--- input ---\n%s\n", errbuf, text);
        _fail(file, line);
    }
}
#define cfg_ok(c, text) cfg_ok_at(c, text, __FILE__, __LINE__)

/* Must fail with "test.toml:<line>: " and contain part (message or hint). */
static void cfg_err_at(const char *text, int want_line, const char *part, const char *file, int line)
{
    tc_config c;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "test.toml:%d: ", want_line);
    int rc = cfg_parse(&c, text);
    if (rc != -1 || strncmp(errbuf, prefix, strlen(prefix)) != 0 || !strstr(errbuf, part) ||
        !strstr(errbuf, "\n  hint: ")) {
        print_error("want \"%s...%s\", got rc=%d:\n%s\n--- input ---\n%s\n", prefix, part, rc, rc ? errbuf : "", text);
        _fail(file, line);
    }
}
#define cfg_err(text, want_line, part) cfg_err_at(text, want_line, part, __FILE__, __LINE__)

/* "name = value\n" followed by one node. */
static const char *with_node(const char *name, const char *value)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s = %s\n" NODE1, name, value);
    return buf;
}

/* CONFIG GET into a small list. */
typedef struct got {
    int n;
    char names[96][64];
    char values[96][TC_CONFIG_MAX_STR + 32];
} got;

static void collect(void *ud, const char *name, const char *value)
{
    got *g = ud;
    assert_true(g->n < 96);
    snprintf(g->names[g->n], sizeof g->names[g->n], "%s", name);
    snprintf(g->values[g->n], sizeof g->values[g->n], "%s", value);
    g->n++;
}

/* The single value CONFIG GET returns for an exact name. */
static const char *config_get1(const tc_config *c, const char *name)
{
    static got g;
    memset(&g, 0, sizeof g);
    assert_int_equal(tc_config_get(c, name, collect, &g), 1);
    return g.values[0];
}

static char *repeat(char ch, size_t n)
{
    static char buf[4][600];
    static int which;
    char *b = buf[which++ % 4];
    assert_true(n < sizeof buf[0]);
    memset(b, ch, n);
    b[n] = '\0';
    return b;
}

/* ---------- TOML: what parses ---------- */

static void test_toml_empty_and_comments(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("");
    assert_int_equal(t->len, 0);
    tc_toml_free(t);
    t = toml_ok("# only a comment\n\n   \t\n# another # with hash\n");
    assert_int_equal(t->len, 0);
    tc_toml_free(t);
    t = toml_ok("a = 1 # trailing comment\nb = \"# not a comment\" # but this is");
    assert_int_equal(get(t, "a", TC_TOML_INTEGER)->as.integer, 1);
    assert_string_equal(get(t, "b", TC_TOML_STRING)->as.string, "# not a comment");
    tc_toml_free(t);
    tc_toml_free(NULL);
}

static void test_toml_keys(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("bare_key-1 = 1\n\"quoted key\" = 2\n'literal \\key' = 3\n\"\" = 4\n"
                               "\"\\u00e9t\\u00e9\" = 5\n  indented\t=\t6\n1234 = 7\n");
    assert_int_equal(t->len, 7);
    assert_int_equal(get(t, "bare_key-1", TC_TOML_INTEGER)->as.integer, 1);
    assert_int_equal(get(t, "quoted key", TC_TOML_INTEGER)->as.integer, 2);
    assert_int_equal(get(t, "literal \\key", TC_TOML_INTEGER)->as.integer, 3);
    assert_int_equal(get(t, "", TC_TOML_INTEGER)->as.integer, 4);
    assert_int_equal(get(t, "\xc3\xa9t\xc3\xa9", TC_TOML_INTEGER)->as.integer, 5);
    assert_int_equal(get(t, "indented", TC_TOML_INTEGER)->as.integer, 6);
    assert_int_equal(get(t, "1234", TC_TOML_INTEGER)->as.integer, 7);
    /* order and lines are kept */
    assert_string_equal(t->entries[0].key, "bare_key-1");
    assert_int_equal(t->entries[0].line, 1);
    assert_int_equal(t->entries[6].line, 7);
    assert_null(tc_toml_find(t, "missing"));
    assert_null(tc_toml_find(NULL, "a"));
    tc_toml_free(t);
}

static void test_toml_strings(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("a = \"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f\"\n"
                               "u = \"\\u00e9 \\U0001F600 \\u20AC\"\n"
                               "lit = 'C:\\path\\n \"quoted\"'\n"
                               "empty = \"\"\n"
                               "elit = ''\n"
                               "tab = \"a\tb\"\n"
                               "utf8 = \"\xe2\x82\xac\"\n");
    assert_string_equal(get(t, "a", TC_TOML_STRING)->as.string, "q\" b\\ n\n t\t r\r b\b f\f");
    assert_string_equal(get(t, "u", TC_TOML_STRING)->as.string, "\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
    assert_string_equal(get(t, "lit", TC_TOML_STRING)->as.string, "C:\\path\\n \"quoted\"");
    assert_string_equal(get(t, "empty", TC_TOML_STRING)->as.string, "");
    assert_string_equal(get(t, "elit", TC_TOML_STRING)->as.string, "");
    assert_string_equal(get(t, "tab", TC_TOML_STRING)->as.string, "a\tb");
    assert_string_equal(get(t, "utf8", TC_TOML_STRING)->as.string, "\xe2\x82\xac");
    assert_int_equal(get(t, "utf8", TC_TOML_STRING)->line, 7);
    tc_toml_free(t);
}

static void test_toml_integers_and_booleans(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("zero = 0\npz = +0\nnz = -0\np = +17\nn = -42\nu = 1_000_000\n"
                               "max = 9223372036854775807\nmin = -9223372036854775808\nyes = true\nno = false\n");
    assert_int_equal(get(t, "zero", TC_TOML_INTEGER)->as.integer, 0);
    assert_int_equal(get(t, "pz", TC_TOML_INTEGER)->as.integer, 0);
    assert_int_equal(get(t, "nz", TC_TOML_INTEGER)->as.integer, 0);
    assert_int_equal(get(t, "p", TC_TOML_INTEGER)->as.integer, 17);
    assert_true(get(t, "n", TC_TOML_INTEGER)->as.integer == -42);
    assert_int_equal(get(t, "u", TC_TOML_INTEGER)->as.integer, 1000000);
    assert_true(get(t, "max", TC_TOML_INTEGER)->as.integer == INT64_MAX);
    assert_true(get(t, "min", TC_TOML_INTEGER)->as.integer == INT64_MIN);
    assert_int_equal(get(t, "yes", TC_TOML_BOOLEAN)->as.boolean, 1);
    assert_int_equal(get(t, "no", TC_TOML_BOOLEAN)->as.boolean, 0);
    tc_toml_free(t);
}

static void test_toml_arrays(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("empty = []\n"
                               "one = [1]\n"
                               "multi = [\n"
                               "  \"a\", # first\n"
                               "  'b',\n"
                               "\n"
                               "  # a comment line\n"
                               "  3, true,\n"
                               "]\n"
                               "nested = [[1, 2], [], [[\"deep\"]]]\n"
                               "after = 1\n");
    assert_int_equal(get(t, "empty", TC_TOML_ARRAY)->as.array.len, 0);
    assert_int_equal(get(t, "one", TC_TOML_ARRAY)->as.array.len, 1);
    const tc_toml_value *m = get(t, "multi", TC_TOML_ARRAY);
    assert_int_equal(m->as.array.len, 4);
    assert_int_equal(m->as.array.of_tables, 0);
    assert_int_equal(m->line, 3);
    assert_string_equal(m->as.array.items[0].as.string, "a");
    assert_int_equal(m->as.array.items[0].line, 4);
    assert_string_equal(m->as.array.items[1].as.string, "b");
    assert_int_equal(m->as.array.items[2].as.integer, 3);
    assert_int_equal(m->as.array.items[2].line, 8);
    assert_int_equal(m->as.array.items[3].type, TC_TOML_BOOLEAN);
    const tc_toml_value *n = get(t, "nested", TC_TOML_ARRAY);
    assert_int_equal(n->as.array.len, 3);
    assert_int_equal(n->as.array.items[0].as.array.len, 2);
    assert_int_equal(n->as.array.items[1].as.array.len, 0);
    assert_string_equal(n->as.array.items[2].as.array.items[0].as.array.items[0].as.string, "deep");
    assert_int_equal(get(t, "after", TC_TOML_INTEGER)->line, 11);
    tc_toml_free(t);
}

static void test_toml_tables(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("top = 1\n"
                               "[server]\n"
                               "port = 1\n"
                               "[[node]]\n"
                               "id = 1\n"
                               "[ \"quoted table\" ]\n"
                               "x = 'y'\n"
                               "[[node]] # second\n"
                               "id = 2\n"
                               "[[node]]\n");
    assert_int_equal(t->line, 0);
    const tc_toml_value *server = get(t, "server", TC_TOML_TABLE);
    assert_int_equal(server->as.table->line, 2);
    assert_int_equal(get(server->as.table, "port", TC_TOML_INTEGER)->as.integer, 1);
    const tc_toml_value *nodes = get(t, "node", TC_TOML_ARRAY);
    assert_int_equal(nodes->as.array.of_tables, 1);
    assert_int_equal(nodes->as.array.len, 3);
    assert_int_equal(tc_toml_find(t, "node")->line, 4);
    assert_int_equal(nodes->as.array.items[0].as.table->line, 4);
    assert_int_equal(nodes->as.array.items[1].as.table->line, 8);
    assert_int_equal(nodes->as.array.items[2].as.table->len, 0);
    assert_int_equal(get(nodes->as.array.items[1].as.table, "id", TC_TOML_INTEGER)->as.integer, 2);
    assert_string_equal(get(get(t, "quoted table", TC_TOML_TABLE)->as.table, "x", TC_TOML_STRING)->as.string, "y");
    /* the same key in different tables is fine */
    tc_toml_free(t);
    t = toml_ok("[a]\nk = 1\n[b]\nk = 2\n[[c]]\nk = 1\n[[c]]\nk = 2\n");
    tc_toml_free(t);
}

static void test_toml_crlf_and_lines(void **state)
{
    (void)state;
    tc_toml_table *t = toml_ok("a = 1\r\n\r\n[t]\r\nb = \"x\" # c\r\n");
    assert_int_equal(tc_toml_find(t, "a")->line, 1);
    const tc_toml_value *tv = get(t, "t", TC_TOML_TABLE);
    assert_int_equal(tv->as.table->line, 3);
    assert_int_equal(tc_toml_find(tv->as.table, "b")->line, 4);
    tc_toml_free(t);
    /* no final newline */
    t = toml_ok("a = 1");
    tc_toml_free(t);
}

static void test_toml_type_names(void **state)
{
    (void)state;
    assert_string_equal(tc_toml_type_name(TC_TOML_STRING), "a string");
    assert_string_equal(tc_toml_type_name(TC_TOML_INTEGER), "an integer");
    assert_string_equal(tc_toml_type_name(TC_TOML_BOOLEAN), "a boolean");
    assert_string_equal(tc_toml_type_name(TC_TOML_ARRAY), "an array");
    assert_string_equal(tc_toml_type_name(TC_TOML_TABLE), "a table");
}

/* ---------- TOML: errors and their lines ---------- */

static void test_toml_error_strings(void **state)
{
    (void)state;
    toml_err("a = 1\nb = 2\nc = \"abc\nd = 4\n", 3, "unterminated string");
    toml_err("a = 1\n\nc = 'abc", 3, "unterminated string");
    toml_err("a = \"abc\\", 1, "unterminated string");
    toml_err("a = 1\nb = \"\\q\"\n", 2, "unknown escape sequence '\\q' in string");
    toml_err("b = \"\\x41\"\n", 1, "unknown escape sequence '\\x'");
    toml_err("b = \"\\ \"\n", 1, "unknown escape sequence: '\\' followed by byte 0x20");
    toml_err("a = 1\nb = \"\\u12\"\n", 2, "\\u must be followed by 4 hex digits");
    toml_err("b = \"\\U0001F60\"\n", 1, "\\U must be followed by 8 hex digits");
    toml_err("\n\nb = \"\\u0000\"\n", 3, "NUL is not allowed");
    toml_err("b = \"\\uD800\"\n", 1, "invalid Unicode escape");
    toml_err("b = \"\\U00110000\"\n", 1, "invalid Unicode escape");
    toml_err("a = 1\nb = \"x\x01y\"\n", 2, "control character (byte 0x01)");
    toml_err("b = 'x\x7fy'\n", 1, "control character (byte 0x7f)");
    toml_err("a = 1\nb = \"\"\"multi\nline\"\"\"\n", 2, "multi-line strings are not supported");
    toml_err("b = '''multi'''\n", 1, "multi-line strings are not supported");
    toml_err("b = \"x\" \"y\"\n", 1, "expected end of line after the value of 'b'");
}

static void test_toml_error_numbers(void **state)
{
    (void)state;
    toml_err("a = 1\nb = 12abc\n", 2, "invalid integer '12abc'");
    toml_err("a = 012\n", 1, "leading zeros are not allowed");
    toml_err("a = -012\n", 1, "leading zeros are not allowed");
    toml_err("a = 0_1\n", 1, "leading zeros are not allowed");
    toml_err("\na = 9223372036854775808\n", 2, "out of range");
    toml_err("a = -9223372036854775809\n", 1, "out of range");
    toml_err("a = 99999999999999999999999\n", 1, "out of range");
    toml_err("a = 1__0\n", 1, "invalid integer");
    toml_err("a = 1_\n", 1, "invalid integer");
    toml_err("a = +\n", 1, "invalid value");
    toml_err("a = 1\nb = 1.5\n", 2, "floats are not supported here");
    toml_err("a = 1e5\n", 1, "floats are not supported here");
    toml_err("a = -inf\n", 1, "floats are not supported here");
    toml_err("a = nan\n", 1, "floats are not supported here");
    toml_err("a = 0x1F\n", 1, "hexadecimal, octal and binary integers are not supported");
    toml_err("a = 0b101\n", 1, "hexadecimal, octal and binary integers are not supported");
    toml_err("a = 1979-05-27\n", 1, "dates and times are not supported");
    toml_err("a = 1979-05-27T07:32:00Z\n", 1, "dates and times are not supported");
    toml_err("a = 07:32:00\n", 1, "dates and times are not supported");
    toml_err("a = yes\n", 1, "invalid value 'yes' (strings must be quoted)");
    toml_err("a = True\n", 1, "invalid value 'True'");
    toml_err("a = truex\n", 1, "invalid value 'truex'");
}

static void test_toml_error_structure(void **state)
{
    (void)state;
    toml_err("hz = 1\nx = 2\nhz = 3\n", 3, "duplicate key 'hz' (first defined on line 1)");
    toml_err("\"a\" = 1\na = 2\n", 2, "duplicate key 'a'");
    toml_err("[t]\nk = 1\n\nk = 2\n", 4, "duplicate key 'k' (first defined on line 2)");
    toml_err("a = 1\nhz 10\n", 2, "expected '=' after key 'hz'");
    toml_err("hz\n", 1, "expected '=' after key 'hz'");
    toml_err("a = 1\nb.c = 2\n", 2, "dotted keys like 'b.c' are not supported");
    toml_err("a . b = 2\n", 1, "dotted keys");
    toml_err("[t]\na = 1\n[t]\n", 3, "table [t] is defined twice (first on line 1)");
    toml_err("[[t]]\n[t]\n", 2, "conflicts with the array of tables [[t]]");
    toml_err("[t]\n[[t]]\n", 2, "[[t]] conflicts with table [t]");
    toml_err("t = 1\n[t]\n", 2, "[t] redefines key 't' (first defined on line 1)");
    toml_err("t = [1]\n[[t]]\n", 2, "[[t]] redefines key 't'");
    toml_err("[a.b]\n", 1, "dotted table names like [a.b] are not supported");
    toml_err("[[a.b]]\n", 1, "dotted table names like [[a.b]] are not supported");
    toml_err("[a\n", 1, "expected ']' after table name 'a'");
    toml_err("[[a]\n", 1, "expected ']]' after table name 'a'");
    toml_err("[]\n", 1, "expected a key");
    toml_err("[t] x = 1\n", 1, "expected end of line after table header");
    toml_err("a = 1\n= 2\n", 2, "expected a key, found '='");
    toml_err("a = 1 2\n", 1, "expected end of line after the value of 'a', found '2'");
    toml_err("a = 1\rb = 2\n", 1, "carriage return");
    toml_err("a =\n", 1, "missing value");
    toml_err("a = # nothing\n", 1, "missing value");
    toml_err("a = {x = 1}\n", 1, "inline tables are not supported here");
    toml_err("a = @\n", 1, "unexpected '@'");
    toml_err("@ = 1\n", 1, "expected a key, found '@'");
}

static void test_toml_error_arrays(void **state)
{
    (void)state;
    toml_err("x = 1\na = [1,\n2,\n", 2, "unterminated array");
    toml_err("a = [\n", 1, "unterminated array");
    toml_err("a = [1 2]\n", 1, "expected ',' or ']' in array, found '2'");
    toml_err("a = [1,,2]\n", 1, "unexpected ','");
    toml_err("a = [,]\n", 1, "unexpected ','");
    toml_err("a = [\n1,\n2,\n]\nb = x\n", 5, "invalid value 'x'");
    toml_err("a = [\n1,\n\"open\n]\n", 3, "unterminated string");
    toml_err("a = [1] x\n", 1, "expected end of line");
    /* nesting is bounded */
    char deep[128];
    memset(deep, 0, sizeof deep);
    strcpy(deep, "a = ");
    memset(deep + 4, '[', 40);
    tc_toml_table *t;
    tc_toml_error e;
    assert_int_equal(tc_toml_parse(deep, strlen(deep), &t, &e), -1);
    assert_non_null(strstr(e.message, "nested too deeply"));
}

static void test_toml_error_bytes(void **state)
{
    (void)state;
    toml_err("a = 1\nb = \"x\0y\"\n", 2, "NUL byte in file");
    toml_err("\0", 1, "NUL byte in file");
    toml_err("# comment \0\n", 1, "NUL byte in file");
    toml_err("a = 1\n\nb = \"\xff\"\n", 3, "invalid UTF-8");
    toml_err("b = \"\xc0\x80\"\n", 1, "invalid UTF-8");           /* overlong NUL */
    toml_err("b = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8");       /* surrogate */
    toml_err("b = \"\xe2\x82\"\n", 1, "invalid UTF-8");           /* truncated */
    toml_err("b = \"x\"\n\xe2", 2, "invalid UTF-8");             /* truncated at the very end */

    /* input size is bounded */
    size_t big = TC_TOML_MAX_INPUT + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '\n', big);
    tc_toml_table *t;
    tc_toml_error e;
    assert_int_equal(tc_toml_parse(text, big, &t, &e), -1);
    assert_non_null(strstr(e.message, "too large"));
    /* the limit itself is fine */
    assert_int_equal(tc_toml_parse(text, big - 1, &t, &e), 0);
    tc_toml_free(t);
    free(text);

    /* not NUL-terminated: the parser must stop at len */
    char exact[5] = {'a', '=', '"', 'x', '"'};
    assert_int_equal(tc_toml_parse(exact, 4, &t, &e), -1);
    assert_non_null(strstr(e.message, "unterminated string"));
    assert_int_equal(tc_toml_parse(exact, 5, &t, &e), 0);
    tc_toml_free(t);
    assert_int_equal(tc_toml_parse(NULL, 0, &t, &e), 0);
    tc_toml_free(t);
}

static void test_toml_key_limit(void **state)
{
    (void)state;
    /* TC_TOML_MAX_KEYS keys are fine, one more is an error */
    size_t cap = (TC_TOML_MAX_KEYS + 1) * 16;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t o = 0;
    for (int i = 0; i < TC_TOML_MAX_KEYS; i++) o += (size_t)snprintf(text + o, cap - o, "k%d = %d\n", i, i);
    tc_toml_table *t;
    tc_toml_error e;
    assert_int_equal(tc_toml_parse(text, o, &t, &e), 0);
    tc_toml_free(t);
    o += (size_t)snprintf(text + o, cap - o, "one_more = 1\n");
    assert_int_equal(tc_toml_parse(text, o, &t, &e), -1);
    assert_int_equal(e.line, TC_TOML_MAX_KEYS + 1);
    assert_non_null(strstr(e.message, "too many keys"));
    free(text);
}

/* ---------- size and duration helpers ---------- */

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {
        {"0", 0},
        {"1024", 1024},
        {"1b", 1},
        {"1B", 1},
        {"64k", 64 << 10},
        {"64kb", 64 << 10},
        {"64KB", 64 << 10},
        {"512mb", UINT64_C(512) << 20},
        {"512M", UINT64_C(512) << 20},
        {"4gb", UINT64_C(4) << 30},
        {"4G", UINT64_C(4) << 30},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183gb", UINT64_C(17179869183) << 30},
    };
    static const char *const bad[] = {"",   "-1",   "+1",    "kb",  "12xb", "1 kb", " 1",  "1kbx", "1tb",
                                      "1.5mb", "0x10", "18446744073709551616", "17179869184gb", "1kb\n"};
    uint64_t v;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = 12345;
        assert_int_equal(tc_parse_size(good[i].s, &v), 0);
        assert_true(v == good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tc_parse_size(bad[i], &v) != -1) fail_msg("size \"%s\" should be rejected", bad[i]);
    }
    assert_int_equal(tc_parse_size(NULL, &v), -1);
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {
        {"0", 0}, {"0ms", 0}, {"0s", 0}, {"300ms", 300}, {"1s", 1000}, {"2m", 120000}, {"1h", 3600000},
        {"1H", 3600000}, {"10MS", 10}, {"00", 0},
    };
    static const char *const bad[] = {"",    "300", "1",   "-1s",  "+1s", "1d", "1.5s", "1s ", " 1s",
                                      "s",   "1sm", "1 s", "ms",   "18446744073709551615h", "99999999999999999999ms"};
    uint64_t v;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = 12345;
        if (tc_parse_duration_ms(good[i].s, &v) != 0) fail_msg("duration \"%s\" should parse", good[i].s);
        assert_true(v == good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tc_parse_duration_ms(bad[i], &v) != -1) fail_msg("duration \"%s\" should be rejected", bad[i]);
    }
    assert_int_equal(tc_parse_duration_ms(NULL, &v), -1);
}

/* ---------- config: loading ---------- */

static void test_config_defaults(void **state)
{
    (void)state;
    tc_config c;
    memset(&c, 0xab, sizeof c);
    tc_config_defaults(&c);
    assert_string_equal(c.cluster_name, "tricache");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.auth_token, "");
    assert_int_equal(c.log_level, TC_LOG_NOTICE);
    assert_int_equal(c.maxclients, 10000);
    assert_true(c.proto_max_bulk_len == UINT64_C(512) << 20);
    assert_int_equal(c.proto_max_multibulk_len, 1048576);
    assert_true(c.client_query_buffer_limit == UINT64_C(1) << 30);
    assert_true(c.client_output_buffer_limit == UINT64_C(1) << 30);
    assert_int_equal(c.timeout_ms, 0);
    assert_int_equal(c.tcp_backlog, 511);
    assert_int_equal(c.hz, 10);
    assert_int_equal(c.nnodes, 0);

    /* a file with only a node gets the same defaults */
    tc_config d;
    cfg_ok(&d, NODE1);
    assert_string_equal(d.path, "test.toml");
    memset(d.path, 0, sizeof d.path);
    d.nnodes = 0;
    memset(d.nodes, 0, sizeof d.nodes);
    memset(c.nodes, 0, sizeof c.nodes);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_config_full(void **state)
{
    (void)state;
    tc_config c;
    cfg_ok(&c, "cluster_name = \"prod-eu.1\"\n"
               "data_dir = '/var/lib/tricache'\n"
               "auth_token = \"s3cr3t!\"\n"
               "log_level = \"WARNING\"\n"
               "maxclients = 50_000\n"
               "proto_max_bulk_len = \"64mb\"\n"
               "proto_max_multibulk_len = 1024\n"
               "client_query_buffer_limit = 2097152\n"
               "client_output_buffer_limit = 0\n"
               "timeout = \"5m\"\n"
               "tcp_backlog = 1024\n"
               "hz = 100\n"
               "\n" NODE1 "data_dir = \"/srv/n1\"\n"
               "\n[[node]]\nid = 65535\nzone = \"b\"\nclient_addr = \"[::1]:7002\"\nraft_addr = \"node-2.example.com:65535\"\n");
    assert_string_equal(c.cluster_name, "prod-eu.1");
    assert_string_equal(c.data_dir, "/var/lib/tricache");
    assert_string_equal(c.auth_token, "s3cr3t!");
    assert_int_equal(c.log_level, TC_LOG_WARNING);
    assert_int_equal(c.maxclients, 50000);
    assert_true(c.proto_max_bulk_len == UINT64_C(64) << 20);
    assert_int_equal(c.proto_max_multibulk_len, 1024);
    assert_int_equal(c.client_query_buffer_limit, 2097152);
    assert_int_equal(c.client_output_buffer_limit, 0);
    assert_int_equal(c.timeout_ms, 300000);
    assert_int_equal(c.tcp_backlog, 1024);
    assert_int_equal(c.hz, 100);
    assert_int_equal(c.nnodes, 2);
    const tc_node_conf *n1 = tc_config_node(&c, 1), *n2 = tc_config_node(&c, 65535);
    assert_non_null(n1);
    assert_non_null(n2);
    assert_null(tc_config_node(&c, 3));
    assert_int_equal(n1->line, 14);
    assert_string_equal(n1->zone, "a");
    assert_string_equal(n1->client_host, "127.0.0.1");
    assert_int_equal(n1->client_port, 7001);
    assert_string_equal(n1->raft_host, "127.0.0.1");
    assert_int_equal(n1->raft_port, 7101);
    assert_string_equal(n1->data_dir, "/srv/n1");
    assert_string_equal(n2->client_host, "::1");
    assert_int_equal(n2->client_port, 7002);
    assert_string_equal(n2->raft_host, "node-2.example.com");
    assert_int_equal(n2->raft_port, 65535);
    assert_string_equal(n2->data_dir, "");
}

static void test_config_error_format(void **state)
{
    (void)state;
    tc_config c;
    assert_int_equal(cfg_parse(&c, "hz = 0\n" NODE1), -1);
    assert_string_equal(errbuf, "test.toml:1: hz must be between 1 and 500, got 0\n"
                                "  hint: hz is an integer between 1 and 500 (default 10)");
    /* TOML syntax errors use the same format */
    assert_int_equal(cfg_parse(&c, "hz = 1\nhz = 2\n"), -1);
    assert_string_equal(errbuf, "test.toml:2: duplicate key 'hz' (first defined on line 1)\n"
                                "  hint: each key may appear only once in a table");
    /* a small buffer is truncated, not overrun */
    char small[16];
    assert_int_equal(tc_config_parse(&c, "x.toml", "hz = 0", 6, small, sizeof small), -1);
    assert_string_equal(small, "x.toml:1: hz mu");
    assert_int_equal(tc_config_parse(&c, "x.toml", "hz = 0", 6, NULL, 0), -1);
}

/* Each row: TOML value for a setting; ok or not. Covers min-1, min, max, max+1. */
static void test_config_bounds(void **state)
{
    (void)state;
    char name63[80], name64[80], tok255[300], tok256[300], dir255[300], dir256[300];
    snprintf(name63, sizeof name63, "\"%s\"", repeat('n', 63));
    snprintf(name64, sizeof name64, "\"%s\"", repeat('n', 64));
    snprintf(tok255, sizeof tok255, "\"%s\"", repeat('t', 255));
    snprintf(tok256, sizeof tok256, "\"%s\"", repeat('t', 256));
    snprintf(dir255, sizeof dir255, "\"%s\"", repeat('d', 255));
    snprintf(dir256, sizeof dir256, "\"%s\"", repeat('d', 256));
    const struct {
        const char *name, *value;
        int ok;
    } rows[] = {
        {"cluster_name", "\"\"", 0},
        {"cluster_name", "\"a\"", 1},
        {"cluster_name", name63, 1},
        {"cluster_name", name64, 0},
        {"cluster_name", "\"has space\"", 0},
        {"cluster_name", "\"sl/ash\"", 0},
        {"cluster_name", "\"A-z_0.9\"", 1},
        {"data_dir", "\"\"", 0},
        {"data_dir", "\"d\"", 1},
        {"data_dir", dir255, 1},
        {"data_dir", dir256, 0},
        {"data_dir", "\"a\\nb\"", 0},
        {"auth_token", "\"\"", 1},
        {"auth_token", "\"x\"", 1},
        {"auth_token", tok255, 1},
        {"auth_token", tok256, 0},
        {"auth_token", "\"two words\"", 0},
        {"auth_token", "\"tab\\there\"", 0},
        {"auth_token", "\"caf\\u00e9\"", 0},
        {"log_level", "\"debug\"", 1},
        {"log_level", "\"info\"", 1},
        {"log_level", "\"notice\"", 1},
        {"log_level", "\"warning\"", 1},
        {"log_level", "\"verbose\"", 0},
        {"log_level", "\"\"", 0},
        {"maxclients", "0", 0},
        {"maxclients", "1", 1},
        {"maxclients", "1000000", 1},
        {"maxclients", "1000001", 0},
        {"maxclients", "-1", 0},
        {"proto_max_bulk_len", "1023", 0},
        {"proto_max_bulk_len", "\"1023\"", 0},
        {"proto_max_bulk_len", "1024", 1},
        {"proto_max_bulk_len", "\"1kb\"", 1},
        {"proto_max_bulk_len", "\"4gb\"", 1},
        {"proto_max_bulk_len", "4294967296", 1},
        {"proto_max_bulk_len", "4294967297", 0},
        {"proto_max_bulk_len", "-5", 0},
        {"proto_max_multibulk_len", "15", 0},
        {"proto_max_multibulk_len", "16", 1},
        {"proto_max_multibulk_len", "2147483647", 1},
        {"proto_max_multibulk_len", "2147483648", 0},
        {"client_query_buffer_limit", "1048575", 0},
        {"client_query_buffer_limit", "\"1mb\"", 1},
        {"client_query_buffer_limit", "\"4gb\"", 1},
        {"client_query_buffer_limit", "4294967297", 0},
        {"client_output_buffer_limit", "0", 1},
        {"client_output_buffer_limit", "\"0\"", 1},
        {"client_output_buffer_limit", "1", 0},
        {"client_output_buffer_limit", "1048575", 0},
        {"client_output_buffer_limit", "\"1mb\"", 1},
        {"client_output_buffer_limit", "\"18446744073709551615\"", 1},
        {"client_output_buffer_limit", "\"18446744073709551616\"", 0},
        {"timeout", "\"0\"", 1},
        {"timeout", "\"1ms\"", 1},
        {"timeout", "\"2147483647s\"", 1},
        {"timeout", "\"2147483647001ms\"", 0},
        {"timeout", "\"2147483648s\"", 0},
        {"timeout", "\"-1s\"", 0},
        {"tcp_backlog", "0", 0},
        {"tcp_backlog", "1", 1},
        {"tcp_backlog", "65535", 1},
        {"tcp_backlog", "65536", 0},
        {"hz", "0", 0},
        {"hz", "1", 1},
        {"hz", "500", 1},
        {"hz", "501", 0},
        {"active_expire_effort", "0", 0},
        {"active_expire_effort", "1", 1},
        {"active_expire_effort", "10", 1},
        {"active_expire_effort", "11", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tc_config c;
        const char *text = with_node(rows[i].name, rows[i].value);
        int rc = cfg_parse(&c, text);
        if (rows[i].ok && rc != 0) fail_msg("%s = %s should load, got:\n%s", rows[i].name, rows[i].value, errbuf);
        if (!rows[i].ok) {
            if (rc != -1) fail_msg("%s = %s should be rejected", rows[i].name, rows[i].value);
            /* the error is on the setting's line and the hint describes the setting */
            char want_hint[80];
            snprintf(want_hint, sizeof want_hint, "\n  hint: %s ", rows[i].name);
            if (strncmp(errbuf, "test.toml:1: ", 13) != 0 || !strstr(errbuf, want_hint))
                fail_msg("%s = %s: unexpected error:\n%s", rows[i].name, rows[i].value, errbuf);
        }
    }
    /* accepted values are stored */
    tc_config c;
    cfg_ok(&c, with_node("cluster_name", name63));
    assert_int_equal(strlen(c.cluster_name), 63);
    cfg_ok(&c, with_node("auth_token", tok255));
    assert_int_equal(strlen(c.auth_token), 255);
    cfg_ok(&c, with_node("timeout", "\"2147483647s\""));
    assert_true(c.timeout_ms == UINT64_C(2147483647000));
    cfg_ok(&c, with_node("client_output_buffer_limit", "\"18446744073709551615\""));
    assert_true(c.client_output_buffer_limit == UINT64_MAX);
    cfg_ok(&c, with_node("big_buffer_keep", "0"));
    assert_true(c.big_buffer_keep == 0);
    cfg_ok(&c, with_node("big_buffer_keep", "\"2gb\""));
    assert_true(c.big_buffer_keep == UINT64_C(2) << 30);
}

static void test_config_hints(void **state)
{
    (void)state;
    cfg_err(with_node("proto_max_bulk_len", "\"1023\""), 1,
            "hint: proto_max_bulk_len is a size such as \"512mb\" (units kb, mb, gb) between 1kb and 4gb (default \"512mb\")");
    cfg_err(with_node("client_output_buffer_limit", "5"), 1, "at least 1mb, or 0 for unlimited (default \"1gb\")");
    cfg_err(with_node("big_buffer_keep", "\"100kb\""), 1, "(default \"512mb\")");
    cfg_err(with_node("big_buffer_keep", "\"65gb\""), 1, "big_buffer_keep");
    cfg_err(with_node("log_level", "\"loud\""), 1, "log_level: unknown value \"loud\"");
    cfg_err(with_node("log_level", "\"loud\""), 1, "hint: log_level is one of debug, info, notice, warning (default \"notice\")");
    cfg_err(with_node("cluster_name", "\"a b\""), 1, "cluster_name may only contain A-Z a-z 0-9 _ . -");
    cfg_err(with_node("proto_max_bulk_len", "\"12xb\""), 1, "proto_max_bulk_len: \"12xb\" is not a size");
    cfg_err(with_node("timeout", "\"5\""), 1, "timeout: \"5\" is not a duration");
}

static void test_config_wrong_types(void **state)
{
    (void)state;
    cfg_err(with_node("hz", "\"10\""), 1, "hz must be an integer, not a string");
    cfg_err(with_node("hz", "true"), 1, "hz must be an integer, not a boolean");
    cfg_err(with_node("maxclients", "[1]"), 1, "maxclients must be an integer, not an array");
    cfg_err(with_node("cluster_name", "5"), 1, "cluster_name must be a string, not an integer");
    cfg_err(with_node("log_level", "1"), 1, "log_level must be a string, not an integer");
    cfg_err(with_node("proto_max_bulk_len", "true"), 1, "proto_max_bulk_len must be a size");
    cfg_err(with_node("timeout", "300"), 1, "timeout needs a unit");
    cfg_err(with_node("timeout", "300"), 1, "hint: write the duration as a string with a unit, e.g. timeout = \"300ms\"");
    cfg_err(with_node("timeout", "0"), 1, "timeout needs a unit");
    cfg_err(with_node("timeout", "false"), 1, "timeout must be a duration string");
    cfg_err("[hz]\n" NODE1, 1, "hz must be an integer, not a table");
    cfg_err(NODE1 "[hz]\n", 6, "hz must be an integer, not a table");
    cfg_err("node = 5\n", 1, "node must be an array of tables ([[node]]), not an integer");
    cfg_err("[node]\nid = 1\n", 1, "node must be an array of tables ([[node]]), not a table");
    cfg_err("hz = 1.5\n" NODE1, 1, "floats are not supported here");
}

static void test_config_backup_table(void **state)
{
    (void)state;
    tc_config c;
    cfg_ok(&c, "keys_dir = \"/etc/tricache/keys\"\nat_rest_encryption = true\n"
               "[backup]\ndestination = \"s3://bucket/prod\"\ninterval = \"1h\"\nretain = 24\n"
               "s3_endpoint = \"http://127.0.0.1:9000\"\ns3_region = \"eu-west-1\"\ns3_path_style = true\n" NODE1);
    assert_true(c.at_rest_encryption);
    assert_string_equal(c.keys_dir, "/etc/tricache/keys");
    assert_string_equal(c.backup.destination, "s3://bucket/prod");
    assert_int_equal(c.backup.interval_ms, 3600000);
    assert_int_equal(c.backup.retain, 24);
    assert_string_equal(c.backup.s3_endpoint, "http://127.0.0.1:9000");
    assert_string_equal(c.backup.s3_region, "eu-west-1");
    assert_true(c.backup.s3_path_style);

    cfg_err("[backup]\nretian = 3\n" NODE1, 2, "unknown setting 'retian' in [backup]\n  hint: did you mean 'retain'?");
    cfg_err("[backup]\ndestination = \"/var/backups\"\n" NODE1, 2, "must start with file:/// (an absolute folder) or s3://");
    cfg_err("[backup]\ndestination = \"s3:///x\"\n" NODE1, 2, "needs a bucket name after s3://");
    cfg_err("[backup]\ninterval = \"10ms\"\n" NODE1, 2, "backup.interval = \"10ms\" is out of range");
    cfg_err("[backup]\nretain = 0\n" NODE1, 2, "backup.retain must be between 1 and 100000, got 0");
    cfg_err("[backup]\ns3_endpoint = \"minio:9000\"\n" NODE1, 2, "must start with http:// or https://");
    cfg_err("backup = 1\n" NODE1, 1, "backup must be a table ([backup]), not an integer");
    cfg_err("at_rest_encryption = true\n" NODE1, 6, "at_rest_encryption = true needs keys_dir");
}

static void test_config_unknown_keys(void **state)
{
    (void)state;
    cfg_err(with_node("maxclient", "5"), 1, "unknown setting 'maxclient'\n  hint: did you mean 'maxclients'?");
    cfg_err(with_node("max_clients", "5"), 1, "did you mean 'maxclients'?");
    cfg_err(with_node("HZ", "5"), 1, "did you mean 'hz'?");
    cfg_err(with_node("proto-max-bulk-len", "5"), 1, "did you mean 'proto_max_bulk_len'?");
    cfg_err(with_node("time_out", "\"1s\""), 1, "did you mean 'timeout'?");
    cfg_err(with_node("completely_unrelated", "1"), 1,
            "unknown setting 'completely_unrelated'\n  hint: known settings are cluster_name, data_dir, auth_token, "
            "log_level, maxclients, proto_max_bulk_len, proto_max_multibulk_len, big_buffer_keep, client_query_buffer_limit, "
            "client_output_buffer_limit, timeout, tcp_backlog, hz, active_expire_effort, latency_monitor_threshold, script_memory_limit, busy_reply_threshold, maxmemory, maxmemory_policy, maxmemory_samples, lfu_log_factor, "
            "lfu_decay_time, cluster_mode, databases, read_consistency, preferred_primary_zones, "
            "election_timeout, "
            "heartbeat_interval, "
            "replica_max_staleness, write_commit_timeout, apply_stall_timeout, shutdown_timeout, snapshot_threshold, snapshot_bytes, replicated_write_max_bytes, at_rest_encryption, keys_dir, "
            "cluster_secret_file, notify_keyspace_events, tls_cert_file, tls_key_file, tls_ca_cert_file, tls_ca_cert_dir, tls_auth_clients, "
            "tls_protocols, tls_ciphers, tls_ciphersuites, tls_session_caching, tls_replication, tls_raft_cert_file, "
            "tls_raft_key_file, transit_encryption_mode, enable_debug_command, acl_file, the encoding thresholds (hash_max_listpack_entries and the like), a [backup] table and [[node]] tables");
    cfg_err(with_node("hash_max_listpack_entrie", "5"), 1, "did you mean 'hash_max_listpack_entries'?");
    cfg_err(with_node("list_max_listpack_size", "-3000000000"), 1,
            "list_max_listpack_size must be between -2147483648 and 2147483647");
    cfg_err(with_node(repeat('x', 200), "1"), 1, "known settings are");
    cfg_err(NODE1 "[server]\nport = 1\n", 6, "unknown table 'server'");
    cfg_err("[[nodes]]\nid = 1\n", 1, "unknown table 'nodes'\n  hint: did you mean 'node'?");
    cfg_err("\"we\\u00efrd\\tkey\" = 1\n" NODE1, 1, "unknown setting 'we\\xc3\\xafrd\\x09key'");
    /* inside [[node]] */
    cfg_err(NODE1 "zon = \"x\"\n", 6, "unknown key 'zon' in [[node]]\n  hint: did you mean 'zone'?");
    cfg_err(NODE1 "weight = 3\n", 6, "hint: node keys are id, zone, client_addr, raft_addr, data_dir, join");
    cfg_err(NODE1 "client-addr = \"x:1\"\n", 6, "did you mean 'client_addr'?");
}

static void test_config_nodes(void **state)
{
    (void)state;
    tc_config c;
    cfg_err("", 1, "no [[node]] tables: at least one node is required");
    cfg_err("hz = 10\n\n# nothing else\n", 3, "at least one node is required");
    cfg_err(NODE1 NODE1, 7, "duplicate node id 1 (also used by the node on line 1)");
    cfg_err(NODE1 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7102\"\n", 9,
            "client_addr 127.0.0.1:7001 is already used by node 1 (line 1)");
    cfg_err(NODE1 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:7101\"\nraft_addr = \"127.0.0.1:7102\"\n", 9,
            "client_addr 127.0.0.1:7101 is already used by node 1");
    cfg_err(NODE1 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:7002\"\nraft_addr = \"127.0.0.1:7001\"\n", 10,
            "raft_addr 127.0.0.1:7001 is already used by node 1");
    cfg_err(NODE1 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"LOCALHOST:7002\"\nraft_addr = \"x:1\"\n"
                  "[[node]]\nid = 3\nzone = \"c\"\nclient_addr = \"localhost:7002\"\nraft_addr = \"x:2\"\n",
            14, "client_addr localhost:7002 is already used by node 2 (line 6)");
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"[::1]:7001\"\nraft_addr = \"[::1]:7001\"\n", 5,
            "raft_addr [::1]:7001 is the same as this node's client_addr");
    /* a different port or host is fine */
    cfg_ok(&c, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"[::1]:7001\"\nraft_addr = \"[::1]:7002\"\n");
    cfg_ok(&c, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"10.0.0.1:7001\"\nraft_addr = \"10.0.0.2:7001\"\n");

    /* tls_client_addr: optional, its own address */
    cfg_ok(&c, NODE1);
    assert_int_equal(c.nodes[0].tls_port, 0);
    cfg_ok(&c, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n"
               "tls_client_addr = \"127.0.0.1:7201\"\n");
    assert_string_equal(c.nodes[0].tls_host, "127.0.0.1");
    assert_int_equal(c.nodes[0].tls_port, 7201);
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n"
            "tls_client_addr = \"127.0.0.1:7001\"\n",
            6, "tls_client_addr 127.0.0.1:7001 is the same as this node's client_addr");
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n"
            "tls_client_addr = \"127.0.0.1:7101\"\n",
            6, "tls_client_addr 127.0.0.1:7101 is the same as this node's raft_addr");
    cfg_err(NODE1 "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:7002\"\nraft_addr = \"127.0.0.1:7102\"\n"
                  "tls_client_addr = \"127.0.0.1:7101\"\n",
            11, "tls_client_addr 127.0.0.1:7101 is already used by node 1");
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n"
            "tls_client_addr = \"127.0.0.1\"\n",
            6, "tls_client_addr \"127.0.0.1\"");
    /* the TLS settings */
    cfg_ok(&c, with_node("tls_protocols", "\"TLSv1.3\""));
    cfg_ok(&c, with_node("tls_auth_clients", "\"optional\""));
    assert_int_equal(c.tls_auth_clients, TC_TLS_AUTH_OPTIONAL);
    cfg_err(with_node("tls_protocols", "\"TLSv1.2 SSLv3\""), 1, "may only list TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3");
    cfg_err(with_node("tls_protocols", "\"  \""), 1, "must list at least one of");
    cfg_err(with_node("tls_auth_clients", "\"maybe\""), 1, "tls_auth_clients");
    char why[256];
    tc_config d;
    tc_config_defaults(&d);
    assert_int_equal(tc_config_set(&d, "tls-protocols", "TLSv1.4", why, sizeof why), -3);
    assert_string_equal(d.tls_protocols, "");
    assert_int_equal(tc_config_set(&d, "tls-session-caching", "no", why, sizeof why), 0);
    assert_int_equal(d.tls_session_caching, 0);

    /* TLS between nodes and transit_encryption_mode: what each needs */
#define RAFT_TLS "tls_replication = true\ntls_ca_cert_file = \"/ca.crt\"\ntls_raft_cert_file = \"/n-{id}.crt\"\n" \
                 "tls_raft_key_file = \"/n-{id}.key\"\n"
#define NODE1_TLS NODE1 "tls_client_addr = \"127.0.0.1:7201\"\n"
    cfg_ok(&c, RAFT_TLS NODE1);
    assert_int_equal(c.tls_replication, 1);
    assert_string_equal(c.tls_raft_cert_file, "/n-{id}.crt");
    assert_int_equal(c.transit_mode, TC_TRANSIT_UNSET);
    cfg_ok(&c, RAFT_TLS "transit_encryption_mode = \"preferred\"\n" NODE1_TLS);
    assert_int_equal(c.transit_mode, TC_TRANSIT_PREFERRED);
    cfg_ok(&c, RAFT_TLS "transit_encryption_mode = \"required\"\n" NODE1_TLS);
    assert_int_equal(c.transit_mode, TC_TRANSIT_REQUIRED);
    cfg_err(RAFT_TLS "transit_encryption_mode = \"always\"\n" NODE1_TLS, 5,
            "must be \"preferred\", \"required\" or empty");
    cfg_err("transit_encryption_mode = \"required\"\n" NODE1_TLS, 7,
            "transit_encryption_mode = \"required\" needs tls_replication = true");
    cfg_err(RAFT_TLS "transit_encryption_mode = \"preferred\"\n" NODE1, 6,
            "transit_encryption_mode = \"preferred\" needs a tls_client_addr for every node; node 1 has none");
    cfg_err("tls_replication = true\n" NODE1, 6, "tls_replication = true needs tls_ca_cert_file or tls_ca_cert_dir");
    cfg_err("tls_replication = true\ntls_ca_cert_file = \"/ca.crt\"\n" NODE1, 7,
            "tls_replication = true needs a certificate and key");
    /* the client port's files serve when no tls_raft_* is given */
    cfg_ok(&c, "tls_replication = true\ntls_ca_cert_file = \"/ca.crt\"\ntls_cert_file = \"/s.crt\"\n"
               "tls_key_file = \"/s.key\"\n" NODE1);
    cfg_err(with_node("tls_raft_cert_file", "\"/n-{id}-{id}.crt\""), 1, "may hold {id} once");
    assert_int_equal(tc_config_set(&d, "transit-encryption-mode", "required", why, sizeof why), -2);
    assert_int_equal(tc_config_set(&d, "tls-replication", "yes", why, sizeof why), -2);

    /* missing keys point at the [[node]] line */
    cfg_err(NODE1 "\n[[node]]\nid = 2\nclient_addr = \"h:1\"\nraft_addr = \"h:2\"\n", 7, "[[node]] is missing 'zone'");
    cfg_err("[[node]]\nzone = \"a\"\nclient_addr = \"h:1\"\nraft_addr = \"h:2\"\n", 1, "[[node]] is missing 'id'");
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nraft_addr = \"h:2\"\n", 1, "[[node]] is missing 'client_addr'");
    cfg_err("[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"h:2\"\n", 1, "[[node]] is missing 'raft_addr'");
    cfg_err("[[node]]\n", 1, "[[node]] is missing 'id'");

    /* values */
    static const char base[] = "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\nraft_addr = \"127.0.0.1:7101\"\n";
    char text[1024];
    static const struct {
        const char *key, *value, *part;
    } bad[] = {
        {"id", "0", "id must be between 1 and 65535, got 0"},
        {"id", "65536", "id must be between 1 and 65535, got 65536"},
        {"id", "-1", "id must be between 1 and 65535"},
        {"id", "\"1\"", "id must be an integer, not a string"},
        {"zone", "\"\"", "zone must not be empty"},
        {"zone", "1", "zone must be a string, not an integer"},
        {"zone", "\"a\\nb\"", "zone must not contain control characters"},
        {"client_addr", "\"127.0.0.1:0\"", "the port must be between 1 and 65535"},
        {"client_addr", "\"127.0.0.1:65536\"", "the port must be between 1 and 65535"},
        {"client_addr", "\"127.0.0.1:99999999999999999999\"", "the port must be a number"},
        {"client_addr", "\"127.0.0.1:abc\"", "the port must be a number"},
        {"client_addr", "\"127.0.0.1:-1\"", "the port must be a number"},
        {"client_addr", "\"127.0.0.1:\"", "the port is missing"},
        {"client_addr", "\"127.0.0.1\"", "missing ':port'"},
        {"client_addr", "\":7001\"", "the host is empty"},
        {"client_addr", "\"::1:7001\"", "IPv6 addresses must be written in brackets"},
        {"client_addr", "\"[::1\"", "missing ']'"},
        {"client_addr", "\"[]:7001\"", "the host is empty"},
        {"client_addr", "\"[::1]7001\"", "expected ':port' after ']'"},
        {"client_addr", "\"[hostname]:7001\"", "must be an IPv6 address"},
        {"client_addr", "\"bad host:7001\"", "the host may only contain"},
        {"client_addr", "\"\"", "missing ':port'"},
        {"client_addr", "7001", "client_addr must be a string, not an integer"},
        {"raft_addr", "\"h:0\"", "raft_addr \"h:0\": the port must be between 1 and 65535"},
        {"data_dir", "5", "data_dir must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* a later duplicate key would be a TOML error, so rebuild the node with the key replaced */
        size_t o = (size_t)snprintf(text, sizeof text, "[[node]]\n");
        static const char *const keys[] = {"id", "zone", "client_addr", "raft_addr"};
        static const char *const vals[] = {"1", "\"a\"", "\"127.0.0.1:7001\"", "\"127.0.0.1:7101\""};
        for (int k = 0; k < 4; k++)
            o += (size_t)snprintf(text + o, sizeof text - o, "%s = %s\n", keys[k],
                                  strcmp(keys[k], bad[i].key) == 0 ? bad[i].value : vals[k]);
        if (strcmp(bad[i].key, "data_dir") == 0) snprintf(text + o, sizeof text - o, "data_dir = %s\n", bad[i].value);
        int want_line = strcmp(bad[i].key, "data_dir") == 0 ? 6 : 0;
        for (int k = 0; k < 4; k++)
            if (strcmp(keys[k], bad[i].key) == 0) want_line = k + 2;
        cfg_err(text, want_line, bad[i].part);
    }
    cfg_ok(&c, base);

    /* long hosts */
    snprintf(text, sizeof text, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"%s:1\"\nraft_addr = \"h:2\"\n",
             repeat('h', 255));
    cfg_ok(&c, text);
    snprintf(text, sizeof text, "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"%s:1\"\nraft_addr = \"h:2\"\n",
             repeat('h', 256));
    cfg_err(text, 4, "the host is too long");
    snprintf(text, sizeof text, "[[node]]\nid = 1\nzone = \"%s\"\nclient_addr = \"h:1\"\nraft_addr = \"h:2\"\n",
             repeat('z', 64));
    cfg_err(text, 3, "zone is too long");

    /* at most TC_CONFIG_MAX_NODES */
    char *many = malloc(64 * 1024);
    assert_non_null(many);
    size_t o = 0;
    for (int i = 1; i <= TC_CONFIG_MAX_NODES; i++)
        o += (size_t)snprintf(many + o, 64 * 1024 - o,
                              "[[node]]\nid = %d\nzone = \"z\"\nclient_addr = \"h:%d\"\nraft_addr = \"h:%d\"\n", i,
                              1000 + i, 2000 + i);
    cfg_ok(&c, many);
    assert_int_equal(c.nnodes, TC_CONFIG_MAX_NODES);
    snprintf(many + o, 64 * 1024 - o, "[[node]]\nid = 99\nzone = \"z\"\nclient_addr = \"h:9\"\nraft_addr = \"h:10\"\n");
    cfg_err(many, TC_CONFIG_MAX_NODES * 5 + 1, "too many [[node]] tables (at most 16)");
    free(many);
}

static void test_config_load_file(void **state)
{
    (void)state;
    tc_config c;
    char err[512];
    assert_int_equal(tc_config_load(&c, "/nonexistent/dir/cluster.toml", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/dir/cluster.toml: cannot open config file: No such file or directory\n"
                             "  hint: pass --config with the path of your cluster.toml (see cluster.toml.example)");

    assert_int_equal(tc_config_load(&c, "/", err, sizeof err), -1);
    assert_non_null(strstr(err, "/: cannot read config file: Is a directory"));

    char path[] = "/tmp/tc_config_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("hz = 20\n" NODE1, f);
    fclose(f);
    assert_int_equal(tc_config_load(&c, path, err, sizeof err), 0);
    assert_int_equal(c.hz, 20);
    assert_string_equal(c.path, path);

    /* errors name the file */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("hz = 20\nhz = 21\n", f);
    fclose(f);
    assert_int_equal(tc_config_load(&c, path, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: duplicate key 'hz'", path);
    assert_true(strncmp(err, want, strlen(want)) == 0);

    /* exactly 1 MiB loads; one byte more is refused even if it is valid TOML */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(NODE1, f);
    long size = (long)strlen(NODE1);
    char pad[65]; /* a 64-byte comment line */
    memset(pad, '.', 64);
    pad[0] = '#', pad[63] = '\n', pad[64] = '\0';
    for (; size + 64 <= (1 << 20); size += 64) fputs(pad, f);
    for (; size < (1 << 20); size++) fputc('\n', f);
    fclose(f);
    assert_int_equal(tc_config_load(&c, path, err, sizeof err), 0);
    f = fopen(path, "a");
    assert_non_null(f);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(tc_config_load(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: config file is larger than 1 MiB\n  hint: ", path);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    unlink(path);
}

static void test_config_example_file(void **state)
{
    (void)state;
    if (!example_path) {
        print_message("no example path (pass it as argv[1] or TC_EXAMPLE_CONFIG); skipped\n");
        skip();
    }
    tc_config c, d;
    char err[1024];
    if (tc_config_load(&c, example_path, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(c.nnodes, 3);
    static const char *const zones[] = {"zone-a", "zone-b", "zone-c"};
    for (int i = 0; i < 3; i++) {
        const tc_node_conf *n = tc_config_node(&c, i + 1);
        assert_non_null(n);
        assert_string_equal(n->zone, zones[i]);
        assert_string_equal(n->client_host, "127.0.0.1");
        assert_int_equal(n->client_port, 7001 + i);
        assert_string_equal(n->raft_host, "127.0.0.1");
        assert_int_equal(n->raft_port, 7101 + i);
    }
    /* every setting is written there with its default value */
    tc_config_defaults(&d);
    memcpy(d.path, c.path, sizeof d.path);
    memcpy(d.nodes, c.nodes, sizeof d.nodes);
    d.nnodes = c.nnodes;
    assert_memory_equal(&c, &d, sizeof c);
}

/* ---------- CONFIG GET / SET ---------- */

static void test_config_get(void **state)
{
    (void)state;
    tc_config c;
    got g;
    tc_config_defaults(&c);

    memset(&g, 0, sizeof g);
    assert_int_equal(tc_config_get(&c, "*", collect, &g), 68);
    static const char *const want_names[] = {
        "cluster-name", "data-dir", "auth-token", "log-level", "maxclients", "proto-max-bulk-len",
        "proto-max-multibulk-len", "big-buffer-keep", "client-query-buffer-limit", "client-output-buffer-limit", "timeout",
        "tcp-backlog", "hz", "active-expire-effort", "latency-monitor-threshold", "script-memory-limit", "busy-reply-threshold", "maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time",
        "cluster-mode", "databases", "read-consistency", "preferred-primary-zones",
        "election-timeout", "heartbeat-interval", "replica-max-staleness", "write-commit-timeout", "apply-stall-timeout", "shutdown-timeout",
        "snapshot-threshold", "snapshot-bytes", "replicated-write-max-bytes", "at-rest-encryption", "keys-dir", "cluster-secret-file",
        "hash-max-listpack-entries",
        "hash-max-listpack-value", "zset-max-listpack-entries", "zset-max-listpack-value", "set-max-intset-entries",
        "set-max-listpack-entries", "set-max-listpack-value", "list-max-listpack-size", "backup.destination",
        "backup.interval",
        "backup.retain", "backup.s3-endpoint", "backup.s3-region", "backup.s3-path-style", "backup.s3-credentials-file",
        "backup.allowed-destinations", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir",
        "tls-auth-clients", "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-session-caching",
        "tls-replication", "tls-raft-cert-file", "tls-raft-key-file", "transit-encryption-mode", "acl-file"};
    static const char *const want_values[] = {"tricache", "./data", "", "notice", "10000", "536870912", "1048576",
                                              "536870912", "1073741824", "1073741824", "0", "511", "10", "1", "0", "134217728", "5000", "0", "noeviction", "5", "10", "1",
                                              "no", "16", "linearizable", "", "300ms", "50ms",
                                              "1000ms", "5000ms", "5000ms", "10", "65536", "67108864", "134217728", "no", "", "", "512", "64", "128", "64", "512",
                                              "128", "64", "-2", "", "0ms", "7", "", "us-east-1", "no", "", "",
                                              "", "", "", "", "yes", "", "", "", "yes", "no", "", "", "", ""};
    for (int i = 0; i < 68; i++) {
        assert_string_equal(g.names[i], want_names[i]);
        assert_string_equal(g.values[i], want_values[i]);
    }

    memset(&g, 0, sizeof g);
    assert_int_equal(tc_config_get(&c, "*MAX*", collect, &g), 16);
    assert_string_equal(g.names[0], "maxclients");
    assert_string_equal(g.names[1], "proto-max-bulk-len");
    assert_string_equal(g.names[2], "proto-max-multibulk-len");
    assert_string_equal(g.names[3], "maxmemory");
    assert_string_equal(g.names[6], "replica-max-staleness");
    assert_string_equal(g.names[7], "replicated-write-max-bytes");
    assert_string_equal(g.names[8], "hash-max-listpack-entries");
    assert_string_equal(g.names[15], "list-max-listpack-size");

    /* a signed setting: CONFIG SET's range and rendering */
    tc_config d = c;
    char why[256];
    assert_int_equal(tc_config_set(&d, "list-max-listpack-size", "-5", why, sizeof why), 0);
    assert_true(d.list_max_listpack_size == -5);
    assert_string_equal(config_get1(&d, "list-max-listpack-size"), "-5");
    assert_int_equal(tc_config_set(&d, "list_max_listpack_size", "-2147483649", why, sizeof why), -3);
    assert_non_null(strstr(why, "between -2147483648 and 2147483647"));
    assert_true(d.list_max_listpack_size == -5);

    memset(&g, 0, sizeof g);
    assert_int_equal(tc_config_get(&c, "client-*-buffer-limit", collect, &g), 2);
    memset(&g, 0, sizeof g);
    /* hz, timeout, tcp-backlog, heartbeat-interval, hash-max-listpack-entries and -value, the twelve tls-*,
     * transit-encryption-mode */
    assert_int_equal(tc_config_get(&c, "[ht]*", collect, &g), 19);
    memset(&g, 0, sizeof g);
    assert_int_equal(tc_config_get(&c, "h?", collect, &g), 1);
    assert_int_equal(tc_config_get(&c, "nomatch", collect, &g), 0);
    assert_int_equal(tc_config_get(&c, "hz_", collect, &g), 0);
    assert_int_equal(tc_config_get(&c, "proto_max_bulk_len", collect, &g), 0); /* names are dashed */
    assert_int_equal(tc_config_get(&c, "", collect, &g), 0);
    assert_int_equal(g.n, 1); /* nothing emitted by the non-matching patterns */
    assert_string_equal(config_get1(&c, "HZ"), "10");

    /* rendering: timeout in whole seconds rounded up (a sub-second timeout
     * must not read as 0, "off"), log level as a word */
    c.timeout_ms = 2500;
    c.log_level = TC_LOG_DEBUG;
    snprintf(c.auth_token, sizeof c.auth_token, "pw");
    assert_string_equal(config_get1(&c, "timeout"), "3");
    assert_string_equal(config_get1(&c, "log-level"), "debug");
    /* secrets never leave the node: CONFIG GET (one name or a pattern) shows "" */
    assert_string_equal(config_get1(&c, "auth-token"), "");
    memset(&g, 0, sizeof g);
    tc_config_get(&c, "*", collect, &g);
    for (int i = 0; i < g.n; i++) assert_null(strstr(g.values[i], "pw"));
    snprintf(c.cluster_secret_file, sizeof c.cluster_secret_file, "/etc/tricache/secret");
    assert_string_equal(config_get1(&c, "cluster-secret-file"), "/etc/tricache/secret"); /* the path is fine */
    c.client_output_buffer_limit = 0;
    assert_string_equal(config_get1(&c, "client-output-buffer-limit"), "0");
}

static void test_config_set_ok(void **state)
{
    (void)state;
    tc_config c;
    char err[256] = "";
    tc_config_defaults(&c);
    assert_int_equal(tc_config_set(&c, "hz", "100", err, sizeof err), 0);
    assert_int_equal(c.hz, 100);
    assert_int_equal(tc_config_set(&c, "PROTO-MAX-BULK-LEN", "64mb", err, sizeof err), 0);
    assert_true(c.proto_max_bulk_len == UINT64_C(64) << 20);
    assert_int_equal(tc_config_set(&c, "proto_max_bulk_len", "1048576", err, sizeof err), 0);
    assert_int_equal(c.proto_max_bulk_len, 1048576);
    assert_int_equal(tc_config_set(&c, "timeout", "30", err, sizeof err), 0); /* seconds, as in Redis */
    assert_int_equal(c.timeout_ms, 30000);
    assert_string_equal(config_get1(&c, "timeout"), "30");
    assert_int_equal(tc_config_set(&c, "timeout", "1500ms", err, sizeof err), 0);
    assert_int_equal(c.timeout_ms, 1500);
    assert_int_equal(tc_config_set(&c, "timeout", "0", err, sizeof err), 0);
    assert_int_equal(c.timeout_ms, 0);
    assert_int_equal(tc_config_set(&c, "Log-Level", "WARNING", err, sizeof err), 0);
    assert_int_equal(c.log_level, TC_LOG_WARNING);
    assert_string_equal(config_get1(&c, "log-level"), "warning");
    assert_int_equal(tc_config_set(&c, "auth-token", "s3cret", err, sizeof err), 0);
    assert_string_equal(c.auth_token, "s3cret");
    assert_int_equal(tc_config_set(&c, "auth_token", "", err, sizeof err), 0);
    assert_string_equal(c.auth_token, "");
    assert_int_equal(tc_config_set(&c, "client-output-buffer-limit", "0", err, sizeof err), 0);
    assert_int_equal(c.client_output_buffer_limit, 0);
    assert_int_equal(tc_config_set(&c, "maxclients", "1", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "proto-max-multibulk-len", "2147483647", err, sizeof err), 0);
    assert_int_equal(c.proto_max_multibulk_len, 2147483647);
    assert_int_equal(tc_config_set(&c, "client-query-buffer-limit", "4gb", err, sizeof err), 0);
    assert_true(c.client_query_buffer_limit == UINT64_C(4) << 30);
}

/* Each failing CONFIG SET: return code, exact text, and *c unchanged. */
static void set_fails_at(tc_config *c, const char *name, const char *value, int want_rc, const char *want_err,
                         const char *file, int line)
{
    tc_config before = *c;
    char err[512] = "";
    int rc = tc_config_set(c, name, value, err, sizeof err);
    if (rc != want_rc || strcmp(err, want_err) != 0 || memcmp(&before, c, sizeof before) != 0) {
        print_error("CONFIG SET %s %s: want %d \"%s\", got %d \"%s\"%s\n", name, value, want_rc, want_err, rc, err,
                    memcmp(&before, c, sizeof before) ? " (config changed!)" : "");
        _fail(file, line);
    }
}
#define set_fails(c, name, value, rc, text) set_fails_at(c, name, value, rc, text, __FILE__, __LINE__)

#define FAILED(arg) "ERR CONFIG SET failed (possibly related to argument '" arg "') - "

static void test_config_set_errors(void **state)
{
    (void)state;
    tc_config c;
    cfg_ok(&c, NODE1 NODE2);
    char err[256];
    set_fails(&c, "nosuch", "1", -1, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    set_fails(&c, "", "1", -1, "ERR Unknown option or number of arguments for CONFIG SET - ''");
    set_fails(&c, "hz-", "1", -1, "ERR Unknown option or number of arguments for CONFIG SET - 'hz-'");
    set_fails(&c, "node", "1", -1, "ERR Unknown option or number of arguments for CONFIG SET - 'node'");
    set_fails(&c, "evil\r\nname", "1", -1, "ERR Unknown option or number of arguments for CONFIG SET - 'evil\\x0d\\x0aname'");
    set_fails(&c, "tcp-backlog", "100", -2, FAILED("tcp-backlog") "can't set immutable config");
    set_fails(&c, "Cluster_Name", "x", -2, FAILED("Cluster_Name") "can't set immutable config");
    set_fails(&c, "data-dir", "/x", -2, FAILED("data-dir") "can't set immutable config");
    set_fails(&c, "cluster-secret-file", "/x", -2, FAILED("cluster-secret-file") "can't set immutable config");
    set_fails(&c, "backup.allowed-destinations", "ftp://x", -3,
              FAILED("backup.allowed-destinations") "argument must start with file:/// (an absolute folder) or s3:// (bucket/prefix)");
    set_fails(&c, "backup.allowed-destinations", "file:///a,,file:///b", -3,
              FAILED("backup.allowed-destinations") "argument needs destinations separated by single commas");
    set_fails(&c, "backup.allowed-destinations", "file:///a,", -3,
              FAILED("backup.allowed-destinations") "argument needs destinations separated by single commas");
    assert_int_equal(tc_config_set(&c, "backup.allowed-destinations", "file:///a, s3://b/p", err, sizeof err), 0);
    assert_string_equal(c.backup.allowed_destinations, "file:///a, s3://b/p");
    assert_int_equal(tc_config_set(&c, "backup.allowed-destinations", "", err, sizeof err), 0);
    set_fails(&c, "hz", "0", -3, FAILED("hz") "argument must be between 1 and 500 inclusive");
    set_fails(&c, "hz", "501", -3, FAILED("hz") "argument must be between 1 and 500 inclusive");
    set_fails(&c, "hz", "-1", -3, FAILED("hz") "argument must be between 1 and 500 inclusive");
    set_fails(&c, "hz", "abc", -3, FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(&c, "hz", "010", -3, FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(&c, "hz", " 10", -3, FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(&c, "hz", "", -3, FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(&c, "hz", "99999999999999999999", -3, FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(&c, "maxclients", "0", -3, FAILED("maxclients") "argument must be between 1 and 1000000 inclusive");
    set_fails(&c, "maxclients", "1000001", -3, FAILED("maxclients") "argument must be between 1 and 1000000 inclusive");
    set_fails(&c, "proto-max-multibulk-len", "15", -3,
              FAILED("proto-max-multibulk-len") "argument must be between 16 and 2147483647 inclusive");
    set_fails(&c, "proto-max-multibulk-len", "2147483648", -3,
              FAILED("proto-max-multibulk-len") "argument must be between 16 and 2147483647 inclusive");
    set_fails(&c, "proto-max-bulk-len", "12xb", -3, FAILED("proto-max-bulk-len") "argument must be a memory value");
    set_fails(&c, "proto-max-bulk-len", "-1", -3, FAILED("proto-max-bulk-len") "argument must be a memory value");
    set_fails(&c, "proto-max-bulk-len", "1023", -3,
              FAILED("proto-max-bulk-len") "argument must be between 1024 and 4294967296 inclusive");
    set_fails(&c, "proto-max-bulk-len", "4294967297", -3,
              FAILED("proto-max-bulk-len") "argument must be between 1024 and 4294967296 inclusive");
    set_fails(&c, "client-query-buffer-limit", "1048575", -3,
              FAILED("client-query-buffer-limit") "argument must be between 1048576 and 4294967296 inclusive");
    set_fails(&c, "client-output-buffer-limit", "1kb", -3,
              FAILED("client-output-buffer-limit") "argument must be 0 or at least 1048576");
    set_fails(&c, "timeout", "soon", -3,
              FAILED("timeout") "argument must be a duration such as 300ms, 5s, 2m or 1h, or a number of seconds");
    set_fails(&c, "timeout", "-1", -3,
              FAILED("timeout") "argument must be a duration such as 300ms, 5s, 2m or 1h, or a number of seconds");
    set_fails(&c, "timeout", "2147483648", -3, FAILED("timeout") "argument must be between 0 and 2147483647 seconds inclusive");
    set_fails(&c, "timeout", "99999999999999999999", -3,
              FAILED("timeout") "argument must be a duration such as 300ms, 5s, 2m or 1h, or a number of seconds");
    set_fails(&c, "timeout", "18446744073709551615", -3,
              FAILED("timeout") "argument must be between 0 and 2147483647 seconds inclusive");
    set_fails(&c, "log-level", "loud", -3,
              FAILED("log-level") "argument(s) must be one of the following: debug, info, notice, warning");
    set_fails(&c, "auth-token", "two words", -3, FAILED("auth-token") "argument must be printable ASCII without spaces");
    set_fails(&c, "auth-token", repeat('t', 256), -3, FAILED("auth-token") "argument is too long (at most 255 characters)");

    /* the nodes and the rest survive all of that */
    assert_int_equal(c.nnodes, 2);
    assert_int_equal(c.hz, 10);
    /* the boundaries themselves are accepted */
    assert_int_equal(tc_config_set(&c, "hz", "1", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "hz", "500", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "maxclients", "1000000", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "proto-max-bulk-len", "1kb", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "proto-max-bulk-len", "4294967296", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "proto-max-multibulk-len", "16", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "client-query-buffer-limit", "1mb", err, sizeof err), 0);
    assert_int_equal(tc_config_set(&c, "timeout", "2147483647", err, sizeof err), 0);
    assert_true(c.timeout_ms == UINT64_C(2147483647000));
    assert_int_equal(tc_config_set(&c, "auth-token", repeat('t', 255), err, sizeof err), 0);
}

int main(int argc, char **argv)
{
    example_path = argc > 1 ? argv[1] : getenv("TC_EXAMPLE_CONFIG");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toml_empty_and_comments),
        cmocka_unit_test(test_toml_keys),
        cmocka_unit_test(test_toml_strings),
        cmocka_unit_test(test_toml_integers_and_booleans),
        cmocka_unit_test(test_toml_arrays),
        cmocka_unit_test(test_toml_tables),
        cmocka_unit_test(test_toml_crlf_and_lines),
        cmocka_unit_test(test_toml_type_names),
        cmocka_unit_test(test_toml_error_strings),
        cmocka_unit_test(test_toml_error_numbers),
        cmocka_unit_test(test_toml_error_structure),
        cmocka_unit_test(test_toml_error_arrays),
        cmocka_unit_test(test_toml_error_bytes),
        cmocka_unit_test(test_toml_key_limit),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_full),
        cmocka_unit_test(test_config_error_format),
        cmocka_unit_test(test_config_bounds),
        cmocka_unit_test(test_config_hints),
        cmocka_unit_test(test_config_wrong_types),
        cmocka_unit_test(test_config_unknown_keys),
        cmocka_unit_test(test_config_backup_table),
        cmocka_unit_test(test_config_nodes),
        cmocka_unit_test(test_config_load_file),
        cmocka_unit_test(test_config_example_file),
        cmocka_unit_test(test_config_get),
        cmocka_unit_test(test_config_set_ok),
        cmocka_unit_test(test_config_set_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
