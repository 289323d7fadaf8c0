/* Unit tests for node/resp.c, the RESP request parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define BIG_LIMIT ((uint64_t)512 * 1024 * 1024)
#define STR_AND_LEN(s) (s), (sizeof(s) - 1)

/* ------------------------------------------------------------- helpers */

typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;

static void sb_put(strbuf *sb, const void *data, size_t len) {
    if (sb->len + len + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + len + 1)
            cap *= 2;
        sb->data = realloc(sb->data, cap);
        assert_non_null(sb->data);
        sb->cap = cap;
    }
    if (len)
        memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

static void sb_printf(strbuf *sb, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(tmp));
    sb_put(sb, tmp, (size_t)n);
}

/* Appends an argument with bytes outside printable ASCII (and '\\')
 * written as \\xHH, so transcripts are plain C strings. */
static void sb_arg(strbuf *sb, const char *arg, size_t len) {
    sb_printf(sb, " %zu:", len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            sb_put(sb, &arg[i], 1);
        else
            sb_printf(sb, "\\x%02x", c);
    }
}

/* Appends the parsed command as "[argc] <len>:<bytes> ...\n". */
static void sb_command(strbuf *sb, const tc_resp_parser *p, const char *base) {
    sb_printf(sb, "[%zu]", p->argc);
    for (size_t i = 0; i < p->argc; i++)
        sb_arg(sb, base + p->argv[i].off, p->argv[i].len);
    sb_put(sb, "\n", 1);
}

/* Feeds data[0..len) to a fresh parser the way a connection would: the
 * bytes arrive first up to `first`, then in chunks of `step` (0 = all the
 * rest at once). After every read the buffer is moved to a new allocation so
 * that stale pointers into it are caught by ASan. Returns a transcript of
 * the commands and the final verdict (and error text). */
static char *transcript(const char *data, size_t len, size_t first, size_t step, uint64_t max_bulk,
                        uint64_t max_args) {
    tc_resp_parser p;
    tc_resp_init(&p, max_bulk, max_args);
    strbuf out = {0};
    size_t avail = first < len ? first : len;
    char *buf = malloc(avail ? avail : 1);
    assert_non_null(buf);
    memcpy(buf, data, avail);
    size_t base = 0;
    for (;;) {
        size_t consumed = 12345;
        int rc = tc_resp_parse(&p, buf + base, avail - base, &consumed);
        if (rc == TC_RESP_OK) {
            assert_true(consumed > 0 && consumed <= avail - base);
            sb_command(&out, &p, buf + base);
            base += consumed;
            continue;
        }
        assert_int_equal(consumed, 0);
        if (rc == TC_RESP_ERR) {
            sb_printf(&out, "ERR %s\n", p.err);
            break;
        }
        assert_int_equal(rc, TC_RESP_INCOMPLETE);
        if (avail == len) {
            sb_printf(&out, "INCOMPLETE %zu\n", avail - base);
            break;
        }
        size_t next = step ? avail + step : len;
        if (next > len)
            next = len;
        char *moved = malloc(next);
        assert_non_null(moved);
        memcpy(moved, buf, avail);
        memcpy(moved + avail, data + avail, next - avail);
        free(buf);
        buf = moved;
        avail = next;
    }
    free(buf);
    tc_resp_free(&p);
    return out.data;
}

static char *transcript_whole(const char *data, size_t len, uint64_t max_bulk, uint64_t max_args) {
    return transcript(data, len, len, 0, max_bulk, max_args);
}

/* Checks that every way of splitting data into reads gives the same
 * transcript as receiving it at once, and that this is `expected`. */
static void check_all_splits(const char *data, size_t len, const char *expected, uint64_t max_bulk,
                             uint64_t max_args) {
    char *whole = transcript_whole(data, len, max_bulk, max_args);
    assert_string_equal(whole, expected);
    for (size_t k = 0; k <= len; k++) {
        char *split = transcript(data, len, k, 0, max_bulk, max_args);
        if (strcmp(split, whole) != 0)
            fail_msg("split at %zu:\n%s\nvs whole:\n%s", k, split, whole);
        free(split);
    }
    for (size_t step = 1; step <= 3; step++) {
        char *bytewise = transcript(data, len, 0, step, max_bulk, max_args);
        if (strcmp(bytewise, whole) != 0)
            fail_msg("reads of %zu bytes:\n%s\nvs whole:\n%s", step, bytewise, whole);
        free(bytewise);
    }
    free(whole);
}

/* Parses one buffer expected to give TC_RESP_ERR with the given text. */
static void expect_error_limits(const char *data, size_t len, const char *err, uint64_t max_bulk,
                                uint64_t max_args) {
    tc_resp_parser p;
    tc_resp_init(&p, max_bulk, max_args);
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, data, len);
    size_t consumed;
    int rc = tc_resp_parse(&p, buf, len, &consumed);
    if (rc != TC_RESP_ERR)
        fail_msg("expected error '%s' for '%.*s', got rc %d", err, (int)len, data, rc);
    assert_string_equal(p.err, err);
    free(buf);
    tc_resp_free(&p);
}

static void expect_error(const char *data, size_t len, const char *err) {
    expect_error_limits(data, len, err, BIG_LIMIT, 1 << 20);
}

/* Parses a single inline command; expects OK and the given arguments
 * (NULL-terminated list of NUL-free strings). */
static void expect_inline(const char *line, ...) {
    strbuf want = {0};
    va_list ap;
    va_start(ap, line);
    size_t n = 0;
    strbuf args = {0};
    for (const char *a; (a = va_arg(ap, const char *)) != NULL; n++) {
        sb_arg(&args, a, strlen(a));
    }
    va_end(ap);
    sb_printf(&want, "[%zu]", n);
    if (args.len)
        sb_put(&want, args.data, args.len);
    sb_put(&want, "\n", 1);
    sb_printf(&want, "INCOMPLETE 0\n");
    char *got = transcript_whole(line, strlen(line), BIG_LIMIT, 1024);
    if (strcmp(got, want.data) != 0)
        fail_msg("inline '%s':\n got %s\nwant %s", line, got, want.data);
    free(got);
    free(want.data);
    free(args.data);
}

static char *repeat(char c, size_t n, const char *suffix) {
    size_t slen = strlen(suffix);
    char *s = malloc(n + slen + 1);
    assert_non_null(s);
    memset(s, c, n);
    memcpy(s + n, suffix, slen + 1);
    return s;
}

/* ---------------------------------------------------------- multibulk */

static void test_simple_multibulk(void **state) {
    (void)state;
    char buf[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, sizeof(buf) - 1);
    assert_int_equal(p.argc, 3);
    assert_int_equal(p.argv[0].off, 8);
    assert_int_equal(p.argv[0].len, 3);
    assert_memory_equal(buf + p.argv[0].off, "SET", 3);
    assert_memory_equal(buf + p.argv[1].off, "k", 1);
    assert_int_equal(p.argv[2].len, 5);
    assert_memory_equal(buf + p.argv[2].off, "value", 5);
    /* state is reset: the next (empty) call waits for a new command */
    assert_int_equal(tc_resp_parse(&p, buf + consumed, 0, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(p.argc, 0);
    tc_resp_free(&p);
}

static void test_pipelined(void **state) {
    (void)state;
    const char data[] = "*1\r\n$4\r\nPING\r\n"
                        "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"
                        "*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n";
    char *got = transcript_whole(STR_AND_LEN(data), BIG_LIMIT, 1024);
    assert_string_equal(got, "[1] 4:PING\n"
                             "[2] 3:GET 3:foo\n"
                             "[3] 3:SET 3:foo 3:bar\n"
                             "INCOMPLETE 0\n");
    free(got);
}

static void test_binary_safe(void **state) {
    (void)state;
    const char data[] = "*2\r\n$7\r\na\0b\r\nc\n\r\n$2\r\n\r\n\r\n";
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[sizeof(data)];
    memcpy(buf, data, sizeof(data));
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(data) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, sizeof(data) - 1);
    assert_int_equal(p.argc, 2);
    assert_int_equal(p.argv[0].len, 7);
    assert_memory_equal(buf + p.argv[0].off, "a\0b\r\nc\n", 7);
    assert_int_equal(p.argv[1].len, 2);
    assert_memory_equal(buf + p.argv[1].off, "\r\n", 2);
    tc_resp_free(&p);
}

static void test_empty_bulk(void **state) {
    (void)state;
    const char data[] = "*3\r\n$0\r\n\r\n$1\r\nx\r\n$0\r\n\r\n";
    char *got = transcript_whole(STR_AND_LEN(data), BIG_LIMIT, 1024);
    assert_string_equal(got, "[3] 0: 1:x 0:\nINCOMPLETE 0\n");
    free(got);
}

static void test_empty_multibulk(void **state) {
    (void)state;
    const char data[] = "*0\r\n*-1\r\n*-100\r\n*1\r\n$1\r\nx\r\n*0\r\n";
    check_all_splits(STR_AND_LEN(data), "[0]\n[0]\n[0]\n[1] 1:x\n[0]\nINCOMPLETE 0\n", BIG_LIMIT,
                     1024);

    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "*0\r\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, 4, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, 4);
    assert_int_equal(p.argc, 0);
    char buf2[] = "*-1\r\n";
    assert_int_equal(tc_resp_parse(&p, buf2, 5, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, 5);
    assert_int_equal(p.argc, 0);
    tc_resp_free(&p);
}

/* Redis ends header lines at '\r' and skips the following byte unchecked,
 * and skips the two bytes after a payload unchecked; so do we. */
static void test_unchecked_terminators(void **state) {
    (void)state;
    const char data[] = "*2\rX$1\rYaZZ$3\r\nfooAB*1\r\n$1\r\nz\r\n";
    check_all_splits(STR_AND_LEN(data), "[2] 1:a 3:foo\n[1] 1:z\nINCOMPLETE 0\n", BIG_LIMIT, 1024);
}

static void test_many_args(void **state) {
    (void)state;
    enum { N = 5000 };
    strbuf sb = {0};
    sb_printf(&sb, "*%d\r\n", N);
    for (int i = 0; i < N; i++) {
        char arg[16];
        int n = snprintf(arg, sizeof(arg), "%d", i);
        sb_printf(&sb, "$%d\r\n%s\r\n", n, arg);
    }
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, N);
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, sb.data, sb.len, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, sb.len);
    assert_int_equal(p.argc, N);
    for (int i = 0; i < N; i++) {
        char arg[16];
        int n = snprintf(arg, sizeof(arg), "%d", i);
        assert_int_equal(p.argv[i].len, (size_t)n);
        assert_memory_equal(sb.data + p.argv[i].off, arg, (size_t)n);
    }
    tc_resp_free(&p);
    free(sb.data);
}

/* A huge announced count must not make the parser reserve that much. */
static void test_huge_count_not_preallocated(void **state) {
    (void)state;
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, (uint64_t)1 << 40);
    char buf[] = "*2147483647\r\n$1\r\na\r\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_INCOMPLETE);
    assert_true(p.argv_cap <= 1024);
    assert_int_equal(p.argc, 1);
    tc_resp_free(&p);
}

/* ------------------------------------------------------ incremental use */

static void test_every_split_point(void **state) {
    (void)state;
    const char data[] = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"
                        "PING\r\n"
                        "\r\n"
                        "*3\r\n$3\r\nSET\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n"
                        "set \"x y\" 'z\\'' \"\\x41\\n\"\n"
                        "*0\r\n"
                        "   \n"
                        "*1\r\n$12\r\n0123456789ab\r\n"
                        "ECHO hi\r\n"
                        "*2\r\n$1\r\nA";
    check_all_splits(STR_AND_LEN(data),
                     "[2] 3:GET 3:foo\n"
                     "[1] 4:PING\n"
                     "[0]\n"
                     "[3] 3:SET 5:a\\x00\\x0d\\x0ab 0:\n"
                     "[4] 3:set 3:x y 2:z' 2:A\\x0a\n"
                     "[0]\n"
                     "[0]\n"
                     "[1] 12:0123456789ab\n"
                     "[2] 4:ECHO 2:hi\n"
                     "INCOMPLETE 9\n",
                     BIG_LIMIT, 1024);
}

static void test_every_split_point_with_errors(void **state) {
    (void)state;
    const char bad_bulk[] = "*1\r\n$1\r\nx\r\nGET a\n*2\r\n$1\r\nx\r\n$-1\r\n*1\r\n$1\r\ny\r\n";
    check_all_splits(STR_AND_LEN(bad_bulk),
                     "[1] 1:x\n[2] 3:GET 1:a\nERR Protocol error: invalid bulk length\n", BIG_LIMIT,
                     1024);
    const char bad_dollar[] = "PING\n*2\r\n$1\r\nx\r\n:1\r\n";
    check_all_splits(STR_AND_LEN(bad_dollar),
                     "[1] 4:PING\nERR Protocol error: expected '$', got ':'\n", BIG_LIMIT, 1024);
    const char bad_quotes[] = "*1\r\n$1\r\nx\r\nSET \"a\"b c\r\n";
    check_all_splits(STR_AND_LEN(bad_quotes),
                     "[1] 1:x\nERR Protocol error: unbalanced quotes in request\n", BIG_LIMIT,
                     1024);
    const char too_many[] = "a b\n*3\r\n$1\r\nx\r\n";
    check_all_splits(STR_AND_LEN(too_many),
                     "[2] 1:a 1:b\nERR Protocol error: too many arguments (limit 2)\n", BIG_LIMIT,
                     2);
}

/* Progress is kept: a partial line is not searched again from its start. */
static void test_progress_kept(void **state) {
    (void)state;
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "SET key value\r\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, 9, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(p.pos, 9);
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 3);

    char mb[] = "*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n";
    assert_int_equal(tc_resp_parse(&p, mb, 16, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(p.argc, 1);    /* GET already recorded */
    assert_int_equal(p.pos, 16);    /* "$10" line searched up to here */
    assert_int_equal(p.multibulk_left, 1);
    assert_int_equal(tc_resp_parse(&p, mb, 21, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(p.bulk_len, 10);
    assert_int_equal(p.pos, 18);    /* payload start */
    assert_int_equal(tc_resp_parse(&p, mb, sizeof(mb) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, sizeof(mb) - 1);
    assert_int_equal(p.argc, 2);
    assert_memory_equal(mb + p.argv[1].off, "0123456789", 10);
    tc_resp_free(&p);
}

static void test_missing(void **state) {
    (void)state;
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    enum { BULK = 100000 };
    const char head[] = "*2\r\n$3\r\nSET\r\n$100000\r\n";
    size_t head_len = sizeof(head) - 1;
    size_t total = head_len + BULK + 2;
    char *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, head, head_len);
    memset(buf + head_len, 'v', BULK);
    memcpy(buf + head_len + BULK, "\r\n", 2);

    size_t consumed;
    assert_int_equal(tc_resp_missing(&p, 0), 0);
    /* length not known yet */
    assert_int_equal(tc_resp_parse(&p, buf, 15, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_missing(&p, 15), 0);
    assert_int_equal(tc_resp_parse(&p, buf, head_len - 1, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_missing(&p, head_len - 1), 0);
    /* length known: everything of payload + CRLF is missing */
    assert_int_equal(tc_resp_parse(&p, buf, head_len, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_missing(&p, head_len), BULK + 2);
    for (size_t have = head_len + 1; have < total; have += 997) {
        assert_int_equal(tc_resp_parse(&p, buf, have, &consumed), TC_RESP_INCOMPLETE);
        assert_int_equal(tc_resp_missing(&p, have), total - have);
    }
    assert_int_equal(tc_resp_parse(&p, buf, total - 1, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_missing(&p, total - 1), 1);
    assert_int_equal(tc_resp_parse(&p, buf, total, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, total);
    assert_int_equal(p.argv[1].len, BULK);
    assert_int_equal(tc_resp_missing(&p, total), 0);
    free(buf);
    tc_resp_free(&p);
}

/* A caller breaking the contract with a shorter buffer gets a fresh parse,
 * not a read past the end. */
static void test_shorter_buffer_restarts(void **state) {
    (void)state;
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "*2\r\n$3\r\nGET\r\n$3\r\nfo";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_INCOMPLETE);
    char other[] = "PING\n";
    assert_int_equal(tc_resp_parse(&p, other, 5, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 1);
    assert_int_equal(consumed, 5);
    tc_resp_free(&p);
}

/* -------------------------------------------------------------- inline */

static void test_inline_basic(void **state) {
    (void)state;
    expect_inline("PING\r\n", "PING", NULL);
    expect_inline("PING\n", "PING", NULL);
    expect_inline("SET k v\r\n", "SET", "k", "v", NULL);
    expect_inline("  SET \t k\t\tv  \r\n", "SET", "k", "v", NULL);
    expect_inline("\r\n", NULL);
    expect_inline("\n", NULL);
    expect_inline("    \n", NULL);
    expect_inline(" \t \r\n", NULL);
    /* only one '\r' before '\n' is the line end; another one separates */
    expect_inline("a\r\r\n", "a", NULL);
    expect_inline("a\rb\n", "a", "b", NULL);
    /* \v and \f are skipped between tokens but kept inside them */
    expect_inline("\v\fa\vb \f\n", "a\vb", NULL);

    /* consumed covers the whole line including its terminator */
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "   \r\nGET x\nrest";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, 5);
    assert_int_equal(p.argc, 0);
    assert_int_equal(tc_resp_parse(&p, buf + 5, sizeof(buf) - 6, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, 6);
    assert_int_equal(p.argc, 2);
    assert_int_equal(p.argv[1].off, 4);
    assert_int_equal(tc_resp_parse(&p, buf + 11, 4, &consumed), TC_RESP_INCOMPLETE);
    tc_resp_free(&p);
}

static void test_inline_quotes(void **state) {
    (void)state;
    expect_inline("SET \"hello world\" x\n", "SET", "hello world", "x", NULL);
    expect_inline("\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n", "\n\r\t\b\a\\\"q", NULL);
    expect_inline("\"\\x41\\x7a\\x7A\"\n", "Azz", NULL);
    /* not a valid \xHH: the backslash escapes the 'x' only */
    expect_inline("\"\\xZZ\" \"\\x4\" \"\\x\"\n", "xZZ", "x4", "x", NULL);
    expect_inline("'it\\'s' 'a\\nb\\\\x' '\"'\n", "it's", "a\\nb\\\\x", "\"", NULL);
    /* in single quotes a backslash before ' always escapes it, even right
     * after another backslash */
    expect_inline("'a\\\\'b'\n", "a\\'b", NULL);
    expect_inline("\"'\" 'x\"y'\n", "'", "x\"y", NULL);
    expect_inline("\"\" '' x\n", "", "", "x", NULL);
    /* a quote can start inside a token */
    expect_inline("foo\"bar baz\" q'u o'\n", "foobar baz", "qu o", NULL);
    /* a closing quote followed by any blank or the line end */
    expect_inline("\"a\"\tb\r\n", "a", "b", NULL);
    expect_inline("\"a\"\vb\n", "a", "b", NULL);
    expect_inline("'a'\r\n", "a", NULL);
    expect_inline("\"a\"\n", "a", NULL);
    /* a '\r' inside quotes is data (only a '\r' right before '\n' is not) */
    expect_inline("\"a\rb\"\n", "a\rb", NULL);

    /* \x00 and \xff produce raw bytes; check via offsets */
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "X \"a\\x00b\\xff\" \"\\\\\"\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, sizeof(buf) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 3);
    assert_int_equal(p.argv[1].len, 4);
    assert_memory_equal(buf + p.argv[1].off, "a\0b\xff", 4);
    assert_int_equal(p.argv[2].len, 1);
    assert_memory_equal(buf + p.argv[2].off, "\\", 1);
    tc_resp_free(&p);

    /* NUL is an ordinary byte in inline commands */
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char nul[] = "a\0b c\n";
    assert_int_equal(tc_resp_parse(&p, nul, sizeof(nul) - 1, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 2);
    assert_int_equal(p.argv[0].len, 3);
    assert_memory_equal(nul + p.argv[0].off, "a\0b", 3);
    tc_resp_free(&p);
}

static void test_inline_unbalanced(void **state) {
    (void)state;
    static const char *const bad[] = {
        "\"abc\n",     "'abc\n",      "\"abc\"x\n", "'abc'x\n",   "\"abc\\\"\n",
        "'abc\\'\n",   "a \"b\"\"c\"\n", "\"\n",      "'\r\n",      "x \"a\\\n",
        "\"a\"'b'\n",  "\"\\x4\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], strlen(bad[i]), "Protocol error: unbalanced quotes in request");
}

static void test_inline_too_many_args(void **state) {
    (void)state;
    char *got = transcript_whole(STR_AND_LEN("a b c\n"), BIG_LIMIT, 3);
    assert_string_equal(got, "[3] 1:a 1:b 1:c\nINCOMPLETE 0\n");
    free(got);
    expect_error_limits(STR_AND_LEN("a b c d\n"), "Protocol error: too many arguments (limit 3)",
                        BIG_LIMIT, 3);
    /* many arguments: argv grows past its first allocation */
    strbuf sb = {0};
    for (int i = 0; i < 300; i++)
        sb_printf(&sb, "a%d ", i);
    sb_put(&sb, "\n", 1);
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 300);
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, sb.data, sb.len, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 300);
    assert_memory_equal(sb.data + p.argv[299].off, "a299", 4);
    tc_resp_free(&p);
    free(sb.data);
}

static void test_inline_too_big(void **state) {
    (void)state;
    const size_t max = TC_RESP_MAX_INLINE;
    const char *err = "Protocol error: too big inline request";
    tc_resp_parser p;
    size_t consumed;

    /* max bytes without a newline: still waiting */
    char *s = repeat('A', max, "");
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, max, &consumed), TC_RESP_INCOMPLETE);
    tc_resp_free(&p);
    free(s);

    /* one more byte that is not a newline: error */
    s = repeat('A', max + 1, "");
    expect_error(s, max + 1, err);
    free(s);

    /* newline right at the limit: accepted, however it arrives */
    s = repeat('A', max, "\n");
    char *got = transcript_whole(s, max + 1, BIG_LIMIT, 1024);
    char want[64];
    snprintf(want, sizeof(want), "[1] %zu:", max);
    assert_memory_equal(got, want, strlen(want));
    free(got);
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, max, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_parse(&p, s, max + 1, &consumed), TC_RESP_OK);
    assert_int_equal(consumed, max + 1);
    assert_int_equal(p.argv[0].len, max);
    tc_resp_free(&p);
    free(s);

    s = repeat('A', max - 1, "\r\n");
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, max + 1, &consumed), TC_RESP_OK);
    assert_int_equal(p.argv[0].len, max - 1);
    tc_resp_free(&p);
    free(s);

    /* newline one past the limit: error even if it arrived in the same read */
    s = repeat('A', max + 1, "\n");
    expect_error(s, max + 2, err);
    free(s);
}

/* --------------------------------------------------------- header errors */

static void test_invalid_multibulk_length(void **state) {
    (void)state;
    static const char *const bad[] = {
        "*1x\r\n", "* 1\r\n", "*+1\r\n", "*01\r\n", "*00\r\n", "*-0\r\n", "*\r\n",  "*-\r\n",
        "*1 \r\n", "*x\r\n",  "*1\n\r\n", "*2147483648\r\n",       "*9223372036854775807\r\n",
        "*99999999999999999999\r\n",     "*18446744073709551616\r\n",
        "*-9223372036854775809\r\n",     "*000000000000000000001\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], strlen(bad[i]), "Protocol error: invalid multibulk length");

    /* the extremes string2ll accepts: INT32_MAX is a valid count, very
     * negative counts mean an empty command */
    char *got = transcript_whole(STR_AND_LEN("*-9223372036854775808\r\n*-01\r\n"), BIG_LIMIT, 1);
    assert_string_equal(got, "[0]\nERR Protocol error: invalid multibulk length\n");
    free(got);
    got = transcript_whole(STR_AND_LEN("*2147483647\r\n"), BIG_LIMIT, 2147483647);
    assert_string_equal(got, "INCOMPLETE 13\n");
    free(got);
}

static void test_too_many_args(void **state) {
    (void)state;
    char *got = transcript_whole(STR_AND_LEN("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"), BIG_LIMIT,
                                 3);
    assert_string_equal(got, "[3] 1:a 1:b 1:c\nINCOMPLETE 0\n");
    free(got);
    expect_error_limits(STR_AND_LEN("*4\r\n"), "Protocol error: too many arguments (limit 3)",
                        BIG_LIMIT, 3);
    /* invalid beats too many, as the count is checked first */
    expect_error_limits(STR_AND_LEN("*2147483648\r\n"), "Protocol error: invalid multibulk length",
                        BIG_LIMIT, 3);
}

static void test_too_big_mbulk_count(void **state) {
    (void)state;
    const size_t max = TC_RESP_MAX_INLINE;
    tc_resp_parser p;
    size_t consumed;
    char *s = repeat('1', max + 1, "\r\n");
    s[0] = '*';

    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, max, &consumed), TC_RESP_INCOMPLETE);
    tc_resp_free(&p);
    expect_error(s, max + 1, "Protocol error: too big mbulk count string");
    expect_error(s, max + 3, "Protocol error: too big mbulk count string");

    /* '\r' exactly at the limit: the line is read (and is not a number) */
    s[max] = '\r';
    s[max + 1] = '\n';
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, max + 1, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_parse(&p, s, max + 2, &consumed), TC_RESP_ERR);
    assert_string_equal(p.err, "Protocol error: invalid multibulk length");
    tc_resp_free(&p);
    free(s);
}

static void test_expected_dollar(void **state) {
    (void)state;
    expect_error(STR_AND_LEN("*1\r\n+foo\r\n"), "Protocol error: expected '$', got '+'");
    expect_error(STR_AND_LEN("*2\r\n$1\r\na\r\nb\r\n"), "Protocol error: expected '$', got 'b'");
    /* CR/LF are shown as spaces, like Redis's error replies */
    expect_error(STR_AND_LEN("*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
    expect_error(STR_AND_LEN("*1\r\n\n\r\n"), "Protocol error: expected '$', got ' '");
    /* like Redis, the element is only judged once its line has ended */
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1024);
    char buf[] = "*1\r\nX\r\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, 5, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_parse(&p, buf, 6, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_parse(&p, buf, 7, &consumed), TC_RESP_ERR);
    assert_string_equal(p.err, "Protocol error: expected '$', got 'X'");
    tc_resp_free(&p);
}

static void test_too_big_bulk_count(void **state) {
    (void)state;
    const size_t max = TC_RESP_MAX_INLINE;
    const size_t start = 4; /* after "*1\r\n" */
    tc_resp_parser p;
    size_t consumed;
    char *s = repeat('1', start + max + 1, "\r\n");
    memcpy(s, "*1\r\n$", 5);

    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, start + max, &consumed), TC_RESP_INCOMPLETE);
    tc_resp_free(&p);
    expect_error(s, start + max + 1, "Protocol error: too big bulk count string");
    expect_error(s, start + max + 3, "Protocol error: too big bulk count string");

    /* '\r' exactly at the limit: the line is read (and is not a number) */
    s[start + max] = '\r';
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, s, start + max + 1, &consumed), TC_RESP_INCOMPLETE);
    assert_int_equal(tc_resp_parse(&p, s, start + max + 2, &consumed), TC_RESP_ERR);
    assert_string_equal(p.err, "Protocol error: invalid bulk length");
    tc_resp_free(&p);

    /* the limit counts from the element's start, not the buffer's: a
     * second element's header may end past TC_RESP_MAX_INLINE */
    char *big = malloc(max + 64);
    assert_non_null(big);
    int n = snprintf(big, 64, "*2\r\n$%zu\r\n", max);
    memset(big + n, 'x', max);
    memcpy(big + n + max, "\r\n$1\r\ny\r\n", 9);
    tc_resp_init(&p, BIG_LIMIT, 1024);
    assert_int_equal(tc_resp_parse(&p, big, (size_t)n + max + 9, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 2);
    tc_resp_free(&p);
    free(big);
    free(s);
}

static void test_invalid_bulk_length(void **state) {
    (void)state;
    static const char *const bad[] = {
        "*1\r\n$-1\r\n",  "*1\r\n$-5\r\n",  "*1\r\n$abc\r\n", "*1\r\n$01\r\n",
        "*1\r\n$ 1\r\n",  "*1\r\n$+1\r\n",  "*1\r\n$\r\n",    "*1\r\n$1 \r\n",
        "*1\r\n$-0\r\n",  "*1\r\n$1x\r\n",  "*1\r\n$99999999999999999999\r\n",
        "*2\r\n$1\r\na\r\n$-1\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], strlen(bad[i]), "Protocol error: invalid bulk length");
}

static void test_max_bulk_len_boundary(void **state) {
    (void)state;
    char *got = transcript_whole(STR_AND_LEN("*1\r\n$10\r\n0123456789\r\n"), 10, 1024);
    assert_string_equal(got, "[1] 10:0123456789\nINCOMPLETE 0\n");
    free(got);
    expect_error_limits(STR_AND_LEN("*1\r\n$11\r\n"), "Protocol error: invalid bulk length", 10,
                        1024);
    got = transcript_whole(STR_AND_LEN("*1\r\n$0\r\n\r\n"), 0, 1024);
    assert_string_equal(got, "[1] 0:\nINCOMPLETE 0\n");
    free(got);
    expect_error_limits(STR_AND_LEN("*1\r\n$1\r\n"), "Protocol error: invalid bulk length", 0,
                        1024);
}

/* Limits are read at each call, so the owner may change them in between. */
static void test_limits_changeable(void **state) {
    (void)state;
    tc_resp_parser p;
    tc_resp_init(&p, BIG_LIMIT, 1);
    char buf[] = "a b\n";
    size_t consumed;
    assert_int_equal(tc_resp_parse(&p, buf, 4, &consumed), TC_RESP_ERR);
    p.max_args = 2;
    char buf2[] = "a b\n";
    assert_int_equal(tc_resp_parse(&p, buf2, 4, &consumed), TC_RESP_OK);
    assert_int_equal(p.argc, 2);
    tc_resp_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_multibulk),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_binary_safe),
        cmocka_unit_test(test_empty_bulk),
        cmocka_unit_test(test_empty_multibulk),
        cmocka_unit_test(test_unchecked_terminators),
        cmocka_unit_test(test_many_args),
        cmocka_unit_test(test_huge_count_not_preallocated),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_every_split_point_with_errors),
        cmocka_unit_test(test_progress_kept),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_shorter_buffer_restarts),
        cmocka_unit_test(test_inline_basic),
        cmocka_unit_test(test_inline_quotes),
        cmocka_unit_test(test_inline_unbalanced),
        cmocka_unit_test(test_inline_too_many_args),
        cmocka_unit_test(test_inline_too_big),
        cmocka_unit_test(test_invalid_multibulk_length),
        cmocka_unit_test(test_too_many_args),
        cmocka_unit_test(test_too_big_mbulk_count),
        cmocka_unit_test(test_expected_dollar),
        cmocka_unit_test(test_too_big_bulk_count),
        cmocka_unit_test(test_invalid_bulk_length),
        cmocka_unit_test(test_max_bulk_len_boundary),
        cmocka_unit_test(test_limits_changeable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
