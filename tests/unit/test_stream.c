/* The stream value (node/types/stream.c): ID parsing with Redis's quirks,
 * appending and where chunks close, range seeks both ways, XDEL, trims
 * (MAXLEN and MINID, exact and approximate, LIMIT), copies sharing chunks
 * until they change them, a random sequence
 * against a plain array, memory accounting, and the keyspace image form
 * (round trip keeping chunk boundaries; damaged records refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/fixture.h"
#include "buf.h"
#include "keyspace.h"
#include "types/stream.h"
#include "types/types.h"

static tc_stream_id ID(uint64_t ms, uint64_t seq) { return (tc_stream_id){ms, seq}; }

static int parse(const char *s, tc_stream_id *id, int *star)
{
    return tc_stream_id_parse(s, strlen(s), 7, id, star);
}

static void test_id_parse(void **state)
{
    (void)state;
    tc_stream_id id;
    int star;
    assert_int_equal(parse("5", &id, &star), 0);
    assert_true(id.ms == 5 && id.seq == 7 && !star); /* the missing seq */
    assert_int_equal(parse("5-3", &id, &star), 0);
    assert_true(id.ms == 5 && id.seq == 3);
    assert_int_equal(parse("18446744073709551615-18446744073709551615", &id, NULL), 0);
    assert_true(id.ms == UINT64_MAX && id.seq == UINT64_MAX);
    assert_int_equal(parse("5-*", &id, &star), 0);
    assert_true(id.ms == 5 && star);
    assert_int_equal(parse("5-*", &id, NULL), -1); /* only where ms-* is allowed */
    /* Redis's string2ull: strtoull's blanks, sign and leading zeros pass */
    assert_int_equal(parse("01", &id, NULL), 0);
    assert_int_equal(id.ms, 1);
    assert_int_equal(parse(" 5", &id, NULL), 0);
    assert_int_equal(parse("+5", &id, NULL), 0);
    /* refused */
    const char *bad[] = {"", "-", "-5", "5-", "1-2-3", "abc", "5x", "18446744073709551616", "5-18446744073709551616",
                         "5--3", "*", "5-**"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &id, &star) == 0) fail_msg("\"%s\" parsed", bad[i]);
    }
    char longer[200];
    memset(longer, '1', sizeof longer);
    assert_int_equal(tc_stream_id_parse(longer, 128, 0, &id, NULL), -1);
    char buf[48];
    assert_int_equal(tc_stream_id_format(ID(12, 34), buf), 5);
    assert_string_equal(buf, "12-34");
}

static void add(tc_stream *s, uint64_t ms, uint64_t seq, const char *val)
{
    const char *fv[2] = {"field", val};
    size_t len[2] = {5, strlen(val)};
    assert_int_equal(tc_stream_append(s, ID(ms, seq), 1, fv, len), 0);
}

/* The sum of what every chunk and entry takes, counted again. */
static size_t mem_recount(const tc_stream *s)
{
    size_t m = 0;
    for (size_t c = 0; c < s->nchunks; c++) {
        m += sizeof(tc_stream_chunk);
        for (uint32_t i = 0; i < s->chunks[c]->n; i++) m += sizeof(tc_stream_entry) + s->chunks[c]->e[i]->bytes;
    }
    return m;
}

static void test_append_and_chunks(void **state)
{
    (void)state;
    tc_stream *s = tc_stream_new();
    for (int i = 1; i <= 250; i++) add(s, (uint64_t)i, 0, "v");
    assert_int_equal(s->length, 250);
    assert_int_equal(s->entries_added, 250);
    assert_int_equal(s->nchunks, 3); /* 100 + 100 + 50, as Redis's nodes */
    assert_int_equal(s->chunks[2]->n, 50);
    assert_true(tc_stream_id_cmp(s->last_id, ID(250, 0)) == 0);
    assert_int_equal(s->mem, mem_recount(s));
    /* a deleted entry still takes its slot: the chunk does not refill */
    assert_int_equal(tc_stream_delete(s, ID(250, 0)), 1);
    for (int i = 251; i <= 301; i++) add(s, (uint64_t)i, 0, "v");
    assert_int_equal(s->nchunks, 4);
    assert_int_equal(s->chunks[2]->n, 99);
    assert_int_equal(s->chunks[3]->n, 1);
    /* big entries close a chunk on bytes */
    tc_stream *b = tc_stream_new();
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 1; i <= 6; i++) add(b, (uint64_t)i, 0, big);
    assert_int_equal(b->nchunks, 3);
    /* strings of every length class read back whole */
    static char huge[70000];
    memset(huge, 'y', sizeof huge - 1);
    const size_t lens[] = {0, 1, 127, 128, 16383, 16384, sizeof huge - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        const char *fv[2] = {huge, huge};
        size_t len[2] = {lens[i], lens[(i + 3) % 7]};
        tc_stream_entry *e = tc_stream_entry_new(ID(1, 1), 1, fv, len);
        assert_non_null(e);
        size_t off = 0, l;
        assert_ptr_equal(tc_stream_entry_str(e, &off, &l), e->data + (lens[i] < 128 ? 1 : lens[i] < 16384 ? 2 : 3));
        assert_int_equal(l, lens[i]);
        const char *v = tc_stream_entry_str(e, &off, &l);
        assert_int_equal(l, lens[(i + 3) % 7]);
        assert_true(l == 0 || v[l - 1] == 'y');
        assert_int_equal(off, e->bytes);
        free(e);
    }
    tc_stream_free(b);
    tc_stream_free(s);
}

static void test_seek_and_delete(void **state)
{
    (void)state;
    tc_stream *s = tc_stream_new();
    for (int i = 0; i < 300; i++) add(s, 10 + (uint64_t)i * 2, 1, "v"); /* 10-1, 12-1, ... 608-1 */
    tc_stream_pos p = tc_stream_seek(s, ID(11, 0));
    assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, ID(12, 1)) == 0);
    p = tc_stream_seek(s, ID(12, 1));
    assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, ID(12, 1)) == 0);
    p = tc_stream_seek(s, ID(209, 0)); /* across a chunk boundary: entry 100 is 210-1 */
    assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, ID(210, 1)) == 0);
    assert_int_equal(p.c, 1);
    p = tc_stream_seek(s, ID(609, 0));
    assert_null(tc_stream_at(s, p));
    assert_int_equal(tc_stream_seek_back(s, ID(209, 0), &p), 1);
    assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, ID(208, 1)) == 0);
    assert_int_equal(tc_stream_seek_back(s, ID(10, 0), &p), 0);
    assert_int_equal(tc_stream_seek_back(s, ID(UINT64_MAX, UINT64_MAX), &p), 1);
    assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, ID(608, 1)) == 0);
    /* XDEL: absent IDs change nothing; the greatest deleted ID is kept */
    assert_int_equal(tc_stream_delete(s, ID(11, 1)), 0);
    assert_int_equal(tc_stream_delete(s, ID(300, 1)), 1);
    assert_int_equal(tc_stream_delete(s, ID(12, 1)), 1);
    assert_true(tc_stream_id_cmp(s->max_deleted_id, ID(300, 1)) == 0);
    assert_int_equal(s->length, 298);
    /* a chunk whose entries all go is dropped */
    for (int i = 100; i < 200; i++) tc_stream_delete(s, ID(10 + (uint64_t)i * 2, 1));
    assert_int_equal(s->nchunks, 2);
    assert_int_equal(s->mem, mem_recount(s));
    size_t n = 0;
    tc_stream_id prev = {0, 0};
    for (p = tc_stream_seek(s, ID(0, 0)); tc_stream_at(s, p); tc_stream_next(s, &p), n++) {
        assert_true(tc_stream_id_cmp(tc_stream_at(s, p)->id, prev) > 0);
        prev = tc_stream_at(s, p)->id;
    }
    assert_int_equal(n, s->length);
    tc_stream_free(s);
}

static void test_trim(void **state)
{
    (void)state;
    tc_stream *s = tc_stream_new();
    for (int i = 1; i <= 1000; i++) add(s, (uint64_t)i, 0, "v");
    tc_stream_trim t = {.strategy = TC_STREAM_TRIM_MAXLEN, .approx = 1, .maxlen = 950};
    assert_int_equal(tc_stream_do_trim(s, &t), 0); /* no whole chunk can go */
    t.maxlen = 850;
    assert_int_equal(tc_stream_do_trim(s, &t), 100);
    t.maxlen = 0;
    t.limit = 250;
    assert_int_equal(tc_stream_do_trim(s, &t), 200); /* a third chunk would pass the limit */
    assert_int_equal(s->length, 700);
    tc_stream_trim m = {.strategy = TC_STREAM_TRIM_MINID, .approx = 1, .minid = ID(450, 0)};
    assert_int_equal(tc_stream_do_trim(s, &m), 100); /* 301..400 went; 401..500 holds 450 */
    m.approx = 0;
    assert_int_equal(tc_stream_do_trim(s, &m), 49);
    assert_true(tc_stream_id_cmp(tc_stream_first(s)->id, ID(450, 0)) == 0);
    tc_stream_trim e = {.strategy = TC_STREAM_TRIM_MAXLEN, .maxlen = 3};
    assert_int_equal(tc_stream_do_trim(s, &e), 548);
    assert_int_equal(s->length, 3);
    assert_true(tc_stream_id_cmp(tc_stream_first(s)->id, ID(998, 0)) == 0);
    e.maxlen = 0;
    assert_int_equal(tc_stream_do_trim(s, &e), 3);
    assert_int_equal(s->nchunks, 0);
    assert_null(tc_stream_first(s));
    assert_int_equal(s->mem, 0);
    assert_true(tc_stream_id_cmp(s->last_id, ID(1000, 0)) == 0); /* the last ID stays */
    assert_int_equal(s->entries_added, 1000);
    tc_stream_free(s);
}

/* Copies share chunks until one of them changes a chunk. */
static void test_dup_copies_on_write(void **state)
{
    (void)state;
    tc_stream *s = tc_stream_new();
    for (int i = 1; i <= 250; i++) add(s, (uint64_t)i, 0, "v");
    tc_stream *d = tc_stream_dup(s);
    assert_non_null(d);
    assert_ptr_equal(d->chunks[0], s->chunks[0]);
    assert_int_equal(s->chunks[0]->refs, 2);
    add(d, 251, 0, "w");                       /* the last chunk becomes d's own */
    assert_ptr_not_equal(d->chunks[2], s->chunks[2]);
    assert_int_equal(s->chunks[2]->n, 50);
    assert_int_equal(d->chunks[2]->n, 51);
    assert_int_equal(tc_stream_delete(s, ID(5, 0)), 1); /* and the first s's */
    assert_int_equal(d->chunks[0]->n, 100);
    assert_int_equal(s->chunks[0]->n, 99);
    tc_stream_trim t = {.strategy = TC_STREAM_TRIM_MAXLEN, .maxlen = 120};
    assert_int_equal(tc_stream_do_trim(d, &t), 131); /* a shared chunk dropped, one cut */
    assert_int_equal(s->length, 249);
    assert_int_equal(s->chunks[1]->refs, 1);
    assert_int_equal(s->mem, mem_recount(s));
    assert_int_equal(d->mem, mem_recount(d));
    tc_stream_free(s);
    assert_int_equal(d->length, 120);
    size_t n = 0;
    for (tc_stream_pos p = tc_stream_seek(d, ID(0, 0)); tc_stream_at(d, p); tc_stream_next(d, &p)) n++;
    assert_int_equal(n, 120);
    tc_stream_free(d);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random appends, deletes and exact trims against a sorted array. */
static void test_random_against_model(void **state)
{
    (void)state;
    tc_stream *s = tc_stream_new();
    uint64_t *m = malloc(20000 * sizeof *m);
    size_t n = 0;
    uint64_t ms = 0;
    for (int op = 0; op < 20000; op++) {
        uint64_t r = next() % 100;
        if (r < 70) {
            ms += 1 + next() % 3;
            add(s, ms, 0, "v");
            m[n++] = ms;
        } else if (r < 95 && n) {
            size_t i = (size_t)(next() % n);
            assert_int_equal(tc_stream_delete(s, ID(m[i], 0)), 1);
            memmove(m + i, m + i + 1, (n - i - 1) * sizeof *m);
            n--;
        } else if (n) {
            tc_stream_trim t = {.strategy = TC_STREAM_TRIM_MAXLEN, .maxlen = n / 2};
            size_t cut = n - n / 2;
            assert_int_equal(tc_stream_do_trim(s, &t), cut);
            memmove(m, m + cut, (n - cut) * sizeof *m);
            n -= cut;
        }
        if (op % 500 == 0 || op == 19999) {
            assert_int_equal(s->length, n);
            assert_int_equal(s->mem, mem_recount(s));
            size_t i = 0;
            for (tc_stream_pos p = tc_stream_seek(s, ID(0, 0)); tc_stream_at(s, p); tc_stream_next(s, &p))
                assert_int_equal(tc_stream_at(s, p)->id.ms, m[i++]);
            assert_int_equal(i, n);
            if (n) {
                uint64_t probe = m[n / 3];
                tc_stream_pos p = tc_stream_seek(s, ID(probe, 0));
                assert_int_equal(tc_stream_at(s, p)->id.ms, probe);
            }
        }
    }
    free(m);
    tc_stream_free(s);
}

static void digest_feed(void *ud, const void *p, size_t len)
{
    tc_buf *b = ud;
    tc_buf_append(b, p, len);
}

static void test_image_round_trip(void **state)
{
    (void)state;
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    tc_key *k = tc_stream_create(&ks, "s", 1, 0);
    assert_non_null(k);
    tc_stream *s = tc_stream_of(k);
    for (int i = 1; i <= 230; i++) add(s, (uint64_t)i, 1, i % 7 ? "v" : "");
    for (int i = 40; i < 90; i++) tc_stream_delete(s, ID((uint64_t)i, 1));
    s->entries_added = 500;
    const tc_type_ops *ops = tc_type_ops_of(TC_TYPE_STREAM);
    assert_string_equal(ops->name, "stream");
    assert_string_equal(ops->encoding_name(k), "stream");
    tc_buf img = {0};
    const char *p;
    size_t len;
    assert_int_equal(ops->image_encode(k, &img, &p, &len), 0);
    char err[200];
    tc_key *k2 = ops->image_decode(&ks, "t", 1, p, len, 0, err, sizeof err);
    assert_non_null(k2);
    k = tc_ks_find(&ks, "s", 1, 0);
    tc_stream *t = tc_stream_of(k2);
    s = tc_stream_of(k);
    assert_int_equal(t->length, s->length);
    assert_int_equal(t->nchunks, s->nchunks);
    for (size_t c = 0; c < s->nchunks; c++) {
        assert_int_equal(t->chunks[c]->slots, s->chunks[c]->slots);
        assert_int_equal(t->chunks[c]->n, s->chunks[c]->n);
    }
    assert_int_equal(t->mem, s->mem);
    tc_buf d1 = {0}, d2 = {0};
    ops->digest(k, digest_feed, &d1);
    ops->digest(k2, digest_feed, &d2);
    assert_int_equal(d1.len, d2.len);
    assert_memory_equal(d1.data, d2.data, d1.len);
    /* every cut-short record is refused with a reason, and nothing is made */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
        err[0] = '\0';
        assert_null(ops->image_decode(&ks, "u", 1, p, cut, 0, err, sizeof err));
        assert_true(err[0] != '\0');
        assert_null(tc_ks_find(&ks, "u", 1, 0));
    }
    /* trailing bytes, a bad layout, entries out of order */
    char *copy = malloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = 0;
    assert_null(ops->image_decode(&ks, "u", 1, copy, len + 1, 0, err, sizeof err));
    assert_non_null(strstr(err, "trailing"));
    copy[0] = 9;
    assert_null(ops->image_decode(&ks, "u", 1, copy, len, 0, err, sizeof err));
    assert_non_null(strstr(err, "layout"));
    copy[0] = 1;
    /* the first entry's ms (after the layout, 5 u64, the chunk count and 3 u32) set past the second's */
    size_t first_ms = 1 + 5 * 8 + 4 + 3 * 4;
    copy[first_ms] = 100;
    assert_null(ops->image_decode(&ks, "u", 1, copy, len, 0, err, sizeof err));
    assert_non_null(strstr(err, "order"));
    free(copy);
    tc_buf_free(&img);
    tc_buf_free(&d1);
    tc_buf_free(&d2);
    tc_ks_free(&ks);
}

/* Through the command table: generic commands see the type. */
static void test_commands_and_generic(void **state)
{
    fx *f = *state;
    assert_string_equal(fx_run(f, "XADD", "s", "5-1", "f", "v", NULL), "$3\r\n5-1\r\n");
    f->now_ms = 3; /* behind the last ID: * goes on in sequence */
    assert_string_equal(fx_run(f, "XADD", "s", "*", "f", "v", NULL), "$3\r\n5-2\r\n");
    f->now_ms = 9000;
    assert_string_equal(fx_run(f, "XADD", "s", "*", "f", "v", NULL), "$6\r\n9000-0\r\n");
    assert_string_equal(fx_run(f, "TYPE", "s", NULL), "+stream\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "ENCODING", "s", NULL), "$6\r\nstream\r\n");
    assert_string_equal(fx_run(f, "SET", "str", "x", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "SCAN", "0", "TYPE", "stream", NULL), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    const char *mem = fx_run(f, "MEMORY", "USAGE", "s", NULL);
    assert_true(mem[0] == ':' && atol(mem + 1) > (long)sizeof(tc_stream_chunk));
    assert_string_equal(fx_run(f, "MOVE", "s", "3", NULL), ":1\r\n");
    assert_string_equal(fx_run(f, "XLEN", "s", NULL), ":0\r\n");
    assert_string_equal(fx_run(f, "SELECT", "3", NULL), "+OK\r\n");
    assert_string_equal(fx_run(f, "XLEN", "s", NULL), ":3\r\n");
    assert_string_equal(fx_run(f, "XREAD", "COUNT", "1", "STREAMS", "s", "5-1", NULL),
                        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_string_equal(fx_run(f, "GET", "s", NULL), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_parse),
        cmocka_unit_test(test_append_and_chunks),
        cmocka_unit_test(test_seek_and_delete),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_dup_copies_on_write),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_image_round_trip),
        cmocka_unit_test_setup_teardown(test_commands_and_generic, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
