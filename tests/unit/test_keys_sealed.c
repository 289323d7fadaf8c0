/* Key folders (keys_dir) and sealed payloads (Raft log entries at rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapshot.h"

static char *temp_dir(void)
{
    char *d = strdup("/tmp/tc-keys-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_dir(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static void test_keydir_generate_and_load(void **state)
{
    (void)state;
    char *d = temp_dir(), sub[300], err[512], path[400];
    snprintf(sub, sizeof sub, "%s/keys", d);
    tc_snapshot_keydir kd;
    uint32_t id = 0;
    assert_int_equal(tc_snapshot_keydir_generate(&kd, sub, &id, err, sizeof err), 0);
    assert_int_equal(id, 1);
    assert_int_equal(tc_snapshot_keydir_generate(&kd, sub, &id, err, sizeof err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(kd.n, 2);
    assert_int_equal(tc_snapshot_keydir_newest(&kd)->id, 2);
    assert_non_null(tc_snapshot_keydir_lookup(&kd, 1));
    assert_null(tc_snapshot_keydir_lookup(&kd, 3));
    assert_memory_not_equal(kd.keys[0].bytes, kd.keys[1].bytes, TC_SNAPSHOT_KEY_LEN);

    /* other files are ignored; an empty folder loads nothing */
    snprintf(path, sizeof path, "%s/README", sub);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(tc_snapshot_keydir_load(&kd, sub, err, sizeof err), 0);
    assert_int_equal(kd.n, 2);

    /* a key file readable by others fails the whole folder */
    snprintf(path, sizeof path, "%s/key-2.tckey", sub);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tc_snapshot_keydir_load(&kd, sub, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(kd.n, 0);
    assert_int_equal(chmod(path, 0600), 0);

    /* a renamed key file is refused: its name must say its id */
    char moved[400];
    snprintf(moved, sizeof moved, "%s/key-7.tckey", sub);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(tc_snapshot_keydir_load(&kd, sub, err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "holds key id 2, not 7"));

    assert_int_equal(tc_snapshot_keydir_load(&kd, "/nonexistent/keys", err, sizeof err), TC_SNAPSHOT_EKEYFILE);
    assert_non_null(strstr(err, "/nonexistent/keys: cannot open the key folder"));
    remove_dir(d);
    free(d);
}

typedef struct sealed_fixture {
    tc_snapshot_keydir kd;
    tc_snapshot_sealer *sealer;
    tc_snapshot_opener *opener;
    char *dir;
} sealed_fixture;

static int sealed_setup(void **state)
{
    sealed_fixture *f = calloc(1, sizeof *f);
    char err[512];
    uint32_t id;
    f->dir = temp_dir();
    if (tc_snapshot_keydir_generate(&f->kd, f->dir, &id, err, sizeof err) != 0) return -1;
    if (tc_snapshot_sealer_new(&f->sealer, tc_snapshot_keydir_newest(&f->kd), err, sizeof err) != 0) return -1;
    if (tc_snapshot_opener_new(&f->opener, tc_snapshot_keydir_lookup, &f->kd) != 0) return -1;
    *state = f;
    return 0;
}

static int sealed_teardown(void **state)
{
    sealed_fixture *f = *state;
    tc_snapshot_sealer_free(f->sealer);
    tc_snapshot_opener_free(f->opener);
    remove_dir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char MSG[] = "SET secret-key plaintext-value-that-must-not-leak";

static void test_sealed_round_trip(void **state)
{
    sealed_fixture *f = *state;
    uint8_t a[sizeof MSG + TC_SNAPSHOT_SEALED_OVERHEAD + 8] = {0}, b[sizeof a] = {0};
    char err[512];
    const void *plain;
    size_t n;
    assert_int_equal(tc_snapshot_seal(f->sealer, MSG, sizeof MSG, a), 0);
    assert_int_equal(tc_snapshot_seal(f->sealer, MSG, sizeof MSG, b), 0);
    assert_true(tc_snapshot_is_sealed(a, sizeof a));
    assert_memory_not_equal(a, b, sizeof MSG + TC_SNAPSHOT_SEALED_OVERHEAD); /* fresh nonce each time */
    assert_null(memmem(a, sizeof a, "plaintext", 9));
    size_t sealed = sizeof MSG + TC_SNAPSHOT_SEALED_OVERHEAD;
    assert_int_equal(tc_snapshot_open_sealed(f->opener, a, sealed, &plain, &n, err, sizeof err), 0);
    assert_int_equal(n, sizeof MSG);
    assert_memory_equal(plain, MSG, n);
    /* zero padding up to 7 bytes is how the Raft log stores it */
    assert_int_equal(tc_snapshot_open_sealed(f->opener, b, sealed + 7, &plain, &n, err, sizeof err), 0);
    assert_memory_equal(plain, MSG, n);
    assert_int_equal(tc_snapshot_open_sealed(f->opener, b, sealed + 8, &plain, &n, err, sizeof err),
                     TC_SNAPSHOT_ECORRUPT);
    /* an empty message too */
    assert_int_equal(tc_snapshot_seal(f->sealer, "", 0, a), 0);
    assert_int_equal(tc_snapshot_open_sealed(f->opener, a, TC_SNAPSHOT_SEALED_OVERHEAD, &plain, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
}

static void test_sealed_every_bit_flip_and_truncation(void **state)
{
    sealed_fixture *f = *state;
    uint8_t a[sizeof MSG + TC_SNAPSHOT_SEALED_OVERHEAD];
    char err[512];
    const void *plain;
    size_t n;
    assert_int_equal(tc_snapshot_seal(f->sealer, MSG, sizeof MSG, a), 0);
    for (size_t bit = 0; bit < sizeof a * 8; bit++) {
        a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = tc_snapshot_open_sealed(f->opener, a, sizeof a, &plain, &n, err, sizeof err);
        if (rc == 0) fail_msg("bit %zu flipped was accepted", bit);
        a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t len = 0; len < sizeof a; len++)
        assert_int_not_equal(tc_snapshot_open_sealed(f->opener, a, len, &plain, &n, err, sizeof err), 0);
    assert_int_equal(tc_snapshot_open_sealed(f->opener, a, sizeof a, &plain, &n, err, sizeof err), 0);
}

static void test_sealed_wrong_or_missing_key(void **state)
{
    sealed_fixture *f = *state;
    uint8_t a[sizeof MSG + TC_SNAPSHOT_SEALED_OVERHEAD];
    char err[512];
    const void *plain;
    size_t n;
    assert_int_equal(tc_snapshot_seal(f->sealer, MSG, sizeof MSG, a), 0);
    /* same id, other bytes: authentication fails and says which key */
    tc_snapshot_keydir other = f->kd;
    other.keys[0].bytes[0] ^= 1;
    tc_snapshot_opener *o;
    assert_int_equal(tc_snapshot_opener_new(&o, tc_snapshot_keydir_lookup, &other), 0);
    assert_int_equal(tc_snapshot_open_sealed(o, a, sizeof a, &plain, &n, err, sizeof err), TC_SNAPSHOT_ECORRUPT);
    assert_non_null(strstr(err, "key-1.tckey is not the key"));
    tc_snapshot_opener_free(o);
    /* no such key id */
    tc_snapshot_keydir empty = {.n = 0};
    assert_int_equal(tc_snapshot_opener_new(&o, tc_snapshot_keydir_lookup, &empty), 0);
    assert_int_equal(tc_snapshot_open_sealed(o, a, sizeof a, &plain, &n, err, sizeof err), TC_SNAPSHOT_ENOKEY);
    assert_non_null(strstr(err, "key id 1, which is not in keys_dir"));
    tc_snapshot_opener_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keydir_generate_and_load),
        cmocka_unit_test_setup_teardown(test_sealed_round_trip, sealed_setup, sealed_teardown),
        cmocka_unit_test_setup_teardown(test_sealed_every_bit_flip_and_truncation, sealed_setup, sealed_teardown),
        cmocka_unit_test_setup_teardown(test_sealed_wrong_or_missing_key, sealed_setup, sealed_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
