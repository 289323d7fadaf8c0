/* raft/log_pieces.c: a big entry split into pieces comes back whole, and
 * every piece that does not continue the pending run drops it (the rule
 * every node applies to the same log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "log_pieces.h"

/* A piece of `whole` (total bytes) at offset, n bytes of data. */
static unsigned char *piece(uint64_t id, const unsigned char *whole, size_t total, size_t offset, size_t n, int last,
                            size_t *len)
{
    *len = tc_piece_size(n);
    unsigned char *p = malloc(*len);
    assert_non_null(p);
    tc_piece_encode(p, id, total, offset, whole + offset, n, last);
    assert_int_equal(*len % 8, 0); /* libraft stores whole 8-byte units */
    return p;
}

/* The gap of the last run taken whole (owner NULL: none). */
static tc_piece_gap taken_gap;

static int take(tc_piece_run *r, unsigned char *p, size_t len, unsigned char **out, size_t *out_len)
{
    char why[256] = "";
    int rc = tc_piece_take(r, p, len, out, out_len, &taken_gap, why, sizeof why);
    if (rc == TC_PIECE_DROPPED) assert_true(why[0] != 0); /* says why */
    free(p);
    return rc;
}

/* Builds a piece and takes it (one call: argument order is unspecified). */
static int feed(tc_piece_run *r, uint64_t id, const unsigned char *whole, size_t total, size_t offset, size_t n, int last,
                unsigned char **out, size_t *out_len)
{
    size_t len;
    unsigned char *p = piece(id, whole, total, offset, n, last, &len);
    return take(r, p, len, out, out_len);
}

static unsigned char *sample(size_t n)
{
    unsigned char *w = malloc(n);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) w[i] = (unsigned char)(i * 131 + 7);
    return w;
}

static void test_split_and_reassembled(void **state)
{
    (void)state;
    size_t total = 2 * TC_PIECE_DATA + 13, len, out_len;
    unsigned char *w = sample(total), *out = NULL;
    tc_piece_run r = {0};
    assert_true(tc_piece_is((unsigned char[]){TC_PIECE_MARK}, 1));
    assert_false(tc_piece_is((unsigned char[]){2}, 1));
    for (size_t off = 0; off < total; off += TC_PIECE_DATA) {
        size_t n = total - off < TC_PIECE_DATA ? total - off : TC_PIECE_DATA;
        int last = off + n == total;
        unsigned char *p = piece(42, w, total, off, n, last, &len);
        assert_int_equal(take(&r, p, len, &out, &out_len), last ? TC_PIECE_COMPLETE : TC_PIECE_MORE);
        assert_int_equal(tc_piece_run_pending(&r), !last);
    }
    assert_int_equal(out_len, total);
    assert_memory_equal(out, w, total);
    free(out);
    free(w);
}

/* A run cut short by a new one (its primary lost leadership; the next one
 * starts at offset 0): the new one completes, the old one is gone. */
static void test_new_run_replaces_an_abandoned_one(void **state)
{
    (void)state;
    size_t total = 3 * 64, out_len;
    unsigned char *a = sample(total), *b = sample(total), *out = NULL;
    b[5] ^= 0xFF;
    tc_piece_run r = {0};
    assert_int_equal(feed(&r, 1, a, total, 0, 64, 0, &out, &out_len), TC_PIECE_MORE);
    assert_int_equal(feed(&r, 1, a, total, 64, 64, 0, &out, &out_len), TC_PIECE_MORE);
    assert_int_equal(feed(&r, 2, b, total, 0, 64, 0, &out, &out_len), TC_PIECE_MORE);
    /* the old run's last piece arrives late: not the next piece of run 2 */
    assert_int_equal(feed(&r, 1, a, total, 128, 64, 1, &out, &out_len), TC_PIECE_DROPPED);
    assert_false(tc_piece_run_pending(&r));
    assert_null(out);
    /* and run 2 cannot finish without its beginning */
    assert_int_equal(feed(&r, 2, b, total, 64, 64, 0, &out, &out_len), TC_PIECE_DROPPED);
    assert_int_equal(feed(&r, 2, b, total, 128, 64, 1, &out, &out_len), TC_PIECE_DROPPED);
    free(a);
    free(b);
}

static void test_out_of_order_and_damaged_pieces(void **state)
{
    (void)state;
    size_t total = 128, len, out_len;
    unsigned char *w = sample(total), *out = NULL;
    tc_piece_run r = {0};
    /* a gap */
    assert_int_equal(feed(&r, 7, w, total, 0, 32, 0, &out, &out_len), TC_PIECE_MORE);
    assert_int_equal(feed(&r, 7, w, total, 64, 32, 0, &out, &out_len), TC_PIECE_DROPPED);
    assert_false(tc_piece_run_pending(&r));
    /* a last piece before all the data */
    assert_int_equal(feed(&r, 8, w, total, 0, 64, 1, &out, &out_len), TC_PIECE_DROPPED);
    /* data that ends without a last piece */
    assert_int_equal(feed(&r, 9, w, total, 0, 128, 0, &out, &out_len), TC_PIECE_DROPPED);
    /* too short, lengths past the entry, a length past the piece */
    unsigned char *p = piece(10, w, total, 0, 32, 0, &len);
    assert_int_equal(tc_piece_take(&r, p, 16, &out, &out_len, &taken_gap, (char[64]){0}, 64), TC_PIECE_DROPPED);
    p[24] = 200; /* offset 200 of a 128-byte entry */
    assert_int_equal(take(&r, p, len, &out, &out_len), TC_PIECE_DROPPED);
    p = piece(11, w, total, 0, 32, 0, &len);
    p[4] = 255; /* 255 bytes of data in a piece holding 32 */
    assert_int_equal(take(&r, p, len, &out, &out_len), TC_PIECE_DROPPED);
    assert_null(out);
    assert_false(tc_piece_run_pending(&r));
    /* after all that, a good run still goes through */
    assert_int_equal(feed(&r, 12, w, total, 0, 100, 0, &out, &out_len), TC_PIECE_MORE);
    assert_int_equal(feed(&r, 12, w, total, 100, 28, 1, &out, &out_len), TC_PIECE_COMPLETE);
    assert_memory_equal(out, w, total);
    free(out);
    free(w);
}

/* A plan that puts bytes [at, at + len) of every run of at least `min`
 * bytes into a block of their own (as raft/fsm.c does with a big SET's
 * value, straight into its key). */
typedef struct gap_plan {
    size_t at, len, min;
    int asked;
} gap_plan;

static int plan_gap(void *ud, const unsigned char *head, size_t head_len, size_t total, tc_piece_gap *gap)
{
    gap_plan *g = ud;
    g->asked++;
    assert_true(head_len > 0 && head_len <= total);
    (void)head;
    if (total < g->min) return 0;
    unsigned char *block = malloc(g->len + 16);
    assert_non_null(block);
    *gap = (tc_piece_gap){.at = g->at, .len = g->len, .dst = block + 16, .owner = block};
    return 1;
}

/* Pieces that start before, inside and after the gap: the entry comes back
 * without the gap's bytes, which are where the plan put them; a run that
 * is dropped frees its gap's block (ASan's leak check), and a run the plan
 * declines comes back whole. */
static void test_gap_put_elsewhere(void **state)
{
    (void)state;
    size_t total = 300, out_len;
    unsigned char *w = sample(total), *out = NULL;
    gap_plan g = {.at = 50, .len = 130, .min = 200};
    tc_piece_run r = {.plan = plan_gap, .plan_ud = &g};
    for (size_t piece_len = 7; piece_len <= total; piece_len += 41) {
        for (size_t off = 0; off < total; off += piece_len) {
            size_t n = total - off < piece_len ? total - off : piece_len;
            int last = off + n == total;
            assert_int_equal(feed(&r, 20 + piece_len, w, total, off, n, last, &out, &out_len),
                             last ? TC_PIECE_COMPLETE : TC_PIECE_MORE);
        }
        assert_int_equal(out_len, total - g.len);
        assert_memory_equal(out, w, g.at);
        assert_memory_equal(out + g.at, w + g.at + g.len, total - g.at - g.len);
        assert_non_null(taken_gap.owner);
        assert_int_equal(taken_gap.at, g.at);
        assert_int_equal(taken_gap.len, g.len);
        assert_memory_equal(taken_gap.dst, w + g.at, g.len);
        free(taken_gap.owner);
        free(out);
        out = NULL;
    }
    /* dropped half-way, inside the gap: its block goes with it */
    assert_int_equal(feed(&r, 90, w, total, 0, 100, 0, &out, &out_len), TC_PIECE_MORE);
    assert_int_equal(feed(&r, 91, w, total, 0, 10, 0, &out, &out_len), TC_PIECE_MORE); /* a new run replaces it */
    tc_piece_run_drop(&r);
    assert_false(tc_piece_run_pending(&r));
    assert_ptr_equal(r.plan, plan_gap); /* the owner's plan stays */
    /* too short for the plan: whole, no gap */
    int asked = g.asked;
    assert_int_equal(feed(&r, 92, w, 150, 0, 150, 1, &out, &out_len), TC_PIECE_COMPLETE);
    assert_int_equal(g.asked, asked + 1);
    assert_null(taken_gap.owner);
    assert_int_equal(out_len, 150);
    assert_memory_equal(out, w, 150);
    free(out);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_reassembled),
        cmocka_unit_test(test_new_run_replaces_an_abandoned_one),
        cmocka_unit_test(test_out_of_order_and_damaged_pieces),
        cmocka_unit_test(test_gap_put_elsewhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
