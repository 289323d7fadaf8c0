/* snapshot/keyspace_image.c: the keyspace through the snapshot format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "keyspace_image.h"

/* Writes f's keyspace to a temp file and returns its bytes. */
static unsigned char *image_of(fx *f, const tc_apply_state *st, size_t *len)
{
    char path[] = "/tmp/tc-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char err[256];
    tc_image_opts o = {.raft_index = 42, .raft_term = 3};
    assert_int_equal(tc_image_write_fd(&f->srv, st, &o, fd, err, sizeof err), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char *buf = malloc((size_t)size);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    *len = (size_t)size;
    return buf;
}

/* A fresh fixture with the image loaded into it (*st gets the image's
 * clock); fx_teardown it after. */
static void *loaded_fixture(const unsigned char *img, size_t len, tc_apply_state *st)
{
    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_int_equal(tc_image_load(&g->srv, st, img, len, &ro, err, sizeof err), 0);
    return other;
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "2000", "k", "50", NULL);
    fx_run(f, "SET", "ttl", "v", "PXAT", "1800000000000", NULL);
    const char *argv[] = {"SET", "bin\0ary", "v\0\r\n"};
    size_t lens[] = {3, 7, 4};
    fx_runv(f, 3, argv, lens);
    char before[64];
    snprintf(before, sizeof before, "%s", fx_run(f, "DEBUG", "DIGEST", NULL));
    tc_apply_state st = {.clock_ms = 1700000000123LL};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);

    tc_apply_state st2 = {0};
    void *other = loaded_fixture(img, len, &st2);
    fx *g = other;
    assert_int_equal(st2.clock_ms, 1700000000123LL);
    assert_string_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":2002\r\n");
    fx_teardown(&other);
    free(img);
}

/* A key whose deadline the image's clock passed is not written: nothing
 * could read it again. One due later, and one without a deadline, are. */
static void test_expired_keys_stay_out_of_the_image(void **state)
{
    fx *f = *state;
    /* deadlines after the fixture's clock (1700000000000), so SET keeps them */
    fx_run(f, "SET", "dead", "v", "PXAT", "4000000000000", NULL);
    fx_run(f, "SET", "due-at-the-clock", "v", "PXAT", "4000000000500", NULL);
    fx_run(f, "SET", "later", "v", "PXAT", "4100000000000", NULL);
    fx_run(f, "SET", "forever", "v", NULL);
    tc_apply_state st = {.clock_ms = 4000000000500LL};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    tc_apply_state st2 = {0};
    void *other = loaded_fixture(img, len, &st2);
    fx *g = other;
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":2\r\n");
    assert_string_equal(fx_run(g, "PEXPIRETIME", "later", NULL), ":4100000000000\r\n");
    assert_string_equal(fx_run(g, "GET", "forever", NULL), "$1\r\nv\r\n");
    fx_teardown(&other);
    free(img);
}

static void test_damaged_image_changes_nothing(void **state)
{
    fx *f = *state;
    fx_run(f, "DEBUG", "POPULATE", "500", "k", "20", NULL);
    tc_apply_state st = {.clock_ms = 5};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    fx_run(f, "FLUSHALL", NULL);
    fx_run(f, "SET", "survivor", "1", NULL);
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    tc_apply_state st2 = {.clock_ms = 77};
    /* truncated, and one flipped bit in the middle */
    assert_int_equal(tc_image_load(&f->srv, &st2, img, len - 10, &ro, err, sizeof err), -1);
    img[len / 2] ^= 0x10;
    assert_int_equal(tc_image_load(&f->srv, &st2, img, len, &ro, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":1\r\n");
    assert_int_equal(st2.clock_ms, 77);
    free(img);
}

/* An image written by tricache before keys had types and encodings (commit
 * d2f200a): SET greeting "hello world", SET counter -12345, SET ttl soon
 * PXAT 1800000000123, SET nothing "", SET "bin\0ary" "v\0\r\n", DEBUG
 * POPULATE 20 k 60; apply clock 1700000000123, raft index 42, term 3,
 * unencrypted. */
static const unsigned char old_image[] = {
    0x54, 0x52, 0x49, 0x43, 0x41, 0x43, 0x48, 0x45, 0x2d, 0x53, 0x4e, 0x41, 0x50, 0x0d, 0x0a, 0x1a,
    0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xe8, 0x54, 0xdb, 0x70, 0x12, 0xfd, 0x97, 0x92, 0x23, 0x6e, 0x46, 0x99,
    0x9a, 0x11, 0x01, 0xc4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x74, 0x72, 0x69, 0x63, 0x61, 0x63, 0x68, 0x65, 0x00, 0x01, 0x00,
    0x00, 0xd8, 0x06, 0x00, 0x00, 0x8a, 0x01, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x13, 0x07, 0x09,
    0x00, 0x73, 0x6e, 0x6f, 0x74, 0x68, 0x69, 0x6e, 0x67, 0x0e, 0x00, 0xf0, 0x05, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x6b, 0x3a, 0x32, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x3a,
    0x32, 0x16, 0x00, 0x0f, 0x02, 0x00, 0x27, 0x06, 0x50, 0x00, 0x12, 0x37, 0x50, 0x00, 0x1f, 0x37,
    0x4c, 0x00, 0x27, 0x00, 0x02, 0x00, 0x06, 0x50, 0x00, 0x12, 0x36, 0x50, 0x00, 0x10, 0x36, 0x16,
    0x00, 0x0f, 0x02, 0x00, 0x27, 0x00, 0x08, 0x01, 0xf5, 0x02, 0x06, 0x00, 0x00, 0x00, 0x63, 0x6f,
    0x75, 0x6e, 0x74, 0x65, 0x72, 0x2d, 0x31, 0x32, 0x33, 0x34, 0x35, 0x4f, 0x00, 0x15, 0x04, 0x0e,
    0x01, 0x22, 0x31, 0x34, 0x6f, 0x00, 0x25, 0x31, 0x34, 0x1d, 0x00, 0x0f, 0x02, 0x00, 0x21, 0x07,
    0x51, 0x00, 0x13, 0x39, 0x51, 0x00, 0x1f, 0x39, 0x48, 0x00, 0x21, 0x05, 0x02, 0x00, 0x06, 0x10,
    0x01, 0x12, 0x33, 0x50, 0x00, 0x15, 0x33, 0x1b, 0x00, 0x0f, 0x02, 0x00, 0x22, 0x07, 0xa1, 0x00,
    0x03, 0xb1, 0x01, 0x1f, 0x31, 0xb2, 0x01, 0x2b, 0x07, 0x51, 0x00, 0x12, 0x30, 0xa2, 0x00, 0x2f,
    0x31, 0x30, 0x9a, 0x00, 0x22, 0x04, 0x02, 0x00, 0x07, 0x51, 0x00, 0x13, 0x35, 0x51, 0x00, 0x06,
    0xb1, 0x01, 0x0f, 0x02, 0x00, 0x21, 0xf5, 0x0c, 0x08, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00,
    0x67, 0x72, 0x65, 0x65, 0x74, 0x69, 0x6e, 0x67, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f,
    0x72, 0x6c, 0x64, 0x4f, 0x00, 0x07, 0x75, 0x00, 0x13, 0x31, 0x75, 0x00, 0x15, 0x31, 0x1d, 0x00,
    0x0f, 0x02, 0x00, 0x21, 0x07, 0x51, 0x00, 0x13, 0x38, 0x51, 0x00, 0x1f, 0x38, 0x48, 0x00, 0x21,
    0x05, 0x02, 0x00, 0x07, 0x51, 0x00, 0x03, 0x1a, 0x03, 0x1f, 0x31, 0x1b, 0x03, 0x2b, 0x06, 0x5a,
    0x02, 0x03, 0xaa, 0x02, 0x0f, 0xa9, 0x02, 0x2b, 0x08, 0xa1, 0x00, 0x03, 0xab, 0x02, 0x1f, 0x31,
    0xac, 0x02, 0x2b, 0x06, 0xa1, 0x00, 0x04, 0x93, 0x01, 0x05, 0x0d, 0x01, 0x0f, 0x02, 0x00, 0x1a,
    0x62, 0x7b, 0x50, 0x5c, 0x18, 0xa3, 0x01, 0x50, 0x00, 0x00, 0xa5, 0x00, 0x75, 0x74, 0x74, 0x6c,
    0x73, 0x6f, 0x6f, 0x6e, 0x44, 0x00, 0x00, 0x23, 0x04, 0x00, 0x18, 0x00, 0xb5, 0x62, 0x69, 0x6e,
    0x00, 0x61, 0x72, 0x79, 0x76, 0x00, 0x0d, 0x0a, 0x1c, 0x00, 0x06, 0x84, 0x00, 0x03, 0x8c, 0x02,
    0x0f, 0x8b, 0x02, 0x2b, 0x08, 0x25, 0x01, 0x03, 0x80, 0x05, 0x1f, 0x31, 0x81, 0x05, 0x2b, 0x06,
    0xa1, 0x00, 0x03, 0x67, 0x02, 0x0f, 0x66, 0x02, 0x2b, 0x07, 0x20, 0x06, 0x03, 0xce, 0x03, 0x0f,
    0xcd, 0x03, 0x2b, 0x07, 0x50, 0x00, 0x03, 0x61, 0x05, 0x0f, 0x60, 0x05, 0x1e, 0x50, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xf5, 0xc6, 0x53, 0xdc, 0x5c, 0x4f, 0x77, 0x77, 0x5f, 0xfa, 0x7e, 0xb2, 0xf7,
    0xc8, 0xed, 0xe9, 0x01, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x19,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd8, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x83,
    0xb3, 0x9b, 0x35, 0x35, 0x2f, 0xba, 0x6c, 0xc0, 0x58, 0x4d, 0x9b, 0x34, 0x35, 0x50, 0x39, 0x13,
    0xe3, 0x85, 0x08, 0xd4, 0x69, 0xb9, 0xa3, 0x17, 0x5f, 0x85, 0xb7, 0xbb, 0xdf, 0x01, 0x13, 0xd1,
    0x66, 0x39, 0x45, 0x47, 0x90, 0x4a, 0x43, 0xce, 0xac, 0x27, 0x57, 0x3e, 0x46, 0x81, 0x44
};
/* DEBUG DIGEST of that keyspace as the old code computed it (at the
 * fixture's clock). */
#define OLD_IMAGE_DIGEST "+98638d54bee78e605674446143b46584b13e1c15\r\n"

typedef struct mem_src {
    const unsigned char *p;
    size_t left;
} mem_src;

static int read_mem(void *ud, void *buf, size_t len, size_t *got)
{
    mem_src *m = ud;
    size_t n = len < m->left ? len : m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    *got = n;
    return 0;
}

/* An image's records, each flattened to "type expire_at key\0value" and
 * sorted: the record stream's content, whatever order the hash gave. */
#define MAX_RECS 32
typedef struct flat {
    char *p;
    size_t len;
} flat;

static int cmp_flat(const void *a, const void *b)
{
    const flat *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Returns how many records img holds (at most MAX_RECS), flattened into v. */
static size_t records_of(const unsigned char *img, size_t len, flat *v)
{
    mem_src src = {img, len};
    tc_snapshot_reader *rd = NULL;
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_int_equal(tc_snapshot_reader_new(&rd, &ro, read_mem, &src, err, sizeof err), 0);
    tc_snapshot_record rec;
    size_t n = 0;
    int rc;
    while ((rc = tc_snapshot_reader_next(rd, &rec)) == 1) {
        assert_true(n < MAX_RECS);
        char *r = malloc(48 + rec.key_len + rec.value_len);
        int h = snprintf(r, 48, "%u %lld ", rec.type, (long long)rec.expire_at_ms);
        memcpy(r + h, rec.key, rec.key_len);
        r[h + rec.key_len] = '\0';
        memcpy(r + h + rec.key_len + 1, rec.value, rec.value_len);
        v[n].p = r;
        v[n++].len = (size_t)h + rec.key_len + 1 + rec.value_len;
    }
    assert_int_equal(rc, 0);
    tc_snapshot_reader_free(rd);
    qsort(v, n, sizeof *v, cmp_flat);
    return n;
}

/* Old images load as they are, and the same keys are written back as the
 * same records: strings keep their record format byte for byte. */
static void test_old_image_loads_and_writes_back_identically(void **state)
{
    fx *f = *state;
    tc_apply_state st = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_int_equal(tc_image_load(&f->srv, &st, old_image, sizeof old_image, &ro, err, sizeof err), 0);
    assert_int_equal(st.clock_ms, 1700000000123LL);
    assert_string_equal(fx_run(f, "DBSIZE", NULL), ":25\r\n");
    assert_string_equal(fx_run(f, "DEBUG", "DIGEST", NULL), OLD_IMAGE_DIGEST);
    assert_string_equal(fx_run(f, "GET", "greeting", NULL), "$11\r\nhello world\r\n");
    assert_string_equal(fx_run(f, "PEXPIRETIME", "ttl", NULL), ":1800000000123\r\n");
    assert_string_equal(fx_run(f, "OBJECT", "ENCODING", "counter", NULL), "$3\r\nint\r\n");
    assert_string_equal(fx_run(f, "TYPE", "k:19", NULL), "+string\r\n");

    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    flat a[MAX_RECS], b[MAX_RECS];
    size_t na = records_of(old_image, sizeof old_image, a);
    size_t nb = records_of(img, len, b);
    assert_int_equal(na, 25);
    assert_int_equal(nb, na);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].len, b[i].len);
        assert_memory_equal(a[i].p, b[i].p, a[i].len);
    }
    for (size_t i = 0; i < na; i++) {
        free(a[i].p);
        free(b[i].p);
    }
    free(img);
}

/* Keys in several databases: written with their database, loaded back
 * into it; DEBUG DIGEST covers every database. */
static void test_databases_round_trip(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "a", "zero", NULL);
    char db0_only[64];
    snprintf(db0_only, sizeof db0_only, "%s", fx_run(f, "DEBUG", "DIGEST", NULL));
    /* database 0 alone digests as the keyspace's own digest always did */
    unsigned char d[20];
    char hex[64] = "+";
    tc_ks_digest(&f->srv.dbs[0], f->now_ms, d);
    for (int i = 0; i < 20; i++) snprintf(hex + 1 + 2 * i, 3, "%02x", d[i]);
    strcat(hex, "\r\n");
    assert_string_equal(db0_only, hex);

    assert_string_equal(fx_run(f, "SELECT", "5", NULL), "+OK\r\n");
    fx_run(f, "SET", "a", "five", NULL);
    fx_run(f, "RPUSH", "l", "x", "y", NULL);
    fx_run(f, "HSET", "h", "f", "v", NULL);
    assert_string_equal(fx_run(f, "SELECT", "15", NULL), "+OK\r\n");
    fx_run(f, "SET", "t", "v", "PXAT", "1800000000000", NULL);
    char before[64];
    snprintf(before, sizeof before, "%s", fx_run(f, "DEBUG", "DIGEST", NULL));
    assert_string_not_equal(before, db0_only);
    tc_apply_state st = {.clock_ms = 1700000000123LL};
    size_t len;
    unsigned char *img = image_of(f, &st, &len);

    tc_apply_state st2 = {0};
    void *other = loaded_fixture(img, len, &st2);
    fx *g = other;
    assert_string_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);
    assert_string_equal(fx_run(g, "GET", "a", NULL), "$4\r\nzero\r\n");
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":1\r\n");
    fx_run(g, "SELECT", "5", NULL);
    assert_string_equal(fx_run(g, "GET", "a", NULL), "$4\r\nfive\r\n");
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":3\r\n");
    fx_run(g, "SELECT", "15", NULL);
    assert_string_equal(fx_run(g, "PEXPIRETIME", "t", NULL), ":1800000000000\r\n");

    /* the same keys in other databases: another digest */
    fx_run(g, "SWAPDB", "5", "6", NULL);
    assert_string_not_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);
    fx_run(g, "SWAPDB", "5", "6", NULL);
    assert_string_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);

    /* a node with fewer databases refuses the image and keeps its keys */
    g->srv.ndbs = 6; /* as if configured with databases = 6 (dbs 6..15 are empty) */
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), -1);
    if (!strstr(err, "database 15")) fail_msg("error: %s", err);
    g->srv.ndbs = 16;
    assert_string_equal(fx_run(g, "DEBUG", "DIGEST", NULL), before);
    fx_teardown(&other);
    free(img);
}

/* Users travel in the image (type 126 records) once they were changed and
 * replace the loader's; an image without them takes the loader back to the
 * default user alone. Passwords are in it as hashes only. */
static void test_users_travel_in_the_image(void **state)
{
    fx *f = *state;
    tc_apply_state st = {.clock_ms = 9};
    size_t plain_len;
    unsigned char *plain = image_of(f, &st, &plain_len); /* users untouched: none written */
    assert_string_equal(fx_run(f, "ACL", "SETUSER", "app", "on", ">s3cret-pw", "~app:*", "%R~r*", "&ch", "+@all",
                               "-@dangerous", "-client|kill", NULL),
                        "+OK\r\n");
    char list[1024];
    snprintf(list, sizeof list, "%s", fx_run(f, "ACL", "LIST", NULL));
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    assert_null(memmem(img, len, "s3cret-pw", 9));

    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    tc_apply_state st2 = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_string_equal(fx_run(g, "ACL", "SETUSER", "gone", "on", NULL), "+OK\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "ACL", "LIST", NULL), list); /* "gone" went: the image's users only */
    assert_int_equal(tc_image_load(&g->srv, &st2, plain, plain_len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "ACL", "USERS", NULL), "*1\r\n$7\r\ndefault\r\n");
    fx_teardown(&other);
    free(img);
    free(plain);
}

/* The script cache travels in the image (type 125 records): the loader's
 * cache becomes the image's (EVALSHA works after a snapshot install); an
 * image without scripts empties it. */
static void test_scripts_travel_in_the_image(void **state)
{
    fx *f = *state;
    tc_apply_state st = {.clock_ms = 9};
    size_t plain_len;
    unsigned char *plain = image_of(f, &st, &plain_len); /* no script yet */
    assert_string_equal(fx_run(f, "SCRIPT", "LOAD", "return 'from the image'", NULL),
                        "$40\r\n3e589bbc297ed1fb8845fe3a04320813c00df9cc\r\n");
    size_t len;
    unsigned char *img = image_of(f, &st, &len);

    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    tc_apply_state st2 = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_string_equal(fx_run(g, "SCRIPT", "LOAD", "return 'only here'", NULL),
                        "$40\r\n5e5252faa047cd66da3358b14569d03038b8a073\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "EVALSHA", "3e589bbc297ed1fb8845fe3a04320813c00df9cc", "0", NULL),
                        "$14\r\nfrom the image\r\n");
    assert_string_equal(fx_run(g, "SCRIPT", "EXISTS", "5e5252faa047cd66da3358b14569d03038b8a073", NULL),
                        "*1\r\n:0\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, plain, plain_len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "SCRIPT", "EXISTS", "3e589bbc297ed1fb8845fe3a04320813c00df9cc", NULL),
                        "*1\r\n:0\r\n");
    fx_teardown(&other);
    free(img);
    free(plain);
}

/* Function libraries travel in the image (type 124 records): the loader's
 * libraries become the image's (FCALL works after a snapshot install); an
 * image without any empties them. */
static void test_libraries_travel_in_the_image(void **state)
{
    fx *f = *state;
    tc_apply_state st = {.clock_ms = 9};
    size_t plain_len;
    unsigned char *plain = image_of(f, &st, &plain_len); /* no library yet */
    assert_string_equal(fx_run(f, "FUNCTION", "LOAD",
                               "#!lua name=imglib\nredis.register_function{function_name='hello', "
                               "flags={'no-writes'}, callback=function(k, a) return 'hi ' .. a[1] end}",
                               NULL),
                        "$6\r\nimglib\r\n");
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    assert_true(len > plain_len);

    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    tc_apply_state st2 = {0};
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    assert_string_equal(fx_run(g, "FUNCTION", "LOAD", "#!lua name=mine\nredis.register_function('m', function() end)",
                               NULL),
                        "$4\r\nmine\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "FCALL_RO", "hello", "0", "there", NULL), "$8\r\nhi there\r\n");
    assert_string_equal(fx_run(g, "FCALL", "m", "0", NULL), "-ERR Function not found\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, plain, plain_len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "FUNCTION", "LIST", NULL), "*0\r\n");
    fx_teardown(&other);
    free(img);
    free(plain);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

/* Cluster-wide settings set through CONFIG SET travel in the image (type
 * 127 records after the keys) and are set again where it loads; an image
 * without them leaves the loader's settings alone. */
static void test_settings_travel_in_the_image(void **state)
{
    fx *f = *state;
    fx_run(f, "SET", "k", "v", NULL);
    tc_apply_state st = {.clock_ms = 9};
    size_t plain_len;
    unsigned char *plain = image_of(f, &st, &plain_len); /* nothing set yet */
    assert_string_equal(fx_run(f, "CONFIG", "SET", "maxmemory", "10mb", "maxmemory-policy", "allkeys-lfu", NULL),
                        "+OK\r\n");
    size_t len;
    unsigned char *img = image_of(f, &st, &len);
    assert_true(len > plain_len);

    void *other;
    assert_int_equal(fx_setup(&other), 0);
    fx *g = other;
    char err[256];
    tc_snapshot_reader_opts ro = {.name = "test"};
    tc_apply_state st2 = {0};
    assert_int_equal(tc_image_load(&g->srv, &st2, plain, plain_len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "CONFIG", "GET", "maxmemory-policy", NULL),
                        "*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n");
    assert_int_equal(tc_image_load(&g->srv, &st2, img, len, &ro, err, sizeof err), 0);
    assert_string_equal(fx_run(g, "CONFIG", "GET", "maxmemory", NULL), "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n");
    assert_string_equal(fx_run(g, "CONFIG", "GET", "maxmemory-policy", NULL),
                        "*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lfu\r\n");
    assert_int_equal(g->srv.dbs[0].lfu, 1); /* the access bits follow the policy */
    assert_string_equal(fx_run(g, "DBSIZE", NULL), ":1\r\n");
    fx_teardown(&other);
    free(img);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {T(test_round_trip), T(test_expired_keys_stay_out_of_the_image),
                                       T(test_damaged_image_changes_nothing),
                                       T(test_old_image_loads_and_writes_back_identically), T(test_databases_round_trip),
                                       T(test_settings_travel_in_the_image), T(test_users_travel_in_the_image),
                                       T(test_scripts_travel_in_the_image), T(test_libraries_travel_in_the_image)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
