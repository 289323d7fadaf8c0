/* raft/image_tail.c: a Raft snapshot as an image plus the entries applied
 * since, and every way such a file can be damaged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image_tail.h"

/* header | image | tail, as libraft stores the three buffers */
static unsigned char *assemble(const char *image, const tc_image_tail *t, size_t *len)
{
    size_t ilen = strlen(image);
    *len = TC_IMAGE_TAIL_HEADER + ilen + t->len;
    unsigned char *p = malloc(*len + 1); /* +1: gcc -O3 sees a copy past an empty tail otherwise */
    assert_non_null(p);
    tc_image_tail_header(p, ilen, t);
    memcpy(p + TC_IMAGE_TAIL_HEADER, image, ilen);
    if (t->len) memcpy(p + TC_IMAGE_TAIL_HEADER + ilen, t->buf, t->len);
    return p;
}

static void sample_tail(tc_image_tail *t)
{
    *t = (tc_image_tail){0};
    assert_int_equal(tc_image_tail_add(t, "first entry", 11), 0);
    assert_int_equal(tc_image_tail_add(t, "", 0), 0);
    assert_int_equal(tc_image_tail_add(t, "third", 5), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    tc_image_tail t;
    sample_tail(&t);
    size_t len;
    unsigned char *p = assemble("IMAGE-BYTES", &t, &len);
    tc_image_parts parts;
    char err[200] = "";
    assert_int_equal(tc_image_tail_parse(p, len, &parts, err, sizeof err), 1);
    assert_int_equal(parts.image_len, 11);
    assert_memory_equal(parts.image, "IMAGE-BYTES", 11);
    assert_int_equal(parts.count, 3);
    const char *want[] = {"first entry", "", "third"};
    size_t pos = 0, n = 0, elen;
    const void *e;
    while (tc_image_tail_next(&parts, &pos, &e, &elen)) {
        assert_true(n < 3);
        assert_int_equal(elen, strlen(want[n]));
        assert_memory_equal(e, want[n], elen);
        n++;
    }
    assert_int_equal(n, 3);
    free(p);
    tc_image_tail_clear(&t);
    assert_null(t.buf);
    assert_int_equal(t.count, 0);
}

static void test_empty_tail(void **state)
{
    (void)state;
    tc_image_tail t = {0};
    size_t len;
    unsigned char *p = assemble("X", &t, &len);
    tc_image_parts parts;
    char err[200];
    assert_int_equal(tc_image_tail_parse(p, len, &parts, err, sizeof err), 1);
    assert_int_equal(parts.count, 0);
    size_t pos = 0, elen;
    const void *e;
    assert_int_equal(tc_image_tail_next(&parts, &pos, &e, &elen), 0);
    free(p);
}

/* What earlier versions stored: the image alone. */
static void test_bare_image(void **state)
{
    (void)state;
    tc_image_parts parts;
    char err[200];
    assert_int_equal(tc_image_tail_parse("TCSNAP-something", 16, &parts, err, sizeof err), 0);
    assert_int_equal(parts.image_len, 16);
    assert_int_equal(parts.count, 0);
    assert_int_equal(tc_image_tail_parse("", 0, &parts, err, sizeof err), 0);
}

static void expect_refused(const unsigned char *p, size_t len, const char *words)
{
    tc_image_parts parts;
    char err[200] = "";
    assert_int_equal(tc_image_tail_parse(p, len, &parts, err, sizeof err), -1);
    if (!strstr(err, words)) fail_msg("error '%s' lacks '%s'", err, words);
}

static void test_damage_refused(void **state)
{
    (void)state;
    tc_image_tail t;
    sample_tail(&t);
    size_t len;
    unsigned char *p = assemble("IMAGE", &t, &len);
    unsigned char *q = malloc(len);
    assert_non_null(q);

    expect_refused(p, 20, "cut short");
    expect_refused(p, len - 1, "do not add up");

    memcpy(q, p, len);
    q[len - 2] ^= 0x10; /* a bit of the last entry */
    expect_refused(q, len, "checksum");

    memcpy(q, p, len);
    q[TC_IMAGE_TAIL_HEADER + 1] ^= 0x01; /* the image is checked by its own format, not here */
    tc_image_parts parts;
    char err[200];
    assert_int_equal(tc_image_tail_parse(q, len, &parts, err, sizeof err), 1);

    memcpy(q, p, len);
    q[8] = 2; /* a newer layout */
    expect_refused(q, len, "version 2");
    free(p);
    free(q);

    /* a header whose count or framing lies, with a checksum that matches */
    tc_image_tail lying = t;
    lying.count = 2;
    p = assemble("IMAGE", &lying, &len);
    expect_refused(p, len, "header says 2");
    free(p);
    tc_image_tail bad = {0};
    assert_int_equal(tc_image_tail_add(&bad, "abc", 3), 0);
    bad.buf[0] = 200; /* the entry claims 200 bytes */
    p = assemble("IMAGE", &bad, &len);
    expect_refused(p, len, "runs past the end");
    free(p);
    tc_image_tail_clear(&bad);
    tc_image_tail_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_tail),
        cmocka_unit_test(test_bare_image),
        cmocka_unit_test(test_damage_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
