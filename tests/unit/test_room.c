/* replication/room.c: the primary's bookkeeping between choosing victims and
 * applying them — enough is evicted for what is in flight, and a victim in
 * flight is never chosen twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "room.h"

/* The names in a victims buffer (u32 database, u32 length, bytes; ...),
 * every one in database 0. */
static size_t names_of(const tc_buf *b, char names[][32], size_t max)
{
    size_t n = 0;
    for (size_t off = 0; off + 8 <= b->len && n < max; n++) {
        uint32_t db, len;
        memcpy(&db, b->data + off, 4);
        memcpy(&len, b->data + off + 4, 4);
        assert_int_equal(db, 0);
        snprintf(names[n], 32, "%.*s", (int)len, b->data + off + 8);
        off += 8 + len;
    }
    return n;
}

static uint64_t cost_of(fx *f, char names[][32], size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) c += tc_ks_key_cost(tc_ks_peek(&f->srv.dbs[0], names[i], strlen(names[i]), 0));
    return c;
}

static void test_in_flight_victims_count_once(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "2000", "key", "100", NULL);
    uint64_t used = tc_mem_used(&f->srv), limit = used - 50000;
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)limit);
    fx_run(f, "CONFIG", "SET", "maxmemory", v, "maxmemory-policy", "allkeys-random", NULL);

    tc_room rm = {0};
    tc_room_hold h1 = {0}, h2 = {0};
    tc_buf b1 = {0}, b2 = {0};
    size_t n1, n2;
    static char names1[4096][32], names2[4096][32];
    assert_int_equal(tc_room_make(&rm, &f->srv, 100, &h1, &b1, &n1), 0);
    assert_true(n1 > 0);
    assert_int_equal(names_of(&b1, names1, 4096), n1);
    uint64_t c1 = cost_of(f, names1, n1);
    /* enough for the limit and the write, and a victim fewer would not do */
    assert_true(used + 100 + TC_EVICT_WRITE_OVERHEAD - c1 <= limit);
    assert_true(used + 100 + TC_EVICT_WRITE_OVERHEAD - (c1 - cost_of(f, &names1[n1 - 1], 1)) > limit);
    assert_int_equal(rm.evicting, c1);
    assert_int_equal(rm.growing, 100 + TC_EVICT_WRITE_OVERHEAD);

    /* a second write before the first entry is applied: only its own room,
     * never a victim already chosen */
    assert_int_equal(tc_room_make(&rm, &f->srv, 5000, &h2, &b2, &n2), 0);
    assert_int_equal(names_of(&b2, names2, 4096), n2);
    assert_true(n2 > 0 && n2 < n1);
    for (size_t i = 0; i < n2; i++)
        for (size_t j = 0; j < n1; j++) assert_string_not_equal(names2[i], names1[j]);
    /* enough for both writes together (the first's victims may have left
     * some of the room it needs: victims are drawn at random, and the last
     * one may free more than was missing), and a victim fewer would not do */
    uint64_t c2 = cost_of(f, names2, n2), both = used + 100 + 5000 + 2 * TC_EVICT_WRITE_OVERHEAD;
    assert_true(both - c1 - c2 <= limit);
    assert_true(both - c1 - (c2 - cost_of(f, &names2[n2 - 1], 1)) > limit);
    assert_int_equal(rm.evicting, c1 + c2);

    /* applied: the victims deleted, the holds released */
    for (size_t i = 0; i < n1; i++) tc_ks_delete(&f->srv.dbs[0], names1[i], strlen(names1[i]));
    tc_room_release(&rm, &h1);
    for (size_t i = 0; i < n2; i++) tc_ks_delete(&f->srv.dbs[0], names2[i], strlen(names2[i]));
    tc_room_release(&rm, &h2);
    assert_int_equal(rm.n, 0);
    assert_int_equal(rm.evicting, 0);
    assert_int_equal(rm.growing, 0);
    assert_true(tc_mem_used(&f->srv) <= limit);

    /* noeviction: a write that does not fit is refused */
    fx_run(f, "CONFIG", "SET", "maxmemory-policy", "noeviction", NULL);
    tc_room_hold h3 = {0};
    tc_buf b3 = {0};
    size_t n3;
    assert_int_equal(tc_room_make(&rm, &f->srv, 200000, &h3, &b3, &n3), -1);
    assert_int_equal(n3, 0);
    tc_room_release(&rm, &h3);
    tc_buf_free(&b1);
    tc_buf_free(&b2);
    tc_buf_free(&b3);
    tc_room_free(&rm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_flight_victims_count_once, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
