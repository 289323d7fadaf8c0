/* Numbered databases (node/t_db.c and what a command's database reaches):
 * SELECT, MOVE, SWAPDB, FLUSHDB/FLUSHALL, COPY DB, WATCH per database, and
 * log entries applied in the database they name, a logged transaction's
 * SELECT included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "fixture.h"
#include "lazyfree.h"
#include "log_entry.h"
#include "multi.h"

#define RUN(f, ...) fx_run(f, __VA_ARGS__, NULL)

static void test_each_database_has_its_keys(void **state)
{
    fx *f = *state;
    assert_int_equal(f->srv.ndbs, 16);
    assert_string_equal(RUN(f, "SET", "k", "zero"), "+OK\r\n");
    assert_string_equal(RUN(f, "SELECT", "3"), "+OK\r\n");
    assert_int_equal(f->client.db, 3);
    assert_string_equal(RUN(f, "GET", "k"), "$-1\r\n");
    assert_string_equal(RUN(f, "SET", "k", "three"), "+OK\r\n");
    assert_string_equal(RUN(f, "SET", "other", "x"), "+OK\r\n");
    assert_string_equal(RUN(f, "DBSIZE"), ":2\r\n");
    assert_string_equal(RUN(f, "KEYS", "o*"), "*1\r\n$5\r\nother\r\n");
    /* MOVE: not onto a name the target has, not to the same database */
    assert_string_equal(RUN(f, "MOVE", "k", "0"), ":0\r\n");
    assert_string_equal(RUN(f, "MOVE", "k", "3"), "-ERR source and destination objects are the same\r\n");
    assert_string_equal(RUN(f, "MOVE", "other", "0"), ":1\r\n");
    assert_string_equal(RUN(f, "EXISTS", "other"), ":0\r\n");
    /* a deadline moves with the key */
    assert_string_equal(RUN(f, "SET", "ttl", "v", "PXAT", "1800000000000"), "+OK\r\n");
    assert_string_equal(RUN(f, "MOVE", "ttl", "9"), ":1\r\n");
    assert_string_equal(RUN(f, "SELECT", "9"), "+OK\r\n");
    assert_string_equal(RUN(f, "PEXPIRETIME", "ttl"), ":1800000000000\r\n");
    assert_string_equal(RUN(f, "SELECT", "0"), "+OK\r\n");
    assert_string_equal(RUN(f, "MGET", "k", "other"), "*2\r\n$4\r\nzero\r\n$1\r\nx\r\n");
    /* SWAPDB, FLUSHDB in one database, COPY across */
    assert_string_equal(RUN(f, "SWAPDB", "0", "3"), "+OK\r\n");
    assert_string_equal(RUN(f, "GET", "k"), "$5\r\nthree\r\n");
    assert_string_equal(RUN(f, "COPY", "k", "k", "DB", "4"), ":1\r\n");
    assert_string_equal(RUN(f, "FLUSHDB"), "+OK\r\n");
    assert_string_equal(RUN(f, "DBSIZE"), ":0\r\n");
    assert_string_equal(RUN(f, "SELECT", "4"), "+OK\r\n");
    assert_string_equal(RUN(f, "GET", "k"), "$5\r\nthree\r\n");
    assert_string_equal(RUN(f, "SELECT", "3"), "+OK\r\n");
    assert_string_equal(RUN(f, "DBSIZE"), ":2\r\n");
    assert_string_equal(RUN(f, "FLUSHALL"), "+OK\r\n");
    assert_int_equal(tc_server_keys(&f->srv), 0);
    /* RESET goes back to database 0 */
    assert_string_equal(RUN(f, "RESET"), "+RESET\r\n");
    assert_int_equal(f->client.db, 0);
}

/* FLUSHDB ASYNC of a big database: empty at once, freed by the thread. */
static void test_flushdb_async_frees_in_the_background(void **state)
{
    fx *f = *state;
    assert_int_equal(tc_lazyfree_start(), 0);
    size_t done = tc_lazyfree_done();
    assert_string_equal(RUN(f, "SELECT", "2"), "+OK\r\n");
    RUN(f, "DEBUG", "POPULATE", "1000");
    RUN(f, "SET", "ttl", "v", "PXAT", "1800000000000");
    assert_string_equal(RUN(f, "SELECT", "0"), "+OK\r\n");
    RUN(f, "SET", "stays", "v");
    assert_string_equal(RUN(f, "SELECT", "2"), "+OK\r\n");
    assert_string_equal(RUN(f, "FLUSHDB", "ASYNC"), "+OK\r\n");
    assert_string_equal(RUN(f, "DBSIZE"), ":0\r\n");
    assert_int_equal(tc_ks_volatile_count(&f->srv.dbs[2]), 0);
    tc_lazyfree_stop(); /* waits for what was queued */
    assert_true(tc_lazyfree_done() > done);
    assert_string_equal(RUN(f, "SET", "again", "v"), "+OK\r\n");
    assert_string_equal(RUN(f, "DBSIZE"), ":1\r\n");
    assert_int_equal(tc_ks_size(&f->srv.dbs[0]), 1);
}

/* A WATCH is on a key in the watcher's database. (The fixture runs
 * commands without dispatch, so nothing is queued: EXEC answers an empty
 * array, or nil when a watch fired.) */
static void test_watch_is_per_database(void **state)
{
    fx *f = *state;
    assert_string_equal(RUN(f, "SELECT", "1"), "+OK\r\n");
    assert_string_equal(RUN(f, "WATCH", "w"), "+OK\r\n");
    /* the same name written in database 0 (at apply, as a replica would) */
    const tc_cmd *set = tc_cmd_lookup("set", 3);
    tc_slice argv[] = {{"SET", 3}, {"w", 1}, {"v", 1}};
    tc_multi_touch_cmd(&f->srv, 0, set, 3, argv, f->now_ms, 0);
    assert_string_equal(RUN(f, "MULTI"), "+OK\r\n");
    assert_string_equal(RUN(f, "EXEC"), "*0\r\n");
    /* in its own database it aborts the transaction */
    assert_string_equal(RUN(f, "WATCH", "w"), "+OK\r\n");
    tc_multi_touch_cmd(&f->srv, 1, set, 3, argv, f->now_ms, 0);
    assert_string_equal(RUN(f, "MULTI"), "+OK\r\n");
    assert_string_equal(RUN(f, "EXEC"), "*-1\r\n");
    /* SWAPDB touches every watch in either database */
    assert_string_equal(RUN(f, "WATCH", "nothing-here"), "+OK\r\n");
    tc_slice swap[] = {{"SWAPDB", 6}, {"1", 1}, {"5", 1}};
    tc_multi_touch_cmd(&f->srv, 0, tc_cmd_lookup("swapdb", 6), 3, swap, f->now_ms, 1);
    assert_string_equal(RUN(f, "MULTI"), "+OK\r\n");
    assert_string_equal(RUN(f, "EXEC"), "*-1\r\n");
    tc_multi_client_gone(&f->client); /* the fixture's client has no connection to close */
}

static void add_db(tc_buf *b, int db, size_t argc, ...)
{
    tc_slice v[16];
    va_list ap;
    va_start(ap, argc);
    for (size_t i = 0; i < argc; i++) {
        v[i].p = va_arg(ap, const char *);
        v[i].len = strlen(v[i].p);
    }
    va_end(ap);
    tc_logentry_add_db(b, db, argc, v);
}

/* An entry's commands run in their own databases; a logged transaction
 * starts in its command's database and follows its SELECTs; a database
 * this node lacks is refused, not run elsewhere. */
static void test_entries_apply_in_their_databases(void **state)
{
    fx *f = *state;
    tc_buf e = {0};
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 1000, 7);
    add_db(&e, 0, 3, "SET", "k", "zero");
    add_db(&e, 2, 3, "SET", "k", "two");
    add_db(&e, 2, 13, "TCEXEC", "3", "3", "SET", "t", "a", "2", "SELECT", "7", "3", "SET", "t", "b");
    add_db(&e, 0, 2, "INCR", "n");
    assert_int_equal(tc_logentry_end(&e, 4), 0);
    tc_apply_state st = {0};
    char err[128];
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_int_equal(tc_ks_size(&f->srv.dbs[0]), 2);
    assert_int_equal(tc_ks_size(&f->srv.dbs[2]), 2);
    assert_int_equal(tc_ks_size(&f->srv.dbs[7]), 1);
    assert_string_equal(RUN(f, "GET", "k"), "$4\r\nzero\r\n");
    assert_string_equal(RUN(f, "SELECT", "2"), "+OK\r\n");
    assert_string_equal(RUN(f, "MGET", "k", "t"), "*2\r\n$3\r\ntwo\r\n$1\r\na\r\n");
    assert_string_equal(RUN(f, "SELECT", "7"), "+OK\r\n");
    assert_string_equal(RUN(f, "GET", "t"), "$1\r\nb\r\n");

    /* expiry entries delete in the database they name */
    f->now_ms = 1000; /* the keys are written before their deadline */
    assert_string_equal(RUN(f, "SET", "e", "v", "PXAT", "1500"), "+OK\r\n");
    assert_non_null(tc_ks_peek(&f->srv.dbs[7], "e", 1, 0));
    assert_string_equal(RUN(f, "SELECT", "0"), "+OK\r\n");
    assert_string_equal(RUN(f, "SET", "e", "v", "PXAT", "1500"), "+OK\r\n");
    tc_logentry_begin(&e, TC_LOGENTRY_EXPIRE, 2000, 7);
    add_db(&e, 7, 1, "e");
    assert_int_equal(tc_logentry_end(&e, 1), 0);
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, NULL, err, sizeof err), 0);
    assert_null(tc_ks_peek(&f->srv.dbs[7], "e", 1, 0));
    assert_non_null(tc_ks_peek(&f->srv.dbs[0], "e", 1, 0));

    /* database 20 on a node of 16: refused, nothing written anywhere */
    size_t before = tc_server_keys(&f->srv);
    tc_logentry_begin(&e, TC_LOGENTRY_COMMANDS, 3000, 7);
    add_db(&e, 20, 3, "SET", "far", "v");
    assert_int_equal(tc_logentry_end(&e, 1), 0);
    tc_apply_replies out = {0};
    assert_int_equal(tc_apply_entry(&f->srv, &st, e.data, e.len, &out, err, sizeof err), 0);
    assert_int_equal(out.n, 1);
    assert_memory_equal(out.replies.data, "-ERR DB index is out of range\r\n", out.ends[0]);
    assert_int_equal(tc_server_keys(&f->srv), before);
    tc_apply_replies_free(&out);
    tc_buf_free(&e);
}

/* What each database's keys hold (used_memory, eviction) follows a key
 * that MOVE or SWAPDB carries to another database. */
static void test_memory_follows_moved_keys(void **state)
{
    fx *f = *state;
    assert_string_equal(RUN(f, "RPUSH", "l", "a", "b", "c"), ":3\r\n");
    uint64_t held = f->srv.dbs[0].mem;
    assert_true(held > 0);
    assert_int_equal(f->srv.dbs[2].mem, 0);
    assert_string_equal(RUN(f, "MOVE", "l", "2"), ":1\r\n");
    assert_int_equal(f->srv.dbs[0].mem, 0);
    assert_int_equal(f->srv.dbs[2].mem, held);
    assert_string_equal(RUN(f, "SWAPDB", "2", "5"), "+OK\r\n");
    assert_int_equal(f->srv.dbs[2].mem, 0);
    assert_int_equal(f->srv.dbs[5].mem, held);
    assert_int_equal(f->srv.dbs[5].events.db, 5); /* the hooks keep their database's number */
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_each_database_has_its_keys),
        T(test_flushdb_async_frees_in_the_background),
        T(test_watch_is_per_database),
        T(test_entries_apply_in_their_databases),
        T(test_memory_follows_moved_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
