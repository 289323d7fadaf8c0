/* script/function_meta.c: a library's first line, names, flags, and the
 * FUNCTION DUMP payload (round trip; every damaged form refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "function_meta.h"

static int parse(const char *code, tc_fn_meta *m, char *err)
{
    return tc_fn_parse_meta(code, strlen(code), m, err, 256);
}

static void test_first_line(void **state)
{
    (void)state;
    tc_fn_meta m;
    char err[256];
    const char *code = "#!lua name=mylib\nreturn 1";
    assert_int_equal(parse(code, &m, err), 0);
    assert_string_equal(m.engine, "lua");
    assert_string_equal(m.name, "mylib");
    assert_int_equal(m.name_len, 5);
    assert_int_equal(m.body_off, 16); /* at the newline: line numbers stay the file's */
    tc_fn_meta_free(&m);

    assert_int_equal(parse("#!LUA   NAME=x  \n", &m, err), 0);
    assert_string_equal(m.engine, "LUA");
    assert_string_equal(m.name, "x");
    tc_fn_meta_free(&m);

    assert_int_equal(parse("#!lua name=\"a b\"\n", &m, err), 0);
    assert_string_equal(m.name, "a b");
    tc_fn_meta_free(&m);
    assert_int_equal(parse("#!lua name=\"\\x41\"\n", &m, err), 0);
    assert_string_equal(m.name, "A");
    tc_fn_meta_free(&m);
    assert_int_equal(parse("#! name=x\n", &m, err), 0);
    assert_string_equal(m.engine, "");
    tc_fn_meta_free(&m);

    static const struct {
        const char *code, *err;
    } bad[] = {
        {"", "ERR Missing library metadata"},
        {"-- #!lua name=x\n", "ERR Missing library metadata"},
        {"#!lua name=x", "ERR Invalid library metadata"},
        {"#!\n", "ERR Library name was not given"},
        {"#!lua\n", "ERR Library name was not given"},
        {"#!lua name=\"ab\n", "ERR Invalid library metadata"},
        {"#!lua name=\"ab\"c\n", "ERR Invalid library metadata"},
        {"#!lua name=a name=b\n", "ERR Invalid metadata value, name argument was given multiple times"},
        {"#!lua foo=bar name=x\n", "ERR Invalid metadata value given: foo=bar"},
        {"#!lua name=x flags=no-writes\n", "ERR Invalid metadata value given: flags=no-writes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse(bad[i].code, &m, err), -1);
        assert_string_equal(err, bad[i].err);
        tc_fn_meta_free(&m);
    }
}

static void test_names_and_flags(void **state)
{
    (void)state;
    assert_true(tc_fn_name_valid("abc_XYZ_09", 10));
    assert_false(tc_fn_name_valid("", 0));
    assert_false(tc_fn_name_valid("a-b", 3));
    assert_false(tc_fn_name_valid("a b", 3));
    assert_false(tc_fn_name_valid("\xc3\xa9", 2));
    assert_int_equal(tc_fn_flag_parse("no-writes", 9), TC_FN_NO_WRITES);
    assert_int_equal(tc_fn_flag_parse("ALLOW-OOM", 9), TC_FN_ALLOW_OOM);
    assert_int_equal(tc_fn_flag_parse("allow-stale", 11), TC_FN_ALLOW_STALE);
    assert_int_equal(tc_fn_flag_parse("no-cluster", 10), TC_FN_NO_CLUSTER);
    assert_int_equal(tc_fn_flag_parse("allow-cross-slot-keys", 21), TC_FN_ALLOW_CROSS_SLOT);
    assert_int_equal(tc_fn_flag_parse("no-write", 8), 0);
    assert_int_equal(tc_fn_flag_parse("no-writes ", 10), 0);
    for (int i = 0; i < TC_FN_NFLAGS; i++) {
        const char *n = tc_fn_flag_name(i);
        assert_int_equal(tc_fn_flag_parse(n, strlen(n)), 1u << i);
    }
    assert_null(tc_fn_flag_name(TC_FN_NFLAGS));
}

typedef struct seen {
    int n;
    char codes[4][64];
    int stop_at;
} seen;

static int collect(void *ud, const char *code, size_t len)
{
    seen *s = ud;
    if (s->n == s->stop_at) return 7;
    assert_true(len < 64);
    memcpy(s->codes[s->n], code, len);
    s->codes[s->n][len] = '\0';
    s->n++;
    return 0;
}

static void test_payload(void **state)
{
    (void)state;
    const char *codes[] = {"#!lua name=a\nx", "", "#!lua name=c\n\0bin"};
    size_t lens[] = {14, 0, 17};
    size_t len;
    char *p = tc_fn_payload_encode(3, codes, lens, &len);
    assert_non_null(p);
    seen s = {.stop_at = -1};
    assert_int_equal(tc_fn_payload_decode(p, len, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.codes[0], "#!lua name=a\nx");
    assert_string_equal(s.codes[1], "");
    assert_memory_equal(s.codes[2], codes[2], 17);

    /* a callback's refusal stops it */
    seen stop = {.stop_at = 1};
    assert_int_equal(tc_fn_payload_decode(p, len, collect, &stop), 7);

    /* every flipped byte, every truncation: refused, nothing handed out */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (char)(1 << bit);
            seen none = {.stop_at = -1};
            assert_int_equal(tc_fn_payload_decode(p, len, collect, &none), -1);
            assert_int_equal(none.n, 0);
            p[i] ^= (char)(1 << bit);
        }
    }
    for (size_t l = 0; l < len; l++) {
        seen none = {.stop_at = -1};
        assert_true(tc_fn_payload_decode(p, l, collect, &none) < 0);
        assert_int_equal(none.n, 0);
    }
    free(p);

    /* no library at all */
    p = tc_fn_payload_encode(0, NULL, NULL, &len);
    assert_non_null(p);
    seen none = {.stop_at = -1};
    assert_int_equal(tc_fn_payload_decode(p, len, collect, &none), 0);
    assert_int_equal(none.n, 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_line),
        cmocka_unit_test(test_names_and_flags),
        cmocka_unit_test(test_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
