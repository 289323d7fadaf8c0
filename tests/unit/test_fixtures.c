/* Files written by older tricache releases (tests/fixtures/, see its
 * README) are read by this code; files of a future version are refused
 * with an error naming both versions, and change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "fixture.h"
#include "keyspace_image.h"
#include "log_entry.h"

/* What DEBUG DIGEST answered on the d2f200a node that wrote snapshot_v1. */
#define SNAPSHOT_V1_DIGEST "bef191159c552faaf48bf86d747acb31016b6f46"

static unsigned char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TC_FIXTURES_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    unsigned char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    assert_true(feof(f));
    fclose(f);
    return buf;
}

static void test_log_entry_v1_applies(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *e = slurp("log_entry_v1.bin", &len);
    tc_logentry_reader r;
    char err[256];
    assert_int_equal(tc_logentry_open(&r, e, len, err, sizeof err), 0);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.ncommands, 4);
    assert_int_equal(r.time_ms, 1700000000123LL);

    tc_apply_state st = {0};
    assert_int_equal(tc_apply_entry(&f->srv, &st, e, len, NULL, err, sizeof err), 0);
    assert_int_equal(st.commands, 4);
    f->now_ms = 1700000000200LL; /* before the session key's expiry */
    assert_string_equal(fx_run(f, "GET", "greeting", NULL), "$5\r\nhello\r\n");
    assert_string_equal(fx_run(f, "GET", "counter", NULL), "$2\r\n42\r\n");
    /* PX is relative to the entry's time, not to when it is applied */
    assert_string_equal(fx_run(f, "PEXPIRETIME", "session", NULL), ":1700000060123\r\n");
    free(e);
}

static void test_log_entry_v4_refused(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *e = slurp("log_entry_v4.bin", &len);
    const char *want = "log entry version 4 is newer than this tricache (reads 1-3): upgrade this node";
    char err[256] = "";
    assert_int_equal(tc_logentry_too_new(e, len, err, sizeof err), 1);
    assert_string_equal(err, want);
    tc_logentry_reader r;
    err[0] = 0;
    assert_int_equal(tc_logentry_open(&r, e, len, err, sizeof err), -1);
    assert_string_equal(err, want);
    tc_apply_state st = {0};
    assert_int_equal(tc_apply_entry(&f->srv, &st, e, len, NULL, err, sizeof err), -1);
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":0\r\n");
    assert_int_equal(st.commands, 0);

    /* the versions this code reads are not "too new" */
    size_t len1;
    unsigned char *old = slurp("log_entry_v1.bin", &len1);
    assert_int_equal(tc_logentry_too_new(old, len1, err, sizeof err), 0);
    free(old);
    free(e);
}

static void test_snapshot_v1_loads(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *img = slurp("snapshot_v1.tcsnap", &len);
    tc_apply_state st = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "snapshot_v1.tcsnap"};
    assert_int_equal(tc_image_load(&f->srv, &st, img, len, &ro, err, sizeof err), 0);
    f->now_ms = st.clock_ms;
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":4\r\n");
    assert_string_equal(fx_run(f, "DEBUG", "DIGEST", NULL), "+" SNAPSHOT_V1_DIGEST "\r\n");
    assert_string_equal(fx_run(f, "GET", "greeting", NULL), "$5\r\nhello\r\n");
    assert_string_equal(fx_run(f, "GET", "bin", NULL), "$3\r\na\tb\r\n");
    assert_string_equal(fx_run(f, "INCR", "counter", NULL), ":43\r\n");
    free(img);
}

static void test_snapshot_future_refused(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "kept", "1", NULL);
    size_t len;
    unsigned char *img = slurp("snapshot_v2_future.tcsnap", &len);
    tc_apply_state st = {0};
    char err[256] = "";
    tc_snapshot_reader_opts ro = {.name = "snapshot_v2_future.tcsnap"};
    assert_int_equal(tc_image_load(&f->srv, &st, img, len, &ro, err, sizeof err), -1);
    if (!strstr(err, "format version 2 is newer than this tricache understands (1)")) fail_msg("error: %s", err);
    /* the keyspace it would have replaced is untouched */
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":1\r\n");
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_entry_v1_applies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_entry_v4_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_v1_loads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_future_refused, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
