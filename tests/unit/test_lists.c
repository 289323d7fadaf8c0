/* Lists: the quicklist structure (node/types/list.c) against a plain array
 * model, and the list commands (node/t_list.c) through the fixture,
 * including a blocked client served by a push (node/blocking.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "fixture.h"
#include "types/list.h"

#define RUN(f, ...) fx_run((f), __VA_ARGS__, NULL)
#define EXPECT(f, want, ...) assert_string_equal(RUN(f, __VA_ARGS__), want)

/* ---- the structure against a model ---------------------------------------- */

typedef struct model {
    char **v;
    size_t n;
} model;

static void model_insert(model *m, size_t at, const char *s)
{
    m->v = realloc(m->v, (m->n + 1) * sizeof *m->v);
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof *m->v);
    m->v[at] = strdup(s);
    m->n++;
}

static void model_delete(model *m, size_t at, size_t count)
{
    for (size_t i = 0; i < count; i++) free(m->v[at + i]);
    memmove(m->v + at, m->v + at + count, (m->n - at - count) * sizeof *m->v);
    m->n -= count;
}

static void model_free(model *m)
{
    model_delete(m, 0, m->n);
    free(m->v);
}

/* Every element, both ways, and by index. */
static void check_same(tc_list *l, const model *m)
{
    assert_int_equal(l->count, m->n);
    tc_liter it;
    size_t i = 0;
    for (int ok = tc_list_seek(l, 0, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_TAIL) == 0, i++) {
        tc_lval v;
        tc_liter_get(&it, &v);
        assert_true(i < m->n);
        assert_int_equal(v.len, strlen(m->v[i]));
        assert_memory_equal(v.p, m->v[i], v.len);
    }
    assert_int_equal(i, m->n);
    for (int ok = m->n && tc_list_seek(l, m->n - 1, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_HEAD) == 0) {
        tc_lval v;
        tc_liter_get(&it, &v);
        i--;
        assert_memory_equal(v.p, m->v[i], v.len);
    }
    assert_int_equal(i, 0);
    for (size_t j = 0; j < m->n; j += 1 + m->n / 50) {
        tc_lval v;
        assert_int_equal(tc_list_seek(l, j, &it), 0);
        tc_liter_get(&it, &v);
        assert_int_equal(v.len, strlen(m->v[j]));
        assert_memory_equal(v.p, m->v[j], v.len);
    }
}

/* Values of every encoding: small and large integers, strings that look
 * like integers but are not (leading zero, '+'), short and long strings. */
static void value(unsigned r, char *buf, size_t cap)
{
    static const char *const fixed[] = {"0", "127", "128", "-1", "-4096", "-4097", "4095", "32767", "-32769",
                                        "8388608", "-2147483649", "9223372036854775807",
                                        "-9223372036854775808", "01", "+5", "-0", "", "x"};
    unsigned k = r % 5;
    if (k == 0) snprintf(buf, cap, "%s", fixed[(r / 5) % (sizeof fixed / sizeof fixed[0])]);
    else if (k == 1) snprintf(buf, cap, "%lld", (long long)(r * 2654435761u) - 2000000000LL);
    else if (k == 2) snprintf(buf, cap, "v%u", r);
    else {
        size_t len = k == 3 ? 70 + r % 200 : 4000 + r % 300; /* two-byte and four-byte length headers */
        if (len >= cap) len = cap - 1;
        memset(buf, 'a' + (int)(r % 26), len);
        buf[len] = '\0';
    }
}

/* list-max-listpack-size: N > 0 caps a node's entries, -1..-5 its bytes
 * (4..64 KB); a node still takes one element of any size. */
static void test_node_fill(void **state)
{
    (void)state;
    tc_list *l = tc_list_new();
    tc_list_set_fill(l, 2);
    for (int i = 0; i < 10; i++) assert_int_equal(tc_list_push(l, i & 1, "x", 1), 0);
    assert_int_equal(l->count, 10);
    assert_int_equal(l->nnodes, 5);
    tc_list_free(l);

    char big[3000];
    memset(big, 'b', sizeof big);
    l = tc_list_new();
    tc_list_set_fill(l, -1); /* 4 KB nodes: one 3000-byte element each */
    for (int i = 0; i < 4; i++) assert_int_equal(tc_list_push(l, TC_LIST_TAIL, big, sizeof big), 0);
    assert_int_equal(l->nnodes, 4);
    tc_list_free(l);

    l = tc_list_new(); /* -2, 8 KB: two of them a node */
    for (int i = 0; i < 4; i++) assert_int_equal(tc_list_push(l, TC_LIST_TAIL, big, sizeof big), 0);
    assert_int_equal(l->nnodes, 2);
    tc_list_set_fill(l, -9); /* clamped to -5, 64 KB, for what comes next */
    for (int i = 0; i < 20; i++) assert_int_equal(tc_list_push(l, TC_LIST_TAIL, big, sizeof big), 0);
    assert_true(l->nnodes <= 2 + 1);
    tc_list_free(l);
}

static void test_structure_against_model(void **state)
{
    (void)state;
    tc_list *l = tc_list_new();
    model m = {0};
    unsigned seed = 12345;
    char buf[5000];
    for (int step = 0; step < 6000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        value(r, buf, sizeof buf);
        unsigned op = r % 10;
        if (op < 3 || m.n < 4) {
            int where = (r >> 4) & 1;
            assert_int_equal(tc_list_push(l, where, buf, strlen(buf)), 0);
            model_insert(&m, where == TC_LIST_HEAD ? 0 : m.n, buf);
        } else if (op == 3) {
            int where = (r >> 4) & 1;
            tc_list_drop(l, where, 1 + r % 3);
            size_t k = 1 + r % 3 > m.n ? m.n : 1 + r % 3;
            model_delete(&m, where == TC_LIST_HEAD ? 0 : m.n - k, k);
        } else if (op == 4 || op == 5) { /* insert in the middle (splits) */
            size_t at = (r >> 3) % m.n;
            int where = (r >> 2) & 1;
            tc_liter it;
            assert_int_equal(tc_list_seek(l, at, &it), 0);
            assert_int_equal(tc_liter_insert(&it, where, buf, strlen(buf)), 0);
            model_insert(&m, where == TC_LIST_HEAD ? at : at + 1, buf);
        } else if (op == 6) { /* replace */
            size_t at = (r >> 3) % m.n;
            tc_liter it;
            assert_int_equal(tc_list_seek(l, at, &it), 0);
            assert_int_equal(tc_liter_replace(&it, buf, strlen(buf)), 0);
            free(m.v[at]);
            m.v[at] = strdup(buf);
        } else if (op == 7) { /* delete while walking either way (merges) */
            size_t at = (r >> 3) % m.n;
            int dir = (r >> 2) & 1;
            tc_liter it;
            assert_int_equal(tc_list_seek(l, at, &it), 0);
            tc_liter_delete(&it, dir);
            model_delete(&m, at, 1);
            size_t next = dir == TC_LIST_TAIL ? at : at - 1; /* where it points now */
            if (tc_liter_valid(&it)) {
                tc_lval v;
                tc_liter_get(&it, &v);
                assert_memory_equal(v.p, m.v[next], v.len);
            } else {
                assert_true(dir == TC_LIST_TAIL ? at == m.n : at == 0);
            }
        } else if (op == 8) { /* a range out of the middle */
            size_t at = (r >> 3) % m.n, k = 1 + (r >> 5) % 400;
            if (at + k > m.n) k = m.n - at;
            tc_list_delete_range(l, at, k);
            model_delete(&m, at, k);
        } else {
            tc_list *d = tc_list_dup(l);
            check_same(d, &m);
            tc_list_free(d);
        }
        if (step % 500 == 0) check_same(l, &m);
    }
    check_same(l, &m);
    /* nodes stay within the size (a lone big element aside) */
    size_t nodes = 0;
    tc_liter it;
    for (int ok = tc_list_seek(l, 0, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_TAIL) == 0) nodes++;
    assert_int_equal(nodes, l->count);
    assert_true(l->nnodes >= 1);
    tc_list_free(l);
    model_free(&m);
}

static void test_nodes_split_and_merge(void **state)
{
    (void)state;
    tc_list *l = tc_list_new();
    /* 100-byte elements: about 80 per node */
    char big[101];
    memset(big, 'b', 100);
    big[100] = '\0';
    for (int i = 0; i < 800; i++) tc_list_push(l, TC_LIST_TAIL, big, 100);
    size_t full = l->nnodes;
    assert_in_range(full, 9, 12);
    /* inserting into a full node in its middle splits it */
    tc_liter it;
    tc_list_seek(l, 40, &it);
    char ins[101];
    memset(ins, 'i', 100);
    assert_int_equal(tc_liter_insert(&it, TC_LIST_TAIL, ins, 100), 0);
    assert_int_equal(l->nnodes, full + 1);
    tc_list_seek(l, 41, &it);
    assert_true(tc_liter_equals(&it, ins, 100));
    tc_list_seek(l, 42, &it);
    assert_true(tc_liter_equals(&it, big, 100));
    /* emptying most of each node merges neighbours back */
    size_t pos = 0;
    tc_list_seek(l, 0, &it);
    while (tc_liter_valid(&it)) {
        if (pos++ % 10) tc_liter_delete(&it, TC_LIST_TAIL);
        else tc_liter_step(&it, TC_LIST_TAIL);
    }
    assert_int_equal(l->count, 81);
    assert_true(l->nnodes <= 3);
    /* a single element bigger than a node gets a node of its own */
    char *huge = malloc(20000);
    memset(huge, 'h', 20000);
    assert_int_equal(tc_list_push(l, TC_LIST_HEAD, huge, 20000), 0);
    tc_lval v;
    tc_list_peek(l, TC_LIST_HEAD, &v);
    assert_int_equal(v.len, 20000);
    assert_int_equal(tc_list_push(l, TC_LIST_HEAD, "x", 1), 0);
    tc_list_seek(l, 1, &it);
    tc_liter_get(&it, &v);
    assert_int_equal(v.len, 20000);
    free(huge);
    tc_list_free(l);
}

/* ---- commands -------------------------------------------------------------------- */

static void test_push_pop_range(void **state)
{
    fx *f = *state;
    EXPECT(f, ":3\r\n", "RPUSH", "l", "a", "b", "c");
    EXPECT(f, ":5\r\n", "LPUSH", "l", "y", "x");
    EXPECT(f, "*5\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "LRANGE", "l", "0", "-1");
    EXPECT(f, "*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "LRANGE", "l", "-2", "-1");
    EXPECT(f, "*1\r\n$1\r\nx\r\n", "LRANGE", "l", "-100", "0");
    EXPECT(f, "*0\r\n", "LRANGE", "l", "3", "1");
    EXPECT(f, "$1\r\nc\r\n", "LINDEX", "l", "-1");
    EXPECT(f, "$1\r\nx\r\n", "LINDEX", "l", "-5");
    EXPECT(f, "$-1\r\n", "LINDEX", "l", "-6");
    EXPECT(f, "$-1\r\n", "LINDEX", "l", "5");
    EXPECT(f, "$1\r\nx\r\n", "LPOP", "l");
    EXPECT(f, "*2\r\n$1\r\nc\r\n$1\r\nb\r\n", "RPOP", "l", "2");
    EXPECT(f, "*0\r\n", "LPOP", "l", "0");
    EXPECT(f, "*2\r\n$1\r\ny\r\n$1\r\na\r\n", "LPOP", "l", "9");
    EXPECT(f, ":0\r\n", "EXISTS", "l"); /* the last element took the key */
    EXPECT(f, "*-1\r\n", "LPOP", "l", "1");
    EXPECT(f, "$-1\r\n", "RPOP", "l");
    EXPECT(f, ":0\r\n", "LPUSHX", "l", "a");
    EXPECT(f, "+OK\r\n", "SET", "s", "v");
    EXPECT(f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "LPUSH", "s", "a");
    RUN(f, "RPUSH", "t", "1");
    EXPECT(f, "+list\r\n", "TYPE", "t");
    EXPECT(f, "$9\r\nquicklist\r\n", "OBJECT", "ENCODING", "t");
}

static void test_set_insert_rem_trim(void **state)
{
    fx *f = *state;
    RUN(f, "RPUSH", "l", "a", "b", "a", "c", "a");
    EXPECT(f, "+OK\r\n", "LSET", "l", "-1", "z");
    EXPECT(f, "-ERR index out of range\r\n", "LSET", "l", "5", "z");
    EXPECT(f, "-ERR no such key\r\n", "LSET", "nope", "0", "z");
    EXPECT(f, ":6\r\n", "LINSERT", "l", "BEFORE", "c", "m");
    EXPECT(f, ":-1\r\n", "LINSERT", "l", "AFTER", "nope", "m");
    EXPECT(f, ":0\r\n", "LINSERT", "nope", "AFTER", "a", "m");
    EXPECT(f, ":2\r\n", "LREM", "l", "0", "a");
    EXPECT(f, "*4\r\n$1\r\nb\r\n$1\r\nm\r\n$1\r\nc\r\n$1\r\nz\r\n", "LRANGE", "l", "0", "-1");
    EXPECT(f, "+OK\r\n", "LTRIM", "l", "1", "-2");
    EXPECT(f, "*2\r\n$1\r\nm\r\n$1\r\nc\r\n", "LRANGE", "l", "0", "-1");
    EXPECT(f, "+OK\r\n", "LTRIM", "l", "2", "1");
    EXPECT(f, ":0\r\n", "EXISTS", "l");
}

static void test_lpos_options(void **state)
{
    fx *f = *state;
    RUN(f, "RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c");
    EXPECT(f, ":2\r\n", "LPOS", "l", "c");
    EXPECT(f, ":6\r\n", "LPOS", "l", "c", "RANK", "2");
    EXPECT(f, ":7\r\n", "LPOS", "l", "c", "RANK", "-1");
    EXPECT(f, ":2\r\n", "LPOS", "l", "c", "RANK", "-3");
    EXPECT(f, "$-1\r\n", "LPOS", "l", "c", "RANK", "4");
    EXPECT(f, "*3\r\n:2\r\n:6\r\n:7\r\n", "LPOS", "l", "c", "COUNT", "0");
    EXPECT(f, "*2\r\n:7\r\n:6\r\n", "LPOS", "l", "c", "RANK", "-1", "COUNT", "2");
    EXPECT(f, "*1\r\n:2\r\n", "LPOS", "l", "c", "COUNT", "0", "MAXLEN", "6");
    EXPECT(f, ":3\r\n", "LPOS", "l", "1"); /* an integer entry matches its text */
    EXPECT(f, "$-1\r\n", "LPOS", "l", "c", "MAXLEN", "2");
    EXPECT(f, "*0\r\n", "LPOS", "nope", "c", "COUNT", "1");
    EXPECT(f, "-ERR COUNT can't be negative\r\n", "LPOS", "l", "c", "COUNT", "-1");
    EXPECT(f, "-ERR syntax error\r\n", "LPOS", "l", "c", "RANK");
}

static void test_move_and_mpop(void **state)
{
    fx *f = *state;
    RUN(f, "RPUSH", "a", "1", "2", "3");
    EXPECT(f, "$1\r\n3\r\n", "LMOVE", "a", "b", "RIGHT", "LEFT");
    EXPECT(f, "$1\r\n3\r\n", "RPOPLPUSH", "b", "a"); /* a: 3 1 2 */
    EXPECT(f, ":0\r\n", "EXISTS", "b");
    EXPECT(f, "$1\r\n3\r\n", "LMOVE", "a", "a", "LEFT", "RIGHT"); /* rotation */
    EXPECT(f, "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "LRANGE", "a", "0", "-1");
    EXPECT(f, "*2\r\n$1\r\na\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n", "LMPOP", "2", "x", "a", "RIGHT", "COUNT", "2");
    EXPECT(f, "*-1\r\n", "LMPOP", "1", "x", "LEFT");
    EXPECT(f, "-ERR numkeys should be greater than 0\r\n", "LMPOP", "0", "a", "LEFT");
}

/* A client of the fixture blocks; a push by a command without a client
 * serves it (standalone: right after the push). Its reply lands in its
 * output buffer; with no event loop nothing resumes it afterwards. */
static void test_blocked_client_served_by_push(void **state)
{
    fx *f = *state;
    EXPECT(f, "", "BLPOP", "q1", "q2", "0");
    assert_non_null(f->client.block);
    assert_int_equal(f->client.blocked, 1);
    assert_int_equal(tc_block_count(&f->srv), 1);
    assert_int_equal(tc_block_is_waiting(&f->client), 1);
    tc_slice push[] = {{"RPUSH", 5}, {"q2", 2}, {"x", 1}, {"y", 1}};
    tc_buf out = {0};
    tc_reply r = {&out, 2};
    tc_server_execute(&f->srv, NULL, 4, push, &r, f->now_ms);
    assert_memory_equal(out.data, ":2\r\n", 4);
    assert_int_equal(tc_block_count(&f->srv), 0);
    assert_int_equal(f->client.out.len, strlen("*2\r\n$2\r\nq2\r\n$1\r\nx\r\n"));
    assert_memory_equal(f->client.out.data, "*2\r\n$2\r\nq2\r\n$1\r\nx\r\n", f->client.out.len);
    tc_buf_free(&out);
    tc_buf_free(&f->client.out);
    /* what the served client popped is gone: one element left */
    tc_block_client_gone(&f->client); /* as if it closed: the record goes */
    assert_null(f->client.block);
    f->client.pending = 0;
    f->client.blocked = 0;
    EXPECT(f, ":1\r\n", "LLEN", "q2");
}

/* Without a client (at apply) a blocking command never blocks. */
static void test_blocking_without_client(void **state)
{
    fx *f = *state;
    tc_slice cmd[] = {{"BLPOP", 5}, {"q", 1}, {"0", 1}};
    tc_buf out = {0};
    tc_reply r = {&out, 2};
    tc_server_execute(&f->srv, NULL, 3, cmd, &r, f->now_ms);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "*-1\r\n", 5);
    tc_slice mv[] = {{"BLMOVE", 6}, {"q", 1}, {"d", 1}, {"LEFT", 4}, {"LEFT", 4}, {"0", 1}};
    out.len = 0;
    tc_server_execute(&f->srv, NULL, 6, mv, &r, f->now_ms);
    assert_memory_equal(out.data, "$-1\r\n", 5);
    tc_buf_free(&out);
    EXPECT(f, "-ERR timeout is negative\r\n", "BLPOP", "q", "-1");
    EXPECT(f, "-ERR timeout is not a float or out of range\r\n", "BLPOP", "q", "x");
    assert_int_equal(tc_block_count(&f->srv), 0);
}


/* The keyspace image record, copy and digest: what the list holds, not
 * how its nodes are cut. */
static void test_image_copy_digest(void **state)
{
    fx *f = *state;
    char v[300];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(v, sizeof v, i % 3 ? "%d" : "element-%d-padding-padding-padding", i - 1500);
        tc_slice cmd[] = {{"RPUSH", 5}, {"l", 1}, {v, (size_t)n}};
        tc_buf out = {0};
        tc_reply r = {&out, 2};
        tc_server_execute(&f->srv, NULL, 3, cmd, &r, f->now_ms);
        tc_buf_free(&out);
    }
    assert_string_equal(RUN(f, "LINSERT", "l", "BEFORE", "1", "mid"), ":3001\r\n"); /* a split: node layout differs from a fresh load */
    tc_key *k = tc_ks_find(&f->srv.dbs[0], "l", 1, f->now_ms);
    assert_non_null(k);
    tc_buf scratch = {0};
    const char *p;
    size_t len;
    assert_int_equal(tc_list_type.image_encode(k, &scratch, &p, &len), 0);
    unsigned char d1[20], d2[20];
    tc_ks_digest(&f->srv.dbs[0], f->now_ms, d1);
    char err[128];
    tc_keyspace other;
    tc_ks_init_like(&other, &f->srv.dbs[0]);
    tc_key *n = tc_list_type.image_decode(&other, "l", 1, p, len, 0, err, sizeof err);
    assert_non_null(n);
    assert_int_equal(tc_key_list(n)->count, 3001);
    tc_ks_digest(&other, f->now_ms, d2);
    assert_memory_equal(d1, d2, 20);
    /* a copy digests the same too */
    tc_keyspace third;
    tc_ks_init_like(&third, &f->srv.dbs[0]);
    assert_non_null(tc_list_type.copy(&third, k, "l", 1, 0));
    tc_ks_digest(&third, f->now_ms, d2);
    assert_memory_equal(d1, d2, 20);
    /* damaged records are refused */
    assert_null(tc_list_type.image_decode(&other, "x", 1, p, len - 1, 0, err, sizeof err));
    assert_null(tc_list_type.image_decode(&other, "x", 1, "\x01\0\0\0\0", 5, 0, err, sizeof err));
    assert_null(tc_list_type.image_decode(&other, "x", 1, "\x02\1\0\0\0", 5, 0, err, sizeof err));
    /* a changed element changes the digest */
    RUN(f, "LSET", "l", "-1", "other");
    tc_ks_digest(&f->srv.dbs[0], f->now_ms, d1);
    assert_memory_not_equal(d1, d2, 20);
    tc_ks_free(&other);
    tc_ks_free(&third);
    tc_buf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_against_model),
        cmocka_unit_test(test_nodes_split_and_merge),
        cmocka_unit_test_setup_teardown(test_push_pop_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_set_insert_rem_trim, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lpos_options, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_move_and_mpop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blocked_client_served_by_push, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_blocking_without_client, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_image_copy_digest, fx_setup, fx_teardown),
        cmocka_unit_test(test_node_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
