/* common/big_alloc.c: a big block's 2 MiB-aligned interior is advised and
 * (where the kernel gives huge pages on advice) ends up in huge pages; a
 * small block is left alone; the advised bytes are counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

#define MIB ((size_t)1 << 20)

/* The kernel's THP mode: "always", "madvise" or "never" (or "" if unknown). */
static void thp_mode(char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return;
    char line[128];
    if (fgets(line, sizeof line, f)) {
        char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
        if (open && close && (size_t)(close - open - 1) < len) {
            memcpy(out, open + 1, (size_t)(close - open - 1));
            out[close - open - 1] = '\0';
        }
    }
    fclose(f);
}

/* AnonHugePages of the mapping that holds p, in kB (-1 if not found). */
static long huge_kb_at(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int inside = 0;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    }
    fclose(f);
    return kb;
}

static void small_left_alone(void **state)
{
    (void)state;
    unsigned long long before = tc_big_alloc_advised_bytes();
    char *p = malloc(TC_BIG_ALLOC_MIN - 1);
    assert_non_null(p);
    assert_int_equal(tc_big_alloc_advise(p, TC_BIG_ALLOC_MIN - 1), 0);
    assert_int_equal(tc_big_alloc_advise(NULL, 64 * MIB), 0);
    assert_int_equal(tc_big_alloc_advised_bytes(), before);
    free(p);
}

static void big_block_in_huge_pages(void **state)
{
    (void)state;
    size_t n = 64 * MIB;
    unsigned long long before = tc_big_alloc_advised_bytes();
    char *p = malloc(n);
    assert_non_null(p);
    int rc = tc_big_alloc_advise(p, n);
    char mode[16];
    thp_mode(mode, sizeof mode);
    if (strcmp(mode, "never") == 0 || mode[0] == '\0') {
        /* advice given or refused, never a failure of the buffer */
        assert_true(rc == 1 || rc == -1);
    } else {
        assert_int_equal(rc, 1);
        /* all of it but the partial huge pages at both ends */
        unsigned long long advised = tc_big_alloc_advised_bytes() - before;
        assert_true(advised >= n - 4 * MIB && advised <= n);
        assert_int_equal(advised % (2 * MIB), 0);
    }
    memset(p, 0x5a, n);
    for (size_t i = 0; i < n; i += 4096) assert_int_equal(p[i], 0x5a);
    long kb = huge_kb_at(p + n / 2);
    printf("THP mode %s: %ld kB of the 64 MiB block in huge pages\n", mode, kb);
    /* where huge pages are given on advice, at least some are (the kernel
     * may fall back to small pages when memory is fragmented, never all
     * on an idle test machine with free memory) */
    if (strcmp(mode, "madvise") == 0 || strcmp(mode, "always") == 0) assert_true(kb > 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_left_alone),
        cmocka_unit_test(big_block_in_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
