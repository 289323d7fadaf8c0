/* Stream commands sent to redis-server and to tricache must get the same
 * bytes back (Redis 7.0 is the reference): XADD (IDs, NOMKSTREAM,
 * MAXLEN/MINID with = and ~, LIMIT), XLEN, XRANGE, XREVRANGE, XDEL, XTRIM,
 * XREAD (BLOCK that times out, and that finds data), XSETID, XINFO, TYPE,
 * OBJECT ENCODING, and the error texts, in RESP2 and RESP3, and the
 * keyspace events the stream writes publish; on a
 * standalone node and on the primary of a three-node cluster. IDs are
 * explicit (or ms-*): `*` reads the clock, which two servers do not share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_pair.h"
#include "harness.h"

#define MAXARGS 16
typedef struct step {
    const char *a[MAXARGS];
} step;

static const step steps[] = {
    {{"DEL", "s", "t", "u", "str", "big", "e", "s2", "s3"}},
    {{"SET", "str", "x"}},
    /* XADD: IDs */
    {{"XADD", "s", "1-1", "f", "v1"}},
    {{"XADD", "s", "1-1", "f", "v"}},
    {{"XADD", "s", "1-0", "f", "v"}},
    {{"XADD", "s", "0-0", "f", "v"}},
    {{"XADD", "s", "0", "f", "v"}},
    {{"XADD", "s", "1-*", "f", "v2", "g", "w2"}},
    {{"XADD", "s", "2-*", "f", "v3"}},
    {{"XADD", "s", "2", "f", "v4"}},
    {{"XADD", "s", "3-5", "f", "v5"}},
    {{"XADD", "s", "5", "f", "v6", "g", ""}},
    {{"XADD", "s", "abc", "f", "v"}},
    {{"XADD", "s", "1-2-3", "f", "v"}},
    {{"XADD", "s", "-5", "f", "v"}},
    {{"XADD", "s", "5-", "f", "v"}},
    {{"XADD", "s", "+9", "f", "v7"}},
    {{"XADD", "s", "18446744073709551616", "f", "v"}},
    {{"XADD", "s", "10", "f"}},
    {{"XADD", "s", "10", "f", "v", "g"}},
    {{"XADD", "s", "10"}},
    {{"XADD", "str", "10", "f", "v"}},
    {{"XADD", "str", "0-0", "f", "v"}},
    {{"XADD", "t", "0-*", "f", "v"}},
    {{"XADD", "t", "0-*", "f", "v"}},
    {{"XADD", "nokey", "NOMKSTREAM", "5-5", "f", "v"}},
    {{"EXISTS", "nokey"}},
    {{"XADD", "t", "NOMKSTREAM", "5-5", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "~", "1", "MINID", "1", "*", "f", "v"}},
    {{"XADD", "t", "LIMIT", "10", "*", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "1", "LIMIT", "10", "*", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "=", "1", "LIMIT", "10", "*", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "-1", "*", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "abc", "*", "f", "v"}},
    {{"XADD", "t", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "f", "v"}},
    {{"XADD", "t", "MINID", "abc", "*", "f", "v"}},
    {{"XADD", "t", "MINID", "-", "*", "f", "v"}},
    {{"XADD", "t", "foo", "*", "f", "v"}},
    /* trimming as part of XADD */
    {{"XADD", "t", "MAXLEN", "2", "6-*", "f", "v"}},
    {{"XLEN", "t"}},
    {{"XADD", "t", "MAXLEN", "=", "1", "7", "f", "v"}},
    {{"XRANGE", "t", "-", "+"}},
    {{"XADD", "t", "MINID", "8", "8-1", "f", "v"}},
    {{"XRANGE", "t", "-", "+"}},
    {{"XADD", "t", "MAXLEN", "~", "0", "9-1", "f", "v"}},
    {{"XLEN", "t"}},
    {{"XADD", "t", "MAXLEN", "0", "9-2", "f", "v"}},
    {{"XLEN", "t"}},
    {{"XRANGE", "t", "-", "+"}},
    {{"XINFO", "STREAM", "t"}},
    /* XLEN, XRANGE, XREVRANGE */
    {{"XLEN", "s"}},
    {{"XLEN", "nokey"}},
    {{"XLEN", "str"}},
    {{"XRANGE", "s", "-", "+"}},
    {{"XRANGE", "s", "-", "+", "COUNT", "2"}},
    {{"XRANGE", "s", "-", "+", "count", "0"}},
    {{"XRANGE", "s", "-", "+", "COUNT", "-1"}},
    {{"XRANGE", "s", "-", "+", "COUNT"}},
    {{"XRANGE", "s", "-", "+", "COUNT", "x"}},
    {{"XRANGE", "s", "-", "+", "FOO", "1"}},
    {{"XRANGE", "s", "2", "2"}},
    {{"XRANGE", "s", "(1-1", "(5"}},
    {{"XRANGE", "s", "(1", "(5-0"}},
    {{"XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"}},
    {{"XRANGE", "s", "-", "(0-0"}},
    {{"XRANGE", "s", "(-", "+"}},
    {{"XRANGE", "s", "(", "+"}},
    {{"XRANGE", "s", "5", "1"}},
    {{"XRANGE", "s", "abc", "+"}},
    {{"XRANGE", "s", "-", "abc"}},
    {{"XRANGE", "nokey", "-", "+"}},
    {{"XRANGE", "str", "-", "+"}},
    {{"XREVRANGE", "s", "+", "-"}},
    {{"XREVRANGE", "s", "+", "-", "COUNT", "3"}},
    {{"XREVRANGE", "s", "(5", "(1-1"}},
    {{"XREVRANGE", "s", "2-1", "2"}},
    {{"XREVRANGE", "s", "-", "+"}},
    {{"XREVRANGE", "s", "+", "-", "COUNT", "0"}},
    /* XDEL */
    {{"XDEL", "s", "2-0", "99-9"}},
    {{"XDEL", "s", "abc", "1-1"}},
    {{"XDEL", "nokey", "1-1"}},
    {{"XDEL", "str", "1-1"}},
    {{"XDEL", "s", "-"}},
    {{"XLEN", "s"}},
    {{"XRANGE", "s", "-", "+"}},
    {{"XINFO", "STREAM", "s"}},
    /* XREAD */
    {{"XREAD", "STREAMS", "s", "2"}},
    {{"XREAD", "COUNT", "1", "STREAMS", "s", "t", "0", "0"}},
    {{"XREAD", "COUNT", "-5", "STREAMS", "s", "3"}},
    {{"XREAD", "STREAMS", "s", "nokey", "0", "0"}},
    {{"XREAD", "STREAMS", "s", "$"}},
    {{"XREAD", "STREAMS", "s", "9"}},
    {{"XREAD", "STREAMS", "s"}},
    {{"XREAD", "STREAMS", "s", "t", "0"}},
    {{"XREAD", "STREAMS", "s", "abc"}},
    {{"XREAD", "STREAMS", "s", "-"}},
    {{"XREAD", "STREAMS", "s", ">"}},
    {{"XREAD", "STREAMS", "str", "0"}},
    {{"XREAD", "STREAMS", "nokey", "0"}},
    {{"XREAD", "FOO", "STREAMS", "s", "0"}},
    {{"XREAD", "COUNT", "x", "STREAMS", "s", "0"}},
    {{"XREAD", "BLOCK", "-1", "STREAMS", "s", "0"}},
    {{"XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"}},
    {{"XREAD", "COUNT", "2"}},
    {{"XREAD", "BLOCK", "0", "STREAMS", "s", "0"}},
    {{"XREAD", "BLOCK", "20", "STREAMS", "s", "$"}},
    {{"XREAD", "BLOCK", "20", "COUNT", "1", "STREAMS", "nokey", "s", "0", "5"}},
    /* a read after the last entry was deleted */
    {{"XADD", "u", "1-1", "a", "1"}},
    {{"XADD", "u", "2-1", "a", "2"}},
    {{"XDEL", "u", "2-1"}},
    {{"XREAD", "STREAMS", "u", "1-1"}},
    {{"XINFO", "STREAM", "u"}},
    /* XTRIM */
    {{"XTRIM", "s"}},
    {{"XTRIM", "s", "FOO", "1"}},
    {{"XTRIM", "s", "MAXLEN", "1", "FOO"}},
    {{"XTRIM", "s", "LIMIT", "1"}},
    {{"XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"}},
    {{"XTRIM", "nokey", "MAXLEN", "0"}},
    {{"XTRIM", "str", "MAXLEN", "0"}},
    {{"XTRIM", "s", "MAXLEN", "~", "2"}},
    {{"XTRIM", "s", "MINID", "2"}},
    {{"XRANGE", "s", "-", "+"}},
    {{"XTRIM", "s", "MAXLEN", "=", "2"}},
    {{"XTRIM", "s", "MINID", "~", "3", "LIMIT", "0"}},
    {{"XRANGE", "s", "-", "+"}},
    {{"XINFO", "STREAM", "s"}},
    {{"XINFO", "STREAM", "s", "FULL"}},
    {{"XINFO", "STREAM", "s", "FULL", "COUNT", "1"}},
    {{"XINFO", "STREAM", "s", "FULL", "COUNT", "0"}},
    {{"XINFO", "STREAM", "s", "FULL", "COUNT"}},
    {{"XINFO", "STREAM", "s", "FOO"}},
    {{"XINFO", "STREAM"}},
    {{"XINFO", "STREAM", "nokey"}},
    {{"XINFO", "STREAM", "str"}},
    {{"XINFO", "FOO", "s"}},
    {{"XINFO", "GROUPS", "s"}},
    {{"XINFO", "CONSUMERS", "s", "g"}},
    {{"XINFO", "HELP"}},
    /* XSETID */
    {{"XSETID", "s", "1-1"}},
    {{"XSETID", "s", "90-0", "ENTRIESADDED", "1"}},
    {{"XSETID", "s", "90-0", "ENTRIESADDED", "50", "MAXDELETEDID", "91-0"}},
    {{"XSETID", "s", "90-0", "ENTRIESADDED", "-1"}},
    {{"XSETID", "s", "90-0", "ENTRIESADDED", "50", "MAXDELETEDID", "4-0"}},
    {{"XSETID", "s", "3-0"}},
    {{"XSETID", "nokey", "1-1"}},
    {{"XSETID", "str", "1-1"}},
    {{"XSETID", "s", "abc"}},
    {{"XSETID", "s", "95-0", "FOO"}},
    {{"XINFO", "STREAM", "s"}},
    {{"XADD", "s", "90-*", "f", "v"}},
    {{"XADD", "s", "95-*", "f", "v"}},
    {{"XADD", "s", "18446744073709551615-18446744073709551615", "f", "v"}},
    {{"XADD", "s", "*", "f", "v"}},
    {{"XADD", "s", "5-1", "f", "v"}},
    /* an empty stream is a key */
    {{"XADD", "e", "1-1", "f", "v"}},
    {{"XDEL", "e", "1-1"}},
    {{"EXISTS", "e"}},
    {{"XINFO", "STREAM", "e"}},
    {{"XREAD", "STREAMS", "e", "0"}},
    {{"XREVRANGE", "e", "+", "-"}},
    /* generic commands */
    {{"TYPE", "s"}},
    {{"OBJECT", "ENCODING", "s"}},
    {{"COPY", "s", "s2"}},
    {{"XRANGE", "s2", "-", "+"}},
    {{"RENAME", "s2", "s3"}},
    {{"TYPE", "s3"}},
    {{"EXPIRE", "s3", "100"}},
    {{"DEL", "s3", "s2"}},
    {{"LPUSH", "s", "x"}},
    {{"GET", "s"}},
    /* many entries: several chunks, approximate trims */
    {{"DEL", "big"}},
};

/* A stream of 1000 entries of a few bytes (chunks close on entry counts,
 * as Redis's nodes do for small entries), then approximate and exact trims.
 * (Not XINFO STREAM: its radix-tree-nodes counts Redis's inner tree nodes.) */
static size_t compare_big(int t, int r)
{
    size_t bad = 0;
    for (int i = 1; i <= 1000; i++) {
        char id[32], v[32];
        snprintf(id, sizeof id, "%d-1", i);
        snprintf(v, sizeof v, "%d", i);
        const char *a[] = {"XADD", "big", id, "field", v};
        bad += compat_compare(t, r, 5, a, "big xadd");
    }
    static const step trims[] = {
        {{"XTRIM", "big", "MAXLEN", "~", "950"}},
        {{"XTRIM", "big", "MAXLEN", "~", "850"}},
        {{"XLEN", "big"}},
        {{"XTRIM", "big", "MINID", "~", "420"}},
        {{"XRANGE", "big", "-", "+", "COUNT", "3"}},
        {{"XTRIM", "big", "MAXLEN", "~", "0", "LIMIT", "150"}},
        {{"XTRIM", "big", "MAXLEN", "~", "0", "LIMIT", "250"}},
        {{"XADD", "big", "MAXLEN", "~", "300", "2000-1", "f", "v"}},
        {{"XLEN", "big"}},
        {{"XDEL", "big", "601-1", "602-1", "650-1"}},
        {{"XTRIM", "big", "MINID", "640"}},
        {{"XREVRANGE", "big", "+", "-", "COUNT", "2"}},
        {{"XRANGE", "big", "-", "+", "COUNT", "2"}},
        {{"XTRIM", "big", "MAXLEN", "5"}},
        {{"XRANGE", "big", "-", "+"}},
        {{"XREAD", "COUNT", "2", "STREAMS", "big", "0"}},
    };
    for (size_t i = 0; i < sizeof trims / sizeof trims[0]; i++) {
        bad += compat_compare(t, r, compat_argc(trims[i].a, MAXARGS), trims[i].a, "big");
    }
    return bad;
}

static size_t compare(int t, int r)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "step %zu", i);
        mismatches += compat_compare(t, r, compat_argc(steps[i].a, MAXARGS), steps[i].a, what);
    }
    return mismatches + compare_big(t, r);
}

static void test_streams_match_redis_resp2(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 2, compare);
}

static void test_streams_match_redis_resp3(void **state)
{
    compat_pair *p = *state;
    compat_compare_in(p, 3, compare);
}

/* Sends an inline command and returns its reply (malloc'd). */
static char *cmd(int fd, const char *line)
{
    h_sends(fd, line);
    h_sends(fd, "\r\n");
    char *r = h_reply(fd);
    assert_non_null(r);
    return r;
}

/* The keyevent messages a sequence of stream writes publishes, read up to
 * the `set` event of an end marker. */
static char *events_of(int port)
{
    int w = h_connect(port), sub = h_connect(port);
    free(cmd(w, "CONFIG SET notify-keyspace-events Eg$t"));
    free(cmd(sub, "PSUBSCRIBE __keyevent@0__:*"));
    static const char *const writes[] = {
        "DEL ev ev:end", "XADD ev 1-1 a 1", "XADD ev MAXLEN 0 2-1 a 1", "XDEL ev 9-9", "XADD ev 3-1 a 1",
        "XDEL ev 3-1", "XTRIM ev MAXLEN 0", "XADD ev 4-1 a 1 b 2", "XTRIM ev MINID 5", "XSETID ev 5-5",
        "XADD ev NOMKSTREAM 6-1 a 1", "XADD nokey NOMKSTREAM 6-1 a 1", "RENAME ev ev2", "DEL ev2", "SET ev:end 1",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) free(cmd(w, writes[i]));
    size_t cap = 1 << 16, len = 0;
    char *all = calloc(1, cap);
    for (;;) {
        char *m = h_reply(sub);
        assert_non_null(m);
        size_t n = strlen(m);
        assert_true(len + n < cap);
        memcpy(all + len, m, n);
        len += n;
        int end = strstr(m, "__keyevent@0__:set") != NULL;
        free(m);
        if (end) break;
    }
    free(cmd(w, "CONFIG SET notify-keyspace-events \"\""));
    h_close(sub);
    h_close(w);
    return all;
}

static void test_stream_events_match_redis(void **state)
{
    compat_pair *p = *state;
    char *t = events_of(p->port), *r = events_of(p->redis_port);
    if (strcmp(t, r) != 0) print_error("tricache:\n%s\nredis:\n%s", t, r);
    assert_string_equal(t, r);
    assert_non_null(strstr(t, "xtrim"));
    free(t);
    free(r);
}

/* blocked_clients of the node on port, from INFO clients. */
static long blocked_clients(int port)
{
    int fd = h_connect(port);
    char *info = cmd(fd, "INFO clients");
    h_close(fd);
    const char *f = strstr(info, "blocked_clients:");
    long n = f ? strtol(f + 16, NULL, 10) : -1;
    free(info);
    return n;
}

/* XREAD BLOCK on this node (standalone: re-run after the XADD's command;
 * cluster primary: after its entry is applied), with COUNT, on the
 * second of two streams, and a `$` resolved when it blocked. */
static void test_xread_block_woken(void **state)
{
    compat_pair *p = *state;
    int w = h_connect(p->port), r = h_connect(p->port);
    free(cmd(w, "DEL wa wb"));
    free(cmd(w, "XADD wb 1-1 old 1"));
    h_sends(r, "XREAD COUNT 1 BLOCK 0 STREAMS wa wb $ $\r\n");
    long long until = h_ms() + 15000;
    while (blocked_clients(p->port) != 1) assert_true(h_ms() < until);
    free(cmd(w, "XADD wb 2-1 new 1"));
    char *got = h_reply(r);
    assert_string_equal(got, "*1\r\n*2\r\n$2\r\nwb\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$3\r\nnew\r\n$1\r\n1\r\n");
    free(got);
    assert_int_equal(blocked_clients(p->port), 0);
    h_close(r);
    h_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_match_redis_resp2),
        cmocka_unit_test(test_streams_match_redis_resp3),
        cmocka_unit_test(test_stream_events_match_redis),
        cmocka_unit_test(test_xread_block_woken),
    };
    int failed = cmocka_run_group_tests_name("standalone", tests, compat_start_node, compat_stop);
    if (!getenv("TC_STREAM_COMPAT_STANDALONE_ONLY"))
        failed += cmocka_run_group_tests_name("three-node primary", tests, compat_start_cluster, compat_stop);
    return failed;
}
