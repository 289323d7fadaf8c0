/* replication/log_entry.c: round trips and every malformed entry refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "log_entry.h"

#define SAMPLE_TIME 1700000000123LL
#define SAMPLE_SEED 0xfedcba9876543210ull

static tc_buf build_sample(void)
{
    tc_buf b = {0};
    tc_logentry_begin(&b, TC_LOGENTRY_COMMANDS, SAMPLE_TIME, SAMPLE_SEED);
    tc_slice set[] = {{"SET", 3}, {"k\0ey", 4}, {"", 0}, {"EX", 2}, {"10", 2}};
    tc_slice incr[] = {{"INCR", 4}, {"n", 1}};
    char big[300];
    memset(big, 'x', sizeof big);
    tc_slice app[] = {{"APPEND", 6}, {"k", 1}, {big, sizeof big}};
    tc_logentry_add(&b, 5, set);
    tc_logentry_add(&b, 2, incr);
    tc_logentry_add(&b, 3, app);
    assert_int_equal(tc_logentry_end(&b, 3), 0);
    return b;
}

/* The same entry as a version-1 node wrote it: no seed field. */
static tc_buf build_sample_v1(void)
{
    tc_buf b = build_sample();
    memmove(b.data + TC_LOGENTRY_HEADER_V1, b.data + TC_LOGENTRY_HEADER, b.len - TC_LOGENTRY_HEADER);
    b.len -= TC_LOGENTRY_HEADER - TC_LOGENTRY_HEADER_V1;
    b.data[0] = 1;
    return b;
}

static void check_sample(tc_logentry_reader *r)
{
    assert_int_equal(r->kind, TC_LOGENTRY_COMMANDS);
    assert_int_equal(r->time_ms, SAMPLE_TIME);
    assert_int_equal(r->ncommands, 3);
    tc_slice *argv = NULL;
    size_t cap = 0;
    assert_int_equal(tc_logentry_next(r, &argv, &cap), 5);
    assert_memory_equal(argv[1].p, "k\0ey", 4);
    assert_int_equal(argv[2].len, 0);
    assert_int_equal(tc_logentry_next(r, &argv, &cap), 2);
    assert_memory_equal(argv[0].p, "INCR", 4);
    assert_int_equal(tc_logentry_next(r, &argv, &cap), 3);
    assert_int_equal(argv[2].len, 300);
    assert_int_equal(tc_logentry_next(r, &argv, &cap), 0);
    free(argv);
}

static void test_round_trip(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    assert_int_equal((unsigned char)b.data[0], 2);
    tc_logentry_reader r;
    char err[128];
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.version, 2);
    assert_true(r.seed == SAMPLE_SEED);
    check_sample(&r);
    tc_buf_free(&b);
}

/* Entries of a log written before version 2 still apply, with a seed every
 * node derives the same way from the entry. */
static void test_version_1_still_readable(void **state)
{
    (void)state;
    tc_buf b = build_sample_v1();
    tc_logentry_reader r;
    char err[128];
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.version, 1);
    assert_true(r.seed == tc_logentry_v1_seed(SAMPLE_TIME));
    /* pinned: the derivation is part of the format (every node, whatever
     * its version, must get the same number from the same bytes) */
    assert_true(tc_logentry_v1_seed(SAMPLE_TIME) == 0x31b38519f971c94dull);
    assert_true(tc_logentry_v1_seed(SAMPLE_TIME) != tc_logentry_v1_seed(SAMPLE_TIME + 1));
    check_sample(&r);
    /* zero padding as the Raft log adds it */
    tc_buf_append(&b, "\0\0\0", 3);
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.ncommands, 3);
    tc_buf_free(&b);
}

static void test_command_seeds(void **state)
{
    (void)state;
    /* pinned like the v1 seed, and different per command and per entry */
    assert_true(tc_logentry_command_seed(SAMPLE_SEED, 0) == 0xf5dd75ffb7c8b480ull);
    for (uint32_t i = 0; i < 100; i++) {
        assert_true(tc_logentry_command_seed(SAMPLE_SEED, i) == tc_logentry_command_seed(SAMPLE_SEED, i));
        assert_true(tc_logentry_command_seed(SAMPLE_SEED, i) != tc_logentry_command_seed(SAMPLE_SEED, i + 1));
        assert_true(tc_logentry_command_seed(SAMPLE_SEED, i) != tc_logentry_command_seed(SAMPLE_SEED + 1, i));
    }
    /* the generator is SplitMix64 (its published first output for seed 0) */
    tc_rng a, b;
    tc_rng_seed(&a, 0);
    assert_true(tc_rng_next(&a) == 0xe220a8397b1dcdafull);
    for (int i = 0; i < 1000; i++) assert_true(tc_rng_below(&a, 7) < 7);
    /* consecutive commands do not share a shifted sequence */
    tc_rng_seed(&a, tc_logentry_command_seed(SAMPLE_SEED, 0));
    tc_rng_seed(&b, tc_logentry_command_seed(SAMPLE_SEED, 1));
    uint64_t first_b = tc_rng_next(&b);
    for (int i = 0; i < 1000; i++) assert_true(tc_rng_next(&a) != first_b);
}

static void test_empty_and_negative_time(void **state)
{
    (void)state;
    tc_buf b = {0};
    tc_logentry_begin(&b, TC_LOGENTRY_EXPIRE, -5, UINT64_MAX);
    assert_int_equal(tc_logentry_end(&b, 0), 0);
    tc_logentry_reader r;
    char err[128];
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.kind, TC_LOGENTRY_EXPIRE);
    assert_int_equal(r.time_ms, -5);
    assert_true(r.seed == UINT64_MAX);
    assert_int_equal(r.ncommands, 0);
    tc_buf_free(&b);
}

static void check_every_truncation_refused(tc_buf b)
{
    char err[128];
    for (size_t len = 0; len < b.len; len++) {
        tc_logentry_reader r;
        char *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, b.data, len);
        assert_int_equal(tc_logentry_open(&r, copy, len, err, sizeof err), -1);
        free(copy);
    }
    tc_buf_free(&b);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    check_every_truncation_refused(build_sample());
    check_every_truncation_refused(build_sample_v1());
}

static void test_trailing_bytes_refused(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_buf_append(&b, "x", 1);
    tc_logentry_reader r;
    char err[128];
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "after its last command"));
    tc_buf_free(&b);
}

static void test_zero_padding_accepted(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_logentry_reader r;
    char err[128];
    tc_buf_append(&b, "\0\0\0\0\0\0\0", 7);
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.ncommands, 3);
    tc_buf_append(&b, "\0", 1); /* 8 bytes of padding is not padding */
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    tc_buf_free(&b);
}

static void test_bad_header_fields(void **state)
{
    (void)state;
    tc_buf b = build_sample();
    tc_logentry_reader r;
    char err[128];
    b.data[0] = 4;
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 4"));
    b.data[0] = 0;
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 0"));
    /* a version-2 entry read as version 1: the seed is taken for the count */
    b.data[0] = 1;
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    b.data[0] = TC_LOGENTRY_VERSION;
    b.data[1] = 9;
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "kind 9"));
    b.data[1] = 0;
    /* a count larger than what follows */
    b.data[TC_LOGENTRY_HEADER] = (char)(0x80 | 4);
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    /* a count over the limit */
    memcpy(b.data + TC_LOGENTRY_HEADER, "\xff\xff\xff\xff\x0f", 5);
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), -1);
    tc_buf_free(&b);
}

static void test_malformed_varints_refused(void **state)
{
    (void)state;
    char err[128];
    tc_logentry_reader r;
    /* header + count 1 + argc given as an over-long varint */
    unsigned char e[64] = {TC_LOGENTRY_VERSION};
    memcpy(e + TC_LOGENTRY_HEADER, "\x81\x80\x80\x80\x00", TC_LOGENTRY_COUNT_LEN);
    size_t h = TC_LOGENTRY_HEADER + TC_LOGENTRY_COUNT_LEN;
    memcpy(e + h, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    assert_int_equal(tc_logentry_open(&r, e, h + 11, err, sizeof err), -1);
    /* argc = 0 is not a command */
    e[h] = 0;
    assert_int_equal(tc_logentry_open(&r, e, h + 1, err, sizeof err), -1);
    /* non-canonical varint (trailing zero byte) */
    e[h] = 0x81;
    e[h + 1] = 0x00;
    assert_int_equal(tc_logentry_open(&r, e, h + 2, err, sizeof err), -1);
    /* argument length past the end */
    e[h] = 1;
    e[h + 1] = 50;
    memcpy(e + h + 2, "abc", 3);
    assert_int_equal(tc_logentry_open(&r, e, h + 5, err, sizeof err), -1);
    assert_non_null(strstr(err, "runs past the entry"));
    /* the same, well formed */
    e[h + 1] = 3;
    assert_int_equal(tc_logentry_open(&r, e, h + 5, err, sizeof err), 0);
}

static void check_every_bit_flip_is_safe(tc_buf b)
{
    /* No flip may crash or over-read; most are refused, and any that is
     * accepted must still decode to exactly ncommands commands. */
    char err[128];
    tc_slice *argv = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            copy[i] ^= (char)(1 << bit);
            tc_logentry_reader r;
            if (tc_logentry_open(&r, copy, b.len, err, sizeof err) == 0) {
                uint32_t n = 0;
                long argc;
                while ((argc = tc_logentry_next(&r, &argv, &cap)) > 0) n++;
                assert_int_equal(argc, 0);
                assert_int_equal(n, r.ncommands);
            }
            free(copy);
        }
    }
    free(argv);
    tc_buf_free(&b);
}

static void test_every_byte_flip_is_safe(void **state)
{
    (void)state;
    check_every_bit_flip_is_safe(build_sample());
    check_every_bit_flip_is_safe(build_sample_v1());
}

/* Commands in databases: the entry becomes version 3 when the first one
 * outside database 0 joins, the commands before it keep database 0, and
 * each command reads back with its own database. */
static void test_databases_round_trip(void **state)
{
    (void)state;
    tc_buf b = {0};
    tc_logentry_begin(&b, TC_LOGENTRY_COMMANDS, SAMPLE_TIME, SAMPLE_SEED);
    tc_slice set[] = {{"SET", 3}, {"a", 1}, {"1", 1}};
    tc_slice incr[] = {{"INCR", 4}, {"n", 1}};
    tc_logentry_add_db(&b, 0, 3, set);
    assert_int_equal((unsigned char)b.data[0], 2);
    tc_logentry_add_db(&b, 7, 2, incr);
    assert_int_equal((unsigned char)b.data[0], 3);
    tc_logentry_add_db(&b, 0, 3, set);
    tc_logentry_add_db(&b, TC_MAX_DATABASES - 1, 2, incr);
    assert_int_equal(tc_logentry_end(&b, 4), 0);
    tc_logentry_reader r;
    char err[128];
    assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
    assert_int_equal(r.version, 3);
    assert_int_equal(r.seed, SAMPLE_SEED);
    tc_slice *argv = NULL;
    size_t cap = 0;
    const int want_db[] = {0, 7, 0, TC_MAX_DATABASES - 1};
    const long want_argc[] = {3, 2, 3, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tc_logentry_next(&r, &argv, &cap), want_argc[i]);
        assert_int_equal(r.db, want_db[i]);
    }
    assert_memory_equal(argv[0].p, "INCR", 4);
    assert_int_equal(tc_logentry_next(&r, &argv, &cap), 0);
    free(argv);

    /* a database number past the most a node may have is damage */
    tc_buf bad = {0};
    tc_logentry_begin(&bad, TC_LOGENTRY_COMMANDS, SAMPLE_TIME, SAMPLE_SEED);
    tc_logentry_add_db(&bad, TC_MAX_DATABASES, 2, incr);
    assert_int_equal(tc_logentry_end(&bad, 1), 0);
    assert_int_equal(tc_logentry_open(&r, bad.data, bad.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed database"));
    tc_buf_free(&bad);
    tc_buf_free(&b);
}

/* One SET whose value is at least min bytes, in database db. */
static tc_buf build_set(int db, const char *cmd, const char *value, size_t vlen, int with_ex)
{
    tc_buf b = {0};
    tc_logentry_begin(&b, TC_LOGENTRY_COMMANDS, SAMPLE_TIME, SAMPLE_SEED);
    tc_slice set[] = {{cmd, strlen(cmd)}, {"key:1", 5}, {value, vlen}, {"EX", 2}, {"10", 2}};
    tc_logentry_add_db(&b, db, with_ex ? 5 : 3, set);
    assert_int_equal(tc_logentry_end(&b, 1), 0);
    return b;
}

/* A big SET's value found from the entry's first bytes, the entry read back
 * with that value elsewhere (a gap), and every wrong gap refused. */
static void test_big_set_read_with_a_gap(void **state)
{
    (void)state;
    char value[1000];
    for (size_t i = 0; i < sizeof value; i++) value[i] = (char)(i * 7);
    for (int variant = 0; variant < 4; variant++) {
        int db = variant & 1 ? 5 : 0, with_ex = variant & 2;
        tc_buf b = build_set(db, variant == 3 ? "sEt" : "SET", value, sizeof value, with_ex);
        size_t at, vlen, klen;
        const char *key;
        /* from a head that ends right after the value's length */
        const char *name = memmem(b.data, b.len, "key:1", 5);
        assert_non_null(name);
        size_t head = (size_t)(name - b.data) + 5 + 2; /* 1000 is a varint of two bytes */
        assert_int_equal(tc_logentry_big_set(b.data, head, b.len, 100, &at, &vlen, &key, &klen), 1);
        assert_int_equal(at, head);
        assert_int_equal(vlen, sizeof value);
        assert_int_equal(klen, 5);
        assert_memory_equal(key, "key:1", 5);
        assert_memory_equal(b.data + at, value, vlen);
        /* not enough of the head, or a value below the minimum */
        assert_int_equal(tc_logentry_big_set(b.data, head - 1, b.len, 100, &at, &vlen, &key, &klen), 0);
        assert_int_equal(tc_logentry_big_set(b.data, b.len, b.len, sizeof value + 1, &at, &vlen, &key, &klen), 0);
        /* the entry without the value's bytes, and where they are */
        char outside[sizeof value];
        memcpy(outside, value, sizeof value);
        size_t side_len = b.len - vlen;
        char *side = malloc(side_len);
        assert_non_null(side);
        memcpy(side, b.data, at);
        memcpy(side + at, b.data + at + vlen, b.len - at - vlen);
        tc_logentry_gap gap = {.at = at, .p = outside, .len = vlen};
        tc_logentry_reader r;
        char err[160];
        assert_int_equal(tc_logentry_open_gap(&r, side, side_len, &gap, err, sizeof err), 0);
        tc_slice *argv = NULL;
        size_t cap = 0;
        assert_int_equal(tc_logentry_next(&r, &argv, &cap), with_ex ? 5 : 3);
        assert_int_equal(r.db, db);
        assert_ptr_equal(argv[2].p, outside);
        assert_int_equal(argv[2].len, sizeof value);
        assert_memory_equal(argv[1].p, "key:1", 5);
        if (with_ex) assert_memory_equal(argv[4].p, "10", 2);
        assert_int_equal(tc_logentry_next(&r, &argv, &cap), 0);
        free(argv);
        /* a gap of another length, or at no argument's bytes */
        gap.len = vlen - 1;
        assert_int_equal(tc_logentry_open_gap(&r, side, side_len, &gap, err, sizeof err), -1);
        gap.len = vlen;
        gap.at = at - 1;
        assert_int_equal(tc_logentry_open_gap(&r, side, side_len, &gap, err, sizeof err), -1);
        gap.at = side_len + 1;
        assert_int_equal(tc_logentry_open_gap(&r, side, side_len, &gap, err, sizeof err), -1);
        /* the whole entry without a gap reads as before */
        assert_int_equal(tc_logentry_open(&r, b.data, b.len, err, sizeof err), 0);
        free(side);
        tc_buf_free(&b);
    }
    /* not one SET: another command, or two commands */
    tc_buf other = build_set(0, "APPEND", value, sizeof value, 0);
    size_t at, vlen, klen;
    const char *key;
    assert_int_equal(tc_logentry_big_set(other.data, other.len, other.len, 100, &at, &vlen, &key, &klen), 0);
    tc_buf_free(&other);
    tc_buf two = build_sample();
    assert_int_equal(tc_logentry_big_set(two.data, two.len, two.len, 1, &at, &vlen, &key, &klen), 0);
    tc_buf_free(&two);
}

/* Database 0 alone: the bytes of version 2, as before databases; and
 * entries of versions 1 and 2 read as database 0. */
static void test_database_0_entries_unchanged(void **state)
{
    (void)state;
    tc_buf plain = build_sample(), with_db = {0};
    tc_logentry_begin(&with_db, TC_LOGENTRY_COMMANDS, SAMPLE_TIME, SAMPLE_SEED);
    tc_slice set[] = {{"SET", 3}, {"k\0ey", 4}, {"", 0}, {"EX", 2}, {"10", 2}};
    tc_slice incr[] = {{"INCR", 4}, {"n", 1}};
    char big[300];
    memset(big, 'x', sizeof big);
    tc_slice app[] = {{"APPEND", 6}, {"k", 1}, {big, sizeof big}};
    tc_logentry_add_db(&with_db, 0, 5, set);
    tc_logentry_add_db(&with_db, 0, 2, incr);
    tc_logentry_add_db(&with_db, 0, 3, app);
    assert_int_equal(tc_logentry_end(&with_db, 3), 0);
    assert_int_equal(with_db.len, plain.len);
    assert_memory_equal(with_db.data, plain.data, plain.len);
    tc_buf v1 = build_sample_v1();
    tc_buf *entries[] = {&plain, &v1};
    for (int e = 0; e < 2; e++) {
        tc_logentry_reader r;
        char err[128];
        assert_int_equal(tc_logentry_open(&r, entries[e]->data, entries[e]->len, err, sizeof err), 0);
        tc_slice *argv = NULL;
        size_t cap = 0;
        while (tc_logentry_next(&r, &argv, &cap) > 0) assert_int_equal(r.db, 0);
        free(argv);
    }
    tc_buf_free(&v1);
    tc_buf_free(&with_db);
    tc_buf_free(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_big_set_read_with_a_gap),
        cmocka_unit_test(test_databases_round_trip),
        cmocka_unit_test(test_database_0_entries_unchanged),
        cmocka_unit_test(test_version_1_still_readable),
        cmocka_unit_test(test_command_seeds),
        cmocka_unit_test(test_empty_and_negative_time),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_trailing_bytes_refused),
        cmocka_unit_test(test_zero_padding_accepted),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_malformed_varints_refused),
        cmocka_unit_test(test_every_byte_flip_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
