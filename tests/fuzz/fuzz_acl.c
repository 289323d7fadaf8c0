/* libFuzzer target: ACL SETUSER rules come from clients (and from the log
 * and snapshots), so any bytes must give a user or Redis's error - never a
 * crash, an out-of-bounds read or a leak - and a refused SETUSER must change
 * nothing.
 *
 * The input is split into arguments at '\n' (the first is the user name),
 * applied as one SETUSER, then the user is checked against a few commands,
 * described, and rebuilt from tc_acl_each: the rebuild must describe the
 * same as the original (what a snapshot relies on). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "commands.h"

static void describe_all(const tc_acl *a, tc_buf *b)
{
    for (size_t i = 0; i < a->n; i++) {
        tc_acl_describe(a->users[i], "tok", b);
        tc_buf_append(b, "\n", 1);
    }
}

static void copy_user(void *ud, const char *name, size_t nrules, const tc_slice *rules)
{
    char err[512];
    if (tc_acl_setuser(ud, name, strlen(name), nrules, rules, "tok", err, sizeof err) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_slice args[64];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 64; i++)
        if (i == size || data[i] == '\n') {
            args[n++] = (tc_slice){(const char *)data + start, i - start};
            start = i + 1;
        }
    if (n == 0 || args[0].len == 0) return 0;

    tc_acl a, rebuilt;
    if (tc_acl_init(&a) != 0) return 0;
    tc_buf before = {0}, after = {0};
    describe_all(&a, &before);
    char err[512];
    int rc = tc_acl_setuser(&a, args[0].p, args[0].len, n - 1, args + 1, "tok", err, sizeof err);
    describe_all(&a, &after);
    if (rc != 0) {
        /* refused: Redis's wording, and the store as it was */
        if (strncmp(err, "ERR ", 4) != 0) abort();
        if (before.len != after.len || memcmp(before.data, after.data, before.len) != 0) abort();
    } else {
        const tc_acl_user *u = tc_acl_find(&a, args[0].p, args[0].len);
        if (!u) abort();
        static const char *const lines[][4] = {{"get", "k"}, {"set", "app:1", "v", "get"}, {"client", "kill"},
                                               {"publish", "news", "x"}, {"zunionstore", "d", "2", "a"}};
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
            tc_slice v[4];
            size_t argc = 0;
            for (; argc < 4 && lines[i][argc]; argc++) v[argc] = (tc_slice){lines[i][argc], strlen(lines[i][argc])};
            const tc_cmd *cmd = tc_cmd_lookup(v[0].p, v[0].len);
            size_t where;
            if (cmd && tc_acl_check(u, cmd, argc, v, &where) != TC_ACL_OK && where >= argc) abort();
        }
        tc_acl_password_ok(u, "tok", args[0].p, args[0].len);
        if (tc_acl_init(&rebuilt) == 0) {
            tc_acl_each(&a, "tok", copy_user, &rebuilt);
            tc_buf again = {0};
            describe_all(&rebuilt, &again);
            if (again.len != after.len || memcmp(again.data, after.data, after.len) != 0) abort();
            tc_buf_free(&again);
            tc_acl_free(&rebuilt);
        }
    }
    tc_buf_free(&before);
    tc_buf_free(&after);
    tc_acl_free(&a);
    return 0;
}
